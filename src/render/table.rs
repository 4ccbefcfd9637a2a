//! The human format: aligned columns in human units, names escaped (never raw control
//! bytes) and shortened to what a screen can show, over any view's [`Sheet`].
//!
//! Units: by default one unit for every byte column of the table (so rows compare at a
//! glance), chosen by the largest value; `show` uses KiB, as the kernel counts and as
//! `pmap -x` prints.

use comfy_table::{CellAlignment, ContentLineStyle, LineStyle, Table, TableStyle};

use crate::text::escape::display;
use crate::text::{format_rate, thousands};
use crate::view::{Cell, ColumnSpec, Elide, Role, Sheet, Terminal, UnitRule};

/// A byte unit: divisor, name, decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    pub divisor: u64,
    pub name: &'static str,
    pub decimals: usize,
}

const KIB: u64 = 1024;

/// The one unit of a table: the largest value decides, so that it shows with at most 5
/// digits before the point.
pub fn unit_for(max: u64) -> Unit {
    let (divisor, name) = if max < 10 * KIB.pow(2) {
        (KIB, "KiB")
    } else if max < 10 * KIB.pow(3) {
        (KIB.pow(2), "MiB")
    } else if max < 10 * KIB.pow(4) {
        (KIB.pow(3), "GiB")
    } else {
        (KIB.pow(4), "TiB")
    };
    Unit {
        divisor,
        name,
        decimals: if divisor == KIB { 0 } else { 1 },
    }
}

/// A byte value in `unit`: `0` for zero, `<0.1` for a value too small to show, `-` unknown.
pub fn format_bytes(v: Option<u64>, unit: Unit) -> String {
    let Some(v) = v else {
        return "-".to_string();
    };
    if v == 0 {
        return "0".to_string();
    }
    let scaled = v as f64 / unit.divisor as f64;
    let smallest = 0.5 / 10f64.powi(unit.decimals as i32);
    if scaled < smallest {
        return if unit.decimals == 0 {
            "<1".into()
        } else {
            "<0.1".into()
        };
    }
    let s = format!("{scaled:.*}", unit.decimals);
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let int = thousands(int.parse().unwrap_or(0));
    if frac.is_empty() {
        int
    } else {
        format!("{int}.{frac}")
    }
}

/// A signed change, its magnitude written by `abs`: `+1.2`, `-3`, `0`; `-` unknown.
fn signed(v: Option<i128>, abs: impl Fn(u64) -> String) -> String {
    match v {
        None => "-".to_string(),
        Some(0) => "0".to_string(),
        Some(v) => {
            let sign = if v < 0 { '-' } else { '+' };
            format!(
                "{sign}{}",
                abs(u64::try_from(v.unsigned_abs()).unwrap_or(u64::MAX))
            )
        }
    }
}

/// A signed change in `unit`: `+1.2`, `-0.5`, `0`, `+<0.1`; `-` unknown.
pub fn format_signed_bytes(v: Option<i128>, unit: Unit) -> String {
    signed(v, |a| format_bytes(Some(a), unit))
}

/// Hundredths of a percent as `+12.5%`, `-100.0%`; `-` when there is none.
fn format_percent(h: Option<i64>) -> String {
    match h {
        None => "-".to_string(),
        Some(0) => "0%".to_string(),
        Some(h) => {
            let sign = if h < 0 { '-' } else { '+' };
            let tenths = h.unsigned_abs().saturating_add(5) / 10;
            if tenths == 0 {
                return format!("{sign}<0.1%");
            }
            format!("{sign}{}.{}%", thousands(tenths / 10), tenths % 10)
        }
    }
}

fn shorten(s: &str, max: usize, keep_end: bool) -> String {
    let n = s.chars().count();
    if n <= max || max < 8 {
        return s.to_string();
    }
    if keep_end {
        let tail: String = s.chars().skip(n - (max - 3)).collect();
        format!("...{tail}")
    } else {
        let head: String = s.chars().take(max - 3).collect();
        format!("{head}...")
    }
}

fn text_cell(spec: &ColumnSpec, raw: &[u8], term: Option<Terminal>) -> String {
    let shown = match spec.empty_text {
        Some(empty) if raw.is_empty() => empty.into(),
        _ => display(raw),
    };
    let max = match term {
        Some(t) if spec.elide.is_some() => Some((t.cols / 2).max(30)),
        Some(_) => None,
        None => spec.max_width,
    };
    match max {
        Some(max) => shorten(&shown, max, spec.elide == Some(Elide::KeepEnd)),
        None => shown.into_owned(),
    }
}

fn cell_text(spec: &ColumnSpec, cell: &Cell<'_>, unit: Unit, term: Option<Terminal>) -> String {
    match cell {
        Cell::Empty => String::new(),
        Cell::Text(t) => text_cell(spec, t, term),
        Cell::Code(s) => s.to_string(),
        Cell::Hex(n) => format!("{n:08x}"),
        // A PID or inode is a name to copy into `kill` or `pmaps show`, not a quantity.
        Cell::Id(n) => n.to_string(),
        Cell::Count(n) => thousands(*n),
        Cell::Unknown => "-".to_string(),
        Cell::Bytes(v) => format_bytes(*v, unit),
        Cell::Signed(v) if spec.bytes => format_signed_bytes(*v, unit),
        Cell::Signed(v) => signed(*v, thousands),
        Cell::Percent(h) => format_percent(*h),
        Cell::Rate(r) => r.map_or_else(|| "-".to_string(), format_rate),
    }
}

fn style() -> TableStyle {
    TableStyle::new()
        .header_separator(LineStyle::none().fill('-').junction(' '))
        .header_lines(ContentLineStyle::none().junction(' '))
        .content_lines(ContentLineStyle::none().junction(' '))
}

/// Renders the sheet: each section's title, its table (or its note), then the footer.
/// `term`: the terminal it is shown on (names are shortened to fit it).
pub fn render(sheet: &Sheet<'_>, term: Option<Terminal>) -> String {
    let shown: Vec<usize> = (0..sheet.columns.len())
        .filter(|&i| sheet.columns[i].in_table)
        .collect();
    let unit = match sheet.unit {
        UnitRule::Kib => unit_for(0),
        UnitRule::PerTable => {
            let max = sheet
                .sections
                .iter()
                .flat_map(|s| &s.lines)
                .flat_map(|l| l.cells.iter().zip(&sheet.columns))
                .filter(|(_, spec)| spec.bytes)
                .map(|(c, _)| match c {
                    Cell::Bytes(Some(v)) => *v,
                    Cell::Signed(Some(v)) => u64::try_from(v.unsigned_abs()).unwrap_or(u64::MAX),
                    _ => 0,
                })
                .max()
                .unwrap_or(0);
            unit_for(max)
        }
    };
    let mut out = String::new();
    for (n, section) in sheet.sections.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        if let Some(title) = &section.title {
            out.push_str(title);
            out.push('\n');
        }
        if let Some(note) = &section.note {
            out.push_str(note);
            out.push('\n');
            continue;
        }
        let mut table = Table::new();
        table.load_style(style());
        table.set_header(shown.iter().map(|&i| {
            let c = &sheet.columns[i];
            if c.bytes {
                format!("{} {}", c.header, unit.name)
            } else {
                c.header.to_string()
            }
        }));
        for line in &section.lines {
            let blank = match line.role {
                Role::Data { blank } => blank,
                Role::TableOnly => 0,
            };
            table.add_row(shown.iter().enumerate().map(|(k, &i)| {
                if k < blank {
                    String::new()
                } else {
                    cell_text(&sheet.columns[i], &line.cells[i], unit, term)
                }
            }));
        }
        for (k, &i) in shown.iter().enumerate() {
            if let Some(col) = table.column_mut(k) {
                col.set_padding((0, 1));
                if !sheet.columns[i].left {
                    col.set_cell_alignment(CellAlignment::Right);
                }
            }
        }
        for l in table.lines() {
            out.push_str(l.trim_end());
            out.push('\n');
        }
    }
    for line in &sheet.footer {
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_unit_rule() {
        assert_eq!(unit_for(4096).name, "KiB");
        assert_eq!(unit_for(765 * KIB * KIB).name, "MiB");
        assert_eq!(unit_for(8 * KIB.pow(3)).name, "MiB");
        assert_eq!(unit_for(80 * KIB.pow(3)).name, "GiB");
        let mib = unit_for(765 * KIB * KIB);
        assert_eq!(format_bytes(Some(2_202_010), mib), "2.1");
        assert_eq!(format_bytes(Some(4096), mib), "<0.1");
        assert_eq!(format_bytes(Some(0), mib), "0");
        assert_eq!(format_bytes(None, mib), "-");
        assert_eq!(format_bytes(Some(7_000 * KIB * KIB), mib), "7,000.0");
        assert_eq!(format_bytes(Some(12 * KIB), unit_for(0)), "12");
    }

    #[test]
    fn signed_changes_percentages_and_rates() {
        let mib = unit_for(765 * KIB * KIB);
        assert_eq!(format_signed_bytes(Some(2_202_010), mib), "+2.1");
        assert_eq!(format_signed_bytes(Some(-2_202_010), mib), "-2.1");
        assert_eq!(format_signed_bytes(Some(4096), mib), "+<0.1");
        assert_eq!(format_signed_bytes(Some(0), mib), "0");
        assert_eq!(format_signed_bytes(None, mib), "-");
        assert_eq!(
            format_signed_bytes(Some(-i128::from(u64::MAX)), mib)
                .chars()
                .next(),
            Some('-')
        );
        assert_eq!(signed(Some(-1024), thousands), "-1,024");
        assert_eq!(format_percent(Some(1250)), "+12.5%");
        assert_eq!(format_percent(Some(-10_000)), "-100.0%");
        assert_eq!(format_percent(Some(4)), "+<0.1%");
        assert_eq!(format_percent(Some(-9961)), "-99.6%");
        assert_eq!(format_percent(None), "-");
    }
}
