//! The report's JSON document: `{"schema_version", "meta": {…, "coverage": {…}}, "totals":
//! {…}, "rows": [{…, "by_process": [{…}]}]}` (`by_file` with `process,file`). Row keys are
//! the view's CSV column names; which keys a row has, and in which order, is decided by the
//! view's columns (one definition for every format, `--columns` included):
//! [`ReportDoc::to_json`] writes those keys only.

use serde::{Deserialize, Serialize};

use super::capture::CaptureDoc;
use super::key::{KeyDoc, split};
use super::plan::PlanDoc;
use super::{SCHEMA_VERSION, name_bytes, name_fields};
use crate::model::{
    Basis, Filters, GroupBy, MapKind, Outcome, OutcomeKind, Percent, Report, Row, Source,
};
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
    /// The read plan (with `--explain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanDoc>,
    /// The capture the data came from (`--from`); absent when read live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<CaptureDoc>,
    /// The columns of the rows, in order, when `--columns` chose them (CSV names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    /// What the `*_pct` keys are shares of; present when the view has a percentage column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent_of: Option<PercentOfDoc>,
    /// The filters the report was made with; absent when there were none (so that
    /// `pmaps diff OLD` can scan again the way OLD was made).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<FiltersDoc>,
}

/// The filters of a report (`--pid`, `--user`, `--command`, `--map`, `--kind`, `--cgroup`,
/// `--unit`, `--container`), each absent when not given.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FiltersDoc {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pids: Vec<u32>,
    /// The effective uids of `--user` (names resolved when the report was made).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uids: Vec<u32>,
    /// The `--command` regular expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The `--map` regular expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<MapKind>,
    /// The `--cgroup` regular expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    /// The systemd units of `--unit`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub units: Vec<String>,
    /// The container ID prefix of `--container`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}

impl FiltersDoc {
    /// The filters of a query; `None` when it has none.
    pub fn of(f: &Filters) -> Option<FiltersDoc> {
        let doc = FiltersDoc {
            pids: f.pids.clone(),
            uids: f.uids.clone(),
            command: f.command.as_ref().map(|r| r.as_str().to_string()),
            map: f.map.as_ref().map(|r| r.as_str().to_string()),
            kinds: f.kinds.clone(),
            cgroup: f.cgroup.as_ref().map(|r| r.as_str().to_string()),
            // Given on the command line as text: they are UTF-8.
            units: f
                .units
                .iter()
                .map(|u| String::from_utf8_lossy(u).into_owned())
                .collect(),
            container: f
                .container
                .as_ref()
                .map(|c| String::from_utf8_lossy(c).into_owned()),
        };
        (doc != FiltersDoc::default()).then_some(doc)
    }
}

/// The wholes of the percentage columns, from `/proc/meminfo` (`null`: unknown, or no swap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PercentOfDoc {
    /// `MemTotal`: the whole of `rss_pct`, `pss_pct`, `uss_pct`, `shared_pct`.
    pub ram_bytes: Option<u64>,
    /// `SwapTotal`: the whole of `swap_pct`, `swap_pss_pct`.
    pub swap_bytes: Option<u64>,
}

/// Who was read and who was not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageDoc {
    pub processes: u64,
    pub outcomes: OutcomesDoc,
    /// `null` when read from `smaps_rollup` (one record per process) without counting them in
    /// `maps` (`--columns mappings`).
    pub mappings: Option<u64>,
    pub filtered: u64,
    pub complete: bool,
    pub hidden: Option<String>,
    pub self_pid: Option<u32>,
    pub problems: Vec<ProblemDoc>,
    /// Processes whose address space another process shares (`CLONE_VM`): counted once,
    /// with the lowest PID of the group (`counted_with`). Left out when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared_address_space: Vec<SharedDoc>,
    /// Processes that may share an address space when the source could not tell (each is
    /// counted). Left out when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shared_address_space_unknown: u64,
    /// PIDs asked for with `--pid` that are no process (absent when there are none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_pids: Vec<u32>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A process counted with another that shares its address space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedDoc {
    pub pid: u32,
    pub counted_with: u32,
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

impl CoverageDoc {
    /// Who was read and who was not in `report`.
    pub fn of(report: &Report) -> CoverageDoc {
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
        CoverageDoc {
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
            mappings: (report.meta.source != Source::Rollup || c.mappings_from_maps)
                .then_some(c.mappings),
            filtered: c.filtered,
            complete: c.is_complete(),
            hidden: c.hidden.clone(),
            self_pid: c.self_pid,
            problems,
            shared_address_space: c
                .shared
                .iter()
                .map(|s| SharedDoc {
                    pid: s.pid,
                    counted_with: s.with,
                })
                .collect(),
            shared_address_space_unknown: c.shared_unknown,
            missing_pids: c.missing.clone(),
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
    /// What the row is (its key columns, each absent where the view has no such column).
    #[serde(flatten)]
    pub key: KeyDoc,
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
    /// Cgroup and unit rows: the cgroup's own counters (`null`: unreadable or absent).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub charge_bytes: Option<Option<u64>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub charge_anon_bytes: Option<Option<u64>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub charge_file_bytes: Option<Option<u64>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub charge_shmem_bytes: Option<Option<u64>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub charge_kernel_bytes: Option<Option<u64>>,
    /// Percentages (`--columns`): two decimals at most, `null` when unknown.
    #[serde(default)]
    pub rss_pct: Option<Percent>,
    #[serde(default)]
    pub pss_pct: Option<Percent>,
    #[serde(default)]
    pub uss_pct: Option<Percent>,
    #[serde(default)]
    pub shared_pct: Option<Percent>,
    #[serde(default)]
    pub swap_pct: Option<Percent>,
    #[serde(default)]
    pub swap_pss_pct: Option<Percent>,
    /// With `file,process`: the processes mapping this file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_process: Option<Vec<RowDoc>>,
    /// With `process,file`: the files this process maps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_file: Option<Vec<RowDoc>>,
}

impl RowDoc {
    /// The row's cells, as the view's columns define them (percentages unknown).
    pub fn of(columns: &[Column], row: &Row) -> RowDoc {
        RowDoc::of_in(columns, &Basis::default(), row)
    }

    /// The row's cells, as the view's columns define them, percentages of `basis`.
    pub fn of_in(columns: &[Column], basis: &Basis, row: &Row) -> RowDoc {
        let mut d = RowDoc::default();
        for &c in columns {
            let cell = c.cell_in(row, basis);
            if let Cell::Percent(p) = cell {
                match c {
                    Column::RssPct => d.rss_pct = p,
                    Column::PssPct => d.pss_pct = p,
                    Column::UssPct => d.uss_pct = p,
                    Column::SharedPct => d.shared_pct = p,
                    Column::SwapPct => d.swap_pct = p,
                    _ => d.swap_pss_pct = p,
                }
                continue;
            }
            let bytes = match cell {
                Cell::Bytes(v) => v,
                _ => None,
            };
            match (c, cell) {
                (Column::Path, Cell::Text(t)) => (d.key.path, d.key.path_hex) = split(t),
                (Column::Kind, Cell::Code(k)) => d.key.kind = MapKind::parse(&k),
                (Column::Device, Cell::Code(s)) => d.key.device = Some(s.into_owned()),
                (Column::Inode, Cell::Id(n)) => d.key.inode = Some(n),
                (Column::Pid, Cell::Id(n)) => d.key.pid = u32::try_from(n).ok(),
                (Column::StartTime, Cell::Id(n)) => d.key.start_time = Some(n),
                (Column::User, Cell::Text(t)) => (d.key.user, d.key.user_hex) = split(t),
                (Column::Command, Cell::Text(t)) => (d.key.command, d.key.command_hex) = split(t),
                (Column::Cgroup, Cell::Text(t)) => (d.key.cgroup, d.key.cgroup_hex) = split(t),
                (Column::Cgroup, Cell::Code(s)) => d.key.cgroup = Some(s.into_owned()),
                (Column::Unit, Cell::Text(t)) => (d.key.unit, d.key.unit_hex) = split(t),
                (Column::Unit, Cell::Code(s)) => d.key.unit = Some(s.into_owned()),
                (Column::Runtime, Cell::Code(s)) => d.key.runtime = Some(s.into_owned()),
                (Column::Container, Cell::Text(t)) => {
                    (d.key.container, d.key.container_hex) = split(t)
                }
                (Column::Container, Cell::Code(s)) => d.key.container = Some(s.into_owned()),
                (Column::Pod, Cell::Text(t)) => d.key.pod = split(t).0,
                (Column::Charge, _) => d.charge_bytes = Some(bytes),
                (Column::ChargeAnon, _) => d.charge_anon_bytes = Some(bytes),
                (Column::ChargeFile, _) => d.charge_file_bytes = Some(bytes),
                (Column::ChargeShmem, _) => d.charge_shmem_bytes = Some(bytes),
                (Column::ChargeKernel, _) => d.charge_kernel_bytes = Some(bytes),
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
        name_bytes(self.key.path.as_deref()?, self.key.path_hex.as_deref())
    }

    /// The exact bytes of the command line.
    pub fn command_bytes(&self) -> Option<Vec<u8>> {
        name_bytes(
            self.key.command.as_deref()?,
            self.key.command_hex.as_deref(),
        )
    }
}

/// A key that is present: its value, `null` included (`Some(None)`), as opposed to a key
/// that is absent (`None`, by `default`).
fn present<'de, D>(d: D) -> Result<Option<Option<u64>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Option::<u64>::deserialize(d).map(Some)
}

impl ReportDoc {
    /// The document of a report as `view` shows it (its rows in view order, cut by `--top`).
    pub fn of(view: &ReportView<'_>) -> ReportDoc {
        let report: &Report = view.report;
        let m = &report.meta;
        let of = |row: &Row| RowDoc::of_in(&view.columns, &view.basis, row);
        let row_doc = |r: &crate::view::report::ViewRow<'_>| {
            let mut d = of(r.row);
            if !r.children.is_empty() {
                let children = r.children.iter().map(|ch| of(ch)).collect();
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
                coverage: CoverageDoc::of(report),
                rows_total: view.total_rows,
                capture: m.capture.as_ref().map(CaptureDoc::of),
                percent_of: view.has_percentages().then_some(PercentOfDoc {
                    ram_bytes: view.basis.ram,
                    swap_bytes: view.basis.swap,
                }),
                columns: (view.columns != Column::for_view(m.group_by))
                    .then(|| view.columns.iter().map(|c| c.csv_name()).collect()),
                filters: None,
                plan: None,
            },
            totals: of(&report.totals),
            rows: view.rows.iter().map(row_doc).collect(),
        }
    }

    /// The document as JSON, each row holding the view's keys only, in the view's order
    /// (each name's `_hex` companion after it, `by_process` or `by_file` last).
    pub fn to_json(&self) -> serde_json::Result<serde_json::Value> {
        let mut doc = serde_json::to_value(self)?;
        let keys: Vec<String> = match &self.meta.columns {
            Some(columns) => columns.clone(),
            None => Column::for_view(self.meta.group_by)
                .iter()
                .map(|c| c.csv_name())
                .collect(),
        };
        if let serde_json::Value::Object(map) = &mut doc {
            if let Some(totals) = map.get_mut("totals") {
                keep_keys(totals, &keys);
            }
            if let Some(serde_json::Value::Array(rows)) = map.get_mut("rows") {
                rows.iter_mut().for_each(|r| keep_keys(r, &keys));
            }
        }
        Ok(doc)
    }
}

/// Keeps `keys` of a row object (and their `_hex` companions, and `by_process` or `by_file`,
/// trimmed the same way), in the order of `keys`.
fn keep_keys(row: &mut serde_json::Value, keys: &[String]) {
    let serde_json::Value::Object(map) = row else {
        return;
    };
    let mut kept = serde_json::Map::new();
    for key in keys {
        for k in [key.clone(), format!("{key}_hex")] {
            if let Some(v) = map.remove(&k) {
                kept.insert(k, v);
            }
        }
    }
    for nested in ["by_process", "by_file"] {
        if let Some(mut children) = map.remove(nested) {
            if let serde_json::Value::Array(rows) = &mut children {
                rows.iter_mut().for_each(|r| keep_keys(r, keys));
            }
            kept.insert(nested.into(), children);
        }
    }
    *map = kept;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's JSON example, dedented.
    fn readme_example() -> String {
        let readme = include_str!("../../README.md");
        let start = readme
            .find("  ```json\n")
            .expect("a JSON example in the README")
            + 10;
        let end = start + readme[start..].find("  ```\n").expect("its end");
        readme[start..end]
            .lines()
            .map(|l| l.strip_prefix("  ").unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_readme_schema_is_the_typed_schema() {
        let text = readme_example();
        let doc: ReportDoc = serde_json::from_str(&text).expect("the README example reads back");
        assert_eq!(doc.schema_version, SCHEMA_VERSION);
        // Every key of the example is a field of the types, and every field is in the
        // example: written again, it is the same JSON.
        let example: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let again = doc.to_json().expect("serialize");
        assert_eq!(again, example);
    }
}
