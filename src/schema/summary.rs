//! The JSON document of `pmaps summary`: `{"schema_version", "meta": {…, "coverage": {…}},
//! "percent_of": {ram_bytes, swap_bytes}, "rows": [{item, size_bytes, pct}], "check": {…},
//! "meminfo": {…}}`: the view's lines by their stable item names, integer bytes (`null`:
//! unknown), percentages with two decimals at most, and the meminfo figures they come from
//! (`null` when a capture holds none). Made from a capture, `meta.capture` says which (as in
//! the report's document).

use serde::{Deserialize, Serialize};

use super::SCHEMA_VERSION;
use super::capture::CaptureDoc;
use super::report::{CoverageDoc, PercentOfDoc};
use crate::model::{Drift, Percent, SystemMemory};
use crate::text::utc_timestamp;
use crate::view::summary::{Part, SummaryView};

/// A whole summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryDoc {
    pub schema_version: u32,
    pub meta: SummaryMetaDoc,
    /// The wholes: RAM lines are shares of `ram_bytes`, swap lines of `swap_bytes`.
    pub percent_of: PercentOfDoc,
    pub rows: Vec<SummaryRowDoc>,
    pub check: CheckDoc,
    /// The meminfo figures the lines are made of, in bytes (read before the scan); `null`
    /// when a capture holds no meminfo.
    pub meminfo: Option<SystemMemory>,
}

/// Facts about the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryMetaDoc {
    pub pmaps_version: String,
    /// Always `summary`: tells this document from a report.
    pub view: String,
    pub host: Option<String>,
    pub kernel: Option<String>,
    pub time_utc: String,
    pub proc_root: String,
    pub duration_seconds: f64,
    pub coverage: CoverageDoc,
    /// The capture the data came from (`--from`): which host, when; absent when read live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<CaptureDoc>,
}

/// One line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryRowDoc {
    /// `ram`, `user_space.anon`, `swap.free`, `check.scan`…
    pub item: String,
    pub size_bytes: Option<u64>,
    pub pct: Option<Percent>,
}

/// The scan's user space against meminfo's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckDoc {
    pub scan_pss_bytes: Option<u64>,
    /// meminfo's `AnonPages + Mapped`.
    pub meminfo_user_bytes: Option<u64>,
    /// meminfo's figure minus the scan's; negative when the scan counted more.
    pub difference_bytes: Option<i64>,
    pub processes_read: u64,
    /// Processes with memory whose maps were not read, and the sum of their `VmRSS`.
    pub unread_processes: u64,
    pub unread_rss_bytes: u64,
    /// Of those, how many had no readable `status` either.
    pub unread_rss_unknown: u64,
    pub self_rss_bytes: Option<u64>,
    /// The most the truncation of PSS to whole kB can lose (1 KiB per process read from
    /// the rollup, per mapping read from smaps).
    pub rounding_max_bytes: u64,
    /// meminfo's `AnonPages + Mapped` read after the scan minus before it.
    pub meminfo_drift_bytes: Option<i64>,
    /// `true` when the data came from a capture, which holds one meminfo (read as the capture
    /// began): no drift is measured, and `meminfo_drift_bytes` is `null`.
    #[serde(default)]
    pub meminfo_single_snapshot: bool,
}

impl SummaryDoc {
    pub fn of(view: &SummaryView<'_>) -> SummaryDoc {
        let report = view.report;
        let m = &report.meta;
        let c = &view.check;
        SummaryDoc {
            schema_version: SCHEMA_VERSION,
            meta: SummaryMetaDoc {
                pmaps_version: env!("CARGO_PKG_VERSION").to_string(),
                view: "summary".into(),
                host: m.host.clone(),
                kernel: m.kernel.clone(),
                time_utc: utc_timestamp(m.time),
                proc_root: m.proc_root.display().to_string(),
                duration_seconds: m.duration.as_secs_f64(),
                coverage: CoverageDoc::of(report),
                capture: m.capture.as_ref().map(CaptureDoc::of),
            },
            percent_of: PercentOfDoc {
                ram_bytes: view.basis.ram,
                swap_bytes: view.basis.swap,
            },
            rows: view
                .lines
                .iter()
                .filter(|l| l.part != Part::Check)
                .map(|l| SummaryRowDoc {
                    item: l.item.to_string(),
                    size_bytes: l.bytes,
                    pct: l.pct,
                })
                .collect(),
            check: CheckDoc {
                scan_pss_bytes: c.scan_pss,
                meminfo_user_bytes: c.meminfo_user,
                difference_bytes: c.difference.and_then(|d| i64::try_from(d).ok()),
                processes_read: c.processes_read,
                unread_processes: c.unseen.processes,
                unread_rss_bytes: c.unseen.rss,
                unread_rss_unknown: c.unseen.rss_unknown,
                self_rss_bytes: c.unseen.self_rss,
                rounding_max_bytes: c.rounding_max,
                meminfo_drift_bytes: c.unseen.drift.bytes(),
                meminfo_single_snapshot: c.unseen.drift == Drift::Snapshot,
            },
            meminfo: view.memory,
        }
    }
}
