//! The circuit breaker: one state machine, with time passed in as milliseconds on a monotonic clock.
//!
//! CLOSED opens on the `failure_threshold`-th consecutive failure. OPEN turns HALF_OPEN once
//! `open_timeout_ms` has passed, computed whenever anyone looks ([`Breaker::observe`]), so there are
//! no timers. HALF_OPEN admits at most `half_open_max_calls` probes at once; `success_threshold`
//! successes close it and any failure opens it again, as does a probe that has not reported within
//! `probe_timeout_ms` (so a probe that never ends cannot keep HALF_OPEN stuck). Every state change goes through
//! [`Breaker::transition`], which bumps the generation: outcomes carrying a permit of an older
//! generation are counted as late and change nothing.
//!
//! Fleet sync (several instances sharing one breaker per agent) adds three inputs, no rule:
//! [`Breaker::remote_open`] and [`Breaker::remote_close`] apply another instance's transition,
//! and [`Breaker::set_probe_leases`] gates HALF_OPEN so that only the lease holder probes.
//!
//! Permits are exact: each one issued by [`Breaker::acquire`] has a token that stays outstanding,
//! across transitions, until its one report; a second report finds no token and changes nothing.
//! The registry's fast path admits CLOSED calls without a token (token 0) and reports each once by
//! construction; those are counted in [`Breaker::fold_fast_path`] and settled against a counter.

use std::collections::HashMap;

use crate::config::Config;
use crate::metrics::Metrics;
pub use crate::types::{
    Failure, Outcome, Permit, Reason, Recorded, Rejected, Saved, State, Transition, GENERATION_MASK, MAX_OUTSTANDING,
    TOKEN_BITS, TOKEN_MASK,
};

/// One circuit breaker.
#[derive(Clone, Debug)]
pub struct Breaker {
    config: Config,
    state: State,
    since_ms: u64,
    generation: u32,
    consecutive_failures: u32,
    half_open_successes: u32,
    /// Tokens of the probes in flight and when each was admitted (HALF_OPEN only).
    probes: Vec<(u32, u64)>,
    /// Every permit issued with a token and not yet reported: token → generation.
    outstanding: HashMap<u32, u32>,
    last_token: u32,
    /// Calls admitted on the fast path (token 0) and not yet reported.
    untracked: u64,
    /// When the current OPEN episode began (CLOSED → OPEN), for the recovery time.
    opened_at_ms: Option<u64>,
    /// When the current OPEN period ends (fixed when it starts, backoff applied).
    open_until_ms: u64,
    /// Failed recoveries since the breaker last closed: the open backoff's step.
    backoff_step: u32,
    /// The `isolate()` holds not yet released, by token; while any is held the breaker stays OPEN.
    holds: Vec<u32>,
    last_hold: u32,
    /// Fleet sync's probe leases: `None` runs the local rules; `Some(n)` lets at most `n` more
    /// probes start in this recovery window (0 until the fleet grants this instance a lease).
    probe_leases: Option<u32>,
    metrics: Metrics,
}

impl Breaker {
    /// A CLOSED breaker with these settings, created at `now_ms`.
    pub fn new(config: Config, now_ms: u64) -> Self {
        let metrics = Metrics::new(config.error_rate_window_ms);
        Breaker {
            config,
            state: State::Closed,
            since_ms: now_ms,
            generation: 0,
            consecutive_failures: 0,
            half_open_successes: 0,
            probes: Vec::new(),
            outstanding: HashMap::new(),
            last_token: 0,
            untracked: 0,
            opened_at_ms: None,
            open_until_ms: 0,
            backoff_step: 0,
            holds: Vec::new(),
            last_hold: 0,
            probe_leases: None,
            metrics,
        }
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The state as stored, without looking at the clock; [`Breaker::observe`] first for the effective state.
    pub fn state(&self) -> State {
        self.state
    }

    /// When the current state began, in clock milliseconds.
    pub fn since_ms(&self) -> u64 {
        self.since_ms
    }

    /// The current generation: it changes on every transition.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// Failures in a row since the last success or close.
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// Successful probes so far in this HALF_OPEN period.
    pub fn half_open_successes(&self) -> u32 {
        self.half_open_successes
    }

    /// Probes admitted and not yet reported.
    pub fn probes_in_flight(&self) -> u32 {
        self.probes.len() as u32
    }

    /// Permits admitted and not yet reported, of any generation, fast path included.
    pub fn in_flight(&self) -> u64 {
        self.outstanding.len() as u64 + self.untracked
    }

    /// Failed recoveries since the breaker last closed (the open backoff's step).
    pub fn backoff_step(&self) -> u32 {
        self.backoff_step
    }

    /// Probes fleet sync still lets this instance start, or `None` under the local rules.
    pub fn probe_leases(&self) -> Option<u32> {
        self.probe_leases
    }

    /// The `isolate()` holds not yet released.
    pub fn isolations(&self) -> u32 {
        self.holds.len() as u32
    }

    /// How long the current (or next) OPEN period lasts, with the backoff applied.
    pub fn open_timeout_ms(&self) -> u64 {
        self.config.open_timeout_after(self.backoff_step)
    }

    /// The counts and history.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Drops the error-rate window's buckets that have left it by `now_ms`: the explicit step
    /// before a status is read at `now_ms` (reading needs no `&mut`).
    pub fn advance_window(&mut self, now_ms: u64) {
        self.metrics.window.advance(now_ms);
    }

    /// Counts calls the registry admitted on its fast path (token-0 permits), those of them that
    /// succeeded while the breaker stayed clean, and calls it rejected itself while OPEN.
    pub fn fold_fast_path(&mut self, now_ms: u64, admitted: u32, successes: u32, rejections: u32) {
        self.metrics.rejections += rejections as u64;
        self.metrics.admitted += admitted as u64;
        self.metrics.count_success(now_ms, successes);
        self.untracked = (self.untracked + admitted as u64).saturating_sub(successes as u64);
    }

    /// True when a call admitted now needs no bookkeeping on success: CLOSED with no failures pending.
    pub fn is_clean(&self) -> bool {
        self.state == State::Closed && self.consecutive_failures == 0
    }

    /// Milliseconds until an OPEN breaker turns HALF_OPEN (0 in other states). While isolated the
    /// breaker stays OPEN until released; this is then the open time, as a hint for retrying.
    pub fn open_remaining_ms(&self, now_ms: u64) -> u64 {
        match self.state {
            State::Open if !self.holds.is_empty() => self.open_timeout_ms(),
            State::Open => self.open_until_ms.saturating_sub(now_ms),
            _ => 0,
        }
    }

    /// Applies the time-driven rules, each dated at the moment its timeout ended: OPEN whose open
    /// timeout has passed becomes HALF_OPEN (unless isolated); HALF_OPEN with a probe older than
    /// the probe timeout becomes OPEN. Every public method calls this first. Deadlines saturate:
    /// they never wrap.
    pub fn observe(&mut self, now_ms: u64, events: &mut Vec<Transition>) -> State {
        let probe_timeout = self.config.probe_timeout_ms;
        loop {
            match self.state {
                State::Open if self.holds.is_empty() && now_ms >= self.open_until_ms => {
                    self.transition(State::HalfOpen, Reason::OpenTimeoutElapsed, self.open_until_ms, events);
                }
                State::HalfOpen => match self.probes.iter().map(|&(_, at)| at.saturating_add(probe_timeout)).min() {
                    Some(due) if now_ms >= due => self.transition(State::Open, Reason::ProbeTimedOut, due, events),
                    _ => return self.state,
                },
                _ => return self.state,
            }
        }
    }

    /// Asks to make one call: a permit, or the reason it is refused.
    pub fn acquire(&mut self, now_ms: u64, events: &mut Vec<Transition>) -> Result<Permit, Rejected> {
        let room = self.outstanding.len() < MAX_OUTSTANDING;
        let admitted = match self.observe(now_ms, events) {
            State::Closed if room => Some(self.next_token()),
            State::HalfOpen
                if room
                    && self.probes.len() < self.config.half_open_max_calls as usize
                    && self.probe_leases != Some(0) =>
            {
                self.probe_leases = self.probe_leases.map(|n| n - 1);
                let token = self.next_token();
                self.probes.push((token, now_ms));
                Some(token)
            }
            _ => None,
        };
        match admitted {
            Some(token) => {
                self.metrics.admitted += 1;
                Ok(Permit { generation: self.generation, token })
            }
            None => {
                self.metrics.rejections += 1;
                let isolated = !self.holds.is_empty();
                Err(Rejected { state: self.state, retry_after_ms: self.open_remaining_ms(now_ms), isolated })
            }
        }
    }

    /// A free token (1..=2^20-1), now outstanding; the caller has checked there is room.
    fn next_token(&mut self) -> u32 {
        loop {
            self.last_token = if self.last_token >= TOKEN_MASK { 1 } else { self.last_token + 1 };
            if !self.outstanding.contains_key(&self.last_token) {
                self.outstanding.insert(self.last_token, self.generation);
                return self.last_token;
            }
        }
    }

    /// Reports how the call holding `permit` ended. Each permit counts once: a stale one is late,
    /// a repeat (or a permit never issued) is ignored.
    pub fn record(&mut self, permit: Permit, outcome: Outcome, now_ms: u64, events: &mut Vec<Transition>) -> Recorded {
        self.observe(now_ms, events);
        if !self.take_permit(permit) {
            return Recorded::Ignored;
        }
        if permit.generation != self.generation {
            self.metrics.late_outcomes += 1;
            return Recorded::Late;
        }
        // Same generation: the permit was issued in the current state, CLOSED or HALF_OPEN.
        let state = self.state;
        match (outcome, state) {
            (Outcome::Released, _) => {
                self.metrics.released += 1;
                if state == State::HalfOpen {
                    // A probe that never reached the remote gives its lease back.
                    self.probe_leases = self.probe_leases.map(|n| n.saturating_add(1));
                }
            }
            (Outcome::Success, _) => {
                self.metrics.count_success(now_ms, 1);
                self.consecutive_failures = 0;
                if state == State::HalfOpen {
                    self.half_open_successes += 1;
                    if self.half_open_successes >= self.config.success_threshold {
                        self.transition(State::Closed, Reason::SuccessThreshold, now_ms, events);
                    }
                }
            }
            (Outcome::Failure(kind), _) => {
                self.metrics.count_failure(now_ms, kind);
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                let window = self.metrics.window.totals();
                if state == State::HalfOpen {
                    self.transition(State::Open, Reason::ProbeFailed, now_ms, events);
                } else if self.consecutive_failures >= self.config.failure_threshold {
                    self.transition(State::Open, Reason::FailureThreshold, now_ms, events);
                } else if self.config.error_rate_trips(window.successes + window.failures, window.failures) {
                    self.transition(State::Open, Reason::ErrorRateThreshold, now_ms, events);
                }
            }
        }
        Recorded::Counted
    }

    /// Takes `permit` off the outstanding ones (and its probe place); false if it was not outstanding.
    fn take_permit(&mut self, permit: Permit) -> bool {
        if permit.token == 0 {
            let outstanding = self.untracked > 0;
            self.untracked = self.untracked.saturating_sub(1);
            return outstanding;
        }
        if self.outstanding.get(&permit.token) != Some(&permit.generation) {
            return false;
        }
        self.outstanding.remove(&permit.token);
        if let Some(i) = self.probes.iter().position(|&(p, _)| p == permit.token) {
            self.probes.swap_remove(i);
        }
        true
    }

    /// Opens the breaker now, whatever its state; the open timeout starts again.
    pub fn force_open(&mut self, now_ms: u64, events: &mut Vec<Transition>) {
        self.observe(now_ms, events);
        self.transition(State::Open, Reason::ForcedOpen, now_ms, events);
    }

    /// Closes the breaker now and clears its consecutive counts and its `isolate()` holds;
    /// recorded as a transition. Permits still outstanding from `acquire` are abandoned (counted;
    /// their reports change nothing), so an operator's reset also clears permits a caller never
    /// reported.
    pub fn reset(&mut self, now_ms: u64, events: &mut Vec<Transition>) {
        self.observe(now_ms, events);
        self.metrics.abandoned += self.outstanding.len() as u64;
        self.outstanding.clear();
        self.holds.clear();
        self.transition(State::Closed, Reason::Reset, now_ms, events);
    }

    /// Holds the breaker OPEN, whatever the open timeout, until [`Breaker::end_isolation`] has been
    /// called with every token this returned (or a reset). The first hold opens it (`isolated`).
    pub fn isolate(&mut self, now_ms: u64, events: &mut Vec<Transition>) -> u32 {
        self.observe(now_ms, events);
        self.last_hold = self.last_hold.wrapping_add(1).max(1);
        self.holds.push(self.last_hold);
        if self.holds.len() == 1 {
            self.transition(State::Open, Reason::Isolated, now_ms, events);
        }
        self.last_hold
    }

    /// Releases the hold `token`; the last one closes the breaker (`isolation_ended`). False if
    /// the token is not held (already released, or cleared by a reset): nothing changes.
    pub fn end_isolation(&mut self, token: u32, now_ms: u64, events: &mut Vec<Transition>) -> bool {
        self.observe(now_ms, events);
        let Some(i) = self.holds.iter().position(|&h| h == token) else { return false };
        self.holds.swap_remove(i);
        if self.holds.is_empty() {
            self.transition(State::Closed, Reason::IsolationEnded, now_ms, events);
        }
        true
    }

    /// The breaker's state as [`Breaker::restore`] takes it (the caller has applied `observe`).
    pub fn saved(&self, now_ms: u64) -> Saved {
        Saved {
            state: self.state,
            generation: self.generation,
            open_remaining_ms: self.open_remaining_ms(now_ms),
            consecutive_failures: self.consecutive_failures,
            half_open_successes: self.half_open_successes,
            backoff_step: self.backoff_step,
        }
    }

    /// Puts the breaker in a saved state: the state (`restored`, with the remaining open time),
    /// the consecutive counts and the backoff step. Refused while isolated. The generation moves on
    /// locally, so permits issued before count as late.
    pub fn restore(&mut self, saved: &Saved, now_ms: u64, events: &mut Vec<Transition>) -> Result<(), &'static str> {
        self.observe(now_ms, events);
        if !self.holds.is_empty() {
            return Err("the breaker is held open by isolate(); release it (or reset) before restoring");
        }
        self.transition(saved.state, Reason::Restored, now_ms, events);
        self.backoff_step = saved.backoff_step;
        if saved.state == State::Open {
            self.open_until_ms = now_ms.saturating_add(saved.open_remaining_ms.min(self.open_timeout_ms()));
        }
        self.consecutive_failures = saved.consecutive_failures.min(crate::config::MAX_THRESHOLD);
        if saved.state == State::HalfOpen {
            self.half_open_successes = saved.half_open_successes.min(self.config.success_threshold.saturating_sub(1));
        }
        Ok(())
    }

    /// Fleet sync: another instance opened this agent's breaker, for `remaining_ms` more. OPEN
    /// for that long (`remote_open`; already OPEN, the end moves to match the fleet's), with no
    /// probe lease. Ignored while isolated: a hold outranks the fleet.
    pub fn remote_open(&mut self, remaining_ms: u64, now_ms: u64, events: &mut Vec<Transition>) {
        self.observe(now_ms, events);
        if !self.holds.is_empty() {
            return;
        }
        if self.state != State::Open {
            self.transition(State::Open, Reason::RemoteOpen, now_ms, events);
        }
        self.open_until_ms = now_ms.saturating_add(remaining_ms.min(crate::config::MAX_DURATION_MS));
        self.probe_leases = self.probe_leases.map(|_| 0);
    }

    /// Fleet sync: another instance closed this agent's breaker (`remote_close`). Ignored while
    /// isolated, or when already CLOSED.
    pub fn remote_close(&mut self, now_ms: u64, events: &mut Vec<Transition>) {
        self.observe(now_ms, events);
        if self.holds.is_empty() && self.state != State::Closed {
            self.transition(State::Closed, Reason::RemoteClose, now_ms, events);
        }
    }

    /// Fleet sync: HALF_OPEN may start at most `leases` more probes in this recovery window
    /// (`None`: the local rules, `halfOpenMaxCalls` at once). Every OPEN or CLOSED resets a
    /// number to 0, so a lease never carries over to the next window.
    pub fn set_probe_leases(&mut self, leases: Option<u32>, now_ms: u64, events: &mut Vec<Transition>) {
        self.observe(now_ms, events);
        self.probe_leases = leases;
    }

    /// The one place where the state changes.
    fn transition(&mut self, to: State, reason: Reason, at_ms: u64, events: &mut Vec<Transition>) {
        let from = self.state;
        match (from, to) {
            (State::Closed, State::Open) => self.opened_at_ms = Some(at_ms),
            (_, State::Closed) => {
                self.backoff_step = 0;
                let opened = self.opened_at_ms.take();
                if let (Reason::SuccessThreshold, Some(start)) = (reason, opened) {
                    self.metrics.recovery.record(at_ms - start);
                }
            }
            _ => {}
        }
        if matches!(reason, Reason::ProbeFailed | Reason::ProbeTimedOut) {
            // A failed recovery: the next OPEN period lasts longer (with a backoff set).
            self.backoff_step = self.backoff_step.saturating_add(1);
        }
        if to == State::Open {
            self.open_until_ms = at_ms.saturating_add(self.open_timeout_ms());
        }
        if to == State::Closed {
            self.consecutive_failures = 0;
        }
        if to != State::HalfOpen {
            // A recovery window ends: fleet sync's leases were for that window only.
            self.probe_leases = self.probe_leases.map(|_| 0);
        }
        self.state = to;
        self.since_ms = at_ms;
        self.generation = (self.generation + 1) & GENERATION_MASK;
        self.half_open_successes = 0;
        self.probes.clear();
        let t = Transition { from, to, reason, at_ms, consecutive_failures: self.consecutive_failures };
        self.metrics.count_transition(t);
        events.push(t);
    }
}

#[cfg(test)]
#[path = "breaker_tests.rs"]
mod tests;
