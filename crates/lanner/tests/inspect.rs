//! `lanner inspect -r` against sysdig: for every capture of `testdata/scap`, the lines lanner
//! prints are compared with what Debian's sysdig 0.29.3 printed for the same capture
//! (`testdata/golden/inspect`, made by `scripts/make-inspect-goldens`), in the default mode,
//! with `-D` (internal events) and with `-v` (whole buffers).
//!
//! The comparison is byte for byte except for the parts that need process state, which
//! `lanner inspect` does not track yet: the `proc.name` column, and the `(...)` annotation of
//! parameters whose rendering depends on state (an fd's type and name, a pid's command, a user's
//! name, a relative path resolved against the working directory, the type letters of an fd
//! list). Those are masked on both sides and counted; every other character must match.
//!
//! Where lanner deliberately follows the current libs event table rather than the 2022 one of
//! Debian's sysdig, the case is listed in [`DIVERGENCES`] with the reason.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use lanner_event::render::{self, NoState, RenderOptions};
use lanner_event::{ParamType, RawEvent};
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

#[derive(Default)]
struct Masked {
    proc_names: usize,
    annotations: usize,
    divergent_values: usize,
}

/// Compares one line of lanner with one of sysdig for the same event.
fn compare_line(
    ours: &str,
    theirs: &str,
    ev: &RawEvent<'_>,
    verbose: bool,
    masked: &mut Masked,
) -> Result<(), String> {
    let tid_marker = format!(" ({}) ", ev.tid());
    let split = |line: &str| -> Option<(usize, usize)> {
        // `num time cpu ` is three tokens; the name runs to ` (tid) `.
        let mut at = 0;
        for _ in 0..3 {
            at += line[at..].find(' ')? + 1;
        }
        Some((at, at + line[at..].find(&tid_marker)?))
    };
    let (Some((o_name, o_tid)), Some((t_name, t_tid))) = (split(ours), split(theirs)) else {
        return Err("cannot find the thread column".into());
    };
    if ours[..o_name] != theirs[..t_name] {
        return Err(format!(
            "number, time or cpu differ: `{}` vs `{}`",
            &ours[..o_name],
            &theirs[..t_name]
        ));
    }
    if ours[o_name..o_tid] != theirs[t_name..t_tid] {
        masked.proc_names += 1;
    }
    let ours = &ours[o_tid..];
    let renamed;
    let theirs = match RENAMED.iter().find(|&&(ty, _)| ty == ev.event_type()) {
        Some(&(_, old)) => {
            renamed = theirs[t_tid..].replacen(&format!(" {old} "), &format!(" {} ", ev.name()), 1);
            masked.divergent_values += 1;
            renamed.as_str()
        }
        None => &theirs[t_tid..],
    };
    // ` (tid) dir type `
    let head_len = tid_marker.len() + 2 + render::event_type_name(ev).len() + 1;
    if ours.get(..head_len) != theirs.get(..head_len) {
        return Err(format!("thread, direction or type differ: `{ours}` vs `{theirs}`"));
    }
    let mut rest = &theirs[head_len..];
    let info = ev.info().unwrap();
    let opts = RenderOptions {
        max_buffer_len: if verbose { None } else { Some(80) },
        ..RenderOptions::default()
    };
    if ev.event_type() > 1 {
        for (i, param) in info.params.iter().enumerate().take(ev.nparams()) {
            let (mut value, mut resolved) = (Vec::new(), Vec::new());
            render::render_param(&mut value, &mut resolved, ev, i, &NoState, &opts);
            let value = String::from_utf8(value).unwrap();
            let resolved = String::from_utf8(resolved).unwrap();
            let prefix = format!("{}=", param.name);
            rest = rest
                .strip_prefix(&prefix)
                .ok_or_else(|| format!("expected `{prefix}` at `{rest}`"))?;
            if DIVERGENCES.iter().any(|&(ty, name, _)| ty == ev.event_type() && name == param.name)
            {
                let end = rest.find(' ').unwrap_or(rest.len());
                rest = &rest[end..];
                masked.divergent_values += 1;
            } else if param.ty == ParamType::FdList {
                // `fd:<type letter><flags>`: the letters need the fd table; NoState gives `?`.
                if rest.len() < value.len() {
                    return Err(format!("fd list `{value}` vs `{rest}`"));
                }
                let theirs_value = &rest[..value.len()];
                let same =
                    value.bytes().zip(theirs_value.bytes()).enumerate().all(|(k, (a, b))| {
                        a == b || (a == b'?' && k > 0 && value.as_bytes()[k - 1] == b':')
                    });
                if !same {
                    return Err(format!("fd list `{value}` vs `{theirs_value}`"));
                }
                masked.annotations += usize::from(value != theirs_value);
                rest = &rest[value.len()..];
            } else {
                rest = rest.strip_prefix(value.as_str()).ok_or_else(|| {
                    format!("param `{}`: expected value `{value}` at `{rest}`", param.name)
                })?;
                if render::depends_on_state(param) && resolved.is_empty() {
                    if rest.starts_with('(') {
                        let mut depth = 0;
                        let end = rest
                            .char_indices()
                            .find(|&(_, c)| {
                                depth += match c {
                                    '(' => 1,
                                    ')' => -1,
                                    _ => 0,
                                };
                                depth == 0
                            })
                            .map(|(k, _)| k + 1)
                            .ok_or("unbalanced parentheses")?;
                        rest = &rest[end..];
                        masked.annotations += 1;
                    }
                } else if !resolved.is_empty() {
                    let want = format!("({resolved})");
                    rest = rest.strip_prefix(want.as_str()).ok_or_else(|| {
                        format!("param `{}`: expected `{want}` at `{rest}`", param.name)
                    })?;
                }
            }
            rest = rest.strip_prefix(' ').ok_or_else(|| format!("expected a space at `{rest}`"))?;
        }
    }
    if rest != "\n" && !rest.is_empty() {
        return Err(format!("unexpected trailing text `{rest}`"));
    }
    // Our own line must be exactly what the same walk produced: check it renders identically.
    let mut ours_args = Vec::new();
    render::write_args(&mut ours_args, ev, &NoState, &opts, &mut Vec::new());
    if ours[head_len..].trim_end_matches('\n').as_bytes() != ours_args.as_slice() {
        return Err("lanner's own line does not match its renderer".into());
    }
    Ok(())
}

fn check(name: &str, flag: Option<&str>, golden_suffix: &str) -> Masked {
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

    let mut masked = Masked::default();
    let mut failures = Vec::new();
    for ((num, ours), theirs) in ours_lines.iter().zip(&theirs_lines) {
        let ev = RawEvent::new(&events[*num as usize - 1]).unwrap();
        if let Err(why) = compare_line(ours, theirs, &ev, flag == Some("-v"), &mut masked) {
            failures
                .push(format!("  event {num}: {why}\n    lanner: {ours}\n    sysdig: {theirs}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{name} {flag:?}: {} of {} lines differ:\n{}",
        failures.len(),
        theirs_lines.len(),
        failures.iter().take(15).cloned().collect::<Vec<_>>().join("\n")
    );
    masked
}

#[test]
fn inspect_matches_sysdig() {
    let mut report = Vec::new();
    for name in captures() {
        for (flag, suffix) in [(None, ""), (Some("-D"), ".D"), (Some("-v"), ".v")] {
            let m = check(&name, flag, suffix);
            report.push(format!(
                "{name}{suffix}: masked {} proc names, {} state annotations, {} divergent values",
                m.proc_names, m.annotations, m.divergent_values
            ));
        }
    }
    eprintln!("{}", report.join("\n"));
}
