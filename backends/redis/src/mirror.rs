//! A local hub fed from the Redis stream.

use std::collections::VecDeque;
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use event_listener::{Event, EventListener};
use sse_core::hub::{Hub, Subscriber};
use sse_core::replay::{Entry as LogEntry, LogLimits, MemoryLog, ReplayLog, Resume, EARLIEST};
use sse_core::server::Config as StreamConfig;
use sse_core::{Instant, Utf8Bytes};
use sse_futures::server::{HubGuard, SharedHub};

use crate::error::Error;
use crate::id::StreamId;
use crate::log::{lock, with_timeout, Entry, RedisLog};
use crate::tail::{Start, Tail};

/// A [`ReplayLog`] for events whose IDs are Redis stream IDs, appended in
/// stream order (what a [`Mirror`] does).
///
/// It is a [`MemoryLog`] plus the parsed ID of each retained event, so
/// [`resume`](ReplayLog::resume) understands the order of foreign IDs, which
/// `MemoryLog` (whose own IDs are sequence numbers) cannot:
///
/// - an ID in the retained range resumes right after it, even if that exact
///   entry is not retained (e.g. deleted in Redis): [`Resume::From`];
/// - the ID right before the oldest retained entry (the [`floor`], known
///   from the mirror's backfill or from local eviction) loses nothing:
///   [`Resume::From`] the first sequence number;
/// - an older ID: [`Resume::Gap`], whose `requested` is `0` because the ID
///   names no local sequence number; the hub then follows
///   [`ResumePolicy`](sse_core::server::ResumePolicy) `on_gap` (by default:
///   a notice, then everything retained);
/// - an ID newer than the newest retained, or not a stream ID:
///   [`Resume::Unknown`]. (A mirror that is merely behind is made to catch
///   up before subscribing by [`Mirror::subscribe`].)
///
/// IDs that do not parse or do not increase are kept and served, and can
/// be resumed from by exact match only.
///
/// [`floor`]: StreamLog::floor
///
/// ```
/// use sse_core::replay::{LogLimits, ReplayLog, Resume};
/// use sse_redis::StreamLog;
///
/// let mut log = StreamLog::new(LogLimits { max_events: 2, max_bytes: 1 << 20 });
/// for id in ["5-0", "7-0", "9-0"] {
///     log.append(id.to_string().into(), bytes::Bytes::from(format!("id: {id}\n\n")));
/// }
/// // Retained: 7-0 (seq 2), 9-0 (seq 3); 5-0 was evicted and is the floor.
/// assert_eq!(log.resume("7-0"), Resume::From(3));
/// assert_eq!(log.resume("8-0"), Resume::From(3));
/// assert_eq!(log.resume("5-0"), Resume::From(2));
/// assert!(matches!(log.resume("4-0"), Resume::Gap { .. }));
/// assert_eq!(log.resume("10-0"), Resume::Unknown);
/// ```
#[derive(Clone, Debug)]
pub struct StreamLog {
    inner: MemoryLog,
    keys: VecDeque<StreamId>,
    floor: Option<StreamId>,
}

impl Default for StreamLog {
    fn default() -> Self {
        StreamLog::new(LogLimits::default())
    }
}

impl StreamLog {
    /// An empty log with these bounds.
    pub fn new(limits: LogLimits) -> Self {
        StreamLog {
            inner: MemoryLog::new(limits),
            keys: VecDeque::new(),
            floor: None,
        }
    }

    /// The ID of the entry right before the oldest retained one, when
    /// known: resuming from it loses nothing.
    pub fn floor(&self) -> Option<StreamId> {
        self.floor
    }

    /// Declares that nothing between `id` and the oldest retained entry is
    /// missing (a mirror's backfill knows this). Ignored unless older than
    /// the oldest retained entry.
    pub fn set_floor(&mut self, id: StreamId) {
        if !matches!(self.keys.front(), Some(oldest) if *oldest <= id) {
            self.floor = Some(id);
        }
    }

    /// The newest retained ID.
    pub fn newest(&self) -> Option<StreamId> {
        self.keys.back().copied()
    }

    /// Number of retained events.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether nothing is retained.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Encoded bytes retained.
    pub fn retained_bytes(&self) -> usize {
        self.inner.retained_bytes()
    }
}

impl ReplayLog for StreamLog {
    fn append(&mut self, id: Utf8Bytes, bytes: Bytes) -> u64 {
        let previous = self.keys.back().copied().or(self.floor);
        let key = match (StreamId::parse(id.as_str()), previous) {
            (Some(key), Some(prev)) if key > prev => key,
            (Some(key), None) => key,
            (_, prev) => prev.unwrap_or(StreamId::ZERO),
        };
        let seq = self.inner.append(id, bytes);
        self.keys.push_back(key);
        while self.keys.len() > self.inner.len() {
            self.floor = self.keys.pop_front();
        }
        seq
    }

    fn next_seq(&self) -> u64 {
        self.inner.next_seq()
    }

    fn first_seq(&self) -> u64 {
        self.inner.first_seq()
    }

    fn get(&self, seq: u64) -> Option<LogEntry> {
        self.inner.get(seq)
    }

    fn find(&self, id: &str) -> Option<u64> {
        if let Some(key) = StreamId::parse(id) {
            let index = self.keys.partition_point(|k| *k < key);
            let seq = self.first_seq() + index as u64;
            if self.keys.get(index) == Some(&key) && self.get(seq).is_some_and(|e| e.id == id) {
                return Some(seq);
            }
        }
        self.inner.find(id)
    }

    fn resume(&self, last_event_id: &str) -> Resume {
        let first = self.first_seq();
        if last_event_id == EARLIEST {
            return Resume::From(first);
        }
        if let Some(seq) = self.find(last_event_id) {
            return Resume::From(seq.saturating_add(1));
        }
        let Some(requested) = StreamId::parse(last_event_id) else {
            return Resume::Unknown;
        };
        match self.keys.back().copied().or(self.floor) {
            Some(newest) if requested <= newest => {}
            _ => return Resume::Unknown,
        }
        if self.keys.front().is_some_and(|oldest| requested >= *oldest) {
            let after = self.keys.partition_point(|k| *k <= requested);
            return Resume::From(first + after as u64);
        }
        match self.floor {
            Some(floor) if requested >= floor => Resume::From(first),
            _ => Resume::Gap {
                requested: 0,
                oldest_retained: first,
            },
        }
    }
}

/// Settings for a [`Mirror`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MirrorConfig {
    /// Bounds of the local log. Make `max_events` no larger than the Redis
    /// retention, else the local log could hold what Redis trimmed (fine)
    /// and, more to the point, no smaller than the resume window you want.
    pub limits: LogLimits,
    /// How many of the newest Redis entries to load on start, so that
    /// subscribers failing over from another instance resume at once.
    /// Default: `limits.max_events`.
    pub backfill: usize,
}

impl Default for MirrorConfig {
    fn default() -> Self {
        let limits = LogLimits::default();
        MirrorConfig {
            limits,
            backfill: limits.max_events,
        }
    }
}

/// The mirror's connection state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MirrorState {
    /// Not yet read from Redis.
    Starting,
    /// Reading from Redis.
    Live,
    /// Redis is unreachable; reconnecting with backoff. Local subscribers
    /// get no new events meanwhile; the mirror catches up when Redis is
    /// back, so they lose nothing retained.
    Down,
}

/// A snapshot of a [`Mirror`]'s state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MirrorStatus {
    /// Connection state.
    pub state: MirrorState,
    /// The last stream entry copied into the hub.
    pub applied: Option<StreamId>,
    /// How many times the mirror lost Redis (transitions to
    /// [`MirrorState::Down`]). A server can end its subscribers' responses
    /// when this changes, so clients see the outage and resume elsewhere.
    pub outages: u64,
    /// How many times entries were lost to the mirror
    /// ([`Error::Trimmed`], [`Error::Regressed`]).
    pub gaps: u64,
    /// The last error, as text.
    pub last_error: Option<String>,
}

type Callback = Arc<dyn Fn() + Send + Sync>;

struct Shared {
    log: RedisLog,
    hub: SharedHub<StreamLog>,
    status: Mutex<MirrorStatus>,
    changed: Event,
    stop: AtomicBool,
    stopped: Event,
    on_publish: Mutex<Option<Callback>>,
}

impl Shared {
    fn notify(&self) {
        self.changed.notify(usize::MAX);
        let callback = lock(&self.on_publish).clone();
        if let Some(callback) = callback {
            callback();
        }
    }
}

/// A local [`Hub`] that copies a Redis stream, for one server instance.
///
/// Every instance runs a mirror of the same stream, publishes through
/// [`RedisLog::publish`] (never straight into the hub), and serves its
/// subscribers from its hub: with `sse-futures`' server
/// ([`Mirror::shared_hub`] in a `Service`), or with the usual sans-I/O
/// calls. Event IDs are Redis entry IDs, so a client can resume on any
/// instance.
///
/// The hub holds every entry a local subscriber has not been sent yet (see
/// the core's [hub](sse_core::hub#bursts-backpressure-and-lag)): when its
/// backlog is full, the mirror waits before applying more (Redis keeps
/// them), so a local subscriber that reads never loses an entry to a burst.
///
/// Cheap to clone; [`MirrorTask::run`] does the copying and must be
/// spawned (on any runtime).
#[derive(Clone)]
pub struct Mirror {
    shared: Arc<Shared>,
}

impl core::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Mirror")
            .field("log", &self.shared.log)
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

/// The future that keeps a [`Mirror`] up to date; see [`MirrorTask::run`].
pub struct MirrorTask {
    shared: Arc<Shared>,
    tail: Tail,
    floor_done: bool,
}

impl core::fmt::Debug for MirrorTask {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MirrorTask")
            .field("tail", &self.tail)
            .finish_non_exhaustive()
    }
}

impl Mirror {
    /// A mirror of `log`'s stream, and the task to spawn that fills it: it
    /// first loads the newest `config.backfill` entries, then follows the
    /// stream.
    pub fn start(log: &RedisLog, config: MirrorConfig) -> (Mirror, MirrorTask) {
        let shared = Arc::new(Shared {
            log: log.clone(),
            hub: SharedHub::from_hub(Hub::with_log(StreamLog::new(config.limits))),
            status: Mutex::new(MirrorStatus {
                state: MirrorState::Starting,
                applied: None,
                outages: 0,
                gaps: 0,
                last_error: None,
            }),
            changed: Event::new(),
            stop: AtomicBool::new(false),
            stopped: Event::new(),
            on_publish: Mutex::new(None),
        });
        let tail = log.tail(Start::Newest(config.backfill));
        (
            Mirror {
                shared: shared.clone(),
            },
            MirrorTask {
                shared,
                tail,
                floor_done: false,
            },
        )
    }

    /// The Redis log this mirror copies.
    pub fn log(&self) -> &RedisLog {
        &self.shared.log
    }

    /// The hub, locked. Poll subscribers with it
    /// ([`Hub::poll_transmit`], [`Hub::has_pending`]; [`Hub::unsubscribe`]
    /// each when its connection ends); do not publish into it directly
    /// (other instances would not see the event). Hold the lock briefly:
    /// the mirror waits for it to apply new entries.
    pub fn hub(&self) -> HubGuard<'_, StreamLog> {
        self.shared.hub.lock()
    }

    /// The hub, shared: serve it with `sse-futures`' server (a `Service`
    /// over it, with an `admit` hook that waits for [`Mirror::sync`]).
    pub fn shared_hub(&self) -> &SharedHub<StreamLog> {
        &self.shared.hub
    }

    /// The current state.
    pub fn status(&self) -> MirrorStatus {
        lock(&self.shared.status).clone()
    }

    /// A listener that fires on the next change: entries applied to the hub
    /// or a state change. Create it before checking, then await it.
    pub fn listen(&self) -> EventListener {
        self.shared.changed.listen()
    }

    /// Calls `f` after each batch of entries is applied and on each state
    /// change (e.g. to wake parked subscriber tasks). Replaces any earlier
    /// callback. `f` runs on the mirror task with no lock held.
    pub fn on_publish(&self, f: impl Fn() + Send + Sync + 'static) {
        *lock(&self.shared.on_publish) = Some(Arc::new(f));
    }

    /// Waits until the hub holds every entry the Redis stream held when
    /// called. Fails if Redis cannot be asked ([`Error::is_outage`]) or the
    /// mirror does not catch up within the log's `op_timeout`.
    pub async fn sync(&self) -> Result<(), Error> {
        let Some(target) = self.shared.log.last_id().await? else {
            return Ok(());
        };
        let timeout = self.shared.log.config().op_timeout;
        with_timeout("mirror catch-up", timeout, async {
            loop {
                let listener = self.listen();
                if lock(&self.shared.status).applied >= Some(target) {
                    return;
                }
                listener.await;
            }
        })
        .await
    }

    /// A new subscriber of the hub at `now`, resuming after `last_event_id`
    /// (as [`Hub::subscribe`]), once the mirror has caught up with Redis
    /// ([`Mirror::sync`]): so an ID another instance handed out a moment
    /// ago is found, and the subscriber gets every later event exactly once.
    /// Hand it to [`Hub::unsubscribe`] when its connection ends: until then
    /// the hub holds entries for it.
    ///
    /// While Redis is unreachable this fails with an outage error: answer
    /// the request with an error status (e.g. 503 with `Retry-After`) and
    /// the client retries with its last ID.
    pub async fn subscribe(
        &self,
        now: Instant,
        last_event_id: Option<&str>,
        config: StreamConfig,
    ) -> Result<Subscriber, Error> {
        self.sync().await?;
        Ok(self.hub().subscribe(now, last_event_id, config))
    }

    /// Makes [`MirrorTask::run`] return soon (within one `XREAD` round at
    /// most, usually at once).
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.stopped.notify(usize::MAX);
    }
}

impl MirrorTask {
    /// Copies the stream into the hub until [`Mirror::stop`] is called (or
    /// this future is dropped). Outages are logged, reflected in
    /// [`Mirror::status`], and retried with backoff; the mirror then
    /// continues after the last entry it applied.
    pub async fn run(mut self) {
        let shared = self.shared.clone();
        let mut batch = Vec::new();
        loop {
            let stop = shared.stopped.listen();
            if shared.stop.load(Ordering::SeqCst) {
                break;
            }
            batch.clear();
            let result = futures_lite::future::or(
                async { Some(self.tail.read_batch(&mut batch).await) },
                async {
                    stop.await;
                    None
                },
            )
            .await;
            let Some(result) = result else { break };
            if result.is_ok() {
                // Before applying: whoever sees the entries sees Live.
                self.set_state(MirrorState::Live, None);
            }
            self.apply(&batch).await;
            match result {
                Ok(()) => {
                    let position = Some(self.tail.position());
                    let advanced = {
                        let mut status = lock(&shared.status);
                        let advanced = status.applied < position;
                        status.applied = status.applied.max(position);
                        advanced
                    };
                    if advanced {
                        shared.notify();
                    }
                }
                Err(e) if e.is_outage() => {
                    self.set_state(MirrorState::Down, Some(&e));
                    let delay = self.tail.retry_delay();
                    let stop = shared.stopped.listen();
                    if shared.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    futures_lite::future::or(
                        async {
                            async_io::Timer::after(delay).await;
                        },
                        stop,
                    )
                    .await;
                }
                Err(e) => {
                    let gap = matches!(e, Error::Trimmed { .. } | Error::Regressed { .. });
                    if gap {
                        log::warn!("redis mirror of {}: {e}", shared.log.key());
                    } else {
                        log::error!("redis mirror of {}: {e}", shared.log.key());
                    }
                    {
                        let mut status = lock(&shared.status);
                        if gap {
                            status.gaps += 1;
                        }
                        status.last_error = Some(e.to_string());
                    }
                    shared.notify();
                    if !gap {
                        // E.g. WRONGTYPE: the key is not a stream. Retrying
                        // at once would spin; back off as for an outage.
                        let delay = self.tail.retry_delay();
                        let stop = shared.stopped.listen();
                        if shared.stop.load(Ordering::SeqCst) {
                            break;
                        }
                        futures_lite::future::or(
                            async {
                                async_io::Timer::after(delay).await;
                            },
                            stop,
                        )
                        .await;
                    }
                }
            }
        }
        log::debug!("redis mirror of {}: stopped", shared.log.key());
    }

    /// Copies a batch into the hub, waiting while its backlog is full.
    async fn apply(&mut self, batch: &[Entry]) {
        let floor = if self.floor_done {
            None
        } else {
            self.tail.floor()
        };
        if batch.is_empty() && floor.is_none() {
            return;
        }
        let hub = &self.shared.hub;
        if let Some(floor) = floor {
            self.floor_done = true;
            let mut hub = hub.lock();
            if hub.log().is_empty() {
                // Sound only before anything is appended: the floor is the
                // entry right before the backfill.
                hub.log_mut().set_floor(floor);
            }
        }
        let mut id = String::new();
        for entry in batch {
            id.clear();
            let _ = write!(id, "{}", entry.id);
            if let Err(e) = hub.publish(&entry.message(&id)).await {
                log::warn!(
                    "redis mirror of {}: entry {id} skipped, not valid SSE: {e}",
                    self.shared.log.key()
                );
            }
        }
        lock(&self.shared.status).applied = Some(self.tail.position());
        self.shared.notify();
    }

    fn set_state(&self, state: MirrorState, error: Option<&Error>) {
        let changed = {
            let mut status = lock(&self.shared.status);
            let changed = status.state != state;
            if changed && state == MirrorState::Down {
                status.outages += 1;
            }
            status.state = state;
            if let Some(e) = error {
                status.last_error = Some(e.to_string());
            }
            changed
        };
        if changed {
            match (state, error) {
                (MirrorState::Down, Some(e)) => {
                    log::error!("redis mirror of {}: {e}", self.shared.log.key())
                }
                _ => log::info!("redis mirror of {}: {state:?}", self.shared.log.key()),
            }
            self.shared.notify();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sse_core::encode::Message;

    fn hub(max_events: usize, ids: &[&str]) -> Hub<StreamLog> {
        let mut hub = Hub::with_log(StreamLog::new(LogLimits {
            max_events,
            max_bytes: 1 << 20,
        }));
        for id in ids {
            hub.publish(&Message::new("x").id(id)).unwrap();
        }
        hub
    }

    #[test]
    fn resume_by_stream_order() {
        let hub = hub(3, &["1-0", "2-0", "3-5", "10-0", "10-1"]);
        let log = hub.log();
        // Retained: 3-5 (seq 3), 10-0 (4), 10-1 (5); floor 2-0.
        assert_eq!(
            (log.first_seq(), log.floor()),
            (3, Some(StreamId::new(2, 0)))
        );
        assert_eq!(log.resume("10-0"), Resume::From(5));
        assert_eq!(log.resume("10-1"), Resume::From(6));
        assert_eq!(log.resume("3-5"), Resume::From(4));
        assert_eq!(log.resume("4-0"), Resume::From(4)); // between entries
        assert_eq!(log.resume("2-0"), Resume::From(3)); // the floor
        assert_eq!(log.resume("2-1"), Resume::From(3));
        assert_eq!(
            log.resume("1-0"),
            Resume::Gap {
                requested: 0,
                oldest_retained: 3
            }
        );
        assert_eq!(log.resume("0-0"), log.resume("1-0"));
        for unknown in ["10-2", "99-0", "3", "x", "", "03-5"] {
            assert_eq!(log.resume(unknown), Resume::Unknown, "{unknown:?}");
        }
        assert_eq!(log.resume(EARLIEST), Resume::From(3));
        assert_eq!(log.find("3-5"), Some(3));
        assert_eq!(log.find("4-0"), None);
        assert_eq!(log.newest(), Some(StreamId::new(10, 1)));
    }

    #[test]
    fn foreign_and_out_of_order_ids_are_served_and_found_exactly() {
        let hub = hub(10, &["5-0", "custom", "4-0", "6-0"]);
        let log = hub.log();
        assert_eq!(log.len(), 4);
        assert_eq!(log.find("custom"), Some(2));
        assert_eq!(log.resume("custom"), Resume::From(3));
        assert_eq!(log.resume("4-0"), Resume::From(4));
        assert_eq!(log.resume("5-0"), Resume::From(2));
        assert_eq!(log.resume("5-5"), Resume::From(4));
        assert_eq!(log.resume("6-0"), Resume::From(5));
    }

    #[test]
    fn empty_log_with_a_floor() {
        let mut log = StreamLog::default();
        assert_eq!(log.resume("1-0"), Resume::Unknown);
        log.set_floor(StreamId::new(7, 0));
        assert_eq!(log.resume("7-0"), Resume::From(1));
        assert!(matches!(log.resume("6-0"), Resume::Gap { .. }));
        assert_eq!(log.resume("8-0"), Resume::Unknown);
        log.append("9-0".to_string().into(), Bytes::from_static(b"id: 9-0\n\n"));
        log.set_floor(StreamId::new(9, 0)); // not older than the oldest: ignored
        assert_eq!(log.floor(), Some(StreamId::new(7, 0)));
        assert_eq!(log.resume("8-0"), Resume::From(1));
    }
}
