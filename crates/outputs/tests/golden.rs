//! Falco's golden alerts for `single_rule.yaml` on `cat_write.scap`, reproduced end to end:
//! the real capture reader, the real state, the rule's condition compiled by the filter
//! language, the rule's output compiled here, and the two renderers.
//!
//! The goldens were recorded by Falco releases that still handed syscall *enter* events to
//! rules ("legacy mode"): `evt.type=open` matched both halves of each of the 4 `open` calls
//! of the capture, hence 8 alerts, at the enter and the exit timestamps. lanner's state and
//! filter evaluate enter events like any other, so a loop that evaluates every event (as
//! this one does, and as `lanner inspect` does) reproduces them. Falco ≥ 0.42 hands rules
//! exit events only; that model gives the 4 alerts at the exit timestamps, checked below too.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lanner_event::Direction;
use lanner_event::render::RenderOptions;
use lanner_filter::syntax::Expr;
use lanner_filter::{CompileOptions, Definitions, Filter, Scratch};
use lanner_outputs::{Alert, AlertRule, AlertScratch, OutputOptions, Priority, RuleOutput, render};
use lanner_scap::Reader;
use lanner_state::State;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap()
}

/// The one rule of a rules file, with its macros and lists: a tiny stand-in for the rules
/// loader (written elsewhere), enough for these files.
#[derive(Default)]
struct RulesFile {
    macros: HashMap<String, Expr>,
    lists: HashMap<String, Vec<String>>,
    condition: String,
    output: String,
    priority: String,
    tags: Vec<String>,
}

impl Definitions for RulesFile {
    fn macro_expr(&self, name: &str) -> Option<&Expr> {
        self.macros.get(name)
    }
    fn list(&self, name: &str) -> Option<&[String]> {
        self.lists.get(name).map(Vec::as_slice)
    }
}

fn load(path: &str) -> RulesFile {
    let items: Vec<serde_yaml_ng::Value> = serde_yaml_ng::from_str(&read(path)).unwrap();
    let text = |v: &serde_yaml_ng::Value, key: &str| v[key].as_str().unwrap().to_owned();
    let mut file = RulesFile::default();
    for item in &items {
        if let Some(name) = item["list"].as_str() {
            // Lists name other lists: expand them, as Falco does.
            let mut items = Vec::new();
            for i in item["items"].as_sequence().unwrap() {
                let i = i.as_str().unwrap();
                match file.lists.get(i) {
                    Some(inner) => items.extend(inner.iter().cloned()),
                    None => items.push(i.to_owned()),
                }
            }
            file.lists.insert(name.to_owned(), items);
        } else if let Some(name) = item["macro"].as_str() {
            let condition = substitute_lists(&text(item, "condition"), &file.lists);
            let expr = lanner_filter::syntax::parse(&condition).unwrap();
            file.macros.insert(name.to_owned(), expr);
        } else if item["rule"].as_str() == Some("open_from_cat") {
            file.condition = substitute_lists(&text(item, "condition"), &file.lists);
            file.output = text(item, "output");
            file.priority = text(item, "priority");
            if let Some(tags) = item["tags"].as_sequence() {
                file.tags = tags.iter().map(|t| t.as_str().unwrap().to_owned()).collect();
            }
        }
    }
    file
}

/// Falco substitutes list names in conditions as text, whole words only:
/// `proc.name in (cat_capable_binaries)` becomes `proc.name in (cat)`.
fn substitute_lists(condition: &str, lists: &HashMap<String, Vec<String>>) -> String {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    let mut out = String::new();
    let mut rest = condition;
    while let Some(start) = rest.find(|c: char| word(c)) {
        out.push_str(&rest[..start]);
        let len = rest[start..].find(|c: char| !word(c)).unwrap_or(rest.len() - start);
        let token = &rest[start..start + len];
        match lists.get(token) {
            Some(items) => out.push_str(&items.join(", ")),
            None => out.push_str(token),
        }
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    out
}

/// Replays the capture and builds an alert for every event the rule `open_from_cat` of a
/// rules file matches (only exit events when `exit_only`).
fn alerts(rules: &str, exit_only: bool) -> Vec<Alert> {
    replay(&load(rules), exit_only)
}

/// Replays the capture and builds an alert for every event the rule matches.
fn replay(file: &RulesFile, exit_only: bool) -> Vec<Alert> {
    let filter = Filter::compile_with(&file.condition, file, CompileOptions::default()).unwrap();
    let rule = AlertRule::new(
        "open_from_cat",
        Priority::parse(&file.priority).unwrap(),
        "syscall",
        file.tags.iter().map(String::as_str),
    );
    let output = RuleOutput::new(rule, &file.output, &[], &[]).unwrap();
    let hostname: Arc<str> = Arc::from("test-falco-hostname");

    let mut reader = Reader::open(root().join("testdata/scap/cat_write.scap")).unwrap();
    let mut state = State::from_tables(reader.tables());
    let mut scratch = Scratch::for_filter(&filter);
    let mut alert_scratch = AlertScratch::default();
    let (mut num, mut first_ts) = (0, None);
    let mut out = Vec::new();
    while let Some(record) = reader.next().unwrap() {
        num += 1;
        if let Some(tables) = record.new_tables {
            state.load_tables(tables);
        }
        let ev = record.event;
        state.process(&ev);
        let first_ts = *first_ts.get_or_insert(ev.ts());
        if exit_only && ev.direction() != Direction::Exit {
            continue;
        }
        let ctx = lanner_fields::EventContext::new(
            num,
            record.cpu,
            &ev,
            &state,
            first_ts,
            0,
            RenderOptions::default(),
        );
        if filter.matches(&ctx, &mut scratch) {
            out.push(output.alert(&ctx, &hostname, &mut alert_scratch));
        }
    }
    out
}

#[test]
fn the_rules_read_as_falco_reads_them() {
    let file = load("testdata/outputs/single_rule_with_tags.yaml");
    assert_eq!(file.condition, "evt.type=open and is_cat");
    assert_eq!(file.output, "An open was seen (command=%proc.cmdline)");
    assert_eq!(file.lists["cat_capable_binaries"], ["cat"]);
}

#[test]
fn text_alerts_are_falcos_byte_for_byte() {
    let options = OutputOptions { time_format_iso_8601: true, ..OutputOptions::default() };
    let mut got = Vec::new();
    let mut line = String::new();
    for alert in alerts("testdata/outputs/single_rule.yaml", false) {
        render::write_alert(&mut got, &alert, &options, &mut line).unwrap();
    }
    // The golden file has no line end after its last line.
    let mut want = read("testdata/outputs/single_rule_with_cat_write.txt").into_bytes();
    want.push(b'\n');
    assert_eq!(String::from_utf8(got).unwrap(), String::from_utf8(want).unwrap());
}

#[test]
fn json_alerts_are_falcos() {
    let options = OutputOptions {
        json_output: true,
        json_include_output_property: true,
        json_include_tags_property: true,
        time_format_iso_8601: true,
        ..OutputOptions::default()
    };
    let golden = read("testdata/outputs/single_rule_with_cat_write.json");
    let want: Vec<serde_json::Value> =
        golden.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let mut got = Vec::new();
    let mut line = String::new();
    for alert in alerts("testdata/outputs/single_rule_with_tags.yaml", false) {
        render::write_alert(&mut got, &alert, &options, &mut line).unwrap();
    }
    let got = String::from_utf8(got).unwrap();
    let parsed: Vec<serde_json::Value> =
        got.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(parsed, want);
    // The bytes are nlohmann's: keys sorted, no blanks.
    assert_eq!(
        got.lines().next().unwrap(),
        concat!(
            r#"{"hostname":"test-falco-hostname","#,
            r#""output":"2016-08-04T16:17:57.881781397+0000: Warning An open was seen (command=cat /dev/null)","#,
            r#""output_fields":{"evt.time.iso8601":1470327477881781397,"proc.cmdline":"cat /dev/null"},"#,
            r#""priority":"Warning","rule":"open_from_cat","source":"syscall","#,
            r#""tags":["filesystem","process","testing"],"time":"2016-08-04T16:17:57.881781397Z"}"#
        )
    );
}

#[test]
fn exit_only_model_gives_half_the_legacy_alerts() {
    let times: Vec<u64> = alerts("testdata/outputs/single_rule.yaml", true)
        .iter()
        .map(|a| a.time % 1_000_000_000)
        .collect();
    // The exit halves of the 4 opens (fixtures README): what Falco >= 0.42 should print.
    assert_eq!(times, [881_785_348, 881_799_840, 882_008_208, 882_054_739]);
}

/// Falco's `null_output_field` case: a missing value prints `<NA>` and the alert is kept.
#[test]
fn missing_fields_print_na() {
    let alerts = alerts("testdata/outputs/null_output_field.yaml", false);
    assert_eq!(alerts.len(), 8);
    for a in &alerts {
        assert_eq!(a.message, "An open was seen (cport=<NA> command=cat /dev/null)");
    }
}

/// Rules without tags (Falco's `json_output_empty_tags_property`), valid UTF-8 kept as is
/// in text and JSON (falcosecurity/testing's `ValidUTF8PlainText` and `ValidUTF8Json`).
#[test]
fn empty_tags_and_valid_utf8() {
    let file = RulesFile {
        condition: "evt.type=open and evt.dir=< and fd.name contains locale-archive".into(),
        output: "caf\u{e9}=%fd.name".into(),
        priority: "INFO".into(),
        ..RulesFile::default()
    };
    let alerts = replay(&file, false);
    assert_eq!(alerts.len(), 1);
    let mut line = String::new();
    let json = OutputOptions { json_output: true, ..OutputOptions::default() };
    render::write_json(&mut line, &alerts[0], &json);
    assert!(line.contains(r#""tags":[]"#), "{line}");
    assert!(line.contains("caf\u{e9}=/usr/lib/locale/locale-archive"), "{line}");
    assert!(line.contains(r#""priority":"Informational""#), "{line}");
    line.clear();
    render::write_text(&mut line, &alerts[0], &OutputOptions::default());
    assert_eq!(line, "16:17:57.882008208: Informational caf\u{e9}=/usr/lib/locale/locale-archive");
}
