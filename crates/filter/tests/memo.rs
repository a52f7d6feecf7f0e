//! Checks on process-tree fields (`proc.pname`, `proc.aname` ...) remember their results per
//! thread; what changes the tree (`execve`, `prctl(PR_SET_NAME)`, `clone`, exits) must make
//! them look again.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use lanner_event::render::RenderOptions;
use lanner_event::{EventBuilder, ffi};
use lanner_fields::EventContext;
use lanner_filter::{Filter, Scratch};
use lanner_scap::Tables;
use lanner_scap::tables::ThreadEntry;
use lanner_state::State;

struct Sim {
    state: State,
    builder: EventBuilder,
    ts: u64,
}

enum P<'a> {
    I(i64),
    U32(u32),
    S(&'a str),
    B(&'a [u8]),
}

impl Sim {
    fn new() -> Sim {
        let mut tables = Tables::default();
        for (tid, ptid, comm) in [(1, 0, "systemd"), (100, 1, "bash")] {
            tables.threads.push(ThreadEntry {
                tid,
                pid: tid,
                ptid,
                comm: comm.as_bytes().to_vec(),
                exe: comm.as_bytes().to_vec(),
                ..ThreadEntry::default()
            });
        }
        Sim { state: State::from_tables(&tables), builder: EventBuilder::new(), ts: 1_000 }
    }

    /// Applies an event and evaluates the filter on it.
    fn event(
        &mut self,
        filter: &Filter,
        scratch: &mut Scratch,
        code: u32,
        tid: i64,
        params: &[P<'_>],
    ) -> bool {
        let b = self.builder.start();
        for p in params {
            match p {
                P::I(v) => b.param(&v.to_le_bytes()),
                P::U32(v) => b.param(&v.to_le_bytes()),
                P::S(s) => b.param(&[s.as_bytes(), b"\0"].concat()),
                P::B(v) => b.param(v),
            };
        }
        self.ts += 1_000;
        let ev = self.builder.finish(self.ts, tid, code as u16).unwrap();
        self.state.process(&ev);
        let ctx = EventContext::new(0, 0, &ev, &self.state, 0, 0, RenderOptions::default());
        filter.matches(&ctx, scratch)
    }

    fn getpid(&mut self, filter: &Filter, scratch: &mut Scratch, tid: i64) -> bool {
        // A generic syscall exit: changes nothing.
        self.event(
            filter,
            scratch,
            ffi::ppm_event_code_PPME_GENERIC_X,
            tid,
            &[P::U32(39), P::U32(0)],
        )
    }

    fn clone(&mut self, filter: &Filter, scratch: &mut Scratch, parent: i64, child: i64) {
        let params = [
            P::I(child),
            P::S("/bin/bash"),
            P::B(b""),
            P::I(parent),
            P::I(parent),
            P::I(1),
            P::S("/"),
            P::I(1024),
            P::U32(0),
            P::U32(0),
            P::U32(0),
            P::U32(0),
            P::U32(0),
            P::S("bash"),
            P::B(b""),
            P::U32(0),
            P::U32(0),
            P::U32(0),
            P::I(parent),
            P::I(parent),
        ];
        self.event(filter, scratch, ffi::ppm_event_code_PPME_SYSCALL_CLONE_20_X, parent, &params);
    }

    fn execve(&mut self, filter: &Filter, scratch: &mut Scratch, tid: i64, comm: &str) {
        let params = [
            P::I(0),
            P::S(comm),
            P::B(b""),
            P::I(tid),
            P::I(tid),
            P::I(1),
            P::S("/"),
            P::I(1024),
            P::U32(0),
            P::U32(0),
            P::U32(0),
            P::U32(0),
            P::U32(0),
            P::S(comm),
            P::B(b""),
            P::B(b""),
        ];
        self.event(filter, scratch, ffi::ppm_event_code_PPME_SYSCALL_EXECVE_19_X, tid, &params);
    }
}

#[test]
fn remembered_results_follow_the_process_tree() {
    let filter = Filter::compile("proc.pname = bash and proc.aname[2] = systemd").unwrap();
    let mut scratch = Scratch::for_filter(&filter);
    let mut sim = Sim::new();
    sim.clone(&filter, &mut scratch, 100, 200);
    assert!(sim.getpid(&filter, &mut scratch, 200));
    assert!(sim.getpid(&filter, &mut scratch, 200), "remembered");
    // The parent runs another program: the child's parent is no longer bash.
    sim.execve(&filter, &mut scratch, 100, "zsh");
    assert!(!sim.getpid(&filter, &mut scratch, 200));
    sim.execve(&filter, &mut scratch, 100, "bash");
    assert!(sim.getpid(&filter, &mut scratch, 200));
    // The parent renames itself.
    let params = [P::I(0), P::U32(15), P::S("worker"), P::I(0)];
    sim.event(&filter, &mut scratch, ffi::ppm_event_code_PPME_SYSCALL_PRCTL_X, 100, &params);
    assert!(!sim.getpid(&filter, &mut scratch, 200));
    // Another thread with the same memory slot does not take the child's result.
    sim.execve(&filter, &mut scratch, 100, "bash");
    for tid in 300..400 {
        assert!(!sim.getpid(&filter, &mut scratch, tid), "{tid}: an unknown thread");
    }
    assert!(sim.getpid(&filter, &mut scratch, 200));
    // A fresh state is never taken for the old one, even with the same scratch.
    let mut other = Sim::new();
    assert!(!other.getpid(&filter, &mut scratch, 200));
}
