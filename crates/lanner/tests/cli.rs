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

/// `static_fields` of falco.yaml: `static.NAME` in conditions and outputs, and appended as
/// `static_NAME=value` by `suggested_output`, with the container plugin's suggested fields.
#[test]
fn static_fields_in_conditions_and_outputs() {
    let dir = std::env::temp_dir().join(format!("lanner-static-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("falco.yaml");
    std::fs::write(
        &config,
        "static_fields:\n  env: prod\n  team: ${LANNER_TEST_TEAM}\nappend_output:\n  - suggested_output: true\n",
    )
    .unwrap();
    let rules = dir.join("rules.yaml");
    std::fs::write(
        &rules,
        "- rule: open_in_prod\n  desc: d\n  condition: evt.type=open and proc.name=cat and static.env=prod\n  output: opened %fd.name in %static.env\n  priority: WARNING\n",
    )
    .unwrap();
    let capture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/scap/cat_write.scap");
    let out = Command::new(env!("CARGO_BIN_EXE_lanner"))
        .args(["-c", config.to_str().unwrap(), "-r", rules.to_str().unwrap()])
        .args(["-e", capture.to_str().unwrap(), "-o", "log_stderr=false"])
        .env("LANNER_TEST_TEAM", "blue")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(&out);
    let first = text.lines().next().unwrap();
    assert!(
        first.ends_with(
            ": Warning opened /etc/ld.so.cache in prod container_id=host container_name=host \
             container_image_repository= container_image_tag= k8s_pod_name=<NA> \
             k8s_ns_name=<NA> static_env=prod static_team=blue"
        ),
        "{first}"
    );
    assert!(text.contains("open_in_prod: 4"), "{text}");

    // An unknown static field is a load error naming it.
    let bad = dir.join("bad.yaml");
    std::fs::write(
        &bad,
        "- rule: r\n  desc: d\n  condition: evt.type=open and static.nope=x\n  output: o\n  priority: INFO\n",
    )
    .unwrap();
    let out = lanner(&["-c", config.to_str().unwrap(), "-V", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("static.nope"), "{}", stdout(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `config/lanner.yaml`, the shipped default configuration, runs as it is: no schema
/// warning, the built-in rules through `builtin:lanner_rules.yaml`.
#[test]
fn the_default_configuration_runs_the_built_in_rules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let config = root.join("config/lanner.yaml");
    let capture = root.join("testdata/scap-synthetic/a01_attacks.scap");
    let out = lanner(&[
        "-c",
        config.to_str().unwrap(),
        "-e",
        capture.to_str().unwrap(),
        "-o",
        "append_output[0].suggested_output=false",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("lanner.yaml | schema validation: ok"), "{stderr}");
    assert!(!stderr.contains("Warning"), "{stderr}");
    assert!(stderr.contains("lanner_rules.yaml (built in)"), "{stderr}");
    assert!(stdout(&out).contains("Events detected: "), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("Read of sensitive file by untrusted program: 1"),
        "{}",
        stdout(&out)
    );
}

/// A mistyped key is a warning naming it and where it was written; the run goes on.
#[test]
fn unknown_config_keys_are_warnings_with_their_place() {
    let dir = std::env::temp_dir().join(format!("lanner-cli-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("falco.yaml");
    std::fs::write(
        &config,
        "json_output: false
webserver:
  listen_prot: 9000
",
    )
    .unwrap();
    let rules = testing("rules/single_rule.yaml");
    let out = lanner(&[
        "-c",
        config.to_str().unwrap(),
        "-r",
        rules.to_str().unwrap(),
        "--dry-run",
        "-o",
        "json_ouput=true",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("falco.yaml | schema validation: 1 warnings"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "Warning: config: {}:3:3: unknown key `webserver.listen_prot` (did you mean `listen_port`?)",
            config.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "Warning: config: -o json_ouput=true: unknown key `json_ouput` (did you mean `json_output`?)"
        ),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
