//! The Prometheus view: what `-f prometheus` exposes of one report, as gauges ready to print.
//!
//! One scan with the file,process grouping (each file row carries its processes) yields every
//! family: files (path, kind) directly, and processes, users, command names and mapping kinds
//! derived from the same rows, so the families agree with each other and with the report's
//! totals. Values come from the report view's columns ([`Column::cell`]), so a metric means
//! exactly what the CSV column of the same name means.
//!
//! Naming: one gauge per measure and family, `pmaps_<family>_<csv column>`
//! (`pmaps_file_pss_bytes{path,kind,device,inode}`, `pmaps_user_rss_bytes{user,uid}`, …), so that `sum()`
//! over one gauge is the report's total of that measure.
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
    let mut families = vec![Family::File, Family::User, Family::Command];
    if bounds.processes {
        families.push(Family::Process);
    }
    let cut: usize = families
        .iter()
        .map(|f| f.metrics().len() * per_family)
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
mod tests {
    use super::families::{absorb, empty_row};
    use super::*;
    use crate::model::{Counters, Coverage, GroupBy, Meta, Object, ProcDesc, Source};

    fn proc(pid: u32, uid: u32, comm: &str) -> ProcDesc {
        ProcDesc {
            pid,
            start_time: 100 + u64::from(pid),
            uid: Some(uid),
            user: format!("u{uid}"),
            comm: comm.as_bytes().to_vec(),
            command: format!("/bin/{comm} --flag").into_bytes(),
            cgroup: None,
        }
    }

    fn counters(pss: u64) -> Counters {
        Counters {
            size: 2 * pss,
            rss: pss + 4096,
            pss,
            private_clean: pss / 2,
            shared_clean: 4096,
            ..Counters::default()
        }
    }

    /// `files` files; file f is mapped by the processes `f % procs` and `(f + 1) % procs`,
    /// each with a PSS of (f + 1) pages.
    fn report(files: usize, procs: u32) -> Report {
        let descs: Vec<ProcDesc> = (0..procs)
            .map(|p| proc(1000 + p, p % 30, &format!("cmd{p}")))
            .collect();
        let mut totals = empty_row(RowKey::Total);
        let rows = (0..files)
            .map(|f| {
                let path = match f % 4 {
                    0 => format!("/lib/f{f}.so"),
                    1 => format!("/tmp/f{f} (deleted)"),
                    2 => format!("/memfd:f{f} (deleted)"),
                    _ => format!("/SYSV{f:08x} (deleted)"),
                }
                .into_bytes();
                let kind = crate::parse::kind_of(&path);
                let pss = (f as u64 + 1) * 4096;
                let mut who = vec![f % procs as usize, (f + 1) % procs as usize];
                who.dedup();
                let children: Vec<Row> = who
                    .iter()
                    .map(|&p| Row {
                        key: RowKey::FileProcess {
                            path: path.clone(),
                            object: Object {
                                dev_major: 254,
                                dev_minor: 0,
                                inode: f as u64 + 1,
                            },
                            kind,
                            proc: descs[p].clone(),
                        },
                        processes: 1,
                        mappings: Some(2),
                        counters: counters(pss),
                        children: Vec::new(),
                    })
                    .collect();
                let mut row = empty_row(RowKey::File {
                    path,
                    object: Object {
                        dev_major: 254,
                        dev_minor: 0,
                        inode: f as u64 + 1,
                    },
                    kind,
                });
                for c in &children {
                    absorb(&mut row, c);
                    absorb(&mut totals, c);
                }
                row.processes = children.len() as u64;
                row.children = children;
                row
            })
            .collect();
        totals.processes = u64::from(procs);
        Report {
            meta: Meta {
                host: None,
                kernel: None,
                time: UNIX_EPOCH + std::time::Duration::from_millis(1_795_542_613_250),
                source: Source::Smaps,
                group_by: GroupBy::FileProcess,
                proc_root: "/proc".into(),
                threads: 1,
                duration: std::time::Duration::from_millis(125),
                capture: None,
            },
            rows,
            totals,
            coverage: Coverage::default(),
        }
    }

    fn gauge_of<'e>(e: &'e Exposition, name: &str) -> &'e Gauge {
        e.gauges
            .iter()
            .find(|g| g.name == name)
            .unwrap_or_else(|| panic!("no {name}"))
    }

    fn sum(g: &Gauge) -> u64 {
        g.samples
            .iter()
            .map(|s| match s.value {
                Value::Int(v) => v,
                Value::Float(_) => panic!("float in {}", g.name),
            })
            .sum()
    }

    #[test]
    fn every_family_sums_to_the_report_totals_with_the_other_series() {
        let r = report(200, 40);
        let bounds = Bounds {
            processes: true,
            min_bytes: 0,
            ..Bounds::default()
        };
        let e = Exposition::of(&r, &bounds);
        for family in ["file", "kind", "user", "command", "process"] {
            for (col, want) in [
                ("pss_bytes", r.totals.counters.pss),
                ("rss_bytes", r.totals.counters.rss),
                ("size_bytes", r.totals.counters.size),
                ("uss_bytes", r.totals.counters.uss()),
                ("mappings", r.totals.mappings.unwrap_or(0)),
            ] {
                let g = gauge_of(&e, &format!("pmaps_{family}_{col}"));
                assert_eq!(sum(g), want, "{}", g.name);
            }
        }
        for family in ["user", "command"] {
            assert_eq!(sum(gauge_of(&e, &format!("pmaps_{family}_processes"))), 40);
        }
        // 200 files, 40 processes, 40 commands, 30 users: 25 kept + (other) each; 4 kinds.
        for (family, series) in [
            ("file", 26),
            ("process", 26),
            ("command", 26),
            ("user", 26),
            ("kind", 4),
        ] {
            let g = gauge_of(&e, &format!("pmaps_{family}_pss_bytes"));
            assert_eq!(g.samples.len(), series, "{family}");
        }
        // The files kept are the 25 heaviest, largest first; the fold comes last.
        let files = gauge_of(&e, "pmaps_file_pss_bytes");
        let values: Vec<u64> = files.samples[..25]
            .iter()
            .map(|s| match s.value {
                Value::Int(v) => v,
                Value::Float(_) => 0,
            })
            .collect();
        let want: Vec<u64> = (176..=200).rev().map(|f| 2 * f * 4096).collect();
        assert_eq!(values, want);
        let last = files.samples.last().expect("other");
        assert_eq!(
            last.labels,
            vec![
                ("path", LabelValue::Code(OTHER.into())),
                ("kind", LabelValue::Code(OTHER.into())),
                ("device", LabelValue::Code(OTHER.into())),
                ("inode", LabelValue::Code(OTHER.into()))
            ]
        );
        // The processes of the folded files: every one of the 40.
        let procs = gauge_of(&e, "pmaps_file_processes");
        assert_eq!(procs.samples.last().map(|s| s.value), Some(Value::Int(40)));
    }

    #[test]
    fn the_default_bound_holds_and_is_reached() {
        let r = report(400, 120);
        for processes in [false, true] {
            let bounds = Bounds {
                processes,
                min_bytes: 0,
                ..Bounds::default()
            };
            let e = Exposition::of(&r, &bounds);
            // Four of the ten kinds are present; every other family is full.
            let missing_kinds = (MapKind::ALL.len() - 4) * Family::Kind.metrics().len();
            assert_eq!(
                Some(e.series() + missing_kinds),
                max_series(&bounds),
                "processes: {processes}"
            );
        }
        assert_eq!(max_series(&Bounds::default()), Some(813));
        let all = Bounds {
            top: usize::MAX,
            ..Bounds::default()
        };
        assert_eq!(max_series(&all), None);
    }

    #[test]
    fn min_bytes_folds_small_rows_and_no_limit_keeps_every_row() {
        let r = report(100, 10);
        let heavy = Bounds {
            top: usize::MAX,
            min_bytes: 2 * 90 * 4096,
            processes: false,
        };
        let e = Exposition::of(&r, &heavy);
        // Files 90..=100 (pages) weigh 2 × that much: 11 kept, and the fold.
        assert_eq!(gauge_of(&e, "pmaps_file_pss_bytes").samples.len(), 12);
        let everything = Bounds {
            top: usize::MAX,
            min_bytes: 0,
            processes: false,
        };
        let e = Exposition::of(&r, &everything);
        let files = gauge_of(&e, "pmaps_file_pss_bytes");
        assert_eq!(files.samples.len(), 100);
        assert!(
            files
                .samples
                .iter()
                .all(|s| s.labels[0].1 != LabelValue::Code(OTHER.into()))
        );
        let folded = gauge_of(&e, "pmaps_family_folded_rows");
        assert_eq!(sum(folded), 0);
    }
}
