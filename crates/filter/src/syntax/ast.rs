//! The abstract syntax tree of a condition, faithful to the text it came from.
//!
//! Every node carries the [`Span`] of the exact text it was parsed from, so that later stages
//! (the type checker, the rule loader) can underline the offending part of a condition. Beyond
//! what libs' AST keeps, nodes remember how things were written: which quote a string used and
//! its raw text, whether `=` was spelled `==`, how many `not`s were stacked, where each operator
//! and modifier stands. Printing ([`std::fmt::Display`]) still gives libs' `as_string` form,
//! which forgets all of that.
//!
//! Spans never include the blanks around a node, nor the parentheses that group an expression:
//! in `(a.b = 1) and c` the check's span is `a.b = 1` while the `and`'s span is the whole
//! input. Spans are byte ranges of the input and always fall on character boundaries.
//!
//! The tree has the shape libs gives it, so that anything computed from it (evaluation order,
//! printed conditions, event-type sets) matches Falco:
//!
//! - a chain `a and b and c` is one [`Expr::And`] with three children, but a parenthesized
//!   operand stays nested: `a and (b and c)` has two;
//! - consecutive `not`s form one [`Not`] node that counts them; an even count negates nothing
//!   (libs drops the node entirely), while `not (not a)` is two nodes;
//! - a bare identifier where a check may stand is a macro reference ([`Expr::Macro`]); the
//!   rule loader resolves it;
//! - a value after `=` that looks like a field (`proc.name = proc.pname`) is a plain string:
//!   only `val(…)` and transformers make the right-hand side a field.
//!
//! Nothing here has been checked against the field registry: field names, transformer argument
//! counts and value types are the next stage's business.

use std::ops::Range;

/// A byte range `start..end` of the parsed input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// The span `start..end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether it covers no byte.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The span as a range, for slicing.
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }

    /// The text it covers in `input` (the string it was parsed from).
    ///
    /// # Panics
    ///
    /// If the span is out of `input`'s bounds or not on character boundaries, which cannot
    /// happen for spans of `input`'s own AST.
    pub fn text<'a>(&self, input: &'a str) -> &'a str {
        &input[self.range()]
    }
}

/// A boolean expression: the root of a parsed condition and every node of its boolean
/// structure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// `a and b and …`, two children or more.
    And(Logical),
    /// `a or b or …`, two children or more.
    Or(Logical),
    /// One or more `not`s before an expression.
    Not(Not),
    /// A comparison of a field or transformer with a value, or an `exists` test. Boxed, as the
    /// largest node, to keep `Expr` small: parsing recurses through it, and that recursion's
    /// stack use is what the depth limit has to bound.
    Check(Box<Check>),
    /// A bare identifier: a reference to a macro.
    Macro(Ident),
}

impl Expr {
    /// The text of this expression, without surrounding blanks or grouping parentheses.
    pub fn span(&self) -> Span {
        match self {
            Expr::And(l) | Expr::Or(l) => l.span,
            Expr::Not(n) => n.span,
            Expr::Check(c) => c.span,
            Expr::Macro(m) => m.span,
        }
    }

    /// Structural equality as libs' `is_equal` sees it: spans, quoting, raw text and stacked
    /// `not`s that cancel out are ignored; operators are compared as written (`==` is not `=`),
    /// values by their unescaped text.
    ///
    /// This is the equality under which printing and parsing again round-trips:
    /// `parse(&e.to_string())` is equal to `e` whenever the printed form can be parsed.
    pub fn is_equal(&self, other: &Expr) -> bool {
        match (self.skip_even_nots(), other.skip_even_nots()) {
            (Expr::And(a), Expr::And(b)) | (Expr::Or(a), Expr::Or(b)) => {
                a.children.len() == b.children.len()
                    && a.children.iter().zip(&b.children).all(|(x, y)| x.is_equal(y))
            }
            (Expr::Not(a), Expr::Not(b)) => a.child.is_equal(&b.child),
            (Expr::Check(a), Expr::Check(b)) => a.is_equal(b),
            (Expr::Macro(a), Expr::Macro(b)) => a.name == b.name,
            _ => false,
        }
    }

    /// `self`, or the first node under it that is not a [`Not`] with an even count.
    fn skip_even_nots(&self) -> &Expr {
        let mut e = self;
        while let Expr::Not(n) = e {
            if n.is_negation() {
                break;
            }
            e = &n.child;
        }
        e
    }
}

/// The children of an `and` or an `or`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logical {
    /// From the first child's text to the last child's, keywords included.
    pub span: Span,
    /// The operands, in order; at least two.
    pub children: Vec<Expr>,
}

/// `not` applied `count` times: `not not a` is one node with `count` 2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Not {
    /// From the first `not` to the end of the operand (its closing parenthesis for `not(…)`).
    pub span: Span,
    /// How many `not`s were written in a row; at least one.
    pub count: u32,
    /// The negated expression.
    pub child: Box<Expr>,
}

impl Not {
    /// Whether this node negates its child (an odd number of `not`s).
    pub fn is_negation(&self) -> bool {
        self.count % 2 == 1
    }
}

/// An identifier: a macro name, or a list name on the right of a list operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    /// The identifier's text.
    pub span: Span,
    /// The identifier, as written.
    pub name: String,
}

/// A check: `left op [modifier] right`, or `left exists`.
///
/// Invariants kept by the parser: `right` is `None` exactly when `op` is
/// [`OpKind::Exists`]; a `modifier` is only present with a string operator, and then `right` is
/// an [`Rhs::List`] or an [`Rhs::ListRef`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// From the start of `left` to the end of `right` (or of `op` for `exists`).
    pub span: Span,
    /// What is tested: a field, possibly through transformers.
    pub left: Operand,
    /// The operator.
    pub op: Operator,
    /// `oneof`, `anyof` or `allof` after a string operator.
    pub modifier: Option<Modifier>,
    /// What `left` is compared with; `None` for `exists`.
    pub right: Option<Rhs>,
}

impl Check {
    fn is_equal(&self, other: &Check) -> bool {
        self.left.is_equal(&other.left)
            && self.op.kind == other.op.kind
            && self.modifier.map(|m| m.kind) == other.modifier.map(|m| m.kind)
            && match (&self.right, &other.right) {
                (None, None) => true,
                (Some(a), Some(b)) => a.is_equal(b),
                _ => false,
            }
    }
}

/// The left-hand side of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operand {
    /// A field, `proc.name` or `proc.aname[2]`.
    Field(Field),
    /// A transformer applied to fields, `tolower(proc.name)`.
    Transformer(Box<Transformer>),
}

impl Operand {
    /// The operand's text.
    pub fn span(&self) -> Span {
        match self {
            Operand::Field(f) => f.span,
            Operand::Transformer(t) => t.span,
        }
    }

    fn is_equal(&self, other: &Operand) -> bool {
        match (self, other) {
            (Operand::Field(a), Operand::Field(b)) => a.is_equal(b),
            (Operand::Transformer(a), Operand::Transformer(b)) => a.is_equal(b),
            _ => false,
        }
    }
}

/// A field reference: a dotted name and an optional argument in brackets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The name and the argument with its brackets.
    pub span: Span,
    /// The dotted name, `proc.aname`. Only its syntax has been checked.
    pub name: String,
    /// The text of the name alone.
    pub name_span: Span,
    /// The argument: `2` in `proc.aname[2]`, `HOME` in `proc.env[HOME]`.
    pub arg: Option<Box<FieldArg>>,
}

impl Field {
    fn is_equal(&self, other: &Field) -> bool {
        self.name == other.name && arg_text(&self.arg) == arg_text(&other.arg)
    }
}

fn arg_text(arg: &Option<Box<FieldArg>>) -> Option<&str> {
    arg.as_ref().map(|a| a.value.text.as_str())
}

/// The bracketed argument of a field (or of a transformer, `getopt(…)[c]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldArg {
    /// The argument with its brackets, `[2]`.
    pub span: Span,
    /// What is between the brackets: a bare or quoted string (a bare argument may hold
    /// characters a bare value may not, such as `(`, `=` or `,`).
    pub value: Value,
}

/// A literal: a string (bare or quoted) or a number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    /// The literal as written, quotes included.
    pub span: Span,
    /// How it was written.
    pub style: Style,
    /// Its content: for a quoted string, unescaped and without the quotes; otherwise the raw
    /// text.
    pub text: String,
    /// Exactly what was written, quotes and escapes included.
    pub raw: String,
}

impl Value {
    /// The quote character, for a quoted string.
    pub fn quote(&self) -> Option<char> {
        match self.style {
            Style::SingleQuoted => Some('\''),
            Style::DoubleQuoted => Some('"'),
            _ => None,
        }
    }

    /// Whether the value was written in quotes.
    pub fn is_quoted(&self) -> bool {
        self.quote().is_some()
    }
}

/// How a [`Value`] was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Style {
    /// An unquoted string, `/bin/sh` or `80` after a string operator.
    Bare,
    /// `'…'`.
    SingleQuoted,
    /// `"…"`.
    DoubleQuoted,
    /// A decimal number where the grammar wants one (after `<`, `>=` …, or as a transformer
    /// argument): `-1.5e+3`.
    Number,
    /// A hexadecimal number where the grammar wants a number: `0x1F`.
    HexNumber,
}

/// An operator and where it stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operator {
    /// The operator's text (`==`, `contains`).
    pub span: Span,
    /// Which operator.
    pub kind: OpKind,
}

/// The check operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// `exists`, the only unary operator.
    Exists,
    /// `=`.
    Eq,
    /// `==`, the same comparison as `=` (kept apart because libs prints it as written).
    EqEq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `contains`.
    Contains,
    /// `icontains`.
    IContains,
    /// `bcontains`.
    BContains,
    /// `startswith`.
    StartsWith,
    /// `bstartswith`.
    BStartsWith,
    /// `endswith`.
    EndsWith,
    /// `glob`.
    Glob,
    /// `iglob`.
    IGlob,
    /// `regex`.
    Regex,
    /// `in`.
    In,
    /// `intersects`.
    Intersects,
    /// `pmatch`.
    PMatch,
}

/// The grammatical class of an operator: what may follow it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpClass {
    /// Nothing follows (`exists`).
    Unary,
    /// A number or a transformer (`<`, `<=`, `>`, `>=`).
    Numeric,
    /// A string, a transformer, or a modifier and a list (`=`, `contains` …).
    String,
    /// A list, a list name or a transformer (`in`, `intersects`, `pmatch`).
    List,
}

impl OpKind {
    /// Every operator, in the order libs lists them in its messages.
    pub const ALL: [OpKind; 20] = [
        OpKind::Exists,
        OpKind::Le,
        OpKind::Lt,
        OpKind::Ge,
        OpKind::Gt,
        OpKind::EqEq,
        OpKind::Eq,
        OpKind::Ne,
        OpKind::Glob,
        OpKind::IGlob,
        OpKind::Contains,
        OpKind::IContains,
        OpKind::BContains,
        OpKind::StartsWith,
        OpKind::BStartsWith,
        OpKind::EndsWith,
        OpKind::Regex,
        OpKind::Intersects,
        OpKind::In,
        OpKind::PMatch,
    ];

    /// The operator as written (`==` for [`OpKind::EqEq`]).
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Exists => "exists",
            OpKind::Eq => "=",
            OpKind::EqEq => "==",
            OpKind::Ne => "!=",
            OpKind::Lt => "<",
            OpKind::Le => "<=",
            OpKind::Gt => ">",
            OpKind::Ge => ">=",
            OpKind::Contains => "contains",
            OpKind::IContains => "icontains",
            OpKind::BContains => "bcontains",
            OpKind::StartsWith => "startswith",
            OpKind::BStartsWith => "bstartswith",
            OpKind::EndsWith => "endswith",
            OpKind::Glob => "glob",
            OpKind::IGlob => "iglob",
            OpKind::Regex => "regex",
            OpKind::In => "in",
            OpKind::Intersects => "intersects",
            OpKind::PMatch => "pmatch",
        }
    }

    /// What may follow the operator.
    pub fn class(self) -> OpClass {
        match self {
            OpKind::Exists => OpClass::Unary,
            OpKind::Lt | OpKind::Le | OpKind::Gt | OpKind::Ge => OpClass::Numeric,
            OpKind::In | OpKind::Intersects | OpKind::PMatch => OpClass::List,
            _ => OpClass::String,
        }
    }

    /// The comparison this operator performs: `==` is `=`, every other operator is itself.
    pub fn canonical(self) -> OpKind {
        match self {
            OpKind::EqEq => OpKind::Eq,
            other => other,
        }
    }
}

impl std::fmt::Display for OpKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A list modifier and where it stands: `oneof` in `proc.name startswith oneof (a, b)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Modifier {
    /// The modifier's text.
    pub span: Span,
    /// Which modifier.
    pub kind: ModifierKind,
}

/// How a string operator with a modifier combines the results over the list elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModifierKind {
    /// `oneof`: exactly one element matches.
    OneOf,
    /// `anyof`: at least one element matches.
    AnyOf,
    /// `allof`: every element matches.
    AllOf,
}

impl ModifierKind {
    /// The modifier as written.
    pub fn as_str(self) -> &'static str {
        match self {
            ModifierKind::OneOf => "oneof",
            ModifierKind::AnyOf => "anyof",
            ModifierKind::AllOf => "allof",
        }
    }
}

impl std::fmt::Display for ModifierKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The right-hand side of a binary check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rhs {
    /// One literal: a string after a string operator, a number after a numeric one.
    Value(Value),
    /// A parenthesized list of strings, `(a, 'b c', "d")`.
    List(List),
    /// A bare identifier after a list operator or a modifier: a list name that the rule loader
    /// did not substitute (Falco substitutes lists as text before parsing).
    ListRef(Ident),
    /// `val(field)`: compare with another field of the same event.
    Val(Val),
    /// A transformer: compare with a transformed field.
    Transformer(Box<Transformer>),
}

impl Rhs {
    /// The right-hand side's text.
    pub fn span(&self) -> Span {
        match self {
            Rhs::Value(v) => v.span,
            Rhs::List(l) => l.span,
            Rhs::ListRef(i) => i.span,
            Rhs::Val(v) => v.span,
            Rhs::Transformer(t) => t.span,
        }
    }

    fn is_equal(&self, other: &Rhs) -> bool {
        match (self, other) {
            (Rhs::Value(a), Rhs::Value(b)) => a.text == b.text,
            (Rhs::List(a), Rhs::List(b)) => {
                a.items.len() == b.items.len()
                    && a.items.iter().zip(&b.items).all(|(x, y)| x.text == y.text)
            }
            (Rhs::ListRef(a), Rhs::ListRef(b)) => a.name == b.name,
            (Rhs::Val(a), Rhs::Val(b)) => a.field.is_equal(&b.field),
            (Rhs::Transformer(a), Rhs::Transformer(b)) => a.is_equal(b),
            _ => false,
        }
    }
}

/// A parenthesized list of string values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct List {
    /// The list with its parentheses.
    pub span: Span,
    /// The elements, bare or quoted strings; possibly none.
    pub items: Vec<Value>,
}

/// `val(field)` on the right-hand side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Val {
    /// From `val` to the closing parenthesis.
    pub span: Span,
    /// The field whose value is compared with.
    pub field: Field,
}

/// A transformer call: `tolower(proc.name)`, `join("-", (fd.name, fd.directory))`,
/// `getopt(proc.args, "nt:")[t]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transformer {
    /// From the transformer's name to its closing parenthesis, or to the end of its argument.
    pub span: Span,
    /// Which transformer.
    pub kind: TransformerKind,
    /// The name's text (without the `(`).
    pub name_span: Span,
    /// The arguments, at least one (their number and types are checked later).
    pub args: Vec<TransformerArg>,
    /// A bracketed argument after the call, `[t]` in `getopt(proc.args, "nt:")[t]`. The
    /// grammar allows it after any transformer; only `getopt` gives it a meaning.
    pub arg: Option<Box<FieldArg>>,
}

impl Transformer {
    fn is_equal(&self, other: &Transformer) -> bool {
        self.kind == other.kind
            && args_equal(&self.args, &other.args)
            && arg_text(&self.arg) == arg_text(&other.arg)
    }
}

fn args_equal(a: &[TransformerArg], b: &[TransformerArg]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.is_equal(y))
}

/// The transformers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransformerKind {
    /// `tolower`.
    ToLower,
    /// `toupper`.
    ToUpper,
    /// `b64` (base64 decoding).
    B64,
    /// `basename`.
    Basename,
    /// `len`.
    Len,
    /// `join(separator, (fields…))`.
    Join,
    /// `concat(a, b, …)`.
    Concat,
    /// `getopt(list field, "optstring")`.
    GetOpt,
}

impl TransformerKind {
    /// Every transformer, in the order libs tries (and lists) them.
    pub const ALL: [TransformerKind; 8] = [
        TransformerKind::ToLower,
        TransformerKind::ToUpper,
        TransformerKind::B64,
        TransformerKind::Basename,
        TransformerKind::Len,
        TransformerKind::Join,
        TransformerKind::Concat,
        TransformerKind::GetOpt,
    ];

    /// The transformer's name.
    pub fn as_str(self) -> &'static str {
        match self {
            TransformerKind::ToLower => "tolower",
            TransformerKind::ToUpper => "toupper",
            TransformerKind::B64 => "b64",
            TransformerKind::Basename => "basename",
            TransformerKind::Len => "len",
            TransformerKind::Join => "join",
            TransformerKind::Concat => "concat",
            TransformerKind::GetOpt => "getopt",
        }
    }
}

impl std::fmt::Display for TransformerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An argument of a transformer, or an element of a transformer list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransformerArg {
    /// A field.
    Field(Field),
    /// A nested transformer.
    Transformer(Box<Transformer>),
    /// A quoted string or a number (never a bare string).
    Value(Value),
    /// A parenthesized list of arguments, `(fd.name, fd.directory)`. Never an element of
    /// another transformer list.
    List(TransformerList),
}

impl TransformerArg {
    /// The argument's text.
    pub fn span(&self) -> Span {
        match self {
            TransformerArg::Field(f) => f.span,
            TransformerArg::Transformer(t) => t.span,
            TransformerArg::Value(v) => v.span,
            TransformerArg::List(l) => l.span,
        }
    }

    fn is_equal(&self, other: &TransformerArg) -> bool {
        match (self, other) {
            (TransformerArg::Field(a), TransformerArg::Field(b)) => a.is_equal(b),
            (TransformerArg::Transformer(a), TransformerArg::Transformer(b)) => a.is_equal(b),
            (TransformerArg::Value(a), TransformerArg::Value(b)) => a.text == b.text,
            (TransformerArg::List(a), TransformerArg::List(b)) => args_equal(&a.items, &b.items),
            _ => false,
        }
    }
}

/// A parenthesized list inside a transformer call: `(fd.name, "x", 1)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransformerList {
    /// The list with its parentheses.
    pub span: Span,
    /// The elements: fields, transformers, quoted strings or numbers; possibly none.
    pub items: Vec<TransformerArg>,
}
