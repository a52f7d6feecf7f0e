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
