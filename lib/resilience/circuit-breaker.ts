/**
 * `CircuitBreaker`: one breaker, either on its own or one agent's breaker inside an
 * `AgentCircuitBreaker`. The state machine is native; this class admits calls, awaits them and
 * reports their outcomes.
 *
 * The hot path: while the breaker is CLOSED with no failures pending, its `Slot` (the words table
 * shared with native code) admits a call and counts its success without crossing into native code.
 * Anything else (a failure, an OPEN or HALF_OPEN breaker) goes through the hand-written native
 * functions, which decide every transition.
 */

import type { ManualClock } from './native';
import { FAILURE_REASONS, STATES } from './contract';
import { Engine, checkConfigKeys } from './engine';
import { CircuitBreakerError, CircuitOpenError, describe } from './errors';
import {
  OUTCOME_RELEASED,
  OUTCOME_SUCCESS,
  Slot,
  failureOutcome,
  fastPermit,
  isFastPermit,
  rejectedRetryAfterMs,
  rejectedState,
} from './words';
import type {
  BreakerConfig,
  BreakerStatus,
  CircuitState,
  ErrorClassifier,
  FailureReason,
  TransitionListener,
} from './types';

/** The states by code: a local (unfrozen) copy, since reading the frozen export costs the state getter 4 ns. */
const STATE_NAMES: readonly CircuitState[] = [...STATES];

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
  /** This breaker's words in the shared table. */
  private readonly slot: Slot;

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
    this.slot = new Slot(at.engine, at.slot);
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
    const slot = this.slot;
    const generation = slot.tryAdmit();
    if (generation < 0) return this.executeSlow(fn, fallback);
    // Fast path: CLOSED with no failures pending, so a success changes no state.
    let result: T | PromiseLike<T>;
    try {
      result = fn();
    } catch (error) {
      return Promise.reject(this.failed(fastPermit(generation), error));
    }
    return Promise.resolve(result).then(
      (value) => {
        slot.creditSuccess(generation);
        return value;
      },
      (error) => {
        throw this.failed(fastPermit(generation), error);
      },
    );
  }

  /** A call the fast path cannot take: rejected without native code while surely OPEN, else decided natively. */
  private executeSlow<T, F>(fn: () => T | PromiseLike<T>, fallback: (() => F | PromiseLike<F>) | undefined): Promise<T | F> {
    const waitMs = this.slot.tryReject();
    if (waitMs >= 0) return this.rejected(fallback, 'OPEN', waitMs);
    const code = this.slot.admit(true);
    if (code >= 0) return this.executeAdmitted(code, fn);
    return this.rejected(fallback, rejectedState(code), rejectedRetryAfterMs(code));
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

  /** A call admitted natively (CLOSED with failures pending, or a HALF_OPEN probe). */
  private async executeAdmitted<T>(permit: number, fn: () => T | PromiseLike<T>): Promise<T> {
    let value: T;
    try {
      value = await fn();
    } catch (error) {
      throw this.failed(permit, error);
    }
    this.slot.settle(permit, OUTCOME_SUCCESS);
    return value;
  }

  /** Records `error` as the outcome of `permit` and returns it, to be rethrown. */
  private failed(permit: number, error: unknown): unknown {
    this.slot.settle(permit, this.engine.outcomeOf(error));
    return error;
  }

  /**
   * The two-step form, for calls whose outcome is known elsewhere: a permit, or `undefined` when
   * the breaker rejects. Report each permit exactly once with `succeed`, `fail` or `release`.
   */
  acquire(): number | undefined {
    const permit = this.slot.admit(false);
    return permit < 0 ? undefined : permit;
  }

  /** Reports a success; false if the permit was stale or already used (nothing changed). */
  succeed(permit: number): boolean {
    return this.report(permit, OUTCOME_SUCCESS);
  }

  /**
   * Reports a permit from `acquire()`. Token 0 belongs to the fast path's calls, which report
   * themselves: acquire() never hands it out, so it was never issued.
   */
  private report(permit: number, outcome: number): boolean {
    if (isFastPermit(permit)) return false;
    return this.slot.settle(permit, outcome);
  }

  /** Reports a failure of kind `reason`; false if the permit was stale or already used. */
  fail(permit: number, reason: FailureReason = 'error'): boolean {
    const outcome = failureOutcome(reason);
    if (outcome < 0) {
      throw new CircuitBreakerError(
        'ERR_INVALID_ARG',
        `unknown failure reason ${describe(reason)}; known reasons are ${FAILURE_REASONS.join(', ')}`,
      );
    }
    return this.report(permit, outcome);
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
    return STATE_NAMES[this.slot.stateCode()];
  }

  /** Milliseconds until an OPEN breaker lets a probe through; 0 in other states. */
  get openRemainingMs(): number {
    return this.slot.openRemainingMs();
  }

  /** Everything known about this breaker now. */
  status(): BreakerStatus {
    const status = JSON.parse(this.engine.native.statusJson(this.slot.index)) as BreakerStatus;
    this.engine.drainIfPending();
    return status;
  }

  /** Opens the breaker now; the open timeout starts again. Recorded as a transition. */
  forceOpen(): void {
    this.engine.native.forceOpen(this.slot.index);
    this.engine.drainIfPending();
  }

  /** Closes the breaker now and clears its consecutive counts. Recorded as a transition. */
  reset(): void {
    this.engine.native.reset(this.slot.index);
    this.engine.drainIfPending();
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
