/**
 * `agent-circuit-breaker/otel`: the OpenTelemetry instruments, collected on demand through the SDK
 * (a MeterProvider with a reader whose `collect()` the test awaits), over breakers on a manual
 * clock. Call timeouts use Jest's fake timers (and a stubbed performance.now for the durations):
 * no test waits on the wall clock.
 */

import diagnostics from 'node:diagnostics_channel';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import * as path from 'node:path';
import { AggregationTemporality, DataPointType, MeterProvider, MetricReader, type DataPoint, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import { AgentCircuitBreaker, FAILURE_REASONS, ManualClock, STATES } from 'agent-circuit-breaker';
import type { FleetStatus } from 'agent-circuit-breaker/fleet';
import {
  CALL_DURATION_BOUNDARIES_S,
  CIRCUIT_INSTRUMENTS,
  RECOVERY_BOUNDARIES_S,
  registerCircuitInstruments,
  type CircuitInstruments,
  type CircuitMetricsSource,
} from 'agent-circuit-breaker/otel';
// The test alone loads the Prometheus exporter, to hold the two in one-to-one correspondence.
import { CALL_DURATION_BUCKETS, CALL_DURATION_FAMILY, FAMILIES, FLEET_FAMILIES, registerCircuitMetrics, stopCallDurations } from 'agent-circuit-breaker/prometheus';
import { Registry } from 'prom-client';

/** A reader the test collects from when it wants (cumulative, as the Prometheus families are). */
class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

type Point = DataPoint<number | Histogram>;
type Collected = { metrics: Map<string, MetricData>; errors: unknown[] };

const boom = () => Promise.reject(new Error('boom'));
const never = () => new Promise<never>(() => undefined);
const open: Array<{ handle: CircuitInstruments; provider: MeterProvider }> = [];

/** A provider, its reader, and the instruments registered on its meter over `source` (call durations on unless `options` say otherwise). */
function rig(source: CircuitMetricsSource, options: { callDurations?: boolean } = {}) {
  const reader = new TestReader();
  const provider = new MeterProvider({ readers: [reader] });
  // Call durations on unless the test says otherwise (they are off by default).
  const handle = registerCircuitInstruments(source, { meter: provider.getMeter('test'), callDurations: true, ...options });
  open.push({ handle, provider });
  const collect = async (): Promise<Collected> => {
    const { resourceMetrics, errors } = await reader.collect();
    const metrics = new Map<string, MetricData>();
    for (const scope of resourceMetrics.scopeMetrics) for (const m of scope.metrics) metrics.set(m.descriptor.name, m);
    return { metrics, errors };
  };
  return { reader, provider, handle, collect };
}

/** A registry of amazon and shopee on a manual clock, and a rig over it. */
function breakersRig(options: { callDurations?: boolean } = {}) {
  const clock = new ManualClock();
  const breakers = new AgentCircuitBreaker({ agents: ['amazon', 'shopee'], clock });
  return { clock, breakers, ...rig({ breakers }, options) };
}

/** The points of one instrument whose attributes include `match`. */
function points(c: Collected, name: string, match: Record<string, string> = {}): Point[] {
  const metric = c.metrics.get(name);
  if (!metric) return [];
  return (metric.dataPoints as Point[]).filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v));
}

/** The value of the one point of `name` with exactly these attributes. */
function value(c: Collected, name: string, attributes: Record<string, string>): number | undefined {
  const found = points(c, name).filter((p) => JSON.stringify(Object.entries(p.attributes).sort()) === JSON.stringify(Object.entries(attributes).sort()));
  if (found.length > 1) throw new Error(`${name}: ${found.length} points for ${JSON.stringify(attributes)}`);
  return found[0]?.value as number | undefined;
}

async function trip(breakers: AgentCircuitBreaker, agent: string, error: unknown = new Error('boom')) {
  for (let i = 0; i < 5; i++) await breakers.execute(agent, () => Promise.reject(error)).catch(() => undefined);
}

afterEach(async () => {
  jest.useRealTimers();
  for (const { handle, provider } of open.splice(0)) {
    handle.close();
    await provider.shutdown();
  }
});

describe('observable instruments, from one metrics table per collection', () => {
  test('before anything happens: CLOSED is 1, and every transitions pair of every agent is there at 0', async () => {
    const { collect } = breakersRig();
    const c = await collect();
    expect(c.errors).toEqual([]);
    for (const agent of ['amazon', 'shopee']) {
      expect(STATES.map((state) => value(c, 'agent_circuit.state', { agent, state }))).toEqual([1, 0, 0]);
      for (const from of STATES) for (const to of STATES) expect(value(c, 'agent_circuit.transitions', { agent, from, to })).toBe(0);
      for (const outcome of ['success', 'failure', 'rejected', 'released', 'late']) expect(value(c, 'agent_circuit.calls', { agent, outcome })).toBe(0);
      for (const reason of FAILURE_REASONS) expect(value(c, 'agent_circuit.failures', { agent, reason })).toBe(0);
    }
    expect(points(c, 'agent_circuit.transitions')).toHaveLength(2 * 9);
    // Without source.fallbacks or source.fleet, those instruments do not exist.
    for (const name of ['agent_circuit.fallbacks', 'agent_circuit.redis.up', 'agent_circuit.sync.errors', 'agent_circuit.remote_transitions']) {
      expect(c.metrics.has(name)).toBe(false);
    }
  });

  test('a trip: OPEN is 1, CLOSED->OPEN counted once, calls and failures by reason, the gauges; a rejection counted', async () => {
    const { breakers, clock, collect } = breakersRig();
    const tables = jest.spyOn(breakers, 'metricsTable');
    await breakers.execute('amazon', async () => 'ok');
    await trip(breakers, 'amazon', Object.assign(new Error('slow'), { circuitReason: 'timeout' }));
    await breakers.execute('amazon', async () => 'not called', () => 'fallback');
    clock.advance(15_000);
    tables.mockClear();
    const c = await collect();
    expect(tables).toHaveBeenCalledTimes(1); // one table for the whole collection
    const amazon = { agent: 'amazon' };
    expect(STATES.map((state) => value(c, 'agent_circuit.state', { ...amazon, state }))).toEqual([0, 1, 0]);
    expect(STATES.map((state) => value(c, 'agent_circuit.state', { agent: 'shopee', state }))).toEqual([1, 0, 0]);
    expect(value(c, 'agent_circuit.transitions', { ...amazon, from: 'CLOSED', to: 'OPEN' })).toBe(1);
    expect(value(c, 'agent_circuit.transitions', { ...amazon, from: 'OPEN', to: 'HALF_OPEN' })).toBe(0);
    expect(value(c, 'agent_circuit.calls', { ...amazon, outcome: 'success' })).toBe(1);
    expect(value(c, 'agent_circuit.calls', { ...amazon, outcome: 'failure' })).toBe(5);
    expect(value(c, 'agent_circuit.calls', { ...amazon, outcome: 'rejected' })).toBe(1);
    expect(value(c, 'agent_circuit.failures', { ...amazon, reason: 'timeout' })).toBe(5);
    expect(value(c, 'agent_circuit.failures', { ...amazon, reason: 'error' })).toBe(0);
    expect(value(c, 'agent_circuit.consecutive_failures', amazon)).toBe(5);
    expect(value(c, 'agent_circuit.error_ratio', amazon)).toBeCloseTo(5 / 6);
    expect(value(c, 'agent_circuit.open_remaining', amazon)).toBe(45);
    expect(value(c, 'agent_circuit.open_remaining', { agent: 'shopee' })).toBe(0);
    expect(value(c, 'agent_circuit.isolated', amazon)).toBe(0); // a trip is not an operator's hold
    const kinds = Object.fromEntries([...c.metrics].map(([name, m]) => [name, [m.dataPointType, m.descriptor.unit]]));
    expect(kinds['agent_circuit.state']).toEqual([DataPointType.GAUGE, '1']);
    expect(kinds['agent_circuit.transitions']).toEqual([DataPointType.SUM, '{transition}']);
    expect(kinds['agent_circuit.open_remaining']).toEqual([DataPointType.GAUGE, 's']);
    expect((c.metrics.get('agent_circuit.calls') as { isMonotonic?: boolean }).isMonotonic).toBe(true);
  });

  test('isolated: 1 while an operator holds the breaker OPEN, 0 once released', async () => {
    const { breakers, collect } = breakersRig();
    const release = breakers.isolate('amazon');
    expect(value(await collect(), 'agent_circuit.isolated', { agent: 'amazon' })).toBe(1);
    expect(value(await collect(), 'agent_circuit.isolated', { agent: 'shopee' })).toBe(0);
    release();
    const c = await collect();
    expect(value(c, 'agent_circuit.isolated', { agent: 'amazon' })).toBe(0);
    expect((c.metrics.get('agent_circuit.isolated') as { dataPointType: unknown }).dataPointType).toBe(DataPointType.GAUGE);
  });

  test('fallbacks by source when the source has them (called as its method)', async () => {
    const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock() });
    const source = {
      breakers,
      served: { amazon: { cached: 3, empty: 1 } } as Record<string, { cached: number; empty: number }>,
      fallbacks(agent: string) {
        return this.served[agent] ?? { cached: 0, empty: 0 };
      },
    };
    const { collect } = rig(source);
    const c = await collect();
    expect(value(c, 'agent_circuit.fallbacks', { agent: 'amazon', source: 'cached' })).toBe(3);
    expect(value(c, 'agent_circuit.fallbacks', { agent: 'amazon', source: 'empty' })).toBe(1);
  });

  test('fleet mode: redis up, sync errors and remote transitions only with source.fleet; nothing while it reports no status', async () => {
    const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock() });
    let status: Partial<FleetStatus> | undefined = {
      connected: true,
      syncErrors: 3,
      remoteTransitions: [{ agent: 'amazon', from: 'CLOSED', to: 'OPEN', count: 2 }],
    };
    const { collect } = rig({ breakers, fleet: () => status as FleetStatus | undefined });
    let c = await collect();
    expect(c.errors).toEqual([]);
    expect(value(c, 'agent_circuit.redis.up', {})).toBe(1);
    expect(value(c, 'agent_circuit.sync.errors', {})).toBe(3);
    expect(value(c, 'agent_circuit.remote_transitions', { agent: 'amazon', from: 'CLOSED', to: 'OPEN' })).toBe(2);
    status = { connected: false, syncErrors: 4, remoteTransitions: [] };
    c = await collect();
    expect([value(c, 'agent_circuit.redis.up', {}), value(c, 'agent_circuit.sync.errors', {})]).toEqual([0, 4]);
    status = undefined;
    c = await collect();
    expect(c.errors).toEqual([]);
    expect(value(c, 'agent_circuit.state', { agent: 'amazon', state: 'CLOSED' })).toBe(1);

    const { collect: without } = rig({ breakers });
    const w = await without();
    expect(['agent_circuit.redis.up', 'agent_circuit.sync.errors', 'agent_circuit.remote_transitions'].filter((n) => w.metrics.has(n))).toEqual([]);
  });
});

describe('agent_circuit.recovery.duration', () => {
  /** The one recovery point of `agent`, with its bucket index (upper bound inclusive). */
  function recoveryPoint(c: Collected, agent: string) {
    const [p, ...more] = points(c, 'agent_circuit.recovery.duration', { agent });
    expect(more).toEqual([]);
    return p?.value as Histogram | undefined;
  }

  test('a recovery is recorded once, with the exact duration in seconds, in the right bucket', async () => {
    const { breakers, clock, collect } = breakersRig();
    await trip(breakers, 'amazon');
    expect(recoveryPoint(await collect(), 'amazon')).toBeUndefined();
    clock.advance(62_500); // past the 60 s open timeout: HALF_OPEN
    await breakers.execute('amazon', async () => 1);
    expect(breakers.state('amazon')).toBe('HALF_OPEN');
    await breakers.execute('amazon', async () => 2);
    expect(breakers.state('amazon')).toBe('CLOSED');
    const h = recoveryPoint(await collect(), 'amazon')!;
    expect([h.count, h.sum, h.min, h.max]).toEqual([1, 62.5, 62.5, 62.5]);
    expect(h.buckets.boundaries).toEqual([...RECOVERY_BOUNDARIES_S]);
    expect(RECOVERY_BOUNDARIES_S.slice(0, 6)).toEqual([1, 5, 10, 30, 60, 120]);
    expect(h.buckets.counts).toEqual([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]); // (60, 120]
    // The same number the core keeps (and the Prometheus histogram shows).
    expect(breakers.status('amazon').recovery).toMatchObject({ count: 1, lastMs: 62_500 });
  });

  test('a failed probe does not restart the clock: the recovery runs from the first OPEN (the core\'s definition)', async () => {
    const { breakers, clock, collect } = breakersRig();
    await trip(breakers, 'amazon');
    clock.advance(60_000);
    await breakers.execute('amazon', boom).catch(() => undefined); // probe fails: OPEN again at 60 s
    expect(breakers.state('amazon')).toBe('OPEN');
    clock.advance(60_000);
    await breakers.execute('amazon', async () => 1);
    await breakers.execute('amazon', async () => 2);
    expect(breakers.state('amazon')).toBe('CLOSED');
    const h = recoveryPoint(await collect(), 'amazon')!;
    expect([h.count, h.sum]).toEqual([1, 120]); // not 60: the last OPEN was a reopening
  });

  test("another registry's recovery of an agent with the same id is not recorded; resets and forced closes are not recoveries", async () => {
    const { breakers, clock, collect } = breakersRig();
    const otherClock = new ManualClock();
    const other = new AgentCircuitBreaker({ agents: ['amazon'], clock: otherClock });
    await trip(other, 'amazon');
    otherClock.advance(60_000);
    await other.execute('amazon', async () => 1);
    await other.execute('amazon', async () => 2);
    expect(other.status('amazon').recovery.count).toBe(1);
    await trip(breakers, 'amazon');
    breakers.reset('amazon');
    breakers.forceOpen('shopee');
    clock.advance(60_000);
    expect(points(await collect(), 'agent_circuit.recovery.duration')).toEqual([]);
  });
});

describe('a source that fails', () => {
  test('at registration: the error, and nothing registered', async () => {
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    const broken = { metricsTable: (): never => { throw new Error('no table'); } };
    expect(() => registerCircuitInstruments({ breakers: broken }, { meter: provider.getMeter('test') })).toThrow('no table');
    const { resourceMetrics, errors } = await reader.collect();
    expect([resourceMetrics.scopeMetrics.flatMap((s) => s.metrics), errors]).toEqual([[], []]);
    await provider.shutdown();
  });

  test('at a recovery: no exception escapes the channel, one diagnostic, the next recovery recorded', async () => {
    const { diag, DiagLogLevel } = await import('@opentelemetry/api');
    const warnings: string[] = [];
    const noop = () => undefined;
    diag.setLogger({ error: noop, warn: (m: string) => warnings.push(m), info: noop, debug: noop, verbose: noop }, DiagLogLevel.WARN);
    try {
      const clock = new ManualClock();
      const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock });
      let fail = false;
      const { collect } = rig({ breakers: { metricsTable: () => (fail ? (undefined as never) : breakers.metricsTable()) } });
      const recover = async () => {
        await trip(breakers, 'amazon');
        clock.advance(60_000);
        await breakers.execute('amazon', async () => 1);
        await breakers.execute('amazon', async () => 2);
      };
      fail = true;
      await recover();
      fail = false;
      expect(warnings).toEqual([expect.stringMatching(/^agent-circuit-breaker\/otel: could not record the recovery of "amazon": /)]);
      await recover();
      const [p] = points(await collect(), 'agent_circuit.recovery.duration', { agent: 'amazon' });
      expect((p.value as Histogram).count).toBe(1);
    } finally {
      diag.disable();
    }
  });
});

describe('agent_circuit.call.duration', () => {
  test('one point per outcome, in seconds: success, failure (a timeout too) and rejected', async () => {
    // The breaker times calls with perf_hooks' performance.now(): the test moves it with Jest's fake
    // timers, so the durations are exact.
    jest.useFakeTimers();
    let now = 1_000;
    const clockNow = jest.spyOn(performance, 'now').mockImplementation(() => now);
    const advance = (ms: number) => {
      now += ms;
      jest.advanceTimersByTime(ms);
    };
    const { breakers, collect } = breakersRig();
    await breakers.execute('amazon', async () => 'ok');
    const slow = breakers.execute('amazon', () => new Promise((resolve) => setTimeout(resolve, 250)));
    advance(250);
    await slow;
    await breakers.execute('amazon', boom).catch(() => undefined);
    const timedOut = breakers.execute('amazon', never, { timeoutMs: 500 }).catch((e: { code?: string }) => e.code);
    advance(500);
    expect(await timedOut).toBe('ERR_CALL_TIMEOUT');
    breakers.forceOpen('amazon');
    await breakers.execute('amazon', async () => 'not called').catch(() => undefined);
    clockNow.mockRestore();
    jest.useRealTimers();
    const c = await collect();
    const byOutcome = (outcome: string) => {
      const [p, ...more] = points(c, 'agent_circuit.call.duration', { agent: 'amazon', outcome });
      expect(more).toEqual([]);
      const h = p?.value as Histogram;
      return [h?.count, h?.sum];
    };
    expect(byOutcome('success')).toEqual([2, 0.25]);
    // The timeout is a failure, as the breaker counts it.
    expect(byOutcome('failure')).toEqual([2, 0.5]);
    expect(byOutcome('rejected')).toEqual([1, 0]);
    const metric = c.metrics.get('agent_circuit.call.duration')!;
    expect(metric.descriptor.unit).toBe('s');
    expect((metric.dataPoints[0].value as Histogram).buckets.boundaries).toEqual([...CALL_DURATION_BOUNDARIES_S]);
  });

  test('call durations are off by default: no call-duration instrument and no call:end subscriber', async () => {
    const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock() });
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    // Other test files in this worker may have subscribed: watch this registration's own calls.
    const subscribe = jest.spyOn(diagnostics, 'subscribe');
    const handle = registerCircuitInstruments({ breakers }, { meter: provider.getMeter('test') });
    open.push({ handle, provider });
    expect(subscribe.mock.calls.map(([name]) => name)).not.toContain('agent-circuit-breaker:call:end');
    subscribe.mockRestore();
    await breakers.execute('amazon', async () => 'ok');
    const { resourceMetrics } = await reader.collect();
    const names = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name));
    expect(names).toContain('agent_circuit.state');
    expect(names).not.toContain('agent_circuit.call.duration');
  });

  test('callDurations: false creates no call-duration instrument', async () => {
    const { breakers, collect } = breakersRig({ callDurations: false });
    await breakers.execute('amazon', async () => 'ok');
    expect((await collect()).metrics.has('agent_circuit.call.duration')).toBe(false);
  });
});

describe('close()', () => {
  test('stops observation: no table read, no new call durations or recoveries, no error; a second close is harmless', async () => {
    const { breakers, clock, handle, collect } = breakersRig();
    await breakers.execute('amazon', async () => 'ok');
    const before = await collect();
    expect(points(before, 'agent_circuit.call.duration')).toHaveLength(1);
    handle.close();
    handle.close();
    const tables = jest.spyOn(breakers, 'metricsTable');
    await breakers.execute('amazon', async () => 'ok');
    await trip(breakers, 'amazon');
    clock.advance(60_000);
    await breakers.execute('amazon', async () => 1);
    await breakers.execute('amazon', async () => 2);
    expect(breakers.status('amazon').recovery.count).toBe(1);
    tables.mockClear();
    const after = await collect();
    expect(after.errors).toEqual([]);
    expect(tables).not.toHaveBeenCalled();
    const calls = points(after, 'agent_circuit.call.duration').map((p) => (p.value as Histogram).count);
    expect(calls).toEqual([1]);
    expect(points(after, 'agent_circuit.recovery.duration')).toEqual([]);
  });
});

describe('bad arguments', () => {
  const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock() });
  const meter = new MeterProvider().getMeter('test');
  const f = () => undefined;
  const methods = { createObservableGauge: f, createObservableCounter: f, createHistogram: f, addBatchObservableCallback: f, removeBatchObservableCallback: f };

  test.each([
    ['not an object', 'x', /options must be an object \{ meter\?, callDurations\? \} \(got "x"\)/],
    ['null', null, /options must be an object/],
    ['a meter without createObservableGauge', { meter: {} }, /options\.meter must be an OpenTelemetry Meter .*with a createObservableGauge method/],
    ['a meter that is not an object', { meter: 'm' }, /options\.meter must be an OpenTelemetry Meter/],
    ['a meter missing another method', { meter: { ...methods, createHistogram: undefined } }, /options\.meter must be an OpenTelemetry Meter .*with a createHistogram method \(got a value of type object\)/],
    ['callDurations not a boolean', { callDurations: 'yes' }, /options\.callDurations must be true or false \(got "yes"\)/],
    ['an unknown option', { callDurationBuckets: [1] }, /unknown option "callDurationBuckets"; the options are meter, callDurations/],
  ])('options: %s throws ERR_INVALID_ARG naming it', (_what, options, message) => {
    const call = () => registerCircuitInstruments({ breakers }, options as never);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    expect(call).toThrow(message);
  });

  test.each([
    ['no source', undefined, /source must be an object/],
    ['breakers without metricsTable', { breakers: {} }, /source\.breakers must be an AgentCircuitBreaker, or anything with its metricsTable\(\)/],
    ['fallbacks not a function', { breakers, fallbacks: 1 }, /source\.fallbacks must be a function/],
  ])('source: %s throws ERR_INVALID_ARG', (_what, source, message) => {
    expect(() => registerCircuitInstruments(source as never, { meter })).toThrow(message);
  });

  test('a bad call leaves nothing subscribed', async () => {
    const { collect } = breakersRig({ callDurations: false });
    expect(() => registerCircuitInstruments({ breakers }, { meter, callDurations: 1 as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    await breakers.execute('amazon', async () => 'ok');
    expect((await collect()).metrics.has('agent_circuit.call.duration')).toBe(false);
  });
});

describe('one instrument per Prometheus family, with the same meaning', () => {
  test('the table maps every family to one instrument and back, kinds and help texts matching', async () => {
    const registry = new Registry();
    const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock() });
    const promSource = { breakers };
    registerCircuitMetrics(promSource, registry, { callDurations: true });
    const callHelp = (registry.getSingleMetric(CALL_DURATION_FAMILY) as unknown as { help: string }).help;
    stopCallDurations(promSource);
    const families = [
      ...FAMILIES.map((f) => [f.name, f.type, f.help]),
      ...FLEET_FAMILIES.map((f) => [f.name, f.type, f.help]),
      [CALL_DURATION_FAMILY, 'histogram', callHelp],
    ];
    const kindOf = { gauge: 'ObservableGauge', counter: 'ObservableCounter', histogram: 'Histogram' } as Record<string, string>;
    const fromTable = CIRCUIT_INSTRUMENTS.map((i) => [i.prometheus, i.kind, i.description]);
    expect(new Set(fromTable.map(([p]) => p)).size).toBe(CIRCUIT_INSTRUMENTS.length);
    expect(new Set(CIRCUIT_INSTRUMENTS.map((i) => i.name)).size).toBe(CIRCUIT_INSTRUMENTS.length);
    expect(fromTable.sort()).toEqual(families.map(([name, type, help]) => [name, kindOf[type], help]).sort());
    expect(CALL_DURATION_BOUNDARIES_S).toEqual(CALL_DURATION_BUCKETS);
    for (const i of CIRCUIT_INSTRUMENTS) {
      expect(i.name).toMatch(/^agent_circuit\.[a-z_]+(\.[a-z_]+)?$/);
      expect(i.name).not.toMatch(/_total$|_seconds$/);
    }
  });

  test('the SDK sees exactly the table: names, units, descriptions (fallbacks, fleet and call durations on)', async () => {
    const clock = new ManualClock();
    const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock });
    const fleet = () => ({ connected: true, syncErrors: 0, remoteTransitions: [{ agent: 'amazon', from: 'OPEN', to: 'CLOSED', count: 1 }] }) as unknown as FleetStatus;
    const { collect } = rig({ breakers, fallbacks: () => ({ cached: 0, empty: 0 }), fleet });
    // Histograms have points once something is recorded: calls, and a recovery.
    await trip(breakers, 'amazon');
    clock.advance(60_000);
    await breakers.execute('amazon', async () => 1);
    await breakers.execute('amazon', async () => 2);
    const c = await collect();
    const seen = [...c.metrics.values()].map((m) => [m.descriptor.name, m.descriptor.unit, m.descriptor.description]).sort();
    const expected = CIRCUIT_INSTRUMENTS.map((i) => [i.name, i.unit, i.description]).sort();
    expect(seen).toEqual(expected);
  });
  test("the table in otel.ts's header comment is CIRCUIT_INSTRUMENTS", () => {
    const source = readFileSync(path.join(__dirname, '..', '..', 'lib', 'resilience', 'otel.ts'), 'utf8');
    const rows = [...source.matchAll(/^ \* \| (agent_circuit\.\S+)\s+\| (\w+)\s+\| `([^`]+)`\s+\| ([^|]+?)\s+\| (\w+)\s+\|$/gm)];
    const documented = rows.map(([, name, kind, unit, attributes, prometheus]) => [name, kind, unit, attributes === '(none)' ? '' : attributes, prometheus]);
    expect(documented).toEqual(CIRCUIT_INSTRUMENTS.map((i) => [i.name, i.kind, i.unit, i.attributes.join(', '), i.prometheus]));
  });
});

describe('packaging', () => {
  test('the compiled module loads @opentelemetry/api and never prom-client', () => {
    const root = path.join(__dirname, '..', '..');
    const code = `
      require(${JSON.stringify(path.join(root, 'otel.js'))});
      const loaded = Object.keys(require.cache);
      console.log(JSON.stringify([loaded.some((f) => f.includes('prom-client')), loaded.some((f) => f.includes('@opentelemetry/api'))]));`;
    const child = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 20_000 });
    expect([child.signal, child.status, child.stderr]).toEqual([null, 0, '']);
    expect(JSON.parse(child.stdout)).toEqual([false, true]);
  });

  test('the default meter is the global provider\'s, named after the package with its version', async () => {
    const { metrics } = await import('@opentelemetry/api');
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    metrics.setGlobalMeterProvider(provider);
    try {
      const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock() });
      const handle = registerCircuitInstruments({ breakers }, { callDurations: false });
      open.push({ handle, provider });
      const { resourceMetrics } = await reader.collect();
      const scope = resourceMetrics.scopeMetrics.map((s) => s.scope);
      const { version } = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
      expect(scope).toEqual([{ name: 'agent-circuit-breaker', version, schemaUrl: undefined }]);
    } finally {
      metrics.disable();
    }
  });
});
