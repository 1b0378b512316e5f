//! Loopback HTTP peers for the `sse listen` tests, written as real servers
//! behave: each connection on its own thread, responses framed by
//! `Content-Length`, chunked encoding or the close, connections held open
//! or closed after a response, every request recorded.
//!
//! Shared by `listen.rs`, `listen_real_peers.rs` and `listen_contract.rs`
//! (each test binary uses a different part of it).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A request as the server read it off the wire.
#[derive(Clone, Debug)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The request target (`/events?x=1`).
    pub target: String,
    /// Header fields in order.
    pub headers: Vec<(String, String)>,
    /// The body (by `Content-Length`).
    pub body: String,
    /// The request line and header lines as sent.
    pub head: Vec<String>,
}

impl Request {
    /// The first value of a header (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one request (head, and a body by `Content-Length`); `None` if the
/// connection ends first.
pub fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end().to_string();
        if line.is_empty() {
            break;
        }
        head.push(line);
    }
    let mut parts = head.first()?.split(' ');
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let headers: Vec<(String, String)> = head[1..]
        .iter()
        .filter_map(|l| {
            let (n, v) = l.split_once(':')?;
            Some((n.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let mut request = Request {
        method,
        target,
        headers,
        body: String::new(),
        head,
    };
    if let Some(n) = request
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        let mut body = vec![0; n];
        reader.read_exact(&mut body).ok()?;
        request.body = String::from_utf8_lossy(&body).into_owned();
    }
    Some(request)
}

/// Keeps `stream` open until the client closes it (or 30 s pass): what a
/// server does with a stream it has nothing more to send on.
pub fn hold(mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut buf = [0u8; 1024];
    while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
}

/// One chunk of a `Transfer-Encoding: chunked` body.
pub fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

/// The last chunk of a chunked body.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// A 200 `text/event-stream` head, close-delimited body.
pub const OK: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n";

/// A 200 `text/event-stream` head with a chunked body, as Go's, Node's and
/// most frameworks' servers stream.
pub const OK_CHUNKED: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
    Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n";

/// What a connection handler gets: the connection's number (from 0), its
/// request, and the socket to answer on. Dropping the socket closes it.
pub type Handler = dyn Fn(usize, Request, TcpStream) + Send + Sync;

/// A loopback server running a handler per connection.
pub struct Peer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    requests: Mutex<mpsc::Receiver<Request>>,
    accepted: Arc<Mutex<Vec<Instant>>>,
    count: Arc<AtomicUsize>,
}

impl Peer {
    /// Serves every connection on its own thread with `handler`.
    pub fn serve(handler: impl Fn(usize, Request, TcpStream) + Send + Sync + 'static) -> Peer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = mpsc::channel();
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let count = Arc::new(AtomicUsize::new(0));
        let handler: Arc<Handler> = Arc::new(handler);
        let (a, c) = (Arc::clone(&accepted), Arc::clone(&count));
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                a.lock().unwrap().push(Instant::now());
                let index = c.fetch_add(1, Ordering::SeqCst);
                let (tx, handler) = (tx.clone(), Arc::clone(&handler));
                thread::spawn(move || {
                    let Some(request) = read_request(&stream) else {
                        return;
                    };
                    let _ = tx.send(request.clone());
                    handler(index, request, stream);
                });
            }
        });
        Peer {
            base,
            requests: Mutex::new(rx),
            accepted,
            count,
        }
    }

    /// Serves `responses[n]` (raw bytes) to the n-th connection and closes
    /// it; later connections are held open and silent.
    pub fn scripted(responses: Vec<String>) -> Peer {
        Peer::serve(move |n, _, mut stream| match responses.get(n) {
            Some(r) => {
                let _ = stream.write_all(r.as_bytes());
            }
            None => hold(stream),
        })
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The requests read so far, in order of arrival.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().try_iter().collect()
    }

    /// The next request, waiting up to `timeout`.
    pub fn next_request(&self, timeout: Duration) -> Option<Request> {
        self.requests.lock().unwrap().recv_timeout(timeout).ok()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// When each connection was accepted.
    pub fn accept_times(&self) -> Vec<Instant> {
        self.accepted.lock().unwrap().clone()
    }

    /// Waits (up to `limit`) until `n` connections were accepted.
    pub fn wait_for_connections(&self, n: usize, limit: Duration) -> bool {
        let start = Instant::now();
        while self.connections() < n {
            if start.elapsed() > limit {
                return false;
            }
            thread::sleep(Duration::from_millis(5));
        }
        true
    }
}

/// The proxy variables curl (and `sse listen`) reads: cleared for every
/// run, so that the machine's own settings cannot change a test.
pub const PROXY_VARS: [&str; 8] = [
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// The `sse` binary, without proxy variables.
pub fn sse() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sse"));
    for var in PROXY_VARS {
        command.env_remove(var);
    }
    command
}

/// Runs `sse listen ARGS`, killed after `limit` if still running. Its
/// output is read while it runs (a pipe left full would stall it).
pub fn listen_within(args: &[&str], limit: Duration) -> Output {
    listen_env_within(args, &[], limit)
}

/// Runs `sse listen ARGS` with these proxy variables (and no others).
pub fn listen_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    listen_env_within(args, env, Duration::from_secs(20))
}

fn listen_env_within(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Output {
    let mut child = sse()
        .envs(env.iter().copied())
        .arg("listen")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sse runs");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut all = Vec::new();
            let _ = pipe.read_to_end(&mut all);
            all
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() && start.elapsed() < limit {
        thread::sleep(Duration::from_millis(10));
    }
    if child.try_wait().unwrap().is_none() {
        let _ = child.kill();
    }
    let status = child.wait().unwrap();
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Runs `sse listen ARGS` with a 20 s safety net.
pub fn listen(args: &[&str]) -> Output {
    listen_within(args, Duration::from_secs(20))
}

/// Starts `sse listen ARGS` with piped stdout and stderr.
pub fn spawn_listen(args: &[&str]) -> Child {
    sse()
        .arg("listen")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sse runs")
}

/// The lines `child` prints on its (piped) standard output, as they come.
pub fn stdout_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let out = child.stdout.take().expect("stdout piped");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard output as JSON values, one per line.
pub fn json_lines(o: &Output) -> Vec<serde_json::Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect()
}

/// The `kind` of each JSON line.
pub fn kinds(lines: &[serde_json::Value]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l["kind"].as_str().unwrap_or("?").to_string())
        .collect()
}
