//! Loopback peers for the end-to-end tests: an HTTP/1.1 + HTTP/2 server
//! (hyper, plain or TLS with a private CA made here), a forward/CONNECT
//! proxy that counts what it relays, and the client settings.

#![allow(dead_code)] // each test file uses a part

pub mod proxy;

use std::convert::Infallible;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_lite::{Stream, StreamExt};
use http_body_util::{combinators::BoxBody, BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use sse_reqwest::sse_core::client::{ClientError, Notification};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub version: Version,
    pub method: String,
    pub path: String,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A response body that the test server streams.
pub type Body = BoxBody<Bytes, io::Error>;

/// How a streamed body ends.
#[derive(Clone, Copy, Debug)]
pub enum End {
    /// Cleanly (the chunked terminator, or the end of an HTTP/2 stream).
    Close,
    /// Broken mid-answer: HTTP/1.1 aborts the connection, HTTP/2 resets
    /// the stream.
    Abort,
    /// Never: the body stays open until the client goes.
    Hang,
}

/// A `200 text/event-stream` response streaming `parts`, then `end`.
pub fn events(parts: &[&str], end: End) -> Response<Body> {
    let frames: Vec<Result<Frame<Bytes>, io::Error>> = parts
        .iter()
        .map(|p| Ok(Frame::data(Bytes::copy_from_slice(p.as_bytes()))))
        .collect();
    let head = futures_lite::stream::iter(frames);
    let body: std::pin::Pin<Box<dyn Stream<Item = _> + Send + Sync>> = match end {
        End::Close => Box::pin(head),
        // After a pause, so that the server flushes what came before.
        End::Abort => Box::pin(head.chain(futures_lite::stream::once_future(async {
            futures_lite::future::yield_now().await;
            Err(io::Error::other("dropped mid-answer"))
        }))),
        End::Hang => Box::pin(head.chain(futures_lite::stream::pending())),
    };
    Response::builder()
        .header("Content-Type", "text/event-stream")
        .body(BodyExt::boxed(StreamBody::new(body)))
        .unwrap()
}

/// Any other response: `status`, headers, a whole body.
pub fn reply(status: u16, headers: &[(&str, &str)], body: &str) -> Response<Body> {
    let mut r = Response::builder().status(status);
    for (n, v) in headers {
        r = r.header(*n, *v);
    }
    let body = http_body_util::Full::new(Bytes::copy_from_slice(body.as_bytes()))
        .map_err(|never: Infallible| match never {});
    r.body(BodyExt::boxed(body)).unwrap()
}

/// What the server answers to its n-th request (from 0).
pub type Handler = dyn Fn(usize, &Seen) -> Response<Body> + Send + Sync;

/// A running test server.
pub struct Server {
    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    pub base: String,
    pub port: u16,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Serves HTTP/1.1 and HTTP/2 (by ALPN over TLS, by the connection
/// preface in plain text) on 127.0.0.1.
pub async fn serve(
    tls: Option<TlsAcceptor>,
    handler: impl Fn(usize, &Seen) -> Response<Body> + Send + Sync + 'static,
) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let handler: Arc<Handler> = Arc::new(handler);
    let server_seen = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (seen, handler, tls) =
                (Arc::clone(&server_seen), Arc::clone(&handler), tls.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let (seen, handler) = (Arc::clone(&seen), Arc::clone(&handler));
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let request = Seen {
                            version: parts.version,
                            method: parts.method.to_string(),
                            path: parts.uri.path().to_owned(),
                            headers: parts.headers,
                            body,
                        };
                        let n = {
                            let mut seen = seen.lock().unwrap();
                            seen.push(request.clone());
                            seen.len() - 1
                        };
                        Ok::<_, Infallible>(handler(n, &request))
                    }
                });
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                let _ = match tls {
                    None => builder.serve_connection(TokioIo::new(tcp), service).await,
                    Some(tls) => match tls.accept(tcp).await {
                        Ok(stream) => {
                            builder
                                .serve_connection(TokioIo::new(stream), service)
                                .await
                        }
                        Err(_) => return,
                    },
                };
            });
        }
    });
    Server {
        base: format!("{scheme}://127.0.0.1:{port}"),
        port,
        seen,
    }
}

/// A private CA made for the test, and a certificate it signed for
/// 127.0.0.1 and localhost.
pub struct Pki {
    pub ca: reqwest::Certificate,
    pub acceptor: TlsAcceptor,
}

pub fn private_ca() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "sse-reqwest test CA");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone(), ca.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Pki {
        ca: reqwest::Certificate::from_der(ca.der()).unwrap(),
        acceptor: TlsAcceptor::from(Arc::new(config)),
    }
}

/// A client builder as the crate's constructors make it (redirects left
/// to the machine), after setting a crypto provider: this workspace builds
/// reqwest's rustls without one.
pub fn client_builder() -> reqwest::ClientBuilder {
    crypto_provider();
    sse_reqwest::client_builder()
}

/// Sets ring as rustls' provider for the process (once), before anything
/// builds a reqwest client.
pub fn crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Reconnects after 10 ms, so that tests do not wait 3 s.
pub fn config() -> sse_reqwest::Config {
    let mut config = sse_reqwest::Config::default();
    config.reconnection_time = Duration::from_millis(10);
    config
}

/// `n` flattened to a short string, for comparing sequences.
pub fn show(n: &Notification) -> String {
    match n {
        Notification::Open => "open".into(),
        Notification::Message(m) => format!("message {} id={}", m.event.data(), m.event.id()),
        Notification::Error {
            reconnecting,
            error,
        } => format!("error {} reconnecting={reconnecting}", reason(error)),
        Notification::Closed => "closed".into(),
        other => format!("{other:?}"),
    }
}

fn reason(error: &ClientError) -> String {
    match error {
        ClientError::ConnectFailed(t) => format!("connect_failed({t:?})"),
        ClientError::Transport(t) => format!("transport({t:?})"),
        ClientError::EndOfStream => "end_of_stream".into(),
        ClientError::Status { status, .. } => format!("status {status}"),
        other => other.to_string(),
    }
}

/// Bounds a test step in time: a stuck client fails the test instead of
/// hanging it.
pub async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: still waiting after 20 s"))
}

/// Takes notifications until `stop` says so (inclusive) or the stream ends.
pub async fn take_until<S: Stream<Item = Notification> + Unpin>(
    es: &mut S,
    mut stop: impl FnMut(&Notification) -> bool,
) -> Vec<String> {
    let mut got = Vec::new();
    while let Some(n) = es.next().await {
        got.push(show(&n));
        if stop(&n) {
            break;
        }
    }
    got
}
