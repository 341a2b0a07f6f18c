/**
 * The Redis tier of the fallback cache (story 4.1's Redis), behind the memory tier: reads try memory
 * first and wait on Redis at most `budgetMs`; writes go to both, Redis without being awaited by the
 * agent loop. If Redis is down or slow, reads are misses and writes are dropped: Redis trouble never
 * reaches an agent's breaker.
 */

import Redis from 'ioredis';
import { within } from './deadline';
import { MemoryCache, type CacheEntry, type FallbackCache, type MemoryCacheOptions } from './fallback-cache';

/** Options of the Redis-backed cache. */
export interface RedisCacheOptions extends MemoryCacheOptions {
  /** `redis://host:port/db`. */
  url: string;
  /** Key prefix. @default 'agent-circuit-breaker:fallback:' */
  prefix?: string;
  /** The most a read or write waits on Redis, in ms. @default 50 */
  budgetMs?: number;
  /** Told about Redis trouble, at most once per 10 s. */
  onError?: (error: Error) => void;
}

/**
 * The entry stored in Redis (`{ body, cachedAt }` as JSON), or undefined if it is not one: a
 * `cachedAt` that is not a string, or a body that is not a string, is a miss. An entry written by
 * an older version (`{ analysis, cachedAt }`) is read with its analysis as the body.
 */
export function entryFromRedis(raw: string): CacheEntry | undefined {
  let stored: { body?: unknown; analysis?: unknown; cachedAt?: unknown };
  try {
    stored = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (stored === null || typeof stored !== 'object' || typeof stored.cachedAt !== 'string') return undefined;
  if (typeof stored.body === 'string') return { body: stored.body, cachedAt: stored.cachedAt };
  if (stored.analysis !== null && typeof stored.analysis === 'object') {
    return { body: JSON.stringify(stored.analysis), cachedAt: stored.cachedAt };
  }
  return undefined;
}

/** Redis with memory in front. */
export class RedisCache implements FallbackCache {
  readonly memory: MemoryCache;
  readonly client: Redis;
  private readonly prefix: string;
  private readonly budgetMs: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly onError: (error: Error) => void;
  private lastErrorAt = 0;

  constructor(options: RedisCacheOptions) {
    this.memory = new MemoryCache(options);
    this.prefix = options.prefix ?? 'agent-circuit-breaker:fallback:';
    this.budgetMs = options.budgetMs ?? 50;
    this.ttlMs = options.ttlMs ?? 3_600_000;
    this.now = options.now ?? Date.now;
    const report = options.onError ?? ((e: Error) => console.warn(`fallback cache: Redis unavailable: ${e.message}`));
    this.onError = (error) => {
      if (Date.now() - this.lastErrorAt < 10_000) return;
      this.lastErrorAt = Date.now();
      report(error);
    };
    this.client = new Redis(options.url, {
      enableOfflineQueue: false, // fail at once while disconnected, never queue
      maxRetriesPerRequest: 0,
      commandTimeout: this.budgetMs,
      connectTimeout: 1000,
      retryStrategy: (times) => Math.min(times * 200, 2000),
      lazyConnect: false,
    });
    this.client.on('error', (e: Error) => this.onError(e));
  }

  private key(agent: string, key: string): string {
    return `${this.prefix}${agent}:${key}`;
  }

  /** Runs a Redis command, resolving to undefined on error or after the budget. */
  private async bounded<T>(command: () => Promise<T>): Promise<T | undefined> {
    const reported = command().catch((e: Error) => {
      this.onError(e);
      return undefined;
    });
    return within(reported, this.budgetMs);
  }

  peek(agent: string, key: string): CacheEntry | undefined {
    return this.memory.peek(agent, key);
  }

  /**
   * Memory first; else Redis, within the budget. An entry read from Redis is copied into memory
   * with the TTL it has left in Redis (GET and PTTL in one MULTI), so it never outlives it there.
   */
  async get(agent: string, key: string): Promise<CacheEntry | undefined> {
    const local = this.memory.peek(agent, key);
    if (local) return local;
    const redisKey = this.key(agent, key);
    const replies = await this.bounded(() => this.client.multi().get(redisKey).pttl(redisKey).exec());
    const [[, raw] = [], [, pttl] = []] = replies ?? [];
    if (typeof raw !== 'string') return undefined;
    const entry = entryFromRedis(raw);
    if (!entry) return undefined;
    const remainingMs = typeof pttl === 'number' && pttl > 0 ? Math.min(pttl, this.ttlMs) : pttl === -1 ? this.ttlMs : 0;
    if (remainingMs > 0) this.memory.put(agent, key, entry, remainingMs);
    return entry;
  }

  /** Keeps `body` in memory and in Redis, unless it is larger than the per-entry cap. */
  async set(agent: string, key: string, body: string): Promise<void> {
    if (!this.memory.accepts(body)) return;
    const entry: CacheEntry = { body, cachedAt: new Date(this.now()).toISOString() };
    this.memory.put(agent, key, entry);
    await this.bounded(() => this.client.set(this.key(agent, key), JSON.stringify(entry), 'PX', this.ttlMs));
  }

  async close(): Promise<void> {
    this.client.disconnect();
    await this.memory.close();
  }
}
