//! Where each key of the merged configuration was written: a file, line and column, or an
//! `-o` option.
//!
//! The tree itself is a `serde_yaml_ng` value, which keeps no positions; so each file is also
//! read once by `yaml-rust2`'s event parser, which marks every node, and the marks are kept
//! by key path (`webserver.listen_port`, `plugins[0].name`). Merging a drop-in moves its
//! paths where the merge put their values (an appended list item gets its new index), so a
//! message about the merged tree names the file and line that wrote the value.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Where a configuration value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A place in a file; line and column count from 1.
    File {
        /// The file, as named.
        file: Arc<str>,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// An `-o key=value` option.
    Option(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { file, line, column } => write!(f, "{file}:{line}:{column}"),
            Origin::Option(option) => write!(f, "-o {option}"),
        }
    }
}

/// Key paths to origins.
#[derive(Clone, Debug, Default)]
pub(crate) struct Positions {
    map: HashMap<String, Origin>,
}

impl Positions {
    /// The positions of every key and list item of a YAML file's first document. A file the
    /// event parser rejects gives no positions (serde's parser reports the syntax error).
    pub(crate) fn of_file(name: &str, text: &str) -> Positions {
        let mut indexer =
            Indexer { file: Arc::from(name), stack: Vec::new(), out: HashMap::new(), documents: 0 };
        let mut parser = Parser::new_from_str(text);
        if parser.load(&mut indexer, false).is_err() {
            return Positions::default();
        }
        Positions { map: indexer.out }
    }

    /// The origin of a path, or of the nearest enclosing path that has one.
    pub(crate) fn find(&self, path: &str) -> Option<&Origin> {
        let mut path = path;
        loop {
            if let Some(origin) = self.map.get(path) {
                return Some(origin);
            }
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }

    pub(crate) fn insert(&mut self, path: String, origin: Origin) {
        self.map.insert(path, origin);
    }

    /// Forgets `prefix` and everything below it.
    pub(crate) fn remove_under(&mut self, prefix: &str) {
        self.map.retain(|k, _| !is_under(k, prefix));
    }

    /// Takes the entries of `other` under `from`, renamed to be under `to`.
    pub(crate) fn take_under(&mut self, other: &Positions, from: &str, to: &str) {
        for (k, v) in &other.map {
            if is_under(k, from) {
                self.map.insert(format!("{to}{}", &k[from.len()..]), v.clone());
            }
        }
    }
}

/// Whether `path` is `prefix` or below it (`a.b` is under `a`; `ab` is not).
fn is_under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

/// A path joined with a map key.
pub(crate) fn child_key(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

/// A path joined with a list index.
pub(crate) fn child_index(path: &str, index: usize) -> String {
    format!("{path}[{index}]")
}

enum Frame {
    /// A mapping at a path; the key whose value comes next, if read.
    Map { path: String, key: Option<String> },
    /// A sequence at a path; the index of the next item.
    Seq { path: String, next: usize },
    /// A collection used as a key, or below one: not indexed.
    Skip,
}

struct Indexer {
    file: Arc<str>,
    stack: Vec<Frame>,
    out: HashMap<String, Origin>,
    documents: usize,
}

impl Indexer {
    fn origin(&self, m: Marker) -> Origin {
        Origin::File { file: self.file.clone(), line: m.line(), column: m.col() + 1 }
    }

    /// A node starts: returns its path (`None` for keys and skipped parts), recording the
    /// position of keys and list items.
    fn node(&mut self, m: Marker, scalar: Option<&str>) -> Option<String> {
        let origin = self.origin(m);
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Skip) => None,
            Some(Frame::Map { path, key }) => match key.take() {
                None => {
                    // A key. A collection as a key is skipped (marked by an empty key).
                    let name = scalar.map(str::to_owned);
                    let full = name.as_deref().map(|n| child_key(path, n));
                    *key = Some(name.unwrap_or_default());
                    if let Some(full) = full {
                        self.out.insert(full, origin);
                    }
                    None
                }
                Some(name) if name.is_empty() => None,
                Some(name) => Some(child_key(path, &name)),
            },
            Some(Frame::Seq { path, next }) => {
                let full = child_index(path, *next);
                *next += 1;
                self.out.insert(full.clone(), origin);
                Some(full)
            }
        }
    }

    /// Whether the next node of the top map is a key (used to tell key collections).
    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }
}

impl MarkedEventReceiver for Indexer {
    fn on_event(&mut self, ev: Event, m: Marker) {
        match ev {
            Event::DocumentStart => self.documents += 1,
            _ if self.documents > 1 => {}
            Event::Scalar(value, ..) => {
                self.node(m, Some(&value));
            }
            Event::Alias(_) => {
                self.node(m, Some(""));
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let is_key = self.expecting_key();
                let path = self.node(m, None);
                let frame = match (path, is_key, ev) {
                    (Some(path), false, Event::MappingStart(..)) => Frame::Map { path, key: None },
                    (Some(path), false, _) => Frame::Seq { path, next: 0 },
                    _ => Frame::Skip,
                };
                self.stack.push(frame);
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(p: &Positions, path: &str) -> String {
        p.find(path).map(ToString::to_string).unwrap_or_default()
    }

    #[test]
    fn keys_and_items_have_their_place() {
        let text = "a: 1\nweb:\n  port: 8765\n  tls: {on: true}\nlist:\n  - x\n  - name: y\n    v: [1, 2]\n";
        let p = Positions::of_file("f.yaml", text);
        assert_eq!(at(&p, "a"), "f.yaml:1:1");
        assert_eq!(at(&p, "web.port"), "f.yaml:3:3");
        assert_eq!(at(&p, "web.tls.on"), "f.yaml:4:9");
        assert_eq!(at(&p, "list[0]"), "f.yaml:6:5");
        assert_eq!(at(&p, "list[1].name"), "f.yaml:7:5");
        assert_eq!(at(&p, "list[1].v[1]"), "f.yaml:8:12");
        // the nearest enclosing path
        assert_eq!(at(&p, "web.port.deeper"), "f.yaml:3:3");
        assert!(p.find("nothing").is_none());
    }

    #[test]
    fn renaming_under_a_prefix() {
        let p = Positions::of_file("d.yaml", "l:\n  - a\n  - b\nlx: 1\n");
        let mut q = Positions::default();
        q.take_under(&p, "l", "l");
        q.remove_under("l[0]");
        let mut r = Positions::default();
        r.take_under(&p, "l[1]", "l[5]");
        assert_eq!(at(&r, "l[5]"), "d.yaml:3:5");
        assert!(q.find("l[0]").is_some_and(|o| o.to_string() == "d.yaml:1:1"));
        assert!(q.find("lx").is_none());
    }
}
