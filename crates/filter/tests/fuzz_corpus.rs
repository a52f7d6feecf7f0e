//! The `filter_condition` fuzzer's properties, checked in CI without libFuzzer, over its
//! committed corpora (`fuzz/seeds/filter_condition/`: the libs parser corpus and the
//! differential filters; `fuzz/regressions/filter_condition/`: every condition the fuzzer
//! ever broke something with):
//!
//! - no text makes the parser, the checker, the printer, the error renderer (which underlines
//!   the span an error names) or a compiled program panic;
//! - a condition that compiles evaluates on every event of a real capture.
//!
//! Printing is not a round trip, on purpose: it is libs' form for compiled conditions, which
//! writes values unquoted (`join(-, (fd.name, literal)) = /tmp`), as Falco shows them.
//!
//! Also a few thousand deterministic mutations of the seeds (truncations, spliced tokens,
//! deep nesting), from a small seeded PRNG so that a failure reproduces exactly.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use lanner_event::render::{BufferFormat, RenderOptions};
use lanner_fields::EventContext;
use lanner_filter::{Filter, Scratch, syntax};
use lanner_scap::Reader;
use lanner_state::State;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The files of a directory of `fuzz/`, sorted; a missing seed directory is a failure, so
/// that a rename cannot silently empty the test.
fn corpus(dir: &str, required: bool) -> Vec<(String, Vec<u8>)> {
    let dir = repo().join("fuzz").join(dir);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        assert!(!required, "{}: missing", dir.display());
        return Vec::new();
    };
    let mut files: Vec<_> =
        entries.map(|entry| entry.unwrap().path()).filter(|path| path.is_file()).collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect()
}

/// A small real capture, its events applied to a fresh state for each condition.
struct Capture {
    tables: lanner_scap::Tables,
    events: Vec<(u16, Vec<u8>)>,
}

impl Capture {
    fn load() -> Capture {
        let path = repo().join("testdata/scap/cat_write.scap");
        let mut reader = Reader::open(&path).unwrap();
        let mut events = Vec::new();
        while let Some(record) = reader.next().unwrap() {
            events.push((record.cpu, record.event.as_bytes().to_vec()));
        }
        Capture { tables: reader.tables().clone(), events }
    }

    /// How many events `filter` matches.
    fn evaluate(&self, filter: &Filter) -> usize {
        let mut state = State::from_tables(&self.tables);
        let mut scratch = Scratch::for_filter(filter);
        let render = RenderOptions { buffer_format: BufferFormat::Dots, max_buffer_len: Some(80) };
        let first_ts = lanner_event::RawEvent::new(&self.events[0].1).unwrap().ts();
        let mut matched = 0;
        for (num, (cpu, bytes)) in (1u64..).zip(&self.events) {
            let event = lanner_event::RawEvent::new(bytes).unwrap();
            state.process(&event);
            let ctx = EventContext::new(num, *cpu, &event, &state, first_ts, 0, render);
            matched += usize::from(filter.matches(&ctx, &mut scratch));
        }
        matched
    }
}

/// Checks the properties on one input; the message says what failed.
fn check(capture: &Capture, data: &[u8]) -> Result<(), String> {
    let Ok(text) = std::str::from_utf8(data) else { return Ok(()) };
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        match syntax::parse(text) {
            Ok(expr) => std::hint::black_box(expr.to_string()),
            Err(e) => std::hint::black_box(e.to_string()),
        };
        match Filter::compile(text) {
            Ok(filter) => {
                std::hint::black_box(capture.evaluate(&filter));
            }
            Err(e) => {
                let rendered = e.render(text);
                if rendered.is_empty() {
                    return Err("an error that renders as nothing".to_owned());
                }
            }
        }
        Ok(())
    }));
    outcome.unwrap_or_else(|_| Err("panicked".to_owned()))
}

/// A xorshift generator: deterministic mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    " and ",
    " or ",
    "not ",
    "(",
    ")",
    ",",
    "=",
    "!=",
    "<",
    ">=",
    " in ",
    " pmatch ",
    " glob ",
    " regex ",
    " exists",
    "val(",
    "tolower(",
    "b64(",
    "len(",
    "\"",
    "'",
    "\\",
    "[",
    "]",
    "[1]",
    "proc.aname",
    "fd.net",
    "evt.arg.fd",
    "evt.rawarg.res",
    "127.0.0.0/8",
    "*",
    "\u{e9}",
    "\0",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut out = seed.to_vec();
    match rng.below(4) {
        0 => out.truncate(rng.below(out.len() + 1)),
        1 => {
            let at = rng.below(out.len() + 1);
            let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
            out.splice(at..at, token.iter().copied());
        }
        2 if !out.is_empty() => {
            let at = rng.below(out.len());
            out.remove(at);
        }
        _ => {
            let depth = 1 + rng.below(150);
            let mut nested = "(".repeat(depth).into_bytes();
            nested.extend_from_slice(&out);
            nested.extend_from_slice(")".repeat(depth).as_bytes());
            out = nested;
        }
    }
    out
}

#[test]
fn committed_corpora_and_their_mutations_keep_the_properties() {
    let capture = Capture::load();
    let seeds = corpus("seeds/filter_condition", true);
    assert!(seeds.len() >= 500, "only {} seeds", seeds.len());
    let regressions = corpus("regressions/filter_condition", false);
    let mut failures = Vec::new();
    for (name, data) in seeds.iter().chain(&regressions) {
        if let Err(why) = check(&capture, data) {
            failures.push(format!("{name}: {why}"));
        }
    }
    let mut rng = Rng(0x5eed_f11e_c0de);
    for round in 0..3000 {
        let (name, seed) = &seeds[rng.below(seeds.len())];
        let data = mutate(&mut rng, seed);
        if let Err(why) = check(&capture, &data) {
            failures.push(format!(
                "mutation {round} of {name} ({:?}): {why}",
                String::from_utf8_lossy(&data)
            ));
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
