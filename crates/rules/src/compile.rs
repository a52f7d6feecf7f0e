//! Compiling: what the reader collected, to rules with compiled filters, as Falco's
//! `rule_loader::compiler` does.
//!
//! 1. Lists are expanded (items naming an earlier list are inlined).
//! 2. Every macro condition has the lists substituted *as text* (Falco's quirk, reproduced on
//!    purpose: any list, defined before or after, wherever its name stands between delimiters),
//!    is parsed, and its macro references are checked against the macros visible to it.
//! 3. Every rule gets its exceptions folded into the condition text, its output checked, its
//!    condition substituted, parsed, resolved and compiled by its [`Source`], and its warnings.
//! 4. Macros and lists that nothing used are reported.

use std::collections::{HashMap, HashSet};

use lanner_filter::syntax::{self, Expr, OpKind, Operand, Rhs, Span};
use lanner_filter::{CheckErrorKind, CompileError, Definitions};

use crate::diag::{Code, Diagnostic, ItemType, Location, Position, Snippet};
use crate::read::{Collector, Entry, ExceptionInfo, Origin, RuleInfo, comp_takes_list};
use crate::ruleset::Rule;
use crate::source::Source;

/// Falco's parser depth limit for rule conditions.
const MAX_DEPTH: u32 = 1000;
/// Most nodes a rule's condition may expand to once macros are substituted.
const MAX_EXPANDED_NODES: usize = 1_000_000;
/// Fields Falco reports as deprecated.
const DEPRECATED_FIELDS: &[&str] = &[
    "evt.dir",
    "evt.latency",
    "evt.latency.s",
    "evt.latency.ns",
    "evt.latency.human",
    "evt.wait_latency",
];

/// The files, by index: names and texts.
pub(crate) type Files<'a> = &'a [(String, String)];

pub(crate) struct Compiler<'a> {
    pub col: &'a Collector,
    pub files: Files<'a>,
    pub sources: &'a [&'a dyn Source],
    pub diags: &'a mut Vec<Diagnostic>,
}

/// Expanded lists and parsed macros, what [`Definitions`] hands the filter checker.
struct Defs {
    lists: HashMap<String, Vec<String>>,
    macros: HashMap<String, Expr>,
}

impl Definitions for Defs {
    fn macro_expr(&self, name: &str) -> Option<&Expr> {
        self.macros.get(name)
    }
    fn list(&self, name: &str) -> Option<&[String]> {
        self.lists.get(name).map(Vec::as_slice)
    }
}

/// Falco's `quote_item`: double quotes around an item with a space, unless already quoted.
fn quote_item(e: &str) -> String {
    if e.contains(' ') && !e.starts_with('"') && !e.starts_with('\'') {
        format!("\"{e}\"")
    } else {
        e.to_owned()
    }
}

fn paren_item(e: &str) -> String {
    if e.starts_with('(') { e.to_owned() } else { format!("({e})") }
}

fn find_bytes(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() || hay.len() - from < needle.len() {
        return None;
    }
    hay[from..].windows(needle.len()).position(|w| w == needle).map(|i| i + from)
}

/// Falco's `resolve_list`: substitutes a list's items for its name wherever the name stands
/// between delimiters (start/end, blanks, `(`, `)`, `,`, `=`). Returns whether it did.
pub(crate) fn resolve_list(cnd: &mut String, name: &str, items: &[String]) -> bool {
    const BLANKS: &[u8] = b" \t\n\r";
    const DELIMS: &[u8] = b" \t\n\r(),=";
    if !cnd.contains(name) {
        return false;
    }
    let mut c = std::mem::take(cnd).into_bytes();
    let n = name.as_bytes();
    let mut used = false;
    let mut found = find_bytes(&c, n, 0);
    while let Some(mut start) = found {
        let mut end = start + n.len();
        if (start == 0 || DELIMS.contains(&c[start - 1]))
            && (end >= c.len() || DELIMS.contains(&c[end]))
        {
            while start > 0 && BLANKS.contains(&c[start - 1]) {
                start -= 1;
            }
            while end < c.len() && BLANKS.contains(&c[end]) {
                end += 1;
            }
            let sub = items.iter().map(|v| quote_item(v)).collect::<Vec<_>>().join(", ");
            if sub.is_empty() {
                if start > 0 && c[start - 1] == b',' {
                    start -= 1;
                } else if end < c.len() && c[end] == b',' {
                    end += 1;
                }
            }
            let mut new = Vec::with_capacity(c.len() + sub.len() + 2);
            if start > 0 {
                new.extend_from_slice(&c[..start]);
                new.push(b' ');
            }
            new.extend_from_slice(sub.as_bytes());
            new.push(b' ');
            if end <= c.len() {
                new.extend_from_slice(&c[end..]);
            }
            c = new;
            start += sub.len() + 1;
            used = true;
        }
        found = find_bytes(&c, n, start + 1);
    }
    // Only whole strings are spliced in at ASCII delimiters, so the bytes stay UTF-8.
    *cnd =
        String::from_utf8(c).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    used
}

/// Falco's `build_rule_exception_infos`: the condition with ` and not (...)` per exception.
fn exception_condition(
    cond: &str,
    exceptions: &[ExceptionInfo],
) -> Result<String, (String, Vec<Location>)> {
    let mut condition = format!("({cond})");
    for ex in exceptions {
        let mut icond = String::new();
        match (&ex.fields, &ex.comps) {
            (Some(Entry::Item(field)), comps) => {
                let comp = match comps {
                    Some(Entry::Item(c)) => c.as_str(),
                    _ => "in",
                };
                for val in &ex.values {
                    let Entry::Item(v) = val else {
                        return Err((
                            "Expected values array to contain a list of strings".into(),
                            ex.ctx.clone(),
                        ));
                    };
                    if icond.is_empty() {
                        icond = format!("({field} {comp} (");
                    } else {
                        icond.push_str(", ");
                    }
                    icond.push_str(&quote_item(v));
                }
                if !icond.is_empty() {
                    icond.push_str("))");
                }
            }
            (Some(Entry::List(fields)), comps) => {
                let comps: Vec<&str> = match comps {
                    Some(Entry::List(c)) => c
                        .iter()
                        .map(|e| match e {
                            Entry::Item(s) => s.as_str(),
                            Entry::List(_) => "=",
                        })
                        .collect(),
                    _ => vec!["="; fields.len()],
                };
                icond.push('(');
                for values in &ex.values {
                    let items: &[Entry] = match values {
                        Entry::List(items) => items,
                        Entry::Item(_) => std::slice::from_ref(values),
                    };
                    if fields.len() != items.len() {
                        return Err((
                            "Fields and values lists must have equal length".into(),
                            ex.ctx.clone(),
                        ));
                    }
                    if icond != "(" {
                        icond.push_str(" or ");
                    }
                    icond.push('(');
                    for (k, field) in fields.iter().enumerate() {
                        if k > 0 {
                            icond.push_str(" and ");
                        }
                        let comp = comps.get(k).copied().unwrap_or("=");
                        let istr = match &items[k] {
                            Entry::List(vs) => {
                                let inner: Vec<String> = vs
                                    .iter()
                                    .map(|v| match v {
                                        Entry::Item(s) => quote_item(s),
                                        Entry::List(_) => String::new(),
                                    })
                                    .collect();
                                format!("({})", inner.join(", "))
                            }
                            Entry::Item(v) if comp_takes_list(comp) => paren_item(v),
                            Entry::Item(v) => quote_item(v),
                        };
                        let field = match field {
                            Entry::Item(f) => f.as_str(),
                            Entry::List(_) => "",
                        };
                        icond.push_str(&format!(" {field} {comp} {istr}"));
                    }
                    icond.push(')');
                }
                icond.push(')');
                if icond == "()" {
                    icond.clear();
                }
            }
            (None, _) => {}
        }
        if !icond.is_empty() {
            condition.push_str(" and not ");
            condition.push_str(&icond);
        }
    }
    Ok(condition)
}

/// Every macro reference of an expression, in order.
fn macro_refs<'e>(e: &'e Expr, out: &mut Vec<&'e syntax::Ident>) {
    match e {
        Expr::And(l) | Expr::Or(l) => l.children.iter().for_each(|c| macro_refs(c, out)),
        Expr::Not(n) => macro_refs(&n.child, out),
        Expr::Check(_) => {}
        Expr::Macro(m) => out.push(m),
    }
}

/// A macro resolution error: message, span, and the macro whose text holds the span.
struct RefError {
    message: String,
    span: Span,
    in_macro: Option<String>,
}

/// The macro table the resolution works on.
struct MacroTable<'a> {
    col: &'a Collector,
    parsed: &'a HashMap<String, Expr>,
    /// Per macro: the lowest visibility at which its references are known to resolve.
    ok_at: HashMap<String, usize>,
    used: HashSet<String>,
    /// The macro whose own condition is being checked, if any: the text spans refer to when
    /// no macro is being expanded.
    root: Option<String>,
}

impl MacroTable<'_> {
    /// Checks that every macro reference of `e` resolves among macros of index below
    /// `visibility`, recursively, as libs' `filter_macro_resolver` does.
    fn check(
        &mut self,
        e: &Expr,
        visibility: usize,
        stack: &mut Vec<String>,
    ) -> Result<(), RefError> {
        let mut refs = Vec::new();
        macro_refs(e, &mut refs);
        for r in refs {
            let in_macro = stack.last().cloned().or_else(|| self.root.clone());
            if stack.iter().any(|s| s == &r.name) {
                return Err(RefError {
                    message: format!("reference loop in macro '{}'", r.name),
                    span: r.span,
                    in_macro,
                });
            }
            let info = self.col.macro_info(&r.name).filter(|m| m.index < visibility);
            let body = info.and_then(|_| self.parsed.get(&r.name));
            let Some(body) = body else {
                return Err(RefError {
                    message: format!("Undefined macro '{}' used in filter.", r.name),
                    span: r.span,
                    in_macro,
                });
            };
            self.used.insert(r.name.clone());
            if self.ok_at.get(&r.name).is_some_and(|&v| v <= visibility) {
                continue;
            }
            stack.push(r.name.clone());
            let result = self.check(body, visibility, stack);
            stack.pop();
            result?;
            self.ok_at.insert(r.name.clone(), visibility);
        }
        Ok(())
    }
}

/// The expression with every macro reference replaced by the macro's body (references already
/// checked), as libs prints compiled conditions. `None` when it would grow past the budget.
fn expand(e: &Expr, macros: &HashMap<String, Expr>, budget: &mut usize) -> Option<Expr> {
    *budget = budget.checked_sub(1)?;
    Some(match e {
        Expr::And(l) => {
            let mut l2 = l.clone();
            l2.children =
                l.children.iter().map(|c| expand(c, macros, budget)).collect::<Option<_>>()?;
            Expr::And(l2)
        }
        Expr::Or(l) => {
            let mut l2 = l.clone();
            l2.children =
                l.children.iter().map(|c| expand(c, macros, budget)).collect::<Option<_>>()?;
            Expr::Or(l2)
        }
        Expr::Not(n) => {
            let mut n2 = n.clone();
            n2.child = Box::new(expand(&n.child, macros, budget)?);
            Expr::Not(n2)
        }
        Expr::Check(_) => e.clone(),
        Expr::Macro(m) => match macros.get(&m.name) {
            Some(body) => expand(body, macros, budget)?,
            None => e.clone(),
        },
    })
}

/// Whether an expression can never be true: `evt.num = 0` (Falco's `never_true`), and
/// conjunctions holding one.
fn never_true(e: &Expr) -> bool {
    match e {
        Expr::And(l) => l.children.iter().any(never_true),
        Expr::Or(l) => l.children.iter().all(never_true),
        Expr::Not(n) => !n.is_negation() && never_true(&n.child),
        Expr::Macro(_) => false,
        Expr::Check(c) => {
            matches!(&c.left, Operand::Field(f) if f.name == "evt.num" && f.arg.is_none())
                && matches!(c.op.kind, OpKind::Eq | OpKind::EqEq)
                && c.modifier.is_none()
                && matches!(&c.right, Some(Rhs::Value(v)) if v.text == "0")
        }
    }
}

/// Fields named in an expression (left sides, transformer arguments, `val()`).
fn field_names<'e>(e: &'e Expr, out: &mut Vec<&'e str>) {
    match e {
        Expr::And(l) | Expr::Or(l) => l.children.iter().for_each(|c| field_names(c, out)),
        Expr::Not(n) => field_names(&n.child, out),
        Expr::Macro(_) => {}
        Expr::Check(c) => {
            if let Operand::Field(f) = &c.left {
                out.push(&f.name);
            }
            if let Some(Rhs::Val(v)) = &c.right {
                out.push(&v.field.name);
            }
        }
    }
}

/// Constant strings on the right of checks that look like fields or transformers.
fn misused_constants<'e>(e: &'e Expr, out: &mut Vec<&'e syntax::Value>) {
    match e {
        Expr::And(l) | Expr::Or(l) => l.children.iter().for_each(|c| misused_constants(c, out)),
        Expr::Not(n) => misused_constants(&n.child, out),
        Expr::Macro(_) => {}
        Expr::Check(c) => match &c.right {
            Some(Rhs::Value(v)) => out.push(v),
            Some(Rhs::List(l)) => out.extend(l.items.iter()),
            _ => {}
        },
    }
}

const TRANSFORMERS: &[&str] =
    &["tolower(", "toupper(", "b64(", "basename(", "len(", "join(", "concat(", "getopt(", "val("];

impl Compiler<'_> {
    /// Finds `token` in the file text the condition pieces came from, to underline it.
    fn locate(&self, token: &str, origins: &[Origin]) -> Option<(Snippet, Position)> {
        let token = token.trim();
        if token.is_empty() {
            return None;
        }
        for o in origins {
            let (name, text) = self.files.get(o.file)?;
            let from = o.mark.offset.min(text.len());
            // Search the scalar's own text: up to the next top-level item.
            let window_end = text[from..].find("\n- ").map_or(text.len(), |i| from + i);
            if let Some(i) = text[from..window_end].find(token) {
                let start = from + i;
                let line = text[..start].matches('\n').count();
                let line_start = text[..start].rfind('\n').map_or(0, |j| j + 1);
                let column = text[line_start..start].chars().count();
                return Some((
                    Snippet { name: name.clone(), start, end: start + token.len() },
                    Position { name: name.clone(), line, column, offset: start },
                ));
            }
        }
        None
    }

    /// A diagnostic about a condition's text: the item chain, a `condition expression`
    /// location and the underlined token when found.
    #[expect(clippy::too_many_arguments, reason = "all of them say where the problem is")]
    fn condition_diag(
        &self,
        code: Code,
        message: String,
        ctx: &[Location],
        condition: &str,
        token: &str,
        origins: &[Origin],
        help: Option<String>,
    ) -> Diagnostic {
        let mut d = Diagnostic::new(code, message, ctx.to_vec());
        let short: String = if condition.chars().count() > 17 {
            condition.chars().take(17).collect::<String>() + "..."
        } else {
            condition.to_owned()
        };
        let fallback = ctx.last().map(|l| l.position.clone()).unwrap_or_default();
        match self.locate(token, origins) {
            Some((snippet, pos)) => {
                d.locations.push(Location {
                    item_type: ItemType::ConditionExpression,
                    item_name: short,
                    position: pos,
                });
                d.snippet = Some(snippet);
            }
            None => d.locations.push(Location {
                item_type: ItemType::ConditionExpression,
                item_name: short,
                position: fallback,
            }),
        }
        d.help = help;
        d
    }

    /// `LOAD_ERR_COMPILE_CONDITION` for a condition (after list substitution) that does not
    /// parse, the word at the parser's position underlined.
    fn syntax_diag(
        &self,
        e: &syntax::ParseError,
        ctx: &[Location],
        text: &str,
        origins: &[Origin],
    ) -> Diagnostic {
        let token = Self::token_at(text, e.position.offset);
        self.condition_diag(
            Code::ErrCompileCondition,
            e.kind.to_string(),
            ctx,
            text,
            token,
            origins,
            None,
        )
    }

    /// The token at a byte offset of a condition: the word there.
    fn token_at(text: &str, offset: usize) -> &str {
        let mut start = offset.min(text.len());
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        let rest = &text[start..];
        let end = rest
            .find(|c: char| c.is_whitespace() || "()',\"".contains(c))
            .filter(|&e| e > 0)
            .unwrap_or_else(|| rest.chars().next().map_or(0, char::len_utf8));
        &rest[..end]
    }

    pub(crate) fn compile(&mut self) -> Vec<Rule> {
        let col = self.col;
        // 1. Lists.
        let mut lists: Vec<(String, Vec<String>)> = Vec::with_capacity(col.lists.len());
        let mut expanded: HashMap<&str, Vec<String>> = HashMap::new();
        let mut used_lists: HashSet<String> = HashSet::new();
        for list in &col.lists {
            let mut items = Vec::with_capacity(list.items.len());
            for item in &list.items {
                match col.list(item).filter(|r| r.index < list.visibility) {
                    Some(r) => {
                        used_lists.insert(r.name.clone());
                        match expanded.get(r.name.as_str()) {
                            Some(e) => items.extend(e.iter().cloned()),
                            None => items.extend(r.items.iter().cloned()),
                        }
                    }
                    None => items.push(item.clone()),
                }
            }
            expanded.insert(&list.name, items.clone());
            lists.push((list.name.clone(), items));
        }
        let substitute = |cond: &str, used: &mut HashSet<String>| -> String {
            let mut text = cond.to_owned();
            for (name, items) in &lists {
                if resolve_list(&mut text, name, items) {
                    used.insert(name.clone());
                }
            }
            text
        };
        let mut parser = syntax::Parser::new();
        parser.set_max_depth(MAX_DEPTH);

        // 2. Macros.
        let mut parsed: HashMap<String, Expr> = HashMap::new();
        let mut macro_texts: HashMap<String, String> = HashMap::new();
        for m in &col.macros {
            let text = substitute(&m.cond, &mut used_lists);
            match parser.parse(&text) {
                Ok(e) => {
                    parsed.insert(m.name.clone(), e);
                }
                Err(e) => {
                    let d = self.syntax_diag(&e, &m.cond_ctx, &text, &m.cond_origins);
                    self.diags.push(d);
                }
            }
            macro_texts.insert(m.name.clone(), text);
        }
        let mut table = MacroTable {
            col,
            parsed: &parsed,
            ok_at: HashMap::new(),
            used: HashSet::new(),
            root: None,
        };
        for m in &col.macros {
            let Some(e) = parsed.get(&m.name) else { continue };
            // As libs' resolver, the macro's own name is not on the expansion stack: a macro
            // using itself is an undefined macro (it is not visible to itself).
            table.root = Some(m.name.clone());
            let result = table.check(e, m.visibility, &mut Vec::new());
            table.root = None;
            if let Err(err) = result {
                let d = self.ref_diag(err, &m.ctx, &macro_texts);
                self.diags.push(d);
            }
        }

        let defs = Defs { lists: lists.iter().cloned().collect(), macros: parsed.clone() };

        // 3. Rules.
        let mut rules = Vec::new();
        for (order, r) in col.rules.iter().enumerate() {
            if r.unknown_source {
                continue;
            }
            let Some(source) = self.sources.iter().find(|s| s.name() == r.source) else { continue };
            if let Some(mut rule) = self.compile_rule(
                r,
                *source,
                &lists,
                &mut used_lists,
                &mut table,
                &defs,
                &macro_texts,
            ) {
                rule.order = order;
                rules.push(rule);
            }
        }

        // 4. Unused macros and lists.
        for m in &col.macros {
            if !table.used.contains(&m.name) {
                self.diags.push(Diagnostic::new(
                    Code::UnusedMacro,
                    "Macro not referred to by any other rule/macro",
                    m.ctx.clone(),
                ));
            }
        }
        for l in &col.lists {
            if !used_lists.contains(&l.name) {
                self.diags.push(Diagnostic::new(
                    Code::UnusedList,
                    "List not referred to by any other rule/macro",
                    l.ctx.clone(),
                ));
            }
        }
        rules
    }

    /// The list name closest to a word that names none (lists are substituted as text, so a
    /// misspelt list name stays a plain word: an unknown event type, or a silent literal).
    fn closest_list(&self, name: &str) -> Option<&str> {
        self.col
            .lists
            .iter()
            .map(|l| (lanner_fields::edit_distance(name, &l.name), l.name.as_str()))
            .filter(|&(d, n)| d > 0 && d <= 2.max(n.len() / 4))
            .min_by_key(|&(d, _)| d)
            .map(|(_, n)| n)
    }

    /// The macro name closest to an unknown one, for a "did you mean".
    fn closest_macro(&self, name: &str) -> Option<&str> {
        self.col
            .macros
            .iter()
            .map(|m| (lanner_fields::edit_distance(name, &m.name), m.name.as_str()))
            .filter(|&(d, n)| d > 0 && d <= 2.max(n.len() / 4))
            .min_by_key(|&(d, _)| d)
            .map(|(_, n)| n)
    }

    fn ref_diag(
        &self,
        err: RefError,
        ctx: &[Location],
        macro_texts: &HashMap<String, String>,
    ) -> Diagnostic {
        let (text, origins): (&str, &[Origin]) = match &err.in_macro {
            Some(m) => (
                macro_texts.get(m).map_or("", String::as_str),
                self.col.macro_info(m).map_or(&[][..], |i| &i.cond_origins),
            ),
            None => ("", &[]),
        };
        let token = text.get(err.span.start..err.span.end).unwrap_or("");
        let help = err
            .message
            .starts_with("Undefined macro")
            .then(|| self.closest_macro(token))
            .flatten()
            .map(|m| format!("did you mean `{m}`?"));
        self.condition_diag(Code::ErrValidate, err.message, ctx, text, token, origins, help)
    }

    #[expect(clippy::too_many_arguments, reason = "the compiler's tables, borrowed apart")]
    fn compile_rule(
        &mut self,
        r: &RuleInfo,
        source: &dyn Source,
        lists: &[(String, Vec<String>)],
        used_lists: &mut HashSet<String>,
        table: &mut MacroTable<'_>,
        defs: &Defs,
        macro_texts: &HashMap<String, String>,
    ) -> Option<Rule> {
        let mut condition = r.cond.clone();
        let mut exception_fields = std::collections::BTreeSet::new();
        if !r.exceptions.is_empty() {
            match exception_condition(&r.cond, &r.exceptions) {
                Ok(c) => condition = c,
                Err((msg, ctx)) => {
                    self.diags.push(Diagnostic::new(Code::ErrValidate, msg, ctx));
                    return None;
                }
            }
            for ex in &r.exceptions {
                match &ex.fields {
                    Some(Entry::Item(f)) => {
                        exception_fields.insert(f.clone());
                    }
                    Some(Entry::List(fs)) => {
                        for f in fs {
                            if let Entry::Item(f) = f {
                                exception_fields.insert(f.clone());
                            }
                        }
                    }
                    None => {}
                }
            }
        }

        // The output.
        let mut output = r.output.clone();
        if output.contains("%container.info") {
            self.diags.push(Diagnostic::new(
                Code::DeprecatedItem,
                "%container.info is deprecated and no more useful, and will be dropped by Falco 1.0.0. The container plugin will automatically add required fields to the output message.",
                r.ctx.clone(),
            ));
            output = output.replace("%container.info", "");
        }
        if let Err(e) = source.check_output(&output) {
            let code = if r.skip_if_unknown_filter && e.unknown_field {
                Code::UnknownFilter
            } else {
                Code::ErrCompileOutput
            };
            let mut d = Diagnostic::new(code, e.message, r.output_ctx.clone());
            let token = output.get(e.offset..e.offset + e.len).unwrap_or("");
            if let Some(origin) = r.output_origin
                && let Some((snippet, _)) = self.locate(token, &[origin])
            {
                d.snippet = Some(snippet);
            }
            d.help = e.suggestion.map(|s| format!("did you mean `%{s}`?"));
            self.diags.push(d);
            return None;
        }
        for f in DEPRECATED_FIELDS {
            if output.contains(f) {
                self.diags.push(Diagnostic::new(
                    Code::DeprecatedItem,
                    format!("usage of deprecated field '{f}' has been detected in the rule output"),
                    r.output_ctx.clone(),
                ));
            }
        }

        // The condition.
        let text = {
            let mut t = condition.clone();
            for (name, items) in lists {
                if resolve_list(&mut t, name, items) {
                    used_lists.insert(name.clone());
                }
            }
            t
        };
        let mut parser = syntax::Parser::new();
        parser.set_max_depth(MAX_DEPTH);
        let ast = match parser.parse(&text) {
            Ok(ast) => ast,
            Err(e) => {
                let d = self.syntax_diag(&e, &r.cond_ctx, &text, &r.cond_origins);
                self.diags.push(d);
                return None;
            }
        };
        // Falco compiles after each file: a rule sees the macros of the files up to the one
        // that last changed it, not those of later files.
        let visibility = self.col.file_end_ids.get(&r.last_file).copied().unwrap_or(usize::MAX);
        if let Err(err) = table.check(&ast, visibility, &mut Vec::new()) {
            let d = if err.in_macro.is_some() {
                self.ref_diag(err, &r.ctx, macro_texts)
            } else {
                let token = text.get(err.span.start..err.span.end).unwrap_or("");
                let help = self.closest_macro(token).map(|m| format!("did you mean `{m}`?"));
                self.condition_diag(
                    Code::ErrValidate,
                    err.message,
                    &r.ctx,
                    &text,
                    token,
                    &r.cond_origins,
                    help,
                )
            };
            self.diags.push(d);
            return None;
        }
        let mut budget = MAX_EXPANDED_NODES;
        let Some(expanded) = expand(&ast, &defs.macros, &mut budget) else {
            self.diags.push(Diagnostic::new(
                Code::ErrCompileCondition,
                format!("condition expands to more than {MAX_EXPANDED_NODES} nodes once macros are substituted"),
                r.cond_ctx.clone(),
            ));
            return None;
        };

        // Warnings on the resolved condition.
        let mut names = Vec::new();
        field_names(&expanded, &mut names);
        let mut seen = HashSet::new();
        for f in DEPRECATED_FIELDS {
            if names.contains(f) && seen.insert(*f) {
                self.diags.push(Diagnostic::new(
                    Code::DeprecatedItem,
                    format!(
                        "usage of deprecated field '{f}' has been detected in the rule condition"
                    ),
                    r.cond_ctx.clone(),
                ));
            }
        }
        let mut consts = Vec::new();
        misused_constants(&expanded, &mut consts);
        for v in consts {
            let t = v.text.as_str();
            if source.looks_like_field(t) {
                self.diags.push(Diagnostic::new(
                    Code::CompileCondition,
                    format!("'{t}' may be a valid field misused as a const string value"),
                    r.cond_ctx.clone(),
                ));
            } else if TRANSFORMERS.iter().any(|p| t.trim_start().starts_with(p)) && t.contains(' ')
            {
                self.diags.push(Diagnostic::new(
                    Code::CompileCondition,
                    format!(
                        "'{t}' may be a valid field transformer misused as a const string value"
                    ),
                    r.cond_ctx.clone(),
                ));
            }
        }

        // Compile.
        let filter = match source.compile(&ast, &text, defs) {
            Ok(f) => f,
            Err(CompileError::Syntax(e)) => {
                let d = self.syntax_diag(&e, &r.cond_ctx, &text, &r.cond_origins);
                self.diags.push(d);
                return None;
            }
            Err(CompileError::Check(errors)) => {
                let unknown_only = errors.iter().all(|e| {
                    matches!(
                        e.kind,
                        CheckErrorKind::UnknownField { .. } | CheckErrorKind::UnknownEventType(_)
                    )
                });
                let skip = r.skip_if_unknown_filter && unknown_only;
                for e in errors {
                    let (message, help) = match &e.kind {
                        CheckErrorKind::UnknownField { name, suggestion } => (
                            format!("filter_check called with nonexistent field {name}"),
                            crate::source::suggest_field(name)
                                .or(*suggestion)
                                .map(|s| format!("did you mean `{s}`?")),
                        ),
                        CheckErrorKind::UnknownEventType(t) => (
                            format!("unknown event type {t}"),
                            self.closest_list(t).map(|l| format!("did you mean the list `{l}`?")),
                        ),
                        _ => (e.message.clone(), None),
                    };
                    let (ctext, origins): (&str, &[Origin]) = match &e.in_macro {
                        Some(m) => (
                            macro_texts.get(m).map_or("", String::as_str),
                            self.col.macro_info(m).map_or(&[][..], |i| &i.cond_origins),
                        ),
                        None => (&text, &r.cond_origins),
                    };
                    let token = ctext.get(e.span.start..e.span.end).unwrap_or("");
                    let code = if skip { Code::UnknownFilter } else { Code::ErrCompileCondition };
                    let mut d = self.condition_diag(
                        code,
                        message,
                        &r.cond_ctx,
                        ctext,
                        token,
                        origins,
                        help,
                    );
                    if let Some(m) = &e.in_macro
                        && let Some(info) = self.col.macro_info(m)
                    {
                        d.locations
                            .insert(d.locations.len() - 1, info.ctx[info.ctx.len() - 1].clone());
                    }
                    self.diags.push(d);
                }
                return None;
            }
        };

        let types = filter.event_types().len();
        if r.source == "syscall" && r.warn_evttypes && types > 100 && !never_true(&expanded) {
            self.diags.push(Diagnostic::new(
                Code::NoEvttype,
                "Rule matches too many evt.type values. This has a significant performance penalty.",
                r.ctx.clone(),
            ));
        }

        Some(Rule {
            name: r.name.clone(),
            desc: r.desc.clone(),
            source: r.source.clone(),
            priority: r.priority,
            tags: r.tags.clone(),
            enabled: r.enabled,
            condition: r.cond.clone(),
            compiled_condition: expanded.to_string(),
            filter,
            output,
            exception_fields,
            capture: r.capture,
            capture_duration: r.capture_duration,
            warn_evttypes: r.warn_evttypes,
            skip_if_unknown_filter: r.skip_if_unknown_filter,
            position: r.position.clone(),
            // Set by the caller, which knows the rule's place.
            order: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(cnd: &str, name: &str, items: &[&str]) -> String {
        let mut c = cnd.to_owned();
        let items: Vec<String> = items.iter().map(|s| (*s).to_owned()).collect();
        resolve_list(&mut c, name, &items);
        c
    }

    #[test]
    fn list_substitution_is_textual() {
        assert_eq!(
            sub("proc.name in (shells)", "shells", &["sh", "bash"]),
            "proc.name in ( sh, bash )"
        );
        assert_eq!(sub("proc.name in (a, shells)", "shells", &[]), "proc.name in (a  )");
        assert_eq!(sub("proc.name in (myshells)", "shells", &["sh"]), "proc.name in (myshells)");
        assert_eq!(sub("x in (l)", "l", &["a b"]), "x in ( \"a b\" )");
    }

    #[test]
    fn exceptions_text() {
        let ex = ExceptionInfo {
            name: "e".into(),
            fields: Some(Entry::List(vec![Entry::Item("proc.cmdline".into())])),
            comps: Some(Entry::List(vec![Entry::Item("contains".into())])),
            values: vec![Entry::List(vec![Entry::Item("curl 127.0.0.1".into())])],
            ctx: vec![],
        };
        assert_eq!(
            exception_condition("a", &[ex]).unwrap(),
            "(a) and not (( proc.cmdline contains \"curl 127.0.0.1\"))"
        );
    }
}
