/**
 * Instrumentation on `node:diagnostics_channel`, at no cost when nobody listens (each publish is
 * behind the channel's `hasSubscribers`, as undici does). A tracing integration subscribes by name:
 *
 * - `agent-circuit-breaker:transition`: every `TransitionEvent`, once, in order.
 * - `agent-circuit-breaker:rejection`: `{ agent, state, retryAfterMs, isolated }` for each call the
 *   breaker rejects (with or without a fallback).
 * - `agent-circuit-breaker:call:start`: `{ agent }` when `execute` starts a call.
 * - `agent-circuit-breaker:call:end`: `{ agent, durationMs, outcome, error? }` when that call's
 *   promise settles (`CallEndMessage`). `error` is what the promise rejected with (absent when it
 *   resolved, a fallback's answer included); `outcome` is what happened to the call itself.
 */

import diagnostics from 'node:diagnostics_channel';

/** Every transition. */
export const transitionChannel = diagnostics.channel('agent-circuit-breaker:transition');
/** Every rejected call. */
export const rejectionChannel = diagnostics.channel('agent-circuit-breaker:rejection');
/** The start of every `execute` call. */
export const callStartChannel = diagnostics.channel('agent-circuit-breaker:call:start');
/** The end of every `execute` call, with its duration. */
export const callEndChannel = diagnostics.channel('agent-circuit-breaker:call:end');

/** True when calls are to be traced (someone subscribed to the start or end channel). */
export function tracingCalls(): boolean {
  return callStartChannel.hasSubscribers || callEndChannel.hasSubscribers;
}

/**
 * What happened to a call, as the call:end channel reports it: `success` (fn resolved), `failure`
 * (fn threw or rejected), `timeout` (fn was still running when `timeoutMs` ended the call),
 * `aborted` (still running when the caller's signal ended it), `rejected` (fn never ran: the
 * breaker refused the call, or the signal was aborted before admission).
 */
export type CallOutcome = 'success' | 'failure' | 'timeout' | 'aborted' | 'rejected';

/** The call:end channel's message. */
export interface CallEndMessage {
  /** The breaker's agent id. */
  agent: string;
  /** Milliseconds from `execute` to the promise settling. */
  durationMs: number;
  /** What happened to the call itself. */
  outcome: CallOutcome;
  /** What the promise rejected with; absent when it resolved. */
  error?: unknown;
}
