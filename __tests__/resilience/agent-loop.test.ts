/**
 * callAgent and the agent loop with an injected transport and a manual clock: the story's
 * acceptance test as written, recovery, the half-open herd, stale calls, isolation, the fallback
 * cache (only real successes), logging, configuration and caller mistakes.
 */

import { ManualClock } from 'agent-circuit-breaker';
import {
  AgentLoop,
  callAgent,
  configureAgentLoop,
  getAllCircuitBreakerStatus,
  getCircuitBreakerStatus,
  type AgentLoopOptions,
  type Logger,
} from '../../app/lib/ai/agent-loop';
import { configFromEnv } from '../../app/lib/ai/agent-config';
import { bodyKey, MemoryCache } from '../../app/lib/ai/fallback-cache';
import type { AgentRequest, AgentResponse, Transport } from '../../app/lib/ai/transport';

const ENV = {
  AGENT_AMAZON_URL: 'http://127.0.0.1:9/amazon',
  AGENT_MERCADOLIVRE_URL: 'http://127.0.0.1:9/mercadolivre',
  AGENT_SHOPEE_URL: 'http://127.0.0.1:9/shopee',
  AGENT_SHEIN_URL: 'http://127.0.0.1:9/shein',
  AGENT_TIKTOK_SHOP_URL: 'http://127.0.0.1:9/tiktok-shop',
};

/** A transport whose answer per agent a test sets; it records every request. */
class FakeAgents {
  readonly seen: AgentRequest[] = [];
  answers = new Map<string, () => Promise<AgentResponse>>();
  readonly transport: Transport = (req) => {
    this.seen.push(req);
    const answer = this.answers.get(req.agentId) ?? (() => this.ok({ phases: [req.agentId] }));
    return answer();
  };
  ok(body: unknown): Promise<AgentResponse> {
    return Promise.resolve({ status: 200, body: JSON.stringify(body) });
  }
  set(agent: string, answer: () => Promise<AgentResponse>) {
    this.answers.set(agent, answer);
  }
  fail(agent: string, status = 500) {
    this.set(agent, () => Promise.resolve({ status, body: '{}' }));
  }
  calls(agent: string): number {
    return this.seen.filter((r) => r.agentId === agent).length;
  }
}

const silent: Logger = { info: () => undefined, warn: () => undefined };

function setup(options: AgentLoopOptions = {}) {
  const agents = new FakeAgents();
  const clock = new ManualClock();
  const cache = new MemoryCache();
  const loop = new AgentLoop({ env: ENV, transport: agents.transport, clock, cache, logger: silent, ...options });
  return { agents, clock, cache, loop };
}

describe('callAgent', () => {
  afterAll(() => configureAgentLoop({ env: ENV, logger: silent }));

  test("the story's acceptance test, as written", async () => {
    const agents = new FakeAgents();
    const clock = new ManualClock();
    await configureAgentLoop({ env: ENV, transport: agents.transport, clock, logger: silent });
    agents.fail('amazon');

    // Simulate 5 agent failures
    for (let i = 0; i < 5; i++) {
      await callAgent('amazon', { product: 'x' });
    }
    // Circuit should be OPEN now
    const status = await getCircuitBreakerStatus('amazon');
    expect(status.state).toBe('OPEN');

    // Next call should fail fast without calling agent
    const t0 = Date.now();
    const result = await callAgent('amazon', { product: 'x' });
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeLessThan(100);
    expect(result.fallback).toBe(true);
    expect(agents.calls('amazon')).toBe(5);

    // After 60s timeout, circuit enters HALF_OPEN
    clock.advance(60_000);
    expect(getCircuitBreakerStatus('amazon').state).toBe('HALF_OPEN');
    // Next 2 successful calls recover to CLOSED state
    agents.set('amazon', () => agents.ok({ phases: ['back'] }));
    await callAgent('amazon', { product: 'x' });
    await callAgent('amazon', { product: 'x' });
    expect(getCircuitBreakerStatus('amazon').state).toBe('CLOSED');
    expect(getAllCircuitBreakerStatus().map((s) => s.state)).toEqual(['CLOSED', 'CLOSED', 'CLOSED', 'CLOSED', 'CLOSED']);
  });

  test('an analysis comes back as itself with fallback: false', async () => {
    const { agents, loop } = setup();
    agents.set('shopee', () => agents.ok({ phases: [1, 2], summary: 'good' }));
    await expect(loop.callAgent('shopee', { q: 1 })).resolves.toEqual({
      phases: [1, 2],
      summary: 'good',
      fallback: false,
      cached: false,
    });
    expect(agents.seen[0].body).toBe('{"q":1}');
    expect(agents.seen[0].url).toBe(ENV.AGENT_SHOPEE_URL);
  });

  test('a failure answers with the cached analysis for the same input, else the empty one', async () => {
    const { agents, loop } = setup();
    await loop.callAgent('amazon', { sku: 1, market: 'br' });
    agents.fail('amazon', 503);
    const cached = await loop.callAgent('amazon', { sku: 1, market: 'br' });
    expect(cached).toMatchObject({ phases: ['amazon'], fallback: true, fallbackReason: 'http_5xx', cached: true });
    expect(typeof (cached as { cachedAt?: string }).cachedAt).toBe('string');
    const empty = await loop.callAgent('amazon', { sku: 2 });
    expect(empty).toEqual({ phases: [], fallback: true, fallbackReason: 'http_5xx', cached: false });
    expect(loop.fallbacksServed('amazon')).toEqual({ cached: 1, empty: 1 });
  });

  test('the open circuit answers from the cache without calling the agent', async () => {
    const { agents, loop } = setup();
    await loop.callAgent('amazon', { sku: 1 });
    loop.breakers.forceOpen('amazon');
    const before = agents.calls('amazon');
    const result = await loop.callAgent('amazon', { sku: 1 });
    expect(result).toMatchObject({ phases: ['amazon'], fallback: true, fallbackReason: 'circuit_open', cached: true });
    expect(agents.calls('amazon')).toBe(before);
  });

  test('recovery: probes succeed, CLOSED, normal results resume and refresh the cache', async () => {
    const { agents, clock, loop, cache } = setup();
    agents.fail('amazon');
    for (let i = 0; i < 5; i++) await loop.callAgent('amazon', { sku: 1 });
    clock.advance(60_000);
    agents.set('amazon', () => agents.ok({ phases: ['fresh'] }));
    await expect(loop.callAgent('amazon', { sku: 1 })).resolves.toMatchObject({ phases: ['fresh'], fallback: false });
    await loop.callAgent('amazon', { sku: 1 });
    expect(loop.getCircuitBreakerStatus('amazon').state).toBe('CLOSED');
    expect(cache.peek('amazon', bodyKey('{"sku":1}'))?.body).toBe('{"phases":["fresh"]}');
  });

  test('half-open herd: 1000 concurrent calls, the agent sees at most halfOpenMaxCalls', async () => {
    const { agents, clock, loop } = setup();
    loop.breakers.forceOpen('amazon');
    clock.advance(60_000);
    const release: Array<() => void> = [];
    agents.set('amazon', () => new Promise((resolve) => release.push(() => resolve({ status: 200, body: '{"phases":[]}' }))));
    const calls = Array.from({ length: 1000 }, () => loop.callAgent('amazon', { sku: 1 }));
    await new Promise((r) => setImmediate(r));
    expect(agents.calls('amazon')).toBe(2);
    release.forEach((r) => r());
    const results = await Promise.all(calls);
    expect(results.filter((r) => r.fallback)).toHaveLength(998);
    expect(results.filter((r) => r.fallback && r.fallbackReason === 'circuit_open')).toHaveLength(998);
    expect(loop.getCircuitBreakerStatus('amazon').state).toBe('CLOSED');
  });

  test('a slow call started while CLOSED that finishes after OPEN -> HALF_OPEN changes nothing', async () => {
    const { agents, clock, loop } = setup();
    let finish: () => void = () => undefined;
    agents.set('amazon', () => new Promise((resolve) => (finish = () => resolve({ status: 200, body: '{"phases":["late"]}' }))));
    const slow = loop.callAgent('amazon', { sku: 1 });
    await new Promise((r) => setImmediate(r));
    agents.fail('amazon');
    for (let i = 0; i < 5; i++) await loop.callAgent('amazon', { sku: 2 });
    clock.advance(60_000);
    expect(loop.getCircuitBreakerStatus('amazon').state).toBe('HALF_OPEN');
    finish();
    await expect(slow).resolves.toMatchObject({ phases: ['late'], fallback: false });
    const s = loop.getCircuitBreakerStatus('amazon');
    expect([s.state, s.halfOpenSuccesses, s.calls.lateOutcomes]).toEqual(['HALF_OPEN', 0, 1]);
  });

  test('per-agent isolation: amazon OPEN, the other four CLOSED and answering', async () => {
    const { agents, loop } = setup();
    agents.fail('amazon');
    const entries = [];
    for (let i = 0; i < 5; i++) entries.push(await loop.runAgentLoop({ sku: 1 }));
    const last = entries[4];
    expect(last.map((e) => e.agent)).toEqual(['amazon', 'mercadolivre', 'shopee', 'shein', 'tiktok-shop']);
    for (const e of last.slice(1)) expect(e).toMatchObject({ result: { fallback: false } });
    expect(last[0]).toMatchObject({ result: { fallback: true } });
    expect(loop.getAllCircuitBreakerStatus().map((s) => s.state)).toEqual(['OPEN', 'CLOSED', 'CLOSED', 'CLOSED', 'CLOSED']);
  });

  test('no cache poisoning: failures, fallbacks and invalid bodies are never cached', async () => {
    const { agents, loop, cache } = setup();
    await loop.callAgent('amazon', { sku: 1 });
    const key = bodyKey('{"sku":1}');
    const good = cache.peek('amazon', key);
    const bad = [
      () => Promise.resolve({ status: 500, body: '{"phases":["error page"]}' }),
      () => Promise.resolve({ status: 200, body: '{"phases":"not an array"}' }),
      () => Promise.resolve({ status: 200, body: 'not json' }),
      () => Promise.reject(new Error('ECONNRESET')),
    ];
    for (const answer of bad) {
      agents.set('amazon', answer);
      const r = await loop.callAgent('amazon', { sku: 1 });
      expect(r.fallback).toBe(true);
      expect(cache.peek('amazon', key)).toBe(good);
    }
    loop.breakers.forceOpen('amazon');
    await loop.callAgent('amazon', { sku: 3 });
    expect(cache.size('amazon')).toBe(1);
  });

  test('4xx other than 429 is the caller\'s problem: rejected, not counted against the agent', async () => {
    const { agents, loop } = setup();
    agents.fail('amazon', 400);
    for (let i = 0; i < 10; i++) {
      await expect(loop.callAgent('amazon', {})).rejects.toMatchObject({ code: 'ERR_AGENT_REQUEST', status: 400 });
    }
    const s = loop.getCircuitBreakerStatus('amazon');
    expect([s.state, s.consecutiveFailures, s.calls.released]).toEqual(['CLOSED', 0, 10]);
    agents.fail('amazon', 429);
    await expect(loop.callAgent('amazon', {})).resolves.toMatchObject({ fallbackReason: 'rate_limited' });
    expect(loop.getCircuitBreakerStatus('amazon').calls.failuresByReason.rate_limited).toBe(1);
  });

  test('the status predicate is configurable', async () => {
    const { agents, loop } = setup({ countsAgainstAgent: (status) => status >= 400 });
    agents.fail('amazon', 404);
    await expect(loop.callAgent('amazon', {})).resolves.toMatchObject({ fallback: true, fallbackReason: 'invalid_response' });
  });

  test('caller mistakes reject with a clear error', async () => {
    const { loop } = setup();
    await expect(loop.callAgent('amazom', {})).rejects.toMatchObject({ code: 'ERR_UNKNOWN_AGENT' });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(loop.callAgent('amazon', cyclic)).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT' });
    await expect(loop.callAgent('amazon', { n: 10n })).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT' });
    await expect(loop.callAgent('amazon', undefined)).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT' });
    await expect(loop.runAgentLoop({}, ['amazon', 'nope'])).rejects.toMatchObject({ code: 'ERR_UNKNOWN_AGENT' });
  });

  test("a caller's signal aborts the call; nothing is counted", async () => {
    const { agents, loop } = setup();
    let seenSignal: AbortSignal | undefined;
    agents.set('amazon', () => {
      seenSignal = agents.seen[agents.seen.length - 1].signal;
      return new Promise(() => undefined);
    });
    const controller = new AbortController();
    const call = loop.callAgent('amazon', {}, { signal: controller.signal });
    await new Promise((r) => setImmediate(r));
    controller.abort(new Error('user left'));
    await expect(call).rejects.toThrow('user left');
    expect(seenSignal?.aborted).toBe(true);
    const s = loop.getCircuitBreakerStatus('amazon');
    expect([s.consecutiveFailures, s.calls.failures, s.calls.released]).toEqual([0, 0, 1]);
  });

  test('each call has its own signal', async () => {
    const { agents, loop } = setup();
    await Promise.all([loop.callAgent('amazon', { a: 1 }), loop.callAgent('amazon', { a: 2 })]);
    expect(agents.seen[0].signal).not.toBe(agents.seen[1].signal);
  });

  test('every transition is logged once as one structured line', async () => {
    const lines: Record<string, unknown>[] = [];
    const { agents, clock, loop } = setup({ logger: { info: (l) => lines.push(l), warn: () => undefined } });
    agents.fail('shein');
    for (let i = 0; i < 5; i++) await loop.callAgent('shein', {});
    clock.advance(60_000);
    loop.getAllCircuitBreakerStatus();
    loop.getAllCircuitBreakerStatus();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      msg: 'circuit_transition',
      agent: 'shein',
      from: 'CLOSED',
      to: 'OPEN',
      reason: 'failure_threshold',
      consecutiveFailures: 5,
    });
    expect(lines[1]).toMatchObject({ agent: 'shein', from: 'OPEN', to: 'HALF_OPEN' });
  });

  test('a logger or key function that throws breaks nothing', async () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const throwing: Logger = {
      info: () => {
        throw new Error('logger down');
      },
      warn: () => {
        throw new Error('logger down');
      },
    };
    const { agents, loop } = setup({
      logger: throwing,
      keyOf: () => {
        throw new Error('key bug');
      },
    });
    await expect(loop.callAgent('amazon', {})).resolves.toMatchObject({ fallback: false });
    agents.fail('amazon');
    for (let i = 0; i < 5; i++) await expect(loop.callAgent('amazon', {})).resolves.toMatchObject({ fallback: true });
    expect(loop.getCircuitBreakerStatus('amazon').state).toBe('OPEN');
    warn.mockRestore();
  });

  test('configuration comes from the environment with the story defaults', () => {
    const c = configFromEnv(ENV);
    expect(c).toMatchObject({ failureThreshold: 5, successThreshold: 2, openTimeoutMs: 60_000, timeoutMs: 30_000 });
    expect(c.urls.get('tiktok-shop')).toBe(ENV.AGENT_TIKTOK_SHOP_URL);
    const custom = configFromEnv({ ...ENV, CIRCUIT_FAILURE_THRESHOLD: '3', CIRCUIT_OPEN_TIMEOUT_MS: '1000', AGENT_TIMEOUT_MS: '250' });
    expect(custom).toMatchObject({ failureThreshold: 3, openTimeoutMs: 1000, timeoutMs: 250 });
  });

  test('an invalid value stops start-up naming the variable', () => {
    const bad: Array<[Record<string, string>, string]> = [
      [{ CIRCUIT_FAILURE_THRESHOLD: 'five' }, 'CIRCUIT_FAILURE_THRESHOLD'],
      [{ CIRCUIT_SUCCESS_THRESHOLD: '0' }, 'CIRCUIT_SUCCESS_THRESHOLD'],
      [{ CIRCUIT_OPEN_TIMEOUT_MS: '1.5' }, 'CIRCUIT_OPEN_TIMEOUT_MS'],
      [{ AGENT_TIMEOUT_MS: '-1' }, 'AGENT_TIMEOUT_MS'],
      [{ AGENT_SHEIN_URL: 'ftp://x' }, 'AGENT_SHEIN_URL'],
      [{ AGENT_TIKTOK_SHOP_URL: '' }, 'AGENT_TIKTOK_SHOP_URL'],
      [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL'],
    ];
    for (const [patch, variable] of bad) {
      let err: { variable?: string; message?: string } = {};
      try {
        new AgentLoop({ env: { ...ENV, ...patch }, logger: silent });
      } catch (e) {
        err = e as typeof err;
      }
      expect(err.variable).toBe(variable);
      expect(err.message).toContain(variable);
    }
  });
});

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
