//! Hub tests: ids, resume, peek-then-commit writing, and the hold rule
//! (bursts never drop a reading subscriber; only refused time counts).

use super::*;
use crate::replay::LogLimits;
use crate::server::Notice;
use alloc::vec::Vec;
use core::time::Duration;
use proptest::prelude::*;

fn small(max_events: usize) -> Hub {
    Hub::new(LogLimits {
        max_events,
        max_bytes: 1 << 20,
    })
}

fn config(lag: LagPolicy) -> Config {
    Config {
        lag,
        notice: Notice::Comment,
        lag_window: Duration::from_secs(1),
        ..Config::default()
    }
}

fn drain<L: ReplayLog>(hub: &mut Hub<L>, sub: &mut Subscriber) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(b) = hub.poll_transmit(sub, Instant::ZERO) {
        out.extend_from_slice(&b);
    }
    out
}

/// What a peek offers, concatenated.
fn peek(hub: &mut Hub, sub: &mut Subscriber, at: Instant, max: usize) -> Vec<u8> {
    let mut out = Vec::new();
    hub.peek_transmit(sub, at, max, |b| out.extend_from_slice(b));
    out
}

fn at(ms: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(ms)
}

/// `id: N\ndata: N\n\n` for each N in `range`.
fn events(range: core::ops::RangeInclusive<u64>) -> Vec<u8> {
    let mut out = Vec::new();
    for n in range {
        out.extend_from_slice(alloc::format!("id: {n}\ndata: {n}\n\n").as_bytes());
    }
    out
}

fn publish_n(hub: &mut Hub, range: core::ops::RangeInclusive<u64>) {
    for n in range {
        hub.publish(&Message::new(&alloc::format!("{n}"))).unwrap();
    }
}

#[test]
fn subscriber_state_is_small() {
    let size = core::mem::size_of::<Subscriber>();
    assert!(size <= 256, "Subscriber is {size} bytes");
    #[cfg(target_pointer_width = "64")]
    assert_eq!(size, 248, "update the documented size");
}

#[test]
fn ids_are_sequence_numbers_and_slices() {
    let mut hub = Hub::default();
    assert_eq!(hub.publish(&Message::new("a")), Ok(1));
    assert_eq!(hub.publish(&Message::new("b").id("x").retry(5)), Ok(2));
    assert_eq!(
        hub.publish(&Message::new("c").id("\n")),
        Err(PublishError::Encode(EncodeError::IdHasNewline))
    );
    assert_eq!(hub.log().get(1).unwrap().id, "1");
    assert_eq!(hub.log().get(2).unwrap().id, "x");
    assert_eq!(hub.log().next_seq(), 3);
}

#[test]
fn resume_policies_and_header() {
    let mut hub = small(2);
    for d in ["a", "b", "c", "d"] {
        hub.publish(&Message::new(d)).unwrap();
    }
    let mut sub = hub.subscribe(Instant::ZERO, Some("1"), Config::default());
    assert_eq!(
        sub.response_head().headers[3],
        ("Last-Event-ID", String::from("earliest"))
    );
    assert_eq!(
        drain(&mut hub, &mut sub),
        &b"event: sse-resync\ndata: {\"reason\":\"gap\",\"requested\":\"1\",\"resumed_after\":\"earliest\"}\n\nid: 3\ndata: c\n\nid: 4\ndata: d\n\n"[..]
    );
    let mut sub = hub.subscribe(Instant::ZERO, Some("zzz"), Config::default());
    assert_eq!(sub.response_head().headers[3].1, "4");
    assert_eq!(
        drain(&mut hub, &mut sub),
        &b"event: sse-resync\ndata: {\"reason\":\"unknown\",\"requested\":\"zzz\",\"resumed_after\":\"4\"}\n\n"[..]
    );
}

#[test]
fn a_burst_larger_than_the_log_reaches_subscribers_whose_tasks_have_not_run() {
    for (lag, burst) in [(LagPolicy::Disconnect, 4), (LagPolicy::SkipAhead, 20)] {
        let mut hub = small(2);
        let mut live = hub.subscribe(Instant::ZERO, None, config(lag));
        let mut late = hub.subscribe(Instant::ZERO, None, config(lag));
        // The whole burst is published before either subscriber runs.
        publish_n(&mut hub, 1..=burst);
        assert_eq!(hub.log().len(), 2);
        let beyond = usize::try_from(burst).unwrap() - 2;
        assert_eq!(hub.backlog().events, beyond);
        assert!(!hub.close_if_lagging(&mut live));
        assert_eq!(drain(&mut hub, &mut live), events(1..=burst));
        // The other one still needs them: they stay held.
        assert_eq!(hub.backlog().events, beyond);
        assert_eq!(drain(&mut hub, &mut late), events(1..=burst));
        assert_eq!(hub.backlog(), Backlog::default());
        assert_eq!((live.closed(), late.closed()), (None, None));
        // Up to date: nothing is held any more, the next publish costs nothing.
        publish_n(&mut hub, burst + 1..=burst + 1);
        assert_eq!(hub.backlog(), Backlog::default());
    }
}

#[test]
fn a_subscriber_that_refuses_writes_for_its_window_stops_holding_and_lags() {
    for (lag, expected) in [
        (LagPolicy::Disconnect, None),
        (
            LagPolicy::SkipAhead,
            Some(
                &b": {\"reason\":\"lagged\",\"skipped\":3,\"resumed_after\":\"earliest\"}\n\
                   id: 4\ndata: 4\n\nid: 5\ndata: 5\n\n"[..],
            ),
        ),
    ] {
        let mut hub = small(2);
        let mut sub = hub.subscribe(Instant::ZERO, None, config(lag));
        let mut reader = hub.subscribe(Instant::ZERO, None, config(lag));
        publish_n(&mut hub, 1..=1);
        assert_eq!(peek(&mut hub, &mut sub, at(0), 1 << 10), events(1..=1));
        // The socket takes nothing from 100 ms on.
        hub.handle_blocked(&mut sub, at(100));
        hub.handle_blocked(&mut sub, at(600)); // still since 100 ms
        assert_eq!(sub.poll_timeout(), Some(at(1100)));
        publish_n(&mut hub, 2..=5);
        assert_eq!(drain(&mut hub, &mut reader), events(1..=5));
        assert_eq!(hub.backlog().events, 3, "held for the blocked one");
        hub.handle_timeout(&mut sub, at(1099));
        assert!(!hub.close_if_lagging(&mut sub));
        hub.handle_timeout(&mut sub, at(1100));
        assert_eq!(hub.backlog(), Backlog::default());
        match expected {
            None => {
                // Closed at once: its connection can be dropped mid-event.
                assert_eq!(sub.closed(), Some(CloseReason::Lagged));
                assert!(hub.close_if_lagging(&mut sub));
                assert_eq!(peek(&mut hub, &mut sub, at(1100), 1 << 10), b"");
                assert_eq!(sub.poll_timeout(), None);
            }
            Some(expected) => {
                assert_eq!(sub.closed(), None);
                assert_eq!(drain(&mut hub, &mut sub), expected);
            }
        }
        // The reader was never affected.
        assert_eq!(reader.closed(), None);
    }
}

#[test]
fn only_refused_time_counts_and_any_write_restarts_the_window() {
    let mut hub = small(2);
    let mut sub = hub.subscribe(Instant::ZERO, None, config(LagPolicy::Disconnect));
    publish_n(&mut hub, 1..=3);
    assert_eq!(peek(&mut hub, &mut sub, at(0), 15), events(1..=1));
    hub.handle_blocked(&mut sub, at(0));
    // The socket takes a little at 900 ms: blocked again from 950 ms.
    hub.handle_written(&mut sub, at(900));
    assert_eq!(sub.poll_timeout(), Some(at(15_900)), "keep-alive only");
    hub.handle_blocked(&mut sub, at(950));
    publish_n(&mut hub, 4..=6);
    hub.handle_timeout(&mut sub, at(1500));
    assert_eq!(sub.closed(), None);
    assert_eq!(sub.poll_timeout(), Some(at(1950)));
    // It reads again before its window is over: everything arrives.
    hub.handle_written(&mut sub, at(1900));
    assert_eq!(drain(&mut hub, &mut sub), events(2..=6));
    // A long idle time without refused writes counts for nothing.
    hub.handle_timeout(&mut sub, at(60_000));
    publish_n(&mut hub, 7..=20);
    assert_eq!(drain(&mut hub, &mut sub), {
        let mut e = b":\n".to_vec();
        e.extend(events(7..=20));
        e
    });
}

#[test]
fn a_subscriber_stuck_mid_write_is_closed_once_its_window_is_over_and_it_lags() {
    let mut hub = small(2);
    let mut sub = hub.subscribe(Instant::ZERO, None, config(LagPolicy::Disconnect));
    let mut skip = hub.subscribe(Instant::ZERO, None, config(LagPolicy::SkipAhead));
    publish_n(&mut hub, 1..=1);
    for s in [&mut sub, &mut skip] {
        assert_eq!(peek(&mut hub, s, at(0), 1 << 10), events(1..=1));
        // The socket took part of it, then stopped taking anything.
        hub.handle_written(s, at(0));
        hub.handle_blocked(s, at(10));
    }
    publish_n(&mut hub, 2..=4);
    // Event 2 is no longer in the log, but held: not lagging.
    assert!(!hub.close_if_lagging(&mut sub));
    hub.handle_timeout(&mut sub, at(1010));
    assert_eq!(sub.closed(), Some(CloseReason::Lagged));
    assert!(hub.close_if_lagging(&mut sub), "and it stays so");
    // Skipping ahead is for the next peek: the stream stays open.
    hub.handle_timeout(&mut skip, at(1010));
    assert!(!hub.close_if_lagging(&mut skip));
    assert_eq!(skip.closed(), None);
    // A stream closed for another reason is not lagging.
    let mut done = hub.subscribe(Instant::ZERO, None, config(LagPolicy::Disconnect));
    done.stream().close();
    assert!(!hub.close_if_lagging(&mut done));
}

#[test]
fn a_full_backlog_refuses_publishes_until_a_reader_progresses() {
    let mut hub = small(2).with_backlog(BacklogLimits {
        max_events: 3,
        max_bytes: 1 << 20,
    });
    let mut sub = hub.subscribe(Instant::ZERO, None, config(LagPolicy::Disconnect));
    publish_n(&mut hub, 1..=5);
    assert_eq!(hub.backlog().events, 3);
    assert_eq!(hub.backlog().bytes, 3 * 15);
    assert!(!hub.poll_room(), "nothing was refused");
    assert!(!hub.check_room());
    assert_eq!(hub.publish(&Message::new("6")), Err(PublishError::Full));
    assert_eq!(hub.publish(&Message::new("6")), Err(PublishError::Full));
    assert_eq!(hub.log().next_seq(), 6, "nothing published");
    assert!(!hub.poll_room());
    // The subscriber takes one event: room for one more.
    assert_eq!(peek(&mut hub, &mut sub, at(0), 1), events(1..=1));
    assert!(!hub.poll_room(), "offered is not taken");
    hub.handle_written(&mut sub, at(0));
    assert!(hub.poll_room());
    assert!(!hub.poll_room(), "once");
    assert!(hub.check_room());
    publish_n(&mut hub, 6..=6);
    assert_eq!(drain(&mut hub, &mut sub), events(2..=6));
    // A byte bound works the same way.
    let mut hub = small(2).with_backlog(BacklogLimits {
        max_events: 100,
        max_bytes: 20,
    });
    let _sub = hub.subscribe(Instant::ZERO, None, config(LagPolicy::Disconnect));
    publish_n(&mut hub, 1..=4);
    assert_eq!(hub.backlog().bytes, 30);
    assert_eq!(hub.publish(&Message::new("5")), Err(PublishError::Full));
}

#[test]
fn unsubscribing_makes_room_and_foreign_or_stale_subscribers_do_no_harm() {
    let mut hub = small(1).with_backlog(BacklogLimits {
        max_events: 2,
        max_bytes: 1 << 20,
    });
    let mut sub = hub.subscribe(Instant::ZERO, None, config(LagPolicy::Disconnect));
    assert_eq!(hub.subscribers(), 1);
    publish_n(&mut hub, 1..=3);
    assert_eq!(hub.publish(&Message::new("4")), Err(PublishError::Full));
    hub.unsubscribe(&mut sub);
    hub.unsubscribe(&mut sub);
    assert_eq!(hub.subscribers(), 0);
    assert!(hub.poll_room());
    assert_eq!(hub.backlog(), Backlog::default());
    publish_n(&mut hub, 4..=4);
    // A new subscriber reuses the slot; the old handle stays harmless.
    let mut new = hub.subscribe(Instant::ZERO, None, config(LagPolicy::Disconnect));
    hub.unsubscribe(&mut sub);
    hub.handle_written(&mut sub, at(0));
    hub.handle_blocked(&mut sub, at(0));
    assert_eq!(hub.subscribers(), 1);
    publish_n(&mut hub, 5..=7);
    assert_eq!(hub.backlog().events, 2);
    // A subscriber of another hub is not counted here.
    let mut other = small(1);
    let mut stranger = other.subscribe(Instant::ZERO, None, config(LagPolicy::Disconnect));
    hub.unsubscribe(&mut stranger);
    hub.handle_timeout(&mut stranger, at(5000));
    assert_eq!(drain(&mut hub, &mut new), events(5..=7));
    assert_eq!(other.subscribers(), 1);
}

#[test]
fn a_resuming_subscriber_holds_from_where_it_resumes() {
    let mut hub = small(3);
    publish_n(&mut hub, 1..=3);
    let mut sub = hub.subscribe(Instant::ZERO, Some("1"), config(LagPolicy::Disconnect));
    let mut all = hub.subscribe(Instant::ZERO, Some(EARLIEST), config(LagPolicy::Disconnect));
    publish_n(&mut hub, 4..=12);
    assert_eq!(drain(&mut hub, &mut sub), events(2..=12));
    assert_eq!(drain(&mut hub, &mut all), events(1..=12));
}

#[test]
fn a_released_subscriber_that_reads_again_holds_again() {
    let mut hub = small(4);
    let mut sub = hub.subscribe(Instant::ZERO, None, config(LagPolicy::Disconnect));
    publish_n(&mut hub, 1..=1);
    assert!(!peek(&mut hub, &mut sub, at(0), 1 << 10).is_empty());
    hub.handle_blocked(&mut sub, at(0));
    hub.handle_timeout(&mut sub, at(1000));
    assert_eq!(sub.closed(), None, "its event is still in the log");
    assert!(!hub.holds.is_holding(sub.key));
    // It reads again: it holds again, and a burst does not drop it.
    assert_eq!(drain(&mut hub, &mut sub), events(1..=1));
    assert!(hub.holds.is_holding(sub.key));
    publish_n(&mut hub, 2..=30);
    assert_eq!(drain(&mut hub, &mut sub), events(2..=30));
}

#[test]
fn a_publisher_with_a_clock_releases_consumers_that_took_nothing_for_their_window() {
    let mut hub = small(1).with_backlog(BacklogLimits {
        max_events: 2,
        max_bytes: 1 << 20,
    });
    // A body whose server stopped polling it: it never reports refusals.
    let mut body = hub.subscribe(at(0), None, config(LagPolicy::Disconnect));
    let mut reader = hub.subscribe(at(0), None, config(LagPolicy::Disconnect));
    assert_eq!(hub.release_stalled(at(0)), None, "not full");
    publish_n(&mut hub, 1..=3);
    assert_eq!(drain(&mut hub, &mut reader), events(1..=3));
    assert_eq!(hub.publish(&Message::new("4")), Err(PublishError::Full));
    // The clock starts when the publisher first waits.
    assert_eq!(hub.release_stalled(at(5000)), Some(at(6000)));
    assert_eq!(hub.release_stalled(at(5999)), Some(at(6000)));
    assert!(!hub.poll_room());
    assert_eq!(hub.release_stalled(at(6000)), None);
    assert!(hub.poll_room());
    publish_n(&mut hub, 4..=4);
    assert_eq!(drain(&mut hub, &mut reader), events(4..=4));
    assert_eq!(drain(&mut hub, &mut body), b"");
    assert_eq!(body.closed(), Some(CloseReason::Lagged));
    // One that reported refusals is released by them: from 0 ms on.
    let mut hub = small(1).with_backlog(BacklogLimits {
        max_events: 1,
        max_bytes: 1 << 20,
    });
    let mut sub = hub.subscribe(at(0), None, config(LagPolicy::Disconnect));
    publish_n(&mut hub, 1..=2);
    hub.handle_blocked(&mut sub, at(0));
    assert_eq!(hub.release_stalled(at(500)), Some(at(1000)));
    assert_eq!(hub.release_stalled(at(1000)), None);
}

#[test]
fn a_peek_takes_nothing_until_written() {
    let mut hub = small(16);

    let mut sub = hub.subscribe(Instant::ZERO, None, Config::default());
    hub.publish(&Message::new("a")).unwrap();
    hub.publish(&Message::new("b")).unwrap();
    let both = b"id: 1\ndata: a\n\nid: 2\ndata: b\n\n";
    assert_eq!(peek(&mut hub, &mut sub, Instant::ZERO, 1 << 10), both);
    assert_eq!(peek(&mut hub, &mut sub, Instant::ZERO, 1 << 10), both);
    assert!(hub.has_pending(&sub));
    // A budget smaller than one event still offers one event.
    assert_eq!(
        peek(&mut hub, &mut sub, Instant::ZERO, 1),
        b"id: 1\ndata: a\n\n"
    );
    hub.handle_written(&mut sub, Instant::ZERO);
    assert_eq!(sub.cursor(), 2);
    assert_eq!(
        peek(&mut hub, &mut sub, Instant::ZERO, 1 << 10),
        b"id: 2\ndata: b\n\n"
    );
    hub.handle_written(&mut sub, Instant::ZERO);
    assert!(!hub.has_pending(&sub));
    assert_eq!(peek(&mut hub, &mut sub, Instant::ZERO, 1 << 10), b"");
    // Committing with nothing offered takes nothing.
    hub.handle_written(&mut sub, Instant::ZERO);
    assert_eq!(sub.cursor(), 3);
}

#[test]
fn no_keep_alive_while_offered_bytes_wait_and_the_timer_restarts_when_written() {
    let mut hub = small(16);
    let mut sub = hub.subscribe(Instant::ZERO, None, Config::default());
    hub.publish(&Message::new("1")).unwrap();
    assert!(!peek(&mut hub, &mut sub, Instant::ZERO, 1 << 10).is_empty());
    // Due at 15 s; the event still waits: no comment is queued.
    hub.handle_timeout(&mut sub, at(15_000));
    // Written at 20 s: the next keep-alive is due at 35 s.
    assert_eq!(
        peek(&mut hub, &mut sub, at(20_000), 1 << 10),
        b"id: 1\ndata: 1\n\n"
    );
    hub.handle_written(&mut sub, at(20_000));
    assert_eq!(sub.poll_timeout(), Some(at(35_000)));
    hub.handle_timeout(&mut sub, at(35_000));
    assert_eq!(peek(&mut hub, &mut sub, at(35_000), 1 << 10), b":\n");
}

#[test]
fn skipping_ahead_in_the_own_queue_spares_offered_events() {
    let config = Config {
        max_queued_bytes: 40,
        ..config(LagPolicy::SkipAhead)
    };
    let mut stream = Stream::new(Instant::ZERO, config);
    stream.send(&Message::new("first event")).unwrap();
    let mut offered = Vec::new();
    stream.peek_transmit(Instant::ZERO, 1 << 10, |b| offered.extend_from_slice(b));
    assert_eq!(offered, b"data: first event\n\n");
    // Overflows the queue: an event that is not on the wire goes.
    stream.send(&Message::new("second event")).unwrap();
    stream.send(&Message::new("third event")).unwrap();
    stream.handle_written(Instant::ZERO);
    let mut rest = Vec::new();
    while let Some(b) = stream.poll_transmit(Instant::ZERO) {
        rest.extend_from_slice(&b);
    }
    assert_eq!(
        rest,
        b": {\"reason\":\"lagged\",\"skipped\":1}\n\
          data: third event\n\n"
    );
}

proptest! {
    /// However the adapter's writes go (budgets, refused writes that
    /// drop what was offered, publishes in between), the bytes it
    /// commits are exactly what taking one chunk at a time gives.
    #[test]
    fn committed_bytes_do_not_depend_on_how_writes_go(
        steps in proptest::collection::vec((0u8..4, 0usize..80), 1..60),
    ) {
        let mut hub = small(64);
        let mut sub = hub.subscribe(Instant::ZERO, None, Config { retry: Some(5), ..Config::default() });
        let mut reference = hub.subscribe(Instant::ZERO, None, Config { retry: Some(5), ..Config::default() });
        let (mut wire, mut expected) = (Vec::new(), Vec::new());
        for (i, (op, max)) in steps.into_iter().enumerate() {
            match op {
                0 => {
                    let data = alloc::format!("event {i}");
                    hub.publish(&Message::new(&data)).unwrap();
                }
                1 => {
                    // Refused: nothing written, the offer is dropped.
                    peek(&mut hub, &mut sub, Instant::ZERO, max);
                }
                _ => {
                    wire.extend(peek(&mut hub, &mut sub, Instant::ZERO, max));
                    hub.handle_written(&mut sub, Instant::ZERO);
                }
            }
        }
        loop {
            let offered = peek(&mut hub, &mut sub, Instant::ZERO, 7);
            if offered.is_empty() {
                break;
            }
            wire.extend(offered);
            hub.handle_written(&mut sub, Instant::ZERO);
        }
        while let Some(b) = hub.poll_transmit(&mut reference, Instant::ZERO) {
            expected.extend_from_slice(&b);
        }
        prop_assert_eq!(wire, expected);
    }

    /// Whatever the bursts, budgets and refusals: subscribers whose
    /// transport never refuses for their lag window get every event exactly
    /// once, in order, with no notice (also those whose "task" runs rarely);
    /// one whose transport refuses gets a prefix of that, then (if released
    /// and out of the log) a close or a skip; publishes are refused only
    /// when the backlog is at its bound, and what the hub holds beyond the
    /// log stays within the bound plus one log.
    #[test]
    fn readers_never_lose_events_and_memory_stays_bounded(
        steps in proptest::collection::vec((0u8..7, 0usize..3, 0usize..60), 1..150),
        skip in any::<bool>(),
    ) {
        let limits = BacklogLimits { max_events: 6, max_bytes: 1 << 20 };
        let mut hub = small(3).with_backlog(limits);
        let lag = if skip { LagPolicy::SkipAhead } else { LagPolicy::Disconnect };
        let mut subs: Vec<Subscriber> =
            (0..3).map(|_| hub.subscribe(Instant::ZERO, None, config(lag))).collect();
        let mut wires: Vec<Vec<u8>> = alloc::vec![Vec::new(); 3];
        let mut now = Instant::ZERO;
        let mut published = 0u64;
        for (op, who, n) in steps {
            match op {
                0 | 1 => {
                    for _ in 0..n % 8 + 1 {
                        let full = hub.holds.is_full();
                        match hub.publish(&Message::new(&alloc::format!("{}", published + 1))) {
                            Ok(_) => { prop_assert!(!full); published += 1 }
                            Err(e) => {
                                prop_assert_eq!(e, PublishError::Full);
                                prop_assert!(full);
                                break;
                            }
                        }
                    }
                }
                2 | 3 => {
                    // The transport takes what it is offered.
                    let offered = peek(&mut hub, &mut subs[who], now, n);
                    wires[who].extend(offered);
                    hub.handle_written(&mut subs[who], now);
                }
                4 if who == 2 => {
                    // Only the last one's transport ever refuses.
                    peek(&mut hub, &mut subs[2], now, n);
                    hub.handle_blocked(&mut subs[2], now);
                }
                5 => now = now + Duration::from_millis(n as u64 * 50),
                _ => hub.handle_timeout(&mut subs[who], now),
            }
            let backlog = hub.backlog();
            prop_assert!(backlog.events <= limits.max_events + 3);
            if hub.poll_room() {
                prop_assert!(!hub.holds.is_full());
            }
        }
        for (sub, wire) in subs.iter_mut().zip(&mut wires) {
            loop {
                let offered = peek(&mut hub, sub, now, 7);
                if offered.is_empty() { break; }
                wire.extend(offered);
                hub.handle_written(sub, now);
            }
        }
        // Keep-alives may come in between; notices and events may not.
        let ids = |wire: &[u8]| -> Vec<u64> {
            crate::parse::parse_all(wire)
                .into_iter()
                .flatten()
                .map(|e| e.id().as_str().parse().unwrap_or(0))
                .collect()
        };
        let all: Vec<u64> = (1..=published).collect();
        for i in 0..2 {
            prop_assert_eq!(ids(&wires[i]), all.clone(), "reader {} lost or repeated events", i);
            let text = alloc::string::String::from_utf8_lossy(&wires[i]);
            prop_assert!(!text.contains("reason"), "a notice: {}", text);
            prop_assert_eq!(subs[i].closed(), None);
        }
        // The refusing one: increasing IDs, never the same event twice.
        let mut last = 0u64;
        for event in crate::parse::parse_all(&wires[2]).into_iter().flatten() {
            if event.id().as_str().is_empty() { continue; }
            let id: u64 = event.id().as_str().parse().unwrap();
            prop_assert!(id > last);
            last = id;
        }
        if subs[2].closed().is_none() && !skip {
            prop_assert_eq!(ids(&wires[2]), all);
        }
        for sub in &mut subs {
            hub.unsubscribe(sub);
        }
        prop_assert_eq!(hub.backlog(), Backlog::default());
    }
}
