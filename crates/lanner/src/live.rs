//! Live detection: the kernel probe's events through the state and the rules, until `-M`
//! seconds pass or SIGINT/SIGTERM arrives; then the summary, with the probe's drop counts.
//!
//! Start-up: `/proc` is scanned into the tables a capture starts with (so the state is seeded
//! exactly as from a `.scap` file, and `-w` records them), then the probe is loaded for the
//! syscalls the enabled rules and the state need (`base_syscalls` in falco.yaml adjusts the
//! set as Falco's does), and attached in the cheapest mode the kernel allows (logged).
//!
//! The loop drains every CPU's ring buffer in timestamp order, then sleeps a few milliseconds:
//! the probe writes without wakeups. Drops are checked once a second and logged with their
//! rate when there are any; the end-of-run stats always give them.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use lanner_capture::{AttachMode, CpuCounters, Probe, ProbeOptions, Syscall, procfs, syscalls};
use lanner_filter::TypeSet;
use lanner_state::State;

use crate::detect::{Replay, SourceCounters};
use crate::record::Recorder;

/// How long the loop sleeps when every buffer is empty.
const DRAIN_INTERVAL: Duration = Duration::from_millis(5);

/// What `base_syscalls` asks for (falco.yaml).
#[derive(Clone, Debug, Default)]
pub(crate) struct BaseSyscalls {
    /// `base_syscalls.all`: every syscall the probe knows.
    pub(crate) all: bool,
    /// `base_syscalls.custom_set`: names added to what the rules need, in place of the state
    /// set unless `repair` is on; `!name` removes a syscall whatever asked for it.
    pub(crate) custom_set: Vec<String>,
    /// `base_syscalls.repair`: the state's set is added to a non-empty custom set (lanner's
    /// state set is already the minimal one Falco's repair mode adds).
    pub(crate) repair: bool,
}

/// The syscalls to capture: those whose events the rules (and their fields' state) and the
/// parse plugins need (`types`, from [`Replay::relevant_types`]), plus the state's own set, adjusted by `base_syscalls` as Falco adjusts it: a custom set
/// with names replaces the state set unless `repair` is on; one with only `!name` entries
/// removes from the usual set.
pub(crate) fn syscall_set(types: &TypeSet, base: &BaseSyscalls) -> Vec<&'static Syscall> {
    if base.all {
        return syscalls::SYSCALLS.iter().collect();
    }
    with_base(syscalls::for_event_types(types.iter()), base)
}

/// `base_syscalls` applied to the syscalls the rules need.
fn with_base(mut set: Vec<&'static Syscall>, base: &BaseSyscalls) -> Vec<&'static Syscall> {
    let added: Vec<&str> =
        base.custom_set.iter().map(String::as_str).filter(|n| !n.starts_with('!')).collect();
    let state = if added.is_empty() || base.repair { syscalls::STATE_SYSCALLS } else { &[] };
    for name in state.iter().copied().chain(added) {
        if let Some(s) = syscalls::by_name(name)
            && !set.contains(&s)
        {
            set.push(s);
        }
    }
    let removed: Vec<&str> = base.custom_set.iter().filter_map(|n| n.strip_prefix('!')).collect();
    set.retain(|s| !removed.contains(&s.name));
    set.sort_by_key(|s| s.nr);
    set
}

/// How to capture: from falco.yaml and the command line.
#[derive(Clone, Debug)]
pub(crate) struct LiveOptions {
    /// `base_syscalls`.
    pub(crate) base: BaseSyscalls,
    /// Bytes of each ring buffer (`buf_size_preset`).
    pub(crate) buffer_bytes: usize,
    /// CPUs per ring buffer (`cpus_for_each_buffer`).
    pub(crate) cpus_per_buffer: usize,
    /// `--attach`, or `None` to choose.
    pub(crate) attach: Option<AttachMode>,
    /// `-w`: the capture to record.
    pub(crate) write: Option<PathBuf>,
}

/// Runs live detection.
pub(crate) fn run(mut run: Replay, live: &LiveOptions) -> anyhow::Result<ExitCode> {
    let base = &live.base;
    let log = run.log;
    let tables = procfs::scan("/proc".as_ref(), "/etc".as_ref(), &procfs::ScanOptions::default());
    log.log(&format!(
        "Scanned /proc: {} threads, {} processes with open files",
        tables.threads.len(),
        tables.fd_lists.len()
    ));
    let mut state = State::from_tables(&tables);
    let set = syscall_set(&run.relevant_types(), base);
    let options = ProbeOptions {
        syscalls: set,
        buffer_bytes: live.buffer_bytes,
        cpus_per_buffer: live.cpus_per_buffer,
        mode: live.attach,
        ..ProbeOptions::default()
    };
    let mut probe = Probe::open(&options).context(
        "cannot start the kernel probe (lanner needs root, a kernel with BTF and BPF; \
         to read a capture instead, use -e FILE)",
    )?;
    log.log(&format!(
        "Opening 'syscall' source with the eBPF probe: {} syscalls, attached with {} \
         ({} programs), {} CPUs, {} ring buffers of {} MiB",
        probe.syscalls().len(),
        probe.mode().name(),
        probe.attached(),
        probe.cpus(),
        probe.buffers(),
        live.buffer_bytes.next_power_of_two() >> 20
    ));
    if probe.cpus_per_buffer() > 1 {
        log.log(&format!("One ring buffer every '{}' CPUs.", probe.cpus_per_buffer()));
    }
    log.log(&format!("Attachment {}: {}", probe.mode().name(), probe.choice().reason));
    if !probe.unavailable().is_empty() {
        let names: Vec<&str> = probe.unavailable().iter().map(|s| s.name).collect();
        log.log(&format!(
            "Not captured (this kernel does not implement them, so they always fail): {}",
            names.join(", ")
        ));
    }
    if let Some(path) = &live.write {
        run.recorder = Some(Recorder::create(path, &tables)?);
    }
    drop(tables);
    // The plugin sources open once the recording (`-w`) has its header.
    run.plugins.open_sources(run.deadline, log, run.recorder.as_ref())?;
    let recorder = run.recorder.clone();

    let mut source = SourceCounters::syscall(true);
    let mut first_ts = None;
    let mut num = 0u64;
    let mut undecodable = 0u64;
    let mut last_check = Instant::now();
    let mut last_drops = 0u64;
    let started = Instant::now();
    loop {
        let stop =
            crate::daemon::stop_requested() || run.deadline.is_some_and(|d| Instant::now() >= d);
        let mut recording = recorder.as_ref().map(Recorder::lock);
        while let Some((cpu, ev)) = probe.next_event() {
            let ev = match ev {
                Ok(ev) => ev,
                Err(_) => {
                    undecodable += 1;
                    continue;
                }
            };
            source.events += 1;
            num += 1;
            if let Some(r) = recording.as_mut() {
                r.write(cpu, &ev)?;
            }
            let first = *first_ts.get_or_insert(ev.ts());
            run.on_event(num, cpu, &ev, &mut state, first)?;
            if num.is_multiple_of(4096) {
                break;
            }
        }
        drop(recording);
        if run.daemon.due() {
            source.undecodable = undecodable;
            source.cpus = probe.counters()?.iter().map(cpu_stats).collect();
        }
        if run.daemon.tick(&mut run.detector, &state, &source, &run.plugins) {
            let attached = probe.syscalls();
            let missing: Vec<&str> = syscall_set(&run.relevant_types(), base)
                .into_iter()
                .filter(|s| !attached.contains(s))
                .map(|s| s.name)
                .collect();
            if !missing.is_empty() {
                log.log(&format!(
                    "Reload: the new rules need syscalls the probe does not capture ({}); \
                     their rules see no such events until lanner restarts.",
                    missing.join(", ")
                ));
            }
        }
        if last_check.elapsed() >= Duration::from_secs(1) {
            let drops: u64 = probe.counters()?.iter().map(CpuCounters::drops).sum();
            if drops > last_drops {
                let secs = last_check.elapsed().as_secs_f64();
                log.log(&format!(
                    "Syscall event drops: {} in the last {secs:.1} s ({:.0}/s), {drops} in all",
                    drops - last_drops,
                    (drops - last_drops) as f64 / secs
                ));
                last_drops = drops;
            }
            last_check = Instant::now();
        }
        if stop {
            break;
        }
        if probe.pending() == 0 {
            std::thread::sleep(DRAIN_INTERVAL);
        }
    }
    source.running = false;
    source.reason = "stopping".to_owned();
    run.daemon.publish(&run.detector, &state, &source, &run.plugins);
    // The end of a live run stops the plugin sources too.
    run.end(true)?;
    let counters = probe.counters()?;
    let written: u64 = counters.iter().map(|c| c.events).sum();
    let drops: u64 = counters.iter().map(CpuCounters::drops).sum();
    log.log(&format!(
        "Syscall event stats: {num} events in {:.1} s, {written} written by the probe, \
         {drops} dropped, {undecodable} undecodable (attached with {})",
        started.elapsed().as_secs_f64(),
        probe.mode().name()
    ));
    for (cpu, c) in counters.iter().enumerate() {
        log.log(&format!(
            "   CPU {cpu}: {} events, {} dropped (buffer full {}, too large {}, no buffer {})",
            c.events,
            c.drops(),
            c.drops_buffer_full,
            c.drops_too_large,
            c.drops_no_buffer
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn cpu_stats(c: &CpuCounters) -> lanner_web::CpuStats {
    lanner_web::CpuStats {
        events: c.events,
        drops_buffer_full: c.drops_buffer_full,
        drops_too_large: c.drops_too_large,
        drops_no_buffer: c.drops_no_buffer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(set: &[&Syscall]) -> Vec<&'static str> {
        set.iter().map(|s| s.name).collect()
    }

    fn base(custom: &[&str], repair: bool) -> BaseSyscalls {
        BaseSyscalls {
            all: false,
            custom_set: custom.iter().map(|s| (*s).to_owned()).collect(),
            repair,
        }
    }

    #[test]
    fn base_syscalls_adjust_the_set_as_falco_does() {
        let rules = || vec![syscalls::by_name("ptrace").unwrap()];
        // default: the rules' syscalls and the state set
        let set = names(&with_base(rules(), &base(&[], false)));
        assert!(set.contains(&"ptrace") && set.contains(&"execve") && set.contains(&"close"));
        // a custom set with names replaces the state set...
        let set = names(&with_base(rules(), &base(&["mount"], false)));
        // (sorted by syscall number: ptrace 101, mount 165)
        assert_eq!(set, ["ptrace", "mount"]);
        // ...unless repair adds it back
        let set = names(&with_base(rules(), &base(&["mount"], true)));
        assert!(set.contains(&"mount") && set.contains(&"execve"));
        // exclusions only: the usual set, less them, whoever asked
        let set = names(&with_base(rules(), &base(&["!close", "!ptrace"], false)));
        assert!(set.contains(&"execve") && !set.contains(&"close") && !set.contains(&"ptrace"));
    }
}
