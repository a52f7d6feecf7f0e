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
//! the next 8-byte boundary.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

const BUSY: u32 = 1 << 31;
const DISCARD: u32 = 1 << 30;
const HEADER: u64 = 8;

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
    /// Where the next record starts (ours; published to the kernel on release).
    pos: u64,
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
        let mut ring =
            Ring { consumer, producer, data, mask: size as u64 - 1, page, size, pos: 0, end: 0 };
        ring.pos = ring.consumer_pos().load(Ordering::Acquire);
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

    /// The next complete record, without consuming it; `None` when the buffer is empty or the
    /// next record is still being written. Discarded records are skipped.
    pub(crate) fn peek(&mut self) -> Option<&[u8]> {
        loop {
            if self.pos >= self.end {
                self.end = self.producer_pos().load(Ordering::Acquire);
                if self.pos >= self.end {
                    return None;
                }
            }
            let off = (self.pos & self.mask) as usize;
            // SAFETY: `off` is inside the data area and the header is 8-byte aligned; the kernel
            // writes the length word atomically (smp_store_release), so read it as an atomic.
            let len_word = unsafe { &*self.data.as_ptr().add(off).cast::<AtomicU32>() };
            let len = len_word.load(Ordering::Acquire);
            if len & BUSY != 0 {
                return None;
            }
            let data_len = u64::from(len & !(BUSY | DISCARD));
            if len & DISCARD != 0 {
                self.pos += (data_len + HEADER + 7) & !7;
                self.release_to(self.pos);
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

    /// Consumes the record `peek` returned; gives its room back to the kernel.
    pub(crate) fn consume(&mut self) {
        let off = (self.pos & self.mask) as usize;
        // SAFETY: as in `peek`; only called after `peek` returned a record at `pos`.
        let len =
            unsafe { &*self.data.as_ptr().add(off).cast::<AtomicU32>() }.load(Ordering::Acquire);
        let data_len = u64::from(len & !(BUSY | DISCARD));
        self.pos += (data_len + HEADER + 7) & !7;
        self.release_to(self.pos);
    }

    fn release_to(&self, pos: u64) {
        self.consumer_pos().store(pos, Ordering::Release);
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
