//! The fuzzer's properties, checked in CI without libFuzzer: whatever the bytes, reading a
//! capture to its end and rendering every event never panics, and every error names the byte
//! offset where reading stopped.
//!
//! Two sources of input:
//!
//! - the committed corpora of `fuzz/`: the seeds (`fuzz/seeds/`, whole blocks cut from the
//!   fixtures) and every input the fuzzer ever broke the reader with (`fuzz/regressions/`);
//! - a few thousand deterministic mutations of the seeds and of the fixtures' heads: truncations
//!   at every block boundary and at random offsets, bit flips, overwritten block, event and
//!   parameter lengths, duplicated, removed and swapped blocks. A small seeded PRNG picks them,
//!   so a failure reproduces exactly; its label says which mutation of which input failed, and
//!   the input is saved to the temporary directory for `fuzz/regressions/`.
//!
//! Every input is read twice: streamed ([`Reader::new`]) and in place ([`Reader::from_bytes`],
//! the way a mapped capture file is read); both must give the same events and the same error.
//!
//! Lengths are never mutated to values between 1 MiB and the reader's block limit: the reader
//! then allocates (and zeroes) the claimed size before finding the input shorter, which is
//! within its contract but slow in a debug build (0.94 s for a block claiming 256 MiB,
//! measured). libFuzzer covers that range.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::io::Read;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use lanner_event::RawEvent;
use lanner_event::render::{self, BufferFormat, NoState, RenderOptions};
use lanner_scap::{MAX_BLOCK_LEN, Reader};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The files of a directory of `fuzz/`, sorted; a missing directory is a failure, so that a
/// rename cannot silently empty the test.
fn corpus(dir: &str) -> Vec<(String, Vec<u8>)> {
    let dir = repo().join("fuzz").join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect()
}

/// What reading one input gave.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    events: usize,
    error: Option<String>,
}

/// Reads `data` as a capture to its end, rendering every event, and checks the properties.
/// `label` names the input in failures.
#[track_caller]
fn read(label: &str, data: &[u8]) -> Outcome {
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| read_capture(data, false)));
    let outcome = outcome.unwrap_or_else(|_| {
        let path = save(label, data);
        panic!("{label}: the reader panicked; input saved to {}", path.display())
    });
    let in_place = std::panic::catch_unwind(AssertUnwindSafe(|| read_capture(data, true)));
    let in_place = in_place.unwrap_or_else(|_| {
        let path = save(label, data);
        panic!("{label}: the in-place reader panicked; input saved to {}", path.display())
    });
    if in_place != outcome {
        let path = save(label, data);
        panic!(
            "{label}: read in place: {in_place:?}, streamed: {outcome:?}; input saved to {}",
            path.display()
        );
    }
    if let Some(err) = &outcome.error
        && !err.contains("byte offset")
    {
        let path = save(label, data);
        panic!("{label}: error without a byte offset: {err}; input saved to {}", path.display());
    }
    outcome
}

/// Reads `data` streamed, or in place.
fn read_capture(data: &[u8], in_place: bool) -> Outcome {
    let mut events = 0;
    let opened = if in_place {
        Reader::from_bytes(data)
    } else {
        Reader::new(std::io::Cursor::new(data.to_vec()))
    };
    let mut reader = match opened {
        Ok(reader) => reader,
        Err(err) => return Outcome { events, error: Some(err.to_string()) },
    };
    let (mut out, mut scratch) = (Vec::new(), Vec::new());
    loop {
        match reader.next() {
            Ok(Some(record)) => {
                render_event(&record.event, events, &mut out, &mut scratch);
                events += 1;
            }
            Ok(None) => return Outcome { events, error: None },
            Err(err) => return Outcome { events, error: Some(err.to_string()) },
        }
    }
}

const FORMATS: [BufferFormat; 5] = [
    BufferFormat::Dots,
    BufferFormat::Eols,
    BufferFormat::Hex,
    BufferFormat::HexAscii,
    BufferFormat::Base64,
];

/// Renders the event's arguments (buffer formats taking turns over the events) and decodes its
/// typed view, as the `scap_reader` fuzz target does.
fn render_event(event: &RawEvent<'_>, n: usize, out: &mut Vec<u8>, scratch: &mut Vec<u8>) {
    let opts = RenderOptions { buffer_format: FORMATS[n % FORMATS.len()], max_buffer_len: None };
    out.clear();
    out.extend_from_slice(render::event_type_name(event).as_bytes());
    render::write_args(out, event, &NoState, &opts, scratch);
    let _ = std::hint::black_box(event.typed());
}

fn save(label: &str, data: &[u8]) -> PathBuf {
    let name: String =
        label.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let path = std::env::temp_dir().join(format!("lanner-fuzz-corpus-{name}"));
    std::fs::write(&path, data).unwrap();
    path
}

#[test]
fn seeds_read_to_the_end() {
    let seeds = corpus("seeds/scap_reader");
    assert!(seeds.len() >= 16, "the seed corpus is there");
    for (name, data) in &seeds {
        let outcome = read(name, data);
        assert_eq!(outcome.error, None, "{name}: a seed is a valid capture");
        assert!(outcome.events > 0, "{name}: a seed holds events");
    }
}

#[test]
fn regressions_do_not_panic() {
    let regressions = corpus("regressions/scap_reader");
    assert!(!regressions.is_empty());
    for (name, data) in &regressions {
        read(name, data);
    }
}

#[test]
fn event_seeds_render() {
    let seeds = corpus("seeds/raw_event");
    assert!(seeds.len() >= 10);
    let (mut out, mut scratch) = (Vec::new(), Vec::new());
    for (name, data) in &seeds {
        let event = RawEvent::new(data).unwrap_or_else(|e| panic!("{name}: {e}"));
        for n in 0..FORMATS.len() {
            render_event(&event, n, &mut out, &mut scratch);
        }
    }
}

// -- mutations ---------------------------------------------------------------------------------

/// SplitMix64: tiny, seedable, and good enough to pick offsets.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One block of a plain capture: where it starts and how long it says it is.
#[derive(Clone, Copy, Debug)]
struct Block {
    at: usize,
    len: usize,
    code: u32,
}

fn u32_at(data: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(data[at..at + 4].try_into().unwrap())
}

fn put_u32(data: &mut [u8], at: usize, v: u32) {
    data[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// The blocks of a well-formed plain capture.
fn blocks(data: &[u8]) -> Vec<Block> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= data.len() {
        let block = Block { at, len: u32_at(data, at + 4) as usize, code: u32_at(data, at) };
        assert!(block.len >= 12 && at + block.len <= data.len(), "{block:?}");
        out.push(block);
        at += block.len;
    }
    assert_eq!(at, data.len());
    out
}

/// Event block codes, and the bytes between the block header and the event (cpu, flags).
fn event_prefix(code: u32) -> Option<usize> {
    match code {
        0x204 | 0x8010_ABCD | 0x216 | 0x221 => Some(2),
        0x208 | 0x217 | 0x222 => Some(6),
        _ => None,
    }
}

/// A length that makes a framing field wrong in an interesting way, but never one that makes
/// the reader allocate more than a few MiB (see the module docs), except the values past the
/// block limit, which it must refuse before allocating.
fn bad_length(rng: &mut Rng, actual: usize) -> u32 {
    let actual = actual as u32;
    let choices = [
        0,
        1,
        4,
        8,
        11,
        12,
        actual.wrapping_sub(4),
        actual.wrapping_sub(1),
        actual + 1,
        actual + 4,
        actual * 2,
        u32::MAX,
        u32::MAX - 3,
        MAX_BLOCK_LEN as u32 + 4,
        1 << 31,
        rng.next() as u32 % (2 * actual + 64),
    ];
    let v = choices[rng.below(choices.len())];
    if v > 1 << 20 && v as usize <= MAX_BLOCK_LEN { actual + 4 } else { v }
}

/// The inputs mutations start from: the seeds, and the head of every fixture (its complete
/// metadata, whose process and fd lists the seeds cut, and its first 30 events).
fn bases() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = corpus("seeds/scap_reader")
        .into_iter()
        .filter(|(_, data)| data.first() != Some(&0x1f))
        .collect();
    let dir = repo().join("testdata/scap");
    let mut fixtures: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "scap"))
        .collect();
    fixtures.sort();
    assert_eq!(fixtures.len(), 8);
    for path in fixtures {
        let raw = std::fs::read(&path).unwrap();
        let data = if raw.starts_with(&[0x1f, 0x8b]) {
            let mut plain = Vec::new();
            flate2::read::MultiGzDecoder::new(&raw[..]).read_to_end(&mut plain).unwrap();
            plain
        } else {
            raw
        };
        let bs = blocks(&data);
        let first_event = bs.iter().position(|b| event_prefix(b.code).is_some()).unwrap();
        let end = bs.get(first_event + 30).map_or(data.len(), |b| b.at);
        let name = path.file_stem().unwrap().to_string_lossy();
        out.push((format!("{name}-head"), data[..end].to_vec()));
    }
    out
}

/// Every cut at a block boundary is a shorter capture: it reads without error, with exactly
/// the events of the blocks before the cut.
#[test]
fn truncation_at_every_block_boundary_ends_cleanly() {
    let mut reads = 0;
    for (name, data) in bases() {
        let bs = blocks(&data);
        for (i, b) in bs.iter().enumerate().skip(1) {
            let label = format!("{name} cut before block {i} at {}", b.at);
            let outcome = read(&label, &data[..b.at]);
            assert_eq!(outcome.error, None, "{label}");
            let expected = bs[..i].iter().filter(|b| event_prefix(b.code).is_some()).count();
            assert_eq!(outcome.events, expected, "{label}");
            reads += 1;
        }
    }
    assert!(reads > 500, "{reads} cuts");
}

/// Random damage of every kind; the reader may fail, but only with an error that says where.
#[test]
fn mutations_fail_cleanly() {
    let mut rng = Rng(0x6C61_6E6E_6572); // "lanner"
    let mut reads = 0;
    let mut errors = 0;
    for (name, data) in bases() {
        let bs = blocks(&data);
        let rounds = 250;
        for round in 0..rounds {
            let mut m = data.clone();
            let what = mutate(&mut rng, &mut m, &bs);
            let outcome = read(&format!("{name} round {round}: {what}"), &m);
            reads += 1;
            errors += usize::from(outcome.error.is_some());
        }
    }
    assert!(reads >= 5000, "{reads} mutations");
    // The mutations are meant to damage: most of them must hit something the reader checks.
    assert!(errors * 3 > reads, "only {errors} of {reads} mutations were noticed");
}

/// Applies one random mutation to `m` (a copy of a capture made of `bs`) and says which.
fn mutate(rng: &mut Rng, m: &mut Vec<u8>, bs: &[Block]) -> String {
    let b = bs[rng.below(bs.len())];
    match rng.below(9) {
        0 => {
            let at = rng.below(m.len());
            m.truncate(at);
            format!("truncated at {at}")
        }
        1 => {
            let flips = 1 + rng.below(4);
            let mut at = Vec::new();
            for _ in 0..flips {
                let bit = rng.below(m.len() * 8);
                m[bit / 8] ^= 1 << (bit % 8);
                at.push(bit);
            }
            avoid_huge_lengths(m, bs);
            format!("bits {at:?} flipped")
        }
        2 => {
            let v = bad_length(rng, b.len);
            put_u32(m, b.at + 4, v);
            format!("block at {} claims {v} bytes", b.at)
        }
        3 => {
            let v = bad_length(rng, b.len);
            put_u32(m, b.at + b.len - 4, v);
            format!("block at {} has trailer {v}", b.at)
        }
        4 => {
            // An event's own length, parameter count or one parameter length.
            let Some(ev) = events(bs).nth(rng.below(events(bs).count().max(1))) else {
                return "nothing".into();
            };
            let evlen = u32_at(m, ev + 16) as usize;
            let (field, at, v) = match rng.below(3) {
                0 => ("length", ev + 16, bad_length(rng, evlen)),
                1 => ("nparams", ev + 22, [0, 1, 2, 7, 64, 0xFFFF, u32::MAX][rng.below(7)]),
                _ => {
                    let at = ev + 26 + 2 * rng.below(4);
                    let v = [0, 1, 0xFF, 0x100, 0xFFFF][rng.below(5)];
                    if at + 2 <= m.len() {
                        m[at..at + 2].copy_from_slice(&(v as u16).to_le_bytes());
                    }
                    return format!("event at {ev}: parameter length at {at} set to {v}");
                }
            };
            if at + 4 <= m.len() {
                put_u32(m, at, v);
            }
            format!("event at {ev}: {field} set to {v}")
        }
        5 => {
            let copy = m[b.at..b.at + b.len].to_vec();
            let to = bs[rng.below(bs.len())].at;
            m.splice(to..to, copy);
            format!("block at {} copied to {to}", b.at)
        }
        6 => {
            m.drain(b.at..b.at + b.len);
            format!("block at {} removed", b.at)
        }
        7 => {
            let c = bs[rng.below(bs.len())];
            let (x, y) = if b.at <= c.at { (b, c) } else { (c, b) };
            if x.at == y.at {
                return "nothing".into();
            }
            let mut out = m[..x.at].to_vec();
            out.extend_from_slice(&m[y.at..y.at + y.len]);
            out.extend_from_slice(&m[x.at + x.len..y.at]);
            out.extend_from_slice(&m[x.at..x.at + x.len]);
            out.extend_from_slice(&m[y.at + y.len..]);
            *m = out;
            format!("blocks at {} and {} swapped", x.at, y.at)
        }
        _ => {
            // A run of bytes inside a block body set to an extreme value.
            let start = b.at + 8 + rng.below(b.len - 12);
            let n = 1 + rng.below(8).min(b.at + b.len - 4 - start);
            let v = [0x00, 0xFF, 0x7F, 0x80][rng.below(4)];
            m[start..start + n].fill(v);
            format!("{n} bytes at {start} set to {v:#04x}")
        }
    }
}

/// Where the events of the event blocks start.
fn events(bs: &[Block]) -> impl Iterator<Item = usize> + '_ {
    bs.iter().filter_map(|b| event_prefix(b.code).map(|pre| b.at + 8 + pre))
}

/// Undoes bit flips that made a block length huge but within the block limit (see the module
/// docs): they would only make the test slow.
fn avoid_huge_lengths(m: &mut [u8], bs: &[Block]) {
    for b in bs {
        let len = u32_at(m, b.at + 4) as usize;
        if len > 1 << 20 && len <= MAX_BLOCK_LEN {
            put_u32(m, b.at + 4, b.len as u32);
        }
    }
}
