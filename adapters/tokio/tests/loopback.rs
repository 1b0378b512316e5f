//! The tokio adapter over loopback: the suite every runtime adapter shares
//! (`adapters/futures/tests/suite/runtime.rs`), on tokio. Its HTTP/1.1
//! requests reach the same connection code as on the other runtimes.

/// What the shared suite needs from the runtime.
mod rt {
    pub use sse_tokio as adapter;
    use std::future::Future;
    use std::io;
    use std::net::SocketAddr;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use std::time::Duration;

    use futures_lite::{AsyncRead, AsyncWrite};
    use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

    /// tokio's socket as `futures-io`, as the suite reads and writes.
    pub struct TcpStream(Compat<tokio::net::TcpStream>);

    impl TcpStream {
        pub async fn connect(addr: SocketAddr) -> io::Result<Self> {
            Ok(TcpStream(
                tokio::net::TcpStream::connect(addr).await?.compat(),
            ))
        }
    }

    impl AsyncRead for TcpStream {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for TcpStream {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
        }
        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().0).poll_flush(cx)
        }
        fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().0).poll_close(cx)
        }
    }

    /// Runs `f` to completion on a tokio runtime of its own.
    pub fn block_on<T>(f: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime")
            .block_on(f)
    }

    /// This runtime's timer.
    pub async fn sleep(d: Duration) {
        tokio::time::sleep(d).await;
    }
}

#[path = "../../futures/tests/suite/runtime.rs"]
mod suite;
