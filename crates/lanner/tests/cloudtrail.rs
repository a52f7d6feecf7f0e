//! upstream's CloudTrail rules (falcosecurity/plugins' `aws_cloudtrail_rules.yaml`, 22 rules)
//! against realistic CloudTrail records, through the `lanner` binary and lanner's own
//! cloudtrail and json plugins, configured as `examples/cloudtrail/lanner.yaml` configures
//! them:
//!
//! - every case file of `plugins/cloudtrail/testdata/aws_cloudtrail_rule_cases/` fires
//!   exactly the counts of its `expected.json` (rules it does not name: 0), every rule fires
//!   somewhere, and the directory read at once adds up to the same, also when its files are
//!   laid out as a trail delivers them (one line of JSON, gzipped, next to digest files);
//! - the rules load with no error and no warning;
//! - alerts carry the records' values (user, region, bucket ...);
//! - a malformed log file stops the run with an error that names it.
//!
//! The per-file runs use `rule_matching: all` and enable the two rules upstream ships
//! disabled, so that each rule is seen on its own; [`the_directory_with_the_rules_as_shipped`]
//! shows what Falco's defaults make of the same records.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

#[allow(dead_code, reason = "each test binary uses part of the shared helpers")]
mod plugin_libs;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rules_file() -> PathBuf {
    root().join("../shared/fixtures/plugin_rules/cloudtrail_aws_cloudtrail_rules.yaml")
}

fn cases() -> PathBuf {
    root().join("plugins/cloudtrail/testdata/aws_cloudtrail_rule_cases")
}

/// The rules upstream ships with `enabled: false`.
const DISABLED: [&str; 2] = ["All Cloudtrail Events", "List Buckets"];

/// The example configuration with the plugins' `library_path` pointed at the test builds,
/// the web server off (tests run side by side), and, with `every_rule`, the disabled rules
/// enabled and every matching rule reported for an event (`rule_matching: all`).
fn config(every_rule: bool) -> &'static Path {
    static SHIPPED: OnceLock<PathBuf> = OnceLock::new();
    static EVERY_RULE: OnceLock<PathBuf> = OnceLock::new();
    let cell = if every_rule { &EVERY_RULE } else { &SHIPPED };
    cell.get_or_init(|| {
        let example = std::fs::read_to_string(root().join("examples/cloudtrail/lanner.yaml"));
        let mut text = String::new();
        for line in example.unwrap().lines() {
            match line.split_once("library_path: ") {
                Some((indent, file)) => {
                    let name = file.trim_start_matches("liblanner_plugin_").trim_end_matches(".so");
                    let path = plugin_libs::plugin(name);
                    text += &format!("{indent}library_path: {}\n", path.display());
                }
                None => text += &format!("{line}\n"),
            }
        }
        text += "webserver:\n  enabled: false\n";
        if every_rule {
            text += "rule_matching: all\nrules:\n";
            for rule in DISABLED {
                text += &format!("  - enable:\n      rule: {rule}\n");
            }
        }
        let which = if every_rule { "every-rule" } else { "shipped" };
        let path = std::env::temp_dir()
            .join(format!("lanner-cloudtrail-{which}-{}.yaml", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    })
}

struct Run {
    code: i32,
    /// The alerts (JSON output), in order.
    alerts: Vec<Value>,
    /// The summary's "Triggered rules by rule name" counts.
    summary: BTreeMap<String, u64>,
    stderr: String,
}

impl Run {
    /// Alerts per rule, counted from the alerts themselves.
    fn counts(&self) -> BTreeMap<String, u64> {
        let mut counts = BTreeMap::new();
        for alert in &self.alerts {
            *counts.entry(alert["rule"].as_str().unwrap().to_owned()).or_insert(0) += 1;
        }
        counts
    }

    /// The alerts of one rule.
    fn of(&self, rule: &str) -> Vec<&Value> {
        self.alerts.iter().filter(|a| a["rule"] == rule).collect()
    }
}

/// `lanner` on `input` (a file or a directory) with the upstream rules.
fn lanner(input: &Path, every_rule: bool) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_lanner"))
        .arg("-c")
        .arg(config(every_rule))
        .arg("-r")
        .arg(rules_file())
        .args(["-o", "json_output=true", "-o"])
        .arg(format!("plugins[0].open_params={}", input.display()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let alerts =
        stdout.lines().filter(|l| l.starts_with('{')).map(|l| serde_json::from_str(l).unwrap());
    let mut summary = BTreeMap::new();
    let by_name = stdout.lines().skip_while(|l| *l != "Triggered rules by rule name:").skip(1);
    for line in by_name.take_while(|l| l.starts_with("   ")) {
        let (rule, n) = line.trim_start().rsplit_once(": ").unwrap();
        summary.insert(rule.to_owned(), n.parse().unwrap());
    }
    Run {
        code: out.status.code().unwrap_or(-1),
        alerts: alerts.collect(),
        summary,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The rule names of the upstream file, in order.
fn rule_names() -> Vec<String> {
    let text = std::fs::read_to_string(rules_file()).unwrap();
    let items: Vec<serde_yaml_ng::Value> = serde_yaml_ng::from_str(&text).unwrap();
    items.iter().filter_map(|i| i.get("rule")?.as_str().map(str::to_owned)).collect()
}

/// `expected.json`: case file → rule → alerts.
fn expected() -> BTreeMap<String, BTreeMap<String, u64>> {
    serde_json::from_str(&std::fs::read_to_string(cases().join("expected.json")).unwrap()).unwrap()
}

#[test]
fn the_upstream_rules_load_with_no_error_and_no_warning() {
    let out = Command::new(env!("CARGO_BIN_EXE_lanner"))
        .arg("-c")
        .arg(config(false))
        .arg("-V")
        .arg(rules_file())
        .args(["-o", "json_output=true"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = result["falco_load_results"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["successful"], true, "{result:#}");
    assert_eq!(files[0]["errors"], serde_json::json!([]), "{result:#}");
    assert_eq!(files[0]["warnings"], serde_json::json!([]), "{result:#}");
    assert_eq!(rule_names().len(), 22);
}

#[test]
fn every_rule_fires_on_its_records_and_not_on_its_near_misses() {
    let rules = rule_names();
    let expected = expected();
    let mut problems = Vec::new();
    // Every case file has its expectations, and every rule is expected to fire somewhere.
    for entry in std::fs::read_dir(cases()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") && name != "expected.json" && !expected.contains_key(&name) {
            problems.push(format!("{name}: not in expected.json"));
        }
    }
    for rule in &rules {
        if !expected.values().any(|counts| counts.get(rule).is_some_and(|n| *n > 0)) {
            problems.push(format!("{rule}: no case file fires it"));
        }
    }
    for (file, want) in &expected {
        for rule in want.keys().filter(|r| !rules.contains(r)) {
            problems.push(format!("{file}: `{rule}` is not a rule of the upstream file"));
        }
        let run = lanner(&cases().join(file), true);
        if run.code != 0 {
            problems.push(format!("{file}: exit code {}: {}", run.code, run.stderr));
            continue;
        }
        let got = run.counts();
        if got.iter().any(|(rule, n)| run.summary.get(rule) != Some(n))
            || got.len() != run.summary.len()
        {
            problems.push(format!("{file}: alerts {got:?}, summary {:?}", run.summary));
        }
        for rule in &rules {
            let (want, got) =
                (want.get(rule).copied().unwrap_or(0), got.get(rule).copied().unwrap_or(0));
            if want != got {
                problems.push(format!("{file}: `{rule}` fired {got} times, expected {want}"));
            }
        }
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}

/// The alerts per rule of all case files together (rules that fire only).
fn totals() -> BTreeMap<String, u64> {
    let mut totals: BTreeMap<String, u64> = BTreeMap::new();
    for counts in expected().values() {
        for (rule, n) in counts {
            *totals.entry(rule.clone()).or_insert(0) += n;
        }
    }
    totals.retain(|_, n| *n > 0);
    totals
}

/// All case files at once (the plugin walks the directory): with every rule on its own the
/// counts add up to the per-file ones; with the rules as shipped, Falco's defaults (the two
/// disabled rules off, `rule_matching: first`) leave some of them silent.
#[test]
fn the_directory_with_the_rules_as_shipped() {
    let totals = totals();
    let every_rule = lanner(&cases(), true);
    assert_eq!(every_rule.code, 0, "{}", every_rule.stderr);
    assert_eq!(every_rule.counts(), totals);
    assert_eq!(every_rule.summary, totals);

    // With `rule_matching: first`, an event fires the first enabled rule it matches, in the
    // file's order. "Console Root Login Without MFA" asks all that "Console Login Without
    // MFA" (before it) asks, and more; "Run Instances in Non-approved Region" likewise asks
    // all of "Run Instances": as shipped, neither can fire in Falco either.
    let shadowed = ["Console Root Login Without MFA", "Run Instances in Non-approved Region"];
    let mut shipped = totals.clone();
    shipped
        .retain(|rule, _| !DISABLED.contains(&rule.as_str()) && !shadowed.contains(&rule.as_str()));
    let run = lanner(&cases(), false);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.counts(), shipped);
    assert_eq!(run.summary, shipped);
}

/// An alert expected of a case file: the text of its output line after the time, and some of
/// its output fields.
struct Check {
    file: &'static str,
    rule: &'static str,
    priority: &'static str,
    text: &'static str,
    fields: &'static [(&'static str, &'static str)],
}

/// JSON without the whitespace between tokens, as CloudTrail writes its files.
fn minify(text: &str) -> String {
    let (mut out, mut in_string, mut escaped) = (String::new(), false, false);
    for c in text.chars() {
        if in_string {
            in_string = escaped || c != '"';
            escaped = !escaped && c == '\\';
        } else if c.is_whitespace() {
            continue;
        } else {
            in_string = c == '"';
        }
        out.push(c);
    }
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut child = Command::new("gzip")
        .arg("-c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(data).unwrap();
    child.wait_with_output().unwrap().stdout
}

/// The case files as a trail delivers them to its bucket: one line of JSON each, gzipped,
/// under `AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/`, next to a digest file (no records,
/// left out without a word).
#[test]
fn the_cases_as_a_trail_delivers_them() {
    let dir = std::env::temp_dir().join(format!("lanner-cloudtrail-bucket-{}", std::process::id()));
    let logs = dir.join("AWSLogs/111122223333/CloudTrail/us-east-1/2024/06/11");
    let digests = dir.join("AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/06/11");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::create_dir_all(&digests).unwrap();
    for (i, file) in expected().keys().enumerate() {
        let text = std::fs::read_to_string(cases().join(file)).unwrap();
        let one_line = minify(&text);
        assert_eq!(
            serde_json::from_str::<Value>(&one_line).unwrap(),
            serde_json::from_str::<Value>(&text).unwrap()
        );
        let name =
            format!("111122223333_CloudTrail_us-east-1_20240611T{i:04}Z_Xq3kR8vN2pLm7TfA.json.gz");
        std::fs::write(logs.join(name), gzip(one_line.as_bytes())).unwrap();
    }
    let digest = r#"{"awsAccountId":"111122223333","digestStartTime":"2024-06-11T00:00:00Z","digestEndTime":"2024-06-11T01:00:00Z","digestS3Bucket":"acme-trail","digestS3Object":"AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/06/11/111122223333_CloudTrail-Digest_us-east-1_management_us-east-1_20240611T010000Z.json.gz","logFiles":[]}"#;
    let name =
        "111122223333_CloudTrail-Digest_us-east-1_management_us-east-1_20240611T010000Z.json.gz";
    std::fs::write(digests.join(name), gzip(digest.as_bytes())).unwrap();
    let run = lanner(&dir, true);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("skipping"), "{}", run.stderr);
    assert_eq!(run.counts(), totals());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn alerts_carry_the_records_values() {
    let checks = [
        Check {
            file: "create_aws_user.json",
            rule: "Create AWS user",
            priority: "Informational",
            text: "A new AWS user has been created (requesting user=alice, requesting IP=198.51.100.23, AWS region=us-east-1, new user created=carol)",
            fields: &[("ct.user", "alice"), ("ct.request.username", "carol")],
        },
        Check {
            file: "console_login_through_assume_role.json",
            rule: "Console Login Through Assume Role",
            priority: "Warning",
            text: "Detected a console login through Assume Role (principal=AROA5EXAMPLEROLEID01:bob@example.com, assumedRole=arn:aws:sts::111122223333:assumed-role/DevOpsRole/bob@example.com, requesting IP=203.0.113.77, AWS region=us-east-1)",
            fields: &[("ct.user.principalid", "AROA5EXAMPLEROLEID01:bob@example.com")],
        },
        // Root's userIdentity has no userName: ct.user has no value, as upstream.
        Check {
            file: "console_root_login_without_mfa.json",
            rule: "Console Root Login Without MFA",
            priority: "Critical",
            text: "Detected a root console login without MFA. (requesting user=<NA>, requesting IP=192.0.2.146, AWS region=us-east-1)",
            fields: &[("ct.srcip", "192.0.2.146")],
        },
        Check {
            file: "delete_bucket_encryption.json",
            rule: "Delete Bucket Encryption",
            priority: "Critical",
            text: "A encryption configuration for a bucket has been deleted (requesting user=DevOpsRole, requesting IP=185.220.101.34, AWS region=eu-west-1, bucket=acme-payroll-exports)",
            fields: &[("s3.bucket", "acme-payroll-exports"), ("ct.user", "DevOpsRole")],
        },
        Check {
            file: "ecs_service_created.json",
            rule: "ECS Service Created",
            priority: "Warning",
            text: "A new service has been created in ECS (requesting user=ci-deploy, requesting IP=20.42.71.15, AWS region=eu-west-1, cluster=prod, service name=checkout-api, task definition=checkout-api:14)",
            fields: &[("ct.request.servicename", "checkout-api")],
        },
        // json.value[...] in an output; the subnet is not at responseElements.subnetId in
        // a RunInstances record (it is per instance), so ct.response.subnetid has none.
        Check {
            file: "run_instances_in_non_approved_region.json",
            rule: "Run Instances in Non-approved Region",
            priority: "Warning",
            text: "A number of instances have been launched in a non-approved region. (requesting user=DevOpsRole, requesting IP=185.220.101.34, AWS region=ap-southeast-3, availability zone=ap-southeast-3a, subnet id=<NA>, reservation id=r-0171b2f3a9f889eea, image id=i-05ab3adf32b1cc8fa)",
            fields: &[("ct.region", "ap-southeast-3")],
        },
        Check {
            file: "deactivate_mfa_for_root_user.json",
            rule: "Deactivate MFA for Root User",
            priority: "Critical",
            text: "Multi Factor Authentication configuration has been disabled for root (requesting user=<NA>, requesting IP=192.0.2.146, AWS region=us-east-1, MFA serial number=arn:aws:iam::111122223333:mfa/root-account-mfa-device)",
            fields: &[(
                "ct.request.serialnumber",
                "arn:aws:iam::111122223333:mfa/root-account-mfa-device",
            )],
        },
    ];
    for Check { file, rule, priority, text, fields } in checks {
        let run = lanner(&cases().join(file), true);
        let alerts = run.of(rule);
        assert_eq!(alerts.len(), 1, "{file}: {:?}", run.alerts);
        let alert = alerts[0];
        assert_eq!(alert["priority"], priority, "{file}");
        assert_eq!(alert["source"], "aws_cloudtrail", "{file}");
        let output = alert["output"].as_str().unwrap();
        // "HH:MM:SS.nnnnnnnnn: Priority text", the time being the record's eventTime.
        let (_, rest) = output.split_once(": ").unwrap();
        assert_eq!(rest, format!("{priority} {text}"), "{file}");
        for (field, value) in fields {
            assert_eq!(alert["output_fields"][field], *value, "{file}: {field}");
        }
    }
    // The alert's time is the record's eventTime.
    let run = lanner(&cases().join("create_aws_user.json"), true);
    assert_eq!(run.of("Create AWS user")[0]["time"], "2024-06-11T08:15:27.000000000Z");
}

#[test]
fn a_malformed_log_file_is_an_error_naming_it() {
    let dir = std::env::temp_dir().join(format!("lanner-cloudtrail-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, data, reason) in [
        ("not-json.json", "<html>Access Denied</html>", "cannot parse JSON at offset 0"),
        (
            "no-records.json",
            r#"{"eventVersion":"1.09","eventName":"StopLogging"}"#,
            "no top-level `Records` array",
        ),
        ("not-gzip.json.gz", "plain text", "cannot decompress it"),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, data).unwrap();
        let run = lanner(&path, true);
        assert_eq!(run.code, 1, "{name}: {}", run.stderr);
        let want = format!(
            "cloudtrail plugin error: {} is not a CloudTrail log file: {reason}",
            path.display()
        );
        assert!(run.stderr.contains(&want), "{name}: {}", run.stderr);
        std::fs::remove_file(&path).unwrap();
    }
    // In a directory, the files before the bad one are read and alerted on first; JSON that
    // is not a log (this `{}`) is skipped with a warning.
    std::fs::copy(cases().join("create_aws_user.json"), dir.join("a.json")).unwrap();
    std::fs::write(dir.join("b.json"), "{}").unwrap();
    std::fs::write(dir.join("c.json"), r#"{"Records":[{"eventVersion":"1.09","#).unwrap();
    let run = lanner(&dir, true);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.of("Create AWS user").len(), 1);
    let skipped = format!(
        "skipping {}: JSON, but no top-level `Records` array",
        dir.join("b.json").display()
    );
    assert!(run.stderr.contains(&skipped), "{}", run.stderr);
    let bad =
        format!("{} is not a CloudTrail log file: cannot parse JSON", dir.join("c.json").display());
    assert!(run.stderr.contains(&bad), "{}", run.stderr);
    std::fs::remove_dir_all(&dir).unwrap();
}
