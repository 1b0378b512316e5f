//! Broadcast: publish an event once, deliver it to every subscriber.
//!
//! [`Hub::publish`] encodes the event once into shared [`Bytes`] and appends
//! it to the [replay log](crate::replay). A [`Subscriber`] is a
//! [`Stream`] (preamble, notices, keep-alives, its own queue) plus a cursor:
//! the sequence number of the next log event it gets. Publishing touches no
//! subscriber, so its cost does not depend on how many there are; each
//! subscriber then pulls the shared bytes with [`Hub::poll_transmit`], and
//! the adapter writes them. Over a socket that can be full, the adapter
//! peeks with [`Hub::peek_transmit`] and commits with
//! [`Hub::handle_written`] once the socket took the bytes, so a subscriber
//! that stopped reading keeps its place and lags like any slow one (see
//! [Writing to a socket](crate::server#writing-to-a-socket)).
//!
//! Waking: after a publish, a subscriber whose task is parked needs waking
//! if [`Hub::has_pending`] is true for it (an O(1) comparison of its cursor
//! with the log's tail). Adapters usually keep the parked subscribers' wakers
//! in a list and drain it on publish.
//!
//! Memory: a subscriber holds no events, only a cursor and its small
//! [`Stream`] state (see [`Subscriber`] for the measured size). A slow
//! subscriber never holds others back; when the log evicts the event at its
//! cursor, its [`LagPolicy`] either disconnects it (it resumes by ID like
//! any reconnecting client) or skips it to the oldest retained event with a
//! [`Notice`](crate::server::Notice) telling how many it missed.
//!
//! ```
//! use sse_core::encode::Message;
//! use sse_core::hub::Hub;
//! use sse_core::server::{last_event_id, Config};
//! use sse_core::Instant;
//!
//! let mut hub = Hub::default();
//! hub.publish(&Message::new("first")).unwrap(); // gets id 1
//!
//! // A client reconnects with `Last-Event-ID: 1`.
//! let id = last_event_id("/events", [("Last-Event-ID", &b"1"[..])]);
//! let now = Instant::ZERO;
//! let mut sub = hub.subscribe(now, id.as_deref(), Config::default());
//! assert!(sub.response_head().headers.contains(&("Last-Event-ID", "1".into())));
//!
//! hub.publish(&Message::new("second").event("news")).unwrap(); // id 2
//! assert!(hub.has_pending(&sub));
//! let mut wire = Vec::new();
//! while let Some(bytes) = hub.poll_transmit(&mut sub, now) {
//!     wire.extend_from_slice(&bytes);
//! }
//! assert_eq!(wire, b"id: 2\nevent: news\ndata: second\n\n");
//! ```

use alloc::string::{String, ToString};
use bytes::{Bytes, BytesMut};

use crate::encode::{self, EncodeError, Message};
use crate::replay::{MemoryLog, ReplayLog, Resume, EARLIEST};
use crate::server::{
    CloseReason, Config, LagPolicy, NoticeBody, ResponseHead, ResumePolicy, Stream,
};
use crate::text::Utf8Bytes;
use crate::time::Instant;

/// A broadcast hub over a replay log (in memory by default).
#[derive(Clone, Debug)]
pub struct Hub<L = MemoryLog> {
    log: L,
}

impl Default for Hub<MemoryLog> {
    /// A hub with an in-memory log and [`LogLimits::default`](crate::replay::LogLimits).
    fn default() -> Self {
        Hub::with_log(MemoryLog::default())
    }
}

/// One subscriber of a [`Hub`]: its [`Stream`] and its cursor into the log.
///
/// Its inline size is `size_of::<Subscriber>()`: 208 bytes on 64-bit
/// targets (checked by a test, printed by `cargo bench --bench hub`). While
/// idle it owns no events; its only heap memory is its [`ResponseHead`]
/// (four header pairs, about 200 bytes) and a custom
/// [`Notice::Event`](crate::server::Notice::Event) name if one is set (the
/// default is static). So an idle subscriber costs about 400 bytes of core
/// state, whatever the publish rate.
#[derive(Clone, Debug)]
pub struct Subscriber {
    stream: Stream,
    cursor: u64,
}

impl Subscriber {
    /// The response status and headers to send first.
    pub fn response_head(&self) -> &ResponseHead {
        self.stream.response_head()
    }

    /// The per-subscriber stream: [`Stream::send`] a message to this
    /// subscriber alone, or [`Stream::close`] it.
    pub fn stream(&mut self) -> &mut Stream {
        &mut self.stream
    }

    /// The sequence number of the next log event it will get.
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// When [`Hub::handle_timeout`] should next be called. No side effects.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.stream.poll_timeout()
    }

    /// `Some` once the adapter should end the response.
    pub fn closed(&self) -> Option<CloseReason> {
        self.stream.closed()
    }
}

impl Hub<MemoryLog> {
    /// A hub with an in-memory log bounded by `limits`.
    pub fn new(limits: crate::replay::LogLimits) -> Self {
        Hub::with_log(MemoryLog::new(limits))
    }
}

impl<L: ReplayLog> Hub<L> {
    /// A hub over any [`ReplayLog`].
    pub fn with_log(log: L) -> Self {
        Hub { log }
    }

    /// The replay log.
    pub fn log(&self) -> &L {
        &self.log
    }

    /// Encodes `msg` once and appends it to the log; returns its sequence
    /// number. A message without an ID gets the sequence number as its ID
    /// (`1`, `2`, …), so every broadcast event can be resumed from. Nothing is
    /// published on error.
    pub fn publish(&mut self, msg: &Message<'_>) -> Result<u64, EncodeError> {
        let seq = self.log.next_seq();
        let auto;
        let mut msg = *msg;
        if msg.id.is_none() {
            auto = seq.to_string();
            msg.id = Some(&auto);
        }
        let mut buf = BytesMut::with_capacity(msg.encoded_len());
        encode::message(&mut buf, &msg)?;
        let bytes = buf.freeze();
        let id = id_slice(&bytes, &msg);
        Ok(self.log.append(id, bytes))
    }

    /// Publishes `value` as JSON data (one `data:` line), with an optional
    /// event type and ID.
    #[cfg(feature = "json")]
    pub fn publish_json<T: serde::Serialize + ?Sized>(
        &mut self,
        event: Option<&str>,
        id: Option<&str>,
        value: &T,
    ) -> Result<u64, crate::json::JsonError> {
        let data = crate::json::to_data(value)?;
        let msg = Message {
            id,
            event,
            data: &data,
            retry: None,
        };
        Ok(self.publish(&msg)?)
    }

    /// A new subscriber opened at `now`, resuming after `last_event_id` (see
    /// [`last_event_id`](crate::server::last_event_id)), or live-only when
    /// `None`. Gaps and unknown IDs follow the config's [`ResumePolicy`] and
    /// queue a [`Notice`](crate::server::Notice); the response head's
    /// `Last-Event-ID` says where the stream really starts.
    pub fn subscribe(
        &self,
        now: Instant,
        last_event_id: Option<&str>,
        config: Config,
    ) -> Subscriber {
        let mut stream = Stream::new(now, config);
        let live = self.log.next_seq();
        let first = self.log.first_seq();
        let (cursor, notice) = match last_event_id.map(|id| (id, self.log.resume(id))) {
            None => (live, None),
            Some((_, Resume::From(seq))) => (seq, None),
            Some((requested, Resume::Gap { .. })) => {
                let start = match stream.config().on_gap {
                    ResumePolicy::LiveOnly => live,
                    _ => first,
                };
                (start, Some((true, requested)))
            }
            Some((requested, _)) => {
                let start = match stream.config().on_unknown {
                    ResumePolicy::ReplayRetained => first,
                    _ => live,
                };
                (start, Some((false, requested)))
            }
        };
        let after = self.id_before(cursor);
        if let Some((gap, requested)) = notice {
            stream.push_notice(if gap {
                NoticeBody::Gap {
                    requested,
                    resumed_after: &after,
                }
            } else {
                NoticeBody::Unknown {
                    requested,
                    resumed_after: &after,
                }
            });
        }
        stream.head_mut().headers.push(("Last-Event-ID", after));
        Subscriber { stream, cursor }
    }

    /// Whether `sub` has bytes to write: queued control bytes or log events
    /// past its cursor (also true when it lags and must be skipped or
    /// closed). O(1): use it to decide whom to wake after a publish.
    pub fn has_pending(&self, sub: &Subscriber) -> bool {
        sub.stream.has_queued()
            || (sub.stream.closed().is_none() && sub.cursor < self.log.next_seq())
    }

    /// The next bytes to write to `sub`, or `None` when it is up to date (or
    /// closed: check [`Subscriber::closed`]). Counts as a write at `now` for
    /// its keep-alive timer. For a transport that may refuse bytes, use
    /// [`Hub::peek_transmit`].
    pub fn poll_transmit(&self, sub: &mut Subscriber, now: Instant) -> Option<Bytes> {
        let mut first = None;
        self.peek_transmit(sub, now, 0, |b| first = Some(b.clone()));
        self.handle_written(sub, now);
        first
    }

    /// Offers `sub`'s next bytes without taking them: calls `take` with
    /// each chunk in order (its own queue first: preamble, notices,
    /// keep-alives, [`Stream::send`]; then log events from its cursor) while
    /// the total stays within `max` bytes (always at least one chunk), and
    /// returns the bytes offered. `0` means it is up to date, or closed
    /// (check [`Subscriber::closed`]): a subscriber whose cursor fell out of
    /// the log is skipped ahead or closed here, per its
    /// [`LagPolicy`]. Nothing is taken until [`Hub::handle_written`]; a
    /// later peek offers again from the same place.
    pub fn peek_transmit(
        &self,
        sub: &mut Subscriber,
        now: Instant,
        max: usize,
        mut take: impl FnMut(&Bytes),
    ) -> usize {
        sub.stream.offered_log = 0;
        if sub.stream.has_queued() || sub.stream.closed().is_some() {
            return sub.stream.peek_transmit(now, max, take);
        }
        if self.close_if_lagging(sub) {
            return 0;
        }
        if sub.cursor < self.log.first_seq() {
            let first = self.log.first_seq();
            let skipped = first - sub.cursor;
            sub.cursor = first;
            let after = self.id_before(first);
            sub.stream.push_notice(NoticeBody::Lagged {
                skipped,
                resumed_after: Some(&after),
            });
            return sub.stream.peek_transmit(now, max, take);
        }
        sub.stream.advance(now);
        let mut total = 0;
        let offered = &mut sub.stream.offered_log;
        while let Some(entry) = self.log.get(sub.cursor + u64::from(*offered)) {
            if (total > 0 && total + entry.bytes.len() > max) || *offered == u32::MAX {
                break;
            }
            take(&entry.bytes);
            total += entry.bytes.len();
            *offered += 1;
        }
        total
    }

    /// Closes `sub`'s stream ([`CloseReason::Lagged`]) if its cursor fell
    /// out of the replay log and its [`LagPolicy`] closes laggards; returns
    /// whether it is closed for lagging. [`Hub::peek_transmit`] decides this
    /// too; call it yourself while the transport is stuck in a write it
    /// started (a client that stopped reading in the middle of a batch),
    /// e.g. after each publish, and drop the connection when it says so:
    /// the client discards the event cut short and resumes from the last
    /// one it got whole.
    pub fn close_if_lagging(&self, sub: &mut Subscriber) -> bool {
        if let Some(reason) = sub.stream.closed() {
            return reason == CloseReason::Lagged;
        }
        if sub.cursor >= self.log.first_seq() || sub.stream.config().lag == LagPolicy::SkipAhead {
            return false;
        }
        log::warn!("a subscriber fell out of the replay log: closing its stream");
        sub.stream.close_with(CloseReason::Lagged);
        true
    }

    /// The transport accepted (the start of) what the last
    /// [`Hub::peek_transmit`] offered `sub`: takes all of it and counts it as
    /// a write at `now` for the keep-alive timer. The adapter writes the
    /// rest of those bytes before it peeks again.
    pub fn handle_written(&self, sub: &mut Subscriber, now: Instant) {
        let events = core::mem::take(&mut sub.stream.offered_log);
        sub.cursor += u64::from(events);
        sub.stream.handle_written(now);
        if events > 0 {
            sub.stream.mark_written();
        }
    }

    /// Fires `sub`'s keep-alive timer if due at `now` (no comment is queued
    /// while log events wait for it). Early or repeated calls do nothing.
    pub fn handle_timeout(&self, sub: &mut Subscriber, now: Instant) {
        let busy = sub.cursor < self.log.next_seq();
        sub.stream.keep_alive(now, busy);
    }

    /// The ID of the event before `seq`, or [`EARLIEST`] when not retained.
    fn id_before(&self, seq: u64) -> String {
        seq.checked_sub(1)
            .and_then(|s| self.log.get(s))
            .map(|e| String::from(e.id.as_str()))
            .unwrap_or_else(|| String::from(EARLIEST))
    }
}

/// The event's ID as a slice of its encoded bytes (no copy), when the
/// encoder wrote it where expected; otherwise a copy.
fn id_slice(bytes: &Bytes, msg: &Message<'_>) -> Utf8Bytes {
    let id = msg.id.unwrap_or_default();
    let mut start = 0;
    if msg.retry.is_some() {
        start = memchr::memchr(b'\n', bytes).map_or(0, |i| i + 1);
    }
    let range = start + 4..start + 4 + id.len();
    if bytes.get(start..start + 4) == Some(&b"id: "[..])
        && bytes.get(range.clone()) == Some(id.as_bytes())
    {
        if let Ok(text) = Utf8Bytes::try_from_bytes(bytes.slice(range)) {
            return text;
        }
    }
    Utf8Bytes::from(String::from(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::LogLimits;
    use crate::server::Notice;
    use alloc::vec::Vec;

    fn drain<L: ReplayLog>(hub: &Hub<L>, sub: &mut Subscriber) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(b) = hub.poll_transmit(sub, Instant::ZERO) {
            out.extend_from_slice(&b);
        }
        out
    }

    fn small(n: usize) -> Hub {
        Hub::new(LogLimits {
            max_events: n,
            max_bytes: 1 << 20,
        })
    }

    #[test]
    fn subscriber_state_is_small() {
        let size = core::mem::size_of::<Subscriber>();
        assert!(size <= 256, "Subscriber is {size} bytes");
        #[cfg(target_pointer_width = "64")]
        assert_eq!(size, 208, "update the documented size");
    }

    #[test]
    fn ids_are_sequence_numbers_and_slices() {
        let mut hub = Hub::default();
        assert_eq!(hub.publish(&Message::new("a")), Ok(1));
        assert_eq!(hub.publish(&Message::new("b").id("x").retry(5)), Ok(2));
        assert_eq!(
            hub.publish(&Message::new("c").id("\n")),
            Err(EncodeError::IdHasNewline)
        );
        assert_eq!(hub.log().get(1).unwrap().id, "1");
        assert_eq!(hub.log().get(2).unwrap().id, "x");
        assert_eq!(hub.log().next_seq(), 3);
    }

    #[test]
    fn lagging_subscriber_disconnects_or_skips() {
        let mut hub = small(2);
        let mut slow = hub.subscribe(Instant::ZERO, None, Config::default());
        let config = Config {
            lag: LagPolicy::SkipAhead,
            notice: Notice::Comment,
            ..Config::default()
        };
        let mut skipper = hub.subscribe(Instant::ZERO, None, config);
        for d in ["a", "b", "c", "d"] {
            hub.publish(&Message::new(d)).unwrap();
        }
        assert!(hub.has_pending(&slow));
        assert_eq!(drain(&hub, &mut slow), b"");
        assert_eq!(slow.closed(), Some(CloseReason::Lagged));
        assert!(!hub.has_pending(&slow));
        assert_eq!(
            drain(&hub, &mut skipper),
            &b": {\"reason\":\"lagged\",\"skipped\":2,\"resumed_after\":\"earliest\"}\nid: 3\ndata: c\n\nid: 4\ndata: d\n\n"[..]
        );
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
            drain(&hub, &mut sub),
            &b"event: sse-resync\ndata: {\"reason\":\"gap\",\"requested\":\"1\",\"resumed_after\":\"earliest\"}\n\nid: 3\ndata: c\n\nid: 4\ndata: d\n\n"[..]
        );
        let mut sub = hub.subscribe(Instant::ZERO, Some("zzz"), Config::default());
        assert_eq!(sub.response_head().headers[3].1, "4");
        assert_eq!(
            drain(&hub, &mut sub),
            &b"event: sse-resync\ndata: {\"reason\":\"unknown\",\"requested\":\"zzz\",\"resumed_after\":\"4\"}\n\n"[..]
        );
    }
}

/// Peek-then-commit writing ([`Hub::peek_transmit`], [`Hub::handle_written`]).
#[cfg(test)]
mod write_tests {
    use super::*;
    use crate::replay::LogLimits;
    use crate::server::Notice;
    use alloc::vec::Vec;
    use core::time::Duration;
    use proptest::prelude::*;

    fn hub(max_events: usize) -> Hub {
        Hub::new(LogLimits {
            max_events,
            max_bytes: 1 << 20,
        })
    }

    fn config(lag: LagPolicy) -> Config {
        Config {
            lag,
            notice: Notice::Comment,
            ..Config::default()
        }
    }

    /// What a peek offers, concatenated.
    fn peek(hub: &Hub, sub: &mut Subscriber, at: Instant, max: usize) -> Vec<u8> {
        let mut out = Vec::new();
        hub.peek_transmit(sub, at, max, |b| out.extend_from_slice(b));
        out
    }

    fn at(ms: u64) -> Instant {
        Instant::ZERO + Duration::from_millis(ms)
    }

    #[test]
    fn a_subscriber_stuck_mid_write_is_closed_once_it_lags() {
        let mut hub = hub(2);
        let mut sub = hub.subscribe(Instant::ZERO, None, config(LagPolicy::Disconnect));
        let mut skip = hub.subscribe(Instant::ZERO, None, config(LagPolicy::SkipAhead));
        hub.publish(&Message::new("a")).unwrap();
        for s in [&mut sub, &mut skip] {
            assert_eq!(peek(&hub, s, Instant::ZERO, 1 << 10), b"id: 1\ndata: a\n\n");
            // The socket took part of it, then stopped taking anything.
            hub.handle_written(s, Instant::ZERO);
        }
        hub.publish(&Message::new("b")).unwrap();
        hub.publish(&Message::new("c")).unwrap();
        // Event 2 is still in the log: not lagging yet.
        assert!(!hub.close_if_lagging(&mut sub));
        assert_eq!(sub.closed(), None);
        hub.publish(&Message::new("d")).unwrap();
        assert!(hub.close_if_lagging(&mut sub));
        assert_eq!(sub.closed(), Some(CloseReason::Lagged));
        assert!(hub.close_if_lagging(&mut sub), "and it stays so");
        assert_eq!(peek(&hub, &mut sub, Instant::ZERO, 1 << 10), b"");
        // Skipping ahead is for the next peek: the stream stays open.
        assert!(!hub.close_if_lagging(&mut skip));
        assert_eq!(skip.closed(), None);
        // A stream closed for another reason is not lagging.
        let mut done = hub.subscribe(Instant::ZERO, None, config(LagPolicy::Disconnect));
        done.stream().close();
        assert!(!hub.close_if_lagging(&mut done));
    }

    #[test]
    fn a_peek_takes_nothing_until_written() {
        let mut hub = hub(16);
        let mut sub = hub.subscribe(Instant::ZERO, None, Config::default());
        hub.publish(&Message::new("a")).unwrap();
        hub.publish(&Message::new("b")).unwrap();
        let both = b"id: 1\ndata: a\n\nid: 2\ndata: b\n\n";
        assert_eq!(peek(&hub, &mut sub, Instant::ZERO, 1 << 10), both);
        assert_eq!(peek(&hub, &mut sub, Instant::ZERO, 1 << 10), both);
        assert!(hub.has_pending(&sub));
        // A budget smaller than one event still offers one event.
        assert_eq!(
            peek(&hub, &mut sub, Instant::ZERO, 1),
            b"id: 1\ndata: a\n\n"
        );
        hub.handle_written(&mut sub, Instant::ZERO);
        assert_eq!(sub.cursor(), 2);
        assert_eq!(
            peek(&hub, &mut sub, Instant::ZERO, 1 << 10),
            b"id: 2\ndata: b\n\n"
        );
        hub.handle_written(&mut sub, Instant::ZERO);
        assert!(!hub.has_pending(&sub));
        assert_eq!(peek(&hub, &mut sub, Instant::ZERO, 1 << 10), b"");
        // Committing with nothing offered takes nothing.
        hub.handle_written(&mut sub, Instant::ZERO);
        assert_eq!(sub.cursor(), 3);
    }

    #[test]
    fn an_unwritten_event_keeps_the_subscriber_behind_so_it_lags() {
        for (lag, expected) in [
            (LagPolicy::Disconnect, None),
            (
                LagPolicy::SkipAhead,
                Some(
                    &b": {\"reason\":\"lagged\",\"skipped\":1,\"resumed_after\":\"earliest\"}\n\
                       id: 3\ndata: 3\n\nid: 4\ndata: 4\n\nid: 5\ndata: 5\n\n"[..],
                ),
            ),
        ] {
            let mut hub = hub(3);
            let mut sub = hub.subscribe(Instant::ZERO, None, config(lag));
            hub.publish(&Message::new("1")).unwrap();
            assert_eq!(
                hub.poll_transmit(&mut sub, Instant::ZERO).unwrap().len(),
                15
            );
            // The socket is full: event 2 is offered but never written.
            hub.publish(&Message::new("2")).unwrap();
            assert_eq!(
                peek(&hub, &mut sub, Instant::ZERO, 1 << 10),
                b"id: 2\ndata: 2\n\n"
            );
            for data in ["3", "4", "5"] {
                hub.publish(&Message::new(data)).unwrap();
            }
            let offered = peek(&hub, &mut sub, Instant::ZERO, 1 << 10);
            match expected {
                None => {
                    assert_eq!(offered, b"");
                    assert_eq!(sub.closed(), Some(CloseReason::Lagged));
                }
                Some(expected) => {
                    // The notice first (own queue), then the log.
                    hub.handle_written(&mut sub, Instant::ZERO);
                    let mut all = offered;
                    all.extend(peek(&hub, &mut sub, Instant::ZERO, 1 << 10));
                    hub.handle_written(&mut sub, Instant::ZERO);
                    assert_eq!(all, expected);
                }
            }
        }
    }

    #[test]
    fn no_keep_alive_while_offered_bytes_wait_and_the_timer_restarts_when_written() {
        let mut hub = hub(16);
        let mut sub = hub.subscribe(Instant::ZERO, None, Config::default());
        hub.publish(&Message::new("1")).unwrap();
        assert!(!peek(&hub, &mut sub, Instant::ZERO, 1 << 10).is_empty());
        // Due at 15 s; the event still waits: no comment is queued.
        hub.handle_timeout(&mut sub, at(15_000));
        // Written at 20 s: the next keep-alive is due at 35 s.
        assert_eq!(
            peek(&hub, &mut sub, at(20_000), 1 << 10),
            b"id: 1\ndata: 1\n\n"
        );
        hub.handle_written(&mut sub, at(20_000));
        assert_eq!(sub.poll_timeout(), Some(at(35_000)));
        hub.handle_timeout(&mut sub, at(35_000));
        assert_eq!(peek(&hub, &mut sub, at(35_000), 1 << 10), b":\n");
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
            let mut hub = hub(64);
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
                        peek(&hub, &mut sub, Instant::ZERO, max);
                    }
                    _ => {
                        wire.extend(peek(&hub, &mut sub, Instant::ZERO, max));
                        hub.handle_written(&mut sub, Instant::ZERO);
                    }
                }
            }
            loop {
                let offered = peek(&hub, &mut sub, Instant::ZERO, 7);
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

        /// Checking for lag while writes are stuck never changes what a
        /// subscriber gets, only where it ends: what it was written is a
        /// prefix of what a subscriber that never lags gets, nothing is
        /// written after it is closed for lagging, it is closed exactly when
        /// its cursor fell out of the log, and one that skips ahead is
        /// never closed by it.
        #[test]
        fn lag_checks_end_a_stream_but_never_change_it(
            steps in proptest::collection::vec((0u8..5, 0usize..80), 1..80),
        ) {
            let mut hub = hub(4);
            let mut big = Hub::new(LogLimits { max_events: 1 << 10, max_bytes: 1 << 20 });
            let mut sub = hub.subscribe(Instant::ZERO, None, config(LagPolicy::Disconnect));
            let mut skip = hub.subscribe(Instant::ZERO, None, config(LagPolicy::SkipAhead));
            let mut reference = big.subscribe(Instant::ZERO, None, config(LagPolicy::Disconnect));
            let mut wire = Vec::new();
            for (i, (op, max)) in steps.into_iter().enumerate() {
                match op {
                    0 | 1 => {
                        let data = alloc::format!("event {i}");
                        hub.publish(&Message::new(&data)).unwrap();
                        big.publish(&Message::new(&data)).unwrap();
                    }
                    2 => {
                        peek(&hub, &mut sub, Instant::ZERO, max);
                    }
                    3 => {
                        let offered = peek(&hub, &mut sub, Instant::ZERO, max);
                        if sub.closed().is_some() {
                            prop_assert!(offered.is_empty());
                        }
                        wire.extend(offered);
                        hub.handle_written(&mut sub, Instant::ZERO);
                    }
                    _ => {
                        let out_of_log = sub.cursor() < hub.log().first_seq();
                        let was_open = sub.closed().is_none();
                        let lags = hub.close_if_lagging(&mut sub);
                        if was_open {
                            prop_assert_eq!(lags, out_of_log);
                        }
                        prop_assert_eq!(lags, sub.closed() == Some(CloseReason::Lagged));
                        prop_assert!(!hub.close_if_lagging(&mut skip));
                        prop_assert_eq!(skip.closed(), None);
                    }
                }
            }
            let mut expected = Vec::new();
            while let Some(b) = big.poll_transmit(&mut reference, Instant::ZERO) {
                expected.extend_from_slice(&b);
            }
            prop_assert!(expected.starts_with(&wire));
        }
    }
}
