//! The names and plain values every layer shares: states, failure kinds, transition reasons,
//! outcomes, permits and transitions. This module imports nothing from the crate, so the state
//! machine, the metrics and the binding all depend on it and never on each other.
//!
//! Each name is written once, in [`named!`]: it gives the Rust enum, its list, its string (as
//! JavaScript, JSON and Prometheus spell it) and its serde name, which the generated TypeScript
//! contract (`lib/resilience/contract.ts`) takes too.

/// Declares a fieldless enum whose variants each have one name: `as_str`, `ALL` (in code order),
/// `code` and the serde name all come from it.
macro_rules! named {
    ($(#[$meta:meta])* pub enum $E:ident { $($(#[doc = $doc:literal])* $V:ident = $name:literal,)* }) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(test, derive(ts_rs::TS))]
        $(#[$meta])*
        pub enum $E {
            $($(#[doc = $doc])* #[serde(rename = $name)] $V,)*
        }

        impl $E {
            /// Every variant, in the order of their codes.
            pub const ALL: &'static [$E] = &[$($E::$V),*];

            /// The name as JavaScript, JSON and Prometheus spell it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($E::$V => $name,)*
                }
            }

            /// The variant's small-integer code: its place in [`Self::ALL`].
            pub fn code(self) -> usize {
                self as usize
            }
        }
    };
}

named! {
    /// The three states of a breaker.
    #[cfg_attr(test, ts(rename = "CircuitState"))]
    pub enum State {
        /// Calls pass; consecutive failures are counted.
        Closed = "CLOSED",
        /// Calls are rejected until the open timeout has passed.
        Open = "OPEN",
        /// A limited number of probe calls pass; their outcomes decide.
        HalfOpen = "HALF_OPEN",
    }
}

named! {
    /// What kind of failure an outcome was. The names are the `reason` labels of the failure counts.
    #[cfg_attr(test, ts(rename = "FailureReason"))]
    pub enum Failure {
        /// Any error the caller did not classify further.
        Error = "error",
        /// The call took longer than its timeout.
        Timeout = "timeout",
        /// The connection failed (refused, reset, DNS).
        Network = "network",
        /// The remote answered with a 5xx status.
        Http5xx = "http_5xx",
        /// The remote answered 429 Too Many Requests.
        RateLimited = "rate_limited",
        /// The remote answered with a body that is not a valid result.
        InvalidResponse = "invalid_response",
    }
}

impl Failure {
    /// The failure in an operator's words, plural ("3 consecutive timeouts"): the diagnostics'
    /// wording, generated into the TypeScript contract as `FAILURE_WORDING`.
    pub fn plural(self) -> &'static str {
        match self {
            Failure::Error => "errors",
            Failure::Timeout => "timeouts",
            Failure::Network => "network errors",
            Failure::Http5xx => "HTTP 5xx answers",
            Failure::RateLimited => "HTTP 429 answers",
            Failure::InvalidResponse => "invalid responses",
        }
    }
}

named! {
    /// Why a transition happened.
    #[cfg_attr(test, ts(rename = "TransitionReason"))]
    pub enum Reason {
        /// CLOSED → OPEN: the consecutive failures reached `failureThreshold`.
        FailureThreshold = "failure_threshold",
        /// CLOSED → OPEN: the failure ratio over the window reached `errorRateThreshold`.
        ErrorRateThreshold = "error_rate_threshold",
        /// OPEN → HALF_OPEN: `openTimeoutMs` passed.
        OpenTimeoutElapsed = "open_timeout_elapsed",
        /// HALF_OPEN → OPEN: a probe failed.
        ProbeFailed = "probe_failed",
        /// HALF_OPEN → OPEN: a probe did not report within `probeTimeoutMs`.
        ProbeTimedOut = "probe_timed_out",
        /// HALF_OPEN → CLOSED: `successThreshold` probes succeeded.
        SuccessThreshold = "success_threshold",
        /// Any → OPEN by an operator.
        ForcedOpen = "forced_open",
        /// Any → OPEN, held open by `isolate()` until every hold is released.
        Isolated = "isolated",
        /// OPEN → CLOSED: the last `isolate()` hold was released.
        IsolationEnded = "isolation_ended",
        /// Any → the state of a saved snapshot, by `restore()`.
        Restored = "restored",
        /// Any → CLOSED by an operator; counts cleared.
        Reset = "reset",
        /// Any → OPEN because another instance of the fleet opened this agent's breaker (fleet sync).
        RemoteOpen = "remote_open",
        /// OPEN or HALF_OPEN → CLOSED because another instance of the fleet closed it (fleet sync).
        RemoteClose = "remote_close",
    }
}

named! {
    /// The stable codes of this package's errors (`error.code` in JavaScript).
    pub enum ErrorCode {
        /// `execute` was rejected: the breaker is OPEN (or HALF_OPEN with every probe taken).
        CircuitOpen = "ERR_CIRCUIT_OPEN",
        /// A setting is out of range, of the wrong type, or unknown.
        CircuitConfig = "ERR_CIRCUIT_CONFIG",
        /// An agent id is not a string of 1 to 128 characters without control characters.
        InvalidAgentId = "ERR_INVALID_AGENT_ID",
        /// No breaker has this agent id.
        UnknownAgent = "ERR_UNKNOWN_AGENT",
        /// `add` of an agent id that already has a breaker.
        AgentExists = "ERR_AGENT_EXISTS",
        /// `add` past `maxAgents`.
        TooManyAgents = "ERR_TOO_MANY_AGENTS",
        /// An argument of the wrong type or out of range.
        InvalidArg = "ERR_INVALID_ARG",
        /// `execute` gave up on a call after its `timeoutMs` (counted as a `timeout` failure).
        CallTimeout = "ERR_CALL_TIMEOUT",
        /// `execute` was aborted by the caller's signal (nothing counted; the reason is the `cause`).
        Aborted = "ERR_ABORTED",
        /// The JavaScript runtime lacks what the addon needs (external ArrayBuffers).
        UnsupportedRuntime = "ERR_UNSUPPORTED_RUNTIME",
        /// No prebuilt native binary is installed for this platform.
        NativeBindingMissing = "ERR_NATIVE_BINDING_MISSING",
        /// A bug in agent-circuit-breaker (a caught panic, a failed Node-API call).
        Internal = "ERR_INTERNAL",
    }
}

/// How an admitted call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The call succeeded.
    Success,
    /// The call failed.
    Failure(Failure),
    /// The call was cancelled or its error does not count: the permit is returned, nothing counted.
    Released,
}

/// The right to make one call, tagged with the generation that issued it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permit {
    /// The breaker's generation when the permit was issued.
    pub generation: u32,
    /// The permit's token (1..), or 0 for a call admitted on the registry's fast path.
    pub token: u32,
}

/// Permit tokens are below 2^20 (they take the low 20 bits of an encoded permit).
pub const TOKEN_BITS: u32 = 20;
/// The largest token.
pub const TOKEN_MASK: u32 = (1 << TOKEN_BITS) - 1;
/// The most permits a breaker keeps outstanding; past it, `acquire` rejects until some are reported.
pub const MAX_OUTSTANDING: usize = TOKEN_MASK as usize;
/// Generations wrap at 2^31 so that a CLOSED permit fits a JavaScript Int32Array word.
pub const GENERATION_MASK: u32 = 0x7FFF_FFFF;

/// Why a call was not admitted, and how long until it might be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// The state that rejected the call (OPEN, or HALF_OPEN with all probes taken).
    pub state: State,
    /// Milliseconds until the breaker turns HALF_OPEN (0 when HALF_OPEN; the open time while isolated).
    pub retry_after_ms: u64,
    /// True when the breaker is held OPEN by `isolate()`: it stays OPEN until released.
    pub isolated: bool,
}

/// What `snapshot()` saves of a breaker and `restore()` applies: its state, not its counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "BreakerSnapshot"))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Saved {
    /// The effective state.
    pub state: State,
    /// The generation when saved (for information: `restore()` moves the local generation on).
    pub generation: u32,
    /// Milliseconds until HALF_OPEN while OPEN, else 0.
    pub open_remaining_ms: u64,
    /// Failures in a row.
    pub consecutive_failures: u32,
    /// Successful probes in this HALF_OPEN period.
    pub half_open_successes: u32,
    /// Failed recoveries since the breaker last closed (the open backoff's step).
    pub backoff_step: u32,
}

/// What became of a reported outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// The outcome was counted toward the current state.
    Counted,
    /// The permit was of an older generation: nothing changed but the late count.
    Late,
    /// The permit was not outstanding (already reported, or never issued): nothing changed at all.
    Ignored,
}

/// One state change, as logged and kept in the recent history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    /// The state before.
    pub from: State,
    /// The state after.
    pub to: State,
    /// Why it changed.
    pub reason: Reason,
    /// When, in milliseconds on the registry's clock (monotonic, or the manual clock).
    pub at_ms: u64,
    /// Consecutive failures at that moment.
    pub consecutive_failures: u32,
}

/// One state change of one agent's breaker, as the transition listeners receive it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "TransitionEvent"))]
pub struct AgentTransition {
    /// The agent (breaker) id.
    pub agent: String,
    /// The transition.
    #[serde(flatten)]
    pub transition: Transition,
}

#[cfg(test)]
#[path = "types_tests.rs"]
mod tests;
