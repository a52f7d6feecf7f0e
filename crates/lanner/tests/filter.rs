//! `lanner inspect` with a filter, with `-p` formats, and `-w` with a filter.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn capture(name: &str) -> String {
    root().join(format!("testdata/scap/{name}.scap")).to_string_lossy().into_owned()
}

fn lanner(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lanner")).args(args).env("TZ", "UTC").output().unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn filtered_lines_are_the_unfiltered_ones() {
    let cap = capture("cat_write");
    let all = stdout(&lanner(&["inspect", "-r", &cap]));
    let opens = stdout(&lanner(&["inspect", "-r", &cap, "evt.type=open and evt.dir=<"]));
    let want: Vec<&str> = all.lines().filter(|l| l.contains(" < open ")).collect();
    assert_eq!(opens.lines().collect::<Vec<_>>(), want);
    assert_eq!(want.len(), 4);
    // the filter may be given as several words, as sysdig takes it
    let split = stdout(&lanner(&["inspect", "-r", &cap, "evt.type=open", "and", "evt.dir=<"]));
    assert_eq!(split, opens);
}

#[test]
fn formats_print_fields() {
    let cap = capture("cat_write");
    let out = stdout(&lanner(&[
        "inspect",
        "-r",
        &cap,
        "-p",
        "%evt.num %proc.name %proc.pname %fd.name %fd.directory %evt.res",
        "evt.type=open and evt.dir=<",
    ]));
    assert_eq!(
        out,
        "141 cat bash /etc/ld.so.cache /etc SUCCESS\n\
         151 cat bash /lib/x86_64-linux-gnu/libc.so.6 /lib/x86_64-linux-gnu SUCCESS\n\
         187 cat bash /usr/lib/locale/locale-archive /usr/lib/locale SUCCESS\n\
         197 cat bash /dev/null /dev SUCCESS\n"
    );
    // without `*`, lines with a missing field are left out; with it, they print <NA>
    // (-n counts every event, the 130 hidden procinfo events first, as sysdig does)
    let out = stdout(&lanner(&["inspect", "-r", &cap, "-n", "133", "-p", "%evt.num %fd.name"]));
    assert!(out.is_empty(), "{out}");
    let out = stdout(&lanner(&["inspect", "-r", &cap, "-n", "133", "-p", "*%evt.num %fd.name"]));
    assert_eq!(out, "131 <NA>\n132 <NA>\n133 <NA>\n");
}

#[test]
fn numevents_counts_matching_events() {
    let cap = capture("cat_write");
    let out =
        stdout(&lanner(&["inspect", "-r", &cap, "-n", "2", "-p", "%evt.num", "evt.type=open"]));
    assert_eq!(out, "140\n141\n");
}

#[test]
fn bad_filters_name_the_place() {
    let cap = capture("cat_write");
    let out = lanner(&["inspect", "-r", &cap, "evt.type=open and proc.nmae=cat"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "lanner: invalid filter: unknown field `proc.nmae` (did you mean `proc.name`?) at line 1, \
         column 19\n  evt.type=open and proc.nmae=cat\n                    ^^^^^^^^^\n"
    );
    let out = lanner(&["inspect", "-r", &cap, "evt.type=open and"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("lanner: invalid filter: "));
    let out = lanner(&["inspect", "-r", &cap, "fd.num contains 3"]);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("'contains' operator not supported for numeric filters")
    );
}

#[test]
fn write_keeps_what_matches() {
    let dir = std::env::temp_dir().join(format!("lanner-filter-w-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("opens.scap");
    let copy = copy.to_str().unwrap();
    let cap = capture("cat_write");
    stdout(&lanner(&["inspect", "-r", &cap, "-w", copy, "evt.type=open"]));
    let types = stdout(&lanner(&["inspect", "-r", copy, "-D", "-p", "%evt.type"]));
    assert_eq!(types, "open\n".repeat(8));
    std::fs::remove_dir_all(&dir).unwrap();
}
