//! `falco.yaml`, as Falco reads it: the main file, its drop-in `config_files`, `-o key=value`
//! overrides, `${ENV}` references, and typed settings.
//!
//! Raw, then resolved: [`Config`] is the merged YAML tree exactly as the files and options
//! make it (so that every key Falco knows is kept, including those lanner does not use yet);
//! [`Settings`] is what the program reads from it, each value checked and converted once, with
//! an error naming the key when it does not fit.
//!
//! The order is Falco's: the main file, then the `-o config_files...` options, then the
//! drop-in files the result lists (files, or directories read in lexicographic order, merged with the
//! entry's `strategy`: `append` by default, `override`, `add-only`), then every other `-o`.
//!
//! ```
//! use lanner_config::Config;
//!
//! let config = Config::from_text(
//!     "json_output: false\nrules_files: [/etc/lanner/rules.yaml]\n",
//!     &["json_output=true".to_owned(), "rules_files[]=local.yaml".to_owned()],
//! )?;
//! let settings = config.settings()?;
//! assert!(settings.json_output);
//! assert_eq!(settings.rules_files, ["/etc/lanner/rules.yaml", "local.yaml"]);
//! # Ok::<(), lanner_config::ConfigError>(())
//! ```

mod positions;
mod schema;
mod settings;
mod tree;

use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;

pub use positions::Origin;
pub use schema::{FALCO_CONFIG_SCHEMA, LANNER_EXTENSIONS, SchemaWarning, schema};
pub use settings::{
    EngineKind, FileOutput, HttpOutput, Metrics, OutputsLimits, OutputsQueue, Overflow,
    ProgramOutput, RuleMatching, RuleSelection, Settings, SyslogFormat, SyslogOutput, Webserver,
    parse_duration,
};
pub use tree::{MergeStrategy, expand_env};

use positions::Positions;

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read.
    #[error("cannot read config file `{path}`")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not YAML.
    #[error("config file `{path}` is not valid YAML: {message}")]
    Yaml {
        /// The file.
        path: String,
        /// The parser's message, with the line and column.
        message: String,
    },
    /// An `-o` option is not `key=value`.
    #[error("bad option `{0}`: expected `key=value`")]
    BadOption(String),
    /// A key path does not parse or does not fit the tree.
    #[error("bad key `{key}`: {why}")]
    BadKey {
        /// The key as written.
        key: String,
        /// What is wrong.
        why: String,
    },
    /// A value does not have the type its key needs.
    #[error("config key `{key}`: {why}")]
    BadValue {
        /// The key.
        key: String,
        /// What is wrong.
        why: String,
    },
}

/// The merged configuration tree, and the files it came from.
#[derive(Clone, Debug, Default)]
pub struct Config {
    tree: Value,
    files: Vec<PathBuf>,
    /// Where each key was written.
    positions: Positions,
}

impl Config {
    /// Falco's defaults only: no file, no option.
    pub fn defaults() -> Config {
        Config::default()
    }

    /// Reads the main file (if any), its drop-ins, and applies the `-o` options.
    pub fn load(path: Option<&Path>, options: &[String]) -> Result<Config, ConfigError> {
        let (early, late) = split_options(options)?;
        let mut config = Config::default();
        if let Some(path) = path {
            let text = std::fs::read_to_string(path)
                .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
            let name = path.display().to_string();
            config.tree = parse_yaml(&name, &text)?;
            config.positions = Positions::of_file(&name, &text);
            config.files.push(path.to_owned());
        }
        config.apply(&early)?;
        config.merge_drop_ins()?;
        config.apply(&late)?;
        Ok(config)
    }

    /// A configuration from text (no drop-in directory is read unless listed), then options.
    pub fn from_text(text: &str, options: &[String]) -> Result<Config, ConfigError> {
        let (early, late) = split_options(options)?;
        let mut config = Config {
            tree: parse_yaml("<text>", text)?,
            files: Vec::new(),
            positions: Positions::of_file("<text>", text),
        };
        config.apply(&early)?;
        config.merge_drop_ins()?;
        config.apply(&late)?;
        Ok(config)
    }

    /// The files read, main file first.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The merged tree.
    pub fn tree(&self) -> &Value {
        &self.tree
    }

    /// The value at a key path (`engine.replay.capture_file`, `plugins[0].name`).
    pub fn get(&self, key: &str) -> Option<&Value> {
        tree::get(&self.tree, &tree::parse_path(key).ok()?)
    }

    /// Applies one `key=value` option.
    pub fn set_option(&mut self, option: &str) -> Result<(), ConfigError> {
        let (key, value) =
            option.split_once('=').ok_or_else(|| ConfigError::BadOption(option.to_owned()))?;
        let path = tree::parse_path(key)?;
        let value = tree::parse_override_value(key, value)?;
        let resolved = tree::set(&mut self.tree, &path, value, key)?;
        self.positions.remove_under(&resolved);
        self.positions.insert(resolved, Origin::Option(option.to_owned()));
        Ok(())
    }

    /// Where a key was written: its file, line and column, or the `-o` option that set it (for
    /// a key with no place of its own, the nearest enclosing key's).
    pub fn origin(&self, key: &str) -> Option<&Origin> {
        self.positions.find(key)
    }

    /// Checks the merged configuration against Falco's config schema (with lanner's keys):
    /// unknown keys, values of the wrong type. Falco only warns about these, and so does
    /// lanner; see [`SchemaWarning`].
    pub fn check(&self) -> Vec<SchemaWarning> {
        schema::check(&self.tree, &self.positions)
    }

    fn apply(&mut self, options: &[&String]) -> Result<(), ConfigError> {
        for option in options {
            self.set_option(option)?;
        }
        Ok(())
    }

    /// Reads the `config_files` entries and merges them, in order.
    fn merge_drop_ins(&mut self) -> Result<(), ConfigError> {
        let entries = match self.get("config_files") {
            None | Some(Value::Null) => return Ok(()),
            Some(Value::Sequence(items)) => items.clone(),
            Some(other) => vec![other.clone()],
        };
        for entry in entries {
            let (path, strategy) = match &entry {
                Value::String(path) => (path.clone(), MergeStrategy::Append),
                Value::Mapping(map) => {
                    let path = map.get("path").and_then(Value::as_str).ok_or_else(|| {
                        ConfigError::BadValue {
                            key: "config_files".to_owned(),
                            why: "an entry needs a `path`".to_owned(),
                        }
                    })?;
                    let strategy = match map.get("strategy").and_then(Value::as_str) {
                        None => MergeStrategy::Append,
                        Some(s) => {
                            MergeStrategy::parse(s).ok_or_else(|| ConfigError::BadValue {
                                key: "config_files".to_owned(),
                                why: format!(
                                    "unknown strategy `{s}` (use append, override or add-only)"
                                ),
                            })?
                        }
                    };
                    (path.to_owned(), strategy)
                }
                other => {
                    return Err(ConfigError::BadValue {
                        key: "config_files".to_owned(),
                        why: format!("an entry must be a path or a map, not {}", kind(other)),
                    });
                }
            };
            let path = PathBuf::from(expand_env(&path, |k| std::env::var(k).ok()));
            for file in drop_in_files(&path)? {
                let text = std::fs::read_to_string(&file)
                    .map_err(|source| ConfigError::Read { path: file.clone(), source })?;
                let name = file.display().to_string();
                let value = parse_yaml(&name, &text)?;
                let positions = Positions::of_file(&name, &text);
                if let Value::Mapping(map) = &value
                    && map.contains_key("config_files")
                {
                    return Err(ConfigError::BadValue {
                        key: "config_files".to_owned(),
                        why: format!("`{}` lists config files: they do not nest", file.display()),
                    });
                }
                tree::merge(&mut self.tree, value, strategy, &mut self.positions, &positions);
                self.files.push(file);
            }
        }
        Ok(())
    }

    /// The typed settings.
    pub fn settings(&self) -> Result<Settings, ConfigError> {
        Settings::from_config(self)
    }
}

/// Options for `config_files` apply before the files, the others after.
fn split_options(options: &[String]) -> Result<(Vec<&String>, Vec<&String>), ConfigError> {
    let mut early = Vec::new();
    let mut late = Vec::new();
    for option in options {
        let key = option.split_once('=').ok_or_else(|| ConfigError::BadOption(option.clone()))?.0;
        if key == "config_files" || key.starts_with("config_files[") {
            early.push(option);
        } else {
            late.push(option);
        }
    }
    Ok((early, late))
}

/// A drop-in path's files: the file itself, or a directory's YAML files in lexicographic
/// order. A missing path is skipped, as Falco skips its default `/etc/falco/config.d`.
fn drop_in_files(path: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    if path.is_file() {
        return Ok(vec![path.to_owned()]);
    }
    if !path.is_dir() {
        return Ok(Vec::new());
    }
    yaml_files(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })
}

/// A directory's YAML files (`.yaml`, `.yml`), in lexicographic order: how Falco reads
/// directories of configuration drop-ins and of rules files.
pub fn yaml_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
        })
        .collect();
    files.sort();
    Ok(files)
}

fn parse_yaml(name: &str, text: &str) -> Result<Value, ConfigError> {
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_yaml_ng::from_str(text)
        .map_err(|e| ConfigError::Yaml { path: name.to_owned(), message: e.to_string() })
}

/// A value's YAML kind, for messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a map",
        Value::Tagged(_) => "a tagged value",
    }
}
