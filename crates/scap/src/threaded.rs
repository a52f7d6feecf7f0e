//! [`ThreadedReader`]: a [`Reader`] on a thread of its own that hands over, in batches, the
//! events of the types the consumer asked for.
//!
//! Replaying a capture with a filter mostly means reading it: most events are of types the
//! filter cannot match and that do not change the state. The reader thread reads the file
//! (a plain file mapped into memory, [`Fetch::Mapped`]), numbers every event, and copies only
//! the events of the selected types into batches sent over a bounded channel; the consumer's
//! thread is left with the events that matter, packed together in memory its reads bring into
//! its cache in few misses. Events come
//! out in capture order, as [`Reader`] gives them, each with its number among all the events of
//! the capture, and with the same errors at the same place of the stream (after the events
//! before the error).
//!
//! Memory stays bounded: at most four batches are in flight, and spent batches go back to the
//! reader thread to be refilled.

use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use lanner_event::RawEvent;

use crate::error::{Error, Result};
use crate::reader::{EventRecord, Fetch, ReadStats, Reader};
use crate::tables::Tables;

/// Batches in flight between the two threads.
const DEPTH: usize = 4;
/// A batch is sent once it holds this many bytes of events...
///
/// With the reader thread ahead of the consumer, the channel is full and every batch the
/// consumer takes wakes the reader thread (a futex wake, 3% of the consumer's time with 4096
/// events a batch). fd.net = 127.0.0.0/8 on the 5 M-event capture, 11 to 15 runs (load 1.6):
/// median 114 ms with 4096 events and 256 KiB, 106 ms with 8192 and 512 KiB, 107 ms with 16384
/// and 1 MiB, 114 ms with 32768 and 2 MiB.
const BATCH_BYTES: usize = 512 << 10;
/// ... or this many events.
const BATCH_EVENTS: usize = 8192;

/// Which event types to hand over: one flag per type code; codes beyond it are all kept.
pub type TypeFilter = Vec<bool>;

/// One event of a batch: where it ends in the batch's bytes, and its record's other fields.
#[derive(Clone, Copy, Debug)]
struct Slot {
    end: usize,
    offset: u64,
    num: u64,
    flags: u32,
    cpu: u16,
    large: bool,
    section: u64,
}

/// Events read in a row, copied one after another.
///
/// Copying costs the reader thread little (the events are in its cache) and saves the consumer
/// more: handing over where the events are in the mapped file instead made the consumer read
/// them scattered among the skipped ones, from memory its cache no longer held. Measured with
/// perf on the 5 M-event bench capture and `fd.net = 127.0.0.0/8` (a third of the events
/// handed over): without the copy the consumer thread took half again as long, and still 12%
/// longer when it prefetched events 8 ahead; the reader thread saved less than that.
#[derive(Debug, Default)]
struct Batch {
    data: Vec<u8>,
    slots: Vec<Slot>,
}

/// What the reader thread sends, in stream order.
enum Message {
    Events(Batch),
    /// A new section starts with the next event; its tables.
    Tables(Box<Tables>),
    /// The timestamp of the capture's first event (sent before any batch).
    FirstTs(u64),
    /// Reading stopped on an error (after every event before it was sent).
    Failed(Error, ReadStats, u64),
    /// The clean end of the capture, with the number of events read.
    End(ReadStats, u64),
}

/// A [`Reader`] running on its own thread; see the module documentation.
pub struct ThreadedReader {
    messages: Option<Receiver<Message>>,
    spare: SyncSender<Batch>,
    thread: Option<JoinHandle<()>>,
    current: Batch,
    /// The slot [`ThreadedReader::advance`] moved to, plus one (0 before the first).
    next: usize,
    tables: Tables,
    compressed: bool,
    /// Tables of a new section, for the next event handed out.
    pending_tables: bool,
    /// Whether the current event is the first of a new section.
    new_tables: bool,
    first_ts: Option<u64>,
    stats: ReadStats,
    /// Events read, handed over or not (known at the end of the stream).
    read: u64,
    done: bool,
}

impl std::fmt::Debug for ThreadedReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadedReader").field("compressed", &self.compressed).finish()
    }
}

impl ThreadedReader {
    /// Opens a capture file and hands over the events whose type `keep` selects (all of them
    /// for `None`). The section header and the tables are read before this returns, so errors
    /// opening the capture come from here.
    pub fn open(path: impl AsRef<Path>, keep: Option<TypeFilter>) -> Result<ThreadedReader> {
        Ok(ThreadedReader::spawn(Reader::open_with(path, Fetch::Mapped)?, keep))
    }

    /// Moves an opened reader to a thread of its own.
    pub fn spawn(reader: Reader, keep: Option<TypeFilter>) -> ThreadedReader {
        let tables = reader.tables().clone();
        let compressed = reader.is_compressed();
        let (tx, messages) = sync_channel(DEPTH);
        let (spare, spares) = sync_channel::<Batch>(DEPTH + 2);
        let thread = std::thread::Builder::new()
            .name("lanner-reader".into())
            .spawn(move || produce(reader, keep.as_deref(), &tx, &spares));
        let (messages, thread) = match thread {
            Ok(handle) => (messages, Some(handle)),
            Err(e) => {
                let (tx, messages) = sync_channel(1);
                let _ = tx.send(Message::Failed(Error::io(e), ReadStats::default(), 0));
                (messages, None)
            }
        };
        ThreadedReader {
            messages: Some(messages),
            spare,
            thread,
            current: Batch::default(),
            next: 0,
            tables,
            compressed,
            pending_tables: false,
            new_tables: false,
            first_ts: None,
            stats: ReadStats::default(),
            read: 0,
            done: false,
        }
    }

    /// The metadata of the current section.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// Whether the stream is gzip-compressed (offsets then count decompressed bytes).
    pub fn is_compressed(&self) -> bool {
        self.compressed
    }

    /// The timestamp of the first event of the capture, handed over or not (known once the
    /// first event was handed over or the end reached).
    pub fn first_ts(&self) -> Option<u64> {
        self.first_ts
    }

    /// What the reader saw besides the events, once the end of the stream is reached (all
    /// zero before).
    pub fn stats(&self) -> &ReadStats {
        &self.stats
    }

    /// Events read, once the end of the stream is reached: handed over or not.
    pub fn events_read(&self) -> u64 {
        self.read
    }

    /// Moves to the next selected event; `false` at the end of the capture. As
    /// [`Reader::advance`]; [`ThreadedReader::record`] then gives the event and
    /// [`ThreadedReader::number`] its number.
    pub fn advance(&mut self) -> Result<bool> {
        if self.next < self.current.slots.len() {
            self.next += 1;
            self.new_tables = false;
            return Ok(true);
        }
        loop {
            if self.done {
                return Ok(false);
            }
            let message = self.messages.as_ref().and_then(|rx| rx.recv().ok());
            match message {
                Some(Message::Events(batch)) => {
                    let spent = std::mem::replace(&mut self.current, batch);
                    let _ = self.spare.try_send(spent);
                    self.next = 1;
                    self.new_tables = std::mem::take(&mut self.pending_tables);
                    return Ok(true);
                }
                Some(Message::Tables(tables)) => {
                    self.tables = *tables;
                    self.pending_tables = true;
                }
                Some(Message::FirstTs(ts)) => self.first_ts = Some(ts),
                Some(Message::Failed(e, stats, read)) => {
                    self.finish(stats, read);
                    return Err(e);
                }
                Some(Message::End(stats, read)) => {
                    self.finish(stats, read);
                    return Ok(false);
                }
                // The thread is gone without a word: it panicked.
                None => {
                    self.done = true;
                    let e = std::io::Error::other("the capture reader thread failed");
                    return Err(Error::io(e));
                }
            }
        }
    }

    fn finish(&mut self, stats: ReadStats, read: u64) {
        self.stats = stats;
        self.read = read;
        self.done = true;
        self.current.slots.clear();
        self.next = 0;
    }

    /// The event [`ThreadedReader::advance`] moved to.
    #[inline]
    pub fn record(&self) -> Option<EventRecord<'_>> {
        let slot = self.current.slots.get(self.next.checked_sub(1)?)?;
        let start = match self.next {
            1 => 0,
            n => self.current.slots[n - 2].end,
        };
        Some(EventRecord {
            offset: slot.offset,
            cpu: slot.cpu,
            flags: slot.flags,
            // The reader checked it before it was copied.
            event: RawEvent::from_checked(&self.current.data[start..slot.end], slot.large),
            section: slot.section,
            new_tables: self.new_tables.then_some(&self.tables),
        })
    }

    /// The number of the current event among all the events of the capture, counting from 1
    /// (events not handed over are counted too).
    pub fn number(&self) -> u64 {
        self.next.checked_sub(1).and_then(|i| self.current.slots.get(i)).map_or(0, |s| s.num)
    }
}

impl Drop for ThreadedReader {
    fn drop(&mut self) {
        // With the receiving end gone the thread's next send fails and it returns.
        drop(self.messages.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The reader thread: reads every event, sends the selected ones in batches until the end, an
/// error, or the consumer going away.
fn produce(
    mut reader: Reader,
    keep: Option<&[bool]>,
    tx: &SyncSender<Message>,
    spares: &Receiver<Batch>,
) {
    let mut batch = Batch::default();
    let mut num = 0u64;
    loop {
        let more = match reader.advance() {
            Ok(more) => more,
            Err(e) => {
                let stats = reader.stats().clone();
                if !batch.slots.is_empty() && tx.send(Message::Events(batch)).is_err() {
                    return;
                }
                let _ = tx.send(Message::Failed(e, stats, num));
                return;
            }
        };
        let Some(record) = reader.record().filter(|_| more) else {
            if !batch.slots.is_empty() && tx.send(Message::Events(batch)).is_err() {
                return;
            }
            let _ = tx.send(Message::End(reader.stats().clone(), num));
            return;
        };
        num += 1;
        if num == 1 && tx.send(Message::FirstTs(record.event.ts())).is_err() {
            return;
        }
        if let Some(tables) = record.new_tables {
            // The events before belong to the previous section: send them first.
            let tables = Box::new(tables.clone());
            if !batch.slots.is_empty() {
                let full = std::mem::replace(&mut batch, fresh(spares));
                if tx.send(Message::Events(full)).is_err() {
                    return;
                }
            }
            if tx.send(Message::Tables(tables)).is_err() {
                return;
            }
        } else {
            let ty = usize::from(record.event.event_type());
            if keep.is_some_and(|k| k.get(ty).is_some_and(|&kept| !kept)) {
                continue;
            }
        }
        batch.data.extend_from_slice(record.event.as_bytes());
        batch.slots.push(Slot {
            end: batch.data.len(),
            offset: record.offset,
            num,
            flags: record.flags,
            cpu: record.cpu,
            large: record.event.is_large(),
            section: record.section,
        });
        if batch.data.len() >= BATCH_BYTES || batch.slots.len() >= BATCH_EVENTS {
            let full = std::mem::replace(&mut batch, fresh(spares));
            if tx.send(Message::Events(full)).is_err() {
                return;
            }
        }
    }
}

/// An empty batch, reusing a spent one when the consumer gave one back.
fn fresh(spares: &Receiver<Batch>) -> Batch {
    let mut batch = spares.try_recv().unwrap_or_default();
    batch.data.clear();
    batch.slots.clear();
    batch
}
