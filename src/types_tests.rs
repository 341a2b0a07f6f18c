//! Tests of the shared names: each has one spelling, the same in Rust, JSON and TypeScript.

use super::*;

#[test]
fn failure_and_state_names_are_the_documented_ones() {
    let names: Vec<_> = Failure::ALL.iter().map(|f| f.as_str()).collect();
    assert_eq!(names, ["error", "timeout", "network", "http_5xx", "rate_limited", "invalid_response"]);
    let states: Vec<_> = State::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(states, ["CLOSED", "OPEN", "HALF_OPEN"]);
}

#[test]
fn every_name_serializes_as_its_as_str() {
    fn check<T: serde::Serialize + Copy>(all: &[T], name: fn(T) -> &'static str) {
        for &v in all {
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::Value::from(name(v)));
        }
    }
    check(State::ALL, State::as_str);
    check(Failure::ALL, Failure::as_str);
    check(Reason::ALL, Reason::as_str);
    check(ErrorCode::ALL, ErrorCode::as_str);
}

#[test]
fn codes_are_places_in_all() {
    assert!(State::ALL.iter().enumerate().all(|(i, s)| s.code() == i));
    assert!(Failure::ALL.iter().enumerate().all(|(i, f)| f.code() == i));
}

#[test]
fn a_transition_event_is_flat_with_its_agent() {
    let t = Transition { from: State::Closed, to: State::Open, reason: Reason::FailureThreshold, at_ms: 5, consecutive_failures: 5 };
    let json = serde_json::to_value(AgentTransition { agent: "a".into(), transition: t }).unwrap();
    let want = serde_json::json!({"agent": "a", "from": "CLOSED", "to": "OPEN", "reason": "failure_threshold", "atMs": 5, "consecutiveFailures": 5});
    assert_eq!(json, want);
}
