//! The pipeline: the alert queue, the dispatcher, and one worker per channel.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lanner_config::{
    FileOutput, HttpOutput, OutputsLimits, OutputsQueue, Overflow, ProgramOutput, Settings,
    SyslogOutput,
};
use lanner_outputs::{Alert, OutputOptions, Priority, render};
use tokio::sync::mpsc;

use crate::counters::{ChannelCounters, QueueCounters, Snapshot};
use crate::http::{Backoff, HttpChannel};
use crate::limit::{FloodGuard, TokenBucket};
use crate::local::{self, FileChannel, LocalChannel, ProgramChannel, Stdout, SyslogChannel};

/// Where the pipeline's log lines go (the binary prints them as Falco prints its own).
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// An alert's id: the process's boot id (random, drawn at start) and the alert's number in
/// the process (from 0, in the order the dispatcher takes alerts). Written `BOOT-SEQ`, the
/// boot in 16 hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AlertId {
    /// Random per process.
    pub boot: u64,
    /// Counts alerts from 0.
    pub seq: u64,
}

impl std::fmt::Display for AlertId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}-{}", self.boot, self.seq)
    }
}

/// A rendered alert on its way to the channels (shared by them).
#[derive(Debug)]
pub struct Delivery {
    /// Its id.
    pub id: AlertId,
    /// The rule's priority (syslog's severity).
    pub priority: Priority,
    /// The host name (RFC 5424 syslog).
    pub hostname: Arc<str>,
    /// The text or JSON line, without a line end.
    pub line: Box<str>,
}

/// What a channel's worker receives.
pub(crate) enum ChannelMsg {
    Deliver(Arc<Delivery>),
    /// Acknowledge with the channel's name once everything before is delivered.
    Flush(std::sync::mpsc::Sender<&'static str>),
    Reopen,
}

/// Why the pipeline cannot start.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A setting does not work (a certificate file that cannot be read ...).
    #[error("config key `{key}`: {why}")]
    Config {
        /// The key.
        key: String,
        /// What is wrong.
        why: String,
    },
    /// A thread could not be started.
    #[error("cannot start the output channels: {0}")]
    Spawn(#[from] std::io::Error),
}

/// What the pipeline is built from: falco.yaml's output settings, resolved.
#[derive(Clone)]
pub struct PipelineConfig {
    /// How alerts are rendered (`json_output` ...); one rendering serves every channel.
    pub options: OutputOptions,
    /// `stdout_output.enabled`.
    pub stdout: bool,
    /// `buffered_outputs` (and not `-U`).
    pub buffered: bool,
    /// `outputs_queue`.
    pub queue: OutputsQueue,
    /// `outputs`.
    pub limits: OutputsLimits,
    /// `file_output`.
    pub file: FileOutput,
    /// `syslog_output`.
    pub syslog: SyslogOutput,
    /// `program_output`.
    pub program: ProgramOutput,
    /// `http_output`.
    pub http: HttpOutput,
    /// The HTTP request timeout (`output_timeout`).
    pub http_timeout: Duration,
    /// The HTTP retry backoff.
    pub backoff: Backoff,
    /// Where log lines go.
    pub log: Log,
}

impl PipelineConfig {
    /// The settings of `falco.yaml`, rendering with `options`.
    pub fn from_settings(settings: &Settings, options: OutputOptions, log: Log) -> PipelineConfig {
        PipelineConfig {
            options,
            stdout: settings.stdout_output,
            buffered: settings.buffered_outputs,
            queue: settings.outputs_queue,
            limits: settings.outputs,
            file: settings.file_output.clone(),
            syslog: settings.syslog_output.clone(),
            program: settings.program_output.clone(),
            http: settings.http_output.clone(),
            http_timeout: Duration::from_millis(settings.output_timeout_ms.max(1)),
            backoff: Backoff::default(),
            log,
        }
    }

    /// Every channel off, with Falco's other defaults: a start for tests and tools.
    pub fn quiet(log: Log) -> PipelineConfig {
        let mut settings = lanner_config::Config::defaults()
            .settings()
            .unwrap_or_else(|_| unreachable!("the defaults are valid settings"));
        settings.stdout_output = false;
        settings.syslog_output.enabled = false;
        PipelineConfig::from_settings(&settings, OutputOptions::default(), log)
    }
}

/// The alert queue's sending end, for the hot path: cheap to clone, `send` never waits
/// (unless `outputs_queue.overflow` is `block`).
#[derive(Clone)]
pub struct AlertSender {
    tx: QueueTx,
    shared: Arc<Shared>,
}

#[derive(Clone)]
enum QueueTx {
    Bounded(mpsc::Sender<Item>),
    Unbounded(mpsc::UnboundedSender<Item>),
}

enum QueueRx {
    Bounded(mpsc::Receiver<Item>),
    Unbounded(mpsc::UnboundedReceiver<Item>),
}

impl QueueRx {
    async fn recv(&mut self) -> Option<Item> {
        match self {
            QueueRx::Bounded(rx) => rx.recv().await,
            QueueRx::Unbounded(rx) => rx.recv().await,
        }
    }
}

enum Item {
    Alert(Alert),
    Flush(std::sync::mpsc::Sender<&'static str>),
    Reopen,
    Stop,
}

struct Shared {
    queue: QueueCounters,
    channels: Vec<Arc<ChannelCounters>>,
    capacity: usize,
    overflow: Overflow,
    log: Log,
}

impl AlertSender {
    /// Queues an alert; `false` if it was dropped (the queue is full, and counted, or the
    /// pipeline stopped). With `overflow: block` a full queue makes this wait; it must then
    /// not be called from async code.
    ///
    /// The hot path pays one enqueue and two atomic additions per alert (alerts are rare
    /// next to events); nothing is logged but the first drop.
    pub fn send(&self, alert: Alert) -> bool {
        let c = &self.shared.queue;
        c.depth.fetch_add(1, Relaxed);
        let sent = match &self.tx {
            QueueTx::Unbounded(tx) => tx.send(Item::Alert(alert)).is_ok(),
            QueueTx::Bounded(tx) => match self.shared.overflow {
                Overflow::Block => tx.blocking_send(Item::Alert(alert)).is_ok(),
                Overflow::Drop => match tx.try_send(Item::Alert(alert)) {
                    Ok(()) => true,
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        if c.dropped.fetch_add(1, Relaxed) == 0 {
                            (self.shared.log)(&format!(
                                "Outputs queue is full (outputs_queue.capacity: {}): dropping \
                                 alerts; they are counted.",
                                self.shared.capacity
                            ));
                        }
                        false
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => false,
                },
            },
        };
        if sent {
            c.enqueued.fetch_add(1, Relaxed);
        } else {
            c.depth.fetch_sub(1, Relaxed);
        }
        sent
    }

    fn control(&self, item: Item) -> bool {
        match &self.tx {
            QueueTx::Unbounded(tx) => tx.send(item).is_ok(),
            QueueTx::Bounded(tx) => tx.blocking_send(item).is_ok(),
        }
    }
}

/// What a flush or a shutdown did not finish in time, and the counters at its end.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlushReport {
    /// The stages still delivering when the time was up (`queue`, or a channel's name).
    pub pending: Vec<&'static str>,
    /// The counters when the flush ended.
    pub snapshot: Snapshot,
}

impl FlushReport {
    /// Whether everything queued before the flush was delivered (or given up on and counted).
    pub fn is_complete(&self) -> bool {
        self.pending.is_empty()
    }
}

/// The running pipeline: a thread with the async dispatcher and the HTTP channel, and a
/// thread per local channel.
pub struct Pipeline {
    sender: AlertSender,
    names: Vec<&'static str>,
    threads: Vec<JoinHandle<()>>,
}

/// Each channel's queue: small, as the alert queue is where alerts wait.
const CHANNEL_QUEUE: usize = 1024;

impl Pipeline {
    /// Starts the channels the configuration enables. Errors name the key at fault.
    pub fn start(config: PipelineConfig) -> Result<Pipeline, PipelineError> {
        let log = config.log.clone();
        let mut locals: Vec<(Box<dyn LocalChannel>, &'static str)> = Vec::new();
        let buffered = config.buffered;
        if config.stdout {
            locals.push((Box::new(Stdout::new(buffered)), "stdout"));
        }
        if config.file.enabled {
            let path = PathBuf::from(&config.file.filename);
            locals
                .push((Box::new(FileChannel::new(path, config.file.keep_alive, buffered)), "file"));
        }
        if config.syslog.enabled {
            let s = &config.syslog;
            let channel = SyslogChannel::new(
                PathBuf::from(&s.address),
                s.format,
                s.ident.clone(),
                config.options.utc_offset,
            );
            locals.push((Box::new(channel), "syslog"));
        }
        if config.program.enabled {
            let p = &config.program;
            locals.push((
                Box::new(ProgramChannel::new(p.program.clone(), p.keep_alive, buffered)),
                "program",
            ));
        }
        let http = match config.http.enabled {
            true => Some(HttpChannel::new(
                &config.http,
                config.options.json_output,
                config.http_timeout,
                config.backoff,
            )?),
            false => None,
        };

        let mut channels = Vec::new();
        let mut counters = Vec::new();
        let mut threads = Vec::new();
        for (channel, name) in locals {
            let (tx, rx) = mpsc::channel(CHANNEL_QUEUE);
            let c = Arc::new(ChannelCounters::new(name));
            threads.push(local::spawn(channel, rx, c.clone(), log.clone())?);
            channels.push((tx, c.clone()));
            counters.push(c);
        }
        let mut http_start = None;
        if let Some(http) = http {
            let (tx, rx) = mpsc::channel(CHANNEL_QUEUE);
            let c = Arc::new(ChannelCounters::new("http"));
            channels.push((tx, c.clone()));
            counters.push(c.clone());
            http_start = Some((http, rx, c));
        }
        let names = counters.iter().map(|c| c.name).collect();
        let (tx, rx) = match config.queue.capacity {
            0 => {
                let (tx, rx) = mpsc::unbounded_channel();
                (QueueTx::Unbounded(tx), QueueRx::Unbounded(rx))
            }
            // tokio's limit on a bounded channel's capacity.
            n => {
                let (tx, rx) = mpsc::channel(n.min(usize::MAX >> 4));
                (QueueTx::Bounded(tx), QueueRx::Bounded(rx))
            }
        };
        let shared = Arc::new(Shared {
            queue: QueueCounters::default(),
            channels: counters,
            capacity: config.queue.capacity,
            overflow: config.queue.overflow,
            log: log.clone(),
        });
        let start = Instant::now();
        let limits = config.limits;
        let dispatcher = Dispatcher {
            options: config.options,
            boot: boot_id(),
            seq: 0,
            start,
            bucket: TokenBucket::new(limits.rate, limits.max_burst, 0),
            flood: FloodGuard::new(
                limits.flood_max_alerts,
                limits.flood_window_s.saturating_mul(1_000_000_000),
            ),
            shared: shared.clone(),
            channels,
            line: String::new(),
            summaries: Vec::new(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        threads.push(std::thread::Builder::new().name("lanner-outputs".into()).spawn(
            move || {
                runtime.block_on(async move {
                    if let Some((http, rx, c)) = http_start {
                        http.spawn(rx, c, log);
                    }
                    dispatcher.run(rx).await;
                });
            },
        )?);
        Ok(Pipeline { sender: AlertSender { tx, shared }, names, threads })
    }

    /// Whether any channel is enabled (if not, alerts need not be built).
    pub fn has_channels(&self) -> bool {
        !self.names.is_empty()
    }

    /// A sending end of the alert queue.
    pub fn sender(&self) -> AlertSender {
        self.sender.clone()
    }

    /// The counters now.
    pub fn snapshot(&self) -> Snapshot {
        let shared = &self.sender.shared;
        let q = &shared.queue;
        Snapshot {
            queue_capacity: shared.capacity,
            queue_depth: q.depth.load(Relaxed),
            enqueued: q.enqueued.load(Relaxed),
            dropped: q.dropped.load(Relaxed),
            throttled: q.throttled.load(Relaxed),
            suppressed: q.suppressed.load(Relaxed),
            summaries: q.summaries.load(Relaxed),
            channels: shared.channels.iter().map(|c| c.snapshot()).collect(),
        }
    }

    /// Waits until every alert queued before this call is delivered by every channel (or
    /// given up on and counted), or `timeout` passes. Flood-guard summaries pending are sent
    /// first. Must not be called from async code.
    pub fn flush(&self, timeout: Duration) -> FlushReport {
        let (ack, acks) = std::sync::mpsc::channel();
        let mut pending: Vec<&'static str> = vec!["queue"];
        pending.extend(&self.names);
        if !self.sender.control(Item::Flush(ack)) {
            return FlushReport { pending, snapshot: self.snapshot() };
        }
        let deadline = Instant::now() + timeout;
        while !pending.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            match acks.recv_timeout(left) {
                Ok(name) => {
                    if let Some(i) = pending.iter().position(|p| *p == name) {
                        pending.remove(i);
                    }
                }
                Err(_) => break,
            }
        }
        FlushReport { pending, snapshot: self.snapshot() }
    }

    /// Closes and opens again the file and the program (Falco does this on SIGUSR1).
    pub fn reopen(&self) {
        self.sender.control(Item::Reopen);
    }

    /// Flushes (see [`Pipeline::flush`]), then stops every channel. What the HTTP channel
    /// still holds in memory then is lost (and reported); what its spool holds is delivered
    /// by the next run.
    pub fn shutdown(self, timeout: Duration) -> FlushReport {
        let report = self.flush(timeout);
        self.sender.control(Item::Stop);
        for thread in self.threads {
            let _ = thread.join();
        }
        report
    }
}

/// A random id for this process's alerts.
fn boot_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // `RandomState` is seeded from the OS's random source.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.finish()
}

/// Takes alerts off the queue: rate limit, flood guard, rendering (once for every channel),
/// then each channel's queue, in the order configured.
struct Dispatcher {
    options: OutputOptions,
    boot: u64,
    seq: u64,
    start: Instant,
    bucket: TokenBucket,
    flood: FloodGuard,
    shared: Arc<Shared>,
    channels: Vec<(mpsc::Sender<ChannelMsg>, Arc<ChannelCounters>)>,
    line: String,
    summaries: Vec<Alert>,
}

impl Dispatcher {
    fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    async fn run(mut self, mut rx: QueueRx) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let flood = self.flood.is_on();
        loop {
            let item = tokio::select! {
                biased;
                item = rx.recv() => item,
                _ = tick.tick(), if flood => {
                    let mut summaries = std::mem::take(&mut self.summaries);
                    self.flood.expire(self.now(), &mut summaries);
                    self.send_summaries(&mut summaries).await;
                    self.summaries = summaries;
                    continue;
                }
            };
            match item {
                Some(Item::Alert(alert)) => {
                    self.shared.queue.depth.fetch_sub(1, Relaxed);
                    self.take(alert).await;
                }
                Some(Item::Flush(ack)) => {
                    let mut summaries = std::mem::take(&mut self.summaries);
                    self.flood.drain(self.now(), &mut summaries);
                    self.send_summaries(&mut summaries).await;
                    self.summaries = summaries;
                    for (tx, _) in &self.channels {
                        let _ = tx.send(ChannelMsg::Flush(ack.clone())).await;
                    }
                    let _ = ack.send("queue");
                }
                Some(Item::Reopen) => {
                    for (tx, _) in &self.channels {
                        let _ = tx.send(ChannelMsg::Reopen).await;
                    }
                }
                Some(Item::Stop) | None => break,
            }
        }
    }

    async fn take(&mut self, alert: Alert) {
        let now = self.now();
        if !self.bucket.claim(now) {
            self.shared.queue.throttled.fetch_add(1, Relaxed);
            return;
        }
        let mut summaries = std::mem::take(&mut self.summaries);
        let admitted = self.flood.admit(&alert, now, &mut summaries);
        self.send_summaries(&mut summaries).await;
        self.summaries = summaries;
        if admitted {
            self.deliver(&alert).await;
        } else {
            self.shared.queue.suppressed.fetch_add(1, Relaxed);
        }
    }

    async fn send_summaries(&mut self, summaries: &mut Vec<Alert>) {
        for summary in summaries.drain(..) {
            self.shared.queue.summaries.fetch_add(1, Relaxed);
            self.deliver(&summary).await;
        }
    }

    async fn deliver(&mut self, alert: &Alert) {
        self.line.clear();
        if self.options.json_output {
            render::write_json(&mut self.line, alert, &self.options);
        } else {
            render::write_text(&mut self.line, alert, &self.options);
        }
        let delivery = Arc::new(Delivery {
            id: AlertId { boot: self.boot, seq: self.seq },
            priority: alert.priority,
            hostname: alert.hostname.clone(),
            line: self.line.as_str().into(),
        });
        self.seq += 1;
        for (tx, counters) in &self.channels {
            counters.backlog.fetch_add(1, Relaxed);
            // A full channel queue makes the dispatcher wait: backpressure to the alert queue.
            if tx.send(ChannelMsg::Deliver(delivery.clone())).await.is_err() {
                counters.backlog.fetch_sub(1, Relaxed);
            }
        }
    }
}
