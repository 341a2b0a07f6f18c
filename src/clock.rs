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

/// The latest reading a manual clock accepts: 2^53 - 1 ms (JavaScript's `Number.MAX_SAFE_INTEGER`),
/// so every reading is exact in JavaScript and no deadline near it can wrap.
pub const MAX_MANUAL_MS: u64 = (1 << 53) - 1;

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

    /// Moves the clock forward by `ms` and returns the new reading, or `None` (and the clock stays)
    /// if that would pass [`MAX_MANUAL_MS`].
    pub fn advance(&self, ms: u64) -> Option<u64> {
        let moved = |t: u64| t.checked_add(ms).filter(|&n| n <= MAX_MANUAL_MS);
        let old = self.0.fetch_update(Ordering::AcqRel, Ordering::Acquire, moved).ok()?;
        Some(old + ms)
    }
}

#[cfg(test)]
#[path = "clock_tests.rs"]
mod tests;
