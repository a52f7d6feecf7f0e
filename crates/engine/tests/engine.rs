//! The engine on real captures against Falco's legacy expectations (rules written out by hand
//! here; the rules files themselves are loaded by the rules crate's tests): rule order and
//! `rule_matching`, selection by tag and by name, and the two models of enter events.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lanner_engine::{
    Engine, EngineScratch, EnterEvents, Matching, NameMatch, RuleEntry, SYSCALL_SOURCE, priority,
};
use lanner_event::render::{BufferFormat, RenderOptions};
use lanner_fields::EventContext;
use lanner_filter::Filter;
use lanner_scap::Reader;
use lanner_state::State;

fn capture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/scap").join(name)
}

fn rule(name: &str, condition: &str, prio: u8, tags: &[&str]) -> RuleEntry {
    let mut r = RuleEntry::new(name, Filter::compile(condition).unwrap());
    r.priority = prio;
    r.tags = tags.iter().map(|t| (*t).to_owned()).collect();
    r
}

/// Replays a capture through the state and the engine; matches per rule name (every rule
/// listed, zeros included).
fn run(engine: &Engine, name: &str) -> BTreeMap<String, usize> {
    let mut counts: BTreeMap<String, usize> =
        engine.rules().iter().map(|r| (r.name.clone(), 0)).collect();
    let mut reader = Reader::open(capture(name)).unwrap();
    let mut state = State::from_tables(reader.tables());
    let mut scratch = EngineScratch::for_engine(engine);
    let source = engine.source(SYSCALL_SOURCE).unwrap();
    let render = RenderOptions { buffer_format: BufferFormat::Dots, max_buffer_len: Some(80) };
    let mut num = 0;
    let mut first_ts = None;
    while let Some(record) = reader.next().unwrap() {
        num += 1;
        let ev = record.event;
        let first = *first_ts.get_or_insert(ev.ts());
        state.process(&ev);
        let mut ctx = EventContext::new(num, record.cpu, &ev, &state, first, 0, render);
        ctx.fold_enter = engine.folds_enter();
        for &id in engine.evaluate(source, &ctx, &mut scratch) {
            *counts.get_mut(&engine.rule(id).name).unwrap() += 1;
        }
    }
    counts
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(n, c)| ((*n).to_owned(), *c)).collect()
}

/// rules/single_rule.yaml (`is_cat` expanded).
fn open_from_cat() -> RuleEntry {
    rule("open_from_cat", "evt.type=open and proc.name=cat", priority::WARNING, &[])
}

#[test]
fn enter_events_visible_give_falcos_legacy_counts() {
    // falco_tests.yaml `single_rule`: 8 alerts, the enter and exit halves of 4 opens.
    let mut engine = Engine::new(vec![open_from_cat()], priority::DEBUG);
    engine.set_enter_events(EnterEvents::Visible);
    assert_eq!(run(&engine, "cat_write.scap"), counts(&[("open_from_cat", 8)]));
}

#[test]
fn folded_enter_events_match_only_exits() {
    // Current Falco shows rules the exit halves only: 4 alerts (fixtures README).
    let engine = Engine::new(vec![open_from_cat()], priority::DEBUG);
    assert_eq!(engine.enter_events(), EnterEvents::Folded);
    assert_eq!(run(&engine, "cat_write.scap"), counts(&[("open_from_cat", 4)]));
}

#[test]
fn folding_gives_exit_events_their_enter_parameters() {
    // In cat_write.scap (2016) `read` exits carry res and data only; the fd and size are in
    // the enter event. Folded, the exit has them; visible, only the enter does.
    let rules = || {
        vec![
            rule("read_fd", "evt.type=read and evt.arg.fd >= 0", priority::WARNING, &[]),
            rule("read_size", "evt.type=read and evt.rawarg.size > 0", priority::WARNING, &[]),
            rule("read_arg2", "evt.type=read and evt.dir=< and evt.arg[2] exists", 4, &[]),
        ]
    };
    let mut all = Engine::new(rules(), priority::DEBUG);
    all.set_matching(Matching::All);
    let folded = run(&all, "cat_write.scap");
    all.set_enter_events(EnterEvents::Visible);
    let visible = run(&all, "cat_write.scap");
    assert!(folded["read_fd"] > 0, "{folded:?}");
    // Each read: one exit folded, against one enter visible.
    assert_eq!(folded["read_fd"], visible["read_fd"], "{folded:?} {visible:?}");
    assert_eq!(folded["read_size"], visible["read_size"]);
    // `evt.arg[2]` of a read exit is `fd` in the current table: only folding finds it.
    assert_eq!(folded["read_arg2"], folded["read_fd"]);
    assert_eq!(visible["read_arg2"], 0);
}

#[test]
fn catchall_order_first_match_wins() {
    // falco_tests.yaml `catchall_order`: open_dev_null 1, dev_null 6 (legacy model).
    let rules = vec![
        rule("open_dev_null", "evt.type=open and fd.name=/dev/null", priority::INFORMATIONAL, &[]),
        rule("dev_null", "fd.name=/dev/null", priority::INFORMATIONAL, &[]),
    ];
    let mut engine = Engine::new(rules, priority::DEBUG);
    engine.set_enter_events(EnterEvents::Visible);
    assert_eq!(run(&engine, "cat_write.scap"), counts(&[("open_dev_null", 1), ("dev_null", 6)]));
    // With `rule_matching: all` the open matches both.
    engine.set_matching(Matching::All);
    assert_eq!(run(&engine, "cat_write.scap"), counts(&[("open_dev_null", 1), ("dev_null", 7)]));
}

/// rules/tagged_rules.yaml: open_1..open_13 with their tags, `open_read` expanded.
fn tagged_rules() -> Vec<RuleEntry> {
    let open_read =
        "evt.type in (open,openat,openat2) and evt.is_open_read=true and fd.typechar='f'";
    let tags: [&[&str]; 13] = [
        &["a"],
        &["b"],
        &["c"],
        &["a", "b"],
        &["a", "c"],
        &["b", "c"],
        &["a", "b", "c"],
        &["b", "a"],
        &["c", "a"],
        &["b", "c", "a"],
        &["d"],
        &[],
        &[],
    ];
    (1..=13)
        .map(|n| {
            let cond = format!("{open_read} and fd.name=/tmp/file-{n}");
            rule(&format!("open_{n}"), &cond, priority::WARNING, tags[n - 1])
        })
        .collect()
}

/// The expected counts of a legacy case: open_N → 1 for the listed N, 0 for the others.
fn opens(hit: &[usize]) -> BTreeMap<String, usize> {
    (1..=13).map(|n| (format!("open_{n}"), usize::from(hit.contains(&n)))).collect()
}

#[test]
fn disabled_tags_as_falco_tests_expect() {
    let cases: [(&[&str], &[usize]); 3] = [
        (&["a"], &[2, 3, 6, 11, 12, 13]),
        (&["b"], &[1, 3, 5, 9, 11, 12, 13]),
        (&["a", "b"], &[3, 11, 12, 13]),
    ];
    for (tags, hit) in cases {
        let mut engine = Engine::new(tagged_rules(), priority::DEBUG);
        engine.set_enter_events(EnterEvents::Visible);
        engine.enable_by_tags(tags, false);
        assert_eq!(run(&engine, "open-multiple-files.scap"), opens(hit), "-T {tags:?}");
    }
}

#[test]
fn run_tags_as_falco_tests_expect() {
    let cases: [(&[&str], &[usize]); 3] = [
        (&["a"], &[1, 4, 5, 7, 8, 9, 10]),
        (&["d"], &[11]),
        (&["b", "c"], &[2, 3, 4, 5, 6, 7, 8, 9, 10]),
    ];
    for (tags, hit) in cases {
        let mut engine = Engine::new(tagged_rules(), priority::DEBUG);
        engine.set_enter_events(EnterEvents::Visible);
        // `-t`: only the rules with one of the tags.
        engine.enable_by_name("", NameMatch::Substring, false);
        engine.enable_by_tags(tags, true);
        assert_eq!(run(&engine, "open-multiple-files.scap"), opens(hit), "-t {tags:?}");
    }
}

#[test]
fn selection_by_name_and_priority() {
    let mut engine = Engine::new(vec![open_from_cat()], priority::DEBUG);
    // falco_tests.yaml `disabled_rules_using_substring`: `-D open_from`.
    assert_eq!(engine.enable_by_name("open_from", NameMatch::Substring, false), 1);
    assert_eq!(engine.enabled_count(), 0);
    assert_eq!(engine.enable_by_name("open_*", NameMatch::Wildcard, true), 1);
    assert_eq!(engine.enable_by_name("open_from", NameMatch::Exact, true), 0);
    assert_eq!(engine.enabled_count(), 1);
    // A Warning rule under a minimum priority of Error is loaded but not enabled.
    let engine = Engine::new(vec![open_from_cat()], priority::ERROR);
    assert_eq!(engine.enabled_count(), 0);
    assert_eq!(run(&engine, "cat_write.scap"), counts(&[("open_from_cat", 0)]));
}

#[test]
fn reenabled_rules_go_last() {
    let rules = vec![
        rule("first", "evt.type=open and proc.name=cat", priority::WARNING, &[]),
        rule("second", "evt.type=open", priority::WARNING, &[]),
    ];
    let mut engine = Engine::new(rules, priority::DEBUG);
    assert_eq!(run(&engine, "cat_write.scap"), counts(&[("first", 4), ("second", 0)]));
    engine.enable_by_name("first", NameMatch::Exact, false);
    engine.enable_by_name("first", NameMatch::Exact, true);
    assert_eq!(run(&engine, "cat_write.scap"), counts(&[("first", 0), ("second", 4)]));
}
