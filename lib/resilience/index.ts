/**
 * agent-circuit-breaker: per-agent circuit breakers for Node.js, with a Rust state machine behind a
 * Node-API addon.
 */

export { ManualClock } from './native';
export { AgentCircuitBreaker, DEFAULT_AGENTS, MARKETPLACE_AGENTS } from './agent-circuit-breaker';
export type { AgentCircuitBreakerOptions } from './agent-circuit-breaker';
export { CircuitBreaker } from './circuit-breaker';
export type { CircuitBreakerOptions } from './circuit-breaker';
export { CallAbortedError, CallTimeoutError, CircuitBreakerError, CircuitOpenError } from './errors';
export type { ExecuteOptions } from './call';
export { CALL_OUTCOMES, callEnded } from './instrument';
export type { CallEndMessage, CallOutcome } from './instrument';
export type { BreakerPolicy, PolicyContext, PolicyEvent } from './policy';
export {
  BREAKER_LIMITS,
  DEFAULT_CONFIG,
  DEFAULT_MAX_AGENTS,
  ERROR_CODES,
  FAILURE_REASONS,
  FAILURE_WORDING,
  STATES,
  TABLE_COLUMNS,
  TRANSITION_REASONS,
} from './contract';
export type { ErrorCode } from './errors';
export type { BreakerSnapshot } from './contract';
export type {
  BreakerConfig,
  BreakerStatus,
  CircuitState,
  ErrorClassifier,
  FailureReason,
  MetricsTable,
  TransitionEvent,
  TransitionListener,
  TransitionReason,
} from './types';
