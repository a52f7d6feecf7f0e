//! `-w CAPTURE_OUT`: the events a run takes in, recorded to one `.scap` file. The live
//! syscall loop and every plugin source's thread write into the same file, each under the
//! lock for a whole batch, so a run that watches syscalls and Kubernetes audit events at
//! once leaves one capture that a replay (`-e`) runs both kinds of rules on again.
//!
//! Plugin events are written as their plugin made them (`pluginevent`, with the plugin's
//! id), which is how sysdig records plugin sources and how Falco's capture mode reads them.
//! Events of different sources interleave in the order they were written, so timestamps
//! are in order within a source, not across sources.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use anyhow::Context;
use lanner_scap::{Compression, Tables, Writer};

/// The capture being recorded, shared by the threads that take events in.
#[derive(Clone)]
pub(crate) struct Recorder {
    path: Arc<PathBuf>,
    writer: Arc<Mutex<Option<Writer<File>>>>,
}

/// The recorder, locked: events written through it go to the file in one run.
pub(crate) struct Recording<'r> {
    path: &'r Path,
    writer: MutexGuard<'r, Option<Writer<File>>>,
}

impl Recorder {
    /// Creates `path` and writes the capture's header and `tables` (the process and fd
    /// tables the events start from).
    pub(crate) fn create(path: &Path, tables: &Tables) -> anyhow::Result<Recorder> {
        let writer = Writer::create(path, tables, Compression::None)
            .with_context(|| format!("cannot write capture `{}`", path.display()))?;
        Ok(Recorder {
            path: Arc::new(path.to_path_buf()),
            writer: Arc::new(Mutex::new(Some(writer))),
        })
    }

    /// Takes the lock, for a batch of events.
    pub(crate) fn lock(&self) -> Recording<'_> {
        Recording {
            path: &self.path,
            writer: self.writer.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }

    /// Ends the capture (flushing it) and returns how many events it holds. Events written
    /// after this are an error.
    pub(crate) fn finish(&self) -> anyhow::Result<u64> {
        let writer = self.lock().writer.take();
        let Some(writer) = writer else { return Ok(0) };
        let events = writer.events();
        writer
            .finish()
            .with_context(|| format!("cannot finish capture `{}`", self.path.display()))?;
        Ok(events)
    }

    /// Where the capture goes.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Recording<'_> {
    /// Writes one event, recorded on `cpu`.
    #[inline]
    pub(crate) fn write(
        &mut self,
        cpu: u16,
        ev: &lanner_event::RawEvent<'_>,
    ) -> anyhow::Result<()> {
        let Some(writer) = self.writer.as_mut() else {
            anyhow::bail!("capture `{}` is already finished", self.path.display());
        };
        writer
            .write_event(cpu, 0, ev)
            .with_context(|| format!("cannot write capture `{}`", self.path.display()))
    }
}
