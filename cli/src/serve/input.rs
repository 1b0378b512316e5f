//! Lines of `sse serve`'s stdin → events to publish.

use serde_json::Value;

/// One event read from stdin, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// `event:` type, if any.
    pub event: Option<String>,
    /// The data.
    pub data: String,
    /// `id:`; `None` lets the hub assign the next number.
    pub id: Option<String>,
}

/// Reads one line: its text is the data, or with `json` an object
/// `{"event":…,"data":…,"id":…}` (every key optional; a `data` that is not
/// a string is sent as its JSON text; an `id` may be a number).
pub fn parse_line(line: &str, json: bool) -> Result<Input, String> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    if !json {
        return Ok(Input {
            event: None,
            data: line.into(),
            id: None,
        });
    }
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(mut object) = value else {
        return Err("not a JSON object".into());
    };
    let mut text = |key: &str| -> Result<Option<String>, String> {
        match object.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(Value::Number(n)) if key != "event" => Ok(Some(n.to_string())),
            Some(other) if key == "data" => Ok(Some(other.to_string())),
            Some(_) => Err(format!("\"{key}\" must be a string")),
        }
    };
    let input = Input {
        event: text("event")?,
        data: text("data")?.unwrap_or_default(),
        id: text("id")?,
    };
    if let Some(key) = object.keys().next() {
        return Err(format!("unknown key \"{key}\" (expected event, data, id)"));
    }
    Ok(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(event: Option<&str>, data: &str, id: Option<&str>) -> Input {
        Input {
            event: event.map(Into::into),
            data: data.into(),
            id: id.map(Into::into),
        }
    }

    #[test]
    fn plain_lines_are_data() {
        assert_eq!(
            parse_line("hello\r\n", false),
            Ok(input(None, "hello", None))
        );
        assert_eq!(
            parse_line("{\"a\":1}", false),
            Ok(input(None, "{\"a\":1}", None))
        );
    }

    #[test]
    fn json_lines() {
        assert_eq!(
            parse_line(r#"{"event":"tick","data":"x","id":"7"}"#, true),
            Ok(input(Some("tick"), "x", Some("7")))
        );
        assert_eq!(parse_line("{}", true), Ok(input(None, "", None)));
        assert_eq!(
            parse_line(r#"{"data":{"n":[1,2]},"id":8}"#, true),
            Ok(input(None, "{\"n\":[1,2]}", Some("8")))
        );
        assert_eq!(
            parse_line(r#"{"data":"a\nb"}"#, true),
            Ok(input(None, "a\nb", None))
        );
    }

    #[test]
    fn bad_json_lines_say_why() {
        assert!(parse_line("nope", true)
            .unwrap_err()
            .starts_with("not JSON"));
        assert_eq!(parse_line("[1]", true).unwrap_err(), "not a JSON object");
        assert_eq!(
            parse_line(r#"{"event":5}"#, true).unwrap_err(),
            "\"event\" must be a string"
        );
        assert!(parse_line(r#"{"dat":"x"}"#, true)
            .unwrap_err()
            .starts_with("unknown key \"dat\""));
    }
}
