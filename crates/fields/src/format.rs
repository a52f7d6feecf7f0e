//! Output formats: text with `%field` references, as `sysdig -p` and Falco rule outputs write
//! them (`%proc.name opened %fd.name`, `%{evt.arg.flags}`), and the text of field values.

use lanner_event::ParamType;
use lanner_event::render::{BufferFormat, RenderOptions};

use crate::extract::{CheckState, EventContext, Mode, extract};
use crate::field::{Field, FieldError};
use crate::registry::{FieldId, epf};
use crate::value::{Value, Values};

/// One piece of a format.
#[derive(Clone, Debug)]
enum Piece {
    Text(String),
    Field(Field),
}

/// A parsed output format.
#[derive(Clone, Debug)]
pub struct Format {
    pieces: Vec<Piece>,
    /// A leading `*`: print every line, with `<NA>` for missing values. Without it a line
    /// whose fields are not all available is not printed at all (sysdig's rule).
    pub print_missing: bool,
}

/// A field reference a format could not bind.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid output format at byte {offset}: {error}")]
pub struct FormatError {
    /// Where the reference starts in the format.
    pub offset: usize,
    /// What is wrong with it.
    pub error: FieldError,
}

fn is_field_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

impl Format {
    /// Parses a format: `%name`, `%name[arg]` and `%{name}` are field references, `%%` is a
    /// percent sign; everything else is text.
    pub fn parse(text: &str) -> Result<Format, FormatError> {
        let (print_missing, body) = match text.strip_prefix('*') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let base = text.len() - body.len();
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = body.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c != '%' {
                literal.push(c);
                continue;
            }
            let rest = &body[i + 1..];
            if rest.starts_with('%') {
                // `%%` is a literal percent sign.
                literal.push('%');
                chars.next();
                continue;
            }
            let (name, arg, consumed) = if let Some(inner) = rest.strip_prefix('{') {
                match inner.find('}') {
                    Some(end) => {
                        let whole = &inner[..end];
                        let (name, arg) = split_arg(whole);
                        (name, arg, end + 2)
                    }
                    None => {
                        literal.push('%');
                        continue;
                    }
                }
            } else {
                let len = rest.find(|c: char| !is_field_char(c)).unwrap_or(rest.len());
                let name = rest[..len].trim_end_matches('.');
                let mut consumed = name.len();
                let mut arg = None;
                if rest[name.len()..].starts_with('[')
                    && let Some(end) = rest[name.len()..].find(']')
                {
                    arg = Some(&rest[name.len() + 1..name.len() + end]);
                    consumed = name.len() + end + 1;
                }
                (name, arg, consumed)
            };
            if name.is_empty() {
                literal.push('%');
                continue;
            }
            let field =
                Field::parse(name, arg).map_err(|error| FormatError { offset: base + i, error })?;
            if field.def().has(epf::FILTER_ONLY) {
                return Err(FormatError {
                    offset: base + i,
                    error: FieldError::BadArg {
                        field: field.def().name,
                        arg: String::new(),
                        why: "this field can only be used in filters",
                    },
                });
            }
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Field(field));
            for _ in 0..rest[..consumed].chars().count() {
                chars.next();
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Format { pieces, print_missing })
    }

    /// The fields the format refers to, in order.
    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Field(f) => Some(f),
            Piece::Text(_) => None,
        })
    }

    /// Appends the formatted line for an event to `out`; returns false (and appends nothing)
    /// when a field is missing and the format does not print missing values.
    pub fn write(
        &self,
        out: &mut Vec<u8>,
        ctx: &EventContext<'_>,
        scratch: &mut FormatScratch,
    ) -> bool {
        if scratch.states.len() < self.pieces.len() {
            scratch.states.resize(self.pieces.len(), CheckState::default());
        }
        let start = out.len();
        for (i, piece) in self.pieces.iter().enumerate() {
            match piece {
                Piece::Text(t) => out.extend_from_slice(t.as_bytes()),
                Piece::Field(f) => {
                    extract(f, ctx, Mode::Output, &mut scratch.states[i], &mut scratch.values);
                    if scratch.values.is_empty() {
                        if !self.print_missing {
                            out.truncate(start);
                            return false;
                        }
                        out.extend_from_slice(b"<NA>");
                    } else {
                        write_values(out, f, &scratch.values, &ctx.render);
                    }
                }
            }
        }
        true
    }
}

/// `name[arg]` → (`name`, `arg`).
fn split_arg(s: &str) -> (&str, Option<&str>) {
    match (s.find('['), s.ends_with(']')) {
        (Some(open), true) => (&s[..open], Some(&s[open + 1..s.len() - 1])),
        _ => (s, None),
    }
}

/// Reusable buffers for writing a format.
#[derive(Clone, Debug, Default)]
pub struct FormatScratch {
    values: Values,
    states: Vec<CheckState>,
}

/// Fields printed as zero-padded 9-digit numbers (libs' `PF_10_PADDED_DEC`).
fn padded(id: FieldId) -> bool {
    matches!(
        id,
        FieldId::EvtRawtimeNs
            | FieldId::EvtReltime
            | FieldId::EvtReltimeNs
            | FieldId::EvtLatencyNs
            | FieldId::EvtDeltatimeNs
    )
}

/// Writes a field's values as text: one value as itself, several as `(a,b,c)`.
pub fn write_values(out: &mut Vec<u8>, field: &Field, values: &Values, render: &RenderOptions) {
    if values.len() > 1 || field.is_list() {
        out.push(b'(');
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_value(out, field, v, render);
        }
        out.push(b')');
    } else if let Some(v) = values.first() {
        write_value(out, field, v, render);
    }
}

/// Writes one value as text, the way libs prints values of the field's type.
pub fn write_value(out: &mut Vec<u8>, field: &Field, v: Value<'_>, render: &RenderOptions) {
    use std::io::Write;
    let _ = match v {
        Value::Int(i) if field.id() == FieldId::FdDev => write!(out, "{:X}", i),
        Value::Int(i) => write!(out, "{i}"),
        Value::Uint(u) if padded(field.id()) => write!(out, "{u:09}"),
        Value::Uint(u) => write!(out, "{u}"),
        Value::Bool(b) => write!(out, "{b}"),
        Value::Bytes(b) if field.ty() == ParamType::Bytebuf => {
            write_buffer(out, b, render);
            Ok(())
        }
        Value::Bytes(b) => {
            out.extend_from_slice(b);
            Ok(())
        }
        Value::Ip(ip) => write!(out, "{ip}"),
        Value::Double(d) => write!(out, "{d:.1}"),
    };
}

/// A byte buffer in the chosen buffer format (printable bytes kept, others as `.` by default).
fn write_buffer(out: &mut Vec<u8>, b: &[u8], render: &RenderOptions) {
    match render.buffer_format {
        BufferFormat::Dots => {
            out.extend(b.iter().map(|&c| if (0x20..0x7f).contains(&c) { c } else { b'.' }));
        }
        _ => out.extend_from_slice(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_references() {
        let f =
            Format::parse("*%evt.num %proc.name (%thread.tid) %{evt.arg.flags} %proc.aname[2]%%x")
                .unwrap();
        assert!(f.print_missing);
        let names: Vec<String> = f.fields().map(Field::to_text).collect();
        assert_eq!(names, ["evt.num", "proc.name", "thread.tid", "evt.arg.flags", "proc.aname[2]"]);
        assert!(Format::parse("%proc.nmae").is_err());
        assert!(Format::parse("%fd.ip").is_err(), "filter-only fields");
        assert!(!Format::parse("%evt.num").unwrap().print_missing);
        // a trailing dot is text
        assert_eq!(Format::parse("%proc.name.").unwrap().fields().count(), 1);
    }
}
