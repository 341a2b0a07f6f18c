/** Errors thrown by agent-circuit-breaker. Each carries a stable `code`; assert on it, not on the class. */

import type { CircuitState, ErrorCode } from './contract';

/** The codes this package's errors carry (generated from `src/types.rs`). */
export type { ErrorCode };

/** An error from agent-circuit-breaker's TypeScript layer. Native errors carry the same codes. */
export class CircuitBreakerError extends Error {
  /** The stable error code. */
  declare readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'CircuitBreakerError';
    this.code = code;
  }
}

/** Thrown (as a rejection) by `execute` when the breaker rejects the call and no fallback was given. */
export class CircuitOpenError extends CircuitBreakerError {
  /** The agent whose breaker rejected the call. */
  declare readonly agent: string;
  /** OPEN, HALF_OPEN with all probes in flight, or (rarely) CLOSED holding the most unreported permits. */
  declare readonly state: CircuitState;
  /**
   * Milliseconds until the breaker lets a probe through (0 when HALF_OPEN). While isolated, the
   * open time, as a hint: the breaker stays OPEN until released.
   */
  declare readonly retryAfterMs: number;
  /** True when the breaker is held OPEN by `isolate()`. */
  declare readonly isolated: boolean;

  constructor(agent: string, state: CircuitState, retryAfterMs: number, isolated = false) {
    const why = isolated
      ? 'held open by isolate() until every hold is released (or a reset)'
      : state === 'OPEN'
        ? `open; retry after ${retryAfterMs} ms`
        : state === 'HALF_OPEN'
          ? 'half-open with all probes in flight'
          : 'closed but holds 1048575 permits not yet reported (report or release them)';
    super('ERR_CIRCUIT_OPEN', `circuit for agent "${agent}" is ${why}`);
    this.name = 'CircuitOpenError';
    this.agent = agent;
    this.state = state;
    this.retryAfterMs = retryAfterMs;
    this.isolated = isolated;
  }
}

/** Rejection of `execute` when the call ran past its `timeoutMs` (counted as a `timeout` failure). */
export class CallTimeoutError extends CircuitBreakerError {
  /** The agent whose call timed out. */
  declare readonly agent: string;
  /** The timeout that passed, in milliseconds. */
  declare readonly timeoutMs: number;

  constructor(agent: string, timeoutMs: number) {
    super('ERR_CALL_TIMEOUT', `call to agent "${agent}" did not settle within ${timeoutMs} ms`);
    this.name = 'TimeoutError';
    this.agent = agent;
    this.timeoutMs = timeoutMs;
  }
}

/** Rejection of `execute` when the caller's signal aborted the call: nothing counted; the reason is the `cause`. */
export class CallAbortedError extends CircuitBreakerError {
  /** The agent whose call was aborted. */
  declare readonly agent: string;

  constructor(agent: string, reason: unknown) {
    super('ERR_ABORTED', `call to agent "${agent}" was aborted: ${describe(reason)}`);
    this.name = 'AbortError';
    this.agent = agent;
    Object.defineProperty(this, 'cause', { value: reason, configurable: true, writable: true });
  }
}

/** Describes any value for an error message without calling its methods; never throws. */
export function describe(value: unknown): string {
  try {
    return describeUnsafe(value);
  } catch {
    return 'a value that cannot be described';
  }
}

/** `describe`, which a Proxy trap or a throwing `message` getter can make throw. */
function describeUnsafe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 140 ? `${value.slice(0, 140)}...` : value);
  if (value instanceof Error) return value.message;
  if (value === null || (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol')) {
    return `${value as string}`;
  }
  return `a value of type ${typeof value}`;
}
