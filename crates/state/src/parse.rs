//! How each event changes the state: libsinsp's `sinsp_parser`, for the events rules and
//! fields depend on.
//!
//! Events come from captures recorded by every libs version since 2016, so the parsers look
//! parameters up by name (names are stable across event versions) and, for captures that still
//! hold enter events, fall back to the parameters of the thread's last enter event (an old
//! `close` exit carries only `res`; its `fd` is in the enter event).

use std::net::{Ipv4Addr, Ipv6Addr};

use lanner_event::RawEvent;
use lanner_event::ffi;
use lanner_event::value::{array, cstr, int, uint};

use crate::State;
use crate::fd::{Fd, FdKind, L4Proto, Role, SockAddrs, sock_name};
use crate::plan::{self, Counters, P, ParamIndex, Parser};
use crate::thread::Thread;

/// How long after its creation a thread made by one half of a clone is taken as the same
/// clone by the other half (libsinsp's `CLONE_STALE_TIME_NS`).
const CLONE_STALE_NS: u64 = 2_000_000_000;

/// An exit event with the thread's matching enter event, if the capture recorded one.
pub(crate) struct Exit<'a, 'b> {
    pub(crate) ev: &'b RawEvent<'a>,
    pub(crate) enter: Option<RawEvent<'b>>,
    /// Where the parameters the parsers read are in the exit event.
    pub(crate) params: &'static ParamIndex,
}

impl<'a, 'b> Exit<'a, 'b> {
    /// A parameter of the exit event.
    fn exit_param(&self, p: P) -> Option<&'b [u8]>
    where
        'a: 'b,
    {
        self.params.get(p).and_then(|i| self.ev.param(i))
    }

    /// A parameter of the exit event, else of its enter event.
    fn param(&self, p: P) -> Option<&'b [u8]>
    where
        'a: 'b,
    {
        self.exit_param(p).or_else(|| {
            let enter = self.enter.as_ref()?;
            plan::plan(enter.event_type()).params.get(p).and_then(|i| enter.param(i))
        })
    }

    fn int(&self, p: P) -> Option<i64>
    where
        'a: 'b,
    {
        self.param(p).map(int)
    }

    fn uint(&self, p: P) -> Option<u64>
    where
        'a: 'b,
    {
        self.param(p).map(uint)
    }

    /// The syscall's result (`res`, or `fd` for the calls that return one under that name).
    fn res(&self) -> i64
    where
        'a: 'b,
    {
        self.exit_param(P::Res).map(int).unwrap_or(-1)
    }
}

/// Event type codes the parser matches by number.
pub(crate) mod code {
    use lanner_event::ffi;

    pub(crate) const PROCEXIT: u16 = ffi::ppm_event_code_PPME_PROCEXIT_E as u16;
    pub(crate) const PROCEXIT_1: u16 = ffi::ppm_event_code_PPME_PROCEXIT_1_E as u16;
    pub(crate) const SCHEDSWITCH_1: u16 = ffi::ppm_event_code_PPME_SCHEDSWITCH_1_E as u16;
    pub(crate) const SCHEDSWITCH_6: u16 = ffi::ppm_event_code_PPME_SCHEDSWITCH_6_E as u16;
}

impl State {
    /// Parses one exit event (or a state-changing event without direction semantics).
    pub(crate) fn parse_exit(&mut self, parser: Parser, x: &Exit<'_, '_>) {
        match parser {
            Parser::None => {}
            Parser::Clone => self.parse_clone(x),
            Parser::Execve => self.parse_execve(x),
            Parser::Open => self.parse_open(x),
            Parser::Socket => self.parse_socket(x),
            Parser::Connect => self.parse_connect(x),
            Parser::Accept => self.parse_accept(x),
            Parser::Bind => self.parse_bind(x),
            Parser::Close => self.parse_close(x),
            Parser::Dup => self.parse_dup(x),
            Parser::Fcntl => self.parse_fcntl(x),
            Parser::Pipe => self.parse_pipe(x),
            Parser::Socketpair => self.parse_socketpair(x),
            Parser::Eventfd => self.new_fd_from_res(x, FdKind::Event, b""),
            Parser::Signalfd => self.new_fd_from_res(x, FdKind::Signalfd, b""),
            Parser::Timerfd => self.new_fd_from_res(x, FdKind::Timerfd, b""),
            Parser::Inotify => self.new_fd_from_res(x, FdKind::Inotify, b""),
            Parser::Epoll => self.new_fd_from_res(x, FdKind::Eventpoll, b""),
            Parser::Userfaultfd => self.new_fd_from_res(x, FdKind::Userfaultfd, b""),
            Parser::IoUring => self.new_fd_from_res(x, FdKind::IoUring, b""),
            Parser::Pidfd => self.new_fd_from_res(x, FdKind::Pidfd, b""),
            Parser::Memfd => {
                let mut fdname = b"memfd:".to_vec();
                fdname.extend_from_slice(x.param(P::Name).map(cstr).unwrap_or_default());
                self.new_fd_from_res(x, FdKind::Memfd, &fdname);
            }
            Parser::Bpf => {
                if let Some(fd) = x.int(P::ResOrFd).or_else(|| x.int(P::Fd)).filter(|&fd| fd >= 0) {
                    self.add_fd(x.ev.tid(), fd, Fd::named(FdKind::Bpf, b"".to_vec()));
                }
            }
            Parser::Chdir => self.parse_chdir(x),
            Parser::Fchdir => self.parse_fchdir(x),
            Parser::Chroot => self.parse_chroot(x),
            Parser::Setuid => self.parse_setuid(x),
            Parser::Setgid => self.parse_setgid(x),
            Parser::Setsid => {
                let res = x.res();
                if res >= 0
                    && let Some(t) = self.threads.get_mut(x.ev.tid())
                {
                    t.sid = res;
                }
            }
            Parser::Setpgid => {
                if x.res() == 0
                    && x.int(P::Pid).unwrap_or(0) == 0
                    && let Some(pgid) = x.int(P::Pgid)
                    && let Some(t) = self.threads.get_mut(x.ev.tid())
                {
                    t.vpgid = if pgid == 0 { t.vpid } else { pgid };
                }
            }
            Parser::Capset => {
                if x.res() == 0
                    && let Some(t) = self.threads.get_mut(x.ev.tid())
                {
                    if let Some(v) = x.uint(P::CapInheritable) {
                        t.cap_inheritable = v;
                    }
                    if let Some(v) = x.uint(P::CapPermitted) {
                        t.cap_permitted = v;
                    }
                    if let Some(v) = x.uint(P::CapEffective) {
                        t.cap_effective = v;
                    }
                }
            }
            Parser::Prctl => self.parse_prctl(x),
            Parser::Datagram => self.parse_datagram(x),
            // Enter-only: applied by `State::process`.
            Parser::Container => {}
        }
    }

    // -- processes ---------------------------------------------------------------------------

    fn parse_clone(&mut self, x: &Exit<'_, '_>) {
        let res = x.res();
        let ts = x.ev.ts();
        let flags = x.uint(P::Flags).unwrap_or(0) as u32;
        let is_thread = flags & ffi::PPM_CL_CLONE_THREAD != 0;
        let (child_tid, parent_tid) = match res {
            r if r > 0 => (r, x.ev.tid()),
            0 => (x.ev.tid(), x.int(P::Ptid).unwrap_or(-1)),
            _ => return,
        };
        // Both halves of a clone can create the child, as in libsinsp:
        let existing = self.threads.get(child_tid).filter(|t| !t.synthetic);
        if res > 0 {
            // The caller's half leaves children in another pid namespace (containers) to their
            // own half, which knows their ids there and their cgroups, and vfork children too,
            // whose half may come (and exit) first. It replaces a stale thread of the same tid
            // but not one that the child's half made.
            let caller_tid = x.ev.tid();
            let caller_vtid = self
                .threads
                .get(caller_tid)
                .filter(|t| !t.synthetic && t.vtid >= 0)
                .map(|t| t.vtid)
                .or_else(|| x.int(P::Vtid))
                .unwrap_or(caller_tid);
            let in_namespace = flags
                & (ffi::PPM_CL_CHILD_IN_PIDNS
                    | ffi::PPM_CL_CLONE_NEWPID
                    | ffi::PPM_CL_CLONE_PARENT)
                != 0
                || caller_vtid != caller_tid;
            let vfork = flags & ffi::PPM_CL_CLONE_VFORK != 0 || x.ev.name() == "vfork";
            if in_namespace
                || vfork
                || existing.is_some_and(|t| t.flags & ffi::PPM_CL_CLONE_INVERTED != 0)
            {
                return;
            }
        } else if existing
            .is_some_and(|t| t.clone_ts != 0 && ts.saturating_sub(t.clone_ts) < CLONE_STALE_NS)
        {
            // The child's half: the caller's half made it just before.
            return;
        }
        let parent = self.threads.get(if res > 0 { x.ev.tid() } else { parent_tid }).cloned();
        let mut child = parent.clone().unwrap_or_else(|| Thread::synthetic(child_tid));
        child.synthetic = false;
        child.fds = Default::default();
        child.last_enter = lanner_event::EventBuf::new();
        child.tid = child_tid;
        child.clone_ts = ts;
        if res > 0 {
            // The parent's view: the child's pid is ours for a thread, its tid for a process;
            // either way the thread that called clone is its parent.
            child.pid = if is_thread { x.int(P::Pid).unwrap_or(child_tid) } else { child_tid };
            child.ptid = x.ev.tid();
        } else {
            child.pid = x.int(P::Pid).unwrap_or(child_tid);
            child.ptid = parent_tid;
        }
        if let Some(exe) = x.param(P::Exe) {
            child.exe = cstr(exe).to_vec();
        }
        if let Some(args) = x.param(P::Args) {
            child.args = args.to_vec();
        }
        if let Some(comm) = x.param(P::Comm) {
            child.comm = cstr(comm).to_vec();
        }
        if let Some(cwd) = x.param(P::Cwd) {
            child.cwd = dir_with_slash(cstr(cwd));
        }
        if let Some(cgroups) = x.param(P::Cgroups) {
            child.set_cgroups(cgroups);
        }
        if let Some(v) = x.int(P::Fdlimit) {
            child.fdlimit = v;
        }
        if let Some(v) = x.uint(P::PgftMaj) {
            child.pfmajor = v;
        }
        if let Some(v) = x.uint(P::PgftMin) {
            child.pfminor = v;
        }
        if let Some(v) = x.uint(P::VmSize) {
            child.vmsize_kb = v as u32;
        }
        if let Some(v) = x.uint(P::VmRss) {
            child.vmrss_kb = v as u32;
        }
        if let Some(v) = x.uint(P::VmSwap) {
            child.vmswap_kb = v as u32;
        }
        if let Some(v) = x.uint(P::Uid) {
            child.uid = v as u32;
        }
        if let Some(v) = x.uint(P::Gid) {
            child.gid = v as u32;
        }
        if res > 0 {
            // Made by the caller's half: not in another pid namespace (see above).
            child.vtid = child.tid;
            child.vpid = child.pid;
        } else if let (Some(vtid), Some(vpid)) = (x.int(P::Vtid), x.int(P::Vpid)) {
            child.vtid = vtid;
            child.vpid = vpid;
        } else {
            child.vtid = child.tid;
            child.vpid = -1;
        }
        if let Some(v) = x.uint(P::PidnsInitStartTs) {
            child.pidns_init_start_ts = v;
        }
        // A child made by its own half says so, for the caller's half that may follow.
        child.flags = if res == 0 { flags | ffi::PPM_CL_CLONE_INVERTED } else { flags };
        if child.comm.is_empty()
            && let Some(p) = &parent
        {
            child.comm = p.comm.clone();
        }
        // A process gets a copy of its parent's fds; a thread shares its process's table.
        if !is_thread
            && let Some(parent_fds) = self.threads.fds(parent.as_ref().map_or(-1, |p| p.tid))
        {
            child.fds = parent_fds.clone();
        }
        self.threads.insert(child);
        self.stats.threads_created += 1;
    }

    fn parse_execve(&mut self, x: &Exit<'_, '_>) {
        if x.res() != 0 {
            return;
        }
        let tid = x.ev.tid();
        let Some(t) = self.threads.get_mut(tid) else { return };
        if t.synthetic {
            // A thread first seen at its execve: the event says who it is and who its parent is.
            if let Some(pid) = x.int(P::Pid) {
                t.pid = pid;
            }
            if let Some(ptid) = x.int(P::Ptid) {
                t.ptid = ptid;
            }
        }
        t.synthetic = false;
        if let Some(exe) = x.param(P::Exe) {
            t.exe = cstr(exe).to_vec();
        }
        if let Some(args) = x.param(P::Args) {
            t.args = args.to_vec();
        }
        if let Some(comm) = x.param(P::Comm) {
            t.comm = cstr(comm).to_vec();
        }
        // The working directory does not change at execve; libsinsp ignores the `cwd`
        // parameter there (it only seeds a thread's cwd at clone).
        if let Some(env) = x.param(P::Env) {
            t.env = env.to_vec();
        }
        if let Some(cgroups) = x.param(P::Cgroups) {
            t.set_cgroups(cgroups);
        }
        if let Some(path) = x.param(P::TrustedExepath) {
            t.exepath = cstr(path).to_vec();
        }
        if let Some(v) = x.int(P::Fdlimit) {
            t.fdlimit = v;
        }
        if let Some(v) = x.uint(P::Tty) {
            t.tty = v as u32;
        }
        if let Some(v) = x.uint(P::Loginuid) {
            t.loginuid = v as u32;
        }
        if let Some(v) = x.int(P::Vpgid) {
            t.vpgid = v;
        }
        if let Some(v) = x.int(P::Pgid) {
            t.pgid = v;
        }
        if let Some(v) = x.uint(P::Uid) {
            t.uid = v as u32;
        }
        if let Some(v) = x.uint(P::Gid) {
            t.gid = v as u32;
        }
        if let Some(v) = x.uint(P::CapInheritable) {
            t.cap_inheritable = v;
        }
        if let Some(v) = x.uint(P::CapPermitted) {
            t.cap_permitted = v;
        }
        if let Some(v) = x.uint(P::CapEffective) {
            t.cap_effective = v;
        }
        if let Some(v) = x.uint(P::ExeIno) {
            t.exe_ino = v;
        }
        if let Some(v) = x.uint(P::ExeInoCtime) {
            t.exe_ino_ctime = v;
        }
        if let Some(v) = x.uint(P::ExeInoMtime) {
            t.exe_ino_mtime = v;
        }
        // The memory and page-fault counters are copied by `update_counters`, after this, as
        // for every event of the thread that reports them.
        if let Some(flags) = x.uint(P::Flags) {
            let flags = flags as u32;
            t.exe_writable = flags & ffi::PPM_EXE_WRITABLE != 0;
            t.exe_upper_layer = flags & ffi::PPM_EXE_UPPER_LAYER != 0;
            t.exe_from_memfd = flags & ffi::PPM_EXE_FROM_MEMFD != 0;
            t.exe_lower_layer = flags & ffi::PPM_EXE_LOWER_LAYER != 0;
        }
        if let Some(fds) = self.threads.fds_mut(tid) {
            fds.close_on_exec(ffi::PPM_O_CLOEXEC);
        }
    }

    pub(crate) fn mark_exited(&mut self, tid: i64) {
        if let Some(t) = self.threads.get_mut(tid) {
            t.flags |= ffi::PPM_CL_CLOSED;
            self.pending_thread_removal = Some(tid);
        }
    }

    // -- files -------------------------------------------------------------------------------

    fn parse_open(&mut self, x: &Exit<'_, '_>) {
        let tid = x.ev.tid();
        let fd = x.exit_param(P::Fd).map(int).unwrap_or_else(|| x.res());
        if fd < 0 {
            return;
        }
        let path = x.param(P::Name).or_else(|| x.param(P::Path)).map(cstr).unwrap_or_default();
        let dirfd = x.int(P::Dirfd).unwrap_or(lanner_event::render::AT_FDCWD);
        let name = self.absolute_path(tid, dirfd, path);
        let mut open_flags = x.uint(P::Flags).unwrap_or(0) as u32;
        if x.ev.name() == "creat" {
            open_flags |= ffi::PPM_O_CREAT | ffi::PPM_O_WRONLY | ffi::PPM_O_TRUNC;
        }
        let kind =
            if open_flags & ffi::PPM_O_DIRECTORY != 0 { FdKind::Directory } else { FdKind::File };
        let mut info = Fd::named(kind, name);
        info.open_flags = open_flags;
        info.dev = x.uint(P::Dev).unwrap_or(0) as u32;
        info.ino = x.uint(P::Ino).unwrap_or(0);
        self.add_fd(tid, fd, info);
    }

    /// A path as seen by a thread: absolute as is, relative against `dirfd` (or the working
    /// directory for `AT_FDCWD`), normalised.
    pub(crate) fn absolute_path(&self, tid: i64, dirfd: i64, path: &[u8]) -> Vec<u8> {
        if path.first() == Some(&b'/') {
            return normalize(b"", path);
        }
        let base: Vec<u8> = if dirfd == lanner_event::render::AT_FDCWD {
            self.cwd(tid).map(<[u8]>::to_vec).unwrap_or_default()
        } else {
            match self.threads.fds(tid).and_then(|t| t.get(dirfd)) {
                Some(f) => {
                    let mut b = f.name.clone();
                    b.push(b'/');
                    b
                }
                None => Vec::new(),
            }
        };
        normalize(&base, path)
    }

    fn parse_close(&mut self, x: &Exit<'_, '_>) {
        if x.res() < 0 {
            return;
        }
        if let Some(fd) = x.int(P::Fd) {
            // libsinsp removes a closed fd only when the next event arrives, so the close itself
            // still sees it.
            self.pending_fd_removal = Some((x.ev.tid(), fd));
        }
    }

    fn parse_dup(&mut self, x: &Exit<'_, '_>) {
        let newfd = x.res();
        if newfd < 0 {
            return;
        }
        let Some(oldfd) = x.int(P::Oldfd).or_else(|| x.int(P::Fd)) else { return };
        let tid = x.ev.tid();
        let Some(mut info) = self.threads.fds(tid).and_then(|t| t.get(oldfd)).cloned() else {
            return;
        };
        if x.ev.name() == "dup3" {
            let flags = x.uint(P::Flags).unwrap_or(0) as u32;
            info.open_flags =
                (info.open_flags & !ffi::PPM_O_CLOEXEC) | (flags & ffi::PPM_O_CLOEXEC);
        } else {
            info.open_flags &= !ffi::PPM_O_CLOEXEC;
        }
        self.add_fd(tid, newfd, info);
    }

    fn parse_fcntl(&mut self, x: &Exit<'_, '_>) {
        let newfd = x.res();
        let cmd = x.uint(P::Cmd).unwrap_or(0) as u32;
        if newfd < 0 || (cmd != ffi::PPM_FCNTL_F_DUPFD && cmd != ffi::PPM_FCNTL_F_DUPFD_CLOEXEC) {
            return;
        }
        let Some(oldfd) = x.int(P::Fd) else { return };
        let tid = x.ev.tid();
        if let Some(mut info) = self.threads.fds(tid).and_then(|t| t.get(oldfd)).cloned() {
            info.open_flags &= !ffi::PPM_O_CLOEXEC;
            if cmd == ffi::PPM_FCNTL_F_DUPFD_CLOEXEC {
                info.open_flags |= ffi::PPM_O_CLOEXEC;
            }
            self.add_fd(tid, newfd, info);
        }
    }

    fn parse_pipe(&mut self, x: &Exit<'_, '_>) {
        if x.res() < 0 {
            return;
        }
        let ino = x.uint(P::Ino).unwrap_or(0);
        for name in [P::Fd1, P::Fd2] {
            if let Some(fd) = x.int(name) {
                let mut info = Fd::named(FdKind::Fifo, Vec::new());
                info.ino = ino;
                self.add_fd(x.ev.tid(), fd, info);
            }
        }
    }

    fn new_fd_from_res(&mut self, x: &Exit<'_, '_>, kind: FdKind, name: &[u8]) {
        let fd = x.res();
        if fd >= 0 {
            self.add_fd(x.ev.tid(), fd, Fd::named(kind, name.to_vec()));
        }
    }

    pub(crate) fn add_fd(&mut self, tid: i64, fd: i64, info: Fd) {
        if let Some(table) = self.threads.fds_mut(tid) {
            // A new fd "changes its name" only if it has one (a fresh socket has none yet).
            self.fd_name_changed |= !info.name.is_empty();
            table.insert(fd, info);
        }
    }

    /// Memory and page-fault counters that some events report for their thread.
    /// Copies the memory counters an event reports to its thread.
    pub(crate) fn update_counters(&mut self, c: &Counters, ev: &RawEvent<'_>) {
        let get = |i: Option<u8>| i.and_then(|i| ev.param(usize::from(i))).map(uint);
        let Some(t) = self.threads.get_mut(ev.tid()) else { return };
        if let Some(v) = get(c.vm_size) {
            t.vmsize_kb = v as u32;
        }
        if let Some(v) = get(c.vm_rss) {
            t.vmrss_kb = v as u32;
        }
        if let Some(v) = get(c.vm_swap) {
            t.vmswap_kb = v as u32;
        }
        if let Some(v) = get(c.pgft_maj) {
            t.pfmajor = v;
        }
        if let Some(v) = get(c.pgft_min) {
            t.pfminor = v;
        }
    }

    fn parse_chdir(&mut self, x: &Exit<'_, '_>) {
        if x.res() != 0 {
            return;
        }
        let Some(path) = x.param(P::Path).map(cstr) else { return };
        let tid = x.ev.tid();
        let dir = self.absolute_path(tid, lanner_event::render::AT_FDCWD, path);
        self.set_cwd(tid, dir_with_slash(&dir));
    }

    fn parse_fchdir(&mut self, x: &Exit<'_, '_>) {
        if x.res() != 0 {
            return;
        }
        let Some(fd) = x.int(P::Fd) else { return };
        let tid = x.ev.tid();
        if let Some(name) = self.threads.fds(tid).and_then(|t| t.get(fd)).map(|f| f.name.clone()) {
            self.set_cwd(tid, dir_with_slash(&name));
        }
    }

    fn parse_chroot(&mut self, x: &Exit<'_, '_>) {
        if x.res() != 0 {
            return;
        }
        let Some(path) = x.param(P::Path).map(cstr) else { return };
        let tid = x.ev.tid();
        let root = self.absolute_path(tid, lanner_event::render::AT_FDCWD, path);
        if let Some(t) = self.threads.get_mut(tid) {
            t.root = root;
        }
    }

    /// The working directory is per process: it lives on the main thread when that is known.
    fn set_cwd(&mut self, tid: i64, cwd: Vec<u8>) {
        let owner = self.threads.fd_owner(tid).unwrap_or(tid);
        if let Some(t) = self.threads.get_mut(owner) {
            t.cwd = cwd.clone();
        }
        if owner != tid
            && let Some(t) = self.threads.get_mut(tid)
        {
            t.cwd = cwd;
        }
    }

    // -- credentials -------------------------------------------------------------------------

    fn parse_setuid(&mut self, x: &Exit<'_, '_>) {
        if x.res() != 0 {
            return;
        }
        let uid = x.uint(P::Euid).or_else(|| x.uint(P::Uid)).map(|v| v as u32);
        if let Some(uid) = uid.filter(|&u| u != u32::MAX)
            && let Some(t) = self.threads.get_mut(x.ev.tid())
        {
            t.uid = uid;
        }
    }

    fn parse_setgid(&mut self, x: &Exit<'_, '_>) {
        if x.res() != 0 {
            return;
        }
        let gid = x.uint(P::Egid).or_else(|| x.uint(P::Gid)).map(|v| v as u32);
        if let Some(gid) = gid.filter(|&g| g != u32::MAX)
            && let Some(t) = self.threads.get_mut(x.ev.tid())
        {
            t.gid = gid;
        }
    }

    fn parse_prctl(&mut self, x: &Exit<'_, '_>) {
        // PR_SET_NAME changes the thread's comm.
        const PPM_PR_SET_NAME: u64 = 15;
        if x.res() != 0 || x.uint(P::Option) != Some(PPM_PR_SET_NAME) {
            return;
        }
        if let Some(name) = x.param(P::Arg2Str).map(cstr)
            && let Some(t) = self.threads.get_mut(x.ev.tid())
        {
            t.comm = name.to_vec();
        }
    }

    // -- sockets -----------------------------------------------------------------------------

    fn parse_socket(&mut self, x: &Exit<'_, '_>) {
        let fd = x.exit_param(P::Fd).map(int).unwrap_or_else(|| x.res());
        if fd < 0 {
            return;
        }
        let domain = x.uint(P::Domain).unwrap_or(0) as u32;
        let ty = x.uint(P::Type).unwrap_or(0) as u32 & 0xf;
        let proto = x.uint(P::Proto).unwrap_or(0) as u32;
        let kind = match domain {
            ffi::PPM_AF_UNIX => FdKind::Unix,
            ffi::PPM_AF_INET => FdKind::Ipv4Socket,
            ffi::PPM_AF_INET6 => FdKind::Ipv6Socket,
            ffi::PPM_AF_NETLINK => FdKind::Netlink,
            _ => FdKind::Unknown,
        };
        let mut info = Fd::named(kind, Vec::new());
        if kind.is_ip() {
            info.l4proto = l4proto_of(ty, proto);
        }
        self.add_fd(x.ev.tid(), fd, info);
    }

    fn parse_connect(&mut self, x: &Exit<'_, '_>) {
        const EINPROGRESS: i64 = -115;
        let res = x.res();
        if res < 0 && res != EINPROGRESS {
            return;
        }
        let Some(fd) = x.int(P::Fd) else { return };
        let Some(tuple) = x.exit_param(P::Tuple) else { return };
        self.set_socket(x.ev.tid(), fd, tuple, Role::Client);
    }

    fn parse_accept(&mut self, x: &Exit<'_, '_>) {
        let fd = x.exit_param(P::Fd).map(int).unwrap_or(-1);
        if fd < 0 {
            return;
        }
        let tid = x.ev.tid();
        let mut info = Fd::named(FdKind::Unknown, Vec::new());
        info.l4proto = L4Proto::Tcp;
        self.add_fd(tid, fd, info);
        if let Some(tuple) = x.exit_param(P::Tuple) {
            self.set_socket(tid, fd, tuple, Role::Server);
        }
    }

    fn parse_bind(&mut self, x: &Exit<'_, '_>) {
        if x.res() != 0 {
            return;
        }
        let (Some(fd), Some(addr)) = (x.int(P::Fd), x.exit_param(P::Addr)) else { return };
        let tid = x.ev.tid();
        let Some(info) = self.threads.fds_mut(tid).and_then(|t| t.get_mut(fd)) else { return };
        match addr.first().map(|&f| u32::from(f)) {
            Some(ffi::PPM_AF_INET) if addr.len() >= 7 => {
                let ip = Ipv4Addr::from(array::<4>(&addr[1..5]));
                let port = u16::from_le_bytes([addr[5], addr[6]]);
                info.kind = FdKind::Ipv4Server;
                info.addrs = Some(SockAddrs::V4Server { ip, port });
            }
            Some(ffi::PPM_AF_INET6) if addr.len() >= 19 => {
                let ip = Ipv6Addr::from(array::<16>(&addr[1..17]));
                let port = u16::from_le_bytes([addr[17], addr[18]]);
                info.kind = FdKind::Ipv6Server;
                info.addrs = Some(SockAddrs::V6Server { ip, port });
            }
            Some(ffi::PPM_AF_UNIX) => {
                info.kind = FdKind::Unix;
                info.name = cstr(&addr[1..]).to_vec();
                return;
            }
            _ => return,
        }
        info.role = Role::Server;
        if let Some(addrs) = &info.addrs {
            info.name = sock_name(addrs);
        }
    }

    fn parse_socketpair(&mut self, x: &Exit<'_, '_>) {
        if x.res() < 0 {
            return;
        }
        let (source, peer) = (x.uint(P::Source).unwrap_or(0), x.uint(P::Peer).unwrap_or(0));
        for name in [P::Fd1, P::Fd2] {
            if let Some(fd) = x.int(name) {
                let mut info = Fd::named(FdKind::Unix, Vec::new());
                info.addrs = Some(SockAddrs::Unix { source, dest: peer });
                self.add_fd(x.ev.tid(), fd, info);
            }
        }
    }

    /// Unconnected datagram sockets learn their peer from `sendto`/`recvfrom` tuples.
    fn parse_datagram(&mut self, x: &Exit<'_, '_>) {
        if x.res() < 0 {
            return;
        }
        let (Some(fd), Some(tuple)) = (x.int(P::Fd), x.exit_param(P::Tuple)) else { return };
        let tid = x.ev.tid();
        let unaddressed = self
            .threads
            .fds(tid)
            .and_then(|t| t.get(fd))
            .is_some_and(|f| f.kind.is_ip() && f.addrs.is_none());
        if unaddressed {
            let role = if x.ev.name().starts_with("send") { Role::Client } else { Role::Server };
            self.set_socket(tid, fd, tuple, role);
        }
    }

    /// Records a socket's addresses from a `PT_SOCKTUPLE`.
    fn set_socket(&mut self, tid: i64, fd: i64, tuple: &[u8], role: Role) {
        let Some(info) = self.threads.fds_mut(tid).and_then(|t| t.get_mut(fd)) else { return };
        let Some(&family) = tuple.first() else { return };
        match u32::from(family) {
            ffi::PPM_AF_INET if tuple.len() >= 13 => {
                info.kind = FdKind::Ipv4Socket;
                info.addrs = Some(SockAddrs::V4 {
                    sip: Ipv4Addr::from(array::<4>(&tuple[1..5])),
                    sport: u16::from_le_bytes([tuple[5], tuple[6]]),
                    dip: Ipv4Addr::from(array::<4>(&tuple[7..11])),
                    dport: u16::from_le_bytes([tuple[11], tuple[12]]),
                });
            }
            ffi::PPM_AF_INET6 if tuple.len() >= 37 => {
                let sip = Ipv6Addr::from(array::<16>(&tuple[1..17]));
                let dip = Ipv6Addr::from(array::<16>(&tuple[19..35]));
                let sport = u16::from_le_bytes([tuple[17], tuple[18]]);
                let dport = u16::from_le_bytes([tuple[35], tuple[36]]);
                match (sip.to_ipv4_mapped(), dip.to_ipv4_mapped()) {
                    (Some(sip), Some(dip)) => {
                        info.kind = FdKind::Ipv4Socket;
                        info.addrs = Some(SockAddrs::V4 { sip, sport, dip, dport });
                    }
                    _ => {
                        info.kind = FdKind::Ipv6Socket;
                        info.addrs = Some(SockAddrs::V6 { sip, sport, dip, dport });
                    }
                }
            }
            ffi::PPM_AF_UNIX if tuple.len() >= 17 => {
                info.kind = FdKind::Unix;
                info.addrs =
                    Some(SockAddrs::Unix { source: uint(&tuple[1..9]), dest: uint(&tuple[9..17]) });
                let path = cstr(&tuple[17..]);
                if !path.is_empty() {
                    info.name = path.to_vec();
                }
                info.role = role;
                return;
            }
            _ => return,
        }
        info.role = role;
        if let Some(addrs) = &info.addrs {
            let name = sock_name(addrs);
            if name != info.name {
                info.name = name;
                self.fd_name_changed = true;
            }
        }
    }
}

/// The protocol of an IP socket from its type and protocol numbers.
fn l4proto_of(ty: u32, proto: u32) -> L4Proto {
    const SOCK_STREAM: u32 = 1;
    const SOCK_DGRAM: u32 = 2;
    const SOCK_RAW: u32 = 3;
    const IPPROTO_IP: u32 = 0;
    const IPPROTO_ICMP: u32 = 1;
    const IPPROTO_TCP: u32 = 6;
    const IPPROTO_UDP: u32 = 17;
    const IPPROTO_ICMPV6: u32 = 58;
    const IPPROTO_RAW: u32 = 255;
    match (ty, proto) {
        (SOCK_RAW, _) => L4Proto::Raw,
        (_, IPPROTO_TCP) | (SOCK_STREAM, IPPROTO_IP) => L4Proto::Tcp,
        (_, IPPROTO_UDP) | (SOCK_DGRAM, IPPROTO_IP) => L4Proto::Udp,
        (_, IPPROTO_ICMP) | (_, IPPROTO_ICMPV6) => L4Proto::Icmp,
        (_, IPPROTO_RAW) => L4Proto::Raw,
        _ => L4Proto::Unknown,
    }
}

/// A directory path with exactly one trailing `/`.
fn dir_with_slash(path: &[u8]) -> Vec<u8> {
    let mut p = path.to_vec();
    if p.last() != Some(&b'/') {
        p.push(b'/');
    }
    p
}

/// `base` + `path`, with `.`, `..` and repeated slashes resolved.
pub(crate) fn normalize(base: &[u8], path: &[u8]) -> Vec<u8> {
    // Most paths are absolute and clean already (`/etc/ld.so.cache`): copy them as they are.
    if base.is_empty() && is_clean_absolute(path) {
        return path.to_vec();
    }
    let absolute = base.first() == Some(&b'/') || (base.is_empty() && path.first() == Some(&b'/'));
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
    let mut out = Vec::with_capacity(base.len() + path.len());
    if absolute {
        out.push(b'/');
    }
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(part);
    }
    out
}

/// Whether an absolute path has no empty, `.` or `..` component (no `//`, no trailing `/`
/// but for the root itself): normalizing it gives it back unchanged.
fn is_clean_absolute(path: &[u8]) -> bool {
    if path == b"/" {
        return true;
    }
    if path.first() != Some(&b'/') {
        return false;
    }
    // One pass over the bytes (every open's path goes through here): a component is empty,
    // `.` or `..` exactly when a `/` follows a `/`, a `/.` or a `/..`, or the path ends with
    // `/.` or `/..`.
    let mut dots_since_slash = Some(0u8);
    for &b in &path[1..] {
        dots_since_slash = match (b, dots_since_slash) {
            (b'/', Some(_)) => return false,
            (b'/', None) => Some(0),
            (b'.', Some(n)) => Some(n + 1).filter(|&n| n <= 2),
            _ => None,
        };
    }
    dots_since_slash.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_absolute_paths_are_copied() {
        for clean in
            [&b"/"[..], b"/etc/passwd", b"/a.b/..c/.d", b"/a/...", b"/.x", b"/x/..b", b"/..."]
        {
            assert!(is_clean_absolute(clean), "{}", String::from_utf8_lossy(clean));
            assert_eq!(normalize(b"", clean), clean);
        }
        for dirty in [
            &b"//etc"[..],
            b"/etc/",
            b"/./x",
            b"/a/../b",
            b"/a/.",
            b"rel",
            b"",
            b"/..",
            b"/.",
            b"/a//b",
            b"/a/..",
        ] {
            assert!(!is_clean_absolute(dirty), "{}", String::from_utf8_lossy(dirty));
        }
    }

    #[test]
    fn normalizes_paths() {
        assert_eq!(normalize(b"/home/user/", b"../up/./x//y/"), b"/home/up/x/y");
        assert_eq!(normalize(b"", b"/etc//passwd"), b"/etc/passwd");
        assert_eq!(normalize(b"/", b".."), b"/");
        assert_eq!(normalize(b"", b"rel"), b"rel");
    }

    #[test]
    fn protocols() {
        assert_eq!(l4proto_of(1, 0), L4Proto::Tcp);
        assert_eq!(l4proto_of(2, 0), L4Proto::Udp);
        assert_eq!(l4proto_of(3, 1), L4Proto::Raw);
        assert_eq!(l4proto_of(2, 1), L4Proto::Icmp);
    }
}
