//! Container ids from cgroup paths.
//!
//! A process in a container runs in cgroups whose paths carry the container id. The runtimes
//! lanner recognises, and the cgroup path shapes they create (cgroup v1 and v2, cgroupfs and
//! systemd drivers):
//!
//! | runtime | path shapes |
//! |---|---|
//! | docker | `/docker/<id>`, `/system.slice/docker-<id>.scope` |
//! | containerd (and Kubernetes with it) | `cri-containerd-<id>.scope`, `...:cri-containerd:<id>`, `/<namespace>/<id>` under `containerd` |
//! | Kubernetes, runtime unknown (`cri`) | `/kubepods/.../<id>` |
//! | cri-o | `crio-<id>.scope`, `/kubepods/.../crio-<id>` |
//! | podman | `libpod-<id>.scope`, `/libpod_parent/libpod-<id>` |
//!
//! `<id>` is 64 hex digits; lanner reports its first 12, as `docker ps` and Falco do. A process
//! in none of them is on the `host`.
//!
//! The runtime found here is only what the path shape says; the container events of a capture
//! (see [`super::Container`]) name the engine that reported the container, and that wins.

use super::ContainerType;

/// The id `container.id` reports for processes outside containers.
pub const HOST: &str = "host";

/// The container a process runs in, as its cgroups tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgroupContainer {
    /// The first 12 hex digits of the id.
    pub id: String,
    /// All 64 hex digits.
    pub full_id: String,
    /// The runtime the path shape belongs to.
    pub runtime: ContainerType,
}

/// Prefixes that precede the container id in a cgroup path component, and their runtime.
const PREFIXES: [(&str, ContainerType); 5] = [
    ("docker-", ContainerType::Docker),
    ("cri-containerd-", ContainerType::Containerd),
    ("crio-", ContainerType::CriO),
    ("libpod-", ContainerType::Podman),
    ("containerd-", ContainerType::Containerd),
];

/// Parent directories under which a bare 64-hex component is a container, and the runtime
/// each implies, most specific first.
const PARENTS: [(&str, ContainerType); 5] = [
    ("libpod_parent", ContainerType::Podman),
    ("crio", ContainerType::CriO),
    ("docker", ContainerType::Docker),
    ("containerd", ContainerType::Containerd),
    ("kubepods", ContainerType::Cri),
];

/// The container id of a process from its cgroups (`subsys=path` entries, NUL-separated), or
/// [`HOST`].
pub fn container_id(cgroups: &[u8]) -> String {
    match container_of(cgroups) {
        Some(c) => c.id,
        None => HOST.to_owned(),
    }
}

/// The container of a process from its cgroups (`subsys=path` entries, NUL-separated); `None`
/// on the host.
pub fn container_of(cgroups: &[u8]) -> Option<CgroupContainer> {
    // cgroup v1 lists the same path under many subsystems: look at each path once.
    let mut previous: &[u8] = &[];
    cgroups.split(|&b| b == 0).find_map(|entry| {
        let path = match entry.iter().position(|&b| b == b'=') {
            Some(eq) => &entry[eq + 1..],
            None => entry,
        };
        if path == previous {
            return None;
        }
        previous = path;
        in_path(path)
    })
}

fn in_path(path: &[u8]) -> Option<CgroupContainer> {
    let path = std::str::from_utf8(path).ok()?;
    for component in path.split('/').rev() {
        let component = component.strip_suffix(".scope").unwrap_or(component);
        // Every shape below ends in a 64-digit id: other components (all of a host's cgroup
        // paths) need no closer look.
        let bytes = component.as_bytes();
        if bytes.len() < 64 || !bytes[bytes.len() - 64..].iter().all(u8::is_ascii_hexdigit) {
            continue;
        }
        // containerd without `SystemdCgroup = true`: `kubepods-...-pod<uid>.slice:cri-containerd:<id>`.
        if let Some((_, id)) = component.rsplit_once(":cri-containerd:")
            && is_full_id(id)
        {
            return Some(found(id, ContainerType::Containerd));
        }
        let prefixed = PREFIXES.iter().find_map(|&(prefix, runtime)| {
            component.strip_prefix(prefix).map(|rest| (rest, runtime))
        });
        match prefixed {
            Some((id, runtime)) if is_full_id(id) => return Some(found(id, runtime)),
            Some(_) => {}
            // A bare 64-hex component is a container only under a known runtime parent;
            // systemd and the kernel use no such names of their own.
            None if is_full_id(component) => {
                if let Some(&(_, runtime)) = PARENTS.iter().find(|(p, _)| path.contains(p)) {
                    return Some(found(component, runtime));
                }
            }
            None => {}
        }
    }
    None
}

fn is_full_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn found(full_id: &str, runtime: ContainerType) -> CgroupContainer {
    CgroupContainer { id: full_id[..12].to_owned(), full_id: full_id.to_owned(), runtime }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3ad7b26ded6d8e7b23da7d48fe889434573036c27ae5a74837233de441c3601e";

    #[test]
    fn recognises_runtimes() {
        use ContainerType as C;
        let cases = [
            (format!("cpu=/docker/{ID}\0memory=/docker/{ID}\0"), C::Docker),
            (format!("0::/system.slice/docker-{ID}.scope\0"), C::Docker),
            (format!("cpu=/kubepods/besteffort/pod1234/{ID}\0"), C::Cri),
            (
                format!("0::/kubepods.slice/kubepods-pod12.slice/cri-containerd-{ID}.scope\0"),
                C::Containerd,
            ),
            (
                format!(
                    "0::/system.slice/containerd.service/kubepods-pod12.slice:cri-containerd:{ID}\0"
                ),
                C::Containerd,
            ),
            (format!("0::/kubepods.slice/kubepods-burstable.slice/crio-{ID}.scope\0"), C::CriO),
            (format!("cpu=/kubepods/burstable/pod1/crio-{ID}\0"), C::CriO),
            (format!("0::/machine.slice/libpod-{ID}.scope\0"), C::Podman),
            (format!("cpu=/libpod_parent/libpod-{ID}\0"), C::Podman),
        ];
        for (case, runtime) in cases {
            let c = container_of(case.as_bytes()).unwrap_or_else(|| panic!("{case}"));
            assert_eq!(c.id, &ID[..12], "{case}");
            assert_eq!(c.full_id, ID, "{case}");
            assert_eq!(c.runtime, runtime, "{case}");
            assert_eq!(container_id(case.as_bytes()), &ID[..12], "{case}");
        }
    }

    #[test]
    fn host_processes() {
        assert_eq!(container_id(b"cpuset=/\0cpu=/user.slice\0"), HOST);
        assert_eq!(container_id(b""), HOST);
        assert_eq!(container_id(b"0::/init.scope\0"), HOST);
        // 64 hex digits outside any runtime's tree are not a container.
        assert_eq!(container_of(format!("cpu=/user.slice/{ID}\0").as_bytes()), None);
        assert_eq!(container_of(format!("cpu=/docker/{}\0", &ID[..40]).as_bytes()), None);
    }
}
