//! The Falco filter language: conditions of rules and `-f` filters, from text to a program
//! that evaluates events.
//!
//! A condition goes through four forms, each owned by one stage and never skipped:
//!
//! ```text
//!  text ──parse──▶ AST ──check──▶ checked IR ──compile──▶ program
//!  "proc.name in   syntax::Expr    fields resolved,        immutable, Send + Sync,
//!   (sh, bash)"    spans, quoting  types and operators     per-thread scratch;
//!                  as written      verified, macros and    what the engine runs
//!                                  lists expanded
//! ```
//!
//! 1. **Syntax** ([`syntax`], implemented): the text becomes an AST faithful to what was
//!    written, with the byte span of every node, under exactly libs' grammar and error
//!    messages. Printing it gives the form Falco shows for compiled conditions.
//! 2. **Checking** (to come): the AST is resolved against the field registry into a typed IR —
//!    unknown fields, operators a type does not support, values that do not parse as the
//!    field's type are load-time errors, reported all at once with the span to underline.
//!    Macro references are expanded here; the IR has no notion of text.
//! 3. **Compiling** (to come): the IR becomes a program built for speed (event-type index,
//!    hash sets for `in`/`pmatch`, literals grouped per field, cheapest tests first) that also
//!    reports the event types and fields it needs.
//!
//! The AST is never evaluated: only programs are. That keeps every check of the language at
//! load time, where it can name the rule and the text at fault, and keeps the hot path free of
//! anything the text would drag along.
//!
//! ```
//! let expr = lanner_filter::syntax::parse("evt.type = open and proc.name = cat")?;
//! assert_eq!(expr.to_string(), "(evt.type = open and proc.name = cat)");
//! # Ok::<(), lanner_filter::syntax::ParseError>(())
//! ```

mod error;
mod glob;
mod program;
pub mod syntax;

pub use error::{CheckError, render_span};
pub use program::{CompileError, CompileOptions, Definitions, Filter, NoDefinitions, Scratch};
