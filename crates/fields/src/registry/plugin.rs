//! The fields of loaded plugins: registered at load time, next to the static table.
//!
//! A plugin host parses each plugin's `get_fields` JSON and registers the fields here with an
//! extractor ([`PluginExtractor`]) that calls the plugin. From then on [`super::lookup`] and
//! [`crate::Field::parse`] find them like built-in fields, so rules compile against them and
//! `--list` shows them.
//!
//! The registry is a process-wide list behind a lock that only load-time code takes
//! (binding a field, listing, suggesting): a bound [`crate::Field`] holds its
//! [`PluginField`] directly, so extraction never looks anything up, and syscall fields never
//! see this module at all. Definitions are leaked on purpose: plugins are loaded once per
//! process and their fields live as long as it does, which lets them be `&'static FieldDef`
//! like the built-in ones.

use std::sync::{Arc, RwLock};

use lanner_event::{ParamType, RawEvent};

use super::{Class, FieldDef, FieldId};
use crate::field::FieldArg;
use crate::value::Values;

/// Extracts the fields of one plugin: implemented by the plugin host.
pub trait PluginExtractor: Send + Sync + std::fmt::Debug {
    /// Fills `out` with the values of the plugin's field number `index` (its position in the
    /// plugin's `get_fields` list, with the checked `arg`) for `event`, number `num` of the
    /// stream, of event source `source`. Leaves `out` empty when the field has no value (or
    /// the plugin failed, which the host reports).
    fn extract(
        &self,
        index: u32,
        arg: &FieldArg,
        event: &RawEvent<'_>,
        num: u64,
        source: &str,
        out: &mut Values,
    );
}

/// A field as a plugin describes it, before registration.
#[derive(Clone, Debug)]
pub struct PluginFieldSpec {
    /// Its name (`ct.name`).
    pub name: String,
    /// The type of its values.
    pub ty: ParamType,
    /// `EPF_*` flags ([`super::epf`]): list, argument, hidden ...
    pub flags: u32,
    /// Its display name.
    pub display: String,
    /// Its description.
    pub desc: String,
}

/// A registered plugin field: its definition and how to extract it.
#[derive(Clone, Debug)]
pub struct PluginField {
    /// The definition (class [`Class::Plugin`], id [`FieldId::Plugin`]).
    pub def: &'static FieldDef,
    /// The plugin's name.
    pub plugin: &'static str,
    /// The plugin's description (the heading of its class in listings).
    pub plugin_desc: &'static str,
    /// The event sources the field applies to; empty means every source.
    pub sources: Arc<[String]>,
    /// The field's position in the plugin's field list.
    pub index: u32,
    /// The plugin's extractor.
    pub extractor: Arc<dyn PluginExtractor>,
}

impl PluginField {
    /// Whether rules of `source` may use the field.
    pub fn applies_to(&self, source: &str) -> bool {
        self.sources.is_empty() || self.sources.iter().any(|s| s == source)
    }
}

/// Why fields could not be registered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    /// A field of the plugin has the name of an existing field.
    #[error("plugin `{plugin}`: field `{field}` is already defined{}", by.as_ref().map(|b| format!(" by plugin `{b}`")).unwrap_or_default())]
    Duplicate {
        /// The plugin registering.
        plugin: String,
        /// The field.
        field: String,
        /// The plugin that defined it first (none: a built-in field).
        by: Option<String>,
    },
}

static PLUGIN_FIELDS: RwLock<Vec<PluginField>> = RwLock::new(Vec::new());

/// Registers the fields of plugin `plugin` (described as `plugin_desc`), for the event
/// `sources` given (empty: every source), extracted by `extractor`. Either every field is
/// registered or none (a name already taken is an error).
pub fn register_plugin_fields(
    plugin: &str,
    plugin_desc: &str,
    sources: &[String],
    specs: &[PluginFieldSpec],
    extractor: Arc<dyn PluginExtractor>,
) -> Result<(), RegisterError> {
    let mut all = PLUGIN_FIELDS.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    for (i, spec) in specs.iter().enumerate() {
        let by = if super::table::FIELDS.iter().any(|f| f.name == spec.name) {
            Some(None)
        } else if let Some(p) = all.iter().find(|p| p.def.name == spec.name) {
            Some(Some(p.plugin.to_owned()))
        } else if specs[..i].iter().any(|s| s.name == spec.name) {
            Some(Some(plugin.to_owned()))
        } else {
            None
        };
        if let Some(by) = by {
            return Err(RegisterError::Duplicate {
                plugin: plugin.to_owned(),
                field: spec.name.clone(),
                by,
            });
        }
    }
    let leak = |s: &str| -> &'static str { Box::leak(s.to_owned().into_boxed_str()) };
    let plugin_name = leak(plugin);
    let plugin_desc = leak(plugin_desc);
    let sources: Arc<[String]> = sources.into();
    for (index, spec) in specs.iter().enumerate() {
        let def: &'static FieldDef = Box::leak(Box::new(FieldDef {
            id: FieldId::Plugin,
            class: Class::Plugin,
            name: leak(&spec.name),
            ty: spec.ty,
            flags: spec.flags,
            display: leak(&spec.display),
            desc: leak(&spec.desc),
        }));
        all.push(PluginField {
            def,
            plugin: plugin_name,
            plugin_desc,
            sources: Arc::clone(&sources),
            index: index as u32,
            extractor: Arc::clone(&extractor),
        });
    }
    Ok(())
}

/// The registered plugin field with this name.
pub fn plugin_field(name: &str) -> Option<PluginField> {
    let all = PLUGIN_FIELDS.read().unwrap_or_else(std::sync::PoisonError::into_inner);
    all.iter().find(|p| p.def.name == name).cloned()
}

/// Every registered plugin field, in registration order.
pub fn plugin_fields() -> Vec<PluginField> {
    PLUGIN_FIELDS.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
}
