//! Model-based property test: random sequences of acquire / success / failure / release / advance /
//! force-open / reset / isolate / release-isolation run against the breaker and against a small
//! reference model written separately from it, straight from the rules in the issues (the
//! consecutive and error-rate rules, the open backoff, isolation). They must never diverge.

use crate::breaker::{Breaker, Failure, Outcome, Permit, Recorded, State};
use crate::config::{Config, ConfigPatch};
use proptest::prelude::*;

/// The reference model: the rules, written as plainly as possible.
#[derive(Debug)]
struct Model {
    failure_threshold: u32,
    success_threshold: u32,
    max_probes: usize,
    open_timeout: u64,
    probe_timeout: u64,
    /// The error-rate rule: threshold (0 off), minimum calls, and the window's bucket length.
    rate: f64,
    minimum_calls: u64,
    bucket_ms: u64,
    /// Every counted outcome: (bucket it fell in, was a failure).
    outcomes: Vec<(u64, bool)>,
    /// The open backoff: multiplier, maximum, and failed recoveries since the last close.
    multiplier: f64,
    open_max: u64,
    step: u32,
    /// `isolate()` holds: (token, still held).
    holds: Vec<(u32, bool)>,
    state: State,
    opened_at: u64,
    open_for: u64,
    consecutive: u32,
    successes: u32,
    /// Each issued permit: (epoch it belongs to, still outstanding, is a probe, admitted at).
    permits: Vec<(u64, bool, bool, u64)>,
    /// Bumped on every state change.
    epoch: u64,
}

impl Model {
    fn new(c: &Config) -> Self {
        Model {
            failure_threshold: c.failure_threshold,
            success_threshold: c.success_threshold,
            max_probes: c.half_open_max_calls as usize,
            open_timeout: c.open_timeout_ms,
            probe_timeout: c.probe_timeout_ms,
            rate: c.error_rate_threshold,
            minimum_calls: c.minimum_calls as u64,
            bucket_ms: c.error_rate_window_ms / 60,
            outcomes: vec![],
            multiplier: c.open_backoff_multiplier,
            open_max: c.open_timeout_max_ms,
            step: 0,
            holds: vec![],
            state: State::Closed,
            opened_at: 0,
            open_for: 0,
            consecutive: 0,
            successes: 0,
            permits: vec![],
            epoch: 0,
        }
    }

    fn enter(&mut self, s: State, at: u64) {
        self.state = s;
        self.epoch += 1;
        self.successes = 0;
        if s == State::Closed {
            self.consecutive = 0;
            self.step = 0;
        }
        if s == State::Open {
            // openTimeoutMs * multiplier^step, at most openTimeoutMaxMs.
            let grown = self.open_timeout as f64 * self.multiplier.powi(self.step as i32);
            self.open_for = if grown >= self.open_max as f64 { self.open_max } else { grown as u64 };
            self.opened_at = at;
        }
    }

    /// A failed recovery: HALF_OPEN back to OPEN, one backoff step further.
    fn reopen(&mut self, at: u64) {
        self.step += 1;
        self.enter(State::Open, at);
    }

    fn isolated(&self) -> bool {
        self.holds.iter().any(|h| h.1)
    }

    fn look(&mut self, now: u64) -> State {
        loop {
            if self.state == State::Open && !self.isolated() && now >= self.opened_at + self.open_for {
                let at = self.opened_at + self.open_for;
                self.enter(State::HalfOpen, at);
                continue;
            }
            // A probe that has not reported within the probe timeout reopens the breaker.
            let oldest = self.probes().map(|p| p.3).min();
            match oldest {
                Some(at) if self.state == State::HalfOpen && now >= at + self.probe_timeout => {
                    self.reopen(at + self.probe_timeout);
                }
                _ => return self.state,
            }
        }
    }

    /// (calls, failures) in the error-rate window at `now`: the 60 buckets up to now's.
    fn window(&self, now: u64) -> (u64, u64) {
        let newest = now / self.bucket_ms;
        let inside = self.outcomes.iter().filter(|o| o.0 + 60 > newest);
        inside.fold((0, 0), |(c, f), o| (c + 1, f + o.1 as u64))
    }

    fn probes(&self) -> impl Iterator<Item = &(u64, bool, bool, u64)> {
        self.permits.iter().filter(|p| p.0 == self.epoch && p.1 && p.2)
    }

    fn probes_out(&self) -> usize {
        self.probes().count()
    }

    /// Some(index of the new permit) or None when refused.
    fn acquire(&mut self, now: u64) -> Option<usize> {
        let ok = match self.look(now) {
            State::Closed => true,
            State::Open => false,
            State::HalfOpen => self.probes_out() < self.max_probes,
        };
        ok.then(|| {
            self.permits.push((self.epoch, true, self.state == State::HalfOpen, now));
            self.permits.len() - 1
        })
    }

    /// What became of the report: a permit counts once, in the epoch that issued it.
    fn settle(&mut self, i: usize, outcome: Outcome, now: u64) -> Recorded {
        self.look(now);
        let (epoch, outstanding, _, _) = self.permits[i];
        if !outstanding {
            return Recorded::Ignored;
        }
        self.permits[i].1 = false;
        if epoch != self.epoch {
            return Recorded::Late;
        }
        match outcome {
            Outcome::Released => {}
            Outcome::Success => {
                self.outcomes.push((now / self.bucket_ms, false));
                self.consecutive = 0;
                if self.state == State::HalfOpen {
                    self.successes += 1;
                    if self.successes >= self.success_threshold {
                        self.enter(State::Closed, now);
                    }
                }
            }
            Outcome::Failure(_) => {
                self.outcomes.push((now / self.bucket_ms, true));
                self.consecutive += 1;
                let (calls, failures) = self.window(now);
                let rate_trips = self.rate > 0.0 && calls >= self.minimum_calls && failures as f64 >= self.rate * calls as f64;
                if self.state == State::HalfOpen {
                    self.reopen(now);
                } else if self.consecutive >= self.failure_threshold || rate_trips {
                    self.enter(State::Open, now);
                }
            }
        }
        Recorded::Counted
    }

    fn in_flight(&self) -> u64 {
        self.permits.iter().filter(|p| p.1).count() as u64
    }
}

#[derive(Clone, Debug)]
enum Op {
    Acquire,
    Settle(usize, u8),
    Advance(u64),
    ForceOpen,
    Reset,
    Isolate,
    EndIsolation(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Acquire),
        6 => (any::<usize>(), 0u8..4).prop_map(|(i, o)| Op::Settle(i, o)),
        3 => (0u64..150).prop_map(Op::Advance),
        1 => Just(Op::ForceOpen),
        1 => Just(Op::Reset),
        1 => Just(Op::Isolate),
        1 => any::<usize>().prop_map(Op::EndIsolation),
    ]
}

fn outcome(o: u8) -> Outcome {
    match o {
        0 | 1 => Outcome::Success,
        2 => Outcome::Failure(Failure::Timeout),
        _ => Outcome::Released,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn breaker_follows_the_model(
        f in 1u32..6, s in 1u32..4, h in 1u32..4, timeout in 1u64..100,
        probe_timeout in 1u64..200,
        rate in prop_oneof![Just(0.0), (1u32..=4).prop_map(|k| k as f64 / 4.0)], minimum_calls in 1u32..8,
        multiplier in prop_oneof![Just(1.0), 1.0f64..4.0], open_max_extra in 0u64..400,
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        let patch = ConfigPatch {
            failure_threshold: Some(f as f64),
            success_threshold: Some(s as f64),
            half_open_max_calls: Some(h as f64),
            open_timeout_ms: Some(timeout as f64),
            probe_timeout_ms: Some(probe_timeout as f64),
            error_rate_threshold: Some(rate),
            minimum_calls: Some(minimum_calls as f64),
            error_rate_window_ms: Some(1_200.0), // 20 ms buckets: outcomes leave it within a run
            open_backoff_multiplier: Some(multiplier),
            open_timeout_max_ms: Some((timeout + open_max_extra) as f64),
            ..Default::default()
        };
        let config = Config::default().apply(&patch).unwrap();
        let mut model = Model::new(&config);
        let mut breaker = Breaker::new(config, 0);
        let mut permits: Vec<Permit> = vec![];
        let mut holds: Vec<u32> = vec![];
        let mut now = 0u64;
        let mut ev = vec![];
        for op in ops {
            match op {
                Op::Acquire => {
                    let m = model.acquire(now);
                    let b = breaker.acquire(now, &mut ev);
                    prop_assert_eq!(m.is_some(), b.is_ok(), "admission differs at {} ms", now);
                    if let Ok(p) = b { permits.push(p); }
                }
                Op::Settle(i, o) if !permits.is_empty() => {
                    let i = i % permits.len();
                    let m = model.settle(i, outcome(o), now);
                    let b = breaker.record(permits[i], outcome(o), now, &mut ev);
                    prop_assert_eq!(m, b, "settle of permit {} differs", i);
                }
                Op::Settle(..) => {}
                Op::Advance(ms) => now += ms,
                Op::ForceOpen => {
                    model.look(now);
                    model.enter(State::Open, now);
                    breaker.force_open(now, &mut ev);
                }
                Op::Reset => {
                    model.look(now);
                    model.permits.iter_mut().for_each(|p| p.1 = false); // reset abandons them
                    model.holds.iter_mut().for_each(|h| h.1 = false); // and ends isolation
                    model.enter(State::Closed, now);
                    breaker.reset(now, &mut ev);
                }
                Op::Isolate => {
                    model.look(now);
                    let first = !model.isolated();
                    let token = breaker.isolate(now, &mut ev);
                    model.holds.push((token, true));
                    if first {
                        model.enter(State::Open, now);
                    }
                    holds.push(token);
                }
                Op::EndIsolation(i) if !holds.is_empty() => {
                    let i = i % holds.len();
                    model.look(now);
                    let held = model.holds[i].1;
                    model.holds[i].1 = false;
                    if held && !model.isolated() {
                        model.enter(State::Closed, now);
                    }
                    prop_assert_eq!(breaker.end_isolation(holds[i], now, &mut ev), held, "release of hold {}", i);
                }
                Op::EndIsolation(_) => {}
            }
            prop_assert_eq!(model.look(now), breaker.observe(now, &mut ev));
            prop_assert_eq!(model.consecutive, breaker.consecutive_failures());
            prop_assert_eq!(model.successes, breaker.half_open_successes());
            prop_assert_eq!(model.in_flight(), breaker.in_flight());
            prop_assert_eq!(model.step, breaker.backoff_step());
            prop_assert_eq!(model.holds.iter().filter(|h| h.1).count() as u32, breaker.isolations());
            let m = breaker.metrics();
            let reported = m.successes + m.failures_total() + m.released + m.late_outcomes + m.abandoned;
            prop_assert_eq!(m.admitted, reported + breaker.in_flight());
            if model.state == State::HalfOpen {
                prop_assert_eq!(model.probes_out() as u32, breaker.probes_in_flight());
                prop_assert!(breaker.probes_in_flight() <= h);
            }
        }
        // Every transition the breaker reported is one the model also made, in count.
        prop_assert_eq!(ev.len() as u64, model.epoch);
    }
}
