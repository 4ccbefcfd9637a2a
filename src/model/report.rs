//! A finished report: every row of the question asked (unsorted, uncut: sorting and `--top`
//! belong to the view), the totals, the coverage and the facts of the run.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::{
    CaptureInfo, Cgroup, Charge, Container, Counters, Coverage, MapKind, Object, ProcDesc, Source,
};

/// What one row of the report stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// One row per mapped file or pseudo-mapping.
    #[default]
    File,
    /// One row per process.
    Process,
    /// One row per user (effective uid).
    User,
    /// One row per command name (comm).
    Command,
    /// One row per mapping kind.
    Kind,
    /// One row per file, each followed by one row per process mapping it.
    #[serde(rename = "file,process")]
    FileProcess,
    /// One row per process, each followed by one row per file it maps.
    #[serde(rename = "process,file")]
    ProcessFile,
    /// One row per cgroup (the memory controller's on a v1/hybrid host).
    Cgroup,
    /// One row per systemd unit (service or scope) the cgroup path ends in.
    Unit,
    /// One row per container (runtime and ID), `-` for the host.
    Container,
    /// One row per file, each followed by one row per container mapping it.
    #[serde(rename = "file,container")]
    FileContainer,
    /// One row per container, each followed by one row per file it maps.
    #[serde(rename = "container,file")]
    ContainerFile,
}

impl GroupBy {
    pub const ALL: [GroupBy; 12] = [
        GroupBy::File,
        GroupBy::Process,
        GroupBy::User,
        GroupBy::Command,
        GroupBy::Kind,
        GroupBy::FileProcess,
        GroupBy::ProcessFile,
        GroupBy::Cgroup,
        GroupBy::Unit,
        GroupBy::Container,
        GroupBy::FileContainer,
        GroupBy::ContainerFile,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::File => "file",
            GroupBy::Process => "process",
            GroupBy::User => "user",
            GroupBy::Command => "command",
            GroupBy::Kind => "kind",
            GroupBy::FileProcess => "file,process",
            GroupBy::ProcessFile => "process,file",
            GroupBy::Cgroup => "cgroup",
            GroupBy::Unit => "unit",
            GroupBy::Container => "container",
            GroupBy::FileContainer => "file,container",
            GroupBy::ContainerFile => "container,file",
        }
    }
    pub fn parse(s: &str) -> Option<GroupBy> {
        GroupBy::ALL.into_iter().find(|g| g.as_str() == s)
    }
    /// Whether rows need each mapping's path or kind (so `smaps`, not the rollup).
    pub fn needs_mappings(self) -> bool {
        matches!(
            self,
            GroupBy::File
                | GroupBy::Kind
                | GroupBy::FileProcess
                | GroupBy::ProcessFile
                | GroupBy::FileContainer
                | GroupBy::ContainerFile
        )
    }
    /// Whether rows need each process's cgroup.
    pub fn needs_cgroup(self) -> bool {
        matches!(
            self,
            GroupBy::Cgroup
                | GroupBy::Unit
                | GroupBy::Container
                | GroupBy::FileContainer
                | GroupBy::ContainerFile
        )
    }
    /// Whether each row is followed by rows of its parts (a file's processes or
    /// containers, a process's or a container's files).
    pub fn is_pair(self) -> bool {
        matches!(
            self,
            GroupBy::FileProcess
                | GroupBy::ProcessFile
                | GroupBy::FileContainer
                | GroupBy::ContainerFile
        )
    }
}

/// What a row stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowKey {
    /// A mapped file or pseudo-mapping: the object it maps and the exact path bytes
    /// (empty: anonymous), and its kind (decided by the path and what smaps said of it).
    File {
        path: Vec<u8>,
        object: Object,
        kind: MapKind,
    },
    Process(std::sync::Arc<ProcDesc>),
    User {
        uid: Option<u32>,
        name: String,
    },
    /// A command name (comm).
    Command(Vec<u8>),
    Kind(MapKind),
    /// One process's share of one file (`--group-by file,process` and `process,file`); the
    /// path and the process's description are shared by every pair that has them.
    FileProcess {
        path: std::sync::Arc<[u8]>,
        object: Object,
        kind: MapKind,
        proc: std::sync::Arc<ProcDesc>,
    },
    /// A cgroup (`None`: unknown), and its own counters.
    Cgroup {
        cgroup: Option<Cgroup>,
        charge: Charge,
    },
    /// A systemd unit: its name (`None`: not in a unit) and its cgroup, with its counters.
    Unit {
        cgroup: Option<Cgroup>,
        charge: Charge,
    },
    /// A container (`None`: the host), and its own cgroup with that cgroup's counters.
    Container {
        container: Option<Container>,
        cgroup: Option<Cgroup>,
        charge: Charge,
    },
    /// One container's share of one file (`--group-by file,container`).
    FileContainer {
        path: Vec<u8>,
        object: Object,
        kind: MapKind,
        container: Option<Container>,
    },
    /// One file of one container (`--group-by container,file`).
    ContainerFile {
        container: Option<Container>,
        path: Vec<u8>,
        object: Object,
        kind: MapKind,
    },
    /// The totals of the whole report.
    Total,
}

impl std::hash::Hash for RowKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            RowKey::User { uid, name } => (0u8, uid, name).hash(state),
            RowKey::Command(c) => (1u8, c).hash(state),
            RowKey::File { path, object, .. } => (2u8, path, object).hash(state),
            RowKey::Kind(k) => (3u8, k).hash(state),
            RowKey::Process(p) => (4u8, p.pid, p.start_time).hash(state),
            RowKey::FileProcess {
                path, object, proc, ..
            } => (5u8, path, object, proc.pid, proc.start_time).hash(state),
            RowKey::Cgroup { cgroup, .. } => (7u8, cgroup).hash(state),
            RowKey::Unit { cgroup, .. } => (8u8, cgroup).hash(state),
            RowKey::Container { container, .. } => (9u8, container).hash(state),
            RowKey::FileContainer {
                path,
                object,
                container,
                ..
            } => (10u8, path, object, container).hash(state),
            RowKey::ContainerFile {
                container,
                path,
                object,
                ..
            } => (11u8, container, path, object).hash(state),
            RowKey::Total => 6u8.hash(state),
        }
    }
}

impl RowKey {
    /// The file of a file row or pair: its path, object and kind (the kind is stored, not
    /// found again from the path: hugetlb memory is told by what smaps said of it).
    pub fn file(&self) -> Option<(&[u8], Object, MapKind)> {
        match self {
            RowKey::FileProcess {
                path, object, kind, ..
            } => Some((path, *object, *kind)),
            RowKey::File { path, object, kind }
            | RowKey::FileContainer {
                path, object, kind, ..
            }
            | RowKey::ContainerFile {
                path, object, kind, ..
            } => Some((path, *object, *kind)),
            _ => None,
        }
    }
    /// The kind of a file row or pair, or of a kind row; `None` for rows of other kinds.
    pub fn kind(&self) -> Option<MapKind> {
        match self {
            RowKey::Kind(k) => Some(*k),
            _ => self.file().map(|(_, _, k)| k),
        }
    }
    /// The container of a container row or pair (`Some(None)`: the host); `None` for rows
    /// of other kinds.
    pub fn container(&self) -> Option<Option<&Container>> {
        match self {
            RowKey::Container { container: c, .. }
            | RowKey::FileContainer { container: c, .. }
            | RowKey::ContainerFile { container: c, .. } => Some(c.as_ref()),
            _ => None,
        }
    }
}

/// One row of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub key: RowKey,
    /// Distinct processes that contribute.
    pub processes: u64,
    /// Mappings; unknown when read from `smaps_rollup`, which has one record per process.
    pub mappings: Option<u64>,
    pub counters: Counters,
    /// With `--group-by file,process`: the processes mapping this file; with
    /// `process,file`: the files this process maps.
    pub children: Vec<Row>,
}

/// Facts about the run, for the JSON `meta` object and the footers.
#[derive(Debug, Clone, PartialEq)]
pub struct Meta {
    pub host: Option<String>,
    pub kernel: Option<String>,
    /// When the data was read: the scan's start, or the capture's when made from one.
    pub time: SystemTime,
    pub source: Source,
    pub group_by: GroupBy,
    pub proc_root: PathBuf,
    pub threads: usize,
    pub duration: Duration,
    /// The capture the data came from (`--from`); `None` when read live.
    pub capture: Option<CaptureInfo>,
}

/// A finished report: every row, totals, coverage and facts about the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub meta: Meta,
    /// Every row, in no particular order (the view sorts and cuts).
    pub rows: Vec<Row>,
    pub totals: Row,
    pub coverage: Coverage,
    /// The own counters of the units' and containers' cgroups, when the query asked for
    /// every process's cgroup (`Query::cgroups`); empty otherwise (cgroup, unit and
    /// container rows carry their own).
    pub charges: BTreeMap<Cgroup, Charge>,
}
