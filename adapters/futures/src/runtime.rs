//! What a driver needs from its runtime: a clock with a timer, and (for
//! the client) a way to open connections.
//!
//! The drivers in this crate never name an executor. A runtime adapter
//! (`sse-async-std`, `sse-smol`) implements [`Timer`] with its own timer and
//! [`Connector`] with its own DNS, TCP and TLS; a test implements them with
//! a virtual clock and scripted sockets; a game loop could implement them
//! over its frame clock.

use std::future::Future;
use std::pin::Pin;

use futures_lite::{AsyncRead, AsyncWrite};
use sse_core::proxy::Proxy;
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
    /// [`Url::is_tls`]), or to the proxy its route names
    /// ([`sse_core::proxy::Proxies::route`]). Dropping the future cancels
    /// the attempt.
    fn connect(&self, url: &Url) -> BoxFuture<Result<Self::Io, ConnectError>>;

    /// The forward proxy `url`'s request is sent to, if any: the driver
    /// then writes it in absolute form with the proxy's credentials. By
    /// default none; a connector with proxies answers
    /// [`Proxies::forward`](sse_core::proxy::Proxies::forward).
    fn forward_proxy(&self, url: &Url) -> Option<&Proxy> {
        let _ = url;
        None
    }
}

/// A failed connection attempt: what the core is told, and the cause
/// (the core's type, shared with the blocking adapter).
pub use sse_core::client::ConnectError;

/// A shared timer is a timer: one clock for many tasks.
impl<T: Timer + ?Sized> Timer for std::sync::Arc<T> {
    fn now(&self) -> Instant {
        (**self).now()
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<()> {
        (**self).sleep_until(deadline)
    }
}
