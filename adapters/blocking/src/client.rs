//! `EventSource` as an [`Iterator`] of notifications on one thread.
//!
//! Each call to `next` gives the next queued notification of the core's
//! client machine, or drives it until there is one: it carries out the
//! machine's actions (connect through the [`Connector`], disconnect),
//! reads the socket with a read timeout set to the machine's next deadline,
//! and calls `handle_timeout` when that read times out. With no connection
//! it sleeps on the [`Clock`]. Iteration ends when the ready state is
//! closed; [`EventSource::reopen`] starts it again.

use std::io::{self, ErrorKind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::BytesMut;
use sse_core::client::{
    Action, Client, Config, Exchange, Notification, ReadyState, TransportError,
};
use sse_core::url::{Url, UrlError};
use sse_core::Utf8Bytes;

use crate::clock::{Clock, SystemClock};
use crate::transport::{Connector, TcpConnector, Transport};

/// Bytes asked of the socket per read.
const READ_SIZE: usize = 16 * 1024;

/// An `EventSource` driven on the calling thread. See the [module docs](self).
pub struct EventSource<C: Connector = TcpConnector, K: Clock = SystemClock> {
    client: Client,
    connector: C,
    clock: K,
    conn: Option<Conn>,
    buf: Box<[u8]>,
    closing: Arc<AtomicBool>,
    poll_interval: Option<Duration>,
}

struct Conn {
    io: Box<dyn Transport>,
    exchange: Exchange,
    /// The read side is over: end of file, error or response done.
    done: bool,
}

/// Closes an [`EventSource`] from another thread: its `next` returns `None`
/// within the poll interval ([`EventSource::set_poll_interval`]).
#[derive(Clone, Debug)]
pub struct CloseHandle(Arc<AtomicBool>);

impl CloseHandle {
    /// Asks the `EventSource` to close, as [`EventSource::close`] does.
    pub fn close(&self) {
        self.0.store(true, Ordering::Release);
    }
}

impl EventSource {
    /// An `EventSource` for `url` over TCP (and rustls for `https`) on real
    /// time. Nothing happens until the first `next`.
    pub fn new(url: &str, config: Config) -> Result<Self, UrlError> {
        EventSource::with_parts(url, config, TcpConnector::default(), SystemClock::default())
    }
}

impl<C: Connector, K: Clock> EventSource<C, K> {
    /// An `EventSource` over any connector and clock.
    pub fn with_parts(url: &str, config: Config, connector: C, clock: K) -> Result<Self, UrlError> {
        let client = Client::new(Url::parse(url)?, config, clock.now());
        Ok(EventSource {
            client,
            connector,
            clock,
            conn: None,
            buf: vec![0; READ_SIZE].into_boxed_slice(),
            closing: Arc::default(),
            poll_interval: Some(Duration::from_millis(100)),
        })
    }

    /// Bounds every blocking wait (default 100 ms) so that a
    /// [`CloseHandle`] takes effect; `None` waits for the machine's
    /// deadlines only.
    pub fn set_poll_interval(&mut self, interval: Option<Duration>) {
        self.poll_interval = interval;
    }

    /// `readyState`.
    pub fn ready_state(&self) -> ReadyState {
        self.client.ready_state()
    }

    /// The URL the `EventSource` was created with.
    pub fn url(&self) -> &Url {
        self.client.url()
    }

    /// The last event ID, sent as `Last-Event-ID` on the next connection.
    pub fn last_event_id(&self) -> Utf8Bytes {
        self.client.last_event_id()
    }

    /// Replaces the last event ID (`""` clears it).
    pub fn set_last_event_id(&mut self, id: impl Into<Utf8Bytes>) {
        self.client.set_last_event_id(id);
    }

    /// `close()`: drops the connection and stops until [`EventSource::reopen`].
    pub fn close(&mut self) {
        self.client.close();
        self.apply_actions();
    }

    /// Starts again after a close or a fatal error, keeping the last event ID.
    pub fn reopen(&mut self) {
        self.closing.store(false, Ordering::Release);
        self.client.reopen(self.clock.now());
    }

    /// A handle that closes this `EventSource` from another thread.
    pub fn close_handle(&self) -> CloseHandle {
        CloseHandle(Arc::clone(&self.closing))
    }

    /// The core machine, for anything this driver does not forward.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn apply_actions(&mut self) {
        while let Some(action) = self.client.poll_action() {
            // Either way the old connection goes.
            self.conn = None;
            let Action::Connect(request) = action else {
                continue;
            };
            let mut out = BytesMut::new();
            let via = self.connector.forward_proxy(&request.url);
            let exchange = match Exchange::start_via(&request, via, &mut out) {
                Ok(exchange) => exchange,
                Err(e) => {
                    log::error!("{}: cannot send the request: {e}", request.url);
                    let now = self.clock.now();
                    self.client
                        .handle_connect_failed(now, TransportError::Other);
                    continue;
                }
            };
            log::debug!("{} {}: connecting", request.method, request.url);
            match self.connector.connect(&request.url) {
                Ok(mut io) => {
                    self.client.handle_connected(self.clock.now());
                    let sent = io.write_all(&out).and_then(|()| io.flush());
                    if let Err(e) = &sent {
                        self.client
                            .handle_transport_error(self.clock.now(), e.into());
                    }
                    // Kept (not read when the request failed) until the
                    // machine's Disconnect, which is when it is dropped.
                    self.conn = Some(Conn {
                        io,
                        exchange,
                        done: sent.is_err(),
                    });
                }
                Err(e) => {
                    log::debug!("{}: connect failed: {e}", request.url);
                    self.client.handle_connect_failed(self.clock.now(), e.kind);
                }
            }
        }
    }

    /// Waits at most `max_wait` (less if the machine has an earlier
    /// deadline) for input, and feeds the machine what happened.
    fn step(&mut self, max_wait: Duration) {
        let now = self.clock.now();
        let wait = match self.client.poll_timeout() {
            Some(d) => d.saturating_duration_since(now).min(max_wait),
            None => max_wait,
        };
        let Some(conn) = self.conn.as_mut().filter(|c| !c.done) else {
            if wait == Duration::MAX {
                return; // no connection, no timer: nothing can happen
            }
            self.clock.sleep_until(now + wait);
            self.client.handle_timeout(self.clock.now());
            return;
        };
        // A zero timeout means "block" to the OS: wait at least 1 ms.
        let timeout = (wait != Duration::MAX).then(|| wait.max(Duration::from_millis(1)));
        let read = conn
            .io
            .set_read_timeout(timeout)
            .and_then(|()| conn.io.read(&mut self.buf));
        let now = self.clock.now();
        match read {
            Ok(0) => {
                conn.done = true;
                conn.exchange.handle_eof(&mut self.client, now);
            }
            Ok(n) => {
                conn.exchange
                    .handle_bytes(&mut self.client, now, &self.buf[..n]);
                conn.done = conn.exchange.is_finished();
            }
            Err(e) if timed_out(&e) => self.client.handle_timeout(now),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                conn.done = true;
                self.client
                    .handle_transport_error(now, TransportError::from(&e));
            }
        }
    }

    /// One step for loops that must not block for long (a game tick, a
    /// firmware loop, a test on a virtual clock): the next notification if
    /// one is ready or arrives within `max_wait`, `Ready(None)` once closed,
    /// else `Pending`. `Duration::ZERO` never blocks on the socket.
    pub fn poll_next(&mut self, max_wait: Duration) -> Poll<Option<Notification>> {
        for first in [true, false] {
            if self.closing.swap(false, Ordering::AcqRel) {
                self.client.close();
            }
            self.apply_actions();
            if let Some(n) = self.client.poll_notification() {
                return Poll::Ready(Some(n));
            }
            if self.client.ready_state() == ReadyState::Closed {
                self.conn = None;
                return Poll::Ready(None);
            }
            if first {
                self.step(max_wait);
            }
        }
        Poll::Pending
    }
}

impl<C: Connector, K: Clock> Iterator for EventSource<C, K> {
    type Item = Notification;

    fn next(&mut self) -> Option<Notification> {
        loop {
            let cap = self.poll_interval.unwrap_or(Duration::MAX);
            if let Poll::Ready(n) = self.poll_next(cap) {
                return n;
            }
            if self.conn.is_none() && self.client.poll_timeout().is_none() && cap == Duration::MAX {
                // Nothing could ever happen; do not spin.
                return None;
            }
        }
    }
}

/// Whether a read error only means "no data yet".
pub(crate) fn timed_out(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}
