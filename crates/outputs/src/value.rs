//! Field values as alerts carry them: text for the message, typed values for JSON
//! `output_fields`.

use std::borrow::Cow;

use lanner_event::ParamType;
use lanner_event::render::RenderOptions;
use lanner_fields::format::write_values;
use lanner_fields::{Field, FieldId, Value, Values};

/// A value of JSON `output_fields`, typed as libs types it (`sinsp_filter_check::tojson`):
/// numbers for numeric and time fields, booleans, strings for everything else (strings,
/// paths, addresses, buffers), arrays for list fields, null for a field the event lacks.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    /// The field has no value for the event (printed `<NA>` in text).
    Null,
    /// A boolean field.
    Bool(bool),
    /// A signed number; the time fields (`evt.time`, `evt.time.iso8601`, `evt.datetime` ...)
    /// are the event's timestamp in nanoseconds, as in Falco.
    Int(i64),
    /// An unsigned number.
    Uint(u64),
    /// A floating-point number.
    Double(f64),
    /// A string (always valid UTF-8: see [`sanitize`]).
    String(String),
    /// A list field's values.
    List(Vec<FieldValue>),
}

/// Makes a field value printable, the way released libs hands string values to outputs:
/// invalid UTF-8 sequences and control characters (C0, DEL, C1) each become U+FFFD. Valid
/// non-ASCII text is kept.
///
/// This also makes the text line safe from log forging (no line breaks or escape sequences
/// from the watched system), which is what Falco's master branch does by JSON-escaping the
/// whole line instead; see the crate docs for why lanner follows the release.
pub fn sanitize(bytes: &[u8]) -> Cow<'_, str> {
    let lossy = String::from_utf8_lossy(bytes);
    if !lossy.chars().any(char::is_control) {
        return lossy;
    }
    Cow::Owned(lossy.chars().map(|c| if c.is_control() { '\u{FFFD}' } else { c }).collect())
}

/// Fields whose JSON value is the event's timestamp (libs' `extract_as_js` of the generic
/// event fields, and `evt.outputtime`), whatever their text looks like.
fn is_event_time(id: FieldId) -> bool {
    matches!(
        id,
        FieldId::EvtTime
            | FieldId::EvtTimeS
            | FieldId::EvtTimeIso8601
            | FieldId::EvtDatetime
            | FieldId::EvtDatetimeS
            | FieldId::EvtOutputtime
    )
}

/// Fields whose JSON value is their raw number even where the text pads or scales it (libs'
/// `extract_as_js`: raw, relative, latency and delta times).
fn is_raw_number(id: FieldId) -> bool {
    matches!(
        id,
        FieldId::EvtRawtime
            | FieldId::EvtRawtimeS
            | FieldId::EvtRawtimeNs
            | FieldId::EvtReltime
            | FieldId::EvtReltimeS
            | FieldId::EvtReltimeNs
            | FieldId::EvtLatency
            | FieldId::EvtLatencyS
            | FieldId::EvtLatencyNs
            | FieldId::EvtDeltatime
            | FieldId::EvtDeltatimeS
            | FieldId::EvtDeltatimeNs
    )
}

impl FieldValue {
    /// The JSON value of a field's extracted values for an event at `ts`.
    pub(crate) fn of_field(
        field: &Field,
        values: &Values,
        ts: u64,
        render: &RenderOptions,
    ) -> FieldValue {
        if values.is_empty() {
            return FieldValue::Null;
        }
        let id = field.id();
        if is_event_time(id) {
            return FieldValue::Int(ts as i64);
        }
        if field.is_list() {
            return FieldValue::List(values.iter().map(|v| one(field, v, render)).collect());
        }
        let first = values.first().map_or(FieldValue::Null, |v| one(field, v, render));
        match first {
            FieldValue::Uint(u) if is_raw_number(id) => FieldValue::Int(u as i64),
            other => other,
        }
    }
}

fn one(field: &Field, v: Value<'_>, render: &RenderOptions) -> FieldValue {
    match v {
        // `fd.dev` prints in hex (libs' PF_HEX), and JSON gets that text.
        Value::Int(_) | Value::Uint(_) if field.id() == FieldId::FdDev => {
            let mut out = Vec::new();
            lanner_fields::format::write_value(&mut out, field, v, render);
            FieldValue::String(sanitize(&out).into_owned())
        }
        Value::Bytes(_) if field.ty() == ParamType::Bytebuf => {
            let mut out = Vec::new();
            lanner_fields::format::write_value(&mut out, field, v, render);
            FieldValue::String(sanitize(&out).into_owned())
        }
        other => plain(other),
    }
}

fn plain(v: Value<'_>) -> FieldValue {
    match v {
        Value::Int(i) => FieldValue::Int(i),
        Value::Uint(u) => FieldValue::Uint(u),
        Value::Bool(b) => FieldValue::Bool(b),
        Value::Bytes(b) => FieldValue::String(sanitize(b).into_owned()),
        Value::Ip(ip) => FieldValue::String(ip.to_string()),
        Value::Double(d) => FieldValue::Double(d),
    }
}

/// Appends a field's values as text, sanitised (`<NA>` when there is none).
pub(crate) fn write_field_text(
    out: &mut String,
    scratch: &mut Vec<u8>,
    field: &Field,
    values: &Values,
    render: &RenderOptions,
) {
    if values.is_empty() {
        out.push_str("<NA>");
        return;
    }
    scratch.clear();
    write_values(scratch, field, values, render);
    out.push_str(&sanitize(scratch));
}

/// Appends a transformer's result as text, sanitised (`<NA>` when there is none).
pub(crate) fn write_transformed_text(out: &mut String, values: &Values) {
    use std::fmt::Write;
    let Some(v) = values.first() else {
        out.push_str("<NA>");
        return;
    };
    let _ = match v {
        Value::Int(i) => write!(out, "{i}"),
        Value::Uint(u) => write!(out, "{u}"),
        Value::Bool(b) => write!(out, "{b}"),
        Value::Bytes(b) => {
            out.push_str(&sanitize(b));
            Ok(())
        }
        Value::Ip(ip) => write!(out, "{ip}"),
        Value::Double(d) => write!(out, "{d:.1}"),
    };
}

/// Pads with blanks or cuts `out[start..]` to `width` bytes, as libs' `std::string::resize`
/// does. A cut through a multi-byte character leaves U+FFFD in its place (libs leaves the
/// broken bytes, which Falco's JSON writer then replaces the same way).
pub(crate) fn apply_width(out: &mut String, start: usize, width: usize) {
    let len = out.len() - start;
    if len < width {
        out.extend(std::iter::repeat_n(' ', width - len));
    } else if len > width {
        let end = start + width;
        if out.is_char_boundary(end) {
            out.truncate(end);
        } else {
            let cut = out.as_bytes()[start..end].to_vec();
            out.truncate(start);
            out.push_str(&String::from_utf8_lossy(&cut));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_like_released_libs() {
        assert_eq!(sanitize(b"cat /dev/null"), "cat /dev/null");
        assert!(matches!(sanitize(b"plain"), Cow::Borrowed(_)));
        assert_eq!(sanitize("caf\u{e9} \u{1F600}".as_bytes()), "caf\u{e9} \u{1F600}");
        assert_eq!(sanitize(b"a\nb\tc\x1b[31m\x7f"), "a\u{FFFD}b\u{FFFD}c\u{FFFD}[31m\u{FFFD}");
        assert_eq!(sanitize(b"bad\xff\xfeend"), "bad\u{FFFD}\u{FFFD}end");
        // a truncated multi-byte sequence is one replacement (maximal subpart)
        assert_eq!(sanitize(b"x\xe2\x82y"), "x\u{FFFD}y");
    }

    #[test]
    fn widths_pad_and_cut_bytes() {
        let mut s = String::from("ab:cat");
        apply_width(&mut s, 3, 6);
        assert_eq!(s, "ab:cat   ");
        let mut s = String::from("ab:bash");
        apply_width(&mut s, 3, 2);
        assert_eq!(s, "ab:ba");
        let mut s = String::from("\u{e9}t\u{e9}");
        apply_width(&mut s, 0, 4);
        assert_eq!(s, "\u{e9}t\u{FFFD}");
    }
}
