//! Checking an AST against the field registry, and the program it compiles to.
//!
//! [`Filter::compile`] resolves every field, checks every operator against the field's type,
//! parses every value into that type, compiles patterns and builds the sets of `in` lists, and
//! reports every problem it finds with the span of the text at fault. What comes out is
//! immutable and `Send + Sync`; evaluation needs a per-thread [`Scratch`] for the values it
//! extracts.

use std::net::IpAddr;

use rustc_hash::FxHashSet;

use lanner_event::table::{EVENT_MAX, event_info, syscall_name};
use lanner_event::{Direction, ParamType, ffi};
use lanner_fields::{CheckState, EventContext, Field, FieldId, Mode, Value, Values, epf, extract};

use crate::error::{CheckError, CheckErrorKind};
use crate::glob::Glob;
use crate::syntax::{self, Expr, ModifierKind, OpKind, Rhs, Span, TransformerArg, TransformerKind};

/// Macros and lists a condition may refer to by name (the rules loader knows them; a plain
/// filter has none).
pub trait Definitions {
    /// The parsed condition of a macro.
    fn macro_expr(&self, name: &str) -> Option<&Expr>;
    /// The items of a list.
    fn list(&self, name: &str) -> Option<&[String]>;
}

/// No macros, no lists: what a filter typed on the command line can use.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoDefinitions;

impl Definitions for NoDefinitions {
    fn macro_expr(&self, _name: &str) -> Option<&Expr> {
        None
    }
    fn list(&self, _name: &str) -> Option<&[String]> {
        None
    }
}

/// How a family of types compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Int,
    Bool,
    Str,
    Buffer,
    Ip,
    Net,
    Double,
}

fn kind_of(ty: ParamType) -> Kind {
    use ParamType as T;
    match ty {
        T::Charbuf | T::FsPath | T::FsRelPath | T::CharbufArray | T::CharbufPairArray => Kind::Str,
        T::Bytebuf | T::SockAddr | T::SockTuple | T::FdList | T::Dyn | T::None => Kind::Buffer,
        T::Bool => Kind::Bool,
        T::Ipv4Addr | T::Ipv6Addr | T::IpAddr => Kind::Ip,
        T::Ipv4Net | T::Ipv6Net | T::IpNet => Kind::Net,
        T::Double => Kind::Double,
        _ => Kind::Int,
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Int => "numeric",
        Kind::Bool => "bool",
        Kind::Str => "string",
        Kind::Buffer => "buffer",
        Kind::Ip => "IP address",
        Kind::Net => "IP network",
        Kind::Double => "floating point",
    }
}

/// A constant of the right-hand side, parsed into the field's type.
#[derive(Clone, Debug, PartialEq)]
enum Const {
    Int(i128),
    Bool(bool),
    Bytes(Vec<u8>),
    Ip(IpAddr),
    Net(IpAddr, u8),
    Double(f64),
}

/// What an extracted value is compared with, by operator.
#[derive(Clone, Debug)]
enum Matcher {
    Exists,
    Cmp(Cmp, Const),
    Contains(Vec<u8>),
    IContains(Vec<u8>),
    StartsWith(Vec<u8>),
    EndsWith(Vec<u8>),
    Glob(Glob),
    Regex(regex::bytes::Regex),
    /// `in` / `intersects`: a set of constants.
    Set(ConstSet),
    /// `pmatch`: path prefixes.
    Prefixes(Vec<Vec<u8>>),
    /// `op oneof/anyof/allof (...)`: the operator applied to each element.
    Modified(ModifierKind, Vec<Matcher>),
    /// `op val(field)` or `op transformer(...)`: the right side is extracted too.
    Field(Cmp, Box<Operand>),
    /// `evt.around[T] = D`: within D milliseconds.
    Around(u64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Debug, Default)]
struct ConstSet {
    ints: FxHashSet<i128>,
    bytes: FxHashSet<Vec<u8>>,
    others: Vec<Const>,
}

impl ConstSet {
    fn insert(&mut self, c: Const) {
        match c {
            Const::Int(v) => {
                self.ints.insert(v);
            }
            Const::Bytes(b) => {
                self.bytes.insert(b);
            }
            other => self.others.push(other),
        }
    }

    fn contains(&self, v: Value<'_>) -> bool {
        match v {
            Value::Int(i) => self.ints.contains(&i128::from(i)),
            Value::Uint(u) => self.ints.contains(&i128::from(u)),
            Value::Bool(b) => self.others.contains(&Const::Bool(b)),
            Value::Bytes(b) => self.bytes.contains(b),
            Value::Ip(_) | Value::Double(_) => self.others.iter().any(|c| compare(v, Cmp::Eq, c)),
        }
    }
}

/// How a field with several values satisfies a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Multi {
    /// One value (the first).
    Single,
    /// Ancestor fields: the check holds if it holds for any value.
    Any,
    /// `fd.ip`, `fd.port`, `fd.net`, `fd.proto`: either end of a socket; `!=` means neither.
    Ends,
    /// List fields: `in` is a subset test, `intersects` an overlap test.
    List,
}

/// The left side of a check: a field, or a transformer over fields and constants.
#[derive(Clone, Debug)]
enum Operand {
    Field { field: Field, slot: usize },
    Transform { kind: TransformerKind, args: Vec<Operand>, slot: usize },
    Const { value: Vec<u8>, slot: usize },
}

impl Operand {
    fn slot(&self) -> usize {
        match self {
            Operand::Field { slot, .. }
            | Operand::Transform { slot, .. }
            | Operand::Const { slot, .. } => *slot,
        }
    }
}

#[derive(Clone, Debug)]
struct CheckNode {
    lhs: Operand,
    multi: Multi,
    list_op: Option<OpKind>,
    matcher: Matcher,
    /// For a check on a field of the process tree against constants: the scratch slot that
    /// remembers its last result ([`Memo`]).
    memo: Option<usize>,
}

/// A remembered result of a check on a process-tree field (`proc.aname`, `proc.pname` ...):
/// for which thread, at which [`lanner_state::State::lineage_generation`]. Such a result only
/// changes when the tree does, which is rare next to the events that ask. Each such check keeps
/// [`MEMO_WAYS`] of them, one per thread id hash, as threads take turns.
#[derive(Clone, Copy, Debug)]
struct Memo {
    tid: i64,
    generation: u64,
    result: bool,
}

impl Default for Memo {
    fn default() -> Self {
        Memo { tid: -1, generation: u64::MAX, result: false }
    }
}

/// Remembered results per check.
const MEMO_WAYS: usize = 256;

/// Where a thread's result is remembered among a check's [`MEMO_WAYS`].
fn memo_way(tid: i64) -> usize {
    ((tid as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize
}

#[derive(Clone, Debug)]
enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Check(Box<CheckNode>),
    /// A check whose outcome the event type decides (`evt.type in (...)`, `evt.dir = <`):
    /// worked out for every type at compile time. Types whose value is only known from the
    /// event itself (generic syscalls name theirs in a parameter) run the check.
    ByType {
        truth: TypeSet,
        dynamic: TypeSet,
        check: Box<CheckNode>,
    },
    /// A combination of process-tree checks (`proc.aname = a or proc.aname[2] = b`): its
    /// outcome is remembered as one, like a single check's ([`CheckNode::memo`]).
    Memo {
        slot: usize,
        child: Box<Node>,
    },
}

/// Whether a node depends only on the event's thread and its lineage: every check in it is
/// remembered ([`CheckNode::memo`]).
fn lineage_only(node: &Node) -> bool {
    match node {
        Node::Check(check) => check.memo.is_some(),
        Node::Not(child) => lineage_only(child),
        Node::And(children) | Node::Or(children) => children.iter().all(lineage_only),
        Node::ByType { .. } | Node::Memo { .. } => false,
    }
}

/// Remembers whole combinations of process-tree checks instead of each check: one lookup per
/// event instead of one per check. Then numbers the memo slots left in use from 0; returns
/// how many there are.
fn hoist_memos(node: &mut Node) -> usize {
    fn clear(node: &mut Node) {
        match node {
            Node::Check(check) => check.memo = None,
            Node::Not(child) => clear(child),
            Node::And(children) | Node::Or(children) => children.iter_mut().for_each(clear),
            Node::ByType { .. } | Node::Memo { .. } => {}
        }
    }
    fn hoist(node: &mut Node) {
        match node {
            Node::And(_) | Node::Or(_) | Node::Not(_) if lineage_only(node) => {
                let mut child = std::mem::replace(node, Node::And(Vec::new()));
                clear(&mut child);
                *node = Node::Memo { slot: 0, child: Box::new(child) };
            }
            Node::Not(child) => hoist(child),
            Node::And(children) | Node::Or(children) => children.iter_mut().for_each(hoist),
            _ => {}
        }
    }
    fn number(node: &mut Node, next: &mut usize) {
        match node {
            Node::Check(check) | Node::ByType { check, .. } => {
                if let Some(slot) = &mut check.memo {
                    *slot = *next;
                    *next += 1;
                }
            }
            Node::Memo { slot, .. } => {
                *slot = *next;
                *next += 1;
            }
            Node::Not(child) => number(child, next),
            Node::And(children) | Node::Or(children) => {
                children.iter_mut().for_each(|c| number(c, next));
            }
        }
    }
    hoist(node);
    let mut next = 0;
    number(node, &mut next);
    next
}

const TYPE_WORDS: usize = EVENT_MAX.div_ceil(64);

/// A set of event type codes, one bit each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeSet([u64; TYPE_WORDS]);

impl TypeSet {
    /// No type.
    pub const fn none() -> TypeSet {
        TypeSet([0; TYPE_WORDS])
    }

    /// Every type of the event table.
    pub fn all() -> TypeSet {
        let mut set = TypeSet::none();
        for code in 0..EVENT_MAX as u16 {
            set.insert(code);
        }
        set
    }

    /// Adds a type (codes beyond the event table are ignored).
    pub fn insert(&mut self, code: u16) {
        let i = usize::from(code);
        if i < EVENT_MAX {
            self.0[i / 64] |= 1 << (i % 64);
        }
    }

    /// Whether the set holds a type. Codes beyond the event table are in no set.
    #[inline]
    pub fn contains(&self, code: u16) -> bool {
        let i = usize::from(code);
        i < EVENT_MAX && self.0[i / 64] & (1 << (i % 64)) != 0
    }

    fn union(&self, other: &TypeSet) -> TypeSet {
        TypeSet(std::array::from_fn(|i| self.0[i] | other.0[i]))
    }

    fn intersection(&self, other: &TypeSet) -> TypeSet {
        TypeSet(std::array::from_fn(|i| self.0[i] & other.0[i]))
    }

    fn complement(&self) -> TypeSet {
        TypeSet::all().intersection(&TypeSet(std::array::from_fn(|i| !self.0[i])))
    }

    /// The codes in the set, in order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        (0..EVENT_MAX as u16).filter(|&c| self.contains(c))
    }

    /// How many types the set holds.
    pub fn len(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether the set holds no type.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }
}

/// The types for which a node may be true, and those for which it may be false (sound
/// supersets: a type outside the first never satisfies the node).
fn may(node: &Node) -> (TypeSet, TypeSet) {
    match node {
        Node::Check(check) if check.needs_fd() => (fd_types(), TypeSet::all()),
        Node::Check(_) => (TypeSet::all(), TypeSet::all()),
        Node::ByType { truth, dynamic, .. } => {
            (truth.union(dynamic), truth.complement().union(dynamic))
        }
        Node::Not(child) => {
            let (t, f) = may(child);
            (f, t)
        }
        Node::Memo { child, .. } => may(child),
        Node::And(children) => {
            children.iter().map(may).fold((TypeSet::all(), TypeSet::none()), |(t, f), (ct, cf)| {
                (t.intersection(&ct), f.union(&cf))
            })
        }
        Node::Or(children) => {
            children.iter().map(may).fold((TypeSet::none(), TypeSet::all()), |(t, f), (ct, cf)| {
                (t.union(&ct), f.intersection(&cf))
            })
        }
    }
}

/// The types of events about an fd (`EF_CREATES_FD`, `EF_USES_FD`, `EF_DESTROYS_FD`): the only
/// ones `fd.*` fields have values for.
fn fd_types() -> TypeSet {
    use lanner_event::table::EventFlags;
    let mut set = TypeSet::none();
    for code in 0..EVENT_MAX as u16 {
        if event_info(code).is_some_and(|i| {
            i.flags.0 & (EventFlags::CREATES_FD | EventFlags::USES_FD | EventFlags::DESTROYS_FD)
                != 0
        }) {
            set.insert(code);
        }
    }
    set
}

impl CheckNode {
    /// Whether the check is false for events about no fd: it compares an `fd.*` field as it
    /// is (a missing value fails every comparison, `exists` included).
    fn needs_fd(&self) -> bool {
        let is_fd = |o: &Operand| matches!(o, Operand::Field { field, .. } if field.def().class == lanner_fields::Class::Fd);
        is_fd(&self.lhs) || matches!(&self.matcher, Matcher::Field(_, rhs) if is_fd(rhs))
    }
}

/// `ASYNCEVENT`: names its own type in a parameter.
const ASYNC_EVENT: u16 = ffi::ppm_event_code_PPME_ASYNCEVENT_E as u16;

/// The names of the syscalls libs records as generic events (`syscall` events 0 and 1): those
/// no event type is named after.
fn generic_syscall_names() -> impl Iterator<Item = &'static str> {
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    NAMES
        .get_or_init(|| {
            let named: std::collections::HashSet<&str> =
                (0..EVENT_MAX as u16).filter_map(|c| event_info(c).map(|i| i.name)).collect();
            // Syscall codes (`PPM_SC_*`) stay well below 1024.
            (0..1024u16).filter_map(syscall_name).filter(|name| !named.contains(name)).collect()
        })
        .iter()
        .copied()
}

/// A check on `evt.type` or `evt.dir` alone, turned into a [`Node::ByType`]; any other check
/// stays as it is.
fn by_type(check: CheckNode) -> Node {
    let Operand::Field { field, .. } = &check.lhs else {
        return Node::Check(Box::new(check));
    };
    if matches!(check.matcher, Matcher::Field(..) | Matcher::Around(_)) {
        return Node::Check(Box::new(check));
    }
    let value_of: fn(u16) -> Option<&'static str> = match field.id() {
        FieldId::EvtType => |code| match code {
            // Generic syscalls and async events name themselves in a parameter.
            0 | 1 | ASYNC_EVENT => None,
            code => event_info(code).map(|i| i.name),
        },
        FieldId::EvtDir => {
            |code| Some(if Direction::of(code) == Direction::Enter { ">" } else { "<" })
        }
        _ => return Node::Check(Box::new(check)),
    };
    let empty = Values::new();
    let (mut truth, mut dynamic) = (TypeSet::none(), TypeSet::none());
    // Generic syscall events carry the name of a syscall libs gives no event of its own; a
    // check no such name satisfies is false for them (libs indexes `evt.type = open` under the
    // open events only, for the same reason).
    let generic_may_match = field.id() != FieldId::EvtType
        || generic_syscall_names()
            .any(|name| matches_value(&check.matcher, Value::Bytes(name.as_bytes()), &empty));
    for code in 0..EVENT_MAX as u16 {
        match value_of(code) {
            None if code <= 1 && !generic_may_match => {}
            None => dynamic.insert(code),
            Some(v) => {
                if matches_value(&check.matcher, Value::Bytes(v.as_bytes()), &empty) {
                    truth.insert(code);
                }
            }
        }
    }
    Node::ByType { truth, dynamic, check: Box::new(check) }
}

/// A compiled condition.
#[derive(Clone, Debug)]
pub struct Filter {
    root: Node,
    slots: usize,
    text: String,
    /// The event types the condition can be true for.
    types: TypeSet,
    fields: Vec<FieldId>,
    /// Checks whose results are remembered.
    memos: usize,
}

/// What evaluating a [`Filter`] needs besides the event: buffers for extracted values and the
/// memory of stateful fields. One per thread; reused from event to event.
#[derive(Clone, Debug, Default)]
pub struct Scratch {
    values: Vec<Values>,
    states: Vec<CheckState>,
    memos: Vec<Memo>,
}

impl Scratch {
    /// Scratch for a filter.
    pub fn for_filter(filter: &Filter) -> Scratch {
        Scratch {
            values: vec![Values::new(); filter.slots],
            states: vec![CheckState::default(); filter.slots],
            memos: vec![Memo::default(); filter.memos * MEMO_WAYS],
        }
    }
}

/// Options of compiling a condition.
#[derive(Clone, Copy, Debug)]
pub struct CompileOptions {
    /// Deepest nesting the parser accepts (libs: 100 for filters, 1000 for rules).
    pub max_depth: u32,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions { max_depth: syntax::Parser::new().max_depth() }
    }
}

/// Why a condition cannot be compiled.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// The text does not parse.
    #[error("{0}")]
    Syntax(#[from] syntax::ParseError),
    /// It parses, but refers to unknown things or misuses types; every problem found.
    #[error("{}", .0.first().map(ToString::to_string).unwrap_or_default())]
    Check(Vec<CheckError>),
}

impl CompileError {
    /// Every problem, rendered with the condition text underlined.
    pub fn render(&self, condition: &str) -> String {
        match self {
            CompileError::Syntax(e) => {
                let span =
                    Span::new(e.position.offset, (e.position.offset + 1).min(condition.len()));
                crate::error::render_span(&e.kind.to_string(), span, condition)
            }
            CompileError::Check(errors) => {
                errors.iter().map(|e| e.render(condition)).collect::<Vec<_>>().join("\n")
            }
        }
    }
}

impl Filter {
    /// Parses, checks and compiles a condition that may use no macros or lists.
    pub fn compile(text: &str) -> Result<Filter, CompileError> {
        Filter::compile_with(text, &NoDefinitions, CompileOptions::default())
    }

    /// Parses, checks and compiles a condition with the given macros and lists.
    pub fn compile_with(
        text: &str,
        defs: &dyn Definitions,
        options: CompileOptions,
    ) -> Result<Filter, CompileError> {
        let mut parser = syntax::Parser::new();
        parser.set_max_depth(options.max_depth);
        let expr = parser.parse(text)?;
        Filter::from_expr(&expr, text, defs)
    }

    /// Checks and compiles an already parsed condition.
    pub fn from_expr(
        expr: &Expr,
        text: &str,
        defs: &dyn Definitions,
    ) -> Result<Filter, CompileError> {
        Filter::from_expr_checked(expr, text, defs, None)
    }

    /// [`Filter::from_expr`] for a condition of event source `source`: a field that does not
    /// apply to it ([`Field::applies_to`]: a syscall field in a plugin source's rule, a
    /// plugin's field in a source it does not extract for) is an unknown field there, as each
    /// source has its own fields in Falco.
    pub fn from_expr_for_source(
        expr: &Expr,
        text: &str,
        defs: &dyn Definitions,
        source: &str,
    ) -> Result<Filter, CompileError> {
        Filter::from_expr_checked(expr, text, defs, Some(source))
    }

    fn from_expr_checked(
        expr: &Expr,
        text: &str,
        defs: &dyn Definitions,
        source: Option<&str>,
    ) -> Result<Filter, CompileError> {
        let mut checker = Checker {
            defs,
            errors: Vec::new(),
            slots: 0,
            memos: 0,
            macro_stack: Vec::new(),
            fields: Vec::new(),
            source,
        };
        let root = checker.expr(expr);
        if !checker.errors.is_empty() {
            return Err(CompileError::Check(checker.errors));
        }
        let mut root = root.unwrap_or(Node::And(Vec::new()));
        let memos = hoist_memos(&mut root);
        let (types, _) = may(&root);
        Ok(Filter {
            root,
            slots: checker.slots,
            text: text.to_owned(),
            types,
            fields: checker.fields,
            memos,
        })
    }

    /// The condition's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The event types the condition can be true for (a superset: those outside it never
    /// match, so an engine can skip the condition for them, as Falco indexes rules by event
    /// type). Events of codes beyond the event table may match any condition.
    pub fn event_types(&self) -> &TypeSet {
        &self.types
    }

    /// The event types the state must be given ([`lanner_state::State::process`]) for this
    /// condition's results to be exact: those that change the state, both halves of the
    /// syscalls the condition can match, and, when it reads memory counters, the events that
    /// report them; every type when it reads a field that depends on all events before
    /// ([`FieldId::reads_event_history`]). Skipping the others changes no result of
    /// [`Filter::matches`] (nor of the fields it reads, on the events it matches) and saves
    /// most of the work of a replay.
    pub fn state_types(&self) -> TypeSet {
        use lanner_state::State;
        if self.fields.iter().any(|id| id.reads_event_history()) {
            return TypeSet::all();
        }
        let counters = self.fields.iter().any(|id| id.reads_memory_counters());
        let mut types = TypeSet::none();
        for code in 0..EVENT_MAX as u16 {
            if State::changes_state(code)
                || (counters && State::changes_counters(code))
                || self.types.contains(code)
                || self.types.contains(code ^ 1)
            {
                types.insert(code);
            }
        }
        types
    }

    /// Every field the condition reads (macros expanded, transformer arguments and `val()`
    /// fields included), each once.
    pub fn fields(&self) -> &[FieldId] {
        &self.fields
    }

    /// Whether the event matches.
    #[inline]
    pub fn matches(&self, ctx: &EventContext<'_>, scratch: &mut Scratch) -> bool {
        let code = ctx.event.event_type();
        if usize::from(code) < EVENT_MAX && !self.types.contains(code) {
            return false;
        }
        self.evaluate(ctx, scratch)
    }

    /// [`Filter::matches`] for an event of a type the condition may match.
    fn evaluate(&self, ctx: &EventContext<'_>, scratch: &mut Scratch) -> bool {
        if scratch.values.len() < self.slots || scratch.memos.len() < self.memos * MEMO_WAYS {
            *scratch = Scratch::for_filter(self);
        }
        eval(&self.root, ctx, scratch)
    }
}

/// A field or a transformer expression compiled to give values rather than a verdict: what
/// an output format prints for `%proc.name` or `%tolower(proc.name)`. It is checked as the
/// left side of a check is (unknown fields, transformer argument types), and evaluates with a
/// [`Scratch`] of its own.
///
/// ```
/// use lanner_filter::{Extractor, syntax::Parser};
///
/// let (op, _) = Parser::new().parse_field_or_transformer("toupper(proc.name)").unwrap();
/// let x = Extractor::compile(&op).unwrap();
/// assert!(!x.is_list());
/// assert!(Extractor::compile(&Parser::new().parse_field_or_transformer("proc.nope").unwrap().0).is_err());
/// ```
#[derive(Clone, Debug)]
pub struct Extractor {
    op: Operand,
    slots: usize,
    ty: ParamType,
    list: bool,
}

impl Extractor {
    /// Checks and compiles a parsed field or transformer expression.
    pub fn compile(op: &syntax::Operand) -> Result<Extractor, CompileError> {
        let mut checker = Checker {
            defs: &NoDefinitions,
            errors: Vec::new(),
            slots: 0,
            memos: 0,
            macro_stack: Vec::new(),
            fields: Vec::new(),
            source: None,
        };
        let compiled = checker.operand(op);
        match compiled {
            Some((op, ty, field)) if checker.errors.is_empty() => {
                let list = field.is_some_and(|f| f.is_list());
                Ok(Extractor { op, slots: checker.slots, ty, list })
            }
            _ => Err(CompileError::Check(checker.errors)),
        }
    }

    /// The type of the values.
    pub fn ty(&self) -> ParamType {
        self.ty
    }

    /// Whether the values are a list (a list field, not transformed).
    pub fn is_list(&self) -> bool {
        self.list
    }

    /// Scratch sized for this expression.
    pub fn scratch(&self) -> Scratch {
        Scratch {
            values: vec![Values::new(); self.slots],
            states: vec![CheckState::default(); self.slots],
            memos: Vec::new(),
        }
    }

    /// The values of the expression for an event (none: the field is missing).
    pub fn extract<'s>(
        &self,
        ctx: &EventContext<'_>,
        mode: Mode,
        scratch: &'s mut Scratch,
    ) -> &'s Values {
        if scratch.values.len() < self.slots {
            *scratch = self.scratch();
        }
        fill_for(&self.op, ctx, mode, scratch);
        &scratch.values[self.op.slot()]
    }
}

struct Checker<'d> {
    defs: &'d dyn Definitions,
    errors: Vec<CheckError>,
    slots: usize,
    memos: usize,
    macro_stack: Vec<String>,
    /// Every field referred to, in order of first use.
    fields: Vec<FieldId>,
    /// The event source the condition is for, when fields must apply to it.
    source: Option<&'d str>,
}

impl Checker<'_> {
    fn slot(&mut self) -> usize {
        self.slots += 1;
        self.slots - 1
    }

    fn error(&mut self, span: Span, message: impl Into<String>) {
        self.error_of(span, message, CheckErrorKind::Other);
    }

    fn error_of(&mut self, span: Span, message: impl Into<String>, kind: CheckErrorKind) {
        let mut e = CheckError::new(span, message);
        e.kind = kind;
        e.in_macro = self.macro_stack.last().cloned();
        self.errors.push(e);
    }

    fn expr(&mut self, e: &Expr) -> Option<Node> {
        match e {
            Expr::And(l) => {
                let children: Vec<_> = l.children.iter().map(|c| self.expr(c)).collect();
                Some(Node::And(children.into_iter().collect::<Option<_>>()?))
            }
            Expr::Or(l) => {
                let children: Vec<_> = l.children.iter().map(|c| self.expr(c)).collect();
                Some(Node::Or(children.into_iter().collect::<Option<_>>()?))
            }
            Expr::Not(n) => {
                let child = self.expr(&n.child)?;
                Some(if n.is_negation() { Node::Not(Box::new(child)) } else { child })
            }
            Expr::Macro(m) => {
                if self.macro_stack.iter().any(|s| s == &m.name) {
                    self.error(m.span, format!("macro `{}` refers to itself", m.name));
                    return None;
                }
                let Some(body) = self.defs.macro_expr(&m.name) else {
                    self.error_of(
                        m.span,
                        format!("undefined macro `{}`", m.name),
                        CheckErrorKind::UnknownMacro(m.name.clone()),
                    );
                    return None;
                };
                self.macro_stack.push(m.name.clone());
                let node = self.expr(body);
                self.macro_stack.pop();
                node
            }
            Expr::Check(c) => self.check(c).map(by_type),
        }
    }

    /// Binds a field of the AST.
    fn field(&mut self, f: &syntax::Field) -> Option<Field> {
        let arg = f.arg.as_ref().map(|a| a.value.text.as_str());
        match Field::parse(&f.name, arg) {
            Ok(field) if self.source.is_some_and(|s| !field.applies_to(s)) => {
                let source = self.source.unwrap_or_default();
                self.error_of(
                    f.span,
                    format!("unknown field `{}` for source `{source}`", f.name),
                    CheckErrorKind::UnknownField { name: f.name.clone(), suggestion: None },
                );
                None
            }
            Ok(field) => {
                if !self.fields.contains(&field.id()) {
                    self.fields.push(field.id());
                }
                Some(field)
            }
            Err(e) => {
                let kind = match &e {
                    lanner_fields::FieldError::Unknown { name, suggestion } => {
                        CheckErrorKind::UnknownField { name: name.clone(), suggestion: *suggestion }
                    }
                    _ => CheckErrorKind::Other,
                };
                self.error_of(f.span, e.to_string(), kind);
                None
            }
        }
    }

    /// The left side of a check; returns the operand and the type of its values.
    fn operand(&mut self, op: &syntax::Operand) -> Option<(Operand, ParamType, Option<Field>)> {
        match op {
            syntax::Operand::Field(f) => {
                let field = self.field(f)?;
                let ty = field.ty();
                let slot = self.slot();
                Some((Operand::Field { field: field.clone(), slot }, ty, Some(field)))
            }
            syntax::Operand::Transformer(t) => self.transformer(t).map(|(o, ty)| (o, ty, None)),
        }
    }

    fn transformer(&mut self, t: &syntax::Transformer) -> Option<(Operand, ParamType)> {
        let mut args = Vec::new();
        let mut types = Vec::new();
        for a in &t.args {
            match a {
                TransformerArg::Field(f) => {
                    let field = self.field(f)?;
                    if field.def().has(epf::NO_TRANSFORMER) {
                        self.error(
                            f.span,
                            format!("field `{}` cannot be used in a transformer", f.name),
                        );
                        return None;
                    }
                    types.push((field.ty(), field.is_list()));
                    let slot = self.slot();
                    args.push(Operand::Field { field, slot });
                }
                TransformerArg::Transformer(inner) => {
                    let (o, ty) = self.transformer(inner)?;
                    types.push((ty, false));
                    args.push(o);
                }
                TransformerArg::Value(v) => {
                    types.push((ParamType::Charbuf, false));
                    let slot = self.slot();
                    args.push(Operand::Const { value: v.text.as_bytes().to_vec(), slot });
                }
                TransformerArg::List(l) => {
                    self.error(l.span, "transformer lists are not supported here");
                    return None;
                }
            }
        }
        let bad = |c: &mut Checker<'_>, why: &str| {
            c.error(
                t.span,
                format!("can't add field transformer: {why} by '{}' transformer", t.kind),
            );
        };
        let ty = match t.kind {
            TransformerKind::ToLower | TransformerKind::ToUpper | TransformerKind::Basename => {
                match types.as_slice() {
                    [(ty, false)] if kind_of(*ty) == Kind::Str => *ty,
                    [(ty, _)] => {
                        bad(self, &format!("type '{}' is not supported", ty.name()));
                        return None;
                    }
                    _ => {
                        bad(self, "exactly one argument is required");
                        return None;
                    }
                }
            }
            TransformerKind::B64 => match types.as_slice() {
                [(ty, false)] if matches!(kind_of(*ty), Kind::Str | Kind::Buffer) => *ty,
                _ => {
                    bad(self, "only a string or buffer is supported");
                    return None;
                }
            },
            TransformerKind::Len => match types.as_slice() {
                [(ty, list)] if *list || matches!(kind_of(*ty), Kind::Str | Kind::Buffer) => {
                    ParamType::Uint64
                }
                _ => {
                    bad(self, "only a string, a buffer or a list is supported");
                    return None;
                }
            },
            TransformerKind::Join => match types.as_slice() {
                [(_, false), (_, true)] => ParamType::Charbuf,
                _ => {
                    bad(self, "a separator and a list field are required");
                    return None;
                }
            },
            TransformerKind::Concat => {
                if types.len() < 2
                    || types.iter().any(|(ty, list)| *list || kind_of(*ty) != Kind::Str)
                {
                    bad(self, "two or more non-list strings are required");
                    return None;
                }
                ParamType::Charbuf
            }
            TransformerKind::GetOpt => {
                self.error(t.name_span, "the `getopt` transformer is not supported by lanner yet");
                return None;
            }
        };
        if t.arg.is_some() {
            self.error(t.span, format!("transformer '{}' does not take an argument", t.kind));
            return None;
        }
        let slot = self.slot();
        Some((Operand::Transform { kind: t.kind, args, slot }, ty))
    }

    fn check(&mut self, c: &syntax::Check) -> Option<CheckNode> {
        let (lhs, ty, field) = self.operand(&c.left)?;
        let op = c.op.kind.canonical();
        let kind = kind_of(ty);
        let multi = match &field {
            Some(f) if f.is_any_ancestor() => Multi::Any,
            Some(f)
                if matches!(
                    f.id(),
                    FieldId::FdIp | FieldId::FdPort | FieldId::FdNet | FieldId::FdProto
                ) =>
            {
                Multi::Ends
            }
            Some(f) if f.is_list() => Multi::List,
            _ => Multi::Single,
        };
        let op_span = c.op.span;
        let name = field.as_ref().map_or_else(|| "transformer".to_owned(), Field::to_text);
        if field.as_ref().is_some_and(|f| f.def().has(epf::PRINT_ONLY)) {
            self.error(c.left.span(), format!("field `{name}` can only be used in outputs"));
            return None;
        }
        // Operator against type.
        if multi == Multi::List && !matches!(op, OpKind::Exists | OpKind::In | OpKind::Intersects) {
            self.error(
                op_span,
                format!(
                    "list filter '{name}' only supports operators 'exists', 'in' and 'intersects'"
                ),
            );
            return None;
        }
        let allowed = match kind {
            Kind::Str => !matches!(op, OpKind::BContains | OpKind::BStartsWith),
            Kind::Buffer => matches!(
                op,
                OpKind::Exists
                    | OpKind::Eq
                    | OpKind::Ne
                    | OpKind::Contains
                    | OpKind::BContains
                    | OpKind::StartsWith
                    | OpKind::BStartsWith
                    | OpKind::EndsWith
                    | OpKind::In
                    | OpKind::Intersects
            ),
            Kind::Int | Kind::Double => matches!(
                op,
                OpKind::Exists
                    | OpKind::Eq
                    | OpKind::Ne
                    | OpKind::Lt
                    | OpKind::Le
                    | OpKind::Gt
                    | OpKind::Ge
                    | OpKind::In
                    | OpKind::Intersects
            ),
            Kind::Bool | Kind::Ip | Kind::Net => {
                matches!(
                    op,
                    OpKind::Exists | OpKind::Eq | OpKind::Ne | OpKind::In | OpKind::Intersects
                )
            }
        };
        if !allowed {
            self.error(
                op_span,
                format!("'{op}' operator not supported for {} filters", kind_name(kind)),
            );
            return None;
        }
        if field.as_ref().is_some_and(|f| f.id() == FieldId::EvtAround) {
            if op != OpKind::Eq {
                self.error(op_span, "evt.around supports only '=' comparison operator");
                return None;
            }
            let Some(Rhs::Value(v)) = &c.right else {
                self.error(c.span, "evt.around needs a number of milliseconds");
                return None;
            };
            let Some(ms) = parse_int(&v.text).and_then(|n| u64::try_from(n).ok()) else {
                self.error(v.span, format!("`{}` is not a number of milliseconds", v.text));
                return None;
            };
            return Some(CheckNode {
                lhs,
                multi: Multi::Single,
                list_op: None,
                matcher: Matcher::Around(ms),
                memo: None,
            });
        }
        let evt_type = field.as_ref().is_some_and(|f| f.id() == FieldId::EvtType);
        let matcher = match (&c.right, op) {
            (None, _) => Matcher::Exists,
            (Some(rhs), _) if c.modifier.is_some() => {
                let items = self.list_items(rhs)?;
                let mut each = Vec::new();
                for (text, span) in items {
                    each.push(self.single_matcher(op, &text, span, ty, evt_type)?);
                }
                Matcher::Modified(c.modifier.map_or(ModifierKind::AnyOf, |m| m.kind), each)
            }
            (Some(rhs @ (Rhs::List(_) | Rhs::ListRef(_))), OpKind::In | OpKind::Intersects) => {
                let items = self.list_items(rhs)?;
                let mut set = ConstSet::default();
                for (text, span) in items {
                    set.insert(self.constant(&text, span, ty, evt_type)?);
                }
                Matcher::Set(set)
            }
            (Some(rhs @ (Rhs::List(_) | Rhs::ListRef(_))), OpKind::PMatch) => {
                let items = self.list_items(rhs)?;
                Matcher::Prefixes(
                    items
                        .into_iter()
                        .map(|(t, _)| t.trim_end_matches('/').as_bytes().to_vec())
                        .collect(),
                )
            }
            (Some(Rhs::Value(v)), OpKind::In | OpKind::Intersects | OpKind::PMatch) => {
                // A single value after a list operator: a one-element list.
                if op == OpKind::PMatch {
                    Matcher::Prefixes(vec![v.text.trim_end_matches('/').as_bytes().to_vec()])
                } else {
                    let mut set = ConstSet::default();
                    set.insert(self.constant(&v.text, v.span, ty, evt_type)?);
                    Matcher::Set(set)
                }
            }
            (Some(Rhs::Value(v)), _) => self.single_matcher(op, &v.text, v.span, ty, evt_type)?,
            (Some(Rhs::Val(val)), _) => {
                let rf = self.field(&val.field)?;
                if rf.def().has(epf::NO_RHS) {
                    self.error(
                        val.field.span,
                        format!(
                            "field '{}' can't be used as a right-hand side field",
                            rf.to_text()
                        ),
                    );
                    return None;
                }
                if field.as_ref().is_some_and(|f| f.def().has(epf::NO_RHS)) {
                    self.error(
                        c.left.span(),
                        format!("field '{name}' doesn't support right-hand side fields"),
                    );
                    return None;
                }
                let cmp = self.cmp_of(op, c.op.span)?;
                let slot = self.slot();
                Matcher::Field(cmp, Box::new(Operand::Field { field: rf, slot }))
            }
            (Some(Rhs::Transformer(t)), _) => {
                let (o, _) = self.transformer(t)?;
                let cmp = self.cmp_of(op, c.op.span)?;
                Matcher::Field(cmp, Box::new(o))
            }
            (Some(rhs), _) => {
                self.error(rhs.span(), format!("'{op}' needs a single value"));
                return None;
            }
        };
        let list_op = (multi == Multi::List).then_some(op);
        let memo = (field.as_ref().is_some_and(|f| f.id().reads_lineage())
            && matches!(lhs, Operand::Field { .. })
            && !matches!(matcher, Matcher::Field(..)))
        .then(|| {
            self.memos += 1;
            self.memos - 1
        });
        Some(CheckNode { lhs, multi, list_op, matcher, memo })
    }

    fn cmp_of(&mut self, op: OpKind, span: Span) -> Option<Cmp> {
        Some(match op {
            OpKind::Eq => Cmp::Eq,
            OpKind::Ne => Cmp::Ne,
            OpKind::Lt => Cmp::Lt,
            OpKind::Le => Cmp::Le,
            OpKind::Gt => Cmp::Gt,
            OpKind::Ge => Cmp::Ge,
            _ => {
                self.error(span, format!("'{op}' cannot compare with a field"));
                return None;
            }
        })
    }

    /// The items of a list on the right side (inline, or a named list).
    fn list_items(&mut self, rhs: &Rhs) -> Option<Vec<(String, Span)>> {
        match rhs {
            Rhs::List(l) => Some(l.items.iter().map(|v| (v.text.clone(), v.span)).collect()),
            Rhs::ListRef(id) => match self.defs.list(&id.name) {
                Some(items) => Some(items.iter().map(|t| (t.clone(), id.span)).collect()),
                None => {
                    self.error(id.span, format!("undefined list `{}`", id.name));
                    None
                }
            },
            Rhs::Value(v) => Some(vec![(v.text.clone(), v.span)]),
            other => {
                self.error(other.span(), "a list of values is expected here");
                None
            }
        }
    }

    fn single_matcher(
        &mut self,
        op: OpKind,
        text: &str,
        span: Span,
        ty: ParamType,
        evt_type: bool,
    ) -> Option<Matcher> {
        let bytes = text.as_bytes().to_vec();
        Some(match op {
            OpKind::Contains => Matcher::Contains(bytes),
            OpKind::IContains => Matcher::IContains(bytes.to_ascii_lowercase()),
            OpKind::StartsWith => Matcher::StartsWith(bytes),
            OpKind::EndsWith => Matcher::EndsWith(bytes),
            OpKind::BContains | OpKind::BStartsWith => {
                let Some(decoded) = hex_decode(text) else {
                    self.error(
                        span,
                        "filter error: bcontains and bstartswith operator support hex strings only",
                    );
                    return None;
                };
                if op == OpKind::BContains {
                    Matcher::Contains(decoded)
                } else {
                    Matcher::StartsWith(decoded)
                }
            }
            OpKind::Glob => Matcher::Glob(Glob::new(&bytes, false)),
            OpKind::IGlob => Matcher::Glob(Glob::new(&bytes, true)),
            OpKind::Regex => match regex::bytes::Regex::new(&format!("^(?:{})$", re2_braces(text)))
            {
                Ok(re) => Matcher::Regex(re),
                Err(e) => {
                    self.error(span, format!("invalid regex pattern: {e}"));
                    return None;
                }
            },
            OpKind::In | OpKind::Intersects => {
                let mut set = ConstSet::default();
                set.insert(self.constant(text, span, ty, evt_type)?);
                Matcher::Set(set)
            }
            OpKind::PMatch => {
                Matcher::Prefixes(vec![text.trim_end_matches('/').as_bytes().to_vec()])
            }
            OpKind::Exists => Matcher::Exists,
            other => {
                let cmp = self.cmp_of(other, span)?;
                Matcher::Cmp(cmp, self.constant(text, span, ty, evt_type)?)
            }
        })
    }

    /// A value of the right side, parsed into the field's type.
    fn constant(&mut self, text: &str, span: Span, ty: ParamType, evt_type: bool) -> Option<Const> {
        let kind = kind_of(ty);
        let parsed = match kind {
            Kind::Str | Kind::Buffer => {
                if evt_type && !is_event_name(text) {
                    self.error_of(
                        span,
                        format!("unknown event type {text}"),
                        CheckErrorKind::UnknownEventType(text.to_owned()),
                    );
                    return None;
                }
                Some(Const::Bytes(text.as_bytes().to_vec()))
            }
            Kind::Int => parse_int(text)
                .or_else(|| {
                    (ty == ParamType::Port).then(|| port_by_name(text).map(i128::from)).flatten()
                })
                .map(Const::Int),
            Kind::Bool => match text {
                "true" => Some(Const::Bool(true)),
                "false" => Some(Const::Bool(false)),
                _ => None,
            },
            Kind::Ip => text.parse::<IpAddr>().ok().map(Const::Ip),
            Kind::Net => parse_net(text).map(|(ip, bits)| Const::Net(ip, bits)),
            Kind::Double => text.parse::<f64>().ok().map(Const::Double),
        };
        if parsed.is_none() {
            let what = match kind {
                Kind::Ip => "an IP address",
                Kind::Net => "an IP network",
                Kind::Bool => "a boolean (true or false)",
                Kind::Double => "a number",
                _ if ty == ParamType::Port => "a port number or service name",
                _ => "a number",
            };
            self.error(span, format!("`{text}` is not {what}"));
        }
        parsed
    }
}

fn is_event_name(name: &str) -> bool {
    (0..EVENT_MAX as u16).any(|c| event_info(c).is_some_and(|i| i.name == name))
        || (0..1024u16).any(|c| syscall_name(c) == Some(name))
}

/// The pattern with every `{` that does not open a counted repetition (`{n}`, `{n,}`, `{n,m}`)
/// escaped. RE2, which libs uses, reads such a brace as a literal (`pentest-[0-9]{2` matches
/// "pentest-5{2"); the `regex` crate rejects it ("unclosed counted repetition"). Rules files
/// meet this when Falco's loader splits an exception value like `x{2,4}` at its comma.
fn re2_braces(pattern: &str) -> std::borrow::Cow<'_, str> {
    fn is_repetition(rest: &str) -> bool {
        let Some(end) = rest.find('}') else { return false };
        let inner = &rest[1..end];
        let mut parts = inner.splitn(2, ',');
        let min = parts.next().unwrap_or("");
        let max = parts.next();
        !min.is_empty()
            && min.bytes().all(|b| b.is_ascii_digit())
            && max.is_none_or(|m| m.bytes().all(|b| b.is_ascii_digit()))
    }
    if !pattern.contains('{') {
        return pattern.into();
    }
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut escaped = false;
    let mut in_class = false;
    for (i, c) in pattern.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if in_class {
            in_class = c != ']';
        } else if c == '[' {
            in_class = true;
        } else if c == '{' && !is_repetition(&pattern[i..]) {
            out.push('\\');
        }
        out.push(c);
    }
    out.into()
}

/// Decimal or `0x` hexadecimal, with an optional sign.
fn parse_int(text: &str) -> Option<i128> {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let v = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        Some(hex) => i128::from_str_radix(hex, 16).ok()?,
        None => digits.parse::<i128>().ok()?,
    };
    Some(if neg { -v } else { v })
}

fn parse_net(text: &str) -> Option<(IpAddr, u8)> {
    let (ip, bits) = text.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    let bits: u8 = bits.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some((ip, bits))
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.is_empty() {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// Well-known service names a port value may be written as.
fn port_by_name(name: &str) -> Option<u16> {
    Some(match name {
        "ftp-data" => 20,
        "ftp" => 21,
        "ssh" => 22,
        "telnet" => 23,
        "smtp" => 25,
        "domain" => 53,
        "http" => 80,
        "kerberos" => 88,
        "pop3" => 110,
        "sunrpc" => 111,
        "nntp" => 119,
        "ntp" => 123,
        "imap" => 143,
        "snmp" => 161,
        "ldap" => 389,
        "https" => 443,
        "microsoft-ds" => 445,
        "syslog" => 514,
        "submission" => 587,
        "ldaps" => 636,
        "imaps" => 993,
        "pop3s" => 995,
        "mysql" => 3306,
        "postgresql" => 5432,
        "redis" => 6379,
        "http-alt" => 8080,
        _ => return None,
    })
}

fn in_net(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - u32::from(bits)) };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - u32::from(bits)) };
            u128::from(a) & mask == u128::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V4(_)) => {
            a.to_ipv4_mapped().is_some_and(|a| in_net(IpAddr::V4(a), net, bits))
        }
        _ => false,
    }
}

/// Compares one extracted value with a constant.
fn compare(v: Value<'_>, cmp: Cmp, c: &Const) -> bool {
    use std::cmp::Ordering;
    // Equality of strings, the most common check, needs no ordering.
    if let (Value::Bytes(a), Const::Bytes(b), Cmp::Eq | Cmp::Ne) = (v, c, cmp) {
        return (a == b.as_slice()) == (cmp == Cmp::Eq);
    }
    let ord: Option<Ordering> = match (v, c) {
        (Value::Int(a), Const::Int(b)) => Some(i128::from(a).cmp(b)),
        (Value::Uint(a), Const::Int(b)) => Some(i128::from(a).cmp(b)),
        (Value::Bool(a), Const::Bool(b)) => Some(a.cmp(b)),
        (Value::Bytes(a), Const::Bytes(b)) => Some(a.cmp(b.as_slice())),
        (Value::Ip(a), Const::Ip(b)) => {
            Some(if a == *b { Ordering::Equal } else { Ordering::Less })
        }
        (Value::Ip(a), Const::Net(n, bits)) => {
            Some(if in_net(a, *n, *bits) { Ordering::Equal } else { Ordering::Less })
        }
        (Value::Double(a), Const::Double(b)) => a.partial_cmp(b),
        (Value::Double(a), Const::Int(b)) => a.partial_cmp(&(*b as f64)),
        _ => None,
    };
    ord.is_some_and(|ord| holds(cmp, ord))
}

/// Whether an ordering satisfies a comparison.
fn holds(cmp: Cmp, ord: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering;
    match cmp {
        Cmp::Eq => ord == Ordering::Equal,
        Cmp::Ne => ord != Ordering::Equal,
        Cmp::Lt => ord == Ordering::Less,
        Cmp::Le => ord != Ordering::Greater,
        Cmp::Gt => ord == Ordering::Greater,
        Cmp::Ge => ord != Ordering::Less,
    }
}

/// Compares two extracted values (field against field).
fn compare_values(a: Value<'_>, cmp: Cmp, b: Value<'_>) -> bool {
    let c = match b {
        Value::Int(i) => Const::Int(i128::from(i)),
        Value::Uint(u) => Const::Int(i128::from(u)),
        Value::Bool(x) => Const::Bool(x),
        Value::Bytes(y) => {
            // Strings compare in place: no constant to build.
            return match a {
                Value::Bytes(x) => holds(cmp, x.cmp(y)),
                _ => false,
            };
        }
        Value::Ip(ip) => Const::Ip(ip),
        Value::Double(d) => Const::Double(d),
    };
    compare(a, cmp, &c)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// `contains` for a needle already in lower case, ignoring ASCII case in the haystack.
fn contains_ignore_case(hay: &[u8], lower_needle: &[u8]) -> bool {
    lower_needle.is_empty()
        || hay
            .windows(lower_needle.len())
            .any(|w| w.iter().zip(lower_needle).all(|(a, b)| a.to_ascii_lowercase() == *b))
}

fn as_bytes<'v>(v: &Value<'v>) -> Option<&'v [u8]> {
    match v {
        Value::Bytes(b) => Some(b),
        _ => None,
    }
}

/// Whether one value satisfies a matcher (fields on the right side are already extracted into
/// `rhs`).
fn matches_value(m: &Matcher, v: Value<'_>, rhs: &Values) -> bool {
    match m {
        Matcher::Exists => true,
        Matcher::Cmp(cmp, c) => compare(v, *cmp, c),
        Matcher::Contains(n) => as_bytes(&v).is_some_and(|h| contains(h, n)),
        Matcher::IContains(n) => as_bytes(&v).is_some_and(|h| contains_ignore_case(h, n)),
        Matcher::StartsWith(n) => as_bytes(&v).is_some_and(|h| h.starts_with(n)),
        Matcher::EndsWith(n) => as_bytes(&v).is_some_and(|h| h.ends_with(n)),
        Matcher::Glob(g) => as_bytes(&v).is_some_and(|h| g.matches(h)),
        Matcher::Regex(re) => as_bytes(&v).is_some_and(|h| re.is_match(h)),
        Matcher::Set(set) => set.contains(v),
        Matcher::Prefixes(ps) => as_bytes(&v).is_some_and(|h| {
            ps.iter().any(|p| {
                h == p.as_slice() || (h.starts_with(p) && (p.is_empty() || h[p.len()] == b'/'))
            })
        }),
        Matcher::Modified(kind, each) => {
            let n = each.iter().filter(|m| matches_value(m, v, rhs)).count();
            match kind {
                ModifierKind::OneOf => n == 1,
                ModifierKind::AnyOf => n >= 1,
                ModifierKind::AllOf => n == each.len(),
            }
        }
        Matcher::Field(cmp, _) => rhs.first().is_some_and(|r| compare_values(v, *cmp, r)),
        Matcher::Around(ms) => matches!(v, Value::Uint(d) if d <= *ms),
    }
}

/// Extracts an operand into its slot (and its arguments into theirs).
#[inline]
fn fill(op: &Operand, ctx: &EventContext<'_>, scratch: &mut Scratch) {
    fill_for(op, ctx, Mode::Filter, scratch);
}

/// [`fill`] for a filter or an output.
#[inline]
fn fill_for(op: &Operand, ctx: &EventContext<'_>, mode: Mode, scratch: &mut Scratch) {
    match op {
        Operand::Field { field, slot } => {
            let (values, states) = (&mut scratch.values, &mut scratch.states);
            extract(field, ctx, mode, &mut states[*slot], &mut values[*slot]);
        }
        Operand::Const { value, slot } => {
            let out = &mut scratch.values[*slot];
            out.clear();
            out.push_bytes(value);
        }
        Operand::Transform { kind, args, slot } => {
            for a in args {
                fill_for(a, ctx, mode, scratch);
            }
            let mut out = std::mem::take(&mut scratch.values[*slot]);
            out.clear();
            transform(*kind, args, scratch, &mut out);
            scratch.values[*slot] = out;
        }
    }
}

fn transform(kind: TransformerKind, args: &[Operand], scratch: &Scratch, out: &mut Values) {
    let input = &scratch.values[args[0].slot()];
    match kind {
        TransformerKind::ToLower | TransformerKind::ToUpper => {
            for v in input.iter() {
                if let Value::Bytes(b) = v {
                    out.push_with(|o| {
                        o.extend(b.iter().map(|c| {
                            if kind == TransformerKind::ToLower {
                                c.to_ascii_lowercase()
                            } else {
                                c.to_ascii_uppercase()
                            }
                        }))
                    });
                }
            }
        }
        TransformerKind::Basename => {
            for v in input.iter() {
                if let Value::Bytes(b) = v {
                    let base = b.iter().rposition(|&c| c == b'/').map_or(b, |i| &b[i + 1..]);
                    out.push_bytes(base);
                }
            }
        }
        TransformerKind::B64 => {
            for v in input.iter() {
                if let Value::Bytes(b) = v
                    && let Some(decoded) = base64_decode(b)
                {
                    out.push_bytes(&decoded);
                }
            }
        }
        TransformerKind::Len => {
            if input.len() > 1
                || matches!(&args[0], Operand::Field { field, .. } if field.is_list())
            {
                out.push_uint(input.len() as u64);
            } else if let Some(Value::Bytes(b)) = input.first() {
                out.push_uint(b.len() as u64);
            }
        }
        TransformerKind::Join => {
            let sep = match scratch.values[args[0].slot()].first() {
                Some(Value::Bytes(s)) => s.to_vec(),
                _ => return,
            };
            let list = &scratch.values[args[1].slot()];
            if list.is_empty() {
                return;
            }
            out.push_with(|o| {
                for (i, v) in list.iter().enumerate() {
                    if i > 0 {
                        o.extend_from_slice(&sep);
                    }
                    if let Value::Bytes(b) = v {
                        o.extend_from_slice(b);
                    }
                }
            });
        }
        TransformerKind::Concat => {
            if args.iter().any(|a| scratch.values[a.slot()].is_empty()) {
                return;
            }
            out.push_with(|o| {
                for a in args {
                    if let Some(Value::Bytes(b)) = scratch.values[a.slot()].first() {
                        o.extend_from_slice(b);
                    }
                }
            });
        }
        TransformerKind::GetOpt => {}
    }
}

/// Base64 decoding with optional padding.
fn base64_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in input {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

fn eval(node: &Node, ctx: &EventContext<'_>, scratch: &mut Scratch) -> bool {
    match node {
        Node::And(children) => children.iter().all(|c| eval(c, ctx, scratch)),
        Node::Or(children) => children.iter().any(|c| eval(c, ctx, scratch)),
        Node::Not(child) => !eval(child, ctx, scratch),
        Node::Check(check) => eval_check(check, ctx, scratch),
        Node::Memo { slot, child } => {
            remembered(*slot, ctx, scratch, |ctx, scratch| eval(child, ctx, scratch))
        }
        Node::ByType { truth, dynamic, check } => {
            let code = ctx.event.event_type();
            if truth.contains(code) {
                true
            } else if dynamic.contains(code) || usize::from(code) >= EVENT_MAX {
                eval_check(check, ctx, scratch)
            } else {
                false
            }
        }
    }
}

#[inline]
fn eval_check(check: &CheckNode, ctx: &EventContext<'_>, scratch: &mut Scratch) -> bool {
    match check.memo {
        Some(slot) => {
            remembered(slot, ctx, scratch, |ctx, scratch| eval_check_now(check, ctx, scratch))
        }
        None => eval_check_now(check, ctx, scratch),
    }
}

/// The outcome of a lineage-only test for the event's thread: remembered in memo `slot` while
/// the state's lineage generation stays the same, worked out by `now` otherwise.
#[inline]
fn remembered(
    slot: usize,
    ctx: &EventContext<'_>,
    scratch: &mut Scratch,
    now: impl FnOnce(&EventContext<'_>, &mut Scratch) -> bool,
) -> bool {
    let (tid, generation) = (ctx.event.tid(), ctx.state.lineage_generation());
    let at = slot * MEMO_WAYS + memo_way(tid);
    let memo = scratch.memos[at];
    if memo.tid == tid && memo.generation == generation {
        return memo.result;
    }
    let result = now(ctx, scratch);
    scratch.memos[at] = Memo { tid, generation, result };
    result
}

fn eval_check_now(check: &CheckNode, ctx: &EventContext<'_>, scratch: &mut Scratch) -> bool {
    match &check.lhs {
        // The usual left side, extracted here rather than through `fill` (which recurses for
        // transformers and so stays a call).
        Operand::Field { field, slot } => {
            let (values, states) = (&mut scratch.values, &mut scratch.states);
            extract(field, ctx, Mode::Filter, &mut states[*slot], &mut values[*slot]);
        }
        lhs => fill(lhs, ctx, scratch),
    }
    if let Matcher::Field(_, rhs) = &check.matcher {
        fill(rhs, ctx, scratch);
    }
    let rhs_slot = match &check.matcher {
        Matcher::Field(_, rhs) => Some(rhs.slot()),
        _ => None,
    };
    let values = &scratch.values[check.lhs.slot()];
    let empty = Values::new();
    let rhs = rhs_slot.map_or(&empty, |s| &scratch.values[s]);
    if values.is_empty() || (rhs_slot.is_some() && rhs.is_empty()) {
        return false;
    }
    if matches!(check.matcher, Matcher::Exists) {
        return true;
    }
    match check.multi {
        Multi::Single => values.first().is_some_and(|v| matches_value(&check.matcher, v, rhs)),
        Multi::Any => values.iter().any(|v| matches_value(&check.matcher, v, rhs)),
        Multi::Ends => {
            if let Matcher::Cmp(Cmp::Ne, c) = &check.matcher {
                values.iter().all(|v| !compare(v, Cmp::Eq, c))
            } else {
                values.iter().any(|v| matches_value(&check.matcher, v, rhs))
            }
        }
        Multi::List => match check.list_op {
            Some(OpKind::In) => values.iter().all(|v| matches_value(&check.matcher, v, rhs)),
            _ => values.iter().any(|v| matches_value(&check.matcher, v, rhs)),
        },
    }
}

#[cfg(test)]
mod re2_tests {
    use super::re2_braces;

    #[test]
    fn lone_braces_are_literals() {
        assert_eq!(re2_braces("pentest-[0-9]{2"), "pentest-[0-9]\\{2");
        assert_eq!(re2_braces("a{2,4}b{1}c{3,}"), "a{2,4}b{1}c{3,}");
        assert_eq!(re2_braces("4}"), "4}");
        assert_eq!(re2_braces("[{]x"), "[{]x");
        assert!(regex::Regex::new(&re2_braces("x{2")).is_ok());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numbers_and_nets() {
        assert_eq!(parse_int("42"), Some(42));
        assert_eq!(parse_int("-1"), Some(-1));
        assert_eq!(parse_int("0x1F"), Some(31));
        assert_eq!(parse_int("abc"), None);
        assert!(in_net("10.1.2.3".parse().unwrap(), "10.0.0.0".parse().unwrap(), 8));
        assert!(!in_net("11.1.2.3".parse().unwrap(), "10.0.0.0".parse().unwrap(), 8));
        assert_eq!(hex_decode("7f454c46"), Some(b"\x7fELF".to_vec()));
        assert_eq!(hex_decode("7g"), None);
        assert_eq!(base64_decode(b"aGVsbG8="), Some(b"hello".to_vec()));
        assert_eq!(base64_decode(b"aGVsbG8"), Some(b"hello".to_vec()));
    }

    #[test]
    fn reports_every_problem() {
        let err = Filter::compile("proc.nmae = bash and fd.num contains 3 and evt.type = nope")
            .unwrap_err();
        let CompileError::Check(errors) = &err else { panic!("{err}") };
        let messages: Vec<_> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "unknown field `proc.nmae` (did you mean `proc.name`?)",
                "'contains' operator not supported for numeric filters",
                "unknown event type nope",
            ]
        );
        assert!(Filter::compile("proc.name = bash").is_ok());
        assert!(Filter::compile("undefined_macro").is_err());
    }

    fn codes(name: &str) -> Vec<u16> {
        (0..EVENT_MAX as u16).filter(|&c| event_info(c).is_some_and(|i| i.name == name)).collect()
    }

    fn types(condition: &str) -> TypeSet {
        Filter::compile(condition).unwrap().event_types().clone()
    }

    #[test]
    fn event_types_are_a_sound_superset() {
        let open = codes("open");
        assert!(open.len() >= 2, "open has both directions");
        // Async events may be called anything; generic syscall events carry the names of the
        // syscalls that have no events of their own, which `open` is not.
        let t = types("evt.type = open");
        assert_eq!(t.len(), open.len() + 1);
        assert!(open.iter().chain(&[ASYNC_EVENT]).all(|&c| t.contains(c)));
        let generic = generic_syscall_names().next().unwrap();
        let t = types(&format!("evt.type = {generic}"));
        assert_eq!(t.iter().collect::<Vec<_>>(), [0, 1, ASYNC_EVENT]);
        assert!(generic_syscall_names().all(|n| n != "open" && n != "execve"));

        let dynamic = [0, 1, ASYNC_EVENT];
        let t = types("not evt.type = open");
        assert!(open.iter().all(|&c| !t.contains(c)));
        assert!(dynamic.iter().all(|&c| t.contains(c)));
        assert_eq!(t.len(), TypeSet::all().len() - open.len());

        // Another field may make the negation true for open events too.
        assert_eq!(types("not (evt.type = open and proc.name = cat)"), TypeSet::all());
        assert_eq!(types("evt.type = open or proc.name = cat"), TypeSet::all());
        assert_eq!(types("proc.name = cat"), TypeSet::all());

        // evt.dir is decided by the type alone, for every type.
        let t = types("evt.type in (open, close) and evt.dir = <");
        let exits: Vec<u16> =
            codes("open").into_iter().chain(codes("close")).filter(|c| c % 2 == 1).collect();
        assert_eq!(t.iter().collect::<Vec<_>>(), exits);

        // Contradictions match nothing; other operators on evt.type work too.
        let t = types("evt.type = open and evt.type = close");
        assert_eq!(t.iter().collect::<Vec<_>>(), [ASYNC_EVENT]);
        // fd fields have values only for events about an fd.
        let t = types("fd.net = 127.0.0.0/8");
        assert!(codes("read").iter().all(|&c| t.contains(c)));
        assert!(codes("execve").iter().all(|&c| !t.contains(c)));
        assert_eq!(types("not fd.net = 127.0.0.0/8"), TypeSet::all());
        assert_eq!(types("tolower(fd.name) = x"), TypeSet::all());

        let t = types("evt.type startswith execve");
        assert!(codes("execveat").iter().all(|&c| t.contains(c)));
        assert!(codes("open").iter().all(|&c| !t.contains(c)));
    }
}
