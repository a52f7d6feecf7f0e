//! The JSON tree that lanner's Falco plugins (k8saudit, json, cloudtrail) extract fields from.
//!
//! The upstream plugins are written in Go on top of `valyala/fastjson`, and their field values
//! are often *re-marshalled JSON* (`ka.req.binding.subjects`, `ka.req.configmap.obj`,
//! `json.value[/spec]`, `ct.request` ...). To give the same strings, this tree keeps what
//! fastjson keeps and `serde_json::Value` does not:
//!
//! - object members in document order (duplicates too; lookups take the first match);
//! - numbers as written (`1.0` stays `1.0`, `1e3` stays `1e3`);
//! - [`Value::marshal`] writes fastjson's `MarshalTo` form: compact, strings escaped only when
//!   they hold `"`, `\` or control characters, and then with Go's `strconv.Quote` rules.
//!
//! Beside the tree, [`parse_rfc3339_nano`]: the RFC 3339 timestamps these documents carry, read
//! as the Go plugins read them; and [`PerEvent`]: the tree of the event being extracted from,
//! parsed once for all of its fields. It owns nothing else: no field semantics, no I/O. Input
//! is untrusted (audit webhooks, files): the parser never panics, bounds nesting at
//! [`MAX_DEPTH`], and reports the byte offset of the first error.
//!
//! ```
//! use lanner_plugin_jsontree::Value;
//!
//! let v = Value::parse(br#"{"spec":{"containers":[{"image":"nginx","ports":[80, 1.0]}]}}"#)?;
//! let image = v.get_path(&["spec", "containers", "0", "image"]).and_then(Value::as_str);
//! assert_eq!(image, Some("nginx"));
//! assert_eq!(v.pointer("/spec/containers/0/ports").map(Value::marshal).as_deref(), Some("[80,1.0]"));
//! # Ok::<(), lanner_plugin_jsontree::ParseError>(())
//! ```

use std::fmt::Write as _;
use std::ops::Range;

mod per_event;
mod time;

pub use per_event::PerEvent;
pub use time::parse_rfc3339_nano;

/// Deepest nesting of arrays and objects accepted (the same bound as `serde_json`'s).
pub const MAX_DEPTH: usize = 128;

/// A parsed JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A number, as written in the input.
    Number(String),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object: members in document order.
    Object(Vec<(String, Value)>),
}

/// Why an input is not JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse JSON at offset {offset}: {reason}")]
pub struct ParseError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// What was expected or found there.
    pub reason: &'static str,
    /// True when the input ended before the value did (more input could complete it).
    pub eof: bool,
}

impl Value {
    /// Parses one JSON value; only whitespace may follow it.
    pub fn parse(input: &[u8]) -> Result<Value, ParseError> {
        let mut p = Parser { input, pos: 0 };
        p.skip_ws();
        let v = p.value(0)?;
        p.skip_ws();
        if p.pos != input.len() {
            return Err(p.err("unexpected data after the value"));
        }
        Ok(v)
    }

    /// The member `key` of an object, or the element at index `key` of an array (fastjson's
    /// `Get` for one key).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        }
    }

    /// [`Value::get`] along a path of keys (fastjson's `Get(keys...)`).
    pub fn get_path(&self, keys: &[&str]) -> Option<&Value> {
        keys.iter().try_fold(self, |v, k| v.get(k))
    }

    /// Looks up an RFC 6901 JSON pointer the way the upstream json plugin does: a leading `/`
    /// is optional, `~1` and `~0` are unescaped, and each step is [`Value::get`].
    pub fn pointer(&self, pointer: &str) -> Option<&Value> {
        let pointer = pointer.strip_prefix('/').unwrap_or(pointer);
        let mut v = self;
        for token in pointer.split('/') {
            let key = token.replace("~1", "/").replace("~0", "~");
            v = v.get(&key)?;
        }
        Some(v)
    }

    /// The string, when this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The elements, when this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The members, when this is an object.
    pub fn as_object(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Object(members) => Some(members),
            _ => None,
        }
    }

    /// fastjson's `GetBool`: true only for the literal `true`.
    pub fn is_true(&self) -> bool {
        matches!(self, Value::Bool(true))
    }

    /// The value as the upstream plugins print it: a string's own text, anything else
    /// marshalled (`jsonValueAsString` of the k8saudit plugin).
    pub fn to_text(&self) -> String {
        match self {
            Value::String(s) => s.clone(),
            other => other.marshal(),
        }
    }

    /// Compact JSON, as fastjson's `MarshalTo` writes it.
    pub fn marshal(&self) -> String {
        let mut out = String::new();
        self.marshal_into(&mut out);
        out
    }

    fn marshal_into(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(true) => out.push_str("true"),
            Value::Bool(false) => out.push_str("false"),
            Value::Number(n) => out.push_str(n),
            Value::String(s) => escape_into(s, out),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.marshal_into(out);
                }
                out.push(']');
            }
            Value::Object(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    escape_into(k, out);
                    out.push(':');
                    v.marshal_into(out);
                }
                out.push('}');
            }
        }
    }
}

/// Writes `s` quoted as fastjson does: as is between quotes unless it holds `"`, `\` or a
/// byte below 0x20, and then quoted by Go's `strconv.Quote` rules (`\n`, `\t`, `\x01`,
/// `\u00a0` for unprintable runes).
pub fn escape_into(s: &str, out: &mut String) {
    let special = s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20);
    out.push('"');
    if !special {
        out.push_str(s);
    } else {
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\u{7}' => out.push_str("\\a"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{b}' => out.push_str("\\v"),
                c if (c as u32) < 0x20 || c == '\u{7f}' => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c if c.is_control() || (c.is_whitespace() && c != ' ') => {
                    if (c as u32) <= 0xffff {
                        let _ = write!(out, "\\u{:04x}", c as u32);
                    } else {
                        let _ = write!(out, "\\U{:08x}", c as u32);
                    }
                }
                c => out.push(c),
            }
        }
    }
    out.push('"');
}

/// The byte ranges of the elements of the array under `key` in the top-level object of
/// `input` (CloudTrail's `{"Records":[{...},{...}]}`), so that each element can be passed on
/// as it was written. The whole input is checked to be JSON; `None`: it is, but it is not an
/// object with an array under `key`.
pub fn member_array_spans(
    input: &[u8],
    key: &str,
) -> Result<Option<Vec<Range<usize>>>, ParseError> {
    let mut p = Parser { input, pos: 0 };
    let mut spans = Vec::new();
    let mut found = false;
    p.skip_ws();
    if p.peek() != Some(b'{') {
        // Not an object: check it is JSON at all, then report no such member.
        p.value(0)?;
        p.skip_ws();
        if p.pos != input.len() {
            return Err(p.err("unexpected data after the value"));
        }
        return Ok(None);
    }
    p.pos += 1;
    p.skip_ws();
    if p.peek() == Some(b'}') {
        p.pos += 1;
    } else {
        loop {
            p.skip_ws();
            let k = p.string()?;
            p.skip_ws();
            p.expect(b':')?;
            p.skip_ws();
            if k == key && p.peek() == Some(b'[') {
                found = true;
                p.pos += 1;
                p.skip_ws();
                if p.peek() == Some(b']') {
                    p.pos += 1;
                } else {
                    loop {
                        p.skip_ws();
                        let start = p.pos;
                        p.value(2)?;
                        spans.push(start..p.pos);
                        p.skip_ws();
                        match p.next() {
                            Some(b',') => continue,
                            Some(b']') => break,
                            Some(_) => return Err(p.err_back("expected `,` or `]` in an array")),
                            None => return Err(p.err("unexpected end of input")),
                        }
                    }
                }
            } else {
                p.value(1)?;
            }
            p.skip_ws();
            match p.next() {
                Some(b',') => continue,
                Some(b'}') => break,
                Some(_) => return Err(p.err_back("expected `,` or `}` in an object")),
                None => return Err(p.err("unexpected end of input")),
            }
        }
    }
    p.skip_ws();
    if p.pos != input.len() {
        return Err(p.err("unexpected data after the value"));
    }
    Ok(found.then_some(spans))
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek();
        if b.is_some() {
            self.pos += 1;
        }
        b
    }

    fn err(&self, reason: &'static str) -> ParseError {
        ParseError { offset: self.pos, reason, eof: self.pos >= self.input.len() }
    }

    /// An error about the byte just consumed.
    fn err_back(&self, reason: &'static str) -> ParseError {
        ParseError { offset: self.pos.saturating_sub(1), reason, eof: false }
    }

    fn expect(&mut self, b: u8) -> Result<(), ParseError> {
        match self.peek() {
            Some(c) if c == b => {
                self.pos += 1;
                Ok(())
            }
            Some(_) => Err(self.err("unexpected character")),
            None => Err(self.err("unexpected end of input")),
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        if depth >= MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        match self.peek() {
            None => Err(self.err("unexpected end of input")),
            Some(b'{') => {
                self.pos += 1;
                let mut members = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    return Ok(Value::Object(members));
                }
                loop {
                    self.skip_ws();
                    let k = self.string()?;
                    self.skip_ws();
                    self.expect(b':')?;
                    self.skip_ws();
                    let v = self.value(depth + 1)?;
                    members.push((k, v));
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Value::Object(members));
                        }
                        Some(_) => return Err(self.err("expected `,` or `}` in an object")),
                        None => return Err(self.err("unexpected end of input")),
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                loop {
                    self.skip_ws();
                    items.push(self.value(depth + 1)?);
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Value::Array(items));
                        }
                        Some(_) => return Err(self.err("expected `,` or `]` in an array")),
                        None => return Err(self.err("unexpected end of input")),
                    }
                }
            }
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("unexpected character")),
        }
    }

    fn literal(&mut self, word: &[u8], v: Value) -> Result<Value, ParseError> {
        let rest = &self.input[self.pos..];
        if rest.starts_with(word) {
            self.pos += word.len();
            Ok(v)
        } else if word.starts_with(rest) {
            self.pos = self.input.len();
            Err(self.err("unexpected end of input"))
        } else {
            Err(self.err("unexpected character"))
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Value, ParseError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.err("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.err("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.err("invalid number"));
            }
        }
        // The bytes are ASCII digits and signs, so this is valid UTF-8.
        let text = String::from_utf8_lossy(&self.input[start..self.pos]).into_owned();
        Ok(Value::Number(text))
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = match self.next() {
                Some(b @ b'0'..=b'9') => b - b'0',
                Some(b @ b'a'..=b'f') => b - b'a' + 10,
                Some(b @ b'A'..=b'F') => b - b'A' + 10,
                Some(_) => return Err(self.err_back("invalid `\\u` escape")),
                None => return Err(self.err("unexpected end of input")),
            };
            v = v * 16 + u32::from(d);
        }
        Ok(v)
    }

    fn string(&mut self) -> Result<String, ParseError> {
        match self.peek() {
            Some(b'"') => self.pos += 1,
            Some(_) => return Err(self.err("expected a string")),
            None => return Err(self.err("unexpected end of input")),
        }
        let mut out: Vec<u8> = Vec::new();
        loop {
            // Copy the run of plain bytes in one go.
            let start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.extend_from_slice(&self.input[start..self.pos]);
            match self.next() {
                None => return Err(self.err("unexpected end of input")),
                Some(b'"') => break,
                Some(b'\\') => match self.next() {
                    Some(b'"') => out.push(b'"'),
                    Some(b'\\') => out.push(b'\\'),
                    Some(b'/') => out.push(b'/'),
                    Some(b'b') => out.push(8),
                    Some(b'f') => out.push(12),
                    Some(b'n') => out.push(b'\n'),
                    Some(b'r') => out.push(b'\r'),
                    Some(b't') => out.push(b'\t'),
                    Some(b'u') => {
                        let hi = self.hex4()?;
                        let c = if (0xd800..0xdc00).contains(&hi) {
                            // A high surrogate: a low one should follow.
                            if self.input[self.pos..].starts_with(b"\\u") {
                                let save = self.pos;
                                self.pos += 2;
                                let lo = self.hex4()?;
                                if (0xdc00..0xe000).contains(&lo) {
                                    char::from_u32(0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00))
                                } else {
                                    self.pos = save;
                                    None
                                }
                            } else {
                                None
                            }
                        } else {
                            char::from_u32(hi)
                        };
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(
                            c.unwrap_or(char::REPLACEMENT_CHARACTER)
                                .encode_utf8(&mut buf)
                                .as_bytes(),
                        );
                    }
                    Some(_) => return Err(self.err_back("invalid escape")),
                    None => return Err(self.err("unexpected end of input")),
                },
                Some(_) => return Err(self.err_back("control character in a string")),
            }
        }
        // Invalid UTF-8 in the input becomes U+FFFD, as Falco shows it.
        Ok(match String::from_utf8(out) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_numbers_and_marshals_compactly() {
        let v =
            Value::parse(br#" { "b" : [1.0, -2e3, true, null], "a": {"x": "y\"z"} } "#).unwrap();
        assert_eq!(v.marshal(), r#"{"b":[1.0,-2e3,true,null],"a":{"x":"y\"z"}}"#);
        assert_eq!(v.get_path(&["b", "1"]).map(Value::to_text).as_deref(), Some("-2e3"));
    }

    #[test]
    fn escapes_like_go() {
        let mut out = String::new();
        escape_into("a\nb\u{1}\u{a0}é", &mut out);
        assert_eq!(out, "\"a\\nb\\x01\\u00a0é\"");
        out.clear();
        escape_into("plain é", &mut out);
        assert_eq!(out, "\"plain é\"");
    }

    #[test]
    fn unescapes_surrogates_and_bad_ones() {
        let v = Value::parse(br#""\ud83d\ude00 \ud800x""#).unwrap();
        assert_eq!(v.as_str(), Some("\u{1f600} \u{fffd}x"));
    }

    #[test]
    fn pointer_steps_into_arrays_and_unescapes() {
        let v = Value::parse(br#"{"a/b":{"~":[10,20]}}"#).unwrap();
        assert_eq!(v.pointer("/a~1b/~0/1").map(Value::to_text).as_deref(), Some("20"));
        assert_eq!(v.pointer("a~1b/~0/2"), None);
    }

    #[test]
    fn errors_say_where_and_whether_more_input_could_help() {
        let e = Value::parse(b"{\"a\": [1, 2").unwrap_err();
        assert!(e.eof, "{e:?}");
        let e = Value::parse(b"{\"a\": x}").unwrap_err();
        assert!(!e.eof);
        assert_eq!(e.offset, 6);
        assert!(Value::parse(b"{} {}").is_err());
        assert!(Value::parse(b"01").is_err());
        assert!(Value::parse(b"").unwrap_err().eof);
    }

    #[test]
    fn depth_is_bounded() {
        let deep = "[".repeat(MAX_DEPTH + 1);
        assert_eq!(Value::parse(deep.as_bytes()).unwrap_err().reason, "nesting too deep");
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH - 1), "]".repeat(MAX_DEPTH - 1));
        assert!(Value::parse(ok.as_bytes()).is_ok());
    }

    #[test]
    fn record_spans_are_the_written_text() {
        let input = br#"{"x": 1, "Records": [ {"a": "}"} , {"b":2} ], "y": [] }"#;
        let spans = member_array_spans(input, "Records").unwrap().unwrap();
        let texts: Vec<&[u8]> = spans.iter().map(|r| &input[r.clone()]).collect();
        assert_eq!(texts, [&br#"{"a": "}"}"#[..], br#"{"b":2}"#]);
        assert!(member_array_spans(br#"{"Records": [1,"#, "Records").is_err());
        assert_eq!(member_array_spans(br#"{"Records": []}"#, "Records").unwrap(), Some(vec![]));
        // JSON, but no `Records` array: told apart from an empty one.
        for other in [&b"[1]"[..], br#"{"awsAccountId": "1"}"#, br#"{"Records": {}}"#, b"{}"] {
            assert_eq!(member_array_spans(other, "Records").unwrap(), None);
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        // A small LCG: deterministic "fuzzing" of the parser on mutated JSON.
        let seed = br#"{"kind":"Event","a":[1,-2.5e3,"\u00e9\n",{"b":null}],"c":true}"#;
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let mut bytes = seed.to_vec();
            let n = (state >> 60) as usize + 1;
            for i in 0..n {
                let r = state.rotate_left(i as u32 * 7);
                let at = (r as usize) % bytes.len();
                match (r >> 32) % 3 {
                    0 => bytes[at] = (r >> 40) as u8,
                    1 => {
                        bytes.truncate(at);
                    }
                    _ => bytes.insert(at, (r >> 48) as u8),
                }
                if bytes.is_empty() {
                    break;
                }
            }
            if let Ok(v) = Value::parse(&bytes) {
                let again = Value::parse(v.marshal().as_bytes());
                // Marshalled output of parsed input is JSON again unless Go-style escapes
                // (`\x01`, `\a`) were needed.
                let m = v.marshal();
                if !["\\x", "\\a", "\\v", "\\U"].iter().any(|e| m.contains(e)) {
                    assert!(again.is_ok(), "{bytes:?}");
                }
            }
            let _ = member_array_spans(&bytes, "a");
        }
    }
}
