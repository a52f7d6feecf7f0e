//! The one snapshot of lanner's counters that `/metrics`, `/readyz` and the `metrics` block
//! read, and the hub it is published through.
//!
//! The event loop never touches shared memory per event: it sums its counts in plain fields
//! (the detector's matches by rule, the state's counters, the probe's per-CPU counters which
//! the kernel keeps) and, a few times a second, builds a [`Stats`] and [`StatsHub::publish`]es
//! it: one short lock to swap an `Arc`. Readers take the current `Arc` (one short lock) and
//! read it at leisure; a reader never holds the lock while it formats anything.

use std::sync::{Arc, Mutex};

use lanner_channels::Snapshot;

/// lanner's counters at one moment, as the event loop last published them.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// When lanner started, nanoseconds since the epoch.
    pub start_ts: u64,
    /// When the host booted, nanoseconds since the epoch.
    pub host_boot_ts: u64,
    /// Online CPUs.
    pub num_cpus: u32,
    /// `uname -r`.
    pub kernel_release: String,
    /// The host name alerts carry.
    pub hostname: String,
    /// The event source's engine, with Falco's names: `modern_ebpf`, `kmod`, `savefile`
    /// (a replay), `nodriver`.
    pub engine_name: String,
    /// When this snapshot was taken, nanoseconds since the epoch.
    pub time: u64,
    /// The event sources and the events lanner took from each.
    pub sources: Vec<SourceStats>,
    /// Kernel counters, per CPU (live capture only).
    pub cpus: Vec<CpuStats>,
    /// Events lanner could not decode.
    pub undecodable: u64,
    /// Matches by rule, in the loaded rules' order (counts of rules replaced by a reload are
    /// kept under their names).
    pub rules: Vec<RuleStats>,
    /// Sizes of the state tables and what happened to them.
    pub state: StateStats,
    /// The output pipeline's counters.
    pub outputs: Snapshot,
    /// Whether lanner is ready, and why not.
    pub readiness: Readiness,
    /// Configuration reloads that took effect.
    pub reloads: u64,
    /// Reloads refused because the new configuration or rules were broken.
    pub reload_failures: u64,
    /// The loaded plugins' own metrics (`get_metrics`).
    pub plugin_metrics: Vec<PluginMetric>,
}

/// One metric a plugin reports about itself.
#[derive(Clone, Debug, PartialEq)]
pub struct PluginMetric {
    /// `<plugin>.<metric>`, as libs names plugin metrics.
    pub name: String,
    /// Whether it only grows (a counter; otherwise a gauge).
    pub monotonic: bool,
    /// Its value: `Uint`, `Int` or `Double`.
    pub value: lanner_outputs::FieldValue,
}

/// An event source.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// `syscall`, or a plugin's source.
    pub name: String,
    /// Events taken from it.
    pub events: u64,
}

/// One CPU's kernel counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuStats {
    /// Events the probe wrote.
    pub events: u64,
    /// Events dropped because the ring buffer was full.
    pub drops_buffer_full: u64,
    /// Events dropped because they did not fit the probe's scratch space.
    pub drops_too_large: u64,
    /// Events dropped because the CPU had no buffer.
    pub drops_no_buffer: u64,
}

impl CpuStats {
    /// Every drop.
    pub fn drops(&self) -> u64 {
        self.drops_buffer_full + self.drops_too_large + self.drops_no_buffer
    }
}

/// One rule's matches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleStats {
    /// The rule's name.
    pub name: Arc<str>,
    /// Falco's priority number (0 emergency ... 7 debug).
    pub priority: u8,
    /// The rule's source.
    pub source: Arc<str>,
    /// The rule's tags.
    pub tags: Arc<[Box<str>]>,
    /// Events that matched it.
    pub matches: u64,
}

/// The state tables.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StateStats {
    /// Threads in the table.
    pub threads: u64,
    /// File descriptors in the tables.
    pub fds: u64,
    /// Containers known.
    pub containers: u64,
    /// Threads added (by clones, and for events of unknown threads).
    pub added_threads: u64,
    /// Threads removed (exits, and purges).
    pub removed_threads: u64,
    /// Threads purged to stay within the table's bounds or for inactivity.
    pub purged_threads: u64,
}

/// Whether lanner does its job: the event source runs and the outputs deliver.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Readiness {
    /// The event source runs (the probe is attached, or the capture is being read).
    pub source_running: bool,
    /// The output channels deliver (no channel failing, the alert queue not full).
    pub outputs_ok: bool,
    /// Why not, when not ready.
    pub reason: String,
}

impl Readiness {
    /// Ready to detect and alert.
    pub fn is_ready(&self) -> bool {
        self.source_running && self.outputs_ok
    }
}

/// Where the event loop publishes [`Stats`] and readers take them.
#[derive(Clone, Debug, Default)]
pub struct StatsHub {
    current: Arc<Mutex<Arc<Stats>>>,
}

impl StatsHub {
    /// A hub holding `stats`.
    pub fn new(stats: Stats) -> StatsHub {
        StatsHub { current: Arc::new(Mutex::new(Arc::new(stats))) }
    }

    /// Replaces the snapshot.
    pub fn publish(&self, stats: Stats) {
        let stats = Arc::new(stats);
        // A reader that panicked while holding the lock cannot have left the `Arc` half
        // written: take it anyway.
        let mut guard = self.current.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *guard = stats;
    }

    /// The latest snapshot.
    pub fn get(&self) -> Arc<Stats> {
        self.current.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}
