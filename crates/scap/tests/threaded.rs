//! [`ThreadedReader`] hands over exactly what [`Reader`] reads: the same events, bytes, numbers,
//! tables and errors, with the events of unselected types left out (but counted).

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::path::{Path, PathBuf};

use lanner_scap::{Reader, ThreadedReader};

fn captures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["../../testdata/scap", "../../testdata/scap-synthetic"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.to_string_lossy().into_owned();
            if name.ends_with(".scap") || name.ends_with(".scap.gz") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// (number, offset, cpu, flags, section, new tables?, bytes) of every event, then the error.
type Listing = (Vec<(u64, u64, u16, u32, u64, bool, Vec<u8>)>, Option<String>);

fn with_reader(path: &Path, keep: &dyn Fn(u16) -> bool) -> Option<Listing> {
    let mut reader = Reader::open(path).ok()?;
    let mut events = Vec::new();
    let mut num = 0;
    loop {
        match reader.next() {
            Ok(Some(r)) => {
                num += 1;
                if r.new_tables.is_some() || keep(r.event.event_type()) {
                    events.push((
                        num,
                        r.offset,
                        r.cpu,
                        r.flags,
                        r.section,
                        r.new_tables.is_some(),
                        r.event.as_bytes().to_vec(),
                    ));
                }
            }
            Ok(None) => return Some((events, None)),
            Err(e) => return Some((events, Some(e.to_string()))),
        }
    }
}

fn with_threads(path: &Path, keep: Option<Vec<bool>>) -> Option<Listing> {
    let mut reader = ThreadedReader::open(path, keep).ok()?;
    let mut events = Vec::new();
    loop {
        match reader.advance() {
            Ok(true) => {
                let r = reader.record().unwrap();
                events.push((
                    reader.number(),
                    r.offset,
                    r.cpu,
                    r.flags,
                    r.section,
                    r.new_tables.is_some(),
                    r.event.as_bytes().to_vec(),
                ));
            }
            Ok(false) => return Some((events, None)),
            Err(e) => return Some((events, Some(e.to_string()))),
        }
    }
}

#[test]
fn hands_over_what_the_reader_reads() {
    let mut compared = 0;
    for path in captures() {
        let all = with_reader(&path, &|_| true);
        assert_eq!(all, with_threads(&path, None), "{}", path.display());
        // Only opens and closes (and the first event of every section).
        let selected = |t: u16| (2..=5).contains(&t) || t == 6 || t == 7;
        let keep: Vec<bool> = (0..1000u16).map(selected).collect();
        let some = with_reader(&path, &selected);
        assert_eq!(some, with_threads(&path, Some(keep)), "{}", path.display());
        compared += usize::from(all.is_some());
    }
    assert!(compared > 50, "only {compared} captures compared");
}

#[test]
fn stops_early_without_leaking_its_thread() {
    let path = captures().into_iter().find(|p| p.ends_with("curl_google_comments.scap")).unwrap();
    for _ in 0..100 {
        let mut reader = ThreadedReader::open(&path, None).unwrap();
        assert!(reader.advance().unwrap());
        assert_eq!(reader.number(), 1);
        assert!(reader.first_ts().is_some());
        // Dropped here: the reading thread stops and is joined.
    }
}
