//! `lanner -c falco.yaml -r RULES -e CAPTURE` delivers its alerts to every channel falco.yaml
//! enables: the same lines on stdout, in a file and at an HTTP receiver started here.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

/// Answers every POST with 200 and keeps the bodies, in arrival order.
fn receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let bodies: Arc<Mutex<Vec<String>>> = Arc::default();
    let keep = bodies.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let mut conn = BufReader::new(conn.unwrap());
            loop {
                let mut line = String::new();
                if conn.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let mut len = 0;
                loop {
                    let mut h = String::new();
                    conn.read_line(&mut h).unwrap();
                    if h.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; len];
                conn.read_exact(&mut body).unwrap();
                keep.lock().unwrap().push(String::from_utf8(body).unwrap());
                conn.get_mut().write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").unwrap();
            }
        }
    });
    (url, bodies)
}

#[test]
fn alerts_reach_stdout_a_file_and_an_http_receiver_alike() {
    let dir = std::env::temp_dir().join(format!("lanner-outputs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let events = dir.join("events.json");
    let (url, bodies) = receiver();
    let config = dir.join("falco.yaml");
    std::fs::write(
        &config,
        format!(
            "json_output: true\nsyslog_output: {{enabled: false}}\n\
             file_output: {{enabled: true, keep_alive: true, filename: {}}}\n\
             http_output: {{enabled: true, url: \"{url}\"}}\n",
            events.display()
        ),
    )
    .unwrap();
    let rules = dir.join("rules.yaml");
    std::fs::write(
        &rules,
        "- rule: open_by_cat\n  desc: d\n  condition: evt.type=open and proc.name=cat\n  output: opened %fd.name\n  priority: WARNING\n",
    )
    .unwrap();
    let capture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/scap/cat_write.scap");
    let out = Command::new(env!("CARGO_BIN_EXE_lanner"))
        .args(["-c", config.to_str().unwrap(), "-r", rules.to_str().unwrap()])
        .args(["-e", capture.to_str().unwrap(), "-o", "log_stderr=false"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let alerts: Vec<&str> = stdout.lines().take_while(|l| l.starts_with('{')).collect();
    assert_eq!(alerts.len(), 4, "{stdout}");
    // the summary still follows the alerts
    assert!(
        stdout[alerts.iter().map(|l| l.len() + 1).sum::<usize>()..]
            .starts_with("Events detected: 4\n")
    );
    let file = std::fs::read_to_string(&events).unwrap();
    assert_eq!(file.lines().collect::<Vec<_>>(), alerts);
    // everything was delivered before lanner exited
    assert_eq!(*bodies.lock().unwrap(), alerts);
    std::fs::remove_dir_all(&dir).unwrap();
}
