//! The key fields of a row or a series in JSON, named as reports name them: a mapped object
//! (`path`/`path_hex`, `kind`, `device`, `inode`), a process (`pid`, `start_time`,
//! `command`/`command_hex`), a user (`user`/`user_hex`), a cgroup (`cgroup`/`cgroup_hex`), a
//! unit (`unit`/`unit_hex`) and a container (`runtime`, `container`/`container_hex`,
//! `pod`), each absent where it does not apply. Report rows, `pmaps diff`'s rows and `pmaps
//! watch`'s series flatten it next to their values.

use serde::{Deserialize, Serialize};

use super::{name_bytes, name_fields};
use crate::model::{MapKind, Object};
use crate::parse::kind_of;

/// What a row or series is, as far as it has each field.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KeyDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<MapKind>,
    /// The mapped object's device (`fe:00`) and inode: with the path, a file's identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inode: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The process's start time in clock ticks since boot: with the PID, its identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_hex: Option<String>,
    /// The container runtime (`docker`, `containerd`, `crio`, `podman`, `lxc`), `-` the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
}

/// A raw name as (text, hex) fields.
pub fn split(t: &[u8]) -> (Option<String>, Option<String>) {
    let (text, hex) = name_fields(t);
    (Some(text), hex)
}

impl KeyDoc {
    /// A mapped object: its path (exact), kind, device and inode.
    pub fn set_object(&mut self, path: &[u8], object: Object) {
        (self.path, self.path_hex) = split(path);
        self.kind = Some(kind_of(path));
        self.device = Some(object.device());
        self.inode = Some(object.inode);
    }

    pub fn set_command(&mut self, command: &[u8]) {
        (self.command, self.command_hex) = split(command);
    }

    pub fn set_user(&mut self, user: &[u8]) {
        (self.user, self.user_hex) = split(user);
    }

    /// The exact bytes of the path.
    pub fn path_bytes(&self) -> Option<Vec<u8>> {
        name_bytes(self.path.as_deref()?, self.path_hex.as_deref())
    }
}
