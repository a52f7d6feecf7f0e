//! Little helpers to decode and encode the packed little-endian structures of block bodies.

use crate::error::ErrorKind;

/// A bounds-checked reader over a block body. Every read names what it reads, so a short body
/// becomes an error that says which field was cut.
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ErrorKind> {
        if self.remaining() < n {
            return Err(ErrorKind::Truncated {
                what,
                needed: n as u64,
                available: self.remaining() as u64,
            });
        }
        let b = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(b)
    }

    pub(crate) fn skip(&mut self, n: usize, what: &'static str) -> Result<(), ErrorKind> {
        self.bytes(n, what).map(|_| ())
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<[u8; N], ErrorKind> {
        let mut a = [0; N];
        a.copy_from_slice(self.bytes(N, what)?);
        Ok(a)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, ErrorKind> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, ErrorKind> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, ErrorKind> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, ErrorKind> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn i64(&mut self, what: &'static str) -> Result<i64, ErrorKind> {
        Ok(self.u64(what)? as i64)
    }

    /// A `u16` length followed by that many bytes (no NUL is stored), at most `limit` long.
    pub(crate) fn s16(&mut self, limit: usize, what: &'static str) -> Result<Vec<u8>, ErrorKind> {
        let len = usize::from(self.u16(what)?);
        if len > limit {
            return Err(ErrorKind::Corrupt(format!(
                "{what} is {len} bytes long, more than the {limit} allowed"
            )));
        }
        Ok(self.bytes(len, what)?.to_vec())
    }
}

/// An append-only encoder for block bodies.
#[derive(Default)]
pub(crate) struct Encoder {
    pub(crate) buf: Vec<u8>,
}

impl Encoder {
    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub(crate) fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn i64(&mut self, v: i64) {
        self.u64(v as u64);
    }
    pub(crate) fn bytes(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }
    /// A `u16`-length-prefixed string, cut to `limit` bytes so that every reader accepts it.
    pub(crate) fn s16(&mut self, v: &[u8], limit: usize) {
        let v = &v[..v.len().min(limit).min(usize::from(u16::MAX))];
        self.u16(v.len() as u16);
        self.bytes(v);
    }
    /// Reserves a `u32` length field and returns its position, for [`Encoder::patch_len`].
    pub(crate) fn len_placeholder(&mut self) -> usize {
        let at = self.buf.len();
        self.u32(0);
        at
    }
    /// Fills a placeholder with the length of what was written since, counting the length
    /// field itself or not (interface entries do not; every other entry does).
    pub(crate) fn patch_len(&mut self, at: usize, count_self: bool) {
        let len = (self.buf.len() - at - if count_self { 0 } else { 4 }) as u32;
        self.buf[at..at + 4].copy_from_slice(&len.to_le_bytes());
    }
}
