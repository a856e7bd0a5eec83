//! Exponential back-off with jitter: retries of a failing worker spread out (100 ms, 200 ms,
//! 400 ms … up to a cap) and never line up across workers and nodes.

use std::time::Duration;

use rand::Rng;

/// The delays of successive retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay.
    pub base: Duration,
    /// No delay is longer.
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The nominal delay before retry number `attempt` (0-based): `base · 2^attempt`, capped.
    pub fn nominal(&self, attempt: u32) -> Duration {
        self.base
            .saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX))
            .min(self.cap)
    }

    /// The delay to wait: between half the nominal delay and the nominal delay ("equal
    /// jitter": never less than half, so retries do back off; never in step with others).
    pub fn delay(&self, attempt: u32) -> Duration {
        let nominal = self.nominal(attempt);
        let half = nominal / 2;
        let spread = u64::try_from((nominal - half).as_micros()).unwrap_or(u64::MAX);
        half + Duration::from_micros(rand::thread_rng().gen_range(0..=spread))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_stay_within_their_jitter() {
        let b = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
        };
        assert_eq!(b.nominal(0), Duration::from_millis(100));
        assert_eq!(b.nominal(1), Duration::from_millis(200));
        assert_eq!(b.nominal(3), Duration::from_millis(800));
        assert_eq!(b.nominal(4), Duration::from_secs(1));
        assert_eq!(b.nominal(100), Duration::from_secs(1));
        for attempt in 0..8 {
            for _ in 0..100 {
                let d = b.delay(attempt);
                assert!(
                    d >= b.nominal(attempt) / 2 && d <= b.nominal(attempt),
                    "{d:?}"
                );
            }
        }
    }
}
