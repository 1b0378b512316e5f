//! One connection of a [`Service`]: HTTP/2 through hyper, HTTP/1.1 through
//! the connection code every listener of the toolkit shares.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_lite::future;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use sse_core::endpoint::HEAD_TIMEOUT;
use sse_core::replay::ReplayLog;
use sse_futures::server::{Ended, Service};
use sse_futures::Timer;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio_util::compat::TokioAsyncReadCompatExt;

use crate::http::BoxError;

/// How a connection served by [`serve_connection`] went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Served {
    /// An HTTP/1.1 connection, ended as the shared connection code says.
    Http1(Ended),
    /// An HTTP/2 connection; the client closed it.
    Http2,
}

/// What an HTTP/2 client sends first (RFC 9113 §3.4).
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Serves one connection of `service` (whatever its hub's log), its
/// streams' keep-alives on `timer`.
/// A connection that opens with the HTTP/2 preface (h2c with prior
/// knowledge, or h2 chosen by ALPN) is served by hyper, each request
/// answered by [`sse_http::respond`] as a stream of the connection (up to
/// 200 at once, hyper's default; more wait for one to end). Any
/// other is HTTP/1.1, served by
/// [`sse_futures::server::serve_connection`], the connection code of every
/// other listener: the same head, `Connection: close` framing, and a
/// subscriber whose socket refuses writes lags (and is dropped or skipped
/// ahead) exactly as there. The first bytes must come within the core's
/// [`HEAD_TIMEOUT`]. Ends when the client goes away or its stream ends;
/// dropping it closes the connection. Must run inside a tokio runtime.
pub async fn serve_connection<I, T, L>(
    mut io: I,
    service: Arc<Service<L>>,
    timer: T,
) -> Result<Served, BoxError>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: Timer + Clone,
    L: ReplayLog + Send + 'static,
{
    let mut seen = Vec::with_capacity(PREFACE.len());
    let sniff = async {
        while seen.len() < PREFACE.len() && PREFACE.starts_with(&seen) {
            let mut buf = [0u8; PREFACE.len()];
            let n = io.read(&mut buf[..PREFACE.len() - seen.len()]).await?;
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        io::Result::Ok(())
    };
    let deadline = timer.now() + HEAD_TIMEOUT;
    let timeout = async {
        timer.sleep_until(deadline).await;
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "no request in time",
        ))
    };
    future::or(sniff, timeout).await?;
    let http2 = seen == PREFACE;
    let io = Rewind { seen, io };
    if http2 {
        let app = crate::http::app(service, timer);
        // Boxed: an HTTP/1.1 connection's task should not carry its size.
        let http2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .serve_connection(TokioIo::new(io), app);
        Box::pin(http2).await?;
        return Ok(Served::Http2);
    }
    let ended = sse_futures::server::serve_connection(io.compat(), &service, &timer).await?;
    Ok(Served::Http1(ended))
}

/// `io` with the bytes already read from it put back in front.
struct Rewind<I> {
    seen: Vec<u8>,
    io: I,
}

impl<I: AsyncRead + Unpin> AsyncRead for Rewind<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.seen.is_empty() {
            return Pin::new(&mut this.io).poll_read(cx, buf);
        }
        let n = this.seen.len().min(buf.remaining());
        buf.put_slice(&this.seen[..n]);
        this.seen.drain(..n);
        Poll::Ready(Ok(()))
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Rewind<I> {
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

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
