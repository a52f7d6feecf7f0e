//! lanner's `cloudtrail` Falco plugin: AWS CloudTrail records as the `aws_cloudtrail` event
//! source (plugin id 2), with the `ct.*`, `s3.*`, `ec2.*`, `ecr.*` and `iam.*` fields of
//! upstream's cloudtrail plugin (falcosecurity/plugins `plugins/cloudtrail`), built with the
//! `falco_plugin` SDK.
//!
//! **Sourcing**: `open_params` is a file or a directory, walked recursively, of CloudTrail
//! log files (`*.json`, or gzip-compressed `*.json.gz`), each `{"Records":[...]}`. Every
//! record is emitted as written in the file, timestamped with its `eventTime`; records
//! without `eventTime` or `eventType`, or of type `AwsCloudTrailInsight`, are skipped, as
//! upstream. The capture ends (EOF) after the last file. `s3://` and `sqs://` open
//! parameters need AWS and the network, which lanner's cloudtrail does not reach: they fail
//! with a clear error.
//!
//! **Malformed files** are errors, unlike upstream, which skips them without a word: a file
//! that is not gzip (`.json.gz`) or not JSON ends the capture with
//! [`CloudTrailError::NotCloudTrail`], naming the file, once the records of the files before
//! it are out. A detector that drops a log it cannot read would report "no alerts" on
//! records it never looked at. A file that is JSON but not `{"Records":[...]}` is not a log
//! at all: an error when `open_params` names it, skipped with a warning when a directory
//! walk finds it (a manifest, notes). CloudTrail's digest files, which share a trail's
//! bucket with its logs (`…_CloudTrail-Digest_….json.gz`: hashes, no records), are left out
//! of directory walks without a word.
//!
//! **Extraction**: the 73 fields of upstream's table ([`fields`]), cached per event number.
//!
//! **Init config** (JSON, `{}` when empty): upstream's keys (`s3DownloadConcurrency`,
//! `sqsDelete`, `useAsync`, `useS3SNS`, `aws`) are accepted and, without S3/SQS, unused.
//!
//! The `cdylib` is `liblanner_plugin_cloudtrail.so`; [`PLUGIN_API`] is the same vtable.

use falco_plugin::FailureReason;
use falco_plugin::anyhow::{self, Error};
use falco_plugin::base::{Json, Plugin};
use falco_plugin::event::PluginEvent;
use falco_plugin::event::events::Event;
use falco_plugin::extract::{ExtractFieldInfo, ExtractPlugin, ExtractRequest, field};
use falco_plugin::schemars::JsonSchema;
use falco_plugin::serde::Deserialize;
use falco_plugin::source::{EventBatch, EventInput, SourcePlugin, SourcePluginInstance};
use falco_plugin::tables::TablesInput;
use lanner_plugin_jsontree::{PerEvent, Value, parse_rfc3339_nano};
use lanner_plugin_support::{cstring, source_payload};
use std::collections::VecDeque;
use std::ffi::{CStr, CString};
use std::io::Read;
use std::path::{Path, PathBuf};

pub mod fields;

/// The plugin id registered for cloudtrail.
pub const PLUGIN_ID: u32 = 2;
/// Events handed to the framework per `next_batch` at most.
pub const MAX_BATCH: usize = 512;

/// The plugin's init config (upstream's keys; none is used without S3/SQS).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(crate = "falco_plugin::serde")]
#[schemars(crate = "falco_plugin::schemars")]
pub struct Config {
    /// Controls the number of concurrent S3 downloads (unused: no S3).
    #[serde(rename = "s3DownloadConcurrency", default)]
    pub s3_download_concurrency: Option<u64>,
    /// If true then the plugin deletes SQS messages from the queue (unused: no SQS).
    #[serde(rename = "sqsDelete", default)]
    pub sqs_delete: Option<bool>,
    /// If true then async extraction optimization is enabled (accepted, ignored).
    #[serde(rename = "useAsync", default)]
    pub use_async: Option<bool>,
    /// If true then the plugin expects S3 events in SNS messages (unused: no SQS).
    #[serde(rename = "useS3SNS", default)]
    pub use_s3_sns: Option<bool>,
    /// AWS SDK settings (unused).
    #[serde(default)]
    pub aws: Option<std::collections::BTreeMap<String, String>>,
}

/// Errors of `open` and reading (messages as upstream's where it has them).
#[derive(Debug, thiserror::Error)]
pub enum CloudTrailError {
    /// Empty open parameters.
    #[error("cloudtrail plugin error: missing input directory argument")]
    Missing,
    /// The path does not exist.
    #[error("cloudtrail plugin error: cannot open {0}")]
    CannotOpen(String),
    /// No `.json`/`.json.gz` file there.
    #[error("cloudtrail plugin error: no json files found in {0}")]
    NoFiles(String),
    /// S3/SQS.
    #[error(
        "cloudtrail plugin error: {0} input needs AWS access, which lanner's cloudtrail plugin does not have; download the files and open them from a directory"
    )]
    Remote(&'static str),
    /// Reading a file failed.
    #[error("cloudtrail plugin error: cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// A file is not gzip (`.json.gz`), not JSON, or not `{"Records":[...]}`.
    #[error("cloudtrail plugin error: {path} is not a CloudTrail log file: {reason}")]
    NotCloudTrail {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}

source_payload! {
    /// The payload of cloudtrail's plugin events: a record's JSON.
    pub struct RecordPayload for "aws_cloudtrail";
}

type RecordEventRef<'a> = Event<PluginEvent<RecordPayload<'a>>>;

/// The cloudtrail plugin.
#[derive(Debug, Default)]
pub struct CloudTrailPlugin {
    parsed: PerEvent,
}

impl Plugin for CloudTrailPlugin {
    const NAME: &'static CStr = c"cloudtrail";
    const PLUGIN_VERSION: &'static CStr = c"0.13.0";
    const DESCRIPTION: &'static CStr =
        c"reads cloudtrail JSON data saved to file in the directory specified in the settings";
    const CONTACT: &'static CStr = c"https://github.com/lanner-project/lanner";
    type ConfigType = Json<Config>;

    fn new(_input: Option<&TablesInput>, _config: Self::ConfigType) -> Result<Self, Error> {
        Ok(CloudTrailPlugin::default())
    }
}

/// An open capture: the files still to read and the records of the current one.
#[derive(Debug)]
pub struct CloudTrailInstance {
    files: VecDeque<PathBuf>,
    total: usize,
    ready: VecDeque<(u64, Vec<u8>)>,
    /// The files were found in a directory, not named by `open_params`.
    walked: bool,
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn is_input(p: &Path) -> bool {
    let name = p.to_string_lossy();
    name.ends_with(".json") || name.ends_with(".json.gz")
}

/// A CloudTrail digest file, by the name AWS gives it
/// (`<account>_CloudTrail-Digest_<region>_<trail>_<region>_<time>.json.gz`).
fn is_digest(p: &Path) -> bool {
    p.file_name().is_some_and(|n| n.to_string_lossy().contains("_CloudTrail-Digest_"))
}

impl CloudTrailInstance {
    /// Opens a file or a directory (see the crate docs).
    pub fn open(params: &str) -> Result<CloudTrailInstance, CloudTrailError> {
        if params.starts_with("s3://") {
            return Err(CloudTrailError::Remote("S3"));
        }
        if params.starts_with("sqs://") {
            return Err(CloudTrailError::Remote("SQS"));
        }
        if params.is_empty() {
            return Err(CloudTrailError::Missing);
        }
        let root = Path::new(params);
        if !root.exists() {
            return Err(CloudTrailError::CannotOpen(params.to_string()));
        }
        let mut all = Vec::new();
        if root.is_dir() {
            walk(root, &mut all);
            all.retain(|p| !is_digest(p));
        } else {
            all.push(root.to_path_buf());
        }
        let files: VecDeque<PathBuf> = all.into_iter().filter(|p| is_input(p)).collect();
        if files.is_empty() {
            return Err(CloudTrailError::NoFiles(params.to_string()));
        }
        Ok(CloudTrailInstance {
            total: files.len(),
            files,
            ready: VecDeque::new(),
            walked: root.is_dir(),
        })
    }

    fn load(&mut self, path: &Path) -> Result<(), CloudTrailError> {
        let shown = path.display().to_string();
        let not_cloudtrail =
            |reason: String| CloudTrailError::NotCloudTrail { path: shown.clone(), reason };
        let raw = std::fs::read(path)
            .map_err(|source| CloudTrailError::Read { path: shown.clone(), source })?;
        let data = if path.to_string_lossy().ends_with(".gz") {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .map_err(|e| not_cloudtrail(format!("cannot decompress it: {e}")))?;
            out
        } else {
            raw
        };
        let spans = match lanner_plugin_jsontree::member_array_spans(&data, "Records") {
            Ok(Some(spans)) => spans,
            Ok(None) if self.walked => {
                log::warn!("cloudtrail: skipping {shown}: JSON, but no top-level `Records` array");
                return Ok(());
            }
            Ok(None) => return Err(not_cloudtrail("no top-level `Records` array".to_owned())),
            Err(e) => return Err(not_cloudtrail(e.to_string())),
        };
        for span in spans {
            let Some(text) = data.get(span) else { continue };
            let Ok(record) = Value::parse(text) else { continue };
            let Some(ts) =
                record.get("eventTime").and_then(Value::as_str).and_then(parse_rfc3339_nano)
            else {
                continue;
            };
            match record.get("eventType").and_then(Value::as_str) {
                None | Some("AwsCloudTrailInsight") => continue,
                Some(_) => {}
            }
            self.ready.push_back((ts, text.to_vec()));
        }
        Ok(())
    }

    /// Up to `max` records (timestamp, JSON); empty at the end.
    pub fn next_records(&mut self, max: usize) -> Result<Vec<(u64, Vec<u8>)>, CloudTrailError> {
        while self.ready.is_empty() {
            let Some(p) = self.files.pop_front() else { break };
            self.load(&p)?;
        }
        let n = self.ready.len().min(max);
        Ok(self.ready.drain(..n).collect())
    }
}

impl CloudTrailPlugin {
    fn parsed(&mut self, req: &ExtractRequest<'_, '_, '_, '_, Self>) -> Result<&Value, Error> {
        let event = req.event.event()?;
        self.parsed.get_or_parse(req.event.event_number(), event.params.event_data.0, |data| {
            // upstream trims NUL bytes around the record first.
            let start = data.iter().position(|b| *b != 0).unwrap_or(data.len());
            let end = data.iter().rposition(|b| *b != 0).map_or(start, |e| e + 1);
            Ok(Value::parse(&data[start..end.max(start)])?)
        })
    }

    fn one(&mut self, req: ExtractRequest<Self>, name: &str) -> Result<Option<CString>, Error> {
        Ok(fields::string_field(self.parsed(&req)?, name).map(cstring))
    }

    fn num(&mut self, req: ExtractRequest<Self>, name: &str) -> Result<Option<u64>, Error> {
        Ok(fields::u64_field(self.parsed(&req)?, name))
    }

    fn ids(
        &mut self,
        req: ExtractRequest<Self>,
        arg: Option<u64>,
    ) -> Result<Option<Vec<CString>>, Error> {
        let ids = fields::image_ids(self.parsed(&req)?);
        let ids: Vec<CString> = match arg {
            None => ids.into_iter().map(cstring).collect(),
            Some(i) => usize::try_from(i)
                .ok()
                .and_then(|i| ids.into_iter().nth(i))
                .map(cstring)
                .into_iter()
                .collect(),
        };
        Ok((!ids.is_empty()).then_some(ids))
    }
}

impl SourcePlugin for CloudTrailPlugin {
    type Instance = CloudTrailInstance;
    type Event<'a> = RecordEventRef<'a>;
    const EVENT_SOURCE: &'static CStr = c"aws_cloudtrail";
    const PLUGIN_ID: u32 = PLUGIN_ID;

    fn open(&mut self, params: Option<&str>) -> Result<Self::Instance, Error> {
        Ok(CloudTrailInstance::open(params.unwrap_or(""))?)
    }

    fn event_to_string(&mut self, event: &EventInput<Self::Event<'_>>) -> Result<CString, Error> {
        let event = event.event()?;
        let j = Value::parse(event.params.event_data.0)
            .map_err(|e| anyhow::anyhow!("<invalid JSON: {e}>"))?;
        let get = |k: &str, what: &str| {
            j.get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| anyhow::anyhow!("<invalid JSON: event did not contain {what}>"))
        };
        let src = get("eventSource", "a source")?;
        let region = get("awsRegion", "an awsRegion")?;
        let name = get("eventName", "an eventName")?;
        let src = match src.strip_suffix(".amazonaws.com") {
            Some(s) if !s.is_empty() => s.to_string(),
            _ => src,
        };
        let user = fields::string_field(&j, "ct.user")
            .filter(|u| !u.is_empty())
            .map(|u| format!(" {u}"))
            .unwrap_or_default();
        let info = fields::string_field(&j, "ct.info").unwrap_or_default();
        Ok(cstring(format!("{region}{user} {src} {name} {info}")))
    }
}

impl SourcePluginInstance for CloudTrailInstance {
    type Plugin = CloudTrailPlugin;

    fn next_batch(
        &mut self,
        _plugin: &mut Self::Plugin,
        batch: &mut EventBatch,
    ) -> Result<(), Error> {
        let records = self.next_records(MAX_BATCH)?;
        if records.is_empty() {
            return Err(anyhow::anyhow!("no more cloudtrail files").context(FailureReason::Eof));
        }
        batch.reserve(records.len());
        for (ts, data) in &records {
            let mut event = Self::plugin_event(data);
            event.metadata.ts = *ts;
            batch.add(event)?;
        }
        Ok(())
    }

    fn get_progress(&mut self) -> falco_plugin::source::ProgressInfo<'_> {
        let done = self.total - self.files.len();
        falco_plugin::source::ProgressInfo {
            value: done as f64 * 100.0 / self.total.max(1) as f64,
            detail: None,
        }
    }
}

macro_rules! ct_fields {
    ($( $m:ident $kind:ident $name:literal $desc:literal ;)*) => {
        impl CloudTrailPlugin {
            $( ct_fields!(@method $m $kind $name); )*
        }
        const CT_FIELDS: &[ExtractFieldInfo<CloudTrailPlugin>] = &[
            $( field($name, &CloudTrailPlugin::$m).with_description($desc), )*
        ];
    };
    (@method $m:ident one $name:literal) => {
        fn $m(&mut self, req: ExtractRequest<Self>) -> Result<Option<CString>, Error> {
            self.one(req, $name)
        }
    };
    (@method $m:ident u64 $name:literal) => {
        fn $m(&mut self, req: ExtractRequest<Self>) -> Result<Option<u64>, Error> {
            self.num(req, $name)
        }
    };
    (@method $m:ident index $name:literal) => {
        fn $m(&mut self, req: ExtractRequest<Self>, arg: Option<u64>) -> Result<Option<Vec<CString>>, Error> {
            self.ids(req, arg)
        }
    };
}

ct_fields! {
    f0 one "ct.id" "the unique ID of the cloudtrail event (eventID in the json).";
    f1 one "ct.error" "The error code from the event. Will be \"<NA>\" (e.g. the NULL/empty/none value) if there was no error.";
    f2 one "ct.errormessage" "The description of an error. Will be \"<NA>\" (e.g. the NULL/empty/none value) if there was no error.";
    f3 one "ct.time" "the timestamp of the cloudtrail event (eventTime in the json).";
    f4 one "ct.src" "the source of the cloudtrail event (eventSource in the json).";
    f5 one "ct.shortsrc" "the source of the cloudtrail event (eventSource in the json, without the '.amazonaws.com' trailer).";
    f6 one "ct.name" "the name of the cloudtrail event (eventName in the json).";
    f7 one "ct.user" "the user of the cloudtrail event (userIdentity.userName in the json). For AssumedRole events, this is the role name from sessionContext.sessionIssuer.userName.";
    f8 one "ct.originaluser" "the user name as seen in CloudTrail. For AssumedRole events, this is the session name extracted from userIdentity.arn or userIdentity.principalId. For all other identity types, this is userIdentity.userName.";
    f9 one "ct.user.accountid" "the account id of the user of the cloudtrail event.";
    f10 one "ct.user.identitytype" "the kind of user identity (e.g. Root, IAMUser,AWSService, etc.)";
    f11 one "ct.user.principalid" "A unique identifier for the user that made the request.";
    f12 one "ct.user.arn" "the Amazon Resource Name (ARN) of the user that made the request.";
    f13 one "ct.region" "the region of the cloudtrail event (awsRegion in the json).";
    f14 one "ct.response.subnetid" "the subnet ID included in the response.";
    f15 one "ct.response.reservationid" "the reservation ID included in the response.";
    f16 one "ct.response" "All response elements.";
    f17 one "ct.request.availabilityzone" "the availability zone included in the request.";
    f18 one "ct.request.cluster" "the cluster included in the request.";
    f19 one "ct.request.functionname" "the function name included in the request.";
    f20 one "ct.request.groupname" "the group name included in the request.";
    f21 one "ct.request.host" "the host included in the request";
    f22 one "ct.request.name" "the name of the entity being acted on in the request.";
    f23 one "ct.request.policy" "the policy included in the request";
    f24 one "ct.request.reason" "the reason included in the request.";
    f25 one "ct.request.target" "the target included in the request.";
    f26 one "ct.request.documentname" "the document name included in the request.";
    f27 one "ct.request.serialnumber" "the serial number provided in the request.";
    f28 one "ct.request.servicename" "the service name provided in the request.";
    f29 one "ct.request.subnetid" "the subnet ID provided in the request.";
    f30 one "ct.request.taskdefinition" "the task definition prrovided in the request.";
    f31 one "ct.request.username" "the username provided in the request.";
    f32 one "ct.request" "All request parameters.";
    f33 one "ct.srcip" "the IP address generating the event (sourceIPAddress in the json).";
    f34 one "ct.useragent" "the user agent generating the event (userAgent in the json).";
    f35 one "ct.info" "summary information about the event. This varies depending on the event type and, for some events, it contains event-specific details.";
    f36 one "ct.managementevent" "'true' if the event is a management event (AwsApiCall, AwsConsoleAction, AwsConsoleSignIn, or AwsServiceEvent), 'false' otherwise.";
    f37 one "ct.readonly" "'true' if the event only reads information (e.g. DescribeInstances), 'false' if the event modifies the state (e.g. RunInstances, CreateLoadBalancer...).";
    f38 one "ct.requestid" "The value that identifies the request.";
    f39 one "ct.eventtype" "Identifies the type of event that generated the event record.";
    f40 one "ct.apiversion" "The API version associated with the AwsApiCall eventType value.";
    f41 one "ct.resources" "A list of resources accessed in the event.";
    f42 one "ct.recipientaccountid" "The account ID that received this event.";
    f43 one "ct.serviceeventdetails" "Identifies the service event, including what triggered the event and the result.";
    f44 one "ct.sharedeventid" "GUID generated by CloudTrail to uniquely identify CloudTrail events.";
    f45 one "ct.vpcendpointid" "Identifies the VPC endpoint in which requests were made.";
    f46 one "ct.eventcategory" "Shows the event category that is used in LookupEvents calls.";
    f47 one "ct.addendum.reason" "The reason that the event or some of its contents were missing.";
    f48 one "ct.addendum.updatedfields" "The event record fields that are updated by the addendum.";
    f49 one "ct.addendum.originalrequestid" "The original unique ID of the request.";
    f50 one "ct.addendum.originaleventid" "The original event ID.";
    f51 one "ct.sessioncredentialfromconsole" "Shows whether or not an event originated from an AWS Management Console session.";
    f52 one "ct.edgedevicedetails" "Information about edge devices that are targets of a request.";
    f53 one "ct.tlsdetails.tlsversion" "The TLS version of a request.";
    f54 one "ct.tlsdetails.ciphersuite" "The cipher suite (combination of security algorithms used) of a request.";
    f55 one "ct.tlsdetails.clientprovidedhostheader" "The client-provided host name used in the service API call.";
    f56 one "ct.additionaleventdata" "All additional event data attributes.";
    f57 one "s3.uri" "the s3 URI (s3://<bucket>/<key>).";
    f58 one "s3.bucket" "the bucket name for s3 events.";
    f59 one "s3.key" "the S3 key name.";
    f60 u64 "s3.bytes" "the size of an s3 download or upload, in bytes.";
    f61 u64 "s3.bytes.in" "the size of an s3 upload, in bytes.";
    f62 u64 "s3.bytes.out" "the size of an s3 download, in bytes.";
    f63 u64 "s3.cnt.get" "the number of get operations. This field is 1 for GetObject events, 0 otherwise.";
    f64 u64 "s3.cnt.put" "the number of put operations. This field is 1 for PutObject events, 0 otherwise.";
    f65 u64 "s3.cnt.other" "the number of non I/O operations. This field is 0 for GetObject and PutObject events, 1 for all the other events.";
    f66 one "ec2.name" "the name of the ec2 instances, typically stored in the instance tags.";
    f67 one "ec2.imageid" "(Deprecated) the ID for the image used to run the ec2 instance in the response. Replace with ec2.imageids[0].";
    f68 index "ec2.imageids" "the list of image IDs for the ec2 instances involved.";
    f69 one "ecr.repository" "the name of the ecr Repository specified in the request.";
    f70 one "ecr.imagetag" "the tag of the image specified in the request.";
    f71 one "iam.role" "the IAM role specified in the request.";
    f72 one "iam.policy" "the IAM policy specified in the request.";
}

impl ExtractPlugin for CloudTrailPlugin {
    type Event<'a> = RecordEventRef<'a>;
    type ExtractContext = ();
    const EXTRACT_FIELDS: &'static [ExtractFieldInfo<Self>] = CT_FIELDS;
}

/// The C ABI: the `plugin_*` symbols of the `.so`, and the same functions as a vtable.
mod ffi {
    use super::CloudTrailPlugin;
    use falco_plugin::{extract_plugin, plugin, source_plugin};

    plugin!(CloudTrailPlugin);
    source_plugin!(CloudTrailPlugin);
    extract_plugin!(CloudTrailPlugin);

    pub(crate) static PLUGIN_API: falco_plugin::api::plugin_api = __plugin_base_api();
}

/// The plugin's vtable, for hosts that link the plugin instead of loading its `.so`, and for
/// tests. Do not link two lanner plugin crates into one binary: both export `plugin_*`.
pub static PLUGIN_API: &falco_plugin::api::plugin_api = &ffi::PLUGIN_API;
