//! `sse serve` with `sse listen` and raw sockets on 127.0.0.1, as users run
//! them: the pipe-to-browser path, resume after a dropped stream and after a
//! restarted client, signals, JSON input, CORS.

mod served;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use served::{sse, Server};

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
    // Its lines, read on a thread so that the test never waits forever.
    let stdout = client.stdout.take().unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // Wait until the client is connected before publishing (--live-only).
    let first = lines.recv_timeout(Duration::from_secs(20)).unwrap();
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
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut rest = Vec::new();
    while let Ok(line) = lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        rest.push(line);
    }
    let _ = client.kill();
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

/// Bad options exit 2 before anything is served; a taken address is a
/// failure to serve, exit 1.
#[test]
fn bad_path_exits_2_and_a_taken_address_1() {
    let out = sse()
        .args(["serve", "--addr", "127.0.0.1:0", "--path", "events"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("sse serve: --path \"events\" must start with /"),
        "{err}"
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = sse()
        .args(["serve", "--addr", &addr])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
}

/// Signals are handled from the listening line on: a SIGUSR1 sent the
/// moment it appears drops streams (there are none) instead of killing the
/// process, which then exits 0 on SIGTERM.
#[test]
fn signals_right_after_the_listening_line_are_handled() {
    for _ in 0..20 {
        let mut server = Server::start(&[]);
        server.signal("USR1");
        server.signal("TERM");
        assert_eq!(server.wait(), Some(0));
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
/// its socket refused writes for the lag window and its subscriber falls
/// out of the replay log, though its socket takes nothing more.
#[cfg(target_os = "linux")]
#[test]
fn a_client_that_stops_reading_mid_event_is_dropped_once_it_lags() {
    let mut server = Server::start(&[
        "--replay",
        "2",
        "--live-only",
        "--keep-alive-ms",
        "0",
        "--lag-window-ms",
        "300",
    ]);
    let pid = server.child.id();
    // A client that reads the response head, then nothing more (with a
    // small receive buffer, as the kernel may let a few more bytes in now
    // and then, and each counts as read: the lag window starts again).
    let mut paused = small_window(server.addr());
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
    // More than the socket buffers hold: the write stops part way. Then
    // event 2 is pushed out of the log by 3 and 4 (stdin waits until the
    // stream took the start of the big one).
    server.send(&"x".repeat(16 << 20));
    for d in ["2", "3", "4"] {
        server.send(d);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
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

/// A curl-like reader on a raw socket: sends a GET, then reads everything
/// as it comes, until `events` events were parsed, the server closed, or
/// `limit` passed. Returns the data of the events and whether the server
/// closed the connection.
fn read_events(addr: &str, events: usize, limit: Duration) -> (Vec<String>, bool) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        .unwrap();
    read_events_from(s, events, limit, None)
}

/// [`read_events`] on a socket that sent its request, pausing `pace`
/// after each read.
fn read_events_from(
    mut s: TcpStream,
    events: usize,
    limit: Duration,
    pace: Option<Duration>,
) -> (Vec<String>, bool) {
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let deadline = Instant::now() + limit;
    let mut head = Vec::new();
    let mut parser = sse_core::parse::Parser::new();
    let mut got = Vec::new();
    let mut buf = vec![0u8; if pace.is_some() { 8 << 10 } else { 64 << 10 }];
    let mut closed = false;
    while got.len() < events && Instant::now() < deadline {
        let n = match s.read(&mut buf) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(n) => n,
            Err(_) => continue,
        };
        let mut body = &buf[..n];
        // The response head first (byte by byte: it is short).
        while !head.ends_with(b"\r\n\r\n") && !body.is_empty() {
            head.push(body[0]);
            body = &body[1..];
        }
        if head.ends_with(b"\r\n\r\n") {
            assert!(head.starts_with(b"HTTP/1.1 200 OK\r\n"), "{head:?}");
        }
        parser.handle_bytes(body);
        while let Some(event) = parser.poll_event() {
            got.push(event.unwrap().data().to_string());
        }
        if let Some(pace) = pace {
            thread::sleep(pace);
        }
    }
    (got, closed)
}

/// A connection whose receive buffer is small (8 KiB): a client on a slow
/// link, or one that does not read.
fn small_window(addr: &str) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(8 << 10).unwrap();
    let addr: std::net::SocketAddr = addr.parse().unwrap();
    socket.connect(&addr.into()).unwrap();
    socket.into()
}

/// Waits until `n` streams are open on the server (its fds).
#[cfg(target_os = "linux")]
fn wait_for_fds(pid: u32, at_least: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while open_fds(pid) < at_least && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
}

/// Issue 14's reproduction with one reader: 2,000 lines written at once
/// into `sse serve`'s stdin (a pipe), twice the replay log (1,024), while a
/// curl-like reader on a slow link (a small receive window, reading 8 KiB
/// at a time) is connected. Lines of 4 KiB, so that the burst (8 MiB) is
/// more than the socket buffers hold (4 MiB at most here) and the log's 1
/// MiB: the reader must get all 2,000 lines, once each, in order, and its
/// stream must stay open (it used to be closed as soon as the log evicted
/// an event its full socket had not taken yet).
#[cfg(target_os = "linux")]
#[test]
fn a_burst_larger_than_the_log_reaches_a_slow_reader_whole() {
    let mut server = Server::start(&["--live-only"]);
    let pid = server.child.id();
    let idle = open_fds(pid);
    let mut tcp = small_window(server.addr());
    tcp.write_all(b"GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        .unwrap();
    let reader = thread::spawn(move || {
        read_events_from(
            tcp,
            2000,
            Duration::from_secs(60),
            Some(Duration::from_millis(1)),
        )
    });
    wait_for_fds(pid, idle + 1);
    thread::sleep(Duration::from_millis(100)); // the stream is open
    let line = |i: u32| format!("{i:04}{}", "x".repeat(4092));
    let burst: String = (1..=2000).map(|i| line(i) + "\n").collect();
    let stdin = server.stdin.as_mut().unwrap();
    stdin.write_all(burst.as_bytes()).unwrap();
    stdin.flush().unwrap();
    let (got, closed) = reader.join().unwrap();
    assert!(!closed, "the stream was closed after {} events", got.len());
    assert_eq!(got.len(), 2000);
    assert!(got.iter().zip(1..).all(|(data, i)| *data == line(i)));
}

/// The same burst with many subscribers at once (100): every one gets every
/// line, none is closed.
#[cfg(target_os = "linux")]
#[test]
fn a_burst_reaches_many_readers_whole() {
    const READERS: usize = 100;
    let mut server = Server::start(&["--live-only"]);
    let pid = server.child.id();
    let idle = open_fds(pid);
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let addr = server.addr().to_string();
            thread::spawn(move || read_events(&addr, 2000, Duration::from_secs(60)))
        })
        .collect();
    wait_for_fds(pid, idle + READERS);
    thread::sleep(Duration::from_millis(200));
    let burst: String = (1..=2000).map(|i| format!("{i}\n")).collect();
    let stdin = server.stdin.as_mut().unwrap();
    stdin.write_all(burst.as_bytes()).unwrap();
    stdin.flush().unwrap();
    let want: Vec<String> = (1..=2000).map(|i| i.to_string()).collect();
    let mut short = Vec::new();
    for (i, reader) in readers.into_iter().enumerate() {
        let (got, closed) = reader.join().unwrap();
        if closed || got != want {
            short.push(format!("reader {i}: {} events, closed {closed}", got.len()));
        }
    }
    assert!(
        short.is_empty(),
        "{} of {READERS} short:\n{}",
        short.len(),
        short.join("\n")
    );
}

/// Issue 14's framing reproduction: requests whose body cannot be delimited
/// get `400` and a closed connection (RFC 9112 §6.3), never a stream.
#[test]
fn bad_request_framing_gets_400_and_a_close() {
    let server = Server::start(&[]);
    for (headers, reason) in [
        ("Content-Length: -1\r\n", "invalid content-length"),
        (
            "Content-Length: 18446744073709551616\r\n",
            "invalid content-length",
        ),
        (
            "Content-Length: 1\r\nContent-Length: 2\r\n",
            "conflicting content-length values",
        ),
        (
            "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
            "both content-length and transfer-encoding",
        ),
    ] {
        let mut s = TcpStream::connect(server.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(s, "GET /events HTTP/1.1\r\nHost: x\r\n{headers}\r\n").unwrap();
        // Read the answer, then close our end as a client does; the server
        // must have closed its end by then (read_to_end ends).
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !String::from_utf8_lossy(&got).contains(reason) {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        let _ = s.shutdown(std::net::Shutdown::Write);
        let start = Instant::now();
        let rest = s.read_to_end(&mut got);
        let text = String::from_utf8_lossy(&got);
        assert!(
            text.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{headers:?}: {text:?}"
        );
        assert!(text.contains("Connection: close\r\n"), "{text:?}");
        assert!(text.ends_with(&format!("\r\n\r\n{reason}\n")), "{text:?}");
        assert!(
            rest.is_ok() && start.elapsed() < Duration::from_secs(3),
            "not closed"
        );
    }
}
