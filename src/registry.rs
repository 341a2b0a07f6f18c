//! A bounded set of breakers, one per agent id, sharing a clock and a table of words that
//! JavaScript reads directly for its fast path.
//!
//! The words table: a header, then [`STRIDE`] words per slot. Rust writes `FAST` and `STATE` after
//! every operation on a slot. `FAST` holds the generation while the breaker is CLOSED with no
//! failures pending (a success then changes no state), else -1. JavaScript may admit a call without
//! crossing into Rust while `FAST >= 0`, and adds such calls and their successes to `PENDING_*`,
//! which Rust folds into the counts on the slot's next operation. Transitions stay in Rust.
//!
//! While OPEN, JavaScript may also reject a call itself, counting it in `PENDING_REJECTIONS`, but
//! only until a deadline it took from Rust's own answer (the remaining open time) and only while
//! `GENERATION` is the one that answer came with: any transition ends it.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use crate::breaker::{Breaker, Outcome, Permit, Recorded, Rejected, State, Transition};
use crate::clock::Clock;
use crate::config::{Config, ConfigError, ConfigPatch};
use crate::snapshot::Snapshot;

/// Words before the first slot.
pub const HEADER: usize = 4;
/// Header word: transitions waiting to be drained.
pub const PENDING_EVENTS: usize = 0;
/// Words per slot.
pub const STRIDE: usize = 6;
/// Slot word: the generation when a success needs no bookkeeping, else -1.
pub const FAST: usize = 0;
/// Slot word: calls JavaScript admitted on the fast path, not yet counted.
pub const PENDING_ADMITTED: usize = 1;
/// Slot word: fast-path successes not yet counted.
pub const PENDING_SUCCESSES: usize = 2;
/// Slot word: the stored state's code (an OPEN breaker may already be due for HALF_OPEN).
pub const STATE: usize = 3;
/// Slot word: calls JavaScript rejected itself while OPEN, not yet counted.
pub const PENDING_REJECTIONS: usize = 4;
/// Slot word: the breaker's generation, in every state.
pub const GENERATION: usize = 5;

/// Longest agent id, in characters.
pub const MAX_ID_CHARS: usize = 128;
/// Largest accepted `maxAgents`.
pub const MAX_AGENTS_LIMIT: usize = 1_000_000;

/// The agents a registry starts with unless told otherwise.
pub const DEFAULT_AGENTS: [&str; 5] = ["amazon", "mercadolivre", "shopee", "shein", "tiktok-shop"];

/// What can go wrong in a registry; each has a stable code for JavaScript.
#[derive(Clone, Debug, PartialEq)]
pub enum RegistryError {
    /// A setting out of range.
    Config(ConfigError),
    /// An agent id that is empty, too long, or holds control characters.
    InvalidId(String),
    /// `add` of an id that already has a breaker.
    Exists(String),
    /// `add` past `maxAgents`.
    Full(usize),
    /// An id with no breaker.
    Unknown {
        /// The id asked for.
        id: String,
        /// The ids the registry holds.
        known: Vec<String>,
    },
    /// A slot number that names no breaker.
    BadSlot(f64),
}

impl RegistryError {
    /// The stable error code JavaScript sees as `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            RegistryError::Config(_) => "ERR_CIRCUIT_CONFIG",
            RegistryError::InvalidId(_) => "ERR_INVALID_AGENT_ID",
            RegistryError::Exists(_) => "ERR_AGENT_EXISTS",
            RegistryError::Full(_) => "ERR_TOO_MANY_AGENTS",
            RegistryError::Unknown { .. } => "ERR_UNKNOWN_AGENT",
            RegistryError::BadSlot(_) => "ERR_INVALID_ARG",
        }
    }
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryError::Config(e) => write!(f, "{e}"),
            RegistryError::InvalidId(why) => write!(f, "invalid agent id: {why}"),
            RegistryError::Exists(id) => write!(f, "agent {id:?} already has a circuit breaker"),
            RegistryError::Full(max) => write!(
                f,
                "cannot add another agent: the registry holds maxAgents = {max} breakers (raise maxAgents; none is evicted)"
            ),
            RegistryError::Unknown { id, known } => {
                let shown: Vec<_> = known.iter().take(10).map(|k| format!("{k:?}")).collect();
                let more = known.len().saturating_sub(10);
                let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
                let list = if known.is_empty() { "none".to_owned() } else { shown.join(", ") + &tail };
                write!(f, "unknown agent {id:?}: known agents are {list}; add({id:?}) creates one")
            }
            RegistryError::BadSlot(s) => write!(f, "slot {} names no breaker", crate::config::show_number(*s)),
        }
    }
}

impl std::error::Error for RegistryError {}

impl From<ConfigError> for RegistryError {
    fn from(e: ConfigError) -> Self {
        RegistryError::Config(e)
    }
}

/// Checks an agent id: 1 to 128 characters, no control characters.
pub fn check_id(id: &str) -> Result<(), RegistryError> {
    let chars = id.chars().count();
    if chars == 0 {
        return Err(RegistryError::InvalidId("it is empty; ids are 1 to 128 characters".into()));
    }
    if chars > MAX_ID_CHARS {
        return Err(RegistryError::InvalidId(format!("it has {chars} characters; ids are 1 to 128 characters")));
    }
    if let Some(c) = id.chars().find(|c| c.is_control()) {
        return Err(RegistryError::InvalidId(format!("it contains the control character U+{:04X}", c as u32)));
    }
    Ok(())
}

/// The shared words table; JavaScript sees it as an Int32Array over the same memory.
#[derive(Debug)]
pub struct Words(Box<[AtomicI32]>);

impl Words {
    fn new(slots: usize) -> Self {
        Words((0..HEADER + slots * STRIDE).map(|_| AtomicI32::new(0)).collect())
    }

    /// The table's first word, for handing the memory to JavaScript.
    pub fn as_ptr(&self) -> *mut i32 {
        self.0.as_ptr() as *mut i32
    }

    /// The number of words.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Reads one word.
    pub fn get(&self, i: usize) -> i32 {
        self.0[i].load(Ordering::Relaxed)
    }

    fn set(&self, i: usize, v: i32) {
        self.0[i].store(v, Ordering::Relaxed)
    }

    fn take(&self, i: usize) -> u32 {
        self.0[i].swap(0, Ordering::Relaxed) as u32
    }
}

/// A transition of one agent's breaker, waiting to be logged.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentTransition {
    /// The agent id.
    pub agent: String,
    /// The transition.
    pub transition: Transition,
}

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
    pub fn new(defaults: Config, max_agents: usize, clock: Clock) -> Result<Self, RegistryError> {
        if !(1..=MAX_AGENTS_LIMIT).contains(&max_agents) {
            let allowed = format!("an integer in 1..={MAX_AGENTS_LIMIT}");
            return Err(ConfigError { field: "maxAgents", value: max_agents as f64, allowed }.into());
        }
        Ok(Registry {
            defaults,
            max_agents,
            clock,
            ids: Vec::new(),
            breakers: Vec::new(),
            index: HashMap::new(),
            words: Arc::new(Words::new(max_agents)),
            events: VecDeque::new(),
            scratch: Vec::new(),
        })
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
        check_id(id)?;
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
        if slot >= 0.0 && slot == slot.trunc() && slot < self.ids.len() as f64 {
            Ok(slot as usize)
        } else {
            Err(RegistryError::BadSlot(slot))
        }
    }

    /// Runs `op` on the breaker in `slot` at the current time, after folding in the fast path's
    /// counts, then republishes the slot's words and keeps the transitions for draining.
    fn with<R>(&mut self, slot: usize, op: impl FnOnce(&mut Breaker, u64, &mut Vec<Transition>) -> R) -> R {
        let now = self.clock.now_ms();
        let base = HEADER + slot * STRIDE;
        let (admitted, successes) = (self.words.take(base + PENDING_ADMITTED), self.words.take(base + PENDING_SUCCESSES));
        let rejections = self.words.take(base + PENDING_REJECTIONS);
        let b = &mut self.breakers[slot];
        if admitted | successes | rejections != 0 {
            b.fold_fast_path(now, admitted, successes, rejections);
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
        let b = &self.breakers[slot];
        let base = HEADER + slot * STRIDE;
        self.words.set(base + FAST, if b.is_clean() { b.generation() as i32 } else { -1 });
        self.words.set(base + STATE, b.state().code() as i32);
        self.words.set(base + GENERATION, b.generation() as i32);
        self.words.set(PENDING_EVENTS, self.events.len() as i32);
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

    /// The status of the breaker in `slot`.
    pub fn snapshot(&mut self, slot: usize) -> Snapshot {
        let id = self.ids[slot].clone();
        self.with(slot, |b, now, ev| {
            b.observe(now, ev);
            Snapshot::of(&id, b, now)
        })
    }

    /// Every breaker's row of the metrics table ([`crate::snapshot::TABLE_COLUMNS`]), in slot order.
    pub fn metrics_table(&mut self) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.ids.len() * crate::snapshot::TABLE_COLUMNS.len());
        for slot in 0..self.ids.len() {
            self.with(slot, |b, now, ev| {
                b.observe(now, ev);
                crate::snapshot::table_row(b, now, &mut out);
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
        self.words.set(PENDING_EVENTS, 0);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::{Failure, Outcome};
    use crate::clock::ManualTime;

    fn manual() -> (Registry, Arc<ManualTime>) {
        let t = Arc::new(ManualTime::new(0));
        (Registry::new(Config::default(), 3, Clock::Manual(t.clone())).unwrap(), t)
    }

    fn fail(r: &mut Registry, slot: usize) {
        let p = r.acquire(slot).unwrap();
        r.record(slot, p, Outcome::Failure(Failure::Timeout));
    }

    #[test]
    fn ids_are_checked() {
        let (mut r, _) = manual();
        for (id, code) in [("", "ERR_INVALID_AGENT_ID"), ("a\0b", "ERR_INVALID_AGENT_ID"), (&"x".repeat(129), "ERR_INVALID_AGENT_ID")] {
            assert_eq!(r.add(id, &ConfigPatch::default()).unwrap_err().code(), code);
        }
        assert!(r.add(&"é".repeat(128), &ConfigPatch::default()).is_ok());
        assert_eq!(r.add(&"é".repeat(128), &ConfigPatch::default()).unwrap_err().code(), "ERR_AGENT_EXISTS");
    }

    #[test]
    fn the_registry_is_bounded_and_evicts_nothing() {
        let (mut r, _) = manual();
        for id in ["a", "b", "c"] {
            r.add(id, &ConfigPatch::default()).unwrap();
        }
        let err = r.add("d", &ConfigPatch::default()).unwrap_err();
        assert_eq!(err.code(), "ERR_TOO_MANY_AGENTS");
        assert!(err.to_string().contains("maxAgents = 3"));
        assert_eq!(r.ids(), ["a", "b", "c"]);
    }

    #[test]
    fn unknown_ids_name_the_known_ones() {
        let (mut r, _) = manual();
        r.add("amazon", &ConfigPatch::default()).unwrap();
        let err = r.slot_of("amazom").unwrap_err();
        assert_eq!(err.code(), "ERR_UNKNOWN_AGENT");
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
        let base = HEADER + s * STRIDE;
        assert_eq!((w.get(base + FAST), w.get(base + STATE)), (0, 0));
        fail(&mut r, s);
        assert_eq!(w.get(base + FAST), -1, "a pending failure needs the slow path");
        r.force_open(s);
        assert_eq!((w.get(base + FAST), w.get(base + STATE)), (-1, 1));
        t.advance(60_000);
        assert_eq!(r.observe(s), (State::HalfOpen, 0));
        assert_eq!(w.get(base + STATE), 2);
        r.reset(s);
        assert_eq!(w.get(base + FAST), r.breakers[s].generation() as i32);
    }

    #[test]
    fn fast_path_counts_are_folded_in() {
        let (mut r, _) = manual();
        let s = r.add("a", &ConfigPatch::default()).unwrap() as usize;
        let w = r.words();
        w.set(HEADER + s * STRIDE + PENDING_ADMITTED, 7);
        w.set(HEADER + s * STRIDE + PENDING_SUCCESSES, 6);
        let snap = r.snapshot(s);
        assert_eq!((snap.calls.admitted, snap.calls.successes, snap.error_rate.successes), (7, 6, 6));
        assert_eq!(w.get(HEADER + s * STRIDE + PENDING_ADMITTED), 0);
        // A call admitted on the fast path and still in flight is counted as admitted too.
        w.set(HEADER + s * STRIDE + PENDING_ADMITTED, 1);
        r.flush(s);
        assert_eq!(w.get(HEADER + s * STRIDE + PENDING_ADMITTED), 0);
        assert_eq!(r.snapshot(s).calls.admitted, 8);
    }

    #[test]
    fn transitions_wait_to_be_drained_with_their_agent() {
        let (mut r, t) = manual();
        let s = r.add("shein", &ConfigPatch::default()).unwrap() as usize;
        r.force_open(s);
        t.advance(60_000);
        r.snapshot_all();
        assert_eq!(r.words().get(PENDING_EVENTS), 2);
        let events = r.drain_events();
        let seen: Vec<_> = events.iter().map(|e| (e.agent.as_str(), e.transition.to)).collect();
        assert_eq!(seen, [("shein", State::Open), ("shein", State::HalfOpen)]);
        assert_eq!(r.words().get(PENDING_EVENTS), 0);
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
        let cols = crate::snapshot::TABLE_COLUMNS;
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
        let mut r = Registry::new(Config::default(), 20, Clock::monotonic()).unwrap();
        for i in 0..12 {
            r.add(&format!("a{i}"), &ConfigPatch::default()).unwrap();
        }
        let msg = r.slot_of("zz").unwrap_err().to_string();
        assert!(msg.contains("\"a9\" and 2 more"), "{msg}");
        assert!(!msg.contains("\"a10\""), "{msg}");
        let empty = Registry::new(Config::default(), 1, Clock::monotonic()).unwrap();
        assert!(empty.slot_of("x").unwrap_err().to_string().contains("known agents are none"));
    }

    #[test]
    fn the_words_table_has_a_header_and_four_words_per_slot() {
        let (r, _) = manual();
        let w = r.words();
        assert_eq!(w.len(), HEADER + 3 * STRIDE);
        assert_eq!(w.as_ptr() as usize, &w.0[0] as *const AtomicI32 as usize);
    }

    #[test]
    fn defaults_and_clock_are_the_registrys() {
        let c = Config::default().apply(&ConfigPatch { open_timeout_ms: Some(5.0), ..Default::default() }).unwrap();
        let t = Arc::new(ManualTime::new(42));
        let r = Registry::new(c.clone(), 1, Clock::Manual(t.clone())).unwrap();
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
            assert_eq!(r.check_slot(bad).unwrap_err().code(), "ERR_INVALID_ARG", "{bad}");
        }
    }

    #[test]
    fn each_slot_has_its_own_words() {
        let (mut r, _) = manual();
        let a = r.add("a", &ConfigPatch::default()).unwrap() as usize;
        let b = r.add("b", &ConfigPatch::default()).unwrap() as usize;
        let w = r.words();
        w.set(HEADER + b * STRIDE + PENDING_SUCCESSES, 3);
        w.set(HEADER + b * STRIDE + PENDING_ADMITTED, 3);
        r.force_open(b);
        assert_eq!((w.get(HEADER + a * STRIDE + STATE), w.get(HEADER + b * STRIDE + STATE)), (0, 1));
        assert_eq!((w.get(HEADER + a * STRIDE + FAST), w.get(HEADER + b * STRIDE + FAST)), (0, -1));
        assert_eq!((r.snapshot(a).calls.successes, r.snapshot(b).calls.successes), (0, 3));
        assert_eq!(w.get(HEADER + b * STRIDE + PENDING_SUCCESSES), 0);
    }

    #[test]
    fn max_agents_is_checked() {
        assert_eq!(Registry::new(Config::default(), 0, Clock::monotonic()).unwrap_err().code(), "ERR_CIRCUIT_CONFIG");
    }

    #[test]
    fn eight_threads_one_million_operations_exact_counts_and_no_broken_invariant() {
        let time = Arc::new(ManualTime::new(0));
        let patch = ConfigPatch { failure_threshold: Some(3.0), open_timeout_ms: Some(5.0), ..Default::default() };
        let mut registry = Registry::new(Config::default(), 1, Clock::Manual(time.clone())).unwrap();
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
}
