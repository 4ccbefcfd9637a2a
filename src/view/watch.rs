//! The views of `pmaps watch`: the live table (the growers first, with a sparkline of each
//! series), the summary table (suspects, then what grew without being one), and the CSV long
//! format (one row per series per sample, then the ended series and the summary, all under
//! one header).

use std::borrow::Cow;

use super::{Cell, ColumnSpec, Elide, Line, Role, Section, Sheet, UnitRule};
use crate::analyze::Metric;
use crate::analyze::trend::{Fit, Point, Thresholds, Verdict};
use crate::model::Object;
use crate::parse::kind_of;
use crate::text::{format_rate, plural, thousands};
use crate::watch::{Ended, Judged, Label, Sample, SeriesId, SeriesKind, Tracked};

/// The blocks of a sparkline, lowest to highest.
const BLOCKS: [char; 8] = [
    '\u{2581}', '\u{2582}', '\u{2583}', '\u{2584}', '\u{2585}', '\u{2586}', '\u{2587}', '\u{2588}',
];
/// Points in a sparkline.
const SPARK_WIDTH: usize = 16;

/// A sparkline of the last [`SPARK_WIDTH`] points, scaled from their lowest to highest value
/// (a flat series is a flat line).
pub fn sparkline(points: &[Point]) -> String {
    let tail = &points[points.len().saturating_sub(SPARK_WIDTH)..];
    let lo = tail.iter().map(|p| p.v).min().unwrap_or(0);
    let hi = tail.iter().map(|p| p.v).max().unwrap_or(0);
    tail.iter()
        .map(|p| {
            let i = if hi == lo {
                0
            } else {
                ((u128::from(p.v - lo) * 7 + u128::from(hi - lo) / 2) / u128::from(hi - lo))
                    as usize
            };
            BLOCKS[i.min(7)]
        })
        .collect()
}

/// An address range in maps notation, without leading zeros: `7f3a12340000-7f3a12440000`.
pub fn address(range: (u64, u64)) -> String {
    format!("{:x}-{:x}", range.0, range.1)
}

/// A slope in bytes per hour as an integer (saturating; a NaN is 0).
pub fn per_hour(slope: f64) -> i64 {
    slope.clamp(i64::MIN as f64, i64::MAX as f64) as i64
}

/// A fraction with 3 decimals, as machine formats and the table give R² and the
/// increasing fraction.
pub fn fraction(x: f64) -> String {
    format!("{x:.3}")
}

/// A column of the watch views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchColumn {
    Record,
    Time,
    Elapsed,
    Series,
    Metric,
    Pid,
    StartTime,
    Command,
    Address,
    Path,
    Kind,
    Device,
    Inode,
    Value,
    Samples,
    First,
    Growth,
    Rate,
    RSquared,
    Increasing,
    Trend,
    Verdict,
    Note,
}

const LIVE: [WatchColumn; 8] = [
    WatchColumn::Pid,
    WatchColumn::Command,
    WatchColumn::Path,
    WatchColumn::Address,
    WatchColumn::Value,
    WatchColumn::Growth,
    WatchColumn::Rate,
    WatchColumn::Trend,
];

const SUMMARY: [WatchColumn; 13] = [
    WatchColumn::Pid,
    WatchColumn::Command,
    WatchColumn::Path,
    WatchColumn::Address,
    WatchColumn::Metric,
    WatchColumn::First,
    WatchColumn::Value,
    WatchColumn::Growth,
    WatchColumn::Rate,
    WatchColumn::RSquared,
    WatchColumn::Increasing,
    WatchColumn::Samples,
    WatchColumn::Verdict,
];

const LONG: [WatchColumn; 22] = [
    WatchColumn::Record,
    WatchColumn::Time,
    WatchColumn::Elapsed,
    WatchColumn::Series,
    WatchColumn::Metric,
    WatchColumn::Pid,
    WatchColumn::StartTime,
    WatchColumn::Command,
    WatchColumn::Address,
    WatchColumn::Path,
    WatchColumn::Kind,
    WatchColumn::Device,
    WatchColumn::Inode,
    WatchColumn::Value,
    WatchColumn::Samples,
    WatchColumn::First,
    WatchColumn::Growth,
    WatchColumn::Rate,
    WatchColumn::RSquared,
    WatchColumn::Increasing,
    WatchColumn::Verdict,
    WatchColumn::Note,
];

impl WatchColumn {
    fn spec(self) -> ColumnSpec {
        let c = |name: &'static str, header: &'static str| ColumnSpec::new(name, header);
        match self {
            WatchColumn::Record => c("record", "Record").text(),
            WatchColumn::Time => c("time_utc", "Time").text(),
            WatchColumn::Elapsed => c("elapsed_seconds", "Elapsed s"),
            WatchColumn::Series => c("series", "Series").text(),
            WatchColumn::Metric => c("metric", "Metric").text(),
            WatchColumn::Pid => c("pid", "PID"),
            WatchColumn::StartTime => c("start_time", "Start"),
            WatchColumn::Command => {
                c("command", "Command")
                    .text()
                    .elide(Elide::KeepStart, 12, Some(40))
            }
            WatchColumn::Address => c("address", "Address").text(),
            WatchColumn::Path => c("path", "Mapping")
                .text()
                .elide(Elide::Middle, 20, Some(60))
                .empty_as(""),
            WatchColumn::Kind => c("kind", "Kind").text(),
            WatchColumn::Device => c("device", "Device").text(),
            WatchColumn::Inode => c("inode", "Inode"),
            WatchColumn::Value => c("value", "Now").bytes(),
            WatchColumn::Samples => c("samples", "Samples"),
            WatchColumn::First => c("first", "First").bytes(),
            WatchColumn::Growth => c("growth", "Growth").bytes(),
            WatchColumn::Rate => c("slope_bytes_per_hour", "Rate"),
            WatchColumn::RSquared => c("r_squared", "R\u{b2}"),
            WatchColumn::Increasing => c("increasing_fraction", "Up"),
            WatchColumn::Trend => c("trend", "Trend").text(),
            WatchColumn::Verdict => c("verdict", "Verdict").text(),
            WatchColumn::Note => c("note", "Note").text(),
        }
    }
}

/// One line of a watch view: a series at a moment, with its statistic when judged.
#[derive(Debug, Clone)]
pub struct WatchLine<'a> {
    pub record: &'static str,
    pub time_utc: &'a str,
    pub elapsed: f64,
    pub id: &'a SeriesId,
    pub label: &'a Label,
    pub metric: Metric,
    pub value: Option<u64>,
    pub samples: Option<u64>,
    pub fit: Option<&'a Fit>,
    pub verdict: Option<Verdict>,
    pub points: Option<Vec<Point>>,
    pub note: Option<Cow<'a, str>>,
}

impl<'a> WatchLine<'a> {
    fn kind(&self) -> SeriesKind {
        match self.id {
            SeriesId::Process { .. } => SeriesKind::Process,
            SeriesId::Mapping { .. } => SeriesKind::Mapping,
            SeriesId::File { .. } => SeriesKind::File,
        }
    }

    fn object(&self) -> Option<Object> {
        match self.kind() {
            SeriesKind::Process => None,
            _ => self.label.object,
        }
    }

    /// The cell of `c`. `table`: for people (a process total is named as such).
    fn cell(&self, c: WatchColumn, table: bool) -> Cell<'a> {
        let l = self.label;
        match c {
            WatchColumn::Record => Cell::Code(Cow::Borrowed(self.record)),
            WatchColumn::Time => Cell::Code(Cow::Borrowed(self.time_utc)),
            WatchColumn::Elapsed => Cell::Code(Cow::Owned(format!("{:.3}", self.elapsed))),
            WatchColumn::Series => Cell::Code(Cow::Borrowed(self.kind().as_str())),
            WatchColumn::Metric => Cell::Code(Cow::Borrowed(self.metric.name())),
            WatchColumn::Pid => l.pid.map_or(Cell::Empty, |p| Cell::Id(u64::from(p))),
            WatchColumn::StartTime => l.start_time.map_or(Cell::Empty, Cell::Id),
            WatchColumn::Command => match self.kind() {
                SeriesKind::Process if l.command.is_empty() => Cell::Text(&l.comm),
                SeriesKind::Process => Cell::Text(&l.command),
                SeriesKind::Mapping => Cell::Text(&l.comm),
                SeriesKind::File => Cell::Empty,
            },
            WatchColumn::Address => l
                .range
                .map_or(Cell::Empty, |r| Cell::Code(Cow::Owned(address(r)))),
            WatchColumn::Path => match self.kind() {
                SeriesKind::Process if table => Cell::Code(Cow::Borrowed("(process total)")),
                SeriesKind::Process => Cell::Empty,
                SeriesKind::Mapping | SeriesKind::File if table && l.path.is_empty() => {
                    Cell::Code(Cow::Borrowed("[anon]"))
                }
                _ => Cell::Text(&l.path),
            },
            WatchColumn::Kind => match self.kind() {
                SeriesKind::Process => Cell::Empty,
                _ => Cell::Code(Cow::Borrowed(kind_of(&l.path).as_str())),
            },
            WatchColumn::Device => self
                .object()
                .map_or(Cell::Empty, |o| Cell::Code(Cow::Owned(o.device()))),
            WatchColumn::Inode => self.object().map_or(Cell::Empty, |o| Cell::Id(o.inode)),
            WatchColumn::Value => Cell::Bytes(self.value),
            WatchColumn::Samples => self.samples.map_or(Cell::Empty, Cell::Count),
            WatchColumn::First => self
                .fit
                .map_or(Cell::Empty, |f| Cell::Bytes(Some(f.first.v))),
            WatchColumn::Growth => self
                .fit
                .map_or(Cell::Empty, |f| Cell::Signed(Some(f.growth()))),
            WatchColumn::Rate => self
                .fit
                .map_or(Cell::Empty, |f| Cell::Rate(Some(per_hour(f.slope)))),
            WatchColumn::RSquared => self.fit.map_or(Cell::Empty, |f| {
                Cell::Code(Cow::Owned(fraction(f.r_squared)))
            }),
            WatchColumn::Increasing => self.fit.map_or(Cell::Empty, |f| {
                Cell::Code(Cow::Owned(fraction(f.increasing)))
            }),
            WatchColumn::Trend => self
                .points
                .as_ref()
                .map_or(Cell::Empty, |p| Cell::Code(Cow::Owned(sparkline(p)))),
            WatchColumn::Verdict => self
                .verdict
                .map_or(Cell::Empty, |v| Cell::Code(Cow::Borrowed(v.as_str()))),
            WatchColumn::Note => self.note.clone().map_or(Cell::Empty, Cell::Code),
        }
    }
}

fn sheet<'a>(
    columns: &[WatchColumn],
    sections: Vec<(Option<String>, Option<String>, Vec<WatchLine<'a>>)>,
    table: bool,
    footer: Vec<String>,
) -> Sheet<'a> {
    Sheet {
        columns: columns.iter().map(|c| c.spec()).collect(),
        sections: sections
            .into_iter()
            .map(|(title, note, lines)| Section {
                title,
                note: if lines.is_empty() { note } else { None },
                lines: lines
                    .iter()
                    .map(|l| Line {
                        role: Role::Data { blank: 0 },
                        cells: columns.iter().map(|c| l.cell(*c, table)).collect(),
                    })
                    .collect(),
            })
            .collect(),
        unit: UnitRule::PerCell,
        footer,
        rows: None,
    }
}

/// A judged series as a line of the summary.
pub fn judged_line<'a>(
    j: &'a Judged<'a>,
    record: &'static str,
    time_utc: &'a str,
) -> WatchLine<'a> {
    let t: &Tracked = j.tracked;
    WatchLine {
        record,
        time_utc,
        elapsed: j.fit.last.t,
        id: &t.id,
        label: &t.label,
        metric: t.metric,
        value: Some(j.fit.last.v),
        samples: Some(j.fit.samples),
        fit: Some(&j.fit),
        verdict: Some(j.verdict),
        points: None,
        note: t
            .ended
            .as_ref()
            .map(|r| Cow::Owned(format!("ended: {}", r.as_str()))),
    }
}

/// The live table: the series that grew most, each with its trend. `fits` holds the
/// statistic of each series shown, in the same order.
pub fn live_sheet<'a>(
    shown: &[&'a Tracked],
    fits: &'a [Option<Fit>],
    title: String,
    footer: Vec<String>,
) -> Sheet<'a> {
    let lines = shown
        .iter()
        .zip(fits)
        .map(|(t, fit)| WatchLine {
            record: "live",
            time_utc: "",
            elapsed: 0.0,
            id: &t.id,
            label: &t.label,
            metric: t.metric,
            value: t.series.latest().map(|p| p.v),
            samples: Some(t.series.samples()),
            fit: fit.as_ref(),
            verdict: None,
            points: Some(t.series.points()),
            note: None,
        })
        .collect();
    let note = Some("nothing has grown yet".to_string());
    sheet(&LIVE, vec![(Some(title), note, lines)], true, footer)
}

/// How the summary names the thresholds.
pub fn thresholds_line(th: &Thresholds) -> String {
    format!(
        "a suspect has at least {} samples, grows at least {} and by at least {}% of its \
         first value in the watch (or in an hour at that rate), in each {} of the watch, \
         and fits a line with R\u{b2} at least {}",
        th.min_samples,
        format_rate(per_hour(th.min_rate)).trim_start_matches('+'),
        (th.min_growth * 100_000.0).round() / 1000.0,
        match th.windows {
            1 => "part".to_string(),
            2 => "half".to_string(),
            3 => "third".to_string(),
            n => format!("1/{n}"),
        },
        th.min_r_squared
    )
}

/// The summary table: the suspects, then what grew without being one (at most `top`).
pub fn summary_sheet<'a>(
    judged: &'a [Judged<'a>],
    top: usize,
    heading: String,
    th: &Thresholds,
) -> Sheet<'a> {
    let (suspects, others): (Vec<&Judged<'_>>, Vec<&Judged<'_>>) =
        judged.iter().partition(|j| j.verdict == Verdict::Growing);
    let grown: Vec<WatchLine<'a>> = others
        .iter()
        .filter(|j| j.fit.growth() > 0)
        .take(top)
        .map(|j| judged_line(j, "grower", ""))
        .collect();
    let more = others.iter().filter(|j| j.fit.growth() > 0).count() - grown.len();
    let mut footer = vec![thresholds_line(th)];
    if more > 0 {
        footer.insert(
            0,
            format!(
                "... {} more that grew (-n shows more)",
                thousands(more as u64)
            ),
        );
    }
    let title = format!(
        "{heading}\n{}:",
        if suspects.is_empty() {
            "No suspect".to_string()
        } else {
            format!("Suspects ({})", suspects.len())
        }
    );
    sheet(
        &SUMMARY,
        vec![
            (
                Some(title),
                Some("nothing grew steadily".to_string()),
                suspects
                    .iter()
                    .map(|j| judged_line(j, "suspect", ""))
                    .collect(),
            ),
            (
                Some("Grew, but not steadily enough to be a suspect:".to_string()),
                Some("nothing else grew".to_string()),
                grown,
            ),
        ],
        true,
        footer,
    )
}

/// The CSV long format's rows of one sample: one per series observed, then one per series
/// that ended.
pub fn sample_rows<'a>(
    sample: &'a Sample,
    time_utc: &'a str,
    metric_of: impl Fn(&SeriesId) -> Metric,
    ended: &'a [Ended],
) -> Sheet<'a> {
    let mut lines: Vec<WatchLine<'a>> = sample
        .observations
        .iter()
        .map(|o| WatchLine {
            record: "sample",
            time_utc,
            elapsed: sample.elapsed,
            id: &o.id,
            label: &o.label,
            metric: metric_of(&o.id),
            value: Some(o.value),
            samples: None,
            fit: None,
            verdict: None,
            points: None,
            note: None,
        })
        .collect();
    lines.extend(ended.iter().map(|e| WatchLine {
        record: "ended",
        time_utc,
        elapsed: sample.elapsed,
        id: &e.id,
        label: &e.label,
        metric: e.metric,
        value: None,
        samples: Some(e.samples),
        fit: None,
        verdict: None,
        points: None,
        note: Some(Cow::Borrowed(e.reason.as_str())),
    }));
    sheet(&LONG, vec![(None, None, lines)], false, Vec::new())
}

/// The CSV long format's summary rows: the suspects, then at most `top` others that grew.
pub fn summary_rows<'a>(judged: &'a [Judged<'a>], time_utc: &'a str, top: usize) -> Sheet<'a> {
    let suspects = judged.iter().filter(|j| j.verdict == Verdict::Growing);
    let others = judged
        .iter()
        .filter(|j| j.verdict != Verdict::Growing && j.fit.growth() > 0)
        .take(top);
    let lines = suspects
        .map(|j| judged_line(j, "suspect", time_utc))
        .chain(others.map(|j| judged_line(j, "grower", time_utc)))
        .collect();
    sheet(&LONG, vec![(None, None, lines)], false, Vec::new())
}

/// `20 samples over 3.8 s, every 0.2 s`.
pub fn span_line(samples: u64, seconds: f64, interval: f64) -> String {
    format!(
        "{} over {seconds:.1} s, every {interval} s",
        plural(samples, "sample", "samples")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_to_their_range() {
        let pts = |vs: &[u64]| -> Vec<Point> {
            vs.iter()
                .enumerate()
                .map(|(i, v)| Point { t: i as f64, v: *v })
                .collect()
        };
        assert_eq!(sparkline(&pts(&[0, 1, 2, 3, 4, 5, 6, 7])), "▁▂▃▄▅▆▇█");
        assert_eq!(sparkline(&pts(&[5, 5, 5])), "▁▁▁");
        assert_eq!(sparkline(&pts(&[0, u64::MAX])), "▁█");
        assert_eq!(
            sparkline(&pts(&(0..40).collect::<Vec<u64>>()))
                .chars()
                .count(),
            16
        );
        assert_eq!(sparkline(&[]), "");
    }

    #[test]
    fn addresses_and_fractions() {
        assert_eq!(
            address((0x7f3a_1234_0000, 0x7f3a_1244_0000)),
            "7f3a12340000-7f3a12440000"
        );
        assert_eq!(fraction(0.98765), "0.988");
        assert_eq!(per_hour(f64::NAN), 0);
        assert_eq!(per_hour(1e30), i64::MAX);
        let th = Thresholds::default();
        assert_eq!(
            thresholds_line(&th),
            "a suspect has at least 10 samples, grows at least 1.0 MiB/h and by at least 5% \
             of its first value in the watch (or in an hour at that rate), in each third of \
             the watch, and fits a line with R\u{b2} at least 0.6"
        );
    }
}
