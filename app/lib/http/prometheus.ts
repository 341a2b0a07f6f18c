/**
 * Prometheus metrics for the breakers, through prom-client. Every family reads the native metrics
 * table at scrape time (one table per scrape, shared by the families: numbers only, no JSON), so
 * nothing is kept in JavaScript between scrapes. `registerCircuitMetrics` adds them to any
 * prom-client registry.
 */

import { Registry, type Metric } from 'prom-client';
import { FAILURE_REASONS, STATES, type MetricsTable } from 'agent-circuit-breaker';
import type { FleetStatus } from 'agent-circuit-breaker/fleet';

/** What the metrics are read from at scrape time. */
export interface CircuitMetricsSource {
  /** The breakers: an `AgentCircuitBreaker`, or anything with its `metricsTable()`. */
  breakers: { metricsTable(): MetricsTable };
  /** Fallbacks served per agent, if known. */
  fallbacks?(agent: string): { cached: number; empty: number };
  /** Fleet mode's link, when it is on. */
  fleet?(): FleetStatus | undefined;
}

type Labels = Record<string, string>;
type Value = { value: number; labels: Labels; metricName?: string };
/** One row of the table, read by column name. */
type Row = { agent: string; get(column: string): number };
type Family = { name: string; help: string; type: 'gauge' | 'counter' | 'summary'; values: (row: Row, src: CircuitMetricsSource) => Value[] };

const OUTCOMES = [
  ['success', 'successes'],
  ['failure', 'failures'],
  ['rejected', 'rejections'],
  ['released', 'released'],
  ['late', 'lateOutcomes'],
] as const;

/** The metric families. */
export const FAMILIES: Family[] = [
  {
    name: 'agent_circuit_state',
    help: 'Circuit breaker state: 1 for the current state, 0 for the others.',
    type: 'gauge',
    values: (r) => STATES.map((state, code) => ({ value: r.get('state') === code ? 1 : 0, labels: { agent: r.agent, state } })),
  },
  {
    name: 'agent_circuit_transitions_total',
    help: 'State transitions by from and to state.',
    type: 'counter',
    values: (r) =>
      STATES.flatMap((from) =>
        STATES.map((to) => ({ value: r.get(`transitions:${from}->${to}`), labels: { agent: r.agent, from, to } })),
      ).filter((v) => v.value > 0),
  },
  {
    name: 'agent_circuit_calls_total',
    help: 'Calls by outcome: success, failure, rejected (not made), released (did not count), late (stale outcome ignored).',
    type: 'counter',
    values: (r) => OUTCOMES.map(([outcome, column]) => ({ value: r.get(column), labels: { agent: r.agent, outcome } })),
  },
  {
    name: 'agent_circuit_failures_total',
    help: 'Failed calls by reason.',
    type: 'counter',
    values: (r) => FAILURE_REASONS.map((reason) => ({ value: r.get(`failures:${reason}`), labels: { agent: r.agent, reason } })),
  },
  {
    name: 'agent_circuit_fallbacks_total',
    help: 'Fallbacks served instead of an analysis, by source: cached (last good analysis) or empty.',
    type: 'counter',
    values: (r, src) => {
      if (!src.fallbacks) return [];
      const f = src.fallbacks(r.agent);
      return [
        { value: f.cached, labels: { agent: r.agent, source: 'cached' } },
        { value: f.empty, labels: { agent: r.agent, source: 'empty' } },
      ];
    },
  },
  {
    name: 'agent_circuit_error_ratio',
    help: 'Failures / calls over the rolling error-rate window.',
    type: 'gauge',
    values: (r) => [{ value: r.get('errorRate:ratio'), labels: { agent: r.agent } }],
  },
  {
    name: 'agent_circuit_consecutive_failures',
    help: 'Failures in a row since the last success or close.',
    type: 'gauge',
    values: (r) => [{ value: r.get('consecutiveFailures'), labels: { agent: r.agent } }],
  },
  {
    name: 'agent_circuit_open_remaining_seconds',
    help: 'Seconds until an OPEN breaker lets a probe through (0 when not OPEN).',
    type: 'gauge',
    values: (r) => [{ value: r.get('openRemainingMs') / 1000, labels: { agent: r.agent } }],
  },
  {
    name: 'agent_circuit_recovery_seconds',
    help: 'Recovery time: from OPEN to CLOSED again.',
    type: 'summary',
    values: (r) => [
      { metricName: 'agent_circuit_recovery_seconds_sum', value: r.get('recovery:sumMs') / 1000, labels: { agent: r.agent } },
      { metricName: 'agent_circuit_recovery_seconds_count', value: r.get('recovery:count'), labels: { agent: r.agent } },
    ],
  },
];

type FleetFamily = { name: string; help: string; type: 'gauge' | 'counter'; values: (fleet: FleetStatus) => Value[] };

/** Fleet mode's families (registered when the source has `fleet`). */
export const FLEET_FAMILIES: FleetFamily[] = [
  {
    name: 'agent_circuit_redis_up',
    help: 'Fleet mode: 1 while the last sync with Redis succeeded, else 0 (the breakers then run on local rules).',
    type: 'gauge',
    values: (f) => [{ value: f.connected ? 1 : 0, labels: {} }],
  },
  {
    name: 'agent_circuit_sync_errors_total',
    help: 'Fleet mode: Redis commands that failed or timed out.',
    type: 'counter',
    values: (f) => [{ value: f.syncErrors, labels: {} }],
  },
  {
    name: 'agent_circuit_remote_transitions_total',
    help: 'Fleet mode: transitions applied here because another instance made them, by from and to state.',
    type: 'counter',
    values: (f) => f.remoteTransitions.map(({ agent, from, to, count }) => ({ value: count, labels: { agent, from, to } })),
  },
];

/** The table's rows, each readable by column name. */
function rows(table: MetricsTable): Row[] {
  const width = table.columns.length;
  const index = new Map(table.columns.map((c, i) => [c, i]));
  return table.agents.map((agent, i) => ({
    agent,
    get: (column: string) => table.values[i * width + (index.get(column) ?? NaN)],
  }));
}

/**
 * Adds the breaker metric families to `registry` (a user's own, or a new one), read from `source`
 * at every scrape. Returns the registry.
 */
export function registerCircuitMetrics(source: CircuitMetricsSource, registry: Registry = new Registry()): Registry {
  let scrape: Row[] | undefined;
  const current = () => {
    if (!scrape) {
      scrape = rows(source.breakers.metricsTable());
      // prom-client asks every family synchronously when a scrape starts: they share this table,
      // and the next scrape takes a new one.
      queueMicrotask(() => (scrape = undefined));
    }
    return scrape;
  };
  const register = (family: { name: string; help: string; type: string }, values: () => Value[]) => {
    const describe = { name: family.name, help: family.help, type: family.type, aggregator: 'sum' };
    registry.registerMetric({ ...describe, get: async () => ({ ...describe, values: values() }), reset: () => undefined } as unknown as Metric);
  };
  for (const family of FAMILIES) register(family, () => current().flatMap((row) => family.values(row, source)));
  const fleet = source.fleet;
  if (fleet) {
    for (const family of FLEET_FAMILIES) {
      register(family, () => {
        const status = fleet();
        return status ? family.values(status) : [];
      });
    }
  }
  return registry;
}
