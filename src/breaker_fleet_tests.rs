//! Table-driven tests of fleet sync's operations on one breaker: a remote OPEN lasts the fleet's
//! remaining time and ends by itself, a remote CLOSE closes, and HALF_OPEN under leases starts no
//! probe without one and never more than it was granted.

use super::*;

#[test]
fn a_remote_open_lasts_the_remaining_time_and_expires_by_itself() {
    // Opened remotely with 700 ms left, whatever the local openTimeoutMs (60 s).
    let run = Run::table(cfg(), &[(0, Ok, Closed), (100, RemoteOpen(700), Open), (799, Refused, Open), (800, Look, HalfOpen), (800, Ok, HalfOpen)]);
    let t = run.events[0];
    assert_eq!((t.from, t.to, t.reason, t.at_ms), (Closed, Open, Reason::RemoteOpen, 100));
    assert_eq!(run.events[1].reason, Reason::OpenTimeoutElapsed);
    assert_eq!(run.events[1].at_ms, 800);
}

#[test]
fn a_remote_open_of_an_open_breaker_moves_its_end_without_a_transition() {
    let run = Run::table(cfg(), &[(0, ForceOpen, Open), (10, RemoteOpen(50), Open), (59, Refused, Open), (60, Look, HalfOpen)]);
    assert_eq!(run.events.iter().filter(|t| t.reason == Reason::RemoteOpen).count(), 0);
}

#[test]
fn a_remote_open_makes_outstanding_permits_late() {
    let mut run = Run::table(cfg(), &[(0, Hold, Closed), (1, RemoteOpen(1_000), Open)]);
    assert_eq!(run.b.record(run.held[0], ERR, 2, &mut run.events), Recorded::Late);
}

#[test]
fn a_remote_close_closes_open_and_half_open_and_leaves_closed_alone() {
    let run = Run::table(cfg(), &[(0, ForceOpen, Open), (1, RemoteClose, Closed), (2, RemoteClose, Closed)]);
    assert_eq!(run.events.iter().filter(|t| t.reason == Reason::RemoteClose).count(), 1);
    let run = Run::table(cfg(), &[(0, RemoteOpen(10), Open), (10, Look, HalfOpen), (11, RemoteClose, Closed), (12, Ok, Closed)]);
    assert_eq!(run.events.last().unwrap().reason, Reason::RemoteClose);
}

#[test]
fn an_isolated_breaker_ignores_the_fleet() {
    let mut run = Run::new(cfg());
    run.b.isolate(0, &mut run.events);
    run.step(1, RemoteClose);
    run.step(2, RemoteOpen(0));
    run.step(3, Look);
    assert_eq!(run.b.state(), Open);
    assert_eq!(run.events.len(), 1, "only the isolation: {:?}", run.events);
}

#[test]
fn half_open_without_a_lease_starts_no_probe() {
    Run::table(cfg(), &[(0, Leases(Some(0)), Closed), (0, RemoteOpen(10), Open), (10, Refused, HalfOpen), (20, Refused, HalfOpen)]);
}

#[test]
fn a_lease_of_two_lets_two_probes_start_in_the_window_and_no_third() {
    // successThreshold 3 with 2 leases: the two succeed, the third call is refused, not probed.
    let c = cfg().apply(&crate::config::ConfigPatch { success_threshold: Some(3.0), half_open_max_calls: Some(3.0), ..Default::default() }).unwrap();
    Run::table(c, &[(0, RemoteOpen(10), Open), (5, Leases(Some(2)), Open), (10, Ok, HalfOpen), (11, Ok, HalfOpen), (12, Refused, HalfOpen)]);
}

#[test]
fn leases_end_with_the_window_and_a_released_probe_gives_its_lease_back() {
    // Two leases; the success threshold (2) closes; the next window starts with none.
    Run::table(cfg(), &[(0, RemoteOpen(10), Open), (0, Leases(Some(2)), Open), (10, Ok, HalfOpen), (11, Ok, Closed), (12, ForceOpen, Open), (60_012, Refused, HalfOpen)]);
    // One lease, taken by a probe that is released (never reached the remote): it can be used again.
    Run::table(
        cfg(),
        &[(0, RemoteOpen(10), Open), (0, Leases(Some(1)), Open), (10, Hold, HalfOpen), (11, Refused, HalfOpen), (12, Settle(0, Outcome::Released), HalfOpen), (13, Ok, HalfOpen)],
    );
}

#[test]
fn a_failed_probe_under_leases_reopens_with_none() {
    Run::table(cfg(), &[(0, RemoteOpen(10), Open), (0, Leases(Some(2)), Open), (10, Fail, Open), (60_010, Refused, HalfOpen)]);
}

#[test]
fn local_rules_again_when_the_leases_are_lifted() {
    Run::table(cfg(), &[(0, Leases(Some(0)), Closed), (0, RemoteOpen(10), Open), (10, Refused, HalfOpen), (11, Leases(None), HalfOpen), (12, Ok, HalfOpen), (13, Ok, Closed)]);
}
