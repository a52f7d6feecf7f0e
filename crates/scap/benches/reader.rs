//! Events per second of [`Reader`] alone: a capture held in memory is read event by event, with
//! nothing done to the events but touching their header.
//!
//! The capture is synthesised in-process (no setup needed): 200 000 events of the fixture mix
//! that `scripts/bench-inspect` also uses (`examples/synth/mod.rs`), written with [`Writer`],
//! once plain and once gzip-compressed. `cargo bench -p lanner-scap` reports the throughput in
//! elements (events) per second; `BENCHMARKS.md` records the numbers and the machine.

use std::hint::black_box;
use std::io::Cursor;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lanner_scap::{Compression, Reader, Writer};

#[path = "../examples/synth/mod.rs"]
mod synth;

/// Events in the in-memory capture: large enough that opening the capture (its tables) is
/// noise, small enough that an iteration takes milliseconds.
const EVENTS: u64 = 200_000;

fn capture(mix: &synth::Mix, compression: Compression) -> &'static [u8] {
    let mut writer =
        Writer::new(Vec::new(), mix.tables(), compression).expect("writing to memory works");
    mix.write(&mut writer, EVENTS).expect("the fixture events are well-formed");
    // Leaked so that every iteration reads the same bytes without copying them.
    Vec::leak(writer.finish().expect("writing to memory works"))
}

/// Reads every event and sums a field of each, so that nothing is optimised away.
fn read_all(data: &'static [u8]) -> u64 {
    let mut reader = Reader::new(Cursor::new(data)).expect("the capture opens");
    let mut sum = 0u64;
    while let Some(record) = reader.next().expect("the capture is well-formed") {
        sum = sum.wrapping_add(record.event.ts()).wrapping_add(u64::from(record.cpu));
    }
    sum
}

fn reader(c: &mut Criterion) {
    let mix = synth::Mix::from_fixtures().expect("the fixtures load");
    let mut group = c.benchmark_group("reader");
    group.throughput(Throughput::Elements(EVENTS));
    for (name, compression) in [("plain", Compression::None), ("gzip", Compression::Gzip)] {
        let data = capture(&mix, compression);
        assert_ne!(read_all(data), 0, "the capture holds events");
        group.bench_function(name, |b| b.iter(|| black_box(read_all(black_box(data)))));
    }
    group.finish();
}

criterion_group!(benches, reader);
criterion_main!(benches);
