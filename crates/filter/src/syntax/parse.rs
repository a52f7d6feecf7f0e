//! The parser: libs' recursive descent, step for step.
//!
//! The grammar of the filter language is defined by libs' `filter/parser.cpp` more than by its
//! EBNF comment: which blanks count, what a bare string may hold, where a keyword needs a blank
//! after it, what a failed attempt leaves consumed. Rules files depend on all of it, so this
//! parser follows the same sequence of attempts, function for function, with the same side
//! effects on the cursor, rather than a cleaner grammar of our own. The places where that
//! reproduces something odd are marked `libs quirk` below; each is kept on purpose, because a
//! rule that loads in Falco must load here and mean the same, and one that fails there must
//! fail here.
//!
//! The lexical classes are libs' POSIX regular expressions, matched by hand (each is a simple
//! run of a character class, where the longest match libs' RE2 finds is the greedy one):
//!
//! | token | libs regex |
//! |---|---|
//! | identifier | `[a-zA-Z]+[a-zA-Z0-9_]*` |
//! | field name | `[a-zA-Z]+[a-zA-Z0-9_]*(\.[a-zA-Z]+[a-zA-Z0-9_]*)+` |
//! | bare string | `[^()"'[:space:]=,]+` |
//! | bare field argument | `[^][\"'[:space:]]+` |
//! | number | `[+\-]?[0-9]+[\.]?[0-9]*([eE][+\-][0-9]+)?` |
//! | hex number | `0[xX][0-9a-fA-F]+` |
//! | `not` keyword | `not[[:space:]]+` |
//!
//! Two notions of whitespace coexist, as in libs: a *blank* (what separates tokens) is space,
//! tab, backspace, CR or LF, while `[:space:]` in the regexes is space, tab, LF, VT, FF or CR.
//!
//! Recursion is bounded: the same parsing functions as in libs count themselves against the
//! depth limit on entry (so the same inputs hit the limit), every cycle of recursion goes
//! through at least one of them, and the limit itself is capped
//! ([`Parser::MAX_DEPTH_CEILING`]) at a depth whose stack use was measured. The recursive
//! functions keep their frames small (boxed nodes, out-of-line helpers for the branches that
//! do not recurse) because that, times the limit, is the stack a parse may take.

use std::cell::Cell;

use super::ast::{
    Check, Expr, Field, FieldArg, Ident, List, Logical, Modifier, ModifierKind, Not, OpKind,
    Operand, Operator, Rhs, Span, Style, Transformer, TransformerArg, TransformerKind,
    TransformerList, Val, Value,
};
use super::error::{ErrorKind, ParseError, Position};
use super::escape::unescape;

/// Parses conditions.
///
/// A `Parser` only holds settings; it can be shared and reused. The default depth limit is
/// libs' (100); Falco's rule loader raises it to 1000 ([`Parser::RULES_MAX_DEPTH`]).
///
/// ```
/// use lanner_filter::syntax::Parser;
///
/// let mut parser = Parser::new();
/// parser.set_max_depth(Parser::RULES_MAX_DEPTH);
/// let expr = parser.parse("evt.type = open and proc.name in (cat, ls)")?;
/// assert_eq!(expr.to_string(), "(evt.type = open and proc.name in (cat, ls))");
/// # Ok::<(), lanner_filter::syntax::ParseError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Parser {
    max_depth: u32,
}

impl Default for Parser {
    fn default() -> Parser {
        Parser::new()
    }
}

impl Parser {
    /// libs' default depth limit.
    pub const DEFAULT_MAX_DEPTH: u32 = 100;

    /// The depth limit Falco's rule loader sets for conditions.
    pub const RULES_MAX_DEPTH: u32 = 1000;

    /// The highest depth limit [`Parser::set_max_depth`] accepts: Falco's. The limit is what
    /// bounds the recursion, and at this one the deepest inputs (nested `join` lists, the
    /// costliest shape) take about 1.5 MiB of stack in a debug build and 0.6 MiB in a release
    /// build (measured with rustc 1.95), inside the 2 MiB Rust gives a spawned thread. libs
    /// takes any limit; nothing in Falco sets more than this.
    pub const MAX_DEPTH_CEILING: u32 = Parser::RULES_MAX_DEPTH;

    /// A parser with libs' default depth limit.
    pub fn new() -> Parser {
        Parser { max_depth: Parser::DEFAULT_MAX_DEPTH }
    }

    /// Sets the depth limit: how deeply parsing may recurse before it fails with
    /// [`ErrorKind::MaxDepth`]. The count is libs': each parenthesis level costs five, each
    /// check a few more, so the default of 100 admits 19 levels of parentheses around a macro
    /// name, and Falco's 1000 admits 199.
    ///
    /// Limits above [`Parser::MAX_DEPTH_CEILING`] are lowered to it, so that no input can
    /// overflow the stack.
    pub fn set_max_depth(&mut self, max_depth: u32) -> &mut Parser {
        self.max_depth = max_depth.min(Parser::MAX_DEPTH_CEILING);
        self
    }

    /// The depth limit in force.
    pub fn max_depth(&self) -> u32 {
        self.max_depth
    }

    /// Parses a whole condition. Blanks before and after are allowed; anything else left over
    /// is an error.
    pub fn parse(&self, input: &str) -> Result<Expr, ParseError> {
        if input.is_empty() {
            return Err(ParseError {
                kind: ErrorKind::EmptyInput,
                position: Position::of(input, 0),
            });
        }
        let depth = Cell::new(0);
        let mut state = State::new(input, &depth, self.max_depth);
        let result = match state.parse_or() {
            Ok(expr) if state.pos == input.len() => Ok(expr),
            Ok(_) => {
                let last = state.last_token();
                state.fail(ErrorKind::TrailingInput { last })
            }
            Err(failure) => Err(failure),
        };
        result.map_err(|failure| ParseError {
            kind: failure.kind,
            position: Position::of(input, failure.offset),
        })
    }
}

impl Parser {
    /// Parses a field or a transformer expression at the start of `input` (`proc.aname[2]`,
    /// `tolower(proc.name)`) and returns it with the number of bytes it took; what follows
    /// is left alone. This is libs' `parse_field_or_transformer`, the entry point its output
    /// formatter uses for the text after a `%`.
    ///
    /// ```
    /// use lanner_filter::syntax::{Operand, Parser};
    ///
    /// let (op, len) = Parser::new().parse_field_or_transformer("proc.name) rest").unwrap();
    /// assert_eq!(len, 9);
    /// assert!(matches!(op, Operand::Field(f) if f.name == "proc.name"));
    /// ```
    pub fn parse_field_or_transformer(&self, input: &str) -> Result<(Operand, usize), ParseError> {
        let depth = Cell::new(0);
        let mut state = State::new(input, &depth, self.max_depth);
        let result = state.parse_field_or_transformer().map(|op| (op, state.pos));
        result.map_err(|failure| ParseError {
            kind: failure.kind,
            position: Position::of(input, failure.offset),
        })
    }
}

/// A failure inside the parser: what, and the cursor when it happened.
struct Failure {
    kind: ErrorKind,
    offset: usize,
}

type PResult<T> = Result<T, Failure>;

/// The last token read, which libs quotes in "unexpected token after '…'".
#[derive(Clone, Copy)]
enum LastToken {
    /// Its text is the input's text.
    Raw(Span),
    /// A quoted string; libs quotes its unescaped content.
    Quoted(Span),
}

/// Operators of each class, in the order libs tries them, with whether a blank must follow.
/// The order matters: `intersects` before `in`, `<=` before `<`, `==` before `=`.
const UNARY_OPS: &[(OpKind, bool)] = &[(OpKind::Exists, false)];
const NUM_OPS: &[(OpKind, bool)] =
    &[(OpKind::Le, false), (OpKind::Lt, false), (OpKind::Ge, false), (OpKind::Gt, false)];
const STR_OPS: &[(OpKind, bool)] = &[
    (OpKind::EqEq, false),
    (OpKind::Eq, false),
    (OpKind::Ne, false),
    (OpKind::Glob, true),
    (OpKind::IGlob, true),
    (OpKind::Contains, true),
    (OpKind::IContains, true),
    (OpKind::BContains, true),
    (OpKind::StartsWith, true),
    (OpKind::BStartsWith, true),
    (OpKind::EndsWith, true),
    (OpKind::Regex, true),
];
const LIST_OPS: &[(OpKind, bool)] =
    &[(OpKind::Intersects, false), (OpKind::In, false), (OpKind::PMatch, false)];

const MODIFIERS: [ModifierKind; 3] =
    [ModifierKind::OneOf, ModifierKind::AnyOf, ModifierKind::AllOf];

/// What separates tokens: libs' `lex_blank` (note the backspace, and no VT or FF).
fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\x08' | b'\r' | b'\n')
}

/// POSIX `[:space:]`, as used inside libs' regexes.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Length of the `[a-zA-Z]+[a-zA-Z0-9_]*` match at the start of `s`, 0 if none.
fn match_identifier(s: &[u8]) -> usize {
    match s.first() {
        Some(b) if b.is_ascii_alphabetic() => {
            1 + s[1..].iter().take_while(|&&b| is_ident_char(b)).count()
        }
        _ => 0,
    }
}

/// Length of the field-name match: identifiers joined by dots, at least two of them.
fn match_field_name(s: &[u8]) -> usize {
    let mut n = match_identifier(s);
    if n == 0 {
        return 0;
    }
    let mut segments = 0;
    while s.get(n) == Some(&b'.') {
        let next = match_identifier(&s[n + 1..]);
        if next == 0 {
            break;
        }
        n += 1 + next;
        segments += 1;
    }
    if segments == 0 { 0 } else { n }
}

fn run_of(s: &[u8], allowed: impl Fn(u8) -> bool) -> usize {
    s.iter().take_while(|&&b| allowed(b)).count()
}

/// `[^()"'[:space:]=,]+`.
fn match_bare_str(s: &[u8]) -> usize {
    run_of(s, |b| !matches!(b, b'(' | b')' | b'"' | b'\'' | b'=' | b',') && !is_space(b))
}

/// `[^][\"'[:space:]]+`.
fn match_field_arg_bare_str(s: &[u8]) -> usize {
    run_of(s, |b| !matches!(b, b'[' | b']' | b'"' | b'\'') && !is_space(b))
}

/// `0[xX][0-9a-fA-F]+`.
fn match_hex_number(s: &[u8]) -> usize {
    if s.len() > 2 && s[0] == b'0' && (s[1] == b'x' || s[1] == b'X') {
        let digits = run_of(&s[2..], |b| b.is_ascii_hexdigit());
        if digits > 0 {
            return 2 + digits;
        }
    }
    0
}

/// `[+\-]?[0-9]+[\.]?[0-9]*([eE][+\-][0-9]+)?`.
fn match_number(s: &[u8]) -> usize {
    let mut n = usize::from(matches!(s.first(), Some(b'+' | b'-')));
    let int = run_of(&s[n..], |b| b.is_ascii_digit());
    if int == 0 {
        return 0;
    }
    n += int;
    if s.get(n) == Some(&b'.') {
        n += 1;
    }
    n += run_of(&s[n..], |b| b.is_ascii_digit());
    // The exponent needs its sign: `1e5` is the number `1` followed by `e5`.
    if matches!(s.get(n), Some(b'e' | b'E')) && matches!(s.get(n + 1), Some(b'+' | b'-')) {
        let exp = run_of(&s[n + 2..], |b| b.is_ascii_digit());
        if exp > 0 {
            n += 2 + exp;
        }
    }
    n
}

/// `not[[:space:]]+`.
fn match_not_blank(s: &[u8]) -> usize {
    if s.starts_with(b"not") {
        let spaces = run_of(&s[3..], is_space);
        if spaces > 0 {
            return 3 + spaces;
        }
    }
    0
}

/// The cursor over one input, and what libs keeps alongside it.
struct State<'a> {
    input: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// The recursion depth, outside the state so that a [`DepthGuard`] can hold it while the
    /// parsing functions borrow the state mutably.
    depth: &'a Cell<u32>,
    max_depth: u32,
    last: LastToken,
    /// Where the last token read ends: the end of the node just parsed, without the blanks
    /// the parser may have skipped after it.
    token_end: usize,
}

/// One level of recursion, given back on drop.
struct DepthGuard<'a> {
    depth: &'a Cell<u32>,
}

impl Drop for DepthGuard<'_> {
    fn drop(&mut self) {
        self.depth.set(self.depth.get() - 1);
    }
}

impl<'a> State<'a> {
    fn new(input: &'a str, depth: &'a Cell<u32>, max_depth: u32) -> State<'a> {
        State {
            input,
            bytes: input.as_bytes(),
            pos: 0,
            depth,
            max_depth,
            last: LastToken::Raw(Span::new(0, 0)),
            token_end: 0,
        }
    }

    fn fail<T>(&self, kind: ErrorKind) -> PResult<T> {
        Err(Failure { kind, offset: self.pos })
    }

    fn rest(&self) -> &'a [u8] {
        &self.bytes[self.pos..]
    }

    fn text(&self, span: Span) -> String {
        span.text(self.input).to_owned()
    }

    fn last_token(&self) -> String {
        match self.last {
            LastToken::Raw(span) => self.text(span),
            // It unescaped once already, when it was read.
            LastToken::Quoted(span) => unescape(span.text(self.input)).unwrap_or_default(),
        }
    }

    /// Enters one level deeper, failing if that level reaches the limit. Like libs'
    /// `depth_guard`, the returned guard gives the level back when dropped, however the caller
    /// returns. It borrows the counter, not the state, so the caller keeps using `self`.
    fn enter(&self) -> PResult<DepthGuard<'a>> {
        let depth = self.depth.get() + 1;
        self.depth.set(depth);
        let guard = DepthGuard { depth: self.depth };
        if depth >= self.max_depth {
            return self.fail(ErrorKind::MaxDepth(self.max_depth));
        }
        Ok(guard)
    }

    // ---- lexing ---------------------------------------------------------------------------

    /// Skips blanks; whether there were any. The only lexer that leaves the last token alone.
    fn lex_blank(&mut self) -> bool {
        let n = run_of(self.rest(), is_blank);
        self.pos += n;
        n > 0
    }

    /// Consumes a token of `len` bytes (if `len` > 0) and makes it the last token.
    fn take(&mut self, len: usize) -> Option<Span> {
        if len == 0 {
            return None;
        }
        let span = Span::new(self.pos, self.pos + len);
        self.pos += len;
        self.token_end = self.pos;
        self.last = LastToken::Raw(span);
        Some(span)
    }

    fn lex_str(&mut self, s: &str) -> bool {
        let len = if self.rest().starts_with(s.as_bytes()) { s.len() } else { 0 };
        self.take(len).is_some()
    }

    fn lex_identifier(&mut self) -> Option<Ident> {
        let span = self.take(match_identifier(self.rest()))?;
        Some(Ident { span, name: self.text(span) })
    }

    fn lex_field_name(&mut self) -> Option<Span> {
        self.take(match_field_name(self.rest()))
    }

    fn lex_not_blank(&mut self) -> bool {
        self.take(match_not_blank(self.rest())).is_some()
    }

    fn value(&self, span: Span, style: Style) -> Value {
        let raw = self.text(span);
        Value { span, style, text: raw.clone(), raw }
    }

    fn lex_bare_str(&mut self) -> Option<Value> {
        let span = self.take(match_bare_str(self.rest()))?;
        Some(self.value(span, Style::Bare))
    }

    fn lex_field_arg_bare_str(&mut self) -> Option<Value> {
        let span = self.take(match_field_arg_bare_str(self.rest()))?;
        Some(self.value(span, Style::Bare))
    }

    /// libs' `lex_hex_num() || lex_num()`.
    fn lex_number(&mut self) -> Option<Value> {
        if let Some(span) = self.take(match_hex_number(self.rest())) {
            return Some(self.value(span, Style::HexNumber));
        }
        let span = self.take(match_number(self.rest()))?;
        Some(self.value(span, Style::Number))
    }

    /// A quoted string at the cursor. The string ends at the first quote of its kind that
    /// does not follow a backslash (libs quirk: so `"a\\"` does not end at its last quote,
    /// the backslash before it being itself escaped). An unterminated string (or one cut by a
    /// NUL byte, where libs' C string ends) is no string and consumes nothing; a terminated
    /// one with a bad escape is an error, reported after its closing quote.
    fn lex_quoted_str(&mut self) -> PResult<Option<Value>> {
        let start = self.pos;
        let (delimiter, style) = match self.bytes.get(start) {
            Some(b'\'') => (b'\'', Style::SingleQuoted),
            Some(b'"') => (b'"', Style::DoubleQuoted),
            _ => return Ok(None),
        };
        // libs starts with `prev` set to a backslash, so the opening quote cannot close.
        let mut prev = b'\\';
        let mut i = start;
        while let Some(&b) = self.bytes.get(i) {
            if b == 0 {
                break;
            }
            if b == delimiter && prev != b'\\' {
                let span = Span::new(start, i + 1);
                self.pos = span.end;
                self.token_end = span.end;
                self.last = LastToken::Raw(span);
                let raw = self.text(span);
                let text = match unescape(&raw) {
                    Ok(text) => text,
                    Err(e) => return self.fail(e.into()),
                };
                self.last = LastToken::Quoted(span);
                return Ok(Some(Value { span, style, text, raw }));
            }
            prev = b;
            i += 1;
        }
        self.last = LastToken::Raw(Span::new(start, i));
        Ok(None)
    }

    /// An operator from `ops`, tried in order. libs quirk: a word operator that matches but is
    /// not followed by a blank ends the search with no operator, *after* consuming the word,
    /// so the next class of operators is tried after it (`a.b containsin (x)` is an `in`
    /// check).
    fn lex_operator(&mut self, ops: &[(OpKind, bool)]) -> Option<Operator> {
        for &(kind, needs_blank) in ops {
            let start = self.pos;
            if self.lex_str(kind.as_str()) {
                let op = Operator { span: Span::new(start, self.pos), kind };
                if needs_blank && !self.lex_blank() {
                    return None;
                }
                return Some(op);
            }
        }
        None
    }

    /// A transformer name with its `(`; the span is the name's.
    fn lex_transformer(&mut self) -> Option<(TransformerKind, Span)> {
        for kind in TransformerKind::ALL {
            let name = kind.as_str();
            let rest = self.rest();
            if rest.starts_with(name.as_bytes()) && rest.get(name.len()) == Some(&b'(') {
                let span = Span::new(self.pos, self.pos + name.len());
                self.pos = span.end + 1;
                self.token_end = self.pos;
                // libs drops the '(' from its last token.
                self.last = LastToken::Raw(span);
                return Some((kind, span));
            }
        }
        None
    }

    // ---- parsing --------------------------------------------------------------------------

    fn parse_or(&mut self) -> PResult<Expr> {
        let _depth = self.enter()?;
        self.lex_blank();
        let mut operands = Operands::new(self.pos);
        let mut parenthesized = false;
        loop {
            let child =
                if parenthesized { self.parse_embedded_remainder()? } else { self.parse_and()? };
            operands.push(child, self.token_end);
            self.lex_blank();
            if !self.lex_str("or") {
                return Ok(operands.finish(Expr::Or));
            }
            parenthesized = self.after_keyword("or")?;
        }
    }

    fn parse_and(&mut self) -> PResult<Expr> {
        let _depth = self.enter()?;
        self.lex_blank();
        let mut operands = Operands::new(self.pos);
        let mut parenthesized = false;
        loop {
            let child =
                if parenthesized { self.parse_embedded_remainder()? } else { self.parse_not()? };
            operands.push(child, self.token_end);
            self.lex_blank();
            if !self.lex_str("and") {
                return Ok(operands.finish(Expr::And));
            }
            parenthesized = self.after_keyword("and")?;
        }
    }

    /// After `and`/`or`: a blank (then an operand follows) or `(` (then a parenthesized
    /// expression does; `true`). Anything else is an error.
    #[inline(never)]
    fn after_keyword(&mut self, keyword: &'static str) -> PResult<bool> {
        if self.lex_blank() {
            Ok(false)
        } else if self.lex_str("(") {
            Ok(true)
        } else {
            self.fail(ErrorKind::ExpectedBlankOrParen { keyword })
        }
    }

    fn parse_not(&mut self) -> PResult<Expr> {
        let _depth = self.enter()?;
        self.lex_blank();
        let start = self.pos;
        let mut count = 0u32;
        while self.lex_not_blank() {
            count += 1;
        }
        let child = if self.lex_str("not(") {
            count += 1;
            self.parse_embedded_remainder()?
        } else {
            self.parse_check()?
        };
        if count == 0 {
            return Ok(child);
        }
        Ok(Expr::Not(Not { span: Span::new(start, self.token_end), count, child: Box::new(child) }))
    }

    /// The rest of a parenthesized expression, its `(` read.
    fn parse_embedded_remainder(&mut self) -> PResult<Expr> {
        let _depth = self.enter()?;
        self.lex_blank();
        let child = self.parse_or()?;
        self.lex_blank();
        if !self.lex_str(")") {
            return self.fail(ErrorKind::ExpectedCloseParen);
        }
        Ok(child)
    }

    /// libs' `parse_field_or_transformer`: a field, or a transformer call, and nothing else.
    fn parse_field_or_transformer(&mut self) -> PResult<Operand> {
        let _depth = self.enter()?;
        if let Some(name) = self.lex_field_name() {
            return self.parse_field_remainder(name).map(Operand::Field);
        }
        if let Some((kind, name)) = self.lex_transformer() {
            self.lex_blank();
            let t = self.parse_transformer_remainder(kind, name)?;
            return Ok(Operand::Transformer(Box::new(t)));
        }
        self.fail(ErrorKind::ExpectedFieldOrTransformer)
    }

    fn parse_check(&mut self) -> PResult<Expr> {
        let _depth = self.enter()?;
        self.lex_blank();
        let start = self.pos;
        if self.lex_str("(") {
            return self.parse_embedded_remainder();
        }
        if let Some(name) = self.lex_field_name() {
            return self.parse_field_check(name, start);
        }
        if let Some((kind, name)) = self.lex_transformer() {
            return self.parse_transformer_check(kind, name, start);
        }
        if let Some(ident) = self.lex_identifier() {
            return Ok(Expr::Macro(ident));
        }
        self.fail(ErrorKind::ExpectedCheck)
    }

    /// A check on a field whose name has been read. Kept out of [`State::parse_check`] so
    /// that the field and operand temporaries are not on the stack of every parenthesis
    /// level (in debug builds each local has its own slot).
    #[inline(never)]
    fn parse_field_check(&mut self, name: Span, start: usize) -> PResult<Expr> {
        let field = self.parse_field_remainder(name)?;
        self.parse_condition(Operand::Field(field), start)
    }

    /// A check on a transformer whose name and `(` have been read; see
    /// [`State::parse_field_check`].
    #[inline(never)]
    fn parse_transformer_check(
        &mut self,
        kind: TransformerKind,
        name: Span,
        start: usize,
    ) -> PResult<Expr> {
        self.lex_blank();
        let transformer = self.parse_transformer_remainder(kind, name)?;
        self.parse_condition(Operand::Transformer(Box::new(transformer)), start)
    }

    /// A field whose name has been read: its optional `[arg]`.
    fn parse_field_remainder(&mut self, name_span: Span) -> PResult<Field> {
        let _depth = self.enter()?;
        let arg = self.parse_bracket_arg()?;
        Ok(Field {
            span: Span::new(name_span.start, self.pos),
            name: self.text(name_span),
            name_span,
            arg,
        })
    }

    /// `[arg]` right at the cursor, if there is a `[`.
    fn parse_bracket_arg(&mut self) -> PResult<Option<Box<FieldArg>>> {
        let start = self.pos;
        if !self.lex_str("[") {
            return Ok(None);
        }
        let value = match self.lex_quoted_str()? {
            Some(value) => value,
            None => match self.lex_field_arg_bare_str() {
                Some(value) => value,
                None => return self.fail(ErrorKind::ExpectedFieldArg),
            },
        };
        if !self.lex_str("]") {
            return self.fail(ErrorKind::ExpectedCloseBracket);
        }
        Ok(Some(Box::new(FieldArg { span: Span::new(start, self.pos), value })))
    }

    /// A transformer whose name and `(` have been read: its arguments, `)`, and an optional
    /// `[arg]` (the `getopt(…)[c]` selector).
    fn parse_transformer_remainder(
        &mut self,
        kind: TransformerKind,
        name: Span,
    ) -> PResult<Transformer> {
        let _depth = self.enter()?;
        self.lex_blank();
        let mut args = Vec::new();
        loop {
            args.push(self.parse_transformer_arg()?);
            self.lex_blank();
            if !self.lex_str(",") {
                break;
            }
        }
        self.finish_transformer(kind, name, args)
    }

    /// The `)` and optional `[arg]` ending a transformer call.
    #[inline(never)]
    fn finish_transformer(
        &mut self,
        kind: TransformerKind,
        name: Span,
        args: Vec<TransformerArg>,
    ) -> PResult<Transformer> {
        self.lex_blank();
        if !self.lex_str(")") {
            return self.fail(ErrorKind::ExpectedTransformerClose);
        }
        let arg = self.parse_bracket_arg()?;
        Ok(Transformer { span: Span::new(name.start, self.pos), kind, name_span: name, args, arg })
    }

    fn parse_transformer_arg(&mut self) -> PResult<TransformerArg> {
        let _depth = self.enter()?;
        self.lex_blank();
        // libs tries a number, a quoted string, `(`, a transformer and a field, in this order;
        // their first characters exclude one another, so the grouping below is equivalent.
        if let Some(arg) = self.lex_literal_arg()? {
            return Ok(arg);
        }
        let start = self.pos;
        if self.lex_str("(") {
            return self.parse_transformer_list(start);
        }
        // No blank skipped here after the '(': the remainder skips it.
        if let Some((kind, name)) = self.lex_transformer() {
            return self.parse_nested_transformer(kind, name);
        }
        if let Some(name) = self.lex_field_name() {
            return self.parse_field_arg(name);
        }
        self.fail(ErrorKind::ExpectedTransformerArg)
    }

    // The helpers below are out of line so that the frames of the recursive functions hold
    // one small temporary per call instead of every branch's (debug builds give each local a
    // slot of its own); see `Parser::MAX_DEPTH_CEILING` for what the recursion costs.

    /// A quoted string or a number, as a transformer argument or list element.
    #[inline(never)]
    fn lex_literal_arg(&mut self) -> PResult<Option<TransformerArg>> {
        if let Some(value) = self.lex_quoted_str()? {
            return Ok(Some(TransformerArg::Value(value)));
        }
        Ok(self.lex_number().map(TransformerArg::Value))
    }

    #[inline(never)]
    fn parse_nested_transformer(
        &mut self,
        kind: TransformerKind,
        name: Span,
    ) -> PResult<TransformerArg> {
        self.parse_transformer_remainder(kind, name)
            .map(|t| TransformerArg::Transformer(Box::new(t)))
    }

    #[inline(never)]
    fn parse_field_arg(&mut self, name: Span) -> PResult<TransformerArg> {
        self.parse_field_remainder(name).map(TransformerArg::Field)
    }

    /// A transformer list whose `(` (at `start`) has been read. Not depth-counted in libs; its
    /// elements can only recurse through transformers, which are.
    fn parse_transformer_list(&mut self, start: usize) -> PResult<TransformerArg> {
        self.lex_blank();
        let mut items = Vec::new();
        if !self.lex_str(")") {
            loop {
                items.push(self.parse_transformer_list_arg()?);
                self.lex_blank();
                if !self.lex_str(",") {
                    break;
                }
                self.lex_blank();
            }
            if !self.lex_str(")") {
                return self.fail(ErrorKind::ExpectedTransformerListClose);
            }
        }
        Ok(TransformerArg::List(TransformerList { span: Span::new(start, self.pos), items }))
    }

    fn parse_transformer_list_arg(&mut self) -> PResult<TransformerArg> {
        if let Some(name) = self.lex_field_name() {
            return self.parse_field_arg(name);
        }
        if let Some((kind, name)) = self.lex_transformer() {
            self.lex_blank();
            return self.parse_nested_transformer(kind, name);
        }
        // libs: a quoted string, then a number.
        if let Some(arg) = self.lex_literal_arg()? {
            return Ok(arg);
        }
        self.fail(ErrorKind::ExpectedTransformerListArg)
    }

    /// The operator and right-hand side of a check whose left-hand side (starting at `start`)
    /// has been read.
    fn parse_condition(&mut self, left: Operand, start: usize) -> PResult<Expr> {
        let _depth = self.enter()?;
        self.lex_blank();
        if let Some(op) = self.lex_operator(UNARY_OPS) {
            let span = Span::new(start, op.span.end);
            return Ok(Expr::Check(Box::new(Check {
                span,
                left,
                op,
                modifier: None,
                right: None,
            })));
        }
        self.lex_blank();
        let (op, modifier, right) = if let Some(op) = self.lex_operator(NUM_OPS) {
            (op, None, self.parse_num_value_or_transformer()?)
        } else if let Some(op) = self.lex_operator(STR_OPS) {
            match self.try_modifier()? {
                Some((modifier, right)) => (op, Some(modifier), right),
                None => (op, None, self.parse_str_value_or_transformer()?),
            }
        } else if let Some(op) = self.lex_operator(LIST_OPS) {
            (op, None, self.parse_list_value_or_transformer()?)
        } else {
            return self.fail(ErrorKind::ExpectedOperator);
        };
        let span = Span::new(start, right.span().end);
        Ok(Expr::Check(Box::new(Check { span, left, op, modifier, right: Some(right) })))
    }

    /// After a string operator: `oneof`/`anyof`/`allof` and a list value, if they are there.
    ///
    /// The modifier is taken only when a blank precedes it, a blank follows it, and after that
    /// comes `(` or an identifier other than `and`, `or` and `not`. Otherwise nothing is
    /// consumed and the word is an ordinary value: `proc.name = oneof` compares with the string
    /// "oneof", and `proc.name = oneof and x` is that comparison followed by `and x`. This is
    /// the rule libs 0.25 implements (its test corpus pins it: `== oneof(a)` and `==oneof (a)`
    /// are errors, `== oneof oneof` is a list reference).
    fn try_modifier(&mut self) -> PResult<Option<(Modifier, Rhs)>> {
        let (pos, last, token_end) = (self.pos, self.last, self.token_end);
        self.lex_blank();
        let blank_before = self.pos > 0 && is_blank(self.bytes[self.pos - 1]);
        if blank_before {
            let start = self.pos;
            for kind in MODIFIERS {
                if !self.lex_str(kind.as_str()) {
                    continue;
                }
                if self.lex_blank() && self.list_value_follows() {
                    let modifier =
                        Modifier { span: Span::new(start, start + kind.as_str().len()), kind };
                    return Ok(Some((modifier, self.parse_list_value()?)));
                }
                break;
            }
        }
        self.pos = pos;
        self.last = last;
        self.token_end = token_end;
        Ok(None)
    }

    fn list_value_follows(&self) -> bool {
        let rest = self.rest();
        if rest.first() == Some(&b'(') {
            return true;
        }
        let n = match_identifier(rest);
        n > 0 && !matches!(&rest[..n], b"and" | b"or" | b"not")
    }

    /// A list or a list name, after a modifier.
    fn parse_list_value(&mut self) -> PResult<Rhs> {
        let start = self.pos;
        if self.lex_str("(") {
            return Ok(Rhs::List(self.parse_value_list(start)?));
        }
        match self.lex_identifier() {
            Some(ident) => Ok(Rhs::ListRef(ident)),
            None => self.fail(ErrorKind::ExpectedList),
        }
    }

    fn parse_num_value_or_transformer(&mut self) -> PResult<Rhs> {
        let _depth = self.enter()?;
        self.lex_blank();
        if let Some(rhs) = self.try_parse_transformer_or_val()? {
            return Ok(rhs);
        }
        match self.lex_number() {
            Some(value) => Ok(Rhs::Value(value)),
            None => self.fail(ErrorKind::ExpectedNumber),
        }
    }

    /// libs' `parse_str_value_or_transformer(false)`.
    fn parse_str_value_or_transformer(&mut self) -> PResult<Rhs> {
        let _depth = self.enter()?;
        self.lex_blank();
        if let Some(rhs) = self.try_parse_transformer_or_val()? {
            return Ok(rhs);
        }
        if let Some(value) = self.lex_quoted_str()? {
            return Ok(Rhs::Value(value));
        }
        match self.lex_bare_str() {
            Some(value) => Ok(Rhs::Value(value)),
            None => self.fail(ErrorKind::ExpectedStringOrTransformer),
        }
    }

    /// libs' `parse_str_value_or_transformer(true)`: a list element.
    fn parse_str_value(&mut self) -> PResult<Value> {
        let _depth = self.enter()?;
        self.lex_blank();
        if let Some(value) = self.lex_quoted_str()? {
            return Ok(value);
        }
        match self.lex_bare_str() {
            Some(value) => Ok(value),
            None => self.fail(ErrorKind::ExpectedString),
        }
    }

    fn parse_list_value_or_transformer(&mut self) -> PResult<Rhs> {
        let _depth = self.enter()?;
        self.lex_blank();
        let start = self.pos;
        if self.lex_str("(") {
            return Ok(Rhs::List(self.parse_value_list(start)?));
        }
        if let Some(rhs) = self.try_parse_transformer_or_val()? {
            return Ok(rhs);
        }
        match self.lex_identifier() {
            Some(ident) => Ok(Rhs::ListRef(ident)),
            None => self.fail(ErrorKind::ExpectedList),
        }
    }

    /// The rest of a value list whose `(` (at `start`) has been read.
    fn parse_value_list(&mut self, start: usize) -> PResult<List> {
        self.lex_blank();
        let mut items = Vec::new();
        // libs quirk: any failure to read the *first* element is taken to mean the list is
        // empty, whatever was consumed meanwhile. So `in ()` is the empty list, but so is
        // `in ("\q")`: the bad escape fails the element after its closing quote was read, and
        // the `)` that follows closes the list. A failure on a later element is an error.
        if let Ok(first) = self.parse_str_value() {
            items.push(first);
            self.lex_blank();
            while self.lex_str(",") {
                items.push(self.parse_str_value()?);
                self.lex_blank();
            }
        }
        if !self.lex_str(")") {
            return self.fail(ErrorKind::ExpectedCloseParen);
        }
        Ok(List { span: Span::new(start, self.pos), items })
    }

    /// `val(field)` or a transformer, if one starts at the cursor (after blanks).
    fn try_parse_transformer_or_val(&mut self) -> PResult<Option<Rhs>> {
        let _depth = self.enter()?;
        self.lex_blank();
        let start = self.pos;
        if self.lex_str("val(") {
            self.last = LastToken::Raw(Span::new(start, start + 3));
            self.lex_blank();
            let Some(name) = self.lex_field_name() else {
                return self.fail(ErrorKind::ExpectedValField);
            };
            let field = self.parse_field_remainder(name)?;
            self.lex_blank();
            if !self.lex_str(")") {
                return self.fail(ErrorKind::ExpectedTransformerClose);
            }
            return Ok(Some(Rhs::Val(Val { span: Span::new(start, self.pos), field })));
        }
        if let Some((kind, name)) = self.lex_transformer() {
            self.lex_blank();
            return Ok(Some(Rhs::Transformer(Box::new(
                self.parse_transformer_remainder(kind, name)?,
            ))));
        }
        Ok(None)
    }
}

/// The operands of an `and` or `or` being parsed.
struct Operands {
    start: usize,
    end: usize,
    first: Option<Expr>,
    rest: Vec<Expr>,
}

impl Operands {
    fn new(start: usize) -> Operands {
        Operands { start, end: start, first: None, rest: Vec::new() }
    }

    fn push(&mut self, child: Expr, end: usize) {
        self.end = end;
        match self.first {
            None => self.first = Some(child),
            Some(_) => self.rest.push(child),
        }
    }

    /// The only operand, or an `and`/`or` node of all of them.
    #[inline(never)]
    fn finish(self, make: fn(Logical) -> Expr) -> Expr {
        let Some(first) = self.first else {
            unreachable!("finish is called after the first operand was pushed")
        };
        if self.rest.is_empty() {
            return first;
        }
        let mut children = Vec::with_capacity(self.rest.len() + 1);
        children.push(first);
        children.extend(self.rest);
        make(Logical { span: Span::new(self.start, self.end), children })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_classes() {
        assert_eq!(match_identifier(b"abc_1.x"), 5);
        assert_eq!(match_identifier(b"1abc"), 0);
        assert_eq!(match_field_name(b"proc.name"), 9);
        assert_eq!(match_field_name(b"a.b.c = 1"), 5);
        assert_eq!(match_field_name(b"evt.arg.0"), 7);
        assert_eq!(match_field_name(b"a."), 0);
        assert_eq!(match_field_name(b"abc"), 0);
        assert_eq!(match_number(b"-0.1222e+10"), 11);
        assert_eq!(match_number(b"1e5"), 1);
        assert_eq!(match_number(b"1.2.3"), 3);
        assert_eq!(match_number(b"+"), 0);
        assert_eq!(match_hex_number(b"0XaB00AB"), 8);
        assert_eq!(match_hex_number(b"0xAAA.1"), 5);
        assert_eq!(match_hex_number(b"0x"), 0);
        assert_eq!(match_bare_str(b"a/b*c[]x=y"), 8);
        assert_eq!(match_bare_str("é,".as_bytes()), 2);
        assert_eq!(match_field_arg_bare_str(b"a(b)=c,d]"), 8);
        assert_eq!(match_not_blank(b"not \t x"), 6);
        assert_eq!(match_not_blank(b"not\x0bx"), 4);
        assert_eq!(match_not_blank(b"notx"), 0);
        assert_eq!(match_not_blank(b"not\x08x"), 0);
    }
}
