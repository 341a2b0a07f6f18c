//! A breaker's status at one moment, as a plain serializable value (the JavaScript object and the JSON).

use std::collections::BTreeMap;

use crate::breaker::{Breaker, Failure, State, Transition};
use crate::config::Config;
use crate::metrics::Recovery;
use crate::window::WindowTotals;

/// Everything known about one breaker at `now_ms`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// The agent (breaker) id.
    pub agent: String,
    /// The effective state at `now_ms`.
    pub state: State,
    /// When the state began, in clock milliseconds.
    pub since_ms: u64,
    /// The clock reading the snapshot was taken at.
    pub now_ms: u64,
    /// Changes on every transition.
    pub generation: u32,
    /// Failures in a row.
    pub consecutive_failures: u32,
    /// Successful probes in this HALF_OPEN period.
    pub half_open_successes: u32,
    /// Probes admitted and not yet reported.
    pub probes_in_flight: u32,
    /// Milliseconds until HALF_OPEN while OPEN, else 0.
    pub open_remaining_ms: u64,
    /// The breaker's settings.
    pub config: Config,
    /// Call counts.
    pub calls: Calls,
    /// The rolling error rate.
    pub error_rate: WindowTotals,
    /// Transition counts by from → to (only those that happened).
    pub transitions: Vec<TransitionCount>,
    /// The last few transitions, oldest first.
    pub recent_transitions: Vec<Transition>,
    /// OPEN → CLOSED durations.
    pub recovery: Recovery,
    /// The last counted failure, if any.
    pub last_failure: Option<LastFailure>,
}

/// The last counted failure of a breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LastFailure {
    /// Its kind.
    pub reason: Failure,
    /// When, in clock milliseconds.
    pub at_ms: u64,
}

/// Call counts of one breaker since it was created.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Calls {
    /// Calls admitted.
    pub admitted: u64,
    /// Admitted calls that succeeded.
    pub successes: u64,
    /// Admitted calls that failed.
    pub failures: u64,
    /// Failures by kind (`error`, `timeout`, `network`, `http_5xx`, `rate_limited`, `invalid_response`).
    pub failures_by_reason: BTreeMap<&'static str, u64>,
    /// Calls refused without being made.
    pub rejections: u64,
    /// Permits returned without an outcome.
    pub released: u64,
    /// Outcomes that arrived after a state change (their permit's generation had passed): not counted.
    pub late_outcomes: u64,
    /// Permits outstanding when the breaker was reset (`reset()` abandons them).
    pub abandoned: u64,
    /// Permits admitted and not yet reported: `admitted = successes + failures + released +
    /// lateOutcomes + abandoned + inFlight`, always.
    pub in_flight: u64,
}

/// How many times one transition happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TransitionCount {
    /// The state before.
    pub from: State,
    /// The state after.
    pub to: State,
    /// How many times.
    pub count: u64,
}

impl Snapshot {
    /// The snapshot of `b` at `now_ms`; the caller has already applied [`Breaker::observe`].
    pub fn of(agent: &str, b: &mut Breaker, now_ms: u64) -> Snapshot {
        let error_rate = b.metrics_mut().window.totals(now_ms);
        let m = b.metrics();
        Snapshot {
            agent: agent.to_owned(),
            state: b.state(),
            since_ms: b.since_ms(),
            now_ms,
            generation: b.generation(),
            consecutive_failures: b.consecutive_failures(),
            half_open_successes: b.half_open_successes(),
            probes_in_flight: b.probes_in_flight(),
            open_remaining_ms: b.open_remaining_ms(now_ms),
            config: b.config().clone(),
            calls: Calls {
                admitted: m.admitted,
                successes: m.successes,
                failures: m.failures_total(),
                failures_by_reason: Failure::ALL.iter().map(|f| (f.as_str(), m.failures[*f as usize])).collect(),
                rejections: m.rejections,
                released: m.released,
                late_outcomes: m.late_outcomes,
                abandoned: m.abandoned,
                in_flight: b.in_flight(),
            },
            error_rate,
            transitions: m.transition_counts().map(|(from, to, count)| TransitionCount { from, to, count }).collect(),
            recent_transitions: m.recent.iter().copied().collect(),
            recovery: m.recovery,
            last_failure: m.last_failure.map(|(reason, at_ms)| LastFailure { reason, at_ms }),
        }
    }
}

/// The columns of the metrics table: one row of numbers per breaker, for exporting many breakers
/// cheaply (no JSON). NaN stands for "none" (no recovery yet, no failure yet).
pub const TABLE_COLUMNS: [&str; 36] = [
    "state",
    "sinceMs",
    "consecutiveFailures",
    "halfOpenSuccesses",
    "probesInFlight",
    "openRemainingMs",
    "admitted",
    "successes",
    "failures",
    "failures:error",
    "failures:timeout",
    "failures:network",
    "failures:http_5xx",
    "failures:rate_limited",
    "failures:invalid_response",
    "rejections",
    "released",
    "lateOutcomes",
    "errorRate:successes",
    "errorRate:failures",
    "errorRate:ratio",
    "recovery:count",
    "recovery:lastMs",
    "recovery:sumMs",
    "recovery:maxMs",
    "transitions:CLOSED->CLOSED",
    "transitions:CLOSED->OPEN",
    "transitions:CLOSED->HALF_OPEN",
    "transitions:OPEN->CLOSED",
    "transitions:OPEN->OPEN",
    "transitions:OPEN->HALF_OPEN",
    "transitions:HALF_OPEN->CLOSED",
    "transitions:HALF_OPEN->OPEN",
    "transitions:HALF_OPEN->HALF_OPEN",
    "lastFailure:reason",
    "lastFailure:atMs",
];

/// Appends `b`'s row of the metrics table at `now_ms` (the caller has applied [`Breaker::observe`]).
pub fn table_row(b: &mut Breaker, now_ms: u64, out: &mut Vec<f64>) {
    let window = b.metrics_mut().window.totals(now_ms);
    let m = b.metrics();
    let r = m.recovery;
    let (last_reason, last_at) = m.last_failure.map_or((f64::NAN, f64::NAN), |(f, at)| (f as usize as f64, at as f64));
    out.extend_from_slice(&[
        b.state().code() as f64,
        b.since_ms() as f64,
        b.consecutive_failures() as f64,
        b.half_open_successes() as f64,
        b.probes_in_flight() as f64,
        b.open_remaining_ms(now_ms) as f64,
        m.admitted as f64,
        m.successes as f64,
        m.failures_total() as f64,
    ]);
    out.extend(m.failures.iter().map(|&n| n as f64));
    out.extend_from_slice(&[
        m.rejections as f64,
        m.released as f64,
        m.late_outcomes as f64,
        window.successes as f64,
        window.failures as f64,
        window.ratio,
        r.count as f64,
        r.last_ms.map_or(f64::NAN, |v| v as f64),
        r.sum_ms as f64,
        r.max_ms as f64,
    ]);
    out.extend(m.transitions.iter().flatten().map(|&n| n as f64));
    out.extend_from_slice(&[last_reason, last_at]);
}
