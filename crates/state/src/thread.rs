//! Threads: what is known of each thread, and the table of all of them.

use rustc_hash::FxHashMap;

use lanner_scap::tables::ThreadEntry;

use crate::container::{self, ContainerType};
use crate::fd::FdTable;

/// What is known of one thread.
///
/// Strings keep the bytes the kernel reported; `args`, `env` and `cgroups` keep their
/// NUL-separated form (iterate them with `lanner_event::value::nul_separated`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[expect(missing_docs, reason = "fields are named after the proc.* and thread.* fields they feed")]
pub struct Thread {
    pub tid: i64,
    pub pid: i64,
    pub ptid: i64,
    pub sid: i64,
    pub vpgid: i64,
    pub pgid: i64,
    pub comm: Vec<u8>,
    pub exe: Vec<u8>,
    pub exepath: Vec<u8>,
    pub args: Vec<u8>,
    pub env: Vec<u8>,
    /// Working directory, always ending with `/` (empty when not known).
    pub cwd: Vec<u8>,
    pub root: Vec<u8>,
    pub cgroups: Vec<u8>,
    /// Container id derived from the cgroups: its first 12 hex digits (`container.id`), `host`
    /// outside containers, empty when unknown (a thread first seen in an event, which libs
    /// counts as the host's).
    pub container_id: String,
    /// The full container id (64 hex digits; empty on the host).
    pub container_full_id: String,
    /// The runtime the cgroup path shape belongs to ([`ContainerType::Host`] on the host).
    pub container_type: ContainerType,
    pub uid: u32,
    pub gid: u32,
    pub loginuid: u32,
    pub fdlimit: i64,
    /// `PPM_CL_*` flags.
    pub flags: u32,
    pub vtid: i64,
    pub vpid: i64,
    pub pidns_init_start_ts: u64,
    pub tty: u32,
    pub cap_inheritable: u64,
    pub cap_permitted: u64,
    pub cap_effective: u64,
    pub exe_writable: bool,
    pub exe_upper_layer: bool,
    pub exe_lower_layer: bool,
    pub exe_from_memfd: bool,
    pub exe_ino: u64,
    pub exe_ino_ctime: u64,
    pub exe_ino_mtime: u64,
    pub vmsize_kb: u32,
    pub vmrss_kb: u32,
    pub vmswap_kb: u32,
    pub pfmajor: u64,
    pub pfminor: u64,
    /// When the thread was created (ns since the epoch; 0 for threads of the initial table).
    pub clone_ts: u64,
    /// Time between the thread's last enter event and its exit (0 after an enter event; kept
    /// across scheduler and internal events), libsinsp's `m_latency`.
    pub latency: u64,
    /// The fds, for a thread that owns its table (a process's main thread, or a thread that
    /// does not share its parent's). Threads that share use their process's table.
    pub fds: FdTable,
    /// Whether the thread was created for an event of an unknown thread (so most of it is
    /// unknown).
    pub synthetic: bool,
    /// Time of the last event the thread made (ns since the epoch; 0 for none yet).
    pub last_seen: u64,
    /// The thread's last enter event, for the exit that follows (captures of libs before 0.22
    /// hold both halves of syscalls); libsinsp's `m_lastevent_data`.
    pub(crate) last_enter: lanner_event::EventBuf,
}

impl Thread {
    /// A thread of the capture's initial process list.
    pub fn from_entry(e: &ThreadEntry) -> Thread {
        let mut cwd = e.cwd.clone();
        if !cwd.is_empty() && cwd.last() != Some(&b'/') {
            cwd.push(b'/');
        }
        let mut t = Thread {
            tid: e.tid as i64,
            pid: e.pid as i64,
            ptid: e.ptid as i64,
            sid: e.sid as i64,
            vpgid: e.vpgid as i64,
            pgid: e.pgid,
            comm: e.comm.clone(),
            exe: e.exe.clone(),
            exepath: e.exepath.clone(),
            args: e.args.clone(),
            env: e.env.clone(),
            cwd,
            root: e.root.clone(),
            cgroups: Vec::new(),
            container_id: String::new(),
            container_full_id: String::new(),
            container_type: ContainerType::Host,
            uid: e.uid,
            gid: e.gid,
            loginuid: e.loginuid,
            fdlimit: e.fdlimit as i64,
            flags: e.flags,
            vtid: e.vtid,
            vpid: e.vpid,
            pidns_init_start_ts: e.pidns_init_start_ts,
            tty: e.tty,
            cap_inheritable: e.cap_inheritable,
            cap_permitted: e.cap_permitted,
            cap_effective: e.cap_effective,
            exe_writable: e.exe_writable,
            exe_upper_layer: e.exe_upper_layer,
            exe_lower_layer: e.exe_lower_layer,
            exe_from_memfd: e.exe_from_memfd,
            exe_ino: e.exe_ino,
            exe_ino_ctime: e.exe_ino_ctime,
            exe_ino_mtime: e.exe_ino_mtime,
            vmsize_kb: e.vmsize_kb,
            vmrss_kb: e.vmrss_kb,
            vmswap_kb: e.vmswap_kb,
            pfmajor: e.pfmajor,
            pfminor: e.pfminor,
            clone_ts: 0,
            latency: 0,
            fds: FdTable::default(),
            synthetic: false,
            last_seen: 0,
            last_enter: lanner_event::EventBuf::new(),
        };
        t.set_cgroups(&e.cgroups);
        t
    }

    /// Sets the thread's cgroups (`subsys=path` entries, NUL-separated) and the container they
    /// place it in.
    pub fn set_cgroups(&mut self, cgroups: &[u8]) {
        if !cgroups.is_empty() && cgroups == self.cgroups.as_slice() {
            // Unchanged (a child has its parent's): so is the container.
            return;
        }
        self.cgroups.clear();
        self.cgroups.extend_from_slice(cgroups);
        match container::container_of(cgroups) {
            Some(c) => {
                self.container_id = c.id;
                self.container_full_id = c.full_id;
                self.container_type = c.runtime;
            }
            None => {
                self.container_id.clear();
                self.container_id.push_str(container::HOST);
                self.container_full_id.clear();
                self.container_type = ContainerType::Host;
            }
        }
    }

    /// Whether the thread runs on the host (outside containers, or in no known container).
    pub fn on_host(&self) -> bool {
        self.container_id.is_empty() || self.container_id == container::HOST
    }

    /// A placeholder for a thread first seen in an event: its command is `<NA>`, as libsinsp
    /// names threads it knows nothing about.
    pub fn synthetic(tid: i64) -> Thread {
        Thread {
            tid,
            pid: tid,
            ptid: -1,
            sid: -1,
            vpgid: -1,
            pgid: -1,
            comm: b"<NA>".to_vec(),
            uid: u32::MAX,
            gid: u32::MAX,
            vtid: -1,
            vpid: -1,
            loginuid: u32::MAX,
            synthetic: true,
            ..Thread::default()
        }
    }

    /// Whether this is the main thread of its process.
    pub fn is_main_thread(&self) -> bool {
        self.tid == self.pid
    }
}

/// All known threads, by tid.
#[derive(Clone, Debug, Default)]
pub struct ThreadTable {
    threads: FxHashMap<i64, Thread>,
}

impl ThreadTable {
    /// The thread with this tid.
    pub fn get(&self, tid: i64) -> Option<&Thread> {
        self.threads.get(&tid)
    }

    /// The thread with this tid, to change it.
    pub fn get_mut(&mut self, tid: i64) -> Option<&mut Thread> {
        self.threads.get_mut(&tid)
    }

    /// The thread with this tid, made by `make` if it is not known; says whether it was made.
    pub fn get_or_insert_with(
        &mut self,
        tid: i64,
        make: impl FnOnce() -> Thread,
    ) -> (&mut Thread, bool) {
        let mut made = false;
        let t = self.threads.entry(tid).or_insert_with(|| {
            made = true;
            make()
        });
        (t, made)
    }

    /// Adds (or replaces) a thread.
    pub fn insert(&mut self, thread: Thread) {
        self.threads.insert(thread.tid, thread);
    }

    /// Removes a thread.
    pub fn remove(&mut self, tid: i64) -> Option<Thread> {
        self.threads.remove(&tid)
    }

    /// Number of threads.
    pub fn len(&self) -> usize {
        self.threads.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.threads.is_empty()
    }

    /// Every thread, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Thread> {
        self.threads.values()
    }

    /// The tid whose fd table a thread uses: its process's main thread when that is known and
    /// the thread shares it, else its own.
    pub fn fd_owner(&self, tid: i64) -> Option<i64> {
        let t = self.threads.get(&tid)?;
        if t.pid != t.tid && self.threads.contains_key(&t.pid) { Some(t.pid) } else { Some(tid) }
    }

    /// The fd table a thread uses.
    pub fn fds(&self, tid: i64) -> Option<&FdTable> {
        self.fd_owner(tid).and_then(|owner| self.threads.get(&owner)).map(|t| &t.fds)
    }

    /// The fd table a thread uses, to change it.
    pub fn fds_mut(&mut self, tid: i64) -> Option<&mut FdTable> {
        let owner = self.fd_owner(tid)?;
        self.threads.get_mut(&owner).map(|t| &mut t.fds)
    }
}
