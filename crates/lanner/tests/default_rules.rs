//! lanner's own default rules (`rules/lanner_rules.yaml`): they load with no error and no
//! warning, there are at least 30 of them, each names its MITRE ATT&CK tactic and technique and
//! constrains the event types it looks at, and they stay quiet on the benign fixture captures.
//! (Detections of real attacks are tested with live capture.)

use std::path::{Path, PathBuf};
use std::process::Command;

use lanner_rules::{LoadOptions, load_files};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn default_rules_load_cleanly_and_are_tagged() {
    let loaded = load_files(&[root().join("rules/lanner_rules.yaml")], &LoadOptions::default());
    assert!(loaded.successful(), "{}", loaded.render());
    assert_eq!(loaded.warnings().count(), 0, "{}", loaded.render());
    let rules = &loaded.ruleset.rules;
    assert!(rules.len() >= 30, "only {} rules", rules.len());
    for rule in rules {
        assert!(rule.tags.iter().any(|t| t.starts_with("mitre_")), "{}: no tactic", rule.name);
        assert!(rule.tags.iter().any(|t| t.starts_with('T')), "{}: no technique", rule.name);
        assert!(rule.event_types().len() < 50, "{}: matches too many event types", rule.name);
        assert!(rule.enabled, "{}", rule.name);
    }
}

#[test]
fn default_rules_are_quiet_on_benign_captures() {
    let captures = std::fs::read_dir(root().join("testdata/scap")).unwrap();
    let rules = root().join("rules/lanner_rules.yaml");
    let mut checked = 0;
    for capture in captures.map(|e| e.unwrap().path()) {
        if capture.extension().and_then(|e| e.to_str()) != Some("scap") {
            continue;
        }
        let out = Command::new(env!("CARGO_BIN_EXE_lanner"))
            .args(["-r", rules.to_str().unwrap(), "-e", capture.to_str().unwrap()])
            .args(["-o", "log_stderr=false"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("Events detected: 0"), "{}:\n{stdout}", capture.display());
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} captures");
}

/// `testdata/scap-synthetic/a01_attacks.scap` (made by `make.py`'s `attacks()`): one event per
/// technique, each raising exactly one rule.
#[test]
fn default_rules_detect_the_synthetic_attacks() {
    let rules = root().join("rules/lanner_rules.yaml");
    let capture = root().join("testdata/scap-synthetic/a01_attacks.scap");
    let out = Command::new(env!("CARGO_BIN_EXE_lanner"))
        .args(["-r", rules.to_str().unwrap(), "-e", capture.to_str().unwrap()])
        .args(["-o", "log_stderr=false", "-o", "json_output=true"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut fired: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|alert| alert["rule"].as_str().unwrap().to_owned())
        .collect();
    fired.sort();
    let mut expected = vec![
        "Terminal shell in container",
        "Shell spawned by a server process",
        "Executable run from a temporary directory",
        "Netcat remote code execution",
        "Package manager run in container",
        "Crypto miner executed",
        "Preloaded library in new process",
        "Read of sensitive file by untrusted program",
        "Read of cloud or cluster credentials",
        "Search for private keys or passwords",
        "Dynamic linker preload file modified",
        "Shell configuration modified",
        "SSH authorized keys modified",
        "Write below etc",
        "Write below binary directories",
        "Firewall rules flushed",
        "Set-user-ID bit set on a file",
        "Process injection with ptrace",
        "Symlink to a sensitive file",
        "Shell history deleted",
        "Privilege change to root by a non-root process",
        "Namespace change by non-runtime process",
        "Mount inside a container",
        "Read of SSH private keys",
        "Write below boot",
        "Scheduled task created or changed",
        "Log files cleared",
        "Sudo or su in container",
    ];
    expected.sort_unstable();
    assert_eq!(fired, expected);
}
