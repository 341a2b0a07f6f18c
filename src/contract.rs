//! The contract between Rust and TypeScript, stated once here and generated into
//! `lib/resilience/contract.ts`: the names (states, failure reasons, transition reasons, error
//! codes), the failure wording, the metrics table's columns, the settings' defaults and limits, the
//! words table's layout and the codes that cross the hot path, and (through ts-rs) the types of the
//! status, the settings and the transition events.
//!
//! `cargo test` fails when the committed file differs from what this module generates;
//! `npm run contract` writes it anew. [`json`] gives the same constants at run time, so a Jest test
//! can check that the loaded binary agrees with the generated file.

use serde_json::{json, Value};

use crate::config::{Config, CONFIG_KEYS, DEFAULT_MAX_AGENTS, MAX_BACKOFF_MULTIPLIER, MAX_AGENTS_LIMIT, MAX_DURATION_MS, MAX_ID_CHARS, MAX_THRESHOLD, MIN_WINDOW_MS};
use crate::types::{ErrorCode, Failure, Reason, State, MAX_OUTSTANDING};
use crate::words;

/// One generated constant: its name, its TypeScript type (or `None` to infer it), its doc line and value.
pub struct Constant {
    /// The name, the same in Rust and TypeScript.
    pub name: &'static str,
    /// The declared TypeScript type, if any.
    pub ts_type: Option<&'static str>,
    /// One doc line.
    pub doc: &'static str,
    /// The value.
    pub value: Value,
}

fn names<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> Value {
    all.iter().map(|&v| name(v)).collect()
}

/// Every constant of the contract, in the order the generated file lists them.
pub fn constants() -> Vec<Constant> {
    let c = |name, ts_type, doc, value| Constant { name, ts_type, doc, value };
    let wording: serde_json::Map<String, Value> =
        Failure::ALL.iter().map(|f| (f.as_str().to_owned(), Value::from(f.plural()))).collect();
    let limits = json!({
        "maxThreshold": MAX_THRESHOLD, "maxDurationMs": MAX_DURATION_MS, "minWindowMs": MIN_WINDOW_MS,
        "maxAgents": MAX_AGENTS_LIMIT, "maxIdChars": MAX_ID_CHARS, "maxBackoffMultiplier": MAX_BACKOFF_MULTIPLIER,
    });
    vec![
        c("STATES", Some("readonly CircuitState[]"), "The states, in the order of their codes.", names(State::ALL, State::as_str)),
        c("FAILURE_REASONS", Some("readonly FailureReason[]"), "The failure reasons, in the order of their codes.", names(Failure::ALL, Failure::as_str)),
        c("TRANSITION_REASONS", Some("readonly TransitionReason[]"), "Why transitions happen.", names(Reason::ALL, Reason::as_str)),
        c("ERROR_CODES", Some("readonly ErrorCode[]"), "The codes this package's errors carry.", names(ErrorCode::ALL, ErrorCode::as_str)),
        c("FAILURE_WORDING", Some("Readonly<Record<FailureReason, string>>"), "Each failure reason in an operator's words, plural.", Value::Object(wording)),
        c("TABLE_COLUMNS", Some("readonly string[]"), "The metrics table's columns, in order.", crate::table::column_names().into()),
        c("RECOVERY_BUCKETS_MS", Some("readonly number[]"), "The recovery-time histogram's upper bounds in milliseconds (table columns `recovery:le:<ms>`).", crate::metrics::RECOVERY_BUCKETS_MS.to_vec().into()),
        c("CONFIG_KEYS", Some("readonly (keyof Config)[]"), "The settings' names, in the order the docs list them.", CONFIG_KEYS.to_vec().into()),
        c("DEFAULT_CONFIG", Some("Readonly<Config>"), "The settings a breaker has when none are given.", serde_json::to_value(Config::default()).unwrap_or_default()),
        c("BREAKER_LIMITS", None, "The largest (and smallest) values the settings accept.", limits),
        c("DEFAULT_MAX_AGENTS", None, "`maxAgents` when none is given.", DEFAULT_MAX_AGENTS.into()),
        c("MAX_OUTSTANDING", None, "The most permits a breaker keeps outstanding.", MAX_OUTSTANDING.into()),
        c("HEADER", None, "Words table: words before the first slot.", words::HEADER.into()),
        c("PENDING_EVENTS", None, "Words table, header: transitions waiting to be drained.", words::PENDING_EVENTS.into()),
        c("STRIDE", None, "Words table: words per slot.", words::STRIDE.into()),
        c("FAST", None, "Slot word: the generation when a success needs no bookkeeping, else -1.", words::FAST.into()),
        c("PENDING_ADMITTED", None, "Slot word: calls admitted on the fast path, not yet counted.", words::PENDING_ADMITTED.into()),
        c("PENDING_SUCCESSES", None, "Slot word: fast-path successes not yet counted.", words::PENDING_SUCCESSES.into()),
        c("STATE", None, "Slot word: the stored state's code.", words::STATE.into()),
        c("PENDING_REJECTIONS", None, "Slot word: calls rejected in JavaScript while OPEN, not yet counted.", words::PENDING_REJECTIONS.into()),
        c("GENERATION", None, "Slot word: the breaker's generation.", words::GENERATION.into()),
        c("PERMIT_SCALE", None, "A permit is generation * PERMIT_SCALE + token; token 0 is the fast path's.", words::PERMIT_SCALE.into()),
        c("OUTCOME_SUCCESS", None, "`settle` outcome code of a success.", words::OUTCOME_SUCCESS.into()),
        c("OUTCOME_RELEASED", None, "`settle` outcome code of a released permit.", words::OUTCOME_RELEASED.into()),
        c("OUTCOME_FAILURE", None, "`settle` outcome code of the first failure reason; reason i is OUTCOME_FAILURE + i.", words::OUTCOME_FAILURE.into()),
        c("REJECTION_STATES", None, "`admit` rejects with -1 - (retryAfterMs * REJECTION_STATES + state code).", words::REJECTION_STATES.into()),
        c("ISOLATED_CODE", None, "The rejection state code of a breaker held OPEN by isolate().", words::ISOLATED_CODE.into()),
    ]
}

/// The constants as one JSON object, by name.
pub fn json() -> String {
    let all: serde_json::Map<String, Value> = constants().into_iter().map(|c| (c.name.to_owned(), c.value)).collect();
    Value::Object(all).to_string()
}

#[cfg(test)]
#[path = "contract_tests.rs"]
mod tests;
