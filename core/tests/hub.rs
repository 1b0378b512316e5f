//! Hub and server properties: resume exactly once, keep-alives exactly when
//! idle, bounded memory with backpressure, and a 10,000-subscriber fan-out.

use core::time::Duration;

use proptest::prelude::*;
use sse_core::encode::Message;
use sse_core::hub::{BacklogLimits, Hub, PublishError, Subscriber};
use sse_core::parse::Parser;
use sse_core::replay::{LogLimits, ReplayLog, EARLIEST};
use sse_core::server::{Config, LagPolicy, Notice, Stream, KEEP_ALIVE};
use sse_core::Instant;

#[derive(Clone, Debug)]
enum Op {
    Publish,
    /// Write up to this many chunks to the client.
    Deliver(u8),
    /// Drop the connection; the next chunk arrives cut after this many bytes.
    Drop(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Publish),
        3 => (1u8..6).prop_map(Op::Deliver),
        1 => any::<u8>().prop_map(Op::Drop),
    ]
}

fn take(client: &mut Parser, got: &mut Vec<String>) {
    while let Some(ev) = client.poll_event() {
        got.push(ev.unwrap().data().to_string());
    }
}

proptest! {
    #[test]
    fn reconnecting_with_the_last_id_delivers_every_event_once_in_order(ops in proptest::collection::vec(op(), 0..120)) {
        let mut hub = Hub::new(LogLimits { max_events: 1000, max_bytes: 1 << 20 });
        let now = Instant::ZERO;
        let mut client = Parser::new();
        let mut sub = hub.subscribe(now, None, Config::default());
        let mut got: Vec<String> = Vec::new();
        let mut published = 0u64;
        for op in ops {
            match op {
                Op::Publish => {
                    published += 1;
                    let data = format!("event {published}\nline two");
                    hub.publish(&Message::new(&data)).unwrap();
                }
                Op::Deliver(n) => {
                    for _ in 0..n {
                        let Some(bytes) = hub.poll_transmit(&mut sub, now) else { break };
                        client.handle_bytes(&bytes);
                    }
                }
                Op::Drop(cut) => {
                    if let Some(bytes) = hub.poll_transmit(&mut sub, now) {
                        let cut = usize::from(cut) % (bytes.len() + 1);
                        client.handle_bytes(&bytes[..cut]);
                    }
                    client.handle_eof();
                    take(&mut client, &mut got);
                    client.reset();
                    // A client that has seen nothing yet asks for everything
                    // (it subscribed before the first publish).
                    let id = client.last_event_id().to_string();
                    let id = if id.is_empty() { EARLIEST } else { id.as_str() };
                    sub = hub.subscribe(now, Some(id), Config::default());
                }
            }
            take(&mut client, &mut got);
        }
        while let Some(bytes) = hub.poll_transmit(&mut sub, now) {
            client.handle_bytes(&bytes);
        }
        take(&mut client, &mut got);
        let want: Vec<String> = (1..=published).map(|i| format!("event {i}\nline two")).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn keep_alives_come_exactly_when_idle(
        ops in proptest::collection::vec((0u64..40_000, any::<bool>()), 0..40),
        interval_ms in 1u64..20_000,
    ) {
        let interval = Duration::from_millis(interval_ms);
        let mut hub = Hub::default();
        let config = Config { keep_alive: Some(interval), ..Config::default() };
        let mut sub = hub.subscribe(Instant::ZERO, None, config);
        let mut now = Instant::ZERO;
        let mut last_write = Instant::ZERO;
        for (wait_ms, publish) in ops {
            let target = now + Duration::from_millis(wait_ms);
            while let Some(due) = sub.poll_timeout().filter(|t| *t <= target) {
                // The only deadline is exactly one interval after the last write.
                prop_assert_eq!(due, last_write + interval);
                hub.handle_timeout(&mut sub, due);
                hub.handle_timeout(&mut sub, due); // twice does nothing
                let keep_alive = hub.poll_transmit(&mut sub, due);
                prop_assert_eq!(keep_alive.as_deref(), Some(KEEP_ALIVE));
                prop_assert_eq!(hub.poll_transmit(&mut sub, due), None);
                last_write = due;
            }
            now = target;
            // Early calls do nothing.
            hub.handle_timeout(&mut sub, now);
            prop_assert_eq!(hub.poll_transmit(&mut sub, now), None);
            if publish {
                hub.publish(&Message::new("x")).unwrap();
                let bytes = hub.poll_transmit(&mut sub, now).unwrap();
                prop_assert!(bytes.starts_with(b"id: "));
                last_write = now;
            }
        }
    }

    #[test]
    fn memory_is_bounded_whatever_the_publish_rate(
        sizes in proptest::collection::vec(0usize..3000, 1..300),
        skip in any::<bool>(),
    ) {
        let limits = LogLimits { max_events: 64, max_bytes: 16 << 10 };
        let backlog = BacklogLimits { max_events: 128, max_bytes: 32 << 10 };
        let mut hub = Hub::new(limits).with_backlog(backlog);
        let lag = if skip { LagPolicy::SkipAhead } else { LagPolicy::Disconnect };
        let config = Config {
            lag,
            max_queued_bytes: 4096,
            lag_window: Duration::from_secs(1),
            ..Config::default()
        };
        // A subscriber whose socket refuses everything, one whose task never
        // runs, a stream with its own queue that never reads, and one that
        // reads now and then.
        let mut stalled = hub.subscribe(Instant::ZERO, None, config.clone());
        let mut asleep = hub.subscribe(Instant::ZERO, None, config.clone());
        let mut own = Stream::new(Instant::ZERO, config.clone());
        let mut reader = hub.subscribe(Instant::ZERO, None, config);
        let mut now = Instant::ZERO;
        let mut largest = 0;
        let mut refused = 0;
        for (i, size) in sizes.iter().enumerate() {
            now = now + Duration::from_millis(10);
            let data = "x".repeat(*size);
            let full = hub.backlog().events >= backlog.max_events
                || hub.backlog().bytes >= backlog.max_bytes;
            match hub.publish(&Message::new(&data)) {
                Ok(_) => prop_assert!(!full),
                Err(e) => {
                    // The publisher would wait here.
                    prop_assert_eq!(e, PublishError::Full);
                    prop_assert!(full);
                    refused += 1;
                }
            }
            let _ = own.send(&Message::new(&data));
            largest = largest.max(size + 32);
            hub.peek_transmit(&mut stalled, now, 1 << 10, |_| {});
            hub.handle_blocked(&mut stalled, now);
            hub.handle_timeout(&mut stalled, now);
            prop_assert!(hub.log().len() <= limits.max_events);
            prop_assert!(hub.log().retained_bytes() <= limits.max_bytes.max(largest));
            prop_assert!(hub.backlog().events <= backlog.max_events + limits.max_events);
            prop_assert!(
                hub.backlog().bytes <= backlog.max_bytes + limits.max_bytes.max(largest) + largest
            );
            prop_assert!(own.queued_bytes() <= 4096usize.max(largest));
            if i % 7 == 0 {
                while hub.poll_transmit(&mut reader, now).is_some() {}
            }
        }
        // The stalled subscriber holds no events of its own.
        prop_assert_eq!(stalled.stream().queued_bytes(), 0);
        // The sleeping one gets all that was published, once it runs.
        let published = hub.log().next_seq() - 1;
        prop_assert_eq!(published as usize + refused, sizes.len());
        let mut n = 0;
        while let Some(b) = hub.poll_transmit(&mut asleep, now) {
            let want = format!("id: {}\n", n + 1);
            prop_assert!(b.starts_with(want.as_bytes()));
            n += 1;
        }
        prop_assert_eq!(n, published);
        for sub in [&mut stalled, &mut asleep, &mut reader] {
            hub.unsubscribe(sub);
        }
        prop_assert_eq!(hub.backlog().events, 0);
    }
}

#[test]
fn ten_thousand_subscribers_each_get_every_event() {
    const SUBS: usize = 10_000;
    const EVENTS: u64 = 40;
    let mut hub = Hub::new(LogLimits {
        max_events: 64,
        max_bytes: 1 << 20,
    });
    let config = Config {
        notice: Notice::Silent,
        ..Config::default()
    };
    let mut subs: Vec<Subscriber> = (0..SUBS)
        .map(|_| hub.subscribe(Instant::ZERO, None, config.clone()))
        .collect();
    let mut next = vec![1u64; SUBS];
    for seq in 1..=EVENTS {
        hub.publish(&Message::new(&format!("payload {seq}")))
            .unwrap();
        // Half of them read only every other round: they must catch up.
        for (i, sub) in subs.iter_mut().enumerate() {
            if seq % 2 == 0 || i % 2 == 0 {
                assert!(hub.has_pending(sub));
                while let Some(bytes) = hub.poll_transmit(sub, Instant::ZERO) {
                    let want = format!("id: {0}\ndata: payload {0}\n\n", next[i]);
                    assert_eq!(bytes, want.as_bytes());
                    next[i] += 1;
                }
                assert!(!hub.has_pending(sub));
            }
        }
    }
    assert!(next.iter().all(|n| *n == EVENTS + 1));
    assert_eq!(hub.log().next_seq(), EVENTS + 1);
}
