/**
 * `execute`'s options path: a call with the caller's `AbortSignal`, a `timeoutMs`, or both. The
 * function gets an `AbortSignal` that aborts on the call's timeout (counted as a `timeout` failure;
 * the promise rejects with `ERR_CALL_TIMEOUT`) or on the caller's signal (the permit is released,
 * nothing is counted, and the promise rejects with `ERR_ABORTED`, the reason as its `cause`). A
 * function that declares no parameter gets a signal that never aborts (making one costs 2 µs).
 */

import { BREAKER_LIMITS } from './contract';
import type { Engine } from './engine';
import { CallAbortedError, CallTimeoutError, CircuitBreakerError, describe } from './errors';
import { OUTCOME_RELEASED, OUTCOME_SUCCESS, failureOutcome, type Slot } from './words';

/** The second argument of `execute` when it is not a fallback function. */
export interface ExecuteOptions<F> {
  /** Called instead of the function when the breaker rejects the call. */
  fallback?: () => F | PromiseLike<F>;
  /**
   * The caller's signal: aborting it releases the call's permit (nothing is counted) and rejects
   * with `ERR_ABORTED`. Without `timeoutMs` the function gets this signal itself, and the promise
   * settles when the function does: pass the signal on (fetch does), or set `timeoutMs` too.
   */
  signal?: AbortSignal;
  /** Gives up on the call after this many milliseconds (a `timeout` failure), 1..=86400000. */
  timeoutMs?: number;
}

/** A signal that never aborts: what the function gets when the caller gave none. */
export const NEVER_ABORTED: AbortSignal = new AbortController().signal;

/**
 * Checks `execute`'s options object (its fields read by the caller) and returns whether its signal
 * has aborted; throws ERR_INVALID_ARG naming the bad option. An object with none of the known
 * options is refused as a likely typo.
 */
export function checkOptions(o: object, fallback: unknown, signal: unknown, timeoutMs: unknown): boolean {
  if (fallback !== undefined && typeof fallback !== 'function') {
    throw new CircuitBreakerError('ERR_INVALID_ARG', `execute options: fallback must be a function (got ${describe(fallback)})`);
  }
  // Whether the signal has aborted: read once, and what checks it is a signal (an AbortSignal, or
  // with a timeout, where its events are used, exactly one).
  const aborted = signal === undefined ? false : (signal as { aborted?: unknown }).aborted;
  if (typeof aborted !== 'boolean' || (timeoutMs !== undefined && signal !== undefined && !(signal instanceof AbortSignal))) {
    throw new CircuitBreakerError('ERR_INVALID_ARG', `execute options: signal must be an AbortSignal (got ${describe(signal)})`);
  }
  const max = BREAKER_LIMITS.maxDurationMs;
  if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && (timeoutMs as number) >= 1 && (timeoutMs as number) <= max)) {
    throw new CircuitBreakerError('ERR_INVALID_ARG', `execute options: timeoutMs must be an integer number of milliseconds in 1..=${max} (got ${describe(timeoutMs)})`);
  }
  if (fallback === undefined && signal === undefined && timeoutMs === undefined) {
    const keys = Object.keys(o);
    if (keys.length > 0) {
      throw new CircuitBreakerError('ERR_INVALID_ARG', `execute options: unknown option "${keys[0]}"; known options are fallback, signal, timeoutMs`);
    }
  }
  return aborted;
}

/** The error for `execute`'s second argument when it is neither a function, an object nor a signal. */
export function badSecondArgument(o: unknown): CircuitBreakerError {
  return new CircuitBreakerError('ERR_INVALID_ARG', `execute's second argument must be a fallback function, an options object or an AbortSignal (got ${describe(o)})`);
}

/** Whether `signal` has aborted; false if a caller's look-alike signal throws on reading it. */
function abortedOf(signal: AbortSignal): boolean {
  try {
    return signal.aborted === true;
  } catch {
    return false;
  }
}

/** The abort reason; the error itself if a caller's look-alike signal throws on reading it. */
function reasonOf(signal: AbortSignal): unknown {
  try {
    return signal.reason;
  } catch (error) {
    return error;
  }
}

/** One breaker's way of running admitted calls with a signal or a timeout. */
export class Calls {
  constructor(
    private readonly agent: string,
    private readonly slot: Slot,
    private readonly engine: Engine,
  ) {}

  /**
   * Runs `fn`, admitted with `permit` (on the fast path when `generation >= 0`, and `permit` is then
   * that generation's token-0 permit), with the caller's `signal` and/or a timeout, and reports its
   * outcome once.
   */
  run<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>, permit: number, generation: number, signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<T> {
    if (timeoutMs === undefined) return this.withSignal(fn, permit, generation, signal ?? NEVER_ABORTED);
    return this.withTimeout(fn, permit, generation, signal, timeoutMs);
  }

  /** No timeout: `fn` gets the caller's signal; an abort seen when `fn` settles releases the permit. */
  withSignal<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>, permit: number, generation: number, signal: AbortSignal): Promise<T> {
    let result: T | PromiseLike<T>;
    try {
      result = fn(signal);
    } catch (error) {
      return Promise.reject(this.ended(permit, generation, signal, { error }));
    }
    return Promise.resolve(result).then(
      (value) => {
        if (abortedOf(signal)) return Promise.reject(this.ended(permit, generation, signal, undefined));
        this.succeeded(permit, generation);
        return value;
      },
      (error) => {
        throw this.ended(permit, generation, signal, { error });
      },
    );
  }

  /**
   * With a timeout: `fn` gets a signal of its own that aborts on the timeout or the caller's signal.
   * Node makes an AbortSignal in about 2 µs, so a function that declares no parameter (`fn.length`
   * 0), which cannot read it, gets the never-aborting one instead.
   */
  private withTimeout<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>, permit: number, generation: number, signal: AbortSignal | undefined, timeoutMs: number): Promise<T> {
    const controller = fn.length > 0 ? new AbortController() : undefined;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        return true;
      };
      const onAbort = () => {
        if (!finish()) return;
        controller?.abort(signal!.reason);
        this.slot.settle(permit, OUTCOME_RELEASED);
        reject(new CallAbortedError(this.agent, signal!.reason));
      };
      const timer = setTimeout(() => {
        if (!finish()) return;
        const error = new CallTimeoutError(this.agent, timeoutMs);
        controller?.abort(error);
        this.slot.settle(permit, failureOutcome('timeout'));
        reject(error);
      }, timeoutMs);
      timer.unref?.();
      signal?.addEventListener('abort', onAbort, { once: true });
      // A listener run during admission may have aborted it already: no event will come.
      if (signal?.aborted) {
        onAbort();
        return;
      }
      let result: T | PromiseLike<T>;
      try {
        result = fn(controller === undefined ? NEVER_ABORTED : controller.signal);
      } catch (error) {
        result = Promise.reject(error);
      }
      Promise.resolve(result).then(
        (value) => {
          if (!finish()) return;
          this.succeeded(permit, generation);
          resolve(value);
        },
        (error) => {
          if (!finish()) return;
          this.slot.settle(permit, this.engine.outcomeOf(error));
          reject(error);
        },
      );
    });
  }

  /** Counts a success: on the fast path without native code when nothing changed meanwhile. */
  private succeeded(permit: number, generation: number): void {
    if (generation >= 0) this.slot.creditSuccess(generation);
    else this.slot.settle(permit, OUTCOME_SUCCESS);
  }

  /**
   * A call that ended in an error, or in a value after its signal aborted: released (and an
   * `ERR_ABORTED` error returned) when the caller aborted, else counted as the error's failure.
   */
  private ended(permit: number, generation: number, signal: AbortSignal, failure: { error: unknown } | undefined): unknown {
    if (abortedOf(signal)) {
      this.slot.settle(permit, OUTCOME_RELEASED);
      return new CallAbortedError(this.agent, reasonOf(signal));
    }
    this.slot.settle(permit, this.engine.outcomeOf(failure?.error));
    return failure?.error;
  }
}
