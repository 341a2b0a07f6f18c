/**
 * What opossum and cockatiel users expect, through the public API: cockatiel's wrap, isolate(),
 * the error-rate rule, the open backoff, autoAdd, snapshot/restore and diagnostics_channel.
 */

import { spawnSync } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import * as path from 'node:path';
import { AgentCircuitBreaker, CircuitBreaker, ManualClock } from '../../lib/resilience';
import { setup } from './helpers/breaker';
import { caught } from './helpers/caught';

const ok = async () => 'ok';
const boom = async () => {
  throw new Error('boom');
};


test("cockatiel's real wrap(retry, breaker) and wrap(breaker, timeout) compose with asPolicy()", () => {
  const script = path.join(__dirname, 'fixtures', 'cockatiel-wrap.mjs');
  const child = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 30_000 });
  expect(child.stderr).toBe('');
  const out = JSON.parse(child.stdout);
  expect(out.retry).toEqual({ calls: 3, signals: 3, message: 'down', failures: 3, state: 'OPEN' });
  expect(out.retryOpen).toEqual({ calls: 0, code: 'ERR_CIRCUIT_OPEN', rejections: 3 });
  expect(out.timeout).toMatchObject({ aborted: true, failures: 1 });
  expect(out.events).toEqual(['success', 'failure:x']);
  expect(out.raw).toBe('ok');
});

describe('isolate()', () => {
  test('holds the breaker OPEN past its open timeout until every hold is released', async () => {
    const { clock, events, breaker } = setup({ openTimeoutMs: 1_000 });
    const releaseA = breaker.isolate();
    const releaseB = breaker.isolate();
    clock.advance(1_000_000);
    expect(breaker.state).toBe('OPEN');
    const err = (await caught(() => breaker.execute(ok))) as { code?: string; isolated?: boolean; message: string };
    expect([err.code, err.isolated]).toEqual(['ERR_CIRCUIT_OPEN', true]);
    expect(err.message).toMatch(/held open by isolate\(\)/);
    await expect(breaker.execute(ok, () => 'fallback')).resolves.toBe('fallback');
    releaseA();
    releaseA(); // a second call does nothing
    expect([breaker.state, breaker.status().isolations]).toEqual(['OPEN', 1]);
    releaseB();
    expect(breaker.state).toBe('CLOSED');
    await expect(breaker.execute(ok)).resolves.toBe('ok');
    expect(events.map((e) => e.reason)).toEqual(['isolated', 'isolation_ended']);
  });

  test('reset() ends every hold; forceOpen() keeps its meaning (the open timeout applies)', () => {
    const { clock, events, breaker } = setup({ openTimeoutMs: 1_000 });
    const release = breaker.isolate();
    breaker.reset();
    release();
    expect(breaker.state).toBe('CLOSED');
    breaker.forceOpen();
    clock.advance(1_000);
    expect(breaker.state).toBe('HALF_OPEN');
    expect(events.map((e) => e.reason)).toEqual(['isolated', 'reset', 'forced_open', 'open_timeout_elapsed']);
  });

  test('the registry isolates one agent and leaves the others alone', async () => {
    const registry = new AgentCircuitBreaker({ agents: ['a', 'b'], clock: new ManualClock() });
    registry.isolate('a');
    expect([registry.state('a'), registry.state('b')]).toEqual(['OPEN', 'CLOSED']);
    await expect(registry.execute('b', ok)).resolves.toBe('ok');
  });
});

describe('the error-rate rule', () => {
  test('opens at errorRateThreshold over the window once minimumCalls is reached (error_rate_threshold)', async () => {
    const { events, breaker } = setup({ failureThreshold: 100, errorRateThreshold: 0.5, minimumCalls: 4 });
    await breaker.execute(ok);
    await breaker.execute(boom).catch(() => undefined);
    await breaker.execute(ok);
    expect(breaker.state).toBe('CLOSED');
    await breaker.execute(boom).catch(() => undefined); // 2 of 4: 50 %
    expect(breaker.state).toBe('OPEN');
    expect(events.map((e) => e.reason)).toEqual(['error_rate_threshold']);
  });

  test('is off by default: the story rule alone decides', async () => {
    const { breaker } = setup({ failureThreshold: 3 });
    for (let i = 0; i < 10; i++) {
      await breaker.execute(boom).catch(() => undefined);
      await breaker.execute(ok).catch(() => undefined);
    }
    expect(breaker.state).toBe('CLOSED');
  });

  test('bad values name the setting and its range', () => {
    for (const [config, message] of [
      [{ errorRateThreshold: 1.5 }, 'errorRateThreshold must be a number in 0..=1 (got 1.5)'],
      [{ minimumCalls: 0 }, 'minimumCalls must be an integer in 1..=10000 (got 0)'],
      [{ openBackoffMultiplier: 0.5 }, 'openBackoffMultiplier must be a number in 1..=100 (got 0.5)'],
      [{ openTimeoutMs: 1_000, openTimeoutMaxMs: 999 }, 'openTimeoutMaxMs must be an integer of milliseconds in 1000..=86400000 (got 999)'],
    ] as const) {
      expect(() => new CircuitBreaker(config)).toThrow(message);
    }
  });
});

describe('the open backoff', () => {
  test('each failed recovery multiplies the open time up to openTimeoutMaxMs; closing resets it', async () => {
    const { clock, breaker } = setup({ failureThreshold: 1, successThreshold: 1, openTimeoutMs: 100, openBackoffMultiplier: 2, openTimeoutMaxMs: 300 });
    await breaker.execute(boom).catch(() => undefined);
    expect(breaker.openRemainingMs).toBe(100);
    clock.advance(100);
    await breaker.execute(boom).catch(() => undefined); // the probe fails
    expect([breaker.openRemainingMs, breaker.status().backoffStep, breaker.status().currentOpenTimeoutMs]).toEqual([200, 1, 200]);
    clock.advance(200);
    await breaker.execute(boom).catch(() => undefined);
    expect(breaker.openRemainingMs).toBe(300); // 400, capped
    clock.advance(300);
    await breaker.execute(ok);
    expect([breaker.state, breaker.status().backoffStep]).toEqual(['CLOSED', 0]);
    await breaker.execute(boom).catch(() => undefined);
    expect(breaker.openRemainingMs).toBe(100);
  });
});

describe('autoAdd', () => {
  test('creates a breaker with the defaults for an unknown agent on first use, up to maxAgents', async () => {
    const registry = new AgentCircuitBreaker({ autoAdd: true, maxAgents: 2, defaults: { failureThreshold: 7 } });
    expect(registry.agents()).toEqual([]);
    await expect(registry.execute('x', ok)).resolves.toBe('ok');
    expect(registry.state('y')).toBe('CLOSED');
    expect([registry.agents(), registry.status('x').config.failureThreshold]).toEqual([['x', 'y'], 7]);
    expect((await caught(() => registry.execute('z', ok))).code).toBe('ERR_TOO_MANY_AGENTS');
    expect((await caught(() => registry.get(''))).code).toBe('ERR_INVALID_AGENT_ID');
  });

  test('is off by default, and must be a boolean', async () => {
    expect((await caught(() => new AgentCircuitBreaker().get('x'))).code).toBe('ERR_UNKNOWN_AGENT');
    expect((await caught(() => new AgentCircuitBreaker({ autoAdd: 'yes' as never }))).code).toBe('ERR_INVALID_ARG');
  });
});

describe('snapshot() and restore()', () => {
  test('carry an OPEN breaker to another registry with its remaining open time', async () => {
    const a = setup({ failureThreshold: 1, openTimeoutMs: 60_000 });
    await a.breaker.execute(boom).catch(() => undefined);
    a.clock.advance(20_000);
    const saved = a.breaker.snapshot();
    expect(saved).toEqual({ state: 'OPEN', generation: 1, openRemainingMs: 40_000, consecutiveFailures: 1, halfOpenSuccesses: 0, backoffStep: 0 });
    const b = setup({ failureThreshold: 1, openTimeoutMs: 60_000 });
    b.breaker.restore(JSON.parse(JSON.stringify(saved)));
    expect([b.breaker.state, b.breaker.openRemainingMs]).toEqual(['OPEN', 40_000]);
    expect(b.events.map((e) => [e.from, e.to, e.reason])).toEqual([['CLOSED', 'OPEN', 'restored']]);
    b.clock.advance(40_000);
    expect(b.breaker.state).toBe('HALF_OPEN');
  });

  test('refuse anything that is not a snapshot, naming what is wrong', async () => {
    const { breaker } = setup();
    const good = breaker.snapshot();
    const bad: [unknown, RegExp][] = [
      [{ ...good, state: 'SIDEWAYS' }, /unknown variant `SIDEWAYS`/],
      [{ ...good, extra: 1 }, /unknown field `extra`/],
      [{ ...good, openRemainingMs: 1e300 }, /not a breaker snapshot/],
      [{ ...good, openRemainingMs: 86_400_001 }, /openRemainingMs must be at most 86400000/],
      [{ state: 'OPEN' }, /missing field/],
      [null, /restore\(snapshot\) takes an object from snapshot\(\)/],
      ['OPEN', /restore\(snapshot\)/],
    ];
    for (const [snapshot, message] of bad) {
      const err = await caught(() => breaker.restore(snapshot as never));
      expect([err.code, err.message]).toEqual(['ERR_INVALID_ARG', expect.stringMatching(message)]);
    }
    breaker.isolate();
    expect((await caught(() => breaker.restore(good))).message).toMatch(/held open by isolate\(\)/);
  });
});

describe('diagnostics_channel', () => {
  test('publishes transitions, rejections and calls with their duration only to subscribers', async () => {
    const seen: Record<string, unknown[]> = { transition: [], rejection: [], start: [], end: [] };
    const subs: [string, (m: unknown) => void][] = [
      ['agent-circuit-breaker:transition', (m) => seen.transition.push(m)],
      ['agent-circuit-breaker:rejection', (m) => seen.rejection.push(m)],
      ['agent-circuit-breaker:call:start', (m) => seen.start.push(m)],
      ['agent-circuit-breaker:call:end', (m) => seen.end.push(m)],
    ];
    const { breaker } = setup({ failureThreshold: 1 });
    await breaker.execute(ok); // nobody listens yet
    for (const [name, fn] of subs) diagnostics.subscribe(name, fn);
    try {
      await breaker.execute(ok);
      await breaker.execute(boom).catch(() => undefined);
      await breaker.execute(ok, () => 'fallback');
    } finally {
      for (const [name, fn] of subs) diagnostics.unsubscribe(name, fn);
    }
    await breaker.execute(ok, () => 'not seen');
    expect(seen.transition).toEqual([expect.objectContaining({ agent: 'amazon', from: 'CLOSED', to: 'OPEN', reason: 'failure_threshold' })]);
    expect(seen.rejection).toEqual([{ agent: 'amazon', state: 'OPEN', retryAfterMs: 60_000, isolated: false }]);
    expect(seen.start).toEqual([{ agent: 'amazon' }, { agent: 'amazon' }, { agent: 'amazon' }]);
    expect(seen.end).toHaveLength(3);
    const ends = seen.end as { agent: string; durationMs: number; error?: { message: string } }[];
    expect(ends.map((e) => [e.agent, typeof e.durationMs, e.durationMs >= 0, e.error?.message])).toEqual([
      ['amazon', 'number', true, undefined],
      ['amazon', 'number', true, 'boom'],
      ['amazon', 'number', true, undefined],
    ]);
  });
});
