/**
 * The caller's side of a call, checked before anything is sent: the input must serialize as JSON
 * and the options must be usable. A mistake here rejects and is never counted against the agent.
 */

import { AgentArgumentError, AgentInputError } from './agent-errors';
import type { CallOptions } from './agent-types';

/** A call's options, checked: the timeout to use and the caller's signal, if any. */
export interface CheckedCall {
  timeoutMs: number;
  signal?: AbortSignal;
}

/** The request body: `input` as JSON text; throws `AgentInputError` if it cannot be serialized. */
export function serialize(input: unknown): string {
  let body: string | undefined;
  try {
    body = JSON.stringify(input);
  } catch (error) {
    throw new AgentInputError(`the input cannot be serialized as JSON: ${(error as Error).message}`);
  }
  if (body === undefined) throw new AgentInputError('the input cannot be serialized as JSON: it is undefined or a function');
  return body;
}

/** A value as an error message shows it: numbers as written (NaN, Infinity), strings quoted. */
function shown(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  return value === null ? 'null' : typeof value;
}

/** A call's options, checked against the loop's `AGENT_TIMEOUT_MS`; throws `AgentArgumentError` naming the bad value. */
export function checkOptions(options: unknown, maxTimeoutMs: number): CheckedCall {
  if (options === undefined) return { timeoutMs: maxTimeoutMs };
  if (options === null || typeof options !== 'object') {
    throw new AgentArgumentError(`options must be an object (got ${shown(options)})`);
  }
  const { timeoutMs = maxTimeoutMs, signal } = options as CallOptions;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > maxTimeoutMs) {
    throw new AgentArgumentError(
      `options.timeoutMs must be an integer in 1..=${maxTimeoutMs} (the loop's AGENT_TIMEOUT_MS) (got ${shown(timeoutMs)})`,
    );
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new AgentArgumentError(`options.signal must be an AbortSignal (got ${shown(signal)})`);
  }
  return { timeoutMs, signal };
}
