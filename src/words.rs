//! The words table JavaScript shares with Rust, and the numbers that cross the boundary: this
//! module is the only one that knows the table's layout, how a permit, an outcome and a rejection
//! are encoded as JavaScript numbers, and how the fast path's counts are taken back.
//!
//! The table: a header, then [`STRIDE`] words per slot. Rust publishes `FAST`, `STATE` and
//! `GENERATION` after every operation on a slot. `FAST` holds the generation while the breaker is
//! CLOSED with no failures pending (a success then changes no state), else -1. JavaScript may admit
//! a call without crossing into Rust while `FAST >= 0`, and adds such calls and their successes to
//! `PENDING_*`, which Rust folds into the counts on the slot's next operation. Transitions stay in
//! Rust.
//!
//! While OPEN, JavaScript may also reject a call itself, counting it in `PENDING_REJECTIONS`, but
//! only until a deadline it took from Rust's own answer (the remaining open time) and only while
//! `GENERATION` is the one that answer came with: any transition ends it.
//!
//! `lib/resilience/words.ts` is the TypeScript owner of the same table; the constants reach it
//! through the generated contract.

use std::sync::atomic::{AtomicI32, Ordering};

use crate::breaker::Breaker;
use crate::types::{Failure, Outcome, Permit, Rejected, State, GENERATION_MASK, TOKEN_BITS, TOKEN_MASK};

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

/// A permit is `generation * PERMIT_SCALE + token`; token 0 is the fast path's.
pub const PERMIT_SCALE: u64 = 1 << TOKEN_BITS;
/// Outcome code of a success (`settle`'s third argument).
pub const OUTCOME_SUCCESS: u32 = 0;
/// Outcome code of a released permit.
pub const OUTCOME_RELEASED: u32 = 1;
/// Outcome code of the first failure kind; kind `k` is `OUTCOME_FAILURE + k`.
pub const OUTCOME_FAILURE: u32 = 2;
/// A rejection from `admit` packs the state code under the remaining time:
/// `-1 - (retryAfterMs * REJECTION_STATES + state code)`, where [`ISOLATED_CODE`] stands for OPEN
/// held by `isolate()`.
pub const REJECTION_STATES: u64 = 4;
/// The state code of a rejection by a breaker held OPEN by `isolate()`.
pub const ISOLATED_CODE: u64 = 3;

/// Counts JavaScript made on a slot since Rust last looked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pending {
    /// Calls admitted on the fast path.
    pub admitted: u32,
    /// Fast-path successes.
    pub successes: u32,
    /// Calls rejected by JavaScript while OPEN.
    pub rejections: u32,
}

impl Pending {
    /// True when there is nothing to fold in.
    pub fn is_empty(&self) -> bool {
        self.admitted | self.successes | self.rejections == 0
    }
}

/// The shared words table; JavaScript sees it as an Int32Array over the same memory.
#[derive(Debug)]
pub struct Words(Box<[AtomicI32]>);

impl Words {
    /// A zeroed table with room for `slots` breakers.
    pub fn new(slots: usize) -> Self {
        Words((0..HEADER + slots * STRIDE).map(|_| AtomicI32::new(0)).collect())
    }

    /// The table's first word, for handing the memory to JavaScript.
    pub fn as_ptr(&self) -> *mut i32 {
        self.0.as_ptr() as *mut i32
    }

    /// The number of words.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for a table of no words (never: the header is always there).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Reads word `word` of `slot`.
    pub fn slot_word(&self, slot: usize, word: usize) -> i32 {
        self.0[HEADER + slot * STRIDE + word].load(Ordering::Relaxed)
    }

    /// Sets word `word` of `slot` (tests stand in for JavaScript with it).
    pub fn set_slot_word(&self, slot: usize, word: usize, v: i32) {
        self.0[HEADER + slot * STRIDE + word].store(v, Ordering::Relaxed)
    }

    /// The transitions waiting to be drained, as published.
    pub fn pending_events(&self) -> i32 {
        self.0[PENDING_EVENTS].load(Ordering::Relaxed)
    }

    /// Publishes how many transitions wait to be drained.
    pub fn set_pending_events(&self, n: usize) {
        self.0[PENDING_EVENTS].store(n.min(i32::MAX as usize) as i32, Ordering::Relaxed)
    }

    /// Takes (and zeroes) the counts JavaScript made on `slot`.
    pub fn take_pending(&self, slot: usize) -> Pending {
        let take = |word: usize| self.0[HEADER + slot * STRIDE + word].swap(0, Ordering::Relaxed) as u32;
        Pending { admitted: take(PENDING_ADMITTED), successes: take(PENDING_SUCCESSES), rejections: take(PENDING_REJECTIONS) }
    }

    /// Publishes `b`'s fast-path word, state and generation in `slot`.
    pub fn publish(&self, slot: usize, b: &Breaker) {
        self.set_slot_word(slot, FAST, if b.is_clean() { b.generation() as i32 } else { -1 });
        self.set_slot_word(slot, STATE, b.state().code() as i32);
        self.set_slot_word(slot, GENERATION, b.generation() as i32);
    }
}

impl Permit {
    /// The permit as one integer below 2^51, safe as a JavaScript number.
    pub fn encode(self) -> u64 {
        ((self.generation as u64) << TOKEN_BITS) | self.token as u64
    }

    /// The permit an integer from [`Permit::encode`] stands for, or `None` if it cannot be one.
    pub fn decode(n: u64) -> Option<Permit> {
        let generation = n >> TOKEN_BITS;
        (generation <= GENERATION_MASK as u64)
            .then(|| Permit { generation: generation as u32, token: (n as u32) & TOKEN_MASK })
    }
}

/// The outcome an outcome code stands for, or `None` if it stands for none.
pub fn decode_outcome(code: u64) -> Option<Outcome> {
    match code as u32 {
        _ if code > u32::MAX as u64 => None,
        OUTCOME_SUCCESS => Some(Outcome::Success),
        OUTCOME_RELEASED => Some(Outcome::Released),
        c => Failure::ALL.get((c - OUTCOME_FAILURE) as usize).map(|&f| Outcome::Failure(f)),
    }
}

/// The (negative) number `admit` returns for a rejection.
pub fn encode_rejection(no: Rejected) -> f64 {
    let code = if no.isolated { ISOLATED_CODE } else { no.state.code() as u64 };
    -1.0 - (no.retry_after_ms as f64 * REJECTION_STATES as f64 + code as f64)
}

/// The states' codes, for [`decode_rejection`].
const STATES: &[State] = State::ALL;

/// The rejection a number from [`encode_rejection`] stands for (tests and the TypeScript mirror).
pub fn decode_rejection(code: f64) -> Rejected {
    let r = (-1.0 - code) as u64;
    let isolated = r % REJECTION_STATES == ISOLATED_CODE;
    let state = if isolated { State::Open } else { STATES[(r % REJECTION_STATES) as usize] };
    Rejected { state, retry_after_ms: r / REJECTION_STATES, isolated }
}

#[cfg(test)]
#[path = "words_tests.rs"]
mod tests;
