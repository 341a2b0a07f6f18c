/**
 * Type-level check (run by `npm run typecheck`): `breaker.asPolicy()` is a cockatiel `IPolicy`, so
 * cockatiel's `wrap` accepts it beside its own policies. This file compiles or the test command fails.
 */

import type { IPolicy, TimeoutStrategy, wrap as Wrap, retry as Retry, timeout as Timeout } from 'cockatiel';
import type { CircuitBreaker } from '../../lib/resilience';

declare const breaker: CircuitBreaker;
declare const wrap: typeof Wrap;
declare const retry: typeof Retry;
declare const timeout: typeof Timeout;
declare const handleAll: Parameters<typeof Retry>[0];
declare const aggressive: TimeoutStrategy;

export const asIPolicy: IPolicy = breaker.asPolicy();
// @ts-expect-error a string is not a policy: proves this file is checked at all
export const notAPolicy: IPolicy = "no";
export const retried = wrap(retry(handleAll, { maxAttempts: 2 }), breaker.asPolicy());
export const timed = wrap(breaker.asPolicy(), timeout(20, aggressive));
export const answer: Promise<number> = retried.execute(async ({ signal }) => (signal.aborted ? 0 : 1));
