/**
 * Prometheus metrics for the breakers, through prom-client. Each family reads the native status
 * snapshot at scrape time (one snapshot per scrape, shared by the families), so nothing is kept in
 * JavaScript between scrapes. `registerCircuitMetrics` adds them to any prom-client registry.
 */

import { Registry, type Metric } from 'prom-client';
import type { BreakerStatus, CircuitState } from 'agent-circuit-breaker';

/** What the metrics are read from at scrape time. */
export interface CircuitMetricsSource {
  /** Every breaker's status. */
  statuses(): BreakerStatus[];
  /** Fallbacks served per agent, if known. */
  fallbacks?(agent: string): { cached: number; empty: number };
}

type Labels = Record<string, string>;
type Value = { value: number; labels: Labels; metricName?: string };
type Family = { name: string; help: string; type: 'gauge' | 'counter' | 'summary'; values: (s: BreakerStatus[], src: CircuitMetricsSource) => Value[] };

const STATES: CircuitState[] = ['CLOSED', 'OPEN', 'HALF_OPEN'];

const per = (s: BreakerStatus[], f: (x: BreakerStatus) => Value[]) => s.flatMap(f);

/** The metric families, by name. */
export const FAMILIES: Family[] = [
  {
    name: 'agent_circuit_state',
    help: 'Circuit breaker state: 1 for the current state, 0 for the others.',
    type: 'gauge',
    values: (s) => per(s, (x) => STATES.map((state) => ({ value: x.state === state ? 1 : 0, labels: { agent: x.agent, state } }))),
  },
  {
    name: 'agent_circuit_transitions_total',
    help: 'State transitions by from and to state.',
    type: 'counter',
    values: (s) => per(s, (x) => x.transitions.map((t) => ({ value: t.count, labels: { agent: x.agent, from: t.from, to: t.to } }))),
  },
  {
    name: 'agent_circuit_calls_total',
    help: 'Calls by outcome: success, failure, rejected (not made), released (did not count), late (stale outcome ignored).',
    type: 'counter',
    values: (s) =>
      per(s, (x) =>
        (
          [
            ['success', x.calls.successes],
            ['failure', x.calls.failures],
            ['rejected', x.calls.rejections],
            ['released', x.calls.released],
            ['late', x.calls.lateOutcomes],
          ] as const
        ).map(([outcome, value]) => ({ value, labels: { agent: x.agent, outcome } })),
      ),
  },
  {
    name: 'agent_circuit_failures_total',
    help: 'Failed calls by reason.',
    type: 'counter',
    values: (s) =>
      per(s, (x) => Object.entries(x.calls.failuresByReason).map(([reason, value]) => ({ value, labels: { agent: x.agent, reason } }))),
  },
  {
    name: 'agent_circuit_fallbacks_total',
    help: 'Fallbacks served instead of an analysis, by source: cached (last good analysis) or empty.',
    type: 'counter',
    values: (s, src) =>
      src.fallbacks
        ? per(s, (x) => {
            const f = src.fallbacks!(x.agent);
            return [
              { value: f.cached, labels: { agent: x.agent, source: 'cached' } },
              { value: f.empty, labels: { agent: x.agent, source: 'empty' } },
            ];
          })
        : [],
  },
  {
    name: 'agent_circuit_error_ratio',
    help: 'Failures / calls over the rolling error-rate window.',
    type: 'gauge',
    values: (s) => per(s, (x) => [{ value: x.errorRate.ratio, labels: { agent: x.agent } }]),
  },
  {
    name: 'agent_circuit_consecutive_failures',
    help: 'Failures in a row since the last success or close.',
    type: 'gauge',
    values: (s) => per(s, (x) => [{ value: x.consecutiveFailures, labels: { agent: x.agent } }]),
  },
  {
    name: 'agent_circuit_open_remaining_seconds',
    help: 'Seconds until an OPEN breaker lets a probe through (0 when not OPEN).',
    type: 'gauge',
    values: (s) => per(s, (x) => [{ value: x.openRemainingMs / 1000, labels: { agent: x.agent } }]),
  },
  {
    name: 'agent_circuit_recovery_seconds',
    help: 'Recovery time: from OPEN to CLOSED again.',
    type: 'summary',
    values: (s) =>
      per(s, (x) => [
        { metricName: 'agent_circuit_recovery_seconds_sum', value: x.recovery.sumMs / 1000, labels: { agent: x.agent } },
        { metricName: 'agent_circuit_recovery_seconds_count', value: x.recovery.count, labels: { agent: x.agent } },
      ]),
  },
];

/**
 * Adds the breaker metric families to `registry` (a user's own, or a new one), read from `source`
 * at every scrape. Returns the registry.
 */
export function registerCircuitMetrics(source: CircuitMetricsSource, registry: Registry = new Registry()): Registry {
  let scrape: BreakerStatus[] | undefined;
  const statuses = () => {
    if (!scrape) {
      scrape = source.statuses();
      // prom-client asks every family synchronously when a scrape starts: they share this snapshot,
      // and the next scrape takes a new one.
      queueMicrotask(() => (scrape = undefined));
    }
    return scrape;
  };
  for (const family of FAMILIES) {
    const metric = {
      name: family.name,
      help: family.help,
      type: family.type,
      aggregator: 'sum',
      get: async () => ({
        name: family.name,
        help: family.help,
        type: family.type,
        aggregator: 'sum',
        values: family.values(statuses(), source),
      }),
      reset: () => undefined,
    };
    registry.registerMetric(metric as unknown as Metric);
  }
  return registry;
}
