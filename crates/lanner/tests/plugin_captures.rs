//! Plugin events in captures, as Falco's capture mode reads them: `-w` records the events of
//! a plugin source (here the Kubernetes audit fixtures read by the k8saudit plugin) to a
//! `.scap`, and a replay (`-e`) of it runs the k8s audit rules on the capture's plugin events
//! instead of opening the plugin's source. A capture holding syscalls and plugin events runs
//! both sources' rules; a plugin event of a plugin that is not loaded is an error naming the
//! plugin id and the block, as in Falco.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

#[allow(dead_code, reason = "each test binary uses part of the shared helpers")]
mod plugin_libs;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(path: &str) -> PathBuf {
    root().join("../shared/fixtures").join(path)
}

/// Every k8s audit fixture of Falco's legacy suite: 47 files, 51 audit events.
fn k8s_audit_dir() -> PathBuf {
    fixture("falco_legacy_regression_tests/trace_files/k8s_audit")
}

/// `lanner -c examples/k8saudit/lanner.yaml` (the upstream k8s audit rules), with JSON alerts.
fn k8saudit() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lanner"));
    cmd.current_dir(root())
        .args(["-c", "examples/k8saudit/lanner.yaml"])
        .arg("-o")
        .arg(format!("plugins[0].library_path={}", plugin_libs::plugin("k8saudit").display()))
        .arg("-o")
        .arg(format!("plugins[1].library_path={}", plugin_libs::plugin("json").display()))
        .args(["-o", "webserver.enabled=false", "-o", "json_output=true"]);
    cmd
}

fn run(cmd: &mut Command) -> (String, String) {
    let out: Output = cmd.output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{stderr}");
    (stdout, stderr)
}

/// The alert lines (JSON) of a run's output, in order.
fn alerts(stdout: &str) -> Vec<&str> {
    stdout.lines().filter(|l| l.starts_with('{')).collect()
}

/// Records the k8s audit fixtures through the plugin source to `out`; returns the run's
/// stdout.
fn record(out: &Path) -> String {
    let (stdout, stderr) = run(k8saudit()
        .arg("-o")
        .arg(format!("plugins[0].open_params={}", k8s_audit_dir().display()))
        .arg("-w")
        .arg(out));
    assert!(stderr.contains("Events in source 'k8s_audit': 51"), "{stderr}");
    assert!(stderr.contains(&format!("Recorded 51 events to {}", out.display())), "{stderr}");
    stdout
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lanner-plugin-captures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn a_recorded_k8s_audit_run_replays_to_the_same_alerts() {
    let capture = temp("k8s.scap");
    let recorded = record(&capture);
    let recorded = alerts(&recorded);
    assert_eq!(recorded.len(), 46, "alerts of the recording run");

    // Every event is a plugin event of the k8saudit plugin (id 1).
    let mut reader = lanner_scap::Reader::open(&capture).unwrap();
    let mut events = 0;
    while let Some(record) = reader.next().unwrap() {
        assert_eq!(record.event.event_type(), 322);
        assert_eq!(record.event.param(0).unwrap(), 1u32.to_le_bytes());
        events += 1;
    }
    assert_eq!(events, 51);

    let (stdout, stderr) = run(k8saudit().arg("-e").arg(&capture));
    assert_eq!(alerts(&stdout), recorded, "the replay's alerts differ from the recording's");
    assert!(stderr.contains("its events come from the capture"), "{stderr}");
    assert!(stderr.contains("Events in source 'k8s_audit': 51"), "{stderr}");
    assert!(stderr.contains("Events in source 'syscall': 0"), "{stderr}");
    // The source is not opened: the webhook of the example's open_params does not listen.
    assert!(!stderr.contains("webhook"), "{stderr}");

    // With the syscall source disabled, the capture is still read for the plugin events.
    let (stdout, stderr) =
        run(k8saudit().arg("-e").arg(&capture).args(["--disable-source", "syscall"]));
    assert_eq!(alerts(&stdout), recorded);
    assert!(!stderr.contains("Events in source 'syscall'"), "{stderr}");

    // With the source disabled, its events are skipped.
    let (stdout, stderr) =
        run(k8saudit().arg("-e").arg(&capture).args(["--disable-source", "k8s_audit"]));
    assert!(alerts(&stdout).is_empty(), "{stdout}");
    assert!(!stderr.contains("Events in source 'k8s_audit'"), "{stderr}");
    std::fs::remove_file(&capture).unwrap();
}

#[test]
fn a_capture_of_syscalls_and_plugin_events_runs_the_rules_of_both_sources() {
    let recording = temp("k8s-for-mix.scap");
    let k8s_alerts = record(&recording);
    let k8s_alerts = alerts(&k8s_alerts);

    // A syscall capture with the plugin events interleaved, one after every 7 syscalls.
    let syscalls = fixture("falco_legacy_regression_tests/trace_files/cat_write.scap");
    let mixed = temp("mixed.scap");
    let mut plugin_events = Vec::new();
    let mut reader = lanner_scap::Reader::open(&recording).unwrap();
    while let Some(record) = reader.next().unwrap() {
        plugin_events.push(record.event.as_bytes().to_vec());
    }
    let mut reader = lanner_scap::Reader::open(&syscalls).unwrap();
    let mut writer = lanner_scap::Writer::create(
        &mixed,
        &reader.tables().clone(),
        lanner_scap::Compression::None,
    )
    .unwrap();
    let mut pending = plugin_events.iter();
    let mut n = 0;
    while let Some(record) = reader.next().unwrap() {
        writer.write_event(record.cpu, record.flags, &record.event).unwrap();
        n += 1;
        if n % 7 == 0
            && let Some(bytes) = pending.next()
        {
            writer.write_event(0, 0, &lanner_event::RawEvent::new(bytes).unwrap()).unwrap();
        }
    }
    for bytes in pending {
        writer.write_event(0, 0, &lanner_event::RawEvent::new(bytes).unwrap()).unwrap();
    }
    writer.finish().unwrap();

    let rules = temp("cat_opens.yaml");
    std::fs::write(
        &rules,
        "- rule: Cat opens\n  desc: cat opens a file\n  condition: evt.type=open and \
         evt.dir=< and proc.name=cat\n  output: cat opened (file=%fd.name)\n  priority: \
         NOTICE\n",
    )
    .unwrap();
    let with_rules = |capture: &Path| {
        let mut cmd = k8saudit();
        cmd.arg("-r").arg(root().join("rules/plugins/k8s_audit_rules.yaml"));
        cmd.arg("-r").arg(&rules).arg("-e").arg(capture);
        cmd
    };
    let (alone, alone_log) = run(&mut with_rules(&syscalls));
    let syscall_alerts: Vec<&str> =
        alerts(&alone).into_iter().filter(|a| a.contains("\"Cat opens\"")).collect();
    assert!(!syscall_alerts.is_empty(), "{alone}");

    let (stdout, stderr) = run(&mut with_rules(&mixed));
    let all = alerts(&stdout);
    let (cat, k8s): (Vec<&str>, Vec<&str>) = all.iter().partition(|a| a.contains("\"Cat opens\""));
    assert_eq!(cat, syscall_alerts, "the syscall rules' alerts");
    assert_eq!(k8s, k8s_alerts, "the k8s audit rules' alerts");
    assert!(stderr.contains("Events in source 'k8s_audit': 51"), "{stderr}");
    // The syscall source counts the same events as on the syscall capture alone.
    let line = alone_log.lines().find(|l| l.contains("Events in source 'syscall'")).unwrap();
    let syscall_events = &line[line.find("Events in source").unwrap()..];
    assert!(stderr.contains(&format!("{syscall_events}\n")), "{stderr}");
    for f in [&recording, &mixed, &rules] {
        std::fs::remove_file(f).unwrap();
    }
}

#[test]
fn a_plugin_event_of_a_plugin_not_loaded_is_an_error_naming_the_plugin_and_block() {
    let capture = temp("k8s-unknown.scap");
    record(&capture);
    let out = Command::new(env!("CARGO_BIN_EXE_lanner")).arg("-e").arg(&capture).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "Unknown event source for inspector's event (plugin ID: 1): event 1 (block offset "
        ),
        "{stderr}"
    );
    std::fs::remove_file(&capture).unwrap();
}

#[test]
fn recording_needs_a_live_source() {
    let out = Command::new(env!("CARGO_BIN_EXE_lanner"))
        .args(["-o", "engine.kind=nodriver", "-o", "webserver.enabled=false", "-w"])
        .arg(temp("never.scap"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("-w records the events of live sources"), "{stderr}");
    assert!(!temp("never.scap").exists());
}
