//! CSV for spreadsheets, over any view's [`Sheet`]: one header row of stable column names
//! (`_bytes` on byte columns), integer bytes, RFC 4180 quoting, the rows in the view's
//! order, no totals, comment or summary lines; percentages with two decimals (`12.34`), signed
//! changes as plain integers (`-4096`). Text cells are always valid UTF-8 (other bytes
//! escaped) and never start like a formula.

use crate::text::escape::{display, formula_safe};
use crate::view::{Cell, Role, Sheet};

fn cell(c: &Cell<'_>) -> String {
    match c {
        Cell::Empty
        | Cell::Unknown
        | Cell::Bytes(None)
        | Cell::Percent(None)
        | Cell::Signed(None)
        | Cell::Relative(None)
        | Cell::Rate(None) => String::new(),
        Cell::Text(t) => formula_safe(display(t)).into_owned(),
        // pmaps' own notation (`---p` included) is data, not something a process wrote.
        Cell::Code(s) => s.to_string(),
        Cell::Hex(n) => format!("{n:08x}"),
        Cell::Id(n) | Cell::Count(n) | Cell::Bytes(Some(n)) => n.to_string(),
        // Fixed precision: hundredths, always two decimals.
        Cell::Percent(Some(p)) => {
            let h = p.hundredths();
            format!("{}.{:02}", h / 100, h % 100)
        }
        Cell::Signed(Some(n)) => n.to_string(),
        Cell::Rate(Some(n)) => n.to_string(),
        Cell::Relative(Some(h)) => relative(*h),
    }
}

/// Hundredths of a percent as a plain decimal: `1250` is `12.50`, `-5` is `-0.05`.
fn relative(h: i64) -> String {
    let sign = if h < 0 { "-" } else { "" };
    let a = h.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// The CSV document: the sheet's data rows, every column.
pub fn render(sheet: &Sheet<'_>) -> anyhow::Result<Vec<u8>> {
    render_rows(sheet, true)
}

/// The sheet's data rows, after the header row when `header` (a stream of records, such as
/// `pmaps watch` writes, has the header once).
pub fn render_rows(sheet: &Sheet<'_>, header: bool) -> anyhow::Result<Vec<u8>> {
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let kept = |i: &usize| sheet.columns[*i].in_csv;
    let shown: Vec<usize> = (0..sheet.columns.len()).filter(kept).collect();
    if header {
        w.write_record(shown.iter().map(|&i| sheet.columns[i].csv_name()))?;
    }
    for line in sheet.sections.iter().flat_map(|s| &s.lines) {
        if let Role::Data { .. } = line.role {
            w.write_record(shown.iter().map(|&i| cell(&line.cells[i])))?;
        }
    }
    w.into_inner()
        .map_err(|e| anyhow::anyhow!("csv: {}", e.error()))
}
