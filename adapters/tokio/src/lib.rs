//! Server-Sent Events on [tokio](https://docs.rs/tokio): the runtime half
//! of the toolkit, glue around `sse-core`, `sse-futures` and `sse-http`.
//!
//! ```no_run
//! use sse_tokio::server::{Service, SharedHub};
//! use sse_tokio::sse_core::{encode::Message, endpoint::Endpoint};
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let hub = SharedHub::default();
//!     let service = Service::new(Endpoint::new("/events"), hub.clone());
//!     // HTTP/1.1 and HTTP/2 (prior knowledge) on one port.
//!     let server = sse_tokio::serve("127.0.0.1:8080", service).await?;
//!     hub.publish(&Message::new("hello")).await.unwrap();
//!     server.stopped().await; // until `server.shutdown()`
//!     Ok(())
//! }
//! ```
//!
//! Everything that decides anything lives in `sse-core`; everything that
//! drives it without naming a runtime lives in `sse-futures` (the client
//! machine, the hub, the bodies, the accept loop) and `sse-http` (bodies as
//! `http-body` 1.x bodies, requests routed by the core's `Endpoint`). This
//! crate only supplies what tokio has:
//!
//! - [`Timer`]: tokio's timer (so `tokio::time::pause` drives it too);
//! - [`Connector`]: DNS and TCP with `tokio::net`, TLS with rustls (the
//!   shared [`tls`] settings, over a compat layer);
//! - [`EventSource`] over both, opened with [`connect`], [`open`] or
//!   [`open_with`];
//! - listeners: [`serve`] / [`serve_listener`] and [`serve_tls`] /
//!   [`serve_tls_listener`] serve a [`Service`], HTTP/1.1 and HTTP/2 from
//!   one port (h2c with prior knowledge; `h2` by ALPN over TLS), a tokio
//!   task per connection ([`serve_connection`]: HTTP/2 through hyper,
//!   HTTP/1.1 through the connection code every listener of the toolkit
//!   shares), and return `sse-futures`' [`ServerHandle`];
//! - [`http`] serves any hyper service (an axum `Router`, or
//!   [`http::app`] for a [`Service`]) through hyper for both versions.
//!
//! Over HTTP/2 a subscriber's backpressure is the stream's flow-control
//! window (and, through hyper on either version, hyper's write buffer): a
//! client that stops reading lags once those are full, not before.
//!
//! Everything here must run inside a tokio runtime (with the `time` and
//! `net` drivers enabled): the listeners say so with an error, timers and
//! sockets panic as tokio's own do.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod conn;
pub mod http;

pub use conn::{serve_connection, Served};

use std::io;
use std::sync::Arc;

use sse_core::client::Config;
use sse_core::proxy::{Proxies, Proxy};
use sse_core::replay::ReplayLog;
use sse_core::url::{Url, UrlError};
use sse_core::Instant;
use sse_futures::server::{ServerHandle, Service};
use sse_futures::tls::{ClientTls, MaybeTls};
use sse_futures::{BoxFuture, ConnectError};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

pub use sse_core;
pub use sse_futures;
pub use sse_futures::server;
pub use sse_futures::tls::{self, rustls};
pub use sse_http;

/// tokio's timer on its monotonic clock, whose origin is when the timer
/// was made. Copies share the origin. Under `tokio::time::pause` it follows
/// tokio's paused clock.
#[derive(Clone, Copy, Debug)]
pub struct Timer {
    origin: tokio::time::Instant,
}

impl Timer {
    /// A clock starting now.
    pub fn new() -> Self {
        Timer {
            origin: tokio::time::Instant::now(),
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
        // Made at its first poll, which is inside the runtime.
        Box::pin(async move { tokio::time::sleep_until(at).await })
    }
}

/// Opens connections with tokio: DNS, TCP, and TLS for `https` (Mozilla's
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
        let proxies = Arc::default();
        Connector { tls, proxies }
    }

    /// The same connector, reaching URLs through `proxies` (e.g.
    /// [`Proxies::from_env`], as curl reads the environment).
    pub fn with_proxies(self, proxies: Proxies) -> Self {
        let proxies = Arc::new(proxies);
        Connector { proxies, ..self }
    }
}

impl sse_futures::Connector for Connector {
    type Io = MaybeTls<Compat<TcpStream>>;

    fn connect(&self, url: &Url) -> BoxFuture<Result<Self::Io, ConnectError>> {
        let (url, tls, proxies) = (url.clone(), self.tls.clone(), Arc::clone(&self.proxies));
        Box::pin(async move {
            let resolve = |host: String, port| async move {
                Ok(tokio::net::lookup_host((host, port)).await?.collect())
            };
            sse_futures::tls::connect(&url, &tls, &proxies, resolve, |addr| async move {
                let tcp = TcpStream::connect(addr).await?;
                tcp.set_nodelay(true)?;
                Ok(tcp.compat())
            })
            .await
        })
    }

    fn forward_proxy(&self, url: &Url) -> Option<&Proxy> {
        self.proxies.forward(url)
    }
}

/// An `EventSource` on tokio: a `Stream` of notifications.
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

/// Serves `service` (its hub's log in memory, or any [`ReplayLog`] such as
/// a Redis stream's mirror) on `listener` over HTTP/1.1 and HTTP/2 (h2c
/// with prior knowledge), each connection with [`serve_connection`] in a
/// tokio task of its own. The handle knows the bound address and shuts the
/// server down. Fails outside a tokio runtime.
pub fn serve_listener<L: ReplayLog + Send + 'static>(
    listener: TcpListener,
    service: Service<L>,
) -> io::Result<ServerHandle> {
    listen(listener, None, service)
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
/// [`tls::server_config`]), offering HTTP/2 and HTTP/1.1 by ALPN when the
/// config names no protocols ([`http::with_alpn`]); each handshake runs in
/// its connection's task, then [`serve_connection`]. Fails outside a tokio
/// runtime. What `sse serve --tls-cert` runs on.
pub fn serve_tls_listener<L: ReplayLog + Send + 'static>(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    service: Service<L>,
) -> io::Result<ServerHandle> {
    listen(listener, Some(tls), service)
}

/// The accept loop for `service`, how each connection went logged at `debug`.
fn listen<L: ReplayLog + Send + 'static>(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    service: Service<L>,
) -> io::Result<ServerHandle> {
    let (scheme, addr) = (
        if tls.is_some() { "https" } else { "http" },
        listener.local_addr()?,
    );
    log::info!("serving {} on {scheme}://{addr}", service.endpoint.path);
    let service = Arc::new(service);
    http::listen(listener, tls, move |io, connection| {
        let service = Arc::clone(&service);
        Box::pin(async move {
            // Made here, not captured: a captured future is stored twice.
            // And not inside `log::debug!`, which skips its arguments when off.
            let served = serve_connection(io, service, Timer::new()).await?;
            log::debug!("connection {}: {served:?}", connection.id);
            Ok(())
        })
    })
}

// The README's examples run as doctests, so the crate's front page stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
