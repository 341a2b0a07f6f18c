/**
 * A breaker as a cockatiel policy (cockatiel 4's `IPolicy` shape), so that cockatiel's `wrap`
 * composes it with retries, timeouts and bulkheads: `wrap(retry(handleAll, ...), breaker.asPolicy())`.
 */

import { performance } from 'node:perf_hooks';
import type { CircuitBreaker } from './circuit-breaker';

/** A cockatiel-style event: subscribe with a listener, get back what unsubscribes it. */
export type PolicyEvent<E> = (listener: (event: E) => void) => { dispose(): void };

/** The context cockatiel hands to the function a policy runs. */
export interface PolicyContext {
  /** Aborts on the call's timeout or the caller's signal. */
  signal: AbortSignal;
}

/** What cockatiel's `wrap` needs of a policy; structurally a cockatiel `IPolicy`. */
export interface BreakerPolicy {
  /** Type-only, as in cockatiel: never set. */
  readonly _altReturn: never;
  /** Fires when a call succeeds, with its duration in milliseconds. */
  readonly onSuccess: PolicyEvent<{ duration: number }>;
  /** Fires when a call fails or is rejected, with its duration and the error. */
  readonly onFailure: PolicyEvent<{ duration: number; handled: boolean; reason: { error: unknown } }>;
  /** Runs `fn` through the breaker; `signal` aborts it (the permit is released, nothing counted). */
  execute<T>(fn: (context: PolicyContext) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T>;
}

/** Listeners of one event, and the subscribe function cockatiel calls. */
function event<E>(): { fire(e: E): void; subscribe: PolicyEvent<E> } {
  const listeners = new Set<(e: E) => void>();
  return {
    fire: (e) => listeners.forEach((l) => l(e)),
    subscribe: (listener) => {
      const own = (e: E) => listener(e); // one entry per subscription, even for the same function
      listeners.add(own);
      return { dispose: () => void listeners.delete(own) };
    },
  };
}

/** `breaker` as a cockatiel policy. */
export function toPolicy(breaker: CircuitBreaker): BreakerPolicy {
  const success = event<{ duration: number }>();
  const failure = event<{ duration: number; handled: boolean; reason: { error: unknown } }>();
  return {
    _altReturn: undefined as never,
    onSuccess: success.subscribe,
    onFailure: failure.subscribe,
    execute<T>(fn: (context: PolicyContext) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> {
      const start = performance.now();
      const run = breaker.execute<T>((s) => fn({ signal: s }), signal === undefined ? undefined : { signal });
      return run.then(
        (value) => {
          success.fire({ duration: performance.now() - start });
          return value;
        },
        (error: unknown) => {
          failure.fire({ duration: performance.now() - start, handled: true, reason: { error } });
          throw error;
        },
      );
    },
  };
}
