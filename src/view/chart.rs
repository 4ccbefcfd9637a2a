//! The report as a picture: the rows of a view as the boxes of a treemap, each sized by one
//! byte column (PSS unless `--sort` names another), the long tail folded into one "other"
//! box, boxes coloured by mapping kind (or, per process, by user) with a legend. This is the
//! data of the picture; `render::svg` draws it.

use std::borrow::Cow;

use super::report::{Column, ReportView};
use crate::model::{GroupBy, MapKind, Row, RowKey};
use crate::text::utc_timestamp;

/// At most this many boxes before the rest is folded into "other"…
const MAX_BOXES: usize = 40;
/// …and none smaller than this share of the whole, in hundredths of a percent (0.25 %):
/// smaller ones could not show a label.
const MIN_SHARE: u128 = 25;

/// One box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartBox<'a> {
    /// What the box shows (a file's name, `PID comm`, a user), raw bytes.
    pub label: Cow<'a, [u8]>,
    /// The exact name (the whole path, the whole command line), for the tooltip.
    pub name: Cow<'a, [u8]>,
    pub bytes: u64,
    /// Its legend entry; `None` for the folded rest.
    pub class: Option<usize>,
}

/// A legend entry: a colour and what it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegendEntry<'a> {
    /// The colour's index in the renderer's palette (stable per mapping kind).
    pub colour: usize,
    pub name: Cow<'a, [u8]>,
}

/// A treemap of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart<'a> {
    /// `PSS by file`.
    pub title: String,
    /// Host and time, then the coverage line.
    pub facts: Vec<String>,
    /// The byte column the areas stand for (`PSS`).
    pub metric: &'static str,
    /// The whole: every row's value, folded ones included.
    pub total: u64,
    /// Largest first; the folded rest, if any, last.
    pub boxes: Vec<ChartBox<'a>>,
    /// Rows folded into the "other" box.
    pub folded: usize,
    /// What the colours stand for (`kind` or `user`); `None`: colours only tell boxes apart.
    pub legend_title: Option<&'static str>,
    pub legend: Vec<LegendEntry<'a>>,
}

/// The byte column a picture sizes its boxes by: the sort column when it is one (a
/// percentage counts as its bytes), PSS otherwise.
pub fn chart_metric(sort: Column) -> Column {
    let base = sort.percent_of().map_or(sort, |(of, _)| of);
    if base.is_bytes() { base } else { Column::Pss }
}

fn value(metric: Column, row: &Row) -> u64 {
    match metric.cell(row) {
        super::Cell::Bytes(Some(v)) => v,
        _ => 0,
    }
}

/// Raw bytes, borrowed from a row or made for the picture.
type Bytes<'a> = Cow<'a, [u8]>;

/// What a box says, the exact name behind it, and what it is coloured by.
fn describe(row: &Row) -> (Bytes<'_>, Bytes<'_>, Option<Bytes<'_>>) {
    if let Some((p, _, kind)) = row.key.file() {
        return describe_file(p, kind);
    }
    match &row.key {
        RowKey::File { .. }
        | RowKey::FileProcess { .. }
        | RowKey::FileContainer { .. }
        | RowKey::ContainerFile { .. } => describe_file(b"", MapKind::Anon),
        RowKey::Process(p) => {
            let mut label = format!("{} ", p.pid).into_bytes();
            label.extend_from_slice(&p.comm);
            let name = if p.command.is_empty() {
                Cow::Owned(label.clone())
            } else {
                Cow::Borrowed(p.command.as_slice())
            };
            (
                Cow::Owned(label),
                name,
                Some(Cow::Borrowed(p.user.as_bytes())),
            )
        }
        RowKey::User { name, .. } => (
            Cow::Borrowed(name.as_bytes()),
            Cow::Borrowed(name.as_bytes()),
            None,
        ),
        RowKey::Command(c) => (Cow::Borrowed(c), Cow::Borrowed(c), None),
        RowKey::Kind(k) => {
            let k = k.as_str().as_bytes();
            (Cow::Borrowed(k), Cow::Borrowed(k), Some(Cow::Borrowed(k)))
        }
        RowKey::Cgroup { cgroup, .. } | RowKey::Unit { cgroup, .. } => {
            let path: &[u8] = cgroup.as_ref().map_or(b"-", |c| &c.path);
            let label = if matches!(row.key, RowKey::Unit { .. }) {
                crate::parse::unit_of(path).unwrap_or(b"-")
            } else {
                path
            };
            (Cow::Borrowed(label), Cow::Borrowed(path), None)
        }
        RowKey::Container { container: c, .. } => match c {
            Some(c) => {
                let mut name = format!("{} ", c.runtime.as_str()).into_bytes();
                name.extend_from_slice(&c.id);
                let short = c.id[..c.id.len().min(12)].to_vec();
                (
                    Cow::Owned(short),
                    Cow::Owned(name),
                    Some(Cow::Borrowed(c.runtime.as_str().as_bytes())),
                )
            }
            None => (Cow::Borrowed(b"host"), Cow::Borrowed(b"-"), None),
        },
        RowKey::Total => (Cow::Borrowed(b"TOTAL"), Cow::Borrowed(b"TOTAL"), None),
    }
}

/// A file's box: its base name, its path, coloured by its kind (the row's, as stored).
fn describe_file(p: &[u8], kind: MapKind) -> (Bytes<'_>, Bytes<'_>, Option<Bytes<'_>>) {
    let shown: &[u8] = if p.is_empty() { b"[anon]" } else { p };
    // A path's last component tells most in a small box.
    let base = match shown.iter().rposition(|&b| b == b'/') {
        Some(i) if shown.starts_with(b"/") && i + 1 < shown.len() => &shown[i + 1..],
        _ => shown,
    };
    let kind = kind.as_str().as_bytes();
    (
        Cow::Borrowed(base),
        Cow::Borrowed(shown),
        Some(Cow::Borrowed(kind)),
    )
}

impl<'a> ReportView<'a> {
    /// The view as a treemap sized by `metric` (see [`chart_metric`]); `coverage` is the
    /// coverage line.
    pub fn chart(&self, metric: Column, coverage: String) -> Chart<'a> {
        let report = self.report;
        let total: u64 = report.rows.iter().map(|r| value(metric, r)).sum();
        let mut rows: Vec<&'a Row> = self.rows.iter().map(|r| r.row).collect();
        rows.sort_by_key(|r| std::cmp::Reverse(value(metric, r)));
        let by_kind = matches!(
            report.meta.group_by,
            GroupBy::File | GroupBy::FileProcess | GroupBy::Kind
        );
        let mut legend: Vec<LegendEntry<'a>> = Vec::new();
        let mut boxes = Vec::new();
        for row in rows {
            let v = value(metric, row);
            let share = u128::from(v) * 10_000 / u128::from(total.max(1));
            if boxes.len() >= MAX_BOXES || v == 0 || share < MIN_SHARE {
                break;
            }
            let (label, name, class) = describe(row);
            let class = class.map(|c| {
                if let Some(i) = legend.iter().position(|e| e.name == c) {
                    return i;
                }
                let colour = if by_kind {
                    MapKind::ALL
                        .iter()
                        .position(|k| k.as_str().as_bytes() == c.as_ref())
                        .unwrap_or(0)
                } else {
                    legend.len()
                };
                legend.push(LegendEntry { colour, name: c });
                legend.len() - 1
            });
            boxes.push(ChartBox {
                label,
                name,
                bytes: v,
                class,
            });
        }
        let shown: u64 = boxes.iter().map(|b| b.bytes).sum();
        let folded = self.total_rows.saturating_sub(boxes.len());
        if total > shown {
            let label: Cow<'a, [u8]> = Cow::Owned(format!("other ({folded} rows)").into_bytes());
            boxes.push(ChartBox {
                name: label.clone(),
                label,
                bytes: total - shown,
                class: None,
            });
        }
        let m = &report.meta;
        let host = m.host.as_deref().unwrap_or("unknown host");
        Chart {
            title: format!("{} by {}", metric.header(), m.group_by.as_str()),
            facts: vec![format!("{host}, {}", utc_timestamp(m.time)), coverage],
            metric: metric.header(),
            total,
            boxes,
            folded,
            legend_title: match m.group_by {
                _ if by_kind => Some("kind"),
                GroupBy::Process => Some("user"),
                _ => None,
            },
            legend,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metric_is_the_sort_column_when_it_is_bytes() {
        assert_eq!(chart_metric(Column::Pss), Column::Pss);
        assert_eq!(chart_metric(Column::Rss), Column::Rss);
        assert_eq!(chart_metric(Column::SwapPssPct), Column::SwapPss);
        assert_eq!(chart_metric(Column::Path), Column::Pss);
        assert_eq!(chart_metric(Column::Processes), Column::Pss);
    }
}
