//! What lanner hands a plugin as its "owner": the last error of lanner-side calls, the log
//! function, the queue async events land in, and the (empty) state tables API.
//!
//! lanner exports no state table to plugins yet. The tables API is still given in full,
//! because the Rust SDK refuses to initialise a plugin whose init input has a table vtable
//! with a null function, even when the plugin uses no table: every function exists and
//! fails cleanly, `list_tables` lists nothing, and `get_table` sets the owner's last error to
//! say which table lanner does not offer, so a plugin that needs one fails its `init` with
//! that message.

use std::collections::VecDeque;
use std::ffi::{CStr, CString, c_char};
use std::sync::{Arc, Mutex, PoisonError};

use crate::ffi::*;

/// Where plugin log lines go: (plugin name, severity as libs numbers it, message).
pub type LogSink = Arc<dyn Fn(&str, u32, &str) + Send + Sync>;

/// Most async events waiting to be taken (libs' `DEFAULT_ASYNC_EVENT_QUEUE_SIZE`).
pub(crate) const ASYNC_QUEUE_CAPACITY: usize = 4096;

/// The owner of one plugin. Boxed, so the pointer given to the plugin stays valid.
pub(crate) struct Owner {
    pub(crate) name: String,
    last_error: Mutex<CString>,
    pub(crate) log: Option<LogSink>,
    pub(crate) async_events: Mutex<VecDeque<Vec<u8>>>,
    pub(crate) async_dropped: std::sync::atomic::AtomicU64,
}

impl Owner {
    pub(crate) fn new(name: String, log: Option<LogSink>) -> Owner {
        Owner {
            name,
            last_error: Mutex::new(CString::default()),
            log,
            async_events: Mutex::new(VecDeque::new()),
            async_dropped: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn set_error(&self, message: String) {
        let message = CString::new(message.replace('\0', " ")).unwrap_or_default();
        *self.last_error.lock().unwrap_or_else(PoisonError::into_inner) = message;
    }

    /// The pointer form of the owner.
    pub(crate) fn as_ptr(&self) -> Owner_ {
        std::ptr::from_ref(self).cast_mut().cast()
    }
}

type Owner_ = *mut ss_plugin_owner_t;

/// The owner behind a pointer this crate handed out.
///
/// # Safety
/// `o` must be null or come from [`Owner::as_ptr`] of an owner still alive.
unsafe fn owner<'a>(o: Owner_) -> Option<&'a Owner> {
    // SAFETY: the caller's contract; owners outlive every call of their plugin.
    unsafe { o.cast::<Owner>().as_ref() }
}

/// `get_owner_last_error`.
pub(crate) unsafe extern "C-unwind" fn get_owner_last_error(o: Owner_) -> *const c_char {
    // SAFETY: plugins pass back the owner pointer they were given.
    match unsafe { owner(o) } {
        // The pointer stays valid until the next error replaces the string; the API gives
        // it that lifetime.
        Some(owner) => owner.last_error.lock().unwrap_or_else(PoisonError::into_inner).as_ptr(),
        None => std::ptr::null(),
    }
}

/// `log_fn`.
pub(crate) unsafe extern "C-unwind" fn log_fn(
    o: Owner_,
    component: *const c_char,
    msg: *const c_char,
    sev: ss_plugin_log_severity,
) {
    // SAFETY: plugins pass back the owner pointer they were given.
    let Some(owner) = (unsafe { owner(o) }) else { return };
    let Some(sink) = &owner.log else { return };
    // SAFETY: the API passes NUL-terminated strings (or null).
    let text = |p: *const c_char| unsafe { cstr(p) };
    let component = text(component);
    let name = if component.is_empty() { owner.name.clone() } else { component };
    sink(&name, sev, &text(msg));
}

/// The async event handler: copies the event into the owner's queue.
pub(crate) unsafe extern "C-unwind" fn async_handler(
    o: Owner_,
    evt: *const ss_plugin_event,
    err: *mut c_char,
) -> ss_plugin_rc {
    // SAFETY: plugins pass back the owner pointer they were given.
    let Some(owner) = (unsafe { owner(o) }) else { return SS_PLUGIN_FAILURE };
    if evt.is_null() {
        return fail(err, "null event");
    }
    // SAFETY: `evt` points at an event header, packed, then `len` bytes in all.
    let header = unsafe { std::ptr::read_unaligned(evt) };
    let len = header.len as usize;
    if len < size_of::<ss_plugin_event>() {
        return fail(err, "event shorter than its header");
    }
    // SAFETY: the event is `len` bytes long, as its header says.
    let mut bytes = unsafe { std::slice::from_raw_parts(evt.cast::<u8>(), len) }.to_vec();
    if header.ts == u64::MAX {
        bytes[0..8].copy_from_slice(&now_ns().to_le_bytes());
    }
    let mut queue = owner.async_events.lock().unwrap_or_else(PoisonError::into_inner);
    if queue.len() >= ASYNC_QUEUE_CAPACITY {
        owner.async_dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return fail(err, "async event queue is full");
    }
    queue.push_back(bytes);
    SS_PLUGIN_SUCCESS
}

fn fail(err: *mut c_char, message: &str) -> ss_plugin_rc {
    if !err.is_null() {
        let n = message.len().min(1023);
        // SAFETY: the API gives a buffer of PLUGIN_MAX_ERRLEN (1024) bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(message.as_ptr().cast::<c_char>(), err, n);
            *err.add(n) = 0;
        }
    }
    SS_PLUGIN_FAILURE
}

/// Nanoseconds since the epoch: what an event time of `UINT64_MAX` ("now") becomes.
pub(crate) fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A C string as Rust text (lossy), `""` for null.
///
/// # Safety
/// `p` must be null or point at a NUL-terminated string.
pub(crate) unsafe fn cstr(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: the caller's contract.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

// The tables API: nothing is offered, everything fails cleanly.

unsafe extern "C-unwind" fn list_tables(_o: Owner_, n: *mut u32) -> *mut ss_plugin_table_info {
    if !n.is_null() {
        // SAFETY: the plugin gives a pointer to its counter.
        unsafe { *n = 0 };
    }
    std::ptr::null_mut()
}

unsafe extern "C-unwind" fn get_table(
    o: Owner_,
    name: *const c_char,
    _key: ss_plugin_state_type,
) -> *mut ss_plugin_table_t {
    // SAFETY: plugins pass back their owner pointer and a NUL-terminated name.
    if let Some(owner) = unsafe { owner(o) } {
        // SAFETY: the name is NUL-terminated (or null).
        let name = unsafe { cstr(name) };
        owner.set_error(format!("table `{name}` is not offered by lanner to plugins"));
    }
    std::ptr::null_mut()
}

unsafe extern "C-unwind" fn add_table(o: Owner_, i: *const ss_plugin_table_input) -> ss_plugin_rc {
    // SAFETY: plugins pass back their owner pointer and a valid table input (or null).
    if let Some(owner) = unsafe { owner(o) } {
        // SAFETY: the input is valid or null, its name NUL-terminated or null.
        let input = unsafe { i.as_ref() };
        // SAFETY: as above.
        let name = input.map(|i| unsafe { cstr(i.name) }).unwrap_or_default();
        owner.set_error(format!("lanner does not take tables from plugins (table `{name}`)"));
    }
    SS_PLUGIN_FAILURE
}

type T = *mut ss_plugin_table_t;
type E = *mut ss_plugin_table_entry_t;
type F = *mut ss_plugin_table_field_t;

unsafe extern "C-unwind" fn list_table_fields(
    _t: T,
    n: *mut u32,
) -> *const ss_plugin_table_fieldinfo {
    if !n.is_null() {
        // SAFETY: the plugin gives a pointer to its counter.
        unsafe { *n = 0 };
    }
    std::ptr::null()
}
unsafe extern "C-unwind" fn get_table_field(_t: T, _n: *const c_char, _ty: u32) -> F {
    std::ptr::null_mut()
}
unsafe extern "C-unwind" fn get_table_name(_t: T) -> *const c_char {
    c"".as_ptr()
}
unsafe extern "C-unwind" fn get_table_size(_t: T) -> u64 {
    0
}
unsafe extern "C-unwind" fn get_table_entry(_t: T, _k: *const ss_plugin_state_data) -> E {
    std::ptr::null_mut()
}
unsafe extern "C-unwind" fn read_entry_field(
    _t: T,
    _e: E,
    _f: *const ss_plugin_table_field_t,
    _o: *mut ss_plugin_state_data,
) -> ss_plugin_rc {
    SS_PLUGIN_FAILURE
}
unsafe extern "C-unwind" fn release_table_entry(_t: T, _e: E) {}
unsafe extern "C-unwind" fn iterate_entries(
    _t: T,
    _it: ss_plugin_table_iterator_func_t,
    _s: *mut ss_plugin_table_iterator_state_t,
) -> ss_plugin_bool {
    0
}
unsafe extern "C-unwind" fn clear_table(_t: T) -> ss_plugin_rc {
    SS_PLUGIN_FAILURE
}
unsafe extern "C-unwind" fn erase_table_entry(
    _t: T,
    _k: *const ss_plugin_state_data,
) -> ss_plugin_rc {
    SS_PLUGIN_FAILURE
}
unsafe extern "C-unwind" fn create_table_entry(_t: T) -> E {
    std::ptr::null_mut()
}
unsafe extern "C-unwind" fn destroy_table_entry(_t: T, _e: E) {}
unsafe extern "C-unwind" fn add_table_entry(_t: T, _k: *const ss_plugin_state_data, _e: E) -> E {
    std::ptr::null_mut()
}
unsafe extern "C-unwind" fn write_entry_field(
    _t: T,
    _e: E,
    _f: *const ss_plugin_table_field_t,
    _v: *const ss_plugin_state_data,
) -> ss_plugin_rc {
    SS_PLUGIN_FAILURE
}
unsafe extern "C-unwind" fn subscribe(
    _o: Owner_,
    _f: ss_plugin_routine_fn_t,
    _i: *mut ss_plugin_routine_state_t,
) -> *mut ss_plugin_routine_t {
    std::ptr::null_mut()
}
unsafe extern "C-unwind" fn unsubscribe(_o: Owner_, _r: *mut ss_plugin_routine_t) -> ss_plugin_rc {
    SS_PLUGIN_FAILURE
}

pub(crate) const READER: ss_plugin_table_reader_vtable = ss_plugin_table_reader_vtable {
    get_table_name: Some(get_table_name),
    get_table_size: Some(get_table_size),
    get_table_entry: Some(get_table_entry),
    read_entry_field: Some(read_entry_field),
};

pub(crate) const WRITER: ss_plugin_table_writer_vtable = ss_plugin_table_writer_vtable {
    clear_table: Some(clear_table),
    erase_table_entry: Some(erase_table_entry),
    create_table_entry: Some(create_table_entry),
    destroy_table_entry: Some(destroy_table_entry),
    add_table_entry: Some(add_table_entry),
    write_entry_field: Some(write_entry_field),
};

const FIELDS: ss_plugin_table_fields_vtable_ext = ss_plugin_table_fields_vtable_ext {
    list_table_fields: Some(list_table_fields),
    get_table_field: Some(get_table_field),
    add_table_field: Some(get_table_field),
};

/// The vtables a plugin's inputs point into: one set per plugin, boxed so the pointers stay
/// valid while it lives.
pub(crate) struct Vtables {
    pub(crate) reader_ext: ss_plugin_table_reader_vtable_ext,
    pub(crate) writer_ext: ss_plugin_table_writer_vtable_ext,
    pub(crate) fields_ext: ss_plugin_table_fields_vtable_ext,
    pub(crate) routine: ss_plugin_routine_vtable,
}

impl Vtables {
    pub(crate) fn new() -> Box<Vtables> {
        Box::new(Vtables {
            reader_ext: ss_plugin_table_reader_vtable_ext {
                base: READER,
                release_table_entry: Some(release_table_entry),
                iterate_entries: Some(iterate_entries),
            },
            writer_ext: WRITER,
            fields_ext: FIELDS,
            routine: ss_plugin_routine_vtable {
                subscribe: Some(subscribe),
                unsubscribe: Some(unsubscribe),
            },
        })
    }

    /// The tables part of the init input.
    pub(crate) fn init_tables(&mut self) -> ss_plugin_init_tables_input {
        ss_plugin_init_tables_input {
            list_tables: Some(list_tables),
            get_table: Some(get_table),
            add_table: Some(add_table),
            fields: FIELDS,
            fields_ext: &raw mut self.fields_ext,
            reader_ext: &raw mut self.reader_ext,
            writer_ext: &raw mut self.writer_ext,
        }
    }
}
