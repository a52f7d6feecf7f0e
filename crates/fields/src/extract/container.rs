//! `container.*`, `k8s.*` and `proc.is_container_*`: the fields of Falco's container plugin
//! (`plugins/container/src/caps/extract/extract.cpp`), over the container table the state
//! keeps from container events.
//!
//! Which container an event is about: for a container event, the container it describes (the
//! plugin extracts from the container it just parsed); otherwise the one the event's thread
//! runs in. On the host that is the host pseudo-container (id, name and type `host`, every
//! other string empty, every flag false), as the plugin keeps it.
//!
//! A container the table does not know (no container event described it) gives only
//! `container.id`, `container.start_ts` and `container.duration`, as the plugin does, and,
//! beyond the plugin, `container.full_id` and `container.type` from the cgroup path: lanner
//! knows those from the process itself, so it says them before the engine answers.

use lanner_state::{Container, Mount, Thread};

use super::EventContext;
use crate::field::{Field, FieldArg};
use crate::registry::FieldId as I;
use crate::value::Values;

/// Kubernetes' labels on a pod's containers.
const POD_NAME: &str = "io.kubernetes.pod.name";
const POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
const POD_UID: &str = "io.kubernetes.pod.uid";

/// How many hex digits a short container id has.
const SHORT_ID_LEN: usize = 12;

pub(super) fn extract(field: &Field, ctx: &EventContext<'_>, out: &mut Values) {
    let id = field.id();
    let state = ctx.state;
    let (thread, container) = match state.event_container() {
        Some(c) => (None, Some(c)),
        None => {
            // No thread, no container: the plugin finds nothing for the event.
            let Some(t) = ctx.thread() else { return };
            (Some(t), state.container_of(t))
        }
    };
    match id {
        I::ContainerId => {
            return match (container, thread) {
                (Some(c), _) => out.push_bytes(c.id.as_bytes()),
                (None, Some(t)) => out.push_bytes(t.container_id.as_bytes()),
                (None, None) => {}
            };
        }
        I::ContainerStartTs | I::ContainerDuration => {
            // The start of the thread's pid namespace, which for a container is its init.
            if let Some(t) = thread
                && t.pidns_init_start_ts != 0
            {
                if id == I::ContainerStartTs {
                    out.push_uint(t.pidns_init_start_ts);
                } else {
                    // The plugin subtracts unsigned: an event before the namespace's start
                    // (a clock gone wrong) wraps, and so it does here.
                    out.push_uint(ctx.event.ts().wrapping_sub(t.pidns_init_start_ts));
                }
            }
            return;
        }
        I::ContainerFullId => {
            let from_thread = thread.filter(|t| !t.on_host()).map(|t| t.container_full_id.as_str());
            return match container {
                Some(c) if !c.full_id.is_empty() => out.push_bytes(c.full_id.as_bytes()),
                // Events of libs before 2023 carry no full id; the cgroup has it.
                Some(_) => out.push_bytes(from_thread.unwrap_or_default().as_bytes()),
                None => {
                    if let Some(full) = from_thread {
                        out.push_bytes(full.as_bytes());
                    }
                }
            };
        }
        I::ContainerType => {
            return match (container, thread) {
                (Some(c), _) => out.push_bytes(c.kind.name().as_bytes()),
                (None, Some(t)) => out.push_bytes(t.container_type.name().as_bytes()),
                (None, None) => {}
            };
        }
        _ => {}
    }
    let Some(c) = container else { return };
    match id {
        I::ContainerName => out.push_bytes(c.name.as_bytes()),
        I::ContainerImage => out.push_bytes(c.image.as_bytes()),
        I::ContainerImageId => out.push_bytes(c.image_id.as_bytes()),
        I::ContainerImageRepository => out.push_bytes(c.image_repo.as_bytes()),
        I::ContainerImageTag => out.push_bytes(c.image_tag.as_bytes()),
        I::ContainerImageDigest => out.push_bytes(c.image_digest.as_bytes()),
        I::ContainerPrivileged => out.push_bool(c.privileged),
        I::ContainerHostPid => out.push_bool(c.host_pid),
        I::ContainerHostNetwork => out.push_bool(c.host_network),
        I::ContainerHostIpc => out.push_bool(c.host_ipc),
        I::ContainerIp => out.push_bytes(c.ip.as_bytes()),
        I::ContainerCniJson => out.push_bytes(c.cni_json.as_bytes()),
        I::ContainerMounts => {
            out.push_with(|b| {
                for (i, m) in c.mounts.iter().enumerate() {
                    if i > 0 {
                        b.push(b',');
                    }
                    write_mount(m, b);
                }
            });
        }
        I::ContainerMount
        | I::ContainerMountSource
        | I::ContainerMountDest
        | I::ContainerMountMode
        | I::ContainerMountRdwr
        | I::ContainerMountPropagation => {
            let mount = match field.arg() {
                FieldArg::Index(n) => c.mount_by_index(*n),
                // `container.mount.source[X]` finds the mount by destination, the others by
                // source: each names the mount by the path it does not show.
                FieldArg::Pattern(p) if id == I::ContainerMountSource => {
                    c.mounts.iter().find(|m| p.is_match(&m.dest))
                }
                FieldArg::Pattern(p) => c.mounts.iter().find(|m| p.is_match(&m.source)),
                _ => None,
            };
            let Some(m) = mount else { return };
            match id {
                I::ContainerMount => out.push_with(|b| write_mount(m, b)),
                I::ContainerMountSource => out.push_bytes(m.source.as_bytes()),
                I::ContainerMountDest => out.push_bytes(m.dest.as_bytes()),
                I::ContainerMountMode => out.push_bytes(m.mode.as_bytes()),
                I::ContainerMountRdwr => {
                    out.push_bytes(if m.rdwr { b"true" } else { b"false" });
                }
                _ => out.push_bytes(m.propagation.as_bytes()),
            }
        }
        I::ContainerLabel => {
            if let FieldArg::Key(key) = field.arg()
                && let Some(v) = c.labels.get(&**key)
            {
                out.push_bytes(v.as_bytes());
            }
        }
        I::ContainerLabels => out.push_with(|b| join_labels(&c.labels, b)),
        I::K8sPodName => label(c, POD_NAME, out),
        I::K8sNsName => label(c, POD_NAMESPACE, out),
        I::K8sPodId | I::K8sPodUid => label(c, POD_UID, out),
        I::K8sPodSandboxId => {
            out.push_bytes(short_id(&c.pod_sandbox_id).as_bytes());
        }
        I::K8sPodFullSandboxId => out.push_bytes(c.pod_sandbox_id.as_bytes()),
        I::K8sPodLabel => {
            let FieldArg::Key(key) = field.arg() else { return };
            let key: &str = key;
            let value = sandbox(ctx, c)
                .and_then(|s| s.pod_sandbox_labels.get(key))
                .or_else(|| c.pod_sandbox_labels.get(key));
            if let Some(v) = value {
                out.push_bytes(v.as_bytes());
            }
        }
        I::K8sPodLabels => {
            let labels = &sandbox(ctx, c).unwrap_or(c).pod_sandbox_labels;
            out.push_with(|b| join_labels(labels, b));
        }
        I::K8sPodIp => {
            if !c.cni_json.is_empty() {
                out.push_bytes(c.ip.as_bytes());
            } else if let Some(s) = sandbox(ctx, c) {
                out.push_bytes(s.ip.as_bytes());
            }
        }
        I::K8sPodCniJson => {
            if !c.cni_json.is_empty() {
                out.push_bytes(c.cni_json.as_bytes());
            } else if let Some(s) = sandbox(ctx, c) {
                out.push_bytes(s.cni_json.as_bytes());
            }
        }
        // Deprecated: the plugin extracts nothing for the health-probe fields and for the
        // Kubernetes objects other than pods (the k8smeta plugin has them).
        _ => {}
    }
}

/// `source:dest:mode:rdwr:propagation` ([`Mount`]'s `Display`), written in place.
fn write_mount(m: &Mount, b: &mut Vec<u8>) {
    for part in [&m.source, &m.dest, &m.mode] {
        b.extend_from_slice(part.as_bytes());
        b.push(b':');
    }
    b.extend_from_slice(if m.rdwr { b"true:" } else { b"false:" });
    b.extend_from_slice(m.propagation.as_bytes());
}

/// The value of one of the container's labels.
fn label(c: &Container, key: &str, out: &mut Values) {
    if let Some(v) = c.labels.get(key) {
        out.push_bytes(v.as_bytes());
    }
}

/// The first 12 characters of an id.
fn short_id(id: &str) -> &str {
    id.get(..SHORT_ID_LEN).unwrap_or(id)
}

/// The pod's sandbox container, whose metadata holds the pod's labels, address and CNI
/// result, when the container's own metadata lacks the CNI result (it is not the sandbox and
/// the engine did not copy the pod's status into it). The plugin looks the short sandbox id up
/// in its table, where the empty id is the host's: a container with no sandbox id gets the
/// host's (empty) pod metadata.
fn sandbox<'a>(ctx: &EventContext<'a>, c: &Container) -> Option<&'a Container> {
    if !c.cni_json.is_empty() {
        return None;
    }
    let id = short_id(&c.pod_sandbox_id);
    if id.is_empty() { Some(ctx.state.host_container()) } else { ctx.state.containers().get(id) }
}

/// `key:value, key:value` (`key` alone for an empty value), without Kubernetes' own labels
/// and annotations, as the plugin shows label sets.
fn join_labels<'a>(labels: impl IntoIterator<Item = (&'a String, &'a String)>, b: &mut Vec<u8>) {
    let start = b.len();
    for (k, v) in labels {
        if k.starts_with("annotation.") || k.starts_with("io.kubernetes.") {
            continue;
        }
        if b.len() > start {
            b.extend_from_slice(b", ");
        }
        b.extend_from_slice(k.as_bytes());
        if !v.is_empty() {
            b.push(b':');
            b.extend_from_slice(v.as_bytes());
        }
    }
}

/// What `fd.containername` and `fd.containerdirectory` put before the `:`: the thread's
/// container id, empty on the host (libs keeps the host's container id empty; `container.id`
/// says `host` for it).
pub(super) fn fd_prefix(thread: Option<&Thread>) -> &str {
    match thread {
        Some(t) if !t.on_host() => &t.container_id,
        _ => "",
    }
}
