//! A small HTTP proxy on 127.0.0.1 that counts what it relays: `CONNECT`
//! tunnels (for `https://`) and absolute-form requests (for `http://`),
//! one request per connection, the way a simple proxy without keep-alive
//! works (the origin servers in these tests close after each response).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running proxy.
pub struct Proxy {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    relayed: Arc<AtomicUsize>,
    /// Request lines as received (`CONNECT 127.0.0.1:1234 HTTP/1.1`, `GET
    /// http://127.0.0.1:1234/events HTTP/1.1`).
    pub lines: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    /// Requests relayed so far.
    pub fn relayed(&self) -> usize {
        self.relayed.load(Ordering::SeqCst)
    }
}

pub async fn start() -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let relayed = Arc::new(AtomicUsize::new(0));
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let (count, log) = (Arc::clone(&relayed), Arc::clone(&lines));
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (count, log) = (Arc::clone(&count), Arc::clone(&log));
            tokio::spawn(async move {
                let _ = relay(client, &count, &log).await;
            });
        }
    });
    Proxy {
        url,
        relayed,
        lines,
    }
}

async fn relay(
    mut client: TcpStream,
    count: &AtomicUsize,
    log: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    // The request head, and whatever followed it in the same reads.
    let mut buf = Vec::new();
    let head_len = loop {
        let mut chunk = [0u8; 4096];
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_len]).into_owned();
    let rest = buf[head_len..].to_vec();
    let (line, fields) = head.split_once("\r\n").unwrap_or((&head, ""));
    let mut words = line.split(' ');
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    log.lock().unwrap().push(line.to_owned());
    if method == "CONNECT" {
        let mut upstream = TcpStream::connect(target).await?;
        count.fetch_add(1, Ordering::SeqCst);
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await?;
        upstream.write_all(&rest).await?;
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
        return Ok(());
    }
    // Absolute form: http://host:port/path → origin form to host:port.
    let Some(after) = target.strip_prefix("http://") else {
        client
            .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .await?;
        return Ok(());
    };
    let (authority, path) = after.split_at(after.find('/').unwrap_or(after.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut upstream = TcpStream::connect(authority).await?;
    count.fetch_add(1, Ordering::SeqCst);
    let forwarded = format!("{method} {path} HTTP/1.1\r\n{fields}");
    upstream.write_all(forwarded.as_bytes()).await?;
    upstream.write_all(&rest).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}
