//! Serving event streams on any runtime: the core's hub and per-subscriber
//! streams driven over a [`Timer`] and `futures-io` sockets.
//!
//! Every protocol decision (what to write, when a keep-alive is due, when a
//! slow subscriber is dropped, how a request is routed) is the core's; the
//! pieces here only move bytes and time. How they connect:
//!
//! - [`SharedHub`] is a cloneable handle on a [`sse_core::hub::Hub`] (over
//!   any replay log: in memory by default, a Redis stream mirror with
//!   `sse-redis`): publishers call [`SharedHub::publish`] from any task or
//!   thread, and it wakes every waiting subscriber. It waits while the hub
//!   holds as much as it may for subscribers that have not been sent it yet
//!   (backpressure: a burst never drops a subscriber that reads, see the
//!   core's [hub](sse_core::hub#bursts-backpressure-and-lag));
//!   [`SharedHub::try_publish`] says so instead of waiting.
//!   [`SharedHub::subscribe`] gives a [`Subscription`].
//! - A response body is a [`Stream`](futures_lite::Stream) of [`Bytes`](bytes::Bytes):
//!   [`HubBody`] streams a subscription, [`EventBody`] streams any
//!   `Stream` of owned [`Event`]s (or, with [`JsonEvents`], of
//!   `serde::Serialize` values) through a core
//!   [`server::Stream`](sse_core::server::Stream). Both write keep-alive
//!   comments when the [`Timer`] says the core's deadline has
//!   passed, and both implement [`Body`]. [`BodyReader`] turns either into
//!   an `AsyncRead` + `AsyncBufRead` for servers that take one.
//! - `http` (feature `http-types`) turns a body into an
//!   `http_types::Response` for async-h1 or tide.
//! - [`serve_connection`] is a whole raw HTTP/1.1 connection: request head
//!   (bounded in size and time; malformed heads and request bodies that
//!   cannot be delimited get a 400 and a close), routing by the core's
//!   [`Endpoint`](sse_core::endpoint::Endpoint), the stream head, then the
//!   subscription's bytes until the client goes away or the subscriber is
//!   dropped (its socket refused writes for its lag window and it fell out
//!   of the replay log). A [`Service`]'s `admit` hook may hold a stream back
//!   until its source is ready, or refuse it with a reason; its
//!   `on_stream` hook gets a [`Sender`] for each stream, to send to that
//!   subscriber alone. [`serve`] and [`serve_with`] run an accept loop over
//!   any `Stream` of connections, spawn a task per connection with the
//!   runtime's spawn function, and give a [`ServerHandle`] for graceful
//!   shutdown. The runtime crates (`sse-smol`, `sse-async-std`) wrap these
//!   around their listeners.
//!
//! Logging goes through the `log` crate and is silent unless a logger is
//! installed: connections at `debug` here, subscribers dropped for lagging
//! at `warn` by the core, which decides it.
//!
//! ```
//! use futures_lite::{future, StreamExt};
//! use sse_core::encode::Message;
//! use sse_core::server::Config;
//! use sse_core::Instant;
//! use sse_futures::server::SharedHub;
//! # use sse_futures::{BoxFuture, Timer};
//! # struct Clock;
//! # impl Timer for Clock {
//! #     fn now(&self) -> Instant { Instant::ZERO }
//! #     fn sleep_until(&self, _: Instant) -> BoxFuture<()> { Box::pin(future::pending()) }
//! # }
//!
//! let hub = SharedHub::default();
//! let mut body = hub.subscribe(Instant::ZERO, None, Config::default()).into_body(Clock);
//! future::block_on(hub.publish(&Message::new("hello"))).unwrap();
//! let bytes = future::block_on(body.next()).unwrap();
//! assert_eq!(&bytes[..], b"id: 1\ndata: hello\n\n");
//! ```

mod body;
mod conn;
#[cfg(feature = "http-types")]
pub mod http;
mod hub;
mod listen;

use std::task::{Context, Poll};

use sse_core::Instant;

#[cfg(feature = "json")]
pub use body::JsonEvents;
pub use body::{Body, BodyReader, Event, EventBody};
pub use conn::{serve_connection, Admit, ConnectionError, Ended, Fallback, OnStream, HEAD_TIMEOUT};
pub use hub::{HubBody, HubGuard, Sender, SharedHub, Subscription};
pub use listen::{serve, serve_connections, serve_with, ServerHandle, Service};

use crate::runtime::{BoxFuture, Timer};

/// A sleep until the core's next deadline, re-armed only when the deadline
/// moves earlier: a later one is handled when the current sleep ends (the
/// core ignores early timeouts), so a busy stream does not allocate a timer
/// per write.
#[derive(Default)]
pub(crate) struct Deadline {
    armed: Option<(Instant, BoxFuture<()>)>,
}

impl Deadline {
    /// `Ready(at)` when the sleep armed for `at` has completed: call the
    /// core's `handle_timeout(at)` then — at the deadline's own time, so that
    /// several deadlines passed in one long wait each fire for their time.
    /// `Pending` (with the sleep registered) otherwise.
    pub(crate) fn poll(
        &mut self,
        cx: &mut Context<'_>,
        timer: &impl Timer,
        deadline: Option<Instant>,
    ) -> Poll<Instant> {
        let Some(deadline) = deadline else {
            self.armed = None;
            return Poll::Pending;
        };
        if self.armed.as_ref().is_none_or(|(at, _)| deadline < *at) {
            self.armed = Some((deadline, timer.sleep_until(deadline)));
        }
        let Some((at, sleep)) = &mut self.armed else {
            return Poll::Pending;
        };
        if sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        let at = *at;
        self.armed = None;
        Poll::Ready(at)
    }
}

/// Bytes gathered from a body before one write.
pub(crate) const WRITE_BATCH: usize = 16 * 1024;
