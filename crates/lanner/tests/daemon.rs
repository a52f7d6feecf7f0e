//! lanner as a daemon, through the real binary, live on this machine's kernel probe: the web
//! server (`/healthz`, `/readyz`, `/versions`, `/metrics`), the `metrics` block's snapshots,
//! reloads (SIGHUP and `watch_config_files`: new rules fire, broken rules are refused with
//! their file:line:col and the old ones keep firing, no restart of the event source), and
//! SIGUSR1 reopening the file output.
//!
//! Live capture is the long-running source these need. It needs root, BPF and a kernel with
//! BTF (CI has them); elsewhere the test says loudly that it skipped.
#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;

use common::{can_run_live, lines};

const LANNER: &str = env!("CARGO_BIN_EXE_lanner");

fn rule(name: &str, marker: &Path) -> String {
    format!(
        "- rule: {name}\n  desc: a test rule\n  condition: evt.type in (open, openat, openat2) \
         and fd.name = {}\n  output: {name} saw %fd.name\n  priority: WARNING\n  tags: [test]\n",
        marker.display()
    )
}

struct Daemon {
    child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
    out: Vec<String>,
    log: Vec<String>,
}

impl Daemon {
    /// Waits until a stdout line (alert) contains `text`.
    fn alert(&mut self, text: &str, trigger: &dyn Fn()) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        trigger();
        while Instant::now() < deadline {
            if let Ok(line) = self.stdout.recv_timeout(Duration::from_millis(200)) {
                self.out.push(line.clone());
                if line.contains(text) {
                    return line;
                }
            } else {
                // events leave the ring buffer in batches: do it again
                trigger();
            }
        }
        panic!("no alert with `{text}`; stdout:\n{}\nlog:\n{}", self.out.join("\n"), self.log())
    }

    /// Waits until a log line contains `text`.
    fn logged(&mut self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        if let Some(line) = self.log.iter().find(|l| l.contains(text)) {
            return line.clone();
        }
        while Instant::now() < deadline {
            if let Ok(line) = self.stderr.recv_timeout(Duration::from_millis(200)) {
                self.log.push(line.clone());
                if line.contains(text) {
                    return line;
                }
            }
        }
        panic!("nothing logged with `{text}`; log:\n{}", self.log())
    }

    fn log(&mut self) -> String {
        self.log.extend(self.stderr.try_iter());
        self.log.join("\n")
    }

    fn signal(&self, sig: libc::c_int) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }
}

fn open(path: &Path) {
    let _ = std::fs::File::open(path).unwrap();
}

/// A plain HTTP/1.0 GET (the client of the web crate's own tests is reqwest; here a few lines
/// of std are enough): the status and the body.
fn get(url: &str) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn web_server_metrics_reloads_and_reopening() {
    if let Err(why) = can_run_live() {
        eprintln!("\n*** SKIPPED daemon tests (live capture needed): {why} ***\n");
        return;
    }
    let dir = std::env::temp_dir().join(format!("lanner-daemon-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let marker = |name: &str| -> PathBuf {
        let p = dir.join(format!("marker-{name}"));
        std::fs::write(&p, "x").unwrap();
        p
    };
    let (a, b, c) = (marker("a"), marker("b"), marker("c"));
    let rules = dir.join("rules.yaml");
    std::fs::write(&rules, rule("Rule A", &a)).unwrap();
    let events = dir.join("events.txt");
    let metrics_file = dir.join("metrics.jsonl");
    let port = free_port();
    let config = dir.join("lanner.yaml");
    std::fs::write(
        &config,
        format!(
            "rules_files: [{}]\nwatch_config_files: true\njson_output: true\n\
             syslog_output: {{enabled: false}}\n\
             file_output: {{enabled: true, keep_alive: true, filename: {}}}\n\
             webserver:\n  enabled: true\n  listen_port: {port}\n  prometheus_metrics_enabled: true\n\
             metrics:\n  enabled: true\n  interval: 500ms\n  output_rule: true\n  output_file: {}\n",
            rules.display(),
            events.display(),
            metrics_file.display()
        ),
    )
    .unwrap();
    let mut child = Command::new(LANNER)
        .args(["-U", "-M", "120", "-c"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (stdout, stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let mut d = Daemon {
        child,
        stdout: lines(stdout),
        stderr: lines(stderr),
        out: Vec::new(),
        log: Vec::new(),
    };
    d.logged("Opening 'syscall' source with the eBPF probe");
    let started = d.logged("Starting the web server on http://127.0.0.1:");
    assert!(started.contains(&format!(":{port} ")), "{started}");

    // The rules at start fire.
    let alert = d.alert("Rule A saw", &|| open(&a));
    assert!(alert.contains("\"rule\":\"Rule A\""), "{alert}");

    // The web server.
    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(get(&format!("{base}/healthz")), (200, "{\"status\": \"ok\"}".to_owned()));
    assert_eq!(get(&format!("{base}/readyz")).0, 200);
    let (status, versions) = get(&format!("{base}/versions"));
    assert_eq!(status, 200);
    assert!(versions.contains("\"engine_version_semver\":\"0.63.0\""), "{versions}");

    // SIGHUP with new rules: they fire, the old ones no longer do.
    std::fs::write(&rules, rule("Rule B", &b)).unwrap();
    d.signal(libc::SIGHUP);
    d.logged("Reloaded: 1 rules (1 enabled)");
    d.alert("Rule B saw", &|| open(&b));

    // SIGUSR1 reopens the file output: logrotate moved the file away.
    let rotated = dir.join("events.txt.1");
    std::fs::rename(&events, &rotated).unwrap();
    d.signal(libc::SIGUSR1);
    d.logged("SIGUSR1 received: reopening the file outputs.");
    std::thread::sleep(Duration::from_millis(300));
    d.alert("Rule B saw", &|| open(&b));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&events).unwrap_or_default().contains("Rule B saw") {
        assert!(Instant::now() < deadline, "the file output was not reopened");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(std::fs::read_to_string(&rotated).unwrap().contains("Rule A saw"));

    // Broken rules are refused, with their place; the running rules keep firing.
    std::fs::write(&rules, rule("Rule C", &c).replace("fd.name =", "proc.nmae = x and fd.name ="))
        .unwrap();
    d.signal(libc::SIGHUP);
    let failed = d.logged("Reload failed; the running configuration and rules stay");
    let _ = failed;
    let place = format!("{}:3:", rules.display());
    d.logged(&place);
    d.logged("did you mean `proc.name`?");
    d.alert("Rule B saw", &|| open(&b));

    // A fixed file is picked up by watching, without a signal.
    std::fs::write(&rules, rule("Rule C", &c)).unwrap();
    d.logged("A configuration or rules file changed: reloading.");
    d.alert("Rule C saw", &|| open(&c));

    // Metrics: the snapshot alerts, the file, and Prometheus.
    d.alert("\"rule\":\"Falco internal: metrics snapshot\"", &|| {});
    let snapshot = std::fs::read_to_string(&metrics_file).unwrap();
    let first: serde_json::Value = serde_json::from_str(snapshot.lines().next().unwrap()).unwrap();
    assert_eq!(first["sample"], 1);
    assert_eq!(first["output_fields"]["scap.engine_name"], "modern_ebpf");
    assert!(first["output_fields"]["falco.num_evts"].as_u64().unwrap() > 0, "{first}");
    assert!(first["output_fields"]["falco.memory_rss_mb"].as_f64().unwrap() > 0.0, "{first}");
    std::thread::sleep(Duration::from_millis(300));
    let (status, text) = get(&format!("{base}/metrics"));
    assert_eq!(status, 200);
    for line in [
        "falcosecurity_scap_engine_name_info{engine_name=\"modern_ebpf\"} 1",
        "falcosecurity_falco_rules_matches_total{priority=\"4\",rule_name=\"Rule C\",source=\"syscall\",tag_test=\"true\"} ",
        "falcosecurity_falco_rules_matches_total{priority=\"4\",rule_name=\"Rule A\",",
        "falcosecurity_lanner_config_reloads_total{result=\"ok\"} ",
        "falcosecurity_scap_n_evts_total ",
        "falcosecurity_scap_n_threads_total ",
        "falcosecurity_falco_memory_rss_bytes ",
        "falcosecurity_lanner_output_delivered_total{output=\"file\"} ",
    ] {
        assert!(text.lines().any(|l| l.starts_with(line)), "{line}\n{text}");
    }
    let failed_reloads = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("falcosecurity_lanner_config_reloads_total{result=\"failed\"} ")
        })
        .unwrap();
    assert!(failed_reloads.parse::<u64>().unwrap() >= 1, "{text}");

    // The end: the summary counts the rules of every generation by name.
    d.signal(libc::SIGTERM);
    let status = d.child.wait().unwrap();
    assert!(status.success(), "{status:?}\n{}", d.log());
    // the output to its end: the reader thread may still be behind
    while let Ok(line) = d.stdout.recv_timeout(Duration::from_secs(10)) {
        d.out.push(line);
    }
    let summary = d.out.join("\n");
    for r in ["Rule A: ", "Rule B: ", "Rule C: "] {
        assert!(summary.contains(r), "{r}\n{summary}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
