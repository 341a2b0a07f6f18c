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
