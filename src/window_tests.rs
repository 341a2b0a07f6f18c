//! Tests of the error-rate window.
use super::*;

/// The window's totals as seen at `now_ms`: advance, then read.
fn at(w: &mut Window, now_ms: u64) -> WindowTotals {
    w.advance(now_ms);
    w.totals()
}

#[test]
fn counts_within_the_window_and_forgets_after_it() {
    let mut w = Window::new(60_000);
    w.add(0, 3, 1);
    w.add(30_000, 0, 4);
    assert_eq!(at(&mut w, 30_000), WindowTotals { window_ms: 60_000, successes: 3, failures: 5, ratio: 5.0 / 8.0 });
    // At 59.999 s the first bucket is still inside; at 60 s it has left.
    assert_eq!(at(&mut w, 59_999).successes, 3);
    assert_eq!(at(&mut w, 60_000).successes, 0);
    assert_eq!(at(&mut w, 60_000).failures, 4);
    assert_eq!(at(&mut w, 90_000).failures, 0);
}

#[test]
fn only_failures_is_a_ratio_of_one() {
    let mut w = Window::new(60_000);
    w.add(0, 0, 3);
    assert_eq!(at(&mut w, 0).ratio, 1.0);
    assert_eq!(at(&mut Window::new(60_000), 0).ratio, 0.0);
}

#[test]
fn a_long_gap_clears_everything() {
    let mut w = Window::new(60_000);
    w.add(1_000, 10, 10);
    assert_eq!(at(&mut w, 10_000_000), WindowTotals { window_ms: 60_000, successes: 0, failures: 0, ratio: 0.0 });
    w.add(10_000_000, 1, 0);
    assert_eq!(at(&mut w, 10_000_000).successes, 1);
}

#[test]
fn older_times_count_in_the_newest_bucket() {
    let mut w = Window::new(60_000);
    w.add(50_000, 0, 1);
    w.add(10_000, 0, 1);
    assert_eq!(at(&mut w, 50_000).failures, 2);
}
