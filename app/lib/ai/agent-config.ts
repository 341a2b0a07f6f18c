/**
 * The agent loop's configuration from the environment: agent URLs, breaker settings, the per-call
 * timeout and the Redis URL. An invalid value stops start-up with a message naming the variable.
 */

/** The five marketplace agents. */
export const MARKETPLACE_AGENTS = ['amazon', 'mercadolivre', 'shopee', 'shein', 'tiktok-shop'] as const;

/** What the agent loop runs with. */
export interface AgentLoopConfig {
  /** Base URL of each agent, by agent id. */
  urls: Record<string, string>;
  /** `CIRCUIT_FAILURE_THRESHOLD`: consecutive failures that open a breaker. @default 5 */
  failureThreshold: number;
  /** `CIRCUIT_SUCCESS_THRESHOLD`: successful probes that close it. @default 2 */
  successThreshold: number;
  /** `CIRCUIT_OPEN_TIMEOUT_MS`: how long a breaker stays OPEN. @default 60000 */
  openTimeoutMs: number;
  /** `AGENT_TIMEOUT_MS`: the per-call timeout, body included. @default 30000 */
  timeoutMs: number;
  /** `REDIS_URL`: when set, fallbacks are also kept in Redis. */
  redisUrl?: string;
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
 * settings and timeout have the story's defaults.
 */
export function configFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  agents: readonly string[] = MARKETPLACE_AGENTS,
): AgentLoopConfig {
  const urls: Record<string, string> = {};
  const missing: string[] = [];
  for (const agent of agents) {
    const name = urlVariable(agent);
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') missing.push(name);
    else urls[agent] = httpUrl(name, raw.trim());
  }
  if (missing.length > 0) {
    throw new AgentConfigError(missing[0], `set the agent URL variables: ${missing.join(', ')} (each an http(s) URL)`);
  }
  const redis = env.REDIS_URL?.trim();
  if (redis && !/^rediss?:\/\//.test(redis)) {
    throw new AgentConfigError('REDIS_URL', `REDIS_URL must be a redis:// or rediss:// URL (got ${JSON.stringify(redis)})`);
  }
  return {
    urls,
    failureThreshold: integer(env, 'CIRCUIT_FAILURE_THRESHOLD', 5, 1, 10_000),
    successThreshold: integer(env, 'CIRCUIT_SUCCESS_THRESHOLD', 2, 1, 10_000),
    openTimeoutMs: integer(env, 'CIRCUIT_OPEN_TIMEOUT_MS', 60_000, 1, 86_400_000),
    timeoutMs: integer(env, 'AGENT_TIMEOUT_MS', 30_000, 1, 86_400_000),
    redisUrl: redis || undefined,
  };
}
