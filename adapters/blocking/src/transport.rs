//! Byte streams for the blocking drivers: [`Transport`] (TCP, TLS, or
//! anything a test provides) and the client's [`Connector`].

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use sse_core::client::TransportError;
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
    /// Connects to `url`'s host and port, with TLS for `https`.
    fn connect(&self, url: &Url) -> Result<Box<dyn Transport>, ConnectError>;
}

/// A failed connection attempt: what the core is told, and the cause
/// (the core's type, shared with the futures adapter).
pub use sse_core::client::ConnectError;

/// DNS, TCP and (for `https`) rustls with the Mozilla roots of
/// `webpki-roots`, or the [`ClientConfig`] given to
/// [`TcpConnector::with_tls`] (custom roots, client certificates).
#[derive(Clone, Debug)]
pub struct TcpConnector {
    tls: Arc<ClientConfig>,
    connect_timeout: Duration,
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
        }
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
        let host = url.host_unbracketed();
        let addrs = (host, url.port())
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
        if !url.is_tls() {
            return Ok(Box::new(tcp));
        }
        let tls_error = |error| ConnectError {
            kind: TransportError::Tls,
            error,
        };
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| tls_error(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
        let mut conn = ClientConnection::new(Arc::clone(&self.tls), name)
            .map_err(|e| tls_error(io::Error::other(e)))?;
        tcp.set_read_timeout(Some(self.connect_timeout))?;
        while conn.is_handshaking() {
            conn.complete_io(&mut tcp).map_err(tls_error)?;
        }
        Ok(Box::new(StreamOwned::new(conn, tcp)))
    }
}
