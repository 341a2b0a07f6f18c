/**
 * The fallback cache: the in-memory LRU with TTL, and the Redis tier against a real redis-server
 * started on a free loopback port: read/write, TTL set in Redis, Redis killed and restarted, Redis
 * paused; callAgent answers within its budget throughout and Redis trouble never counts against
 * an agent.
 */

import Redis from 'ioredis';
import { ManualClock } from 'agent-circuit-breaker';
import { AgentLoop, type Logger } from '../../app/lib/ai/agent-loop';
import { bodyKey, MemoryCache } from '../../app/lib/ai/fallback-cache';
import { RedisCache } from '../../app/lib/ai/redis-cache';
import type { Transport } from '../../app/lib/ai/transport';
import { RedisServer } from './helpers/redis-server';

const silent: Logger = { info: () => undefined, warn: () => undefined };

describe('MemoryCache', () => {
  test('the key is the SHA-256 of the exact body: any other text is another key', () => {
    expect(bodyKey('{"a":1}')).toBe('015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862');
    expect(bodyKey('{"a":1}')).not.toBe(bodyKey('{"a":2}'));
    expect(bodyKey('{"a":"1"}')).not.toBe(bodyKey('{"a":1}'));
    expect(bodyKey('{"a":1,"b":2}')).not.toBe(bodyKey('{"b":2,"a":1}'));
  });

  test('entries expire after the TTL', async () => {
    let now = 1_000_000;
    const cache = new MemoryCache({ ttlMs: 3_600_000, now: () => now });
    await cache.set('amazon', 'k', JSON.stringify({ phases: [1] }));
    now += 3_600_000;
    expect((await cache.get('amazon', 'k'))?.body).toBe(JSON.stringify({ phases: [1] }));
    now += 1; // more than ttlMs has passed
    expect(await cache.get('amazon', 'k')).toBeUndefined();
  });

  test('each agent holds at most maxEntriesPerAgent, least recently used out first', async () => {
    const cache = new MemoryCache({ maxEntriesPerAgent: 3 });
    for (const k of ['a', 'b', 'c']) await cache.set('amazon', k, JSON.stringify({ phases: [k] }));
    await cache.get('amazon', 'a'); // a is now the most recently used
    await cache.set('amazon', 'd', JSON.stringify({ phases: ['d'] }));
    expect(await cache.get('amazon', 'b')).toBeUndefined();
    expect((await cache.get('amazon', 'a'))?.body).toBe('{"phases":["a"]}');
    expect(cache.size('amazon')).toBe(3);
    await cache.set('shopee', 'x', JSON.stringify({ phases: [] }));
    expect(cache.size('amazon')).toBe(3);
  });
});

describe('MemoryCache bounds in bytes (issue 10, point 3)', () => {
  const body = (n: number, tag: string) => JSON.stringify({ phases: [tag], pad: 'x'.repeat(n) });

  test('all agents together stay within maxBytes; the agent holding most bytes gives up its oldest', async () => {
    const cache = new MemoryCache({ maxBytes: 20_000, maxEntryBytes: 5_000 });
    await cache.set('shopee', 'keep', body(1000, 'shopee'));
    for (let i = 0; i < 50; i++) await cache.set('amazon', `k${i}`, body(1000, `a${i}`));
    expect(cache.bytes()).toBeLessThanOrEqual(20_000);
    expect(cache.bytes()).toBeGreaterThan(15_000);
    expect(await cache.get('amazon', 'k0')).toBeUndefined();
    expect((await cache.get('amazon', 'k49'))?.body).toBe(body(1000, 'a49'));
    expect((await cache.get('shopee', 'keep'))?.body).toBe(body(1000, 'shopee'));
  });

  test('an answer over maxEntryBytes (UTF-8 bytes) is not kept', async () => {
    const cache = new MemoryCache({ maxBytes: 10_000, maxEntryBytes: 1000 });
    await cache.set('amazon', 'big', body(1001, 'big'));
    await cache.set('amazon', 'multibyte', JSON.stringify({ phases: ['é'.repeat(600)] })); // 600 chars, 1200 bytes
    await cache.set('amazon', 'small', body(10, 'small'));
    expect(await cache.get('amazon', 'big')).toBeUndefined();
    expect(await cache.get('amazon', 'multibyte')).toBeUndefined();
    expect(cache.size('amazon')).toBe(1);
  });

  test('bad bounds are refused naming the value', () => {
    expect(() => new MemoryCache({ maxBytes: 0 })).toThrow('maxBytes must be a positive integer (got 0)');
    expect(() => new MemoryCache({ maxBytes: 100, maxEntryBytes: 200 })).toThrow('must not exceed maxBytes');
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
    await c.set('amazon', 'k1', JSON.stringify({ phases: ['a'] }));
    const keys = await admin.keys('agent-circuit-breaker:fallback:*');
    expect(keys).toContain('agent-circuit-breaker:fallback:amazon:k1');
    const ttl = await admin.pttl('agent-circuit-breaker:fallback:amazon:k1');
    expect(ttl).toBeGreaterThan(3_590_000);
    expect(ttl).toBeLessThanOrEqual(3_600_000);
    // Another process (a fresh cache, empty memory) reads it from Redis.
    const other = cache();
    await ready(other);
    expect((await other.get('amazon', 'k1'))?.body).toBe(JSON.stringify({ phases: ['a'] }));
    expect(await other.get('amazon', 'missing')).toBeUndefined();
  });

  test('an entry copied from Redis into memory keeps its remaining Redis TTL (issue 10, point 4)', async () => {
    let now = 1_000_000;
    const c = new RedisCache({ url: redis.url, onError: () => undefined, now: () => now });
    caches.push(c);
    await ready(c);
    const entry = { body: '{"phases":["from redis"]}', cachedAt: '2026-01-01T00:00:00.000Z' };
    await admin.set('agent-circuit-breaker:fallback:amazon:ttl', JSON.stringify(entry), 'PX', 5000);
    expect(await c.get('amazon', 'ttl')).toEqual(entry);
    expect(c.memory.peek('amazon', 'ttl')).toEqual(entry);
    now += 4000;
    expect(c.memory.peek('amazon', 'ttl')).toEqual(entry);
    now += 1001; // past the 5 s it had left in Redis (a fresh hour before)
    expect(c.memory.peek('amazon', 'ttl')).toBeUndefined();
  });

  test('an entry whose cachedAt is not a string is a miss (issue 10, point 5)', async () => {
    const c = cache();
    await ready(c);
    for (const cachedAt of [5, null, { at: 'x' }]) {
      for (const answer of [{ body: '{"phases":[]}' }, { analysis: { phases: [] } }]) {
        await admin.set('agent-circuit-breaker:fallback:amazon:bad', JSON.stringify({ ...answer, cachedAt }));
        expect(await c.get('amazon', 'bad')).toBeUndefined();
      }
    }
    await admin.set('agent-circuit-breaker:fallback:amazon:old', JSON.stringify({ analysis: { phases: [1] }, cachedAt: 'then' }));
    expect(await c.get('amazon', 'old')).toEqual({ body: '{"phases":[1]}', cachedAt: 'then' }); // an older version's entry
  });

  test('an answer over the per-entry cap goes neither to memory nor to Redis (issue 10, point 3)', async () => {
    const c = new RedisCache({ url: redis.url, onError: () => undefined, maxEntryBytes: 100 });
    caches.push(c);
    await ready(c);
    await c.set('amazon', 'big', JSON.stringify({ phases: ['x'.repeat(200)] }));
    await c.set('amazon', 'small', '{"phases":[]}');
    expect(await admin.exists('agent-circuit-breaker:fallback:amazon:big')).toBe(0);
    expect(await admin.exists('agent-circuit-breaker:fallback:amazon:small')).toBe(1);
    expect(c.memory.size('amazon')).toBe(1);
  });

  test('Redis killed mid-test and restarted: reads miss within the budget, then work again', async () => {
    const c = cache();
    await ready(c);
    await c.set('amazon', 'before', JSON.stringify({ phases: ['before'] }));
    await redis.stop();
    const fresh = cache(); // nothing in its memory tier
    const t0 = performance.now();
    expect(await fresh.get('amazon', 'before')).toBeUndefined();
    expect(performance.now() - t0).toBeLessThan(100);
    await c.set('amazon', 'while-down', JSON.stringify({ phases: ['x'] })); // dropped by Redis, kept in memory
    expect((await c.get('amazon', 'while-down'))?.body).toBe(JSON.stringify({ phases: ['x'] }));
    await redis.restart();
    await ready(c);
    await c.set('amazon', 'after', JSON.stringify({ phases: ['after'] }));
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
      CIRCUIT_SHARED_STATE: 'off', // the fallback cache alone (fleet mode has its own tests)
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
