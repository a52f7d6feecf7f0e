//! The CloudTrail fields: pure functions from a parsed record to values, following
//! upstream's `pkg/cloudtrail/extract.go` (`getfieldStr`, `getfieldU64`, `getEvtInfo`).

use lanner_plugin_jsontree::Value;

/// fastjson's `GetStringBytes`: the text of a string value, "" for another type.
fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn get_user(j: &Value) -> Option<String> {
    let utype = j.get_path(&["userIdentity", "type"])?.as_str()?;
    let jun = match utype {
        "Root" | "IAMUser" => j.get_path(&["userIdentity", "userName"]),
        "AWSService" => j.get_path(&["userIdentity", "invokedBy"]),
        "AssumedRole" => {
            match j.get_path(&["userIdentity", "sessionContext", "sessionIssuer", "userName"]) {
                None => return Some("AssumedRole".into()),
                v => v,
            }
        }
        "AWSAccount" => return Some("AWSAccount".into()),
        "FederatedUser" => return Some("FederatedUser".into()),
        _ => return None,
    };
    jun.map(s)
}

/// `ct.originaluser` (newer than the upstream sources at hand; from its description): for
/// AssumedRole, the session name (after the last `/` of the ARN, else after the `:` of the
/// principal id); otherwise `userIdentity.userName`.
fn original_user(j: &Value) -> Option<String> {
    let utype = j.get_path(&["userIdentity", "type"])?.as_str()?;
    if utype == "AssumedRole" {
        let arn = j.get_path(&["userIdentity", "arn"]).and_then(Value::as_str);
        if let Some((_, session)) = arn.and_then(|a| a.rsplit_once('/')) {
            return Some(session.to_string());
        }
        let pid = j.get_path(&["userIdentity", "principalId"]).and_then(Value::as_str)?;
        return Some(pid.rsplit_once(':').map_or(pid, |(_, s)| s).to_string());
    }
    j.get_path(&["userIdentity", "userName"]).map(s)
}

const WRITE_PREFIXES: [&str; 36] = [
    "Start",
    "Stop",
    "Create",
    "Destroy",
    "Delete",
    "Add",
    "Remove",
    "Terminate",
    "Put",
    "Associate",
    "Disassociate",
    "Attach",
    "Detach",
    "Add",
    "Open",
    "Close",
    "Wipe",
    "Update",
    "Upgrade",
    "Unlink",
    "Assign",
    "Unassign",
    "Suspend",
    "Set",
    "Run",
    "Register",
    "Deregister",
    "Reboot",
    "Purchase",
    "Modify",
    "Initialize",
    "Enable",
    "Disable",
    "Cancel",
    "Assign",
    "Admin",
];

fn info(j: &Value) -> String {
    let Some(user) = get_user(j) else {
        return "<invalid cloudtrail event: userIdentity field missing>".into();
    };
    let Some(srcip) = string_field(j, "ct.srcip") else {
        return "<invalid cloudtrail event: eventSource field missing>".into();
    };
    let err = if string_field(j, "ct.error").is_some() { "!" } else { "" };
    let rw = if string_field(j, "ct.readonly").as_deref() == Some("false") { "→" } else { "←" };
    let Some(name) = string_field(j, "ct.name") else {
        return "<invalid cloudtrail event: eventName field missing>".into();
    };
    let mut info = if user == srcip {
        format!("{user} {err}{rw} {name}")
    } else {
        format!("{user} via {srcip} {err}{rw} {name}")
    };
    if name == "PutBucketPublicAccessBlock" {
        if let Some(Value::Object(_)) =
            j.get_path(&["requestParameters", "PublicAccessBlockConfiguration"])
        {
            // As upstream, these are read from the record's top level (always false).
            let b = |k: &str| j.get(k).is_some_and(Value::is_true);
            info += &format!(
                " BlockPublicAcls={} BlockPublicPolicy={} IgnorePublicAcls={} RestrictPublicBuckets={} ",
                b("BlockPublicAcls"),
                b("BlockPublicPolicy"),
                b("IgnorePublicAcls"),
                b("RestrictPublicBuckets")
            );
        }
        return info;
    }
    if let Some(n) = u64_field(j, "s3.bytes") {
        info += &format!(" Size={n}");
    }
    for (f, label) in
        [("s3.uri", "URI"), ("s3.bucket", "Bucket"), ("s3.key", "Key"), ("ct.request.host", "Host")]
    {
        if let Some(v) = string_field(j, f) {
            info += &format!(" {label}={v}");
            return info;
        }
    }
    info
}

/// A string field; `None`: no value.
pub fn string_field(j: &Value, name: &str) -> Option<String> {
    let path: &[&str] = match name {
        "ct.id" => &["eventID"],
        "ct.error" => &["errorCode"],
        "ct.errormessage" => &["errorMessage"],
        "ct.time" => &["eventTime"],
        "ct.src" => &["eventSource"],
        "ct.shortsrc" => {
            let src = s(j.get("eventSource")?);
            return Some(match src.strip_suffix(".amazonaws.com") {
                Some(short) if !short.is_empty() => short.to_string(),
                _ => src,
            });
        }
        "ct.name" => &["eventName"],
        "ct.user" => return get_user(j),
        "ct.originaluser" => return original_user(j),
        "ct.user.accountid" => {
            return j
                .get_path(&["userIdentity", "accountId"])
                .or_else(|| j.get("recipientAccountId"))
                .map(s);
        }
        "ct.user.identitytype" => &["userIdentity", "type"],
        "ct.user.principalid" => &["userIdentity", "principalId"],
        "ct.user.arn" => &["userIdentity", "arn"],
        "ct.region" => &["awsRegion"],
        "ct.response.subnetid" => &["responseElements", "subnetId"],
        "ct.response.reservationid" => &["responseElements", "reservationId"],
        "ct.response" => return j.get("responseElements").map(Value::marshal),
        "ct.request.availabilityzone" => &["requestParameters", "availabilityZone"],
        "ct.request.cluster" => &["requestParameters", "cluster"],
        "ct.request.functionname" => &["requestParameters", "functionName"],
        "ct.request.groupname" => &["requestParameters", "groupName"],
        "ct.request.host" => &["requestParameters", "Host"],
        "ct.request.name" => &["requestParameters", "name"],
        "ct.request.policy" => &["requestParameters", "policy"],
        "ct.request.reason" => &["requestParameters", "reason"],
        "ct.request.target" => &["requestParameters", "target"],
        "ct.request.documentname" => &["requestParameters", "documentName"],
        "ct.request.serialnumber" => &["requestParameters", "serialNumber"],
        "ct.request.servicename" => &["requestParameters", "serviceName"],
        "ct.request.subnetid" => &["requestParameters", "subnetId"],
        "ct.request.taskdefinition" => &["requestParameters", "taskDefinition"],
        "ct.request.username" => &["requestParameters", "userName"],
        "ct.request" => return j.get("requestParameters").map(Value::marshal),
        "ct.srcip" => &["sourceIPAddress"],
        "ct.useragent" => &["userAgent"],
        "ct.info" => return Some(info(j)),
        "ct.managementevent" | "ct.sessioncredentialfromconsole" => {
            let key = if name == "ct.managementevent" {
                "managementEvent"
            } else {
                "sessionCredentialFromConsole"
            };
            return j.get(key).map(|v| if v.is_true() { "true" } else { "false" }.to_string());
        }
        "ct.readonly" => {
            let ro = j.get("readOnly")?;
            return Some(if ro.is_true() { "true" } else { "false" }.to_string());
        }
        "ct.requestid" => &["requestID"],
        "ct.eventtype" => &["eventType"],
        "ct.apiversion" => &["apiVersion"],
        "ct.resources" => {
            let list = j.get("resources")?.as_array()?;
            let joined = list.iter().map(Value::marshal).collect::<Vec<_>>().join(",");
            return (!joined.is_empty()).then_some(joined);
        }
        "ct.recipientaccountid" => &["recipientAccountId"],
        "ct.serviceeventdetails" => &["serviceEventDetails"],
        "ct.sharedeventid" => &["sharedEventID"],
        "ct.vpcendpointid" => &["vpcEndpointId"],
        "ct.eventcategory" => &["eventCategory"],
        "ct.addendum.reason" => &["addendum", "reason"],
        "ct.addendum.updatedfields" => &["addendum", "updatedFields"],
        "ct.addendum.originalrequestid" => &["addendum", "originalRequestID"],
        "ct.addendum.originaleventid" => &["addendum", "originalEventID"],
        "ct.edgedevicedetails" => &["edgeDeviceDetails"],
        "ct.tlsdetails.tlsversion" => &["tlsDetails", "tlsVersion"],
        "ct.tlsdetails.ciphersuite" => &["tlsDetails", "cipherSuite"],
        "ct.tlsdetails.clientprovidedhostheader" => &["tlsDetails", "clientProvidedHostHeader"],
        "ct.additionaleventdata" => return j.get("additionalEventData").map(Value::marshal),
        "s3.bucket" => &["requestParameters", "bucketName"],
        "s3.key" => &["requestParameters", "key"],
        "s3.uri" => {
            let b = j.get_path(&["requestParameters", "bucketName"])?.as_str()?;
            let k = j.get_path(&["requestParameters", "key"])?.as_str()?;
            return Some(format!("s3://{b}/{k}"));
        }
        "ec2.name" => {
            let items =
                j.get_path(&["requestParameters", "tagSpecificationSet", "items"])?.as_array()?;
            let mut name = String::new();
            for item in items {
                if item.get("resourceType").and_then(Value::as_str) != Some("instance") {
                    continue;
                }
                for tag in item.get("tags").and_then(Value::as_array).unwrap_or_default() {
                    if tag.get("key").and_then(Value::as_str) == Some("Name") {
                        name = tag.get("value").map(s).unwrap_or_default();
                        break;
                    }
                }
            }
            return (!name.is_empty()).then_some(name);
        }
        "ec2.imageid" => return image_ids(j).into_iter().next(),
        "ecr.repository" => &["requestParameters", "repositoryName"],
        "ecr.imagetag" => &["requestParameters", "imageTag"],
        "iam.role" => &["requestParameters", "roleName"],
        "iam.policy" => &["requestParameters", "policyName"],
        _ => return None,
    };
    // Like fastjson's `GetStringBytes` on the found value: "" unless it is a string.
    j.get_path(path).map(s)
}

/// `ec2.imageids`: the `imageId` of each instance of the response (RunInstances), else of
/// the request's instance items.
pub fn image_ids(j: &Value) -> Vec<String> {
    for base in ["responseElements", "requestParameters"] {
        if let Some(items) = j.get_path(&[base, "instancesSet", "items"]).and_then(Value::as_array)
        {
            let ids: Vec<String> = items
                .iter()
                .filter_map(|i| i.get("imageId").and_then(Value::as_str))
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            if !ids.is_empty() {
                return ids;
            }
        }
    }
    Vec::new()
}

/// Values are sometimes floats, e.g. `"bytesTransferredOut": 33.0`.
fn as_u64(v: &Value) -> u64 {
    match v {
        Value::Number(n) => {
            n.parse::<u64>().ok().or_else(|| n.parse::<f64>().ok().map(|f| f as u64)).unwrap_or(0)
        }
        _ => 0,
    }
}

/// A `uint64` field; `None`: no value.
pub fn u64_field(j: &Value, name: &str) -> Option<u64> {
    let ename = j.get("eventName").and_then(Value::as_str).unwrap_or_default();
    match name {
        "s3.bytes" => {
            let i = j.get_path(&["additionalEventData", "bytesTransferredIn"]);
            let o = j.get_path(&["additionalEventData", "bytesTransferredOut"]);
            (i.is_some() || o.is_some()).then(|| i.map_or(0, as_u64) + o.map_or(0, as_u64))
        }
        "s3.bytes.in" => j.get_path(&["additionalEventData", "bytesTransferredIn"]).map(as_u64),
        "s3.bytes.out" => j.get_path(&["additionalEventData", "bytesTransferredOut"]).map(as_u64),
        "s3.cnt.get" => (ename == "GetObject").then_some(1),
        "s3.cnt.put" => (ename == "PutObject").then_some(1),
        "s3.cnt.other" => (ename != "GetObject" && ename != "PutObject").then_some(1),
        _ => None,
    }
}

/// upstream's heuristic for records without `readOnly` (kept for `ct.readonly` users that
/// want it; upstream itself no longer reaches it).
pub fn looks_read_only(event_name: &str) -> bool {
    !WRITE_PREFIXES.iter().any(|p| event_name.starts_with(p))
}
