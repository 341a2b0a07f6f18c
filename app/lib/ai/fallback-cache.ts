/**
 * The fallback cache: the last successful analysis per (agent, input key), served when an agent's
 * call fails or its breaker rejects. In memory by default (LRU, TTL); with Redis in front of
 * memory's back when `REDIS_URL` is set (see `redis-cache.ts`).
 */

import { createHash } from 'node:crypto';

/** An agent's analysis: a `phases` array and whatever else the agent returned. */
export interface Analysis {
  phases: unknown[];
  [field: string]: unknown;
}

/** A cached analysis and when it was cached (ISO time). */
export interface CacheEntry {
  analysis: Analysis;
  cachedAt: string;
}

/** Where fallbacks are kept. `get` never rejects: trouble reads as a miss. */
export interface FallbackCache {
  /** The entry for (agent, key), or undefined. Must answer within the caller's budget. */
  get(agent: string, key: string): Promise<CacheEntry | undefined>;
  /** The entry if it can be had at once, without I/O (a memory tier); optional. */
  peek?(agent: string, key: string): CacheEntry | undefined;
  /** Keeps `analysis` as the fallback for (agent, key). Never rejects. */
  set(agent: string, key: string, analysis: Analysis): Promise<void>;
  /** Releases connections, if any. */
  close(): Promise<void>;
}

/** The default key: SHA-256 of the input's JSON with object keys sorted, so key order does not matter. */
export function inputKey(input: unknown): string {
  return createHash('sha256').update(stableJson(input)).digest('hex').slice(0, 32);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => stableJson(v === undefined ? null : v)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined && typeof obj[k] !== 'function')
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Options of the in-memory cache. */
export interface MemoryCacheOptions {
  /** How long an entry lives, in ms. @default 3600000 (1 h) */
  ttlMs?: number;
  /** Most entries kept per agent; the least recently used goes first. @default 1000 */
  maxEntriesPerAgent?: number;
  /** Wall-clock milliseconds, replaceable for tests. @default Date.now */
  now?: () => number;
}

/** An in-memory LRU with a TTL, bounded per agent. */
export class MemoryCache implements FallbackCache {
  private readonly ttlMs: number;
  private readonly max: number;
  private readonly now: () => number;
  private readonly agents = new Map<string, Map<string, { entry: CacheEntry; expires: number }>>();

  constructor(options: MemoryCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 3_600_000;
    this.max = options.maxEntriesPerAgent ?? 1000;
    this.now = options.now ?? Date.now;
    if (!Number.isInteger(this.ttlMs) || this.ttlMs < 1) throw new RangeError(`ttlMs must be a positive integer (got ${this.ttlMs})`);
    if (!Number.isInteger(this.max) || this.max < 1) {
      throw new RangeError(`maxEntriesPerAgent must be a positive integer (got ${this.max})`);
    }
  }

  /** The entry, synchronously (the memory tier never waits). */
  peek(agent: string, key: string): CacheEntry | undefined {
    const entries = this.agents.get(agent);
    const hit = entries?.get(key);
    if (!entries || !hit) return undefined;
    entries.delete(key);
    if (hit.expires <= this.now()) return undefined;
    entries.set(key, hit); // most recently used last
    return hit.entry;
  }

  /** Keeps an entry as it is (used to copy entries from Redis). */
  put(agent: string, key: string, entry: CacheEntry, ttlMs = this.ttlMs): void {
    let entries = this.agents.get(agent);
    if (!entries) this.agents.set(agent, (entries = new Map()));
    entries.delete(key);
    entries.set(key, { entry, expires: this.now() + ttlMs });
    if (entries.size > this.max) entries.delete(entries.keys().next().value as string);
  }

  async get(agent: string, key: string): Promise<CacheEntry | undefined> {
    return this.peek(agent, key);
  }

  async set(agent: string, key: string, analysis: Analysis): Promise<void> {
    this.put(agent, key, { analysis, cachedAt: new Date(this.now()).toISOString() });
  }

  /** Entries held for `agent` (expired ones included until touched). */
  size(agent: string): number {
    return this.agents.get(agent)?.size ?? 0;
  }

  async close(): Promise<void> {
    this.agents.clear();
  }
}
