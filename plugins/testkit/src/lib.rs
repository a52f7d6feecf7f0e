//! A minimal in-process driver of the Falco plugin C ABI, for the tests and benchmarks of
//! lanner's plugins (`plugins/*`).
//!
//! Each plugin crate exports its `plugin_api` vtable as a `static` (besides the `plugin_*`
//! symbols of its `.so`), and [`Host`] calls it exactly as a framework would: `init` with a
//! config string, `get_fields`, `open` with open parameters, `next_batch` until EOF,
//! `extract_fields` with `field[arg]` requests, `event_to_string`, `close`, `destroy`. Log
//! lines the plugin sends through the framework's log function are kept for assertions.
//!
//! `falco_plugin_runner` (the SDK's own runner, 0.5.1) was the first choice, but it opens
//! source plugins with NULL open parameters (a `TODO` in its source), so it cannot open a
//! file or a webhook; it is still used for a cross-check of extraction in the json plugin's
//! tests. This driver is not the lanner host (that one dlopens `.so` files, validates
//! configs, routes sources); it knows only enough to exercise a plugin.
//!
//! ```ignore
//! let mut host = Host::new(&lanner_plugin_k8saudit::PLUGIN_API, "{}")?;
//! let mut inst = host.open("testdata/create_pod.json")?;
//! while let Batch::Events(events) = host.next_batch(&mut inst)? { /* ... */ }
//! ```

use falco_plugin::api::{
    plugin_api, ss_instance_t, ss_plugin_event, ss_plugin_event_input, ss_plugin_extract_field,
    ss_plugin_field_extract_input, ss_plugin_init_input, ss_plugin_log_severity, ss_plugin_owner_t,
    ss_plugin_rc, ss_plugin_t, ss_plugin_table_reader_vtable, ss_plugin_table_reader_vtable_ext,
};
use falco_plugin::event::PluginEvent;
use falco_plugin::event::events::{Event, EventMetadata, EventToBytes};
use serde::Deserialize;
use std::ffi::{CStr, CString, c_char};
use std::sync::Mutex;

/// Return codes of the plugin API.
pub const SS_PLUGIN_SUCCESS: ss_plugin_rc = 0;
/// `SS_PLUGIN_FAILURE`
pub const SS_PLUGIN_FAILURE: ss_plugin_rc = 1;
/// `SS_PLUGIN_TIMEOUT`
pub const SS_PLUGIN_TIMEOUT: ss_plugin_rc = -1;
/// `SS_PLUGIN_EOF`
pub const SS_PLUGIN_EOF: ss_plugin_rc = 2;

/// Log lines sent by any plugin of this process (the SDK installs one global logger).
static LOGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

unsafe extern "C-unwind" fn log_fn(
    _owner: *mut ss_plugin_owner_t,
    _component: *const c_char,
    msg: *const c_char,
    _sev: ss_plugin_log_severity,
) {
    if msg.is_null() {
        return;
    }
    // SAFETY: the plugin API passes a NUL-terminated string valid for the call.
    let msg = unsafe { CStr::from_ptr(msg) }.to_string_lossy().into_owned();
    if let Ok(mut logs) = LOGS.lock() {
        logs.push(msg);
    }
}

unsafe extern "C-unwind" fn owner_last_error(_owner: *mut ss_plugin_owner_t) -> *const c_char {
    std::ptr::null()
}

/// Takes the log lines received so far.
pub fn take_logs() -> Vec<String> {
    LOGS.lock().map(|mut l| std::mem::take(&mut *l)).unwrap_or_default()
}

/// A field as the plugin declares it in `get_fields`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct FieldInfo {
    /// Field name.
    pub name: String,
    /// `string`, `uint64` ...
    #[serde(rename = "type")]
    pub field_type: String,
    /// A list field.
    #[serde(rename = "isList", default)]
    pub is_list: bool,
    /// Argument description.
    #[serde(default)]
    pub arg: Option<FieldArg>,
    /// Display name.
    #[serde(default)]
    pub display: Option<String>,
    /// Description.
    pub desc: String,
    /// Suggested output.
    #[serde(rename = "addOutput", default)]
    pub add_output: bool,
}

/// The argument of a field.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
pub struct FieldArg {
    /// `isRequired`
    #[serde(rename = "isRequired", default)]
    pub is_required: bool,
    /// `isIndex`
    #[serde(rename = "isIndex", default)]
    pub is_index: bool,
    /// `isKey`
    #[serde(rename = "isKey", default)]
    pub is_key: bool,
}

/// One extracted value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extracted {
    /// A string value.
    Str(String),
    /// A `uint64` value.
    U64(u64),
}

impl Extracted {
    /// The value as text.
    pub fn text(&self) -> String {
        match self {
            Extracted::Str(s) => s.clone(),
            Extracted::U64(v) => v.to_string(),
        }
    }
}

/// What a `next_batch` call gave.
#[derive(Debug)]
pub enum Batch {
    /// Events (each one a full scap event, copied out of the plugin's memory).
    Events(Vec<Vec<u8>>),
    /// `SS_PLUGIN_TIMEOUT`: nothing now.
    Timeout,
    /// `SS_PLUGIN_EOF`: nothing ever again.
    Eof,
}

/// An open capture of a source plugin.
#[derive(Debug)]
pub struct Instance(*mut ss_instance_t);

/// A plugin initialised through its vtable.
#[derive(Debug)]
pub struct Host {
    api: &'static plugin_api,
    plugin: *mut ss_plugin_t,
    fields: Vec<FieldInfo>,
    source: CString,
    evtnum: u64,
}

fn cstr_or_empty(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // SAFETY: the plugin API returns NUL-terminated strings.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

impl Host {
    /// Initialises the plugin with `config` (its `init_config`).
    pub fn new(api: &'static plugin_api, config: &str) -> Result<Host, String> {
        let config = CString::new(config).map_err(|e| e.to_string())?;
        let input = ss_plugin_init_input {
            config: config.as_ptr(),
            owner: std::ptr::null_mut(),
            get_owner_last_error: Some(owner_last_error),
            tables: std::ptr::null(),
            log_fn: Some(log_fn),
        };
        let init = api.init.ok_or("no init")?;
        let mut rc = SS_PLUGIN_FAILURE;
        // SAFETY: `input` and the config string outlive the call.
        let plugin = unsafe { init(&input, &mut rc) };
        let mut host =
            Host { api, plugin, fields: Vec::new(), source: CString::default(), evtnum: 0 };
        if rc != SS_PLUGIN_SUCCESS {
            return Err(host.last_error());
        }
        if let Some(get_fields) = api.__bindgen_anon_2.get_fields {
            // SAFETY: a plain getter.
            let json = cstr_or_empty(unsafe { get_fields() });
            host.fields = serde_json::from_str(&json).map_err(|e| e.to_string())?;
        }
        if let Some(get_source) = api.__bindgen_anon_1.get_event_source {
            // SAFETY: a plain getter.
            let s = cstr_or_empty(unsafe { get_source() });
            host.source = CString::new(s).map_err(|e| e.to_string())?;
        }
        Ok(host)
    }

    /// The plugin's last error message.
    pub fn last_error(&self) -> String {
        match self.api.get_last_error {
            // SAFETY: the plugin handle came from `init`.
            Some(f) => cstr_or_empty(unsafe { f(self.plugin) }),
            None => String::new(),
        }
    }

    /// Name, version, description, contact, required API version.
    pub fn info(&self) -> [String; 5] {
        let get = |f: Option<unsafe extern "C-unwind" fn() -> *const c_char>| match f {
            // SAFETY: plain getters.
            Some(f) => cstr_or_empty(unsafe { f() }),
            None => String::new(),
        };
        [
            get(self.api.get_name),
            get(self.api.get_version),
            get(self.api.get_description),
            get(self.api.get_contact),
            get(self.api.get_required_api_version),
        ]
    }

    /// The plugin id (0 without sourcing).
    pub fn id(&self) -> u32 {
        // SAFETY: a plain getter.
        self.api.__bindgen_anon_1.get_id.map(|f| unsafe { f() }).unwrap_or(0)
    }

    /// The event source name ("" without sourcing).
    pub fn event_source(&self) -> String {
        self.source.to_string_lossy().into_owned()
    }

    /// The init schema, if any.
    pub fn init_schema(&self) -> Option<String> {
        let f = self.api.get_init_schema?;
        let mut ty = 0u32;
        // SAFETY: `ty` is valid for writing.
        let s = cstr_or_empty(unsafe { f(&mut ty) });
        (!s.is_empty()).then_some(s)
    }

    /// `get_extract_event_sources` (None when not exported).
    pub fn extract_event_sources(&self) -> Option<String> {
        // SAFETY: a plain getter.
        self.api.__bindgen_anon_2.get_extract_event_sources.map(|f| cstr_or_empty(unsafe { f() }))
    }

    /// The declared fields.
    pub fn fields(&self) -> &[FieldInfo] {
        &self.fields
    }

    /// Opens a capture.
    pub fn open(&mut self, params: &str) -> Result<Instance, String> {
        let open = self.api.__bindgen_anon_1.open.ok_or("no open")?;
        let params = CString::new(params).map_err(|e| e.to_string())?;
        let mut rc = SS_PLUGIN_FAILURE;
        // SAFETY: the handle came from `init`; `params` outlives the call.
        let inst = unsafe { open(self.plugin, params.as_ptr(), &mut rc) };
        if rc != SS_PLUGIN_SUCCESS {
            return Err(self.last_error());
        }
        Ok(Instance(inst))
    }

    /// One `next_batch` call.
    pub fn next_batch(&mut self, inst: &mut Instance) -> Result<Batch, String> {
        let next = self.api.__bindgen_anon_1.next_batch.ok_or("no next_batch")?;
        let mut n = 0u32;
        let mut evts: *mut *mut ss_plugin_event = std::ptr::null_mut();
        // SAFETY: handles from `init` and `open`; out-pointers valid for writing.
        let rc = unsafe { next(self.plugin, inst.0, &mut n, &mut evts) };
        match rc {
            SS_PLUGIN_SUCCESS => {
                let mut out = Vec::with_capacity(n as usize);
                for i in 0..n as usize {
                    // SAFETY: the plugin returned `n` event pointers, each to an event
                    // of `len` bytes, valid until the next call.
                    unsafe {
                        let e = *evts.add(i);
                        let len = std::ptr::read_unaligned(std::ptr::addr_of!((*e).len));
                        out.push(std::slice::from_raw_parts(e.cast::<u8>(), len as usize).to_vec());
                    }
                }
                Ok(Batch::Events(out))
            }
            SS_PLUGIN_TIMEOUT => Ok(Batch::Timeout),
            SS_PLUGIN_EOF => Ok(Batch::Eof),
            _ => Err(self.last_error()),
        }
    }

    /// Reads until EOF (timeouts are retried up to `max_timeouts` times in a row).
    pub fn read_all(
        &mut self,
        inst: &mut Instance,
        max_timeouts: usize,
    ) -> Result<Vec<Vec<u8>>, String> {
        let mut all = Vec::new();
        let mut timeouts = 0;
        loop {
            match self.next_batch(inst)? {
                Batch::Events(e) => {
                    timeouts = 0;
                    all.extend(e);
                }
                Batch::Timeout => {
                    timeouts += 1;
                    if timeouts > max_timeouts {
                        return Err("too many timeouts".into());
                    }
                }
                Batch::Eof => return Ok(all),
            }
        }
    }

    /// Closes a capture.
    pub fn close(&mut self, inst: Instance) {
        if let Some(close) = self.api.__bindgen_anon_1.close {
            // SAFETY: handles from `init` and `open`; the instance is consumed.
            unsafe { close(self.plugin, inst.0) }
        }
    }

    /// `event_to_string` of an event.
    pub fn event_to_string(&mut self, event: &[u8]) -> Option<String> {
        let f = self.api.__bindgen_anon_1.event_to_string?;
        self.evtnum += 1;
        let input = ss_plugin_event_input {
            evt: event.as_ptr().cast(),
            evtnum: self.evtnum,
            evtsrc: self.source.as_ptr(),
        };
        // SAFETY: the event buffer outlives the call.
        let s = unsafe { f(self.plugin, &input) };
        (!s.is_null()).then(|| cstr_or_empty(s))
    }

    /// Extracts `field` (with an optional `[arg]`) from an event of this plugin's source (or
    /// `source` when given). `Ok(None)`: the field has no value.
    pub fn extract(&mut self, event: &[u8], field: &str) -> Result<Option<Vec<Extracted>>, String> {
        let source = self.source.clone();
        self.extract_from(event, &source, self.evtnum + 1, field)
    }

    /// [`Host::extract`] with an explicit source and event number.
    pub fn extract_from(
        &mut self,
        event: &[u8],
        source: &CStr,
        evtnum: u64,
        field: &str,
    ) -> Result<Option<Vec<Extracted>>, String> {
        self.evtnum = evtnum;
        let (name, arg) = match field.find('[') {
            Some(i) if field.ends_with(']') => (&field[..i], Some(&field[i + 1..field.len() - 1])),
            _ => (field, None),
        };
        let (id, info) = self
            .fields
            .iter()
            .enumerate()
            .find(|(_, f)| f.name == name)
            .ok_or_else(|| format!("unknown field `{name}`"))?;
        let info = info.clone();
        let name_c = CString::new(name).map_err(|e| e.to_string())?;
        let mut key = None;
        let mut index = 0u64;
        if let Some(arg) = arg {
            if info.arg.is_some_and(|a| a.is_index) {
                index = arg.parse().map_err(|_| format!("bad index `{arg}`"))?;
            } else {
                key = Some(CString::new(arg).map_err(|e| e.to_string())?);
            }
        }
        let ftype = match info.field_type.as_str() {
            "uint64" => 8,
            _ => 9,
        };
        let mut req = ss_plugin_extract_field {
            res: falco_plugin::api::ss_plugin_extract_field__bindgen_ty_1 {
                u64_: std::ptr::null_mut(),
            },
            res_len: 0,
            field_id: id as u32,
            field: name_c.as_ptr(),
            arg_key: key.as_ref().map_or(std::ptr::null(), |k| k.as_ptr()),
            arg_index: index,
            arg_present: u32::from(arg.is_some()),
            ftype,
            flist: u32::from(info.is_list),
        };
        // SAFETY: an all-`None` vtable is a valid value (every member is an
        // `Option<fn>`); the SDK validates members lazily, only when tables are used.
        let mut reader_ext: ss_plugin_table_reader_vtable_ext = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let reader: ss_plugin_table_reader_vtable = unsafe { std::mem::zeroed() };
        let input = ss_plugin_field_extract_input {
            owner: std::ptr::null_mut(),
            get_owner_last_error: Some(owner_last_error),
            num_fields: 1,
            fields: &mut req,
            table_reader: reader,
            table_reader_ext: &mut reader_ext,
            value_offsets: std::ptr::null_mut(),
        };
        let evt =
            ss_plugin_event_input { evt: event.as_ptr().cast(), evtnum, evtsrc: source.as_ptr() };
        let extract = self.api.__bindgen_anon_2.extract_fields.ok_or("no extract_fields")?;
        // SAFETY: every pointer in the inputs outlives the call.
        let rc = unsafe { extract(self.plugin, &evt, &input) };
        if rc != SS_PLUGIN_SUCCESS {
            return Err(self.last_error());
        }
        if req.res_len == 0 {
            return Ok(None);
        }
        let mut values = Vec::with_capacity(req.res_len as usize);
        for i in 0..req.res_len as usize {
            // SAFETY: the plugin set `res_len` values of the requested type, valid until
            // the next call.
            let v = unsafe {
                if ftype == 8 {
                    Extracted::U64(*req.res.u64_.add(i))
                } else {
                    Extracted::Str(cstr_or_empty(*req.res.str_.add(i)))
                }
            };
            values.push(v);
        }
        Ok(Some(values))
    }

    /// Extracts a field and renders it as Falco prints values: `<NA>` for none, a list as
    /// `(a,b)`, a single value as is.
    pub fn extract_text(&mut self, event: &[u8], field: &str) -> Result<String, String> {
        let is_list = {
            let name = field.split('[').next().unwrap_or(field);
            self.fields.iter().any(|f| f.name == name && f.is_list)
        };
        Ok(match self.extract(event, field)? {
            None if is_list => "()".into(),
            None => "<NA>".into(),
            Some(v) if is_list => {
                format!("({})", v.iter().map(Extracted::text).collect::<Vec<_>>().join(","))
            }
            Some(v) => v.iter().map(Extracted::text).collect::<Vec<_>>().join(","),
        })
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(destroy) = self.api.destroy {
            // SAFETY: the handle came from `init` and is not used after this.
            unsafe { destroy(self.plugin) }
        }
    }
}

/// Builds a `PPME_PLUGINEVENT_E` event (as a source plugin with `plugin_id` would) holding
/// `data`.
pub fn plugin_event(plugin_id: u32, ts: u64, data: &[u8]) -> Vec<u8> {
    let event = Event {
        metadata: EventMetadata { ts, tid: -1 },
        params: PluginEvent { plugin_id, event_data: data },
    };
    let mut buf = Vec::with_capacity(event.binary_size());
    // Writing to a Vec cannot fail.
    let _ = event.write(&mut buf);
    buf
}

/// The timestamp (ns since the epoch) of an event.
pub fn event_ts(event: &[u8]) -> u64 {
    event.get(..8).and_then(|b| b.try_into().ok()).map_or(0, u64::from_le_bytes)
}

/// The payload of a plugin event (after the 38-byte header, plugin id included).
pub fn event_payload(event: &[u8]) -> &[u8] {
    event.get(38..).unwrap_or_default()
}

/// The plugin id of a plugin event.
pub fn event_plugin_id(event: &[u8]) -> u32 {
    event.get(34..38).and_then(|b| b.try_into().ok()).map_or(0, u32::from_le_bytes)
}
