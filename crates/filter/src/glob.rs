//! `glob` and `iglob`: POSIX `fnmatch` without `FNM_PATHNAME` or `FNM_PERIOD`, as libs calls it,
//! so `*` also crosses `/` and a leading `.` is not special.

/// One element of a compiled pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    /// A byte that must match exactly (or case-insensitively).
    Byte(u8),
    /// `?`: any one byte.
    Any,
    /// `*`: any run of bytes.
    Star,
    /// `[...]`: one byte in (or, negated, not in) the ranges.
    Class { negated: bool, ranges: Vec<(u8, u8)> },
}

/// A compiled glob pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Glob {
    pieces: Vec<Piece>,
    fold_case: bool,
}

impl Glob {
    /// Compiles a pattern; `fold_case` for `iglob`.
    pub(crate) fn new(pattern: &[u8], fold_case: bool) -> Glob {
        let fold = |b: u8| if fold_case { b.to_ascii_lowercase() } else { b };
        let mut pieces = Vec::new();
        let mut i = 0;
        while i < pattern.len() {
            let c = pattern[i];
            match c {
                b'*' => {
                    if pieces.last() != Some(&Piece::Star) {
                        pieces.push(Piece::Star);
                    }
                }
                b'?' => pieces.push(Piece::Any),
                b'\\' if i + 1 < pattern.len() => {
                    i += 1;
                    pieces.push(Piece::Byte(fold(pattern[i])));
                }
                b'[' => match parse_class(&pattern[i..], fold_case) {
                    Some((piece, len)) => {
                        pieces.push(piece);
                        i += len;
                        continue;
                    }
                    // An unterminated `[` matches itself.
                    None => pieces.push(Piece::Byte(b'[')),
                },
                _ => pieces.push(Piece::Byte(fold(c))),
            }
            i += 1;
        }
        Glob { pieces, fold_case }
    }

    /// Whether the whole of `text` matches.
    pub(crate) fn matches(&self, text: &[u8]) -> bool {
        let fold = |b: u8| if self.fold_case { b.to_ascii_lowercase() } else { b };
        let (mut p, mut t) = (0, 0);
        // Where to resume after the last `*`: (piece after it, text position it absorbed to).
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            let ok = match self.pieces.get(p) {
                Some(Piece::Star) => {
                    star = Some((p + 1, t));
                    p += 1;
                    continue;
                }
                Some(Piece::Any) => true,
                Some(Piece::Byte(b)) => *b == fold(text[t]),
                Some(Piece::Class { negated, ranges }) => {
                    let c = fold(text[t]);
                    ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
                }
                None => false,
            };
            if ok {
                p += 1;
                t += 1;
            } else if let Some((sp, st)) = star {
                p = sp;
                t = st + 1;
                star = Some((sp, st + 1));
            } else {
                return false;
            }
        }
        self.pieces[p..].iter().all(|piece| *piece == Piece::Star)
    }
}

/// Parses `[...]` at the start of `pattern`; returns the class and its length in bytes.
fn parse_class(pattern: &[u8], fold_case: bool) -> Option<(Piece, usize)> {
    let mut i = 1;
    let negated = matches!(pattern.get(i), Some(b'!' | b'^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = *pattern.get(i)?;
        if c == b']' && !first {
            break;
        }
        first = false;
        let lo = if c == b'\\' {
            i += 1;
            *pattern.get(i)?
        } else {
            c
        };
        i += 1;
        let mut hi = lo;
        if pattern.get(i) == Some(&b'-') && pattern.get(i + 1).is_some_and(|&n| n != b']') {
            hi = pattern[i + 1];
            i += 2;
        }
        if fold_case {
            for b in lo..=hi {
                let l = b.to_ascii_lowercase();
                ranges.push((l, l));
            }
        } else {
            ranges.push((lo, hi));
        }
    }
    Some((Piece::Class { negated, ranges }, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Glob::new(p.as_bytes(), false).matches(t.as_bytes())
    }

    #[test]
    fn fnmatch_semantics() {
        assert!(m("*.log", "/var/log/syslog.log"));
        assert!(m("/etc/*", "/etc/ssh/sshd_config"), "no FNM_PATHNAME: * crosses /");
        assert!(m("/bin/?ash", "/bin/bash"));
        assert!(!m("/bin/?ash", "/bin/ash"));
        assert!(m("/dev/sd[a-c]", "/dev/sdb"));
        assert!(!m("/dev/sd[!a-c]", "/dev/sdb"));
        assert!(m("a\\*b", "a*b"));
        assert!(!m("a\\*b", "axb"));
        assert!(m("*", ""));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m("[", "["));
        assert!(m(".*", ".hidden"));
        assert!(Glob::new(b"*.LOG", true).matches(b"x.log"));
    }
}
