//! A bounded set of breakers, one per agent id, sharing a clock and the words table JavaScript
//! reads for its fast path ([`crate::words`]). Every operation on a slot folds in the fast path's
//! counts first, and republishes the slot's words and keeps its transitions after.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use crate::breaker::Breaker;
use crate::clock::Clock;
use crate::config::{check_id, Config, ConfigPatch, MaxAgents};
pub use crate::error::RegistryError;
use crate::snapshot::Snapshot;
use crate::types::{AgentTransition, Outcome, Permit, Recorded, Rejected, Saved, State, Transition};
use crate::words::Words;

/// Breakers by agent id, bounded, with one clock.
#[derive(Debug)]
pub struct Registry {
    defaults: Config,
    max_agents: usize,
    clock: Clock,
    ids: Vec<Arc<str>>,
    breakers: Vec<Breaker>,
    index: HashMap<Arc<str>, u32>,
    words: Arc<Words>,
    events: VecDeque<(u32, Transition)>,
    scratch: Vec<Transition>,
}

impl Registry {
    /// An empty registry for at most `max_agents` breakers.
    pub fn new(defaults: Config, max_agents: MaxAgents, clock: Clock) -> Self {
        let max_agents = max_agents.get();
        Registry {
            defaults,
            max_agents,
            clock,
            ids: Vec::new(),
            breakers: Vec::new(),
            index: HashMap::new(),
            words: Arc::new(Words::new(max_agents)),
            events: VecDeque::new(),
            scratch: Vec::new(),
        }
    }

    /// The shared words table.
    pub fn words(&self) -> Arc<Words> {
        self.words.clone()
    }

    /// The settings new breakers start from.
    pub fn defaults(&self) -> &Config {
        &self.defaults
    }

    /// The agent ids, in the order they were added (slot order).
    pub fn ids(&self) -> Vec<String> {
        self.ids.iter().map(|id| id.to_string()).collect()
    }

    /// The clock reading now.
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Adds a breaker for `id` with the defaults and `patch` applied; returns its slot.
    pub fn add(&mut self, id: &str, patch: &ConfigPatch) -> Result<u32, RegistryError> {
        check_id(id).map_err(RegistryError::InvalidId)?;
        if self.index.contains_key(id) {
            return Err(RegistryError::Exists(id.to_owned()));
        }
        if self.ids.len() >= self.max_agents {
            return Err(RegistryError::Full(self.max_agents));
        }
        let config = self.defaults.apply(patch)?;
        let slot = self.ids.len() as u32;
        self.breakers.push(Breaker::new(config, self.clock.now_ms()));
        let id: Arc<str> = Arc::from(id);
        self.ids.push(id.clone());
        self.index.insert(id, slot);
        self.publish(slot as usize);
        Ok(slot)
    }

    /// The slot of `id`, or an error naming the known ids.
    pub fn slot_of(&self, id: &str) -> Result<u32, RegistryError> {
        self.index.get(id).copied().ok_or_else(|| RegistryError::Unknown { id: id.to_owned(), known: self.ids() })
    }

    /// Checks a slot number that came from JavaScript.
    pub fn check_slot(&self, slot: f64) -> Result<usize, RegistryError> {
        crate::config::whole(slot, self.ids.len() as f64).map(|s| s as usize).ok_or(RegistryError::BadSlot(slot))
    }

    /// Runs `op` on the breaker in `slot` at the current time, after folding in the fast path's
    /// counts, then republishes the slot's words and keeps the transitions for draining.
    fn with<R>(&mut self, slot: usize, op: impl FnOnce(&mut Breaker, u64, &mut Vec<Transition>) -> R) -> R {
        let now = self.clock.now_ms();
        let pending = self.words.take_pending(slot);
        let b = &mut self.breakers[slot];
        if !pending.is_empty() {
            b.fold_fast_path(now, pending.admitted, pending.successes, pending.rejections);
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        let r = op(b, now, &mut scratch);
        // Unbounded, and never lossy: JavaScript drains after every native call that leaves events.
        self.events.extend(scratch.drain(..).map(|t| (slot as u32, t)));
        self.scratch = scratch;
        self.publish(slot);
        r
    }

    fn publish(&self, slot: usize) {
        self.words.publish(slot, &self.breakers[slot]);
        self.words.set_pending_events(self.events.len());
    }

    /// Asks the breaker in `slot` for a permit.
    pub fn acquire(&mut self, slot: usize) -> Result<Permit, Rejected> {
        self.with(slot, |b, now, ev| b.acquire(now, ev))
    }

    /// Reports the outcome of the call holding `permit`.
    pub fn record(&mut self, slot: usize, permit: Permit, outcome: Outcome) -> Recorded {
        self.with(slot, |b, now, ev| b.record(permit, outcome, now, ev))
    }

    /// Folds the fast path's counts into the breaker in `slot`.
    pub fn flush(&mut self, slot: usize) {
        self.with(slot, |_, _, _| ())
    }

    /// The effective state of the breaker in `slot`, with the milliseconds left while OPEN.
    pub fn observe(&mut self, slot: usize) -> (State, u64) {
        self.with(slot, |b, now, ev| (b.observe(now, ev), b.open_remaining_ms(now)))
    }

    /// Opens the breaker in `slot` now.
    pub fn force_open(&mut self, slot: usize) {
        self.with(slot, |b, now, ev| b.force_open(now, ev))
    }

    /// Closes the breaker in `slot` now and clears its counts.
    pub fn reset(&mut self, slot: usize) {
        self.with(slot, |b, now, ev| b.reset(now, ev))
    }

    /// Holds the breaker in `slot` OPEN until the returned token is released (see [`Breaker::isolate`]).
    pub fn isolate(&mut self, slot: usize) -> u32 {
        self.with(slot, |b, now, ev| b.isolate(now, ev))
    }

    /// Releases an `isolate` hold; false if it was not held.
    pub fn end_isolation(&mut self, slot: usize, token: u32) -> bool {
        self.with(slot, |b, now, ev| b.end_isolation(token, now, ev))
    }

    /// Fleet sync: another instance opened the breaker in `slot` for `remaining_ms` more.
    pub fn remote_open(&mut self, slot: usize, remaining_ms: u64) {
        self.with(slot, |b, now, ev| b.remote_open(remaining_ms, now, ev))
    }

    /// Fleet sync: another instance closed the breaker in `slot`.
    pub fn remote_close(&mut self, slot: usize) {
        self.with(slot, |b, now, ev| b.remote_close(now, ev))
    }

    /// Fleet sync: the probes the breaker in `slot` may still start in this recovery window.
    pub fn set_probe_leases(&mut self, slot: usize, leases: Option<u32>) {
        self.with(slot, |b, now, ev| b.set_probe_leases(leases, now, ev))
    }

    /// The saved state of the breaker in `slot`, for [`Registry::restore`].
    pub fn saved(&mut self, slot: usize) -> Saved {
        self.with(slot, |b, now, ev| {
            b.observe(now, ev);
            b.saved(now)
        })
    }

    /// Puts the breaker in `slot` in a saved state.
    pub fn restore(&mut self, slot: usize, saved: &Saved) -> Result<(), &'static str> {
        self.with(slot, |b, now, ev| b.restore(saved, now, ev))
    }

    /// The status of the breaker in `slot`.
    pub fn snapshot(&mut self, slot: usize) -> Snapshot {
        let id = self.ids[slot].clone();
        self.with(slot, |b, now, ev| {
            b.observe(now, ev);
            b.advance_window(now);
            Snapshot::of(&id, b, now)
        })
    }

    /// Every breaker's row of the metrics table ([`crate::table::columns`]), in slot order.
    pub fn metrics_table(&mut self) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.ids.len() * crate::table::columns().len());
        for slot in 0..self.ids.len() {
            self.with(slot, |b, now, ev| {
                b.observe(now, ev);
                b.advance_window(now);
                crate::table::append_row(b, now, &mut out);
            });
        }
        out
    }

    /// The status of every breaker, in slot order.
    pub fn snapshot_all(&mut self) -> Vec<Snapshot> {
        (0..self.ids.len()).map(|slot| self.snapshot(slot)).collect()
    }

    /// Takes the transitions not yet drained, oldest first: every one, exactly once.
    pub fn drain_events(&mut self) -> Vec<AgentTransition> {
        let ids = &self.ids;
        let out = self.events.drain(..).map(|(slot, transition)| AgentTransition { agent: ids[slot as usize].to_string(), transition }).collect();
        self.words.set_pending_events(0);
        out
    }
}

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;
