/** What the agent loop takes and gives: its options, a call's options, its results and its logger. */

import type { FailureReason, ManualClock } from 'agent-circuit-breaker';
import type { Analysis, FallbackCache } from './fallback-cache';
import type { Transport } from './transport';

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

/** One structured log line at a time. */
export interface Logger {
  info(line: Record<string, unknown>): void;
  warn(line: Record<string, unknown>): void;
}

/** Options of an agent loop; everything has a default. */
export interface AgentLoopOptions {
  /** Where the configuration is read from. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** The agents. @default `MARKETPLACE_AGENTS`, the package's five marketplace agents */
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
