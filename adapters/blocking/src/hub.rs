//! The broadcast hub shared by a server's connection threads.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use sse_core::encode::{EncodeError, Message};
use sse_core::hub::{BacklogLimits, PublishError};
use sse_core::replay::LogLimits;

/// A broadcast hub shared by connection threads. Cheap to clone.
///
/// It holds every event a subscriber has not been sent yet (see the core's
/// [hub](sse_core::hub#bursts-backpressure-and-lag)), up to its
/// [`BacklogLimits`]: then [`Hub::publish`] blocks until a subscriber
/// progresses, leaves, or is let go after its socket refused writes for
/// its lag window, and [`Hub::try_publish`] says [`PublishError::Full`].
#[derive(Clone, Default)]
pub struct Hub(Arc<Shared>);

#[derive(Default)]
struct Shared {
    hub: Mutex<sse_core::hub::Hub>,
    changed: Condvar,
    /// Signalled when a refused publish may go through.
    room: Condvar,
}

impl Hub {
    /// A hub keeping `limits` of events for resume by `Last-Event-ID`.
    pub fn new(limits: LogLimits) -> Self {
        Hub::with_backlog(limits, BacklogLimits::default())
    }

    /// A hub keeping `limits` for resume, and holding at most `backlog`
    /// beyond them for subscribers that have not been sent it yet.
    pub fn with_backlog(limits: LogLimits, backlog: BacklogLimits) -> Self {
        Hub(Arc::new(Shared {
            hub: Mutex::new(sse_core::hub::Hub::new(limits).with_backlog(backlog)),
            changed: Condvar::new(),
            room: Condvar::new(),
        }))
    }

    /// Publishes to every subscriber; returns the event's sequence number
    /// (also its ID when it has none). While the backlog is full, blocks
    /// until a subscriber made room.
    pub fn publish(&self, msg: &Message<'_>) -> Result<u64, EncodeError> {
        let mut hub = self.lock();
        loop {
            match hub.publish(msg) {
                Ok(seq) => {
                    drop(hub);
                    self.wake_all();
                    return Ok(seq);
                }
                Err(PublishError::Encode(e)) => return Err(e),
                Err(_) => hub = self.wait_for_room(hub),
            }
        }
    }

    /// Publishes if the hub has room now, else [`PublishError::Full`].
    pub fn try_publish(&self, msg: &Message<'_>) -> Result<u64, PublishError> {
        let seq = self.lock().publish(msg)?;
        self.wake_all();
        Ok(seq)
    }

    /// Publishes any `serde::Serialize` value as JSON data; blocks while
    /// the backlog is full, like [`Hub::publish`].
    #[cfg(feature = "json")]
    pub fn publish_json<T: serde::Serialize + ?Sized>(
        &self,
        event: Option<&str>,
        id: Option<&str>,
        value: &T,
    ) -> Result<u64, sse_core::json::JsonError> {
        let mut hub = self.lock();
        loop {
            match hub.publish_json(event, id, value) {
                Err(sse_core::json::JsonError::Full) => hub = self.wait_for_room(hub),
                Ok(seq) => {
                    drop(hub);
                    self.wake_all();
                    return Ok(seq);
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn wait_for_room<'a>(
        &self,
        hub: MutexGuard<'a, sse_core::hub::Hub>,
    ) -> MutexGuard<'a, sse_core::hub::Hub> {
        self.0.room.wait(hub).unwrap_or_else(|e| e.into_inner())
    }

    /// After calls on a subscriber that can make room: wakes the
    /// publishers waiting for it.
    pub(crate) fn signal_room(&self, hub: &mut sse_core::hub::Hub) {
        if hub.poll_room() {
            self.0.room.notify_all();
        }
    }

    /// Wakes every waiting connection thread so it re-checks its subscriber
    /// and its deadline (`clock.now() >= deadline`). A publish does this; a
    /// test driving a virtual [`Clock`](crate::Clock) does it after moving time.
    pub fn wake_all(&self) {
        self.0.changed.notify_all();
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, sse_core::hub::Hub> {
        self.0.hub.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Releases `guard` and waits for a wake-up or `timeout`; returns
    /// whether it timed out.
    pub(crate) fn wait(
        &self,
        guard: MutexGuard<'_, sse_core::hub::Hub>,
        timeout: Duration,
    ) -> bool {
        let (_guard, waited) = self
            .0
            .changed
            .wait_timeout(guard, timeout)
            .unwrap_or_else(|e| e.into_inner());
        waited.timed_out()
    }
}
