//! One loaded plugin: its symbols, its information, its state, and every call into it.

use std::ffi::{CString, c_char};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use lanner_event::{ParamType, RawEvent};
use lanner_fields::registry::epf;
use lanner_fields::{FieldArg, PluginExtractor, PluginFieldSpec, Values};

use crate::ffi::*;
use crate::owner::{self, LogSink, Owner, Vtables, cstr};
use crate::{API_VERSION, API_VERSION_STR, PLUGIN_EVENT};

/// Why a plugin could not be loaded or used. Every message names the plugin.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The library cannot be opened, lacks a required symbol, or requires another API.
    #[error("cannot load plugin `{path}`: {reason}")]
    Load {
        /// The library path.
        path: String,
        /// What is wrong (libs' message where libs has one).
        reason: String,
    },
    /// The init config does not satisfy the plugin's schema, or is not JSON.
    #[error("plugin `{plugin}`: invalid init config: {problems}")]
    InitConfig {
        /// The plugin's name.
        plugin: String,
        /// Every problem, `; `-separated.
        problems: String,
    },
    /// A call returned a failure code; `message` is the plugin's `get_last_error`.
    #[error("plugin `{plugin}`: {call} failed (rc {rc}): {message}")]
    Call {
        /// The plugin's name.
        plugin: String,
        /// The API function (`plugin_init`, `plugin_next_batch` ...).
        call: &'static str,
        /// The return code.
        rc: i32,
        /// The plugin's last error.
        message: String,
    },
    /// The plugin broke the API's rules (bad JSON, events of the wrong type ...).
    #[error("plugin `{plugin}`: {message}")]
    Invalid {
        /// The plugin's name.
        plugin: String,
        /// What it did.
        message: String,
    },
}

/// What a plugin can do, detected from the symbols it exports (libs' `plugin_caps_t`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Event sourcing: `get_id`, `get_event_source`, `open`, `close`, `next_batch`.
    pub sourcing: bool,
    /// Field extraction: `get_fields`, `extract_fields`.
    pub extraction: bool,
    /// Event parsing: `parse_event`.
    pub parsing: bool,
    /// Async events: `get_async_events`, `set_async_event_handler`.
    pub async_events: bool,
    /// Capture listening: `capture_open`, `capture_close`.
    pub capture_listening: bool,
}

/// A field as the plugin's `get_fields` describes it.
#[derive(Clone, Debug)]
pub struct FieldInfo {
    /// The field as `lanner-fields` registers it.
    pub spec: PluginFieldSpec,
    /// The plugin API's type code (`FTYPE_*`).
    pub ftype: u32,
    name_c: CString,
}

/// The init config of a plugin: `init_config` of `falco.yaml`, a string as given or a map
/// converted to JSON by the caller.
#[derive(Clone, Debug, PartialEq)]
pub enum InitConfig {
    /// Passed as it is.
    Text(String),
    /// Passed as its JSON text.
    Json(serde_json::Value),
}

impl InitConfig {
    fn text(&self) -> String {
        match self {
            InitConfig::Text(t) => t.clone(),
            InitConfig::Json(v) => v.to_string(),
        }
    }
}

/// One metric of `get_metrics`.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// Its name.
    pub name: String,
    /// Whether it only grows.
    pub monotonic: bool,
    /// Its value.
    pub value: MetricValue,
}

/// A metric's value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MetricValue {
    /// An unsigned integer.
    Uint(u64),
    /// A signed integer.
    Int(i64),
    /// A floating-point number.
    Double(f64),
}

impl std::fmt::Display for MetricValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetricValue::Uint(v) => write!(f, "{v}"),
            MetricValue::Int(v) => write!(f, "{v}"),
            MetricValue::Double(v) => write!(f, "{v}"),
        }
    }
}

/// The plugin's functions. The required ones are plain pointers, the optional ones options.
#[derive(Clone, Copy)]
struct Api {
    get_required_api_version: FnStr,
    get_version: FnStr,
    get_name: FnStr,
    get_description: FnStr,
    get_contact: FnStr,
    init: FnInit,
    destroy: FnDestroy,
    get_last_error: Option<FnLastError>,
    get_init_schema: Option<FnInitSchema>,
    get_id: Option<FnGetId>,
    get_event_source: Option<FnStr>,
    open: Option<FnOpen>,
    close: Option<FnClose>,
    list_open_params: Option<FnListOpenParams>,
    get_progress: Option<FnProgress>,
    next_batch: Option<FnNextBatch>,
    get_fields: Option<FnStr>,
    extract_fields: Option<FnExtract>,
    get_extract_event_types: Option<FnEventTypes>,
    get_extract_event_sources: Option<FnStr>,
    parse_event: Option<FnParse>,
    get_parse_event_types: Option<FnEventTypes>,
    get_parse_event_sources: Option<FnStr>,
    get_async_events: Option<FnStr>,
    get_async_event_sources: Option<FnStr>,
    set_async_event_handler: Option<FnSetAsyncHandler>,
    capture_open: Option<FnCaptureListen>,
    capture_close: Option<FnCaptureListen>,
    get_metrics: Option<FnGetMetrics>,
}

/// A loaded plugin.
pub struct Plugin {
    /// The values extracted for the current event, by field and argument: rules ask for the
    /// same fields again and again (`ka.verb` in most k8s audit rules), the plugin is asked
    /// once per event.
    memo: Memo,
    api: Api,
    name: String,
    version: String,
    required_api_version: String,
    description: String,
    contact: String,
    caps: Capabilities,
    id: u32,
    event_source: String,
    init_schema: Option<String>,
    fields: Vec<FieldInfo>,
    extract_types: Vec<u16>,
    extract_sources: Vec<String>,
    parse_types: Vec<u16>,
    parse_sources: Vec<String>,
    async_events: Vec<String>,
    async_sources: Vec<String>,
    /// Calls to extract fields that failed.
    extract_errors: u64,
    /// The plugin's state, null before `init`.
    state: P,
    /// C strings of the event sources handed to the plugin with events.
    source_names: Vec<(String, CString)>,
    vtables: Box<Vtables>,
    owner: Box<Owner>,
    /// Dropped last: every pointer above points into it.
    _library: libloading::Library,
}

// SAFETY: the plugin API allows every function of a plugin to be called from any thread as
// long as calls are not concurrent (which `&mut self` and `SharedPlugin`'s mutex ensure); the
// async handler, the one function called from the plugin's own threads, only touches the
// owner's mutex-protected queue.
unsafe impl Send for Plugin {}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("caps", &self.caps)
            .finish_non_exhaustive()
    }
}

/// Checks a plugin's required API version against [`API_VERSION`], with libs' messages.
pub fn check_api_version(required: &str) -> Result<(), String> {
    let parts: Vec<Option<u32>> = required.trim().splitn(3, '.').map(leading_number).collect();
    let [Some(major), Some(minor), Some(patch)] = parts[..] else {
        return Err(format!("plugin provided an invalid required API version: '{required}'"));
    };
    let (fw_major, fw_minor, fw_patch) = API_VERSION;
    let why = if major != fw_major {
        "major versions disagree"
    } else if fw_minor < minor {
        "framework's minor is less than the requested one"
    } else if fw_minor == minor && fw_patch < patch {
        "framework's patch is less than the requested one"
    } else {
        return Ok(());
    };
    Err(format!(
        "plugin required API version '{required}' not compatible with the framework's API version '{API_VERSION_STR}': {why}"
    ))
}

/// The number a version component starts with (`sscanf("%u")`'s reading).
fn leading_number(s: &str) -> Option<u32> {
    let end = s.bytes().position(|b| !b.is_ascii_digit()).unwrap_or(s.len());
    s[..end].parse().ok()
}

/// A JSON array of strings (`["a", "b"]`); `[]` for an empty text.
fn string_list(plugin: &str, what: &str, text: &str) -> Result<Vec<String>, PluginError> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str(text).map_err(|e| PluginError::Invalid {
        plugin: plugin.to_owned(),
        message: format!("{what} is not a JSON array of strings: {e}"),
    })
}

#[derive(serde::Deserialize)]
struct RawField {
    #[serde(rename = "type")]
    ty: String,
    name: String,
    #[serde(default)]
    display: Option<String>,
    #[serde(default)]
    desc: Option<String>,
    #[serde(default, rename = "isList")]
    is_list: Option<bool>,
    #[serde(default)]
    arg: Option<RawArg>,
    #[serde(default)]
    properties: Option<Vec<String>>,
    #[serde(default, rename = "addOutput")]
    add_output: Option<bool>,
}

#[derive(Default, serde::Deserialize)]
struct RawArg {
    #[serde(default, rename = "isRequired")]
    is_required: bool,
    #[serde(default, rename = "isIndex")]
    is_index: bool,
    #[serde(default, rename = "isKey")]
    is_key: bool,
}

/// Parses `get_fields`: the fields with their types, flags and arguments.
fn parse_fields(plugin: &str, json: &str) -> Result<Vec<FieldInfo>, PluginError> {
    let invalid = |message: String| PluginError::Invalid { plugin: plugin.to_owned(), message };
    let raw: Vec<RawField> = serde_json::from_str(json)
        .map_err(|e| invalid(format!("get_fields did not return a valid JSON array: {e}")))?;
    let mut out = Vec::with_capacity(raw.len());
    for f in raw {
        let (ty, ftype) = match f.ty.as_str() {
            "string" => (ParamType::Charbuf, FTYPE_STRING),
            "uint64" => (ParamType::Uint64, FTYPE_UINT64),
            "bool" => (ParamType::Bool, FTYPE_BOOL),
            "reltime" => (ParamType::RelTime, FTYPE_RELTIME),
            "abstime" => (ParamType::AbsTime, FTYPE_ABSTIME),
            "ipaddr" => (ParamType::IpAddr, FTYPE_IPADDR),
            "ipnet" => (ParamType::IpNet, FTYPE_IPNET),
            other => return Err(invalid(format!("field `{}` has unknown type `{other}`", f.name))),
        };
        if f.name.is_empty() {
            return Err(invalid("a field has an empty name".to_owned()));
        }
        let arg = f.arg.unwrap_or_default();
        let mut flags = 0;
        if f.is_list == Some(true) {
            flags |= epf::IS_LIST;
        }
        if arg.is_required {
            flags |= epf::ARG_REQUIRED;
        } else if arg.is_index || arg.is_key {
            flags |= epf::ARG_ALLOWED;
        }
        if arg.is_index {
            flags |= epf::ARG_INDEX;
        }
        if arg.is_key {
            flags |= epf::ARG_KEY;
        }
        if f.add_output == Some(true) {
            flags |= epf::FORMAT_SUGGESTED;
        }
        if f.properties.iter().flatten().any(|p| p == "hidden") {
            flags |= epf::TABLE_ONLY;
        }
        let name_c = CString::new(f.name.clone())
            .map_err(|_| invalid(format!("field `{}` has a NUL in its name", f.name)))?;
        out.push(FieldInfo {
            spec: PluginFieldSpec {
                name: f.name,
                ty,
                flags,
                display: f.display.unwrap_or_default(),
                desc: f.desc.unwrap_or_default(),
            },
            ftype,
            name_c,
        });
    }
    Ok(out)
}

impl Plugin {
    /// Opens the library at `path` and reads what the plugin is. `log` receives the plugin's
    /// log lines.
    pub fn load(path: &Path, log: Option<LogSink>) -> Result<Plugin, PluginError> {
        let load_err =
            |reason: String| PluginError::Load { path: path.display().to_string(), reason };
        // SAFETY: loading a library runs its initialisers; loading a plugin is what the user
        // asked for, and a plugin is trusted code, as in Falco.
        let library =
            unsafe { libloading::Library::new(path) }.map_err(|e| load_err(e.to_string()))?;
        macro_rules! sym {
            ($name:literal, $ty:ty) => {{
                // SAFETY: the symbol, if present, has the plugin API's type for that name;
                // the pointer is used only while `library` is loaded (it is kept in the
                // `Plugin`, dropped last).
                unsafe { library.get::<$ty>(concat!("plugin_", $name, "\0").as_bytes()) }
                    .ok()
                    .map(|s| *s)
            }};
        }
        macro_rules! required {
            ($name:literal, $ty:ty) => {
                sym!($name, $ty)
                    .ok_or_else(|| load_err(format!("symbol not implemented: {}", $name)))?
            };
        }
        let api = Api {
            get_required_api_version: required!("get_required_api_version", FnStr),
            get_version: required!("get_version", FnStr),
            get_name: required!("get_name", FnStr),
            get_description: required!("get_description", FnStr),
            get_contact: required!("get_contact", FnStr),
            init: required!("init", FnInit),
            destroy: required!("destroy", FnDestroy),
            get_last_error: sym!("get_last_error", FnLastError),
            get_init_schema: sym!("get_init_schema", FnInitSchema),
            get_id: sym!("get_id", FnGetId),
            get_event_source: sym!("get_event_source", FnStr),
            open: sym!("open", FnOpen),
            close: sym!("close", FnClose),
            list_open_params: sym!("list_open_params", FnListOpenParams),
            get_progress: sym!("get_progress", FnProgress),
            next_batch: sym!("next_batch", FnNextBatch),
            get_fields: sym!("get_fields", FnStr),
            extract_fields: sym!("extract_fields", FnExtract),
            get_extract_event_types: sym!("get_extract_event_types", FnEventTypes),
            get_extract_event_sources: sym!("get_extract_event_sources", FnStr),
            parse_event: sym!("parse_event", FnParse),
            get_parse_event_types: sym!("get_parse_event_types", FnEventTypes),
            get_parse_event_sources: sym!("get_parse_event_sources", FnStr),
            get_async_events: sym!("get_async_events", FnStr),
            get_async_event_sources: sym!("get_async_event_sources", FnStr),
            set_async_event_handler: sym!("set_async_event_handler", FnSetAsyncHandler),
            capture_open: sym!("capture_open", FnCaptureListen),
            capture_close: sym!("capture_close", FnCaptureListen),
            get_metrics: sym!("get_metrics", FnGetMetrics),
        };
        // SAFETY: the getters take no argument and return static NUL-terminated strings.
        let text = |f: FnStr| unsafe { cstr(f()) };
        let required_api_version = text(api.get_required_api_version);
        check_api_version(&required_api_version).map_err(load_err)?;
        let name = text(api.get_name);
        let caps = Capabilities {
            sourcing: api.get_id.is_some()
                && api.get_event_source.is_some()
                && api.open.is_some()
                && api.close.is_some()
                && api.next_batch.is_some(),
            extraction: api.get_fields.is_some() && api.extract_fields.is_some(),
            parsing: api.parse_event.is_some(),
            async_events: api.get_async_events.is_some() && api.set_async_event_handler.is_some(),
            capture_listening: api.capture_open.is_some() && api.capture_close.is_some(),
        };
        if !(caps.sourcing
            || caps.extraction
            || caps.parsing
            || caps.async_events
            || caps.capture_listening)
        {
            return Err(load_err("plugin supports no capability".to_owned()));
        }
        // SAFETY: `get_id` takes no argument.
        let id = if caps.sourcing { api.get_id.map_or(0, |f| unsafe { f() }) } else { 0 };
        let event_source = if caps.sourcing {
            api.get_event_source.map(text).unwrap_or_default()
        } else {
            String::new()
        };
        if caps.sourcing && ((id == 0) != event_source.is_empty()) {
            return Err(load_err(
                "plugin has an event source id but no event source name, or the reverse".to_owned(),
            ));
        }
        let init_schema = api.get_init_schema.and_then(|f| {
            let mut ty = SS_PLUGIN_SCHEMA_NONE;
            // SAFETY: `ty` is ours; the schema is a static string of the plugin.
            let schema = unsafe { cstr(f(&mut ty)) };
            (ty == SS_PLUGIN_SCHEMA_JSON && !schema.trim().is_empty()).then_some(schema)
        });
        let fields = match api.get_fields.filter(|_| caps.extraction) {
            Some(f) => parse_fields(&name, &text(f))?,
            None => Vec::new(),
        };
        let list = |what: &str, f: Option<FnStr>| match f {
            Some(f) => string_list(&name, what, &text(f)),
            None => Ok(Vec::new()),
        };
        let extract_sources = list("get_extract_event_sources", api.get_extract_event_sources)?;
        let parse_sources = list("get_parse_event_sources", api.get_parse_event_sources)?;
        let async_sources = list("get_async_event_sources", api.get_async_event_sources)?;
        let async_events = if caps.async_events {
            list("get_async_events", api.get_async_events)?
        } else {
            Vec::new()
        };
        let owner = Box::new(Owner::new(name.clone(), log));
        Ok(Plugin {
            api,
            version: text(api.get_version),
            description: text(api.get_description),
            contact: text(api.get_contact),
            required_api_version,
            name,
            caps,
            id,
            event_source,
            init_schema,
            fields,
            extract_types: Vec::new(),
            extract_sources,
            parse_types: Vec::new(),
            memo: Memo::default(),
            extract_errors: 0,
            parse_sources,
            async_events,
            async_sources,
            state: std::ptr::null_mut(),
            source_names: Vec::new(),
            vtables: Vtables::new(),
            owner,
            _library: library,
        })
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Its version.
    pub fn version(&self) -> &str {
        &self.version
    }
    /// The plugin API version it requires.
    pub fn required_api_version(&self) -> &str {
        &self.required_api_version
    }
    /// Its description.
    pub fn description(&self) -> &str {
        &self.description
    }
    /// Its contact.
    pub fn contact(&self) -> &str {
        &self.contact
    }
    /// What it can do.
    pub fn capabilities(&self) -> Capabilities {
        self.caps
    }
    /// Its event source id (0: none, or events in the syscall format).
    pub fn id(&self) -> u32 {
        self.id
    }
    /// The event source it produces (`""` without sourcing or with id 0).
    pub fn event_source(&self) -> &str {
        &self.event_source
    }
    /// The JSON schema of its init config, if it gives one.
    pub fn init_schema(&self) -> Option<&str> {
        self.init_schema.as_deref()
    }
    /// Its fields.
    pub fn fields(&self) -> &[FieldInfo] {
        &self.fields
    }
    /// The async event names it may emit.
    pub fn async_event_names(&self) -> &[String] {
        &self.async_events
    }

    /// The event sources its fields apply to; empty means every source. Without a list of
    /// its own, a plugin with an event source extracts from that source's events.
    pub fn extract_sources(&self) -> Vec<String> {
        if self.extract_sources.is_empty() && !self.event_source.is_empty() {
            return vec![self.event_source.clone()];
        }
        self.extract_sources.clone()
    }

    /// The event sources its async events belong to (`syscall` unless it says otherwise).
    pub fn async_sources(&self) -> Vec<String> {
        if self.async_sources.is_empty() {
            return vec!["syscall".to_owned()];
        }
        self.async_sources.clone()
    }

    /// Whether it parses events of `code` from `source`.
    pub fn parses(&self, code: u16, source: &str) -> bool {
        self.caps.parsing
            && (self.parse_types.is_empty() || self.parse_types.contains(&code))
            && (self.parse_sources.is_empty() || self.parse_sources.iter().any(|s| s == source))
    }

    /// The event types it parses; empty means every type.
    pub fn parse_types(&self) -> &[u16] {
        &self.parse_types
    }

    /// Whether its fields can have values on events of `code` from `source`.
    pub fn extracts(&self, code: u16, source: &str) -> bool {
        let sources = self.extract_sources();
        (self.extract_types.is_empty() || self.extract_types.contains(&code))
            && (sources.is_empty() || sources.iter().any(|s| s == source))
    }

    fn last_error(&self) -> String {
        match self.api.get_last_error {
            // SAFETY: `state` is the plugin's (possibly a failed init's, which the API still
            // asks to be queried and destroyed); the string is the plugin's.
            Some(f) if !self.state.is_null() => unsafe { cstr(f(self.state)) },
            _ => String::new(),
        }
    }

    fn call_error(&self, call: &'static str, rc: i32) -> PluginError {
        PluginError::Call { plugin: self.name.clone(), call, rc, message: self.last_error() }
    }

    fn invalid(&self, message: impl Into<String>) -> PluginError {
        PluginError::Invalid { plugin: self.name.clone(), message: message.into() }
    }

    /// Validates the init config against the plugin's schema, then initialises the plugin.
    pub fn init(&mut self, config: &InitConfig) -> Result<(), PluginError> {
        if !self.state.is_null() {
            return Err(self.invalid("already initialised"));
        }
        let mut text = config.text();
        if let Some(schema) = &self.init_schema {
            if text.trim().is_empty() {
                text = "{}".to_owned();
            }
            self.validate_config(schema, &text)?;
        }
        let config_c = CString::new(text).map_err(|_| PluginError::InitConfig {
            plugin: self.name.clone(),
            problems: "contains a NUL byte".to_owned(),
        })?;
        let tables = self.vtables.init_tables();
        let input = ss_plugin_init_input {
            config: config_c.as_ptr(),
            owner: self.owner.as_ptr(),
            get_owner_last_error: Some(owner::get_owner_last_error),
            tables: &tables,
            log_fn: Some(owner::log_fn),
        };
        let mut rc = SS_PLUGIN_FAILURE;
        // SAFETY: every pointer of `input` is valid for the call; the owner and the vtables
        // are boxed in `self` and outlive the plugin state.
        self.state = unsafe { (self.api.init)(&input, &mut rc) };
        if rc != SS_PLUGIN_SUCCESS {
            let err = if self.state.is_null() {
                PluginError::Call {
                    plugin: self.name.clone(),
                    call: "plugin_init",
                    rc,
                    message: "no state returned".to_owned(),
                }
            } else {
                self.call_error("plugin_init", rc)
            };
            self.destroy();
            return Err(err);
        }
        if self.state.is_null() {
            return Err(self.invalid("plugin_init succeeded but returned no state"));
        }
        self.extract_types = self.event_types(self.api.get_extract_event_types);
        self.parse_types = self.event_types(self.api.get_parse_event_types);
        Ok(())
    }

    fn validate_config(&self, schema: &str, text: &str) -> Result<(), PluginError> {
        let bad =
            |problems: String| PluginError::InitConfig { plugin: self.name.clone(), problems };
        let schema: serde_json::Value = serde_json::from_str(schema)
            .map_err(|e| self.invalid(format!("its init schema is not JSON: {e}")))?;
        let validator = jsonschema::validator_for(&schema).map_err(|e| {
            self.invalid(format!("its init schema is not a valid JSON schema: {e}"))
        })?;
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
        let problems: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| {
                let at = e.instance_path.to_string();
                if at.is_empty() { e.to_string() } else { format!("{at}: {e}") }
            })
            .collect();
        if problems.is_empty() { Ok(()) } else { Err(bad(problems.join("; "))) }
    }

    fn event_types(&self, f: Option<FnEventTypes>) -> Vec<u16> {
        let Some(f) = f else { return Vec::new() };
        let mut n = 0u32;
        // SAFETY: `state` is initialised; the plugin returns an array of `n` codes it owns.
        let ptr = unsafe { f(&mut n, self.state) };
        if ptr.is_null() || n == 0 {
            return Vec::new();
        }
        // SAFETY: as above.
        unsafe { std::slice::from_raw_parts(ptr, n as usize) }.to_vec()
    }

    fn destroy(&mut self) {
        if !self.state.is_null() {
            // SAFETY: `state` came from this plugin's `init` and is destroyed once.
            unsafe { (self.api.destroy)(self.state) };
            self.state = std::ptr::null_mut();
        }
    }

    fn require_init(&self) -> Result<(), PluginError> {
        if self.state.is_null() { Err(self.invalid("not initialised")) } else { Ok(()) }
    }

    fn source_name(&mut self, source: &str) -> *const c_char {
        if let Some(i) = self.source_names.iter().position(|(s, _)| s == source) {
            return self.source_names[i].1.as_ptr();
        }
        let c = CString::new(source.replace('\0', "")).unwrap_or_default();
        self.source_names.push((source.to_owned(), c));
        self.source_names.last().map_or(std::ptr::null(), |(_, c)| c.as_ptr())
    }

    /// The suggested open parameters (`list_open_params`), as the plugin gives them.
    pub fn list_open_params(&mut self) -> Result<String, PluginError> {
        self.require_init()?;
        let Some(f) = self.api.list_open_params else { return Ok(String::new()) };
        let mut rc = SS_PLUGIN_FAILURE;
        // SAFETY: `state` is initialised; the string is the plugin's.
        let text = unsafe { cstr(f(self.state, &mut rc)) };
        if rc != SS_PLUGIN_SUCCESS {
            return Err(self.call_error("plugin_list_open_params", rc));
        }
        Ok(text)
    }

    /// Opens the event source with `params` (`open_params` of the configuration).
    pub fn open(&mut self, params: &str) -> Result<SourceInstance, PluginError> {
        self.require_init()?;
        let (Some(open), true) = (self.api.open, self.caps.sourcing) else {
            return Err(self.invalid("has no event sourcing capability"));
        };
        let params_c = CString::new(params).map_err(|_| self.invalid("open params contain NUL"))?;
        let mut rc = SS_PLUGIN_FAILURE;
        // SAFETY: `state` is initialised; `params_c` lives across the call.
        let handle = unsafe { open(self.state, params_c.as_ptr(), &mut rc) };
        if rc != SS_PLUGIN_SUCCESS {
            return Err(self.call_error("plugin_open", rc));
        }
        Ok(SourceInstance { handle, eof: false, batch: Batch::default() })
    }

    /// Closes an instance [`Plugin::open`] returned.
    pub fn close(&mut self, instance: SourceInstance) {
        if let Some(close) = self.api.close {
            // SAFETY: the handle came from this plugin's `open` and is closed once.
            unsafe { close(self.state, instance.handle) };
        }
    }

    /// Extracts field `index` (of [`Plugin::fields`]) with `arg` from `event` (number `num`
    /// of source `source`) into `out` (cleared first). An event the field does not apply to
    /// leaves `out` empty.
    pub fn extract(
        &mut self,
        index: u32,
        arg: &FieldArg,
        event: &RawEvent<'_>,
        num: u64,
        source: &str,
        out: &mut Values,
    ) -> Result<(), PluginError> {
        out.clear();
        self.require_init()?;
        if self.api.extract_fields.is_none() || !self.extracts(event.event_type(), source) {
            return Ok(());
        }
        let key = (num, event.as_bytes().as_ptr() as usize, event.as_bytes().len());
        if self.memo.event != Some(key) {
            self.memo.event = Some(key);
            self.memo.used = 0;
        }
        if let Some(values) = self.memo.get(index, arg) {
            out.clone_from(values);
            return Ok(());
        }
        self.extract_uncached(index, arg, event, num, source, out)?;
        self.memo.put(index, arg, out);
        Ok(())
    }

    fn extract_uncached(
        &mut self,
        index: u32,
        arg: &FieldArg,
        event: &RawEvent<'_>,
        num: u64,
        source: &str,
        out: &mut Values,
    ) -> Result<(), PluginError> {
        let Some(extract) = self.api.extract_fields else { return Ok(()) };
        let Some(info) = self.fields.get(index as usize) else {
            return Err(self.invalid(format!("no field number {index}")));
        };
        let ftype = info.ftype;
        let key_c;
        let (arg_key, arg_index, arg_present) = match arg {
            FieldArg::Index(n) => (std::ptr::null(), *n, 1),
            FieldArg::Key(k) => {
                key_c = CString::new(k.as_bytes()).unwrap_or_default();
                (key_c.as_ptr(), 0, 1)
            }
            _ => (std::ptr::null(), 0, 0),
        };
        let mut request = ss_plugin_extract_field {
            res: ss_plugin_extract_result { u64_: std::ptr::null_mut() },
            res_len: 0,
            field_id: index,
            field: info.name_c.as_ptr(),
            arg_key,
            arg_index,
            arg_present,
            ftype,
            flist: u32::from(info.spec.flags & epf::IS_LIST != 0),
        };
        let evtsrc = self.source_name(source);
        let input = ss_plugin_field_extract_input {
            owner: self.owner.as_ptr(),
            get_owner_last_error: Some(owner::get_owner_last_error),
            num_fields: 1,
            fields: &mut request,
            table_reader: owner::READER,
            table_reader_ext: &raw mut self.vtables.reader_ext,
            value_offsets: std::ptr::null_mut(),
        };
        let event_input =
            ss_plugin_event_input { evt: event.as_bytes().as_ptr().cast(), evtnum: num, evtsrc };
        // SAFETY: the event bytes, the request and the input live across the call; the
        // plugin writes the result pointers into `request`.
        let rc = unsafe { extract(self.state, &event_input, &input) };
        if rc != SS_PLUGIN_SUCCESS {
            return Err(self.call_error("plugin_extract_fields", rc));
        }
        let n = request.res_len as usize;
        if n == 0 {
            return Ok(());
        }
        // SAFETY: after a successful call, `res` points at `res_len` values of the field's
        // type, owned by the plugin until its next call; each arm reads that many.
        unsafe {
            match ftype {
                FTYPE_STRING => {
                    let ptrs = request.res.str_;
                    for i in 0..n {
                        let p = *ptrs.add(i);
                        if !p.is_null() {
                            out.push_bytes(std::ffi::CStr::from_ptr(p).to_bytes());
                        }
                    }
                }
                FTYPE_UINT64 | FTYPE_RELTIME | FTYPE_ABSTIME => {
                    for i in 0..n {
                        out.push_uint(*request.res.u64_.add(i));
                    }
                }
                FTYPE_BOOL => {
                    for i in 0..n {
                        out.push_bool(*request.res.boolean.add(i) != 0);
                    }
                }
                _ => {
                    for i in 0..n {
                        let b = &*request.res.buf.add(i);
                        let bytes = if b.ptr.is_null() {
                            &[][..]
                        } else {
                            std::slice::from_raw_parts(b.ptr.cast::<u8>(), b.len as usize)
                        };
                        match (ftype, bytes.len()) {
                            (FTYPE_IPADDR, 4) => {
                                let a: [u8; 4] = bytes.try_into().unwrap_or_default();
                                out.push_ip(std::net::IpAddr::from(a));
                            }
                            (FTYPE_IPADDR, 16) => {
                                let a: [u8; 16] = bytes.try_into().unwrap_or_default();
                                out.push_ip(std::net::IpAddr::from(a));
                            }
                            _ => out.push_bytes(bytes),
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Has the plugin parse `event` (number `num` of source `source`), if it parses that
    /// kind of event.
    pub fn parse(
        &mut self,
        event: &RawEvent<'_>,
        num: u64,
        source: &str,
    ) -> Result<(), PluginError> {
        self.require_init()?;
        let Some(parse) = self.api.parse_event else { return Ok(()) };
        if !self.parses(event.event_type(), source) {
            return Ok(());
        }
        let evtsrc = self.source_name(source);
        let input = ss_plugin_event_parse_input {
            owner: self.owner.as_ptr(),
            get_owner_last_error: Some(owner::get_owner_last_error),
            table_reader: owner::READER,
            table_writer: owner::WRITER,
            table_reader_ext: &raw mut self.vtables.reader_ext,
            table_writer_ext: &raw mut self.vtables.writer_ext,
        };
        let event_input =
            ss_plugin_event_input { evt: event.as_bytes().as_ptr().cast(), evtnum: num, evtsrc };
        // SAFETY: the event and the input live across the call.
        let rc = unsafe { parse(self.state, &event_input, &input) };
        if rc != SS_PLUGIN_SUCCESS {
            return Err(self.call_error("plugin_parse_event", rc));
        }
        Ok(())
    }

    /// Starts the plugin's async events: they queue up for [`Plugin::take_async_events`].
    pub fn start_async(&mut self) -> Result<(), PluginError> {
        self.set_async_handler(Some(owner::async_handler))
    }

    /// Stops the plugin's async events.
    pub fn stop_async(&mut self) -> Result<(), PluginError> {
        self.set_async_handler(None)
    }

    fn set_async_handler(&mut self, h: ss_plugin_async_event_handler_t) -> Result<(), PluginError> {
        self.require_init()?;
        let (Some(set), true) = (self.api.set_async_event_handler, self.caps.async_events) else {
            return Ok(());
        };
        // SAFETY: the owner is boxed in `self` and outlives the handler's registration
        // (the handler is unset before the plugin is destroyed).
        let rc = unsafe { set(self.state, self.owner.as_ptr(), h) };
        if rc != SS_PLUGIN_SUCCESS {
            return Err(self.call_error("plugin_set_async_event_handler", rc));
        }
        Ok(())
    }

    /// The async events received since the last call, in order (each an event's bytes;
    /// a time of "now" already replaced), and how many were dropped for a full queue.
    pub fn take_async_events(&self) -> (Vec<Vec<u8>>, u64) {
        let mut queue = self.owner.async_events.lock().unwrap_or_else(PoisonError::into_inner);
        let events = queue.drain(..).collect();
        (events, self.owner.async_dropped.swap(0, std::sync::atomic::Ordering::Relaxed))
    }

    /// Tells a capture-listening plugin that a capture opens (`open`) or closes.
    pub fn capture_listen(&mut self, open: bool) -> Result<(), PluginError> {
        self.require_init()?;
        if !self.caps.capture_listening {
            return Ok(());
        }
        let (f, call) = if open {
            (self.api.capture_open, "plugin_capture_open")
        } else {
            (self.api.capture_close, "plugin_capture_close")
        };
        let Some(f) = f else { return Ok(()) };
        let input = ss_plugin_capture_listen_input {
            owner: self.owner.as_ptr(),
            routine: &raw mut self.vtables.routine,
            table_reader_ext: &raw mut self.vtables.reader_ext,
            table_writer_ext: &raw mut self.vtables.writer_ext,
            get_owner_last_error: Some(owner::get_owner_last_error),
        };
        // SAFETY: the input and what it points to live across the call.
        let rc = unsafe { f(self.state, &input) };
        if rc != SS_PLUGIN_SUCCESS {
            return Err(self.call_error(call, rc));
        }
        Ok(())
    }

    /// Its field extractions that failed since it was loaded.
    pub fn extract_errors(&self) -> u64 {
        self.extract_errors
    }

    /// The plugin's metrics (`get_metrics`), none if it has none.
    pub fn metrics(&mut self) -> Vec<Metric> {
        let (Some(f), false) = (self.api.get_metrics, self.state.is_null()) else {
            return Vec::new();
        };
        let mut n = 0u32;
        // SAFETY: `state` is initialised; the plugin returns `n` metrics it owns.
        let ptr = unsafe { f(self.state, &mut n) };
        if ptr.is_null() {
            return Vec::new();
        }
        // SAFETY: as above.
        let raw = unsafe { std::slice::from_raw_parts(ptr, n as usize) };
        raw.iter()
            .map(|m| {
                // SAFETY: the union member read is the one `value_type` names.
                let value = unsafe {
                    match m.value_type {
                        SS_PLUGIN_METRIC_VALUE_TYPE_U32 => {
                            MetricValue::Uint(u64::from(m.value.u32_))
                        }
                        SS_PLUGIN_METRIC_VALUE_TYPE_S32 => MetricValue::Int(i64::from(m.value.s32)),
                        SS_PLUGIN_METRIC_VALUE_TYPE_U64 => MetricValue::Uint(m.value.u64_),
                        SS_PLUGIN_METRIC_VALUE_TYPE_S64 => MetricValue::Int(m.value.s64),
                        SS_PLUGIN_METRIC_VALUE_TYPE_D => MetricValue::Double(m.value.d),
                        SS_PLUGIN_METRIC_VALUE_TYPE_F => MetricValue::Double(f64::from(m.value.f)),
                        _ => MetricValue::Int(i64::from(m.value.i)),
                    }
                };
                // SAFETY: the name is a NUL-terminated string of the plugin.
                let name = unsafe { cstr(m.name) };
                Metric { name, monotonic: m.type_ == 0, value }
            })
            .collect()
    }

    /// Registers the plugin's fields with `lanner-fields`, extracted through `shared` (this
    /// plugin, shared).
    pub fn register_fields(shared: &SharedPlugin) -> Result<(), PluginError> {
        let plugin = shared.lock();
        if plugin.fields.is_empty() {
            return Ok(());
        }
        let specs: Vec<PluginFieldSpec> = plugin.fields.iter().map(|f| f.spec.clone()).collect();
        let sources = plugin.extract_sources();
        let extractor: Arc<dyn PluginExtractor> = Arc::new(Extractor(shared.clone()));
        lanner_fields::register_plugin_fields(
            &plugin.name,
            &plugin.description,
            &sources,
            &specs,
            extractor,
        )
        .map_err(|e| plugin.invalid(e.to_string()))
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        if self.caps.async_events && !self.state.is_null() {
            // The handler points into the owner, which is about to go: unset it first. A
            // failure cannot be reported from a drop; the plugin is destroyed anyway.
            let _ = self.stop_async();
        }
        self.destroy();
    }
}

/// A plugin shared between the threads that use it (its source's, the rules' extractors):
/// one call at a time, as the plugin API requires.
#[derive(Clone, Debug)]
pub struct SharedPlugin(Arc<Mutex<Plugin>>);

impl SharedPlugin {
    /// Shares a plugin.
    pub fn new(plugin: Plugin) -> SharedPlugin {
        SharedPlugin(Arc::new(Mutex::new(plugin)))
    }

    /// The plugin, for one call or a few.
    pub fn lock(&self) -> std::sync::MutexGuard<'_, Plugin> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A plugin's extracted values for one event (number, bytes), kept for the other rules.
/// Entries are reused from event to event, so that a steady stream allocates nothing.
#[derive(Debug, Default)]
struct Memo {
    event: Option<(u64, usize, usize)>,
    entries: Vec<(u32, FieldArg, Values)>,
    /// Entries of the current event: the first `used`.
    used: usize,
}

impl Memo {
    fn get(&self, index: u32, arg: &FieldArg) -> Option<&Values> {
        self.entries[..self.used].iter().find(|(i, a, _)| *i == index && a == arg).map(|e| &e.2)
    }

    fn put(&mut self, index: u32, arg: &FieldArg, values: &Values) {
        if let Some(entry) = self.entries.get_mut(self.used) {
            entry.0 = index;
            if entry.1 != *arg {
                entry.1 = arg.clone();
            }
            entry.2.clone_from(values);
        } else {
            self.entries.push((index, arg.clone(), values.clone()));
        }
        self.used += 1;
    }
}

/// The extractor registered with `lanner-fields` for a plugin's fields.
#[derive(Debug)]
struct Extractor(SharedPlugin);

/// How many extraction errors of a plugin are reported in full; after them, one in each
/// power of two.
const REPORTED_EXTRACT_ERRORS: u64 = 10;

impl PluginExtractor for Extractor {
    fn extract(
        &self,
        index: u32,
        arg: &FieldArg,
        event: &RawEvent<'_>,
        num: u64,
        source: &str,
        out: &mut Values,
    ) {
        let mut plugin = self.0.lock();
        if let Err(err) = plugin.extract(index, arg, event, num, source, out) {
            // A failed extraction leaves the field without a value (the rule does not match),
            // and is reported through the plugin's log sink: the first few in full, then one
            // at every power of two of the plugin's count.
            plugin.extract_errors += 1;
            let n = plugin.extract_errors;
            if n <= REPORTED_EXTRACT_ERRORS || n.is_power_of_two() {
                let message = format!("{err} (event {num}; {n} extraction errors so far)");
                match &plugin.owner.log {
                    Some(log) => log(&plugin.name, 3, &message),
                    None => eprintln!("{message}"),
                }
            }
        }
    }
}

/// An open instance of a plugin's event source.
#[derive(Debug)]
pub struct SourceInstance {
    handle: *mut ss_instance_t,
    eof: bool,
    batch: Batch,
}

// SAFETY: the handle is only used with its plugin, under `&mut Plugin`.
unsafe impl Send for SourceInstance {}

/// Events of one `next_batch`, copied out of the plugin's memory.
#[derive(Debug, Default)]
pub struct Batch {
    buf: Vec<u8>,
    ends: Vec<usize>,
}

impl Batch {
    /// The events, in order.
    pub fn iter(&self) -> impl Iterator<Item = RawEvent<'_>> {
        let mut start = 0;
        self.ends.iter().filter_map(move |&end| {
            let ev = RawEvent::new(&self.buf[start..end]).ok();
            start = end;
            ev
        })
    }

    /// How many events.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there is none (a timeout).
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

impl SourceInstance {
    /// The next batch of events: `Some` with events, `Some` empty when the plugin timed out
    /// (call again), `None` at the end of the source (EOF). A failure is an error with the
    /// plugin's last error.
    pub fn next_batch<'s>(
        &'s mut self,
        plugin: &mut Plugin,
    ) -> Result<Option<&'s Batch>, PluginError> {
        self.batch.buf.clear();
        self.batch.ends.clear();
        if self.eof {
            return Ok(None);
        }
        let Some(next) = plugin.api.next_batch else { return Ok(None) };
        let mut n = 0u32;
        let mut events: *mut *mut ss_plugin_event = std::ptr::null_mut();
        // SAFETY: the handle is this plugin's open instance; the plugin fills `n` and
        // `events` with memory it owns until the next call.
        let rc = unsafe { next(plugin.state, self.handle, &mut n, &mut events) };
        match rc {
            SS_PLUGIN_SUCCESS | SS_PLUGIN_EOF => {}
            SS_PLUGIN_TIMEOUT => return Ok(Some(&self.batch)),
            _ => return Err(plugin.call_error("plugin_next_batch", rc)),
        }
        if rc == SS_PLUGIN_EOF {
            self.eof = true;
        }
        if !events.is_null() {
            for i in 0..n as usize {
                // SAFETY: `events` holds `n` pointers to events (a packed header, `len`
                // bytes in all).
                let ptr = unsafe { *events.add(i) };
                if ptr.is_null() {
                    continue;
                }
                // SAFETY: as above.
                let header = unsafe { std::ptr::read_unaligned(ptr) };
                let len = header.len as usize;
                if len < size_of::<ss_plugin_event>() {
                    return Err(
                        plugin.invalid("next_batch returned an event shorter than its header")
                    );
                }
                if plugin.id != 0 && header.type_ != PLUGIN_EVENT {
                    return Err(plugin.invalid(format!(
                        "source plugin with an id emitted an event of type {} (only {PLUGIN_EVENT}, pluginevent, is allowed)",
                        { header.type_ }
                    )));
                }
                let start = self.batch.buf.len();
                // SAFETY: the event is `len` bytes long.
                self.batch.buf.extend_from_slice(unsafe {
                    std::slice::from_raw_parts(ptr.cast::<u8>(), len)
                });
                if header.ts == u64::MAX {
                    self.batch.buf[start..start + 8]
                        .copy_from_slice(&owner::now_ns().to_le_bytes());
                }
                if plugin.id != 0 && header.type_ == PLUGIN_EVENT && len >= 38 {
                    // The plugin id parameter is this plugin's, whatever the plugin wrote
                    // (libs sets it too).
                    self.batch.buf[start + 34..start + 38]
                        .copy_from_slice(&plugin.id.to_le_bytes());
                }
                if RawEvent::new(&self.batch.buf[start..]).is_err() {
                    return Err(plugin
                        .invalid(format!("next_batch returned a malformed event of type {}", {
                            header.type_
                        })));
                }
                self.batch.ends.push(self.batch.buf.len());
            }
        }
        if self.eof && self.batch.is_empty() {
            return Ok(None);
        }
        Ok(Some(&self.batch))
    }

    /// The progress of the source, percent and the plugin's text (`get_progress`).
    pub fn progress(&self, plugin: &mut Plugin) -> Option<(f64, String)> {
        let f = plugin.api.get_progress?;
        let mut pct = 0u32;
        // SAFETY: the handle is this plugin's open instance.
        let text = unsafe { cstr(f(plugin.state, self.handle, &mut pct)) };
        Some((f64::from(pct) / 100.0, text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions() {
        assert!(check_api_version("3.0.0").is_ok());
        assert!(check_api_version("3.12.0").is_ok());
        assert!(check_api_version("3.11.7").is_ok());
        assert_eq!(
            check_api_version("3.13.0").unwrap_err(),
            "plugin required API version '3.13.0' not compatible with the framework's API version '3.12.0': framework's minor is less than the requested one"
        );
        assert_eq!(
            check_api_version("3.12.1").unwrap_err(),
            "plugin required API version '3.12.1' not compatible with the framework's API version '3.12.0': framework's patch is less than the requested one"
        );
        assert!(check_api_version("2.0.0").unwrap_err().ends_with("major versions disagree"));
        assert_eq!(
            check_api_version("three").unwrap_err(),
            "plugin provided an invalid required API version: 'three'"
        );
    }

    #[test]
    fn fields_json() {
        let f = parse_fields(
            "p",
            r#"[{"type":"string","name":"p.s","desc":"d","isList":true},
                {"type":"uint64","name":"p.n","arg":{"isRequired":true,"isIndex":true}},
                {"type":"string","name":"p.k","arg":{"isKey":true},"properties":["hidden"]}]"#,
        )
        .unwrap();
        assert_eq!(f.len(), 3);
        assert!(f[0].spec.flags & epf::IS_LIST != 0);
        assert_eq!(
            f[1].spec.flags & (epf::ARG_REQUIRED | epf::ARG_INDEX),
            epf::ARG_REQUIRED | epf::ARG_INDEX
        );
        assert_eq!(
            f[2].spec.flags & (epf::ARG_ALLOWED | epf::ARG_KEY | epf::TABLE_ONLY),
            epf::ARG_ALLOWED | epf::ARG_KEY | epf::TABLE_ONLY
        );
        assert!(parse_fields("p", r#"[{"type":"float","name":"x"}]"#).is_err());
    }
}
