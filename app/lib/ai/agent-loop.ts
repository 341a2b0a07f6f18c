/**
 * The agent loop: calls the marketplace AI agents, each behind its own circuit breaker, and answers
 * with the agent's analysis, or with a fallback (the last good analysis for the same input, else an
 * empty one) when the agent fails or its breaker is open. Only caller mistakes reject.
 *
 * Its parts: `agent-types.ts` (options and results), `agent-errors.ts`, `agent-input.ts` (checking
 * the caller's input and options), `agent-http.ts` (the request and judging its answer) and
 * `agent-fallback.ts` (building results); their public names are re-exported here.
 */

import {
  AgentCircuitBreaker,
  MARKETPLACE_AGENTS,
  type BreakerStatus,
  type CircuitBreaker,
  type ManualClock,
} from 'agent-circuit-breaker';
import { configFromEnv, type AgentLoopConfig } from './agent-config';
import { AgentAbortError, AgentCallError } from './agent-errors';
import { analysisResult, fallbackFrom } from './agent-fallback';
import { defaultCounts, judge, send } from './agent-http';
import { checkOptions, serialize, type CheckedCall } from './agent-input';
import type { AgentFallback, AgentLoopEntry, AgentLoopOptions, AgentResult, CallOptions, FallbackReason, Logger } from './agent-types';
import { within } from './deadline';
import { bodyKey, MemoryCache, type Analysis, type CacheEntry, type FallbackCache } from './fallback-cache';
import { RedisCache } from './redis-cache';
import { attachFleet, type FleetSync } from 'agent-circuit-breaker/fleet';
import { httpTransport, type Transport } from './transport';

export {
  AgentAbortError,
  AgentArgumentError,
  AgentCallError,
  AgentInputError,
  AgentRequestError,
} from './agent-errors';
export type {
  AgentAnalysis,
  AgentFallback,
  AgentLoopEntry,
  AgentLoopOptions,
  AgentResult,
  CallOptions,
  FallbackReason,
  Logger,
} from './agent-types';

/** The default logger: one JSON line per event on the console. */
export const consoleLogger: Logger = {
  info: (line) => console.log(JSON.stringify(line)),
  warn: (line) => console.warn(JSON.stringify(line)),
};

/** A valid analysis and the body it was parsed from (the body is what the cache keeps). */
type Answer = { analysis: Analysis; body: string };

/** Calls agents behind per-agent circuit breakers, with fallbacks. */
export class AgentLoop {
  /** The breakers, one per agent. */
  readonly breakers: AgentCircuitBreaker;
  /** Fleet mode's link (breaker state shared through Redis), when on. */
  readonly fleet?: FleetSync;
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
    this.breakers = this.createBreakers(agents, options.clock);
    this.fleet = this.config.sharedState ? this.attachFleet() : undefined;
    for (const agent of agents) this.served.set(agent, { cached: 0, empty: 0 });
    this.checkProbeTimeout();
  }

  /** One breaker per agent, with the configured thresholds; transitions are logged. */
  private createBreakers(agents: readonly string[], clock: ManualClock | undefined): AgentCircuitBreaker {
    return new AgentCircuitBreaker({
      agents,
      clock,
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

  /** Fleet mode: the breakers share transitions with every instance on the same Redis and prefix. */
  private attachFleet(): FleetSync {
    const { redisUrl, redisPrefix, syncIntervalMs } = this.config;
    return attachFleet(this.breakers, { redis: redisUrl!, prefix: redisPrefix, syncIntervalMs });
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
    const outcome = await this.throughBreaker(breaker, agentId, body, call);
    if (typeof outcome === 'string') return this.fallback(agentId, key, outcome);
    if (key !== undefined) void this.cache.set(agentId, key, outcome.body).catch(() => undefined);
    return analysisResult(outcome.analysis);
  }

  /**
   * One attempt through the agent's breaker: the agent's answer, or why a fallback is due (the
   * breaker rejected the call, or a counted failure). A failure that does not count rejects.
   */
  private async throughBreaker(
    breaker: CircuitBreaker,
    agentId: string,
    body: string,
    call: CheckedCall,
  ): Promise<Answer | FallbackReason> {
    try {
      const answer = await breaker.execute(
        () => this.attempt(agentId, body, call),
        () => undefined,
      );
      return answer ?? 'circuit_open';
    } catch (error) {
      if (!(error instanceof AgentCallError)) throw error;
      if (error.countsAgainstAgent) return error.reason;
      throw error.publicError ?? error;
    }
  }

  /** One request, bounded by the timeout and the caller's signal; resolves only to a valid analysis and its body. */
  private async attempt(agentId: string, body: string, call: CheckedCall): Promise<Answer> {
    const response = await send(this.transport, { agentId, url: () => this.urlOf(agentId), body }, call);
    const analysis = judge(agentId, response, this.counts, (line) => this.log('warn', line));
    return { analysis, body: response.body };
  }

  /** The agent's configured URL; none is a counted `network` failure. */
  private urlOf(agentId: string): string {
    const url = this.config.urls.get(agentId);
    if (url === undefined) throw new AgentCallError(`agent "${agentId}" has no URL configured`, 'network', true);
    return url;
  }

  /** The fallback for (agent, key): the cached analysis if the cache answers in time, else `{ phases: [] }`. */
  private async fallback(agentId: string, key: string | undefined, reason: FallbackReason): Promise<AgentFallback> {
    let entry: CacheEntry | undefined;
    if (key !== undefined) {
      entry = this.cache.peek?.(agentId, key) ?? (await within(this.cache.get(agentId, key), this.cacheBudgetMs));
    }
    const result = fallbackFrom(entry, reason);
    const served = this.served.get(agentId);
    if (served) served[result.cached ? 'cached' : 'empty']++;
    return result;
  }

  /** The cache key: `keyOf(input)` if given (undefined if it throws), else the SHA-256 of the body sent. */
  private cacheKey(input: unknown, body: string): string | undefined {
    return this.keyOf ? this.safeKey(this.keyOf, input) : bodyKey(body);
  }

  /** `keyOf(input)`, or undefined (with a warning) if it throws. */
  private safeKey(keyOf: (input: unknown) => string, input: unknown): string | undefined {
    try {
      return keyOf(input);
    } catch (error) {
      this.warn('cache_key_failed', error);
      return undefined;
    }
  }

  /** Logs `msg` as a warning with the error's message. */
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
    await Promise.all([this.cache.close(), this.fleet?.close()]);
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
