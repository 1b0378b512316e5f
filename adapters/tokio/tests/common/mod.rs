//! What the tokio adapter's tests share: a server on 127.0.0.1, raw
//! HTTP/1.1 and HTTP/2 (h2 crate) clients, and time limits.

#![allow(dead_code)] // each test file uses a part

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use sse_core::endpoint::Endpoint;
use sse_tokio::server::{Sender, ServerHandle, Service, SharedHub};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Runs `f` with a time limit.
pub async fn within<T>(secs: u64, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(secs), f).await {
        Ok(t) => t,
        Err(_) => panic!("timed out after {secs} s"),
    }
}

/// The senders `on_stream` handed out, one per stream opened.
#[derive(Clone, Default)]
pub struct Streams(pub Arc<Mutex<Vec<Sender>>>);

impl Streams {
    /// Streams opened so far.
    pub fn opened(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// Streams still open: their senders still take a message (a probe,
    /// which the tests that call this do not mind on their streams).
    pub fn open(&self) -> usize {
        let probe = sse_core::encode::Message::new("probe");
        let senders = self.0.lock().unwrap();
        senders.iter().filter(|s| s.send(&probe).is_ok()).count()
    }

    /// Waits until no stream is open (each one's subscription was dropped).
    pub async fn all_closed(&self) {
        while self.open() > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Waits until `n` streams have opened.
    pub async fn opened_at_least(&self, n: usize) {
        while self.opened() < n {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// A service for `hub` at `/events` whose streams are counted in `streams`.
pub fn service(hub: &SharedHub, streams: &Streams) -> Service {
    let kept = streams.clone();
    Service::new(Endpoint::new("/events"), hub.clone())
        .on_stream(move |_, sender| kept.0.lock().unwrap().push(sender))
}

pub async fn start(service: Service) -> (ServerHandle, SocketAddr) {
    let server = sse_tokio::serve("127.0.0.1:0", service).await.unwrap();
    let addr = server.local_addr().unwrap();
    (server, addr)
}

/// `service` served by hyper for HTTP/1.1 too ([`sse_tokio::http::serve`]
/// with [`sse_tokio::http::app`]), as an axum or hyper application is.
pub async fn start_hyper(service: Service) -> (ServerHandle, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = sse_tokio::http::app(service, sse_tokio::Timer::new());
    let server = sse_tokio::http::serve(listener, None, app).unwrap();
    let addr = server.local_addr().unwrap();
    (server, addr)
}

/// Sends a raw request.
pub async fn send(addr: SocketAddr, request: &str) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    tcp
}

/// Reads until `needle` has arrived; returns everything read.
pub async fn read_until(tcp: &mut TcpStream, needle: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(needle) {
        match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// One HTTP/2 connection with prior knowledge (h2c), its driver spawned.
///
/// Its windows are hyper's client defaults (2 MiB a stream, 5 MiB the
/// connection) rather than the h2 crate's 64 KiB: h2 also limits how many
/// small DATA frames it buffers unread to half the connection window, and
/// a burst to many streams read by few threads is exactly that.
pub async fn h2c(addr: SocketAddr) -> h2::client::SendRequest<Bytes> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (send, conn) = h2::client::Builder::new()
        .initial_window_size(2 << 20)
        .initial_connection_window_size(5 << 20)
        .handshake(tcp)
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    send
}

/// A `GET` on an HTTP/2 connection; the response's status and body.
pub async fn h2_get(
    send: &h2::client::SendRequest<Bytes>,
    target: &str,
    headers: &[(&str, &str)],
) -> (http::StatusCode, h2::RecvStream) {
    let mut req = http::Request::get(format!("http://loopback{target}"));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let mut send = send.clone().ready().await.unwrap();
    let (response, _) = send.send_request(req.body(()).unwrap(), true).unwrap();
    let (head, body) = response.await.unwrap().into_parts();
    (head.status, body)
}

/// Reads an HTTP/2 body until `needle` has arrived (releasing flow-control
/// capacity as it goes); everything read.
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
