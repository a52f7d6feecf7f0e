//! `evt.*` and `syscall.type`: the event itself.

use lanner_event::ffi;
use lanner_event::render::{self, AT_FDCWD};
use lanner_event::table::{Direction, EventFlags};
use lanner_event::value::{cstr, int, uint};
use lanner_state::FdKind;

use super::time;
use super::{CheckState, EventContext};
use crate::field::{Field, FieldArg, PathEnd};
use crate::registry::FieldId as I;
use crate::value::Values;

const NS: u64 = 1_000_000_000;

/// The syscall's return value: the `res` parameter, or for fd-creating exits the `fd` one.
pub(crate) fn return_value(ctx: &EventContext<'_>) -> Option<i64> {
    let ev = ctx.event;
    if ev.direction() != Direction::Exit {
        return None;
    }
    if let Some(res) = ev.param_by_name("res") {
        return Some(int(res));
    }
    let creates = ev.info().is_some_and(|i| i.flags.contains(EventFlags::CREATES_FD));
    if creates { ev.param_by_name("fd").map(int) } else { None }
}

/// The event's own category bits without the event-kind bits.
fn subcategory(ctx: &EventContext<'_>) -> u32 {
    ctx.event.info().map_or(0, |i| i.category.0 & (ffi::ppm_event_category_EC_SYSCALL - 1))
}

/// Whether the event is an I/O call (read, write, or other fd I/O).
fn is_io_category(ctx: &EventContext<'_>) -> bool {
    subcategory(ctx) & ffi::ppm_event_category_EC_IO_BASE != 0
}

/// The thread's latency: the time between its last enter event and the exit that followed
/// (0 after an enter event, and for events without a thread).
fn latency(ctx: &EventContext<'_>) -> u64 {
    ctx.thread().map_or(0, |t| t.latency)
}

fn push_str(out: &mut Values, s: &str) {
    out.push_bytes(s.as_bytes());
}

/// `evt.category`: the event's category name, with I/O calls named after their fd's kind.
fn category(ctx: &EventContext<'_>) -> &'static str {
    let Some(info) = ctx.event.info() else { return "unknown" };
    let mut cat = info.category.0;
    if ctx.event.event_type() <= 1 {
        // Generic events take the category of the syscall they stand for.
        let id = ctx.event.param(0).map_or(0, |p| uint(p) as u16);
        cat = lanner_event::table::syscall_category(id).map_or(0, |c| c.0);
    }
    let sub = cat & (ffi::ppm_event_category_EC_SYSCALL - 1);
    if sub & ffi::ppm_event_category_EC_IO_BASE != 0 {
        let fd = ctx.event_fd();
        return match fd.map(|f| f.kind) {
            Some(FdKind::File | FdKind::Directory) => "file",
            Some(
                FdKind::Ipv4Socket | FdKind::Ipv6Socket | FdKind::Ipv4Server | FdKind::Ipv6Server,
            ) => "net",
            Some(
                FdKind::Fifo | FdKind::Unix | FdKind::Event | FdKind::Signalfd | FdKind::Inotify,
            )
            | Some(FdKind::Userfaultfd) => "ipc",
            _ => "unknown",
        };
    }
    match sub {
        ffi::ppm_event_category_EC_UNKNOWN => {
            if cat & ffi::ppm_event_category_EC_METAEVENT != 0 {
                "meta"
            } else if cat & ffi::ppm_event_category_EC_PLUGIN != 0 {
                "plugin"
            } else if cat & ffi::ppm_event_category_EC_TRACEPOINT != 0 {
                "tracepoint"
            } else if cat & ffi::ppm_event_category_EC_SYSCALL != 0 {
                "syscall"
            } else {
                "unknown"
            }
        }
        ffi::ppm_event_category_EC_OTHER => "other",
        ffi::ppm_event_category_EC_FILE => "file",
        ffi::ppm_event_category_EC_NET => "net",
        ffi::ppm_event_category_EC_IPC => "IPC",
        ffi::ppm_event_category_EC_MEMORY => "memory",
        ffi::ppm_event_category_EC_PROCESS => "process",
        ffi::ppm_event_category_EC_SLEEP => "sleep",
        ffi::ppm_event_category_EC_SYSTEM => "system",
        ffi::ppm_event_category_EC_SIGNAL => "signal",
        ffi::ppm_event_category_EC_USER => "user",
        ffi::ppm_event_category_EC_TIME => "time",
        ffi::ppm_event_category_EC_PROCESSING => "processing",
        ffi::ppm_event_category_EC_WAIT => "wait",
        ffi::ppm_event_category_EC_SCHEDULER => "scheduler",
        ffi::ppm_event_category_EC_INTERNAL => "internal",
        _ => "unknown",
    }
}

/// `evt.count.error.*`: 1 for a failed call, 0 for a successful one, nothing without a result.
fn count_error(ctx: &EventContext<'_>, out: &mut Values) {
    if let Some(rv) = return_value(ctx) {
        out.push_uint(u64::from(rv < 0));
    }
}

/// Names of the open family, and where their flags and mode parameters are.
fn open_flags_mode(ctx: &EventContext<'_>) -> Option<(u32, u32)> {
    let ev = ctx.event;
    if ev.direction() != Direction::Exit {
        return None;
    }
    match ev.name() {
        "open" | "openat" | "openat2" | "open_by_handle_at" => {
            let flags = ev.param_by_name("flags").map_or(0, |p| uint(p) as u32);
            let mode = ev.param_by_name("mode").map_or(0, |p| uint(p) as u32);
            Some((flags, mode))
        }
        "creat" => {
            let mode = ev.param_by_name("mode").map_or(0, |p| uint(p) as u32);
            Some((ffi::PPM_O_CREAT | ffi::PPM_O_WRONLY | ffi::PPM_O_TRUNC, mode))
        }
        _ => None,
    }
}

/// `evt.abspath`: the absolute path a path-taking `*at` call works on.
fn abspath(ctx: &EventContext<'_>, end: PathEnd, out: &mut Values) {
    let ev = ctx.event;
    if ev.direction() != Direction::Exit || ctx.thread().is_none() {
        return;
    }
    let (dirfd, path) = match (ev.name(), end) {
        ("renameat" | "renameat2", PathEnd::Src) => ("olddirfd", "oldpath"),
        ("renameat" | "renameat2", PathEnd::Dst) => ("newdirfd", "newpath"),
        ("symlinkat", PathEnd::Src) => ("linkdirfd", "linkpath"),
        ("linkat", PathEnd::Src) => ("olddir", "oldpath"),
        ("linkat", PathEnd::Dst) => ("newdir", "newpath"),
        ("unlinkat" | "openat" | "openat2", PathEnd::Src) => ("dirfd", "name"),
        ("mkdirat", PathEnd::Src) => ("dirfd", "path"),
        ("fchmodat", PathEnd::Src) => ("dirfd", "filename"),
        ("fchownat", PathEnd::Src) => ("dirfd", "pathname"),
        _ => return,
    };
    let (Some(dirfd), Some(path)) = (ev.param_by_name(dirfd), ev.param_by_name(path)) else {
        return;
    };
    let (dirfd, path) = (int(dirfd), cstr(path));
    let tid = ev.tid();
    let mut base = Vec::new();
    if path.first() != Some(&b'/') {
        if dirfd == AT_FDCWD {
            base.extend_from_slice(ctx.state.cwd(tid).unwrap_or_default());
        } else if let Some(f) = ctx.fd(dirfd) {
            base.extend_from_slice(&f.name);
            base.push(b'/');
        } else {
            base.extend_from_slice(b"<UNKNOWN>/");
        }
    }
    out.push_bytes(&normalize(&base, path));
}

/// Joins and normalises a base and a path (`.` and `..` resolved, slashes collapsed).
pub(crate) fn normalize(base: &[u8], path: &[u8]) -> Vec<u8> {
    let absolute = base.first() == Some(&b'/') || (base.is_empty() && path.first() == Some(&b'/'));
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in base.split(|&b| b == b'/').chain(path.split(|&b| b == b'/')) {
        match part {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    let mut out = Vec::new();
    if absolute {
        out.push(b'/');
    }
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(part);
    }
    out
}

/// `evt.infra.docker.*`: a key of an infrastructure event's `k: v; k: v` description.
fn infra(ctx: &EventContext<'_>, key: &str, out: &mut Values) {
    const PPME_INFRASTRUCTURE_EVENT_E: u16 = ffi::ppm_event_code_PPME_INFRASTRUCTURE_EVENT_E as u16;
    if ctx.event.event_type() != PPME_INFRASTRUCTURE_EVENT_E {
        return;
    }
    let Some(desc) = ctx.event.param(2).map(cstr) else { return };
    let desc = String::from_utf8_lossy(desc);
    for item in desc.split(';') {
        if let Some((k, v)) = item.split_once(':')
            && k.trim() == key
        {
            let v = v.trim();
            let v = match key {
                "ID" => &v[..v.len().min(12)],
                "Image" => v.split_once('@').map_or(v, |(image, _)| image),
                _ => v,
            };
            out.push_bytes(v.as_bytes());
            return;
        }
    }
}

pub(super) fn extract(
    field: &Field,
    ctx: &EventContext<'_>,
    check: &mut CheckState,
    out: &mut Values,
) {
    let ev = ctx.event;
    let ts = ev.ts();
    let info = ev.info();
    let flags = info.map_or(0, |i| i.flags.0);
    match field.id() {
        I::EvtNum => out.push_uint(ctx.num),
        I::EvtTime | I::EvtOutputtime => {
            out.push_with(|b| time::write_time_of_day(b, ts, ctx.utc_offset));
        }
        I::EvtTimeS => out.push_with(|b| time::write_time_s(b, ts, ctx.utc_offset)),
        I::EvtTimeIso8601 => out.push_with(|b| time::write_iso8601(b, ts)),
        I::EvtDatetime => out.push_with(|b| time::write_datetime(b, ts, ctx.utc_offset, true)),
        I::EvtDatetimeS => out.push_with(|b| time::write_datetime(b, ts, ctx.utc_offset, false)),
        I::EvtRawtime => out.push_uint(ts),
        I::EvtRawtimeS => out.push_uint(ts / NS),
        I::EvtRawtimeNs => out.push_uint(ts % NS),
        I::EvtReltime => out.push_uint(ts.saturating_sub(ctx.first_ts)),
        I::EvtReltimeS => out.push_uint(ts.saturating_sub(ctx.first_ts) / NS),
        I::EvtReltimeNs => out.push_uint(ts.saturating_sub(ctx.first_ts) % NS),
        I::EvtPluginname | I::EvtPlugininfo => {}
        I::EvtSource => {
            if !matches!(ev.event_type(), 322 | 402) {
                push_str(out, "syscall");
            }
        }
        I::EvtIsAsync => {
            out.push_bool(
                info.is_some_and(|i| i.category.0 & ffi::ppm_event_category_EC_METAEVENT != 0),
            );
        }
        I::EvtAsynctype => {
            if info.is_some_and(|i| i.category.0 & ffi::ppm_event_category_EC_METAEVENT != 0) {
                if ev.event_type() == ffi::ppm_event_code_PPME_ASYNCEVENT_E as u16 {
                    if let Some(name) = ev.param(1) {
                        out.push_bytes(cstr(name));
                    }
                } else {
                    push_str(out, ev.name());
                }
            }
        }
        I::EvtHostname => {
            let host = ctx.state.hostname();
            if !host.is_empty() {
                out.push_bytes(host);
            }
        }
        I::EvtLatency | I::EvtWaitLatency => {
            if field.id() == I::EvtWaitLatency
                && !(ev.direction() == Direction::Exit && flags & EventFlags::WAITS != 0)
            {
                return;
            }
            out.push_uint(latency(ctx));
        }
        I::EvtLatencyS => out.push_uint(latency(ctx) / NS),
        I::EvtLatencyNs => out.push_uint(latency(ctx) % NS),
        I::EvtLatencyQuantized => {
            let l = latency(ctx);
            if l != 0 {
                out.push_uint(1);
            }
        }
        I::EvtLatencyHuman => out.push_with(|b| human_duration(b, latency(ctx))),
        I::EvtDeltatime | I::EvtDeltatimeS | I::EvtDeltatimeNs => {
            let delta = check.last_ts.map_or(0, |prev| ts.saturating_sub(prev));
            check.last_ts = Some(ts);
            out.push_uint(match field.id() {
                I::EvtDeltatimeS => delta / NS,
                I::EvtDeltatimeNs => delta % NS,
                _ => delta,
            });
        }
        I::EvtDir => push_str(out, if ev.direction() == Direction::Enter { ">" } else { "<" }),
        I::EvtType => {
            if ev.event_type() == ffi::ppm_event_code_PPME_ASYNCEVENT_E as u16 {
                if let Some(name) = ev.param(1) {
                    out.push_bytes(cstr(name));
                }
            } else {
                push_str(out, render::event_type_name(ev));
            }
        }
        I::EvtTypeIs => {
            if let FieldArg::EventTypes(types) = field.arg() {
                out.push_uint(u64::from(types.contains(&ev.event_type())));
            }
        }
        I::SyscallType => {
            let syscall =
                info.is_some_and(|i| i.category.0 & ffi::ppm_event_category_EC_SYSCALL != 0);
            if syscall {
                push_str(out, render::event_type_name(ev));
            }
        }
        I::EvtCategory => push_str(out, category(ctx)),
        I::EvtCpu => out.push_int(i64::from(ctx.cpu as i16)),
        I::EvtArgs | I::EvtInfo => {
            let opts = ctx.render;
            out.push_with(|b| {
                let start = b.len();
                render::write_args(b, ev, ctx.state, &opts, &mut Vec::new());
                // libs no longer keeps the separator after the last argument.
                if b.len() > start && b.last() == Some(&b' ') {
                    b.pop();
                }
            });
        }
        I::EvtArg => evt_arg(field, ctx, out),
        I::EvtRawarg => {
            if let FieldArg::Param(name) = field.arg() {
                let p = ev.param_by_name(name).or_else(|| folded_enter(ctx)?.param_by_name(name));
                if let Some(p) = p.filter(|p| !p.is_empty()) {
                    push_raw(out, field.ty(), p);
                }
            }
        }
        I::EvtBuffer => {
            if let Some(data) = ev.param_by_name("data") {
                out.push_bytes(data);
            }
        }
        I::EvtBuflen
        | I::EvtBuflenIn
        | I::EvtBuflenOut
        | I::EvtBuflenFile
        | I::EvtBuflenFileIn
        | I::EvtBuflenFileOut
        | I::EvtBuflenNet
        | I::EvtBuflenNetIn
        | I::EvtBuflenNetOut => buflen(field, ctx, out),
        I::EvtRes => {
            if let Some(rv) = return_value(ctx) {
                if rv >= 0 {
                    push_str(out, "SUCCESS");
                } else {
                    push_str(out, lanner_event::names::errno_name(rv).unwrap_or("UNKNOWN"));
                }
            }
        }
        I::EvtRawres => {
            if let Some(rv) = return_value(ctx) {
                out.push_int(rv);
            }
        }
        I::EvtFailed => {
            if let Some(rv) = return_value(ctx) {
                out.push_bool(rv < 0);
            }
        }
        I::EvtIsIo => {
            out.push_bool(flags & (EventFlags::READS_FROM_FD | EventFlags::WRITES_TO_FD) != 0)
        }
        I::EvtIsIoRead => out.push_bool(flags & EventFlags::READS_FROM_FD != 0),
        I::EvtIsIoWrite => out.push_bool(flags & EventFlags::WRITES_TO_FD != 0),
        I::EvtIoDir => {
            if flags & EventFlags::WRITES_TO_FD != 0 {
                push_str(out, "write");
            } else if flags & EventFlags::READS_FROM_FD != 0 {
                push_str(out, "read");
            }
        }
        I::EvtIsWait => out.push_bool(flags & EventFlags::WAITS != 0),
        I::EvtIsSyslog => {
            let syslog = flags & EventFlags::WRITES_TO_FD != 0
                && ctx
                    .state
                    .fd(ev.tid(), ctx.state.event_fd())
                    .is_some_and(|f| f.name.windows(8).any(|w| w == b"/dev/log"));
            out.push_bool(syslog);
        }
        I::EvtCount => out.push_uint(1),
        I::EvtCountError => count_error(ctx, out),
        I::EvtCountErrorFile
        | I::EvtCountErrorNet
        | I::EvtCountErrorMemory
        | I::EvtCountErrorOther => {
            let kind = ctx.event_fd().map(|f| f.kind);
            let is_file = match kind {
                Some(k) => matches!(k, FdKind::File | FdKind::Directory),
                None => {
                    matches!(
                        ev.name(),
                        "open" | "creat" | "openat" | "openat2" | "open_by_handle_at"
                    ) && ev.direction() == Direction::Exit
                }
            };
            let is_net = match kind {
                Some(k) => k.is_ip() || k == FdKind::Unix,
                None => {
                    matches!(ev.name(), "accept" | "accept4" | "connect")
                        && ev.direction() == Direction::Exit
                }
            };
            let is_memory = subcategory(ctx) == ffi::ppm_event_category_EC_MEMORY;
            let applies = match field.id() {
                I::EvtCountErrorFile => is_file,
                I::EvtCountErrorNet => is_net,
                I::EvtCountErrorMemory => is_memory,
                _ => !is_file && !is_net && !is_memory,
            };
            if applies {
                count_error(ctx, out);
            }
        }
        I::EvtCountExit => {
            if ev.direction() == Direction::Exit {
                out.push_uint(1);
            }
        }
        I::EvtCountProcinfo | I::EvtCountThreadinfo => {
            let procinfo = ev.event_type() == ffi::ppm_event_code_PPME_PROCINFO_E as u16;
            let main = ctx.thread().is_some_and(|t| t.is_main_thread());
            let hit = procinfo && (field.id() == I::EvtCountThreadinfo || main);
            out.push_uint(u64::from(hit));
        }
        I::EvtAround => {
            // Only meaningful as `evt.around[T] = D`; the filter compiler handles it.
            if let FieldArg::Time(t) = field.arg() {
                out.push_uint(ts.abs_diff(*t) / 1_000_000);
            }
        }
        I::EvtAbspath => {
            let end = match field.arg() {
                FieldArg::PathEnd(end) => *end,
                _ => PathEnd::Src,
            };
            abspath(ctx, end, out);
        }
        I::EvtIsOpenRead | I::EvtIsOpenWrite | I::EvtIsOpenExec | I::EvtIsOpenCreate => {
            let v = match open_flags_mode(ctx) {
                None => false,
                Some((flags, mode)) => match field.id() {
                    I::EvtIsOpenRead => flags & ffi::PPM_O_RDONLY != 0,
                    I::EvtIsOpenWrite => flags & ffi::PPM_O_WRONLY != 0,
                    I::EvtIsOpenExec => {
                        flags & (ffi::PPM_O_TMPFILE | ffi::PPM_O_CREAT) != 0 && mode & 0o111 != 0
                    }
                    _ => {
                        flags & ffi::PPM_O_F_CREATED != 0
                            || (flags & ffi::PPM_O_TMPFILE != 0
                                && return_value(ctx).is_some_and(|r| r >= 0))
                    }
                },
            };
            out.push_bool(v);
        }
        I::EvtInfraDockerName => infra(ctx, "Event", out),
        I::EvtInfraDockerContainerId => infra(ctx, "ID", out),
        I::EvtInfraDockerContainerName => infra(ctx, "name", out),
        I::EvtInfraDockerContainerImage => infra(ctx, "Image", out),
        _ => {}
    }
}

/// `evt.arg.NAME` / `evt.arg[N]`: the parameter as `evt.args` shows it, its resolved form when it
/// has one (`<f>/etc/passwd` for an fd, `ENOENT` for -2, `O_RDONLY` for flags).
fn evt_arg(field: &Field, ctx: &EventContext<'_>, out: &mut Values) {
    let mut ev = *ctx.event;
    let index = match field.arg() {
        FieldArg::Index(n) => {
            let n = *n as usize;
            let nparams = ev.info().map_or(0, |i| i.params.len()).min(ev.nparams());
            (n < nparams).then_some(n)
        }
        FieldArg::Param(name) => ev.param_index(name),
        _ => None,
    };
    let index = match index {
        Some(i) => Some(i),
        None => folded_param(field.arg(), ctx).map(|(enter, i)| {
            ev = enter;
            i
        }),
    };
    let Some(i) = index else { return };
    if ev.event_type() <= 1 {
        // generic events: the syscall name, then its native id
        match i {
            0 => out.push_bytes(render::event_type_name(&ev).as_bytes()),
            _ => out.push_with(|b| {
                b.extend_from_slice(uint(ev.param(1).unwrap_or_default()).to_string().as_bytes())
            }),
        }
        return;
    }
    let (mut value, mut resolved) = (Vec::new(), Vec::new());
    render::render_param(&mut value, &mut resolved, &ev, i, ctx.state, &ctx.render);
    out.push_bytes(if resolved.is_empty() { &value } else { &resolved });
}

/// The enter event whose parameters fold into the current exit event, when the context folds
/// them ([`EventContext::fold_enter`]).
fn folded_enter<'a>(ctx: &EventContext<'a>) -> Option<lanner_event::RawEvent<'a>> {
    if !ctx.fold_enter || ctx.event.direction() != Direction::Exit {
        return None;
    }
    ctx.state.enter_of(ctx.event)
}

/// A parameter the exit event lacks, found in its enter event: by name, or for `evt.arg[N]`
/// by the name the current event table gives the exit event's parameter N.
fn folded_param<'a>(
    arg: &FieldArg,
    ctx: &EventContext<'a>,
) -> Option<(lanner_event::RawEvent<'a>, usize)> {
    let enter = folded_enter(ctx)?;
    let name = match arg {
        FieldArg::Param(name) => &**name,
        FieldArg::Index(n) => ctx.event.info()?.params.get(*n as usize)?.name,
        _ => return None,
    };
    let i = enter.param_index(name)?;
    Some((enter, i))
}

/// A raw parameter as a typed value.
pub(crate) fn push_raw(out: &mut Values, ty: lanner_event::ParamType, p: &[u8]) {
    use lanner_event::ParamType as T;
    match ty {
        T::Int8 | T::Int16 | T::Int32 | T::Int64 | T::Errno | T::Fd | T::Pid => {
            out.push_int(int(p))
        }
        T::Uint8
        | T::Uint16
        | T::Uint32
        | T::Uint64
        | T::Flags8
        | T::Flags16
        | T::Flags32
        | T::EnumFlags8
        | T::EnumFlags16
        | T::EnumFlags32
        | T::Mode
        | T::Uid
        | T::Gid
        | T::Port
        | T::SigType
        | T::SigSet
        | T::SyscallId
        | T::L4Proto
        | T::SockFamily
        | T::RelTime
        | T::AbsTime => out.push_uint(uint(p)),
        T::Bool => out.push_bool(uint(p) != 0),
        T::Charbuf | T::FsPath | T::FsRelPath => out.push_bytes(cstr(p)),
        T::Ipv4Addr => out.push_ip(std::net::IpAddr::from(lanner_event::value::array::<4>(p))),
        T::Ipv6Addr => out.push_ip(std::net::IpAddr::from(lanner_event::value::array::<16>(p))),
        _ => out.push_bytes(p),
    }
}

/// `evt.buflen*`: the byte count of a successful I/O call on a known fd.
fn buflen(field: &Field, ctx: &EventContext<'_>, out: &mut Values) {
    let ev = ctx.event;
    if ev.direction() != Direction::Exit || !is_io_category(ctx) {
        return;
    }
    let Some(fd) = ctx.event_fd() else { return };
    let Some(rv) = return_value(ctx).filter(|&r| r >= 0) else { return };
    let sub = subcategory(ctx);
    let read = sub == ffi::ppm_event_category_EC_IO_READ;
    let write = sub == ffi::ppm_event_category_EC_IO_WRITE;
    let file = matches!(fd.kind, FdKind::File);
    let net = fd.kind.is_ip();
    let applies = match field.id() {
        I::EvtBuflen => true,
        I::EvtBuflenIn => read,
        I::EvtBuflenOut => write,
        I::EvtBuflenFile => file,
        I::EvtBuflenFileIn => file && read,
        I::EvtBuflenFileOut => file && write,
        I::EvtBuflenNet => net,
        I::EvtBuflenNetIn => net && read,
        I::EvtBuflenNetOut => net && write,
        _ => false,
    };
    if applies {
        out.push_uint(rv as u64);
    }
}

/// A duration the way libsinsp's `format_time` writes it: `653ns`, `3.12us`, `81us`, `2.10ms`,
/// `213ms`, `1.10s`.
fn human_duration(out: &mut Vec<u8>, ns: u64) {
    use std::io::Write;
    let _ = if ns < 1_000 {
        write!(out, "{ns}ns")
    } else if ns < 10_000 {
        write!(out, "{:.2}us", ns as f64 / 1e3)
    } else if ns < 1_000_000 {
        write!(out, "{}us", ns / 1_000)
    } else if ns < 10_000_000 {
        write!(out, "{:.2}ms", ns as f64 / 1e6)
    } else if ns < NS {
        write!(out, "{}ms", ns / 1_000_000)
    } else {
        write!(out, "{:.2}s", ns as f64 / 1e9)
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let h = |ns| {
            let mut out = Vec::new();
            human_duration(&mut out, ns);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(h(653), "653ns");
        assert_eq!(h(3_120), "3.12us");
        assert_eq!(h(81_000), "81us");
        assert_eq!(h(213_000_000), "213ms");
        assert_eq!(h(1_100_000_000), "1.10s");
    }

    #[test]
    fn infra_event_types_exist() {
        assert!(
            lanner_event::table::event_info(ffi::ppm_event_code_PPME_INFRASTRUCTURE_EVENT_E as u16)
                .is_some()
        );
    }
}
