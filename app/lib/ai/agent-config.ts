/**
 * The agent loop's configuration from the environment: agent URLs, breaker settings, the per-call
 * timeout, the fallback cache's bounds, the Redis URL and fleet mode. An invalid value stops start-up with a
 * message naming the variable.
 */

import { BREAKER_LIMITS, MARKETPLACE_AGENTS, DEFAULT_CONFIG } from 'agent-circuit-breaker';
import { DEFAULT_CACHE_MAX_BYTES, DEFAULT_CACHE_MAX_ENTRY_BYTES } from './fallback-cache';
import { MAX_RESPONSE_BYTES } from './transport';

/** What the agent loop runs with. */
export interface AgentLoopConfig {
  /** Base URL of each agent, by agent id (a Map: any id works, `__proto__` and `constructor` included). */
  urls: ReadonlyMap<string, string>;
  /** `CIRCUIT_FAILURE_THRESHOLD`: consecutive failures that open a breaker. @default 5 */
  failureThreshold: number;
  /** `CIRCUIT_SUCCESS_THRESHOLD`: successful probes that close it. @default 2 */
  successThreshold: number;
  /** `CIRCUIT_OPEN_TIMEOUT_MS`: how long a breaker stays OPEN. @default 60000 */
  openTimeoutMs: number;
  /** `AGENT_TIMEOUT_MS`: the per-call timeout, body included; also the most `options.timeoutMs` may ask. @default 30000 */
  timeoutMs: number;
  /**
   * `CIRCUIT_PROBE_TIMEOUT_MS`: how long a HALF_OPEN probe may run before its breaker reopens.
   * @default timeoutMs + 1000 (a grace for the answer to be judged), at most 86400000
   */
  probeTimeoutMs: number;
  /** Whether `CIRCUIT_PROBE_TIMEOUT_MS` was set (rather than derived from `AGENT_TIMEOUT_MS`). */
  probeTimeoutSet: boolean;
  /** `CIRCUIT_CACHE_MAX_BYTES`: the memory tier's total byte budget. @default 67108864 (64 MiB) */
  cacheMaxBytes: number;
  /** `CIRCUIT_CACHE_MAX_ENTRY_BYTES`: the largest answer cached (memory and Redis). @default 1048576 (1 MiB) */
  cacheMaxEntryBytes: number;
  /** `REDIS_URL`: when set, fallbacks are also kept in Redis, and breaker state is shared (fleet mode). */
  redisUrl?: string;
  /** Fleet mode: `REDIS_URL` is set and `CIRCUIT_SHARED_STATE` is not `off`. */
  sharedState: boolean;
  /** `CIRCUIT_SYNC_INTERVAL_MS`: fleet mode's reconcile period. @default 1000 */
  syncIntervalMs: number;
  /** `CIRCUIT_REDIS_PREFIX`: fleet mode's key and channel prefix. @default 'agent-circuit-breaker:' */
  redisPrefix: string;
}

/** A configuration value that cannot be used; `variable` names the environment variable. */
export class AgentConfigError extends Error {
  readonly code = 'ERR_AGENT_CONFIG';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
    this.name = 'AgentConfigError';
  }
}

/** The environment variable that holds `agentId`'s URL: `AGENT_<ID>_URL`, upper-cased, `-` → `_`. */
export function urlVariable(agentId: string): string {
  return `AGENT_${agentId.toUpperCase().replace(/-/g, '_')}_URL`;
}

/** The most milliseconds any timeout may be: the breaker's own limit, one day (well inside setTimeout's range). */
const MAX_MS = BREAKER_LIMITS.maxDurationMs;
/** Grace added to `AGENT_TIMEOUT_MS` for the default probe timeout. */
const PROBE_GRACE_MS = 1000;

function integer(env: NodeJS.ProcessEnv, name: string, dflt: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return dflt;
  const n = Number(raw.trim());
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new AgentConfigError(name, `${name} must be an integer in ${min}..=${max} (got ${JSON.stringify(raw)})`);
  }
  return n;
}

function httpUrl(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AgentConfigError(name, `${name} must be an http(s) URL (got ${JSON.stringify(raw)})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AgentConfigError(name, `${name} must be an http(s) URL (got ${JSON.stringify(raw)})`);
  }
  return url.toString();
}

/**
 * Reads the configuration of `agents` from `env`. Every agent needs its URL variable; the breaker
 * settings and timeout have the story's defaults, the cache bounds 64 MiB in total and 1 MiB per
 * answer, and the probe timeout `AGENT_TIMEOUT_MS` + 1000 ms.
 */
export function configFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  agents: readonly string[] = MARKETPLACE_AGENTS,
): AgentLoopConfig {
  const urls = agentUrls(env, agents);
  const redis = env.REDIS_URL?.trim();
  if (redis && !/^rediss?:\/\//.test(redis)) {
    throw new AgentConfigError('REDIS_URL', `REDIS_URL must be a redis:// or rediss:// URL (got ${JSON.stringify(redis)})`);
  }
  const timeoutMs = integer(env, 'AGENT_TIMEOUT_MS', 30_000, 1, MAX_MS);
  const probeTimeoutSet = (env.CIRCUIT_PROBE_TIMEOUT_MS ?? '').trim() !== '';
  const probeTimeoutMs = integer(env, 'CIRCUIT_PROBE_TIMEOUT_MS', Math.min(timeoutMs + PROBE_GRACE_MS, MAX_MS), 1, MAX_MS);
  return {
    urls,
    failureThreshold: integer(env, 'CIRCUIT_FAILURE_THRESHOLD', DEFAULT_CONFIG.failureThreshold, 1, BREAKER_LIMITS.maxThreshold),
    successThreshold: integer(env, 'CIRCUIT_SUCCESS_THRESHOLD', DEFAULT_CONFIG.successThreshold, 1, BREAKER_LIMITS.maxThreshold),
    openTimeoutMs: integer(env, 'CIRCUIT_OPEN_TIMEOUT_MS', DEFAULT_CONFIG.openTimeoutMs, 1, MAX_MS),
    timeoutMs,
    probeTimeoutMs,
    probeTimeoutSet,
    ...cacheBounds(env),
    redisUrl: redis || undefined,
    ...fleetSettings(env, Boolean(redis)),
  };
}

/** Fleet mode's settings: on with `REDIS_URL` unless `CIRCUIT_SHARED_STATE=off`. */
function fleetSettings(env: NodeJS.ProcessEnv, haveRedis: boolean): { sharedState: boolean; syncIntervalMs: number; redisPrefix: string } {
  const shared = (env.CIRCUIT_SHARED_STATE ?? '').trim().toLowerCase();
  if (shared !== '' && shared !== 'on' && shared !== 'off') {
    throw new AgentConfigError('CIRCUIT_SHARED_STATE', `CIRCUIT_SHARED_STATE must be on or off (got ${JSON.stringify(env.CIRCUIT_SHARED_STATE)})`);
  }
  const redisPrefix = env.CIRCUIT_REDIS_PREFIX ?? 'agent-circuit-breaker:';
  if (/[{}]/.test(redisPrefix) || redisPrefix.length > 200) {
    throw new AgentConfigError('CIRCUIT_REDIS_PREFIX', `CIRCUIT_REDIS_PREFIX must be at most 200 characters, without braces (got ${JSON.stringify(redisPrefix)})`);
  }
  return {
    sharedState: haveRedis && shared !== 'off',
    syncIntervalMs: integer(env, 'CIRCUIT_SYNC_INTERVAL_MS', 1000, 50, 600_000),
    redisPrefix,
  };
}

/** Every agent's URL, from its `AGENT_<ID>_URL`; all of them are required. */
function agentUrls(env: NodeJS.ProcessEnv, agents: readonly string[]): Map<string, string> {
  const urls = new Map<string, string>();
  const missing: string[] = [];
  for (const agent of agents) {
    const name = urlVariable(agent);
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') missing.push(name);
    else urls.set(agent, httpUrl(name, raw.trim()));
  }
  if (missing.length > 0) {
    throw new AgentConfigError(missing[0], `set the agent URL variables: ${missing.join(', ')} (each an http(s) URL)`);
  }
  return urls;
}

/** The cache's byte budget and per-entry cap; the cap may not exceed the budget nor the largest answer read. */
function cacheBounds(env: NodeJS.ProcessEnv): { cacheMaxBytes: number; cacheMaxEntryBytes: number } {
  const cacheMaxBytes = integer(env, 'CIRCUIT_CACHE_MAX_BYTES', DEFAULT_CACHE_MAX_BYTES, 1024, 2 ** 40);
  const cap = Math.min(DEFAULT_CACHE_MAX_ENTRY_BYTES, cacheMaxBytes);
  const cacheMaxEntryBytes = integer(env, 'CIRCUIT_CACHE_MAX_ENTRY_BYTES', cap, 1, Math.min(MAX_RESPONSE_BYTES, cacheMaxBytes));
  return { cacheMaxBytes, cacheMaxEntryBytes };
}
