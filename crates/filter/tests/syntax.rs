//! The syntax layer's promises, one by one: spans cover exactly their text, errors carry libs'
//! messages and positions, escapes follow released libs, the libs quirks we keep on purpose are
//! kept, and the depth limit keeps the recursion inside a thread's stack.

use std::path::PathBuf;

use lanner_filter::syntax::{
    self, Check, ErrorKind, EscapeError, Expr, Field, ModifierKind, OpKind, Operand, ParseError,
    Parser, Rhs, Span, Style, Transformer, TransformerArg, TransformerKind, Value,
};

fn parse(input: &str) -> Expr {
    syntax::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"))
}

fn error(input: &str) -> ParseError {
    match syntax::parse(input) {
        Ok(e) => panic!("{input:?} parsed as {e}"),
        Err(e) => e,
    }
}

fn check(expr: &Expr) -> &Check {
    match expr {
        Expr::Check(c) => c,
        other => panic!("not a check: {other:?}"),
    }
}

fn field(operand: &Operand) -> &Field {
    match operand {
        Operand::Field(f) => f,
        other => panic!("not a field: {other:?}"),
    }
}

fn value(rhs: &Option<Rhs>) -> &Value {
    match rhs {
        Some(Rhs::Value(v)) => v,
        other => panic!("not a value: {other:?}"),
    }
}

// ---- spans ---------------------------------------------------------------------------------

#[test]
fn field_span_covers_exactly_its_text() {
    let input = "  proc.aname[2] = sshd";
    let c = parse(input);
    let f = field(&check(&c).left);
    assert_eq!(f.span.text(input), "proc.aname[2]");
    assert_eq!(f.name_span.text(input), "proc.aname");
    let arg = f.arg.as_ref().expect("an argument");
    assert_eq!(arg.span.text(input), "[2]");
    assert_eq!(arg.value.span.text(input), "2");

    let input = "proc.env['MY VAR'] exists";
    let e = parse(input);
    let f = field(&check(&e).left);
    assert_eq!(f.span.text(input), "proc.env['MY VAR']");
    assert_eq!(f.arg.as_ref().map(|a| a.value.text.as_str()), Some("MY VAR"));
}

#[test]
fn spans_of_a_whole_condition() {
    let input = "(evt.type = open and not fd.name startswith \"/etc\") or shell_procs";
    let e = parse(input);
    let Expr::Or(or) = &e else { panic!("{e:?}") };
    assert_eq!(or.span, Span::new(0, input.len()));
    let Expr::And(and) = &or.children[0] else { panic!() };
    // The parentheses belong to the `or`, not to the `and`.
    assert_eq!(and.span.text(input), "evt.type = open and not fd.name startswith \"/etc\"");
    let Expr::Not(not) = &and.children[1] else { panic!() };
    assert_eq!(not.span.text(input), "not fd.name startswith \"/etc\"");
    let c = check(&not.child);
    assert_eq!(c.span.text(input), "fd.name startswith \"/etc\"");
    assert_eq!(c.op.span.text(input), "startswith");
    let v = value(&c.right);
    assert_eq!(v.span.text(input), "\"/etc\"");
    assert_eq!(
        (v.style, v.text.as_str(), v.raw.as_str()),
        (Style::DoubleQuoted, "/etc", "\"/etc\"")
    );
    let Expr::Macro(m) = &or.children[1] else { panic!() };
    assert_eq!(m.span.text(input), "shell_procs");
}

#[test]
fn spans_of_lists_modifiers_and_transformers() {
    let input = "tolower(proc.name) startswith oneof (sh, 'ba sh')";
    let e = parse(input);
    let c = check(&e);
    let Operand::Transformer(t) = &c.left else { panic!() };
    assert_eq!(t.span.text(input), "tolower(proc.name)");
    assert_eq!(t.name_span.text(input), "tolower");
    let modifier = c.modifier.expect("a modifier");
    assert_eq!((modifier.kind, modifier.span.text(input)), (ModifierKind::OneOf, "oneof"));
    let Some(Rhs::List(list)) = &c.right else { panic!() };
    assert_eq!(list.span.text(input), "(sh, 'ba sh')");
    assert_eq!(list.items[1].span.text(input), "'ba sh'");
    assert_eq!(list.items[1].quote(), Some('\''));

    let input = "join(\"-\", ( fd.name , fd.directory )) = x";
    let e = parse(input);
    let Operand::Transformer(t) = &check(&e).left else { panic!() };
    assert_eq!(t.kind, TransformerKind::Join);
    let TransformerArg::List(l) = &t.args[1] else { panic!() };
    assert_eq!(l.span.text(input), "( fd.name , fd.directory )");
    assert_eq!(l.items[1].span().text(input), "fd.directory");
}

/// Every node of every accepted corpus input and every Falco rule condition: the span is the
/// node's own text, trimmed, inside its parent's.
#[test]
fn spans_are_exact_over_the_corpora() {
    let mut inputs: Vec<String> = read_json("parser_cases.json")["accept"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| c.as_str().expect("string").to_owned())
        .collect();
    for file in ["falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml"] {
        let text = std::fs::read_to_string(testdata(&format!("rules/{file}"))).expect("rules");
        let items: Vec<serde_yaml_ng::Value> = serde_yaml_ng::from_str(&text).expect("yaml");
        inputs.extend(items.iter().filter_map(|i| i.get("condition")?.as_str()).map(str::to_owned));
    }
    let mut parser = Parser::new();
    parser.set_max_depth(Parser::RULES_MAX_DEPTH);
    for input in &inputs {
        let e = parser.parse(input).expect("parses");
        let outer = Span::new(0, input.len());
        spans_of_expr(input, &e, outer);
    }
}

fn within(input: &str, span: Span, outer: Span) -> &str {
    assert!(
        outer.start <= span.start && span.end <= outer.end,
        "{span:?} not in {outer:?} of {input:?}"
    );
    let text = span.text(input);
    assert!(!text.is_empty(), "empty span in {input:?}");
    assert_eq!(
        text.trim_matches(|c: char| " \t\n\r\x08".contains(c)),
        text,
        "untrimmed span in {input:?}"
    );
    text
}

fn spans_of_expr(input: &str, e: &Expr, outer: Span) {
    let text = within(input, e.span(), outer);
    match e {
        Expr::And(l) | Expr::Or(l) => {
            let mut at = l.span.start;
            for child in &l.children {
                assert!(child.span().start >= at, "children out of order in {input:?}");
                at = child.span().end;
                spans_of_expr(input, child, l.span);
            }
        }
        Expr::Not(n) => {
            assert!(text.starts_with("not"), "{text:?}");
            spans_of_expr(input, &n.child, n.span);
        }
        Expr::Macro(m) => assert_eq!(text, m.name),
        Expr::Check(c) => {
            assert_eq!(c.span.start, c.left.span().start);
            match &c.left {
                Operand::Field(f) => spans_of_field(input, f, c.span),
                Operand::Transformer(t) => spans_of_transformer(input, t, c.span),
            }
            assert_eq!(within(input, c.op.span, c.span), c.op.kind.as_str());
            if let Some(m) = c.modifier {
                assert_eq!(within(input, m.span, c.span), m.kind.as_str());
            }
            match &c.right {
                None => assert_eq!(c.span.end, c.op.span.end),
                Some(right) => {
                    assert_eq!(c.span.end, right.span().end);
                    match right {
                        Rhs::Value(v) => spans_of_value(input, v, c.span),
                        Rhs::List(l) => {
                            let t = within(input, l.span, c.span);
                            assert!(t.starts_with('(') && t.ends_with(')'), "{t:?}");
                            l.items.iter().for_each(|v| spans_of_value(input, v, l.span));
                        }
                        Rhs::ListRef(i) => assert_eq!(within(input, i.span, c.span), i.name),
                        Rhs::Val(v) => {
                            let t = within(input, v.span, c.span);
                            assert!(t.starts_with("val(") && t.ends_with(')'), "{t:?}");
                            spans_of_field(input, &v.field, v.span);
                        }
                        Rhs::Transformer(t) => spans_of_transformer(input, t, c.span),
                    }
                }
            }
        }
    }
}

fn spans_of_value(input: &str, v: &Value, outer: Span) {
    assert_eq!(within(input, v.span, outer), v.raw);
    match v.quote() {
        Some(q) => assert!(v.raw.starts_with(q) && v.raw.ends_with(q) && v.raw.len() >= 2),
        None => assert_eq!(v.raw, v.text),
    }
}

fn spans_of_field(input: &str, f: &Field, outer: Span) {
    let text = within(input, f.span, outer);
    assert_eq!(within(input, f.name_span, f.span), f.name);
    match &f.arg {
        None => assert_eq!(text, f.name),
        Some(arg) => {
            assert_eq!(within(input, arg.span, f.span), format!("[{}]", arg.value.raw));
            assert_eq!(text, format!("{}[{}]", f.name, arg.value.raw));
        }
    }
}

fn spans_of_transformer(input: &str, t: &Transformer, outer: Span) {
    let text = within(input, t.span, outer);
    assert_eq!(within(input, t.name_span, t.span), t.kind.as_str());
    assert!(text.starts_with(&format!("{}(", t.kind)), "{text:?}");
    assert!(text.ends_with(if t.arg.is_some() { ']' } else { ')' }), "{text:?}");
    for arg in &t.args {
        spans_of_transformer_arg(input, arg, t.span);
    }
}

fn spans_of_transformer_arg(input: &str, arg: &TransformerArg, outer: Span) {
    match arg {
        TransformerArg::Field(f) => spans_of_field(input, f, outer),
        TransformerArg::Transformer(t) => spans_of_transformer(input, t, outer),
        TransformerArg::Value(v) => spans_of_value(input, v, outer),
        TransformerArg::List(l) => {
            within(input, l.span, outer);
            l.items.iter().for_each(|a| spans_of_transformer_arg(input, a, l.span));
        }
    }
}

fn testdata(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/filter").join(path)
}

fn read_json(path: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(testdata(path)).expect("read")).expect("json")
}

// ---- errors --------------------------------------------------------------------------------

const TRANSFORMERS: &str =
    "'val', 'tolower', 'toupper', 'b64', 'basename', 'len', 'join', 'concat', 'getopt'";

/// (input, libs message, byte offset libs reports).
fn error_cases() -> Vec<(&'static str, String, usize)> {
    let s = |m: &str| m.to_owned();
    vec![
        ("", s("filter input string is empty"), 0),
        ("   ", s("expected a '(' token, a field check, or an identifier"), 3),
        ("evt.type=open bar", s("unexpected token after 'open', expecting 'or', 'and'"), 14),
        ("a.b = 'x y' z", s("unexpected token after 'x y', expecting 'or', 'and'"), 12),
        ("a andb", s("expected blank or '(' after 'and'"), 5),
        ("a or_b", s("expected blank or '(' after 'or'"), 4),
        ("(a.b = 1", s("expected a ')' token"), 8),
        ("a.b in (x,)", s("expected a string value"), 10),
        ("a.b in (x", s("expected a ')' token"), 9),
        (
            "evt.arg[] contains /bin",
            s("expected a valid field argument: a quoted string or a bare string"),
            8,
        ),
        ("a.b[x = 1", s("expected a ']' token"), 5),
        ("tolower(a.b exists", s("expected a ')' token closing the transformer"), 12),
        (
            "b64(x) exists",
            s(
                "expected field transformer argument: field, transformer, quoted string, number, or transformer list",
            ),
            4,
        ),
        (
            "join(\"-\", (a.b,)) = x",
            s("expected transformer list argument: field, transformer, quoted string, or number"),
            15,
        ),
        ("join(\"-\", (a.b) = x", s("expected a ')' token closing the transformer"), 16),
        ("join(\"-\", (a.b = x", s("expected ')'"), 15),
        ("a.b = val(x)", s("expected a field within 'val' transformer"), 10),
        (
            "a.b > x",
            format!("expected a number value or a field with a valid transformer: {TRANSFORMERS}"),
            6,
        ),
        (
            "a.b = (x)",
            format!("expected a string value or a field with a valid transformer: {TRANSFORMERS}"),
            6,
        ),
        (
            "a.b in )",
            format!(
                "expected a list, an identifier, or a field with a valid transformer: {TRANSFORMERS}"
            ),
            7,
        ),
        (
            "a.b ~ 1",
            s(
                "expected a valid check operator: one of 'exists', '<=', '<', '>=', '>', '==', '=', '!=', \
               'glob', 'iglob', 'contains', 'icontains', 'bcontains', 'startswith', 'bstartswith', \
               'endswith', 'regex', 'intersects', 'in', 'pmatch'",
            ),
            4,
        ),
        // libs quirk: the word operator is consumed before the missing blank is noticed.
        (
            "test.op containsvalue",
            s(
                "expected a valid check operator: one of 'exists', '<=', '<', '>=', '>', '==', '=', '!=', 'glob', 'iglob', 'contains', 'icontains', 'bcontains', 'startswith', 'bstartswith', 'endswith', 'regex', 'intersects', 'in', 'pmatch'",
            ),
            16,
        ),
        // An escape error is reported after the closing quote.
        ("a.b = 'x\\qy' and c", s("unsupported string escape sequence: \\q"), 12),
        ("a.b = \"\\x41\"", s("unsupported string escape sequence: \\x"), 12),
        ("a.b = 'it\\\"s'", s("invalid \\\" escape in '-quoted string"), 13),
        ("a.b = \"it\\'s\"", s("invalid \\' escape in \"-quoted string"), 13),
    ]
}

#[test]
fn errors_have_libs_messages_and_positions() {
    for (input, message, offset) in error_cases() {
        let e = error(input);
        assert_eq!(e.kind.to_string(), message, "{input:?}");
        assert_eq!(e.position.offset, offset, "{input:?}: {e}");
    }
}

#[test]
fn errors_display_line_and_column() {
    let e = error("evt.type = execve\n  and proc.name >");
    assert_eq!(e.position.offset, 35);
    assert_eq!((e.position.line, e.position.column), (2, 18));
    assert!(e.to_string().ends_with(" at line 2, column 18"), "{e}");
    assert!(
        e.to_string().starts_with("expected a number value or a field with a valid transformer: ")
    );

    // libs counts CR and LF each as a line break.
    let e = error("a.b = 1\r\nor");
    assert_eq!((e.position.line, e.position.column), (3, 3));
}

#[test]
fn error_kinds_are_typed() {
    assert!(matches!(error("a.b = 'x\\q'").kind, ErrorKind::Escape(EscapeError::Unsupported('q'))));
    assert!(matches!(error("a or").kind, ErrorKind::ExpectedBlankOrParen { keyword: "or" }));
    assert!(
        matches!(error("x.y = 1 z").kind, ErrorKind::TrailingInput { ref last } if last == "1")
    );
}

// ---- escapes -------------------------------------------------------------------------------

#[test]
fn quoted_strings_unescape_like_released_libs() {
    let cases = [
        (r#"a.b = "tab\there""#, "tab\there", Style::DoubleQuoted),
        (r#"a.b = 'q\'s'"#, "q's", Style::SingleQuoted),
        (r#"a.b = "q\"s""#, "q\"s", Style::DoubleQuoted),
        (r#"a.b = "mixed '""#, "mixed '", Style::DoubleQuoted),
        (r#"a.b = "a\/b\\c""#, "a/b\\c", Style::DoubleQuoted),
        (r#"a.b = "\b\f\n\r""#, "\u{8}\u{c}\n\r", Style::DoubleQuoted),
        // The legacy `\ `: a backslash, the space dropped.
        (r#"a.b contains "\ ""#, "\\", Style::DoubleQuoted),
        (r#"a.b = ''"#, "", Style::SingleQuoted),
        ("a.b = 'é ü'", "é ü", Style::SingleQuoted),
        // Bare strings have no escapes.
        (r"a.b endswith \", "\\", Style::Bare),
    ];
    for (input, text, style) in cases {
        let e = parse(input);
        let v = value(&check(&e).right);
        assert_eq!((v.text.as_str(), v.style), (text, style), "{input}");
        assert_eq!(v.raw, &input[v.span.range()]);
    }
}

#[test]
fn hex_escapes_are_rejected_as_in_released_libs() {
    let e = error(r#"proc.name = "\x41""#);
    assert_eq!(e.kind, ErrorKind::Escape(EscapeError::Unsupported('x')));
}

#[test]
fn field_arguments_unescape_too() {
    let input = r#"test.str["test \"with\"escaping"] = a"#;
    let e = parse(input);
    let f = field(&check(&e).left);
    assert_eq!(f.arg.as_ref().map(|a| a.value.text.as_str()), Some("test \"with\"escaping"));
}

// ---- libs quirks kept on purpose -------------------------------------------------------------

#[test]
fn a_string_ending_in_an_escaped_backslash_never_ends() {
    // The closing quote follows a backslash, so libs does not see it as closing.
    let e = error(r#"a.b = "a\\""#);
    assert!(matches!(e.kind, ErrorKind::ExpectedStringOrTransformer), "{e}");
    // … and a later quote closes it instead.
    let e = parse(r#"a.b = 'x \\'' and c"#);
    let Expr::And(and) = &e else { panic!() };
    assert_eq!(value(&check(&and.children[0]).right).text, "x \\'");
}

#[test]
fn a_word_operator_without_blank_lets_the_next_class_try() {
    // `contains` is consumed, needs a blank, fails; the list operators are tried after it.
    let e = parse("a.b containsin (x)");
    assert_eq!(check(&e).op.kind, OpKind::In);
    // `in` needs no blank, so `invalidoperator` is `in` and a list name.
    let e = parse("a.a invalidoperator");
    let c = check(&e);
    assert_eq!(c.op.kind, OpKind::In);
    assert!(matches!(&c.right, Some(Rhs::ListRef(i)) if i.name == "validoperator"));
    // `exists` needs no blank either.
    assert!(matches!(parse("test.op existsand macro"), Expr::And(_)));
}

#[test]
fn a_bad_first_list_element_makes_an_empty_list() {
    let e = parse(r#"x.y in ("\q")"#);
    let Some(Rhs::List(list)) = &check(&e).right else { panic!() };
    assert!(list.items.is_empty());
    assert_eq!(list.span, Span::new(7, 13));
    // A bad later element is an error.
    assert!(syntax::parse(r#"x.y in (a, "\q")"#).is_err());
}

#[test]
fn blanks_and_spaces_differ_as_in_libs() {
    // Backspace separates tokens; vertical tab and form feed do not …
    assert!(syntax::parse("a\u{8}and b").is_ok());
    assert!(syntax::parse("a and\u{b}b").is_err());
    // … except after `not`, whose regex uses [:space:].
    let e = parse("not\u{b}a");
    assert!(matches!(&e, Expr::Not(n) if n.count == 1));
}

#[test]
fn stacked_nots_are_counted() {
    let e = parse("not not a");
    let Expr::Not(n) = &e else { panic!() };
    assert_eq!((n.count, n.is_negation()), (2, false));
    assert_eq!(e.to_string(), "a");
    assert!(e.is_equal(&parse("a")));
    let e = parse("not not not not not(not not(not not_macro))");
    assert_eq!(e.to_string(), "not not not_macro");
}

#[test]
fn modifiers_need_blanks_and_a_list() {
    let c = parse("proc.name != allof my_list");
    assert_eq!(check(&c).modifier.map(|m| m.kind), Some(ModifierKind::AllOf));
    assert!(matches!(&check(&c).right, Some(Rhs::ListRef(i)) if i.name == "my_list"));
    // Not a modifier: an ordinary string value.
    for input in [
        "proc.name = oneof",
        "(proc.name = oneof)",
        "proc.name = oneof and a",
        "proc.name = oneof_x",
    ] {
        let e = parse(input);
        let c = match &e {
            Expr::And(a) => check(&a.children[0]),
            e => check(e),
        };
        assert!(c.modifier.is_none(), "{input}");
        assert!(value(&c.right).text.starts_with("oneof"), "{input}");
    }
    for input in [
        "proc.name == oneof(a)",
        "proc.name ==oneof (a)",
        "proc.name in oneof (a)",
        "proc.num > oneof (1)",
    ] {
        assert!(syntax::parse(input).is_err(), "{input}");
    }
}

#[test]
fn equals_keeps_its_spelling() {
    let single = parse("a.b = 1");
    let double = parse("a.b == 1");
    assert_eq!(check(&double).op.kind, OpKind::EqEq);
    assert_eq!(check(&double).op.kind.canonical(), OpKind::Eq);
    assert_eq!(double.to_string(), "a.b == 1");
    assert!(!single.is_equal(&double));
}

#[test]
fn numbers_are_numbers_only_where_the_grammar_wants_one() {
    let e = parse("a.b > 0x1F");
    assert_eq!(value(&check(&e).right).style, Style::HexNumber);
    let e = parse("a.b >= -1.5e+3");
    assert_eq!(value(&check(&e).right).style, Style::Number);
    let e = parse("fd.port = 80");
    assert_eq!(value(&check(&e).right).style, Style::Bare);
}

#[test]
fn newer_transformers_parse() {
    let input = "getopt(proc.args, \"nt:\")[t] = x and concat(proc.name, \"-\", 1) = y";
    let e = parse(input);
    let Expr::And(and) = &e else { panic!() };
    let Operand::Transformer(getopt) = &check(&and.children[0]).left else { panic!() };
    assert_eq!(getopt.kind, TransformerKind::GetOpt);
    assert_eq!(getopt.arg.as_ref().map(|a| a.value.text.as_str()), Some("t"));
    assert_eq!(getopt.span.text(input), "getopt(proc.args, \"nt:\")[t]");
    let Operand::Transformer(concat) = &check(&and.children[1]).left else { panic!() };
    assert_eq!((concat.kind, concat.args.len()), (TransformerKind::Concat, 3));
    assert_eq!(e.to_string(), "(getopt(proc.args, nt:)[t] = x and concat(proc.name, -, 1) = y)");
}

// ---- printing --------------------------------------------------------------------------------

#[test]
fn printing_is_libs_as_string() {
    let cases = [
        (
            "evt.type=open and proc.name in (shell_binaries)",
            "(evt.type = open and proc.name in (shell_binaries))",
        ),
        ("a and (b or c) and not d", "(a and (b or c) and not d)"),
        ("proc.cmdline contains 'curl 127.0.0.1'", "proc.cmdline contains \"curl 127.0.0.1\""),
        ("proc.name = \"it's\"", "proc.name = \"it's\""),
        ("proc.name=proc.pname", "proc.name = proc.pname"),
        ("proc.name = val( proc.pname )", "proc.name = val(proc.pname)"),
        ("proc.aname['x y'] exists", "proc.aname[\"x y\"] exists"),
        ("a.b = \"a\\tb\"", "a.b = \"a\\tb\""),
        ("fd.name startswith oneof ( /etc , '/usr' )", "fd.name startswith oneof (/etc, /usr)"),
        ("not (a.b exists)", "not a.b exists"),
        ("not (a or b)", "not (a or b)"),
        ("tolower( proc.name ) == b64( x.y )", "tolower(proc.name) == b64(x.y)"),
    ];
    for (input, printed) in cases {
        assert_eq!(parse(input).to_string(), printed, "{input}");
    }
}

// ---- depth and stack -------------------------------------------------------------------------

fn parens(n: usize, inner: &str) -> String {
    format!("{}{inner}{}", "(".repeat(n), ")".repeat(n))
}

#[test]
fn default_depth_limit_is_libs() {
    assert!(syntax::parse(&parens(19, "a")).is_ok());
    let e = error(&parens(20, "a"));
    assert_eq!(e.kind, ErrorKind::MaxDepth(100));
    assert_eq!(e.kind.to_string(), "exceeded max depth limit of 100");
    // A check needs three levels more than a macro name.
    assert!(syntax::parse(&parens(18, "a.b = 1")).is_ok());
    assert!(syntax::parse(&parens(19, "a.b = 1")).is_err());
}

#[test]
fn rules_depth_limit_is_falcos() {
    let mut parser = Parser::new();
    parser.set_max_depth(Parser::RULES_MAX_DEPTH);
    assert!(parser.parse(&parens(199, "a")).is_ok());
    assert_eq!(parser.parse(&parens(200, "a")).map(|_| ()), Err(error_at(1000, &parens(200, "a"))));
}

fn error_at(limit: u32, input: &str) -> ParseError {
    let mut parser = Parser::new();
    parser.set_max_depth(limit);
    parser.parse(input).expect_err("too deep")
}

#[test]
fn depth_limit_is_capped() {
    let mut parser = Parser::new();
    parser.set_max_depth(u32::MAX);
    assert_eq!(parser.max_depth(), Parser::MAX_DEPTH_CEILING);
}

/// The deepest shapes of input, at the highest limit, on a thread with Rust's default 2 MiB
/// stack: the parser must fail with the depth error, not overflow.
#[test]
fn deep_inputs_do_not_overflow_a_thread_stack() {
    let n = 3000;
    let shapes = [
        parens(n, "a.b = 1"),
        format!("{}a.b{} exists", "b64(".repeat(n), ")".repeat(n)),
        format!("x.y = {}a.b{}", "tolower(".repeat(n), ")".repeat(n)),
        format!("{}a.b{} exists", "join(\"-\", (".repeat(n), "))".repeat(n)),
        format!("{}a.b exists{}", "not (".repeat(n), ")".repeat(n)),
    ];
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let mut parser = Parser::new();
            parser.set_max_depth(u32::MAX);
            shapes
                .iter()
                .map(|s| parser.parse(s).map(|_| ()).map_err(|e| e.kind))
                .collect::<Vec<_>>()
        })
        .expect("spawn");
    let results = handle.join().expect("no overflow");
    for r in results {
        assert_eq!(r, Err(ErrorKind::MaxDepth(Parser::MAX_DEPTH_CEILING)));
    }
}
