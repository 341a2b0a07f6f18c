//! Tests of the registry: ids, bounds, the words it publishes, draining, the metrics table.
use super::*;
use crate::clock::ManualTime;
use crate::types::Failure;
use crate::words::{FAST, PENDING_ADMITTED, PENDING_SUCCESSES, STATE};

fn max(n: usize) -> MaxAgents {
    MaxAgents::new(Some(n as f64)).unwrap()
}

fn manual() -> (Registry, Arc<ManualTime>) {
    let t = Arc::new(ManualTime::new(0));
    (Registry::new(Config::default(), max(3), Clock::Manual(t.clone())), t)
}

fn fail(r: &mut Registry, slot: usize) {
    let p = r.acquire(slot).unwrap();
    r.record(slot, p, Outcome::Failure(Failure::Timeout));
}

#[test]
fn ids_are_checked() {
    let (mut r, _) = manual();
    for (id, code) in [("", "ERR_INVALID_AGENT_ID"), ("a\0b", "ERR_INVALID_AGENT_ID"), (&"x".repeat(129), "ERR_INVALID_AGENT_ID")] {
        assert_eq!(r.add(id, &ConfigPatch::default()).unwrap_err().code().as_str(), code);
    }
    assert!(r.add(&"é".repeat(128), &ConfigPatch::default()).is_ok());
    assert_eq!(r.add(&"é".repeat(128), &ConfigPatch::default()).unwrap_err().code().as_str(), "ERR_AGENT_EXISTS");
}

#[test]
fn the_registry_is_bounded_and_evicts_nothing() {
    let (mut r, _) = manual();
    for id in ["a", "b", "c"] {
        r.add(id, &ConfigPatch::default()).unwrap();
    }
    let err = r.add("d", &ConfigPatch::default()).unwrap_err();
    assert_eq!(err.code().as_str(), "ERR_TOO_MANY_AGENTS");
    assert!(err.to_string().contains("maxAgents = 3"));
    assert_eq!(r.ids(), ["a", "b", "c"]);
}

#[test]
fn unknown_ids_name_the_known_ones() {
    let (mut r, _) = manual();
    r.add("amazon", &ConfigPatch::default()).unwrap();
    let err = r.slot_of("amazom").unwrap_err();
    assert_eq!(err.code().as_str(), "ERR_UNKNOWN_AGENT");
    assert_eq!(err.to_string(), "unknown agent \"amazom\": known agents are \"amazon\"; add(\"amazom\") creates one");
}

#[test]
fn agents_are_isolated() {
    let (mut r, _) = manual();
    let a = r.add("a", &ConfigPatch::default()).unwrap() as usize;
    let b = r.add("b", &ConfigPatch { failure_threshold: Some(1.0), ..Default::default() }).unwrap() as usize;
    (0..4).for_each(|_| fail(&mut r, a));
    assert_eq!(r.observe(a).0, State::Closed);
    fail(&mut r, b);
    assert_eq!((r.observe(a).0, r.observe(b).0), (State::Closed, State::Open));
}

#[test]
fn words_publish_the_fast_path_and_state() {
    let (mut r, t) = manual();
    let s = r.add("a", &ConfigPatch::default()).unwrap() as usize;
    let w = r.words();
    assert_eq!((w.slot_word(s, FAST), w.slot_word(s, STATE)), (0, 0));
    fail(&mut r, s);
    assert_eq!(w.slot_word(s, FAST), -1, "a pending failure needs the slow path");
    r.force_open(s);
    assert_eq!((w.slot_word(s, FAST), w.slot_word(s, STATE)), (-1, 1));
    t.advance(60_000);
    assert_eq!(r.observe(s), (State::HalfOpen, 0));
    assert_eq!(w.slot_word(s, STATE), 2);
    r.reset(s);
    assert_eq!(w.slot_word(s, FAST), r.breakers[s].generation() as i32);
}

#[test]
fn fast_path_counts_are_folded_in() {
    let (mut r, _) = manual();
    let s = r.add("a", &ConfigPatch::default()).unwrap() as usize;
    let w = r.words();
    w.set_slot_word(s, PENDING_ADMITTED, 7);
    w.set_slot_word(s, PENDING_SUCCESSES, 6);
    let snap = r.snapshot(s);
    assert_eq!((snap.calls.admitted, snap.calls.successes, snap.error_rate.successes), (7, 6, 6));
    assert_eq!(w.slot_word(s, PENDING_ADMITTED), 0);
    // A call admitted on the fast path and still in flight is counted as admitted too.
    w.set_slot_word(s, PENDING_ADMITTED, 1);
    r.flush(s);
    assert_eq!(w.slot_word(s, PENDING_ADMITTED), 0);
    assert_eq!(r.snapshot(s).calls.admitted, 8);
}

#[test]
fn transitions_wait_to_be_drained_with_their_agent() {
    let (mut r, t) = manual();
    let s = r.add("shein", &ConfigPatch::default()).unwrap() as usize;
    r.force_open(s);
    t.advance(60_000);
    r.snapshot_all();
    assert_eq!(r.words().pending_events(), 2);
    let events = r.drain_events();
    let seen: Vec<_> = events.iter().map(|e| (e.agent.as_str(), e.transition.to)).collect();
    assert_eq!(seen, [("shein", State::Open), ("shein", State::HalfOpen)]);
    assert_eq!(r.words().pending_events(), 0);
}

#[test]
fn every_transition_waits_to_be_drained_none_is_dropped() {
    let (mut r, _) = manual();
    let s = r.add("a", &ConfigPatch::default()).unwrap() as usize;
    for _ in 0..5_000 {
        r.force_open(s);
    }
    let events = r.drain_events();
    assert_eq!(events.len(), 5_000);
    assert_eq!((events[0].transition.from, events[4_999].transition.from), (State::Closed, State::Open));
}

#[test]
fn the_metrics_table_matches_the_snapshots() {
    let (mut r, t) = manual();
    let a = r.add("a", &ConfigPatch::default()).unwrap() as usize;
    r.add("b", &ConfigPatch::default()).unwrap();
    fail(&mut r, a);
    r.force_open(a);
    t.advance(1_000);
    let table = r.metrics_table();
    let cols = crate::table::column_names();
    assert_eq!(table.len(), 2 * cols.len());
    let at = |row: usize, name: &str| table[row * cols.len() + cols.iter().position(|c| *c == name).unwrap()];
    let snap = r.snapshot(a);
    assert_eq!(at(0, "state"), 1.0);
    assert_eq!(at(0, "openRemainingMs"), snap.open_remaining_ms as f64);
    assert_eq!(at(0, "failures:timeout"), 1.0);
    assert_eq!(at(0, "transitions:CLOSED->OPEN"), 1.0);
    assert_eq!(at(0, "lastFailure:reason"), Failure::Timeout as usize as f64);
    assert!(at(0, "recovery:lastMs").is_nan());
    assert_eq!(at(1, "state"), 0.0);
    assert!(at(1, "lastFailure:atMs").is_nan());
}

#[test]
fn an_unknown_id_lists_at_most_ten_known_ids() {
    let mut r = Registry::new(Config::default(), max(20), Clock::monotonic());
    for i in 0..12 {
        r.add(&format!("a{i}"), &ConfigPatch::default()).unwrap();
    }
    let msg = r.slot_of("zz").unwrap_err().to_string();
    assert!(msg.contains("\"a9\" and 2 more"), "{msg}");
    assert!(!msg.contains("\"a10\""), "{msg}");
    let empty = Registry::new(Config::default(), max(1), Clock::monotonic());
    assert!(empty.slot_of("x").unwrap_err().to_string().contains("known agents are none"));
}

#[test]
fn the_words_table_has_a_header_and_stride_words_per_slot() {
    let (r, _) = manual();
    let w = r.words();
    assert_eq!(w.len(), crate::words::HEADER + 3 * crate::words::STRIDE);
}

#[test]
fn defaults_and_clock_are_the_registrys() {
    let c = Config::default().apply(&ConfigPatch { open_timeout_ms: Some(5.0), ..Default::default() }).unwrap();
    let t = Arc::new(ManualTime::new(42));
    let r = Registry::new(c.clone(), max(1), Clock::Manual(t.clone()));
    assert_eq!(r.defaults(), &c);
    assert_eq!(r.now_ms(), 42);
    t.advance(8);
    assert_eq!(r.now_ms(), 50);
}

#[test]
fn snapshots_list_only_transitions_that_happened() {
    let (mut r, _) = manual();
    let s = r.add("a", &ConfigPatch::default()).unwrap() as usize;
    assert!(r.snapshot(s).transitions.is_empty());
    r.force_open(s);
    let t = r.snapshot(s).transitions;
    assert_eq!(t.len(), 1);
    assert_eq!((t[0].from, t[0].to, t[0].count), (State::Closed, State::Open, 1));
}

#[test]
fn slot_numbers_from_javascript_are_checked() {
    let (mut r, _) = manual();
    r.add("a", &ConfigPatch::default()).unwrap();
    r.add("b", &ConfigPatch::default()).unwrap();
    assert_eq!((r.check_slot(0.0), r.check_slot(1.0)), (Ok(0), Ok(1)));
    for bad in [2.0, 3.0, -1.0, -0.5, 0.5, 1.5, f64::NAN, f64::INFINITY, 1e300] {
        assert_eq!(r.check_slot(bad).unwrap_err().code().as_str(), "ERR_INVALID_ARG", "{bad}");
    }
}

#[test]
fn each_slot_has_its_own_words() {
    let (mut r, _) = manual();
    let a = r.add("a", &ConfigPatch::default()).unwrap() as usize;
    let b = r.add("b", &ConfigPatch::default()).unwrap() as usize;
    let w = r.words();
    w.set_slot_word(b, PENDING_SUCCESSES, 3);
    w.set_slot_word(b, PENDING_ADMITTED, 3);
    r.force_open(b);
    assert_eq!((w.slot_word(a, STATE), w.slot_word(b, STATE)), (0, 1));
    assert_eq!((w.slot_word(a, FAST), w.slot_word(b, FAST)), (0, -1));
    assert_eq!((r.snapshot(a).calls.successes, r.snapshot(b).calls.successes), (0, 3));
    assert_eq!(w.slot_word(b, PENDING_SUCCESSES), 0);
}

#[test]
fn max_agents_is_checked() {
    let err = RegistryError::from(MaxAgents::new(Some(0.0)).unwrap_err());
    assert_eq!(err.code().as_str(), "ERR_CIRCUIT_CONFIG");
}

#[test]
fn eight_threads_one_million_operations_exact_counts_and_no_broken_invariant() {
    let time = Arc::new(ManualTime::new(0));
    let patch = ConfigPatch { failure_threshold: Some(3.0), open_timeout_ms: Some(5.0), ..Default::default() };
    let mut registry = Registry::new(Config::default(), max(1), Clock::Manual(time.clone()));
    registry.add("a", &patch).unwrap();
    let shared = Arc::new(parking_lot::Mutex::new(registry));
    let barrier = Arc::new(std::sync::Barrier::new(8));
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let (shared, barrier, time) = (shared.clone(), barrier.clone(), time.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let (mut admitted, mut rejected, mut failures) = (0u64, 0u64, 0u64);
                for i in 0..125_000u64 {
                    if t == 0 && i % 50 == 0 {
                        time.advance(1);
                    }
                    let permit = shared.lock().acquire(0);
                    let Ok(p) = permit else {
                        rejected += 1;
                        continue;
                    };
                    admitted += 1;
                    let probes = shared.lock().breakers[0].probes_in_flight();
                    assert!(probes <= 2, "HALF_OPEN admitted {probes} probes");
                    let outcome = if (i / 10 + t) % 4 == 0 {
                        failures += 1;
                        Outcome::Failure(Failure::Error)
                    } else {
                        Outcome::Success
                    };
                    shared.lock().record(0, p, outcome);
                }
                (admitted, rejected, failures)
            })
        })
        .collect();
    let (mut admitted, mut rejected, mut failures) = (0, 0, 0);
    for t in threads {
        let (a, r, f) = t.join().unwrap();
        admitted += a;
        rejected += r;
        failures += f;
    }
    let s = shared.lock().snapshot(0);
    assert_eq!(admitted + rejected, 1_000_000);
    assert_eq!((s.calls.admitted, s.calls.rejections), (admitted, rejected));
    // Every admitted call was reported once: counted, or late because the generation moved on.
    assert_eq!(s.calls.successes + s.calls.failures + s.calls.released + s.calls.late_outcomes, admitted);
    assert_eq!(s.calls.in_flight, 0);
    assert!(s.calls.failures <= failures);
    assert_eq!(s.probes_in_flight, 0);
    assert!(s.transitions.iter().any(|t| t.from == State::Closed && t.to == State::Open), "the test should trip the breaker");
}
