//! One connection of the threaded event stream server (see
//! [`serve`](crate::serve) for the listener).
//!
//! [`Hub`] wraps the core's [`sse_core::hub::Hub`] in a mutex and a condition
//! variable: a publish encodes the event once and wakes every connection
//! thread, which copies what its subscriber has not sent yet. Each
//! connection reads the request head, lets the core's [`Endpoint`] route it
//! and then loops: write what the subscriber has, wait for a publish or its
//! keep-alive deadline. A slow client blocks only its own thread, and the
//! core's lag policy bounds how far behind it may fall. A client that went
//! away is noticed at the next write, or, when idle, by a short read every
//! 100 ms: the client sends nothing after its request, so a read that ends
//! means it closed (stray bytes are read and dropped).
//!
//! Time comes from a [`Clock`]: a connection thread treats its subscriber's
//! deadline (the keep-alive) as due when `clock.now() >= deadline` after it
//! is woken ([`Hub::wake_all`], a publish) or its wait times out.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use sse_core::endpoint::{Endpoint, Route};
use sse_core::http1::{HeadStatus, RequestHead, RequestParser};
use sse_core::server::Config;

use crate::client::timed_out;
use crate::clock::Clock;
use crate::hub::Hub;
use crate::transport::Transport;

/// How long a client may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a read checking for a gone client may block.
const PROBE: Duration = Duration::from_millis(1);
/// After a complete answer, the server reads what the client still sends
/// (a request body it did not read) until the client closes, is silent for
/// `LINGER_IDLE` or `LINGER` is over: closing with unread bytes would reset
/// the connection and could destroy the answer in flight.
const LINGER: Duration = Duration::from_secs(1);
const LINGER_IDLE: Duration = Duration::from_millis(50);
/// Longest wait between checks of the stop flag.
const TICK: Duration = Duration::from_millis(100);

/// An answer for a request outside the stream's path: a complete HTTP
/// response, or `None` for 404.
pub type OtherPaths = Arc<dyn Fn(&RequestHead) -> Option<bytes::Bytes> + Send + Sync>;

/// Everything a connection thread needs besides its socket.
#[derive(Clone)]
pub struct Service {
    /// The stream's hub.
    pub hub: Hub,
    /// Path, CORS.
    pub endpoint: Endpoint,
    /// Keep-alive, retry hint, lag policy, resume policy.
    pub config: Config,
    /// Answers for paths other than the stream's (e.g. an HTML page):
    /// complete HTTP responses; `None` gives 404.
    pub other: Option<OtherPaths>,
}

impl Service {
    /// A service for `hub` at `path` with the default [`Config`].
    pub fn new(hub: Hub, path: &str) -> Self {
        Service {
            hub,
            endpoint: Endpoint::new(path),
            config: Config::default(),
            other: None,
        }
    }
}

/// Serves one connection to its end: the request, then the stream until
/// the client goes away, its subscriber is dropped for lagging, or `stop`
/// is set.
pub fn serve_connection(
    mut io: Box<dyn Transport>,
    service: &Service,
    clock: &dyn Clock,
    stop: &AtomicBool,
) {
    let Some(head) = read_head(&mut *io) else {
        return;
    };
    let (last_event_id, head_only) = match service.endpoint.route(&head) {
        Route::Respond(bytes) => return answer(&mut *io, &bytes),
        Route::Elsewhere => {
            let page = service.other.as_ref().and_then(|f| f(&head));
            return answer(
                &mut *io,
                &page.unwrap_or_else(|| service.endpoint.not_found()),
            );
        }
        Route::Stream {
            last_event_id,
            head_only,
        } => (last_event_id, head_only),
    };
    let hub = &service.hub;
    let mut sub = hub.lock().subscribe(
        clock.now(),
        last_event_id.as_deref(),
        service.config.clone(),
    );
    let mut out = BytesMut::new();
    service.endpoint.stream_head(sub.response_head(), &mut out);
    if io.write_all(&out).and_then(|()| io.flush()).is_err() || head_only {
        return;
    }
    if io.set_read_timeout(Some(PROBE)).is_err() {
        return;
    }
    loop {
        let mut guard = hub.lock();
        // A deadline that passed while waiting is handled at its own time,
        // and what it queues counts as written then: after a long wait,
        // every keep-alive due in it goes out, each for its own time.
        let now = match sub.poll_timeout().filter(|&at| clock.now() >= at) {
            Some(at) => {
                guard.handle_timeout(&mut sub, at);
                at
            }
            None => clock.now(),
        };
        let mut wrote = false;
        while let Some(bytes) = guard.poll_transmit(&mut sub, now) {
            // Write without holding the lock: a slow client must not stall
            // publishers.
            drop(guard);
            if io.write_all(&bytes).is_err() {
                return;
            }
            wrote = true;
            guard = hub.lock();
        }
        if wrote && io.flush().is_err() {
            return;
        }
        if let Some(reason) = sub.closed() {
            log::warn!("subscriber dropped: {reason:?}");
            return;
        }
        if stop.load(Ordering::Acquire) {
            return;
        }
        let deadline = sub.poll_timeout();
        if deadline.is_some_and(|at| clock.now() >= at) || guard.has_pending(&sub) {
            continue;
        }
        let wait = deadline.map_or(TICK, |at| {
            at.saturating_duration_since(clock.now()).min(TICK)
        });
        if hub.wait(guard, wait.max(Duration::from_millis(1))) && client_gone(&mut *io) {
            return;
        }
    }
}

/// Whether the client closed its end (or the connection broke). It sends
/// nothing after its request head; bytes it does send are dropped.
fn client_gone(io: &mut dyn Transport) -> bool {
    let mut sink = [0u8; 512];
    match io.read(&mut sink) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !(timed_out(&e) || e.kind() == io::ErrorKind::Interrupted),
    }
}

fn read_head(io: &mut dyn Transport) -> Option<RequestHead> {
    let _ = io.set_read_timeout(Some(HEAD_TIMEOUT));
    let mut parser = RequestParser::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = match io.read(&mut buf) {
            Ok(0) => return None,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        };
        match parser.handle_bytes(&buf[..n]) {
            Ok(HeadStatus::Complete(head, _)) => return Some(head),
            Ok(HeadStatus::Partial) => {}
            Err(e) => {
                let body = format!("{e}\n");
                let bad = sse_core::endpoint::respond(
                    400,
                    &[("Content-Type", "text/plain")],
                    body.as_bytes(),
                );
                answer(io, &bad);
                return None;
            }
        }
    }
}

/// Writes a complete answer, then lingers (see [`LINGER`]; real time, not
/// a protocol deadline).
fn answer(io: &mut dyn Transport, bytes: &[u8]) {
    if io.write_all(bytes).and_then(|()| io.flush()).is_err() {
        return;
    }
    let until = std::time::Instant::now() + LINGER;
    let mut sink = [0u8; 4096];
    loop {
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() || io.set_read_timeout(Some(left.min(LINGER_IDLE))).is_err() {
            return;
        }
        if !matches!(io.read(&mut sink), Ok(n) if n > 0) {
            return;
        }
    }
}
