//! The Prometheus view: what `-f prometheus` exposes of one report, as gauges ready to print.
//!
//! One scan with the file,process grouping (each file row carries its processes, and each
//! process its cgroup) yields every family: files (path, kind) directly, and processes,
//! users, command names, mapping kinds, systemd units and containers derived from the same
//! rows, so the families agree with each other and with the report's totals. Values come
//! from the report view's columns ([`Column::cell`]), so a metric means exactly what the CSV
//! column of the same name means (a unit's charge is the unit view's, read by the scan into
//! [`Report::charges`]).
//!
//! Naming: one gauge per measure and family, `pmaps_<family>_<csv column>`
//! (`pmaps_file_pss_bytes{path,kind,device,inode}`, `pmaps_user_rss_bytes{user,uid}`,
//! `pmaps_unit_charge_bytes{unit,cgroup}`, `pmaps_container_pss_bytes{runtime,container,pod}`,
//! …), so that `sum()` over one gauge of the processes' memory is the report's total of that
//! measure (a cgroup's charge is its own: charges are not summed).
//!
//! Cardinality: per family, the top [`Bounds::top`] rows by PSS + SwapPSS that reach
//! [`Bounds::min_bytes`] are kept and the rest is summed into one series whose every key label
//! is [`OTHER`]; the kind family (at most ten rows) is never cut. [`max_series`] is the bound.
//!
//! Label values stay raw here ([`LabelValue::Raw`]); escaping them (and keeping two names
//! that escape alike apart) is the renderer's.

mod families;

use std::collections::BTreeSet;
use std::time::UNIX_EPOCH;

use super::Cell;
use crate::model::{MapKind, OutcomeKind, Report, Row, RowKey};
use families::{Cut, Derived, Family, cut};

/// The value of every key label of a family's folded series.
pub const OTHER: &str = "(other)";
/// Rows kept per family by default.
pub const DEFAULT_TOP: usize = 25;
/// Rows under this much PSS + SwapPSS are folded by default.
pub const DEFAULT_MIN_BYTES: u64 = 1 << 20;
/// The most of a command line a `cmdline` label carries (the pid identifies the process).
pub const CMDLINE_LABEL_BYTES: usize = 256;

/// How many series each family may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Rows kept per family (`usize::MAX`: all).
    pub top: usize,
    /// Rows with less PSS + SwapPSS than this are folded.
    pub min_bytes: u64,
    /// Whether the per-process family is written.
    pub processes: bool,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            top: DEFAULT_TOP,
            min_bytes: DEFAULT_MIN_BYTES,
            processes: false,
        }
    }
}

/// A label's value: raw bytes from the system (escaped by the renderer) or text made by pmaps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelValue {
    Raw(Vec<u8>),
    Code(String),
}

/// A sample's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Int(u64),
    Float(f64),
}

/// One series of a gauge.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Vec<(&'static str, LabelValue)>,
    pub value: Value,
}

/// One metric family of the exposition (every pmaps metric is a gauge).
#[derive(Debug, Clone, PartialEq)]
pub struct Gauge {
    pub name: String,
    pub help: String,
    pub samples: Vec<Sample>,
}

/// Everything `-f prometheus` prints, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposition {
    pub gauges: Vec<Gauge>,
}

/// The most series an exposition written with `bounds` can hold (`None`: unbounded).
pub fn max_series(bounds: &Bounds) -> Option<usize> {
    let per_family = bounds.top.checked_add(1)?;
    let mut families = vec![
        Family::File,
        Family::User,
        Family::Command,
        Family::Unit,
        Family::Container,
    ];
    if bounds.processes {
        families.push(Family::Process);
    }
    // A cgroup's charge is never summed: the fold has none.
    let cut: usize = families
        .iter()
        .flat_map(|f| f.metrics())
        .map(|c| {
            if c.is_charge() {
                bounds.top
            } else {
                per_family
            }
        })
        .sum();
    let kinds = Family::Kind.metrics().len() * MapKind::ALL.len();
    // build info, last success, duration, complete, mappings, filtered, one per outcome,
    // and rows and folded rows per family.
    let health = 6 + OutcomeKind::ALL.len() + 2 * (families.len() + 1);
    Some(cut + kinds + health)
}

fn gauge(name: &str, help: &str, samples: Vec<Sample>) -> Gauge {
    Gauge {
        name: format!("pmaps_{name}"),
        help: help.to_string(),
        samples,
    }
}

fn one(value: Value) -> Vec<Sample> {
    vec![Sample {
        labels: Vec::new(),
        value,
    }]
}

fn per_family(cuts: &[(Family, Cut<'_>)], n: impl Fn(&Cut<'_>) -> usize) -> Vec<Sample> {
    cuts.iter()
        .map(|(f, c)| Sample {
            labels: vec![("family", LabelValue::Code(f.name().to_string()))],
            value: Value::Int(n(c) as u64),
        })
        .collect()
}

fn health(report: &Report, cuts: &[(Family, Cut<'_>)]) -> Vec<Gauge> {
    let m = &report.meta;
    let c = &report.coverage;
    let secs = m
        .time
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let outcomes = OutcomeKind::ALL
        .iter()
        .map(|&k| Sample {
            labels: vec![("outcome", LabelValue::Code(k.as_str().to_string()))],
            value: Value::Int(c.count(k)),
        })
        .collect();
    let version = vec![Sample {
        labels: vec![(
            "version",
            LabelValue::Code(env!("CARGO_PKG_VERSION").to_string()),
        )],
        value: Value::Int(1),
    }];
    vec![
        gauge(
            "build_info",
            "The pmaps that wrote this file; always 1.",
            version,
        ),
        gauge(
            "last_success_timestamp_seconds",
            "When the scan that wrote this file started, in seconds since the Unix epoch \
             (a file is written only when a scan finished, complete or partial).",
            one(Value::Float(secs)),
        ),
        gauge(
            "scan_duration_seconds",
            "How long the scan took.",
            one(Value::Float(m.duration.as_secs_f64())),
        ),
        gauge(
            "scan_complete",
            "1 when every process was read; 0 when the report is partial (some process \
             denied, incomplete or in error, or processes hidden by the proc mount).",
            one(Value::Int(u64::from(c.is_complete()))),
        ),
        gauge(
            "scan_processes",
            "Processes listed, by outcome (read, vanished, zombie, kernel_thread, denied, \
             incomplete, error).",
            outcomes,
        ),
        gauge(
            "scan_mappings",
            "Mappings read.",
            one(Value::Int(c.mappings)),
        ),
        gauge(
            "scan_filtered_processes",
            "Processes left out by the filters (--pid, --user, --command).",
            one(Value::Int(c.filtered)),
        ),
        gauge(
            "family_rows",
            "Rows of each family before the cut.",
            per_family(cuts, |c| c.rows),
        ),
        gauge(
            "family_folded_rows",
            "Rows of each family summed into its (other) series.",
            per_family(cuts, |c| c.folded),
        ),
    ]
}

impl Exposition {
    /// The exposition of `report` (scanned with the file,process grouping).
    pub fn of(report: &Report, bounds: &Bounds) -> Exposition {
        let d = Derived::of(report);
        let pids_of = |rows: &[&Row]| -> u64 {
            let mut pids = BTreeSet::new();
            for r in rows {
                for child in &r.children {
                    if let RowKey::FileProcess { proc, .. } = &child.key {
                        pids.insert(proc.pid);
                    }
                }
            }
            pids.len() as u64
        };
        let summed = |rows: &[&Row]| rows.iter().map(|r| r.processes).sum();
        let mut cuts = vec![
            (Family::File, cut(d.files.clone(), bounds, true, pids_of)),
            (
                Family::Kind,
                cut(d.kinds.iter().collect(), bounds, false, summed),
            ),
            (
                Family::User,
                cut(d.users.iter().collect(), bounds, true, summed),
            ),
            (
                Family::Command,
                cut(d.commands.iter().collect(), bounds, true, summed),
            ),
            (
                Family::Unit,
                cut(d.units.iter().collect(), bounds, true, summed),
            ),
            (
                Family::Container,
                cut(d.containers.iter().collect(), bounds, true, summed),
            ),
        ];
        if bounds.processes {
            let c = cut(d.processes.iter().collect(), bounds, true, summed);
            cuts.push((Family::Process, c));
        }
        let mut gauges = health(report, &cuts);
        for (family, c) in &cuts {
            let rows: Vec<&Row> = c.kept.iter().copied().chain(c.other.as_ref()).collect();
            for col in family.metrics() {
                let samples = rows
                    .iter()
                    .filter_map(|row| {
                        let value = match col.cell(row) {
                            Cell::Count(v) | Cell::Bytes(Some(v)) => v,
                            // Unknown (not zero): no sample.
                            _ => return None,
                        };
                        Some(Sample {
                            labels: family.labels(row),
                            value: Value::Int(value),
                        })
                    })
                    .collect();
                let name = format!("{}_{}", family.name(), col.csv_name());
                gauges.push(gauge(&name, &family.help(col), samples));
            }
        }
        Exposition { gauges }
    }

    /// The number of series (samples).
    pub fn series(&self) -> usize {
        self.gauges.iter().map(|g| g.samples.len()).sum()
    }
}

#[cfg(test)]
mod tests;
