//! Parse errors: libs' messages, word for word, and where the parser stopped.
//!
//! Falco prints the parser's message verbatim (`LOAD_ERR_COMPILE_CONDITION`), its test suites
//! compare it, and users search for it, so [`ErrorKind`]'s `Display` is libs' text exactly. The
//! position is the one libs reports too: where the parser's cursor was when it gave up, which is
//! not always the start of the offending token (libs consumes `contains` before finding that no
//! blank follows it, for instance).

use super::escape::EscapeError;

/// Why a condition failed to parse, and where.
///
/// `Display` gives `<libs message> at line L, column C`; [`ParseError::kind`]'s `Display` gives
/// the bare libs message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at line {}, column {}", position.line, position.column)]
pub struct ParseError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Where the parser was when it gave up.
    pub position: Position,
}

/// A place in a condition: a byte offset, and the line and column libs would report for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Position {
    /// Byte offset from the start of the input.
    pub offset: usize,
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1, counted in bytes.
    pub column: u32,
}

impl Position {
    /// The line and column of byte `offset` of `input`, counted the way libs' parser counts
    /// them (`ast::pos_info`): every `\n` *and* every `\r` starts a new line (so a CRLF counts
    /// two), and columns count bytes, not characters. Offsets past the end are clamped to it.
    ///
    /// ```
    /// use lanner_filter::syntax::Position;
    /// let p = Position::of("a and\n  b", 8);
    /// assert_eq!((p.line, p.column), (2, 3));
    /// ```
    pub fn of(input: &str, offset: usize) -> Position {
        let offset = offset.min(input.len());
        let mut line = 1u32;
        let mut column = 1u32;
        for &b in &input.as_bytes()[..offset] {
            column = column.saturating_add(1);
            if b == b'\r' || b == b'\n' {
                column = 1;
                line = line.saturating_add(1);
            }
        }
        Position { offset, line, column }
    }
}

/// The transformers libs lists in its messages, `val` first, as `token_list_to_str` quotes them.
const TRANSFORMERS: &str =
    "'val', 'tolower', 'toupper', 'b64', 'basename', 'len', 'join', 'concat', 'getopt'";

/// The operators libs lists in "expected a valid check operator", in its order.
const OPERATORS: &str = "'exists', '<=', '<', '>=', '>', '==', '=', '!=', 'glob', 'iglob', 'contains', \
     'icontains', 'bcontains', 'startswith', 'bstartswith', 'endswith', 'regex', 'intersects', \
     'in', 'pmatch'";

/// What went wrong. The `Display` of each variant is libs' message (`filter/parser.cpp`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is the empty string (blanks alone are a different error).
    #[error("filter input string is empty")]
    EmptyInput,
    /// A complete expression was parsed but input remains. `last` is the last token the parser
    /// read (for a quoted string: its unescaped content), as libs reports it.
    #[error("unexpected token after '{last}', expecting 'or', 'and'")]
    TrailingInput {
        /// The last token read before the unparsed rest.
        last: String,
    },
    /// `and` or `or` directly followed by something other than a blank or `(`.
    #[error("expected blank or '(' after '{keyword}'")]
    ExpectedBlankOrParen {
        /// `"and"` or `"or"`.
        keyword: &'static str,
    },
    /// A parenthesized expression or a value list is not closed.
    #[error("expected a ')' token")]
    ExpectedCloseParen,
    /// Nothing that can start a check: not `(`, a field, a transformer or an identifier.
    #[error("expected a '(' token, a field check, or an identifier")]
    ExpectedCheck,
    /// `field[` not followed by a quoted or bare argument.
    #[error("expected a valid field argument: a quoted string or a bare string")]
    ExpectedFieldArg,
    /// `field[arg` not followed by `]`.
    #[error("expected a ']' token")]
    ExpectedCloseBracket,
    /// A transformer's arguments are not followed by `)`.
    #[error("expected a ')' token closing the transformer")]
    ExpectedTransformerClose,
    /// A transformer argument that is none of the allowed kinds.
    #[error(
        "expected field transformer argument: field, transformer, quoted string, number, or transformer list"
    )]
    ExpectedTransformerArg,
    /// A transformer list (`join("-", (a.b, c.d))`) is not closed.
    #[error("expected ')'")]
    ExpectedTransformerListClose,
    /// An element of a transformer list that is none of the allowed kinds.
    #[error("expected transformer list argument: field, transformer, quoted string, or number")]
    ExpectedTransformerListArg,
    /// Not a field or a transformer call, where only one may be
    /// ([`Parser::parse_field_or_transformer`](super::Parser::parse_field_or_transformer)).
    #[error("expected a field or a field transformer")]
    ExpectedFieldOrTransformer,
    /// A field or transformer not followed by an operator.
    #[error("expected a valid check operator: one of {}", OPERATORS)]
    ExpectedOperator,
    /// A numeric operator not followed by a number or a transformer.
    #[error("expected a number value or a field with a valid transformer: {}", TRANSFORMERS)]
    ExpectedNumber,
    /// A list element that is not a string.
    #[error("expected a string value")]
    ExpectedString,
    /// A string operator not followed by a string or a transformer.
    #[error("expected a string value or a field with a valid transformer: {}", TRANSFORMERS)]
    ExpectedStringOrTransformer,
    /// A list operator not followed by a list, a list name or a transformer.
    #[error(
        "expected a list, an identifier, or a field with a valid transformer: {}",
        TRANSFORMERS
    )]
    ExpectedList,
    /// `val(` not followed by a field.
    #[error("expected a field within 'val' transformer")]
    ExpectedValField,
    /// The expression nests deeper than the parser's limit (see
    /// [`Parser::set_max_depth`](super::Parser::set_max_depth)).
    #[error("exceeded max depth limit of {0}")]
    MaxDepth(u32),
    /// A quoted string with an escape the language does not have.
    #[error(transparent)]
    Escape(#[from] EscapeError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_counts_like_libs() {
        assert_eq!(Position::of("", 0), Position { offset: 0, line: 1, column: 1 });
        assert_eq!(Position::of("abc", 2), Position { offset: 2, line: 1, column: 3 });
        assert_eq!(Position::of("a \n and \n  b", 12), Position { offset: 12, line: 3, column: 4 });
        // CR and LF each start a line, as in libs.
        assert_eq!(Position::of("a\r\nb", 3), Position { offset: 3, line: 3, column: 1 });
        // Columns count bytes.
        assert_eq!(Position::of("é", 2).column, 3);
        assert_eq!(Position::of("ab", 99).offset, 2);
    }

    #[test]
    fn display_appends_line_and_column() {
        let err = ParseError { kind: ErrorKind::EmptyInput, position: Position::of("", 0) };
        assert_eq!(err.to_string(), "filter input string is empty at line 1, column 1");
        let kind = ErrorKind::TrailingInput { last: "open".into() };
        assert_eq!(kind.to_string(), "unexpected token after 'open', expecting 'or', 'and'");
    }
}
