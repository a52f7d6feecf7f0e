//! The registry is libs' field table: same names, types, flags and descriptions, in the same
//! order (`testdata/fields/libs_fields.json`, derived from libs' filter checks), and the
//! container plugin's (`testdata/fields/plugin_fields.json`, from its `extract.cpp`).

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::collections::HashSet;

use lanner_fields::{Class, FieldId, epf, fields, lookup, registry};

/// The container plugin's table in `plugin_fields.json`.
const CONTAINER_PLUGIN: &str = "container plugin (extracts from syscall source)";

fn json(name: &str) -> serde_json::Value {
    let path = format!("{}/../../testdata/fields/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn registry_matches_libs() {
    let libs = json("libs_fields.json");
    let mut expected = Vec::new();
    for (class, list) in libs.as_object().unwrap() {
        if class == "_source" {
            continue;
        }
        let class = match class.as_str() {
            "evt (generic, all sources)" => Class::Evt,
            "evt (syscall only)" => Class::SyscallEvt,
            "process (proc.*, thread.*)" => Class::Process,
            "user" => Class::User,
            "group" => Class::Group,
            "fd" => Class::Fd,
            "fs.path" => Class::FsPath,
            "util" => Class::Util,
            "fdlist" => Class::FdList,
            other => panic!("class {other} unknown"),
        };
        for f in list.as_array().unwrap() {
            expected.push((class, f.clone()));
        }
    }
    let plugin = json("plugin_fields.json")[CONTAINER_PLUGIN].as_array().unwrap().len();
    // Plus `static`, the entry of Falco's configured `static_fields` (`static.NAME`).
    assert_eq!(fields().len(), expected.len() + plugin + 1);
    assert_eq!(lookup("static").unwrap().class, Class::Static);
    for (class, want) in &expected {
        let name = want["name"].as_str().unwrap();
        let got = lookup(name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(got.class, *class, "{name}");
        assert_eq!(
            format!("PT_{}", got.ty.name()).replace("PT_DYNAMIC", "PT_DYN"),
            want["type"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(got.desc, want["desc"].as_str().unwrap(), "{name}");
        assert_eq!(got.display, want["display"].as_str().unwrap(), "{name}");
        let flags = want["flags"].as_str().unwrap();
        for (text, bit) in [
            ("EPF_FILTER_ONLY", epf::FILTER_ONLY),
            ("EPF_PRINT_ONLY", epf::PRINT_ONLY),
            ("EPF_ARG_REQUIRED", epf::ARG_REQUIRED),
            ("EPF_TABLE_ONLY", epf::TABLE_ONLY),
            ("EPF_ARG_ALLOWED", epf::ARG_ALLOWED),
            ("EPF_DEPRECATED", epf::DEPRECATED),
            ("EPF_NO_TRANSFORMER", epf::NO_TRANSFORMER),
            ("EPF_NO_RHS", epf::NO_RHS),
            ("EPF_IS_LIST", epf::IS_LIST),
        ] {
            assert_eq!(got.has(bit), flags.contains(text), "{name}: {text}");
        }
    }
}

#[test]
fn ids_index_the_table() {
    for (i, f) in fields().iter().enumerate() {
        assert_eq!(f.id as usize, i, "{}", f.name);
        assert_eq!(registry::def(f.id).name, f.name);
    }
    assert_eq!(registry::def(FieldId::ProcName).name, "proc.name");
}

#[test]
fn container_class_is_the_plugins() {
    let plugin = json("plugin_fields.json");
    let want = plugin[CONTAINER_PLUGIN].as_array().unwrap();
    let ours: Vec<_> = fields().iter().filter(|f| f.class == Class::Container).collect();
    assert_eq!(ours.len(), want.len());
    assert_eq!(want.len(), 61);
    for (got, want) in ours.iter().zip(want) {
        let name = want["name"].as_str().unwrap();
        // Same order as the plugin's table.
        assert_eq!(got.name, name);
        let ty = match want["type"].as_str().unwrap() {
            "string" => "CHARBUF",
            "bool" => "BOOL",
            "abstime" => "ABSTIME",
            "reltime" => "RELTIME",
            "uint64" => "UINT64",
            other => panic!("{name}: plugin type {other}"),
        };
        assert_eq!(got.ty.name(), ty, "{name}");
        assert_eq!(got.desc, want["desc"].as_str().unwrap(), "{name}");
        assert!(!got.display.is_empty(), "{name}");
        let arg = want["arg"].as_str().unwrap_or("");
        assert_eq!(got.has(epf::ARG_REQUIRED), arg.starts_with("required"), "{name}");
        assert_eq!(got.has(epf::ARG_INDEX), arg.contains("index"), "{name}");
        assert_eq!(got.has(epf::ARG_KEY), arg.contains("key"), "{name}");
        let suggested = want["add_output"].as_bool().unwrap_or(false);
        assert_eq!(got.has(epf::FORMAT_SUGGESTED), suggested, "{name}");
        let other = epf::FILTER_ONLY
            | epf::PRINT_ONLY
            | epf::TABLE_ONLY
            | epf::ARG_ALLOWED
            | epf::DEPRECATED
            | epf::NO_TRANSFORMER
            | epf::NO_RHS
            | epf::IS_LIST;
        assert_eq!(got.flags & other, 0, "{name}: a flag the plugin does not set");
    }
}

#[test]
fn names_are_unique() {
    let mut seen = HashSet::new();
    for f in fields() {
        assert!(seen.insert(f.name), "{} registered twice", f.name);
    }
    // `proc.is_container_*` belong to the container plugin (libs dropped its own copies).
    assert_eq!(lookup("proc.is_container_healthcheck").unwrap().class, Class::Container);
    assert!(Class::ALL.contains(&Class::Container));
}

#[test]
fn falco_rules_container_fields_bind() {
    // Every container field Falco's rules (stable, incubating, sandbox) use, in conditions and
    // outputs, binds with its argument: the rules that failed for want of them compile.
    let re = regex::Regex::new(
        r"(?:^|[\s(%!=,{])((?:container\.|k8s\.(?:pod|ns|rc|svc|rs|deployment)\.|proc\.is_container_)[a-z0-9_.]*[a-z0-9_])(?:\[([^\]]*)\])?(?:[\s)},=]|$)",
    )
    .unwrap();
    let mut seen = HashSet::new();
    for file in ["falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml"] {
        let path = format!("{}/../../testdata/filter/rules/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).unwrap();
        for line in text.lines() {
            for c in re.captures_iter(line) {
                let name = &c[1];
                let arg = c.get(2).map(|m| m.as_str());
                if let Err(e) = lanner_fields::Field::parse(name, arg) {
                    panic!("{file}: `{name}` {arg:?}: {e}");
                }
                seen.insert(name.to_owned());
            }
        }
    }
    for name in
        ["container.id", "container.image.repository", "container.mount.dest", "k8s.ns.name"]
    {
        assert!(seen.contains(name), "{name} not found in the rules: {seen:?}");
    }
}
