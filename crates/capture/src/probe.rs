//! Loading the probe, attaching it, and reading what it writes.

use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;

use lanner_event::RawEvent;
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{Link, MapCore, MapFlags, MapHandle, MapType, OpenObject};

use crate::CaptureError;
use crate::ring::{Ring, record_ts};
use crate::skel::{ProbeSkel, ProbeSkelBuilder};
use crate::syscalls::Syscall;

/// How the probe's programs hook the exit of system calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachMode {
    /// One program per needed syscall on the syscall's own function (`fexit/__x64_sys_<name>`,
    /// a BPF trampoline): syscalls no rule needs cost nothing at all. Some kernels refuse
    /// trampolines (EPERM); then one of the other two is used.
    Fexit,
    /// One program on the raw `sys_exit` tracepoint (with BTF), which runs for every syscall
    /// and jumps to the filler of the needed ones through a program array.
    TpBtf,
    /// One program per needed syscall on `syscalls:sys_exit_<name>`: the other syscalls never
    /// enter BPF, but every syscall pays the tracepoint's slow path.
    Tracepoints,
}

impl AttachMode {
    /// The name the log and the stats show.
    pub fn name(self) -> &'static str {
        match self {
            AttachMode::Fexit => "fexit",
            AttachMode::TpBtf => "tp_btf/sys_exit",
            AttachMode::Tracepoints => "tracepoint/syscalls",
        }
    }

    /// The mode named `name` (as [`AttachMode::name`] writes it, or `tp_btf`, `tracepoints`).
    pub fn from_name(name: &str) -> Option<AttachMode> {
        match name {
            "fexit" => Some(AttachMode::Fexit),
            "tp_btf" | "tp_btf/sys_exit" => Some(AttachMode::TpBtf),
            "tracepoints" | "tracepoint/syscalls" => Some(AttachMode::Tracepoints),
            _ => None,
        }
    }

    /// The prefix of this mode's programs in the probe object.
    fn prefix(self) -> &'static str {
        match self {
            AttachMode::Fexit => "f_",
            AttachMode::TpBtf => "x_",
            AttachMode::Tracepoints => "t_",
        }
    }
}

/// What each attachment adds to a syscall, in nanoseconds, as measured with counting probes on
/// the project's reference kernel (6.18, KVM; BENCHMARKS.md): enabling any per-syscall
/// tracepoint costs every syscall [`TRACEPOINT_EVERY_NS`] and a traced one
/// [`TRACEPOINT_OWN_NS`] more; `tp_btf/sys_exit` costs every syscall [`TP_BTF_EVERY_NS`].
pub const TRACEPOINT_EVERY_NS: f64 = 35.0;
/// See [`TRACEPOINT_EVERY_NS`].
pub const TRACEPOINT_OWN_NS: f64 = 110.0;
/// See [`TRACEPOINT_EVERY_NS`].
pub const TP_BTF_EVERY_NS: f64 = 83.0;
/// How long the machine's syscall mix is sampled when choosing the attachment.
pub const MIX_SAMPLE: std::time::Duration = std::time::Duration::from_millis(100);

/// The attachment chosen, and why: the log and the stats show it.
#[derive(Clone, Debug, PartialEq)]
pub struct ModeChoice {
    /// The mode in use.
    pub mode: AttachMode,
    /// Why, in words.
    pub reason: String,
}

/// What to load.
#[derive(Clone, Debug)]
pub struct ProbeOptions {
    /// The syscalls to capture.
    pub syscalls: Vec<&'static Syscall>,
    /// The attachment, or `None` to choose: fexit where trampolines load; otherwise the
    /// cheaper of per-syscall tracepoints and `tp_btf/sys_exit` for the share of the machine's
    /// syscalls that are needed, sampled for [`MIX_SAMPLE`].
    pub mode: Option<AttachMode>,
    /// Bytes of each ring buffer (rounded up to a power of two, at least one page).
    pub buffer_bytes: usize,
    /// How many CPUs share one ring buffer (`engine.modern_ebpf.cpus_for_each_buffer`):
    /// 1 gives each CPU its own, 0 one buffer for all; a number above the CPU count is
    /// taken as 0. See [`ring_of`].
    pub cpus_per_buffer: usize,
    /// Leave out this process's own syscalls (on by default: an agent watching its own
    /// writes feeds back on itself).
    pub exclude_self: bool,
    /// Relocate the probe against this BTF file instead of the running kernel's: how the
    /// tests check the probe's CO-RE relocations against other kernels' type layouts. The
    /// attachment must then be given ([`ProbeOptions::mode`]).
    pub btf: Option<std::path::PathBuf>,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            syscalls: Vec::new(),
            mode: None,
            buffer_bytes: 8 << 20,
            cpus_per_buffer: 1,
            exclude_self: true,
            btf: None,
        }
    }
}

/// The probe's counters for one CPU.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuCounters {
    /// Events written to the ring buffer.
    pub events: u64,
    /// Events lost because the ring buffer was full.
    pub drops_buffer_full: u64,
    /// Events lost because the CPU had no ring buffer.
    pub drops_no_buffer: u64,
    /// Events lost because they were larger than the probe's limit.
    pub drops_too_large: u64,
}

impl CpuCounters {
    /// All drops.
    pub fn drops(&self) -> u64 {
        self.drops_buffer_full + self.drops_no_buffer + self.drops_too_large
    }
}

/// The ring buffer CPU `cpu` of `ncpus` writes to when `per` CPUs share one, and how many
/// buffers there are: CPUs 0..per share buffer 0, the next `per` buffer 1, and so on (the
/// last may serve fewer); `per` 0, or above `ncpus`, puts every CPU on buffer 0.
pub fn ring_of(cpu: usize, ncpus: usize, per: usize) -> (usize, usize) {
    let per = cpus_per_ring(ncpus, per);
    (cpu / per, ncpus.div_ceil(per).max(1))
}

/// How many CPUs share a ring buffer when `per` is asked for: `per`, or all `ncpus` for 0 or
/// more than there are.
fn cpus_per_ring(ncpus: usize, per: usize) -> usize {
    if per == 0 || per > ncpus { ncpus.max(1) } else { per }
}

/// The loaded, attached probe and its ring buffers.
pub struct Probe {
    // Drop order matters: links first (detach), then rings, then the skeleton, then the
    // object storage the skeleton borrows.
    links: Vec<Link>,
    rings: Vec<Ring>,
    _ring_maps: Vec<MapHandle>,
    skel: ProbeSkel<'static>,
    _storage: Box<MaybeUninit<OpenObject>>,
    choice: ModeChoice,
    syscalls: Vec<&'static Syscall>,
    unavailable: Vec<&'static Syscall>,
    /// The number of CPUs the kernel may run (one counter slot each).
    ncpus: usize,
    /// How many CPUs share each ring buffer (the last may have fewer).
    cpus_per_ring: usize,
    /// The buffer of the record `next` returned last, to consume it on the next call.
    current: Option<usize>,
}

fn boot_time_ns() -> u64 {
    let mut real = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    let mut boot = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespecs we own.
    unsafe {
        libc::clock_gettime(libc::CLOCK_REALTIME, &mut real);
        libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut boot);
    }
    let ns = |t: libc::timespec| t.tv_sec as i128 * 1_000_000_000 + t.tv_nsec as i128;
    (ns(real) - ns(boot)).max(0) as u64
}

/// The directory of the syscall tracepoints, mounting tracefs when the kernel has it but
/// nobody mounted it; `None` when there is none.
fn syscall_tracepoints() -> Option<&'static Path> {
    let find = || {
        ["/sys/kernel/tracing/events/syscalls", "/sys/kernel/debug/tracing/events/syscalls"]
            .into_iter()
            .map(Path::new)
            .find(|p| p.is_dir())
    };
    find().or_else(|| {
        // SAFETY: mount(2) with NUL-terminated strings that live for the call.
        let rc = unsafe {
            libc::mount(
                c"tracefs".as_ptr(),
                c"/sys/kernel/tracing".as_ptr(),
                c"tracefs".as_ptr(),
                0,
                std::ptr::null(),
            )
        };
        if rc == 0 { find() } else { None }
    })
}

impl Probe {
    /// Loads the probe for `options.syscalls` and attaches it.
    pub fn open(options: &ProbeOptions) -> Result<Probe, CaptureError> {
        let choice = match options.mode {
            Some(mode) => ModeChoice { mode, reason: "as configured".to_owned() },
            None => choose_mode(&options.syscalls),
        };
        let mode = choice.mode;
        let tracepoints = match mode {
            AttachMode::TpBtf => None,
            AttachMode::Tracepoints => Some(syscall_tracepoints().ok_or(CaptureError::NoTracefs)?),
            AttachMode::Fexit => syscall_tracepoints(),
        };
        // Per-syscall tracepoints (and functions) exist only for the syscalls this kernel
        // implements; the others fail with ENOSYS whatever happens, and are reported as not
        // captured.
        let (syscalls, unavailable): (Vec<&'static Syscall>, Vec<&'static Syscall>) =
            match tracepoints {
                Some(dir) => options
                    .syscalls
                    .iter()
                    .partition(|s| dir.join(format!("sys_exit_{}", s.tracepoint)).is_dir()),
                None => (options.syscalls.clone(), Vec::new()),
            };
        let ncpus = libbpf_rs::num_possible_cpus().map_err(CaptureError::bpf("count CPUs"))?;
        let size = options.buffer_bytes.max(4096).next_power_of_two();
        let opts = libbpf_rs::libbpf_sys::bpf_map_create_opts {
            sz: size_of::<libbpf_rs::libbpf_sys::bpf_map_create_opts>() as _,
            ..Default::default()
        };
        let (_, nbuffers) = ring_of(0, ncpus, options.cpus_per_buffer);
        let mut ring_maps = Vec::with_capacity(nbuffers);
        for i in 0..nbuffers {
            let name = format!("lanner_rb{i}");
            let map = MapHandle::create(MapType::RingBuf, Some(name), 0, 0, size as u32, &opts)
                .map_err(CaptureError::bpf("create a ring buffer"))?;
            ring_maps.push(map);
        }

        let mut storage = Box::new(MaybeUninit::<OpenObject>::uninit());
        // SAFETY: the skeleton borrows the object storage for its whole life. The storage is
        // boxed (it does not move when `Probe` moves) and `Probe` declares `skel` before
        // `_storage`, so the skeleton is dropped first; nothing else reaches the storage.
        let storage_ref: &'static mut MaybeUninit<OpenObject> =
            unsafe { &mut *std::ptr::from_mut(storage.as_mut()) };
        let mut builder = ProbeSkelBuilder::default();
        if let Some(btf) = &options.btf {
            builder
                .object_builder_mut()
                .btf_custom_path(btf)
                .map_err(CaptureError::bpf("use the BTF file"))?;
        }
        let mut open = builder.open(storage_ref).map_err(CaptureError::bpf("open the probe"))?;
        if let Some(ro) = open.maps.rodata_data.as_deref_mut() {
            ro.boot_time_ns = boot_time_ns();
            ro.own_tgid = if options.exclude_self { std::process::id() } else { 0 };
        }
        open.maps
            .scratch_map
            .set_max_entries(ncpus as u32)
            .map_err(CaptureError::bpf("size the scratch array"))?;
        open.maps
            .ringbufs
            .set_max_entries(ncpus as u32)
            .map_err(CaptureError::bpf("size the ring buffer array"))?;
        open.maps
            .ringbufs
            .set_inner_map_fd(ring_maps[0].as_fd())
            .map_err(CaptureError::bpf("set the ring buffer template"))?;
        let wanted_prefix = mode.prefix();
        for mut prog in open.open_object_mut().progs_mut() {
            let name = prog.name().to_string_lossy().into_owned();
            let load = match name.as_str() {
                "dispatch_exit" => mode == AttachMode::TpBtf,
                "sched_exit" => true,
                n => n
                    .strip_prefix(wanted_prefix)
                    .is_some_and(|sc| syscalls.iter().any(|s| s.name == sc)),
            };
            prog.set_autoload(load);
        }
        let skel = open.load().map_err(CaptureError::bpf("load the probe"))?;
        for cpu in 0..ncpus {
            let (ring, _) = ring_of(cpu, ncpus, options.cpus_per_buffer);
            let key = (cpu as u32).to_ne_bytes();
            let value = ring_maps[ring].as_fd().as_raw_fd().to_ne_bytes();
            skel.maps
                .ringbufs
                .update(&key, &value, MapFlags::ANY)
                .map_err(CaptureError::bpf("install a ring buffer"))?;
        }
        let mut rings = Vec::with_capacity(nbuffers);
        for map in &ring_maps {
            rings.push(Ring::map(map.as_fd(), size).map_err(CaptureError::Map)?);
        }

        let mut links = Vec::new();
        for prog in skel.object().progs_mut() {
            let name = prog.name().to_string_lossy().into_owned();
            if !prog.autoload() {
                continue;
            }
            if mode == AttachMode::TpBtf && name.starts_with("x_") {
                let sc = syscalls
                    .iter()
                    .find(|s| Some(s.name) == name.strip_prefix("x_"))
                    .ok_or(CaptureError::Internal("a loaded filler without its syscall"))?;
                let key = sc.nr.to_ne_bytes();
                let value = prog.as_fd().as_raw_fd().to_ne_bytes();
                skel.maps
                    .exit_tail
                    .update(&key, &value, MapFlags::ANY)
                    .map_err(CaptureError::bpf("install a filler"))?;
                continue;
            }
            let link = prog.attach().map_err(CaptureError::bpf_named("attach", &name))?;
            links.push(link);
        }
        Ok(Probe {
            links,
            rings,
            _ring_maps: ring_maps,
            skel,
            _storage: storage,
            choice,
            syscalls,
            unavailable,
            ncpus,
            cpus_per_ring: cpus_per_ring(ncpus, options.cpus_per_buffer),
            current: None,
        })
    }

    /// The attachment in use.
    pub fn mode(&self) -> AttachMode {
        self.choice.mode
    }

    /// The attachment in use and why it was chosen.
    pub fn choice(&self) -> &ModeChoice {
        &self.choice
    }

    /// The syscalls captured.
    pub fn syscalls(&self) -> &[&'static Syscall] {
        &self.syscalls
    }

    /// The syscalls asked for that this kernel has no tracepoint for (it does not implement
    /// them), so not captured.
    pub fn unavailable(&self) -> &[&'static Syscall] {
        &self.unavailable
    }

    /// How many programs are attached.
    pub fn attached(&self) -> usize {
        self.links.len()
    }

    /// The number of CPUs the kernel may run.
    pub fn cpus(&self) -> usize {
        self.ncpus
    }

    /// The number of ring buffers ([`ProbeOptions::cpus_per_buffer`]).
    pub fn buffers(&self) -> usize {
        self.rings.len()
    }

    /// How many CPUs share each ring buffer, as [`ring_of`] groups them: 1 for a buffer per
    /// CPU, [`Probe::cpus`] for one buffer for all.
    pub fn cpus_per_buffer(&self) -> usize {
        self.cpus_per_ring
    }

    /// The next event in timestamp order among those the CPUs have written so far, with its
    /// CPU (the buffer's index when CPUs share buffers, as Falco's modern probe reports it);
    /// `None` when every buffer is empty (call again later). The previous event is released
    /// by this call. A shared buffer holds its CPUs' events in the order they were reserved,
    /// which can differ from timestamp order by the few nanoseconds between reading the clock
    /// and reserving.
    pub fn next_event(&mut self) -> Option<(u16, Result<RawEvent<'_>, lanner_event::DecodeError>)> {
        if let Some(cpu) = self.current.take() {
            self.rings[cpu].consume();
        }
        let mut best: Option<(usize, u64)> = None;
        for (cpu, ring) in self.rings.iter_mut().enumerate() {
            if let Some(rec) = ring.peek() {
                let ts = record_ts(rec);
                if best.is_none_or(|(_, t)| ts < t) {
                    best = Some((cpu, ts));
                }
            }
        }
        let (cpu, _) = best?;
        self.current = Some(cpu);
        let rec = self.rings[cpu].peek()?;
        Some((cpu as u16, RawEvent::new(rec)))
    }

    /// Bytes waiting in all ring buffers.
    pub fn pending(&self) -> u64 {
        self.rings.iter().map(Ring::pending).sum()
    }

    /// The probe's counters, per CPU.
    pub fn counters(&self) -> Result<Vec<CpuCounters>, CaptureError> {
        let key = 0u32.to_ne_bytes();
        let values = self
            .skel
            .maps
            .counters_map
            .lookup_percpu(&key, MapFlags::ANY)
            .map_err(CaptureError::bpf("read the counters"))?
            .unwrap_or_default();
        Ok(values
            .iter()
            .map(|v| {
                let word = |i: usize| {
                    v.get(i * 8..i * 8 + 8)
                        .and_then(|b| b.try_into().ok())
                        .map_or(0, u64::from_ne_bytes)
                };
                CpuCounters {
                    events: word(0),
                    drops_buffer_full: word(1),
                    drops_no_buffer: word(2),
                    drops_too_large: word(3),
                }
            })
            .collect())
    }
}

/// Chooses the attachment for `needed` (see [`ProbeOptions::mode`]).
fn choose_mode(needed: &[&'static Syscall]) -> ModeChoice {
    // libbpf would print the refusal of the trial program on stderr; it is reported in the
    // choice's reason instead.
    let print = libbpf_rs::set_print(None);
    let choice = choose_mode_quietly(needed);
    libbpf_rs::set_print(print);
    choice
}

fn choose_mode_quietly(needed: &[&'static Syscall]) -> ModeChoice {
    let fexit = match load_alone("count_fexit") {
        Ok(()) => return ModeChoice { mode: AttachMode::Fexit, reason: "trampolines load".into() },
        Err(e) => e,
    };
    if syscall_tracepoints().is_none() {
        return ModeChoice {
            mode: AttachMode::TpBtf,
            reason: format!("fexit refused ({fexit}); no tracefs for per-syscall tracepoints"),
        };
    }
    // Tracepoints cost TRACEPOINT_EVERY_NS on every syscall and TRACEPOINT_OWN_NS more on a
    // needed one; tp_btf costs TP_BTF_EVERY_NS on every syscall.
    let threshold = (TP_BTF_EVERY_NS - TRACEPOINT_EVERY_NS) / TRACEPOINT_OWN_NS;
    match sample_mix(needed) {
        Ok((total, share)) => {
            let mode = if share < threshold { AttachMode::Tracepoints } else { AttachMode::TpBtf };
            ModeChoice {
                mode,
                reason: format!(
                    "fexit refused ({fexit}); the needed syscalls were {:.1}% of the {total} \
                     in a {} ms sample, per-syscall tracepoints cost less below {:.0}%",
                    share * 100.0,
                    MIX_SAMPLE.as_millis(),
                    threshold * 100.0
                ),
            }
        }
        Err(e) => ModeChoice {
            mode: AttachMode::Tracepoints,
            reason: format!("fexit refused ({fexit}); the syscall mix could not be sampled ({e})"),
        },
    }
}

/// The probe object opened with its program `name` alone set to load, and loaded.
fn load_only<'obj>(
    storage: &'obj mut MaybeUninit<OpenObject>,
    name: &str,
) -> Result<ProbeSkel<'obj>, libbpf_rs::Error> {
    let mut open = ProbeSkelBuilder::default().open(storage)?;
    for mut prog in open.open_object_mut().progs_mut() {
        let this = prog.name().to_str() == Some(name);
        prog.set_autoload(this);
    }
    open.load()
}

/// Whether the probe object's program `name` loads and attaches on this kernel (alone; it is
/// detached and unloaded again at once).
fn load_alone(name: &str) -> Result<(), libbpf_rs::Error> {
    let mut storage = MaybeUninit::<OpenObject>::uninit();
    let skel = load_only(&mut storage, name)?;
    for prog in skel.object().progs_mut() {
        if prog.autoload() {
            drop(prog.attach()?);
        }
    }
    Ok(())
}

/// Counts every syscall of the machine for [`MIX_SAMPLE`]: the total, and the share of those
/// in `needed`.
fn sample_mix(needed: &[&'static Syscall]) -> Result<(u64, f64), libbpf_rs::Error> {
    let mut storage = MaybeUninit::<OpenObject>::uninit();
    let skel = load_only(&mut storage, "count_mix")?;
    let link = skel.progs.count_mix.attach()?;
    std::thread::sleep(MIX_SAMPLE);
    drop(link);
    let (mut total, mut wanted) = (0u64, 0u64);
    for nr in 0..512u32 {
        let per_cpu = skel.maps.syscall_mix.lookup_percpu(&nr.to_ne_bytes(), MapFlags::ANY)?;
        let n: u64 = per_cpu
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.get(..8).and_then(|b| b.try_into().ok()).map(u64::from_ne_bytes))
            .sum();
        total += n;
        if needed.iter().any(|s| s.nr == nr) {
            wanted += n;
        }
    }
    Ok((total, if total == 0 { 0.0 } else { wanted as f64 / total as f64 }))
}

#[cfg(test)]
mod tests {
    use super::ring_of;

    #[test]
    fn cpus_share_buffers_as_falco_groups_them() {
        // falco.yaml's own example: 7 CPUs, one buffer every 2 -> 4 buffers, the last for one
        let rings: Vec<usize> = (0..7).map(|cpu| ring_of(cpu, 7, 2).0).collect();
        assert_eq!(rings, [0, 0, 1, 1, 2, 2, 3]);
        assert_eq!(ring_of(0, 7, 2).1, 4);
        // one per CPU
        assert_eq!(
            (0..4).map(|c| ring_of(c, 4, 1)).collect::<Vec<_>>(),
            [(0, 4), (1, 4), (2, 4), (3, 4)]
        );
        // 0, or more than there are CPUs: one buffer for all
        assert!((0..4).all(|c| ring_of(c, 4, 0) == (0, 1)));
        assert!((0..4).all(|c| ring_of(c, 4, 9) == (0, 1)));
    }
}
