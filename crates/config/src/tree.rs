//! The configuration as a YAML tree: key paths, `-o` overrides, merging drop-in files and
//! reading values with environment variables expanded.

use serde_yaml_ng::{Mapping, Value};

use crate::ConfigError;
use crate::positions::{Positions, child_index, child_key};

/// One step of a key path: a map key, a sequence index, or `[]` (append).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    Index(usize),
    Append,
}

/// Parses a key path as Falco's `-o` does: `a.b.c`, `list[2].x`, `list[]`, with `\.`, `\[`,
/// `\]` and `\\` escaping those characters in key names.
pub(crate) fn parse_path(path: &str) -> Result<Vec<Step>, ConfigError> {
    let bad = |why: &str| ConfigError::BadKey { key: path.to_owned(), why: why.to_owned() };
    let mut steps = Vec::new();
    let mut key = String::new();
    let mut chars = path.chars().peekable();
    // Whether the text since the last separator is a key (empty keys are errors, but `a[0]`
    // has no key after the index).
    let mut after_index = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('.' | '[' | ']' | '\\')) => key.push(e),
                _ => return Err(bad("a `\\` must escape `.`, `[`, `]` or `\\`")),
            },
            '.' => {
                if key.is_empty() && !after_index {
                    return Err(bad("an empty key name"));
                }
                if !key.is_empty() {
                    steps.push(Step::Key(std::mem::take(&mut key)));
                }
                after_index = false;
            }
            '[' => {
                if !key.is_empty() {
                    steps.push(Step::Key(std::mem::take(&mut key)));
                } else if steps.is_empty() {
                    return Err(bad("an index without a key"));
                }
                let mut digits = String::new();
                loop {
                    match chars.next() {
                        Some(']') => break,
                        Some(d) if d.is_ascii_digit() => digits.push(d),
                        _ => return Err(bad("an index must be digits in `[]`, or empty")),
                    }
                }
                steps.push(if digits.is_empty() {
                    Step::Append
                } else {
                    Step::Index(digits.parse().map_err(|_| bad("the index is too large"))?)
                });
                after_index = true;
            }
            ']' => return Err(bad("a `]` without `[`")),
            c => {
                if after_index {
                    return Err(bad("an index must be followed by `.`, `[` or the end"));
                }
                key.push(c);
            }
        }
    }
    if !key.is_empty() {
        steps.push(Step::Key(key));
    } else if steps.is_empty() || !after_index {
        return Err(bad("an empty key name"));
    }
    Ok(steps)
}

/// The value an `-o key=value` option sets: a YAML map when written `{...}` (as Falco parses
/// it), otherwise a scalar, typed as YAML types it (`true`, `5`, `text`).
pub(crate) fn parse_override_value(key: &str, text: &str) -> Result<Value, ConfigError> {
    let trimmed = text.trim();
    if trimmed.starts_with('{') && trimmed.ends_with('}') {
        return serde_yaml_ng::from_str(trimmed).map_err(|e| ConfigError::BadValue {
            key: key.to_owned(),
            why: format!("`{text}` is not a YAML map: {e}"),
        });
    }
    if text.is_empty() {
        return Ok(Value::String(String::new()));
    }
    // A scalar: YAML decides its type, but anything that would parse as a collection or a
    // document marker stays text.
    match serde_yaml_ng::from_str::<Value>(text) {
        Ok(v @ (Value::Bool(_) | Value::Number(_) | Value::String(_))) => Ok(v),
        Ok(Value::Null) if matches!(text, "null" | "~") => Ok(Value::Null),
        _ => Ok(Value::String(text.to_owned())),
    }
}

/// Sets the value at a path, creating maps (and appending to sequences) on the way.
pub(crate) fn set(
    root: &mut Value,
    path: &[Step],
    value: Value,
    key: &str,
) -> Result<String, ConfigError> {
    let bad = |why: String| ConfigError::BadKey { key: key.to_owned(), why };
    let mut node = root;
    let mut resolved = String::new();
    for (i, step) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        node = match step {
            Step::Key(k) => {
                if !matches!(node, Value::Mapping(_)) {
                    *node = Value::Mapping(Mapping::new());
                }
                let Value::Mapping(map) = node else { unreachable!("made a mapping above") };
                resolved = child_key(&resolved, k);
                map.entry(Value::String(k.clone())).or_insert(Value::Null)
            }
            Step::Index(_) | Step::Append => {
                if node.is_null() {
                    *node = Value::Sequence(Vec::new());
                }
                let Value::Sequence(seq) = node else {
                    return Err(bad(format!("`{}` is not a list", prefix(path, i))));
                };
                let n = match step {
                    Step::Index(n) => *n,
                    _ => seq.len(),
                };
                if n > seq.len() {
                    return Err(bad(format!(
                        "index {n} is past the end of `{}` ({} items)",
                        prefix(path, i),
                        seq.len()
                    )));
                }
                if n == seq.len() {
                    seq.push(Value::Null);
                }
                resolved = child_index(&resolved, n);
                &mut seq[n]
            }
        };
        if last {
            *node = value;
            return Ok(resolved);
        }
    }
    Err(bad("an empty key".to_owned()))
}

/// The path up to (not including) step `i`, for messages.
fn prefix(path: &[Step], i: usize) -> String {
    let mut out = String::new();
    for step in &path[..i] {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(n) => out.push_str(&format!("[{n}]")),
            Step::Append => out.push_str("[]"),
        }
    }
    out
}

/// The value at a path, if there is one.
pub(crate) fn get<'v>(root: &'v Value, path: &[Step]) -> Option<&'v Value> {
    let mut node = root;
    for step in path {
        node = match (step, node) {
            (Step::Key(k), Value::Mapping(map)) => map.get(k.as_str())?,
            (Step::Index(n), Value::Sequence(seq)) => seq.get(*n)?,
            _ => return None,
        };
    }
    Some(node)
}

/// How a drop-in file merges into the configuration (`config_files` entries' `strategy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MergeStrategy {
    /// Sequences are appended to, maps merged, scalars replaced (Falco's default).
    #[default]
    Append,
    /// Top-level keys of the drop-in replace the main file's.
    Override,
    /// Only keys the main file does not have are added.
    AddOnly,
}

impl MergeStrategy {
    pub(crate) fn parse(text: &str) -> Option<MergeStrategy> {
        match text {
            "append" => Some(MergeStrategy::Append),
            "override" => Some(MergeStrategy::Override),
            "add-only" => Some(MergeStrategy::AddOnly),
            _ => None,
        }
    }
}

/// Merges a drop-in's top-level keys into the root, moving the drop-in's positions (`src`)
/// to where its values land in `dst`.
pub(crate) fn merge(
    root: &mut Value,
    add: Value,
    strategy: MergeStrategy,
    dst: &mut Positions,
    src: &Positions,
) {
    merge_at(root, add, strategy, dst, src, "");
}

fn merge_at(
    root: &mut Value,
    add: Value,
    strategy: MergeStrategy,
    dst: &mut Positions,
    src: &Positions,
    prefix: &str,
) {
    let Value::Mapping(add) = add else { return };
    if !matches!(root, Value::Mapping(_)) {
        *root = Value::Mapping(Mapping::new());
    }
    let Value::Mapping(map) = root else { return };
    for (k, v) in add {
        let path = child_key(prefix, k.as_str().unwrap_or_default());
        match (strategy, map.get_mut(&k)) {
            (MergeStrategy::AddOnly, Some(_)) => {}
            (MergeStrategy::Append, Some(Value::Sequence(seq))) => match v {
                Value::Sequence(more) => {
                    for (i, item) in more.into_iter().enumerate() {
                        dst.take_under(src, &child_index(&path, i), &child_index(&path, seq.len()));
                        seq.push(item);
                    }
                }
                other => {
                    dst.take_under(src, &path, &child_index(&path, seq.len()));
                    seq.push(other);
                }
            },
            (MergeStrategy::Append, Some(existing @ Value::Mapping(_))) => {
                merge_at(existing, v, MergeStrategy::Append, dst, src, &path);
            }
            (_, Some(existing)) => {
                dst.remove_under(&path);
                dst.take_under(src, &path, &path);
                *existing = v;
            }
            (_, None) => {
                dst.remove_under(&path);
                dst.take_under(src, &path, &path);
                map.insert(k, v);
            }
        }
    }
}

/// Expands `${VAR}` in a configuration string as Falco does: an unset variable is empty,
/// `$${x}` is a literal `${x}`.
pub fn expand_env(text: &str, env: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(escaped) = tail.strip_prefix("$${") {
            // `$${x}`: the literal `${x}`.
            out.push_str("${");
            rest = escaped;
        } else if let Some(body) = tail.strip_prefix("${")
            && let Some(end) = body.find('}')
        {
            out.push_str(&env(&body[..end]).unwrap_or_default());
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(path: &str) -> Vec<Step> {
        parse_path(path).unwrap()
    }

    #[test]
    fn key_paths() {
        assert_eq!(steps("a.b"), [Step::Key("a".into()), Step::Key("b".into())]);
        assert_eq!(
            steps("plugins[0].open_params"),
            [Step::Key("plugins".into()), Step::Index(0), Step::Key("open_params".into())]
        );
        assert_eq!(steps("rules_files[]"), [Step::Key("rules_files".into()), Step::Append]);
        assert_eq!(steps(r"a\.b.c"), [Step::Key("a.b".into()), Step::Key("c".into())]);
        for bad in ["", ".a", "a..b", "a.", "[0]", "a[x]", "a]", r"a\q", "a[0]b"] {
            assert!(parse_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn overrides_create_and_append() {
        let mut root: Value =
            serde_yaml_ng::from_str("rules_files: [a.yaml]\nengine: {kind: kmod}").unwrap();
        let mut apply = |k: &str, v: &str| {
            let value = parse_override_value(k, v).unwrap();
            set(&mut root, &parse_path(k).unwrap(), value, k).unwrap();
        };
        apply("rules_files[]", "b.yaml");
        apply("engine.kind", "replay");
        apply("engine.replay.capture_file", "x.scap");
        apply("json_output", "true");
        apply("outputs_queue", "{capacity: 10}");
        let expected: Value = serde_yaml_ng::from_str(
            "rules_files: [a.yaml, b.yaml]\nengine: {kind: replay, replay: {capture_file: x.scap}}\n\
             json_output: true\noutputs_queue: {capacity: 10}",
        )
        .unwrap();
        assert_eq!(root, expected);
    }

    #[test]
    fn an_index_past_the_end_is_an_error() {
        let mut root: Value = serde_yaml_ng::from_str("l: [a]").unwrap();
        let err = set(&mut root, &parse_path("l[3]").unwrap(), Value::Null, "l[3]").unwrap_err();
        assert_eq!(err.to_string(), "bad key `l[3]`: index 3 is past the end of `l` (1 items)");
    }

    #[test]
    fn merging() {
        let base = || -> Value {
            serde_yaml_ng::from_str(
                "load_plugins: [a]\njson_output: false\nweb: {port: 1, tls: false}",
            )
            .unwrap()
        };
        let add: Value =
            serde_yaml_ng::from_str("load_plugins: [container]\njson_output: true\nweb: {port: 2}")
                .unwrap();
        let mut root = base();
        let none = Positions::default();
        merge(&mut root, add.clone(), MergeStrategy::Append, &mut Positions::default(), &none);
        let want: Value = serde_yaml_ng::from_str(
            "load_plugins: [a, container]\njson_output: true\nweb: {port: 2, tls: false}",
        )
        .unwrap();
        assert_eq!(root, want);
        let mut root = base();
        merge(&mut root, add.clone(), MergeStrategy::Override, &mut Positions::default(), &none);
        let want: Value =
            serde_yaml_ng::from_str("load_plugins: [container]\njson_output: true\nweb: {port: 2}")
                .unwrap();
        assert_eq!(root, want);
        let mut root = base();
        merge(&mut root, add, MergeStrategy::AddOnly, &mut Positions::default(), &none);
        assert_eq!(root, base());
    }

    #[test]
    fn environment_variables() {
        let env = |k: &str| (k == "HOME").then(|| "/root".to_owned());
        assert_eq!(expand_env("${HOME}/x", env), "/root/x");
        assert_eq!(expand_env("a${UNSET}b", env), "ab");
        assert_eq!(expand_env("$${HOME}", env), "${HOME}");
        assert_eq!(expand_env("cost $5 ${HOME", env), "cost $5 ${HOME");
    }
}
