//! Falco's validation expectations, as data: the `-V` cases of the legacy regression suite
//! (`falco_legacy_regression_tests/legacy_expectations.json`) and of falcosecurity/testing
//! (`falcosecurity_testing/test_expectations.json`): which errors and warnings a rules file
//! gives (code, item type, item name, exact message), and whether it loads.
//!
//! An expected diagnostic matches one of ours with the same code whose item chain holds the
//! item type and name (as the testing harness matches: any location), and the same message when
//! one is given. We may report more than Falco (it stops at a file's first error); we must
//! report everything it does. Cases whose expectation lanner does not meet on purpose are in
//! the skip tables with the reason; a skipped case that passes fails the test.
//!
//! The detection counts of the same files need the engine; [`load_case_files`] is the helper an
//! engine test can reuse to load a case's rules the same way.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use serde_json::Value;

use lanner_rules::{Code, Diagnostic, LoadOptions, Loaded, load_files};

fn fixtures() -> String {
    format!("{}/../../../shared/fixtures", env!("CARGO_MANIFEST_DIR"))
}

fn json(path: &str) -> Vec<Value> {
    serde_json::from_str(&std::fs::read_to_string(format!("{}/{path}", fixtures())).unwrap())
        .unwrap()
}

/// Loads a case's rules files (paths relative to a suite directory), in order.
///
/// The testing suite names the k8saudit plugin's rules file with a note in parentheses; it is
/// `plugin_rules/` at the root of the fixtures.
fn load_case_files(dir: &str, files: &[String], options: &LoadOptions) -> Loaded {
    let paths: Vec<String> = files
        .iter()
        .map(|f| {
            let f = f.split(" (").next().unwrap_or(f);
            if f.starts_with("plugin_rules/") {
                format!("{}/{f}", fixtures())
            } else {
                format!("{}/{dir}/{f}", fixtures())
            }
        })
        .collect();
    let mut loaded = load_files(&paths, options);
    // Name files as the suites do (relative paths), for readable failures.
    for (f, name) in loaded.files.iter_mut().zip(files) {
        f.name.clone_from(name);
    }
    loaded
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().map(|s| s.as_str().unwrap().to_owned()).collect(),
        _ => Vec::new(),
    }
}

/// One expected diagnostic.
struct Expected {
    error: bool,
    code: String,
    item_type: Option<String>,
    item_name: Option<String>,
    message: Option<String>,
}

fn matches(d: &Diagnostic, e: &Expected) -> bool {
    d.code.as_str() == e.code
        && d.is_error() == e.error
        && e.item_type.as_ref().is_none_or(|t| {
            d.locations.iter().any(|l| l.item_type.as_str().eq_ignore_ascii_case(t))
        })
        && e.item_name.as_ref().is_none_or(|n| d.locations.iter().any(|l| &l.item_name == n))
        && e.message.as_ref().is_none_or(|m| &d.message == m)
}

/// Every unmet expectation.
fn check(loaded: &Loaded, expected: &[Expected], must_fail: Option<bool>) -> Vec<String> {
    let mut failures = Vec::new();
    for e in expected {
        assert!(Code::from_name(&e.code).is_some() || e.code == "LOAD_UNKNOWN_FIELD", "{}", e.code);
        let mut all = loaded.errors().chain(loaded.warnings());
        if !all.any(|d| matches(d, e)) {
            failures.push(format!(
                "missing {} {} {:?} {:?}: {:?}",
                if e.error { "error" } else { "warning" },
                e.code,
                e.item_type,
                e.item_name,
                e.message
            ));
        }
    }
    if let Some(fail) = must_fail
        && fail == loaded.successful()
    {
        failures.push(format!("expected the load to {}", if fail { "fail" } else { "succeed" }));
    }
    if !failures.is_empty() {
        failures.push(loaded.render());
    }
    failures
}

/// Runs cases; returns (passed, report of failures).
fn run(cases: Vec<(String, Vec<String>)>, skipped: &[(&str, &str)]) -> (usize, Vec<String>) {
    let mut passed = 0;
    let mut report = Vec::new();
    for (name, failures) in cases {
        let skip = skipped.iter().any(|(n, _)| *n == name);
        match (skip, failures.is_empty()) {
            (true, true) => {
                report.push(format!("{name}: skipped but passes; remove it from the skip table"))
            }
            (true, false) => {}
            (false, true) => passed += 1,
            (false, false) => report.push(format!("{name}:\n  {}", failures.join("\n  "))),
        }
    }
    (passed, report)
}

/// Legacy cases whose expectation is the 2023 Falco's, changed since.
const LEGACY_SKIPPED: &[(&str, &str)] = &[
    (
        "invalid_engine_version_not_number",
        "Falco ≥0.36 says \"Unable to parse engine version ...\" (the testing suite's expectation, which passes)",
    ),
    (
        "invalid_append_macro_dangling",
        "Falco ≥0.37 says \"Macro uses 'append' or 'override.condition: append' ...\" (engine unit tests)",
    ),
    (
        "invalid_list_append_dangling",
        "Falco ≥0.37 says \"List uses 'append' or 'override.items: append' ...\" (engine unit tests)",
    ),
    (
        "invalid_rule_append_dangling",
        "Falco ≥0.37 says \"Rule uses 'append' or 'override.<key>: append' ...\" (engine unit tests)",
    ),
    (
        "validate_skip_unknown_noevt",
        "LOAD_UNKNOWN_FIELD became LOAD_UNKNOWN_FILTER (the testing suite's expectation, which passes)",
    ),
    (
        "invalid_yaml_parse_error",
        "the message is yaml-cpp's own wording; lanner's parser words it differently (code and item match)",
    ),
];

/// Testing-suite cases lanner does not meet on purpose.
const TESTING_SKIPPED: &[(&str, &str)] = &[(
    "TestFalco_Legacy_InvalidYamlParseError",
    "the message is yaml-cpp's own wording; lanner's parser words it differently (code and item match)",
)];

#[test]
fn legacy_validation_cases() {
    let mut cases = Vec::new();
    for c in json("falco_legacy_regression_tests/legacy_expectations.json") {
        if c.get("validate_rules_file").is_none() {
            continue;
        }
        let files = strings(&c["validate_rules_file"]);
        let mut expected = Vec::new();
        for (key, error) in [("validate_errors", true), ("validate_warnings", false)] {
            for e in c[key].as_array().into_iter().flatten() {
                expected.push(Expected {
                    error,
                    code: e["code"].as_str().unwrap().to_owned(),
                    item_type: e["item_type"].as_str().map(str::to_owned),
                    item_name: e["item_name"].as_str().map(str::to_owned),
                    message: e["message"].as_str().map(str::to_owned),
                });
            }
        }
        let must_fail = c["exit_status"].as_i64().map(|s| s != 0);
        let loaded =
            load_case_files("falco_legacy_regression_tests", &files, &LoadOptions::default());
        cases.push((c["test"].as_str().unwrap().to_owned(), check(&loaded, &expected, must_fail)));
    }
    let total = cases.len();
    let (passed, report) = run(cases, LEGACY_SKIPPED);
    eprintln!("legacy validate cases: {passed}/{total} passed, {} skipped", LEGACY_SKIPPED.len());
    assert!(report.is_empty(), "{}", report.join("\n\n"));
    assert_eq!(passed + LEGACY_SKIPPED.len(), total);
}

#[test]
fn testing_validation_cases() {
    let mut cases = Vec::new();
    for c in json("falcosecurity_testing/test_expectations.json") {
        let Some(validation) = c["validation"].as_array().filter(|v| !v.is_empty()) else {
            continue;
        };
        let files = strings(&c["validate_rules"]);
        let expected: Vec<Expected> = validation
            .iter()
            .map(|e| Expected {
                error: e["kind"] == "error",
                code: e["Code"].as_str().unwrap().to_owned(),
                item_type: e["ItemType"].as_str().map(str::to_owned),
                item_name: e["ItemName"].as_str().map(str::to_owned),
                message: e["Message"].as_str().map(str::to_owned),
            })
            .collect();
        let must_fail = c["exit_code"].as_i64().map(|s| s != 0);
        let loaded = load_case_files("falcosecurity_testing", &files, &LoadOptions::default());
        cases.push((c["test"].as_str().unwrap().to_owned(), check(&loaded, &expected, must_fail)));
    }
    let total = cases.len();
    let (passed, report) = run(cases, TESTING_SKIPPED);
    eprintln!("testing validate cases: {passed}/{total} passed, {} skipped", TESTING_SKIPPED.len());
    assert!(report.is_empty(), "{}", report.join("\n\n"));
    assert_eq!(passed + TESTING_SKIPPED.len(), total);
}

/// The rules files of the testing suite's other cases (detections, outputs, configs) must load:
/// their failures, when expected, come from the configuration, not the rules.
#[test]
fn testing_rules_files_load() {
    // Plugins are the host's to load; these cases load rules for plugin sources with the
    // plugins configured, so requirements are not checked here.
    let options = LoadOptions { check_plugin_requirements: false, ..LoadOptions::default() };
    // `-L` of several files, one invalid on purpose; another appends a `json.value` check to a
    // syscall rule, which needs the json plugin's fields.
    let skipped = ["TestFalco_Print_Rules"];
    let mut failures = Vec::new();
    let mut n = 0;
    for c in json("falcosecurity_testing/test_expectations.json") {
        if c["validation"].as_array().is_some_and(|v| !v.is_empty())
            || skipped.contains(&c["test"].as_str().unwrap())
        {
            continue;
        }
        let files = strings(&c["rules"]);
        if files.is_empty() {
            continue;
        }
        n += 1;
        let loaded = load_case_files("falcosecurity_testing", &files, &options);
        if !loaded.successful() {
            let errors: Vec<String> =
                loaded.errors().map(|d| format!("  {} {}", d.code.as_str(), d.message)).collect();
            failures.push(format!("{} {:?}:\n{}", c["test"], files, errors.join("\n")));
        }
    }
    eprintln!("testing rules files: {}/{n} cases load", n - failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
