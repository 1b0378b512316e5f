//! The request the client asks the adapter to send.

use alloc::string::String;
use alloc::vec::Vec;
use bytes::Bytes;
use core::fmt;

use crate::url::Url;

/// An HTTP request method.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `GET`, what browsers' `EventSource` sends.
    #[default]
    Get,
    /// `POST`, what LLM streaming APIs expect.
    Post,
    /// Any other method, e.g. `PUT`.
    Other(String),
}

impl Method {
    /// The method name as sent on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Other(m) => m,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One HTTP request to send: [`Action::Connect`](super::Action::Connect).
///
/// `headers` holds, in order: `Accept: text/event-stream`,
/// `Cache-Control: no-cache`, `Last-Event-ID` (only when the last event ID
/// is not empty), then the configured headers. The adapter adds what its
/// transport needs (`Host`, `Content-Length`, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// Where to send it; see [`Url::host`], [`Url::port`], [`Url::is_tls`]
    /// and [`Url::request_target`].
    pub url: Url,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<Bytes>,
}

impl Request {
    /// The value of the first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
