//! Keeps `src/table/generated.rs` in step with the libs event table vendored by
//! `falco_event_schema`, and checks the generated table against the crate's typed events.
//!
//! The generator reads `api/event_table.c`, `api/flags_table.c`, `api/dynamic_params_table.c`
//! and `api/ppm_events_public.h` from the `falco_event_schema` source that cargo resolved, and
//! renders Rust that refers to `falco_event_schema::ffi` for every number. When the output differs
//! from the committed file, the test fails; `LANNER_BLESS=1 cargo test -p lanner-event --test
//! event_table` rewrites it.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use lanner_event::table::{EVENT_MAX, ParamExtra, ParamType, event_info, syscall_name};

const GENERATED: &str = "src/table/generated.rs";

/// The triple of this machine, so `cargo metadata` needs no other platform's dependencies.
fn host_triple() -> String {
    let out = Command::new("rustc").arg("-vV").output().expect("run rustc -vV");
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines().find_map(|l| l.strip_prefix("host: ")).expect("host line").to_owned()
}

/// Finds the source directory of the `falco_event_schema` package cargo resolved for us.
fn schema_source_dir() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline", "--filter-platform"])
        .arg(host_triple())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pkg = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "falco_event_schema")
        .expect("falco_event_schema in the dependency graph");
    Path::new(pkg["manifest_path"].as_str().unwrap()).parent().unwrap().to_path_buf()
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    Punct(char),
}

/// A tokenizer for the C subset the tables use: identifiers, numbers, strings, punctuation.
/// Comments and preprocessor lines are dropped (the `#ifndef CONFIG_64BIT` blocks of the flags
/// table are compiled into userspace libs, so their contents are kept).
fn tokenize(src: &str) -> Vec<Tok> {
    let mut toks = Vec::new();
    let b = src.as_bytes();
    let mut i = 0;
    let mut line_start = true;
    while i < b.len() {
        let c = b[i] as char;
        if c == '\n' {
            line_start = true;
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if line_start && c == '#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        line_start = false;
        if src[i..].starts_with("//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if src[i..].starts_with("/*") {
            i += src[i..].find("*/").expect("closed comment") + 2;
            continue;
        }
        if c == '"' {
            let end = i + 1 + src[i + 1..].find('"').expect("closed string");
            toks.push(Tok::Str(src[i + 1..end].to_owned()));
            i = end + 1;
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            toks.push(Tok::Ident(src[start..i].to_owned()));
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric()) {
                i += 1;
            }
            toks.push(Tok::Num(src[start..i].to_owned()));
            continue;
        }
        toks.push(Tok::Punct(c));
        i += 1;
    }
    toks
}

struct Cursor {
    toks: Vec<Tok>,
    pos: usize,
}

impl Cursor {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos]
    }
    fn next(&mut self) -> Tok {
        self.pos += 1;
        self.toks[self.pos - 1].clone()
    }
    fn punct(&mut self, c: char) {
        let t = self.next();
        assert_eq!(t, Tok::Punct(c), "expected `{c}` at token {}", self.pos - 1);
    }
    fn eat(&mut self, c: char) -> bool {
        if *self.peek() == Tok::Punct(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn ident(&mut self) -> String {
        match self.next() {
            Tok::Ident(s) => s,
            t => panic!("expected identifier, got {t:?}"),
        }
    }
    /// Skips to the `[` that follows the first occurrence of the identifier `name`.
    fn seek_array(&mut self, name: &str) {
        while self.pos + 1 < self.toks.len() {
            if self.toks[self.pos] == Tok::Ident(name.to_owned())
                && self.toks[self.pos + 1] == Tok::Punct('[')
            {
                self.pos += 1;
                return;
            }
            self.pos += 1;
        }
        panic!("array `{name}` not found");
    }
    /// `A | B | C` as a list of identifiers.
    fn or_list(&mut self) -> Vec<String> {
        let mut v = vec![self.ident()];
        while self.eat('|') {
            v.push(self.ident());
        }
        v
    }
}

#[derive(Debug)]
struct Param {
    name: String,
    ty: String,
    fmt: String,
    info: Option<Info>,
}

#[derive(Debug)]
enum Info {
    Table(String),
    DirFd(String),
}

#[derive(Debug)]
struct Event {
    code: String,
    name: String,
    category: Vec<String>,
    flags: Vec<String>,
    params: Vec<Param>,
}

fn parse_param(c: &mut Cursor) -> Param {
    c.punct('{');
    let name = match c.next() {
        Tok::Str(s) => s,
        t => panic!("expected parameter name, got {t:?}"),
    };
    c.punct(',');
    let ty = c.ident();
    c.punct(',');
    let fmt = c.ident();
    let mut info = None;
    if c.eat(',') {
        let id = c.ident();
        if id == "DIRFD_PARAM" {
            c.punct('(');
            let n = match c.next() {
                Tok::Num(n) => n,
                t => panic!("expected number, got {t:?}"),
            };
            c.punct(')');
            info = Some(Info::DirFd(n));
        } else {
            info = Some(Info::Table(id));
        }
        // An optional element count (`ninfo`) follows dynamic tables; the slice knows its length.
        if c.eat(',') {
            c.next();
        }
    }
    c.punct('}');
    Param { name, ty, fmt, info }
}

fn parse_events(src: &str) -> Vec<Event> {
    let mut c = Cursor { toks: tokenize(src), pos: 0 };
    c.seek_array("g_event_info");
    c.punct('[');
    c.punct(']');
    c.punct('=');
    c.punct('{');
    let mut events = Vec::new();
    while !c.eat('}') {
        c.punct('[');
        let code = c.ident();
        c.punct(']');
        c.punct('=');
        c.punct('{');
        let name = match c.next() {
            Tok::Str(s) => s,
            t => panic!("expected event name, got {t:?}"),
        };
        c.punct(',');
        let category = c.or_list();
        c.punct(',');
        let flags = c.or_list();
        c.punct(',');
        let nparams: usize = match c.next() {
            Tok::Num(n) => n.parse().unwrap(),
            t => panic!("expected nparams, got {t:?}"),
        };
        let mut params = Vec::new();
        if c.eat(',') && !c.eat('}') {
            c.punct('{');
            while !c.eat('}') {
                params.push(parse_param(&mut c));
                c.eat(',');
            }
            c.eat(',');
            c.punct('}');
        } else if nparams > 0 || params.is_empty() {
            // `{"x", EC, EF, 0}` closes here.
            if *c.peek() == Tok::Punct('}') {
                c.punct('}');
            }
        }
        assert_eq!(params.len(), nparams, "{code}: nparams disagrees with the parameter list");
        c.eat(',');
        events.push(Event { code, name, category, flags, params });
    }
    events
}

/// `const struct ppm_name_value NAME[] = { {"A", PPM_A}, ..., {0, 0} };` for every table.
fn parse_flag_tables(src: &str) -> BTreeMap<String, Vec<(String, Vec<String>)>> {
    let mut c = Cursor { toks: tokenize(src), pos: 0 };
    let mut tables = BTreeMap::new();
    while c.pos + 4 < c.toks.len() {
        if c.toks[c.pos] == Tok::Ident("ppm_name_value".into()) {
            c.pos += 1;
            let name = c.ident();
            c.punct('[');
            c.punct(']');
            c.punct('=');
            c.punct('{');
            let mut entries = Vec::new();
            while !c.eat('}') {
                c.punct('{');
                match c.next() {
                    Tok::Str(s) => {
                        c.punct(',');
                        entries.push((s, c.or_list()));
                    }
                    Tok::Num(_) => {
                        c.punct(',');
                        c.next();
                    }
                    t => panic!("unexpected {t:?} in flag table {name}"),
                }
                c.punct('}');
                c.eat(',');
            }
            tables.insert(name, entries);
        } else {
            c.pos += 1;
        }
    }
    tables
}

/// `const struct ppm_param_info NAME[IDX_MAX] = { [IDX] = {{0}, PT_X, PF_Y, 0, 0}, ... };`
fn parse_dynamic_tables(src: &str) -> BTreeMap<String, Vec<(String, String, String)>> {
    let mut c = Cursor { toks: tokenize(src), pos: 0 };
    let mut tables = BTreeMap::new();
    while c.pos + 4 < c.toks.len() {
        if c.toks[c.pos] == Tok::Ident("ppm_param_info".into()) {
            c.pos += 1;
            let name = c.ident();
            c.punct('[');
            c.ident();
            c.punct(']');
            c.punct('=');
            c.punct('{');
            let mut entries = Vec::new();
            while !c.eat('}') {
                c.punct('[');
                let idx = c.ident();
                c.punct(']');
                c.punct('=');
                c.punct('{');
                c.punct('{');
                c.next();
                c.punct('}');
                c.punct(',');
                let ty = c.ident();
                c.punct(',');
                let fmt = c.ident();
                while !c.eat('}') {
                    c.next();
                }
                c.eat(',');
                entries.push((idx, ty, fmt));
            }
            tables.insert(name, entries);
        } else {
            c.pos += 1;
        }
    }
    tables
}

/// `PPM_SC_X(NAME, code)` entries of `ppm_events_public.h`.
fn parse_syscalls(src: &str) -> Vec<(String, u32)> {
    src.lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l.strip_prefix("PPM_SC_X(")?;
            let (name, rest) = rest.split_once(',')?;
            let code = rest.trim().split(')').next()?.trim().parse().ok()?;
            Some((name.trim().to_owned(), code))
        })
        .collect()
}

fn rust_param_type(pt: &str) -> &'static str {
    let all = [
        ("PT_NONE", "None"),
        ("PT_INT8", "Int8"),
        ("PT_INT16", "Int16"),
        ("PT_INT32", "Int32"),
        ("PT_INT64", "Int64"),
        ("PT_UINT8", "Uint8"),
        ("PT_UINT16", "Uint16"),
        ("PT_UINT32", "Uint32"),
        ("PT_UINT64", "Uint64"),
        ("PT_CHARBUF", "Charbuf"),
        ("PT_BYTEBUF", "Bytebuf"),
        ("PT_ERRNO", "Errno"),
        ("PT_SOCKADDR", "SockAddr"),
        ("PT_SOCKTUPLE", "SockTuple"),
        ("PT_FD", "Fd"),
        ("PT_PID", "Pid"),
        ("PT_FDLIST", "FdList"),
        ("PT_FSPATH", "FsPath"),
        ("PT_SYSCALLID", "SyscallId"),
        ("PT_SIGTYPE", "SigType"),
        ("PT_RELTIME", "RelTime"),
        ("PT_ABSTIME", "AbsTime"),
        ("PT_PORT", "Port"),
        ("PT_L4PROTO", "L4Proto"),
        ("PT_SOCKFAMILY", "SockFamily"),
        ("PT_BOOL", "Bool"),
        ("PT_IPV4ADDR", "Ipv4Addr"),
        ("PT_DYN", "Dyn"),
        ("PT_FLAGS8", "Flags8"),
        ("PT_FLAGS16", "Flags16"),
        ("PT_FLAGS32", "Flags32"),
        ("PT_UID", "Uid"),
        ("PT_GID", "Gid"),
        ("PT_DOUBLE", "Double"),
        ("PT_SIGSET", "SigSet"),
        ("PT_CHARBUFARRAY", "CharbufArray"),
        ("PT_CHARBUF_PAIR_ARRAY", "CharbufPairArray"),
        ("PT_IPV4NET", "Ipv4Net"),
        ("PT_IPV6ADDR", "Ipv6Addr"),
        ("PT_IPV6NET", "Ipv6Net"),
        ("PT_IPADDR", "IpAddr"),
        ("PT_IPNET", "IpNet"),
        ("PT_MODE", "Mode"),
        ("PT_FSRELPATH", "FsRelPath"),
        ("PT_ENUMFLAGS8", "EnumFlags8"),
        ("PT_ENUMFLAGS16", "EnumFlags16"),
        ("PT_ENUMFLAGS32", "EnumFlags32"),
    ];
    all.iter().find(|(c, _)| *c == pt).unwrap_or_else(|| panic!("unknown param type {pt}")).1
}

fn rust_print_format(pf: &str) -> &'static str {
    match pf {
        "PF_NA" => "Na",
        "PF_DEC" => "Dec",
        "PF_HEX" => "Hex",
        "PF_10_PADDED_DEC" => "PaddedDec10",
        "PF_ID" => "Id",
        "PF_DIR" => "Dir",
        "PF_OCT" => "Oct",
        _ => panic!("unknown print format {pf}"),
    }
}

fn or_expr(prefix: &str, names: &[String]) -> String {
    names.iter().map(|n| format!("ffi::{prefix}{n}")).collect::<Vec<_>>().join(" | ")
}

fn generate(dir: &Path) -> String {
    let read = |f: &str| std::fs::read_to_string(dir.join("api").join(f)).unwrap();
    let events = parse_events(&read("event_table.c"));
    let flags = parse_flag_tables(&read("flags_table.c"));
    let dynamic = parse_dynamic_tables(&read("dynamic_params_table.c"));
    let syscalls = parse_syscalls(&read("ppm_events_public.h"));
    let version = dir.file_name().unwrap().to_string_lossy().into_owned();

    let mut out = String::new();
    writeln!(out, "// @generated by `crates/event/tests/event_table.rs` from {version}/api;")
        .unwrap();
    writeln!(out, "// do not edit: rerun that test with LANNER_BLESS=1 instead.").unwrap();
    writeln!(out).unwrap();
    writeln!(out, "use falco_event_schema::ffi;").unwrap();
    writeln!(out).unwrap();
    writeln!(out, "use super::ParamExtra as X;").unwrap();
    writeln!(out, "use super::ParamType as T;").unwrap();
    writeln!(out, "use super::PrintFormat as F;").unwrap();
    writeln!(out, "use super::{{Category, DynamicParam, EVENT_MAX, EventFlags, EventInfo, FlagName, UNKNOWN_EVENT, param as p}};").unwrap();
    writeln!(out).unwrap();

    // Only the tables some parameter refers to (libs also has tables for filter fields).
    let used: std::collections::BTreeSet<&str> = events
        .iter()
        .flat_map(|e| &e.params)
        .filter_map(|p| match &p.info {
            Some(Info::Table(t)) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    for (name, entries) in flags.iter().filter(|(n, _)| used.contains(n.as_str())) {
        writeln!(out, "static FLAGS_{}: [FlagName; {}] = [", name.to_uppercase(), entries.len())
            .unwrap();
        for (label, value) in entries {
            let expr =
                value.iter().map(|v| format!("ffi::{v} as u32")).collect::<Vec<_>>().join(" | ");
            writeln!(out, "    FlagName {{ name: {label:?}, value: {expr} }},").unwrap();
        }
        writeln!(out, "];").unwrap();
    }
    for (name, entries) in &dynamic {
        // Dynamic tables are indexed by their `*_IDX_*` constant: lay them out in that order.
        writeln!(out, "static DYN_{}: [DynamicParam; {}] = {{", name.to_uppercase(), entries.len())
            .unwrap();
        writeln!(
            out,
            "    let mut t = [DynamicParam {{ ty: T::None, format: F::Na }}; {}];",
            entries.len()
        )
        .unwrap();
        for (idx, ty, fmt) in entries {
            writeln!(
                out,
                "    t[ffi::{idx} as usize] = DynamicParam {{ ty: T::{}, format: F::{} }};",
                rust_param_type(ty),
                rust_print_format(fmt)
            )
            .unwrap();
        }
        writeln!(out, "    t\n}};").unwrap();
    }

    writeln!(out).unwrap();
    writeln!(out, "/// The event table, indexed by event type code.").unwrap();
    writeln!(out, "pub static EVENTS: [EventInfo; EVENT_MAX] = {{").unwrap();
    writeln!(out, "    let mut t = [UNKNOWN_EVENT; EVENT_MAX];").unwrap();
    for e in &events {
        writeln!(out, "    t[ffi::ppm_event_code_{} as usize] = EventInfo {{", e.code).unwrap();
        writeln!(out, "        name: {:?},", e.name).unwrap();
        writeln!(
            out,
            "        category: Category({}),",
            or_expr("ppm_event_category_", &e.category)
        )
        .unwrap();
        writeln!(out, "        flags: EventFlags({}),", or_expr("ppm_event_flags_", &e.flags))
            .unwrap();
        if e.params.is_empty() {
            writeln!(out, "        params: &[],").unwrap();
        } else {
            writeln!(out, "        params: &[").unwrap();
            for p in &e.params {
                let extra = match &p.info {
                    None => "X::None".to_owned(),
                    Some(Info::DirFd(n)) => format!("X::DirFd({n})"),
                    Some(Info::Table(t)) if flags.contains_key(t) => {
                        format!("X::Flags(&FLAGS_{})", t.to_uppercase())
                    }
                    Some(Info::Table(t)) if dynamic.contains_key(t) => {
                        format!("X::Dynamic(&DYN_{})", t.to_uppercase())
                    }
                    Some(Info::Table(t)) => panic!("{}: unknown info table {t}", e.code),
                };
                writeln!(
                    out,
                    "            p({:?}, T::{}, F::{}, {extra}),",
                    p.name,
                    rust_param_type(&p.ty),
                    rust_print_format(&p.fmt)
                )
                .unwrap();
            }
            writeln!(out, "        ],").unwrap();
        }
        writeln!(out, "    }};").unwrap();
    }
    writeln!(out, "    t\n}};").unwrap();

    let max = syscalls.iter().map(|(_, c)| *c).max().unwrap_or(0) as usize + 1;
    writeln!(out).unwrap();
    writeln!(out, "/// System call names by libs code (`PPM_SC_*`).").unwrap();
    writeln!(out, "pub(super) static SYSCALL_NAMES: [Option<&str>; {max}] = {{").unwrap();
    writeln!(out, "    let mut t = [None; {max}];").unwrap();
    for (name, _) in &syscalls {
        writeln!(
            out,
            "    t[ffi::ppm_sc_code_PPM_SC_{name} as usize] = Some({:?});",
            name.to_lowercase()
        )
        .unwrap();
    }
    writeln!(out, "    t\n}};").unwrap();
    out
}

fn rustfmt(src: &str) -> String {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .arg("--config")
        .arg("max_width=100,use_small_heuristics=Max")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run rustfmt");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(src.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "rustfmt failed on the generated table");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn generated_table_is_current() {
    let fresh = rustfmt(&generate(&schema_source_dir()));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(GENERATED);
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if std::env::var_os("LANNER_BLESS").is_some() {
        std::fs::write(&path, fresh).unwrap();
        return;
    }
    assert!(
        committed == fresh,
        "{GENERATED} is stale: rerun with LANNER_BLESS=1 to regenerate it from falco_event_schema"
    );
}

#[test]
fn table_has_every_known_event() {
    let open_x = event_info(3).unwrap();
    assert_eq!(open_x.name, "open");
    assert_eq!(open_x.params.len(), 6);
    assert_eq!(open_x.params[0].name, "fd");
    assert_eq!(open_x.params[0].ty, ParamType::Fd);
    assert!(open_x.params[2].flag_names().iter().any(|f| f.name == "O_RDONLY" && f.value == 1));
    assert!(event_info(EVENT_MAX as u16).is_none());
    // procinfo is the internal event older captures are full of.
    let procinfo = event_info(234).unwrap();
    assert_eq!(procinfo.name, "procinfo");
    assert!(procinfo.category.is_internal());
    assert_eq!(syscall_name(5), Some("open"));
    // every FSRELPATH names a dirfd parameter of the same event
    for code in 0..EVENT_MAX as u16 {
        let info = event_info(code).unwrap();
        for p in info.params {
            if let ParamExtra::DirFd(i) = p.extra {
                assert_eq!(info.params[usize::from(i)].ty, ParamType::Fd, "{}", info.name);
            }
        }
    }
}
