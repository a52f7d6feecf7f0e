//! Falco's main job, with Falco's flags: load rules files, then run them on events and print
//! alerts. Today the events come from a capture file (`-e FILE`, or `-o engine.kind=replay
//! -o engine.replay.capture_file=FILE` as Falco 0.44 spells it); live capture arrives with the
//! kernel probe.
//!
//! The flow, one stage per crate: `lanner-config` (falco.yaml and `-o`) → `lanner-rules` (the
//! rules files, compiled; `-V`, `-L`, `-l` stop here) → `lanner-engine` (selection by
//! priority, `rules:`, `-D`/`-T`/`-t`; matching) → `lanner-outputs` (the alert) →
//! `lanner-channels` (the alert queue and the output channels of falco.yaml: stdout, file,
//! syslog, program, http).
//! The replay loop is `lanner inspect`'s: the reader thread hands over only the events the
//! enabled rules and the state need.
//!
//! At the end the channels are flushed (everything queued is delivered, or reported), then
//! Falco's summary goes to stdout: `Events detected`, the counts by severity and by rule.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use lanner_channels::{Pipeline, PipelineConfig};
use lanner_config::{Config, EngineKind, RuleMatching, Settings};
use lanner_engine::{Engine, EngineScratch, EnterEvents, Matching, NameMatch, RuleEntry};
use lanner_event::render::{BufferFormat, RenderOptions};
use lanner_fields::EventContext;
use lanner_filter::TypeSet;
use lanner_outputs::{
    AlertRule, AlertScratch, AppendOutput, ExtraField, OutputOptions, RuleOutput,
};
use lanner_rules::{LoadOptions, Loaded, Priority};
use lanner_scap::ThreadedReader;
use lanner_state::State;

use crate::localtime;
use crate::log::Logger;

/// Falco's flags for loading rules and running them.
#[derive(Debug, Args)]
pub(crate) struct DetectArgs {
    /// Rules file or directory (its `.yaml`/`.yml` files, in name order). Repeatable; replaces
    /// `rules_files` of the configuration.
    #[arg(short = 'r', value_name = "RULES")]
    pub(crate) rules: Vec<PathBuf>,

    /// Configuration file (falco.yaml format).
    #[arg(short = 'c', value_name = "CONFIG")]
    pub(crate) config: Option<PathBuf>,

    /// Set a configuration key: `-o json_output=true`, `-o rules_files[]=x.yaml`,
    /// `-o outputs_queue={capacity: 10}`. Repeatable.
    #[arg(short = 'o', long = "option", value_name = "KEY=VALUE")]
    pub(crate) options: Vec<String>,

    /// Read events from this capture file (Falco ≤ 0.37's flag; the same as
    /// `-o engine.kind=replay -o engine.replay.capture_file=FILE`).
    #[arg(short = 'e', value_name = "CAPTURE")]
    pub(crate) capture: Option<PathBuf>,

    /// Validate rules files and exit (repeatable; later files see earlier ones' macros and
    /// lists). With `-o json_output=true`, Falco's JSON validation result.
    #[arg(short = 'V', long = "validate", value_name = "RULES")]
    pub(crate) validate: Vec<PathBuf>,

    /// Describe every loaded rule and exit.
    #[arg(short = 'L')]
    pub(crate) describe_all: bool,

    /// Describe one rule and exit.
    #[arg(short = 'l', value_name = "RULE")]
    pub(crate) describe: Option<String>,

    /// Load the configuration and the rules, then exit without reading events.
    #[arg(long)]
    pub(crate) dry_run: bool,

    /// Stop after this many seconds.
    #[arg(short = 'M', value_name = "SECONDS")]
    pub(crate) duration: Option<u64>,

    /// Write each alert as soon as it is made (no output buffering).
    #[arg(short = 'U', long = "unbuffered")]
    pub(crate) unbuffered: bool,

    /// All events (Falco ≤ 0.40's flag, now `base_syscalls.all`); a capture's events are all
    /// read whatever it says.
    #[arg(short = 'A')]
    pub(crate) all_events: bool,

    /// Disable the rules with this tag (repeatable).
    #[arg(short = 'T', value_name = "TAG")]
    pub(crate) disable_tags: Vec<String>,

    /// Run only the rules with this tag (repeatable).
    #[arg(short = 't', value_name = "TAG")]
    pub(crate) run_tags: Vec<String>,

    /// Disable the rules whose name contains this text (repeatable).
    #[arg(short = 'D', value_name = "SUBSTRING")]
    pub(crate) disable_rules: Vec<String>,

    /// Enable this event source only (repeatable): the others, loaded or built in, are not
    /// opened.
    #[arg(long = "enable-source", value_name = "SOURCE", conflicts_with = "disable_sources")]
    pub(crate) enable_sources: Vec<String>,

    /// Disable this event source (repeatable).
    #[arg(long = "disable-source", value_name = "SOURCE")]
    pub(crate) disable_sources: Vec<String>,

    /// Live capture: also record every captured event (and the /proc scan it started from)
    /// to this `.scap` file, which `lanner inspect -r` and `sysdig -r` read.
    #[arg(short = 'w', value_name = "CAPTURE_OUT")]
    pub(crate) write: Option<PathBuf>,
}

/// lanner's default rules, built in: what `lanner` runs when no rules file is named (neither
/// with `-r` nor by a configuration file's `rules_files`).
pub(crate) const DEFAULT_RULES: &str = include_str!("../../../rules/lanner_rules.yaml");
const DEFAULT_RULES_NAME: &str = "lanner_rules.yaml (built in)";

impl DetectArgs {
    fn all_options(&self) -> Vec<String> {
        let mut options = self.options.clone();
        if let Some(capture) = &self.capture {
            options.push("engine.kind=replay".to_owned());
            options.push(format!("engine.replay.capture_file={}", capture.display()));
        }
        options
    }
}

/// Runs Falco's job as the flags say.
pub(crate) fn run(args: &DetectArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(args.config.as_deref(), &args.all_options())?;
    let settings = config.settings()?;
    let log = Logger { enabled: settings.log_stderr, iso8601: settings.time_format_iso_8601 };
    log.log(&format!(
        "lanner version: {} (rules engine version {})",
        env!("CARGO_PKG_VERSION"),
        lanner_rules::ENGINE_VERSION
    ));
    for file in config.files() {
        log.log(&format!("lanner initialized with configuration file: {}", file.display()));
    }
    // `static_fields` exist as `static.NAME` for the conditions and outputs about to load.
    let statics = &settings.static_fields;
    lanner_fields::set_static_fields(statics.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let plugin_configs = crate::plugins::plugin_configs(&config)?;
    let plugins = crate::plugins::load(&plugin_configs, log)?;
    let load_options = load_options(&plugins);
    if !args.validate.is_empty() {
        return validate(&args.validate, &settings, &load_options);
    }
    if (!args.disable_tags.is_empty() || !args.disable_rules.is_empty())
        && !args.run_tags.is_empty()
    {
        anyhow::bail!("You can not specify both disabled (-D/-T) and enabled (-t) rules");
    }
    // Without -r and without a configuration file, lanner runs its own default rules.
    let builtin = args.rules.is_empty() && args.config.is_none() && args.validate.is_empty();
    let paths = if builtin {
        Vec::new()
    } else {
        rules_paths(if args.rules.is_empty() {
            settings.rules_files.iter().map(PathBuf::from).collect()
        } else {
            args.rules.clone()
        })?
    };
    if paths.is_empty() && !builtin {
        anyhow::bail!(
            "You must specify at least one rules file/directory via -r or a rules_file entry \
             in falco.yaml"
        );
    }
    log.log("Loading rules from:");
    for path in &paths {
        log.log(&format!("   {}", path.display()));
    }
    let loaded = if builtin {
        log.log(&format!("   {DEFAULT_RULES_NAME}"));
        lanner_rules::load(&[(DEFAULT_RULES_NAME, DEFAULT_RULES)], &load_options)
    } else {
        lanner_rules::load_files(&paths, &load_options)
    };
    report_load(&loaded);
    if !loaded.successful() {
        return Ok(ExitCode::FAILURE);
    }
    if args.describe_all || args.describe.is_some() {
        return describe(&loaded, args.describe.as_deref());
    }
    let min_priority = Priority::parse(&settings.priority).map_err(|_| {
        anyhow::anyhow!("config key `priority`: unknown priority `{}`", settings.priority)
    })?;
    let append = append_outputs(&settings)?;
    // What `suggested_output` appends: the container fields Falco's container plugin suggests
    // (built into lanner), then the static fields.
    let static_names: Vec<String> = statics.iter().map(|(k, _)| format!("static.{k}")).collect();
    let mut suggested: Vec<&str> = lanner_outputs::suggested_fields().collect();
    suggested.extend(static_names.iter().map(String::as_str));
    let mut outputs = Vec::with_capacity(loaded.ruleset.rules.len());
    let mut entries = Vec::with_capacity(loaded.ruleset.rules.len());
    for rule in &loaded.ruleset.rules {
        let alert_rule = AlertRule::new(
            &rule.name,
            rule.priority,
            &rule.source,
            rule.tags.iter().map(String::as_str),
        );
        let output = RuleOutput::new(alert_rule, &rule.output, &append, &suggested)
            .map_err(|e| anyhow::anyhow!("rule `{}`: output: {e}", rule.name))?;
        outputs.push(output);
        entries.push(RuleEntry::from(rule));
    }
    let mut engine = Engine::new(entries, min_priority as u8);
    engine.set_matching(match settings.rule_matching {
        RuleMatching::First => Matching::First,
        RuleMatching::All => Matching::All,
    });
    if settings.legacy_enter_events {
        engine.set_enter_events(EnterEvents::Visible);
    }
    select(&mut engine, args, &settings);
    if args.dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    let options = OutputOptions {
        json_output: settings.json_output,
        json_include_output_property: settings.json_include_output_property,
        json_include_tags_property: settings.json_include_tags_property,
        json_include_message_property: settings.json_include_message_property,
        json_include_output_fields_property: settings.json_include_output_fields_property,
        time_format_iso_8601: settings.time_format_iso_8601,
        utc_offset: localtime::utc_offset_now(),
    };
    let mut channels = PipelineConfig::from_settings(
        &settings,
        options,
        Arc::new(move |line: &str| log.log(line)),
    );
    channels.buffered = settings.buffered_outputs && !args.unbuffered;
    let pipeline = Pipeline::start(channels)?;
    let deadline =
        args.duration.map(|s| std::time::Instant::now() + std::time::Duration::from_secs(s));
    let enabled = |source: &str| {
        (args.enable_sources.is_empty() || args.enable_sources.iter().any(|s| s == source))
            && !args.disable_sources.iter().any(|s| s == source)
    };
    let plugin_sources: Vec<_> = crate::plugins::sources(&plugins)
        .into_iter()
        .filter(|(source, _)| enabled(source))
        .collect();
    let syscall_enabled = enabled(lanner_engine::SYSCALL_SOURCE);
    for p in &plugins {
        p.plugin.lock().capture_listen(true)?;
    }
    let stop = std::sync::atomic::AtomicBool::new(false);
    let with =
        |kind: fn(&lanner_plugins::Capabilities) -> bool| -> Vec<lanner_plugins::SharedPlugin> {
            plugins
                .iter()
                .filter(|p| kind(&p.plugin.lock().capabilities()))
                .map(|p| p.plugin.clone())
                .collect()
        };
    let async_plugins = with(|c| c.async_events);
    for p in &async_plugins {
        p.lock().start_async()?;
    }
    std::thread::scope(|scope| {
        let mut threads = Vec::new();
        for (source, p) in &plugin_sources {
            log.log(&format!("Opening '{source}' source with plugin '{}'", p.config.name));
            let detector = Detector::for_source(&engine, &outputs, &pipeline, source);
            let (plugin, params, stop) = (&p.plugin, p.config.open_params.as_str(), &stop);
            let source = source.as_str();
            threads.push(scope.spawn(move || {
                crate::plugins::run_source(plugin, params, source, detector, stop, deadline)
            }));
        }
        let replay = Replay {
            engine: &engine,
            outputs: &outputs,
            pipeline,
            log,
            deadline,
            plugin_threads: threads,
            plugin_stop: &stop,
            stop_plugins_at_end: false,
            parsers: with(|c| c.parsing),
            async_plugins: async_plugins.clone(),
            all_plugins: plugins.iter().map(|p| p.plugin.clone()).collect(),
        };
        if !syscall_enabled {
            return replay.end(&BTreeMap::new());
        }
        match settings.engine_kind {
            EngineKind::Replay => {}
            EngineKind::Nodriver if !plugin_sources.is_empty() => {
                return replay.end(&BTreeMap::new());
            }
            EngineKind::Nodriver => anyhow::bail!("engine.kind nodriver needs a plugin source"),
            EngineKind::Kmod | EngineKind::ModernEbpf => {
                let base = crate::live::BaseSyscalls {
                    all: settings.base_syscalls_all || args.all_events,
                    custom_set: settings.base_syscalls_custom_set.clone(),
                    repair: settings.base_syscalls_repair,
                };
                let mut replay = replay;
                replay.stop_plugins_at_end = true;
                return crate::live::run(
                    replay,
                    &base,
                    settings.ring_buffer_bytes,
                    args.write.as_ref(),
                );
            }
        }
        if args.write.is_some() {
            anyhow::bail!("-w records live captures; a replay (-e) reads one already");
        }
        if settings.replay_capture_file.is_empty() {
            anyhow::bail!("engine.kind is replay but engine.replay.capture_file is empty");
        }
        log.log(&format!(
            "Opening 'syscall' source with savefile {}",
            settings.replay_capture_file
        ));
        replay.run(Path::new(&settings.replay_capture_file))
    })
}

/// `-V`: loads the files in order and reports each, as Falco does.
fn validate(
    paths: &[PathBuf],
    settings: &Settings,
    options: &LoadOptions,
) -> anyhow::Result<ExitCode> {
    let loaded = lanner_rules::load_files(paths, options);
    let mut out = std::io::stdout().lock();
    if settings.json_output {
        writeln!(out, "{}", loaded.to_json())?;
    } else {
        write!(out, "{}", loaded.render())?;
    }
    Ok(if loaded.successful() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The sources rules may be written for (syscall, and each loaded plugin's) and the loaded
/// plugins `required_plugin_versions` is checked against.
fn load_options(plugins: &[crate::plugins::LoadedPlugin]) -> LoadOptions {
    let mut options = LoadOptions::default();
    for (source, _) in crate::plugins::sources(plugins) {
        options.sources.push(Arc::new(lanner_rules::PluginSource::new(source)));
    }
    for p in plugins {
        let plugin = p.plugin.lock();
        if let Some(version) = lanner_rules::Version::parse(plugin.version()) {
            options
                .plugins
                .push(lanner_rules::PluginInfo { name: plugin.name().to_owned(), version });
        }
    }
    options
}

/// Load problems go to stderr: every error and warning, then each file's summary when there
/// was a problem.
fn report_load(loaded: &Loaded) {
    if loaded.errors().next().is_some() || loaded.warnings().next().is_some() {
        eprint!("{}", loaded.render());
    }
}

/// `-L` and `-l RULE`: Falco's table of rule names and descriptions.
fn describe(loaded: &Loaded, only: Option<&str>) -> anyhow::Result<ExitCode> {
    // An unknown name prints the table's head only, as Falco does.
    let rules: Vec<_> =
        loaded.ruleset.rules.iter().filter(|r| only.is_none_or(|n| r.name == n)).collect();
    let mut out = std::io::stdout().lock();
    writeln!(out, "{:<50} Description", "Rule")?;
    writeln!(out, "{:<50} -----------", "----")?;
    for rule in rules {
        let desc = rule.desc.split_whitespace().collect::<Vec<_>>().join(" ");
        writeln!(out, "{:<50} {desc}", rule.name)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Rules paths: files as given, directories replaced by their `.yaml`/`.yml` files in name
/// order.
fn rules_paths(given: Vec<PathBuf>) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in given {
        if path.is_dir() {
            out.extend(
                lanner_config::yaml_files(&path)
                    .with_context(|| format!("cannot read rules directory `{}`", path.display()))?,
            );
        } else {
            out.push(path);
        }
    }
    Ok(out)
}

/// The configuration's `rules:` block, then the command line's `-D`, `-T`, `-t`.
fn select(engine: &mut Engine, args: &DetectArgs, settings: &Settings) {
    for selection in &settings.rules {
        if let Some(rule) = &selection.rule {
            engine.enable_by_name(rule, NameMatch::Wildcard, selection.enable);
        }
        if let Some(tag) = &selection.tag {
            engine.enable_by_tags(&[tag], selection.enable);
        }
    }
    for pattern in &args.disable_rules {
        engine.enable_by_name(pattern, NameMatch::Substring, false);
    }
    if !args.disable_tags.is_empty() {
        engine.enable_by_tags(&args.disable_tags, false);
    }
    if !args.run_tags.is_empty() {
        engine.enable_by_name("", NameMatch::Substring, false);
        engine.enable_by_tags(&args.run_tags, true);
    }
}

/// `append_output` entries, read from the configuration's YAML.
fn append_outputs(settings: &Settings) -> anyhow::Result<Vec<AppendOutput>> {
    use serde_yaml_ng::Value;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let mut out = Vec::new();
    for (i, entry) in settings.append_output.iter().enumerate() {
        let bad = |why: &str| anyhow::anyhow!("config key `append_output[{i}]`: {why}");
        let Value::Mapping(_) = entry else { return Err(bad("expected a map")) };
        let matcher = entry.get("match");
        let tags = match matcher.and_then(|m| m.get("tags")) {
            None | Some(Value::Null) => Default::default(),
            Some(Value::Sequence(items)) => {
                items.iter().filter_map(Value::as_str).map(str::to_owned).collect()
            }
            Some(_) => return Err(bad("`match.tags` must be a list")),
        };
        let mut extra_fields = Vec::new();
        if let Some(fields) = entry.get("extra_fields") {
            let Value::Sequence(fields) = fields else {
                return Err(bad("`extra_fields` must be a list"));
            };
            for field in fields {
                match field {
                    Value::String(name) => extra_fields.push(ExtraField::Raw(name.clone())),
                    Value::Mapping(map) => {
                        for (k, v) in map {
                            let (Some(name), Some(format)) = (k.as_str(), v.as_str()) else {
                                return Err(bad("an `extra_fields` entry maps a name to a format"));
                            };
                            extra_fields.push(ExtraField::Formatted {
                                name: name.to_owned(),
                                format: format.to_owned(),
                            });
                        }
                    }
                    _ => return Err(bad("an `extra_fields` entry is a field or a map")),
                }
            }
        }
        out.push(AppendOutput {
            source: text(matcher.and_then(|m| m.get("source"))),
            tags,
            rule: text(matcher.and_then(|m| m.get("rule"))),
            extra_output: text(entry.get("extra_output")),
            extra_fields,
            suggested_output: entry
                .get("suggested_output")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        });
    }
    Ok(out)
}

/// A run of the rules over events: of a capture ([`Replay::run`]), or live
/// ([`crate::live::run`]). Alerts leave through the output channels' pipeline.
pub(crate) struct Replay<'a> {
    pub(crate) engine: &'a Engine,
    pub(crate) outputs: &'a [RuleOutput],
    pub(crate) pipeline: Pipeline,
    pub(crate) log: Logger,
    pub(crate) deadline: Option<std::time::Instant>,
    /// The threads of the plugin sources, joined at the end.
    pub(crate) plugin_threads:
        Vec<std::thread::ScopedJoinHandle<'a, anyhow::Result<crate::plugins::SourceRun>>>,
    /// Set to stop the plugin sources.
    pub(crate) plugin_stop: &'a std::sync::atomic::AtomicBool,
    /// Whether the end of the syscall source stops the plugin sources (a live run), or waits
    /// for them to reach their end (a replay), as Falco does.
    pub(crate) stop_plugins_at_end: bool,
    /// Plugins that parse syscall events.
    pub(crate) parsers: Vec<lanner_plugins::SharedPlugin>,
    /// Plugins whose async events join the syscall stream.
    pub(crate) async_plugins: Vec<lanner_plugins::SharedPlugin>,
    /// Every plugin (capture listening and metrics at the end).
    pub(crate) all_plugins: Vec<lanner_plugins::SharedPlugin>,
}

impl Replay<'_> {
    fn run(self, capture: &Path) -> anyhow::Result<ExitCode> {
        let Some(mut detector) = Detector::new(&self) else {
            // No syscall rule: nothing in a capture can match.
            return self.end(&BTreeMap::new());
        };
        let keep = self.relevant_types();
        let keep = (0..lanner_event::table::EVENT_MAX as u16).map(|c| keep.contains(c)).collect();
        let mut reader = ThreadedReader::open(capture, Some(keep))
            .with_context(|| format!("cannot read capture `{}`", capture.display()))?;
        let mut state = State::from_tables(reader.tables());
        let mut first_ts = None;
        let mut checked = 0u32;
        while reader.advance()? {
            let num = reader.number();
            let Some(record) = reader.record() else { break };
            if let Some(tables) = record.new_tables {
                state.load_tables(tables);
            }
            let ev = record.event;
            state.process(&ev);
            for p in &self.parsers {
                p.lock().parse(&ev, num, lanner_engine::SYSCALL_SOURCE)?;
            }
            let first = *first_ts.get_or_insert(reader.first_ts().unwrap_or(ev.ts()));
            detector.on_event(num, record.cpu, &ev, &state, first);
            if !self.async_plugins.is_empty() {
                self.async_events(&mut detector, &mut state, num, first)?;
            }
            checked = checked.wrapping_add(1);
            if checked.is_multiple_of(4096)
                && self.deadline.is_some_and(|d| std::time::Instant::now() >= d)
            {
                break;
            }
        }
        for p in &self.async_plugins {
            p.lock().stop_async()?;
        }
        let first = first_ts.unwrap_or(0);
        self.async_events(&mut detector, &mut state, reader.number(), first)?;
        self.log.log(&format!("Events in source 'syscall': {checked}"));
        let counts = detector.into_counts();
        self.end(&counts)
    }

    /// Runs the rules on the async events the plugins queued, in the syscall stream.
    fn async_events(
        &self,
        detector: &mut Detector<'_>,
        state: &mut State,
        num: u64,
        first_ts: u64,
    ) -> anyhow::Result<()> {
        for p in &self.async_plugins {
            let (events, dropped) = p.lock().take_async_events();
            if dropped > 0 {
                self.log.log(&format!("Plugin async events dropped (queue full): {dropped}"));
            }
            for bytes in &events {
                let ev = lanner_event::RawEvent::new(bytes)
                    .map_err(|e| anyhow::anyhow!("malformed async event: {e}"))?;
                state.process(&ev);
                for parser in &self.parsers {
                    parser.lock().parse(&ev, num, lanner_engine::SYSCALL_SOURCE)?;
                }
                detector.on_event(num, 0, &ev, state, first_ts);
            }
        }
        Ok(())
    }

    /// Flushes the outputs, then prints Falco's summary of `counts`.
    pub(crate) fn end(self, counts: &BTreeMap<usize, u64>) -> anyhow::Result<ExitCode> {
        if self.stop_plugins_at_end {
            self.plugin_stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let mut counts = counts.clone();
        let mut failure = None;
        for thread in self.plugin_threads {
            match thread.join() {
                Ok(Ok(run)) => {
                    self.log.log(&format!("Events in source '{}': {}", run.source, run.events));
                    for (rule, n) in run.counts {
                        *counts.entry(rule).or_default() += n;
                    }
                }
                Ok(Err(err)) => {
                    failure.get_or_insert(err);
                }
                Err(_) => {
                    failure.get_or_insert(anyhow::anyhow!("a plugin source thread panicked"));
                }
            }
        }
        for p in &self.all_plugins {
            let mut plugin = p.lock();
            if let Err(err) = plugin.capture_listen(false) {
                failure.get_or_insert(err.into());
            }
            for m in plugin.metrics() {
                self.log.log(&format!("Plugin '{}' metric {}: {}", plugin.name(), m.name, m.value));
            }
        }
        let errors = lanner_plugins::extract_errors();
        if errors > 0 {
            self.log.log(&format!("Plugin field extraction errors: {errors}"));
        }
        finish(self.pipeline, self.log);
        print_summary(&counts, self.outputs)?;
        match failure {
            Some(err) => Err(err),
            None => Ok(ExitCode::SUCCESS),
        }
    }

    /// The event types the reader must hand over: those the enabled rules can match and those
    /// their conditions' state needs, and every type when an output reads event history
    /// (memory counters: the types that change them).
    pub(crate) fn relevant_types(&self) -> TypeSet {
        let engine = self.engine;
        let mut types = engine.state_types();
        for p in &self.parsers {
            let p = p.lock();
            if p.parse_types().is_empty() {
                return TypeSet::all();
            }
            for &t in p.parse_types() {
                types.insert(t);
            }
        }
        let source = engine.source(lanner_engine::SYSCALL_SOURCE);
        if let Some(source) = source {
            for ty in engine.event_types(source).iter() {
                types.insert(ty);
            }
        }
        let enabled_outputs = self
            .outputs
            .iter()
            .enumerate()
            .filter(|(i, _)| engine.is_enabled(lanner_engine::RuleId(*i as u32)));
        let mut counters = false;
        for (_, output) in enabled_outputs {
            for field in output.message_format().fields() {
                if field.id().reads_event_history() {
                    return TypeSet::all();
                }
                counters |= field.id().reads_memory_counters();
            }
        }
        if counters {
            for code in 0..lanner_event::table::EVENT_MAX as u16 {
                if State::changes_counters(code) {
                    types.insert(code);
                }
            }
        }
        types
    }
}

/// The rules applied to one event after the state took it in: evaluation, the counts by
/// rule, and the alerts handed to the output pipeline. Shared by replays and live runs.
pub(crate) struct Detector<'r> {
    engine: &'r Engine,
    source: lanner_engine::SourceId,
    outputs: &'r [RuleOutput],
    scratch: EngineScratch,
    alert_scratch: AlertScratch,
    hostname: Arc<str>,
    render: RenderOptions,
    /// No channel, no alert to build.
    sender: Option<lanner_channels::AlertSender>,
    counts: BTreeMap<usize, u64>,
}

impl<'r> Detector<'r> {
    /// `None` when no enabled rule is of the syscall source.
    pub(crate) fn new(run: &Replay<'r>) -> Option<Detector<'r>> {
        let engine = run.engine;
        let source = engine.source(lanner_engine::SYSCALL_SOURCE)?;
        Some(Detector {
            engine,
            source,
            outputs: run.outputs,
            scratch: EngineScratch::for_engine(engine),
            alert_scratch: AlertScratch::default(),
            hostname: Arc::from(hostname()),
            render: RenderOptions { buffer_format: BufferFormat::Dots, max_buffer_len: Some(80) },
            sender: run.pipeline.has_channels().then(|| run.pipeline.sender()),
            counts: BTreeMap::new(),
        })
    }

    /// The detector of a plugin source: `None` when no enabled rule is of that source.
    pub(crate) fn for_source(
        engine: &'r Engine,
        outputs: &'r [RuleOutput],
        pipeline: &Pipeline,
        source: &str,
    ) -> Option<Detector<'r>> {
        let source = engine.source(source)?;
        Some(Detector {
            engine,
            source,
            outputs,
            scratch: EngineScratch::for_engine(engine),
            alert_scratch: AlertScratch::default(),
            hostname: Arc::from(hostname()),
            render: RenderOptions { buffer_format: BufferFormat::Dots, max_buffer_len: Some(80) },
            sender: pipeline.has_channels().then(|| pipeline.sender()),
            counts: BTreeMap::new(),
        })
    }

    /// Runs the rules of this detector's plugin source on event `num` of source `source`.
    pub(crate) fn on_source_event(
        &mut self,
        num: u64,
        ev: &lanner_event::RawEvent<'_>,
        state: &State,
        first_ts: u64,
        source: &str,
    ) {
        let mut ctx = EventContext::new(num, 0, ev, state, first_ts, 0, self.render);
        ctx.source = source;
        for &id in self.engine.evaluate(self.source, &ctx, &mut self.scratch) {
            let i = id.0 as usize;
            *self.counts.entry(i).or_default() += 1;
            if let Some(sender) = &self.sender {
                let alert = self.outputs[i].alert(&ctx, &self.hostname, &mut self.alert_scratch);
                sender.send(alert);
            }
        }
    }

    /// Runs the rules on event `num` (which `state` has just processed).
    pub(crate) fn on_event(
        &mut self,
        num: u64,
        cpu: u16,
        ev: &lanner_event::RawEvent<'_>,
        state: &State,
        first_ts: u64,
    ) {
        let mut ctx = EventContext::new(num, cpu, ev, state, first_ts, 0, self.render);
        ctx.fold_enter = self.engine.folds_enter();
        for &id in self.engine.evaluate(self.source, &ctx, &mut self.scratch) {
            let i = id.0 as usize;
            *self.counts.entry(i).or_default() += 1;
            if let Some(sender) = &self.sender {
                let alert = self.outputs[i].alert(&ctx, &self.hostname, &mut self.alert_scratch);
                sender.send(alert);
            }
        }
    }

    /// The matches by rule; the pipeline's sender is released.
    pub(crate) fn into_counts(self) -> BTreeMap<usize, u64> {
        self.counts
    }
}

/// Delivers what the channels still hold, then stops them; what could not be delivered in
/// time, and what was dropped, is logged.
pub(crate) fn finish(pipeline: Pipeline, log: Logger) {
    let report = pipeline.shutdown(std::time::Duration::from_secs(30));
    let counters = &report.snapshot;
    if !report.is_complete() {
        let waiting: u64 = counters.channels.iter().map(|c| c.backlog).sum();
        log.log(&format!(
            "Outputs: {waiting} alerts not delivered in 30 s, by {}.",
            report.pending.join(", ")
        ));
    }
    // A channel that fails says so when it starts failing; the queue's losses are told here.
    if counters.dropped + counters.throttled > 0 {
        log.log(&format!(
            "Outputs: {} alerts dropped by a full queue, {} by the rate limit.",
            counters.dropped, counters.throttled
        ));
    }
}

/// Falco's end-of-run summary.
pub(crate) fn print_summary(
    counts: &BTreeMap<usize, u64>,
    outputs: &[RuleOutput],
) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let total: u64 = counts.values().sum();
    writeln!(out, "Events detected: {total}")?;
    writeln!(out, "Rule counts by severity:")?;
    let mut by_priority: BTreeMap<u8, u64> = BTreeMap::new();
    for (&i, &n) in counts {
        *by_priority.entry(outputs[i].rule().priority as u8).or_default() += n;
    }
    for (p, n) in by_priority {
        let name = Priority::ALL[usize::from(p)].short().to_ascii_uppercase();
        writeln!(out, "   {name}: {n}")?;
    }
    writeln!(out, "Triggered rules by rule name:")?;
    for (&i, &n) in counts {
        writeln!(out, "   {}: {n}", outputs[i].rule().name)?;
    }
    Ok(())
}

/// The host name alerts carry: `FALCO_HOSTNAME` if set, else the system's.
pub(crate) fn hostname() -> String {
    if let Ok(name) = std::env::var("FALCO_HOSTNAME") {
        return name;
    }
    let mut buf = [0u8; 256];
    // SAFETY: `gethostname` writes at most `buf.len()` bytes into the buffer we own.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}
