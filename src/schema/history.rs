//! `pmaps history -f json`: the snapshots of a history database.

use serde::{Deserialize, Serialize};

use super::SCHEMA_VERSION;
use crate::history::Snapshot;
use crate::model::OutcomeKind;
use crate::text::utc_timestamp;
use crate::view::history::coverage_word;

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
