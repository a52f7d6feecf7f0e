//! `http_output` against a real HTTP(S) receiver started by the test: the body falcosidekick
//! reads, Falco's headers, gzip, TLS with a private CA and mTLS, and delivery that loses
//! nothing while the receiver is down.
#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

mod support;

use std::io::Read as _;
use std::sync::Arc;
use std::time::Duration;

use lanner_channels::{ALERT_ID_HEADER, Backoff, Pipeline, PipelineConfig};
use lanner_outputs::{Alert, OutputOptions, Priority, render};
use support::{Receiver, Request, alert, quiet, temp_dir};

const WAIT: Duration = Duration::from_secs(60);

fn http_config(url: &str) -> (PipelineConfig, Arc<std::sync::Mutex<Vec<String>>>) {
    let (mut config, log) = quiet();
    config.http.enabled = true;
    config.http.url = url.to_owned();
    config.options.json_output = true;
    // Quick retries, so that a test does not wait for the default backoff.
    config.backoff = Backoff { initial: Duration::from_millis(5), max: Duration::from_millis(50) };
    (config, log)
}

fn json(a: &Alert, options: &OutputOptions) -> String {
    let mut line = String::new();
    render::write_json(&mut line, a, options);
    line
}

/// The alert ids of the requests, as (boot, seq).
fn ids(requests: &[Request]) -> Vec<(String, u64)> {
    requests
        .iter()
        .map(|r| {
            let id = r.header(ALERT_ID_HEADER).unwrap();
            let (boot, seq) = id.split_once('-').unwrap();
            (boot.to_owned(), seq.parse().unwrap())
        })
        .collect()
}

#[test]
fn http_output_posts_falcos_json_with_falcos_headers() {
    let receiver = Receiver::start(None);
    let (mut config, log) = http_config(&receiver.url());
    config.http.headers = vec![("X-Tenant".into(), "blue".into())];
    config.http.keep_alive = true;
    let options = config.options;
    let pipeline = Pipeline::start(config).unwrap();
    let sent: Vec<Alert> =
        (0..20).map(|i| alert("r", Priority::Critical, &format!("n={i} \"q\""))).collect();
    for a in &sent {
        assert!(pipeline.sender().send(a.clone()));
    }
    assert!(pipeline.flush(WAIT).is_complete());
    let got = receiver.requests();
    assert_eq!(got.len(), 20);
    for (r, a) in got.iter().zip(&sent) {
        assert_eq!(r.path, "/alerts");
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("user-agent"), Some("falcosecurity/falco"));
        assert_eq!(r.header("x-tenant"), Some("blue"));
        // the body is the JSON line Falco prints, byte for byte, without a line end
        assert_eq!(String::from_utf8(r.body.clone()).unwrap(), json(a, &options));
    }
    let seqs: Vec<u64> = ids(&got).into_iter().map(|(_, s)| s).collect();
    assert_eq!(seqs, (0..20).collect::<Vec<_>>());
    let s = pipeline.snapshot();
    assert_eq!(s.channel("http").unwrap().delivered, 20);
    assert!(pipeline.shutdown(WAIT).is_complete());
    assert!(log.lock().unwrap().is_empty());
}

#[test]
fn http_output_text_and_gzip() {
    let receiver = Receiver::start(None);
    let (mut config, _log) = http_config(&receiver.url());
    config.options.json_output = false;
    config.http.compress_uploads = true;
    config.http.user_agent = "lanner-test".into();
    let options = config.options;
    let pipeline = Pipeline::start(config).unwrap();
    let a = alert("r", Priority::Notice, "plain text");
    pipeline.sender().send(a.clone());
    assert!(pipeline.shutdown(WAIT).is_complete());
    let r = &receiver.requests()[0];
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(r.header("user-agent"), Some("lanner-test"));
    let mut body = String::new();
    flate2::read::GzDecoder::new(&r.body[..]).read_to_string(&mut body).unwrap();
    let mut line = String::new();
    render::write_text(&mut line, &a, &options);
    assert_eq!(body, line);
}

#[test]
fn server_errors_are_retried_and_refusals_skipped() {
    let receiver = Receiver::start(None);
    let (config, log) = http_config(&receiver.url());
    let pipeline = Pipeline::start(config).unwrap();
    // 400: resending cannot help; counted, logged, skipped
    *receiver.status.lock().unwrap() = 400;
    pipeline.sender().send(alert("r", Priority::Error, "refused"));
    assert!(pipeline.flush(WAIT).is_complete());
    let s = pipeline.snapshot();
    assert_eq!(s.channel("http").unwrap().dropped, 1);
    assert!(log.lock().unwrap().iter().any(|l| l.contains("refused alert")));
    // 503: sent again until taken
    *receiver.status.lock().unwrap() = 503;
    pipeline.sender().send(alert("r", Priority::Error, "retried"));
    receiver.wait_for(3);
    *receiver.status.lock().unwrap() = 200;
    assert!(pipeline.shutdown(WAIT).is_complete());
    let got = receiver.requests();
    let last = got.last().unwrap();
    assert!(String::from_utf8_lossy(&last.body).contains("retried"));
    // every attempt of the second alert carried the same id
    let ids = ids(&got[1..]);
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
}

/// A burst larger than the memory backlog, with no spool, while the receiver answers: the
/// channel pushes back instead of dropping.
#[test]
fn a_burst_is_held_back_not_dropped_while_the_receiver_answers() {
    let receiver = Receiver::start(None);
    let (mut config, _log) = http_config(&receiver.url());
    config.http.backlog_capacity = 4;
    config.http.keep_alive = true;
    let pipeline = Pipeline::start(config).unwrap();
    for i in 0..2000 {
        assert!(pipeline.sender().send(alert("r", Priority::Warning, &format!("{i}"))));
    }
    let report = pipeline.shutdown(WAIT);
    assert!(report.is_complete());
    let http = report.snapshot.channel("http").unwrap().clone();
    assert_eq!((http.delivered, http.dropped), (2000, 0));
    assert_eq!(receiver.requests().len(), 2000);
}

/// The issue's scenario: a steady alert load, the receiver goes away for a while and comes
/// back; every alert arrives, once, in order. The memory backlog is small, so most of the
/// alerts of the outage wait in the spool directory.
#[test]
fn every_alert_arrives_once_and_in_order_after_an_outage() {
    for keep_alive in [true, false] {
        let mut receiver = Receiver::start(None);
        let spool = temp_dir(&format!("outage-{keep_alive}"));
        let (mut config, log) = http_config(&receiver.url());
        config.http.keep_alive = keep_alive;
        config.http.backlog_capacity = 16;
        config.http.spool_dir = spool.display().to_string();
        let pipeline = Pipeline::start(config).unwrap();
        let total = 600u64;
        let sender = pipeline.sender();
        let load = std::thread::spawn(move || {
            for i in 0..total {
                assert!(sender.send(alert("r", Priority::Warning, &format!("alert {i}"))));
                // a steady load, not a burst (pacing only; nothing waits on it)
                std::thread::sleep(Duration::from_micros(500));
            }
        });
        receiver.wait_for(50);
        receiver.stop();
        // down until alerts have piled up in the spool
        let mut spooled = 0;
        while spooled < 100 {
            let s = pipeline.snapshot();
            spooled = s.channel("http").unwrap().spooled;
            assert!(!load.is_finished() || spooled > 0, "the load ended before the spool filled");
            std::thread::yield_now();
        }
        receiver.restart();
        load.join().unwrap();
        assert!(pipeline.flush(WAIT).is_complete());
        let got = receiver.requests();
        let ids = ids(&got);
        let seqs: Vec<u64> = ids.iter().map(|(_, s)| *s).collect();
        assert_eq!(seqs, (0..total).collect::<Vec<_>>(), "exactly once, in order");
        assert!(ids.iter().all(|(boot, _)| *boot == ids[0].0));
        for (r, seq) in got.iter().zip(0..) {
            assert!(String::from_utf8_lossy(&r.body).contains(&format!("alert {seq}\"")));
        }
        let s = pipeline.snapshot();
        let http = s.channel("http").unwrap();
        assert_eq!((http.delivered, http.dropped, http.backlog), (total, 0, 0));
        assert!(http.retries > 0);
        assert!(pipeline.shutdown(WAIT).is_complete());
        let lines = log.lock().unwrap().clone();
        assert!(lines.iter().any(|l| l.contains("keeping alerts and retrying")), "{lines:?}");
        assert!(lines.iter().any(|l| l.contains("answers again")), "{lines:?}");
        // the spool is empty and its files gone
        assert_eq!(std::fs::read_dir(&spool).unwrap().count(), 0);
        std::fs::remove_dir_all(&spool).unwrap();
    }
}

#[test]
fn the_spool_survives_a_restart() {
    let spool = temp_dir("restart");
    // a port nobody listens on
    let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (mut config, _log) = http_config(&format!("http://{down}/"));
    config.http.backlog_capacity = 1;
    config.http.spool_dir = spool.display().to_string();
    let pipeline = Pipeline::start(config).unwrap();
    for i in 0..30 {
        pipeline.sender().send(alert("r", Priority::Warning, &format!("spooled {i}")));
    }
    // the receiver never answers: the flush gives up, the channel is named
    let report = pipeline.shutdown(Duration::from_millis(200));
    assert_eq!(report.pending, ["http"]);
    // the next run delivers what the spool holds, in order, with the first run's ids
    let receiver = Receiver::start(None);
    let (mut config, log) = http_config(&receiver.url());
    config.http.spool_dir = spool.display().to_string();
    let pipeline = Pipeline::start(config).unwrap();
    assert!(pipeline.flush(WAIT).is_complete());
    let got = receiver.requests();
    // the one alert in memory at the shutdown is lost; the spool's 29 arrive
    assert_eq!(got.len(), 29);
    let seqs: Vec<u64> = ids(&got).into_iter().map(|(_, s)| s).collect();
    assert_eq!(seqs, (1..30).collect::<Vec<_>>());
    assert!(log.lock().unwrap()[0].contains("29 alerts from the spool of an earlier run"));
    pipeline.shutdown(WAIT);
    std::fs::remove_dir_all(&spool).unwrap();
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, written as PEM files.
struct Pki {
    dir: std::path::PathBuf,
    server: Arc<rustls::ServerConfig>,
    server_mtls: Arc<rustls::ServerConfig>,
}

fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    let dir = temp_dir("pki");
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "lanner test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca, &ca_key)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(vec!["lanner".to_owned()]).unwrap();
    client_params.distinguished_name.push(DnType::CommonName, "lanner client");
    let client = client_params.signed_by(&client_key, &ca, &ca_key).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("client.crt"), client.pem()).unwrap();
    std::fs::write(dir.join("client.key"), client_key.serialize_pem()).unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = || PrivateKeyDer::from(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let chain = vec![server.der().clone()];
    let plain = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain.clone(), key())
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let mtls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key())
        .unwrap();
    Pki { dir, server: Arc::new(plain), server_mtls: Arc::new(mtls) }
}

#[test]
fn https_with_a_private_ca_insecure_and_mtls() {
    let pki = pki();
    let ca = pki.dir.join("ca.pem").display().to_string();
    let no_ca_path = pki.dir.join("none").display().to_string();

    // ca_cert: the private CA verifies the server
    let receiver = Receiver::start(Some(pki.server.clone()));
    let (mut config, _log) = http_config(&receiver.url());
    config.http.ca_cert = ca.clone();
    config.http.ca_path = no_ca_path.clone();
    let pipeline = Pipeline::start(config).unwrap();
    pipeline.sender().send(alert("r", Priority::Alert, "over tls"));
    assert!(pipeline.shutdown(WAIT).is_complete());
    assert_eq!(receiver.requests().len(), 1);

    // without the CA the server is not trusted, unless `insecure`
    let (mut config, log) = http_config(&receiver.url());
    config.http.ca_path = no_ca_path.clone();
    let pipeline = Pipeline::start(config).unwrap();
    pipeline.sender().send(alert("r", Priority::Alert, "untrusted"));
    assert_eq!(pipeline.shutdown(Duration::from_millis(300)).pending, ["http"]);
    assert_eq!(receiver.requests().len(), 1);
    assert!(log.lock().unwrap().iter().any(|l| l.contains("certificate")), "{:?}", log.lock());
    let (mut config, _log) = http_config(&receiver.url());
    config.http.ca_path = no_ca_path.clone();
    config.http.insecure = true;
    let pipeline = Pipeline::start(config).unwrap();
    pipeline.sender().send(alert("r", Priority::Alert, "insecure"));
    assert!(pipeline.shutdown(WAIT).is_complete());
    assert_eq!(receiver.requests().len(), 2);

    // mTLS: the server wants a client certificate from the CA
    let receiver = Receiver::start(Some(pki.server_mtls.clone()));
    let (mut config, _log) = http_config(&receiver.url());
    config.http.ca_bundle = ca.clone();
    config.http.ca_path = no_ca_path.clone();
    let pipeline = Pipeline::start(config).unwrap();
    pipeline.sender().send(alert("r", Priority::Alert, "no client cert"));
    assert_eq!(pipeline.shutdown(Duration::from_millis(300)).pending, ["http"]);
    assert!(receiver.requests().is_empty());
    let (mut config, _log) = http_config(&receiver.url());
    config.http.ca_bundle = ca.clone();
    config.http.ca_path = no_ca_path;
    config.http.mtls = true;
    config.http.client_cert = pki.dir.join("client.crt").display().to_string();
    config.http.client_key = pki.dir.join("client.key").display().to_string();
    let pipeline = Pipeline::start(config).unwrap();
    pipeline.sender().send(alert("r", Priority::Alert, "mutual"));
    assert!(pipeline.shutdown(WAIT).is_complete());
    assert_eq!(receiver.requests().len(), 1);

    // a certificate file that cannot be read is a start-up error naming the key
    let (mut config, _log) = http_config(&receiver.url());
    config.http.mtls = true;
    config.http.client_cert = pki.dir.join("missing.crt").display().to_string();
    let err = Pipeline::start(config).err().unwrap().to_string();
    assert!(err.starts_with("config key `http_output.client_cert`: cannot read"), "{err}");
    std::fs::remove_dir_all(&pki.dir).unwrap();
}
