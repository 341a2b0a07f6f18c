/**
 * `agent-circuit-breaker/otel`: the breakers' metrics for OpenTelemetry, through @opentelemetry/api
 * (an optional peer dependency; the SDK, its readers and exporters are the application's). The
 * meanings are those of `agent-circuit-breaker/prometheus`, family for family; the names follow
 * OpenTelemetry's conventions (dot-separated namespaces, the unit in `unit` rather than the name,
 * no `_total` suffix, UCUM units). Each description is the Prometheus family's help text.
 *
 * | OpenTelemetry instrument             | kind              | unit           | attributes       | Prometheus family                        |
 * |--------------------------------------|-------------------|----------------|------------------|------------------------------------------|
 * | agent_circuit.state                  | ObservableGauge   | `1`            | agent, state     | agent_circuit_state                      |
 * | agent_circuit.transitions            | ObservableCounter | `{transition}` | agent, from, to  | agent_circuit_transitions_total          |
 * | agent_circuit.calls                  | ObservableCounter | `{call}`       | agent, outcome   | agent_circuit_calls_total                |
 * | agent_circuit.failures               | ObservableCounter | `{call}`       | agent, reason    | agent_circuit_failures_total             |
 * | agent_circuit.fallbacks              | ObservableCounter | `{fallback}`   | agent, source    | agent_circuit_fallbacks_total            |
 * | agent_circuit.error_ratio            | ObservableGauge   | `1`            | agent            | agent_circuit_error_ratio                |
 * | agent_circuit.consecutive_failures   | ObservableGauge   | `{call}`       | agent            | agent_circuit_consecutive_failures       |
 * | agent_circuit.open_remaining         | ObservableGauge   | `s`            | agent            | agent_circuit_open_remaining_seconds     |
 * | agent_circuit.isolated               | ObservableGauge   | `1`            | agent            | agent_circuit_isolated                   |
 * | agent_circuit.recovery.duration      | Histogram         | `s`            | agent            | agent_circuit_recovery_seconds           |
 * | agent_circuit.call.duration          | Histogram         | `s`            | agent, outcome   | agent_circuit_call_duration_seconds      |
 * | agent_circuit.redis.up               | ObservableGauge   | `1`            | (none)           | agent_circuit_redis_up                   |
 * | agent_circuit.sync.errors            | ObservableCounter | `{command}`    | (none)           | agent_circuit_sync_errors_total          |
 * | agent_circuit.remote_transitions     | ObservableCounter | `{transition}` | agent, from, to  | agent_circuit_remote_transitions_total   |
 *
 * `agent_circuit.fallbacks` exists when the source has `fallbacks`; the last three (fleet mode) when
 * it has `fleet`; `agent_circuit.call.duration` when `callDurations` is true.
 *
 * How they are read:
 * - Every observable instrument is read in ONE batch callback per collection, from ONE
 *   `metricsTable()` (numbers only, no JSON), so nothing is kept in JavaScript between collections
 *   and the instruments of one collection agree with each other. Counters report the breakers'
 *   totals since they were created (cumulative; the SDK turns them into deltas if the exporter
 *   asks), and every transitions pair is reported from the start, at 0 until it happens.
 * - OpenTelemetry has no observable histogram, so `agent_circuit.recovery.duration` records each
 *   recovery when it happens, from the `agent-circuit-breaker:transition` diagnostics channel: on a
 *   transition to CLOSED with reason `success_threshold`, it records the `recovery:lastMs` that the
 *   native core has just stored for that agent (read from the table right then). That is the exact
 *   duration, by the core's own definition: from the CLOSED → OPEN that started the episode,
 *   across failed probes and their reopenings, to this close. Pairing the close with an OPEN
 *   transition seen on the channel would not be: the last OPEN is a reopening after a failed probe,
 *   and an episode that began before registration has no OPEN on the channel to pair with. Reading the table then is exact because the channel delivers each transition right after
 *   the native call that made it. The channel carries the transitions of every registry in the
 *   process, so a recovery is recorded only when the source's own `recovery:count` for that agent
 *   grew. (Were a transition listener to make the same agent recover twice before the first close
 *   is delivered, one point would be recorded, with the later duration.) Unlike the Prometheus
 *   histogram (the core's totals), it counts the recoveries from registration on.
 * - `agent_circuit.call.duration` records every `execute` from the `agent-circuit-breaker:call:end`
 *   channel, with the call's `outcome` (success, failure, rejected, released), as the
 *   Prometheus histogram does: every breaker in the process, whichever source it belongs to.
 */

import diagnostics from 'node:diagnostics_channel';
import { diag, metrics, ValueType, type Attributes, type BatchObservableCallback, type Histogram, type Meter, type Observable } from '@opentelemetry/api';
import { FAILURE_REASONS, RECOVERY_BUCKETS_MS, STATES } from './contract';
import { CircuitBreakerError, describe } from './errors';
import { CALL_DURATION_BUCKETS, CALLS_COLUMNS, checkMetricsSource, FAMILY_HELP } from './families';
import { callEnded, callEndChannel, transitionChannel } from './instrument';
import type { CircuitMetricsSource, MetricsTable, TransitionEvent } from './types';

/** What the instruments read: the same shape as the Prometheus exporter's source. */
export type { CircuitMetricsSource };

/** How `registerCircuitInstruments` reports. */
export interface CircuitInstrumentsOptions {
  /**
   * The meter to create the instruments on. @default `metrics.getMeter('agent-circuit-breaker',
   * <this package's version>)`, the global MeterProvider's (a no-op one until the application
   * registers an SDK provider globally: register it first, or pass its meter here).
   */
  meter?: Meter;
  /**
   * Record each `execute` call's duration in `agent_circuit.call.duration` (default false: as with
   * the Prometheus exporter, it costs every call in the process the traced path, see BENCHMARKS.md).
   * It records the calls of every breaker in the process, whichever source they belong to.
   */
  callDurations?: boolean;
}

/** What `registerCircuitInstruments` returns. */
export interface CircuitInstruments {
  /**
   * Stops reporting: removes the batch callback (the observable instruments are no longer read) and
   * unsubscribes from the diagnostics channels (no more recoveries or call durations are recorded).
   * Calling it again does nothing.
   */
  close(): void;
}

/** The kind of OpenTelemetry instrument. */
export type CircuitInstrumentKind = 'ObservableGauge' | 'ObservableCounter' | 'Histogram';

/** One instrument `registerCircuitInstruments` creates, and the Prometheus family it mirrors. */
export interface CircuitInstrument {
  /** The OpenTelemetry instrument name. */
  readonly name: string;
  /** The instrument kind. */
  readonly kind: CircuitInstrumentKind;
  /** The UCUM unit. */
  readonly unit: string;
  /** The description (the Prometheus family's help text). */
  readonly description: string;
  /** The attribute keys of its points. */
  readonly attributes: readonly string[];
  /** The Prometheus family with the same meaning (`agent-circuit-breaker/prometheus`). */
  readonly prometheus: string;
  /** Created only when the source has `fallbacks`, or `fleet`, or when `callDurations` is on. */
  readonly when?: 'fallbacks' | 'fleet' | 'callDurations';
}

const instrument = (spec: CircuitInstrument): CircuitInstrument => Object.freeze({ ...spec, attributes: Object.freeze([...spec.attributes]) });

/**
 * Every instrument, in the order of the table in this file's header: the one place the names,
 * kinds, units, descriptions and the Prometheus equivalents are written.
 */
export const CIRCUIT_INSTRUMENTS: readonly CircuitInstrument[] = Object.freeze([
  instrument({
    name: 'agent_circuit.state',
    kind: 'ObservableGauge',
    unit: '1',
    description: FAMILY_HELP.agent_circuit_state,
    attributes: ['agent', 'state'],
    prometheus: 'agent_circuit_state',
  }),
  instrument({
    name: 'agent_circuit.transitions',
    kind: 'ObservableCounter',
    unit: '{transition}',
    description: FAMILY_HELP.agent_circuit_transitions_total,
    attributes: ['agent', 'from', 'to'],
    prometheus: 'agent_circuit_transitions_total',
  }),
  instrument({
    name: 'agent_circuit.calls',
    kind: 'ObservableCounter',
    unit: '{call}',
    description: FAMILY_HELP.agent_circuit_calls_total,
    attributes: ['agent', 'outcome'],
    prometheus: 'agent_circuit_calls_total',
  }),
  instrument({
    name: 'agent_circuit.failures',
    kind: 'ObservableCounter',
    unit: '{call}',
    description: FAMILY_HELP.agent_circuit_failures_total,
    attributes: ['agent', 'reason'],
    prometheus: 'agent_circuit_failures_total',
  }),
  instrument({
    name: 'agent_circuit.fallbacks',
    kind: 'ObservableCounter',
    unit: '{fallback}',
    description: FAMILY_HELP.agent_circuit_fallbacks_total,
    attributes: ['agent', 'source'],
    prometheus: 'agent_circuit_fallbacks_total',
    when: 'fallbacks',
  }),
  instrument({
    name: 'agent_circuit.error_ratio',
    kind: 'ObservableGauge',
    unit: '1',
    description: FAMILY_HELP.agent_circuit_error_ratio,
    attributes: ['agent'],
    prometheus: 'agent_circuit_error_ratio',
  }),
  instrument({
    name: 'agent_circuit.consecutive_failures',
    kind: 'ObservableGauge',
    unit: '{call}',
    description: FAMILY_HELP.agent_circuit_consecutive_failures,
    attributes: ['agent'],
    prometheus: 'agent_circuit_consecutive_failures',
  }),
  instrument({
    name: 'agent_circuit.open_remaining',
    kind: 'ObservableGauge',
    unit: 's',
    description: FAMILY_HELP.agent_circuit_open_remaining_seconds,
    attributes: ['agent'],
    prometheus: 'agent_circuit_open_remaining_seconds',
  }),
  instrument({
    name: 'agent_circuit.isolated',
    kind: 'ObservableGauge',
    unit: '1',
    description: FAMILY_HELP.agent_circuit_isolated,
    attributes: ['agent'],
    prometheus: 'agent_circuit_isolated',
  }),
  instrument({
    name: 'agent_circuit.recovery.duration',
    kind: 'Histogram',
    unit: 's',
    description: FAMILY_HELP.agent_circuit_recovery_seconds,
    attributes: ['agent'],
    prometheus: 'agent_circuit_recovery_seconds',
  }),
  instrument({
    name: 'agent_circuit.call.duration',
    kind: 'Histogram',
    unit: 's',
    description: FAMILY_HELP.agent_circuit_call_duration_seconds,
    attributes: ['agent', 'outcome'],
    prometheus: 'agent_circuit_call_duration_seconds',
    when: 'callDurations',
  }),
  instrument({
    name: 'agent_circuit.redis.up',
    kind: 'ObservableGauge',
    unit: '1',
    description: FAMILY_HELP.agent_circuit_redis_up,
    attributes: [],
    prometheus: 'agent_circuit_redis_up',
    when: 'fleet',
  }),
  instrument({
    name: 'agent_circuit.sync.errors',
    kind: 'ObservableCounter',
    unit: '{command}',
    description: FAMILY_HELP.agent_circuit_sync_errors_total,
    attributes: [],
    prometheus: 'agent_circuit_sync_errors_total',
    when: 'fleet',
  }),
  instrument({
    name: 'agent_circuit.remote_transitions',
    kind: 'ObservableCounter',
    unit: '{transition}',
    description: FAMILY_HELP.agent_circuit_remote_transitions_total,
    attributes: ['agent', 'from', 'to'],
    prometheus: 'agent_circuit_remote_transitions_total',
    when: 'fleet',
  }),
]);

/** The call-duration histogram's bucket advice, in seconds: 5 ms to a minute (the Prometheus exporter's). */
export const CALL_DURATION_BOUNDARIES_S: readonly number[] = CALL_DURATION_BUCKETS;

/** The recovery histogram's bucket advice, in seconds: the native buckets (`RECOVERY_BUCKETS_MS`), 1 s to 6 h. */
export const RECOVERY_BOUNDARIES_S: readonly number[] = Object.freeze(RECOVERY_BUCKETS_MS.map((ms) => ms / 1000));

const OPTION_KEYS = ['meter', 'callDurations'];
const METER_METHODS = ['createObservableGauge', 'createObservableCounter', 'createHistogram', 'addBatchObservableCallback', 'removeBatchObservableCallback'] as const;
/** Instruments whose values are counts: reported as integers. */
const INTEGER_INSTRUMENTS = new Set(['agent_circuit.state', 'agent_circuit.transitions', 'agent_circuit.calls', 'agent_circuit.failures', 'agent_circuit.fallbacks', 'agent_circuit.consecutive_failures', 'agent_circuit.isolated', 'agent_circuit.redis.up', 'agent_circuit.sync.errors', 'agent_circuit.remote_transitions']);

/** This package's version, for the default meter's instrumentation scope (undefined if unreadable). */
function packageVersion(): string | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const version = (require('../../package.json') as { version?: unknown }).version;
    return typeof version === 'string' ? version : undefined;
  } catch {
    return undefined;
  }
}

/** Throws ERR_INVALID_ARG for options that cannot be used, naming the option and what is allowed. */
function checkOptions(options: unknown): asserts options is CircuitInstrumentsOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new CircuitBreakerError('ERR_INVALID_ARG', `registerCircuitInstruments options must be an object { meter?, callDurations? } (got ${describe(options)})`);
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) {
      throw new CircuitBreakerError('ERR_INVALID_ARG', `registerCircuitInstruments: unknown option "${key}"; the options are ${OPTION_KEYS.join(', ')}`);
    }
  }
  const { meter, callDurations } = options as Record<string, unknown>;
  if (meter !== undefined) {
    const missing = meter === null || typeof meter !== 'object' ? METER_METHODS[0] : METER_METHODS.find((m) => typeof (meter as Record<string, unknown>)[m] !== 'function');
    if (missing !== undefined) {
      throw new CircuitBreakerError('ERR_INVALID_ARG', 
        `options.meter must be an OpenTelemetry Meter (from @opentelemetry/api: meterProvider.getMeter(name)), with a ${missing} method (got ${describe(meter)})`,
      );
    }
  }
  if (callDurations !== undefined && typeof callDurations !== 'boolean') {
    throw new CircuitBreakerError('ERR_INVALID_ARG', `options.callDurations must be true or false (got ${describe(callDurations)})`);
  }
}

/** The index of each column of a table, by name; -1 for a column it lacks. */
function columnIndex(table: MetricsTable): (column: string) => number {
  const index = new Map(table.columns.map((c, i) => [c, i]));
  return (column) => index.get(column) ?? -1;
}

/** One cell of a table: row `row`, column index `c` (NaN for a column it lacks). */
function cell(table: MetricsTable, row: number, c: number): number {
  return c < 0 ? NaN : table.values[row * table.columns.length + c];
}

/**
 * Creates the breaker instruments on a meter (see the table in this file's header), read from
 * `source`: the observable ones from one `metricsTable()` per collection, the recovery histogram
 * from the transition channel, the call-duration histogram (when `callDurations` is true) from
 * the call:end channel. Register once per meter: a second registration on the same meter (before
 * the first is closed) records every recovery and call duration twice. Throws for a
 * source or options it cannot use (a CircuitBreakerError, code ERR_INVALID_ARG).
 * Returns the handle whose `close()` stops all of it.
 */
export function registerCircuitInstruments(source: CircuitMetricsSource, options: CircuitInstrumentsOptions = {}): CircuitInstruments {
  checkMetricsSource(source, 'registerCircuitInstruments');
  checkOptions(options);
  const meter = options.meter ?? metrics.getMeter('agent-circuit-breaker', packageVersion());
  // Which optional instruments exist is decided now, as the Prometheus exporter does.
  const withFallbacks = source.fallbacks !== undefined;
  const withFleet = source.fleet !== undefined;
  // The core's recovery count per agent now: a recovery is recorded when its agent's count grows
  // (read first, so that a source that cannot be read fails here, before anything is registered).
  const recoveries = new Map<string, number>();
  const baseline = source.breakers.metricsTable();
  const baselineCount = columnIndex(baseline)('recovery:count');
  baseline.agents.forEach((agent, row) => recoveries.set(agent, cell(baseline, row, baselineCount)));

  const wanted = (spec: CircuitInstrument) =>
    spec.when === undefined ||
    (spec.when === 'fallbacks' && withFallbacks) ||
    (spec.when === 'fleet' && withFleet) ||
    (spec.when === 'callDurations' && (options.callDurations ?? false));

  const observables = new Map<string, Observable>();
  const histograms = new Map<string, Histogram>();
  for (const spec of CIRCUIT_INSTRUMENTS) {
    if (!wanted(spec)) continue;
    const common = { description: spec.description, unit: spec.unit, valueType: INTEGER_INSTRUMENTS.has(spec.name) ? ValueType.INT : ValueType.DOUBLE };
    if (spec.kind === 'ObservableGauge') observables.set(spec.name, meter.createObservableGauge(spec.name, common));
    else if (spec.kind === 'ObservableCounter') observables.set(spec.name, meter.createObservableCounter(spec.name, common));
    else {
      const boundaries = spec.name === 'agent_circuit.recovery.duration' ? RECOVERY_BOUNDARIES_S : CALL_DURATION_BOUNDARIES_S;
      histograms.set(spec.name, meter.createHistogram(spec.name, { ...common, advice: { explicitBucketBoundaries: [...boundaries] } }));
    }
  }
  const obs = (name: string) => observables.get(name)!;
  const state = obs('agent_circuit.state');
  const transitions = obs('agent_circuit.transitions');
  const calls = obs('agent_circuit.calls');
  const failures = obs('agent_circuit.failures');
  const fallbacksServed = observables.get('agent_circuit.fallbacks');
  const errorRatio = obs('agent_circuit.error_ratio');
  const consecutive = obs('agent_circuit.consecutive_failures');
  const openRemaining = obs('agent_circuit.open_remaining');
  const isolated = obs('agent_circuit.isolated');
  const redisUp = observables.get('agent_circuit.redis.up');
  const syncErrors = observables.get('agent_circuit.sync.errors');
  const remote = observables.get('agent_circuit.remote_transitions');

  const pairs = STATES.flatMap((from) => STATES.map((to) => [from, to, `transitions:${from}->${to}`] as const));
  const observe: BatchObservableCallback = (result) => {
    const table = source.breakers.metricsTable();
    const col = columnIndex(table);
    const { values, agents } = table;
    const width = table.columns.length;
    const stateCol = col('state');
    const pairCols = pairs.map(([from, to, column]) => [from, to, col(column)] as const);
    const outcomeCols = CALLS_COLUMNS.map(([outcome, column]) => [outcome, col(column)] as const);
    const reasonCols = FAILURE_REASONS.map((reason) => [reason, col(`failures:${reason}`)] as const);
    const ratioCol = col('errorRate:ratio');
    const consecutiveCol = col('consecutiveFailures');
    const remainingCol = col('openRemainingMs');
    const isolationsCol = col('isolations');
    for (let row = 0; row < agents.length; row++) {
      const agent = agents[row];
      const base = row * width;
      const at = (c: number) => (c < 0 ? NaN : values[base + c]);
      const code = at(stateCol);
      STATES.forEach((name, i) => result.observe(state, code === i ? 1 : 0, { agent, state: name }));
      for (const [from, to, c] of pairCols) result.observe(transitions, at(c), { agent, from, to });
      for (const [outcome, c] of outcomeCols) result.observe(calls, at(c), { agent, outcome });
      for (const [reason, c] of reasonCols) result.observe(failures, at(c), { agent, reason });
      if (fallbacksServed) {
        const f = source.fallbacks!(agent);
        result.observe(fallbacksServed, f.cached, { agent, source: 'cached' });
        result.observe(fallbacksServed, f.empty, { agent, source: 'empty' });
      }
      result.observe(errorRatio, at(ratioCol), { agent });
      result.observe(consecutive, at(consecutiveCol), { agent });
      result.observe(openRemaining, at(remainingCol) / 1000, { agent });
      result.observe(isolated, at(isolationsCol) > 0 ? 1 : 0, { agent });
    }
    const status = redisUp && syncErrors && remote && source.fleet?.();
    if (status) {
      result.observe(redisUp, status.connected ? 1 : 0);
      result.observe(syncErrors, status.syncErrors);
      for (const { agent, from, to, count } of status.remoteTransitions) result.observe(remote, count, { agent, from, to });
    }
  };
  const observed = [...observables.values()];
  meter.addBatchObservableCallback(observe, observed);

  // Recoveries, as they happen: only the source's own (the channel carries every registry's
  // transitions), told apart by the recovery count of the agent's row.
  const recovery = histograms.get('agent_circuit.recovery.duration')!;
  const recordRecovery = (event: TransitionEvent) => {
    const table = source.breakers.metricsTable();
    const row = table.agents.indexOf(event.agent);
    if (row < 0) return;
    const col = columnIndex(table);
    // The count only grows: unchanged, this close was not a recovery of the source's own breaker.
    const count = cell(table, row, col('recovery:count'));
    if (!(count > (recoveries.get(event.agent) ?? 0))) return;
    recoveries.set(event.agent, count);
    const lastMs = cell(table, row, col('recovery:lastMs'));
    if (Number.isFinite(lastMs)) recovery.record(lastMs / 1000, { agent: event.agent });
  };
  const onTransition = (message: unknown) => {
    const event = message as TransitionEvent;
    if (event.to !== 'CLOSED' || event.reason !== 'success_threshold') return;
    // A channel subscriber that throws becomes an uncaught exception: a source that cannot be read
    // now loses this point, with a diagnostic, and nothing else.
    try {
      recordRecovery(event);
    } catch (error) {
      diag.warn(`agent-circuit-breaker/otel: could not record the recovery of ${describe(event.agent)}: ${describe(error)}`);
    }
  };
  diagnostics.subscribe(transitionChannel.name, onTransition);

  const callDuration = histograms.get('agent_circuit.call.duration');
  const onCallEnd = (message: unknown) => {
    const m = callEnded(message);
    if (!m) return;
    const attributes: Attributes = { agent: m.agent, outcome: m.outcome };
    callDuration!.record(m.durationMs / 1000, attributes);
  };
  if (callDuration) diagnostics.subscribe(callEndChannel.name, onCallEnd);

  let closed = false;
  return {
    close() {
      if (closed) return;
      closed = true;
      meter.removeBatchObservableCallback(observe, observed);
      diagnostics.unsubscribe(transitionChannel.name, onTransition);
      if (callDuration) diagnostics.unsubscribe(callEndChannel.name, onCallEnd);
    },
  };
}
