//! What a breaker counts: calls, outcomes by kind, transitions, recovery time and the error-rate window.

use std::collections::VecDeque;

use crate::types::{Failure, State, Transition};
use crate::window::Window;

/// How many transitions the recent history keeps.
pub const RECENT_TRANSITIONS: usize = 8;

/// The recovery-time histogram's upper bounds, in milliseconds: 1 s to 6 hours. A recovery longer
/// than the last bound is counted only in `count` (Prometheus's `+Inf`).
pub const RECOVERY_BUCKETS_MS: [u64; 12] =
    [1_000, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000];

/// OPEN → CLOSED durations: how long recoveries took.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Recovery {
    /// Recoveries completed.
    pub count: u64,
    /// The last recovery's duration, in milliseconds.
    pub last_ms: Option<u64>,
    /// The sum of all recovery durations, in milliseconds.
    pub sum_ms: u64,
    /// The longest recovery, in milliseconds.
    pub max_ms: u64,
    /// Recoveries that took at most each bound of [`RECOVERY_BUCKETS_MS`] (cumulative, as
    /// Prometheus's `le` buckets). In the metrics table only.
    #[serde(skip)]
    #[cfg_attr(test, ts(skip))]
    pub within: [u64; RECOVERY_BUCKETS_MS.len()],
}

impl Recovery {
    /// Adds one recovery that took `ms`.
    pub fn record(&mut self, ms: u64) {
        self.count += 1;
        self.last_ms = Some(ms);
        self.sum_ms += ms;
        self.max_ms = self.max_ms.max(ms);
        for (n, &bound) in self.within.iter_mut().zip(RECOVERY_BUCKETS_MS.iter()) {
            *n += u64::from(ms <= bound);
        }
    }
}

/// The counters of one breaker.
#[derive(Clone, Debug)]
pub struct Metrics {
    /// Calls admitted (permits issued).
    pub admitted: u64,
    /// Admitted calls that succeeded.
    pub successes: u64,
    /// Admitted calls that failed, by [`Failure`] code.
    pub failures: [u64; Failure::ALL.len()],
    /// Calls refused because the breaker was OPEN or its probes were all taken.
    pub rejections: u64,
    /// Permits returned without an outcome (cancelled, or an error that does not count).
    pub released: u64,
    /// Outcomes that arrived with a permit of an older generation: not counted.
    pub late_outcomes: u64,
    /// Permits outstanding when the breaker was reset: their reports change nothing.
    pub abandoned: u64,
    /// Transition counts, `[from][to]` by state code.
    pub transitions: [[u32; State::ALL.len()]; State::ALL.len()],
    /// The last few transitions, oldest first.
    pub recent: VecDeque<Transition>,
    /// Recovery times.
    pub recovery: Recovery,
    /// The last counted failure: its kind and when (clock milliseconds).
    pub last_failure: Option<(Failure, u64)>,
    /// The rolling error-rate window.
    pub window: Window,
}

impl Metrics {
    /// Zeroed counters with an error-rate window `window_ms` long.
    pub fn new(window_ms: u64) -> Self {
        Metrics {
            admitted: 0,
            successes: 0,
            failures: [0; Failure::ALL.len()],
            rejections: 0,
            released: 0,
            late_outcomes: 0,
            abandoned: 0,
            transitions: [[0; State::ALL.len()]; State::ALL.len()],
            recent: VecDeque::new(),
            recovery: Recovery::default(),
            last_failure: None,
            window: Window::new(window_ms),
        }
    }

    /// Counts `n` successes at `now_ms`.
    pub fn count_success(&mut self, now_ms: u64, n: u32) {
        self.successes += n as u64;
        self.window.add(now_ms, n, 0);
    }

    /// Counts one failure of `kind` at `now_ms`.
    pub fn count_failure(&mut self, now_ms: u64, kind: Failure) {
        self.failures[kind as usize] += 1;
        self.last_failure = Some((kind, now_ms));
        self.window.add(now_ms, 0, 1);
    }

    /// Counts a transition and keeps it in the recent history.
    pub fn count_transition(&mut self, t: Transition) {
        let n = &mut self.transitions[t.from.code()][t.to.code()];
        *n = n.saturating_add(1);
        if self.recent.len() == RECENT_TRANSITIONS {
            self.recent.pop_front();
        }
        self.recent.push_back(t);
    }

    /// All failures, whatever their kind.
    pub fn failures_total(&self) -> u64 {
        self.failures.iter().sum()
    }

    /// Transition counts as (from, to, count), only those that happened.
    pub fn transition_counts(&self) -> impl Iterator<Item = (State, State, u64)> + '_ {
        State::ALL.iter().flat_map(move |&from| {
            State::ALL.iter().filter_map(move |&to| {
                let n = self.transitions[from.code()][to.code()] as u64;
                (n > 0).then_some((from, to, n))
            })
        })
    }
}
