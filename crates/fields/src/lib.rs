//! Fields: the named values conditions and outputs are made of (`proc.name`, `fd.name`,
//! `evt.arg.flags` ...), their registry, and their extraction from an event and the state.
//!
//! The registry ([`fields`], [`lookup`]) lists every field of the syscall source with libs'
//! names, types, flags and descriptions, and the fields of Falco's container plugin
//! (`container.*`, `k8s.*`, [`Class::Container`]), so `lanner --list` and load-time checking
//! speak the same language as Falco. A reference as written in a rule (`proc.aname[2]`,
//! `evt.arg.flags`) is bound once, at load time, to a [`Field`]: its argument is checked then, and
//! an unknown name gets a "did you mean". At run time [`extract`] fills a reusable [`Values`]
//! with the field's values for one event, without allocating once the buffers have grown.
//!
//! A field can have no value for an event (an fd field on an event without an fd, a parent
//! field for a process whose parent is unknown): libs calls that NULL, outputs print `<NA>` and
//! every comparison with it is false. It can also have several values: list fields, and
//! ancestor fields (`proc.aname`) in filters, which stand for every ancestor.
//!
//! Plugins add fields at load time ([`register_plugin_fields`]): a plugin host registers each
//! loaded plugin's fields with an extractor that calls the plugin, and from then on they bind
//! and list like built-in ones ([`Class::Plugin`]). Built-in fields are untouched by this: a
//! bound field carries its extractor, so the syscall path gains no lookup, lock or dynamic
//! call.
//!
//! What it does not own: the state itself (`lanner-state`), operators and comparisons
//! (`lanner-filter`), Falco's alert formats (`lanner-outputs`; the `sysdig -p` formats of
//! `lanner inspect` are here, in [`format`](mod@format)).
//!
//! ```
//! use lanner_fields::{Field, lookup};
//!
//! let f = Field::parse("proc.aname", Some("2")).unwrap();
//! assert_eq!(f.def().name, "proc.aname");
//! assert!(lookup("fd.name").is_some());
//! assert_eq!(
//!     Field::parse("proc.nmae", None).unwrap_err().to_string(),
//!     "unknown field `proc.nmae` (did you mean `proc.name`?)"
//! );
//! ```

pub mod extract;
mod field;
pub mod format;
pub mod list;
pub mod registry;
mod value;

pub use extract::{CheckState, EventContext, Mode, extract};
pub use field::{
    ArgPattern, Field, FieldArg, FieldError, PathEnd, closest, edit_distance, param_type,
    set_static_fields, static_fields,
};
pub use format::{Format, FormatError, FormatScratch};
pub use list::{ListFormat, ListOptions, write_list, write_plugin_list};
pub use registry::{
    Class, FieldDef, FieldId, PluginExtractor, PluginField, PluginFieldSpec, RegisterError, epf,
    fields, lookup, plugin_fields, register_plugin_fields,
};
pub use value::{Value, Values};
