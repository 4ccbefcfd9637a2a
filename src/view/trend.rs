//! `pmaps trend`: the series of a history judged by the trend statistic, as a table of
//! series (suspects first, fastest first), and as CSV in long format (one row per series
//! and snapshot) or wide format (one column per snapshot time).

use std::borrow::Cow;

use super::{Cell, ColumnSpec, Elide, Line, Role, Sheet, UnitRule};
use crate::analyze::trend::{Fit, Point, Series, Thresholds, Verdict};
use crate::history::Snapshot;
use crate::history::series::{Key, TrendSeries};
use crate::text::utc_timestamp;

/// A series and its statistic.
#[derive(Debug, Clone)]
pub struct Judged<'a> {
    pub series: &'a TrendSeries,
    pub fit: Fit,
    pub verdict: Verdict,
}

/// Seconds of each snapshot after the first.
pub fn times(snapshots: &[Snapshot]) -> Vec<f64> {
    let first = snapshots.first().map(|s| s.time);
    snapshots
        .iter()
        .map(|s| {
            first
                .and_then(|f| s.time.duration_since(f).ok())
                .map_or(0.0, |d| d.as_secs_f64())
        })
        .collect()
}

/// Judges every series (those of fewer than two samples have no statistic and are left
/// out): suspects first, then the fastest growers.
pub fn judge<'a>(series: &'a [TrendSeries], times: &[f64], th: &Thresholds) -> Vec<Judged<'a>> {
    let mut out: Vec<Judged<'a>> = series
        .iter()
        .filter_map(|s| {
            let mut kept = Series::new();
            for &(i, v) in &s.values {
                kept.push(Point {
                    t: times.get(i).copied().unwrap_or(0.0),
                    v,
                });
            }
            let fit = kept.fit(th.windows)?;
            let verdict = fit.verdict(th);
            Some(Judged {
                series: s,
                fit,
                verdict,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (b.verdict == Verdict::Growing)
            .cmp(&(a.verdict == Verdict::Growing))
            .then(b.fit.slope.total_cmp(&a.fit.slope))
            .then_with(|| a.series.key.cmp(&b.series.key))
    });
    out
}

/// The columns that name a series.
fn key_columns() -> Vec<ColumnSpec> {
    vec![
        ColumnSpec::new("series", "Series").text(),
        ColumnSpec::new("pid", "PID"),
        ColumnSpec::new("start_time", "Start").not_in_table(),
        ColumnSpec::new("user", "User").text(),
        ColumnSpec::new("command", "Command")
            .text()
            .elide(Elide::KeepStart, 12, Some(40)),
        ColumnSpec::new("path", "Mapping")
            .text()
            .elide(Elide::Middle, 20, Some(50))
            .empty_as(""),
        ColumnSpec::new("device", "Device").not_in_table(),
        ColumnSpec::new("inode", "Inode").not_in_table(),
    ]
}

fn key_cells(s: &TrendSeries) -> Vec<Cell<'_>> {
    let code = |t: &'static str| Cell::Code(Cow::Borrowed(t));
    let mut cells = vec![code(s.key.by().as_str())];
    match &s.key {
        Key::Process { pid, start_time } => cells.extend([
            Cell::Id(u64::from(*pid)),
            Cell::Id(*start_time),
            Cell::Text(&s.user),
            Cell::Text(&s.command),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
        ]),
        Key::Command(comm) => cells.extend([
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Text(comm),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
        ]),
        Key::User { name, .. } => cells.extend([
            Cell::Empty,
            Cell::Empty,
            Cell::Text(name),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
        ]),
        Key::File { object, path } => cells.extend([
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Text(if path.is_empty() { b"[anon]" } else { path }),
            Cell::Code(Cow::Owned(object.device())),
            Cell::Id(object.inode),
        ]),
    }
    cells
}

/// The table: one line per judged series.
pub fn table<'a>(judged: &[Judged<'a>], metric_names: &str, top: Option<usize>) -> Sheet<'a> {
    let mut columns = key_columns();
    columns.extend([
        ColumnSpec::new("first", "First").bytes(),
        ColumnSpec::new("last", "Last").bytes(),
        ColumnSpec::new("growth", "Growth").bytes(),
        ColumnSpec::new("rate", "Rate"),
        ColumnSpec::new("r_squared", "R²"),
        ColumnSpec::new("increasing", "Up"),
        ColumnSpec::new("samples", "Samples"),
        ColumnSpec::new("restarts", "Restarts"),
        ColumnSpec::new("verdict", "Verdict").text(),
    ]);
    let shown = top.unwrap_or(usize::MAX).min(judged.len());
    let lines = judged[..shown]
        .iter()
        .map(|j| {
            let f = &j.fit;
            let mut cells = key_cells(j.series);
            cells.extend([
                Cell::Bytes(Some(f.first.v)),
                Cell::Bytes(Some(f.last.v)),
                Cell::Signed(Some(f.growth())),
                Cell::Rate(Some(f.slope as i64)),
                Cell::Code(Cow::Owned(format!("{:.2}", f.r_squared))),
                Cell::Relative(Some((f.increasing * 10_000.0) as i64)),
                Cell::Count(f.samples),
                if j.series.key.by() == crate::history::series::By::Command {
                    Cell::Count(j.series.restarts.len() as u64)
                } else {
                    Cell::Empty
                },
                Cell::Code(Cow::Borrowed(j.verdict.as_str())),
            ]);
            Line {
                role: Role::Data { blank: 0 },
                cells,
            }
        })
        .collect();
    let mut footer = Vec::new();
    if judged.len() > shown {
        footer.push(format!(
            "… {} more series (-n 0 shows all)",
            judged.len() - shown
        ));
    }
    if judged.is_empty() {
        footer.push("(no series grows steadily; --all lists every series)".into());
    }
    footer.push(format!("metric: {metric_names}"));
    Sheet {
        footer,
        ..Sheet::one_section(columns, lines, UnitRule::PerCell, None)
    }
}

/// CSV long format: one row per (snapshot, series), with the snapshot's time.
pub fn long<'a>(
    series: &[&'a TrendSeries],
    snapshots: &[Snapshot],
    metric: impl Fn(&TrendSeries) -> &'static str,
) -> Sheet<'a> {
    let mut columns = vec![ColumnSpec::new("time", "Time").text()];
    columns.extend(key_columns());
    columns.push(ColumnSpec::new("metric", "Metric").text());
    columns.push(ColumnSpec::new("value", "Value").bytes());
    let mut lines = Vec::new();
    for s in series {
        for &(i, v) in &s.values {
            let mut cells = vec![Cell::Code(Cow::Owned(
                snapshots
                    .get(i)
                    .map_or(String::new(), |s| utc_timestamp(s.time)),
            ))];
            cells.extend(key_cells(s));
            cells.push(Cell::Code(Cow::Borrowed(metric(s))));
            cells.push(Cell::Bytes(Some(v)));
            lines.push(Line {
                role: Role::Data { blank: 0 },
                cells,
            });
        }
    }
    data_sheet(columns, lines)
}

/// CSV wide format: one row per series, one column per snapshot time (empty: the series
/// had no value then).
pub fn wide<'a>(series: &[&'a TrendSeries], snapshots: &[Snapshot]) -> Sheet<'a> {
    let mut columns = key_columns();
    for s in snapshots {
        columns.push(ColumnSpec::new(
            utc_timestamp(s.time),
            utc_timestamp(s.time),
        ));
    }
    let lines = series
        .iter()
        .map(|s| {
            let mut cells = key_cells(s);
            let mut values = vec![Cell::Empty; snapshots.len()];
            for &(i, v) in &s.values {
                if let Some(c) = values.get_mut(i) {
                    *c = Cell::Count(v);
                }
            }
            cells.extend(values);
            Line {
                role: Role::Data { blank: 0 },
                cells,
            }
        })
        .collect();
    data_sheet(columns, lines)
}

fn data_sheet(columns: Vec<ColumnSpec>, lines: Vec<Line<'_>>) -> Sheet<'_> {
    Sheet {
        footer: Vec::new(),
        ..Sheet::one_section(columns, lines, UnitRule::PerCell, None)
    }
}

/// Whether a judged series is shown without `--all`: the suspects.
pub fn is_suspect(j: &Judged<'_>) -> bool {
    j.verdict == Verdict::Growing
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: &[u64]) -> TrendSeries {
        TrendSeries {
            key: Key::Command(b"x".to_vec()),
            comm: b"x".to_vec(),
            command: Vec::new(),
            user: Vec::new(),
            values: values.iter().copied().enumerate().collect(),
            restarts: Vec::new(),
        }
    }

    #[test]
    fn a_steady_grower_is_judged_a_suspect_and_a_flat_series_is_not() {
        let times: Vec<f64> = (0..12).map(|i| i as f64 * 600.0).collect();
        let grow = series(&(0..12).map(|i| (100 + 10 * i) << 20).collect::<Vec<_>>());
        let flat = series(&[100 << 20; 12]);
        let all = [grow, flat];
        let judged = judge(&all, &times, &Thresholds::default());
        assert_eq!(judged[0].verdict, Verdict::Growing);
        assert_ne!(judged[1].verdict, Verdict::Growing);
        // 10 MiB per 10 minutes is 60 MiB per hour.
        assert!((judged[0].fit.slope - 60.0 * 1048576.0).abs() < 1.0);
    }
}
