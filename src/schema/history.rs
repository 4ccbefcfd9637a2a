//! `pmaps history -f json` (the snapshots of a history database) and `pmaps trend -f json`
//! (its series judged by the trend statistic).

use serde::{Deserialize, Serialize};

use super::SCHEMA_VERSION;
use super::key::split;
use super::trend::{FitDoc, ThresholdsDoc};
use crate::analyze::Metric;
use crate::history::Snapshot;
use crate::history::series::Key;
use crate::model::{MapKind, OutcomeKind};
use crate::parse::kind_of;
use crate::text::utc_timestamp;
use crate::view::history::coverage_word;
use crate::view::trend::Judged;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryDoc {
    pub schema_version: u32,
    pub meta: HistoryMeta,
    /// Oldest first.
    pub snapshots: Vec<SnapshotDoc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryMeta {
    /// Always `history`.
    pub view: String,
    pub pmaps_version: String,
    /// The database file, as given.
    pub db: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotDoc {
    pub id: i64,
    pub time_utc: String,
    /// Unix time in nanoseconds (the exact key of `--at`).
    pub time_unix_ns: i64,
    pub host: Option<String>,
    pub kernel: Option<String>,
    /// The pmaps that recorded it.
    pub pmaps_version: String,
    pub duration_seconds: f64,
    /// `complete`, or `partial: …`.
    pub coverage: String,
    pub complete: bool,
    /// Processes per outcome (`read`, `vanished`, `zombie`, `kernel_thread`, `denied`,
    /// `incomplete`, `error`).
    pub outcomes: serde_json::Map<String, serde_json::Value>,
    pub mappings: u64,
    pub size_bytes: u64,
    pub rss_bytes: u64,
    pub pss_bytes: u64,
    pub uss_bytes: u64,
    pub swap_bytes: u64,
    pub swap_pss_bytes: u64,
}

impl HistoryDoc {
    pub fn of(snapshots: &[Snapshot], db: &std::path::Path) -> HistoryDoc {
        HistoryDoc {
            schema_version: SCHEMA_VERSION,
            meta: HistoryMeta {
                view: "history".into(),
                pmaps_version: env!("CARGO_PKG_VERSION").into(),
                db: db.display().to_string(),
            },
            snapshots: snapshots
                .iter()
                .map(|s| SnapshotDoc {
                    id: s.id,
                    time_utc: utc_timestamp(s.time),
                    time_unix_ns: crate::history::record::unix_ns(s.time),
                    host: s.host.clone(),
                    kernel: s.kernel.clone(),
                    pmaps_version: s.pmaps_version.clone(),
                    duration_seconds: s.duration.as_secs_f64(),
                    coverage: coverage_word(s),
                    complete: s.is_complete(),
                    outcomes: OutcomeKind::ALL
                        .iter()
                        .map(|k| (k.as_str().to_string(), s.count(*k).into()))
                        .collect(),
                    mappings: s.mappings,
                    size_bytes: s.totals.size,
                    rss_bytes: s.totals.rss,
                    pss_bytes: s.totals.pss,
                    uss_bytes: s.totals.uss(),
                    swap_bytes: s.totals.swap,
                    swap_pss_bytes: s.totals.swap_pss,
                })
                .collect(),
        }
    }
}

/// `pmaps trend -f json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendDoc {
    pub schema_version: u32,
    pub meta: TrendMeta,
    /// The series that grow steadily (verdict `growing`), fastest first: shaped like `pmaps
    /// watch`'s suspects (the series' key, then its statistic).
    pub suspects: Vec<TrendSeriesDoc>,
    /// With `--all`: every series with a statistic, suspects first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<TrendSeriesDoc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendMeta {
    /// Always `trend`.
    pub view: String,
    pub pmaps_version: String,
    pub db: String,
    /// The snapshots judged: how many, the first and last time.
    pub snapshots: usize,
    pub first_utc: Option<String>,
    pub last_utc: Option<String>,
    pub metric_processes: String,
    pub metric_files: String,
    pub thresholds: ThresholdsDoc,
}

/// One series: its key (`series` says which kind) and its statistic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendSeriesDoc {
    /// `process`, `command`, `user` or `file`.
    pub series: String,
    pub metric: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comm_hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<MapKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inode: Option<u64>,
    /// A command's restarts: the times a process of it appeared that the snapshot before did
    /// not have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarts_utc: Option<Vec<String>>,
    #[serde(flatten)]
    pub fit: FitDoc,
}

impl TrendSeriesDoc {
    pub fn of(j: &Judged<'_>, metric: Metric, snapshots: &[Snapshot]) -> TrendSeriesDoc {
        let s = j.series;
        let mut d = TrendSeriesDoc {
            series: s.key.by().as_str().into(),
            metric: metric.name().into(),
            pid: None,
            start_time: None,
            uid: None,
            user: None,
            user_hex: None,
            comm: None,
            comm_hex: None,
            command: None,
            command_hex: None,
            path: None,
            path_hex: None,
            kind: None,
            device: None,
            inode: None,
            restarts_utc: None,
            fit: FitDoc::of(&j.fit, j.verdict),
        };
        match &s.key {
            Key::Process { pid, start_time } => {
                d.pid = Some(*pid);
                d.start_time = Some(*start_time);
                (d.user, d.user_hex) = split(&s.user);
                (d.comm, d.comm_hex) = split(&s.comm);
                (d.command, d.command_hex) = split(&s.command);
            }
            Key::Command(comm) => {
                (d.comm, d.comm_hex) = split(comm);
                d.restarts_utc = Some(
                    s.restarts
                        .iter()
                        .filter_map(|&i| snapshots.get(i).map(|s| utc_timestamp(s.time)))
                        .collect(),
                );
            }
            Key::User { uid, name } => {
                d.uid = *uid;
                (d.user, d.user_hex) = split(name);
            }
            Key::File { object, path } => {
                (d.path, d.path_hex) = split(path);
                d.kind = Some(kind_of(path));
                d.device = Some(object.device());
                d.inode = Some(object.inode);
            }
        }
        d
    }
}
