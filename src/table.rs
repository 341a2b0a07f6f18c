//! The metrics table: one row of numbers per breaker, for exporting many breakers cheaply (no JSON,
//! no objects). Its columns are one list of (name, getter); the names reach TypeScript through the
//! generated contract as `TABLE_COLUMNS`. NaN stands for "none" (no recovery yet, no failure yet).

use std::sync::OnceLock;

use crate::breaker::Breaker;
use crate::metrics::RECOVERY_BUCKETS_MS;
use crate::types::{Failure, State};

/// What a getter reads: one breaker at `now_ms`, after [`Breaker::observe`] and
/// [`Breaker::advance_window`] at that time.
pub struct Row<'a> {
    /// The breaker.
    pub breaker: &'a Breaker,
    /// The clock reading.
    pub now_ms: u64,
}

/// Reads one number of a row.
type Getter = Box<dyn Fn(&Row) -> f64 + Send + Sync>;

/// The columns, in order: each a name and its getter.
pub fn columns() -> &'static [(String, Getter)] {
    static COLUMNS: OnceLock<Vec<(String, Getter)>> = OnceLock::new();
    COLUMNS.get_or_init(build)
}

/// The columns' names, in order.
pub fn column_names() -> Vec<&'static str> {
    columns().iter().map(|(name, _)| name.as_str()).collect()
}

/// Appends `b`'s row at `now_ms` (the caller has applied [`Breaker::observe`] and
/// [`Breaker::advance_window`]).
pub fn append_row(b: &Breaker, now_ms: u64, out: &mut Vec<f64>) {
    let row = Row { breaker: b, now_ms };
    out.extend(columns().iter().map(|(_, get)| get(&row)));
}

fn build() -> Vec<(String, Getter)> {
    let mut c: Vec<(String, Getter)> = Vec::new();
    let mut col = |name: String, get: Getter| c.push((name, get));
    let n = |v: u64| v as f64;
    col("state".into(), Box::new(|r| r.breaker.state().code() as f64));
    col("sinceMs".into(), Box::new(move |r| n(r.breaker.since_ms())));
    col("consecutiveFailures".into(), Box::new(|r| r.breaker.consecutive_failures() as f64));
    col("halfOpenSuccesses".into(), Box::new(|r| r.breaker.half_open_successes() as f64));
    col("probesInFlight".into(), Box::new(|r| r.breaker.probes_in_flight() as f64));
    col("openRemainingMs".into(), Box::new(move |r| n(r.breaker.open_remaining_ms(r.now_ms))));
    col("admitted".into(), Box::new(move |r| n(r.breaker.metrics().admitted)));
    col("successes".into(), Box::new(move |r| n(r.breaker.metrics().successes)));
    col("failures".into(), Box::new(move |r| n(r.breaker.metrics().failures_total())));
    for &f in Failure::ALL {
        col(format!("failures:{}", f.as_str()), Box::new(move |r| n(r.breaker.metrics().failures[f.code()])));
    }
    col("rejections".into(), Box::new(move |r| n(r.breaker.metrics().rejections)));
    col("released".into(), Box::new(move |r| n(r.breaker.metrics().released)));
    col("lateOutcomes".into(), Box::new(move |r| n(r.breaker.metrics().late_outcomes)));
    col("errorRate:successes".into(), Box::new(move |r| n(r.breaker.metrics().window.totals().successes)));
    col("errorRate:failures".into(), Box::new(move |r| n(r.breaker.metrics().window.totals().failures)));
    col("errorRate:ratio".into(), Box::new(|r| r.breaker.metrics().window.totals().ratio));
    col("recovery:count".into(), Box::new(move |r| n(r.breaker.metrics().recovery.count)));
    col("recovery:lastMs".into(), Box::new(|r| r.breaker.metrics().recovery.last_ms.map_or(f64::NAN, |v| v as f64)));
    col("recovery:sumMs".into(), Box::new(move |r| n(r.breaker.metrics().recovery.sum_ms)));
    col("recovery:maxMs".into(), Box::new(move |r| n(r.breaker.metrics().recovery.max_ms)));
    for (i, bound) in RECOVERY_BUCKETS_MS.iter().enumerate() {
        col(format!("recovery:le:{bound}"), Box::new(move |r| n(r.breaker.metrics().recovery.within[i])));
    }
    for &from in State::ALL {
        for &to in State::ALL {
            let name = format!("transitions:{}->{}", from.as_str(), to.as_str());
            col(name, Box::new(move |r| r.breaker.metrics().transitions[from.code()][to.code()] as f64));
        }
    }
    let last = |r: &Row| r.breaker.metrics().last_failure;
    col("lastFailure:reason".into(), Box::new(move |r| last(r).map_or(f64::NAN, |(f, _)| f.code() as f64)));
    col("lastFailure:atMs".into(), Box::new(move |r| last(r).map_or(f64::NAN, |(_, at)| at as f64)));
    col("backoffStep".into(), Box::new(|r| r.breaker.backoff_step() as f64));
    col("isolations".into(), Box::new(|r| r.breaker.isolations() as f64));
    c
}
