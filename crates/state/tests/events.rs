//! The state machine, event by event: each test builds the events a syscall sequence produces
//! and checks the threads and fds they leave behind.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use lanner_event::{EventBuilder, ffi};
use lanner_scap::Tables;
use lanner_scap::tables::{FdEntry, FdInfo, FdList, ThreadEntry};
use lanner_state::{FdKind, L4Proto, Role, State};

/// Builds events and applies them to a state.
struct Sim {
    state: State,
    builder: EventBuilder,
    ts: u64,
}

enum P<'a> {
    I(i64),
    U32(u32),
    U16(u16),
    S(&'a str),
    B(&'a [u8]),
}

impl Sim {
    fn new() -> Sim {
        let mut tables = Tables::default();
        let shell = ThreadEntry {
            tid: 100,
            pid: 100,
            ptid: 1,
            comm: b"bash".to_vec(),
            exe: b"/bin/bash".to_vec(),
            cwd: b"/home/alice/".to_vec(),
            uid: 1000,
            cgroups: b"cpu=/user.slice\0".to_vec(),
            ..ThreadEntry::default()
        };
        tables.threads.push(shell);
        tables.fd_lists.push(FdList {
            tid: 100,
            fds: vec![FdEntry {
                fd: 0,
                ino: 1,
                info: FdInfo::Named {
                    kind: lanner_scap::tables::NamedFdKind::File,
                    name: b"/dev/pts/0".to_vec(),
                },
            }],
        });
        Sim { state: State::from_tables(&tables), builder: EventBuilder::new(), ts: 1_000 }
    }

    fn event(&mut self, code: u32, tid: i64, params: &[P<'_>]) {
        let b = self.builder.start();
        for p in params {
            match p {
                P::I(v) => b.param(&v.to_le_bytes()),
                P::U32(v) => b.param(&v.to_le_bytes()),
                P::U16(v) => b.param(&v.to_le_bytes()),
                P::S(s) => {
                    let mut v = s.as_bytes().to_vec();
                    v.push(0);
                    b.param(&v)
                }
                P::B(v) => b.param(v),
            };
        }
        self.ts += 1_000;
        let ev = self.builder.finish(self.ts, tid, code as u16).unwrap();
        self.state.process(&ev);
    }

    fn comm(&self, tid: i64) -> Option<String> {
        self.state.thread(tid).map(|t| String::from_utf8_lossy(&t.comm).into_owned())
    }

    fn fd_name(&self, tid: i64, fd: i64) -> Option<String> {
        self.state.fd(tid, fd).map(|f| String::from_utf8_lossy(&f.name).into_owned())
    }
}

fn open_x(sim: &mut Sim, tid: i64, fd: i64, path: &str, flags: u32) {
    sim.event(
        ffi::ppm_event_code_PPME_SYSCALL_OPEN_X,
        tid,
        &[P::I(fd), P::S(path), P::U32(flags), P::U32(0), P::U32(0), P::I(0)],
    );
}

fn clone_x(sim: &mut Sim, tid: i64, res: i64, pid: i64, ptid: i64, flags: u32) {
    clone_x_in(sim, tid, res, pid, ptid, flags, b"cpu=/user.slice\0");
}

fn clone_x_in(sim: &mut Sim, tid: i64, res: i64, pid: i64, ptid: i64, flags: u32, cgroups: &[u8]) {
    sim.event(
        ffi::ppm_event_code_PPME_SYSCALL_CLONE_20_X,
        tid,
        &[
            P::I(res),
            P::S("/bin/bash"),
            P::B(b""),
            P::I(tid),
            P::I(pid),
            P::I(ptid),
            P::S("/home/alice"),
            P::I(1024),
            P::U32(0),
            P::U32(0),
            P::U32(0),
            P::U32(0),
            P::U32(0),
            P::S("bash"),
            P::B(cgroups),
            P::U32(flags),
            P::U32(1000),
            P::U32(1000),
            P::I(tid),
            P::I(pid),
        ],
    );
}

#[test]
fn seeded_from_the_tables() {
    let sim = Sim::new();
    assert_eq!(sim.comm(100).as_deref(), Some("bash"));
    assert_eq!(sim.fd_name(100, 0).as_deref(), Some("/dev/pts/0"));
    assert_eq!(sim.state.cwd(100), Some(&b"/home/alice/"[..]));
    assert_eq!(sim.state.thread(100).unwrap().container_id, "host");
}

#[test]
fn open_resolves_relative_paths_and_close_removes_one_event_later() {
    let mut sim = Sim::new();
    open_x(&mut sim, 100, 3, "notes/../todo.txt", ffi::PPM_O_RDONLY);
    assert_eq!(sim.fd_name(100, 3).as_deref(), Some("/home/alice/todo.txt"));
    assert_eq!(sim.state.fd(100, 3).unwrap().kind, FdKind::File);
    // old captures: the fd is in the enter event only
    sim.event(ffi::ppm_event_code_PPME_SYSCALL_CLOSE_E, 100, &[P::I(3)]);
    sim.event(ffi::ppm_event_code_PPME_SYSCALL_CLOSE_X, 100, &[P::I(0)]);
    assert!(sim.state.fd(100, 3).is_some(), "the close itself still sees the fd");
    open_x(&mut sim, 100, 4, "/etc/passwd", ffi::PPM_O_RDONLY);
    assert!(sim.state.fd(100, 3).is_none());
    assert_eq!(sim.fd_name(100, 4).as_deref(), Some("/etc/passwd"));
}

#[test]
fn failed_calls_change_nothing() {
    let mut sim = Sim::new();
    open_x(&mut sim, 100, -2, "/nope", 0);
    assert!(sim.state.fd(100, -2).is_none());
    sim.event(ffi::ppm_event_code_PPME_SYSCALL_CHDIR_X, 100, &[P::I(-2), P::S("/nope")]);
    assert_eq!(sim.state.cwd(100), Some(&b"/home/alice/"[..]));
}

#[test]
fn fork_copies_fds_and_threads_share_them() {
    let mut sim = Sim::new();
    open_x(&mut sim, 100, 3, "/tmp/a", 0);
    // a process: fork from bash
    clone_x(&mut sim, 100, 200, 100, 1, 0);
    assert_eq!(sim.comm(200).as_deref(), Some("bash"));
    let child = sim.state.thread(200).unwrap();
    assert_eq!((child.pid, child.ptid), (200, 100));
    assert_eq!(sim.fd_name(200, 3).as_deref(), Some("/tmp/a"));
    // the copy is independent
    open_x(&mut sim, 200, 5, "/tmp/b", 0);
    assert!(sim.state.fd(100, 5).is_none());
    // a thread of process 200 shares its table
    clone_x(&mut sim, 200, 201, 200, 100, ffi::PPM_CL_CLONE_THREAD | ffi::PPM_CL_CLONE_FILES);
    assert_eq!(sim.state.thread(201).unwrap().pid, 200);
    open_x(&mut sim, 201, 6, "/tmp/c", 0);
    assert_eq!(sim.fd_name(200, 6).as_deref(), Some("/tmp/c"));
    // the child's own exit of clone does not create it twice
    clone_x(&mut sim, 200, 0, 200, 100, 0);
    assert_eq!(sim.state.stats().threads_created, 2);
}

#[test]
fn execve_changes_the_program_and_closes_cloexec_fds() {
    let mut sim = Sim::new();
    open_x(&mut sim, 100, 3, "/tmp/keep", 0);
    open_x(&mut sim, 100, 4, "/tmp/drop", ffi::PPM_O_CLOEXEC);
    let mut params = vec![
        P::I(0),
        P::S("/usr/bin/cat"),
        P::B(b"/etc/hosts\0"),
        P::I(100),
        P::I(100),
        P::I(1),
        P::S("/home/alice/"),
        P::I(1024),
        P::U32(0),
        P::U32(0),
        P::U32(0),
        P::U32(0),
        P::U32(0),
        P::S("cat"),
        P::B(b"cpu=/docker/3ad7b26ded6d8e7b23da7d48fe889434573036c27ae5a74837233de441c3601e\0"),
        P::B(b"HOME=/home/alice\0"),
        P::U32(34816),
    ];
    sim.event(ffi::ppm_event_code_PPME_SYSCALL_EXECVE_17_X, 100, &params);
    let t = sim.state.thread(100).unwrap();
    assert_eq!(t.comm, b"cat");
    assert_eq!(t.exe, b"/usr/bin/cat");
    assert_eq!(t.args, b"/etc/hosts\0");
    assert_eq!(t.tty, 34816);
    assert_eq!(t.container_id, "3ad7b26ded6d");
    assert!(sim.state.fd(100, 3).is_some());
    assert!(sim.state.fd(100, 4).is_none());
    // a failed execve changes nothing
    params[0] = P::I(-2);
    params[13] = P::S("nope");
    sim.event(ffi::ppm_event_code_PPME_SYSCALL_EXECVE_17_X, 100, &params);
    assert_eq!(sim.comm(100).as_deref(), Some("cat"));
}

#[test]
fn sockets_learn_their_addresses() {
    let mut sim = Sim::new();
    // socket(AF_INET, SOCK_STREAM, 0) = 3
    sim.event(
        ffi::ppm_event_code_PPME_SOCKET_SOCKET_X,
        100,
        &[P::I(3), P::U32(ffi::PPM_AF_INET), P::U32(1), P::U32(0)],
    );
    let fd = sim.state.fd(100, 3).unwrap();
    assert_eq!(
        (fd.kind, fd.role, fd.effective_l4proto()),
        (FdKind::Ipv4Socket, Role::None, L4Proto::Na)
    );
    let mut tuple = vec![ffi::PPM_AF_INET as u8];
    tuple.extend_from_slice(&[10, 0, 0, 1]);
    tuple.extend_from_slice(&40000u16.to_le_bytes());
    tuple.extend_from_slice(&[93, 184, 216, 34]);
    tuple.extend_from_slice(&443u16.to_le_bytes());
    sim.event(ffi::ppm_event_code_PPME_SOCKET_CONNECT_X, 100, &[P::I(0), P::B(&tuple), P::I(3)]);
    let fd = sim.state.fd(100, 3).unwrap();
    assert_eq!(fd.name, b"10.0.0.1:40000->93.184.216.34:443");
    assert_eq!((fd.role, fd.effective_l4proto()), (Role::Client, L4Proto::Tcp));
    // dup2(3, 7)
    sim.event(ffi::ppm_event_code_PPME_SYSCALL_DUP2_X, 100, &[P::I(7), P::I(3), P::I(7)]);
    assert_eq!(sim.fd_name(100, 7).as_deref(), Some("10.0.0.1:40000->93.184.216.34:443"));
}

#[test]
fn pipes_chdir_and_credentials() {
    let mut sim = Sim::new();
    sim.event(ffi::ppm_event_code_PPME_SYSCALL_PIPE_X, 100, &[P::I(0), P::I(3), P::I(4), P::I(77)]);
    assert_eq!(sim.state.fd(100, 4).unwrap().kind, FdKind::Fifo);
    sim.event(ffi::ppm_event_code_PPME_SYSCALL_CHDIR_X, 100, &[P::I(0), P::S("../bob")]);
    assert_eq!(sim.state.cwd(100), Some(&b"/home/bob/"[..]));
    sim.event(ffi::ppm_event_code_PPME_SYSCALL_SETUID_E, 100, &[P::U32(0)]);
    sim.event(ffi::ppm_event_code_PPME_SYSCALL_SETUID_X, 100, &[P::I(0)]);
    assert_eq!(sim.state.thread(100).unwrap().uid, 0);
    let _ = P::U16(0);
}

#[test]
fn unknown_threads_are_synthesized_and_exited_ones_removed() {
    let mut sim = Sim::new();
    open_x(&mut sim, 4242, 3, "rel", 0);
    assert_eq!(sim.comm(4242).as_deref(), Some("<NA>"));
    // no cwd known: the relative path stays relative
    assert_eq!(sim.fd_name(4242, 3).as_deref(), Some("rel"));
    assert_eq!(sim.state.stats().threads_synthesized, 1);
    sim.event(
        ffi::ppm_event_code_PPME_PROCEXIT_1_E,
        4242,
        &[P::I(0), P::I(0), P::B(&[0]), P::B(&[0]), P::I(0)],
    );
    assert!(sim.state.thread(4242).is_some(), "removed when the next event arrives");
    open_x(&mut sim, 100, 3, "/x", 0);
    assert!(sim.state.thread(4242).is_none());
    assert_eq!(sim.state.stats().threads_removed, 1);
}

#[test]
fn inactive_synthetic_threads_are_purged() {
    let mut sim = Sim::new();
    open_x(&mut sim, 5000, 3, "/x", 0);
    sim.ts += 20 * 60 * 1_000_000_000;
    open_x(&mut sim, 100, 3, "/y", 0);
    assert!(sim.state.thread(5000).is_none());
    assert!(sim.state.thread(100).is_some(), "threads of the initial table are kept");
    assert_eq!(sim.state.stats().threads_purged, 1);
}

#[test]
fn container_events_fill_the_container_table() {
    let mut sim = Sim::new();
    let id = "3ad7b26ded6d8e7b23da7d48fe889434573036c27ae5a74837233de441c3601e";
    let json = format!(
        r#"{{"container":{{"id":"3ad7b26ded6d","full_id":"{id}","type":7,"name":"coredns",
        "image":"registry.k8s.io/coredns:v1","imagerepo":"registry.k8s.io/coredns","privileged":true,
        "labels":{{"io.kubernetes.pod.namespace":"kube-system"}},
        "Mounts":[{{"Source":"/var/lib/kubelet","Destination":"/var/lib/kubelet","RW":false}}]}}}}"#
    );
    sim.event(ffi::ppm_event_code_PPME_CONTAINER_JSON_2_E, -1, &[P::S(&json)]);
    let c = sim.state.containers().get("3ad7b26ded6d").unwrap();
    assert_eq!(c.name, "coredns");
    assert_eq!(c.kind, lanner_state::ContainerType::Containerd);
    assert_eq!(c.mounts[0].to_string(), "/var/lib/kubelet:/var/lib/kubelet::false:");
    assert_eq!(sim.state.event_container().map(|c| c.id.as_str()), Some("3ad7b26ded6d"));
    // A container event creates no thread, and the next event is about no container.
    assert!(sim.state.thread(-1).is_none());
    open_x(&mut sim, 100, 5, "/etc/hosts", 1);
    assert!(sim.state.event_container().is_none());

    // The old event with parameters, and the first JSON version.
    sim.event(
        ffi::ppm_event_code_PPME_CONTAINER_E,
        -1,
        &[P::S("a1b2c3d4e5f6"), P::U32(0), P::S("old"), P::S("busybox")],
    );
    sim.event(
        ffi::ppm_event_code_PPME_CONTAINER_JSON_E,
        -1,
        &[P::S(r#"{"container":{"id":"b1b2c3d4e5f6","type":11,"name":"pod"}}"#)],
    );
    assert_eq!(sim.state.containers().get("a1b2c3d4e5f6").unwrap().image, "busybox");
    assert_eq!(sim.state.containers().get("b1b2c3d4e5f6").unwrap().kind.name(), "podman");

    // Bad documents are counted and skipped.
    sim.event(ffi::ppm_event_code_PPME_CONTAINER_JSON_2_E, -1, &[P::S("{not json")]);
    sim.event(ffi::ppm_event_code_PPME_CONTAINER_JSON_2_E, -1, &[P::B(b"")]);
    let stats = sim.state.stats();
    assert_eq!((stats.container_events, stats.container_events_invalid), (3, 2));
    assert_eq!(sim.state.containers().len(), 3);
    assert!(sim.state.event_container().is_none());
}

#[test]
fn threads_know_their_container_from_cgroups() {
    let mut sim = Sim::new();
    let host = sim.state.thread(100).unwrap();
    assert!(host.on_host());
    assert_eq!(sim.state.container_of(host).map(|c| c.name.as_str()), Some("host"));
    clone_x(&mut sim, 100, 101, 101, 100, 0);
    let full = "3ad7b26ded6d8e7b23da7d48fe889434573036c27ae5a74837233de441c3601e";
    let cgroups = format!("0::/kubepods.slice/kubepods-pod1.slice/crio-{full}.scope\0");
    let mut params = vec![
        P::I(0),
        P::S("/usr/bin/cat"),
        P::B(b""),
        P::I(101),
        P::I(101),
        P::I(100),
        P::S("/"),
        P::I(1024),
        P::U32(0),
        P::U32(0),
        P::U32(0),
        P::U32(0),
        P::U32(0),
        P::S("cat"),
    ];
    params.push(P::B(cgroups.as_bytes()));
    params.push(P::B(b""));
    sim.event(ffi::ppm_event_code_PPME_SYSCALL_EXECVE_19_X, 101, &params);
    let t = sim.state.thread(101).unwrap();
    assert_eq!(t.container_id, "3ad7b26ded6d");
    assert_eq!(t.container_full_id, full);
    assert_eq!(t.container_type, lanner_state::ContainerType::CriO);
    assert!(!t.on_host());
    // No container event described it: no metadata.
    assert!(sim.state.container_of(t).is_none());
}

#[test]
fn children_in_containers_and_vfork_children_are_made_by_their_own_clone_exit() {
    let full = "3ad7b26ded6d8e7b23da7d48fe889434573036c27ae5a74837233de441c3601e";
    let in_container = format!("cpu=/docker/{full}\0");
    let mut sim = Sim::new();
    // The caller's half of a clone into a new pid namespace makes nothing ...
    clone_x(&mut sim, 100, 300, 300, 100, ffi::PPM_CL_CLONE_NEWPID);
    assert!(sim.state.thread(300).is_none());
    // ... the child's half makes the child, with its own cgroups: in the container.
    clone_x_in(&mut sim, 300, 0, 300, 100, ffi::PPM_CL_CLONE_NEWPID, in_container.as_bytes());
    let child = sim.state.thread(300).unwrap();
    assert_eq!(child.container_id, &full[..12]);
    assert_eq!(child.ptid, 100);
    // The same for a caller already in a namespace, and for vfork.
    clone_x(&mut sim, 100, 301, 301, 100, ffi::PPM_CL_CHILD_IN_PIDNS);
    clone_x(&mut sim, 100, 302, 302, 100, ffi::PPM_CL_CLONE_VFORK);
    assert!(sim.state.thread(301).is_none() && sim.state.thread(302).is_none());
    assert_eq!(sim.state.stats().threads_created, 1);
    // A child made by its own half first is not made again by the caller's half.
    clone_x(&mut sim, 400, 0, 400, 100, 0);
    clone_x(&mut sim, 100, 400, 400, 100, 0);
    assert_eq!(sim.state.stats().threads_created, 2);
}

#[test]
fn a_clone_replaces_a_stale_thread_of_the_same_tid() {
    let mut sim = Sim::new();
    clone_x(&mut sim, 100, 500, 500, 100, 0);
    // The child's half right after: the same clone.
    clone_x(&mut sim, 500, 0, 500, 100, 0);
    assert_eq!(sim.state.stats().threads_created, 1);
    // Much later the tid is reused by a clone whose caller's half was lost.
    sim.ts += 10_000_000_000;
    clone_x_in(&mut sim, 500, 0, 500, 100, 0, b"cpu=/other.slice\0");
    assert_eq!(sim.state.stats().threads_created, 2);
    assert_eq!(sim.state.thread(500).unwrap().cgroups, b"cpu=/other.slice\0");
}
