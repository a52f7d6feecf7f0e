//! The webhook: the Kubernetes API server's audit webhook backend POSTs batches of audit
//! events here (`http://:9765/k8s-audit` or `https://...`).
//!
//! A hyper server runs on a one-worker tokio runtime in its own thread. Each accepted body
//! is parsed there (so bad or malicious payloads never reach Falco's event loop; their
//! errors are logged, as upstream does) and the events go through a bounded queue of
//! [`QUEUE_BATCHES`] bodies to `next_batch`, which waits at most [`POLL`] for them. A full
//! queue holds the HTTP response back: the API server sees the back-pressure, nothing is
//! dropped silently. The answers are upstream's (Go `net/http`): 405 for a method other
//! than POST, 400 "wrong Content Type" without `application/json`, 400 for a body over
//! `webhookMaxBatchSize`, 404 for another path, 200 otherwise.

use crate::audit::{AuditEvent, parse_payload};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::oneshot;

/// Bodies waiting for `next_batch` (upstream: a channel of 50 payloads).
pub const QUEUE_BATCHES: usize = 50;
/// The longest `next_batch` waits for an event before answering "timeout".
pub const POLL: Duration = Duration::from_millis(50);

/// Why the webhook could not start.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The address does not resolve or is malformed.
    #[error("invalid webhook address `{0}`")]
    Address(String),
    /// Binding failed (port in use, no permission ...).
    #[error("listen tcp {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The error.
        source: std::io::Error,
    },
    /// The certificate file could not be read or used.
    #[error("cannot use `sslCertificate` {}: {}", .0.path().display(), .0.kind())]
    Certificate(lanner_tls::TlsError),
    /// The runtime could not start.
    #[error("cannot start the webhook runtime: {0}")]
    Runtime(std::io::Error),
}

/// Settings of one webhook.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// `host:port` (`:9765` listens on every interface).
    pub address: String,
    /// The path (`/k8s-audit`); empty: every path.
    pub path: String,
    /// PEM file with the certificate chain and the private key, for HTTPS.
    pub tls_pem: Option<String>,
    /// `webhookMaxBatchSize`
    pub max_body: u64,
    /// `maxEventSize`
    pub max_event_size: u64,
}

/// A running webhook: owns the server thread; dropping it stops the server.
#[derive(Debug)]
pub struct Webhook {
    rx: mpsc::Receiver<Vec<AuditEvent>>,
    pending: std::collections::VecDeque<AuditEvent>,
    runtime: Option<tokio::runtime::Runtime>,
    shutdown: Option<oneshot::Sender<()>>,
    local_addr: SocketAddr,
}

fn resolve(address: &str) -> Result<SocketAddr, WebhookError> {
    let full =
        if address.starts_with(':') { format!("0.0.0.0{address}") } else { address.to_string() };
    full.to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| WebhookError::Address(address.to_string()))
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

async fn handle(
    req: Request<Incoming>,
    cfg: Arc<WebhookConfig>,
    tx: mpsc::SyncSender<Vec<AuditEvent>>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    if !cfg.path.is_empty() && req.uri().path() != cfg.path {
        return Ok(text(StatusCode::NOT_FOUND, "404 page not found\n".into()));
    }
    if req.method() != Method::POST {
        return Ok(text(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{} method not allowed\n", req.method()),
        ));
    }
    let json = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if !json {
        return Ok(text(StatusCode::BAD_REQUEST, "wrong Content Type\n".into()));
    }
    let limit = usize::try_from(cfg.max_body).unwrap_or(usize::MAX);
    let body = match Limited::new(req.into_body(), limit).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            let reason = if e.is::<http_body_util::LengthLimitError>() {
                "http: request body too large".to_string()
            } else {
                e.to_string()
            };
            let msg = format!("bad request: {reason}");
            log::error!("{msg}");
            return Ok(text(StatusCode::BAD_REQUEST, format!("{msg}\n")));
        }
    };
    // Errors never fail the request: the API server could do nothing better with them.
    match parse_payload(&body, cfg.max_event_size) {
        Err(e) => log::error!("{e}"),
        Ok(events) => {
            let mut good = Vec::with_capacity(events.len());
            for e in events {
                match e {
                    Ok(e) => good.push(e),
                    Err(e) => log::error!("{e}"),
                }
            }
            if !good.is_empty() {
                // A full queue blocks a pool thread, not the server: back-pressure.
                let sent = tokio::task::spawn_blocking(move || tx.send(good)).await;
                if !matches!(sent, Ok(Ok(()))) {
                    log::warn!("request dropped while shutting down server");
                }
            }
        }
    }
    Ok(Response::new(Full::new(Bytes::new())))
}

impl Webhook {
    /// Binds and starts serving.
    pub fn start(cfg: WebhookConfig) -> Result<Webhook, WebhookError> {
        let addr = resolve(&cfg.address)?;
        // As upstream, one file holds both the certificate(s) and the key.
        let tls = cfg
            .tls_pem
            .as_deref()
            .map(lanner_tls::acceptor_from_pem_file)
            .transpose()
            .map_err(WebhookError::Certificate)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("k8saudit-webhook")
            .enable_all()
            .build()
            .map_err(WebhookError::Runtime)?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(addr))
            .map_err(|source| WebhookError::Bind { addr: cfg.address.clone(), source })?;
        let local_addr = listener.local_addr().map_err(WebhookError::Runtime)?;
        let (tx, rx) = mpsc::sync_channel(QUEUE_BATCHES);
        let (shutdown, mut stop) = oneshot::channel::<()>();
        let cfg = Arc::new(cfg);
        runtime.spawn(async move {
            loop {
                let (stream, _) = tokio::select! {
                    _ = &mut stop => break,
                    accepted = listener.accept() => match accepted {
                        Ok(s) => s,
                        Err(e) => {
                            log::warn!("webhook accept failed: {e}");
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    },
                };
                let cfg = Arc::clone(&cfg);
                let tx = tx.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        handle(req, Arc::clone(&cfg), tx.clone())
                    });
                    let builder = hyper::server::conn::http1::Builder::new();
                    let result = match tls {
                        Some(acceptor) => match acceptor.accept(stream).await {
                            Ok(s) => builder.serve_connection(TokioIo::new(s), service).await,
                            Err(e) => {
                                log::warn!("webhook TLS handshake failed: {e}");
                                return;
                            }
                        },
                        None => builder.serve_connection(TokioIo::new(stream), service).await,
                    };
                    if let Err(e) = result {
                        log::debug!("webhook connection ended: {e}");
                    }
                });
            }
        });
        Ok(Webhook {
            rx,
            pending: Default::default(),
            runtime: Some(runtime),
            shutdown: Some(shutdown),
            local_addr,
        })
    }

    /// The address bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Up to `max` events, waiting at most [`POLL`] for the first one. Empty: none yet.
    pub fn next_events(&mut self, max: usize) -> Vec<AuditEvent> {
        if self.pending.is_empty() {
            // A plain channel: this never needs (nor breaks) an async runtime of the host.
            if let Ok(batch) = self.rx.recv_timeout(POLL) {
                self.pending.extend(batch);
            }
        }
        while self.pending.len() < max {
            match self.rx.try_recv() {
                Ok(batch) => self.pending.extend(batch),
                Err(_) => break,
            }
        }
        let n = self.pending.len().min(max);
        self.pending.drain(..n).collect()
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        // Drop the receiver first, so that a sender blocked on a full queue wakes up.
        self.rx = mpsc::sync_channel(0).1;
        if let Some(rt) = self.runtime.take() {
            // Upstream gives the server 5 s to shut down gracefully.
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}
