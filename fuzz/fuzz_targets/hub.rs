//! Drives a broadcast hub and three subscribers with arbitrary publishes
//! (bursts), per-subscriber sends (directly and through an outbox), peeks
//! with any budget, writes the socket took or refused, time, deadlines
//! (keep-alive, lag window), a waiting publisher releasing stalled
//! subscribers, subscribers leaving and closes, on a small log, a small
//! backlog and small queues. Checks: no panic; what each subscriber
//! committed parses as an event stream whose broadcast events' IDs strictly
//! increase (no event twice, none out of order, whatever the lag policy);
//! subscriber 0, whose socket never refuses a write, gets every broadcast
//! event exactly once unless a publisher released it; nothing follows a
//! lagged close; publishes are refused only while the backlog is full, and
//! what the hub holds beyond the log stays within its bound plus one log;
//! a stream's own queue stays within its bound (or one message); a commit
//! with nothing offered takes nothing.
#![no_main]

use arbitrary::Arbitrary;
use core::time::Duration;
use libfuzzer_sys::fuzz_target;
use sse_core::encode::Message;
use sse_core::hub::{BacklogLimits, Hub, PublishError, Subscriber};
use sse_core::outbox::Outbox;
use sse_core::parse::parse_all;
use sse_core::replay::LogLimits;
use sse_core::server::{CloseReason, Config, LagPolicy, Notice};
use sse_core::Instant;

#[derive(Arbitrary, Debug)]
enum Op {
    Publish(String),
    /// This many publishes back to back.
    Burst(u8),
    Send {
        to: u8,
        data: String,
    },
    Outbox {
        to: u8,
        data: String,
    },
    /// Peek with this budget; the socket takes it (`true`) or refuses.
    Write {
        to: u8,
        max: u16,
        taken: bool,
    },
    Advance(u16),
    Timeout(u8),
    Close(u8),
    /// A write stuck part way: does the subscriber lag?
    CheckLag(u8),
    /// A publisher with a clock waits for room (see `Hub::release_stalled`).
    ReleaseStalled,
    /// The connection ends.
    Leave(u8),
}

#[derive(Arbitrary, Debug)]
struct Input {
    max_events: u8,
    max_bytes: u16,
    backlog_events: u8,
    backlog_bytes: u16,
    lag_window_ms: u16,
    skip_ahead: [bool; 3],
    max_queued: [u8; 3],
    comment_notices: bool,
    ops: Vec<Op>,
}

struct Sub {
    sub: Subscriber,
    outbox: Outbox,
    wire: Vec<u8>,
    lagged_at: Option<usize>,
    left: bool,
}

fuzz_target!(|input: Input| {
    let log_events = usize::from(input.max_events % 8) + 1;
    let backlog = BacklogLimits {
        max_events: usize::from(input.backlog_events % 16),
        max_bytes: usize::from(input.backlog_bytes),
    };
    let mut hub = Hub::new(LogLimits {
        max_events: log_events,
        max_bytes: usize::from(input.max_bytes) + 1,
    })
    .with_backlog(backlog);
    let mut published: Vec<u64> = Vec::new();
    let mut released_by_publisher = false;
    let mut now = Instant::ZERO;
    let mut subs: Vec<Sub> = (0..3)
        .map(|i| {
            let config = Config {
                keep_alive: Some(Duration::from_millis(100)),
                max_queued_bytes: usize::from(input.max_queued[i]) + 1,
                lag: if input.skip_ahead[i] {
                    LagPolicy::SkipAhead
                } else {
                    LagPolicy::Disconnect
                },
                notice: if input.comment_notices {
                    Notice::Comment
                } else {
                    Notice::default()
                },
                lag_window: Duration::from_millis(u64::from(input.lag_window_ms)),
                ..Config::default()
            };
            Sub {
                outbox: Outbox::new(&config),
                sub: hub.subscribe(now, None, config),
                wire: Vec::new(),
                lagged_at: None,
                left: false,
            }
        })
        .collect();
    for op in input.ops.into_iter().take(500) {
        match op {
            Op::Publish(data) => {
                publish(&mut hub, &format!("b:{data}"), &mut published, backlog, log_events);
            }
            Op::Burst(n) => {
                for i in 0..n {
                    publish(&mut hub, &format!("b:{i}"), &mut published, backlog, log_events);
                }
            }
            Op::ReleaseStalled => {
                released_by_publisher = true;
                hub.release_stalled(now);
            }
            Op::Leave(to) => {
                let s = &mut subs[usize::from(to % 3)];
                hub.unsubscribe(&mut s.sub);
                s.left = true;
            }
            Op::Send { to, data } => {
                let s = &mut subs[usize::from(to % 3)];
                let _ = s.sub.stream().send(&Message::new(&format!("o:{data}")));
            }
            Op::Outbox { to, data } => {
                let msg = format!("o:{data}");
                let _ = subs[usize::from(to % 3)].outbox.push(&Message::new(&msg));
            }
            Op::Write { to, max, taken } => {
                let to = usize::from(to % 3);
                // Subscriber 0's socket takes whatever it is offered.
                let taken = taken || to == 0;
                let s = &mut subs[to];
                s.outbox.drain_into(s.sub.stream());
                let cursor = s.sub.cursor();
                let mut offered = Vec::new();
                let n = hub.peek_transmit(&mut s.sub, now, usize::from(max), |b| {
                    offered.extend_from_slice(b)
                });
                assert_eq!(n, offered.len());
                if s.sub.closed() == Some(CloseReason::Lagged) {
                    assert!(offered.is_empty(), "bytes offered after a lagged close");
                    s.lagged_at.get_or_insert(s.wire.len());
                }
                if taken {
                    s.wire.extend_from_slice(&offered);
                    hub.handle_written(&mut s.sub, now);
                } else if !offered.is_empty() {
                    hub.handle_blocked(&mut s.sub, now);
                } else {
                    // A commit with nothing offered takes nothing.
                    hub.handle_written(&mut s.sub, now);
                    assert!(s.sub.cursor() >= cursor);
                }
            }
            Op::Advance(ms) => now = now + Duration::from_millis(u64::from(ms)),
            Op::Timeout(to) => {
                let s = &mut subs[usize::from(to % 3)];
                hub.handle_timeout(&mut s.sub, now);
            }
            Op::Close(to) => subs[usize::from(to % 3)].sub.stream().close(),
            Op::CheckLag(to) => {
                let s = &mut subs[usize::from(to % 3)];
                let lags = hub.close_if_lagging(&mut s.sub);
                assert_eq!(lags, s.sub.closed() == Some(CloseReason::Lagged));
                if lags {
                    assert_eq!(s.sub.stream().config().lag, LagPolicy::Disconnect);
                    s.lagged_at.get_or_insert(s.wire.len());
                }
            }
        }
        for s in &mut subs {
            let stream = s.sub.stream();
            let bound = stream.config().max_queued_bytes.max(64 << 10);
            assert!(stream.queued_bytes() <= bound, "own queue over its bound");
        }
        assert!(
            hub.backlog().events <= backlog.max_events + log_events,
            "backlog {:?} over {backlog:?}",
            hub.backlog()
        );
        if hub.poll_room() {
            assert!(hub.check_room());
        }
    }
    // Subscriber 0 reads everything that is left.
    let reader = &mut subs[0];
    if !reader.left {
        loop {
            let mut offered = Vec::new();
            hub.peek_transmit(&mut reader.sub, now, 1 << 16, |b| {
                offered.extend_from_slice(b)
            });
            if offered.is_empty() {
                break;
            }
            reader.wire.extend_from_slice(&offered);
            hub.handle_written(&mut reader.sub, now);
        }
    }
    // A reader whose socket never refused, and that no waiting publisher
    // let go, lost nothing and got nothing twice (it may have been closed
    // by the application, or left).
    let reader = &subs[0];
    let ids: Vec<u64> = parse_all(&reader.wire)
        .into_iter()
        .flatten()
        .filter(|e| e.data().as_str().starts_with("b:"))
        .map(|e| e.id().as_str().parse().expect("a broadcast ID"))
        .collect();
    if !released_by_publisher && !reader.left && reader.sub.closed().is_none() {
        assert_eq!(ids, published, "the reader lost or repeated events");
    }
    for s in &subs {
        if let Some(at) = s.lagged_at {
            assert_eq!(at, s.wire.len(), "bytes written after a lagged close");
        }
        // Broadcast events (data `b:…`) carry their sequence number as ID;
        // own sends (`o:…`) and notices carry none.
        let mut last: Option<u64> = None;
        for event in parse_all(&s.wire).into_iter().flatten() {
            if !event.data().as_str().starts_with("b:") {
                continue;
            }
            let id: u64 = event.id().as_str().parse().expect("a broadcast ID");
            assert!(last.map_or(true, |l| id > l), "ID {id} after {last:?}");
            last = Some(id);
        }
    }
});

/// Publishes `data`, checking that it is refused only while the backlog is
/// full; records the sequence numbers published.
fn publish(
    hub: &mut Hub,
    data: &str,
    published: &mut Vec<u64>,
    backlog: BacklogLimits,
    log_events: usize,
) {
    let before = hub.backlog();
    let full = before.events > 0
        && (before.events >= backlog.max_events || before.bytes >= backlog.max_bytes);
    match hub.publish(&Message::new(data)) {
        Ok(seq) => {
            assert!(!full, "published while full: {before:?}");
            published.push(seq);
        }
        Err(PublishError::Full) => assert!(full, "refused while not full: {before:?}"),
        Err(e) => panic!("{e}"),
    }
    assert!(hub.backlog().events <= backlog.max_events + log_events);
}
