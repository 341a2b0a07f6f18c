/**
 * One named test for each bug the peers shipped, against this package's breaker and the agent loop;
 * each test's name cites the peer's issue numbers (opossum, cockatiel, Polly, resilience4j, gobreaker,
 * Hystrix). Each fails if the bug came back.
 */

import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { AgentCircuitBreaker, MARKETPLACE_AGENTS, CircuitBreaker, ManualClock, type TransitionEvent } from '../../lib/resilience';
import { AgentLoop, type Logger } from '../../app/lib/ai/agent-loop';
import { bodyKey, MemoryCache } from '../../app/lib/ai/fallback-cache';
import type { AgentRequest, AgentResponse } from '../../app/lib/ai/transport';

const ok = async () => 'ok';
const boom = async () => {
  throw new Error('down');
};
const never = () => new Promise<string>(() => undefined);
const silent: Logger = { info: () => undefined, warn: () => undefined };
const ENV = Object.fromEntries(
  ['AMAZON', 'MERCADOLIVRE', 'SHOPEE', 'SHEIN', 'TIKTOK_SHOP'].map((a) => [`AGENT_${a}_URL`, 'http://127.0.0.1:9/']),
);

function opened(config: ConstructorParameters<typeof CircuitBreaker>[0] = {}) {
  const clock = new ManualClock();
  const breaker = new CircuitBreaker({ clock, ...config });
  breaker.forceOpen();
  return { clock, breaker };
}

describe('bugs the peers shipped', () => {
  test('1. half-open flood (opossum #119, Polly #216/#223, resilience4j #343): at most halfOpenMaxCalls probes', async () => {
    const { clock, breaker } = opened();
    clock.advance(60_000);
    let probes = 0;
    const calls = Array.from({ length: 1000 }, () =>
      breaker.execute(() => {
        probes++;
        return never();
      }, () => 'fallback'),
    );
    const settled = await Promise.all(calls.slice(2));
    expect(probes).toBe(2);
    expect(settled.every((r) => r === 'fallback')).toBe(true);
  });

  test('2. stale in-flight results flip state (Polly #217-#219, gobreaker #122): outcomes of an older generation change nothing', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ clock });
    const slow: Array<(v: string) => void> = [];
    const stale = [0, 1, 2].map(() => breaker.execute(() => new Promise<string>((r) => slow.push(r))));
    for (let i = 0; i < 5; i++) await breaker.execute(boom).catch(() => undefined);
    clock.advance(60_000);
    slow.forEach((r) => r('late'));
    await Promise.all(stale);
    expect(breaker.state).toBe('HALF_OPEN');
    expect(breaker.status()).toMatchObject({ halfOpenSuccesses: 0, calls: { lateOutcomes: 3 } });
  });

  test('3. half-open stuck because a permit was never released (resilience4j #544, #903, #935)', async () => {
    const { clock, breaker } = opened({ classifyError: () => null });
    clock.advance(60_000);
    // A probe whose error does not count releases its permit...
    await breaker.execute(() => Promise.reject(new Error('ignored'))).catch(() => undefined);
    // ...and probes that never end are reclaimed when the open timeout has passed again.
    void breaker.execute(never);
    void breaker.execute(never);
    expect(breaker.status().probesInFlight).toBe(2);
    clock.advance(60_000);
    expect(breaker.state).toBe('OPEN');
    clock.advance(60_000);
    expect(breaker.state).toBe('HALF_OPEN');
    await breaker.execute(ok);
    await breaker.execute(ok);
    expect(breaker.state).toBe('CLOSED');
  });

  test('4. stuck OPEN after a concurrent open() cancelled the reset timer (opossum #385): no timers to cancel', async () => {
    const { clock, breaker } = opened();
    await Promise.all(Array.from({ length: 50 }, async () => breaker.forceOpen()));
    clock.advance(60_000);
    expect(breaker.state).toBe('HALF_OPEN');
  });

  test('5a. timers keep the process alive (opossum #378): a process with open breakers exits by itself', () => {
    const code = `
      const { AgentCircuitBreaker, MARKETPLACE_AGENTS } = require(${JSON.stringify(path.join(__dirname, '../../lib/resilience'))});
      const r = new AgentCircuitBreaker({ agents: MARKETPLACE_AGENTS });
      for (const a of r.agents()) r.forceOpen(a);
      console.log(r.state('amazon'));`;
    const child = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 20_000 });
    expect([child.signal, child.status, child.stdout.trim()]).toEqual([null, 0, 'OPEN']);
  });

  test('5b. stale OPEN until a call comes (Polly #481, cockatiel #91): status is HALF_OPEN as soon as the timeout passes', () => {
    const clock = new ManualClock();
    const registry = new AgentCircuitBreaker({ agents: MARKETPLACE_AGENTS, clock });
    registry.forceOpen('amazon');
    clock.advance(60_000);
    expect(registry.statusAll()[0].state).toBe('HALF_OPEN');
    expect(registry.metricsTable().values[0]).toBe(2);
  });

  test('6. tripping on a tiny sample (opossum #217/#288): one failure in one call does not open', async () => {
    const breaker = new CircuitBreaker({ clock: new ManualClock() });
    await breaker.execute(boom).catch(() => undefined);
    expect(breaker.status()).toMatchObject({ state: 'CLOSED', errorRate: { ratio: 1 } });
  });

  test('7. a fallback that throws escapes, or runs twice (opossum #509, #198, #547)', async () => {
    const { breaker } = opened();
    let runs = 0;
    const result = breaker.execute(ok, () => {
      runs++;
      throw new Error('fallback bug');
    });
    await expect(result).rejects.toThrow('fallback bug');
    expect(runs).toBe(1);
    // callAgent after a timeout answers once, with one fallback.
    const loop = new AgentLoop({ env: { ...ENV, AGENT_TIMEOUT_MS: '20' }, transport: never as never, logger: silent });
    const answer = await loop.callAgent('amazon', {});
    expect(answer).toMatchObject({ fallback: true, fallbackReason: 'timeout' });
    expect(loop.fallbacksServed('amazon')).toEqual({ cached: 0, empty: 1 });
  });

  test("8. one AbortController per breaker aborts every call (opossum #780): each call has its own", async () => {
    const seen: AgentRequest[] = [];
    const transport = (req: AgentRequest) => {
      seen.push(req);
      return new Promise<AgentResponse>((resolve) => setTimeout(resolve, 30, { status: 200, body: '{"phases":[]}' }));
    };
    const loop = new AgentLoop({ env: ENV, transport, logger: silent });
    const controller = new AbortController();
    const first = loop.callAgent('amazon', { a: 1 }, { signal: controller.signal });
    const second = loop.callAgent('amazon', { a: 2 });
    controller.abort(new Error('first caller left'));
    await expect(first).rejects.toThrow('first caller left');
    await expect(second).resolves.toMatchObject({ fallback: false });
    expect(seen[0].signal.aborted).toBe(true);
    expect(seen[1].signal.aborted).toBe(false);
  });

  test('9. half-open too early, from construction time instead of open time (opossum #719/#720)', () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ clock });
    clock.advance(59_000);
    breaker.forceOpen();
    clock.advance(1_000);
    expect(breaker.state).toBe('OPEN');
    clock.advance(58_999);
    expect(breaker.state).toBe('OPEN');
    clock.advance(1);
    expect(breaker.state).toBe('HALF_OPEN');
  });

  test('10. per-key registries that never evict and never stop (resilience4j #650, #703, #2243): bounded, with a clear error', () => {
    const registry = new AgentCircuitBreaker({ agents: [], maxAgents: 10 });
    for (let i = 0; i < 10; i++) registry.add(`k${i}`);
    expect(() => registry.add('k10')).toThrow(/maxAgents = 10/);
    expect(registry.agents()).toHaveLength(10);
  });

  test('11. a listener that calls back into the breaker deadlocks (gobreaker #37)', async () => {
    const seen: string[] = [];
    const breaker = new CircuitBreaker({ clock: new ManualClock() });
    breaker.onTransition((e: TransitionEvent) => {
      seen.push(`${e.to}:${breaker.state}`);
      if (e.to === 'OPEN' && e.reason === 'failure_threshold') breaker.reset();
    });
    for (let i = 0; i < 5; i++) await breaker.execute(boom).catch(() => undefined);
    expect(seen).toEqual(['OPEN:OPEN', 'CLOSED:CLOSED']);
    expect(breaker.state).toBe('CLOSED');
  });

  test('12. error results written into the cache (Hystrix #90, #1688): only real successes are cached', async () => {
    const cache = new MemoryCache();
    let answer: AgentResponse = { status: 200, body: '{"phases":["good"]}' };
    const loop = new AgentLoop({ env: ENV, transport: async () => answer, cache, logger: silent });
    await loop.callAgent('amazon', { q: 1 });
    for (const bad of [
      { status: 500, body: '{"phases":["error page"]}' },
      { status: 200, body: '{"error":"no phases"}' },
      { status: 200, body: '<html>' },
    ]) {
      answer = bad;
      await loop.callAgent('amazon', { q: 1 });
    }
    expect(cache.peek('amazon', bodyKey('{"q":1}'))?.body).toBe('{"phases":["good"]}');
  });
});
