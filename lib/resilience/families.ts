/**
 * The metric families' meanings, stated once for both exporters (`agent-circuit-breaker/prometheus`
 * and `agent-circuit-breaker/otel`): each family's help text by its Prometheus name, the calls
 * outcomes and the metrics-table column each reads, and the call-duration buckets. Loads neither
 * prom-client nor @opentelemetry/api.
 */

import { CircuitBreakerError, describe } from './errors';
import { CALL_OUTCOMES } from './instrument';
import type { CircuitMetricsSource } from './types';

/**
 * Throws ERR_INVALID_ARG for a source either exporter could not read, before it registers anything:
 * `breakers` without `metricsTable()`, or a `fallbacks` or `fleet` that is given but not a function.
 */
export function checkMetricsSource(source: unknown, caller: string): asserts source is CircuitMetricsSource {
  const s = source as Partial<Record<keyof CircuitMetricsSource, unknown>> | null;
  if (s === null || typeof s !== 'object') {
    throw new CircuitBreakerError('ERR_INVALID_ARG', `${caller} source must be an object { breakers, fallbacks?, fleet? } (got ${describe(source)})`);
  }
  if (s.breakers === null || typeof s.breakers !== 'object' || typeof (s.breakers as { metricsTable?: unknown }).metricsTable !== 'function') {
    throw new CircuitBreakerError('ERR_INVALID_ARG', `source.breakers must be an AgentCircuitBreaker, or anything with its metricsTable() (got ${describe(s.breakers)})`);
  }
  for (const key of ['fallbacks', 'fleet'] as const) {
    if (s[key] !== undefined && typeof s[key] !== 'function') {
      throw new CircuitBreakerError('ERR_INVALID_ARG', `source.${key} must be a function when given (got ${describe(s[key])})`);
    }
  }
}

/** Each family's help text (the OpenTelemetry instrument's description), by its Prometheus name. */
export const FAMILY_HELP = Object.freeze({
  agent_circuit_state: 'Circuit breaker state: 1 for the current state, 0 for the others.',
  agent_circuit_transitions_total: 'State transitions by from and to state (every pair from the start, at 0 until it happens).',
  agent_circuit_calls_total: 'Calls by outcome: success, failure, rejected (not made), released (did not count), late (stale outcome ignored).',
  agent_circuit_failures_total: 'Failed calls by reason.',
  agent_circuit_fallbacks_total: 'Fallbacks served instead of an analysis, by source: cached (last good analysis) or empty.',
  agent_circuit_error_ratio: 'Failures / calls over the rolling error-rate window.',
  agent_circuit_consecutive_failures: 'Failures in a row since the last success or close.',
  agent_circuit_open_remaining_seconds: 'Seconds until an OPEN breaker lets a probe through (0 when not OPEN).',
  agent_circuit_isolated: 'Held OPEN by an operator (isolate, Hold open): 1 until every hold is released or the breaker is reset, else 0.',
  agent_circuit_recovery_seconds: 'Recovery time: from OPEN to CLOSED again by successful probes.',
  agent_circuit_call_duration_seconds: `Duration of execute calls by outcome, as agent_circuit_calls_total counts them: ${CALL_OUTCOMES.join(', ')}.`,
  agent_circuit_redis_up: 'Fleet mode: 1 while the last sync with Redis succeeded, else 0 (the breakers then run on local rules).',
  agent_circuit_sync_errors_total: 'Fleet mode: Redis commands that failed or timed out.',
  agent_circuit_remote_transitions_total: 'Fleet mode: transitions applied here because another instance made them, by from and to state.',
});

/** A family's Prometheus name. */
export type FamilyName = keyof typeof FAMILY_HELP;

/** The calls outcomes of `agent_circuit_calls_total` and the metrics-table column each reads. */
export const CALLS_COLUMNS = Object.freeze([
  ['success', 'successes'],
  ['failure', 'failures'],
  ['rejected', 'rejections'],
  ['released', 'released'],
  ['late', 'lateOutcomes'],
] as const);

/** The call-duration histogram's default upper bounds, in seconds: 5 ms to a minute. */
export const CALL_DURATION_BUCKETS: readonly number[] = Object.freeze([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]);
