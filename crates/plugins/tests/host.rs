//! The host against real plugins built with the `falco_plugin` SDK (`test-plugins/`), loaded
//! as `.so` files, never linked in.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use lanner_fields::{Field, FieldArg, Value, Values};
use lanner_plugins::{InitConfig, Plugin, PluginError, SharedPlugin};

/// Builds the test plugins once (in a target directory of their own, so the build does not
/// wait for the one running this test) and returns the directory holding the `.so` files.
fn plugins_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let target = root.join("target/test-plugins");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = std::process::Command::new(cargo)
            .current_dir(&root)
            .args(["build", "--quiet"])
            .args(["-p", "lanner-test-plugin-counter", "-p", "lanner-test-plugin-parse"])
            .args(["-p", "lanner-test-plugin-async", "-p", "lanner-test-plugin-future"])
            .arg("--target-dir")
            .arg(&target)
            .status()
            .unwrap();
        assert!(status.success(), "building the test plugins failed");
        target.join("debug")
    })
}

fn lib(name: &str) -> PathBuf {
    plugins_dir().join(format!("liblanner_test_plugin_{name}.so"))
}

fn counter(config: &str) -> Plugin {
    let mut p = Plugin::load(&lib("counter"), None).unwrap();
    p.init(&InitConfig::Text(config.to_owned())).unwrap();
    p
}

#[test]
fn loads_and_describes_an_sdk_plugin() {
    let p = Plugin::load(&lib("counter"), None).unwrap();
    assert_eq!(p.name(), "counter");
    assert_eq!(p.version(), "0.3.0");
    assert_eq!(p.description(), "Counts to a number, one event per step");
    assert_eq!(p.id(), 999);
    assert_eq!(p.event_source(), "counter");
    let caps = p.capabilities();
    assert!(caps.sourcing && caps.extraction && !caps.parsing && !caps.async_events);
    let names: Vec<&str> = p.fields().iter().map(|f| f.spec.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "counter.n",
            "counter.text",
            "counter.even",
            "counter.divisors",
            "counter.digit",
            "counter.tag"
        ]
    );
    assert!(p.init_schema().unwrap().contains("\"count\""));
}

#[test]
fn refuses_a_plugin_requiring_a_newer_api() {
    let err = Plugin::load(&lib("future"), None).unwrap_err();
    assert!(matches!(err, PluginError::Load { .. }));
    assert!(
        err.to_string().ends_with(
            "plugin required API version '3.99.0' not compatible with the framework's API version '3.12.0': framework's minor is less than the requested one"
        ),
        "{err}"
    );
}

#[test]
fn validates_the_init_config_against_the_schema() {
    let mut p = Plugin::load(&lib("counter"), None).unwrap();
    let err = p.init(&InitConfig::Text(r#"{"count": "many"}"#.into())).unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("plugin `counter`: invalid init config: /count: "), "{text}");
    assert!(text.contains("\"many\""), "{text}");
    let mut p = Plugin::load(&lib("counter"), None).unwrap();
    let err = p.init(&InitConfig::Text("{}".into())).unwrap_err();
    assert!(err.to_string().contains("\"count\" is a required property"), "{err}");
    let mut p = Plugin::load(&lib("counter"), None).unwrap();
    p.init(&InitConfig::Json(serde_json::json!({"count": 2}))).unwrap();
}

#[test]
fn sources_events_in_batches_until_eof() {
    let mut p = counter(r#"{"count": 10, "prefix": "n"}"#);
    let mut source = p.open("").unwrap();
    let mut texts = Vec::new();
    let mut batches = 0;
    while let Some(batch) = source.next_batch(&mut p).unwrap() {
        batches += 1;
        for ev in batch.iter() {
            assert_eq!(ev.event_type(), 322);
            assert_eq!(ev.param(0).unwrap(), 999u32.to_le_bytes());
            assert_ne!(ev.ts(), u64::MAX, "a time of \"now\" is replaced");
            texts.push(String::from_utf8(ev.param(1).unwrap().to_vec()).unwrap());
        }
    }
    assert_eq!(batches, 3);
    assert_eq!(texts.len(), 10);
    assert_eq!(texts[0], "n 1");
    assert_eq!(texts[9], "n 10");
    assert!(source.next_batch(&mut p).unwrap().is_none(), "EOF stays EOF");
    p.close(source);
    let metrics = p.metrics();
    assert_eq!(metrics.len(), 1);
    assert_eq!(metrics[0].name, "emitted");
    assert_eq!(metrics[0].value, lanner_plugins::MetricValue::Uint(10));
}

#[test]
fn a_failure_carries_the_plugins_last_error() {
    let mut p = counter(r#"{"count": 1, "fail_open": true}"#);
    let err = p.open("").unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `counter`: plugin_open failed (rc 1): counter refuses to open: fail_open is set"
    );
}

#[test]
fn extracts_typed_values_lists_and_arguments() {
    let mut p = counter(r#"{"count": 12}"#);
    let mut source = p.open("").unwrap();
    let mut events: Vec<Vec<u8>> = Vec::new();
    while let Some(batch) = source.next_batch(&mut p).unwrap() {
        events.extend(batch.iter().map(|e| e.as_bytes().to_vec()));
    }
    let ev = lanner_event::RawEvent::new(&events[11]).unwrap();
    let mut out = Values::new();
    let mut get = |p: &mut Plugin, i: u32, arg: FieldArg| {
        p.extract(i, &arg, &ev, 12, "counter", &mut out).unwrap();
        out.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(",")
    };
    assert_eq!(get(&mut p, 0, FieldArg::None), "Uint(12)");
    assert_eq!(get(&mut p, 1, FieldArg::None), format!("{:?}", Value::Bytes(b"tick 12")));
    assert_eq!(get(&mut p, 2, FieldArg::None), "Bool(true)");
    assert_eq!(get(&mut p, 3, FieldArg::None), "Uint(1),Uint(2),Uint(3),Uint(4),Uint(6),Uint(12)");
    assert_eq!(get(&mut p, 4, FieldArg::Index(1)), format!("{:?}", Value::Bytes(b"2")));
    assert_eq!(get(&mut p, 5, FieldArg::Key("k".into())), format!("{:?}", Value::Bytes(b"k12")));
    // Asked again (as every rule using the field does): the same values, from the memo.
    assert_eq!(get(&mut p, 3, FieldArg::None), "Uint(1),Uint(2),Uint(3),Uint(4),Uint(6),Uint(12)");
    assert_eq!(get(&mut p, 4, FieldArg::Index(0)), format!("{:?}", Value::Bytes(b"1")));
    // Another event: its own values.
    let other = lanner_event::RawEvent::new(&events[4]).unwrap();
    p.extract(0, &FieldArg::None, &other, 5, "counter", &mut out).unwrap();
    assert_eq!(out.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>(), ["Uint(5)"]);
    // Not an event of its source: no value.
    p.extract(0, &FieldArg::None, &ev, 12, "syscall", &mut out).unwrap();
    assert!(out.is_empty());
    // An index past the number: the plugin fails, with its message.
    let err = p.extract(4, &FieldArg::Index(5), &ev, 12, "counter", &mut out).unwrap_err();
    assert!(err.to_string().contains("no digit 5 in 12"), "{err}");
}

#[test]
fn registered_fields_bind_and_extract_through_the_registry() {
    let p = SharedPlugin::new(counter(r#"{"count": 3}"#));
    Plugin::register_fields(&p).unwrap();
    let f = Field::parse("counter.digit", Some("0")).unwrap();
    assert_eq!(f.arg(), &FieldArg::Index(0));
    assert!(f.applies_to("counter") && !f.applies_to("syscall"));
    assert!(Field::parse("counter.digit", Some("x")).is_err());
    assert_eq!(Field::parse("counter.tag", Some("x")).unwrap().arg(), &FieldArg::Key("x".into()));
    assert!(Field::parse("counter.n", Some("1")).is_err());
    assert_eq!(
        Field::parse("counter.nn", None).unwrap_err().to_string(),
        "unknown field `counter.nn` (did you mean `counter.n`?)"
    );
    // Registering the same fields again is refused.
    let err = Plugin::register_fields(&p).unwrap_err();
    assert!(err.to_string().contains("field `counter.n` is already defined by plugin `counter`"));
}

#[test]
fn parse_plugin_keeps_state_from_events() {
    let mut p = Plugin::load(&lib("parse"), None).unwrap();
    assert!(p.capabilities().parsing);
    p.init(&InitConfig::Text(String::new())).unwrap();
    let raw = lanner_event_bytes(3);
    let ev = lanner_event::RawEvent::new(&raw).unwrap();
    let mut out = Values::new();
    for i in 1..=3 {
        p.parse(&ev, i, "syscall").unwrap();
    }
    p.extract(0, &FieldArg::None, &ev, 3, "syscall", &mut out).unwrap();
    assert_eq!(out.first(), Some(Value::Uint(3)));
    p.extract(1, &FieldArg::None, &ev, 3, "syscall", &mut out).unwrap();
    assert_eq!(out.first(), Some(Value::Uint(3)));
    let err = p.extract(2, &FieldArg::None, &ev, 3, "syscall", &mut out).unwrap_err();
    assert!(err.to_string().contains("parsecount.fail always fails"), "{err}");
}

/// An event of type `code` with no parameter.
fn lanner_event_bytes(code: u16) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&1u64.to_le_bytes());
    v.extend_from_slice(&7u64.to_le_bytes());
    v.extend_from_slice(&26u32.to_le_bytes());
    v.extend_from_slice(&code.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v
}

#[test]
fn async_events_queue_up() {
    let mut p = Plugin::load(&lib("async"), None).unwrap();
    assert!(p.capabilities().async_events);
    assert_eq!(p.async_event_names(), ["ticker"]);
    assert_eq!(p.async_sources(), ["syscall"]);
    p.init(&InitConfig::Text(r#"{"count": 3}"#.into())).unwrap();
    p.start_async().unwrap();
    let (events, dropped) = p.take_async_events();
    assert_eq!((events.len(), dropped), (3, 0));
    let ev = lanner_event::RawEvent::new(&events[2]).unwrap();
    assert_eq!(ev.event_type(), 402);
    assert_eq!(ev.param(1).unwrap(), b"ticker\0");
    let mut out = Values::new();
    p.extract(0, &FieldArg::None, &ev, 1, "syscall", &mut out).unwrap();
    assert_eq!(out.first(), Some(Value::Bytes(b"tick 3")));
    p.stop_async().unwrap();
}
