//! What the fuzz targets do with their input, shared so that both targets drive the same code
//! paths the same way.
//!
//! The properties checked are those of the reader's contract: no input makes the reader or the
//! renderer panic, hang or allocate without bound, and every error the reader returns names the
//! byte offset where it stopped. `crates/scap/tests/fuzz_corpus.rs` checks the same properties
//! over the committed corpora in CI, without libFuzzer.

use lanner_event::RawEvent;
use lanner_event::render::{self, BufferFormat, NoState, RenderOptions};

/// Every buffer format, so that each of their printers sees fuzzed bytes.
const FORMATS: [RenderOptions; 5] = [
    RenderOptions { buffer_format: BufferFormat::Dots, max_buffer_len: Some(80) },
    RenderOptions { buffer_format: BufferFormat::Eols, max_buffer_len: None },
    RenderOptions { buffer_format: BufferFormat::Hex, max_buffer_len: None },
    RenderOptions { buffer_format: BufferFormat::HexAscii, max_buffer_len: None },
    RenderOptions { buffer_format: BufferFormat::Base64, max_buffer_len: None },
];

/// Reads a whole capture from `data`, rendering every event.
///
/// # Panics
///
/// When the reader returns an error whose message does not name a byte offset.
pub fn read_capture(data: &[u8]) {
    // `Reader::new` wants an owned `'static` stream; the copy is the price of using the public
    // constructor rather than a test-only one.
    let mut reader = match lanner_scap::Reader::new(std::io::Cursor::new(data.to_vec())) {
        Ok(reader) => reader,
        Err(err) => return check_error(&err),
    };
    let mut out = Vec::new();
    let mut scratch = Vec::new();
    let mut events = 0usize;
    loop {
        match reader.next() {
            Ok(Some(record)) => {
                // Cycle the buffer formats over the events: one render per event keeps the
                // target fast on seeds with hundreds of events, and every format still runs.
                let opts = &FORMATS[events % FORMATS.len()];
                events += 1;
                render_event(&record.event, opts, &mut out, &mut scratch);
            }
            Ok(None) => break,
            Err(err) => return check_error(&err),
        }
    }
    std::hint::black_box((reader.tables(), reader.stats()));
}

/// Checks `data` as one event and, if it is one, renders it every way there is.
pub fn read_event(data: &[u8]) {
    let Ok(event) = RawEvent::new(data) else { return };
    std::hint::black_box((
        event.ts(),
        event.tid(),
        event.len(),
        event.event_type(),
        event.info(),
        event.name(),
        event.direction(),
        event.is_large(),
        format!("{event:?}"),
    ));
    for i in 0..=event.nparams() {
        std::hint::black_box(event.param(i));
    }
    assert_eq!(event.params().count(), event.nparams());
    let (mut out, mut scratch) = (Vec::new(), Vec::new());
    for opts in &FORMATS {
        render_event(&event, opts, &mut out, &mut scratch);
    }
}

fn render_event(
    event: &RawEvent<'_>,
    opts: &RenderOptions,
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) {
    out.clear();
    out.extend_from_slice(render::event_type_name(event).as_bytes());
    render::write_args(out, event, &NoState, opts, scratch);
    // Decoding only: the typed view's `Debug` form would walk every field, but falco_event
    // 0.5.1 formats a syscall result by negating it, which overflows for `i64::MIN` and panics
    // in this (overflow-checked) build. lanner never prints typed events; the input that found
    // it is in fuzz/regressions/scap_reader/typed-debug-syscall-result-i64-min.
    let _ = std::hint::black_box(event.typed());
    std::hint::black_box(&out);
}

fn check_error(err: &lanner_scap::Error) {
    let text = err.to_string();
    assert!(text.contains("byte offset"), "an error without a byte offset: {text}");
}

/// Parses `data` as a filter condition and prints it (libs' form, not a round trip: values are
/// written unquoted); compiles it against the field registry and either renders the errors,
/// underlining the spans they name, or evaluates the program on every event of a small real
/// capture with the state kept current.
///
/// The property: no text makes the parser, the printer, the checker, the error renderer or
/// the program panic, hang or allocate without bound.
pub fn compile_condition(data: &[u8]) {
    use lanner_filter::syntax;

    let Ok(text) = std::str::from_utf8(data) else { return };
    match syntax::parse(text) {
        Ok(expr) => std::hint::black_box(expr.to_string()),
        Err(e) => std::hint::black_box(e.to_string()),
    };
    match lanner_filter::Filter::compile(text) {
        Ok(filter) => evaluate_on_capture(&filter),
        Err(e) => {
            std::hint::black_box(e.render(text));
        }
    }
}

/// The events of the capture conditions are evaluated on: the `cat_write` seed of the reader
/// (a section header, the machine, a few dozen events of distinct types).
fn capture_events() -> &'static (lanner_scap::Tables, Vec<(u16, Vec<u8>)>) {
    static CAPTURE: std::sync::OnceLock<(lanner_scap::Tables, Vec<(u16, Vec<u8>)>)> =
        std::sync::OnceLock::new();
    CAPTURE.get_or_init(|| {
        let bytes = include_bytes!("../seeds/scap_reader/cat_write-events");
        let mut reader = lanner_scap::Reader::new(std::io::Cursor::new(bytes.to_vec()))
            .expect("the committed seed is a capture");
        let mut events = Vec::new();
        while let Ok(Some(record)) = reader.next() {
            events.push((record.cpu, record.event.as_bytes().to_vec()));
        }
        (reader.tables().clone(), events)
    })
}

fn evaluate_on_capture(filter: &lanner_filter::Filter) {
    let (tables, events) = capture_events();
    let mut state = lanner_state::State::from_tables(tables);
    let mut scratch = lanner_filter::Scratch::for_filter(filter);
    let first_ts =
        events.first().map_or(0, |(_, bytes)| RawEvent::new(bytes).map_or(0, |e| e.ts()));
    let render = RenderOptions { buffer_format: BufferFormat::Dots, max_buffer_len: Some(80) };
    for (num, (cpu, bytes)) in (1u64..).zip(events) {
        let Ok(event) = RawEvent::new(bytes) else { continue };
        state.process(&event);
        let ctx = lanner_fields::EventContext::new(num, *cpu, &event, &state, first_ts, 0, render);
        std::hint::black_box(filter.matches(&ctx, &mut scratch));
    }
}

/// Loads `data` as a rules file (split in two files at the first `\n---8<---\n`, so that the
/// cross-file paths run too), and renders the result every way: human text, Falco's JSON and
/// summaries. The property is the loader's contract: no input makes it panic, hang or
/// allocate without bound, and a load that fails says why.
///
/// # Panics
///
/// When a failed load has no error, or an error has no location.
pub fn load_rules(data: &[u8]) {
    const SPLIT: &[u8] = b"\n---8<---\n";
    let files: Vec<(&str, &[u8])> = match data.windows(SPLIT.len()).position(|w| w == SPLIT) {
        Some(i) => vec![("a.yaml", &data[..i]), ("b.yaml", &data[i + SPLIT.len()..])],
        None => vec![("a.yaml", data)],
    };
    let loaded = lanner_rules::load_bytes(&files, &lanner_rules::LoadOptions::default());
    let rendered = loaded.render();
    let json = loaded.to_json().to_string();
    assert!(!rendered.is_empty() && !json.is_empty());
    if !loaded.successful() {
        assert!(loaded.errors().count() > 0);
    }
    for d in loaded.errors().chain(loaded.warnings()) {
        assert!(!d.locations.is_empty(), "{d:?}");
    }
    for rule in &loaded.ruleset.rules {
        assert!(!rule.compiled_condition.is_empty());
    }
}
