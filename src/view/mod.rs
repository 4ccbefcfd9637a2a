//! Views: what a reader is shown of the data. A view is one list of columns (stable name,
//! header, whether it holds bytes, how a row yields its cell) and the order and cut of its
//! rows (`--sort`, `--reverse`, `--top`). Every format goes through it: a view lays its rows
//! out as a [`Sheet`] that the table and CSV renderers print, and builds the typed JSON
//! document from the same columns, so a column cannot mean one thing in the table and another
//! in the CSV.
//!
//! The report's group-bys are one view ([`report`]), `pmaps show` another ([`show`]).

pub mod coverage;
pub mod plan;
pub mod report;
pub mod show;

use std::borrow::Cow;

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
}

/// How a table shortens a text column that is too long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elide {
    /// Keep the start (command lines).
    KeepStart,
    /// Keep the end (paths: the file name is the part that tells).
    KeepEnd,
}

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
    /// What the table shows for an empty text cell (`[anon]` for an anonymous mapping).
    pub empty_text: Option<&'static str>,
    /// Whether the table shows it (a PID column is left out where a header line names the
    /// process).
    pub in_table: bool,
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
            empty_text: None,
            in_table: true,
        }
    }
    pub fn bytes(mut self) -> Self {
        self.bytes = true;
        self
    }
    pub fn text(mut self) -> Self {
        self.left = true;
        self
    }
    pub fn elide(mut self, how: Elide, max_width: Option<usize>) -> Self {
        self.elide = Some(how);
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

/// The unit of a table's byte columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitRule {
    /// One unit for the whole table, chosen by its largest value.
    PerTable,
    /// Always KiB (`show`, the unit of smaps and of `pmap -x`).
    Kib,
}

/// A view laid out for the table and CSV renderers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet<'a> {
    pub columns: Vec<ColumnSpec>,
    pub sections: Vec<Section<'a>>,
    pub unit: UnitRule,
    /// Lines after the table (how many rows were left out, the coverage line).
    pub footer: Vec<String>,
}

/// The terminal a table is shown on, when stdout is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terminal {
    pub rows: usize,
    pub cols: usize,
}
