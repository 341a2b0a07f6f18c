//! The hot path, written by hand against Node-API (napi::sys): the words table shared with
//! JavaScript, and four small callbacks that take numbers and return a number.
//!
//! napi-rs's generated wrappers cost 65-300 ns a call; these cost about 15. JavaScript calls them
//! only when the words table says it must (see [`crate::words`]).

use std::ffi::CString;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::Arc;

use napi::sys;
use parking_lot::Mutex;

use crate::config::{show_number, whole, SAFE_INTEGER_LIMIT};
use crate::error::{panic_message, RegistryError};
use crate::registry::Registry;
use crate::types::{ErrorCode, Outcome, Permit, Recorded};
use crate::words::{decode_outcome, encode_rejection, Words};

/// A registry shared between the binding object and the callbacks made for it.
pub type Shared = Arc<Mutex<Registry>>;

/// An error to throw into JavaScript: a stable code and a message.
pub struct Thrown(pub ErrorCode, pub String);

impl From<RegistryError> for Thrown {
    fn from(e: RegistryError) -> Self {
        Thrown(e.code(), e.to_string())
    }
}

/// Throws `code`/`message` as a JavaScript Error, unless an exception is already pending.
pub unsafe fn throw(env: sys::napi_env, code: ErrorCode, message: &str) {
    let mut pending = false;
    sys::napi_is_exception_pending(env, &mut pending);
    if pending {
        return;
    }
    let code = CString::new(code.as_str()).unwrap_or_default();
    let message = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    sys::napi_throw_error(env, code.as_ptr(), message.as_ptr());
}

/// Reads up to three numeric arguments and the callback's registry, runs `body` under the
/// registry's lock with panics caught, and returns its number (or throws).
unsafe fn entry(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    arity: usize,
    body: impl FnOnce(&mut Registry, [f64; 3]) -> Result<f64, Thrown>,
) -> sys::napi_value {
    let mut argc = 3usize;
    let mut argv = [ptr::null_mut(); 3];
    let mut data = ptr::null_mut();
    if sys::napi_get_cb_info(env, info, &mut argc, argv.as_mut_ptr(), ptr::null_mut(), &mut data) != sys::Status::napi_ok {
        return ptr::null_mut();
    }
    let mut args = [0f64; 3];
    for (i, arg) in args.iter_mut().enumerate().take(arity) {
        if i >= argc || sys::napi_get_value_double(env, argv[i], arg) != sys::Status::napi_ok {
            throw(env, ErrorCode::InvalidArg, &format!("argument {} must be a number", i + 1));
            return ptr::null_mut();
        }
    }
    let shared = &*(data as *const Mutex<Registry>);
    let result = catch_unwind(AssertUnwindSafe(|| body(&mut shared.lock(), args)));
    let value = match result {
        Ok(Ok(v)) => v,
        Ok(Err(Thrown(code, message))) => {
            throw(env, code, &message);
            return ptr::null_mut();
        }
        Err(p) => {
            throw(env, ErrorCode::Internal, &panic_message(&*p));
            return ptr::null_mut();
        }
    };
    let mut out = ptr::null_mut();
    sys::napi_create_double(env, value, &mut out);
    out
}

fn bad_arg(what: &str, v: f64) -> Thrown {
    Thrown(ErrorCode::InvalidArg, format!("{what} (got {})", show_number(v)))
}

fn permit_of(v: f64) -> Result<Permit, Thrown> {
    whole(v, SAFE_INTEGER_LIMIT).and_then(Permit::decode).ok_or_else(|| bad_arg("permit must be a number admit() returned", v))
}

fn outcome_of(v: f64) -> Result<Outcome, Thrown> {
    let outcomes = crate::words::OUTCOME_FAILURE as usize + crate::types::Failure::ALL.len();
    let why = format!("outcome must be 0 (success), 1 (released) or 2-{} (a failure kind)", outcomes - 1);
    whole(v, SAFE_INTEGER_LIMIT).and_then(decode_outcome).ok_or_else(|| bad_arg(&why, v))
}

/// `admit(slot)`: a permit (a non-negative integer), or, when the breaker rejects the call, the
/// negative code of [`encode_rejection`]: one call tells JavaScript all it needs for the rejection.
unsafe extern "C" fn admit(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    entry(env, info, 1, |r, [slot, ..]| {
        let slot = r.check_slot(slot)?;
        Ok(match r.acquire(slot) {
            Ok(permit) => permit.encode() as f64,
            Err(no) => encode_rejection(no),
        })
    })
}

/// `settle(slot, permit, outcome)`: 1 if the outcome counted, 0 if it was late.
unsafe extern "C" fn settle(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    entry(env, info, 3, |r, [slot, permit, outcome]| {
        let slot = r.check_slot(slot)?;
        let (permit, outcome) = (permit_of(permit)?, outcome_of(outcome)?);
        Ok(if r.record(slot, permit, outcome) == Recorded::Counted { 1.0 } else { 0.0 })
    })
}

/// `state(slot)`: the effective state's code (0 CLOSED, 1 OPEN, 2 HALF_OPEN).
unsafe extern "C" fn state(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    entry(env, info, 1, |r, [slot, ..]| {
        let slot = r.check_slot(slot)?;
        Ok(r.observe(slot).0.code() as f64)
    })
}

/// `openRemainingMs(slot)`: milliseconds until an OPEN breaker turns HALF_OPEN, else 0.
unsafe extern "C" fn open_remaining(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    entry(env, info, 1, |r, [slot, ..]| {
        let slot = r.check_slot(slot)?;
        Ok(r.observe(slot).1 as f64)
    })
}

/// `flush(slot)`: folds the slot's fast-path counts into its metrics.
unsafe extern "C" fn flush(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    entry(env, info, 1, |r, [slot, ..]| {
        let slot = r.check_slot(slot)?;
        r.flush(slot);
        Ok(0.0)
    })
}

unsafe extern "C" fn drop_shared(_env: sys::napi_env, data: *mut std::ffi::c_void, _hint: *mut std::ffi::c_void) {
    drop(Arc::from_raw(data as *const Mutex<Registry>));
}

unsafe extern "C" fn drop_words(_env: sys::napi_env, _data: *mut std::ffi::c_void, hint: *mut std::ffi::c_void) {
    drop(Arc::from_raw(hint as *const Words));
}

fn check(status: sys::napi_status, what: &str) -> Result<(), Thrown> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(Thrown(ErrorCode::Internal, format!("Node-API call failed while {what} (status {status})")))
    }
}

type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

/// Builds `{ words, admit, settle, state, openRemainingMs, flush }` for a registry.
pub unsafe fn hot_path(env: sys::napi_env, shared: &Shared) -> Result<sys::napi_value, Thrown> {
    let mut obj = ptr::null_mut();
    check(sys::napi_create_object(env, &mut obj), "creating the hot path")?;
    let words = shared.lock().words();
    let (ptr_words, len) = (words.as_ptr(), words.len());
    let hint = Arc::into_raw(words) as *mut std::ffi::c_void;
    let mut buffer = ptr::null_mut();
    let status = sys::napi_create_external_arraybuffer(env, ptr_words.cast(), len * 4, Some(drop_words), hint, &mut buffer);
    if status != sys::Status::napi_ok {
        drop(Arc::from_raw(hint as *const Words));
        let mut pending = false;
        sys::napi_is_exception_pending(env, &mut pending);
        if pending {
            let mut e = ptr::null_mut();
            sys::napi_get_and_clear_last_exception(env, &mut e);
        }
        return Err(Thrown(ErrorCode::UnsupportedRuntime, "this JavaScript runtime does not allow external ArrayBuffers, which agent-circuit-breaker needs".into()));
    }
    let mut array = ptr::null_mut();
    check(sys::napi_create_typedarray(env, sys::TypedarrayType::int32_array, len, buffer, 0, &mut array), "creating the words table")?;
    check(sys::napi_set_named_property(env, obj, c"words".as_ptr(), array), "setting words")?;
    let callbacks: [(&std::ffi::CStr, Callback); 5] = [
        (c"admit", admit),
        (c"settle", settle),
        (c"state", state),
        (c"openRemainingMs", open_remaining),
        (c"flush", flush),
    ];
    for (name, cb) in callbacks {
        let data = Arc::into_raw(shared.clone()) as *mut std::ffi::c_void;
        let mut f = ptr::null_mut();
        let made = sys::napi_create_function(env, name.as_ptr(), name.to_bytes().len() as isize, Some(cb), data, &mut f);
        if made != sys::Status::napi_ok {
            drop(Arc::from_raw(data as *const Mutex<Registry>));
            return Err(Thrown(ErrorCode::Internal, "Node-API could not create a function".into()));
        }
        check(sys::napi_add_finalizer(env, f, data, Some(drop_shared), ptr::null_mut(), ptr::null_mut()), "attaching a finalizer")?;
        check(sys::napi_set_named_property(env, obj, name.as_ptr(), f), "setting a callback")?;
    }
    Ok(obj)
}
