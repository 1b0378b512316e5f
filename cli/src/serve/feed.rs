//! Where `sse serve`'s events come from: an in-memory hub fed by this
//! process, or a mirror of a Redis stream shared with other instances.
//! Either way subscribers are served from a `SharedHub` by `sse-futures`'
//! server; this file only publishes.

use sse_core::encode::Message;
use sse_core::replay::LogLimits;
use sse_futures::server::SharedHub;
use sse_redis::{Mirror, RedisLog};

/// The event source every connection reads from.
#[derive(Clone)]
pub enum Feed {
    /// This process's own hub.
    Memory(SharedHub),
    /// A local copy of a Redis stream.
    Redis(Mirror),
}

impl Feed {
    /// An in-memory feed keeping `limits` for resume.
    pub fn memory(limits: LogLimits) -> Feed {
        Feed::Memory(SharedHub::new(limits))
    }

    /// Publishes an event to every subscriber (of every instance, for
    /// Redis); returns its ID. Waits while the local hub holds all it may
    /// for subscribers that have not been sent it yet, so a fast input
    /// never outruns the readers.
    pub async fn publish(&self, msg: &Message<'_>) -> Result<String, String> {
        match self {
            Feed::Memory(hub) => {
                let seq = hub.publish(msg).await.map_err(|e| e.to_string())?;
                Ok(msg.id.map_or_else(|| seq.to_string(), String::from))
            }
            Feed::Redis(mirror) => {
                if msg.id.is_some() {
                    return Err("a Redis stream assigns the IDs; drop \"id\"".into());
                }
                mirror.shared_hub().room().await;
                let id = mirror
                    .log()
                    .publish(msg.event, msg.data)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(id.to_string())
            }
        }
    }
}

/// Opens the Redis feed for `url` and `stream`, backfilling `replay` events.
pub fn redis(
    url: &str,
    stream: &str,
    limits: LogLimits,
) -> Result<(Feed, sse_redis::MirrorTask), String> {
    let log =
        RedisLog::open(url, stream, sse_redis::Config::default()).map_err(|e| e.to_string())?;
    let config = sse_redis::MirrorConfig {
        limits,
        backfill: limits.max_events,
    };
    let (mirror, task) = Mirror::start(&log, config);
    Ok((Feed::Redis(mirror), task))
}
