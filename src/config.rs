//! Breaker settings, their defaults, and every range check on values that arrive from JavaScript:
//! thresholds and durations, `maxAgents`, agent ids, and the whole numbers (slots, permits,
//! milliseconds) the binding reads. The binding checks only types; the ranges live here.

use std::fmt;

/// Largest accepted failure, success or half-open threshold.
pub const MAX_THRESHOLD: u32 = 10_000;
/// Largest accepted open timeout or error-rate window: 24 hours, in milliseconds.
pub const MAX_DURATION_MS: u64 = 24 * 60 * 60 * 1000;
/// Smallest accepted error-rate window, in milliseconds (it is split into 60 buckets).
pub const MIN_WINDOW_MS: u64 = 1_000;
/// Largest accepted `maxAgents`.
pub const MAX_AGENTS_LIMIT: usize = 1_000_000;
/// `maxAgents` when none is given.
pub const DEFAULT_MAX_AGENTS: usize = 1_000;
/// Longest agent id, in characters.
pub const MAX_ID_CHARS: usize = 128;
/// 2^53: JavaScript numbers below it are exact integers.
pub const SAFE_INTEGER_LIMIT: f64 = 9007199254740992.0;

/// `v` as a whole number if it is one in `0..limit` (so NaN, infinities, fractions and negatives are not).
pub fn whole(v: f64, limit: f64) -> Option<u64> {
    (v >= 0.0 && v == v.trunc() && v < limit.min(SAFE_INTEGER_LIMIT)).then_some(v as u64)
}

/// A registry's capacity, checked: 1..=[`MAX_AGENTS_LIMIT`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxAgents(usize);

impl MaxAgents {
    /// `maxAgents` from a JavaScript number (`None`: the default), or the error naming the range.
    pub fn new(v: Option<f64>) -> Result<Self, ConfigError> {
        let Some(v) = v else { return Ok(MaxAgents(DEFAULT_MAX_AGENTS)) };
        integer_in("maxAgents", v, 1, MAX_AGENTS_LIMIT as u64, "").map(|n| MaxAgents(n as usize))
    }

    /// The number of breakers.
    pub fn get(self) -> usize {
        self.0
    }
}

/// Checks an agent id: 1 to [`MAX_ID_CHARS`] characters, no control characters; `Err` says why not.
pub fn check_id(id: &str) -> Result<(), String> {
    let chars = id.chars().count();
    if chars == 0 {
        return Err(format!("it is empty; ids are 1 to {MAX_ID_CHARS} characters"));
    }
    if chars > MAX_ID_CHARS {
        return Err(format!("it has {chars} characters; ids are 1 to {MAX_ID_CHARS} characters"));
    }
    if let Some(c) = id.chars().find(|c| c.is_control()) {
        return Err(format!("it contains the control character U+{:04X}", c as u32));
    }
    Ok(())
}

/// The settings of one breaker, every field filled in; checked natively, with an
/// `ERR_CIRCUIT_CONFIG` error naming the field. Every field has the default the story asks for:
/// the rate rule and the open backoff are off unless set.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Config {
    /// Consecutive failures that open a CLOSED breaker, 1..=10000. @default 5
    pub failure_threshold: u32,
    /// Successful probes that close a HALF_OPEN breaker, 1..=10000. @default 2
    pub success_threshold: u32,
    /// Probes a HALF_OPEN breaker lets run at once, 1..=10000. @default successThreshold
    pub half_open_max_calls: u32,
    /// Milliseconds a breaker stays OPEN before it lets a probe through, 1..=86400000. @default 60000
    pub open_timeout_ms: u64,
    /// Milliseconds a HALF_OPEN probe may run before the breaker reopens (`probe_timed_out`),
    /// 1..=86400000. Set it at least as long as the protected call's own timeout, or a slow but
    /// healthy remote can never close the breaker. @default openTimeoutMs
    pub probe_timeout_ms: u64,
    /// Length of the rolling error-rate window in milliseconds, 1000..=86400000. @default 60000
    pub error_rate_window_ms: u64,
    /// Failure ratio over the error-rate window that opens a CLOSED breaker (`error_rate_threshold`),
    /// once the window holds `minimumCalls` calls: a number in 0..=1, 0 for off. Either rule opens
    /// the breaker. @default 0
    pub error_rate_threshold: f64,
    /// Calls the error-rate window must hold before `errorRateThreshold` applies, 1..=10000. @default 20
    pub minimum_calls: u32,
    /// Each failed recovery (a probe failing or timing out) multiplies the open time by this,
    /// up to `openTimeoutMaxMs`; closing resets it. A number in 1..=100, 1 for off. @default 1
    pub open_backoff_multiplier: f64,
    /// The longest the open time grows to with `openBackoffMultiplier`, openTimeoutMs..=86400000.
    /// @default openTimeoutMs
    pub open_timeout_max_ms: u64,
    /// Whether `half_open_max_calls` was given (else it follows `success_threshold`).
    #[serde(skip)]
    half_open_given: bool,
    /// Whether `probe_timeout_ms` was given (else it follows `open_timeout_ms`).
    #[serde(skip)]
    probe_timeout_given: bool,
    /// Whether `open_timeout_max_ms` was given (else it follows `open_timeout_ms`).
    #[serde(skip)]
    open_max_given: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            failure_threshold: 5,
            success_threshold: 2,
            half_open_max_calls: 2,
            open_timeout_ms: 60_000,
            probe_timeout_ms: 60_000,
            error_rate_window_ms: 60_000,
            error_rate_threshold: 0.0,
            minimum_calls: 20,
            open_backoff_multiplier: 1.0,
            open_timeout_max_ms: 60_000,
            half_open_given: false,
            probe_timeout_given: false,
            open_max_given: false,
        }
    }
}

/// The settings' names as JavaScript spells them, in field order (unknown keys are refused with this list).
pub const CONFIG_KEYS: [&str; 10] = [
    "failureThreshold",
    "successThreshold",
    "halfOpenMaxCalls",
    "openTimeoutMs",
    "probeTimeoutMs",
    "errorRateWindowMs",
    "errorRateThreshold",
    "minimumCalls",
    "openBackoffMultiplier",
    "openTimeoutMaxMs",
];
/// The largest accepted `openBackoffMultiplier`.
pub const MAX_BACKOFF_MULTIPLIER: f64 = 100.0;

/// Settings as JavaScript numbers, each optional: what a caller passed, before any check.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConfigPatch {
    /// See [`Config::failure_threshold`].
    pub failure_threshold: Option<f64>,
    /// See [`Config::success_threshold`].
    pub success_threshold: Option<f64>,
    /// See [`Config::half_open_max_calls`].
    pub half_open_max_calls: Option<f64>,
    /// See [`Config::open_timeout_ms`].
    pub open_timeout_ms: Option<f64>,
    /// See [`Config::probe_timeout_ms`].
    pub probe_timeout_ms: Option<f64>,
    /// See [`Config::error_rate_window_ms`].
    pub error_rate_window_ms: Option<f64>,
    /// See [`Config::error_rate_threshold`].
    pub error_rate_threshold: Option<f64>,
    /// See [`Config::minimum_calls`].
    pub minimum_calls: Option<f64>,
    /// See [`Config::open_backoff_multiplier`].
    pub open_backoff_multiplier: Option<f64>,
    /// See [`Config::open_timeout_max_ms`].
    pub open_timeout_max_ms: Option<f64>,
}

/// A setting outside its allowed range: names the field, the value and what is allowed.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigError {
    /// The field's name as JavaScript spells it.
    pub field: &'static str,
    /// The value that was refused.
    pub value: f64,
    /// What the field accepts.
    pub allowed: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} must be {} (got {})", self.field, self.allowed, show_number(self.value))
    }
}

impl std::error::Error for ConfigError {}

/// Formats a number the way JavaScript prints it, so messages quote what the caller wrote.
pub fn show_number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity".into() } else { "-Infinity".into() }
    } else if v != 0.0 && (v.abs() >= 1e21 || v.abs() < 1e-6) {
        // JavaScript switches to exponent notation here, with an explicit "+": 1e+21, 5e-324.
        let s = format!("{v:e}");
        match s.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
            _ => s,
        }
    } else if v == 0.0 {
        "0".into() // -0 too, as JavaScript prints it
    } else {
        format!("{v}") // the shortest digits that round-trip, as JavaScript
    }
}

fn integer_in(field: &'static str, v: f64, min: u64, max: u64, unit: &str) -> Result<u64, ConfigError> {
    if v.is_finite() && v == v.trunc() && v >= min as f64 && v <= max as f64 {
        Ok(v as u64)
    } else {
        Err(ConfigError { field, value: v, allowed: format!("an integer{unit} in {min}..={max}") })
    }
}

fn number_in(field: &'static str, v: f64, min: f64, max: f64) -> Result<f64, ConfigError> {
    if v.is_finite() && v >= min && v <= max {
        Ok(v + 0.0) // -0 becomes 0
    } else {
        Err(ConfigError { field, value: v, allowed: format!("a number in {}..={}", show_number(min), show_number(max)) })
    }
}

impl Config {
    /// Returns these settings with the patch's fields applied, or the first field out of range.
    /// `halfOpenMaxCalls` follows `successThreshold`, and `probeTimeoutMs` and `openTimeoutMaxMs`
    /// follow `openTimeoutMs`, unless given themselves.
    pub fn apply(&self, patch: &ConfigPatch) -> Result<Config, ConfigError> {
        let threshold = |field, v: Option<f64>, old: u32| -> Result<u32, ConfigError> {
            v.map_or(Ok(old), |v| integer_in(field, v, 1, MAX_THRESHOLD as u64, "").map(|n| n as u32))
        };
        let duration = |field, v: Option<f64>, min: u64, old: u64| -> Result<u64, ConfigError> {
            v.map_or(Ok(old), |v| integer_in(field, v, min, MAX_DURATION_MS, " of milliseconds"))
        };
        let ratio = |field, v: Option<f64>, min: f64, max: f64, old: f64| v.map_or(Ok(old), |v| number_in(field, v, min, max));
        let success_threshold = threshold("successThreshold", patch.success_threshold, self.success_threshold)?;
        let probe_default = if self.half_open_given { self.half_open_max_calls } else { success_threshold };
        let open_timeout_ms = duration("openTimeoutMs", patch.open_timeout_ms, 1, self.open_timeout_ms)?;
        let probe_timeout_default = if self.probe_timeout_given { self.probe_timeout_ms } else { open_timeout_ms };
        let open_max_default = if self.open_max_given { self.open_timeout_max_ms.max(open_timeout_ms) } else { open_timeout_ms };
        Ok(Config {
            failure_threshold: threshold("failureThreshold", patch.failure_threshold, self.failure_threshold)?,
            success_threshold,
            half_open_max_calls: threshold("halfOpenMaxCalls", patch.half_open_max_calls, probe_default)?,
            open_timeout_ms,
            probe_timeout_ms: duration("probeTimeoutMs", patch.probe_timeout_ms, 1, probe_timeout_default)?,
            error_rate_window_ms: duration("errorRateWindowMs", patch.error_rate_window_ms, MIN_WINDOW_MS, self.error_rate_window_ms)?,
            error_rate_threshold: ratio("errorRateThreshold", patch.error_rate_threshold, 0.0, 1.0, self.error_rate_threshold)?,
            minimum_calls: threshold("minimumCalls", patch.minimum_calls, self.minimum_calls)?,
            open_backoff_multiplier: ratio(
                "openBackoffMultiplier",
                patch.open_backoff_multiplier,
                1.0,
                MAX_BACKOFF_MULTIPLIER,
                self.open_backoff_multiplier,
            )?,
            open_timeout_max_ms: duration("openTimeoutMaxMs", patch.open_timeout_max_ms, open_timeout_ms, open_max_default)?,
            half_open_given: self.half_open_given || patch.half_open_max_calls.is_some(),
            probe_timeout_given: self.probe_timeout_given || patch.probe_timeout_ms.is_some(),
            open_max_given: self.open_max_given || patch.open_timeout_max_ms.is_some(),
        })
    }

    /// How long OPEN lasts after `step` failed recoveries: `openTimeoutMs * multiplier^step`, at
    /// most `openTimeoutMaxMs`.
    pub fn open_timeout_after(&self, step: u32) -> u64 {
        let grown = self.open_timeout_ms as f64 * self.open_backoff_multiplier.powi(step.min(i32::MAX as u32) as i32);
        if grown >= self.open_timeout_max_ms as f64 {
            self.open_timeout_max_ms
        } else {
            grown as u64
        }
    }

    /// True when the error-rate rule is on and `failures` of `calls` in the window trip it.
    pub fn error_rate_trips(&self, calls: u64, failures: u64) -> bool {
        self.error_rate_threshold > 0.0
            && calls >= self.minimum_calls as u64
            && failures as f64 >= self.error_rate_threshold * calls as f64
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
