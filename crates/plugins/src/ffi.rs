//! The C ABI of libs' `userspace/plugin/plugin_api.h` and `plugin_types.h` (API 3.12.0), the
//! part lanner uses, declared by hand.
//!
//! Layouts follow the header field for field; the tests at the bottom pin the sizes the
//! header's static asserts (and bindgen's) give on 64-bit Linux. Function pointers are
//! `extern "C-unwind"`, as the Rust SDK declares them: a panic the plugin lets escape would
//! otherwise be undefined behaviour rather than an abort of this process.

#![expect(non_camel_case_types, reason = "the C names of plugin_api.h, kept for grepping")]
#![expect(missing_docs, reason = "each item mirrors the C declaration of the same name")]

use std::ffi::{c_char, c_void};

pub type ss_plugin_rc = i32;
pub const SS_PLUGIN_SUCCESS: ss_plugin_rc = 0;
pub const SS_PLUGIN_FAILURE: ss_plugin_rc = 1;
pub const SS_PLUGIN_TIMEOUT: ss_plugin_rc = -1;
pub const SS_PLUGIN_EOF: ss_plugin_rc = 2;
pub const SS_PLUGIN_NOT_SUPPORTED: ss_plugin_rc = 3;

pub type ss_plugin_bool = u32;
pub type ss_plugin_schema_type = u32;
pub const SS_PLUGIN_SCHEMA_NONE: ss_plugin_schema_type = 0;
pub const SS_PLUGIN_SCHEMA_JSON: ss_plugin_schema_type = 1;

pub const FTYPE_UINT64: u32 = 8;
pub const FTYPE_STRING: u32 = 9;
pub const FTYPE_RELTIME: u32 = 20;
pub const FTYPE_ABSTIME: u32 = 21;
pub const FTYPE_BOOL: u32 = 25;
pub const FTYPE_IPADDR: u32 = 40;
pub const FTYPE_IPNET: u32 = 41;

pub type ss_plugin_state_type = u32;
pub type ss_plugin_log_severity = u32;

/// Opaque handles.
#[repr(C)]
pub struct ss_plugin_t {
    _private: [u8; 0],
}
#[repr(C)]
pub struct ss_instance_t {
    _private: [u8; 0],
}
#[repr(C)]
pub struct ss_plugin_owner_t {
    _private: [u8; 0],
}
#[repr(C)]
pub struct ss_plugin_table_t {
    _private: [u8; 0],
}
#[repr(C)]
pub struct ss_plugin_table_entry_t {
    _private: [u8; 0],
}
#[repr(C)]
pub struct ss_plugin_table_field_t {
    _private: [u8; 0],
}
#[repr(C)]
pub struct ss_plugin_table_iterator_state_t {
    _private: [u8; 0],
}
#[repr(C)]
pub struct ss_plugin_routine_t {
    _private: [u8; 0],
}
#[repr(C)]
pub struct ss_plugin_routine_state_t {
    _private: [u8; 0],
}

/// The event header (`ss_plugin_event`, packed): the parameter lengths and data follow.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug)]
pub struct ss_plugin_event {
    pub ts: u64,
    pub tid: u64,
    pub len: u32,
    pub type_: u16,
    pub nparams: u32,
}

#[repr(C)]
pub struct ss_plugin_event_input {
    pub evt: *const ss_plugin_event,
    pub evtnum: u64,
    pub evtsrc: *const c_char,
}

#[repr(C)]
pub struct ss_plugin_byte_buffer {
    pub len: u32,
    pub ptr: *const c_void,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub union ss_plugin_extract_result {
    pub str_: *mut *const c_char,
    pub u64_: *mut u64,
    pub u32_: *mut u32,
    pub boolean: *mut ss_plugin_bool,
    pub buf: *mut ss_plugin_byte_buffer,
}

#[repr(C)]
pub struct ss_plugin_extract_field {
    pub res: ss_plugin_extract_result,
    pub res_len: u64,
    pub field_id: u32,
    pub field: *const c_char,
    pub arg_key: *const c_char,
    pub arg_index: u64,
    pub arg_present: ss_plugin_bool,
    pub ftype: u32,
    pub flist: ss_plugin_bool,
}

#[repr(C)]
pub struct ss_plugin_extract_value_offsets {
    pub start: *mut u32,
    pub length: *mut u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub union ss_plugin_state_data {
    pub s8: i8,
    pub s16: i16,
    pub s32: i32,
    pub s64: i64,
    pub u8_: u8,
    pub u16_: u16,
    pub u32_: u32,
    pub u64_: u64,
    pub str_: *const c_char,
    pub b: ss_plugin_bool,
    pub table: *mut ss_plugin_table_t,
}

#[repr(C)]
pub struct ss_plugin_table_info {
    pub name: *const c_char,
    pub key_type: ss_plugin_state_type,
}

#[repr(C)]
pub struct ss_plugin_table_fieldinfo {
    pub name: *const c_char,
    pub field_type: ss_plugin_state_type,
    pub read_only: ss_plugin_bool,
}

pub type ss_plugin_metric_type = u32;
pub type ss_plugin_metric_value_type = u32;
pub const SS_PLUGIN_METRIC_VALUE_TYPE_U32: u32 = 0;
pub const SS_PLUGIN_METRIC_VALUE_TYPE_S32: u32 = 1;
pub const SS_PLUGIN_METRIC_VALUE_TYPE_U64: u32 = 2;
pub const SS_PLUGIN_METRIC_VALUE_TYPE_S64: u32 = 3;
pub const SS_PLUGIN_METRIC_VALUE_TYPE_D: u32 = 4;
pub const SS_PLUGIN_METRIC_VALUE_TYPE_F: u32 = 5;
pub const SS_PLUGIN_METRIC_VALUE_TYPE_I: u32 = 6;

#[repr(C)]
#[derive(Clone, Copy)]
pub union ss_plugin_metric_value {
    pub u32_: u32,
    pub s32: i32,
    pub u64_: u64,
    pub s64: i64,
    pub d: f64,
    pub f: f32,
    pub i: i32,
}

#[repr(C)]
pub struct ss_plugin_metric {
    pub name: *const c_char,
    pub type_: ss_plugin_metric_type,
    pub value: ss_plugin_metric_value,
    pub value_type: ss_plugin_metric_value_type,
}

type T = *mut ss_plugin_table_t;
type E = *mut ss_plugin_table_entry_t;
type F = *mut ss_plugin_table_field_t;

pub type ss_plugin_table_iterator_func_t = Option<
    unsafe extern "C-unwind" fn(s: *mut ss_plugin_table_iterator_state_t, e: E) -> ss_plugin_bool,
>;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct ss_plugin_table_fields_vtable_ext {
    pub list_table_fields: Option<
        unsafe extern "C-unwind" fn(t: T, nfields: *mut u32) -> *const ss_plugin_table_fieldinfo,
    >,
    pub get_table_field: Option<
        unsafe extern "C-unwind" fn(t: T, name: *const c_char, ty: ss_plugin_state_type) -> F,
    >,
    pub add_table_field: Option<
        unsafe extern "C-unwind" fn(t: T, name: *const c_char, ty: ss_plugin_state_type) -> F,
    >,
}

/// The first three functions of the reader (`ss_plugin_table_reader_vtable`); the `_ext`
/// form adds the rest.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ss_plugin_table_reader_vtable {
    pub get_table_name: Option<unsafe extern "C-unwind" fn(t: T) -> *const c_char>,
    pub get_table_size: Option<unsafe extern "C-unwind" fn(t: T) -> u64>,
    pub get_table_entry:
        Option<unsafe extern "C-unwind" fn(t: T, key: *const ss_plugin_state_data) -> E>,
    pub read_entry_field: Option<
        unsafe extern "C-unwind" fn(
            t: T,
            e: E,
            f: *const ss_plugin_table_field_t,
            out: *mut ss_plugin_state_data,
        ) -> ss_plugin_rc,
    >,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct ss_plugin_table_reader_vtable_ext {
    pub base: ss_plugin_table_reader_vtable,
    pub release_table_entry: Option<unsafe extern "C-unwind" fn(t: T, e: E)>,
    pub iterate_entries: Option<
        unsafe extern "C-unwind" fn(
            t: T,
            it: ss_plugin_table_iterator_func_t,
            s: *mut ss_plugin_table_iterator_state_t,
        ) -> ss_plugin_bool,
    >,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct ss_plugin_table_writer_vtable {
    pub clear_table: Option<unsafe extern "C-unwind" fn(t: T) -> ss_plugin_rc>,
    pub erase_table_entry:
        Option<unsafe extern "C-unwind" fn(t: T, key: *const ss_plugin_state_data) -> ss_plugin_rc>,
    pub create_table_entry: Option<unsafe extern "C-unwind" fn(t: T) -> E>,
    pub destroy_table_entry: Option<unsafe extern "C-unwind" fn(t: T, e: E)>,
    pub add_table_entry:
        Option<unsafe extern "C-unwind" fn(t: T, key: *const ss_plugin_state_data, e: E) -> E>,
    pub write_entry_field: Option<
        unsafe extern "C-unwind" fn(
            t: T,
            e: E,
            f: *const ss_plugin_table_field_t,
            v: *const ss_plugin_state_data,
        ) -> ss_plugin_rc,
    >,
}

/// `ss_plugin_table_writer_vtable_ext` has the same functions as the base writer.
pub type ss_plugin_table_writer_vtable_ext = ss_plugin_table_writer_vtable;

#[repr(C)]
pub struct ss_plugin_table_input {
    pub name: *const c_char,
    pub key_type: ss_plugin_state_type,
    pub table: T,
    pub reader: ss_plugin_table_reader_vtable,
    pub writer: ss_plugin_table_writer_vtable,
    pub fields: ss_plugin_table_fields_vtable_ext,
    pub reader_ext: *mut ss_plugin_table_reader_vtable_ext,
    pub writer_ext: *mut ss_plugin_table_writer_vtable_ext,
    pub fields_ext: *mut ss_plugin_table_fields_vtable_ext,
}

pub type Owner = *mut ss_plugin_owner_t;
pub type GetOwnerLastError = Option<unsafe extern "C-unwind" fn(o: Owner) -> *const c_char>;

#[repr(C)]
pub struct ss_plugin_init_tables_input {
    pub list_tables: Option<
        unsafe extern "C-unwind" fn(o: Owner, ntables: *mut u32) -> *mut ss_plugin_table_info,
    >,
    pub get_table: Option<
        unsafe extern "C-unwind" fn(o: Owner, name: *const c_char, key: ss_plugin_state_type) -> T,
    >,
    pub add_table: Option<
        unsafe extern "C-unwind" fn(o: Owner, i: *const ss_plugin_table_input) -> ss_plugin_rc,
    >,
    pub fields: ss_plugin_table_fields_vtable_ext,
    pub fields_ext: *mut ss_plugin_table_fields_vtable_ext,
    pub reader_ext: *mut ss_plugin_table_reader_vtable_ext,
    pub writer_ext: *mut ss_plugin_table_writer_vtable_ext,
}

pub type ss_plugin_log_fn_t = Option<
    unsafe extern "C-unwind" fn(
        o: Owner,
        component: *const c_char,
        msg: *const c_char,
        sev: ss_plugin_log_severity,
    ),
>;

#[repr(C)]
pub struct ss_plugin_init_input {
    pub config: *const c_char,
    pub owner: Owner,
    pub get_owner_last_error: GetOwnerLastError,
    pub tables: *const ss_plugin_init_tables_input,
    pub log_fn: ss_plugin_log_fn_t,
}

#[repr(C)]
pub struct ss_plugin_field_extract_input {
    pub owner: Owner,
    pub get_owner_last_error: GetOwnerLastError,
    pub num_fields: u32,
    pub fields: *mut ss_plugin_extract_field,
    pub table_reader: ss_plugin_table_reader_vtable,
    pub table_reader_ext: *mut ss_plugin_table_reader_vtable_ext,
    pub value_offsets: *mut ss_plugin_extract_value_offsets,
}

#[repr(C)]
pub struct ss_plugin_event_parse_input {
    pub owner: Owner,
    pub get_owner_last_error: GetOwnerLastError,
    pub table_reader: ss_plugin_table_reader_vtable,
    pub table_writer: ss_plugin_table_writer_vtable,
    pub table_reader_ext: *mut ss_plugin_table_reader_vtable_ext,
    pub table_writer_ext: *mut ss_plugin_table_writer_vtable_ext,
}

pub type ss_plugin_routine_fn_t = Option<
    unsafe extern "C-unwind" fn(
        s: *mut ss_plugin_t,
        i: *mut ss_plugin_routine_state_t,
    ) -> ss_plugin_bool,
>;

#[repr(C)]
pub struct ss_plugin_routine_vtable {
    pub subscribe: Option<
        unsafe extern "C-unwind" fn(
            o: Owner,
            f: ss_plugin_routine_fn_t,
            i: *mut ss_plugin_routine_state_t,
        ) -> *mut ss_plugin_routine_t,
    >,
    pub unsubscribe:
        Option<unsafe extern "C-unwind" fn(o: Owner, r: *mut ss_plugin_routine_t) -> ss_plugin_rc>,
}

#[repr(C)]
pub struct ss_plugin_capture_listen_input {
    pub owner: Owner,
    pub routine: *mut ss_plugin_routine_vtable,
    pub table_reader_ext: *mut ss_plugin_table_reader_vtable_ext,
    pub table_writer_ext: *mut ss_plugin_table_writer_vtable_ext,
    pub get_owner_last_error: GetOwnerLastError,
}

pub type ss_plugin_async_event_handler_t = Option<
    unsafe extern "C-unwind" fn(
        o: Owner,
        evt: *const ss_plugin_event,
        err: *mut c_char,
    ) -> ss_plugin_rc,
>;

pub type P = *mut ss_plugin_t;
pub type FnStr = unsafe extern "C-unwind" fn() -> *const c_char;
pub type FnInit =
    unsafe extern "C-unwind" fn(input: *const ss_plugin_init_input, rc: *mut ss_plugin_rc) -> P;
pub type FnDestroy = unsafe extern "C-unwind" fn(s: P);
pub type FnLastError = unsafe extern "C-unwind" fn(s: P) -> *const c_char;
pub type FnInitSchema =
    unsafe extern "C-unwind" fn(ty: *mut ss_plugin_schema_type) -> *const c_char;
pub type FnGetId = unsafe extern "C-unwind" fn() -> u32;
pub type FnOpen = unsafe extern "C-unwind" fn(
    s: P,
    params: *const c_char,
    rc: *mut ss_plugin_rc,
) -> *mut ss_instance_t;
pub type FnClose = unsafe extern "C-unwind" fn(s: P, h: *mut ss_instance_t);
pub type FnListOpenParams =
    unsafe extern "C-unwind" fn(s: P, rc: *mut ss_plugin_rc) -> *const c_char;
pub type FnProgress =
    unsafe extern "C-unwind" fn(s: P, h: *mut ss_instance_t, pct: *mut u32) -> *const c_char;
pub type FnEventToString =
    unsafe extern "C-unwind" fn(s: P, evt: *const ss_plugin_event_input) -> *const c_char;
pub type FnNextBatch = unsafe extern "C-unwind" fn(
    s: P,
    h: *mut ss_instance_t,
    nevts: *mut u32,
    evts: *mut *mut *mut ss_plugin_event,
) -> ss_plugin_rc;
pub type FnEventTypes = unsafe extern "C-unwind" fn(n: *mut u32, s: P) -> *mut u16;
pub type FnExtract = unsafe extern "C-unwind" fn(
    s: P,
    evt: *const ss_plugin_event_input,
    i: *const ss_plugin_field_extract_input,
) -> ss_plugin_rc;
pub type FnParse = unsafe extern "C-unwind" fn(
    s: P,
    evt: *const ss_plugin_event_input,
    i: *const ss_plugin_event_parse_input,
) -> ss_plugin_rc;
pub type FnSetAsyncHandler = unsafe extern "C-unwind" fn(
    s: P,
    owner: Owner,
    handler: ss_plugin_async_event_handler_t,
) -> ss_plugin_rc;
pub type FnCaptureListen =
    unsafe extern "C-unwind" fn(s: P, i: *const ss_plugin_capture_listen_input) -> ss_plugin_rc;
pub type FnGetMetrics = unsafe extern "C-unwind" fn(s: P, n: *mut u32) -> *mut ss_plugin_metric;

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of;

    #[test]
    fn layouts_match_the_header() {
        assert_eq!(size_of::<ss_plugin_event>(), 26);
        assert_eq!(size_of::<ss_plugin_event_input>(), 24);
        assert_eq!(size_of::<ss_plugin_byte_buffer>(), 16);
        assert_eq!(size_of::<ss_plugin_extract_field>(), 64);
        assert_eq!(size_of::<ss_plugin_extract_value_offsets>(), 16);
        assert_eq!(size_of::<ss_plugin_metric>(), 32);
        assert_eq!(size_of::<ss_plugin_init_input>(), 40);
        assert_eq!(size_of::<ss_plugin_table_reader_vtable>(), 32);
        assert_eq!(size_of::<ss_plugin_table_reader_vtable_ext>(), 48);
        assert_eq!(size_of::<ss_plugin_table_writer_vtable>(), 48);
        assert_eq!(size_of::<ss_plugin_init_tables_input>(), 72);
        assert_eq!(size_of::<ss_plugin_field_extract_input>(), 80);
        assert_eq!(size_of::<ss_plugin_event_parse_input>(), 112);
        assert_eq!(size_of::<ss_plugin_capture_listen_input>(), 40);
    }
}
