//! Broadcast: publish an event once, deliver it to every subscriber.
//!
//! [`Hub::publish`] encodes the event once into shared [`Bytes`] and appends
//! it to the [replay log](crate::replay). A [`Subscriber`] is a
//! [`Stream`] (preamble, notices, keep-alives, its own queue) plus a cursor:
//! the sequence number of the next log event it gets. Publishing touches no
//! subscriber, so its cost does not depend on how many there are; each
//! subscriber then pulls the shared bytes with [`Hub::poll_transmit`], and
//! the adapter writes them. Over a socket that can be full, the adapter
//! peeks with [`Hub::peek_transmit`], commits with [`Hub::handle_written`]
//! once the socket took the bytes and reports a socket that took nothing
//! with [`Hub::handle_blocked`] (see
//! [Writing to a socket](crate::server#writing-to-a-socket)).
//!
//! Waking: after a publish, a subscriber whose task is parked needs waking
//! if [`Hub::has_pending`] is true for it (an O(1) comparison of its cursor
//! with the log's tail). Adapters usually keep the parked subscribers' wakers
//! in a list and drain it on publish.
//!
//! # Bursts, backpressure and lag
//!
//! A subscriber that keeps reading never loses an event, however large a
//! burst: the hub *holds* every event a subscriber has not been sent yet,
//! also after the replay log evicted it (a second reference to the shared
//! bytes, not a copy), until that subscriber's transport took it. Only
//! time during which a subscriber's transport refused writes counts
//! against it: once it has refused them for [`Config::lag_window`] without
//! a break ([`Hub::handle_blocked`], then [`Hub::handle_timeout`] at
//! [`Subscriber::poll_timeout`]), the hub stops holding for it, and it
//! lags like any reader of a bounded log: when the log evicts its next
//! event, its [`LagPolicy`] either disconnects it (it resumes by ID like any
//! reconnecting client) or skips it to the oldest retained event with a
//! [`Notice`](crate::server::Notice) telling how many it missed. A
//! subscriber whose task has not run yet, or that reads slowly but reads,
//! is never dropped.
//!
//! Memory stays bounded: what the hub holds beyond the log (the
//! [`Backlog`]) is bounded by [`BacklogLimits`], and while it is at them
//! [`Hub::publish`] is refused with [`PublishError::Full`]. That is the
//! publishers' backpressure: an async publisher waits, a thread blocks, a
//! reader of input pauses, until [`Hub::poll_room`] says a subscriber
//! progressed, was released or left ([`Hub::unsubscribe`]). For drivers
//! that cannot see refused writes (a response body that its server simply
//! stops polling), [`Hub::release_stalled`] lets a waiting publisher that
//! has a clock release the subscribers holding it up that took nothing for
//! their lag window while it waited.
//!
//! An idle subscriber holds no events of its own, only a cursor, a slot in
//! the hub and its small [`Stream`] state (see [`Subscriber`] for the
//! measured size).
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
//! hub.unsubscribe(&mut sub); // the connection ended
//! ```

mod hold;

pub use hold::{Backlog, BacklogLimits};

use alloc::string::{String, ToString};
use bytes::{Bytes, BytesMut};
use core::fmt;

use crate::encode::{self, EncodeError, Message};
use crate::replay::{MemoryLog, ReplayLog, Resume, EARLIEST};
use crate::server::{
    CloseReason, Config, LagPolicy, NoticeBody, ResponseHead, ResumePolicy, Stream,
};
use crate::text::Utf8Bytes;
use crate::time::Instant;
use hold::{Holds, Key};

/// A broadcast hub over a replay log (in memory by default). See the
/// [module docs](self).
#[derive(Clone, Debug)]
pub struct Hub<L = MemoryLog> {
    log: L,
    holds: Holds,
    /// A publish was refused since room was last reported.
    refused: bool,
    /// When [`Hub::release_stalled`] first saw the backlog full.
    full_since: Option<Instant>,
}

impl Default for Hub<MemoryLog> {
    /// A hub with an in-memory log and [`LogLimits::default`](crate::replay::LogLimits).
    fn default() -> Self {
        Hub::with_log(MemoryLog::default())
    }
}

/// Why [`Hub::publish`] refused an event. Nothing was published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishError {
    /// The event cannot be encoded faithfully.
    Encode(EncodeError),
    /// The hub holds as much as its [`BacklogLimits`] allow for subscribers
    /// that have not been sent it yet: publish again once
    /// [`Hub::poll_room`] says so.
    Full,
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishError::Encode(e) => e.fmt(f),
            PublishError::Full => {
                f.write_str("the hub's backlog is full: subscribers have not been sent it yet")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for PublishError {}

impl From<EncodeError> for PublishError {
    fn from(e: EncodeError) -> Self {
        PublishError::Encode(e)
    }
}

/// One subscriber of a [`Hub`]: its [`Stream`] and its cursor into the log.
///
/// Its inline size is `size_of::<Subscriber>()`: 248 bytes on 64-bit
/// targets (checked by a test, printed by `cargo bench --bench hub`), plus
/// a slot of at most 64 bytes in its hub. While idle it owns no events; its only heap
/// memory is its [`ResponseHead`] (four header pairs, about 200 bytes) and
/// a custom [`Notice::Event`](crate::server::Notice::Event) name if one is
/// set (the default is static). So an idle subscriber costs about 500 bytes
/// of core state, whatever the publish rate.
///
/// When its connection ends, hand it to [`Hub::unsubscribe`]: until then
/// the hub holds events for it.
#[derive(Clone, Debug)]
pub struct Subscriber {
    stream: Stream,
    cursor: u64,
    key: Key,
    /// When it stops holding if its transport keeps refusing writes.
    release_at: Option<Instant>,
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

    /// When [`Hub::handle_timeout`] should next be called: the keep-alive
    /// deadline, or while its transport refuses writes, the end of its lag
    /// window. No side effects.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.stream.closed().is_some() {
            return None;
        }
        match (self.stream.poll_timeout(), self.release_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
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
    /// A hub over any [`ReplayLog`], with the default [`BacklogLimits`].
    pub fn with_log(log: L) -> Self {
        let holds = Holds::new(log.next_seq(), log.first_seq(), BacklogLimits::default());
        Hub {
            log,
            holds,
            refused: false,
            full_since: None,
        }
    }

    /// The same hub with these bounds on what it holds beyond the log.
    pub fn with_backlog(mut self, limits: BacklogLimits) -> Self {
        self.holds.set_limits(limits);
        self
    }

    /// The bounds on what it holds beyond the log.
    pub fn backlog_limits(&self) -> BacklogLimits {
        self.holds.limits()
    }

    /// What it holds beyond the log now: events the log evicted that a
    /// subscriber has not been sent yet.
    pub fn backlog(&self) -> Backlog {
        self.holds.backlog()
    }

    /// Subscribers registered (subscribed and not yet
    /// [unsubscribed](Hub::unsubscribe)).
    pub fn subscribers(&self) -> usize {
        self.holds.live()
    }

    /// The replay log.
    pub fn log(&self) -> &L {
        &self.log
    }

    /// The replay log, to change its settings (e.g. a floor). Events
    /// appended here directly reach subscribers but are not held for them.
    pub fn log_mut(&mut self) -> &mut L {
        &mut self.log
    }

    /// Encodes `msg` once and appends it to the log; returns its sequence
    /// number. A message without an ID gets the sequence number as its ID
    /// (`1`, `2`, …), so every broadcast event can be resumed from. Nothing is
    /// published on error: [`PublishError::Full`] while the [`Backlog`] is
    /// at its limits (publish again when [`Hub::poll_room`] says so).
    pub fn publish(&mut self, msg: &Message<'_>) -> Result<u64, PublishError> {
        self.holds.count_backlog(&self.log);
        if self.holds.is_full() {
            self.refused = true;
            return Err(PublishError::Full);
        }
        self.full_since = None;
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
        let seq = self.log.append(id, bytes.clone());
        self.holds.appended(seq, &bytes, &self.log);
        Ok(seq)
    }

    /// Publishes `value` as JSON data (one `data:` line), with an optional
    /// event type and ID. [`JsonError::Full`](crate::json::JsonError::Full)
    /// as [`PublishError::Full`].
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

    /// Whether a publish would be accepted now (the [`Backlog`] is below
    /// its limits). When it would not, [`Hub::poll_room`] says when it
    /// would, as after a refused publish: for a publisher that waits
    /// before producing an event at all (e.g. before appending it to a
    /// shared log that feeds this hub).
    pub fn check_room(&mut self) -> bool {
        self.holds.count_backlog(&self.log);
        if self.holds.is_full() {
            self.refused = true;
            return false;
        }
        true
    }

    /// `true` once after a publish was refused ([`PublishError::Full`]) and
    /// room has been made since: wake the publishers waiting for it. Call
    /// it after the calls that can make room ([`Hub::handle_written`],
    /// [`Hub::handle_timeout`], [`Hub::unsubscribe`],
    /// [`Hub::release_stalled`]); it is one comparison while no publish
    /// waits.
    pub fn poll_room(&mut self) -> bool {
        if !self.refused {
            return false;
        }
        self.holds.count_backlog(&self.log);
        if self.holds.is_full() {
            return false;
        }
        self.refused = false;
        true
    }

    /// For a publisher waiting for room that has a clock: releases the
    /// subscribers holding up the oldest event beyond the log that have
    /// stalled for their [`Config::lag_window`] at `now` — their transport
    /// refused writes that long ([`Hub::handle_blocked`]), or, for drivers
    /// that cannot see refusals, they took nothing that long while the
    /// backlog was full (the first call while full starts that clock).
    /// Released subscribers lag like readers of a bounded log. Returns when
    /// to call again while the backlog stays full (`None` once there is
    /// room: see [`Hub::poll_room`]).
    pub fn release_stalled(&mut self, now: Instant) -> Option<Instant> {
        let full_since = *self.full_since.get_or_insert(now);
        let next = self.holds.release_stalled(now, full_since, &self.log);
        if next.is_none() {
            self.full_since = None;
        }
        next
    }

    /// A new subscriber opened at `now`, resuming after `last_event_id` (see
    /// [`last_event_id`](crate::server::last_event_id)), or live-only when
    /// `None`. Gaps and unknown IDs follow the config's [`ResumePolicy`] and
    /// queue a [`Notice`](crate::server::Notice); the response head's
    /// `Last-Event-ID` says where the stream really starts. The hub holds
    /// every event from there on for it until [`Hub::unsubscribe`].
    pub fn subscribe(
        &mut self,
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
        let window = stream.config().lag_window;
        let key = self.holds.register(cursor, now, window, &self.log);
        Subscriber {
            stream,
            cursor,
            key,
            release_at: None,
        }
    }

    /// Forgets `sub` (its connection ended): the hub stops holding events
    /// for it. Call it once its connection is gone; later calls, and calls
    /// with a subscriber of another hub, do nothing. The subscriber can
    /// still be polled, as a reader of the log that holds nothing.
    pub fn unsubscribe(&mut self, sub: &mut Subscriber) {
        self.holds.unregister(sub.key);
        sub.key = Key::NONE;
        sub.release_at = None;
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
    pub fn poll_transmit(&mut self, sub: &mut Subscriber, now: Instant) -> Option<Bytes> {
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
    /// (check [`Subscriber::closed`]): a subscriber that no longer holds
    /// (see [the module docs](self#bursts-backpressure-and-lag)) and whose
    /// cursor fell out of the log is skipped ahead or closed here, per its
    /// [`LagPolicy`]. Nothing is taken until [`Hub::handle_written`]; a
    /// later peek offers again from the same place.
    pub fn peek_transmit(
        &mut self,
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
        if sub.cursor < self.log.first_seq() && !self.holds.is_holding(sub.key) {
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
        loop {
            let seq = sub.cursor + u64::from(*offered);
            let log_entry;
            let bytes = match self.holds.get(seq) {
                Some(bytes) => bytes,
                None => match self.log.get(seq) {
                    Some(entry) => {
                        log_entry = entry;
                        &log_entry.bytes
                    }
                    None => break,
                },
            };
            if (total > 0 && total + bytes.len() > max) || *offered == u32::MAX {
                break;
            }
            take(bytes);
            total += bytes.len();
            *offered += 1;
        }
        total
    }

    /// Closes `sub`'s stream ([`CloseReason::Lagged`]) if it no longer
    /// holds its events, its cursor fell out of the replay log and its
    /// [`LagPolicy`] closes laggards; returns whether it is closed for
    /// lagging. [`Hub::peek_transmit`] decides this too; call it yourself
    /// while the transport is stuck in a write it started (a client that
    /// stopped reading in the middle of a batch), e.g. after each publish
    /// and each [`Hub::handle_timeout`], and drop the connection when it
    /// says so: the client discards the event cut short and resumes from
    /// the last one it got whole.
    pub fn close_if_lagging(&mut self, sub: &mut Subscriber) -> bool {
        if let Some(reason) = sub.stream.closed() {
            return reason == CloseReason::Lagged;
        }
        if sub.cursor >= self.log.first_seq()
            || self.holds.is_holding(sub.key)
            || sub.stream.config().lag == LagPolicy::SkipAhead
        {
            return false;
        }
        log::warn!("a subscriber refused writes for its lag window and fell out of the replay log: closing its stream");
        sub.stream.close_with(CloseReason::Lagged);
        sub.release_at = None;
        true
    }

    /// The transport accepted (the start of) what the last
    /// [`Hub::peek_transmit`] offered `sub`: takes all of it and counts it as
    /// a write at `now` for the keep-alive timer. The adapter writes the
    /// rest of those bytes before it peeks again, and calls this again
    /// (with nothing offered it takes nothing) each time the transport
    /// takes more of them, so that the subscriber does not count as
    /// blocked while it reads.
    pub fn handle_written(&mut self, sub: &mut Subscriber, now: Instant) {
        let events = core::mem::take(&mut sub.stream.offered_log);
        sub.cursor += u64::from(events);
        sub.stream.handle_written(now);
        if events > 0 {
            sub.stream.mark_written();
        }
        sub.release_at = None;
        if sub.stream.closed().is_some() {
            self.holds.release(sub.key);
        } else {
            self.holds.progressed(sub.key, sub.cursor, now, &self.log);
        }
    }

    /// The transport refused a write to `sub` at `now` (it took none of
    /// what was offered, or none of the rest of a batch it started): from
    /// the first such call until the next [`Hub::handle_written`], the
    /// subscriber counts as blocked. Once it has been blocked for its
    /// [`Config::lag_window`] ([`Subscriber::poll_timeout`] says when; call
    /// [`Hub::handle_timeout`] then), the hub stops holding events for it.
    pub fn handle_blocked(&mut self, sub: &mut Subscriber, now: Instant) {
        if sub.stream.closed().is_none() {
            sub.release_at = self.holds.blocked(sub.key, now);
        }
    }

    /// Fires `sub`'s timers due at `now`: its keep-alive (no comment is
    /// queued while log events wait for it) and, while its transport
    /// refuses writes, the end of its lag window (it stops holding, and if
    /// its cursor is no longer in the log it lags: see
    /// [`Hub::close_if_lagging`]). Early or repeated calls do nothing.
    pub fn handle_timeout(&mut self, sub: &mut Subscriber, now: Instant) {
        let busy = sub.cursor < self.log.next_seq();
        sub.stream.keep_alive(now, busy);
        if sub.release_at.is_some_and(|at| at <= now)
            && self.holds.release_if_blocked_out(sub.key, now)
        {
            sub.release_at = None;
            self.close_if_lagging(sub);
        }
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
mod tests;
