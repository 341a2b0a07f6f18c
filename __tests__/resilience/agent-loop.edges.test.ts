/**
 * callAgent's edges (issue 10), with an injected transport and a manual clock: the cache key is the
 * body sent, results are the caller's own, the cache bounds, the wrapper fields, refused requests,
 * 3xx answers, bad call options, aborts, the probe timeout, transition times, and agent ids named
 * like Object.prototype members.
 */

import { AgentLoop } from '../../app/lib/ai/agent-loop';
import { configFromEnv } from '../../app/lib/ai/agent-config';
import { bodyKey } from '../../app/lib/ai/fallback-cache';
import { ENV, setup } from './helpers/fake-agents';

describe("callAgent's edges (issue 10)", () => {
  test('1. inputs sent as different bytes never share a cached analysis; the key is the body sent', async () => {
    const { agents, loop, cache } = setup();
    agents.set('amazon', () => agents.ok({ phases: [JSON.parse(agents.seen[agents.seen.length - 1].body).from] }));
    await loop.callAgent('amazon', { from: new Date('2020-01-01') });
    expect(agents.seen[0].body).toBe('{"from":"2020-01-01T00:00:00.000Z"}');
    expect(cache.peek('amazon', bodyKey(agents.seen[0].body))).toBeDefined();
    agents.fail('amazon');
    await expect(loop.callAgent('amazon', { from: new Date('2025-06-01') })).resolves.toMatchObject({ phases: [], cached: false });
    await expect(loop.callAgent('amazon', { from: new Date('2020-01-01') })).resolves.toMatchObject({
      phases: ['2020-01-01T00:00:00.000Z'],
      cached: true,
    });
  });

  test('1. keyOf still overrides the key', async () => {
    const { agents, loop } = setup({ keyOf: () => 'one key for all' });
    await loop.callAgent('amazon', { a: 1 });
    agents.fail('amazon');
    await expect(loop.callAgent('amazon', { b: 2 })).resolves.toMatchObject({ phases: ['amazon'], cached: true });
  });

  test('2. a caller mutating a result never changes what a later fallback returns', async () => {
    const { agents, loop } = setup();
    agents.set('amazon', () => agents.ok({ phases: ['listing'], detail: { score: 1 } }));
    const live = await loop.callAgent('amazon', { sku: 1 });
    live.phases.push('mutated');
    (live.detail as { score: number }).score = 99;
    agents.fail('amazon');
    const first = await loop.callAgent('amazon', { sku: 1 });
    expect(first).toMatchObject({ phases: ['listing'], detail: { score: 1 }, cached: true });
    first.phases.length = 0;
    (first.detail as { score: number }).score = 42;
    await expect(loop.callAgent('amazon', { sku: 1 })).resolves.toMatchObject({ phases: ['listing'], detail: { score: 1 } });
  });

  test('3. an answer over CIRCUIT_CACHE_MAX_ENTRY_BYTES is served but not cached', async () => {
    const { agents, loop } = setup({ cache: undefined, env: { ...ENV, CIRCUIT_CACHE_MAX_ENTRY_BYTES: '1024' } });
    const big = { phases: ['x'.repeat(2000)] };
    agents.set('amazon', () => agents.ok(big));
    await expect(loop.callAgent('amazon', { sku: 1 })).resolves.toEqual({ ...big, fallback: false, cached: false });
    agents.set('amazon', () => agents.ok({ phases: ['small'] }));
    await loop.callAgent('amazon', { sku: 2 });
    agents.fail('amazon');
    await expect(loop.callAgent('amazon', { sku: 1 })).resolves.toMatchObject({ phases: [], cached: false });
    await expect(loop.callAgent('amazon', { sku: 2 })).resolves.toMatchObject({ phases: ['small'], cached: true });
  });

  test('3. the cache bounds come from the environment, validated', () => {
    expect(configFromEnv(ENV)).toMatchObject({ cacheMaxBytes: 64 * 1024 * 1024, cacheMaxEntryBytes: 1024 * 1024 });
    const set = configFromEnv({ ...ENV, CIRCUIT_CACHE_MAX_BYTES: '2048', CIRCUIT_CACHE_MAX_ENTRY_BYTES: '100' });
    expect(set).toMatchObject({ cacheMaxBytes: 2048, cacheMaxEntryBytes: 100 });
    for (const [name, value] of [
      ['CIRCUIT_CACHE_MAX_BYTES', 'lots'],
      ['CIRCUIT_CACHE_MAX_BYTES', '0'],
      ['CIRCUIT_CACHE_MAX_ENTRY_BYTES', '1.5'],
      ['CIRCUIT_CACHE_MAX_ENTRY_BYTES', String(64 * 1024 * 1024 + 1)],
    ]) {
      expect(() => configFromEnv({ ...ENV, [name]: value })).toThrow(expect.objectContaining({ variable: name }));
    }
  });

  test('5. the wrapper fields win over an agent answer carrying them', async () => {
    const { agents, loop } = setup();
    const forged = { phases: [1], note: 'kept', fallback: 'no', fallbackReason: 'forged', cached: 'no', cachedAt: 'forged' };
    agents.set('amazon', () => agents.ok(forged));
    await expect(loop.callAgent('amazon', { sku: 1 })).resolves.toEqual({ phases: [1], note: 'kept', fallback: false, cached: false });
    agents.fail('amazon');
    const fallback = await loop.callAgent('amazon', { sku: 1 });
    expect(fallback).toEqual({
      phases: [1],
      note: 'kept',
      fallback: true,
      fallbackReason: 'http_5xx',
      cached: true,
      cachedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  test("5. ERR_AGENT_REQUEST keeps status but not the agent's body, which is logged (truncated)", async () => {
    const warned: Record<string, unknown>[] = [];
    const { agents, loop } = setup({ logger: { info: () => undefined, warn: (l) => warned.push(l) } });
    const body = JSON.stringify({ error: 'secret-internal-detail', pad: 'p'.repeat(500) });
    agents.set('amazon', () => Promise.resolve({ status: 422, body }));
    const error = await loop.callAgent('amazon', {}).catch((e: Error & { status?: number; code?: string }) => e);
    expect(error).toMatchObject({ code: 'ERR_AGENT_REQUEST', status: 422 });
    expect((error as Error).message).not.toContain('secret');
    expect(warned).toEqual([
      expect.objectContaining({ msg: 'agent_request_refused', agent: 'amazon', status: 422, body: body.slice(0, 200) }),
    ]);
  });

  test('6. a 3xx answer counts against the agent (invalid_response) and the caller gets a fallback', async () => {
    const { agents, loop } = setup();
    agents.set('amazon', () => Promise.resolve({ status: 302, body: '' }));
    for (let i = 0; i < 5; i++) {
      await expect(loop.callAgent('amazon', {})).resolves.toMatchObject({ fallback: true, fallbackReason: 'invalid_response' });
    }
    const s = loop.getCircuitBreakerStatus('amazon');
    expect([s.state, s.calls.failuresByReason.invalid_response]).toEqual(['OPEN', 5]);
  });

  test('8. a timeoutMs that is not an integer in 1..=AGENT_TIMEOUT_MS is the caller\'s mistake, never counted', async () => {
    const { agents, loop } = setup();
    for (const bad of [NaN, Infinity, 0, -1, 1.5, 3e9, 30_001, '100']) {
      const error = await loop.callAgent('amazon', {}, { timeoutMs: bad as number }).catch((e: Error) => e);
      expect(error).toMatchObject({ code: 'ERR_INVALID_ARG' });
      expect((error as Error).message).toContain(`(got ${typeof bad === 'string' ? `"${bad}"` : String(bad)})`);
      expect((error as Error).message).toContain('1..=30000');
    }
    for (const bad of [{ aborted: false }, 'signal']) {
      const error = await loop.callAgent('amazon', {}, { signal: bad as unknown as AbortSignal }).catch((e: Error) => e);
      expect(error).toMatchObject({ code: 'ERR_INVALID_ARG', message: expect.stringContaining('AbortSignal') });
    }
    await expect(loop.callAgent('amazon', {}, null as unknown as undefined)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    expect(agents.calls('amazon')).toBe(0);
    const s = loop.getCircuitBreakerStatus('amazon');
    expect([s.calls.admitted, s.calls.released, s.consecutiveFailures]).toEqual([0, 0, 0]);
    await expect(loop.callAgent('amazon', {}, { timeoutMs: 30_000 })).resolves.toMatchObject({ fallback: false });
  });

  test('10. an abort rejects with ERR_ABORTED and the reason as cause, whatever it is; nothing counted', async () => {
    const { agents, loop } = setup();
    agents.set('amazon', () => new Promise(() => undefined));
    for (const reason of [null, 'gone', 0, new Error('user left')]) {
      const controller = new AbortController();
      const call = loop.callAgent('amazon', {}, { signal: controller.signal });
      await new Promise((r) => setImmediate(r));
      controller.abort(reason);
      const error = await call.catch((e: Error) => e);
      expect(error).toMatchObject({ code: 'ERR_ABORTED', name: 'AbortError' });
      expect((error as Error).cause).toBe(reason);
    }
    const early = await loop.callAgent('amazon', {}, { signal: AbortSignal.abort('before') }).catch((e: Error) => e);
    expect(early).toMatchObject({ code: 'ERR_ABORTED', cause: 'before' });
    const s = loop.getCircuitBreakerStatus('amazon');
    expect([s.calls.released, s.calls.failures, agents.calls('amazon')]).toEqual([4, 0, 4]);
  });

  test('9. a probe may run AGENT_TIMEOUT_MS + 1000 ms unless CIRCUIT_PROBE_TIMEOUT_MS says otherwise', () => {
    const probeTimeout = (env: Record<string, string>) => {
      const warned: Record<string, unknown>[] = [];
      const loop = new AgentLoop({ env: { ...ENV, ...env }, logger: { info: () => undefined, warn: (l) => warned.push(l) } });
      return { ms: loop.getCircuitBreakerStatus('amazon').config.probeTimeoutMs, config: loop.config.probeTimeoutMs, warned };
    };
    expect(probeTimeout({})).toMatchObject({ ms: 31_000, config: 31_000, warned: [] });
    expect(probeTimeout({ AGENT_TIMEOUT_MS: '86400000' })).toMatchObject({ ms: 86_400_000 });
    expect(probeTimeout({ AGENT_TIMEOUT_MS: '3000', CIRCUIT_PROBE_TIMEOUT_MS: '3000' })).toMatchObject({ ms: 3000, warned: [] });
    const short = probeTimeout({ AGENT_TIMEOUT_MS: '3000', CIRCUIT_PROBE_TIMEOUT_MS: '2000' });
    expect(short.ms).toBe(2000);
    expect(short.warned).toEqual([
      expect.objectContaining({ msg: 'circuit_config_cannot_recover', CIRCUIT_PROBE_TIMEOUT_MS: 2000, AGENT_TIMEOUT_MS: 3000 }),
    ]);
    expect(() => configFromEnv({ ...ENV, CIRCUIT_PROBE_TIMEOUT_MS: '86400001' })).toThrow(
      expect.objectContaining({ variable: 'CIRCUIT_PROBE_TIMEOUT_MS' }),
    );
  });

  test("15. a transition is logged at its own time (OPEN -> HALF_OPEN at the open timeout's end), not when observed", async () => {
    const lines: Record<string, unknown>[] = [];
    const { agents, clock, loop } = setup({ logger: { info: (l) => lines.push(l), warn: () => undefined } });
    const wallNow = Date.parse('2026-03-01T12:00:00.000Z');
    const now = jest.spyOn(Date, 'now').mockReturnValue(wallNow);
    try {
      agents.fail('amazon');
      for (let i = 0; i < 5; i++) await loop.callAgent('amazon', {});
      clock.advance(60_000 + 10_000);
      now.mockReturnValue(wallNow + 70_000);
      expect(loop.getCircuitBreakerStatus('amazon').state).toBe('HALF_OPEN');
    } finally {
      now.mockRestore();
    }
    expect(lines.map((l) => [l.to, l.at])).toEqual([
      ['OPEN', '2026-03-01T12:00:00.000Z'],
      ['HALF_OPEN', '2026-03-01T12:01:00.000Z'], // 10 s before it was observed
    ]);
  });

  /** Agent ids that are Object.prototype member names, and an environment giving each a URL. */
  const prototypeNamedAgents = () => ({
    ids: ['constructor', '__proto__', 'toString', 'hasOwnProperty'],
    env: {
      AGENT_CONSTRUCTOR_URL: 'http://127.0.0.1:9/c',
      AGENT___PROTO___URL: 'http://127.0.0.1:9/p',
      AGENT_TOSTRING_URL: 'http://127.0.0.1:9/t',
      AGENT_HASOWNPROPERTY_URL: 'http://127.0.0.1:9/h',
    },
  });

  test('14. agent ids named like Object.prototype members get their URLs', () => {
    const { ids, env } = prototypeNamedAgents();
    const { urls } = configFromEnv(env, ids);
    expect(ids.map((id) => urls.get(id))).toEqual(Object.values(env));
    expect([...urls.keys()]).toEqual(ids);
    expect(() => configFromEnv({}, ['__proto__'])).toThrow(expect.objectContaining({ variable: 'AGENT___PROTO___URL' }));
  });

  test('14. the loop calls, caches and falls back for agents named like Object.prototype members', async () => {
    const { ids, env } = prototypeNamedAgents();
    const { agents, loop } = setup({ env, agents: ids });
    const entries = await loop.runAgentLoop({ sku: 1 });
    expect(entries).toEqual(ids.map((agent) => ({ agent, result: { phases: [agent], fallback: false, cached: false } })));
    expect(agents.seen.map((r) => r.url)).toEqual(Object.values(env));
    for (const id of ids) agents.fail(id);
    for (const id of ids) {
      await expect(loop.callAgent(id, { sku: 1 })).resolves.toMatchObject({ phases: [id], cached: true });
      expect(loop.fallbacksServed(id)).toEqual({ cached: 1, empty: 0 });
    }
  });
});
