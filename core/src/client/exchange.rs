//! One HTTP/1.1 request and its response, between a byte transport and the
//! [`Client`] machine.
//!
//! The machine takes parsed response heads and body bytes; a socket gives raw
//! bytes. [`Exchange`] is the glue every raw-socket driver needs, so that the
//! adapters hold no protocol code: it encodes the [`Request`] of an
//! [`Action::Connect`](super::Action::Connect) (adding `Host` and
//! `Content-Length`), then parses the response head with
//! [`http1::ResponseParser`](crate::http1::ResponseParser), de-frames the body
//! with a [`BodyDecoder`] and feeds the machine with
//! [`Client::handle_response_head`], [`Client::handle_bytes`] and
//! [`Client::handle_eof`] — or [`Client::handle_transport_error`] when the
//! server breaks HTTP.
//!
//! A driver's loop, per connection:
//!
//! 1. On `Action::Connect(request)`: [`Exchange::start`] writes the request
//!    bytes; connect, call [`Client::handle_connected`], write the bytes.
//! 2. Hand every read to [`Exchange::handle_bytes`]; a clean end of file to
//!    [`Exchange::handle_eof`]; a read error to
//!    [`Client::handle_transport_error`].
//! 3. Drop the connection on `Action::Disconnect` or the next `Connect`, and
//!    stop reading once [`Exchange::is_finished`].

use alloc::vec::Vec;
use bytes::BufMut;

use super::machine::Client;
use super::notify::TransportError;
use super::request::Request;
use crate::http1::{
    encode_request, BodyDecoder, BodyEvent, EncodeError, HeadStatus, InPlace,
    Request as Http1Request, ResponseParser,
};
use crate::proxy::Proxy;
use crate::time::Instant;

/// The HTTP/1.1 state of one connection of a [`Client`]: it writes the
/// request, then turns the response bytes into the machine's inputs (see
/// [the client module](crate::client) for the driving loop).
#[derive(Debug)]
pub struct Exchange {
    head: ResponseParser,
    body: Option<BodyDecoder>,
    finished: bool,
}

impl Exchange {
    /// Appends the wire form of `request` to `out` and returns the state
    /// that reads its response.
    ///
    /// Fails when a configured header name or value cannot be sent (a
    /// control character, a field the encoder owns); report that to the
    /// machine as a failed connect.
    pub fn start(request: &Request, out: &mut impl BufMut) -> Result<Exchange, EncodeError> {
        Exchange::start_via(request, None, out)
    }

    /// As [`Exchange::start`], for a request sent to the forward proxy
    /// `via` when there is one ([`Proxies::forward`](crate::proxy::Proxies::forward)):
    /// the target is then the whole URL (absolute form), and the proxy's
    /// credentials go in `Proxy-Authorization`.
    pub fn start_via(
        request: &Request,
        via: Option<&Proxy>,
        out: &mut impl BufMut,
    ) -> Result<Exchange, EncodeError> {
        let mut headers: Vec<(&str, &str)> = request
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        if let Some(credentials) = via.and_then(Proxy::authorization) {
            headers.push(("Proxy-Authorization", credentials));
        }
        let target = match via {
            Some(_) => request.url.as_str(),
            None => request.url.request_target(),
        };
        let wire = Http1Request {
            method: request.method.as_str(),
            target,
            host: request.url.authority(),
            headers: &headers,
            body: request.body.as_deref(),
        };
        encode_request(out, &wire)?;
        Ok(Exchange {
            head: ResponseParser::new(),
            body: None,
            finished: false,
        })
    }

    /// Whether the response is over (complete, broken and reported, or no
    /// longer read by the machine: see [`Client::reads_response`]): the
    /// driver should stop reading this connection.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Bytes read from the connection.
    pub fn handle_bytes(&mut self, client: &mut Client, now: Instant, input: &[u8]) {
        if self.finished {
            return;
        }
        let mut rest = input;
        if self.body.is_none() {
            match self.head.handle_bytes(input) {
                Ok(HeadStatus::Partial) => return,
                Ok(HeadStatus::Complete(head, used)) => {
                    let framing = head.framing(false);
                    client.handle_response_head(now, head.status(), head.headers().iter());
                    if !client.reads_response() {
                        // A redirect being followed, a failure reported:
                        // the rest of this response is nobody's input.
                        self.finished = true;
                        return;
                    }
                    match framing {
                        Ok(framing) => self.body = Some(BodyDecoder::new(framing)),
                        Err(_) => return self.fail(client, now),
                    }
                    rest = input.get(used..).unwrap_or(&[]);
                }
                Err(_) => return self.fail(client, now),
            }
        }
        // The body is decoded where it lies and its data handed straight
        // to the machine, which copies it once, into the parser.
        let Some(body) = &mut self.body else { return };
        while let Some(piece) = body.decode_in_place(&mut rest) {
            match piece {
                Ok(InPlace::Data(data)) => {
                    client.handle_bytes(now, data);
                    if !client.reads_response() {
                        // E.g. a failure's body read up to its limit.
                        self.finished = true;
                        return;
                    }
                }
                Ok(InPlace::End) => {
                    self.finished = true;
                    client.handle_eof(now);
                    return;
                }
                Err(_) => return self.fail(client, now),
            }
        }
    }

    /// The connection reached a clean end of file.
    pub fn handle_eof(&mut self, client: &mut Client, now: Instant) {
        if self.finished {
            return;
        }
        match &mut self.body {
            // Closed before (or in the middle of) the response head.
            None => {
                self.finished = true;
                client.handle_eof(now);
            }
            Some(body) => {
                body.handle_eof();
                self.drain(client, now);
            }
        }
    }

    fn drain(&mut self, client: &mut Client, now: Instant) {
        let Some(body) = &mut self.body else { return };
        while let Some(event) = body.poll_body() {
            match event {
                Ok(BodyEvent::Data(bytes)) => {
                    client.handle_bytes(now, &bytes);
                    if !client.reads_response() {
                        self.finished = true;
                        return;
                    }
                }
                Ok(BodyEvent::End) => {
                    self.finished = true;
                    client.handle_eof(now);
                    return;
                }
                Err(_) => return self.fail(client, now),
            }
        }
    }

    fn fail(&mut self, client: &mut Client, now: Instant) {
        self.finished = true;
        client.handle_transport_error(now, TransportError::Protocol);
    }
}

#[cfg(feature = "std")]
impl From<&std::io::Error> for TransportError {
    /// Classifies a socket error for [`Client::handle_connect_failed`] and
    /// [`Client::handle_transport_error`].
    fn from(e: &std::io::Error) -> TransportError {
        use std::io::ErrorKind as K;
        match e.kind() {
            K::ConnectionRefused | K::AddrNotAvailable => TransportError::Refused,
            K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
                TransportError::Reset
            }
            K::InvalidData => TransportError::Protocol,
            _ => TransportError::Other,
        }
    }
}

/// A failed connection attempt as a std driver reports it: the class of
/// failure the machine gets ([`Client::handle_connect_failed`]) and the
/// underlying error, for logs and for the user. The blocking and futures
/// adapters' connectors both return it.
#[cfg(feature = "std")]
#[derive(Debug)]
pub struct ConnectError {
    /// What the client machine is told.
    pub kind: TransportError,
    /// The cause.
    pub error: std::io::Error,
}

#[cfg(feature = "std")]
impl ConnectError {
    /// An error of the given kind.
    pub fn new(kind: TransportError, error: std::io::Error) -> Self {
        ConnectError { kind, error }
    }
}

#[cfg(feature = "std")]
impl From<std::io::Error> for ConnectError {
    /// Classifies a socket error (refused, reset, …).
    fn from(error: std::io::Error) -> Self {
        ConnectError {
            kind: TransportError::from(&error),
            error,
        }
    }
}

#[cfg(feature = "std")]
impl core::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.kind, self.error)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{Action, ClientError, Config, Notification};
    use crate::url::Url;
    use alloc::string::ToString;

    fn client() -> (Client, Request) {
        let url = Url::parse("http://example.test:8080/s?x=1").unwrap();
        let mut c = Client::new(url, Config::default(), Instant::ZERO);
        let Some(Action::Connect(req)) = c.poll_action() else {
            panic!("no connect")
        };
        c.handle_connected(Instant::ZERO);
        (c, req)
    }

    #[test]
    fn request_wire_form() {
        let (_, req) = client();
        let mut out = Vec::new();
        Exchange::start(&req, &mut out).unwrap();
        let text = core::str::from_utf8(&out).unwrap();
        assert!(text.starts_with("GET /s?x=1 HTTP/1.1\r\nHost: example.test:8080\r\n"));
        assert!(text.contains("Accept: text/event-stream\r\n"));
        assert!(text.ends_with("\r\n\r\n"));
    }

    #[test]
    fn through_a_forward_proxy_the_target_is_the_whole_url() {
        let (_, req) = client();
        let proxy = Proxy::parse("http://u:p@proxy:3128").unwrap();
        let mut out = Vec::new();
        Exchange::start_via(&req, Some(&proxy), &mut out).unwrap();
        let text = core::str::from_utf8(&out).unwrap();
        assert!(text.starts_with(
            "GET http://example.test:8080/s?x=1 HTTP/1.1\r\nHost: example.test:8080\r\n"
        ));
        assert!(
            text.ends_with("Proxy-Authorization: Basic dTpw\r\n\r\n"),
            "{text}"
        );
        let mut direct = Vec::new();
        Exchange::start_via(&req, None, &mut direct).unwrap();
        assert!(direct.starts_with(b"GET /s?x=1 HTTP/1.1\r\n"));
        assert!(!direct.windows(6).any(|w| w == b"Proxy-"));
    }

    #[test]
    fn every_split_gives_the_same_messages() {
        let wire: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
            Transfer-Encoding: chunked\r\n\r\n9\r\ndata: a\n\n\r\n9\r\ndata: b\n\n\r\n0\r\n\r\n";
        for split in 0..=wire.len() {
            let (mut c, req) = client();
            let mut ex = Exchange::start(&req, &mut Vec::new()).unwrap();
            ex.handle_bytes(&mut c, Instant::ZERO, &wire[..split]);
            ex.handle_bytes(&mut c, Instant::ZERO, &wire[split..]);
            assert!(ex.is_finished(), "split {split}");
            let mut got = Vec::new();
            while let Some(n) = c.poll_notification() {
                got.push(match n {
                    Notification::Open => "open".to_string(),
                    Notification::Message(m) => m.event.data().to_string(),
                    Notification::Error { error, .. } => error.to_string(),
                    _ => "other".to_string(),
                });
            }
            assert_eq!(got, ["open", "a", "b", "stream ended"], "split {split}");
        }
    }

    #[test]
    fn a_redirects_body_never_reaches_the_next_connection() {
        let redirects: [&[u8]; 3] = [
            b"HTTP/1.1 307 Temporary Redirect\r\nLocation: /final\r\nContent-Length: 0\r\n\r\n",
            b"HTTP/1.1 301 Moved\r\nLocation: /final\r\nContent-Length: 5\r\n\r\nmoved",
            b"HTTP/1.1 302 Found\r\nLocation: /final\r\nTransfer-Encoding: chunked\r\n\r\n\
              5\r\nmoved\r\n0\r\n\r\n",
        ];
        for wire in redirects {
            for split in 0..=wire.len() {
                let (mut c, req) = client();
                let mut ex = Exchange::start(&req, &mut Vec::new()).unwrap();
                ex.handle_bytes(&mut c, Instant::ZERO, &wire[..split]);
                ex.handle_bytes(&mut c, Instant::ZERO, &wire[split..]);
                ex.handle_eof(&mut c, Instant::ZERO);
                assert!(ex.is_finished(), "split {split}");
                assert_eq!(c.poll_notification(), None, "split {split}");
                assert_eq!(c.poll_action(), None, "split {split}");
                c.handle_timeout(Instant::ZERO);
                let Some(Action::Connect(next)) = c.poll_action() else {
                    panic!("no connect after split {split}")
                };
                assert_eq!(next.url.as_str(), "http://example.test:8080/final");
            }
        }
    }

    #[test]
    fn eof_ends_a_close_delimited_body() {
        let (mut c, req) = client();
        let mut ex = Exchange::start(&req, &mut Vec::new()).unwrap();
        let wire = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: x\n\n";
        ex.handle_bytes(&mut c, Instant::ZERO, wire);
        assert!(!ex.is_finished());
        ex.handle_eof(&mut c, Instant::ZERO);
        assert!(ex.is_finished());
        let last = core::iter::from_fn(|| c.poll_notification()).last();
        assert!(matches!(
            last,
            Some(Notification::Error {
                reconnecting: true,
                error: ClientError::EndOfStream
            })
        ));
    }

    #[test]
    fn malformed_head_is_a_protocol_error() {
        let (mut c, req) = client();
        let mut ex = Exchange::start(&req, &mut Vec::new()).unwrap();
        ex.handle_bytes(&mut c, Instant::ZERO, b"SSH-2.0-OpenSSH\r\n\r\n");
        assert!(ex.is_finished());
        let n = c.poll_notification();
        assert!(
            matches!(
                n,
                Some(Notification::Error {
                    reconnecting: true,
                    error: ClientError::Transport(TransportError::Protocol)
                        | ClientError::ConnectFailed(TransportError::Protocol)
                })
            ),
            "{n:?}"
        );
    }

    #[test]
    fn truncated_chunked_body_is_a_protocol_error() {
        let (mut c, req) = client();
        let mut ex = Exchange::start(&req, &mut Vec::new()).unwrap();
        let wire = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
            Transfer-Encoding: chunked\r\n\r\n9\r\ndata: a\n";
        ex.handle_bytes(&mut c, Instant::ZERO, wire);
        ex.handle_eof(&mut c, Instant::ZERO);
        assert!(ex.is_finished());
        let last = core::iter::from_fn(|| c.poll_notification()).last();
        assert!(matches!(
            last,
            Some(Notification::Error {
                error: ClientError::Transport(TransportError::Protocol),
                ..
            })
        ));
    }

    #[test]
    fn bad_header_is_an_encode_error() {
        let (_, mut req) = client();
        req.headers.push(("X-Bad".into(), "a\r\nb".into()));
        assert!(Exchange::start(&req, &mut Vec::new()).is_err());
    }
}
