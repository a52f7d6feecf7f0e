//! The Falco plugin host: loads plugins (`.so` files exporting the `plugin_*` symbols of libs'
//! `plugin_api.h`, API 3.12.0) and drives them through that C ABI.
//!
//! A [`Plugin`] goes through the stages libs' loader and `sinsp_plugin` go through:
//!
//! 1. **Load** ([`Plugin::load`]): `dlopen`, the required symbols, the required API version
//!    checked against [`API_VERSION`] with libs' messages, the capabilities detected from
//!    which symbols exist (as `plugin_loader.c` does), name/version/description/contact read.
//! 2. **Init** ([`Plugin::init`]): the init config (a string, or JSON the caller converted
//!    from YAML) is validated against the plugin's JSON schema (`plugin_get_init_schema`) before
//!    the plugin sees it, then `plugin_init` gets it along with the owner (log function, last
//!    error) and the state tables API. Extraction, parsing and async event details are read
//!    then (`get_fields` JSON, event types and sources).
//! 3. **Use**: event sourcing ([`Plugin::open`] → [`SourceInstance`]: `next_batch` with EOF and
//!    TIMEOUT, `get_progress`, `close`), field extraction ([`Plugin::extract`], typed values to
//!    lanner's [`Values`]), event parsing ([`Plugin::parse`]), async events
//!    ([`Plugin::start_async`], [`Plugin::take_async_events`]), capture listening,
//!    `get_metrics`. [`Plugin::register_fields`] makes the plugin's fields known to
//!    `lanner-fields`, so rules compile against them like any field.
//!
//! Every failure the plugin returns is an error ([`PluginError`]) that names the plugin and
//! carries its `get_last_error` text; none is dropped. A crash or a panic that the plugin
//! lets escape cannot be caught: it takes lanner down, as it takes Falco down.
//!
//! The plugin API lets a plugin be used from one thread at a time. A [`Plugin`] is therefore
//! `Send` but not `Sync`; [`SharedPlugin`] puts it behind a mutex for the sources and the
//! rules' extractors that share it (the lock is taken only for plugin work: syscall events
//! that no plugin parses never touch it).
//!
//! What this crate does not own: the configuration keys (`plugins`, `load_plugins`, in the
//! `lanner` binary), the rules engine, the thread per source.
//!
//! ```no_run
//! use lanner_plugins::{InitConfig, Plugin};
//!
//! let mut plugin = Plugin::load("libcounter.so".as_ref(), None)?;
//! plugin.init(&InitConfig::Text(r#"{"count": 3}"#.into()))?;
//! let mut source = plugin.open("")?;
//! while let Some(batch) = source.next_batch(&mut plugin)? {
//!     for event in batch.iter() {
//!         println!("{} bytes", event.len());
//!     }
//! }
//! # Ok::<(), lanner_plugins::PluginError>(())
//! ```

pub mod ffi;
mod owner;
mod plugin;

pub use owner::LogSink;
pub use plugin::{
    Batch, Capabilities, FieldInfo, InitConfig, Metric, MetricValue, Plugin, PluginError,
    SharedPlugin, SourceInstance, check_api_version,
};

pub use lanner_fields::Values;

/// The plugin API version this host implements.
pub const API_VERSION: (u32, u32, u32) = (3, 12, 0);

/// [`API_VERSION`] as text.
pub const API_VERSION_STR: &str = "3.12.0";

/// Event type of plugin events (`PPME_PLUGINEVENT_E`): plugin id, then the data.
pub const PLUGIN_EVENT: u16 = 322;

/// Event type of async events (`PPME_ASYNCEVENT_E`): plugin id, name, data.
pub const ASYNC_EVENT: u16 = 402;
