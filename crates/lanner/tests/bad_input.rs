//! Damaged, truncated and foreign files: `lanner inspect` prints what it could read, then one
//! clear error that names the byte offset and the block, and exits with 1. Never a panic.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::path::{Path, PathBuf};
use std::process::Command;

fn sample() -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/scap");
    std::fs::read(root.join("sample.scap")).unwrap()
}

/// Offset of the first block of the given type code in a plain capture.
fn block_offset(data: &[u8], code: u32) -> usize {
    let mut off = 0;
    while off + 8 <= data.len() {
        let ty = u32::from_le_bytes(data[off..off + 4].try_into().unwrap());
        let len = u32::from_le_bytes(data[off + 4..off + 8].try_into().unwrap()) as usize;
        if ty == code {
            return off;
        }
        off += len;
    }
    panic!("no block 0x{code:x}");
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn inspect(name: &str, data: &[u8]) -> Run {
    let dir = std::env::temp_dir().join(format!("lanner-bad-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path: PathBuf = dir.join(name);
    std::fs::write(&path, data).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lanner"))
        .args(["inspect", "-r"])
        .arg(&path)
        .env("TZ", "UTC")
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).replace(path.to_str().unwrap(), name),
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut child = Command::new("gzip")
        .arg("-c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(data).unwrap();
    child.wait_with_output().unwrap().stdout
}

#[track_caller]
fn assert_error(run: &Run, message: &str) {
    assert_eq!(run.code, 1, "exit code; stderr: {}", run.stderr);
    assert_eq!(run.stderr.trim_end(), message);
    assert!(!run.stderr.contains("panicked"));
}

#[test]
fn text_file_is_not_a_capture() {
    let run = inspect("notes.txt", b"hello, world\n");
    assert_error(
        &run,
        "lanner: cannot read capture `notes.txt`: not a scap capture: expected a section header \
         block (0x0a0d0d0a), found 0x6c6c6568 (at byte offset 0)",
    );
    let run = inspect("short.txt", b"hello\n");
    assert_error(
        &run,
        "lanner: cannot read capture `short.txt`: not a scap capture: the file is 6 bytes long, \
         too short for a section header (at byte offset 0)",
    );
    let run = inspect("empty.scap", b"");
    assert_error(
        &run,
        "lanner: cannot read capture `empty.scap`: not a scap capture: the file is empty (at byte \
         offset 0)",
    );
}

#[test]
fn missing_file() {
    let out = Command::new(env!("CARGO_BIN_EXE_lanner"))
        .args(["inspect", "-r", "/nonexistent/capture.scap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "lanner: cannot read capture `/nonexistent/capture.scap`: No such file or directory (os \
         error 2)"
    );
}

#[test]
fn truncated_in_the_tables() {
    let data = sample();
    let pl = block_offset(&data, 0x215);
    let run = inspect("cut-tables.scap", &data[..pl + 1000]);
    let needed = u32::from_le_bytes(data[pl + 4..pl + 8].try_into().unwrap());
    assert_error(
        &run,
        &format!(
            "lanner: cannot read capture `cut-tables.scap`: truncated capture: block needs {needed} \
             bytes but only 1000 remain (in PL_V9 block 0x00000215 at byte offset {pl})"
        ),
    );
    assert!(run.stdout.is_empty());
}

#[test]
fn truncated_in_the_events_prints_what_came_before() {
    let data = sample();
    let cut = data.len() - 5_000;
    let run = inspect("cut-events.scap", &data[..cut]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("truncated capture: block needs"), "{}", run.stderr);
    assert!(run.stderr.contains("(in EV_V2 block 0x00000216 at byte offset "), "{}", run.stderr);
    // every event before the cut is printed, in full lines
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines.len() > 100, "{} lines", lines.len());
    assert!(run.stdout.ends_with('\n'));
}

#[test]
fn corrupt_trailer() {
    let mut data = sample();
    let mi = block_offset(&data, 0x201);
    // the machine info block is 192 bytes; its trailer repeats that
    data[mi + 188..mi + 192].copy_from_slice(&191u32.to_le_bytes());
    let run = inspect("trailer.scap", &data);
    assert_error(
        &run,
        &format!(
            "lanner: cannot read capture `trailer.scap`: corrupt capture: block trailer says 191 \
             bytes but the header says 192 (in MI block 0x00000201 at byte offset {mi})"
        ),
    );
}

#[test]
fn corrupt_block_length() {
    let mut data = sample();
    let ul = block_offset(&data, 0x220);
    data[ul + 4..ul + 8].copy_from_slice(&6u32.to_le_bytes());
    let run = inspect("length.scap", &data);
    assert_error(
        &run,
        &format!(
            "lanner: cannot read capture `length.scap`: corrupt capture: block total length 6 is \
             shorter than a block header and trailer (in UL_V2 block 0x00000220 at byte offset \
             {ul})"
        ),
    );
}

#[test]
fn corrupt_event() {
    let mut data = sample();
    let ev = block_offset(&data, 0x216);
    // nparams of the first event (after block header 8, cpu 2, ts 8, tid 8, len 4, type 2)
    let nparams = ev + 8 + 2 + 22;
    data[nparams..nparams + 4].copy_from_slice(&5000u32.to_le_bytes());
    let run = inspect("event.scap", &data);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with(
            "lanner: cannot read capture `event.scap`: corrupt event: 5000 parameter lengths of 2 \
             bytes do not fit in a "
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .trim_end()
            .ends_with(&format!("(in EV_V2 block 0x00000216 at byte offset {ev})")),
        "{}",
        run.stderr
    );
}

#[test]
fn big_endian_capture_is_unsupported() {
    let mut data = sample();
    data[8..12].copy_from_slice(&0x1A2B_3C4Du32.to_be_bytes());
    let run = inspect("be.scap", &data);
    assert_error(
        &run,
        "lanner: cannot read capture `be.scap`: unsupported capture: the capture was written on a \
         big-endian machine (in SHB block 0x0a0d0d0a at byte offset 0)",
    );
}

#[test]
fn damaged_gzip_stream() {
    let gz = gzip(&sample());
    let run = inspect("cut.scap.gz", &gz[..gz.len() * 9 / 10]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("damaged gzip stream: ")
            && run.stderr.contains("of the decompressed stream)"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.is_empty());
}
