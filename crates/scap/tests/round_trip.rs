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

/// The synthetic captures lanner reads without error (every block layout the fixtures lack).
fn synthetic_captures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/scap-synthetic");
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".scap"))
        .filter(|p| {
            let Ok(mut r) = Reader::open(p) else { return false };
            loop {
                match r.next() {
                    Ok(Some(_)) => {}
                    Ok(None) => return true,
                    Err(_) => return false,
                }
            }
        })
        .collect();
    out.sort();
    assert!(out.len() > 30);
    out
}

/// The tables as the writer stores them, which is how libs' writer does: one fd list per
/// thread of the process list, in its order (empty when the thread had none), none for threads
/// it lacks; fd kinds the 2022 libscap does not know written as `UNSUPPORTED` with their name.
fn as_written(mut tables: Tables) -> Tables {
    use lanner_scap::tables::{FdInfo, FdList, NamedFdKind};
    tables.fd_lists = tables
        .threads
        .iter()
        .map(|t| {
            tables
                .fd_lists
                .iter()
                .find(|l| l.tid == t.tid)
                .cloned()
                .unwrap_or(FdList { tid: t.tid, fds: Vec::new() })
        })
        .collect();
    for list in &mut tables.fd_lists {
        for fd in &mut list.fds {
            if let FdInfo::Named { kind, .. } = &mut fd.info
                && *kind as u8 > 16
            {
                *kind = NamedFdKind::Unsupported;
            }
        }
    }
    tables
}

#[test]
fn read_write_read_is_identity() {
    for path in captures().into_iter().chain(synthetic_captures()) {
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
            assert_eq!(
                Tables { version: tables.version, ..tables2 },
                as_written(tables.clone()),
                "{name} tables"
            );
            assert_eq!(events2.len(), events.len(), "{name}");
            assert!(events2 == events, "{name}: events differ after the round trip");
        }
    }
}

/// Two captures one after the other are two sections: the reader hands the second section's
/// tables with its first event, and a writer copies both sections.
#[test]
fn concatenated_captures_are_sections() {
    let paths = captures();
    let a = std::fs::read(paths.iter().find(|p| p.ends_with("sample.scap")).unwrap()).unwrap();
    let (tables_b, events_b) = read_all(
        &mut Reader::open(paths.iter().find(|p| p.ends_with("cat_write.scap")).unwrap()).unwrap(),
    );
    let mut w = Writer::new(Vec::new(), &tables_b, Compression::None).unwrap();
    for (cpu, flags, bytes) in &events_b {
        w.write_event(*cpu, *flags, &lanner_event::RawEvent::new(bytes).unwrap()).unwrap();
    }
    let b = w.finish().unwrap();
    let joined = [a.as_slice(), b.as_slice()].concat();

    let mut reader = Reader::new(std::io::Cursor::new(joined)).unwrap();
    let first_threads = reader.tables().threads.len();
    let (mut n, mut announced) = (0, Vec::new());
    while let Some(rec) = reader.next().unwrap() {
        n += 1;
        if let Some(t) = rec.new_tables {
            announced.push((n, rec.section, t.threads.len()));
        }
    }
    assert_eq!(reader.stats().sections, 2);
    assert_eq!(announced, [(573, 2, tables_b.threads.len())]);
    assert_eq!(n, 572 + events_b.len());
    assert_ne!(first_threads, tables_b.threads.len());
    assert_eq!(reader.tables().threads, tables_b.threads);
}
