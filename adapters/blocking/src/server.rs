//! One connection of the threaded event stream server (see
//! [`serve`](crate::serve) for the listener).
//!
//! [`Hub`] wraps the core's [`sse_core::hub::Hub`] in a mutex and a condition
//! variable: a publish encodes the event once and wakes every connection
//! thread, which copies what its subscriber has not sent yet. Each
//! connection reads the request head, lets the core's [`Endpoint`] route it
//! and then loops: peek at what the subscriber has, write it and commit
//! it once the socket took it, or wait for a publish or its keep-alive
//! deadline. Writes time out at once, so a client that stopped reading
//! blocks nothing: what was offered is offered again after the next
//! publish. Every refused write is reported to the hub and every write
//! that goes through clears it, so only the time the socket refused writes
//! counts against a subscriber: the hub holds its events until that lasted
//! its lag window, then its lag policy applies once the log evicts its
//! next event (a write stuck part way is given up then). A
//! client that went away is noticed at the next write, or, when idle, by a
//! short read after each second without anything to write: the client
//! sends nothing after its request, so a read that ends means it closed
//! (stray bytes are read and dropped). Threads blocked in a read check the
//! stop flag every 100 ms; waiting ones are woken by
//! [`ServerHandle::shutdown`](crate::ServerHandle::shutdown).
//!
//! Time comes from a [`Clock`]: a connection thread treats its subscriber's
//! deadline (the keep-alive) as due when `clock.now() >= deadline` after it
//! is woken ([`Hub::wake_all`], a publish) or its wait times out.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::BytesMut;
use sse_core::encode::Message;
use sse_core::endpoint::{bad_request, Endpoint, Route, HEAD_TIMEOUT, LINGER};
use sse_core::http1::{HeadStatus, RequestHead, RequestParser};
use sse_core::hub::Subscriber;
use sse_core::outbox::Outbox;
use sse_core::server::{CloseReason, Config, SendError};

use crate::client::timed_out;
use crate::clock::Clock;
use crate::hub::Hub;
use crate::transport::Transport;

/// How long a read checking for a gone client may block.
const PROBE: Duration = Duration::from_millis(1);
/// After a complete answer, the server reads what the client still sends
/// until the client closes, is silent for `LINGER_IDLE`, or the core's
/// [`LINGER`] is over.
const LINGER_IDLE: Duration = Duration::from_millis(50);
/// Longest wait of an idle stream before it checks that its client is
/// still there (a publish, a deadline or the server stopping wake it
/// earlier).
const IDLE_WAIT: Duration = Duration::from_secs(1);
/// How often a thread blocked in a read or write checks the stop flag.
const POLL_STOP: Duration = Duration::from_millis(100);
/// How long a connection whose socket is full waits for a publish before
/// it offers its bytes again.
const RETRY: Duration = Duration::from_millis(10);
/// Most bytes offered to one write.
const WRITE_BATCH: usize = 16 * 1024;

/// An answer for a request outside the stream's path: a complete HTTP
/// response, or `None` for 404.
pub type OtherPaths = Arc<dyn Fn(&RequestHead) -> Option<bytes::Bytes> + Send + Sync>;

/// Called when a stream opens, with its request and a [`Sender`] to that
/// subscriber alone (keep it, e.g. by user, to send to them later).
pub type OnStream = Arc<dyn Fn(&RequestHead, Sender) + Send + Sync>;

/// Sends to one subscriber alone (its own queue: not logged, not replayed,
/// no ID unless the message has one), from any thread; given to
/// [`Service::on_stream`]. Clones send to the same subscriber.
#[derive(Clone)]
pub struct Sender {
    outbox: Arc<Mutex<Outbox>>,
    hub: Hub,
}

impl Sender {
    /// Queues `msg` (see [`Outbox::push`]) and wakes the connection
    /// threads. Fails when the message cannot be encoded, or once the
    /// stream has ended: then drop the sender.
    pub fn send(&self, msg: &Message<'_>) -> Result<(), SendError> {
        lock(&self.outbox).push(msg)?;
        // A connection drains its outbox and waits under the hub's lock:
        // taking it once here means it either sees this message or is
        // already waiting for the wake-up.
        drop(self.hub.lock());
        self.hub.wake_all();
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

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
    /// Gets a [`Sender`] for each stream that opens.
    pub on_stream: Option<OnStream>,
}

impl Service {
    /// A service for `hub` at `path` with the default [`Config`].
    pub fn new(hub: Hub, path: &str) -> Self {
        Service {
            hub,
            endpoint: Endpoint::new(path),
            config: Config::default(),
            other: None,
            on_stream: None,
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
    let Some(head) = read_head(&mut *io, stop) else {
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
    let outbox = service.on_stream.as_ref().map(|on_stream| {
        let outbox = Arc::new(Mutex::new(Outbox::new(&service.config)));
        on_stream(
            &head,
            Sender {
                outbox: Arc::clone(&outbox),
                hub: hub.clone(),
            },
        );
        outbox
    });
    stream(&mut *io, hub, &mut sub, outbox.as_deref(), clock, stop);
    if let Some(outbox) = outbox {
        lock(&outbox).close(sub.closed().unwrap_or(CloseReason::Finished));
    }
    let mut core = hub.lock();
    core.unsubscribe(&mut sub);
    hub.signal_room(&mut core);
}

/// Writes the subscriber's bytes as they come (see [`serve_connection`]).
fn stream(
    io: &mut dyn Transport,
    hub: &Hub,
    sub: &mut Subscriber,
    outbox: Option<&Mutex<Outbox>>,
    clock: &dyn Clock,
    stop: &AtomicBool,
) {
    // Writes time out at once (`PROBE`) so that a full socket does not hold
    // on to what was offered: after the next publish (or `RETRY`) it is
    // offered again as things then stand, so a subscriber that stopped
    // reading lags like any slow one, and the stop flag is seen.
    if io.set_read_timeout(Some(PROBE)).is_err() || io.set_write_timeout(Some(PROBE)).is_err() {
        return;
    }
    let mut out = Vec::new();
    loop {
        let mut guard = hub.lock();
        if let Some(outbox) = outbox {
            lock(outbox).drain_into(sub.stream());
        }
        // A deadline that passed while waiting is handled at its own time,
        // and what it queues counts as written then: after a long wait,
        // every keep-alive due in it goes out, each for its own time.
        let overdue = sub.poll_timeout().filter(|&at| clock.now() >= at);
        if let Some(at) = overdue {
            guard.handle_timeout(sub, at);
            hub.signal_room(&mut guard);
        }
        let now = overdue.unwrap_or_else(|| clock.now());
        out.clear();
        guard.peek_transmit(sub, now, WRITE_BATCH, |b| out.extend_from_slice(b));
        if out.is_empty() {
            if let Some(reason) = sub.closed() {
                log::debug!("stream ended: {reason}");
                return;
            }
            if stop.load(Ordering::Acquire) {
                return;
            }
            let deadline = sub.poll_timeout();
            if deadline.is_some_and(|at| clock.now() >= at) {
                continue;
            }
            let wait = deadline.map_or(IDLE_WAIT, |at| {
                at.saturating_duration_since(clock.now()).min(IDLE_WAIT)
            });
            if hub.wait(guard, wait.max(Duration::from_millis(1))) && client_gone(io) {
                return;
            }
            continue;
        }
        // Write without holding the lock: a slow client must not stall
        // publishers.
        drop(guard);
        match io.write(&out) {
            Ok(0) => return,
            Ok(n) => {
                // Taken when the socket took it (a write that blocked ends
                // later than `now`).
                let mut core = hub.lock();
                core.handle_written(sub, overdue.unwrap_or_else(|| clock.now()));
                hub.signal_room(&mut core);
                drop(core);
                if write_rest(io, &out[n..], hub, sub, clock, stop).is_err() {
                    return;
                }
            }
            Err(e) if timed_out(&e) || e.kind() == io::ErrorKind::Interrupted => {
                // Refused: only such time counts against the subscriber.
                let mut core = hub.lock();
                core.handle_blocked(sub, clock.now());
                let _ = hub.wait(core, RETRY);
            }
            Err(_) => return,
        }
        if stop.load(Ordering::Acquire) {
            return;
        }
    }
}

/// Finishes writing a batch the socket started taking, and flushes. The
/// bytes are committed, so these writes block (the kernel returns as soon
/// as the socket takes more), timing out every [`POLL_STOP`] only to give
/// the stop flag a look, to report the refused time to the hub, and to drop
/// a client that stopped reading (in the middle of the batch) once it
/// refused writes for its lag window and its subscriber lags: it discards
/// the event cut short and resumes from the last one it got whole.
fn write_rest(
    io: &mut dyn Transport,
    rest: &[u8],
    hub: &Hub,
    sub: &mut Subscriber,
    clock: &dyn Clock,
    stop: &AtomicBool,
) -> io::Result<()> {
    io.set_write_timeout(Some(POLL_STOP))?;
    let result = write_committed(io, rest, hub, sub, clock, stop);
    io.set_write_timeout(Some(PROBE))?;
    result
}

/// The loop of [`write_rest`].
fn write_committed(
    io: &mut dyn Transport,
    mut rest: &[u8],
    hub: &Hub,
    sub: &mut Subscriber,
    clock: &dyn Clock,
    stop: &AtomicBool,
) -> io::Result<()> {
    loop {
        let step = match rest {
            [] => io.flush().map(|()| 0),
            _ => io.write(rest),
        };
        match step {
            Ok(0) if rest.is_empty() => return Ok(()),
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                rest = &rest[n..];
                // The client reads: it does not count as blocked.
                let mut core = hub.lock();
                core.handle_written(sub, clock.now());
                hub.signal_room(&mut core);
            }
            Err(e) if timed_out(&e) || e.kind() == io::ErrorKind::Interrupted => {
                let now = clock.now();
                let mut core = hub.lock();
                core.handle_blocked(sub, now);
                if sub.poll_timeout().is_some_and(|at| at <= now) {
                    core.handle_timeout(sub, now);
                    hub.signal_room(&mut core);
                }
                if stop.load(Ordering::Acquire) || core.close_if_lagging(sub) {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
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

/// Reads a request head within [`HEAD_TIMEOUT`], giving up when `stop`
/// is set.
fn read_head(io: &mut dyn Transport, stop: &AtomicBool) -> Option<RequestHead> {
    let _ = io.set_read_timeout(Some(POLL_STOP));
    let until = std::time::Instant::now() + HEAD_TIMEOUT;
    let mut parser = RequestParser::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = match io.read(&mut buf) {
            Ok(0) => return None,
            Ok(n) => n,
            Err(e) if timed_out(&e) || e.kind() == io::ErrorKind::Interrupted => {
                if stop.load(Ordering::Acquire) || std::time::Instant::now() >= until {
                    return None;
                }
                continue;
            }
            Err(_) => return None,
        };
        match parser.handle_bytes(&buf[..n]) {
            Ok(HeadStatus::Complete(head, _)) => return Some(head),
            Ok(HeadStatus::Partial) => {}
            Err(e) => {
                answer(io, &bad_request(&e));
                return None;
            }
        }
    }
}

/// Writes a complete answer, then lingers (see [`LINGER`], in real time).
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
