//! The rules JSON schema (`falco --rule-schema`), checked as Falco checks it: schema problems
//! are reported, never fatal.
//!
//! Falco validates each YAML document with valijson in *weak types* mode over yaml-cpp nodes:
//! every scalar is a string, and is also a boolean when it reads `true`/`false` and an integer
//! when it parses as one. The schema is small and fixed, so it is written out here as code
//! rather than interpreted (a JSON-schema crate would be a large dependency for a dozen
//! properties); `tests/schema.rs` checks this code against the schema file itself.

use crate::yaml::{Kind, Node};

/// A schema check: `(path, problem)` pairs, empty when the document is valid.
pub(crate) fn validate(doc: &Node) -> Vec<String> {
    let mut out = Vec::new();
    match &doc.kind {
        Kind::Null => {}
        Kind::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                falco_rule(item, &format!("[{i}]"), &mut out);
            }
        }
        _ => out.push(fail("", "value must be an array")),
    }
    out
}

fn fail(path: &str, what: &str) -> String {
    format!("failed for <root>{path}: {what}")
}

/// Top-level item keys and their checks.
const RULE_PROPERTIES: &[(&str, Check)] = &[
    ("required_engine_version", Check::String),
    ("required_plugin_versions", Check::PluginVersions),
    ("macro", Check::String),
    ("condition", Check::String),
    ("list", Check::String),
    ("items", Check::Items),
    ("rule", Check::String),
    ("desc", Check::String),
    ("enabled", Check::Bool),
    ("output", Check::String),
    ("append", Check::Bool),
    ("priority", Check::Priority),
    ("capture", Check::Bool),
    ("capture_duration", Check::Integer),
    ("source", Check::String),
    ("exceptions", Check::Exceptions),
    ("override", Check::Override),
    ("tags", Check::Strings),
    ("warn_evttypes", Check::Bool),
    ("skip-if-unknown-filter", Check::Bool),
];

const OVERRIDE_KEYS: &[&str] = &[
    "items",
    "desc",
    "condition",
    "output",
    "priority",
    "enabled",
    "exceptions",
    "capture",
    "capture_duration",
    "tags",
    "warn_evttypes",
    "skip-if-unknown-filter",
];

const PRIORITIES: &[&str] = &[
    "EMERGENCY",
    "ALERT",
    "CRITICAL",
    "ERROR",
    "WARNING",
    "NOTICE",
    "INFO",
    "INFORMATIONAL",
    "DEBUG",
];

#[derive(Clone, Copy)]
enum Check {
    String,
    Bool,
    Integer,
    Priority,
    Items,
    Strings,
    Exceptions,
    Override,
    PluginVersions,
}

fn is_scalar(n: &Node) -> bool {
    matches!(n.kind, Kind::Scalar(_))
}

fn object<'n>(n: &'n Node, path: &str, out: &mut Vec<String>) -> Option<&'n [(Node, Node)]> {
    match &n.kind {
        Kind::Map(entries) => Some(entries),
        _ => {
            out.push(fail(path, "value must be an object"));
            None
        }
    }
}

fn falco_rule(n: &Node, path: &str, out: &mut Vec<String>) {
    let Some(entries) = object(n, path, out) else { return };
    for (k, v) in entries {
        let key = k.scalar().unwrap_or("");
        let kpath = format!("{path}.{key}");
        match RULE_PROPERTIES.iter().find(|(name, _)| *name == key) {
            None => out.push(fail(path, &format!("additional property '{key}' is not allowed"))),
            Some((_, check)) => value(*check, v, &kpath, out),
        }
    }
}

fn value(check: Check, v: &Node, path: &str, out: &mut Vec<String>) {
    let scalar = v.scalar();
    match check {
        Check::String => {
            if !is_scalar(v) {
                out.push(fail(path, "value must be a string"));
            }
        }
        Check::Bool => {
            if !matches!(scalar, Some("true" | "false")) {
                out.push(fail(path, "value must be a boolean"));
            }
        }
        Check::Integer => {
            if scalar.is_none_or(|s| s.parse::<i64>().is_err()) {
                out.push(fail(path, "value must be an integer"));
            }
        }
        Check::Priority => {
            if scalar.is_none_or(|s| !PRIORITIES.contains(&s)) {
                out.push(fail(path, "value must be one of the priorities"));
            }
        }
        Check::Items | Check::Strings => match v.seq() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    if !is_scalar(item) {
                        out.push(fail(&format!("{path}[{i}]"), "value must be a string"));
                    }
                }
            }
            None => out.push(fail(path, "value must be an array")),
        },
        Check::Exceptions => match v.seq() {
            Some(items) => {
                for (i, ex) in items.iter().enumerate() {
                    let epath = format!("{path}[{i}]");
                    let Some(entries) = object(ex, &epath, out) else { continue };
                    if ex.get("name").is_none() {
                        out.push(fail(&epath, "missing required property 'name'"));
                    }
                    for (k, v) in entries {
                        match k.scalar().unwrap_or("") {
                            "name" => value(Check::String, v, &format!("{epath}.name"), out),
                            "fields" | "comps" | "values" => {}
                            other => out.push(fail(
                                &epath,
                                &format!("additional property '{other}' is not allowed"),
                            )),
                        }
                    }
                }
            }
            None => out.push(fail(path, "value must be an array")),
        },
        Check::Override => {
            let Some(entries) = object(v, path, out) else { return };
            if entries.is_empty() {
                out.push(fail(path, "object must have at least 1 property"));
            }
            for (k, v) in entries {
                let key = k.scalar().unwrap_or("");
                if !OVERRIDE_KEYS.contains(&key) {
                    out.push(fail(path, &format!("additional property '{key}' is not allowed")));
                } else if !matches!(v.scalar(), Some("append" | "replace")) {
                    out.push(fail(&format!("{path}.{key}"), "value must be 'append' or 'replace'"));
                }
            }
        }
        Check::PluginVersions => match v.seq() {
            Some(items) => {
                for (i, p) in items.iter().enumerate() {
                    plugin_version(p, &format!("{path}[{i}]"), true, out);
                }
            }
            None => out.push(fail(path, "value must be an array")),
        },
    }
}

fn plugin_version(p: &Node, path: &str, alternatives: bool, out: &mut Vec<String>) {
    let Some(entries) = object(p, path, out) else { return };
    for required in ["name", "version"] {
        if p.get(required).is_none() {
            out.push(fail(path, &format!("missing required property '{required}'")));
        }
    }
    for (k, v) in entries {
        let key = k.scalar().unwrap_or("");
        let kpath = format!("{path}.{key}");
        match key {
            "name" | "version" => value(Check::String, v, &kpath, out),
            "alternatives" if alternatives => match v.seq() {
                Some(alts) => {
                    for (i, a) in alts.iter().enumerate() {
                        plugin_version(a, &format!("{kpath}[{i}]"), false, out);
                    }
                }
                None => out.push(fail(&kpath, "value must be an array")),
            },
            _ => out.push(fail(path, &format!("additional property '{key}' is not allowed"))),
        }
    }
}

/// The property names the code above knows, by schema definition, for the test that compares
/// them with the schema file.
#[doc(hidden)]
pub fn known_properties() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("FalcoRule", RULE_PROPERTIES.iter().map(|(k, _)| *k).collect()),
        ("Override", OVERRIDE_KEYS.to_vec()),
        ("Exception", vec!["name", "fields", "comps", "values"]),
        ("RequiredPluginVersion", vec!["name", "version", "alternatives"]),
        ("Alternative", vec!["name", "version"]),
        ("Priority", PRIORITIES.to_vec()),
    ]
}
