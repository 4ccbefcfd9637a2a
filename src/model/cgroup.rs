//! Control groups: the cgroup a process's memory is charged to, the container it belongs to,
//! and the cgroup's own counters (its charge: what the kernel bills it for, page cache and
//! kernel memory included).

use serde::{Deserialize, Serialize};

/// Which hierarchy a cgroup path belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hierarchy {
    /// The v1 memory controller's hierarchy (v1 and hybrid hosts).
    #[serde(rename = "v1")]
    V1Memory,
    /// The unified hierarchy (cgroup v2).
    V2,
}

/// The cgroup of a process's memory, as `/proc/PID/cgroup` names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cgroup {
    /// Raw bytes, relative to the hierarchy's root (`/system.slice/nginx.service`).
    pub path: Vec<u8>,
    pub hierarchy: Hierarchy,
}

/// A container runtime, recognised from the cgroup path it makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Runtime {
    Docker,
    /// containerd (Kubernetes CRI, or a plain containerd cgroup under a pod).
    Containerd,
    /// CRI-O.
    Crio,
    Podman,
    Lxc,
}

impl Runtime {
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Docker => "docker",
            Runtime::Containerd => "containerd",
            Runtime::Crio => "crio",
            Runtime::Podman => "podman",
            Runtime::Lxc => "lxc",
        }
    }
}

/// A container: its runtime and ID (an LXC container's name), and the Kubernetes pod UID
/// when the path carries one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Container {
    pub runtime: Runtime,
    pub id: Vec<u8>,
    pub pod: Option<Vec<u8>>,
}

/// A cgroup's own memory counters, in bytes; `None`: unreadable or absent (unknown, never 0).
/// v2: `memory.current` and `memory.stat` (`anon`, `file`, `shmem`, `kernel`); v1:
/// `memory.usage_in_bytes` and `memory.stat` (`total_rss`, `total_cache`, `total_shmem`, and
/// `memory.kmem.usage_in_bytes` for the kernel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Charge {
    pub current: Option<u64>,
    pub anon: Option<u64>,
    pub file: Option<u64>,
    pub shmem: Option<u64>,
    pub kernel: Option<u64>,
}
