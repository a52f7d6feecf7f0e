//! `.scap` capture files: reading and writing them.
//!
//! A capture is what `sysdig -w`, `falco --capture` and `lanner -w` record: a section header,
//! metadata about the machine (interfaces, users and groups, the threads alive at the start and
//! their open file descriptors), then scap events, each in a block of its own. Files are usually
//! gzip-compressed.
//!
//! This crate owns the file format and nothing else:
//!
//! - [`Reader`] streams a capture with memory bounded by its largest block, whatever the file
//!   size, or parses a plain capture file mapped into memory ([`Fetch::Mapped`]). It reads every block version libs has written since 2016 (file versions 1.0 to 1.2,
//!   process lists V1 to V9, fd and user and interface lists V1 and V2, event blocks with and
//!   without `nparams`, with and without flags, large-payload blocks) and skips pcapng blocks and
//!   options that tools like `editcap` add. Every error names the byte offset and the block.
//! - [`Writer`] writes captures that both current libs (Falco) and the 2022 libs of Debian's
//!   sysdig open.
//! - [`Tables`] is the metadata, decoded into plain structs.
//!
//! Events come out as [`lanner_event::RawEvent`]s borrowed from the reader's buffer (or from
//! the mapped file). It does
//! not interpret events (that is the state layer's job).
//!
//! ```no_run
//! let mut reader = lanner_scap::Reader::open("capture.scap")?;
//! println!("{} threads at start", reader.tables().threads.len());
//! while let Some(record) = reader.next()? {
//!     println!("cpu {} {}", record.cpu, record.event.name());
//! }
//! # Ok::<(), lanner_scap::Error>(())
//! ```
//!
//! Integers are stored in the writer's byte order; like libs, lanner reads and writes
//! little-endian captures only and reports big-endian ones as unsupported.

pub mod block;
mod bytes;
mod error;
mod reader;
pub mod tables;
mod threaded;
mod writer;

pub use block::{BlockType, EventBlockVersion};
pub use error::{Error, ErrorKind, Result};
pub use reader::{
    EventRecord, FLAG_LARGE, FLAG_STATE_ONLY, FLAG_TRACER, Fetch, MAX_BLOCK_LEN, ReadStats, Reader,
};
pub use tables::Tables;
pub use threaded::{ThreadedReader, TypeFilter};
pub use writer::{Compression, WRITE_VERSION, Writer};
