//! The report's view: the columns of each group-by, one definition for every format, the
//! columns chosen and ordered by `--columns` (percentages of RAM and swap among them), the
//! order and cut of the rows (`--sort`, `--reverse`, `--top`), and the rows laid out as a
//! sheet ([`sheet`]: on a terminal, the whole rows that fit the screen).

mod column;
mod sheet;

pub use column::Column;

use crate::model::{Basis, Report, Row};
use crate::view::Cell;

/// How the rows are ordered and cut, and which columns they show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewOptions {
    pub sort: Column,
    pub reverse: bool,
    /// Rows to show; `None`: all (or, on a terminal, what fits); `-n 0` is `usize::MAX`.
    pub top: Option<usize>,
    /// The columns, in order (`--columns`); `None`: the group-by's own.
    pub columns: Option<Vec<Column>>,
    /// What percentage columns are of.
    pub basis: Basis,
}

impl Default for ViewOptions {
    fn default() -> Self {
        ViewOptions {
            sort: Column::Pss,
            reverse: false,
            top: None,
            columns: None,
            basis: Basis::default(),
        }
    }
}

/// One row of the view, with its children (`file,process`) in view order.
#[derive(Debug, Clone)]
pub struct ViewRow<'a> {
    pub row: &'a Row,
    pub children: Vec<&'a Row>,
}

/// A report as a reader is shown it: its columns, its rows sorted and cut.
#[derive(Debug, Clone)]
pub struct ReportView<'a> {
    pub report: &'a Report,
    pub columns: Vec<Column>,
    pub rows: Vec<ViewRow<'a>>,
    /// Rows before `--top` cut them.
    pub total_rows: usize,
    /// What percentage columns are of.
    pub basis: Basis,
    /// The column the rows are sorted by (a narrow terminal keeps it).
    pub sort: Column,
    /// Whether `--columns` chose the columns (a narrow terminal keeps every one).
    pub chosen: bool,
}

impl<'a> ReportView<'a> {
    pub fn new(report: &'a Report, opts: &ViewOptions) -> ReportView<'a> {
        let mut rows: Vec<&Row> = report.rows.iter().collect();
        sort_rows(&mut rows, opts.sort, opts.reverse);
        let total_rows = rows.len();
        let top = opts.top.unwrap_or(usize::MAX);
        rows.truncate(top);
        let rows = rows
            .into_iter()
            .map(|row| {
                let mut children: Vec<&Row> = row.children.iter().collect();
                sort_rows(&mut children, opts.sort, opts.reverse);
                // With a nested group-by (file,process, process,file…), N also caps the
                // rows listed under each row (a file's `processes` still counts them all).
                children.truncate(top);
                ViewRow { row, children }
            })
            .collect();
        ReportView {
            report,
            columns: opts
                .columns
                .clone()
                .unwrap_or_else(|| Column::for_view(report.meta.group_by)),
            rows,
            total_rows,
            basis: opts.basis,
            sort: opts.sort,
            chosen: opts.columns.is_some(),
        }
    }

    /// Whether any column is a percentage (the JSON meta then says what of).
    pub fn has_percentages(&self) -> bool {
        self.columns.iter().any(|c| c.percent_of().is_some())
    }

    /// The row's cells, one per column.
    pub fn cells<'r>(&self, row: &'r Row) -> Vec<Cell<'r>> {
        self.columns
            .iter()
            .map(|c| c.cell_in(row, &self.basis))
            .collect()
    }
}

/// A total order on cells: unknown bytes sort below every known value.
fn cell_key<'c>(c: &'c Cell<'_>) -> (u8, u64, &'c [u8]) {
    match c {
        Cell::Empty | Cell::Unknown => (0, 0, b""),
        Cell::Bytes(None) => (1, 0, b""),
        Cell::Bytes(Some(v)) | Cell::Count(v) | Cell::Id(v) | Cell::Hex(v) => (2, *v, b""),
        Cell::Percent(None) => (1, 0, b""),
        Cell::Percent(Some(p)) => (2, p.hundredths(), b""),
        Cell::Text(t) => (2, 0, t),
        Cell::Code(t) => (2, 0, t.as_bytes()),
    }
}

/// Sorts by `col` (numbers largest first, text A→Z; `reverse` flips; a percentage as the
/// bytes it is a share of), then by the row's key columns so that the order is the same on
/// every run.
pub fn sort_rows(rows: &mut [&Row], col: Column, reverse: bool) {
    let col = col.percent_of().map_or(col, |(of, _)| of);
    let tie = [
        Column::Path,
        Column::Device,
        Column::Inode,
        Column::Pid,
        Column::StartTime,
        Column::User,
        Column::Command,
        Column::Kind,
        Column::Cgroup,
        Column::Unit,
        Column::Runtime,
        Column::Container,
    ];
    rows.sort_by(|a, b| {
        let primary = cell_key(&col.cell(a)).cmp(&cell_key(&col.cell(b)));
        let primary = if col.is_text() {
            primary
        } else {
            primary.reverse()
        };
        let primary = if reverse { primary.reverse() } else { primary };
        primary.then_with(|| {
            tie.iter()
                .map(|t| cell_key(&t.cell(a)).cmp(&cell_key(&t.cell(b))))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_csv_names_carry_units() {
        for c in Column::ALL {
            assert_eq!(Column::parse(c.name()), Some(c));
            assert_eq!(Column::parse(&c.csv_name()), Some(c));
        }
        assert_eq!(Column::Pss.csv_name(), "pss_bytes");
        assert_eq!(Column::Processes.csv_name(), "processes");
        assert_eq!(Column::parse("nope"), None);
    }
}
