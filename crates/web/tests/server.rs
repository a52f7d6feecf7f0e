//! The web server against a real HTTP client: every route, readiness both ways, `/metrics`
//! switched off, and HTTPS with a certificate made for the test.
#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::sync::Arc;

use lanner_web::{
    MetricsOptions, PROMETHEUS_CONTENT_TYPE, Readiness, RuleStats, ServerConfig, SourceStats,
    Stats, StatsHub, Versions, WebServer,
};

fn config(prometheus: bool) -> ServerConfig {
    ServerConfig {
        listen_address: "127.0.0.1".into(),
        listen_port: 0,
        healthz_endpoint: "/healthz".into(),
        readiness_endpoint: "/readyz".into(),
        prometheus_metrics: prometheus,
        tls_certificate: None,
        metrics: MetricsOptions::default(),
        versions: Versions {
            lanner_version: "0.1.0".into(),
            engine_version: "0.63.0".into(),
            libs_version: "0.25.4".into(),
            plugin_api_version: "3.12.0".into(),
            driver_api_version: "10.1.0".into(),
            driver_schema_version: "4.5.1".into(),
        },
    }
}

fn stats(ready: bool) -> Stats {
    Stats {
        engine_name: "modern_ebpf".into(),
        sources: vec![SourceStats { name: "syscall".into(), events: 42 }],
        rules: vec![RuleStats {
            name: Arc::from("Shell in container"),
            priority: 5,
            source: Arc::from("syscall"),
            tags: Arc::from(Vec::<Box<str>>::new()),
            matches: 3,
        }],
        readiness: Readiness {
            source_running: ready,
            outputs_ok: true,
            reason: if ready { String::new() } else { "the probe is not attached".into() },
        },
        ..Stats::default()
    }
}

fn get(url: &str) -> (u16, String, String) {
    let r = reqwest::blocking::get(url).unwrap();
    let status = r.status().as_u16();
    let ct =
        r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, ct, r.text().unwrap())
}

#[test]
fn routes_answer_as_falco_does() {
    let hub = StatsHub::new(stats(false));
    let server = WebServer::start(config(true), hub.clone()).unwrap();
    let base = format!("http://{}", server.local_addr());

    assert_eq!(
        get(&format!("{base}/healthz")),
        (200, "application/json".into(), "{\"status\": \"ok\"}".into())
    );
    let (status, _, body) = get(&format!("{base}/readyz"));
    assert_eq!(status, 503);
    assert_eq!(body, "{\"reason\":\"the probe is not attached\",\"status\":\"not ready\"}");
    hub.publish(stats(true));
    assert_eq!(get(&format!("{base}/readyz")).0, 200);

    let (status, _, body) = get(&format!("{base}/versions"));
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["engine_version"], "63");
    assert_eq!(v["engine_version_semver"], "0.63.0");
    assert_eq!(v["libs_version"], "0.25.4");
    assert_eq!(v["falco_version"], "0.1.0");
    assert!(v["plugin_api_version"].is_string() && v["driver_schema_version"].is_string());

    let (status, ct, body) = get(&format!("{base}/metrics"));
    assert_eq!((status, ct.as_str()), (200, PROMETHEUS_CONTENT_TYPE));
    assert!(body.contains(
        "falcosecurity_falco_rules_matches_total{priority=\"5\",rule_name=\"Shell in container\",source=\"syscall\"} 3"
    ), "{body}");
    assert!(body.contains("falcosecurity_lanner_events_total{source=\"syscall\"} 42"));
    assert!(body.contains("\nfalcosecurity_falco_memory_rss_bytes "), "{body}");
    assert!(body.contains("\nfalcosecurity_lanner_ready 1\n"), "{body}");

    assert_eq!(get(&format!("{base}/nothing")).0, 404);
    server.stop();
}

#[test]
fn metrics_off_is_not_found() {
    let server = WebServer::start(config(false), StatsHub::new(stats(true))).unwrap();
    assert_eq!(get(&format!("http://{}/metrics", server.local_addr())).0, 404);
}

#[test]
fn bad_addresses_and_busy_ports_are_errors() {
    let mut c = config(false);
    c.listen_address = "localhost:80".into();
    let err = WebServer::start(c, StatsHub::default()).unwrap_err();
    assert_eq!(err.to_string(), "webserver: bad listen address `localhost:80`");
    let server = WebServer::start(config(false), StatsHub::default()).unwrap();
    let mut c = config(false);
    c.listen_port = server.local_addr().port();
    let err = WebServer::start(c, StatsHub::default()).unwrap_err();
    assert!(err.to_string().starts_with("webserver: cannot listen on 127.0.0.1:"), "{err}");
}

#[test]
fn https_with_the_certificate_file() {
    use rcgen::{CertificateParams, KeyPair};
    let dir = std::env::temp_dir().join(format!("lanner-web-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert =
        CertificateParams::new(vec!["localhost".to_owned()]).unwrap().self_signed(&key).unwrap();
    // Falco's falco.pem layout: the key and the certificate in one file.
    let pem = dir.join("lanner.pem");
    std::fs::write(&pem, format!("{}{}", key.serialize_pem(), cert.pem())).unwrap();
    let mut c = config(true);
    c.tls_certificate = Some(pem.clone());
    let server = WebServer::start(c, StatsHub::new(stats(true))).unwrap();
    assert!(server.is_tls());
    let client = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let url = format!("https://localhost:{}/healthz", server.local_addr().port());
    let body = client.get(&url).send().unwrap().text().unwrap();
    assert_eq!(body, "{\"status\": \"ok\"}");
    // plain HTTP to the TLS port gets nothing
    assert!(reqwest::blocking::get(format!("http://{}/healthz", server.local_addr())).is_err());

    std::fs::write(&pem, "not a certificate").unwrap();
    let mut c = config(true);
    c.tls_certificate = Some(pem);
    let err = WebServer::start(c, StatsHub::default()).unwrap_err();
    assert!(err.to_string().contains("cannot use ssl_certificate"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
