//! Synthetic captures of any length, made of the events of real fixture captures.
//!
//! Shared by the `synth_capture` example (the large capture of `scripts/bench-inspect`) and the
//! reader bench (`benches/reader.rs`), so that both measure the same mix of events.
//!
//! The mix is one "round" of three recordings of `testdata/scap`, played back to back:
//!
//! | capture | events | what it shows |
//! |---|---|---|
//! | `sample.scap` | 477 | an idle Ubuntu host with sysdig running: context switches, futex, nanosleep, epoll, procinfo |
//! | `cat_write.scap` | 345 | `cat` writing a file: execve, mmap, open, read, close, procexit; many procinfo |
//! | `curl_google_comments.scap` | 1536 | `curl google.com`: clone, execve, socket, connect, sendto, recvfrom, poll, file opens |
//!
//! 2358 events a round, 650 of them internal (`procinfo`, one `scapevent`), which neither sysdig
//! nor `lanner inspect` prints. The rounds repeat until the capture holds the events asked for
//! (the last round is cut short).
//!
//! What is changed from the recordings, and why:
//!
//! - **Timestamps** are rewritten so that the capture runs forward: each recording starts 1 ms
//!   after the previous one ended and keeps its own spacing of events, and no event is earlier
//!   than the one before it (one event of `sample.scap` is 300 ns out of order and is moved
//!   forward). A round spans about 12 s of capture time.
//! - **Thread ids** of the second and third recording are moved up by 100000 and 200000 (the
//!   event's `tid`, every `PT_PID` parameter, and the tids, pids, parent and session ids of the
//!   thread table), as if the three had been recorded in separate pid namespaces of one host:
//!   they share some tids (1, 418, 429, ...) that name different processes. 0 (the idle task)
//!   and negative values (none, errors) are kept.
//! - **Tables** are merged: every thread and fd list of the three recordings (so every thread
//!   the recordings knew at their start is known), the users and groups of all three (first
//!   one wins on a shared uid or gid), the interfaces and machine of `sample.scap` with the
//!   largest CPU count of the three.
//! - **Event types the 2022 libs did not know** (`useradded` and `groupadded`, codes 354 and
//!   358, 95 events at the start of `sample.scap`) are left out. Debian's sysdig 0.29.3 skips
//!   them without processing them, so a benchmark against it would otherwise credit it with
//!   events it never handled.
//!
//! The recordings are otherwise replayed as they are, round after round: a thread that exits
//! in one round (`procexit`) is unknown to the next one, which is what a reader sees when the
//! same workload runs again under recycled pids.

use std::io::Write;
use std::path::{Path, PathBuf};

use lanner_event::{ParamType, RawEvent};
use lanner_scap::{Reader, Tables, Writer};

/// Errors of the fixtures (reading them) and of the writer.
pub(crate) type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Event types beyond the table of the 2022 libscap (`PPM_EVENT_MAX` was 336).
const SYSDIG_0_29_EVENT_MAX: u16 = 336;

/// Gap between two recordings of a round, in nanoseconds.
const GAP_NS: u64 = 1_000_000;

/// The recordings of a round, with the tid offset each is moved by.
const RECORDINGS: &[(&str, i64)] =
    &[("sample.scap", 0), ("cat_write.scap", 100_000), ("curl_google_comments.scap", 200_000)];

/// One event of a recording, ready to be written with a new timestamp.
struct Event {
    cpu: u16,
    flags: u32,
    /// Nanoseconds since the first event of its recording.
    since_start: u64,
    /// The event, tids already moved; its timestamp is overwritten when it is written.
    bytes: Vec<u8>,
}

/// A round of events and the merged tables; writes captures of any length.
pub(crate) struct Mix {
    tables: Tables,
    /// One list per recording.
    recordings: Vec<Vec<Event>>,
    /// Where the first round starts, in nanoseconds since the epoch.
    first_ts: u64,
}

impl Mix {
    /// Loads the recordings from `testdata/scap` of this repository.
    pub(crate) fn from_fixtures() -> Result<Mix> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/scap");
        let paths: Vec<(PathBuf, i64)> =
            RECORDINGS.iter().map(|&(name, shift)| (dir.join(name), shift)).collect();
        Mix::load(&paths)
    }

    fn load(paths: &[(PathBuf, i64)]) -> Result<Mix> {
        let mut tables = Tables::default();
        let mut recordings = Vec::new();
        let mut first_ts = None;
        for (i, (path, shift)) in paths.iter().enumerate() {
            let mut reader = Reader::open(path)?;
            merge_tables(&mut tables, reader.tables(), *shift, i == 0);
            let mut events = Vec::new();
            let mut start = None;
            while let Some(record) = reader.next()? {
                let ev = record.event;
                if ev.event_type() >= SYSDIG_0_29_EVENT_MAX {
                    continue;
                }
                let start = *start.get_or_insert(ev.ts());
                first_ts.get_or_insert(ev.ts());
                let mut bytes = ev.as_bytes().to_vec();
                shift_tids(&ev, &mut bytes, *shift);
                events.push(Event {
                    cpu: record.cpu,
                    flags: record.flags,
                    since_start: ev.ts().saturating_sub(start),
                    bytes,
                });
            }
            recordings.push(events);
        }
        Ok(Mix { tables, recordings, first_ts: first_ts.unwrap_or(0) })
    }

    /// The merged tables, to start a [`Writer`] with.
    pub(crate) fn tables(&self) -> &Tables {
        &self.tables
    }

    /// Events in one round.
    #[allow(dead_code, reason = "the example reports it; the bench does not need it")]
    pub(crate) fn round_len(&self) -> usize {
        self.recordings.iter().map(Vec::len).sum()
    }

    /// Appends `n` events to `writer`: whole rounds, then part of one.
    pub(crate) fn write<W: Write>(&self, writer: &mut Writer<W>, n: u64) -> Result<()> {
        let mut left = n;
        let mut last = self.first_ts;
        let mut scratch = Vec::with_capacity(1 << 16);
        while left > 0 {
            for events in &self.recordings {
                let base = last + GAP_NS;
                for event in events {
                    if left == 0 {
                        return Ok(());
                    }
                    let ts = (base + event.since_start).max(last + 1);
                    last = ts;
                    scratch.clear();
                    scratch.extend_from_slice(&event.bytes);
                    scratch[..8].copy_from_slice(&ts.to_le_bytes());
                    let ev = RawEvent::new(&scratch)?;
                    writer.write_event(event.cpu, event.flags, &ev)?;
                    left -= 1;
                }
            }
        }
        Ok(())
    }
}

/// Moves a positive tid or pid by `shift`; 0 (the idle task) and negative values stay.
fn shift_id(id: i64, shift: i64) -> i64 {
    if id > 0 { id + shift } else { id }
}

/// Moves the event's `tid` and its `PT_PID` parameters in `bytes`, a copy of `ev`.
fn shift_tids(ev: &RawEvent<'_>, bytes: &mut [u8], shift: i64) {
    if shift == 0 {
        return;
    }
    bytes[8..16].copy_from_slice(&shift_id(ev.tid(), shift).to_le_bytes());
    let Some(info) = ev.info() else { return };
    let base = ev.as_bytes().as_ptr() as usize;
    for (i, param) in info.params.iter().enumerate() {
        if param.ty != ParamType::Pid {
            continue;
        }
        let Some(value) = ev.param(i) else { break };
        let Ok(raw) = <[u8; 8]>::try_from(value) else { continue };
        let at = value.as_ptr() as usize - base;
        let moved = shift_id(i64::from_le_bytes(raw), shift);
        bytes[at..at + 8].copy_from_slice(&moved.to_le_bytes());
    }
}

/// Adds the tables of one recording to the merged ones.
fn merge_tables(into: &mut Tables, from: &Tables, shift: i64, first: bool) {
    if first {
        into.version = from.version;
        into.machine = from.machine.clone();
        into.interfaces = from.interfaces.clone();
    } else if let (Some(m), Some(f)) = (&mut into.machine, &from.machine) {
        m.num_cpus = m.num_cpus.max(f.num_cpus);
    }
    for user in &from.users {
        if !into.users.iter().any(|u| u.uid == user.uid) {
            into.users.push(user.clone());
        }
    }
    for group in &from.groups {
        if !into.groups.iter().any(|g| g.gid == group.gid) {
            into.groups.push(group.clone());
        }
    }
    let id = |v: u64| shift_id(v as i64, shift) as u64;
    for thread in &from.threads {
        let mut t = thread.clone();
        t.tid = id(t.tid);
        t.pid = id(t.pid);
        t.ptid = id(t.ptid);
        t.sid = id(t.sid);
        t.vpgid = id(t.vpgid);
        t.pgid = shift_id(t.pgid, shift);
        t.vtid = shift_id(t.vtid, shift);
        t.vpid = shift_id(t.vpid, shift);
        into.threads.push(t);
    }
    for list in &from.fd_lists {
        let mut l = list.clone();
        l.tid = id(l.tid);
        into.fd_lists.push(l);
    }
}
