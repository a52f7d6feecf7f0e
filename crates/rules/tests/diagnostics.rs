//! Golden tests of the human rendering of diagnostics, and of Falco's JSON and summary forms.
//!
//! Each `tests/golden/NAME.yaml` is loaded alone; the rendering must equal `NAME.txt`. Run with
//! `UPDATE_GOLDEN=1` to write the expected files after a deliberate change, and review the diff.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::path::PathBuf;

use lanner_rules::{LoadOptions, load};

fn golden(name: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let text = std::fs::read_to_string(dir.join(format!("{name}.yaml"))).unwrap();
    let loaded = load(&[(&format!("{name}.yaml"), &text)], &LoadOptions::default());
    let got = loaded.render();
    let expected_path = dir.join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&expected_path, &got).unwrap();
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap();
    assert_eq!(got, expected, "rendering of {name}.yaml changed:\n{got}");
}

#[test]
fn unknown_field() {
    golden("unknown_field");
}

#[test]
fn undefined_macro() {
    golden("undefined_macro");
}

#[test]
fn output_field() {
    golden("output_field");
}

#[test]
fn missing_key() {
    golden("missing_key");
}

#[test]
fn yaml_error() {
    golden("yaml_error");
}

#[test]
fn macro_error() {
    golden("macro_error");
}

#[test]
fn json_form() {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/output_field.yaml"),
    )
    .unwrap();
    let loaded = load(&[("output_field.yaml", &text)], &LoadOptions::default());
    let json = loaded.to_json();
    let result = &json["falco_load_results"][0];
    assert_eq!(result["name"], "output_field.yaml");
    assert_eq!(result["successful"], false);
    let e = &result["errors"][0];
    assert_eq!(e["code"], "LOAD_ERR_COMPILE_OUTPUT");
    assert_eq!(e["codedesc"], "Error compiling output");
    assert_eq!(e["message"], "invalid formatting token fd.nam");
    let locations = e["context"]["locations"].as_array().unwrap();
    assert_eq!(locations[1]["item_type"], "rule");
    assert_eq!(locations[1]["item_name"], "open_etc");
    // YAML positions are 0-based, as yaml-cpp's marks.
    assert_eq!(locations[1]["position"]["line"], 0);
    assert_eq!(locations[1]["position"]["column"], 2);
    assert_eq!(locations[2]["item_type"], "rule output");
    assert_eq!(locations[2]["position"]["line"], 3);
    assert_eq!(locations[2]["position"]["column"], 10);
    assert_eq!(
        loaded.files[0].summary(),
        "output_field.yaml: Invalid 1 errors: [LOAD_ERR_COMPILE_OUTPUT (Error compiling output)]"
    );
}

#[test]
fn unknown_list() {
    golden("unknown_list");
}
