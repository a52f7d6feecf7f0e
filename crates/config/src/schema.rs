//! The configuration checked against Falco's config JSON schema, plus lanner's own keys.
//!
//! Falco validates `falco.yaml` (each file, and the result of the `-o` options) against the
//! schema `falco --config-schema` prints, and only *warns* when it does not fit: a key it does
//! not know is ignored, a value of the wrong type is an error later, when the key is read. lanner
//! does the same: [`Config::check`](crate::Config::check) returns warnings, and the typed
//! [`Settings`](crate::Settings) fail on values they cannot use.
//!
//! The schema is Falco's file, verbatim (`schema/falco_config_schema.json`), with lanner's
//! keys added from `schema/lanner_extensions.json`. The checker implements what those files
//! use of JSON Schema (draft 6): `$ref` to `#/definitions`, `type`, `properties`,
//! `additionalProperties: false`, `required`, `enum`, `minProperties`, `minimum`, `maximum`,
//! `items`, `oneOf`, `anyOf`; `format` is not checked. Messages are lanner's (valijson's,
//! which Falco prints, name JSON pointers rather than keys), each naming the key path and
//! where it was written.
//!
//! A string holding `${VAR}` is accepted where the schema wants a number or a boolean:
//! it is expanded, and typed, when the setting is read.

use std::fmt;
use std::sync::OnceLock;

use serde_json::Value as Json;
use serde_yaml_ng::Value;

use crate::positions::{Origin, Positions, child_index, child_key};

/// Falco's configuration schema, as `falco --config-schema` prints it (Falco 0.44).
pub const FALCO_CONFIG_SCHEMA: &str = include_str!("../schema/falco_config_schema.json");
/// lanner's keys, merged into Falco's schema.
pub const LANNER_EXTENSIONS: &str = include_str!("../schema/lanner_extensions.json");

/// A key that does not fit the schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaWarning {
    /// The key path (`webserver.listen_port`, `plugins[0].name`).
    pub key: String,
    /// Where the key was written (the nearest enclosing key that has a place).
    pub origin: Option<Origin>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SchemaWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Some(origin) => write!(f, "{origin}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The merged schema (Falco's with lanner's keys), parsed once.
pub fn schema() -> &'static Json {
    static SCHEMA: OnceLock<Json> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        // Both files are part of the source and checked by tests: a parse failure is a
        // broken build, not a run-time condition.
        let mut base: Json =
            serde_json::from_str(FALCO_CONFIG_SCHEMA).unwrap_or(Json::Object(Default::default()));
        let ext: Json = serde_json::from_str(LANNER_EXTENSIONS).unwrap_or(Json::Null);
        extend(&mut base, &ext);
        base
    })
}

/// Adds lanner's properties and definitions to Falco's schema.
fn extend(base: &mut Json, ext: &Json) {
    if let (Some(props), Some(add)) = (
        base.pointer_mut("/definitions/FalcoConfig/properties").and_then(Json::as_object_mut),
        ext.get("properties").and_then(Json::as_object),
    ) {
        for (k, v) in add {
            props.insert(k.clone(), v.clone());
        }
    }
    let (Some(defs), Some(add)) = (
        base.get_mut("definitions").and_then(Json::as_object_mut),
        ext.get("definitions").and_then(Json::as_object),
    ) else {
        return;
    };
    for (name, def) in add {
        match defs.get_mut(name).and_then(|d| d.get_mut("properties")).and_then(Json::as_object_mut)
        {
            Some(props) => {
                for (k, v) in def.get("properties").and_then(Json::as_object).into_iter().flatten()
                {
                    props.insert(k.clone(), v.clone());
                }
            }
            None => {
                defs.insert(name.clone(), def.clone());
            }
        }
    }
}

/// Checks a configuration tree; the warnings come in the tree's order.
pub(crate) fn check(tree: &Value, positions: &Positions) -> Vec<SchemaWarning> {
    let root = schema();
    let mut checker = Checker { root, positions, out: Vec::new() };
    let top = root.get("$ref").map_or(root, |r| checker.resolve(r));
    if !tree.is_null() {
        checker.value(tree, top, "");
    }
    checker.out
}

struct Checker<'a> {
    root: &'a Json,
    positions: &'a Positions,
    out: Vec<SchemaWarning>,
}

impl<'a> Checker<'a> {
    fn resolve(&self, reference: &Json) -> &'a Json {
        let root: &'a Json = self.root;
        reference
            .as_str()
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|pointer| root.pointer(pointer))
            .unwrap_or(&Json::Null)
    }

    fn warn(&mut self, path: &str, message: String) {
        self.out.push(SchemaWarning {
            key: path.to_owned(),
            origin: self.positions.find(path).cloned(),
            message,
        });
    }

    /// Checks `value` at `path` against `schema`, reporting what does not fit.
    fn value(&mut self, value: &Value, schema: &'a Json, path: &str) {
        let schema = match schema.get("$ref") {
            Some(r) => self.resolve(r),
            None => schema,
        };
        if let Some(alternatives) =
            schema.get("oneOf").or_else(|| schema.get("anyOf")).and_then(Json::as_array)
        {
            self.alternatives(value, alternatives, path);
        }
        if let Some(wanted) = schema.get("type") {
            let types: Vec<&str> = match wanted {
                Json::String(t) => vec![t.as_str()],
                Json::Array(ts) => ts.iter().filter_map(Json::as_str).collect(),
                _ => Vec::new(),
            };
            if !types.is_empty() && !types.iter().any(|t| fits(value, t)) {
                let wanted: Vec<&str> = types.iter().map(|t| article(t)).collect();
                self.warn(
                    path,
                    format!(
                        "`{}`: expected {}, found {}",
                        display(path),
                        wanted.join(" or "),
                        found(value)
                    ),
                );
                return;
            }
        }
        if let Some(allowed) = schema.get("enum").and_then(Json::as_array)
            && !allowed.iter().any(|a| same(value, a))
        {
            let names: Vec<String> = allowed
                .iter()
                .map(|a| a.as_str().map_or_else(|| a.to_string(), str::to_owned))
                .collect();
            self.warn(
                path,
                format!(
                    "`{}`: `{}` is not one of {}",
                    display(path),
                    scalar_text(value),
                    names.join(", ")
                ),
            );
        }
        if let Some(n) = number(value) {
            if let Some(min) = schema.get("minimum").and_then(Json::as_f64)
                && n < min
            {
                self.warn(path, format!("`{}`: {n} is less than {min}", display(path)));
            }
            if let Some(max) = schema.get("maximum").and_then(Json::as_f64)
                && n > max
            {
                self.warn(path, format!("`{}`: {n} is more than {max}", display(path)));
            }
        }
        match value {
            Value::Mapping(map) => self.mapping(map, schema, path),
            Value::Sequence(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.value(item, item_schema, &child_index(path, i));
                    }
                }
            }
            _ => {}
        }
    }

    fn mapping(&mut self, map: &serde_yaml_ng::Mapping, schema: &'a Json, path: &str) {
        let props = schema.get("properties").and_then(Json::as_object);
        let closed = schema.get("additionalProperties") == Some(&Json::Bool(false));
        if let Some(min) = schema.get("minProperties").and_then(Json::as_u64)
            && (map.len() as u64) < min
        {
            self.warn(
                path,
                format!(
                    "`{}`: expected at least {min} key{}",
                    display(path),
                    if min == 1 { "" } else { "s" }
                ),
            );
        }
        for required in schema.get("required").and_then(Json::as_array).into_iter().flatten() {
            if let Some(name) = required.as_str()
                && !map.contains_key(name)
            {
                self.warn(path, format!("`{}`: the key `{name}` is missing", display(path)));
            }
        }
        for (k, v) in map {
            let name = match k {
                Value::String(s) => s.clone(),
                other => scalar_text(other),
            };
            let key_path = child_key(path, &name);
            match props.and_then(|p| p.get(&name)) {
                Some(sub) => self.value(v, sub, &key_path),
                None if closed => {
                    let known: Vec<&str> =
                        props.map(|p| p.keys().map(String::as_str).collect()).unwrap_or_default();
                    let hint = did_you_mean(&name, &known)
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_default();
                    self.warn(&key_path, format!("unknown key `{key_path}`{hint}"));
                }
                None => {}
            }
        }
    }

    /// `oneOf`/`anyOf`: fine when one alternative fits; otherwise the problems of the
    /// alternative whose type fits, or a list of the types wanted.
    fn alternatives(&mut self, value: &Value, alternatives: &'a [Json], path: &str) {
        let mut typed = None;
        for alt in alternatives {
            let mut probe = Checker { root: self.root, positions: self.positions, out: Vec::new() };
            probe.value(value, alt, path);
            if probe.out.is_empty() {
                return;
            }
            let alt = alt.get("$ref").map_or(alt, |r| self.resolve(r));
            let type_fits = alt.get("type").and_then(Json::as_str).is_none_or(|t| fits(value, t));
            if type_fits && typed.is_none() {
                typed = Some(probe.out);
            }
        }
        match typed {
            Some(problems) => self.out.extend(problems),
            None => {
                let wanted: Vec<&str> = alternatives
                    .iter()
                    .map(|a| a.get("$ref").map_or(a, |r| self.resolve(r)))
                    .filter_map(|a| a.get("type").and_then(Json::as_str))
                    .map(article)
                    .collect();
                self.warn(
                    path,
                    format!(
                        "`{}`: expected {}, found {}",
                        display(path),
                        wanted.join(" or "),
                        found(value)
                    ),
                );
            }
        }
    }
}

/// The path as shown in messages (the root is the whole file).
fn display(path: &str) -> &str {
    if path.is_empty() { "(top level)" } else { path }
}

/// Whether a YAML value has a JSON Schema type.
fn fits(value: &Value, ty: &str) -> bool {
    let templated = matches!(value, Value::String(s) if s.contains("${"));
    match ty {
        "object" => value.is_mapping(),
        "array" => value.is_sequence(),
        "string" => value.is_string(),
        "boolean" => value.is_bool() || templated,
        "integer" => value.is_i64() || value.is_u64() || templated,
        "number" => value.is_number() || templated,
        "null" => value.is_null(),
        _ => true,
    }
}

fn article(ty: &str) -> &'static str {
    match ty {
        "object" => "a map",
        "array" => "a list",
        "string" => "a string",
        "boolean" => "a boolean",
        "integer" => "an integer",
        "number" => "a number",
        "null" => "null",
        _ => "a value",
    }
}

fn found(value: &Value) -> String {
    match value {
        Value::Null => "nothing".to_owned(),
        Value::Mapping(_) | Value::Sequence(_) | Value::Tagged(_) => crate::kind(value).to_owned(),
        scalar => format!("{} (`{}`)", crate::kind(scalar), scalar_text(scalar)),
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => "null".to_owned(),
        other => crate::kind(other).to_owned(),
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

fn same(value: &Value, allowed: &Json) -> bool {
    match (value, allowed) {
        (Value::String(a), Json::String(b)) => a == b,
        (Value::Bool(a), Json::Bool(b)) => a == b,
        (Value::Number(a), Json::Number(b)) => a.as_f64() == b.as_f64(),
        _ => false,
    }
}

/// The known name closest to a misspelt one, when it is close enough to be what was meant.
pub(crate) fn did_you_mean<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (levenshtein(name, k), *k))
        .filter(|(d, k)| *d <= (k.len().max(name.len()) / 3).max(1))
        .min()
        .map(|(_, k)| k)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut row = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            row[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(row[j] + 1);
        }
        prev = row;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_files_parse_and_merge() {
        assert!(serde_json::from_str::<Json>(FALCO_CONFIG_SCHEMA).is_ok());
        assert!(serde_json::from_str::<Json>(LANNER_EXTENSIONS).is_ok());
        let s = schema();
        assert!(s.pointer("/definitions/FalcoConfig/properties/outputs").is_some());
        assert!(s.pointer("/definitions/HTTPOutput/properties/spool_dir").is_some());
        assert!(s.pointer("/definitions/HTTPOutput/properties/url").is_some());
        assert!(s.pointer("/definitions/SyslogOutput/properties/ident").is_some());
    }

    #[test]
    fn close_names() {
        assert_eq!(did_you_mean("listen_prot", &["listen_port", "enabled"]), Some("listen_port"));
        assert_eq!(did_you_mean("zzz", &["listen_port", "enabled"]), None);
    }
}
