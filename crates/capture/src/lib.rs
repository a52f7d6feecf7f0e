//! Live capture: lanner's CO-RE eBPF probe, its loader, the per-CPU ring buffers, and the
//! `/proc` scan that seeds the state.
//!
//! The probe (`src/bpf/probe.bpf.c`, compiled by `build.rs` with clang against the committed
//! `vmlinux.h`) writes libs' scap events, exit-side, for the syscalls the loaded rules and the
//! state need ([`syscalls`]), into one ring buffer per CPU. [`Probe`] loads only those
//! programs, attaches them in the cheapest mode the kernel allows ([`AttachMode`]), and hands
//! out the events of all CPUs merged in timestamp order, borrowed from the ring buffers
//! (no copy). [`procfs::scan`] reads `/proc` into the same [`Tables`](lanner_scap::tables::Tables)
//! a capture file starts with.
//!
//! # Decisions
//!
//! - **Exit events only, enter folded in where the table allows.** The libs table this build
//!   decodes still keeps some arguments on the enter side (`close`'s fd, `setuid`'s uid,
//!   `ptrace`'s request ...). For those syscalls the exit program writes the enter event and
//!   then the exit event, back to back, so the state and the rules see what a capture from
//!   Falco's probes would show.
//! - **No wakeups.** Events are written with `BPF_RB_NO_WAKEUP`; the consumer drains on a
//!   short timer. The default wakeup per event costs about ten times more on this kind of
//!   machine.
//! - **Per-syscall tracepoints by default.** On kernels where BPF trampolines (fexit) are
//!   refused, per-syscall tracepoints cost about 35 ns on every other syscall against 83 ns
//!   for the generic `tp_btf/sys_exit`; the probe uses them when tracefs is there (mounting it
//!   if needed) and falls back to `tp_btf/sys_exit` with a program array as interest table.
//! - **Drops counted, never silent.** Every event the probe could not write is counted per CPU
//!   and reason ([`CpuCounters`]).
//! - **lanner's own syscalls are left out** by default (its own writes would feed back).

mod probe;
pub mod procfs;
mod ring;
pub mod syscalls;

#[allow(unreachable_pub, reason = "the generated skeleton re-exports its module")]
mod skel {
    include!(concat!(env!("OUT_DIR"), "/probe.skel.rs"));
}

pub use probe::{AttachMode, CpuCounters, Probe, ProbeOptions};
pub use syscalls::Syscall;

/// Why the probe could not start or read.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// A libbpf operation failed.
    #[error("cannot {what}: {source}")]
    Bpf {
        /// What was being done.
        what: String,
        /// libbpf's error.
        source: libbpf_rs::Error,
    },
    /// Mapping a ring buffer failed.
    #[error("cannot map a ring buffer: {0}")]
    Map(std::io::Error),
    /// Per-syscall tracepoints were asked for but tracefs is not available.
    #[error("tracefs is not mounted and cannot be mounted (needed for per-syscall tracepoints)")]
    NoTracefs,
    /// A bug in lanner.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl CaptureError {
    fn bpf(what: &'static str) -> impl Fn(libbpf_rs::Error) -> CaptureError {
        move |source| CaptureError::Bpf { what: what.to_owned(), source }
    }

    fn bpf_named(what: &'static str, name: &str) -> impl Fn(libbpf_rs::Error) -> CaptureError {
        let what = format!("{what} {name}");
        move |source| CaptureError::Bpf { what: what.clone(), source }
    }
}
