//! A plugin that requires plugin API 3.99.0, written against the raw C ABI (no SDK): a host
//! implementing 3.12.0 must refuse it with libs' message.

use std::ffi::{c_char, c_void};

/// `plugin_get_required_api_version`.
#[unsafe(no_mangle)]
pub extern "C" fn plugin_get_required_api_version() -> *const c_char {
    c"3.99.0".as_ptr()
}

/// `plugin_get_version`.
#[unsafe(no_mangle)]
pub extern "C" fn plugin_get_version() -> *const c_char {
    c"1.0.0".as_ptr()
}

/// `plugin_get_name`.
#[unsafe(no_mangle)]
pub extern "C" fn plugin_get_name() -> *const c_char {
    c"future".as_ptr()
}

/// `plugin_get_description`.
#[unsafe(no_mangle)]
pub extern "C" fn plugin_get_description() -> *const c_char {
    c"Needs a newer plugin API".as_ptr()
}

/// `plugin_get_contact`.
#[unsafe(no_mangle)]
pub extern "C" fn plugin_get_contact() -> *const c_char {
    c"lanner tests".as_ptr()
}

/// `plugin_init`: never called by a conforming host.
///
/// # Safety
/// `rc` must be null or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plugin_init(_input: *const c_void, rc: *mut i32) -> *mut c_void {
    if !rc.is_null() {
        // SAFETY: the host passes a pointer to its return code.
        unsafe { *rc = 1 };
    }
    std::ptr::null_mut()
}

/// `plugin_destroy`.
#[unsafe(no_mangle)]
pub extern "C" fn plugin_destroy(_s: *mut c_void) {}

/// `plugin_get_last_error`.
#[unsafe(no_mangle)]
pub extern "C" fn plugin_get_last_error(_s: *mut c_void) -> *const c_char {
    c"".as_ptr()
}

/// `plugin_get_fields`: makes it an extraction plugin.
#[unsafe(no_mangle)]
pub extern "C" fn plugin_get_fields() -> *const c_char {
    c"[]".as_ptr()
}

/// `plugin_extract_fields`.
#[unsafe(no_mangle)]
pub extern "C" fn plugin_extract_fields(
    _s: *mut c_void,
    _e: *const c_void,
    _i: *const c_void,
) -> i32 {
    1
}
