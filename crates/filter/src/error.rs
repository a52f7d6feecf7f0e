//! Errors of checking a condition against the field registry.

use crate::syntax::{Position, Span};

/// A problem found while checking a condition: what, and which text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CheckError {
    /// The text at fault, as a byte range of the condition, or of the macro named by
    /// [`CheckError::in_macro`] when the problem is inside a macro's body.
    pub span: Span,
    /// What is wrong.
    pub message: String,
    /// What kind of problem, for callers that word it their own way (the rules loader reports
    /// an unknown field with Falco's message, and the suggestion apart).
    pub kind: CheckErrorKind,
    /// The innermost macro ([`crate::Definitions::macro_expr`]) whose body holds the span;
    /// `None` when the span is in the condition itself. Macro bodies are separate texts, so a
    /// span alone cannot say which text it indexes.
    pub in_macro: Option<String>,
}

/// The kinds of [`CheckError`] a caller may want to tell apart; everything else is `Other`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckErrorKind {
    /// No field has this name.
    UnknownField {
        /// The name as written.
        name: String,
        /// The closest known field name.
        suggestion: Option<&'static str>,
    },
    /// A macro reference that [`crate::Definitions`] does not know.
    UnknownMacro(String),
    /// An `evt.type` value that names no event.
    UnknownEventType(String),
    /// Any other problem.
    Other,
}

impl CheckError {
    pub(crate) fn new(span: Span, message: impl Into<String>) -> CheckError {
        CheckError { span, message: message.into(), kind: CheckErrorKind::Other, in_macro: None }
    }

    /// The error with the condition's line quoted and the offending text underlined:
    ///
    /// ```text
    /// unknown field `proc.nmae` (did you mean `proc.name`?) at line 1, column 1
    ///   proc.nmae = bash
    ///   ^^^^^^^^^
    /// ```
    pub fn render(&self, condition: &str) -> String {
        render_span(&self.message, self.span, condition)
    }
}

/// `message at line L, column C`, the line of `text` holding the span, and a caret line under
/// the span.
///
/// A span that starts or ends inside a character (a byte offset the lexer stopped at in the
/// middle of a non-ASCII identifier) is widened to the whole character.
pub fn render_span(message: &str, span: Span, text: &str) -> String {
    let start = floor_char_boundary(text, span.start);
    let end = ceil_char_boundary(text, span.end.max(start));
    let pos = Position::of(text, start);
    let line_start = text[..start].rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let line_end = text[line_start..].find(['\n', '\r']).map_or(text.len(), |i| line_start + i);
    let line = &text[line_start..line_end];
    let col = text[line_start..start].chars().count();
    let width = text[start.min(line_end)..end.min(line_end).max(start.min(line_end))]
        .chars()
        .count()
        .max(1);
    format!(
        "{message} at line {}, column {}\n  {line}\n  {}{}",
        pos.line,
        pos.column,
        " ".repeat(col),
        "^".repeat(width)
    )
}

/// The largest char boundary of `text` at or before `i` (its length past the end).
fn floor_char_boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The smallest char boundary of `text` at or after `i` (its length past the end).
fn ceil_char_boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn underlines_the_span() {
        let text = "evt.type=open and proc.nmae=x";
        let e = CheckError::new(Span::new(18, 27), "unknown field `proc.nmae`");
        assert_eq!(&text[18..27], "proc.nmae");
        assert_eq!(
            e.render(text),
            "unknown field `proc.nmae` at line 1, column 19\n  evt.type=open and proc.nmae=x\n                    ^^^^^^^^^"
        );
    }

    #[test]
    fn widens_a_span_that_cuts_a_character() {
        // The lexer stops inside `é`: bytes 6..8.
        let text = "proc.néame=cat";
        let e = CheckError::new(Span::new(5, 7), "unexpected");
        assert_eq!(e.render(text), "unexpected at line 1, column 6\n  proc.néame=cat\n       ^^");
    }
}
