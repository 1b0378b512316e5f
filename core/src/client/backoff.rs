//! Reconnect delays: the base reconnection time, optional capped exponential
//! backoff, and jitter from a caller-seeded generator (no OS randomness).

use core::time::Duration;

/// Capped exponential backoff for reconnects.
///
/// The `n`-th consecutive reconnect (counting from 0) waits
/// `min(base × 2ⁿ, max)`, where `base` is the reconnection time (the server's
/// `retry:` or [`Config::reconnection_time`](super::Config::reconnection_time)).
/// With `jitter`, the wait is drawn uniformly from `[d/2, d]` (whole
/// milliseconds) by a [`SplitMix64`] seeded with
/// [`Config::seed`](super::Config::seed), so a run is reproducible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The longest wait backoff may produce. A base larger than this is
    /// still used as is.
    pub max: Duration,
    /// Spread waits over `[d/2, d]` so that many clients do not reconnect
    /// in lockstep.
    pub jitter: bool,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            max: Duration::from_secs(60),
            jitter: true,
        }
    }
}

/// The SplitMix64 generator: tiny, fast, and good enough for jitter.
/// Not for anything that needs unpredictability.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub const fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next pseudo-random value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..=max`.
    pub fn below_or_eq(&mut self, max: u64) -> u64 {
        match max.checked_add(1) {
            Some(n) => self.next_u64() % n,
            None => self.next_u64(),
        }
    }
}

/// The wait before reconnect number `attempt` (0 = first after a success).
pub(crate) fn delay(
    base: Duration,
    attempt: u32,
    backoff: Option<&Backoff>,
    rng: &mut SplitMix64,
) -> Duration {
    let Some(backoff) = backoff else {
        return base;
    };
    let base_ms = millis(base);
    let max_ms = millis(backoff.max);
    let grown = base_ms.saturating_mul(1u64.checked_shl(attempt.min(63)).unwrap_or(u64::MAX));
    let capped = if base_ms >= max_ms {
        base_ms
    } else {
        grown.min(max_ms)
    };
    let ms = if backoff.jitter {
        let half = capped / 2;
        capped - half + rng.below_or_eq(half)
    } else {
        capped
    };
    Duration::from_millis(ms)
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_caps() {
        let b = Backoff {
            max: Duration::from_secs(10),
            jitter: false,
        };
        let mut rng = SplitMix64::new(0);
        let secs: [u64; 6] = core::array::from_fn(|n| {
            delay(Duration::from_secs(1), n as u32, Some(&b), &mut rng).as_secs()
        });
        assert_eq!(secs, [1, 2, 4, 8, 10, 10]);
        assert_eq!(
            delay(Duration::from_secs(1), 1000, Some(&b), &mut rng),
            Duration::from_secs(10)
        );
        assert_eq!(
            delay(Duration::from_secs(30), 3, Some(&b), &mut rng),
            Duration::from_secs(30)
        );
        assert_eq!(
            delay(Duration::from_secs(3), 5, None, &mut rng),
            Duration::from_secs(3)
        );
    }

    #[test]
    fn jitter_is_bounded_and_seeded() {
        let b = Backoff::default();
        let run = |seed| {
            let mut rng = SplitMix64::new(seed);
            core::array::from_fn::<u64, 8, _>(|n| {
                millis(delay(
                    Duration::from_millis(1000),
                    n as u32,
                    Some(&b),
                    &mut rng,
                ))
            })
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        for (n, ms) in run(7).into_iter().enumerate() {
            let full = (1000u64 << n).min(60_000);
            assert!(ms >= full / 2 && ms <= full, "{n}: {ms}");
        }
    }
}
