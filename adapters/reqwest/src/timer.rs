//! The default clock: tokio's.

use sse_core::Instant;
use sse_futures::BoxFuture;

/// tokio's timer on tokio's monotonic clock, with its origin where the timer
/// was made. Copies share the origin.
///
/// Because it reads [`tokio::time::Instant`], a test that pauses tokio's
/// clock (`tokio::time::pause`, feature `test-util`) moves this one too.
/// [`sse_futures::Timer::sleep_until`] must be polled inside a tokio runtime.
#[derive(Clone, Copy, Debug)]
pub struct TokioTimer {
    origin: tokio::time::Instant,
}

impl TokioTimer {
    /// A clock starting now.
    pub fn new() -> Self {
        TokioTimer {
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioTimer {
    fn default() -> Self {
        TokioTimer::new()
    }
}

impl sse_futures::Timer for TokioTimer {
    fn now(&self) -> Instant {
        Instant::from_duration(self.origin.elapsed())
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<()> {
        Box::pin(tokio::time::sleep_until(
            self.origin + deadline.as_duration(),
        ))
    }
}
