//! Server fixtures against an adapter's server over loopback sockets.
//!
//! Each subscriber is a real TCP client on 127.0.0.1 that sends a `GET` and
//! reads the response; the adapter serves the server end with its own
//! connection code on the runner's [`VirtualClock`], one thread per
//! connection. After every step the runner waits until the connection is
//! *settled*: the server has read the whole request, the client has read
//! every byte the server wrote (both counted on the server's end), a
//! connection the server ended has reached the client as an end of file,
//! and the server's connection code waits with nothing to do. For the
//! async servers that last part is exact: the runner is the executor (a
//! tiny one per connection) and knows whether the task was woken since it
//! last returned `Pending`. For the blocking server it is the connection
//! thread being asleep in the kernel with no context switch over a short
//! interval (Linux: `/proc/self/task/TID`); elsewhere, a quiet period.
//! Nothing is paced by a reference implementation.
//!
//! Over HTTP/1.1 the adapter adds `Connection: close` (hop-by-hop framing,
//! which the core leaves to adapters); it is left out of the compared head.
//! A request answered with a complete response (a 400 for a request whose
//! body cannot be delimited, a 404) is read as a client does: the body is
//! the subscriber's output, then the client closes its end and the runner
//! waits for the server to close the connection.
//! A `publish` with `repeat` (a burst) *freezes* every connection first:
//! async tasks are not polled and blocking threads block in their next
//! write without timing out (a thread that was not scheduled), so the whole
//! burst is published before any subscriber's code runs; then they thaw.
//! A `pause` makes the server end's writes block (blocking, up to the
//! write timeout the server set, then `WouldBlock` with nothing taken) or
//! stay pending (async), like a full socket; a paused subscriber reads
//! nothing, so it sees its stream end only once it reads again. A
//! `publish` with `to` goes through the sender the adapter's `on_stream`
//! hook handed out for that subscriber (named by [`SUBSCRIBER_HEADER`]). A stream the server ends shows as
//! an end of file; its reason is what the async servers return, and for
//! the blocking server (which returns none) the in-process core's.

use std::collections::BTreeMap;
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sse_core::encode::Message;
use sse_core::http1::{HeadStatus, ResponseParser};
use sse_core::server::CloseReason;

use super::clock::{VirtualClock, SCENARIO_LIMIT};
use crate::server::{
    settings, CaseConfig, Connect, CoreServer, Head, Output, Publish, ServerUnderTest,
};

/// How long a step may take to settle before the runner gives up on it
/// (the fixture's comparison then shows what was missing).
const SETTLE_LIMIT: Duration = Duration::from_secs(5);

/// The request header naming the subscriber a connection is for, so the
/// adapter's `on_stream` hook can file its sender (as an application would
/// by user).
pub const SUBSCRIBER_HEADER: &str = "X-Subscriber";

/// A stream's sender, whichever adapter made it.
type SendFn = Box<dyn Fn(&Message<'_>) -> Result<(), sse_core::server::SendError> + Send>;

/// The senders the adapters' `on_stream` hooks hand out, by subscriber.
#[derive(Clone, Default)]
struct Senders(Arc<Mutex<BTreeMap<String, SendFn>>>);

impl Senders {
    /// Files a stream's sender under the subscriber its request names.
    fn keep(
        &self,
        head: &sse_core::http1::RequestHead,
        send: impl Fn(&Message<'_>) -> Result<(), sse_core::server::SendError> + Send + 'static,
    ) {
        let name = head
            .headers()
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(SUBSCRIBER_HEADER))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned());
        if let Some(name) = name {
            lock(&self.0).insert(name, Box::new(send));
        }
    }

    fn send(&self, to: &str, msg: &Message<'_>) -> Result<(), String> {
        let senders = lock(&self.0);
        let send = senders
            .get(to)
            .ok_or_else(|| format!("no stream for {to}"))?;
        send(msg).map_err(|e| e.to_string())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Blocks writes while paused (a condition variable for threads, wakers
/// for tasks).
#[derive(Default)]
pub struct Pause {
    paused: Mutex<bool>,
    resumed: Condvar,
    wakers: Mutex<Vec<Waker>>,
}

impl Pause {
    fn set(&self, paused: bool) {
        *lock(&self.paused) = paused;
        self.resumed.notify_all();
        for w in std::mem::take(&mut *lock(&self.wakers)) {
            w.wake();
        }
    }

    fn is_paused(&self) -> bool {
        *lock(&self.paused)
    }
}

/// Holds every connection's code still while set (see [the module
/// docs](self)).
#[derive(Default)]
pub struct Frozen {
    frozen: Mutex<bool>,
    thawed: Condvar,
}

impl Frozen {
    fn set(&self, frozen: bool) {
        *lock(&self.frozen) = frozen;
        self.thawed.notify_all();
    }

    /// Blocks while frozen.
    fn wait(&self) {
        let mut frozen = lock(&self.frozen);
        while *frozen {
            frozen = self.thawed.wait(frozen).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// What the runner knows about the server's end of one connection.
#[derive(Default)]
struct ConnState {
    pause: Pause,
    /// Shared by all connections of a server.
    frozen: Arc<Frozen>,
    /// Bytes the server read (the request) and wrote.
    read: AtomicU64,
    written: AtomicU64,
    /// The connection code returned.
    finished: AtomicBool,
    /// Why the server closed the stream, when it says.
    closed: Mutex<Option<CloseReason>>,
    /// The async task's state (see [`TaskWaker`]).
    task: Arc<TaskWaker>,
    /// The blocking server's thread id (Linux).
    tid: Mutex<Option<String>>,
}

/// The server's end of a subscriber's connection for async servers: the
/// runtime's socket, counted, whose writes stay pending while paused.
pub struct PausedIo<T> {
    io: T,
    conn: Arc<ConnState>,
}

impl<T: futures_lite::AsyncRead + Unpin> futures_lite::AsyncRead for PausedIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            this.conn.read.fetch_add(n as u64, Ordering::SeqCst);
        }
        r
    }
}

impl<T: futures_lite::AsyncWrite + Unpin> futures_lite::AsyncWrite for PausedIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let pause = &this.conn.pause;
        if pause.is_paused() {
            lock(&pause.wakers).push(cx.waker().clone());
            if pause.is_paused() {
                return Poll::Pending;
            }
        }
        let r = Pin::new(&mut this.io).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            this.conn.written.fetch_add(n as u64, Ordering::SeqCst);
        }
        r
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_close(cx)
    }
}

/// The server's end of a subscriber's connection for the blocking server.
struct ServerEnd {
    tcp: TcpStream,
    conn: Arc<ConnState>,
    /// The write timeout: a write blocked this long by a pause fails with
    /// `WouldBlock` having taken nothing, as a full socket's does.
    write_timeout: Option<Duration>,
}

impl Read for ServerEnd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.tcp.read(buf)?;
        self.conn.read.fetch_add(n as u64, Ordering::SeqCst);
        Ok(n)
    }
}

impl Write for ServerEnd {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.conn.frozen.wait();
        let pause = &self.conn.pause;
        let mut paused = lock(&pause.paused);
        let until = self.write_timeout.map(|t| Instant::now() + t);
        while *paused {
            paused = match until {
                None => pause.resumed.wait(paused),
                Some(until) => {
                    let left = until.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(io::ErrorKind::WouldBlock.into());
                    }
                    match pause.resumed.wait_timeout(paused, left) {
                        Ok((g, _)) => Ok(g),
                        Err(e) => Ok(e.into_inner().0),
                    }
                }
            }
            .unwrap_or_else(|e| e.into_inner());
        }
        drop(paused);
        let n = self.tcp.write(buf)?;
        self.conn.written.fetch_add(n as u64, Ordering::SeqCst);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

impl sse_blocking::Transport for ServerEnd {
    fn set_read_timeout(&mut self, t: Option<Duration>) -> io::Result<()> {
        self.tcp.set_read_timeout(t)
    }
    fn set_write_timeout(&mut self, t: Option<Duration>) -> io::Result<()> {
        self.write_timeout = t;
        self.tcp.set_write_timeout(t)
    }
}

/// The waker of a connection task run by [`run_task`].
#[derive(Debug)]
struct TaskWaker {
    state: AtomicU8,
    thread: Mutex<Option<std::thread::Thread>>,
}

/// Being polled, or woken: poll (again).
const RUNNING: u8 = 0;
/// Returned `Pending` and not woken since.
const IDLE: u8 = 1;
const WOKEN: u8 = 2;

impl Default for TaskWaker {
    fn default() -> Self {
        TaskWaker {
            state: AtomicU8::new(RUNNING),
            thread: Mutex::new(None),
        }
    }
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.state.store(WOKEN, Ordering::SeqCst);
        if let Some(t) = lock(&self.thread).as_ref() {
            t.unpark();
        }
    }
}

impl TaskWaker {
    fn idle(&self) -> bool {
        self.state.load(Ordering::SeqCst) == IDLE
    }
}

/// A one-task executor that lets the runner see when its task is idle, and
/// polls nothing while `frozen`.
fn run_task<F: Future>(fut: F, task: &Arc<TaskWaker>, frozen: &Frozen) -> F::Output {
    *lock(&task.thread) = Some(std::thread::current());
    let waker = Waker::from(Arc::clone(task));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        frozen.wait();
        task.state.store(RUNNING, Ordering::SeqCst);
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        if task
            .state
            .compare_exchange(RUNNING, IDLE, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            continue; // woken while polled
        }
        while task.state.load(Ordering::SeqCst) == IDLE {
            std::thread::park_timeout(Duration::from_millis(50));
        }
    }
}

/// This thread's id in `/proc/self/task`.
fn thread_id() -> Option<String> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    Some(link.file_name()?.to_string_lossy().into_owned())
}

/// A blocking thread's scheduler state: asleep, and its context switches.
fn sched(tid: &str) -> Option<(bool, String)> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    let state = stat.rsplit_once(") ")?.1.chars().next()?;
    let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")).ok()?;
    let switches: String = status
        .lines()
        .filter(|l| l.contains("ctxt_switches"))
        .collect();
    Some((matches!(state, 'S' | 'D'), switches))
}

/// How long a blocking thread must sleep without running to count as
/// parked: longer than any short wait the blocking server makes on its own
/// (its 1 ms read checking for a gone client), so a thread inside such a
/// wait is not taken for one that has nothing to do.
const PARKED_FOR: Duration = Duration::from_millis(3);

/// Whether a blocking thread sleeps and did not run over [`PARKED_FOR`].
fn thread_parked(tid: &str) -> Option<bool> {
    let (asleep, before) = sched(tid)?;
    if !asleep {
        return Some(false);
    }
    std::thread::sleep(PARKED_FOR);
    let (asleep, after) = sched(tid)?;
    Some(asleep && before == after)
}

struct Sub {
    client: TcpStream,
    conn: Arc<ConnState>,
    /// Bytes of the request the client sent.
    request_len: u64,
    /// Bytes the client read.
    received: u64,
    pending: Vec<u8>,
    eof: bool,
    /// The end was reported (once, in the step it happened).
    close_reported: bool,
    /// A complete answer was read: settled only once the server closed.
    answered: bool,
    thread: Option<JoinHandle<()>>,
}

impl Sub {
    /// Reads what is there without waiting.
    fn read_available(&mut self) {
        let mut buf = [0u8; 16 * 1024];
        let _ = self.client.set_nonblocking(true);
        while !self.eof {
            match self.client.read(&mut buf) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    self.received += n as u64;
                    self.pending.extend_from_slice(&buf[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => self.eof = true,
            }
        }
    }

    /// Whether the server waits with nothing to do and the client has
    /// everything it wrote.
    fn settled(&mut self, quiet_since: &mut Option<Instant>) -> bool {
        let conn = Arc::clone(&self.conn);
        if conn.read.load(Ordering::SeqCst) < self.request_len {
            return false;
        }
        self.read_available();
        let written = conn.written.load(Ordering::SeqCst);
        if self.received < written {
            return false;
        }
        if conn.finished.load(Ordering::SeqCst) {
            return self.eof;
        }
        if self.answered {
            return false;
        }
        if let Some(tid) = lock(&conn.tid).clone() {
            if let Some(parked) = thread_parked(&tid) {
                // Re-check the counters: the thread may have written just
                // before it fell asleep.
                self.read_available();
                return parked && self.received >= conn.written.load(Ordering::SeqCst);
            }
        } else if lock(&conn.task.thread).is_some() {
            // The counters above may predate the task's last poll: re-check
            // them once it is seen idle (it may have written just before).
            if !conn.task.idle() {
                return false;
            }
            self.read_available();
            return self.received >= conn.written.load(Ordering::SeqCst);
        }
        // No way to look at the thread: a quiet period.
        let since = *quiet_since.get_or_insert_with(Instant::now);
        since.elapsed() > Duration::from_millis(20)
    }

    /// Waits until [`Sub::settled`] (or the limit).
    fn settle(&mut self, case_deadline: Instant) {
        let deadline = case_deadline.min(Instant::now() + SETTLE_LIMIT);
        let mut quiet_since = None;
        let mut last = (u64::MAX, u64::MAX);
        while Instant::now() < deadline {
            let counters = (self.received, self.conn.written.load(Ordering::SeqCst));
            if counters != last {
                quiet_since = None;
                last = counters;
            }
            if self.settled(&mut quiet_since) {
                return;
            }
            std::thread::sleep(Duration::from_micros(50));
        }
    }
}

/// How an adapter serves one connection and publishes.
trait Kind {
    /// Serves the server end `tcp` on a thread of its own.
    fn spawn(
        &self,
        tcp: TcpStream,
        conn: Arc<ConnState>,
        clock: VirtualClock,
        stop: Arc<AtomicBool>,
    ) -> JoinHandle<()>;
    /// Publishes to every subscriber if the hub has room: `Ok(false)` when
    /// its backlog is full (nothing published).
    fn publish(&self, msg: &Message<'_>) -> Result<bool, String>;
    /// Lets waiting connections see that time moved.
    fn wake(&self);
}

impl Kind for sse_blocking::Service {
    fn spawn(
        &self,
        tcp: TcpStream,
        conn: Arc<ConnState>,
        clock: VirtualClock,
        stop: Arc<AtomicBool>,
    ) -> JoinHandle<()> {
        let service = self.clone();
        std::thread::spawn(move || {
            *lock(&conn.tid) = thread_id();
            let end = ServerEnd {
                tcp,
                conn: Arc::clone(&conn),
                write_timeout: None,
            };
            sse_blocking::serve_connection(Box::new(end), &service, &clock, &stop);
            conn.finished.store(true, Ordering::SeqCst);
        })
    }
    fn publish(&self, msg: &Message<'_>) -> Result<bool, String> {
        match self.hub.try_publish(msg) {
            Ok(_) => Ok(true),
            Err(sse_core::hub::PublishError::Full) => Ok(false),
            Err(e) => Err(e.to_string()),
        }
    }
    fn wake(&self) {
        self.hub.wake_all();
    }
}

/// An async adapter's server: [`sse_futures::server::serve_connection`] on
/// the runtime's socket type, one thread (and one task) per connection.
struct Async {
    service: Arc<sse_futures::server::Service>,
    runtime: Runtime,
}

/// The async runtimes whose socket types the server runs on.
#[derive(Clone, Copy, Debug)]
pub enum Runtime {
    /// `smol::Async<TcpStream>`.
    Smol,
    /// `async_std::net::TcpStream`.
    AsyncStd,
    /// `tokio::net::TcpStream`, served as `sse-tokio` serves it
    /// ([`sse_tokio::serve_connection`]: HTTP/1.1 requests, as the runner's,
    /// through the shared connection code over tokio's compat layer).
    Tokio,
}

impl Kind for Async {
    fn spawn(
        &self,
        tcp: TcpStream,
        conn: Arc<ConnState>,
        clock: VirtualClock,
        _stop: Arc<AtomicBool>,
    ) -> JoinHandle<()> {
        let (service, runtime) = (Arc::clone(&self.service), self.runtime);
        std::thread::spawn(move || {
            let _ = tcp.set_nonblocking(true);
            let task = Arc::clone(&conn.task);
            let frozen = Arc::clone(&conn.frozen);
            let c = Arc::clone(&conn);
            let ended = match runtime {
                Runtime::Smol => smol::Async::new(tcp).ok().map(|io| {
                    let io = PausedIo { io, conn: c };
                    run_task(
                        sse_futures::server::serve_connection(io, &service, &clock),
                        &task,
                        &frozen,
                    )
                }),
                Runtime::AsyncStd => {
                    let io = PausedIo {
                        io: async_std::net::TcpStream::from(tcp),
                        conn: c,
                    };
                    Some(run_task(
                        sse_futures::server::serve_connection(io, &service, &clock),
                        &task,
                        &frozen,
                    ))
                }
                Runtime::Tokio => {
                    use tokio_util::compat::FuturesAsyncReadCompatExt;
                    let _runtime = super::wire::tokio_runtime().enter();
                    let io = super::wire::tokio_socket(tcp).ok();
                    let served = io.map(|io| {
                        let io = PausedIo { io, conn: c }.compat();
                        let served = sse_tokio::serve_connection(io, service, clock);
                        run_task(served, &task, &frozen)
                    });
                    match served {
                        Some(Ok(sse_tokio::Served::Http1(ended))) => Some(Ok(ended)),
                        Some(Err(e)) => {
                            log::debug!("tokio connection: {e}");
                            None
                        }
                        _ => None,
                    }
                }
            };
            if let Some(Ok(sse_futures::server::Ended::Closed(reason))) = ended {
                *lock(&conn.closed) = Some(reason);
            }
            conn.finished.store(true, Ordering::SeqCst);
        })
    }
    fn publish(&self, msg: &Message<'_>) -> Result<bool, String> {
        match self.service.hub.try_publish(msg) {
            Ok(_) => Ok(true),
            Err(sse_core::hub::PublishError::Full) => Ok(false),
            Err(e) => Err(e.to_string()),
        }
    }
    fn wake(&self) {}
}

/// An adapter's server over loopback, as a [`ServerUnderTest`].
pub struct LoopbackServer {
    /// The core in-process, only for the reason of a stream the blocking
    /// server ends (it does not say).
    reference: CoreServer,
    kind: Box<dyn Kind>,
    clock: VirtualClock,
    now_ms: u64,
    listener: TcpListener,
    subs: BTreeMap<String, Sub>,
    /// Each stream's sender (from the adapter's `on_stream` hook), by the
    /// subscriber named in the request's [`SUBSCRIBER_HEADER`].
    senders: Senders,
    stop: Arc<AtomicBool>,
    /// Holds every connection still during a burst.
    frozen: Arc<Frozen>,
    /// After this the case no longer waits for anything (stuck).
    deadline: Instant,
}

impl LoopbackServer {
    /// The blocking adapter's server ([`sse_blocking::serve_connection`]).
    pub fn blocking(config: &CaseConfig) -> Result<Self, String> {
        let (server_config, limits, backlog) = settings(config)?;
        let hub = sse_blocking::Hub::with_backlog(limits, backlog);
        let mut service = sse_blocking::Service::new(hub, "/events");
        service.config = server_config;
        let senders = Senders::default();
        let kept = senders.clone();
        service.on_stream = Some(Arc::new(move |head, sender: sse_blocking::Sender| {
            kept.keep(head, move |msg| sender.send(msg));
        }));
        LoopbackServer::with(config, Box::new(service), senders)
    }

    /// An async adapter's server on `runtime`'s sockets.
    pub fn of(runtime: Runtime) -> impl Fn(&CaseConfig) -> Result<Self, String> {
        move |config| {
            let (server_config, limits, backlog) = settings(config)?;
            let senders = Senders::default();
            let kept = senders.clone();
            let hub = sse_core::hub::Hub::new(limits).with_backlog(backlog);
            let service = sse_futures::server::Service::new(
                sse_core::endpoint::Endpoint::new("/events"),
                sse_futures::server::SharedHub::from_hub(hub),
            )
            .config(server_config)
            .on_stream(move |head, sender| kept.keep(head, move |msg| sender.send(msg)));
            let kind = Async {
                service: Arc::new(service),
                runtime,
            };
            LoopbackServer::with(config, Box::new(kind), senders)
        }
    }

    fn with(config: &CaseConfig, kind: Box<dyn Kind>, senders: Senders) -> Result<Self, String> {
        let clock = VirtualClock::default();
        clock.at(0);
        Ok(LoopbackServer {
            reference: CoreServer::new(config)?,
            kind,
            clock,
            now_ms: 0,
            listener: TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?,
            subs: BTreeMap::new(),
            senders,
            stop: Arc::default(),
            frozen: Arc::default(),
            deadline: Instant::now() + SCENARIO_LIMIT,
        })
    }

    /// Waits until every connection settled, in turn (a connection that
    /// settles cannot unsettle another: they share only the hub, and
    /// publishes come from the runner).
    fn settle(&mut self) {
        for sub in self.subs.values_mut() {
            sub.settle(self.deadline);
        }
        for sub in self.subs.values_mut() {
            sub.settle(self.deadline);
        }
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.frozen.set(false);
        for sub in self.subs.values_mut() {
            sub.conn.pause.set(false);
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
        let conn = Arc::new(ConnState {
            frozen: Arc::clone(&self.frozen),
            ..ConnState::default()
        });
        let thread = self.kind.spawn(
            server,
            Arc::clone(&conn),
            self.clock.clone(),
            Arc::clone(&self.stop),
        );
        let mut request = format!(
            "GET {} HTTP/1.1\r\nHost: loopback\r\n{SUBSCRIBER_HEADER}: {}\r\n",
            req.target, req.subscriber
        );
        for (name, value) in &req.headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        client
            .write_all(request.as_bytes())
            .map_err(|e| e.to_string())?;
        let mut sub = Sub {
            client,
            conn,
            request_len: request.len() as u64,
            received: 0,
            pending: Vec::new(),
            eof: false,
            close_reported: false,
            answered: false,
            thread: Some(thread),
        };
        // The old connection of a reconnecting subscriber goes on.
        if let Some(mut old) = self.subs.remove(&req.subscriber) {
            let _ = old.client.shutdown(std::net::Shutdown::Both);
            drop(old.thread.take());
        }
        sub.settle(self.deadline);
        let mut parser = ResponseParser::new();
        let head = match parser.handle_bytes(&sub.pending) {
            Ok(HeadStatus::Complete(head, used)) => {
                sub.pending.drain(..used);
                head
            }
            Ok(HeadStatus::Partial) => return Err("no response head".into()),
            Err(e) => return Err(format!("bad response head: {e}")),
        };
        if head.status() != 200 {
            // A complete answer: the client reads it and closes its end, as
            // clients do; the server then closes the connection.
            let _ = sub.client.shutdown(std::net::Shutdown::Write);
            sub.answered = true;
            sub.settle(self.deadline);
        }
        self.subs.insert(req.subscriber.clone(), sub);
        self.settle();
        Ok(Head::from_wire(&head))
    }

    fn publish(&mut self, event: &Publish) -> Result<u64, String> {
        self.reference.publish(event)?;
        let burst = event.count() > 1;
        if burst {
            self.frozen.set(true);
        }
        let mut published = 0;
        for i in 1..=event.count() {
            let data = event.data_of(i);
            let msg = event.message(&data);
            let done = match &event.to {
                Some(to) => self.senders.send(to, &msg).map(|()| true),
                None => self.kind.publish(&msg),
            };
            match done {
                Ok(true) => published += 1,
                Ok(false) => break,
                Err(e) => {
                    self.frozen.set(false);
                    return Err(e);
                }
            }
        }
        self.frozen.set(false);
        self.settle();
        Ok(published)
    }

    fn advance(&mut self, ms: u64) {
        self.reference.advance(ms);
        self.now_ms += ms;
        self.clock.at(self.now_ms);
        self.kind.wake();
        self.settle();
    }

    fn set_paused(&mut self, subscriber: &str, paused: bool) {
        self.reference.set_paused(subscriber, paused);
        if let Some(sub) = self.subs.get(subscriber) {
            sub.conn.pause.set(paused);
        }
        self.settle();
    }

    fn disconnect(&mut self, subscriber: &str) {
        self.reference.disconnect(subscriber);
        if let Some(mut sub) = self.subs.remove(subscriber) {
            let _ = sub.client.shutdown(std::net::Shutdown::Both);
            // The server notices at its next write; do not wait for it.
            drop(sub.thread.take());
        }
        self.settle();
    }

    fn take_output(&mut self, subscriber: &str) -> Output {
        let want = self.reference.take_output(subscriber);
        let Some(sub) = self.subs.get_mut(subscriber) else {
            return Output::default();
        };
        sub.settle(self.deadline);
        // A paused subscriber reads nothing, so it sees an end only once it
        // reads again (a server may notice it lags while it is paused).
        let seen = sub.eof && !sub.conn.pause.is_paused();
        let closed = (seen && !sub.close_reported).then(|| {
            let reason = *lock(&sub.conn.closed);
            match reason {
                Some(CloseReason::Lagged) => "lagged".into(),
                Some(_) => "finished".into(),
                None => want.closed.clone().unwrap_or_else(|| "finished".into()),
            }
        });
        sub.close_reported |= closed.is_some();
        Output {
            bytes: std::mem::take(&mut sub.pending),
            closed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// A blocking server that, for each publish, writes the event, works
    /// for a while, then writes a stray comment: the runner must wait for
    /// it (a quiet period of a few ms would not).
    struct Late(Mutex<Vec<mpsc::Sender<String>>>);

    impl Kind for Late {
        fn spawn(
            &self,
            tcp: TcpStream,
            conn: Arc<ConnState>,
            _: VirtualClock,
            stop: Arc<AtomicBool>,
        ) -> JoinHandle<()> {
            let (tx, rx) = mpsc::channel::<String>();
            lock(&self.0).push(tx);
            std::thread::spawn(move || {
                *lock(&conn.tid) = thread_id();
                let mut end = ServerEnd {
                    tcp,
                    conn: Arc::clone(&conn),
                    write_timeout: None,
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.ends_with(b"\r\n\r\n") {
                    match end.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n";
                let _ = end.write_all(head.as_bytes());
                while !stop.load(Ordering::SeqCst) {
                    let Ok(data) = rx.recv_timeout(Duration::from_millis(10)) else {
                        continue;
                    };
                    let _ = end.write_all(format!("data: {data}\n\n").as_bytes());
                    let busy = Instant::now();
                    while busy.elapsed() < Duration::from_millis(30) {
                        std::hint::spin_loop();
                    }
                    let _ = end.write_all(b":\n");
                }
                conn.finished.store(true, Ordering::SeqCst);
            })
        }
        fn publish(&self, msg: &Message<'_>) -> Result<bool, String> {
            for tx in lock(&self.0).iter() {
                let _ = tx.send(msg.data.to_string());
            }
            Ok(true)
        }
        fn wake(&self) {}
    }

    #[test]
    fn late_bytes_belong_to_the_step_that_caused_them() {
        if thread_id().is_none() {
            return; // no /proc: the runner falls back to a quiet period
        }
        let kind = Box::new(Late(Mutex::default()));
        let mut server =
            LoopbackServer::with(&CaseConfig::default(), kind, Senders::default()).unwrap();
        let connect: Connect =
            serde_json::from_str(r#"{"subscriber": "a"}"#).expect("connect step");
        let head = server.connect(&connect).unwrap();
        assert_eq!(head.status, 200);
        assert_eq!(server.take_output("a").bytes, b"");
        let publish: Publish = serde_json::from_str(r#"{"data": "x"}"#).expect("publish step");
        server.publish(&publish).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&server.take_output("a").bytes),
            "data: x\n\n:\n"
        );
    }
}
