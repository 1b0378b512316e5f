//! Broadcast: publish an event once, deliver it to every subscriber.
//!
//! [`Hub::publish`] encodes the event once into shared [`Bytes`] and appends
//! it to the [replay log](crate::replay). A [`Subscriber`] is a
//! [`Stream`] (preamble, notices, keep-alives, its own queue) plus a cursor:
//! the sequence number of the next log event it gets. Publishing touches no
//! subscriber, so its cost does not depend on how many there are; each
//! subscriber then pulls the shared bytes with [`Hub::poll_transmit`], and
//! the adapter writes them.
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
    /// its keep-alive timer.
    pub fn poll_transmit(&self, sub: &mut Subscriber, now: Instant) -> Option<Bytes> {
        if sub.stream.is_lagged() {
            return None;
        }
        if !sub.stream.has_queued() && sub.stream.closed().is_none() {
            let first = self.log.first_seq();
            if sub.cursor < first {
                match sub.stream.config().lag {
                    LagPolicy::SkipAhead => {
                        let skipped = first - sub.cursor;
                        sub.cursor = first;
                        let after = self.id_before(first);
                        sub.stream.push_notice(NoticeBody::Lagged {
                            skipped,
                            resumed_after: Some(&after),
                        });
                    }
                    _ => {
                        sub.stream.close_with(CloseReason::Lagged);
                        return None;
                    }
                }
            } else if let Some(entry) = self.log.get(sub.cursor) {
                sub.cursor += 1;
                sub.stream.advance(now);
                sub.stream.mark_written();
                return Some(entry.bytes);
            }
        }
        sub.stream.poll_transmit(now)
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
