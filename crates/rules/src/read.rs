//! Reading: YAML items to the collection of lists, macros and rules, as Falco's
//! `rule_loader::reader` and `collector` do.
//!
//! Each item is decoded from its node (raw) and applied at once to the [`Collector`] (define,
//! append, replace, enable), in file order, so that redefinitions keep the first definition's
//! slot and appends see what came before. An item with an error is reported and skipped; unlike
//! Falco, reading goes on with the next item, so one pass reports every problem.

use std::collections::{BTreeSet, HashMap};

use crate::diag::{Code, Diagnostic, ItemCounts, ItemType, Location, Position};
use crate::ruleset::Priority;
use crate::version::{ENGINE_VERSION, PluginRequirement, PluginRequirementAlternatives, Version};
use crate::yaml::{self, Kind, Mark, Node};

/// Where a piece of text (a condition, an output) was written: file index and the node's mark.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Origin {
    pub file: usize,
    pub mark: Mark,
}

/// A value of an exception's `fields`, `comps` or `values`: a scalar or a (nested) list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    Item(String),
    List(Vec<Entry>),
}

#[derive(Clone, Debug)]
pub(crate) struct ExceptionInfo {
    pub name: String,
    pub fields: Option<Entry>,
    pub comps: Option<Entry>,
    pub values: Vec<Entry>,
    pub ctx: Vec<Location>,
}

#[derive(Clone, Debug)]
pub(crate) struct ListInfo {
    pub name: String,
    pub items: Vec<String>,
    pub index: usize,
    pub visibility: usize,
    pub ctx: Vec<Location>,
}

#[derive(Clone, Debug)]
pub(crate) struct MacroInfo {
    pub name: String,
    pub cond: String,
    pub cond_origins: Vec<Origin>,
    pub cond_ctx: Vec<Location>,
    pub index: usize,
    pub visibility: usize,
    pub ctx: Vec<Location>,
}

#[derive(Clone, Debug)]
pub(crate) struct RuleInfo {
    pub name: String,
    pub cond: String,
    pub cond_origins: Vec<Origin>,
    pub cond_ctx: Vec<Location>,
    pub output: String,
    pub output_origin: Option<Origin>,
    pub output_ctx: Vec<Location>,
    pub desc: String,
    pub priority: Priority,
    pub source: String,
    pub enabled: bool,
    pub tags: BTreeSet<String>,
    pub exceptions: Vec<ExceptionInfo>,
    pub warn_evttypes: bool,
    pub skip_if_unknown_filter: bool,
    pub capture: bool,
    pub capture_duration: u64,
    pub unknown_source: bool,
    pub index: usize,
    pub visibility: usize,
    /// The file that last defined, appended to or replaced the rule.
    pub last_file: usize,
    pub ctx: Vec<Location>,
    pub position: Position,
}

/// Lists, macros and rules by name, in order of first definition.
#[derive(Default, Debug)]
pub(crate) struct Collector {
    pub lists: Vec<ListInfo>,
    list_index: HashMap<String, usize>,
    pub macros: Vec<MacroInfo>,
    macro_index: HashMap<String, usize>,
    pub rules: Vec<RuleInfo>,
    rule_index: HashMap<String, usize>,
    cur_index: usize,
    pub required_engine_version: Option<Version>,
    pub plugin_requirements: Vec<(PluginRequirementAlternatives, Vec<Location>)>,
    /// Items per file index.
    pub counts: HashMap<usize, ItemCounts>,
    /// The item counter at the end of each file read: the macros a rule of that file may use
    /// are those defined before (Falco compiles after each file).
    pub file_end_ids: HashMap<usize, usize>,
    /// Schema problems per file index (a file with an entry was checked).
    pub schema: HashMap<usize, Vec<String>>,
}

impl Collector {
    pub(crate) fn list(&self, name: &str) -> Option<&ListInfo> {
        self.list_index.get(name).map(|&i| &self.lists[i])
    }

    pub(crate) fn macro_info(&self, name: &str) -> Option<&MacroInfo> {
        self.macro_index.get(name).map(|&i| &self.macros[i])
    }

    pub(crate) fn next_id(&mut self) -> usize {
        self.cur_index += 1;
        self.cur_index - 1
    }
}

/// What reading needs to know about the sources: which are loaded, and their fields.
pub(crate) trait SourceLookup {
    fn has_source(&self, name: &str) -> bool;
    fn is_field(&self, source: &str, field: &str) -> bool;
}

type R<T> = Result<T, Diagnostic>;

fn fail(code: Code, message: impl Into<String>, ctx: &[Location]) -> Diagnostic {
    Diagnostic::new(code, message, ctx.to_vec())
}

fn validate(message: impl Into<String>, ctx: &[Location]) -> Diagnostic {
    fail(Code::ErrValidate, message, ctx)
}

fn yaml_validate(message: impl Into<String>, ctx: &[Location]) -> Diagnostic {
    fail(Code::ErrYamlValidate, message, ctx)
}

const WARNING_APPEND: &str = "'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.";
const WARNING_ENABLED: &str = "The standalone 'enabled' key usage is deprecated. The correct approach requires also a 'replace' entry under the 'override' key (i.e. 'enabled: replace').";
const ERROR_OVERRIDE_APPEND: &str = "Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.";
const RGX_IDENTIFIER: &str = "([a-zA-Z]+[a-zA-Z0-9_]*)";
const RGX_BARESTR: &str = "([^()\"'[:space:]=,]+)";

const LIST_KEYS: &[&str] = &["list", "items", "append", "override"];
const MACRO_KEYS: &[&str] = &["macro", "condition", "append", "override"];
const RULE_KEYS: &[&str] = &[
    "rule",
    "condition",
    "output",
    "desc",
    "priority",
    "source",
    "enabled",
    "tags",
    "exceptions",
    "append",
    "override",
    "warn_evttypes",
    "skip-if-unknown-filter",
    "capture",
    "capture_duration",
];
const RULE_APPENDABLE: &[&str] = &["condition", "output", "desc", "tags", "exceptions"];
const RULE_REPLACEABLE: &[&str] = &[
    "condition",
    "output",
    "desc",
    "priority",
    "tags",
    "exceptions",
    "enabled",
    "warn_evttypes",
    "skip-if-unknown-filter",
    "capture",
    "capture_duration",
];

/// Whether a macro name matches libs' identifier grammar.
fn is_identifier(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphabetic()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// Whether a list name matches libs' bare-string grammar.
fn is_barestr(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || "()\"'=,".contains(c))
}

/// The reader of one file.
pub(crate) struct Reader<'a> {
    pub col: &'a mut Collector,
    pub sources: &'a dyn SourceLookup,
    pub file: usize,
    pub name: &'a str,
    pub diags: &'a mut Vec<Diagnostic>,
}

impl Reader<'_> {
    fn pos(&self, mark: Mark) -> Position {
        Position {
            name: self.name.to_owned(),
            line: mark.line,
            column: mark.column,
            offset: mark.offset,
        }
    }

    fn loc(&self, item_type: ItemType, item_name: &str, mark: Mark) -> Location {
        Location { item_type, item_name: item_name.to_owned(), position: self.pos(mark) }
    }

    fn child(&self, parent: &[Location], t: ItemType, name: &str, mark: Mark) -> Vec<Location> {
        let mut v = parent.to_vec();
        v.push(self.loc(t, name, mark));
        v
    }

    fn warn(&mut self, code: Code, message: impl Into<String>, ctx: &[Location]) {
        self.diags.push(fail(code, message, ctx));
    }

    /// Reads every document of the file.
    pub(crate) fn read(&mut self, text: &str) {
        let root = vec![self.loc(ItemType::RulesContent, "", Mark::default())];
        let docs = match yaml::parse(text) {
            Ok(docs) => docs,
            Err(e) => {
                let mut d = fail(
                    Code::ErrYamlParse,
                    format!(
                        "yaml error at line {}, column {}: {}",
                        e.mark.line + 1,
                        e.mark.column + 1,
                        e.message
                    ),
                    &root,
                );
                d.locations.push(self.loc(ItemType::RulesContent, "", e.mark));
                self.diags.push(d);
                return;
            }
        };
        let schema = self.col.schema.entry(self.file).or_default();
        for doc in &docs {
            schema.extend(crate::schema::validate(doc));
        }
        for doc in &docs {
            match &doc.kind {
                Kind::Null => {}
                Kind::Scalar(_) => {
                    self.diags.push(yaml_validate("Rules content is not yaml", &root));
                    return;
                }
                Kind::Map(_) => {
                    self.diags
                        .push(yaml_validate("Rules content is not yaml array of objects", &root));
                    return;
                }
                Kind::Seq(items) => {
                    for item in items {
                        if item.is_null() {
                            continue;
                        }
                        if let Err(d) = self.read_item(item, &root) {
                            self.diags.push(d);
                        }
                    }
                }
            }
        }
    }

    fn unknown_keys(&mut self, item: &Node, known: &[&str], ctx: &[Location]) {
        if let Kind::Map(entries) = &item.kind {
            for (k, _) in entries {
                let key = k.scalar().unwrap_or("");
                if !known.contains(&key) {
                    let ctx = ctx.to_vec();
                    self.warn(
                        Code::UnknownKey,
                        format!("Unknown key '{key}'. The key will be ignored."),
                        &ctx,
                    );
                }
            }
        }
    }

    fn read_item(&mut self, item: &Node, root: &[Location]) -> R<()> {
        if !item.is_map() {
            let ctx = self.child(root, ItemType::RulesContentItem, "", item.mark);
            return Err(yaml_validate(
                "Unexpected element type. Each element should be a yaml associative array.",
                &ctx,
            ));
        }
        let counts = self.col.counts.entry(self.file).or_default();
        let kind = ["required_engine_version", "required_plugin_versions", "list", "macro", "rule"]
            .into_iter()
            .find(|k| item.get(k).is_some());
        match kind {
            Some("list") => counts.lists += 1,
            Some("macro") => counts.macros += 1,
            Some("rule") => counts.rules += 1,
            _ => {}
        }
        if item.get("required_engine_version").is_some() {
            self.read_engine_version(item, root)
        } else if let Some(req) = item.get("required_plugin_versions") {
            self.read_plugin_versions(item, req, root)
        } else if item.get("list").is_some() {
            self.read_list(item, root)
        } else if item.get("macro").is_some() {
            self.read_macro(item, root)
        } else if item.get("rule").is_some() {
            self.read_rule(item, root)
        } else {
            let ctx = self.child(root, ItemType::RulesContentItem, "", item.mark);
            self.warn(Code::UnknownItem, "Unknown top level item", &ctx);
            Ok(())
        }
    }

    fn read_engine_version(&mut self, item: &Node, root: &[Location]) -> R<()> {
        let ctx = self.child(root, ItemType::RequiredEngineVersion, "", item.mark);
        self.unknown_keys(item, &["required_engine_version"], &ctx);
        let text = self.decode_str(item, "required_engine_version", &ctx)?.unwrap_or_default();
        let version = match text.parse::<u32>() {
            Ok(n) => Version::new(0, u64::from(n), 0),
            Err(_) => Version::parse(&text).ok_or_else(|| {
                yaml_validate(
                    format!("Unable to parse engine version '{text}' as a semver string. Expected \"x.y.z\" semver format."),
                    &ctx,
                )
            })?,
        };
        if !ENGINE_VERSION.compatible_with(version) {
            return Err(validate(
                format!(
                    "Rules require engine version {version}, but engine version is {ENGINE_VERSION}"
                ),
                &ctx,
            ));
        }
        if self.col.required_engine_version.is_none_or(|v| v < version) {
            self.col.required_engine_version = Some(version);
        }
        Ok(())
    }

    fn read_plugin_versions(&mut self, item: &Node, req: &Node, root: &[Location]) -> R<()> {
        let ctx = self.child(root, ItemType::RequiredPluginVersions, "", req.mark);
        self.unknown_keys(item, &["required_plugin_versions"], &ctx);
        let Some(entries) = req.seq() else {
            return Err(yaml_validate(
                "Value of required_plugin_versions must be a sequence",
                &ctx,
            ));
        };
        for plugin in entries {
            let tmp = self.child(&ctx, ItemType::RequiredPluginVersionsEntry, "", plugin.mark);
            if !plugin.is_map() {
                return Err(yaml_validate("Plugin version must be a mapping", &tmp));
            }
            let name = self.require_str(plugin, "name", &tmp)?;
            let pctx = self.child(&ctx, ItemType::RequiredPluginVersionsEntry, &name, plugin.mark);
            let version = self.require_str(plugin, "version", &pctx)?;
            let mut alternatives = vec![PluginRequirement { name, version }];
            if let Some(alts) = plugin.get("alternatives") {
                let Some(alts) = alts.seq() else {
                    return Err(yaml_validate(
                        "Value of plugin version alternatives must be a sequence",
                        &pctx,
                    ));
                };
                for alt in alts {
                    let tmp = self.child(
                        &pctx,
                        ItemType::RequiredPluginVersionsAlternative,
                        "",
                        alt.mark,
                    );
                    if !alt.is_map() {
                        return Err(yaml_validate(
                            "Plugin version alternative must be a mapping",
                            &tmp,
                        ));
                    }
                    let name = self.require_str(alt, "name", &tmp)?;
                    let actx = self.child(
                        &pctx,
                        ItemType::RequiredPluginVersionsAlternative,
                        &name,
                        alt.mark,
                    );
                    let version = self.require_str(alt, "version", &actx)?;
                    alternatives.push(PluginRequirement { name, version });
                }
            }
            let mut seen = BTreeSet::new();
            for r in &alternatives {
                if Version::parse(&r.version).is_none() {
                    return Err(validate(
                        format!("Invalid required version '{}' for plugin '{}'", r.version, r.name),
                        &pctx,
                    ));
                }
                if !seen.insert(r.name.clone()) {
                    return Err(validate(
                        format!(
                            "Defined multiple alternative version requirements for plugin '{}'",
                            r.name
                        ),
                        &pctx,
                    ));
                }
            }
            self.col
                .plugin_requirements
                .push((PluginRequirementAlternatives { alternatives }, pctx));
        }
        Ok(())
    }

    /// The deprecated `append: true` flag (warned about) and the `override` keys, which may not
    /// be given together: (the flag, the keys to append, the keys to replace).
    fn append_and_overrides(
        &mut self,
        item: &Node,
        appendable: &[&str],
        replaceable: &[&str],
        ctx: &[Location],
    ) -> R<(bool, BTreeSet<String>, BTreeSet<String>)> {
        let append = self.decode_bool(item, "append", ctx)?.unwrap_or(false);
        if append {
            self.warn(Code::DeprecatedItem, WARNING_APPEND, ctx);
        }
        let (oa, or) = self.overrides(item, appendable, replaceable, ctx)?;
        if append && (!oa.is_empty() || !or.is_empty()) {
            return Err(yaml_validate(ERROR_OVERRIDE_APPEND, ctx));
        }
        Ok((append, oa, or))
    }

    /// Falco's `decode_overrides`: the keys to append and to replace.
    fn overrides(
        &mut self,
        item: &Node,
        appendable: &[&str],
        replaceable: &[&str],
        ctx: &[Location],
    ) -> R<(BTreeSet<String>, BTreeSet<String>)> {
        let mut append = BTreeSet::new();
        let mut replace = BTreeSet::new();
        let Some(node) = item.get("override") else { return Ok((append, replace)) };
        let octx = self.child(ctx, ItemType::Overrides, "", node.mark);
        let Kind::Map(entries) = &node.kind else {
            return Err(yaml_validate("Value is not a map", &octx));
        };
        for (k, v) in entries {
            let key = k.scalar().unwrap_or_default().to_owned();
            let op = v.scalar().unwrap_or_default();
            let kctx = self.child(&octx, ItemType::Overrides, &key, k.mark);
            let can_append = appendable.contains(&key.as_str());
            let can_replace = replaceable.contains(&key.as_str());
            match op {
                "append" => {
                    if !can_append {
                        return Err(yaml_validate(
                            format!("Key '{key}' cannot be appended to, use 'replace' instead"),
                            &kctx,
                        ));
                    }
                    append.insert(key);
                }
                "replace" => {
                    if !can_replace {
                        return Err(yaml_validate(
                            format!("Key '{key}' cannot be replaced"),
                            &kctx,
                        ));
                    }
                    replace.insert(key);
                }
                _ => {
                    let vctx = self.child(&octx, ItemType::ValueFor, &key, v.mark);
                    let mut msg = format!(
                        "Invalid override operation for key '{key}': '{op}'. Allowed values are: "
                    );
                    if can_append {
                        msg.push_str("append ");
                    }
                    if can_replace {
                        msg.push_str("replace ");
                    }
                    return Err(yaml_validate(msg, &vctx));
                }
            }
        }
        Ok((append, replace))
    }

    fn read_list(&mut self, item: &Node, root: &[Location]) -> R<()> {
        let tmp = self.child(root, ItemType::List, "", item.mark);
        let name = self.require_str(item, "list", &tmp)?;
        let ctx = self.child(root, ItemType::List, &name, item.mark);
        self.unknown_keys(item, LIST_KEYS, &ctx);
        if !is_barestr(&name) {
            self.warn(
                Code::InvalidListName,
                format!("List has an invalid name. List names should match a regular expression: {RGX_BARESTR}"),
                &ctx,
            );
        }
        let items = self.decode_items(item, &ctx)?;
        let (flag, oa, _) = self.append_and_overrides(item, &["items"], &["items"], &ctx)?;
        let append = flag || oa.contains("items");
        let id = self.col.next_id();
        if append {
            let Some(&i) = self.col.list_index.get(&name) else {
                return Err(validate(
                    "List uses 'append' or 'override.items: append' but no list by that name already exists",
                    &ctx,
                ));
            };
            let prev = &mut self.col.lists[i];
            prev.items.extend(items);
            prev.visibility = id;
        } else {
            let info = ListInfo { name: name.clone(), items, index: id, visibility: id, ctx };
            define(&mut self.col.lists, &mut self.col.list_index, name, info, |p, n| {
                n.index = p.index;
            });
        }
        Ok(())
    }

    fn read_macro(&mut self, item: &Node, root: &[Location]) -> R<()> {
        let tmp = self.child(root, ItemType::Macro, "", item.mark);
        let name = self.require_str(item, "macro", &tmp)?;
        let ctx = self.child(root, ItemType::Macro, &name, item.mark);
        self.unknown_keys(item, MACRO_KEYS, &ctx);
        if !is_identifier(&name) {
            self.warn(
                Code::InvalidMacroName,
                format!("Macro has an invalid name. Macro names should match a regular expression: {RGX_IDENTIFIER}"),
                &ctx,
            );
        }
        let cond = self.require_str(item, "condition", &ctx)?;
        let cond_node = item.get("condition").map_or(item.mark, |n| n.mark);
        let cond_ctx = self.child(&ctx, ItemType::MacroCondition, "", cond_node);
        let origin = Origin { file: self.file, mark: cond_node };
        let (flag, oa, _) =
            self.append_and_overrides(item, &["condition"], &["condition"], &ctx)?;
        let append = flag || oa.contains("condition");
        let id = self.col.next_id();
        if append {
            let Some(&i) = self.col.macro_index.get(&name) else {
                return Err(validate(
                    "Macro uses 'append' or 'override.condition: append' but no macro by that name already exists",
                    &ctx,
                ));
            };
            let prev = &mut self.col.macros[i];
            prev.cond.push(' ');
            prev.cond.push_str(&cond);
            prev.cond_origins.push(origin);
            prev.visibility = id;
        } else {
            let info = MacroInfo {
                name: name.clone(),
                cond,
                cond_origins: vec![origin],
                cond_ctx,
                index: id,
                visibility: id,
                ctx,
            };
            define(&mut self.col.macros, &mut self.col.macro_index, name, info, |p, n| {
                n.index = p.index;
            });
        }
        Ok(())
    }

    fn read_rule(&mut self, item: &Node, root: &[Location]) -> R<()> {
        let tmp = self.child(root, ItemType::Rule, "", item.mark);
        let name = self.require_str(item, "rule", &tmp)?;
        let ctx = self.child(root, ItemType::Rule, &name, item.mark);
        self.unknown_keys(item, RULE_KEYS, &ctx);
        let (has_append_flag, oa, or) =
            self.append_and_overrides(item, RULE_APPENDABLE, RULE_REPLACEABLE, &ctx)?;
        let has_overrides = !oa.is_empty() || !or.is_empty();
        if has_overrides {
            let mut expected: BTreeSet<&str> = RULE_APPENDABLE
                .iter()
                .chain(RULE_REPLACEABLE)
                .copied()
                .filter(|k| item.get(k).is_some())
                .collect();
            for (op, keys) in [("append", &oa), ("replace", &or)] {
                for key in keys {
                    if !expected.remove(key.as_str()) {
                        return Err(yaml_validate(
                            format!(
                                "An {op} override for '{key}' was specified but '{key}' is not defined"
                            ),
                            &ctx,
                        ));
                    }
                }
            }
            if let Some(key) = expected.first() {
                let node = item.get(key).map_or(item.mark, |n| n.mark);
                let kctx = self.child(&ctx, ItemType::Overrides, key, node);
                return Err(yaml_validate(
                    format!(
                        "Unexpected key '{key}': no corresponding entry under 'override' is defined."
                    ),
                    &kctx,
                ));
            }
            // The source, when given, must be the rule's.
            let source = self.decode_str(item, "source", &ctx).ok().flatten();
            if !oa.is_empty() {
                let update = self.read_update(item, &oa, &ctx)?;
                self.append_rule(&name, update, source.as_deref(), &ctx)?;
            }
            if !or.is_empty() {
                let update = self.read_update(item, &or, &ctx)?;
                self.replace_rule(&name, update, source.as_deref(), &ctx)?;
            }
            return Ok(());
        }
        if has_append_flag {
            let keys: BTreeSet<String> = ["condition", "exceptions"]
                .into_iter()
                .filter(|k| item.get(k).is_some())
                .map(str::to_owned)
                .collect();
            let update = self.read_update(item, &keys, &ctx)?;
            let source = self.decode_str(item, "source", &ctx).ok().flatten();
            return self.append_rule(&name, update, source.as_deref(), &ctx);
        }
        if ["condition", "output", "desc", "priority"].iter().all(|k| item.get(k).is_none()) {
            let enabled = self.decode_bool(item, "enabled", &ctx)?;
            let Some(enabled) = enabled else {
                return Err(yaml_validate("Item has no mapping for key 'enabled'", &ctx));
            };
            self.warn(Code::DeprecatedItem, WARNING_ENABLED, &ctx);
            let Some(&i) = self.col.rule_index.get(&name) else {
                return Err(validate(
                    "Rule has 'enabled' key but no rule by that name already exists",
                    &ctx,
                ));
            };
            self.col.rules[i].enabled = enabled;
            return Ok(());
        }
        // A full definition.
        let cond = self.require_str(item, "condition", &ctx)?;
        let cond_mark = item.get("condition").map_or(item.mark, |n| n.mark);
        let cond_ctx = self.child(&ctx, ItemType::RuleCondition, "", cond_mark);
        let output = self.require_str(item, "output", &ctx)?;
        let out_mark = item.get("output").map_or(item.mark, |n| n.mark);
        let output_ctx = self.child(&ctx, ItemType::RuleOutput, "", out_mark);
        let desc = self.require_str(item, "desc", &ctx)?;
        let priority = self.decode_priority(item, &ctx)?;
        let source = self.decode_str(item, "source", &ctx)?.unwrap_or_else(|| "syscall".to_owned());
        let enabled = self.decode_bool(item, "enabled", &ctx)?.unwrap_or(true);
        let warn_evttypes = self.decode_bool(item, "warn_evttypes", &ctx)?.unwrap_or(true);
        let skip = self.decode_bool(item, "skip-if-unknown-filter", &ctx)?.unwrap_or(false);
        let capture = self.decode_bool(item, "capture", &ctx)?.unwrap_or(false);
        let capture_duration = self.decode_u64(item, "capture_duration", &ctx)?.unwrap_or(0);
        let tags = self.decode_tags(item, &ctx)?.unwrap_or_default();
        let exceptions = self.read_exceptions(item, &ctx, false)?.unwrap_or_default();

        if let Some(&i) = self.col.rule_index.get(&name)
            && self.col.rules[i].source != source
        {
            return Err(validate("Rule has been re-defined with a different source", &ctx));
        }
        let unknown_source = !self.sources.has_source(&source);
        if unknown_source {
            self.warn(Code::UnknownSource, format!("Unknown source {source}, skipping"), &ctx);
        }
        for ex in &exceptions {
            if ex.fields.is_none() {
                return Err(validate(
                    "Rule exception item must have fields property with a list of fields",
                    &ex.ctx,
                ));
            }
        }
        let mut exceptions = exceptions;
        for ex in &mut exceptions {
            self.validate_exception(ex, (!unknown_source).then_some(source.as_str()))?;
        }
        let id = self.col.next_id();
        let info = RuleInfo {
            name: name.clone(),
            cond,
            cond_origins: vec![Origin { file: self.file, mark: cond_mark }],
            cond_ctx,
            output: output.trim().to_owned(),
            output_origin: Some(Origin { file: self.file, mark: out_mark }),
            output_ctx,
            desc,
            priority,
            source,
            enabled,
            tags,
            exceptions,
            warn_evttypes,
            skip_if_unknown_filter: skip,
            capture,
            capture_duration,
            unknown_source,
            index: id,
            visibility: id,
            last_file: self.file,
            position: self.pos(item.mark),
            ctx,
        };
        define(&mut self.col.rules, &mut self.col.rule_index, name, info, |p, n| {
            n.index = p.index;
            n.position = p.position.clone();
        });
        Ok(())
    }

    /// The keys of an append or a replace, decoded.
    fn read_update(&mut self, item: &Node, keys: &BTreeSet<String>, ctx: &[Location]) -> R<Update> {
        let mut u = Update::default();
        for key in keys {
            match key.as_str() {
                "condition" => {
                    let mark = item.get("condition").map_or(item.mark, |n| n.mark);
                    u.cond = Some((
                        self.require_str(item, "condition", ctx)?,
                        Origin { file: self.file, mark },
                    ));
                }
                "output" => u.output = Some(self.require_str(item, "output", ctx)?),
                "desc" => u.desc = Some(self.require_str(item, "desc", ctx)?),
                "tags" => u.tags = self.decode_tags(item, ctx)?,
                "exceptions" => u.exceptions = self.read_exceptions(item, ctx, true)?,
                "priority" => u.priority = Some(self.decode_priority(item, ctx)?),
                "enabled" => u.enabled = Some(self.require_bool(item, "enabled", ctx)?),
                "warn_evttypes" => {
                    u.warn_evttypes = Some(self.require_bool(item, "warn_evttypes", ctx)?)
                }
                "skip-if-unknown-filter" => {
                    u.skip = Some(self.require_bool(item, "skip-if-unknown-filter", ctx)?);
                }
                "capture" => u.capture = Some(self.require_bool(item, "capture", ctx)?),
                "capture_duration" => {
                    u.capture_duration = self.decode_u64(item, "capture_duration", ctx)?;
                }
                _ => {}
            }
        }
        Ok(u)
    }

    fn prev_rule(
        &self,
        name: &str,
        source: Option<&str>,
        ctx: &[Location],
        missing: &str,
    ) -> R<usize> {
        let Some(&i) = self.col.rule_index.get(name) else {
            return Err(validate(missing, ctx));
        };
        if let Some(s) = source
            && !s.is_empty()
            && s != self.col.rules[i].source
        {
            return Err(validate("Rule has been re-defined with a different source", ctx));
        }
        Ok(i)
    }

    fn append_rule(
        &mut self,
        name: &str,
        u: Update,
        source: Option<&str>,
        ctx: &[Location],
    ) -> R<()> {
        let i = self.prev_rule(
            name,
            source,
            ctx,
            "Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists",
        )?;
        if u.is_empty() {
            return Err(validate("Appended rule must have exceptions or condition property", ctx));
        }
        let rule_source =
            (!self.col.rules[i].unknown_source).then(|| self.col.rules[i].source.clone());
        let mut new_exceptions = Vec::new();
        if let Some(exceptions) = u.exceptions {
            for mut ex in exceptions {
                let existing = self.col.rules[i].exceptions.iter().position(|e| e.name == ex.name);
                match existing {
                    None => {
                        if ex.fields.is_none() {
                            return Err(validate(
                                "Rule exception must have fields property with a list of fields",
                                &ex.ctx,
                            ));
                        }
                        if ex.values.is_empty() {
                            return Err(validate(
                                "Rule exception must have values property with a list of values",
                                &ex.ctx,
                            ));
                        }
                        self.validate_exception(&mut ex, rule_source.as_deref())?;
                        new_exceptions.push((None, ex));
                    }
                    Some(j) => {
                        if ex.fields.is_some() {
                            return Err(validate(
                                "Can not append exception fields to existing exception, only values",
                                &ex.ctx,
                            ));
                        }
                        if ex.comps.is_some() {
                            return Err(validate(
                                "Can not append exception comps to existing exception, only values",
                                &ex.ctx,
                            ));
                        }
                        new_exceptions.push((Some(j), ex));
                    }
                }
            }
        }
        let id = self.col.next_id();
        let prev = &mut self.col.rules[i];
        if let Some((cond, origin)) = u.cond
            && !cond.is_empty()
        {
            prev.cond.push(' ');
            prev.cond.push_str(&cond);
            prev.cond_origins.push(origin);
        }
        if let Some(output) = u.output
            && !output.is_empty()
        {
            prev.output.push(' ');
            prev.output.push_str(&output);
        }
        if let Some(desc) = u.desc
            && !desc.is_empty()
        {
            prev.desc.push(' ');
            prev.desc.push_str(&desc);
        }
        if let Some(tags) = u.tags {
            prev.tags.extend(tags);
        }
        for (j, ex) in new_exceptions {
            match j {
                Some(j) => prev.exceptions[j].values.extend(ex.values),
                None => prev.exceptions.push(ex),
            }
        }
        prev.visibility = id;
        prev.last_file = self.file;
        Ok(())
    }

    fn replace_rule(
        &mut self,
        name: &str,
        u: Update,
        source: Option<&str>,
        ctx: &[Location],
    ) -> R<()> {
        let i = self.prev_rule(
            name,
            source,
            ctx,
            "An 'override.<key>: replace' to a rule was requested but no rule by that name already exists",
        )?;
        let rule_source =
            (!self.col.rules[i].unknown_source).then(|| self.col.rules[i].source.clone());
        let mut exceptions = u.exceptions;
        if let Some(exs) = &mut exceptions {
            for ex in exs.iter_mut() {
                if ex.fields.is_none() {
                    return Err(yaml_validate("Item has no mapping for key 'fields'", &ex.ctx));
                }
                self.validate_exception(ex, rule_source.as_deref())?;
            }
        }
        let id = self.col.next_id();
        let prev = &mut self.col.rules[i];
        if let Some((cond, origin)) = u.cond {
            prev.cond = cond;
            prev.cond_origins = vec![origin];
        }
        if let Some(v) = u.output {
            prev.output = v;
        }
        if let Some(v) = u.desc {
            prev.desc = v;
        }
        if let Some(v) = u.tags {
            prev.tags = v;
        }
        if let Some(v) = exceptions {
            prev.exceptions = v;
        }
        if let Some(v) = u.priority {
            prev.priority = v;
        }
        if let Some(v) = u.enabled {
            prev.enabled = v;
        }
        if let Some(v) = u.warn_evttypes {
            prev.warn_evttypes = v;
        }
        if let Some(v) = u.skip {
            prev.skip_if_unknown_filter = v;
        }
        if let Some(v) = u.capture {
            prev.capture = v;
        }
        if let Some(v) = u.capture_duration {
            prev.capture_duration = v;
        }
        prev.visibility = id;
        prev.last_file = self.file;
        Ok(())
    }

    /// Falco's `validate_exception_info`: default comps, lengths, operators and fields.
    fn validate_exception(&self, ex: &mut ExceptionInfo, source: Option<&str>) -> R<()> {
        let ctx = ex.ctx.clone();
        match &ex.fields {
            Some(Entry::List(fields)) => {
                let n = fields.len();
                let comps = match ex.comps.take() {
                    None => vec![Entry::Item("=".to_owned()); n],
                    Some(Entry::List(c)) => c,
                    Some(Entry::Item(c)) => vec![Entry::Item(c)],
                };
                if comps.len() != n {
                    return Err(validate("Fields and comps lists must have equal length", &ctx));
                }
                let mut normalized = Vec::with_capacity(n);
                for c in comps {
                    let Entry::Item(c) = c else {
                        return Err(validate("Fields and comps must both be strings", &ctx));
                    };
                    let c = c.trim().to_owned();
                    if !is_exception_operator(&c) {
                        return Err(validate(
                            format!("'{c}' is not a supported comparison operator"),
                            &ctx,
                        ));
                    }
                    normalized.push(Entry::Item(c));
                }
                ex.comps = Some(Entry::List(normalized));
                if let Some(source) = source {
                    for f in fields {
                        let Entry::Item(f) = f else {
                            return Err(validate("Fields and comps must both be strings", &ctx));
                        };
                        if !self.sources.is_field(source, f) {
                            return Err(validate(
                                format!("'{f}' is not a supported filter field"),
                                &ctx,
                            ));
                        }
                    }
                }
            }
            Some(Entry::Item(field)) => {
                let comp = match ex.comps.take() {
                    None => "in".to_owned(),
                    Some(Entry::Item(c)) => c.trim().to_owned(),
                    Some(Entry::List(_)) => {
                        return Err(validate("Fields and comps must both be strings", &ctx));
                    }
                };
                let ok = matches!(comp.as_str(), "in" | "pmatch" | "intersects")
                    || (comp.contains(' ') && is_exception_operator(&comp));
                if !ok {
                    return Err(validate(
                        "When fields is a single value, comps must be one of (in, pmatch, intersects) or a modifier operator (e.g. startswith oneof)",
                        &ctx,
                    ));
                }
                ex.comps = Some(Entry::Item(comp));
                if let Some(source) = source
                    && !self.sources.is_field(source, field)
                {
                    return Err(validate(
                        format!("'{field}' is not a supported filter field"),
                        &ctx,
                    ));
                }
            }
            None => {}
        }
        Ok(())
    }

    fn read_exceptions(
        &mut self,
        item: &Node,
        parent: &[Location],
        append: bool,
    ) -> R<Option<Vec<ExceptionInfo>>> {
        let Some(exs) = item.get("exceptions") else { return Ok(None) };
        if exs.is_null() {
            return Ok(Some(Vec::new()));
        }
        let exes_ctx = self.child(parent, ItemType::Exceptions, "", exs.mark);
        let Some(list) = exs.seq() else {
            return Err(yaml_validate("Rule exceptions must be a sequence", &exes_ctx));
        };
        let mut out: Vec<ExceptionInfo> = Vec::new();
        for ex in list {
            let tmp = self.child(&exes_ctx, ItemType::Exception, "", ex.mark);
            if !ex.is_map() {
                return Err(yaml_validate("Rule exception must be a mapping", &tmp));
            }
            let name = self.require_str(ex, "name", &tmp)?;
            let ctx = self.child(parent, ItemType::Exception, &name, ex.mark);
            if out.iter().any(|e| e.name == name) {
                self.warn(
                    Code::ExceptionNameNotUnique,
                    format!("Multiple definitions of exception '{name}' in the same rule"),
                    &ctx,
                );
            }
            let fields = match ex.get("fields") {
                None if append => None,
                None => return Err(yaml_validate("Item has no mapping for key 'fields'", &ctx)),
                Some(n) => Some(self.entry(n, "fields", &ctx)?),
            };
            let comps = match ex.get("comps") {
                None => None,
                Some(n) => Some(self.entry(n, "comps", &ctx)?),
            };
            let mut values = Vec::new();
            match ex.get("values") {
                Some(vals) => {
                    let vctx = self.child(&ctx, ItemType::ExceptionValues, "", vals.mark);
                    let Some(vals) = vals.seq() else {
                        return Err(yaml_validate(
                            "Rule exception values must be a sequence",
                            &vctx,
                        ));
                    };
                    for v in vals {
                        let ictx = self.child(&vctx, ItemType::ExceptionValue, "", v.mark);
                        values.push(self.entry(v, "", &ictx)?);
                    }
                }
                None if append => {
                    self.warn(
                        Code::AppendNoValues,
                        "Overriding/appending exception with no values",
                        &ctx,
                    );
                }
                None => {}
            }
            out.push(ExceptionInfo { name, fields, comps, values, ctx });
        }
        Ok(Some(out))
    }

    /// Falco's `decode_exception_info_entry`.
    fn entry(&self, node: &Node, key: &str, ctx: &[Location]) -> R<Entry> {
        let vctx = self.child(ctx, ItemType::ValueFor, key, node.mark);
        match &node.kind {
            Kind::Scalar(s) => {
                if s.is_empty() {
                    return Err(yaml_validate("Value must be non-empty", &vctx));
                }
                Ok(Entry::Item(s.clone()))
            }
            Kind::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for v in items {
                    let lctx = self.child(&vctx, ItemType::Exception, "", v.mark);
                    out.push(self.entry(v, "", &lctx)?);
                }
                Ok(Entry::List(out))
            }
            Kind::Null => Err(yaml_validate("Value must be non-empty", &vctx)),
            Kind::Map(_) => {
                Err(yaml_validate("Expected values array to contain a list of strings", &vctx))
            }
        }
    }

    // Scalar decoding, as Falco's `decode_val`.

    fn decode_node<'n>(
        &self,
        item: &'n Node,
        key: &str,
        ctx: &[Location],
    ) -> R<Option<(&'n str, Vec<Location>)>> {
        let Some(val) = item.get(key) else { return Ok(None) };
        if val.is_null() {
            return Err(yaml_validate(format!("Mapping for key '{key}' is empty"), ctx));
        }
        let vctx = self.child(ctx, ItemType::ValueFor, key, val.mark);
        let Some(s) = val.scalar() else {
            return Err(yaml_validate("Value is not a scalar value", &vctx));
        };
        if s.is_empty() {
            return Err(yaml_validate("Value must be non-empty", &vctx));
        }
        Ok(Some((s, vctx)))
    }

    fn decode_str(&self, item: &Node, key: &str, ctx: &[Location]) -> R<Option<String>> {
        Ok(self.decode_node(item, key, ctx)?.map(|(s, _)| s.to_owned()))
    }

    fn require_str(&self, item: &Node, key: &str, ctx: &[Location]) -> R<String> {
        self.decode_str(item, key, ctx)?
            .ok_or_else(|| yaml_validate(format!("Item has no mapping for key '{key}'"), ctx))
    }

    fn decode_bool(&self, item: &Node, key: &str, ctx: &[Location]) -> R<Option<bool>> {
        let Some((s, vctx)) = self.decode_node(item, key, ctx)? else { return Ok(None) };
        match s {
            "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
                Ok(Some(true))
            }
            "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off"
            | "OFF" => Ok(Some(false)),
            _ => Err(yaml_validate("Can't decode YAML scalar value", &vctx)),
        }
    }

    fn require_bool(&self, item: &Node, key: &str, ctx: &[Location]) -> R<bool> {
        self.decode_bool(item, key, ctx)?
            .ok_or_else(|| yaml_validate(format!("Item has no mapping for key '{key}'"), ctx))
    }

    fn decode_u64(&self, item: &Node, key: &str, ctx: &[Location]) -> R<Option<u64>> {
        let Some((s, vctx)) = self.decode_node(item, key, ctx)? else { return Ok(None) };
        let parsed = match s.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => s.parse().ok(),
        };
        parsed.map(Some).ok_or_else(|| yaml_validate("Can't decode YAML scalar value", &vctx))
    }

    fn decode_priority(&self, item: &Node, ctx: &[Location]) -> R<Priority> {
        let text = self.require_str(item, "priority", ctx)?;
        let mark = item.get("priority").map_or(item.mark, |n| n.mark);
        Priority::parse(&text).map_err(|_| {
            yaml_validate("Invalid priority", &self.child(ctx, ItemType::RulePriority, "", mark))
        })
    }

    fn decode_seq(&self, item: &Node, key: &str, ctx: &[Location]) -> R<Option<Vec<String>>> {
        let Some(val) = item.get(key) else { return Ok(None) };
        let vctx = self.child(ctx, ItemType::ValueFor, key, val.mark);
        let Some(items) = val.seq() else {
            return Err(yaml_validate("Value is not a sequence", &vctx));
        };
        let mut out = Vec::with_capacity(items.len());
        for v in items {
            let Some(s) = v.scalar() else {
                let ictx = self.child(&vctx, ItemType::ListItem, "", v.mark);
                return Err(yaml_validate("sequence value is not scalar", &ictx));
            };
            out.push(s.to_owned());
        }
        Ok(Some(out))
    }

    fn decode_items(&self, item: &Node, ctx: &[Location]) -> R<Vec<String>> {
        self.decode_seq(item, "items", ctx)?
            .ok_or_else(|| yaml_validate("Item has no mapping for key 'items'", ctx))
    }

    fn decode_tags(&self, item: &Node, ctx: &[Location]) -> R<Option<BTreeSet<String>>> {
        Ok(self.decode_seq(item, "tags", ctx)?.map(|v| v.into_iter().collect()))
    }
}

/// The keys of a rule append or replace.
#[derive(Default)]
struct Update {
    cond: Option<(String, Origin)>,
    output: Option<String>,
    desc: Option<String>,
    tags: Option<BTreeSet<String>>,
    exceptions: Option<Vec<ExceptionInfo>>,
    priority: Option<Priority>,
    enabled: Option<bool>,
    warn_evttypes: Option<bool>,
    skip: Option<bool>,
    capture: Option<bool>,
    capture_duration: Option<u64>,
}

impl Update {
    fn is_empty(&self) -> bool {
        self.cond.is_none()
            && self.output.is_none()
            && self.desc.is_none()
            && self.tags.is_none()
            && self.exceptions.is_none()
            && self.priority.is_none()
            && self.enabled.is_none()
            && self.warn_evttypes.is_none()
            && self.skip.is_none()
            && self.capture.is_none()
            && self.capture_duration.is_none()
    }
}

/// Defines or redefines an item: a redefinition replaces it but keeps its slot (`keep` copies
/// what the new definition inherits from the old one).
fn define<T>(
    items: &mut Vec<T>,
    index: &mut HashMap<String, usize>,
    name: String,
    mut info: T,
    keep: impl FnOnce(&T, &mut T),
) {
    match index.get(&name) {
        Some(&i) => {
            keep(&items[i], &mut info);
            items[i] = info;
        }
        None => {
            index.insert(name, items.len());
            items.push(info);
        }
    }
}

/// Operators accepted in exception comps: libs' operators, and string operators with a
/// `oneof`/`anyof`/`allof` modifier.
pub(crate) fn is_exception_operator(op: &str) -> bool {
    const PLAIN: &[&str] = &[
        "=",
        "==",
        "!=",
        "<=",
        ">=",
        "<",
        ">",
        "contains",
        "icontains",
        "bcontains",
        "startswith",
        "bstartswith",
        "endswith",
        "glob",
        "iglob",
        "regex",
        "in",
        "intersects",
        "pmatch",
        "exists",
    ];
    const STRING_OPS: &[&str] = &[
        "=",
        "==",
        "!=",
        "contains",
        "icontains",
        "bcontains",
        "startswith",
        "bstartswith",
        "endswith",
        "glob",
        "iglob",
        "regex",
    ];
    if PLAIN.contains(&op) {
        return true;
    }
    let mut words = op.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some(base), Some(m), None) => {
            STRING_OPS.contains(&base) && matches!(m, "oneof" | "anyof" | "allof")
        }
        _ => false,
    }
}

/// Whether an exception comp takes a list on its right (a list operator, or a modifier).
pub(crate) fn comp_takes_list(op: &str) -> bool {
    matches!(op, "in" | "intersects" | "pmatch") || op.contains(' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_identifier("spawned_process"));
        assert!(!is_identifier("test-macro"));
        assert!(!is_identifier("1abc"));
        assert!(is_barestr("shell_binaries"));
        assert!(!is_barestr("test list"));
    }

    #[test]
    fn operators() {
        assert!(is_exception_operator("startswith oneof"));
        assert!(is_exception_operator("= oneof"));
        assert!(!is_exception_operator("in oneof"));
        assert!(!is_exception_operator(">= oneof"));
        assert!(!is_exception_operator("oneof"));
        assert!(!is_exception_operator("frobulate oneof"));
        assert!(!is_exception_operator("no-comp"));
    }
}
