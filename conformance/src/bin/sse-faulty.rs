//! A deliberately faulty stand-in for the subprocess protocols, to show that
//! the protocol suites fail exactly the scenarios a fault breaks (see
//! `conformance/tests/faulty.rs`).
//!
//! ```text
//! sse-faulty client FAULT URL [--retry-ms N] [--last-event-id ID] [-H 'Name: value']…
//!                             [-X METHOD] [--data BODY] [--timeout-ms N]
//! sse-faulty server FAULT [--retry-ms N] [--keep-alive-ms N]
//! ```
//!
//! Without a fault (`none`) it is this project's implementation: the
//! client is `sse-blocking`'s `EventSource` printing the protocol's JSON
//! lines (and taking `close` on stdin), the server the futures adapter's
//! (`serve_connection` on smol sockets, as `sse-smol` serves) publishing
//! stdin lines. Each fault changes one thing on the wire:
//!
//! - client `ignore-retry`: every `retry:` field reaches the parser as the
//!   unknown field `retrx:`, so the server's reconnection time is ignored;
//! - client `no-last-event-id`: requests go out without `Last-Event-ID`;
//! - server `no-keep-alive`: no keep-alive comments, whatever was asked;
//! - server `no-resume`: `Last-Event-ID` and `?last_event_id=` are ignored.

use std::io::{self, BufRead, Read, Write};
use std::pin::Pin;
use std::process::ExitCode;
use std::task::{Context, Poll};
use std::time::Duration;

use sse_blocking::{Connector, Transport};
use sse_core::client::{ConnectError, Method, Notification};
use sse_core::encode::Message;
use sse_core::endpoint::Endpoint;
use sse_core::replay::LogLimits;
use sse_core::url::Url;
use sse_futures::server::{serve_connection, Service, SharedHub};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("client") => client(&args[1..]),
        Some("server") => server(&args[1..]),
        _ => Err("usage: sse-faulty client FAULT URL [options] | server FAULT [options]".into()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sse-faulty: {e}");
            ExitCode::from(2)
        }
    }
}

/// `--name value` options after the positional arguments.
fn options(args: &[String]) -> Result<Vec<(&str, &str)>, String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(name) = it.next() {
        let value = it.next().ok_or_else(|| format!("{name} needs a value"))?;
        out.push((name.as_str(), value.as_str()));
    }
    Ok(out)
}

fn number(value: &str) -> Result<u64, String> {
    value
        .parse()
        .map_err(|_| format!("not a number: {value:?}"))
}

fn client(args: &[String]) -> Result<ExitCode, String> {
    let [fault, url, rest @ ..] = args else {
        return Err("client needs FAULT and URL".into());
    };
    if !["none", "ignore-retry", "no-last-event-id"].contains(&fault.as_str()) {
        return Err(format!("unknown client fault {fault:?}"));
    }
    let mut config = sse_core::client::Config::default();
    for (name, value) in options(rest)? {
        match name {
            "--retry-ms" => config.reconnection_time = Duration::from_millis(number(value)?),
            "--last-event-id" => config.last_event_id = value.to_string().into(),
            "--timeout-ms" => config.idle_timeout = Some(Duration::from_millis(number(value)?)),
            "-H" => {
                let (n, v) = value.split_once(':').ok_or("-H needs Name: value")?;
                config.headers.push((n.trim().into(), v.trim().into()));
            }
            "-X" => {
                config.method = match value {
                    "GET" => Method::Get,
                    "POST" => Method::Post,
                    other => Method::Other(other.into()),
                }
            }
            "--data" => config.body = Some(value.to_string().into()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    let connector = Faulty {
        fault: fault.clone(),
        inner: sse_blocking::TcpConnector::default(),
    };
    let mut es = sse_blocking::EventSource::with_parts(
        url,
        config,
        connector,
        sse_blocking::SystemClock::default(),
    )
    .map_err(|e| format!("{url}: {e}"))?;
    es.set_poll_interval(Some(Duration::from_millis(2)));
    let close = es.close_handle();
    std::thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            if line.map_or(true, |l| l.trim() == "close") {
                close.close();
            }
        }
    });
    let mut out = io::stdout().lock();
    for n in es.by_ref() {
        let line = sse_conformance::external::client::notification_json(&n);
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            break;
        }
        if let Notification::Error {
            reconnecting: false,
            ..
        } = n
        {
            break;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The client's connector, with its fault.
struct Faulty {
    fault: String,
    inner: sse_blocking::TcpConnector,
}

impl Connector for Faulty {
    fn connect(&self, url: &Url) -> Result<Box<dyn Transport>, ConnectError> {
        let inner = self.inner.connect(url)?;
        Ok(Box::new(FaultyIo {
            inner,
            fault: self.fault.clone(),
            line_start: true,
            partial: Vec::new(),
        }))
    }
}

/// A connection that breaks one thing on its way.
struct FaultyIo {
    inner: Box<dyn Transport>,
    fault: String,
    /// The next byte read starts a line.
    line_start: bool,
    /// The start of a line that may still turn out to be `retry:`.
    partial: Vec<u8>,
}

impl Read for FaultyIo {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.fault == "ignore-retry" {
            // `retry:` at a line start becomes `retrx:` (same length, so
            // any chunked framing around it still holds).
            for byte in buf.iter_mut().take(n) {
                let b = *byte;
                if self.line_start || !self.partial.is_empty() {
                    self.partial.push(b);
                    if self.partial == b"retry" {
                        *byte = b'x';
                        self.partial.clear();
                    } else if !b"retry".starts_with(&self.partial) {
                        self.partial.clear();
                    }
                }
                self.line_start = b == b'\n' || b == b'\r';
            }
        }
        Ok(n)
    }
}

impl Write for FaultyIo {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.fault == "no-last-event-id" {
            let text = String::from_utf8_lossy(buf);
            let kept: Vec<&str> = text
                .split_inclusive("\r\n")
                .filter(|l| !l.to_ascii_lowercase().starts_with("last-event-id:"))
                .collect();
            self.inner.write_all(kept.concat().as_bytes())?;
            return Ok(buf.len());
        }
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Transport for FaultyIo {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_read_timeout(timeout)
    }
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_write_timeout(timeout)
    }
}

fn server(args: &[String]) -> Result<ExitCode, String> {
    let [fault, rest @ ..] = args else {
        return Err("server needs FAULT".into());
    };
    if !["none", "no-keep-alive", "no-resume"].contains(&fault.as_str()) {
        return Err(format!("unknown server fault {fault:?}"));
    }
    let mut config = sse_core::server::Config::default();
    for (name, value) in options(rest)? {
        match name {
            "--retry-ms" => config.retry = Some(number(value)?),
            "--keep-alive-ms" => config.keep_alive = Some(Duration::from_millis(number(value)?)),
            other => return Err(format!("unknown option {other}")),
        }
    }
    if fault == "no-keep-alive" {
        config.keep_alive = None;
    }
    let hub = SharedHub::new(LogLimits::default());
    let service = Service::new(Endpoint::new("/events"), hub.clone()).config(config);
    let publisher = hub.clone();
    smol::block_on(async move {
        let listener = smol::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        println!("listening on http://{addr}/events");
        let _ = io::stdout().flush();
        std::thread::spawn(move || publish_stdin(&publisher));
        let timer = sse_smol::Timer::new();
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let (service, fault) = (service.clone(), fault.clone());
            smol::spawn(async move {
                let _ = tcp.set_nodelay(true);
                if fault == "no-resume" {
                    let Ok(io) = forget_resume(tcp).await else {
                        return;
                    };
                    let _ = serve_connection(io, &service, &timer).await;
                } else {
                    let _ = serve_connection(tcp, &service, &timer).await;
                }
            })
            .detach();
        }
    })
}

/// Publishes each stdin line (`{"event","data","id"}`).
fn publish_stdin(hub: &SharedHub) {
    for line in io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            eprintln!("sse-faulty: not JSON: {line}");
            continue;
        };
        let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        let (event, data, id) = (text("event"), text("data"), text("id"));
        let msg = Message {
            id: id.as_deref(),
            event: event.as_deref(),
            data: data.as_deref().unwrap_or(""),
            retry: None,
        };
        if let Err(e) = smol::block_on(hub.publish(&msg)) {
            eprintln!("sse-faulty: {e}");
        }
    }
}

/// Reads the request head off `tcp` and gives a connection that hands it
/// on without `Last-Event-ID` and without the `last_event_id` query
/// parameter: a server that forgets where the client wants to resume.
async fn forget_resume(mut tcp: smol::net::TcpStream) -> io::Result<Prefixed> {
    use futures_lite::AsyncReadExt;
    let mut head = Vec::new();
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let mut chunk = [0u8; 4096];
        let n = tcp.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines: Vec<String> = text
        .split_inclusive("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("last-event-id:"))
        .map(str::to_string)
        .collect();
    if let Some(first) = lines.first_mut() {
        *first = first.replace("last_event_id=", "ignored=");
    }
    Ok(Prefixed {
        prefix: lines.concat().into_bytes(),
        tcp,
    })
}

/// A connection whose first bytes read are `prefix`.
struct Prefixed {
    prefix: Vec<u8>,
    tcp: smol::net::TcpStream,
}

impl futures_lite::AsyncRead for Prefixed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.len());
            buf[..n].copy_from_slice(&self.prefix[..n]);
            self.prefix.drain(..n);
            return Poll::Ready(Ok(n));
        }
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl futures_lite::AsyncWrite for Prefixed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_close(cx)
    }
}
