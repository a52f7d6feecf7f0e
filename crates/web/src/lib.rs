//! lanner's telemetry surfaces: the web server of falco.yaml's `webserver` block, the
//! Prometheus metrics it serves, and the periodic snapshots of the `metrics` block.
//!
//! This crate owns:
//!
//! - [`Stats`], the one snapshot type of lanner's counters (events per source and per CPU,
//!   kernel drops, matches by rule, state table sizes, the output pipeline's
//!   [`Snapshot`](lanner_channels::Snapshot), readiness, reloads), and [`StatsHub`], through
//!   which the event loop publishes it a few times a second. The loop sums its counts locally
//!   and publishes copies: nothing here is touched per event.
//! - [`metrics`]: a snapshot as Falco's Prometheus text (Falco's and libs' metric names where
//!   lanner has the quantity, `falcosecurity_lanner_*` for the rest; the table is in the
//!   module docs) and as the fields of Falco's "Falco internal: metrics snapshot".
//! - [`Resources`]: lanner's and the host's CPU and memory, from `/proc`.
//! - [`WebServer`]: HTTP/1.1 (HTTPS with `ssl_enabled`, rustls) on a thread of its own.
//!
//! It does not own the counters themselves (the event loop, the state, the probe and the
//! channels keep those), the configuration file (`lanner-config`), or when snapshots are
//! taken (the binary).
//!
//! # Routes
//!
//! | route | answer |
//! |---|---|
//! | `webserver.k8s_healthz_endpoint` (`/healthz`) | `200 {"status": "ok"}` while lanner runs, as Falco |
//! | `webserver.readiness_endpoint` (`/readyz`, lanner) | `200 {"status": "ready"}` when the event source runs (probe attached, or a capture being read) and the outputs deliver (no channel failing its last attempts, the alert queue not full); else `503 {"status": "not ready", "reason": ...}` |
//! | `/versions` | Falco's JSON keys (`falco_version`, `libs_version`, `plugin_api_version`, `driver_api_version`, `driver_schema_version`, `default_driver_version`, `engine_version`, `engine_version_semver`) plus `lanner_version`; `falco_version` carries lanner's version |
//! | `/metrics` | Prometheus text (`text/plain; version=0.0.4`) when `prometheus_metrics_enabled`, else 404 |
//!
//! # Decisions
//!
//! - **Localhost by default.** Falco listens on `0.0.0.0`; lanner's binary uses `127.0.0.1`
//!   unless `webserver.listen_address` is set, so that metrics and versions are not offered to
//!   the network by accident.
//! - **`/metrics` needs only `prometheus_metrics_enabled`.** Falco also wants
//!   `metrics.enabled`; in lanner that key only switches the periodic snapshots on. The
//!   `metrics.*_enabled` keys choose the groups in both.
//! - **hyper, not a framework**: four GET routes; hyper is already in the build for the HTTP
//!   output.
//!
//! # Example
//!
//! ```
//! use lanner_web::{MetricsOptions, ServerConfig, Stats, StatsHub, Versions, WebServer};
//!
//! let hub = StatsHub::new(Stats { engine_name: "savefile".into(), ..Stats::default() });
//! let server = WebServer::start(
//!     ServerConfig {
//!         listen_address: "127.0.0.1".into(),
//!         listen_port: 0,
//!         healthz_endpoint: "/healthz".into(),
//!         readiness_endpoint: "/readyz".into(),
//!         prometheus_metrics: true,
//!         tls_certificate: None,
//!         metrics: MetricsOptions::default(),
//!         versions: Versions::default(),
//!     },
//!     hub.clone(),
//! )?;
//! assert!(server.local_addr().port() > 0);
//! server.stop();
//! # Ok::<(), lanner_web::WebError>(())
//! ```

pub mod metrics;
mod resources;
mod server;
mod stats;

pub use metrics::{MetricsOptions, Versions};
pub use resources::Resources;
pub use server::{PROMETHEUS_CONTENT_TYPE, ServerConfig, WebError, WebServer};
pub use stats::{
    CpuStats, PluginMetric, Readiness, RuleStats, SourceStats, StateStats, Stats, StatsHub,
};
