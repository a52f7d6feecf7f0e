//! Falco's main job, with Falco's flags: load rules files, then run them on events and print
//! alerts. The events come from a capture file (`-e FILE`, or `-o engine.kind=replay -o
//! engine.replay.capture_file=FILE` as Falco 0.44 spells it) or live from the kernel probe
//! ([`crate::live`]). What a configuration and its rules make is a [`Detection`], which a
//! reload replaces whole ([`crate::daemon`]).
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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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

use crate::daemon::Daemon;
use crate::localtime;
use crate::log::Logger;

/// Falco's flags for loading rules and running them.
#[derive(Clone, Debug, Args)]
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

    /// How the live probe hooks syscalls: `fexit`, `tracepoints`, `tp_btf`, or `auto` (the
    /// default: fexit where the kernel lets trampolines load, otherwise the cheaper of the
    /// other two for the machine's syscall mix, sampled at start-up).
    #[arg(long, value_name = "MODE", default_value = "auto", value_parser = parse_attach)]
    pub(crate) attach: Attach,

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

    /// Record every event the live sources take in (the probe's syscalls, with the /proc
    /// scan they start from, and the plugin sources' events) to this `.scap` file, which
    /// `lanner -e`, `lanner inspect -r` and `sysdig -r` read.
    #[arg(short = 'w', value_name = "CAPTURE_OUT")]
    pub(crate) write: Option<PathBuf>,
}

/// lanner's default rules, built in: what `lanner` runs when no rules file is named (neither
/// with `-r` nor by a configuration file's `rules_files`).
pub(crate) const DEFAULT_RULES: &str = include_str!("../../../rules/lanner_rules.yaml");
const DEFAULT_RULES_NAME: &str = "lanner_rules.yaml (built in)";

impl DetectArgs {
    /// Whether `--enable-source` / `--disable-source` let `source` run.
    pub(crate) fn source_enabled(&self, source: &str) -> bool {
        (self.enable_sources.is_empty() || self.enable_sources.iter().any(|s| s == source))
            && !self.disable_sources.iter().any(|s| s == source)
    }

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
    let settings = settings_of(&config)?;
    let log = Logger { enabled: settings.log_stderr, iso8601: settings.time_format_iso_8601 };
    log.log(&format!(
        "lanner version: {} (rules engine version {})",
        env!("CARGO_PKG_VERSION"),
        lanner_rules::ENGINE_VERSION
    ));
    log_config(&config, log);
    // `static_fields` exist as `static.NAME` for the conditions and outputs about to load.
    let statics = &settings.static_fields;
    lanner_fields::set_static_fields(statics.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    // Plugins load before the rules: their fields and sources are what plugin rules use.
    let plugins = crate::plugins::load(&crate::plugins::plugin_configs(&config)?, log)?;
    let load_options = Arc::new(load_options(&plugins));
    if !args.validate.is_empty() {
        return validate(&args.validate, &settings, &load_options);
    }
    if (!args.disable_tags.is_empty() || !args.disable_rules.is_empty())
        && !args.run_tags.is_empty()
    {
        anyhow::bail!("You can not specify both disabled (-D/-T) and enabled (-t) rules");
    }
    let (loaded, rules_paths) = load_rules(args, &settings, log, &load_options)?;
    report_load(&loaded);
    if !loaded.successful() {
        return Ok(ExitCode::FAILURE);
    }
    if args.describe_all || args.describe.is_some() {
        return describe(&loaded, args.describe.as_deref());
    }
    let mut watched: Vec<PathBuf> = config.files().to_vec();
    watched.extend(rules_paths);
    let detection = Arc::new(compile(&loaded, args, settings, watched)?);
    if args.dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    let settings = &detection.settings;
    let plugin_sources: Vec<_> = crate::plugins::sources(&plugins)
        .into_iter()
        .filter(|(source, _)| args.source_enabled(source))
        .collect();
    // The syscall source runs unless disabled; with `nodriver` it has no events (Falco's
    // nodriver engine), so a run of it alone idles until stopped, as Falco's does.
    let syscall_enabled = args.source_enabled(lanner_engine::SYSCALL_SOURCE);
    let syscalls = syscall_enabled && settings.engine_kind != EngineKind::Nodriver;
    let live =
        syscalls && matches!(settings.engine_kind, EngineKind::Kmod | EngineKind::ModernEbpf);
    let idle = syscall_enabled && !syscalls && plugin_sources.is_empty();
    if !syscall_enabled && plugin_sources.is_empty() {
        anyhow::bail!(
            "no event source to open: the syscall source is disabled and no loaded plugin \
             provides an enabled source"
        );
    }
    // A replay reads every source's events from the capture, as Falco's capture mode does:
    // the plugin sources are not opened, their rules run on the capture's plugin events.
    let replay_mode = settings.engine_kind == EngineKind::Replay;
    if replay_mode {
        if args.write.is_some() {
            anyhow::bail!("-w records live captures; a replay (-e) reads one already");
        }
        if settings.replay_capture_file.is_empty() {
            anyhow::bail!("engine.kind is replay but engine.replay.capture_file is empty");
        }
    } else if args.write.is_some() && !live && plugin_sources.is_empty() {
        anyhow::bail!(
            "-w records the events of live sources (the kernel probe, plugin sources), and \
             this run has none"
        );
    }
    let pipeline = start_pipeline(settings, args, log)?;
    let daemon = Daemon::start(args, &detection, &load_options, log, live);
    let deadline =
        args.duration.map(|s| std::time::Instant::now() + std::time::Duration::from_secs(s));
    let detector = Detector::new(detection.clone(), pipeline);
    let mode = if replay_mode {
        crate::plugins::SourceMode::FromCapture
    } else {
        crate::plugins::SourceMode::Open
    };
    let plugins =
        crate::plugins::PluginRun::start(&plugins, &plugin_sources, mode, detector.current(), log)?;
    let mut replay =
        Replay { detector, daemon, log, deadline, plugins, recorder: None, syscalls: true };
    if replay_mode {
        replay.syscalls = syscall_enabled;
        log.log(&format!(
            "Opening 'syscall' source with savefile {}",
            settings.replay_capture_file
        ));
        let capture = PathBuf::from(&settings.replay_capture_file);
        return replay.run(&capture);
    }
    if !live {
        // No probe: the plugin sources open now, recording from the start (`-w`).
        if let Some(path) = &args.write {
            replay.recorder =
                Some(crate::record::Recorder::create(path, &lanner_scap::Tables::default())?);
        }
        replay.plugins.open_sources(deadline, log, replay.recorder.as_ref())?;
        return replay.wait_for_plugin_sources(idle);
    }
    let base = crate::live::BaseSyscalls {
        all: settings.base_syscalls_all || args.all_events,
        custom_set: settings.base_syscalls_custom_set.clone(),
        repair: settings.base_syscalls_repair,
    };
    let live = crate::live::LiveOptions {
        base,
        buffer_bytes: settings.ring_buffer_bytes,
        cpus_per_buffer: settings.cpus_for_each_buffer,
        attach: args.attach.0,
        write: args.write.clone(),
    };
    crate::live::run(replay, &live)
}

/// The sources rules may be written for (syscall, and each loaded plugin's), and the loaded
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

/// Where rules come from: files, and lanner's built-in rules.
const BUILTIN_RULES_ENTRY: &str = "builtin:lanner_rules.yaml";

/// Loads the rules files: `-r`, else the configuration's `rules_files` (an entry
/// `builtin:lanner_rules.yaml` is lanner's built-in rules); without either and without a
/// configuration file, the built-in rules. Also returns the files and directories read, to
/// watch.
pub(crate) fn load_rules(
    args: &DetectArgs,
    settings: &Settings,
    log: Logger,
    options: &LoadOptions,
) -> anyhow::Result<(Loaded, Vec<PathBuf>)> {
    let given: Vec<PathBuf> = if !args.rules.is_empty() {
        args.rules.clone()
    } else if args.config.is_none() {
        vec![PathBuf::from(BUILTIN_RULES_ENTRY)]
    } else {
        settings.rules_files.iter().map(PathBuf::from).collect()
    };
    let watched: Vec<PathBuf> =
        given.iter().filter(|p| p.as_os_str() != BUILTIN_RULES_ENTRY).cloned().collect();
    let paths = rules_paths(given)?;
    if paths.is_empty() {
        anyhow::bail!(
            "You must specify at least one rules file/directory via -r or a rules_file entry \
             in falco.yaml"
        );
    }
    log.log("Loading rules from:");
    let builtin = paths.iter().any(|p| p.as_os_str() == BUILTIN_RULES_ENTRY);
    for path in &paths {
        if path.as_os_str() == BUILTIN_RULES_ENTRY {
            log.log(&format!("   {DEFAULT_RULES_NAME}"));
        } else {
            log.log(&format!("   {}", path.display()));
        }
    }
    if !builtin {
        return Ok((lanner_rules::load_files(&paths, options), watched));
    }
    let mut files: Vec<(String, Vec<u8>)> = Vec::with_capacity(paths.len());
    for path in &paths {
        if path.as_os_str() == BUILTIN_RULES_ENTRY {
            files.push((DEFAULT_RULES_NAME.to_owned(), DEFAULT_RULES.as_bytes().to_vec()));
        } else {
            let bytes = std::fs::read(path)
                .with_context(|| format!("Could not read file {}", path.display()))?;
            files.push((path.display().to_string(), bytes));
        }
    }
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    Ok((lanner_rules::load_bytes(&refs, options), watched))
}

/// What a configuration and its rules make, checked completely before it runs: the unit a
/// reload replaces.
pub(crate) struct Detection {
    pub(crate) settings: Settings,
    pub(crate) engine: Engine,
    pub(crate) outputs: Vec<RuleOutput>,
    /// The configuration files, and the rules files and directories, read.
    pub(crate) watched: Vec<PathBuf>,
}

impl Detection {
    /// The event types the reader must hand over: those the enabled rules can match and those
    /// their conditions' state needs, and every type when an output reads event history
    /// (memory counters: the types that change them).
    pub(crate) fn relevant_types(&self) -> TypeSet {
        let engine = &self.engine;
        let mut types = engine.state_types();
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

/// Compiles the loaded rules' outputs and builds the engine with the selections.
pub(crate) fn compile(
    loaded: &Loaded,
    args: &DetectArgs,
    settings: Settings,
    watched: Vec<PathBuf>,
) -> anyhow::Result<Detection> {
    let min_priority = Priority::parse(&settings.priority).map_err(|_| {
        anyhow::anyhow!("config key `priority`: unknown priority `{}`", settings.priority)
    })?;
    let append = append_outputs(&settings)?;
    // What `suggested_output` appends: the container fields Falco's container plugin suggests
    // (built into lanner), then the static fields.
    let static_names: Vec<String> =
        settings.static_fields.iter().map(|(k, _)| format!("static.{k}")).collect();
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
    Ok(Detection { settings, engine, outputs, watched })
}

/// Loads the configuration and the rules again, for a reload: every problem is an error,
/// and the caller keeps what runs. The configuration's problems are logged as at start.
pub(crate) fn reload(
    args: &DetectArgs,
    options: &LoadOptions,
    log: Logger,
) -> anyhow::Result<Detection> {
    let config = Config::load(args.config.as_deref(), &args.all_options())?;
    let settings = settings_of(&config)?;
    log_config(&config, log);
    let (loaded, rules_paths) = load_rules(args, &settings, log, options)?;
    if !loaded.successful() {
        anyhow::bail!("the rules do not load:\n{}", loaded.render().trim_end());
    }
    if loaded.warnings().next().is_some() {
        eprint!("{}", loaded.render());
    }
    let mut watched: Vec<PathBuf> = config.files().to_vec();
    watched.extend(rules_paths);
    compile(&loaded, args, settings, watched)
}

/// The output pipeline the settings describe.
pub(crate) fn start_pipeline(
    settings: &Settings,
    args: &DetectArgs,
    log: Logger,
) -> anyhow::Result<Pipeline> {
    let options = OutputOptions {
        json_output: settings.json_output,
        json_include_output_property: settings.json_include_output_property,
        json_include_tags_property: settings.json_include_tags_property,
        json_include_message_property: settings.json_include_message_property,
        json_include_output_fields_property: settings.json_include_output_fields_property,
        time_format_iso_8601: settings.time_format_iso_8601,
        utc_offset: localtime::utc_offset_now(),
    };
    let mut channels =
        PipelineConfig::from_settings(settings, options, Arc::new(move |line: &str| log.log(line)));
    channels.buffered = settings.buffered_outputs && !args.unbuffered;
    Ok(Pipeline::start(channels)?)
}

/// The typed settings; a value that does not fit names its key and where it was written.
pub(crate) fn settings_of(config: &Config) -> anyhow::Result<Settings> {
    config.settings().map_err(|err| match &err {
        lanner_config::ConfigError::BadValue { key, .. } => match config.origin(key) {
            Some(origin) => anyhow::anyhow!("{origin}: {err}"),
            None => err.into(),
        },
        _ => err.into(),
    })
}

/// The files read, each with its schema check (as Falco logs them), then every key that does
/// not fit the schema: a warning naming the key and where it was written.
pub(crate) fn log_config(config: &Config, log: Logger) {
    let warnings = config.check();
    if !config.files().is_empty() {
        log.log("lanner initialized with configuration files:");
    }
    for file in config.files() {
        let name = file.display().to_string();
        let n = warnings
            .iter()
            .filter(|w| {
                matches!(&w.origin, Some(lanner_config::Origin::File { file, .. }) if **file == *name)
            })
            .count();
        let status = if n == 0 { "ok".to_owned() } else { format!("{n} warnings") };
        log.log(&format!("   {name} | schema validation: {status}"));
    }
    for warning in &warnings {
        log.log(&format!("Warning: config: {warning}"));
    }
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

/// A run of the rules over events: of a capture ([`Replay::run`]), live
/// ([`crate::live::run`]), or of plugin sources alone ([`Replay::wait_for_plugin_sources`]).
/// Alerts leave through the detector's output pipeline; the daemon part publishes stats,
/// serves the web server, and swaps in reloaded rules. Plugin sources run on threads of
/// their own ([`crate::plugins::PluginRun`]); parse and async plugins join the syscall
/// stream here.
pub(crate) struct Replay {
    pub(crate) detector: Detector,
    pub(crate) daemon: Daemon,
    pub(crate) log: Logger,
    pub(crate) deadline: Option<std::time::Instant>,
    pub(crate) plugins: crate::plugins::PluginRun,
    /// `-w`: the capture the events are recorded to.
    pub(crate) recorder: Option<crate::record::Recorder>,
    /// The syscall source runs (a replay of a capture with the syscall source disabled
    /// runs only the plugin sources' rules on its plugin events).
    pub(crate) syscalls: bool,
}

impl Replay {
    fn run(mut self, capture: &Path) -> anyhow::Result<ExitCode> {
        let mut keep = self.relevant_types();
        // Plugin events always: those of a plugin that is not loaded are an error.
        keep.insert(lanner_plugins::PLUGIN_EVENT);
        let keep_list =
            (0..lanner_event::table::EVENT_MAX as u16).map(|c| keep.contains(c)).collect();
        let mut reader = ThreadedReader::open(capture, Some(keep_list))
            .with_context(|| format!("cannot read capture `{}`", capture.display()))?;
        let mut state = State::from_tables(reader.tables());
        let mut first_ts = None;
        let mut checked = 0u32;
        let mut source = SourceCounters::syscall(self.syscalls);
        while reader.advance()? {
            let num = reader.number();
            let Some(record) = reader.record() else { break };
            if let Some(tables) = record.new_tables {
                state.load_tables(tables);
            }
            let ev = record.event;
            if ev.event_type() == lanner_plugins::PLUGIN_EVENT {
                self.plugins.on_capture_event(&ev, num, record.offset)?;
                continue;
            }
            if !self.syscalls {
                continue;
            }
            source.events += 1;
            let first = *first_ts.get_or_insert(reader.first_ts().unwrap_or(ev.ts()));
            self.on_event(num, record.cpu, &ev, &mut state, first)?;
            checked = checked.wrapping_add(1);
            if checked.is_multiple_of(4096) {
                if self.daemon.tick(&mut self.detector, &state, &source, &self.plugins) {
                    let now = self.relevant_types();
                    if (0..lanner_event::table::EVENT_MAX as u16)
                        .any(|c| now.contains(c) && !keep.contains(c))
                    {
                        self.log.log(
                            "Reload: the new rules need event types this replay does not read \
                             (it reads those the rules at start needed); they see the others.",
                        );
                    }
                }
                if crate::daemon::stop_requested()
                    || self.deadline.is_some_and(|d| std::time::Instant::now() >= d)
                {
                    break;
                }
            }
        }
        self.plugins.stop_async()?;
        self.async_events(&mut state, reader.number(), first_ts.unwrap_or(0))?;
        if self.syscalls {
            self.log.log(&format!("Events in source 'syscall': {}", source.events));
            source.running = false;
            source.reason = "the capture has been read".to_owned();
        }
        self.daemon.publish(&self.detector, &state, &source, &self.plugins);
        self.end(false)
    }

    /// One syscall event (live or replayed): the state takes it in, parse plugins see it,
    /// the rules run on it, then on the async events the plugins queued meanwhile.
    #[inline]
    pub(crate) fn on_event(
        &mut self,
        num: u64,
        cpu: u16,
        ev: &lanner_event::RawEvent<'_>,
        state: &mut State,
        first_ts: u64,
    ) -> anyhow::Result<()> {
        state.process(ev);
        self.plugins.parse(ev, num)?;
        self.detector.on_event(num, cpu, ev, state, first_ts);
        if self.plugins.has_async() {
            self.async_events(state, num, first_ts)?;
        }
        Ok(())
    }

    /// Runs the state, the parse plugins and the rules on the async events the plugins
    /// queued, in the syscall stream.
    fn async_events(&mut self, state: &mut State, num: u64, first_ts: u64) -> anyhow::Result<()> {
        for bytes in self.plugins.take_async_events(self.log) {
            let ev = lanner_event::RawEvent::new(&bytes)
                .map_err(|e| anyhow::anyhow!("malformed async event: {e}"))?;
            state.process(&ev);
            self.plugins.parse(&ev, num)?;
            self.detector.on_event(num, 0, &ev, state, first_ts);
        }
        Ok(())
    }

    /// No syscall events: the plugin sources run to their ends (or until stopped, or the
    /// deadline) while the daemon publishes their stats and reloads. `idle`: there is no
    /// plugin source either (`nodriver` alone), and the run lasts until stopped.
    fn wait_for_plugin_sources(mut self, idle: bool) -> anyhow::Result<ExitCode> {
        let state = State::default();
        let source = SourceCounters::syscall(idle);
        if idle {
            self.log.log("Opening 'syscall' source with no driver (nodriver): no events");
        }
        let mut stop = false;
        while idle || self.plugins.running() {
            if crate::daemon::stop_requested()
                || self.deadline.is_some_and(|d| std::time::Instant::now() >= d)
            {
                stop = true;
                break;
            }
            self.daemon.tick(&mut self.detector, &state, &source, &self.plugins);
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        self.daemon.publish(&self.detector, &state, &source, &self.plugins);
        self.end(stop)
    }

    /// The event types the reader must hand over: those of the detection, and those the
    /// parse plugins want.
    pub(crate) fn relevant_types(&self) -> TypeSet {
        if !self.syscalls {
            return TypeSet::none();
        }
        let mut types = self.detector.detection().relevant_types();
        self.plugins.add_parse_types(&mut types);
        types
    }

    /// Stops (`stop_plugins`: a live run, an interrupt) or waits for the plugin sources,
    /// flushes the outputs, then prints Falco's summary.
    pub(crate) fn end(self, stop_plugins: bool) -> anyhow::Result<ExitCode> {
        let plugin_rules = self.plugins.finish(stop_plugins, self.log);
        let mut rules = self.detector.rule_stats();
        let mut failure = match plugin_rules {
            Ok(plugin_rules) => {
                merge_rule_stats(&mut rules, &plugin_rules);
                None
            }
            Err(err) => Some(err),
        };
        // Every source has stopped writing: the recording can end.
        if let Some(recorder) = &self.recorder {
            match recorder.finish() {
                Ok(events) => self
                    .log
                    .log(&format!("Recorded {events} events to {}", recorder.path().display())),
                Err(err) => {
                    failure.get_or_insert(err);
                }
            }
        }
        finish(self.detector.into_pipeline(), self.log);
        self.daemon.stop();
        print_summary(&rules)?;
        match failure {
            Some(err) => Err(err),
            None => Ok(ExitCode::SUCCESS),
        }
    }
}

/// Adds the matches of `other` (another source's detector) to `rules`, by rule name.
pub(crate) fn merge_rule_stats(
    rules: &mut Vec<lanner_web::RuleStats>,
    other: &[lanner_web::RuleStats],
) {
    for o in other {
        match rules.iter_mut().find(|r| r.name == o.name) {
            Some(r) => r.matches += o.matches,
            None => rules.push(o.clone()),
        }
    }
}

/// What the event loop knows of its event source, for the stats.
#[derive(Clone, Debug, Default)]
pub(crate) struct SourceCounters {
    /// Events taken.
    pub(crate) events: u64,
    /// Events that did not decode.
    pub(crate) undecodable: u64,
    /// The probe's per-CPU counters (live).
    pub(crate) cpus: Vec<lanner_web::CpuStats>,
    /// The source runs.
    pub(crate) running: bool,
    /// Why not.
    pub(crate) reason: String,
    /// The syscall source is not part of this run (plugin sources only).
    pub(crate) disabled: bool,
}

impl SourceCounters {
    /// The syscall source's counters at the start: running, or disabled and saying so.
    pub(crate) fn syscall(enabled: bool) -> SourceCounters {
        SourceCounters {
            running: enabled,
            disabled: !enabled,
            reason: if enabled {
                String::new()
            } else {
                "the syscall source is disabled".to_owned()
            },
            ..SourceCounters::default()
        }
    }
}

/// The detection that runs and where its alerts go, as every source's detector sees it: a
/// reload publishes the new pair here, and the plugin sources' detectors take it up before
/// their next batch.
pub(crate) struct Current {
    generation: AtomicU64,
    now: Mutex<(Arc<Detection>, Option<lanner_channels::AlertSender>)>,
}

impl Current {
    fn get(&self) -> (u64, Arc<Detection>, Option<lanner_channels::AlertSender>) {
        let now = self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        (self.generation.load(Ordering::Acquire), now.0.clone(), now.1.clone())
    }

    fn set(&self, detection: Arc<Detection>, sender: Option<lanner_channels::AlertSender>) {
        let mut now = self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *now = (detection, sender);
        self.generation.fetch_add(1, Ordering::Release);
    }
}

/// The rules of one event source applied to its events after the state took them in:
/// evaluation, the counts by rule, and the alerts handed to the output pipeline. The
/// syscall source's detector owns the pipeline; a plugin source's detector (on its thread)
/// only sends to it. A reload swaps in a new [`Detection`] (and, when the output settings
/// changed, a new pipeline) between two events.
pub(crate) struct Detector {
    detection: Arc<Detection>,
    /// The event source this detector runs the rules of.
    source_name: String,
    /// That source, when an enabled rule has it.
    source: Option<lanner_engine::SourceId>,
    scratch: EngineScratch,
    alert_scratch: AlertScratch,
    hostname: Arc<str>,
    render: RenderOptions,
    /// The syscall detector's: the output pipeline.
    pipeline: Option<Pipeline>,
    /// No channel, no alert to build.
    sender: Option<lanner_channels::AlertSender>,
    /// Matches by rule index: a plain vector, summed on the hot path without allocation.
    counts: Vec<u64>,
    /// Matches of rules of earlier detections (before reloads), by name.
    retired: Vec<lanner_web::RuleStats>,
    current: Arc<Current>,
    generation: u64,
}

impl Detector {
    /// The syscall source's detector, owning the output pipeline.
    pub(crate) fn new(detection: Arc<Detection>, pipeline: Pipeline) -> Detector {
        let sender = pipeline.has_channels().then(|| pipeline.sender());
        let current = Arc::new(Current {
            generation: AtomicU64::new(0),
            now: Mutex::new((detection.clone(), sender.clone())),
        });
        let mut detector = Detector::on(detection, sender, lanner_engine::SYSCALL_SOURCE, current);
        detector.pipeline = Some(pipeline);
        detector
    }

    /// The detector of a plugin source, following the detection in `current`.
    pub(crate) fn for_source(current: &Arc<Current>, source: &str) -> Detector {
        let (generation, detection, sender) = current.get();
        let mut detector = Detector::on(detection, sender, source, current.clone());
        detector.generation = generation;
        detector
    }

    fn on(
        detection: Arc<Detection>,
        sender: Option<lanner_channels::AlertSender>,
        source_name: &str,
        current: Arc<Current>,
    ) -> Detector {
        let engine = &detection.engine;
        Detector {
            source: engine.source(source_name),
            source_name: source_name.to_owned(),
            scratch: EngineScratch::for_engine(engine),
            alert_scratch: AlertScratch::default(),
            hostname: Arc::from(hostname()),
            render: RenderOptions { buffer_format: BufferFormat::Dots, max_buffer_len: Some(80) },
            sender,
            pipeline: None,
            counts: vec![0; detection.outputs.len()],
            retired: Vec::new(),
            current,
            generation: 0,
            detection,
        }
    }

    /// What runs.
    pub(crate) fn detection(&self) -> &Arc<Detection> {
        &self.detection
    }

    /// What every source's detector follows.
    pub(crate) fn current(&self) -> &Arc<Current> {
        &self.current
    }

    /// The output pipeline (the syscall source's detector has it).
    pub(crate) fn pipeline(&self) -> Option<&Pipeline> {
        self.pipeline.as_ref()
    }

    /// The host name alerts carry.
    pub(crate) fn hostname(&self) -> &Arc<str> {
        &self.hostname
    }

    /// Runs the rules on event `num` (which `state` has just processed).
    #[inline]
    pub(crate) fn on_event(
        &mut self,
        num: u64,
        cpu: u16,
        ev: &lanner_event::RawEvent<'_>,
        state: &State,
        first_ts: u64,
    ) {
        let Some(source) = self.source else { return };
        let detection = &*self.detection;
        let mut ctx = EventContext::new(num, cpu, ev, state, first_ts, 0, self.render);
        ctx.fold_enter = detection.engine.folds_enter();
        ctx.source = &self.source_name;
        for &id in detection.engine.evaluate(source, &ctx, &mut self.scratch) {
            let i = id.0 as usize;
            self.counts[i] += 1;
            if let Some(sender) = &self.sender {
                let alert =
                    detection.outputs[i].alert(&ctx, &self.hostname, &mut self.alert_scratch);
                sender.send(alert);
            }
        }
    }

    /// A plugin source's detector: takes up a reloaded detection, if there is one.
    pub(crate) fn follow(&mut self) {
        if self.current.generation.load(Ordering::Acquire) == self.generation {
            return;
        }
        let (generation, detection, sender) = self.current.get();
        self.adopt(detection);
        self.sender = sender;
        self.generation = generation;
    }

    fn adopt(&mut self, detection: Arc<Detection>) {
        self.retired = self.rule_stats();
        let engine = &detection.engine;
        self.source = engine.source(&self.source_name);
        self.scratch = EngineScratch::for_engine(engine);
        self.counts = vec![0; detection.outputs.len()];
        self.detection = detection;
    }

    /// Runs `detection` from the next event on (and tells the plugin sources' detectors);
    /// with a pipeline, alerts go there from now and the old pipeline is returned (to be
    /// flushed). Counts of the old rules are kept by name.
    pub(crate) fn replace(
        &mut self,
        detection: Arc<Detection>,
        pipeline: Option<Pipeline>,
    ) -> Option<Pipeline> {
        self.adopt(detection.clone());
        let old = pipeline.and_then(|new| {
            self.sender = new.has_channels().then(|| new.sender());
            self.pipeline.replace(new)
        });
        self.current.set(detection, self.sender.clone());
        self.generation = self.current.generation.load(Ordering::Acquire);
        old
    }

    /// Matches by rule: the rules that run, in their order, then rules of earlier detections
    /// that are gone; a rule kept across a reload keeps its count.
    pub(crate) fn rule_stats(&self) -> Vec<lanner_web::RuleStats> {
        let mut out: Vec<lanner_web::RuleStats> = self
            .detection
            .outputs
            .iter()
            .zip(&self.counts)
            .map(|(o, &n)| {
                let rule = o.rule();
                lanner_web::RuleStats {
                    name: rule.name.clone(),
                    priority: rule.priority as u8,
                    source: rule.source.clone(),
                    tags: rule.tags.clone(),
                    matches: n,
                }
            })
            .collect();
        merge_rule_stats(&mut out, &self.retired);
        out
    }

    /// The pipeline, for the final flush (the sender is released).
    pub(crate) fn into_pipeline(self) -> Option<Pipeline> {
        self.pipeline
    }
}

/// Delivers what the channels still hold, then stops them; what could not be delivered in
/// time, and what was dropped, is logged.
pub(crate) fn finish(pipeline: Option<Pipeline>, log: Logger) {
    let Some(pipeline) = pipeline else { return };
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
pub(crate) fn print_summary(rules: &[lanner_web::RuleStats]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let matched: Vec<&lanner_web::RuleStats> = rules.iter().filter(|r| r.matches > 0).collect();
    let total: u64 = matched.iter().map(|r| r.matches).sum();
    writeln!(out, "Events detected: {total}")?;
    writeln!(out, "Rule counts by severity:")?;
    let mut by_priority: BTreeMap<u8, u64> = BTreeMap::new();
    for r in &matched {
        *by_priority.entry(r.priority).or_default() += r.matches;
    }
    for (p, n) in by_priority {
        let name = Priority::ALL[usize::from(p)].short().to_ascii_uppercase();
        writeln!(out, "   {name}: {n}")?;
    }
    writeln!(out, "Triggered rules by rule name:")?;
    for r in matched {
        writeln!(out, "   {}: {}", r.name, r.matches)?;
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

/// The `--attach` choice: a mode, or `None` for automatic.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Attach(pub(crate) Option<lanner_capture::AttachMode>);

fn parse_attach(s: &str) -> Result<Attach, String> {
    if s == "auto" {
        return Ok(Attach(None));
    }
    lanner_capture::AttachMode::from_name(s)
        .map(|m| Attach(Some(m)))
        .ok_or_else(|| format!("unknown attachment `{s}` (auto, fexit, tracepoints, tp_btf)"))
}
