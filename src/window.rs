//! The rolling error-rate window: 60 buckets with running totals, so reading it is O(1).

/// Number of buckets the window is split into.
pub const BUCKETS: usize = 60;

/// Successes and failures over the last `window_ms`, kept as 60 buckets plus running totals. The
/// buckets are allocated on the first call, so an idle breaker costs a few words.
#[derive(Clone, Debug)]
pub struct Window {
    bucket_ms: u64,
    /// Index (time / bucket_ms) of the newest bucket.
    head: u64,
    buckets: Option<Box<Buckets>>,
    total_successes: u64,
    total_failures: u64,
}

#[derive(Clone, Debug)]
struct Buckets {
    successes: [u32; BUCKETS],
    failures: [u32; BUCKETS],
}

/// What the window holds at one moment.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct WindowTotals {
    /// The window's length in milliseconds.
    pub window_ms: u64,
    /// Successful calls in the window.
    pub successes: u64,
    /// Failed calls in the window.
    pub failures: u64,
    /// failures / (successes + failures), or 0 when the window is empty.
    pub ratio: f64,
}

impl Window {
    /// An empty window `window_ms` long (at least 60 ms, one millisecond a bucket).
    pub fn new(window_ms: u64) -> Self {
        Window {
            bucket_ms: (window_ms / BUCKETS as u64).max(1),
            head: 0,
            buckets: None,
            total_successes: 0,
            total_failures: 0,
        }
    }

    /// Drops the buckets that have left the window by `now_ms`; at most 60 steps. Call it before
    /// [`Window::totals`] to read the window as of `now_ms`.
    pub fn advance(&mut self, now_ms: u64) {
        let epoch = now_ms / self.bucket_ms;
        if epoch <= self.head {
            return;
        }
        if let Some(b) = self.buckets.as_mut() {
            let steps = (epoch - self.head).min(BUCKETS as u64);
            for k in 1..=steps {
                let i = ((self.head + k) % BUCKETS as u64) as usize;
                self.total_successes -= b.successes[i] as u64;
                self.total_failures -= b.failures[i] as u64;
                b.successes[i] = 0;
                b.failures[i] = 0;
            }
        }
        self.head = epoch;
    }

    /// Adds `successes` and `failures` at `now_ms`. A time older than the newest bucket counts in the newest.
    pub fn add(&mut self, now_ms: u64, successes: u32, failures: u32) {
        self.advance(now_ms);
        if successes == 0 && failures == 0 {
            return;
        }
        let i = (self.head % BUCKETS as u64) as usize;
        let b = self.buckets.get_or_insert_with(|| Box::new(Buckets { successes: [0; BUCKETS], failures: [0; BUCKETS] }));
        let (s0, f0) = (b.successes[i], b.failures[i]);
        b.successes[i] = s0.saturating_add(successes);
        b.failures[i] = f0.saturating_add(failures);
        self.total_successes += (b.successes[i] - s0) as u64;
        self.total_failures += (b.failures[i] - f0) as u64;
    }

    /// The totals as of the last [`Window::advance`] (or [`Window::add`]).
    pub fn totals(&self) -> WindowTotals {
        let (s, f) = (self.total_successes, self.total_failures);
        let ratio = if s + f == 0 { 0.0 } else { f as f64 / (s + f) as f64 };
        WindowTotals { window_ms: self.bucket_ms * BUCKETS as u64, successes: s, failures: f, ratio }
    }
}

#[cfg(test)]
#[path = "window_tests.rs"]
mod tests;
