//! `proc.*` and `thread.*`: the process and thread that made the call, and their ancestors.

use lanner_event::ffi;
use lanner_event::value::{cstr, int, nul_separated, uint};
use lanner_state::{State, Thread};

use super::{CheckState, EventContext, Mode};
use crate::field::{Field, FieldArg};
use crate::registry::FieldId as I;
use crate::value::Values;

/// Longest ancestor chain walked, against loops a damaged table could hold.
const MAX_ANCESTORS: usize = 4096;

/// The parents of `start` (its main thread's parent, then that one's ...), not `start` itself.
fn parents<'a>(state: &'a State, start: &'a Thread) -> impl Iterator<Item = &'a Thread> {
    let mut cur = Some(start);
    let mut seen = 0;
    std::iter::from_fn(move || {
        let t = cur?;
        seen += 1;
        let parent = if seen > MAX_ANCESTORS || t.ptid == t.tid || t.ptid < 0 {
            None
        } else {
            state.thread(t.ptid).filter(|p| p.tid != -1)
        };
        cur = parent;
        parent
    })
}

/// Ancestor `n` of a thread's process: 0 is the process itself (its main thread).
fn ancestor<'a>(state: &'a State, thread: &'a Thread, n: u64) -> Option<&'a Thread> {
    let main = super::main_of(state, thread);
    if n == 0 {
        return Some(main);
    }
    parents(state, main).nth(n as usize - 1)
}

/// `comm arg1 arg2 ...`
fn write_cmdline(b: &mut Vec<u8>, t: &Thread) {
    b.extend_from_slice(&t.comm);
    for arg in nul_separated(&t.args) {
        b.push(b' ');
        b.extend_from_slice(arg);
    }
}

/// `arg1 arg2 ...`
fn write_args(b: &mut Vec<u8>, t: &Thread) {
    for (i, arg) in nul_separated(&t.args).enumerate() {
        if i > 0 {
            b.push(b' ');
        }
        b.extend_from_slice(arg);
    }
}

/// `exe arg1 arg2 ...` (with a space after `exe` even without arguments, as libs writes it).
fn write_exeline(b: &mut Vec<u8>, t: &Thread) {
    b.extend_from_slice(&t.exe);
    b.push(b' ');
    write_args(b, t);
}

/// Environment entries joined with spaces.
fn write_env(b: &mut Vec<u8>, env: &[u8]) {
    for (i, e) in nul_separated(env).enumerate() {
        if i > 0 {
            b.push(b' ');
        }
        b.extend_from_slice(e);
    }
}

/// The value of variable `name` in an environment (leading and trailing spaces trimmed),
/// `None` if it is not set (or set to nothing).
fn env_var<'e>(env: &'e [u8], name: &str) -> Option<&'e [u8]> {
    nul_separated(env).find_map(|e| {
        let value = e.strip_prefix(name.as_bytes())?.strip_prefix(b"=")?;
        let value = value.trim_ascii();
        (!value.is_empty()).then_some(value)
    })
}

/// The names of the capabilities in a mask, in bit order, space separated.
fn write_caps(b: &mut Vec<u8>, mask: u64) {
    const CAPS: [&str; 41] = [
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    ];
    let mut first = true;
    for (bit, name) in CAPS.iter().enumerate() {
        if mask & (1 << bit) != 0 {
            if !first {
                b.push(b' ');
            }
            first = false;
            b.extend_from_slice(name.as_bytes());
        }
    }
}

/// The session or group leader: the thread with that pid if known, else the eldest ancestor
/// that still shares the id.
fn leader<'a>(
    state: &'a State,
    t: &'a Thread,
    id: i64,
    same: impl Fn(&Thread) -> bool,
) -> &'a Thread {
    if let Some(l) = state.thread(id) {
        return l;
    }
    let main = super::main_of(state, t);
    let mut last = main;
    for p in parents(state, main) {
        if !same(p) {
            break;
        }
        last = p;
    }
    last
}

/// Pushes one value of an ancestor-style field for thread `t`.
fn push_of(id: I, state: &State, t: &Thread, out: &mut Values) {
    match id {
        I::ProcAname | I::ProcName | I::ProcPname => out.push_bytes(&t.comm),
        I::ProcApid => out.push_int(t.pid),
        I::ProcAexe => out.push_bytes(&t.exe),
        I::ProcAexepath => out.push_bytes(&t.exepath),
        I::ProcAcmdline => out.push_with(|b| write_cmdline(b, t)),
        I::ProcAargs => out.push_with(|b| write_args(b, t)),
        I::ProcAenv => {
            let env = state.main_thread(t.tid).map_or(&t.env, |m| &m.env);
            out.push_with(|b| write_env(b, env));
        }
        _ => {}
    }
}

pub(super) fn extract(
    field: &Field,
    ctx: &EventContext<'_>,
    mode: Mode,
    check: &mut CheckState,
    out: &mut Values,
) {
    let id = field.id();
    let state = ctx.state;
    let ev = ctx.event;
    // Fields that need no thread.
    match id {
        I::ThreadTid => return out.push_int(ev.tid()),
        I::ThreadExectime => {
            let switch = matches!(ev.name(), "switch");
            let cpu = i64::from(ctx.cpu);
            let v = if switch {
                let prev = check.per_key.insert(cpu, ev.ts());
                prev.map_or(0, |p| ev.ts().saturating_sub(p))
            } else {
                0
            };
            return out.push_uint(v);
        }
        _ => {}
    }
    let Some(t) = ctx.thread() else { return };
    let main = ctx.main_thread();
    let parent = || state.thread(t.ptid);
    match id {
        I::ProcExe => out.push_bytes(&t.exe),
        I::ProcPexe => {
            if let Some(p) = parent() {
                out.push_bytes(&p.exe);
            }
        }
        I::ProcExepath => out.push_bytes(&t.exepath),
        I::ProcPexepath => {
            if let Some(p) = parent() {
                out.push_bytes(&p.exepath);
            }
        }
        I::ProcName => out.push_bytes(&t.comm),
        I::ProcPname => {
            if let Some(p) = parent() {
                out.push_bytes(&p.comm);
            }
        }
        I::ProcAname
        | I::ProcApid
        | I::ProcAexe
        | I::ProcAexepath
        | I::ProcAcmdline
        | I::ProcAargs => {
            match field.arg() {
                FieldArg::Index(n) => {
                    if let Some(a) = ancestor(state, t, *n) {
                        push_of(id, state, a, out);
                    }
                }
                _ if mode == Mode::Filter => {
                    let start = main.unwrap_or(t);
                    for p in parents(state, start) {
                        push_of(id, state, p, out);
                    }
                }
                _ => {
                    if id == I::ProcAargs {
                        // All ancestors' arguments, space separated.
                        let start = main.unwrap_or(t);
                        out.push_with(|b| {
                            for (i, p) in parents(state, start).enumerate() {
                                if i > 0 {
                                    b.push(b' ');
                                }
                                write_args(b, p);
                            }
                        });
                    } else {
                        push_of(id, state, main.unwrap_or(t), out);
                    }
                }
            }
        }
        I::ProcArgs => match field.arg() {
            FieldArg::Index(n) => {
                if let Some(arg) = nul_separated(&t.args).nth(*n as usize) {
                    out.push_bytes(arg);
                }
            }
            _ => out.push_with(|b| write_args(b, t)),
        },
        I::ProcCmdline => out.push_with(|b| write_cmdline(b, t)),
        I::ProcPcmdline => {
            if let Some(p) = parent() {
                out.push_with(|b| write_cmdline(b, p));
            }
        }
        I::ProcCmdnargs => out.push_uint(nul_separated(&t.args).count() as u64),
        I::ProcCmdlenargs => out.push_uint(nul_separated(&t.args).map(|a| a.len() as u64).sum()),
        I::ProcExeline => out.push_with(|b| write_exeline(b, t)),
        I::ProcEnv => {
            let env = main.map_or(&t.env, |m| &m.env);
            match field.arg() {
                FieldArg::Key(name) => out.push_bytes(env_var(env, name).unwrap_or_default()),
                _ => out.push_with(|b| write_env(b, env)),
            }
        }
        I::ProcAenv => {
            let start = main.unwrap_or(t);
            match field.arg() {
                FieldArg::Key(name) => {
                    let found = parents(state, start).take(20).find_map(|p| env_var(&p.env, name));
                    out.push_bytes(found.unwrap_or_default());
                }
                FieldArg::Index(n) => {
                    if let Some(a) = ancestor(state, t, *n) {
                        out.push_with(|b| write_env(b, &a.env));
                    }
                }
                _ if mode == Mode::Filter => {
                    for p in parents(state, start) {
                        out.push_with(|b| write_env(b, &p.env));
                    }
                }
                _ => out.push_with(|b| write_env(b, &start.env)),
            }
        }
        I::ProcCwd => {
            let cwd = main.map_or(&t.cwd, |m| &m.cwd);
            out.push_bytes(cwd);
        }
        I::ProcLoginshellid => {
            let start = main.unwrap_or(t);
            let shell = std::iter::once(start)
                .chain(parents(state, start))
                .filter(|p| p.comm.ends_with(b"sh"))
                .last();
            if let Some(s) = shell {
                out.push_int(s.pid);
            }
        }
        I::ProcTty => out.push_uint(u64::from(t.tty)),
        I::ProcPid => out.push_int(t.pid),
        I::ProcPpid => {
            if let Some(m) = main {
                out.push_int(m.ptid);
            }
        }
        I::ProcVpid => {
            if t.vpid != -1 {
                out.push_int(t.vpid);
            }
        }
        I::ThreadVtid => {
            if t.vtid != -1 {
                out.push_int(t.vtid);
            }
        }
        I::ProcPvpid => {
            if let Some(p) = parent() {
                out.push_int(p.vpid);
            }
        }
        I::ProcSid => out.push_int(t.sid),
        I::ProcSname | I::ProcSidExe | I::ProcSidExepath => {
            let sid = t.sid;
            let l = leader(state, t, sid, |p| p.sid == sid);
            match id {
                I::ProcSname => out.push_bytes(&l.comm),
                I::ProcSidExe => out.push_bytes(&l.exe),
                _ => out.push_bytes(&l.exepath),
            }
        }
        I::ProcVpgid => out.push_int(t.vpgid),
        I::ProcVpgidName | I::ProcVpgidExe | I::ProcVpgidExepath => {
            let g = t.vpgid;
            let l = leader(state, t, g, |p| p.vpgid == g);
            match id {
                I::ProcVpgidName => out.push_bytes(&l.comm),
                I::ProcVpgidExe => out.push_bytes(&l.exe),
                _ => out.push_bytes(&l.exepath),
            }
        }
        I::ProcPgid => out.push_int(t.pgid),
        I::ProcPgidName | I::ProcPgidExe | I::ProcPgidExepath => {
            let g = t.pgid;
            let l = leader(state, t, g, |p| p.pgid == g);
            match id {
                I::ProcPgidName => out.push_bytes(&l.comm),
                I::ProcPgidExe => out.push_bytes(&l.exe),
                _ => out.push_bytes(&l.exepath),
            }
        }
        I::ProcDuration => {
            if t.clone_ts != 0 {
                out.push_uint(ev.ts().saturating_sub(t.clone_ts));
            }
        }
        I::ProcPpidDuration => {
            if let Some(p) = parent().filter(|p| p.clone_ts != 0) {
                out.push_uint(ev.ts().saturating_sub(p.clone_ts));
            }
        }
        I::ProcPidTs => {
            if t.clone_ts != 0 {
                out.push_uint(t.clone_ts);
            }
        }
        I::ProcPpidTs => {
            if let Some(p) = parent() {
                out.push_uint(p.clone_ts);
            }
        }
        I::ProcIsExeWritable => out.push_bool(t.exe_writable),
        I::ProcIsExeUpperLayer => out.push_bool(t.exe_upper_layer),
        I::ProcIsExeLowerLayer => out.push_bool(t.exe_lower_layer),
        I::ProcIsExeFromMemfd => out.push_bool(t.exe_from_memfd),
        I::ProcIsSidLeader => out.push_bool(t.sid == t.vpid),
        I::ProcIsVpgidLeader => out.push_bool(t.vpgid == t.vpid),
        I::ProcIsPgidLeader => out.push_bool(t.pgid == t.pid),
        I::ProcExeIno => {
            if t.exe_ino != 0 {
                out.push_int(t.exe_ino as i64);
            }
        }
        I::ProcExeInoCtime => {
            if t.exe_ino_ctime != 0 {
                out.push_uint(t.exe_ino_ctime);
            }
        }
        I::ProcExeInoMtime => {
            if t.exe_ino_mtime != 0 {
                out.push_uint(t.exe_ino_mtime);
            }
        }
        I::ProcExeInoCtimeDurationProcStart => {
            if t.exe_ino_ctime != 0 && t.clone_ts != 0 {
                out.push_uint(t.clone_ts.saturating_sub(t.exe_ino_ctime));
            }
        }
        I::ProcExeInoCtimeDurationPidnsStart => {
            if t.exe_ino_ctime != 0 && t.pidns_init_start_ts != 0 {
                out.push_uint(t.pidns_init_start_ts.saturating_sub(t.exe_ino_ctime));
            }
        }
        I::ProcPidnsInitStartTs => {
            if t.pidns_init_start_ts != 0 {
                out.push_uint(t.pidns_init_start_ts);
            }
        }
        I::ThreadCapPermitted => out.push_with(|b| write_caps(b, t.cap_permitted)),
        I::ThreadCapInheritable => out.push_with(|b| write_caps(b, t.cap_inheritable)),
        I::ThreadCapEffective => out.push_with(|b| write_caps(b, t.cap_effective)),
        I::ProcFdopencount => {
            out.push_uint(state.threads().fds(t.tid).map_or(0, |f| f.len() as u64));
        }
        I::ProcFdlimit => out.push_int(main.map_or(t.fdlimit, |m| m.fdlimit)),
        I::ProcFdusage => {
            let limit = main.map_or(t.fdlimit, |m| m.fdlimit);
            let open = state.threads().fds(t.tid).map_or(0, |f| f.len());
            let usage =
                if limit > 0 { (open as f64 * 100.0 / limit as f64).min(100.0) } else { 0.0 };
            out.push_double(usage);
        }
        I::ProcVmsize => out.push_uint(u64::from(t.vmsize_kb)),
        I::ProcVmrss => out.push_uint(u64::from(t.vmrss_kb)),
        I::ProcVmswap => out.push_uint(u64::from(t.vmswap_kb)),
        I::ThreadPfmajor => out.push_uint(t.pfmajor),
        I::ThreadPfminor => out.push_uint(t.pfminor),
        I::ThreadIsmain => out.push_bool(t.is_main_thread()),
        I::ThreadNametid => out.push_with(|b| {
            b.extend_from_slice(&t.comm);
            b.extend_from_slice(ev.tid().to_string().as_bytes());
        }),
        I::ThreadTotexectime => {
            // The running sum of the exectime of the thread's switch events seen by this check.
            let switch = matches!(ev.name(), "switch");
            let cpu = i64::from(ctx.cpu);
            let add = if switch {
                let key = -1 - cpu;
                let prev = check.per_key.insert(key, ev.ts());
                prev.map_or(0, |p| ev.ts().saturating_sub(p))
            } else {
                0
            };
            let total = check.per_key.entry(t.tid).or_insert(0);
            *total += add;
            out.push_uint(*total);
        }
        I::ThreadCgroups => {
            if !t.cgroups.is_empty() {
                out.push_with(|b| write_env(b, &t.cgroups));
            }
        }
        I::ThreadCgroup => {
            if let FieldArg::Key(subsys) = field.arg() {
                let found = nul_separated(&t.cgroups).find_map(|e| {
                    let eq = e.iter().position(|&c| c == b'=')?;
                    (&e[..eq] == subsys.as_bytes()).then(|| &e[eq + 1..])
                });
                if let Some(path) = found {
                    out.push_bytes(path);
                }
            }
        }
        I::ProcNthreads => {
            // A thread that exits still counts during its own procexit event.
            let pid = t.pid;
            out.push_uint(state.threads().iter().filter(|o| o.pid == pid).count() as u64);
        }
        I::ProcNchilds => {
            let pid = t.pid;
            out.push_uint(
                state
                    .threads()
                    .iter()
                    .filter(|o| o.pid == pid && o.tid != pid && o.flags & ffi::PPM_CL_CLOSED == 0)
                    .count() as u64,
            );
        }
        I::ThreadCpu | I::ThreadCpuUser | I::ThreadCpuSystem => {
            if ev.name() != "procinfo" {
                return;
            }
            let usr = ev.param_by_name("cpu_usr").map_or(0, uint);
            let sys = ev.param_by_name("cpu_sys").map_or(0, uint);
            let tcpu = match id {
                I::ThreadCpuUser => usr,
                I::ThreadCpuSystem => sys,
                _ => usr + sys,
            };
            let prev = check.per_key.insert(t.tid, tcpu);
            let v = prev.map_or(0.0, |p| (tcpu.saturating_sub(p) as f64).min(100.0));
            out.push_double(v);
        }
        I::ThreadVmsize => {
            out.push_uint(if t.is_main_thread() { u64::from(t.vmsize_kb) } else { 0 })
        }
        I::ThreadVmrss => out.push_uint(if t.is_main_thread() { u64::from(t.vmrss_kb) } else { 0 }),
        I::ThreadVmsizeB => {
            out.push_uint(if t.is_main_thread() { u64::from(t.vmsize_kb) * 1024 } else { 0 })
        }
        I::ThreadVmrssB => {
            out.push_uint(if t.is_main_thread() { u64::from(t.vmrss_kb) * 1024 } else { 0 })
        }
        I::ProcStdinType
        | I::ProcStdoutType
        | I::ProcStderrType
        | I::ProcStdinName
        | I::ProcStdoutName
        | I::ProcStderrName => {
            let fdnum = match id {
                I::ProcStdinType | I::ProcStdinName => 0,
                I::ProcStdoutType | I::ProcStdoutName => 1,
                _ => 2,
            };
            if let Some(f) = state.fd(t.tid, fdnum) {
                if matches!(id, I::ProcStdinType | I::ProcStdoutType | I::ProcStderrType) {
                    out.push_bytes(f.kind.name().as_bytes());
                } else {
                    out.push_bytes(&f.name);
                }
            }
        }
        _ => {}
    }
    let _ = (cstr as fn(&[u8]) -> &[u8], int as fn(&[u8]) -> i64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_lookup() {
        let env = b"HOME=/root\0PATH= /bin \0EMPTY=\0";
        assert_eq!(env_var(env, "HOME"), Some(&b"/root"[..]));
        assert_eq!(env_var(env, "PATH"), Some(&b"/bin"[..]));
        assert_eq!(env_var(env, "EMPTY"), None);
        assert_eq!(env_var(env, "HOM"), None);
    }

    #[test]
    fn capability_names() {
        let mut b = Vec::new();
        write_caps(&mut b, (1 << 21) | 1);
        assert_eq!(b, b"CAP_CHOWN CAP_SYS_ADMIN");
    }
}
