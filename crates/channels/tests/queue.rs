//! The alert queue's overflow policies, Falco's rate limit and the flood guard, observed at a
//! real receiver (a syslog socket the test reads, or a file).
#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

mod support;

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use lanner_channels::Pipeline;
use lanner_config::Overflow;
use lanner_outputs::Priority;
use support::{alert, quiet, temp_dir};

const WAIT: Duration = Duration::from_secs(60);

/// A syslog socket nobody reads yet: once its few datagrams are queued, the channel blocks,
/// then the dispatcher, then the alert queue fills.
fn stalled_syslog(
    name: &str,
) -> (UnixDatagram, lanner_channels::PipelineConfig, std::path::PathBuf) {
    let dir = temp_dir(name);
    let path = dir.join("log");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket.set_read_timeout(Some(WAIT)).unwrap();
    let (mut config, _log) = quiet();
    config.syslog.enabled = true;
    config.syslog.address = path.display().to_string();
    (socket, config, dir)
}

fn drain(socket: UnixDatagram, n: u64) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 4096];
        for i in 0..n {
            if socket.recv(&mut buf).is_err() {
                return i;
            }
        }
        n
    })
}

#[test]
fn a_full_queue_drops_new_alerts_and_counts_them() {
    let (socket, mut config, dir) = stalled_syslog("drop");
    config.queue.capacity = 10;
    let (log, lines) = support::log();
    config.log = log;
    let pipeline = Pipeline::start(config).unwrap();
    let sender = pipeline.sender();
    let sent = 5000u64;
    let accepted = (0..sent).filter(|_| sender.send(alert("r", Priority::Warning, "x"))).count();
    let s = pipeline.snapshot();
    assert!(s.dropped > 0);
    assert_eq!(s.enqueued + s.dropped, sent);
    assert_eq!(s.enqueued, accepted as u64);
    assert_eq!(s.queue_capacity, 10);
    // the drop was said once
    let said = lines.lock().unwrap().clone();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].contains("outputs_queue.capacity: 10"), "{said:?}");
    // every accepted alert is delivered once the receiver reads
    let reader = drain(socket, s.enqueued);
    assert!(pipeline.flush(WAIT).is_complete());
    assert_eq!(reader.join().unwrap(), s.enqueued);
    let s = pipeline.snapshot();
    assert_eq!(s.channel("syslog").unwrap().delivered, s.enqueued);
    assert_eq!(s.queue_depth, 0);
    pipeline.shutdown(WAIT);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_full_queue_can_block_instead() {
    let (socket, mut config, dir) = stalled_syslog("block");
    config.queue.capacity = 10;
    config.queue.overflow = Overflow::Block;
    let pipeline = Pipeline::start(config).unwrap();
    let sender = pipeline.sender();
    let sent = 3000u64;
    let producer = std::thread::spawn(move || {
        (0..sent).filter(|_| sender.send(alert("r", Priority::Warning, "x"))).count() as u64
    });
    let reader = drain(socket, sent);
    assert_eq!(producer.join().unwrap(), sent);
    assert!(pipeline.flush(WAIT).is_complete());
    assert_eq!(reader.join().unwrap(), sent);
    let s = pipeline.snapshot();
    assert_eq!((s.enqueued, s.dropped), (sent, 0));
    pipeline.shutdown(WAIT);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_token_bucket_lets_max_burst_through() {
    let dir = temp_dir("rate");
    let (mut config, _log) = quiet();
    config.file.enabled = true;
    config.file.filename = dir.join("events").display().to_string();
    // a token every 11 days: only the burst passes during the test
    config.limits.rate = 1e-6;
    config.limits.max_burst = 10.0;
    let pipeline = Pipeline::start(config).unwrap();
    for i in 0..100 {
        pipeline.sender().send(alert("r", Priority::Warning, &format!("{i}")));
    }
    assert!(pipeline.flush(WAIT).is_complete());
    let s = pipeline.snapshot();
    assert_eq!((s.enqueued, s.throttled), (100, 90));
    let text = std::fs::read_to_string(dir.join("events")).unwrap();
    assert_eq!(text.lines().count(), 10);
    assert!(text.lines().last().unwrap().ends_with(" 9"));
    pipeline.shutdown(WAIT);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_flood_guard_collapses_repeats_into_a_summary() {
    let dir = temp_dir("flood");
    let (mut config, _log) = quiet();
    config.file.enabled = true;
    config.file.filename = dir.join("events").display().to_string();
    config.options.json_output = true;
    config.limits.flood_max_alerts = 3;
    config.limits.flood_window_s = 3600;
    let pipeline = Pipeline::start(config).unwrap();
    for i in 0..20 {
        pipeline.sender().send(alert("noisy", Priority::Error, &format!("{i}")));
        if i < 2 {
            pipeline.sender().send(alert("quiet", Priority::Notice, "q"));
        }
    }
    // a flush sends the summary of the window so far
    assert!(pipeline.flush(WAIT).is_complete());
    let text = std::fs::read_to_string(dir.join("events")).unwrap();
    let lines: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let rules: Vec<&str> = lines.iter().map(|l| l["rule"].as_str().unwrap()).collect();
    assert_eq!(
        rules,
        ["noisy", "quiet", "noisy", "quiet", "noisy", lanner_channels::limit::FLOOD_RULE]
    );
    let summary = &lines[5];
    let message = summary["output"].as_str().unwrap();
    assert!(
        message.contains("Error 17 more alerts of rule noisy suppressed in the last "),
        "{message}"
    );
    assert_eq!(summary["source"], "internal");
    assert_eq!(summary["output_fields"]["suppressed"], 17);
    assert_eq!(summary["output_fields"]["rule"], "noisy");
    let s = pipeline.snapshot();
    assert_eq!((s.suppressed, s.summaries), (17, 1));
    pipeline.shutdown(WAIT);
    std::fs::remove_dir_all(&dir).unwrap();
}
