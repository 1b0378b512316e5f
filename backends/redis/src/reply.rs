//! Parsing stream replies from `redis::Value`s, without panics on any shape
//! (RESP2 arrays or RESP3 maps).

use redis::Value;

use crate::error::Error;
use crate::id::StreamId;
use crate::log::{Entry, StreamInfo};

/// The bytes of a string-like value.
pub(crate) fn bytes(v: &Value) -> Option<&[u8]> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        Value::VerbatimString { text, .. } => Some(text.as_bytes()),
        _ => None,
    }
}

fn id(op: &'static str, v: &Value) -> Result<StreamId, Error> {
    bytes(v)
        .and_then(|b| core::str::from_utf8(b).ok())
        .and_then(StreamId::parse)
        .ok_or_else(|| Error::reply(op, format!("bad entry id {v:?}")))
}

/// Key/value pairs of a flat array or a map.
fn pairs(v: &Value) -> Option<Vec<(&Value, &Value)>> {
    match v {
        Value::Array(items) if items.len() % 2 == 0 => {
            Some(items.chunks(2).map(|p| (&p[0], &p[1])).collect())
        }
        Value::Map(items) => Some(items.iter().map(|(k, v)| (k, v)).collect()),
        _ => None,
    }
}

/// One `[id, [field, value, …]]` entry.
pub(crate) fn entry(op: &'static str, v: &Value) -> Result<Entry, Error> {
    let Value::Array(parts) = v else {
        return Err(Error::reply(op, "entry is not an array"));
    };
    let [raw_id, fields] = parts.as_slice() else {
        return Err(Error::reply(op, "entry is not [id, fields]"));
    };
    let id = id(op, raw_id)?;
    let mut event = None;
    let mut data = None;
    if !matches!(fields, Value::Nil) {
        let fields = pairs(fields).ok_or_else(|| Error::reply(op, "entry fields"))?;
        for (name, value) in fields {
            let (Some(name), Some(value)) = (bytes(name), bytes(value)) else {
                continue;
            };
            let value = String::from_utf8_lossy(value).into_owned();
            match name {
                b"event" => event = Some(value),
                b"data" => data = Some(value),
                _ => {}
            }
        }
    }
    Ok(Entry {
        id,
        event,
        data: data.unwrap_or_default(),
    })
}

/// A list of entries (`XRANGE`, `XREVRANGE`).
pub(crate) fn entries(op: &'static str, v: &Value, out: &mut Vec<Entry>) -> Result<(), Error> {
    match v {
        Value::Nil => Ok(()),
        Value::Array(items) => {
            for item in items {
                out.push(entry(op, item)?);
            }
            Ok(())
        }
        _ => Err(Error::reply(op, "not a list of entries")),
    }
}

/// An `XREAD` reply for one stream: nil on timeout, else `[[key, entries]]`
/// (RESP2) or `{key: entries}` (RESP3).
pub(crate) fn xread(v: &Value, out: &mut Vec<Entry>) -> Result<(), Error> {
    const OP: &str = "XREAD";
    match v {
        Value::Nil => Ok(()),
        Value::Array(streams) => {
            for stream in streams {
                match stream {
                    Value::Array(kv) if kv.len() == 2 => entries(OP, &kv[1], out)?,
                    _ => return Err(Error::reply(OP, "stream is not [key, entries]")),
                }
            }
            Ok(())
        }
        Value::Map(streams) => {
            for (_, list) in streams {
                entries(OP, list, out)?;
            }
            Ok(())
        }
        _ => Err(Error::reply(OP, "not a list of streams")),
    }
}

/// The fields of `XINFO STREAM` this crate uses.
pub(crate) fn info(v: &Value) -> Result<StreamInfo, Error> {
    const OP: &str = "XINFO STREAM";
    let fields = pairs(v).ok_or_else(|| Error::reply(OP, "not a map"))?;
    let mut info = StreamInfo::default();
    for (name, value) in fields {
        match bytes(name) {
            Some(b"length") => {
                if let Value::Int(n) = value {
                    info.length = u64::try_from(*n).unwrap_or(0);
                }
            }
            Some(b"last-generated-id") => info.last_generated = Some(id(OP, value)?),
            Some(b"max-deleted-entry-id") => info.max_deleted = Some(id(OP, value)?),
            Some(b"first-entry") if !matches!(value, Value::Nil) => {
                info.first = Some(entry(OP, value)?.id)
            }
            Some(b"last-entry") if !matches!(value, Value::Nil) => {
                info.last = Some(entry(OP, value)?.id)
            }
            _ => {}
        }
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn parses_entries_and_ignores_unknown_fields() {
        let v = Value::Array(vec![
            Value::Array(vec![
                s("5-1"),
                Value::Array(vec![
                    s("event"),
                    s("news"),
                    s("x"),
                    s("y"),
                    s("data"),
                    s("hi"),
                ]),
            ]),
            Value::Array(vec![s("6-0"), Value::Array(vec![])]),
        ]);
        let mut out = Vec::new();
        entries("T", &v, &mut out).unwrap();
        assert_eq!(out[0].id, StreamId::new(5, 1));
        assert_eq!(out[0].event.as_deref(), Some("news"));
        assert_eq!(out[0].data, "hi");
        assert_eq!((out[1].event.as_deref(), out[1].data.as_str()), (None, ""));
    }

    #[test]
    fn odd_shapes_are_errors_not_panics() {
        let mut out = Vec::new();
        for v in [
            Value::Int(3),
            Value::Array(vec![Value::Int(1)]),
            Value::Array(vec![Value::Array(vec![s("1-0")])]),
            Value::Array(vec![Value::Array(vec![s("x"), Value::Array(vec![])])]),
            Value::Array(vec![Value::Array(vec![
                s("1-0"),
                Value::Array(vec![s("a")]),
            ])]),
        ] {
            assert!(entries("T", &v, &mut out).is_err(), "{v:?}");
            assert!(xread(&Value::Array(vec![v.clone()]), &mut out).is_err());
        }
        assert!(info(&Value::Array(vec![s("length")])).is_err());
        assert!(xread(&Value::Nil, &mut out).is_ok());
        assert!(out.is_empty());
    }
}
