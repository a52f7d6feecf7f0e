//! File input: a file, or a directory of files (read in modification-time order, as
//! upstream), holding JSON lines of audit events.
//!
//! Upstream reads line by line; so does this reader, and a line that is the start of a
//! longer JSON value (a pretty-printed event) is joined with the next lines until the value
//! is complete, which upstream cannot do. A bad payload is logged and skipped, as upstream.

use crate::audit::{AuditEvent, parse_payload};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

/// Why the input could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum ReaderError {
    /// `stat`, `open` or `read` failed (Go's `os` error text).
    #[error("{op} {path}: {source}")]
    Io {
        /// `stat`, `open`, `read`
        op: &'static str,
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

/// Reads audit events from files.
#[derive(Debug)]
pub struct AuditReader {
    files: VecDeque<PathBuf>,
    current: Option<BufReader<File>>,
    current_path: String,
    pending: String,
    max_event_size: u64,
    max_value: u64,
    ready: VecDeque<AuditEvent>,
}

fn io<'a>(op: &'static str, path: &'a str) -> impl FnOnce(std::io::Error) -> ReaderError + 'a {
    move |source| ReaderError::Io { op, path: path.to_string(), source }
}

impl AuditReader {
    /// Opens a file or a directory. `max_value` bounds a value spread over several lines.
    pub fn open(
        path: &str,
        max_event_size: u64,
        max_value: u64,
    ) -> Result<AuditReader, ReaderError> {
        let meta = std::fs::metadata(path).map_err(io("stat", path))?;
        let mut files = VecDeque::new();
        if meta.is_dir() {
            let mut entries = Vec::new();
            for e in std::fs::read_dir(path).map_err(io("open", path))? {
                let e = e.map_err(io("open", path))?;
                let m = e.metadata().map_err(io("stat", path))?;
                if !m.is_dir() {
                    entries.push((m.modified().ok(), e.path()));
                }
            }
            entries.sort();
            files.extend(entries.into_iter().map(|(_, p)| p));
        } else {
            // Open now, so that a missing permission fails the open, as upstream.
            File::open(path).map_err(io("open", path))?;
            files.push_back(PathBuf::from(path));
        }
        Ok(AuditReader {
            files,
            current: None,
            current_path: String::new(),
            pending: String::new(),
            max_event_size,
            max_value,
            ready: VecDeque::new(),
        })
    }

    fn take_payload(&mut self, text: &str) {
        match parse_payload(text.as_bytes(), self.max_event_size) {
            Err(e) => log::error!("{e}"),
            Ok(events) => {
                for e in events {
                    match e {
                        Ok(e) => self.ready.push_back(e),
                        Err(e) => log::error!("{e}"),
                    }
                }
            }
        }
    }

    /// Feeds one line; returns when it completed (or failed) a value.
    fn line(&mut self, line: &str) {
        if line.trim().is_empty() && self.pending.is_empty() {
            return;
        }
        self.pending.push_str(line);
        match lanner_plugin_jsontree::Value::parse(self.pending.as_bytes()) {
            Err(e) if e.eof && (self.pending.len() as u64) < self.max_value => {
                // An incomplete value: wait for the next line.
                self.pending.push('\n');
            }
            _ => {
                let text = std::mem::take(&mut self.pending);
                self.take_payload(&text);
            }
        }
    }

    /// Up to `max` events; empty at the end of the input.
    pub fn next_events(&mut self, max: usize) -> Result<Vec<AuditEvent>, ReaderError> {
        let mut buf = Vec::new();
        while self.ready.len() < max {
            let Some(reader) = self.current.as_mut() else {
                match self.files.pop_front() {
                    Some(p) => {
                        self.current_path = p.display().to_string();
                        let f = File::open(&p).map_err(io("open", &self.current_path))?;
                        self.current = Some(BufReader::new(f));
                        continue;
                    }
                    None => break,
                }
            };
            buf.clear();
            let n = reader.read_until(b'\n', &mut buf).map_err(io("read", &self.current_path))?;
            if n == 0 {
                // End of this file: an incomplete value is reported as what it is.
                self.current = None;
                if !self.pending.is_empty() {
                    let text = std::mem::take(&mut self.pending);
                    self.take_payload(&text);
                }
                continue;
            }
            let line = String::from_utf8_lossy(&buf);
            let line = line.trim_end_matches(['\n', '\r']).to_string();
            self.line(&line);
        }
        let n = self.ready.len().min(max);
        Ok(self.ready.drain(..n).collect())
    }
}
