//! Inputs the fuzzer (`fuzz/`, target `scap_reader`) found to break the reader, one test each,
//! named after what broke. The inputs themselves are also in `fuzz/regressions/scap_reader/`,
//! which `fuzz_corpus.rs` replays with the seed corpus.

use lanner_scap::Reader;

/// The error of opening `data` as a capture; it must be one, and name a byte offset.
fn open_error(data: &[u8]) -> String {
    let err = match Reader::new(std::io::Cursor::new(data.to_vec())) {
        Ok(_) => panic!("{data:02x?} opened"),
        Err(err) => err.to_string(),
    };
    assert!(err.contains("byte offset 0"), "{err}");
    err
}

/// A section header block code followed by `len` as its total length, then zeros.
fn section_header_claiming(len: u32) -> Vec<u8> {
    let mut data = 0x0A0D_0D0Au32.to_le_bytes().to_vec();
    data.extend_from_slice(&len.to_le_bytes());
    data.resize(64, 0);
    data
}

/// The first block's length was not checked (only later blocks' were): a section header
/// claiming fewer than 12 bytes made `block_body` subtract past zero and panic.
#[test]
fn first_section_header_shorter_than_its_framing() {
    for len in [0, 4, 8] {
        let err = open_error(&section_header_claiming(len));
        assert_eq!(
            err,
            format!(
                "corrupt capture: block total length {len} is shorter than a block header and \
                 trailer (in SHB block 0x0a0d0d0a at byte offset 0)"
            )
        );
    }
    // The fuzzer's input, as it found it.
    open_error(&std::fs::read(regression("shb-length-zero")).unwrap());
}

/// Same unchecked length: an odd one read the trailer from a misaligned place.
#[test]
fn first_section_header_length_not_a_multiple_of_4() {
    let err = open_error(&section_header_claiming(29));
    assert!(err.contains("block total length 29 is not a multiple of 4"), "{err}");
}

/// Same unchecked length: a section header claiming 4 GiB made the reader allocate (and zero)
/// a 4 GiB buffer before finding the file is 64 bytes long.
#[test]
fn first_section_header_longer_than_the_block_limit() {
    let err = open_error(&section_header_claiming(u32::MAX - 3));
    assert!(err.contains("exceeds the 268435456-byte limit"), "{err}");
}

fn regression(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions/scap_reader")
        .join(name)
}

/// Not a lanner bug, kept because the fuzzer stopped on it: `falco_event` 0.5.1 formats a
/// `SyscallResult` with `Debug` by negating it, which overflows for `i64::MIN` (a panic with
/// overflow checks, a wrong errno without). lanner renders results itself, without negating;
/// this pins that its rendering of that value stays right, and that the typed view decodes.
#[test]
fn syscall_result_of_i64_min_renders() {
    use lanner_event::render::{NoState, RenderOptions, write_args};

    let data = std::fs::read(regression("typed-debug-syscall-result-i64-min")).unwrap();
    let mut reader = Reader::new(std::io::Cursor::new(data)).unwrap();
    let record = reader.next().unwrap().unwrap();
    assert_eq!(record.event.name(), "execve");
    let mut out = Vec::new();
    write_args(&mut out, &record.event, &NoState, &RenderOptions::default(), &mut Vec::new());
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("res=-9223372036854775808 exe=cat "), "{text}");
    assert!(record.event.typed().is_ok());
}
