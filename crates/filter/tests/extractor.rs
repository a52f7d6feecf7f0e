//! `Parser::parse_field_or_transformer` and `Extractor`: what output formats build on.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use lanner_filter::syntax::{ErrorKind, Operand, Parser};
use lanner_filter::{CompileError, Extractor};

fn prefix(input: &str) -> (String, usize) {
    let (op, len) = Parser::new().parse_field_or_transformer(input).unwrap();
    let text = match &op {
        Operand::Field(f) => f.to_string(),
        Operand::Transformer(t) => t.to_string(),
    };
    (text, len)
}

#[test]
fn parses_a_prefix() {
    assert_eq!(prefix("proc.name"), ("proc.name".into(), 9));
    assert_eq!(prefix("proc.name)"), ("proc.name".into(), 9));
    assert_eq!(prefix("proc.name. x"), ("proc.name".into(), 9));
    assert_eq!(prefix("proc.aname[2] x"), ("proc.aname[2]".into(), 13));
    assert_eq!(prefix("evt.arg.flags,"), ("evt.arg.flags".into(), 13));
    assert_eq!(prefix("tolower(proc.name) x"), ("tolower(proc.name)".into(), 18));
    assert_eq!(prefix("concat(proc.name, \"-\") x").1, 22);
    // what libs' parser rejects here: not a field or transformer, a bad argument
    let p = Parser::new();
    for bad in ["", "proc", "%x", " proc.name", "{proc.name}"] {
        let e = p.parse_field_or_transformer(bad).unwrap_err();
        assert_eq!(e.kind, ErrorKind::ExpectedFieldOrTransformer, "{bad}");
    }
    assert_eq!(
        p.parse_field_or_transformer("proc.aname[2").unwrap_err().kind,
        ErrorKind::ExpectedCloseBracket
    );
    assert_eq!(
        p.parse_field_or_transformer("tolower(proc.name").unwrap_err().kind,
        ErrorKind::ExpectedTransformerClose
    );
}

#[test]
fn extractors_are_checked() {
    let compile = |text: &str| {
        let (op, _) = Parser::new().parse_field_or_transformer(text).unwrap();
        Extractor::compile(&op)
    };
    assert!(compile("proc.name").is_ok());
    assert!(compile("fd.types").unwrap().is_list());
    assert_eq!(compile("len(proc.name)").unwrap().ty(), lanner_event::ParamType::Uint64);
    let Err(CompileError::Check(errors)) = compile("proc.nmae") else { panic!() };
    assert_eq!(errors[0].message, "unknown field `proc.nmae` (did you mean `proc.name`?)");
    let Err(CompileError::Check(errors)) = compile("toupper(proc.pid)") else { panic!() };
    assert!(errors[0].message.starts_with("can't add field transformer"), "{}", errors[0]);
}
