//! Falco's two renderings of an alert: the text line and the JSON line.
//!
//! Both are written into a `String` the caller reuses; [`write_alert`] adds the line end and
//! writes to any `io::Write`.

use std::fmt::Write as _;
use std::io;

use lanner_fields::extract::time::{write_iso8601, write_time_of_day};

use crate::alert::Alert;
use crate::value::FieldValue;

/// The falco.yaml options that shape an alert's rendering, with Falco's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputOptions {
    /// `json_output`: JSON lines instead of text lines.
    pub json_output: bool,
    /// `json_include_output_property`: the text line as `output`.
    pub json_include_output_property: bool,
    /// `json_include_tags_property`: the rule's tags as `tags`.
    pub json_include_tags_property: bool,
    /// `json_include_message_property`: the message without time and priority as `message`.
    pub json_include_message_property: bool,
    /// `json_include_output_fields_property`: the typed field values as `output_fields`.
    pub json_include_output_fields_property: bool,
    /// `time_format_iso_8601`: the text line starts with `%evt.time.iso8601` (UTC) instead
    /// of `%evt.time` (local time of day).
    pub time_format_iso_8601: bool,
    /// The offset of local time from UTC in seconds, for `%evt.time`. Falco (libsinsp's
    /// `gmt2local`) takes it once, at start-up, from the current time; the edge does the
    /// same and passes it here, so rendering never reads the machine's time zone.
    pub utc_offset: i64,
}

impl Default for OutputOptions {
    fn default() -> OutputOptions {
        OutputOptions {
            json_output: false,
            json_include_output_property: true,
            json_include_tags_property: true,
            json_include_message_property: false,
            json_include_output_fields_property: true,
            time_format_iso_8601: false,
            utc_offset: 0,
        }
    }
}

/// Appends Falco's text line: `<time>: <Priority> <message>`, without a line end.
///
/// ```
/// use std::sync::Arc;
/// use lanner_outputs::{Alert, AlertRule, OutputOptions, Priority, render};
///
/// let rule = AlertRule::new("r", Priority::Warning, "syscall", []);
/// let alert = Alert::internal(&rule, 1_470_327_477_881_781_397, &Arc::from("h"), "hi".into());
/// let mut line = String::new();
/// let iso = OutputOptions { time_format_iso_8601: true, ..OutputOptions::default() };
/// render::write_text(&mut line, &alert, &iso);
/// assert_eq!(line, "2016-08-04T16:17:57.881781397+0000: Warning hi");
/// line.clear();
/// let local = OutputOptions { utc_offset: 2 * 3600, ..OutputOptions::default() };
/// render::write_text(&mut line, &alert, &local);
/// assert_eq!(line, "18:17:57.881781397: Warning hi");
/// ```
///
/// The line is written as built, as released Falco (0.44) writes it: field values were
/// made printable when the alert was built ([`crate::value::sanitize`]), and the rule's own
/// text is kept as written. (Falco's master branch JSON-escapes the whole line instead.)
pub fn write_text(out: &mut String, alert: &Alert, options: &OutputOptions) {
    let mut time = Vec::with_capacity(40);
    if options.time_format_iso_8601 {
        write_iso8601(&mut time, alert.time);
    } else {
        write_time_of_day(&mut time, alert.time, options.utc_offset);
    }
    // The time writers write ASCII digits and separators only.
    out.push_str(std::str::from_utf8(&time).unwrap_or_default());
    out.push_str(": ");
    out.push_str(alert.priority.as_str());
    out.push(' ');
    out.push_str(&alert.message);
}

/// Appends Falco's JSON line, without a line end: one object with sorted keys and no
/// blanks (what nlohmann's `dump()` writes), `output_fields` typed.
///
/// Keys: `hostname`, `message` (if asked), `output` (if asked), `output_fields` (if asked:
/// the fields of the message, the time field of the text prefix, then the extra fields of
/// `append_output`, a later one replacing an earlier one of the same name), `priority`,
/// `rule`, `source`, `tags` (if asked), `time` (UTC, nanoseconds, `Z`).
pub fn write_json(out: &mut String, alert: &Alert, options: &OutputOptions) {
    out.push_str("{\"hostname\":");
    write_json_string(out, &alert.hostname);
    if options.json_include_message_property {
        out.push_str(",\"message\":");
        write_json_string(out, &alert.message);
    }
    if options.json_include_output_property {
        out.push_str(",\"output\":");
        let mut line = String::with_capacity(alert.message.len() + 48);
        write_text(&mut line, alert, options);
        write_json_string(out, &line);
    }
    if options.json_include_output_fields_property {
        let time_field = FieldValue::Int(alert.time as i64);
        let time_name = if options.time_format_iso_8601 { "evt.time.iso8601" } else { "evt.time" };
        let mut fields: Vec<(&str, &FieldValue)> =
            Vec::with_capacity(alert.output_fields.len() + alert.extra_fields.len() + 1);
        fields.extend(alert.output_fields.iter().map(|(k, v)| (&**k, v)));
        fields.push((time_name, &time_field));
        fields.extend(alert.extra_fields.iter().map(|(k, v)| (&**k, v)));
        // Later entries win; a stable sort keeps them in order among equal keys.
        fields.sort_by(|a, b| a.0.cmp(b.0));
        out.push_str(",\"output_fields\":{");
        let mut first = true;
        for (i, (name, value)) in fields.iter().enumerate() {
            if fields.get(i + 1).is_some_and(|next| next.0 == *name) {
                continue;
            }
            if !first {
                out.push(',');
            }
            first = false;
            write_json_string(out, name);
            out.push(':');
            write_json_value(out, value);
        }
        out.push('}');
    }
    out.push_str(",\"priority\":");
    write_json_string(out, alert.priority.as_str());
    out.push_str(",\"rule\":");
    write_json_string(out, &alert.rule);
    out.push_str(",\"source\":");
    write_json_string(out, &alert.source);
    if options.json_include_tags_property {
        out.push_str(",\"tags\":[");
        for (i, tag) in alert.tags.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_json_string(out, tag);
        }
        out.push(']');
    }
    out.push_str(",\"time\":\"");
    let mut time = Vec::with_capacity(40);
    write_iso8601(&mut time, alert.time);
    // `…+0000` becomes `…Z`.
    time.truncate(time.len() - 5);
    out.push_str(std::str::from_utf8(&time).unwrap_or_default());
    out.push_str("Z\"}");
}

/// Writes an alert as one line (text or JSON, per `options.json_output`) and a `\n`;
/// `line` is a buffer the caller reuses.
pub fn write_alert(
    w: &mut impl io::Write,
    alert: &Alert,
    options: &OutputOptions,
    line: &mut String,
) -> io::Result<()> {
    line.clear();
    if options.json_output {
        write_json(line, alert, options);
    } else {
        write_text(line, alert, options);
    }
    line.push('\n');
    w.write_all(line.as_bytes())
}

/// A JSON value as nlohmann writes it.
fn write_json_value(out: &mut String, value: &FieldValue) {
    match value {
        FieldValue::Null => out.push_str("null"),
        FieldValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        FieldValue::Int(i) => {
            let _ = write!(out, "{i}");
        }
        FieldValue::Uint(u) => {
            let _ = write!(out, "{u}");
        }
        FieldValue::Double(d) => write_json_double(out, *d),
        FieldValue::String(s) => write_json_string(out, s),
        FieldValue::List(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_value(out, v);
            }
            out.push(']');
        }
    }
}

/// A double as nlohmann writes it (`to_chars`): the shortest digits that read back, in
/// positional notation with a `.0` on whole numbers while the decimal point is within 15
/// digits, otherwise as `d.ddde+XX`; `null` for NaN and infinities.
fn write_json_double(out: &mut String, d: f64) {
    if !d.is_finite() {
        out.push_str("null");
        return;
    }
    if d == 0.0 {
        out.push_str(if d.is_sign_negative() { "-0.0" } else { "0.0" });
        return;
    }
    if d < 0.0 {
        out.push('-');
    }
    // Rust's `{:e}` gives the same shortest digits: `1.2345e-5`, `1e15`.
    let sci = format!("{:e}", d.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = digits.len() as i64;
    // The position of the decimal point relative to the first digit.
    let n = exp.parse::<i64>().unwrap_or(0) + 1;
    if k <= n && n <= 15 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
        out.push_str(".0");
    } else if 0 < n && n <= 15 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -4 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = n - 1;
        let _ = write!(out, "e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
}

/// A JSON string as nlohmann writes it without `ensure_ascii`: `"` and `\` escaped, the
/// control characters below 0x20 as `\b \t \n \f \r` or `\u00xx` (lower-case hex), all else
/// as is (the text is valid UTF-8 already).
pub fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\x08' => "\\b",
            b'\t' => "\\t",
            b'\n' => "\\n",
            b'\x0c' => "\\f",
            b'\r' => "\\r",
            0..0x20 => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::alert::AlertRule;
    use crate::priority::Priority;

    fn alert() -> Alert {
        let rule = AlertRule::new("r \"1\"", Priority::Informational, "syscall", ["b", "a", "b"]);
        let mut a = Alert::internal(&rule, 1_470_327_477_000_000_005, &Arc::from("h"), "m".into());
        a.output_fields = vec![
            ("a.list".into(), FieldValue::List(vec![FieldValue::Uint(1), FieldValue::Null])),
            ("evt.time".into(), FieldValue::String("replaced".into())),
            ("fd.name".into(), FieldValue::Null),
            ("proc.cmdline".into(), FieldValue::String("cat \"x\"\\y".into())),
            ("proc.pid".into(), FieldValue::Int(-3)),
            ("x.bool".into(), FieldValue::Bool(true)),
            ("x.double".into(), FieldValue::Double(2.0)),
            ("x.half".into(), FieldValue::Double(0.5)),
        ];
        a.extra_fields = vec![("proc.pid".into(), FieldValue::String("extra wins".into()))];
        a
    }

    #[test]
    fn json_is_sorted_typed_and_compact() {
        let mut out = String::new();
        write_json(&mut out, &alert(), &OutputOptions::default());
        assert_eq!(
            out,
            concat!(
                r#"{"hostname":"h","output":"16:17:57.000000005: Informational m","#,
                r#""output_fields":{"a.list":[1,null],"evt.time":1470327477000000005,"fd.name":null,"#,
                r#""proc.cmdline":"cat \"x\"\\y","proc.pid":"extra wins","x.bool":true,"#,
                r#""x.double":2.0,"x.half":0.5},"priority":"Informational","rule":"r \"1\"","#,
                r#""source":"syscall","tags":["a","b"],"time":"2016-08-04T16:17:57.000000005Z"}"#
            )
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["output_fields"]["evt.time"], 1_470_327_477_000_000_005u64);
    }

    #[test]
    fn json_properties_follow_options() {
        let mut out = String::new();
        let options = OutputOptions {
            json_include_output_property: false,
            json_include_tags_property: false,
            json_include_output_fields_property: false,
            json_include_message_property: true,
            time_format_iso_8601: true,
            ..OutputOptions::default()
        };
        write_json(&mut out, &alert(), &options);
        assert_eq!(
            out,
            r#"{"hostname":"h","message":"m","priority":"Informational","rule":"r \"1\"","source":"syscall","time":"2016-08-04T16:17:57.000000005Z"}"#
        );
        out.clear();
        let options = OutputOptions { time_format_iso_8601: true, ..OutputOptions::default() };
        write_json(&mut out, &alert(), &options);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["output_fields"]["evt.time.iso8601"], 1_470_327_477_000_000_005u64);
        assert_eq!(v["output_fields"]["evt.time"], "replaced");
        assert_eq!(v["output"], "2016-08-04T16:17:57.000000005+0000: Informational m");
    }

    #[test]
    fn doubles_like_nlohmann() {
        let cases: [(f64, &str); 14] = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (2.0, "2.0"),
            (0.5, "0.5"),
            (-1.25, "-1.25"),
            (123_456.789, "123456.789"),
            (1e14, "100000000000000.0"),
            (1e15, "1e+15"),
            (1.5e20, "1.5e+20"),
            (0.001, "0.001"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.2345e-7, "1.2345e-07"),
            (f64::NAN, "null"),
        ];
        for (d, want) in cases {
            let mut out = String::new();
            write_json_double(&mut out, d);
            assert_eq!(out, want, "{d}");
        }
    }

    #[test]
    fn escapes_strings_like_nlohmann() {
        let mut out = String::new();
        write_json_string(&mut out, "a\"b\\c\n\t\r\x08\x0c\x01\x1f\x7f/\u{e9}\u{FFFD}");
        assert_eq!(out, "\"a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001f\x7f/\u{e9}\u{FFFD}\"");
        let back: String = serde_json::from_str(&out).unwrap();
        assert_eq!(back, "a\"b\\c\n\t\r\x08\x0c\x01\x1f\x7f/\u{e9}\u{FFFD}");
    }

    #[test]
    fn text_lines_and_write_alert() {
        let mut line = String::new();
        let mut w = Vec::new();
        let a = alert();
        // local time of day: the offset is given, never read from the machine
        let utc_minus_5 = OutputOptions { utc_offset: -5 * 3600, ..OutputOptions::default() };
        write_alert(&mut w, &a, &utc_minus_5, &mut line).unwrap();
        write_alert(&mut w, &a, &OutputOptions { json_output: true, ..utc_minus_5 }, &mut line)
            .unwrap();
        let text = String::from_utf8(w).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("11:17:57.000000005: Informational m"));
        let json: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(json["output"], "11:17:57.000000005: Informational m");
        assert_eq!(json["time"], "2016-08-04T16:17:57.000000005Z");
        assert!(text.ends_with("}\n"));
    }
}
