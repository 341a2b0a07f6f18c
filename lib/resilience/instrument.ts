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
 *   resolved, a fallback's answer included); `outcome` is what the breaker counted (`CallOutcome`).
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
 * What the breaker counted for a call, as the call:end channel reports it, in the words of
 * `agent_circuit_calls_total`: `success` (fn resolved), `failure` (fn threw or rejected and the
 * classifier counts it, or `timeoutMs` ended it: a `timeout` failure), `rejected` (the breaker
 * refused it; fn never ran), `released` (nothing counted: the caller's signal ended it, the classifier
 * does not count the error, or it never reached the breaker: a bad argument, a signal aborted
 * before the call).
 */
export type CallOutcome = 'success' | 'failure' | 'rejected' | 'released';

/** Every `CallOutcome`. */
export const CALL_OUTCOMES: readonly CallOutcome[] = Object.freeze(['success', 'failure', 'rejected', 'released']);

/** The call:end channel's message. */
export interface CallEndMessage {
  /** The breaker's agent id. */
  agent: string;
  /** Milliseconds from `execute` to the promise settling. */
  durationMs: number;
  /** What the breaker counted for the call. */
  outcome: CallOutcome;
  /** What the promise rejected with; absent when it resolved. */
  error?: unknown;
}

/**
 * A call:end message as this package publishes it, or undefined for anything else (the channel's
 * name is public: a subscriber must not trust what arrives on it).
 */
export function callEnded(message: unknown): CallEndMessage | undefined {
  if (message === null || typeof message !== 'object') return undefined;
  const { agent, durationMs, outcome } = message as Partial<CallEndMessage>;
  const ok = typeof agent === 'string' && typeof durationMs === 'number' && durationMs >= 0 && Number.isFinite(durationMs) && CALL_OUTCOMES.includes(outcome as CallOutcome);
  return ok ? (message as CallEndMessage) : undefined;
}
