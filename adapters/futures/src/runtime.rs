//! What a driver needs from its runtime: a clock with a timer, and (for
//! the client) a way to open connections.
//!
//! The drivers in this crate never name an executor. A runtime adapter
//! (`sse-async-std`, `sse-smol`) implements [`Timer`] with its own timer and
//! [`Connector`] with its own DNS, TCP and TLS; a test implements them with
//! a virtual clock and scripted sockets; a game loop could implement them
//! over its frame clock.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;

use futures_lite::{AsyncRead, AsyncWrite};
use sse_core::client::TransportError;
use sse_core::url::Url;
use sse_core::Instant;

/// A boxed, sendable future, as [`Timer`] and [`Connector`] return them.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A monotonic clock and a timer on it.
///
/// Drivers read [`Timer::now`] for every input they give the core and wait
/// with [`Timer::sleep_until`] for the core's next deadline. A deadline is
/// over only when its sleep completes: drivers never compare `now()` with a
/// deadline themselves, so a virtual clock controls exactly when timers fire.
pub trait Timer: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> Instant;
    /// Completes once `deadline` has passed (at once if it already has).
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<()>;
}

/// Opens the byte stream for one request: DNS, TCP, TLS for `https`.
pub trait Connector: Send + Sync + 'static {
    /// The connection: a TCP stream, a TLS stream over it, or anything
    /// that reads and writes bytes.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// Connects to `url`'s host and port (TLS when
    /// [`Url::is_tls`]). Dropping the future cancels the attempt.
    fn connect(&self, url: &Url) -> BoxFuture<Result<Self::Io, ConnectError>>;
}

/// A failed connection attempt: what the core is told, and the cause.
#[derive(Debug)]
pub struct ConnectError {
    /// The class of failure the client machine gets
    /// ([`Client::handle_connect_failed`](sse_core::client::Client::handle_connect_failed)).
    pub kind: TransportError,
    /// The underlying error, for logs and for the user.
    pub error: io::Error,
}

impl ConnectError {
    /// An error of the given kind.
    pub fn new(kind: TransportError, error: io::Error) -> Self {
        ConnectError { kind, error }
    }
}

impl From<io::Error> for ConnectError {
    /// Classifies a socket error (refused, reset, …).
    fn from(error: io::Error) -> Self {
        ConnectError {
            kind: TransportError::from(&error),
            error,
        }
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.error)
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}
