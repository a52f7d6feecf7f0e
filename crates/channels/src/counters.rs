//! What the pipeline counts, and the plain snapshot it hands out (a later step serves it on
//! `/metrics`).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The alert queue's counters.
#[derive(Debug, Default)]
pub(crate) struct QueueCounters {
    pub(crate) enqueued: AtomicU64,
    pub(crate) depth: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) throttled: AtomicU64,
    pub(crate) suppressed: AtomicU64,
    pub(crate) summaries: AtomicU64,
}

/// One channel's counters.
#[derive(Debug)]
pub(crate) struct ChannelCounters {
    pub(crate) name: &'static str,
    pub(crate) delivered: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) backlog: AtomicU64,
    pub(crate) spooled: AtomicU64,
}

impl ChannelCounters {
    pub(crate) fn new(name: &'static str) -> ChannelCounters {
        ChannelCounters {
            name,
            delivered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            backlog: AtomicU64::new(0),
            spooled: AtomicU64::new(0),
        }
    }

    pub(crate) fn snapshot(&self) -> ChannelSnapshot {
        ChannelSnapshot {
            name: self.name,
            delivered: self.delivered.load(Relaxed),
            failed: self.failed.load(Relaxed),
            retries: self.retries.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
            backlog: self.backlog.load(Relaxed),
            spooled: self.spooled.load(Relaxed),
        }
    }
}

/// The pipeline's counters at one moment. Counts are totals since the start; `queue_depth`,
/// `backlog` and `spooled` are gauges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// `outputs_queue.capacity` (0: unbounded).
    pub queue_capacity: usize,
    /// Alerts in the queue, not yet taken by the dispatcher.
    pub queue_depth: u64,
    /// Alerts the queue took.
    pub enqueued: u64,
    /// Alerts dropped because the queue was full.
    pub dropped: u64,
    /// Alerts dropped by the rate limit (`outputs.rate`).
    pub throttled: u64,
    /// Alerts the flood guard suppressed (each counted in a summary alert).
    pub suppressed: u64,
    /// Summary alerts the flood guard raised.
    pub summaries: u64,
    /// Per channel, in the order they were configured: stdout, file, syslog, program, http.
    pub channels: Vec<ChannelSnapshot>,
}

/// One channel's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChannelSnapshot {
    /// `stdout`, `file`, `syslog`, `program` or `http`.
    pub name: &'static str,
    /// Alerts written or accepted by the receiver.
    pub delivered: u64,
    /// Failed attempts (each retry that fails counts once) and alerts given up on.
    pub failed: u64,
    /// Attempts made again after a failure.
    pub retries: u64,
    /// Alerts dropped by the channel: a local write failed, the HTTP backlog and spool were
    /// full while the receiver was down, or the receiver refused the alert for good (an HTTP
    /// 4xx other than 408 and 429).
    pub dropped: u64,
    /// Alerts waiting for delivery (memory and spool).
    pub backlog: u64,
    /// Of those, alerts in the on-disk spool.
    pub spooled: u64,
}

impl Snapshot {
    /// The counters of a channel by name.
    pub fn channel(&self, name: &str) -> Option<&ChannelSnapshot> {
        self.channels.iter().find(|c| c.name == name)
    }
}
