//! Serving over hyper: HTTP/1.1 and HTTP/2 from one listener.
//!
//! [`serve`] and [`serve_tls`] run `sse-futures`' accept loop
//! ([`serve_connections`](sse_futures::server::serve_connections): a task
//! per connection, graceful shutdown, the same [`ServerHandle`]) and serve
//! each connection with [`serve_connection`]: hyper-util's automatic
//! builder, which reads HTTP/1.1 or, from the client's preface, HTTP/2. Over
//! TLS, ALPN offers `h2` and `http/1.1`, so browsers pick HTTP/2 and open
//! every `EventSource` of a page as a stream of one connection instead of
//! one connection each (six at most per origin over HTTP/1.1).
//!
//! They serve any hyper service: [`app`] answers every request with
//! [`sse_http::respond`] for a [`Service`] (what [`crate::serve`] uses);
//! an axum `Router` goes through `hyper_util::service::TowerToHyperService`.
//!
//! ```no_run
//! # async fn demo(listener: tokio::net::TcpListener, tls: std::sync::Arc<sse_tokio::rustls::ServerConfig>) -> std::io::Result<()> {
//! use sse_tokio::server::{Service, SharedHub};
//! use sse_tokio::sse_core::endpoint::Endpoint;
//!
//! let service = Service::new(Endpoint::new("/events"), SharedHub::default());
//! let app = sse_tokio::http::app(service, sse_tokio::Timer::new());
//! let server = sse_tokio::http::serve_tls(listener, tls, app)?;
//! server.stopped().await;
//! # Ok(()) }
//! ```

use std::convert::Infallible;
use std::error::Error;
use std::future::{ready, Ready};
use std::io;
use std::sync::Arc;

use ::http::{Request, Response};
use futures_lite::stream;
use hyper::body::{Body, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::{Builder, HttpServerConnExec};
use sse_core::endpoint::HEAD_TIMEOUT;
use sse_futures::server::{serve_connections, HubBody, ServerHandle, Service};
use sse_futures::{BoxFuture, Timer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// An error from hyper or the service, as hyper reports them.
pub type BoxError = Box<dyn Error + Send + Sync>;

/// The hyper service that answers every request for one [`Service`] with
/// [`sse_http::respond`] (streams with keep-alives on its timer, resume,
/// CORS, 405, the fallback's pages, 404). Cheap to clone.
#[derive(Clone, Debug)]
pub struct App<T> {
    service: Arc<Service>,
    timer: T,
}

/// The hyper service for `service`, its streams' keep-alives on `timer`.
pub fn app<T: Timer + Clone>(service: impl Into<Arc<Service>>, timer: T) -> App<T> {
    App {
        service: service.into(),
        timer,
    }
}

impl<T: Timer + Clone, X> hyper::service::Service<Request<X>> for App<T> {
    type Response = Response<sse_http::Body<HubBody<T>>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn call(&self, req: Request<X>) -> Self::Future {
        ready(Ok(sse_http::respond(
            &req,
            &self.service,
            self.timer.clone(),
        )))
    }
}

/// Serves one connection with `app`: HTTP/1.1, or HTTP/2 when it starts
/// with the HTTP/2 preface. A request head must arrive within the core's
/// [`HEAD_TIMEOUT`](sse_core::endpoint::HEAD_TIMEOUT); HTTP/2 streams run in
/// tasks of their own. Ends when the client closes the connection (or,
/// over HTTP/1.1, after a response that ends it); dropping it closes the
/// connection and ends its streams. Must run inside a tokio runtime.
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

/// Serves `app` on `listener`: every connection with [`serve_connection`]
/// in a task of its own. Returns at once with the handle; fails outside a
/// tokio runtime.
pub fn serve<S, B>(listener: TcpListener, app: S) -> io::Result<ServerHandle>
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
    listen(listener, plain, move |tcp| {
        Box::pin(serve_connection(tcp, app.clone()))
    })
}

/// Serves `app` on `listener` over TLS with `tls`, as [`serve`] does. ALPN
/// offers `h2` and `http/1.1` unless the config names its own protocols
/// ([`with_alpn`]). Each handshake runs in its connection's task, within
/// the core's [`HEAD_TIMEOUT`](sse_core::endpoint::HEAD_TIMEOUT). Fails
/// outside a tokio runtime.
pub fn serve_tls<S, B>(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
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
    let serve = move |tls| Box::pin(serve_connection(tls, app.clone())) as BoxFuture<_>;
    listen(listener, acceptor(tls), serve)
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

/// No handshake.
pub(crate) fn plain(tcp: TcpStream) -> BoxFuture<io::Result<TcpStream>> {
    Box::pin(ready(Ok(tcp)))
}

/// A TLS accept with `tls` ([`with_alpn`]).
pub(crate) fn acceptor(
    tls: Arc<ServerConfig>,
) -> impl Fn(TcpStream) -> BoxFuture<io::Result<TlsStream<TcpStream>>> + Send + Sync + 'static {
    let acceptor = TlsAcceptor::from(with_alpn(tls));
    move |tcp| Box::pin(acceptor.accept(tcp))
}

/// The accept loop on the current runtime: each connection in a task of
/// its own, through `handshake` (within the core's head timeout), then
/// `serve`.
pub(crate) fn listen<Io, H, S>(
    listener: TcpListener,
    handshake: H,
    serve: S,
) -> io::Result<ServerHandle>
where
    Io: Send + 'static,
    H: Fn(TcpStream) -> BoxFuture<io::Result<Io>> + Send + Sync + 'static,
    S: Fn(Io) -> BoxFuture<Result<(), BoxError>> + Send + Sync + 'static,
{
    let addr = listener.local_addr()?;
    let runtime = Handle::try_current().map_err(io::Error::other)?;
    let incoming = Box::pin(stream::unfold(listener, |listener| async move {
        let next = listener.accept().await.and_then(|(tcp, _)| {
            tcp.set_nodelay(true)?;
            Ok(tcp)
        });
        Some((next, listener))
    }));
    let spawn = move |task| drop(runtime.spawn(task));
    let (handshake, serve) = (Arc::new(handshake), Arc::new(serve));
    let connection = move |id, tcp| {
        let (handshake, serve) = (Arc::clone(&handshake), Arc::clone(&serve));
        Box::pin(async move {
            let io = match tokio::time::timeout(HEAD_TIMEOUT, handshake(tcp)).await {
                Ok(Ok(io)) => io,
                Ok(Err(e)) => return log::debug!("connection {id}: handshake failed: {e}"),
                Err(_) => return log::debug!("connection {id}: handshake timed out"),
            };
            match serve(io).await {
                Ok(()) => log::debug!("connection {id}: closed"),
                Err(e) => log::debug!("connection {id}: {e}"),
            }
        }) as BoxFuture<()>
    };
    let handle = serve_connections(incoming, spawn, crate::Timer::new(), connection);
    Ok(handle.with_local_addr(addr))
}
