/* Generated from src/contract.rs by `npm run contract`: do not edit. `cargo test` fails when it is stale. */
/* eslint-disable */

/** The states, in the order of their codes. */
export const STATES: readonly CircuitState[] = Object.freeze(["CLOSED","OPEN","HALF_OPEN"]);

/** The failure reasons, in the order of their codes. */
export const FAILURE_REASONS: readonly FailureReason[] = Object.freeze(["error","timeout","network","http_5xx","rate_limited","invalid_response"]);

/** Why transitions happen. */
export const TRANSITION_REASONS: readonly TransitionReason[] = Object.freeze(["failure_threshold","error_rate_threshold","open_timeout_elapsed","probe_failed","probe_timed_out","success_threshold","forced_open","isolated","isolation_ended","restored","reset","remote_open","remote_close"]);

/** The codes this package's errors carry. */
export const ERROR_CODES: readonly ErrorCode[] = Object.freeze(["ERR_CIRCUIT_OPEN","ERR_CIRCUIT_CONFIG","ERR_INVALID_AGENT_ID","ERR_UNKNOWN_AGENT","ERR_AGENT_EXISTS","ERR_TOO_MANY_AGENTS","ERR_INVALID_ARG","ERR_CALL_TIMEOUT","ERR_ABORTED","ERR_UNSUPPORTED_RUNTIME","ERR_NATIVE_BINDING_MISSING","ERR_INTERNAL"]);

/** Each failure reason in an operator's words, plural. */
export const FAILURE_WORDING: Readonly<Record<FailureReason, string>> = Object.freeze({"error":"errors","http_5xx":"HTTP 5xx answers","invalid_response":"invalid responses","network":"network errors","rate_limited":"HTTP 429 answers","timeout":"timeouts"});

/** The metrics table's columns, in order. */
export const TABLE_COLUMNS: readonly string[] = Object.freeze(["state","sinceMs","consecutiveFailures","halfOpenSuccesses","probesInFlight","openRemainingMs","admitted","successes","failures","failures:error","failures:timeout","failures:network","failures:http_5xx","failures:rate_limited","failures:invalid_response","rejections","released","lateOutcomes","errorRate:successes","errorRate:failures","errorRate:ratio","recovery:count","recovery:lastMs","recovery:sumMs","recovery:maxMs","recovery:le:1000","recovery:le:5000","recovery:le:10000","recovery:le:30000","recovery:le:60000","recovery:le:120000","recovery:le:300000","recovery:le:600000","recovery:le:1800000","recovery:le:3600000","recovery:le:7200000","recovery:le:21600000","transitions:CLOSED->CLOSED","transitions:CLOSED->OPEN","transitions:CLOSED->HALF_OPEN","transitions:OPEN->CLOSED","transitions:OPEN->OPEN","transitions:OPEN->HALF_OPEN","transitions:HALF_OPEN->CLOSED","transitions:HALF_OPEN->OPEN","transitions:HALF_OPEN->HALF_OPEN","lastFailure:reason","lastFailure:atMs","backoffStep","isolations"]);

/** The recovery-time histogram's upper bounds in milliseconds (table columns `recovery:le:<ms>`). */
export const RECOVERY_BUCKETS_MS: readonly number[] = Object.freeze([1000,5000,10000,30000,60000,120000,300000,600000,1800000,3600000,7200000,21600000]);

/** The settings' names, in the order the docs list them. */
export const CONFIG_KEYS: readonly (keyof Config)[] = Object.freeze(["failureThreshold","successThreshold","halfOpenMaxCalls","openTimeoutMs","probeTimeoutMs","errorRateWindowMs","errorRateThreshold","minimumCalls","openBackoffMultiplier","openTimeoutMaxMs"]);

/** The settings a breaker has when none are given. */
export const DEFAULT_CONFIG: Readonly<Config> = Object.freeze({"errorRateThreshold":0.0,"errorRateWindowMs":60000,"failureThreshold":5,"halfOpenMaxCalls":2,"minimumCalls":20,"openBackoffMultiplier":1.0,"openTimeoutMaxMs":60000,"openTimeoutMs":60000,"probeTimeoutMs":60000,"successThreshold":2});

/** The largest (and smallest) values the settings accept. */
export const BREAKER_LIMITS = Object.freeze({"maxAgents":1000000,"maxBackoffMultiplier":100.0,"maxDurationMs":86400000,"maxIdChars":128,"maxThreshold":10000,"minWindowMs":1000} as const);

/** `maxAgents` when none is given. */
export const DEFAULT_MAX_AGENTS = 1000;

/** The most permits a breaker keeps outstanding. */
export const MAX_OUTSTANDING = 1048575;

/** Words table: words before the first slot. */
export const HEADER = 4;

/** Words table, header: transitions waiting to be drained. */
export const PENDING_EVENTS = 0;

/** Words table: words per slot. */
export const STRIDE = 6;

/** Slot word: the generation when a success needs no bookkeeping, else -1. */
export const FAST = 0;

/** Slot word: calls admitted on the fast path, not yet counted. */
export const PENDING_ADMITTED = 1;

/** Slot word: fast-path successes not yet counted. */
export const PENDING_SUCCESSES = 2;

/** Slot word: the stored state's code. */
export const STATE = 3;

/** Slot word: calls rejected in JavaScript while OPEN, not yet counted. */
export const PENDING_REJECTIONS = 4;

/** Slot word: the breaker's generation. */
export const GENERATION = 5;

/** A permit is generation * PERMIT_SCALE + token; token 0 is the fast path's. */
export const PERMIT_SCALE = 1048576;

/** `settle` outcome code of a success. */
export const OUTCOME_SUCCESS = 0;

/** `settle` outcome code of a released permit. */
export const OUTCOME_RELEASED = 1;

/** `settle` outcome code of the first failure reason; reason i is OUTCOME_FAILURE + i. */
export const OUTCOME_FAILURE = 2;

/** `admit` rejects with -1 - (retryAfterMs * REJECTION_STATES + state code). */
export const REJECTION_STATES = 4;

/** The rejection state code of a breaker held OPEN by isolate(). */
export const ISOLATED_CODE = 3;

/**
 * The three states of a breaker.
 */
export type CircuitState = "CLOSED" | "OPEN" | "HALF_OPEN";

/**
 * What kind of failure an outcome was. The names are the `reason` labels of the failure counts.
 */
export type FailureReason = "error" | "timeout" | "network" | "http_5xx" | "rate_limited" | "invalid_response";

/**
 * Why a transition happened.
 */
export type TransitionReason = "failure_threshold" | "error_rate_threshold" | "open_timeout_elapsed" | "probe_failed" | "probe_timed_out" | "success_threshold" | "forced_open" | "isolated" | "isolation_ended" | "restored" | "reset" | "remote_open" | "remote_close";

/**
 * The stable codes of this package's errors (`error.code` in JavaScript).
 */
export type ErrorCode = "ERR_CIRCUIT_OPEN" | "ERR_CIRCUIT_CONFIG" | "ERR_INVALID_AGENT_ID" | "ERR_UNKNOWN_AGENT" | "ERR_AGENT_EXISTS" | "ERR_TOO_MANY_AGENTS" | "ERR_INVALID_ARG" | "ERR_CALL_TIMEOUT" | "ERR_ABORTED" | "ERR_UNSUPPORTED_RUNTIME" | "ERR_NATIVE_BINDING_MISSING" | "ERR_INTERNAL";

/**
 * The settings of one breaker, every field filled in; checked natively, with an
 * `ERR_CIRCUIT_CONFIG` error naming the field. Every field has the default the story asks for:
 * the rate rule and the open backoff are off unless set.
 */
export type Config = { 
/**
 * Consecutive failures that open a CLOSED breaker, 1..=10000. @default 5
 */
failureThreshold: number, 
/**
 * Successful probes that close a HALF_OPEN breaker, 1..=10000. @default 2
 */
successThreshold: number, 
/**
 * Probes a HALF_OPEN breaker lets run at once, 1..=10000. @default successThreshold
 */
halfOpenMaxCalls: number, 
/**
 * Milliseconds a breaker stays OPEN before it lets a probe through, 1..=86400000. @default 60000
 */
openTimeoutMs: number, 
/**
 * Milliseconds a HALF_OPEN probe may run before the breaker reopens (`probe_timed_out`),
 * 1..=86400000. Set it at least as long as the protected call's own timeout, or a slow but
 * healthy remote can never close the breaker. @default openTimeoutMs
 */
probeTimeoutMs: number, 
/**
 * Length of the rolling error-rate window in milliseconds, 1000..=86400000. @default 60000
 */
errorRateWindowMs: number, 
/**
 * Failure ratio over the error-rate window that opens a CLOSED breaker (`error_rate_threshold`),
 * once the window holds `minimumCalls` calls: a number in 0..=1, 0 for off. Either rule opens
 * the breaker. @default 0
 */
errorRateThreshold: number, 
/**
 * Calls the error-rate window must hold before `errorRateThreshold` applies, 1..=10000. @default 20
 */
minimumCalls: number, 
/**
 * Each failed recovery (a probe failing or timing out) multiplies the open time by this,
 * up to `openTimeoutMaxMs`; closing resets it. A number in 1..=100, 1 for off. @default 1
 */
openBackoffMultiplier: number, 
/**
 * The longest the open time grows to with `openBackoffMultiplier`, openTimeoutMs..=86400000.
 * @default openTimeoutMs
 */
openTimeoutMaxMs: number, };

/**
 * One state change, as logged and kept in the recent history.
 */
export type Transition = { 
/**
 * The state before.
 */
from: CircuitState, 
/**
 * The state after.
 */
to: CircuitState, 
/**
 * Why it changed.
 */
reason: TransitionReason, 
/**
 * When, in milliseconds on the registry's clock (monotonic, or the manual clock).
 */
atMs: number, 
/**
 * Consecutive failures at that moment.
 */
consecutiveFailures: number, };

/**
 * One state change of one agent's breaker, as the transition listeners receive it.
 */
export type TransitionEvent = { 
/**
 * The agent (breaker) id.
 */
agent: string, 
/**
 * The state before.
 */
from: CircuitState, 
/**
 * The state after.
 */
to: CircuitState, 
/**
 * Why it changed.
 */
reason: TransitionReason, 
/**
 * When, in milliseconds on the registry's clock (monotonic, or the manual clock).
 */
atMs: number, 
/**
 * Consecutive failures at that moment.
 */
consecutiveFailures: number, };

/**
 * What the window holds at one moment.
 */
export type WindowTotals = { 
/**
 * The window's length in milliseconds.
 */
windowMs: number, 
/**
 * Successful calls in the window.
 */
successes: number, 
/**
 * Failed calls in the window.
 */
failures: number, 
/**
 * failures / (successes + failures), or 0 when the window is empty.
 */
ratio: number, };

/**
 * OPEN → CLOSED durations: how long recoveries took.
 */
export type Recovery = { 
/**
 * Recoveries completed.
 */
count: number, 
/**
 * The last recovery's duration, in milliseconds.
 */
lastMs: number | null, 
/**
 * The sum of all recovery durations, in milliseconds.
 */
sumMs: number, 
/**
 * The longest recovery, in milliseconds.
 */
maxMs: number, };

/**
 * The last counted failure of a breaker.
 */
export type LastFailure = { 
/**
 * Its kind.
 */
reason: FailureReason, 
/**
 * When, in clock milliseconds.
 */
atMs: number, };

/**
 * How many times one transition happened.
 */
export type TransitionCount = { 
/**
 * The state before.
 */
from: CircuitState, 
/**
 * The state after.
 */
to: CircuitState, 
/**
 * How many times.
 */
count: number, };

/**
 * Call counts of one breaker since it was created.
 */
export type Calls = { 
/**
 * Calls admitted.
 */
admitted: number, 
/**
 * Admitted calls that succeeded.
 */
successes: number, 
/**
 * Admitted calls that failed.
 */
failures: number, 
/**
 * Failures by kind, every kind listed.
 */
failuresByReason: Record<FailureReason, number>, 
/**
 * Calls refused without being made.
 */
rejections: number, 
/**
 * Permits returned without an outcome.
 */
released: number, 
/**
 * Outcomes that arrived after a state change (their permit's generation had passed): not counted.
 */
lateOutcomes: number, 
/**
 * Permits outstanding when the breaker was reset (`reset()` abandons them).
 */
abandoned: number, 
/**
 * Permits admitted and not yet reported: `admitted = successes + failures + released +
 * lateOutcomes + abandoned + inFlight`, always.
 */
inFlight: number, };

/**
 * Everything known about one breaker at `now_ms`.
 */
export type BreakerStatus = { 
/**
 * The agent (breaker) id.
 */
agent: string, 
/**
 * The effective state: an OPEN breaker whose timeout has passed already reads HALF_OPEN.
 */
state: CircuitState, 
/**
 * When the state began, in clock milliseconds.
 */
sinceMs: number, 
/**
 * The clock reading the snapshot was taken at.
 */
nowMs: number, 
/**
 * Changes on every transition; permits of older generations are ignored.
 */
generation: number, 
/**
 * Failures in a row since the last success or close.
 */
consecutiveFailures: number, 
/**
 * Successful probes in this HALF_OPEN period.
 */
halfOpenSuccesses: number, 
/**
 * Probes admitted and not yet reported.
 */
probesInFlight: number, 
/**
 * Milliseconds until HALF_OPEN while OPEN, else 0 (while isolated: the open time, as a hint).
 */
openRemainingMs: number, 
/**
 * How long an OPEN period lasts now: `openTimeoutMs`, grown by the backoff after failed recoveries.
 */
currentOpenTimeoutMs: number, 
/**
 * Failed recoveries since the breaker last closed (the open backoff's step).
 */
backoffStep: number, 
/**
 * `isolate()` holds not yet released: while any is held the breaker stays OPEN.
 */
isolations: number, 
/**
 * The breaker's settings, every field filled in.
 */
config: Config, 
/**
 * Call counts.
 */
calls: Calls, 
/**
 * The rolling error rate.
 */
errorRate: WindowTotals, 
/**
 * Transition counts by from → to (only those that happened).
 */
transitions: Array<TransitionCount>, 
/**
 * The last few transitions, oldest first.
 */
recentTransitions: Array<Transition>, 
/**
 * OPEN → CLOSED durations.
 */
recovery: Recovery, 
/**
 * The last counted failure, if any.
 */
lastFailure: LastFailure | null, };

/**
 * What `snapshot()` saves of a breaker and `restore()` applies: its state, not its counts.
 */
export type BreakerSnapshot = { 
/**
 * The effective state.
 */
state: CircuitState, 
/**
 * The generation when saved (for information: `restore()` moves the local generation on).
 */
generation: number, 
/**
 * Milliseconds until HALF_OPEN while OPEN, else 0.
 */
openRemainingMs: number, 
/**
 * Failures in a row.
 */
consecutiveFailures: number, 
/**
 * Successful probes in this HALF_OPEN period.
 */
halfOpenSuccesses: number, 
/**
 * Failed recoveries since the breaker last closed (the open backoff's step).
 */
backoffStep: number, };
