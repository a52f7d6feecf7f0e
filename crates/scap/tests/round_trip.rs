//! Read → write → read gives back the same tables and the same events, for every fixture,
//! compressed and not.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::path::{Path, PathBuf};

use lanner_scap::{Compression, Reader, Tables, Writer};

fn captures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/scap");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "scap") {
            out.push(path);
        }
    }
    out.sort();
    assert_eq!(out.len(), 8);
    out
}

/// (cpu, flags, event bytes) of every event, and the tables.
fn read_all(reader: &mut Reader) -> (Tables, Vec<(u16, u32, Vec<u8>)>) {
    let mut events = Vec::new();
    while let Some(rec) = reader.next().unwrap() {
        events.push((rec.cpu, rec.flags, rec.event.as_bytes().to_vec()));
    }
    (reader.tables().clone(), events)
}

#[test]
fn read_write_read_is_identity() {
    for path in captures() {
        let (tables, events) = read_all(&mut Reader::open(&path).unwrap());
        for compression in [Compression::None, Compression::Gzip] {
            let mut w = Writer::new(Vec::new(), &tables, compression).unwrap();
            for (cpu, flags, bytes) in &events {
                let ev = lanner_event::RawEvent::new(bytes).unwrap();
                w.write_event(*cpu, *flags, &ev).unwrap();
            }
            let bytes = w.finish().unwrap();
            let mut again = Reader::new(std::io::Cursor::new(bytes)).unwrap();
            let (tables2, events2) = read_all(&mut again);
            let name = path.display();
            // The writer always writes version 1.2.
            assert_eq!(tables2.version, (1, 2), "{name}");
            assert_eq!(Tables { version: tables.version, ..tables2 }, tables, "{name} tables");
            assert_eq!(events2.len(), events.len(), "{name}");
            assert!(events2 == events, "{name}: events differ after the round trip");
        }
    }
}
