//! Event sources: which ones are loaded, and how the conditions and outputs of their rules are
//! checked and compiled.
//!
//! Falco compiles a rule with the filter factory of its source and skips (with a
//! `LOAD_UNKNOWN_SOURCE` warning) the rules of sources no plugin provides. lanner has the
//! `syscall` source built in ([`SyscallSource`]); a plugin host adds its sources by passing
//! more [`Source`] objects in [`crate::LoadOptions::sources`].

use lanner_fields::registry::all_names;
use lanner_fields::{Field, FieldError, Format, edit_distance, fields, lookup};
use lanner_filter::syntax::Expr;
use lanner_filter::{CompileError, Definitions, Filter};

/// Why an output format does not compile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputError {
    /// Falco's message (`invalid formatting token not_a_real_field`).
    pub message: String,
    /// Byte offset of the token in the format.
    pub offset: usize,
    /// Byte length of the token.
    pub len: usize,
    /// A known field close to the token, for a "did you mean".
    pub suggestion: Option<&'static str>,
    /// Whether the token names no field at all (`skip-if-unknown-filter` applies).
    pub unknown_field: bool,
}

/// The known field closest to a misspelt one: the smallest edit distance, and among equals
/// one the name is a prefix of (`fd.nam` → `fd.name`, not `fd.num`).
pub(crate) fn suggest_field(name: &str) -> Option<&'static str> {
    all_names()
        .into_iter()
        .map(|n| (edit_distance(name, n), !n.starts_with(name), n))
        .filter(|&(d, _, n)| d > 0 && d <= 2.max(n.len() / 4))
        .min_by_key(|&(d, not_prefix, _)| (d, not_prefix))
        .map(|(_, _, n)| n)
}

/// An event source rules can be written for.
pub trait Source: Send + Sync {
    /// The source's name (`syscall`, `k8s_audit` ...).
    fn name(&self) -> &str;

    /// Whether a field (as written in an exception's `fields`, possibly inside transformers)
    /// exists for this source.
    fn is_field(&self, text: &str) -> bool;

    /// Checks and compiles a parsed condition, macros and lists resolved through `defs`.
    fn compile(
        &self,
        expr: &Expr,
        text: &str,
        defs: &dyn Definitions,
    ) -> Result<Filter, CompileError>;

    /// Checks an output format: every `%field` must exist.
    fn check_output(&self, format: &str) -> Result<(), OutputError>;

    /// Whether a bare word on the right of a comparison names a field of this source (for the
    /// "may be a valid field misused as a const string value" warning).
    fn looks_like_field(&self, text: &str) -> bool {
        self.is_field(text)
    }
}

/// The `syscall` source: libsinsp's fields and the container plugin's, built into
/// `lanner-fields`, and the fields of loaded plugins that extract from syscall events.
#[derive(Clone, Copy, Debug, Default)]
pub struct SyscallSource;

/// The event source of a loaded plugin (`k8s_audit`, `aws_cloudtrail` ...): its rules may use
/// the generic `evt.*` fields and the fields of the plugins that extract for it (registered
/// in `lanner-fields` by the plugin host).
#[derive(Clone, Debug)]
pub struct PluginSource {
    name: String,
}

impl PluginSource {
    /// The source called `name`.
    pub fn new(name: impl Into<String>) -> PluginSource {
        PluginSource { name: name.into() }
    }
}

impl Source for PluginSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn is_field(&self, text: &str) -> bool {
        let (name, arg) = split_arg(innermost_field(text));
        match binds(name, arg) {
            None | Some(Err(FieldError::Unknown { .. })) => false,
            Some(Ok(f)) => f.applies_to(&self.name),
            Some(Err(_)) => true,
        }
    }

    fn compile(
        &self,
        expr: &Expr,
        text: &str,
        defs: &dyn Definitions,
    ) -> Result<Filter, CompileError> {
        Filter::from_expr_for_source(expr, text, defs, &self.name)
    }

    fn check_output(&self, format: &str) -> Result<(), OutputError> {
        SyscallSource.check_output(format)
    }

    fn looks_like_field(&self, text: &str) -> bool {
        let (name, arg) = split_arg(text.trim());
        name.contains('.') && matches!(binds(name, arg), Some(Ok(f)) if f.applies_to(&self.name))
    }
}

/// The field inside transformers: `tolower( proc.name)` → `proc.name`.
fn innermost_field(text: &str) -> &str {
    let mut t = text.trim();
    while let Some(open) = t.find('(') {
        let inner = &t[open + 1..];
        t = inner.strip_suffix(')').unwrap_or(inner).trim();
    }
    t
}

/// `name[arg]` → (`name`, `arg`).
fn split_arg(text: &str) -> (&str, Option<&str>) {
    match text.find('[') {
        Some(i) if text.ends_with(']') => (&text[..i], Some(&text[i + 1..text.len() - 1])),
        _ => (text, None),
    }
}

/// Whether `name[arg]` binds to a field, without paying for a suggestion when it does not
/// (binding an unknown name computes the closest field, an edit distance to every field:
/// two thirds of a load's time when every constant of every rule was tried).
fn binds(name: &str, arg: Option<&str>) -> Option<Result<Field, FieldError>> {
    let known = lookup(name).is_some()
        || fields().iter().any(|f| {
            name.len() > f.name.len()
                && name.starts_with(f.name)
                && name.as_bytes()[f.name.len()] == b'.'
        });
    known.then(|| Field::parse(name, arg))
}

impl Source for SyscallSource {
    fn name(&self) -> &str {
        "syscall"
    }

    fn is_field(&self, text: &str) -> bool {
        let (name, arg) = split_arg(innermost_field(text));
        match binds(name, arg) {
            None | Some(Err(FieldError::Unknown { .. })) => false,
            // A field that exists but is misused is still a field; its use is checked when the
            // condition compiles.
            Some(_) => true,
        }
    }

    fn compile(
        &self,
        expr: &Expr,
        text: &str,
        defs: &dyn Definitions,
    ) -> Result<Filter, CompileError> {
        Filter::from_expr_for_source(expr, text, defs, "syscall")
    }

    fn check_output(&self, format: &str) -> Result<(), OutputError> {
        match Format::parse(format) {
            Ok(_) => Ok(()),
            Err(e) => {
                let rest = &format[e.offset.min(format.len())..];
                let rest = rest.strip_prefix('%').unwrap_or(rest);
                let token = if let Some(inner) = rest.strip_prefix('{') {
                    inner.split('}').next().unwrap_or(inner)
                } else {
                    let end = rest
                        .find(|c: char| !(c.is_ascii_alphanumeric() || "_.[]".contains(c)))
                        .unwrap_or(rest.len());
                    &rest[..end]
                };
                let (unknown_field, suggestion) = match &e.error {
                    FieldError::Unknown { name, .. } => (true, suggest_field(name)),
                    _ => (false, None),
                };
                Err(OutputError {
                    message: format!("invalid formatting token {token}"),
                    offset: e.offset,
                    len: token.len() + 1,
                    suggestion,
                    unknown_field,
                })
            }
        }
    }

    fn looks_like_field(&self, text: &str) -> bool {
        let (name, arg) = split_arg(text.trim());
        name.contains('.') && matches!(binds(name, arg), Some(Ok(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_outputs() {
        let s = SyscallSource;
        assert!(s.is_field("proc.name"));
        assert!(s.is_field("tolower( proc.name)"));
        assert!(s.is_field("proc.aname[2]"));
        assert!(!s.is_field("not.exist"));
        assert!(s.check_output("user=%user.name file=%fd.name").is_ok());
        let e = s.check_output("x %not_a_real_field y").unwrap_err();
        assert_eq!(e.message, "invalid formatting token not_a_real_field");
        assert!(e.unknown_field);
        assert!(s.looks_like_field("proc.pname "));
        assert!(!s.looks_like_field("bash"));
    }
}
