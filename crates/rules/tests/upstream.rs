//! The upstream rules files load with no error and no warning, with the expected counts.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use lanner_rules::{LoadOptions, Loaded, load};

fn fixture(name: &str) -> String {
    let path = format!("{}/../../../shared/fixtures/rules/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap()
}

fn load_named(names: &[&str]) -> Loaded {
    let texts: Vec<(String, String)> =
        names.iter().map(|n| ((*n).to_owned(), fixture(n))).collect();
    let refs: Vec<(&str, &str)> = texts.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    load(&refs, &LoadOptions::default())
}

fn assert_clean(loaded: &Loaded) {
    let problems: Vec<String> =
        loaded.errors().chain(loaded.warnings()).map(|d| format!("{d:?}")).collect();
    assert!(loaded.successful() && problems.is_empty(), "{}", loaded.render());
}

#[test]
fn stable() {
    let loaded = load_named(&["falco_rules.yaml"]);
    assert_clean(&loaded);
    let rs = &loaded.ruleset;
    assert_eq!((rs.rules.len(), rs.macro_count, rs.list_count), (25, 87, 49));
    let stable = loaded.files[0].items;
    assert_eq!((stable.rules, stable.macros, stable.lists), (25, 87, 49));
}

#[test]
fn incubating_after_stable() {
    let loaded = load_named(&["falco_rules.yaml", "falco-incubating_rules.yaml"]);
    assert_clean(&loaded);
    assert_eq!(loaded.ruleset.rules.len(), 25 + 31);
    let inc = loaded.files[1].items;
    assert_eq!((inc.rules, inc.macros, inc.lists), (31, 82, 54));
}

#[test]
fn sandbox_after_stable() {
    let loaded = load_named(&["falco_rules.yaml", "falco-sandbox_rules.yaml"]);
    assert_clean(&loaded);
    let rs = &loaded.ruleset;
    assert_eq!(rs.rules.len(), 25 + 37);
    let sandbox = loaded.files[1].items;
    assert_eq!((sandbox.rules, sandbox.macros, sandbox.lists), (37, 183, 60));
    assert_eq!(rs.rules.iter().filter(|r| !r.enabled).count(), 12);
}

#[test]
fn all_three() {
    let loaded = load_named(&[
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ]);
    assert_clean(&loaded);
    assert_eq!(loaded.ruleset.rules.len(), 25 + 31 + 37);
    assert_eq!(loaded.files.len(), 3);
    for f in &loaded.files {
        assert_eq!(f.summary(), format!("{}: Ok", f.name));
    }
    // Rules come in definition order, numbered densely.
    let order: Vec<usize> = loaded.ruleset.rules.iter().map(|r| r.order).collect();
    assert_eq!(order, (0..order.len()).collect::<Vec<_>>());
    // Every rule of the stable file constrains its event types.
    for r in &loaded.ruleset.rules[..25] {
        assert!(r.event_types().len() <= 100, "{}", r.name);
    }
    // The engine version and the container plugin, satisfied by lanner itself.
    assert_eq!(loaded.ruleset.required_engine_version, lanner_rules::Version::parse("0.57.0"));
    assert!(loaded.ruleset.plugin_requirements.iter().all(|p| p.result
        == Ok(lanner_rules::Provider::BuiltIn { plugin: "container".into() })));
}

#[test]
fn the_ruleset_can_be_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<lanner_rules::Ruleset>();
    shared::<Loaded>();
}
