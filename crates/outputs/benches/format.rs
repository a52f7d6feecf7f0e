//! Alerts per second: building an [`Alert`] from a matching event (extracting and formatting
//! the rule's fields) and rendering it as Falco's text line or JSON line. No I/O.
//!
//! The event is the exit of `open("/dev/null")` in `testdata/scap/cat_write.scap`, with the
//! state the capture left behind up to it; the rule output is a typical Falco one (eight
//! fields, one of them missing on this event).

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lanner_event::RawEvent;
use lanner_event::render::RenderOptions;
use lanner_fields::EventContext;
use lanner_outputs::{AlertRule, AlertScratch, OutputOptions, Priority, RuleOutput, render};
use lanner_scap::Reader;
use lanner_state::State;

const OUTPUT: &str = "File below a known binary directory opened for writing \
    (file=%fd.name pcmdline=%proc.pcmdline gparent=%proc.aname[2] evt_type=%evt.type \
    user=%user.name user_uid=%user.uid process=%proc.name proc_exepath=%proc.exepath \
    parent=%proc.pname command=%proc.cmdline terminal=%proc.tty container=%container.id)";

/// The state after event `target` and that event's bytes.
fn replay(target: u64) -> (State, Vec<u8>, u16) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/scap/cat_write.scap");
    let mut reader = Reader::open(path).expect("the fixture opens");
    let mut state = State::from_tables(reader.tables());
    let mut num = 0;
    while let Some(record) = reader.next().expect("the fixture is well-formed") {
        num += 1;
        if let Some(tables) = record.new_tables {
            state.load_tables(tables);
        }
        state.process(&record.event);
        if num == target {
            let bytes = record.event.as_bytes().to_vec();
            return (state, bytes, record.cpu);
        }
    }
    panic!("the fixture has {num} events, fewer than {target}");
}

fn alerts(c: &mut Criterion) {
    let (state, bytes, cpu) = replay(197);
    let ev = RawEvent::new(&bytes).expect("checked when read");
    let ctx = EventContext::new(197, cpu, &ev, &state, ev.ts(), 0, RenderOptions::default());
    let rule = AlertRule::new("Write below binary dir", Priority::Error, "syscall", ["filesystem"]);
    let output = RuleOutput::new(rule, OUTPUT, &[], &[]).expect("the output compiles");
    let hostname: Arc<str> = Arc::from("bench-host");
    let mut scratch = AlertScratch::default();
    let text = OutputOptions { time_format_iso_8601: true, ..OutputOptions::default() };
    let json = OutputOptions { json_output: true, ..text };
    let mut line = String::new();

    let mut group = c.benchmark_group("alert");
    group.throughput(Throughput::Elements(1));
    group.bench_function("build", |b| {
        b.iter(|| black_box(output.alert(black_box(&ctx), &hostname, &mut scratch)));
    });
    group.bench_function("build+text", |b| {
        b.iter(|| {
            let alert = output.alert(black_box(&ctx), &hostname, &mut scratch);
            line.clear();
            render::write_text(&mut line, &alert, &text);
            black_box(line.len())
        });
    });
    group.bench_function("build+json", |b| {
        b.iter(|| {
            let alert = output.alert(black_box(&ctx), &hostname, &mut scratch);
            line.clear();
            render::write_json(&mut line, &alert, &json);
            black_box(line.len())
        });
    });
    group.finish();
}

criterion_group!(benches, alerts);
criterion_main!(benches);
