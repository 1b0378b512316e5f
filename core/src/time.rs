//! Time as the caller tells it.
//!
//! The core never reads a clock. Every input that depends on time takes an
//! [`Instant`] chosen by the caller: a firmware tick counter, a game frame
//! time, or `std::time::Instant` mapped through a fixed origin by an adapter.
//! Durations are plain [`core::time::Duration`].

use core::ops::{Add, Sub};
use core::time::Duration;

/// A point in time on the caller's monotonic clock, in nanoseconds from an
/// origin the caller picks (boot, process start, …).
///
/// Only differences between instants of the same clock mean anything.
/// Arithmetic saturates instead of overflowing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The clock's origin.
    pub const ZERO: Instant = Instant(0);

    /// An instant `nanos` nanoseconds after the origin.
    pub const fn from_nanos(nanos: u64) -> Self {
        Instant(nanos)
    }

    /// An instant `millis` milliseconds after the origin (saturating).
    pub const fn from_millis(millis: u64) -> Self {
        Instant(millis.saturating_mul(1_000_000))
    }

    /// An instant `elapsed` after the origin (saturating).
    pub fn from_duration(elapsed: Duration) -> Self {
        Instant(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX))
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Time since the origin.
    pub const fn as_duration(self) -> Duration {
        Duration::from_nanos(self.0)
    }

    /// `self - earlier`, or zero when `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(nanos))
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_sub(nanos))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Instant::from_nanos(u64::MAX - 1);
        assert_eq!(t + Duration::from_secs(1), Instant::from_nanos(u64::MAX));
        assert_eq!(Instant::ZERO - Duration::from_secs(1), Instant::ZERO);
        assert_eq!(Instant::ZERO - t, Duration::ZERO);
        assert_eq!(
            Instant::from_millis(u64::MAX),
            Instant::from_nanos(u64::MAX)
        );
    }

    #[test]
    fn differences() {
        let a = Instant::from_millis(1500);
        let b = a + Duration::from_millis(250);
        assert_eq!(b - a, Duration::from_millis(250));
        assert_eq!(b.as_duration(), Duration::from_millis(1750));
        assert_eq!(
            Instant::from_duration(Duration::from_secs(2)),
            Instant::from_millis(2000)
        );
    }
}
