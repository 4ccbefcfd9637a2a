//! The human format: aligned columns in human units, names escaped (never raw control
//! bytes) and shortened to what a screen can show, over any view's [`Sheet`].
//!
//! Units: by default one unit for every byte column of the table (so rows compare at a
//! glance), chosen by the largest value; `show` uses KiB, as the kernel counts and as
//! `pmap -x` prints.

use comfy_table::{CellAlignment, ContentLineStyle, LineStyle, Table, TableStyle};

use crate::text::escape::display;
use crate::text::thousands;
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

/// The most characters a name takes in a table that is not fitted to a terminal: twice
/// PATH_MAX, beyond any path the kernel prints (a 5,044-byte one was seen). A longer name (a
/// hostile proc root can hand out a 100 MB one) is cut in the middle: CSV and JSON carry it
/// whole.
pub const NAME_MAX_CHARS: usize = 8192;

/// Which part of a name too long for its column is kept around the `...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    Start,
    End,
    Both,
}

impl Keep {
    /// How many characters of the start and of the end `max` characters keep around `...`.
    fn split(self, max: usize) -> (usize, usize) {
        let room = max - 3;
        match self {
            Keep::Start => (room, 0),
            Keep::End => (0, room),
            Keep::Both => (room - room / 2, room / 2),
        }
    }
}

/// `s` in at most `max` characters (at least 8 are always shown whole).
fn shorten(s: &str, max: usize, keep: Keep) -> String {
    let n = s.chars().count();
    if n <= max || max < 8 {
        return s.to_string();
    }
    let (head, tail) = keep.split(max);
    let mut out: String = s.chars().take(head).collect();
    out.push_str("...");
    out.extend(s.chars().skip(n - tail));
    out
}

/// `raw` escaped for display in at most `max` characters. Only the first and the last
/// `4 × max` bytes are ever escaped (every byte shows as at least a quarter of a character),
/// so the cost is bounded by `max`, not by the length of the name.
fn elided(raw: &[u8], max: usize, keep: Keep) -> String {
    let window = max.saturating_mul(4);
    if raw.len() <= window.saturating_mul(2) || max < 8 {
        return shorten(&display(raw), max, keep);
    }
    let head = display(&raw[..window]);
    let tail = display(&raw[raw.len() - window..]);
    let (h, t) = keep.split(max);
    let mut out: String = head.chars().take(h).collect();
    out.push_str("...");
    let tail_chars = tail.chars().count();
    out.extend(tail.chars().skip(tail_chars.saturating_sub(t)));
    out
}

fn text_cell(spec: &ColumnSpec, raw: &[u8], term: Option<Terminal>) -> String {
    if raw.is_empty()
        && let Some(empty) = spec.empty_text
    {
        return empty.into();
    }
    let keep = match spec.elide {
        Some(Elide::KeepEnd) => Keep::End,
        Some(Elide::KeepStart) => Keep::Start,
        None => Keep::Both,
    };
    let max = match term {
        Some(t) if spec.elide.is_some() => Some((t.cols / 2).max(30)),
        Some(_) => None,
        None => spec.max_width,
    };
    match max {
        Some(max) => elided(raw, max, keep),
        None => elided(raw, NAME_MAX_CHARS, Keep::Both),
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
    fn long_names_are_cut_around_an_ellipsis_in_bounded_time() {
        assert_eq!(shorten("abcdefghijkl", 9, Keep::Both), "abc...jkl");
        assert_eq!(shorten("abcdefghijkl", 9, Keep::End), "...ghijkl");
        assert_eq!(shorten("abcdefghijkl", 9, Keep::Start), "abcdef...");
        assert_eq!(shorten("abc", 9, Keep::Both), "abc");
        // A name far longer than the window: only its ends are escaped, the cut is the
        // same as escaping it whole and cutting that.
        let mut raw = b"/start\xff\x1b".to_vec();
        raw.extend(std::iter::repeat_n(b'm', 10 * NAME_MAX_CHARS));
        raw.extend_from_slice(b"\x07\xfe/end");
        for keep in [Keep::Start, Keep::End, Keep::Both] {
            let cut = elided(&raw, 100, keep);
            assert_eq!(cut, shorten(&display(&raw), 100, keep), "{keep:?}");
            assert_eq!(cut.chars().count(), 100);
        }
    }
}
