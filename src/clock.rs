//! Where a registry's time comes from: the monotonic clock, or a manual one that tests move by hand.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Milliseconds since a registry's origin, never going backwards.
#[derive(Clone, Debug)]
pub enum Clock {
    /// `std::time::Instant`: wall-clock jumps change nothing.
    Monotonic(Instant),
    /// A shared counter moved only by [`ManualTime::advance`].
    Manual(Arc<ManualTime>),
}

impl Clock {
    /// The monotonic clock, starting at 0 now.
    pub fn monotonic() -> Self {
        Clock::Monotonic(Instant::now())
    }

    /// Milliseconds since the origin.
    pub fn now_ms(&self) -> u64 {
        match self {
            Clock::Monotonic(origin) => origin.elapsed().as_millis() as u64,
            Clock::Manual(t) => t.now_ms(),
        }
    }
}

/// A clock that moves only when told to; shareable between registries.
#[derive(Debug, Default)]
pub struct ManualTime(AtomicU64);

impl ManualTime {
    /// A manual clock reading `start_ms`.
    pub fn new(start_ms: u64) -> Self {
        ManualTime(AtomicU64::new(start_ms))
    }

    /// The current reading.
    pub fn now_ms(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// Moves the clock forward by `ms` (saturating) and returns the new reading.
    pub fn advance(&self, ms: u64) -> u64 {
        let old = self.0.fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| Some(t.saturating_add(ms)));
        old.unwrap_or(0).saturating_add(ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let t = Arc::new(ManualTime::new(5));
        let c = Clock::Manual(t.clone());
        assert_eq!(c.now_ms(), 5);
        assert_eq!(t.advance(60_000), 60_005);
        assert_eq!(c.now_ms(), 60_005);
        assert_eq!(t.advance(u64::MAX), u64::MAX);
    }

    #[test]
    fn monotonic_clock_never_goes_back() {
        let c = Clock::monotonic();
        let mut last = 0;
        for _ in 0..10_000 {
            let now = c.now_ms();
            assert!(now >= last);
            last = now;
        }
    }
}
