/**
 * `CircuitBreaker`: one breaker, either on its own or one agent's breaker inside an
 * `AgentCircuitBreaker`. The state machine is native; this class admits calls, awaits them and
 * reports their outcomes.
 *
 * The hot path: while the breaker is CLOSED with no failures pending, the native words table holds
 * its generation (`FAST >= 0`), and a call is admitted and its success counted without crossing into
 * native code. Anything else (a failure, an OPEN or HALF_OPEN breaker) goes through the
 * hand-written native functions, which decide every transition.
 */

import { performance } from 'node:perf_hooks';
import type { ManualClock } from './native';
import {
  Engine,
  FAST,
  FLUSH_EVERY,
  GENERATION,
  HEADER,
  OUTCOME_RELEASED,
  OUTCOME_SUCCESS,
  PENDING_ADMITTED,
  PENDING_REJECTIONS,
  PENDING_SUCCESSES,
  PERMIT_SCALE,
  REJECTION_STATES,
  STATE,
  STATES,
  STRIDE,
  FAILURE_REASONS,
  checkConfigKeys,
} from './engine';
import { CircuitBreakerError, CircuitOpenError, describe } from './errors';
import type {
  BreakerConfig,
  BreakerStatus,
  CircuitState,
  ErrorClassifier,
  FailureReason,
  TransitionListener,
} from './types';

/** A settled promise: `.then` on it queues a microtask without async_hooks' bookkeeping. */
const SETTLED = Promise.resolve();

/**
 * Makes an error without stack frames (`Error.stackTraceLimit` 0 while it is built), or with the
 * usual stack if the limit cannot be changed (frozen, or a getter): never throws for that reason.
 */
function stackless<E>(make: () => E): E {
  const limit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = 0;
  } catch {
    return make();
  }
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Options of a stand-alone `CircuitBreaker`. */
export interface CircuitBreakerOptions extends BreakerConfig {
  /** The breaker's id in statuses, events and errors. @default 'default' */
  name?: string;
  /** A manual clock for tests; the monotonic clock otherwise. */
  clock?: ManualClock;
  /** Called once for every transition. */
  onTransition?: TransitionListener;
  /** What a thrown error means. @default every error is a failure of kind 'error' (or its `circuitReason`) */
  classifyError?: ErrorClassifier;
}

/** A handle's place in an engine; only `AgentCircuitBreaker` makes these. */
export class Attachment {
  constructor(
    readonly engine: Engine,
    readonly slot: number,
    readonly agent: string,
  ) {}
}

/** A circuit breaker. Create one directly, or get one agent's from `AgentCircuitBreaker#get`. */
export class CircuitBreaker {
  /** The breaker's id (the agent id in a registry). */
  readonly agent: string;
  private readonly engine: Engine;
  private readonly hot: Engine['hot'];
  private readonly words: Int32Array;
  private readonly slot: number;
  private readonly base: number;
  /** Index of this slot's FAST word. */
  private readonly fast: number;
  /** The generation of the OPEN period native code last rejected a call in, or -1. */
  private openGeneration = -1;
  /** Until when (`performance.now()`) that OPEN period surely lasts. */
  private openUntil = 0;

  constructor(options: CircuitBreakerOptions | Attachment = {}) {
    let at: Attachment;
    if (options instanceof Attachment) {
      at = options;
    } else {
      if (options === null || typeof options !== 'object') {
        throw new CircuitBreakerError('ERR_INVALID_ARG', 'CircuitBreaker options must be an object');
      }
      const { name = 'default', clock, onTransition, classifyError, ...config } = options;
      checkConfigKeys(config, 'CircuitBreaker options');
      const engine = new Engine({ defaults: config, maxAgents: 1, clock, onTransition, classifyError });
      at = new Attachment(engine, engine.native.add(name), name);
    }
    this.agent = at.agent;
    this.engine = at.engine;
    this.hot = at.engine.hot;
    this.words = at.engine.words;
    this.slot = at.slot;
    this.base = HEADER + at.slot * STRIDE;
    this.fast = this.base + FAST;
  }

  /**
   * Runs `fn` if the breaker admits it and records how it ended. When the breaker rejects the call,
   * `fn` is not called: the promise resolves to `fallback()` if given, else rejects with a
   * `CircuitOpenError` (code `ERR_CIRCUIT_OPEN`). Errors from `fn` are recorded and rethrown.
   */
  execute<T, F = T>(fn: () => T | PromiseLike<T>, fallback?: () => F | PromiseLike<F>): Promise<T | F> {
    if (typeof fn !== 'function' || (fallback !== undefined && typeof fallback !== 'function')) {
      return Promise.reject(new CircuitBreakerError('ERR_INVALID_ARG', 'execute(fn, fallback?) takes functions'));
    }
    const words = this.words;
    const fast = this.fast;
    const w = words[fast];
    if (w < 0) {
      const base = this.base;
      if (words[base + GENERATION] === this.openGeneration && words[base + STATE] === 1) {
        // OPEN, with no transition since native code said how long it would last.
        const now = performance.now();
        if (now < this.openUntil) {
          if (++words[base + PENDING_REJECTIONS] >= FLUSH_EVERY) this.hot.flush(this.slot);
          return this.rejected(fallback, 'OPEN', Math.ceil(this.openUntil - now) + 1);
        }
      }
      // Time and generation are read around the native call, before any listener runs: a slow
      // listener must not stretch how long JavaScript goes on rejecting by itself. Only a breaker
      // already OPEN needs the time (-1: none read); a probe or a CLOSED call does not pay for it.
      const before = this.engine.monotonic && words[base + STATE] === 1 ? performance.now() : -1;
      const permit = this.hot.admit(this.slot);
      const generation = words[base + GENERATION];
      if (words[0] !== 0) this.engine.drain();
      if (permit >= 0) return this.executeAdmitted(permit, fn);
      return this.rejectedNatively(permit, fallback, before, generation);
    }
    // Fast path: CLOSED with no failures pending, so a success changes no state.
    words[fast + PENDING_ADMITTED]++;
    let result: T | PromiseLike<T>;
    try {
      result = fn();
    } catch (error) {
      return Promise.reject(this.failed(w * PERMIT_SCALE, error));
    }
    return Promise.resolve(result).then(
      (value) => {
        if (words[fast] === w) {
          if (++words[fast + PENDING_SUCCESSES] >= FLUSH_EVERY) this.hot.flush(this.slot);
        } else {
          this.settle(w * PERMIT_SCALE, OUTCOME_SUCCESS);
        }
        return value;
      },
      (error) => {
        throw this.failed(w * PERMIT_SCALE, error);
      },
    );
  }

  /**
   * A call the breaker rejected: the fallback's answer, or a `CircuitOpenError` without a stack
   * trace (a rejection is expected control flow, and capturing a stack would cost more than the
   * rest of the call). The promise rejects one microtask later, once the caller has attached its
   * handler: a promise born rejected costs Node's unhandled-rejection bookkeeping, about 0.6 µs.
   */
  private rejected<F>(fallback: (() => F | PromiseLike<F>) | undefined, state: CircuitState, retryAfterMs: number): Promise<F> {
    if (fallback !== undefined) {
      try {
        return Promise.resolve(fallback());
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const error = stackless(() => new CircuitOpenError(this.agent, state, retryAfterMs));
    return new Promise<never>((_, reject) => {
      SETTLED.then(() => reject(error));
    });
  }

  /**
   * A rejection decided natively (`code`: see `REJECTION_STATES`). While OPEN, given the time read
   * before the native call (`before`, -1 if none), remembers until when the breaker surely stays
   * OPEN (less 1 ms for the native clock's truncation) and in which generation, so that the calls
   * until then are rejected without native code.
   */
  private rejectedNatively<F>(code: number, fallback: (() => F | PromiseLike<F>) | undefined, before: number, generation: number): Promise<F> {
    const r = -1 - code;
    const state = STATES[r % REJECTION_STATES];
    const retryAfterMs = Math.floor(r / REJECTION_STATES);
    if (state === 'OPEN' && before >= 0) {
      this.openGeneration = generation;
      this.openUntil = before + retryAfterMs - 1;
    }
    return this.rejected(fallback, state, retryAfterMs);
  }

  /** A call admitted natively (CLOSED with failures pending, or a HALF_OPEN probe). */
  private async executeAdmitted<T>(permit: number, fn: () => T | PromiseLike<T>): Promise<T> {
    let value: T;
    try {
      value = await fn();
    } catch (error) {
      throw this.failed(permit, error);
    }
    this.settle(permit, OUTCOME_SUCCESS);
    return value;
  }

  /** Records `error` as the outcome of `permit` and returns it, to be rethrown. */
  private failed(permit: number, error: unknown): unknown {
    this.settle(permit, this.engine.outcomeOf(error));
    return error;
  }

  private admitSlow(): number {
    const permit = this.hot.admit(this.slot);
    if (this.words[0] !== 0) this.engine.drain();
    return permit;
  }

  private settle(permit: number, outcome: number): boolean {
    const counted = this.hot.settle(this.slot, permit, outcome) === 1;
    if (this.words[0] !== 0) this.engine.drain();
    return counted;
  }

  /**
   * The two-step form, for calls whose outcome is known elsewhere: a permit, or `undefined` when
   * the breaker rejects. Report each permit exactly once with `succeed`, `fail` or `release`.
   */
  acquire(): number | undefined {
    const permit = this.admitSlow();
    return permit < 0 ? undefined : permit;
  }

  /** Reports a success; false if the permit was stale or already used (nothing changed). */
  succeed(permit: number): boolean {
    return this.report(permit, OUTCOME_SUCCESS);
  }

  /**
   * Reports a permit from `acquire()`. Token 0 (a multiple of PERMIT_SCALE) belongs to the fast
   * path's calls, which report themselves: acquire() never hands it out, so it was never issued.
   */
  private report(permit: number, outcome: number): boolean {
    if (Number.isSafeInteger(permit) && permit >= 0 && permit % PERMIT_SCALE === 0) return false;
    return this.settle(permit, outcome);
  }

  /** Reports a failure of kind `reason`; false if the permit was stale or already used. */
  fail(permit: number, reason: FailureReason = 'error'): boolean {
    const i = FAILURE_REASONS.indexOf(reason);
    if (i < 0) {
      throw new CircuitBreakerError(
        'ERR_INVALID_ARG',
        `unknown failure reason ${describe(reason)}; known reasons are ${FAILURE_REASONS.join(', ')}`,
      );
    }
    return this.report(permit, 2 + i);
  }

  /** Returns a permit without an outcome (cancelled, or an error that does not count). */
  release(permit: number): boolean {
    return this.report(permit, OUTCOME_RELEASED);
  }

  /**
   * The effective state: an OPEN breaker whose timeout has passed reads HALF_OPEN (and a HALF_OPEN
   * one whose probe ran out of time reads OPEN). Only CLOSED is read without asking native code.
   */
  get state(): CircuitState {
    let code = this.words[this.base + STATE];
    if (code !== 0) {
      code = this.hot.state(this.slot);
      if (this.words[0] !== 0) this.engine.drain();
    }
    return STATES[code];
  }

  /** Milliseconds until an OPEN breaker lets a probe through; 0 in other states. */
  get openRemainingMs(): number {
    const ms = this.hot.openRemainingMs(this.slot);
    if (this.words[0] !== 0) this.engine.drain();
    return ms;
  }

  /** Everything known about this breaker now. */
  status(): BreakerStatus {
    const status = JSON.parse(this.engine.native.statusJson(this.slot)) as BreakerStatus;
    if (this.words[0] !== 0) this.engine.drain();
    return status;
  }

  /** Opens the breaker now; the open timeout starts again. Recorded as a transition. */
  forceOpen(): void {
    this.engine.native.forceOpen(this.slot);
    if (this.words[0] !== 0) this.engine.drain();
  }

  /** Closes the breaker now and clears its consecutive counts. Recorded as a transition. */
  reset(): void {
    this.engine.native.reset(this.slot);
    if (this.words[0] !== 0) this.engine.drain();
  }

  /** Adds a listener for this breaker's transitions; returns the function that removes it. */
  onTransition(listener: TransitionListener): () => void {
    if (typeof listener !== 'function') {
      throw new CircuitBreakerError('ERR_INVALID_ARG', 'a transition listener must be a function');
    }
    return this.engine.subscribe((event) => {
      return event.agent === this.agent ? listener(event) : undefined; // its promise, if any, is watched
    });
  }
}
