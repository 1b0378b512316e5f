//! Reading a stream from an ID on, across connection failures.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_lite::Stream;
use redis::aio::MultiplexedConnection;
use redis::Value;
use sse_core::client::SplitMix64;

use crate::error::Error;
use crate::id::StreamId;
use crate::log::{connect, lost_after, with_timeout, Entry, RedisLog};
use crate::reply;

/// Where a [`Tail`] starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Start {
    /// After this entry ID (exclusive): a resuming subscriber's
    /// `Last-Event-ID`. Classify it with
    /// [`RedisLog::resume_from`] first; a tail started after a trimmed ID
    /// first yields [`Error::Trimmed`], one after an ID newer than the
    /// stream yields [`Error::Regressed`].
    After(StreamId),
    /// Every retained entry.
    Beginning,
    /// Only entries added after the tail first connects.
    Live,
    /// The newest `n` retained entries, then live ones (a mirror's
    /// backfill). [`Tail::floor`] then tells the ID right before them.
    Newest(usize),
}

/// The entries of a stream after a position, in order, each exactly once.
///
/// One `XREAD COUNT batch BLOCK block STREAMS key <last>` per round on a
/// connection of its own: Redis answers at once while entries after `<last>`
/// exist (catch-up) and as soon as one is added otherwise (live tail).
///
/// Failures: when Redis is unreachable or the connection breaks, [`next`]
/// yields one error ([`Error::is_outage`]), then keeps reconnecting with
/// capped exponential backoff (with jitter) and continues after the last
/// entry it read, so nothing is skipped or repeated. After a reconnect it
/// checks the stream: entries trimmed meanwhile give [`Error::Trimmed`],
/// a stream that went backwards gives [`Error::Regressed`]; reading goes on.
///
/// [`next`]: Tail::next
pub struct Tail {
    log: RedisLog,
    start: Option<Start>,
    /// The last entry read from Redis.
    read: StreamId,
    /// The last entry handed out.
    returned: StreamId,
    floor: Option<StreamId>,
    conn: Option<MultiplexedConnection>,
    check: bool,
    buf: VecDeque<Entry>,
    failing: bool,
    attempt: u32,
    rng: SplitMix64,
}

impl core::fmt::Debug for Tail {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Tail")
            .field("key", &self.log.key())
            .field("start", &self.start)
            .field("read", &self.read)
            .field("returned", &self.returned)
            .field("connected", &self.conn.is_some())
            .finish_non_exhaustive()
    }
}

impl Tail {
    pub(crate) fn new(log: RedisLog, start: Start) -> Tail {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let after = match start {
            Start::After(id) => id,
            _ => StreamId::ZERO,
        };
        Tail {
            log,
            start: Some(start),
            read: after,
            returned: after,
            floor: None,
            conn: None,
            check: false,
            buf: VecDeque::new(),
            failing: false,
            attempt: 0,
            rng: SplitMix64::new(seed),
        }
    }

    /// The ID of the last entry handed out (or the start position): where
    /// a new tail would continue without a gap or a repeat.
    pub fn position(&self) -> StreamId {
        self.returned
    }

    /// After a [`Start::Newest`] backfill, the ID of the entry right before
    /// the first one handed out, if the stream had one: a subscriber whose
    /// last ID is this one missed nothing.
    pub fn floor(&self) -> Option<StreamId> {
        self.floor
    }

    /// Whether the tail currently holds a connection.
    pub fn is_connected(&self) -> bool {
        self.conn.is_some()
    }

    /// The next entry. Never ends; see [`Tail`] for the errors.
    pub async fn next(&mut self) -> Result<Entry, Error> {
        loop {
            if let Some(entry) = self.buf.pop_front() {
                self.returned = entry.id;
                return Ok(entry);
            }
            if self.failing {
                async_io::Timer::after(self.backoff()).await;
            }
            let mut batch = Vec::new();
            match self.fill(&mut batch).await {
                Ok(()) => self.buf.extend(batch),
                Err(e) if e.is_outage() => {
                    if !self.failing {
                        self.failing = true;
                        return Err(e);
                    }
                    log::debug!("redis tail on {}: still down: {e}", self.log.key());
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One round: connects if needed and appends what one `XREAD` returns
    /// (nothing when `block` passed without news) to `out`. No retry or
    /// backoff: the caller decides (a mirror uses this to track its state).
    pub async fn read_batch(&mut self, out: &mut Vec<Entry>) -> Result<(), Error> {
        let start = out.len();
        let result = self.fill(out).await;
        if let Some(last) = out[start..].last() {
            self.returned = last.id;
        }
        result
    }

    /// The wait before the next reconnect attempt (for callers of
    /// [`Tail::read_batch`]).
    pub(crate) fn retry_delay(&mut self) -> Duration {
        self.backoff()
    }

    /// Waits before reconnect attempt `attempt`: `initial × 2^(attempt−1)`
    /// capped at `max`, drawn from `[d/2, d]`.
    fn backoff(&mut self) -> Duration {
        let config = self.log.config();
        let initial = config.backoff_initial.as_millis() as u64;
        let max = config.backoff_max.as_millis() as u64;
        let shift = self.attempt.saturating_sub(1).min(32);
        let d = initial.saturating_mul(1 << shift).min(max.max(initial));
        Duration::from_millis(d / 2 + self.rng.below_or_eq(d - d / 2))
    }

    async fn fill(&mut self, out: &mut Vec<Entry>) -> Result<(), Error> {
        let result = self.fill_inner(out).await;
        match &result {
            Ok(()) => {
                if self.failing {
                    log::info!("redis tail on {}: reconnected", self.log.key());
                }
                self.failing = false;
                self.attempt = 0;
            }
            Err(e) if e.is_outage() => {
                self.attempt = self.attempt.saturating_add(1);
                self.conn = None;
                if self.attempt == 1 {
                    log::warn!("redis tail on {}: {e}", self.log.key());
                }
            }
            Err(Error::Trimmed { .. } | Error::Regressed { .. }) => {}
            Err(_) => self.attempt = self.attempt.saturating_add(1),
        }
        result
    }

    async fn fill_inner(&mut self, out: &mut Vec<Entry>) -> Result<(), Error> {
        let (op_timeout, block, batch) = {
            let c = self.log.config();
            (c.op_timeout, c.block, c.batch.max(1))
        };
        if self.conn.is_none() {
            let conn = connect(self.log.client(), op_timeout, block + op_timeout).await?;
            self.conn = Some(conn);
            if matches!(self.start, None | Some(Start::After(_))) {
                self.check = true;
            }
        }
        // Resolved once, on the first round that gets this far (a failed
        // attempt leaves `start` for the next one).
        match self.start {
            None | Some(Start::After(_)) | Some(Start::Beginning) => {}
            Some(Start::Live) => {
                let mut newest = Vec::new();
                self.range_newest(1, &mut newest).await?;
                self.read = newest.pop().map_or(StreamId::ZERO, |e| e.id);
                self.returned = self.read;
            }
            Some(Start::Newest(n)) => {
                let mut newest = Vec::new();
                self.range_newest(n.saturating_add(1), &mut newest).await?;
                if newest.len() > n {
                    self.floor = Some(newest.remove(0).id);
                }
                self.read = newest
                    .last()
                    .map(|e| e.id)
                    .or(self.floor)
                    .unwrap_or(StreamId::ZERO);
                self.returned = self.floor.unwrap_or(StreamId::ZERO);
                out.extend(newest);
                self.start = None;
                return Ok(());
            }
        }
        self.start = None;
        if self.check {
            self.check = false;
            self.check_stream().await?;
        }
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT")
            .arg(batch)
            .arg("BLOCK")
            .arg(block.as_millis() as u64)
            .arg("STREAMS")
            .arg(self.log.key())
            .arg(self.read.to_string());
        let reply = self.query("XREAD", &cmd, block + op_timeout).await?;
        let before = out.len();
        reply::xread(&reply, out)?;
        // Redis returns entries after `read` in order; drop anything that
        // is not, so a misbehaving server cannot cause repeats.
        let mut last = self.read;
        let mut i = before;
        while i < out.len() {
            if out[i].id > last {
                last = out[i].id;
                i += 1;
            } else {
                out.remove(i);
            }
        }
        self.read = last;
        Ok(())
    }

    /// After (re)connecting with a known position: were entries after it
    /// trimmed, or did the stream go backwards?
    async fn check_stream(&mut self) -> Result<(), Error> {
        let op_timeout = self.log.config().op_timeout;
        let mut cmd = redis::cmd("XINFO");
        cmd.arg("STREAM").arg(self.log.key());
        let info = match self.query("XINFO STREAM", &cmd, op_timeout).await {
            Ok(v) => Some(reply::info(&v)?),
            Err(Error::Command { source, .. })
                if source
                    .to_string()
                    .to_ascii_lowercase()
                    .contains("no such key") =>
            {
                None
            }
            Err(e) => return Err(e),
        };
        let last_generated = info.and_then(|i| i.last_generated);
        if self.read > StreamId::ZERO && !matches!(last_generated, Some(g) if g >= self.read) {
            return Err(Error::Regressed {
                after: self.read,
                stream_last: last_generated.unwrap_or(StreamId::ZERO),
            });
        }
        if let Some(info) = info {
            if lost_after(self.read, &info) {
                return Err(Error::Trimmed {
                    after: self.read,
                    oldest: info.first,
                });
            }
        }
        Ok(())
    }

    async fn range_newest(&mut self, n: usize, out: &mut Vec<Entry>) -> Result<(), Error> {
        let op_timeout = self.log.config().op_timeout;
        let mut cmd = redis::cmd("XREVRANGE");
        cmd.arg(self.log.key())
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(n);
        let reply = self.query("XREVRANGE", &cmd, op_timeout).await?;
        let start = out.len();
        reply::entries("XREVRANGE", &reply, out)?;
        out[start..].reverse();
        Ok(())
    }

    async fn query(
        &mut self,
        op: &'static str,
        cmd: &redis::Cmd,
        timeout: Duration,
    ) -> Result<Value, Error> {
        let Some(conn) = self.conn.as_mut() else {
            return Err(Error::reply(op, "not connected"));
        };
        let result = match with_timeout(op, timeout, cmd.query_async::<Value>(conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(Error::redis(op, e)),
            Err(e) => Err(e),
        };
        if let Err(e) = &result {
            if e.is_outage() {
                // The next round reconnects and re-checks the stream.
                self.conn = None;
            }
        }
        result
    }

    /// This tail as a [`Stream`] of entries (never ends).
    pub fn into_stream(self) -> impl Stream<Item = Result<Entry, Error>> + Send + 'static {
        futures_lite::stream::unfold(self, |mut tail| async move {
            let item = tail.next().await;
            Some((item, tail))
        })
    }
}
