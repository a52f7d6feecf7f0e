//! The on-disk spool of the HTTP channel: where alerts wait, in order, once the memory
//! backlog is full, and where they survive a restart.
//!
//! A directory of segment files `NNNNNNNNNNNNNNNNNNNN.spool`, written in number order and read
//! back oldest first. A record is `len: u32 LE, boot: u64 LE, seq: u64 LE, line: len bytes`.
//! Each record is written with one `write` call before it counts, so a reader never meets a
//! half record except after a crash; opening the spool cuts such a tail off. A segment is
//! deleted once read to its end. What was read but not yet delivered when the process dies
//! is delivered again at the next start: delivery is at least once, and the alert id (boot,
//! seq) lets a receiver drop the repeat.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::pipeline::AlertId;

/// A segment is closed for writing at this size.
const SEGMENT_BYTES: u64 = 4 << 20;
const HEADER: usize = 4 + 8 + 8;

/// One record read back.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) id: AlertId,
    pub(crate) line: Box<str>,
}

/// Why a record was not spooled.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SpoolError {
    #[error("the spool is full ({0} bytes)")]
    Full(u64),
    #[error("spool `{path}`: {source}")]
    Io { path: PathBuf, source: io::Error },
}

#[derive(Debug)]
pub(crate) struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    /// Segment numbers and sizes, oldest first; the last one is written to.
    segments: VecDeque<(u64, u64)>,
    writer: Option<File>,
    reader: Option<BufReader<File>>,
    records: u64,
    bytes: u64,
    buf: Vec<u8>,
}

impl Spool {
    /// Opens (creating it if needed) a spool directory, and counts what an earlier run left.
    pub(crate) fn open(dir: &Path, max_bytes: u64) -> Result<Spool, SpoolError> {
        let err = |source| SpoolError::Io { path: dir.to_owned(), source };
        fs::create_dir_all(dir).map_err(err)?;
        let mut numbers: Vec<u64> = fs::read_dir(dir)
            .map_err(err)?
            .filter_map(|e| {
                let name = e.ok()?.file_name();
                name.to_str()?.strip_suffix(".spool")?.parse().ok()
            })
            .collect();
        numbers.sort_unstable();
        let mut spool = Spool {
            dir: dir.to_owned(),
            max_bytes,
            segments: VecDeque::new(),
            writer: None,
            reader: None,
            records: 0,
            bytes: 0,
            buf: Vec::new(),
        };
        for n in numbers {
            let path = spool.path(n);
            let (records, good) = count_records(&path).map_err(err)?;
            let file = OpenOptions::new().write(true).open(&path).map_err(err)?;
            // A record cut short by a crash is dropped.
            file.set_len(good).map_err(err)?;
            spool.segments.push_back((n, good));
            spool.records += records;
            spool.bytes += good;
        }
        Ok(spool)
    }

    fn path(&self, n: u64) -> PathBuf {
        self.dir.join(format!("{n:020}.spool"))
    }

    fn io(&self, source: io::Error) -> SpoolError {
        SpoolError::Io { path: self.dir.clone(), source }
    }

    /// Records waiting.
    pub(crate) fn len(&self) -> u64 {
        self.records
    }

    /// Appends a record at the end.
    pub(crate) fn push(&mut self, id: AlertId, line: &str) -> Result<(), SpoolError> {
        let size = (HEADER + line.len()) as u64;
        if self.bytes + size > self.max_bytes {
            return Err(SpoolError::Full(self.max_bytes));
        }
        // A new segment when none is open for writing (at start, a run's segments are only
        // read) or the open one is full.
        let need_new = match (&self.writer, self.segments.back()) {
            (Some(_), Some(&(_, len))) => len >= SEGMENT_BYTES,
            _ => true,
        };
        if need_new {
            let n = match self.segments.back() {
                // The empty segment `clear` leaves keeps the numbering.
                Some(&(n, 0)) => n,
                Some(&(n, _)) => n + 1,
                None => 0,
            };
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.path(n))
                .map_err(|e| self.io(e))?;
            if self.segments.back().is_none_or(|&(last, _)| last != n) {
                self.segments.push_back((n, 0));
            }
            self.writer = Some(file);
        }
        self.buf.clear();
        self.buf.extend_from_slice(&(line.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(&id.boot.to_le_bytes());
        self.buf.extend_from_slice(&id.seq.to_le_bytes());
        self.buf.extend_from_slice(line.as_bytes());
        let Some(writer) = self.writer.as_mut() else { unreachable!("opened above") };
        if let Err(e) = writer.write_all(&self.buf) {
            return Err(self.io(e));
        }
        if let Some(last) = self.segments.back_mut() {
            last.1 += size;
        }
        self.records += 1;
        self.bytes += size;
        Ok(())
    }

    /// Takes the oldest record.
    pub(crate) fn pop(&mut self) -> Result<Option<Record>, SpoolError> {
        if self.records == 0 {
            return Ok(None);
        }
        loop {
            let Some(&(n, _)) = self.segments.front() else { return Ok(None) };
            if self.reader.is_none() {
                let file = File::open(self.path(n)).map_err(|e| self.io(e))?;
                self.reader = Some(BufReader::with_capacity(64 * 1024, file));
            }
            let Some(reader) = self.reader.as_mut() else { unreachable!("opened above") };
            match read_record(reader) {
                Ok(Some(record)) => {
                    self.records -= 1;
                    if self.records == 0 {
                        self.clear()?;
                    }
                    return Ok(Some(record));
                }
                // The end of a segment that is not being written: done with it.
                Ok(None) if self.segments.len() > 1 => {
                    self.reader = None;
                    if let Some((n, len)) = self.segments.pop_front() {
                        self.bytes -= len;
                        fs::remove_file(self.path(n)).map_err(|e| self.io(e))?;
                    }
                }
                Ok(None) => return Ok(None),
                Err(e) => return Err(self.io(e)),
            }
        }
    }

    /// Everything was read: the files go, numbering goes on.
    fn clear(&mut self) -> Result<(), SpoolError> {
        self.reader = None;
        self.writer = None;
        while let Some((n, _)) = self.segments.pop_front() {
            match fs::remove_file(self.path(n)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(self.io(e)),
                _ => {}
            }
            if self.segments.is_empty() {
                // Keep the number, so a new segment sorts after anything read before.
                self.segments.push_back((n + 1, 0));
                break;
            }
        }
        self.bytes = 0;
        Ok(())
    }
}

fn read_record(r: &mut impl Read) -> io::Result<Option<Record>> {
    let mut header = [0u8; HEADER];
    match r.read_exact(&mut header) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let [l0, l1, l2, l3, b @ .., s0, s1, s2, s3, s4, s5, s6, s7] = header;
    let len = u32::from_le_bytes([l0, l1, l2, l3]) as usize;
    let boot = u64::from_le_bytes(b);
    let seq = u64::from_le_bytes([s0, s1, s2, s3, s4, s5, s6, s7]);
    let mut line = vec![0u8; len];
    r.read_exact(&mut line)?;
    let line =
        String::from_utf8(line).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok(Some(Record { id: AlertId { boot, seq }, line: line.into() }))
}

/// The whole records of a segment, and the length they take.
fn count_records(path: &Path) -> io::Result<(u64, u64)> {
    let mut file = BufReader::new(File::open(path)?);
    let (mut records, mut good) = (0u64, 0u64);
    loop {
        let start = file.stream_position()?;
        match read_record(&mut file) {
            Ok(Some(_)) => {
                records += 1;
                good = file.stream_position()?;
            }
            Ok(None) | Err(_) => {
                let _ = file.seek(SeekFrom::Start(start));
                return Ok((records, good));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lanner-spool-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn records_come_back_in_order_across_segments_and_restarts() {
        let dir = dir("order");
        let mut spool = Spool::open(&dir, 1 << 30).unwrap();
        let big = "x".repeat(1 << 20);
        for seq in 0..10 {
            spool.push(AlertId { boot: 7, seq }, &format!("{seq}{big}")).unwrap();
        }
        assert!(spool.segments.len() > 1, "{:?}", spool.segments);
        for seq in 0..3 {
            let r = spool.pop().unwrap().unwrap();
            assert_eq!(r.id.seq, seq);
            assert!(r.line.starts_with(&seq.to_string()));
        }
        drop(spool);
        // a restart: what was not read is still there (the segment being read comes back
        // whole: at least once)
        let mut spool = Spool::open(&dir, 1 << 30).unwrap();
        let mut seqs = Vec::new();
        while let Some(r) = spool.pop().unwrap() {
            seqs.push(r.id.seq);
        }
        assert_eq!(seqs.last(), Some(&9));
        assert!(seqs.windows(2).all(|w| w[0] < w[1]));
        assert!(seqs.contains(&3));
        assert_eq!(spool.len(), 0);
        // read to the end: the files are gone, numbering goes on
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        spool.push(AlertId { boot: 8, seq: 0 }, "again").unwrap();
        assert_eq!(spool.pop().unwrap().unwrap().line.as_ref(), "again");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn full_is_an_error_and_a_torn_tail_is_cut() {
        let dir = dir("full");
        let mut spool = Spool::open(&dir, 100).unwrap();
        spool.push(AlertId { boot: 1, seq: 1 }, &"a".repeat(50)).unwrap();
        assert!(matches!(
            spool.push(AlertId { boot: 1, seq: 2 }, &"b".repeat(50)),
            Err(SpoolError::Full(100))
        ));
        drop(spool);
        let file = fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
        let mut f = OpenOptions::new().append(true).open(&file).unwrap();
        f.write_all(&[9, 0, 0, 0, 1]).unwrap();
        let mut spool = Spool::open(&dir, 100).unwrap();
        assert_eq!(spool.len(), 1);
        assert_eq!(spool.pop().unwrap().unwrap().id.seq, 1);
        assert!(spool.pop().unwrap().is_none());
        fs::remove_dir_all(&dir).unwrap();
    }
}
