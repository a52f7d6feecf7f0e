//! Errors of reading and writing captures. Every reading error says where: the byte offset of
//! the block in the (decompressed) stream, and the block's type when it is known.

use crate::block::BlockType;

/// A failure to read or write a capture.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.describe())]
pub struct Error {
    /// Offset of the block where the problem is, in bytes from the start of the decompressed
    /// stream; `None` for errors that have no position (writing, opening).
    pub offset: Option<u64>,
    /// The block being read, when known.
    pub block: Option<BlockType>,
    /// Whether the offset counts decompressed bytes of a gzip file.
    pub compressed: bool,
    /// What went wrong.
    pub kind: ErrorKind,
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    /// The underlying reader or writer failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The data is not a scap capture at all.
    #[error("not a scap capture: {0}")]
    NotScap(String),
    /// A capture of a layout lanner does not read.
    #[error("unsupported capture: {0}")]
    Unsupported(String),
    /// The stream ends inside a block.
    #[error("truncated capture: {what} needs {needed} bytes but only {available} remain")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        needed: u64,
        /// Bytes left.
        available: u64,
    },
    /// A block's framing or content is inconsistent.
    #[error("corrupt capture: {0}")]
    Corrupt(String),
    /// An event inside an event block is malformed.
    #[error("corrupt event: {0}")]
    Event(#[from] lanner_event::DecodeError),
}

impl Error {
    pub(crate) fn at(offset: u64, block: Option<BlockType>, kind: ErrorKind) -> Error {
        Error { offset: Some(offset), block, compressed: false, kind }
    }

    pub(crate) fn io(err: std::io::Error) -> Error {
        Error { offset: None, block: None, compressed: false, kind: ErrorKind::Io(err) }
    }

    fn describe(&self) -> String {
        let mut s = self.kind.to_string();
        if let Some(block) = self.block {
            s.push_str(&format!(" (in {block}"));
        }
        if let Some(offset) = self.offset {
            s.push_str(if self.block.is_some() { " at " } else { " (at " });
            s.push_str(&format!("byte offset {offset}"));
            if self.compressed {
                s.push_str(" of the decompressed stream");
            }
        }
        if self.block.is_some() || self.offset.is_some() {
            s.push(')');
        }
        s
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_place() {
        let e = Error::at(
            1234,
            Some(BlockType::ProcessList(9)),
            ErrorKind::Truncated { what: "process entry", needed: 80, available: 12 },
        );
        assert_eq!(
            e.to_string(),
            "truncated capture: process entry needs 80 bytes but only 12 remain \
             (in PL_V9 block 0x00000215 at byte offset 1234)"
        );
        let e = Error::at(0, None, ErrorKind::NotScap("bad magic".into()));
        assert_eq!(e.to_string(), "not a scap capture: bad magic (at byte offset 0)");
    }
}
