//! How event parameters print: the `evt.args` text of libs (`fd=3(<f>/etc/passwd) flags=1(O_RDONLY)`).
//!
//! Every parameter renders as a *value* and an optional *resolved* part, printed as
//! `name=value` or `name=value(resolved)`. The rules are those of libsinsp's
//! `sinsp_evt::get_param_as_str` as Debian's sysdig 0.29.3 applies them, checked byte for byte
//! against that sysdig on the fixture captures (the golden tests of `lanner inspect`):
//!
//! - integers print in the parameter's format; 32- and 64-bit unsigned decimals print as signed,
//!   hex is upper case without `0x`, octal has a leading `0`;
//! - flags print their value in decimal and the names of the bits the libs flag table finds;
//! - errno results and negative fds print their errno name, signals their signal name;
//! - byte buffers replace non-printable bytes with `.` and are cut to 80 characters;
//! - what needs state (an fd's type and name, a pid's command, a user's name, a path relative to
//!   the working directory) comes from a [`Resolver`]; [`NoState`] resolves nothing.
//!
//! Where the libs event table changed since 2022 (for example `mmap`'s result became an errno),
//! lanner renders what the current table says.
//!
//! Rendering appends to a `Vec<u8>`: values are bytes (a command line is not always UTF-8), and a
//! caller that reuses its buffer renders without allocating.

use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::names::{errno_name, signal_name};
use crate::raw::RawEvent;
use crate::table::{FlagName, ParamExtra, ParamInfo, ParamType, PrintFormat, syscall_name};
use crate::value::{array, cstr, int as le_int, uint as le_uint};

/// `PPM_AT_FDCWD`: the dirfd value meaning "the current working directory".
pub const AT_FDCWD: i64 = -100;

/// What a renderer may ask of the process state. Every method may answer `None` ("unknown").
pub trait Resolver {
    /// The working directory of a thread, with a trailing `/`; `None` if the thread is unknown
    /// (relative paths are then printed without a resolved form).
    fn cwd(&self, _tid: i64) -> Option<&[u8]> {
        None
    }
    /// The command (`comm`) of a thread.
    fn comm(&self, _tid: i64) -> Option<&[u8]> {
        None
    }
    /// A file descriptor of a thread.
    fn fd(&self, _tid: i64, _fd: i64) -> Option<FdView<'_>> {
        None
    }
    /// The name of a user, as seen by a thread (containers have their own users).
    fn user_name(&self, _tid: i64, _uid: u32) -> Option<&[u8]> {
        None
    }
    /// The name of a group, as seen by a thread.
    fn group_name(&self, _tid: i64, _gid: u32) -> Option<&[u8]> {
        None
    }
}

/// A resolver that knows nothing: state-dependent parts are left out.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoState;

impl Resolver for NoState {}

/// How an fd prints inside `(...)`: `<` type char, protocol char, `>` name.
#[derive(Clone, Copy, Debug)]
pub struct FdView<'a> {
    /// `f` file, `d` directory, `4`/`6` sockets, `u` unix, `p` pipe ...
    pub type_char: u8,
    /// `t` TCP, `u` UDP, `i` ICMP, `r` raw, for IP sockets whose protocol is known.
    pub l4_char: Option<u8>,
    /// The fd's name (path, tuple ...).
    pub name: &'a [u8],
}

/// How byte buffers (`PT_BYTEBUF`) print, as sysdig's `-A`, `-x`, `-X`, `-b` choose.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BufferFormat {
    /// Printable bytes as they are, others as `.` (the default).
    #[default]
    Dots,
    /// Only printable text and line ends (`-A`).
    Eols,
    /// Hex dump (`-x`).
    Hex,
    /// Hex dump with an ASCII column (`-X`).
    HexAscii,
    /// Base64 (`-b`).
    Base64,
}

/// Options of parameter rendering.
#[derive(Clone, Copy, Debug)]
pub struct RenderOptions {
    /// How byte buffers print.
    pub buffer_format: BufferFormat,
    /// Longest rendered byte buffer in [`BufferFormat::Dots`] mode; longer ones are cut to
    /// this many characters, the last three replaced by `...`. `None` for no limit (`-v`).
    pub max_buffer_len: Option<usize>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions { buffer_format: BufferFormat::Dots, max_buffer_len: Some(80) }
    }
}

/// The event type name as `evt.type` prints it: for the generic syscall events, the name of
/// the syscall they stand for.
pub fn event_type_name(ev: &RawEvent<'_>) -> &'static str {
    if ev.event_type() <= 1 {
        let id = ev.param(0).map_or(0, |p| le_uint(p) as u16);
        return match id {
            0 => "<unknown>",
            id => syscall_name(id).unwrap_or("<unknown>"),
        };
    }
    ev.name()
}

/// Appends `name=value[(resolved)] ` for every parameter of the event, as `evt.args` prints
/// them (each followed by one space). Generic syscall events print no arguments.
pub fn write_args<R: Resolver + ?Sized>(
    out: &mut Vec<u8>,
    ev: &RawEvent<'_>,
    res: &R,
    opts: &RenderOptions,
    scratch: &mut Vec<u8>,
) {
    if ev.event_type() <= 1 {
        return;
    }
    let Some(info) = ev.info() else { return };
    let n = ev.nparams().min(info.params.len());
    for i in 0..n {
        out.extend_from_slice(info.params[i].name.as_bytes());
        out.push(b'=');
        scratch.clear();
        render_param(out, scratch, ev, i, res, opts);
        if !scratch.is_empty() {
            out.push(b'(');
            out.extend_from_slice(scratch);
            out.push(b')');
        }
        out.push(b' ');
    }
}

/// Renders parameter `i` of the event: its value is appended to `value`, its resolved form (if
/// any) to `resolved`. Parameters beyond the event's or the table's count render nothing.
pub fn render_param<R: Resolver + ?Sized>(
    value: &mut Vec<u8>,
    resolved: &mut Vec<u8>,
    ev: &RawEvent<'_>,
    i: usize,
    res: &R,
    opts: &RenderOptions,
) {
    let Some(info) = ev.info().and_then(|info| info.params.get(i)) else { return };
    let Some(bytes) = ev.param(i) else { return };
    let ctx = Ctx { ev, res, opts };
    ctx.render(value, resolved, info, info.ty, info.format, bytes);
}

/// Whether a parameter's printed form depends on process state (fd names, thread commands,
/// user names, the working directory), and so is only complete with a state-backed resolver.
pub fn depends_on_state(param: &ParamInfo) -> bool {
    match param.ty {
        ParamType::Fd
        | ParamType::Pid
        | ParamType::FdList
        | ParamType::FsPath
        | ParamType::FsRelPath
        | ParamType::Uid
        | ParamType::Gid => true,
        ParamType::Dyn => match param.extra {
            ParamExtra::Dynamic(types) => types.iter().any(|t| t.ty == ParamType::Fd),
            _ => false,
        },
        _ => false,
    }
}

struct Ctx<'e, 'a, R: ?Sized> {
    ev: &'e RawEvent<'a>,
    res: &'e R,
    opts: &'e RenderOptions,
}

impl<R: Resolver + ?Sized> Ctx<'_, '_, R> {
    fn render(
        &self,
        value: &mut Vec<u8>,
        resolved: &mut Vec<u8>,
        info: &ParamInfo,
        ty: ParamType,
        format: PrintFormat,
        bytes: &[u8],
    ) {
        let tid = self.ev.tid();
        // Buffers and strings may be empty; a missing fixed-size value prints as NULL, as
        // current libs does.
        if bytes.is_empty()
            && !matches!(
                ty,
                ParamType::Bytebuf | ParamType::Charbuf | ParamType::FsPath | ParamType::FsRelPath
            )
        {
            value.extend_from_slice(b"NULL");
            return;
        }
        match ty {
            ParamType::Int8
            | ParamType::Int16
            | ParamType::Int32
            | ParamType::Int64
            | ParamType::Uint8
            | ParamType::Uint16
            | ParamType::Uint32
            | ParamType::Uint64 => write_number(value, ty, format, bytes),
            ParamType::Errno => {
                let v = le_int(bytes);
                push_int(value, v);
                if let Some(name) = (v < 0).then(|| errno_name(v)).flatten() {
                    resolved.extend_from_slice(name.as_bytes());
                }
            }
            ParamType::Fd => {
                let fd = le_int(bytes);
                push_int(value, fd);
                self.resolve_fd(resolved, tid, fd);
            }
            ParamType::Pid => {
                let pid = le_int(bytes);
                push_int(value, pid);
                if let Some(comm) = self.res.comm(pid) {
                    resolved.extend_from_slice(comm);
                }
            }
            ParamType::Flags8 | ParamType::Flags16 | ParamType::Flags32 => {
                let v = le_uint(bytes) as u32;
                push_uint(value, u64::from(v));
                write_flag_names(resolved, info.flag_names(), v);
            }
            // An enumeration: only the entry equal to the value names it (libs' exact_match;
            // BPF_PROG_LOAD = 5 is not MAP_LOOKUP_ELEM | GET_NEXT_KEY | PROG_LOAD).
            ParamType::EnumFlags8 | ParamType::EnumFlags16 | ParamType::EnumFlags32 => {
                let v = le_uint(bytes) as u32;
                push_uint(value, u64::from(v));
                if let Some(f) = info.flag_names().iter().find(|f| f.value == v) {
                    resolved.extend_from_slice(f.name.as_bytes());
                }
            }
            ParamType::Mode => {
                let v = le_uint(bytes) as u32;
                write_octal(value, u64::from(v));
                write_flag_names(resolved, info.flag_names(), v);
            }
            ParamType::Uid | ParamType::Gid => {
                let v = le_uint(bytes) as u32;
                if v == u32::MAX {
                    value.extend_from_slice(b"-1");
                    resolved.extend_from_slice(b"<NONE>");
                    return;
                }
                push_int(value, i64::from(v as i32));
                let name = if ty == ParamType::Uid {
                    self.res.user_name(tid, v)
                } else {
                    self.res.group_name(tid, v)
                };
                resolved.extend_from_slice(name.unwrap_or(b"<NA>"));
            }
            ParamType::SockAddr => write_sockaddr(value, bytes),
            ParamType::SockTuple => write_socktuple(value, bytes),
            ParamType::FdList => self.write_fdlist(value, tid, bytes),
            ParamType::Charbuf => value.extend_from_slice(cstr(bytes)),
            ParamType::FsPath | ParamType::FsRelPath => {
                self.write_path(value, resolved, info, bytes);
            }
            ParamType::Bytebuf => write_buffer(value, bytes, self.opts),
            ParamType::SigType => {
                let sig = u32::from(bytes[0]);
                push_uint(value, u64::from(sig));
                if let Some(name) = signal_name(sig) {
                    resolved.extend_from_slice(name.as_bytes());
                }
            }
            ParamType::SigSet => {
                let mask = le_uint(bytes) as u32;
                let mut first = true;
                for bit in 0..32 {
                    if mask & (1 << bit) != 0
                        && let Some(name) = signal_name(bit + 1)
                    {
                        if !first {
                            value.push(b' ');
                        }
                        first = false;
                        value.extend_from_slice(name.as_bytes());
                    }
                }
            }
            ParamType::RelTime => {
                let v = le_uint(bytes);
                if v == u64::MAX {
                    value.extend_from_slice(b"none");
                } else {
                    let _ = write!(value, "{v}");
                    write_g(resolved, v as f64 / 1e9);
                    resolved.push(b's');
                }
            }
            ParamType::SyscallId => {
                let id = le_uint(bytes) as u16;
                push_uint(value, u64::from(id));
                resolved
                    .extend_from_slice(syscall_name(id).unwrap_or("<unknown syscall>").as_bytes());
            }
            ParamType::Dyn => {
                let ParamExtra::Dynamic(types) = info.extra else {
                    value.extend_from_slice(b"INVALID DYNAMIC PARAMETER");
                    return;
                };
                match types.get(usize::from(bytes[0])) {
                    // The concrete value prints with the outer parameter's numeric format.
                    Some(dynamic) => {
                        self.render(value, resolved, info, dynamic.ty, format, &bytes[1..]);
                    }
                    None => value.extend_from_slice(b"INVALID DYNAMIC PARAMETER"),
                }
            }
            ParamType::Ipv4Addr => {
                let _ = write!(value, "{}", Ipv4Addr::from(array::<4>(bytes)));
            }
            ParamType::Ipv6Addr => {
                let _ = write!(value, "{}", Ipv6Addr::from(array::<16>(bytes)));
            }
            ParamType::IpAddr => match bytes.len() {
                4 => {
                    let _ = write!(value, "{}", Ipv4Addr::from(array::<4>(bytes)));
                }
                _ => {
                    let _ = write!(value, "{}", Ipv6Addr::from(array::<16>(bytes)));
                }
            },
            ParamType::Port | ParamType::L4Proto | ParamType::SockFamily => {
                let _ = write!(value, "{}", le_uint(bytes));
            }
            ParamType::Bool => {
                value.extend_from_slice(if le_uint(bytes) != 0 { b"true" } else { b"false" });
            }
            ParamType::AbsTime
            | ParamType::Double
            | ParamType::CharbufArray
            | ParamType::CharbufPairArray
            | ParamType::Ipv4Net
            | ParamType::Ipv6Net
            | ParamType::IpNet
            | ParamType::None => value.extend_from_slice(b"(n.a.)"),
        }
    }

    fn resolve_fd(&self, resolved: &mut Vec<u8>, tid: i64, fd: i64) {
        if fd == AT_FDCWD {
            resolved.extend_from_slice(b"AT_FDCWD");
        } else if fd < 0 {
            if let Some(name) = errno_name(fd) {
                resolved.extend_from_slice(name.as_bytes());
            }
        } else if let Some(view) = self.res.fd(tid, fd) {
            resolved.push(b'<');
            resolved.push(view.type_char);
            if let Some(l4) = view.l4_char {
                resolved.push(l4);
            }
            resolved.push(b'>');
            push_sanitized(resolved, view.name);
        }
    }

    fn write_fdlist(&self, value: &mut Vec<u8>, tid: i64, bytes: &[u8]) {
        if bytes.len() < 2 {
            return;
        }
        let count = usize::from(u16::from_le_bytes([bytes[0], bytes[1]]));
        for (i, entry) in bytes[2..].chunks_exact(10).take(count).enumerate() {
            if i > 0 {
                value.push(b' ');
            }
            let fd = le_int(&entry[..8]);
            let flags = i16::from_le_bytes([entry[8], entry[9]]) as i32 as u32;
            let type_char = self.res.fd(tid, fd).map_or(b'?', |v| v.type_char);
            let _ = write!(value, "{}:{}{:x}", fd as u64, type_char as char, flags);
        }
    }

    fn write_path(
        &self,
        value: &mut Vec<u8>,
        resolved: &mut Vec<u8>,
        info: &ParamInfo,
        bytes: &[u8],
    ) {
        let path = cstr(bytes);
        push_sanitized(value, path);
        let tid = self.ev.tid();
        let Some(cwd) = self.res.cwd(tid) else { return };
        if path == b"<NA>" || path.first() == Some(&b'/') {
            return;
        }
        let mut dir = Vec::new();
        let base: &[u8] = match info.extra {
            ParamExtra::DirFd(at) => {
                let dirfd = self.ev.param(usize::from(at)).map_or(AT_FDCWD, le_int);
                if dirfd == AT_FDCWD {
                    cwd
                } else if let Some(view) = self.res.fd(tid, dirfd) {
                    push_sanitized(&mut dir, view.name);
                    dir.push(b'/');
                    &dir
                } else {
                    b""
                }
            }
            _ => cwd,
        };
        normalize_path(resolved, base, path);
    }
}

/// Appends a signed integer in decimal.
pub fn push_int(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends an unsigned integer in decimal.
pub fn push_uint(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Joins `base` (ending in `/`, or empty) and a relative `path`, resolving `.`, `..` and
/// repeated slashes, and replacing non-printable bytes with `.`.
fn normalize_path(out: &mut Vec<u8>, base: &[u8], path: &[u8]) {
    let absolute = base.first() == Some(&b'/');
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in base.split(|&b| b == b'/').chain(path.split(|&b| b == b'/')) {
        match part {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    if absolute {
        out.push(b'/');
    }
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend(part.iter().map(|&b| if is_print(b) { b } else { b'.' }));
    }
}

fn is_print(b: u8) -> bool {
    (0x20..0x7f).contains(&b)
}

/// Appends `bytes` without the bytes that are not printable ASCII, as libs sanitises names.
fn push_sanitized(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend(bytes.iter().copied().filter(|&b| is_print(b)));
}

fn write_octal(out: &mut Vec<u8>, v: u64) {
    if v == 0 {
        out.push(b'0');
    } else {
        let _ = write!(out, "0{v:o}");
    }
}

/// Integers in their print format, with libsinsp's width and signedness rules.
fn write_number(out: &mut Vec<u8>, ty: ParamType, format: PrintFormat, bytes: &[u8]) {
    let raw = le_uint(bytes);
    // The value as C would see it after the implicit conversions of `printf`: 8- and 16-bit
    // values promote to int, 32-bit print through `%d`/`%X` as 32 bits, 64-bit as 64 bits.
    let (signed, unsigned): (i64, u64) = match ty {
        ParamType::Int8 => ((raw as u8 as i8).into(), raw as u8 as i8 as i32 as u32 as u64),
        ParamType::Uint8 => (i64::from(raw as u8), u64::from(raw as u8)),
        ParamType::Int16 => ((raw as u16 as i16).into(), raw as u16 as i16 as i32 as u32 as u64),
        ParamType::Uint16 => (i64::from(raw as u16), u64::from(raw as u16)),
        ParamType::Int32 | ParamType::Uint32 => ((raw as u32 as i32).into(), u64::from(raw as u32)),
        _ => (raw as i64, raw),
    };
    match format {
        PrintFormat::Hex => {
            let _ = write!(out, "{unsigned:X}");
        }
        PrintFormat::Oct => write_octal(out, unsigned),
        PrintFormat::PaddedDec10 => {
            let _ = write!(out, "{signed:09}");
        }
        PrintFormat::Dec | PrintFormat::Id | PrintFormat::Dir | PrintFormat::Na => {
            push_int(out, signed);
        }
    }
}

/// The names of the flags set in `value`, joined with `|`, scanning the libs table in its order:
/// an exact match ends the scan (and is named last); otherwise every entry whose bits are all
/// still set is named and its bits cleared. Bits no entry names are left out.
fn write_flag_names(out: &mut Vec<u8>, names: &[FlagName], value: u32) {
    let mut left = value;
    let mut first = true;
    let mut push = |out: &mut Vec<u8>, name: &str| {
        if !first {
            out.push(b'|');
        }
        first = false;
        out.extend_from_slice(name.as_bytes());
    };
    for f in names {
        if f.value == value {
            push(out, f.name);
            return;
        }
        if (f.value == 0 && value == 0) || (f.value != 0 && left != 0 && left & f.value == f.value)
        {
            push(out, f.name);
            left &= !f.value;
        }
    }
}

const PPM_AF_UNIX: u8 = 1;
const PPM_AF_INET: u8 = 2;
const PPM_AF_INET6: u8 = 10;

fn write_sockaddr(out: &mut Vec<u8>, b: &[u8]) {
    match b[0] {
        PPM_AF_UNIX => push_sanitized(out, cstr(&b[1..])),
        PPM_AF_INET if b.len() == 7 => {
            let _ = write!(
                out,
                "{}:{}",
                Ipv4Addr::from(array::<4>(&b[1..5])),
                u16::from_le_bytes([b[5], b[6]])
            );
        }
        PPM_AF_INET => out.extend_from_slice(b"INVALID IPv4"),
        PPM_AF_INET6 if b.len() == 19 => {
            let _ = write!(
                out,
                "{}:{}",
                Ipv6Addr::from(array::<16>(&b[1..17])),
                u16::from_le_bytes([b[17], b[18]])
            );
        }
        PPM_AF_INET6 => out.extend_from_slice(b"INVALID IPv6"),
        family => {
            let _ = write!(out, "family {family}");
        }
    }
}

/// Whether an IPv6 address is IPv4-mapped (`::ffff:a.b.c.d`) or all zeros.
fn v4_compatible(a: &[u8; 16]) -> bool {
    a[..10].iter().all(|&b| b == 0)
        && ((a[10] == 0xff && a[11] == 0xff) || a[10..].iter().all(|&b| b == 0))
}

fn write_socktuple(out: &mut Vec<u8>, b: &[u8]) {
    match b[0] {
        PPM_AF_INET if b.len() == 13 => {
            let _ = write!(
                out,
                "{}:{}->{}:{}",
                Ipv4Addr::from(array::<4>(&b[1..5])),
                u16::from_le_bytes([b[5], b[6]]),
                Ipv4Addr::from(array::<4>(&b[7..11])),
                u16::from_le_bytes([b[11], b[12]])
            );
        }
        PPM_AF_INET => out.extend_from_slice(b"INVALID IPv4"),
        PPM_AF_INET6 if b.len() == 37 => {
            let sip = array::<16>(&b[1..17]);
            let dip = array::<16>(&b[19..35]);
            let sport = u16::from_le_bytes([b[17], b[18]]);
            let dport = u16::from_le_bytes([b[35], b[36]]);
            if v4_compatible(&sip) && v4_compatible(&dip) {
                let _ = write!(
                    out,
                    "{}:{sport}->{}:{dport}",
                    Ipv4Addr::from(array::<4>(&sip[12..])),
                    Ipv4Addr::from(array::<4>(&dip[12..]))
                );
            } else {
                let _ =
                    write!(out, "{}:{sport}->{}:{dport}", Ipv6Addr::from(sip), Ipv6Addr::from(dip));
            }
        }
        PPM_AF_INET6 => out.extend_from_slice(b"INVALID IPv6"),
        PPM_AF_UNIX if b.len() >= 17 => {
            let _ = write!(out, "{:x}->{:x} ", le_uint(&b[1..9]), le_uint(&b[9..17]));
            push_sanitized(out, cstr(&b[17..]));
        }
        family => {
            let _ = write!(out, "family {family}");
        }
    }
}

/// Byte buffers in the chosen format.
fn write_buffer(out: &mut Vec<u8>, b: &[u8], opts: &RenderOptions) {
    match opts.buffer_format {
        BufferFormat::Dots => {
            let start = out.len();
            out.extend(b.iter().map(|&c| if is_print(c) { c } else { b'.' }));
            if let Some(max) = opts.max_buffer_len
                && out.len() - start > max
            {
                out.truncate(start + max.saturating_sub(3));
                out.extend_from_slice(b"...");
            }
        }
        BufferFormat::Eols => {
            out.push(b'\n');
            for (i, &c) in b.iter().enumerate() {
                let keep_newline = c == b'\r' || (c == b'\n' && i > 0 && b[i - 1] != b'\r');
                if is_print(c) {
                    out.push(c);
                } else if keep_newline {
                    out.push(b'\n');
                }
            }
        }
        BufferFormat::Hex | BufferFormat::HexAscii => {
            for (row, chunk) in b.chunks(16).enumerate() {
                let _ = write!(out, "\n\t0x{:04x}:", row * 16);
                let mut width = 0;
                for pair in chunk.chunks(2) {
                    if pair.len() == 2 {
                        let _ = write!(out, " {:02x}{:02x}", pair[0], pair[1]);
                        width += 5;
                    } else {
                        let _ = write!(out, " {:02x}", pair[0]);
                        width += 3;
                    }
                }
                if opts.buffer_format == BufferFormat::HexAscii {
                    out.extend(std::iter::repeat_n(b' ', 40 - width));
                    out.extend_from_slice(b"  ");
                    out.extend(chunk.iter().map(|&c| if is_print(c) { c } else { b'.' }));
                }
            }
            if !b.is_empty() {
                out.push(b'\n');
            }
        }
        BufferFormat::Base64 => write_base64(out, b),
    }
}

fn write_base64(out: &mut Vec<u8>, b: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in b.chunks(3) {
        let n = chunk.len();
        let v = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= n {
                out.push(ALPHABET[(v >> (18 - 6 * i)) as usize & 63]);
            } else {
                out.push(b'=');
            }
        }
    }
}

/// C's `%g`: six significant digits, trailing zeros removed, exponent form for exponents
/// below -4 or from 6 on.
fn write_g(out: &mut Vec<u8>, v: f64) {
    if v == 0.0 {
        out.push(b'0');
        return;
    }
    let sci = format!("{v:.5e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s.to_owned()
        }
    };
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        let _ = write!(out, "{}e{sign}{:02}", trim(mantissa), exp.abs());
    } else {
        let decimals = (5 - exp).max(0) as usize;
        let _ = write!(out, "{}", trim(&format!("{v:.decimals$}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventBuilder;

    fn args(b: &mut EventBuilder, ty: u16, res: &dyn Resolver) -> String {
        let ev = b.finish(0, 1, ty).unwrap();
        let mut out = Vec::new();
        write_args(&mut out, &ev, res, &RenderOptions::default(), &mut Vec::new());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn open_exit() {
        let mut b = EventBuilder::new();
        b.start()
            .param(&3i64.to_le_bytes())
            .param(b"/etc/ld.so.cache\0")
            .param(&4097u32.to_le_bytes())
            .param(&0u32.to_le_bytes());
        assert_eq!(
            args(&mut b, 3, &NoState),
            "fd=3 name=/etc/ld.so.cache flags=4097(O_RDONLY|O_CLOEXEC) mode=0 "
        );
    }

    #[test]
    fn errno_and_negative_fds() {
        let mut b = EventBuilder::new();
        b.start().param(&(-2i64).to_le_bytes());
        assert_eq!(args(&mut b, 5, &NoState), "res=-2(ENOENT) ");
        // close enter: fd -100 is AT_FDCWD, -9 EBADF
        b.start().param(&(-100i64).to_le_bytes());
        assert_eq!(args(&mut b, 4, &NoState), "fd=-100(AT_FDCWD) ");
    }

    struct Fake;
    impl Resolver for Fake {
        fn cwd(&self, _: i64) -> Option<&[u8]> {
            Some(b"/home/user/")
        }
        fn fd(&self, _: i64, fd: i64) -> Option<FdView<'_>> {
            (fd == 3).then_some(FdView { type_char: b'f', l4_char: None, name: b"/tmp/x\n" })
        }
        fn comm(&self, tid: i64) -> Option<&[u8]> {
            (tid == 1).then_some(b"cat")
        }
    }

    #[test]
    fn state_dependent_parts() {
        let mut b = EventBuilder::new();
        b.start().param(&3i64.to_le_bytes());
        assert_eq!(args(&mut b, 4, &Fake), "fd=3(<f>/tmp/x) ");
        // openat exit: a relative path against the cwd
        b.start()
            .param(&4i64.to_le_bytes())
            .param(&(-100i64).to_le_bytes())
            .param(b"../up/./x//y/\0");
        assert_eq!(
            args(&mut b, 307, &Fake),
            "fd=4 dirfd=-100(AT_FDCWD) name=../up/./x//y/(/home/up/x/y) "
        );
    }

    #[test]
    fn buffers_are_dotted_and_cut() {
        let mut out = Vec::new();
        write_buffer(&mut out, b"ab\0c\n", &RenderOptions::default());
        assert_eq!(out, b"ab.c.");
        out.clear();
        write_buffer(&mut out, &[b'x'; 81], &RenderOptions::default());
        assert_eq!(out.len(), 80);
        assert!(out.ends_with(b"x..."));
        out.clear();
        write_buffer(&mut out, &[b'x'; 80], &RenderOptions::default());
        assert_eq!(out, [b'x'; 80]);
        out.clear();
        write_base64(&mut out, b"hello");
        assert_eq!(out, b"aGVsbG8=");
    }

    #[test]
    fn percent_g() {
        let g = |v: f64| {
            let mut out = Vec::new();
            write_g(&mut out, v);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(g(1.5), "1.5");
        assert_eq!(g(1e-9), "1e-09");
        assert_eq!(g(1e-7), "1e-07");
        assert_eq!(g(123_456_789.012_345_67), "1.23457e+08");
        assert_eq!(g(0.001), "0.001");
        assert_eq!(g(100000.0), "100000");
    }

    #[test]
    fn flag_scan() {
        let names = [
            FlagName { name: "B", value: 2 },
            FlagName { name: "A", value: 1 },
            FlagName { name: "NONE", value: 0 },
        ];
        let f = |v| {
            let mut out = Vec::new();
            write_flag_names(&mut out, &names, v);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(f(3), "B|A");
        assert_eq!(f(1), "A");
        assert_eq!(f(0), "NONE");
        assert_eq!(f(8), "");
    }
}
