//! What makes the detector a daemon: stats published for the web server and the `metrics`
//! block, reloads (SIGHUP, `watch_config_files`), and SIGUSR1 to reopen file outputs.
//!
//! The event loop calls [`Daemon::tick`] between events, every few thousand events and
//! whenever it is idle; a tick does nothing until 250 ms have passed since the last one. Then
//! it publishes a [`Stats`] snapshot (the counts the loop summed locally), writes a metrics
//! snapshot when one is due, reopens file outputs after SIGUSR1, and swaps in a reloaded
//! [`Detection`] when the reloader has one.
//!
//! **Reloads** are built on a thread of their own, so the event loop never waits for a rules
//! file to load: SIGHUP, or a change to a watched file (the configuration files, the rules
//! files and directories; checked every 250 ms by modification time, size and inode, so
//! editors that replace files are seen), makes the reloader read the configuration and the
//! rules again, completely. When anything is wrong the error is logged with its file:line:col
//! and the running detection stays; otherwise the loop swaps it in between two events: the
//! event source keeps running (no event is lost), the state is kept, and only the engine and,
//! when the output settings changed, the output pipeline are replaced (the old pipeline is
//! flushed in the background). What a reload cannot change is logged as needing a restart:
//! the event source (`engine`, `base_syscalls`, and in live mode syscalls that new rules need
//! and the probe does not capture), `static_fields`, the `webserver` block.

use std::fs::File;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use lanner_channels::{Pipeline, Snapshot};
use lanner_config::{EngineKind, Settings};
use lanner_outputs::{Alert, AlertRule, Priority};
use lanner_rules::LoadOptions;
use lanner_state::State;
use lanner_web::{
    MetricsOptions, Readiness, Resources, ServerConfig, SourceStats, StateStats, Stats, StatsHub,
    Versions, WebServer, metrics,
};

use crate::detect::{DetectArgs, Detection, Detector, SourceCounters};
use crate::log::Logger;
use crate::plugins::PluginRun;

/// How often the loop publishes stats and looks for work.
const TICK: Duration = Duration::from_millis(250);
/// How often the reloader looks at the watched files and for SIGHUP.
const WATCH: Duration = Duration::from_millis(250);

/// The rule name of Falco's periodic metrics alerts.
const METRICS_RULE: &str = "Falco internal: metrics snapshot";

static RELOAD: AtomicBool = AtomicBool::new(false);
static REOPEN: AtomicBool = AtomicBool::new(false);
static STOP: AtomicBool = AtomicBool::new(false);

/// Whether SIGINT or SIGTERM asked the run to stop (cleanly: outputs flushed, summary
/// printed).
pub(crate) fn stop_requested() -> bool {
    STOP.load(Ordering::Relaxed)
}

extern "C" fn on_stop(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

extern "C" fn on_hup(_: libc::c_int) {
    RELOAD.store(true, Ordering::Relaxed);
}

extern "C" fn on_usr1(_: libc::c_int) {
    REOPEN.store(true, Ordering::Relaxed);
}

fn install_signal_handlers() {
    let handlers: [(libc::c_int, extern "C" fn(libc::c_int)); 4] = [
        (libc::SIGHUP, on_hup),
        (libc::SIGUSR1, on_usr1),
        (libc::SIGINT, on_stop),
        (libc::SIGTERM, on_stop),
    ];
    for (sig, handler) in handlers {
        // SAFETY: the handlers only store to atomics, which is async-signal-safe.
        unsafe {
            libc::signal(sig, handler as *const () as libc::sighandler_t);
        }
    }
}

/// The daemon's side of a run.
pub(crate) struct Daemon {
    hub: StatsHub,
    web: Option<WebServer>,
    log: Logger,
    args: DetectArgs,
    /// The parts of the stats that do not change.
    base: Stats,
    next_tick: Instant,
    metrics: Option<MetricsTimer>,
    metrics_options: MetricsOptions,
    reloads: mpsc::Receiver<anyhow::Result<Detection>>,
    reloader: Option<std::thread::JoinHandle<()>>,
    /// Dropped to stop the reloader at once.
    stop_reloader: mpsc::Sender<()>,
    reloaded: u64,
    reload_failures: u64,
    last_outputs: Snapshot,
}

impl Daemon {
    /// Starts the web server (live and nodriver runs, as Falco) and the reloader.
    pub(crate) fn start(
        args: &DetectArgs,
        detection: &Detection,
        options: &Arc<LoadOptions>,
        log: Logger,
        live: bool,
    ) -> Daemon {
        install_signal_handlers();
        let settings = &detection.settings;
        let base = base_stats(settings, live);
        let hub = StatsHub::new(base.clone());
        let metrics_options = metrics_options(settings);
        // Falco serves outside capture mode: live, and nodriver (plugin sources).
        let serve = live || settings.engine_kind == EngineKind::Nodriver;
        let web = (serve && settings.webserver.enabled)
            .then(|| start_web(settings, metrics_options, &hub, log))
            .flatten();
        let (tx, rx) = mpsc::channel();
        let (stop_reloader, stop) = mpsc::channel();
        let reloader = {
            let args = args.clone();
            let options = options.clone();
            let watch = settings.watch_config_files.then(|| detection.watched.clone());
            std::thread::Builder::new()
                .name("lanner-reload".into())
                .spawn(move || reloader(&args, &options, log, watch, &tx, &stop))
                .ok()
        };
        Daemon {
            hub,
            web,
            log,
            args: args.clone(),
            base,
            next_tick: Instant::now(),
            metrics: MetricsTimer::new(settings, log),
            metrics_options,
            reloads: rx,
            reloader,
            stop_reloader,
            reloaded: 0,
            reload_failures: 0,
            last_outputs: Snapshot::default(),
        }
    }

    /// Whether the next [`Daemon::tick`] does something (the loop then refreshes what is
    /// costly to read, such as the probe's counters).
    pub(crate) fn due(&self) -> bool {
        Instant::now() >= self.next_tick
    }

    /// Between two events: publishes, reloads, reopens, when due. Returns whether a new
    /// detection was swapped in.
    pub(crate) fn tick(
        &mut self,
        detector: &mut Detector,
        state: &State,
        source: &SourceCounters,
        plugins: &PluginRun,
    ) -> bool {
        let now = Instant::now();
        if now < self.next_tick {
            return false;
        }
        self.next_tick = now + TICK;
        if REOPEN.swap(false, Ordering::Relaxed) {
            self.log.log("SIGUSR1 received: reopening the file outputs.");
            if let Some(pipeline) = detector.pipeline() {
                pipeline.reopen();
            }
        }
        let mut swapped = false;
        while let Ok(result) = self.reloads.try_recv() {
            match result {
                Ok(detection) => swapped |= self.swap(detector, detection),
                Err(err) => {
                    self.reload_failures += 1;
                    self.log.log(&format!(
                        "Reload failed; the running configuration and rules stay: {err:#}"
                    ));
                }
            }
        }
        self.publish(detector, state, source, plugins);
        if let Some(timer) = &mut self.metrics
            && now >= timer.next
        {
            timer.next = now + timer.interval;
            timer.emit(&self.hub.get(), detector, self.metrics_options);
        }
        swapped
    }

    fn swap(&mut self, detector: &mut Detector, detection: Detection) -> bool {
        let old = &detector.detection().settings;
        let new = &detection.settings;
        let pipeline = if outputs_part(old) == outputs_part(new) {
            None
        } else {
            match crate::detect::start_pipeline(new, &self.args, self.log) {
                Ok(p) => Some(p),
                Err(err) => {
                    self.reload_failures += 1;
                    self.log.log(&format!(
                        "Reload failed: cannot start the new outputs ({err:#}); the running \
                         configuration and rules stay."
                    ));
                    return false;
                }
            }
        };
        for (what, changed) in [
            (
                "engine",
                old.engine_kind != new.engine_kind
                    || old.replay_capture_file != new.replay_capture_file
                    || old.ring_buffer_bytes != new.ring_buffer_bytes
                    || old.cpus_for_each_buffer != new.cpus_for_each_buffer,
            ),
            (
                "base_syscalls",
                old.base_syscalls_all != new.base_syscalls_all
                    || old.base_syscalls_custom_set != new.base_syscalls_custom_set
                    || old.base_syscalls_repair != new.base_syscalls_repair,
            ),
            ("static_fields", old.static_fields != new.static_fields),
            ("webserver", old.webserver != new.webserver),
        ] {
            if changed {
                self.log
                    .log(&format!("Reload: changes to `{what}` take effect when lanner restarts."));
            }
        }
        if old.metrics != new.metrics {
            self.metrics = MetricsTimer::new(new, self.log);
            self.metrics_options = metrics_options(new);
        }
        let rules = detection.outputs.len();
        let enabled = (0..rules)
            .filter(|&i| detection.engine.is_enabled(lanner_engine::RuleId(i as u32)))
            .count();
        let new_outputs = pipeline.is_some();
        if let Some(old_pipeline) = detector.replace(Arc::new(detection), pipeline) {
            let log = self.log;
            std::thread::spawn(move || crate::detect::finish(Some(old_pipeline), log));
        }
        self.reloaded += 1;
        self.log.log(&format!(
            "Reloaded: {rules} rules ({enabled} enabled){}.",
            if new_outputs { ", new outputs" } else { "" }
        ));
        true
    }

    /// Publishes the current stats.
    pub(crate) fn publish(
        &mut self,
        detector: &Detector,
        state: &State,
        source: &SourceCounters,
        plugins: &PluginRun,
    ) {
        let outputs = detector.pipeline().map(Pipeline::snapshot).unwrap_or_default();
        let readiness = readiness(source, plugins.running(), &outputs, &self.last_outputs);
        let st = state.stats();
        let (mut sources, plugin_rules) = plugins.stats();
        if !source.disabled {
            sources.insert(0, SourceStats { name: "syscall".into(), events: source.events });
        }
        let mut rules = detector.rule_stats();
        crate::detect::merge_rule_stats(&mut rules, &plugin_rules);
        let threads = state.threads();
        let stats = Stats {
            time: now_ns(),
            sources,
            cpus: source.cpus.clone(),
            undecodable: source.undecodable,
            rules,
            state: StateStats {
                threads: threads.len() as u64,
                fds: threads.iter().map(|t| t.fds.len() as u64).sum(),
                containers: state.containers().len() as u64,
                added_threads: st.threads_created + st.threads_synthesized,
                removed_threads: st.threads_removed + st.threads_purged,
                purged_threads: st.threads_purged,
            },
            outputs: outputs.clone(),
            readiness,
            reloads: self.reloaded,
            reload_failures: self.reload_failures,
            plugin_metrics: if self.metrics_options.plugins_metrics {
                plugins.metrics()
            } else {
                Vec::new()
            },
            ..self.base.clone()
        };
        self.last_outputs = outputs;
        self.hub.publish(stats);
    }

    /// Stops the web server and the reloader.
    pub(crate) fn stop(self) {
        drop(self.stop_reloader);
        if let Some(web) = self.web {
            web.stop();
        }
        if let Some(thread) = self.reloader {
            let _ = thread.join();
        }
    }
}

/// The settings that shape the output pipeline: when they are the same after a reload, the
/// pipeline (and whatever it holds) stays.
fn outputs_part(s: &Settings) -> impl PartialEq + use<> {
    (
        (
            s.json_output,
            s.json_include_output_property,
            s.json_include_message_property,
            s.json_include_output_fields_property,
            s.json_include_tags_property,
            s.time_format_iso_8601,
            s.buffered_outputs,
            s.stdout_output,
            s.output_timeout_ms,
        ),
        s.outputs_queue,
        s.outputs,
        s.file_output.clone(),
        s.syslog_output.clone(),
        s.program_output.clone(),
        s.http_output.clone(),
    )
}

/// Ready: the source runs and the outputs deliver.
/// The run is ready when an event source runs: the syscall source, or a plugin source
/// (`plugins_running`).
fn readiness(
    source: &SourceCounters,
    plugins_running: bool,
    now: &Snapshot,
    before: &Snapshot,
) -> Readiness {
    let mut reasons = Vec::new();
    let running = source.running || plugins_running;
    if !running {
        reasons.push(if source.reason.is_empty() {
            "the event source is not running".to_owned()
        } else {
            source.reason.clone()
        });
    }
    let mut outputs_ok = true;
    if now.queue_capacity > 0 && now.queue_depth >= now.queue_capacity as u64 {
        outputs_ok = false;
        reasons.push("the alert queue is full".to_owned());
    }
    for c in &now.channels {
        // Failing: attempts failed since the last snapshot and none succeeded.
        let prev = before.channel(c.name);
        let failed = prev.is_none_or(|p| c.failed > p.failed);
        let delivered = prev.is_some_and(|p| c.delivered > p.delivered);
        if c.failed > 0 && failed && !delivered {
            outputs_ok = false;
            reasons.push(format!("output `{}` is failing", c.name));
        }
    }
    Readiness { source_running: running, outputs_ok, reason: reasons.join("; ") }
}

fn metrics_options(settings: &Settings) -> MetricsOptions {
    let m = &settings.metrics;
    MetricsOptions {
        rules_counters: m.rules_counters_enabled,
        resource_utilization: m.resource_utilization_enabled,
        state_counters: m.state_counters_enabled,
        kernel_event_counters: m.kernel_event_counters_enabled,
        kernel_event_counters_per_cpu: m.kernel_event_counters_per_cpu_enabled,
        convert_memory_to_mb: m.convert_memory_to_mb,
        include_empty_values: m.include_empty_values,
        plugins_metrics: m.plugins_metrics_enabled,
    }
}

pub(crate) fn versions() -> Versions {
    Versions {
        lanner_version: env!("CARGO_PKG_VERSION").to_owned(),
        engine_version: lanner_rules::ENGINE_VERSION.to_string(),
        libs_version: crate::LIBS_VERSION.to_owned(),
        plugin_api_version: crate::PLUGIN_API_VERSION.to_owned(),
        driver_api_version: crate::DRIVER_API_VERSION.to_owned(),
        driver_schema_version: crate::DRIVER_SCHEMA_VERSION.to_owned(),
    }
}

fn start_web(
    settings: &Settings,
    metrics: MetricsOptions,
    hub: &StatsHub,
    log: Logger,
) -> Option<WebServer> {
    let w = &settings.webserver;
    let config = ServerConfig {
        listen_address: w.listen_address.clone(),
        listen_port: w.listen_port,
        healthz_endpoint: w.k8s_healthz_endpoint.clone(),
        readiness_endpoint: w.readiness_endpoint.clone(),
        prometheus_metrics: w.prometheus_metrics_enabled,
        tls_certificate: w.ssl_enabled.then(|| PathBuf::from(&w.ssl_certificate)),
        metrics,
        versions: versions(),
    };
    match WebServer::start(config, hub.clone()) {
        Ok(server) => {
            log.log(&format!(
                "Starting the web server on {}://{} ({}{}/versions{})",
                if server.is_tls() { "https" } else { "http" },
                server.local_addr(),
                w.k8s_healthz_endpoint,
                format_args!(", {}, ", w.readiness_endpoint),
                if w.prometheus_metrics_enabled { ", /metrics" } else { "" }
            ));
            Some(server)
        }
        // Detection matters more than its telemetry: lanner runs on without it.
        Err(err) => {
            log.log(&format!("Error: {err:#}; lanner runs without its web server."));
            None
        }
    }
}

/// The `metrics` block's timer and sinks.
struct MetricsTimer {
    interval: Duration,
    next: Instant,
    output_rule: bool,
    file: Option<File>,
    previous: Option<Arc<Stats>>,
    sample: u64,
}

impl MetricsTimer {
    fn new(settings: &Settings, log: Logger) -> Option<MetricsTimer> {
        let m = &settings.metrics;
        if !m.enabled {
            return None;
        }
        let file = if m.output_file.is_empty() {
            None
        } else {
            match std::fs::OpenOptions::new().create(true).append(true).open(&m.output_file) {
                Ok(f) => Some(f),
                Err(err) => {
                    log.log(&format!(
                        "Error: cannot open metrics.output_file `{}`: {err}",
                        m.output_file
                    ));
                    None
                }
            }
        };
        if !m.output_rule && file.is_none() {
            return None;
        }
        let interval = Duration::from_millis(m.interval_ms);
        Some(MetricsTimer {
            interval,
            next: Instant::now() + interval,
            output_rule: m.output_rule,
            file,
            previous: None,
            sample: 0,
        })
    }

    fn emit(&mut self, stats: &Arc<Stats>, detector: &Detector, options: MetricsOptions) {
        let resources =
            if options.resource_utilization { Resources::sample() } else { Resources::default() };
        let fields = metrics::snapshot_fields(
            stats,
            self.previous.as_deref(),
            &resources,
            &options,
            &versions(),
        );
        self.sample += 1;
        if let Some(file) = &mut self.file {
            let _ = writeln!(file, "{}", metrics::snapshot_json_line(&fields, self.sample));
        }
        let Some(pipeline) = detector.pipeline() else { return };
        if self.output_rule && pipeline.has_channels() {
            let rule = AlertRule::new(METRICS_RULE, Priority::Informational, "internal", []);
            let mut alert = Alert::internal(
                &rule,
                stats.time,
                detector.hostname(),
                "Falco metrics snapshot".to_owned(),
            );
            alert.output_fields = fields.into_iter().map(|(k, v)| (Arc::from(k), v)).collect();
            pipeline.sender().send(alert);
        }
        self.previous = Some(stats.clone());
    }
}

/// The reloader thread: waits for SIGHUP or a change to a watched file, then loads
/// everything again and hands the result to the event loop.
fn reloader(
    args: &DetectArgs,
    options: &LoadOptions,
    log: Logger,
    mut watch: Option<Vec<PathBuf>>,
    tx: &mpsc::Sender<anyhow::Result<Detection>>,
    stop: &mpsc::Receiver<()>,
) {
    // Waits `WATCH`; false when the daemon stops.
    let wait = || matches!(stop.recv_timeout(WATCH), Err(mpsc::RecvTimeoutError::Timeout));
    let mut seen = watch.as_deref().map(fingerprint);
    while wait() {
        let signal = RELOAD.swap(false, Ordering::Relaxed);
        let now = watch.as_deref().map(fingerprint);
        let changed = now.is_some() && now != seen;
        if !signal && !changed {
            continue;
        }
        // Let an editor finish writing.
        if changed && !wait() {
            return;
        }
        log.log(if signal {
            "SIGHUP received: reloading the configuration and the rules."
        } else {
            "A configuration or rules file changed: reloading."
        });
        let result = crate::detect::reload(args, options, log);
        if let Ok(detection) = &result {
            watch = detection.settings.watch_config_files.then(|| detection.watched.clone());
        }
        seen = watch.as_deref().map(fingerprint);
        if tx.send(result).is_err() {
            return;
        }
    }
}

/// A file's modification time, size and inode.
type FileStamp = (SystemTime, u64, u64);

/// What the watched files look like: modification time, size and inode of each file, and of
/// each YAML file of each directory.
fn fingerprint(paths: &[PathBuf]) -> Vec<(PathBuf, Option<FileStamp>)> {
    use std::os::unix::fs::MetadataExt as _;
    let stat = |p: &PathBuf| {
        std::fs::metadata(p)
            .ok()
            .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len(), m.ino()))
    };
    let mut out = Vec::new();
    for path in paths {
        out.push((path.clone(), stat(path)));
        if path.is_dir() {
            for file in lanner_config::yaml_files(path).unwrap_or_default() {
                let s = stat(&file);
                out.push((file, s));
            }
        }
    }
    out
}

/// The stats that stay the same during a run.
fn base_stats(settings: &Settings, live: bool) -> Stats {
    // What runs, in Falco's engine names: lanner's probe is CO-RE eBPF whichever of `kmod`
    // and `modern_ebpf` the configuration asks for.
    let engine_name = match (live, settings.engine_kind) {
        (true, _) => "modern_ebpf",
        (false, EngineKind::Nodriver) => "nodriver",
        (false, _) => "savefile",
    };
    Stats {
        start_ts: now_ns(),
        host_boot_ts: boot_ts(),
        // SAFETY: sysconf has no preconditions.
        num_cpus: u32::try_from(unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }).unwrap_or(0),
        kernel_release: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default(),
        hostname: crate::detect::hostname(),
        engine_name: engine_name.to_owned(),
        readiness: Readiness {
            source_running: false,
            outputs_ok: true,
            reason: "starting".to_owned(),
        },
        ..Stats::default()
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// The host's boot time (`btime` of /proc/stat), nanoseconds since the epoch.
fn boot_ts() -> u64 {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("btime ").and_then(|n| n.trim().parse().ok()))
        })
        .map_or(0, |s: u64| s * 1_000_000_000)
}
