//! The fuzzer's property, checked in CI without libFuzzer: whatever the bytes, loading them as
//! rules files and rendering the result never panics, and a failed load says why. The inputs
//! are the committed corpus of `fuzz/` (the seeds, `fuzz/seeds/rules_loader`, made by
//! `fuzz/make-rules-seeds`, and every input that ever broke the loader,
//! `fuzz/regressions/rules_loader`), each whole and truncated at a few offsets.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::path::{Path, PathBuf};

use lanner_rules::{LoadOptions, load_bytes};

fn corpus(dir: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz").join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.is_file() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    files.sort();
    files.into_iter().map(|p: PathBuf| (name(&p), std::fs::read(&p).unwrap())).collect()
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

fn check(label: &str, data: &[u8]) {
    let loaded = load_bytes(&[("input.yaml", data)], &LoadOptions::default());
    let _ = loaded.render();
    let _ = loaded.to_json();
    assert!(loaded.successful() || loaded.errors().count() > 0, "{label}");
    for d in loaded.errors().chain(loaded.warnings()) {
        assert!(!d.locations.is_empty(), "{label}: {d:?}");
    }
}

#[test]
fn seeds_and_regressions() {
    let seeds = corpus("seeds/rules_loader");
    assert!(seeds.len() > 100, "{} seeds", seeds.len());
    for (name, data) in seeds.iter().chain(&corpus("regressions/rules_loader")) {
        check(name, data);
        for cut in [1, 7, data.len() / 3, data.len() / 2, data.len().saturating_sub(3)] {
            if cut < data.len() {
                check(&format!("{name} cut at {cut}"), &data[..cut]);
            }
        }
    }
}
