/**
 * `agent-circuit-breaker/prometheus`: the breakers' metrics for Prometheus, through prom-client (an
 * optional peer dependency). Every family but one reads the native metrics table at scrape time (one
 * table per scrape, shared by the families: numbers only, no JSON), so nothing is kept in JavaScript
 * between scrapes. The call-duration histogram is the exception: it observes every `execute` through
 * the `agent-circuit-breaker:call:end` diagnostics channel.
 *
 * Works with a registry of either content type: Prometheus text (the default) or OpenMetrics
 * (`new Registry(Registry.OPENMETRICS_CONTENT_TYPE)`).
 */

import diagnostics from 'node:diagnostics_channel';
import { Registry, type Metric, type PrometheusContentType, type RegistryContentType } from 'prom-client';
import { FAILURE_REASONS, RECOVERY_BUCKETS_MS, STATES } from './contract';
import { CircuitBreakerError, describe } from './errors';
import { CALL_DURATION_BUCKETS, CALLS_COLUMNS, checkMetricsSource, FAMILY_HELP } from './families';
import { callEnded, callEndChannel } from './instrument';
import type { CircuitMetricsSource, FleetStatus, MetricsTable } from './types';

export type { CircuitMetricsSource };

/** How `registerCircuitMetrics` measures calls. */
export interface CircuitMetricsOptions {
  /**
   * Observe each `execute` call's duration in `agent_circuit_call_duration_seconds` (default false:
   * it costs every call in the process the traced path, see BENCHMARKS.md). It counts the calls of
   * every breaker in the process, whichever source they belong to.
   */
  callDurations?: boolean;
  /** The call-duration histogram's upper bounds, in seconds. */
  callDurationBuckets?: readonly number[];
}

export { CALL_DURATION_BUCKETS };

/** The most agents the call-duration histogram keeps series for; calls of further agents are not counted. */
export const CALL_DURATION_MAX_AGENTS = 10_000;

type Labels = Record<string, string | number>;
type Value = { value: number; labels: Labels; metricName?: string };
/** One row of the table, read by column name. */
type Row = { agent: string; get(column: string): number };
type FamilyType = 'gauge' | 'counter' | 'histogram';
/** A family read from the table; `needs` names the source method without which it is not registered. */
type Family = { name: string; help: string; type: FamilyType; values: (row: Row, src: CircuitMetricsSource) => Value[]; needs?: 'fallbacks' };


/** The recovery histogram's samples: cumulative buckets in seconds, +Inf, sum and count. */
function recoveryValues(r: Row): Value[] {
  const agent = r.agent;
  const count = r.get('recovery:count');
  return [
    ...RECOVERY_BUCKETS_MS.map((ms) => ({ metricName: 'agent_circuit_recovery_seconds_bucket', value: r.get(`recovery:le:${ms}`), labels: { agent, le: ms / 1000 } })),
    { metricName: 'agent_circuit_recovery_seconds_bucket', value: count, labels: { agent, le: '+Inf' } },
    { metricName: 'agent_circuit_recovery_seconds_sum', value: r.get('recovery:sumMs') / 1000, labels: { agent } },
    { metricName: 'agent_circuit_recovery_seconds_count', value: count, labels: { agent } },
  ];
}

/** The metric families read from the table. */
export const FAMILIES: Family[] = [
  {
    name: 'agent_circuit_state',
    help: FAMILY_HELP.agent_circuit_state,
    type: 'gauge',
    values: (r) => STATES.map((state, code) => ({ value: r.get('state') === code ? 1 : 0, labels: { agent: r.agent, state } })),
  },
  {
    name: 'agent_circuit_transitions_total',
    help: FAMILY_HELP.agent_circuit_transitions_total,
    type: 'counter',
    values: (r) => STATES.flatMap((from) => STATES.map((to) => ({ value: r.get(`transitions:${from}->${to}`), labels: { agent: r.agent, from, to } }))),
  },
  {
    name: 'agent_circuit_calls_total',
    help: FAMILY_HELP.agent_circuit_calls_total,
    type: 'counter',
    values: (r) => CALLS_COLUMNS.map(([outcome, column]) => ({ value: r.get(column), labels: { agent: r.agent, outcome } })),
  },
  {
    name: 'agent_circuit_failures_total',
    help: FAMILY_HELP.agent_circuit_failures_total,
    type: 'counter',
    values: (r) => FAILURE_REASONS.map((reason) => ({ value: r.get(`failures:${reason}`), labels: { agent: r.agent, reason } })),
  },
  {
    name: 'agent_circuit_fallbacks_total',
    help: FAMILY_HELP.agent_circuit_fallbacks_total,
    type: 'counter',
    needs: 'fallbacks',
    values: (r, src) => {
      const f = src.fallbacks!(r.agent);
      return [
        { value: f.cached, labels: { agent: r.agent, source: 'cached' } },
        { value: f.empty, labels: { agent: r.agent, source: 'empty' } },
      ];
    },
  },
  {
    name: 'agent_circuit_error_ratio',
    help: FAMILY_HELP.agent_circuit_error_ratio,
    type: 'gauge',
    values: (r) => [{ value: r.get('errorRate:ratio'), labels: { agent: r.agent } }],
  },
  {
    name: 'agent_circuit_consecutive_failures',
    help: FAMILY_HELP.agent_circuit_consecutive_failures,
    type: 'gauge',
    values: (r) => [{ value: r.get('consecutiveFailures'), labels: { agent: r.agent } }],
  },
  {
    name: 'agent_circuit_open_remaining_seconds',
    help: FAMILY_HELP.agent_circuit_open_remaining_seconds,
    type: 'gauge',
    values: (r) => [{ value: r.get('openRemainingMs') / 1000, labels: { agent: r.agent } }],
  },
  {
    name: 'agent_circuit_isolated',
    help: FAMILY_HELP.agent_circuit_isolated,
    type: 'gauge',
    values: (r) => [{ value: r.get('isolations') > 0 ? 1 : 0, labels: { agent: r.agent } }],
  },
  {
    name: 'agent_circuit_recovery_seconds',
    help: FAMILY_HELP.agent_circuit_recovery_seconds,
    type: 'histogram',
    values: recoveryValues,
  },
];

type FleetFamily = { name: string; help: string; type: FamilyType; values: (fleet: FleetStatus) => Value[] };

/** Fleet mode's families (registered when the source has `fleet`). */
export const FLEET_FAMILIES: FleetFamily[] = [
  {
    name: 'agent_circuit_redis_up',
    help: FAMILY_HELP.agent_circuit_redis_up,
    type: 'gauge',
    values: (f) => [{ value: f.connected ? 1 : 0, labels: {} }],
  },
  {
    name: 'agent_circuit_sync_errors_total',
    help: FAMILY_HELP.agent_circuit_sync_errors_total,
    type: 'counter',
    values: (f) => [{ value: f.syncErrors, labels: {} }],
  },
  {
    name: 'agent_circuit_remote_transitions_total',
    help: FAMILY_HELP.agent_circuit_remote_transitions_total,
    type: 'counter',
    values: (f) => f.remoteTransitions.map(({ agent, from, to, count }) => ({ value: count, labels: { agent, from, to } })),
  },
];

/** The name of the call-duration histogram. */
export const CALL_DURATION_FAMILY = 'agent_circuit_call_duration_seconds';

const CALL_DURATION_HELP = {
  name: CALL_DURATION_FAMILY,
  help: FAMILY_HELP.agent_circuit_call_duration_seconds,
  type: 'histogram' as const,
};

/** The table's rows, each readable by column name. */
function rows(table: MetricsTable): Row[] {
  const width = table.columns.length;
  const index = new Map(table.columns.map((c, i) => [c, i]));
  return table.agents.map((agent, i) => ({
    agent,
    get: (column: string) => table.values[i * width + (index.get(column) ?? NaN)],
  }));
}

/** Adds one family read at scrape time. Its name is read back at each scrape: an OpenMetrics registry renames counters. */
function register(registry: Registry<RegistryContentType>, family: { name: string; help: string; type: FamilyType }, values: () => Value[]): void {
  const { help, type } = family;
  const metric = {
    name: family.name,
    help,
    type,
    aggregator: 'sum',
    get: async () => ({ name: metric.name, help, type, aggregator: 'sum', values: values() }),
    reset: () => undefined,
  };
  registry.registerMetric(metric as unknown as Metric);
}

/**
 * Call durations by agent and outcome, counted as they happen: per series a count per bucket, the
 * sum and the count. prom-client's Histogram costs about 470 ns an observation (label hashing); this
 * costs a map lookup and a short scan, so the call path pays little more than the channel itself.
 */
class CallDurations {
  /** agent → outcome → series. */
  private readonly series = new Map<string, Map<string, Series>>();

  constructor(readonly bounds: readonly number[]) {}

  /**
   * Counts one call of `agent` with `outcome` that took `seconds`. Past CALL_DURATION_MAX_AGENTS
   * agents a new one is not counted: the channel is public, and its messages must not grow this
   * without bound.
   */
  observe(agent: string, outcome: string, seconds: number): void {
    let byOutcome = this.series.get(agent);
    if (!byOutcome) {
      if (this.series.size >= CALL_DURATION_MAX_AGENTS) return;
      this.series.set(agent, (byOutcome = new Map()));
    }
    let s = byOutcome.get(outcome);
    if (!s) byOutcome.set(outcome, (s = { agent, outcome, counts: new Float64Array(this.bounds.length), sum: 0, count: 0 }));
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]) i++;
    if (i < bounds.length) s.counts[i]++;
    s.sum += seconds;
    s.count++;
  }

  /** The histogram's samples: cumulative buckets, +Inf, sum and count per series. */
  values(): Value[] {
    const out: Value[] = [];
    for (const { agent, outcome, counts, sum, count } of [...this.series.values()].flatMap((byOutcome) => [...byOutcome.values()])) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += counts[i];
        out.push({ metricName: `${CALL_DURATION_FAMILY}_bucket`, value: cumulative, labels: { agent, outcome, le } });
      });
      out.push({ metricName: `${CALL_DURATION_FAMILY}_bucket`, value: count, labels: { agent, outcome, le: '+Inf' } });
      out.push({ metricName: `${CALL_DURATION_FAMILY}_sum`, value: sum, labels: { agent, outcome } });
      out.push({ metricName: `${CALL_DURATION_FAMILY}_count`, value: count, labels: { agent, outcome } });
    }
    return out;
  }
}

/** One series of the call-duration histogram: a count per bucket (not cumulative), the sum and the count. */
type Series = { agent: string; outcome: string; counts: Float64Array; sum: number; count: number };

/** Call durations and their channel subscription: one per set of breakers (`source.breakers`). */
type Calls = { durations: CallDurations; stop: () => void };
const CALLS = new WeakMap<object, Calls>();

/** The breakers' call durations, subscribed to the call:end channel on first use; the same bounds every time. */
function callDurations(source: CircuitMetricsSource, bounds: readonly number[]): CallDurations {
  let calls = CALLS.get(source.breakers);
  if (calls && (calls.durations.bounds.length !== bounds.length || calls.durations.bounds.some((b, i) => b !== bounds[i]))) {
    throw new CircuitBreakerError('ERR_INVALID_ARG', `options.callDurationBuckets differ from those these breakers' call durations already use (${calls.durations.bounds.join(', ')})`);
  }
  if (!calls) {
    const durations = new CallDurations(bounds);
    const onEnd = (message: unknown) => {
      const m = callEnded(message);
      if (m) durations.observe(m.agent, m.outcome, m.durationMs / 1000);
    };
    diagnostics.subscribe(callEndChannel.name, onEnd);
    calls = { durations, stop: () => diagnostics.unsubscribe(callEndChannel.name, onEnd) };
    CALLS.set(source.breakers, calls);
  }
  return calls.durations;
}

/** The options, checked: a bad one is an ERR_INVALID_ARG naming it and what is allowed. */
function checkOptions(options: unknown): { callDurations: boolean; bounds: readonly number[] } {
  if (options === null || typeof options !== 'object') {
    throw new CircuitBreakerError('ERR_INVALID_ARG', `registerCircuitMetrics options must be an object { callDurations?, callDurationBuckets? } (got ${describe(options)})`);
  }
  const { callDurations = false, callDurationBuckets = CALL_DURATION_BUCKETS, ...rest } = options as CircuitMetricsOptions;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    throw new CircuitBreakerError('ERR_INVALID_ARG', `unknown registerCircuitMetrics option ${JSON.stringify(unknown[0])}: the options are callDurations, callDurationBuckets`);
  }
  if (typeof callDurations !== 'boolean') {
    throw new CircuitBreakerError('ERR_INVALID_ARG', `options.callDurations must be true or false (got ${describe(callDurations)})`);
  }
  const ok =
    Array.isArray(callDurationBuckets) &&
    callDurationBuckets.length > 0 &&
    callDurationBuckets.length <= 100 &&
    callDurationBuckets.every((b, i) => typeof b === 'number' && Number.isFinite(b) && b > 0 && (i === 0 || b > callDurationBuckets[i - 1]));
  if (!ok) {
    throw new CircuitBreakerError('ERR_INVALID_ARG', `options.callDurationBuckets must be 1 to 100 increasing finite numbers of seconds above 0 (got ${describe(callDurationBuckets)})`);
  }
  return { callDurations, bounds: Object.freeze([...callDurationBuckets]) };
}

/**
 * Adds the breaker metric families to `registry` (a user's own, or a new one; Prometheus text or
 * OpenMetrics), read from `source` at every scrape. Calling it again for the same breakers and
 * another registry shares one call-duration histogram (with the same buckets). Refuses a bad source
 * or option, or a registry that already has these families, with ERR_INVALID_ARG before adding
 * anything. Returns the registry.
 */
export function registerCircuitMetrics<C extends RegistryContentType = PrometheusContentType>(
  source: CircuitMetricsSource,
  registry: Registry<C> = new Registry() as Registry<C>,
  options: CircuitMetricsOptions = {},
): Registry<C> {
  const checked = checkOptions(options);
  checkMetricsSource(source, 'registerCircuitMetrics');
  const fleet = source.fleet;
  const families = FAMILIES.filter((f) => !f.needs || source[f.needs] !== undefined);
  checkFree(registry, [...families, ...(fleet ? FLEET_FAMILIES : []), ...(checked.callDurations ? [CALL_DURATION_HELP] : [])].map((f) => f.name));
  let scrape: Row[] | undefined;
  const current = () => {
    if (!scrape) {
      scrape = rows(source.breakers.metricsTable());
      // prom-client asks every family synchronously when a scrape starts: they share this table,
      // and the next scrape takes a new one. (A promise job, not queueMicrotask: fake timers
      // replace queueMicrotask, and the table would never be let go.)
      void Promise.resolve().then(() => (scrape = undefined));
    }
    return scrape;
  };
  for (const family of families) register(registry, family, () => current().flatMap((row) => family.values(row, source)));
  if (fleet) {
    for (const family of FLEET_FAMILIES) {
      register(registry, family, () => {
        const status = fleet();
        return status ? family.values(status) : [];
      });
    }
  }
  if (checked.callDurations) {
    const durations = callDurations(source, checked.bounds);
    register(registry, CALL_DURATION_HELP, () => durations.values());
  }
  return registry;
}

/** Stops observing call durations for `source`'s breakers (its registries keep the counts they have). */
export function stopCallDurations(source: CircuitMetricsSource): void {
  CALLS.get(source.breakers)?.stop();
  CALLS.delete(source.breakers);
}

/** Refuses a registry that already holds one of the families, before anything is added to it. */
function checkFree(registry: Registry<RegistryContentType>, names: string[]): void {
  const taken = names.find((name) => registry.getSingleMetric(name) !== undefined);
  if (taken !== undefined) {
    throw new CircuitBreakerError('ERR_INVALID_ARG', `the registry already has a metric named ${taken}: register the breaker metrics once per registry`);
  }
}
