//! The settings lanner reads from the configuration tree, checked and typed once.

use serde_yaml_ng::Value;

use crate::{Config, ConfigError, expand_env, kind};

/// Which rules an event may match (`rule_matching`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RuleMatching {
    /// The first matching rule only.
    #[default]
    First,
    /// Every matching rule.
    All,
}

/// Where events come from (`engine.kind`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EngineKind {
    /// The kernel module (lanner: its eBPF probe).
    #[default]
    Kmod,
    /// The modern eBPF probe.
    ModernEbpf,
    /// A capture file (`engine.replay.capture_file`).
    Replay,
    /// No syscall source (plugins only).
    Nodriver,
}

/// One entry of the `rules:` block: enable or disable rules by name (`*` wildcards) or tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSelection {
    /// Enable (`true`) or disable.
    pub enable: bool,
    /// A rule name, with `*` matching any run of characters.
    pub rule: Option<String>,
    /// A tag.
    pub tag: Option<String>,
}

/// What lanner reads from `falco.yaml`, with Falco's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// `rules_files` (or the legacy `rules_file`): files and directories, in order.
    pub rules_files: Vec<String>,
    /// `rules`: selections applied in order after loading.
    pub rules: Vec<RuleSelection>,
    /// `priority`: the minimum priority of enabled rules, as written (`debug` by default).
    pub priority: String,
    /// `rule_matching`.
    pub rule_matching: RuleMatching,
    /// `json_output`.
    pub json_output: bool,
    /// `json_include_output_property`.
    pub json_include_output_property: bool,
    /// `json_include_message_property`.
    pub json_include_message_property: bool,
    /// `json_include_output_fields_property`.
    pub json_include_output_fields_property: bool,
    /// `json_include_tags_property`.
    pub json_include_tags_property: bool,
    /// `time_format_iso_8601`.
    pub time_format_iso_8601: bool,
    /// `buffered_outputs`.
    pub buffered_outputs: bool,
    /// `stdout_output.enabled`.
    pub stdout_output: bool,
    /// `engine.kind`.
    pub engine_kind: EngineKind,
    /// `engine.replay.capture_file`.
    pub replay_capture_file: String,
    /// `append_output`, as written (the outputs crate reads its entries).
    pub append_output: Vec<Value>,
    /// `base_syscalls.all`.
    pub base_syscalls_all: bool,
    /// `base_syscalls.custom_set`: syscall names added to the capture (`!name` removes).
    pub base_syscalls_custom_set: Vec<String>,
    /// `base_syscalls.repair`.
    pub base_syscalls_repair: bool,
    /// Bytes of ring buffer per CPU, from `engine.<kind>.buf_size_preset` (Falco's presets:
    /// 1 → 1 MiB, 2 → 2 MiB ... 4 → 8 MiB, the default ... 10 → 512 MiB).
    pub ring_buffer_bytes: usize,
    /// `engine.modern_ebpf.cpus_for_each_buffer`: how many CPUs share a ring buffer (0: one
    /// buffer for all). lanner's default is 1, a buffer per CPU, which keeps every buffer in
    /// timestamp order; Falco's (2) applies when a falco.yaml says so. `kmod` is per CPU.
    pub cpus_for_each_buffer: usize,
    /// `log_stderr`.
    pub log_stderr: bool,
    /// `static_fields`: names and values (`${ENV}` expanded), in the order written.
    pub static_fields: Vec<(String, String)>,
    /// `legacy_enter_events` (lanner's own key): rules see both halves of a syscall as
    /// recorded, as Falco before 0.42 showed them.
    pub legacy_enter_events: bool,
    /// `output_timeout`, in milliseconds (2000): lanner's HTTP request timeout.
    pub output_timeout_ms: u64,
    /// `outputs_queue`.
    pub outputs_queue: OutputsQueue,
    /// `outputs`: rate limit and flood guard.
    pub outputs: OutputsLimits,
    /// `file_output`.
    pub file_output: FileOutput,
    /// `syslog_output`.
    pub syslog_output: SyslogOutput,
    /// `program_output`.
    pub program_output: ProgramOutput,
    /// `http_output`.
    pub http_output: HttpOutput,
    /// `watch_config_files` (true): reload when the configuration or a rules file changes.
    pub watch_config_files: bool,
    /// `webserver`.
    pub webserver: Webserver,
    /// `metrics`.
    pub metrics: Metrics,
}

/// `webserver`: Falco's keys, with lanner's default address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webserver {
    /// `enabled` (true).
    pub enabled: bool,
    /// `listen_port` (8765).
    pub listen_port: u16,
    /// `listen_address`: `127.0.0.1` in lanner (Falco: `0.0.0.0`).
    pub listen_address: String,
    /// `k8s_healthz_endpoint` (`/healthz`).
    pub k8s_healthz_endpoint: String,
    /// `readiness_endpoint` (lanner's key, `/readyz`).
    pub readiness_endpoint: String,
    /// `prometheus_metrics_enabled` (false).
    pub prometheus_metrics_enabled: bool,
    /// `ssl_enabled` (false).
    pub ssl_enabled: bool,
    /// `ssl_certificate` (`/etc/falco/falco.pem`): the certificate chain and private key.
    pub ssl_certificate: String,
}

/// `metrics`: Falco's periodic internal metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metrics {
    /// `enabled` (false).
    pub enabled: bool,
    /// `interval` in milliseconds, from Falco's duration syntax (`1h`, `15m`, `30s`, `1h30m`,
    /// `500ms`; default `1h`).
    pub interval_ms: u64,
    /// `output_rule` (true): each snapshot as an alert of rule "Falco internal: metrics
    /// snapshot".
    pub output_rule: bool,
    /// `output_file` (empty: none): each snapshot as a JSON line appended to this file.
    pub output_file: String,
    /// `rules_counters_enabled` (true).
    pub rules_counters_enabled: bool,
    /// `resource_utilization_enabled` (true).
    pub resource_utilization_enabled: bool,
    /// `state_counters_enabled` (true).
    pub state_counters_enabled: bool,
    /// `kernel_event_counters_enabled` (true).
    pub kernel_event_counters_enabled: bool,
    /// `kernel_event_counters_per_cpu_enabled` (false).
    pub kernel_event_counters_per_cpu_enabled: bool,
    /// `convert_memory_to_mb` (true).
    pub convert_memory_to_mb: bool,
    /// `include_empty_values` (false).
    pub include_empty_values: bool,
    /// `plugins_metrics_enabled` (true): the loaded plugins' own metrics.
    pub plugins_metrics_enabled: bool,
}

/// Parses Falco's durations (Prometheus' syntax): numbers with units `ms`, `s`, `m`, `h`,
/// `d`, `w`, `y`, largest first, e.g. `1h30m`, `15s`, `500ms`. The result is in milliseconds.
pub fn parse_duration(text: &str) -> Option<u64> {
    const UNITS: [(&str, u64); 7] = [
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ];
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut last_unit = 0usize;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let i = UNITS.iter().position(|(u, _)| *u == unit)?;
        if i < last_unit || (total > 0 && i == last_unit) {
            return None;
        }
        last_unit = i;
        total = total.checked_add(n.checked_mul(UNITS[i].1)?)?;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// What a full alert queue does with a new alert (`outputs_queue.overflow`, lanner's key).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Overflow {
    /// Drop the new alert, count it and log the first drop (Falco's behaviour).
    #[default]
    Drop,
    /// Make the event loop wait until there is room (no alert is lost; events may be).
    Block,
}

/// `outputs_queue`: the queue between the rules engine and the output channels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutputsQueue {
    /// `capacity`: alerts the queue holds; 0 (Falco's default) is unbounded.
    pub capacity: usize,
    /// `overflow` (lanner's key): what a full queue does.
    pub overflow: Overflow,
}

/// `outputs`: Falco's (pre-0.38) token bucket on alerts, and lanner's per-rule flood guard.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OutputsLimits {
    /// `outputs.rate`: alerts allowed per second, on average; 0 (the default) disables the
    /// limit.
    pub rate: f64,
    /// `outputs.max_burst`: the most alerts allowed at once (1000).
    pub max_burst: f64,
    /// `outputs.flood_guard.max_alerts` (lanner's key): alerts of one rule let through per
    /// window; the rest are counted and summarised in one alert. 0 (the default) is off.
    pub flood_max_alerts: u64,
    /// `outputs.flood_guard.window_s` (lanner's key): the window, in seconds (60).
    pub flood_window_s: u64,
}

impl Default for OutputsLimits {
    fn default() -> OutputsLimits {
        OutputsLimits { rate: 0.0, max_burst: 1000.0, flood_max_alerts: 0, flood_window_s: 60 }
    }
}

/// `file_output`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileOutput {
    /// `enabled` (false).
    pub enabled: bool,
    /// `keep_alive` (false): keep the file open rather than open it for each alert.
    pub keep_alive: bool,
    /// `filename` (`./events.txt`).
    pub filename: String,
}

/// The line layout of syslog messages (`syslog_output.format`, lanner's key).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyslogFormat {
    /// `<PRI>Mmm dd hh:mm:ss ident: message`, what glibc's `syslog(3)` sends for Falco.
    #[default]
    Rfc3164,
    /// `<PRI>1 timestamp hostname ident pid - - message` (RFC 5424).
    Rfc5424,
}

/// `syslog_output`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyslogOutput {
    /// `enabled` (true, as in Falco).
    pub enabled: bool,
    /// `address` (lanner's key): the syslog daemon's datagram socket (`/dev/log`).
    pub address: String,
    /// `format` (lanner's key): `rfc3164` (default) or `rfc5424`.
    pub format: SyslogFormat,
    /// `ident` (lanner's key): the program name messages carry (`lanner`).
    pub ident: String,
}

/// `program_output`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramOutput {
    /// `enabled` (false).
    pub enabled: bool,
    /// `keep_alive` (false): start the program once and write every alert to it, rather than
    /// start it for each alert.
    pub keep_alive: bool,
    /// `program`: a shell command (`sh -c`) that reads alerts on its stdin.
    pub program: String,
}

/// `http_output`: Falco's keys, and lanner's for delivery while the receiver is down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpOutput {
    /// `enabled` (false).
    pub enabled: bool,
    /// `url`; required when enabled.
    pub url: String,
    /// `user_agent` (`falcosecurity/falco`).
    pub user_agent: String,
    /// `insecure`: do not verify the server's certificate.
    pub insecure: bool,
    /// `ca_cert`: a PEM file of CA certificates.
    pub ca_cert: String,
    /// `ca_bundle`: a PEM file of CA certificates.
    pub ca_bundle: String,
    /// `ca_path` (`/etc/ssl/certs`): a directory of PEM files.
    pub ca_path: String,
    /// `mtls`: present `client_cert` and `client_key`.
    pub mtls: bool,
    /// `client_cert` (`/etc/ssl/certs/client.crt`).
    pub client_cert: String,
    /// `client_key` (`/etc/ssl/certs/client.key`).
    pub client_key: String,
    /// `echo`: print the receiver's answers to stdout.
    pub echo: bool,
    /// `compress_uploads`: gzip the request bodies.
    pub compress_uploads: bool,
    /// `keep_alive`: reuse the connection.
    pub keep_alive: bool,
    /// `max_consecutive_timeouts` (5): timeouts in a row after which the receiver is reported
    /// down (lanner keeps retrying; alerts are kept, see `backlog_capacity`).
    pub max_consecutive_timeouts: u32,
    /// `headers` (lanner's key): extra request headers, name to value, in order.
    pub headers: Vec<(String, String)>,
    /// `backlog_capacity` (lanner's key): alerts kept in memory while the receiver does not
    /// take them (10000).
    pub backlog_capacity: usize,
    /// `spool_dir` (lanner's key): where alerts go when the memory backlog is full, and where
    /// they survive a restart; empty (the default) keeps them in memory only.
    pub spool_dir: String,
    /// `spool_max_mb` (lanner's key): the most the spool holds, in MiB (100).
    pub spool_max_mb: u64,
}

impl Settings {
    pub(crate) fn from_config(config: &Config) -> Result<Settings, ConfigError> {
        let r = Reader(config);
        let rules_files = match config.get("rules_files") {
            Some(_) => r.strings("rules_files")?,
            None => r.strings("rules_file")?,
        };
        Ok(Settings {
            rules_files,
            rules: r.selections()?,
            priority: r.string("priority", "debug")?,
            rule_matching: match r.string("rule_matching", "first")?.as_str() {
                "first" => RuleMatching::First,
                "all" => RuleMatching::All,
                other => {
                    return Err(r.bad(
                        "rule_matching",
                        format!(
                            "Unknown rule matching strategy \"{other}\"--must be one of first, all"
                        ),
                    ));
                }
            },
            json_output: r.bool("json_output", false)?,
            json_include_output_property: r.bool("json_include_output_property", true)?,
            json_include_message_property: r.bool("json_include_message_property", false)?,
            json_include_output_fields_property: r
                .bool("json_include_output_fields_property", true)?,
            json_include_tags_property: r.bool("json_include_tags_property", true)?,
            time_format_iso_8601: r.bool("time_format_iso_8601", false)?,
            buffered_outputs: r.bool("buffered_outputs", false)?,
            stdout_output: r.bool("stdout_output.enabled", true)?,
            engine_kind: match r.string("engine.kind", "kmod")?.as_str() {
                "kmod" => EngineKind::Kmod,
                "modern_ebpf" => EngineKind::ModernEbpf,
                "replay" => EngineKind::Replay,
                "nodriver" => EngineKind::Nodriver,
                other => {
                    return Err(r.bad(
                        "engine.kind",
                        format!(
                            "unknown engine `{other}` (use kmod, modern_ebpf, replay or nodriver)"
                        ),
                    ));
                }
            },
            replay_capture_file: r.string("engine.replay.capture_file", "")?,
            append_output: match config.get("append_output") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Sequence(items)) => items.clone(),
                Some(other) => {
                    return Err(
                        r.bad("append_output", format!("expected a list, found {}", kind(other)))
                    );
                }
            },
            base_syscalls_all: r.bool("base_syscalls.all", false)?,
            base_syscalls_custom_set: r.strings("base_syscalls.custom_set")?,
            base_syscalls_repair: r.bool("base_syscalls.repair", false)?,
            ring_buffer_bytes: {
                let kind = r.string("engine.kind", "kmod")?;
                let key = format!("engine.{kind}.buf_size_preset");
                match r.string(&key, "4")?.parse::<u32>() {
                    Ok(p @ 1..=10) => 1usize << (19 + p),
                    _ => return Err(r.bad(&key, "expected a preset from 1 to 10".to_owned())),
                }
            },
            cpus_for_each_buffer: match r.string("engine.kind", "kmod")?.as_str() {
                "modern_ebpf" => r.uint("engine.modern_ebpf.cpus_for_each_buffer", 1)? as usize,
                _ => 1,
            },
            log_stderr: r.bool("log_stderr", true)?,
            static_fields: r.map("static_fields")?,
            legacy_enter_events: r.bool("legacy_enter_events", false)?,
            output_timeout_ms: r.uint("output_timeout", 2000)?,
            outputs_queue: OutputsQueue {
                capacity: r.uint("outputs_queue.capacity", 0)? as usize,
                overflow: match r.string("outputs_queue.overflow", "drop")?.as_str() {
                    "drop" => Overflow::Drop,
                    "block" => Overflow::Block,
                    other => {
                        return Err(r.bad(
                            "outputs_queue.overflow",
                            format!("unknown policy `{other}` (use drop or block)"),
                        ));
                    }
                },
            },
            outputs: OutputsLimits {
                rate: r.float("outputs.rate", 0.0)?,
                max_burst: r.float("outputs.max_burst", 1000.0)?,
                flood_max_alerts: r.uint("outputs.flood_guard.max_alerts", 0)?,
                flood_window_s: match r.uint("outputs.flood_guard.window_s", 60)? {
                    0 => {
                        return Err(r.bad(
                            "outputs.flood_guard.window_s",
                            "the window must be at least one second".to_owned(),
                        ));
                    }
                    n => n,
                },
            },
            file_output: FileOutput {
                enabled: r.bool("file_output.enabled", false)?,
                keep_alive: r.bool("file_output.keep_alive", false)?,
                filename: r.string("file_output.filename", "./events.txt")?,
            },
            syslog_output: SyslogOutput {
                enabled: r.bool("syslog_output.enabled", true)?,
                address: r.string("syslog_output.address", "/dev/log")?,
                format: match r.string("syslog_output.format", "rfc3164")?.as_str() {
                    "rfc3164" => SyslogFormat::Rfc3164,
                    "rfc5424" => SyslogFormat::Rfc5424,
                    other => {
                        return Err(r.bad(
                            "syslog_output.format",
                            format!("unknown format `{other}` (use rfc3164 or rfc5424)"),
                        ));
                    }
                },
                ident: r.string("syslog_output.ident", "lanner")?,
            },
            program_output: r.program_output()?,
            http_output: r.http_output()?,
            watch_config_files: r.bool("watch_config_files", true)?,
            webserver: Webserver {
                enabled: r.bool("webserver.enabled", true)?,
                listen_port: u16::try_from(r.uint("webserver.listen_port", 8765)?).map_err(
                    |_| r.bad("webserver.listen_port", "expected a port number".to_owned()),
                )?,
                listen_address: r.string("webserver.listen_address", "127.0.0.1")?,
                k8s_healthz_endpoint: r.string("webserver.k8s_healthz_endpoint", "/healthz")?,
                readiness_endpoint: r.string("webserver.readiness_endpoint", "/readyz")?,
                prometheus_metrics_enabled: r
                    .bool("webserver.prometheus_metrics_enabled", false)?,
                ssl_enabled: r.bool("webserver.ssl_enabled", false)?,
                ssl_certificate: r.string("webserver.ssl_certificate", "/etc/falco/falco.pem")?,
            },
            metrics: Metrics {
                enabled: r.bool("metrics.enabled", false)?,
                interval_ms: {
                    let text = r.string("metrics.interval", "1h")?;
                    match parse_duration(&text) {
                        Some(ms) if ms >= 100 => ms,
                        Some(_) => {
                            return Err(r.bad(
                                "metrics.interval",
                                format!("`{text}` is shorter than the minimum, 100ms"),
                            ));
                        }
                        None => {
                            return Err(r.bad(
                                "metrics.interval",
                                format!("`{text}` is not a duration such as 15s, 30m, 1h"),
                            ));
                        }
                    }
                },
                output_rule: r.bool("metrics.output_rule", true)?,
                output_file: r.string("metrics.output_file", "")?,
                rules_counters_enabled: r.bool("metrics.rules_counters_enabled", true)?,
                resource_utilization_enabled: r
                    .bool("metrics.resource_utilization_enabled", true)?,
                state_counters_enabled: r.bool("metrics.state_counters_enabled", true)?,
                kernel_event_counters_enabled: r
                    .bool("metrics.kernel_event_counters_enabled", true)?,
                kernel_event_counters_per_cpu_enabled: r
                    .bool("metrics.kernel_event_counters_per_cpu_enabled", false)?,
                convert_memory_to_mb: r.bool("metrics.convert_memory_to_mb", true)?,
                include_empty_values: r.bool("metrics.include_empty_values", false)?,
                plugins_metrics_enabled: r.bool("metrics.plugins_metrics_enabled", true)?,
            },
        })
    }
}

/// Typed reads of the tree, with `${ENV}` expanded in strings.
struct Reader<'c>(&'c Config);

impl Reader<'_> {
    fn bad(&self, key: &str, why: String) -> ConfigError {
        ConfigError::BadValue { key: key.to_owned(), why }
    }

    fn scalar(&self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(expand_env(s, |k| std::env::var(k).ok()))),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(self.bad(key, format!("expected a value, found {}", kind(other)))),
        }
    }

    fn string(&self, key: &str, default: &str) -> Result<String, ConfigError> {
        Ok(self.scalar(key)?.unwrap_or_else(|| default.to_owned()))
    }

    fn bool(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.scalar(key)? {
            None => Ok(default),
            Some(s) => match s.as_str() {
                "true" | "True" | "TRUE" | "yes" | "on" => Ok(true),
                "false" | "False" | "FALSE" | "no" | "off" => Ok(false),
                other => Err(self.bad(key, format!("expected true or false, found `{other}`"))),
            },
        }
    }

    /// A non-negative integer.
    fn uint(&self, key: &str, default: u64) -> Result<u64, ConfigError> {
        match self.scalar(key)? {
            None => Ok(default),
            Some(s) => s.parse().map_err(|_| {
                self.bad(key, format!("expected a non-negative integer, found `{s}`"))
            }),
        }
    }

    /// A non-negative number.
    fn float(&self, key: &str, default: f64) -> Result<f64, ConfigError> {
        match self.scalar(key)? {
            None => Ok(default),
            Some(s) => match s.parse::<f64>() {
                Ok(f) if f.is_finite() && f >= 0.0 => Ok(f),
                _ => Err(self.bad(key, format!("expected a non-negative number, found `{s}`"))),
            },
        }
    }

    fn program_output(&self) -> Result<ProgramOutput, ConfigError> {
        let out = ProgramOutput {
            enabled: self.bool("program_output.enabled", false)?,
            keep_alive: self.bool("program_output.keep_alive", false)?,
            program: self.string("program_output.program", "")?,
        };
        if out.enabled && out.program.trim().is_empty() {
            return Err(self.bad(
                "program_output.program",
                "a program is needed when program_output is enabled".to_owned(),
            ));
        }
        Ok(out)
    }

    fn http_output(&self) -> Result<HttpOutput, ConfigError> {
        let out = HttpOutput {
            enabled: self.bool("http_output.enabled", false)?,
            url: self.string("http_output.url", "")?,
            user_agent: self.string("http_output.user_agent", "falcosecurity/falco")?,
            insecure: self.bool("http_output.insecure", false)?,
            ca_cert: self.string("http_output.ca_cert", "")?,
            ca_bundle: self.string("http_output.ca_bundle", "")?,
            ca_path: self.string("http_output.ca_path", "/etc/ssl/certs")?,
            mtls: self.bool("http_output.mtls", false)?,
            client_cert: self.string("http_output.client_cert", "/etc/ssl/certs/client.crt")?,
            client_key: self.string("http_output.client_key", "/etc/ssl/certs/client.key")?,
            echo: self.bool("http_output.echo", false)?,
            compress_uploads: self.bool("http_output.compress_uploads", false)?,
            keep_alive: self.bool("http_output.keep_alive", false)?,
            max_consecutive_timeouts: u32::try_from(
                self.uint("http_output.max_consecutive_timeouts", 5)?,
            )
            .map_err(|_| {
                self.bad("http_output.max_consecutive_timeouts", "too large".to_owned())
            })?,
            headers: self.map("http_output.headers")?,
            backlog_capacity: self.uint("http_output.backlog_capacity", 10_000)? as usize,
            spool_dir: self.string("http_output.spool_dir", "")?,
            spool_max_mb: self.uint("http_output.spool_max_mb", 100)?,
        };
        if out.enabled {
            let url = out.url.trim();
            if url.is_empty() {
                return Err(self.bad(
                    "http_output.url",
                    "a URL is needed when http_output is enabled".to_owned(),
                ));
            }
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(self
                    .bad("http_output.url", format!("`{url}` is not an http:// or https:// URL")));
            }
            if out.backlog_capacity == 0 {
                return Err(self.bad(
                    "http_output.backlog_capacity",
                    "at least one alert must fit".to_owned(),
                ));
            }
        }
        Ok(out)
    }

    /// A list of strings; a single scalar is a list of one.
    fn strings(&self, key: &str) -> Result<Vec<String>, ConfigError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Sequence(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(expand_env(s, |k| std::env::var(k).ok())),
                    other => Err(self.bad(key, format!("expected strings, found {}", kind(other)))),
                })
                .collect(),
            Some(_) => Ok(self.scalar(key)?.into_iter().collect()),
        }
    }

    /// A map of names to scalar values, in the order written.
    fn map(&self, key: &str) -> Result<Vec<(String, String)>, ConfigError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Mapping(map)) => map
                .keys()
                .map(|k| {
                    let name = k.as_str().ok_or_else(|| {
                        self.bad(key, format!("names must be strings, not {}", kind(k)))
                    })?;
                    let value = self.scalar(&format!("{key}.{name}"))?.ok_or_else(|| {
                        self.bad(&format!("{key}.{name}"), "expected a value".to_owned())
                    })?;
                    Ok((name.to_owned(), value))
                })
                .collect(),
            Some(other) => Err(self.bad(key, format!("expected a map, found {}", kind(other)))),
        }
    }

    fn selections(&self) -> Result<Vec<RuleSelection>, ConfigError> {
        let items = match self.0.get("rules") {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Sequence(items)) => items,
            Some(other) => {
                return Err(self.bad("rules", format!("expected a list, found {}", kind(other))));
            }
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let key = format!("rules[{i}]");
            let Value::Mapping(map) = item else {
                return Err(self.bad(&key, "expected `enable:` or `disable:`".to_owned()));
            };
            if map.len() != 1 {
                return Err(
                    self.bad(&key, "expected exactly one of `enable:` or `disable:`".to_owned())
                );
            }
            let (action, what) = map.iter().next().expect("one entry, checked above");
            let enable = match action.as_str() {
                Some("enable") => true,
                Some("disable") => false,
                _ => return Err(self.bad(&key, "expected `enable:` or `disable:`".to_owned())),
            };
            let field =
                |name: &str| -> Result<Option<String>, ConfigError> {
                    match what.get(name) {
                        None | Some(Value::Null) => Ok(None),
                        Some(Value::String(s)) => Ok(Some(s.clone())),
                        Some(other) => Err(self
                            .bad(&key, format!("`{name}` must be a string, not {}", kind(other)))),
                    }
                };
            let (rule, tag) = (field("rule")?, field("tag")?);
            if rule.is_none() && tag.is_none() {
                return Err(self.bad(&key, "expected a `rule:` or a `tag:`".to_owned()));
            }
            out.push(RuleSelection { enable, rule, tag });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn falcos_durations() {
        assert_eq!(parse_duration("1h"), Some(3_600_000));
        assert_eq!(parse_duration("15m"), Some(900_000));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000));
        assert_eq!(parse_duration("500ms"), Some(500));
        assert_eq!(parse_duration("2s"), Some(2000));
        assert_eq!(parse_duration("1d"), Some(86_400_000));
        for bad in ["", "h", "10", "1x", "30m1h", "1h1h", "-1s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
