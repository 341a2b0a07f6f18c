/**
 * The fallback cache: the last successful answer per (agent, request key), served when an agent's
 * call fails or its breaker rejects. In memory by default (LRU with a TTL, bounded in entries per
 * agent and in bytes in total); with Redis behind memory when `REDIS_URL` is set (see
 * `redis-cache.ts`).
 *
 * An entry holds the agent's answer as the JSON text it sent, never a parsed object: every reader
 * parses its own copy, so no caller can change what a later fallback returns.
 */

import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/** An agent's analysis: a `phases` array and whatever else the agent returned. */
export interface Analysis {
  phases: unknown[];
  [field: string]: unknown;
}

/** A cached answer: the agent's response body exactly as received, and when it was cached. */
export interface CacheEntry {
  /** The agent's answer, the JSON text it sent. Parse a fresh copy for each use. */
  body: string;
  /** When it was cached (ISO time). */
  cachedAt: string;
}

/** Where fallbacks are kept. `get` never rejects: trouble reads as a miss. */
export interface FallbackCache {
  /** The entry for (agent, key), or undefined. Must answer within the caller's budget. */
  get(agent: string, key: string): Promise<CacheEntry | undefined>;
  /** The entry if it can be had at once, without I/O (a memory tier); optional. */
  peek?(agent: string, key: string): CacheEntry | undefined;
  /** Keeps `body` (an agent's answer) as the fallback for (agent, key); may refuse a large one. Never rejects. */
  set(agent: string, key: string, body: string): Promise<void>;
  /** Releases connections, if any. */
  close(): Promise<void>;
}

/**
 * The default cache key: a SHA-256 (hex) of the request body, the exact JSON text sent to the
 * agent. Inputs that serialize to different text never share an entry; the same object with its
 * keys in another order is another request, and another entry.
 */
export function bodyKey(body: string): string {
  return createHash('sha256').update(body).digest('hex');
}

/** 64 MiB: the default total byte budget of the memory tier. */
export const DEFAULT_CACHE_MAX_BYTES = 64 * 1024 * 1024;
/** 1 MiB: the default largest answer the cache keeps. */
export const DEFAULT_CACHE_MAX_ENTRY_BYTES = 1024 * 1024;

/** Options of the in-memory cache. */
export interface MemoryCacheOptions {
  /** How long an entry lives, in ms; it is gone once more than this has passed. @default 3600000 (1 h) */
  ttlMs?: number;
  /** Most entries kept per agent; the least recently used goes first. @default 1000 */
  maxEntriesPerAgent?: number;
  /** Most bytes kept by all agents together; past it, the agent holding the most bytes loses its least recently used entry. @default 64 MiB */
  maxBytes?: number;
  /** The largest answer (UTF-8 bytes of its body) the cache keeps; a larger one is not cached anywhere. @default 1 MiB */
  maxEntryBytes?: number;
  /** Wall-clock milliseconds (a positive number), replaceable for tests. @default Date.now */
  now?: () => number;
}

/** Bytes an entry is charged: its body's UTF-8 bytes, its key and a fixed overhead. */
function entryBytes(key: string, entry: CacheEntry): number {
  return Buffer.byteLength(entry.body) + key.length + entry.cachedAt.length + 64;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer (got ${String(value)})`);
  }
  return value;
}

/**
 * An in-memory LRU with a TTL (lru-cache, no timers): one LRU per agent, bounded in entries per
 * agent, and a byte budget shared by all agents.
 */
export class MemoryCache implements FallbackCache {
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly maxEntryBytes: number;
  private readonly now: () => number;
  private readonly agents = new Map<string, LRUCache<string, CacheEntry>>();

  constructor(options: MemoryCacheOptions = {}) {
    this.ttlMs = positiveInteger('ttlMs', options.ttlMs ?? 3_600_000);
    this.maxEntries = positiveInteger('maxEntriesPerAgent', options.maxEntriesPerAgent ?? 1000);
    this.maxBytes = positiveInteger('maxBytes', options.maxBytes ?? DEFAULT_CACHE_MAX_BYTES);
    this.maxEntryBytes = positiveInteger('maxEntryBytes', options.maxEntryBytes ?? DEFAULT_CACHE_MAX_ENTRY_BYTES);
    if (this.maxEntryBytes > this.maxBytes) {
      throw new RangeError(`maxEntryBytes (${this.maxEntryBytes}) must not exceed maxBytes (${this.maxBytes})`);
    }
    this.now = options.now ?? Date.now;
  }

  /** Whether an answer of this body is small enough to be cached (in memory and in Redis). */
  accepts(body: string): boolean {
    return body.length <= this.maxEntryBytes && Buffer.byteLength(body) <= this.maxEntryBytes;
  }

  /** The entry, synchronously (the memory tier never waits); marks it most recently used. */
  peek(agent: string, key: string): CacheEntry | undefined {
    return this.agents.get(agent)?.get(key);
  }

  /** Keeps an entry as it is, for `ttlMs` (used to copy entries from Redis with their remaining TTL). */
  put(agent: string, key: string, entry: CacheEntry, ttlMs = this.ttlMs): void {
    if (!this.accepts(entry.body)) return;
    this.lru(agent).set(key, entry, { ttl: Math.max(1, Math.ceil(ttlMs)) });
    this.trim();
  }

  async get(agent: string, key: string): Promise<CacheEntry | undefined> {
    return this.peek(agent, key);
  }

  async set(agent: string, key: string, body: string): Promise<void> {
    this.put(agent, key, { body, cachedAt: new Date(this.now()).toISOString() });
  }

  /** Entries held for `agent` (expired ones included until touched). */
  size(agent: string): number {
    return this.agents.get(agent)?.size ?? 0;
  }

  /** Bytes held by all agents together (as charged against `maxBytes`). */
  bytes(): number {
    let total = 0;
    for (const lru of this.agents.values()) total += lru.calculatedSize;
    return total;
  }

  async close(): Promise<void> {
    this.agents.clear();
  }

  private lru(agent: string): LRUCache<string, CacheEntry> {
    let lru = this.agents.get(agent);
    if (!lru) {
      lru = new LRUCache<string, CacheEntry>({
        max: this.maxEntries,
        maxSize: this.maxBytes,
        sizeCalculation: (entry, key) => entryBytes(key, entry),
        ttl: this.ttlMs,
        ttlAutopurge: false,
        ttlResolution: 0, // read the clock on every check: no debounce timer, exact with a test clock
        perf: { now: this.now },
      });
      this.agents.set(agent, lru);
    }
    return lru;
  }

  /** Evicts, from the agent holding the most bytes, until all agents together fit `maxBytes`. */
  private trim(): void {
    let total = this.bytes();
    while (total > this.maxBytes) {
      let largest: LRUCache<string, CacheEntry> | undefined;
      for (const lru of this.agents.values()) if (!largest || lru.calculatedSize > largest.calculatedSize) largest = lru;
      if (!largest || largest.size === 0) return;
      const before = largest.calculatedSize;
      largest.pop();
      total -= before - largest.calculatedSize;
    }
  }
}
