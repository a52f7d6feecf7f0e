//! The cloudtrail plugin through its C ABI: identity and fields against upstream's table,
//! files, directories and gzip to EOF, field values on the fixture records, odd input.
#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use lanner_plugin_testkit::{
    Batch, Host, event_payload, event_plugin_id, event_ts, plugin_event, take_logs,
};
use std::io::Write;

const DIR: &str = "../../../shared/fixtures/falco_legacy_regression_tests/trace_files/plugins";

fn host() -> Host {
    Host::new(lanner_plugin_cloudtrail::PLUGIN_API, "{}").unwrap()
}

fn read(h: &mut Host, path: &str) -> Vec<Vec<u8>> {
    let mut inst = h.open(path).unwrap();
    let e = h.read_all(&mut inst, 0).unwrap();
    assert!(matches!(h.next_batch(&mut inst).unwrap(), Batch::Eof));
    h.close(inst);
    e
}

#[test]
fn identity_and_fields_match_upstream() {
    let h = host();
    let [name, version, ..] = h.info();
    assert_eq!(name, "cloudtrail");
    assert!(version.as_str() >= "0.10.0", "{version}");
    assert_eq!((h.id(), h.event_source().as_str()), (2, "aws_cloudtrail"));
    assert_eq!(h.extract_event_sources().as_deref(), Some(r#"["aws_cloudtrail"]"#));
    let want: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("../../../shared/fixtures/plugin_fields.json").unwrap(),
    )
    .unwrap();
    let want = want["cloudtrail (source aws_cloudtrail, plugin id 2)"].as_array().unwrap();
    assert_eq!(h.fields().len(), want.len());
    for (g, w) in h.fields().iter().zip(want) {
        assert_eq!(g.name, w["name"].as_str().unwrap());
        assert_eq!(g.field_type, w["type"].as_str().unwrap());
        assert_eq!(g.desc, w["desc"].as_str().unwrap());
        assert_eq!(g.is_list, w.get("is_list").is_some());
        assert_eq!(g.arg.is_some(), w.get("arg").is_some(), "{}", g.name);
    }
}

#[test]
fn fixture_records_and_their_fields() {
    let mut h = host();
    let events = read(&mut h, &format!("{DIR}/alice_start_instances.json"));
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(event_plugin_id(e), 2);
    assert_eq!(event_ts(e), 1_394_140_974_000_000_000); // 2014-03-06T21:22:54Z
    let t = |h: &mut Host, f: &str| h.extract_text(e, f).unwrap();
    assert_eq!(t(&mut h, "ct.name"), "StartInstances");
    assert_eq!(t(&mut h, "ct.src"), "ec2.amazonaws.com");
    assert_eq!(t(&mut h, "ct.shortsrc"), "ec2");
    assert_eq!(t(&mut h, "ct.user"), "Alice");
    assert_eq!(t(&mut h, "ct.originaluser"), "Alice");
    assert_eq!(t(&mut h, "ct.user.accountid"), "123456789012");
    assert_eq!(t(&mut h, "ct.user.identitytype"), "IAMUser");
    assert_eq!(t(&mut h, "ct.user.arn"), "arn:aws:iam::123456789012:user/Alice");
    assert_eq!(t(&mut h, "ct.region"), "us-east-2");
    assert_eq!(t(&mut h, "ct.srcip"), "205.251.233.176");
    assert_eq!(t(&mut h, "ct.eventtype"), "AwsApiCall");
    assert_eq!(t(&mut h, "ct.error"), "<NA>");
    assert_eq!(t(&mut h, "s3.cnt.other"), "1");
    assert_eq!(t(&mut h, "s3.cnt.get"), "<NA>");
    assert_eq!(t(&mut h, "s3.bytes"), "<NA>");
    assert!(t(&mut h, "ct.request").starts_with('{'));
    assert!(
        t(&mut h, "ct.info").starts_with("Alice via 205.251.233.176 "),
        "{}",
        t(&mut h, "ct.info")
    );
    let s = h.event_to_string(e).unwrap();
    assert!(s.starts_with("us-east-2 Alice ec2 StartInstances "), "{s}");
    // The record is passed on as written in the file.
    let v: serde_json::Value = serde_json::from_slice(event_payload(e)).unwrap();
    assert_eq!(v["eventName"], "StartInstances");
    // Every field, on every fixture record: values or no values, never a failure.
    let names: Vec<_> = h.fields().iter().map(|f| f.name.clone()).collect();
    let mut all = events.clone();
    all.extend(read(&mut h, &format!("{DIR}/alice_start_instances_bigevent.json")));
    for e in &all {
        for n in &names {
            h.extract(e, n).unwrap();
        }
        h.extract(e, "ec2.imageids[0]").unwrap();
    }
}

#[test]
fn directories_gzip_and_skipped_records() {
    let dir = std::env::temp_dir().join(format!("lanner-ct-{}", std::process::id()));
    let sub = dir.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    let text = std::fs::read(format!("{DIR}/alice_start_instances.json")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&text).unwrap();
    std::fs::write(sub.join("a.json.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(dir.join("b.json"), &text).unwrap();
    std::fs::write(dir.join("ignored.txt"), "x").unwrap();
    std::fs::write(
        dir.join("c.json"),
        r#"{"Records":[{"eventType":"AwsCloudTrailInsight","eventTime":"2021-01-01T00:00:00Z"},{"eventTime":"bad","eventType":"AwsApiCall"},{"eventType":"AwsApiCall"},{"eventTime":"2021-01-01T00:00:00Z","eventType":"AwsApiCall","eventName":"GetObject","requestParameters":{"bucketName":"b","key":"k"},"additionalEventData":{"bytesTransferredOut":33.0}}]}"#,
    )
    .unwrap();
    // A digest file (hashes of the log files, no records) in a trail's bucket layout.
    let digest = dir.join("CloudTrail-Digest");
    std::fs::create_dir_all(&digest).unwrap();
    std::fs::write(
        digest.join("111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20240611T120000Z.json"),
        r#"{"awsAccountId":"111122223333","digestStartTime":"2024-06-11T11:00:00Z","logFiles":[]}"#,
    )
    .unwrap();
    let mut h = host();
    let events = read(&mut h, dir.to_str().unwrap());
    assert_eq!(events.len(), 3);
    let s3 = events
        .iter()
        .find(|e| h.extract_text(e, "ct.name").unwrap() == "GetObject")
        .unwrap()
        .clone();
    assert_eq!(h.extract_text(&s3, "s3.uri").unwrap(), "s3://b/k");
    assert_eq!(h.extract_text(&s3, "s3.bytes").unwrap(), "33");
    assert_eq!(h.extract_text(&s3, "s3.cnt.get").unwrap(), "1");
    assert_eq!(
        h.extract_text(&s3, "ct.info").unwrap(),
        "<invalid cloudtrail event: userIdentity field missing>"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// upstream skips a file it cannot read without a word; here the capture ends with an error
/// that names the file, after the records of the files before it.
#[test]
fn malformed_files_are_errors_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("lanner-ct-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = std::fs::read(format!("{DIR}/alice_start_instances.json")).unwrap();
    for (name, data, want) in [
        ("not-json.json", &b"not json"[..], "cannot parse JSON at offset 0"),
        ("truncated.json", br#"{"Records":[{"eventVersion":"1.08""#, "cannot parse JSON"),
        ("no-records.json", br#"{"awsAccountId":"111122223333"}"#, "no top-level `Records` array"),
        ("array.json", b"[]", "no top-level `Records` array"),
        ("empty.json", b"", "cannot parse JSON"),
        ("not-gzip.json.gz", b"not gzip", "cannot decompress it"),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, data).unwrap();
        let mut h = host();
        let mut inst = h.open(path.to_str().unwrap()).unwrap();
        let err = h.read_all(&mut inst, 0).unwrap_err();
        let head =
            format!("cloudtrail plugin error: {} is not a CloudTrail log file: ", path.display());
        assert!(err.starts_with(&head), "{name}: {err}");
        assert!(err.contains(want), "{name}: {err}");
        h.close(inst);
    }
    // In a directory: the good file's record first; JSON that is not a log is skipped with
    // a warning; then the error.
    let sub = dir.join("walk");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(sub.join("a.json"), &good).unwrap();
    std::fs::write(sub.join("b.json"), br#"{"note": "not a log"}"#).unwrap();
    std::fs::write(sub.join("c.json"), br#"{"Records":[{"eventVersion":"#).unwrap();
    let mut h = host();
    take_logs();
    let mut inst = h.open(sub.to_str().unwrap()).unwrap();
    assert!(matches!(h.next_batch(&mut inst).unwrap(), Batch::Events(e) if e.len() == 1));
    let err = h.next_batch(&mut inst).unwrap_err();
    let c = sub.join("c.json");
    assert!(err.contains(&format!("{} is not a CloudTrail log file: ", c.display())), "{err}");
    let logs = take_logs();
    let b = sub.join("b.json");
    assert!(logs.iter().any(|l| l.contains(&format!("skipping {}", b.display()))), "{logs:?}");
    h.close(inst);
    // `{"Records": []}` is a log file without records: no error.
    std::fs::write(dir.join("none.json"), br#"{"Records": []}"#).unwrap();
    assert!(read(&mut host(), dir.join("none.json").to_str().unwrap()).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn open_errors_and_odd_events() {
    let mut h = host();
    for (params, want) in [
        ("", "missing input directory argument"),
        ("/no/such", "cannot open /no/such"),
        ("s3://bucket/prefix", "S3 input needs AWS access"),
        ("sqs://queue", "SQS input needs AWS access"),
        ("../../../shared/fixtures/README.md", "no json files found"),
    ] {
        let e = h.open(params).unwrap_err();
        assert!(e.contains(want), "{params}: {e}");
    }
    let names: Vec<_> = h.fields().iter().map(|f| f.name.clone()).collect();
    for odd in [
        &br#"{"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/R/sess"},"resources":[{"a":1},2],"readOnly":"no"}"#[..],
        br#"{"userIdentity":{"type":"AssumedRole","principalId":"AID:bob"},"eventName":7}"#,
        br#"[]"#,
        b"\0{}\0",
        b"",
        b"{",
    ] {
        let e = plugin_event(2, 1, odd);
        for n in &names {
            let _ = h.extract(&e, n);
        }
    }
    let e = plugin_event(
        2,
        1,
        br#"{"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/R/sess"}}"#,
    );
    assert_eq!(h.extract_text(&e, "ct.originaluser").unwrap(), "sess");
    assert_eq!(h.extract_text(&e, "ct.user").unwrap(), "AssumedRole");
}
