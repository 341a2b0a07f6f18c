/**
 * The types of agent-circuit-breaker's public API. The names match the Rust core, the JSON
 * snapshot and the Prometheus labels: those shared with Rust are generated (`contract.ts`).
 */

import type { BreakerStatus, CircuitState, Config, FailureReason, TransitionEvent, TransitionReason } from './contract';

// The names and shapes shared with Rust are generated from `src/contract.rs` into `contract.ts`.
export type { BreakerStatus, CircuitState, FailureReason, TransitionEvent, TransitionReason };

/**
 * The settings of one breaker, each optional: what is not given keeps its default. Integers;
 * checked natively, with an `ERR_CIRCUIT_CONFIG` error naming the field.
 */
export type BreakerConfig = Partial<Config>;

/** Called once for every transition, after the native call that caused it has returned. */
export type TransitionListener = (event: TransitionEvent) => void;

/**
 * Decides what an error thrown by a protected call means: a failure reason, or `null` for an
 * error that does not count against the agent (the call's permit is released).
 */
export type ErrorClassifier = (error: unknown) => FailureReason | null;

/**
 * Every breaker's numbers at one moment, without building objects: row `i` (agent `agents[i]`)
 * holds `columns.length` numbers starting at `values[i * columns.length]`. NaN means "none".
 * Columns: `state` (0 CLOSED, 1 OPEN, 2 HALF_OPEN), `sinceMs`, `consecutiveFailures`,
 * `openRemainingMs`, call counts, `failures:<reason>`, `errorRate:*`, `recovery:*`,
 * `transitions:<from>-><to>`, `lastFailure:reason` (index in the failure reasons) and `lastFailure:atMs`.
 */
export interface MetricsTable {
  /** The clock reading the table was taken at. */
  nowMs: number;
  /** The agent of each row. */
  agents: readonly string[];
  /** The name of each column. */
  columns: readonly string[];
  /** The numbers, row after row. */
  values: Float64Array;
}

/** What one agent's breaker shares with the fleet, for diagnostics. */
export interface FleetAgentStatus {
  /** True while the fleet link is up: this agent's transitions are shared. */
  shared: boolean;
  /** The generation of the last fleet transition this instance applied or published (0: none yet). */
  generation: number;
  /** The last transition another instance caused here, or null. */
  lastRemote: { origin: string; to: 'OPEN' | 'CLOSED'; generation: number; at: string } | null;
  /** The instances holding this agent's probe leases (HALF_OPEN, or about to be). */
  leaseHolders: string[];
}

/** The fleet link, for diagnostics and metrics. */
export interface FleetStatus {
  /** This instance's id in Redis (`FleetOptions.instanceId`). */
  instanceId: string;
  /** True when the last sync with Redis succeeded. */
  connected: boolean;
  /** When the last sync succeeded (ISO 8601), or null. */
  lastSyncAt: string | null;
  /** Instances that synced within the last three intervals, this one included. */
  instancesSeen: number;
  /** Redis commands that failed or timed out since attaching. */
  syncErrors: number;
  /** Transitions applied here because another instance made them, by agent, from and to state. */
  remoteTransitions: Array<{ agent: string; from: string; to: string; count: number }>;
  /** How often this instance syncs with Redis, in milliseconds. */
  syncIntervalMs: number;
  /** Each agent's share of the fleet state. */
  agents: Record<string, FleetAgentStatus>;
}

/** What the metrics exporters (`/prometheus`, `/otel`) read at scrape or collection time. */
export interface CircuitMetricsSource {
  /** The breakers: an `AgentCircuitBreaker`, or anything with its `metricsTable()`. */
  breakers: { metricsTable(): MetricsTable };
  /** Fallbacks served per agent, if known. */
  fallbacks?(agent: string): { cached: number; empty: number };
  /** Fleet mode's link, when it is on: its families are registered only then. */
  fleet?(): FleetStatus | undefined;
}
