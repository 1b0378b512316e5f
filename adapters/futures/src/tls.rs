//! TLS with rustls (the `ring` provider) over any `AsyncRead + AsyncWrite`,
//! and the connect sequence every runtime adapter shares (feature `tls`).
//!
//! A runtime adapter's [`Connector`](crate::Connector) resolves the host and
//! opens TCP with its own runtime and hands both steps to [`connect`], which
//! classifies failures for the client machine (DNS → [`TransportError::Dns`],
//! handshake → [`TransportError::Tls`]) and wraps `https` connections in
//! TLS configured by a [`ClientTls`]. A listener wraps accepted connections
//! with [`acceptor`] and serves them with
//! [`serve_with`](crate::server::serve_with); its configuration comes from
//! a certificate chain and key ([`server_config`]), or from PEM files
//! ([`server_config_from_pem`], whose [`PemError`] names the file at fault).
//!
//! The rustls version in use is re-exported as [`rustls`], to build a
//! `ServerConfig` or `ClientConfig` by hand.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_lite::{AsyncRead, AsyncWrite};
use futures_rustls::rustls::crypto::CryptoProvider;
use futures_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use futures_rustls::rustls::{ClientConfig, RootCertStore, ServerConfig};
use futures_rustls::{TlsAcceptor, TlsConnector};
use sse_core::client::TransportError;
use sse_core::proxy::{Proxies, Route};
use sse_core::url::Url;

use crate::runtime::{BoxFuture, ConnectError};

mod pem;

pub use futures_rustls::rustls;
pub use futures_rustls::{
    client::TlsStream as ClientTlsStream, server::TlsStream as ServerTlsStream,
};
pub use pem::{server_config_from_pem, PemError};

/// The crypto provider used here: `ring`. Configs built by hand should use
/// it too (`ClientConfig::builder_with_provider(provider())`), so the
/// process never depends on which provider rustls would pick by default.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// How a client checks servers and proves itself: trusted roots and an
/// optional client certificate. Cheap to clone.
#[derive(Clone)]
pub struct ClientTls {
    config: Arc<ClientConfig>,
}

impl ClientTls {
    /// Trusts the Mozilla roots (webpki-roots), sends no client certificate.
    pub fn webpki_roots() -> Self {
        // Cannot fail: the default protocol versions suit the ring provider.
        match ClientTls::builder().build() {
            Ok(tls) => tls,
            Err(e) => unreachable!("default tls config: {e}"),
        }
    }

    /// Settings beyond the default roots.
    pub fn builder() -> ClientTlsBuilder {
        ClientTlsBuilder {
            webpki_roots: true,
            roots: Vec::new(),
            client_auth: None,
        }
    }

    /// A complete rustls configuration (ALPN, resumption, a custom verifier).
    pub fn from_config(config: Arc<ClientConfig>) -> Self {
        ClientTls { config }
    }

    /// The rustls configuration.
    pub fn config(&self) -> &Arc<ClientConfig> {
        &self.config
    }

    /// Runs the handshake for `host` over `io`; failures are
    /// [`TransportError::Tls`].
    pub async fn handshake<S>(&self, host: &str, io: S) -> Result<ClientTlsStream<S>, ConnectError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let name = ServerName::try_from(host.to_string()).map_err(|e| {
            ConnectError::new(
                TransportError::Tls,
                io::Error::new(io::ErrorKind::InvalidInput, e),
            )
        })?;
        TlsConnector::from(Arc::clone(&self.config))
            .connect(name, io)
            .await
            .map_err(|e| ConnectError::new(TransportError::Tls, e))
    }
}

impl Default for ClientTls {
    fn default() -> Self {
        ClientTls::webpki_roots()
    }
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls").finish_non_exhaustive()
    }
}

/// Builds a [`ClientTls`]: extra or only roots, a client certificate.
pub struct ClientTlsBuilder {
    webpki_roots: bool,
    roots: Vec<CertificateDer<'static>>,
    client_auth: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
}

impl ClientTlsBuilder {
    /// Also trusts this root certificate (DER), e.g. a private CA or a
    /// self-signed server certificate.
    pub fn root(mut self, cert: CertificateDer<'static>) -> Self {
        self.roots.push(cert);
        self
    }

    /// Trusts only the roots given with [`ClientTlsBuilder::root`], not the
    /// Mozilla roots.
    pub fn without_webpki_roots(mut self) -> Self {
        self.webpki_roots = false;
        self
    }

    /// Presents this certificate chain and key to servers that ask.
    pub fn client_auth(
        mut self,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Self {
        self.client_auth = Some((chain, key));
        self
    }

    /// The settings; fails when a root or the client key is unusable.
    pub fn build(self) -> Result<ClientTls, rustls::Error> {
        let mut roots = RootCertStore::empty();
        if self.webpki_roots {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        for cert in self.roots {
            roots.add(cert)?;
        }
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots);
        let config = match self.client_auth {
            Some((chain, key)) => builder.with_client_auth_cert(chain, key)?,
            None => builder.with_no_client_auth(),
        };
        Ok(ClientTls::from_config(Arc::new(config)))
    }
}

/// A server configuration with this certificate chain and key, no client
/// authentication, on the `ring` provider: what [`acceptor`] needs.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok(Arc::new(config))
}

/// The handshake step for [`serve_with`](crate::server::serve_with): a TLS
/// accept with `config` on each accepted connection.
pub fn acceptor<S>(
    config: Arc<ServerConfig>,
) -> impl Fn(S) -> BoxFuture<io::Result<ServerTlsStream<S>>> + Send + Sync + 'static
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let acceptor = TlsAcceptor::from(config);
    move |io| {
        let accept = acceptor.accept(io);
        Box::pin(accept)
    }
}

/// A client connection: plain for `http`, TLS for `https`.
#[derive(Debug)]
pub enum MaybeTls<S> {
    /// Plain TCP (or whatever `S` is).
    Plain(S),
    /// TLS over `S`.
    Tls(Box<ClientTlsStream<S>>),
}

/// Connects to `url` by its route in `proxies`: `resolve(host, port)`
/// gives the addresses of the server, or of the proxy it goes through
/// (failure: [`TransportError::Dns`]), `tcp` opens each in turn until one
/// accepts (failure: the last error, classified by its kind), a proxy
/// tunnel is opened for `https` through a proxy ([`tunnel`](crate::proxy::tunnel)),
/// and for `https` URLs `tls` runs the handshake with the server (failure:
/// [`TransportError::Tls`]).
pub async fn connect<S, R, RF, C, F>(
    url: &Url,
    tls: &ClientTls,
    proxies: &Proxies,
    resolve: R,
    tcp: C,
) -> Result<MaybeTls<S>, ConnectError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    R: FnOnce(String, u16) -> RF,
    RF: Future<Output = io::Result<Vec<SocketAddr>>>,
    C: Fn(SocketAddr) -> F,
    F: Future<Output = io::Result<S>>,
{
    let route = proxies.route(url);
    let dial = match route {
        Route::Direct => url,
        Route::Forward(proxy) | Route::Tunnel(proxy) => proxy.url(),
    };
    let addrs = resolve(dial.host_unbracketed().to_owned(), dial.port())
        .await
        .map_err(|e| ConnectError::new(TransportError::Dns, e))?;
    let mut last = None;
    let mut stream = None;
    for addr in addrs {
        match tcp(addr).await {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => {
                log::debug!("{dial}: {addr}: {e}");
                last = Some(e);
            }
        }
    }
    let mut stream = match (stream, last) {
        (Some(s), _) => s,
        (None, Some(e)) => return Err(e.into()),
        (None, None) => {
            let e = io::Error::new(io::ErrorKind::NotFound, "no address for the host");
            return Err(ConnectError::new(TransportError::Dns, e));
        }
    };
    if let Route::Tunnel(proxy) = route {
        crate::proxy::tunnel(&mut stream, url, proxy).await?;
    }
    if !url.is_tls() {
        return Ok(MaybeTls::Plain(stream));
    }
    let tls = tls.handshake(url.host_unbracketed(), stream).await?;
    Ok(MaybeTls::Tls(Box::new(tls)))
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for MaybeTls<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MaybeTls::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for MaybeTls<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MaybeTls::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_flush(cx),
            MaybeTls::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_close(cx),
            MaybeTls::Tls(s) => Pin::new(s).poll_close(cx),
        }
    }
}
