//! Table-driven tests of the state machine: each row is (time in ms, step, state expected after it).

use super::*;
use crate::config::Config;
use State::{Closed, HalfOpen, Open};

/// One step of a table.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// Acquire and report success at once.
    Ok,
    /// Acquire and report a failure at once.
    Fail,
    /// Acquire and expect a rejection.
    Refused,
    /// Acquire and keep the permit (pushed on the held list).
    Hold,
    /// Report the outcome of the n-th held permit.
    Settle(usize, Outcome),
    /// Look at the state only.
    Look,
    ForceOpen,
    Reset,
    /// Fleet sync: another instance opened it, for this many more ms.
    RemoteOpen(u64),
    /// Fleet sync: another instance closed it.
    RemoteClose,
    /// Fleet sync: the probe leases granted (`None`: local rules).
    Leases(Option<u32>),
}
use Step::*;

const ERR: Outcome = Outcome::Failure(Failure::Error);

struct Run {
    b: Breaker,
    held: Vec<Permit>,
    events: Vec<Transition>,
}

impl Run {
    fn new(config: Config) -> Self {
        Run { b: Breaker::new(config, 0), held: vec![], events: vec![] }
    }

    fn step(&mut self, t: u64, step: Step) {
        let ev = &mut self.events;
        match step {
            Ok | Fail => {
                let p = self.b.acquire(t, ev).expect("call should be admitted");
                let outcome = if matches!(step, Ok) { Outcome::Success } else { ERR };
                assert_eq!(self.b.record(p, outcome, t, ev), Recorded::Counted);
            }
            Refused => assert!(self.b.acquire(t, ev).is_err(), "call at {t} ms should be refused"),
            Hold => self.held.push(self.b.acquire(t, ev).expect("hold should be admitted")),
            Settle(i, outcome) => {
                self.b.record(self.held[i], outcome, t, ev);
            }
            Look => {
                self.b.observe(t, ev);
            }
            ForceOpen => self.b.force_open(t, ev),
            Reset => self.b.reset(t, ev),
            RemoteOpen(ms) => self.b.remote_open(ms, t, ev),
            RemoteClose => self.b.remote_close(t, ev),
            Leases(n) => self.b.set_probe_leases(n, t, ev),
        }
    }

    fn table(config: Config, rows: &[(u64, Step, State)]) -> Run {
        let mut run = Run::new(config);
        for (i, &(t, step, want)) in rows.iter().enumerate() {
            run.step(t, step);
            assert_eq!(run.b.state(), want, "row {i}: {step:?} at {t} ms");
        }
        run
    }
}

fn cfg() -> Config {
    Config::default()
}

#[test]
fn closed_opens_on_the_fifth_consecutive_failure() {
    let run = Run::table(cfg(), &[(0, Fail, Closed), (1, Fail, Closed), (2, Fail, Closed), (3, Fail, Closed), (4, Fail, Open)]);
    let t = run.events[0];
    assert_eq!((t.from, t.to, t.reason, t.at_ms, t.consecutive_failures), (Closed, Open, Reason::FailureThreshold, 4, 5));
}

#[test]
fn a_success_resets_the_consecutive_count() {
    let run = Run::table(
        cfg(),
        &[(0, Fail, Closed), (0, Fail, Closed), (0, Fail, Closed), (0, Fail, Closed), (0, Ok, Closed), (0, Fail, Closed)],
    );
    assert_eq!(run.b.consecutive_failures(), 1);
}

#[test]
fn total_failures_never_trip() {
    let mut rows = vec![];
    for i in 0..100 {
        rows.extend([(i, Fail, Closed), (i, Fail, Closed), (i, Fail, Closed), (i, Fail, Closed), (i, Ok, Closed)]);
    }
    let run = Run::table(cfg(), &rows);
    assert_eq!(run.b.metrics().failures_total(), 400);
}

#[test]
fn open_lasts_exactly_the_open_timeout() {
    let mut rows: Vec<_> = (0..5).map(|_| (1_000, Fail, Open)).collect();
    rows[..4].iter_mut().for_each(|r| r.2 = Closed);
    rows.extend([(60_999, Refused, Open), (60_999, Look, Open), (61_000, Look, HalfOpen)]);
    let run = Run::table(cfg(), &rows);
    assert_eq!(run.events.last().unwrap().reason, Reason::OpenTimeoutElapsed);
}

#[test]
fn half_open_is_dated_when_the_timeout_ended_not_when_someone_looked() {
    let mut run = Run::table(cfg(), &[(0, ForceOpen, Open), (500_000, Look, HalfOpen)]);
    assert_eq!(run.b.since_ms(), 60_000);
    assert_eq!(run.events.last().unwrap().at_ms, 60_000);
    // A configured timeout applies the same way.
    let c = cfg().apply(&crate::config::ConfigPatch { open_timeout_ms: Some(10.0), ..Default::default() }).unwrap();
    run = Run::table(c, &[(5, ForceOpen, Open), (14, Look, Open), (15, Look, HalfOpen)]);
    assert_eq!(run.b.since_ms(), 15);
}

#[test]
fn open_rejects_with_the_time_remaining() {
    let mut run = Run::table(cfg(), &[(0, ForceOpen, Open)]);
    let r = run.b.acquire(42_000, &mut run.events).unwrap_err();
    assert_eq!(r, Rejected { state: Open, retry_after_ms: 18_000, isolated: false });
    assert_eq!(run.b.open_remaining_ms(42_000), 18_000);
    assert_eq!(run.b.metrics().rejections, 1);
}

#[test]
fn half_open_admits_at_most_half_open_max_calls_probes() {
    let run = Run::table(
        cfg(),
        &[(0, ForceOpen, Open), (60_000, Hold, HalfOpen), (60_000, Hold, HalfOpen), (60_000, Refused, HalfOpen)],
    );
    assert_eq!(run.b.probes_in_flight(), 2);
    let mut run = run;
    let r = run.b.acquire(60_001, &mut run.events).unwrap_err();
    assert_eq!(r, Rejected { state: HalfOpen, retry_after_ms: 0, isolated: false });
}

#[test]
fn half_open_closes_after_success_threshold_successes() {
    Run::table(
        cfg(),
        &[
            (0, ForceOpen, Open),
            (60_000, Hold, HalfOpen),
            (60_000, Hold, HalfOpen),
            (60_001, Settle(0, Outcome::Success), HalfOpen),
            (60_002, Settle(1, Outcome::Success), Closed),
        ],
    );
    // Sequential probes work too when only one may be in flight at a time.
    let c = cfg().apply(&crate::config::ConfigPatch { half_open_max_calls: Some(1.0), ..Default::default() }).unwrap();
    Run::table(c, &[(0, ForceOpen, Open), (60_000, Hold, HalfOpen), (60_000, Refused, HalfOpen), (60_000, Settle(0, Outcome::Success), HalfOpen), (60_000, Ok, Closed)]);
}

#[test]
fn a_failed_probe_reopens_and_restarts_the_timeout() {
    let run = Run::table(
        cfg(),
        &[
            (0, ForceOpen, Open),
            (60_000, Ok, HalfOpen),
            (70_000, Fail, Open),
            (129_999, Refused, Open),
            (130_000, Look, HalfOpen),
        ],
    );
    let reasons: Vec<_> = run.events.iter().map(|t| t.reason).collect();
    assert_eq!(reasons, [Reason::ForcedOpen, Reason::OpenTimeoutElapsed, Reason::ProbeFailed, Reason::OpenTimeoutElapsed]);
}

#[test]
fn an_outcome_from_an_older_generation_changes_nothing() {
    // A slow call admitted while CLOSED ends after the breaker opened and turned HALF_OPEN.
    let mut run = Run::table(
        cfg(),
        &[(0, Hold, Closed), (1, Fail, Closed), (1, Fail, Closed), (1, Fail, Closed), (1, Fail, Closed), (1, Fail, Open), (60_001, Look, HalfOpen)],
    );
    let before = (run.b.generation(), run.b.consecutive_failures(), run.b.half_open_successes());
    assert_eq!(run.b.record(run.held[0], Outcome::Success, 60_002, &mut run.events), Recorded::Late);
    assert_eq!(run.b.record(run.held[0], ERR, 60_002, &mut run.events), Recorded::Ignored, "a second report");
    assert_eq!((run.b.generation(), run.b.consecutive_failures(), run.b.half_open_successes()), before);
    assert_eq!(run.b.state(), HalfOpen);
    assert_eq!(run.b.metrics().late_outcomes, 1);
    // A stale failure while CLOSED does not add to the consecutive count either.
    let rows = [(0, Hold, Closed), (1, ForceOpen, Open), (60_001, Ok, HalfOpen), (60_001, Ok, Closed)];
    let mut run = Run::table(cfg(), &rows);
    assert_eq!(run.b.record(run.held[0], ERR, 60_002, &mut run.events), Recorded::Late);
    assert_eq!(run.b.consecutive_failures(), 0);
}

#[test]
fn each_probe_permit_counts_once() {
    let mut run = Run::table(cfg(), &[(0, ForceOpen, Open), (60_000, Hold, HalfOpen), (60_000, Hold, HalfOpen)]);
    let p = run.held[0];
    assert_eq!(run.b.record(p, Outcome::Success, 60_001, &mut run.events), Recorded::Counted);
    assert_eq!(run.b.record(p, Outcome::Success, 60_001, &mut run.events), Recorded::Ignored);
    assert_eq!((run.b.state(), run.b.half_open_successes(), run.b.probes_in_flight()), (HalfOpen, 1, 1));
    // A forged probe token is refused the same way.
    let forged = Permit { generation: p.generation, token: 999 };
    assert_eq!(run.b.record(forged, Outcome::Success, 60_001, &mut run.events), Recorded::Ignored);
    assert_eq!(run.b.metrics().late_outcomes, 0);
}

#[test]
fn a_closed_permit_counts_once() {
    // Reported five times, one permit is one failure: it cannot open the breaker alone.
    let mut run = Run::table(cfg(), &[(0, Hold, Closed)]);
    let p = run.held[0];
    assert_eq!(run.b.record(p, ERR, 1, &mut run.events), Recorded::Counted);
    for _ in 0..4 {
        assert_eq!(run.b.record(p, ERR, 1, &mut run.events), Recorded::Ignored);
    }
    assert_eq!((run.b.state(), run.b.consecutive_failures(), run.b.metrics().failures_total()), (Closed, 1, 1));
    assert_eq!((run.b.metrics().admitted, run.b.in_flight()), (1, 0));
}

#[test]
fn fast_path_permits_are_settled_against_their_count() {
    let mut b = Breaker::new(cfg(), 0);
    let mut ev = vec![];
    let fast = Permit { generation: b.generation(), token: 0 };
    assert_eq!(b.record(fast, ERR, 0, &mut ev), Recorded::Ignored, "no fast-path call is in flight");
    b.fold_fast_path(0, 3, 1, 2); // three admitted, one already succeeded; two rejected
    assert_eq!(b.metrics().rejections, 2);
    assert_eq!(b.in_flight(), 2);
    assert_eq!(b.record(fast, ERR, 0, &mut ev), Recorded::Counted);
    assert_eq!(b.record(fast, Outcome::Success, 0, &mut ev), Recorded::Counted);
    assert_eq!(b.record(fast, ERR, 0, &mut ev), Recorded::Ignored);
    let m = b.metrics();
    assert_eq!((m.admitted, m.successes, m.failures_total(), b.in_flight()), (3, 2, 1, 0));
}

#[test]
fn permits_stay_outstanding_across_transitions_until_reported() {
    let mut run = Run::table(cfg(), &[(0, Hold, Closed), (0, ForceOpen, Open), (60_000, Hold, HalfOpen)]);
    assert_eq!(run.b.in_flight(), 2);
    assert_eq!(run.b.record(run.held[0], Outcome::Success, 60_000, &mut run.events), Recorded::Late);
    assert_eq!(run.b.record(run.held[0], Outcome::Success, 60_000, &mut run.events), Recorded::Ignored);
    assert_eq!((run.b.in_flight(), run.b.probes_in_flight()), (1, 1));
}

#[test]
fn a_breaker_holds_at_most_max_outstanding_permits_until_reset() {
    let mut b = Breaker::new(cfg(), 0);
    let mut ev = vec![];
    for _ in 0..MAX_OUTSTANDING {
        b.acquire(0, &mut ev).expect("room for another permit");
    }
    assert_eq!(MAX_OUTSTANDING, 1_048_575);
    assert_eq!(b.acquire(0, &mut ev), Err(Rejected { state: Closed, retry_after_ms: 0, isolated: false }));
    b.reset(0, &mut ev);
    assert_eq!((b.in_flight(), b.metrics().abandoned), (0, MAX_OUTSTANDING as u64));
    assert!(b.acquire(0, &mut ev).is_ok());
}

#[test]
fn reset_abandons_the_permits_still_outstanding() {
    let mut run = Run::table(cfg(), &[(0, Hold, Closed), (0, Hold, Closed), (0, Reset, Closed)]);
    assert_eq!((run.b.in_flight(), run.b.metrics().abandoned), (0, 2));
    assert_eq!(run.b.record(run.held[0], ERR, 1, &mut run.events), Recorded::Ignored);
    assert_eq!((run.b.consecutive_failures(), run.b.metrics().late_outcomes), (0, 0));
}

#[test]
fn a_released_probe_frees_its_place_without_counting() {
    let run = Run::table(
        cfg(),
        &[
            (0, ForceOpen, Open),
            (60_000, Hold, HalfOpen),
            (60_000, Hold, HalfOpen),
            (60_000, Refused, HalfOpen),
            (60_000, Settle(0, Outcome::Released), HalfOpen),
            (60_000, Settle(1, Outcome::Released), HalfOpen),
            (60_000, Ok, HalfOpen),
            (60_000, Ok, Closed),
        ],
    );
    assert_eq!(run.b.metrics().released, 2);
}

#[test]
fn force_open_and_reset_are_recorded_transitions() {
    let run = Run::table(
        cfg(),
        &[(0, Fail, Closed), (0, Fail, Closed), (1, ForceOpen, Open), (2, ForceOpen, Open), (3, Reset, Closed), (3, Fail, Closed)],
    );
    let seen: Vec<_> = run.events.iter().map(|t| (t.from, t.to, t.reason)).collect();
    assert_eq!(
        seen,
        [(Closed, Open, Reason::ForcedOpen), (Open, Open, Reason::ForcedOpen), (Open, Closed, Reason::Reset)]
    );
    // Reset cleared the two earlier failures: one failure after it counts as the first.
    assert_eq!(run.b.consecutive_failures(), 1);
    assert_eq!(run.b.metrics().recovery.count, 0, "a reset is not a recovery");
}

#[test]
fn force_open_restarts_the_open_timeout() {
    Run::table(cfg(), &[(0, ForceOpen, Open), (50_000, ForceOpen, Open), (109_999, Look, Open), (110_000, Look, HalfOpen)]);
}

#[test]
fn recovery_time_runs_from_open_to_closed() {
    let mut rows: Vec<_> = (0..5).map(|i| (1_000, Fail, if i < 4 { Closed } else { Open })).collect();
    rows.extend([(61_000, Ok, HalfOpen), (61_000, Fail, Open), (121_000, Ok, HalfOpen), (122_000, Ok, Closed)]);
    let run = Run::table(cfg(), &rows);
    let r = run.b.metrics().recovery;
    // 121 s: above the 120 s bound, within 300 s and every larger one.
    let within = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1];
    assert_eq!(r, crate::metrics::Recovery { count: 1, last_ms: Some(121_000), sum_ms: 121_000, max_ms: 121_000, within });
}

#[test]
fn recovery_buckets_count_a_bound_as_within_it_and_beyond_the_last_only_in_count() {
    let mut r = crate::metrics::Recovery::default();
    r.record(1_000);
    assert_eq!(r.within, [1; 12], "le is inclusive: 1 000 ms is within the 1 s bound");
    r.record(1_001);
    assert_eq!(r.within[..2], [1, 2]);
    r.record(21_600_001);
    assert_eq!((r.count, r.within[11]), (3, 2), "longer than 6 h: only in count (+Inf)");
}

#[test]
fn counts_add_up() {
    let run = Run::table(
        cfg(),
        &[(0, Ok, Closed), (0, Fail, Closed), (0, Hold, Closed), (0, Settle(0, Outcome::Released), Closed), (0, ForceOpen, Open), (0, Refused, Open)],
    );
    let m = run.b.metrics();
    assert_eq!((m.admitted, m.successes, m.failures_total(), m.released, m.rejections, m.late_outcomes), (3, 1, 1, 1, 1, 0));
    assert_eq!({ let mut w = m.window.clone(); w.advance(0); w.totals().ratio }, 0.5);
    assert_eq!(m.last_failure, Some((Failure::Error, 0)));
}

#[test]
fn transition_history_keeps_the_last_few() {
    let mut run = Run::new(cfg());
    for t in 0..20 {
        run.step(t, ForceOpen);
    }
    let m = run.b.metrics();
    assert_eq!(m.recent.len(), crate::metrics::RECENT_TRANSITIONS);
    assert_eq!(m.recent.back().unwrap().at_ms, 19);
    assert_eq!(m.transitions[Closed.code()][Open.code()], 1);
    assert_eq!(m.transitions[Open.code()][Open.code()], 19);
}

#[test]
fn is_clean_only_when_closed_without_pending_failures() {
    let mut run = Run::table(cfg(), &[(0, Ok, Closed)]);
    assert!(run.b.is_clean());
    run.step(0, Fail);
    assert!(!run.b.is_clean());
    run.step(0, Ok);
    assert!(run.b.is_clean());
    run.step(0, ForceOpen);
    assert!(!run.b.is_clean());
}

#[test]
fn names_are_the_same_in_json_and_labels() {
    for f in Failure::ALL {
        assert_eq!(serde_json::to_string(&f).unwrap(), format!("\"{}\"", f.as_str()));
    }
    for st in State::ALL {
        assert_eq!(serde_json::to_string(&st).unwrap(), format!("\"{}\"", st.as_str()));
    }
}

#[test]
fn a_probe_that_never_reports_reopens_the_breaker_when_its_time_is_up() {
    let mut run = Run::table(
        cfg(),
        &[(0, ForceOpen, Open), (60_000, Hold, HalfOpen), (60_000, Hold, HalfOpen), (60_000, Refused, HalfOpen)],
    );
    // The probes hang. One millisecond before the open timeout they still hold HALF_OPEN.
    run.step(119_999, Look);
    assert_eq!(run.b.state(), HalfOpen);
    run.step(120_000, Look);
    assert_eq!(run.b.state(), Open);
    let t = *run.events.last().unwrap();
    assert_eq!((t.from, t.to, t.reason, t.at_ms), (HalfOpen, Open, Reason::ProbeTimedOut, 120_000));
    // Their outcomes, if they ever come, are late; the breaker probes again after the next timeout.
    assert_eq!(run.b.record(run.held[0], Outcome::Success, 150_000, &mut run.events), Recorded::Late);
    run.step(180_000, Ok);
    assert_eq!(run.b.state(), HalfOpen);
}

#[test]
fn a_probe_has_its_own_timeout_when_one_is_set() {
    // Open 1 s, probes may run 3.5 s: a probe answering after 1.5 s still counts and closes.
    let patch = crate::config::ConfigPatch {
        open_timeout_ms: Some(1_000.0),
        probe_timeout_ms: Some(3_500.0),
        success_threshold: Some(1.0),
        ..Default::default()
    };
    let mut run = Run::table(cfg().apply(&patch).unwrap(), &[(0, ForceOpen, Open), (1_000, Hold, HalfOpen), (2_500, Look, HalfOpen)]);
    assert_eq!(run.b.record(run.held[0], Outcome::Success, 2_500, &mut run.events), Recorded::Counted);
    assert_eq!(run.b.state(), Closed);
    // A probe that outlives the probe timeout reopens, dated at its deadline.
    run.step(2_600, ForceOpen);
    run.step(3_600, Hold);
    run.step(7_100, Look);
    let t = *run.events.last().unwrap();
    assert_eq!((t.from, t.to, t.reason, t.at_ms), (HalfOpen, Open, Reason::ProbeTimedOut, 7_100));
}

#[test]
fn deadlines_near_the_end_of_time_saturate() {
    let mut run = Run::table(cfg(), &[(u64::MAX - 10, ForceOpen, Open), (u64::MAX - 1, Look, Open)]);
    assert_eq!(run.b.open_remaining_ms(u64::MAX - 1), 1);
    run.step(u64::MAX, Look);
    assert_eq!(run.b.state(), HalfOpen);
}

#[test]
fn the_generation_changes_on_every_transition_and_only_then() {
    let mut run = Run::new(cfg());
    let g0 = run.b.generation();
    run.step(0, Ok);
    run.step(0, Fail);
    assert_eq!(run.b.generation(), g0);
    run.step(1, ForceOpen);
    assert_eq!(run.b.generation(), g0 + 1);
    run.step(60_001, Look);
    assert_eq!(run.b.generation(), g0 + 2);
}

#[test]
fn a_breaker_keeps_its_own_config() {
    let c = cfg().apply(&crate::config::ConfigPatch { failure_threshold: Some(9.0), ..Default::default() }).unwrap();
    assert_eq!(Breaker::new(c.clone(), 0).config(), &c);
}

/// The rules beyond the story's: the error-rate rule, the open backoff, isolation and restore.
#[path = "breaker_rules_tests.rs"]
mod rules;

/// Fleet sync's operations: remote open and close, and lease-gated HALF_OPEN.
#[path = "breaker_fleet_tests.rs"]
mod fleet;
