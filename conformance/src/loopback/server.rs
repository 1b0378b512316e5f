//! Server fixtures against an adapter's server over loopback sockets.
//!
//! Each subscriber is a real TCP client on 127.0.0.1 that sends a `GET` and
//! reads the response; the adapter serves the server end with its own
//! connection code on the runner's [`VirtualClock`]. The in-process
//! [`CoreServer`] runs alongside as the reference for *how many* bytes to
//! wait for after each step (the fixture still decides whether they are
//! right); a short grace period then catches any extra bytes.
//!
//! Over HTTP/1.1 the adapter adds `Connection: close` (hop-by-hop framing,
//! which the core leaves to adapters); it is left out of the compared head.
//! A `pause` makes the server end's writes block, like a full socket. A
//! stream the server ends shows as an end of file; its reason is the
//! reference's when there is one.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sse_core::encode::Message;
use sse_core::http1::{HeadStatus, ResponseParser};

use super::clock::VirtualClock;
use crate::server::{
    settings, CaseConfig, Connect, CoreServer, Head, Output, Publish, ServerUnderTest,
};

/// How long to wait for bytes the reference says are due.
const DUE: Duration = Duration::from_secs(3);
/// How long to keep reading for bytes beyond them.
const GRACE: Duration = Duration::from_millis(3);

/// Fixtures that assume a transport which is asked before each write
/// whether it can take more: an adapter over a socket writes the event it
/// took while the peer was paused once the peer resumes, so what follows a
/// `pause` differs by that one event.
pub const NEEDS_WRITE_READINESS: &[&str] = &[
    "keep-alive-not-sent-while-busy",
    "slow-subscriber-disconnect",
    "slow-subscriber-skip-ahead",
];

/// Why a fixture does not run against the adapters' servers over
/// sockets, if it does not.
pub fn skip_reason(case: &str) -> Option<&'static str> {
    if NEEDS_WRITE_READINESS.contains(&case) {
        return Some("assumes writes are offered only when the socket can take them; a socket server writes the event it holds once the paused peer resumes");
    }
    if case == "send-to-one-subscriber" {
        return Some(
            "the adapters' servers stream hub subscriptions and have no per-subscriber send",
        );
    }
    None
}

/// Blocks writes while paused (a condition variable for threads, wakers
/// for tasks).
#[derive(Default)]
pub struct Pause {
    paused: Mutex<bool>,
    resumed: Condvar,
    wakers: Mutex<Vec<std::task::Waker>>,
}

impl Pause {
    fn set(&self, paused: bool) {
        *self.paused.lock().unwrap_or_else(|e| e.into_inner()) = paused;
        self.resumed.notify_all();
        for w in std::mem::take(&mut *self.wakers.lock().unwrap_or_else(|e| e.into_inner())) {
            w.wake();
        }
    }

    fn is_paused(&self) -> bool {
        *self.paused.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The server's end of a subscriber's connection for async servers: the
/// runtime's socket, whose writes stay pending while paused.
pub struct PausedIo<T> {
    io: T,
    pause: Arc<Pause>,
}

impl<T: futures_lite::AsyncRead + Unpin> futures_lite::AsyncRead for PausedIo<T> {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut [u8],
    ) -> std::task::Poll<io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: futures_lite::AsyncWrite + Unpin> futures_lite::AsyncWrite for PausedIo<T> {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.pause.is_paused() {
            this.pause
                .wakers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(cx.waker().clone());
            if this.pause.is_paused() {
                return std::task::Poll::Pending;
            }
        }
        std::pin::Pin::new(&mut this.io).poll_write(cx, buf)
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }
    fn poll_close(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().io).poll_close(cx)
    }
}

/// The server's end of a subscriber's connection.
struct ServerEnd {
    tcp: TcpStream,
    pause: Arc<Pause>,
}

impl Read for ServerEnd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.tcp.read(buf)
    }
}

impl Write for ServerEnd {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut paused = self.pause.paused.lock().unwrap_or_else(|e| e.into_inner());
        while *paused {
            paused = self
                .pause
                .resumed
                .wait(paused)
                .unwrap_or_else(|e| e.into_inner());
        }
        drop(paused);
        self.tcp.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

impl sse_blocking::Transport for ServerEnd {
    fn set_read_timeout(&mut self, t: Option<Duration>) -> io::Result<()> {
        self.tcp.set_read_timeout(t)
    }
}

struct Sub {
    client: TcpStream,
    pause: Arc<Pause>,
    pending: Vec<u8>,
    eof: bool,
    thread: Option<JoinHandle<()>>,
}

impl Sub {
    /// Reads until `want` bytes are pending or `limit` passes.
    fn read_until(&mut self, want: usize, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut buf = [0u8; 16 * 1024];
        while !self.eof && self.pending.len() < want {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            let _ = self.client.set_read_timeout(Some(left));
            match self.client.read(&mut buf) {
                Ok(0) => self.eof = true,
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return
                }
                Err(_) => self.eof = true,
            }
        }
    }
}

/// How an adapter serves one connection and publishes.
trait Kind {
    /// Serves the server end `tcp` on a thread of its own.
    fn spawn(
        &self,
        tcp: TcpStream,
        pause: Arc<Pause>,
        clock: VirtualClock,
        stop: Arc<AtomicBool>,
    ) -> JoinHandle<()>;
    /// Publishes to every subscriber.
    fn publish(&self, msg: &Message<'_>) -> Result<(), String>;
    /// Lets waiting connections see that time moved.
    fn wake(&self);
}

impl Kind for sse_blocking::Service {
    fn spawn(
        &self,
        tcp: TcpStream,
        pause: Arc<Pause>,
        clock: VirtualClock,
        stop: Arc<AtomicBool>,
    ) -> JoinHandle<()> {
        let service = self.clone();
        std::thread::spawn(move || {
            let end = ServerEnd { tcp, pause };
            sse_blocking::serve_connection(Box::new(end), &service, &clock, &stop);
        })
    }
    fn publish(&self, msg: &Message<'_>) -> Result<(), String> {
        self.hub.publish(msg).map(drop).map_err(|e| e.to_string())
    }
    fn wake(&self) {
        self.hub.wake_all();
    }
}

/// An async adapter's server: [`sse_futures::server::serve_connection`] on
/// the runtime's socket type, one thread per connection.
struct Async {
    hub: sse_futures::server::SharedHub,
    endpoint: sse_core::endpoint::Endpoint,
    config: sse_core::server::Config,
    runtime: Runtime,
}

/// The async runtimes whose socket types the server runs on.
#[derive(Clone, Copy, Debug)]
pub enum Runtime {
    /// `smol::Async<TcpStream>`.
    Smol,
    /// `async_std::net::TcpStream`.
    AsyncStd,
}

impl Kind for Async {
    fn spawn(
        &self,
        tcp: TcpStream,
        pause: Arc<Pause>,
        clock: VirtualClock,
        _stop: Arc<AtomicBool>,
    ) -> JoinHandle<()> {
        let (hub, endpoint, config, runtime) = (
            self.hub.clone(),
            self.endpoint.clone(),
            self.config.clone(),
            self.runtime,
        );
        std::thread::spawn(move || {
            let _ = tcp.set_nonblocking(true);
            match runtime {
                Runtime::Smol => {
                    let Ok(io) = smol::Async::new(tcp) else {
                        return;
                    };
                    let io = PausedIo { io, pause };
                    let _ = smol::block_on(sse_futures::server::serve_connection(
                        io, &endpoint, &hub, config, &clock, None,
                    ));
                }
                Runtime::AsyncStd => {
                    let io = PausedIo {
                        io: async_std::net::TcpStream::from(tcp),
                        pause,
                    };
                    let _ = async_std::task::block_on(sse_futures::server::serve_connection(
                        io, &endpoint, &hub, config, &clock, None,
                    ));
                }
            }
        })
    }
    fn publish(&self, msg: &Message<'_>) -> Result<(), String> {
        self.hub.publish(msg).map(drop).map_err(|e| e.to_string())
    }
    fn wake(&self) {}
}

/// An adapter's server over loopback, as a [`ServerUnderTest`].
pub struct LoopbackServer {
    reference: CoreServer,
    kind: Box<dyn Kind>,
    clock: VirtualClock,
    now_ms: u64,
    listener: TcpListener,
    subs: BTreeMap<String, Sub>,
    stop: Arc<AtomicBool>,
}

impl LoopbackServer {
    /// The blocking adapter's server ([`sse_blocking::serve_connection`]).
    pub fn blocking(config: &CaseConfig) -> Result<Self, String> {
        let (server_config, limits) = settings(config)?;
        let mut service = sse_blocking::Service::new(sse_blocking::Hub::new(limits), "/events");
        service.config = server_config;
        LoopbackServer::with(config, Box::new(service))
    }

    /// An async adapter's server on `runtime`'s sockets.
    pub fn of(runtime: Runtime) -> impl Fn(&CaseConfig) -> Result<Self, String> {
        move |config| {
            let (server_config, limits) = settings(config)?;
            let kind = Async {
                hub: sse_futures::server::SharedHub::new(limits),
                endpoint: sse_core::endpoint::Endpoint::new("/events"),
                config: server_config,
                runtime,
            };
            LoopbackServer::with(config, Box::new(kind))
        }
    }

    fn with(config: &CaseConfig, kind: Box<dyn Kind>) -> Result<Self, String> {
        let clock = VirtualClock::default();
        clock.at(0);
        Ok(LoopbackServer {
            reference: CoreServer::new(config)?,
            kind,
            clock,
            now_ms: 0,
            listener: TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?,
            subs: BTreeMap::new(),
            stop: Arc::default(),
        })
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        for sub in self.subs.values_mut() {
            sub.pause.set(false);
            let _ = sub.client.shutdown(std::net::Shutdown::Both);
        }
        self.kind.wake();
        for sub in self.subs.values_mut() {
            if let Some(t) = sub.thread.take() {
                let _ = t.join();
            }
        }
    }
}

impl ServerUnderTest for LoopbackServer {
    fn connect(&mut self, req: &Connect) -> Result<Head, String> {
        self.reference.connect(req)?;
        let addr = self.listener.local_addr().map_err(|e| e.to_string())?;
        let mut client = TcpStream::connect(addr).map_err(|e| e.to_string())?;
        let (server, _) = self.listener.accept().map_err(|e| e.to_string())?;
        let pause = Arc::new(Pause::default());
        let thread = self.kind.spawn(
            server,
            Arc::clone(&pause),
            self.clock.clone(),
            Arc::clone(&self.stop),
        );
        let mut request = format!("GET {} HTTP/1.1\r\nHost: loopback\r\n", req.target);
        for (name, value) in &req.headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        client
            .write_all(request.as_bytes())
            .map_err(|e| e.to_string())?;
        let mut sub = Sub {
            client,
            pause,
            pending: Vec::new(),
            eof: false,
            thread: Some(thread),
        };
        let mut parser = ResponseParser::new();
        let deadline = Instant::now() + DUE;
        let head = loop {
            sub.read_until(
                sub.pending.len() + 1,
                deadline.saturating_duration_since(Instant::now()),
            );
            match parser.handle_bytes(&sub.pending) {
                Ok(HeadStatus::Complete(head, used)) => {
                    sub.pending.drain(..used);
                    break head;
                }
                Ok(HeadStatus::Partial) => {
                    // The parser keeps what it took.
                    sub.pending.clear();
                    if sub.eof || Instant::now() > deadline {
                        return Err("no response head".into());
                    }
                }
                Err(e) => return Err(format!("bad response head: {e}")),
            }
        };
        self.subs.insert(req.subscriber.clone(), sub);
        Ok(Head {
            status: head.status(),
            headers: head
                .headers()
                .iter()
                .filter(|(n, _)| !n.eq_ignore_ascii_case("connection"))
                .map(|(n, v)| (canonical(n), String::from_utf8_lossy(v).into_owned()))
                .collect(),
        })
    }

    fn publish(&mut self, event: &Publish) -> Result<(), String> {
        if event.to.is_some() {
            return Err("the adapters' servers have no per-subscriber send".into());
        }
        self.reference.publish(event)?;
        let data = event.data_text();
        let msg = Message {
            id: event.id.as_deref(),
            event: event.event.as_deref(),
            data: &data,
            retry: None,
        };
        self.kind.publish(&msg)
    }

    fn advance(&mut self, ms: u64) {
        self.reference.advance(ms);
        self.now_ms += ms;
        self.clock.at(self.now_ms);
        self.kind.wake();
    }

    fn set_paused(&mut self, subscriber: &str, paused: bool) {
        self.reference.set_paused(subscriber, paused);
        if let Some(sub) = self.subs.get(subscriber) {
            sub.pause.set(paused);
        }
    }

    fn disconnect(&mut self, subscriber: &str) {
        self.reference.disconnect(subscriber);
        if let Some(mut sub) = self.subs.remove(subscriber) {
            let _ = sub.client.shutdown(std::net::Shutdown::Both);
            // The server notices at its next write; do not wait for it.
            drop(sub.thread.take());
        }
    }

    fn take_output(&mut self, subscriber: &str) -> Output {
        let want = self.reference.take_output(subscriber);
        let Some(sub) = self.subs.get_mut(subscriber) else {
            return Output::default();
        };
        sub.read_until(want.bytes.len(), DUE);
        sub.read_until(sub.pending.len() + 1, GRACE);
        if want.closed.is_some() {
            sub.read_until(usize::MAX, DUE);
        }
        let closed = sub
            .eof
            .then(|| want.closed.clone().unwrap_or_else(|| "finished".into()));
        Output {
            bytes: std::mem::take(&mut sub.pending),
            closed,
        }
    }
}

/// `content-type` → `Content-Type`, as the fixtures write header names.
fn canonical(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper { c.to_ascii_uppercase() } else { c });
        upper = c == '-';
    }
    if out.eq_ignore_ascii_case("last-event-id") {
        return "Last-Event-ID".into();
    }
    if out == "X-Accel-Buffering" {
        return out;
    }
    out
}
