//! Falco plugins in the `lanner` binary: the `plugins` and `load_plugins` keys of falco.yaml,
//! loading and initialising the plugins, `--list-plugins` and `--plugin-info`, and the thread
//! that runs a plugin's event source.
//!
//! A relative `library_path` is looked for, in order: next to the configuration file that
//! named it, in a `plugins` directory next to the `lanner` binary, and in Falco's plugin
//! directory (`/usr/share/falco/plugins`). The first that exists wins; Falco itself looks in
//! its plugin directory only.
//!
//! The `container` plugin of Falco's default configuration is built into lanner (its fields
//! are part of `lanner-fields`), so an entry of that name is skipped.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use lanner_config::Config;
use lanner_plugins::{InitConfig, Plugin, SharedPlugin};
use serde_yaml_ng::Value;

use crate::log::Logger;

/// One entry of `plugins`.
#[derive(Clone, Debug)]
pub(crate) struct PluginConfig {
    pub(crate) name: String,
    pub(crate) library_path: PathBuf,
    pub(crate) init_config: InitConfig,
    pub(crate) open_params: String,
}

/// A loaded, initialised plugin and its configuration.
pub(crate) struct LoadedPlugin {
    pub(crate) config: PluginConfig,
    pub(crate) plugin: SharedPlugin,
}

/// The plugins to load: the `plugins` entries named by `load_plugins` (all of them when
/// `load_plugins` is absent), in `load_plugins` order.
pub(crate) fn plugin_configs(config: &Config) -> anyhow::Result<Vec<PluginConfig>> {
    let base = config.files().first().and_then(|f| f.parent()).map(Path::to_path_buf);
    let mut all = Vec::new();
    match config.get("plugins") {
        None | Some(Value::Null) => {}
        Some(Value::Sequence(items)) => {
            for (i, item) in items.iter().enumerate() {
                all.push(plugin_config(i, item, base.as_deref())?);
            }
        }
        Some(_) => anyhow::bail!("config key `plugins`: expected a list"),
    }
    let chosen = match config.get("load_plugins") {
        None | Some(Value::Null) => all,
        Some(Value::Sequence(names)) => {
            let mut out = Vec::new();
            for name in names {
                let name = name.as_str().unwrap_or_default();
                match all.iter().find(|p| p.name == name) {
                    Some(p) => out.push(p.clone()),
                    None if name == "container" => {}
                    None => anyhow::bail!(
                        "Cannot load plugin '{name}': plugin config not found for given name"
                    ),
                }
            }
            out
        }
        Some(_) => anyhow::bail!("config key `load_plugins`: expected a list"),
    };
    Ok(chosen.into_iter().filter(|p| p.name != "container").collect())
}

fn plugin_config(i: usize, item: &Value, base: Option<&Path>) -> anyhow::Result<PluginConfig> {
    let key = |k: &str| item.get(k);
    let text = |k: &str| -> anyhow::Result<String> {
        match key(k) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => anyhow::bail!("config key `plugins[{i}].{k}`: expected a string"),
        }
    };
    let name = text("name")?;
    if name.is_empty() {
        anyhow::bail!("config key `plugins[{i}].name` is missing");
    }
    let library = text("library_path")?;
    if library.is_empty() {
        anyhow::bail!("config key `plugins[{i}].library_path` is missing");
    }
    let init_config = match key("init_config") {
        None | Some(Value::Null) => InitConfig::Text(String::new()),
        Some(Value::String(s)) => InitConfig::Text(s.clone()),
        Some(v) => InitConfig::Json(
            serde_json::to_value(v)
                .with_context(|| format!("config key `plugins[{i}].init_config`"))?,
        ),
    };
    Ok(PluginConfig {
        name,
        library_path: resolve_library(Path::new(&library), base),
        init_config,
        open_params: text("open_params")?,
    })
}

/// Where a `library_path` points (see the module docs).
fn resolve_library(path: &Path, config_dir: Option<&Path>) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    let mut candidates = Vec::new();
    if let Some(dir) = config_dir {
        candidates.push(dir.join(path));
    }
    if let Some(dir) = std::env::current_exe().ok().as_deref().and_then(Path::parent) {
        candidates.push(dir.join("plugins").join(path));
    }
    candidates.push(Path::new("/usr/share/falco/plugins").join(path));
    candidates.iter().find(|c| c.exists()).cloned().unwrap_or_else(|| candidates.remove(0))
}

/// A log sink printing plugin log lines through lanner's log.
fn sink(log: Logger) -> lanner_plugins::LogSink {
    // Debug and trace lines (severities 7 and 8) are left out, as Falco's default
    // `libs_logger.severity: info` does.
    Arc::new(move |plugin: &str, severity: u32, message: &str| {
        if severity <= 6 {
            log.log(&format!("[{plugin}] {message}"));
        }
    })
}

/// Loads and initialises the plugins, and registers their fields.
pub(crate) fn load(configs: &[PluginConfig], log: Logger) -> anyhow::Result<Vec<LoadedPlugin>> {
    let mut out: Vec<LoadedPlugin> = Vec::new();
    for config in configs {
        let mut plugin = Plugin::load(&config.library_path, Some(sink(log)))?;
        if let Some(other) = out.iter().find(|p| p.plugin.lock().name() == plugin.name()) {
            anyhow::bail!(
                "found another plugin with name {}. Aborting. (entries `{}` and `{}`)",
                plugin.name(),
                other.config.name,
                config.name
            );
        }
        plugin.init(&config.init_config)?;
        log.log(&format!("Loaded plugin '{}@{}'", plugin.name(), plugin.version()));
        let plugin = SharedPlugin::new(plugin);
        Plugin::register_fields(&plugin)?;
        out.push(LoadedPlugin { config: config.clone(), plugin });
    }
    Ok(out)
}

/// The event sources the plugins provide, in load order, with their plugin.
pub(crate) fn sources(plugins: &[LoadedPlugin]) -> Vec<(String, &LoadedPlugin)> {
    let mut out: Vec<(String, &LoadedPlugin)> = Vec::new();
    for p in plugins {
        let plugin = p.plugin.lock();
        let source = plugin.event_source().to_owned();
        if plugin.capabilities().sourcing
            && !source.is_empty()
            && !out.iter().any(|(s, _)| *s == source)
        {
            out.push((source, p));
        }
    }
    out
}

/// Falco's `format_plugin_info`.
fn write_info(out: &mut impl Write, p: &Plugin) -> std::io::Result<()> {
    writeln!(out, "Name: {}", p.name())?;
    writeln!(out, "Description: {}", p.description())?;
    writeln!(out, "Contact: {}", p.contact())?;
    writeln!(out, "Version: {}", p.version())?;
    writeln!(out, "Capabilities: ")?;
    let caps = p.capabilities();
    if caps.sourcing {
        if p.id() != 0 {
            writeln!(out, "  - Event Sourcing (ID={}, source='{}')", p.id(), p.event_source())?;
        } else {
            writeln!(out, "  - Event Sourcing (system events)")?;
        }
    }
    if caps.extraction {
        writeln!(out, "  - Field Extraction")?;
    }
    if caps.parsing {
        writeln!(out, "  - Event Parsing")?;
    }
    if caps.async_events {
        writeln!(out, "  - Async Events")?;
    }
    Ok(())
}

/// `--list-plugins`: every configured plugin, loaded (not initialised), as Falco lists them.
pub(crate) fn list(configs: &[PluginConfig]) -> anyhow::Result<()> {
    let mut plugins = Vec::new();
    for config in configs {
        plugins.push(Plugin::load(&config.library_path, None)?);
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{} Plugins Loaded:\n", plugins.len())?;
    for p in &plugins {
        write_info(&mut out, p)?;
        writeln!(out)?;
    }
    Ok(())
}

/// `--plugin-info NAME`: the plugin's information, its init schema, then (once initialised)
/// its suggested open parameters, as Falco prints them.
pub(crate) fn info(configs: &[PluginConfig], name: &str) -> anyhow::Result<()> {
    let Some(config) =
        configs.iter().find(|c| c.name == name || c.library_path.to_string_lossy() == name)
    else {
        anyhow::bail!("can't find plugin and print its info: {name}");
    };
    let mut plugin = Plugin::load(&config.library_path, None)?;
    let mut out = std::io::stdout().lock();
    write_info(&mut out, &plugin)?;
    writeln!(out)?;
    match plugin.init_schema() {
        Some(schema) => writeln!(out, "Init config schema type: JSON\n{schema}\n")?,
        None => writeln!(
            out,
            "Init config schema type: Not available, plugin does not implement the init config schema functionality\n\n"
        )?,
    }
    plugin.init(&config.init_config)?;
    if plugin.capabilities().sourcing {
        let params = plugin.list_open_params()?;
        let params: Vec<serde_json::Value> = serde_json::from_str(&params).unwrap_or_default();
        if params.is_empty() {
            writeln!(
                out,
                "No suggested open params available: plugin has not been configured, or it does not implement the open params suggestion functionality\n"
            )?;
        } else {
            writeln!(out, "Suggested open params:")?;
            for p in params {
                let value = p.get("value").and_then(|v| v.as_str()).unwrap_or_default();
                match p.get("desc").and_then(|v| v.as_str()).unwrap_or_default() {
                    "" => writeln!(out, "{value}")?,
                    desc => writeln!(out, "{value}: {desc}")?,
                }
            }
            writeln!(out)?;
        }
    }
    Ok(())
}

/// What one plugin source's thread did.
pub(crate) struct SourceRun {
    pub(crate) source: String,
    pub(crate) events: u64,
    pub(crate) counts: BTreeMap<usize, u64>,
}

/// Runs a plugin's event source to its end (EOF, `stop`, or the deadline), evaluating the
/// rules of `source` on each event through `detector`.
pub(crate) fn run_source(
    plugin: &SharedPlugin,
    open_params: &str,
    source: &str,
    mut detector: Option<crate::detect::Detector<'_>>,
    stop: &AtomicBool,
    deadline: Option<std::time::Instant>,
) -> anyhow::Result<SourceRun> {
    let mut instance = plugin.lock().open(open_params)?;
    let state = lanner_state::State::default();
    let mut events = 0u64;
    let mut first_ts = None;
    loop {
        if stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| std::time::Instant::now() >= d)
        {
            break;
        }
        let mut guard = plugin.lock();
        let Some(batch) = instance.next_batch(&mut guard)? else { break };
        // The plugin is unlocked while the rules run: their extractors lock it per field.
        let owned: Vec<Vec<u8>> = batch.iter().map(|e| e.as_bytes().to_vec()).collect();
        drop(guard);
        for bytes in &owned {
            let Ok(ev) = lanner_event::RawEvent::new(bytes) else { continue };
            events += 1;
            let first = *first_ts.get_or_insert(ev.ts());
            if let Some(d) = detector.as_mut() {
                d.on_source_event(events, &ev, &state, first, source);
            }
        }
    }
    plugin.lock().close(instance);
    let counts = detector.map(crate::detect::Detector::into_counts).unwrap_or_default();
    Ok(SourceRun { source: source.to_owned(), events, counts })
}
