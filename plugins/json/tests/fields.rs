//! The json plugin through its C ABI: every field on fixture events, pointer syntax, odd
//! payloads; and a cross-check with the SDK's own runner (`falco_plugin_runner`).
#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use lanner_plugin_testkit::{Extracted, Host, plugin_event};
use std::ffi::CStr;

const FIXTURES: &str = "../../../shared/fixtures";

fn host() -> Host {
    Host::new(lanner_plugin_json::PLUGIN_API, "").unwrap_or_else(|_| {
        // An empty config is replaced by `{}` by Falco for plugins with a schema.
        Host::new(lanner_plugin_json::PLUGIN_API, "{}").unwrap()
    })
}

fn pod_event() -> Vec<u8> {
    let path = format!(
        "{FIXTURES}/falco_legacy_regression_tests/trace_files/k8s_audit/create_nginx_pod_privileged.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    plugin_event(1, 1_533_736_000_123_456_789, text.trim().as_bytes())
}

#[test]
fn declares_upstream_fields_and_identity() {
    let h = Host::new(lanner_plugin_json::PLUGIN_API, "{}").unwrap();
    let [name, version, _, _, api] = h.info();
    assert_eq!(name, "json");
    assert!(version.starts_with("0.7."), "{version}");
    assert!(api.starts_with("3."), "{api}");
    assert_eq!(h.id(), 0);
    // Extract from any source: an empty list.
    assert_eq!(h.extract_event_sources().as_deref(), Some("[]"));
    let want: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{FIXTURES}/plugin_fields.json")).unwrap(),
    )
    .unwrap();
    let want = want["json (extracts from any plugin source)"].as_array().unwrap();
    assert_eq!(h.fields().len(), want.len());
    for (got, want) in h.fields().iter().zip(want) {
        assert_eq!(got.name, want["name"].as_str().unwrap());
        assert_eq!(got.field_type, want["type"].as_str().unwrap());
        assert_eq!(got.desc, want["desc"].as_str().unwrap());
        assert_eq!(got.is_list, want.get("is_list").is_some());
        let arg = got.arg.unwrap_or_default();
        match want.get("arg").and_then(|a| a.as_str()) {
            Some("IsRequired: true, IsKey: true") => assert!(arg.is_required && arg.is_key),
            None => assert_eq!(got.arg, None),
            Some(other) => panic!("unexpected arg {other}"),
        }
    }
}

#[test]
fn empty_config_is_rejected_like_any_non_json_config() {
    // Documented for the host: pass `{}` when the user gave no init_config (as libs does).
    assert!(Host::new(lanner_plugin_json::PLUGIN_API, "").is_err());
    assert!(
        Host::new(lanner_plugin_json::PLUGIN_API, r#"{"useAsync": false, "other": 1}"#).is_ok()
    );
}

#[test]
fn value_obj_rawtime_on_a_k8s_audit_event() {
    let mut h = host();
    let e = pod_event();
    let t = |h: &mut Host, f: &str| h.extract_text(&e, f).unwrap();
    assert_eq!(t(&mut h, "json.value[/verb]"), "create");
    assert_eq!(t(&mut h, "json.value[verb]"), "create");
    assert_eq!(t(&mut h, "jevt.value[/objectRef/resource]"), "pods");
    assert_eq!(t(&mut h, "json.value[/requestObject/spec/containers/0/image]"), "nginx");
    assert_eq!(
        t(&mut h, "json.value[/requestObject/spec/containers/0/securityContext]"),
        r#"{"privileged":true}"#
    );
    assert_eq!(t(&mut h, "json.value[/responseStatus/code]"), "201");
    assert_eq!(t(&mut h, "json.value[/no/such]"), "<NA>");
    assert_eq!(t(&mut h, "json.rawtime"), "1533736000123456789");
    assert_eq!(t(&mut h, "jevt.rawtime"), "1533736000123456789");
    let obj = t(&mut h, "json.obj");
    assert!(obj.starts_with("{\n  \"kind\": \"Event\",\n"), "{obj}");
    assert_eq!(obj, t(&mut h, "jevt.obj"));
}

#[test]
fn pointer_escapes_and_arrays() {
    let mut h = host();
    let e = plugin_event(999, 1, br#"{"a/b":{"~k":[1,{"x":null}]},"":{"":"empty"}}"#);
    assert_eq!(h.extract_text(&e, "json.value[/a~1b/~0k/1]").unwrap(), r#"{"x":null}"#);
    assert_eq!(h.extract_text(&e, "json.value[/a~1b/~0k/1/x]").unwrap(), "null");
    assert_eq!(h.extract_text(&e, "json.value[/a~1b/~0k/7]").unwrap(), "<NA>");
    assert_eq!(h.extract_text(&e, "json.value[//]").unwrap(), "empty");
    let arr = plugin_event(999, 1, br#"[{"a":1}]"#);
    assert_eq!(h.extract_text(&arr, "json.value[/0/a]").unwrap(), "1");
}

#[test]
fn odd_payloads_fail_cleanly_or_give_no_value() {
    let mut h = host();
    for (i, payload) in [
        &b""[..],
        b"not json",
        b"{",
        b"{\"a\":}",
        b"[1,2,",
        b"\"just a string\"",
        b"{\"a\":\"\\ud800\"}",
        b"{\"a\":\"nul\\u0000inside\"}",
        &[0xff, 0xfe, b'{'],
    ]
    .into_iter()
    .enumerate()
    {
        let e = plugin_event(999, 1, payload);
        for f in ["json.value[/a]", "json.obj", "json.rawtime"] {
            // Each call is a fresh event number: no stale cache.
            let r = h.extract_from(&e, c"any", 1000 + i as u64, f);
            if let Ok(Some(v)) = r {
                assert_eq!(v.len(), 1);
            }
        }
    }
    let e = plugin_event(999, 1, b"{\"a\":\"nul\\u0000inside\"}");
    assert_eq!(h.extract_text(&e, "json.value[/a]").unwrap(), "nul");
    let e = plugin_event(999, 1, b"not json");
    assert_eq!(h.extract(&e, "json.value[/a]").unwrap_err(), "invalid json format");
}

#[test]
fn the_cache_follows_the_event_number() {
    let mut h = host();
    let a = plugin_event(999, 1, br#"{"v":"a"}"#);
    let b = plugin_event(999, 1, br#"{"v":"b"}"#);
    let src: &CStr = c"k8s_audit";
    assert_eq!(
        h.extract_from(&a, src, 1, "json.value[/v]").unwrap(),
        Some(vec![Extracted::Str("a".into())])
    );
    assert_eq!(
        h.extract_from(&b, src, 2, "json.value[/v]").unwrap(),
        Some(vec![Extracted::Str("b".into())])
    );
    assert_eq!(
        h.extract_from(&a, src, 3, "json.value[/v]").unwrap(),
        Some(vec![Extracted::Str("a".into())])
    );
}

#[test]
fn the_sdk_runner_extracts_the_same() {
    use falco_plugin_runner::{Event, ExtractedField, PluginRunner};
    let mut runner = PluginRunner::new();
    runner.register_plugin(lanner_plugin_json::PLUGIN_API, c"{}").unwrap();
    let mut capture = runner.start_capture().unwrap();
    let mut data = pod_event();
    let event = Event {
        source: c"k8s_audit".as_ptr(),
        source_plugin: std::ptr::null_mut(),
        to_string: None,
        buf: data.as_mut_ptr().cast(),
        evt_num: Some(1),
    };
    let got = capture.extract_field(&event, "json.value[/user/username]").unwrap().unwrap();
    assert_eq!(
        got,
        ExtractedField::String(c"system:serviceaccount:kube-system:replicaset-controller".into())
    );
    let got = capture.extract_field(&event, "json.value[/nope]").unwrap().unwrap();
    assert_eq!(got, ExtractedField::None);
}
