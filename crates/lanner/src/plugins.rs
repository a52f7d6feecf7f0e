//! Falco plugins in the `lanner` binary: the `plugins` and `load_plugins` keys of falco.yaml,
//! loading and initialising the plugins, `--list-plugins` and `--plugin-info`, and the thread
//! that runs a plugin's event source.
//!
//! A relative `library_path` is looked for, in order: next to the configuration file that
//! named it, next to the `lanner` binary (where `cargo build` puts lanner's own plugins), in
//! a `plugins` directory there, and in Falco's plugin directory (`/usr/share/falco/plugins`). The first that exists wins; Falco itself looks in
//! its plugin directory only.
//!
//! The `container` plugin of Falco's default configuration is built into lanner (its fields
//! are part of `lanner-fields`), so an entry of that name is skipped.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use lanner_config::Config;
use lanner_plugins::{InitConfig, Plugin, SharedPlugin};
use serde_yaml_ng::Value;

use crate::detect::{Current, Detector};
use crate::log::Logger;
use crate::record::Recorder;
use lanner_filter::TypeSet;

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
        candidates.push(dir.join(path));
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

/// What a plugin source's thread shows the event loop.
pub(crate) struct SourceShare {
    pub(crate) source: String,
    /// Events taken.
    events: AtomicU64,
    /// The matches of its rules, published every [`PUBLISH`] and at the end.
    rules: Mutex<Vec<lanner_web::RuleStats>>,
    /// The thread has ended.
    done: AtomicBool,
}

/// How often a plugin source's thread publishes its rule matches.
const PUBLISH: Duration = Duration::from_millis(250);

/// The plugins of a run: those that parse events, those whose async events join the
/// syscall stream, and the plugin sources: each on a thread of its own as Falco runs them
/// live, or, in a replay, fed the plugin events of the capture (Falco's capture mode).
#[derive(Default)]
pub(crate) struct PluginRun {
    all: Vec<SharedPlugin>,
    parsers: Vec<SharedPlugin>,
    async_plugins: Vec<SharedPlugin>,
    /// Sources to open, until [`PluginRun::open_sources`].
    planned: Vec<PlannedSource>,
    sources: Vec<(Arc<SourceShare>, JoinHandle<anyhow::Result<()>>)>,
    from_capture: Vec<CaptureSource>,
    /// The id of every loaded source plugin, its source enabled or not.
    ids: Vec<u32>,
    stop: Arc<AtomicBool>,
}

/// How a run's plugin sources get their events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SourceMode {
    /// Each opens its plugin's source, on a thread of its own.
    Open,
    /// From the capture a replay reads: its `pluginevent`s, by plugin id.
    FromCapture,
}

/// A plugin source to open.
struct PlannedSource {
    source: String,
    config_name: String,
    plugin: SharedPlugin,
    open_params: String,
    current: Arc<Current>,
}

/// A plugin source whose events a replay's capture holds.
struct CaptureSource {
    id: u32,
    rules: SourceRules,
    events: u64,
}

/// What runs on each event of a plugin source, on its thread or in a replay alike: the
/// parse plugins that take the source's events, then the source's rules.
struct SourceRules {
    source: String,
    detector: Detector,
    parsers: Vec<SharedPlugin>,
    /// Plugin sources have no process state; their rules run against an empty one.
    state: lanner_state::State,
    first_ts: Option<u64>,
}

impl SourceRules {
    /// The rules of `source` (following `current` through reloads), and those of the
    /// `parsers` that take its events.
    fn new(current: &Arc<Current>, source: &str, parsers: &[SharedPlugin]) -> SourceRules {
        SourceRules {
            source: source.to_owned(),
            detector: Detector::for_source(current, source),
            parsers: parsers
                .iter()
                .filter(|p| p.lock().parses(lanner_plugins::PLUGIN_EVENT, source))
                .cloned()
                .collect(),
            state: lanner_state::State::default(),
            first_ts: None,
        }
    }

    /// Event `num` of the source: the parse plugins see it, then the rules run on it.
    #[inline]
    fn on_event(&mut self, ev: &lanner_event::RawEvent<'_>, num: u64) -> anyhow::Result<()> {
        for p in &self.parsers {
            p.lock().parse(ev, num, &self.source)?;
        }
        let first = *self.first_ts.get_or_insert(ev.ts());
        self.detector.on_event(num, 0, ev, &self.state, first);
        Ok(())
    }
}

impl PluginRun {
    /// Tells the plugins that listen that capture starts and starts the async plugins. The
    /// plugin `sources` either wait for [`PluginRun::open_sources`] or take the capture's
    /// plugin events ([`SourceMode::FromCapture`]); their detectors follow `current`.
    pub(crate) fn start(
        plugins: &[LoadedPlugin],
        sources: &[(String, &LoadedPlugin)],
        mode: SourceMode,
        current: &Arc<Current>,
        log: Logger,
    ) -> anyhow::Result<PluginRun> {
        let with = |kind: fn(&lanner_plugins::Capabilities) -> bool| -> Vec<SharedPlugin> {
            plugins
                .iter()
                .filter(|p| kind(&p.plugin.lock().capabilities()))
                .map(|p| p.plugin.clone())
                .collect()
        };
        let mut run = PluginRun {
            all: plugins.iter().map(|p| p.plugin.clone()).collect(),
            parsers: with(|c| c.parsing),
            async_plugins: with(|c| c.async_events),
            ids: self::sources(plugins).iter().map(|(_, p)| p.plugin.lock().id()).collect(),
            ..PluginRun::default()
        };
        for p in &run.all {
            p.lock().capture_listen(true)?;
        }
        for p in &run.async_plugins {
            p.lock().start_async()?;
        }
        for (source, p) in sources {
            match mode {
                SourceMode::Open => run.planned.push(PlannedSource {
                    source: source.clone(),
                    config_name: p.config.name.clone(),
                    plugin: p.plugin.clone(),
                    open_params: p.config.open_params.clone(),
                    current: current.clone(),
                }),
                SourceMode::FromCapture => {
                    log.log(&format!(
                        "Opening '{source}' source with plugin '{}': its events come from \
                         the capture",
                        p.config.name
                    ));
                    run.from_capture.push(CaptureSource {
                        id: p.plugin.lock().id(),
                        rules: SourceRules::new(current, source, &run.parsers),
                        events: 0,
                    });
                }
            }
        }
        Ok(run)
    }

    /// Opens each planned plugin source on a thread of its own, recording its events to
    /// `recorder` (`-w`) when there is one.
    pub(crate) fn open_sources(
        &mut self,
        deadline: Option<Instant>,
        log: Logger,
        recorder: Option<&Recorder>,
    ) -> anyhow::Result<()> {
        for planned in std::mem::take(&mut self.planned) {
            let source = planned.source;
            log.log(&format!("Opening '{source}' source with plugin '{}'", planned.config_name));
            let share = Arc::new(SourceShare {
                source: source.clone(),
                events: AtomicU64::new(0),
                rules: Mutex::new(Vec::new()),
                done: AtomicBool::new(false),
            });
            let run = SourceThread {
                rules: SourceRules::new(&planned.current, &source, &self.parsers),
                plugin: planned.plugin,
                recorder: recorder.cloned(),
                deadline,
            };
            let params = planned.open_params;
            let (stop, thread_share) = (self.stop.clone(), share.clone());
            let thread = std::thread::Builder::new()
                .name(format!("lanner-{source}"))
                .spawn(move || {
                    let result = run.run(&params, &thread_share, &stop);
                    thread_share.done.store(true, Ordering::Release);
                    result
                })
                .context("cannot start a plugin source thread")?;
            self.sources.push((share, thread));
        }
        Ok(())
    }

    /// A plugin event (`pluginevent`) of the capture a replay reads, event `num` at block
    /// `offset`: the rules of its plugin's source run on it. An event of a plugin that is
    /// loaded but whose source is disabled is skipped; one of a plugin that is not loaded
    /// is an error, as in Falco.
    pub(crate) fn on_capture_event(
        &mut self,
        ev: &lanner_event::RawEvent<'_>,
        num: u64,
        offset: u64,
    ) -> anyhow::Result<()> {
        let id = ev.param(0).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes).with_context(
            || format!("event {num} (block offset {offset}): a plugin event without a plugin id"),
        )?;
        let Some(source) = self.from_capture.iter_mut().find(|s| s.id == id) else {
            if self.ids.contains(&id) {
                return Ok(());
            }
            anyhow::bail!(
                "Unknown event source for inspector's event (plugin ID: {id}): event {num} \
                 (block offset {offset}) comes from a plugin that is not loaded; load the \
                 plugin with that id (see --list-plugins) to run its source's rules"
            );
        };
        source.events += 1;
        source.rules.detector.follow();
        source.rules.on_event(ev, num)
    }

    /// Whether a plugin source still runs.
    pub(crate) fn running(&self) -> bool {
        self.sources.iter().any(|(share, _)| !share.done.load(Ordering::Acquire))
    }

    /// Whether async plugins are running.
    #[inline]
    pub(crate) fn has_async(&self) -> bool {
        !self.async_plugins.is_empty()
    }

    /// Hands a syscall event to the parse plugins.
    #[inline]
    pub(crate) fn parse(&self, ev: &lanner_event::RawEvent<'_>, num: u64) -> anyhow::Result<()> {
        for p in &self.parsers {
            p.lock().parse(ev, num, lanner_engine::SYSCALL_SOURCE)?;
        }
        Ok(())
    }

    /// Adds the event types the parse plugins want (every type when one wants them all).
    pub(crate) fn add_parse_types(&self, types: &mut TypeSet) {
        for p in &self.parsers {
            let p = p.lock();
            if p.parse_types().is_empty() {
                *types = TypeSet::all();
                return;
            }
            for &t in p.parse_types() {
                types.insert(t);
            }
        }
    }

    /// The async events the plugins queued since the last call (drops logged).
    pub(crate) fn take_async_events(&self, log: Logger) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for p in &self.async_plugins {
            let (events, dropped) = p.lock().take_async_events();
            if dropped > 0 {
                log.log(&format!("Plugin async events dropped (queue full): {dropped}"));
            }
            out.extend(events);
        }
        out
    }

    /// Stops the async plugins (the end of the syscall stream).
    pub(crate) fn stop_async(&self) -> anyhow::Result<()> {
        for p in &self.async_plugins {
            p.lock().stop_async()?;
        }
        Ok(())
    }

    /// The events of each plugin source, and the matches of their rules.
    pub(crate) fn stats(&self) -> (Vec<lanner_web::SourceStats>, Vec<lanner_web::RuleStats>) {
        let mut sources = Vec::with_capacity(self.sources.len());
        let mut rules = Vec::new();
        for (share, _) in &self.sources {
            sources.push(lanner_web::SourceStats {
                name: share.source.clone(),
                events: share.events.load(Ordering::Relaxed),
            });
            let published = share.rules.lock().unwrap_or_else(PoisonError::into_inner);
            crate::detect::merge_rule_stats(&mut rules, &published);
        }
        for c in &self.from_capture {
            sources
                .push(lanner_web::SourceStats { name: c.rules.source.clone(), events: c.events });
            crate::detect::merge_rule_stats(&mut rules, &c.rules.detector.rule_stats());
        }
        (sources, rules)
    }

    /// The loaded plugins' own metrics, named `<plugin>.<metric>` as libs names them.
    pub(crate) fn metrics(&self) -> Vec<lanner_web::PluginMetric> {
        let mut out = Vec::new();
        for p in &self.all {
            let mut plugin = p.lock();
            for m in plugin.metrics() {
                let value = match m.value {
                    lanner_plugins::MetricValue::Uint(v) => lanner_outputs::FieldValue::Uint(v),
                    lanner_plugins::MetricValue::Int(v) => lanner_outputs::FieldValue::Int(v),
                    lanner_plugins::MetricValue::Double(v) => lanner_outputs::FieldValue::Double(v),
                };
                out.push(lanner_web::PluginMetric {
                    name: format!("{}.{}", plugin.name(), m.name),
                    monotonic: m.monotonic,
                    value,
                });
            }
        }
        out
    }

    /// Stops the plugin sources (`stop`) or waits for their ends, then ends capture
    /// listening and logs each source's events and each plugin's metrics. Returns the
    /// matches of the plugin sources' rules, or the first failure of a source.
    pub(crate) fn finish(
        self,
        stop: bool,
        log: Logger,
    ) -> anyhow::Result<Vec<lanner_web::RuleStats>> {
        if stop {
            self.stop.store(true, Ordering::Relaxed);
        }
        let mut failure = None;
        let mut rules = Vec::new();
        for (share, thread) in self.sources {
            match thread.join() {
                Ok(Ok(())) => {}
                Ok(Err(err)) => {
                    failure.get_or_insert(err);
                }
                Err(_) => {
                    failure.get_or_insert(anyhow::anyhow!(
                        "the thread of source '{}' panicked",
                        share.source
                    ));
                }
            }
            log.log(&format!(
                "Events in source '{}': {}",
                share.source,
                share.events.load(Ordering::Relaxed)
            ));
            let published = share.rules.lock().unwrap_or_else(PoisonError::into_inner);
            crate::detect::merge_rule_stats(&mut rules, &published);
        }
        for c in &self.from_capture {
            log.log(&format!("Events in source '{}': {}", c.rules.source, c.events));
            crate::detect::merge_rule_stats(&mut rules, &c.rules.detector.rule_stats());
        }
        for p in &self.all {
            let mut plugin = p.lock();
            if let Err(err) = plugin.capture_listen(false) {
                failure.get_or_insert(err.into());
            }
            for m in plugin.metrics() {
                log.log(&format!("Plugin '{}' metric {}: {}", plugin.name(), m.name, m.value));
            }
            if plugin.extract_errors() > 0 {
                log.log(&format!(
                    "Plugin '{}' field extraction errors: {}",
                    plugin.name(),
                    plugin.extract_errors()
                ));
            }
        }
        match failure {
            Some(err) => Err(err),
            None => Ok(rules),
        }
    }
}

/// What a plugin source's thread runs with.
struct SourceThread {
    plugin: SharedPlugin,
    rules: SourceRules,
    recorder: Option<Recorder>,
    deadline: Option<Instant>,
}

impl SourceThread {
    /// Runs the plugin's event source to its end (EOF, `stop`, or the deadline): each event
    /// is recorded (`-w`), parsed by the parse plugins of this source, then the rules of the
    /// source run on it.
    fn run(
        mut self,
        open_params: &str,
        share: &SourceShare,
        stop: &AtomicBool,
    ) -> anyhow::Result<()> {
        let plugin = self.plugin.clone();
        let mut instance = plugin.lock().open(open_params)?;
        let result = self.events(&mut instance, share, stop);
        plugin.lock().close(instance);
        *share.rules.lock().unwrap_or_else(PoisonError::into_inner) =
            self.rules.detector.rule_stats();
        result
    }

    fn events(
        &mut self,
        instance: &mut lanner_plugins::SourceInstance,
        share: &SourceShare,
        stop: &AtomicBool,
    ) -> anyhow::Result<()> {
        let mut events = 0u64;
        let mut next_publish = Instant::now() + PUBLISH;
        loop {
            if stop.load(Ordering::Relaxed)
                || crate::daemon::stop_requested()
                || self.deadline.is_some_and(|d| Instant::now() >= d)
            {
                return Ok(());
            }
            // The plugin is locked for `next_batch` only: the rules' extractors lock it per
            // field.
            let Some(batch) = instance.next_batch(&mut self.plugin.lock())? else { return Ok(()) };
            if let Some(recorder) = &self.recorder {
                let mut recording = recorder.lock();
                for ev in batch.iter() {
                    recording.write(0, &ev)?;
                }
            }
            self.rules.detector.follow();
            for ev in batch.iter() {
                events += 1;
                self.rules.on_event(&ev, events)?;
            }
            share.events.store(events, Ordering::Relaxed);
            if Instant::now() >= next_publish {
                next_publish = Instant::now() + PUBLISH;
                *share.rules.lock().unwrap_or_else(PoisonError::into_inner) =
                    self.rules.detector.rule_stats();
            }
        }
    }
}
