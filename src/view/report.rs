//! The report's view: the columns of each group-by, one definition for every format, and the
//! order and cut of the rows (`--sort`, `--reverse`, `--top`, and on a terminal what fits
//! the screen).

use std::borrow::Cow;

use super::{Cell, ColumnSpec, Elide, Line, Role, Sheet, Terminal};
use crate::model::{GroupBy, Report, Row, RowKey};
use crate::parse::kind_of;
use crate::text::thousands;

/// A report column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Path,
    Kind,
    /// The device of the mapped object (`fe:00`): with the inode, a file's identity.
    Device,
    Inode,
    Pid,
    /// The process's start time (clock ticks since boot): with the PID, its identity.
    StartTime,
    User,
    Command,
    Processes,
    Mappings,
    Size,
    Rss,
    Pss,
    Uss,
    Shared,
    Swap,
    SwapPss,
}

const METRICS: [Column; 8] = [
    Column::Mappings,
    Column::Size,
    Column::Rss,
    Column::Pss,
    Column::Uss,
    Column::Shared,
    Column::Swap,
    Column::SwapPss,
];

impl Column {
    pub const ALL: [Column; 17] = [
        Column::Path,
        Column::Kind,
        Column::Device,
        Column::Inode,
        Column::Pid,
        Column::StartTime,
        Column::User,
        Column::Command,
        Column::Processes,
        Column::Mappings,
        Column::Size,
        Column::Rss,
        Column::Pss,
        Column::Uss,
        Column::Shared,
        Column::Swap,
        Column::SwapPss,
    ];

    /// The stable name: JSON keys and `--sort` values.
    pub fn name(self) -> &'static str {
        match self {
            Column::Path => "path",
            Column::Kind => "kind",
            Column::Device => "device",
            Column::Inode => "inode",
            Column::Pid => "pid",
            Column::StartTime => "start_time",
            Column::User => "user",
            Column::Command => "command",
            Column::Processes => "processes",
            Column::Mappings => "mappings",
            Column::Size => "size",
            Column::Rss => "rss",
            Column::Pss => "pss",
            Column::Uss => "uss",
            Column::Shared => "shared",
            Column::Swap => "swap",
            Column::SwapPss => "swap_pss",
        }
    }

    /// The CSV header: the name, with `_bytes` on byte columns.
    pub fn csv_name(self) -> String {
        if self.is_bytes() {
            format!("{}_bytes", self.name())
        } else {
            self.name().to_string()
        }
    }

    /// The table header.
    pub fn header(self) -> &'static str {
        match self {
            Column::Path => "Mapping",
            Column::Kind => "Kind",
            Column::Device => "Device",
            Column::Inode => "Inode",
            Column::Pid => "PID",
            Column::StartTime => "Start",
            Column::User => "User",
            Column::Command => "Command",
            Column::Processes => "Procs",
            Column::Mappings => "Maps",
            Column::Size => "VSZ",
            Column::Rss => "RSS",
            Column::Pss => "PSS",
            Column::Uss => "USS",
            Column::Shared => "Shared",
            Column::Swap => "Swap",
            Column::SwapPss => "SwapPSS",
        }
    }

    pub fn is_bytes(self) -> bool {
        matches!(
            self,
            Column::Size
                | Column::Rss
                | Column::Pss
                | Column::Uss
                | Column::Shared
                | Column::Swap
                | Column::SwapPss
        )
    }

    /// Text columns sort A→Z by default; numbers largest first.
    pub fn is_text(self) -> bool {
        matches!(
            self,
            Column::Path | Column::Kind | Column::Device | Column::User | Column::Command
        )
    }

    /// Accepts the name or the CSV name (`pss`, `pss_bytes`, `swap_pss`).
    pub fn parse(s: &str) -> Option<Column> {
        let s = s.strip_suffix("_bytes").unwrap_or(s);
        Column::ALL.into_iter().find(|c| c.name() == s)
    }

    /// The columns of a view, in order.
    pub fn for_view(group_by: GroupBy) -> Vec<Column> {
        let keys: &[Column] = match group_by {
            GroupBy::File => &[
                Column::Path,
                Column::Kind,
                Column::Device,
                Column::Inode,
                Column::Processes,
            ],
            GroupBy::Process => &[
                Column::Pid,
                Column::StartTime,
                Column::User,
                Column::Command,
            ],
            GroupBy::User => &[Column::User, Column::Processes],
            GroupBy::Command => &[Column::Command, Column::Processes],
            GroupBy::Kind => &[Column::Kind, Column::Processes],
            GroupBy::FileProcess => &[
                Column::Path,
                Column::Kind,
                Column::Device,
                Column::Inode,
                Column::Pid,
                Column::StartTime,
                Column::User,
                Column::Command,
                Column::Processes,
            ],
        };
        keys.iter().chain(METRICS.iter()).copied().collect()
    }

    /// The cell of this column in `row`.
    pub fn cell(self, row: &Row) -> Cell<'_> {
        let c = &row.counters;
        let bytes = |bit: u16, v: u64| Cell::Bytes(c.is_known(bit).then_some(v));
        use crate::model::field as f;
        match self {
            Column::Path => match &row.key {
                RowKey::File { path: p, .. } | RowKey::FileProcess { path: p, .. } => Cell::Text(p),
                _ => Cell::Empty,
            },
            Column::Kind => match &row.key {
                RowKey::File { path: p, .. } | RowKey::FileProcess { path: p, .. } => {
                    Cell::Code(Cow::Borrowed(kind_of(p).as_str()))
                }
                RowKey::Kind(k) => Cell::Code(Cow::Borrowed(k.as_str())),
                _ => Cell::Empty,
            },
            Column::Device => match &row.key {
                RowKey::File { object: o, .. } | RowKey::FileProcess { object: o, .. } => {
                    Cell::Code(Cow::Owned(o.device()))
                }
                _ => Cell::Empty,
            },
            Column::Inode => match &row.key {
                RowKey::File { object: o, .. } | RowKey::FileProcess { object: o, .. } => {
                    Cell::Id(o.inode)
                }
                _ => Cell::Empty,
            },
            Column::StartTime => match &row.key {
                RowKey::Process(p) | RowKey::FileProcess { proc: p, .. } => Cell::Id(p.start_time),
                _ => Cell::Empty,
            },
            Column::Pid => match &row.key {
                RowKey::Process(p) | RowKey::FileProcess { proc: p, .. } => {
                    Cell::Id(u64::from(p.pid))
                }
                _ => Cell::Empty,
            },
            Column::User => match &row.key {
                RowKey::Process(p) | RowKey::FileProcess { proc: p, .. } => {
                    Cell::Text(p.user.as_bytes())
                }
                RowKey::User { name, .. } => Cell::Text(name.as_bytes()),
                _ => Cell::Empty,
            },
            Column::Command => match &row.key {
                RowKey::Process(p) | RowKey::FileProcess { proc: p, .. } => Cell::Text(&p.command),
                RowKey::Command(name) => Cell::Text(name),
                _ => Cell::Empty,
            },
            Column::Processes => match &row.key {
                RowKey::Process(_) | RowKey::FileProcess { .. } => Cell::Empty,
                _ => Cell::Count(row.processes),
            },
            Column::Mappings => row.mappings.map_or(Cell::Unknown, Cell::Count),
            Column::Size => bytes(f::SIZE, c.size),
            Column::Rss => bytes(f::RSS, c.rss),
            Column::Pss => bytes(f::PSS, c.pss),
            Column::Uss => bytes(f::PRIVATE_CLEAN | f::PRIVATE_DIRTY, c.uss()),
            Column::Shared => bytes(f::SHARED_CLEAN | f::SHARED_DIRTY, c.shared()),
            Column::Swap => bytes(f::SWAP, c.swap),
            Column::SwapPss => bytes(f::SWAP_PSS, c.swap_pss),
        }
    }
}

impl Column {
    /// The column's definition for every format.
    pub fn spec(self) -> ColumnSpec {
        let spec = ColumnSpec::new(self.name(), self.header());
        match self {
            _ if self.is_bytes() => spec.bytes(),
            Column::Path => spec.text().elide(Elide::KeepEnd, None).empty_as("[anon]"),
            // A command line can be thousands of bytes: the table shows its start; CSV and
            // JSON carry it whole.
            Column::Command => spec.text().elide(Elide::KeepStart, Some(COMMAND_WIDTH)),
            Column::Kind | Column::User => spec.text().elide(Elide::KeepStart, None),
            // Identity for programs; the table shows device and inode only where two rows
            // share a path (see `ReportView::sheet`).
            Column::Device => spec.text().not_in_table(),
            Column::Inode | Column::StartTime => spec.not_in_table(),
            _ => spec,
        }
    }
}

/// Widest command line shown when the table is not on a terminal.
const COMMAND_WIDTH: usize = 80;
/// With `--group-by file,process` on a terminal and no `-n`: processes listed per file.
const TERMINAL_CHILDREN: usize = 5;

/// How the rows are ordered and cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewOptions {
    pub sort: Column,
    pub reverse: bool,
    /// Rows to show; `None`: all (or, on a terminal, what fits); `-n 0` is `usize::MAX`.
    pub top: Option<usize>,
}

impl Default for ViewOptions {
    fn default() -> Self {
        ViewOptions {
            sort: Column::Pss,
            reverse: false,
            top: None,
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
                // With --group-by file,process, N also caps the processes listed under each
                // file (the file's `processes` still counts them all).
                children.truncate(top);
                ViewRow { row, children }
            })
            .collect();
        ReportView {
            report,
            columns: Column::for_view(report.meta.group_by),
            rows,
            total_rows,
        }
    }

    fn group_by(&self) -> GroupBy {
        self.report.meta.group_by
    }

    fn cells<'r>(&self, row: &'r Row) -> Vec<Cell<'r>> {
        self.columns.iter().map(|c| c.cell(row)).collect()
    }

    /// The rows laid out for a table (on `term`, only what fits) or for CSV (`None`: every
    /// row the view has; with `file,process`, one flat row per (file, process)). `footer`
    /// ends the table (the coverage line).
    pub fn sheet(&self, term: Option<Terminal>, footer: Option<String>) -> Sheet<'a> {
        let view = self.group_by();
        let fit = term.map(|t| t.rows.saturating_sub(7).max(5));
        // On a terminal, a file mapped by a thousand processes lists its first few only.
        let child_cap = if fit.is_some() {
            TERMINAL_CHILDREN
        } else {
            usize::MAX
        };
        let children_of = |r: &ViewRow<'_>| r.children.len().min(child_cap);
        // A file's processes beyond those listed (`-n` or the terminal cut them).
        let more_of = |r: &ViewRow<'_>| {
            if view == GroupBy::FileProcess {
                r.row.processes.saturating_sub(children_of(r) as u64)
            } else {
                0
            }
        };
        let shown = match fit {
            Some(budget) => {
                let (mut used, mut n) = (0, 0);
                for r in &self.rows {
                    let lines = 1 + children_of(r) + usize::from(more_of(r) > 0);
                    if n > 0 && used + lines > budget {
                        break;
                    }
                    used += lines;
                    n += 1;
                }
                n
            }
            None => self.rows.len(),
        };
        let command_col = self.columns.iter().position(|c| *c == Column::Command);
        let mut columns: Vec<ColumnSpec> = self.columns.iter().map(|c| c.spec()).collect();
        // Two rows with one path are two different files (another mount namespace, a
        // replaced file): the table then shows which is which.
        if self.columns.contains(&Column::Device) && self.shares_a_path() {
            for (spec, c) in columns.iter_mut().zip(&self.columns) {
                if matches!(c, Column::Device | Column::Inode) {
                    spec.in_table = true;
                }
            }
        }
        // Under its file, a process row leaves the file's key columns empty.
        let file_keys = self
            .columns
            .iter()
            .zip(&columns)
            .take_while(|(c, _)| {
                matches!(
                    c,
                    Column::Path | Column::Kind | Column::Device | Column::Inode
                )
            })
            .filter(|(_, spec)| spec.in_table)
            .count();
        let mut lines = Vec::new();
        for r in &self.rows[..shown] {
            if view == GroupBy::FileProcess {
                lines.push(Line {
                    role: Role::TableOnly,
                    cells: self.cells(r.row),
                });
                for child in &r.children[..children_of(r)] {
                    // The file is named on its own row; its processes are indented under it.
                    lines.push(Line {
                        role: Role::Data { blank: file_keys },
                        cells: self.cells(child),
                    });
                }
            } else {
                lines.push(Line {
                    role: Role::Data { blank: 0 },
                    cells: self.cells(r.row),
                });
            }
            let more = more_of(r);
            if let (true, Some(i)) = (more > 0, command_col) {
                let mut cells = vec![Cell::Empty; self.columns.len()];
                let noun = if more == 1 { "process" } else { "processes" };
                cells[i] = Cell::Code(Cow::Owned(format!("... {} more {noun}", thousands(more))));
                lines.push(Line {
                    role: Role::TableOnly,
                    cells,
                });
            }
        }
        let totals = &self.report.totals;
        let mut total = self.cells(totals);
        total[0] = Cell::Code(Cow::Borrowed("TOTAL"));
        if view == GroupBy::FileProcess || view == GroupBy::Process {
            // Distinct processes read, in the first numeric key column.
            if let Some(i) = self.columns.iter().position(|c| *c == Column::Processes) {
                total[i] = Cell::Count(totals.processes);
            }
        }
        lines.push(Line {
            role: Role::TableOnly,
            cells: total,
        });
        let mut tail = Vec::new();
        if shown < self.total_rows {
            tail.push(format!(
                "... {} more rows (-n 0 shows all)",
                thousands((self.total_rows - shown) as u64)
            ));
        }
        tail.extend(footer);
        Sheet::single(columns, lines, tail)
    }
}

impl ReportView<'_> {
    /// Whether two rows of the view name the same path (different objects).
    fn shares_a_path(&self) -> bool {
        super::repeats(self.rows.iter().filter_map(|r| match &r.row.key {
            RowKey::File { path, .. } => Some(path.as_slice()),
            _ => None,
        }))
    }
}

/// A total order on cells: unknown bytes sort below every known value.
fn cell_key<'c>(c: &'c Cell<'_>) -> (u8, u64, &'c [u8]) {
    match c {
        Cell::Bytes(None) => (1, 0, b""),
        Cell::Bytes(Some(v)) | Cell::Count(v) | Cell::Id(v) | Cell::Hex(v) => (2, *v, b""),
        Cell::Text(t) => (2, 0, t),
        Cell::Code(t) => (2, 0, t.as_bytes()),
        _ => (0, 0, b""), // empty, unknown, and cells no report has (signed, percent, rate)
    }
}

/// Sorts by `col` (numbers largest first, text A→Z; `reverse` flips), then by the row's key
/// columns so that the order is the same on every run.
pub fn sort_rows(rows: &mut [&Row], col: Column, reverse: bool) {
    let tie = [
        Column::Path,
        Column::Device,
        Column::Inode,
        Column::Pid,
        Column::StartTime,
        Column::User,
        Column::Command,
        Column::Kind,
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
    use crate::model::{Counters, Coverage, Meta, Object, ProcDesc, Source};

    fn render(report: &Report, term: Option<Terminal>) -> String {
        let view = ReportView::new(report, &ViewOptions::default());
        crate::render::table::render(&view.sheet(term, None), term)
    }

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
                            start_time: 1,
                            uid: Some(0),
                            user: "root".into(),
                            comm: b"x".to_vec(),
                            command: format!("cmd{p}").into_bytes(),
                        };
                        let key = RowKey::FileProcess {
                            path: path.clone(),
                            object: Object::default(),
                            proc,
                        };
                        row(key, 1, 4096, Vec::new())
                    })
                    .collect();
                row(
                    RowKey::File {
                        path,
                        object: Object::default(),
                    },
                    u64::from(procs),
                    4096,
                    children,
                )
            })
            .collect();
        Report {
            meta: Meta {
                host: None,
                kernel: None,
                time: std::time::SystemTime::UNIX_EPOCH,
                source: Source::Smaps,
                group_by: GroupBy::FileProcess,
                proc_root: "/proc".into(),
                threads: 1,
                duration: std::time::Duration::ZERO,
            },
            rows,
            totals: row(RowKey::Total, u64::from(procs), 4096, Vec::new()),
            coverage: Coverage::default(),
        }
    }

    #[test]
    fn a_terminal_lists_five_processes_per_file_and_fits_the_files() {
        let report = file_process_report(10, 8);
        // 30 rows: 23 lines for the body; each file takes 1 + 5 + 1 lines.
        let term = Some(Terminal {
            rows: 30,
            cols: 200,
        });
        let out = render(&report, term);
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
