//! Every fixture capture (`testdata/scap`, copied from the shared fixtures) reads completely: the block counts, event counts and
//! earliest and latest timestamps match `scap_inventory.json` (an independent block walk), and every event is
//! well formed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lanner_scap::Reader;

/// The project's copies of the shared fixture captures, with their inventory.
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/scap")
}

#[test]
fn every_fixture_matches_the_inventory() {
    let inventory: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("inventory.json")).unwrap())
            .unwrap();
    let entries = inventory.as_array().unwrap();
    assert_eq!(entries.len(), 8, "the inventory lists every capture");
    for entry in entries {
        let file = entry["file"].as_str().unwrap();
        let mut reader =
            Reader::open(fixtures().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(reader.is_compressed(), entry["gzip"].as_bool().unwrap(), "{file}");
        let shb = entry["shb"].as_array().unwrap();
        let version = (shb[1].as_u64().unwrap() as u16, shb[2].as_u64().unwrap() as u16);
        assert_eq!(reader.tables().version, version, "{file}");
        let host = reader.tables().machine.as_ref().unwrap().hostname_str();
        assert_eq!(host, entry["hostname"].as_str().unwrap(), "{file}");

        let mut count = 0u64;
        let mut first = u64::MAX;
        let mut last = 0;
        let mut types: BTreeMap<u16, u64> = BTreeMap::new();
        while let Some(rec) = reader.next().unwrap_or_else(|e| panic!("{file}: {e}")) {
            count += 1;
            first = first.min(rec.event.ts());
            last = last.max(rec.event.ts());
            *types.entry(rec.event.event_type()).or_default() += 1;
            // every parameter is reachable
            assert_eq!(rec.event.params().count(), rec.event.nparams());
        }
        assert_eq!(count, entry["events"].as_u64().unwrap(), "{file}: events");
        assert_eq!(reader.stats().unknown_event_types, 0, "{file}");
        assert_eq!(first, entry["first_ts"].as_u64().unwrap(), "{file}: first ts");
        assert_eq!(last, entry["last_ts"].as_u64().unwrap(), "{file}: last ts");
        assert_eq!(types.len() as u64, entry["distinct_event_types"].as_u64().unwrap(), "{file}");
        for top in entry["top_event_types"].as_array().unwrap() {
            let ty = top[0].as_u64().unwrap() as u16;
            assert_eq!(types.get(&ty).copied(), top[1].as_u64(), "{file}: type {ty}");
        }

        let blocks = entry["blocks"].as_object().unwrap();
        let count_of = |prefix: &str| -> u64 {
            blocks
                .iter()
                .filter(|(k, _)| k.starts_with(prefix))
                .map(|(_, v)| v.as_u64().unwrap())
                .sum()
        };
        let t = reader.tables();
        assert_eq!(t.fd_lists.len() as u64, count_of("FDL"), "{file}: fd lists");
        assert!(!t.threads.is_empty(), "{file}: threads");
        assert!(!t.users.is_empty(), "{file}: users");
        assert!(!t.interfaces.is_empty(), "{file}: interfaces");
        assert_eq!(reader.stats().event_blocks, count_of("EV"), "{file}: event blocks");
        // every fd list belongs to a thread of the process list
        for list in &t.fd_lists {
            assert!(
                t.threads.iter().any(|th| th.tid == list.tid),
                "{file}: fd list of {}",
                list.tid
            );
        }
    }
}
