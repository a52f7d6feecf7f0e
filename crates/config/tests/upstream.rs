//! The upstream `falco.yaml` and Falco's test configurations load, with Falco's values.

use std::path::{Path, PathBuf};

use lanner_config::{Config, EngineKind, RuleMatching, RuleSelection};

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures").join(path)
}

#[test]
fn upstream_falco_yaml_loads_with_its_values() {
    let config = Config::load(Some(&fixture("falco_config/falco.yaml")), &[]).unwrap();
    let s = config.settings().unwrap();
    assert_eq!(
        s.rules_files,
        ["/etc/falco/falco_rules.yaml", "/etc/falco/falco_rules.local.yaml", "/etc/falco/rules.d"]
    );
    assert_eq!(s.engine_kind, EngineKind::ModernEbpf);
    assert_eq!(s.priority, "debug");
    assert_eq!(s.rule_matching, RuleMatching::First);
    assert!(!s.json_output && s.json_include_output_property && s.json_include_tags_property);
    assert!(s.stdout_output);
    assert_eq!(s.append_output.len(), 1);
    assert_eq!(config.get("webserver.listen_port").and_then(|v| v.as_u64()), Some(8765));
    assert_eq!(config.get("plugins[0].name").and_then(|v| v.as_str()), Some("container"));
}

#[test]
fn falco_044_replay_options() {
    let options =
        ["engine.kind=replay".to_owned(), "engine.replay.capture_file=/tmp/x.scap".to_owned()];
    let config = Config::load(Some(&fixture("falco_config/falco.yaml")), &options).unwrap();
    let s = config.settings().unwrap();
    assert_eq!(s.engine_kind, EngineKind::Replay);
    assert_eq!(s.replay_capture_file, "/tmp/x.scap");
}

#[test]
fn drop_ins_append_and_nest_no_further() {
    let dir = std::env::temp_dir().join(format!("lanner-config-{}", std::process::id()));
    let conf_d = dir.join("config.d");
    std::fs::create_dir_all(&conf_d).unwrap();
    std::fs::copy(fixture("falco_config/falco.container_plugin.yaml"), conf_d.join("a.yaml"))
        .unwrap();
    std::fs::write(conf_d.join("b.yaml"), "json_output: true\nrules:\n  - disable: {tag: noisy}\n")
        .unwrap();
    std::fs::write(conf_d.join("ignored.txt"), "json_output: false\n").unwrap();
    let main = dir.join("falco.yaml");
    std::fs::write(&main, format!("config_files: [{}]\nload_plugins: []\n", conf_d.display()))
        .unwrap();
    let config = Config::load(Some(&main), &[]).unwrap();
    assert_eq!(config.files().len(), 3);
    let load: Vec<_> = config.get("load_plugins").unwrap().as_sequence().unwrap().clone();
    assert_eq!(load, [serde_yaml_ng_value("container")]);
    let s = config.settings().unwrap();
    assert!(s.json_output);
    assert_eq!(s.rules, [RuleSelection { enable: false, rule: None, tag: Some("noisy".into()) }]);

    std::fs::write(conf_d.join("c.yaml"), "config_files: [/etc]\n").unwrap();
    let err = Config::load(Some(&main), &[]).unwrap_err().to_string();
    assert!(err.contains("do not nest"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn serde_yaml_ng_value(s: &str) -> serde_yaml_ng::Value {
    serde_yaml_ng::Value::String(s.to_owned())
}

#[test]
fn bad_values_name_their_key() {
    let err =
        |text: &str| Config::from_text(text, &[]).unwrap().settings().unwrap_err().to_string();
    assert_eq!(
        err("json_output: maybe"),
        "config key `json_output`: expected true or false, found `maybe`"
    );
    assert_eq!(
        err("engine: {kind: ebpf}"),
        "config key `engine.kind`: unknown engine `ebpf` (use kmod, modern_ebpf, replay or nodriver)"
    );
    assert_eq!(
        err("rules: [{enable: {}}]"),
        "config key `rules[0]`: expected a `rule:` or a `tag:`"
    );
    let bad = Config::from_text("", &["no_equals".to_owned()]).unwrap_err().to_string();
    assert_eq!(bad, "bad option `no_equals`: expected `key=value`");
    let bad = Config::from_text("a: [", &[]).unwrap_err().to_string();
    assert!(bad.starts_with("config file `<text>` is not valid YAML: "), "{bad}");
}
