//! The registry is libs' field table: same names, types, flags and descriptions, in the same
//! order (`testdata/fields/libs_fields.json`, derived from libs' filter checks).

use lanner_fields::{Class, FieldId, epf, fields, lookup, registry};

#[test]
fn registry_matches_libs() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/fields/libs_fields.json");
    let libs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
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
    assert_eq!(fields().len(), expected.len());
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
