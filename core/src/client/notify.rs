//! What the machine tells its caller: [`Action`]s for the transport,
//! [`Notification`]s for the user, and the [`ReadyState`].

use alloc::string::String;
use bytes::Bytes;
use core::fmt;

use super::request::Request;
use crate::parse::{Event, ParseError};
use crate::text::Utf8Bytes;
use crate::url::UrlError;

/// The `EventSource` ready state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReadyState {
    /// Connecting, or waiting to reconnect (`CONNECTING`, 0).
    Connecting,
    /// A stream is open and events may arrive (`OPEN`, 1).
    Open,
    /// Closed for good, by [`Client::close`](super::Client::close) or by a
    /// failure (`CLOSED`, 2). Only [`Client::reopen`](super::Client::reopen)
    /// leaves this state.
    Closed,
}

/// What the adapter must do with its transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Drop the current connection, if any, and send this request on a new
    /// one. Every later input refers to that new connection. The machine
    /// issues it only from a timer or a user call (never while it takes a
    /// transport input), so acting on it before running the timers again is
    /// enough to keep the old connection's inputs apart.
    Connect(Request),
    /// Drop the current connection (or the connection attempt). Report
    /// nothing more about it.
    Disconnect,
}

/// Something the user may want to know, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notification {
    /// The connection was announced: the ready state is now
    /// [`ReadyState::Open`]. Always before that connection's messages.
    Open,
    /// An event arrived.
    Message(MessageEvent),
    /// Something went wrong. When `reconnecting`, the ready state is
    /// [`ReadyState::Connecting`] and a new attempt follows; otherwise it is
    /// [`ReadyState::Closed`] for good.
    Error {
        /// Whether the client will try again.
        reconnecting: bool,
        /// What happened.
        error: ClientError,
    },
    /// A one-shot stream (see [`Reconnect::Auto`](super::Reconnect::Auto))
    /// ended normally; the ready state is [`ReadyState::Closed`].
    Closed,
    /// The stream broke a parser limit; the offending line or event was
    /// skipped and the stream goes on.
    ParseError(ParseError),
    /// A comment line (one starting with `:`), only with
    /// [`Want::COMMENTS`](super::Want::COMMENTS): everything after the
    /// colon, unchanged (`": keep-alive"` gives `" keep-alive"`), invalid
    /// UTF-8 replaced by U+FFFD. In stream order with the messages.
    Comment(Utf8Bytes),
}

/// A dispatched event with where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageEvent {
    /// Type, data and last event ID.
    pub event: Event,
    /// The origin of the stream's final URL (after redirects),
    /// `scheme://host[:port]`.
    pub origin: Utf8Bytes,
}

/// Why a connection attempt or stream failed, as the adapter reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportError {
    /// The host name did not resolve.
    Dns,
    /// The connection was refused or the host is unreachable.
    Refused,
    /// The TLS handshake failed.
    Tls,
    /// The connection was reset or broken.
    Reset,
    /// The HTTP response could not be parsed.
    Protocol,
    /// Anything else.
    Other,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportError::Dns => "host name did not resolve",
            TransportError::Refused => "connection refused",
            TransportError::Tls => "tls handshake failed",
            TransportError::Reset => "connection reset",
            TransportError::Protocol => "malformed http response",
            TransportError::Other => "transport error",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for TransportError {}

/// Why the client reported an error. Variants are split by who is at fault:
/// the network (reconnected), the server's answer (failed for good unless
/// retried by policy).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientError {
    /// The connection could not be made.
    ConnectFailed(TransportError),
    /// No response head arrived within the connect timeout.
    ConnectTimeout,
    /// The connection broke while the response was being read.
    Transport(TransportError),
    /// No bytes arrived within the idle timeout.
    IdleTimeout,
    /// The response body ended (the server closed the stream).
    EndOfStream,
    /// The server answered 204 No Content: it asks the client to stop.
    NoContent,
    /// The final status was not 200.
    Status {
        /// The status code.
        status: u16,
        /// The `Content-Type` header, if any.
        content_type: Option<String>,
        /// The start of the response body, up to
        /// [`Config::max_error_body`](super::Config::max_error_body) bytes.
        body: Bytes,
    },
    /// The status was 200 but the content type is not `text/event-stream`.
    ContentType {
        /// The `Content-Type` header, if any.
        content_type: Option<String>,
        /// The start of the response body, as for [`ClientError::Status`].
        body: Bytes,
    },
    /// More redirects than [`Config::max_redirects`](super::Config::max_redirects).
    TooManyRedirects {
        /// The limit.
        limit: u32,
    },
    /// A redirect without a `Location` header.
    MissingLocation {
        /// The redirect status.
        status: u16,
    },
    /// A redirect whose `Location` is not a usable URL.
    BadLocation(UrlError),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::ConnectFailed(e) => write!(f, "connect failed: {e}"),
            ClientError::ConnectTimeout => f.write_str("connect timed out"),
            ClientError::Transport(e) => write!(f, "stream broken: {e}"),
            ClientError::IdleTimeout => f.write_str("stream idle for too long"),
            ClientError::EndOfStream => f.write_str("stream ended"),
            ClientError::NoContent => f.write_str("server said stop (204 no content)"),
            ClientError::Status { status, .. } => write!(f, "unexpected status {status}"),
            ClientError::ContentType {
                content_type: Some(t),
                ..
            } => {
                write!(f, "unexpected content type {t:?}")
            }
            ClientError::ContentType {
                content_type: None, ..
            } => f.write_str("missing content type"),
            ClientError::TooManyRedirects { limit } => {
                write!(f, "more than {limit} redirects")
            }
            ClientError::MissingLocation { status } => {
                write!(f, "redirect {status} without location")
            }
            ClientError::BadLocation(e) => write!(f, "bad redirect location: {e}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::ConnectFailed(e) | ClientError::Transport(e) => Some(e),
            ClientError::BadLocation(e) => Some(e),
            _ => None,
        }
    }
}
