//! The configuration checked against Falco's config schema: Falco's own files fit it, and
//! each key that does not is reported with its path and where it was written (goldens).
#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::path::{Path, PathBuf};

use lanner_config::Config;

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures").join(path)
}

fn warnings(config: &Config) -> Vec<String> {
    config.check().iter().map(ToString::to_string).collect()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lanner-schema-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn falcos_files_fit_the_schema() {
    for file in [
        "falco_config/falco.yaml",
        "falco_config/falco.container_plugin.yaml",
        "falco_config/falco.iso8601_timeformat.yaml",
        "falco_config/unit_test_engine_kmod_config.yaml",
        "falco_config/unit_test_engine_modern_config.yaml",
    ] {
        let config = Config::load(Some(&fixture(file)), &[]).unwrap();
        assert_eq!(warnings(&config), Vec::<String>::new(), "{file}");
    }
}

#[test]
fn falco_043_keys_removed_in_044_are_reported() {
    let path = fixture("falco_config/falco-0.43.0.yaml");
    let config = Config::load(Some(&path), &[]).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let line_of = |key: &str| text.lines().position(|l| l.starts_with(key)).unwrap() + 1;
    let p = path.display();
    let got = warnings(&config);
    assert!(got.contains(&format!("{p}:{}:1: unknown key `grpc`", line_of("grpc:"))), "{got:#?}");
    assert!(
        got.contains(&format!("{p}:{}:1: unknown key `grpc_output`", line_of("grpc_output:"))),
        "{got:#?}"
    );
}

#[test]
fn problems_name_the_key_and_its_place() {
    let dir = temp_dir("golden");
    let drop_ins = dir.join("config.d");
    std::fs::create_dir_all(&drop_ins).unwrap();
    std::fs::write(
        drop_ins.join("10-more.yaml"),
        "rules_files:\n  - /etc/lanner/local.yaml\n  - 42\nwebserver:\n  listen_adress: 0.0.0.0\n",
    )
    .unwrap();
    let main = dir.join("lanner.yaml");
    std::fs::write(
        &main,
        format!(
            "config_files:\n  - {}\nrules_files:\n  - /etc/lanner/rules.yaml\n\
             json_ouput: true\n\
             webserver:\n  enabled: yes please\n  listen_port: 8765\n\
             engine:\n  modern_ebpf: {{buf_size_preset: 4}}\n\
             outputs_queue:\n  capacity: 10\n  overflow: sometimes\n\
             config_files_extra: []\n\
             stdout_output: {{}}\n",
            drop_ins.display()
        ),
    )
    .unwrap();
    let options = ["webserver.listen_port=port".to_owned(), "metrics.intervall=1h".to_owned()];
    let config = Config::load(Some(&main), &options).unwrap();
    let (m, d) = (main.display().to_string(), drop_ins.join("10-more.yaml").display().to_string());
    let got = warnings(&config);
    let want = vec![
        format!("{d}:3:5: `rules_files[2]`: expected a string, found a number (`42`)"),
        format!("{m}:5:1: unknown key `json_ouput` (did you mean `json_output`?)"),
        format!("{m}:7:3: `webserver.enabled`: expected a boolean, found a string (`yes please`)"),
        "-o webserver.listen_port=port: `webserver.listen_port`: expected an integer, found a \
         string (`port`)"
            .to_owned(),
        format!("{d}:5:3: unknown key `webserver.listen_adress` (did you mean `listen_address`?)"),
        format!("{m}:9:1: `engine`: the key `kind` is missing"),
        format!("{m}:13:3: `outputs_queue.overflow`: `sometimes` is not one of drop, block"),
        format!("{m}:14:1: unknown key `config_files_extra` (did you mean `config_files`?)"),
        format!("{m}:15:1: `stdout_output`: expected at least 1 key"),
        "-o metrics.intervall=1h: unknown key `metrics.intervall` (did you mean `interval`?)"
            .to_owned(),
    ];
    assert_eq!(got, want);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn config_files_entries_take_either_form() {
    let config = Config::from_text(
        "config_files:\n  - /nonexistent/a.yaml\n  - path: /nonexistent/b.yaml\n    strategy: override\n  - path: /nonexistent/c.yaml\n    strategy: merge\n",
        &[],
    )
    .unwrap_err();
    // An unknown strategy is an error when the drop-ins are read, before any check.
    assert!(config.to_string().contains("unknown strategy `merge`"), "{config}");
    let config = Config::from_text(
        "config_files:\n  - /nonexistent/a.yaml\n  - path: /nonexistent/b.yaml\n    strategy: override\n  - {strategy: append}\n",
        &[],
    );
    assert!(config.is_err());
    let config = Config::from_text("config_files:\n  - 5\n", &[]);
    assert!(config.is_err());
    let config = Config::from_text(
        "config_files:\n  - /nonexistent/a.yaml\n  - path: /nonexistent/b.yaml\n    strategy: override\n",
        &[],
    )
    .unwrap();
    assert_eq!(warnings(&config), Vec::<String>::new());
}

#[test]
fn lanners_default_configuration_fits_the_schema() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/lanner.yaml");
    let config = Config::load(Some(&path), &[]).unwrap();
    assert_eq!(warnings(&config), Vec::<String>::new());
    let s = config.settings().unwrap();
    assert_eq!(s.rules_files, ["builtin:lanner_rules.yaml"]);
    assert_eq!(config.get("webserver.listen_address").and_then(|v| v.as_str()), Some("127.0.0.1"));
}
