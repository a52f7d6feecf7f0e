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
    /// `log_stderr`.
    pub log_stderr: bool,
    /// `static_fields`: names and values (`${ENV}` expanded), in the order written.
    pub static_fields: Vec<(String, String)>,
    /// `legacy_enter_events` (lanner's own key): rules see both halves of a syscall as
    /// recorded, as Falco before 0.42 showed them.
    pub legacy_enter_events: bool,
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
            log_stderr: r.bool("log_stderr", true)?,
            static_fields: r.map("static_fields")?,
            legacy_enter_events: r.bool("legacy_enter_events", false)?,
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
