/**
 * The fallback cache: the in-memory LRU with TTL, and the Redis tier against a real redis-server
 * started on a free loopback port: read/write, TTL set in Redis, Redis killed and restarted, Redis
 * paused; callAgent answers within its budget throughout and Redis trouble never counts against
 * an agent.
 */

import Redis from 'ioredis';
import { ManualClock } from 'agent-circuit-breaker';
import { AgentLoop, type Logger } from '../../app/lib/ai/agent-loop';
import { inputKey, MemoryCache } from '../../app/lib/ai/fallback-cache';
import { RedisCache } from '../../app/lib/ai/redis-cache';
import type { Transport } from '../../app/lib/ai/transport';
import { RedisServer } from './helpers/redis-server';

const silent: Logger = { info: () => undefined, warn: () => undefined };

describe('MemoryCache', () => {
  test('keys ignore object key order and tell inputs apart', () => {
    expect(inputKey({ a: 1, b: [1, { c: 2, d: 3 }] })).toBe(inputKey({ b: [1, { d: 3, c: 2 }], a: 1 }));
    expect(inputKey({ a: 1 })).not.toBe(inputKey({ a: 2 }));
    expect(inputKey({ a: '1' })).not.toBe(inputKey({ a: 1 }));
  });

  test('entries expire after the TTL', async () => {
    let now = 1_000_000;
    const cache = new MemoryCache({ ttlMs: 3_600_000, now: () => now });
    await cache.set('amazon', 'k', { phases: [1] });
    now += 3_599_999;
    expect((await cache.get('amazon', 'k'))?.analysis).toEqual({ phases: [1] });
    now += 1;
    expect(await cache.get('amazon', 'k')).toBeUndefined();
  });

  test('each agent holds at most maxEntriesPerAgent, least recently used out first', async () => {
    const cache = new MemoryCache({ maxEntriesPerAgent: 3 });
    for (const k of ['a', 'b', 'c']) await cache.set('amazon', k, { phases: [k] });
    await cache.get('amazon', 'a'); // a is now the most recently used
    await cache.set('amazon', 'd', { phases: ['d'] });
    expect(await cache.get('amazon', 'b')).toBeUndefined();
    expect((await cache.get('amazon', 'a'))?.analysis.phases).toEqual(['a']);
    expect(cache.size('amazon')).toBe(3);
    await cache.set('shopee', 'x', { phases: [] });
    expect(cache.size('amazon')).toBe(3);
  });
});

describe('RedisCache against a real redis-server', () => {
  let redis: RedisServer;
  let admin: Redis;
  const caches: RedisCache[] = [];
  const cache = (budgetMs = 50) => {
    const c = new RedisCache({ url: redis.url, budgetMs, onError: () => undefined });
    caches.push(c);
    return c;
  };

  beforeAll(async () => {
    redis = await RedisServer.start();
    admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    admin.on('error', () => undefined);
    await admin.connect();
  });
  afterAll(async () => {
    await Promise.all(caches.map((c) => c.close()));
    admin.disconnect();
    await redis.stop();
  });

  const ready = async (c: RedisCache) => {
    if (c.client.status !== 'ready') await new Promise((r) => c.client.once('ready', r));
  };

  test('writes namespaced keys with the TTL set in Redis, and reads them back', async () => {
    const c = cache();
    await ready(c);
    await c.set('amazon', 'k1', { phases: ['a'] });
    const keys = await admin.keys('agent-circuit-breaker:fallback:*');
    expect(keys).toContain('agent-circuit-breaker:fallback:amazon:k1');
    const ttl = await admin.pttl('agent-circuit-breaker:fallback:amazon:k1');
    expect(ttl).toBeGreaterThan(3_590_000);
    expect(ttl).toBeLessThanOrEqual(3_600_000);
    // Another process (a fresh cache, empty memory) reads it from Redis.
    const other = cache();
    await ready(other);
    expect((await other.get('amazon', 'k1'))?.analysis).toEqual({ phases: ['a'] });
    expect(await other.get('amazon', 'missing')).toBeUndefined();
  });

  test('Redis killed mid-test and restarted: reads miss within the budget, then work again', async () => {
    const c = cache();
    await ready(c);
    await c.set('amazon', 'before', { phases: ['before'] });
    await redis.stop();
    const fresh = cache(); // nothing in its memory tier
    const t0 = performance.now();
    expect(await fresh.get('amazon', 'before')).toBeUndefined();
    expect(performance.now() - t0).toBeLessThan(100);
    await c.set('amazon', 'while-down', { phases: ['x'] }); // dropped by Redis, kept in memory
    expect((await c.get('amazon', 'while-down'))?.analysis).toEqual({ phases: ['x'] });
    await redis.restart();
    await ready(c);
    await c.set('amazon', 'after', { phases: ['after'] });
    expect(await admin.exists('agent-circuit-breaker:fallback:amazon:after').catch(async () => {
      await admin.connect().catch(() => undefined);
      return admin.exists('agent-circuit-breaker:fallback:amazon:after');
    })).toBe(1);
  });

  test('Redis paused: callAgent still answers within budget and the breaker never counts it', async () => {
    const agents = { down: false };
    const transport: Transport = async () =>
      agents.down ? { status: 503, body: '{}' } : { status: 200, body: '{"phases":["live"]}' };
    const env = {
      AGENT_AMAZON_URL: 'http://127.0.0.1:9/',
      AGENT_MERCADOLIVRE_URL: 'http://127.0.0.1:9/',
      AGENT_SHOPEE_URL: 'http://127.0.0.1:9/',
      AGENT_SHEIN_URL: 'http://127.0.0.1:9/',
      AGENT_TIKTOK_SHOP_URL: 'http://127.0.0.1:9/',
      REDIS_URL: redis.url,
    };
    const loop = new AgentLoop({ env, transport, clock: new ManualClock(), logger: silent });
    caches.push(loop.cache as RedisCache);
    await ready(loop.cache as RedisCache);
    await expect(loop.callAgent('amazon', { sku: 1 })).resolves.toMatchObject({ fallback: false });
    // Another loop sharing Redis: its memory is empty, so its fallback must come from Redis.
    const second = new AgentLoop({ env, transport, clock: new ManualClock(), logger: silent });
    caches.push(second.cache as RedisCache);
    await ready(second.cache as RedisCache);
    await (loop.cache as RedisCache).client.set('probe', '1'); // the write path is up
    agents.down = true;
    await expect(second.callAgent('amazon', { sku: 1 })).resolves.toMatchObject({ phases: ['live'], cached: true });

    // Pause every client for 2 s: Redis answers nothing.
    await admin.client('PAUSE', 2000, 'ALL');
    const third = new AgentLoop({ env, transport, clock: new ManualClock(), logger: silent });
    caches.push(third.cache as RedisCache);
    const t0 = performance.now();
    const result = await third.callAgent('amazon', { sku: 1 });
    expect(performance.now() - t0).toBeLessThan(200);
    expect(result).toMatchObject({ fallback: true, fallbackReason: 'http_5xx', cached: false });
    const s = third.getCircuitBreakerStatus('amazon');
    expect(s.calls.failuresByReason).toMatchObject({ http_5xx: 1, network: 0, timeout: 0 });
    // A successful call while Redis hangs does not wait on it either.
    agents.down = false;
    const t1 = performance.now();
    await expect(third.callAgent('amazon', { sku: 2 })).resolves.toMatchObject({ fallback: false });
    expect(performance.now() - t1).toBeLessThan(100);
    expect(third.getCircuitBreakerStatus('amazon').consecutiveFailures).toBe(0);
    await new Promise((r) => setTimeout(r, 2100)); // let the pause end before the next test
  });

  test('Redis sleeping (DEBUG SLEEP): a read gives up after the budget', async () => {
    const c = cache(50);
    await ready(c);
    const sleeping = admin.debug('SLEEP', '1').catch(() => undefined);
    await new Promise((r) => setTimeout(r, 20));
    const t0 = performance.now();
    expect(await c.get('amazon', 'nothing-here')).toBeUndefined();
    expect(performance.now() - t0).toBeLessThan(100);
    await sleeping;
  });
});
