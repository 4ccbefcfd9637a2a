//! The manifest of a `pmaps capture` archive (`manifest.json`, its last entry): what was
//! captured, where and when, per PID its outcome and every read it made, in order, with the
//! archive entry that holds the bytes and the error that ended it, and per cgroup of the
//! processes what reading its counter files got. Written by `capture::writer`, read by
//! [`super::ArchiveSource`]; [`VERSION`] changes with any change a reader of the previous
//! version would misread. (The cgroups came later within version 1: an older reader skips
//! them and shows the counters unknown, and a manifest without them reads as one whose
//! counters are unknown.)

use serde::{Deserialize, Serialize};

use crate::model::{Cgroup, Hierarchy, OutcomeKind, Source};
use crate::source::IoFailure;
use crate::text::escape::{name_bytes, name_fields};

/// The `format` of every pmaps capture manifest.
pub const FORMAT: &str = "pmaps-capture";
/// The manifest version this pmaps writes and reads.
pub const VERSION: u32 = 1;
/// The manifest's entry name.
pub const MANIFEST: &str = "manifest.json";
/// The passwd-style user names of the uids seen (`name:x:uid:::` lines).
pub const PASSWD: &str = "passwd";
/// The directory of the cgroups' files: `cgroup/N/memory.current` for the N-th of
/// [`Manifest::cgroups`] (a cgroup path can be longer than a tar name, and any bytes).
pub const CGROUP_DIR: &str = "cgroup";
/// System files kept, as the proc root names them.
pub const SYSTEM_FILES: [&str; 4] = [
    "meminfo",
    "version",
    "sys/kernel/hostname",
    "sys/kernel/osrelease",
];

/// What a manifest says first: checked before the rest is read as this version's layout.
#[derive(Debug, Deserialize)]
pub struct Versioned {
    pub format: String,
    pub version: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    pub version: u32,
    pub pmaps_version: String,
    pub host: Option<String>,
    pub kernel: Option<String>,
    /// Bytes per page on the captured host.
    pub page_size: Option<u64>,
    /// When it booted (`btime` of `/proc/stat`), in seconds since the epoch.
    pub boot_time: Option<u64>,
    /// When the capture began and ended: UTC text, and milliseconds since the epoch.
    pub start_utc: String,
    pub end_utc: String,
    pub start_unix_ms: u64,
    pub end_unix_ms: u64,
    /// The proc root read (`/proc`).
    pub proc_root: String,
    /// The map file kept per process.
    pub map_file: Source,
    /// The capturing pmaps' own PID (listed, never read).
    pub self_pid: Option<u32>,
    /// What the proc mount hid from the capture (hidepid), as the coverage line says it.
    pub hidden: Option<String>,
    /// Every PID listed, ascending.
    pub processes: Vec<ProcessRecord>,
    /// The cgroups of the processes read (each one's own and its unit's), with what reading
    /// their counter files got.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cgroups: Vec<CgroupRecord>,
}

/// One cgroup, and the reads of its files (entries `cgroup/N/FILE`, N its place in the list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupRecord {
    pub hierarchy: Hierarchy,
    /// The path as `/proc/PID/cgroup` prints it; escaped when it is not UTF-8, and then given
    /// exactly in `path_hex`.
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hex: Option<String>,
    #[serde(default)]
    pub reads: Vec<ReadRecord>,
}

impl CgroupRecord {
    pub fn new(cgroup: &Cgroup, reads: Vec<ReadRecord>) -> CgroupRecord {
        let (path, path_hex) = name_fields(&cgroup.path);
        CgroupRecord {
            hierarchy: cgroup.hierarchy,
            path,
            path_hex,
            reads,
        }
    }

    /// The cgroup; `None` when `path_hex` is not hex.
    pub fn cgroup(&self) -> Option<Cgroup> {
        Some(Cgroup {
            path: name_bytes(&self.path, self.path_hex.as_deref())?,
            hierarchy: self.hierarchy,
        })
    }
}

/// The entry of the `index`-th cgroup's file `entry`.
pub fn cgroup_entry(index: usize, entry: &str) -> String {
    format!("{CGROUP_DIR}/{index}/{entry}")
}

/// One PID: the outcome its read had, and the reads that gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRecord {
    pub pid: u32,
    pub outcome: OutcomeKind,
    /// For denied and error outcomes: the file and the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The directory's owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<u32>,
    /// Why the directory did not open (the process was gone, or hidden).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir_failure: Option<IoFailure>,
    #[serde(default)]
    pub reads: Vec<ReadRecord>,
    /// The thread IDs its directory listed (`task/`), when the read asked for them: only
    /// for a process whose main thread had exited, read through a live thread
    /// (`task/TID/…` files).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub threads: Vec<u32>,
}

/// One open of a file of the process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadRecord {
    /// The file opened (`stat`, `smaps`).
    pub file: String,
    /// The entry under `PID/` holding what was read, when the open succeeded: the file's own
    /// name for its first read, `NAME.2`, `NAME.3`… for later ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// The error that ended it: at open (nothing read) or during the read (after `entry`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<IoFailure>,
}

/// A file name of a process directory as a capture may use it: one plain component, or one
/// under a thread's directory (`task/TID/NAME`, the files of a process whose main thread has
/// exited are read there).
pub fn is_entry_name(name: &str) -> bool {
    match name.strip_prefix("task/").and_then(|r| r.split_once('/')) {
        Some((tid, rest)) => {
            !tid.is_empty()
                && tid.len() <= 10
                && tid.bytes().all(|b| b.is_ascii_digit())
                && is_plain_name(rest)
        }
        None => is_plain_name(name),
    }
}

/// One plain component of a file name.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cgroup_path_round_trips_exactly_utf8_or_not() {
        for path in [
            &b"/system.slice/nginx.service"[..],
            b"/a/we\xffird.scope",
            b"/",
        ] {
            let cg = Cgroup {
                path: path.to_vec(),
                hierarchy: Hierarchy::V1Memory,
            };
            let rec = CgroupRecord::new(&cg, Vec::new());
            assert_eq!(rec.path_hex.is_some(), std::str::from_utf8(path).is_err());
            let json = serde_json::to_string(&rec).expect("JSON");
            let back: CgroupRecord = serde_json::from_str(&json).expect("read back");
            assert_eq!(back.cgroup(), Some(cg));
        }
        let bad = CgroupRecord {
            path_hex: Some("2f7".into()),
            ..CgroupRecord::new(
                &Cgroup {
                    path: b"/".to_vec(),
                    hierarchy: Hierarchy::V2,
                },
                Vec::new(),
            )
        };
        assert_eq!(bad.cgroup(), None);
        assert_eq!(cgroup_entry(3, "memory.stat"), "cgroup/3/memory.stat");
    }
}
