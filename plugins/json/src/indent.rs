//! Go's `json.Indent(dst, src, "", "  ")`, which the upstream plugin uses for `json.obj`.

use lanner_plugin_jsontree::{ParseError, Value};

/// Re-indents a JSON text the way Go's `json.Indent` does with an empty prefix and two
/// spaces: tokens are copied as written (strings keep their escapes, numbers their form),
/// each member and element on its own line, `": "` after keys, empty `{}` and `[]` kept
/// together, leading whitespace dropped and trailing whitespace kept.
pub fn indent(src: &[u8]) -> Result<String, ParseError> {
    // Validate first, as Go does: invalid input gives an error, not half an output.
    Value::parse(src)?;
    let mut out: Vec<u8> = Vec::with_capacity(src.len() * 2);
    let mut depth = 0usize;
    let mut need_indent = false; // a `{` or `[` was just written
    let mut i = 0;
    let start =
        src.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r')).unwrap_or(src.len());
    let end =
        src.iter().rposition(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r')).map_or(0, |p| p + 1);
    i += start;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        for _ in 0..depth {
            out.extend_from_slice(b"  ");
        }
    };
    while i < end {
        let c = src[i];
        if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
            continue;
        }
        if need_indent && c != b']' && c != b'}' {
            need_indent = false;
            depth += 1;
            newline(&mut out, depth);
        }
        match c {
            b'"' => {
                let s = i;
                i += 1;
                while i < end {
                    match src[i] {
                        b'\\' => i += 2,
                        b'"' => {
                            i += 1;
                            break;
                        }
                        _ => i += 1,
                    }
                }
                out.extend_from_slice(&src[s..i.min(end)]);
                continue;
            }
            b'{' | b'[' => {
                out.push(c);
                need_indent = true;
            }
            b',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            b'}' | b']' => {
                if need_indent {
                    // an empty object or array
                    need_indent = false;
                } else {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                }
                out.push(c);
            }
            _ => out.push(c),
        }
        i += 1;
    }
    out.extend_from_slice(&src[end.max(start)..]);
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::indent;

    #[test]
    fn indents_like_go() {
        let got = indent(br#" {"a":[1, {"b":"x\"}"}],"e":{},"f":[]} "#).unwrap();
        let want = "{\n  \"a\": [\n    1,\n    {\n      \"b\": \"x\\\"}\"\n    }\n  ],\n  \"e\": {},\n  \"f\": []\n} ";
        assert_eq!(got, want);
        assert_eq!(indent(b"[]").unwrap(), "[]");
        assert!(indent(b"{").is_err());
    }
}
