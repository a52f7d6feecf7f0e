//! The HTTP(S) server: a thread of its own with a single-threaded tokio runtime, hyper's
//! HTTP/1.1, four GET routes. It reads the [`StatsHub`] and never blocks the event loop.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;

use crate::metrics::{MetricsOptions, Versions, prometheus};
use crate::resources::Resources;
use crate::stats::StatsHub;

/// The Prometheus text format's content type, as Falco sends it.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4";

/// What the server serves, and where.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// `webserver.listen_address` (lanner's default: `127.0.0.1`).
    pub listen_address: String,
    /// `webserver.listen_port` (8765); 0 picks a free port (tests).
    pub listen_port: u16,
    /// `webserver.k8s_healthz_endpoint` (`/healthz`).
    pub healthz_endpoint: String,
    /// `webserver.readiness_endpoint` (lanner's key, `/readyz`).
    pub readiness_endpoint: String,
    /// `webserver.prometheus_metrics_enabled`: serve `/metrics`.
    pub prometheus_metrics: bool,
    /// `webserver.ssl_enabled` with `ssl_certificate`: a PEM file with the certificate chain
    /// and the private key (Falco's `falco.pem` layout).
    pub tls_certificate: Option<PathBuf>,
    /// The groups of metrics `/metrics` gives.
    pub metrics: MetricsOptions,
    /// What `/versions` says.
    pub versions: Versions,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The address does not parse.
    #[error("webserver: bad listen address `{0}`")]
    Address(String),
    /// Binding failed.
    #[error("webserver: cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The certificate file could not be used.
    #[error("webserver: cannot use ssl_certificate `{}`: {}", .0.path().display(), .0.kind())]
    Tls(lanner_tls::TlsError),
    /// The runtime or thread could not start.
    #[error("webserver: cannot start: {0}")]
    Start(std::io::Error),
}

/// A running server; dropping it (or [`WebServer::stop`]) stops it.
#[derive(Debug)]
pub struct WebServer {
    addr: SocketAddr,
    tls: bool,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WebServer {
    /// Binds and starts serving `hub`'s snapshots.
    pub fn start(config: ServerConfig, hub: StatsHub) -> Result<WebServer, WebError> {
        let host = config.listen_address.trim_start_matches('[').trim_end_matches(']');
        let ip: std::net::IpAddr =
            host.parse().map_err(|_| WebError::Address(config.listen_address.clone()))?;
        let addr = SocketAddr::new(ip, config.listen_port);
        let tls = match &config.tls_certificate {
            Some(path) => Some(lanner_tls::acceptor_from_pem_file(path).map_err(WebError::Tls)?),
            None => None,
        };
        let listener = TcpListener::bind(addr)
            .map_err(|source| WebError::Bind { addr: addr.to_string(), source })?;
        let addr = listener.local_addr().map_err(WebError::Start)?;
        listener.set_nonblocking(true).map_err(WebError::Start)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(WebError::Start)?;
        let (stop_tx, stop_rx) = oneshot::channel();
        let is_tls = tls.is_some();
        let shared = Arc::new((config, hub));
        let thread = std::thread::Builder::new()
            .name("lanner-web".into())
            .spawn(move || runtime.block_on(serve(listener, tls, shared, stop_rx)))
            .map_err(WebError::Start)?;
        Ok(WebServer { addr, tls: is_tls, stop: Some(stop_tx), thread: Some(thread) })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether it serves HTTPS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Stops serving and waits for the thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

async fn serve(
    listener: TcpListener,
    tls: Option<lanner_tls::TlsAcceptor>,
    shared: Arc<(ServerConfig, StatsHub)>,
    mut stop: oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
    loop {
        let stream = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of fds, or a connection reset before accept: keep serving.
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let shared = shared.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, std::convert::Infallible>(route(&req, &shared.0, &shared.1)) }
            });
            let http = hyper::server::conn::http1::Builder::new();
            match tls {
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        let _ = http.serve_connection(TokioIo::new(stream), service).await;
                    }
                }
                None => {
                    let _ = http.serve_connection(TokioIo::new(stream), service).await;
                }
            }
        });
    }
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn route(req: &Request<Incoming>, config: &ServerConfig, hub: &StatsHub) -> Response<Full<Bytes>> {
    const JSON: &str = "application/json";
    if req.method() != Method::GET {
        return respond(StatusCode::METHOD_NOT_ALLOWED, JSON, "{\"error\":\"GET only\"}".into());
    }
    let path = req.uri().path();
    if path == config.healthz_endpoint {
        // Falco's body, spacing included.
        return respond(StatusCode::OK, JSON, "{\"status\": \"ok\"}".into());
    }
    if path == config.readiness_endpoint {
        let stats = hub.get();
        let r = &stats.readiness;
        return if r.is_ready() {
            respond(StatusCode::OK, JSON, "{\"status\": \"ready\"}".into())
        } else {
            let body = serde_json::json!({"status": "not ready", "reason": r.reason});
            respond(StatusCode::SERVICE_UNAVAILABLE, JSON, body.to_string())
        };
    }
    match path {
        "/versions" => respond(StatusCode::OK, JSON, config.versions.to_json()),
        "/metrics" if config.prometheus_metrics => {
            let stats = hub.get();
            let resources = if config.metrics.resource_utilization {
                Resources::sample()
            } else {
                Resources::default()
            };
            let text = prometheus(&stats, &resources, &config.metrics, &config.versions);
            respond(StatusCode::OK, PROMETHEUS_CONTENT_TYPE, text)
        }
        _ => respond(StatusCode::NOT_FOUND, JSON, "{\"error\":\"not found\"}".into()),
    }
}
