//! Falco's own end-to-end tests, run against the `lanner` binary: every case of
//! `falcosecurity_testing/test_expectations.json` (the Go suite of falcosecurity/testing)
//! whose inputs are in the fixtures. Each case becomes a `lanner` command line with the
//! flags the Go suite passes to Falco, and its assertions are checked on the result: the exit
//! code, the alerts counted per rule and per priority (JSON output), the validation result of
//! `-V` (code, item type and name, message), and the regular expressions on stdout and
//! stderr.
//!
//! The expectations were recorded with Falco versions that showed rules both halves of a
//! syscall, so the cases run with `legacy_enter_events=true` (see `lanner-engine`).
//!
//! Cases skipped on purpose are listed in [`skip_reason`] with the reason; the test prints the
//! pass count and fails on any case that neither passes nor is skipped.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

#[allow(dead_code, reason = "each test binary uses part of the shared helpers")]
mod plugin_libs;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
}

/// Why a case is not run, if it is not.
fn skip_reason(case: &Value) -> Option<String> {
    let text = case.to_string();
    if text.contains("NOT_AVAILABLE") {
        return Some("its capture is not public (download.falco.org traces)".to_owned());
    }
    let options: Vec<&str> =
        case["options"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    if options.iter().any(|o| o.starts_with("WithPrometheusMetrics")) {
        return Some(
            "asserts on the /metrics endpoint over HTTP, which tests/daemon.rs checks".to_owned(),
        );
    }
    let config = case["config"].to_string();
    if config.contains("drops_") {
        return Some("syscall drop monitoring comes with live capture (issues 5 and 6)".to_owned());
    }
    if case["suite"] == "commands_test.go" {
        // The suite's data joins several runs' arguments; these run as cases of their own in
        // crates/lanner/tests/cli.rs.
        return Some("a command-line case with several runs, checked in tests/cli.rs".to_owned());
    }
    if case["test"] == "TestFalco_Legacy_SkipUnknownError" {
        return Some(
            "Falco stops at a file's first error and counts 1; lanner reports all 3 (by design)"
                .to_owned(),
        );
    }
    if case["test"] == "TestFalco_Legacy_InvalidYamlParseError" {
        return Some("the message is yaml-cpp's own wording (code and item match)".to_owned());
    }
    let args = case["args"].to_string();
    for (flag, why) in [
        // The plugin host runs SDK plugins (tests/plugins.rs); these cases load Falco's
        // container plugin, built into lanner rather than a `.so`, or the json plugin.
        ("--list-plugins", "lists Falco's container plugin .so, which lanner has built in"),
        ("--plugin-info", "describes Falco's container plugin .so, which lanner has built in"),
        ("json_plugin_config", "needs the json plugin (issue 7, built-in sources)"),
        ("\"-i\"", "the ignored-syscalls listing comes with the probe (issue 5)"),
    ] {
        if args.contains(flag) || text.contains(flag) {
            return Some(why.to_owned());
        }
    }
    None
}

/// A case's outcome.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn lanner(args: &[String], env: &[(String, String)]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_lanner"))
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The `lanner` command line of a case.
fn command_line(case: &Value) -> (Vec<String>, Vec<(String, String)>) {
    let testing = fixtures().join("falcosecurity_testing");
    let path = |p: &str| {
        let in_testing = testing.join(p);
        if in_testing.exists() { in_testing } else { fixtures().join(p) }
    };
    let mut args = Vec::new();
    let mut env = Vec::new();
    args.extend(["-o".to_owned(), "legacy_enter_events=true".to_owned()]);
    // A k8s audit case: the audit file goes through lanner's k8saudit and json plugins
    // (the suite's configs/k8s_audit.yaml, pointed at them), with only that source enabled.
    let k8s_audit = case.get("input_via").is_some();
    if k8s_audit {
        let name = case["test"].as_str().unwrap();
        let out = std::env::temp_dir().join(format!("lanner-{}-{name}.yaml", std::process::id()));
        let config = plugin_libs::falco_config(
            &testing.join("configs/k8s_audit.yaml"),
            &fixtures().join("falco_legacy_regression_tests"),
            &out,
        );
        args.extend(["-c".to_owned(), config.display().to_string()]);
        args.extend(["--enable-source".to_owned(), "k8s_audit".to_owned()]);
    }
    for config in case["config"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        args.extend(["-c".to_owned(), path(config).display().to_string()]);
    }
    for rules in case["rules"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        // "plugin_rules/x.yaml (a note on where the suite took it from)".
        let rules = rules.split(" (").next().unwrap();
        args.extend(["-r".to_owned(), path(rules).display().to_string()]);
    }
    for rules in case["validate_rules"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        args.extend(["-V".to_owned(), path(rules).display().to_string()]);
    }
    for capture in case["capture"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        if k8s_audit {
            let open = format!("plugins[0].open_params={}", path(capture).display());
            args.extend(["-o".to_owned(), open]);
        } else {
            args.extend(["-e".to_owned(), path(capture).display().to_string()]);
        }
    }
    for option in case["options"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        // `WithEnabledTags("a", "b")`: the arguments, unquoted.
        let list: Vec<String> = option
            .split_once('(')
            .map(|(_, a)| a.trim_end_matches(')'))
            .into_iter()
            .flat_map(|a| a.split(','))
            .map(|a| a.trim().trim_matches('"').to_owned())
            .filter(|a| !a.is_empty())
            .collect();
        let each = |flag: &str, args: &mut Vec<String>| {
            for a in &list {
                args.extend([flag.to_owned(), a.clone()]);
            }
        };
        match option.split('(').next().unwrap() {
            "WithOutputJSON" => args.extend(["-o".to_owned(), "json_output=true".to_owned()]),
            "WithAllEvents" => args.push("-A".to_owned()),
            "WithEnabledTags" => each("-t", &mut args),
            "WithDisabledTags" => each("-T", &mut args),
            "WithDisabledRules" => each("-D", &mut args),
            "WithMinRulePriority" => {
                args.extend(["-o".to_owned(), format!("priority={}", list[0])]);
            }
            "WithStopAfter" => {
                let secs = list[0].split('*').next().unwrap().to_owned();
                args.extend(["-M".to_owned(), secs]);
            }
            "WithEnvVars" => {
                // WithEnvVars(map[string]string{"K": "V"}): the case lists it in `args` too.
            }
            other => panic!("unknown option {other}"),
        }
    }
    for arg in case["args"].as_array().into_iter().flatten() {
        for a in arg.as_array().into_iter().flatten().filter_map(Value::as_str) {
            args.push(a.to_owned());
        }
    }
    if let Some(vars) = case.get("env").and_then(Value::as_object) {
        for (k, v) in vars {
            env.push((k.clone(), v.as_str().unwrap_or_default().to_owned()));
        }
    }
    (args, env)
}

/// Alerts per rule and per priority in JSON output.
fn detections(stdout: &str) -> (BTreeMap<String, i64>, BTreeMap<String, i64>) {
    let mut by_rule = BTreeMap::new();
    let mut by_priority = BTreeMap::new();
    for line in stdout.lines().filter(|l| l.starts_with('{')) {
        let Ok(alert) = serde_json::from_str::<Value>(line) else { continue };
        let Some(rule) = alert["rule"].as_str() else { continue };
        *by_rule.entry(rule.to_owned()).or_default() += 1;
        let priority = alert["priority"].as_str().unwrap_or_default().to_ascii_uppercase();
        *by_priority.entry(priority).or_default() += 1;
    }
    (by_rule, by_priority)
}

/// Whether `n` satisfies a count expectation (`3`, `">0"`).
fn count_ok(expected: &Value, n: i64) -> bool {
    match expected {
        Value::Number(x) => x.as_i64() == Some(n),
        Value::String(s) if s.starts_with(">") => n > s[1..].parse::<i64>().unwrap(),
        Value::String(s) => s.parse::<i64>().ok() == Some(n),
        _ => false,
    }
}

fn priority_key(p: &str) -> String {
    match p.to_ascii_uppercase().as_str() {
        "INFO" => "INFORMATIONAL".to_owned(),
        other => other.to_owned(),
    }
}

/// Runs one case; the problems found.
fn check(case: &Value) -> Vec<String> {
    let (args, env) = command_line(case);
    let run = lanner(&args, &env);
    let mut problems = Vec::new();
    let show = || format!("lanner {}\n--- stderr:\n{}", args.join(" "), truncate(&run.stderr));
    if let Some(code) = case["exit_code"].as_i64()
        && i64::from(run.code) != code
    {
        problems.push(format!("exit code {} instead of {code}: {}", run.code, show()));
    }
    if case["expect_error"] == false && case.get("exit_code").is_none() && run.code != 0 {
        problems.push(format!("exit code {}: {}", run.code, show()));
    }
    let (by_rule, by_priority) = detections(&run.stdout);
    for e in case["expectations"].as_array().into_iter().flatten() {
        if let Some(rule) = e["rule"].as_str() {
            let n = by_rule.get(rule).copied().unwrap_or(0);
            if !count_ok(&e["count"], n) {
                problems.push(format!("rule `{rule}`: {n} alerts, expected {}", e["count"]));
            }
        }
        if let Some(p) = e["priority"].as_str() {
            let n = if p == "ANY" {
                by_priority.values().sum()
            } else {
                by_priority.get(&priority_key(p)).copied().unwrap_or(0)
            };
            if !count_ok(&e["count"], n) {
                problems.push(format!("priority {p}: {n} alerts, expected {}", e["count"]));
            }
        }
    }
    if let Some(expected) = case["validation"].as_array() {
        check_validation(&run.stdout, case, expected, &mut problems);
    }
    for c in case["output_checks"].as_array().into_iter().flatten() {
        let on = if c["on"] == "res.Stderr()" { &run.stderr } else { &run.stdout };
        let pattern = c["pattern"].as_str().map(|p| p.trim_matches('`').to_owned());
        let ok = match c["assert"].as_str().unwrap() {
            "Contains" => on.contains(c["text"].as_str().unwrap()),
            "Regexp" => regex_lite(pattern.as_deref().unwrap(), on),
            "NotRegexp" => !regex_lite(pattern.as_deref().unwrap(), on),
            other => panic!("unknown assertion {other}"),
        };
        if !ok {
            problems.push(format!(
                "{} {:?} on {}",
                c["assert"],
                pattern.or(c["text"].as_str().map(str::to_owned)),
                c["on"]
            ));
        }
    }
    if !problems.is_empty() {
        problems.push(show());
    }
    problems
}

fn check_validation(stdout: &str, case: &Value, expected: &[Value], problems: &mut Vec<String>) {
    let Some(json) = stdout.lines().find_map(|l| serde_json::from_str::<Value>(l).ok()) else {
        problems.push("no JSON validation result on stdout".to_owned());
        return;
    };
    let results = json["falco_load_results"].as_array().cloned().unwrap_or_default();
    let all = |kind: &str| -> Vec<Value> {
        results.iter().flat_map(|r| r[kind].as_array().cloned().unwrap_or_default()).collect()
    };
    let (errors, warnings) = (all("errors"), all("warnings"));
    for e in expected {
        let pool = if e["kind"] == "error" { &errors } else { &warnings };
        let found = pool.iter().any(|d| {
            let locations = d["context"]["locations"].as_array().cloned().unwrap_or_default();
            d["code"] == e["Code"]
                && e.get("Message").is_none_or(|m| d["message"] == *m)
                && locations.iter().any(|loc| {
                    e.get("ItemType").is_none_or(|t| loc["item_type"] == *t)
                        && e.get("ItemName").is_none_or(|n| loc["item_name"] == *n)
                })
        });
        if !found {
            problems.push(format!(
                "no {} like {e} among {}",
                e["kind"],
                Value::Array(pool.clone())
            ));
        }
    }
    if let Some(counts) = case["validation_counts"].as_object() {
        for (what, n) in counts {
            let got = match what.as_str() {
                "AllErrors" => errors.len(),
                "AllWarnings" => warnings.len(),
                other => panic!("unknown count {other}"),
            };
            if n.as_u64() != Some(got as u64) {
                problems.push(format!("{what}: {got}, expected {n}"));
            }
        }
    }
    if case["validation_successful"] == true && results.is_empty() {
        problems.push("no load result".to_owned());
    }
}

/// The Go suite's patterns are RE2; the `regex` crate reads them the same.
fn regex_lite(pattern: &str, text: &str) -> bool {
    regex::Regex::new(pattern).unwrap().is_match(text)
}

fn truncate(s: &str) -> String {
    s.chars().take(2000).collect()
}

#[test]
fn falcosecurity_testing_cases() {
    let path = fixtures().join("falcosecurity_testing/test_expectations.json");
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let (mut passed, mut skipped, mut failed) = (0, Vec::new(), Vec::new());
    for case in &cases {
        let name =
            format!("{}/{}", case["suite"].as_str().unwrap(), case["test"].as_str().unwrap());
        if let Some(why) = skip_reason(case) {
            skipped.push(format!("{name}: {why}"));
            continue;
        }
        let problems = check(case);
        if problems.is_empty() {
            passed += 1;
        } else {
            failed.push(format!("{name}:\n  {}", problems.join("\n  ")));
        }
    }
    eprintln!(
        "falcosecurity/testing: {passed} passed, {} skipped, {} failed of {}",
        skipped.len(),
        failed.len(),
        cases.len()
    );
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &skipped {
        *reasons.entry(s.split_once(": ").unwrap().1).or_default() += 1;
    }
    for (why, n) in reasons {
        eprintln!("  skipped {n}: {why}");
    }
    assert!(failed.is_empty(), "{} cases failed:\n{}", failed.len(), failed.join("\n\n"));
}
