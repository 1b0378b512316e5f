//! Where `sse serve`'s events come from: an in-memory hub fed by this
//! process, or a mirror of a Redis stream shared with other instances.

use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use event_listener::{Event, EventListener};
use sse_core::encode::Message;
use sse_core::hub::{Hub, Subscriber};
use sse_core::replay::LogLimits;
use sse_core::server::Config;
use sse_core::Instant;
use sse_redis::{Mirror, RedisLog};

/// The event source every connection reads from.
#[derive(Clone)]
pub enum Feed {
    /// This process's own hub.
    Memory(Arc<Local>),
    /// A local copy of a Redis stream.
    Redis(Mirror),
}

/// An in-memory hub and the event that wakes its subscribers.
pub struct Local {
    hub: Mutex<Hub>,
    published: Event,
}

/// Why a subscription could not start.
pub type SubscribeError = String;

impl Feed {
    /// An in-memory feed keeping `limits` for resume.
    pub fn memory(limits: LogLimits) -> Feed {
        Feed::Memory(Arc::new(Local {
            hub: Mutex::new(Hub::new(limits)),
            published: Event::new(),
        }))
    }

    /// Publishes an event to every subscriber (of every instance, for
    /// Redis); returns its ID.
    pub async fn publish(&self, msg: &Message<'_>) -> Result<String, String> {
        match self {
            Feed::Memory(local) => {
                let seq = lock(&local.hub).publish(msg).map_err(|e| e.to_string())?;
                local.published.notify(usize::MAX);
                Ok(msg.id.map_or_else(|| seq.to_string(), String::from))
            }
            Feed::Redis(mirror) => {
                if msg.id.is_some() {
                    return Err("a Redis stream assigns the IDs; drop \"id\"".into());
                }
                let id = mirror
                    .log()
                    .publish(msg.event, msg.data)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(id.to_string())
            }
        }
    }

    /// A new subscriber resuming after `last_event_id`.
    pub async fn subscribe(
        &self,
        now: Instant,
        last_event_id: Option<&str>,
        config: Config,
    ) -> Result<Subscriber, SubscribeError> {
        match self {
            Feed::Memory(local) => Ok(lock(&local.hub).subscribe(now, last_event_id, config)),
            Feed::Redis(_) if self.is_down() => Err("the Redis stream is unreachable".into()),
            Feed::Redis(mirror) => mirror
                .subscribe(now, last_event_id, config)
                .await
                .map_err(|e| e.to_string()),
        }
    }

    /// Whether the feed lost its source (Redis is unreachable): open streams
    /// end, so their clients see an error, reconnect (answered 503 until
    /// Redis is back) and resume with their last event ID.
    pub fn is_down(&self) -> bool {
        match self {
            Feed::Memory(_) => false,
            Feed::Redis(mirror) => mirror.status().state == sse_redis::MirrorState::Down,
        }
    }

    /// A listener that fires at the next publish; make it before polling.
    pub fn listen(&self) -> EventListener {
        match self {
            Feed::Memory(local) => local.published.listen(),
            Feed::Redis(mirror) => mirror.listen(),
        }
    }

    /// Offers `sub`'s next bytes, at most `max` (at least one chunk), to
    /// `take` without taking them (see [`Hub::peek_transmit`]).
    pub fn peek_transmit(
        &self,
        sub: &mut Subscriber,
        now: Instant,
        max: usize,
        take: impl FnMut(&Bytes),
    ) -> usize {
        match self {
            Feed::Memory(local) => lock(&local.hub).peek_transmit(sub, now, max, take),
            Feed::Redis(mirror) => mirror.hub().peek_transmit(sub, now, max, take),
        }
    }

    /// The socket took (the start of) what the last peek offered `sub`.
    pub fn handle_written(&self, sub: &mut Subscriber, now: Instant) {
        match self {
            Feed::Memory(local) => lock(&local.hub).handle_written(sub, now),
            Feed::Redis(mirror) => mirror.hub().handle_written(sub, now),
        }
    }

    /// Whether `sub` fell out of the replay log and is closed for it (see
    /// [`Hub::close_if_lagging`]).
    pub fn close_if_lagging(&self, sub: &mut Subscriber) -> bool {
        match self {
            Feed::Memory(local) => lock(&local.hub).close_if_lagging(sub),
            Feed::Redis(mirror) => mirror.hub().close_if_lagging(sub),
        }
    }

    /// Fires `sub`'s due timers (keep-alive).
    pub fn handle_timeout(&self, sub: &mut Subscriber, now: Instant) {
        match self {
            Feed::Memory(local) => lock(&local.hub).handle_timeout(sub, now),
            Feed::Redis(mirror) => mirror.hub().handle_timeout(sub, now),
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

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
