//! The napi-rs binding: `ManualClock` and `NativeRegistry`, thin wrappers over the core. Everything
//! here is off the hot path; [`crate::hot`] has the per-call functions.
//!
//! Values from JavaScript are read as raw `napi_value`s and checked here, so that every bad input
//! gets an error with a stable `code` rather than a napi conversion error or a silent wrap.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::{sys, JsValue};
use napi_derive::napi;
use parking_lot::Mutex;

use crate::clock::{Clock, ManualTime};
use crate::config::{show_number, whole, Config, ConfigPatch, MaxAgents, MAX_DURATION_MS, MAX_ID_CHARS, MAX_THRESHOLD, SAFE_INTEGER_LIMIT};
use crate::error::panic_message;
use crate::hot::{self, Shared, Thrown};
use crate::registry::Registry;
use crate::types::{ErrorCode, Saved};

fn to_js(t: Thrown) -> napi::Error<&'static str> {
    napi::Error::new(t.0.as_str(), t.1)
}

/// Runs `f` with panics caught, so JavaScript gets an `ERR_INTERNAL` Error and the process lives.
fn guard<T>(f: impl FnOnce() -> std::result::Result<T, Thrown>) -> Result<T, &'static str> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(to_js),
        Err(p) => Err(to_js(Thrown(ErrorCode::Internal, panic_message(&*p)))),
    }
}

/// Reads a JavaScript value's type.
unsafe fn type_of(env: sys::napi_env, v: sys::napi_value) -> sys::napi_valuetype {
    let mut t = sys::ValueType::napi_undefined;
    sys::napi_typeof(env, v, &mut t);
    t
}

fn describe(t: sys::napi_valuetype) -> &'static str {
    match t {
        sys::ValueType::napi_undefined => "undefined",
        sys::ValueType::napi_null => "null",
        sys::ValueType::napi_boolean => "a boolean",
        sys::ValueType::napi_number => "a number",
        sys::ValueType::napi_string => "a string",
        sys::ValueType::napi_symbol => "a symbol",
        sys::ValueType::napi_object => "an object",
        sys::ValueType::napi_function => "a function",
        sys::ValueType::napi_bigint => "a bigint",
        _ => "an external value",
    }
}

/// Reads an agent id: a string of well-formed UTF-16 (lone surrogates would collide once converted).
unsafe fn read_id(env: sys::napi_env, v: sys::napi_value) -> std::result::Result<String, Thrown> {
    let t = type_of(env, v);
    if t != sys::ValueType::napi_string {
        return Err(Thrown(ErrorCode::InvalidAgentId, format!("invalid agent id: expected a string, got {}", describe(t))));
    }
    let mut len = 0usize;
    sys::napi_get_value_string_utf16(env, v, ptr::null_mut(), 0, &mut len);
    // A cheap bound before copying (the character count is checked by the registry).
    if len > 4 * MAX_ID_CHARS {
        return Err(Thrown(ErrorCode::InvalidAgentId, format!("invalid agent id: it has {len} UTF-16 units; ids are 1 to {MAX_ID_CHARS} characters")));
    }
    let mut buf = vec![0u16; len + 1];
    sys::napi_get_value_string_utf16(env, v, buf.as_mut_ptr(), buf.len(), &mut len);
    String::from_utf16(&buf[..len]).map_err(|_| {
        Thrown(ErrorCode::InvalidAgentId, "invalid agent id: it contains a lone surrogate (not well-formed UTF-16)".into())
    })
}

/// Reads an optional number: `undefined` is `None`, anything else not a number is an error for `field`.
unsafe fn read_number(env: sys::napi_env, v: sys::napi_value, field: &str) -> std::result::Result<Option<f64>, Thrown> {
    match type_of(env, v) {
        sys::ValueType::napi_undefined => Ok(None),
        sys::ValueType::napi_number => {
            let mut n = 0f64;
            sys::napi_get_value_double(env, v, &mut n);
            Ok(Some(n))
        }
        t => Err(Thrown(ErrorCode::CircuitConfig, format!("{field} must be a number, got {}", describe(t)))),
    }
}

/// Reads a property; a throwing getter's exception stays pending and is what JavaScript sees.
unsafe fn get(env: sys::napi_env, obj: sys::napi_value, key: &std::ffi::CStr) -> std::result::Result<sys::napi_value, Thrown> {
    let mut v = ptr::null_mut();
    if sys::napi_get_named_property(env, obj, key.as_ptr(), &mut v) != sys::Status::napi_ok {
        // The getter's exception stays pending: napi-rs leaves it to JavaScript.
        return Err(Thrown(ErrorCode::Internal, format!("reading {key:?} threw")));
    }
    Ok(v)
}

/// Reads a config object (or `undefined`) into a patch of raw numbers; ranges are checked by the core.
unsafe fn read_patch(env: sys::napi_env, v: Option<sys::napi_value>) -> std::result::Result<ConfigPatch, Thrown> {
    let Some(v) = v else { return Ok(ConfigPatch::default()) };
    match type_of(env, v) {
        sys::ValueType::napi_undefined => return Ok(ConfigPatch::default()),
        sys::ValueType::napi_object => {}
        t => return Err(Thrown(ErrorCode::CircuitConfig, format!("config must be an object, got {}", describe(t)))),
    }
    let field = |key: &std::ffi::CStr, name: &str| -> std::result::Result<Option<f64>, Thrown> { read_number(env, get(env, v, key)?, name) };
    Ok(ConfigPatch {
        failure_threshold: field(c"failureThreshold", "failureThreshold")?,
        success_threshold: field(c"successThreshold", "successThreshold")?,
        half_open_max_calls: field(c"halfOpenMaxCalls", "halfOpenMaxCalls")?,
        open_timeout_ms: field(c"openTimeoutMs", "openTimeoutMs")?,
        probe_timeout_ms: field(c"probeTimeoutMs", "probeTimeoutMs")?,
        error_rate_window_ms: field(c"errorRateWindowMs", "errorRateWindowMs")?,
        error_rate_threshold: field(c"errorRateThreshold", "errorRateThreshold")?,
        minimum_calls: field(c"minimumCalls", "minimumCalls")?,
        open_backoff_multiplier: field(c"openBackoffMultiplier", "openBackoffMultiplier")?,
        open_timeout_max_ms: field(c"openTimeoutMaxMs", "openTimeoutMaxMs")?,
    })
}

fn json<T: serde::Serialize>(v: &T) -> std::result::Result<String, Thrown> {
    serde_json::to_string(v).map_err(|e| Thrown(ErrorCode::Internal, e.to_string()))
}

/// A clock that moves only when `advance(ms)` is called: give it to a registry to test timeouts instantly.
#[napi]
pub struct ManualClock {
    time: Arc<ManualTime>,
}

#[napi]
impl ManualClock {
    /// A manual clock reading `startMs` (default 0).
    #[napi(constructor, ts_args_type = "startMs?: number")]
    pub fn new(start_ms: Option<Unknown>) -> Result<Self, &'static str> {
        guard(|| {
            let start = match start_ms {
                Some(v) => unsafe { read_ms(v.value().env, v.raw(), "startMs")? },
                None => 0,
            };
            Ok(ManualClock { time: Arc::new(ManualTime::new(start)) })
        })
    }

    /// Moves the clock forward by `ms` milliseconds; returns the new reading. The reading never
    /// passes 2^53 - 1 (`Number.MAX_SAFE_INTEGER`): an advance past it throws `ERR_INVALID_ARG`
    /// and leaves the clock where it was.
    #[napi(ts_args_type = "ms: number")]
    pub fn advance(&self, ms: Unknown) -> Result<f64, &'static str> {
        guard(|| {
            let ms = unsafe { read_ms(ms.value().env, ms.raw(), "ms")? };
            let now = self.time.now_ms();
            let moved = self.time.advance(ms).ok_or_else(|| {
                let why = format!("ms would move the manual clock from {now} past its maximum, 2^53 - 1 (Number.MAX_SAFE_INTEGER)");
                Thrown(ErrorCode::InvalidArg, format!("{why} (got {})", show_number(ms as f64)))
            })?;
            Ok(moved as f64)
        })
    }

    /// The current reading, in milliseconds.
    #[napi(getter)]
    pub fn now_ms(&self) -> f64 {
        self.time.now_ms() as f64
    }
}

/// Reads a non-negative integer number of milliseconds below 2^53.
unsafe fn read_ms(env: sys::napi_env, v: sys::napi_value, name: &str) -> std::result::Result<u64, Thrown> {
    let bad = |got: String| Thrown(ErrorCode::InvalidArg, format!("{name} must be a non-negative integer number of milliseconds (got {got})"));
    match read_number(env, v, name) {
        Ok(Some(n)) => whole(n, SAFE_INTEGER_LIMIT).ok_or_else(|| bad(show_number(n))),
        _ => Err(bad(describe(type_of(env, v)).to_owned())),
    }
}

/// The native registry behind `AgentCircuitBreaker` and `CircuitBreaker`: breakers by agent id.
/// Use the TypeScript classes; this one is their engine.
#[napi]
pub struct NativeRegistry {
    shared: Shared,
}

#[napi]
impl NativeRegistry {
    /// An empty registry with default settings `defaults`, room for `maxAgents` breakers (default 1000)
    /// and the monotonic clock, or `clock` if given.
    #[napi(constructor, ts_args_type = "defaults?: object, maxAgents?: number, clock?: ManualClock")]
    pub fn new(env: Env, defaults: Option<Unknown>, max_agents: Option<Unknown>, clock: Option<&ManualClock>) -> Result<Self, &'static str> {
        guard(|| unsafe {
            let config_error = |e: crate::config::ConfigError| Thrown(ErrorCode::CircuitConfig, e.to_string());
            let defaults = Config::default().apply(&read_patch(env.raw(), defaults.map(|d| d.raw()))?).map_err(config_error)?;
            let max = match max_agents {
                Some(m) => read_number(env.raw(), m.raw(), "maxAgents")?,
                None => None,
            };
            let max = MaxAgents::new(max).map_err(config_error)?;
            let clock = clock.map_or_else(Clock::monotonic, |c| Clock::Manual(c.time.clone()));
            Ok(NativeRegistry { shared: Arc::new(Mutex::new(Registry::new(defaults, max, clock))) })
        })
    }

    /// Adds a breaker for `agentId` (the defaults with `config` applied); returns its slot.
    #[napi(ts_args_type = "agentId: string, config?: object")]
    pub fn add(&self, env: Env, agent_id: Unknown, config: Option<Unknown>) -> Result<u32, &'static str> {
        guard(|| unsafe {
            let id = read_id(env.raw(), agent_id.raw())?;
            let patch = read_patch(env.raw(), config.map(|c| c.raw()))?;
            Ok(self.shared.lock().add(&id, &patch)?)
        })
    }

    /// The slot of `agentId`; `ERR_UNKNOWN_AGENT` naming the known ids if it has no breaker.
    #[napi(ts_args_type = "agentId: string")]
    pub fn slot_of(&self, env: Env, agent_id: Unknown) -> Result<u32, &'static str> {
        guard(|| unsafe {
            let id = read_id(env.raw(), agent_id.raw())?;
            Ok(self.shared.lock().slot_of(&id)?)
        })
    }

    /// The agent ids, in slot order.
    #[napi]
    pub fn agents(&self) -> Vec<String> {
        self.shared.lock().ids()
    }

    /// The registry's default settings, as JSON.
    #[napi]
    pub fn defaults_json(&self) -> Result<String, &'static str> {
        guard(|| json(self.shared.lock().defaults()))
    }

    /// The status of the breaker in `slot`, as JSON.
    #[napi]
    pub fn status_json(&self, slot: f64) -> Result<String, &'static str> {
        self.on_slot(slot, |r, slot| json(&r.snapshot(slot)))
    }

    /// The status of every breaker, in slot order, as a JSON array.
    #[napi]
    pub fn status_all_json(&self) -> Result<String, &'static str> {
        guard(|| json(&self.shared.lock().snapshot_all()))
    }

    /// Every breaker's row of the metrics table, in slot order; the columns are `TABLE_COLUMNS` (the contract).
    #[napi]
    pub fn metrics_table(&self) -> Result<Float64Array, &'static str> {
        guard(|| Ok(Float64Array::new(self.shared.lock().metrics_table())))
    }

    /// The contract's constants (see `src/contract.rs`) as JSON: what `lib/resilience/contract.ts`
    /// was generated from, for a test that checks the loaded binary agrees with it.
    #[napi]
    pub fn contract_json() -> String {
        crate::contract::json()
    }

    /// Opens the breaker in `slot` now.
    #[napi]
    pub fn force_open(&self, slot: f64) -> Result<(), &'static str> {
        self.on_slot(slot, |r, slot| {
            r.force_open(slot);
            Ok(())
        })
    }

    /// Closes the breaker in `slot` now and clears its consecutive counts.
    #[napi]
    pub fn reset(&self, slot: f64) -> Result<(), &'static str> {
        self.on_slot(slot, |r, slot| {
            r.reset(slot);
            Ok(())
        })
    }

    /// Holds the breaker in `slot` OPEN until `endIsolation(slot, token)` with the token returned.
    #[napi]
    pub fn isolate(&self, slot: f64) -> Result<u32, &'static str> {
        self.on_slot(slot, |r, slot| Ok(r.isolate(slot)))
    }

    /// Releases an `isolate` hold; false if it was not held (released already, or cleared by a reset).
    #[napi]
    pub fn end_isolation(&self, slot: f64, token: f64) -> Result<bool, &'static str> {
        self.on_slot(slot, |r, slot| {
            let token = whole(token, u32::MAX as f64 + 1.0).ok_or_else(|| Thrown(ErrorCode::InvalidArg, format!("token must be a number isolate() returned (got {})", show_number(token))))?;
            Ok(r.end_isolation(slot, token as u32))
        })
    }

    /// Fleet sync: another instance opened the breaker in `slot`; OPEN for `remainingMs` more
    /// (transition reason `remote_open`).
    #[napi]
    pub fn remote_open(&self, slot: f64, remaining_ms: f64) -> Result<(), &'static str> {
        self.on_slot(slot, |r, slot| {
            let remaining = whole(remaining_ms, MAX_DURATION_MS as f64 + 1.0).ok_or_else(|| {
                Thrown(ErrorCode::InvalidArg, format!("remainingMs must be a whole number of milliseconds in 0..={MAX_DURATION_MS} (got {})", show_number(remaining_ms)))
            })?;
            r.remote_open(slot, remaining as u64);
            Ok(())
        })
    }

    /// Fleet sync: another instance closed the breaker in `slot` (transition reason `remote_close`).
    #[napi]
    pub fn remote_close(&self, slot: f64) -> Result<(), &'static str> {
        self.on_slot(slot, |r, slot| {
            r.remote_close(slot);
            Ok(())
        })
    }

    /// Fleet sync: the probes the breaker in `slot` may still start in this recovery window;
    /// `null` for the local rules.
    #[napi]
    pub fn set_probe_leases(&self, slot: f64, leases: Option<f64>) -> Result<(), &'static str> {
        self.on_slot(slot, |r, slot| {
            let leases = match leases {
                None => None,
                Some(n) => Some(whole(n, MAX_THRESHOLD as f64 + 1.0).ok_or_else(|| {
                    Thrown(ErrorCode::InvalidArg, format!("leases must be null or a whole number in 0..={MAX_THRESHOLD} (got {})", show_number(n)))
                })? as u32),
            };
            r.set_probe_leases(slot, leases);
            Ok(())
        })
    }

    /// The saved state of the breaker in `slot` (`snapshot()`), as JSON.
    #[napi]
    pub fn snapshot_json(&self, slot: f64) -> Result<String, &'static str> {
        self.on_slot(slot, |r, slot| json(&r.saved(slot)))
    }

    /// Puts the breaker in `slot` in the saved state `snapshotJson` (from `snapshotJson`).
    #[napi]
    pub fn restore_json(&self, slot: f64, snapshot_json: String) -> Result<(), &'static str> {
        self.on_slot(slot, |r, slot| {
            let saved: Saved = serde_json::from_str(&snapshot_json)
                .map_err(|e| Thrown(ErrorCode::InvalidArg, format!("not a breaker snapshot: {e}")))?;
            if saved.open_remaining_ms > MAX_DURATION_MS {
                let why = format!("not a breaker snapshot: openRemainingMs must be at most {MAX_DURATION_MS} (got {})", saved.open_remaining_ms);
                return Err(Thrown(ErrorCode::InvalidArg, why));
            }
            r.restore(slot, &saved).map_err(|why| Thrown(ErrorCode::InvalidArg, why.to_owned()))
        })
    }

    /// Takes the transitions not yet drained, oldest first, as a JSON array of
    /// `{agent, from, to, reason, atMs, consecutiveFailures}`.
    #[napi]
    pub fn drain_transitions_json(&self) -> Result<String, &'static str> {
        guard(|| json(&self.shared.lock().drain_events()))
    }

    /// The registry clock's reading, in milliseconds.
    #[napi]
    pub fn now_ms(&self) -> f64 {
        self.shared.lock().now_ms() as f64
    }

    /// The hot path: the words table and the per-call functions (see the `words` module docs).
    #[napi(
        ts_return_type = "{ words: Int32Array; admit(slot: number): number; settle(slot: number, permit: number, outcome: number): number; state(slot: number): number; openRemainingMs(slot: number): number; flush(slot: number): number }"
    )]
    pub fn hot_path(&self, env: Env) -> Result<Unknown<'_>, &'static str> {
        guard(|| unsafe {
            let v = hot::hot_path(env.raw(), &self.shared)?;
            Ok(Unknown::from_raw_unchecked(env.raw(), v))
        })
    }
}

impl NativeRegistry {
    /// Runs `op` on the registry with `slot` checked, under the lock, with panics caught.
    fn on_slot<T>(&self, slot: f64, op: impl FnOnce(&mut Registry, usize) -> std::result::Result<T, Thrown>) -> Result<T, &'static str> {
        guard(|| {
            let mut r = self.shared.lock();
            let slot = r.check_slot(slot)?;
            op(&mut r, slot)
        })
    }
}
