//! The probe's CO-RE relocations against type layouts of kernels older than this machine's.
//!
//! The running kernel's BTF is copied with one type rewritten as an older kernel has it, the
//! probe is loaded relocated against the copy (the programs still run on this kernel, whose
//! memory has the same bytes), and what it reads must equal what the probe relocated against
//! the kernel's own BTF reads.
//!
//! - `kernel_cap_t`: `struct { u64 val; }` since Linux 6.3, `struct { u32 cap[2]; }` before.
//!
//! Needs root, BPF and a kernel with BTF (CI has them). Elsewhere the test says loudly that it
//! skipped.
#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use lanner_capture::{AttachMode, Probe, ProbeOptions, syscalls};

const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

fn can_run() -> Result<(), String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("not root".to_owned());
    }
    if !Path::new(VMLINUX).exists() {
        return Err(format!("the kernel has no BTF ({VMLINUX})"));
    }
    Ok(())
}

/// Raw BTF (kernel `include/uapi/linux/btf.h`): a header, the type section, the string
/// section; offsets relative to the end of the header.
struct Btf {
    data: Vec<u8>,
    hdr_len: usize,
    type_off: usize,
    type_len: usize,
    str_off: usize,
    str_len: usize,
}

/// One type record: where it starts and its fields.
struct Type {
    at: usize,
    name_off: u32,
    kind: u32,
    vlen: usize,
    size_or_type: u32,
}

const KIND_INT: u32 = 1;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_TYPEDEF: u32 = 8;

impl Btf {
    fn parse(data: Vec<u8>) -> Btf {
        let u32_at = |at: usize| u32::from_le_bytes(data[at..at + 4].try_into().unwrap()) as usize;
        assert_eq!(&data[..2], &0xeb9fu16.to_le_bytes(), "not raw BTF");
        Btf {
            hdr_len: u32_at(4),
            type_off: u32_at(8),
            type_len: u32_at(12),
            str_off: u32_at(16),
            str_len: u32_at(20),
            data,
        }
    }

    fn u32_at(&self, at: usize) -> u32 {
        u32::from_le_bytes(self.data[at..at + 4].try_into().unwrap())
    }

    fn set_u32(&mut self, at: usize, v: u32) {
        self.data[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    /// Every type, in id order (the first is id 1).
    fn types(&self) -> Vec<Type> {
        let mut out = Vec::new();
        let mut at = self.hdr_len + self.type_off;
        let end = at + self.type_len;
        while at < end {
            let info = self.u32_at(at + 4);
            let (kind, vlen) = ((info >> 24) & 0x1f, (info & 0xffff) as usize);
            out.push(Type {
                at,
                name_off: self.u32_at(at),
                kind,
                vlen,
                size_or_type: self.u32_at(at + 8),
            });
            // the record after the 12-byte common part, by kind
            let extra = match kind {
                1 | 14 | 17 => 4,     // int, var, decl tag
                3 => 12,              // array
                4 | 5 => 12 * vlen,   // struct, union: members
                6 | 13 => 8 * vlen,   // enum, func proto: values, params
                15 | 19 => 12 * vlen, // datasec, enum64
                _ => 0,               // ptr, fwd, typedef, qualifiers, func, float, tag
            };
            at += 12 + extra;
        }
        out
    }

    fn name(&self, off: u32) -> &str {
        let start = self.hdr_len + self.str_off + off as usize;
        let len = self.data[start..].iter().position(|&b| b == 0).unwrap();
        std::str::from_utf8(&self.data[start..start + len]).unwrap()
    }

    /// The offset of string `s` in the string section, added at its end if missing (the
    /// string section is the last thing in the file).
    fn string(&mut self, s: &str) -> u32 {
        let strings = self.hdr_len + self.str_off;
        let section = &self.data[strings..strings + self.str_len];
        let needle = [&[0u8], s.as_bytes(), &[0u8]].concat();
        if let Some(i) = section.windows(needle.len()).position(|w| w == needle) {
            return (i + 1) as u32;
        }
        assert_eq!(strings + self.str_len, self.data.len(), "strings are not last");
        let off = self.str_len as u32;
        self.data.extend_from_slice(s.as_bytes());
        self.data.push(0);
        self.str_len += s.len() + 1;
        let len = self.str_len as u32;
        self.set_u32(20, len);
        off
    }
}

/// This kernel's BTF with `kernel_cap_t` laid out as before 6.3 (`u32 cap[2]`), written to
/// a temporary file; `None` when the kernel already has that layout.
fn btf_with_pre_6_3_caps(dir: &Path) -> Option<PathBuf> {
    let mut btf = Btf::parse(std::fs::read(VMLINUX).unwrap());
    let types = btf.types();
    // `typedef struct { ... } kernel_cap_t;` (named `struct kernel_cap_struct` before 6.3)
    let typedef = types
        .iter()
        .find(|t| t.kind == KIND_TYPEDEF && btf.name(t.name_off) == "kernel_cap_t")
        .expect("no kernel_cap_t in the kernel's BTF");
    let cap = &types[typedef.size_or_type as usize - 1];
    assert_eq!(cap.kind, KIND_STRUCT, "kernel_cap_t is not a struct");
    assert_eq!((cap.vlen, cap.size_or_type), (1, 8), "kernel_cap_t is not one 8-byte member");
    let member = cap.at + 12;
    if btf.name(btf.u32_at(member)) != "val" {
        return None;
    }
    // an array of two 32-bit unsigned ints, as the old member's type
    let is_u32 = |id: u32| {
        types.get(id as usize - 1).is_some_and(|t| {
            t.kind == KIND_INT && t.size_or_type == 4 && btf.u32_at(t.at + 12) & 0x0100_0000 == 0
        })
    };
    let array = types
        .iter()
        .position(|t| {
            t.kind == KIND_ARRAY && is_u32(btf.u32_at(t.at + 12)) && btf.u32_at(t.at + 20) == 2
        })
        .expect("no u32[2] array type in the kernel's BTF") as u32
        + 1;
    let name = btf.string("cap");
    btf.set_u32(member, name);
    btf.set_u32(member + 4, array);
    let path = dir.join("vmlinux-pre-6.3-caps.btf");
    std::fs::write(&path, &btf.data).unwrap();
    Some(path)
}

/// The capability sets (inheritable, permitted, effective) of `/bin/true`'s execve as the
/// probe relocated against `btf` reads them.
fn execve_caps(btf: Option<PathBuf>) -> [u64; 3] {
    let options = ProbeOptions {
        // capset too: its program reads the capability sets as well
        syscalls: vec![syscalls::by_name("execve").unwrap(), syscalls::by_name("capset").unwrap()],
        mode: Some(AttachMode::Tracepoints),
        btf,
        ..ProbeOptions::default()
    };
    let mut probe = Probe::open(&options).unwrap();
    let child = Command::new("/bin/true").spawn().unwrap();
    let pid = i64::from(child.id());
    let status = { child }.wait().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        while let Some((_, ev)) = probe.next_event() {
            let ev = ev.unwrap();
            if ev.name() != "execve" || ev.tid() != pid || ev.param_index("cap_effective").is_none()
            {
                continue;
            }
            let caps = ["cap_inheritable", "cap_permitted", "cap_effective"].map(|name| {
                u64::from_le_bytes(ev.param_by_name(name).unwrap().try_into().unwrap())
            });
            return caps;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("no execve exit event for pid {pid}");
}

#[test]
fn capabilities_read_the_same_with_the_pre_6_3_kernel_cap_layout() {
    if let Err(why) = can_run() {
        eprintln!("\n*** SKIPPED older kernel layout test: {why} ***\n");
        return;
    }
    let dir = std::env::temp_dir().join(format!("lanner-older-kernels-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let Some(old) = btf_with_pre_6_3_caps(&dir) else {
        eprintln!("\n*** this kernel already has the pre-6.3 kernel_cap_t layout ***\n");
        let caps = execve_caps(None);
        assert_ne!(caps[2], 0, "root's /bin/true has no effective capabilities");
        return;
    };
    let now = execve_caps(None);
    let before = execve_caps(Some(old));
    // root runs /bin/true: its effective set is its bounding set, never empty
    assert_ne!(now[2], 0, "root's /bin/true has no effective capabilities");
    assert_eq!(before, now, "caps read through the pre-6.3 layout differ");
    let _ = std::fs::remove_dir_all(&dir);
}
