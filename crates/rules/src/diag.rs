//! Diagnostics: Falco's load-result codes and messages, where they point, and their three
//! renderings (human, Falco's JSON, Falco's one-line summary).
//!
//! A [`Diagnostic`] is data: a [`Code`] (one of Falco's `LOAD_ERR_*` / `LOAD_*` codes, which also
//! says whether it is an error or a warning), Falco's exact message, the chain of [`Location`]s
//! Falco reports (the item, then the part of it at fault), and, when lanner knows it, the byte
//! range of the offending text and a "did you mean" help. Rendering never re-derives anything:
//! the same value gives the golden-tested human text, the JSON tools read, and the summary.

use std::fmt::Write as _;

use serde_json::{Value, json};

/// Falco's load-result codes: `LOAD_ERR_*` are errors (the load fails), the others warnings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Code {
    /// `LOAD_ERR_FILE_READ`
    ErrFileRead,
    /// `LOAD_ERR_YAML_PARSE`
    ErrYamlParse,
    /// `LOAD_ERR_YAML_VALIDATE`
    ErrYamlValidate,
    /// `LOAD_ERR_COMPILE_CONDITION`
    ErrCompileCondition,
    /// `LOAD_ERR_COMPILE_OUTPUT`
    ErrCompileOutput,
    /// `LOAD_ERR_VALIDATE`
    ErrValidate,
    /// `LOAD_ERR_EXTENSION`
    ErrExtension,
    /// `LOAD_UNKNOWN_SOURCE`
    UnknownSource,
    /// `LOAD_UNSAFE_NA_CHECK`
    UnsafeNaCheck,
    /// `LOAD_NO_EVTTYPE`
    NoEvttype,
    /// `LOAD_UNKNOWN_FILTER`
    UnknownFilter,
    /// `LOAD_UNUSED_MACRO`
    UnusedMacro,
    /// `LOAD_UNUSED_LIST`
    UnusedList,
    /// `LOAD_UNKNOWN_ITEM`
    UnknownItem,
    /// `LOAD_DEPRECATED_ITEM`
    DeprecatedItem,
    /// `LOAD_WARNING_EXTENSION`
    WarningExtension,
    /// `LOAD_APPEND_NO_VALUES`
    AppendNoValues,
    /// `LOAD_EXCEPTION_NAME_NOT_UNIQUE`
    ExceptionNameNotUnique,
    /// `LOAD_INVALID_MACRO_NAME`
    InvalidMacroName,
    /// `LOAD_INVALID_LIST_NAME`
    InvalidListName,
    /// `LOAD_COMPILE_CONDITION` (a warning from compiling a condition)
    CompileCondition,
    /// `LOAD_UNKNOWN_KEY`
    UnknownKey,
}

impl Code {
    /// Every code, errors first, in Falco's order.
    pub const ALL: [Code; 22] = [
        Code::ErrFileRead,
        Code::ErrYamlParse,
        Code::ErrYamlValidate,
        Code::ErrCompileCondition,
        Code::ErrCompileOutput,
        Code::ErrValidate,
        Code::ErrExtension,
        Code::UnknownSource,
        Code::UnsafeNaCheck,
        Code::NoEvttype,
        Code::UnknownFilter,
        Code::UnusedMacro,
        Code::UnusedList,
        Code::UnknownItem,
        Code::DeprecatedItem,
        Code::WarningExtension,
        Code::AppendNoValues,
        Code::ExceptionNameNotUnique,
        Code::InvalidMacroName,
        Code::InvalidListName,
        Code::CompileCondition,
        Code::UnknownKey,
    ];

    /// The code as Falco writes it (`LOAD_ERR_COMPILE_CONDITION`).
    pub fn as_str(self) -> &'static str {
        match self {
            Code::ErrFileRead => "LOAD_ERR_FILE_READ",
            Code::ErrYamlParse => "LOAD_ERR_YAML_PARSE",
            Code::ErrYamlValidate => "LOAD_ERR_YAML_VALIDATE",
            Code::ErrCompileCondition => "LOAD_ERR_COMPILE_CONDITION",
            Code::ErrCompileOutput => "LOAD_ERR_COMPILE_OUTPUT",
            Code::ErrValidate => "LOAD_ERR_VALIDATE",
            Code::ErrExtension => "LOAD_ERR_EXTENSION",
            Code::UnknownSource => "LOAD_UNKNOWN_SOURCE",
            Code::UnsafeNaCheck => "LOAD_UNSAFE_NA_CHECK",
            Code::NoEvttype => "LOAD_NO_EVTTYPE",
            Code::UnknownFilter => "LOAD_UNKNOWN_FILTER",
            Code::UnusedMacro => "LOAD_UNUSED_MACRO",
            Code::UnusedList => "LOAD_UNUSED_LIST",
            Code::UnknownItem => "LOAD_UNKNOWN_ITEM",
            Code::DeprecatedItem => "LOAD_DEPRECATED_ITEM",
            Code::WarningExtension => "LOAD_WARNING_EXTENSION",
            Code::AppendNoValues => "LOAD_APPEND_NO_VALUES",
            Code::ExceptionNameNotUnique => "LOAD_EXCEPTION_NAME_NOT_UNIQUE",
            Code::InvalidMacroName => "LOAD_INVALID_MACRO_NAME",
            Code::InvalidListName => "LOAD_INVALID_LIST_NAME",
            Code::CompileCondition => "LOAD_COMPILE_CONDITION",
            Code::UnknownKey => "LOAD_UNKNOWN_KEY",
        }
    }

    /// Falco's short title of the code (its `codedesc`).
    pub fn title(self) -> &'static str {
        match self {
            Code::ErrFileRead => "File read error",
            Code::ErrYamlParse => "YAML parse error",
            Code::ErrYamlValidate => "Error validating internal structure of YAML file",
            Code::ErrCompileCondition => "Error compiling condition",
            Code::ErrCompileOutput => "Error compiling output",
            Code::ErrValidate => "Error validating rule/macro/list/exception objects",
            Code::ErrExtension => "Error in extension item",
            Code::UnknownSource => "Unknown event source",
            Code::UnsafeNaCheck => "Unsafe <NA> comparison in condition",
            Code::NoEvttype => "Condition has no event-type restriction",
            Code::UnknownFilter => "Unknown field or event-type in condition or output",
            Code::UnusedMacro => "Unused macro",
            Code::UnusedList => "Unused list",
            Code::UnknownItem => "Unknown rules file item",
            Code::DeprecatedItem => "Used deprecated item",
            Code::WarningExtension => "Warning in extension item",
            Code::AppendNoValues => "Overriding/appending with no values",
            Code::ExceptionNameNotUnique => "Multiple exceptions defined with the same name",
            Code::InvalidMacroName => "Invalid macro name",
            Code::InvalidListName => "Invalid list name",
            Code::CompileCondition => "Warning in rule condition",
            Code::UnknownKey => "Unknown key in item definition",
        }
    }

    /// Whether the code is an error (the load fails) rather than a warning.
    pub fn is_error(self) -> bool {
        matches!(
            self,
            Code::ErrFileRead
                | Code::ErrYamlParse
                | Code::ErrYamlValidate
                | Code::ErrCompileCondition
                | Code::ErrCompileOutput
                | Code::ErrValidate
                | Code::ErrExtension
        )
    }

    /// The code named by Falco's string, if any.
    pub fn from_name(name: &str) -> Option<Code> {
        Code::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// What a [`Location`] points at, with Falco's names for it (the JSON `item_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[expect(missing_docs, reason = "each variant is Falco's item type of the same name")]
pub enum ItemType {
    ValueFor,
    Exceptions,
    Exception,
    ExceptionValues,
    ExceptionValue,
    RulesContent,
    RulesContentItem,
    RequiredEngineVersion,
    RequiredPluginVersions,
    RequiredPluginVersionsEntry,
    RequiredPluginVersionsAlternative,
    List,
    ListItem,
    Macro,
    MacroCondition,
    Rule,
    RuleCondition,
    ConditionExpression,
    RuleOutput,
    RuleOutputExpression,
    RulePriority,
    Overrides,
    ExtensionItem,
}

impl ItemType {
    /// Falco's name of the item type.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemType::ValueFor => "value for",
            ItemType::Exceptions => "exceptions",
            ItemType::Exception => "exception",
            ItemType::ExceptionValues => "exception values",
            ItemType::ExceptionValue => "exception value",
            ItemType::RulesContent => "rules content",
            ItemType::RulesContentItem => "rules content item",
            ItemType::RequiredEngineVersion => "required_engine_version",
            ItemType::RequiredPluginVersions => "required plugin versions",
            ItemType::RequiredPluginVersionsEntry => "required plugin versions entry",
            ItemType::RequiredPluginVersionsAlternative => "required plugin versions alternative",
            ItemType::List => "list",
            ItemType::ListItem => "list item",
            ItemType::Macro => "macro",
            ItemType::MacroCondition => "macro condition",
            ItemType::Rule => "rule",
            ItemType::RuleCondition => "rule condition",
            ItemType::ConditionExpression => "condition expression",
            ItemType::RuleOutput => "rule output",
            ItemType::RuleOutputExpression => "rule output expression",
            ItemType::RulePriority => "rule priority",
            ItemType::Overrides => "overrides",
            ItemType::ExtensionItem => "extension item",
        }
    }
}

/// A place in a rules file: the file's name, a byte offset, and the 0-based line and column
/// Falco reports (yaml-cpp marks are 0-based).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Position {
    /// The name the file was loaded under.
    pub name: String,
    /// 0-based line.
    pub line: usize,
    /// 0-based column.
    pub column: usize,
    /// Byte offset in the file.
    pub offset: usize,
}

/// One link of the chain Falco reports: which item, of which type, where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// What kind of item.
    pub item_type: ItemType,
    /// Its name (a rule's name, an exception's ...), empty when it has none.
    pub item_name: String,
    /// Where it starts.
    pub position: Position,
}

/// A byte range of a loaded file: the text to underline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snippet {
    /// The file's name.
    pub name: String,
    /// First byte.
    pub start: usize,
    /// One past the last byte (at least `start + 1` when rendered).
    pub end: usize,
}

/// One error or warning of a load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Falco's code; says whether this is an error.
    pub code: Code,
    /// Falco's message, exactly.
    pub message: String,
    /// The item chain, outermost first.
    pub locations: Vec<Location>,
    /// The offending text, when known more precisely than the innermost location.
    pub snippet: Option<Snippet>,
    /// A lanner addition: a suggestion ("did you mean `proc.name`?").
    pub help: Option<String>,
}

impl Diagnostic {
    pub(crate) fn new(code: Code, message: impl Into<String>, locations: Vec<Location>) -> Self {
        Diagnostic { code, message: message.into(), locations, snippet: None, help: None }
    }

    /// Whether this is an error (rather than a warning).
    pub fn is_error(&self) -> bool {
        self.code.is_error()
    }

    /// The outermost item (`rule`, `macro` ...) the diagnostic is about.
    pub fn item(&self) -> Option<&Location> {
        self.locations.first()
    }

    /// The file the diagnostic points into.
    pub fn file(&self) -> Option<&str> {
        self.snippet
            .as_ref()
            .map(|s| s.name.as_str())
            .or_else(|| self.locations.last().map(|l| l.position.name.as_str()))
    }

    /// Falco's JSON object for the diagnostic (`code`, `codedesc`, `message`, `context`).
    pub fn to_json(&self, files: &[(String, String)]) -> Value {
        let locations: Vec<Value> = self
            .locations
            .iter()
            .map(|l| {
                json!({
                    "item_type": l.item_type.as_str(),
                    "item_name": l.item_name,
                    "position": {
                        "name": l.position.name,
                        "line": l.position.line,
                        "column": l.position.column,
                        "offset": l.position.offset,
                    }
                })
            })
            .collect();
        json!({
            "code": self.code.as_str(),
            "codedesc": self.code.title(),
            "message": self.message,
            "context": { "locations": locations, "snippet": self.snippet_text(files) },
        })
    }

    /// The byte range to underline: the snippet, or else the innermost location (one byte).
    fn range(&self) -> Option<(&str, usize, usize)> {
        if let Some(s) = &self.snippet {
            return Some((&s.name, s.start, s.end.max(s.start + 1)));
        }
        let l = self.locations.last()?;
        Some((&l.position.name, l.position.offset, l.position.offset + 1))
    }

    /// Falco's snippet: the line at fault and a `^` under the column.
    fn snippet_text(&self, files: &[(String, String)]) -> String {
        let Some((name, start, _)) = self.range() else { return String::new() };
        let Some((_, text)) = files.iter().find(|(n, _)| n == name) else { return String::new() };
        let (line, col, _) = line_at(text, start);
        format!("{line}\n{}^\n", " ".repeat(col))
    }

    /// The human rendering: the code and message, `file:line:col`, the line with the offending
    /// text underlined, the item chain, Falco's `CODE (title): message`, and a help line.
    ///
    /// ```text
    /// error[LOAD_ERR_COMPILE_CONDITION]: filter_check called with nonexistent field proc.nmae
    ///   --> rules.yaml:4:27
    ///    |
    ///  4 |   condition: evt.type = open and proc.nmae = cat
    ///    |                                  ^^^^^^^^^
    ///    = in rule 'open_cat' (rules.yaml:2:3)
    ///    = in rule condition (rules.yaml:4:14)
    ///    = LOAD_ERR_COMPILE_CONDITION (Error compiling condition): filter_check called with ...
    ///    = help: did you mean `proc.name`?
    /// ```
    pub fn render(&self, files: &[(String, String)]) -> String {
        let mut out = String::new();
        let severity = if self.is_error() { "error" } else { "warning" };
        let _ = writeln!(out, "{severity}[{}]: {}", self.code.as_str(), self.message);
        if let Some((name, start, end)) = self.range() {
            let text = files.iter().find(|(n, _)| n == name).map(|(_, t)| t.as_str());
            match text {
                Some(text) if start <= text.len() => {
                    let (line, col, line_no) = line_at(text, start);
                    // Snippet ranges are byte ranges that may end inside a character (the
                    // one-byte range of a bare position), so both ends are moved to
                    // character boundaries.
                    let start = floor_boundary(text, start);
                    let end = ceil_boundary(text, end.max(start));
                    let width = text[start..end]
                        .split(['\n', '\r'])
                        .next()
                        .map_or(1, |s| s.chars().count().max(1));
                    let gutter = (line_no + 1).to_string().len();
                    let pad = " ".repeat(gutter);
                    let _ = writeln!(out, "{pad}--> {name}:{}:{}", line_no + 1, col + 1);
                    let _ = writeln!(out, "{pad} |");
                    let _ = writeln!(out, "{} | {line}", line_no + 1);
                    let _ =
                        writeln!(out, "{pad} | {}{}", " ".repeat(col), "^".repeat(width.max(1)));
                }
                _ => {
                    let _ = writeln!(out, " --> {name}");
                }
            }
        }
        // The chain, without the file itself (the `-->` line names it).
        let chain = match self.locations.split_first() {
            Some((root, rest)) if root.item_type == ItemType::RulesContent && !rest.is_empty() => {
                rest
            }
            _ => &self.locations[..],
        };
        for l in chain {
            let name =
                if l.item_name.is_empty() { String::new() } else { format!(" '{}'", l.item_name) };
            let _ = writeln!(
                out,
                "   = in {}{name} ({}:{}:{})",
                l.item_type.as_str(),
                l.position.name,
                l.position.line + 1,
                l.position.column + 1
            );
        }
        let _ =
            writeln!(out, "   = {} ({}): {}", self.code.as_str(), self.code.title(), self.message);
        if let Some(help) = &self.help {
            let _ = writeln!(out, "   = help: {help}");
        }
        out
    }
}

/// The character boundary at or before a byte offset (clamped to the text).
fn floor_boundary(text: &str, offset: usize) -> usize {
    let mut i = offset.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The character boundary at or after a byte offset (clamped to the text).
fn ceil_boundary(text: &str, offset: usize) -> usize {
    let mut i = offset.min(text.len());
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// The line holding a byte offset, the column (in characters) of the offset in it, and its
/// 0-based line number.
fn line_at(text: &str, offset: usize) -> (&str, usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find(['\n', '\r']).map_or(text.len(), |i| offset + i);
    let line_no = text[..start].matches('\n').count();
    (&text[start..end], text[start..offset].chars().count(), line_no)
}

/// How many items of each kind a file holds (definitions, appends and overrides alike).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ItemCounts {
    /// `rule` items.
    pub rules: usize,
    /// `macro` items.
    pub macros: usize,
    /// `list` items.
    pub lists: usize,
}

/// The diagnostics of one loaded file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileResult {
    /// The name the file was loaded under.
    pub name: String,
    /// The items the file holds, whether they loaded or not.
    pub items: ItemCounts,
    /// Whether the file was checked against the rules schema (not when it did not parse).
    pub schema_checked: bool,
    /// What the rules schema finds wrong with the file (never fatal, as in Falco).
    pub schema_warnings: Vec<String>,
    /// Its errors, in the order found.
    pub errors: Vec<Diagnostic>,
    /// Its warnings, in the order found.
    pub warnings: Vec<Diagnostic>,
}

impl FileResult {
    /// Whether the file loaded without error.
    pub fn successful(&self) -> bool {
        self.errors.is_empty()
    }

    /// Falco's one-line summary: `name: Ok`, `name: Ok, with warnings`, or `name: Invalid`, then
    /// the counts and codes of errors and warnings.
    pub fn summary(&self) -> String {
        let mut out = format!("{}: ", self.name);
        if !self.errors.is_empty() {
            out.push_str("Invalid");
        } else if !self.warnings.is_empty() {
            out.push_str("Ok, with warnings");
        } else {
            out.push_str("Ok");
            return out;
        }
        for (what, list) in [("errors", &self.errors), ("warnings", &self.warnings)] {
            if list.is_empty() {
                continue;
            }
            let _ = write!(out, " {} {what}: [", list.len());
            for (i, d) in list.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                let _ = write!(out, "{} ({})", d.code.as_str(), d.code.title());
            }
            out.push(']');
        }
        out
    }

    /// Whether the file conforms to the rules schema.
    pub fn schema_valid(&self) -> bool {
        self.schema_checked && self.schema_warnings.is_empty()
    }

    /// Falco's JSON object for the file.
    pub fn to_json(&self, files: &[(String, String)]) -> Value {
        json!({
            "name": self.name,
            "successful": self.successful(),
            "schema_valid": self.schema_valid(),
            "schema_warnings": self.schema_warnings,
            "errors": self.errors.iter().map(|d| d.to_json(files)).collect::<Vec<_>>(),
            "warnings": self.warnings.iter().map(|d| d.to_json(files)).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for c in Code::ALL {
            assert_eq!(Code::from_name(c.as_str()), Some(c));
        }
        assert_eq!(Code::ALL.iter().filter(|c| c.is_error()).count(), 7);
    }

    #[test]
    fn summaries() {
        let mut f = FileResult { name: "a.yaml".into(), ..FileResult::default() };
        assert_eq!(f.summary(), "a.yaml: Ok");
        f.warnings.push(Diagnostic::new(Code::UnusedList, "x", vec![]));
        assert_eq!(
            f.summary(),
            "a.yaml: Ok, with warnings 1 warnings: [LOAD_UNUSED_LIST (Unused list)]"
        );
        f.errors.push(Diagnostic::new(Code::ErrValidate, "x", vec![]));
        assert!(f.summary().starts_with("a.yaml: Invalid 1 errors: [LOAD_ERR_VALIDATE"));
    }

    #[test]
    fn line_at_counts_characters() {
        assert_eq!(line_at("ab\ncdé f\n", 8), ("cdé f", 4, 1));
    }
}
