//! Client unit tests: the rules that the conformance scenarios do not reach
//! easily, and properties over arbitrary input sequences.
//!
//! Configs are built the way users outside the crate must (the struct is
//! `#[non_exhaustive]`): `default()`, then field assignments.
#![allow(clippy::field_reassign_with_default)]

use super::*;
use crate::time::Instant;
use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;
use proptest::prelude::*;

const SSE: [(&str, &str); 1] = [("Content-Type", "text/event-stream")];

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

fn client(config: Config) -> Client {
    Client::new(Url::parse("http://example.test/s").unwrap(), config, ms(0))
}

fn connect(c: &mut Client) -> Request {
    match c.poll_action() {
        Some(Action::Connect(r)) => r,
        other => panic!("expected connect, got {other:?}"),
    }
}

fn notes(c: &mut Client) -> Vec<Notification> {
    core::iter::from_fn(|| c.poll_notification()).collect()
}

#[test]
fn request_headers() {
    let mut config = Config::default();
    config.headers.push(("X-Key".into(), "k".into()));
    let mut c = client(config);
    let r = connect(&mut c);
    assert_eq!(r.method, Method::Get);
    assert_eq!(r.url.as_str(), "http://example.test/s");
    assert_eq!(r.header("accept"), Some("text/event-stream"));
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert_eq!(r.header("last-event-id"), None);
    assert_eq!(r.header("x-key"), Some("k"));
    assert_eq!(c.ready_state(), ReadyState::Connecting);
}

#[test]
fn open_message_eof_reconnect() {
    let mut c = client(Config::default());
    connect(&mut c);
    c.handle_response_head(ms(10), 200, SSE);
    c.handle_bytes(ms(20), b"id: 7\ndata: hi\n\ndata: partial");
    c.handle_eof(ms(30));
    let n = notes(&mut c);
    assert_eq!(n[0], Notification::Open);
    let Notification::Message(m) = &n[1] else {
        panic!()
    };
    assert_eq!(
        (m.event.data().as_str(), m.event.id().as_str()),
        ("hi", "7")
    );
    assert_eq!(m.origin, "http://example.test");
    assert_eq!(
        n[2],
        Notification::Error {
            reconnecting: true,
            error: ClientError::EndOfStream
        }
    );
    assert_eq!(n.len(), 3);
    assert_eq!(c.ready_state(), ReadyState::Connecting);
    assert_eq!(c.poll_timeout(), Some(ms(3030)));
    c.handle_timeout(ms(3029));
    assert!(c.poll_action().is_none());
    c.handle_timeout(ms(3030));
    let r = connect(&mut c);
    assert_eq!(r.header("Last-Event-ID"), Some("7"));
    c.handle_timeout(ms(3030));
    assert!(c.poll_action().is_none());
}

#[test]
fn time_never_goes_back() {
    let mut c = client(Config::default());
    connect(&mut c);
    c.handle_response_head(ms(100), 200, SSE);
    c.handle_eof(ms(50));
    assert_eq!(c.poll_timeout(), Some(ms(3100)));
}

#[test]
fn one_shot_post_closes_cleanly() {
    let mut config = Config::default();
    config.method = Method::Post;
    config.body = Some("{}".into());
    let mut c = client(config);
    let r = connect(&mut c);
    assert_eq!(r.body.as_deref(), Some(&b"{}"[..]));
    c.handle_response_head(ms(1), 200, SSE);
    c.handle_bytes(ms(1), b"data: tok\n\n");
    c.handle_eof(ms(2));
    let n = notes(&mut c);
    assert_eq!(n.last(), Some(&Notification::Closed));
    assert_eq!(c.ready_state(), ReadyState::Closed);
    assert_eq!(c.poll_timeout(), None);
    assert!(c.poll_action().is_none());
}

#[test]
fn error_body_is_kept_and_bounded() {
    let mut config = Config::default();
    config.max_error_body = 8;
    let mut c = client(config);
    connect(&mut c);
    c.handle_response_head(ms(1), 400, [("Content-Type", "application/json")]);
    assert_eq!(c.ready_state(), ReadyState::Connecting);
    c.handle_bytes(ms(2), b"{\"error\":");
    let n = notes(&mut c);
    assert_eq!(
        n,
        [Notification::Error {
            reconnecting: false,
            error: ClientError::Status {
                status: 400,
                content_type: Some("application/json".into()),
                body: "{\"error\"".into(),
            }
        }]
    );
    assert_eq!(c.poll_action(), Some(Action::Disconnect));
    assert_eq!(c.ready_state(), ReadyState::Closed);
}

#[test]
fn redirect_drops_authorization_across_origins() {
    let mut config = Config::default();
    config
        .headers
        .push(("Authorization".into(), "Bearer x".into()));
    let mut c = client(config);
    connect(&mut c);
    c.handle_response_head(ms(1), 307, [("Location", "http://other.test/s")]);
    c.handle_timeout(ms(1));
    let r = connect(&mut c);
    assert_eq!(r.header("authorization"), None);
    c.handle_response_head(ms(1), 307, [("Location", "http://example.test/back")]);
    c.handle_timeout(ms(1));
    assert_eq!(connect(&mut c).header("authorization"), Some("Bearer x"));
}

#[test]
fn a_redirects_body_and_end_are_not_the_next_connections() {
    let mut c = client(Config::default());
    connect(&mut c);
    c.handle_response_head(ms(5), 307, [("Location", "/final")]);
    assert!(!c.reads_response());
    // What a driver still hands over from the same read: the redirect's
    // body and its end (Content-Length reached, or the server's close).
    c.handle_bytes(ms(5), b"<a href=/final>moved</a>");
    c.handle_eof(ms(5));
    c.handle_transport_error(ms(5), TransportError::Reset);
    assert_eq!(c.poll_action(), None);
    assert_eq!(notes(&mut c), []);
    assert_eq!(c.ready_state(), ReadyState::Connecting);
    // The new connection is asked for at once, by the timer.
    assert_eq!(c.poll_timeout(), Some(ms(5)));
    c.handle_timeout(ms(5));
    let r = connect(&mut c);
    assert_eq!(r.url.as_str(), "http://example.test/final");
    assert!(c.reads_response());
    c.handle_response_head(ms(6), 200, SSE);
    c.handle_bytes(ms(6), b"data: a\n\n");
    let n = notes(&mut c);
    assert_eq!(n[0], Notification::Open);
    assert!(matches!(&n[1], Notification::Message(m) if m.event.data() == "a"));
    assert_eq!(n.len(), 2);
}

#[test]
fn close_while_following_a_redirect_disconnects() {
    let mut c = client(Config::default());
    connect(&mut c);
    c.handle_response_head(ms(5), 302, [("Location", "/x")]);
    c.close();
    assert_eq!(c.poll_action(), Some(Action::Disconnect));
    c.handle_timeout(ms(5));
    assert_eq!(c.poll_action(), None);
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn parse_errors_do_not_kill_the_stream() {
    let mut config = Config::default();
    config.limits.max_line_len = 8;
    let mut c = client(config);
    connect(&mut c);
    c.handle_response_head(ms(1), 200, SSE);
    c.handle_bytes(ms(1), b"data: 0123456789\n\ndata: ok\n\n");
    let n = notes(&mut c);
    assert!(matches!(n[1], Notification::ParseError(_)));
    assert!(matches!(&n[2], Notification::Message(m) if m.event.data() == "ok"));
    assert_eq!(c.ready_state(), ReadyState::Open);
}

#[test]
fn errors_display() {
    let e = ClientError::Status {
        status: 503,
        content_type: None,
        body: Default::default(),
    };
    assert_eq!(e.to_string(), "unexpected status 503");
    assert_eq!(
        ClientError::ConnectFailed(TransportError::Refused).to_string(),
        "connect failed: connection refused"
    );
}

/// One arbitrary input for the property test.
#[derive(Clone, Debug)]
enum Input {
    Connected,
    ConnectFailed,
    Head(u16, u8, u8),
    Bytes(Vec<u8>),
    Eof,
    TransportError,
    Advance(u16),
    Timeout,
    Close,
    Reopen,
    SetId(bool),
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        Just(Input::Connected),
        Just(Input::ConnectFailed),
        (
            prop::sample::select(vec![
                200u16, 204, 301, 302, 303, 307, 308, 400, 429, 500, 503
            ]),
            0u8..4,
            0u8..4
        )
            .prop_map(|(s, t, l)| Input::Head(s, t, l)),
        prop::collection::vec(
            prop::sample::select(b"data: xyz\nid:\0retry: 12\r\n:".to_vec()),
            0..40
        )
        .prop_map(Input::Bytes),
        Just(Input::Eof),
        Just(Input::TransportError),
        any::<u16>().prop_map(Input::Advance),
        Just(Input::Timeout),
        Just(Input::Close),
        Just(Input::Reopen),
        any::<bool>().prop_map(Input::SetId),
    ]
}

proptest! {
    /// Whatever happens: no panic, notifications agree with the ready
    /// state, no Connect action before the deadline that produced it, and
    /// a closed client stays silent until reopened.
    #[test]
    fn machine_invariants(inputs in prop::collection::vec(input(), 0..60), backoff in any::<bool>(), post in any::<bool>(), comments in any::<bool>()) {
        let mut config = Config::default();
        config.idle_timeout = Some(Duration::from_millis(5000));
        config.connect_timeout = Some(Duration::from_millis(2000));
        config.retry_statuses = vec![429..=429, 500..=599];
        config.max_error_body = 4;
        config.max_redirects = 3;
        if backoff { config.backoff = Some(Backoff::default()); }
        if post { config.method = Method::Post; }
        if comments { config.want = Want::ALL; }
        let mut now = ms(0);
        let mut c = client(config);
        let mut deadline: Option<Instant> = None;
        prop_assert!(matches!(c.poll_action(), Some(Action::Connect(_))));
        for input in inputs {
            match &input {
                Input::Connected => c.handle_connected(now),
                Input::ConnectFailed => c.handle_connect_failed(now, TransportError::Refused),
                Input::Head(status, t, l) => {
                    let (status, t, l) = (*status, *t, *l);
                    let ct = ["text/event-stream", "text/plain", "Text/Event-Stream;x=y", ""][usize::from(t)];
                    let loc = ["/next", "http://other.test/", "ftp://x", ""][usize::from(l)];
                    let mut headers = vec![("Content-Type", ct), ("Retry-After", "1")];
                    if !loc.is_empty() { headers.push(("Location", loc)); }
                    c.handle_response_head(now, status, headers);
                }
                Input::Bytes(b) => c.handle_bytes(now, b),
                Input::Eof => c.handle_eof(now),
                Input::TransportError => c.handle_transport_error(now, TransportError::Reset),
                Input::Advance(d) => now = now + Duration::from_millis(u64::from(*d)),
                Input::Timeout => c.handle_timeout(now),
                Input::Close => c.close(),
                Input::Reopen => c.reopen(now),
                Input::SetId(empty) => c.set_last_event_id(if *empty { "" } else { "x" }),
            }
            let closed_by_user = matches!(input, Input::Close);
            // A transport input never yields a Connect: the inputs after it
            // could not be told apart from the old connection's.
            let transport_input = matches!(
                input,
                Input::Connected | Input::ConnectFailed | Input::Head(..) | Input::Bytes(_)
                    | Input::Eof | Input::TransportError
            );
            if matches!(input, Input::Reopen) {
                deadline = None;
            }
            while let Some(a) = c.poll_action() {
                if let Action::Connect(r) = a {
                    prop_assert!(!transport_input, "connect on {:?}", input);
                    if let Some(d) = deadline.take() {
                        prop_assert!(now >= d, "connect at {:?} before {:?}", now, d);
                    }
                    let id = c.last_event_id().clone();
                    prop_assert_eq!(r.header("last-event-id"), (!id.is_empty()).then_some(id.as_str()));
                }
            }
            let state = c.ready_state();
            let mut last = None;
            while let Some(n) = c.poll_notification() {
                last = Some(n);
            }
            let reconnecting = matches!(last, Some(Notification::Error { reconnecting: true, .. }));
            match last {
                Some(Notification::Open | Notification::Message(_)) => prop_assert_eq!(state, ReadyState::Open),
                Some(Notification::Error { reconnecting: true, .. }) => prop_assert_eq!(state, ReadyState::Connecting),
                Some(Notification::Error { reconnecting: false, .. } | Notification::Closed) => prop_assert_eq!(state, ReadyState::Closed),
                _ => {}
            }
            if closed_by_user {
                prop_assert_eq!(state, ReadyState::Closed);
                prop_assert_eq!(c.poll_timeout(), None);
            }
            if reconnecting {
                deadline = c.poll_timeout();
                prop_assert!(deadline.is_some_and(|d| d >= now));
            }
        }
    }
}

#[test]
fn followed_redirect_sets_origin() {
    let mut c = client(Config::default());
    connect(&mut c);
    c.handle_followed_redirect(ms(1), Url::parse("https://cdn.test:8443/x").unwrap());
    c.handle_response_head(ms(1), 200, SSE);
    c.handle_bytes(ms(1), b"data: a\n\n");
    let n = notes(&mut c);
    assert!(matches!(&n[1], Notification::Message(m) if m.origin == "https://cdn.test:8443"));
    assert_eq!(c.url().as_str(), "http://example.test/s");
    assert_eq!(c.current_url().as_str(), "https://cdn.test:8443/x");
}

#[test]
fn close_is_final_until_reopen() {
    let mut c = client(Config::default());
    connect(&mut c);
    c.close();
    assert_eq!(c.poll_action(), Some(Action::Disconnect));
    c.handle_response_head(ms(1), 200, SSE);
    c.handle_bytes(ms(1), b"data: a\n\n");
    c.handle_eof(ms(2));
    c.handle_timeout(ms(100_000));
    assert!(c.poll_action().is_none());
    assert!(c.poll_notification().is_none());
    assert_eq!(c.ready_state(), ReadyState::Closed);
    c.close();
    assert!(c.poll_action().is_none());
    c.reopen(ms(5));
    assert!(matches!(c.poll_action(), Some(Action::Connect(_))));
    assert_eq!(c.ready_state(), ReadyState::Connecting);
}

#[test]
fn a_single_line_as_large_as_an_event_is_delivered_by_default() {
    let limits = crate::parse::Limits::default();
    assert_eq!(limits.max_line_len, limits.max_event_size);
    let mut c = client(Config::default());
    connect(&mut c);
    c.handle_response_head(ms(1), 200, SSE);
    let data: Vec<u8> = (0..12 << 20).map(|i| b'a' + (i % 26) as u8).collect();
    let mut wire = b"data: ".to_vec();
    wire.extend_from_slice(&data);
    wire.extend_from_slice(b"\n\n");
    for piece in wire.chunks(64 << 10) {
        c.handle_bytes(ms(1), piece);
    }
    let n = notes(&mut c);
    assert_eq!(n.len(), 2, "{:?}", n.get(1));
    assert!(matches!(&n[1], Notification::Message(m) if m.event.data().as_bytes() == data));
}

/// Messages and comments as one list of strings.
fn messages_and_comments(n: &[Notification]) -> Vec<alloc::string::String> {
    n.iter()
        .filter_map(|n| match n {
            Notification::Message(m) => Some(alloc::format!("message {}", m.event.data())),
            Notification::Comment(c) => Some(alloc::format!("comment {c}")),
            _ => None,
        })
        .collect()
}

#[test]
fn comments_come_in_stream_order_when_wanted_whatever_the_chunking() {
    let wire: &[u8] =
        b"\xEF\xBB\xBF:first\ndata: a\r\n\r\n: c1\rdata: b\r\r:c2\n:\ndata: c\n:\xFFz\n\n";
    let expected = [
        "comment first",
        "message a",
        "comment  c1",
        "message b",
        "comment c2",
        "comment ",
        "comment \u{FFFD}z",
        "message c",
    ];
    for split in 0..=wire.len() {
        let mut config = Config::default();
        config.want = Want::ALL;
        let mut c = client(config);
        connect(&mut c);
        c.handle_response_head(ms(1), 200, SSE);
        c.handle_bytes(ms(1), &wire[..split]);
        c.handle_bytes(ms(1), &wire[split..]);
        assert_eq!(
            messages_and_comments(&notes(&mut c)),
            expected,
            "split {split}"
        );
    }
    // Byte by byte.
    let mut config = Config::default();
    config.want = Want::ALL;
    let mut c = client(config);
    connect(&mut c);
    c.handle_response_head(ms(1), 200, SSE);
    for b in wire {
        c.handle_bytes(ms(1), core::slice::from_ref(b));
    }
    assert_eq!(messages_and_comments(&notes(&mut c)), expected);
}

#[test]
fn comments_are_off_by_default_and_start_over_per_connection() {
    let mut c = client(Config::default());
    connect(&mut c);
    c.handle_response_head(ms(1), 200, SSE);
    c.handle_bytes(ms(1), b":hi\ndata: a\n\n");
    assert_eq!(messages_and_comments(&notes(&mut c)), ["message a"]);

    let mut config = Config::default();
    config.want = Want::MESSAGES | Want::COMMENTS;
    config.reconnection_time = Duration::from_millis(10);
    let mut c = client(config);
    connect(&mut c);
    c.handle_response_head(ms(1), 200, SSE);
    // An unfinished comment when the connection ends is not a line.
    c.handle_bytes(ms(1), b":one\n:unfini");
    c.handle_eof(ms(2));
    c.handle_timeout(ms(20));
    connect(&mut c);
    c.handle_response_head(ms(20), 200, SSE);
    c.handle_bytes(ms(20), b"shed\n:two\n");
    assert_eq!(
        messages_and_comments(&notes(&mut c)),
        ["comment one", "comment two"]
    );
}

#[test]
fn an_over_long_comment_is_reported_once() {
    let mut config = Config::default();
    config.want = Want::ALL;
    config.limits.max_line_len = 8;
    let mut c = client(config);
    connect(&mut c);
    c.handle_response_head(ms(1), 200, SSE);
    c.handle_bytes(ms(1), b":0123456789\n:ok\ndata: a\n\n");
    let n = notes(&mut c);
    let errors = n
        .iter()
        .filter(|n| matches!(n, Notification::ParseError(_)))
        .count();
    assert_eq!(errors, 1, "{n:?}");
    assert_eq!(messages_and_comments(&n), ["comment ok", "message a"]);
}
