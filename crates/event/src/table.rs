//! The libs event table: what every event type is called, which category it belongs to, how it
//! behaves (`EF_*` flags) and which parameters it carries.
//!
//! The table itself ([`EVENTS`]) is generated from the `api/event_table.c`, `api/flags_table.c`
//! and `api/dynamic_params_table.c` that the `falco_event_schema` crate vendors from
//! falcosecurity/libs, so this crate and the typed events of `falco_event_schema` always agree on
//! the schema. Every numeric constant in the generated file refers to the crate's `ffi` module
//! instead of being copied. `tests/event_table.rs` regenerates the file and fails when it is stale
//! (run it with `LANNER_BLESS=1` to rewrite it after a schema upgrade).

use falco_event_schema::ffi;

/// Number of entries of the event table (`PPM_EVENT_MAX`): event type codes are below this.
pub const EVENT_MAX: usize = ffi::ppm_event_code_PPM_EVENT_MAX as usize;

/// The type of an event parameter (`enum ppm_param_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[expect(missing_docs, reason = "the variants mirror libs' PT_* names one to one")]
pub enum ParamType {
    None = 0,
    Int8 = 1,
    Int16 = 2,
    Int32 = 3,
    Int64 = 4,
    Uint8 = 5,
    Uint16 = 6,
    Uint32 = 7,
    Uint64 = 8,
    Charbuf = 9,
    Bytebuf = 10,
    Errno = 11,
    SockAddr = 12,
    SockTuple = 13,
    Fd = 14,
    Pid = 15,
    FdList = 16,
    FsPath = 17,
    SyscallId = 18,
    SigType = 19,
    RelTime = 20,
    AbsTime = 21,
    Port = 22,
    L4Proto = 23,
    SockFamily = 24,
    Bool = 25,
    Ipv4Addr = 26,
    Dyn = 27,
    Flags8 = 28,
    Flags16 = 29,
    Flags32 = 30,
    Uid = 31,
    Gid = 32,
    Double = 33,
    SigSet = 34,
    CharbufArray = 35,
    CharbufPairArray = 36,
    Ipv4Net = 37,
    Ipv6Addr = 38,
    Ipv6Net = 39,
    IpAddr = 40,
    IpNet = 41,
    Mode = 42,
    FsRelPath = 43,
    EnumFlags8 = 44,
    EnumFlags16 = 45,
    EnumFlags32 = 46,
}

impl ParamType {
    /// The libs name of the type, as `sysdig -L` and field listings show it.
    pub fn name(self) -> &'static str {
        match self {
            ParamType::None => "NONE",
            ParamType::Int8 => "INT8",
            ParamType::Int16 => "INT16",
            ParamType::Int32 => "INT32",
            ParamType::Int64 => "INT64",
            ParamType::Uint8 => "UINT8",
            ParamType::Uint16 => "UINT16",
            ParamType::Uint32 => "UINT32",
            ParamType::Uint64 => "UINT64",
            ParamType::Charbuf => "CHARBUF",
            ParamType::Bytebuf => "BYTEBUF",
            ParamType::Errno => "ERRNO",
            ParamType::SockAddr => "SOCKADDR",
            ParamType::SockTuple => "SOCKTUPLE",
            ParamType::Fd => "FD",
            ParamType::Pid => "PID",
            ParamType::FdList => "FDLIST",
            ParamType::FsPath => "FSPATH",
            ParamType::SyscallId => "SYSCALLID",
            ParamType::SigType => "SIGTYPE",
            ParamType::RelTime => "RELTIME",
            ParamType::AbsTime => "ABSTIME",
            ParamType::Port => "PORT",
            ParamType::L4Proto => "L4PROTO",
            ParamType::SockFamily => "SOCKFAMILY",
            ParamType::Bool => "BOOL",
            ParamType::Ipv4Addr => "IPV4ADDR",
            ParamType::Dyn => "DYNAMIC",
            ParamType::Flags8 => "FLAGS8",
            ParamType::Flags16 => "FLAGS16",
            ParamType::Flags32 => "FLAGS32",
            ParamType::Uid => "UID",
            ParamType::Gid => "GID",
            ParamType::Double => "DOUBLE",
            ParamType::SigSet => "SIGSET",
            ParamType::CharbufArray => "CHARBUFARRAY",
            ParamType::CharbufPairArray => "CHARBUF_PAIR_ARRAY",
            ParamType::Ipv4Net => "IPV4NET",
            ParamType::Ipv6Addr => "IPV6ADDR",
            ParamType::Ipv6Net => "IPV6NET",
            ParamType::IpAddr => "IPADDR",
            ParamType::IpNet => "IPNET",
            ParamType::Mode => "MODE",
            ParamType::FsRelPath => "FSRELPATH",
            ParamType::EnumFlags8 => "ENUMFLAGS8",
            ParamType::EnumFlags16 => "ENUMFLAGS16",
            ParamType::EnumFlags32 => "ENUMFLAGS32",
        }
    }

    /// The fixed size of a value of this type in bytes, or `None` for variable-length types.
    pub fn fixed_size(self) -> Option<usize> {
        Some(match self {
            ParamType::Int8
            | ParamType::Uint8
            | ParamType::Flags8
            | ParamType::EnumFlags8
            | ParamType::SigType
            | ParamType::L4Proto
            | ParamType::SockFamily => 1,
            ParamType::Int16
            | ParamType::Uint16
            | ParamType::Flags16
            | ParamType::EnumFlags16
            | ParamType::Port
            | ParamType::SyscallId => 2,
            ParamType::Int32
            | ParamType::Uint32
            | ParamType::Flags32
            | ParamType::EnumFlags32
            | ParamType::Uid
            | ParamType::Gid
            | ParamType::Mode
            | ParamType::SigSet
            | ParamType::Bool
            | ParamType::Ipv4Addr => 4,
            ParamType::Int64
            | ParamType::Uint64
            | ParamType::Errno
            | ParamType::Fd
            | ParamType::Pid
            | ParamType::RelTime
            | ParamType::AbsTime
            | ParamType::Double => 8,
            ParamType::Ipv6Addr => 16,
            _ => return None,
        })
    }
}

/// How a numeric parameter is printed (`enum ppm_print_format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PrintFormat {
    /// Not applicable (strings, buffers, addresses ...).
    Na = 0,
    /// Decimal.
    Dec = 1,
    /// Hexadecimal.
    Hex = 2,
    /// Decimal padded to 10 digits (the fractional part of a timestamp).
    PaddedDec10 = 3,
    /// An identifier.
    Id = 4,
    /// A direction.
    Dir = 5,
    /// Octal.
    Oct = 6,
}

/// One name of a flags or enum table (`struct ppm_name_value`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlagName {
    /// The symbolic name, e.g. `O_RDONLY`.
    pub name: &'static str,
    /// Its value.
    pub value: u32,
}

/// What a parameter's `info` pointer refers to in the libs table.
#[derive(Clone, Copy, Debug)]
pub enum ParamExtra {
    /// Nothing.
    None,
    /// The names of the flags (`PT_FLAGS*`, `PT_MODE`) or enum values (`PT_ENUMFLAGS*`).
    Flags(&'static [FlagName]),
    /// The possible types of a `PT_DYN` parameter, selected by the first byte of its value.
    Dynamic(&'static [DynamicParam]),
    /// The index of the `dirfd` parameter a `PT_FSRELPATH` is relative to.
    DirFd(u8),
}

/// One of the possible types of a dynamic parameter.
#[derive(Clone, Copy, Debug)]
pub struct DynamicParam {
    /// The concrete type.
    pub ty: ParamType,
    /// How it prints.
    pub format: PrintFormat,
}

/// Description of one event parameter (`struct ppm_param_info`).
#[derive(Clone, Copy, Debug)]
pub struct ParamInfo {
    /// Parameter name, e.g. `fd`.
    pub name: &'static str,
    /// Its type.
    pub ty: ParamType,
    /// How it prints when numeric.
    pub format: PrintFormat,
    /// Flag names, dynamic types or the dirfd reference.
    pub extra: ParamExtra,
}

/// Shorthand the generated table uses to build a [`ParamInfo`].
const fn param(
    name: &'static str,
    ty: ParamType,
    format: PrintFormat,
    extra: ParamExtra,
) -> ParamInfo {
    ParamInfo { name, ty, format, extra }
}

impl ParamInfo {
    /// The flag or enum names of this parameter, if it has any.
    pub fn flag_names(&self) -> &'static [FlagName] {
        match self.extra {
            ParamExtra::Flags(names) => names,
            _ => &[],
        }
    }
}

/// The category bits of an event (`enum ppm_event_category`): one syscall category in the low
/// bits (`EC_FILE`, `EC_NET` ...) and one event kind in the high bits (`EC_SYSCALL`,
/// `EC_TRACEPOINT`, `EC_PLUGIN`, `EC_METAEVENT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Category(pub u32);

impl Category {
    /// Mask of the syscall-category part (`EC_SYSCALL - 1`).
    const SUBCATEGORY_MASK: u32 = ffi::ppm_event_category_EC_SYSCALL - 1;

    /// `EC_INTERNAL`: events libs generates for itself (procinfo, drop, notification ...).
    pub fn is_internal(self) -> bool {
        self.0 & Self::SUBCATEGORY_MASK == ffi::ppm_event_category_EC_INTERNAL
    }
}

/// The behaviour flags of an event (`enum ppm_event_flags`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventFlags(pub u32);

impl EventFlags {
    /// `EF_CREATES_FD`
    pub const CREATES_FD: u32 = ffi::ppm_event_flags_EF_CREATES_FD;
    /// `EF_DESTROYS_FD`
    pub const DESTROYS_FD: u32 = ffi::ppm_event_flags_EF_DESTROYS_FD;
    /// `EF_USES_FD`
    pub const USES_FD: u32 = ffi::ppm_event_flags_EF_USES_FD;
    /// `EF_READS_FROM_FD`
    pub const READS_FROM_FD: u32 = ffi::ppm_event_flags_EF_READS_FROM_FD;
    /// `EF_WRITES_TO_FD`
    pub const WRITES_TO_FD: u32 = ffi::ppm_event_flags_EF_WRITES_TO_FD;
    /// `EF_MODIFIES_STATE`
    pub const MODIFIES_STATE: u32 = ffi::ppm_event_flags_EF_MODIFIES_STATE;
    /// `EF_UNUSED`
    pub const UNUSED: u32 = ffi::ppm_event_flags_EF_UNUSED;
    /// `EF_WAITS`
    pub const WAITS: u32 = ffi::ppm_event_flags_EF_WAITS;
    /// `EF_SKIPPARSERESET`
    pub const SKIP_PARSE_RESET: u32 = ffi::ppm_event_flags_EF_SKIPPARSERESET;
    /// `EF_OLD_VERSION`
    pub const OLD_VERSION: u32 = ffi::ppm_event_flags_EF_OLD_VERSION;
    /// `EF_LARGE_PAYLOAD`: parameter lengths are `u32` instead of `u16`.
    pub const LARGE_PAYLOAD: u32 = ffi::ppm_event_flags_EF_LARGE_PAYLOAD;
    /// `EF_TMP_CONVERTER_MANAGED`
    pub const TMP_CONVERTER_MANAGED: u32 = ffi::ppm_event_flags_EF_TMP_CONVERTER_MANAGED;

    /// Whether every bit of `flag` is set.
    pub fn contains(self, flag: u32) -> bool {
        self.0 & flag == flag
    }
}

/// Whether an event is the entry or the exit half of a syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Entry (`>`), even event type codes.
    Enter,
    /// Exit (`<`), odd event type codes.
    Exit,
}

impl Direction {
    /// The direction of an event type: even codes enter, odd codes exit.
    #[inline]
    pub fn of(event_type: u16) -> Direction {
        if event_type.is_multiple_of(2) { Direction::Enter } else { Direction::Exit }
    }

    /// `>` or `<`, as `evt.dir` prints it.
    pub fn symbol(self) -> char {
        match self {
            Direction::Enter => '>',
            Direction::Exit => '<',
        }
    }
}

/// Description of one event type (`struct ppm_event_info`).
#[derive(Clone, Copy, Debug)]
pub struct EventInfo {
    /// Event name (`evt.type`), e.g. `open`; `NA` for unused slots.
    pub name: &'static str,
    /// Category bits.
    pub category: Category,
    /// Behaviour flags.
    pub flags: EventFlags,
    /// Parameter descriptions, in order.
    pub params: &'static [ParamInfo],
}

impl EventInfo {
    /// Whether the parameter lengths of this event are `u32` (`EF_LARGE_PAYLOAD`).
    pub fn large_payload(&self) -> bool {
        self.flags.contains(EventFlags::LARGE_PAYLOAD)
    }
}

const UNKNOWN_EVENT: EventInfo = EventInfo {
    name: "NA",
    category: Category(ffi::ppm_event_category_EC_UNKNOWN),
    flags: EventFlags(ffi::ppm_event_flags_EF_UNUSED),
    params: &[],
};

/// The description of an event type, or `None` when the code is beyond the table
/// (`>= PPM_EVENT_MAX`), which readers must skip.
#[inline]
pub fn event_info(event_type: u16) -> Option<&'static EventInfo> {
    EVENTS.get(usize::from(event_type))
}

/// The name of a system call by its libs code (`PPM_SC_*`), the value of a `PT_SYSCALLID`
/// parameter; `None` for codes libs does not know.
pub fn syscall_name(code: u16) -> Option<&'static str> {
    SYSCALL_NAMES.get(usize::from(code)).copied().flatten()
}

/// The category of a system call by its libs code: what `evt.category` reports for the generic
/// syscall events that stand for it.
pub fn syscall_category(code: u16) -> Option<Category> {
    syscall_categories::SYSCALL_CATEGORIES.get(usize::from(code)).map(|&c| Category(u32::from(c)))
}

mod syscall_categories;

#[expect(
    clippy::unnecessary_cast,
    reason = "the generator casts every ffi constant; most already have the target type"
)]
mod generated;
pub use generated::EVENTS;
use generated::SYSCALL_NAMES;
