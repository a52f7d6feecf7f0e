//! Output formats: a rule's `output:` text compiled once, at load time, into literal pieces
//! and checked field references.
//!
//! The tokenisation is libs' output formatter's (`sinsp_evt_formatter::set_format`, libs
//! 0.20 and later):
//!
//! - a leading `*` is dropped (it asks for `<NA>` in place of missing values, which Falco
//!   always asks for, so lanner always does it);
//! - after each `%`, an optional width (`%20proc.name` pads or cuts the value to 20 bytes),
//!   then the **longest prefix of the rest of the text that parses and compiles** as a field
//!   or a transformer expression (`%proc.name`, `%proc.aname[2]`, `%tolower(proc.name)`).
//!   libs tries the whole rest, then one byte less, and so on, so `%proc.namex` is
//!   `proc.name` followed by the text `x`, and `%proc.aname[x]` (a bad index) is `proc.aname`
//!   followed by `[x]`;
//! - a `%` at the very end, or a width at the very end, is an error; so is a `%` that no
//!   prefix makes a field of (`%not_a_real_field`, `%%`, `%{proc.name}`: unlike `sysdig -p`,
//!   Falco has no escapes and no braces).
//!
//! What is not a reference is literal text, kept byte for byte.

use std::sync::Arc;

use lanner_fields::{Field, FieldError, epf};
use lanner_filter::syntax::{self, Parser, TransformerArg};
use lanner_filter::{CompileError, Extractor};

/// What a `%` refers to.
#[derive(Clone, Debug)]
pub(crate) enum Token {
    /// A field.
    Field(Field),
    /// A transformer expression, compiled by the filter language.
    Transformer(Box<Extractor>),
}

/// One piece of a compiled format.
#[derive(Clone, Debug)]
pub(crate) enum Piece {
    /// Literal text.
    Text(Box<str>),
    /// A value, padded or cut to `width` bytes when `width` is not 0.
    Value { token: Token, width: usize },
}

/// A field the format reads, under the name libs gives it in JSON `output_fields`.
#[derive(Clone, Debug)]
pub(crate) struct Resolution {
    pub(crate) name: Arc<str>,
    pub(crate) field: Field,
}

/// A compiled output format: what a rule's `output:` becomes at load time.
///
/// Immutable and `Send + Sync`; [`crate::RuleOutput`] formats events with it.
#[derive(Clone, Debug)]
pub struct OutputFormat {
    /// The text as written; also the key of the format's field states in
    /// [`crate::AlertScratch`] (Falco caches one formatter per format text).
    pub(crate) text: Arc<str>,
    pub(crate) pieces: Vec<Piece>,
    /// The fields for `output_fields`: every field of the format, also those inside
    /// transformers (but not the transformed values, which Falco leaves out), sorted by name,
    /// each name once.
    pub(crate) resolutions: Vec<Resolution>,
}

/// Why an output format does not compile, with the byte span of the text at fault (in the
/// format as given, before a leading `*` is dropped).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct FormatError {
    /// Where: for a bad reference, from its `%` to the end of the longest name tried.
    pub span: std::ops::Range<usize>,
    /// What.
    pub kind: FormatErrorKind,
}

/// What is wrong with an output format. The messages are libs' (`LOAD_ERR_COMPILE_OUTPUT`
/// reports them), with lanner's diagnosis attached where libs has none.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormatErrorKind {
    /// The format ends with `%`.
    #[error("invalid formatting syntax: formatting cannot end with a %")]
    EndsWithPercent,
    /// The format ends with `%` and a width.
    #[error("invalid formatting syntax: formatting cannot end with a number")]
    EndsWithWidth,
    /// No prefix of the text after `%` is a field or a transformer expression. The message
    /// is the one Falco's tests expect (`invalid formatting token not_a_real_field`: the rest
    /// of the format after the `%`); `cause` says what lanner found wrong with the longest
    /// candidate (an unknown field, with a "did you mean", a bad argument ...).
    #[error("invalid formatting token {rest}")]
    InvalidToken {
        /// The text after the `%` (and the width), to the end of the format.
        rest: String,
        /// Why the longest candidate failed.
        cause: String,
    },
}

impl FormatError {
    /// The error with lanner's diagnosis, the format's line quoted and the text at fault
    /// underlined (`text` is the format the error came from):
    ///
    /// ```
    /// let text = "An open was seen %proc.nmae";
    /// let e = lanner_outputs::OutputFormat::compile(text).unwrap_err();
    /// assert_eq!(
    ///     e.render(text),
    ///     "invalid formatting token proc.nmae: unknown field `proc.nmae` (did you mean \
    ///      `proc.name`?) at line 1, column 18\n  An open was seen %proc.nmae\n                   ^^^^^^^^^^"
    /// );
    /// ```
    pub fn render(&self, text: &str) -> String {
        let span = syntax::Span::new(self.span.start, self.span.end);
        lanner_filter::render_span(&self.detail(), span, text)
    }

    /// The message with lanner's diagnosis: `invalid formatting token proc.nmae: unknown
    /// field `proc.nmae` (did you mean `proc.name`?)`.
    pub fn detail(&self) -> String {
        match &self.kind {
            FormatErrorKind::InvalidToken { cause, .. } if !cause.is_empty() => {
                format!("{}: {cause}", self.kind)
            }
            _ => self.kind.to_string(),
        }
    }
}

/// A candidate compiled.
type Compiled = (Token, Vec<Resolution>);

impl OutputFormat {
    /// Compiles a format (see the [module docs](self) for the syntax).
    ///
    /// ```
    /// use lanner_outputs::OutputFormat;
    ///
    /// let f = OutputFormat::compile("File opened (user=%user.name file=%fd.name)").unwrap();
    /// assert_eq!(f.field_names().collect::<Vec<_>>(), ["fd.name", "user.name"]);
    /// let e = OutputFormat::compile("An open was seen %not_a_real_field").unwrap_err();
    /// assert_eq!(e.to_string(), "invalid formatting token not_a_real_field");
    /// assert_eq!(e.span, 17..34);
    /// ```
    pub fn compile(text: &str) -> Result<OutputFormat, FormatError> {
        let base = usize::from(text.starts_with('*'));
        let body = &text[base..];
        let bytes = body.as_bytes();
        let mut pieces = Vec::new();
        let mut resolutions: Vec<Resolution> = Vec::new();
        let mut literal_start = 0;
        let mut j = 0;
        let parser = Parser::new();
        while j < bytes.len() {
            if bytes[j] != b'%' {
                j += 1;
                continue;
            }
            if literal_start != j {
                pieces.push(Piece::Text(body[literal_start..j].into()));
            }
            let percent = j;
            if j == bytes.len() - 1 {
                return Err(FormatError {
                    span: base + j..base + j + 1,
                    kind: FormatErrorKind::EndsWithPercent,
                });
            }
            // A width: digits right after the `%` (sscanf's `%d`).
            let digits = bytes[j + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
            let mut width = 0usize;
            if digits > 0 {
                if j + 1 + digits == bytes.len() {
                    return Err(FormatError {
                        span: base + j..base + bytes.len(),
                        kind: FormatErrorKind::EndsWithWidth,
                    });
                }
                width = body[j + 1..j + 1 + digits]
                    .parse::<u64>()
                    .map_or(i32::MAX as usize, |w| w.min(i32::MAX as u64) as usize);
                j += digits;
            }
            let rest = &body[j + 1..];
            let (token, fields, len) = longest_token(&parser, rest).map_err(|(tried, cause)| {
                // Underline what was tried, or at least the name-like text after the `%`.
                let name = rest
                    .bytes()
                    .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.'))
                    .count();
                FormatError {
                    span: base + percent..base + j + 1 + tried.max(name).max(1),
                    kind: FormatErrorKind::InvalidToken { rest: rest.to_owned(), cause },
                }
            })?;
            for r in fields {
                match resolutions.binary_search_by(|x| x.name.cmp(&r.name)) {
                    Ok(_) => {}
                    Err(at) => resolutions.insert(at, r),
                }
            }
            pieces.push(Piece::Value { token, width });
            j += 1 + len;
            literal_start = j;
        }
        if literal_start != bytes.len() {
            pieces.push(Piece::Text(body[literal_start..].into()));
        }
        Ok(OutputFormat { text: text.into(), pieces, resolutions })
    }

    /// The format as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The names of the fields that go to JSON `output_fields`, sorted.
    pub fn field_names(&self) -> impl Iterator<Item = &str> {
        self.resolutions.iter().map(|r| &*r.name)
    }

    /// The fields the format reads (transformer arguments included), each once, in the
    /// order of [`OutputFormat::field_names`]: for an engine to know what the state must keep.
    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.resolutions.iter().map(|r| &r.field)
    }
}

/// The longest prefix of `rest` that is a field or transformer expression, with the fields
/// it names and its length; or the length of the longest candidate and why it failed.
fn longest_token(
    parser: &Parser,
    rest: &str,
) -> Result<(Token, Vec<Resolution>, usize), (usize, String)> {
    let mut first_error: Option<(usize, String)> = None;
    let mut len = rest.len();
    while len > 0 {
        if !rest.is_char_boundary(len) {
            len -= 1;
            continue;
        }
        let candidate = &rest[..len];
        match parser.parse_field_or_transformer(candidate) {
            Ok((op, consumed)) => match compile_operand(&op) {
                Ok((token, fields)) => return Ok((token, fields, consumed)),
                Err(e) => {
                    first_error.get_or_insert((consumed, e));
                    // Every candidate longer than what the parser took parses the same way:
                    // go straight to the shorter ones.
                    len = consumed.min(len - 1);
                    continue;
                }
            },
            Err(e) => {
                first_error.get_or_insert((e.position.offset, e.kind.to_string()));
            }
        }
        len -= 1;
    }
    Err(first_error.unwrap_or((0, String::new())))
}

fn compile_operand(op: &syntax::Operand) -> Result<Compiled, String> {
    match op {
        syntax::Operand::Field(f) => {
            let field = bind(f)?;
            let r = Resolution { name: f.to_string().into(), field: field.clone() };
            Ok((Token::Field(field), vec![r]))
        }
        syntax::Operand::Transformer(t) => {
            let extractor = Extractor::compile(op).map_err(|e| match e {
                CompileError::Check(errors) => {
                    errors.first().map(|e| e.message.clone()).unwrap_or_default()
                }
                other => other.to_string(),
            })?;
            let mut fields = Vec::new();
            inner_fields(&t.args, &mut fields)?;
            Ok((Token::Transformer(Box::new(extractor)), fields))
        }
    }
}

/// Binds a field for output: libs refuses filter-only fields (`fd.ip` ...) in formats.
fn bind(f: &syntax::Field) -> Result<Field, String> {
    let arg = f.arg.as_ref().map(|a| a.value.text.as_str());
    let field = Field::parse(&f.name, arg).map_err(|e: FieldError| e.to_string())?;
    if field.def().has(epf::FILTER_ONLY) {
        return Err(format!(
            "{} is filter only and cannot be used as a display field",
            field.def().name
        ));
    }
    Ok(field)
}

/// The fields inside transformer arguments, which libs resolves for `output_fields` on
/// their own, untransformed.
fn inner_fields(args: &[TransformerArg], out: &mut Vec<Resolution>) -> Result<(), String> {
    for a in args {
        match a {
            TransformerArg::Field(f) => {
                let field = bind(f)?;
                out.push(Resolution { name: f.to_string().into(), field });
            }
            TransformerArg::Transformer(t) => inner_fields(&t.args, out)?,
            TransformerArg::List(l) => inner_fields(&l.items, out)?,
            TransformerArg::Value(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> Vec<String> {
        OutputFormat::compile(text)
            .unwrap()
            .pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => format!("'{t}'"),
                Piece::Value { token: Token::Field(f), width: 0 } => f.to_text(),
                Piece::Value { token: Token::Field(f), width } => {
                    format!("{}/{width}", f.to_text())
                }
                Piece::Value { token: Token::Transformer(_), width } => format!("T/{width}"),
            })
            .collect()
    }

    #[test]
    fn tokenises_like_libs() {
        assert_eq!(
            shape("An open was seen (command=%proc.cmdline)"),
            ["'An open was seen (command='", "proc.cmdline", "')'"]
        );
        // the longest prefix that is a field
        assert_eq!(shape("%proc.namex"), ["proc.name", "'x'"]);
        assert_eq!(shape("%proc.name."), ["proc.name", "'.'"]);
        assert_eq!(shape("%proc.aname[2]]"), ["proc.aname[2]", "']'"]);
        assert_eq!(shape("%proc.aname[x]"), ["proc.aname", "'[x]'"]);
        assert_eq!(shape("%evt.arg.flags,"), ["evt.arg.flags", "','"]);
        assert_eq!(shape("%evt.time.iso8601: x"), ["evt.time.iso8601", "': x'"]);
        // widths, and a leading `*` that means nothing more
        assert_eq!(shape("*%20proc.name|"), ["proc.name/20", "'|'"]);
        assert_eq!(shape("%3proc.pid"), ["proc.pid/3"]);
        assert_eq!(shape("%tolower(proc.name) %len(proc.args)"), ["T/0", "' '", "T/0"]);
        assert_eq!(shape(""), Vec::<String>::new());
        assert_eq!(shape("*"), Vec::<String>::new());
        assert_eq!(shape("no fields"), ["'no fields'"]);
    }

    #[test]
    fn names_output_fields() {
        let f = OutputFormat::compile(
            "%proc.name %tolower(proc.pname) %proc.name %proc.aname[2] %evt.arg.flags %concat(fd.name, \"x\")",
        )
        .unwrap();
        assert_eq!(
            f.field_names().collect::<Vec<_>>(),
            ["evt.arg.flags", "fd.name", "proc.aname[2]", "proc.name", "proc.pname"]
        );
    }

    #[test]
    fn reports_errors_with_spans() {
        let e = OutputFormat::compile("x %").unwrap_err();
        assert_eq!((e.span.clone(), e.kind.clone()), (2..3, FormatErrorKind::EndsWithPercent));
        assert_eq!(e.to_string(), "invalid formatting syntax: formatting cannot end with a %");
        let e = OutputFormat::compile("x %12").unwrap_err();
        assert_eq!(e.kind, FormatErrorKind::EndsWithWidth);
        let e = OutputFormat::compile("*a %proc.nmae b").unwrap_err();
        assert_eq!(e.to_string(), "invalid formatting token proc.nmae b");
        assert_eq!(e.span, 3..13);
        assert_eq!(
            e.detail(),
            "invalid formatting token proc.nmae b: unknown field `proc.nmae` (did you mean `proc.name`?)"
        );
        for bad in ["%%", "%{proc.name}", "% proc.name", "%fd.ip", "%tolower(proc.pid)"] {
            assert!(OutputFormat::compile(bad).is_err(), "{bad}");
        }
    }
}
