//! CSV for spreadsheets: one header row of stable column names (`_bytes` on byte columns),
//! integer bytes, RFC 4180 quoting, deterministic row order, no comment or summary lines.
//! Text cells are always valid UTF-8 (other bytes escaped) and never start like a formula.

use super::escape::{display, formula_safe};
use crate::Report;
use crate::aggregate::Row;
use crate::columns::{Cell, Column};
use crate::config::GroupBy;

fn cell(col: Column, row: &Row) -> String {
    match col.cell(row) {
        Cell::Empty | Cell::Unknown | Cell::Bytes(None) => String::new(),
        Cell::Text(t) => formula_safe(display(t)).into_owned(),
        Cell::Count(n) | Cell::Bytes(Some(n)) => n.to_string(),
    }
}

/// The CSV document. With `--group-by file,process`, one flat row per (file, process).
pub fn render(report: &Report) -> anyhow::Result<Vec<u8>> {
    let cols = Column::for_view(report.meta.group_by);
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(cols.iter().map(|c| c.csv_name()))?;
    for row in &report.rows.rows {
        let rows: Box<dyn Iterator<Item = &Row>> = if report.meta.group_by == GroupBy::FileProcess {
            Box::new(row.children.iter())
        } else {
            Box::new(std::iter::once(row))
        };
        for r in rows {
            w.write_record(cols.iter().map(|c| cell(*c, r)))?;
        }
    }
    w.into_inner()
        .map_err(|e| anyhow::anyhow!("csv: {}", e.error()))
}
