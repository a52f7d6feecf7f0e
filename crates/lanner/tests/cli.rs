//! Falco's command-line cases (falcosecurity/testing `commands_test.go`, `miscs_test.go`)
//! that run lanner more than once or check plain text: `--version`, `--help`, `-l`, `-L`, and
//! the start-up errors.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn testing(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/falcosecurity_testing")
        .join(path)
}

fn lanner(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lanner")).args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn version_text_and_json() {
    let out = lanner(&["--version"]);
    assert!(out.status.success());
    let text = stdout(&out);
    let re = regex::Regex::new(
        r"lanner version:\s+\d+\.\d+\.\d+\s+Libs version:\s+\d+\.\d+\.\d+\s+Plugin API:\s+\d+\.\d+\.\d+\s+Engine:\s+0\.63\.0",
    )
    .unwrap();
    assert!(re.is_match(&text), "{text}");
    let out = lanner(&["--version", "-o", "json_output=true"]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    for key in ["engine_version", "lanner_version", "libs_version", "plugin_api_version"] {
        assert!(json.get(key).is_some(), "{key} in {json}");
    }
}

#[test]
fn help() {
    let out = lanner(&["--help"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("-r <RULES>"));
}

#[test]
fn describe_one_rule() {
    let rules = testing("rules/disabled_rule_using_enabled_flag_only.yaml");
    let rules = rules.to_str().unwrap();
    let head = r".*Rule[\s]+Description[\s]+[\-]+[\s]+[\-]+[\s]+";
    let out = lanner(&["-r", rules, "-l", "open_from_cat"]);
    assert!(out.status.success());
    let re =
        regex::Regex::new(&format!("{head}open_from_cat[\\s]+A process named cat does an open"));
    assert!(re.unwrap().is_match(&stdout(&out)), "{}", stdout(&out));
    // An unknown rule: the head of the table only.
    let out = lanner(&["-r", rules, "-l", "invalid"]);
    assert!(out.status.success());
    assert!(regex::Regex::new(head).unwrap().is_match(&stdout(&out)));
}

#[test]
fn describe_all_rules() {
    let r = |p: &str| testing(p).display().to_string();
    let (a, b, c) = (
        r("rules/detect_connect_using_in.yaml"),
        r("rules/list_append.yaml"),
        r("rules/catchall_order.yaml"),
    );
    let out = lanner(&["-L", "-r", &a, "-r", &b, "-r", &c]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for rule in ["Open From Cat", "Localhost connect", "open_dev_null", "dev_null"] {
        assert!(stdout(&out).contains(rule), "{rule}");
    }
    let out = lanner(&["-L", "-r", &r("rules/invalid_rule_output.yaml")]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn no_rules_files_is_an_error() {
    let config = testing("configs/empty_config.yaml");
    let out = lanner(&["-c", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("You must specify at least one rules file"), "{stderr}");
}
