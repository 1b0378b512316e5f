//! The server side of one event stream: what to write to one subscriber, and when.
//!
//! A [`Stream`] is the sans-I/O state of one open `text/event-stream`
//! response. The adapter sends the [`ResponseHead`] it gives, then loops:
//!
//! - [`Stream::poll_transmit`] hands out the next bytes to write (the
//!   preamble first: the optional padding comment and `retry:` hint; then
//!   notices and events), and counts as a write for the keep-alive timer;
//!   over a socket that can be full, [`Stream::peek_transmit`] offers the
//!   bytes without taking them and [`Stream::handle_written`] takes them
//!   once the socket accepted them (see [Writing to a socket](#writing-to-a-socket));
//! - [`Stream::poll_timeout`] says when to call [`Stream::handle_timeout`],
//!   which queues a keep-alive comment (`:\n`) when nothing was written for
//!   [`Config::keep_alive`] (15 s by default, as the HTML spec suggests);
//! - [`Stream::closed`] says when to end the response.
//!
//! Events reach a stream in two ways. [`Stream::send`] queues a message for
//! this subscriber alone, in a queue bounded by [`Config::max_queued_bytes`]
//! with a [`LagPolicy`] for when it is full. Broadcast events come from a
//! [`Hub`](crate::hub::Hub): a hub [`Subscriber`](crate::hub::Subscriber)
//! wraps a `Stream` and a cursor into the shared [replay log](crate::replay),
//! so it holds no copy of them.
//!
//! # Writing to a socket
//!
//! A socket says whether it can take more only when written to. Bytes an
//! adapter took with `poll_transmit` and could not write are gone from the
//! core's view: it counts them as written (so no keep-alive is due) and, for
//! a hub subscriber, its cursor is past them. A socket adapter therefore
//! peeks, writes, and commits:
//!
//! 1. [`Stream::peek_transmit`] (or [`Hub::peek_transmit`](crate::hub::Hub::peek_transmit))
//!    offers the next chunks, up to a byte budget;
//! 2. the adapter writes them; if the socket takes nothing (`WouldBlock`,
//!    `Pending`), it drops them, reports the refusal to a hub subscriber
//!    with [`Hub::handle_blocked`](crate::hub::Hub::handle_blocked), and
//!    peeks again when the socket is writable, so what it then gets
//!    reflects everything that happened meanwhile;
//! 3. once the socket took any of it, [`Stream::handle_written`] (or
//!    [`Hub::handle_written`](crate::hub::Hub::handle_written)) takes
//!    exactly what was offered and restarts the keep-alive timer at that
//!    time; the adapter finishes writing the rest before peeking again,
//!    telling a hub subscriber about each further write that goes through
//!    (`handle_written` again) and each that is refused (`handle_blocked`).
//!
//! Only that refused time counts against a hub subscriber: the hub holds
//! every event it has not been sent yet, however many are published
//! meanwhile, until its socket has refused writes for
//! [`Config::lag_window`]; then it lags like a reader of a bounded log (see
//! [the hub](crate::hub#bursts-backpressure-and-lag)). If a write it started
//! is stuck part way, [`Hub::close_if_lagging`](crate::hub::Hub::close_if_lagging)
//! decides whether to drop the connection in the middle of an event (the
//! client discards the event cut short and resumes from the last whole
//! one), instead of holding it as long as the client holds it.
//!
//! Resuming follows Mercure: the client's last event ID comes from the
//! `Last-Event-ID` header or, because browsers cannot set headers on the
//! first connect, a `last_event_id` query parameter ([`last_event_id`]).
//! When the log cannot serve that ID, the [`ResumePolicy`] chooses between
//! replaying what is retained and going live, the subscriber receives a
//! [`Notice`] saying where its stream really starts, and the response carries
//! a `Last-Event-ID` header with the ID of the event right before the first
//! one it will get (`earliest` when that is the start of the log).
//!
//! ```
//! use core::time::Duration;
//! use sse_core::encode::Message;
//! use sse_core::server::{Config, Stream};
//! use sse_core::Instant;
//!
//! let config = Config { retry: Some(3000), ..Config::default() };
//! let mut stream = Stream::new(Instant::ZERO, config);
//! assert_eq!(stream.response_head().status, 200);
//! stream.send(&Message::new("hello")).unwrap();
//! let mut wire = Vec::new();
//! while let Some(bytes) = stream.poll_transmit(Instant::ZERO) {
//!     wire.extend_from_slice(&bytes);
//! }
//! assert_eq!(wire, b"retry: 3000\ndata: hello\n\n");
//!
//! // Idle for 15 s: a keep-alive comment is due.
//! let due = stream.poll_timeout().unwrap();
//! assert_eq!(due, Instant::ZERO + Duration::from_secs(15));
//! stream.handle_timeout(due);
//! assert_eq!(stream.poll_transmit(due).as_deref(), Some(&b":\n"[..]));
//! ```

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use bytes::{BufMut, Bytes, BytesMut};
use core::fmt;
use core::time::Duration;

use crate::encode::{self, EncodeError, Message};
use crate::text::Utf8Bytes;
use crate::time::Instant;

/// The keep-alive comment: an empty comment line, ignored by every client.
pub const KEEP_ALIVE: &[u8] = b":\n";

/// What a hub subscriber that stopped holding its events (its transport
/// refused writes for [`Config::lag_window`]) gets once its cursor falls out
/// of the replay log, and what a subscriber whose own queue is full gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LagPolicy {
    /// End its stream ([`CloseReason::Lagged`]). The client reconnects with
    /// its last event ID and resumes from the log, without loss while that
    /// ID is still retained, and with a [`Notice`] otherwise. The default: a
    /// client that cannot keep up learns it the way every client handles.
    #[default]
    Disconnect,
    /// Skip it ahead to the oldest retained event and tell it how many it
    /// missed with a [`Notice`].
    SkipAhead,
}

/// What to replay when a subscriber's last event ID cannot be served
/// without loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResumePolicy {
    /// Send every retained event, then live ones.
    ReplayRetained,
    /// Send only events published from now on.
    LiveOnly,
}

/// How a subscriber is told that its stream does not continue exactly where
/// it left off (a gap, an unknown ID, events skipped for lagging).
///
/// The payload is one line of JSON: `{"reason":"gap"|"unknown"|"lagged",
/// "requested":ID?, "skipped":N?, "resumed_after":ID}`, where `resumed_after`
/// is the ID of the event right before the next one sent, or `earliest`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice {
    /// Say nothing.
    Silent,
    /// A comment line `: {json}`: visible to people and raw parsers only.
    Comment,
    /// An event of this type (without an `id`) whose data is the JSON line;
    /// browsers deliver it to `addEventListener(type)` listeners only.
    Event(Utf8Bytes),
}

impl Default for Notice {
    /// An event named `sse-resync`: the application can react (refetch its
    /// state) and code that does not listen for it is unaffected.
    fn default() -> Self {
        Notice::Event(Utf8Bytes::from_static("sse-resync"))
    }
}

/// Settings of one stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Write a keep-alive comment after this long without writing anything;
    /// `None` disables it. Default 15 s (HTML spec §9.2.7).
    pub keep_alive: Option<Duration>,
    /// A `retry:` hint (milliseconds) written at the start of the stream.
    pub retry: Option<u64>,
    /// Size in bytes of a comment written first, for old proxies and
    /// browsers that buffer the start of a response (2048 for old IE). `0`
    /// writes none; `1` counts as 2, the shortest comment line.
    pub padding: usize,
    /// Most bytes queued by [`Stream::send`] and not yet handed out.
    pub max_queued_bytes: usize,
    /// What happens to a subscriber that cannot keep up.
    pub lag: LagPolicy,
    /// For hub subscribers: how long their transport may refuse writes
    /// without a break before the hub stops holding events for them (then
    /// [`Config::lag`] applies once the replay log evicts their next
    /// event). Only refused time counts: a subscriber that reads, however
    /// slowly, or whose task has not run yet, is never dropped; publishers
    /// wait for it instead (see [`hub`](crate::hub#bursts-backpressure-and-lag)).
    /// Default 5 s.
    pub lag_window: Duration,
    /// Replay choice when the last event ID is older than the log. Default
    /// [`ResumePolicy::ReplayRetained`]: every retained event is newer than
    /// what the client saw, so this adds no duplicates and loses least.
    pub on_gap: ResumePolicy,
    /// Replay choice when the log does not know the last event ID. Default
    /// [`ResumePolicy::LiveOnly`]: the ID may come from before a restart, so
    /// the client may have seen the retained events already, and re-running
    /// non-idempotent handlers is worse than a gap the [`Notice`] reports.
    pub on_unknown: ResumePolicy,
    /// How gaps and skips are reported.
    pub notice: Notice,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            keep_alive: Some(Duration::from_secs(15)),
            retry: None,
            padding: 0,
            max_queued_bytes: 64 << 10,
            lag: LagPolicy::default(),
            lag_window: Duration::from_secs(5),
            on_gap: ResumePolicy::ReplayRetained,
            on_unknown: ResumePolicy::LiveOnly,
            notice: Notice::default(),
        }
    }
}

/// Why a stream ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The application called [`Stream::close`].
    Finished,
    /// The subscriber fell behind and [`LagPolicy::Disconnect`] applied.
    Lagged,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CloseReason::Finished => "stream finished",
            CloseReason::Lagged => "subscriber fell behind",
        })
    }
}

/// Why [`Stream::send`] refused a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The message cannot be encoded faithfully.
    Encode(EncodeError),
    /// The stream has ended; drop it.
    Closed(CloseReason),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Encode(e) => e.fmt(f),
            SendError::Closed(reason) => write!(f, "stream closed: {reason}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SendError {}

impl From<EncodeError> for SendError {
    fn from(e: EncodeError) -> Self {
        SendError::Encode(e)
    }
}

/// The status line and headers of an event stream response.
///
/// Headers are `Content-Type: text/event-stream`, `Cache-Control: no-store`
/// (no cache may hold or replay a live stream), `X-Accel-Buffering: no`
/// (nginx and compatible proxies stream instead of buffering), and for hub
/// subscribers `Last-Event-ID` (where the stream really starts, as Mercure
/// does). `Connection: keep-alive` and `Transfer-Encoding` are left to the
/// adapter: they are HTTP/1.1-only and forbidden in HTTP/2. The adapter
/// should not compress the stream unless it flushes after every write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    /// The status code: 200.
    pub status: u16,
    /// Header names and values, in order.
    pub headers: Vec<(&'static str, String)>,
}

impl ResponseHead {
    fn event_stream() -> Self {
        ResponseHead {
            status: 200,
            headers: alloc::vec![
                ("Content-Type", String::from("text/event-stream")),
                ("Cache-Control", String::from("no-store")),
                ("X-Accel-Buffering", String::from("no")),
            ],
        }
    }
}

/// The client's last event ID from a request: the `Last-Event-ID` header if
/// present and non-empty, else the `last_event_id` query parameter of
/// `target` (percent-decoded, `+` as space). Header names match
/// case-insensitively; surrounding whitespace is trimmed; invalid UTF-8 is
/// replaced with U+FFFD. An ID containing NUL is ignored, as clients do.
///
/// ```
/// use sse_core::server::last_event_id;
/// let headers = [("accept", &b"text/event-stream"[..]), ("last-event-id", b" 42 ")];
/// assert_eq!(last_event_id("/events", headers).as_deref(), Some("42"));
/// assert_eq!(last_event_id("/events?topic=a&last_event_id=a%2Fb+c", []).as_deref(), Some("a/b c"));
/// assert_eq!(last_event_id("/events", []), None);
/// ```
pub fn last_event_id<'a>(
    target: &str,
    headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Option<String> {
    let from_header = headers
        .into_iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("last-event-id"))
        .map(|(_, value)| String::from_utf8_lossy(value).trim().into())
        .find(|v: &String| !v.is_empty());
    let id = from_header.or_else(|| query_param(target, "last_event_id"))?;
    if id.is_empty() || id.contains('\0') {
        return None;
    }
    Some(id)
}

/// The first non-empty value of `name` in the query of a request target.
fn query_param(target: &str, name: &str) -> Option<String> {
    let query = target.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or_default();
    query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .filter(|(key, _)| percent_decode(key) == name)
        .map(|(_, value)| percent_decode(value))
        .find(|v| !v.is_empty())
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| {
                    let h = core::str::from_utf8(h).ok()?;
                    u8::from_str_radix(h, 16).ok()
                });
                if let Some(b) = hex {
                    out.push(b);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What a queued chunk is, for [`LagPolicy::SkipAhead`] on the own queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Preamble, notice or keep-alive: never dropped.
    Control,
    /// An event from [`Stream::send`]: dropped oldest first when lagging.
    Event,
}

/// The state of one event stream response. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Stream {
    config: Config,
    queue: VecDeque<(Kind, Bytes)>,
    /// Chunks at the front of `queue` offered by the last peek.
    offered: u32,
    /// Log events past a hub subscriber's cursor offered by the last peek
    /// (kept here, beside `offered`, where it costs no space).
    pub(crate) offered_log: u32,
    /// Bytes of [`Kind::Event`] chunks in `queue`.
    queued: usize,
    /// Events dropped from the own queue and not yet reported.
    dropped: u32,
    /// When bytes were last handed out (or a keep-alive was due).
    last_write: Instant,
    now: Instant,
    closed: Option<CloseReason>,
    head: ResponseHead,
}

impl Stream {
    /// A new stream opened at `now`; its preamble is queued.
    pub fn new(now: Instant, config: Config) -> Self {
        let mut preamble = BytesMut::new();
        if config.padding > 0 {
            preamble.put_u8(b':');
            preamble.put_bytes(b' ', config.padding.saturating_sub(2));
            preamble.put_u8(b'\n');
        }
        if let Some(ms) = config.retry {
            encode::retry(&mut preamble, ms);
        }
        let mut stream = Stream {
            config,
            queue: VecDeque::new(),
            offered: 0,
            offered_log: 0,
            queued: 0,
            dropped: 0,
            last_write: now,
            now,
            closed: None,
            head: ResponseHead::event_stream(),
        };
        if !preamble.is_empty() {
            stream.queue.push_back((Kind::Control, preamble.freeze()));
        }
        stream
    }

    /// The response status and headers to send before any body bytes.
    pub fn response_head(&self) -> &ResponseHead {
        &self.head
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Queues an event for this subscriber alone, behind what is queued.
    ///
    /// When the queue would exceed [`Config::max_queued_bytes`], the
    /// [`LagPolicy`] applies: `Disconnect` closes the stream (the message is
    /// dropped and `Ok` returned: a slow peer is not the caller's error), and
    /// `SkipAhead` drops the oldest queued events and reports them with a
    /// [`Notice`]. A single message larger than the limit is still queued
    /// when nothing else is.
    pub fn send(&mut self, msg: &Message<'_>) -> Result<(), SendError> {
        if let Some(reason) = self.closed {
            return Err(SendError::Closed(reason));
        }
        let mut buf = BytesMut::with_capacity(msg.encoded_len());
        encode::message(&mut buf, msg)?;
        self.enqueue(buf.freeze());
        Ok(())
    }

    /// Queues an encoded event as [`Stream::send`] does, lag policy
    /// included; does nothing on a closed stream.
    pub(crate) fn enqueue(&mut self, bytes: Bytes) {
        if self.closed.is_some() {
            return;
        }
        let len = bytes.len();
        if self.queued + len > self.config.max_queued_bytes && self.queued > 0 {
            match self.config.lag {
                LagPolicy::Disconnect => {
                    log::warn!("a subscriber's own queue is full: closing its stream");
                    self.close_with(CloseReason::Lagged);
                    return;
                }
                LagPolicy::SkipAhead => {
                    // Chunks offered to the adapter may be on the wire
                    // already: only later ones are dropped.
                    while self.queued > 0 && self.queued + len > self.config.max_queued_bytes {
                        let Some(i) = self
                            .queue
                            .iter()
                            .skip(self.offered as usize)
                            .position(|(k, _)| *k == Kind::Event)
                            .map(|i| i + self.offered as usize)
                        else {
                            break;
                        };
                        if let Some((_, bytes)) = self.queue.remove(i) {
                            self.queued -= bytes.len();
                            self.dropped = self.dropped.saturating_add(1);
                        }
                    }
                }
            }
        }
        self.queued += len;
        self.queue.push_back((Kind::Event, bytes));
    }

    /// Counts events dropped elsewhere for this stream (an
    /// [`Outbox`](crate::outbox::Outbox) that overflowed): the next
    /// transmit reports them with a [`Notice`], as for its own queue.
    pub(crate) fn note_dropped(&mut self, n: u32) {
        self.dropped = self.dropped.saturating_add(n);
    }

    /// Ends the stream: [`Stream::closed`] reports `Finished` once the queue
    /// is drained. Idempotent.
    pub fn close(&mut self) {
        if self.closed.is_none() {
            self.closed = Some(CloseReason::Finished);
        }
    }

    /// `Some` once the adapter should end the response: for `Finished` after
    /// every queued byte was handed out, for `Lagged` at once.
    pub fn closed(&self) -> Option<CloseReason> {
        match self.closed {
            Some(CloseReason::Finished) if !self.queue.is_empty() => None,
            other => other,
        }
    }

    /// Bytes of events queued by [`Stream::send`] and not yet handed out
    /// (at most [`Config::max_queued_bytes`], or one larger message).
    pub fn queued_bytes(&self) -> usize {
        self.queued
    }

    /// Whether bytes are queued for [`Stream::poll_transmit`].
    pub fn has_queued(&self) -> bool {
        !self.queue.is_empty()
    }

    /// The next bytes to write, or `None` when nothing is queued. Handing
    /// bytes out counts as a write at `now` for the keep-alive timer. For a
    /// transport that may refuse bytes, use [`Stream::peek_transmit`].
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Bytes> {
        let mut first = None;
        self.peek_transmit(now, 0, |b| first = Some(b.clone()));
        self.handle_written(now);
        first
    }

    /// Offers the queued bytes without taking them: calls `take` with each
    /// chunk in order while the total stays within `max` bytes (always at
    /// least one chunk), and returns the bytes offered (`0` when nothing is
    /// queued or the stream lagged). They stay queued until
    /// [`Stream::handle_written`]; a later peek offers them again, after
    /// whatever happened in between. See [Writing to a socket](self#writing-to-a-socket).
    pub fn peek_transmit(
        &mut self,
        now: Instant,
        max: usize,
        mut take: impl FnMut(&Bytes),
    ) -> usize {
        self.offered = 0;
        self.advance(now);
        if self.closed == Some(CloseReason::Lagged) {
            return 0;
        }
        if self.dropped > 0 {
            let dropped = core::mem::take(&mut self.dropped);
            self.push_notice(NoticeBody::Lagged {
                skipped: u64::from(dropped),
                resumed_after: None,
            });
        }
        let mut total = 0;
        for (_, bytes) in &self.queue {
            if (total > 0 && total + bytes.len() > max) || self.offered == u32::MAX {
                break;
            }
            take(bytes);
            total += bytes.len();
            self.offered += 1;
        }
        total
    }

    /// The transport accepted (the start of) what the last
    /// [`Stream::peek_transmit`] offered: takes all of it off the queue and
    /// counts it as a write at `now` for the keep-alive timer. The adapter
    /// writes the rest of those bytes before it peeks again. Does nothing
    /// when nothing was offered.
    pub fn handle_written(&mut self, now: Instant) {
        self.advance(now);
        if self.offered == 0 {
            return;
        }
        for _ in 0..core::mem::take(&mut self.offered) {
            if let Some((Kind::Event, bytes)) = self.queue.pop_front() {
                self.queued -= bytes.len();
            }
        }
        self.last_write = self.now;
    }

    /// When [`Stream::handle_timeout`] should next be called, if ever.
    /// Has no side effects.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed.is_some() {
            return None;
        }
        Some(self.last_write + self.config.keep_alive?)
    }

    /// Fires the keep-alive timer if it is due at `now`: queues a keep-alive
    /// comment (unless bytes are already waiting) and restarts the timer.
    /// Calling it early, or twice, does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.keep_alive(now, false);
    }

    /// `handle_timeout`, where `busy` means bytes are waiting elsewhere.
    pub(crate) fn keep_alive(&mut self, now: Instant, busy: bool) {
        self.advance(now);
        let Some(due) = self.poll_timeout() else {
            return;
        };
        if self.now < due {
            return;
        }
        if self.queue.is_empty() && !busy {
            self.queue
                .push_back((Kind::Control, Bytes::from_static(KEEP_ALIVE)));
        }
        self.last_write = self.now;
    }

    pub(crate) fn mark_written(&mut self) {
        self.last_write = self.now;
    }

    pub(crate) fn advance(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    pub(crate) fn close_with(&mut self, reason: CloseReason) {
        if reason == CloseReason::Lagged {
            self.queue.clear();
            self.queued = 0;
            self.offered = 0;
        }
        self.closed = Some(reason);
    }

    pub(crate) fn head_mut(&mut self) -> &mut ResponseHead {
        &mut self.head
    }

    /// Queues a notice as configured, before queued events but after the
    /// preamble.
    pub(crate) fn push_notice(&mut self, body: NoticeBody<'_>) {
        let mut json = String::new();
        body.write_json(&mut json);
        let mut out = BytesMut::new();
        match &self.config.notice {
            Notice::Silent => return,
            Notice::Comment => encode::comment(&mut out, &json),
            Notice::Event(name) => {
                // Cannot fail: no id, and a name with a line break is
                // written as no name rather than rejected.
                let event = Some(name.as_str()).filter(|n| !n.contains(['\r', '\n']));
                let msg = Message {
                    event,
                    data: &json,
                    ..Message::default()
                };
                if encode::message(&mut out, &msg).is_err() {
                    return;
                }
            }
        }
        let at = self
            .queue
            .iter()
            .position(|(k, _)| *k == Kind::Event)
            .unwrap_or(self.queue.len())
            .max(self.offered as usize);
        self.queue.insert(at, (Kind::Control, out.freeze()));
    }
}

/// What a [`Notice`] reports.
#[derive(Clone, Copy, Debug)]
pub(crate) enum NoticeBody<'a> {
    Gap {
        requested: &'a str,
        resumed_after: &'a str,
    },
    Unknown {
        requested: &'a str,
        resumed_after: &'a str,
    },
    Lagged {
        skipped: u64,
        resumed_after: Option<&'a str>,
    },
}

impl NoticeBody<'_> {
    fn write_json(&self, out: &mut String) {
        use core::fmt::Write;
        let (reason, requested, skipped, after) = match *self {
            NoticeBody::Gap {
                requested,
                resumed_after,
            } => ("gap", Some(requested), None, Some(resumed_after)),
            NoticeBody::Unknown {
                requested,
                resumed_after,
            } => ("unknown", Some(requested), None, Some(resumed_after)),
            NoticeBody::Lagged {
                skipped,
                resumed_after,
            } => ("lagged", None, Some(skipped), resumed_after),
        };
        out.push_str("{\"reason\":\"");
        out.push_str(reason);
        out.push('"');
        if let Some(id) = requested {
            out.push_str(",\"requested\":");
            json_string(out, id);
        }
        if let Some(n) = skipped {
            let _ = write!(out, ",\"skipped\":{n}");
        }
        if let Some(id) = after {
            out.push_str(",\"resumed_after\":");
            json_string(out, id);
        }
        out.push('}');
    }
}

/// Writes `s` as a JSON string literal (one line: control characters escaped).
fn json_string(out: &mut String, s: &str) {
    use core::fmt::Write;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn drain(stream: &mut Stream, now: Instant) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(b) = stream.poll_transmit(now) {
            out.extend_from_slice(&b);
        }
        out
    }

    #[test]
    fn preamble_padding_and_retry() {
        let config = Config {
            padding: 8,
            retry: Some(10),
            ..Config::default()
        };
        let mut s = Stream::new(Instant::ZERO, config);
        assert_eq!(drain(&mut s, Instant::ZERO), b":      \nretry: 10\n");
        let mut s = Stream::new(
            Instant::ZERO,
            Config {
                padding: 1,
                ..Config::default()
            },
        );
        assert_eq!(drain(&mut s, Instant::ZERO), b":\n");
    }

    #[test]
    fn keep_alive_is_exact_and_reset_by_writes() {
        let mut s = Stream::new(Instant::ZERO, Config::default());
        let t = |ms| Instant::from_millis(ms);
        s.handle_timeout(t(14_999));
        assert!(drain(&mut s, t(14_999)).is_empty());
        s.send(&Message::new("x")).unwrap();
        drain(&mut s, t(14_999));
        assert_eq!(s.poll_timeout(), Some(t(29_999)));
        s.handle_timeout(t(29_998));
        assert!(!s.has_queued());
        s.handle_timeout(t(29_999));
        s.handle_timeout(t(29_999));
        assert_eq!(drain(&mut s, t(29_999)), b":\n");
        assert_eq!(s.poll_timeout(), Some(t(44_999)));
        // Time going backwards is ignored.
        s.handle_timeout(t(1));
        assert!(!s.has_queued());
    }

    #[test]
    fn own_queue_lag_policies() {
        let config = Config {
            max_queued_bytes: 30,
            ..Config::default()
        };
        let mut s = Stream::new(Instant::ZERO, config.clone());
        s.send(&Message::new("0123456789")).unwrap(); // 18 bytes each
        s.send(&Message::new("0123456789")).unwrap();
        assert_eq!(s.closed(), Some(CloseReason::Lagged));
        assert_eq!(s.poll_transmit(Instant::ZERO), None);
        assert_eq!(
            s.send(&Message::new("x")),
            Err(SendError::Closed(CloseReason::Lagged))
        );

        let config = Config {
            lag: LagPolicy::SkipAhead,
            notice: Notice::Comment,
            ..config
        };
        let mut s = Stream::new(Instant::ZERO, config);
        for d in ["a", "b", "c", "d", "e"] {
            s.send(&Message::new(d).id(d)).unwrap(); // 16 bytes each
        }
        assert_eq!(
            drain(&mut s, Instant::ZERO),
            b": {\"reason\":\"lagged\",\"skipped\":3}\nid: d\ndata: d\n\nid: e\ndata: e\n\n"
        );
    }

    #[test]
    fn close_drains_first() {
        let mut s = Stream::new(Instant::ZERO, Config::default());
        s.send(&Message::new("bye")).unwrap();
        s.close();
        assert_eq!(s.closed(), None);
        assert_eq!(s.poll_timeout(), None);
        drain(&mut s, Instant::ZERO);
        assert_eq!(s.closed(), Some(CloseReason::Finished));
    }

    #[test]
    fn request_helpers() {
        let h = |v: &'static str| vec![("Last-Event-ID", v.as_bytes())];
        assert_eq!(
            last_event_id("/?last_event_id=q", h("h")).as_deref(),
            Some("h")
        );
        assert_eq!(
            last_event_id("/?last_event_id=q", h("  ")).as_deref(),
            Some("q")
        );
        assert_eq!(
            last_event_id("/?a=1&last_event_id=%E2%9C%93%2", []).as_deref(),
            Some("✓%2")
        );
        assert_eq!(
            last_event_id("/?last_event_id=&last_event_id=7#x", []).as_deref(),
            Some("7")
        );
        assert_eq!(last_event_id("/?last_event_id", []), None);
        assert_eq!(last_event_id("/?last_event_id=%00", []), None);
        assert_eq!(
            last_event_id("/?last_event_id=%ff", []).as_deref(),
            Some("\u{FFFD}")
        );
    }

    #[test]
    fn json_strings_stay_on_one_line() {
        let mut s = String::new();
        json_string(&mut s, "a\"b\\c\nd\u{2028}");
        assert_eq!(s, "\"a\\\"b\\\\c\\u000ad\\u2028\"");
    }
}
