//! Publishing to a Redis stream and classifying resume IDs against it.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, IntoConnectionInfo, Value};
use sse_core::encode::{self, Message};
use sse_core::replay::EARLIEST;

use crate::error::Error;
use crate::id::StreamId;
use crate::reply;
use crate::tail::{Start, Tail};

/// How much of the stream Redis keeps; applied by every `XADD`.
///
/// Both forms use Redis' approximate trimming (`~`), which removes whole
/// internal nodes and so may keep somewhat more than asked (never less).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Retention {
    /// Keep about the newest `n` entries (`MAXLEN ~ n`).
    MaxLen(u64),
    /// Keep entries younger than this (`MINID ~ <now − age>`), by the
    /// publishing instance's clock.
    MaxAge(Duration),
    /// Keep everything (memory grows without bound: trim some other way).
    Unbounded,
}

/// Settings shared by a [`RedisLog`] and its [`Tail`]s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// What `XADD` trims to. Default `MaxLen(10_000)`.
    pub retention: Retention,
    /// Longest wait for a connection or a non-blocking command. Default 2 s.
    pub op_timeout: Duration,
    /// How long one `XREAD BLOCK` waits for new entries before asking again.
    /// It adds no latency (Redis answers as soon as an entry arrives); it
    /// bounds how long a silently dead connection goes unnoticed (`block` +
    /// `op_timeout`). Default 2 s.
    pub block: Duration,
    /// Most entries one `XREAD`/`XRANGE` returns. Default 512.
    pub batch: usize,
    /// First reconnect delay after a failure; doubled per failed attempt.
    /// Default 100 ms.
    pub backoff_initial: Duration,
    /// Longest reconnect delay. Default 5 s.
    pub backoff_max: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            retention: Retention::MaxLen(10_000),
            op_timeout: Duration::from_secs(2),
            block: Duration::from_secs(2),
            batch: 512,
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
        }
    }
}

/// One stream entry as an SSE event: the entry ID is the event ID, the
/// fields `event` (optional) and `data` are the event type and data.
/// Entries written by other producers may have other fields; they are
/// ignored (a missing `data` reads as empty, invalid UTF-8 is replaced).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The entry ID, used as the SSE event ID.
    pub id: StreamId,
    /// The event type (`None`: `message`).
    pub event: Option<String>,
    /// The event data.
    pub data: String,
}

impl Entry {
    /// The SSE message for this entry, with `id` (the entry ID as text, see
    /// [`StreamId`]'s `Display`) as its ID.
    pub fn message<'a>(&'a self, id: &'a str) -> Message<'a> {
        Message {
            id: Some(id),
            event: self.event.as_deref(),
            data: &self.data,
            retry: None,
        }
    }
}

/// Where a subscriber resumes in the Redis stream, from its `Last-Event-ID`
/// ([`RedisLog::resume_from`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Position {
    /// Every entry after this ID is still retained: read after it and
    /// nothing is lost. `earliest` gives `From(StreamId::ZERO)`.
    From(StreamId),
    /// Entries after the requested ID were trimmed: the subscriber missed
    /// events. Documented behaviour (as the core's
    /// [`ResumePolicy`](sse_core::server::ResumePolicy) default for gaps):
    /// send a notice, then everything retained, from `oldest` on.
    Gap {
        /// The ID the subscriber sent.
        requested: StreamId,
        /// The oldest entry still retained (`None` if the stream is empty).
        oldest: Option<StreamId>,
    },
    /// Not an ID of this stream: malformed, newer than any ID the stream
    /// assigned, or the stream does not exist.
    Unknown,
}

/// What `XINFO STREAM` says about the stream (the fields this crate uses).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamInfo {
    /// Number of entries retained.
    pub length: u64,
    /// The oldest retained entry.
    pub first: Option<StreamId>,
    /// The newest retained entry.
    pub last: Option<StreamId>,
    /// The newest ID ever assigned (even if since deleted).
    pub last_generated: Option<StreamId>,
    /// The newest ID removed by `XDEL` (`0-0` if none; Redis 7.0 does not
    /// count trimming here); Redis 7.0 and later only.
    pub max_deleted: Option<StreamId>,
}

struct Inner {
    client: redis::Client,
    key: String,
    config: Config,
    conn: Mutex<Option<MultiplexedConnection>>,
}

/// A Redis stream used as a shared SSE event log.
///
/// Cheap to clone (one shared connection, multiplexed; it reconnects on the
/// next call after a failure). Tails use their own connections, because a
/// blocking `XREAD` holds a connection.
#[derive(Clone)]
pub struct RedisLog {
    inner: Arc<Inner>,
}

impl core::fmt::Debug for RedisLog {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RedisLog")
            .field("key", &self.inner.key)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl RedisLog {
    /// A log on stream `key` of the Redis server at `url`
    /// (`redis://host:port/db`, `redis+unix:///path`, or a
    /// [`redis::ConnectionInfo`]). Does not connect yet.
    pub fn open(
        url: impl IntoConnectionInfo,
        key: &str,
        config: Config,
    ) -> Result<RedisLog, Error> {
        let client = redis::Client::open(url).map_err(Error::Url)?;
        Ok(RedisLog {
            inner: Arc::new(Inner {
                client,
                key: key.into(),
                config,
                conn: Mutex::new(None),
            }),
        })
    }

    /// The stream's key.
    pub fn key(&self) -> &str {
        &self.inner.key
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Appends an event (`XADD key <retention> * [event <event>] data
    /// <data>`) and returns the ID Redis assigned: the event's SSE ID.
    ///
    /// An event type that cannot be sent as SSE is an
    /// [`Error::Encode`] and nothing is written. On an outage
    /// ([`Error::is_outage`]) the event may or may not have been appended;
    /// it is not retried, so it is never appended twice.
    pub async fn publish(&self, event: Option<&str>, data: &str) -> Result<StreamId, Error> {
        let event = event.filter(|e| !e.is_empty());
        encode::validate(&Message {
            id: None,
            event,
            data,
            retry: None,
        })?;
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&self.inner.key);
        match self.inner.config.retention {
            Retention::MaxLen(n) => {
                cmd.arg("MAXLEN").arg("~").arg(n);
            }
            Retention::MaxAge(age) => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default();
                let min = now.saturating_sub(age).as_millis();
                cmd.arg("MINID").arg("~").arg(format!("{min}-0"));
            }
            Retention::Unbounded => {}
        }
        cmd.arg("*");
        if let Some(event) = event {
            cmd.arg("event").arg(event);
        }
        cmd.arg("data").arg(data);
        let reply = self.query("XADD", &cmd).await?;
        reply::bytes(&reply)
            .and_then(|b| core::str::from_utf8(b).ok())
            .and_then(StreamId::parse)
            .ok_or_else(|| Error::reply("XADD", format!("not an id: {reply:?}")))
    }

    /// Up to `count` entries after `after` (exclusive), oldest first
    /// (`XRANGE key (after + COUNT count`).
    pub async fn range(&self, after: StreamId, count: usize) -> Result<Vec<Entry>, Error> {
        let mut cmd = redis::cmd("XRANGE");
        cmd.arg(&self.inner.key)
            .arg(format!("({after}"))
            .arg("+")
            .arg("COUNT")
            .arg(count);
        let reply = self.query("XRANGE", &cmd).await?;
        let mut out = Vec::new();
        reply::entries("XRANGE", &reply, &mut out)?;
        Ok(out)
    }

    /// The newest `count` entries, oldest first (`XREVRANGE key + - COUNT
    /// count`, reversed).
    pub async fn newest(&self, count: usize) -> Result<Vec<Entry>, Error> {
        let mut cmd = redis::cmd("XREVRANGE");
        cmd.arg(&self.inner.key)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(count);
        let reply = self.query("XREVRANGE", &cmd).await?;
        let mut out = Vec::new();
        reply::entries("XREVRANGE", &reply, &mut out)?;
        out.reverse();
        Ok(out)
    }

    /// The newest retained entry's ID, `None` if the stream is empty.
    pub async fn last_id(&self) -> Result<Option<StreamId>, Error> {
        Ok(self.newest(1).await?.pop().map(|e| e.id))
    }

    /// `XINFO STREAM`; `None` if the key does not exist.
    pub async fn info(&self) -> Result<Option<StreamInfo>, Error> {
        let mut cmd = redis::cmd("XINFO");
        cmd.arg("STREAM").arg(&self.inner.key);
        match self.query("XINFO STREAM", &cmd).await {
            Ok(v) => reply::info(&v).map(Some),
            Err(Error::Command { source, .. })
                if source
                    .to_string()
                    .to_ascii_lowercase()
                    .contains("no such key") =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Where a subscriber whose `Last-Event-ID` is `last_event_id` resumes.
    ///
    /// `earliest` (the Mercure convention) asks for everything retained. An
    /// ID is a [`Position::Gap`] when it is older than the oldest retained
    /// entry (unless that entry is certainly the next one: same millisecond,
    /// next sequence number) or an entry after it was deleted with `XDEL`,
    /// and [`Position::Unknown`] when it is malformed or newer than any ID
    /// the stream assigned.
    pub async fn resume_from(&self, last_event_id: &str) -> Result<Position, Error> {
        if last_event_id == EARLIEST {
            return Ok(Position::From(StreamId::ZERO));
        }
        let Some(requested) = StreamId::parse(last_event_id) else {
            return Ok(Position::Unknown);
        };
        let Some(info) = self.info().await? else {
            return Ok(Position::Unknown);
        };
        Ok(classify(requested, &info))
    }

    /// A tail of the stream from `start`, on its own connection.
    pub fn tail(&self, start: Start) -> Tail {
        Tail::new(self.clone(), start)
    }

    pub(crate) fn client(&self) -> &redis::Client {
        &self.inner.client
    }

    async fn query(&self, op: &'static str, cmd: &redis::Cmd) -> Result<Value, Error> {
        let timeout = self.inner.config.op_timeout;
        let existing = lock(&self.inner.conn).clone();
        let mut conn = match existing {
            Some(conn) => conn,
            None => {
                let conn = connect(self.client(), timeout, timeout).await?;
                *lock(&self.inner.conn) = Some(conn.clone());
                conn
            }
        };
        let result = with_timeout(op, timeout, cmd.query_async::<Value>(&mut conn)).await;
        match result {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                let e = Error::redis(op, e);
                if e.is_outage() {
                    *lock(&self.inner.conn) = None;
                }
                Err(e)
            }
            Err(e) => {
                *lock(&self.inner.conn) = None;
                Err(e)
            }
        }
    }
}

/// [`RedisLog::resume_from`] on known stream facts.
pub(crate) fn classify(requested: StreamId, info: &StreamInfo) -> Position {
    match info.last_generated {
        Some(last) if requested <= last => {}
        _ => return Position::Unknown,
    }
    if lost_after(requested, info) {
        Position::Gap {
            requested,
            oldest: info.first,
        }
    } else {
        Position::From(requested)
    }
}

/// Whether an entry after `id` was removed from the stream.
///
/// Trimming removes from the front, so entries after `id` were lost when
/// `id` is older than the oldest retained entry, unless that entry comes
/// right after it. Redis does not record what it trimmed (7.0 updates
/// `max-deleted-entry-id` on `XDEL` only), so "right after" is recognised
/// when it is certain: the next sequence number in the same millisecond.
/// An ID that is in fact the last trimmed entry otherwise counts as a gap:
/// the subscriber then gets a notice it did not need, and the same events.
/// `XDEL` of an entry after `id` counts too.
pub(crate) fn lost_after(id: StreamId, info: &StreamInfo) -> bool {
    let trimmed = match info.first {
        Some(first) => id < first && !(first.ms == id.ms && first.seq == id.seq.wrapping_add(1)),
        None => info.last_generated.is_some_and(|last| id < last),
    };
    trimmed || info.max_deleted.is_some_and(|deleted| deleted > id)
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A new multiplexed connection; commands on it fail after `response`.
pub(crate) async fn connect(
    client: &redis::Client,
    connect_timeout: Duration,
    response: Duration,
) -> Result<MultiplexedConnection, Error> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(connect_timeout)
        .set_response_timeout(response);
    match with_timeout(
        "connect",
        connect_timeout,
        client.get_multiplexed_async_connection_with_config(&config),
    )
    .await?
    {
        Ok(conn) => Ok(conn),
        Err(e) => match Error::redis("connect", e) {
            // Whatever goes wrong while connecting is an outage.
            Error::Command { source, .. } => Err(Error::Unavailable {
                op: "connect",
                source,
            }),
            e => Err(e),
        },
    }
}

/// `fut`, or [`Error::Timeout`] after `after`.
pub(crate) async fn with_timeout<T>(
    op: &'static str,
    after: Duration,
    fut: impl Future<Output = T>,
) -> Result<T, Error> {
    futures_lite::future::or(async { Ok(fut.await) }, async {
        async_io::Timer::after(after).await;
        Err(Error::Timeout { op, after })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ms: u64) -> StreamId {
        StreamId::new(ms, 0)
    }

    #[test]
    fn classification() {
        // Entries 1..=10 were added, 1..=4 trimmed.
        let info = StreamInfo {
            length: 6,
            first: Some(id(5)),
            last: Some(id(10)),
            last_generated: Some(id(10)),
            max_deleted: Some(id(4)),
        };
        // 4-0 was the last trimmed entry, but Redis cannot tell that.
        assert!(matches!(classify(id(4), &info), Position::Gap { .. }));
        let adjacent = StreamInfo {
            first: Some(StreamId::new(5, 1)),
            ..info
        };
        assert_eq!(
            classify(StreamId::new(5, 0), &adjacent),
            Position::From(StreamId::new(5, 0))
        );
        assert_eq!(classify(id(7), &info), Position::From(id(7)));
        assert_eq!(classify(id(10), &info), Position::From(id(10)));
        assert_eq!(
            classify(id(3), &info),
            Position::Gap {
                requested: id(3),
                oldest: Some(id(5))
            }
        );
        assert_eq!(classify(id(11), &info), Position::Unknown);
        // XDEL of an entry after the requested one.
        let deleted = StreamInfo {
            max_deleted: Some(id(8)),
            ..info
        };
        assert!(matches!(classify(id(7), &deleted), Position::Gap { .. }));
        assert_eq!(classify(id(8), &deleted), Position::From(id(8)));
        // Everything trimmed.
        let empty = StreamInfo {
            length: 0,
            first: None,
            last: None,
            ..info
        };
        assert!(matches!(
            classify(id(9), &empty),
            Position::Gap { oldest: None, .. }
        ));
        assert_eq!(classify(id(10), &empty), Position::From(id(10)));
        // Nothing ever added.
        assert_eq!(classify(id(1), &StreamInfo::default()), Position::Unknown);
    }
}
