//! The broadcast hub shared by a server's connection threads.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use sse_core::encode::{EncodeError, Message};
use sse_core::replay::LogLimits;

/// A broadcast hub shared by connection threads. Cheap to clone.
#[derive(Clone, Default)]
pub struct Hub(Arc<Shared>);

#[derive(Default)]
struct Shared {
    hub: Mutex<sse_core::hub::Hub>,
    changed: Condvar,
}

impl Hub {
    /// A hub keeping `limits` of events for resume by `Last-Event-ID`.
    pub fn new(limits: LogLimits) -> Self {
        Hub(Arc::new(Shared {
            hub: Mutex::new(sse_core::hub::Hub::new(limits)),
            changed: Condvar::new(),
        }))
    }

    /// Publishes to every subscriber; returns the event's sequence number
    /// (also its ID when it has none).
    pub fn publish(&self, msg: &Message<'_>) -> Result<u64, EncodeError> {
        let seq = self.lock().publish(msg)?;
        self.wake_all();
        Ok(seq)
    }

    /// Publishes any `serde::Serialize` value as JSON data.
    #[cfg(feature = "json")]
    pub fn publish_json<T: serde::Serialize + ?Sized>(
        &self,
        event: Option<&str>,
        id: Option<&str>,
        value: &T,
    ) -> Result<u64, sse_core::json::JsonError> {
        let seq = self.lock().publish_json(event, id, value)?;
        self.wake_all();
        Ok(seq)
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
