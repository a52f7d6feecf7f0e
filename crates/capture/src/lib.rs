//! Live capture: lanner's CO-RE eBPF probe, its loader, the per-CPU ring buffers, and the
//! `/proc` scan that seeds the state.
//!
//! The probe (`src/bpf/probe.bpf.c`, compiled by `build.rs` with clang against the committed
//! `vmlinux.h`) writes libs' scap events, exit-side, for the syscalls the loaded rules and the
//! state need ([`syscalls`]), into one ring buffer per CPU (or per group of CPUs, as
//! `engine.modern_ebpf.cpus_for_each_buffer` asks: [`ring_of`]). [`Probe`] loads only those
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
//!   then the exit event, back to back in one ring record with one timestamp (one clock read,
//!   one reservation), so the state and the rules see what a capture from Falco's probes
//!   would show.
//! - **No wakeups.** Events are written with `BPF_RB_NO_WAKEUP`; the consumer drains on a
//!   short timer, and gives room back to the kernel in batches (the consumer position shares a
//!   cache line with what the producer reads on every reservation). The default wakeup per
//!   event costs about ten times more on this kind of machine.
//! - **The cheapest attachment the kernel allows, chosen at start-up** ([`ModeChoice`]):
//!   fexit on each needed syscall where BPF trampolines load (a trial program tells); else,
//!   with tracefs (mounted if needed), the cheaper of per-syscall tracepoints (about 35 ns on
//!   every syscall, 110 ns more on a traced one) and `tp_btf/sys_exit` with a program array as
//!   interest table (about 83 ns on every syscall), judged on the machine's syscall mix
//!   sampled for [`MIX_SAMPLE`]; without tracefs, `tp_btf/sys_exit`. The mode and the reason
//!   are logged; `lanner --attach` forces one.
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

pub use probe::{
    AttachMode, CpuCounters, MIX_SAMPLE, ModeChoice, Probe, ProbeOptions, TP_BTF_EVERY_NS,
    TRACEPOINT_EVERY_NS, TRACEPOINT_OWN_NS, ring_of,
};
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
