//! Containers: which container a process runs in, and what the container engine said about it.
//!
//! Two sources, as in Falco:
//!
//! - **cgroups** ([`cgroup`]): every process's cgroup paths carry its container's id, so the
//!   id (12 hex digits, `container.id`), the full id and the runtime the path shape belongs to
//!   are known from the first event of a process. Threads keep them
//!   ([`Thread::container_id`](crate::Thread::container_id) and its neighbours).
//! - **container events** ([`parse_json`]): the name, image, mounts, labels ... come from the
//!   container engine (docker, containerd, cri-o, podman). Falco's container plugin (and libs
//!   before it) writes them into captures as `container` events, one per container right after
//!   the capture's tables, and more as containers start. [`ContainerTable`] keeps them by id.
//!
//! A process whose container the table does not know yet (the engine had not answered, or the
//! capture holds no container events) has an id but no metadata; fields then have no value,
//! as the plugin gives none.
//!
//! ```
//! use lanner_state::container::{Container, ContainerTable, ContainerType, parse_json};
//!
//! let json = br#"{"container":{"id":"3ad7b26ded6d","type":0,"name":"web","image":"nginx:1.25",
//!     "privileged":true,"Mounts":[{"Source":"/var/run/docker.sock",
//!     "Destination":"/var/run/docker.sock","Mode":"","RW":true,"Propagation":"rprivate"}]}}"#;
//! let container: Container = parse_json(json).unwrap();
//! let mut table = ContainerTable::with_capacity_limit(100);
//! table.insert(container);
//! let c = table.get("3ad7b26ded6d").unwrap();
//! assert_eq!((c.name.as_str(), c.kind, c.privileged), ("web", ContainerType::Docker, true));
//! assert_eq!(c.mounts[0].to_string(), "/var/run/docker.sock:/var/run/docker.sock::true:rprivate");
//! ```

pub mod cgroup;
mod json;

use std::collections::BTreeMap;
use std::fmt;

use lanner_event::RawEvent;
use lanner_event::ffi;
use lanner_event::value::{cstr, uint};
use rustc_hash::FxHashMap;

use crate::State;

pub use cgroup::{CgroupContainer, HOST, container_id, container_of};
pub use json::{JsonError, parse_json};

/// The engine that runs a container: libs' `container_type`, whose numbers container events
/// carry (`"type"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ContainerType {
    /// Docker (0).
    Docker,
    /// LXC (1).
    Lxc,
    /// libvirt LXC (2).
    LibvirtLxc,
    /// Mesos (3, deprecated).
    Mesos,
    /// rkt (4, deprecated).
    Rkt,
    /// A custom engine (5).
    Custom,
    /// A CRI runtime not told apart (6).
    Cri,
    /// containerd (7).
    Containerd,
    /// cri-o (8).
    CriO,
    /// BOSH process manager (9).
    Bpm,
    /// A static container given in the configuration (10).
    Static,
    /// podman (11).
    Podman,
    /// Not in a container (0xfffe).
    #[default]
    Host,
    /// Any other number (0xffff is libs' "unknown").
    Unknown(u32),
}

impl ContainerType {
    /// The type of a container event's `"type"` number.
    pub fn from_code(code: u32) -> ContainerType {
        use ContainerType as C;
        match code {
            0 => C::Docker,
            1 => C::Lxc,
            2 => C::LibvirtLxc,
            3 => C::Mesos,
            4 => C::Rkt,
            5 => C::Custom,
            6 => C::Cri,
            7 => C::Containerd,
            8 => C::CriO,
            9 => C::Bpm,
            10 => C::Static,
            11 => C::Podman,
            0xfffe => C::Host,
            n => C::Unknown(n),
        }
    }

    /// The name `container.type` shows, as the container plugin spells it; the plugin has no
    /// name for custom, static and unknown engines and shows the empty string.
    pub fn name(self) -> &'static str {
        use ContainerType as C;
        match self {
            C::Docker => "docker",
            C::Lxc => "lxc",
            C::LibvirtLxc => "libvirt-lxc",
            C::Mesos => "mesos",
            C::Rkt => "rkt",
            C::Cri => "cri",
            C::Containerd => "containerd",
            C::CriO => "cri-o",
            C::Bpm => "bpm",
            C::Podman => "podman",
            C::Host => "host",
            C::Custom | C::Static | C::Unknown(_) => "",
        }
    }
}

/// A volume or bind mount of a container.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mount {
    /// The path on the host (`Source`).
    pub source: String,
    /// The path in the container (`Destination`).
    pub dest: String,
    /// The mount options, e.g. `ro`, `z` (`Mode`).
    pub mode: String,
    /// Whether it is writable (`RW`).
    pub rdwr: bool,
    /// The bind propagation, e.g. `rprivate` (`Propagation`).
    pub propagation: String,
}

/// `source:dest:mode:rdwr:propagation`, the form of `container.mount` and `container.mounts`.
impl fmt::Display for Mount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}:{}:{}", self.source, self.dest, self.mode, self.rdwr, self.propagation)
    }
}

/// What a container engine reported about a container: libs' and the container plugin's
/// `container_info`, as container events carry it. Strings the engine left out are empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Container {
    /// The id: the first 12 hex digits of the full id (the table's key).
    pub id: String,
    /// The full id (64 hex digits; empty in events of libs before 2023).
    pub full_id: String,
    /// The engine.
    pub kind: ContainerType,
    /// The name.
    pub name: String,
    /// The image as the container was started from it, e.g. `nginx:1.25`.
    pub image: String,
    /// The image's repository, e.g. `nginx` or `docker.io/library/nginx`.
    pub image_repo: String,
    /// The image's tag.
    pub image_tag: String,
    /// The image's id.
    pub image_id: String,
    /// The image's registry digest, e.g. `sha256:...`.
    pub image_digest: String,
    /// Whether it runs privileged.
    pub privileged: bool,
    /// Whether it shares the host's pid namespace.
    pub host_pid: bool,
    /// Whether it shares the host's network namespace.
    pub host_network: bool,
    /// Whether it shares the host's IPC namespace.
    pub host_ipc: bool,
    /// Its mounts, in the engine's order.
    pub mounts: Vec<Mount>,
    /// Its labels (Kubernetes sets `io.kubernetes.pod.name`, `io.kubernetes.pod.namespace`,
    /// `io.kubernetes.pod.uid` ...), sorted by key.
    pub labels: BTreeMap<String, String>,
    /// Its primary IPv4 address, dotted.
    pub ip: String,
    /// The CNI result of its pod, as the CRI reported it (a JSON text).
    pub cni_json: String,
    /// Whether it is a pod's sandbox (`pause`) container.
    pub is_pod_sandbox: bool,
    /// The full id of its pod's sandbox container.
    pub pod_sandbox_id: String,
    /// The labels of its pod.
    pub pod_sandbox_labels: BTreeMap<String, String>,
    /// When the engine created it (seconds since the epoch; 0 if not said).
    pub created_time: i64,
    /// The user it runs as, as configured (`User`).
    pub user: String,
    /// How far the engine lookup got: libs' `lookup_state` (0 started, 1 successful, 2
    /// failed); 1 when the event does not say.
    pub lookup_state: i64,
}

impl Container {
    /// The pseudo-container of processes on the host: id, full id and name `host`, type host,
    /// everything else empty, as the container plugin keeps it.
    pub fn host() -> Container {
        Container {
            id: HOST.to_owned(),
            full_id: HOST.to_owned(),
            name: HOST.to_owned(),
            kind: ContainerType::Host,
            lookup_state: 1,
            ..Container::default()
        }
    }

    /// A mount by its position.
    pub fn mount_by_index(&self, index: u64) -> Option<&Mount> {
        usize::try_from(index).ok().and_then(|i| self.mounts.get(i))
    }
}

/// Containers by id, bounded: past the limit, the least recently reported tenth is dropped.
#[derive(Clone, Debug)]
pub struct ContainerTable {
    /// Each container with the sequence number of its last update.
    containers: FxHashMap<String, (u64, Container)>,
    seq: u64,
    limit: usize,
    evicted: u64,
}

impl Default for ContainerTable {
    fn default() -> Self {
        ContainerTable::with_capacity_limit(DEFAULT_MAX_CONTAINERS)
    }
}

/// The default bound of the container table: far more containers than a node runs.
pub const DEFAULT_MAX_CONTAINERS: usize = 1 << 14;

impl ContainerTable {
    /// An empty table holding at most `limit` containers (at least 1).
    pub fn with_capacity_limit(limit: usize) -> ContainerTable {
        ContainerTable { containers: FxHashMap::default(), seq: 0, limit: limit.max(1), evicted: 0 }
    }

    /// The container with this id (12 hex digits).
    pub fn get(&self, id: &str) -> Option<&Container> {
        self.containers.get(id).map(|(_, c)| c)
    }

    /// Adds a container, or replaces what was known of it (a later event knows more).
    pub fn insert(&mut self, container: Container) {
        self.seq += 1;
        self.containers.insert(container.id.clone(), (self.seq, container));
        if self.containers.len() > self.limit {
            self.evict();
        }
    }

    /// Drops the least recently reported tenth (at least one).
    fn evict(&mut self) {
        let mut by_age: Vec<(u64, String)> =
            self.containers.iter().map(|(id, (seq, _))| (*seq, id.clone())).collect();
        by_age.sort_unstable();
        let excess = self.containers.len() - self.limit + (self.limit / 10).max(1);
        for (_, id) in by_age.into_iter().take(excess) {
            self.containers.remove(&id);
            self.evicted += 1;
        }
    }

    /// Number of containers.
    pub fn len(&self) -> usize {
        self.containers.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty()
    }

    /// Every container, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Container> {
        self.containers.values().map(|(_, c)| c)
    }

    /// Containers dropped to stay within the limit, so far.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }
}

/// Event types of container events: `container` (`PPME_CONTAINER_E`, id, type, name and image
/// as parameters, before 2018), `container` with JSON (`PPME_CONTAINER_JSON_E`, then
/// `PPME_CONTAINER_JSON_2_E` with a large payload).
const CONTAINER_E: u16 = ffi::ppm_event_code_PPME_CONTAINER_E as u16;
const CONTAINER_JSON_E: u16 = ffi::ppm_event_code_PPME_CONTAINER_JSON_E as u16;
const CONTAINER_JSON_2_E: u16 = ffi::ppm_event_code_PPME_CONTAINER_JSON_2_E as u16;

/// Whether an event type is a container event.
pub fn is_container_event(event_type: u16) -> bool {
    matches!(event_type, CONTAINER_E | CONTAINER_JSON_E | CONTAINER_JSON_2_E)
}

impl State {
    /// Applies a container event: the container it describes joins the table (replacing what
    /// was known of it) and is the current event's container. A document that does not parse
    /// is counted and skipped.
    pub(crate) fn apply_container_event(&mut self, ev: &RawEvent<'_>) {
        let container = if ev.event_type() == CONTAINER_E {
            let text = |i| String::from_utf8_lossy(ev.param(i).map(cstr).unwrap_or_default());
            let id = text(0).into_owned();
            if id.is_empty() {
                self.stats.container_events_invalid += 1;
                return;
            }
            Container {
                id,
                kind: ContainerType::from_code(ev.param(1).map_or(0xffff, uint) as u32),
                name: text(2).into_owned(),
                image: text(3).into_owned(),
                lookup_state: 1,
                ..Container::default()
            }
        } else {
            match parse_json(ev.param(0).map(cstr).unwrap_or_default()) {
                Ok(c) => c,
                Err(_) => {
                    self.stats.container_events_invalid += 1;
                    return;
                }
            }
        };
        self.stats.container_events += 1;
        self.event_container = Some(container.id.clone());
        self.containers.insert(container);
        self.stats.containers_evicted = self.containers.evicted();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(id: &str) -> Container {
        Container { id: id.to_owned(), name: format!("c-{id}"), ..Container::default() }
    }

    #[test]
    fn replaces_and_bounds() {
        let mut t = ContainerTable::with_capacity_limit(10);
        t.insert(named("a"));
        t.insert(Container { name: "renamed".into(), ..named("a") });
        assert_eq!(t.len(), 1);
        assert_eq!(t.get("a").map(|c| c.name.as_str()), Some("renamed"));
        for i in 0..10 {
            t.insert(named(&i.to_string()));
        }
        // 11 containers for 10 places: the oldest (`a`) goes, with a tenth of the limit.
        assert_eq!(t.len(), 9);
        assert_eq!(t.evicted(), 2);
        assert!(t.get("a").is_none() && t.get("0").is_none());
        assert!(t.get("9").is_some());
    }

    #[test]
    fn type_names() {
        assert_eq!(ContainerType::from_code(8).name(), "cri-o");
        assert_eq!(ContainerType::from_code(11), ContainerType::Podman);
        assert_eq!(ContainerType::from_code(0xfffe).name(), "host");
        assert_eq!(ContainerType::from_code(0xffff).name(), "");
        assert_eq!(ContainerType::from_code(5).name(), "");
    }
}
