//! File descriptors: what an fd refers to, and the table of a process's fds.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

/// What kind of object an fd refers to (`scap_fd_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[expect(missing_docs, reason = "the variants mirror libs' SCAP_FD_* kinds")]
pub enum FdKind {
    Unknown,
    File,
    Directory,
    Ipv4Socket,
    Ipv6Socket,
    Ipv4Server,
    Ipv6Server,
    Fifo,
    Unix,
    Event,
    Unsupported,
    Signalfd,
    Eventpoll,
    Inotify,
    Timerfd,
    Netlink,
    Bpf,
    Userfaultfd,
    IoUring,
    Memfd,
    Pidfd,
}

impl FdKind {
    /// The letter `evt.args` and `fd.type_char` use for the kind.
    pub fn type_char(self) -> u8 {
        match self {
            FdKind::Unknown => b'o',
            FdKind::File => b'f',
            FdKind::Directory => b'd',
            FdKind::Ipv4Socket | FdKind::Ipv4Server => b'4',
            FdKind::Ipv6Socket | FdKind::Ipv6Server => b'6',
            FdKind::Fifo => b'p',
            FdKind::Unix => b'u',
            FdKind::Event => b'e',
            FdKind::Unsupported => b'X',
            FdKind::Signalfd => b's',
            FdKind::Eventpoll => b'l',
            FdKind::Inotify => b'i',
            FdKind::Timerfd => b't',
            FdKind::Netlink => b'n',
            FdKind::Bpf => b'b',
            FdKind::Userfaultfd => b'u',
            FdKind::IoUring => b'r',
            FdKind::Memfd => b'm',
            FdKind::Pidfd => b'P',
        }
    }

    /// The name `fd.type` prints.
    pub fn name(self) -> &'static str {
        match self {
            FdKind::Unknown => "unknown",
            FdKind::File => "file",
            FdKind::Directory => "directory",
            FdKind::Ipv4Socket | FdKind::Ipv4Server => "ipv4",
            FdKind::Ipv6Socket | FdKind::Ipv6Server => "ipv6",
            FdKind::Fifo => "pipe",
            FdKind::Unix => "unix",
            FdKind::Event => "event",
            FdKind::Unsupported => "unsupported",
            FdKind::Signalfd => "signalfd",
            FdKind::Eventpoll => "eventpoll",
            FdKind::Inotify => "inotify",
            FdKind::Timerfd => "timerfd",
            FdKind::Netlink => "netlink",
            FdKind::Bpf => "bpf",
            FdKind::Userfaultfd => "userfaultfd",
            FdKind::IoUring => "io_uring",
            FdKind::Memfd => "memfd",
            FdKind::Pidfd => "pidfd",
        }
    }

    /// Whether the fd is an IP socket (connected or listening).
    pub fn is_ip(self) -> bool {
        matches!(
            self,
            FdKind::Ipv4Socket | FdKind::Ipv6Socket | FdKind::Ipv4Server | FdKind::Ipv6Server
        )
    }

    /// Whether the fd is a socket of any family.
    pub fn is_socket(self) -> bool {
        self.is_ip() || matches!(self, FdKind::Unix | FdKind::Netlink)
    }
}

/// The layer-4 protocol of a socket (`SCAP_L4_*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum L4Proto {
    /// Not known.
    #[default]
    Unknown,
    /// Not applicable.
    Na,
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP.
    Icmp,
    /// Raw IP.
    Raw,
}

impl L4Proto {
    /// From the scap code.
    pub fn from_code(code: u8) -> L4Proto {
        match code {
            1 => L4Proto::Na,
            2 => L4Proto::Tcp,
            3 => L4Proto::Udp,
            4 => L4Proto::Icmp,
            5 => L4Proto::Raw,
            _ => L4Proto::Unknown,
        }
    }

    /// The letter after the type letter in `evt.args` (`<4t>`), if any.
    pub fn char(self) -> Option<u8> {
        match self {
            L4Proto::Tcp => Some(b't'),
            L4Proto::Udp => Some(b'u'),
            L4Proto::Icmp => Some(b'i'),
            L4Proto::Raw => Some(b'r'),
            L4Proto::Unknown | L4Proto::Na => None,
        }
    }

    /// The name `fd.l4proto` prints.
    pub fn name(self) -> &'static str {
        match self {
            L4Proto::Tcp => "tcp",
            L4Proto::Udp => "udp",
            L4Proto::Icmp => "icmp",
            L4Proto::Raw => "raw",
            L4Proto::Unknown | L4Proto::Na => "<NA>",
        }
    }
}

/// Which end of a connection this process is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Role {
    /// Not known (a socket neither connected nor accepted by an event we saw).
    #[default]
    None,
    /// It connected.
    Client,
    /// It accepted (or listens).
    Server,
}

/// The addresses of a socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SockAddrs {
    /// A connected (or addressed) IPv4 socket.
    V4 {
        /// Source address.
        sip: Ipv4Addr,
        /// Source port.
        sport: u16,
        /// Destination address.
        dip: Ipv4Addr,
        /// Destination port.
        dport: u16,
    },
    /// A connected IPv6 socket.
    V6 {
        /// Source address.
        sip: Ipv6Addr,
        /// Source port.
        sport: u16,
        /// Destination address.
        dip: Ipv6Addr,
        /// Destination port.
        dport: u16,
    },
    /// A listening IPv4 socket.
    V4Server {
        /// Bound address.
        ip: Ipv4Addr,
        /// Bound port.
        port: u16,
    },
    /// A listening IPv6 socket.
    V6Server {
        /// Bound address.
        ip: Ipv6Addr,
        /// Bound port.
        port: u16,
    },
    /// A unix socket: kernel addresses of both ends.
    Unix {
        /// This end.
        source: u64,
        /// The peer.
        dest: u64,
    },
}

/// One open file descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fd {
    /// What it refers to.
    pub kind: FdKind,
    /// Its name: an absolute path for files, `sip:sport->dip:dport` for connected IP sockets,
    /// the path of unix sockets, `pipe:[ino]`-like text for anonymous objects (may be empty).
    pub name: Vec<u8>,
    /// `PPM_O_*` flags it was opened with.
    pub open_flags: u32,
    /// Inode number, when known.
    pub ino: u64,
    /// Device number, when known.
    pub dev: u32,
    /// Socket addresses.
    pub addrs: Option<SockAddrs>,
    /// Socket protocol.
    pub l4proto: L4Proto,
    /// Socket role.
    pub role: Role,
}

impl Fd {
    /// An fd of a kind with a name and nothing else known.
    pub fn named(kind: FdKind, name: impl Into<Vec<u8>>) -> Fd {
        Fd {
            kind,
            name: name.into(),
            open_flags: 0,
            ino: 0,
            dev: 0,
            addrs: None,
            l4proto: L4Proto::Unknown,
            role: Role::None,
        }
    }

    /// The protocol as libsinsp reports it: connected IP sockets whose role is not known
    /// report none (only raw sockets always do), listening sockets always report theirs.
    pub fn effective_l4proto(&self) -> L4Proto {
        match self.kind {
            FdKind::Ipv4Server | FdKind::Ipv6Server => self.l4proto,
            FdKind::Ipv4Socket | FdKind::Ipv6Socket => {
                if self.l4proto == L4Proto::Raw {
                    L4Proto::Raw
                } else if self.role == Role::None {
                    L4Proto::Na
                } else {
                    self.l4proto
                }
            }
            _ => L4Proto::Na,
        }
    }
}

/// Renders socket addresses as libs names IP sockets.
pub fn sock_name(addrs: &SockAddrs) -> Vec<u8> {
    match addrs {
        SockAddrs::V4 { sip, sport, dip, dport } => {
            format!("{sip}:{sport}->{dip}:{dport}").into_bytes()
        }
        SockAddrs::V6 { sip, sport, dip, dport } => {
            format!("{sip}:{sport}->{dip}:{dport}").into_bytes()
        }
        SockAddrs::V4Server { ip, port } => format!("{ip}:{port}").into_bytes(),
        SockAddrs::V6Server { ip, port } => format!("{ip}:{port}").into_bytes(),
        SockAddrs::Unix { .. } => Vec::new(),
    }
}

/// Fds below this number are kept in a vector indexed by number: looking one up (the fd of
/// nearly every event) is an index, not a tree search. Processes rarely open more; larger
/// numbers go to an ordered map.
const DENSE_FDS: usize = 256;

/// The fds of one process, by number.
#[derive(Clone, Debug, Default)]
pub struct FdTable {
    /// Fds `0..DENSE_FDS`, at their number; grows to the largest one opened.
    dense: Vec<Option<Fd>>,
    /// How many of `dense` are open.
    dense_len: usize,
    /// Every other fd number (negative ones of a damaged capture included).
    sparse: BTreeMap<i64, Fd>,
}

/// The place of an fd number in [`FdTable::dense`], if it goes there.
#[inline]
fn dense_index(fd: i64) -> Option<usize> {
    usize::try_from(fd).ok().filter(|&i| i < DENSE_FDS)
}

impl FdTable {
    /// The fd with this number.
    #[inline]
    pub fn get(&self, fd: i64) -> Option<&Fd> {
        match dense_index(fd) {
            Some(i) => self.dense.get(i)?.as_ref(),
            None => self.sparse.get(&fd),
        }
    }

    /// The fd with this number, to change it.
    pub fn get_mut(&mut self, fd: i64) -> Option<&mut Fd> {
        match dense_index(fd) {
            Some(i) => self.dense.get_mut(i)?.as_mut(),
            None => self.sparse.get_mut(&fd),
        }
    }

    /// Adds (or replaces) an fd.
    pub fn insert(&mut self, fd: i64, info: Fd) {
        match dense_index(fd) {
            Some(i) => {
                if i >= self.dense.len() {
                    self.dense.resize_with(i + 1, || None);
                }
                if self.dense[i].replace(info).is_none() {
                    self.dense_len += 1;
                }
            }
            None => {
                self.sparse.insert(fd, info);
            }
        }
    }

    /// Removes an fd.
    pub fn remove(&mut self, fd: i64) -> Option<Fd> {
        match dense_index(fd) {
            Some(i) => {
                let removed = self.dense.get_mut(i)?.take();
                self.dense_len -= usize::from(removed.is_some());
                removed
            }
            None => self.sparse.remove(&fd),
        }
    }

    /// Number of open fds.
    pub fn len(&self) -> usize {
        self.dense_len + self.sparse.len()
    }

    /// Whether no fd is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All fds, by number.
    pub fn iter(&self) -> impl Iterator<Item = (i64, &Fd)> {
        let dense =
            self.dense.iter().enumerate().filter_map(|(n, f)| Some((n as i64, f.as_ref()?)));
        let sparse =
            |range: std::ops::RangeFrom<i64>| self.sparse.range(range).map(|(&n, f)| (n, f));
        self.sparse.range(..0).map(|(&n, f)| (n, f)).chain(dense).chain(sparse(DENSE_FDS as i64..))
    }

    /// Drops the fds opened with `O_CLOEXEC` (what execve does).
    pub fn close_on_exec(&mut self, cloexec_flag: u32) {
        for slot in &mut self.dense {
            if slot.as_ref().is_some_and(|f| f.open_flags & cloexec_flag != 0) {
                *slot = None;
                self.dense_len -= 1;
            }
        }
        self.sparse.retain(|_, f| f.open_flags & cloexec_flag == 0);
    }
}

/// Two tables are equal when they hold the same fds (however the vector grew).
impl PartialEq for FdTable {
    fn eq(&self, other: &FdTable) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for FdTable {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_holds_fds_of_any_number_in_order() {
        let mut t = FdTable::default();
        for n in [3, -1, 700, 0, 255, 256] {
            t.insert(n, Fd::named(FdKind::File, format!("/f{n}")));
        }
        t.insert(3, Fd::named(FdKind::Fifo, "again"));
        assert_eq!(t.len(), 6);
        let order: Vec<i64> = t.iter().map(|(n, _)| n).collect();
        assert_eq!(order, [-1, 0, 3, 255, 256, 700]);
        assert_eq!(t.get(3).map(|f| f.kind), Some(FdKind::Fifo));
        assert_eq!(t.get(4), None);
        assert_eq!(t.get(100_000), None);
        assert!(t.remove(255).is_some() && t.remove(255).is_none());
        assert!(t.remove(700).is_some() && t.remove(9).is_none());
        t.get_mut(0).unwrap().open_flags = 1;
        t.get_mut(-1).unwrap().open_flags = 1;
        t.close_on_exec(1);
        let order: Vec<i64> = t.iter().map(|(n, _)| n).collect();
        assert_eq!(order, [3, 256]);
        assert_eq!(t.len(), 2);
        // Equal whatever the vector's length.
        let mut u = FdTable::default();
        u.insert(256, Fd::named(FdKind::File, "/f256"));
        u.insert(3, Fd::named(FdKind::Fifo, "again"));
        assert_eq!(t, u);
        u.remove(3);
        assert_ne!(t, u);
    }
}
