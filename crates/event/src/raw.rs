//! [`RawEvent`]: a checked, borrowed view of one scap event.

use crate::table::{Direction, EventInfo, event_info};

/// Size of the scap event header: `ts u64, tid u64, len u32, type u16, nparams u32`.
pub const HEADER_LEN: usize = 26;

/// Size of the header of version-1 events, which have no `nparams` field.
pub const HEADER_LEN_V1: usize = 22;

/// Why bytes are not a well-formed scap event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer bytes than an event header.
    #[error("event is {got} bytes, shorter than the {HEADER_LEN}-byte event header")]
    ShortHeader {
        /// Bytes available.
        got: usize,
    },
    /// The header's `len` does not match the bytes the event was framed with.
    #[error("event header says {header} bytes but the event occupies {actual}")]
    LengthMismatch {
        /// `len` from the header.
        header: u32,
        /// Bytes the container holds for the event.
        actual: usize,
    },
    /// The parameter length array does not fit in the event.
    #[error("{nparams} parameter lengths of {width} bytes do not fit in a {len}-byte event")]
    TooManyParams {
        /// `nparams` from the header.
        nparams: u32,
        /// Bytes per length (2, or 4 for large-payload events).
        width: usize,
        /// Event length.
        len: usize,
    },
    /// The parameter lengths add up to more than the event holds.
    #[error("parameter lengths add up to {sum} bytes but only {available} follow the length array")]
    ParamsOverflow {
        /// Sum of the parameter lengths.
        sum: usize,
        /// Bytes after the length array.
        available: usize,
    },
}

/// A borrowed scap event: header, parameter lengths and parameter data, checked once on
/// construction so that every accessor afterwards is infallible and allocation-free.
///
/// The layout (integers are little-endian: libs writes them in host order and lanner, like
/// libs' own readers, supports little-endian hosts only):
///
/// ```text
/// ts u64 | tid u64 | len u32 | type u16 | nparams u32 | len[0..nparams] (u16, or u32 when the
/// event type has EF_LARGE_PAYLOAD) | param data, concatenated
/// ```
///
/// `len` covers the whole event, header included. Parameters are decoded lazily: [`param`]
/// walks the length array, so looking at one parameter costs nothing for the others.
///
/// [`param`]: RawEvent::param
#[derive(Clone, Copy)]
pub struct RawEvent<'a> {
    buf: &'a [u8],
    large: bool,
}

impl<'a> RawEvent<'a> {
    /// Checks that `buf` holds exactly one well-formed event and returns a view of it.
    ///
    /// Events whose parameter data is shorter than the sum of the lengths are rejected; trailing
    /// bytes after the parameters (padding some writers leave) are allowed and ignored.
    #[inline(always)]
    pub fn new(buf: &'a [u8]) -> Result<Self, DecodeError> {
        if buf.len() < HEADER_LEN {
            return Err(DecodeError::ShortHeader { got: buf.len() });
        }
        let len = read_u32(buf, 16);
        if len as usize != buf.len() {
            return Err(DecodeError::LengthMismatch { header: len, actual: buf.len() });
        }
        let event_type = read_u16(buf, 20);
        let large = event_info(event_type).is_some_and(EventInfo::large_payload);
        let nparams = read_u32(buf, 22);
        let width = if large { 4 } else { 2 };
        let lengths_end = (nparams as usize)
            .checked_mul(width)
            .and_then(|n| n.checked_add(HEADER_LEN))
            .filter(|&end| end <= buf.len())
            .ok_or(DecodeError::TooManyParams { nparams, width, len: buf.len() })?;
        // Readers check every event of a capture: the lengths are summed as a slice (no bounds
        // check per length), in 64 bits so that no sum of `u32` lengths wraps.
        let lengths = &buf[HEADER_LEN..lengths_end];
        let sum: u64 = if large {
            lengths
                .chunks_exact(4)
                .map(|l| u64::from(u32::from_le_bytes([l[0], l[1], l[2], l[3]])))
                .sum()
        } else {
            lengths.chunks_exact(2).map(|l| u64::from(u16::from_le_bytes([l[0], l[1]]))).sum()
        };
        let available = buf.len() - lengths_end;
        if sum > available as u64 {
            let sum = usize::try_from(sum).unwrap_or(usize::MAX);
            return Err(DecodeError::ParamsOverflow { sum, available });
        }
        Ok(RawEvent { buf, large })
    }

    /// A view of bytes that [`RawEvent::new`] accepted before (`large` is what
    /// [`RawEvent::is_large`] said then), without checking them again: for readers that check
    /// an event once and hand it out later. On bytes that were not checked, accessors panic on
    /// out-of-range lengths rather than read past the event.
    #[inline]
    pub fn from_checked(buf: &'a [u8], large: bool) -> Self {
        RawEvent { buf, large }
    }

    /// The whole event as bytes, exactly as it is stored and transported.
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// Timestamp, nanoseconds since the epoch.
    #[inline]
    pub fn ts(&self) -> u64 {
        read_u64(self.buf, 0)
    }

    /// The thread that generated the event (`-1` for none).
    #[inline]
    pub fn tid(&self) -> i64 {
        read_u64(self.buf, 8) as i64
    }

    /// Length in bytes, header included.
    #[inline]
    pub fn len(&self) -> u32 {
        read_u32(self.buf, 16)
    }

    /// Always false: an event has at least its header. Present for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The event type code (`PPME_*`).
    #[inline]
    pub fn event_type(&self) -> u16 {
        read_u16(self.buf, 20)
    }

    /// Number of parameters actually present (may be fewer than the table's, for events
    /// recorded by older drivers, or more, for events recorded by newer ones).
    #[inline]
    pub fn nparams(&self) -> usize {
        read_u32(self.buf, 22) as usize
    }

    /// The table entry of this event type; `None` for codes beyond the table.
    #[inline]
    pub fn info(&self) -> Option<&'static EventInfo> {
        event_info(self.event_type())
    }

    /// The event name (`evt.type`), `NA` when the code is unknown.
    pub fn name(&self) -> &'static str {
        self.info().map_or("NA", |i| i.name)
    }

    /// Entry or exit half.
    #[inline]
    pub fn direction(&self) -> Direction {
        Direction::of(self.event_type())
    }

    /// Whether the parameter lengths are `u32` (`EF_LARGE_PAYLOAD`).
    pub fn is_large(&self) -> bool {
        self.large
    }

    #[inline]
    fn width(&self) -> usize {
        if self.large { 4 } else { 2 }
    }

    #[inline]
    fn param_len(&self, i: usize) -> usize {
        let at = HEADER_LEN + i * self.width();
        if self.large {
            read_u32(self.buf, at) as usize
        } else {
            usize::from(read_u16(self.buf, at))
        }
    }

    /// The raw bytes of parameter `i`, or `None` if the event has fewer parameters.
    #[inline]
    pub fn param(&self, i: usize) -> Option<&'a [u8]> {
        let n = self.nparams();
        if i >= n {
            return None;
        }
        let width = self.width();
        let lengths = &self.buf[HEADER_LEN..HEADER_LEN + (i + 1) * width];
        let (before, len) = if self.large {
            let mut words = lengths
                .chunks_exact(4)
                .map(|l| u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize);
            let len = words.next_back().unwrap_or(0);
            (words.sum::<usize>(), len)
        } else {
            let mut words =
                lengths.chunks_exact(2).map(|l| usize::from(u16::from_le_bytes([l[0], l[1]])));
            let len = words.next_back().unwrap_or(0);
            (words.sum::<usize>(), len)
        };
        let start = HEADER_LEN + n * width + before;
        Some(&self.buf[start..start + len])
    }

    /// The index of the parameter called `name` in the event table, if this event has it.
    ///
    /// Parameter names are stable across the versions of an event (libs only appends
    /// parameters or makes a new event type), so looking parameters up by name works for events
    /// of old captures too.
    pub fn param_index(&self, name: &str) -> Option<usize> {
        let info = self.info()?;
        let n = self.nparams().min(info.params.len());
        let name = name.as_bytes();
        // Parameter names are short: comparing them inline beats a `memcmp` call per name,
        // and the state's parsers look names up on most events.
        info.params[..n].iter().position(|p| {
            let p = p.name.as_bytes();
            p.len() == name.len() && p.iter().zip(name).all(|(a, b)| a == b)
        })
    }

    /// The raw bytes of the parameter called `name`, if this event has it.
    pub fn param_by_name(&self, name: &str) -> Option<&'a [u8]> {
        self.param(self.param_index(name)?)
    }

    /// All parameters in order, as raw bytes.
    pub fn params(&self) -> Params<'a> {
        let n = self.nparams();
        Params { event: *self, index: 0, offset: HEADER_LEN + n * self.width() }
    }

    /// The event decoded into the typed events of `falco_event_schema`: one struct per event
    /// type with one typed field per parameter.
    pub fn typed(&self) -> Result<TypedEvent<'a>, falco_event::events::PayloadFromBytesError> {
        let raw = falco_event::events::RawEvent::from(self.buf).map_err(|_| {
            falco_event::events::PayloadFromBytesError::TruncatedEvent {
                wanted: HEADER_LEN,
                got: self.buf.len(),
            }
        })?;
        raw.load::<falco_event_schema::events::AnyEvent<'a>>()
    }
}

impl std::fmt::Debug for RawEvent<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawEvent")
            .field("ts", &self.ts())
            .field("tid", &self.tid())
            .field("type", &self.event_type())
            .field("name", &self.name())
            .field("nparams", &self.nparams())
            .field("len", &self.len())
            .finish()
    }
}

/// An event decoded into `falco_event_schema`'s typed representation.
pub type TypedEvent<'a> = falco_event::events::Event<falco_event_schema::events::AnyEvent<'a>>;

/// Iterator over the raw parameters of an event, from [`RawEvent::params`].
#[derive(Clone)]
pub struct Params<'a> {
    event: RawEvent<'a>,
    index: usize,
    offset: usize,
}

impl<'a> Iterator for Params<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.index >= self.event.nparams() {
            return None;
        }
        let len = self.event.param_len(self.index);
        let p = &self.event.buf[self.offset..self.offset + len];
        self.index += 1;
        self.offset += len;
        Some(p)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.event.nparams() - self.index;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Params<'_> {}

/// Reads a little-endian `u16` at `at`; the caller has checked the bounds.
#[inline]
pub(crate) fn read_u16(buf: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([buf[at], buf[at + 1]])
}

/// Reads a little-endian `u32` at `at`; the caller has checked the bounds.
#[inline]
pub(crate) fn read_u32(buf: &[u8], at: usize) -> u32 {
    let mut b = [0; 4];
    b.copy_from_slice(&buf[at..at + 4]);
    u32::from_le_bytes(b)
}

/// Reads a little-endian `u64` at `at`; the caller has checked the bounds.
#[inline]
pub(crate) fn read_u64(buf: &[u8], at: usize) -> u64 {
    let mut b = [0; 8];
    b.copy_from_slice(&buf[at..at + 8]);
    u64::from_le_bytes(b)
}

/// An owned copy of one event, checked when it was copied: the state keeps each thread's last
/// enter event in one, and reading it back ([`EventBuf::get`]) checks nothing again.
///
/// The buffer is reused: copying event after event into it allocates only when an event is
/// larger than every one before.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventBuf {
    buf: Vec<u8>,
    large: bool,
}

impl EventBuf {
    /// An empty buffer.
    pub const fn new() -> Self {
        EventBuf { buf: Vec::new(), large: false }
    }

    /// Replaces the content with a copy of `ev`.
    #[inline]
    pub fn set(&mut self, ev: &RawEvent<'_>) {
        self.buf.clear();
        self.buf.extend_from_slice(ev.buf);
        self.large = ev.large;
    }

    /// Empties the buffer, keeping its memory.
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// Whether no event is held.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The event held, if any.
    #[inline]
    pub fn get(&self) -> Option<RawEvent<'_>> {
        (!self.buf.is_empty()).then_some(RawEvent { buf: &self.buf, large: self.large })
    }
}

/// Builds events: the inverse of [`RawEvent`], used by writers, converters and tests.
///
/// The builder owns a buffer that it reuses, so building one event after another does not
/// allocate once the buffer has grown to the largest event.
#[derive(Debug, Default)]
pub struct EventBuilder {
    buf: Vec<u8>,
    params: Vec<(usize, usize)>,
    data: Vec<u8>,
}

impl EventBuilder {
    /// A builder with empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a new event, discarding anything added before.
    pub fn start(&mut self) -> &mut Self {
        self.params.clear();
        self.data.clear();
        self
    }

    /// Appends one parameter.
    pub fn param(&mut self, bytes: &[u8]) -> &mut Self {
        self.params.push((self.data.len(), bytes.len()));
        self.data.extend_from_slice(bytes);
        self
    }

    /// Writes the header and returns the finished event, borrowed from the builder.
    ///
    /// Fails when a parameter is too long for the length width of the event type.
    pub fn finish(
        &mut self,
        ts: u64,
        tid: i64,
        event_type: u16,
    ) -> Result<RawEvent<'_>, DecodeError> {
        let large = event_info(event_type).is_some_and(EventInfo::large_payload);
        let width = if large { 4 } else { 2 };
        let len = HEADER_LEN + self.params.len() * width + self.data.len();
        let too_long =
            |l: usize| if large { u32::try_from(l).is_err() } else { u16::try_from(l).is_err() };
        if u32::try_from(len).is_err() || self.params.iter().any(|&(_, l)| too_long(l)) {
            return Err(DecodeError::LengthMismatch { header: u32::MAX, actual: len });
        }
        self.buf.clear();
        self.buf.extend_from_slice(&ts.to_le_bytes());
        self.buf.extend_from_slice(&(tid as u64).to_le_bytes());
        self.buf.extend_from_slice(&(len as u32).to_le_bytes());
        self.buf.extend_from_slice(&event_type.to_le_bytes());
        self.buf.extend_from_slice(&(self.params.len() as u32).to_le_bytes());
        for &(_, l) in &self.params {
            if large {
                self.buf.extend_from_slice(&(l as u32).to_le_bytes());
            } else {
                self.buf.extend_from_slice(&(l as u16).to_le_bytes());
            }
        }
        self.buf.extend_from_slice(&self.data);
        RawEvent::new(&self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_reads_back() {
        let mut b = EventBuilder::new();
        b.start().param(&3i64.to_le_bytes()).param(b"/etc/passwd\0").param(&1u32.to_le_bytes());
        let ev = b.finish(1_000, 42, 3).unwrap();
        assert_eq!(ev.ts(), 1_000);
        assert_eq!(ev.tid(), 42);
        assert_eq!(ev.event_type(), 3);
        assert_eq!(ev.name(), "open");
        assert_eq!(ev.direction(), Direction::Exit);
        assert_eq!(ev.nparams(), 3);
        assert_eq!(ev.param(1), Some(&b"/etc/passwd\0"[..]));
        assert_eq!(ev.param(3), None);
        assert_eq!(ev.params().count(), 3);
        assert_eq!(ev.len() as usize, HEADER_LEN + 6 + 8 + 12 + 4);
    }

    #[test]
    fn rejects_malformed_events() {
        assert_eq!(RawEvent::new(&[0; 10]).unwrap_err(), DecodeError::ShortHeader { got: 10 });
        let mut b = EventBuilder::new();
        b.start().param(b"abc");
        let good = b.finish(1, 1, 3).unwrap().as_bytes().to_vec();
        // the length field disagrees with the framing
        assert!(matches!(
            RawEvent::new(&good[..good.len() - 1]),
            Err(DecodeError::LengthMismatch { .. })
        ));
        // nparams larger than the event can hold
        let mut bad = good.clone();
        bad[22..26].copy_from_slice(&1000u32.to_le_bytes());
        assert!(matches!(RawEvent::new(&bad), Err(DecodeError::TooManyParams { .. })));
        // a parameter length pointing past the end
        let mut bad = good.clone();
        bad[26..28].copy_from_slice(&100u16.to_le_bytes());
        assert!(matches!(RawEvent::new(&bad), Err(DecodeError::ParamsOverflow { .. })));
    }

    #[test]
    fn typed_view_agrees_with_the_table() {
        let mut b = EventBuilder::new();
        b.start()
            .param(&3i64.to_le_bytes())
            .param(b"/etc/passwd\0")
            .param(&1u32.to_le_bytes())
            .param(&0u32.to_le_bytes())
            .param(&0u32.to_le_bytes())
            .param(&0u64.to_le_bytes());
        let ev = b.finish(5, 7, 3).unwrap();
        let typed = ev.typed().unwrap();
        assert_eq!(typed.metadata.ts, 5);
        let text = format!("{:?}", typed.params);
        assert!(text.starts_with("< open fd=3"), "{text}");
    }
}
