//! The JSON of `container_json` events: `{"container": {...}}` as libs' `container_to_json`
//! and the container plugin write it.
//!
//! The keys (libs `container.cpp`, plugin `container_info_json.cpp`):
//!
//! ```json
//! {"container": {"id": "3ad7b26ded6d", "full_id": "3ad7...601e", "type": 0, "name": "web",
//!   "image": "nginx:1.25", "imagerepo": "nginx", "imagetag": "1.25", "imageid": "...",
//!   "imagedigest": "sha256:...", "privileged": false, "host_pid": false,
//!   "host_network": false, "host_ipc": false, "is_pod_sandbox": false,
//!   "pod_sandbox_id": "", "pod_sandbox_labels": {}, "cni_json": "", "ip": "172.17.0.2",
//!   "labels": {"k": "v"}, "created_time": 1730971086, "lookup_state": 1, "User": "",
//!   "Mounts": [{"Source": "/a", "Destination": "/b", "Mode": "", "RW": true,
//!               "Propagation": "rprivate"}],
//!   "env": [], "port_mappings": [], "memory_limit": 0, "cpu_shares": 1024, ...}}
//! ```
//!
//! Every key may be missing or `null` (older writers left some out, and some wrote `null` for
//! empty maps); a missing string is empty, a missing flag false. Keys lanner has no field for
//! (`env`, `port_mappings`, resource limits, health probes ...) are ignored. A value of the
//! wrong type makes the whole document invalid, as it makes the plugin's parser throw.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Container, ContainerType, Mount};

/// Why a container event's JSON was not taken.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// Not JSON, or a value of the wrong type.
    #[error("invalid container JSON: {0}")]
    Syntax(#[from] serde_json::Error),
    /// No `container` object.
    #[error("container JSON without a `container` object")]
    NoContainer,
    /// The container has no id (it could not be looked up, and the empty id is the host's).
    #[error("container JSON without an `id`")]
    NoId,
}

/// The document as written.
#[derive(Deserialize)]
struct RawDocument {
    container: Option<RawContainer>,
}

/// The container object as written: every key optional, `null` as good as missing.
#[derive(Default, Deserialize)]
#[serde(default)]
struct RawContainer {
    id: Option<String>,
    full_id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<u32>,
    name: Option<String>,
    image: Option<String>,
    imagerepo: Option<String>,
    imagetag: Option<String>,
    imageid: Option<String>,
    imagedigest: Option<String>,
    privileged: Option<bool>,
    host_pid: Option<bool>,
    host_network: Option<bool>,
    host_ipc: Option<bool>,
    #[serde(rename = "Mounts")]
    mounts: Option<Vec<RawMount>>,
    labels: Option<BTreeMap<String, String>>,
    ip: Option<String>,
    cni_json: Option<String>,
    is_pod_sandbox: Option<bool>,
    pod_sandbox_id: Option<String>,
    pod_sandbox_labels: Option<BTreeMap<String, String>>,
    created_time: Option<i64>,
    #[serde(rename = "User")]
    user: Option<String>,
    lookup_state: Option<i64>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct RawMount {
    #[serde(rename = "Source")]
    source: Option<String>,
    #[serde(rename = "Destination")]
    dest: Option<String>,
    #[serde(rename = "Mode")]
    mode: Option<String>,
    #[serde(rename = "RW")]
    rdwr: Option<bool>,
    #[serde(rename = "Propagation")]
    propagation: Option<String>,
}

/// Parses the `json` parameter of a `container_json` event (without its trailing NUL).
pub fn parse_json(json: &[u8]) -> Result<Container, JsonError> {
    let doc: RawDocument = serde_json::from_slice(json)?;
    let raw = doc.container.ok_or(JsonError::NoContainer)?;
    let id = raw.id.filter(|id| !id.is_empty()).ok_or(JsonError::NoId)?;
    Ok(Container {
        id,
        full_id: raw.full_id.unwrap_or_default(),
        kind: ContainerType::from_code(raw.kind.unwrap_or(0xffff)),
        name: raw.name.unwrap_or_default(),
        image: raw.image.unwrap_or_default(),
        image_repo: raw.imagerepo.unwrap_or_default(),
        image_tag: raw.imagetag.unwrap_or_default(),
        image_id: raw.imageid.unwrap_or_default(),
        image_digest: raw.imagedigest.unwrap_or_default(),
        privileged: raw.privileged.unwrap_or(false),
        host_pid: raw.host_pid.unwrap_or(false),
        host_network: raw.host_network.unwrap_or(false),
        host_ipc: raw.host_ipc.unwrap_or(false),
        mounts: raw
            .mounts
            .unwrap_or_default()
            .into_iter()
            .map(|m| Mount {
                source: m.source.unwrap_or_default(),
                dest: m.dest.unwrap_or_default(),
                mode: m.mode.unwrap_or_default(),
                rdwr: m.rdwr.unwrap_or(false),
                propagation: m.propagation.unwrap_or_default(),
            })
            .collect(),
        labels: raw.labels.unwrap_or_default(),
        ip: raw.ip.unwrap_or_default(),
        cni_json: raw.cni_json.unwrap_or_default(),
        is_pod_sandbox: raw.is_pod_sandbox.unwrap_or(false),
        pod_sandbox_id: raw.pod_sandbox_id.unwrap_or_default(),
        pod_sandbox_labels: raw.pod_sandbox_labels.unwrap_or_default(),
        created_time: raw.created_time.unwrap_or(0),
        user: raw.user.unwrap_or_default(),
        lookup_state: raw.lookup_state.unwrap_or(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libs_json() {
        let json = br#"{"container":{"Mounts":[{"Destination":"/home/f","Mode":"","Propagation":"rprivate","RW":true,"Source":"/home/f"}],"User":"","cni_json":"","created_time":1730971086,"env":[],"full_id":"32a1026ccb88a551e2a38eb8f260b4700aefec7e8c007344057e58a9fa302374","host_ipc":false,"host_network":false,"host_pid":false,"id":"32a1026ccb88","image":"fedora:38","imagedigest":"sha256:b9ff","imageid":"0ca0fed353fb","imagerepo":"fedora","imagetag":"38","ip":"172.17.0.2","is_pod_sandbox":false,"labels":{"maintainer":"Clement"},"lookup_state":1,"memory_limit":0,"metadata_deadline":0,"name":"youthful_babbage","pod_sandbox_id":"","pod_sandbox_labels":null,"port_mappings":[],"privileged":false,"swap_limit":0,"type":0}}"#;
        let c = parse_json(json).unwrap();
        assert_eq!(c.id, "32a1026ccb88");
        assert_eq!(c.kind, ContainerType::Docker);
        assert_eq!(c.image_repo, "fedora");
        assert_eq!(c.labels.get("maintainer").map(String::as_str), Some("Clement"));
        assert!(c.pod_sandbox_labels.is_empty());
        assert_eq!(c.mounts.len(), 1);
        assert_eq!(c.mounts[0].to_string(), "/home/f:/home/f::true:rprivate");
    }

    #[test]
    fn missing_keys_are_empty() {
        let c = parse_json(br#"{"container":{"id":"abc","name":null}}"#).unwrap();
        assert_eq!(c.name, "");
        assert_eq!(c.kind, ContainerType::Unknown(0xffff));
        assert!(!c.privileged);
    }

    #[test]
    fn rejects_bad_documents() {
        for bad in [
            &br"not json"[..],
            br#"{"container":{"id":"abc","privileged":"yes"}}"#,
            br#"{"container":{"id":"abc","labels":{"a":1}}}"#,
            br#"{"something":{}}"#,
            br#"{"container":{"name":"x"}}"#,
            br#"{"container":{"id":""}}"#,
            b"",
            b"\xff\xfe",
        ] {
            assert!(parse_json(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
