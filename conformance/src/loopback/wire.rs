//! The sockets of a loopback run: the client's end (counted, so the runner
//! knows when every byte has been read), the connector every adapter gets,
//! and the scripted server's end.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_lite::{AsyncRead, AsyncWrite};
use sse_core::client::TransportError;
use sse_core::url::Url;

use super::clock::{VirtualClock, Woke};

/// What the client's end of one connection has done.
#[derive(Debug, Default)]
pub struct Stats {
    /// Counted at the HTTP level, for a client that reads through an HTTP
    /// library whose socket the runner cannot see (sse-reqwest, see
    /// [`LoopConnector::expect`]): `read` is body bytes after decoding and
    /// `head` says the response head arrived. Otherwise `read` is bytes off
    /// the socket.
    pub http: bool,
    /// An HTTP-level client has the response head.
    pub head: AtomicBool,
    /// Bytes the client has read.
    pub read: AtomicU64,
    /// The client saw the end (a zero read or an error).
    pub ended: AtomicBool,
    /// The client dropped the connection.
    pub dropped: AtomicBool,
    /// The task that last found nothing to read on a plain std socket
    /// (which has no reactor): the runner wakes it when bytes are due.
    pub waker: Mutex<Option<std::task::Waker>>,
}

impl Stats {
    /// Wakes the task waiting to read, if any.
    pub fn wake(&self) {
        if let Some(w) = self.waker.lock().ok().and_then(|mut w| w.take()) {
            w.wake();
        }
    }
}

/// The client's end: a non-blocking TCP stream that counts what is read.
///
/// For a blocking driver on its own thread ([`LoopConnector::blocking`])
/// a read blocks on the [`VirtualClock`] until bytes or the end arrive, or
/// until virtual time passes the read timeout the driver set (then it
/// fails with `WouldBlock`, as a timed-out socket read does), or the runner
/// pokes the thread for a user action (the same `WouldBlock`, early).
#[derive(Debug)]
pub struct ClientEnd {
    tcp: TcpStream,
    stats: Arc<Stats>,
    /// Blocking reads on this clock, with this timeout.
    waits: Option<(VirtualClock, Option<Duration>)>,
}

impl ClientEnd {
    fn read_now(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = self.tcp.read(buf);
        let busy = || {
            if let Some((clock, _)) = &self.waits {
                clock.unpark();
            }
        };
        match &r {
            Ok(0) => {
                busy();
                self.stats.ended.store(true, Ordering::SeqCst)
            }
            Ok(n) => {
                busy();
                self.stats.read.fetch_add(*n as u64, Ordering::SeqCst);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => {
                busy();
                self.stats.ended.store(true, Ordering::SeqCst)
            }
        }
        r
    }
}

impl Read for ClientEnd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some((clock, timeout)) = self.waits.clone() else {
            return self.read_now(buf);
        };
        let deadline = timeout.map(|t| clock.now() + t);
        loop {
            match self.read_now(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                r => return r,
            }
            // A peek that fails (a reset) reports the error once: keep it
            // for the read.
            let tcp = &self.tcp;
            let error = std::cell::Cell::new(None);
            let ready = || {
                let mut probe = [0u8; 1];
                match tcp.peek(&mut probe) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => false,
                    Err(e) => {
                        error.set(Some(e));
                        true
                    }
                    Ok(_) => true,
                }
            };
            if clock.block_until(deadline, ready) != Woke::Ready {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            if let Some(e) = error.take() {
                clock.unpark();
                self.stats.ended.store(true, Ordering::SeqCst);
                return Err(e);
            }
        }
    }
}

impl Write for ClientEnd {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tcp.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

impl Drop for ClientEnd {
    fn drop(&mut self) {
        self.stats.dropped.store(true, Ordering::Release);
    }
}

impl sse_blocking::Transport for ClientEnd {
    /// Bounds blocking reads in virtual time; without virtual waits reads
    /// never block.
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        if let Some((_, t)) = &mut self.waits {
            *t = timeout;
        }
        Ok(())
    }
}

fn pending_on_would_block<T>(r: io::Result<T>) -> Poll<io::Result<T>> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Poll::Pending,
        r => Poll::Ready(r),
    }
}

impl AsyncRead for ClientEnd {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Ok(mut w) = this.stats.waker.lock() {
            *w = Some(cx.waker().clone());
        }
        pending_on_would_block(this.read_now(buf))
    }
}

impl AsyncWrite for ClientEnd {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        pending_on_would_block(self.get_mut().write(buf))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The client's end over a runtime's own socket type (smol's
/// `Async<TcpStream>`, async-std's `TcpStream`), counted like [`ClientEnd`].
#[derive(Debug)]
pub struct RuntimeEnd<T> {
    io: T,
    stats: Arc<Stats>,
}

impl<T> Drop for RuntimeEnd<T> {
    fn drop(&mut self) {
        self.stats.dropped.store(true, Ordering::Release);
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for RuntimeEnd<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_read(cx, buf);
        match &r {
            Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => {
                this.stats.ended.store(true, Ordering::Release)
            }
            Poll::Ready(Ok(n)) => {
                this.stats.read.fetch_add(*n as u64, Ordering::AcqRel);
            }
            Poll::Pending => {}
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for RuntimeEnd<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_close(cx)
    }
}

/// A [`LoopConnector`] that hands out the runtime's socket type `T`, made
/// from the connected std socket by `wrap`.
pub struct RuntimeConnector<T> {
    inner: LoopConnector,
    wrap: fn(TcpStream) -> io::Result<T>,
}

impl<T> RuntimeConnector<T> {
    /// Wraps `inner`'s connections with `wrap`.
    pub fn new(inner: LoopConnector, wrap: fn(TcpStream) -> io::Result<T>) -> Self {
        RuntimeConnector { inner, wrap }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> sse_futures::Connector
    for RuntimeConnector<T>
{
    type Io = RuntimeEnd<T>;
    fn connect(
        &self,
        url: &Url,
    ) -> sse_futures::BoxFuture<Result<RuntimeEnd<T>, sse_futures::ConnectError>> {
        let (attempt, refuse) = self.inner.next_attempt(url);
        if let Some(wait) = refuse {
            return self.inner.refuse_later(wait);
        }
        let r = self.inner.open(attempt, url).and_then(|(tcp, stats)| {
            Ok(RuntimeEnd {
                io: (self.wrap)(tcp)?,
                stats,
            })
        });
        Box::pin(std::future::ready(
            r.map_err(sse_futures::ConnectError::from),
        ))
    }
}

/// A connection the client opened, waiting for the server to accept it.
#[derive(Debug)]
pub struct Opened {
    /// The client's attempt number, from 0 (refused ones count).
    pub attempt: usize,
    /// The URL the client asked for.
    pub url: String,
    /// Its client end's counters.
    pub stats: Arc<Stats>,
}

/// An attempt the connector refused for real.
#[derive(Debug)]
pub struct Refused {
    /// The client's attempt number, from 0.
    pub attempt: usize,
    /// The URL the client asked for.
    pub url: String,
}

/// Attempts the connector refuses for real, by number: after how many
/// virtual ms (the script's waits before its `refuse`).
#[derive(Clone, Debug, Default)]
pub struct Refusals {
    /// Per attempt: `Some(wait_ms)` to refuse it.
    pub plan: Vec<Option<u64>>,
    /// An address nothing listens on.
    pub closed: Option<SocketAddr>,
}

/// Connects every URL (whatever its host) to the runner's listener.
#[derive(Clone, Debug)]
pub struct LoopConnector {
    addr: SocketAddr,
    opened: Arc<Mutex<VecDeque<Opened>>>,
    newest: Arc<Mutex<Option<Arc<Stats>>>>,
    waits: Option<VirtualClock>,
    attempts: Arc<std::sync::atomic::AtomicUsize>,
    refusals: Arc<Refusals>,
    refused: Arc<Mutex<VecDeque<Refused>>>,
    /// The clock refusals wait on.
    clock: Option<VirtualClock>,
}

impl LoopConnector {
    /// A connector to `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        LoopConnector {
            addr,
            opened: Arc::default(),
            newest: Arc::default(),
            waits: None,
            attempts: Arc::default(),
            refusals: Arc::default(),
            refused: Arc::default(),
            clock: None,
        }
    }

    /// The same connector, refusing attempts for real as `refusals` says:
    /// after the virtual wait, a connect to a port nothing listens on.
    pub fn refusing(self, refusals: Refusals, clock: VirtualClock) -> Self {
        LoopConnector {
            refusals: Arc::new(refusals),
            clock: Some(clock),
            ..self
        }
    }

    /// Attempts refused for real, oldest first.
    pub fn take_refused(&self) -> Option<Refused> {
        self.refused.lock().ok()?.pop_front()
    }

    /// The next attempt's number and, if it is to be refused, after how
    /// many virtual ms.
    fn next_attempt(&self, url: &Url) -> (usize, Option<u64>) {
        let n = self.attempts.fetch_add(1, Ordering::SeqCst);
        let refuse = self.refusals.plan.get(n).copied().flatten();
        // The attempt is made now, whenever it fails.
        if refuse.is_some() {
            if let Ok(mut q) = self.refused.lock() {
                q.push_back(Refused {
                    attempt: n,
                    url: url.as_str().into(),
                });
            }
        }
        (n, refuse)
    }

    /// Refuses an attempt for real (the wait is done).
    fn refuse(&self) -> io::Error {
        match self.refusals.closed {
            Some(addr) => match TcpStream::connect(addr) {
                Ok(_) => io::Error::other("a closed port accepted"),
                Err(e) => e,
            },
            None => io::ErrorKind::ConnectionRefused.into(),
        }
    }

    /// The same connector for a blocking driver on a thread of its own:
    /// its connections' reads block on `clock` (see [`ClientEnd`]).
    pub fn blocking(&self, clock: VirtualClock) -> Self {
        LoopConnector {
            waits: Some(clock),
            ..self.clone()
        }
    }

    /// An async connect that is refused after `wait` virtual ms.
    fn refuse_later<T: Send + 'static>(
        &self,
        wait: u64,
    ) -> sse_futures::BoxFuture<Result<T, sse_futures::ConnectError>> {
        let this = self.clone();
        let sleep = (wait > 0).then(|| {
            let clock = self.clock.clone().unwrap_or_default();
            let deadline = clock.now() + Duration::from_millis(wait);
            sse_futures::Timer::sleep_until(&clock, deadline)
        });
        Box::pin(async move {
            if let Some(sleep) = sleep {
                sleep.await;
            }
            Err(sse_futures::ConnectError::from(this.refuse()))
        })
    }

    /// The address every connection goes to: the runner's listener.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Registers a connection that an HTTP library opens by itself, with
    /// the runner as its proxy: the next accepted connection is this
    /// attempt's, for `url`. Its client counts at the HTTP level (see
    /// [`Stats::http`]) on the counters returned.
    pub fn expect(&self, url: &str) -> Arc<Stats> {
        let attempt = self.attempts.fetch_add(1, Ordering::SeqCst);
        let stats = Stats {
            http: true,
            ..Stats::default()
        };
        self.register(attempt, url, stats)
    }

    /// Whether the newest connection is still up on the client's side.
    pub fn live(&self) -> bool {
        self.newest
            .lock()
            .ok()
            .and_then(|s| s.clone())
            .is_some_and(|s| !s.dropped.load(Ordering::SeqCst) && !s.ended.load(Ordering::SeqCst))
    }

    /// Connections opened and not yet taken by the server, oldest first.
    pub fn take_opened(&self) -> Option<Opened> {
        self.opened.lock().ok()?.pop_front()
    }

    /// How many opened connections wait for the server.
    pub fn waiting(&self) -> usize {
        self.opened.lock().map_or(0, |q| q.len())
    }

    fn open(&self, attempt: usize, url: &Url) -> io::Result<(TcpStream, Arc<Stats>)> {
        let tcp = TcpStream::connect(self.addr)?;
        tcp.set_nonblocking(true)?;
        let _ = tcp.set_nodelay(true);
        Ok((tcp, self.register(attempt, url.as_str(), Stats::default())))
    }

    /// Queues a connection for the server to accept; it is the newest.
    fn register(&self, attempt: usize, url: &str, stats: Stats) -> Arc<Stats> {
        let stats = Arc::new(stats);
        if let Ok(mut newest) = self.newest.lock() {
            *newest = Some(Arc::clone(&stats));
        }
        if let Ok(mut q) = self.opened.lock() {
            q.push_back(Opened {
                attempt,
                url: url.into(),
                stats: Arc::clone(&stats),
            });
        }
        stats
    }
}

impl sse_futures::Connector for LoopConnector {
    type Io = ClientEnd;
    fn connect(
        &self,
        url: &Url,
    ) -> sse_futures::BoxFuture<Result<ClientEnd, sse_futures::ConnectError>> {
        let (attempt, refuse) = self.next_attempt(url);
        if let Some(wait) = refuse {
            return self.refuse_later(wait);
        }
        let r = self.open(attempt, url).map(|(tcp, stats)| ClientEnd {
            tcp,
            stats,
            waits: None,
        });
        Box::pin(std::future::ready(
            r.map_err(sse_futures::ConnectError::from),
        ))
    }
}

impl sse_blocking::Connector for LoopConnector {
    fn connect(
        &self,
        url: &Url,
    ) -> Result<Box<dyn sse_blocking::Transport>, sse_blocking::ConnectError> {
        let (attempt, refuse) = self.next_attempt(url);
        if let Some(wait) = refuse {
            // Only a driver on its own thread can block here; one polled
            // on the runner's thread is refused at once.
            if let (true, Some(clock)) = (wait > 0 && self.waits.is_some(), &self.clock) {
                let deadline = clock.now() + Duration::from_millis(wait);
                clock.block_until(Some(deadline), || false);
            }
            let error = self.refuse();
            return Err(sse_blocking::ConnectError {
                kind: TransportError::from(&error),
                error,
            });
        }
        match self.open(attempt, url) {
            Ok((tcp, stats)) => Ok(Box::new(ClientEnd {
                tcp,
                stats,
                waits: self.waits.clone().map(|c| (c, None)),
            })),
            Err(error) => Err(sse_blocking::ConnectError {
                kind: TransportError::from(&error),
                error,
            }),
        }
    }
}

/// Breaks a connection with a reset (RST), not a clean close.
pub fn reset(tcp: TcpStream) {
    let _ = socket2::SockRef::from(&tcp).set_linger(Some(Duration::ZERO));
    drop(tcp);
}

/// The tokio runtime the tokio drivers' sockets and timers register with:
/// one worker thread, which runs tokio's I/O and time drivers while the
/// runner polls the futures on its own threads (tokio wakes whichever
/// waker polled last, as for any executor).
pub fn tokio_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("conformance-tokio")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start a tokio runtime: {e}"))
    })
}

/// A connected std socket as tokio's, seen through tokio-util's compat
/// layer as `futures-io`: what `sse-tokio`'s connector hands the driver.
pub fn tokio_socket(
    tcp: TcpStream,
) -> io::Result<tokio_util::compat::Compat<tokio::net::TcpStream>> {
    use tokio_util::compat::TokioAsyncReadCompatExt;
    let _runtime = tokio_runtime().enter();
    tcp.set_nonblocking(true)?;
    Ok(tokio::net::TcpStream::from_std(tcp)?.compat())
}
