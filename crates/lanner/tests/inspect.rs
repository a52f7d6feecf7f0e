//! `lanner inspect -r` against sysdig: for every capture of `testdata/scap`, the lines lanner
//! prints are compared with what Debian's sysdig 0.29.3 printed for the same capture
//! (`testdata/golden/inspect`, made by `scripts/make-inspect-goldens`), in the default mode,
//! with `-D` (internal events) and with `-v` (whole buffers).
//!
//! The comparison is byte for byte, process state included (command names, fd names and
//! types, pid annotations, paths resolved against working directories). Where lanner deliberately follows the current libs event table rather than the 2022 one of
//! Debian's sysdig, the case is listed in [`DIVERGENCES`] with the reason.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use lanner_event::RawEvent;
use lanner_scap::Reader;

/// Event types below this are the ones the 2022 libscap knows (`PPM_EVENT_MAX` was 336); it
/// skips the others without numbering them. Current libs (and lanner) know 430.
const SYSDIG_EVENT_MAX: u16 = 336;

/// Parameters whose value lanner prints differently from sysdig 0.29.3, on purpose.
const DIVERGENCES: &[(u16, &str, &str)] = &[
    // libs made the result of mmap/mmap2 a PT_ERRNO (decimal, with the errno name when
    // negative); the 2022 table had a PT_UINT64 printed in hex.
    (161, "res", "mmap result is an errno in the current libs table"),
    (163, "res", "mmap2 result is an errno in the current libs table"),
];

/// Event types libs renamed since 2022: (type, sysdig 0.29.3's name).
const RENAMED: &[(u16, &str)] = &[
    // `sysdigevent` became `scapevent` when libs dropped the sysdig name from its internals.
    (196, "sysdigevent"),
];

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
    assert_eq!(names.len(), 8);
    names
}

/// Every event of a capture by lanner's number (1-based, in file order).
fn events(name: &str) -> Vec<Vec<u8>> {
    let mut reader = Reader::open(root().join(format!("testdata/scap/{name}.scap"))).unwrap();
    let mut out = Vec::new();
    while let Some(rec) = reader.next().unwrap() {
        out.push(rec.event.as_bytes().to_vec());
    }
    out
}

fn lanner(args: &[&str]) -> String {
    // The goldens were made with TZ=UTC; times print in local time, as sysdig does.
    let out =
        Command::new(env!("CARGO_BIN_EXE_lanner")).args(args).env("TZ", "UTC").output().unwrap();
    assert!(
        out.status.success(),
        "lanner {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("fixture output is UTF-8")
}

/// Replaces the value of a parameter (`name=value `) with `*`, in a line of the given event.
fn mask_param(line: &str, name: &str) -> String {
    let key = format!(" {name}=");
    match line.find(&key) {
        Some(at) => {
            let start = at + key.len();
            let end = line[start..].find(' ').map_or(line.len(), |e| start + e);
            format!("{}*{}", &line[..start], &line[end..])
        }
        None => line.to_owned(),
    }
}

/// Compares one line of lanner with one of sysdig for the same event, after applying the listed
/// divergences to both. Returns how many divergences applied.
fn compare_line(ours: &str, theirs: &str, ev: &RawEvent<'_>) -> Result<usize, String> {
    let mut ours = ours.to_owned();
    let mut theirs = theirs.to_owned();
    let mut applied = 0;
    if let Some(&(_, old)) = RENAMED.iter().find(|&&(ty, _)| ty == ev.event_type()) {
        theirs = theirs.replacen(&format!(" {old} "), &format!(" {} ", ev.name()), 1);
        applied += 1;
    }
    for &(ty, name, _) in DIVERGENCES {
        if ty == ev.event_type() {
            ours = mask_param(&ours, name);
            theirs = mask_param(&theirs, name);
            applied += 1;
        }
    }
    if ours == theirs { Ok(applied) } else { Err("lines differ".into()) }
}

fn check(name: &str, flag: Option<&str>, golden_suffix: &str) -> usize {
    let path = root().join("testdata/scap").join(format!("{name}.scap"));
    let mut args = vec!["inspect", "-r", path.to_str().unwrap()];
    args.extend(flag);
    let ours = lanner(&args);
    let golden = std::fs::read_to_string(
        root().join(format!("testdata/golden/inspect/{name}{golden_suffix}.txt")),
    )
    .unwrap();
    let events = events(name);

    // sysdig's number for each of lanner's numbers: events of types the 2022 libscap does not
    // know are not numbered there.
    let mut sysdig_num = HashMap::new();
    let mut n = 0u64;
    for (i, ev) in events.iter().enumerate() {
        let ev = RawEvent::new(ev).unwrap();
        if ev.event_type() < SYSDIG_EVENT_MAX {
            n += 1;
            sysdig_num.insert(i as u64 + 1, n);
        }
    }

    let mut ours_lines = Vec::new();
    for line in ours.lines() {
        let num: u64 = line.split(' ').next().unwrap().parse().unwrap();
        let Some(&theirs_num) = sysdig_num.get(&num) else { continue };
        let rest = &line[line.find(' ').unwrap()..];
        ours_lines.push((num, format!("{theirs_num}{rest}")));
    }
    let theirs_lines: Vec<&str> = golden.lines().collect();
    let ours_nums: Vec<String> =
        ours_lines.iter().map(|(_, l)| l.split(' ').next().unwrap().to_owned()).collect();
    let theirs_nums: Vec<&str> =
        theirs_lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(ours_nums, theirs_nums, "{name} {flag:?}: the listed event numbers differ");

    let mut divergent = 0;
    let mut failures = Vec::new();
    for ((num, ours), theirs) in ours_lines.iter().zip(&theirs_lines) {
        let ev = RawEvent::new(&events[*num as usize - 1]).unwrap();
        match compare_line(ours, theirs, &ev) {
            Ok(n) => divergent += n,
            Err(why) => failures
                .push(format!("  event {num}: {why}\n    lanner: {ours}\n    sysdig: {theirs}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{name} {flag:?}: {} of {} lines differ:\n{}",
        failures.len(),
        theirs_lines.len(),
        failures.iter().take(15).cloned().collect::<Vec<_>>().join("\n")
    );
    divergent
}

#[test]
fn inspect_matches_sysdig() {
    let mut report = Vec::new();
    for name in captures() {
        for (flag, suffix) in [(None, ""), (Some("-D"), ".D"), (Some("-v"), ".v")] {
            let divergent = check(&name, flag, suffix);
            report.push(format!("{name}{suffix}: identical, {divergent} listed divergences"));
        }
    }
    eprintln!("{}", report.join("\n"));
}
