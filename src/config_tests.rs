//! Tests of the settings and the value checks.
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

#[test]
fn config_keys_are_the_serialized_fields_in_order() {
    let json = serde_json::to_value(Config::default()).unwrap();
    let mut keys: Vec<_> = json.as_object().unwrap().keys().map(String::as_str).collect();
    let mut want = CONFIG_KEYS.to_vec();
    keys.sort_unstable();
    want.sort_unstable();
    assert_eq!(keys, want);
}
