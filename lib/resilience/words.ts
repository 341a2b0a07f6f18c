/**
 * The words table shared with native code, and the numbers that cross the hot path. This module is
 * the only place in TypeScript that indexes the table; `src/words.rs` is its Rust owner, and the
 * layout constants come from the generated contract.
 */

import { performance } from 'node:perf_hooks';
import {
  FAILURE_REASONS,
  FAST,
  GENERATION,
  HEADER,
  ISOLATED_CODE,
  OUTCOME_FAILURE,
  OUTCOME_RELEASED,
  OUTCOME_SUCCESS,
  PENDING_ADMITTED,
  PENDING_EVENTS,
  PENDING_REJECTIONS,
  PENDING_SUCCESSES,
  PERMIT_SCALE,
  REJECTION_STATES,
  STATE,
  STATES,
  STRIDE,
  type CircuitState,
  type FailureReason,
} from './contract';

/** Fast-path successes and JavaScript's own rejections are folded natively at least this often. */
export const FLUSH_EVERY = 4096;
/** The OPEN state's code. */
const OPEN: number = STATES.indexOf('OPEN');
/** The CLOSED state's code. */
const CLOSED: number = STATES.indexOf('CLOSED');

export { OUTCOME_RELEASED, OUTCOME_SUCCESS };

/** The hot-path functions native code hands over with the table (`NativeRegistry#hotPath`). */
export interface HotPath {
  words: Int32Array;
  admit(slot: number): number;
  settle(slot: number, permit: number, outcome: number): number;
  state(slot: number): number;
  openRemainingMs(slot: number): number;
  flush(slot: number): number;
}

/** True when transitions wait in native memory to be drained. */
export function hasPendingEvents(words: Int32Array): boolean {
  return words[PENDING_EVENTS] !== 0;
}

/** The outcome code of a failure of kind `reason`, or -1 for a reason that is not one. */
export function failureOutcome(reason: FailureReason): number {
  const i = FAILURE_REASONS.indexOf(reason);
  return i < 0 ? -1 : OUTCOME_FAILURE + i;
}

/** The permit a fast-path call holds: token 0 of the generation it was admitted in. */
export function fastPermit(generation: number): number {
  return generation * PERMIT_SCALE;
}

/** True for a permit with token 0: the fast path's own, which `acquire()` never hands out. */
export function isFastPermit(permit: number): boolean {
  return Number.isSafeInteger(permit) && permit >= 0 && permit % PERMIT_SCALE === 0;
}

/** The state of a rejection code from `admit` (an isolated breaker is OPEN). */
export function rejectedState(code: number): CircuitState {
  const state = (-1 - code) % REJECTION_STATES;
  return state === ISOLATED_CODE ? 'OPEN' : STATES[state];
}

/** True when a rejection code from `admit` comes from a breaker held OPEN by `isolate()`. */
export function rejectedIsolated(code: number): boolean {
  return (-1 - code) % REJECTION_STATES === ISOLATED_CODE;
}

/** The milliseconds to wait of a rejection code from `admit`. */
export function rejectedRetryAfterMs(code: number): number {
  return Math.floor((-1 - code) / REJECTION_STATES);
}

/** What a slot needs from its engine: the hot path, and a way to hand over pending transitions. */
export interface SlotOwner {
  readonly hot: HotPath;
  readonly words: Int32Array;
  /** True on the monotonic clock: a slot may then reject calls while OPEN without native code. */
  readonly monotonic: boolean;
  drainIfPending(): void;
}

/** One breaker's words, with named accessors for everything the hot path reads and counts. */
export class Slot {
  private readonly words: Int32Array;
  private readonly hot: HotPath;
  /** Indexes of this slot's words (kept as fields: the hot path reads no module bindings). */
  private readonly fast: number;
  private readonly pendingAdmitted: number;
  private readonly pendingSuccesses: number;
  private readonly pendingRejections: number;
  private readonly state: number;
  private readonly generation: number;
  /** The generation of the OPEN period native code last rejected a call in, or -1. */
  private openGeneration = -1;
  /** Until when (`performance.now()`) that OPEN period surely lasts (Infinity while isolated). */
  private openUntil = 0;
  /** Whether that OPEN period is held by `isolate()`, and the retry hint native code gave then. */
  isolated = false;
  private isolatedHintMs = 0;

  constructor(
    private readonly owner: SlotOwner,
    /** The slot number native code knows the breaker by. */
    readonly index: number,
  ) {
    this.words = owner.words;
    this.hot = owner.hot;
    const base = HEADER + index * STRIDE;
    this.fast = base + FAST;
    this.pendingAdmitted = base + PENDING_ADMITTED;
    this.pendingSuccesses = base + PENDING_SUCCESSES;
    this.pendingRejections = base + PENDING_REJECTIONS;
    this.state = base + STATE;
    this.generation = base + GENERATION;
  }

  /**
   * Admits a call without native code if the breaker is CLOSED with no failures pending: returns
   * the generation it was admitted in (and counts it), or -1 when native code must decide.
   */
  tryAdmit(): number {
    const generation = this.words[this.fast];
    if (generation >= 0) this.words[this.pendingAdmitted]++;
    return generation;
  }

  /** Counts the success of a call `tryAdmit` admitted in `generation`; natively if anything changed since. */
  creditSuccess(generation: number): void {
    if (this.words[this.fast] === generation) {
      if (++this.words[this.pendingSuccesses] >= FLUSH_EVERY) this.hot.flush(this.index);
    } else {
      this.settle(fastPermit(generation), OUTCOME_SUCCESS);
    }
  }

  /**
   * Rejects a call without native code while the breaker surely stays OPEN (the generation native
   * code last rejected in, and before the deadline it gave): returns the milliseconds to wait, or
   * -1 when native code must decide.
   */
  tryReject(): number {
    if (this.words[this.generation] !== this.openGeneration || this.words[this.state] !== OPEN) return -1;
    const now = performance.now();
    if (now >= this.openUntil) return -1;
    if (++this.words[this.pendingRejections] >= FLUSH_EVERY) this.hot.flush(this.index);
    return this.isolated ? this.isolatedHintMs : Math.ceil(this.openUntil - now) + 1;
  }

  /**
   * Asks native code for a permit: a permit (>= 0) or a rejection code (< 0). With `remember`, an
   * OPEN rejection sets how long `tryReject` may go on rejecting by itself. Time and generation are
   * read around the native call, before any listener runs: a slow listener must not stretch that.
   * Only a breaker already OPEN needs the time.
   */
  admit(remember: boolean): number {
    const before = remember && this.owner.monotonic && this.words[this.state] === OPEN ? performance.now() : -1;
    const code = this.hot.admit(this.index);
    const generation = this.words[this.generation];
    this.owner.drainIfPending();
    if (code < 0 && before >= 0 && rejectedState(code) === 'OPEN') {
      // Until when the breaker surely stays OPEN, less 1 ms for the native clock's truncation;
      // while isolated, until the generation changes (a release or a reset is a transition).
      this.openGeneration = generation;
      this.isolated = rejectedIsolated(code);
      this.isolatedHintMs = rejectedRetryAfterMs(code);
      this.openUntil = this.isolated ? Infinity : before + this.isolatedHintMs - 1;
    }
    return code;
  }

  /** Reports how the call holding `permit` ended; true if it counted (false: late or not outstanding). */
  settle(permit: number, outcome: number): boolean {
    const counted = this.hot.settle(this.index, permit, outcome) === 1;
    this.owner.drainIfPending();
    return counted;
  }

  /** The effective state's code: CLOSED is read from the table, the others asked natively. */
  stateCode(): number {
    let code = this.words[this.state];
    if (code !== CLOSED) {
      code = this.hot.state(this.index);
      this.owner.drainIfPending();
    }
    return code;
  }

  /** Milliseconds until an OPEN breaker lets a probe through; 0 in other states. */
  openRemainingMs(): number {
    const ms = this.hot.openRemainingMs(this.index);
    this.owner.drainIfPending();
    return ms;
  }
}
