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

import { performance } from 'node:perf_hooks';
import type { ManualClock } from './native';
import { Calls, NEVER_ABORTED, badSecondArgument, checkOptions, type ExecuteOptions } from './call';
import { BREAKER_LIMITS, FAILURE_REASONS, STATES, type BreakerSnapshot } from './contract';
import { Engine, checkConfigKeys } from './engine';
import { CallAbortedError, CircuitBreakerError, CircuitOpenError, describe } from './errors';
import { callEndChannel, callStartChannel, rejectionChannel, tracingCalls, type CallEndMessage, type CallOutcome } from './instrument';
import { toPolicy, type BreakerPolicy } from './policy';
import {
  OUTCOME_RELEASED,
  OUTCOME_SUCCESS,
  Slot,
  failureOutcome,
  fastPermit,
  isFastPermit,
  rejectedIsolated,
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
  /** Calls with a signal or a timeout. */
  private readonly calls: Calls;
  /** Calls refused so far (by `rejected`): how a traced call learns that it was refused. */
  private refusals = 0;

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
    this.calls = new Calls(at.agent, this.slot, at.engine);
  }

  /**
   * Runs `fn` if the breaker admits it and records how it ended. When the breaker rejects the call,
   * `fn` is not called: the promise resolves to the fallback's answer if one was given, else
   * rejects with a `CircuitOpenError` (code `ERR_CIRCUIT_OPEN`). Errors from `fn` are recorded and
   * rethrown. `fn` gets an `AbortSignal` (one that never aborts unless the options give a signal or
   * a timeout). The second argument is a fallback function, `{ fallback?, signal?, timeoutMs? }`
   * (see `ExecuteOptions`), or an `AbortSignal` (cockatiel passes one).
   */
  execute<T, F = T>(
    fn: (signal: AbortSignal) => T | PromiseLike<T>,
    fallbackOrOptions?: (() => F | PromiseLike<F>) | ExecuteOptions<F> | AbortSignal,
  ): Promise<T | F> {
    if (typeof fn !== 'function') {
      return Promise.reject(new CircuitBreakerError('ERR_INVALID_ARG', `execute(fn, fallbackOrOptions?): fn must be a function (got ${describe(fn)})`));
    }
    if (tracingCalls()) return this.traced(fn, fallbackOrOptions);
    if (fallbackOrOptions !== undefined && typeof fallbackOrOptions !== 'function') return this.executeWith(fn, fallbackOrOptions);
    return this.executePlain(fn, fallbackOrOptions);
  }

  /** `execute(fn, fallback?)`: the fast path while CLOSED with no failures pending, else `executeSlow`. */
  private executePlain<T, F>(fn: (signal: AbortSignal) => T | PromiseLike<T>, fallback: (() => F | PromiseLike<F>) | undefined): Promise<T | F> {
    const slot = this.slot;
    const generation = slot.tryAdmit();
    if (generation < 0) return this.executeSlow(fn, fallback);
    // Fast path: CLOSED with no failures pending, so a success changes no state.
    let result: T | PromiseLike<T>;
    try {
      result = fn(NEVER_ABORTED);
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

  /** `execute` with options (or a signal): admission as usual, then the call with its signal or timeout. */
  private executeWith<T, F>(fn: (signal: AbortSignal) => T | PromiseLike<T>, options: unknown): Promise<T | F> {
    let fallback: (() => F | PromiseLike<F>) | undefined;
    let signal: AbortSignal | undefined;
    let timeoutMs: number | undefined;
    if (options === null || typeof options !== 'object') return Promise.reject(badSecondArgument(options));
    // Reading the options may run a caller's getter or Proxy trap: whatever throws becomes the
    // rejection, never a synchronous throw.
    try {
      let aborted: boolean;
      // A bare AbortSignal (as cockatiel passes one); the cheap `aborted` read spares plain options
      // objects the instanceof walk.
      if ((options as { aborted?: unknown }).aborted !== undefined && options instanceof AbortSignal) {
        signal = options;
        aborted = signal.aborted;
      } else {
        ({ fallback, signal, timeoutMs } = options as ExecuteOptions<F>);
        aborted = checkOptions(options, fallback, signal, timeoutMs);
      }
      if (aborted) return Promise.reject(new CallAbortedError(this.agent, signal!.reason));
    } catch (error) {
      return Promise.reject(error);
    }
    const generation = this.slot.tryAdmit();
    if (generation >= 0) {
      const permit = fastPermit(generation);
      if (timeoutMs === undefined) return this.calls.withSignal(fn, permit, generation, signal ?? NEVER_ABORTED);
      return this.calls.run(fn, permit, generation, signal, timeoutMs);
    }
    const admitted = this.admitSlow(fallback);
    return typeof admitted === 'number' ? this.calls.run(fn, admitted, -1, signal, timeoutMs) : admitted;
  }

  /**
   * `execute` while someone listens on the call channels: start and end published, with the
   * duration and the outcome as the breaker counted it (see `CallOutcome`). fn is wrapped (keeping
   * its arity) to learn whether it ran and how it settled, whatever a fallback made of it.
   */
  private traced<T, F>(fn: (signal: AbortSignal) => T | PromiseLike<T>, second: unknown): Promise<T | F> {
    const agent = this.agent;
    const start = performance.now();
    if (callStartChannel.hasSubscribers) callStartChannel.publish({ agent });
    let ran: 'no' | 'running' | 'success' | 'failure' = 'no';
    let thrown: unknown;
    const settle = (result: () => T | PromiseLike<T>): Promise<T> => {
      ran = 'running';
      return new Promise<T>((resolve) => resolve(result())).then(
        (value) => {
          ran = 'success';
          return value;
        },
        (error: unknown) => {
          ran = 'failure';
          thrown = error;
          throw error;
        },
      );
    };
    // Arity 0 for a function that declares no parameter: it keeps the path that makes it no real
    // signal (a rest parameter does not count), and still gets the one it would have got.
    const watched = fn.length === 0 ? (...args: [AbortSignal]) => settle(() => fn(args[0])) : (signal: AbortSignal) => settle(() => fn(signal));
    const refusalsBefore = this.refusals;
    const plain = second === undefined || typeof second === 'function';
    const run = plain ? this.executePlain(watched, second as (() => F | PromiseLike<F>) | undefined) : this.executeWith<T, F>(watched, second);
    // Rejection is decided synchronously, inside execute.
    const refused = this.refusals !== refusalsBefore;
    const end = (failed: boolean, error?: unknown) => {
      if (!callEndChannel.hasSubscribers) return;
      const outcome = this.outcomeOfTraced(ran, refused, thrown, error);
      const message: CallEndMessage = { agent, durationMs: performance.now() - start, outcome };
      if (failed) message.error = error;
      callEndChannel.publish(message);
    };
    return run.then(
      (value) => {
        end(false);
        return value;
      },
      (error: unknown) => {
        end(true, error);
        throw error;
      },
    );
  }

  /** A traced call's outcome, in the words of `calls_total`: what the breaker counted. */
  private outcomeOfTraced(ran: 'no' | 'running' | 'success' | 'failure', refused: boolean, thrown: unknown, error: unknown): CallOutcome {
    // fn never ran: the breaker refused it, or it never reached the breaker (a bad argument, a signal aborted before).
    if (ran === 'no') return refused ? 'rejected' : 'released';
    // The caller's abort releases the permit, however fn took it.
    if (error instanceof CallAbortedError && error.agent === this.agent) return 'released';
    // Still running when the call settled: its timeout ended it, a `timeout` failure.
    if (ran === 'running') return 'failure';
    if (ran === 'success') return 'success';
    // The classifier decides whether the breaker counted it (asked again here: classifiers are pure).
    return this.engine.outcomeOf(thrown) === OUTCOME_RELEASED ? 'released' : 'failure';
  }

  /** A call the fast path cannot take: rejected without native code while surely OPEN, else decided natively. */
  private executeSlow<T, F>(fn: (signal: AbortSignal) => T | PromiseLike<T>, fallback: (() => F | PromiseLike<F>) | undefined): Promise<T | F> {
    const admitted = this.admitSlow(fallback);
    return typeof admitted === 'number' ? this.executeAdmitted(admitted, fn) : admitted;
  }

  /**
   * Admission off the fast path: a permit (>= 0), or the answer to a rejection (the fallback's, or
   * a `CircuitOpenError`), rejected without native code while the breaker surely stays OPEN.
   */
  private admitSlow<F>(fallback: (() => F | PromiseLike<F>) | undefined): number | Promise<F> {
    const waitMs = this.slot.tryReject();
    if (waitMs >= 0) return this.rejected(fallback, 'OPEN', waitMs, this.slot.isolated);
    const code = this.slot.admit(true);
    if (code >= 0) return code;
    return this.rejected(fallback, rejectedState(code), rejectedRetryAfterMs(code), rejectedIsolated(code));
  }

  /**
   * A call the breaker rejected: the fallback's answer, or a `CircuitOpenError` without a stack
   * trace (a rejection is expected control flow, and capturing a stack would cost more than the
   * rest of the call). The promise rejects one microtask later, once the caller has attached its
   * handler: a promise born rejected costs Node's unhandled-rejection bookkeeping, about 0.6 µs.
   */
  private rejected<F>(fallback: (() => F | PromiseLike<F>) | undefined, state: CircuitState, retryAfterMs: number, isolated: boolean): Promise<F> {
    this.refusals++;
    if (rejectionChannel.hasSubscribers) rejectionChannel.publish({ agent: this.agent, state, retryAfterMs, isolated });
    if (fallback !== undefined) {
      try {
        return Promise.resolve(fallback());
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const error = stackless(() => new CircuitOpenError(this.agent, state, retryAfterMs, isolated));
    return new Promise<never>((_, reject) => {
      SETTLED.then(() => reject(error));
    });
  }

  /** A call admitted natively (CLOSED with failures pending, or a HALF_OPEN probe). */
  private async executeAdmitted<T>(permit: number, fn: (signal: AbortSignal) => T | PromiseLike<T>): Promise<T> {
    let value: T;
    try {
      value = await fn(NEVER_ABORTED);
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

  /**
   * Holds the breaker OPEN, whatever the open timeout, until the returned function has been called
   * (and every other hold released); `reset()` ends every hold. The first hold opens the breaker
   * (transition reason `isolated`); releasing the last closes it (`isolation_ended`). Calling the
   * release function again does nothing.
   */
  isolate(): () => void {
    const token = this.engine.native.isolate(this.slot.index);
    this.engine.drainIfPending();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.engine.native.endIsolation(this.slot.index, token);
      this.engine.drainIfPending();
    };
  }

  /**
   * The breaker's state as a plain JSON object (state, generation, remaining open time,
   * consecutive counts, backoff step), for `restore` here or in another process.
   */
  snapshot(): BreakerSnapshot {
    const saved = JSON.parse(this.engine.native.snapshotJson(this.slot.index)) as BreakerSnapshot;
    this.engine.drainIfPending();
    return saved;
  }

  /**
   * Puts the breaker in the state of a `snapshot()` (transition reason `restored`); the remaining
   * open time counts from now, at most this breaker's open time. `ERR_INVALID_ARG` for anything
   * that is not a snapshot, or while the breaker is isolated. Permits issued before count as late.
   */
  restore(snapshot: BreakerSnapshot): void {
    let text: string | undefined;
    try {
      text = JSON.stringify(snapshot);
    } catch {
      text = undefined;
    }
    if (snapshot === null || typeof snapshot !== 'object' || text === undefined) {
      throw new CircuitBreakerError('ERR_INVALID_ARG', `restore(snapshot) takes an object from snapshot() (got ${describe(snapshot)})`);
    }
    this.engine.native.restoreJson(this.slot.index, text);
    this.engine.drainIfPending();
  }

  /**
   * This breaker as a cockatiel policy: `wrap(retry(...), breaker.asPolicy())` and
   * `wrap(breaker.asPolicy(), timeout(...))` compose as cockatiel's own policies do.
   */
  asPolicy(): BreakerPolicy {
    return toPolicy(this);
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

/** Fleet sync's hands on one breaker: internal, for `agent-circuit-breaker/fleet` only. */
export interface FleetControl {
  /** Another instance opened it: OPEN for `remainingMs` more (`remote_open`). */
  remoteOpen(remainingMs: number): void;
  /** Another instance closed it (`remote_close`). */
  remoteClose(): void;
  /** The probes it may still start in this recovery window; `null` for the local rules. */
  setProbeLeases(leases: number | null): void;
}

/** The fleet-sync operations of `breaker` (each drains the transitions it causes). */
export function fleetControl(breaker: CircuitBreaker): FleetControl {
  const engine = breaker['engine'];
  const slot = breaker['slot'].index;
  const run = (op: () => void): void => {
    op();
    engine.drainIfPending();
  };
  return {
    remoteOpen: (remainingMs) => run(() => engine.native.remoteOpen(slot, Math.min(BREAKER_LIMITS.maxDurationMs, Math.max(0, Math.round(remainingMs))))),
    remoteClose: () => run(() => engine.native.remoteClose(slot)),
    setProbeLeases: (leases) => run(() => engine.native.setProbeLeases(slot, leases)),
  };
}
