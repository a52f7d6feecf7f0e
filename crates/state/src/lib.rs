//! The state of the watched system, kept current by events: threads and processes, their file
//! descriptors, users and groups, containers.
//!
//! Rules ask about more than an event holds: `proc.name` is the command of the thread that made
//! the syscall, `fd.name` the path behind the fd a `read` uses, `proc.pname` the command of its
//! parent. [`State`] answers those questions. It is seeded from a capture's tables (or, live,
//! from `/proc`), then [`State::process`] applies each event in order, the way libsinsp's parser
//! does: `clone` creates threads, `execve` changes their command, `open` and `socket` add fds,
//! `close` removes them, `connect` names sockets, `chdir` moves the working directory, and so on.
//!
//! The crate is a pure state machine: no I/O, no clocks (time is the events' time), no logging.
//! One writer applies events; readers borrow the state between events. Shards owning disjoint
//! sets of thread groups can each hold a `State` (a thread and its fds always belong to one
//! thread group), which is how processing will scale past one core.
//!
//! What it does not own: decoding events (`lanner-event`), reading captures (`lanner-scap`),
//! extracting fields (`lanner-fields`).
//!
//! ```
//! use lanner_state::State;
//!
//! let reader = lanner_scap::Reader::open("../../testdata/scap/cat_write.scap")?;
//! let state = State::from_tables(reader.tables());
//! assert_eq!(state.thread(11310).map(|t| t.comm.as_slice()), Some(&b"bash"[..]));
//! # Ok::<(), lanner_scap::Error>(())
//! ```

pub mod container;
pub mod fd;
mod parse;
mod plan;
pub mod thread;

use rustc_hash::FxHashMap;

use lanner_event::render::{FdView, Resolver};
use lanner_event::table::EventFlags;
use lanner_event::{Direction, RawEvent};
use lanner_scap::Tables;
use lanner_scap::tables::{FdInfo, InterfaceAddr, NamedFdKind, User};
use std::net::IpAddr;

pub use container::{Container, ContainerTable, ContainerType, Mount};
pub use fd::{Fd, FdKind, FdTable, L4Proto, Role, SockAddrs};
pub use thread::{Thread, ThreadTable};

use parse::Exit;
use plan::FdOfExit;

/// How the state bounds itself.
#[derive(Clone, Copy, Debug)]
pub struct StateConfig {
    /// Most threads kept; beyond, the least recently active ones are purged first.
    pub max_threads: usize,
    /// Threads first seen in an event (so mostly unknown) and threads that exited are purged
    /// when no event came from them for this long (event time, ns).
    pub inactive_timeout_ns: u64,
    /// How often (event time, ns) to look for inactive threads.
    pub purge_interval_ns: u64,
    /// Most containers kept; beyond, the least recently reported ones are dropped first.
    pub max_containers: usize,
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            max_threads: 1 << 18,
            inactive_timeout_ns: 10 * 60 * 1_000_000_000,
            purge_interval_ns: 60 * 1_000_000_000,
            max_containers: container::DEFAULT_MAX_CONTAINERS,
        }
    }
}

/// Counters of what the state did, summed as it goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StateStats {
    /// Events applied.
    pub events: u64,
    /// Threads created by clone events.
    pub threads_created: u64,
    /// Threads created for events of threads the state did not know.
    pub threads_synthesized: u64,
    /// Threads removed after they exited.
    pub threads_removed: u64,
    /// Threads purged for inactivity or to stay within `max_threads`.
    pub threads_purged: u64,
    /// Container events applied (each adds or replaces a container).
    pub container_events: u64,
    /// Container events skipped because their JSON did not parse.
    pub container_events_invalid: u64,
    /// Containers dropped to stay within `max_containers`.
    pub containers_evicted: u64,
}

/// Threads, fds, users and groups, kept current by events.
#[derive(Debug)]
pub struct State {
    threads: ThreadTable,
    containers: ContainerTable,
    /// The container the current event describes, for container events.
    event_container: Option<String>,
    /// What processes on the host count as their container.
    host_container: Container,
    users: FxHashMap<u32, User>,
    groups: FxHashMap<u32, Vec<u8>>,
    hostname: Vec<u8>,
    /// Addresses of the machine's interfaces.
    local_ips: Vec<IpAddr>,
    stats: StateStats,
    config: StateConfig,
    last_purge_ts: u64,
    /// An fd closed by the previous event, removed when the next one arrives.
    pending_fd_removal: Option<(i64, i64)>,
    /// A thread that exited in the previous event, removed when the next one arrives.
    pending_thread_removal: Option<i64>,
    /// The fd the current event is about (libsinsp's `m_lastevent_fd`), -1 for none.
    event_fd: i64,
    /// Whether the current event gave an fd a new name (a new fd, a socket's new peer).
    fd_name_changed: bool,
    /// The enter event of the current exit event, when the capture recorded it (moved out of
    /// its thread, whose buffer takes this one's place).
    current_enter: lanner_event::EventBuf,
    /// Changes whenever the process tree may have changed ([`State::lineage_generation`]).
    lineage: u64,
}

impl Default for State {
    fn default() -> Self {
        State::with_config(StateConfig::default())
    }
}

impl State {
    /// An empty state.
    pub fn new() -> State {
        State::default()
    }

    /// An empty state with these bounds.
    pub fn with_config(config: StateConfig) -> State {
        State {
            threads: ThreadTable::default(),
            containers: ContainerTable::with_capacity_limit(config.max_containers),
            event_container: None,
            host_container: Container::host(),
            users: FxHashMap::default(),
            groups: FxHashMap::default(),
            hostname: Vec::new(),
            local_ips: Vec::new(),
            stats: StateStats::default(),
            config,
            last_purge_ts: 0,
            pending_fd_removal: None,
            pending_thread_removal: None,
            event_fd: -1,
            fd_name_changed: false,
            current_enter: lanner_event::EventBuf::new(),
            lineage: lineage_base(),
        }
    }

    /// A state seeded from a capture's tables: its threads with their fds, users and groups.
    pub fn from_tables(tables: &Tables) -> State {
        let mut state = State::new();
        state.load_tables(tables);
        state
    }

    /// Replaces the state with a capture's tables (a new section of a capture starts over).
    pub fn load_tables(&mut self, tables: &Tables) {
        // Containers stay: a later section's processes run in the same containers, and its
        // container events replace what changed.
        self.threads = ThreadTable::default();
        self.current_enter.clear();
        self.lineage += 1;
        self.pending_fd_removal = None;
        self.pending_thread_removal = None;
        for entry in &tables.threads {
            self.threads.insert(Thread::from_entry(entry));
        }
        for list in &tables.fd_lists {
            let tid = list.tid as i64;
            let Some(thread) = self.threads.get_mut(tid) else { continue };
            for entry in &list.fds {
                if let Some(fd) = fd_from_table(&entry.info, entry.ino) {
                    thread.fds.insert(entry.fd, fd);
                }
            }
        }
        self.users = tables.users.iter().map(|u| (u.uid, u.clone())).collect();
        self.local_ips = tables
            .interfaces
            .iter()
            .map(|i| match i.addr {
                InterfaceAddr::V4 { addr, .. } => IpAddr::from(addr),
                InterfaceAddr::V6 { addr, .. } => IpAddr::from(addr),
            })
            .collect();
        self.groups = tables.groups.iter().map(|g| (g.gid, g.name.clone())).collect();
        self.hostname = tables.machine.as_ref().map(|m| m.hostname.clone()).unwrap_or_default();
    }

    /// Whether events of this type change what the state knows of threads, fds, users or
    /// containers: those of the syscalls the state follows (`clone`, `execve`, `open`,
    /// `close`, `connect` ...), both halves, and process exits.
    ///
    /// A consumer that will look at the state only for some event types (a filter, rules
    /// indexed by event type) may skip [`State::process`] for the events of other types that do
    /// not change it, as Falco has the kernel drop them: what the state answers for the events
    /// it is asked about stays the same, except for memory counters (see
    /// [`State::changes_counters`]). What changes is bookkeeping about the skipped events:
    /// [`StateStats::events`] does not count them, a thread first seen in one is made at its
    /// next processed event, and the latency and fd of a syscall are known only for the
    /// processed ones.
    pub fn changes_state(event_type: u16) -> bool {
        plan::plan(event_type).changes_state || plan::plan(event_type ^ 1).changes_state
    }

    /// Whether events of this type report a thread's memory and page-fault counters
    /// (`proc.vmsize`, `thread.pfmajor` ...): context switches, `mmap`, `brk`, `execve` ...
    pub fn changes_counters(event_type: u16) -> bool {
        plan::plan(event_type).counters.is_some()
    }

    /// Applies one event. Call it for every event, in order, before reading the state for it:
    /// fields and renderings of an event see the state *after* it (an `open` exit already has
    /// its new fd).
    pub fn process(&mut self, ev: &RawEvent<'_>) {
        self.stats.events += 1;
        self.event_container = None;
        if let Some((tid, fd)) = self.pending_fd_removal.take()
            && let Some(table) = self.threads.fds_mut(tid)
        {
            table.remove(fd);
        }
        if let Some(tid) = self.pending_thread_removal.take() {
            self.remove_thread(tid);
        }
        let tid = ev.tid();
        let ts = ev.ts();
        self.event_fd = -1;
        self.fd_name_changed = false;
        let plan = plan::plan(ev.event_type());
        // Events that make no thread for an unknown tid also leave the thread's syscall alone.
        let skips_reset = plan.creates_no_thread || tid < 0;
        match ev.direction() {
            Direction::Enter => {
                if !skips_reset {
                    let (t, made) = self.threads.get_or_insert_with(tid, || Thread::synthetic(tid));
                    self.stats.threads_synthesized += u64::from(made);
                    self.lineage += u64::from(made);
                    t.last_seen = ts;
                    t.latency = 0;
                    // Internal events do not interrupt a syscall's two halves.
                    if !plan.internal {
                        t.last_enter.set(ev);
                    }
                }
                if plan.uses_fd {
                    self.event_fd = ev.param(0).map_or(-1, lanner_event::value::int);
                }
                if plan.procexit {
                    self.mark_exited(tid);
                } else if plan.parser == plan::Parser::Container {
                    self.apply_container_event(ev);
                }
            }
            Direction::Exit => {
                // The thread's last enter event becomes the current one (its buffer trades
                // places with the previous current one, emptied).
                self.current_enter.clear();
                let thread = if skips_reset {
                    self.threads.get_mut(tid)
                } else {
                    let (t, made) = self.threads.get_or_insert_with(tid, || Thread::synthetic(tid));
                    self.stats.threads_synthesized += u64::from(made);
                    self.lineage += u64::from(made);
                    t.last_seen = ts;
                    Some(t)
                };
                if let Some(t) = thread {
                    std::mem::swap(&mut t.last_enter, &mut self.current_enter);
                    let enter_ts = self
                        .current_enter
                        .get()
                        .filter(|e| e.event_type() + 1 == ev.event_type())
                        .map(|e| e.ts());
                    t.latency = enter_ts.map_or(0, |e| ts.saturating_sub(e));
                    if enter_ts.is_none() {
                        self.current_enter.clear();
                    }
                }
                // The parsers need `&mut self`: the enter event is lent to them.
                let current = std::mem::take(&mut self.current_enter);
                let enter = current.get();
                self.event_fd = event_fd_of_exit(plan.fd_of_exit, ev, enter.as_ref());
                self.parse_exit(plan.parser, &Exit { ev, enter, params: &plan.params });
                self.current_enter = current;
                if matches!(
                    plan.parser,
                    plan::Parser::Clone | plan::Parser::Execve | plan::Parser::Prctl
                ) {
                    self.lineage += 1;
                }
            }
        }
        if let Some(counters) = &plan.counters {
            self.update_counters(counters, ev);
        }
        if ts >= self.last_purge_ts.saturating_add(self.config.purge_interval_ns) {
            self.purge(ts);
        }
        if self.threads.len() > self.config.max_threads {
            self.purge_oldest();
        }
    }

    fn remove_thread(&mut self, tid: i64) {
        let Some(t) = self.threads.get(tid) else { return };
        // A main thread whose threads live on keeps the process's fds and cwd.
        let others =
            t.is_main_thread() && self.threads.iter().any(|o| o.pid == t.pid && o.tid != t.tid);
        if !others {
            self.threads.remove(tid);
            self.stats.threads_removed += 1;
            self.lineage += 1;
        }
    }

    /// Removes synthetic and exited threads that have been quiet for the inactive timeout.
    fn purge(&mut self, now: u64) {
        self.last_purge_ts = now;
        let timeout = self.config.inactive_timeout_ns;
        let stale: Vec<i64> = self
            .threads
            .iter()
            .filter(|t| t.synthetic || t.flags & lanner_event::ffi::PPM_CL_CLOSED != 0)
            .filter(|t| now.saturating_sub(t.last_seen) > timeout)
            .map(|t| t.tid)
            .collect();
        for tid in stale {
            self.threads.remove(tid);
            self.stats.threads_purged += 1;
            self.lineage += 1;
        }
    }

    /// Keeps the table within `max_threads`: drops the least recently active tenth.
    fn purge_oldest(&mut self) {
        let mut by_age: Vec<(u64, i64)> =
            self.threads.iter().map(|t| (t.last_seen, t.tid)).collect();
        by_age.sort_unstable();
        let excess = self.threads.len() - self.config.max_threads + self.config.max_threads / 10;
        for &(_, tid) in by_age.iter().take(excess) {
            self.threads.remove(tid);
            self.stats.threads_purged += 1;
            self.lineage += 1;
        }
    }

    /// The thread with this tid.
    pub fn thread(&self, tid: i64) -> Option<&Thread> {
        self.threads.get(tid)
    }

    /// All threads.
    pub fn threads(&self) -> &ThreadTable {
        &self.threads
    }

    /// The main thread of a thread's process (the thread itself if its process is unknown).
    pub fn main_thread(&self, tid: i64) -> Option<&Thread> {
        let t = self.threads.get(tid)?;
        self.threads.get(t.pid).or(Some(t))
    }

    /// An fd of a thread.
    pub fn fd(&self, tid: i64, fd: i64) -> Option<&Fd> {
        self.threads.fds(tid)?.get(fd)
    }

    /// An fd of a thread already looked up (the same as [`State::fd`] for its tid, with one
    /// lookup less, none for a main thread).
    pub fn fd_of<'s>(&'s self, t: &'s Thread, fd: i64) -> Option<&'s Fd> {
        let owner = if t.pid != t.tid { self.threads.get(t.pid).unwrap_or(t) } else { t };
        owner.fds.get(fd)
    }

    /// The fd the current event is about, as libsinsp determines it: the `fd` parameter of
    /// events that use one (for exit events of old captures, the paired enter event's), the
    /// new fd of successful fd-creating calls; -1 when there is none.
    pub fn event_fd(&self) -> i64 {
        self.event_fd
    }

    /// Whether the current event gave an fd a new name (`fd.name_changed`).
    pub fn fd_name_changed(&self) -> bool {
        self.fd_name_changed
    }

    /// The enter event that goes with an exit event of the same thread, if the capture
    /// recorded it just before (captures of libs before 0.22 hold both halves).
    pub fn enter_of(&self, exit: &RawEvent<'_>) -> Option<RawEvent<'_>> {
        self.current_enter
            .get()
            .filter(|e| e.tid() == exit.tid() && e.event_type() + 1 == exit.event_type())
    }

    /// The metadata of the container a thread runs in: the container events' for a container,
    /// the host pseudo-container ([`Container::host`]) on the host, `None` for a container no
    /// event described yet.
    pub fn container_of(&self, thread: &Thread) -> Option<&Container> {
        if thread.on_host() {
            Some(&self.host_container)
        } else {
            self.containers.get(&thread.container_id)
        }
    }

    /// The host pseudo-container ([`Container::host`]).
    pub fn host_container(&self) -> &Container {
        &self.host_container
    }

    /// The container the current event describes, if it is a container event that parsed.
    pub fn event_container(&self) -> Option<&Container> {
        self.containers.get(self.event_container.as_deref()?)
    }

    /// Every container described so far.
    pub fn containers(&self) -> &ContainerTable {
        &self.containers
    }

    /// A thread's working directory, ending with `/`.
    pub fn cwd(&self, tid: i64) -> Option<&[u8]> {
        let owner = self.threads.fd_owner(tid)?;
        self.threads.get(owner).map(|t| t.cwd.as_slice())
    }

    /// The name of a user.
    pub fn user_name(&self, uid: u32) -> Option<&[u8]> {
        self.users.get(&uid).map(|u| u.name.as_slice())
    }

    /// A user of the user list.
    pub fn user(&self, uid: u32) -> Option<&User> {
        self.users.get(&uid)
    }

    /// Whether an address belongs to the machine, as libsinsp decides it: an IPv4 address of
    /// one of its interfaces, or an IPv6 address in the /64 of one of them (so `::` counts, as
    /// the prefix of `::1`). Without an interface list, loopback addresses are local.
    pub fn is_local_ip(&self, ip: IpAddr) -> bool {
        if self.local_ips.is_empty() {
            return ip.is_loopback();
        }
        self.local_ips.iter().any(|&local| match (ip, local) {
            (IpAddr::V4(a), IpAddr::V4(b)) => a == b,
            (IpAddr::V6(a), IpAddr::V6(b)) => u128::from(a) >> 64 == u128::from(b) >> 64,
            _ => false,
        })
    }

    /// The name of a group.
    pub fn group_name(&self, gid: u32) -> Option<&[u8]> {
        self.groups.get(&gid).map(Vec::as_slice)
    }

    /// The host name the capture was taken on.
    pub fn hostname(&self) -> &[u8] {
        &self.hostname
    }

    /// A number that changes whenever the process tree may have changed: a thread appeared or
    /// went, or a thread's command, executable, arguments, environment, pid or parent changed
    /// (`clone`, `execve`, `prctl(PR_SET_NAME)`, exits, purges, new tables). What is computed
    /// from those alone for a thread (its ancestors' names, its parent's command ...) stays
    /// true while the number is the same.
    pub fn lineage_generation(&self) -> u64 {
        self.lineage
    }

    /// Counters.
    pub fn stats(&self) -> StateStats {
        self.stats
    }
}

/// Where a new state's lineage generations start: far from every other state's, so that what
/// was remembered for one state is never taken for another's.
fn lineage_base() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1 << 40, std::sync::atomic::Ordering::Relaxed)
}

/// The fd an exit event is about: fd-creating calls' new fd (the `fd` parameter, else a
/// non-negative result), else the `fd` parameter of the exit or of its enter event.
fn event_fd_of_exit(how: FdOfExit, ev: &RawEvent<'_>, enter: Option<&RawEvent<'_>>) -> i64 {
    use lanner_event::value::int;
    let param = |i: Option<u8>| i.and_then(|i| ev.param(usize::from(i)));
    match how {
        FdOfExit::None => -1,
        FdOfExit::Created(candidates) => {
            // pipe and socketpair create two: the event is about the first.
            let fd = candidates.into_iter().find_map(param).map_or(-1, int);
            if fd >= 0 { fd } else { -1 }
        }
        FdOfExit::Used(fd) => match param(fd) {
            Some(fd) => int(fd),
            None => enter
                .filter(|e| e.info().is_some_and(|i| i.flags.contains(EventFlags::USES_FD)))
                .and_then(|e| e.param(0))
                .map_or(-1, int),
        },
    }
}

/// An fd of a capture's fd list as state.
fn fd_from_table(info: &FdInfo, ino: u64) -> Option<Fd> {
    let mut fd = match info {
        FdInfo::Named { kind, name } => {
            let kind = match kind {
                NamedFdKind::File => FdKind::File,
                NamedFdKind::Directory => FdKind::Directory,
                NamedFdKind::Fifo => FdKind::Fifo,
                NamedFdKind::Event => FdKind::Event,
                NamedFdKind::Unsupported => FdKind::Unsupported,
                NamedFdKind::Signalfd => FdKind::Signalfd,
                NamedFdKind::Eventpoll => FdKind::Eventpoll,
                NamedFdKind::Inotify => FdKind::Inotify,
                NamedFdKind::Timerfd => FdKind::Timerfd,
                NamedFdKind::Netlink => FdKind::Netlink,
                NamedFdKind::Bpf => FdKind::Bpf,
                NamedFdKind::Userfaultfd => FdKind::Userfaultfd,
                NamedFdKind::IoUring => FdKind::IoUring,
                NamedFdKind::Memfd => FdKind::Memfd,
                NamedFdKind::Pidfd => FdKind::Pidfd,
            };
            Fd::named(kind, name.clone())
        }
        FdInfo::File { open_flags, name, dev } => {
            let mut fd = Fd::named(FdKind::File, name.clone());
            fd.open_flags = *open_flags;
            fd.dev = dev.unwrap_or(0);
            fd
        }
        FdInfo::Ipv4Socket { sip, dip, sport, dport, l4proto } => {
            let addrs = SockAddrs::V4 {
                sip: (*sip).into(),
                sport: *sport,
                dip: (*dip).into(),
                dport: *dport,
            };
            let mut fd = Fd::named(FdKind::Ipv4Socket, fd::sock_name(&addrs));
            fd.addrs = Some(addrs);
            fd.l4proto = L4Proto::from_code(*l4proto);
            // libsinsp gives sockets of the initial table a role from the interface list; a
            // socket of /proc is either end, and knowing the protocol matters more here.
            fd.role = Role::Client;
            fd
        }
        FdInfo::Ipv6Socket { sip, dip, sport, dport, l4proto } => {
            let addrs = SockAddrs::V6 {
                sip: (*sip).into(),
                sport: *sport,
                dip: (*dip).into(),
                dport: *dport,
            };
            let mut fd = Fd::named(FdKind::Ipv6Socket, fd::sock_name(&addrs));
            fd.addrs = Some(addrs);
            fd.l4proto = L4Proto::from_code(*l4proto);
            fd
        }
        FdInfo::Ipv4Server { ip, port, l4proto } => {
            let addrs = SockAddrs::V4Server { ip: (*ip).into(), port: *port };
            let mut fd = Fd::named(FdKind::Ipv4Server, fd::sock_name(&addrs));
            fd.addrs = Some(addrs);
            fd.l4proto = L4Proto::from_code(*l4proto);
            fd.role = Role::Server;
            fd
        }
        FdInfo::Ipv6Server { ip, port, l4proto } => {
            let addrs = SockAddrs::V6Server { ip: (*ip).into(), port: *port };
            let mut fd = Fd::named(FdKind::Ipv6Server, fd::sock_name(&addrs));
            fd.addrs = Some(addrs);
            fd.l4proto = L4Proto::from_code(*l4proto);
            fd.role = Role::Server;
            fd
        }
        FdInfo::Unix { source, dest, name } => {
            let mut fd = Fd::named(FdKind::Unix, name.clone());
            fd.addrs = Some(SockAddrs::Unix { source: *source, dest: *dest });
            fd
        }
        FdInfo::Unknown { .. } => return None,
    };
    fd.ino = ino;
    Some(fd)
}

/// The state answers the renderer's questions.
impl Resolver for State {
    fn cwd(&self, tid: i64) -> Option<&[u8]> {
        State::cwd(self, tid)
    }

    fn comm(&self, tid: i64) -> Option<&[u8]> {
        self.threads.get(tid).map(|t| t.comm.as_slice())
    }

    fn fd(&self, tid: i64, fd: i64) -> Option<FdView<'_>> {
        let f = State::fd(self, tid, fd)?;
        Some(FdView {
            type_char: f.kind.type_char(),
            l4_char: if f.kind.is_ip() { f.effective_l4proto().char() } else { None },
            name: &f.name,
        })
    }

    fn user_name(&self, _tid: i64, uid: u32) -> Option<&[u8]> {
        State::user_name(self, uid)
    }

    fn group_name(&self, _tid: i64, gid: u32) -> Option<&[u8]> {
        State::group_name(self, gid)
    }
}
