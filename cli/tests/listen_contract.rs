//! What LaunchDarkly's SSE contract tests
//! (github.com/launchdarkly/sse-contract-tests, `ssetests/tests_*.go`)
//! expect of a client, asked of `sse listen` over loopback. Each test names
//! the contract test it mirrors; the code is ours.
//!
//! The peers answer as that harness's Go `net/http` server does: a stream is
//! a 200 `text/event-stream` response with a chunked body, each `Send` one
//! chunk written and flushed; `BreakConnection` closes the socket; a
//! redirect endpoint answers with an empty body (`Content-Length: 0`) and
//! keeps the connection alive. The harness's `initialDelayMs: 0` is
//! `--retry-ms 0`. Not mirrored: "caller can trigger a restart" (`sse
//! listen` has no restart command) and the `event-type-listeners`
//! capability (every type is printed).

mod peer;

use std::io::Write;
use std::net::TcpStream;

use std::thread;
use std::time::{Duration, Instant};

use peer::{
    chunk, hold, json_lines, kinds, listen, spawn_listen, stdout_lines, Peer, Request, OK_CHUNKED,
};

/// What a stream connection sends: `Send` calls, then held open or broken.
#[derive(Clone)]
struct Stream {
    sends: Vec<Vec<u8>>,
    /// Pause between sends (`SendInChunks`' delay).
    pause: Duration,
    /// `BreakConnection` after the sends (else held open).
    break_after: bool,
}

impl Stream {
    fn sends(sends: &[&str]) -> Stream {
        Stream {
            sends: sends.iter().map(|s| s.as_bytes().to_vec()).collect(),
            pause: Duration::ZERO,
            break_after: false,
        }
    }

    /// `SendInChunks(data, size, pause)`.
    fn in_chunks(data: &str, size: usize, pause: Duration) -> Stream {
        Stream {
            sends: data.as_bytes().chunks(size).map(<[u8]>::to_vec).collect(),
            pause,
            break_after: false,
        }
    }

    fn then_break(mut self) -> Stream {
        self.break_after = true;
        self
    }

    fn serve(&self, mut s: TcpStream) {
        let _ = s.set_nodelay(true);
        if s.write_all(OK_CHUNKED.as_bytes()).is_err() {
            return;
        }
        for (i, send) in self.sends.iter().enumerate() {
            if i > 0 && !self.pause.is_zero() {
                thread::sleep(self.pause);
            }
            if s.write_all(&chunk(send)).is_err() {
                return;
            }
        }
        if !self.break_after {
            hold(s);
        }
    }
}

/// A stream endpoint: the n-th connection gets `streams[n]` (the last one
/// again after the end of the list).
fn stream_server(streams: Vec<Stream>) -> Peer {
    Peer::serve(move |n, _, s| streams[n.min(streams.len() - 1)].serve(s))
}

/// Runs `sse listen --json ARGS` until it printed `n` lines (or 20 s
/// passed), then stops it. The JSON lines.
fn first_lines(args: &[&str], n: usize) -> Vec<serde_json::Value> {
    let mut child = spawn_listen(&[&["--json"], args].concat());
    let rx = stdout_lines(&mut child);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut lines = Vec::new();
    while lines.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => lines.push(serde_json::from_str(&line).unwrap()),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    lines
}

/// The messages' data among `lines`.
fn data(lines: &[serde_json::Value]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l["kind"] == "message")
        .map(|l| l["data"].as_str().unwrap().to_string())
        .collect()
}

/// A message's type, data and ID.
type Message = (String, String, String);

/// `(type, data, id)` of each message.
fn messages(lines: &[serde_json::Value]) -> Vec<Message> {
    lines
        .iter()
        .filter(|l| l["kind"] == "message")
        .map(|l| {
            let s = |k: &str| l[k].as_str().unwrap().to_string();
            (s("type"), s("data"), s("id"))
        })
        .collect()
}

/// The `Last-Event-ID` of each request (absent: `None`).
fn last_event_ids(requests: &[Request]) -> Vec<Option<String>> {
    requests
        .iter()
        .map(|r| r.header("last-event-id").map(String::from))
        .collect()
}

/// Base64 of `len` pseudo-random bytes, as the contract's
/// `generateRandomString` builds its large messages.
fn random_string(len: usize, seed: u64) -> String {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut x = seed;
    (0..len / 3 * 4)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            B64[(x % 64) as usize] as char
        })
        .collect()
}

// ----- tests_basic_parsing.go -----

/// "large message in one chunk": 5 MiB of random bytes in base64, one line.
#[test]
fn large_message_in_one_chunk() {
    let big = random_string(5 << 20, 1);
    let peer = stream_server(vec![Stream::sends(&[&format!("data: {big}\n\n")])]);
    let out = listen(&[&peer.url("/"), "--json", "--max-events", "1"]);
    assert!(out.status.success(), "{:?}", out.status);
    assert!(data(&json_lines(&out)) == [big], "data differs");
}

/// "large message in two chunks": two 5 MiB halves of one line (a 10 MiB
/// line: past the old 1 MiB line limit).
#[test]
fn large_message_in_two_chunks() {
    let (a, b) = (random_string(5 << 20, 2), random_string(5 << 20, 3));
    let peer = stream_server(vec![Stream::sends(&[
        &format!("data: {a}"),
        &format!("{b}\n\n"),
    ])]);
    let out = listen(&[&peer.url("/"), "--json", "--max-events", "1"]);
    assert!(out.status.success(), "{:?}", out.status);
    assert!(
        data(&json_lines(&out)) == [format!("{a}{b}")],
        "data differs"
    );
}

/// The other basic parsing cases, each on its own connection, by name.
#[test]
fn basic_parsing() {
    let m = |t: &str, d: &str, id: &str| (t.to_string(), d.to_string(), id.to_string());
    let many: String = (0..100).map(|i| format!("data: message {i}\n\n")).collect();
    let many_expected: Vec<_> = (0..100)
        .map(|i| m("message", &format!("message {i}"), ""))
        .collect();
    let cases: Vec<(&str, Stream, Vec<Message>)> = vec![
        (
            "one-line message in one chunk",
            Stream::sends(&["data: Hello\n\n"]),
            vec![m("message", "Hello", "")],
        ),
        (
            "two messages spanning 3 chunks with shared chunk",
            Stream::sends(&["data: test", "test\n\ndata:", "test\n\n"]),
            vec![m("message", "testtest", ""), m("message", "test", "")],
        ),
        (
            "one-line message in two chunks",
            Stream::sends(&["data: Hel", "lo\n\n"]),
            vec![m("message", "Hello", "")],
        ),
        (
            "two one-line messages in one chunk",
            Stream::sends(&["data: Hello\n\ndata: World\n\n"]),
            vec![m("message", "Hello", ""), m("message", "World", "")],
        ),
        (
            "one two-line message in one chunk",
            Stream::sends(&["data: Hello\ndata:World\n\n"]),
            vec![m("message", "Hello\nWorld", "")],
        ),
        (
            "empty data",
            Stream::sends(&["data:\n\n"]),
            vec![m("message", "", "")],
        ),
        (
            "event with specific type",
            Stream::sends(&["event: greeting\ndata: Hello\n\n"]),
            vec![m("greeting", "Hello", "")],
        ),
        (
            "event with ID",
            Stream::sends(&["id: abc\ndata: Hello\n\n"]),
            vec![m("message", "Hello", "abc")],
        ),
        (
            "event with type and ID",
            Stream::sends(&["event: greeting\nid: abc\ndata: Hello\n\n"]),
            vec![m("greeting", "Hello", "abc")],
        ),
        (
            "ID field is ignored if it contains a null",
            Stream::sends(&["id: a\0bc\ndata: Hello\n\n"]),
            vec![m("message", "Hello", "")],
        ),
        (
            "last ID persists if not overridden by later event",
            Stream::sends(&["id: abc\ndata: first\n\n", "data: second\n\n"]),
            vec![m("message", "first", "abc"), m("message", "second", "abc")],
        ),
        (
            "last ID can be overridden by an empty value",
            Stream::sends(&["id: abc\ndata: first\n\n", "id: \ndata: second\n\n"]),
            vec![m("message", "first", "abc"), m("message", "second", "")],
        ),
        (
            "fields in reverse order",
            Stream::sends(&["data: Hello\nid: abc\nevent: greeting\n\n"]),
            vec![m("greeting", "Hello", "abc")],
        ),
        (
            "unknown field is ignored",
            Stream::sends(&["event: greeting\ncolor: blue\ndata: Hello\n\n"]),
            vec![m("greeting", "Hello", "")],
        ),
        (
            "fields without leading space",
            Stream::sends(&["event:greeting\ndata:Hello\n\n"]),
            vec![m("greeting", "Hello", "")],
        ),
        (
            "fields with extra leading space",
            Stream::sends(&["event:  greeting\ndata:  Hello\n\n"]),
            vec![m(" greeting", " Hello", "")],
        ),
        (
            "field with no colon",
            Stream::sends(&["data\n\ndata\ndata\n\n"]),
            vec![m("message", "", ""), m("message", "\n", "")],
        ),
        (
            "multi-byte characters",
            Stream::sends(&["data: €豆腐\n\n"]),
            vec![m("message", "€豆腐", "")],
        ),
        (
            "multi-byte characters sent in single-byte pieces",
            Stream::in_chunks("data: €豆腐\n\n", 1, Duration::from_millis(2)),
            vec![m("message", "€豆腐", "")],
        ),
        (
            "many messages in rapid succession",
            Stream::sends(&[&many]),
            many_expected,
        ),
    ];
    for (name, stream, expected) in cases {
        let peer = stream_server(vec![stream]);
        let n = expected.len().to_string();
        let out = listen(&[&peer.url("/"), "--json", "--max-events", &n]);
        assert!(out.status.success(), "{name}: {out:?}");
        assert_eq!(messages(&json_lines(&out)), expected, "{name}");
    }
}

// ----- tests_bom.go -----

/// The BOM cases: stripped once at the start of the stream, even split
/// across chunks; kept anywhere else.
#[test]
fn bom_handling() {
    const BOM: &str = "\u{FEFF}";
    let cases: Vec<(&str, Vec<String>, Vec<&str>)> = vec![
        (
            "BOM at start of stream is stripped",
            vec![format!("{BOM}data: Hello\n\n")],
            vec!["Hello"],
        ),
        (
            "BOM stripped with multiple messages",
            vec![format!("{BOM}data: First\n\ndata: Second\n\n")],
            vec!["First", "Second"],
        ),
        (
            "BOM only stripped at stream start, not from later data",
            vec!["data: First\n\n".into(), format!("data: {BOM}Second\n\n")],
            vec!["First", "\u{FEFF}Second"],
        ),
        (
            "only first BOM at start is stripped",
            vec![format!("{BOM}data: {BOM}Hello\n\n")],
            vec!["\u{FEFF}Hello"],
        ),
        (
            "BOM with multi-line data",
            vec![format!("{BOM}data: Line1\ndata: Line2\n\n")],
            vec!["Line1\nLine2"],
        ),
        (
            "BOM does not affect empty data field",
            vec![format!("{BOM}data:\n\n")],
            vec![""],
        ),
    ];
    for (name, sends, expected) in cases {
        let sends: Vec<&str> = sends.iter().map(String::as_str).collect();
        let peer = stream_server(vec![Stream::sends(&sends)]);
        let n = expected.len().to_string();
        let out = listen(&[&peer.url("/"), "--json", "--max-events", &n]);
        assert_eq!(data(&json_lines(&out)), expected, "{name}");
    }
    // "BOM split across first two chunks", "… byte by byte across chunks".
    for split in [&[2][..], &[1, 2]] {
        let bom = BOM.as_bytes();
        let mut sends: Vec<Vec<u8>> = Vec::new();
        let mut at = 0;
        for &end in split {
            sends.push(bom[at..end].to_vec());
            at = end;
        }
        let mut last = bom[at..].to_vec();
        last.extend_from_slice(b"data: Hello\n\n");
        sends.push(last);
        let stream = Stream {
            sends,
            pause: Duration::from_millis(5),
            break_after: false,
        };
        let peer = stream_server(vec![stream]);
        let out = listen(&[&peer.url("/"), "--json", "--max-events", "1"]);
        assert_eq!(data(&json_lines(&out)), ["Hello"], "split {split:?}");
    }
}

/// "BOM with comment at start" (with the comments capability).
#[test]
fn bom_with_comment_at_start() {
    let peer = stream_server(vec![Stream::sends(&["\u{FEFF}:comment\ndata: Hello\n\n"])]);
    let lines = first_lines(&[&peer.url("/"), "--comments"], 3);
    assert_eq!(kinds(&lines), ["open", "comment", "message"]);
    assert_eq!(lines[1]["text"], "comment");
    assert_eq!(lines[2]["data"], "Hello");
}

// ----- tests_comments.go -----

/// "single comment".
#[test]
fn single_comment() {
    let peer = stream_server(vec![Stream::sends(&[":Hello\n"])]);
    let lines = first_lines(&[&peer.url("/"), "--comments"], 2);
    assert_eq!(kinds(&lines), ["open", "comment"]);
    assert_eq!(lines[1]["text"], "Hello");
}

/// "two comments in a row".
#[test]
fn two_comments_in_a_row() {
    let peer = stream_server(vec![Stream::sends(&[":Hello\n", ":World\n"])]);
    let lines = first_lines(&[&peer.url("/"), "--comments"], 3);
    assert_eq!(kinds(&lines), ["open", "comment", "comment"]);
    assert_eq!(
        (&lines[1]["text"], &lines[2]["text"]),
        (&"Hello".into(), &"World".into())
    );
}

/// "comment before event" and "comment after event".
#[test]
fn comments_before_and_after_an_event() {
    for (sends, order) in [
        (
            [":Hello\n", "data: Hello\n\n"],
            ["open", "comment", "message"],
        ),
        (
            ["data: Hello\n\n", ":Hello\n"],
            ["open", "message", "comment"],
        ),
    ] {
        let peer = stream_server(vec![Stream::sends(&sends)]);
        let lines = first_lines(&[&peer.url("/"), "--comments"], 3);
        assert_eq!(kinds(&lines), order);
        for l in &lines[1..] {
            assert!(l["text"] == "Hello" || (l["type"] == "message" && l["data"] == "Hello"));
        }
    }
}

// ----- tests_linefeeds.go -----

/// Every terminator (LF, CRLF, CR) × the six inputs × one chunk, 1- and
/// 2-character chunks.
#[test]
fn linefeeds() {
    for t in ["\n", "\r\n", "\r"] {
        let cases: [(String, Vec<&str>); 6] = [
            (format!("data: event 1{t}{t}"), vec!["event 1"]),
            (
                format!("data: event 1{t}{t}data: event 2 line 1{t}data: event 2 line 2{t}{t}"),
                vec!["event 1", "event 2 line 1\nevent 2 line 2"],
            ),
            (
                format!("data:{t}data: line2{t}data: line3{t}{t}"),
                vec!["\nline2\nline3"],
            ),
            (
                format!("data: line1{t}data:{t}data: line3{t}{t}"),
                vec!["line1\n\nline3"],
            ),
            (
                format!("data: event 1{t}{t}{t}data: event 2{t}{t}"),
                vec!["event 1", "event 2"],
            ),
            (
                format!("data: event 1{t}{t}{t}{t}data: event 2{t}{t}"),
                vec!["event 1", "event 2"],
            ),
        ];
        for (input, expected) in cases {
            for size in [input.len(), 1, 2] {
                let stream = Stream::in_chunks(&input, size, Duration::from_millis(1));
                let peer = stream_server(vec![stream]);
                let n = expected.len().to_string();
                let out = listen(&[&peer.url("/"), "--json", "--max-events", &n]);
                assert_eq!(data(&json_lines(&out)), expected, "{input:?} in {size}s");
            }
        }
    }
}

/// "CRLF where CR is end of 1 chunk".
#[test]
fn crlf_where_cr_ends_a_chunk() {
    let stream = Stream {
        sends: [
            "data: Hello\r",
            "\ndata: World\r",
            "\n\r\ndata: OK\r",
            "\n",
            "\r",
            "\n",
        ]
        .map(|s| s.as_bytes().to_vec())
        .to_vec(),
        pause: Duration::from_millis(5),
        break_after: false,
    };
    let peer = stream_server(vec![stream]);
    // An LF after a chunk's CR taken for a blank line would dispatch
    // "Hello" alone.
    let lines = first_lines(&[&peer.url("/")], 3);
    assert_eq!(data(&lines), ["Hello\nWorld", "OK"]);
}

// ----- tests_http_behavior.go -----

/// "default method and headers".
#[test]
fn default_method_and_headers() {
    let peer = stream_server(vec![Stream::sends(&["data: x\n\n"])]);
    let out = listen(&[&peer.url("/"), "--max-events", "1"]);
    assert!(out.status.success());
    let r = &peer.requests()[0];
    assert_eq!(r.method, "GET");
    assert_eq!(r.header("accept"), Some("text/event-stream"));
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert_eq!(r.header("last-event-id"), None);
}

/// "204 halts re-connection attempts": one request, even after a second.
#[test]
fn status_204_halts_reconnection() {
    let peer = Peer::serve(|_, _, mut s| {
        let _ = s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n");
        hold(s);
    });
    let out = listen(&[&peer.url("/"), "--json", "--retry-ms", "0"]);
    assert!(out.status.success(), "{out:?}");
    thread::sleep(Duration::from_secs(1));
    assert_eq!(peer.connections(), 1);
}

/// "client follows 301 redirect" and "client follows 307 redirect": the
/// redirect's `Location` is the stream's absolute URL, its body empty.
#[test]
fn client_follows_301_and_307_redirects() {
    for status in ["301 Moved Permanently", "307 Temporary Redirect"] {
        let stream = Stream::sends(&["data: hello\n\n"]);
        let peer = Peer::serve(move |_, request, mut s| {
            if request.target == "/redirect" {
                let location = format!("http://{}/stream", s.local_addr().unwrap());
                let head = format!(
                    "HTTP/1.1 {status}\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n"
                );
                let _ = s.write_all(head.as_bytes());
                hold(s);
            } else {
                stream.serve(s);
            }
        });
        let out = listen(&[&peer.url("/redirect"), "--json", "--max-events", "1"]);
        assert!(out.status.success(), "{status}: {out:?}");
        let lines = json_lines(&out);
        assert_eq!(kinds(&lines), ["open", "message"], "{status}");
        assert_eq!(data(&lines), ["hello"]);
    }
}

/// "client handles empty Location header with 301/307 status" and "…
/// missing Location header …": an error, not a loop nor a silent retry of
/// the same URL.
#[test]
fn client_handles_an_empty_or_missing_location() {
    for status in ["301 Moved Permanently", "307 Temporary Redirect"] {
        for location in [Some(""), None] {
            let peer = Peer::serve(move |_, _, mut s| {
                let header = location.map_or(String::new(), |l| format!("Location: {l}\r\n"));
                let head = format!("HTTP/1.1 {status}\r\n{header}Content-Length: 0\r\n\r\n");
                let _ = s.write_all(head.as_bytes());
                hold(s);
            });
            let out = listen(&[&peer.url("/"), "--json", "--retry-ms", "0"]);
            assert_eq!(out.status.code(), Some(1), "{status} {location:?}: {out:?}");
            let lines = json_lines(&out);
            assert_eq!(kinds(&lines), ["error"], "{status} {location:?}");
            assert_eq!(lines[0]["reconnecting"], false);
            assert!(peer.connections() <= 11, "{}", peer.connections());
        }
    }
}

/// "custom headers".
#[test]
fn custom_headers() {
    let peer = stream_server(vec![Stream::sends(&["data: x\n\n"])]);
    let out = listen(&[
        &peer.url("/"),
        "--max-events",
        "1",
        "-H",
        "header-name-1: value-1",
        "-H",
        "header-name-2: value-2",
    ]);
    assert!(out.status.success());
    let r = &peer.requests()[0];
    assert_eq!(r.header("header-name-1"), Some("value-1"));
    assert_eq!(r.header("header-name-2"), Some("value-2"));
}

/// "POST request" and "REPORT request": method, content type and body.
#[test]
fn post_and_report_requests() {
    for method in ["POST", "REPORT"] {
        let peer = stream_server(vec![Stream::sends(&["data: x\n\n"])]);
        let body = r#"{"hello": "world"}"#;
        let out = listen(&[
            &peer.url("/"),
            "--max-events",
            "1",
            "-X",
            method,
            "-H",
            "content-type: application/json; charset=utf-8",
            "--data",
            body,
        ]);
        assert!(out.status.success(), "{method}: {out:?}");
        let r = &peer.requests()[0];
        assert_eq!(r.method, method);
        assert_eq!(
            r.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(r.body, body);
    }
}

/// "sends Last-Event-Id in initial request if set".
#[test]
fn last_event_id_in_the_initial_request() {
    let peer = stream_server(vec![Stream::sends(&["data: x\n\n"])]);
    let out = listen(&[
        &peer.url("/"),
        "--max-events",
        "1",
        "--last-event-id",
        "abc",
    ]);
    assert!(out.status.success());
    assert_eq!(last_event_ids(&peer.requests()), [Some("abc".into())]);
}

// ----- tests_reconnection.go -----

/// Runs `sse listen` against `streams` until `n` messages, with the
/// harness's initial delay of 0; the requests the server saw.
fn reconnecting(streams: Vec<Stream>, n: usize, extra: &[&str]) -> (Vec<String>, Vec<Request>) {
    let peer = stream_server(streams);
    let (n, url) = (n.to_string(), peer.url("/"));
    let args = [
        &[
            url.as_str(),
            "--json",
            "--retry-ms",
            "0",
            "--max-events",
            &n,
        ],
        extra,
    ]
    .concat();
    let out = listen(&args);
    assert!(out.status.success(), "{out:?}");
    (data(&json_lines(&out)), peer.requests())
}

/// "sends ID of last received event".
#[test]
fn sends_the_id_of_the_last_received_event() {
    let (got, requests) = reconnecting(
        vec![
            Stream::sends(&["id: abc\ndata: Hello\n\n"]).then_break(),
            Stream::sends(&["data: again\n\n"]),
        ],
        2,
        &[],
    );
    assert_eq!(got, ["Hello", "again"]);
    assert_eq!(last_event_ids(&requests), [None, Some("abc".into())]);
}

/// "sends ID of last received event that had an ID if later events did not".
#[test]
fn sends_the_last_id_seen_when_later_events_had_none() {
    let (got, requests) = reconnecting(
        vec![
            Stream::sends(&["id: abc\ndata: Hello\n\n", "data: World\n\n"]).then_break(),
            Stream::sends(&["data: again\n\n"]),
        ],
        3,
        &[],
    );
    assert_eq!(got, ["Hello", "World", "again"]);
    assert_eq!(last_event_ids(&requests), [None, Some("abc".into())]);
}

/// "last event ID can be explicitly overridden with an empty value": no
/// header at all on the reconnect.
#[test]
fn an_empty_id_clears_the_last_event_id() {
    let (got, requests) = reconnecting(
        vec![
            Stream::sends(&["id: abc\ndata: Hello\n\n", "id: \ndata: World\n\n"]).then_break(),
            Stream::sends(&["data: again\n\n"]),
        ],
        3,
        &[],
    );
    assert_eq!(got, ["Hello", "World", "again"]);
    assert_eq!(last_event_ids(&requests), [None, None]);
}

/// "resends request body if any when reconnecting" (asked for with
/// `--reconnect`: a POST stream is one-shot otherwise).
#[test]
fn resends_the_request_body_when_reconnecting() {
    let body = r#"{"hello": "world"}"#;
    let (_, requests) = reconnecting(
        vec![
            Stream::sends(&["data: one\n\n"]).then_break(),
            Stream::sends(&["data: two\n\n"]),
        ],
        2,
        &[
            "-X",
            "POST",
            "-H",
            "content-type: application/json; charset=utf-8",
            "--data",
            body,
            "--reconnect",
        ],
    );
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert_eq!((r.method.as_str(), r.body.as_str()), ("POST", body));
        assert_eq!(
            r.header("content-type"),
            Some("application/json; charset=utf-8")
        );
    }
}

/// "can set read timeout": silence for longer than it is an error, then a
/// new connection.
#[test]
fn read_timeout() {
    let peer = stream_server(vec![Stream::sends(&["data: Hello\n\n"])]);
    let lines = first_lines(
        &[&peer.url("/"), "--retry-ms", "0", "--timeout-ms", "500"],
        4,
    );
    assert_eq!(kinds(&lines), ["open", "message", "error", "open"]);
    assert_eq!(lines[2]["message"], "stream idle for too long");
    assert_eq!(lines[2]["reconnecting"], true);
    assert!(peer.connections() >= 2);
}

/// "discards partial messages on retry".
#[test]
fn discards_partial_messages_on_retry() {
    let (got, _) = reconnecting(
        vec![
            Stream::sends(&["id: abc\ndata: Hello\n\nid: def\ndata: Goodbye"]).then_break(),
            Stream::sends(&["data: We meet again\n\n"]),
        ],
        2,
        &[],
    );
    assert_eq!(got, ["Hello", "We meet again"]);
}

/// "new connection established after breaking previous is functional".
#[test]
fn the_connection_after_a_break_works() {
    let peer = stream_server(vec![
        Stream::sends(&["id: abc\ndata: Hello\n\n"]).then_break(),
        Stream::sends(&["id: def\ndata: World\n\n"]),
    ]);
    let lines = first_lines(&[&peer.url("/"), "--retry-ms", "0"], 5);
    let got = messages(&lines);
    assert_eq!(
        got,
        [
            ("message".into(), "Hello".into(), "abc".into()),
            ("message".into(), "World".into(), "def".into())
        ]
    );
}
