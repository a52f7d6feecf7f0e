//! lanner's `json` Falco plugin: extracts `json.*` fields from the JSON payload of plugin
//! events of *any* source (k8s audit, CloudTrail, ...), as upstream's
//! `falcosecurity/plugins/plugins/json` does, field for field:
//!
//! | field | value |
//! |---|---|
//! | `json.value[<json pointer>]` | the value at the RFC 6901 pointer: a string's text, anything else as compact JSON |
//! | `json.obj` | the whole payload, indented as Go's `json.Indent(.., "", "  ")` |
//! | `json.rawtime` | the event timestamp, in nanoseconds, as a decimal string |
//! | `jevt.value[..]`, `jevt.obj`, `jevt.rawtime` | aliases |
//!
//! It is an extraction-only plugin (no id, no event source), built with the `falco_plugin`
//! SDK: the `cdylib` (`libjson` as Falco names it; here `liblanner_plugin_json.so`) exports
//! the `plugin_*` symbols, and [`PLUGIN_API`] is the same vtable for in-process use. The
//! payload is parsed once per event number and kept for the next fields of that event.
//!
//! Init config (optional, JSON): `{"useAsync": bool}`, accepted for compatibility and
//! ignored (the SDK has no async extraction).

use falco_plugin::anyhow::Error;
use falco_plugin::base::{Json, Plugin};
use falco_plugin::event::PluginEvent;
use falco_plugin::event::events::Event;
use falco_plugin::extract::{ExtractFieldInfo, ExtractPlugin, ExtractRequest, field};
use falco_plugin::schemars::JsonSchema;
use falco_plugin::serde::Deserialize;
use falco_plugin::tables::TablesInput;
use lanner_plugin_jsontree::{PerEvent, Value};
use lanner_plugin_support::cstring;
use std::ffi::{CStr, CString};

mod indent;

pub use indent::indent;

/// The plugin's init config (upstream's `PluginConfig`).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(crate = "falco_plugin::serde")]
#[schemars(crate = "falco_plugin::schemars")]
pub struct Config {
    /// If true then async extraction optimization is enabled (Default: true). Ignored.
    #[serde(rename = "useAsync", default)]
    pub use_async: Option<bool>,
}

/// Errors of extraction.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// The payload does not start with `{` or `[` (upstream's message).
    #[error("invalid json format")]
    NotJson,
    /// The payload is not valid JSON.
    #[error("{0}")]
    Parse(#[from] lanner_plugin_jsontree::ParseError),
}

/// The json plugin.
#[derive(Debug, Default)]
pub struct JsonPlugin {
    parsed: PerEvent,
}

type PluginEventRef<'a> = Event<PluginEvent<&'a [u8]>>;

impl Plugin for JsonPlugin {
    const NAME: &'static CStr = c"json";
    const PLUGIN_VERSION: &'static CStr = c"0.7.0";
    const DESCRIPTION: &'static CStr =
        c"implements extracting arbitrary fields from inputs formatted as JSON";
    const CONTACT: &'static CStr = c"https://github.com/lanner-project/lanner";
    type ConfigType = Json<Config>;

    fn new(_input: Option<&TablesInput>, _config: Self::ConfigType) -> Result<Self, Error> {
        Ok(JsonPlugin::default())
    }
}

impl JsonPlugin {
    /// The parsed payload of the request's event (cached by event number).
    fn parsed(&mut self, req: &ExtractRequest<'_, '_, '_, '_, Self>) -> Result<&Value, Error> {
        let event = req.event.event()?;
        Ok(self.parsed.get_or_parse(
            req.event.event_number(),
            event.params.event_data,
            parse_payload,
        )?)
    }

    fn extract_value(
        &mut self,
        req: ExtractRequest<Self>,
        arg: &CStr,
    ) -> Result<Option<CString>, Error> {
        let arg = arg.to_string_lossy();
        let root = self.parsed(&req)?;
        Ok(value_at(root, &arg).map(cstring))
    }

    fn extract_obj(&mut self, req: ExtractRequest<Self>) -> Result<CString, Error> {
        let event = req.event.event()?;
        let data = event.params.event_data;
        if !matches!(data.first(), Some(b'{' | b'[')) {
            return Err(JsonError::NotJson.into());
        }
        Ok(cstring(indent(data)?))
    }

    fn extract_rawtime(&mut self, req: ExtractRequest<Self>) -> Result<CString, Error> {
        let event = req.event.event()?;
        Ok(cstring(event.metadata.ts.to_string()))
    }
}

/// Parses a payload as the upstream plugin accepts it: it must start with `{` or `[`.
pub fn parse_payload(data: &[u8]) -> Result<Value, JsonError> {
    if !matches!(data.first(), Some(b'{' | b'[')) {
        return Err(JsonError::NotJson);
    }
    Ok(Value::parse(data)?)
}

/// `json.value[pointer]` of a parsed payload.
pub fn value_at(root: &Value, pointer: &str) -> Option<String> {
    root.pointer(pointer).map(Value::to_text)
}

impl ExtractPlugin for JsonPlugin {
    type Event<'a> = PluginEventRef<'a>;
    type ExtractContext = ();
    const EXTRACT_FIELDS: &'static [ExtractFieldInfo<Self>] = &[
        field("json.value", &Self::extract_value).with_description("Extracts a value from a JSON-encoded input. Syntax is json.value[<json pointer>], where <json pointer> is a json pointer (see https://datatracker.ietf.org/doc/html/rfc6901)"),
        field("json.obj", &Self::extract_obj).with_description("The full json message as a text string."),
        field("json.rawtime", &Self::extract_rawtime).with_description("The time of the event, identical to evt.rawtime."),
        field("jevt.value", &Self::extract_value).with_description("Alias for json.value, provided for backwards compatibility."),
        field("jevt.obj", &Self::extract_obj).with_description("Alias for json.obj, provided for backwards compatibility."),
        field("jevt.rawtime", &Self::extract_rawtime).with_description("Alias for json.rawtime, provided for backwards compatibility."),
    ];
}

/// The C ABI: the `plugin_*` symbols of the `.so`, and the same functions as a vtable.
mod ffi {
    use super::JsonPlugin;
    use falco_plugin::{extract_plugin, plugin};

    plugin!(JsonPlugin);
    extract_plugin!(JsonPlugin);

    pub(crate) static PLUGIN_API: falco_plugin::api::plugin_api = __plugin_base_api();
}

/// The plugin's vtable, for hosts that link the plugin instead of loading its `.so`, and for
/// tests. Do not link two lanner plugin crates into one binary: both export `plugin_*`.
pub static PLUGIN_API: &falco_plugin::api::plugin_api = &ffi::PLUGIN_API;
