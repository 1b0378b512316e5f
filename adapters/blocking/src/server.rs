//! A threaded event stream server: one thread accepts, one thread per
//! connection writes.
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
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use bytes::BytesMut;
use sse_core::encode::{EncodeError, Message};
use sse_core::endpoint::{Endpoint, Route};
use sse_core::http1::{HeadStatus, RequestHead, RequestParser};
use sse_core::replay::LogLimits;
use sse_core::server::Config;

use crate::client::timed_out;
use crate::clock::{Clock, SystemClock};
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

/// A broadcast hub shared by connection threads. Cheap to clone.
#[derive(Clone, Default)]
pub struct Hub(Arc<Shared>);

#[derive(Default)]
struct Shared {
    hub: Mutex<sse_core::hub::Hub>,
    changed: Condvar,
}

impl Hub {
    /// A hub keeping `limits` of events for resume by `Last-Event-ID`.
    pub fn new(limits: LogLimits) -> Self {
        Hub(Arc::new(Shared {
            hub: Mutex::new(sse_core::hub::Hub::new(limits)),
            changed: Condvar::new(),
        }))
    }

    /// Publishes to every subscriber; returns the event's sequence number
    /// (also its ID when it has none).
    pub fn publish(&self, msg: &Message<'_>) -> Result<u64, EncodeError> {
        let seq = self.lock().publish(msg)?;
        self.wake_all();
        Ok(seq)
    }

    /// Publishes any `serde::Serialize` value as JSON data.
    #[cfg(feature = "json")]
    pub fn publish_json<T: serde::Serialize + ?Sized>(
        &self,
        event: Option<&str>,
        id: Option<&str>,
        value: &T,
    ) -> Result<u64, sse_core::json::JsonError> {
        let seq = self.lock().publish_json(event, id, value)?;
        self.wake_all();
        Ok(seq)
    }

    /// Wakes every waiting connection thread so it re-checks its subscriber
    /// and its deadline (`clock.now() >= deadline`). A publish does this; a
    /// test driving a virtual [`Clock`] does it after moving time.
    pub fn wake_all(&self) {
        self.0.changed.notify_all();
    }

    fn lock(&self) -> MutexGuard<'_, sse_core::hub::Hub> {
        self.0.hub.lock().unwrap_or_else(|e| e.into_inner())
    }
}

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
        let (guard, waited) = hub
            .0
            .changed
            .wait_timeout(guard, wait.max(Duration::from_millis(1)))
            .unwrap_or_else(|e| e.into_inner());
        drop(guard);
        if waited.timed_out() && client_gone(&mut *io) {
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

/// A running [`serve`]: its address, its live connections, its shutdown.
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    live: Arc<AtomicUsize>,
    accept: Option<JoinHandle<()>>,
    hub: Hub,
}

impl ServerHandle {
    /// The bound address (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many connection threads are running.
    pub fn connections(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    /// Stops accepting, ends every connection and waits for all threads.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.hub.wake_all();
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Serves `service` on `listener`: a thread accepts, a thread per
/// connection streams. `tls` wraps each connection in rustls.
pub fn serve(
    listener: TcpListener,
    service: Service,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> io::Result<ServerHandle> {
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let stop = Arc::new(AtomicBool::new(false));
    let live = Arc::new(AtomicUsize::new(0));
    let hub = service.hub.clone();
    let (stop2, live2) = (Arc::clone(&stop), Arc::clone(&live));
    let accept = thread::Builder::new()
        .name("sse-accept".into())
        .spawn(move || {
            let mut workers: Vec<(JoinHandle<()>, TcpStream)> = Vec::new();
            while !stop2.load(Ordering::Acquire) {
                workers.retain(|(w, _)| !w.is_finished());
                let tcp = match listener.accept() {
                    Ok((tcp, _)) => tcp,
                    Err(e) if timed_out(&e) => {
                        thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                    Err(e) => {
                        log::warn!("accept failed: {e}");
                        thread::sleep(Duration::from_millis(100));
                        continue;
                    }
                };
                let Ok(handle) = tcp.try_clone() else {
                    continue;
                };
                let _ = tcp.set_nonblocking(false);
                let _ = tcp.set_nodelay(true);
                let (service, stop, live, tls) = (
                    service.clone(),
                    Arc::clone(&stop2),
                    Arc::clone(&live2),
                    tls.clone(),
                );
                live.fetch_add(1, Ordering::AcqRel);
                let worker = thread::spawn(move || {
                    let io: Option<Box<dyn Transport>> = match tls {
                        None => Some(Box::new(tcp)),
                        Some(config) => rustls::ServerConnection::new(config).ok().map(|c| {
                            Box::new(rustls::StreamOwned::new(c, tcp)) as Box<dyn Transport>
                        }),
                    };
                    if let Some(io) = io {
                        serve_connection(io, &service, &SystemClock::default(), &stop);
                    }
                    live.fetch_sub(1, Ordering::AcqRel);
                });
                workers.push((worker, handle));
            }
            // Unblock threads stuck writing to slow clients, then wait for all.
            for (worker, tcp) in workers {
                let _ = tcp.shutdown(std::net::Shutdown::Both);
                let _ = worker.join();
            }
        })?;
    Ok(ServerHandle {
        addr,
        stop,
        live,
        accept: Some(accept),
        hub,
    })
}
