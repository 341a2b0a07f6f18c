//! Table-driven tests of the optional rules: the error-rate rule, the open backoff, `isolate()`
//! and `restore()`.

use super::*;
use crate::config::ConfigPatch;

fn with(patch: ConfigPatch) -> Config {
    Config::default().apply(&patch).unwrap()
}

fn rate(threshold: f64, minimum_calls: f64) -> Config {
    with(ConfigPatch {
        failure_threshold: Some(100.0),
        error_rate_threshold: Some(threshold),
        minimum_calls: Some(minimum_calls),
        ..Default::default()
    })
}

#[test]
fn the_error_rate_rule_opens_once_the_window_holds_minimum_calls() {
    // 3 failures in 3 calls: below minimumCalls (4). The success makes 4 calls; the next failure
    // (4 of 5) is judged and opens.
    let run = Run::table(rate(0.5, 4.0), &[(0, Fail, Closed), (1, Fail, Closed), (2, Fail, Closed), (3, Ok, Closed), (4, Fail, Open)]);
    let t = *run.events.last().unwrap();
    assert_eq!((t.from, t.to, t.reason), (Closed, Open, Reason::ErrorRateThreshold));
}

#[test]
fn the_error_rate_rule_opens_at_the_threshold_not_below_it() {
    Run::table(rate(0.5, 4.0), &[(0, Ok, Closed), (1, Ok, Closed), (2, Ok, Closed), (3, Fail, Closed), (4, Fail, Closed), (5, Fail, Open)]);
}

#[test]
fn the_error_rate_rule_is_off_by_default_and_the_consecutive_rule_still_applies() {
    let steps: Vec<_> = (0..4).map(|t| (t, Fail, Closed)).chain([(4, Fail, Open)]).collect();
    Run::table(cfg(), &steps);
    // With the rate rule on, the consecutive rule still opens first when it is reached first.
    let c = with(ConfigPatch { failure_threshold: Some(2.0), error_rate_threshold: Some(0.9), minimum_calls: Some(10.0), ..Default::default() });
    let run = Run::table(c, &[(0, Fail, Closed), (1, Fail, Open)]);
    assert_eq!(run.events[0].reason, Reason::FailureThreshold);
}

#[test]
fn failures_that_left_the_window_do_not_count_toward_the_rate() {
    // Window 60 s: three failures at t=0 leave it by t=60 s; then 1 failure in 4 calls is 25 %.
    let steps = [(0, Fail, Closed), (0, Fail, Closed), (0, Fail, Closed), (60_000, Ok, Closed), (60_001, Ok, Closed), (60_002, Ok, Closed), (60_003, Fail, Closed)];
    Run::table(rate(0.5, 4.0), &steps);
}

fn backoff() -> Config {
    with(ConfigPatch {
        failure_threshold: Some(1.0),
        success_threshold: Some(1.0),
        open_timeout_ms: Some(100.0),
        probe_timeout_ms: Some(1_000.0),
        open_backoff_multiplier: Some(2.0),
        open_timeout_max_ms: Some(350.0),
        ..Default::default()
    })
}

#[test]
fn each_failed_recovery_multiplies_the_open_time_up_to_the_maximum_and_closing_resets_it() {
    let run = Run::table(
        backoff(),
        &[
            (0, Fail, Open),       // open 100 ms
            (100, Fail, Open),     // the probe fails: open 200 ms
            (299, Look, Open),
            (300, Fail, Open),     // fails again: 400 ms, capped at 350
            (649, Look, Open),
            (650, Ok, Closed),     // recovers: the step is back to 0
            (651, Fail, Open),     // open 100 ms again
            (750, Look, Open),
            (751, Look, HalfOpen),
        ],
    );
    assert_eq!(run.b.backoff_step(), 0);
}

#[test]
fn a_probe_that_times_out_counts_as_a_failed_recovery() {
    let mut run = Run::table(backoff(), &[(0, Fail, Open), (100, Hold, HalfOpen), (1_100, Look, Open)]);
    assert_eq!((run.b.backoff_step(), run.b.open_timeout_ms()), (1, 200));
    run.step(1_299, Look);
    assert_eq!(run.b.state(), Open);
    run.step(1_300, Look);
    assert_eq!(run.b.state(), HalfOpen);
}

#[test]
fn without_a_multiplier_the_open_time_never_grows() {
    let c = with(ConfigPatch { failure_threshold: Some(1.0), open_timeout_ms: Some(100.0), ..Default::default() });
    let run = Run::table(c, &[(0, Fail, Open), (100, Fail, Open), (200, Fail, Open), (299, Look, Open), (300, Look, HalfOpen)]);
    assert_eq!(run.b.open_timeout_ms(), 100);
}

#[test]
fn isolate_holds_the_breaker_open_until_every_hold_is_released() {
    let mut run = Run::new(cfg());
    let (a, b) = (run.b.isolate(0, &mut run.events), run.b.isolate(1, &mut run.events));
    assert_eq!((run.b.state(), run.b.isolations(), run.events.len()), (Open, 2, 1));
    assert_eq!(run.events[0].reason, Reason::Isolated);
    run.step(10_000_000, Refused);
    let no = run.b.acquire(10_000_000, &mut run.events).unwrap_err();
    assert_eq!((no.state, no.isolated, no.retry_after_ms), (Open, true, 60_000));
    assert!(run.b.end_isolation(a, 10_000_001, &mut run.events));
    assert!(!run.b.end_isolation(a, 10_000_001, &mut run.events), "a hold is released once");
    run.step(10_000_002, Refused);
    assert!(run.b.end_isolation(b, 10_000_003, &mut run.events));
    let t = *run.events.last().unwrap();
    assert_eq!((run.b.state(), t.from, t.to, t.reason), (Closed, Open, Closed, Reason::IsolationEnded));
    run.step(10_000_004, Ok);
}

#[test]
fn force_open_keeps_the_isolation_and_reset_ends_it() {
    let mut run = Run::new(cfg());
    let hold = run.b.isolate(0, &mut run.events);
    run.step(1, ForceOpen);
    run.step(1_000_000, Look);
    assert_eq!(run.b.state(), Open, "still held after the open timeout");
    run.step(1_000_001, Reset);
    assert_eq!((run.b.state(), run.b.isolations()), (Closed, 0));
    assert!(!run.b.end_isolation(hold, 1_000_002, &mut run.events), "a reset cleared the hold");
    assert_eq!(run.b.state(), Closed);
}

#[test]
fn a_saved_open_state_restores_with_its_remaining_time() {
    let mut a = Run::table(cfg(), &[(0, Fail, Closed), (1, Fail, Closed), (2, Fail, Closed), (3, Fail, Closed), (4, Fail, Open)]);
    a.step(30_004, Look);
    let saved = a.b.saved(30_004);
    assert_eq!((saved.state, saved.open_remaining_ms, saved.consecutive_failures), (Open, 30_000, 5));
    let mut b = Run::table(cfg(), &[(1_000, Hold, Closed)]);
    b.b.restore(&saved, 1_000, &mut b.events).unwrap();
    assert_eq!((b.b.state(), b.b.open_remaining_ms(1_000), b.events[0].reason), (Open, 30_000, Reason::Restored));
    b.step(30_999, Look);
    assert_eq!(b.b.state(), Open);
    b.step(31_000, Look);
    assert_eq!(b.b.state(), HalfOpen);
    // The permit held before the restore belongs to an older generation: late, not counted.
    assert_eq!(b.b.record(b.held[0], ERR, 31_000, &mut b.events), Recorded::Late);
}

#[test]
fn restore_applies_counts_and_the_backoff_step_and_is_refused_while_isolated() {
    let saved = Saved { state: Closed, generation: 9, open_remaining_ms: 0, consecutive_failures: 3, half_open_successes: 0, backoff_step: 0 };
    let mut run = Run::new(cfg());
    run.b.restore(&saved, 0, &mut run.events).unwrap();
    run.step(1, Fail);
    assert_eq!(run.b.state(), Closed);
    run.step(2, Fail);
    assert_eq!(run.b.state(), Open, "3 restored + 2 = the threshold");
    let mut b = Run::new(backoff());
    let open = Saved { state: Open, generation: 0, open_remaining_ms: 10_000, consecutive_failures: 1, half_open_successes: 0, backoff_step: 2 };
    b.b.restore(&open, 0, &mut b.events).unwrap();
    assert_eq!((b.b.open_timeout_ms(), b.b.open_remaining_ms(0)), (350, 350), "the remaining time is at most the open time");
    b.b.isolate(1, &mut b.events);
    assert!(b.b.restore(&saved, 2, &mut b.events).is_err());
    assert_eq!(b.b.state(), Open);
}

#[test]
fn a_restored_count_is_bounded_and_never_wraps() {
    let c = with(ConfigPatch { failure_threshold: Some(3.0), ..Default::default() });
    let saved = Saved { state: Closed, generation: 0, open_remaining_ms: 0, consecutive_failures: u32::MAX, half_open_successes: 0, backoff_step: 0 };
    let mut run = Run::new(c);
    run.b.restore(&saved, 0, &mut run.events).unwrap();
    assert_eq!(run.b.consecutive_failures(), crate::config::MAX_THRESHOLD);
    run.step(1, Fail);
    assert_eq!(run.b.state(), Open, "the next failure opens: the count did not wrap to 0");
}
