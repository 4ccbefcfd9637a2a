//! The report's view: the columns of each group-by, one definition for every format, and the
//! order and cut of the rows (`--sort`, `--reverse`, `--top`, and on a terminal what fits
//! the screen).

use std::borrow::Cow;

use super::{Cell, ColumnSpec, Elide};
use crate::model::{GroupBy, Report, Row, RowKey};
use crate::parse::kind_of;

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
            GroupBy::ProcessFile => &[
                Column::Pid,
                Column::StartTime,
                Column::User,
                Column::Command,
                Column::Path,
                Column::Kind,
                Column::Device,
                Column::Inode,
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
    /// The column's definition for every format. On a terminal too narrow for all of them,
    /// the columns are left out by `priority` (the view makes its key columns and the sort
    /// column essential): first the mapping count, SwapPSS, VSZ and Shared, last RSS and USS.
    pub fn spec(self) -> ColumnSpec {
        let spec = ColumnSpec::new(self.name(), self.header());
        let spec = if self.is_bytes() { spec.bytes() } else { spec };
        match self {
            Column::Path => spec
                .text()
                .elide(Elide::Middle, PATH_MIN_WIDTH, None)
                .empty_as("[anon]"),
            // A command line can be thousands of bytes: the table shows its start; CSV and
            // JSON carry it whole.
            Column::Command => spec
                .text()
                .elide(Elide::KeepStart, COMMAND_MIN_WIDTH, Some(COMMAND_WIDTH))
                .priority(200),
            Column::User => spec.text().elide(Elide::KeepStart, 8, None).priority(110),
            Column::Kind => spec.text().priority(50),
            // Identity for programs; the table shows device and inode only where two rows
            // share a path (see `ReportView::sheet`).
            Column::Device => spec.text().not_in_table().priority(60),
            Column::Inode => spec.not_in_table().priority(60),
            Column::StartTime => spec.not_in_table(),
            Column::Pid => spec,
            Column::Processes => spec.priority(80),
            Column::Mappings => spec.priority(20),
            Column::SwapPss => spec.priority(30),
            Column::Size => spec.priority(40),
            Column::Shared => spec.priority(45),
            Column::Swap => spec.priority(70),
            Column::Uss => spec.priority(120),
            Column::Rss => spec.priority(130),
            Column::Pss => spec.priority(150),
        }
    }

    /// The columns that say what a row is, in each view: never left out of a table.
    pub fn keys_of(group_by: GroupBy) -> &'static [Column] {
        match group_by {
            GroupBy::File => &[Column::Path],
            GroupBy::Process => &[Column::Pid, Column::Command],
            GroupBy::User => &[Column::User],
            GroupBy::Command => &[Column::Command],
            GroupBy::Kind => &[Column::Kind],
            GroupBy::FileProcess | GroupBy::ProcessFile => {
                &[Column::Path, Column::Pid, Column::Command]
            }
        }
    }
}

/// Widest command line shown when the table is not on a terminal.
const COMMAND_WIDTH: usize = 80;
/// The narrowest a terminal shortens a path to (from the middle) before leaving columns out.
const PATH_MIN_WIDTH: usize = 20;
/// The narrowest a terminal shortens a command line to.
const COMMAND_MIN_WIDTH: usize = 16;

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
    /// The column the rows are sorted by (a narrow terminal keeps it).
    pub sort: Column,
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
                // With --group-by file,process (process,file), N also caps the processes
                // listed under each file (the files under each process).
                children.truncate(top);
                ViewRow { row, children }
            })
            .collect();
        ReportView {
            report,
            columns: Column::for_view(report.meta.group_by),
            rows,
            total_rows,
            sort: opts.sort,
        }
    }
}

/// A total order on cells: unknown bytes sort below every known value.
fn cell_key<'c>(c: &'c Cell<'_>) -> (u8, u64, &'c [u8]) {
    match c {
        Cell::Empty | Cell::Unknown => (0, 0, b""),
        Cell::Bytes(None) => (1, 0, b""),
        Cell::Bytes(Some(v)) | Cell::Count(v) | Cell::Id(v) | Cell::Hex(v) => (2, *v, b""),
        Cell::Text(t) => (2, 0, t),
        Cell::Code(t) => (2, 0, t.as_bytes()),
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
