//! `sse serve` with `sse listen` and raw sockets on 127.0.0.1, as users run
//! them: the pipe-to-browser path, resume after a dropped stream and after a
//! restarted client, signals, JSON input, CORS.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

fn sse() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sse"))
}

/// A running `sse serve`; killed on drop.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    url: String,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = sse()
            .arg("serve")
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sse runs");
        let stdin = child.stdin.take();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let url = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line {first:?}"))
            .to_string();
        Server { child, stdin, url }
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    fn addr(&self) -> &str {
        self.url
            .strip_prefix("http://")
            .and_then(|s| s.split('/').next())
            .unwrap()
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    /// Waits (at most 10 s) for the process to exit; returns its status code.
    fn wait(&mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `sse listen` to completion with a 20 s safety net.
fn listen(args: &[&str]) -> Output {
    let mut child = sse()
        .arg("listen")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    child.wait_with_output().unwrap()
}

/// The (id, data) of every message line of `sse listen --json` output.
fn messages(out: &Output) -> Vec<(String, String)> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            (v["kind"] == "message").then(|| {
                (
                    v["id"].as_str().unwrap_or_default().to_string(),
                    v["data"].as_str().unwrap_or_default().to_string(),
                )
            })
        })
        .collect()
}

fn pairs(range: std::ops::RangeInclusive<u32>) -> Vec<(String, String)> {
    range.map(|i| (i.to_string(), format!("m{i}"))).collect()
}

/// A raw GET; returns everything read until `until` appears or 5 s pass.
fn raw_get(addr: &str, request: &str, until: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline && !String::from_utf8_lossy(&got).contains(until) {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn piped_lines_reach_a_late_listener_with_ids() {
    let mut server = Server::start(&[]);
    server.send("hello");
    server.send("world");
    let out = listen(&[&server.url, "--json", "--max-events", "2"]);
    assert!(out.status.success(), "{out:?}");
    let got = messages(&out);
    assert_eq!(
        got,
        [("1".into(), "hello".into()), ("2".into(), "world".into())]
    );
}

#[test]
fn dropped_streams_and_restarted_clients_lose_nothing() {
    let mut server = Server::start(&["--retry-ms", "50", "--live-only"]);
    let mut client = sse()
        .args(["listen", &server.url, "--json", "--max-events", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(client.stdout.take().unwrap()).lines();
    // Wait until the client is connected before publishing (--live-only).
    let first = lines.next().unwrap().unwrap();
    assert_eq!(first, r#"{"kind":"open"}"#);
    for i in 1..=10 {
        server.send(&format!("m{i}"));
    }
    // Publish while streams are being dropped: the client reconnects with
    // its last event ID and the log fills the gap.
    for round in 0..2 {
        server.signal("USR1");
        for i in 11 + round * 10..=20 + round * 10 {
            server.send(&format!("m{i}"));
        }
        thread::sleep(Duration::from_millis(150));
    }
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let _ = client.wait();
    let got: Vec<(String, String)> = rest
        .iter()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            (v["kind"] == "message").then(|| {
                (
                    v["id"].as_str().unwrap().to_string(),
                    v["data"].as_str().unwrap().to_string(),
                )
            })
        })
        .collect();
    assert_eq!(got, pairs(1..=30), "{rest:#?}");
    assert!(
        rest.iter().any(|l| l.contains(r#""kind":"open""#)),
        "the stream was dropped and reopened: {rest:#?}"
    );

    // A client killed after event 12 and started again with that ID gets
    // exactly the rest that the log still holds.
    let out = listen(&[
        &server.url,
        "--json",
        "--last-event-id",
        "12",
        "--max-events",
        "18",
    ]);
    assert_eq!(messages(&out), pairs(13..=30));
}

#[test]
fn sigterm_and_sigint_shut_down_cleanly() {
    for signal in ["TERM", "INT"] {
        let mut server = Server::start(&[]);
        // An open stream must not keep the process alive.
        let mut s = TcpStream::connect(server.addr()).unwrap();
        s.write_all(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        thread::sleep(Duration::from_millis(100));
        server.signal(signal);
        assert_eq!(server.wait(), Some(0), "SIG{signal}");
        let mut rest = Vec::new();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = s.read_to_end(&mut rest);
        assert!(String::from_utf8_lossy(&rest).starts_with("HTTP/1.1 200 OK\r\n"));
    }
}

#[test]
fn json_input_cors_and_page() {
    let mut server = Server::start(&["--json", "--cors", "*", "--path", "/feed"]);
    assert!(server.url.ends_with("/feed"));
    server.send(r#"{"event":"price","data":{"usd":1.5},"id":"p-1"}"#);
    server.send("not json");
    server.send(r#"{"data":"plain"}"#);
    let got = raw_get(
        server.addr(),
        "GET /feed HTTP/1.1\r\nHost: x\r\nOrigin: http://app.test\r\n\r\n",
        "data: plain\n\n",
    );
    assert!(got.contains("Access-Control-Allow-Origin: *\r\n"), "{got}");
    assert!(
        got.ends_with("id: p-1\nevent: price\ndata: {\"usd\":1.5}\n\nid: 2\ndata: plain\n\n"),
        "{got}"
    );
    let preflight = raw_get(
        server.addr(),
        "OPTIONS /feed HTTP/1.1\r\nHost: x\r\n\r\n",
        "\r\n\r\n",
    );
    assert!(
        preflight.starts_with("HTTP/1.1 204 No Content\r\n"),
        "{preflight}"
    );
    let page = raw_get(
        server.addr(),
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "</html>",
    );
    assert!(page.contains(r#"new EventSource(path)"#) && page.contains(r#""/feed""#));
    let missing = raw_get(
        server.addr(),
        "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
        "\r\n\r\n",
    );
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    // The bad line was reported, not fatal.
    drop(server.stdin.take());
    server.signal("TERM");
    assert_eq!(server.wait(), Some(0));
    let mut err = String::new();
    server
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("stdin line 2: not JSON"), "{err}");
}

#[test]
fn keep_alive_and_retry_hint() {
    let server = Server::start(&["--keep-alive-ms", "100", "--retry-ms", "2500"]);
    let got = raw_get(
        server.addr(),
        "GET /events HTTP/1.1\r\nHost: x\r\n\r\n",
        "retry: 2500\n:\n:\n",
    );
    assert!(got.contains("\r\n\r\nretry: 2500\n:\n:\n"), "{got}");
}

/// The number of open file descriptors of process `pid`.
#[cfg(target_os = "linux")]
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// A client that stops reading in the middle of an event is dropped once
/// its subscriber falls out of the replay log, though its socket takes
/// nothing more.
#[cfg(target_os = "linux")]
#[test]
fn a_client_that_stops_reading_mid_event_is_dropped_once_it_lags() {
    let mut server = Server::start(&["--replay", "2", "--live-only", "--keep-alive-ms", "0"]);
    let pid = server.child.id();
    // A client that reads the response head, then nothing more.
    let mut paused = TcpStream::connect(server.addr()).unwrap();
    paused
        .write_all(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") && paused.read(&mut byte).unwrap() == 1 {
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 200 OK\r\n"));
    // Its stream is open (and the server is done starting up).
    let open = open_fds(pid);
    // More than the socket buffers hold: the write stops part way.
    server.send(&"x".repeat(16 << 20));
    thread::sleep(Duration::from_millis(300));
    assert_eq!(open_fds(pid), open, "stuck, not dropped");
    // Events 2 and 3 are in the log: not lagging yet. Then 4 pushes 2 out.
    for d in ["2", "3", "4"] {
        server.send(d);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while open_fds(pid) >= open && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(open_fds(pid), open - 1, "the lagging stream was dropped");
    // What it did get ends there, in the middle of the event (which an
    // EventSource discards before it resumes).
    paused
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut got = Vec::new();
    paused.read_to_end(&mut got).unwrap();
    assert!(got.len() < 16 << 20, "{} bytes", got.len());
    assert!(!got.ends_with(b"\n\n"));
}
