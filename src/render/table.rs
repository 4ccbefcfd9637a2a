//! The human format: aligned columns in human units and percentages with one decimal
//! ([`super::units`]), names escaped (never raw control bytes), over any view's [`Sheet`].
//!
//! On a terminal the table fits it ([`super::fit`]): paths are shortened from the middle and
//! command lines from the end, then the least important columns are left out until a row
//! fits the width; a report keeps the whole rows that fit the height, counted in screen
//! lines (header, totals, the coverage line and the prompt included), and says how many
//! more there are. Off a terminal nothing is cut but what a column caps (a command line at
//! 80 characters).

use comfy_table::{CellAlignment, ContentLineStyle, LineStyle, Table, TableStyle};

use super::fit::{self, ColumnFit, GAP};
use super::names;
use super::units::{format_bytes, format_percent, header_unit};
use crate::text::escape::display;
use crate::text::{plural, thousands};
use crate::view::{Cell, ColumnSpec, Elide, Line, Role, Sheet, Terminal, UnitRule};

/// The full text of a cell (off a terminal, cut to the column's cap).
fn cell_text(spec: &ColumnSpec, cell: &Cell<'_>, unit: UnitRule, on_terminal: bool) -> String {
    match cell {
        Cell::Empty => String::new(),
        Cell::Text(t) => {
            // A name of megabytes (a hostile proc root) is cut in the middle to a bounded
            // length before anything else looks at it: the table's cost stays linear.
            let shown: std::borrow::Cow<'_, str> = match spec.empty_text {
                Some(empty) if t.is_empty() => empty.into(),
                _ if t.len() > names::NAME_MAX_CHARS => names::cut(t, None, None).into(),
                _ => display(t),
            };
            match (spec.elide, spec.max_width) {
                (Some(how), Some(max)) if !on_terminal => fit::shorten(&shown, max, how),
                _ => shown.into_owned(),
            }
        }
        Cell::Code(s) => s.to_string(),
        Cell::Hex(n) => format!("{n:08x}"),
        // A PID or inode is a name to copy into `kill` or `pmaps show`, not a quantity.
        Cell::Id(n) => n.to_string(),
        Cell::Count(n) => thousands(*n),
        Cell::Unknown => "-".to_string(),
        Cell::Bytes(v) => format_bytes(*v, unit),
        Cell::Percent(p) => format_percent(*p),
    }
}

/// A cell's full text, and whether a narrow terminal may shorten it (names may be; pmaps'
/// own words, "... 3 more processes", are not).
struct Txt {
    s: String,
    shortenable: bool,
}

/// The texts of one line, one per column (empty for the columns a child leaves to the
/// line above it).
fn line_texts(sheet: &Sheet<'_>, line: &Line<'_>, on_terminal: bool) -> Vec<Txt> {
    let blank = match line.role {
        Role::Data { blank } => blank,
        Role::TableOnly => 0,
    };
    let mut in_table = 0;
    sheet
        .columns
        .iter()
        .zip(&line.cells)
        .map(|(spec, cell)| {
            if spec.in_table {
                in_table += 1;
                if in_table <= blank {
                    return Txt {
                        s: String::new(),
                        shortenable: true,
                    };
                }
            }
            Txt {
                s: cell_text(spec, cell, sheet.unit, on_terminal),
                shortenable: matches!(cell, Cell::Text(_)) || spec.elide == Some(Elide::Range),
            }
        })
        .collect()
}

fn headers(sheet: &Sheet<'_>) -> Vec<String> {
    sheet
        .columns
        .iter()
        .map(|c| match header_unit(sheet.unit) {
            Some(unit) if c.bytes => format!("{} {unit}", c.header),
            _ => c.header.to_string(),
        })
        .collect()
}

/// Every line's texts, by section.
type Texts = Vec<Vec<Vec<Txt>>>;

/// The lines of each section that are shown when `rows` report rows are kept.
fn kept_lines(sheet: &Sheet<'_>, texts: &Texts, rows: usize) -> Vec<Vec<usize>> {
    texts
        .iter()
        .enumerate()
        .map(|(s, lines)| {
            let all: Vec<usize> = (0..lines.len()).collect();
            match &sheet.rows {
                Some(cut) if s == 0 => {
                    let shown: usize = cut.lines[..rows].iter().sum();
                    let rows_end: usize = cut.lines.iter().sum();
                    all.into_iter()
                        .filter(|&i| i < shown || i >= rows_end)
                        .collect()
                }
                _ => all,
            }
        })
        .collect()
}

/// The layout of the kept lines: which columns, how wide.
struct Layout {
    fit: ColumnFit,
    /// Per column index: its width on screen.
    widths: Vec<usize>,
}

impl Layout {
    fn new(
        sheet: &Sheet<'_>,
        headers: &[String],
        texts: &Texts,
        kept: &[Vec<usize>],
        term: Option<Terminal>,
    ) -> Layout {
        let candidates: Vec<usize> = (0..sheet.columns.len())
            .filter(|&i| sheet.columns[i].in_table)
            .collect();
        let cells = |c: usize| {
            kept.iter()
                .enumerate()
                .flat_map(move |(s, lines)| lines.iter().map(move |&l| &texts[s][l][c]))
        };
        // A shortened text is at most `max` wide; one that is never shortened, whole.
        let natural = |max: &[Option<usize>]| -> Vec<usize> {
            (0..sheet.columns.len())
                .map(|c| {
                    let how = sheet.columns[c].elide.unwrap_or(Elide::KeepStart);
                    let cap = |t: &Txt| match max[c] {
                        Some(m) if t.shortenable => fit::width(&fit::shorten(&t.s, m, how)),
                        _ => fit::width(&t.s),
                    };
                    cells(c)
                        .map(cap)
                        .chain(std::iter::once(fit::width(&headers[c])))
                        .max()
                        .unwrap_or(0)
                })
                .collect()
        };
        let whole = vec![None; sheet.columns.len()];
        // A column is never shortened below its widest text that cannot be.
        let mut specs = sheet.columns.clone();
        for (c, spec) in specs.iter_mut().enumerate() {
            let fixed = cells(c)
                .filter(|t| !t.shortenable)
                .map(|t| fit::width(&t.s));
            spec.min_width = fixed.fold(spec.min_width, usize::max);
        }
        let fit = match term {
            // The rule under the header runs one column past the widest line.
            Some(t) => fit::fit_columns(&specs, &natural(&whole), &candidates, t.cols - 1),
            None => ColumnFit {
                shown: candidates,
                max: whole,
            },
        };
        let widths = natural(&fit.max);
        Layout { fit, widths }
    }

    /// A cell's text as shown.
    fn text(&self, spec: &ColumnSpec, c: usize, full: &Txt) -> String {
        match (self.fit.max[c], spec.elide) {
            (Some(max), Some(how)) if full.shortenable => fit::shorten(&full.s, max, how),
            _ => full.s.clone(),
        }
    }

    /// Columns a line takes on screen (its trailing blanks trimmed).
    fn line_width(&self, sheet: &Sheet<'_>, texts: &[Txt]) -> usize {
        let mut x = 0;
        let mut end = 0;
        for &c in &self.fit.shown {
            let w = fit::width(&self.text(&sheet.columns[c], c, &texts[c]));
            if w > 0 {
                let right = !sheet.columns[c].left;
                end = x + if right { self.widths[c] } else { w };
            }
            x += self.widths[c] + GAP;
        }
        end
    }

    /// Columns the rule under the header takes: the widest line and one more.
    fn table_width(&self) -> usize {
        let n = self.fit.shown.len();
        self.fit
            .shown
            .iter()
            .map(|&c| self.widths[c])
            .sum::<usize>()
            + GAP * n.saturating_sub(1)
            + 1
    }
}

/// The report rows a screen of `term` shows: whole rows, counted in screen lines, with the
/// header, the lines after the rows (totals), the footer and the shell's prompt.
fn rows_on_screen(
    sheet: &Sheet<'_>,
    texts: &Texts,
    layout: &Layout,
    term: Terminal,
    footer: &[String],
) -> usize {
    let Some(cut) = &sheet.rows else {
        return 0;
    };
    let lines = &texts[0];
    let height = |l: usize| fit::height(layout.line_width(sheet, &lines[l]), term.cols);
    let rows_end: usize = cut.lines.iter().sum();
    // The header and its rule, and the shell's prompt after the output.
    let mut fixed = 2 * fit::height(layout.table_width(), term.cols) + 1;
    fixed += (rows_end..lines.len()).map(height).sum::<usize>();
    fixed += footer
        .iter()
        .map(|f| fit::height(fit::width(f), term.cols))
        .sum::<usize>();
    let mut start = 0;
    let heights: Vec<usize> = cut
        .lines
        .iter()
        .map(|&n| {
            let h = (start..start + n).map(height).sum();
            start += n;
            h
        })
        .collect();
    let more = fit::height(fit::width(&more_rows(cut.total)), term.cols);
    fit::rows_that_fit(&heights, term.rows.saturating_sub(fixed), more)
}

/// The line that says how many rows were left out.
fn more_rows(n: usize) -> String {
    let more = plural(n as u64, "more row", "more rows");
    format!("... {more} (-n 0 shows all)")
}

/// The lines `text` (one line) takes on a terminal `cols` wide.
pub fn screen_lines(text: &str, cols: usize) -> usize {
    fit::height(fit::width(text), cols)
}

fn style() -> TableStyle {
    TableStyle::new()
        .header_separator(LineStyle::none().fill('-').junction(' '))
        .header_lines(ContentLineStyle::none().junction(' '))
        .content_lines(ContentLineStyle::none().junction(' '))
}

/// Renders the sheet: each section's title, its table (or its note), then how many rows
/// were left out and the footer. `term`: the terminal it is shown on, which it fits.
pub fn render(sheet: &Sheet<'_>, term: Option<Terminal>) -> String {
    let headers = headers(sheet);
    let texts: Texts = sheet
        .sections
        .iter()
        .map(|s| {
            s.lines
                .iter()
                .map(|l| line_texts(sheet, l, term.is_some()))
                .collect()
        })
        .collect();
    let all_rows = sheet.rows.as_ref().map_or(0, |c| c.lines.len());
    let mut rows = all_rows;
    let mut kept = kept_lines(sheet, &texts, rows);
    let mut layout = Layout::new(sheet, &headers, &texts, &kept, term);
    if let (Some(t), Some(cut)) = (term, &sheet.rows)
        && cut.fit_height
    {
        let footer: Vec<String> = sheet.footer.clone();
        rows = rows_on_screen(sheet, &texts, &layout, t, &footer);
        kept = kept_lines(sheet, &texts, rows);
        layout = Layout::new(sheet, &headers, &texts, &kept, term);
        // Too narrow for even the essential columns: lines wrap, so count them again
        // (fewer rows are never wider).
        if layout.table_width() > t.cols {
            rows = rows_on_screen(sheet, &texts, &layout, t, &footer).min(rows);
            kept = kept_lines(sheet, &texts, rows);
            layout = Layout::new(sheet, &headers, &texts, &kept, term);
        }
    }
    let mut out = String::new();
    for (n, section) in sheet.sections.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        if let Some(title) = &section.title {
            match term {
                Some(t) => out.push_str(&fit::shorten(title, t.cols, Elide::Middle)),
                None => out.push_str(title),
            }
            out.push('\n');
        }
        if let Some(note) = &section.note {
            out.push_str(note);
            out.push('\n');
            continue;
        }
        let shown = &layout.fit.shown;
        let mut table = Table::new();
        table.load_style(style());
        table.set_header(shown.iter().map(|&c| headers[c].clone()));
        for &l in &kept[n] {
            let line = &texts[n][l];
            table.add_row(
                shown
                    .iter()
                    .map(|&c| layout.text(&sheet.columns[c], c, &line[c])),
            );
        }
        for (k, &c) in shown.iter().enumerate() {
            if let Some(col) = table.column_mut(k) {
                col.set_padding((0, 1));
                if !sheet.columns[c].left {
                    col.set_cell_alignment(CellAlignment::Right);
                }
            }
        }
        for l in table.lines() {
            out.push_str(l.trim_end());
            out.push('\n');
        }
    }
    if let Some(cut) = &sheet.rows
        && rows < cut.total
    {
        out.push_str(&more_rows(cut.total - rows));
        out.push('\n');
    }
    for line in &sheet.footer {
        out.push_str(line);
        out.push('\n');
    }
    out
}
