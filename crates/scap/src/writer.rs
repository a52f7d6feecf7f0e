//! Capture writer.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use lanner_event::RawEvent;

use crate::block::{
    BLOCK_HEADER_LEN, BLOCK_TRAILER_LEN, BYTE_ORDER_MAGIC, BlockType, EventBlockVersion, padded,
};
use crate::bytes::Encoder;
use crate::error::{Error, ErrorKind, Result};
use crate::reader::FLAG_LARGE;
use crate::tables::{self, Tables};

/// The file format version lanner writes.
pub const WRITE_VERSION: (u16, u16) = (1, 2);

/// Whether to compress the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Plain blocks.
    None,
    /// gzip, as sysdig and Falco write by default; every libs reader accepts both.
    Gzip,
}

/// Writes a capture: the section header and the metadata first ([`Writer::new`]), then events.
///
/// The blocks are the newest that both the 2022 libscap (Debian's sysdig) and current libs read:
/// section header 1.2 without options, `MI`, `IL_V2`, `UL_V2`, one `PL_V9`, one `FDL_V2` per
/// thread, then `EV_V2` (or `EVF_V2` when the event has dump flags, and the `_LARGE` blocks for
/// events with 32-bit parameter lengths). Call [`Writer::finish`] to flush; dropping the writer
/// without it loses the buffered tail.
pub struct Writer<W: Write> {
    out: Sink<W>,
    events: u64,
}

enum Sink<W: Write> {
    Plain(BufWriter<W>),
    Gzip(Box<flate2::write::GzEncoder<BufWriter<W>>>),
}

impl<W: Write> Write for Sink<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Plain(w) => w.write(buf),
            Sink::Gzip(w) => w.write(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::Plain(w) => w.write_all(buf),
            Sink::Gzip(w) => w.write_all(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            Sink::Gzip(w) => w.flush(),
        }
    }
}

impl Writer<File> {
    /// Creates (or truncates) a capture file.
    pub fn create(
        path: impl AsRef<Path>,
        tables: &Tables,
        compression: Compression,
    ) -> Result<Self> {
        let file = File::create(path.as_ref()).map_err(Error::io)?;
        Writer::new(file, tables, compression)
    }
}

impl<W: Write> Writer<W> {
    /// Starts a capture on `out` and writes its section header and metadata blocks.
    ///
    /// Every thread of `tables.threads` gets an fd list block (empty if `tables.fd_lists` has
    /// none for it), and fd lists of threads missing from the process list are dropped: libscap
    /// of 2022 refuses a capture whose fd list names an unknown thread.
    pub fn new(out: W, tables: &Tables, compression: Compression) -> Result<Self> {
        let buffered = BufWriter::with_capacity(1 << 20, out);
        let out = match compression {
            Compression::None => Sink::Plain(buffered),
            Compression::Gzip => Sink::Gzip(Box::new(flate2::write::GzEncoder::new(
                buffered,
                flate2::Compression::fast(),
            ))),
        };
        let mut w = Writer { out, events: 0 };
        w.write_tables(tables)?;
        Ok(w)
    }

    fn block(&mut self, block: BlockType, body: &[u8]) -> Result<()> {
        self.block_parts(block, &[body])
    }

    /// Writes one block whose body is the concatenation of `parts`.
    fn block_parts(&mut self, block: BlockType, parts: &[&[u8]]) -> Result<()> {
        let body_len: usize = parts.iter().map(|p| p.len()).sum();
        let total = padded(BLOCK_HEADER_LEN + body_len) + BLOCK_TRAILER_LEN;
        let total32 = u32::try_from(total).map_err(|_| {
            Error::at(
                0,
                Some(block),
                ErrorKind::Corrupt(format!("block of {total} bytes is too large")),
            )
        })?;
        let pad = total - BLOCK_HEADER_LEN - body_len - BLOCK_TRAILER_LEN;
        let mut head = [0u8; 8];
        head[..4].copy_from_slice(&block.code().to_le_bytes());
        head[4..].copy_from_slice(&total32.to_le_bytes());
        let io = |e| Error::io(e);
        self.out.write_all(&head).map_err(io)?;
        for part in parts {
            self.out.write_all(part).map_err(io)?;
        }
        self.out.write_all(&[0u8; 3][..pad]).map_err(io)?;
        self.out.write_all(&total32.to_le_bytes()).map_err(io)?;
        Ok(())
    }

    fn write_tables(&mut self, t: &Tables) -> Result<()> {
        let mut e = Encoder::default();
        e.u32(BYTE_ORDER_MAGIC);
        e.u16(WRITE_VERSION.0);
        e.u16(WRITE_VERSION.1);
        e.u64(u64::MAX);
        self.block(BlockType::SectionHeader, &e.buf)?;

        if let Some(machine) = &t.machine {
            let mut e = Encoder::default();
            tables::write_machine_info(&mut e, machine);
            self.block(BlockType::MachineInfo, &e.buf)?;
        }

        let mut e = Encoder::default();
        tables::write_interface_list(&mut e, &t.interfaces);
        self.block(BlockType::InterfaceList(2), &e.buf)?;

        let mut e = Encoder::default();
        tables::write_user_list(&mut e, &t.users, &t.groups);
        self.block(BlockType::UserList(2), &e.buf)?;

        if !t.threads.is_empty() {
            let mut e = Encoder::default();
            tables::write_process_list(&mut e, &t.threads);
            self.block(BlockType::ProcessList(9), &e.buf)?;
        }
        let empty = tables::FdList::default();
        for thread in &t.threads {
            let list = t.fd_lists.iter().find(|l| l.tid == thread.tid);
            let mut e = Encoder::default();
            match list {
                Some(list) => tables::write_fd_list(&mut e, list),
                None => tables::write_fd_list(
                    &mut e,
                    &tables::FdList { tid: thread.tid, ..empty.clone() },
                ),
            }
            self.block(BlockType::FdList(2), &e.buf)?;
        }
        Ok(())
    }

    /// Starts a new section (a capture concatenated to the previous one) with its own tables.
    pub fn start_section(&mut self, tables: &Tables) -> Result<()> {
        self.write_tables(tables)
    }

    /// Appends one event recorded on `cpu`, with dump `flags` (0 for none).
    pub fn write_event(&mut self, cpu: u16, flags: u32, event: &RawEvent<'_>) -> Result<()> {
        let flags = flags & !FLAG_LARGE;
        let version =
            if event.is_large() { EventBlockVersion::V2Large } else { EventBlockVersion::V2 };
        let block =
            if flags != 0 { BlockType::EventWithFlags(version) } else { BlockType::Event(version) };
        let cpu = cpu.to_le_bytes();
        let flag_bytes = flags.to_le_bytes();
        let flag_part: &[u8] = if flags != 0 { &flag_bytes } else { &[] };
        self.block_parts(block, &[&cpu, flag_part, event.as_bytes()])?;
        self.events += 1;
        Ok(())
    }

    /// Number of events written so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Flushes everything (and ends the gzip stream) and returns the inner writer.
    pub fn finish(self) -> Result<W> {
        let buffered = match self.out {
            Sink::Plain(w) => w,
            Sink::Gzip(w) => w.finish().map_err(Error::io)?,
        };
        buffered.into_inner().map_err(|e| Error::io(e.into_error()))
    }
}
