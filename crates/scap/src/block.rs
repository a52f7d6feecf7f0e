//! Block framing: the type codes of every block libs has ever written, and their names.
//!
//! A capture is a sequence of blocks, pcapng style:
//!
//! ```text
//! block_type u32 | block_total_length u32 | body | padding to 4 bytes | block_total_length u32
//! ```
//!
//! The total length counts the 8-byte header, the body, the padding and the 4-byte trailer.

/// Bytes of the block header (`type` + `total_length`).
pub const BLOCK_HEADER_LEN: usize = 8;
/// Bytes of the block trailer (the repeated `total_length`).
pub const BLOCK_TRAILER_LEN: usize = 4;
/// The byte-order magic of the section header, as written by a little-endian machine.
pub const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

/// Every block type code the reader knows, with the layout version it implies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlockType {
    /// Section header (`SHB`).
    SectionHeader,
    /// Machine info (`MI`).
    MachineInfo,
    /// Process list, version 1..=9 (`PL_V1` .. `PL_V9`).
    ProcessList(u8),
    /// File descriptor list, version 1 or 2 (`FDL`, `FDL_V2`).
    FdList(u8),
    /// Event, version 1 (no `nparams`), 2, or 2 with 32-bit parameter lengths.
    Event(EventBlockVersion),
    /// Event with a `flags` word, same versions as [`BlockType::Event`].
    EventWithFlags(EventBlockVersion),
    /// Interface list, version 1 or 2 (`IL`, `IL_V2`).
    InterfaceList(u8),
    /// User and group list, version 1 or 2 (`UL`, `UL_V2`).
    UserList(u8),
    /// Any other block (pcapng comment or custom blocks, blocks of future versions): skipped.
    Unknown(u32),
}

/// The layout of an event block body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventBlockVersion {
    /// 22-byte event header without `nparams`; the reader infers it.
    V1,
    /// 26-byte header, parameter lengths as the event type says (u16 or u32).
    V2,
    /// Like V2, written for events with `EF_LARGE_PAYLOAD` (32-bit parameter lengths).
    V2Large,
}

macro_rules! block_codes {
    ($($code:literal => $ty:expr, $name:literal;)*) => {
        impl BlockType {
            /// Decodes a block type code.
            #[inline]
            pub fn from_code(code: u32) -> BlockType {
                match code {
                    $($code => $ty,)*
                    other => BlockType::Unknown(other),
                }
            }

            /// The short name libs and the fixtures use for the block (`EV_V2`, `PL_V9` ...).
            pub fn name(self) -> &'static str {
                $(if self == $ty { return $name; })*
                "unknown"
            }
        }
    };
}

use EventBlockVersion::{V1, V2, V2Large};

block_codes! {
    0x0A0D_0D0A => BlockType::SectionHeader, "SHB";
    0x0000_0201 => BlockType::MachineInfo, "MI";
    0x8002_ABCD => BlockType::MachineInfo, "MI";
    0x0000_0202 => BlockType::ProcessList(1), "PL_V1";
    0x8000_ABCD => BlockType::ProcessList(1), "PL_V1";
    0x0000_0207 => BlockType::ProcessList(2), "PL_V2";
    0x8013_ABCD => BlockType::ProcessList(2), "PL_V2";
    0x0000_0209 => BlockType::ProcessList(3), "PL_V3";
    0x8014_ABCD => BlockType::ProcessList(3), "PL_V3";
    0x0000_0210 => BlockType::ProcessList(4), "PL_V4";
    0x0000_0211 => BlockType::ProcessList(5), "PL_V5";
    0x0000_0212 => BlockType::ProcessList(6), "PL_V6";
    0x0000_0213 => BlockType::ProcessList(7), "PL_V7";
    0x0000_0214 => BlockType::ProcessList(8), "PL_V8";
    0x0000_0215 => BlockType::ProcessList(9), "PL_V9";
    0x0000_0203 => BlockType::FdList(1), "FDL";
    0x8001_ABCD => BlockType::FdList(1), "FDL";
    0x0000_0218 => BlockType::FdList(2), "FDL_V2";
    0x0000_0204 => BlockType::Event(V1), "EV";
    0x8010_ABCD => BlockType::Event(V1), "EV";
    0x0000_0216 => BlockType::Event(V2), "EV_V2";
    0x0000_0221 => BlockType::Event(V2Large), "EV_V2_LARGE";
    0x0000_0208 => BlockType::EventWithFlags(V1), "EVF";
    0x0000_0217 => BlockType::EventWithFlags(V2), "EVF_V2";
    0x0000_0222 => BlockType::EventWithFlags(V2Large), "EVF_V2_LARGE";
    0x0000_0205 => BlockType::InterfaceList(1), "IL";
    0x8011_ABCD => BlockType::InterfaceList(1), "IL";
    0x0000_0219 => BlockType::InterfaceList(2), "IL_V2";
    0x0000_0206 => BlockType::UserList(1), "UL";
    0x8012_ABCD => BlockType::UserList(1), "UL";
    0x0000_0220 => BlockType::UserList(2), "UL_V2";
}

impl BlockType {
    /// The code lanner writes for this block type (the newest code of each kind).
    pub fn code(self) -> u32 {
        match self {
            BlockType::SectionHeader => 0x0A0D_0D0A,
            BlockType::MachineInfo => 0x201,
            BlockType::ProcessList(1) => 0x202,
            BlockType::ProcessList(2) => 0x207,
            BlockType::ProcessList(3) => 0x209,
            BlockType::ProcessList(v) => 0x20C + u32::from(v),
            BlockType::FdList(1) => 0x203,
            BlockType::FdList(_) => 0x218,
            BlockType::Event(V1) => 0x204,
            BlockType::Event(V2) => 0x216,
            BlockType::Event(V2Large) => 0x221,
            BlockType::EventWithFlags(V1) => 0x208,
            BlockType::EventWithFlags(V2) => 0x217,
            BlockType::EventWithFlags(V2Large) => 0x222,
            BlockType::InterfaceList(1) => 0x205,
            BlockType::InterfaceList(_) => 0x219,
            BlockType::UserList(1) => 0x206,
            BlockType::UserList(_) => 0x220,
            BlockType::Unknown(code) => code,
        }
    }
}

impl std::fmt::Display for BlockType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlockType::Unknown(code) => write!(f, "unknown block 0x{code:08x}"),
            other => write!(f, "{} block 0x{:08x}", other.name(), other.code()),
        }
    }
}

/// Rounds `n` up to a multiple of 4, the block alignment.
pub(crate) fn padded(n: usize) -> usize {
    n.div_ceil(4) * 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for code in [
            0x0A0D_0D0A,
            0x201,
            0x202,
            0x207,
            0x209,
            0x210,
            0x211,
            0x212,
            0x213,
            0x214,
            0x215,
            0x203,
            0x218,
            0x204,
            0x216,
            0x221,
            0x208,
            0x217,
            0x222,
            0x205,
            0x219,
            0x206,
            0x220,
        ] {
            assert_eq!(BlockType::from_code(code).code(), code, "0x{code:x}");
        }
        assert_eq!(BlockType::from_code(0x8014_ABCD), BlockType::ProcessList(3));
        assert_eq!(BlockType::from_code(5), BlockType::Unknown(5));
        assert_eq!(BlockType::ProcessList(9).name(), "PL_V9");
    }
}
