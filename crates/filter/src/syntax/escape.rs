//! Quoted strings: undoing the escapes of the filter language, and writing a string back the
//! way libs prints it.
//!
//! Both directions follow libs' `filter/escaping.cpp` of the released versions (up to 0.25), not
//! a general-purpose escaping scheme, because rules files in the wild were written against it:
//!
//! - Inside quotes, `\b \f \n \r \t \\ \/` mean what they do in C. `\"` is allowed only inside
//!   `"…"` and `\'` only inside `'…'`.
//! - `\ ` (backslash, space) yields a single backslash and drops the space. libs keeps this for a
//!   rule that was once written that way; so do we.
//! - Everything else after a backslash is an error, `\x` included: the `\xHH` escape exists only
//!   on libs master (July 2026), in no release, and accepting it here would make rules load in
//!   lanner that fail in every released Falco.
//!
//! The printer ([`escape`]) is what libs' `as_string` uses for values and field arguments. It is
//! not an inverse of [`unescape`]: an empty string prints as nothing and a string holding `(`,
//! `)`, `,` or `=` but no blank prints bare, and neither parses back. Falco shows conditions in
//! this form, so we reproduce it rather than fix it.

/// An escape sequence inside a quoted string that the filter language does not have.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EscapeError {
    /// `\"` inside a single-quoted string.
    #[error("invalid \\\" escape in '-quoted string")]
    DoubleQuoteInSingle,
    /// `\'` inside a double-quoted string.
    #[error("invalid \\' escape in \"-quoted string")]
    SingleQuoteInDouble,
    /// A backslash followed by a character that starts no escape (`\x`, `\q`, `\0`, …).
    #[error("unsupported string escape sequence: \\{0}")]
    Unsupported(char),
}

/// Undoes the escapes of a quoted string. `quoted` is the whole literal as written, quotes
/// included (`'a\tb'`); its first character must be the quote (`'` or `"`) and its last the same
/// quote.
///
/// ```
/// use lanner_filter::syntax::escape::unescape;
/// assert_eq!(unescape(r#""tab\there""#).unwrap(), "tab\there");
/// assert!(unescape(r#""\x41""#).is_err());
/// ```
pub fn unescape(quoted: &str) -> Result<String, EscapeError> {
    let mut chars = quoted.chars();
    let delimiter = chars.next().unwrap_or('"');
    // The closing quote is not content; a literal of one character has no content at all.
    chars.next_back();
    let mut out = String::with_capacity(quoted.len());
    let mut escaped = false;
    for c in chars {
        if !escaped {
            if c == '\\' {
                escaped = true;
            } else {
                out.push(c);
            }
            continue;
        }
        escaped = false;
        out.push(match c {
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            // The legacy `\ `: a backslash, and the space is gone.
            ' ' | '\\' => '\\',
            '/' => '/',
            '"' if delimiter == '"' => '"',
            '"' => return Err(EscapeError::DoubleQuoteInSingle),
            '\'' if delimiter == '\'' => '\'',
            '\'' => return Err(EscapeError::SingleQuoteInDouble),
            other => return Err(EscapeError::Unsupported(other)),
        });
    }
    Ok(out)
}

/// Writes `s` the way libs' `escape_str` does: control characters that have an escape are
/// escaped, `\` and `"` are escaped, and if anything was escaped — or the string holds a space
/// or a `'` — the result is wrapped in double quotes. Otherwise `s` is written as it is.
///
/// ```
/// use lanner_filter::syntax::escape::escape;
/// assert_eq!(escape("/bin/sh"), "/bin/sh");
/// assert_eq!(escape("curl 127.0.0.1"), "\"curl 127.0.0.1\"");
/// assert_eq!(escape("it's"), "\"it's\"");
/// ```
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    // Writing to a String cannot fail.
    let _ = write_escaped(&mut out, s);
    out
}

/// [`escape`] into a formatter, without the intermediate `String` when nothing needs escaping.
pub(crate) fn write_escaped(f: &mut impl std::fmt::Write, s: &str) -> std::fmt::Result {
    let needs_quotes = s.bytes().any(|b| {
        matches!(b, b'\x08' | b'\x0c' | b'\n' | b'\r' | b'\t' | b' ' | b'\\' | b'"' | b'\'')
    });
    if !needs_quotes {
        return f.write_str(s);
    }
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '\u{8}' => f.write_str("\\b")?,
            '\u{c}' => f.write_str("\\f")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            '\\' => f.write_str("\\\\")?,
            '"' => f.write_str("\\\"")?,
            other => f.write_char(other)?,
        }
    }
    f.write_char('"')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_known_escapes() {
        assert_eq!(unescape(r#""\b\f\n\r\t\\\/""#).unwrap(), "\u{8}\u{c}\n\r\t\\/");
        assert_eq!(unescape(r#""say \"hi\"""#).unwrap(), "say \"hi\"");
        assert_eq!(unescape(r"'it\'s'").unwrap(), "it's");
        assert_eq!(unescape("''").unwrap(), "");
        assert_eq!(unescape("'é\\tü'").unwrap(), "é\tü");
    }

    #[test]
    fn backslash_space_is_a_backslash() {
        assert_eq!(unescape(r#""bad escape \ ""#).unwrap(), "bad escape \\");
    }

    #[test]
    fn unescape_rejects_what_libs_rejects() {
        assert_eq!(unescape(r#"'\"'"#), Err(EscapeError::DoubleQuoteInSingle));
        assert_eq!(unescape(r#""\'""#), Err(EscapeError::SingleQuoteInDouble));
        assert_eq!(unescape(r#""\x41""#), Err(EscapeError::Unsupported('x')));
        assert_eq!(unescape(r#""\q""#), Err(EscapeError::Unsupported('q')));
        assert_eq!(unescape("\"\\\n\""), Err(EscapeError::Unsupported('\n')));
    }

    #[test]
    fn escape_error_messages_are_libs_messages() {
        assert_eq!(
            EscapeError::DoubleQuoteInSingle.to_string(),
            r#"invalid \" escape in '-quoted string"#
        );
        assert_eq!(
            EscapeError::SingleQuoteInDouble.to_string(),
            r#"invalid \' escape in "-quoted string"#
        );
        assert_eq!(
            EscapeError::Unsupported('x').to_string(),
            r"unsupported string escape sequence: \x"
        );
    }

    #[test]
    fn escape_quotes_only_when_needed() {
        assert_eq!(escape("abc"), "abc");
        assert_eq!(escape(""), "");
        assert_eq!(escape("a(b)"), "a(b)");
        assert_eq!(escape("a b"), "\"a b\"");
        assert_eq!(escape("a\tb"), "\"a\\tb\"");
        assert_eq!(escape("a\"b"), "\"a\\\"b\"");
        assert_eq!(escape("a\\b"), "\"a\\\\b\"");
        assert_eq!(escape("a'b"), "\"a'b\"");
        assert_eq!(escape("\u{b}"), "\u{b}");
    }

    #[test]
    fn escape_then_unescape_is_identity_when_quoted() {
        for s in ["a b", "tab\there", "q\"q", "b\\s", "it's", "\u{8}\u{c}\r\n"] {
            assert_eq!(unescape(&escape(s)).unwrap(), s, "{s:?}");
        }
    }
}
