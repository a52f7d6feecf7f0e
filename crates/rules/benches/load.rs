//! Load and compile the three upstream rules files (stable, incubating, sandbox).

use criterion::{Criterion, criterion_group, criterion_main};

use lanner_rules::{LoadOptions, load};

fn upstream() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/rules");
    ["falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml"]
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(format!("{dir}/{f}")).unwrap_or_default();
            ((*f).to_owned(), text)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let files = upstream();
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    let options = LoadOptions::default();
    c.bench_function("load_upstream_three_files", |b| {
        b.iter(|| {
            let loaded = load(&refs, &options);
            assert!(loaded.successful());
            loaded
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
