/**
 * The agent loop: calls the marketplace AI agents, each behind its own circuit breaker, and answers
 * with the agent's analysis, or with a fallback (the last good analysis for the same input, else an
 * empty one) when the agent fails or its breaker is open. Only caller mistakes reject.
 */

import { AgentCircuitBreaker, type BreakerStatus, type FailureReason, type ManualClock } from 'agent-circuit-breaker';
import { configFromEnv, MARKETPLACE_AGENTS, type AgentLoopConfig } from './agent-config';
import { bodyKey, MemoryCache, type Analysis, type CacheEntry, type FallbackCache } from './fallback-cache';
import { RedisCache } from './redis-cache';
import { httpTransport, type AgentResponse, type Transport } from './transport';

/** Why a fallback was served: the breaker rejected the call, or how the call failed. */
export type FallbackReason = 'circuit_open' | Exclude<FailureReason, 'error'>;

/** The agent's own analysis. */
export type AgentAnalysis = Analysis & { fallback: false; cached: false };
/** A fallback: the cached analysis (`cached: true`) or `{ phases: [] }`. */
export type AgentFallback = Analysis & {
  fallback: true;
  fallbackReason: FallbackReason;
  cached: boolean;
  cachedAt?: string;
};
/** What `callAgent` resolves to. */
export type AgentResult = AgentAnalysis | AgentFallback;

/** One agent's entry in `runAgentLoop`'s answer. */
export type AgentLoopEntry =
  | { agent: string; result: AgentResult }
  | { agent: string; error: { code: string; message: string; status?: number } };

/** Options of one call. */
export interface CallOptions {
  /** Aborts the call; `callAgent` then rejects with `ERR_ABORTED` (the reason as `cause`) and nothing is counted. */
  signal?: AbortSignal;
  /** This call's timeout in ms: an integer in 1..=the loop's `AGENT_TIMEOUT_MS`. @default `AGENT_TIMEOUT_MS` */
  timeoutMs?: number;
}

/** The fields `callAgent` sets on every result; an agent's own fields of these names are dropped. */
const WRAPPER_FIELDS = ['fallback', 'fallbackReason', 'cached', 'cachedAt'] as const;

/** One structured log line at a time. */
export interface Logger {
  info(line: Record<string, unknown>): void;
  warn(line: Record<string, unknown>): void;
}

/** The default logger: one JSON line per event on the console. */
export const consoleLogger: Logger = {
  info: (line) => console.log(JSON.stringify(line)),
  warn: (line) => console.warn(JSON.stringify(line)),
};

/** Options of an agent loop; everything has a default. */
export interface AgentLoopOptions {
  /** Where the configuration is read from. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** The agents. @default the five marketplace agents */
  agents?: readonly string[];
  /** How requests are sent. @default node:http(s) */
  transport?: Transport;
  /** Where fallbacks are kept. @default Redis behind memory if REDIS_URL is set, else memory */
  cache?: FallbackCache;
  /** A manual clock for the breakers, for tests. */
  clock?: ManualClock;
  /** Where transitions and trouble are logged. @default consoleLogger */
  logger?: Logger;
  /**
   * The cache key of an input. @default `bodyKey`: a SHA-256 of the request body, the exact JSON
   * text sent (so key order matters: `{a,b}` and `{b,a}` are two entries)
   */
  keyOf?: (input: unknown) => string;
  /** Whether an HTTP status (not 2xx) counts against the agent. @default all but a 4xx other than 429 */
  countsAgainstAgent?: (status: number) => boolean;
  /** The most a fallback waits on the cache, in ms. @default 50 */
  cacheBudgetMs?: number;
}

/** The failure of a request that got no answer: the size cap is the agent's fault (`invalid_response`), the rest `network`. */
function unreachable(agentId: string, error: unknown): AgentCallError {
  if ((error as { code?: unknown })?.code === 'ERR_RESPONSE_TOO_LARGE') {
    return new AgentCallError(`agent "${agentId}" answered too much: ${(error as Error).message}`, 'invalid_response', true);
  }
  const cause = (error as { cause?: { code?: string } })?.cause?.code ?? (error instanceof Error ? error.message : 'unknown error');
  return new AgentCallError(`agent "${agentId}" could not be reached: ${cause}`, 'network', true);
}

/** A call that did not produce an analysis; `countsAgainstAgent` says whether the breaker counts it. */
export class AgentCallError extends Error {
  constructor(
    message: string,
    readonly reason: Exclude<FailureReason, 'error'>,
    readonly countsAgainstAgent: boolean,
    readonly publicError?: unknown,
  ) {
    super(message);
    this.name = 'AgentCallError';
  }
}

/**
 * The agent refused the request itself (a 4xx other than 429): the caller's problem. The message
 * does not carry the agent's body (it may reach API clients); the loop logs it instead.
 */
export class AgentRequestError extends Error {
  readonly code = 'ERR_AGENT_REQUEST';
  constructor(
    readonly agent: string,
    readonly status: number,
  ) {
    super(`agent "${agent}" refused the request with HTTP ${status}`);
    this.name = 'AgentRequestError';
  }
}

/** A call option that cannot be used: the message names the value and what is allowed. */
export class AgentArgumentError extends Error {
  readonly code = 'ERR_INVALID_ARG';
  constructor(message: string) {
    super(message);
    this.name = 'AgentArgumentError';
  }
}

/** The caller's signal aborted the call; `cause` is the signal's reason, whatever it is. */
export class AgentAbortError extends Error {
  readonly code = 'ERR_ABORTED';
  constructor(agent: string, reason: unknown) {
    const why = reason instanceof Error ? `: ${reason.message}` : '';
    super(`the call to agent "${agent}" was aborted by the caller${why}`, { cause: reason });
    this.name = 'AbortError';
  }
}

/** The input cannot be sent (not serializable as JSON). */
export class AgentInputError extends Error {
  readonly code = 'ERR_INVALID_INPUT';
  constructor(message: string) {
    super(message);
    this.name = 'AgentInputError';
  }
}

/** Only a 4xx other than 429 is the caller's mistake; 3xx, 429, 5xx and anything else count. */
const defaultCounts = (status: number) => status < 400 || status >= 500 || status === 429;

/** Most characters of a refused request's body written to the log. */
const LOGGED_BODY_CHARS = 200;

function serialize(input: unknown): string {
  let body: string | undefined;
  try {
    body = JSON.stringify(input);
  } catch (error) {
    throw new AgentInputError(`the input cannot be serialized as JSON: ${(error as Error).message}`);
  }
  if (body === undefined) throw new AgentInputError('the input cannot be serialized as JSON: it is undefined or a function');
  return body;
}

/** A value as an error message shows it: numbers as written (NaN, Infinity), strings quoted. */
function shown(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  return value === null ? 'null' : typeof value;
}

/** A call's options, checked: the timeout to use and the caller's signal, if any. */
function checkOptions(options: unknown, maxTimeoutMs: number): { timeoutMs: number; signal?: AbortSignal } {
  if (options === undefined) return { timeoutMs: maxTimeoutMs };
  if (options === null || typeof options !== 'object') {
    throw new AgentArgumentError(`options must be an object (got ${shown(options)})`);
  }
  const { timeoutMs = maxTimeoutMs, signal } = options as CallOptions;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > maxTimeoutMs) {
    throw new AgentArgumentError(
      `options.timeoutMs must be an integer in 1..=${maxTimeoutMs} (the loop's AGENT_TIMEOUT_MS) (got ${shown(timeoutMs)})`,
    );
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new AgentArgumentError(`options.signal must be an AbortSignal (got ${shown(signal)})`);
  }
  return { timeoutMs, signal };
}

/** The agent's answer parsed afresh, if it is an analysis (a JSON object with a `phases` array). */
function parseAnalysis(body: string): Analysis | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || !Array.isArray((parsed as Analysis).phases)) return undefined;
  return parsed as Analysis;
}

/** `analysis` (a fresh parse, owned by this call) with the wrapper's fields, the agent's own of those names dropped. */
function wrap<T extends object>(analysis: Analysis, fields: T): Analysis & T {
  for (const field of WRAPPER_FIELDS) if (Object.hasOwn(analysis, field)) delete analysis[field];
  return Object.assign(analysis, fields);
}

/** Resolves to undefined after `ms` unless cancelled; never keeps the process alive. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ms, undefined);
    timer.unref();
  });
  return Promise.race([promise.catch(() => undefined), late]).finally(() => clearTimeout(timer));
}

/** Calls agents behind per-agent circuit breakers, with fallbacks. */
export class AgentLoop {
  /** The breakers, one per agent. */
  readonly breakers: AgentCircuitBreaker;
  /** The fallback cache. */
  readonly cache: FallbackCache;
  /** The configuration in force. */
  readonly config: AgentLoopConfig;
  private readonly transport: Transport;
  private readonly logger: Logger;
  private readonly keyOf?: (input: unknown) => string;
  private readonly counts: (status: number) => boolean;
  private readonly cacheBudgetMs: number;
  private readonly served = new Map<string, { cached: number; empty: number }>();

  constructor(options: AgentLoopOptions = {}) {
    const agents = options.agents ?? MARKETPLACE_AGENTS;
    this.config = configFromEnv(options.env ?? process.env, agents);
    this.transport = options.transport ?? httpTransport;
    this.logger = options.logger ?? consoleLogger;
    this.keyOf = options.keyOf;
    this.counts = options.countsAgainstAgent ?? defaultCounts;
    this.cacheBudgetMs = options.cacheBudgetMs ?? 50;
    this.cache = options.cache ?? this.defaultCache();
    this.breakers = new AgentCircuitBreaker({
      agents,
      clock: options.clock,
      defaults: {
        failureThreshold: this.config.failureThreshold,
        successThreshold: this.config.successThreshold,
        openTimeoutMs: this.config.openTimeoutMs,
        probeTimeoutMs: this.config.probeTimeoutMs,
      },
      classifyError: (e) => (e instanceof AgentCallError ? (e.countsAgainstAgent ? e.reason : null) : 'error'),
      onTransition: (e) =>
        this.logger.info({
          msg: 'circuit_transition',
          agent: e.agent,
          from: e.from,
          to: e.to,
          reason: e.reason,
          consecutiveFailures: e.consecutiveFailures,
          at: this.wallTime(e.atMs),
        }),
    });
    for (const agent of agents) this.served.set(agent, { cached: 0, empty: 0 });
    this.checkProbeTimeout();
  }

  /**
   * The wall-clock ISO time of a reading of the breakers' clock: a transition is dated when it
   * happened (OPEN → HALF_OPEN at the end of the open timeout), not when it was observed.
   */
  private wallTime(clockMs: number): string {
    return new Date(Date.now() - (this.breakers.nowMs() - clockMs)).toISOString();
  }

  /** One start-up warning when a probe answering within the call timeout would be cut short. */
  private checkProbeTimeout(): void {
    const { probeTimeoutSet, probeTimeoutMs, timeoutMs } = this.config;
    if (!probeTimeoutSet || probeTimeoutMs >= timeoutMs) return;
    this.log('warn', {
      msg: 'circuit_config_cannot_recover',
      CIRCUIT_PROBE_TIMEOUT_MS: probeTimeoutMs,
      AGENT_TIMEOUT_MS: timeoutMs,
      detail:
        'CIRCUIT_PROBE_TIMEOUT_MS is below AGENT_TIMEOUT_MS: a HALF_OPEN probe answering between the two reopens the breaker ' +
        'and its success is discarded; set CIRCUIT_PROBE_TIMEOUT_MS >= AGENT_TIMEOUT_MS (or unset it for AGENT_TIMEOUT_MS + 1000)',
    });
  }

  /** Redis behind memory if `REDIS_URL` is set, else memory; bounded by the configured bytes. */
  private defaultCache(): FallbackCache {
    const bounds = { maxBytes: this.config.cacheMaxBytes, maxEntryBytes: this.config.cacheMaxEntryBytes };
    if (!this.config.redisUrl) return new MemoryCache(bounds);
    const onError = (e: Error) => this.warn('redis_unavailable', e);
    return new RedisCache({ ...bounds, url: this.config.redisUrl, budgetMs: this.cacheBudgetMs, onError });
  }

  /**
   * Calls `agentId` with `input`. Resolves to the agent's analysis (`fallback: false`) or to a
   * fallback (`fallback: true`, with `fallbackReason` and `cached`). Rejects only for caller
   * mistakes: an unknown agent, an input that is not JSON, bad options (`ERR_INVALID_ARG`), a 4xx
   * answer other than 429, or an abort by `options.signal` (`ERR_ABORTED`); none of them counts.
   */
  async callAgent(agentId: string, input: unknown, options?: CallOptions): Promise<AgentResult> {
    const breaker = this.breakers.get(agentId);
    const body = serialize(input);
    const call = checkOptions(options, this.config.timeoutMs);
    if (call.signal?.aborted) throw new AgentAbortError(agentId, call.signal.reason);
    const key = this.cacheKey(input, body);
    let rejected = false;
    let answer: { analysis: Analysis; body: string } | undefined;
    try {
      answer = await breaker.execute(
        () => this.attempt(agentId, body, call),
        () => {
          rejected = true;
          return undefined;
        },
      );
    } catch (error) {
      if (error instanceof AgentCallError) {
        if (error.countsAgainstAgent) return this.fallback(agentId, key, error.reason);
        throw error.publicError ?? error;
      }
      throw error;
    }
    if (rejected || answer === undefined) return this.fallback(agentId, key, 'circuit_open');
    if (key !== undefined) void this.cache.set(agentId, key, answer.body).catch(() => undefined);
    return wrap(answer.analysis, { fallback: false as const, cached: false as const });
  }

  /** One request, bounded by the timeout and the caller's signal; resolves only to a valid analysis and its body. */
  private async attempt(
    agentId: string,
    body: string,
    { timeoutMs, signal: caller }: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<{ analysis: Analysis; body: string }> {
    const callerAbort = () => new AgentCallError('aborted by the caller', 'network', false, new AgentAbortError(agentId, caller?.reason));
    if (caller?.aborted) throw callerAbort();
    const controller = new AbortController();
    const abort = (reason: unknown) => controller.abort(reason);
    const timer = setTimeout(() => {
      abort(new AgentCallError(`agent "${agentId}" did not answer within ${timeoutMs} ms`, 'timeout', true));
    }, timeoutMs);
    const onCallerAbort = () => abort(callerAbort());
    caller?.addEventListener('abort', onCallerAbort, { once: true });
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    aborted.catch(() => undefined);
    let response: AgentResponse;
    try {
      const request = this.transport({ agentId, url: this.urlOf(agentId), body, signal: controller.signal });
      response = await Promise.race([request, aborted]);
    } catch (error) {
      if (controller.signal.aborted) throw controller.signal.reason;
      throw unreachable(agentId, error);
    } finally {
      clearTimeout(timer);
      caller?.removeEventListener('abort', onCallerAbort);
    }
    return { analysis: this.judge(agentId, response), body: response.body };
  }

  private urlOf(agentId: string): string {
    const url = this.config.urls.get(agentId);
    if (url === undefined) throw new AgentCallError(`agent "${agentId}" has no URL configured`, 'network', true);
    return url;
  }

  /** Turns an HTTP answer into an analysis, or the failure it is. */
  private judge(agentId: string, { status, body }: AgentResponse): Analysis {
    if (status < 200 || status > 299) {
      if (!this.counts(status)) {
        this.log('warn', { msg: 'agent_request_refused', agent: agentId, status, body: body.slice(0, LOGGED_BODY_CHARS) });
        throw new AgentCallError(`HTTP ${status}`, 'invalid_response', false, new AgentRequestError(agentId, status));
      }
      const reason = status === 429 ? 'rate_limited' : status >= 500 ? 'http_5xx' : 'invalid_response';
      throw new AgentCallError(`agent "${agentId}" answered HTTP ${status}`, reason, true);
    }
    const analysis = parseAnalysis(body);
    if (!analysis) throw new AgentCallError(`agent "${agentId}" answered without a JSON object with a phases array`, 'invalid_response', true);
    return analysis;
  }

  /** The fallback for (agent, key): the cached analysis if the cache answers in time, else `{ phases: [] }`. */
  private async fallback(agentId: string, key: string | undefined, reason: FallbackReason): Promise<AgentFallback> {
    let entry: CacheEntry | undefined;
    if (key !== undefined) {
      entry = this.cache.peek?.(agentId, key) ?? (await within(this.cache.get(agentId, key), this.cacheBudgetMs));
    }
    const analysis = entry && parseAnalysis(entry.body);
    const served = this.served.get(agentId);
    if (entry && analysis) {
      if (served) served.cached++;
      return wrap(analysis, { fallback: true as const, fallbackReason: reason, cached: true, cachedAt: entry.cachedAt });
    }
    if (served) served.empty++;
    return { phases: [], fallback: true, fallbackReason: reason, cached: false };
  }

  /** The cache key: `keyOf(input)` if given (undefined if it throws), else the SHA-256 of the body sent. */
  private cacheKey(input: unknown, body: string): string | undefined {
    return this.keyOf ? this.safeKey(this.keyOf, input) : bodyKey(body);
  }

  private safeKey(keyOf: (input: unknown) => string, input: unknown): string | undefined {
    try {
      return keyOf(input);
    } catch (error) {
      this.warn('cache_key_failed', error);
      return undefined;
    }
  }

  private warn(msg: string, error: unknown): void {
    this.log('warn', { msg, error: error instanceof Error ? error.message : typeof error });
  }

  /** Writes one line with its `at`; a logger that throws must not break a call. */
  private log(level: keyof Logger, line: Record<string, unknown>): void {
    try {
      this.logger[level]({ ...line, at: new Date().toISOString() });
    } catch {
      // ignored: see above
    }
  }

  /** Calls every agent (or `agentIds`) in parallel; one entry each, and one failing agent never fails the loop. */
  async runAgentLoop(input: unknown, agentIds: readonly string[] = this.breakers.agents()): Promise<AgentLoopEntry[]> {
    for (const id of agentIds) this.breakers.get(id); // unknown ids are the caller's mistake: reject at once
    serialize(input);
    return Promise.all(
      agentIds.map((agent) =>
        this.callAgent(agent, input).then(
          (result): AgentLoopEntry => ({ agent, result }),
          (e: { code?: string; message?: string; status?: number }): AgentLoopEntry => ({
            agent,
            error: { code: e?.code ?? 'ERR_AGENT', message: e?.message ?? 'unknown error', status: e?.status },
          }),
        ),
      ),
    );
  }

  /** The breaker status of one agent. */
  getCircuitBreakerStatus(agentId: string): BreakerStatus {
    return this.breakers.status(agentId);
  }

  /** The breaker status of every agent. */
  getAllCircuitBreakerStatus(): BreakerStatus[] {
    return this.breakers.statusAll();
  }

  /** Fallbacks served to callers of `agentId`, from the cache and empty. */
  fallbacksServed(agentId: string): { cached: number; empty: number } {
    return { ...(this.served.get(agentId) ?? { cached: 0, empty: 0 }) };
  }

  /** Closes the cache's connections. */
  async close(): Promise<void> {
    await this.cache.close();
  }
}

const GLOBAL = Symbol.for('agent-circuit-breaker.agent-loop');
type Holder = { [GLOBAL]?: AgentLoop };

/**
 * The process's agent loop, created on first use from `process.env` and kept on `globalThis`, so
 * that it survives Next.js dev reloads and is created once per server process.
 */
export function getAgentLoop(): AgentLoop {
  const holder = globalThis as Holder;
  return (holder[GLOBAL] ??= new AgentLoop());
}

/** Replaces the process's agent loop (closing the old one); for tests and custom set-ups. */
export async function configureAgentLoop(options: AgentLoopOptions = {}): Promise<AgentLoop> {
  const holder = globalThis as Holder;
  const old = holder[GLOBAL];
  holder[GLOBAL] = new AgentLoop(options);
  await old?.close();
  return holder[GLOBAL];
}

/** Calls one agent through the process's agent loop; see `AgentLoop#callAgent`. */
export function callAgent(agentId: string, input: unknown, options?: CallOptions): Promise<AgentResult> {
  return getAgentLoop().callAgent(agentId, input, options);
}

/** Calls every agent through the process's agent loop; see `AgentLoop#runAgentLoop`. */
export function runAgentLoop(input: unknown, agentIds?: readonly string[]): Promise<AgentLoopEntry[]> {
  return getAgentLoop().runAgentLoop(input, agentIds);
}

/** The breaker status of one agent in the process's agent loop. */
export function getCircuitBreakerStatus(agentId: string): BreakerStatus {
  return getAgentLoop().getCircuitBreakerStatus(agentId);
}

/** The breaker status of every agent in the process's agent loop. */
export function getAllCircuitBreakerStatus(): BreakerStatus[] {
  return getAgentLoop().getAllCircuitBreakerStatus();
}
