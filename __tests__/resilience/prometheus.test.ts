/**
 * `agent-circuit-breaker/prometheus`, as a user imports it: the families a scrape shows (parsed
 * into samples, never matched as substrings), the recovery and call-duration histograms, OpenMetrics
 * next to Prometheus text, fleet mode's families, one metrics table per scrape, and promtool's lint.
 *
 * The call-duration histogram listens on a process-wide diagnostics channel: every source made here
 * goes through `track`, and `afterEach` stops its subscription so no other test takes the traced path.
 */

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import diagnostics from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import {
  CALL_DURATION_BUCKETS,
  CALL_DURATION_FAMILY,
  CALL_DURATION_MAX_AGENTS,
  registerCircuitMetrics,
  stopCallDurations,
  type CircuitMetricsSource,
} from 'agent-circuit-breaker/prometheus';
import { AgentCircuitBreaker, CircuitBreaker, DEFAULT_CONFIG, ManualClock, STATES } from 'agent-circuit-breaker';
import type { FleetStatus } from 'agent-circuit-breaker/fleet';
import { openMetricsRegistry, wantsOpenMetrics } from '../../app/lib/http/metrics-registry';

/** The call-duration histogram on (it is off by default). */
const ON = { callDurations: true };

// ---------------------------------------------------------------------------------------------
// A small exposition parser: HELP/TYPE lines and samples (name, labels, value).

type Labels = Record<string, string>;
type Sample = { name: string; labels: Labels; value: number };
type Exposition = { samples: Sample[]; types: Map<string, string>; helps: Map<string, string>; eof: boolean };

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const n = Number(text);
  if (Number.isNaN(n)) throw new Error(`not a sample value: ${JSON.stringify(text)}`);
  return n;
}

function parseLabels(text: string): Labels {
  const labels: Labels = {};
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) throw new Error(`bad labels at ${at}: ${JSON.stringify(text)}`);
    if (Object.hasOwn(labels, m[1])) throw new Error(`duplicate label ${m[1]} in ${JSON.stringify(text)}`);
    labels[m[1]] = m[2].replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
    at = re.lastIndex;
  }
  return labels;
}

function parse(text: string): Exposition {
  const out: Exposition = { samples: [], types: new Map(), helps: new Map(), eof: false };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (out.eof) throw new Error(`content after # EOF: ${line}`);
    if (line === '# EOF') {
      out.eof = true;
      continue;
    }
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
      if (!m) throw new Error(`unexpected comment: ${line}`);
      const map = m[1] === 'TYPE' ? out.types : out.helps;
      if (map.has(m[2])) throw new Error(`second # ${m[1]} for ${m[2]}`);
      map.set(m[2], m[3]);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (\S+))?$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    out.samples.push({ name: m[1], labels: parseLabels(m[2] ?? ''), value: parseValue(m[3]) });
  }
  return out;
}

const sameLabels = (a: Labels, b: Labels) => Object.keys(a).length === Object.keys(b).length && Object.entries(b).every(([k, v]) => a[k] === v);

/** Every sample named `name` whose labels include `labels`. */
function series(e: Exposition, name: string, labels: Labels = {}): Sample[] {
  return e.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The value of the one sample with exactly this name and these labels; fails if it is missing or repeated. */
function value(e: Exposition, name: string, labels: Labels = {}): number {
  const found = e.samples.filter((s) => s.name === name && sameLabels(s.labels, labels));
  if (found.length !== 1) throw new Error(`${found.length} samples ${name}${JSON.stringify(labels)}`);
  return found[0].value;
}

/** A histogram's bucket `le` labels in exposition order and their counts. */
function buckets(e: Exposition, family: string, labels: Labels): Array<[string, number]> {
  return series(e, `${family}_bucket`, labels).map((s) => [s.labels.le, s.value]);
}

/** One scrape of a registry (either content type), parsed. */
const scrape = async (registry: { metrics(): Promise<string> }) => parse(await registry.metrics());

// ---------------------------------------------------------------------------------------------

const sources: CircuitMetricsSource[] = [];
/** A source whose call-duration subscription `afterEach` stops. */
function track<S extends CircuitMetricsSource>(source: S): S {
  sources.push(source);
  return source;
}

afterEach(() => {
  for (const source of sources.splice(0)) stopCallDurations(source);
  jest.useRealTimers();
  jest.restoreAllMocks();
});

/**
 * Jest's fake timers, with the breaker's clock for call durations (`performance` from
 * node:perf_hooks, which Jest does not fake) on the fake clock too: durations are exact.
 */
function fakeTimers() {
  jest.useFakeTimers();
  jest.spyOn(performance, 'now').mockImplementation(() => jest.now());
}

const boom = () => Promise.reject(new Error('boom'));
const never = () => new Promise<never>(() => undefined);
const ignore = () => undefined;

const RECOVERY_LE = ['1', '5', '10', '30', '60', '120', '300', '600', '1800', '3600', '7200', '21600', '+Inf'];

describe('transitions', () => {
  test('every from/to pair of every agent is there at 0 on the first scrape; a trip counts CLOSED->OPEN once', async () => {
    const breakers = new AgentCircuitBreaker({ agents: ['amazon', 'shopee'], clock: new ManualClock(), defaults: { failureThreshold: 1 } });
    const registry = registerCircuitMetrics(track({ breakers }), new Registry(), { callDurations: false });

    const first = await scrape(registry);
    expect(first.types.get('agent_circuit_transitions_total')).toBe('counter');
    for (const agent of ['amazon', 'shopee']) {
      expect(series(first, 'agent_circuit_transitions_total', { agent })).toHaveLength(9);
      for (const from of STATES) for (const to of STATES) expect(value(first, 'agent_circuit_transitions_total', { agent, from, to })).toBe(0);
    }

    await breakers.execute('amazon', boom).catch(ignore);
    expect(breakers.state('amazon')).toBe('OPEN');
    const after = await scrape(registry);
    for (const agent of ['amazon', 'shopee']) {
      for (const from of STATES) {
        for (const to of STATES) {
          const tripped = agent === 'amazon' && from === 'CLOSED' && to === 'OPEN';
          expect([agent, from, to, value(after, 'agent_circuit_transitions_total', { agent, from, to })]).toEqual([agent, from, to, tripped ? 1 : 0]);
        }
      }
    }
    expect(value(after, 'agent_circuit_state', { agent: 'amazon', state: 'OPEN' })).toBe(1);
  });
});

describe('the values each family reads', () => {
  test('calls by outcome (late too), failures by reason, fallbacks by source, error ratio and consecutive failures', async () => {
    const clock = new ManualClock();
    const breakers = new AgentCircuitBreaker({ agents: ['amazon', 'shopee'], clock });
    const served: Record<string, { cached: number; empty: number }> = { amazon: { cached: 3, empty: 1 } };
    const registry = registerCircuitMetrics(track({ breakers, fallbacks: (agent: string) => served[agent] ?? { cached: 0, empty: 0 } }), new Registry(), { callDurations: false });
    const amazon = breakers.get('amazon');
    await amazon.execute(async () => 'ok');
    const timeout = () => Promise.reject(Object.assign(new Error('slow'), { circuitReason: 'timeout' }));
    for (let i = 0; i < 2; i++) await amazon.execute(timeout).catch(ignore);
    await amazon.execute(boom).catch(ignore);
    // A permit taken before an operator's force-open and reported after it: a late outcome.
    const permit = amazon.acquire()!;
    amazon.forceOpen();
    amazon.succeed(permit);
    await amazon.execute(async () => 'not called', () => 'fallback');

    const e = await scrape(registry);
    const a = { agent: 'amazon' };
    const outcomes = ['success', 'failure', 'rejected', 'released', 'late'].map((outcome) => value(e, 'agent_circuit_calls_total', { ...a, outcome }));
    expect(outcomes).toEqual([1, 3, 1, 0, 1]);
    expect(value(e, 'agent_circuit_failures_total', { ...a, reason: 'timeout' })).toBe(2);
    expect(value(e, 'agent_circuit_failures_total', { ...a, reason: 'error' })).toBe(1);
    expect(value(e, 'agent_circuit_failures_total', { ...a, reason: 'http_5xx' })).toBe(0);
    expect([value(e, 'agent_circuit_fallbacks_total', { ...a, source: 'cached' }), value(e, 'agent_circuit_fallbacks_total', { ...a, source: 'empty' })]).toEqual([3, 1]);
    expect(value(e, 'agent_circuit_fallbacks_total', { agent: 'shopee', source: 'cached' })).toBe(0);
    expect(value(e, 'agent_circuit_error_ratio', a)).toBeCloseTo(3 / 4);
    expect(value(e, 'agent_circuit_consecutive_failures', a)).toBe(3);
    expect(value(e, 'agent_circuit_consecutive_failures', { agent: 'shopee' })).toBe(0);
  });

  test('without source.fallbacks the fallbacks family is not registered at all (no HELP or TYPE), and its name stays free', async () => {
    const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock() });
    const registry = registerCircuitMetrics(track({ breakers }), new Registry(), { callDurations: false });
    const text = await registry.metrics();
    expect(text).not.toContain('agent_circuit_fallbacks_total');
    expect(parse(text).types.get('agent_circuit_state')).toBe('gauge');
    expect(registry.getSingleMetric('agent_circuit_fallbacks_total')).toBeUndefined();
  });
});

describe('isolated', () => {
  test('1 while an operator holds the breaker OPEN (isolate), 0 after the last hold is released, and after a reset; a trip alone is not a hold', async () => {
    const clock = new ManualClock();
    const breakers = new AgentCircuitBreaker({ agents: ['amazon', 'shopee'], clock, defaults: { failureThreshold: 1 } });
    const registry = registerCircuitMetrics(track({ breakers }), new Registry(), { callDurations: false });
    const isolated = async () => {
      const e = await scrape(registry);
      return [value(e, 'agent_circuit_isolated', { agent: 'amazon' }), value(e, 'agent_circuit_isolated', { agent: 'shopee' })];
    };
    expect((await scrape(registry)).types.get('agent_circuit_isolated')).toBe('gauge');
    expect(await isolated()).toEqual([0, 0]);
    await breakers.execute('shopee', boom).catch(ignore);
    expect(breakers.state('shopee')).toBe('OPEN');
    expect(await isolated()).toEqual([0, 0]);
    const releaseFirst = breakers.isolate('amazon');
    const releaseSecond = breakers.isolate('amazon');
    clock.advance(3_600_000);
    expect(await isolated()).toEqual([1, 0]);
    releaseFirst();
    expect(await isolated()).toEqual([1, 0]);
    releaseSecond();
    expect(await isolated()).toEqual([0, 0]);
    breakers.isolate('amazon');
    breakers.reset('amazon');
    expect(await isolated()).toEqual([0, 0]);
  });
});

describe('recovery time histogram', () => {
  test('121 s from trip to close lands above le=120 and within le=300; a 1 s recovery lands in le=1', async () => {
    // Our own config, not DEFAULT_CONFIG's 60 s: the open timeout is 1 s so the second recovery can take exactly 1 s.
    expect(DEFAULT_CONFIG.openTimeoutMs).toBe(60_000);
    const clock = new ManualClock();
    const breakers = new AgentCircuitBreaker({
      agents: ['amazon'],
      clock,
      defaults: { failureThreshold: 1, successThreshold: 2, openTimeoutMs: 1_000 },
    });
    const registry = registerCircuitMetrics(track({ breakers }), new Registry(), { callDurations: false });
    const agent = 'amazon';
    const ok = async () => 'ok';

    const before = await scrape(registry);
    expect(before.types.get('agent_circuit_recovery_seconds')).toBe('histogram');
    expect(buckets(before, 'agent_circuit_recovery_seconds', { agent })).toEqual(RECOVERY_LE.map((le) => [le, 0]));
    expect(value(before, 'agent_circuit_recovery_seconds_sum', { agent })).toBe(0);
    expect(value(before, 'agent_circuit_recovery_seconds_count', { agent })).toBe(0);

    await breakers.execute(agent, boom).catch(ignore);
    expect(breakers.state(agent)).toBe('OPEN');
    clock.advance(121_000);
    await breakers.execute(agent, ok);
    await breakers.execute(agent, ok);
    expect(breakers.state(agent)).toBe('CLOSED');

    const once = await scrape(registry);
    expect(value(once, 'agent_circuit_recovery_seconds_count', { agent })).toBe(1);
    expect(value(once, 'agent_circuit_recovery_seconds_sum', { agent })).toBe(121);
    const b1 = buckets(once, 'agent_circuit_recovery_seconds', { agent });
    expect(b1.map(([le]) => le)).toEqual(RECOVERY_LE);
    for (const [le, n] of b1) expect([le, n]).toEqual([le, le !== '+Inf' && Number(le) <= 120 ? 0 : 1]);
    expect(value(once, 'agent_circuit_recovery_seconds_bucket', { agent, le: '+Inf' })).toBe(value(once, 'agent_circuit_recovery_seconds_count', { agent }));

    // Exactly 1 s: le is inclusive.
    await breakers.execute(agent, boom).catch(ignore);
    clock.advance(1_000);
    await breakers.execute(agent, ok);
    await breakers.execute(agent, ok);
    expect(breakers.state(agent)).toBe('CLOSED');
    const twice = await scrape(registry);
    expect(value(twice, 'agent_circuit_recovery_seconds_count', { agent })).toBe(2);
    expect(value(twice, 'agent_circuit_recovery_seconds_sum', { agent })).toBe(122);
    const b2 = buckets(twice, 'agent_circuit_recovery_seconds', { agent });
    for (const [le, n] of b2) expect([le, n]).toEqual([le, le !== '+Inf' && Number(le) <= 120 ? 1 : 2]);
    // Cumulative: never decreasing, +Inf equal to the count.
    for (let i = 1; i < b2.length; i++) expect(b2[i][1]).toBeGreaterThanOrEqual(b2[i - 1][1]);
    expect(b2[b2.length - 1][1]).toBe(value(twice, 'agent_circuit_recovery_seconds_count', { agent }));
  });
});

describe('call-duration histogram', () => {
  /** Runs one call of each outcome through `amazon` (fake timers: durations are exact). */
  async function everyOutcome(breakers: AgentCircuitBreaker) {
    fakeTimers();
    await expect(breakers.execute('amazon', async () => 'ok')).resolves.toBe('ok');
    // fn fails: the fallback is for rejections only, the call is a failure.
    await expect(breakers.execute('amazon', boom, () => 'fallback')).rejects.toThrow('boom');
    const timedOut = breakers.execute('amazon', never, { timeoutMs: 500 });
    const timedOutCaught = timedOut.catch((e: { code?: string }) => e.code);
    jest.advanceTimersByTime(500);
    expect(await timedOutCaught).toBe('ERR_CALL_TIMEOUT');
    const controller = new AbortController();
    const aborted = breakers.execute('amazon', never, { timeoutMs: 10_000, signal: controller.signal }).catch((e: { code?: string }) => e.code);
    jest.advanceTimersByTime(100);
    controller.abort(new Error('caller gave up'));
    expect(await aborted).toBe('ERR_ABORTED');
    expect(breakers.state('amazon')).toBe('CLOSED');
    breakers.forceOpen('amazon');
    await expect(breakers.execute('amazon', async () => 'ok')).rejects.toMatchObject({ code: 'ERR_CIRCUIT_OPEN' });
    await expect(breakers.execute('amazon', async () => 'ok', () => 'fallback')).resolves.toBe('fallback');
    await expect(breakers.execute('amazon', async () => 'ok', { fallback: () => 'fallback' })).resolves.toBe('fallback');
    jest.useRealTimers();
    jest.restoreAllMocks();
  }

  test('each call lands under the outcome the breaker counted (the words of calls_total): success, failure (a timeout too), released (an abort), rejected (with or without a fallback)', async () => {
    const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock(), defaults: { failureThreshold: 3 } });
    const registry = registerCircuitMetrics(track({ breakers }), undefined, ON);
    await everyOutcome(breakers);

    const e = await scrape(registry);
    expect(e.types.get(CALL_DURATION_FAMILY)).toBe('histogram');
    const counts = Object.fromEntries(series(e, `${CALL_DURATION_FAMILY}_count`, { agent: 'amazon' }).map((s) => [s.labels.outcome, s.value]));
    expect(counts).toEqual({ success: 1, failure: 2, released: 1, rejected: 3 });
    for (const [outcome, n] of Object.entries(counts)) expect(value(e, 'agent_circuit_calls_total', { agent: 'amazon', outcome })).toBe(n);
    for (const [outcome, n] of Object.entries(counts)) {
      const b = buckets(e, CALL_DURATION_FAMILY, { agent: 'amazon', outcome });
      expect(b.map(([le]) => le)).toEqual([...CALL_DURATION_BUCKETS.map(String), '+Inf']);
      expect(b[b.length - 1][1]).toBe(n);
    }
    // Durations under fake timers: the timeout took 0.5 s, the abort 0.1 s, the rest no time.
    expect(value(e, `${CALL_DURATION_FAMILY}_sum`, { agent: 'amazon', outcome: 'failure' })).toBeCloseTo(0.5, 9);
    expect(value(e, `${CALL_DURATION_FAMILY}_sum`, { agent: 'amazon', outcome: 'released' })).toBeCloseTo(0.1, 9);
    expect(value(e, `${CALL_DURATION_FAMILY}_bucket`, { agent: 'amazon', outcome: 'failure', le: '0.25' })).toBe(1);
    expect(value(e, `${CALL_DURATION_FAMILY}_bucket`, { agent: 'amazon', outcome: 'failure', le: '0.5' })).toBe(2);
    expect(value(e, `${CALL_DURATION_FAMILY}_sum`, { agent: 'amazon', outcome: 'success' })).toBe(0);
    // The breaker's own counts agree: one success, two failures (one a timeout), the abort released, three rejections.
    expect(value(e, 'agent_circuit_calls_total', { agent: 'amazon', outcome: 'success' })).toBe(1);
    expect(value(e, 'agent_circuit_calls_total', { agent: 'amazon', outcome: 'failure' })).toBe(2);
    expect(value(e, 'agent_circuit_calls_total', { agent: 'amazon', outcome: 'released' })).toBe(1);
    expect(value(e, 'agent_circuit_calls_total', { agent: 'amazon', outcome: 'rejected' })).toBe(3);
  });

  /** A function that passes its signal on, as fetch does: it rejects with the reason once aborted. */
  const honoursSignal = (signal: AbortSignal) =>
    new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));

  test('a function that honours its signal still lands under failure (timeout) or released (abort), with timeoutMs', async () => {
    const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock() });
    const registry = registerCircuitMetrics(track({ breakers }), undefined, ON);
    fakeTimers();
    const timedOut = breakers.execute('amazon', honoursSignal, { timeoutMs: 50 }).catch((e: { code?: string }) => e.code);
    jest.advanceTimersByTime(50);
    expect(await timedOut).toBe('ERR_CALL_TIMEOUT');
    const controller = new AbortController();
    const aborted = breakers.execute('amazon', honoursSignal, { timeoutMs: 1_000, signal: controller.signal }).catch((e: { code?: string }) => e.code);
    controller.abort();
    expect(await aborted).toBe('ERR_ABORTED');
    jest.useRealTimers();
    const e = await scrape(registry);
    expect(Object.fromEntries(series(e, `${CALL_DURATION_FAMILY}_count`).map((s) => [s.labels.outcome, s.value]))).toEqual({ failure: 1, released: 1 });
  });

  test("a caller's abort without timeoutMs, fn passing the signal on (as fetch does), lands under released, not failure", async () => {
    // The breaker releases the call (nothing counted) and the promise rejects with ERR_ABORTED.
    const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock() });
    const registry = registerCircuitMetrics(track({ breakers }), undefined, ON);
    const controller = new AbortController();
    const call = breakers.execute('amazon', honoursSignal, { signal: controller.signal }).catch((e: { code?: string }) => e.code);
    controller.abort();
    expect(await call).toBe('ERR_ABORTED');
    const e = await scrape(registry);
    expect(value(e, 'agent_circuit_calls_total', { agent: 'amazon', outcome: 'released' })).toBe(1);
    expect(value(e, 'agent_circuit_calls_total', { agent: 'amazon', outcome: 'failure' })).toBe(0);
    expect(Object.fromEntries(series(e, `${CALL_DURATION_FAMILY}_count`).map((s) => [s.labels.outcome, s.value]))).toEqual({ released: 1 });
  });

  test("an error the classifier does not count is released; another breaker's abort error is a failure", async () => {
    const breakers = new AgentCircuitBreaker({ agents: ['amazon', 'shein'], clock: new ManualClock(), classifyError: (e: unknown) => ((e as Error).message === 'ignore me' ? null : 'error') });
    const registry = registerCircuitMetrics(track({ breakers }), undefined, ON);
    await breakers.execute('amazon', () => Promise.reject(new Error('ignore me'))).catch(ignore);
    // shein's abort error, rethrown inside amazon's call: amazon counts it as a failure.
    const sheinAbort = await breakers.execute('shein', async () => 'x', { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    await breakers.execute('amazon', () => Promise.reject(sheinAbort)).catch(ignore);
    const e = await scrape(registry);
    const counts = Object.fromEntries(series(e, `${CALL_DURATION_FAMILY}_count`, { agent: 'amazon' }).map((s) => [s.labels.outcome, s.value]));
    expect(counts).toEqual({ released: 1, failure: 1 });
    for (const [outcome, n] of Object.entries(counts)) expect(value(e, 'agent_circuit_calls_total', { agent: 'amazon', outcome })).toBe(n);
  });

  test('messages for more than CALL_DURATION_MAX_AGENTS agents do not grow the histogram past that many agents', async () => {
    const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock() });
    const registry = registerCircuitMetrics(track({ breakers }), undefined, ON);
    const channel = diagnostics.channel('agent-circuit-breaker:call:end');
    for (let i = 0; i < CALL_DURATION_MAX_AGENTS + 500; i++) channel.publish({ agent: `flood-${i}`, durationMs: 1, outcome: 'success' });
    await breakers.execute('amazon', async () => 'ok');
    const agents = new Set(series(await scrape(registry), `${CALL_DURATION_FAMILY}_count`).map((s) => s.labels.agent));
    expect(agents.size).toBe(CALL_DURATION_MAX_AGENTS);
    expect(agents.has('amazon')).toBe(false); // a real agent arriving after the flood is not counted either
  });

  test('a foreign message on the call:end channel is ignored: no crash, no NaN, no made-up outcome', async () => {
    const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock() });
    const registry = registerCircuitMetrics(track({ breakers }), undefined, ON);
    const channel = diagnostics.channel('agent-circuit-breaker:call:end');
    for (const m of [null, 'x', { agent: 'amazon', durationMs: 'x', outcome: 'success' }, { agent: 'amazon', durationMs: 1 }, { agent: 'amazon', durationMs: -1, outcome: 'success' }, { agent: 7, durationMs: 1, outcome: 'success' }]) {
      expect(() => channel.publish(m)).not.toThrow();
    }
    await breakers.execute('amazon', async () => 'ok');
    const e = await scrape(registry);
    expect(series(e, `${CALL_DURATION_FAMILY}_count`).map((s) => [s.labels.outcome, s.value])).toEqual([['success', 1]]);
    expect(Number.isFinite(value(e, `${CALL_DURATION_FAMILY}_sum`, { agent: 'amazon', outcome: 'success' }))).toBe(true);
  });

  test('a signal aborted before the call is released (fn never ran, and the breaker refused nothing)', async () => {
    const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock() });
    const registry = registerCircuitMetrics(track({ breakers }), undefined, ON);
    const fn = jest.fn(async () => 'ok');
    await expect(breakers.execute('amazon', fn, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(fn).not.toHaveBeenCalled();
    const e = await scrape(registry);
    expect(series(e, `${CALL_DURATION_FAMILY}_count`).map((s) => [s.labels.outcome, s.value])).toEqual([['released', 1]]);
  });

  test("a stand-alone CircuitBreaker's calls are counted too (the channel is process-wide)", async () => {
    const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock() });
    const registry = registerCircuitMetrics(track({ breakers }), undefined, ON);
    const standalone = new CircuitBreaker({ name: 'standalone', clock: new ManualClock() });
    await standalone.execute(async () => 1);
    const e = await scrape(registry);
    expect(value(e, `${CALL_DURATION_FAMILY}_count`, { agent: 'standalone', outcome: 'success' })).toBe(1);
  });

  test('with { callDurations: false } the family is absent', async () => {
    const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock() });
    const registry = registerCircuitMetrics(track({ breakers }), new Registry(), { callDurations: false });
    await breakers.execute('amazon', async () => 'ok');
    const e = await scrape(registry);
    expect(e.types.has(CALL_DURATION_FAMILY)).toBe(false);
    expect(e.samples.filter((s) => s.name.startsWith(CALL_DURATION_FAMILY))).toEqual([]);
    expect(e.types.get('agent_circuit_state')).toBe('gauge');
  });

  test('stopCallDurations stops counting; the histogram keeps its counts', async () => {
    const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock() });
    const source = track({ breakers });
    const registry = registerCircuitMetrics(source, undefined, ON);
    await breakers.execute('amazon', async () => 'ok');
    expect(value(await scrape(registry), `${CALL_DURATION_FAMILY}_count`, { agent: 'amazon', outcome: 'success' })).toBe(1);
    stopCallDurations(source);
    await breakers.execute('amazon', async () => 'ok');
    expect(value(await scrape(registry), `${CALL_DURATION_FAMILY}_count`, { agent: 'amazon', outcome: 'success' })).toBe(1);
  });

  test('the same source in two registries shares one histogram: one call counts once in each', async () => {
    const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock() });
    const source = track({ breakers });
    const first = registerCircuitMetrics(source, undefined, ON);
    const second = registerCircuitMetrics(source, new Registry(), ON);
    await breakers.execute('amazon', async () => 'ok');
    for (const registry of [first, second]) {
      expect(value(await scrape(registry), `${CALL_DURATION_FAMILY}_count`, { agent: 'amazon', outcome: 'success' })).toBe(1);
    }
  });
});

describe('options', () => {
  test('call durations are off unless asked: no family, and execute stays on its fast path (no call:end subscriber)', async () => {
    const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock() });
    // Other test files in this worker may have subscribed: watch this registration's own calls.
    const subscribe = jest.spyOn(diagnostics, 'subscribe');
    const registry = registerCircuitMetrics(track({ breakers }));
    expect(registry.getSingleMetric(CALL_DURATION_FAMILY)).toBeUndefined();
    expect(subscribe).not.toHaveBeenCalled();
  });

  test('callDurationBuckets replaces the bounds: each call lands in the first bucket it fits, le inclusive', async () => {
    fakeTimers();
    const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock() });
    const registry = registerCircuitMetrics(track({ breakers }), undefined, { callDurations: true, callDurationBuckets: [0.1, 1] });
    for (const ms of [100, 500, 2000]) {
      const call = breakers.execute('amazon', () => new Promise((resolve) => setTimeout(resolve, ms)));
      await jest.advanceTimersByTimeAsync(ms);
      await call;
    }
    const text = await scrape(registry);
    const le = (b: string) => value(text, `${CALL_DURATION_FAMILY}_bucket`, { agent: 'amazon', outcome: 'success', le: b });
    expect([le('0.1'), le('1'), le('+Inf')]).toEqual([1, 2, 3]);
  });

  test.each([
    ['not an object', 'x', /options must be an object \{ callDurations\?, callDurationBuckets\? \} \(got "x"\)/],
    ['callDurations not a boolean', { callDurations: 'yes' }, /options\.callDurations must be true or false \(got "yes"\)/],
    ['buckets not increasing', { callDurationBuckets: [1, 0.5] }, /callDurationBuckets must be 1 to 100 increasing finite numbers of seconds above 0/],
    ['buckets empty', { callDurationBuckets: [] }, /callDurationBuckets must be/],
    ['a bucket not a number', { callDurationBuckets: [0.1, '1'] }, /callDurationBuckets must be/],
    ['an unknown option', { buckets: [1] }, /unknown registerCircuitMetrics option "buckets": the options are callDurations, callDurationBuckets/],
  ])('a bad option is refused with ERR_INVALID_ARG naming it: %s', (_, options, message) => {
    const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock() });
    const registry = new Registry();
    expect(() => registerCircuitMetrics({ breakers }, registry, options as never)).toThrow(message);
    expect(() => registerCircuitMetrics({ breakers }, new Registry(), options as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    // Nothing was registered before the refusal.
    expect(registry.getMetricsAsArray()).toEqual([]);
  });
});

describe('registration', () => {
  test('a registry that already has the families is refused before anything is added; bad sources are refused', () => {
    const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock() });
    const registry = registerCircuitMetrics({ breakers });
    const before = registry.getMetricsAsArray().length;
    expect(() => registerCircuitMetrics({ breakers }, registry)).toThrow(/the registry already has a metric named agent_circuit_state/);
    expect(registry.getMetricsAsArray()).toHaveLength(before);
    for (const bad of [null, {}, { breakers: {} }, { breakers: { metricsTable: 1 } }]) {
      expect(() => registerCircuitMetrics(bad as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    }
    // A fallbacks or fleet that is given but cannot be called is refused now, not at the first scrape.
    expect(() => registerCircuitMetrics({ breakers, fallbacks: { cached: 1 } } as never)).toThrow(/source\.fallbacks must be a function when given/);
    expect(() => registerCircuitMetrics({ breakers, fleet: 'redis://127.0.0.1' } as never)).toThrow(/source\.fleet must be a function when given/);
  });

  test('two sources over the same breakers share one subscription; other buckets for them are refused', async () => {
    const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock() });
    const a = registerCircuitMetrics(track({ breakers }), undefined, ON);
    const b = registerCircuitMetrics(track({ breakers }), undefined, ON);
    expect(() => registerCircuitMetrics(track({ breakers }), undefined, { callDurations: true, callDurationBuckets: [1, 2] })).toThrow(/callDurationBuckets differ/);
    await breakers.execute('amazon', async () => 'ok');
    for (const registry of [a, b]) expect(value(await scrape(registry), `${CALL_DURATION_FAMILY}_count`, { agent: 'amazon', outcome: 'success' })).toBe(1);
  });
});

describe('OpenMetrics', () => {
  const COUNTERS = [
    'agent_circuit_transitions',
    'agent_circuit_calls',
    'agent_circuit_failures',
    'agent_circuit_fallbacks',
    'agent_circuit_sync_errors',
    'agent_circuit_remote_transitions',
  ];
  const fleetStatus = (): FleetStatus => ({
    instanceId: 'i-1',
    connected: true,
    lastSyncAt: '2026-01-01T08:00:00.000Z',
    instancesSeen: 2,
    syncErrors: 3,
    remoteTransitions: [{ agent: 'amazon', from: 'CLOSED', to: 'OPEN', count: 2 }],
    syncIntervalMs: 1000,
    agents: {},
  });

  test('an OpenMetrics registry writes # EOF, counters without _total in TYPE and once in samples; the text registry is undisturbed', async () => {
    const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock(), defaults: { failureThreshold: 1 } });
    const source = track({ breakers, fallbacks: () => ({ cached: 1, empty: 2 }), fleet: fleetStatus });
    const om = registerCircuitMetrics(source, openMetricsRegistry(), ON);
    const text = registerCircuitMetrics(source, undefined, ON);
    expect(om.contentType).toBe(Registry.OPENMETRICS_CONTENT_TYPE);
    expect(text.contentType).toBe(Registry.PROMETHEUS_CONTENT_TYPE);
    await breakers.execute('amazon', boom).catch(ignore);

    for (let round = 0; round < 2; round++) {
      const raw = await om.metrics();
      expect(raw.endsWith('# EOF\n')).toBe(true);
      expect(raw).not.toMatch(/_total_total/);
      const e = parse(raw);
      expect(e.eof).toBe(true);
      for (const family of COUNTERS) {
        expect([family, e.types.get(family)]).toEqual([family, 'counter']);
        expect(e.types.has(`${family}_total`)).toBe(false);
        expect(series(e, family)).toEqual([]);
        expect(series(e, `${family}_total`).length).toBeGreaterThan(0);
      }
      expect(value(e, 'agent_circuit_transitions_total', { agent: 'amazon', from: 'CLOSED', to: 'OPEN' })).toBe(1);
      expect(e.types.get('agent_circuit_recovery_seconds')).toBe('histogram');
      expect(value(e, 'agent_circuit_recovery_seconds_bucket', { agent: 'amazon', le: '+Inf' })).toBe(0);
      expect(e.types.get(CALL_DURATION_FAMILY)).toBe('histogram');
      expect(value(e, `${CALL_DURATION_FAMILY}_count`, { agent: 'amazon', outcome: 'failure' })).toBe(1);
      expect(e.types.get('agent_circuit_state')).toBe('gauge');
      expect(value(e, 'agent_circuit_state', { agent: 'amazon', state: 'OPEN' })).toBe(1);
      expect(e.types.get('agent_circuit_redis_up')).toBe('gauge');

      // The Prometheus-text registry over the same source, after the OpenMetrics scrape.
      const t = parse(await text.metrics());
      expect(t.eof).toBe(false);
      for (const family of COUNTERS) {
        expect([family, t.types.get(`${family}_total`)]).toEqual([family, 'counter']);
        expect(t.types.has(family)).toBe(false);
      }
      // The same samples either way.
      const key = (s: Sample) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())} ${s.value}`;
      expect(t.samples.map(key).sort()).toEqual(e.samples.map(key).sort());
    }

    // Scraped at once, each keeps its own format.
    const [omRaw, textRaw] = await Promise.all([om.metrics(), text.metrics()]);
    expect(parse(omRaw).types.get('agent_circuit_transitions')).toBe('counter');
    expect(parse(textRaw).types.get('agent_circuit_transitions_total')).toBe('counter');
    expect(omRaw + textRaw).not.toMatch(/_total_total/);
  });

  test("wantsOpenMetrics: Prometheus's own Accept header yes; text/plain, none, */*, q=0 and a lower q than text no", () => {
    const prometheus =
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
    expect(wantsOpenMetrics(prometheus)).toBe(true);
    expect(wantsOpenMetrics('application/openmetrics-text; version=1.0.0; charset=utf-8')).toBe(true);
    expect(wantsOpenMetrics('text/plain')).toBe(false);
    expect(wantsOpenMetrics('text/plain;version=0.0.4;q=0.5,*/*;q=0.1')).toBe(false);
    expect(wantsOpenMetrics(null)).toBe(false);
    expect(wantsOpenMetrics('*/*')).toBe(false);
    expect(wantsOpenMetrics('application/openmetrics-text;q=0')).toBe(false);
    expect(wantsOpenMetrics('application/openmetrics-text;version=1.0.0;q=0.0')).toBe(false);
    // Parameters in any case and spacing; the text format preferred by q wins.
    expect(wantsOpenMetrics('application/openmetrics-text; Q = 0')).toBe(false);
    expect(wantsOpenMetrics('text/plain;q=1, application/openmetrics-text;q=0.001')).toBe(false);
    expect(wantsOpenMetrics('text/plain;q=0.2, Application/OpenMetrics-Text;q=0.9')).toBe(true);
  });
});

describe('fleet families', () => {
  test('absent without fleet; with it, read from the FleetStatus at each scrape (redis_up 1, then 0)', async () => {
    const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock() });
    const plain = await scrape(registerCircuitMetrics(track({ breakers }), new Registry(), { callDurations: false }));
    for (const name of ['agent_circuit_redis_up', 'agent_circuit_sync_errors_total', 'agent_circuit_remote_transitions_total']) {
      expect(plain.types.has(name)).toBe(false);
      expect(series(plain, name)).toEqual([]);
    }

    let status: FleetStatus | undefined = {
      instanceId: 'i-1',
      connected: true,
      lastSyncAt: '2026-01-01T08:00:00.000Z',
      instancesSeen: 2,
      syncErrors: 3,
      remoteTransitions: [
        { agent: 'amazon', from: 'CLOSED', to: 'OPEN', count: 2 },
        { agent: 'amazon', from: 'OPEN', to: 'CLOSED', count: 1 },
      ],
      syncIntervalMs: 1000,
      agents: {},
    };
    const registry = registerCircuitMetrics(track({ breakers, fleet: () => status }), new Registry(), { callDurations: false });
    const up = await scrape(registry);
    expect(up.types.get('agent_circuit_redis_up')).toBe('gauge');
    expect(up.types.get('agent_circuit_sync_errors_total')).toBe('counter');
    expect(up.types.get('agent_circuit_remote_transitions_total')).toBe('counter');
    expect(value(up, 'agent_circuit_redis_up')).toBe(1);
    expect(value(up, 'agent_circuit_sync_errors_total')).toBe(3);
    expect(value(up, 'agent_circuit_remote_transitions_total', { agent: 'amazon', from: 'CLOSED', to: 'OPEN' })).toBe(2);
    expect(value(up, 'agent_circuit_remote_transitions_total', { agent: 'amazon', from: 'OPEN', to: 'CLOSED' })).toBe(1);

    status = { ...status, connected: false, syncErrors: 4 };
    const down = await scrape(registry);
    expect(value(down, 'agent_circuit_redis_up')).toBe(0);
    expect(value(down, 'agent_circuit_sync_errors_total')).toBe(4);

    // fleet() answering undefined: the families stay declared, with no samples.
    status = undefined;
    const none = await scrape(registry);
    expect(series(none, 'agent_circuit_redis_up')).toEqual([]);
    expect(series(none, 'agent_circuit_sync_errors_total')).toEqual([]);
  });
});

describe('one metrics table per scrape', () => {
  test('metricsTable is read once per registry.metrics(), for two registries scraped at once too', async () => {
    const breakers = new AgentCircuitBreaker({ agents: ['amazon', 'shopee'], clock: new ManualClock() });
    const metricsTable = jest.fn(() => breakers.metricsTable());
    const source = track({ breakers: { metricsTable } });
    const text = registerCircuitMetrics(source, undefined, ON);
    const om = registerCircuitMetrics(source, openMetricsRegistry(), ON);

    await text.metrics();
    expect(metricsTable).toHaveBeenCalledTimes(1);
    await om.metrics();
    expect(metricsTable).toHaveBeenCalledTimes(2);
    await Promise.all([text.metrics(), om.metrics()]);
    expect(metricsTable).toHaveBeenCalledTimes(4);

    // Each scrape reads a fresh table: nothing is kept from the previous one.
    breakers.forceOpen('amazon');
    const after = await scrape(text);
    expect(metricsTable).toHaveBeenCalledTimes(5);
    expect(value(after, 'agent_circuit_state', { agent: 'amazon', state: 'OPEN' })).toBe(1);
  });

  test('two scrapes of one registry started in the same tick share one table', async () => {
    const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock() });
    const metricsTable = jest.fn(() => breakers.metricsTable());
    const registry = registerCircuitMetrics(track({ breakers: { metricsTable } }), undefined, ON);
    const [a, b] = await Promise.all([registry.metrics(), registry.metrics()]);
    expect(a).toBe(b);
    expect(metricsTable).toHaveBeenCalledTimes(1);
  });

  test("under Jest's fake timers each scrape still reads a fresh table, and does once real timers are back", async () => {
    // A user's test suite with jest.useFakeTimers(), whose default fakes queueMicrotask too.
    jest.useFakeTimers();
    const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock() });
    const metricsTable = jest.fn(() => breakers.metricsTable());
    const registry = registerCircuitMetrics(track({ breakers: { metricsTable } }), new Registry(), { callDurations: false });
    const open = (e: Exposition) => value(e, 'agent_circuit_state', { agent: 'amazon', state: 'OPEN' });
    expect(open(await scrape(registry))).toBe(0);
    breakers.forceOpen('amazon');
    const underFakeTimers = open(await scrape(registry));
    jest.useRealTimers();
    breakers.reset('amazon');
    breakers.forceOpen('amazon');
    const afterRealTimers = open(await scrape(registry));
    expect({ tablesRead: metricsTable.mock.calls.length, underFakeTimers, afterRealTimers }).toEqual({ tablesRead: 3, underFakeTimers: 1, afterRealTimers: 1 });
  });
});

describe('promtool', () => {
  test('promtool check metrics accepts the Prometheus-text scrape with no lint output', async () => {
    if (!existsSync('/usr/bin/promtool')) throw new Error('promtool is missing: apt-get install -y prometheus');
    const clock = new ManualClock();
    const breakers = new AgentCircuitBreaker({
      agents: ['amazon', 'shopee'],
      clock,
      defaults: { failureThreshold: 3, successThreshold: 2, openTimeoutMs: 1_000 },
    });
    const source = track({
      breakers,
      fallbacks: () => ({ cached: 1, empty: 0 }),
      fleet: (): FleetStatus => ({
        instanceId: 'i-1',
        connected: true,
        lastSyncAt: null,
        instancesSeen: 1,
        syncErrors: 0,
        remoteTransitions: [{ agent: 'amazon', from: 'CLOSED', to: 'OPEN', count: 1 }],
        syncIntervalMs: 1000,
        agents: {},
      }),
    });
    const registry = registerCircuitMetrics(source, undefined, ON);
    // Every outcome, then a trip and a 121 s recovery.
    const ok = async () => 'ok';
    await breakers.execute('amazon', ok);
    await breakers.execute('amazon', boom).catch(ignore);
    fakeTimers();
    const t = breakers.execute('amazon', never, { timeoutMs: 5 }).catch(ignore);
    jest.advanceTimersByTime(5);
    await t;
    const controller = new AbortController();
    const a = breakers.execute('amazon', never, { timeoutMs: 1000, signal: controller.signal }).catch(ignore);
    controller.abort();
    await a;
    jest.useRealTimers();
    jest.restoreAllMocks();
    breakers.forceOpen('amazon');
    await breakers.execute('amazon', ok).catch(ignore);
    await breakers.execute('amazon', ok, () => 'fallback');
    clock.advance(121_000);
    await breakers.execute('amazon', ok);
    await breakers.execute('amazon', ok);
    expect(breakers.state('amazon')).toBe('CLOSED');

    const text = await registry.metrics();
    const e = parse(text);
    expect(value(e, 'agent_circuit_recovery_seconds_count', { agent: 'amazon' })).toBe(1);
    expect(new Set(series(e, `${CALL_DURATION_FAMILY}_count`).map((s) => s.labels.outcome))).toEqual(
      new Set(['success', 'failure', 'released', 'rejected']),
    );
    const run = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).toEqual({ status: 0, stdout: '', stderr: '' });
  });
});
