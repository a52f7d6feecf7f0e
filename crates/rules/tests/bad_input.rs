//! Hostile and broken input: every case gives a clear error (or loads), never a panic or a
//! hang. Each test names what it feeds the loader.

use std::time::{Duration, Instant};

use lanner_rules::{Code, LoadOptions, Loaded, load, load_bytes};

/// Loads one file and checks it took less than a few seconds (the machine is shared and the
/// test profile barely optimised; what matters is that nothing is quadratic or exponential).
fn load_one(text: &str) -> Loaded {
    let start = Instant::now();
    let loaded = load(&[("bad.yaml", text)], &LoadOptions::default());
    assert!(start.elapsed() < Duration::from_secs(20), "took {:?}", start.elapsed());
    loaded
}

fn first_error(loaded: &Loaded) -> (Code, String) {
    let e = loaded.errors().next().unwrap_or_else(|| panic!("no error:\n{}", loaded.render()));
    (e.code, e.message.clone())
}

const RULE: &str = "
- rule: r
  desc: d
  output: o
  priority: INFO
  condition: ";

#[test]
fn document_is_a_scalar() {
    let loaded = load_one("just some text");
    assert_eq!(first_error(&loaded), (Code::ErrYamlValidate, "Rules content is not yaml".into()));
}

#[test]
fn document_is_a_map() {
    let loaded = load_one("rule: x\ndesc: y\n");
    assert_eq!(
        first_error(&loaded),
        (Code::ErrYamlValidate, "Rules content is not yaml array of objects".into())
    );
}

#[test]
fn empty_and_null_documents_load() {
    for text in ["", "---\n", "~\n", "- \n- ~\n", "# only a comment\n"] {
        let loaded = load_one(text);
        assert!(loaded.successful(), "{text:?}: {}", loaded.render());
    }
}

#[test]
fn binary_junk() {
    let junk: String =
        (0u32..4000).map(|i| char::from_u32((i * 7919) % 0x2FF).unwrap_or('?')).collect();
    let loaded = load_one(&junk);
    assert!(!loaded.successful(), "{junk:?}\n{}", loaded.render());
    let bytes: Vec<u8> = (0u32..4000).map(|i| (i * 131 % 256) as u8).collect();
    let loaded = load_bytes(&[("junk.bin", &bytes)], &LoadOptions::default());
    assert!(!loaded.successful());
}

#[test]
fn invalid_utf8() {
    let bytes = b"- rule: r\n  desc: \xff\xfe\n";
    let loaded = load_bytes(&[("bad.yaml", bytes)], &LoadOptions::default());
    assert_eq!(first_error(&loaded), (Code::ErrYamlParse, "invalid UTF-8 at byte 18".into()));
    // A good file next to it still loads its items.
    let good = b"- list: l\n  items: [a]\n";
    let loaded = load_bytes(&[("bad.yaml", bytes), ("good.yaml", good)], &LoadOptions::default());
    assert!(loaded.files[1].errors.is_empty());
}

#[test]
fn deeply_nested_yaml() {
    let text = format!("- rule: x\n  desc: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let loaded = load_one(&text);
    assert_eq!(first_error(&loaded).0, Code::ErrYamlParse);
}

#[test]
fn deeply_nested_condition() {
    let cond = format!("{}evt.type = open{}", "(".repeat(5000), ")".repeat(5000));
    let loaded = load_one(&format!("{RULE}\"{cond}\"\n"));
    let (code, message) = first_error(&loaded);
    assert_eq!(code, Code::ErrCompileCondition);
    assert!(message.contains("max depth"), "{message}");
    // Within Falco's limit for rules, it loads.
    let cond = format!("{}evt.type = open{}", "(".repeat(100), ")".repeat(100));
    let loaded = load_one(&format!("{RULE}\"{cond}\"\n"));
    assert!(loaded.successful(), "{}", loaded.render());
}

#[test]
fn huge_list() {
    let items: Vec<String> = (0..100_000).map(|i| format!("bin{i}")).collect();
    let text = format!(
        "- list: big\n  items: [{}]\n{RULE}evt.type = execve and proc.name in (big)\n",
        items.join(", ")
    );
    let loaded = load_one(&text);
    assert!(loaded.successful(), "{}", loaded.render());
}

#[test]
fn macro_referring_to_itself() {
    let loaded = load_one(&format!("- macro: m\n  condition: m and evt.type = open\n{RULE}m\n"));
    let (code, message) = first_error(&loaded);
    assert_eq!(code, Code::ErrValidate);
    assert_eq!(message, "Undefined macro 'm' used in filter.");
}

#[test]
fn macros_referring_to_each_other() {
    // A macro may only use macros defined before it, so a loop is an undefined macro for the
    // first of the two; the rule, which sees both, reports the loop.
    let text = format!("- macro: a\n  condition: b\n- macro: b\n  condition: a\n{RULE}a\n");
    let loaded = load_one(&text);
    let messages: Vec<&str> = loaded.errors().map(|d| d.message.as_str()).collect();
    assert!(messages.contains(&"Undefined macro 'b' used in filter."), "{messages:?}");
    assert!(messages.contains(&"reference loop in macro 'a'"), "{messages:?}");
}

#[test]
fn exponential_macro_expansion() {
    let mut text = String::from("- macro: m0\n  condition: evt.type = open\n");
    for i in 1..40 {
        text.push_str(&format!("- macro: m{i}\n  condition: m{} or m{}\n", i - 1, i - 1));
    }
    text.push_str(&format!("{RULE}m39\n"));
    let loaded = load_one(&text);
    let (code, message) = first_error(&loaded);
    assert_eq!(code, Code::ErrCompileCondition);
    assert!(message.contains("expands to more than"), "{message}");
}

#[test]
fn alias_bomb() {
    let mut text = String::from("- list: l\n  items: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        text.push_str(&format!(
            "- list: l{i}\n  items: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let loaded = load_one(&text);
    assert_eq!(first_error(&loaded).0, Code::ErrYamlParse);
}

#[test]
fn wrong_types_everywhere() {
    let text = "
- rule: [a, b]
- macro: {x: y}
- list: l
  items: {a: b}
- list: l2
  items: [[nested]]
- rule: r
  desc: d
  condition: evt.type = open
  output: o
  priority: [INFO]
- rule: r2
  desc: d
  condition: evt.type = open
  output: o
  priority: INFO
  tags: tag
- rule: r3
  desc: d
  condition: evt.type = open
  output: o
  priority: INFO
  exceptions: {name: x}
- 42
- required_plugin_versions: 7
";
    let loaded = load_one(text);
    let messages: Vec<&str> = loaded.errors().map(|d| d.message.as_str()).collect();
    // Every bad item is reported, not only the first.
    assert!(messages.len() >= 8, "{messages:?}");
    for m in [
        "Value is not a scalar value",
        "Value is not a sequence",
        "sequence value is not scalar",
        "Rule exceptions must be a sequence",
        "Unexpected element type. Each element should be a yaml associative array.",
        "Value of required_plugin_versions must be a sequence",
    ] {
        assert!(messages.contains(&m), "missing {m:?} in {messages:?}");
    }
}

#[test]
fn crlf_and_tabs() {
    let text = "- macro: m\r\n  condition: evt.type = open\r\n- rule: r\r\n  desc: d\r\n  condition: m\r\n  output: o\r\n  priority: INFO\r\n";
    let loaded = load_one(text);
    assert!(loaded.successful(), "{}", loaded.render());
    let loaded = load_one("- rule: r\n\tdesc: d\n");
    assert!(!loaded.successful());
}

#[test]
fn a_rule_cannot_use_a_macro_of_a_later_file() {
    let first = "- rule: r\n  desc: d\n  output: o\n  priority: INFO\n  condition: later_macro\n";
    let second = "- macro: later_macro\n  condition: evt.type = open\n";
    let loaded = load(&[("first.yaml", first), ("second.yaml", second)], &LoadOptions::default());
    assert_eq!(first_error(&loaded).1, "Undefined macro 'later_macro' used in filter.");
    // The other way round, it loads.
    let loaded = load(&[("second.yaml", second), ("first.yaml", first)], &LoadOptions::default());
    assert!(loaded.successful(), "{}", loaded.render());
}

/// Found by the fuzzer (`fuzz/regressions/rules_loader/render-range-ends-inside-a-character`):
/// a parse error at a two-byte control character is a one-byte range, which ended inside the
/// character when rendered.
#[test]
fn render_range_ends_inside_a_character() {
    let loaded = load_one("- rule: r\n  output: K8s \u{8a}dit Event received\n");
    assert_eq!(first_error(&loaded).0, Code::ErrYamlParse);
    assert!(loaded.render().contains("control character U+008A"), "{}", loaded.render());
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/regressions/rules_loader/render-range-ends-inside-a-character"
    );
    let data = std::fs::read(path).unwrap_or_default();
    assert!(!data.is_empty());
    let _ = load_bytes(&[("crash.yaml", &data)], &LoadOptions::default()).render();
}
