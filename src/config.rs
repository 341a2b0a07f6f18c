//! Breaker settings, their defaults, and the range checks applied to numbers that arrive from JavaScript.

use std::fmt;

/// Largest accepted failure, success or half-open threshold.
pub const MAX_THRESHOLD: u32 = 10_000;
/// Largest accepted open timeout or error-rate window: 24 hours, in milliseconds.
pub const MAX_DURATION_MS: u64 = 24 * 60 * 60 * 1000;
/// Smallest accepted error-rate window, in milliseconds (it is split into 60 buckets).
pub const MIN_WINDOW_MS: u64 = 1_000;

/// The settings of one breaker. Every field has the default the story asks for.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    /// Consecutive failures that open a CLOSED breaker. @default 5
    pub failure_threshold: u32,
    /// Successful probes that close a HALF_OPEN breaker. @default 2
    pub success_threshold: u32,
    /// Probes a HALF_OPEN breaker lets run at once. @default successThreshold
    pub half_open_max_calls: u32,
    /// How long the breaker stays OPEN before it lets a probe through. @default 60000
    pub open_timeout_ms: u64,
    /// How long a HALF_OPEN probe may run before the breaker reopens. @default openTimeoutMs
    pub probe_timeout_ms: u64,
    /// Length of the rolling window the error rate is measured over. @default 60000
    pub error_rate_window_ms: u64,
    /// Whether `half_open_max_calls` was given (else it follows `success_threshold`).
    #[serde(skip)]
    half_open_given: bool,
    /// Whether `probe_timeout_ms` was given (else it follows `open_timeout_ms`).
    #[serde(skip)]
    probe_timeout_given: bool,
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
            half_open_given: false,
            probe_timeout_given: false,
        }
    }
}

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

impl Config {
    /// Returns these settings with the patch's fields applied, or the first field out of range.
    /// `halfOpenMaxCalls` follows `successThreshold`, and `probeTimeoutMs` follows `openTimeoutMs`,
    /// unless given themselves.
    pub fn apply(&self, patch: &ConfigPatch) -> Result<Config, ConfigError> {
        let threshold = |field, v: Option<f64>, old: u32| -> Result<u32, ConfigError> {
            v.map_or(Ok(old), |v| integer_in(field, v, 1, MAX_THRESHOLD as u64, "").map(|n| n as u32))
        };
        let duration = |field, v: Option<f64>, min: u64, old: u64| -> Result<u64, ConfigError> {
            v.map_or(Ok(old), |v| integer_in(field, v, min, MAX_DURATION_MS, " of milliseconds"))
        };
        let success_threshold = threshold("successThreshold", patch.success_threshold, self.success_threshold)?;
        let probe_default = if self.half_open_given { self.half_open_max_calls } else { success_threshold };
        let open_timeout_ms = duration("openTimeoutMs", patch.open_timeout_ms, 1, self.open_timeout_ms)?;
        let probe_timeout_default = if self.probe_timeout_given { self.probe_timeout_ms } else { open_timeout_ms };
        Ok(Config {
            failure_threshold: threshold("failureThreshold", patch.failure_threshold, self.failure_threshold)?,
            success_threshold,
            half_open_max_calls: threshold("halfOpenMaxCalls", patch.half_open_max_calls, probe_default)?,
            open_timeout_ms,
            probe_timeout_ms: duration("probeTimeoutMs", patch.probe_timeout_ms, 1, probe_timeout_default)?,
            error_rate_window_ms: duration(
                "errorRateWindowMs",
                patch.error_rate_window_ms,
                MIN_WINDOW_MS,
                self.error_rate_window_ms,
            )?,
            half_open_given: self.half_open_given || patch.half_open_max_calls.is_some(),
            probe_timeout_given: self.probe_timeout_given || patch.probe_timeout_ms.is_some(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch_one(field: &str, v: f64) -> ConfigPatch {
        let mut p = ConfigPatch::default();
        match field {
            "failureThreshold" => p.failure_threshold = Some(v),
            "successThreshold" => p.success_threshold = Some(v),
            "halfOpenMaxCalls" => p.half_open_max_calls = Some(v),
            "openTimeoutMs" => p.open_timeout_ms = Some(v),
            "probeTimeoutMs" => p.probe_timeout_ms = Some(v),
            "errorRateWindowMs" => p.error_rate_window_ms = Some(v),
            _ => unreachable!(),
        }
        p
    }

    #[test]
    fn defaults_are_the_storys() {
        let c = Config::default();
        assert_eq!((c.failure_threshold, c.success_threshold, c.half_open_max_calls), (5, 2, 2));
        assert_eq!((c.open_timeout_ms, c.error_rate_window_ms), (60_000, 60_000));
    }

    #[test]
    fn bad_numbers_are_refused_naming_the_field() {
        let fields =
            ["failureThreshold", "successThreshold", "halfOpenMaxCalls", "openTimeoutMs", "probeTimeoutMs", "errorRateWindowMs"];
        for field in fields {
            for v in [-1.0, 0.0, 1.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 4294967296.0, 1e300] {
                let err = Config::default().apply(&patch_one(field, v)).unwrap_err();
                assert_eq!(err.field, field);
                assert!(err.to_string().starts_with(field), "{err}");
                assert!(err.to_string().contains(&show_number(v)), "{err}");
            }
        }
    }

    #[test]
    fn limits_are_inclusive() {
        let ok = |f: &str, v: f64| Config::default().apply(&patch_one(f, v)).is_ok();
        assert!(ok("failureThreshold", 1.0) && ok("failureThreshold", 10_000.0) && !ok("failureThreshold", 10_001.0));
        assert!(ok("openTimeoutMs", 1.0) && ok("openTimeoutMs", 86_400_000.0) && !ok("openTimeoutMs", 86_400_001.0));
        assert!(ok("errorRateWindowMs", 1_000.0) && !ok("errorRateWindowMs", 999.0));
    }

    #[test]
    fn half_open_limit_follows_success_threshold_unless_given() {
        let c = Config::default().apply(&ConfigPatch { success_threshold: Some(3.0), ..Default::default() }).unwrap();
        assert_eq!(c.half_open_max_calls, 3);
        let p = ConfigPatch { success_threshold: Some(3.0), half_open_max_calls: Some(1.0), ..Default::default() };
        assert_eq!(Config::default().apply(&p).unwrap().half_open_max_calls, 1);
    }

    #[test]
    fn probe_timeout_follows_open_timeout_unless_given() {
        let c = Config::default().apply(&ConfigPatch { open_timeout_ms: Some(1_000.0), ..Default::default() }).unwrap();
        assert_eq!((c.open_timeout_ms, c.probe_timeout_ms), (1_000, 1_000));
        let p = ConfigPatch { open_timeout_ms: Some(1_000.0), probe_timeout_ms: Some(4_000.0), ..Default::default() };
        let c = Config::default().apply(&p).unwrap();
        assert_eq!((c.open_timeout_ms, c.probe_timeout_ms), (1_000, 4_000));
        let c = c.apply(&ConfigPatch { open_timeout_ms: Some(9.0), ..Default::default() }).unwrap();
        assert_eq!(c.probe_timeout_ms, 4_000, "a probe timeout given once is kept");
    }

    #[test]
    fn a_value_given_in_the_defaults_is_kept_even_when_it_equals_what_it_would_follow() {
        // Defaults give probeTimeoutMs 60000 (equal to the open timeout); an override changes only
        // the open timeout: the probe timeout stays the 60000 that was asked for.
        let p = ConfigPatch { probe_timeout_ms: Some(60_000.0), half_open_max_calls: Some(2.0), ..Default::default() };
        let defaults = Config::default().apply(&p).unwrap();
        let o = ConfigPatch { open_timeout_ms: Some(1_000.0), success_threshold: Some(5.0), ..Default::default() };
        let c = defaults.apply(&o).unwrap();
        assert_eq!((c.probe_timeout_ms, c.half_open_max_calls), (60_000, 2));
    }

    #[test]
    fn numbers_print_as_javascript_does() {
        assert_eq!(show_number(-1.0), "-1");
        assert_eq!(show_number(1.5), "1.5");
        assert_eq!(show_number(f64::NAN), "NaN");
        assert_eq!(show_number(4294967296.0), "4294967296");
        assert_eq!(show_number(f64::INFINITY), "Infinity");
        assert_eq!(show_number(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(show_number(9.999999999999999e20), "999999999999999900000");
        assert_eq!(show_number(1e21), "1e+21");
        assert_eq!(show_number(-1e21), "-1e+21");
        assert_eq!(show_number(1e300), "1e+300");
        assert_eq!(show_number(5e-324), "5e-324");
        assert_eq!(show_number(1e-6), "0.000001");
        assert_eq!(show_number(1e-7), "1e-7");
        assert_eq!(show_number(-0.0), "0");
    }
}
