//! YAML text to a tree of nodes that remember where they were written.
//!
//! Falco reads rules files with yaml-cpp and reports positions from its node marks; serde-based
//! Rust YAML crates drop positions, so this module builds its own small tree from the event
//! parser of `yaml-rust2`, keeping the mark (byte offset, line, column) of every node.
//!
//! Limits keep hostile input from costing more than it is worth: nesting deeper than
//! [`MAX_DEPTH`] is an error (the tree is walked recursively later), and aliases may not expand
//! the document past [`MAX_NODES`] nodes ("billion laughs").

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Deepest nesting of sequences and mappings accepted.
pub(crate) const MAX_DEPTH: usize = 256;
/// Most nodes a document may expand to, aliases included.
pub(crate) const MAX_NODES: usize = 4_000_000;

/// Where a node starts: a byte offset, and the 0-based line and column Falco reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct Mark {
    /// Byte offset in the file.
    pub offset: usize,
    /// 0-based line.
    pub line: usize,
    /// 0-based column (in characters).
    pub column: usize,
}

/// Turns the parser's marks (character indexes) into byte offsets, lines and columns of the
/// original text. Positions are computed from the text, not taken from the parser's line
/// counts, so that the leniency pass of [`parse`] (which joins lines) does not move them.
struct Index<'t> {
    text: &'t str,
    /// Byte offset of every character, when the text is not ASCII.
    char_bytes: Option<Vec<usize>>,
    /// Byte offset of the start of every line.
    line_starts: Vec<usize>,
}

impl Index<'_> {
    fn new(text: &str) -> Index<'_> {
        let char_bytes = (!text.is_ascii()).then(|| text.char_indices().map(|(i, _)| i).collect());
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Index { text, char_bytes, line_starts }
    }

    fn mark(&self, m: Marker) -> Mark {
        let offset = match &self.char_bytes {
            None => m.index().min(self.text.len()),
            Some(b) => b.get(m.index()).copied().unwrap_or(self.text.len()),
        };
        self.at_byte(offset)
    }

    fn at_byte(&self, offset: usize) -> Mark {
        let line = self.line_starts.partition_point(|&s| s <= offset).saturating_sub(1);
        let start = self.line_starts[line];
        let column = self.text.get(start..offset).map_or(offset - start, |t| t.chars().count());
        Mark { offset, line, column }
    }
}

/// A YAML node.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub mark: Mark,
    pub kind: Kind,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Kind {
    /// `~`, `null`, or nothing at all.
    Null,
    /// A scalar, as text (YAML's own typing is left to the reader, as yaml-cpp does).
    Scalar(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The value of `key` in a mapping.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Map(entries) => {
                entries.iter().find(|(k, _)| k.scalar() == Some(key)).map(|(_, v)| v)
            }
            _ => None,
        }
    }

    pub(crate) fn scalar(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self.kind, Kind::Null)
    }

    pub(crate) fn is_map(&self) -> bool {
        matches!(self.kind, Kind::Map(_))
    }

    pub(crate) fn seq(&self) -> Option<&[Node]> {
        match &self.kind {
            Kind::Seq(items) => Some(items),
            _ => None,
        }
    }
}

/// A YAML syntax error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct YamlError {
    pub mark: Mark,
    pub message: String,
}

/// Parses every document of a stream. Empty documents are `Null` nodes.
///
/// yaml-cpp (Falco's parser) accepts flow collections whose closing bracket, or whose items,
/// sit at the indentation of the key that holds them:
///
/// ```yaml
/// - list: miner_domains
///   items: [
///     "a", "b"
///   ]
/// ```
///
/// YAML 1.2 wants such lines indented further, and so does `yaml-rust2` ("invalid
/// indentation"); the upstream sandbox rules file has them. On that error, when the line at
/// fault continues a flow collection (it starts with `]`/`}`, or the previous line ends with
/// `[`, `{` or `,`) and the previous line has no comment, the newline before it is replaced by
/// a space and the text parsed again. Byte offsets do not move, and positions are computed from
/// the original text, so diagnostics still point at what was written.
pub(crate) fn parse(text: &str) -> Result<Vec<Node>, YamlError> {
    let index = Index::new(text);
    // YAML text is printable characters only; the parser would read a NUL as the end of the
    // stream and load binary junk as an empty file.
    if let Some((i, c)) = text.char_indices().find(|&(_, c)| !is_yaml_printable(c)) {
        return Err(YamlError {
            mark: index.at_byte(i),
            message: format!("control character U+{:04X} is not allowed in YAML", u32::from(c)),
        });
    }
    let mut patched: Option<String> = None;
    // Each retry removes one newline, so this ends; the bound keeps hostile input cheap.
    for _ in 0..64 {
        let current = patched.as_deref().unwrap_or(text);
        let mut builder = Builder::new(&index);
        let mut parser = Parser::new_from_str(current);
        let result = parser.load(&mut builder, true);
        if let Some(e) = builder.error.take() {
            return Err(e);
        }
        match result {
            Ok(()) => return Ok(builder.docs),
            Err(e) => {
                let mark = index.mark(*e.marker());
                if e.info() == "invalid indentation"
                    && let Some(fixed) = join_flow_line(current, mark.offset)
                {
                    patched = Some(fixed);
                    continue;
                }
                return Err(YamlError { mark, message: e.info().to_owned() });
            }
        }
    }
    Err(YamlError { mark: Mark::default(), message: "too many badly indented flow lines".into() })
}

/// Whether YAML 1.2 allows a character in a stream (`c-printable`, plus the byte-order mark).
fn is_yaml_printable(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        || c >= '\u{10000}'
}

/// The text with the newline before the line holding `offset` replaced by a space, when that
/// line continues a flow collection and the line before has no comment.
fn join_flow_line(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n')? + 1;
    if !text[line_start..offset].bytes().all(|b| b == b' ' || b == b'\t') {
        return None;
    }
    let prev_start = text[..line_start - 1].rfind('\n').map_or(0, |i| i + 1);
    let prev = text[prev_start..line_start - 1].trim_end_matches('\r');
    if prev.contains('#') {
        return None;
    }
    let here = text[offset..].trim_start();
    let continues = here.starts_with([']', '}']) || prev.trim_end().ends_with(['[', '{', ',']);
    if !continues {
        return None;
    }
    let mut bytes = text.as_bytes().to_vec();
    bytes[line_start - 1] = b' ';
    if line_start >= 2 && bytes[line_start - 2] == b'\r' {
        bytes[line_start - 2] = b' ';
    }
    String::from_utf8(bytes).ok()
}

struct Builder<'i> {
    index: &'i Index<'i>,
    docs: Vec<Node>,
    /// Open collections: the node, and for a mapping a key waiting for its value.
    stack: Vec<(Node, Option<Node>)>,
    anchors: HashMap<usize, Node>,
    /// Anchor ids of the open collections, to register them once closed.
    open_anchors: Vec<usize>,
    nodes: usize,
    error: Option<YamlError>,
}

impl<'i> Builder<'i> {
    fn new(index: &'i Index<'i>) -> Builder<'i> {
        Builder {
            index,
            docs: Vec::new(),
            stack: Vec::new(),
            anchors: HashMap::new(),
            open_anchors: Vec::new(),
            nodes: 0,
            error: None,
        }
    }
}

fn count(node: &Node) -> usize {
    match &node.kind {
        Kind::Null | Kind::Scalar(_) => 1,
        Kind::Seq(items) => 1 + items.iter().map(count).sum::<usize>(),
        Kind::Map(entries) => 1 + entries.iter().map(|(k, v)| count(k) + count(v)).sum::<usize>(),
    }
}

impl Builder<'_> {
    fn fail(&mut self, mark: Mark, message: &str) {
        if self.error.is_none() {
            self.error = Some(YamlError { mark, message: message.to_owned() });
        }
    }

    /// Adds a finished node to its parent (or as a document).
    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some((parent, pending)) => match &mut parent.kind {
                Kind::Seq(items) => items.push(node),
                Kind::Map(entries) => match pending.take() {
                    None => *pending = Some(node),
                    Some(key) => entries.push((key, node)),
                },
                Kind::Null | Kind::Scalar(_) => {}
            },
        }
    }

    fn open(&mut self, mark: Mark, kind: Kind, anchor: usize) {
        if self.stack.len() >= MAX_DEPTH {
            self.fail(mark, &format!("nesting deeper than {MAX_DEPTH} levels"));
            return;
        }
        self.stack.push((Node { mark, kind }, None));
        self.open_anchors.push(anchor);
    }

    fn close(&mut self) {
        if let (Some((mut node, _)), Some(anchor)) = (self.stack.pop(), self.open_anchors.pop()) {
            // The parser marks a block mapping where its first value starts; yaml-cpp (and
            // people) place it at its first key.
            let first = match &node.kind {
                Kind::Map(entries) => entries.first().map(|(k, _)| k.mark),
                Kind::Seq(items) => items.first().map(|i| i.mark),
                _ => None,
            };
            if let Some(first) = first
                && first.offset < node.mark.offset
            {
                node.mark = first;
            }
            if anchor > 0 {
                self.anchors.insert(anchor, node.clone());
            }
            self.push(node);
        }
    }
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, ev: Event, marker: Marker) {
        if self.error.is_some() {
            return;
        }
        let mark = self.index.mark(marker);
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            self.fail(mark, "document too large");
            return;
        }
        match ev {
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
            Event::DocumentStart => {}
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(mut node) => {
                    self.nodes += count(&node);
                    if self.nodes > MAX_NODES {
                        self.fail(mark, "document too large (aliases expand too much)");
                        return;
                    }
                    node.mark = mark;
                    self.push(node);
                }
                None => self.fail(mark, "unknown anchor"),
            },
            Event::Scalar(value, style, anchor, tag) => {
                let null = style == TScalarStyle::Plain
                    && tag.is_none()
                    && matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL");
                let node = Node { mark, kind: if null { Kind::Null } else { Kind::Scalar(value) } };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push(node);
            }
            Event::SequenceStart(anchor, _) => self.open(mark, Kind::Seq(Vec::new()), anchor),
            Event::MappingStart(anchor, _) => self.open(mark, Kind::Map(Vec::new()), anchor),
            Event::SequenceEnd | Event::MappingEnd => self.close(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_positions() {
        let docs = parse("- rule: a\n  desc: != b\n  comps: [=, in]\n").unwrap();
        assert_eq!(docs.len(), 1);
        let item = &docs[0].seq().unwrap()[0];
        assert_eq!(item.mark, Mark { offset: 2, line: 0, column: 2 });
        assert_eq!(item.get("desc").unwrap().scalar(), Some("b"));
        let comps = item.get("comps").unwrap().seq().unwrap();
        assert_eq!(comps[0].scalar(), Some("="));
        assert_eq!(item.get("comps").unwrap().mark.line, 2);
    }

    #[test]
    fn flow_lines_at_the_key_indentation() {
        let text = "- list: l\n  items: [\n    \"a\",\n    \"b\"\n  ]\n- list: m\n  items: [x]\n";
        let docs = parse(text).unwrap();
        let items = docs[0].seq().unwrap();
        assert_eq!(items[0].get("items").unwrap().seq().unwrap().len(), 2);
        assert_eq!(items[1].mark, Mark { offset: 44, line: 5, column: 2 });
    }

    #[test]
    fn positions_count_characters() {
        let docs = parse("- rule: é\n  desc: x\n").unwrap();
        let desc = docs[0].seq().unwrap()[0].get("desc").unwrap();
        assert_eq!(desc.mark, Mark { offset: 19, line: 1, column: 8 });
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let text = "[".repeat(100_000);
        assert!(parse(&text).is_err());
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..12 {
            let prev = if i == 0 { "a".to_owned() } else { format!("a{}", i - 1) };
            text.push_str(&format!(
                "a{i}: &a{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        assert!(parse(&text).is_err());
    }
}
