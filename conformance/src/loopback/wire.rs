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

/// What the client's end of one connection has done.
#[derive(Debug, Default)]
pub struct Stats {
    /// Bytes the client has read.
    pub read: AtomicU64,
    /// The client saw the end (a zero read or an error).
    pub ended: AtomicBool,
    /// The client dropped the connection.
    pub dropped: AtomicBool,
}

/// The client's end: a non-blocking TCP stream that counts what is read.
#[derive(Debug)]
pub struct ClientEnd {
    tcp: TcpStream,
    stats: Arc<Stats>,
}

impl Read for ClientEnd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = self.tcp.read(buf);
        match &r {
            Ok(0) => self.stats.ended.store(true, Ordering::Release),
            Ok(n) => {
                self.stats.read.fetch_add(*n as u64, Ordering::AcqRel);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => self.stats.ended.store(true, Ordering::Release),
        }
        r
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
    /// The runner never lets a driver block: reads are non-blocking.
    fn set_read_timeout(&mut self, _: Option<Duration>) -> io::Result<()> {
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
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        pending_on_would_block(self.get_mut().read(buf))
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
        let r = self.inner.open(url).and_then(|(tcp, stats)| {
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
    /// The URL the client asked for.
    pub url: String,
    /// Its client end's counters.
    pub stats: Arc<Stats>,
}

/// Connects every URL (whatever its host) to the runner's listener.
#[derive(Clone, Debug)]
pub struct LoopConnector {
    addr: SocketAddr,
    opened: Arc<Mutex<VecDeque<Opened>>>,
}

impl LoopConnector {
    /// A connector to `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        LoopConnector {
            addr,
            opened: Arc::default(),
        }
    }

    /// Connections opened and not yet taken by the server, oldest first.
    pub fn take_opened(&self) -> Option<Opened> {
        self.opened.lock().ok()?.pop_front()
    }

    /// How many opened connections wait for the server.
    pub fn waiting(&self) -> usize {
        self.opened.lock().map_or(0, |q| q.len())
    }

    fn open(&self, url: &Url) -> io::Result<(TcpStream, Arc<Stats>)> {
        let tcp = TcpStream::connect(self.addr)?;
        tcp.set_nonblocking(true)?;
        let _ = tcp.set_nodelay(true);
        let stats = Arc::new(Stats::default());
        if let Ok(mut q) = self.opened.lock() {
            q.push_back(Opened {
                url: url.as_str().into(),
                stats: Arc::clone(&stats),
            });
        }
        Ok((tcp, stats))
    }
}

impl sse_futures::Connector for LoopConnector {
    type Io = ClientEnd;
    fn connect(
        &self,
        url: &Url,
    ) -> sse_futures::BoxFuture<Result<ClientEnd, sse_futures::ConnectError>> {
        let r = self.open(url).map(|(tcp, stats)| ClientEnd { tcp, stats });
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
        match self.open(url) {
            Ok((tcp, stats)) => Ok(Box::new(ClientEnd { tcp, stats })),
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
