//! The cases of Falco's engine unit tests (`falco_unit_tests_engine/engine_unit_test_cases.json`)
//! that are about the engine rather than the loader, which the rules crate's test leaves out:
//! rule selection in rulesets (`test_rulesets.cpp`, `test_enable_rule.cpp`) and extra output
//! formats (`test_extra_output.cpp`). The fixture records only the test names and assertion
//! counts for these; the operations and the expected counts are Falco's, transcribed here
//! call for call. A Falco ruleset id is one [`Engine`] here: each keeps its own selection.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use lanner_engine::{Engine, NameMatch, RuleEntry, priority};
use lanner_filter::Filter;
use lanner_outputs::{AlertRule, AppendOutput, RuleOutput};
use lanner_rules::{LoadOptions, load};

/// A ruleset of rules on `evt.type=open` with the given names and tags, none enabled:
/// Falco's `ruleset->add` indexes a rule without enabling it.
fn ruleset(rules: &[(&str, &[&str])]) -> Engine {
    let rules = rules
        .iter()
        .map(|(name, tags)| {
            let mut r = RuleEntry::new(*name, Filter::compile("evt.type=open").unwrap());
            r.enabled = false;
            r.tags = tags.iter().map(|t| (*t).to_owned()).collect();
            r
        })
        .collect();
    Engine::new(rules, priority::DEBUG)
}

fn counts(rulesets: &[Engine]) -> Vec<usize> {
    rulesets.iter().map(Engine::enabled_count).collect()
}

#[test]
fn ruleset_enable_disable_rules_using_names() {
    let abc: [(&str, &[&str]); 3] = [("rule_A", &[]), ("rule_B", &[]), ("rule_C", &[])];
    let mut r: Vec<Engine> = (0..3).map(|_| ruleset(&abc)).collect();
    r[0].enable_by_name("rule_A", NameMatch::Exact, true);
    assert_eq!(counts(&r), [1, 0, 0]);
    r[1].enable_by_name("rule_A", NameMatch::Exact, false);
    assert_eq!(counts(&r), [1, 0, 0]);
    r[2].enable_by_name("<NA>", NameMatch::Exact, false);
    assert_eq!(counts(&r), [1, 0, 0]);
    r[0].enable_by_name("rule_", NameMatch::Substring, true);
    assert_eq!(counts(&r), [3, 0, 0]);
    r[0].enable_by_name("rule_", NameMatch::Exact, false);
    assert_eq!(counts(&r), [3, 0, 0]);
    r[0].enable_by_name("rule_", NameMatch::Substring, false);
    assert_eq!(counts(&r), [0, 0, 0]);
    r[2].enable_by_name("_C", NameMatch::Substring, true);
    assert_eq!(counts(&r), [0, 0, 1]);
}

#[test]
fn ruleset_enable_disable_rules_using_tags() {
    let ab: [(&str, &[&str]); 2] = [
        ("rule_A", &["first_rule_A_tag", "second_rule_A_tag", "common_tag"]),
        ("rule_B", &["first_rule_B_tag", "second_rule_B_tag", "common_tag"]),
    ];
    let mut r: Vec<Engine> = (0..3).map(|_| ruleset(&ab)).collect();
    r[0].enable_by_tags(&["first_rule_A_tag"], true);
    assert_eq!(counts(&r), [1, 0, 0]);
    r[1].enable_by_tags(&["first_rule_A_tag"], false);
    assert_eq!(counts(&r), [1, 0, 0]);
    r[0].enable_by_tags(&["<NA_tag>"], true);
    assert_eq!(counts(&r), [1, 0, 0]);
    r[2].enable_by_tags(&["common_tag"], true);
    assert_eq!(counts(&r), [1, 0, 2]);
    // Enabled by its first tag, disabled by its second.
    r[0].enable_by_tags(&["second_rule_A_tag"], false);
    assert_eq!(counts(&r), [0, 0, 2]);
    r[2].enable_by_tags(&["common_tag"], false);
    assert_eq!(counts(&r), [0, 0, 0]);
}

/// `test_enable_rule.cpp`'s rules: one enabled rule, one `enabled: false`.
const SINGLE_RULE: &str = "
- rule: test rule
  desc: A test rule
  condition: evt.type=execve
  output: A test rule matched (evt.type=%evt.type)
  priority: INFO
  source: syscall
  tags: [process]

- rule: disabled rule
  desc: A disabled rule
  condition: evt.type=execve
  output: A disabled rule matched (evt.type=%evt.type)
  priority: INFO
  source: syscall
  enabled: false
  tags: [exec process]
";

/// The loaded rules as the engine takes them.
fn entries() -> Vec<RuleEntry> {
    let loaded = load(&[("single_rule.yaml", SINGLE_RULE)], &LoadOptions::default());
    assert!(loaded.successful(), "{}", loaded.render());
    loaded.ruleset.rules.iter().map(RuleEntry::from).collect()
}

/// Falco's default ruleset (the enabled rules) and `n` custom rulesets (nothing enabled).
fn default_and_custom(n: usize) -> (Engine, Vec<Engine>) {
    let default = Engine::new(entries(), priority::DEBUG);
    let custom = (0..n)
        .map(|_| {
            let mut e = Engine::new(entries(), priority::DEBUG);
            e.enable_by_name("", NameMatch::Substring, false);
            e
        })
        .collect();
    (default, custom)
}

#[test]
fn enable_rule_name() {
    let (default, mut r) = default_and_custom(3);
    assert_eq!(default.enabled_count(), 1);
    assert_eq!(counts(&r), [0, 0, 0]);
    r[0].enable_by_name("test", NameMatch::Substring, true);
    assert_eq!(counts(&r), [1, 0, 0]);
    r[1].enable_by_name("test", NameMatch::Substring, true);
    assert_eq!(counts(&r), [1, 1, 0]);
    // The empty substring selects every rule, the disabled one included.
    r[2].enable_by_name("", NameMatch::Substring, true);
    assert_eq!(counts(&r), [1, 1, 2]);
    r[1].enable_by_name("test", NameMatch::Substring, false);
    assert_eq!(counts(&r), [1, 0, 2]);
}

#[test]
fn enable_rule_id() {
    // The same calls as enable_rule_name, by ruleset id; "test rule" as a substring.
    let (default, mut r) = default_and_custom(3);
    assert_eq!(default.enabled_count(), 1);
    r[0].enable_by_name("test rule", NameMatch::Substring, true);
    assert_eq!(counts(&r), [1, 0, 0]);
    r[1].enable_by_name("test rule", NameMatch::Substring, true);
    assert_eq!(counts(&r), [1, 1, 0]);
    r[2].enable_by_name("", NameMatch::Substring, true);
    assert_eq!(counts(&r), [1, 1, 2]);
    r[1].enable_by_name("test", NameMatch::Substring, false);
    assert_eq!(counts(&r), [1, 0, 2]);
}

#[test]
fn enable_rule_tags() {
    let (default, mut r) = default_and_custom(2);
    assert_eq!(default.enabled_count(), 1);
    r[0].enable_by_tags(&["process"], true);
    assert_eq!(counts(&r), [1, 0]);
    r[1].enable_by_tags(&["process"], true);
    assert_eq!(counts(&r), [1, 1]);
    r[1].enable_by_tags(&["process"], false);
    assert_eq!(counts(&r), [1, 0]);
}

#[test]
fn enable_disabled_rule_by_tag() {
    let (mut default, _) = default_and_custom(0);
    assert_eq!(default.enabled_count(), 1);
    default.enable_by_tags(&["exec process"], true);
    assert_eq!(default.enabled_count(), 2);
}

#[test]
fn enable_rule_name_exact() {
    let (default, mut r) = default_and_custom(4);
    assert_eq!(default.enabled_count(), 1);
    assert_eq!(counts(&r), [0, 0, 0, 0]);
    r[0].enable_by_name("test rule", NameMatch::Exact, true);
    assert_eq!(counts(&r), [1, 0, 0, 0]);
    r[1].enable_by_name("test rule", NameMatch::Exact, true);
    assert_eq!(counts(&r), [1, 1, 0, 0]);
    // A part of the name is not an exact match...
    r[2].enable_by_name("test", NameMatch::Exact, true);
    assert_eq!(counts(&r), [1, 1, 0, 0]);
    // ... but the empty name selects every rule, as in Falco.
    r[3].enable_by_name("", NameMatch::Exact, true);
    assert_eq!(counts(&r), [1, 1, 0, 2]);
    r[1].enable_by_name("test rule", NameMatch::Substring, false);
    assert_eq!(counts(&r), [1, 0, 0, 2]);
}

/// `test_extra_output.cpp`: `add_extra_output_format(format, source, tags, rule)` is an
/// `append_output` entry; the compiled output is the rule's output with the matching entries'
/// text appended, in order.
fn compiled_outputs(rules: &str, append: &[AppendOutput]) -> Vec<(String, String)> {
    let loaded = load(&[("legit_rules.yaml", rules)], &LoadOptions::default());
    assert!(loaded.successful(), "{}", loaded.render());
    loaded
        .ruleset
        .rules
        .iter()
        .map(|r| {
            let rule =
                AlertRule::new(&r.name, r.priority, &r.source, r.tags.iter().map(String::as_str));
            let out = RuleOutput::new(rule, &r.output, append, &[]).unwrap();
            (r.name.clone(), out.message_text().to_owned())
        })
        .collect()
}

fn extra(text: &str, tags: &[&str], rule: &str) -> AppendOutput {
    AppendOutput {
        extra_output: Some(text.to_owned()),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        rule: (!rule.is_empty()).then(|| rule.to_owned()),
        ..AppendOutput::default()
    }
}

#[test]
fn extra_format_all() {
    let rules = "
- rule: legit_rule
  desc: legit rule description
  condition: evt.type=open
  output: user=%user.name command=%proc.cmdline file=%fd.name
  priority: INFO
";
    let got = compiled_outputs(rules, &[extra("evt.type=%evt.type", &[], "")]);
    assert_eq!(got[0].1, "user=%user.name command=%proc.cmdline file=%fd.name evt.type=%evt.type");
}

#[test]
fn extra_format_by_rule() {
    let rules = "
- rule: legit_rule
  desc: legit rule description
  condition: evt.type=open
  output: out 1
  priority: INFO

- rule: another_rule
  desc: legit rule description
  condition: evt.type=open
  output: out 2
  priority: INFO
";
    let got = compiled_outputs(rules, &[extra("evt.type=%evt.type", &[], "legit_rule")]);
    assert_eq!(got[0], ("legit_rule".to_owned(), "out 1 evt.type=%evt.type".to_owned()));
    assert_eq!(got[1], ("another_rule".to_owned(), "out 2".to_owned()));
}

#[test]
fn extra_format_by_tag_rule() {
    let rules = "
- rule: legit_rule
  desc: legit rule description
  condition: evt.type=open
  output: out 1
  priority: INFO
  tags: [tag1]

- rule: another_rule
  desc: legit rule description
  condition: evt.type=open
  output: out 2
  priority: INFO
  tags: [tag1]

- rule: a_third_rule
  desc: legit rule description
  condition: evt.type=open
  output: out 3
  priority: INFO
  tags: [tag1, tag2]
";
    let append = [
        extra("extra 1", &["tag1"], ""),
        extra("extra 2", &[], "another_rule"),
        extra("extra 3", &["tag1", "tag2"], ""),
    ];
    let got = compiled_outputs(rules, &append);
    assert_eq!(got[0].1, "out 1 extra 1");
    assert_eq!(got[1].1, "out 2 extra 1 extra 2");
    assert_eq!(got[2].1, "out 3 extra 1 extra 3");
}
