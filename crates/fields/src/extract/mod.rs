//! Extracting field values from an event and the state it left behind.
//!
//! The values follow libsinsp's extractors. Where libs changed a field's meaning since 2022,
//! lanner follows current libs (what Falco does today); the differential tests against
//! Debian's sysdig list those fields.

mod container;
mod evt;
mod fd;
mod misc;
mod process;
pub mod time;

use lanner_event::RawEvent;
use lanner_event::render::RenderOptions;
use lanner_state::{Fd, State, Thread};

use crate::field::Field;
use crate::registry::Class;
use crate::value::Values;

/// Everything extraction may look at for one event.
#[derive(Clone)]
pub struct EventContext<'a> {
    /// The event's number in its capture or stream (`evt.num`).
    pub num: u64,
    /// The CPU it was recorded on.
    pub cpu: u16,
    /// The event.
    pub event: &'a RawEvent<'a>,
    /// The state, after the event was applied to it.
    pub state: &'a State,
    /// Timestamp of the first event of the stream (`evt.reltime`).
    pub first_ts: u64,
    /// Offset of local time from UTC, seconds (`evt.time`, `evt.datetime`).
    pub utc_offset: i64,
    /// How parameters render (`evt.arg.*`, `evt.args`, `evt.buffer` in output).
    pub render: RenderOptions,
    /// Whether an exit event also has the parameters of its enter event, as current libs
    /// (≥ 0.22) deliver it: `evt.arg.NAME`, `evt.arg[N]` and `evt.rawarg.NAME` missing from
    /// an exit event recorded by older libs come from the enter event of the same syscall.
    /// Off by default (sysdig shows events as recorded); the rules engine turns it on.
    pub fold_enter: bool,
    /// The event source the event comes from (`syscall` unless set): plugin extractors are
    /// told it.
    pub source: &'a str,
    /// The event's thread, once looked up.
    thread: std::cell::Cell<Option<Option<&'a Thread>>>,
    /// The fd the event is about, once looked up.
    event_fd: std::cell::Cell<Option<Option<&'a Fd>>>,
}

impl<'a> EventContext<'a> {
    /// The context of one event, for extracting its fields.
    pub fn new(
        num: u64,
        cpu: u16,
        event: &'a RawEvent<'a>,
        state: &'a State,
        first_ts: u64,
        utc_offset: i64,
        render: RenderOptions,
    ) -> EventContext<'a> {
        EventContext {
            num,
            cpu,
            event,
            state,
            first_ts,
            utc_offset,
            render,
            fold_enter: false,
            source: "syscall",
            thread: std::cell::Cell::new(None),
            event_fd: std::cell::Cell::new(None),
        }
    }

    /// The thread that generated the event, if the state knows it (looked up once for all the
    /// fields of the event).
    #[inline]
    pub(crate) fn thread(&self) -> Option<&'a Thread> {
        if let Some(t) = self.thread.get() {
            return t;
        }
        let t = self.state.thread(self.event.tid());
        self.thread.set(Some(t));
        t
    }

    /// An fd of the event's thread.
    #[inline]
    pub(crate) fn fd(&self, fd: i64) -> Option<&'a Fd> {
        if fd < 0 {
            return None;
        }
        self.thread().and_then(|t| self.state.fd_of(t, fd))
    }

    /// The fd the event is about ([`State::event_fd`]), if the state knows it (looked up once
    /// for all the fields of the event).
    #[inline]
    pub(crate) fn event_fd(&self) -> Option<&'a Fd> {
        if let Some(f) = self.event_fd.get() {
            return f;
        }
        let f = self.fd(self.state.event_fd());
        self.event_fd.set(Some(f));
        f
    }

    /// The main thread of the event's process.
    pub(crate) fn main_thread(&self) -> Option<&'a Thread> {
        self.thread().map(|t| main_of(self.state, t))
    }
}

/// The main thread of a thread's process (the thread itself when that is not known).
pub(crate) fn main_of<'a>(state: &'a State, t: &'a Thread) -> &'a Thread {
    if t.pid == t.tid { t } else { state.thread(t.pid).unwrap_or(t) }
}

/// Where a value is wanted: some fields mean something else in a filter than in an output
/// (an ancestor field without index matches any ancestor in a filter, and prints the process's
/// own value in an output).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// For a filter or rule condition.
    Filter,
    /// For an output format.
    Output,
}

/// What stateful fields remember between events, one per field occurrence in a filter or format
/// (libs keeps it in the filter check object).
#[derive(Clone, Debug, Default)]
pub struct CheckState {
    counter: u64,
    last_ts: Option<u64>,
    per_key: std::collections::HashMap<i64, u64>,
}

/// Extracts a field's values into `out` (cleared first). Leaves `out` empty when the field
/// does not apply to the event (libs' NULL, printed `<NA>`).
#[inline]
pub fn extract(
    field: &Field,
    ctx: &EventContext<'_>,
    mode: Mode,
    check: &mut CheckState,
    out: &mut Values,
) {
    out.clear();
    match field.def().class {
        Class::Evt | Class::SyscallEvt => evt::extract(field, ctx, check, out),
        Class::Process => process::extract(field, ctx, mode, check, out),
        Class::Fd => fd::extract(field, ctx, out),
        Class::Container => container::extract(field, ctx, out),
        Class::User | Class::Group | Class::FdList | Class::FsPath | Class::Util => {
            misc::extract(field, ctx, check, out)
        }
        Class::Plugin => {
            if let Some(p) = field.plugin() {
                p.extractor.extract(p.index, field.arg(), ctx.event, ctx.num, ctx.source, out);
            }
        }
        Class::Static => {
            if let crate::field::FieldArg::Static { value, .. } = field.arg() {
                out.push_bytes(value.as_bytes());
            }
        }
    }
}
