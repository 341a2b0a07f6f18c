//! Tests of the clocks.
use super::*;

#[test]
fn manual_clock_moves_only_when_advanced() {
    let t = Arc::new(ManualTime::new(5));
    let c = Clock::Manual(t.clone());
    assert_eq!(c.now_ms(), 5);
    assert_eq!(t.advance(60_000), Some(60_005));
    assert_eq!(c.now_ms(), 60_005);
}

#[test]
fn manual_clock_refuses_to_pass_its_maximum_and_stays() {
    let t = ManualTime::new(MAX_MANUAL_MS - 10);
    assert_eq!(t.advance(11), None);
    assert_eq!(t.advance(u64::MAX), None);
    assert_eq!(t.now_ms(), MAX_MANUAL_MS - 10);
    assert_eq!(t.advance(10), Some(MAX_MANUAL_MS));
}

#[test]
fn monotonic_clock_never_goes_back() {
    let c = Clock::monotonic();
    let mut last = 0;
    for _ in 0..10_000 {
        let now = c.now_ms();
        assert!(now >= last);
        last = now;
    }
}
