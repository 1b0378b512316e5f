//! `sse listen` against peers that behave as real servers do (issue 14):
//! redirects whose responses carry a body, a single `data:` line of
//! megabytes, a server that accepts and closes at once, a POST stream that
//! must be re-sent on reconnect, comments, and an event that must reach
//! stdout while the connection stays open.

mod peer;

use std::io::Write;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use peer::{
    chunk, hold, json_lines, kinds, listen, listen_within, spawn_listen, stdout, stdout_lines,
    Peer, LAST_CHUNK, OK, OK_CHUNKED,
};

/// Redirect responses as servers send them: `(name, bytes, close after)`.
/// Each sends `Location: /final`.
fn redirects() -> Vec<(&'static str, String, bool)> {
    vec![
        (
            // The reproduction of issue 14, byte for byte.
            "307, Content-Length: 0, Connection: close",
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: /final\r\nContent-Length: 0\r\n\
             Connection: close\r\n\r\n"
                .into(),
            true,
        ),
        (
            "301, Content-Length body, connection kept open",
            "HTTP/1.1 301 Moved Permanently\r\nLocation: /final\r\nContent-Type: text/html\r\n\
             Content-Length: 22\r\n\r\n<a href=/final>here</a"
                .into(),
            false,
        ),
        (
            "302, chunked body, then the connection closes",
            format!(
                "HTTP/1.1 302 Found\r\nLocation: /final\r\nTransfer-Encoding: chunked\r\n\r\n{}{}{}",
                String::from_utf8(chunk(b"Found. Redirecting to ")).unwrap(),
                String::from_utf8(chunk(b"/final")).unwrap(),
                String::from_utf8(LAST_CHUNK.to_vec()).unwrap(),
            ),
            true,
        ),
        (
            "308, chunked body, connection kept open",
            format!(
                "HTTP/1.1 308 Permanent Redirect\r\nLocation: /final\r\n\
                 Transfer-Encoding: chunked\r\n\r\n{}{}",
                String::from_utf8(chunk(b"Permanent Redirect")).unwrap(),
                String::from_utf8(LAST_CHUNK.to_vec()).unwrap(),
            ),
            false,
        ),
        (
            "302, body until the close",
            "HTTP/1.1 302 Found\r\nLocation: /final\r\nConnection: close\r\n\r\nmoved".into(),
            true,
        ),
    ]
}

#[test]
fn a_redirect_with_a_body_leads_to_the_target_stream() {
    for (name, response, close) in redirects() {
        let peer = Peer::serve(move |_, request, mut stream| {
            if request.target == "/start" {
                let _ = stream.write_all(response.as_bytes());
                if !close {
                    hold(stream);
                }
            } else {
                let _ = stream.write_all(format!("{OK}data: hello\n\n").as_bytes());
                hold(stream);
            }
        });
        let out = listen_within(
            &[&peer.url("/start"), "--json", "--max-events", "1"],
            Duration::from_secs(10),
        );
        let lines = json_lines(&out);
        assert!(out.status.success(), "{name}: {out:?}");
        assert_eq!(kinds(&lines), ["open", "message"], "{name}: {lines:?}");
        assert_eq!(lines[1]["data"], "hello", "{name}");
        let targets: Vec<String> = peer.requests().into_iter().map(|r| r.target).collect();
        assert_eq!(targets, ["/start", "/final"], "{name}");
    }
}

#[test]
fn a_redirect_loop_with_bodies_fails_after_10_with_the_count() {
    for body in [true, false] {
        let peer = Peer::serve(move |_, _, mut stream| {
            let response = if body {
                "HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 5\r\n\r\nagain"
            } else {
                "HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n"
            };
            let _ = stream.write_all(response.as_bytes());
            hold(stream);
        });
        let out = listen_within(&[&peer.url("/loop"), "--json"], Duration::from_secs(10));
        assert_eq!(out.status.code(), Some(1), "body {body}: {out:?}");
        let lines = json_lines(&out);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["kind"], "error");
        assert_eq!(lines[0]["reconnecting"], false);
        assert_eq!(lines[0]["message"], "more than 10 redirects");
        assert_eq!(peer.requests().len(), 11, "body {body}");
    }
}

#[test]
fn a_303_with_a_body_turns_a_post_into_a_get() {
    let peer = Peer::serve(|_, request, mut stream| {
        if request.target == "/chat" {
            let _ = stream.write_all(
                b"HTTP/1.1 303 See Other\r\nLocation: /answer/1\r\nContent-Length: 9\r\n\r\nSee Other",
            );
            hold(stream);
        } else {
            let _ = stream.write_all(format!("{OK}data: 42\n\n").as_bytes());
        }
    });
    let out = listen_within(
        &[
            &peer.url("/chat"),
            "--json",
            "-X",
            "POST",
            "--data",
            "{\"q\":1}",
            "-H",
            "Content-Type: application/json",
        ],
        Duration::from_secs(10),
    );
    assert!(out.status.success(), "{out:?}");
    let lines = json_lines(&out);
    assert_eq!(kinds(&lines), ["open", "message", "closed"], "{lines:?}");
    let requests = peer.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        (requests[0].method.as_str(), requests[0].body.as_str()),
        ("POST", "{\"q\":1}")
    );
    assert_eq!(
        (requests[1].method.as_str(), requests[1].target.as_str()),
        ("GET", "/answer/1")
    );
    assert_eq!(requests[1].header("content-length"), None);
    assert_eq!(requests[1].header("content-type"), None);
}

/// A single `data:` line of `len` bytes (base64-like text), as feature-flag
/// and document streams send them.
fn big_line(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    (0..len)
        .map(|i| ALPHABET[(i * 7 + i / 64) % 64] as char)
        .collect()
}

#[test]
fn a_single_data_line_of_12_mib_is_delivered_by_default() {
    let data = big_line(12 << 20);
    let sent = data.clone();
    let peer = Peer::serve(move |_, _, mut stream| {
        let _ = stream.write_all(OK_CHUNKED.as_bytes());
        let event = format!("data: {sent}\n\n");
        // Written as a server flushes a big value: in 64 KiB chunks.
        for piece in event.as_bytes().chunks(64 << 10) {
            if stream.write_all(&chunk(piece)).is_err() {
                return;
            }
        }
        hold(stream);
    });
    let out = listen_within(
        &[&peer.url("/flags"), "--json", "--max-events", "1"],
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{:?}", out.status);
    let lines = json_lines(&out);
    assert_eq!(kinds(&lines), ["open", "message"]);
    assert!(
        lines[1]["data"].as_str() == Some(data.as_str()),
        "data differs"
    );
}

#[test]
fn both_parser_limits_are_options() {
    let peer = Peer::scripted(vec![format!(
        "{OK}data: {}\n\ndata: {}\ndata: {}\n\ndata: small\n\n",
        big_line(2000),
        big_line(60),
        big_line(60),
    )]);
    let out = listen(&[
        &peer.url("/"),
        "--json",
        "--max-line-bytes",
        "1000",
        "--max-event-bytes",
        "100",
        "--max-events",
        "1",
    ]);
    assert!(out.status.success(), "{out:?}");
    let lines = json_lines(&out);
    assert_eq!(
        kinds(&lines),
        ["open", "parse_error", "parse_error", "message"],
        "{lines:?}"
    );
    assert_eq!(
        lines[1]["message"],
        "line longer than 1000 bytes; its event was dropped"
    );
    assert_eq!(
        lines[2]["message"],
        "event data larger than 100 bytes; the event was dropped"
    );
    assert_eq!(lines[3]["data"], "small");

    let out = listen(&[&peer.url("/"), "--max-line-bytes", "lots"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

/// A server that accepts, reads the request and closes at once.
fn closing_peer() -> Peer {
    Peer::serve(|_, _, stream| drop(stream))
}

#[test]
fn a_server_that_closes_at_once_sees_backed_off_reconnects() {
    let peer = closing_peer();
    let mut child = spawn_listen(&[&peer.url("/"), "--json", "--retry-ms", "1"]);
    // Reconnects happen at all…
    assert!(peer.wait_for_connections(3, Duration::from_secs(20)));
    // …but the n-th waits at least half of 1 ms × 2ⁿ⁻¹ (jitter draws from
    // [d/2, d]), so the 2 s after the first connection hold at most 13:
    // 0.5 + 1 + … + 1024 ms > 2 s. A slow machine only makes it fewer.
    let first = peer.accept_times()[0];
    while first.elapsed() < Duration::from_millis(2500) {
        thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    let within = peer
        .accept_times()
        .iter()
        .filter(|t| t.duration_since(first) <= Duration::from_secs(2))
        .count();
    assert!(within <= 13, "{within} connections in 2 s");
}

#[test]
fn backoff_can_be_capped_or_turned_off() {
    // 30 connections are out of reach of the default backoff (the 30th
    // would wait at least 2²⁸ ms), and quick with a cap of 4 ms or none.
    for option in [&["--backoff-max-ms", "4"][..], &["--no-backoff"]] {
        let peer = closing_peer();
        let mut child =
            spawn_listen(&[&[peer.url("/").as_str(), "--retry-ms", "1"], option].concat());
        let reached = peer.wait_for_connections(30, Duration::from_secs(20));
        let _ = child.kill();
        let _ = child.wait();
        assert!(reached, "{option:?}: {} connections", peer.connections());
    }
    let out = listen(&[
        "http://127.0.0.1:1/",
        "--no-backoff",
        "--backoff-max-ms",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn reconnect_resends_a_post_with_its_body_and_last_event_id() {
    let peer = Peer::serve(|n, _, mut stream| {
        let body = if n == 0 {
            "id: 7\ndata: a\n\n"
        } else {
            "data: b\n\n"
        };
        let _ = stream.write_all(format!("{OK}{body}").as_bytes());
    });
    let out = listen(&[
        &peer.url("/llm"),
        "--json",
        "-X",
        "POST",
        "--data",
        "{\"prompt\":\"hi\"}",
        "-H",
        "Content-Type: application/json",
        "--reconnect",
        "--retry-ms",
        "10",
        "--max-events",
        "2",
    ]);
    assert!(out.status.success(), "{out:?}");
    let lines = json_lines(&out);
    assert_eq!(
        kinds(&lines),
        ["open", "message", "error", "open", "message"],
        "{lines:?}"
    );
    assert_eq!(lines[2]["reconnecting"], true);
    let requests = peer.requests();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert_eq!(r.method, "POST");
        assert_eq!(r.body, "{\"prompt\":\"hi\"}");
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
    assert_eq!(requests[0].header("last-event-id"), None);
    assert_eq!(requests[1].header("last-event-id"), Some("7"));
}

#[test]
fn comments_are_shown_when_asked() {
    let body = format!("{OK}: keep-alive\n\ndata: a\n\n:tick\ndata: b\n\n");
    let peer = Peer::scripted(vec![body.clone(), body.clone(), body]);
    let out = listen(&[&peer.url("/"), "--json", "--comments", "--max-events", "2"]);
    assert!(out.status.success(), "{out:?}");
    let expected = [
        r#"{"kind":"open"}"#,
        r#"{"kind":"comment","text":" keep-alive"}"#,
        &format!(
            r#"{{"kind":"message","type":"message","data":"a","id":"","origin":"{}"}}"#,
            peer.base
        ),
        r#"{"kind":"comment","text":"tick"}"#,
        &format!(
            r#"{{"kind":"message","type":"message","data":"b","id":"","origin":"{}"}}"#,
            peer.base
        ),
    ];
    assert_eq!(stdout(&out).lines().collect::<Vec<_>>(), expected);

    let out = listen(&[&peer.url("/"), "--comments", "--max-events", "2"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        stdout(&out),
        ": keep-alive\n[message] a\n:tick\n[message] b\n"
    );

    // Without --comments, none.
    let out = listen(&[&peer.url("/"), "--json", "--max-events", "2"]);
    assert_eq!(kinds(&json_lines(&out)), ["open", "message", "message"]);
}

#[test]
fn an_event_reaches_stdout_while_the_stream_stays_open() {
    // One event, then nothing: the connection stays open until the test has
    // read the line, so output held in a buffer would never show.
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let done_rx = std::sync::Mutex::new(done_rx);
    let peer = Peer::serve(move |_, _, mut stream| {
        let _ = stream.write_all(format!("{OK}data: only\n\n").as_bytes());
        let _ = done_rx
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(30));
    });
    for json in [true, false] {
        let mut args = vec![peer.url("/")];
        if json {
            args.push("--json".into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = spawn_listen(&args);
        let rx = stdout_lines(&mut child);
        let start = Instant::now();
        let mut lines = Vec::new();
        let want = if json { 2 } else { 1 };
        while lines.len() < want {
            match rx.recv_timeout(Duration::from_secs(15)) {
                Ok(line) => lines.push(line),
                Err(_) => break,
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        let _ = done_tx.send(());
        let last = lines.last().cloned().unwrap_or_default();
        assert!(
            last.contains("only"),
            "json {json}: {lines:?} after {:?}",
            start.elapsed()
        );
    }
}
