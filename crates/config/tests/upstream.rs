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

#[test]
fn output_channels_with_falcos_defaults() {
    use lanner_config::{Overflow, SyslogFormat};
    let config = Config::load(Some(&fixture("falco_config/falco.yaml")), &[]).unwrap();
    let s = config.settings().unwrap();
    assert_eq!((s.outputs_queue.capacity, s.outputs_queue.overflow), (0, Overflow::Drop));
    assert!(s.syslog_output.enabled && !s.file_output.enabled && !s.http_output.enabled);
    assert_eq!(s.syslog_output.address, "/dev/log");
    assert_eq!(s.syslog_output.format, SyslogFormat::Rfc3164);
    assert_eq!(s.file_output.filename, "./events.txt");
    assert!(!s.file_output.keep_alive);
    assert!(!s.program_output.enabled && !s.program_output.keep_alive);
    assert!(s.program_output.program.starts_with("jq '{text: .output}'"));
    let h = &s.http_output;
    assert_eq!((h.url.as_str(), h.user_agent.as_str()), ("", "falcosecurity/falco"));
    assert_eq!(h.ca_path, "/etc/ssl/certs");
    assert_eq!(h.client_cert, "/etc/ssl/certs/client.crt");
    assert_eq!(h.client_key, "/etc/ssl/certs/client.key");
    assert!(!h.insecure && !h.mtls && !h.echo && !h.compress_uploads && !h.keep_alive);
    assert_eq!(h.max_consecutive_timeouts, 5);
    assert_eq!((h.backlog_capacity, h.spool_dir.as_str(), h.spool_max_mb), (10_000, "", 100));
    assert_eq!(s.output_timeout_ms, 2000);
    assert_eq!((s.outputs.rate, s.outputs.max_burst, s.outputs.flood_max_alerts), (0.0, 1000.0, 0));

    let options = [
        "outputs_queue={capacity: 100, overflow: block}".to_owned(),
        "outputs={rate: 0.5, max_burst: 10, flood_guard: {max_alerts: 5, window_s: 30}}".to_owned(),
        "http_output={enabled: true, url: \"https://sidekick:2801/\", headers: {X-A: b}}"
            .to_owned(),
        "syslog_output.format=rfc5424".to_owned(),
    ];
    let s = Config::load(Some(&fixture("falco_config/falco.yaml")), &options)
        .unwrap()
        .settings()
        .unwrap();
    assert_eq!((s.outputs_queue.capacity, s.outputs_queue.overflow), (100, Overflow::Block));
    assert_eq!((s.outputs.rate, s.outputs.max_burst), (0.5, 10.0));
    assert_eq!((s.outputs.flood_max_alerts, s.outputs.flood_window_s), (5, 30));
    assert_eq!(s.http_output.headers, [("X-A".to_owned(), "b".to_owned())]);
    assert_eq!(s.syslog_output.format, SyslogFormat::Rfc5424);
}

#[test]
fn output_settings_that_do_not_fit_name_their_key() {
    let cases = [
        ("http_output: {enabled: true}", "config key `http_output.url`: a URL is needed"),
        (
            "http_output: {enabled: true, url: ftp://x}",
            "config key `http_output.url`: `ftp://x` is not",
        ),
        ("program_output: {enabled: true, program: ''}", "config key `program_output.program`"),
        (
            "outputs_queue: {capacity: -1}",
            "config key `outputs_queue.capacity`: expected a non-negative integer, found `-1`",
        ),
        (
            "outputs_queue: {overflow: spill}",
            "config key `outputs_queue.overflow`: unknown policy `spill`",
        ),
        ("outputs: {rate: fast}", "config key `outputs.rate`: expected a non-negative number"),
        (
            "syslog_output: {format: json}",
            "config key `syslog_output.format`: unknown format `json`",
        ),
        ("outputs: {flood_guard: {window_s: 0}}", "config key `outputs.flood_guard.window_s`"),
    ];
    for (text, want) in cases {
        let err = Config::from_text(text, &[]).unwrap().settings().unwrap_err().to_string();
        assert!(err.starts_with(want), "{text}: {err}");
    }
}
