//! The system calls the probe can capture, their x86_64 numbers, and which of them a set of
//! event types needs.

use lanner_event::table;

/// One syscall the probe has a filler for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Syscall {
    /// Its name: the probe's programs are `x_<name>` and `t_<name>`, its tracepoint
    /// `syscalls:sys_exit_<name>`, and libs names its events the same.
    pub name: &'static str,
    /// Its number on x86_64.
    pub nr: u32,
    /// The name of its tracepoint, `syscalls:sys_exit_<tracepoint>` (the kernel's name for
    /// the syscall, which differs for a few: `umount2` is `umount`).
    pub tracepoint: &'static str,
}

const fn sc(name: &'static str, nr: u32) -> Syscall {
    Syscall { name, nr, tracepoint: name }
}

/// Every syscall the probe captures, in the order of the probe's source.
pub const SYSCALLS: &[Syscall] = &[
    sc("open", 2),
    sc("openat", 257),
    sc("openat2", 437),
    sc("creat", 85),
    sc("close", 3),
    sc("socket", 41),
    sc("connect", 42),
    sc("bind", 49),
    sc("listen", 50),
    sc("accept", 43),
    sc("accept4", 288),
    sc("pipe", 22),
    sc("pipe2", 293),
    sc("dup", 32),
    sc("dup2", 33),
    sc("dup3", 292),
    sc("fcntl", 72),
    sc("chdir", 80),
    sc("fchdir", 81),
    sc("chroot", 161),
    sc("mkdir", 83),
    sc("mkdirat", 258),
    sc("rmdir", 84),
    sc("unlink", 87),
    sc("unlinkat", 263),
    sc("rename", 82),
    sc("renameat", 264),
    sc("renameat2", 316),
    sc("link", 86),
    sc("linkat", 265),
    sc("symlink", 88),
    sc("symlinkat", 266),
    sc("chmod", 90),
    sc("fchmod", 91),
    sc("fchmodat", 268),
    sc("mount", 165),
    Syscall { name: "umount2", nr: 166, tracepoint: "umount" },
    sc("setuid", 105),
    sc("setgid", 106),
    sc("setresuid", 117),
    sc("setresgid", 119),
    sc("setreuid", 113),
    sc("setregid", 114),
    sc("capset", 126),
    sc("setns", 308),
    sc("unshare", 272),
    sc("ptrace", 101),
    sc("kill", 62),
    sc("bpf", 321),
    sc("memfd_create", 319),
    sc("init_module", 175),
    sc("finit_module", 313),
    sc("prctl", 157),
    sc("clone", 56),
    sc("clone3", 435),
    sc("fork", 57),
    sc("vfork", 58),
    sc("execve", 59),
    sc("execveat", 322),
];

/// What the state needs whatever the rules say: the life of processes and of file
/// descriptors, the working directory and credentials (Falco's `base_syscalls.repair`
/// set, near enough).
pub const STATE_SYSCALLS: &[&str] = &[
    "clone",
    "clone3",
    "fork",
    "vfork",
    "execve",
    "execveat",
    "close",
    "open",
    "openat",
    "openat2",
    "creat",
    "socket",
    "connect",
    "accept",
    "accept4",
    "bind",
    "listen",
    "pipe",
    "pipe2",
    "dup",
    "dup2",
    "dup3",
    "fcntl",
    "chdir",
    "fchdir",
    "chroot",
    "setuid",
    "setgid",
    "setresuid",
    "setresgid",
    "setreuid",
    "setregid",
    "capset",
    "memfd_create",
];

/// The syscall called `name`, if the probe has it.
pub fn by_name(name: &str) -> Option<&'static Syscall> {
    SYSCALLS.iter().find(|s| s.name == name)
}

/// The syscalls whose events include one of `types` (libs event type codes): an event type
/// stands for the syscall of the same name (`open` for every version of the open events).
pub fn for_event_types(types: impl IntoIterator<Item = u16>) -> Vec<&'static Syscall> {
    let mut out: Vec<&'static Syscall> = Vec::new();
    for code in types {
        let Some(info) = table::event_info(code) else { continue };
        if let Some(s) = by_name(info.name)
            && !out.contains(&s)
        {
            out.push(s);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_syscall_has_events_of_its_name() {
        for s in SYSCALLS {
            let found = (0..table::EVENT_MAX as u16)
                .any(|c| table::event_info(c).is_some_and(|i| i.name == s.name));
            assert!(found, "no libs event is called {}", s.name);
        }
        for name in STATE_SYSCALLS {
            assert!(by_name(name).is_some(), "{name} is in the state set but not in the probe");
        }
    }

    /// The probe writes event type codes as literal numbers; each must be the libs event of
    /// its name and direction, with the number of parameters the probe writes.
    #[test]
    fn probe_event_codes_match_the_libs_table() {
        let src = include_str!("bpf/probe.bpf.c");
        let mut checked = 0;
        for line in src.lines() {
            let line = line.trim();
            let Some(rest) = line.strip_prefix("E_") else { continue };
            let Some((name, code)) = rest.split_once(" = ") else { continue };
            let code: u16 = code.trim_end_matches(',').parse().expect("a number");
            let (name, dir) = name.rsplit_once('_').expect("NAME_X or NAME_E");
            let info = table::event_info(code).expect("a known code");
            assert_eq!(info.name, name.to_ascii_lowercase(), "E_{name}_{dir} = {code}");
            let want = if dir == "E" { table::Direction::Enter } else { table::Direction::Exit };
            assert_eq!(table::Direction::of(code), want, "E_{name}_{dir} = {code}");
            checked += 1;
        }
        assert!(checked > 60, "only {checked} codes found");
    }
}
