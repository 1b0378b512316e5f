//! Drives the EventSource client machine with arbitrary responses, body
//! bytes, errors, user actions and time steps. Checks: no panic; the ready
//! state agrees with the last notification; no Connect action before the
//! reconnect deadline; no Connect while the machine takes a transport
//! input (the inputs after it could not be told from the old
//! connection's); a closed client stays silent; output per input is
//! bounded by that input (no unbounded growth).
#![no_main]

use arbitrary::Arbitrary;
use core::time::Duration;
use libfuzzer_sys::fuzz_target;
use sse_core::client::{
    Action, Backoff, Client, Config, Method, Notification, ReadyState, Reconnect, TransportError,
    Want,
};
use sse_core::{url::Url, Instant};

#[derive(Arbitrary, Debug)]
enum Op {
    Connected,
    ConnectFailed,
    Head {
        status: u16,
        content_type: u8,
        location: Option<String>,
        retry_after: Option<u16>,
    },
    Bytes(Vec<u8>),
    Eof,
    TransportError,
    Advance(u32),
    Timeout,
    Close,
    Reopen,
    SetId(String),
}

#[derive(Arbitrary, Debug)]
struct Input {
    post: bool,
    reconnect: u8,
    backoff: Option<(u16, bool)>,
    seed: u64,
    idle_ms: Option<u16>,
    connect_ms: Option<u16>,
    retry_5xx: bool,
    max_error_body: u8,
    max_redirects: u8,
    want: u8,
    ops: Vec<Op>,
}

const CONTENT_TYPES: [&str; 5] = [
    "text/event-stream",
    "TEXT/event-stream;x=1",
    "text/plain",
    "x bogus",
    "",
];

fuzz_target!(|input: Input| {
    let mut config = Config::default();
    if input.post {
        config.method = Method::Post;
        config.body = Some("{}".into());
    }
    config.reconnect =
        [Reconnect::Auto, Reconnect::Always, Reconnect::Never][usize::from(input.reconnect % 3)];
    config.backoff = input.backoff.map(|(max, jitter)| Backoff {
        max: Duration::from_millis(u64::from(max)),
        jitter,
    });
    config.seed = input.seed;
    config.idle_timeout = input.idle_ms.map(|ms| Duration::from_millis(u64::from(ms)));
    config.connect_timeout = input
        .connect_ms
        .map(|ms| Duration::from_millis(u64::from(ms)));
    if input.retry_5xx {
        config.retry_statuses = vec![429..=429, 500..=599];
    }
    config.max_error_body = usize::from(input.max_error_body);
    config.max_redirects = u32::from(input.max_redirects % 12);
    config.want = Want::from_bits_truncate(input.want | 1);
    config.limits.max_line_len = 256;
    config.limits.max_event_size = 1024;
    let want_all = config.want == Want::ALL;

    let url = Url::parse("http://fuzz.test/stream").unwrap();
    let mut now = Instant::ZERO;
    let mut client = Client::new(url, config, now);
    let mut reconnect_deadline: Option<Instant> = None;
    let mut closed_by_user = false;
    assert!(matches!(client.poll_action(), Some(Action::Connect(_))));

    for op in input.ops {
        let mut size = 0usize;
        let transport_input = matches!(
            op,
            Op::Connected
                | Op::ConnectFailed
                | Op::Head { .. }
                | Op::Bytes(_)
                | Op::Eof
                | Op::TransportError
        );
        match op {
            Op::Connected => client.handle_connected(now),
            Op::ConnectFailed => client.handle_connect_failed(now, TransportError::Refused),
            Op::Head {
                status,
                content_type,
                location,
                retry_after,
            } => {
                let mut headers: Vec<(String, String)> = Vec::new();
                let ct = CONTENT_TYPES[usize::from(content_type) % CONTENT_TYPES.len()];
                if !ct.is_empty() {
                    headers.push(("Content-Type".into(), ct.into()));
                }
                if let Some(l) = location {
                    size += l.len();
                    headers.push(("Location".into(), l));
                }
                if let Some(r) = retry_after {
                    headers.push(("Retry-After".into(), r.to_string()));
                }
                client.handle_response_head(
                    now,
                    status,
                    headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
                );
            }
            Op::Bytes(b) => {
                size += b.len();
                client.handle_bytes(now, &b);
            }
            Op::Eof => client.handle_eof(now),
            Op::TransportError => client.handle_transport_error(now, TransportError::Reset),
            Op::Advance(ms) => now = now + Duration::from_millis(u64::from(ms)),
            Op::Timeout => client.handle_timeout(now),
            Op::Close => {
                client.close();
                closed_by_user = true;
            }
            Op::Reopen => {
                client.reopen(now);
                closed_by_user = false;
                reconnect_deadline = None;
            }
            Op::SetId(id) => client.set_last_event_id(id),
        }

        let mut actions = 0;
        while let Some(action) = client.poll_action() {
            actions += 1;
            if let Action::Connect(request) = action {
                assert!(!transport_input, "connect on a transport input");
                if let Some(deadline) = reconnect_deadline.take() {
                    assert!(now >= deadline, "connect at {now:?} before {deadline:?}");
                }
                let id = client.last_event_id();
                assert_eq!(
                    request.header("Last-Event-ID"),
                    (!id.is_empty()).then_some(id.as_str())
                );
            }
        }
        assert!(actions <= 3, "{actions} actions for one input");

        let state = client.ready_state();
        let mut count = 0;
        let mut last = None;
        while let Some(n) = client.poll_notification() {
            count += 1;
            last = Some(n);
        }
        // One notification per event needs at least two input bytes, plus
        // open and error/close.
        assert!(
            count <= size / 2 + 3,
            "{count} notifications from {size} bytes"
        );
        if closed_by_user {
            assert_eq!(state, ReadyState::Closed);
            assert_eq!(count, 0);
            assert_eq!(client.poll_timeout(), None);
        }
        if want_all {
            match last {
                Some(Notification::Open | Notification::Message(_)) => {
                    assert_eq!(state, ReadyState::Open)
                }
                Some(Notification::Error {
                    reconnecting: true, ..
                }) => {
                    assert_eq!(state, ReadyState::Connecting);
                    reconnect_deadline = client.poll_timeout();
                    assert!(reconnect_deadline.is_some_and(|d| d >= now));
                }
                Some(
                    Notification::Error {
                        reconnecting: false,
                        ..
                    }
                    | Notification::Closed,
                ) => {
                    assert_eq!(state, ReadyState::Closed)
                }
                _ => {}
            }
        }
        if let Some(t) = client.poll_timeout() {
            assert!(state != ReadyState::Closed || t >= now);
        }
    }
});
