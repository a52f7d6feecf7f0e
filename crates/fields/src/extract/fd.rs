//! `fd.*`: the file descriptor the event is about.

use std::net::IpAddr;

use lanner_event::Direction;
use lanner_event::render::{self, AT_FDCWD};
use lanner_event::table::EventFlags;
use lanner_event::value::{cstr, int};
use lanner_state::{Fd, FdKind, Role, SockAddrs};

use super::EventContext;
use super::evt::normalize;
use crate::field::Field;
use crate::registry::FieldId as I;
use crate::value::Values;

/// The client and server ends of a socket: (client ip, client port, server ip, server port).
fn ends(fd: &Fd) -> Option<(IpAddr, u16, IpAddr, u16)> {
    match fd.addrs? {
        SockAddrs::V4 { sip, sport, dip, dport } => Some((sip.into(), sport, dip.into(), dport)),
        SockAddrs::V6 { sip, sport, dip, dport } => Some((sip.into(), sport, dip.into(), dport)),
        _ => None,
    }
}

/// The bound address of a listening socket.
fn server_addr(fd: &Fd) -> Option<(IpAddr, u16)> {
    match fd.addrs? {
        SockAddrs::V4Server { ip, port } => Some((ip.into(), port)),
        SockAddrs::V6Server { ip, port } => Some((ip.into(), port)),
        _ => None,
    }
}

/// The all-zero address of an IP socket with no address yet.
fn unaddressed_ip(fd: &Fd) -> Option<IpAddr> {
    match (fd.kind, fd.addrs) {
        (FdKind::Ipv4Socket, None) => Some(IpAddr::from([0u8; 4])),
        (FdKind::Ipv6Socket, None) => Some(IpAddr::from([0u8; 16])),
        _ => None,
    }
}

/// fd.name when the fd is not (or no longer) in the table: what the creating call's exit says.
fn name_without_fd(ctx: &EventContext<'_>, out: &mut Values) {
    let ev = ctx.event;
    if ev.direction() != Direction::Exit {
        return;
    }
    match ev.name() {
        "open" | "creat" | "accept" | "accept4" | "connect" => {
            let (mut value, mut resolved) = (Vec::new(), Vec::new());
            render::render_param(&mut value, &mut resolved, ev, 1, ctx.state, &ctx.render);
            out.push_bytes(if resolved.is_empty() { &value } else { &resolved });
        }
        "openat" | "openat2" => {
            let enter = ctx.state.enter_of(ev);
            let name = ev.param_by_name("name").or_else(|| enter.as_ref()?.param_by_name("name"));
            let dirfd =
                ev.param_by_name("dirfd").or_else(|| enter.as_ref()?.param_by_name("dirfd"));
            let Some(name) = name.map(cstr) else { return };
            let dirfd = dirfd.map_or(AT_FDCWD, int);
            let tid = ev.tid();
            let mut base = Vec::new();
            if name.first() != Some(&b'/') {
                if dirfd == AT_FDCWD {
                    base.extend_from_slice(ctx.state.cwd(tid).unwrap_or_default());
                } else if let Some(d) = ctx.fd(dirfd) {
                    base.extend_from_slice(&d.name);
                    base.push(b'/');
                }
            }
            out.push_bytes(&normalize(&base, name));
        }
        "open_by_handle_at" => {
            if let Some(p) = ev.param(3) {
                out.push_bytes(cstr(p));
            }
        }
        _ => out.push_bytes(b""),
    }
}

/// The directory part of a path, as `fd.directory` gives it.
fn directory(name: &[u8]) -> &[u8] {
    if name.last() == Some(&b'/') {
        return name;
    }
    match name.iter().rposition(|&b| b == b'/') {
        Some(0) | None => b"/",
        Some(i) => &name[..i],
    }
}

/// The fd's type letter when it is not in the table, from the call that creates it.
fn typechar_without_fd(ctx: &EventContext<'_>) -> u8 {
    match ctx.event.name() {
        "open" | "openat" | "openat2" | "creat" => b'f',
        "socket" | "accept" | "accept4" => b'4',
        "pipe" | "pipe2" => b'p',
        "eventfd" | "eventfd2" => b'e',
        "signalfd" | "signalfd4" => b's',
        "timerfd_create" => b't',
        "inotify_init" | "inotify_init1" => b'i',
        _ => b'o',
    }
}

/// Whether an address is one of the machine's.
fn client_is_local(ctx: &EventContext<'_>, cip: IpAddr) -> bool {
    ctx.state.is_local_ip(cip)
}

pub(super) fn extract(field: &Field, ctx: &EventContext<'_>, out: &mut Values) {
    let ev = ctx.event;
    let uses_fd = ev.info().is_some_and(|i| {
        i.flags.0 & (EventFlags::CREATES_FD | EventFlags::USES_FD | EventFlags::DESTROYS_FD) != 0
    });
    if !uses_fd || ctx.thread().is_none() {
        return;
    }
    let tid = ev.tid();
    let fdnum = ctx.state.event_fd();
    // A failed connect reports what it tried, not the fd's previous state (worked out only for
    // the fields that show it).
    let failed_connect = || {
        ev.direction() == Direction::Exit
            && ev.name() == "connect"
            && ev.param_by_name("res").is_some_and(|r| int(r) < 0)
    };
    let fd = ctx.event_fd();
    let id = field.id();
    match id {
        I::FdNum => return out.push_int(fdnum),
        I::FdUid => {
            return out.push_with(|b| {
                b.extend_from_slice(tid.to_string().as_bytes());
                b.extend_from_slice(fdnum.to_string().as_bytes());
            });
        }
        I::FdTypechar => {
            return out.push_bytes(&[
                fd.map_or_else(|| typechar_without_fd(ctx), |f| f.kind.type_char())
            ]);
        }
        I::FdName => {
            return match fd {
                Some(f) if !failed_connect() => out.push_bytes(&f.name),
                _ => name_without_fd(ctx, out),
            };
        }
        I::FdNameraw => {
            return match fd {
                Some(f) => out.push_bytes(&f.name),
                None => name_without_fd(ctx, out),
            };
        }
        I::FdDirectory | I::FdContainerdirectory => {
            let name: Option<Vec<u8>> = match fd {
                Some(f) if matches!(f.kind, FdKind::Directory) => Some(f.name.clone()),
                Some(f) if matches!(f.kind, FdKind::File) => Some(directory(&f.name).to_vec()),
                Some(_) => None,
                None => {
                    let mut tmp = Values::new();
                    name_without_fd(ctx, &mut tmp);
                    match tmp.first() {
                        Some(crate::value::Value::Bytes(n)) => Some(directory(n).to_vec()),
                        _ => None,
                    }
                }
            };
            if let Some(dir) = name {
                if id == I::FdContainerdirectory {
                    let cid = super::container::fd_prefix(ctx.thread());
                    out.push_with(|b| {
                        b.extend_from_slice(cid.as_bytes());
                        b.push(b':');
                        b.extend_from_slice(&dir);
                    });
                } else {
                    out.push_bytes(&dir);
                }
            }
            return;
        }
        I::FdContainername => {
            let mut tmp = Values::new();
            match fd {
                Some(f) => tmp.push_bytes(&f.name),
                None => name_without_fd(ctx, &mut tmp),
            }
            if let Some(crate::value::Value::Bytes(n)) = tmp.first() {
                let cid = super::container::fd_prefix(ctx.thread());
                out.push_with(|b| {
                    b.extend_from_slice(cid.as_bytes());
                    b.push(b':');
                    b.extend_from_slice(n);
                });
            }
            return;
        }
        _ => {}
    }
    let Some(fd) = fd else { return };
    let role_known = fd.role != Role::None;
    let connected_ip = matches!(fd.kind, FdKind::Ipv4Socket | FdKind::Ipv6Socket);
    let local_remote = || -> Option<(IpAddr, u16, IpAddr, u16)> {
        if !connected_ip || !role_known {
            return None;
        }
        let (cip, cport, sip, sport) = ends(fd)?;
        Some(if client_is_local(ctx, cip) {
            (cip, cport, sip, sport)
        } else {
            (sip, sport, cip, cport)
        })
    };
    match id {
        I::FdType => out.push_bytes(fd.kind.name().as_bytes()),
        I::FdFilename => {
            if fd.kind == FdKind::File {
                let name = &fd.name;
                match name.iter().rposition(|&b| b == b'/') {
                    Some(i) if i + 1 < name.len() => out.push_bytes(&name[i + 1..]),
                    Some(_) => out.push_bytes(name),
                    None => out.push_bytes(b"/"),
                }
            }
        }
        // Filter-only fields: any end of the socket (the filter compares each value).
        // Filter-only fields: both ends of a socket, whatever its role. A socket that is not
        // connected yet has all-zero addresses and ports, as libsinsp initialises them.
        I::FdIp | I::FdNet => {
            if let Some((cip, _, sip, _)) = ends(fd) {
                out.push_ip(cip);
                out.push_ip(sip);
            } else if let Some((ip, _)) = server_addr(fd) {
                out.push_ip(ip);
            } else if let Some(zero) = unaddressed_ip(fd) {
                out.push_ip(zero);
                out.push_ip(zero);
            }
        }
        I::FdPort | I::FdProto => {
            if let Some((_, cport, _, sport)) = ends(fd) {
                out.push_uint(u64::from(cport));
                out.push_uint(u64::from(sport));
            } else if let Some((_, port)) = server_addr(fd) {
                out.push_uint(u64::from(port));
            } else if unaddressed_ip(fd).is_some() {
                out.push_uint(0);
                out.push_uint(0);
            }
        }
        I::FdCip | I::FdCnet | I::FdCipName => {
            if connected_ip
                && role_known
                && id != I::FdCipName
                && let Some((cip, ..)) = ends(fd)
            {
                out.push_ip(cip);
            }
        }
        I::FdSip | I::FdSnet | I::FdSipName => {
            if id == I::FdSipName {
                return;
            }
            if connected_ip
                && role_known
                && let Some((_, _, sip, _)) = ends(fd)
            {
                out.push_ip(sip);
            } else if let Some((ip, _)) = server_addr(fd) {
                out.push_ip(ip);
            }
        }
        I::FdLip | I::FdLnet => {
            if let Some((lip, ..)) = local_remote() {
                out.push_ip(lip);
            }
        }
        I::FdRip | I::FdRnet => {
            if let Some((_, _, rip, _)) = local_remote() {
                out.push_ip(rip);
            }
        }
        I::FdLipName | I::FdRipName => {}
        I::FdCport | I::FdCproto => {
            if connected_ip && role_known {
                if let Some((_, cport, ..)) = ends(fd) {
                    if id == I::FdCport {
                        out.push_uint(u64::from(cport));
                    } else {
                        out.push_bytes(cport.to_string().as_bytes());
                    }
                }
            } else if id == I::FdCproto && role_known {
                out.push_bytes(b"");
            }
        }
        I::FdSport | I::FdSproto => {
            if connected_ip
                && role_known
                && let Some((.., sport)) = ends(fd)
            {
                if id == I::FdSport {
                    out.push_uint(u64::from(sport));
                } else {
                    out.push_bytes(sport.to_string().as_bytes());
                }
            } else if let Some((_, port)) = server_addr(fd) {
                if id == I::FdSport {
                    out.push_uint(u64::from(port));
                } else {
                    out.push_bytes(b"");
                }
            }
        }
        I::FdLport | I::FdLproto => {
            if let Some((_, lport, ..)) = local_remote() {
                if id == I::FdLport {
                    out.push_uint(u64::from(lport));
                } else {
                    out.push_bytes(lport.to_string().as_bytes());
                }
            }
        }
        I::FdRport | I::FdRproto => {
            if let Some((.., rport)) = local_remote() {
                if id == I::FdRport {
                    out.push_uint(u64::from(rport));
                } else {
                    out.push_bytes(rport.to_string().as_bytes());
                }
            }
        }
        I::FdL4proto => out.push_bytes(fd.effective_l4proto().name().as_bytes()),
        I::FdSockfamily => {
            if fd.kind.is_ip() {
                out.push_bytes(b"ip");
            } else if fd.kind == FdKind::Unix {
                out.push_bytes(b"unix");
            }
        }
        I::FdIsServer => {
            let v = match fd.kind {
                FdKind::Ipv4Server | FdKind::Ipv6Server => true,
                FdKind::Ipv4Socket | FdKind::Ipv6Socket => {
                    // A socket not connected yet has an all-zero peer.
                    let peer = ends(fd).map(|(_, _, sip, _)| sip).or_else(|| unaddressed_ip(fd));
                    peer.is_some_and(|ip| client_is_local(ctx, ip))
                }
                _ => false,
            };
            out.push_bool(v);
        }
        I::FdConnected => out.push_bool(fd.kind.is_socket() && role_known && fd.addrs.is_some()),
        I::FdNameChanged => out.push_bool(ctx.state.fd_name_changed()),
        I::FdDev => out.push_int(i64::from(fd.dev)),
        I::FdDevMajor => out.push_int(i64::from((fd.dev & 0xfff00) >> 8)),
        I::FdDevMinor => out.push_int(i64::from((fd.dev & 0xff) | ((fd.dev >> 12) & 0xfff00))),
        I::FdIno => out.push_int(fd.ino as i64),
        I::FdTypes => {
            // Every distinct fd type of the process, or the one of fd N.
            match field.arg() {
                crate::field::FieldArg::Index(n) => {
                    if let Some(f) = ctx.fd(*n as i64) {
                        out.push_bytes(f.kind.name().as_bytes());
                    }
                }
                _ => {
                    if let Some(table) = ctx.state.threads().fds(tid) {
                        let mut seen: Vec<&str> = Vec::new();
                        for (_, f) in table.iter() {
                            let name = f.kind.name();
                            if !seen.contains(&name) {
                                seen.push(name);
                                out.push_bytes(name.as_bytes());
                            }
                        }
                    }
                }
            }
        }
        I::FdIsUpperLayer | I::FdIsLowerLayer => out.push_bool(false),
        _ => {}
    }
}
