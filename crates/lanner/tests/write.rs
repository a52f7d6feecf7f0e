//! `lanner inspect -r IN -w OUT`: the copy holds the same events as the original, lanner lists it
//! exactly as the original, and Debian's sysdig opens it and prints what it prints for the
//! original (the committed goldens of `testdata/golden/inspect`).
//!
//! sysdig is installed by `scripts/setup`; on a machine without it the sysdig half of the test is
//! skipped with a loud message, never silently.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn captures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("testdata/scap"))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "scap")
                .then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    names
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.env("TZ", "UTC").output().unwrap();
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn lanner(args: &[&str]) -> String {
    run(Command::new(env!("CARGO_BIN_EXE_lanner")).args(args))
}

fn sysdig_available() -> bool {
    Command::new("sysdig").arg("--version").output().is_ok_and(|o| o.status.success())
}

#[test]
fn copies_read_back_identically_and_open_in_sysdig() {
    let dir = std::env::temp_dir().join(format!("lanner-write-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sysdig = sysdig_available();
    if !sysdig {
        eprintln!(
            "\n*** SKIPPING the sysdig half of this test: sysdig is not installed \
             (scripts/setup installs it: apt-get install --no-install-recommends sysdig) ***\n"
        );
    }
    for name in captures() {
        let original = root().join(format!("testdata/scap/{name}.scap"));
        let original = original.to_str().unwrap();
        for (suffix, extra) in [("plain", None), ("gz", Some("-z"))] {
            let copy = dir.join(format!("{name}.{suffix}.scap"));
            let copy = copy.to_str().unwrap();
            let mut args = vec!["inspect", "-r", original, "-w", copy];
            args.extend(extra);
            let printed = lanner(&args);
            assert!(printed.is_empty(), "-w prints nothing");

            for flag in [None, Some("-D")] {
                let mut a = vec!["inspect", "-r", original];
                a.extend(flag);
                let want = lanner(&a);
                let mut a = vec!["inspect", "-r", copy];
                a.extend(flag);
                assert!(
                    lanner(&a) == want,
                    "{name} ({suffix}, {flag:?}): the copy lists differently"
                );
            }

            if sysdig {
                for (flag, golden) in [(None, ""), (Some("-D"), ".D")] {
                    let mut cmd = Command::new("sysdig");
                    cmd.args(["-r", copy]);
                    cmd.args(flag);
                    let got = run(&mut cmd);
                    let want = std::fs::read_to_string(
                        root().join(format!("testdata/golden/inspect/{name}{golden}.txt")),
                    )
                    .unwrap();
                    if got != want {
                        let (n, (g, w)) = got
                            .lines()
                            .zip(want.lines())
                            .enumerate()
                            .find(|(_, (g, w))| g != w)
                            .unwrap_or((0, ("<end>", "<end>")));
                        panic!(
                            "{name} ({suffix}, {flag:?}): sysdig prints the copy differently \
                             ({} vs {} lines); first difference at line {}:\n  copy:     {g}\n  \
                             original: {w}",
                            got.lines().count(),
                            want.lines().count(),
                            n + 1
                        );
                    }
                }
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The synthetic captures sysdig opens: their copies print in sysdig as the originals do.
#[test]
fn synthetic_copies_open_in_sysdig() {
    if !sysdig_available() {
        eprintln!("\n*** SKIPPING synthetic_copies_open_in_sysdig: sysdig is not installed ***\n");
        return;
    }
    let dir = std::env::temp_dir().join(format!("lanner-write-synth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let golden = root().join("testdata/golden/inspect-synthetic");
    let mut checked = 0;
    for entry in std::fs::read_dir(root().join("testdata/scap-synthetic")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let want = golden.join(format!("{name}.D.txt"));
        if !want.exists() {
            continue;
        }
        let copy = dir.join(format!("{name}.copy.scap"));
        lanner(&["inspect", "-r", path.to_str().unwrap(), "-w", copy.to_str().unwrap()]);
        let got = run(Command::new("sysdig").args(["-r", copy.to_str().unwrap(), "-D"]));
        assert_eq!(
            got,
            std::fs::read_to_string(want).unwrap(),
            "{name}: sysdig prints the copy differently"
        );
        checked += 1;
    }
    assert!(checked > 40, "{checked} synthetic copies checked");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn numevents_limits_the_copy() {
    let dir = std::env::temp_dir().join(format!("lanner-write-n-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let original = root().join("testdata/scap/cat_write.scap");
    let copy = dir.join("first.scap");
    lanner(&[
        "inspect",
        "-r",
        original.to_str().unwrap(),
        "-w",
        copy.to_str().unwrap(),
        "-n",
        "140",
    ]);
    let all = lanner(&["inspect", "-r", original.to_str().unwrap(), "-D"]);
    let first = lanner(&["inspect", "-r", copy.to_str().unwrap(), "-D"]);
    let want: Vec<&str> = all.lines().take_while(|l| !l.starts_with("141 ")).collect();
    assert_eq!(first.lines().collect::<Vec<_>>(), want);
    std::fs::remove_dir_all(&dir).unwrap();
}
