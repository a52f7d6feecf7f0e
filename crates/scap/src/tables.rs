//! The metadata a capture carries before its events: machine, interfaces, users and groups,
//! threads and their file descriptors. Each block kind is decoded and encoded here, side by
//! side, so that the round trip is easy to check by eye.
//!
//! Every version libs has written is read. Writing always uses the newest layout that both the
//! 2022 libscap (Debian's sysdig) and current libs read correctly; where they disagree, the
//! choice is documented at the encoder.

use crate::bytes::{Cursor, Encoder};
use crate::error::ErrorKind;

/// Longest path-like string libs accepts (`SCAP_MAX_PATH_SIZE`).
pub const MAX_PATH: usize = 1024;
/// Longest argument, environment or cgroup list libs accepts (`SCAP_MAX_ARGS_SIZE`, ...).
pub const MAX_ARGS: usize = 4096;
/// Longest user name, home directory or shell the readers accept (`MAX_CREDENTIALS_STR_LEN`
/// is 256 including the NUL).
pub const MAX_CREDENTIAL: usize = 255;
/// Size of the machine info body; readers take exactly this many bytes.
pub const MACHINE_INFO_LEN: usize = 180;
/// Size of the hostname field of the machine info.
pub const HOSTNAME_LEN: usize = 128;

/// Everything a capture declares before (and besides) its events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tables {
    /// The section header's version.
    pub version: (u16, u16),
    /// The machine the capture was taken on, if the capture says.
    pub machine: Option<MachineInfo>,
    /// Network interfaces.
    pub interfaces: Vec<Interface>,
    /// Users.
    pub users: Vec<User>,
    /// Groups.
    pub groups: Vec<Group>,
    /// Threads alive when the capture started, in file order.
    pub threads: Vec<ThreadEntry>,
    /// Open file descriptors, one list per thread, in file order.
    pub fd_lists: Vec<FdList>,
}

/// The machine info block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MachineInfo {
    /// Number of CPUs.
    pub num_cpus: u32,
    /// Physical memory in bytes.
    pub memory_size_bytes: u64,
    /// Largest pid.
    pub max_pid: u64,
    /// Host name (at most 127 bytes).
    pub hostname: Vec<u8>,
    /// Boot time, ns since the epoch (0 in captures older than 2023).
    pub boot_ts_epoch: u64,
    /// Architecture (bits 63..56), OS (55..48) and other flags.
    pub flags: u64,
    /// Reserved.
    pub reserved3: u64,
    /// Reserved.
    pub reserved4: u64,
}

impl MachineInfo {
    /// The host name as text (lossy).
    pub fn hostname_str(&self) -> String {
        String::from_utf8_lossy(&self.hostname).into_owned()
    }
}

/// The address part of an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InterfaceAddr {
    /// IPv4: address, netmask, broadcast, as network-order bytes.
    V4 {
        /// Address.
        addr: [u8; 4],
        /// Netmask.
        netmask: [u8; 4],
        /// Broadcast address.
        bcast: [u8; 4],
    },
    /// IPv6: address, netmask, broadcast.
    V6 {
        /// Address.
        addr: [u8; 16],
        /// Netmask.
        netmask: [u8; 16],
        /// Broadcast address.
        bcast: [u8; 16],
    },
}

/// One network interface address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// Interface name, e.g. `eth0`.
    pub name: Vec<u8>,
    /// Addresses.
    pub addr: InterfaceAddr,
    /// Link speed (0 when unknown or not recorded).
    pub linkspeed: u64,
}

/// One user of the user list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct User {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Login name.
    pub name: Vec<u8>,
    /// Home directory.
    pub homedir: Vec<u8>,
    /// Login shell.
    pub shell: Vec<u8>,
}

/// One group of the user list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Group {
    /// Group id.
    pub gid: u32,
    /// Group name.
    pub name: Vec<u8>,
}

/// One thread of the process list: what `/proc` said about it when the capture started.
///
/// Fields a version does not carry hold libs' defaults: `-1` for sid, vpgid, vtid, vpid and
/// pgid, `u32::MAX` for loginuid, zero or empty otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
#[expect(missing_docs, reason = "fields are named after libs' scap_threadinfo, one to one")]
pub struct ThreadEntry {
    pub tid: u64,
    pub pid: u64,
    pub ptid: u64,
    pub sid: u64,
    pub vpgid: u64,
    pub comm: Vec<u8>,
    pub exe: Vec<u8>,
    pub exepath: Vec<u8>,
    /// Arguments after argv\[0\], each followed by a NUL.
    pub args: Vec<u8>,
    pub cwd: Vec<u8>,
    pub fdlimit: u64,
    /// `PPM_CL_*` bits.
    pub flags: u32,
    pub uid: u32,
    pub gid: u32,
    pub vmsize_kb: u32,
    pub vmrss_kb: u32,
    pub vmswap_kb: u32,
    pub pfmajor: u64,
    pub pfminor: u64,
    /// `KEY=VALUE` entries, each followed by a NUL.
    pub env: Vec<u8>,
    pub vtid: i64,
    pub vpid: i64,
    /// `subsystem=path` entries, each followed by a NUL.
    pub cgroups: Vec<u8>,
    pub root: Vec<u8>,
    pub pidns_init_start_ts: u64,
    pub tty: u32,
    pub loginuid: u32,
    pub exe_writable: bool,
    pub cap_inheritable: u64,
    pub cap_permitted: u64,
    pub cap_effective: u64,
    pub exe_upper_layer: bool,
    pub exe_ino: u64,
    pub exe_ino_ctime: u64,
    pub exe_ino_mtime: u64,
    pub exe_from_memfd: bool,
    pub exe_lower_layer: bool,
    pub pgid: i64,
}

impl Default for ThreadEntry {
    fn default() -> Self {
        ThreadEntry {
            tid: 0,
            pid: 0,
            ptid: 0,
            sid: u64::MAX,
            vpgid: u64::MAX,
            comm: Vec::new(),
            exe: Vec::new(),
            exepath: Vec::new(),
            args: Vec::new(),
            cwd: Vec::new(),
            fdlimit: 0,
            flags: 0,
            uid: 0,
            gid: 0,
            vmsize_kb: 0,
            vmrss_kb: 0,
            vmswap_kb: 0,
            pfmajor: 0,
            pfminor: 0,
            env: Vec::new(),
            vtid: -1,
            vpid: -1,
            cgroups: Vec::new(),
            root: Vec::new(),
            pidns_init_start_ts: 0,
            tty: 0,
            loginuid: u32::MAX,
            exe_writable: false,
            cap_inheritable: 0,
            cap_permitted: 0,
            cap_effective: 0,
            exe_upper_layer: false,
            exe_ino: 0,
            exe_ino_ctime: 0,
            exe_ino_mtime: 0,
            exe_from_memfd: false,
            exe_lower_layer: false,
            pgid: -1,
        }
    }
}

/// The open file descriptors of one thread.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FdList {
    /// The thread.
    pub tid: u64,
    /// Its descriptors.
    pub fds: Vec<FdEntry>,
}

/// One open file descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdEntry {
    /// Descriptor number.
    pub fd: i64,
    /// Inode number.
    pub ino: u64,
    /// What it refers to.
    pub info: FdInfo,
}

/// The kinds of descriptors that carry nothing but a name (`scap_fd_type` codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[expect(missing_docs, reason = "the variants mirror libs' SCAP_FD_* names")]
pub enum NamedFdKind {
    File = 1,
    Directory = 2,
    Fifo = 7,
    Event = 9,
    Unsupported = 10,
    Signalfd = 11,
    Eventpoll = 12,
    Inotify = 13,
    Timerfd = 14,
    Netlink = 15,
    Bpf = 17,
    Userfaultfd = 18,
    IoUring = 19,
    Memfd = 20,
    Pidfd = 21,
}

impl NamedFdKind {
    fn from_code(code: u8) -> Option<Self> {
        use NamedFdKind::*;
        Some(match code {
            1 => File,
            2 => Directory,
            7 => Fifo,
            9 => Event,
            10 => Unsupported,
            11 => Signalfd,
            12 => Eventpoll,
            13 => Inotify,
            14 => Timerfd,
            15 => Netlink,
            17 => Bpf,
            18 => Userfaultfd,
            19 => IoUring,
            20 => Memfd,
            21 => Pidfd,
            _ => return None,
        })
    }
}

/// What a file descriptor refers to, by `scap_fd_type`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FdInfo {
    /// A descriptor known only by its name (files, directories, pipes, eventfds ...).
    Named {
        /// The kind.
        kind: NamedFdKind,
        /// Its name (a path, or `pipe:[123]`-like text).
        name: Vec<u8>,
    },
    /// A file with its open flags (`SCAP_FD_FILE_V2`).
    File {
        /// `PPM_O_*` open flags.
        open_flags: u32,
        /// Path.
        name: Vec<u8>,
        /// Device number, when the writer recorded it.
        dev: Option<u32>,
    },
    /// A connected IPv4 socket.
    Ipv4Socket {
        /// Source address (network order bytes).
        sip: [u8; 4],
        /// Destination address.
        dip: [u8; 4],
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// Layer 4 protocol (`SCAP_L4_*`).
        l4proto: u8,
    },
    /// A connected IPv6 socket.
    Ipv6Socket {
        /// Source address.
        sip: [u8; 16],
        /// Destination address.
        dip: [u8; 16],
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// Layer 4 protocol.
        l4proto: u8,
    },
    /// A listening IPv4 socket.
    Ipv4Server {
        /// Bound address.
        ip: [u8; 4],
        /// Bound port.
        port: u16,
        /// Layer 4 protocol.
        l4proto: u8,
    },
    /// A listening IPv6 socket.
    Ipv6Server {
        /// Bound address.
        ip: [u8; 16],
        /// Bound port.
        port: u16,
        /// Layer 4 protocol.
        l4proto: u8,
    },
    /// A unix socket.
    Unix {
        /// Kernel address of this end.
        source: u64,
        /// Kernel address of the peer.
        dest: u64,
        /// Path, if bound to one.
        name: Vec<u8>,
    },
    /// A type this reader does not know; current libs keeps it as unsupported. Only V2 entries
    /// (which carry their length) can hold one.
    Unknown {
        /// The `scap_fd_type` code.
        code: u8,
    },
}

impl FdInfo {
    /// The `scap_fd_type` code of this descriptor.
    pub fn code(&self) -> u8 {
        match self {
            FdInfo::Named { kind, .. } => *kind as u8,
            FdInfo::File { .. } => 16,
            FdInfo::Ipv4Socket { .. } => 3,
            FdInfo::Ipv6Socket { .. } => 4,
            FdInfo::Ipv4Server { .. } => 5,
            FdInfo::Ipv6Server { .. } => 6,
            FdInfo::Unix { .. } => 8,
            FdInfo::Unknown { code } => *code,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Machine info

pub(crate) fn read_machine_info(body: &[u8]) -> Result<MachineInfo, ErrorKind> {
    let mut c = Cursor::new(body);
    let num_cpus = c.u32("machine info")?;
    let memory_size_bytes = c.u64("machine info")?;
    let max_pid = c.u64("machine info")?;
    let host = c.bytes(HOSTNAME_LEN, "machine info hostname")?;
    let hostname = host[..host.iter().position(|&b| b == 0).unwrap_or(host.len())].to_vec();
    Ok(MachineInfo {
        num_cpus,
        memory_size_bytes,
        max_pid,
        hostname,
        boot_ts_epoch: c.u64("machine info")?,
        flags: c.u64("machine info")?,
        reserved3: c.u64("machine info")?,
        reserved4: c.u64("machine info")?,
    })
}

pub(crate) fn write_machine_info(e: &mut Encoder, m: &MachineInfo) {
    e.u32(m.num_cpus);
    e.u64(m.memory_size_bytes);
    e.u64(m.max_pid);
    let mut host = [0u8; HOSTNAME_LEN];
    let n = m.hostname.len().min(HOSTNAME_LEN - 1);
    host[..n].copy_from_slice(&m.hostname[..n]);
    e.bytes(&host);
    e.u64(m.boot_ts_epoch);
    e.u64(m.flags);
    e.u64(m.reserved3);
    e.u64(m.reserved4);
}

// ---------------------------------------------------------------------------------------------
// Interface list

const IF_IPV4: u16 = 1;
const IF_IPV6: u16 = 2;
const IF_IPV4_NOLINKSPEED: u16 = 3;
const IF_IPV6_NOLINKSPEED: u16 = 4;
const MAX_IFNAME: usize = 1023;

fn read_interface(c: &mut Cursor<'_>) -> Result<Interface, ErrorKind> {
    let ty = c.u16("interface type")?;
    let namelen = usize::from(c.u16("interface name length")?);
    if namelen > MAX_IFNAME {
        return Err(ErrorKind::Corrupt(format!("interface name is {namelen} bytes long")));
    }
    let (addr, linkspeed) = match ty {
        IF_IPV4 | IF_IPV4_NOLINKSPEED => {
            let addr = InterfaceAddr::V4 {
                addr: c.array("interface address")?,
                netmask: c.array("interface netmask")?,
                bcast: c.array("interface broadcast")?,
            };
            (addr, if ty == IF_IPV4 { c.u64("interface link speed")? } else { 0 })
        }
        IF_IPV6 | IF_IPV6_NOLINKSPEED => {
            let addr = InterfaceAddr::V6 {
                addr: c.array("interface address")?,
                netmask: c.array("interface netmask")?,
                bcast: c.array("interface broadcast")?,
            };
            (addr, if ty == IF_IPV6 { c.u64("interface link speed")? } else { 0 })
        }
        other => return Err(ErrorKind::Corrupt(format!("unknown interface type {other}"))),
    };
    let name = c.bytes(namelen, "interface name")?.to_vec();
    Ok(Interface { name, addr, linkspeed })
}

pub(crate) fn read_interface_list(body: &[u8], version: u8) -> Result<Vec<Interface>, ErrorKind> {
    let mut c = Cursor::new(body);
    let mut out = Vec::new();
    while c.remaining() >= 4 {
        if version >= 2 {
            // The V2 entry length counts the entry after the length field itself.
            let len = c.u32("interface entry length")? as usize;
            let entry = c.bytes(len, "interface entry")?;
            out.push(read_interface(&mut Cursor::new(entry))?);
        } else {
            out.push(read_interface(&mut c)?);
        }
    }
    Ok(out)
}

/// Writes an `IL_V2` body: IPv4 entries first, then IPv6, as libs does.
pub(crate) fn write_interface_list(e: &mut Encoder, list: &[Interface]) {
    let v4 = list.iter().filter(|i| matches!(i.addr, InterfaceAddr::V4 { .. }));
    let v6 = list.iter().filter(|i| matches!(i.addr, InterfaceAddr::V6 { .. }));
    for i in v4.chain(v6) {
        let at = e.len_placeholder();
        let name = &i.name[..i.name.len().min(MAX_IFNAME)];
        match &i.addr {
            InterfaceAddr::V4 { addr, netmask, bcast } => {
                e.u16(IF_IPV4);
                e.u16(name.len() as u16);
                e.bytes(addr);
                e.bytes(netmask);
                e.bytes(bcast);
            }
            InterfaceAddr::V6 { addr, netmask, bcast } => {
                e.u16(IF_IPV6);
                e.u16(name.len() as u16);
                e.bytes(addr);
                e.bytes(netmask);
                e.bytes(bcast);
            }
        }
        e.u64(i.linkspeed);
        e.bytes(name);
        e.patch_len(at, false);
    }
}

// ---------------------------------------------------------------------------------------------
// User list

pub(crate) fn read_user_list(
    body: &[u8],
    version: u8,
) -> Result<(Vec<User>, Vec<Group>), ErrorKind> {
    let mut c = Cursor::new(body);
    let (mut users, mut groups) = (Vec::new(), Vec::new());
    while c.remaining() >= 4 {
        let start = c.pos();
        let len = if version >= 2 { Some(c.u32("user list entry length")? as usize) } else { None };
        let ty = c.u8("user list entry type")?;
        if ty == 0 {
            users.push(User {
                uid: c.u32("user id")?,
                gid: c.u32("user group id")?,
                name: c.s16(MAX_CREDENTIAL, "user name")?,
                homedir: c.s16(MAX_CREDENTIAL, "user home directory")?,
                shell: c.s16(MAX_CREDENTIAL, "user shell")?,
            });
        } else {
            groups.push(Group {
                gid: c.u32("group id")?,
                name: c.s16(MAX_CREDENTIAL, "group name")?,
            });
        }
        if let Some(len) = len {
            let used = c.pos() - start;
            if used > len {
                return Err(ErrorKind::Corrupt(format!(
                    "user list entry declares {len} bytes but holds {used}"
                )));
            }
            c.skip(len - used, "user list entry")?;
        }
    }
    Ok((users, groups))
}

/// Writes a `UL_V2` body: users, then groups.
pub(crate) fn write_user_list(e: &mut Encoder, users: &[User], groups: &[Group]) {
    for u in users {
        let at = e.len_placeholder();
        e.u8(0);
        e.u32(u.uid);
        e.u32(u.gid);
        e.s16(&u.name, MAX_CREDENTIAL);
        e.s16(&u.homedir, MAX_CREDENTIAL);
        e.s16(&u.shell, MAX_CREDENTIAL);
        e.patch_len(at, true);
    }
    for g in groups {
        let at = e.len_placeholder();
        e.u8(1);
        e.u32(g.gid);
        e.s16(&g.name, MAX_CREDENTIAL);
        e.patch_len(at, true);
    }
}

// ---------------------------------------------------------------------------------------------
// Process list

/// Reads one entry of a process list of the given version (1..=9).
fn read_thread(c: &mut Cursor<'_>, version: u8) -> Result<ThreadEntry, ErrorKind> {
    let start = c.pos();
    let len = if version >= 9 { Some(c.u32("process entry length")? as usize) } else { None };
    let mut t = ThreadEntry {
        tid: c.u64("process entry tid")?,
        pid: c.u64("process entry pid")?,
        ptid: c.u64("process entry ptid")?,
        ..ThreadEntry::default()
    };
    if version >= 6 {
        t.sid = c.u64("process entry sid")?;
    }
    if version >= 8 {
        t.vpgid = c.u64("process entry vpgid")?;
    }
    t.comm = c.s16(MAX_PATH, "process comm")?;
    t.exe = c.s16(MAX_PATH, "process exe")?;
    if version >= 7 {
        t.exepath = c.s16(MAX_PATH, "process exepath")?;
    }
    t.args = c.s16(MAX_ARGS, "process args")?;
    t.cwd = c.s16(MAX_PATH, "process cwd")?;
    t.fdlimit = c.u64("process fdlimit")?;
    t.flags = c.u32("process flags")?;
    t.uid = c.u32("process uid")?;
    t.gid = c.u32("process gid")?;
    if version >= 2 {
        t.vmsize_kb = c.u32("process vmsize")?;
        t.vmrss_kb = c.u32("process vmrss")?;
        t.vmswap_kb = c.u32("process vmswap")?;
        t.pfmajor = c.u64("process pfmajor")?;
        t.pfminor = c.u64("process pfminor")?;
    }
    if version >= 3 {
        t.env = c.s16(MAX_ARGS, "process env")?;
    }
    if version >= 4 {
        t.vtid = c.i64("process vtid")?;
        t.vpid = c.i64("process vpid")?;
        t.cgroups = c.s16(MAX_ARGS, "process cgroups")?;
    }
    if version >= 5 {
        t.root = c.s16(MAX_PATH, "process root")?;
    }
    let Some(len) = len else { return Ok(t) };
    let used = c.pos() - start;
    if used > len {
        return Err(ErrorKind::Corrupt(format!(
            "process entry declares {len} bytes but its fields take {used}"
        )));
    }
    // The optional tail, told apart by its size as current libs does: up to 29 bytes is the
    // layout written until libs 0.10 (loginuid first), more is the newer one.
    let rest = len - used;
    let mut tail = Cursor::new(c.bytes(rest, "process entry")?);
    let fits = |tail: &Cursor<'_>, n: usize| tail.remaining() >= n;
    if rest > 29 {
        t.pidns_init_start_ts = tail.u64("process pidns start")?;
        if fits(&tail, 4) {
            t.tty = tail.u32("process tty")?;
        }
    }
    if fits(&tail, 4) {
        t.loginuid = tail.u32("process loginuid")?;
    }
    if fits(&tail, 1) {
        t.exe_writable = tail.u8("process exe_writable")? != 0;
    }
    if fits(&tail, 8) {
        t.cap_inheritable = tail.u64("process capabilities")?;
    }
    if fits(&tail, 8) {
        t.cap_permitted = tail.u64("process capabilities")?;
    }
    if fits(&tail, 8) {
        t.cap_effective = tail.u64("process capabilities")?;
    }
    if fits(&tail, 1) {
        t.exe_upper_layer = tail.u8("process exe_upper_layer")? != 0;
    }
    if fits(&tail, 8) {
        t.exe_ino = tail.u64("process exe inode")?;
    }
    if fits(&tail, 8) {
        t.exe_ino_ctime = tail.u64("process exe ctime")?;
    }
    if fits(&tail, 8) {
        t.exe_ino_mtime = tail.u64("process exe mtime")?;
    }
    if fits(&tail, 1) {
        t.exe_from_memfd = tail.u8("process exe_from_memfd")? != 0;
    }
    if fits(&tail, 1) {
        t.exe_lower_layer = tail.u8("process exe_lower_layer")? != 0;
    }
    if fits(&tail, 8) {
        t.pgid = tail.i64("process pgid")?;
    }
    Ok(t)
}

pub(crate) fn read_process_list(body: &[u8], version: u8) -> Result<Vec<ThreadEntry>, ErrorKind> {
    let mut c = Cursor::new(body);
    let mut out = Vec::new();
    while c.remaining() >= 4 {
        out.push(read_thread(&mut c, version)?);
    }
    Ok(out)
}

/// Writes a `PL_V9` body.
///
/// The tail uses the layout of libs >= 0.10 (pidns start, tty, loginuid, ..., pgid): it is the
/// one current libs and Falco read completely. Debian's 2022 sysdig reads its first field as the
/// loginuid and so shows a wrong `user.loginuid` for threads of the process list; nothing else
/// it prints depends on the tail.
pub(crate) fn write_process_list(e: &mut Encoder, threads: &[ThreadEntry]) {
    for t in threads {
        let at = e.len_placeholder();
        e.u64(t.tid);
        e.u64(t.pid);
        e.u64(t.ptid);
        e.u64(t.sid);
        e.u64(t.vpgid);
        e.s16(&t.comm, MAX_PATH);
        e.s16(&t.exe, MAX_PATH);
        e.s16(&t.exepath, MAX_PATH);
        e.s16(&t.args, MAX_ARGS);
        e.s16(&t.cwd, MAX_PATH);
        e.u64(t.fdlimit);
        e.u32(t.flags);
        e.u32(t.uid);
        e.u32(t.gid);
        e.u32(t.vmsize_kb);
        e.u32(t.vmrss_kb);
        e.u32(t.vmswap_kb);
        e.u64(t.pfmajor);
        e.u64(t.pfminor);
        e.s16(&t.env, MAX_ARGS);
        e.i64(t.vtid);
        e.i64(t.vpid);
        e.s16(&t.cgroups, MAX_ARGS);
        e.s16(&t.root, MAX_PATH);
        e.u64(t.pidns_init_start_ts);
        e.u32(t.tty);
        e.u32(t.loginuid);
        e.u8(u8::from(t.exe_writable));
        e.u64(t.cap_inheritable);
        e.u64(t.cap_permitted);
        e.u64(t.cap_effective);
        e.u8(u8::from(t.exe_upper_layer));
        e.u64(t.exe_ino);
        e.u64(t.exe_ino_ctime);
        e.u64(t.exe_ino_mtime);
        e.u8(u8::from(t.exe_from_memfd));
        e.u8(u8::from(t.exe_lower_layer));
        e.i64(t.pgid);
        e.patch_len(at, true);
    }
}

// ---------------------------------------------------------------------------------------------
// FD list

fn read_fd_info(c: &mut Cursor<'_>, code: u8, has_len: bool) -> Result<FdInfo, ErrorKind> {
    let name = |c: &mut Cursor<'_>| c.s16(MAX_PATH - 1, "fd name");
    Ok(match code {
        3 => FdInfo::Ipv4Socket {
            sip: c.array("fd source address")?,
            dip: c.array("fd destination address")?,
            sport: c.u16("fd source port")?,
            dport: c.u16("fd destination port")?,
            l4proto: c.u8("fd protocol")?,
        },
        4 => FdInfo::Ipv6Socket {
            sip: c.array("fd source address")?,
            dip: c.array("fd destination address")?,
            sport: c.u16("fd source port")?,
            dport: c.u16("fd destination port")?,
            l4proto: c.u8("fd protocol")?,
        },
        5 => FdInfo::Ipv4Server {
            ip: c.array("fd address")?,
            port: c.u16("fd port")?,
            l4proto: c.u8("fd protocol")?,
        },
        6 => FdInfo::Ipv6Server {
            ip: c.array("fd address")?,
            port: c.u16("fd port")?,
            l4proto: c.u8("fd protocol")?,
        },
        8 => FdInfo::Unix {
            source: c.u64("fd unix source")?,
            dest: c.u64("fd unix destination")?,
            name: name(c)?,
        },
        16 => {
            let open_flags = c.u32("fd open flags")?;
            let name = name(c)?;
            let dev = if has_len && c.remaining() >= 4 { Some(c.u32("fd device")?) } else { None };
            FdInfo::File { open_flags, name, dev }
        }
        other => match NamedFdKind::from_code(other) {
            Some(kind) => FdInfo::Named { kind, name: name(c)? },
            // Without an entry length there is no way to skip what we cannot parse.
            None if has_len => FdInfo::Unknown { code: other },
            None => return Err(ErrorKind::Corrupt(format!("unknown fd type {other}"))),
        },
    })
}

pub(crate) fn read_fd_list(body: &[u8], version: u8) -> Result<FdList, ErrorKind> {
    let mut c = Cursor::new(body);
    let tid = c.u64("fd list tid")?;
    let mut fds = Vec::new();
    while c.remaining() >= 4 {
        if version >= 2 {
            let len = c.u32("fd entry length")? as usize;
            if len < 4 {
                return Err(ErrorKind::Corrupt(format!("fd entry length {len} is too small")));
            }
            let mut entry = Cursor::new(c.bytes(len - 4, "fd entry")?);
            let fd = entry.i64("fd number")?;
            let ino = entry.u64("fd inode")?;
            let code = entry.u8("fd type")?;
            let info = read_fd_info(&mut entry, code, true)?;
            fds.push(FdEntry { fd, ino, info });
        } else {
            let fd = c.i64("fd number")?;
            let ino = c.u64("fd inode")?;
            let code = c.u8("fd type")?;
            let info = read_fd_info(&mut c, code, false)?;
            fds.push(FdEntry { fd, ino, info });
        }
    }
    Ok(FdList { tid, fds })
}

/// Writes an `FDL_V2` body.
///
/// Kinds the 2022 libscap does not know (bpf, userfaultfd, io_uring, memfd, pidfd, and unknown
/// codes) are written as `UNSUPPORTED` with their name, which every reader accepts; current
/// libs reads those the same way when it meets them in `/proc`-less captures.
pub(crate) fn write_fd_list(e: &mut Encoder, list: &FdList) {
    e.u64(list.tid);
    for f in &list.fds {
        let at = e.len_placeholder();
        e.i64(f.fd);
        e.u64(f.ino);
        match &f.info {
            FdInfo::Named { kind, name } => {
                let code =
                    if (*kind as u8) > 16 { NamedFdKind::Unsupported as u8 } else { *kind as u8 };
                e.u8(code);
                e.s16(name, MAX_PATH - 1);
            }
            FdInfo::File { open_flags, name, dev } => {
                e.u8(16);
                e.u32(*open_flags);
                e.s16(name, MAX_PATH - 1);
                if let Some(dev) = dev {
                    e.u32(*dev);
                }
            }
            FdInfo::Ipv4Socket { sip, dip, sport, dport, l4proto } => {
                e.u8(3);
                e.bytes(sip);
                e.bytes(dip);
                e.u16(*sport);
                e.u16(*dport);
                e.u8(*l4proto);
            }
            FdInfo::Ipv6Socket { sip, dip, sport, dport, l4proto } => {
                e.u8(4);
                e.bytes(sip);
                e.bytes(dip);
                e.u16(*sport);
                e.u16(*dport);
                e.u8(*l4proto);
            }
            FdInfo::Ipv4Server { ip, port, l4proto } => {
                e.u8(5);
                e.bytes(ip);
                e.u16(*port);
                e.u8(*l4proto);
            }
            FdInfo::Ipv6Server { ip, port, l4proto } => {
                e.u8(6);
                e.bytes(ip);
                e.u16(*port);
                e.u8(*l4proto);
            }
            FdInfo::Unix { source, dest, name } => {
                e.u8(8);
                e.u64(*source);
                e.u64(*dest);
                e.s16(name, MAX_PATH - 1);
            }
            FdInfo::Unknown { code } => {
                e.u8(NamedFdKind::Unsupported as u8);
                e.s16(format!("unknown-type:[{code}]").as_bytes(), MAX_PATH - 1);
            }
        }
        e.patch_len(at, true);
    }
}
