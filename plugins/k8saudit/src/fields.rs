//! The `ka.*` fields: pure functions from a parsed audit event to values, following the Go
//! extractor of upstream's k8saudit plugin (`pkg/k8saudit/extract.go`) step by step,
//! including its quirks (each one is commented where it happens).

use lanner_plugin_jsontree::Value;

/// Why a field could not be extracted (upstream's `ErrExtract*` errors). "Not available"
/// is not an error: it is `Ok(None)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// A value had an unexpected JSON type.
    #[error("wrong type conversion")]
    WrongType,
    /// `ka.uri.param`: the request URI's query does not parse.
    #[error("invalid URL escape {0:?}")]
    BadQuery(String),
}

/// An extracted value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// One string.
    One(String),
    /// A list (never empty: an empty list is no value).
    List(Vec<String>),
}

/// The argument of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg<'a> {
    /// `field`
    None,
    /// `field[3]`
    Index(u64),
    /// `field[key]`
    Key(&'a str),
}

impl Arg<'_> {
    /// upstream's `argIndexFilter`: the index when an argument is present (0 for a key
    /// argument, since the framework leaves `arg_index` at 0 then), else no filter.
    fn index_filter(self) -> Option<u64> {
        match self {
            Arg::None => None,
            Arg::Index(i) => Some(i),
            Arg::Key(_) => Some(0),
        }
    }
}

/// The lists of containers a pod spec has; each has the same family of fields.
pub const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// The per-container fields (suffixes of `ka.req.pod.<list>.`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerField {
    /// `args`
    Args,
    /// `command`
    Command,
    /// `name`
    Name,
    /// `image`
    Image,
    /// `image.repository`
    ImageRepository,
    /// `host_port`
    HostPort,
    /// `privileged`
    Privileged,
    /// `allow_privilege_escalation`
    AllowPrivilegeEscalation,
    /// `read_only_fs`
    ReadOnlyFs,
    /// `run_as_user`
    RunAsUser,
    /// `eff_run_as_user`
    EffRunAsUser,
    /// `run_as_group`
    RunAsGroup,
    /// `eff_run_as_group`
    EffRunAsGroup,
    /// `proc_mount`
    ProcMount,
    /// `add_capabilities`
    AddCapabilities,
}

type R = Result<Option<Out>, ExtractError>;

fn one(v: Option<String>) -> R {
    Ok(v.map(Out::One))
}

fn list(v: Vec<String>) -> R {
    Ok(if v.is_empty() { None } else { Some(Out::List(v)) })
}

/// upstream's `extractFromKeys` for a string field.
fn from_keys(root: &Value, keys: &[&str]) -> R {
    one(root.get_path(keys).map(Value::to_text))
}

/// upstream's `extractFromKeys` for a list field: the value must be an array.
fn list_from_keys(root: &Value, keys: &[&str]) -> R {
    match root.get_path(keys) {
        None => Ok(None),
        Some(Value::Array(items)) => list(items.iter().map(Value::to_text).collect()),
        Some(_) => Err(ExtractError::WrongType),
    }
}

/// upstream's `getValuesRecursive`: walks `keys`, fanning out over every array met on the
/// way (or taking element `index` of each, when there is an index filter). A branch that
/// misses a key gives a `None` entry; `None` overall when the walk misses before any array.
fn values_recursive<'a>(
    mut v: &'a Value,
    index: Option<u64>,
    keys: &[&str],
) -> Option<Vec<Option<&'a Value>>> {
    for (i, k) in keys.iter().enumerate() {
        if let Value::Array(items) = v {
            match index {
                None => {
                    let mut res = Vec::new();
                    for item in items {
                        match values_recursive(item, index, &keys[i..]) {
                            Some(vals) => res.extend(vals),
                            None => res.push(None),
                        }
                    }
                    return Some(res);
                }
                Some(idx) => v = items.get(usize::try_from(idx).ok()?)?,
            }
        }
        if !k.is_empty() {
            v = v.get(k)?;
        }
    }
    Some(vec![Some(v)])
}

/// upstream's `arrayAsStringsSkipNil`.
fn skip_nil(vals: &[Option<&Value>]) -> Vec<String> {
    vals.iter().flatten().map(|v| v.to_text()).collect()
}

/// upstream's `arrayAsStrings`: a missing value is an error.
fn strict(vals: &[Option<&Value>]) -> Result<Vec<String>, ExtractError> {
    vals.iter().map(|v| v.map(Value::to_text).ok_or(ExtractError::WrongType)).collect()
}

fn spec_list<'a>(
    root: &'a Value,
    list: &str,
    index: Option<u64>,
    rest: &[&str],
) -> Option<Vec<Option<&'a Value>>> {
    let mut keys = vec!["requestObject", "spec", list];
    keys.extend_from_slice(rest);
    values_recursive(root, index, &keys)
}

fn images(
    root: &Value,
    list: &str,
    index: Option<u64>,
) -> Result<Option<Vec<String>>, ExtractError> {
    match spec_list(root, list, index, &["image"]) {
        None => Ok(None),
        Some(vals) => strict(&vals).map(Some),
    }
}

/// `image:tag@digest` → `image` (upstream splits at the first `:`, even a registry port's).
fn repository(image: &str) -> String {
    let no_tag = image.split(':').next().unwrap_or(image);
    no_tag.split('@').next().unwrap_or(no_tag).to_string()
}

/// A per-container field of one of the [`CONTAINER_LISTS`].
pub fn container_field(root: &Value, list_name: &str, f: ContainerField, arg: Arg<'_>) -> R {
    let idx = arg.index_filter();
    let sc = |key: &'static str| -> R {
        match spec_list(root, list_name, idx, &["securityContext", key]) {
            None => Ok(None),
            Some(vals) => list(skip_nil(&vals)),
        }
    };
    match f {
        ContainerField::Image => match images(root, list_name, idx)? {
            None => Ok(None),
            Some(v) => list(v),
        },
        ContainerField::ImageRepository => match images(root, list_name, idx)? {
            None => Ok(None),
            Some(v) => list(v.iter().map(|i| repository(i)).collect()),
        },
        ContainerField::Name => match spec_list(root, list_name, idx, &["name"]) {
            None => Ok(None),
            Some(vals) => list(skip_nil(&vals)),
        },
        ContainerField::Args | ContainerField::Command => {
            let key = if f == ContainerField::Args { "args" } else { "command" };
            match spec_list(root, list_name, idx, &[key]) {
                None => Ok(None),
                // Each container's array, flattened.
                Some(vals) => list(
                    vals.iter()
                        .flatten()
                        .flat_map(|v| match v {
                            Value::Array(items) => items.iter().map(Value::to_text).collect(),
                            other => vec![other.to_text()],
                        })
                        .collect(),
                ),
            }
        }
        ContainerField::HostPort => {
            let Some(ports) = spec_list(root, list_name, idx, &["ports"]) else {
                return Ok(None);
            };
            let mut res = Vec::new();
            for p in ports.iter().flatten() {
                let Value::Array(items) = p else {
                    return Err(ExtractError::WrongType);
                };
                for port in items {
                    if let Some(hp) = port.get("hostPort") {
                        res.push(hp.to_text());
                    } else if let Some(cp) = port.get("containerPort") {
                        // With hostNetwork, the container port is the host port.
                        res.push(cp.to_text());
                    }
                }
            }
            list(res)
        }
        ContainerField::Privileged => sc("privileged"),
        ContainerField::AllowPrivilegeEscalation => sc("allowPrivilegeEscalation"),
        ContainerField::ReadOnlyFs => sc("readOnlyRootFilesystem"),
        ContainerField::RunAsUser => sc("runAsUser"),
        ContainerField::RunAsGroup => sc("runAsGroup"),
        ContainerField::ProcMount => sc("procMount"),
        ContainerField::AddCapabilities => {
            // As upstream: each container's `add` array is one value, marshalled.
            match spec_list(root, list_name, idx, &["securityContext", "capabilities", "add"]) {
                None => Ok(None),
                Some(vals) => list(skip_nil(&vals)),
            }
        }
        ContainerField::EffRunAsUser | ContainerField::EffRunAsGroup => {
            let key = if f == ContainerField::EffRunAsUser { "runAsUser" } else { "runAsGroup" };
            // upstream's `readFromContainerEffectively` reads `spec.<key>` and
            // `<containers>[].<key>` (not their `securityContext`), defaulting to "0".
            let pod =
                root.get_path(&["requestObject", "spec", key]).map_or("0".into(), Value::to_text);
            match spec_list(root, list_name, idx, &[key]) {
                None => Ok(None),
                Some(vals) => list(
                    vals.iter().map(|v| v.map_or_else(|| pod.clone(), Value::to_text)).collect(),
                ),
            }
        }
    }
}

/// upstream's `extractRulesField`: `requestObject.rules[].<key>` arrays, flattened.
fn rules_field(root: &Value, key: &str, arg: Arg<'_>) -> R {
    let Some(vals) = values_recursive(root, arg.index_filter(), &["requestObject", "rules", key])
    else {
        return Ok(None);
    };
    let mut res = Vec::new();
    for v in vals.iter().flatten() {
        if let Value::Array(items) = v {
            res.extend(items.iter().map(Value::to_text));
        }
    }
    list(res)
}

fn subjects_of_kind(root: &Value, kind: &str, with_ns: bool) -> R {
    let Some(subjects) = root.get_path(&["requestObject", "subjects"]) else {
        return Ok(None);
    };
    let Value::Array(items) = subjects else {
        return Err(ExtractError::WrongType);
    };
    let mut res = Vec::new();
    for s in items {
        if s.get("kind").and_then(Value::as_str) != Some(kind) {
            continue;
        }
        let Some(name) = s.get("name").map(Value::to_text) else { continue };
        if with_ns {
            let ns = s.get("namespace").map(Value::to_text).unwrap_or_default();
            res.push(format!("{ns}:{name}"));
        } else {
            res.push(name);
        }
    }
    list(res)
}

/// The first value of query parameter `key` of `uri` (Go's `url.ParseQuery`).
fn query_param(uri: &str, key: &str) -> Result<Option<String>, ExtractError> {
    let Some((_, query)) = uri.split_once('?') else { return Ok(None) };
    let query = query.split('#').next().unwrap_or(query);
    let mut found = None;
    for pair in query.split('&') {
        if pair.is_empty() {
            continue;
        }
        if pair.contains(';') {
            return Err(ExtractError::BadQuery("invalid semicolon separator in query".into()));
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = unescape(k)?;
        let v = unescape(v)?;
        if found.is_none() && k == key {
            found = Some(v);
        }
    }
    Ok(found)
}

fn unescape(s: &str) -> Result<String, ExtractError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => out.push(v),
                    None => {
                        let bad: String = s[i..].chars().take(3).collect();
                        return Err(ExtractError::BadQuery(bad));
                    }
                }
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Extracts field `name` (without its argument) from an audit event. `Ok(None)`: no value
/// (including every field of a JSON that has no `auditID`, as upstream).
pub fn extract(root: &Value, name: &str, arg: Arg<'_>) -> R {
    if root.get("auditID").is_none() {
        return Ok(None);
    }
    if let Some(rest) = name.strip_prefix("ka.req.pod.") {
        for l in CONTAINER_LISTS {
            if let Some(suffix) = rest.strip_prefix(l).and_then(|r| r.strip_prefix('.')) {
                let f = match suffix {
                    "args" => ContainerField::Args,
                    "command" => ContainerField::Command,
                    "name" => ContainerField::Name,
                    "image" => ContainerField::Image,
                    "image.repository" => ContainerField::ImageRepository,
                    "host_port" => ContainerField::HostPort,
                    "privileged" => ContainerField::Privileged,
                    "allow_privilege_escalation" => ContainerField::AllowPrivilegeEscalation,
                    "read_only_fs" => ContainerField::ReadOnlyFs,
                    "run_as_user" => ContainerField::RunAsUser,
                    "eff_run_as_user" => ContainerField::EffRunAsUser,
                    "run_as_group" => ContainerField::RunAsGroup,
                    "eff_run_as_group" => ContainerField::EffRunAsGroup,
                    "proc_mount" => ContainerField::ProcMount,
                    "add_capabilities" => ContainerField::AddCapabilities,
                    _ => return Ok(None),
                };
                return container_field(root, l, f, arg);
            }
        }
    }
    let ann = |k: &str| from_keys(root, &["annotations", k]);
    match name {
        "ka.auditid" => from_keys(root, &["auditID"]),
        "ka.stage" => from_keys(root, &["stage"]),
        "ka.auth.decision" => ann("authorization.k8s.io/decision"),
        "ka.auth.reason" => ann("authorization.k8s.io/reason"),
        // The next four are newer than the upstream sources lanner was written from; the
        // annotation keys are the ones OpenShift and Kubernetes write.
        "ka.auth.openshift.decision" => ann("authentication.openshift.io/decision"),
        "ka.auth.openshift.username" => ann("authentication.openshift.io/username"),
        "ka.validations.admission.policy.failure" => {
            ann("validation.policy.admission.k8s.io/validation_failure")
        }
        "ka.security.pod.violations" => ann("pod-security.kubernetes.io/audit-violations"),
        "ka.user.name" => from_keys(root, &["user", "username"]),
        "ka.user.groups" => list_from_keys(root, &["user", "groups"]),
        "ka.impuser.name" => from_keys(root, &["impersonatedUser", "username"]),
        "ka.verb" => from_keys(root, &["verb"]),
        "ka.uri" => from_keys(root, &["requestURI"]),
        "ka.uri.param" => {
            let Some(uri) = root.get("requestURI") else { return Ok(None) };
            let key = match arg {
                Arg::Key(k) => k,
                _ => return Ok(None),
            };
            one(query_param(&uri.to_text(), key)?)
        }
        "ka.target.name" | "ka.req.configmap.name" => from_keys(root, &["objectRef", "name"]),
        "ka.target.namespace" => from_keys(root, &["objectRef", "namespace"]),
        "ka.target.resource" => from_keys(root, &["objectRef", "resource"]),
        "ka.target.subresource" => from_keys(root, &["objectRef", "subresource"]),
        "ka.target.pod.name" => {
            if root.get_path(&["objectRef", "resource"]).and_then(Value::as_str) == Some("pods") {
                from_keys(root, &["objectRef", "name"])
            } else {
                Ok(None)
            }
        }
        "ka.req.binding.subjects" => list_from_keys(root, &["requestObject", "subjects"]),
        "ka.req.binding.subjects.user_names" => subjects_of_kind(root, "User", false),
        "ka.req.binding.subjects.serviceaccount_names" => {
            subjects_of_kind(root, "ServiceAccount", false)
        }
        "ka.req.binding.subjects.serviceaccount_ns_names" => {
            subjects_of_kind(root, "ServiceAccount", true)
        }
        "ka.req.binding.subjects.group_names" => subjects_of_kind(root, "Group", false),
        "ka.req.binding.role" => from_keys(root, &["requestObject", "roleRef", "name"]),
        // Documented as "N/A", but upstream (like the original implementation) says "true".
        "ka.req.binding.subject.has_name" => one(Some("true".into())),
        "ka.req.configmap.obj" => from_keys(root, &["requestObject", "data"]),
        "ka.req.container.image" => match images(root, "containers", Some(0))? {
            Some(v) => one(v.into_iter().next()),
            None => Ok(None),
        },
        "ka.req.container.image.repository" => match images(root, "containers", Some(0))? {
            Some(v) => one(v.first().map(|i| repository(i))),
            None => Ok(None),
        },
        "ka.req.pod.host_ipc" => from_keys(root, &["requestObject", "spec", "hostIPC"]),
        "ka.req.pod.host_network" | "ka.req.container.host_network" => {
            from_keys(root, &["requestObject", "spec", "hostNetwork"])
        }
        "ka.req.pod.host_pid" => from_keys(root, &["requestObject", "spec", "hostPID"]),
        "ka.req.container.privileged" => {
            let Some(vals) =
                spec_list(root, "containers", None, &["securityContext", "privileged"])
            else {
                return Ok(None);
            };
            let any = vals.iter().flatten().any(|v| v.is_true());
            one(Some(if any { "true" } else { "false" }.into()))
        }
        "ka.req.pod.run_as_user" => {
            from_keys(root, &["requestObject", "spec", "securityContext", "runAsUser"])
        }
        "ka.req.pod.run_as_group" => {
            from_keys(root, &["requestObject", "spec", "securityContext", "runAsGroup"])
        }
        "ka.req.role.rules" => list_from_keys(root, &["requestObject", "rules"]),
        "ka.req.role.rules.apiGroups" => rules_field(root, "apiGroups", arg),
        "ka.req.role.rules.nonResourceURLs" => rules_field(root, "nonResourceURLs", arg),
        "ka.req.role.rules.verbs" => rules_field(root, "verbs", arg),
        "ka.req.role.rules.resources" => rules_field(root, "resources", arg),
        "ka.req.pod.fs_group" => {
            from_keys(root, &["requestObject", "spec", "securityContext", "fsGroup"])
        }
        "ka.req.pod.supplemental_groups" => list_from_keys(
            root,
            &["requestObject", "spec", "securityContext", "supplementalGroups"],
        ),
        "ka.req.service.type" => from_keys(root, &["requestObject", "spec", "type"]),
        "ka.req.service.ports" => {
            match values_recursive(root, arg.index_filter(), &["requestObject", "spec", "ports"]) {
                None => Ok(None),
                Some(vals) => list(skip_nil(&vals)),
            }
        }
        "ka.req.volume.hostpath" => {
            let Arg::Key(key) = arg else { return Ok(None) };
            // As upstream: the key argument makes the index filter 0, so only the first
            // volume is looked at.
            let vals = values_recursive(
                root,
                arg.index_filter(),
                &["requestObject", "spec", "volumes", "hostPath", "path"],
            );
            let Some(vals) = vals else { return Ok(None) };
            let prefix = key.strip_suffix('*');
            let hit = skip_nil(&vals).iter().any(|v| match prefix {
                Some(p) => v.starts_with(p),
                None => v == key,
            });
            one(Some(if hit { "true" } else { "false" }.into()))
        }
        "ka.req.pod.volumes.hostpath" => match values_recursive(
            root,
            arg.index_filter(),
            &["requestObject", "spec", "volumes", "hostPath", "path"],
        ) {
            None => Ok(None),
            Some(vals) => list(skip_nil(&vals)),
        },
        "ka.req.pod.volumes.flexvolume_driver" => match values_recursive(
            root,
            arg.index_filter(),
            &["requestObject", "spec", "volumes", "flexVolume", "driver"],
        ) {
            None => Ok(None),
            Some(vals) => list(skip_nil(&vals)),
        },
        "ka.req.pod.volumes.volume_type" => {
            match values_recursive(
                root,
                arg.index_filter(),
                &["requestObject", "spec", "volumes", ""],
            ) {
                None => Ok(None),
                Some(vals) => list(
                    vals.iter()
                        .flatten()
                        .filter_map(|v| v.as_object())
                        .flat_map(|m| m.iter().map(|(k, _)| k.clone()))
                        .filter(|k| k != "name")
                        .collect(),
                ),
            }
        }
        "ka.resp.name" => from_keys(root, &["responseObject", "metadata", "name"]),
        "ka.response.code" => from_keys(root, &["responseStatus", "code"]),
        "ka.response.reason" => from_keys(root, &["responseStatus", "reason"]),
        "ka.useragent" => from_keys(root, &["userAgent"]),
        // upstream (extract.go of 2024) reads `requestObject.rules[].sourceIPs` here, which
        // never exists; lanner gives what the field documents: the event's `sourceIPs`.
        "ka.sourceips" => match root.get("sourceIPs") {
            None => Ok(None),
            Some(Value::Array(ips)) => match arg.index_filter() {
                None => list(ips.iter().map(Value::to_text).collect()),
                Some(i) => list(
                    usize::try_from(i)
                        .ok()
                        .and_then(|i| ips.get(i))
                        .map(Value::to_text)
                        .into_iter()
                        .collect(),
                ),
            },
            Some(other) => list(vec![other.to_text()]),
        },
        // Not in the audit event itself; lanner knows no cluster name (no value).
        "ka.cluster.name" => Ok(None),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(s: &str) -> Value {
        Value::parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn recursive_walk_fans_out_and_indexes() {
        let v = ev(r#"{"a":[{"b":1},{"c":2},{"b":3}]}"#);
        let all = values_recursive(&v, None, &["a", "b"]).unwrap();
        assert_eq!(skip_nil(&all), ["1", "3"]);
        assert_eq!(all.len(), 3);
        let one = values_recursive(&v, Some(2), &["a", "b"]).unwrap();
        assert_eq!(skip_nil(&one), ["3"]);
        assert!(values_recursive(&v, Some(1), &["a", "b"]).is_none());
        assert!(values_recursive(&v, Some(9), &["a", "b"]).is_none());
    }

    #[test]
    fn query_params_decode_like_go() {
        assert_eq!(
            query_param("/x?command=ls+-l&command=2", "command").unwrap(),
            Some("ls -l".into())
        );
        assert_eq!(query_param("/x?a=%2Fetc", "a").unwrap(), Some("/etc".into()));
        assert_eq!(query_param("/x", "a").unwrap(), None);
        assert!(query_param("/x?a=%zz", "a").is_err());
        assert!(query_param("/x?a=1;b=2", "a").is_err());
    }

    #[test]
    fn repository_strips_tag_and_digest() {
        assert_eq!(repository("nginx:1.2"), "nginx");
        assert_eq!(repository("falcosecurity/falco@sha256:abc"), "falcosecurity/falco");
        assert_eq!(repository("reg:5000/x:1"), "reg");
    }
}
