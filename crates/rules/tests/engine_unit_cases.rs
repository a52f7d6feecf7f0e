//! Falco's engine unit tests, as data: `falco_unit_tests_engine/engine_unit_test_cases.json`
//! (123 gtest cases of falco master's `unit_tests/engine/*.cpp`): whether the rules load, the
//! exact compiled conditions, the error and warning messages, and the rule details `-L` shows.
//!
//! Every case runs unless listed in [`SKIPPED`] with the reason; the test fails if a case is
//! neither run nor skipped, or if a skipped case would now pass (so the list stays honest).

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use serde_json::Value;

use lanner_rules::{LoadOptions, Loaded, load};

/// Cases not run, and why.
const SKIPPED: &[(&str, &str)] = &[
    // Engine-level APIs, not the loader's: run in crates/lanner/tests/engine_unit_cases.rs
    // with lanner-engine and lanner-outputs, call for call.
    ("enable_rule_name", "engine: crates/lanner/tests/engine_unit_cases.rs"),
    ("enable_rule_tags", "engine: crates/lanner/tests/engine_unit_cases.rs"),
    ("enable_disabled_rule_by_tag", "engine: crates/lanner/tests/engine_unit_cases.rs"),
    ("enable_rule_id", "engine: crates/lanner/tests/engine_unit_cases.rs"),
    ("enable_rule_name_exact", "engine: crates/lanner/tests/engine_unit_cases.rs"),
    ("enable_disable_rules_using_names", "engine: crates/lanner/tests/engine_unit_cases.rs"),
    ("enable_disable_rules_using_tags", "engine: crates/lanner/tests/engine_unit_cases.rs"),
    ("extra_format_all", "append_output: crates/lanner/tests/engine_unit_cases.rs"),
    ("extra_format_by_rule", "append_output: crates/lanner/tests/engine_unit_cases.rs"),
    ("extra_format_by_tag_rule", "append_output: crates/lanner/tests/engine_unit_cases.rs"),
    (
        "enable_rule_name_wildcard",
        "the fixture records no operations and the upstream test's source is not at hand; \
         wildcard selection is tested in lanner-engine",
    ),
    // No inline rules: C++ API tests of plugin checks, alternate loaders and sources.
    ("check_plugin_requirements_success", "no rules text; covered by version.rs unit tests"),
    ("check_plugin_requirements_reject", "no rules text; covered by version.rs unit tests"),
    ("load_rules", "tests Falco's pluggable C++ loader classes"),
    ("pass_compile_output_to_ruleset", "tests Falco's pluggable C++ loader classes"),
    ("falco_engine_alternate_loader", "tests Falco's pluggable C++ loader classes"),
    ("clone_compile_output", "tests Falco's pluggable C++ loader classes"),
    ("basic", "tests Falco's add_source C++ API"),
];

/// The rule that the exception-value cases append their fragment to (`s_exception_values_rule_base`).
const EXCEPTION_BASE: &str = "
- rule: test_rule
  desc: test rule
  condition: evt.type = open
  output: command=%proc.cmdline
  priority: INFO
";

fn cases() -> Vec<Value> {
    let path = format!(
        "{}/../../../shared/fixtures/falco_unit_tests_engine/engine_unit_test_cases.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn load_case(case: &Value) -> Loaded {
    let docs: Vec<String> = case["rules_yaml"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let d = d.as_str().unwrap();
            if d.trim_start().starts_with('-') {
                d.to_owned()
            } else {
                format!("{EXCEPTION_BASE}{d}")
            }
        })
        .collect();
    let files: Vec<(String, &str)> =
        docs.iter().enumerate().map(|(i, d)| (format!("rules{i}.yaml"), d.as_str())).collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (n.as_str(), *t)).collect();
    load(&refs, &LoadOptions::default())
}

/// Every failed expectation of a case.
fn check(case: &Value) -> Vec<String> {
    let loaded = load_case(case);
    let mut failures = Vec::new();
    let render = || loaded.render();
    if let Some(ok) = case["load_success"].as_bool()
        && ok != loaded.successful()
    {
        failures.push(format!("load_success: expected {ok}\n{}", render()));
    }
    for c in case["compiled"].as_array().into_iter().flatten() {
        let rule = c["rule"].as_str().unwrap();
        let expected = c["expected"].as_str().unwrap();
        let Some(r) = loaded.ruleset.rule(rule) else {
            failures.push(format!("no rule {rule}\n{}", render()));
            continue;
        };
        let got = match c["what"].as_str().unwrap() {
            "condition" => &r.compiled_condition,
            _ => &r.output,
        };
        if got != expected {
            failures.push(format!("compiled {rule}: expected {expected:?}, got {got:?}"));
        }
    }
    for m in case["messages"].as_array().into_iter().flatten() {
        let sub = m["substring"].as_str().unwrap();
        let present = m["present"].as_bool().unwrap();
        let mut list: Box<dyn Iterator<Item = _>> = match m["kind"].as_str().unwrap() {
            "error" => Box::new(loaded.errors()),
            _ => Box::new(loaded.warnings()),
        };
        if list.any(|d| d.message.contains(sub)) != present {
            failures.push(format!("message {sub:?} present: expected {present}\n{}", render()));
        }
    }
    if let Some(w) = case["has_warnings"].as_bool()
        && w != (loaded.warnings().count() > 0)
    {
        failures.push(format!("has_warnings: expected {w}\n{}", render()));
    }
    for v in case["schema_validation"].as_array().into_iter().flatten() {
        let expected = v.as_str().unwrap() == "validation_ok";
        if loaded.files[0].schema_valid() != expected {
            failures.push(format!(
                "schema valid: expected {expected}: {:?}",
                loaded.files[0].schema_warnings
            ));
        }
    }
    for d in case["describe_rule_checks"].as_array().into_iter().flatten() {
        let path = d["path"].as_str().unwrap();
        let expected = d["expected"].as_str().unwrap();
        let Some(r) = loaded.ruleset.rules.first() else {
            failures.push("no rule to describe".into());
            continue;
        };
        let key = path.rsplit("[\"").next().unwrap().trim_end_matches("\"]");
        let got = match key {
            "condition" => r.condition.clone(),
            "output" => r.output.clone(),
            "description" => r.desc.clone(),
            "priority" => r.priority.to_string(),
            "capture" => r.capture.to_string(),
            "capture_duration" => format!("{}u", r.capture_duration),
            other => format!("<unknown key {other}>"),
        };
        if got != expected {
            failures.push(format!("describe {key}: expected {expected:?}, got {got:?}"));
        }
    }
    failures
}

#[test]
fn engine_unit_cases() {
    let cases = cases();
    assert_eq!(cases.len(), 123);
    let mut passed = 0;
    let mut report = Vec::new();
    for case in &cases {
        let name = case["test"].as_str().unwrap();
        let skipped = SKIPPED.iter().find(|(n, _)| *n == name);
        if case.get("rules_yaml").is_none() {
            assert!(skipped.is_some(), "case {name} has no rules and is not in SKIPPED");
            continue;
        }
        let failures = check(case);
        match (skipped, failures.is_empty()) {
            (Some(_), true) => {
                report.push(format!("{name}: skipped but passes; remove it from SKIPPED"))
            }
            (Some(_), false) => {}
            (None, true) => passed += 1,
            (None, false) => report.push(format!("{name}:\n  {}", failures.join("\n  "))),
        }
    }
    eprintln!(
        "engine unit cases: {passed} passed, {} skipped, {} failed",
        SKIPPED.len(),
        report.len()
    );
    assert!(report.is_empty(), "{}", report.join("\n\n"));
    assert_eq!(passed + SKIPPED.len(), 123);
}
