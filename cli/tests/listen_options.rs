//! `sse listen`'s connection options and stdin commands against loopback
//! servers: `--connect-timeout-ms`, `--max-redirects`, `--retry-status`,
//! `--max-error-body`, the backoff options' checks and
//! `--stdin-commands` (`close`, `reopen`, `last-event-id`).
//!
//! Every wait is bounded: the servers hold connections at most 30 s, each
//! `sse listen` is killed after 20 s, and lines are awaited with a timeout.

mod peer;

use std::io::Write;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use peer::{hold, json_lines, kinds, listen, sse, stdout, stdout_lines, Peer, OK};

/// How long a test waits for a line or an exit.
const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn connect_timeout_gives_up_on_a_silent_server_and_reconnects() {
    // The first connection is accepted and never answered.
    let peer = Peer::serve(|n, _, mut stream| {
        if n == 0 {
            hold(stream);
        } else {
            let _ = stream.write_all(format!("{OK}data: late\n\n").as_bytes());
            hold(stream);
        }
    });
    let started = Instant::now();
    let out = listen(&[
        &peer.url("/events"),
        "--json",
        "--no-backoff",
        "--retry-ms",
        "10",
        "--connect-timeout-ms",
        "300",
        "--max-events",
        "1",
    ]);
    assert!(out.status.success(), "{out:?}");
    let lines = json_lines(&out);
    assert_eq!(kinds(&lines), ["error", "open", "message"], "{lines:?}");
    assert_eq!(lines[0]["reason"], "connect_timeout");
    assert_eq!(lines[0]["reconnecting"], true);
    assert_eq!(lines[2]["data"], "late");
    assert_eq!(peer.connections(), 2);
    // Not before the timeout (it is no slower test: the bound is the
    // option's, a lower one).
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[test]
fn max_redirects_fails_after_that_many() {
    // Every request is redirected once more.
    let peer = Peer::serve(|n, _, mut stream| {
        let _ = stream.write_all(
            format!("HTTP/1.1 302 Found\r\nLocation: /hop{n}\r\nContent-Length: 0\r\n\r\n")
                .as_bytes(),
        );
    });
    let out = listen(&[&peer.url("/events"), "--json", "--max-redirects", "2"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let lines = json_lines(&out);
    assert_eq!(kinds(&lines), ["error"], "{lines:?}");
    assert_eq!(lines[0]["reason"], "too_many_redirects");
    assert_eq!(lines[0]["reconnecting"], false);
    assert_eq!(lines[0]["message"], "more than 2 redirects");
    // The request and two redirects followed; the third is not.
    let paths: Vec<String> = peer.requests().iter().map(|r| r.head[0].clone()).collect();
    assert_eq!(
        paths,
        [
            "GET /events HTTP/1.1",
            "GET /hop0 HTTP/1.1",
            "GET /hop1 HTTP/1.1"
        ]
    );
}

#[test]
fn retry_status_reconnects_on_listed_statuses_only() {
    let peer = Peer::scripted(vec![
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n".into(),
        format!("{OK}data: back\n\n"),
    ]);
    let out = listen(&[
        &peer.url("/events"),
        "--json",
        "--no-backoff",
        "--retry-ms",
        "10",
        "--retry-status",
        "429",
        "--retry-status",
        "500-599",
        "--max-events",
        "1",
    ]);
    assert!(out.status.success(), "{out:?}");
    let lines = json_lines(&out);
    assert_eq!(kinds(&lines), ["error", "open", "message"], "{lines:?}");
    assert_eq!(lines[0]["status"], 503);
    assert_eq!(lines[0]["reconnecting"], true);

    let peer = Peer::scripted(vec![
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".into()
    ]);
    let out = listen(&[&peer.url("/events"), "--json", "--retry-status", "500-599"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let lines = json_lines(&out);
    assert_eq!(
        (
            lines[0]["status"].as_u64(),
            lines[0]["reconnecting"].as_bool()
        ),
        (Some(404), Some(false))
    );
}

#[test]
fn bad_retry_statuses_and_backoff_mixes_are_usage_errors() {
    for (args, says) in [
        (
            &["--retry-status", "600-500"][..],
            "--retry-status \"600-500\"",
        ),
        (&["--retry-status", "5xx"][..], "is not a status"),
        (&["--retry-status", "99"][..], "is not a status"),
        (&["--no-backoff", "--seed", "1"][..], "--seed"),
        (&["--no-backoff", "--no-jitter"][..], "--no-jitter"),
        (
            &["--no-backoff", "--backoff-reset-ms", "5"][..],
            "--backoff-reset-ms",
        ),
    ] {
        let mut all = vec!["http://127.0.0.1:1/"];
        all.extend_from_slice(args);
        let out = listen(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn max_error_body_shows_the_start_of_a_failed_response() {
    let response = "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n\
                    Content-Length: 25\r\n\r\n{\"error\":\"bad request\"}  ";
    let peer = Peer::scripted(vec![response.into()]);
    let out = listen(&[&peer.url("/events"), "--json", "--max-error-body", "16"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let lines = json_lines(&out);
    assert_eq!(kinds(&lines), ["error"], "{lines:?}");
    assert_eq!(lines[0]["status"], 400);
    assert_eq!(lines[0]["content_type"], "application/json");
    assert_eq!(lines[0]["error_body"], "{\"error\":\"bad re");

    // Readable: the body goes to stderr after the reason.
    let peer = Peer::scripted(vec![response.into()]);
    let out = listen(&[&peer.url("/events"), "--max-error-body", "100"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unexpected status 400\n{\"error\":\"bad request\"}  \n"),
        "{err}"
    );
    // Without the option, the line has neither.
    let peer = Peer::scripted(vec![response.into()]);
    let out = listen(&[&peer.url("/events"), "--json"]);
    assert!(!stdout(&out).contains("error_body"), "{out:?}");
}

/// A running `sse listen --stdin-commands`, its stdin and its stdout lines.
struct Commanded {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl Commanded {
    fn start(args: &[&str]) -> Commanded {
        let mut child = sse()
            .arg("listen")
            .args(args)
            .args(["--json", "--stdin-commands"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sse runs");
        let stdin = child.stdin.take();
        let lines = stdout_lines(&mut child);
        Commanded {
            child,
            stdin,
            lines,
        }
    }

    /// The next stdout line (parsed), within the limit.
    fn line(&self) -> serde_json::Value {
        let line = self.lines.recv_timeout(LIMIT).expect("a line in time");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Closes stdin and waits for the exit code (killed past the limit).
    fn end_stdin(mut self) -> Option<i32> {
        self.stdin = None;
        let start = Instant::now();
        while start.elapsed() < LIMIT {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        panic!("sse listen did not exit when stdin ended");
    }

    /// Whether it is still running after `wait`.
    fn running_after(&mut self, wait: Duration) -> bool {
        thread::sleep(wait);
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Commanded {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn close_reopen_and_last_event_id_on_stdin() {
    // Each connection sends one event and stays open; the test hears when
    // the client drops one.
    let (dropped_tx, dropped) = mpsc::channel();
    let dropped_tx = Mutex::new(dropped_tx);
    let peer = Peer::serve(move |n, _, mut stream| {
        let _ = stream.write_all(format!("{OK}id: {n}\ndata: event {n}\n\n").as_bytes());
        hold(stream);
        let _ = dropped_tx.lock().unwrap().send(n);
    });
    let mut listen = Commanded::start(&[&peer.url("/events"), "--no-backoff"]);
    assert_eq!(listen.line()["kind"], "open");
    assert_eq!(listen.line()["data"], "event 0");

    listen.send("close");
    assert_eq!(
        dropped.recv_timeout(LIMIT),
        Ok(0),
        "close drops the connection"
    );
    // Closed, it waits for a command: an unknown one is reported and skipped.
    listen.send("pause");
    assert!(listen.running_after(Duration::from_millis(100)));

    listen.send("last-event-id resume-9");
    listen.send("reopen");
    assert_eq!(listen.line()["kind"], "open");
    let message = listen.line();
    assert_eq!(
        (&message["data"], &message["id"]),
        (&"event 1".into(), &"1".into())
    );
    let requests = peer.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].header("last-event-id"), None);
    assert_eq!(requests[1].header("last-event-id"), Some("resume-9"));

    // A close, then the end of stdin: exit 0, nothing more printed.
    listen.send("close");
    assert_eq!(dropped.recv_timeout(LIMIT), Ok(1));
    let stderr = listen.child.stderr.take().unwrap();
    assert_eq!(listen.end_stdin(), Some(0));
    let err = std::io::read_to_string(stderr).unwrap();
    assert!(err.contains("unknown command \"pause\" on stdin"), "{err}");
}

#[test]
fn a_failed_stream_waits_for_reopen_until_stdin_ends() {
    let peer = Peer::scripted(vec![
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".into(),
        format!("{OK}data: found\n\n"),
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".into(),
    ]);
    let mut listen = Commanded::start(&[&peer.url("/events"), "--no-backoff", "--retry-ms", "10"]);
    let error = listen.line();
    assert_eq!(
        (&error["status"], &error["reconnecting"]),
        (&404.into(), &false.into())
    );
    assert!(listen.running_after(Duration::from_millis(100)));
    listen.send("reopen");
    assert_eq!(listen.line()["kind"], "open");
    assert_eq!(listen.line()["data"], "found");
    // The end of that stream reconnects, and the next attempt fails for
    // good: the exit status is that failure's.
    assert_eq!(listen.line()["reason"], "end_of_stream");
    assert_eq!(listen.line()["status"], 404);
    assert_eq!(listen.end_stdin(), Some(1));
}

#[test]
fn stdin_ending_does_not_stop_an_open_stream() {
    let peer = Peer::serve(|n, _, mut stream| {
        let _ = stream.write_all(format!("{OK}data: {n}\n\n").as_bytes());
        hold(stream);
    });
    let mut listen = Commanded::start(&[&peer.url("/events")]);
    assert_eq!(listen.line()["kind"], "open");
    listen.stdin = None;
    assert!(listen.running_after(Duration::from_millis(200)));
    assert_eq!(peer.connections(), 1);
}
