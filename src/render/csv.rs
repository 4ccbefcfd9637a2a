//! CSV for spreadsheets, over any view's [`Sheet`]: one header row of stable column names
//! (`_bytes` on byte columns), integer bytes, RFC 4180 quoting, the rows in the view's
//! order, no totals, comment or summary lines; percentages with two decimals (`12.34`). Text cells are always valid UTF-8 (other
//! bytes escaped) and never start like a formula.

use crate::text::escape::{display, formula_safe};
use crate::view::{Cell, Role, Sheet};

fn cell(c: &Cell<'_>) -> String {
    match c {
        Cell::Empty | Cell::Unknown | Cell::Bytes(None) => String::new(),
        Cell::Text(t) => formula_safe(display(t)).into_owned(),
        // pmaps' own notation (`---p` included) is data, not something a process wrote.
        Cell::Code(s) => s.to_string(),
        Cell::Hex(n) => format!("{n:08x}"),
        Cell::Id(n) | Cell::Count(n) | Cell::Bytes(Some(n)) => n.to_string(),
        Cell::Percent(None) => String::new(),
        // Fixed precision: hundredths, always two decimals.
        Cell::Percent(Some(p)) => {
            let h = p.hundredths();
            format!("{}.{:02}", h / 100, h % 100)
        }
    }
}

/// The CSV document: the sheet's data rows, every column.
pub fn render(sheet: &Sheet<'_>) -> anyhow::Result<Vec<u8>> {
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let kept = |i: &usize| sheet.columns[*i].in_csv;
    let shown: Vec<usize> = (0..sheet.columns.len()).filter(kept).collect();
    w.write_record(shown.iter().map(|&i| sheet.columns[i].csv_name()))?;
    for line in sheet.sections.iter().flat_map(|s| &s.lines) {
        if let Role::Data { .. } = line.role {
            w.write_record(shown.iter().map(|&i| cell(&line.cells[i])))?;
        }
    }
    w.into_inner()
        .map_err(|e| anyhow::anyhow!("csv: {}", e.error()))
}
