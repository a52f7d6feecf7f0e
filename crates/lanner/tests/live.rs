//! End to end on this machine: lanner runs live on its kernel probe, `lanner generate` performs
//! every harmless attack, and each expected rule must fire with the right process and file,
//! for lanner's default rules and for upstream's `falco_rules.yaml`; the capture recorded
//! meanwhile (`-w`) must replay to the same alerts, and the probe must drop nothing. The exe
//! flags the probe gives execve (writable, overlay upper or lower layer) are checked case by
//! case.
//!
//! Needs root, BPF and a kernel with BTF (CI has them). Elsewhere the test says loudly that it
//! skipped.
#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

mod common;

use common::{can_run_live, lines};

const LANNER: &str = env!("CARGO_BIN_EXE_lanner");

/// A live lanner, started and waited for until its probe is attached.
struct Live {
    child: Child,
    stderr: mpsc::Receiver<String>,
    log: Vec<String>,
}

impl Live {
    fn start(args: &[&str]) -> Live {
        let mut child = Command::new(LANNER)
            .args(["-U", "-o", "json_output=true", "-M", "300"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = lines(child.stderr.take().unwrap());
        let mut live = Live { child, stderr, log: Vec::new() };
        loop {
            let line = live.stderr.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| {
                panic!("lanner did not start its probe; log so far:\n{}", live.log.join("\n"))
            });
            let ready = line.contains("Opening 'syscall' source with the eBPF probe");
            live.log.push(line);
            if ready {
                return live;
            }
        }
    }

    /// Stops lanner with SIGTERM; returns its alerts (JSON lines) and its log.
    fn stop(mut self) -> (Vec<serde_json::Value>, Vec<String>) {
        // let the last events drain (the loop sleeps 5 ms between drains)
        std::thread::sleep(Duration::from_millis(500));
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let out = self.child.wait_with_output().unwrap();
        assert!(out.status.success(), "lanner failed: {:?}\n{}", out.status, self.log.join("\n"));
        // the rest of the log, to its end: the reader thread may still be behind
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_secs(10)) {
            self.log.push(line);
        }
        let alerts = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter(|l| l.starts_with('{'))
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (alerts, self.log)
    }
}

fn generate(actions: &[&str]) {
    let out = Command::new(LANNER).arg("generate").args(actions).output().unwrap();
    assert!(
        out.status.success(),
        "lanner generate failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The (action, rule) pairs `lanner generate --list` describes.
fn actions() -> Vec<(String, String)> {
    let out = Command::new(LANNER).args(["generate", "--list"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut pairs = Vec::new();
    let mut name = None;
    for line in text.lines() {
        if let Some(rule) = line.trim_start().strip_prefix("rule: ") {
            pairs.push((name.take().unwrap(), rule.to_owned()));
        } else {
            name = line.split_whitespace().next().map(str::to_owned);
        }
    }
    assert!(pairs.len() >= 35, "{text}");
    pairs
}

fn field<'a>(alert: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    alert["output_fields"][name].as_str()
}

/// An output field of any type as text (`true`, `0`, `EXE_WRITABLE` ...).
fn text(alert: &serde_json::Value, name: &str) -> String {
    match &alert["output_fields"][name] {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether an alert's process is the program `dropped-executable` writes into its container's
/// overlayfs root at run time.
fn is_dropped_exe(alert: &serde_json::Value) -> bool {
    field(alert, "proc.exepath").is_some_and(|p| {
        p.starts_with("/run/lanner-generate-") && p.ends_with("-overlay/merged/dropped-true")
    })
}

fn by_rule(alerts: &[serde_json::Value]) -> BTreeMap<String, Vec<&serde_json::Value>> {
    let mut map: BTreeMap<String, Vec<&serde_json::Value>> = BTreeMap::new();
    for a in alerts {
        map.entry(a["rule"].as_str().unwrap().to_owned()).or_default().push(a);
    }
    map
}

/// The syscalls the probe's start-up log says it does not capture (this kernel lacks them).
fn not_captured(log: &[String]) -> Vec<String> {
    log.iter()
        .find_map(|l| l.split_once("Not captured (this kernel does not implement them"))
        .and_then(|(_, rest)| rest.split_once(": "))
        .map(|(_, names)| names.split(", ").map(str::to_owned).collect())
        .unwrap_or_default()
}

fn drops(log: &[String]) -> u64 {
    let stats = log
        .iter()
        .find(|l| l.contains("Syscall event stats:"))
        .unwrap_or_else(|| panic!("no stats line in the log:\n{}", log.join("\n")));
    let words: Vec<&str> = stats.split_whitespace().collect();
    let i = words.iter().position(|w| *w == "dropped,").unwrap();
    words[i - 1].parse().unwrap()
}

#[test]
fn default_rules_catch_every_generated_action_live_and_in_the_recording() {
    if let Err(why) = can_run_live() {
        eprintln!("\n*** SKIPPED live detection tests: {why} ***\n");
        return;
    }
    let _serial = SERIAL.lock();
    default_rules_catch_every_generated_action("auto");
}

/// The same through the other attachment, one `tp_btf/sys_exit` program and the program
/// array as interest table (auto chooses per-syscall tracepoints on this kind of machine),
/// and with every CPU writing to one shared ring buffer (`cpus_for_each_buffer: 0`).
#[test]
fn default_rules_catch_every_generated_action_through_tp_btf_and_one_shared_buffer() {
    if let Err(why) = can_run_live() {
        eprintln!("\n*** SKIPPED live detection tests: {why} ***\n");
        return;
    }
    let _serial = SERIAL.lock();
    default_rules_catch_every_generated_action("tp_btf");
}

fn default_rules_catch_every_generated_action(attach: &str) {
    let dir = tempfile_dir();
    let capture = format!("{dir}/live.scap");
    let shared =
        ["-o", "engine.kind=modern_ebpf", "-o", "engine.modern_ebpf.cpus_for_each_buffer=0"];
    let extra: &[&str] = if attach == "tp_btf" { &shared } else { &[] };
    let live = Live::start(&[&["-w", &capture, "--attach", attach], extra].concat());
    generate(&["--all"]);
    let (alerts, log) = live.stop();
    let chosen = log.iter().find(|l| l.contains("Attachment ")).unwrap();
    let opening = log.iter().find(|l| l.contains("Opening 'syscall' source")).unwrap();
    // "... (N programs), C CPUs, B ring buffers of S MiB"
    let words: Vec<&str> = opening.split_whitespace().collect();
    let cpus: usize = words[words.iter().position(|w| *w == "CPUs,").unwrap() - 1].parse().unwrap();
    if attach == "tp_btf" {
        assert!(chosen.contains("Attachment tp_btf/sys_exit: as configured"), "{chosen}");
        assert!(opening.contains(" 1 ring buffers of "), "{opening}");
        if cpus > 1 {
            let every = format!("One ring buffer every '{cpus}' CPUs.");
            assert!(log.iter().any(|l| l.contains(&every)), "{}", log.join("\n"));
        }
    } else {
        assert!(opening.contains(&format!(" {cpus} ring buffers of ")), "{opening}");
    }
    let rules = by_rule(&alerts);
    let mut missing = Vec::new();
    let uncaptured = not_captured(&log);
    for (action, rule) in actions() {
        // a kernel built without modules has no tracepoints for their syscalls, so the
        // per-syscall tracepoints cannot see the attempt (tp_btf/sys_exit still does)
        if action == "kernel-module" && uncaptured.iter().any(|s| s == "finit_module") {
            eprintln!(
                "*** {attach}: finit_module is not captured on this kernel: {rule} not expected"
            );
            assert!(!rules.contains_key(&rule));
            continue;
        }
        if !rules.contains_key(&rule) {
            missing.push(format!("{action} → {rule}"));
        }
    }
    assert!(missing.is_empty(), "rules that did not fire: {missing:#?}\nalerts: {rules:#?}");

    // the right process, file and user
    let shadow = &rules["Read of sensitive file by untrusted program"];
    assert!(shadow.iter().any(|a| field(a, "proc.name") == Some("cat")
        && field(a, "fd.name") == Some("/etc/shadow")
        && field(a, "user.name") == Some("root")));
    let etc = &rules["Write below etc"];
    assert!(etc.iter().any(|a| field(a, "proc.name") == Some("touch")
        && field(a, "fd.name").is_some_and(|n| n.starts_with("/etc/lanner-generate-"))));
    let su = &rules["Sudo or su in container"];
    assert!(su.iter().any(|a| field(a, "proc.cmdline") == Some("su root -c true")
        && field(a, "container.id").is_some_and(|id| id.starts_with("6c616e6e6572"))));
    let socket = &rules["Container runtime socket opened in container"];
    assert!(
        socket.iter().any(|a| field(a, "fd.name").is_some_and(|n| n.ends_with("/docker.sock")))
    );
    let root = &rules["Privilege change to root by a non-root process"];
    assert!(root.iter().any(|a| {
        field(a, "proc.cmdline").is_some_and(|c| c.ends_with("generate --child privilege-change"))
    }));
    // the program written at run time, in the container; not the image's own program (the
    // lower layer), nor any action's program outside an overlayfs (all run as root, so all
    // their exes count as writable)
    let dropped = &rules["Dropped executable run in container"];
    assert!(
        dropped.iter().all(|a| is_dropped_exe(a)
            && field(a, "container.id").is_some_and(|id| id.starts_with("6c616e6e6572"))
            && field(a, "user.name") == Some("root")),
        "{dropped:#?}"
    );
    // only the action that mounts inside its container: `dropped-executable` sets up its
    // container's root before it joins the container, as a runtime does
    let mounts = &rules["Mount inside a container"];
    assert!(
        mounts.iter().all(|a| field(a, "proc.name") == Some("mount")
            && field(a, "evt.arg.dev") == Some("lanner-generate")),
        "{mounts:#?}"
    );
    if let Some(modules) = rules.get("Kernel module loading") {
        assert!(
            modules.iter().all(|a| field(a, "evt.type") == Some("finit_module")
                && field(a, "container.id").is_some_and(|id| id.starts_with("6c616e6e6572"))
                && text(a, "evt.res") != "SUCCESS"),
            "{modules:#?}"
        );
    }
    let mining = &rules["Connection to a mining pool port"];
    assert!(mining.iter().any(|a| field(a, "fd.name").is_some_and(|n| n.ends_with(":3333"))));
    assert_eq!(drops(&log), 0, "the probe dropped events at normal load:\n{}", log.join("\n"));

    // the recording replays to the same alerts
    let out = Command::new(LANNER)
        .args(["-r", "rules/lanner_rules.yaml", "-e", &capture, "-o", "json_output=true"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let replayed: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let count = |m: &BTreeMap<String, Vec<&serde_json::Value>>| -> BTreeMap<String, usize> {
        m.iter().map(|(k, v)| (k.clone(), v.len())).collect()
    };
    assert_eq!(count(&by_rule(&replayed)), count(&rules));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn upstream_falco_rules_catch_generated_actions_live() {
    if let Err(why) = can_run_live() {
        eprintln!("\n*** SKIPPED live detection tests: {why} ***\n");
        return;
    }
    let rules =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/rules/falco_rules.yaml");
    if !Path::new(rules).exists() {
        eprintln!("\n*** SKIPPED upstream live test: {rules} is missing ***\n");
        return;
    }
    let _serial = SERIAL.lock();
    // tp_btf/sys_exit sees every syscall, also those a kernel built without modules lacks
    // tracepoints for (finit_module: the module injection rule)
    let live = Live::start(&["-r", rules, "--attach", "tp_btf"]);
    generate(&[
        "read-sensitive-file",
        "search-private-keys",
        "symlink-sensitive-file",
        "clear-log-file",
        "exec-from-memfd",
        "ptrace-attach",
        "server-shell",
        "container-shell",
        "netcat-exec",
        "dropped-executable",
        "container-su",
        "kernel-module",
    ]);
    let (alerts, log) = live.stop();
    let rules = by_rule(&alerts);
    for rule in [
        "Read sensitive file untrusted",
        "Search Private Keys or Passwords",
        "Create Symlink Over Sensitive Files",
        "Clear Log Activities",
        "Fileless execution via memfd_create",
        "PTRACE attached to process",
        "Run shell untrusted",
        "Terminal shell in container",
        "Netcat Remote Code Execution in Container",
        "Drop and execute new binary in container",
        "Linux Kernel Module Injection Detected",
    ] {
        assert!(rules.contains_key(rule), "`{rule}` did not fire; alerts: {rules:#?}");
    }
    let shadow = &rules["Read sensitive file untrusted"];
    assert!(shadow.iter().any(
        |a| field(a, "proc.name") == Some("cat") && field(a, "fd.name") == Some("/etc/shadow")
    ));
    let search = &rules["Search Private Keys or Passwords"];
    assert!(search.iter().any(|a| field(a, "proc.name") == Some("find")
        && field(a, "proc.cmdline") == Some("find /nonexistent/lanner-generate -name id_rsa")));
    // only the program written at run time: not the image's (lower layer) nor the other
    // container actions' programs (not on an overlayfs); the container has no image, so
    // `container.image.repository in (known_drop_and_execute_containers)` (an empty list)
    // holds no exception for it
    let dropped = &rules["Drop and execute new binary in container"];
    assert!(
        dropped.iter().all(|a| is_dropped_exe(a)
            && field(a, "evt.arg.flags") == Some("EXE_WRITABLE|EXE_UPPER_LAYER")
            && field(a, "proc.pname") == Some("exe")),
        "{dropped:#?}"
    );
    let terminal = &rules["Terminal shell in container"];
    assert!(
        terminal
            .iter()
            .any(|a| field(a, "proc.name") == Some("sh") && field(a, "proc.pname") == Some("runc")),
        "{terminal:#?}"
    );
    assert_eq!(drops(&log), 0);
}

/// The exe flags of execve (`proc.is_exe_writable`, `proc.is_exe_upper_layer`,
/// `proc.is_exe_lower_layer`, `evt.arg.flags`) for the cases that tell the probe's tests
/// apart: root (CAP_DAC_OVERRIDE) and an unprivileged user on a root-owned 0755 program, that
/// user on a program it owns, and the image's and the dropped program on a container's
/// overlayfs.
#[test]
fn exe_flags_say_who_can_write_the_exe_and_its_overlay_layer_live() {
    if let Err(why) = can_run_live() {
        eprintln!("\n*** SKIPPED live detection tests: {why} ***\n");
        return;
    }
    let _serial = SERIAL.lock();
    let dir = tempfile_dir();
    let rules = format!("{dir}/exe-flags.yaml");
    std::fs::write(
        &rules,
        r#"
- rule: Exe flags
  desc: the execs of this test, with their exe flags
  condition: >
    evt.type in (execve, execveat) and evt.rawres = 0
    and (proc.args startswith "lanner-exe-flags-" or proc.name in (image-true, dropped-true))
  output: >
    exe flags (flags=%evt.arg.flags writable=%proc.is_exe_writable
    upper=%proc.is_exe_upper_layer lower=%proc.is_exe_lower_layer uid=%user.uid
    exe=%proc.exepath args=%proc.args)
  priority: NOTICE
"#,
    )
    .unwrap();
    // nobody's own copy of true, in a directory nobody can reach
    let own = format!("{dir}/own-true");
    std::fs::copy("/bin/true", &own).unwrap();
    std::os::unix::fs::chown(&own, Some(65534), Some(65534)).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&own, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    let live = Live::start(&["-r", &rules]);
    let run = |program: &str, arg: &str, nobody: bool| {
        let mut cmd = Command::new(program);
        cmd.arg(arg);
        if nobody {
            // std drops the supplementary groups when it sets the uid as root
            std::os::unix::process::CommandExt::uid(&mut cmd, 65534);
            std::os::unix::process::CommandExt::gid(&mut cmd, 65534);
        }
        assert!(cmd.status().unwrap().success(), "{program} {arg}");
    };
    run("/bin/true", "lanner-exe-flags-root", false);
    run("/bin/true", "lanner-exe-flags-nobody", true);
    run(&own, "lanner-exe-flags-nobody-owner", true);
    generate(&["dropped-executable"]);
    let (alerts, _log) = live.stop();
    let _ = std::fs::remove_dir_all(&dir);

    // (evt.arg.flags, writable, upper, lower) of the alerts whose `key` is `value`
    let flags = |key: &str, value: &str| -> Vec<[String; 4]> {
        alerts
            .iter()
            .filter(|a| text(a, key) == value)
            .map(|a| {
                [
                    "evt.arg.flags",
                    "proc.is_exe_writable",
                    "proc.is_exe_upper_layer",
                    "proc.is_exe_lower_layer",
                ]
                .map(|f| text(a, f))
            })
            .collect()
    };
    let row = |f: &str, w: &str, u: &str, l: &str| vec![[f, w, u, l].map(str::to_owned)];
    let merged = |name: &str| {
        let exe = alerts
            .iter()
            .filter_map(|a| field(a, "proc.exepath"))
            .find(|p| p.ends_with(&format!("-overlay/merged/{name}")))
            .unwrap_or_else(|| panic!("no exec of {name}: {alerts:#?}"));
        exe.to_owned()
    };
    // root may write any file on a writable file system (CAP_DAC_OVERRIDE)
    assert_eq!(
        flags("proc.args", "lanner-exe-flags-root"),
        row("EXE_WRITABLE", "true", "false", "false"),
        "{alerts:#?}"
    );
    // nobody may not write root's 0755 program, and has no capability
    assert_eq!(
        flags("proc.args", "lanner-exe-flags-nobody"),
        row("0", "false", "false", "false"),
        "{alerts:#?}"
    );
    // the owner may (it may chmod it at least)
    assert_eq!(
        flags("proc.args", "lanner-exe-flags-nobody-owner"),
        row("EXE_WRITABLE", "true", "false", "false"),
        "{alerts:#?}"
    );
    // the image's program comes from the lower layer, the dropped one from the upper
    assert_eq!(
        flags("proc.exepath", &merged("image-true")),
        row("EXE_WRITABLE|EXE_LOWER_LAYER", "true", "false", "true"),
        "{alerts:#?}"
    );
    assert_eq!(
        flags("proc.exepath", &merged("dropped-true")),
        row("EXE_WRITABLE|EXE_UPPER_LAYER", "true", "true", "false"),
        "{alerts:#?}"
    );
}

/// The live tests must not watch each other's actions.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn tempfile_dir() -> String {
    let dir = std::env::temp_dir().join(format!("lanner-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.to_string_lossy().into_owned()
}
