//! `lanner inspect`: read a capture and print its events the way `sysdig -r` does, or copy them
//! to another capture with `-w`.
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

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use lanner_event::render::{self, BufferFormat, RenderOptions, Resolver};
use lanner_event::{Direction, RawEvent};
use lanner_scap::{Compression, FLAG_STATE_ONLY, Reader, Writer};
use lanner_state::State;

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

    /// Stop after this many events.
    #[arg(short = 'n', long = "numevents", value_name = "N")]
    numevents: Option<u64>,

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

    /// Filter expression (filters arrive with the field registry; only an empty filter is
    /// accepted today).
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

/// Container events (`PPME_CONTAINER_E`, `PPME_CONTAINER_JSON_E`, `PPME_CONTAINER_JSON_2_E`).
fn is_container_event(event_type: u16) -> bool {
    matches!(event_type, 228 | 272 | 324)
}

/// Which events of a capture are shown, and their numbers.
#[derive(Debug, Default)]
struct Visibility {
    debug: bool,
    /// Still at the start of the capture, where container events are initial state.
    leading: bool,
}

impl Visibility {
    fn new(debug: bool) -> Self {
        Visibility { debug, leading: true }
    }

    /// Whether the event is shown; `None` if it is consumed as initial state (it is numbered
    /// but not returned, so it does not count towards `-n` either).
    fn classify(&mut self, ev: &RawEvent<'_>, flags: u32) -> Option<bool> {
        if self.leading && is_container_event(ev.event_type()) {
            return None;
        }
        self.leading = false;
        if flags & FLAG_STATE_ONLY != 0 {
            return Some(false);
        }
        let internal = ev.info().is_some_and(|i| i.category.is_internal());
        Some(self.debug || !internal)
    }
}

pub(crate) fn run(args: &InspectArgs) -> anyhow::Result<ExitCode> {
    if !args.filter.is_empty() {
        anyhow::bail!(
            "filters are not supported yet: `{}` cannot be applied (the filter language arrives \
             with the field registry)",
            args.filter.join(" ")
        );
    }
    let mut reader = Reader::open(&args.read)
        .with_context(|| format!("cannot read capture `{}`", args.read.display()))?;
    match &args.write {
        Some(out) => write_capture(args, &mut reader, out),
        None => print_events(args, &mut reader),
    }
}

fn write_capture(
    args: &InspectArgs,
    reader: &mut Reader,
    out: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    let compression = if args.compress { Compression::Gzip } else { Compression::None };
    let mut writer = Writer::create(out, reader.tables(), compression)
        .with_context(|| format!("cannot write capture `{}`", out.display()))?;
    let mut written = 0u64;
    let read_error = loop {
        if args.numevents.is_some_and(|n| written >= n) {
            break None;
        }
        let record = match reader.next() {
            Ok(Some(record)) => record,
            Ok(None) => break None,
            Err(e) => break Some(e),
        };
        if let Some(tables) = record.new_tables {
            // A new section of a concatenated capture: its tables come first.
            writer.start_section(tables).context("cannot write capture")?;
        }
        writer
            .write_event(record.cpu, record.flags, &record.event)
            .with_context(|| format!("cannot write capture `{}`", out.display()))?;
        written += 1;
    };
    writer.finish().with_context(|| format!("cannot write capture `{}`", out.display()))?;
    match read_error {
        None => Ok(ExitCode::SUCCESS),
        Some(e) => {
            Err(anyhow::Error::new(e)
                .context(format!("cannot read capture `{}`", args.read.display())))
        }
    }
}

fn print_events(args: &InspectArgs, reader: &mut Reader) -> anyhow::Result<ExitCode> {
    let opts = args.render_options();
    let offset = localtime::utc_offset_now();
    let mut state = State::from_tables(reader.tables());
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut line = Vec::with_capacity(4096);
    let mut scratch = Vec::with_capacity(4096);
    let mut visibility = Visibility::new(args.debug);
    let mut num = 0u64;
    let mut returned = 0u64;

    let read_error = loop {
        if args.numevents.is_some_and(|n| returned >= n) {
            break None;
        }
        let record = match reader.next() {
            Ok(Some(record)) => record,
            Ok(None) => break None,
            Err(e) => break Some(e),
        };
        num += 1;
        if let Some(tables) = record.new_tables {
            state.load_tables(tables);
        }
        let shown = show(&mut visibility, &mut state, &record.event, record.flags, &mut returned);
        let Some(shown) = shown else { continue };
        if !shown {
            continue;
        }
        line.clear();
        write_line(&mut line, num, record.cpu, &record.event, &state, &opts, offset, &mut scratch);
        if let Err(e) = out.write_all(&line) {
            return broken_pipe_or(e);
        }
    };
    if let Err(e) = out.flush() {
        return broken_pipe_or(e);
    }
    match read_error {
        None => Ok(ExitCode::SUCCESS),
        Some(e) => {
            Err(anyhow::Error::new(e)
                .context(format!("cannot read capture `{}`", args.read.display())))
        }
    }
}

/// Applies an event to the state and says whether to print it (`None`: consumed as initial
/// state, not counted by `-n`).
fn show(
    visibility: &mut Visibility,
    state: &mut State,
    event: &RawEvent<'_>,
    flags: u32,
    returned: &mut u64,
) -> Option<bool> {
    state.process(event);
    let shown = visibility.classify(event, flags)?;
    *returned += 1;
    Some(shown)
}

/// A closed stdout (`lanner inspect ... | head`) ends the command quietly, as for any filter.
fn broken_pipe_or(e: std::io::Error) -> anyhow::Result<ExitCode> {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(anyhow::Error::new(e).context("cannot write to standard output"))
    }
}

/// One line in sysdig's default format, with its newline.
#[expect(clippy::too_many_arguments, reason = "one line needs every piece of context")]
fn write_line<R: Resolver + ?Sized>(
    line: &mut Vec<u8>,
    num: u64,
    cpu: u16,
    ev: &RawEvent<'_>,
    res: &R,
    opts: &RenderOptions,
    utc_offset: i64,
    scratch: &mut Vec<u8>,
) {
    let _ = write!(line, "{num} ");
    localtime::write_time_of_day(line, ev.ts(), utc_offset);
    let tid = ev.tid();
    let _ = write!(line, " {} ", cpu as i16);
    line.extend_from_slice(res.comm(tid).unwrap_or(b"<NA>"));
    let _ = write!(line, " ({tid}) ");
    line.push(match ev.direction() {
        Direction::Enter => b'>',
        Direction::Exit => b'<',
    });
    line.push(b' ');
    line.extend_from_slice(render::event_type_name(ev).as_bytes());
    line.push(b' ');
    render::write_args(line, ev, res, opts, scratch);
    line.push(b'\n');
}
