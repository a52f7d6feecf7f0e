//! The synthetic captures of `testdata/scap-synthetic` (made by its `make.py`): one per block
//! layout or oddity the fixture captures lack — process lists V1 to V9 with their old block
//! codes, interface and user lists V1, version-1, flagged and large event blocks, pcapng and
//! unknown blocks, concatenated sections, damaged framing, container events.
//!
//! Those Debian's sysdig opens must list exactly as sysdig lists them (goldens in
//! `testdata/golden/inspect-synthetic`, by `scripts/make-inspect-goldens`), but for the text
//! [`LISTED_DIFFERENTLY`] says. Those it refuses or crashes on are listed in
//! [`REFUSED_BY_SYSDIG`] with what lanner does instead, and why.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Captures with events sysdig 0.29.3 does not number (types >= 336): lanner numbers them, so
/// its numbers differ (see `tests/inspect.rs`).
const NUMBERED_DIFFERENTLY: &[&str] = &["t17_ev_type_ge_336.scap", "t17_ev_type_ge_336.scap.gz"];

/// Captures sysdig lists differently on purpose: (capture, text of sysdig's listing, lanner's
/// text in its place, why). The rest of the listing must match.
const LISTED_DIFFERENTLY: &[(&str, &str, &str, &str)] = &[(
    "c02_container_metadata_later.scap",
    "container:1d9283d848ea (-1)",
    "<NA> (-1)",
    "libs 2022 made a thread named `container:ID` for container events; current libs leaves \
     container events to the container plugin, which makes none (tid -1 has no thread)",
)];

/// (capture, what lanner prints with `-D` or the error it ends with, why it differs from sysdig).
const REFUSED_BY_SYSDIG: &[(&str, Result<&str, &str>, &str)] = &[
    ("t03_shb_only.scap", Ok(""), "a capture with no events is empty, not an error"),
    ("t03_shb_only.scap.gz", Ok(""), "as t03_shb_only.scap"),
    ("t04_header_no_events.scap", Ok(""), "a capture with no events is empty, not an error"),
    ("t04_header_no_events.scap.gz", Ok(""), "as t04_header_no_events.scap"),
    (
        "t06_unknown_block_after_events.scap",
        Ok(CLOSE_TWICE),
        "an unknown block after the first event is skipped, as unknown blocks are before it",
    ),
    ("t06_unknown_block_after_events.scap.gz", Ok(CLOSE_TWICE), "as the plain twin"),
    (
        "t11_shb_with_options.scap",
        Ok(CLOSE_UNKNOWN_THREAD),
        "pcapng options in the section header are skipped (current libs does too)",
    ),
    ("t11_shb_with_options.scap.gz", Ok(CLOSE_UNKNOWN_THREAD), "as the plain twin"),
    (
        "t12_mi_bigger_body.scap",
        Ok(CLOSE_UNKNOWN_THREAD),
        "a machine info block longer than its 180 bytes is read up to its trailer",
    ),
    ("t12_mi_bigger_body.scap.gz", Ok(CLOSE_UNKNOWN_THREAD), "as the plain twin"),
    (
        "t13_fdl_unknown_tid.scap",
        Ok(CLOSE),
        "an fd list of a thread missing from the process list is ignored (current libs too)",
    ),
    ("t13_fdl_unknown_tid.scap.gz", Ok(CLOSE), "as the plain twin"),
    (
        "t14_fd_type_bpf.scap",
        Ok(CLOSE),
        "fd type 17 (bpf) is known to current libs; the 2022 reader stops at it",
    ),
    ("t14_fd_type_bpf.scap.gz", Ok(CLOSE), "as the plain twin"),
    (
        "t22_ev_v2_nparams_lt_table.scap",
        Ok(OPEN_THEN_CLOSE),
        "sysdig 0.29.3 crashes (SIGSEGV) on an event with fewer parameters than its table; \
         lanner prints the parameters the event has",
    ),
    ("t22_ev_v2_nparams_lt_table.scap.gz", Ok(OPEN_THEN_CLOSE), "as the plain twin"),
    (
        "t25_plugin_ev_in_ev_v2_over_64k.scap",
        Ok(PLUGIN_THEN_CLOSE),
        "a large-payload event in a plain EV_V2 block over 64 KiB is read by its own length",
    ),
    ("t29_v1_nparams_short.scap", Ok(OPEN_THEN_CLOSE), "as t22, in a version-1 event block"),
    (
        "c03_container_bad_json.scap",
        Ok(BAD_CONTAINER_JSON),
        "sysdig 0.29.3 stops at a container event whose JSON does not parse; the container \
         plugin's parser fails on the event and Falco goes on, and so does lanner (counted)",
    ),
    (
        "t31_major2.scap",
        Err(
            "unsupported capture: file format version 2.0 (in SHB block 0x0a0d0d0a at byte offset 0)",
        ),
        "refused by both",
    ),
    (
        "t32_bad_magic.scap",
        Err("unsupported capture: the capture was written on a big-endian machine (in SHB block \
             0x0a0d0d0a at byte offset 0)"),
        "refused by both",
    ),
    (
        "t33_bad_trailer.scap",
        Err("corrupt capture: block trailer says 1 bytes but the header says 192 (in MI block \
             0x00000201 at byte offset 28)"),
        "refused by both",
    ),
    (
        "t36_trailing_garbage_3bytes.scap",
        Err("truncated capture: block header needs 8 bytes but only 3 remain (at byte offset 740)"),
        "both print the events, then fail",
    ),
];

const CLOSE: &str = "1 12:26:40.000000000 0 myproc (1234) > close fd=3(<f>/etc/passwd) \n\
                     2 12:26:40.000001000 0 myproc (1234) < close res=0 \n";
const CLOSE_TWICE: &str = "1 12:26:40.000000000 0 myproc (1234) > close fd=3(<f>/etc/passwd) \n\
                           2 12:26:40.000001000 0 myproc (1234) < close res=0 \n\
                           3 12:26:40.001000000 0 myproc (1234) > close fd=3 \n\
                           4 12:26:40.001001000 0 myproc (1234) < close res=0 \n";
const CLOSE_UNKNOWN_THREAD: &str = "1 12:26:40.000000000 0 <NA> (1234) > close fd=3 \n\
                                    2 12:26:40.000001000 0 <NA> (1234) < close res=0 \n";
const OPEN_THEN_CLOSE: &str = "1 12:26:40.000000000 0 myproc (1234) < open fd=3(<f>/etc/x) name=/etc/x \n\
     2 12:26:40.000000005 0 myproc (1234) > close fd=3(<f>/etc/x) \n\
     3 12:26:40.000001005 0 myproc (1234) < close res=0 \n";
const PLUGIN_THEN_CLOSE: &str = "1 2020-09-13 12:26:40 [<NA>] <NA>\n\
                                 2 12:26:40.000000005 0 myproc (1234) > close fd=3(<f>/etc/passwd) \n\
                                 3 12:26:40.000001005 0 myproc (1234) < close res=0 \n";

const BAD_CONTAINER_JSON: &str = "1 12:26:40.000000000 0 postgres (900) < openat fd=5(<f>/etc/hosts) dirfd=-100(AT_FDCWD) name=/etc/hosts flags=1(O_RDONLY) mode=0 dev=0 \n\
     2 12:26:40.000000100 0 postgres (900) > close fd=5(<f>/etc/hosts) \n\
     3 12:26:40.000000200 0 postgres (900) < close res=0 \n\
     4 12:26:40.001000000 0 <NA> (-1) > container json={\"container\": {\"id\":  \n\
     5 12:26:40.002000000 0 postgres (900) < openat fd=5(<f>/etc/hostname) dirfd=-100(AT_FDCWD) name=/etc/hostname flags=1(O_RDONLY) mode=0 dev=0 \n\
     6 12:26:40.002000100 0 postgres (900) > close fd=5(<f>/etc/hostname) \n\
     7 12:26:40.002000200 0 postgres (900) < close res=0 \n";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn lanner(capture: &Path, flag: Option<&str>) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lanner"));
    cmd.args(["inspect", "-r"]).arg(capture).args(flag).env("TZ", "UTC");
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn synthetic_captures_list_like_sysdig() {
    let dir = root().join("testdata/scap-synthetic");
    let golden = root().join("testdata/golden/inspect-synthetic");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".scap") || n.ends_with(".scap.gz"))
        .collect();
    names.sort();
    assert!(names.len() >= 70, "{} synthetic captures", names.len());
    let mut failures = Vec::new();
    let (mut compared, mut refused) = (0, 0);
    for name in &names {
        let capture = dir.join(name);
        if golden.join(format!("{name}.err")).exists() {
            refused += 1;
            let Some(&(_, expected, _)) = REFUSED_BY_SYSDIG.iter().find(|(n, ..)| n == name) else {
                failures.push(format!(
                    "{name}: sysdig refuses it; say what lanner does in REFUSED_BY_SYSDIG"
                ));
                continue;
            };
            let (ok, out, err) = lanner(&capture, Some("-D"));
            match expected {
                Ok(want) if !ok || out != want => {
                    failures.push(format!("{name}: expected\n{want}got (ok={ok})\n{out}{err}"));
                }
                Err(want) if ok || !err.trim_end().ends_with(want) => {
                    failures.push(format!("{name}: expected the error `{want}`, got `{err}`"));
                }
                _ => {}
            }
            continue;
        }
        if NUMBERED_DIFFERENTLY.contains(&name.as_str()) {
            continue;
        }
        for (flag, suffix) in [(None, ""), (Some("-D"), ".D")] {
            let mut want =
                std::fs::read_to_string(golden.join(format!("{name}{suffix}.txt"))).unwrap();
            for (_, theirs, ours, _) in LISTED_DIFFERENTLY.iter().filter(|(n, ..)| n == name) {
                assert!(want.contains(theirs), "{name}: `{theirs}` is not in sysdig's listing");
                want = want.replace(theirs, ours);
            }
            let (ok, out, err) = lanner(&capture, flag);
            compared += 1;
            if !ok || out != want {
                failures.push(format!(
                    "{name} {flag:?}: lanner printed\n{out}{err}sysdig printed\n{want}"
                ));
            }
        }
    }
    eprintln!(
        "{} synthetic captures: {compared} listings compared with sysdig, {refused} refused by sysdig",
        names.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
