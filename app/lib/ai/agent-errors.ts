/**
 * The agent loop's errors: `AgentCallError` is a call that produced no analysis (the breaker counts
 * it or not); the others reach the caller, each with a `code`.
 */

import type { FailureReason } from 'agent-circuit-breaker';

/** A call that did not produce an analysis; `countsAgainstAgent` says whether the breaker counts it. */
export class AgentCallError extends Error {
  constructor(
    message: string,
    readonly reason: Exclude<FailureReason, 'error'>,
    readonly countsAgainstAgent: boolean,
    readonly publicError?: unknown,
  ) {
    super(message);
    this.name = 'AgentCallError';
  }
}

/**
 * The agent refused the request itself (a 4xx other than 429): the caller's problem. The message
 * does not carry the agent's body (it may reach API clients); the loop logs it instead.
 */
export class AgentRequestError extends Error {
  readonly code = 'ERR_AGENT_REQUEST';
  constructor(
    readonly agent: string,
    readonly status: number,
  ) {
    super(`agent "${agent}" refused the request with HTTP ${status}`);
    this.name = 'AgentRequestError';
  }
}

/** A call option that cannot be used: the message names the value and what is allowed. */
export class AgentArgumentError extends Error {
  readonly code = 'ERR_INVALID_ARG';
  constructor(message: string) {
    super(message);
    this.name = 'AgentArgumentError';
  }
}

/** The caller's signal aborted the call; `cause` is the signal's reason, whatever it is. */
export class AgentAbortError extends Error {
  readonly code = 'ERR_ABORTED';
  constructor(agent: string, reason: unknown) {
    const why = reason instanceof Error ? `: ${reason.message}` : '';
    super(`the call to agent "${agent}" was aborted by the caller${why}`, { cause: reason });
    this.name = 'AbortError';
  }
}

/** The input cannot be sent (not serializable as JSON). */
export class AgentInputError extends Error {
  readonly code = 'ERR_INVALID_INPUT';
  constructor(message: string) {
    super(message);
    this.name = 'AgentInputError';
  }
}

/** The failure of a request that got no answer: the size cap is the agent's fault (`invalid_response`), the rest `network`. */
export function unreachable(agentId: string, error: unknown): AgentCallError {
  if ((error as { code?: unknown })?.code === 'ERR_RESPONSE_TOO_LARGE') {
    return new AgentCallError(`agent "${agentId}" answered too much: ${(error as Error).message}`, 'invalid_response', true);
  }
  const cause = (error as { cause?: { code?: string } })?.cause?.code ?? (error instanceof Error ? error.message : 'unknown error');
  return new AgentCallError(`agent "${agentId}" could not be reached: ${cause}`, 'network', true);
}
