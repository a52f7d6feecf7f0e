//! The channels that write on this host, each against a real receiver: a file, a syslog
//! datagram socket bound by the test, a program started by the channel.
#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

mod support;

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use lanner_channels::Pipeline;
use lanner_config::SyslogFormat;
use lanner_outputs::{OutputOptions, Priority, render};
use support::{alert, quiet, temp_dir};

const WAIT: Duration = Duration::from_secs(60);

/// What Falco writes for these alerts with these options: the renderer's lines.
fn expected(alerts: &[lanner_outputs::Alert], options: &OutputOptions) -> String {
    let mut out = Vec::new();
    let mut line = String::new();
    for a in alerts {
        render::write_alert(&mut out, a, options, &mut line).unwrap();
    }
    String::from_utf8(out).unwrap()
}

fn alerts(n: usize) -> Vec<lanner_outputs::Alert> {
    (0..n).map(|i| alert("r", Priority::ALL[i % 8], &format!("alert {i} \"quoted\""))).collect()
}

#[test]
fn file_output_appends_lines_with_and_without_keep_alive() {
    let dir = temp_dir("file");
    for (keep_alive, json) in [(false, false), (true, false), (true, true), (false, true)] {
        let path = dir.join(format!("events-{keep_alive}-{json}.txt"));
        std::fs::write(&path, "before\n").unwrap();
        let (mut config, log) = quiet();
        config.file.enabled = true;
        config.file.keep_alive = keep_alive;
        config.file.filename = path.display().to_string();
        config.options.json_output = json;
        config.options.time_format_iso_8601 = true;
        let options = config.options;
        let pipeline = Pipeline::start(config).unwrap();
        let sender = pipeline.sender();
        let sent = alerts(50);
        for a in &sent {
            assert!(sender.send(a.clone()));
        }
        assert!(pipeline.flush(WAIT).is_complete());
        // with keep_alive the file stays open: a flush makes everything visible
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("before\n{}", expected(&sent, &options)));
        let snapshot = pipeline.snapshot();
        assert_eq!(snapshot.channel("file").unwrap().delivered, 50);
        assert!(pipeline.shutdown(WAIT).is_complete());
        let lines = log.lock().unwrap().clone();
        assert!(lines.is_empty(), "{lines:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn file_output_reopens_a_rotated_file() {
    let dir = temp_dir("reopen");
    let path = dir.join("events.txt");
    let (mut config, _log) = quiet();
    config.file.enabled = true;
    config.file.keep_alive = true;
    config.file.filename = path.display().to_string();
    let pipeline = Pipeline::start(config).unwrap();
    pipeline.sender().send(alert("r", Priority::Warning, "one"));
    assert!(pipeline.flush(WAIT).is_complete());
    std::fs::rename(&path, dir.join("events.txt.1")).unwrap();
    // SIGUSR1 in Falco: the file is opened again by name
    pipeline.reopen();
    pipeline.sender().send(alert("r", Priority::Warning, "two"));
    assert!(pipeline.shutdown(WAIT).is_complete());
    assert!(std::fs::read_to_string(dir.join("events.txt.1")).unwrap().ends_with("one\n"));
    assert!(std::fs::read_to_string(&path).unwrap().ends_with("two\n"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn syslog_output_sends_datagrams_with_falcos_severities() {
    let dir = temp_dir("syslog");
    for format in [SyslogFormat::Rfc3164, SyslogFormat::Rfc5424] {
        let socket_path = dir.join(format!("log-{format:?}"));
        let socket = UnixDatagram::bind(&socket_path).unwrap();
        socket.set_read_timeout(Some(WAIT)).unwrap();
        let (mut config, log) = quiet();
        config.syslog.enabled = true;
        config.syslog.address = socket_path.display().to_string();
        config.syslog.format = format;
        config.syslog.ident = "falco".into();
        config.options.json_output = true;
        let options = config.options;
        let pipeline = Pipeline::start(config).unwrap();
        let sent = alerts(8);
        for a in &sent {
            pipeline.sender().send(a.clone());
        }
        let mut buf = vec![0u8; 65536];
        for (i, a) in sent.iter().enumerate() {
            let n = socket.recv(&mut buf).unwrap();
            let got = std::str::from_utf8(&buf[..n]).unwrap();
            // facility user (1) × 8 + Falco's priority number, which is syslog's severity
            let pri = format!("<{}>", 8 + i);
            assert!(got.starts_with(&pri), "{got}");
            let mut line = String::new();
            render::write_json(&mut line, a, &options);
            match format {
                SyslogFormat::Rfc3164 => {
                    // <PRI>Mmm dd hh:mm:ss falco: LINE
                    let rest = &got[pri.len()..];
                    assert_eq!(&rest[15..], format!(" falco: {line}"), "{got}");
                }
                SyslogFormat::Rfc5424 => {
                    let fields: Vec<&str> = got[pri.len()..].splitn(7, ' ').collect();
                    assert_eq!(fields[0], "1");
                    assert!(fields[1].ends_with('Z') && fields[1].contains('T'), "{got}");
                    assert_eq!(
                        fields[2..6],
                        ["test-host", "falco", &std::process::id().to_string(), "-"]
                    );
                    assert_eq!(fields[6], format!("- {line}"));
                }
            }
        }
        assert!(pipeline.shutdown(WAIT).is_complete());
        assert_eq!(log.lock().unwrap().len(), 0);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn syslog_without_a_daemon_counts_failures_and_says_so_once() {
    let dir = temp_dir("nosyslog");
    let (mut config, log) = quiet();
    config.syslog.enabled = true;
    config.syslog.address = dir.join("nobody").display().to_string();
    let pipeline = Pipeline::start(config).unwrap();
    for _ in 0..5 {
        pipeline.sender().send(alert("r", Priority::Error, "x"));
    }
    assert!(pipeline.flush(WAIT).is_complete());
    let s = pipeline.snapshot();
    let syslog = s.channel("syslog").unwrap();
    assert_eq!((syslog.delivered, syslog.failed, syslog.dropped), (0, 5, 5));
    let lines = log.lock().unwrap().clone();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("syslog output: cannot write an alert"), "{lines:?}");
    pipeline.shutdown(WAIT);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn program_output_writes_each_alert_to_the_programs_stdin() {
    let dir = temp_dir("program");
    for keep_alive in [false, true] {
        let out = dir.join(format!("out-{keep_alive}"));
        let starts = dir.join(format!("starts-{keep_alive}"));
        let (mut config, log) = quiet();
        config.program.enabled = true;
        config.program.keep_alive = keep_alive;
        // A shell command line, as in falco.yaml: the program counts its starts.
        config.program.program =
            format!("echo started >> '{}'; cat >> '{}'", starts.display(), out.display());
        let options = config.options;
        let pipeline = Pipeline::start(config).unwrap();
        let sent = alerts(5);
        for a in &sent {
            pipeline.sender().send(a.clone());
        }
        // Shutting down closes the kept-alive program's stdin and waits for it.
        assert!(pipeline.shutdown(WAIT).is_complete());
        assert_eq!(std::fs::read_to_string(&out).unwrap(), expected(&sent, &options));
        let started = std::fs::read_to_string(&starts).unwrap().lines().count();
        assert_eq!(started, if keep_alive { 1 } else { 5 });
        let lines = log.lock().unwrap().clone();
        assert!(lines.is_empty(), "{lines:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn program_output_restarts_a_program_that_exited() {
    let dir = temp_dir("program-exit");
    let out = dir.join("out");
    let (mut config, _log) = quiet();
    config.program.enabled = true;
    config.program.keep_alive = true;
    // reads one line, then exits: every later alert needs a new start
    config.program.program = format!("head -n 1 >> '{}'", out.display());
    let pipeline = Pipeline::start(config).unwrap();
    for i in 0..3 {
        pipeline.sender().send(alert("r", Priority::Notice, &format!("n{i}")));
        assert!(pipeline.flush(WAIT).is_complete());
    }
    pipeline.shutdown(WAIT);
    let text = std::fs::read_to_string(&out).unwrap();
    // A line written before the program's exit is noticed is lost with it (the pipe took it):
    // what arrives arrives whole and in order.
    let got: Vec<&str> = text.lines().map(|l| &l[l.len() - 2..]).collect();
    assert!(got.first() == Some(&"n0") && got.windows(2).all(|w| w[0] < w[1]), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}
