//! HTTPS for the tests of `sse serve --tls-cert … --tls-key …`: a test CA
//! and a certificate for 127.0.0.1 it signed (rcgen), written to PEM files
//! as a user would have them, and clients that trust that CA: HTTP/2 by
//! ALPN (the `h2` crate over tokio-rustls) and raw HTTP/1.1.

#![allow(dead_code)] // each test file uses a part

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, IpAddr, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// A test CA and a server certificate it signed for `127.0.0.1` and
/// `localhost`, its PEM files in a directory removed on drop.
pub struct Pki {
    dir: PathBuf,
    /// The CA's certificate: what clients trust.
    pub ca: CertificateDer<'static>,
    /// The server's certificate file (PEM).
    pub cert: PathBuf,
    /// The server's private key file (PEM, PKCS#8).
    pub key: PathBuf,
}

impl Pki {
    /// A fresh CA and server certificate; `name` keeps tests apart.
    pub fn new(name: &str) -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "sse test CA");
        let ca = ca.self_signed(&ca_key).unwrap();
        let key = KeyPair::generate().unwrap();
        let names = vec!["127.0.0.1".to_string(), "localhost".to_string()];
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &ca, &ca_key)
            .unwrap();
        let dir = std::env::temp_dir().join(format!("sse-tls-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pki = Pki {
            ca: ca.der().clone(),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
            dir,
        };
        std::fs::write(&pki.cert, cert.pem()).unwrap();
        std::fs::write(&pki.key, key.serialize_pem()).unwrap();
        pki
    }

    /// A file `name` with `text` next to the others.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `sse serve`'s options for these files.
    pub fn args(&self) -> [&str; 4] {
        let (cert, key) = (self.cert.to_str().unwrap(), self.key.to_str().unwrap());
        ["--tls-cert", cert, "--tls-key", key]
    }

    /// A TLS connection to `addr` (on 127.0.0.1) trusting only the test CA
    /// and offering `alpn`.
    pub async fn connect(&self, addr: &str, alpn: &[&[u8]]) -> TlsStream<TcpStream> {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca.clone()).unwrap();
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let addr: SocketAddr = addr.parse().unwrap();
        let tcp = TcpStream::connect(addr).await.unwrap();
        let name = ServerName::IpAddress(IpAddr::from(Ipv4Addr::LOCALHOST));
        tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .expect("the handshake with the test CA's certificate")
    }

    /// An HTTP/2 connection to `addr`, chosen by ALPN (the client offers
    /// `h2` and `http/1.1`, as browsers do); its driver spawned.
    pub async fn h2(&self, addr: &str) -> h2::client::SendRequest<Bytes> {
        let tls = self.connect(addr, &[b"h2", b"http/1.1"]).await;
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]), "ALPN");
        let (send, conn) = h2::client::handshake(tls).await.unwrap();
        tokio::spawn(async move {
            let _ = conn.await;
        });
        send
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A `GET` of `target` on an HTTP/2 connection: the response head and
/// body.
pub async fn h2_get(
    send: &h2::client::SendRequest<Bytes>,
    target: &str,
    headers: &[(&str, &str)],
) -> (http::response::Parts, h2::RecvStream) {
    let mut req = http::Request::get(format!("https://127.0.0.1{target}"));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let mut send = send.clone().ready().await.unwrap();
    let (response, _) = send.send_request(req.body(()).unwrap(), true).unwrap();
    let (head, body) = response.await.unwrap().into_parts();
    (head, body)
}

/// Reads an HTTP/2 body until `needle` has arrived or the body ended
/// (releasing flow-control capacity as it goes); everything read.
pub async fn h2_read_until(body: &mut h2::RecvStream, needle: &str) -> String {
    let mut got = String::new();
    while !got.contains(needle) {
        match body.data().await {
            Some(Ok(data)) => {
                let _ = body.flow_control().release_capacity(data.len());
                got.push_str(std::str::from_utf8(&data).unwrap());
            }
            _ => break,
        }
    }
    got
}

/// Sends `request` over `tls` and reads until `needle` has arrived or the
/// server closed; everything read.
pub async fn h1_exchange(tls: &mut TlsStream<TcpStream>, request: &str, needle: &str) -> String {
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(needle) {
        match tls.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}
