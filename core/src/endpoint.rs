//! The HTTP/1.1 front of an event stream endpoint on a raw socket.
//!
//! A listener that speaks HTTP/1.1 itself (the adapters' small servers, a
//! firmware's socket loop) reads a request head with
//! [`http1::RequestParser`](crate::http1::RequestParser), asks
//! [`Endpoint::route`] what to do with it, and either writes the complete
//! answer it gets and closes, or opens a stream: it subscribes to its
//! [`Hub`](crate::hub::Hub) (or makes a [`server::Stream`])
//! with the request's last event ID, writes [`Endpoint::stream_head`], then
//! the stream's bytes as they come, until either side closes.
//!
//! Decisions made here, so that every listener makes the same ones:
//!
//! - A request head that is malformed, too large, or whose body cannot be
//!   delimited (a bad, overflowing or conflicting `Content-Length`,
//!   `Transfer-Encoding` with `Content-Length`) is refused by the parser;
//!   the listener answers [`bad_request`] and closes.
//! - The stream lives at one path ([`Endpoint::path`]); `GET` opens it,
//!   `HEAD` gets the stream's head without a body, `OPTIONS` is a CORS
//!   preflight when [`Endpoint::cors`] is set, anything else is 405 with
//!   `Allow`. Other paths are the application's ([`Route::Elsewhere`]); it
//!   may answer them with [`Endpoint::not_found`].
//! - The last event ID is the `Last-Event-ID` header or the `last_event_id`
//!   query parameter ([`server::last_event_id`]).
//! - The stream's body is delimited by closing the connection
//!   (`Connection: close`): every HTTP/1.0 and 1.1 client reads that, the
//!   bytes on the wire are exactly the event stream, and an event stream has
//!   no natural end to announce anyway.

use alloc::string::String;
use alloc::vec::Vec;
use bytes::{BufMut, Bytes, BytesMut};
use core::time::Duration;

use crate::http1::{encode_response_head, HeadError, RequestHead, Response};
use crate::server::{self, ResponseHead};

/// How long a client may take to send its request head (and, over TLS, to
/// finish its handshake) before the listener drops the connection.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a listener keeps a connection open after a complete answer,
/// reading and dropping whatever the client still sends, until the client
/// closes: closing with unread input could reset the connection and destroy
/// the answer in flight.
pub const LINGER: Duration = Duration::from_secs(1);

/// Where and how an event stream is served. See the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The path of the stream, e.g. `/events` (the query is not compared).
    pub path: String,
    /// The value of `Access-Control-Allow-Origin` for cross-origin
    /// `EventSource`s (e.g. `*` or `https://app.example`); `None` sends no
    /// CORS headers and answers `OPTIONS` with 405.
    pub cors: Option<String>,
}

/// What to do with a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// Open the stream for a subscriber who last saw this event ID.
    Stream {
        /// From [`server::last_event_id`].
        last_event_id: Option<String>,
        /// `HEAD`: write [`Endpoint::stream_head`] and close.
        head_only: bool,
    },
    /// Write these bytes (a complete response) and close.
    Respond(Bytes),
    /// Not the stream's path: the application's to answer.
    Elsewhere,
}

impl Endpoint {
    /// An endpoint at `path` without CORS.
    pub fn new(path: impl Into<String>) -> Self {
        Endpoint {
            path: path.into(),
            cors: None,
        }
    }

    /// Decides what a request gets.
    pub fn route(&self, req: &RequestHead) -> Route {
        if req.path() != self.path {
            return Route::Elsewhere;
        }
        match req.method() {
            "GET" | "HEAD" => Route::Stream {
                last_event_id: server::last_event_id(
                    req.target(),
                    req.headers().iter().map(|(n, v)| (n, &v[..])),
                ),
                head_only: req.method() == "HEAD",
            },
            "OPTIONS" if self.cors.is_some() => {
                let mut headers = self.cors_headers();
                headers.push(("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"));
                headers.push((
                    "Access-Control-Allow-Headers",
                    "Last-Event-ID, Cache-Control",
                ));
                headers.push(("Access-Control-Max-Age", "86400"));
                Route::Respond(respond(204, &headers, b""))
            }
            _ => {
                let allow = if self.cors.is_some() {
                    "GET, HEAD, OPTIONS"
                } else {
                    "GET, HEAD"
                };
                Route::Respond(respond(
                    405,
                    &[("Allow", allow), ("Content-Type", "text/plain")],
                    b"method not allowed\n",
                ))
            }
        }
    }

    /// Writes the head of a stream response: `head` (from
    /// [`server::Stream::response_head`] or a hub subscriber), the CORS
    /// header when configured, and `Connection: close`.
    pub fn stream_head(&self, head: &ResponseHead, out: &mut impl BufMut) {
        let mut headers = self.stream_headers(head);
        headers.push(("Connection", "close"));
        // Names are constants and values come from the core's own encoder or
        // this endpoint's configuration; a bad CORS value is the only way to
        // fail, and then the head goes out without it.
        if encode_response_head(out, &Response::new(head.status).headers(&headers)).is_err() {
            headers.retain(|(n, _)| !n.starts_with("Access-Control"));
            let _ = encode_response_head(out, &Response::new(head.status).headers(&headers));
        }
    }

    /// The header fields of a stream response: `head`'s and the CORS ones
    /// when configured, without the HTTP/1.1 framing [`Endpoint::stream_head`]
    /// adds. For servers that frame responses themselves (hyper, HTTP/2).
    pub fn stream_headers<'a>(&'a self, head: &'a ResponseHead) -> Vec<(&'a str, &'a str)> {
        let mut headers: Vec<(&str, &str)> =
            head.headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        headers.extend(self.cors_headers());
        headers
    }

    /// A stream that opens and ends at once, saying why in a comment
    /// (`: unavailable: REASON`): the answer when the stream's source cannot
    /// serve it now (a shared log that is unreachable). Not an error status,
    /// on purpose: an `EventSource` gives up for good on one, while on this
    /// it reconnects after its retry time (the `retry:` hint of `config` is
    /// in the preamble) and resumes by its last event ID.
    pub fn unavailable(&self, config: &server::Config, reason: &str) -> Bytes {
        let mut stream = server::Stream::new(crate::Instant::ZERO, config.clone());
        let mut out = BytesMut::new();
        self.stream_head(stream.response_head(), &mut out);
        while let Some(bytes) = stream.poll_transmit(crate::Instant::ZERO) {
            out.extend_from_slice(&bytes);
        }
        let reason = alloc::format!("unavailable: {reason}");
        crate::encode::comment(&mut out, &reason);
        out.freeze()
    }

    /// A `404 Not Found` for paths the application does not serve.
    pub fn not_found(&self) -> Bytes {
        respond(404, &[("Content-Type", "text/plain")], b"not found\n")
    }

    fn cors_headers(&self) -> Vec<(&'static str, &str)> {
        match &self.cors {
            Some(origin) => alloc::vec![
                ("Access-Control-Allow-Origin", origin.as_str()),
                ("Access-Control-Expose-Headers", "Last-Event-ID"),
            ],
            None => Vec::new(),
        }
    }
}

/// The `400 Bad Request` for a request head that is malformed, breaks the
/// [`HeadLimits`](crate::http1::HeadLimits) or announces a body that cannot
/// be delimited (the [`RequestParser`](crate::http1::RequestParser) fails
/// all three): the reason as plain text. Write it, then close as after any
/// complete answer (see [`LINGER`]): RFC 9112 §6.3 leaves no other choice.
pub fn bad_request(error: &HeadError) -> Bytes {
    let reason = alloc::format!("{error}\n");
    respond(400, &[("Content-Type", "text/plain")], reason.as_bytes())
}

/// A complete response with a `Content-Length` body and `Connection: close`:
/// for the small answers a listener gives besides the stream (errors, an
/// HTML page). Header values must be valid field values; invalid ones make
/// a bare `500`.
pub fn respond(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Bytes {
    let mut length = itoa(body.len());
    let mut all: Vec<(&str, &str)> = headers.to_vec();
    all.push((
        "Content-Length",
        core::str::from_utf8(&length).unwrap_or("0"),
    ));
    all.push(("Connection", "close"));
    let mut out = BytesMut::new();
    if encode_response_head(&mut out, &Response::new(status).headers(&all)).is_ok() {
        out.put_slice(body);
    } else {
        out.clear();
        length = itoa(0);
        let fallback = [
            (
                "Content-Length",
                core::str::from_utf8(&length).unwrap_or("0"),
            ),
            ("Connection", "close"),
        ];
        let _ = encode_response_head(&mut out, &Response::new(500).headers(&fallback));
    }
    out.freeze()
}

fn itoa(mut n: usize) -> Vec<u8> {
    let mut digits = Vec::new();
    loop {
        digits.push(b'0' + (n % 10) as u8);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    digits.reverse();
    digits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::{HeadStatus, RequestParser};
    use crate::server::{Config, Stream};
    use crate::Instant;

    fn head(wire: &str) -> RequestHead {
        match RequestParser::new().handle_bytes(wire.as_bytes()).unwrap() {
            HeadStatus::Complete(h, _) => h,
            HeadStatus::Partial => panic!("partial"),
        }
    }

    fn text(b: &[u8]) -> &str {
        core::str::from_utf8(b).unwrap()
    }

    #[test]
    fn get_opens_with_the_last_event_id() {
        let ep = Endpoint::new("/events");
        let r = ep.route(&head(
            "GET /events?last_event_id=7 HTTP/1.1\r\nHost: x\r\n\r\n",
        ));
        assert_eq!(
            r,
            Route::Stream {
                last_event_id: Some("7".into()),
                head_only: false
            }
        );
        let r = ep.route(&head("HEAD /events HTTP/1.1\r\nLast-Event-ID: 9\r\n\r\n"));
        assert_eq!(
            r,
            Route::Stream {
                last_event_id: Some("9".into()),
                head_only: true
            }
        );
    }

    #[test]
    fn other_paths_and_methods() {
        let ep = Endpoint::new("/events");
        assert_eq!(ep.route(&head("GET / HTTP/1.1\r\n\r\n")), Route::Elsewhere);
        let Route::Respond(r) = ep.route(&head("POST /events HTTP/1.1\r\n\r\n")) else {
            panic!()
        };
        assert!(text(&r).starts_with("HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\n"));
        assert!(text(&r).contains("Content-Length: 19\r\n"));
        let Route::Respond(r) = ep.route(&head("OPTIONS /events HTTP/1.1\r\n\r\n")) else {
            panic!()
        };
        assert!(text(&r).starts_with("HTTP/1.1 405"));
        assert!(text(&ep.not_found()).starts_with("HTTP/1.1 404 Not Found\r\n"));
    }

    #[test]
    fn cors_preflight_and_stream_head() {
        let ep = Endpoint {
            path: "/e".into(),
            cors: Some("*".into()),
        };
        let Route::Respond(r) = ep.route(&head("OPTIONS /e HTTP/1.1\r\n\r\n")) else {
            panic!()
        };
        assert!(
            text(&r).starts_with("HTTP/1.1 204 No Content\r\nAccess-Control-Allow-Origin: *\r\n")
        );
        let stream = Stream::new(Instant::ZERO, Config::default());
        let mut out = Vec::new();
        ep.stream_head(stream.response_head(), &mut out);
        let out = text(&out);
        assert!(out.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"));
        assert!(out.contains("Access-Control-Allow-Origin: *\r\n"));
        assert!(out.ends_with("Connection: close\r\n\r\n"));
    }

    #[test]
    fn unavailable_opens_and_says_why() {
        let ep = Endpoint::new("/e");
        let config = Config {
            retry: Some(500),
            ..Config::default()
        };
        let r = ep.unavailable(&config, "redis down\nagain");
        let r = text(&r);
        assert!(r.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"));
        assert!(
            r.ends_with(
                "Connection: close\r\n\r\nretry: 500\n: unavailable: redis down\n: again\n"
            ),
            "{r}"
        );
    }

    #[test]
    fn bad_cors_value_is_dropped_not_sent() {
        let ep = Endpoint {
            path: "/e".into(),
            cors: Some("a\r\nSet-Cookie: x".into()),
        };
        let stream = Stream::new(Instant::ZERO, Config::default());
        let mut out = Vec::new();
        ep.stream_head(stream.response_head(), &mut out);
        let out = text(&out);
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(!out.contains("Set-Cookie") && !out.contains("Access-Control"));
    }

    #[test]
    fn a_bad_head_gets_a_400_saying_why() {
        let err = RequestParser::new()
            .handle_bytes(b"GET /events HTTP/1.1\r\nBad Header\r\n\r\n")
            .unwrap_err();
        let r = bad_request(&err);
        let r = text(&r);
        assert!(r.starts_with("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"));
        assert!(r.ends_with(&alloc::format!("\r\n\r\n{err}\n")), "{r}");
    }

    #[test]
    fn respond_sets_length() {
        let r = respond(200, &[("Content-Type", "text/html")], b"<p>hi</p>");
        assert_eq!(
            text(&r),
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 9\r\nConnection: close\r\n\r\n<p>hi</p>"
        );
        let r = respond(200, &[("X", "a\nb")], b"body");
        assert!(text(&r).starts_with("HTTP/1.1 500"));
    }
}
