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
//! 1. **Syntax** ([`syntax`]): the text becomes an AST faithful to what was written, with the
//!    byte span of every node, under exactly libs' grammar and error messages. Printing it
//!    gives the form Falco shows for compiled conditions.
//! 2. **Checking** ([`Filter::compile_with`]): the AST is resolved against the field registry:
//!    unknown fields, operators a type does not support, values that do not parse as the
//!    field's type are load-time errors ([`CheckError`]), reported all at once with the span to
//!    underline. Macro references and lists are expanded here ([`Definitions`]).
//! 3. **Compiling**: what the checker accepts becomes a program: typed constants, hash sets for
//!    `in`/`intersects`/`pmatch`, compiled regexes and globs, one value slot per field
//!    reference, evaluated with a per-thread [`Scratch`] that stops allocating once warm.
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

pub use error::{CheckError, CheckErrorKind, render_span};
pub use program::{
    CompileError, CompileOptions, Definitions, Extractor, Filter, NoDefinitions, Scratch, TypeSet,
};
