//! Byte streams for the blocking drivers: [`Transport`] (TCP, TLS, or
//! anything a test provides) and the client's [`Connector`].

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use sse_core::client::TransportError;
use sse_core::proxy::{Proxies, Proxy, Route, Tunnel, TunnelError, TunnelStatus};
use sse_core::url::Url;

/// A connection: reads, writes, and bounds how long each may block.
pub trait Transport: Read + Write + Send {
    /// Bounds the next reads (`None` blocks). A read that times out fails
    /// with [`io::ErrorKind::WouldBlock`] or [`io::ErrorKind::TimedOut`].
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()>;
    /// Bounds the next writes the same way. A write that times out having
    /// taken nothing fails as a read does; one that took some bytes
    /// returns how many. By default writes are not bounded.
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = timeout;
        Ok(())
    }
}

impl Transport for TcpStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }
}

/// TLS over TCP, client or server side: the timeouts are the socket's.
macro_rules! tls_transport {
    ($($side:ty),*) => {$(
        impl Transport for StreamOwned<$side, TcpStream> {
            fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
                self.sock.set_read_timeout(timeout)
            }
            fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
                self.sock.set_write_timeout(timeout)
            }
        }
    )*};
}
tls_transport!(ClientConnection, rustls::ServerConnection);

/// Opens the connection for one request of the client.
pub trait Connector: Send + Sync + 'static {
    /// Connects to `url`'s host and port, with TLS for `https`, or to the
    /// proxy its route names ([`Proxies::route`]).
    fn connect(&self, url: &Url) -> Result<Box<dyn Transport>, ConnectError>;

    /// The forward proxy `url`'s request is sent to, if any: the driver
    /// then writes it in absolute form with the proxy's credentials. By
    /// default none.
    fn forward_proxy(&self, url: &Url) -> Option<&Proxy> {
        let _ = url;
        None
    }
}

/// A failed connection attempt: what the core is told, and the cause
/// (the core's type, shared with the futures adapter).
pub use sse_core::client::ConnectError;

/// DNS, TCP and (for `https`) rustls with the Mozilla roots of
/// `webpki-roots`, or the [`ClientConfig`] given to
/// [`TcpConnector::with_tls`] (custom roots, client certificates); through
/// HTTP proxies when [`TcpConnector::with_proxies`] names them.
#[derive(Clone, Debug)]
pub struct TcpConnector {
    tls: Arc<ClientConfig>,
    connect_timeout: Duration,
    proxies: Arc<Proxies>,
}

impl Default for TcpConnector {
    fn default() -> Self {
        let roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        TcpConnector::with_tls(
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map(|b| b.with_root_certificates(roots).with_no_client_auth())
                .expect("ring supports the default protocol versions"),
        )
    }
}

impl TcpConnector {
    /// A connector using `tls` for `https` URLs.
    pub fn with_tls(tls: ClientConfig) -> Self {
        TcpConnector {
            tls: Arc::new(tls),
            connect_timeout: Duration::from_secs(30),
            proxies: Arc::default(),
        }
    }

    /// The same connector, reaching URLs through `proxies` (e.g.
    /// [`Proxies::from_env`], as curl reads the environment).
    pub fn with_proxies(mut self, proxies: Proxies) -> Self {
        self.proxies = Arc::new(proxies);
        self
    }

    /// Bounds each TCP connect (default 30 s). The core's
    /// `Config::connect_timeout` bounds the wait for the response head.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }
}

impl Connector for TcpConnector {
    fn connect(&self, url: &Url) -> Result<Box<dyn Transport>, ConnectError> {
        let route = self.proxies.route(url);
        let dial = match route {
            Route::Direct => url,
            Route::Forward(proxy) | Route::Tunnel(proxy) => proxy.url(),
        };
        let addrs = (dial.host_unbracketed(), dial.port())
            .to_socket_addrs()
            .map_err(|error| ConnectError {
                kind: TransportError::Dns,
                error,
            })?;
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address for host");
        let mut tcp = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.connect_timeout) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = e,
            }
        }
        let mut tcp = tcp.ok_or(last)?;
        let _ = tcp.set_nodelay(true);
        if let Route::Tunnel(proxy) = route {
            tcp.set_read_timeout(Some(self.connect_timeout))?;
            tunnel(&mut tcp, url, proxy)?;
        }
        if !url.is_tls() {
            return Ok(Box::new(tcp));
        }
        let tls_error = |error| ConnectError {
            kind: TransportError::Tls,
            error,
        };
        let name = ServerName::try_from(url.host_unbracketed().to_string())
            .map_err(|e| tls_error(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
        let mut conn = ClientConnection::new(Arc::clone(&self.tls), name)
            .map_err(|e| tls_error(io::Error::other(e)))?;
        tcp.set_read_timeout(Some(self.connect_timeout))?;
        while conn.is_handshaking() {
            conn.complete_io(&mut tcp).map_err(tls_error)?;
        }
        Ok(Box::new(StreamOwned::new(conn, tcp)))
    }

    fn forward_proxy(&self, url: &Url) -> Option<&Proxy> {
        self.proxies.forward(url)
    }
}

/// Opens a tunnel to `target` through `proxy` over `tcp` (connected to the
/// proxy): the `CONNECT` request and answer `sse_core::proxy::Tunnel`
/// makes and reads; on failure the error's kind is
/// [`TunnelError::transport_error`].
pub fn tunnel(tcp: &mut TcpStream, target: &Url, proxy: &Proxy) -> Result<(), ConnectError> {
    let fail = |e: TunnelError| ConnectError {
        kind: e.transport_error(),
        error: io::Error::new(io::ErrorKind::ConnectionAborted, e),
    };
    let mut request = Vec::new();
    let mut tunnel = Tunnel::start(target, proxy, &mut request).map_err(fail)?;
    tcp.write_all(&request)?;
    let mut buf = [0u8; 1024];
    loop {
        let n = tcp.read(&mut buf)?;
        match tunnel.handle_bytes(&buf[..n]).map_err(fail)? {
            TunnelStatus::Partial => {}
            TunnelStatus::Open => return Ok(()),
        }
    }
}
