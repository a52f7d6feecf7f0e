//! `lanner --list`: the field table in libs' layout, the way `falco --list` prints it.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::collections::BTreeSet;
use std::process::Command;

fn lanner(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lanner")).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// libs' field table and the container plugin's: what `--list` must show (no table-only,
/// print-only or deprecated fields, nothing of the hidden `util` class).
fn expected_names() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/fields/libs_fields.json");
    let libs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut names = Vec::new();
    for (class, list) in libs.as_object().unwrap() {
        if class == "_source" || class == "util" {
            continue;
        }
        for f in list.as_array().unwrap() {
            let flags = f["flags"].as_str().unwrap();
            if ["EPF_TABLE_ONLY", "EPF_PRINT_ONLY", "EPF_DEPRECATED"]
                .iter()
                .any(|t| flags.contains(t))
            {
                continue;
            }
            names.push(f["name"].as_str().unwrap().to_owned());
        }
    }
    // The container plugin's fields: none is hidden.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/fields/plugin_fields.json");
    let plugin: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for f in plugin["container plugin (extracts from syscall source)"].as_array().unwrap() {
        names.push(f["name"].as_str().unwrap().to_owned());
    }
    names
}

#[test]
fn names_only_lists_every_advertised_field_once() {
    let (code, out, _) = lanner(&["--list", "-N"]);
    assert_eq!(code, 0);
    let listed: Vec<&str> = out.lines().collect();
    let unique: BTreeSet<&str> = listed.iter().copied().collect();
    assert_eq!(unique.len(), listed.len(), "a field is listed twice");
    let expected = expected_names();
    let expected: BTreeSet<&str> = expected.iter().map(String::as_str).collect();
    assert_eq!(unique, expected);
    // Deprecated and table-only fields stay out; the generic evt class comes first.
    assert!(!unique.contains("evt.latency") && !unique.contains("evt.latency.quantized"));
    assert_eq!(listed[0], "evt.num");
}

#[test]
fn text_layout_is_libs_layout() {
    let (code, out, _) = lanner(&["--list", "syscall"]);
    assert_eq!(code, 0);
    // Class headings, in libs' registration order, each with its sources.
    let headings: Vec<&str> = out.lines().filter(|l| l.starts_with("Field Class:")).collect();
    assert_eq!(
        headings,
        [
            "Field Class:                  evt (All event types)",
            "Field Class:                  evt (Syscall events only)",
            "Field Class:                  process",
            "Field Class:                  user",
            "Field Class:                  group",
            "Field Class:                  container",
            "Field Class:                  fd",
            "Field Class:                  fs.path",
            "Field Class:                  fdlist",
        ]
    );
    assert_eq!(out.matches("Event Sources:                syscall \n").count(), headings.len());
    // A field line: the name padded to 30 columns, tags, the description wrapped at 120.
    assert!(out.contains(
        "\nfd.types                      (ARG_ALLOWED,EPF_IS_LIST,EPF_NO_RHS) List of FD types in used. \
         Can be passed an fd number \n                              e.g. fd.types[0] to get the type \
         of stdout as a single item list. \n"
    ));
    assert!(out.contains(
        "\nfd.ip                         (EPF_NO_RHS,EPF_NO_TRANSFORMER,FILTER_ONLY) matches the ip \
         address (client or server) of \n"
    ));
    // The container plugin's fields, with their argument tags.
    assert!(out.contains("\ncontainer.mount.dest          (ARG_REQUIRED) The mount destination, "));
    assert!(out.contains("\nk8s.pod.name                  The Kubernetes pod name. "));
    for line in out.lines() {
        assert!(line.trim_end().len() <= 120, "too wide: {line:?}");
    }
}

#[test]
fn verbose_adds_types_and_markdown_is_a_table() {
    let (_, out, _) = lanner(&["--list", "-v"]);
    assert!(
        out.contains("\nproc.name                     (Type: CHARBUF) (EPF_NO_TRANSFORMER)")
            || out.contains("\nproc.name                     (Type: CHARBUF) ")
    );
    let (code, md, _) = lanner(&["--list", "--format", "markdown"]);
    assert_eq!(code, 0);
    assert!(
        md.starts_with("## Field Class: evt\n\nThese fields can be used for all event types\n")
    );
    assert!(md.contains("\n`fd.types` | LIST(CHARBUF) | List of FD types in used."));
    assert!(md.contains("\n`proc.pid` | INT64 | "));
}

#[test]
fn unknown_source_or_format_is_an_error() {
    let (code, out, err) = lanner(&["--list=k8s_audit"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("unknown event source `k8s_audit` (known sources: syscall)"), "{err}");
    let (code, _, err) = lanner(&["--list", "--format", "yaml"]);
    assert_eq!(code, 1);
    assert!(err.contains("unsupported --format `yaml`"), "{err}");
}
