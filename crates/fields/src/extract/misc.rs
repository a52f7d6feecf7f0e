//! `user.*`, `group.*`, `fdlist.*`, `fs.path.*` and `util.*`.

use lanner_event::Direction;
use lanner_event::value::{cstr, int};

use super::evt::normalize;
use super::{CheckState, EventContext};
use crate::field::Field;
use crate::registry::FieldId as I;
use crate::value::Values;

pub(super) fn extract(
    field: &Field,
    ctx: &EventContext<'_>,
    check: &mut CheckState,
    out: &mut Values,
) {
    let id = field.id();
    match id {
        I::UtilCnt => {
            check.counter += 1;
            return out.push_uint(check.counter);
        }
        I::FdlistNums
        | I::FdlistNames
        | I::FdlistCips
        | I::FdlistSips
        | I::FdlistCports
        | I::FdlistSports => {
            return fdlist(field, ctx, out);
        }
        I::FsPathName
        | I::FsPathNameraw
        | I::FsPathSource
        | I::FsPathSourceraw
        | I::FsPathTarget
        | I::FsPathTargetraw => return fs_path(field, ctx, out),
        _ => {}
    }
    let Some(t) = ctx.thread() else { return };
    let state = ctx.state;
    // Unknown users and groups read `<NA>`, as current libs reports them.
    let na: &[u8] = b"<NA>";
    match id {
        I::UserUid => out.push_uint(u64::from(t.uid)),
        I::UserName => out.push_bytes(state.user(t.uid).map_or(na, |u| u.name.as_slice())),
        I::UserHomedir => out.push_bytes(state.user(t.uid).map_or(na, |u| u.homedir.as_slice())),
        I::UserShell => out.push_bytes(state.user(t.uid).map_or(na, |u| u.shell.as_slice())),
        I::UserLoginuid => {
            out.push_int(if t.loginuid == u32::MAX { -1 } else { i64::from(t.loginuid) });
        }
        I::UserLoginname => {
            let name = if t.loginuid == u32::MAX {
                na
            } else {
                state.user(t.loginuid).map_or(na, |u| u.name.as_slice())
            };
            out.push_bytes(name);
        }
        I::GroupGid => out.push_uint(u64::from(t.gid)),
        I::GroupName => out.push_bytes(state.group_name(t.gid).unwrap_or(na)),
        _ => {}
    }
}

/// `fdlist.*`: the fds of a poll call, joined with commas.
fn fdlist(field: &Field, ctx: &EventContext<'_>, out: &mut Values) {
    let ev = ctx.event;
    if !matches!(ev.name(), "poll" | "ppoll") {
        return;
    }
    let Some(fds) = ev.param_by_name("fds") else { return };
    if fds.len() < 2 {
        return;
    }
    let count = usize::from(u16::from_le_bytes([fds[0], fds[1]]));
    let tid = ev.tid();
    let mut text = Vec::new();
    for entry in fds[2..].chunks_exact(10).take(count) {
        let fd = int(&entry[..8]);
        let info = ctx.state.fd(tid, fd);
        let piece: Option<Vec<u8>> = match field.id() {
            I::FdlistNums => Some(fd.to_string().into_bytes()),
            I::FdlistNames => Some(match info {
                Some(f) if !f.name.is_empty() => f.name.clone(),
                _ => b"<NA>".to_vec(),
            }),
            I::FdlistCips | I::FdlistCports | I::FdlistSips | I::FdlistSports => info
                .and_then(|f| match f.addrs {
                    Some(lanner_state::SockAddrs::V4 { sip, sport, dip, dport }) => {
                        Some(match field.id() {
                            I::FdlistCips => sip.to_string(),
                            I::FdlistCports => sport.to_string(),
                            I::FdlistSips => dip.to_string(),
                            _ => dport.to_string(),
                        })
                    }
                    Some(lanner_state::SockAddrs::V6 { sip, sport, dip, dport }) => {
                        Some(match field.id() {
                            I::FdlistCips => sip.to_string(),
                            I::FdlistCports => sport.to_string(),
                            I::FdlistSips => dip.to_string(),
                            _ => dport.to_string(),
                        })
                    }
                    Some(lanner_state::SockAddrs::V4Server { ip, .. })
                        if field.id() == I::FdlistSips =>
                    {
                        Some(ip.to_string())
                    }
                    Some(lanner_state::SockAddrs::V6Server { ip, .. })
                        if field.id() == I::FdlistSips =>
                    {
                        Some(ip.to_string())
                    }
                    _ => None,
                })
                .map(String::into_bytes),
            _ => None,
        };
        if let Some(p) = piece {
            if !text.is_empty() {
                text.push(b',');
            }
            text.extend_from_slice(&p);
        }
    }
    if !text.is_empty() {
        out.push_bytes(&text);
    }
}

/// `fs.path.*`: the path(s) a successful filesystem call worked on.
fn fs_path(field: &Field, ctx: &EventContext<'_>, out: &mut Values) {
    let ev = ctx.event;
    if ev.direction() != Direction::Exit {
        return;
    }
    let name = ev.name();
    let ok = match name {
        "open" | "openat" | "openat2" => ev.param_by_name("fd").is_some_and(|p| int(p) != -1),
        _ => ev.param_by_name("res").is_some_and(|p| int(p) == 0),
    };
    if !ok {
        return;
    }
    let enter = ctx.state.enter_of(ev);
    let param =
        |n: &str| ev.param_by_name(n).or_else(|| enter.as_ref()?.param_by_name(n)).map(cstr);
    let raw = matches!(field.id(), I::FsPathNameraw | I::FsPathSourceraw | I::FsPathTargetraw);
    let value: Option<Vec<u8>> = match field.id() {
        I::FsPathName | I::FsPathNameraw => match name {
            "mkdir" | "mkdirat" | "rmdir" | "unlink" | "chown" | "lchown" => {
                param("path").map(<[u8]>::to_vec)
            }
            "unlinkat" | "open" | "openat" | "openat2" | "umount" | "umount2" => {
                param("name").map(<[u8]>::to_vec)
            }
            "fchmodat" | "chmod" => param("filename").map(<[u8]>::to_vec),
            "fchownat" => param("pathname").map(<[u8]>::to_vec),
            "quotactl" => param("special").map(<[u8]>::to_vec),
            "fchmod" | "fchown" => ctx.event_fd().map(|f| f.name.clone()),
            _ => None,
        },
        I::FsPathSource | I::FsPathSourceraw => match name {
            "rename" | "renameat" | "renameat2" => param("oldpath").map(<[u8]>::to_vec),
            "link" | "linkat" => param("newpath").map(<[u8]>::to_vec),
            "symlink" | "symlinkat" => param("linkpath").map(<[u8]>::to_vec),
            "mount" => param("dev").map(<[u8]>::to_vec),
            _ => None,
        },
        _ => match name {
            "rename" | "renameat" | "renameat2" => param("newpath").map(<[u8]>::to_vec),
            "link" | "linkat" => param("oldpath").map(<[u8]>::to_vec),
            "symlink" | "symlinkat" => param("target").map(<[u8]>::to_vec),
            "mount" => param("dir").map(<[u8]>::to_vec),
            _ => None,
        },
    };
    let Some(value) = value else { return };
    if raw || value.first() == Some(&b'/') {
        out.push_bytes(&if raw { value } else { normalize(b"", &value) });
        return;
    }
    let Some(cwd) = ctx.state.cwd(ev.tid()) else { return };
    out.push_bytes(&normalize(cwd, &value));
}
