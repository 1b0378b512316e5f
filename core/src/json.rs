//! JSON event data (cargo feature `json`).
//!
//! Anything [`serde::Serialize`] becomes event data with [`to_data`]: compact
//! JSON has no raw line breaks (they are escaped inside strings), so it is
//! always exactly one `data:` line on the wire and parses back unchanged.
//! [`Hub::publish_json`](crate::hub::Hub::publish_json) publishes a value in
//! one call.
//!
//! ```
//! use sse_core::encode::{self, Message};
//!
//! #[derive(serde::Serialize)]
//! struct Tick { n: u32, note: &'static str }
//!
//! let data = sse_core::json::to_data(&Tick { n: 1, note: "a\nb" }).unwrap();
//! let mut out = Vec::new();
//! encode::message(&mut out, &Message::new(&data).event("tick")).unwrap();
//! assert_eq!(out, b"event: tick\ndata: {\"n\":1,\"note\":\"a\\nb\"}\n\n");
//! ```

use alloc::string::String;
use core::fmt;

use crate::encode::EncodeError;
use crate::hub::PublishError;

/// Why a value could not be published as JSON.
#[derive(Debug)]
#[non_exhaustive]
pub enum JsonError {
    /// The value's `Serialize` implementation failed (for example a map with
    /// non-string keys).
    Serialize(serde_json::Error),
    /// The event's ID or type cannot be encoded.
    Encode(EncodeError),
    /// The hub's backlog is full ([`PublishError::Full`]): publish again
    /// once it has room.
    Full,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::Serialize(e) => write!(f, "value cannot be serialized as json: {e}"),
            JsonError::Encode(e) => e.fmt(f),
            JsonError::Full => PublishError::Full.fmt(f),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for JsonError {}

impl From<EncodeError> for JsonError {
    fn from(e: EncodeError) -> Self {
        JsonError::Encode(e)
    }
}

impl From<PublishError> for JsonError {
    fn from(e: PublishError) -> Self {
        match e {
            PublishError::Encode(e) => JsonError::Encode(e),
            PublishError::Full => JsonError::Full,
        }
    }
}

/// `value` as one line of compact JSON, ready to be event data.
pub fn to_data<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, JsonError> {
    serde_json::to_string(value).map_err(JsonError::Serialize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use alloc::string::ToString;

    #[test]
    fn one_line_and_typed_errors() {
        let data = to_data(&["x\ny", "\u{2028}"]).unwrap();
        assert!(!data.contains(['\n', '\r']));
        let events = crate::parse::parse_all(&[b"data: ", data.as_bytes(), b"\n\n"].concat());
        assert_eq!(events[0].as_ref().unwrap().data(), data.as_str());

        let mut bad = BTreeMap::new();
        bad.insert((1, 2), 3);
        let err = to_data(&bad).unwrap_err();
        assert!(matches!(err, JsonError::Serialize(_)));
        assert!(err
            .to_string()
            .starts_with("value cannot be serialized as json"));
    }

    #[test]
    fn hub_publishes_json() {
        use crate::replay::ReplayLog;
        let mut hub = crate::hub::Hub::default();
        let mut value = BTreeMap::new();
        value.insert("a", [1, 2]);
        hub.publish_json(Some("n"), None, &value).unwrap();
        let bytes = hub.log().get(1).unwrap().bytes;
        assert_eq!(&bytes[..], b"id: 1\nevent: n\ndata: {\"a\":[1,2]}\n\n");
        assert!(matches!(
            hub.publish_json(None, Some("a\nb"), &1),
            Err(JsonError::Encode(EncodeError::IdHasNewline))
        ));
    }
}
