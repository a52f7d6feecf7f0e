//! Falco plugins through the real `lanner` binary: plugins built with the `falco_plugin` SDK
//! (`test-plugins/`) loaded as `.so` files from a `falco.yaml`, their sources run on threads
//! of their own, rules on their fields, `required_plugin_versions`, `--list-plugins`,
//! `--plugin-info`, `--list`.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

#[allow(dead_code, reason = "each test binary uses part of the shared helpers")]
mod plugin_libs;

#[allow(dead_code, reason = "each test binary uses part of the shared helpers")]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn lib(name: &str) -> String {
    plugin_libs::test_plugin(name).display().to_string()
}

/// A directory with `falco.yaml` (the plugins section `plugins` plus `extra`) and
/// `rules.yaml`.
fn setup(name: &str, extra: &str, rules: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lanner-plugins-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = format!(
        "plugins:
  - name: counter
    library_path: {counter}
    init_config: {{count: 12}}
  - name: parsecount
    library_path: {parse}
  - name: ticker
    library_path: {ticker}
    init_config: '{{\"count\": 3}}'
rules_files: [{rules}]
stdout_output: {{enabled: true}}
syslog_output: {{enabled: false}}
{extra}
",
        counter = lib("counter"),
        parse = lib("parse"),
        ticker = lib("async"),
        rules = dir.join("rules.yaml").display(),
    );
    std::fs::write(dir.join("falco.yaml"), config).unwrap();
    std::fs::write(dir.join("rules.yaml"), rules).unwrap();
    dir
}

fn lanner(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lanner"))
        .arg("-c")
        .arg(dir.join("falco.yaml"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const COUNTER_RULE: &str = "
- rule: counter twelve
  desc: the twelfth step
  condition: counter.n = 12 and counter.even = true and counter.divisors intersects (6) and counter.digit[1] = 2 and counter.tag[k] = k12
  output: n=%counter.n text=%counter.text tag=%counter.tag[x] list=%counter.divisors
  priority: WARNING
  source: counter
- rule: counter even
  desc: every even step
  condition: counter.even = true
  output: even %counter.n
  priority: NOTICE
  source: counter
";

#[test]
fn rules_fire_on_a_plugin_source() {
    let dir = setup("source", "load_plugins: [counter]\nengine: {kind: nodriver}", COUNTER_RULE);
    let out = lanner(&dir, &[]);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains(": Warning n=12 text=tick 12 tag=x12 list=(1,2,3,4,6,12)\n"),
        "{stdout}"
    );
    // rule_matching first: the twelfth step raises the first rule only.
    assert_eq!(stdout.matches("Notice even").count(), 5, "{stdout}");
    assert!(stdout.contains("   counter twelve: 1\n   counter even: 5\n"), "{stdout}");
    assert!(stderr.contains("Events in source 'counter': 12"), "{stderr}");
    assert!(stderr.contains("Plugin 'counter' metric emitted: 12"), "{stderr}");
    assert!(!stderr.contains("LOAD_UNKNOWN_SOURCE"), "{stderr}");
}

const OPENS_RULE: &str = "
- rule: opens
  desc: opens
  condition: evt.type in (open, openat) and proc.name = cat
  output: open %fd.name
  priority: INFO
";

#[test]
fn a_replay_runs_plugin_rules_on_the_captures_plugin_events_and_leaves_sources_closed() {
    let capture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/scap/cat_write.scap");
    let dir = setup("replay", "load_plugins: [counter]", &format!("{COUNTER_RULE}{OPENS_RULE}"));
    let out = lanner(&dir, &["-e", capture.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = text(&out.stdout);
    // As in Falco's capture mode: the counter source is not opened (its 12 events would fire
    // its rules); the capture holds no counter events.
    assert!(!stdout.contains("counter even"), "{stdout}");
    assert!(stdout.contains("   opens: "), "{stdout}");
    assert!(stderr.contains("Events in source 'counter': 0"), "{stderr}");
    assert!(stderr.contains("Events in source 'syscall': "), "{stderr}");
    assert!(!stderr.contains("Plugin 'counter' metric emitted: 12"), "{stderr}");
}

#[test]
fn plugin_and_syscall_sources_run_side_by_side_live_and_replay_from_their_recording() {
    if let Err(why) = common::can_run_live() {
        eprintln!("\n*** SKIPPED live plugin and syscall sources test: {why} ***\n");
        return;
    }
    let dir = setup("both", "load_plugins: [counter]", &format!("{COUNTER_RULE}{OPENS_RULE}"));
    let capture = dir.join("both.scap");
    let metrics = dir.join("metrics.jsonl");
    let metrics_file = format!("metrics.output_file={}", metrics.display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_lanner"))
        .arg("-c")
        .arg(dir.join("falco.yaml"))
        .args(["-w", capture.to_str().unwrap(), "-o", &metrics_file])
        .args(["-o", "metrics.enabled=true", "-o", "metrics.interval=500ms"])
        .args(["-o", "metrics.output_rule=false"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out_lines = common::lines(child.stdout.take().unwrap());
    let err_lines = common::lines(child.stderr.take().unwrap());
    // Once the probe is attached, cat opens files: syscalls for the recording and the rule.
    let mut stderr = String::new();
    while !stderr.contains("Opening 'syscall' source with the eBPF probe") {
        let line = err_lines.recv_timeout(std::time::Duration::from_secs(30)).unwrap();
        stderr.push_str(&line);
        stderr.push('\n');
    }
    for _ in 0..5 {
        let status = Command::new("cat").arg("/etc/hostname").output().unwrap().status;
        assert!(status.success());
    }
    // Time for the probe's buffers to drain and a metrics snapshot, then a clean stop.
    std::thread::sleep(std::time::Duration::from_millis(1200));
    // SAFETY: kill has no memory preconditions; the pid is our child's.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let status = child.wait().unwrap();
    stderr.extend(err_lines.iter().map(|l| l + "\n"));
    let stdout: String = out_lines.iter().map(|l| l + "\n").collect();
    assert!(status.success(), "{stderr}");
    let live_opens =
        stdout.lines().filter(|l| l.ends_with(" Informational open /etc/hostname")).count();
    assert_eq!(live_opens, 5, "{stdout}");
    assert!(stderr.contains("Opening 'syscall' source with the eBPF probe"), "{stderr}");
    assert!(stderr.contains("Opening 'counter' source with plugin 'counter'"), "{stderr}");
    assert!(stderr.contains("Events in source 'counter': 12"), "{stderr}");
    // The metrics snapshots carry each source's events and the counter plugin's own metric.
    let snapshots = std::fs::read_to_string(&metrics).unwrap();
    let last: serde_json::Value = serde_json::from_str(snapshots.lines().last().unwrap()).unwrap();
    assert_eq!(last["output_fields"]["plugins.counter.emitted"], 12, "{last}");

    // One recording holds both sources' events: the probe's and the counter's 12.
    let mut reader = lanner_scap::Reader::open(&capture).unwrap();
    let (mut syscalls, mut counter) = (0, 0);
    while let Some(record) = reader.next().unwrap() {
        if record.event.event_type() == lanner_plugins::PLUGIN_EVENT {
            assert_eq!(record.event.param(0).unwrap(), 999u32.to_le_bytes());
            counter += 1;
        } else {
            syscalls += 1;
        }
    }
    assert_eq!(counter, 12);
    assert!(syscalls > 0);
    assert!(
        stderr.contains(&format!(
            "Recorded {} events to {}",
            syscalls + counter,
            capture.display()
        )),
        "{stderr}"
    );

    // Replayed, the counter's rules fire on its recorded events as they did live.
    let out = lanner(&dir, &["-e", capture.to_str().unwrap()]);
    let replay = text(&out.stderr);
    assert!(out.status.success(), "{replay}");
    let stdout = text(&out.stdout);
    assert!(stdout.contains("   counter twelve: 1\n   counter even: 5\n"), "{stdout}");
    assert!(replay.contains("Events in source 'counter': 12"), "{replay}");
    let opens = stdout.lines().filter(|l| l.ends_with(" Informational open /etc/hostname")).count();
    assert_eq!(opens, live_opens, "{stdout}");
    // --disable-source leaves the counter's events unread.
    let out = lanner(&dir, &["-e", capture.to_str().unwrap(), "--disable-source", "counter"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("counter even"));
    std::fs::remove_file(&capture).unwrap();
}

#[test]
fn a_parse_plugin_sees_the_events_of_plugin_sources() {
    // parsecount parses the events of every source: alone with the counter source, it has
    // seen the counter's n events when the rules run on the n-th.
    let rules = "
- rule: parsed counter
  desc: the parse plugin saw every counter event so far
  condition: counter.n in (5, 12)
  output: n=%counter.n seen=%parsecount.seen
  priority: INFO
  source: counter
";
    let dir = setup(
        "parse-source",
        "load_plugins: [counter, parsecount]\nengine: {kind: nodriver}",
        rules,
    );
    let out = lanner(&dir, &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("Informational n=5 seen=5\n"), "{stdout}");
    assert!(stdout.contains("Informational n=12 seen=12\n"), "{stdout}");
}

#[test]
fn without_the_plugin_its_rules_are_skipped() {
    let dir = setup("unloaded", "load_plugins: []\nengine: {kind: nodriver}", COUNTER_RULE);
    let out = lanner(&dir, &["-V", dir.join("rules.yaml").to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("LOAD_UNKNOWN_SOURCE"), "{stdout}");
}

#[test]
fn a_plugin_sources_rules_see_only_its_fields() {
    let rules = "
- rule: wrong
  desc: a syscall field in a counter rule
  condition: proc.name = cat
  output: x
  priority: INFO
  source: counter
";
    let dir = setup("fields", "load_plugins: [counter]", rules);
    let out = lanner(&dir, &["-V", dir.join("rules.yaml").to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(!out.status.success());
    assert!(stdout.contains("proc.name"), "{stdout}");
    // A misspelt plugin field gets a suggestion.
    let rules = COUNTER_RULE.replace("counter.even = true\n", "counter.evn = true\n");
    let dir = setup("typo", "load_plugins: [counter]", &rules);
    let out = lanner(&dir, &["-V", dir.join("rules.yaml").to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("did you mean `counter.even`"), "{stdout}");
}

#[test]
fn required_plugin_versions_are_checked_against_the_loaded_plugin() {
    let ok = format!(
        "- required_plugin_versions:\n  - name: counter\n    version: 0.2.0\n{COUNTER_RULE}"
    );
    let dir = setup("req-ok", "load_plugins: [counter]\nengine: {kind: nodriver}", &ok);
    let out = lanner(&dir, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bad = format!(
        "- required_plugin_versions:\n  - name: counter\n    version: 0.4.0\n{COUNTER_RULE}"
    );
    let dir = setup("req-bad", "load_plugins: [counter]\nengine: {kind: nodriver}", &bad);
    let out = lanner(&dir, &[]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(
            "Plugin 'counter' version '0.3.0' is not compatible with required plugin version '0.4.0'"
        ),
        "{stderr}"
    );
}

#[test]
fn errors_name_the_plugin_and_its_last_error() {
    let dir = setup("fail", "load_plugins: [counter]\nengine: {kind: nodriver}", COUNTER_RULE);
    let out = lanner(&dir, &["-o", "plugins[0].init_config={count: 1, fail_open: true}"]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(
            "plugin `counter`: plugin_open failed (rc 1): counter refuses to open: fail_open is set"
        ),
        "{stderr}"
    );
    // The init config is checked against the plugin's schema.
    let out = lanner(&dir, &["-o", "plugins[0].init_config={count: many}"]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("plugin `counter`: invalid init config: /count: "), "{stderr}");
    // A plugin requiring a newer plugin API is refused with libs' message.
    let out = lanner(&dir, &["-o", &format!("plugins[0].library_path={}", lib("future"))]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("framework's minor is less than the requested one"), "{stderr}");
    // An unknown name in load_plugins.
    let out = lanner(&dir, &["-o", "load_plugins[]=nosuch"]);
    assert!(
        text(&out.stderr)
            .contains("Cannot load plugin 'nosuch': plugin config not found for given name")
    );
}

#[test]
fn a_failing_field_is_reported_with_the_plugin_and_counted_per_plugin() {
    // parsecount.fail always fails: the rule does not match, and the run goes on.
    let rules = "
- rule: never
  desc: a field that fails
  condition: counter.n > 0 and parsecount.fail = 1
  output: never
  priority: INFO
  source: counter
";
    let dir = setup(
        "extract-fail",
        "load_plugins: [counter, parsecount]\nengine: {kind: nodriver}",
        rules,
    );
    let out = lanner(&dir, &[]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!text(&out.stdout).contains("Informational never"));
    assert!(
        stderr.contains(
            "[parsecount] plugin `parsecount`: plugin_extract_fields failed (rc 1): \
             parsecount.fail always fails (event 1; 1 extraction errors so far)\n"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("Plugin 'parsecount' field extraction errors: 12\n"), "{stderr}");
    assert!(!stderr.contains("Plugin 'counter' field extraction errors"), "{stderr}");
}

#[test]
fn parse_plugin_state_reaches_syscall_rules() {
    let capture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/scap/cat_write.scap");
    let rules = "
- rule: hundredth
  desc: the hundredth event parsed
  condition: parsecount.seen = 100
  output: seen %parsecount.seen opens %parsecount.opens
  priority: INFO
";
    let dir = setup("parse", "load_plugins: [parsecount]", rules);
    let out = lanner(&dir, &["-e", capture.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("   hundredth: 1\n"), "{stdout}");
    assert!(stdout.contains("Informational seen 100 opens "), "{stdout}");
}

/// How many syscalls a live run's probe captures, from its start-up log line.
fn live_syscalls(dir: &Path, args: &[&str]) -> usize {
    // one attachment for every run: which one auto picks depends on the machine's syscall
    // mix, and per-syscall tracepoints leave out the syscalls this kernel lacks
    let out = lanner(dir, &[&["-M", "1", "--attach", "tp_btf"], args].concat());
    let log = text(&out.stderr);
    assert!(out.status.success(), "{log}");
    let line = log
        .lines()
        .find_map(|l| l.split_once("Opening 'syscall' source with the eBPF probe: "))
        .unwrap_or_else(|| panic!("no probe start-up line in:\n{log}"))
        .1;
    line.split_once(" syscalls").unwrap().0.parse().unwrap()
}

#[test]
fn a_parse_plugin_gets_its_event_types_live() {
    if let Err(why) = common::can_run_live() {
        eprintln!("\n*** SKIPPED live parse plugin test: {why} ***\n");
        return;
    }
    let rules = "
- rule: ptrace
  desc: only ptrace is needed by the rules
  condition: evt.type = ptrace
  output: ptrace by %proc.name
  priority: INFO
";
    let dir = setup("parse-live", "load_plugins: []", rules);
    let all = live_syscalls(&dir, &["-o", "base_syscalls.all=true"]);
    let rules_only = live_syscalls(&dir, &[]);
    // parsecount asks for every event type, so the probe must capture them all, as in a
    // replay, though no rule needs them.
    let with_parser = live_syscalls(&dir, &["-o", "load_plugins[]=parsecount"]);
    assert!(rules_only < all, "rules alone: {rules_only} of {all}");
    assert_eq!(with_parser, all);
}

#[test]
fn async_events_reach_rules() {
    let capture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/scap/cat_write.scap");
    let rules = "
- rule: tick
  desc: an async ticker event
  condition: evt.is_async = true and evt.asynctype = ticker
  output: got %ticker.data
  priority: INFO
";
    let dir = setup("async", "load_plugins: [ticker]", rules);
    let out = lanner(&dir, &["-e", capture.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("   tick: 3\n"), "{stdout}");
    for i in 1..=3 {
        assert!(stdout.contains(&format!("Informational got tick {i}\n")), "{stdout}");
    }
}

#[test]
fn lists_plugins_and_their_fields() {
    let dir = setup("list", "", COUNTER_RULE);
    let out = lanner(&dir, &["--list-plugins"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.starts_with("3 Plugins Loaded:\n\nName: counter\n"), "{stdout}");
    assert!(stdout.contains(
        "Version: 0.3.0\nCapabilities: \n  - Event Sourcing (ID=999, source='counter')\n  - Field Extraction\n"
    ));
    assert!(stdout.contains("Name: parsecount\n"));
    assert!(stdout.contains("  - Event Parsing\n"));
    assert!(stdout.contains("  - Async Events\n"));
    let out = lanner(&dir, &["--plugin-info", "counter"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.starts_with("Name: counter\nDescription: Counts to a number, one event per step\n")
    );
    assert!(stdout.contains("\nInit config schema type: JSON\n{"), "{stdout}");
    assert!(stdout.contains("No suggested open params available"), "{stdout}");
    let out = lanner(&dir, &["--plugin-info", "nosuch"]);
    assert!(text(&out.stderr).contains("can't find plugin and print its info: nosuch"));
    let out = lanner(&dir, &["--list", "counter"]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Field Class:                  counter\n"), "{stdout}");
    assert!(stdout.contains("Event Sources:                counter \n"), "{stdout}");
    assert!(
        stdout.contains("counter.divisors              (EPF_IS_LIST) The divisors of the number")
    );
    assert!(!stdout.contains("proc.name"), "{stdout}");
    let out = lanner(&dir, &["--list", "-N"]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("\nproc.name\n") && stdout.contains("\ncounter.tag\n"));
    assert!(stdout.contains("\nparsecount.seen\n") && stdout.contains("\nticker.data\n"));
}
