//! What the user chooses before connecting: request shape, timing, policies
//! and which notifications to receive.

use alloc::string::String;
use alloc::vec::Vec;
use bytes::Bytes;
use core::ops::{BitOr, BitOrAssign, RangeInclusive};
use core::time::Duration;

use super::backoff::Backoff;
use super::request::Method;
use crate::parse::Limits;
use crate::text::Utf8Bytes;

/// Which notifications [`Client::poll_notification`](super::Client::poll_notification)
/// returns, after the Go seed's `WantErrors | WantOpenClose | WantMessages`.
///
/// Notifications that are not wanted are never queued. The state machine
/// behaves the same either way. The default is what a browser's
/// `EventSource` reports: errors, open/close and messages; comments are
/// opt-in ([`Want::COMMENTS`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Want(u8);

impl Want {
    /// Nothing: drive the machine for its side effects only.
    pub const NONE: Want = Want(0);
    /// [`Notification::Error`](super::Notification::Error) and
    /// [`Notification::ParseError`](super::Notification::ParseError).
    pub const ERRORS: Want = Want(1);
    /// [`Notification::Open`](super::Notification::Open) and
    /// [`Notification::Closed`](super::Notification::Closed).
    pub const OPEN_CLOSE: Want = Want(2);
    /// [`Notification::Message`](super::Notification::Message).
    pub const MESSAGES: Want = Want(4);
    /// [`Notification::Comment`](super::Notification::Comment): the
    /// stream's comment lines (keep-alives, server notes), in order with the
    /// messages. Off by default. When on, the body is also split into lines
    /// for the comments, which costs a second pass over it and up to one
    /// more line of memory ([`Limits::max_line_len`]).
    pub const COMMENTS: Want = Want(8);
    /// Errors, open/close and messages: the default.
    pub const STANDARD: Want = Want(7);
    /// Every kind, comments included.
    pub const ALL: Want = Want(15);

    /// Whether every flag of `other` is set in `self`.
    pub const fn contains(self, other: Want) -> bool {
        self.0 & other.0 == other.0
    }

    /// The flags as bits (`ERRORS` = 1, `OPEN_CLOSE` = 2, `MESSAGES` = 4,
    /// `COMMENTS` = 8).
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Flags from bits; unknown bits are dropped.
    pub const fn from_bits_truncate(bits: u8) -> Want {
        Want(bits & Want::ALL.0)
    }
}

impl Default for Want {
    /// [`Want::STANDARD`]: everything but comments.
    fn default() -> Self {
        Want::STANDARD
    }
}

impl BitOr for Want {
    type Output = Want;
    fn bitor(self, rhs: Want) -> Want {
        Want(self.0 | rhs.0)
    }
}

impl BitOrAssign for Want {
    fn bitor_assign(&mut self, rhs: Want) {
        self.0 |= rhs.0;
    }
}

/// Whether the stream is reconnected after a network error or the end of
/// the response body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reconnect {
    /// `GET` streams reconnect; others (an LLM answer to a `POST`) are
    /// one-shot: a clean end closes them without an error, a network error
    /// fails them for good.
    #[default]
    Auto,
    /// Always reconnect, re-sending the request body.
    Always,
    /// Never reconnect.
    Never,
}

/// Configuration of a [`Client`](super::Client).
///
/// Start from [`Config::default`] and change fields:
/// ```
/// use core::time::Duration;
/// use sse_core::client::{Backoff, Config, Method, Want};
///
/// let mut config = Config::default();
/// config.method = Method::Post;
/// config.headers.push(("Authorization".into(), "Bearer t0k3n".into()));
/// config.body = Some("{\"prompt\":\"hi\"}".into());
/// config.backoff = Some(Backoff::default());
/// config.want = Want::MESSAGES | Want::ERRORS;
/// config.idle_timeout = Some(Duration::from_secs(45));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The request method (default `GET`).
    pub method: Method,
    /// Extra request headers, sent after the standard ones. A header named
    /// `Accept` or `Cache-Control` replaces the standard value.
    pub headers: Vec<(String, String)>,
    /// The request body, if any.
    pub body: Option<Bytes>,
    /// The reconnection time until the server sends `retry:` (default 3 s).
    pub reconnection_time: Duration,
    /// Capped exponential backoff on top of the reconnection time (default
    /// off: every reconnect waits the reconnection time, as browsers do).
    pub backoff: Option<Backoff>,
    /// A connection that stayed open this long resets the backoff
    /// (default 30 s).
    pub backoff_reset_after: Duration,
    /// Seed for the jitter generator (default 0). Give each client its own.
    pub seed: u64,
    /// Fail the attempt when no body bytes arrive for this long (default
    /// none). It counts as a network error: the client reconnects.
    pub idle_timeout: Option<Duration>,
    /// Fail the attempt when the response head has not arrived this long
    /// after the connect action (default none). The client reconnects.
    pub connect_timeout: Option<Duration>,
    /// Redirects followed per attempt before failing (default 10).
    pub max_redirects: u32,
    /// Statuses retried with a reconnect instead of failing for good
    /// (default none). A `Retry-After` header in seconds is honoured.
    pub retry_statuses: Vec<RangeInclusive<u16>>,
    /// Whether to reconnect after network errors and the end of the body.
    pub reconnect: Reconnect,
    /// Which notifications to queue (default [`Want::STANDARD`]: all but
    /// comments).
    pub want: Want,
    /// Parser memory limits.
    pub limits: Limits,
    /// The last event ID to start with, e.g. saved by an earlier run
    /// (default empty: no `Last-Event-ID` on the first request).
    pub last_event_id: Utf8Bytes,
    /// Bytes of a failed response's body kept for the error (default 0:
    /// fail as soon as the head arrives). When non-zero, the machine reads
    /// the body up to this many bytes (or its end) before reporting.
    pub max_error_body: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            method: Method::Get,
            headers: Vec::new(),
            body: None,
            reconnection_time: Duration::from_secs(3),
            backoff: None,
            backoff_reset_after: Duration::from_secs(30),
            seed: 0,
            idle_timeout: None,
            connect_timeout: None,
            max_redirects: 10,
            retry_statuses: Vec::new(),
            reconnect: Reconnect::Auto,
            want: Want::STANDARD,
            limits: Limits::default(),
            last_event_id: Utf8Bytes::default(),
            max_error_body: 0,
        }
    }
}

impl Config {
    /// Whether `status` is in [`Config::retry_statuses`].
    pub fn retries_status(&self, status: u16) -> bool {
        self.retry_statuses.iter().any(|r| r.contains(&status))
    }

    /// Whether a stream with this configuration reconnects on its own.
    pub fn reconnects(&self) -> bool {
        match self.reconnect {
            // `Method::Other("GET")` is a GET too.
            Reconnect::Auto => self.method.as_str() == "GET",
            Reconnect::Always => true,
            Reconnect::Never => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_reconnects_any_spelling_of_get_only() {
        let mut c = Config::default();
        assert!(c.reconnects());
        c.method = Method::Other("GET".into());
        assert!(c.reconnects());
        c.method = Method::Post;
        assert!(!c.reconnects());
        c.method = Method::Other("PUT".into());
        assert!(!c.reconnects());
        c.reconnect = Reconnect::Always;
        assert!(c.reconnects());
    }
}
