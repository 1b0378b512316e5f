//! The virtual clock a loopback run drives adapters with.
//!
//! Two numbers: `now`, what the drivers read, and `released`, up to which
//! sleeps complete. At a scenario time `T` the runner first plays the
//! server's and the user's steps with `now` a nanosecond before `T` (so a
//! deadline at exactly `T` is not yet due, as in the in-process runner,
//! where the server step runs before the timers), then sets both to `T`
//! for the client's timers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sse_core::Instant;

/// Shared virtual time; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct VirtualClock(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    now: AtomicU64,
    released: AtomicU64,
    /// Tasks sleeping on the clock, woken whenever time is released.
    sleepers: std::sync::Mutex<Vec<std::task::Waker>>,
}

impl VirtualClock {
    /// The current time.
    pub fn now(&self) -> Instant {
        Instant::from_nanos(self.0.now.load(Ordering::Acquire))
    }

    /// Whether sleeps until `deadline` are over.
    pub fn released(&self, deadline: Instant) -> bool {
        self.0.released.load(Ordering::Acquire) >= deadline.as_nanos()
    }

    /// Steps of the server and the user at `ms`: just before it.
    pub fn before(&self, ms: u64) {
        let t = (ms * 1_000_000).saturating_sub(1);
        self.0.now.fetch_max(t, Ordering::AcqRel);
    }

    /// Timers at `ms`: time reaches it and sleeps until it end.
    pub fn at(&self, ms: u64) {
        let t = ms * 1_000_000;
        self.0.now.fetch_max(t, Ordering::AcqRel);
        self.0.released.fetch_max(t, Ordering::AcqRel);
        let sleepers =
            std::mem::take(&mut *self.0.sleepers.lock().unwrap_or_else(|e| e.into_inner()));
        for waker in sleepers {
            waker.wake();
        }
    }
}

impl sse_futures::Timer for VirtualClock {
    fn now(&self) -> Instant {
        VirtualClock::now(self)
    }

    fn sleep_until(&self, deadline: Instant) -> sse_futures::BoxFuture<()> {
        let clock = self.clone();
        Box::pin(std::future::poll_fn(move |cx| {
            if clock.released(deadline) {
                return std::task::Poll::Ready(());
            }
            clock
                .0
                .sleepers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(cx.waker().clone());
            // Released in between: do not miss it.
            if clock.released(deadline) {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        }))
    }
}

impl sse_blocking::Clock for VirtualClock {
    fn now(&self) -> Instant {
        VirtualClock::now(self)
    }

    /// Never blocks: the runner drives the blocking client with zero waits,
    /// so a sleep is only ever asked for until `now`.
    fn sleep_until(&self, _deadline: Instant) {}
}

/// Rounds a deadline up to whole milliseconds, as the in-process runner does.
pub fn ceil_ms(t: Instant) -> u64 {
    let ns = t.as_nanos();
    ns / 1_000_000 + u64::from(ns % 1_000_000 != 0)
}

/// How long the runner waits for loopback bytes to settle before it calls
/// a scenario stuck.
pub const SETTLE_LIMIT: Duration = Duration::from_secs(5);
