//! The syntax layer: condition text to an [`Expr`] tree with spans, and back to text.
//!
//! [`parse`] (or a configured [`Parser`]) turns a condition into an AST that is faithful to
//! what was written — every node has the byte [`Span`] of its text, strings keep their quoting
//! and raw text — and shaped the way libs shapes it. `Display` on the AST prints libs'
//! `as_string` form, the one Falco shows for compiled conditions.
//!
//! ```
//! use lanner_filter::syntax::{self, Expr, Rhs};
//!
//! let input = "proc.name in (bash, 'zsh') and not fd.name startswith /etc";
//! let expr = syntax::parse(input)?;
//! assert_eq!(expr.to_string(), "(proc.name in (bash, zsh) and not fd.name startswith /etc)");
//!
//! let Expr::And(and) = &expr else { unreachable!() };
//! let Expr::Check(check) = &and.children[0] else { unreachable!() };
//! let Some(Rhs::List(list)) = &check.right else { unreachable!() };
//! assert_eq!(list.items[1].raw, "'zsh'");
//! assert_eq!(list.items[1].span.text(input), "'zsh'");
//! # Ok::<(), syntax::ParseError>(())
//! ```
//!
//! What this layer accepts and rejects is exactly what libs' parser (0.25) accepts and
//! rejects, down to its error messages; the conformance corpus of libs' own parser tests runs
//! against it (`tests/parser_cases.rs`). It does not know which fields exist, which operators
//! suit which types, or what macros and lists are defined: those are the checker's.
//!
//! Errors ([`ParseError`]) carry libs' message and the position libs reports (a byte offset,
//! and the line and column as libs counts them, see [`Position::of`]).

pub mod ast;
mod error;
pub mod escape;
mod parse;
mod print;

pub use ast::{
    Check, Expr, Field, FieldArg, Ident, List, Logical, Modifier, ModifierKind, Not, OpClass,
    OpKind, Operand, Operator, Rhs, Span, Style, Transformer, TransformerArg, TransformerKind,
    TransformerList, Val, Value,
};
pub use error::{ErrorKind, ParseError, Position};
pub use escape::EscapeError;
pub use parse::Parser;

/// Parses a whole condition with libs' default depth limit (100).
///
/// ```
/// let err = lanner_filter::syntax::parse("evt.type=open bar").unwrap_err();
/// assert_eq!(err.kind.to_string(), "unexpected token after 'open', expecting 'or', 'and'");
/// assert_eq!(err.to_string(), "unexpected token after 'open', expecting 'or', 'and' at line 1, column 15");
/// ```
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    Parser::new().parse(input)
}
