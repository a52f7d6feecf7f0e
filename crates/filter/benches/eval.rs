//! Events per second of the state and of condition evaluation, on one core, with no printing
//! and no capture reading in the measurement.
//!
//! The events are the fixture mix that `scripts/bench-inspect` and the reader bench use
//! (`crates/scap/examples/synth/mod.rs`): 200 000 events, read into memory once. Each
//! iteration starts from the capture's tables and applies every event to a fresh
//! [`State`]; the `state` bench does only that, each `eval/*` bench also evaluates one
//! condition on every event after applying it (what an engine does). The cost of evaluating
//! a condition is the difference between the two; `BENCHMARKS.md` records both and the
//! evaluation rate derived from them.

use std::hint::black_box;
use std::io::Cursor;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lanner_event::RawEvent;
use lanner_event::render::RenderOptions;
use lanner_fields::EventContext;
use lanner_filter::{Filter, Scratch};
use lanner_scap::{Compression, Reader, Tables, Writer};
use lanner_state::State;

#[path = "../../scap/examples/synth/mod.rs"]
mod synth;

const EVENTS: u64 = 200_000;

/// Conditions of the kinds Falco rules are made of (the filters of `scripts/bench-filter`).
const CONDITIONS: &[(&str, &str)] = &[
    (
        "rule_like",
        "evt.type in (open, openat, openat2) and evt.is_open_write=true and fd.typechar='f' \
         and fd.num>=0 and (fd.name startswith /etc or fd.name startswith /usr/bin) \
         and not proc.name in (dpkg, apt, rpm, yum)",
    ),
    (
        "spawned_shell",
        "evt.type in (execve, execveat) and evt.dir=< and proc.name in (bash, sh, zsh, dash) \
         and proc.pname exists",
    ),
    ("aname_chain", "proc.aname = containerd or proc.aname[2] = dockerd"),
    ("fd_net", "fd.net = 127.0.0.0/8"),
    ("curl_connects", "proc.name = curl and evt.type = connect and evt.dir = <"),
];

/// The events of the mix, in memory: their bytes one after another, and where each ends.
struct Events {
    tables: Tables,
    data: Vec<u8>,
    ends: Vec<(usize, u16)>,
}

impl Events {
    fn load() -> Events {
        let mix = synth::Mix::from_fixtures().expect("the fixtures load");
        let mut writer = Writer::new(Vec::new(), mix.tables(), Compression::None)
            .expect("writing to memory works");
        mix.write(&mut writer, EVENTS).expect("the fixture events are well-formed");
        let capture = writer.finish().expect("writing to memory works");
        let mut reader = Reader::new(Cursor::new(capture)).expect("the capture opens");
        let tables = reader.tables().clone();
        let (mut data, mut ends) = (Vec::new(), Vec::new());
        while let Some(record) = reader.next().expect("the capture is well-formed") {
            data.extend_from_slice(record.event.as_bytes());
            ends.push((data.len(), record.cpu));
        }
        Events { tables, data, ends }
    }

    fn each(&self, mut f: impl FnMut(u64, u16, &RawEvent<'_>)) {
        let mut start = 0;
        for (i, &(end, cpu)) in self.ends.iter().enumerate() {
            let ev = RawEvent::new(&self.data[start..end]).expect("checked when read");
            f(i as u64 + 1, cpu, &ev);
            start = end;
        }
    }
}

fn state_and_eval(c: &mut Criterion) {
    let events = Events::load();
    let mut group = c.benchmark_group("filter");
    group.throughput(Throughput::Elements(events.ends.len() as u64));
    group.bench_function("tables", |b| {
        b.iter(|| black_box(State::from_tables(&events.tables).stats()))
    });
    group.bench_function("state", |b| {
        b.iter(|| {
            let mut state = State::from_tables(&events.tables);
            events.each(|_, _, ev| state.process(ev));
            black_box(state.stats())
        })
    });
    let render = RenderOptions::default();
    for (name, condition) in CONDITIONS {
        let filter = Filter::compile(condition).expect("the condition compiles");
        group.bench_function(format!("eval/{name}"), |b| {
            b.iter(|| {
                let mut state = State::from_tables(&events.tables);
                let mut scratch = Scratch::for_filter(&filter);
                let mut matched = 0u64;
                events.each(|num, cpu, ev| {
                    state.process(ev);
                    let ctx = EventContext::new(num, cpu, ev, &state, 0, 0, render);
                    matched += u64::from(filter.matches(&ctx, &mut scratch));
                });
                black_box(matched)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, state_and_eval);
criterion_main!(benches);
