//! The plain configuration of one run, built from the command line by `cli` (or by a test
//! or another program directly).

use std::path::PathBuf;

use regex::bytes::Regex;
use serde::Serialize;

use crate::columns::Column;
use crate::model::{MapKind, Source};

/// Which `/proc/PID/*` file to read, or let pmaps pick the cheapest that answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SourceChoice {
    /// `smaps_rollup` for per-process totals, `smaps` for a per-mapping breakdown.
    #[default]
    Auto,
    Fixed(Source),
}

/// What one row of the report stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
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
}

impl GroupBy {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::File => "file",
            GroupBy::Process => "process",
            GroupBy::User => "user",
            GroupBy::Command => "command",
            GroupBy::Kind => "kind",
            GroupBy::FileProcess => "file,process",
        }
    }
    /// Whether rows need each mapping's path or kind (so `smaps`, not the rollup).
    pub fn needs_mappings(self) -> bool {
        matches!(self, GroupBy::File | GroupBy::Kind | GroupBy::FileProcess)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Table,
    Csv,
    Json,
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
}

impl Filters {
    /// Whether any per-mapping filter is set (a rollup cannot answer those).
    pub fn filters_mappings(&self) -> bool {
        self.map.is_some() || !self.kinds.is_empty()
    }
}

/// Everything one report run needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub proc_root: PathBuf,
    /// Worker threads; `None`: one per CPU.
    pub threads: Option<usize>,
    pub source: SourceChoice,
    pub group_by: GroupBy,
    pub sort: Column,
    pub reverse: bool,
    /// Rows to show; `None`: all (or, on a terminal, what fits); `-n 0` is `usize::MAX`.
    pub top: Option<usize>,
    pub filters: Filters,
    pub format: Format,
    pub output: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            proc_root: PathBuf::from("/proc"),
            threads: None,
            source: SourceChoice::Auto,
            group_by: GroupBy::File,
            sort: Column::Pss,
            reverse: false,
            top: None,
            filters: Filters::default(),
            format: Format::Table,
            output: None,
        }
    }
}

impl Config {
    /// The file actually read: the rollup when it answers the question (per-process totals,
    /// no per-mapping filter, no virtual size asked), `smaps` otherwise.
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
