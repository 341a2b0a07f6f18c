/**
 * The types of agent-circuit-breaker's public API. The names match the Rust core, the JSON
 * snapshot and the Prometheus labels.
 */

/** The three states of a breaker. */
export type CircuitState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

/** What kind of failure an outcome was; the label of the failure counts. */
export type FailureReason = 'error' | 'timeout' | 'network' | 'http_5xx' | 'rate_limited' | 'invalid_response';

/** Why a transition happened. */
export type TransitionReason =
  | 'failure_threshold'
  | 'open_timeout_elapsed'
  | 'probe_failed'
  | 'probe_timed_out'
  | 'success_threshold'
  | 'forced_open'
  | 'reset';

/** The settings of one breaker. Integers; checked natively, with an `ERR_CIRCUIT_CONFIG` error naming the field. */
export interface BreakerConfig {
  /** Consecutive failures that open a CLOSED breaker, 1..=10000. @default 5 */
  failureThreshold?: number;
  /** Successful probes that close a HALF_OPEN breaker, 1..=10000. @default 2 */
  successThreshold?: number;
  /** Probes a HALF_OPEN breaker lets run at once, 1..=10000. @default successThreshold */
  halfOpenMaxCalls?: number;
  /** Milliseconds a breaker stays OPEN before it lets a probe through, 1..=86400000. @default 60000 */
  openTimeoutMs?: number;
  /**
   * Milliseconds a HALF_OPEN probe may run before the breaker reopens (`probe_timed_out`),
   * 1..=86400000. Set it at least as long as the protected call's own timeout, or a slow but
   * healthy remote can never close the breaker. @default openTimeoutMs
   */
  probeTimeoutMs?: number;
  /** Length of the rolling error-rate window in milliseconds, 1000..=86400000. @default 60000 */
  errorRateWindowMs?: number;
}

/** One state change of one agent's breaker. */
export interface TransitionEvent {
  /** The agent (breaker) id. */
  agent: string;
  /** The state before. */
  from: CircuitState;
  /** The state after. */
  to: CircuitState;
  /** Why it changed. */
  reason: TransitionReason;
  /** When, in milliseconds on the registry's clock (monotonic, or the manual clock). */
  atMs: number;
  /** Consecutive failures at that moment. */
  consecutiveFailures: number;
}

/** Called once for every transition, after the native call that caused it has returned. */
export type TransitionListener = (event: TransitionEvent) => void;

/**
 * Decides what an error thrown by a protected call means: a failure reason, or `null` for an
 * error that does not count against the agent (the call's permit is released).
 */
export type ErrorClassifier = (error: unknown) => FailureReason | null;

/** Everything known about one breaker at one moment (the native snapshot, parsed). */
export interface BreakerStatus {
  /** The agent (breaker) id. */
  agent: string;
  /** The effective state: an OPEN breaker whose timeout has passed already reads HALF_OPEN. */
  state: CircuitState;
  /** When the state began, in clock milliseconds. */
  sinceMs: number;
  /** The clock reading the status was taken at. */
  nowMs: number;
  /** Changes on every transition; permits of older generations are ignored. */
  generation: number;
  /** Failures in a row since the last success or close. */
  consecutiveFailures: number;
  /** Successful probes in this HALF_OPEN period. */
  halfOpenSuccesses: number;
  /** Probes admitted and not yet reported. */
  probesInFlight: number;
  /** Milliseconds until HALF_OPEN while OPEN, else 0. */
  openRemainingMs: number;
  /** The breaker's settings, every field filled in. */
  config: Required<BreakerConfig>;
  /** Call counts since the breaker was created. */
  calls: {
    admitted: number;
    successes: number;
    failures: number;
    failuresByReason: Record<FailureReason, number>;
    rejections: number;
    released: number;
    /** Outcomes reported after a state change (their permit's generation had passed): not counted. */
    lateOutcomes: number;
    /** Permits outstanding when the breaker was reset: `reset()` abandons them, and their reports change nothing. */
    abandoned: number;
    /** Permits admitted and not yet reported: admitted = successes + failures + released + lateOutcomes + abandoned + inFlight. */
    inFlight: number;
  };
  /** The rolling error rate. */
  errorRate: { windowMs: number; successes: number; failures: number; ratio: number };
  /** Transition counts by from → to, only those that happened. */
  transitions: { from: CircuitState; to: CircuitState; count: number }[];
  /** The last few transitions, oldest first. */
  recentTransitions: Omit<TransitionEvent, 'agent'>[];
  /** OPEN → CLOSED durations, in milliseconds. */
  recovery: { count: number; lastMs: number | null; sumMs: number; maxMs: number };
  /** The last counted failure: its reason and when (clock milliseconds), or null. */
  lastFailure: { reason: FailureReason; atMs: number } | null;
}

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
