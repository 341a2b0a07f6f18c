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
  type Logger,
} from '../../app/lib/ai/agent-loop';
import { configFromEnv } from '../../app/lib/ai/agent-config';
import { bodyKey } from '../../app/lib/ai/fallback-cache';
import { ENV, FakeAgents, setup, silent } from './helpers/fake-agents';

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
