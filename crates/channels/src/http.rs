//! `http_output`: one POST per alert, its body the alert line (Falco's JSON with
//! `json_output`, which is what falcosidekick reads), in order, retried with backoff until the
//! receiver takes it.
//!
//! Two tasks share a backlog: the intake moves alerts from the channel's queue into it at
//! once (so a receiver that is down never stalls the dispatcher and the other channels), and
//! the sender delivers its head, then the next. While the receiver is down the backlog keeps
//! the alerts: up to `backlog_capacity` in memory, then in the spool directory (if one is
//! set) up to `spool_max_mb`. When both are full the intake waits while the receiver
//! answers (a burst: the alert queue's policy applies) and drops, counting, while it is down. A head that
//! failed is sent again, never skipped, so the order holds; an alert the receiver refuses
//! for good (a 4xx other than 408 and 429) is counted, logged and skipped, since resending
//! it cannot help and would block every alert behind it.

use std::collections::VecDeque;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use tokio::sync::{Notify, mpsc};

use crate::counters::ChannelCounters;
use crate::pipeline::{ChannelMsg, Delivery, Log, PipelineError};
use crate::spool::{Spool, SpoolError};

/// The header that carries the alert's id (`BOOT-SEQ`), for receivers to drop repeats.
pub const ALERT_ID_HEADER: &str = "x-lanner-alert-id";

/// How long the sender waits between attempts: `initial`, doubled after each failure, at
/// most `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The first wait.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff { initial: Duration::from_millis(100), max: Duration::from_secs(5) }
    }
}

/// What the sender needs, resolved at start.
pub(crate) struct HttpChannel {
    client: reqwest::Client,
    url: String,
    headers: HeaderMap,
    compress: bool,
    echo: bool,
    max_consecutive_timeouts: u32,
    backoff: Backoff,
    backlog: Backlog,
}

impl HttpChannel {
    /// Checks the settings and reads the certificate files; errors name the key.
    pub(crate) fn new(
        http: &lanner_config::HttpOutput,
        json: bool,
        timeout: Duration,
        backoff: Backoff,
    ) -> Result<HttpChannel, PipelineError> {
        let bad = |key: &str, why: String| PipelineError::Config {
            key: format!("http_output.{key}"),
            why,
        };
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .user_agent(http.user_agent.as_str())
            .timeout(timeout)
            // curl, which Falco uses, does not follow redirects unless told to.
            .redirect(reqwest::redirect::Policy::none());
        if !http.keep_alive {
            builder = builder.pool_max_idle_per_host(0);
        }
        if http.insecure {
            builder =
                builder.danger_accept_invalid_certs(true).danger_accept_invalid_hostnames(true);
        }
        if http.url.starts_with("https://") {
            for (key, file) in [("ca_cert", &http.ca_cert), ("ca_bundle", &http.ca_bundle)] {
                if file.is_empty() {
                    continue;
                }
                let pem = std::fs::read(file)
                    .map_err(|e| bad(key, format!("cannot read `{file}`: {e}")))?;
                let certs = reqwest::Certificate::from_pem_bundle(&pem)
                    .map_err(|e| bad(key, format!("`{file}` holds no PEM certificate: {e}")))?;
                for cert in certs {
                    builder = builder.add_root_certificate(cert);
                }
            }
            // A missing directory is not an error (the default names a Debian path); files
            // that hold no certificate are skipped, as a CA directory holds other files too.
            if let Ok(dir) = std::fs::read_dir(&http.ca_path) {
                for entry in dir.flatten() {
                    let Ok(pem) = std::fs::read(entry.path()) else { continue };
                    for cert in reqwest::Certificate::from_pem_bundle(&pem).unwrap_or_default() {
                        builder = builder.add_root_certificate(cert);
                    }
                }
            }
            if http.mtls {
                let mut pem = std::fs::read(&http.client_cert).map_err(|e| {
                    bad("client_cert", format!("cannot read `{}`: {e}", http.client_cert))
                })?;
                pem.push(b'\n');
                pem.extend(std::fs::read(&http.client_key).map_err(|e| {
                    bad("client_key", format!("cannot read `{}`: {e}", http.client_key))
                })?);
                let identity = reqwest::Identity::from_pem(&pem)
                    .map_err(|e| bad("client_cert", format!("not a certificate and key: {e}")))?;
                builder = builder.identity(identity);
            }
        }
        let client = builder.build().map_err(|e| bad("url", e.to_string()))?;
        let mut headers = HeaderMap::new();
        // Falco's content types.
        let content_type = if json { "application/json" } else { "text/plain" };
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        if http.compress_uploads {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        for (name, value) in &http.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| bad("headers", format!("`{name}` is not a header name")))?;
            let value = HeaderValue::from_str(value).map_err(|_| {
                bad("headers", format!("the value of `{name}` is not a header value"))
            })?;
            headers.insert(name, value);
        }
        let spool = match http.spool_dir.as_str() {
            "" => None,
            dir => Some(
                Spool::open(&PathBuf::from(dir), http.spool_max_mb.saturating_mul(1 << 20))
                    .map_err(|e| bad("spool_dir", e.to_string()))?,
            ),
        };
        Ok(HttpChannel {
            client,
            url: http.url.trim().to_owned(),
            headers,
            compress: http.compress_uploads,
            echo: http.echo,
            max_consecutive_timeouts: http.max_consecutive_timeouts.max(1),
            backoff,
            backlog: Backlog::new(http.backlog_capacity.max(1), spool),
        })
    }

    /// Starts the intake and the sender on the current runtime.
    pub(crate) fn spawn(
        self,
        rx: mpsc::Receiver<ChannelMsg>,
        counters: Arc<ChannelCounters>,
        log: Log,
    ) {
        let shared = Arc::new(Shared {
            backlog: Mutex::new(self.backlog),
            arrived: Notify::new(),
            settled: Notify::new(),
            down: AtomicBool::new(false),
        });
        if shared.lock().len() > 0 {
            let n = shared.lock().len();
            log(&format!("http output: {n} alerts from the spool of an earlier run to deliver."));
        }
        shared.lock().gauge(&counters);
        let sender = Sender {
            client: self.client,
            url: self.url,
            headers: self.headers,
            compress: self.compress,
            echo: self.echo,
            max_consecutive_timeouts: self.max_consecutive_timeouts,
            backoff: self.backoff,
        };
        tokio::spawn(intake(rx, shared.clone(), counters.clone(), log.clone()));
        tokio::spawn(sender.run(shared, counters, log));
    }
}

struct Shared {
    backlog: Mutex<Backlog>,
    /// An alert entered the backlog.
    arrived: Notify,
    /// The head of the backlog left it.
    settled: Notify,
    /// The receiver is down (the sender is retrying).
    down: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Backlog> {
        // The lock is held for queue operations only, which do not panic.
        self.backlog.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The head alert (`ordinal`) is done with, delivered or refused: it leaves the backlog,
    /// the gauges follow, and whoever waits for the backlog to drain is told.
    fn settle(&self, ordinal: u64, counters: &ChannelCounters) {
        {
            let mut backlog = self.lock();
            backlog.pop(ordinal);
            backlog.gauge(counters);
        }
        self.settled.notify_waiters();
    }
}

async fn intake(
    mut rx: mpsc::Receiver<ChannelMsg>,
    shared: Arc<Shared>,
    counters: Arc<ChannelCounters>,
    log: Log,
) {
    let mut dropping = false;
    while let Some(msg) = rx.recv().await {
        match msg {
            ChannelMsg::Deliver(alert) => {
                counters.backlog.fetch_sub(1, Relaxed);
                // A full backlog while the receiver answers is a burst: wait for room (the
                // dispatcher waits, the alert queue's policy applies). While the receiver is
                // down, waiting would stall every other channel: drop, and count.
                loop {
                    let settled = shared.settled.notified();
                    tokio::pin!(settled);
                    settled.as_mut().enable();
                    let result = {
                        let mut backlog = shared.lock();
                        let r = backlog.push(alert.clone());
                        backlog.gauge(&counters);
                        r
                    };
                    match result {
                        Ok(()) => {
                            dropping = false;
                            shared.arrived.notify_one();
                        }
                        Err(why) if shared.down.load(Relaxed) => {
                            counters.dropped.fetch_add(1, Relaxed);
                            if !dropping {
                                log(&format!("http output: dropping alerts: {why}"));
                            }
                            dropping = true;
                        }
                        Err(_) => {
                            settled.await;
                            continue;
                        }
                    }
                    break;
                }
            }
            ChannelMsg::Flush(ack) => {
                let target = shared.lock().next.checked_sub(1);
                let shared = shared.clone();
                let counters = counters.clone();
                tokio::spawn(async move {
                    loop {
                        let settled = shared.settled.notified();
                        tokio::pin!(settled);
                        settled.as_mut().enable();
                        if target.is_none_or(|t| shared.lock().done_up_to(t)) {
                            break;
                        }
                        settled.await;
                    }
                    let _ = ack.send(counters.name);
                });
            }
            ChannelMsg::Reopen => {}
        }
    }
}

struct Sender {
    client: reqwest::Client,
    url: String,
    headers: HeaderMap,
    compress: bool,
    echo: bool,
    max_consecutive_timeouts: u32,
    backoff: Backoff,
}

enum Outcome {
    /// Taken; the receiver's answer, for `echo`.
    Delivered(Vec<u8>),
    Refused(reqwest::StatusCode),
    Retry {
        why: String,
        timeout: bool,
    },
}

impl Sender {
    async fn run(self, shared: Arc<Shared>, counters: Arc<ChannelCounters>, log: Log) {
        let mut wait = self.backoff.initial;
        let mut timeouts = 0u32;
        let mut down = false;
        loop {
            let (ordinal, alert) = loop {
                let arrived = shared.arrived.notified();
                tokio::pin!(arrived);
                arrived.as_mut().enable();
                let front = {
                    let mut backlog = shared.lock();
                    let f = backlog.front();
                    backlog.gauge(&counters);
                    f
                };
                match front {
                    Ok(Some(front)) => break front,
                    Ok(None) => arrived.await,
                    Err(err) => {
                        // The spool cannot be read: what it holds is lost; say so once.
                        log(&format!("http output: {err}; its alerts are lost"));
                        let mut backlog = shared.lock();
                        let lost = backlog.abandon_spool();
                        counters.dropped.fetch_add(lost, Relaxed);
                        backlog.gauge(&counters);
                    }
                }
            };
            match self.post(&alert).await {
                Outcome::Delivered(body) => {
                    shared.settle(ordinal, &counters);
                    counters.delivered.fetch_add(1, Relaxed);
                    if down {
                        shared.down.store(false, Relaxed);
                        log(&format!("http output: {} answers again; delivering.", self.url));
                    }
                    (down, timeouts, wait) = (false, 0, self.backoff.initial);
                    if self.echo && !body.is_empty() {
                        let mut out = std::io::stdout().lock();
                        let _ = out.write_all(&body);
                        let _ = out.flush();
                    }
                }
                Outcome::Refused(status) => {
                    shared.settle(ordinal, &counters);
                    counters.failed.fetch_add(1, Relaxed);
                    counters.dropped.fetch_add(1, Relaxed);
                    log(&format!(
                        "http output: {} refused alert {} with {status}; skipping it.",
                        self.url, alert.id
                    ));
                }
                Outcome::Retry { why, timeout } => {
                    counters.failed.fetch_add(1, Relaxed);
                    counters.retries.fetch_add(1, Relaxed);
                    timeouts = if timeout { timeouts + 1 } else { 0 };
                    if !down && (!timeout || timeouts >= self.max_consecutive_timeouts) {
                        down = true;
                        shared.down.store(true, Relaxed);
                        log(&format!(
                            "http output: cannot deliver to {}: {why}; keeping alerts and \
                             retrying.",
                            self.url
                        ));
                    }
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(self.backoff.max);
                }
            }
        }
    }

    async fn post(&self, alert: &Delivery) -> Outcome {
        let body = if self.compress {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            let _ = gz.write_all(alert.line.as_bytes());
            gz.finish().unwrap_or_default()
        } else {
            alert.line.as_bytes().to_vec()
        };
        let id = HeaderValue::from_str(&alert.id.to_string())
            .unwrap_or_else(|_| HeaderValue::from_static("0"));
        let request = self
            .client
            .post(&self.url)
            .headers(self.headers.clone())
            .header(ALERT_ID_HEADER, id)
            .body(body);
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => return Outcome::Retry { why: chain(&err), timeout: err.is_timeout() },
        };
        let status = response.status();
        // The body is read in full so that the connection can be reused.
        let body = match response.bytes().await {
            Ok(body) => body.to_vec(),
            Err(err) => return Outcome::Retry { why: chain(&err), timeout: err.is_timeout() },
        };
        if status.is_success() {
            Outcome::Delivered(body)
        } else if status.is_server_error()
            || status == reqwest::StatusCode::REQUEST_TIMEOUT
            || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        {
            Outcome::Retry { why: format!("the receiver answered {status}"), timeout: false }
        } else {
            Outcome::Refused(status)
        }
    }
}

/// An error and its causes, on one line.
fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        out.push_str(": ");
        out.push_str(&e.to_string());
        source = e.source();
    }
    out
}

/// The alerts not yet delivered, oldest first: the head in memory, the tail in the spool
/// once memory is full. Each alert taken gets the next ordinal; the spool holds the ordinals
/// `spool_first..next` when it is not empty, so whatever enters while it holds anything goes
/// to it too, and the order holds.
struct Backlog {
    memory: VecDeque<(u64, Arc<Delivery>)>,
    capacity: usize,
    spool: Option<Spool>,
    spool_first: u64,
    next: u64,
}

/// Why the backlog did not take an alert.
#[derive(Debug, thiserror::Error)]
enum Full {
    #[error("{0} alerts are waiting in memory and no spool_dir is set")]
    Memory(usize),
    #[error("{0}")]
    Spool(#[from] SpoolError),
}

impl Backlog {
    fn new(capacity: usize, spool: Option<Spool>) -> Backlog {
        // What an earlier run spooled comes first.
        let next = spool.as_ref().map_or(0, Spool::len);
        Backlog { memory: VecDeque::new(), capacity, spool, spool_first: 0, next }
    }

    fn spooled(&self) -> u64 {
        self.spool.as_ref().map_or(0, Spool::len)
    }

    fn len(&self) -> u64 {
        self.memory.len() as u64 + self.spooled()
    }

    fn gauge(&self, counters: &ChannelCounters) {
        counters.spooled.store(self.spooled(), Relaxed);
        // The channel's queue adds to it; this is what the backlog holds.
        counters.backlog.store(self.len(), Relaxed);
    }

    fn push(&mut self, alert: Arc<Delivery>) -> Result<(), Full> {
        let ordinal = self.next;
        if self.spooled() == 0 && self.memory.len() < self.capacity {
            self.memory.push_back((ordinal, alert));
        } else {
            let Some(spool) = self.spool.as_mut() else {
                return Err(Full::Memory(self.memory.len()));
            };
            if spool.len() == 0 {
                self.spool_first = ordinal;
            }
            spool.push(alert.id, &alert.line)?;
        }
        self.next += 1;
        Ok(())
    }

    /// The oldest alert; memory is refilled from the spool when it runs dry.
    fn front(&mut self) -> Result<Option<(u64, Arc<Delivery>)>, SpoolError> {
        if self.memory.is_empty()
            && let Some(spool) = self.spool.as_mut()
        {
            while self.memory.len() < self.capacity.min(1024) {
                let Some(record) = spool.pop()? else { break };
                let alert = Delivery {
                    id: record.id,
                    priority: lanner_outputs::Priority::Debug,
                    hostname: Arc::from(""),
                    line: record.line,
                };
                self.memory.push_back((self.spool_first, Arc::new(alert)));
                self.spool_first += 1;
            }
        }
        Ok(self.memory.front().cloned())
    }

    fn pop(&mut self, ordinal: u64) {
        if self.memory.front().is_some_and(|(o, _)| *o == ordinal) {
            self.memory.pop_front();
        }
    }

    /// Whether every alert up to `ordinal` has left.
    fn done_up_to(&self, ordinal: u64) -> bool {
        match self.memory.front() {
            Some(&(o, _)) => o > ordinal,
            None => self.spooled() == 0 || self.spool_first > ordinal,
        }
    }

    /// Forgets a spool that cannot be read; returns how many alerts it held.
    fn abandon_spool(&mut self) -> u64 {
        let lost = self.spooled();
        self.spool = None;
        lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::AlertId;

    fn delivery(seq: u64) -> Arc<Delivery> {
        Arc::new(Delivery {
            id: AlertId { boot: 1, seq },
            priority: lanner_outputs::Priority::Debug,
            hostname: Arc::from(""),
            line: seq.to_string().into(),
        })
    }

    #[test]
    fn backlog_keeps_order_through_the_spool() {
        let dir = std::env::temp_dir().join(format!("lanner-backlog-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let spool = Spool::open(&dir, 1 << 20).unwrap();
        let mut b = Backlog::new(3, Some(spool));
        let mut out = Vec::new();
        for seq in 0..10 {
            b.push(delivery(seq)).unwrap();
            // take one out every other push: memory frees up while the spool holds some
            if seq % 2 == 1 {
                let (o, d) = b.front().unwrap().unwrap();
                out.push(d.id.seq);
                b.pop(o);
            }
        }
        assert!(b.spooled() > 0);
        assert!(!b.done_up_to(9));
        while let Some((o, d)) = b.front().unwrap() {
            out.push(d.id.seq);
            b.pop(o);
        }
        assert_eq!(out, (0..10).collect::<Vec<_>>());
        assert!(b.done_up_to(9));
        let mut no_spool = Backlog::new(2, None);
        no_spool.push(delivery(0)).unwrap();
        no_spool.push(delivery(1)).unwrap();
        assert!(matches!(no_spool.push(delivery(2)), Err(Full::Memory(2))));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
