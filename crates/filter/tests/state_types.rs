//! [`Filter::state_types`] is exact: giving the state only the events of those types changes no
//! result. Every filter of the differential corpus runs on every fixture capture twice, once with every event applied to the state and once with only the filter's state
//! types, and must match the same events with the same values of its own fields and of a set
//! of state-heavy fields (process, parent chain, fd, user, latency).

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::path::{Path, PathBuf};

use lanner_event::render::RenderOptions;
use lanner_fields::format::write_values;
use lanner_fields::{CheckState, EventContext, Field, Mode, Values, extract};
use lanner_filter::{Filter, Scratch};
use lanner_scap::Reader;
use lanner_state::State;

/// Fields whose values must not depend on skipped events (memory counters and latencies
/// excepted: a filter that does not read them does not need their events; `lanner inspect`
/// adds those when its output prints them).
const FIELDS: &[&str] = &[
    "proc.name",
    "proc.pname",
    "proc.cmdline",
    "proc.exepath",
    "proc.pid",
    "proc.ppid",
    "proc.aname[2]",
    "proc.apid[3]",
    "proc.cwd",
    "proc.nthreads",
    "thread.tid",
    "user.name",
    "group.name",
    "fd.num",
    "fd.name",
    "fd.typechar",
    "fd.cip",
    "fd.sport",
    "fd.l4proto",
    "fd.name_changed",
    "evt.res",
    "evt.args",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn captures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["testdata/scap"] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.to_string_lossy();
            if name.ends_with(".scap") || name.ends_with(".scap.gz") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn filters() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("testdata/filter/differential.txt")).unwrap();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split("  ||  ").next().unwrap().to_owned())
        .collect()
}

/// Event numbers and rendered values of every matched event.
fn run(path: &Path, filter: &Filter, fields: &[Field], all_events: bool) -> Vec<(u64, Vec<u8>)> {
    let Ok(mut reader) = Reader::open(path) else { return Vec::new() };
    let mut state = State::from_tables(reader.tables());
    let types = filter.state_types();
    let mut scratch = Scratch::for_filter(filter);
    let mut checks = vec![CheckState::default(); fields.len()];
    let mut values = Values::new();
    let render = RenderOptions::default();
    let (mut num, mut first_ts) = (0, None);
    let mut out = Vec::new();
    // A damaged capture ends the run where the reader stops; both runs stop at the same place.
    while let Ok(Some(record)) = reader.next() {
        num += 1;
        if let Some(tables) = record.new_tables {
            state.load_tables(tables);
        }
        let ev = record.event;
        if all_events || types.contains(ev.event_type()) {
            state.process(&ev);
        }
        let first_ts = *first_ts.get_or_insert(ev.ts());
        let ctx = EventContext::new(num, record.cpu, &ev, &state, first_ts, 0, render);
        if !filter.matches(&ctx, &mut scratch) {
            continue;
        }
        let mut line = Vec::new();
        for (field, check) in fields.iter().zip(&mut checks) {
            extract(field, &ctx, Mode::Output, check, &mut values);
            write_values(&mut line, field, &values, &render);
            line.push(b'|');
        }
        out.push((num, line));
    }
    out
}

#[test]
fn skipping_events_outside_state_types_changes_nothing() {
    let fixed: Vec<Field> = FIELDS
        .iter()
        .map(|f| match f.split_once('[') {
            Some((name, arg)) => Field::parse(name, Some(arg.trim_end_matches(']'))).unwrap(),
            None => Field::parse(f, None).unwrap(),
        })
        .collect();
    let (mut runs, mut matched, mut skipped_filters) = (0, 0, 0);
    for text in filters() {
        let Ok(filter) = Filter::compile(&text) else {
            skipped_filters += 1;
            continue;
        };
        for capture in captures() {
            let full = run(&capture, &filter, &fixed, true);
            let lean = run(&capture, &filter, &fixed, false);
            assert_eq!(
                full.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
                lean.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
                "{text} on {}: other events match",
                capture.display()
            );
            for ((num, a), (_, b)) in full.iter().zip(&lean) {
                assert_eq!(
                    String::from_utf8_lossy(a),
                    String::from_utf8_lossy(b),
                    "{text} on {}: event {num} differs",
                    capture.display()
                );
            }
            runs += 1;
            matched += full.len();
        }
    }
    assert_eq!(skipped_filters, 0, "every corpus filter compiles");
    assert!(runs > 2000 && matched > 100_000, "{runs} runs, {matched} matches");
}
