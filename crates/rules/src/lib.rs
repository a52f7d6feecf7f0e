//! Falco rules files: loading them with Falco's semantics, reporting every problem with
//! Falco's codes and messages, and handing the engine a compiled [`Ruleset`].
//!
//! A load goes through the same stages as Falco's, each owned by one module:
//!
//! ```text
//!  (name, text) ──yaml──▶ nodes with marks ──read──▶ collector ──compile──▶ Ruleset
//!  per file              file, line, column      lists, macros,     lists substituted,
//!                                                 rules: defined,    macros resolved,
//!                                                 appended,          exceptions folded,
//!                                                 overridden         filters compiled
//! ```
//!
//! - **YAML** (`yaml`): `yaml-rust2`'s event parser builds a small tree in which every node
//!   keeps its byte offset, line and column, since every diagnostic names one. serde-based YAML
//!   crates drop positions, and Falco's leniencies (`desc: != x` as a tag, `[=, in]` as
//!   strings) are YAML 1.2 behaviour this parser shares.
//! - **Reading** (`read`): each item is decoded and applied at once, in file order, exactly as
//!   Falco's reader and collector do: redefinitions keep the first slot, appends join with one
//!   space, overrides replace listed keys, the visibility counters that decide which macros a
//!   macro may use advance per item. Files are read in the order given, so later files see the
//!   lists and macros of earlier ones.
//! - **Compiling** (`compile`): lists are substituted into conditions *as text* (Falco's rule,
//!   kept on purpose since rules files rely on it), conditions are parsed by `lanner-filter`,
//!   macro references are resolved on the AST, and each rule is compiled by its event
//!   [`Source`]. Rules of sources that are not loaded are skipped with `LOAD_UNKNOWN_SOURCE`,
//!   as Falco does; a plugin host adds sources through [`LoadOptions::sources`].
//!
//! Diagnostics ([`Diagnostic`]) are data first: Falco's code, Falco's exact message, the item
//! chain Falco reports, plus what lanner adds (the offending text underlined, "did you mean").
//! They render three ways: [`Loaded::render`] for people, [`Loaded::to_json`] in Falco's
//! `falco_load_results` form, [`FileResult::summary`] in Falco's one-line form. Unlike Falco,
//! the loader does not stop at the first error of a file: it reports every item it cannot
//! load and goes on with the next, so one run shows every problem.
//!
//! What this crate does not own: the filter language (`lanner-filter`), fields
//! (`lanner-fields`), evaluating rules on events and formatting outputs (the engine).
//! The core does no I/O: it takes `(name, text)` pairs; [`load_files`] is the thin edge that
//! reads files.
//!
//! ```
//! use lanner_rules::{LoadOptions, Priority, load};
//!
//! let text = "
//! - list: shells
//!   items: [sh, bash]
//! - macro: spawned
//!   condition: evt.type = execve
//! - rule: shell
//!   desc: a shell started
//!   condition: spawned and proc.name in (shells)
//!   output: shell %proc.name
//!   priority: info
//! ";
//! let loaded = load(&[("rules.yaml", text)], &LoadOptions::default());
//! assert!(loaded.successful(), "{}", loaded.render());
//! let rule = loaded.ruleset.rule("shell").unwrap();
//! assert_eq!(rule.compiled_condition, "(evt.type = execve and proc.name in (sh, bash))");
//! assert_eq!(rule.priority, Priority::Informational);
//! assert_eq!(loaded.files[0].summary(), "rules.yaml: Ok");
//! ```

mod compile;
mod diag;
mod read;
mod ruleset;
mod schema;
mod source;
mod version;
mod yaml;

use std::path::Path;
use std::sync::Arc;

#[doc(hidden)]
pub use schema::known_properties as schema_properties;

pub use diag::{Code, Diagnostic, FileResult, ItemCounts, ItemType, Location, Position, Snippet};
pub use ruleset::{PluginRequirementStatus, Priority, Rule, Ruleset};
pub use source::{OutputError, PluginSource, Source, SyscallSource};
pub use version::{
    BUILT_IN_PLUGINS, ENGINE_VERSION, PluginInfo, PluginRequirement, PluginRequirementAlternatives,
    Provider, Version,
};

/// How to load.
#[derive(Clone)]
pub struct LoadOptions {
    /// The event sources whose rules are compiled; others are skipped with
    /// `LOAD_UNKNOWN_SOURCE`. Default: [`SyscallSource`] only.
    pub sources: Vec<Arc<dyn Source>>,
    /// The plugins the caller has loaded, checked against `required_plugin_versions`.
    pub plugins: Vec<PluginInfo>,
    /// Whether unsatisfied `required_plugin_versions` are errors (Falco checks them after
    /// loading; a validation without plugins may want them off).
    pub check_plugin_requirements: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            sources: vec![Arc::new(SyscallSource)],
            plugins: Vec::new(),
            check_plugin_requirements: true,
        }
    }
}

impl std::fmt::Debug for LoadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadOptions")
            .field("sources", &self.sources.iter().map(|s| s.name().to_owned()).collect::<Vec<_>>())
            .field("plugins", &self.plugins)
            .field("check_plugin_requirements", &self.check_plugin_requirements)
            .finish()
    }
}

/// The result of a load: the ruleset, and the diagnostics of every file.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The compiled rules. Meaningful only when [`Loaded::successful`].
    pub ruleset: Ruleset,
    /// One result per file, in load order.
    pub files: Vec<FileResult>,
    /// The files' names and texts, to render snippets.
    sources: Vec<(String, String)>,
}

impl Loaded {
    /// Whether no file has an error.
    pub fn successful(&self) -> bool {
        self.files.iter().all(FileResult::successful)
    }

    /// Every error of every file.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.files.iter().flat_map(|f| f.errors.iter())
    }

    /// Every warning of every file.
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.files.iter().flat_map(|f| f.warnings.iter())
    }

    /// Falco's validation result: `{"falco_load_results": [...]}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "falco_load_results": self.files.iter().map(|f| f.to_json(&self.sources)).collect::<Vec<_>>()
        })
    }

    /// The loaded files: names and texts, in load order.
    pub fn sources(&self) -> &[(String, String)] {
        &self.sources
    }

    /// One diagnostic rendered for people, with the text of the file it points into.
    pub fn render_diagnostic(&self, diagnostic: &Diagnostic) -> String {
        diagnostic.render(&self.sources)
    }

    /// Every diagnostic rendered for people, errors first, then the summary line of each file.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            for d in f.errors.iter().chain(&f.warnings) {
                out.push_str(&d.render(&self.sources));
                out.push('\n');
            }
        }
        for f in &self.files {
            out.push_str(&f.summary());
            out.push('\n');
        }
        out
    }
}

/// The reader's view of the sources.
struct SourceSet<'a>(&'a [Arc<dyn Source>]);

impl read::SourceLookup for SourceSet<'_> {
    fn has_source(&self, name: &str) -> bool {
        self.0.iter().any(|s| s.name() == name)
    }
    fn is_field(&self, source: &str, field: &str) -> bool {
        self.0.iter().find(|s| s.name() == source).is_none_or(|s| s.is_field(field))
    }
}

/// Loads rules files given as `(name, text)`, in order: later files see the lists and macros
/// of earlier ones, and may append to or override their items.
pub fn load(files: &[(&str, &str)], options: &LoadOptions) -> Loaded {
    let sources: Vec<(String, String)> =
        files.iter().map(|(n, t)| ((*n).to_owned(), (*t).to_owned())).collect();
    load_owned(sources, Vec::new(), options)
}

/// [`load`] for files given as bytes: a file that is not UTF-8 fails with
/// `LOAD_ERR_YAML_PARSE` (YAML text is Unicode) and the others load.
pub fn load_bytes(files: &[(&str, &[u8])], options: &LoadOptions) -> Loaded {
    let mut texts = Vec::with_capacity(files.len());
    let mut early = Vec::new();
    for (name, bytes) in files {
        match std::str::from_utf8(bytes) {
            Ok(t) => texts.push(((*name).to_owned(), t.to_owned())),
            Err(e) => {
                early.push((
                    (*name).to_owned(),
                    Code::ErrYamlParse,
                    format!("invalid UTF-8 at byte {}", e.valid_up_to()),
                ));
                texts.push(((*name).to_owned(), String::new()));
            }
        }
    }
    load_owned(texts, early, options)
}

/// Reads and loads rules files. A file that cannot be read fails with `LOAD_ERR_FILE_READ`.
pub fn load_files(paths: &[impl AsRef<Path>], options: &LoadOptions) -> Loaded {
    let mut texts = Vec::with_capacity(paths.len());
    let mut early = Vec::new();
    for p in paths {
        let name = p.as_ref().display().to_string();
        match std::fs::read(p.as_ref()) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(t) => texts.push((name, t)),
                Err(e) => {
                    let at = e.utf8_error().valid_up_to();
                    early.push((
                        name.clone(),
                        Code::ErrYamlParse,
                        format!("invalid UTF-8 at byte {at}"),
                    ));
                    texts.push((name, String::new()));
                }
            },
            Err(e) => {
                early.push((
                    name.clone(),
                    Code::ErrFileRead,
                    format!("Could not read file {name}: {e}"),
                ));
                texts.push((name, String::new()));
            }
        }
    }
    load_owned(texts, early, options)
}

fn load_owned(
    sources: Vec<(String, String)>,
    early: Vec<(String, Code, String)>,
    options: &LoadOptions,
) -> Loaded {
    let mut col = read::Collector::default();
    let mut diags = Vec::new();
    let lookup = SourceSet(&options.sources);
    for (i, (name, text)) in sources.iter().enumerate() {
        if let Some((_, code, msg)) = early.iter().find(|(n, _, _)| n == name) {
            let root = Location {
                item_type: ItemType::RulesContent,
                item_name: String::new(),
                position: Position { name: name.clone(), ..Position::default() },
            };
            diags.push(Diagnostic::new(*code, msg.clone(), vec![root]));
            continue;
        }
        let mut reader =
            read::Reader { col: &mut col, sources: &lookup, file: i, name, diags: &mut diags };
        reader.read(text);
        let end = col.next_id();
        col.file_end_ids.insert(i, end);
    }
    let source_refs: Vec<&dyn Source> = options.sources.iter().map(|s| s.as_ref()).collect();
    let rules =
        compile::Compiler { col: &col, files: &sources, sources: &source_refs, diags: &mut diags }
            .compile();

    let mut plugin_requirements = Vec::new();
    for (req, ctx) in &col.plugin_requirements {
        let result = req.check(&options.plugins);
        if options.check_plugin_requirements
            && let Err(msg) = &result
        {
            diags.push(Diagnostic::new(Code::ErrValidate, msg.clone(), ctx.clone()));
        }
        plugin_requirements.push(PluginRequirementStatus { requirement: req.clone(), result });
    }

    let mut files: Vec<FileResult> = sources
        .iter()
        .enumerate()
        .map(|(i, (name, _))| FileResult {
            name: name.clone(),
            items: col.counts.get(&i).copied().unwrap_or_default(),
            schema_checked: col.schema.contains_key(&i),
            schema_warnings: col.schema.get(&i).cloned().unwrap_or_default(),
            ..FileResult::default()
        })
        .collect();
    for d in diags {
        // Falco reports a problem in the result of the file it was loading when the problem
        // arose: the latest file the item chain passes through (an append in a later file
        // that breaks a macro of an earlier one is the later file's error).
        let idx = d
            .locations
            .iter()
            .filter_map(|l| files.iter().position(|f| f.name == l.position.name))
            .max()
            .unwrap_or(files.len().saturating_sub(1));
        if let Some(f) = files.get_mut(idx) {
            if d.is_error() { f.errors.push(d) } else { f.warnings.push(d) }
        }
    }
    let ruleset = Ruleset {
        rules,
        required_engine_version: col.required_engine_version,
        plugin_requirements,
        list_count: col.lists.len(),
        macro_count: col.macros.len(),
        defined_rule_count: col.rules.len(),
    };
    Loaded { ruleset, files, sources }
}
