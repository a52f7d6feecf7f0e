//! Binding a field reference as written (`proc.aname[2]`, `evt.arg.flags`, `thread.cgroup.cpu`)
//! to a registry entry and a checked argument, once, at load time.

use lanner_event::ParamType;
use lanner_event::table::{EVENT_MAX, event_info};

use crate::registry::{self, FieldDef, FieldId, epf};

/// The argument of a field, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldArg {
    /// No argument.
    None,
    /// A numeric index: `proc.aname[2]`, `evt.arg[0]`, `proc.args[1]`, `fd.types[3]`.
    Index(u64),
    /// A key: `proc.env[HOME]`, `thread.cgroup.cpu`, `proc.aenv[PATH]`.
    Key(Box<str>),
    /// An event parameter by name: `evt.arg.flags`, `evt.rawarg.res`.
    Param(Box<str>),
    /// The event types `evt.type.is.X` stands for.
    EventTypes(Box<[u16]>),
    /// An absolute timestamp: `evt.around[T]`.
    Time(u64),
    /// Which path of `evt.abspath`: `src` or `dst` (plain `evt.abspath` is `src`).
    PathEnd(PathEnd),
    /// A pattern a mount's path is searched with: `container.mount.dest[/var/run/docker.sock]`.
    Pattern(ArgPattern),
    /// A configured static field: `static.env`, and the value it has.
    Static {
        /// The name after `static.`.
        name: Box<str>,
        /// The configured value.
        value: Box<str>,
    },
}

/// The pattern of a mount field's key argument (`container.mount[/usr/local]`,
/// `container.mount.source[/host/lib/*]`), compiled once at load time.
///
/// The container plugin compiles the key as a regular expression (RE/flex, multi-line) and
/// takes the first mount whose path it is *found* in, so `/var/run` finds
/// `/var/run/docker.sock`, `^/tmp$` only `/tmp`, and `/root*` any path holding `/roo`. (libs
/// before the plugin matched the key as a glob against the whole path; lanner follows the
/// plugin, which Falco runs today.) Rust's regex syntax is the same for everything but
/// look-around and back-references, which RE/flex lacks too.
#[derive(Clone, Debug)]
pub struct ArgPattern {
    text: Box<str>,
    regex: regex::Regex,
}

impl ArgPattern {
    /// Compiles a key argument.
    pub fn new(text: &str) -> Result<ArgPattern, regex::Error> {
        let regex = regex::RegexBuilder::new(text).multi_line(true).build()?;
        Ok(ArgPattern { text: text.into(), regex })
    }

    /// The argument as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the pattern is found in `path`.
    pub fn is_match(&self, path: &str) -> bool {
        self.regex.is_match(path)
    }
}

impl PartialEq for ArgPattern {
    fn eq(&self, other: &ArgPattern) -> bool {
        self.text == other.text
    }
}

impl Eq for ArgPattern {}

/// The path of a two-path event `evt.abspath` refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathEnd {
    /// The source (or only) path.
    Src,
    /// The destination path.
    Dst,
}

/// Why a field reference is not valid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// No field has this name.
    #[error("unknown field `{name}`{}", did_you_mean(*suggestion))]
    Unknown {
        /// The name as written.
        name: String,
        /// The closest known field name.
        suggestion: Option<&'static str>,
    },
    /// The field needs an argument.
    #[error("field `{0}` requires an argument")]
    ArgRequired(&'static str),
    /// The field takes no argument.
    #[error("field `{0}` does not take an argument")]
    ArgNotAllowed(&'static str),
    /// The argument is not what the field expects.
    #[error("field `{field}`: invalid argument `{arg}`: {why}")]
    BadArg {
        /// The field.
        field: &'static str,
        /// The argument as written.
        arg: String,
        /// What is wrong.
        why: &'static str,
    },
    /// `evt.arg.X` / `evt.rawarg.X` name no parameter of any event.
    #[error("unknown event argument `{0}`")]
    UnknownParam(String),
    /// `evt.type.is.X` names no event type.
    #[error("unknown event type `{0}`")]
    UnknownEventType(String),
}

fn did_you_mean(s: Option<&'static str>) -> String {
    match s {
        Some(s) => format!(" (did you mean `{s}`?)"),
        None => String::new(),
    }
}

/// A field reference bound to the registry: what the checker and the extractor work with.
#[derive(Clone, Debug)]
pub struct Field {
    def: &'static FieldDef,
    arg: FieldArg,
    ty: ParamType,
    /// For a plugin's field, the plugin's extractor (bound once, so extraction looks nothing
    /// up).
    plugin: Option<registry::PluginField>,
}

impl PartialEq for Field {
    fn eq(&self, other: &Field) -> bool {
        self.def.id == other.def.id
            && self.arg == other.arg
            && self.ty == other.ty
            && (self.plugin.is_none() || self.def.name == other.def.name)
    }
}

impl Eq for Field {}

/// Field names that take their argument after a dot instead of in brackets (the label fields
/// take it either way: `container.label.app` is `container.label[app]`).
const DOTTED: [&str; 13] = [
    "static",
    "evt.arg",
    "evt.rawarg",
    "evt.type.is",
    "thread.cgroup",
    "evt.abspath",
    "container.label",
    "k8s.pod.label",
    "k8s.rc.label",
    "k8s.svc.label",
    "k8s.ns.label",
    "k8s.rs.label",
    "k8s.deployment.label",
];

impl Field {
    /// Binds a field as written: `name` (which may carry a dotted argument, e.g.
    /// `evt.arg.flags`) and the text between brackets, if any.
    pub fn parse(name: &str, arg: Option<&str>) -> Result<Field, FieldError> {
        if let Some(def) = registry::fields().iter().find(|f| f.name == name) {
            return Field::with_arg(def, arg, false);
        }
        if let Some(plugin) = registry::plugin_field(name) {
            return Field::plugin_with_arg(plugin, arg);
        }
        for base in DOTTED {
            if let Some(rest) = name.strip_prefix(base).and_then(|r| r.strip_prefix('.')) {
                let def = registry::lookup(base).expect("dotted fields are registered");
                if arg.is_some() {
                    return Err(FieldError::BadArg {
                        field: def.name,
                        arg: arg.unwrap_or_default().to_owned(),
                        why: "the argument is already given after the dot",
                    });
                }
                return Field::with_arg(def, Some(rest), true);
            }
        }
        Err(FieldError::Unknown { name: name.to_owned(), suggestion: closest(name) })
    }

    /// Binds a field with no argument.
    pub fn plain(id: FieldId) -> Field {
        let def = registry::def(id);
        Field { def, arg: FieldArg::None, ty: def.ty, plugin: None }
    }

    /// Binds a plugin's field: an index argument is digits (libs' rule: no leading zero),
    /// anything else is a key, each only where the plugin accepts it.
    fn plugin_with_arg(
        plugin: registry::PluginField,
        arg: Option<&str>,
    ) -> Result<Field, FieldError> {
        let def = plugin.def;
        let arg = match arg {
            None if def.has(epf::ARG_REQUIRED) => return Err(FieldError::ArgRequired(def.name)),
            None => FieldArg::None,
            Some(a) => match plugin_index(a) {
                Some(n) if def.has(epf::ARG_INDEX) => FieldArg::Index(n),
                _ if def.has(epf::ARG_KEY) => FieldArg::Key(a.into()),
                _ if def.has(epf::ARG_INDEX) => {
                    return Err(FieldError::BadArg {
                        field: def.name,
                        arg: a.to_owned(),
                        why: "expected a number",
                    });
                }
                _ => return Err(FieldError::ArgNotAllowed(def.name)),
            },
        };
        Ok(Field { def, arg, ty: def.ty, plugin: Some(plugin) })
    }

    /// For a plugin's field, the plugin it comes from.
    pub fn plugin(&self) -> Option<&registry::PluginField> {
        self.plugin.as_ref()
    }

    /// Whether rules of event source `source` may use the field: plugin fields where their
    /// plugin extracts, the generic `evt.*` fields everywhere, every other built-in field in
    /// `syscall` rules only.
    pub fn applies_to(&self, source: &str) -> bool {
        match &self.plugin {
            Some(p) => p.applies_to(source),
            None => source == "syscall" || matches!(self.def.class, registry::Class::Evt),
        }
    }

    fn with_arg(
        def: &'static FieldDef,
        arg: Option<&str>,
        dotted: bool,
    ) -> Result<Field, FieldError> {
        use FieldId as I;
        let bad = |why| FieldError::BadArg {
            field: def.name,
            arg: arg.unwrap_or_default().to_owned(),
            why,
        };
        let index = |a: &str| a.parse::<u64>().map_err(|_| bad("expected a number"));
        let mut ty = def.ty;
        let arg = match (def.id, arg) {
            (I::EvtArg, Some(a)) if !dotted => FieldArg::Index(index(a)?),
            (I::EvtArg, Some(a)) => {
                if param_type(a).is_none() {
                    return Err(FieldError::UnknownParam(a.to_owned()));
                }
                FieldArg::Param(a.into())
            }
            (I::EvtRawarg, Some(a)) if dotted => {
                ty = param_type(a).ok_or_else(|| FieldError::UnknownParam(a.to_owned()))?;
                FieldArg::Param(a.into())
            }
            (I::EvtRawarg, Some(_)) => {
                return Err(bad("evt.rawarg takes a parameter name: evt.rawarg.NAME"));
            }
            (I::EvtTypeIs, Some(a)) => FieldArg::EventTypes(event_types(a)?),
            (I::ThreadCgroup, Some(a)) => FieldArg::Key(a.into()),
            (I::EvtAround, Some(a)) if !dotted => FieldArg::Time(index(a)?),
            (I::Static, Some(a)) if dotted => match static_value(a) {
                Some(value) => FieldArg::Static { name: a.into(), value: value.into() },
                None => {
                    return Err(FieldError::Unknown {
                        name: format!("static.{a}"),
                        suggestion: None,
                    });
                }
            },
            (I::Static, _) => {
                return Err(FieldError::Unknown { name: "static".to_owned(), suggestion: None });
            }
            (I::EvtAbspath, Some("src")) if dotted => FieldArg::PathEnd(PathEnd::Src),
            (I::EvtAbspath, Some("dst")) if dotted => FieldArg::PathEnd(PathEnd::Dst),
            (I::EvtAbspath, None) => FieldArg::PathEnd(PathEnd::Src),
            (I::EvtAbspath, Some(_)) => return Err(bad("expected `src` or `dst`")),
            (I::ProcEnv | I::ProcAenv, Some(a)) => match a.parse::<u64>() {
                Ok(n) => FieldArg::Index(n),
                Err(_) => FieldArg::Key(a.into()),
            },
            // Plugin fields taking a number or a key: a number as libs reads plugin indexes
            // (digits, no leading zero), anything else a key.
            (_, Some(a)) if def.has(epf::ARG_INDEX) && def.has(epf::ARG_KEY) && !dotted => {
                match plugin_index(a) {
                    Some(n) => FieldArg::Index(n),
                    None => FieldArg::Pattern(
                        ArgPattern::new(a).map_err(|_| bad("not a valid regular expression"))?,
                    ),
                }
            }
            (_, Some(a)) if def.has(epf::ARG_KEY) => FieldArg::Key(a.into()),
            (_, Some(a)) if def.has(epf::ARG_ALLOWED) || def.has(epf::ARG_REQUIRED) => {
                if dotted {
                    return Err(FieldError::ArgNotAllowed(def.name));
                }
                FieldArg::Index(index(a)?)
            }
            (_, Some(_)) => return Err(FieldError::ArgNotAllowed(def.name)),
            (_, None) if def.has(epf::ARG_REQUIRED) => {
                return Err(FieldError::ArgRequired(def.name));
            }
            (_, None) => FieldArg::None,
        };
        Ok(Field { def, arg, ty, plugin: None })
    }

    /// The registry entry.
    pub fn def(&self) -> &'static FieldDef {
        self.def
    }

    /// Which field.
    pub fn id(&self) -> FieldId {
        self.def.id
    }

    /// The checked argument.
    pub fn arg(&self) -> &FieldArg {
        &self.arg
    }

    /// The type of the values (for `evt.rawarg.X`, the parameter's type).
    pub fn ty(&self) -> ParamType {
        self.ty
    }

    /// Whether the field yields a list (`in` then means subset).
    pub fn is_list(&self) -> bool {
        self.def.has(epf::IS_LIST)
    }

    /// Whether, in a filter, the field stands for "any ancestor" (an ancestor field without
    /// an index): the check holds if it holds for one of the process's parents.
    pub fn is_any_ancestor(&self) -> bool {
        use FieldId as I;
        self.arg == FieldArg::None
            && matches!(
                self.def.id,
                I::ProcAname
                    | I::ProcApid
                    | I::ProcAexe
                    | I::ProcAexepath
                    | I::ProcAcmdline
                    | I::ProcAargs
                    | I::ProcAenv
            )
    }

    /// The field as it would be written.
    pub fn to_text(&self) -> String {
        match &self.arg {
            FieldArg::None => self.def.name.to_owned(),
            FieldArg::Index(n) => format!("{}[{n}]", self.def.name),
            FieldArg::Time(n) => format!("{}[{n}]", self.def.name),
            FieldArg::Key(k) if self.def.id == FieldId::ThreadCgroup => {
                format!("{}.{k}", self.def.name)
            }
            FieldArg::Key(k) => format!("{}[{k}]", self.def.name),
            FieldArg::Param(p) => format!("{}.{p}", self.def.name),
            FieldArg::EventTypes(t) => {
                let name = t.first().and_then(|&c| event_info(c)).map_or("", |i| i.name);
                format!("{}.{name}", self.def.name)
            }
            FieldArg::PathEnd(PathEnd::Src) => self.def.name.to_owned(),
            FieldArg::PathEnd(PathEnd::Dst) => format!("{}.dst", self.def.name),
            FieldArg::Pattern(p) => format!("{}[{}]", self.def.name, p.as_str()),
            FieldArg::Static { name, .. } => format!("static.{name}"),
        }
    }
}

/// The configured static fields (`static_fields` of falco.yaml), name → value.
static STATIC_FIELDS: std::sync::RwLock<Vec<(Box<str>, Box<str>)>> =
    std::sync::RwLock::new(Vec::new());

/// Sets the static fields conditions and outputs may use as `static.NAME` (Falco's
/// `static_fields`). Fields parsed before keep the values they were parsed with.
pub fn set_static_fields<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) {
    let mut all = STATIC_FIELDS.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    all.clear();
    all.extend(fields.into_iter().map(|(k, v)| (k.into(), v.into())));
}

/// The configured static fields, in the order given.
pub fn static_fields() -> Vec<(String, String)> {
    let all = STATIC_FIELDS.read().unwrap_or_else(std::sync::PoisonError::into_inner);
    all.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn static_value(name: &str) -> Option<String> {
    let all = STATIC_FIELDS.read().unwrap_or_else(std::sync::PoisonError::into_inner);
    all.iter().find(|(k, _)| &**k == name).map(|(_, v)| v.to_string())
}

/// A plugin field's index argument: digits, without a leading zero (`0` itself is one).
fn plugin_index(arg: &str) -> Option<u64> {
    let digits = !arg.is_empty() && arg.bytes().all(|b| b.is_ascii_digit());
    if !digits || (arg.len() > 1 && arg.starts_with('0')) {
        return None;
    }
    arg.parse().ok()
}

/// The type of the first parameter called `name` in the event table.
pub fn param_type(name: &str) -> Option<ParamType> {
    (0..EVENT_MAX as u16)
        .filter_map(event_info)
        .flat_map(|i| i.params.iter())
        .find(|p| p.name == name)
        .map(|p| p.ty)
}

/// `evt.type.is.X`: an event name (both halves of every event with that name) or a number.
fn event_types(arg: &str) -> Result<Box<[u16]>, FieldError> {
    if let Ok(code) = arg.parse::<u16>() {
        if usize::from(code) < EVENT_MAX {
            return Ok(vec![code].into());
        }
        return Err(FieldError::UnknownEventType(arg.to_owned()));
    }
    let codes: Vec<u16> =
        (0..EVENT_MAX as u16).filter(|&c| event_info(c).is_some_and(|i| i.name == arg)).collect();
    if codes.is_empty() {
        return Err(FieldError::UnknownEventType(arg.to_owned()));
    }
    Ok(codes.into())
}

/// The registered field name closest to `name`, if one is close enough to be a likely typo.
pub fn closest(name: &str) -> Option<&'static str> {
    registry::all_names()
        .into_iter()
        .map(|n| (edit_distance(name, n), n))
        .filter(|&(d, n)| d <= 2.max(n.len() / 4))
        .min_by_key(|&(d, _)| d)
        .map(|(_, n)| n)
}

/// Levenshtein distance.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_arguments() {
        let f = Field::parse("proc.aname", Some("2")).unwrap();
        assert_eq!(f.arg(), &FieldArg::Index(2));
        assert!(!f.is_any_ancestor());
        assert!(Field::parse("proc.aname", None).unwrap().is_any_ancestor());
        let f = Field::parse("evt.arg.flags", None).unwrap();
        assert_eq!(f.arg(), &FieldArg::Param("flags".into()));
        assert_eq!(f.ty(), ParamType::Charbuf);
        let f = Field::parse("evt.rawarg.res", None).unwrap();
        assert_eq!(f.ty(), ParamType::Errno);
        let f = Field::parse("thread.cgroup.cpu", None).unwrap();
        assert_eq!(f.arg(), &FieldArg::Key("cpu".into()));
        let f = Field::parse("evt.type.is.open", None).unwrap();
        assert_eq!(f.arg(), &FieldArg::EventTypes(vec![2, 3].into()));
        assert_eq!(
            Field::parse("proc.env", Some("HOME")).unwrap().arg(),
            &FieldArg::Key("HOME".into())
        );
        assert_eq!(Field::parse("proc.name", None).unwrap().to_text(), "proc.name");
    }

    #[test]
    fn binds_container_arguments() {
        let f = Field::parse("container.mount.dest", Some("/var/run/docker.sock")).unwrap();
        let FieldArg::Pattern(p) = f.arg() else { panic!("{:?}", f.arg()) };
        assert!(p.is_match("/var/run/docker.sock") && !p.is_match("/var/lib"));
        assert_eq!(f.to_text(), "container.mount.dest[/var/run/docker.sock]");
        assert_eq!(Field::parse("container.mount", Some("0")).unwrap().arg(), &FieldArg::Index(0));
        assert_eq!(
            Field::parse("container.mount", Some("12")).unwrap().arg(),
            &FieldArg::Index(12)
        );
        // Not an index: a leading zero makes it a key.
        assert!(matches!(
            Field::parse("container.mount", Some("01")).unwrap().arg(),
            FieldArg::Pattern(_)
        ));
        assert_eq!(
            Field::parse("container.label", Some("app")).unwrap().arg(),
            &FieldArg::Key("app".into())
        );
        assert_eq!(
            Field::parse("k8s.pod.label.app.kubernetes.io", None).unwrap().arg(),
            &FieldArg::Key("app.kubernetes.io".into())
        );
        assert_eq!(
            Field::parse("k8s.pod.label", Some("app.kubernetes.io/name")).unwrap().arg(),
            &FieldArg::Key("app.kubernetes.io/name".into())
        );
        assert!(Field::parse("k8s.pod.labels", None).is_ok());
        assert!(Field::parse("k8s.rc.label.x", None).is_ok());
        assert_eq!(
            Field::parse("container.mount", None).unwrap_err(),
            FieldError::ArgRequired("container.mount")
        );
        assert_eq!(
            Field::parse("container.label", None).unwrap_err(),
            FieldError::ArgRequired("container.label")
        );
        assert!(matches!(
            Field::parse("container.mount.source", Some("(unclosed")),
            Err(FieldError::BadArg { .. })
        ));
        assert_eq!(
            Field::parse("container.id", Some("1")).unwrap_err(),
            FieldError::ArgNotAllowed("container.id")
        );
    }

    #[test]
    fn reports_mistakes() {
        assert_eq!(
            Field::parse("proc.nam", None).unwrap_err().to_string(),
            "unknown field `proc.nam` (did you mean `proc.name`?)"
        );
        assert_eq!(
            Field::parse("proc.name", Some("1")).unwrap_err(),
            FieldError::ArgNotAllowed("proc.name")
        );
        assert_eq!(
            Field::parse("evt.arg.nope", None).unwrap_err(),
            FieldError::UnknownParam("nope".into())
        );
        assert!(matches!(Field::parse("proc.aname", Some("x")), Err(FieldError::BadArg { .. })));
        assert_eq!(
            Field::parse("thread.cgroup", None).unwrap_err(),
            FieldError::ArgRequired("thread.cgroup")
        );
        assert!(Field::parse("evt.type.is.nosuch", None).is_err());
    }
}
