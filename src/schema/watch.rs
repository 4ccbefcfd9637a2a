//! The JSON Lines of `pmaps watch`: one object per line, told apart by `record`:
//!
//! - `{"record": "start", …}`: the watch's facts (interval, metrics, thresholds, targets);
//! - `{"record": "sample", "sample", "time_utc", "elapsed_seconds", "values": [{series
//!   key…, "value_bytes"}], "ended": [{series key…, "reason", "samples"}]}`, one per sample;
//! - `{"record": "summary", …, "suspects": [{series key…, statistic…}], "growers": […]}`,
//!   the last line.
//!
//! A series key is `series` (`process`, `mapping` or `file`), `metric`, and what names it:
//! `pid` and `start_time` (processes and mappings), `comm` (mappings and processes),
//! `command` (processes of a watch with targets), `address` (mappings: lowest start to highest end, hex), `path`,
//! `kind`, `device` and `inode` (mappings and files). Names that are not UTF-8 come with a
//! `<key>_hex` companion, as in reports. The statistic is [`super::trend::FitDoc`].

use serde::{Deserialize, Serialize};

use super::key::{KeyDoc, split};
use super::trend::{FitDoc, ThresholdsDoc};
use crate::analyze::Metric;
use crate::view::watch::address;
use crate::watch::{Ended, Judged, Label, SeriesId, SeriesKind, Tracked};

/// One line of the stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum RecordDoc {
    Start(StartDoc),
    Sample(SampleDoc),
    Summary(SummaryDoc),
}

/// The first line: what is watched and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartDoc {
    pub schema_version: u32,
    pub pmaps_version: String,
    pub host: Option<String>,
    pub kernel: Option<String>,
    pub proc_root: String,
    pub time_utc: String,
    pub interval_seconds: f64,
    /// Samples asked for (`null`: until stopped).
    pub count: Option<u64>,
    pub metric_processes: String,
    pub metric_files: String,
    pub thresholds: ThresholdsDoc,
    /// The target processes (empty: every process and every file is watched).
    pub targets: Vec<SeriesDoc>,
}

/// One sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleDoc {
    /// 1 for the first.
    pub sample: u64,
    pub time_utc: String,
    /// Seconds since the watch began (the middle of this sample's reading).
    pub elapsed_seconds: f64,
    pub values: Vec<ValueDoc>,
    pub ended: Vec<EndedDoc>,
}

/// The last line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryDoc {
    pub samples: u64,
    pub time_utc: String,
    pub duration_seconds: f64,
    /// `count`, `signal`, `targets_gone` or `error`.
    pub stopped_by: String,
    pub thresholds: ThresholdsDoc,
    /// The series that grew steadily, steepest first.
    pub suspects: Vec<SuspectDoc>,
    /// Others that grew, most first, with the verdict that says why they are not suspects.
    pub growers: Vec<SuspectDoc>,
}

/// What names a series: its kind, its metric, the process's command name, a mapping's
/// address, and the key fields of reports (a process's `pid`, `start_time` and `command`; a
/// mapping's or file's `path`, `kind`, `device`, `inode`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SeriesDoc {
    pub series: String,
    pub metric: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comm_hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(flatten)]
    pub key: KeyDoc,
}

impl SeriesDoc {
    pub fn of(id: &SeriesId, label: &Label, metric: Metric) -> SeriesDoc {
        let kind = match id {
            SeriesId::Process { .. } => SeriesKind::Process,
            SeriesId::Mapping { .. } => SeriesKind::Mapping,
            SeriesId::File { .. } => SeriesKind::File,
        };
        let mut d = SeriesDoc {
            series: kind.as_str().to_string(),
            metric: metric.name().to_string(),
            ..SeriesDoc::default()
        };
        d.key.pid = label.pid;
        d.key.start_time = label.start_time;
        if kind != SeriesKind::File {
            (d.comm, d.comm_hex) = split(&label.comm);
        }
        if kind == SeriesKind::Process {
            // Without targets the command line is not read: the command name says it.
            if !label.command.is_empty() {
                d.key.set_command(&label.command);
            }
        } else {
            d.key
                .set_object(&label.path, label.object.unwrap_or_default());
            d.address = label.range.map(address);
        }
        d
    }
}

/// One value of one series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueDoc {
    #[serde(flatten)]
    pub series: SeriesDoc,
    pub value_bytes: u64,
}

/// A series that ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndedDoc {
    #[serde(flatten)]
    pub series: SeriesDoc,
    /// `exited`, `pid_reused`, `unmapped` or `unreadable`.
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub samples: u64,
}

impl EndedDoc {
    pub fn of(e: &Ended) -> EndedDoc {
        EndedDoc {
            series: SeriesDoc::of(&e.id, &e.label, e.metric),
            reason: e.reason.as_str().to_string(),
            detail: match &e.reason {
                crate::watch::EndReason::Unreadable(why) => Some(why.clone()),
                _ => None,
            },
            samples: e.samples,
        }
    }
}

/// A judged series: its key and its statistic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuspectDoc {
    #[serde(flatten)]
    pub series: SeriesDoc,
    #[serde(flatten)]
    pub fit: FitDoc,
    /// Why its series ended, if it did before the watch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
}

impl SuspectDoc {
    pub fn of(j: &Judged<'_>) -> SuspectDoc {
        let t: &Tracked = j.tracked;
        SuspectDoc {
            series: SeriesDoc::of(&t.id, &t.label, t.metric),
            fit: FitDoc::of(&j.fit, j.verdict),
            ended: t.ended.as_ref().map(|r| r.as_str().to_string()),
        }
    }
}
