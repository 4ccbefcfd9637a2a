//! The report's JSON document: `{"schema_version", "meta": {…, "coverage": {…}}, "totals":
//! {…}, "rows": [{…, "by_process": [{…}]}]}` (`by_file` with `process,file`). Row keys are the view's CSV column names; which
//! keys a row has is decided by the view's columns (one definition for every format).

use serde::{Deserialize, Serialize};

use super::{SCHEMA_VERSION, name_bytes, name_fields};
use crate::model::{GroupBy, MapKind, Outcome, OutcomeKind, Report, Row, Source};
use crate::text::utc_timestamp;
use crate::view::Cell;
use crate::view::report::{Column, ReportView};

/// A whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportDoc {
    pub schema_version: u32,
    pub meta: MetaDoc,
    pub totals: RowDoc,
    pub rows: Vec<RowDoc>,
}

/// Facts about the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetaDoc {
    pub pmaps_version: String,
    pub host: Option<String>,
    pub kernel: Option<String>,
    pub time_utc: String,
    pub source: Source,
    pub group_by: GroupBy,
    pub proc_root: String,
    pub threads: usize,
    pub duration_seconds: f64,
    pub coverage: CoverageDoc,
    /// Rows before `--top` cut them.
    pub rows_total: usize,
}

/// Who was read and who was not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageDoc {
    pub processes: u64,
    pub outcomes: OutcomesDoc,
    /// `null` when read from `smaps_rollup` (one record per process).
    pub mappings: Option<u64>,
    pub filtered: u64,
    pub complete: bool,
    pub hidden: Option<String>,
    pub self_pid: Option<u32>,
    pub problems: Vec<ProblemDoc>,
    /// PIDs asked for with `--pid` that are no process (absent when there are none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_pids: Vec<u32>,
}

/// Processes per outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OutcomesDoc {
    pub read: u64,
    pub vanished: u64,
    pub zombie: u64,
    pub kernel_thread: u64,
    pub denied: u64,
    pub incomplete: u64,
    pub error: u64,
}

impl OutcomesDoc {
    /// The count of one outcome.
    pub fn get(&self, kind: OutcomeKind) -> u64 {
        match kind {
            OutcomeKind::Read => self.read,
            OutcomeKind::Vanished => self.vanished,
            OutcomeKind::Zombie => self.zombie,
            OutcomeKind::KernelThread => self.kernel_thread,
            OutcomeKind::Denied => self.denied,
            OutcomeKind::Incomplete => self.incomplete,
            OutcomeKind::Error => self.error,
        }
    }
}

/// A process that was denied, incomplete or in error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemDoc {
    pub pid: u32,
    pub comm: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comm_hex: Option<String>,
    pub outcome: OutcomeKind,
    pub path: Option<String>,
    pub detail: Option<String>,
}

/// One row. Key columns are present only in the views that have them; metrics always are
/// (`null`: unknown).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RowDoc {
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
    pub processes: Option<u64>,
    pub mappings: Option<u64>,
    pub size_bytes: Option<u64>,
    pub rss_bytes: Option<u64>,
    pub pss_bytes: Option<u64>,
    pub uss_bytes: Option<u64>,
    pub shared_bytes: Option<u64>,
    pub swap_bytes: Option<u64>,
    pub swap_pss_bytes: Option<u64>,
    /// With `file,process`: the processes mapping this file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_process: Option<Vec<RowDoc>>,
    /// With `process,file`: the files this process maps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_file: Option<Vec<RowDoc>>,
}

impl RowDoc {
    /// The row's cells, as the view's columns define them.
    pub fn of(columns: &[Column], row: &Row) -> RowDoc {
        let mut d = RowDoc::default();
        for &c in columns {
            let cell = c.cell(row);
            let bytes = match cell {
                Cell::Bytes(v) => v,
                _ => None,
            };
            match (c, cell) {
                (Column::Path, Cell::Text(t)) => (d.path, d.path_hex) = split(t),
                (Column::Kind, Cell::Code(k)) => d.kind = MapKind::parse(&k),
                (Column::Device, Cell::Code(s)) => d.device = Some(s.into_owned()),
                (Column::Inode, Cell::Id(n)) => d.inode = Some(n),
                (Column::Pid, Cell::Id(n)) => d.pid = u32::try_from(n).ok(),
                (Column::StartTime, Cell::Id(n)) => d.start_time = Some(n),
                (Column::User, Cell::Text(t)) => (d.user, d.user_hex) = split(t),
                (Column::Command, Cell::Text(t)) => (d.command, d.command_hex) = split(t),
                (Column::Processes, Cell::Count(n)) => d.processes = Some(n),
                (Column::Mappings, Cell::Count(n)) => d.mappings = Some(n),
                (Column::Size, _) => d.size_bytes = bytes,
                (Column::Rss, _) => d.rss_bytes = bytes,
                (Column::Pss, _) => d.pss_bytes = bytes,
                (Column::Uss, _) => d.uss_bytes = bytes,
                (Column::Shared, _) => d.shared_bytes = bytes,
                (Column::Swap, _) => d.swap_bytes = bytes,
                (Column::SwapPss, _) => d.swap_pss_bytes = bytes,
                _ => {}
            }
        }
        d
    }

    /// The exact bytes of the path (`path`, or `path_hex` when it is not UTF-8).
    pub fn path_bytes(&self) -> Option<Vec<u8>> {
        name_bytes(self.path.as_deref()?, self.path_hex.as_deref())
    }

    /// The exact bytes of the command line.
    pub fn command_bytes(&self) -> Option<Vec<u8>> {
        name_bytes(self.command.as_deref()?, self.command_hex.as_deref())
    }
}

fn split(t: &[u8]) -> (Option<String>, Option<String>) {
    let (text, hex) = name_fields(t);
    (Some(text), hex)
}

impl ReportDoc {
    /// The document of a report as `view` shows it (its rows in view order, cut by `--top`).
    pub fn of(view: &ReportView<'_>) -> ReportDoc {
        let report: &Report = view.report;
        let m = &report.meta;
        let c = &report.coverage;
        let count = |k| c.count(k);
        let problems = c
            .problems
            .iter()
            .map(|p| {
                let (path, detail) = match &p.outcome {
                    Outcome::Denied { path, errno } => (
                        Some(path.clone()),
                        Some(std::io::Error::from_raw_os_error(*errno).to_string()),
                    ),
                    Outcome::Error { path, message } => (Some(path.clone()), Some(message.clone())),
                    _ => (None, None),
                };
                let (comm, comm_hex) = name_fields(&p.comm);
                ProblemDoc {
                    pid: p.pid,
                    comm,
                    comm_hex,
                    outcome: p.outcome.kind(),
                    path,
                    detail,
                }
            })
            .collect();
        let row_doc = |r: &crate::view::report::ViewRow<'_>| {
            let mut d = RowDoc::of(&view.columns, r.row);
            if !r.children.is_empty() {
                let children = r
                    .children
                    .iter()
                    .map(|ch| RowDoc::of(&view.columns, ch))
                    .collect();
                match m.group_by {
                    GroupBy::ProcessFile => d.by_file = Some(children),
                    _ => d.by_process = Some(children),
                }
            }
            d
        };
        ReportDoc {
            schema_version: SCHEMA_VERSION,
            meta: MetaDoc {
                pmaps_version: env!("CARGO_PKG_VERSION").to_string(),
                host: m.host.clone(),
                kernel: m.kernel.clone(),
                time_utc: utc_timestamp(m.time),
                source: m.source,
                group_by: m.group_by,
                proc_root: m.proc_root.display().to_string(),
                threads: m.threads,
                duration_seconds: m.duration.as_secs_f64(),
                coverage: CoverageDoc {
                    processes: c.processes(),
                    outcomes: OutcomesDoc {
                        read: count(OutcomeKind::Read),
                        vanished: count(OutcomeKind::Vanished),
                        zombie: count(OutcomeKind::Zombie),
                        kernel_thread: count(OutcomeKind::KernelThread),
                        denied: count(OutcomeKind::Denied),
                        incomplete: count(OutcomeKind::Incomplete),
                        error: count(OutcomeKind::Error),
                    },
                    mappings: (m.source != Source::Rollup).then_some(c.mappings),
                    filtered: c.filtered,
                    complete: c.is_complete(),
                    hidden: c.hidden.clone(),
                    self_pid: c.self_pid,
                    problems,
                    missing_pids: c.missing.clone(),
                },
                rows_total: view.total_rows,
            },
            totals: RowDoc::of(&view.columns, &report.totals),
            rows: view.rows.iter().map(row_doc).collect(),
        }
    }
}
