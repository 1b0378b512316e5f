//! Time for the blocking drivers: the [`Clock`] trait and real time.

use sse_core::Instant;

/// A monotonic clock the drivers read and sleep on.
///
/// A test can implement it with a virtual clock. The drivers read time only
/// through [`Clock::now`] and wait for a deadline in only these ways:
///
/// - the client ([`EventSource`](crate::EventSource)) sets a read timeout
///   of `deadline - now` (with a connection) or calls
///   [`Clock::sleep_until`] (without one), then hands `now()` to the core's
///   `handle_timeout`, which decides whether the deadline passed;
/// - a server connection thread ([`serve_connection`](crate::serve_connection))
///   waits on its hub's condition variable (at most a second of real time)
///   and, once woken by a publish or [`Hub::wake_all`](crate::Hub::wake_all)
///   or timed out, treats its deadline as due when `now() >= deadline`.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> Instant;
    /// Blocks until `deadline` has passed.
    fn sleep_until(&self, deadline: Instant);
}

/// Real time, counted from when the clock was made.
#[derive(Clone, Copy, Debug)]
pub struct SystemClock(std::time::Instant);

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock(std::time::Instant::now())
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::from_duration(self.0.elapsed())
    }
    fn sleep_until(&self, deadline: Instant) {
        std::thread::sleep(deadline.saturating_duration_since(self.now()));
    }
}
