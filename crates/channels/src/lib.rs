//! Output channels and the alert delivery pipeline: where an [`Alert`] goes once a rule
//! matched.
//!
//! This crate owns the way from the hot path to the receivers, in this order:
//!
//! 1. **The alert queue** (`outputs_queue.capacity`; 0 is unbounded, as in Falco). The hot
//!    path only calls [`AlertSender::send`]: a non-blocking enqueue. A full queue drops the
//!    new alert, counts it and logs the first drop (Falco's behaviour), or, with lanner's
//!    `outputs_queue.overflow: block`, makes the event loop wait.
//! 2. **The dispatcher** (async, on the pipeline's own thread): Falco's token bucket
//!    (`outputs.rate`, `outputs.max_burst`: throttled alerts are dropped and counted), the
//!    per-rule flood guard (`outputs.flood_guard`: repeats past `max_alerts` a window are
//!    counted and summed up in one alert, "N more alerts of rule X suppressed in the last T
//!    s", rather than dropped silently), then the rendering, once, by `lanner-outputs`'
//!    renderers (text or JSON as `json_output` says: every channel gets the same line, as in
//!    Falco), then each channel's queue.
//! 3. **The channels**: `stdout`, `file`, `syslog`, `program` block on writes, so each has a
//!    thread; `http` is async, keeps a backlog (memory, then an on-disk spool) and retries
//!    with backoff. A full channel queue makes the dispatcher wait, which fills the alert
//!    queue, where the overflow policy applies: no alert is lost without being counted.
//!
//! [`Pipeline::flush`] drains every stage (the binary calls [`Pipeline::shutdown`] at the end
//! of a replay, and will on SIGTERM); [`Pipeline::snapshot`] gives the counters as a plain
//! [`Snapshot`] (queue depth, drops, throttled, suppressed, per channel delivered / failed /
//! retries / dropped / backlog / spooled) for a later `/metrics`.
//!
//! It does not own the alert or its rendering (`lanner-outputs`), the configuration file
//! (`lanner-config` parses the keys into typed settings, which [`PipelineConfig`] takes), the
//! signals, or the web server.
//!
//! # Decisions
//!
//! - **Falco's bytes on every channel.** Lines are `lanner-outputs`' text or JSON lines;
//!   file, stdout and program get them with a line end, syslog and HTTP without one. The
//!   HTTP body is Falco's JSON alert (what falcosidekick reads) with `Content-Type:
//!   application/json`, or the text line with `text/plain`; `User-Agent` is
//!   `http_output.user_agent`.
//! - **The alert id is a header, not a JSON key.** Each alert gets an [`AlertId`]: a random
//!   boot id per process and a sequence number (`BOOT-SEQ`, boot in 16 hex digits), sent as
//!   `X-Lanner-Alert-Id` on every HTTP attempt. A JSON key would break the byte compatibility
//!   with Falco's golden JSON and could trip receivers that check the schema; a header costs
//!   nothing to those who ignore it and lets a receiver drop repeats.
//! - **HTTP delivery is at least once, in order.** The head of the backlog is sent until the
//!   receiver takes it (2xx); connection errors, timeouts, 5xx, 408 and 429 are retried with
//!   doubling waits (100 ms up to 5 s); other 4xx answers are permanent, so that alert is
//!   counted, logged and skipped (resending cannot help and would block the rest). A request
//!   whose answer is lost is sent again: receivers dedupe by the id. `max_consecutive_timeouts`
//!   keeps Falco's name but not its meaning: Falco gives an alert up after that many curl
//!   timeouts; lanner reports the receiver down after that many, and keeps the alerts.
//! - **Backlog: memory, then spool.** `http_output.backlog_capacity` alerts wait in memory;
//!   with `http_output.spool_dir` set, later ones are appended to segment files there (at
//!   most `spool_max_mb`) and read back in order; the spool survives a restart. When both are
//!   full, the receiver's state decides: while it answers (a burst), the channel waits and
//!   so pushes back on the alert queue, whose overflow policy applies; while it is down,
//!   waiting would stall every other channel, so the alert is dropped, counted and logged. Alerts still in memory when a shutdown's flush
//!   times out are lost (the report says how many); those in the spool are not.
//! - **`compress_uploads` gzips the request body** (`Content-Encoding: gzip`), as its name
//!   says. Falco's curl option of that name only asks for compressed *responses*.
//! - **Syslog as glibc writes it for Falco**: `<PRI>Mmm dd hh:mm:ss ident: line` to
//!   `/dev/log`, facility `user`, the rule's priority as severity (Falco's priority numbers
//!   are syslog's severities); lanner's keys `syslog_output.address`, `format: rfc5424`
//!   and `ident` choose the socket, RFC 5424 framing and the program name (`lanner`).
//! - **Local channel failures are counted, logged once per outage, and the alert is dropped
//!   for that channel** (Falco does the same, silently); a kept-alive program that exited is
//!   started again.
//! - **TLS is rustls with ring** (no C toolchain beyond `cc`); `ca_cert`, `ca_bundle` and the
//!   PEM files of `ca_path` are added to webpki's roots; `insecure` disables verification;
//!   `mtls` presents `client_cert` and `client_key`. The HTTP request timeout is Falco's
//!   `output_timeout`.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use lanner_channels::{Pipeline, PipelineConfig};
//! use lanner_outputs::{Alert, AlertRule, Priority};
//!
//! let dir = std::env::temp_dir().join(format!("lanner-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let mut config = PipelineConfig::quiet(Arc::new(|line: &str| eprintln!("{line}")));
//! config.file.enabled = true;
//! config.file.filename = dir.join("events.txt").display().to_string();
//! let pipeline = Pipeline::start(config)?;
//!
//! // The hot path: a non-blocking enqueue.
//! let rule = AlertRule::new("r", Priority::Warning, "syscall", []);
//! let alert = Alert::internal(&rule, 1_470_327_477_881_781_397, &Arc::from("h"), "hi".into());
//! pipeline.sender().send(alert);
//!
//! // At exit: everything queued is delivered, or reported.
//! let report = pipeline.shutdown(Duration::from_secs(5));
//! assert!(report.is_complete());
//! assert_eq!(report.snapshot.channel("file").map(|c| c.delivered), Some(1));
//! assert!(std::fs::read_to_string(dir.join("events.txt"))?.ends_with("Warning hi\n"));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Alert`]: lanner_outputs::Alert

mod counters;
mod http;
pub mod limit;
mod local;
mod pipeline;
mod spool;
pub mod syslog;

pub use counters::{ChannelSnapshot, Snapshot};
pub use http::{ALERT_ID_HEADER, Backoff};
pub use pipeline::{
    AlertId, AlertSender, Delivery, FlushReport, Log, Pipeline, PipelineConfig, PipelineError,
};
