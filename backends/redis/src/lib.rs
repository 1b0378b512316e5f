//! A Redis Streams backend for `sse-core`: several server instances share one
//! event log, and any of them resumes any subscriber.
//!
//! - [`RedisLog`] publishes with `XADD` (with `MAXLEN ~ N` or `MINID ~`
//!   retention). The entry ID Redis assigns **is** the SSE event ID
//!   ([`StreamId`], `1700000000000-0`): ordered, unique per stream, and the
//!   same on every instance. [`RedisLog::resume_from`] classifies a client's
//!   `Last-Event-ID` against the retained range.
//! - [`Tail`] reads the entries after an ID: `XREAD BLOCK` in a loop
//!   (catch-up and live tail are the same command, since `XREAD` answers at
//!   once when entries newer than the ID exist). On a lost connection it
//!   yields one [`Error`], reconnects with capped exponential backoff and
//!   carries on after the last entry it read: nothing is skipped or read twice.
//! - [`Mirror`] copies the stream into a local [`sse_core::hub::Hub`] over a
//!   [`StreamLog`], so a server instance fans events out to its own
//!   subscribers with the sans-I/O hub, and any subscriber resumes from any
//!   ID any instance handed out.
//!
//! The crate is runtime-neutral: connections run on `async-io`'s reactor
//! (the `redis` crate's `smol-comp`), which needs no runtime to be started,
//! so it works under smol, async-std or `futures_lite::future::block_on`.
//! [`MirrorTask::run`] is a plain future for the caller to spawn.
//!
//! See `docs/SCALING.md` for running several instances and the trade-offs.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sse_redis::Error> {
//! use sse_redis::{Config, Mirror, MirrorConfig, RedisLog};
//!
//! let log = RedisLog::open("redis://127.0.0.1:6379/", "sse:news", Config::default())?;
//! let (mirror, task) = Mirror::start(&log, MirrorConfig::default());
//! smol::spawn(task.run()).detach();
//!
//! let id = log.publish(Some("update"), "hello").await?; // e.g. 1700000000000-0
//! let now = sse_core::Instant::ZERO;
//! let sub = mirror
//!     .subscribe(now, Some(&id.to_string()), sse_core::server::Config::default())
//!     .await?;
//! # let _ = sub; Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
mod id;
mod log;
mod mirror;
mod reply;
mod tail;

pub use crate::error::Error;
pub use crate::id::{InvalidId, StreamId};
pub use crate::log::{Config, Entry, Position, RedisLog, Retention, StreamInfo};
pub use crate::mirror::{Mirror, MirrorConfig, MirrorState, MirrorStatus, MirrorTask, StreamLog};
pub use crate::tail::{Start, Tail};

/// Re-exported so callers can build a [`RedisLog`] from a
/// [`redis::ConnectionInfo`] or inspect a [`redis::RedisError`].
pub use redis;
/// Re-exported: subscribers, server configuration and `Instant` come from
/// the core.
pub use sse_core;

// The README's examples run as doctests, so the crate's front page stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
