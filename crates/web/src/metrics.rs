//! [`Stats`] in Falco's two metric forms: the Prometheus text of `/metrics`, and the fields of
//! the periodic "Falco internal: metrics snapshot" (the `metrics` block of falco.yaml).
//!
//! Names follow Falco (`falco_metrics.cpp`) and libs (`metrics_collector.cpp`) where lanner
//! has the quantity: the snapshot field `scap.n_evts` is the Prometheus counter
//! `falcosecurity_scap_n_evts_total` (a libs unit suffix such as `_kb`, `_perc`, `_total` is
//! dropped and the Prometheus unit appended; KiB become bytes, percentages ratios). Per-CPU
//! counters are `falcosecurity_scap_n_evts_cpu_total{cpu="N"}` (snapshot: `scap.n_evts_cpu_N`),
//! and rule matches `falcosecurity_falco_rules_matches_total{priority, rule_name, source,
//! tag_<tag>="true"}` (snapshot: `falco.rules.<rule>`). A plugin's own metrics (`get_metrics`,
//! with `plugins_metrics_enabled`) are `falcosecurity_plugins_<plugin>_<metric>_total`, a
//! counter when the plugin says it only grows and a gauge otherwise (snapshot:
//! `plugins.<plugin>.<metric>`). Quantities Falco does not have are
//! `falcosecurity_lanner_*`:
//!
//! | metric | type | what |
//! |---|---|---|
//! | `falcosecurity_lanner_version_info{version, engine_version}` | gauge | lanner's version (Falco's `falcosecurity_falco_version_info` would name a Falco release) |
//! | `falcosecurity_lanner_events_total{source}` | counter | events lanner took from each source |
//! | `falcosecurity_lanner_events_undecodable_total` | counter | events that did not decode |
//! | `falcosecurity_lanner_kernel_drops_total{reason}` | counter | probe drops by reason: `buffer_full`, `too_large`, `no_buffer` |
//! | `falcosecurity_lanner_outputs_queue_depth` | gauge | alerts waiting in the queue |
//! | `falcosecurity_lanner_outputs_queue_capacity` | gauge | `outputs_queue.capacity` (0: unbounded) |
//! | `falcosecurity_lanner_outputs_enqueued_total` | counter | alerts queued |
//! | `falcosecurity_lanner_outputs_throttled_total` | counter | alerts dropped by `outputs.rate` |
//! | `falcosecurity_lanner_outputs_suppressed_total` | counter | alerts summed up by the flood guard |
//! | `falcosecurity_lanner_output_delivered_total{output}` | counter | per channel: delivered |
//! | `falcosecurity_lanner_output_failures_total{output}` | counter | per channel: failed attempts |
//! | `falcosecurity_lanner_output_retries_total{output}` | counter | per channel: retries |
//! | `falcosecurity_lanner_output_dropped_total{output}` | counter | per channel: alerts given up |
//! | `falcosecurity_lanner_output_backlog{output}` | gauge | per channel: alerts waiting (memory and spool) |
//! | `falcosecurity_lanner_config_reloads_total{result}` | counter | reloads, `ok` or `failed` |
//! | `falcosecurity_lanner_ready` | gauge | 1 when `/readyz` answers 200 |

use std::fmt::Write as _;

use lanner_outputs::FieldValue;

use crate::resources::Resources;
use crate::stats::Stats;

/// Which groups of metrics to give, as falco.yaml's `metrics` block chooses them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricsOptions {
    /// `rules_counters_enabled`.
    pub rules_counters: bool,
    /// `resource_utilization_enabled`.
    pub resource_utilization: bool,
    /// `state_counters_enabled`.
    pub state_counters: bool,
    /// `kernel_event_counters_enabled`.
    pub kernel_event_counters: bool,
    /// `kernel_event_counters_per_cpu_enabled`.
    pub kernel_event_counters_per_cpu: bool,
    /// `convert_memory_to_mb` (snapshot only; Prometheus is always in bytes).
    pub convert_memory_to_mb: bool,
    /// `include_empty_values` (snapshot only).
    pub include_empty_values: bool,
    /// `plugins_metrics_enabled`.
    pub plugins_metrics: bool,
}

impl Default for MetricsOptions {
    /// Falco's defaults.
    fn default() -> MetricsOptions {
        MetricsOptions {
            rules_counters: true,
            resource_utilization: true,
            state_counters: true,
            kernel_event_counters: true,
            kernel_event_counters_per_cpu: false,
            convert_memory_to_mb: true,
            include_empty_values: false,
            plugins_metrics: true,
        }
    }
}

/// The Prometheus text (`text/plain; version=0.0.4`) of a snapshot.
pub fn prometheus(
    stats: &Stats,
    resources: &Resources,
    options: &MetricsOptions,
    versions: &Versions,
) -> String {
    let mut p = Prom::default();
    p.info("falcosecurity_scap_engine_name_info", &[("engine_name", &stats.engine_name)]);
    p.info(
        "falcosecurity_lanner_version_info",
        &[("version", &versions.lanner_version), ("engine_version", &versions.engine_version)],
    );
    p.info("falcosecurity_falco_kernel_release_info", &[("kernel_release", &stats.kernel_release)]);
    p.info("falcosecurity_evt_hostname_info", &[("hostname", &stats.hostname)]);
    for source in &stats.sources {
        p.info("falcosecurity_falco_evt_source_info", &[("evt_source", &source.name)]);
    }
    p.gauge("falcosecurity_falco_start_timestamp_nanoseconds", &[], stats.start_ts as f64);
    p.gauge("falcosecurity_falco_host_boot_timestamp_nanoseconds", &[], stats.host_boot_ts as f64);
    p.gauge("falcosecurity_falco_host_num_cpus_total", &[], f64::from(stats.num_cpus));
    p.counter("falcosecurity_falco_outputs_queue_num_drops_total", &[], stats.outputs.dropped);
    p.counter(
        "falcosecurity_falco_duration_seconds_total",
        &[],
        stats.time.saturating_sub(stats.start_ts) / 1_000_000_000,
    );
    for source in &stats.sources {
        p.counter("falcosecurity_lanner_events_total", &[("source", &source.name)], source.events);
    }
    p.counter("falcosecurity_lanner_events_undecodable_total", &[], stats.undecodable);
    if options.plugins_metrics {
        for m in &stats.plugin_metrics {
            let name = format!("falcosecurity_plugins_{}_total", sanitize(&m.name));
            let value = match m.value {
                FieldValue::Uint(v) => v.to_string(),
                FieldValue::Int(v) => v.to_string(),
                FieldValue::Double(v) => format_f64(v),
                _ => continue,
            };
            p.head(&name, if m.monotonic { "counter" } else { "gauge" });
            p.line(&name, &[], &value);
        }
    }
    if options.rules_counters {
        for rule in &stats.rules {
            let priority = rule.priority.to_string();
            let tags: Vec<(String, &str)> =
                rule.tags.iter().map(|t| (format!("tag_{}", sanitize(t)), "true")).collect();
            let mut labels: Vec<(&str, &str)> =
                vec![("priority", &priority), ("rule_name", &rule.name), ("source", &rule.source)];
            labels.extend(tags.iter().map(|(k, v)| (k.as_str(), *v)));
            p.counter("falcosecurity_falco_rules_matches_total", &labels, rule.matches);
        }
    }
    if options.resource_utilization {
        let r = resources;
        p.gauge("falcosecurity_falco_cpu_usage_ratio", &[], r.cpu_usage_perc / 100.0);
        p.gauge("falcosecurity_falco_memory_rss_bytes", &[], (r.memory_rss_kb * 1024) as f64);
        p.gauge("falcosecurity_falco_memory_vsz_bytes", &[], (r.memory_vsz_kb * 1024) as f64);
        p.gauge("falcosecurity_falco_memory_pss_bytes", &[], (r.memory_pss_kb * 1024) as f64);
        p.gauge(
            "falcosecurity_falco_container_memory_used_bytes",
            &[],
            r.container_memory_used_bytes as f64,
        );
        p.gauge("falcosecurity_falco_host_cpu_usage_ratio", &[], r.host_cpu_usage_perc / 100.0);
        p.gauge(
            "falcosecurity_falco_host_memory_used_bytes",
            &[],
            (r.host_memory_used_kb * 1024) as f64,
        );
        p.gauge("falcosecurity_falco_host_procs_running_total", &[], r.host_procs_running as f64);
        p.gauge("falcosecurity_falco_host_open_fds_total", &[], r.host_open_fds as f64);
    }
    if options.state_counters {
        let s = &stats.state;
        p.gauge("falcosecurity_scap_n_threads_total", &[], s.threads as f64);
        p.gauge("falcosecurity_scap_n_fds_total", &[], s.fds as f64);
        p.counter("falcosecurity_scap_n_added_threads_total", &[], s.added_threads);
        p.counter("falcosecurity_scap_n_removed_threads_total", &[], s.removed_threads);
        p.counter("falcosecurity_scap_n_drops_full_threadtable_total", &[], s.purged_threads);
        p.gauge("falcosecurity_scap_n_containers_total", &[], s.containers as f64);
    }
    if options.kernel_event_counters && !stats.cpus.is_empty() {
        let events: u64 = stats.cpus.iter().map(|c| c.events).sum();
        let full: u64 = stats.cpus.iter().map(|c| c.drops_buffer_full).sum();
        let large: u64 = stats.cpus.iter().map(|c| c.drops_too_large).sum();
        let none: u64 = stats.cpus.iter().map(|c| c.drops_no_buffer).sum();
        p.counter("falcosecurity_scap_n_evts_total", &[], events);
        p.counter("falcosecurity_scap_n_drops_buffer_total", &[], full);
        p.counter("falcosecurity_scap_n_drops_total", &[], full + large + none);
        for (reason, n) in [("buffer_full", full), ("too_large", large), ("no_buffer", none)] {
            p.counter("falcosecurity_lanner_kernel_drops_total", &[("reason", reason)], n);
        }
        if options.kernel_event_counters_per_cpu {
            for (i, c) in stats.cpus.iter().enumerate() {
                let cpu = i.to_string();
                p.counter("falcosecurity_scap_n_evts_cpu_total", &[("cpu", &cpu)], c.events);
                p.counter("falcosecurity_scap_n_drops_cpu_total", &[("cpu", &cpu)], c.drops());
            }
        }
    }
    let o = &stats.outputs;
    p.gauge("falcosecurity_lanner_outputs_queue_depth", &[], o.queue_depth as f64);
    p.gauge("falcosecurity_lanner_outputs_queue_capacity", &[], o.queue_capacity as f64);
    p.counter("falcosecurity_lanner_outputs_enqueued_total", &[], o.enqueued);
    p.counter("falcosecurity_lanner_outputs_throttled_total", &[], o.throttled);
    p.counter("falcosecurity_lanner_outputs_suppressed_total", &[], o.suppressed);
    for c in &o.channels {
        let l = [("output", c.name)];
        p.counter("falcosecurity_lanner_output_delivered_total", &l, c.delivered);
        p.counter("falcosecurity_lanner_output_failures_total", &l, c.failed);
        p.counter("falcosecurity_lanner_output_retries_total", &l, c.retries);
        p.counter("falcosecurity_lanner_output_dropped_total", &l, c.dropped);
        p.gauge("falcosecurity_lanner_output_backlog", &l, c.backlog as f64);
    }
    p.counter("falcosecurity_lanner_config_reloads_total", &[("result", "ok")], stats.reloads);
    p.counter(
        "falcosecurity_lanner_config_reloads_total",
        &[("result", "failed")],
        stats.reload_failures,
    );
    p.gauge("falcosecurity_lanner_ready", &[], f64::from(u8::from(stats.readiness.is_ready())));
    p.out
}

/// The versions `/versions` and the metrics name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Versions {
    /// lanner's version.
    pub lanner_version: String,
    /// The rules engine version lanner implements (Falco's `engine_version_semver`).
    pub engine_version: String,
    /// The libs release whose event table lanner follows.
    pub libs_version: String,
    /// The plugin API lanner hosts.
    pub plugin_api_version: String,
    /// The driver API version (lanner's probe writes libs' event schema).
    pub driver_api_version: String,
    /// The driver event schema version.
    pub driver_schema_version: String,
}

impl Versions {
    /// Falco's `/versions` JSON (`versions_info::as_json`): `falco_version` holds lanner's
    /// version, `engine_version` the engine's minor number as Falco gives it, and
    /// `lanner_version` is added.
    pub fn to_json(&self) -> String {
        let minor = self.engine_version.split('.').nth(1).unwrap_or("0");
        serde_json::json!({
            "falco_version": self.lanner_version,
            "lanner_version": self.lanner_version,
            "libs_version": self.libs_version,
            "plugin_api_version": self.plugin_api_version,
            "driver_api_version": self.driver_api_version,
            "driver_schema_version": self.driver_schema_version,
            "default_driver_version": self.lanner_version,
            "engine_version": minor,
            "engine_version_semver": self.engine_version,
        })
        .to_string()
    }
}

/// Prometheus text, with `# HELP`/`# TYPE` once per metric name.
#[derive(Default)]
struct Prom {
    out: String,
    last: String,
}

impl Prom {
    fn head(&mut self, name: &str, kind: &str) {
        if self.last != name {
            let _ = writeln!(self.out, "# HELP {name} https://falco.org/docs/metrics/");
            let _ = writeln!(self.out, "# TYPE {name} {kind}");
            name.clone_into(&mut self.last);
        }
    }

    fn line(&mut self, name: &str, labels: &[(&str, &str)], value: &str) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape_label(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }

    fn info(&mut self, name: &str, labels: &[(&str, &str)]) {
        self.head(name, "gauge");
        self.line(name, labels, "1");
    }

    fn counter(&mut self, name: &str, labels: &[(&str, &str)], value: u64) {
        self.head(name, "counter");
        self.line(name, labels, &value.to_string());
    }

    fn gauge(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.head(name, "gauge");
        self.line(name, labels, &format_f64(value));
    }
}

fn format_f64(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v}") }
}

/// Label values escape `\`, `"` and line ends (the exposition format's rule).
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// A name part as Prometheus allows it, as Falco's `sanitize_metric_name` makes it: runs of
/// other characters become one `_`.
pub fn sanitize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out
}

/// The fields of one "Falco internal: metrics snapshot", sorted by name, given the previous
/// snapshot (for the `_prev` values and the rates).
pub fn snapshot_fields(
    stats: &Stats,
    previous: Option<&Stats>,
    resources: &Resources,
    options: &MetricsOptions,
    versions: &Versions,
) -> Vec<(String, FieldValue)> {
    let mut f: Vec<(String, FieldValue)> = Vec::new();
    let uint = |v: u64| FieldValue::Uint(v);
    let text = |v: &str| FieldValue::String(v.to_owned());
    f.push(("evt.source".into(), text("syscall")));
    f.push(("evt.time".into(), uint(stats.time)));
    f.push(("evt.hostname".into(), text(&stats.hostname)));
    f.push(("falco.version".into(), text(&versions.lanner_version)));
    f.push(("falco.start_ts".into(), uint(stats.start_ts)));
    f.push(("falco.host_boot_ts".into(), uint(stats.host_boot_ts)));
    f.push(("falco.host_num_cpus".into(), uint(u64::from(stats.num_cpus))));
    f.push(("falco.kernel_release".into(), text(&stats.kernel_release)));
    f.push(("falco.outputs_queue_num_drops".into(), uint(stats.outputs.dropped)));
    f.push((
        "falco.duration_sec".into(),
        uint(stats.time.saturating_sub(stats.start_ts) / 1_000_000_000),
    ));
    f.push(("scap.engine_name".into(), text(&stats.engine_name)));
    let events: u64 = stats.sources.iter().map(|s| s.events).sum();
    let prev_events: u64 = previous.map_or(0, |p| p.sources.iter().map(|s| s.events).sum());
    let secs = previous.map_or(0.0, |p| stats.time.saturating_sub(p.time) as f64 / 1e9);
    let rate = |now: u64, before: u64| {
        if secs > 0.0 { round2(now.saturating_sub(before) as f64 / secs) } else { 0.0 }
    };
    f.push(("falco.num_evts".into(), uint(events)));
    f.push(("falco.num_evts_prev".into(), uint(prev_events)));
    f.push(("falco.evts_rate_sec".into(), FieldValue::Double(rate(events, prev_events))));
    if options.rules_counters {
        let total: u64 = stats.rules.iter().map(|r| r.matches).sum();
        f.push(("falco.rules.matches_total".into(), uint(total)));
        for rule in &stats.rules {
            f.push((format!("falco.rules.{}", sanitize(&rule.name)), uint(rule.matches)));
        }
    }
    if options.resource_utilization {
        let r = resources;
        f.push(("falco.cpu_usage_perc".into(), FieldValue::Double(r.cpu_usage_perc)));
        f.push(("falco.host_cpu_usage_perc".into(), FieldValue::Double(r.host_cpu_usage_perc)));
        f.push(("falco.host_procs_running".into(), uint(r.host_procs_running)));
        f.push(("falco.host_open_fds".into(), uint(r.host_open_fds)));
        let memory = [
            ("falco.memory_rss", r.memory_rss_kb * 1024),
            ("falco.memory_vsz", r.memory_vsz_kb * 1024),
            ("falco.memory_pss", r.memory_pss_kb * 1024),
            ("falco.container_memory_used", r.container_memory_used_bytes),
            ("falco.host_memory_used", r.host_memory_used_kb * 1024),
        ];
        for (name, bytes) in memory {
            let (suffix, value) = if options.convert_memory_to_mb {
                ("mb", FieldValue::Double(round2(bytes as f64 / 1_048_576.0)))
            } else if name == "falco.container_memory_used" {
                ("bytes", uint(bytes))
            } else {
                ("kb", uint(bytes / 1024))
            };
            f.push((format!("{name}_{suffix}"), value));
        }
    }
    if options.state_counters {
        let s = &stats.state;
        f.push(("scap.n_threads".into(), uint(s.threads)));
        f.push(("scap.n_fds".into(), uint(s.fds)));
        f.push(("scap.n_added_threads".into(), uint(s.added_threads)));
        f.push(("scap.n_removed_threads".into(), uint(s.removed_threads)));
        f.push(("scap.n_drops_full_threadtable".into(), uint(s.purged_threads)));
        f.push(("scap.n_containers".into(), uint(s.containers)));
    }
    if options.kernel_event_counters && !stats.cpus.is_empty() {
        let sum = |s: &Stats, f: fn(&crate::CpuStats) -> u64| s.cpus.iter().map(f).sum::<u64>();
        let kevents = sum(stats, |c| c.events);
        let drops = sum(stats, crate::CpuStats::drops);
        let prev_kevents = previous.map_or(0, |p| sum(p, |c| c.events));
        let prev_drops = previous.map_or(0, |p| sum(p, crate::CpuStats::drops));
        f.push(("scap.n_evts".into(), uint(kevents)));
        f.push(("scap.n_evts_prev".into(), uint(prev_kevents)));
        f.push(("scap.n_drops".into(), uint(drops)));
        f.push(("scap.n_drops_prev".into(), uint(prev_drops)));
        f.push(("scap.n_drops_buffer_total".into(), uint(sum(stats, |c| c.drops_buffer_full))));
        f.push(("scap.evts_rate_sec".into(), FieldValue::Double(rate(kevents, prev_kevents))));
        f.push(("scap.evts_drop_rate_sec".into(), FieldValue::Double(rate(drops, prev_drops))));
        let interval_events = kevents.saturating_sub(prev_kevents);
        let perc = if interval_events > 0 {
            round2(100.0 * drops.saturating_sub(prev_drops) as f64 / interval_events as f64)
        } else {
            0.0
        };
        f.push(("scap.n_drops_perc".into(), FieldValue::Double(perc)));
        if options.kernel_event_counters_per_cpu {
            for (i, c) in stats.cpus.iter().enumerate() {
                f.push((format!("scap.n_evts_cpu_{i}"), uint(c.events)));
                f.push((format!("scap.n_drops_cpu_{i}"), uint(c.drops())));
            }
        }
    }
    if options.plugins_metrics {
        for m in &stats.plugin_metrics {
            f.push((format!("plugins.{}", m.name), m.value.clone()));
        }
    }
    if !options.include_empty_values {
        f.retain(|(_, v)| match v {
            FieldValue::Uint(0) | FieldValue::Int(0) | FieldValue::Null => false,
            FieldValue::Double(d) => *d != 0.0,
            FieldValue::String(s) => !s.is_empty(),
            _ => true,
        });
    }
    f.sort_by(|a, b| a.0.cmp(&b.0));
    f
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The line `metrics.output_file` gets per snapshot: Falco's `{"output_fields": {...},
/// "sample": N}`.
pub fn snapshot_json_line(fields: &[(String, FieldValue)], sample: u64) -> String {
    let mut map = serde_json::Map::new();
    for (k, v) in fields {
        map.insert(k.clone(), json_value(v));
    }
    serde_json::json!({"output_fields": map, "sample": sample}).to_string()
}

fn json_value(v: &FieldValue) -> serde_json::Value {
    match v {
        FieldValue::Null => serde_json::Value::Null,
        FieldValue::Bool(b) => (*b).into(),
        FieldValue::Int(i) => (*i).into(),
        FieldValue::Uint(u) => (*u).into(),
        FieldValue::Double(d) => (*d).into(),
        FieldValue::String(s) => s.clone().into(),
        FieldValue::List(items) => items.iter().map(json_value).collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::stats::{CpuStats, PluginMetric, RuleStats, SourceStats};

    fn stats() -> Stats {
        Stats {
            start_ts: 1_000_000_000_000,
            time: 1_060_000_000_000,
            hostname: "h".into(),
            engine_name: "modern_ebpf".into(),
            sources: vec![SourceStats { name: "syscall".into(), events: 500 }],
            cpus: vec![
                CpuStats { events: 300, drops_buffer_full: 2, ..CpuStats::default() },
                CpuStats { events: 200, drops_too_large: 1, ..CpuStats::default() },
            ],
            rules: vec![RuleStats {
                name: Arc::from("Read sensitive file"),
                priority: 4,
                source: Arc::from("syscall"),
                tags: Arc::from(vec![Box::from("T1003"), Box::from("mitre.credential-access")]),
                matches: 7,
            }],
            ..Stats::default()
        }
    }

    #[test]
    fn prometheus_names_and_labels() {
        let options =
            MetricsOptions { kernel_event_counters_per_cpu: true, ..MetricsOptions::default() };
        let text = prometheus(&stats(), &Resources::default(), &options, &Versions::default());
        for line in [
            "falcosecurity_scap_engine_name_info{engine_name=\"modern_ebpf\"} 1",
            "falcosecurity_falco_rules_matches_total{priority=\"4\",rule_name=\"Read sensitive file\",source=\"syscall\",tag_T1003=\"true\",tag_mitre_credential_access=\"true\"} 7",
            "falcosecurity_scap_n_evts_total 500",
            "falcosecurity_scap_n_drops_total 3",
            "falcosecurity_scap_n_drops_buffer_total 2",
            "falcosecurity_scap_n_evts_cpu_total{cpu=\"1\"} 200",
            "falcosecurity_scap_n_drops_cpu_total{cpu=\"0\"} 2",
            "falcosecurity_falco_duration_seconds_total 60",
            "falcosecurity_lanner_events_total{source=\"syscall\"} 500",
            "# TYPE falcosecurity_falco_rules_matches_total counter",
        ] {
            assert!(text.lines().any(|l| l == line), "{line}\n{text}");
        }
        // HELP and TYPE once per name
        assert_eq!(text.matches("# TYPE falcosecurity_lanner_kernel_drops_total").count(), 1);
    }

    #[test]
    fn plugin_metrics_as_libs_names_them() {
        let stats = Stats {
            plugin_metrics: vec![
                PluginMetric {
                    name: "k8saudit.n_events".into(),
                    monotonic: true,
                    value: FieldValue::Uint(12),
                },
                PluginMetric {
                    name: "container.n_containers".into(),
                    monotonic: false,
                    value: FieldValue::Int(3),
                },
                PluginMetric {
                    name: "p.ratio".into(),
                    monotonic: false,
                    value: FieldValue::Double(0.25),
                },
            ],
            ..stats()
        };
        let options = MetricsOptions::default();
        let text = prometheus(&stats, &Resources::default(), &options, &Versions::default());
        for line in [
            "# TYPE falcosecurity_plugins_k8saudit_n_events_total counter",
            "falcosecurity_plugins_k8saudit_n_events_total 12",
            "# TYPE falcosecurity_plugins_container_n_containers_total gauge",
            "falcosecurity_plugins_container_n_containers_total 3",
            "falcosecurity_plugins_p_ratio_total 0.25",
        ] {
            assert!(text.lines().any(|l| l == line), "{line}\n{text}");
        }
        let fields =
            snapshot_fields(&stats, None, &Resources::default(), &options, &Versions::default());
        let get = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        assert_eq!(get("plugins.k8saudit.n_events"), Some(FieldValue::Uint(12)));
        assert_eq!(get("plugins.container.n_containers"), Some(FieldValue::Int(3)));
        // plugins_metrics_enabled: false leaves them out of both.
        let off = MetricsOptions { plugins_metrics: false, ..options };
        let text = prometheus(&stats, &Resources::default(), &off, &Versions::default());
        assert!(!text.contains("falcosecurity_plugins_"), "{text}");
        let fields =
            snapshot_fields(&stats, None, &Resources::default(), &off, &Versions::default());
        assert!(!fields.iter().any(|(k, _)| k.starts_with("plugins.")));
    }

    #[test]
    fn snapshot_fields_and_rates() {
        let mut before = stats();
        before.time -= 10_000_000_000;
        before.sources[0].events = 400;
        let fields = snapshot_fields(
            &stats(),
            Some(&before),
            &Resources { memory_rss_kb: 2048, ..Resources::default() },
            &MetricsOptions::default(),
            &Versions { lanner_version: "0.1.0".into(), ..Versions::default() },
        );
        let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("falco.num_evts"), Some(FieldValue::Uint(500)));
        assert_eq!(get("falco.evts_rate_sec"), Some(FieldValue::Double(10.0)));
        assert_eq!(get("falco.rules.Read_sensitive_file"), Some(FieldValue::Uint(7)));
        assert_eq!(get("falco.memory_rss_mb"), Some(FieldValue::Double(2.0)));
        assert_eq!(get("scap.n_drops"), Some(FieldValue::Uint(3)));
        // empty values are left out unless asked for
        assert_eq!(get("scap.n_threads"), None);
        assert!(fields.windows(2).all(|w| w[0].0 < w[1].0));
        let line = snapshot_json_line(&fields, 3);
        assert!(line.starts_with("{\"output_fields\":{") && line.ends_with(",\"sample\":3}"));
    }
}
