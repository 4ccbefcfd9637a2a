//! The human view: aligned columns, one unit for every byte column of the table (so rows
//! compare at a glance), a totals row and the coverage footer. Names are escaped (never raw
//! control bytes); on a terminal, long names are shortened and only the rows that fit are
//! shown, with a line saying how many more there are.

use comfy_table::{CellAlignment, ContentLineStyle, LineStyle, Table, TableStyle};

use super::escape::display;
use super::{Terminal, coverage_line, thousands};
use crate::Report;
use crate::aggregate::Row;
use crate::columns::{Cell, Column};
use crate::config::GroupBy;

/// A byte unit: divisor, name, decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    pub divisor: u64,
    pub name: &'static str,
    pub decimals: usize,
}

const KIB: u64 = 1024;
/// With `--group-by file,process` on a terminal and no `-n`: processes listed per file.
const TERMINAL_CHILDREN: usize = 5;
/// Widest command line shown when the table is not on a terminal.
const COMMAND_WIDTH: usize = 80;

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

fn text_cell(col: Column, row: &Row, term: Option<Terminal>) -> String {
    let raw = match col.cell(row) {
        Cell::Text(t) => t,
        _ => return String::new(),
    };
    let shown = if col == Column::Path && raw.is_empty() {
        "[anon]".into()
    } else {
        display(raw)
    };
    match (term, col) {
        (Some(t), _) => shorten(&shown, (t.cols / 2).max(30), col == Column::Path),
        // A command line can be thousands of bytes: the table shows its start; CSV and JSON
        // carry it whole.
        (None, Column::Command) => shorten(&shown, COMMAND_WIDTH, false),
        (None, _) => shown.into_owned(),
    }
}

fn cell_text(col: Column, row: &Row, unit: Unit, term: Option<Terminal>) -> String {
    match col.cell(row) {
        Cell::Empty => String::new(),
        Cell::Text(_) => text_cell(col, row, term),
        // A PID is a name to copy into `kill` or `pmaps show`, not a quantity.
        Cell::Count(n) if col == Column::Pid => n.to_string(),
        Cell::Count(n) => thousands(n),
        Cell::Unknown => "-".to_string(),
        Cell::Bytes(v) => format_bytes(v, unit),
    }
}

fn plural_processes(n: u64) -> String {
    let noun = if n == 1 { "process" } else { "processes" };
    format!("{} more {noun}", thousands(n))
}

fn style() -> TableStyle {
    TableStyle::new()
        .header_separator(LineStyle::none().fill('-').junction(' '))
        .header_lines(ContentLineStyle::none().junction(' '))
        .content_lines(ContentLineStyle::none().junction(' '))
}

/// Renders the table, the totals row and the coverage footer.
pub fn render(report: &Report, term: Option<Terminal>) -> String {
    let view = report.meta.group_by;
    let cols = Column::for_view(view);
    let rows = &report.rows;
    let fit = term.map(|t| t.rows.saturating_sub(7).max(5));
    // On a terminal, a file mapped by a thousand processes lists its first few only.
    let child_cap = if fit.is_some() {
        TERMINAL_CHILDREN
    } else {
        usize::MAX
    };
    let children_of = |r: &Row| r.children.len().min(child_cap);
    // A file's processes beyond those listed (`-n` or the terminal cut them).
    let more_of = |r: &Row| {
        if view == GroupBy::FileProcess {
            r.processes.saturating_sub(children_of(r) as u64)
        } else {
            0
        }
    };
    let shown: &[Row] = match fit {
        Some(budget) => {
            let (mut used, mut n) = (0, 0);
            for r in &rows.rows {
                let lines = 1 + children_of(r) + usize::from(more_of(r) > 0);
                if n > 0 && used + lines > budget {
                    break;
                }
                used += lines;
                n += 1;
            }
            &rows.rows[..n]
        }
        None => &rows.rows,
    };
    let max = cols
        .iter()
        .filter(|c| c.is_bytes())
        .flat_map(|c| {
            std::iter::once(&rows.totals)
                .chain(shown.iter())
                .map(move |r| match c.cell(r) {
                    Cell::Bytes(Some(v)) => v,
                    _ => 0,
                })
        })
        .max()
        .unwrap_or(0);
    let unit = unit_for(max);

    let mut table = Table::new();
    table.load_style(style());
    table.set_header(cols.iter().map(|c| {
        if c.is_bytes() {
            format!("{} {}", c.header(), unit.name)
        } else {
            c.header().to_string()
        }
    }));
    let line =
        |r: &Row| -> Vec<String> { cols.iter().map(|c| cell_text(*c, r, unit, term)).collect() };
    let command_col = cols.iter().position(|c| *c == Column::Command);
    for r in shown {
        table.add_row(line(r));
        for child in &r.children[..children_of(r)] {
            let mut cells = line(child);
            // The file is named on its own row; its processes are indented under it.
            cells[0] = String::new();
            cells[1] = String::new();
            table.add_row(cells);
        }
        let more = more_of(r);
        if let (true, Some(i)) = (more > 0, command_col) {
            let mut cells = vec![String::new(); cols.len()];
            cells[i] = format!("... {}", plural_processes(more));
            table.add_row(cells);
        }
    }
    let mut total = line(&rows.totals);
    total[0] = "TOTAL".to_string();
    if view == GroupBy::FileProcess || view == GroupBy::Process {
        // Distinct processes read, in the first numeric key column.
        if let Some(i) = cols.iter().position(|c| *c == Column::Processes) {
            total[i] = thousands(rows.totals.processes);
        }
    }
    table.add_row(total);
    for (i, c) in cols.iter().enumerate() {
        if let Some(col) = table.column_mut(i) {
            col.set_padding((0, 1));
            if !c.is_text() {
                col.set_cell_alignment(CellAlignment::Right);
            }
        }
    }
    let mut out = String::new();
    for l in table.lines() {
        out.push_str(l.trim_end());
        out.push('\n');
    }
    if shown.len() < rows.total_rows {
        out.push_str(&format!(
            "... {} more rows (-n 0 shows all)\n",
            thousands((rows.total_rows - shown.len()) as u64)
        ));
    }
    out.push_str(&coverage_line(report));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::{Coverage, ProcDesc, RowKey, Rows};
    use crate::model::{Counters, Source};

    fn file_process_report(files: usize, procs: u32) -> Report {
        let row = |key: RowKey, processes: u64, pss: u64, children: Vec<Row>| Row {
            key,
            processes,
            mappings: Some(processes),
            counters: Counters {
                pss,
                ..Counters::default()
            },
            children,
        };
        let rows: Vec<Row> = (0..files)
            .map(|f| {
                let path = format!("/lib/f{f}.so").into_bytes();
                let children = (0..procs)
                    .map(|p| {
                        let proc = ProcDesc {
                            pid: 1000 + p,
                            uid: Some(0),
                            user: "root".into(),
                            comm: b"x".to_vec(),
                            command: format!("cmd{p}").into_bytes(),
                        };
                        let key = RowKey::FileProcess {
                            path: path.clone(),
                            proc,
                        };
                        row(key, 1, 4096, Vec::new())
                    })
                    .collect();
                row(RowKey::File(path), u64::from(procs), 4096, children)
            })
            .collect();
        Report {
            meta: crate::Meta {
                host: None,
                kernel: None,
                time: std::time::SystemTime::UNIX_EPOCH,
                source: Source::Smaps,
                group_by: GroupBy::FileProcess,
                proc_root: "/proc".into(),
                threads: 1,
                duration: std::time::Duration::ZERO,
            },
            rows: Rows {
                total_rows: rows.len(),
                rows,
                totals: row(RowKey::Total, u64::from(procs), 4096, Vec::new()),
            },
            coverage: Coverage::default(),
        }
    }

    #[test]
    fn a_terminal_lists_five_processes_per_file_and_fits_the_files() {
        let report = file_process_report(10, 8);
        // 30 rows: 23 lines for the body; each file takes 1 + 5 + 1 lines.
        let out = render(
            &report,
            Some(Terminal {
                rows: 30,
                cols: 200,
            }),
        );
        let lines: Vec<&str> = out.lines().collect();
        let files = lines.iter().filter(|l| l.starts_with("/lib/")).count();
        assert_eq!(files, 3, "{out}");
        let pids = lines.iter().filter(|l| l.contains(" cmd")).count();
        assert_eq!(pids, 15, "{out}");
        let more = lines
            .iter()
            .filter(|l| l.trim() == "... 3 more processes")
            .count();
        assert_eq!(more, 3, "{out}");
        assert!(out.contains("... 7 more rows (-n 0 shows all)"), "{out}");
        // PIDs are printed as plain numbers.
        assert!(out.contains(" 1000 "), "{out}");
        // Not on a terminal: every process of every file.
        let all = render(&report, None);
        assert_eq!(all.lines().filter(|l| l.contains(" cmd")).count(), 80);
        assert!(!all.contains("more processes"));
    }

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
}
