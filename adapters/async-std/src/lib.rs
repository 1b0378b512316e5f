//! Server-Sent Events on [async-std](https://docs.rs/async-std): the
//! runtime half of the toolkit, a few dozen lines of glue.
//!
//! Everything that decides anything lives in `sse-core`, and everything
//! that drives it without naming a runtime lives in `sse-futures`. This
//! crate only supplies what async-std has:
//!
//! - [`Timer`]: async-std's sleep on a monotonic clock;
//! - [`Connector`]: DNS and TCP with `async_std::net`, TLS with rustls;
//! - [`EventSource`] over both, opened with [`connect`] or [`open`];
//! - listeners: [`serve`] / [`serve_listener`] and [`serve_tls`] /
//!   [`serve_tls_listener`] run `sse-futures`' accept loop with a task
//!   per connection and return its [`ServerHandle`].
//!
//! ```no_run
//! use sse_async_std::server::{Service, SharedHub};
//! use sse_async_std::sse_core::{encode::Message, endpoint::Endpoint};
//!
//! async_std::task::block_on(async {
//!     let hub = SharedHub::default();
//!     let service = Service::new(Endpoint::new("/events"), hub.clone());
//!     let server = sse_async_std::serve("127.0.0.1:8080", service).await?;
//!     hub.publish(&Message::new("hello")).await.unwrap();
//!     server.stopped().await; // until `server.shutdown()`
//!     std::io::Result::Ok(())
//! })
//! .unwrap();
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use async_std::net::{TcpListener, TcpStream, ToSocketAddrs};
use async_std::stream::Stream;
use futures_lite::{stream, AsyncRead, AsyncWrite};
use sse_core::client::Config;
use sse_core::proxy::{Proxies, Proxy};
use sse_core::replay::ReplayLog;
use sse_core::url::{Url, UrlError};
use sse_core::Instant;
use sse_futures::server::{ServerHandle, Service};
use sse_futures::tls::{ClientTls, MaybeTls};
use sse_futures::{BoxFuture, ConnectError};

pub use sse_core;
pub use sse_futures;
pub use sse_futures::server;
pub use sse_futures::tls::{self, rustls};

/// async-std's timer on a monotonic clock whose origin is when the timer was
/// made. Copies share the origin.
#[derive(Clone, Copy, Debug)]
pub struct Timer {
    origin: std::time::Instant,
}

impl Timer {
    /// A clock starting now.
    pub fn new() -> Self {
        Timer {
            origin: std::time::Instant::now(),
        }
    }
}

impl Default for Timer {
    fn default() -> Self {
        Timer::new()
    }
}

impl sse_futures::Timer for Timer {
    fn now(&self) -> Instant {
        Instant::from_duration(self.origin.elapsed())
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<()> {
        let at = self.origin + deadline.as_duration();
        Box::pin(async move {
            // Sleeps can end early on some platforms: sleep again until due.
            loop {
                let left = at.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return;
                }
                async_std::task::sleep(left).await;
            }
        })
    }
}

/// Opens connections with async-std: DNS, TCP, and TLS for `https` (Mozilla's
/// roots unless [`Connector::with_tls`] says otherwise), through HTTP
/// proxies when [`Connector::with_proxies`] names them. Connect timeouts
/// are the client machine's (`Config::connect_timeout`).
#[derive(Clone, Debug, Default)]
pub struct Connector {
    tls: ClientTls,
    proxies: Arc<Proxies>,
}

impl Connector {
    /// Plain TCP, and TLS trusting the Mozilla roots.
    pub fn new() -> Self {
        Connector::default()
    }

    /// TLS with these settings: custom roots, a client certificate.
    pub fn with_tls(tls: ClientTls) -> Self {
        Connector {
            tls,
            proxies: Arc::default(),
        }
    }

    /// The same connector, reaching URLs through `proxies` (e.g.
    /// [`Proxies::from_env`], as curl reads the environment).
    pub fn with_proxies(self, proxies: Proxies) -> Self {
        Connector {
            proxies: Arc::new(proxies),
            ..self
        }
    }
}

impl sse_futures::Connector for Connector {
    type Io = MaybeTls<TcpStream>;

    fn connect(&self, url: &Url) -> BoxFuture<Result<Self::Io, ConnectError>> {
        let (url, tls, proxies) = (url.clone(), self.tls.clone(), Arc::clone(&self.proxies));
        Box::pin(async move {
            let resolve = |host: String, port| async move {
                Ok((host.as_str(), port).to_socket_addrs().await?.collect())
            };
            sse_futures::tls::connect(&url, &tls, &proxies, resolve, |addr| async move {
                let tcp = TcpStream::connect(addr).await?;
                tcp.set_nodelay(true)?;
                Ok(tcp)
            })
            .await
        })
    }

    fn forward_proxy(&self, url: &Url) -> Option<&Proxy> {
        self.proxies.forward(url)
    }
}

/// An `EventSource` on async-std.
pub type EventSource = sse_futures::EventSource<Connector, Timer>;

/// An [`EventSource`] for `url` with the default settings; it connects at
/// its first poll.
pub fn connect(url: &str) -> Result<EventSource, UrlError> {
    open(url, Config::default())
}

/// An [`EventSource`] for `url` with `config`.
pub fn open(url: &str, config: Config) -> Result<EventSource, UrlError> {
    open_with(url, config, Connector::new())
}

/// An [`EventSource`] for `url` with `config`, connecting with `connector`
/// (e.g. one trusting a private CA).
pub fn open_with(url: &str, config: Config, connector: Connector) -> Result<EventSource, UrlError> {
    EventSource::with_parts(url, config, connector, Timer::new())
}

/// Binds `addr` and serves `service` there; see [`serve_listener`].
pub async fn serve<L: ReplayLog + Send + 'static>(
    addr: impl ToSocketAddrs,
    service: Service<L>,
) -> io::Result<ServerHandle> {
    serve_listener(TcpListener::bind(addr).await?, service)
}

/// Serves `service` on `listener`, an async-std task per connection. The handle
/// knows the bound address and shuts the server down.
pub fn serve_listener<L: ReplayLog + Send + 'static>(
    listener: TcpListener,
    service: Service<L>,
) -> io::Result<ServerHandle> {
    let addr = listener.local_addr()?;
    log::info!("serving {} on http://{addr}", service.endpoint.path);
    let handle = server::serve(incoming(listener), spawn, service, Timer::new());
    Ok(handle.with_local_addr(addr))
}

/// Binds `addr` and serves `service` over TLS; see [`serve_tls_listener`].
pub async fn serve_tls<L: ReplayLog + Send + 'static>(
    addr: impl ToSocketAddrs,
    tls: Arc<rustls::ServerConfig>,
    service: Service<L>,
) -> io::Result<ServerHandle> {
    serve_tls_listener(TcpListener::bind(addr).await?, tls, service)
}

/// Serves `service` on `listener` over TLS with `tls` (e.g. from
/// [`tls::server_config`]); each handshake runs in its connection's task.
pub fn serve_tls_listener<L: ReplayLog + Send + 'static>(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    service: Service<L>,
) -> io::Result<ServerHandle> {
    let addr = listener.local_addr()?;
    log::info!("serving {} on https://{addr}", service.endpoint.path);
    let handshake = sse_futures::tls::acceptor(tls);
    let handle = server::serve_with(incoming(listener), handshake, spawn, service, Timer::new());
    Ok(handle.with_local_addr(addr))
}

/// The listener's connections, owning it (dropping the stream closes it).
fn incoming(listener: TcpListener) -> impl Stream<Item = io::Result<Accepted>> + Send + Unpin {
    Box::pin(stream::unfold(listener, |listener| async move {
        let next = listener
            .accept()
            .await
            .and_then(|(tcp, _): (_, SocketAddr)| {
                tcp.set_nodelay(true)?;
                Ok(Accepted(tcp))
            });
        Some((next, listener))
    }))
}

/// An accepted connection whose `close` also shuts down the write side, as
/// smol's does (async-std's only flushes), so a client reading a complete
/// answer until the end of the stream sees it end at once.
struct Accepted(TcpStream);

impl AsyncRead for Accepted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Accepted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(Pin::new(&mut self.0).poll_flush(cx))?;
        Poll::Ready(self.0.shutdown(Shutdown::Write))
    }
}

fn spawn(task: BoxFuture<()>) {
    // Dropping the join handle detaches the task.
    drop(async_std::task::spawn(task));
}

// The README's examples run as doctests, so the crate's front page stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
