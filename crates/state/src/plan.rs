//! What the state does with each event type, worked out once from the event table so that
//! applying an event looks nothing up by name: which parser handles it, where its `fd`, `res`
//! and memory counters are, where every parameter its parser reads is, whether it creates
//! threads or interrupts a syscall's two halves.

use std::sync::LazyLock;

use lanner_event::table::{EVENT_MAX, EventFlags, EventInfo, event_info};

use crate::parse::code;

/// The parser of an exit event (or of an event without two halves that changes state).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Parser {
    None,
    Clone,
    Execve,
    Open,
    Socket,
    Connect,
    Accept,
    Bind,
    Close,
    Dup,
    Fcntl,
    Pipe,
    Socketpair,
    Eventfd,
    Signalfd,
    Timerfd,
    Inotify,
    Epoll,
    Userfaultfd,
    IoUring,
    Pidfd,
    Memfd,
    Bpf,
    Chdir,
    Fchdir,
    Chroot,
    Setuid,
    Setgid,
    Setsid,
    Setpgid,
    Capset,
    Prctl,
    Datagram,
    /// Container events (`container`, `container_json`, `container_json_2`): metadata of a
    /// container, without two halves.
    Container,
}

impl Parser {
    fn for_name(name: &str) -> Parser {
        match name {
            "clone" | "fork" | "vfork" | "clone3" => Parser::Clone,
            "execve" | "execveat" => Parser::Execve,
            "open" | "openat" | "openat2" | "creat" | "open_by_handle_at" => Parser::Open,
            "socket" => Parser::Socket,
            "connect" => Parser::Connect,
            "accept" | "accept4" => Parser::Accept,
            "bind" => Parser::Bind,
            "close" => Parser::Close,
            "dup" | "dup2" | "dup3" => Parser::Dup,
            "fcntl" => Parser::Fcntl,
            "pipe" | "pipe2" => Parser::Pipe,
            "socketpair" => Parser::Socketpair,
            "eventfd" | "eventfd2" => Parser::Eventfd,
            "signalfd" | "signalfd4" => Parser::Signalfd,
            "timerfd_create" => Parser::Timerfd,
            "inotify_init" | "inotify_init1" => Parser::Inotify,
            "epoll_create" | "epoll_create1" => Parser::Epoll,
            "userfaultfd" => Parser::Userfaultfd,
            "io_uring_setup" => Parser::IoUring,
            "pidfd_open" | "pidfd_getfd" => Parser::Pidfd,
            "memfd_create" => Parser::Memfd,
            "bpf" => Parser::Bpf,
            "chdir" => Parser::Chdir,
            "fchdir" => Parser::Fchdir,
            "chroot" => Parser::Chroot,
            "setuid" | "setresuid" | "setreuid" => Parser::Setuid,
            "setgid" | "setresgid" | "setregid" => Parser::Setgid,
            "setsid" => Parser::Setsid,
            "setpgid" => Parser::Setpgid,
            "capset" => Parser::Capset,
            "prctl" => Parser::Prctl,
            "sendto" | "sendmsg" | "recvfrom" | "recvmsg" => Parser::Datagram,
            _ => Parser::None,
        }
    }
}

/// Where an exit event's fd comes from (libsinsp's `m_lastevent_fd`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FdOfExit {
    /// The event is about no fd.
    None,
    /// A call that creates fds: the first of these parameters present, if non-negative.
    Created([Option<u8>; 3]),
    /// A call that uses or destroys an fd: its `fd` parameter, else the enter event's first.
    Used(Option<u8>),
}

/// Indexes of the memory counters an event carries (execve and friends report them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    pub(crate) vm_size: Option<u8>,
    pub(crate) vm_rss: Option<u8>,
    pub(crate) vm_swap: Option<u8>,
    pub(crate) pgft_maj: Option<u8>,
    pub(crate) pgft_min: Option<u8>,
}

/// Declares [`P`], the parameters the parsers read, with their names in the event table.
macro_rules! params {
    ($($variant:ident = $name:literal,)*) => {
        /// A parameter the parsers read, by its name in the event table. Names are stable
        /// across the versions of an event (libs only appends parameters or makes a new event
        /// type); where each is in an event type is worked out once ([`ParamIndex`]).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum P {
            $($variant,)*
        }

        impl P {
            /// The names, in the order of the variants.
            const NAMES: &[&str] = &[$($name,)*];
        }
    };
}

params! {
    Addr = "addr",
    Arg2Str = "arg2_str",
    Args = "args",
    CapEffective = "cap_effective",
    CapInheritable = "cap_inheritable",
    CapPermitted = "cap_permitted",
    Cgroups = "cgroups",
    Cmd = "cmd",
    Comm = "comm",
    Cwd = "cwd",
    Dev = "dev",
    Dirfd = "dirfd",
    Domain = "domain",
    Egid = "egid",
    Env = "env",
    Euid = "euid",
    Exe = "exe",
    ExeIno = "exe_ino",
    ExeInoCtime = "exe_ino_ctime",
    ExeInoMtime = "exe_ino_mtime",
    Fd = "fd",
    Fd1 = "fd1",
    Fd2 = "fd2",
    Fdlimit = "fdlimit",
    Flags = "flags",
    Gid = "gid",
    Ino = "ino",
    Loginuid = "loginuid",
    Name = "name",
    Oldfd = "oldfd",
    Option = "option",
    Path = "path",
    Peer = "peer",
    PgftMaj = "pgft_maj",
    PgftMin = "pgft_min",
    Pgid = "pgid",
    Pid = "pid",
    PidnsInitStartTs = "pidns_init_start_ts",
    Proto = "proto",
    Ptid = "ptid",
    Res = "res",
    ResOrFd = "res_or_fd",
    Source = "source",
    TrustedExepath = "trusted_exepath",
    Tty = "tty",
    Tuple = "tuple",
    Type = "type",
    Uid = "uid",
    VmRss = "vm_rss",
    VmSize = "vm_size",
    VmSwap = "vm_swap",
    Vpgid = "vpgid",
    Vpid = "vpid",
    Vtid = "vtid",
}

/// Where each parameter of [`P`] is in an event type: its index, if the type has it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ParamIndex([u8; P::NAMES.len()]);

impl ParamIndex {
    /// Not in the event type.
    const ABSENT: u8 = u8::MAX;

    fn of(info: &EventInfo) -> ParamIndex {
        let mut index = [ParamIndex::ABSENT; P::NAMES.len()];
        for (slot, name) in index.iter_mut().zip(P::NAMES) {
            // The first parameter of that name, as a lookup by name finds it.
            let at = info.params.iter().position(|p| p.name == *name);
            if let Some(at) = at.and_then(|i| u8::try_from(i).ok()).filter(|&i| i != Self::ABSENT) {
                *slot = at;
            }
        }
        ParamIndex(index)
    }

    /// The index of `p` in the event type, if it has it (an event recorded by an older driver
    /// may still hold fewer parameters: [`lanner_event::RawEvent::param`] says).
    #[inline]
    pub(crate) fn get(&self, p: P) -> Option<usize> {
        let i = self.0[p as usize];
        (i != ParamIndex::ABSENT).then_some(usize::from(i))
    }
}

/// What applying an event of one type involves.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TypePlan {
    /// Never creates a thread for an unknown tid, and does not reset the thread's syscall
    /// (scheduler switches, `EF_SKIPPARSERESET` and unused events, unknown codes).
    pub(crate) creates_no_thread: bool,
    /// An internal event: it does not interrupt a syscall's two halves.
    pub(crate) internal: bool,
    /// An enter event whose first parameter is the fd it uses.
    pub(crate) uses_fd: bool,
    /// A process exit (enter-only event).
    pub(crate) procexit: bool,
    pub(crate) fd_of_exit: FdOfExit,
    pub(crate) parser: Parser,
    /// Memory counters to copy to the thread (never for the clone family, whose child
    /// reports fresh values that libsinsp does not keep).
    pub(crate) counters: Option<Counters>,
    /// Whether the event changes what the state knows of threads, fds, users or containers
    /// (beyond the thread's activity, its syscall in flight and its memory counters): it has a
    /// parser or ends a process.
    pub(crate) changes_state: bool,
    /// Where the parameters the parsers read are.
    pub(crate) params: ParamIndex,
}

const UNKNOWN: TypePlan = TypePlan {
    creates_no_thread: true,
    internal: false,
    uses_fd: false,
    procexit: false,
    fd_of_exit: FdOfExit::None,
    parser: Parser::None,
    counters: None,
    changes_state: false,
    params: ParamIndex([ParamIndex::ABSENT; P::NAMES.len()]),
};

static PLANS: LazyLock<Vec<TypePlan>> =
    LazyLock::new(|| (0..EVENT_MAX as u16).map(plan_of).collect());

/// The plan of an event type.
pub(crate) fn plan(event_type: u16) -> &'static TypePlan {
    PLANS.get(usize::from(event_type)).unwrap_or(&UNKNOWN)
}

fn plan_of(ty: u16) -> TypePlan {
    let Some(info) = event_info(ty) else { return UNKNOWN };
    let index = |name: &str| {
        info.params.iter().position(|p| p.name == name).and_then(|i| u8::try_from(i).ok())
    };
    let flags = info.flags;
    let fd_of_exit = if flags.contains(EventFlags::CREATES_FD) {
        FdOfExit::Created([index("fd"), index("fd1"), index("res")])
    } else if flags.0 & (EventFlags::USES_FD | EventFlags::DESTROYS_FD) != 0 {
        FdOfExit::Used(index("fd"))
    } else {
        FdOfExit::None
    };
    let counters = Counters {
        vm_size: index("vm_size"),
        vm_rss: index("vm_rss"),
        vm_swap: index("vm_swap"),
        pgft_maj: index("pgft_maj"),
        pgft_min: index("pgft_min"),
    };
    let clone_family = matches!(info.name, "clone" | "fork" | "vfork" | "clone3");
    let has_counters = counters.vm_size.is_some() || counters.pgft_maj.is_some();
    let parser = if crate::container::is_container_event(ty) {
        Parser::Container
    } else {
        Parser::for_name(info.name)
    };
    let procexit = ty == code::PROCEXIT || ty == code::PROCEXIT_1;
    TypePlan {
        creates_no_thread: ty == code::SCHEDSWITCH_1
            || ty == code::SCHEDSWITCH_6
            || flags.contains(EventFlags::SKIP_PARSE_RESET)
            || flags.contains(EventFlags::UNUSED),
        internal: info.category.is_internal(),
        uses_fd: flags.contains(EventFlags::USES_FD),
        procexit,
        fd_of_exit,
        parser,
        counters: (has_counters && !clone_family).then_some(counters),
        changes_state: parser != Parser::None || procexit,
        params: ParamIndex::of(info),
    }
}
