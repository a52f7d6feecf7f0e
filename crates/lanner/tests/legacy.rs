//! Falco's legacy regression suite (the Python/avocado tests removed from falco in 2023,
//! `falco_legacy_regression_tests/legacy_expectations.json`), run against the `lanner`
//! binary: for each case, the rules files, the capture and the flags it names, then its
//! checks: the exit status, whether anything was detected and at which levels, the exact count
//! per rule (from the `Triggered rules by rule name:` summary, as the suite read it), the
//! validation errors and warnings of `-V` (item type, item name, code, message), regular
//! expressions on stdout and stderr, and golden outputs contained in stdout.
//!
//! The expectations were recorded with rules seeing both halves of a syscall, so the cases
//! run with `legacy_enter_events=true`.
//!
//! Cases skipped on purpose are listed by [`skip_reason`]; the test prints the counts and
//! fails on any case that neither passes nor is skipped.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

#[allow(dead_code, reason = "each test binary uses part of the shared helpers")]
mod plugin_libs;

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/falco_legacy_regression_tests")
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// Validation cases whose expectation is the 2023 Falco's wording, changed since (current
/// Falco's wording is checked by the testing suite's cases and the rules crate's tests).
const CHANGED_SINCE: &[(&str, &str)] = &[
    (
        "invalid_engine_version_not_number",
        "Falco ≥ 0.36 says \"Unable to parse engine version ...\"",
    ),
    (
        "invalid_append_macro_dangling",
        "Falco ≥ 0.37 says \"Macro uses 'append' or 'override.condition: append' ...\"",
    ),
    (
        "invalid_list_append_dangling",
        "Falco ≥ 0.37 says \"List uses 'append' or 'override.items: append' ...\"",
    ),
    (
        "invalid_rule_append_dangling",
        "Falco ≥ 0.37 says \"Rule uses 'append' or 'override.<key>: append' ...\"",
    ),
    ("validate_skip_unknown_noevt", "LOAD_UNKNOWN_FIELD became LOAD_UNKNOWN_FILTER"),
    ("invalid_yaml_parse_error", "the message is yaml-cpp's own wording (code and item match)"),
    (
        "engine_version_mismatch",
        "Falco ≥ 0.36 writes the required version as semver (`0.9999999.0`), not `9999999`",
    ),
];

/// k8s audit cases written for the 2023 rules files, which the current ones (in the
/// fixtures) changed: their falcosecurity/testing counterparts, with today's names, run in
/// tests/conformance.rs and pass.
fn k8s_rules_changed_since(case: &Value) -> Option<&'static str> {
    if case["suite"] != "falco_k8s_audit_tests.yaml" {
        return None;
    }
    let test = case["test"].as_str().unwrap_or_default();
    let rules = case["rules_file"].to_string();
    if rules.contains("trust_nginx_container.yaml") {
        // It appends to `falco_sensitive_mount_images` ..., now `k8s_audit_*_images`.
        return Some("appends to lists of the 2023 rules, renamed since (k8s_audit_*_images)");
    }
    if rules.contains("engine_v4_k8s_audit_rules.yaml") {
        // `ka.req.role.rules.resources contains "pods/exec"`: libs since allow only
        // `exists`, `in` and `intersects` on list fields (LOAD_ERR_COMPILE_CONDITION).
        return Some("uses `contains` on a list field, which libs refuse since 2023");
    }
    if ["create_clusterrole", "delete_clusterrole"].iter().any(|t| test.starts_with(t)) {
        // "K8s Role/Clusterrole Created" is now "K8s ClusterRole Created" (and the binding
        // rules likewise).
        return Some("expects rule names of the 2023 k8s audit rules, renamed since");
    }
    None
}

/// Why a case is not run, if it is not.
fn skip_reason(case: &Value) -> Option<&'static str> {
    if CHANGED_SINCE.iter().any(|(name, _)| case["test"] == *name) {
        return Some("the 2023 Falco's message, changed since (see CHANGED_SINCE)");
    }
    if let Some(why) = k8s_rules_changed_since(case) {
        return Some(why);
    }
    // Falco's C test plugins (libtest_*.so) are not part of the fixtures; tests/plugins.rs
    // checks the same refusals with plugins of lanner's own (a plugin requiring a newer API,
    // fields of a source no plugin provides).
    if case["suite"] == "falco_tests_plugins.yaml"
        && ["incompatible_extract_sources", "overlap_extract_sources", "incompat_plugin_api"]
            .iter()
            .any(|t| case["test"] == *t)
    {
        return Some("needs one of Falco's C test plugins (libtest_*.so), not in the fixtures");
    }
    let trace = case["trace_file"].as_str().unwrap_or_default();
    if trace.starts_with("traces-") {
        return Some("its capture is not public (download.falco.org traces)");
    }
    if case.get("grpc").is_some() {
        return Some("gRPC outputs were removed from Falco (0.44)");
    }
    let conf = case["conf_file"].as_str().unwrap_or_default();
    if conf.contains("drops_") {
        return Some("syscall drop monitoring comes with live capture (issues 5 and 6)");
    }
    None
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    args: Vec<String>,
}

/// Where a path of the suite is: relative to the suite, or in Falco's build directory
/// (`BUILD_DIR`): the stable rules, the k8saudit plugin's rules, the test data.
fn suite_path(p: &str) -> String {
    let dir = suite_dir();
    let fixtures = dir.join("..");
    let path = if p.ends_with("falcosecurity-rules-falco/falco_rules.yaml") {
        fixtures.join("rules/falco_rules.yaml")
    } else if p.ends_with("k8saudit-rules/k8s_audit_rules.yaml") {
        fixtures.join("plugin_rules/k8saudit_k8s_audit_rules.yaml")
    } else if let Some(rest) = p.strip_prefix("BUILD_DIR/test/") {
        dir.join(rest)
    } else {
        dir.join(p.trim_start_matches("./"))
    };
    path.display().to_string()
}

fn run_case(case: &Value) -> Run {
    let path = |p: &str| suite_path(p);
    let mut args: Vec<String> = vec!["-o".into(), "legacy_enter_events=true".into()];
    let validate = strings(&case["validate_rules_file"]);
    if let Some(conf) = case["conf_file"].as_str() {
        let conf = if conf.contains("/confs/plugins/") {
            // Falco's plugin builds in the configuration become lanner's.
            let name = case["test"].as_str().unwrap();
            let out =
                std::env::temp_dir().join(format!("lanner-{}-{name}.yaml", std::process::id()));
            plugin_libs::falco_config(Path::new(&path(conf)), &suite_dir(), &out)
                .display()
                .to_string()
        } else {
            path(conf)
        };
        args.extend(["-c".into(), conf]);
    }
    if let Some(source) = case["enable_source"].as_str() {
        args.extend(["--enable-source".into(), source.to_owned()]);
    }
    // `-o plugins[0].open_params=trace_files/...`, `--list` ...: paths are the suite's.
    for opt in case["addl_cmdline_opts"].as_str().unwrap_or_default().split_whitespace() {
        match opt.split_once("open_params=") {
            Some((key, file)) => args.push(format!("{key}open_params={}", path(file))),
            None => args.push(opt.to_owned()),
        }
    }
    if validate.is_empty() {
        let rules = strings(&case["rules_file"]);
        if rules.is_empty() {
            // The suite ran Falco with its installed default rules: the stable rules file.
            let stable = suite_dir().join("../rules/falco_rules.yaml");
            args.extend(["-r".into(), stable.display().to_string()]);
        }
        for rules in rules {
            args.extend(["-r".into(), path(&rules)]);
        }
        if let Some(trace) = case["trace_file"].as_str() {
            args.extend(["-e".into(), path(trace)]);
        }
    } else {
        for rules in &validate {
            args.extend(["-V".into(), path(rules)]);
        }
        args.extend(["-o".into(), "json_output=true".into()]);
    }
    for tag in strings(&case["disable_tags"]) {
        args.extend(["-T".into(), tag]);
    }
    for tag in strings(&case["run_tags"]) {
        args.extend(["-t".into(), tag]);
    }
    for rule in strings(&case["disabled_rules"]) {
        args.extend(["-D".into(), rule]);
    }
    if case["all_events"] == true {
        args.push("-A".into());
    }
    if let Some(p) = case["priority"].as_str() {
        args.extend(["-o".into(), format!("priority={p}")]);
    }
    for (key, option) in [
        ("json_output", "json_output"),
        ("time_iso_8601", "time_format_iso_8601"),
        ("json_include_output_property", "json_include_output_property"),
        ("json_include_tags_property", "json_include_tags_property"),
    ] {
        if let Some(b) = case[key].as_bool() {
            args.extend(["-o".into(), format!("{option}={b}")]);
        }
    }
    let out = Command::new(env!("CARGO_BIN_EXE_lanner"))
        .args(&args)
        .env("FALCO_HOSTNAME", "test-falco-hostname")
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        args,
    }
}

/// The `name: count` lines after `header` in Falco's summary.
fn summary_block(stdout: &str, header: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let Some(start) = stdout.find(header) else { return out };
    for line in stdout[start + header.len()..].lines().skip(1) {
        let Some(entry) = line.strip_prefix("   ") else { break };
        if let Some((name, n)) = entry.rsplit_once(": ") {
            out.insert(name.to_owned(), n.trim().parse().unwrap_or(0));
        }
    }
    out
}

fn check(case: &Value) -> Vec<String> {
    // Output files the case reads afterwards start absent (their directory present).
    for entry in case["output_strictly_contains"].as_array().into_iter().flatten() {
        for file in entry.as_object().unwrap().keys().filter(|k| *k != "stdout") {
            let file = Path::new(file);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            let _ = std::fs::remove_file(file);
        }
    }
    let run = run_case(case);
    let mut problems = Vec::new();
    let expected_code = case["exit_status"].as_i64().unwrap_or(0);
    if i64::from(run.code) != expected_code {
        problems.push(format!("exit status {} instead of {expected_code}", run.code));
    }
    // A validation run loads rules and detects nothing.
    if let Some(detect) =
        case["detect"].as_bool().filter(|_| case.get("validate_rules_file").is_none())
    {
        let total = run
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("Events detected: "))
            .and_then(|n| n.trim().parse::<u64>().ok());
        match (detect, total) {
            (_, None) => problems.push("no `Events detected:` line".to_owned()),
            (true, Some(0)) => problems.push("nothing detected".to_owned()),
            (false, Some(n)) if n > 0 => problems.push(format!("{n} detections, expected none")),
            _ => {}
        }
        if detect {
            let levels = summary_block(&run.stdout, "Rule counts by severity:");
            for level in strings(&case["detect_level"]) {
                let level = level.to_ascii_uppercase();
                if levels.get(&level).copied().unwrap_or(0) == 0 {
                    problems.push(format!("nothing detected at level {level} ({levels:?})"));
                }
            }
        }
    }
    let by_rule = summary_block(&run.stdout, "Triggered rules by rule name:");
    for entry in case["detect_counts"].as_array().into_iter().flatten() {
        for (rule, n) in entry.as_object().unwrap() {
            let got = by_rule.get(rule).copied().unwrap_or(0);
            if Some(got) != n.as_u64() {
                problems.push(format!("rule `{rule}`: {got} detections, expected {n}"));
            }
        }
    }
    check_validation(case, &run, &mut problems);
    for (key, text, want) in [
        ("stdout_contains", &run.stdout, true),
        ("stderr_contains", &run.stderr, true),
        ("stdout_not_contains", &run.stdout, false),
        ("stderr_not_contains", &run.stderr, false),
    ] {
        for pattern in strings(&case[key]) {
            let found = python_search(&pattern, text);
            if found != want {
                problems.push(format!("{key}: {pattern:?}"));
            }
        }
    }
    for entry in case["output_strictly_contains"].as_array().into_iter().flatten() {
        for (output, golden) in entry.as_object().unwrap() {
            let golden = golden.as_str().unwrap();
            let want = std::fs::read_to_string(suite_dir().join(golden)).unwrap();
            let got = if output == "stdout" {
                run.stdout.clone()
            } else {
                std::fs::read_to_string(output).unwrap_or_default()
            };
            if !golden_in(&want, &got) {
                problems.push(format!("{output} does not hold {golden}"));
            }
        }
    }
    for rule in strings(&case["rules_warning"]) {
        if !run.stderr.contains(&rule) {
            problems.push(format!("no load warning for rule `{rule}`"));
        }
    }
    if !problems.is_empty() {
        let stderr: String = run.stderr.chars().take(1500).collect();
        problems.push(format!("lanner {}\n--- stderr:\n{stderr}", run.args.join(" ")));
    }
    problems
}

/// Python's `re.search`, for the suite's patterns: the `regex` crate has no look-around, and
/// the one form the suite uses, `^(?!.*TEXT.*)`, means that the output does not hold TEXT.
/// A positive pattern may span lines (`2 Plugins Loaded.*Name: cloudtrail.*`): `.` matches
/// newlines there.
fn python_search(pattern: &str, text: &str) -> bool {
    if let Some(inner) = pattern.strip_prefix("^(?!").and_then(|p| p.strip_suffix(')')) {
        return !regex::Regex::new(inner).unwrap().is_match(text);
    }
    regex::Regex::new(&format!("(?s){pattern}")).unwrap().is_match(text)
}

/// Whether the golden lines appear in stdout, in order and one after another: text lines
/// byte for byte, JSON lines as equal JSON values.
fn golden_in(golden: &str, stdout: &str) -> bool {
    let want: Vec<&str> = golden.lines().filter(|l| !l.is_empty()).collect();
    let got: Vec<&str> = stdout.lines().collect();
    let same = |a: &str, b: &str| match (
        serde_json::from_str::<Value>(a),
        serde_json::from_str::<Value>(b),
    ) {
        (Ok(x), Ok(y)) if a.starts_with('{') => x == y,
        _ => a == b,
    };
    got.windows(want.len().max(1))
        .any(|w| w.len() == want.len() && w.iter().zip(&want).all(|(g, e)| same(g, e)))
}

fn check_validation(case: &Value, run: &Run, problems: &mut Vec<String>) {
    if case.get("validate_rules_file").is_none() {
        return;
    }
    let Some(json) = run.stdout.lines().find_map(|l| serde_json::from_str::<Value>(l).ok()) else {
        problems.push("no JSON validation result".to_owned());
        return;
    };
    let results = json["falco_load_results"].as_array().cloned().unwrap_or_default();
    for (key, kind) in [("validate_errors", "errors"), ("validate_warnings", "warnings")] {
        let pool: Vec<Value> =
            results.iter().flat_map(|r| r[kind].as_array().cloned().unwrap_or_default()).collect();
        for e in case[key].as_array().into_iter().flatten() {
            // Falco's item is one of the locations of the chain it reports (the rule, then its
            // condition, then the expression ...).
            let found = pool.iter().any(|d| {
                let locations = d["context"]["locations"].as_array().cloned().unwrap_or_default();
                d["code"] == e["code"]
                    && match (e["message"].as_str(), e["message_contains"].as_str()) {
                        (Some(m), _) => d["message"] == m,
                        (None, Some(m)) => d["message"].as_str().is_some_and(|t| t.contains(m)),
                        (None, None) => true,
                    }
                    && locations.iter().any(|loc| {
                        loc["item_type"] == e["item_type"]
                            && (e["item_name"] == "" || loc["item_name"] == e["item_name"])
                    })
            });
            if !found {
                problems
                    .push(format!("no {kind} entry like {e}; got {}", Value::Array(pool.clone())));
            }
        }
    }
    for ok in strings(&case["validate_ok"]) {
        let good = results.iter().any(|r| {
            r["name"].as_str().is_some_and(|n| n.ends_with(&ok)) && r["successful"] == true
        });
        if !good {
            problems.push(format!("{ok} should validate"));
        }
    }
}

#[test]
fn falco_legacy_regression_cases() {
    let path = suite_dir().join("legacy_expectations.json");
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let (mut passed, mut skipped, mut failed) = (0, BTreeMap::<&str, usize>::new(), Vec::new());
    for case in &cases {
        let name =
            format!("{}/{}", case["suite"].as_str().unwrap(), case["test"].as_str().unwrap());
        if let Some(why) = skip_reason(case) {
            *skipped.entry(why).or_default() += 1;
            continue;
        }
        let problems = check(case);
        if problems.is_empty() {
            passed += 1;
        } else {
            failed.push(format!("{name}:\n  {}", problems.join("\n  ")));
        }
    }
    let skipped_total: usize = skipped.values().sum();
    eprintln!(
        "legacy suite: {passed} passed, {skipped_total} skipped, {} failed of {}",
        failed.len(),
        cases.len()
    );
    for (why, n) in &skipped {
        eprintln!("  skipped {n}: {why}");
    }
    assert!(failed.is_empty(), "{} cases failed:\n{}", failed.len(), failed.join("\n\n"));
}
