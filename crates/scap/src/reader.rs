//! Streaming capture reader.

use std::fs::File;
use std::io::{BufReader, Read};
use std::ops::Deref;
use std::path::Path;

use lanner_event::{EventInfo, HEADER_LEN, HEADER_LEN_V1, RawEvent, event_info};

use crate::block::{
    BLOCK_HEADER_LEN, BLOCK_TRAILER_LEN, BYTE_ORDER_MAGIC, BlockType, EventBlockVersion,
};
use crate::error::{Error, ErrorKind, Result};
use crate::tables::{self, Tables};

/// Largest block the reader accepts. Events are far smaller (libs caps non-large events at
/// 64 KiB), but a process list of a big host can take megabytes; anything beyond this is a
/// corrupt length, and refusing it keeps a hostile file from making us allocate gigabytes.
pub const MAX_BLOCK_LEN: usize = 256 << 20;

/// Initial size of the read buffer. Blocks are read straight into it and events are handed out
/// as slices of it, so reading never copies an event and never allocates per event.
const BUFFER_LEN: usize = 1 << 20;

/// One event as the capture holds it.
#[derive(Clone, Copy, Debug)]
pub struct EventRecord<'a> {
    /// Offset of the event's block in the (decompressed) stream.
    pub offset: u64,
    /// The CPU the event was recorded on.
    pub cpu: u16,
    /// The block's dump flags (`EVF*` blocks); 0 for plain event blocks.
    pub flags: u32,
    /// The event, always in the version-2 layout (version-1 events are converted).
    pub event: RawEvent<'a>,
    /// Which section of the capture the event belongs to, counting from 1 (captures can be
    /// concatenated; [`Reader::tables`] describes the current section).
    pub section: u64,
    /// The tables of a new section, on the first event of every section after the first: a
    /// consumer that keeps state reloads it from them before applying the event.
    pub new_tables: Option<&'a Tables>,
}

/// `SCAP_DF_STATE_ONLY`: the event was kept for state only and is not shown.
pub const FLAG_STATE_ONLY: u32 = 1;
/// `SCAP_DF_TRACER`.
pub const FLAG_TRACER: u32 = 2;
/// `SCAP_DF_LARGE`: recorded by the block type, never stored in the flags word.
pub const FLAG_LARGE: u32 = 4;

/// What the reader saw besides the events it returned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Blocks read, of every kind.
    pub blocks: u64,
    /// Event blocks read (including skipped events).
    pub event_blocks: u64,
    /// Events skipped because their type is beyond the event table (as libs does).
    pub unknown_event_types: u64,
    /// Unknown blocks skipped (pcapng blocks, future block kinds).
    pub unknown_blocks: u64,
    /// Sections (section header blocks) read.
    pub sections: u64,
}

/// Reads a capture block by block, with memory bounded by the largest block.
///
/// Opening reads the section header and every metadata block up to the first event, so that
/// [`Reader::tables`] is complete before the first event is returned. Events are then handed
/// out one at a time as borrowed [`RawEvent`]s that point into the reader's buffer.
///
/// Version-1 events (captures of 2019 and before, without `nparams`) are converted on the fly
/// the way libscap does: `nparams` is inferred as the largest parameter count, at most the
/// table's, whose lengths add up exactly to the event length.
///
/// A capture may hold several sections one after another; the tables of a later section
/// replace those of the earlier one when its header is met. Metadata blocks after the first
/// event of a section are an error, as in libs; unknown blocks are skipped anywhere.
pub struct Reader {
    src: Source,
    compressed: bool,
    buf: Buffer,
    /// Valid data in `buf` is `buf[start..end]`.
    start: usize,
    end: usize,
    /// Stream offset of `buf[start]`.
    offset: u64,
    tables: Tables,
    stats: ReadStats,
    /// A block header is buffered at `start` (checked, not yet processed): the first event
    /// block of a section, met while collecting its tables, or the next section's header.
    pending: bool,
    /// Scratch for converting version-1 events.
    convert: Vec<u8>,
    /// The event [`Reader::advance`] moved to.
    current: Current,
    /// The last section whose tables were handed out (the first section's are read with
    /// [`Reader::tables`] before any event).
    announced_section: u64,
}

impl Reader {
    /// Opens a capture file, gzip-compressed or not.
    pub fn open(path: impl AsRef<Path>) -> Result<Reader> {
        Reader::open_with(path, Fetch::Ahead)
    }

    /// Opens a capture file, getting its bytes as `fetch` says.
    pub fn open_with(path: impl AsRef<Path>, fetch: Fetch) -> Result<Reader> {
        let file = File::open(path.as_ref()).map_err(Error::io)?;
        if fetch == Fetch::Mapped
            && let Some(map) = map_plain(&file)
        {
            return Reader::with_buffer(Source::Whole, false, Buffer::Whole(map));
        }
        Reader::new_with(file, fetch)
    }

    /// Starts reading a capture held in memory, gzip-compressed or not. The events of a plain
    /// capture are handed out as slices of `bytes` (nothing is copied), as from a mapped file.
    pub fn from_bytes(bytes: impl Into<Box<[u8]>>) -> Result<Reader> {
        let bytes: Box<[u8]> = bytes.into();
        if bytes.starts_with(&[0x1f, 0x8b]) {
            return Reader::new(std::io::Cursor::new(bytes));
        }
        Reader::with_buffer(Source::Whole, false, Buffer::Whole(Whole::Memory(bytes)))
    }

    /// Starts reading a capture from any byte stream, gzip-compressed or not.
    pub fn new(inner: impl Read + Send + 'static) -> Result<Reader> {
        Reader::new_with(inner, Fetch::Ahead)
    }

    /// Starts reading a capture from any byte stream, getting its bytes as `fetch` says.
    pub fn new_with(mut inner: impl Read + Send + 'static, fetch: Fetch) -> Result<Reader> {
        let mut magic = [0u8; 2];
        let got = read_full(&mut inner, &mut magic).map_err(Error::io)?;
        let compressed = got == 2 && magic == [0x1f, 0x8b];
        let chained = std::io::Cursor::new(magic[..got].to_vec()).chain(inner);
        let src = if compressed {
            let inflate =
                flate2::read::MultiGzDecoder::new(BufReader::with_capacity(256 << 10, chained));
            Source::Ahead(ReadAhead::spawn(inflate))
        } else {
            match fetch {
                Fetch::Ahead => Source::Ahead(ReadAhead::spawn(chained)),
                Fetch::InPlace | Fetch::Mapped => Source::Direct(Box::new(chained)),
            }
        };
        Reader::with_buffer(src, compressed, Buffer::Owned(Vec::new()))
    }

    /// A reader of `src` whose buffer starts as `buf`; reads the first section's header and
    /// tables.
    fn with_buffer(src: Source, compressed: bool, buf: Buffer) -> Result<Reader> {
        let end = match &buf {
            Buffer::Owned(_) => 0,
            Buffer::Whole(bytes) => bytes.len(),
        };
        let mut reader = Reader {
            src,
            compressed,
            buf,
            start: 0,
            end,
            offset: 0,
            tables: Tables::default(),
            stats: ReadStats::default(),
            pending: false,
            convert: Vec::new(),
            current: Current::default(),
            announced_section: 1,
        };
        reader.read_section(true)?;
        Ok(reader)
    }

    /// The metadata of the current section.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// Whether the stream is gzip-compressed (offsets then count decompressed bytes).
    pub fn is_compressed(&self) -> bool {
        self.compressed
    }

    /// Counters of what was read and skipped so far.
    pub fn stats(&self) -> &ReadStats {
        &self.stats
    }

    /// The next event, or `None` at the end of the capture.
    ///
    /// Events whose type is beyond the event table are skipped and counted, as libs does.
    #[expect(clippy::should_implement_trait, reason = "items borrow the reader: not an Iterator")]
    #[inline]
    pub fn next(&mut self) -> Result<Option<EventRecord<'_>>> {
        Ok(if self.advance()? { self.record() } else { None })
    }

    /// Moves to the next event; `false` at the end of the capture. [`Reader::record`] then
    /// gives the event. Equivalent to [`Reader::next`], for loops that want the event's fields
    /// without moving a record around.
    #[inline]
    pub fn advance(&mut self) -> Result<bool> {
        // The common case, decided without side effects: a version-2 event block of a known
        // event type, whole in the buffer and well-formed. Anything else, including every
        // error, takes the general path, which checks the same things in the same order.
        // The buffer is looked at through one slice (a mapped buffer takes a few steps to get
        // to its bytes).
        let buf: &[u8] = &self.buf;
        let buffered = if self.pending { None } else { buf.get(self.start..self.end) };
        if let Some((at, evlen, len, large)) = buffered.and_then(Reader::buffered_event) {
            let b = &buf[self.start..self.start + len];
            let cpu = u16::from_le_bytes([b[8], b[9]]);
            let flags = if at == BLOCK_HEADER_LEN + 6 {
                u32::from_le_bytes([b[10], b[11], b[12], b[13]])
            } else {
                0
            };
            // A mapped capture is read straight from the page cache, page after page: without
            // this, reading it stalls at every page and is slower than copying it (the
            // kernel's copy fetches ahead). Next to nothing on bytes already in the cache.
            prefetch(buf, self.start + len + PREFETCH_AHEAD);
            self.current = Current {
                at: self.start + at,
                len: evlen,
                converted: false,
                large,
                cpu,
                flags,
                offset: self.offset,
                new_tables: false,
                valid: true,
            };
            self.stats.blocks += 1;
            self.stats.event_blocks += 1;
            self.start += len;
            self.offset += len as u64;
            return Ok(true);
        }
        self.advance_block()
    }

    /// The event [`Reader::advance`] moved to; `None` before the first and after the last.
    #[inline]
    pub fn record(&self) -> Option<EventRecord<'_>> {
        let c = &self.current;
        if !c.valid {
            return None;
        }
        let bytes = if c.converted { &self.convert[..] } else { &self.buf[c.at..c.at + c.len] };
        Some(EventRecord {
            offset: c.offset,
            cpu: c.cpu,
            flags: c.flags,
            event: RawEvent::from_checked(bytes, c.large),
            section: self.stats.sections,
            new_tables: c.new_tables.then_some(&self.tables),
        })
    }

    /// Where the event of the block at the start of `b` (the buffered bytes) starts and how
    /// long it is, and the block's length, when the block is a version-2 event block that
    /// [`Reader::next`] can hand out without further ado; `None` for anything else.
    #[inline(always)]
    fn buffered_event(b: &[u8]) -> Option<(usize, usize, usize, bool)> {
        let header: &[u8; BLOCK_HEADER_LEN] = b.first_chunk()?;
        let code = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let at = match code {
            0x216 | 0x221 => BLOCK_HEADER_LEN + 2,
            0x217 | 0x222 => BLOCK_HEADER_LEN + 6,
            _ => return None,
        };
        if len > b.len() || !len.is_multiple_of(4) || len < at + HEADER_LEN + BLOCK_TRAILER_LEN {
            return None;
        }
        let ev = &b[at..len];
        let evlen = u32::from_le_bytes([ev[16], ev[17], ev[18], ev[19]]) as usize;
        let ty = u16::from_le_bytes([ev[20], ev[21]]);
        if evlen < HEADER_LEN || evlen > ev.len() - BLOCK_TRAILER_LEN || event_info(ty).is_none() {
            return None;
        }
        let large = RawEvent::new(&ev[..evlen]).ok()?.is_large();
        Some((at, evlen, len, large))
    }

    /// [`Reader::advance`] for every block but the common one.
    fn advance_block(&mut self) -> Result<bool> {
        self.current.valid = false;
        loop {
            if !self.pending && self.next_block_header()?.is_none() {
                return Ok(false);
            }
            self.pending = false;
            let (block, len) = self.peek_header();
            match block {
                BlockType::Event(v) | BlockType::EventWithFlags(v) => {
                    self.fill(len, block)?;
                    self.stats.blocks += 1;
                    self.stats.event_blocks += 1;
                    let with_flags = matches!(block, BlockType::EventWithFlags(_));
                    if self.event_is_unknown(block, len, with_flags)? {
                        self.consume(len);
                        self.stats.unknown_event_types += 1;
                        continue;
                    }
                    self.event(block, v, len, with_flags)?;
                    return Ok(true);
                }
                BlockType::SectionHeader => {
                    self.read_section(false)?;
                }
                BlockType::Unknown(_) => {
                    self.skip_block(block, len)?;
                }
                _ => {
                    return Err(self.err_here(
                        Some(block),
                        ErrorKind::Corrupt(
                            "metadata block after the first event of the section".into(),
                        ),
                    ));
                }
            }
        }
    }

    // -- framing -----------------------------------------------------------------------------

    fn err_here(&self, block: Option<BlockType>, kind: ErrorKind) -> Error {
        Error { compressed: self.compressed, ..Error::at(self.offset, block, kind) }
    }

    /// Makes sure `n` bytes are buffered at `start`, reading more (and growing the buffer when a
    /// block is larger than it) as needed. Returns how many bytes are actually available, which
    /// is less than `n` only at the end of the stream.
    #[inline]
    fn buffer(&mut self, n: usize) -> Result<usize> {
        if self.end - self.start >= n {
            return Ok(n);
        }
        self.refill(n)
    }

    /// [`Reader::buffer`] when the bytes are not all there yet.
    #[cold]
    fn refill(&mut self, n: usize) -> Result<usize> {
        let (Source::Ahead(ahead), Buffer::Owned(buf)) = (&mut self.src, &mut self.buf) else {
            return self.refill_direct(n);
        };
        while self.end - self.start < n {
            let chunk = match ahead.next_chunk() {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => return Err(self.read_failed(e)),
            };
            let left = self.end - self.start;
            if left <= READ_AHEAD_HEAD {
                // The usual case: what is left of the buffer (a part of one block) goes in
                // front of the new chunk's bytes, and the chunk becomes the buffer.
                let mut chunk = chunk;
                let start = READ_AHEAD_HEAD - left;
                chunk[start..READ_AHEAD_HEAD].copy_from_slice(&buf[self.start..self.end]);
                let spent = std::mem::replace(buf, chunk);
                ahead.recycle(spent);
                self.start = start;
                self.end = buf.len();
            } else {
                // A block larger than the head room spans chunks: gather it in the buffer.
                buf.copy_within(self.start..self.end, 0);
                buf.truncate(left);
                buf.extend_from_slice(&chunk[READ_AHEAD_HEAD..]);
                self.start = 0;
                self.end = buf.len();
                ahead.recycle(chunk);
            }
        }
        Ok((self.end - self.start).min(n))
    }

    /// [`Reader::refill`] from a stream read on this thread, or for a whole capture in memory
    /// (what is missing is past its end).
    fn refill_direct(&mut self, n: usize) -> Result<usize> {
        let (Source::Direct(src), Buffer::Owned(buf)) = (&mut self.src, &mut self.buf) else {
            return Ok((self.end - self.start).min(n));
        };
        if self.start > 0 {
            buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while self.end < n {
            if self.end == buf.len() {
                // Grow with the data actually read, not with the length a block claims: a
                // damaged length must not make a small file allocate hundreds of megabytes.
                let grown =
                    (buf.len() * 2).clamp(BUFFER_LEN, n.next_power_of_two().max(BUFFER_LEN));
                buf.resize(grown, 0);
            }
            match src.read(&mut buf[self.end..]) {
                Ok(0) => break,
                Ok(got) => self.end += got,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.read_failed(e)),
            }
        }
        Ok((self.end - self.start).min(n))
    }

    /// The error for a failed read of the underlying stream.
    fn read_failed(&self, e: std::io::Error) -> Error {
        let kind = if self.compressed {
            ErrorKind::Io(std::io::Error::new(e.kind(), format!("damaged gzip stream: {e}")))
        } else {
            ErrorKind::Io(e)
        };
        self.err_here(None, kind)
    }

    /// Reads the 8-byte header of the next block; `None` at a clean end of stream.
    fn next_block_header(&mut self) -> Result<Option<()>> {
        let got = self.buffer(BLOCK_HEADER_LEN)?;
        if got == 0 {
            return Ok(None);
        }
        if got < BLOCK_HEADER_LEN {
            return Err(self.err_here(
                None,
                ErrorKind::Truncated {
                    what: "block header",
                    needed: BLOCK_HEADER_LEN as u64,
                    available: got as u64,
                },
            ));
        }
        self.check_block_len()?;
        Ok(Some(()))
    }

    /// Checks the total length of the block whose header is buffered at `start`, before
    /// anything is allocated or read for it.
    #[inline]
    fn check_block_len(&self) -> Result<()> {
        let (block, len) = self.peek_header();
        let min = BLOCK_HEADER_LEN + BLOCK_TRAILER_LEN;
        if len < min || len % 4 != 0 && !matches!(block, BlockType::Unknown(_)) {
            return Err(self.err_here(
                Some(block),
                ErrorKind::Corrupt(format!(
                    "block total length {len} is {}",
                    if len < min {
                        "shorter than a block header and trailer"
                    } else {
                        "not a multiple of 4"
                    }
                )),
            ));
        }
        if len > MAX_BLOCK_LEN {
            return Err(self.err_here(
                Some(block),
                ErrorKind::Corrupt(format!(
                    "block total length {len} exceeds the {MAX_BLOCK_LEN}-byte limit"
                )),
            ));
        }
        Ok(())
    }

    /// Type and total length of the block whose header is buffered at `start`.
    #[inline(always)]
    fn peek_header(&self) -> (BlockType, usize) {
        let h = &self.buf[self.start..self.start + BLOCK_HEADER_LEN];
        let code = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        let len = u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as usize;
        (BlockType::from_code(code), len)
    }

    /// Buffers the whole block whose header is at `start`.
    fn fill(&mut self, len: usize, block: BlockType) -> Result<()> {
        let got = self.buffer(len)?;
        if got < len {
            return Err(self.err_here(
                Some(block),
                ErrorKind::Truncated { what: "block", needed: len as u64, available: got as u64 },
            ));
        }
        Ok(())
    }

    fn consume(&mut self, len: usize) {
        self.start += len;
        self.offset += len as u64;
    }

    fn skip_block(&mut self, block: BlockType, len: usize) -> Result<()> {
        // Unknown blocks may be large (pcapng packet blocks); skip them in slices.
        let mut left = len;
        while left > 0 {
            let chunk = left.min(BUFFER_LEN);
            let got = self.buffer(chunk)?;
            if got == 0 {
                return Err(self.err_here(
                    Some(block),
                    ErrorKind::Truncated { what: "block", needed: left as u64, available: 0 },
                ));
            }
            self.consume(got);
            left -= got;
        }
        self.stats.blocks += 1;
        self.stats.unknown_blocks += 1;
        Ok(())
    }

    // -- section and metadata ----------------------------------------------------------------

    /// Reads a section header and the metadata blocks after it, up to the first event block,
    /// which is left buffered as `pending`.
    fn read_section(&mut self, first: bool) -> Result<()> {
        if first {
            let got = self.buffer(BLOCK_HEADER_LEN)?;
            if got < BLOCK_HEADER_LEN {
                let why = if got == 0 {
                    "the file is empty".to_owned()
                } else {
                    format!("the file is {got} bytes long, too short for a section header")
                };
                return Err(self.err_here(None, ErrorKind::NotScap(why)));
            }
        }
        let (block, len) = self.peek_header();
        if block != BlockType::SectionHeader {
            let code = u32::from_le_bytes(
                self.buf[self.start..self.start + 4].try_into().unwrap_or_default(),
            );
            return Err(self.err_here(
                None,
                ErrorKind::NotScap(format!(
                    "expected a section header block (0x0a0d0d0a), found 0x{code:08x}"
                )),
            ));
        }
        // The first header of the stream was buffered above, not by `next_block_header`.
        self.check_block_len()?;
        self.fill(len, block)?;
        let body = block_body(&self.buf[self.start..self.start + len])
            .map_err(|kind| self.err_here(Some(block), kind))?;
        if body.len() < 16 {
            return Err(self.err_here(
                Some(block),
                ErrorKind::Truncated {
                    what: "section header",
                    needed: 16,
                    available: body.len() as u64,
                },
            ));
        }
        let magic = u32::from_le_bytes([body[0], body[1], body[2], body[3]]);
        let major = u16::from_le_bytes([body[4], body[5]]);
        let minor = u16::from_le_bytes([body[6], body[7]]);
        if magic != BYTE_ORDER_MAGIC {
            let kind = if magic.swap_bytes() == BYTE_ORDER_MAGIC {
                ErrorKind::Unsupported("the capture was written on a big-endian machine".into())
            } else {
                ErrorKind::NotScap(format!("bad byte-order magic 0x{magic:08x}"))
            };
            return Err(self.err_here(Some(block), kind));
        }
        if major != 1 {
            return Err(self.err_here(
                Some(block),
                ErrorKind::Unsupported(format!("file format version {major}.{minor}")),
            ));
        }
        // pcapng options after the 16-byte body (editcap adds comments) are skipped: the body
        // slice already spans them.
        self.tables = Tables { version: (major, minor), ..Tables::default() };
        self.stats.blocks += 1;
        self.stats.sections += 1;
        self.consume(len);

        loop {
            if self.next_block_header()?.is_none() {
                return Ok(());
            }
            let (block, len) = self.peek_header();
            match block {
                BlockType::Event(_) | BlockType::EventWithFlags(_) => {
                    self.pending = true;
                    return Ok(());
                }
                // A section without events: the next one starts here.
                BlockType::SectionHeader => {
                    self.pending = true;
                    return Ok(());
                }
                BlockType::Unknown(_) => self.skip_block(block, len)?,
                _ => {
                    self.fill(len, block)?;
                    let parsed = block_body(&self.buf[self.start..self.start + len])
                        .and_then(|body| parse_table_block(&mut self.tables, block, body));
                    if let Err(kind) = parsed {
                        return Err(self.err_here(Some(block), kind));
                    }
                    self.stats.blocks += 1;
                    self.consume(len);
                }
            }
        }
    }

    // -- events ------------------------------------------------------------------------------

    /// Whether the buffered event block holds an event type beyond the table.
    fn event_is_unknown(&self, block: BlockType, len: usize, with_flags: bool) -> Result<bool> {
        let pre = if with_flags { 6 } else { 2 };
        let type_at = self.start + BLOCK_HEADER_LEN + pre + 20;
        if len < BLOCK_HEADER_LEN + pre + HEADER_LEN_V1 + BLOCK_TRAILER_LEN {
            return Err(self.err_here(
                Some(block),
                ErrorKind::Corrupt(format!("event block of {len} bytes is too short for an event")),
            ));
        }
        let ty = u16::from_le_bytes([self.buf[type_at], self.buf[type_at + 1]]);
        Ok(event_info(ty).is_none())
    }

    /// Moves to the event of the buffered event block, checking it.
    fn event(
        &mut self,
        block: BlockType,
        version: EventBlockVersion,
        len: usize,
        with_flags: bool,
    ) -> Result<()> {
        let new_section = self.stats.sections > self.announced_section;
        self.announced_section = self.stats.sections;
        let offset = self.offset;
        let start = self.start;
        let compressed = self.compressed;
        let err = |kind| Error { compressed, ..Error::at(offset, Some(block), kind) };
        let b = &self.buf[start + BLOCK_HEADER_LEN..start + len];
        let cpu = u16::from_le_bytes([b[0], b[1]]);
        let (flags, pre) =
            if with_flags { (u32::from_le_bytes([b[2], b[3], b[4], b[5]]), 6) } else { (0, 2) };
        let ev = &b[pre..];
        // The event's own length bounds it; what follows it (padding, pcapng options, the
        // trailer) is not part of it. Event block trailers are not checked, as in libs.
        let evlen = u32::from_le_bytes([ev[16], ev[17], ev[18], ev[19]]) as usize;
        let header = if version == EventBlockVersion::V1 { HEADER_LEN_V1 } else { HEADER_LEN };
        if evlen < header || evlen > ev.len() - BLOCK_TRAILER_LEN {
            return Err(err(ErrorKind::Corrupt(format!(
                "event length {evlen} does not fit its {len}-byte block"
            ))));
        }
        let converted = version == EventBlockVersion::V1;
        let large = if converted {
            convert_v1(&ev[..evlen], &mut self.convert).map_err(err)?;
            RawEvent::new(&self.convert).map_err(|e| err(ErrorKind::Event(e)))?.is_large()
        } else {
            RawEvent::new(&ev[..evlen]).map_err(|e| err(ErrorKind::Event(e)))?.is_large()
        };
        self.current = Current {
            at: start + BLOCK_HEADER_LEN + pre,
            len: if converted { self.convert.len() } else { evlen },
            converted,
            large,
            cpu,
            flags,
            offset,
            new_tables: new_section,
            valid: true,
        };
        self.start += len;
        self.offset += len as u64;
        Ok(())
    }
}

/// Where the event the reader moved to is, and its record's other fields.
#[derive(Clone, Copy, Debug, Default)]
struct Current {
    /// Start of the event in the buffer (unless converted).
    at: usize,
    len: usize,
    /// A version-1 event, converted into `convert`.
    converted: bool,
    large: bool,
    cpu: u16,
    flags: u32,
    offset: u64,
    /// The first event of a section after the first.
    new_tables: bool,
    valid: bool,
}

/// Checks the trailer of a whole block and returns its body (header and trailer cut).
fn block_body(b: &[u8]) -> Result<&[u8], ErrorKind> {
    let len = b.len();
    let trailer = u32::from_le_bytes([b[len - 4], b[len - 3], b[len - 2], b[len - 1]]);
    if trailer as usize != len {
        return Err(ErrorKind::Corrupt(format!(
            "block trailer says {trailer} bytes but the header says {len}"
        )));
    }
    Ok(&b[BLOCK_HEADER_LEN..len - BLOCK_TRAILER_LEN])
}

/// How a [`Reader`] gets the bytes of a plain capture (a compressed one is always inflated on
/// a thread of its own, ahead of parsing: inflating costs more than parsing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Fetch {
    /// Read on a thread of its own, ahead of parsing: the reading thread does the kernel's copy,
    /// the reader's thread only parses. Best when the reader's thread has more to do.
    #[default]
    Ahead,
    /// Read on the reader's thread as it needs them: the bytes arrive in its cache, so parsing
    /// them is cheaper. Best when the reader itself runs on a thread of its own
    /// ([`crate::ThreadedReader`]).
    InPlace,
    /// Mapped into memory, when the capture is a plain regular file that can be mapped (else
    /// as [`Fetch::InPlace`]): the kernel copies nothing into a buffer, and events are handed
    /// out as slices of the mapping. Best for a reader on a thread of its own
    /// ([`crate::ThreadedReader`]), whose thread replays the 5 M-event bench capture in about
    /// 80% of the time it takes `InPlace` (perf samples). The file's size is read once, when it is opened: what is appended
    /// later is not read, and a file cut short is read to its size then, with the errors of a
    /// capture that ends there.
    ///
    /// As for any program that maps files, a file truncated *by another process while it is
    /// read* makes the reading of the part cut off kill the process (`SIGBUS`): captures are
    /// written once and read afterwards, but a capture still being rewritten in place should be
    /// read with another mode.
    Mapped,
}

/// Where the reader's bytes come from.
enum Source {
    /// Read on the reader's thread.
    Direct(Box<dyn Read + Send>),
    /// Chunks read by a thread of their own.
    Ahead(ReadAhead),
    /// All in the buffer from the start ([`Buffer::Whole`]).
    Whole,
}

/// The bytes the reader parses.
enum Buffer {
    /// Bytes read into a buffer of its own.
    Owned(Vec<u8>),
    /// The whole capture, in memory from the start.
    Whole(Whole),
}

impl Deref for Buffer {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            Buffer::Owned(buf) => buf,
            Buffer::Whole(bytes) => bytes,
        }
    }
}

/// A whole plain capture in memory: a file mapped, or bytes given.
enum Whole {
    Mapped(memmap2::Mmap),
    Memory(Box<[u8]>),
}

impl Deref for Whole {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            Whole::Mapped(map) => map,
            Whole::Memory(bytes) => bytes,
        }
    }
}

/// How far ahead of the block being parsed a mapped capture is fetched into the cache. Reading
/// the 5 M-event bench capture mapped on one thread (a loaded 2-core VM, so roughly): 150-195 ms
/// without prefetching, 90-105 ms 1 KiB ahead, 71-90 ms 4 KiB ahead, no better 8 or 16 KiB
/// ahead; 100-180 ms read with `read(2)` into a buffer.
const PREFETCH_AHEAD: usize = 4096;

/// Asks the CPU to bring the cache line at `at` (if it is within `bytes`) in ahead of use.
#[inline(always)]
fn prefetch(bytes: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if at < bytes.len() {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: `sse` is part of the x86_64 baseline, so the instruction exists; a prefetch
        // reads nothing the program sees and never faults, and the address is within `bytes`.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(bytes[at..].as_ptr().cast()) };
    }
}

/// Maps a plain capture file into memory; `None` for a compressed or empty file, a file that
/// is not a regular file (a pipe, a terminal), or one the system does not map, which are then
/// read.
fn map_plain(file: &File) -> Option<Whole> {
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() < 2 {
        return None;
    }
    // SAFETY: memmap2 asks that the file not change while it is mapped, which no program can
    // enforce on a file others may write (every program that maps files takes this risk).
    // What lanner ensures is that a change cannot make it read out of bounds: the mapping is
    // read-only, its length is fixed here, every access is bounds-checked against it, and the
    // bytes are parsed as untrusted input (lengths are checked before use, and the accessors
    // of `RawEvent::from_checked` events are bounds-checked). A file truncated under the
    // mapping raises SIGBUS on the part cut off, as documented at `Fetch::Mapped`.
    let map = unsafe { memmap2::MmapOptions::new().map(file) }.ok()?;
    if map.starts_with(&[0x1f, 0x8b]) {
        return None;
    }
    #[cfg(unix)]
    let _ = map.advise(memmap2::Advice::Sequential);
    Some(Whole::Mapped(map))
}

/// Bytes per chunk handed from the reading thread to the reader.
const READ_AHEAD_CHUNK: usize = 1 << 20;
/// Room left free at the front of each chunk, where the reader puts what was left of the
/// previous chunk (the start of a block) so the block is contiguous without copying the chunk.
const READ_AHEAD_HEAD: usize = 64 << 10;
/// Chunks in flight between the two: bounds the memory the pipeline holds.
const READ_AHEAD_DEPTH: usize = 2;

/// Reads the byte stream on a thread of its own and hands the bytes over in chunks, so getting
/// the bytes (the kernel's copy of a plain file; inflating, the larger part of reading a
/// compressed capture) runs beside parsing instead of before it. The reader takes each chunk
/// as its buffer (no copy) and gives spent ones back to be refilled, so at most
/// `READ_AHEAD_DEPTH + 3` chunks exist at any time. Dropping it stops the thread and waits
/// for it (at most the reading of one chunk), so no thread outlives its reader.
struct ReadAhead {
    chunks: Option<std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>>,
    spare: std::sync::mpsc::SyncSender<Vec<u8>>,
    thread: Option<std::thread::JoinHandle<()>>,
    done: bool,
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        // With the receiving end gone the thread's next send fails and it returns.
        drop(self.chunks.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl ReadAhead {
    fn spawn(mut src: impl Read + Send + 'static) -> ReadAhead {
        let (tx, chunks) = std::sync::mpsc::sync_channel(READ_AHEAD_DEPTH);
        let (spare, spares) = std::sync::mpsc::sync_channel::<Vec<u8>>(READ_AHEAD_DEPTH + 2);
        let started = std::thread::Builder::new().name("lanner-read".into()).spawn(move || {
            loop {
                let mut buf = spares.try_recv().unwrap_or_default();
                buf.resize(READ_AHEAD_HEAD + READ_AHEAD_CHUNK, 0);
                let mut n = READ_AHEAD_HEAD;
                let mut failure = None;
                while n < buf.len() {
                    match src.read(&mut buf[n..]) {
                        Ok(0) => break,
                        Ok(got) => n += got,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            failure = Some(e);
                            break;
                        }
                    }
                }
                buf.truncate(n);
                let got = n - READ_AHEAD_HEAD;
                // What was read before a failure still counts; an empty chunk is the end.
                // A send fails only when the reader went away: then stop.
                if got > 0 && tx.send(Ok(buf)).is_err() {
                    return;
                }
                if let Some(e) = failure {
                    let _ = tx.send(Err(e));
                    return;
                }
                if got == 0 {
                    return;
                }
            }
        });
        let (chunks, thread) = match started {
            Ok(thread) => (chunks, Some(thread)),
            Err(e) => {
                // No thread: the stream fails on its first read, with the reason.
                let (tx, chunks) = std::sync::mpsc::sync_channel(1);
                let _ = tx.send(Err(e));
                (chunks, None)
            }
        };
        ReadAhead { chunks: Some(chunks), spare, thread, done: false }
    }

    /// The next chunk (its bytes after the head room), `None` at the end of the stream.
    fn next_chunk(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        if self.done {
            return Ok(None);
        }
        let Some(chunks) = &self.chunks else { return Ok(None) };
        match chunks.recv() {
            Ok(Ok(chunk)) => Ok(Some(chunk)),
            Ok(Err(e)) => {
                self.done = true;
                Err(e)
            }
            // The reading thread finished: end of stream.
            Err(_) => {
                self.done = true;
                Ok(None)
            }
        }
    }

    /// Gives a spent buffer back to the reading thread.
    fn recycle(&mut self, buf: Vec<u8>) {
        if buf.capacity() >= READ_AHEAD_HEAD + READ_AHEAD_CHUNK {
            let _ = self.spare.try_send(buf);
        }
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

fn parse_table_block(tables: &mut Tables, block: BlockType, body: &[u8]) -> Result<(), ErrorKind> {
    match block {
        BlockType::MachineInfo => tables.machine = Some(tables::read_machine_info(body)?),
        BlockType::InterfaceList(v) => {
            tables.interfaces.extend(tables::read_interface_list(body, v)?);
        }
        BlockType::UserList(v) => {
            let (users, groups) = tables::read_user_list(body, v)?;
            tables.users.extend(users);
            tables.groups.extend(groups);
        }
        BlockType::ProcessList(v) => tables.threads.extend(tables::read_process_list(body, v)?),
        BlockType::FdList(v) => tables.fd_lists.push(tables::read_fd_list(body, v)?),
        _ => {}
    }
    Ok(())
}

/// Converts a version-1 event (22-byte header, no `nparams`) into the version-2 layout in
/// `out`, inferring `nparams` as libscap does: the largest count, starting from the table's,
/// whose length array and lengths add up exactly to the event length.
fn convert_v1(ev: &[u8], out: &mut Vec<u8>) -> Result<(), ErrorKind> {
    let ty = u16::from_le_bytes([ev[20], ev[21]]);
    let mut len = ev.len();
    // Notification and infrastructure events of old captures were stored 3 bytes too long.
    if matches!(ty, 280 | 286) && len >= HEADER_LEN_V1 + 3 {
        len -= 3;
    }
    let lens = &ev[HEADER_LEN_V1..len];
    let max = event_info(ty).map_or(0, |i: &EventInfo| i.params.len());
    let mut nparams = None;
    for n in (0..=max).rev() {
        if 2 * n > lens.len() {
            continue;
        }
        let sum: usize =
            (0..n).map(|i| usize::from(u16::from_le_bytes([lens[2 * i], lens[2 * i + 1]]))).sum();
        let end = 2 * n + sum;
        if end == lens.len() {
            nparams = Some(n);
            break;
        }
        if end < lens.len() {
            return Err(ErrorKind::Corrupt(format!(
                "cannot infer the parameter count of a version-1 event of type {ty}: \
                 {n} parameters leave {} bytes unused",
                lens.len() - end
            )));
        }
    }
    let Some(nparams) = nparams else {
        return Err(ErrorKind::Corrupt(format!(
            "cannot infer the parameter count of a version-1 event of type {ty}"
        )));
    };
    out.clear();
    out.extend_from_slice(&ev[..16]);
    out.extend_from_slice(&((len + 4) as u32).to_le_bytes());
    out.extend_from_slice(&ev[20..22]);
    out.extend_from_slice(&(nparams as u32).to_le_bytes());
    out.extend_from_slice(lens);
    Ok(())
}
