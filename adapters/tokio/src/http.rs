//! Serving any hyper service: HTTP/1.1 and HTTP/2 from one listener.
//!
//! [`serve`] runs `sse-futures`' accept loop
//! ([`serve_connections`]: a task
//! per connection, graceful shutdown, the same [`ServerHandle`]) and serves
//! each connection with [`serve_connection`]: hyper-util's automatic
//! builder, which reads HTTP/1.1 or, from the client's preface, HTTP/2.
//! With TLS, ALPN offers `h2` and `http/1.1` ([`with_alpn`]), so browsers
//! pick HTTP/2 and open every `EventSource` of a page as a stream of one
//! connection instead of one connection each (six at most per origin over
//! HTTP/1.1). Every request carries its [`Connection`] in its extensions.
//!
//! The service is the application's: an axum `Router` (through
//! `hyper_util::service::TowerToHyperService`), a `service_fn`, or [`app`],
//! which answers every request with [`sse_http::respond`] for a
//! [`Service`]. (The crate's own listeners, [`crate::serve`] and the
//! others, serve HTTP/1.1 with the toolkit's shared connection code
//! instead of hyper's: see [`crate::serve_connection`].)
//!
//! ```no_run
//! # async fn demo(listener: tokio::net::TcpListener, tls: std::sync::Arc<sse_tokio::rustls::ServerConfig>) -> std::io::Result<()> {
//! use sse_tokio::server::{Service, SharedHub};
//! use sse_tokio::sse_core::endpoint::Endpoint;
//!
//! let service = Service::new(Endpoint::new("/events"), SharedHub::default());
//! let app = sse_tokio::http::app(service, sse_tokio::Timer::new());
//! let server = sse_tokio::http::serve(listener, Some(tls), app)?;
//! server.stopped().await;
//! # Ok(()) }
//! ```

use std::convert::Infallible;
use std::error::Error;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use ::http::{Request, Response};
use futures_lite::stream;
use hyper::body::{Body, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::{Builder, HttpServerConnExec};
use sse_core::endpoint::HEAD_TIMEOUT;
use sse_core::replay::{MemoryLog, ReplayLog};
use sse_futures::server::{serve_connections, HubBody, ServerHandle, Service};
use sse_futures::{BoxFuture, Timer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::either::Either;

/// An error from hyper or the service, as hyper reports them.
pub type BoxError = Box<dyn Error + Send + Sync>;

/// An accepted connection: plain TCP, or TLS over it (boxed: a TLS
/// connection's state is over a kilobyte, which a plain one should not
/// carry in its task).
pub type Io = Either<TcpStream, Box<TlsStream<TcpStream>>>;

/// The hyper service that answers every request for one [`Service`] (its
/// hub's log `L` in memory or elsewhere) with [`sse_http::respond`]
/// (streams with keep-alives on its timer, resume, CORS, 405, the
/// fallback's pages, 404). Cheap to clone.
#[derive(Debug)]
pub struct App<T, L: ReplayLog = MemoryLog> {
    service: Arc<Service<L>>,
    timer: T,
}

impl<T: Clone, L: ReplayLog> Clone for App<T, L> {
    fn clone(&self) -> Self {
        let (service, timer) = (Arc::clone(&self.service), self.timer.clone());
        App { service, timer }
    }
}

/// The hyper service for `service`, its streams' keep-alives on `timer`
/// (which also becomes the hub's clock, so that a waiting publish can let
/// go of streams hyper stopped polling: see
/// [`SharedHub::with_timer`](sse_futures::server::SharedHub::with_timer)).
pub fn app<T, L>(service: impl Into<Arc<Service<L>>>, timer: T) -> App<T, L>
where
    T: Timer + Clone,
    L: ReplayLog + Send + 'static,
{
    let service = service.into();
    let _ = service.hub.clone().with_timer(timer.clone());
    App { service, timer }
}

impl<T, L, X> hyper::service::Service<Request<X>> for App<T, L>
where
    T: Timer + Clone,
    L: ReplayLog + Send + 'static,
    X: Send + 'static,
{
    type Response = Response<sse_http::Body<HubBody<T, L>>>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn call(&self, req: Request<X>) -> Self::Future {
        let (service, timer) = (Arc::clone(&self.service), self.timer.clone());
        Box::pin(async move { Ok(sse_http::respond(&req, &service, timer).await) })
    }
}

/// Which connection a request came on, in the extensions of every request
/// [`serve`] hands an application (axum: `Extension<Connection>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Connection {
    /// The server's number for it: the first accepted is 0 (see
    /// [`ServerHandle::accepted`]).
    pub id: u64,
    /// The client's address.
    pub peer: SocketAddr,
}

/// Serves one connection with `app`: HTTP/1.1, or HTTP/2 when it starts
/// with the HTTP/2 preface. A request head must arrive within the core's
/// [`HEAD_TIMEOUT`]; HTTP/2 streams run in tasks of their own. Ends when
/// the client closes the connection (or, over HTTP/1.1, after a response
/// that ends it); dropping it closes the connection and ends its streams.
/// Must run inside a tokio runtime.
pub async fn serve_connection<I, S, B>(io: I, app: S) -> Result<(), BoxError>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    TokioExecutor: HttpServerConnExec<S::Future, B>,
{
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
    builder.serve_connection(TokioIo::new(io), app).await
}

/// Serves `app` on `listener`, over TLS with `tls` when given (see
/// [`with_alpn`]): each connection with [`serve_connection`] in a task of
/// its own, its TLS handshake there too, within the core's
/// [`HEAD_TIMEOUT`]. Returns at once with the handle; fails outside a
/// tokio runtime.
pub fn serve<S, B>(
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    app: S,
) -> io::Result<ServerHandle>
where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>>,
    S: Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    TokioExecutor: HttpServerConnExec<S::Future, B>,
{
    listen(listener, tls, move |io, connection| {
        // Each request marked with its connection.
        let app = app.clone();
        let app = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(connection);
            hyper::service::Service::call(&app, req)
        });
        Box::pin(serve_connection(io, app))
    })
}

/// `tls`, offering HTTP/2 and HTTP/1.1 by ALPN if it offers nothing.
pub fn with_alpn(tls: Arc<ServerConfig>) -> Arc<ServerConfig> {
    if !tls.alpn_protocols.is_empty() {
        return tls;
    }
    let mut config = (*tls).clone();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

/// The accept loop on the current runtime: each connection in a task of
/// its own, through the TLS handshake if `tls` (within the core's head
/// timeout), then `serve`.
pub(crate) fn listen<S>(
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    serve: S,
) -> io::Result<ServerHandle>
where
    S: Fn(Io, Connection) -> BoxFuture<Result<(), BoxError>> + Send + Sync + 'static,
{
    let addr = listener.local_addr()?;
    let runtime = tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
    let incoming = Box::pin(stream::unfold(listener, |listener| async move {
        let next = listener.accept().await.and_then(|(tcp, peer)| {
            tcp.set_nodelay(true)?;
            Ok((tcp, peer))
        });
        Some((next, listener))
    }));
    let acceptor = tls.map(|tls| TlsAcceptor::from(with_alpn(tls)));
    let serve = Arc::new(serve);
    let connection = move |id, (tcp, peer): (TcpStream, SocketAddr)| {
        let (acceptor, serve) = (acceptor.clone(), Arc::clone(&serve));
        Box::pin(async move {
            let io = match acceptor {
                None => Either::Left(tcp),
                // Boxed: a plain connection's task should not carry its size.
                Some(tls) => match Box::pin(timeout(HEAD_TIMEOUT, tls.accept(tcp))).await {
                    Ok(Ok(tls)) => Either::Right(Box::new(tls)),
                    Ok(Err(e)) => return log::debug!("connection {id}: handshake failed: {e}"),
                    Err(_) => return log::debug!("connection {id}: handshake timed out"),
                },
            };
            if let Err(e) = serve(io, Connection { id, peer }).await {
                log::debug!("connection {id}: {e}");
            }
        }) as BoxFuture<()>
    };
    let spawn = move |task| drop(runtime.spawn(task));
    let handle = serve_connections(incoming, spawn, crate::Timer::new(), connection);
    Ok(handle.with_local_addr(addr))
}
