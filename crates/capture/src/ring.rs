//! Reading BPF ring buffers in place, and merging the CPUs' buffers in timestamp order.
//!
//! libbpf's own consumer calls back once per record and must finish with a record before it
//! looks at the next, so merging several CPUs by timestamp would mean copying. This reader maps
//! each buffer (as libbpf does: the consumer page read-write, the producer page and the data
//! area, mapped twice in a row by the kernel so that a record never wraps, read-only) and hands
//! out borrowed records; a record is released, and its room given back to the kernel, only when
//! the caller asks for the next one.
//!
//! Record layout (kernel/bpf/ringbuf.c): an 8-byte header, `u32 len` with the BUSY (bit 31) and
//! DISCARD (bit 30) flags, then `u32 pg_off`; the data follows, and the next record starts at
//! the next 8-byte boundary. The probe's records hold one scap event, or an enter event and its
//! exit event back to back (one reservation for the pair); this reader hands them out one event
//! at a time.
//!
//! Room is given back to the kernel lazily: the consumer position lives on a page the producer
//! reads on every reservation, so writing it after every event would move that cache line
//! between CPUs once per event. It is published when a quarter of the buffer (at most
//! [`RELEASE_BATCH`]) has been consumed, and whenever the reader finds the buffer empty.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

const BUSY: u32 = 1 << 31;
const DISCARD: u32 = 1 << 30;
const HEADER: u64 = 8;
/// The most consumed bytes kept from the kernel before the consumer position is published.
pub(crate) const RELEASE_BATCH: u64 = 256 * 1024;
/// Offset and width of the `len` field of a scap event header (ts u64, tid u64, len u32).
const EVENT_LEN_AT: usize = 16;

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).unwrap_or(4096)
}

/// One mapped ring buffer.
pub(crate) struct Ring {
    consumer: NonNull<u8>,
    producer: NonNull<u8>,
    data: NonNull<u8>,
    mask: u64,
    page: usize,
    size: usize,
    /// Where the current record starts (ours; published to the kernel on release).
    pos: u64,
    /// Where the current event starts inside the current record.
    sub: usize,
    /// The consumer position last published to the kernel.
    published: u64,
    /// Consumed bytes after which the position is published.
    batch: u64,
    /// The producer position last read.
    end: u64,
}

// SAFETY: the mappings are owned by this value alone; the kernel is the only other party and
// synchronises through the atomic positions.
unsafe impl Send for Ring {}

impl Ring {
    /// Maps the ring buffer behind `fd`, of `size` data bytes (a power of two, as the kernel
    /// requires).
    pub(crate) fn map(fd: BorrowedFd<'_>, size: usize) -> io::Result<Ring> {
        let page = page_size();
        // SAFETY: mapping a ring buffer fd as the kernel documents: one writable page for the
        // consumer position at offset 0. The result is checked before use.
        let consumer = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if consumer == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the producer page and the data area, mapped twice by the kernel, read-only,
        // at offset one page.
        let producer = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                page + 2 * size,
                libc::PROT_READ,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                page as libc::off_t,
            )
        };
        if producer == libc::MAP_FAILED {
            let err = io::Error::last_os_error();
            // SAFETY: unmapping the mapping made just above.
            unsafe { libc::munmap(consumer, page) };
            return Err(err);
        }
        let consumer = NonNull::new(consumer.cast::<u8>()).ok_or(io::ErrorKind::Other)?;
        let producer = NonNull::new(producer.cast::<u8>()).ok_or(io::ErrorKind::Other)?;
        // SAFETY: the data area starts one page into the second mapping.
        let data = unsafe { producer.add(page) };
        let batch = (size as u64 / 4).min(RELEASE_BATCH);
        let mut ring = Ring {
            consumer,
            producer,
            data,
            mask: size as u64 - 1,
            page,
            size,
            pos: 0,
            sub: 0,
            published: 0,
            batch,
            end: 0,
        };
        ring.pos = ring.consumer_pos().load(Ordering::Acquire);
        ring.published = ring.pos;
        Ok(ring)
    }

    fn consumer_pos(&self) -> &AtomicU64 {
        // SAFETY: the first 8 bytes of the consumer page are the kernel's `unsigned long
        // consumer_pos`, page-aligned, valid as long as the mapping lives (as long as self).
        unsafe { &*self.consumer.as_ptr().cast::<AtomicU64>() }
    }

    fn producer_pos(&self) -> &AtomicU64 {
        // SAFETY: as above, for the producer page.
        unsafe { &*self.producer.as_ptr().cast::<AtomicU64>() }
    }

    /// The next event of a complete record, without consuming it; `None` when the buffer is
    /// empty or the next record is still being written. Discarded records are skipped.
    pub(crate) fn peek(&mut self) -> Option<&[u8]> {
        let (record, event) = self.current()?;
        record.get(event)
    }

    /// The current record, and where its current event lies in it. An event says how long it
    /// is; a length that does not fit covers the rest of the record, which the decoder then
    /// rejects (counted as undecodable, never skipped silently).
    fn current(&mut self) -> Option<(&[u8], std::ops::Range<usize>)> {
        let sub = self.sub;
        let record = self.peek_record()?;
        let rest = record.len().saturating_sub(sub);
        let len = record
            .get(sub + EVENT_LEN_AT..sub + EVENT_LEN_AT + 4)
            .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
        let len = if len == 0 || len > rest { rest } else { len };
        Some((record, sub..sub + len))
    }

    /// The current record, whole.
    fn peek_record(&mut self) -> Option<&[u8]> {
        loop {
            if self.pos >= self.end {
                self.end = self.producer_pos().load(Ordering::Acquire);
                if self.pos >= self.end {
                    self.publish();
                    return None;
                }
            }
            let off = (self.pos & self.mask) as usize;
            // SAFETY: `off` is inside the data area and the header is 8-byte aligned; the kernel
            // writes the length word atomically (smp_store_release), so read it as an atomic.
            let len_word = unsafe { &*self.data.as_ptr().add(off).cast::<AtomicU32>() };
            let len = len_word.load(Ordering::Acquire);
            if len & BUSY != 0 {
                self.publish();
                return None;
            }
            let data_len = u64::from(len & !(BUSY | DISCARD));
            if len & DISCARD != 0 {
                self.pos += (data_len + HEADER + 7) & !7;
                self.sub = 0;
                continue;
            }
            // SAFETY: the record (header + data_len bytes, at most the buffer size) lies in
            // the double mapping, so it is contiguous; the kernel does not touch a committed
            // record until the consumer position moves past it.
            let bytes = unsafe {
                std::slice::from_raw_parts(
                    self.data.as_ptr().add(off + HEADER as usize),
                    data_len as usize,
                )
            };
            return Some(bytes);
        }
    }

    /// Consumes the event `peek` returned; the record's room goes back to the kernel once all
    /// its events are consumed (and the batch is full, or the buffer is found empty).
    pub(crate) fn consume(&mut self) {
        let Some((record, event)) = self.current() else {
            return;
        };
        let record_len = record.len();
        self.sub = event.end.max(self.sub + 1);
        if self.sub >= record_len {
            self.pos += (record_len as u64 + HEADER + 7) & !7;
            self.sub = 0;
            if self.pos - self.published >= self.batch {
                self.publish();
            }
        }
    }

    /// Tells the kernel how far this reader has consumed.
    fn publish(&mut self) {
        if self.published != self.pos {
            self.consumer_pos().store(self.pos, Ordering::Release);
            self.published = self.pos;
        }
    }

    /// Bytes written and not yet consumed.
    pub(crate) fn pending(&self) -> u64 {
        self.producer_pos().load(Ordering::Acquire).saturating_sub(self.pos)
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: unmapping the two mappings made in `map`, with their sizes.
        unsafe {
            libc::munmap(self.consumer.as_ptr().cast(), self.page);
            libc::munmap(self.producer.as_ptr().cast(), self.page + 2 * self.size);
        }
    }
}

/// The timestamp of a scap event record (its first 8 bytes); records shorter than a header
/// sort first and are rejected by the decoder.
pub(crate) fn record_ts(record: &[u8]) -> u64 {
    record.get(..8).map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
}
