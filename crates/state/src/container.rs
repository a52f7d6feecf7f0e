//! Container ids from cgroup paths.
//!
//! A process in a container runs in cgroups whose paths carry the container id. The runtimes
//! lanner recognises, and the cgroup path shapes they create (cgroup v1 and v2, cgroupfs and
//! systemd drivers):
//!
//! | runtime | path shapes |
//! |---|---|
//! | docker | `/docker/<id>`, `/system.slice/docker-<id>.scope` |
//! | containerd (and Kubernetes with it) | `/kubepods/.../<id>`, `cri-containerd-<id>.scope`, `/<namespace>/<id>` |
//! | cri-o | `crio-<id>.scope`, `/kubepods/.../crio-<id>` |
//! | podman | `libpod-<id>.scope`, `/libpod_parent/libpod-<id>` |
//!
//! `<id>` is 64 hex digits; lanner reports its first 12, as `docker ps` and Falco do. A process
//! in none of them is on the `host`.

/// The id `container.id` reports for processes outside containers.
pub const HOST: &str = "host";

/// Prefixes that precede the container id in a cgroup path component.
const PREFIXES: [&str; 5] = ["docker-", "cri-containerd-", "crio-", "libpod-", "containerd-"];

/// The container id of a process from its cgroups (`subsys=path` entries, NUL-separated), or
/// [`HOST`].
pub fn container_id(cgroups: &[u8]) -> String {
    for entry in cgroups.split(|&b| b == 0) {
        let path = match entry.iter().position(|&b| b == b'=') {
            Some(eq) => &entry[eq + 1..],
            None => entry,
        };
        if let Some(id) = id_in_path(path) {
            return id;
        }
    }
    HOST.to_owned()
}

fn id_in_path(path: &[u8]) -> Option<String> {
    let path = std::str::from_utf8(path).ok()?;
    for component in path.split('/').rev() {
        let component = component.strip_suffix(".scope").unwrap_or(component);
        let mut candidate = component;
        for prefix in PREFIXES {
            if let Some(rest) = component.strip_prefix(prefix) {
                candidate = rest;
                break;
            }
        }
        if candidate.len() == 64 && candidate.bytes().all(|b| b.is_ascii_hexdigit()) {
            // A bare 64-hex component is a container only under a known runtime parent, or with
            // a runtime prefix; systemd and the kernel use no such names of their own.
            let known_parent = ["docker", "kubepods", "libpod_parent", "crio", "containerd"]
                .iter()
                .any(|p| path.contains(p));
            if candidate.len() != component.len() || known_parent {
                return Some(candidate[..12].to_owned());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3ad7b26ded6d8e7b23da7d48fe889434573036c27ae5a74837233de441c3601e";

    #[test]
    fn recognises_runtimes() {
        let cases = [
            format!("cpu=/docker/{ID}\0memory=/docker/{ID}\0"),
            format!("0::/system.slice/docker-{ID}.scope\0"),
            format!("cpu=/kubepods/besteffort/pod1234/{ID}\0"),
            format!("0::/kubepods.slice/kubepods-pod12.slice/cri-containerd-{ID}.scope\0"),
            format!("0::/kubepods.slice/kubepods-burstable.slice/crio-{ID}.scope\0"),
            format!("0::/machine.slice/libpod-{ID}.scope\0"),
            format!("cpu=/libpod_parent/libpod-{ID}\0"),
        ];
        for case in cases {
            assert_eq!(container_id(case.as_bytes()), &ID[..12], "{case}");
        }
    }

    #[test]
    fn host_processes() {
        assert_eq!(container_id(b"cpuset=/\0cpu=/user.slice\0"), HOST);
        assert_eq!(container_id(b""), HOST);
        assert_eq!(container_id(b"0::/init.scope\0"), HOST);
    }
}
