//! The `/proc` scan at start: the threads, their open file descriptors, users, groups and the
//! machine, in the form a capture's tables take, so that the state is seeded the same way
//! from a live system and from a `.scap` file (and `-w` records exactly this).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use lanner_scap::tables::{
    FdEntry, FdInfo, FdList, Group, MachineInfo, NamedFdKind, Tables, ThreadEntry, User,
};

/// Limits of the scan.
#[derive(Clone, Copy, Debug)]
pub struct ScanOptions {
    /// Read each thread's open descriptors.
    pub fds: bool,
    /// At most this many bytes of a process's environment.
    pub max_env: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions { fds: true, max_env: 4096 }
    }
}

/// Scans `root` (normally `/proc`) and `etc` (normally `/etc`).
pub fn scan(root: &Path, etc: &Path, options: &ScanOptions) -> Tables {
    let sockets = if options.fds { socket_table(root) } else { HashMap::new() };
    let mut tables = Tables {
        version: (1, 2),
        machine: Some(machine(root)),
        users: users(&etc.join("passwd")),
        groups: groups(&etc.join("group")),
        ..Tables::default()
    };
    let Ok(dir) = fs::read_dir(root) else { return tables };
    let mut pids: Vec<u64> =
        dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
    pids.sort_unstable();
    for pid in pids {
        let pdir = root.join(pid.to_string());
        let Ok(tasks) = fs::read_dir(pdir.join("task")) else { continue };
        let mut tids: Vec<u64> =
            tasks.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
        tids.sort_unstable();
        for tid in tids {
            let tdir = pdir.join("task").join(tid.to_string());
            let Some(t) = thread(&pdir, &tdir, pid, tid, options) else { continue };
            tables.threads.push(t);
            if options.fds && tid == pid {
                let fds = fds(&pdir, &sockets);
                if !fds.is_empty() {
                    tables.fd_lists.push(FdList { tid, fds });
                }
            }
        }
    }
    tables
}

fn read_lossy(path: &Path) -> Option<Vec<u8>> {
    fs::read(path).ok()
}

fn machine(root: &Path) -> MachineInfo {
    let mut hostname = fs::read(root.join("sys/kernel/hostname")).unwrap_or_default();
    while hostname.last() == Some(&b'\n') {
        hostname.pop();
    }
    hostname.truncate(127);
    let memory = fs::read_to_string(root.join("meminfo"))
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024;
    let max_pid = fs::read_to_string(root.join("sys/kernel/pid_max"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let boot = fs::read_to_string(root.join("stat"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime "))
                .and_then(|v| v.trim().parse::<u64>().ok())
        })
        .unwrap_or(0);
    MachineInfo {
        num_cpus: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
        memory_size_bytes: memory,
        max_pid,
        hostname,
        boot_ts_epoch: boot * 1_000_000_000,
        // x86_64 (1) on Linux (1), as libs sets the top bytes
        flags: (1 << 56) | (1 << 48),
        reserved3: 0,
        reserved4: 0,
    }
}

fn users(path: &Path) -> Vec<User> {
    let Ok(text) = fs::read(path) else { return Vec::new() };
    text.split(|&b| b == b'\n')
        .filter_map(|line| {
            let f: Vec<&[u8]> = line.split(|&b| b == b':').collect();
            if f.len() < 7 {
                return None;
            }
            Some(User {
                uid: std::str::from_utf8(f[2]).ok()?.parse().ok()?,
                gid: std::str::from_utf8(f[3]).ok()?.parse().ok()?,
                name: f[0].to_vec(),
                homedir: f[5].to_vec(),
                shell: f[6].to_vec(),
            })
        })
        .collect()
}

fn groups(path: &Path) -> Vec<Group> {
    let Ok(text) = fs::read(path) else { return Vec::new() };
    text.split(|&b| b == b'\n')
        .filter_map(|line| {
            let f: Vec<&[u8]> = line.split(|&b| b == b':').collect();
            if f.len() < 3 {
                return None;
            }
            Some(Group { gid: std::str::from_utf8(f[2]).ok()?.parse().ok()?, name: f[0].to_vec() })
        })
        .collect()
}

/// The last (innermost namespace's) id of the `NSpid` line of a status file.
fn innermost_nspid(status: &str) -> Option<i64> {
    status_field(status, "NSpid")?.split_whitespace().last()?.parse().ok()
}

/// `Key:\tvalue` lines of a status file.
fn status_field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(':')).map(str::trim)
}

fn thread(
    pdir: &Path,
    tdir: &Path,
    pid: u64,
    tid: u64,
    options: &ScanOptions,
) -> Option<ThreadEntry> {
    let stat = fs::read_to_string(tdir.join("stat")).ok()?;
    // comm is between the first '(' and the last ')'
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.as_bytes().to_vec();
    let rest: Vec<&str> = stat.get(close + 2..)?.split(' ').collect();
    let field = |i: usize| rest.get(i).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    // fields after comm, 0-based: 0 state, 1 ppid, 2 pgrp, 3 session, 4 tty_nr, ... 7 minflt,
    // 9 majflt, 19 starttime, 20 vsize, 21 rss
    let status = fs::read_to_string(tdir.join("status")).unwrap_or_default();
    let ids = |key: &str, i: usize| {
        status_field(&status, key)
            .and_then(|v| v.split_whitespace().nth(i))
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    };
    let cap = |key: &str| {
        status_field(&status, key).and_then(|v| u64::from_str_radix(v, 16).ok()).unwrap_or(0)
    };
    let kb = |key: &str| {
        status_field(&status, key)
            .and_then(|v| v.trim_end_matches(" kB").trim().parse::<u32>().ok())
            .unwrap_or(0)
    };
    let cmdline = read_lossy(&pdir.join("cmdline")).unwrap_or_default();
    let (exe, args) = match cmdline.iter().position(|&b| b == 0) {
        Some(i) => (cmdline[..i].to_vec(), cmdline[i + 1..].to_vec()),
        None => (cmdline.clone(), Vec::new()),
    };
    let link = |name: &str| {
        fs::read_link(pdir.join(name))
            .map(|p| p.into_os_string().into_encoded_bytes())
            .unwrap_or_default()
    };
    let mut exepath = link("exe");
    let deleted = b" (deleted)";
    if exepath.ends_with(deleted) {
        exepath.truncate(exepath.len() - deleted.len());
    }
    let mut cwd = link("cwd");
    if cwd.last() != Some(&b'/') {
        cwd.push(b'/');
    }
    let mut env = read_lossy(&pdir.join("environ")).unwrap_or_default();
    if env.len() > options.max_env {
        env.truncate(options.max_env);
        if let Some(end) = env.iter().rposition(|&b| b == 0) {
            env.truncate(end + 1);
        }
    }
    let cgroups = cgroups(&read_lossy(&pdir.join("cgroup")).unwrap_or_default());
    let loginuid = fs::read_to_string(pdir.join("loginuid"))
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(u32::MAX);
    let fdlimit = fs::read_to_string(pdir.join("limits"))
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0);
    let mut flags = 0u32;
    if tid == pid {
        flags |= lanner_event_flags::IS_MAIN_THREAD;
    }
    let vtid = innermost_nspid(&status).unwrap_or(-1);
    let vpid = if tid == pid {
        vtid
    } else {
        fs::read_to_string(pdir.join("status")).ok().and_then(|s| innermost_nspid(&s)).unwrap_or(-1)
    };
    if vpid >= 0 && vpid != pid as i64 {
        flags |= lanner_event_flags::CHILD_IN_PIDNS;
    }
    let tty = field(4) as u32;
    Some(ThreadEntry {
        tid,
        pid,
        ptid: ids("PPid", 0).into(),
        sid: field(3) as u64,
        vpgid: field(2) as u64,
        comm,
        exe,
        exepath,
        args,
        cwd,
        fdlimit,
        flags,
        uid: ids("Uid", 1),
        gid: ids("Gid", 1),
        vmsize_kb: kb("VmSize"),
        vmrss_kb: kb("VmRSS"),
        vmswap_kb: kb("VmSwap"),
        pfmajor: field(9) as u64,
        pfminor: field(7) as u64,
        env,
        vtid,
        vpid,
        cgroups,
        root: link("root"),
        tty,
        loginuid,
        cap_inheritable: cap("CapInh"),
        cap_permitted: cap("CapPrm"),
        cap_effective: cap("CapEff"),
        pgid: field(2),
        ..ThreadEntry::default()
    })
}

/// libs' clone flags the scan sets.
mod lanner_event_flags {
    pub(super) const IS_MAIN_THREAD: u32 = 1 << 30;
    pub(super) const CHILD_IN_PIDNS: u32 = 1 << 29;
}

/// `/proc/PID/cgroup` (`ID:CONTROLLERS:PATH` lines) as libs keeps it: `controller=path`
/// entries, each NUL-terminated; the unified hierarchy (`0::PATH`) stands for the controllers
/// a cgroup v2 process has.
fn cgroups(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        let mut parts = line.splitn(3, |&b| b == b':');
        let (Some(_), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if ctrls.is_empty() {
            for c in ["cpuset", "cpu", "memory", "pids"] {
                out.extend_from_slice(c.as_bytes());
                out.push(b'=');
                out.extend_from_slice(path);
                out.push(0);
            }
        } else {
            for c in ctrls.split(|&b| b == b',') {
                let c = c.strip_prefix(b"name=").unwrap_or(c);
                out.extend_from_slice(c);
                out.push(b'=');
                out.extend_from_slice(path);
                out.push(0);
            }
        }
    }
    out
}

const L4_TCP: u8 = 3;
const L4_UDP: u8 = 4;

/// What each socket inode is, from /proc/net: listening and connected TCP/UDP sockets (IPv4
/// and IPv6) and unix sockets, as the fd entries of a capture describe them.
fn socket_table(root: &Path) -> HashMap<u64, FdInfo> {
    let mut out = HashMap::new();
    let net = root.join("net");
    for (file, proto, v6) in [
        ("tcp", L4_TCP, false),
        ("udp", L4_UDP, false),
        ("tcp6", L4_TCP, true),
        ("udp6", L4_UDP, true),
    ] {
        let Ok(text) = fs::read_to_string(net.join(file)) else { continue };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 {
                continue;
            }
            let Ok(inode) = f[9].parse::<u64>() else { continue };
            let listen = proto == L4_TCP && f[3] == "0A";
            let l4proto = proto;
            let sock = if v6 {
                let (Some((sip, sport)), Some((dip, dport))) = (addr6(f[1]), addr6(f[2])) else {
                    continue;
                };
                if listen {
                    FdInfo::Ipv6Server { ip: sip, port: sport, l4proto }
                } else {
                    FdInfo::Ipv6Socket { sip, dip, sport, dport, l4proto }
                }
            } else {
                let (Some((sip, sport)), Some((dip, dport))) = (addr4(f[1]), addr4(f[2])) else {
                    continue;
                };
                if listen {
                    FdInfo::Ipv4Server { ip: sip, port: sport, l4proto }
                } else {
                    FdInfo::Ipv4Socket { sip, dip, sport, dport, l4proto }
                }
            };
            out.insert(inode, sock);
        }
    }
    if let Ok(text) = fs::read_to_string(net.join("unix")) {
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 7 {
                continue;
            }
            let Ok(inode) = f[6].parse::<u64>() else { continue };
            let name = f.get(7).map(|p| p.as_bytes().to_vec()).unwrap_or_default();
            out.insert(inode, FdInfo::Unix { source: inode, dest: 0, name });
        }
    }
    out
}

fn addr4(text: &str) -> Option<([u8; 4], u16)> {
    let (a, p) = text.split_once(':')?;
    let a = u32::from_str_radix(a, 16).ok()?;
    Some((a.to_ne_bytes(), u16::from_str_radix(p, 16).ok()?))
}

fn addr6(text: &str) -> Option<([u8; 16], u16)> {
    let (a, p) = text.split_once(':')?;
    if a.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for i in 0..4 {
        let word = u32::from_str_radix(a.get(i * 8..i * 8 + 8)?, 16).ok()?;
        out[i * 4..i * 4 + 4].copy_from_slice(&word.to_ne_bytes());
    }
    Some((out, u16::from_str_radix(p, 16).ok()?))
}

fn fds(pdir: &Path, sockets: &HashMap<u64, FdInfo>) -> Vec<FdEntry> {
    let Ok(dir) = fs::read_dir(pdir.join("fd")) else { return Vec::new() };
    let mut nums: Vec<i64> =
        dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
    nums.sort_unstable();
    let mut out = Vec::with_capacity(nums.len());
    for fd in nums {
        let path: PathBuf = pdir.join("fd").join(fd.to_string());
        let Ok(target) = fs::read_link(&path) else { continue };
        let target = target.into_os_string().into_encoded_bytes();
        let ino = fs::metadata(&path).map(|m| std::os::unix::fs::MetadataExt::ino(&m)).unwrap_or(0);
        let info = if let Some(inode) = bracketed(&target, b"socket:[") {
            sockets.get(&inode).cloned().unwrap_or_else(|| FdInfo::Named {
                kind: NamedFdKind::Unsupported,
                name: target.clone(),
            })
        } else if target.starts_with(b"pipe:[") {
            FdInfo::Named { kind: NamedFdKind::Fifo, name: target.clone() }
        } else if let Some(kind) = target.strip_prefix(b"anon_inode:") {
            let kind = match kind {
                b"[eventfd]" => NamedFdKind::Event,
                b"[signalfd]" => NamedFdKind::Signalfd,
                b"[eventpoll]" => NamedFdKind::Eventpoll,
                b"inotify" => NamedFdKind::Inotify,
                b"[timerfd]" => NamedFdKind::Timerfd,
                b"bpf-map" | b"bpf-prog" | b"bpf_link" => NamedFdKind::Bpf,
                b"[userfaultfd]" => NamedFdKind::Userfaultfd,
                b"[io_uring]" => NamedFdKind::IoUring,
                b"[pidfd]" => NamedFdKind::Pidfd,
                _ => NamedFdKind::Unsupported,
            };
            FdInfo::Named { kind, name: target.clone() }
        } else if target.starts_with(b"/memfd:") {
            FdInfo::Named { kind: NamedFdKind::Memfd, name: target.clone() }
        } else if target.starts_with(b"/") {
            let is_dir = fs::metadata(&path).is_ok_and(|m| m.is_dir());
            if is_dir {
                FdInfo::Named { kind: NamedFdKind::Directory, name: target.clone() }
            } else {
                FdInfo::File { open_flags: fd_flags(pdir, fd), name: target.clone(), dev: None }
            }
        } else {
            FdInfo::Named { kind: NamedFdKind::Unsupported, name: target.clone() }
        };
        out.push(FdEntry { fd, ino, info });
    }
    out
}

fn bracketed(text: &[u8], prefix: &[u8]) -> Option<u64> {
    let inner = text.strip_prefix(prefix)?.strip_suffix(b"]")?;
    std::str::from_utf8(inner).ok()?.parse().ok()
}

/// The open flags of a descriptor (`/proc/PID/fdinfo/FD`, octal), as `PPM_O_*` bits.
fn fd_flags(pdir: &Path, fd: i64) -> u32 {
    let flags = fs::read_to_string(pdir.join("fdinfo").join(fd.to_string()))
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("flags:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0);
    let mut out = match flags & 3 {
        0 => 1,
        1 => 2,
        _ => 3,
    };
    if flags & 0o2000 != 0 {
        out |= 8;
    }
    if flags & 0o4000 != 0 {
        out |= 64;
    }
    if flags & 0o2000000 != 0 {
        out |= 4096;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_lines_become_controller_entries() {
        let v2 = cgroups(b"0::/system.slice/docker-abc.scope\n");
        assert!(v2.starts_with(b"cpuset=/system.slice/docker-abc.scope\0cpu="));
        let v1 = cgroups(b"4:cpu,cpuacct:/docker/x\n1:name=systemd:/init.scope\n");
        assert_eq!(v1, b"cpu=/docker/x\0cpuacct=/docker/x\0systemd=/init.scope\0");
    }

    #[test]
    fn net_addresses_parse_as_the_kernel_prints_them() {
        assert_eq!(addr4("0100007F:1F90"), Some(([127, 0, 0, 1], 8080)));
        let (a, p) = addr6("00000000000000000000000001000000:0050").expect("an address");
        assert_eq!(p, 80);
        assert_eq!(a[15], 1);
    }

    #[test]
    fn scanning_this_machine_finds_this_process_and_its_files() {
        let tables = scan(Path::new("/proc"), Path::new("/etc"), &ScanOptions::default());
        let me = u64::from(std::process::id());
        let t = tables.threads.iter().find(|t| t.tid == me).expect("this process");
        assert_eq!(t.pid, me);
        assert!(!t.exepath.is_empty());
        assert!(tables.users.iter().any(|u| u.uid == 0));
        assert!(tables.fd_lists.iter().any(|l| l.tid == me && !l.fds.is_empty()));
    }
}
