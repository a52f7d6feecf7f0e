//! The hand-written schema check knows exactly the properties of the schema Falco embeds
//! (`schemas/falco_rules_schema.json`), and the upstream rules files conform to it.

use serde_json::Value;

use lanner_rules::{LoadOptions, load};

fn fixtures() -> String {
    format!("{}/../../../shared/fixtures", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn same_properties_as_the_schema_file() {
    let text =
        std::fs::read_to_string(format!("{}/schemas/falco_rules_schema.json", fixtures())).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    for (def, known) in lanner_rules::schema_properties() {
        let d = &schema["definitions"][def];
        let mut expected: Vec<&str> = match d["properties"].as_object() {
            Some(props) => props.keys().map(String::as_str).collect(),
            None => d["enum"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect(),
        };
        let mut known = known;
        expected.sort_unstable();
        known.sort_unstable();
        assert_eq!(known, expected, "{def}");
    }
}

#[test]
fn upstream_files_conform() {
    for name in ["falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml"] {
        let text = std::fs::read_to_string(format!("{}/rules/{name}", fixtures())).unwrap();
        let loaded = load(&[(name, &text)], &LoadOptions::default());
        assert!(loaded.files[0].schema_valid(), "{name}: {:?}", loaded.files[0].schema_warnings);
    }
}

#[test]
fn problems_are_reported_not_fatal() {
    let text = "- rule: r\n  desc: d\n  condition: evt.type = open\n  output: o\n  priority: INFO\n  capture: \"yes\"\n  typo: 1\n";
    let loaded = load(&[("r.yaml", text)], &LoadOptions::default());
    assert!(loaded.successful());
    assert_eq!(
        loaded.files[0].schema_warnings,
        [
            "failed for <root>[0].capture: value must be a boolean",
            "failed for <root>[0]: additional property 'typo' is not allowed"
        ]
    );
    assert_eq!(loaded.to_json()["falco_load_results"][0]["schema_valid"], false);
}
