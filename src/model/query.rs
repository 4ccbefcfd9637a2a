//! The question a scan answers: which processes and mappings count, how rows are grouped,
//! which file to read per process. Built from the command line by the app, or by a test.

use std::path::PathBuf;

use regex::bytes::Regex;

use super::{GroupBy, MapKind, Source};

/// Which `/proc/PID/*` file to read, or let pmaps pick the cheapest that answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SourceChoice {
    /// `smaps_rollup` for per-process totals, `smaps` for a per-mapping breakdown.
    #[default]
    Auto,
    Fixed(Source),
}

/// Which processes and mappings count.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Only these PIDs (empty: all).
    pub pids: Vec<u32>,
    /// Only processes of these effective uids (empty: all).
    pub uids: Vec<u32>,
    /// Only processes whose command name or command line matches.
    pub command: Option<Regex>,
    /// Only mappings whose path matches.
    pub map: Option<Regex>,
    /// Only mappings of these kinds (empty: all).
    pub kinds: Vec<MapKind>,
    /// Only processes whose cgroup path matches.
    pub cgroup: Option<Regex>,
    /// Only processes in these systemd units (empty: all).
    pub units: Vec<Vec<u8>>,
    /// Only processes in a container whose ID starts with this.
    pub container: Option<Vec<u8>>,
}

impl Filters {
    /// Whether any per-mapping filter is set (a rollup cannot answer those).
    pub fn filters_mappings(&self) -> bool {
        self.map.is_some() || !self.kinds.is_empty()
    }
    /// Whether any filter needs each process's cgroup.
    pub fn filters_cgroups(&self) -> bool {
        self.cgroup.is_some() || !self.units.is_empty() || self.container.is_some()
    }
}

/// What the read plan (`crate::plan`) may do beyond reading the file that answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanOptions {
    /// With a mapping filter, read each process's `maps` first and its `smaps` only when a
    /// mapping may match (the default); off (`--no-prefilter`): read every `smaps`.
    pub prefilter: bool,
    /// The mapping count is shown (`--columns mappings`) or sorted by (`--sort mappings`)
    /// although the rollup answers the rest: count the lines of `maps` beside it.
    pub count_in_maps: bool,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            prefilter: true,
            count_in_maps: false,
        }
    }
}

/// Everything one scan needs.
#[derive(Debug, Clone)]
pub struct Query {
    pub proc_root: PathBuf,
    /// Worker threads; `None`: one per CPU.
    pub threads: Option<usize>,
    pub source: SourceChoice,
    pub group_by: GroupBy,
    pub filters: Filters,
    pub plan: PlanOptions,
    /// Read each process's cgroup, and the own counters of its unit's cgroup, whatever the
    /// grouping (the unit and container families of `-f prometheus` are derived from the
    /// processes of a file,process scan).
    pub cgroups: bool,
}

impl Default for Query {
    fn default() -> Self {
        Query {
            proc_root: PathBuf::from("/proc"),
            threads: None,
            source: SourceChoice::Auto,
            group_by: GroupBy::File,
            filters: Filters::default(),
            plan: PlanOptions::default(),
            cgroups: false,
        }
    }
}

impl Query {
    /// The file actually read: the rollup when it answers the question (per-process totals,
    /// no per-mapping filter; a mapping count comes from `maps` beside it), `smaps` otherwise.
    pub fn effective_source(&self) -> Source {
        match self.source {
            SourceChoice::Fixed(s) => s,
            SourceChoice::Auto => {
                if self.group_by.needs_mappings() || self.filters.filters_mappings() {
                    Source::Smaps
                } else {
                    Source::Rollup
                }
            }
        }
    }
}
