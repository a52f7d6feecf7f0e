//! The k8saudit plugin through its C ABI: identity and field table against upstream's, file
//! and directory input to EOF, malformed input, every field on the fixture events, and the
//! webhook over real sockets (HTTP and HTTPS).
#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use lanner_plugin_testkit::{Batch, Host, event_payload, event_plugin_id, event_ts, take_logs};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const K8S: &str = "../../../shared/fixtures/falco_legacy_regression_tests/trace_files/k8s_audit";

/// Log lines are process-global: tests that look at them run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn host(config: &str) -> Host {
    Host::new(lanner_plugin_k8saudit::PLUGIN_API, config).unwrap()
}

fn read_file(h: &mut Host, path: &str) -> Vec<Vec<u8>> {
    let mut inst = h.open(path).unwrap();
    let events = h.read_all(&mut inst, 0).unwrap();
    // EOF is sticky.
    assert!(matches!(h.next_batch(&mut inst).unwrap(), Batch::Eof));
    h.close(inst);
    events
}

fn fixture(name: &str) -> Vec<u8> {
    let mut h = host("{}");
    read_file(&mut h, &format!("{K8S}/{name}")).remove(0)
}

#[test]
fn identity_and_fields_match_upstream() {
    let h = host("{}");
    let [name, version, desc, _, _] = h.info();
    assert_eq!((name.as_str(), version.as_str()), ("k8saudit", "0.18.0"));
    assert_eq!(desc, "Read Kubernetes Audit Events and monitor Kubernetes Clusters");
    assert_eq!(h.id(), 1);
    assert_eq!(h.event_source(), "k8s_audit");
    assert_eq!(h.extract_event_sources().as_deref(), Some(r#"["k8s_audit"]"#));
    let schema = h.init_schema().unwrap();
    for key in ["sslCertificate", "maxEventSize", "webhookMaxBatchSize", "useAsync"] {
        assert!(schema.contains(key), "{schema}");
    }
    let want: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("../../../shared/fixtures/plugin_fields.json").unwrap(),
    )
    .unwrap();
    let want = want["k8saudit (source k8s_audit, plugin id 1)"].as_array().unwrap();
    let got = h.fields();
    for (i, w) in want.iter().enumerate() {
        let g = &got[i];
        assert_eq!(g.name, w["name"].as_str().unwrap());
        assert_eq!(g.field_type, w["type"].as_str().unwrap(), "{}", g.name);
        assert_eq!(g.desc, w["desc"].as_str().unwrap(), "{}", g.name);
        assert_eq!(g.is_list, w.get("is_list").is_some(), "{}", g.name);
        let a = g.arg.unwrap_or_default();
        match w.get("arg").and_then(|a| a.as_str()) {
            None => assert_eq!(g.arg, None, "{}", g.name),
            Some("IsRequired: true, IsKey: true") => {
                assert!(a.is_required && a.is_key && !a.is_index)
            }
            Some("IsRequired: false, IsIndex: true") => {
                assert!(!a.is_required && a.is_index && !a.is_key)
            }
            Some(o) => panic!("{o}"),
        }
    }
    // The families the upstream rules use for init and ephemeral containers.
    for f in ["ka.req.pod.initContainers.privileged", "ka.req.pod.ephemeralContainers.image"] {
        assert!(got.iter().any(|g| g.name == f && g.is_list), "{f}");
    }
    assert_eq!(got.len(), want.len() + 2 * 15);
}

#[test]
fn every_fixture_file_reads_to_eof() {
    let _g = SERIAL.lock().unwrap();
    let mut h = host("{}");
    let mut files: Vec<_> = std::fs::read_dir(K8S).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), 47);
    let mut total = 0;
    for f in &files {
        take_logs();
        let events = read_file(&mut h, f.to_str().unwrap());
        let name = f.file_name().unwrap().to_str().unwrap();
        if name == "fal_01_003.json" {
            assert!(events.is_empty());
            let logs = take_logs();
            assert!(
                logs.iter().any(|l| l.contains("data not recognized as a k8s audit event")),
                "{logs:?}"
            );
            continue;
        }
        assert!(!events.is_empty(), "{name}");
        for e in &events {
            assert_eq!(event_plugin_id(e), 1);
            assert!(event_ts(e) > 1_500_000_000_000_000_000, "{name}");
            let v: serde_json::Value = serde_json::from_slice(event_payload(e)).unwrap();
            assert!(v["auditID"].is_string());
            assert_eq!(h.event_to_string(e).unwrap().as_bytes(), event_payload(e));
        }
        total += events.len();
    }
    assert!(total >= 50, "{total}");
    // A directory: all files in modification-time order.
    let all = {
        let mut inst = h.open(K8S).unwrap();
        h.read_all(&mut inst, 0).unwrap()
    };
    assert_eq!(all.len(), total);
}

#[test]
fn multi_event_files_and_timestamps() {
    let mut h = host("{}");
    let events = read_file(&mut h, &format!("{K8S}/create_configmap_sensitive_values.json"));
    assert_eq!(events.len(), 6);
    let e = fixture("create_nginx_pod_privileged.json");
    let v: serde_json::Value = serde_json::from_slice(event_payload(&e)).unwrap();
    let stage = v["stageTimestamp"].as_str().unwrap();
    assert!(stage.starts_with("2018-10-25T"), "{stage}");
    assert_eq!(event_ts(&e) / 1_000_000_000 / 86_400, 17_829); // 2018-10-25
}

#[test]
fn event_lists_arrays_and_pretty_json_in_files() {
    let _g = SERIAL.lock().unwrap();
    let dir = std::env::temp_dir().join(format!("lanner-k8saudit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let one = std::fs::read_to_string(format!("{K8S}/create_nginx_pod_privileged.json")).unwrap();
    let one = one.trim();
    let pretty =
        serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(one).unwrap())
            .unwrap();
    let list = format!(r#"{{"kind":"EventList","items":[{one},{one}]}}"#);
    let path = dir.join("mixed.json");
    std::fs::write(
        &path,
        format!("{list}\n\n[{one}]\n{pretty}\nnot json\n{{\"kind\":\"Event\"}}\n{one}"),
    )
    .unwrap();
    take_logs();
    let mut h = host("{}");
    let events = read_file(&mut h, path.to_str().unwrap());
    assert_eq!(events.len(), 5);
    let logs = take_logs();
    assert!(logs.iter().any(|l| l.contains("can't read stageTimestamp")), "{logs:?}");
    assert!(logs.iter().any(|l| l.contains("cannot parse JSON")), "{logs:?}");
    // maxEventSize drops large events with upstream's message.
    let mut small = host(r#"{"maxEventSize": 100}"#);
    assert!(read_file(&mut small, path.to_str().unwrap()).is_empty());
    assert!(take_logs().iter().any(|l| l.contains("event larger than maxEventSize: size=")));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn open_errors_are_clear() {
    let mut h = host("{}");
    let e = h.open("/no/such/file.json").unwrap_err();
    assert!(e.contains("stat /no/such/file.json"), "{e}");
    let e = h.open("ftp://x/y").unwrap_err();
    assert!(e.contains("scheme \"ftp\" is not supported"), "{e}");
    let e = h.open("https://127.0.0.1:0/k8s-audit").unwrap_err();
    assert!(e.contains("/etc/falco/falco.pem"), "{e}");
    assert!(Host::new(lanner_plugin_k8saudit::PLUGIN_API, "not json").is_err());
}

fn t(h: &mut Host, e: &[u8], f: &str) -> String {
    h.extract_text(e, f).unwrap()
}

#[test]
fn request_and_target_fields() {
    let mut h = host("{}");
    let e = fixture("create_nginx_pod_privileged.json");
    assert_eq!(t(&mut h, &e, "ka.auditid"), "a362d22b-db3c-4590-9505-23782f12925f");
    assert_eq!(t(&mut h, &e, "ka.stage"), "ResponseComplete");
    assert_eq!(t(&mut h, &e, "ka.verb"), "create");
    assert_eq!(t(&mut h, &e, "ka.uri"), "/api/v1/namespaces/default/pods");
    assert_eq!(
        t(&mut h, &e, "ka.user.name"),
        "system:serviceaccount:kube-system:replicaset-controller"
    );
    assert_eq!(
        t(&mut h, &e, "ka.user.groups"),
        "(system:serviceaccounts,system:serviceaccounts:kube-system,system:authenticated)"
    );
    assert_eq!(t(&mut h, &e, "ka.target.resource"), "pods");
    assert_eq!(t(&mut h, &e, "ka.target.namespace"), "default");
    assert_eq!(t(&mut h, &e, "ka.target.subresource"), "<NA>");
    assert_eq!(t(&mut h, &e, "ka.sourceips"), "(::1)");
    assert_eq!(t(&mut h, &e, "ka.sourceips[0]"), "(::1)");
    assert_eq!(t(&mut h, &e, "ka.sourceips[1]"), "()");
    assert_eq!(t(&mut h, &e, "ka.auth.decision"), "allow");
    assert_eq!(t(&mut h, &e, "ka.response.code"), "201");
    assert_eq!(t(&mut h, &e, "ka.impuser.name"), "<NA>");
    assert_eq!(t(&mut h, &e, "ka.cluster.name"), "<NA>");
    assert_eq!(t(&mut h, &e, "ka.req.binding.subject.has_name[x]"), "true");
    assert!(t(&mut h, &e, "ka.resp.name").starts_with("nginx-deployment"));
    assert_eq!(t(&mut h, &e, "ka.useragent"), "<NA>"); // this fixture has no userAgent
}

#[test]
fn pod_fields_with_indexes() {
    let mut h = host("{}");
    let e = fixture("create_nginx_pod_privileged.json");
    assert_eq!(t(&mut h, &e, "ka.req.pod.containers.image"), "(nginx)");
    assert_eq!(t(&mut h, &e, "ka.req.pod.containers.image[0]"), "(nginx)");
    assert_eq!(t(&mut h, &e, "ka.req.pod.containers.image[1]"), "()");
    assert_eq!(t(&mut h, &e, "ka.req.pod.containers.image.repository"), "(nginx)");
    assert_eq!(t(&mut h, &e, "ka.req.container.image"), "nginx");
    assert_eq!(t(&mut h, &e, "ka.req.container.image.repository"), "nginx");
    assert_eq!(t(&mut h, &e, "ka.req.pod.containers.privileged"), "(true)");
    assert_eq!(t(&mut h, &e, "ka.req.container.privileged"), "true");
    assert_eq!(t(&mut h, &e, "ka.req.pod.initContainers.privileged"), "()");
    assert_eq!(t(&mut h, &e, "ka.req.pod.containers.name"), "(nginx)");

    let e = fixture("create_nginx_pod_privileged_2nd_container.json");
    assert_eq!(t(&mut h, &e, "ka.req.pod.containers.privileged"), "(false,true)");
    assert_eq!(t(&mut h, &e, "ka.req.pod.containers.privileged[1]"), "(true)");
    assert_eq!(t(&mut h, &e, "ka.req.container.privileged"), "true");

    let e = fixture("create_nginx_pod_no_secctx_1st_container_privileged_2nd_container.json");
    assert_eq!(t(&mut h, &e, "ka.req.pod.containers.privileged"), "(true)");

    let e = fixture("create_nginx_pod_sensitive_mount.json");
    assert_eq!(t(&mut h, &e, "ka.req.pod.volumes.hostpath"), "(/etc)");
    assert_eq!(t(&mut h, &e, "ka.req.volume.hostpath[/etc]"), "true");
    assert_eq!(t(&mut h, &e, "ka.req.volume.hostpath[/e*]"), "true");
    assert_eq!(t(&mut h, &e, "ka.req.volume.hostpath[/var]"), "false");
    assert_eq!(t(&mut h, &e, "ka.req.pod.volumes.volume_type"), "(hostPath)");

    let e = fixture("create_nginx_pod_hostnetwork.json");
    assert_eq!(t(&mut h, &e, "ka.req.pod.host_network"), "true");
    assert_eq!(t(&mut h, &e, "ka.req.container.host_network"), "true");
    let e = fixture("create_nginx_service_nodeport.json");
    assert_eq!(t(&mut h, &e, "ka.req.service.type"), "NodePort");
    assert!(t(&mut h, &e, "ka.req.service.ports").contains("\"nodePort\""));
}

#[test]
fn rbac_configmap_and_exec_fields() {
    let mut h = host("{}");
    let e = fixture("create_cluster_role_wildcard_verbs.json");
    assert!(t(&mut h, &e, "ka.req.role.rules.verbs").contains('*'));
    assert!(t(&mut h, &e, "ka.req.role.rules").starts_with("({"));
    let e = fixture("attach_cluster_admin_role.json");
    assert_eq!(t(&mut h, &e, "ka.req.binding.role"), "cluster-admin");
    let subjects = t(&mut h, &e, "ka.req.binding.subjects");
    assert!(subjects.starts_with("({") && subjects.contains("\"kind\""), "{subjects}");
    let names = [
        t(&mut h, &e, "ka.req.binding.subjects.user_names"),
        t(&mut h, &e, "ka.req.binding.subjects.group_names"),
        t(&mut h, &e, "ka.req.binding.subjects.serviceaccount_names"),
    ];
    assert!(names.iter().any(|n| n != "()"), "{names:?}");
    let e = fixture("create_configmap_sensitive_values.json");
    assert_eq!(t(&mut h, &e, "ka.req.configmap.name"), t(&mut h, &e, "ka.target.name"));
    assert!(t(&mut h, &e, "ka.req.configmap.obj").starts_with('{'));
    let e = fixture("exec_pod.json");
    assert_eq!(t(&mut h, &e, "ka.target.subresource"), "exec");
    assert_ne!(t(&mut h, &e, "ka.uri.param[command]"), "<NA>");
    assert_eq!(t(&mut h, &e, "ka.target.pod.name"), t(&mut h, &e, "ka.target.name"));
}

#[test]
fn every_field_on_every_fixture_and_odd_events_never_fails_badly() {
    let mut h = host("{}");
    let names: Vec<(String, bool, bool)> = h
        .fields()
        .iter()
        .map(|f| {
            let a = f.arg.unwrap_or_default();
            (f.name.clone(), a.is_index, a.is_key)
        })
        .collect();
    let mut events = Vec::new();
    for f in std::fs::read_dir(K8S).unwrap() {
        events.extend(read_file(&mut h, f.unwrap().path().to_str().unwrap()));
    }
    let odd = [
        r#"{"auditID":1,"user":"x","requestObject":{"spec":{"containers":"nope","volumes":[1,{"hostPath":{}}]},"subjects":{"kind":1},"rules":[null,{"verbs":"x"}]}}"#,
        r#"{"auditID":"a","requestURI":"/x?command=%zz","annotations":[],"sourceIPs":"1.2.3.4"}"#,
        r#"{"auditID":"a","requestObject":{"spec":{"containers":[{"ports":7},{"image":3,"securityContext":[]}]}}}"#,
        r#"[{"auditID":"a"}]"#,
        r#"{"noAuditID":true}"#,
        "not json",
        "",
    ];
    for o in odd {
        events.push(lanner_plugin_testkit::plugin_event(1, 1, o.as_bytes()));
    }
    for e in &events {
        for (n, index, key) in &names {
            let mut reqs = vec![n.clone()];
            if *index {
                reqs.push(format!("{n}[0]"));
                reqs.push(format!("{n}[99]"));
            }
            if *key {
                reqs = vec![format!("{n}[command]"), format!("{n}[/etc*]"), format!("{n}[]")];
            }
            for r in reqs {
                // Errors are allowed (upstream has them too); panics and garbage are not.
                if let Ok(Some(v)) = h.extract(e, &r) {
                    assert!(!v.is_empty());
                }
            }
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn post(stream: &mut dyn ReadWrite, method: &str, path: &str, ctype: &str, body: &[u8]) -> String {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    stream.flush().unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn wait_events(h: &mut Host, inst: &mut lanner_plugin_testkit::Instance, n: usize) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    let start = Instant::now();
    while got.len() < n && start.elapsed() < Duration::from_secs(10) {
        match h.next_batch(inst).unwrap() {
            Batch::Events(e) => got.extend(e),
            Batch::Timeout => {}
            Batch::Eof => panic!("a webhook never ends"),
        }
    }
    got
}

#[test]
fn webhook_over_http() {
    let _g = SERIAL.lock().unwrap();
    let port = free_port();
    let mut h = host(r#"{"webhookMaxBatchSize": 100000}"#);
    let mut inst = h.open(&format!("http://127.0.0.1:{port}/k8s-audit")).unwrap();
    assert!(matches!(h.next_batch(&mut inst).unwrap(), Batch::Timeout));
    let one = std::fs::read_to_string(format!("{K8S}/create_nginx_pod_privileged.json")).unwrap();
    let list = format!(r#"{{"kind":"EventList","items":[{one},{one},{one}]}}"#);
    let conn = || TcpStream::connect(("127.0.0.1", port)).unwrap();
    let r = post(&mut conn(), "POST", "/k8s-audit", "application/json", list.as_bytes());
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    let events = wait_events(&mut h, &mut inst, 3);
    assert_eq!(events.len(), 3);
    assert_eq!(h.extract_text(&events[2], "ka.verb").unwrap(), "create");

    let r = post(&mut conn(), "GET", "/k8s-audit", "application/json", b"");
    assert!(r.starts_with("HTTP/1.1 405") && r.ends_with("GET method not allowed\n"), "{r}");
    let r = post(&mut conn(), "POST", "/k8s-audit", "text/plain", b"{}");
    assert!(r.starts_with("HTTP/1.1 400") && r.ends_with("wrong Content Type\n"), "{r}");
    let r = post(&mut conn(), "POST", "/other", "application/json", b"{}");
    assert!(r.starts_with("HTTP/1.1 404"), "{r}");
    let big = vec![b' '; 200_000];
    let r = post(&mut conn(), "POST", "/k8s-audit", "application/json", &big);
    assert!(
        r.starts_with("HTTP/1.1 400") && r.contains("bad request: http: request body too large"),
        "{r}"
    );
    take_logs();
    let r = post(
        &mut conn(),
        "POST",
        "/k8s-audit",
        "application/json; charset=utf-8",
        br#"{"kind": 0}"#,
    );
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    let start = Instant::now();
    while !take_logs().iter().any(|l| l.contains("data not recognized as a k8s audit event")) {
        assert!(start.elapsed() < Duration::from_secs(5), "no log line");
        std::thread::sleep(Duration::from_millis(10));
    }
    // The port is released on close.
    h.close(inst);
    assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
}

#[test]
fn webhook_over_https() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let pem = format!("{}{}", cert.cert.pem(), cert.key_pair.serialize_pem());
    let path = std::env::temp_dir().join(format!("lanner-k8saudit-{}.pem", std::process::id()));
    std::fs::write(&path, pem).unwrap();
    let config = format!(r#"{{"sslCertificate": {:?}}}"#, path.to_str().unwrap());
    let mut h = host(&config);
    let port = free_port();
    let mut inst = h.open(&format!("https://localhost:{port}/k8s-audit")).unwrap();

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let conn =
        rustls::ClientConnection::new(std::sync::Arc::new(client), "localhost".try_into().unwrap())
            .unwrap();
    let mut tls = rustls::StreamOwned::new(conn, TcpStream::connect(("127.0.0.1", port)).unwrap());
    let one = std::fs::read_to_string(format!("{K8S}/exec_pod.json")).unwrap();
    let r = post(&mut tls, "POST", "/k8s-audit", "application/json", one.as_bytes());
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    let events = wait_events(&mut h, &mut inst, 1);
    assert_eq!(h.extract_text(&events[0], "ka.target.subresource").unwrap(), "exec");
    // Plain HTTP on the HTTPS port gets nothing.
    let r = post(
        &mut TcpStream::connect(("127.0.0.1", port)).unwrap(),
        "POST",
        "/k8s-audit",
        "application/json",
        b"{}",
    );
    assert!(!r.starts_with("HTTP/1.1 200"), "{r}");
    h.close(inst);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn every_case_of_the_detection_table_has_a_readable_input() {
    let table: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("testdata/k8s_audit_cases.json").unwrap())
            .unwrap();
    let cases = table["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 132);
    let mut h = host("{}");
    for c in cases {
        for input in c["input"].as_array().unwrap() {
            let path = format!("../../../shared/fixtures/{}", input.as_str().unwrap());
            let events = read_file(&mut h, &path);
            assert_eq!(events.is_empty(), path.ends_with("fal_01_003.json"), "{path}");
        }
    }
}
