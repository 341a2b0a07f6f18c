/**
 * Instrumentation on `node:diagnostics_channel`, at no cost when nobody listens (each publish is
 * behind the channel's `hasSubscribers`, as undici does). A tracing integration subscribes by name:
 *
 * - `agent-circuit-breaker:transition`: every `TransitionEvent`, once, in order.
 * - `agent-circuit-breaker:rejection`: `{ agent, state, retryAfterMs, isolated }` for each call the
 *   breaker rejects (with or without a fallback).
 * - `agent-circuit-breaker:call:start`: `{ agent }` when `execute` starts a call.
 * - `agent-circuit-breaker:call:end`: `{ agent, durationMs, error? }` when that call's promise settles
 *   (`error` is absent on success; a rejected call with a fallback ends without one).
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
