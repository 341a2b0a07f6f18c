//! Tests of the boundary encodings: permits, outcomes and rejections.

use super::*;

#[test]
fn outcome_codes_name_success_release_and_every_failure_kind() {
    assert_eq!(decode_outcome(OUTCOME_SUCCESS as u64), Some(Outcome::Success));
    assert_eq!(decode_outcome(OUTCOME_RELEASED as u64), Some(Outcome::Released));
    for (i, &f) in Failure::ALL.iter().enumerate() {
        assert_eq!(decode_outcome(OUTCOME_FAILURE as u64 + i as u64), Some(Outcome::Failure(f)));
    }
    assert_eq!(decode_outcome(OUTCOME_FAILURE as u64 + Failure::ALL.len() as u64), None);
    assert_eq!(decode_outcome(u32::MAX as u64 + 2), None);
}

#[test]
fn rejections_round_trip_with_their_state_and_wait() {
    for (state, isolated) in [(State::Open, false), (State::HalfOpen, false), (State::Closed, false), (State::Open, true)] {
        for retry_after_ms in [0, 1, 59_999, 86_400_000] {
            let r = Rejected { state, retry_after_ms, isolated };
            assert!(encode_rejection(r) < 0.0);
            assert_eq!(decode_rejection(encode_rejection(r)), r);
        }
    }
}

#[test]
fn publishing_and_taking_pending_counts_touch_only_their_slot() {
    let w = Words::new(2);
    w.set_slot_word(1, PENDING_ADMITTED, 3);
    w.set_slot_word(1, PENDING_REJECTIONS, 2);
    assert_eq!(w.take_pending(0), Pending::default());
    assert_eq!(w.take_pending(1), Pending { admitted: 3, successes: 0, rejections: 2 });
    assert!(w.take_pending(1).is_empty());
    w.set_pending_events(usize::MAX);
    assert_eq!(w.pending_events(), i32::MAX);
}

#[test]
fn permits_encode_as_safe_javascript_integers() {
    let p = Permit { generation: crate::types::GENERATION_MASK, token: (1 << TOKEN_BITS) - 1 };
    assert!(p.encode() < (1u64 << 53));
    assert_eq!(Permit::decode(p.encode()), Some(p));
    assert_eq!(Permit::decode(1u64 << 52), None);
    assert_eq!(Permit::decode(5 << TOKEN_BITS), Some(Permit { generation: 5, token: 0 }));
}
