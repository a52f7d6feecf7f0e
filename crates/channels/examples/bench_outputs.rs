//! Throughput of the delivery pipeline and the memory a queued alert takes, for
//! `scripts/bench-outputs` (which records the machine and the load).
//!
//! - **file**: N alerts through the JSON file output (`keep_alive: true`), with
//!   `buffered_outputs` false (a write per alert, Falco's default) and true.
//! - **http**: N alerts through the HTTP output (`keep_alive: true`, JSON) to a receiver on
//!   loopback in this process (a thread per connection, `200 OK` to every POST).
//!
//! Each rate is N over the time from the first enqueue to the end of the flush (everything
//! written or answered). Memory: N alerts are queued (unbounded) while the only channel is
//! stalled (a syslog socket nobody reads); the RSS growth over N is the cost of one queued
//! alert, the alert's own allocations included.
//!
//!   cargo run --release -p lanner-channels --example bench_outputs [N]

#![expect(clippy::unwrap_used, reason = "a benchmark fails loudly on any error")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lanner_channels::{Pipeline, PipelineConfig};
use lanner_outputs::{Alert, AlertRule, FieldValue, Priority};

/// An alert shaped like one of Falco's default rules' ("Read sensitive file untrusted").
fn alert(rule: &AlertRule, i: u64) -> Alert {
    let host: Arc<str> = Arc::from("node-17.cluster.local");
    let message = format!(
        "Sensitive file opened for reading by non-trusted program (file=/etc/shadow \
         gparent=bash ggparent=sshd gggparent=systemd evt_type=openat user=root user_uid=0 \
         user_loginuid=1000 process=cat proc_exepath=/usr/bin/cat parent=bash \
         command=cat /etc/shadow terminal=34816 container_id=host container_name=host) #{i}"
    );
    let mut a = Alert::internal(rule, 1_700_000_000_000_000_000 + i, &host, message);
    a.output_fields = vec![
        ("container.id".into(), FieldValue::String("host".into())),
        ("evt.type".into(), FieldValue::String("openat".into())),
        ("fd.name".into(), FieldValue::String("/etc/shadow".into())),
        ("proc.cmdline".into(), FieldValue::String("cat /etc/shadow".into())),
        ("proc.exepath".into(), FieldValue::String("/usr/bin/cat".into())),
        ("proc.name".into(), FieldValue::String("cat".into())),
        ("proc.pname".into(), FieldValue::String("bash".into())),
        ("user.loginuid".into(), FieldValue::Int(1000)),
        ("user.name".into(), FieldValue::String("root".into())),
        ("user.uid".into(), FieldValue::Uint(0)),
    ];
    a
}

fn rule() -> AlertRule {
    AlertRule::new(
        "Read sensitive file untrusted",
        Priority::Warning,
        "syscall",
        ["filesystem", "host", "container", "mitre_credential_access", "T1555"],
    )
}

fn config() -> PipelineConfig {
    let mut c = PipelineConfig::quiet(Arc::new(|line: &str| eprintln!("{line}")));
    c.options.json_output = true;
    c
}

/// Sends `n` alerts through a pipeline; alerts a second, from the first enqueue to the end
/// of the flush.
fn run(config: PipelineConfig, n: u64, channel: &str) -> f64 {
    let rule = rule();
    let alerts: Vec<Alert> = (0..n).map(|i| alert(&rule, i)).collect();
    let pipeline = Pipeline::start(config).unwrap();
    let sender = pipeline.sender();
    let start = Instant::now();
    for a in alerts {
        assert!(sender.send(a));
    }
    let report = pipeline.shutdown(Duration::from_secs(600));
    let secs = start.elapsed().as_secs_f64();
    assert!(report.is_complete());
    assert_eq!(report.snapshot.channel(channel).unwrap().delivered, n);
    n as f64 / secs
}

fn receiver() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let conn = conn.unwrap();
            std::thread::spawn(move || {
                let mut conn = BufReader::new(conn);
                let mut line = String::new();
                let mut body = Vec::new();
                loop {
                    line.clear();
                    if conn.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut len = 0;
                    loop {
                        line.clear();
                        conn.read_line(&mut line).unwrap();
                        if line.trim().is_empty() {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap();
                        }
                    }
                    body.resize(len, 0);
                    conn.read_exact(&mut body).unwrap();
                    let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
                    if conn.get_mut().write_all(answer).is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4
}

fn main() {
    let n: u64 = std::env::args().nth(1).map_or(200_000, |a| a.parse().unwrap());
    let dir = std::env::temp_dir().join(format!("lanner-bench-outputs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    // Memory first, in a fresh heap (freed memory is kept by the allocator and would hide
    // the growth): a stalled channel, an unbounded queue.
    let socket_path = dir.join("log");
    let _socket = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    let mut c = config();
    c.syslog.enabled = true;
    c.syslog.address = socket_path.display().to_string();
    let stalled = Pipeline::start(c).unwrap();
    let pipeline = &stalled;
    let sender = pipeline.sender();
    let queued_rule = rule();
    // Fill the channel's own queue first, so that what follows stays in the alert queue.
    for i in 0..5000 {
        sender.send(alert(&queued_rule, i));
    }
    // The dispatcher stops taking alerts once the channel's queue is full.
    let mut depth = u64::MAX;
    while pipeline.snapshot().queue_depth != depth {
        depth = pipeline.snapshot().queue_depth;
        std::thread::sleep(Duration::from_millis(200));
    }
    let before = rss_kib();
    let depth_before = pipeline.snapshot().queue_depth;
    for i in 0..n {
        sender.send(alert(&queued_rule, i));
    }
    let after = rss_kib();
    let queued = pipeline.snapshot().queue_depth - depth_before;
    println!(
        "queue memory: {queued} alerts queued, RSS +{} KiB: {:.0} bytes per queued alert \
         (size_of::<Alert>() = {} bytes)",
        after - before,
        (after - before) as f64 * 1024.0 / queued as f64,
        size_of::<Alert>()
    );
    let sample = {
        let mut line = String::new();
        lanner_outputs::render::write_json(&mut line, &alert(&rule(), 0), &config().options);
        line.len()
    };
    println!("alerts: {n}; one JSON alert line: {sample} bytes");
    for buffered in [false, true] {
        let mut c = config();
        c.file.enabled = true;
        c.file.keep_alive = true;
        c.file.filename = dir.join("events.json").display().to_string();
        c.buffered = buffered;
        let rate = run(c, n, "file");
        println!("file (JSON, keep_alive, buffered_outputs={buffered}): {rate:.0} alerts/s");
        std::fs::remove_file(dir.join("events.json")).unwrap();
    }
    let http_n = n / 4;
    let mut c = config();
    c.http.enabled = true;
    c.http.keep_alive = true;
    c.http.url = receiver();
    let rate = run(c, http_n, "http");
    println!("http (JSON, keep_alive, loopback receiver, {http_n} alerts): {rate:.0} alerts/s");

    std::fs::remove_dir_all(&dir).unwrap();
    // The stalled pipeline is left to the process's exit.
    drop(stalled);
    std::process::exit(0);
}
