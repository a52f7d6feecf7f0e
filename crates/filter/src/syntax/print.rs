//! Printing the AST the way libs' `ast::as_string` does.
//!
//! Falco shows compiled conditions in this form (`falco -L`, its rule loader tests, error
//! contexts), so `Display` for [`Expr`] reproduces it byte for byte rather than echoing the
//! input:
//!
//! - every `and`/`or` is parenthesized, `(a and b)`, and nothing else is;
//! - `not` prints as `not ` once, or not at all when an even number of `not`s cancel out;
//! - operators print as written (`==` stays `==`), separated by single spaces;
//! - values and field arguments print through libs' `escape_str` (see [`super::escape`]): bare
//!   unless they hold a blank, a quote or a backslash, and then double-quoted;
//! - lists print as `(a, b, c)`, transformers as `name(arg, arg)`.
//!
//! This form is not always parseable: an empty string prints as nothing, and a value such as
//! `a(b)` that was quoted in the input prints bare. That is libs' behaviour too.

use std::fmt::{self, Display, Formatter, Write as _};

use super::ast::{
    Check, Expr, Field, FieldArg, Ident, List, Logical, Operand, Rhs, Transformer, TransformerArg,
    TransformerList, Val, Value,
};
use super::escape::write_escaped;

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::And(l) => write_logical(f, "and", l),
            Expr::Or(l) => write_logical(f, "or", l),
            Expr::Not(n) => {
                if n.is_negation() {
                    f.write_str("not ")?;
                }
                n.child.fmt(f)
            }
            Expr::Check(c) => c.fmt(f),
            Expr::Macro(m) => m.fmt(f),
        }
    }
}

fn write_logical(f: &mut Formatter<'_>, keyword: &str, l: &Logical) -> fmt::Result {
    f.write_char('(')?;
    for (i, child) in l.children.iter().enumerate() {
        if i > 0 {
            write!(f, " {keyword} ")?;
        }
        child.fmt(f)?;
    }
    f.write_char(')')
}

impl Display for Check {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.left, self.op.kind)?;
        if let Some(m) = self.modifier {
            write!(f, " {}", m.kind)?;
        }
        if let Some(right) = &self.right {
            write!(f, " {right}")?;
        }
        Ok(())
    }
}

impl Display for Operand {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Field(x) => x.fmt(f),
            Operand::Transformer(x) => x.fmt(f),
        }
    }
}

impl Display for Rhs {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Rhs::Value(x) => x.fmt(f),
            Rhs::List(x) => x.fmt(f),
            Rhs::ListRef(x) => x.fmt(f),
            Rhs::Val(x) => x.fmt(f),
            Rhs::Transformer(x) => x.fmt(f),
        }
    }
}

impl Display for Ident {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl Display for Field {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(arg) = &self.arg {
            arg.fmt(f)?;
        }
        Ok(())
    }
}

impl Display for FieldArg {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_char('[')?;
        write_escaped(f, &self.value.text)?;
        f.write_char(']')
    }
}

impl Display for Value {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_escaped(f, &self.text)
    }
}

impl Display for List {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_joined(f, &self.items)
    }
}

impl Display for Val {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "val({})", self.field)
    }
}

impl Display for Transformer {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.as_str())?;
        write_joined(f, &self.args)?;
        if let Some(arg) = &self.arg {
            arg.fmt(f)?;
        }
        Ok(())
    }
}

impl Display for TransformerArg {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            TransformerArg::Field(x) => x.fmt(f),
            TransformerArg::Transformer(x) => x.fmt(f),
            TransformerArg::Value(x) => x.fmt(f),
            TransformerArg::List(x) => x.fmt(f),
        }
    }
}

impl Display for TransformerList {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_joined(f, &self.items)
    }
}

/// `(a, b, c)`.
fn write_joined<T: Display>(f: &mut Formatter<'_>, items: &[T]) -> fmt::Result {
    f.write_char('(')?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        item.fmt(f)?;
    }
    f.write_char(')')
}
