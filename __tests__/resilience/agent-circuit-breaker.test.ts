/**
 * The per-agent registry through its JavaScript API: the five default agents, isolation, overrides,
 * bounds, id checks, and the story's acceptance scenario on a manual clock.
 */

import { AgentCircuitBreaker, MARKETPLACE_AGENTS, DEFAULT_AGENTS, ManualClock, type TransitionEvent } from '../../lib/resilience';
import { caught } from './helpers/caught';

const ok = async () => ({ phases: ['ok'] });
const boom = async () => {
  throw new Error('agent down');
};
const EMPTY = () => ({ phases: [] as string[] });


describe('AgentCircuitBreaker', () => {
  test('starts with no agents unless given; MARKETPLACE_AGENTS gives the five, all CLOSED', () => {
    expect(new AgentCircuitBreaker().agents()).toEqual([]);
    const registry = new AgentCircuitBreaker({ agents: MARKETPLACE_AGENTS });
    expect(MARKETPLACE_AGENTS).toEqual(['amazon', 'mercadolivre', 'shopee', 'shein', 'tiktok-shop']);
    expect(DEFAULT_AGENTS).toBe(MARKETPLACE_AGENTS); // the deprecated name
    expect(registry.agents()).toEqual(MARKETPLACE_AGENTS);
    expect(registry.statusAll().map((s) => [s.agent, s.state])).toEqual(MARKETPLACE_AGENTS.map((a) => [a, 'CLOSED']));
  });

  test("the story's acceptance test: trip, fail fast, half-open after the timeout, recover", async () => {
    const clock = new ManualClock();
    const registry = new AgentCircuitBreaker({ agents: MARKETPLACE_AGENTS, clock });
    const agent = jest.fn(boom);
    for (let i = 0; i < 5; i++) await expect(registry.execute('amazon', agent, EMPTY)).rejects.toThrow('agent down');
    expect(registry.status('amazon').state).toBe('OPEN');

    const t0 = performance.now();
    const result = await registry.execute('amazon', agent, EMPTY);
    expect(performance.now() - t0).toBeLessThan(100);
    expect(result).toEqual({ phases: [] });
    expect(agent).toHaveBeenCalledTimes(5);

    clock.advance(60_000);
    expect(registry.state('amazon')).toBe('HALF_OPEN');
    await registry.execute('amazon', ok, EMPTY);
    await registry.execute('amazon', ok, EMPTY);
    expect(registry.state('amazon')).toBe('CLOSED');
  });

  test('agents are isolated: amazon OPEN, the other four CLOSED and answering', async () => {
    const registry = new AgentCircuitBreaker({ agents: MARKETPLACE_AGENTS, clock: new ManualClock() });
    for (let i = 0; i < 5; i++) await registry.execute('amazon', boom).catch(() => undefined);
    for (const agent of DEFAULT_AGENTS.filter((a) => a !== 'amazon')) {
      expect(registry.state(agent)).toBe('CLOSED');
      await expect(registry.execute(agent, ok)).resolves.toEqual({ phases: ['ok'] });
    }
    expect(registry.state('amazon')).toBe('OPEN');
  });

  test('two registries never share breakers', async () => {
    const a = new AgentCircuitBreaker({ agents: MARKETPLACE_AGENTS });
    const b = new AgentCircuitBreaker({ agents: MARKETPLACE_AGENTS });
    a.forceOpen('amazon');
    expect([a.state('amazon'), b.state('amazon')]).toEqual(['OPEN', 'CLOSED']);
  });

  test('defaults apply to every agent and overrides to one', async () => {
    const registry = new AgentCircuitBreaker({
      agents: MARKETPLACE_AGENTS,
      defaults: { failureThreshold: 3, openTimeoutMs: 1000 },
      overrides: { shein: { failureThreshold: 1 } },
    });
    expect(registry.status('amazon').config).toMatchObject({ failureThreshold: 3, openTimeoutMs: 1000 });
    expect(registry.status('shein').config).toMatchObject({ failureThreshold: 1, openTimeoutMs: 1000 });
    await registry.execute('shein', boom).catch(() => undefined);
    expect(registry.state('shein')).toBe('OPEN');
  });

  test('an unknown agent is an error naming the known ones; add creates it', async () => {
    const registry = new AgentCircuitBreaker({ agents: MARKETPLACE_AGENTS });
    const err = await caught(() => registry.execute('amazom', ok));
    expect(err.code).toBe('ERR_UNKNOWN_AGENT');
    expect(err.message).toContain('"amazon"');
    expect(err.message).toContain('tiktok-shop');
    registry.add('walmart', { failureThreshold: 2 });
    expect(registry.has('walmart')).toBe(true);
    expect(registry.status('walmart').config.failureThreshold).toBe(2);
    expect((await caught(() => registry.add('walmart'))).code).toBe('ERR_AGENT_EXISTS');
    expect((await caught(() => new AgentCircuitBreaker({ agents: MARKETPLACE_AGENTS, overrides: { nope: {} } }))).code).toBe('ERR_UNKNOWN_AGENT');
  });

  test('the registry is bounded by maxAgents: a clear error, nothing evicted', async () => {
    const registry = new AgentCircuitBreaker({ agents: [], maxAgents: 3 });
    ['a', 'b', 'c'].forEach((id) => registry.add(id));
    const err = await caught(() => registry.add('d'));
    expect(err.code).toBe('ERR_TOO_MANY_AGENTS');
    expect(err.message).toContain('maxAgents = 3');
    expect(registry.agents()).toEqual(['a', 'b', 'c']);
    for (const bad of [0, -1, 1.5, NaN, 2 ** 32]) {
      expect((await caught(() => new AgentCircuitBreaker({ agents: MARKETPLACE_AGENTS, maxAgents: bad }))).code).toBe('ERR_CIRCUIT_CONFIG');
    }
  });

  test('bad agent ids are refused; distinct valid ids never share a breaker', async () => {
    const registry = new AgentCircuitBreaker({ agents: [] });
    for (const bad of ['', 'x'.repeat(129), 'a\uD800', 'a\uDC00', 'nul\0id', 42, null, {}]) {
      const err = await caught(() => registry.add(bad as string));
      expect(err.code).toBe('ERR_INVALID_AGENT_ID');
    }
    registry.add('x'.repeat(128));
    // Ids that a lossy conversion would merge stay apart.
    registry.add('a\uD83D\uDE00');
    registry.add('a\uFFFD');
    registry.forceOpen('a\uFFFD');
    expect(registry.state('a\uD83D\uDE00')).toBe('CLOSED');
    expect(registry.state('a\uFFFD')).toBe('OPEN');
  });

  test('bad settings in defaults or overrides name the field', async () => {
    const err = await caught(() => new AgentCircuitBreaker({ agents: MARKETPLACE_AGENTS, defaults: { openTimeoutMs: -1 } }));
    expect(err.code).toBe('ERR_CIRCUIT_CONFIG');
    expect(err.message).toContain('openTimeoutMs');
    const err2 = await caught(() => new AgentCircuitBreaker({ agents: MARKETPLACE_AGENTS, overrides: { amazon: { successThreshold: 0 } } }));
    expect(err2.code).toBe('ERR_CIRCUIT_CONFIG');
    expect(err2.message).toContain('successThreshold');
  });

  test('every transition reaches the listener once, with its agent', async () => {
    const clock = new ManualClock();
    const events: TransitionEvent[] = [];
    const registry = new AgentCircuitBreaker({ agents: MARKETPLACE_AGENTS, clock, onTransition: (e) => events.push(e) });
    registry.forceOpen('shopee');
    clock.advance(60_000);
    registry.statusAll();
    registry.statusAll();
    expect(events.map((e) => [e.agent, e.from, e.to, e.atMs])).toEqual([
      ['shopee', 'CLOSED', 'OPEN', 0],
      ['shopee', 'OPEN', 'HALF_OPEN', 60_000],
    ]);
  });

  test('statusAll reports HALF_OPEN once the timeout is up, with no call made', async () => {
    const clock = new ManualClock();
    const registry = new AgentCircuitBreaker({ agents: MARKETPLACE_AGENTS, clock });
    registry.forceOpen('tiktok-shop');
    clock.advance(30_000);
    const open = registry.statusAll().find((s) => s.agent === 'tiktok-shop')!;
    expect([open.state, open.openRemainingMs]).toEqual(['OPEN', 30_000]);
    clock.advance(30_000);
    expect(registry.statusAll().find((s) => s.agent === 'tiktok-shop')!.state).toBe('HALF_OPEN');
  });

  test('JSON.stringify gives every status', () => {
    const registry = new AgentCircuitBreaker({ agents: MARKETPLACE_AGENTS });
    const parsed = JSON.parse(JSON.stringify(registry));
    expect(parsed.map((s: { agent: string }) => s.agent)).toEqual(DEFAULT_AGENTS);
  });

  test("metricsTable gives every breaker's numbers in one table, consistent with status", async () => {
    const clock = new ManualClock();
    const registry = new AgentCircuitBreaker({ agents: MARKETPLACE_AGENTS, clock });
    for (let i = 0; i < 5; i++) await registry.execute('shopee', boom).catch(() => undefined);
    await registry.execute('amazon', ok);
    clock.advance(1_000);
    const t = registry.metricsTable();
    expect(t.agents).toEqual(DEFAULT_AGENTS);
    expect(t.values.length).toBe(t.agents.length * t.columns.length);
    const at = (agent: string, column: string) =>
      t.values[t.agents.indexOf(agent) * t.columns.length + t.columns.indexOf(column)];
    const shopee = registry.status('shopee');
    expect(at('shopee', 'state')).toBe(1);
    expect(at('shopee', 'openRemainingMs')).toBe(shopee.openRemainingMs);
    expect(at('shopee', 'failures')).toBe(5);
    expect(at('shopee', 'transitions:CLOSED->OPEN')).toBe(1);
    expect(at('amazon', 'successes')).toBe(1);
    expect(at('amazon', 'lastFailure:atMs')).toBeNaN();
    expect(t.nowMs).toBe(1_000);
  });
});


test('a million add attempts with new ids: the registry stays within maxAgents, memory stays bounded', () => {
  const registry = new AgentCircuitBreaker({ agents: [], maxAgents: 1000 });
  let added = 0;
  const codes = new Map<string, number>();
  global.gc?.();
  const before = process.memoryUsage().rss;
  for (let i = 0; i < 1_000_000; i++) {
    try {
      registry.add(`tenant-${i}`);
      added++;
    } catch (e) {
      const code = (e as { code: string }).code;
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
  }
  const grown = process.memoryUsage().rss - before;
  expect(added).toBe(1000);
  expect(Object.fromEntries(codes)).toEqual({ ERR_TOO_MANY_AGENTS: 999_000 });
  expect(registry.agents()).toHaveLength(1000);
  expect(registry.agents()[999]).toBe('tenant-999');
  expect(grown).toBeLessThan(64 * 1024 * 1024);
});
