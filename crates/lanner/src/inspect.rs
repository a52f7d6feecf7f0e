//! `lanner inspect`: read a capture and print its events the way `sysdig -r` does (optionally
//! filtered, optionally in a `-p` format), or copy them to another capture with `-w`.
//!
//! The default line is sysdig's
//! `*%evt.num %evt.outputtime %evt.cpu %proc.name (%thread.tid) %evt.dir %evt.type %evt.info`.
//!
//! What is shown follows sysdig, so that event numbers and lines line up with its output:
//! every event the reader returns gets a number (starting at 1), but
//! - internal events (`EC_INTERNAL`: procinfo, drop notices, ...) print only with `-D`;
//! - container events at the very start of a capture are consumed as initial state and never
//!   print, as libsinsp consumes them when it opens a capture;
//! - events recorded for state only (`SCAP_DF_STATE_ONLY` dump flag) never print.
//!
//! Events whose type is beyond the event table are skipped by the reader and not numbered, as
//! libs does.
//!
//! A filter is evaluated after the event has been applied to the state, as Falco evaluates
//! rules (sysdig's `-d`): an exit event sees the fd its enter event named even when the filter
//! rejected the enter event.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use lanner_event::Direction;
use lanner_event::render::{self, BufferFormat, RenderOptions, Resolver};
use lanner_fields::extract::time::{write_datetime, write_time_of_day};
use lanner_fields::{EventContext, FieldId, Format, FormatScratch};
use lanner_filter::{Filter, Scratch, TypeSet};
use lanner_scap::{Compression, EventRecord, FLAG_STATE_ONLY, ThreadedReader, Writer};
use lanner_state::State;
use lanner_state::container::is_container_event;

use crate::localtime;

/// Options of `lanner inspect`; the short flags are sysdig's.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// Capture file to read (`.scap`, gzip-compressed or not).
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    read: PathBuf,

    /// Write the events to this capture file instead of printing them.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    write: Option<PathBuf>,

    /// Compress the capture written with `-w` (gzip).
    #[arg(short = 'z', long = "compress", requires = "write")]
    compress: bool,

    /// Stop after this many events (with a filter: after this many matching events).
    #[arg(short = 'n', long = "numevents", value_name = "N")]
    numevents: Option<u64>,

    /// Print events in this format: `%field` and `%{field}` are replaced by the event's values;
    /// a leading `*` prints lines whose fields are missing too (as `<NA>`).
    #[arg(short = 'p', long = "print", value_name = "FORMAT", conflicts_with = "write")]
    format: Option<String>,

    /// Also print internal events (procinfo, drop notices ...).
    #[arg(short = 'D', long = "debug")]
    debug: bool,

    /// Print whole byte buffers instead of cutting them at 80 characters.
    #[arg(short = 'v', long = "verbose")]
    verbose: bool,

    /// Print only the text of byte buffers, with their line ends.
    #[arg(short = 'A', long = "print-ascii", group = "buffers")]
    ascii: bool,

    /// Print byte buffers in base64.
    #[arg(short = 'b', long = "print-base64", group = "buffers")]
    base64: bool,

    /// Print byte buffers as a hex dump.
    #[arg(short = 'x', long = "print-hex", group = "buffers")]
    hex: bool,

    /// Print byte buffers as a hex dump with an ASCII column.
    #[arg(short = 'X', long = "print-hex-ascii", group = "buffers")]
    hex_ascii: bool,

    /// Filter: only events for which this condition holds (Falco's condition language,
    /// e.g. `evt.type=open and fd.name startswith /etc`).
    #[arg(value_name = "FILTER", trailing_var_arg = true)]
    filter: Vec<String>,
}

impl InspectArgs {
    fn render_options(&self) -> RenderOptions {
        let buffer_format = if self.ascii {
            BufferFormat::Eols
        } else if self.base64 {
            BufferFormat::Base64
        } else if self.hex {
            BufferFormat::Hex
        } else if self.hex_ascii {
            BufferFormat::HexAscii
        } else {
            BufferFormat::Dots
        };
        RenderOptions {
            buffer_format,
            max_buffer_len: if self.verbose || buffer_format != BufferFormat::Dots {
                None
            } else {
                Some(80)
            },
        }
    }
}

/// What becomes of one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    /// Consumed as initial state: numbered, never returned.
    Consumed,
    /// Returned but not shown (internal without `-D`, state-only, or rejected by the filter).
    Hidden,
    /// Returned, not shown, but counted by `-n` (an internal event that matched the filter).
    Counted,
    /// Shown.
    Shown,
}

/// Reads a capture, keeps the state, numbers events and decides which are shown.
struct EventLoop<'a> {
    args: &'a InspectArgs,
    /// Reads on a thread of its own and hands over only the events of `relevant` types.
    reader: ThreadedReader,
    state: State,
    filter: Option<Filter>,
    filter_scratch: Scratch,
    /// The `-p` format.
    format: Option<Format>,
    render: RenderOptions,
    utc_offset: i64,
    /// Still at the start of the capture, where container events are initial state.
    leading: bool,
    num: u64,
    first_ts: Option<u64>,
    /// Events that count towards `-n`.
    counted: u64,
}

impl<'a> EventLoop<'a> {
    fn new(args: &'a InspectArgs) -> anyhow::Result<EventLoop<'a>> {
        let filter = if args.filter.is_empty() {
            None
        } else {
            let text = args.filter.join(" ");
            match Filter::compile(&text) {
                Ok(f) => Some(f),
                Err(e) => anyhow::bail!("invalid filter: {}", e.render(&text)),
            }
        };
        let format = match &args.format {
            Some(text) => Some(
                Format::parse(text).map_err(|e| anyhow::anyhow!("invalid format `{text}`: {e}"))?,
            ),
            None => None,
        };
        // With a filter, only the events it can match are shown: the state needs the events
        // the filter's fields depend on, and the memory counters if the format prints them.
        let relevant = filter.as_ref().map(|f| {
            let mut types = f.state_types();
            let reads = |pred: fn(FieldId) -> bool| {
                format.as_ref().is_some_and(|p| p.fields().any(|f| pred(f.id())))
            };
            if reads(FieldId::reads_event_history) {
                return TypeSet::all();
            }
            if reads(FieldId::reads_memory_counters) {
                for code in 0..lanner_event::table::EVENT_MAX as u16 {
                    if State::changes_counters(code) {
                        types.insert(code);
                    }
                }
            }
            types
        });
        // With a filter, only the events of relevant types are handed over: the others cannot
        // match and leave the state as it is for the events that can.
        let keep = relevant.map(|types| {
            (0..lanner_event::table::EVENT_MAX as u16).map(|c| types.contains(c)).collect()
        });
        let reader = ThreadedReader::open(&args.read, keep)
            .with_context(|| format!("cannot read capture `{}`", args.read.display()))?;
        let state = State::from_tables(reader.tables());
        Ok(EventLoop {
            args,
            reader,
            state,
            filter,
            filter_scratch: Scratch::default(),
            format,
            render: args.render_options(),
            utc_offset: localtime::utc_offset_now(),
            leading: true,
            num: 0,
            first_ts: None,
            counted: 0,
        })
    }

    fn done(&self) -> bool {
        self.args.numevents.is_some_and(|n| self.counted >= n)
    }

    /// Moves to the next event and decides its fate; `None` at the end.
    #[inline]
    fn advance(&mut self) -> Result<Option<Fate>, lanner_scap::Error> {
        if !self.reader.advance()? {
            return Ok(None);
        }
        let num = self.reader.number();
        // An event left out by the reader is not a container event (those change the state):
        // after it, container events are no longer at the start of the capture.
        if num > self.num + 1 {
            self.leading = false;
        }
        self.num = num;
        let Some(record) = self.reader.record() else { return Ok(None) };
        if let Some(tables) = record.new_tables {
            self.state.load_tables(tables);
        }
        let ev = record.event;
        self.state.process(&ev);
        let first_ts = *self.first_ts.get_or_insert(self.reader.first_ts().unwrap_or(ev.ts()));
        let fate = if self.leading && is_container_event(ev.event_type()) {
            Fate::Consumed
        } else {
            self.leading = false;
            let matched = match &self.filter {
                None => true,
                Some(filter) => {
                    let ctx = EventContext::new(
                        self.num,
                        record.cpu,
                        &ev,
                        &self.state,
                        first_ts,
                        self.utc_offset,
                        self.render,
                    );
                    filter.matches(&ctx, &mut self.filter_scratch)
                }
            };
            let visible = || {
                record.flags & FLAG_STATE_ONLY == 0
                    && (self.args.debug || !ev.info().is_some_and(|i| i.category.is_internal()))
            };
            match (matched && visible(), matched) {
                (true, true) => Fate::Shown,
                (false, true) => Fate::Counted,
                (_, false) if self.filter.is_none() => Fate::Counted,
                _ => Fate::Hidden,
            }
        };
        if matches!(fate, Fate::Shown | Fate::Counted)
            || (self.filter.is_none() && fate == Fate::Hidden)
        {
            self.counted += 1;
        }
        Ok(Some(fate))
    }

    /// The event [`EventLoop::advance`] moved to, with what it needs to be shown.
    fn current(&self) -> Option<Next<'_>> {
        Some(Next {
            record: self.reader.record()?,
            num: self.num,
            state: &self.state,
            render: self.render,
            utc_offset: self.utc_offset,
            first_ts: self.first_ts.unwrap_or(0),
        })
    }
}

/// One event of the loop, with what it needs to be shown.
struct Next<'a> {
    record: EventRecord<'a>,
    num: u64,
    state: &'a State,
    render: RenderOptions,
    utc_offset: i64,
    first_ts: u64,
}

impl Next<'_> {
    fn context(&self) -> EventContext<'_> {
        EventContext::new(
            self.num,
            self.record.cpu,
            &self.record.event,
            self.state,
            self.first_ts,
            self.utc_offset,
            self.render,
        )
    }
}

pub(crate) fn run(args: &InspectArgs) -> anyhow::Result<ExitCode> {
    let mut events = EventLoop::new(args)?;
    match &args.write {
        Some(out) => write_capture(&mut events, out),
        None => print_events(&mut events),
    }
}

fn read_failed(args: &InspectArgs, e: lanner_scap::Error) -> anyhow::Error {
    anyhow::Error::new(e).context(format!("cannot read capture `{}`", args.read.display()))
}

fn write_capture(events: &mut EventLoop<'_>, out: &std::path::Path) -> anyhow::Result<ExitCode> {
    let args = events.args;
    let compression = if args.compress { Compression::Gzip } else { Compression::None };
    let mut writer = Writer::create(out, events.reader.tables(), compression)
        .with_context(|| format!("cannot write capture `{}`", out.display()))?;
    let filtered = events.filter.is_some();
    let read_error = loop {
        if events.done() {
            break None;
        }
        let fate = match events.advance() {
            Ok(Some(fate)) => fate,
            Ok(None) => break None,
            Err(e) => break Some(e),
        };
        let Some(next) = events.current() else { break None };
        let record = &next.record;
        if let Some(tables) = record.new_tables {
            // A new section of a concatenated capture: its tables come first.
            writer.start_section(tables).context("cannot write capture")?;
        }
        // Without a filter the copy is complete; with one it holds what matched.
        let keep = !filtered || matches!(fate, Fate::Shown | Fate::Counted);
        if keep {
            writer
                .write_event(record.cpu, record.flags, &record.event)
                .with_context(|| format!("cannot write capture `{}`", out.display()))?;
        }
    };
    writer.finish().with_context(|| format!("cannot write capture `{}`", out.display()))?;
    match read_error {
        None => Ok(ExitCode::SUCCESS),
        Some(e) => Err(read_failed(args, e)),
    }
}

fn print_events(events: &mut EventLoop<'_>) -> anyhow::Result<ExitCode> {
    let args = events.args;
    let format = events.format.take();
    let mut format_scratch = FormatScratch::default();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut line = Vec::with_capacity(4096);
    let mut scratch = Vec::with_capacity(4096);

    let read_error = loop {
        if events.done() {
            break None;
        }
        match events.advance() {
            Ok(Some(Fate::Shown)) => {}
            Ok(Some(_)) => continue,
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
        let Some(next) = events.current() else { break None };
        line.clear();
        match &format {
            None => write_line(&mut line, &next, &mut scratch),
            Some(format) => {
                if !format.write(&mut line, &next.context(), &mut format_scratch) {
                    continue;
                }
                line.push(b'\n');
            }
        }
        if let Err(e) = out.write_all(&line) {
            return broken_pipe_or(e);
        }
    };
    if let Err(e) = out.flush() {
        return broken_pipe_or(e);
    }
    match read_error {
        None => Ok(ExitCode::SUCCESS),
        Some(e) => Err(read_failed(args, e)),
    }
}

/// A closed stdout (`lanner inspect ... | head`) ends the command quietly, as for any filter.
fn broken_pipe_or(e: std::io::Error) -> anyhow::Result<ExitCode> {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(anyhow::Error::new(e).context("cannot write to standard output"))
    }
}

/// `PPME_PLUGINEVENT_E`: events of plugins, which sysdig prints in a format of their own.
const PLUGIN_EVENT: u16 = 322;

/// One line in sysdig's default format, with its newline.
fn write_line(line: &mut Vec<u8>, next: &Next<'_>, scratch: &mut Vec<u8>) {
    let ev = &next.record.event;
    let (cpu, res) = (next.record.cpu, next.state);
    let mut digits = itoa::Buffer::new();
    line.extend_from_slice(digits.format(next.num).as_bytes());
    line.push(b' ');
    if ev.event_type() == PLUGIN_EVENT {
        // `%evt.num %evt.datetime.s [%evt.pluginname] %evt.plugininfo`; no plugin is loaded
        // to name or describe the event.
        write_datetime(line, ev.ts(), next.utc_offset, false);
        line.extend_from_slice(b" [<NA>] <NA>\n");
        return;
    }
    write_time_of_day(line, ev.ts(), next.utc_offset);
    let tid = ev.tid();
    line.push(b' ');
    line.extend_from_slice(digits.format(cpu as i16).as_bytes());
    line.push(b' ');
    line.extend_from_slice(res.comm(tid).unwrap_or(b"<NA>"));
    line.extend_from_slice(b" (");
    line.extend_from_slice(digits.format(tid).as_bytes());
    line.extend_from_slice(b") ");
    line.push(match ev.direction() {
        Direction::Enter => b'>',
        Direction::Exit => b'<',
    });
    line.push(b' ');
    line.extend_from_slice(render::event_type_name(ev).as_bytes());
    line.push(b' ');
    render::write_args(line, ev, res, &next.render, scratch);
    line.push(b'\n');
}
