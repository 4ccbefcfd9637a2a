//! Views: what a reader is shown of the data. A view is one list of columns (stable name,
//! header, whether it holds bytes, how a row yields its cell) and the order and cut of its
//! rows (`--sort`, `--reverse`, `--top`). Every format goes through it: a view lays its rows
//! out as a [`Sheet`] that the table and CSV renderers print, and builds the typed JSON
//! document from the same columns, so a column cannot mean one thing in the table and another
//! in the CSV.
//!
//! The report's group-bys are one view ([`report`]; as a picture, [`chart`]), `pmaps show`
//! another ([`show`]), `pmaps summary` a third ([`summary`]); the Prometheus exposition
//! ([`prometheus`]) derives every family from one report's rows. Over time: `pmaps diff`
//! ([`diff`]), `pmaps watch` ([`watch`]), and the history's `pmaps history` ([`history`])
//! and `pmaps trend` ([`trend`]).
//!
//! How a table fits a terminal is declared here too, per column: its priority (the least
//! important columns are left out first when the screen is too narrow), whether and how its
//! text may be shortened, and, for the report, which lines make up each row (so a screen
//! shows whole rows only). The table renderer does the measuring.

pub mod chart;
pub mod coverage;
pub mod diff;
pub mod history;
pub mod plan;
pub mod prometheus;
pub mod report;
pub mod show;
pub mod summary;
pub mod trend;
pub mod watch;

use std::borrow::Cow;

use crate::model::Percent;

/// One cell's value, before any rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell<'a> {
    /// Not applicable to this row.
    Empty,
    /// Raw bytes from the kernel or another process (paths, commands, user names): escaped
    /// by each renderer in its own way.
    Text(&'a [u8]),
    /// ASCII made by pmaps (an address range in maps notation, a kind name, `TOTAL`).
    Code(Cow<'a, str>),
    /// A number shown in hex, as `maps` prints a file offset.
    Hex(u64),
    /// An identifier that is a number (a PID, an inode): shown plain, never `1,234`.
    Id(u64),
    /// A count.
    Count(u64),
    /// A count the source cannot give (mappings, read from `smaps_rollup`).
    Unknown,
    /// Bytes; `None` when the kernel did not print the key (unknown, not zero).
    Bytes(Option<u64>),
    /// A share of RAM or swap; `None` when the value or the whole is unknown.
    Percent(Option<Percent>),
    /// A signed change: bytes when its column holds bytes, else a count. The table shows
    /// `+`/`-` and human units; `None`: unknown.
    Signed(Option<i128>),
    /// A relative change in hundredths of a percent (`1250` is +12.5 %); `None`: none can
    /// be given (a change from nothing).
    Relative(Option<i64>),
    /// A rate of change in bytes per hour; the table shows it in a unit that reads well
    /// (`+1.2 MiB/min`).
    Rate(Option<i64>),
}

/// How a table shortens a text column that is too long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elide {
    /// Keep the start (command lines, user names).
    KeepStart,
    /// Keep both ends (paths: the directory's start and the whole file name when it fits).
    Middle,
    /// A `start-end` address range shortened to its start, as `pmap` shows it (a number is
    /// never cut).
    Range,
}

/// The priority of a column that a narrow terminal never leaves out (a view's key columns,
/// the sort column).
pub const ESSENTIAL: u8 = u8::MAX;

/// One column of a view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSpec {
    /// The stable name: CSV headers and JSON keys (with `_bytes` on byte columns), `--sort`.
    pub name: Cow<'static, str>,
    /// The table header (the unit is added to byte columns).
    pub header: Cow<'static, str>,
    /// Whether the cells are amounts of bytes.
    pub bytes: bool,
    /// Whether the table aligns it left (text) rather than right (numbers).
    pub left: bool,
    /// How the table shortens it; `None`: never.
    pub elide: Option<Elide>,
    /// The widest the table shows it when not on a terminal (`None`: whole).
    pub max_width: Option<usize>,
    /// The narrowest a terminal shortens it to (with `elide`), before columns are left out.
    pub min_width: usize,
    /// On a terminal too narrow for every column, the columns of lowest priority are left
    /// out first; [`ESSENTIAL`] ones never are.
    pub priority: u8,
    /// What the table shows for an empty text cell (`[anon]` for an anonymous mapping).
    pub empty_text: Option<&'static str>,
    /// Whether the table shows it (a PID column is left out where a header line names the
    /// process).
    pub in_table: bool,
    /// Whether CSV has it (a label for people, indented, is the table's alone).
    pub in_csv: bool,
}

impl ColumnSpec {
    /// A column with the defaults of its kind: numbers right-aligned, text left.
    pub fn new(name: impl Into<Cow<'static, str>>, header: impl Into<Cow<'static, str>>) -> Self {
        ColumnSpec {
            name: name.into(),
            header: header.into(),
            bytes: false,
            left: false,
            elide: None,
            max_width: None,
            min_width: 0,
            priority: ESSENTIAL,
            empty_text: None,
            in_table: true,
            in_csv: true,
        }
    }
    /// See [`ColumnSpec::priority`].
    pub fn priority(mut self, priority: u8) -> Self {
        self.priority = priority;
        self
    }
    pub fn bytes(mut self) -> Self {
        self.bytes = true;
        self
    }
    pub fn text(mut self) -> Self {
        self.left = true;
        self
    }
    /// Shortened `how` on a terminal down to `min_width`, and off a terminal to
    /// `max_width` when there is one.
    pub fn elide(mut self, how: Elide, min_width: usize, max_width: Option<usize>) -> Self {
        self.elide = Some(how);
        self.min_width = min_width;
        self.max_width = max_width;
        self
    }
    pub fn empty_as(mut self, text: &'static str) -> Self {
        self.empty_text = Some(text);
        self
    }
    pub fn not_in_table(mut self) -> Self {
        self.in_table = false;
        self
    }
    pub fn table_only(mut self) -> Self {
        self.in_csv = false;
        self
    }
    /// The CSV header and JSON key: the name, with `_bytes` on byte columns.
    pub fn csv_name(&self) -> String {
        if self.bytes {
            format!("{}_bytes", self.name)
        } else {
            self.name.to_string()
        }
    }
}

/// What a line of a sheet is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A row of data: in every format. The table leaves its first `blank` cells empty (a
    /// process listed under the file named on the line above).
    Data { blank: usize },
    /// A line for people only (a file heading its processes, a totals row, "… 3 more
    /// processes"): in the table, never in CSV.
    TableOnly,
}

/// One line of a sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line<'a> {
    pub role: Role,
    pub cells: Vec<Cell<'a>>,
}

/// A titled block of lines under one header (the report has one; `show` one per process).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section<'a> {
    /// A line above the block (`1234: /usr/bin/prog (alice)`).
    pub title: Option<String>,
    /// Said instead of a table when the section has no lines (`(kernel thread, …)`).
    pub note: Option<String>,
    pub lines: Vec<Line<'a>>,
}

/// A unit for every byte column of a table (`--units`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteUnit {
    Kib,
    Mib,
    Gib,
}

/// The unit of a table's byte columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitRule {
    /// Each cell in its own unit (`4K`, `1.5M`, `16G`), as `du -h` and `free -h` print: a
    /// 16 GiB row does not turn every other row into `<0.1`. The report's default.
    PerCell,
    /// One unit for every cell (`--units`; `show` uses KiB, the unit of smaps and of
    /// `pmap -x`).
    Fixed(ByteUnit),
    /// Each value in its own unit, written beside it (`24.0 GiB`, `712 KiB`): the summary,
    /// whose lines differ by orders of magnitude.
    PerValue,
}

/// A view laid out for the table and CSV renderers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet<'a> {
    pub columns: Vec<ColumnSpec>,
    pub sections: Vec<Section<'a>>,
    pub unit: UnitRule,
    /// Lines after the table (the coverage line).
    pub footer: Vec<String>,
    /// The report rows behind the lines, for a table that says how many were left out and,
    /// on a terminal, keeps only the whole rows that fit the screen (`None`: `show`, where
    /// every line stays).
    pub rows: Option<RowCut>,
}

impl<'a> Sheet<'a> {
    /// A sheet of one untitled section of `lines`, then `footer` (no rows to cut).
    pub fn one_section(
        columns: Vec<ColumnSpec>,
        lines: Vec<Line<'a>>,
        unit: UnitRule,
        footer: Option<String>,
    ) -> Sheet<'a> {
        Sheet {
            columns,
            sections: vec![Section {
                title: None,
                note: None,
                lines,
            }],
            unit,
            footer: footer.into_iter().collect(),
            rows: None,
        }
    }
}

/// The report rows of a sheet's (first) section, for cutting them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowCut {
    /// The lines each row takes, in order from the section's first line (a file, the
    /// processes under it, its "... N more processes" line); the lines after them (the
    /// totals) always stay.
    pub lines: Vec<usize>,
    /// Rows of the report before `--top` cut them: "... N more rows" counts from here.
    pub total: usize,
    /// Whether the table keeps only the rows that fit the terminal's height.
    pub fit_height: bool,
}

/// Whether some path occurs twice (two rows that are different objects under one path: the
/// table then shows their device and inode).
pub fn repeats<'a>(paths: impl Iterator<Item = &'a [u8]>) -> bool {
    let mut paths: Vec<&[u8]> = paths.collect();
    paths.sort_unstable();
    paths.windows(2).any(|w| w[0] == w[1])
}

/// The terminal a table is shown on, when stdout is one: its lines and columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terminal {
    pub rows: usize,
    pub cols: usize,
}
