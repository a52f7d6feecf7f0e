//! The differential proof of fields, state and filters: every filter of
//! `testdata/filter/differential.txt` runs on every fixture capture through
//! `lanner inspect -r CAP -p %evt.num FILTER`, and must match exactly the events Debian's sysdig
//! 0.29.3 matched (`testdata/golden/filter`, made by `scripts/make-filter-goldens`).
//!
//! Where lanner deliberately follows current libs (what Falco runs today) rather than the 2022
//! libs of Debian's sysdig, the case is listed in [`DIVERGENCES`] with the reason; those
//! filters still run (they must compile and evaluate) but are not compared.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use lanner_event::RawEvent;
use lanner_scap::Reader;

/// Event types the 2022 libscap knows; it skips later ones without numbering them.
const SYSDIG_EVENT_MAX: u16 = 336;

/// (capture or `*`, filter, why lanner's result differs from sysdig 0.29.3's).
const DIVERGENCES: &[(&str, &str, &str)] = &[
    (
        "*",
        "user.name exists  ||  user.name exists and user.uid!=4294967295",
        "current libs names unknown users `<NA>` (a value) where 2022 libs had none; the \
         equivalent filter excludes exactly those users",
    ),
    (
        "cat_write",
        "fd.num>=0",
        "mmap uses an fd in the current event table (EF_USES_FD), not in 2022's: its fd \
         argument (-1 as 4294967295) is the event's fd",
    ),
    ("cat_write", "fd.uid exists", "same mmap table change as fd.num>=0"),
    ("curl_google_comments", "fd.num>=0", "same mmap table change as fd.num>=0"),
    ("curl_google_comments", "fd.uid exists", "same mmap table change as fd.num>=0"),
    ("cat_write", "fd.num<3", "same mmap table change as fd.num>=0"),
    ("curl_google_comments", "fd.num<3", "same mmap table change as fd.num>=0"),
    (
        "*",
        "user.loginname exists",
        "current libs names an unknown login user `<NA>` (a value) where 2022 libs had none",
    ),
    (
        "*",
        "not not evt.type=open",
        "sysdig 0.29.3's parser reads `not not X` as `not X`; current libs (and lanner) cancel \
         the two negations",
    ),
    (
        "sample",
        "evt.num<150",
        "sample.scap starts with 95 useradded/groupadded events, which the 2022 libscap does \
         not know and does not number: every number after them differs",
    ),
    ("sample", "evt.num>=200 and evt.num<=210", "numbering of sample.scap, as evt.num<150"),
    (
        "sample",
        "evt.reltime.ns<1000000",
        "relative times count from the first event, one of the 95 events sysdig 0.29.3 skips",
    ),
    (
        "sample",
        "proc.tty=0",
        "sample.scap's process list has the libs >= 0.10 entry tail, which the 2022 reader \
         misreads (its tty and loginuid are garbage there)",
    ),
    ("sample", "proc.tty!=0", "process list tail of sample.scap, as proc.tty=0"),
    ("sample", "user.loginuid=-1", "process list tail of sample.scap, as proc.tty=0"),
    ("sample", "user.loginuid=1000", "process list tail of sample.scap, as proc.tty=0"),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The corpus: (lanner filter, whole line).
fn corpus() -> Vec<(String, String)> {
    std::fs::read_to_string(root().join("testdata/filter/differential.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| (l.split("  ||  ").next().unwrap().to_owned(), l.to_owned()))
        .collect()
}

/// For each of lanner's event numbers, sysdig's (events of types sysdig does not know are not
/// numbered there).
fn sysdig_numbers(capture: &Path) -> HashMap<u64, u64> {
    let mut reader = Reader::open(capture).unwrap();
    let (mut ours, mut theirs) = (0, 0);
    let mut map = HashMap::new();
    while let Some(rec) = reader.next().unwrap() {
        ours += 1;
        if RawEvent::event_type(&rec.event) < SYSDIG_EVENT_MAX {
            theirs += 1;
            map.insert(ours, theirs);
        }
    }
    map
}

fn run_lanner(capture: &Path, filter: &str) -> Result<Vec<u64>, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_lanner"))
        .args(["inspect", "-r"])
        .arg(capture)
        .args(["-p", "%evt.num", filter])
        .env("TZ", "UTC")
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8(out.stdout).unwrap().lines().map(|l| l.parse().unwrap()).collect())
}

#[test]
fn filters_match_what_sysdig_matches() {
    let corpus = corpus();
    assert!(corpus.len() >= 150, "the corpus has {} filters", corpus.len());
    let mut captures: Vec<String> = std::fs::read_dir(root().join("testdata/scap"))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "scap")
                .then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    captures.sort();

    let mut failures = Vec::new();
    let (mut compared, mut skipped) = (0, 0);
    for name in &captures {
        let capture = root().join(format!("testdata/scap/{name}.scap"));
        let numbers = sysdig_numbers(&capture);
        let golden =
            std::fs::read_to_string(root().join(format!("testdata/golden/filter/{name}.tsv")))
                .unwrap();
        let expected: HashMap<&str, (&str, &str)> = golden
            .lines()
            .map(|l| {
                let mut cols = l.splitn(3, '\t');
                (cols.next().unwrap(), (cols.next().unwrap(), cols.next().unwrap_or("")))
            })
            .collect();
        // Run the filters of this capture on all cores.
        let chunks: Vec<_> = corpus.iter().enumerate().collect();
        let per = chunks.len().div_ceil(4);
        let results: Vec<(usize, Result<Vec<u64>, String>)> = std::thread::scope(|s| {
            let handles: Vec<_> = chunks
                .chunks(per)
                .map(|chunk| {
                    let capture = &capture;
                    s.spawn(move || {
                        chunk
                            .iter()
                            .map(|(i, (f, _))| (*i, run_lanner(capture, f)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        for (i, result) in results {
            let (filter, line) = &corpus[i];
            let ours = match result {
                Ok(nums) => nums,
                Err(e) => {
                    failures.push(format!("{name}: `{filter}` failed in lanner: {e}"));
                    continue;
                }
            };
            let Some(&(count, nums)) = expected.get(filter.as_str()) else {
                failures.push(format!(
                    "{name}: `{filter}` has no golden; rerun scripts/make-filter-goldens"
                ));
                continue;
            };
            if DIVERGENCES
                .iter()
                .any(|&(cap, l, _)| (cap == "*" || cap == name) && (l == line || l == filter))
            {
                skipped += 1;
                continue;
            }
            if count == "error" {
                failures.push(format!("{name}: `{line}`: sysdig rejected it ({nums})"));
                continue;
            }
            let ours: Vec<String> =
                ours.iter().filter_map(|n| numbers.get(n)).map(u64::to_string).collect();
            let theirs: Vec<&str> = nums.split(' ').filter(|s| !s.is_empty()).collect();
            compared += 1;
            if ours != theirs {
                failures.push(format!(
                    "{name}: `{filter}`\n    lanner: {}\n    sysdig: {}",
                    ours.join(" "),
                    theirs.join(" ")
                ));
            }
        }
    }
    eprintln!(
        "{} filters x {} captures: {compared} compared, {skipped} listed divergences",
        corpus.len(),
        captures.len()
    );
    assert!(failures.is_empty(), "{} differences:\n{}", failures.len(), failures.join("\n"));
}
