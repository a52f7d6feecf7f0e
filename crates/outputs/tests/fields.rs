//! Alerts built from a real event: how each kind of value prints in the message and types in
//! JSON `output_fields`, `<NA>`, widths, transformers, and `append_output`.
//!
//! The event is number 197 of `cat_write.scap`: the exit of `open("/dev/null")` by `cat`
//! (pid 20072), with the state the capture built up to it.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::path::Path;
use std::sync::Arc;

use lanner_event::RawEvent;
use lanner_event::render::RenderOptions;
use lanner_fields::EventContext;
use lanner_outputs::{
    Alert, AlertRule, AlertScratch, AppendOutput, ExtraField, FieldValue, OutputError,
    OutputOptions, Priority, RuleOutput, render,
};
use lanner_scap::Reader;
use lanner_state::State;
use serde_json::{Value, json};

fn replay(target: u64) -> (State, Vec<u8>, u16, u64) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/scap/cat_write.scap");
    let mut reader = Reader::open(path).unwrap();
    let mut state = State::from_tables(reader.tables());
    let (mut num, mut first) = (0, None);
    while let Some(record) = reader.next().unwrap() {
        num += 1;
        if let Some(tables) = record.new_tables {
            state.load_tables(tables);
        }
        state.process(&record.event);
        let first = *first.get_or_insert(record.event.ts());
        if num == target {
            return (state, record.event.as_bytes().to_vec(), record.cpu, first);
        }
    }
    panic!("no event {target}");
}

fn alert_with(output: &str, append: &[AppendOutput]) -> Alert {
    alert_at(197, output, append)
}

fn alert_at(num: u64, output: &str, append: &[AppendOutput]) -> Alert {
    let (state, bytes, cpu, first) = replay(num);
    let ev = RawEvent::new(&bytes).unwrap();
    let ctx = EventContext::new(num, cpu, &ev, &state, first, 0, RenderOptions::default());
    let rule = AlertRule::new("r", Priority::Notice, "syscall", ["filesystem", "process"]);
    let out = RuleOutput::new(rule, output, append, &[]).unwrap();
    out.alert(&ctx, &Arc::from("h"), &mut AlertScratch::default())
}

fn alert(output: &str) -> Alert {
    alert_with(output, &[])
}

fn json_of(alert: &Alert) -> Value {
    let mut line = String::new();
    render::write_json(&mut line, alert, &OutputOptions::default());
    serde_json::from_str(&line).unwrap()
}

#[test]
fn values_print_as_libs_prints_them() {
    let a = alert(
        "%proc.name %proc.pid %fd.name %fd.num %evt.type %evt.res %evt.rawres %fd.typechar \
         %user.name %proc.pname %evt.is_open_read",
    );
    assert_eq!(a.message, "cat 20072 /dev/null 3 open SUCCESS 3 f <NA> bash true");
    let f = &json_of(&a)["output_fields"];
    assert_eq!(f["proc.name"], "cat");
    assert_eq!(f["proc.pid"], 20072);
    assert_eq!(f["fd.num"], 3);
    assert_eq!(f["evt.rawres"], 3);
    assert_eq!(f["evt.res"], "SUCCESS");
    assert_eq!(f["evt.is_open_read"], true);
    assert_eq!(f["fd.typechar"], "f");
    // this 2016 capture has no user table: libs' user.name is then the *string* "<NA>"
    assert_eq!(f["user.name"], "<NA>");
}

#[test]
fn time_fields_are_nanoseconds_in_json() {
    let a =
        alert("%evt.time %evt.time.s %evt.datetime %evt.rawtime %evt.rawtime.s %evt.time.iso8601");
    assert_eq!(
        a.message,
        "16:17:57.882054739 16:17:57 2016-08-04 16:17:57.882054739 1470327477882054739 \
         1470327477 2016-08-04T16:17:57.882054739+0000"
    );
    let f = &json_of(&a)["output_fields"];
    for name in ["evt.time", "evt.time.s", "evt.datetime", "evt.rawtime", "evt.time.iso8601"] {
        assert_eq!(f[name], 1_470_327_477_882_054_739u64, "{name}");
    }
    assert_eq!(f["evt.rawtime.s"], 1_470_327_477u64);
}

#[test]
fn missing_values_print_na_and_json_null() {
    // a parent's ancestor far up and a socket field on a file: both missing
    let a = alert("[%proc.aname[9]] [%fd.sport] [%8fd.cip]");
    assert_eq!(a.message, "[<NA>] [<NA>] [<NA>    ]");
    let f = &json_of(&a)["output_fields"];
    assert_eq!(f["proc.aname[9]"], Value::Null);
    assert_eq!(f["fd.sport"], Value::Null);
    assert_eq!(f["fd.cip"], Value::Null);
}

#[test]
fn widths_pad_and_cut() {
    let a = alert("[%6proc.name][%2fd.name][%10proc.pid]");
    assert_eq!(a.message, "[cat   ][/d][20072     ]");
    // the value in JSON is whole
    assert_eq!(json_of(&a)["output_fields"]["fd.name"], "/dev/null");
}

#[test]
fn transformers_print_but_stay_out_of_output_fields() {
    let a = alert(
        "%toupper(proc.name) %len(fd.name) %basename(fd.name) %concat(proc.name, \"-\", fd.directory)",
    );
    assert_eq!(a.message, "CAT 9 null cat-/dev");
    let fields = json_of(&a)["output_fields"].clone();
    // libs resolves the fields inside transformers, not the transformed values
    assert_eq!(
        fields,
        json!({
            "evt.time": 1_470_327_477_882_054_739u64,
            "fd.directory": "/dev",
            "fd.name": "/dev/null",
            "proc.name": "cat",
        })
    );
}

#[test]
fn rule_text_is_kept_as_written() {
    let a = alert("quote \" backslash \\ tab\there %proc.name");
    assert_eq!(a.message, "quote \" backslash \\ tab\there cat");
    let mut line = String::new();
    render::write_text(&mut line, &a, &OutputOptions::default());
    assert_eq!(line, "16:17:57.882054739: Notice quote \" backslash \\ tab\there cat");
    // and JSON escapes it
    assert_eq!(
        json_of(&a)["output"],
        "16:17:57.882054739: Notice quote \" backslash \\ tab\there cat"
    );
}

#[test]
fn append_output_adds_text_and_fields_to_matching_rules() {
    let append = [
        AppendOutput {
            source: Some("syscall".into()),
            tags: ["filesystem".to_owned()].into(),
            extra_output: Some("pid=%proc.pid".into()),
            extra_fields: vec![
                ExtraField::Raw("proc.pid".into()),
                ExtraField::Formatted {
                    name: "cmd".into(),
                    format: "%proc.name (%fd.name)".into(),
                },
                ExtraField::Formatted { name: "skipped".into(), format: String::new() },
            ],
            ..AppendOutput::default()
        },
        // not for this rule: another source, a tag it lacks, another rule
        AppendOutput {
            source: Some("k8s_audit".into()),
            extra_output: Some("NO".into()),
            ..AppendOutput::default()
        },
        AppendOutput {
            tags: ["network".to_owned()].into(),
            extra_output: Some("NO".into()),
            ..AppendOutput::default()
        },
        AppendOutput {
            rule: Some("other".into()),
            extra_output: Some("NO".into()),
            ..AppendOutput::default()
        },
        // for every rule, after the first; its field replaces the earlier `cmd`
        AppendOutput {
            extra_output: Some("uid=%user.uid".into()),
            extra_fields: vec![ExtraField::Formatted {
                name: "cmd".into(),
                format: "%proc.cmdline".into(),
            }],
            ..AppendOutput::default()
        },
    ];
    let a = alert_with("opened %fd.name", &append);
    assert_eq!(a.message, "opened /dev/null pid=20072 uid=4294967295");
    assert_eq!(
        a.extra_fields,
        [
            (Arc::from("cmd"), FieldValue::String("cat /dev/null".into())),
            (Arc::from("proc.pid"), FieldValue::Int(20072)),
        ]
    );
    let fields = json_of(&a)["output_fields"].clone();
    assert_eq!(
        fields,
        json!({
            "cmd": "cat /dev/null",
            "evt.time": 1_470_327_477_882_054_739u64,
            "fd.name": "/dev/null",
            "proc.pid": 20072,
            "user.uid": 4_294_967_295u32,
        })
    );
}

#[test]
fn bad_formats_are_load_errors() {
    let rule = AlertRule::new("r", Priority::Notice, "syscall", []);
    let err =
        RuleOutput::new(rule.clone(), "An open was seen %not_a_real_field", &[], &[]).unwrap_err();
    assert_eq!(err.to_string(), "invalid formatting token not_a_real_field");
    let OutputError::Output(e) = err else { panic!() };
    assert_eq!(e.span, 17..34);
    let append = [AppendOutput {
        extra_fields: vec![ExtraField::Formatted { name: "x".into(), format: "%proc.nope".into() }],
        ..AppendOutput::default()
    }];
    let err = RuleOutput::new(rule, "fine", &append, &[]).unwrap_err();
    assert_eq!(err.to_string(), "invalid formatting token proc.nope (extra field `x`)");
}

#[test]
fn suggested_output_appends_the_container_fields() {
    // falco.yaml's default `append_output: [{suggested_output: true}]`, container plugin loaded
    let (state, bytes, cpu, first) = replay(197);
    let ev = RawEvent::new(&bytes).unwrap();
    let ctx = EventContext::new(197, cpu, &ev, &state, first, 0, RenderOptions::default());
    let rule = AlertRule::new("r", Priority::Notice, "syscall", []);
    let append = [AppendOutput { suggested_output: true, ..AppendOutput::default() }];
    let suggested: Vec<&str> = lanner_outputs::suggested_fields().collect();
    let out = RuleOutput::new(rule.clone(), "opened %fd.name", &append, &suggested).unwrap();
    assert_eq!(
        out.message_text(),
        "opened %fd.name container_id=%container.id container_name=%container.name \
         container_image_repository=%container.image.repository \
         container_image_tag=%container.image.tag k8s_pod_name=%k8s.pod.name \
         k8s_ns_name=%k8s.ns.name"
    );
    let a = out.alert(&ctx, &Arc::from("h"), &mut AlertScratch::default());
    assert_eq!(
        a.message,
        "opened /dev/null container_id=host container_name=host \
         container_image_repository= container_image_tag= k8s_pod_name=<NA> k8s_ns_name=<NA>"
    );
    // the deprecated %container.info is dropped, and reported
    let out = RuleOutput::new(rule, "x %container.info y", &[], &[]).unwrap();
    assert!(out.uses_container_info());
    assert_eq!(out.message_text(), "x  y");
}

#[test]
fn stateful_fields_remember_per_format() {
    let (state, bytes, cpu, first) = replay(197);
    let ev = RawEvent::new(&bytes).unwrap();
    let ctx = EventContext::new(197, cpu, &ev, &state, first, 0, RenderOptions::default());
    let rule = AlertRule::new("r", Priority::Notice, "syscall", []);
    let a = RuleOutput::new(rule.clone(), "n=%util.cnt", &[], &[]).unwrap();
    let b = RuleOutput::new(rule, "m=%util.cnt", &[], &[]).unwrap();
    let host: Arc<str> = Arc::from("h");
    let mut scratch = AlertScratch::default();
    let msgs: Vec<String> =
        [&a, &a, &b, &a].iter().map(|o| o.alert(&ctx, &host, &mut scratch).message).collect();
    // each format counts its own alerts, as each of libs' cached formatters does
    assert_eq!(msgs, ["n=1", "n=2", "m=1", "n=3"]);
}

#[test]
fn binary_buffers_print_printable() {
    // event 153 reads the ELF header of libc: NULs, 0x7f, bytes above 0x7f
    let a = alert_at(153, "%evt.buflen %evt.buffer", &[]);
    assert!(a.message.starts_with("832 .ELF......"), "{}", a.message);
    assert!(a.message.bytes().all(|b| (0x20..0x7f).contains(&b)), "{}", a.message);
    let f = &json_of(&a)["output_fields"];
    assert_eq!(f["evt.buflen"], 832);
    let buffer = f["evt.buffer"].as_str().unwrap();
    assert_eq!(format!("832 {buffer}"), a.message);
}
