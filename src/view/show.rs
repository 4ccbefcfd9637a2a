//! The view of `pmaps show`: the columns of one run, shared by every format (the fixed
//! columns, the mapping count with `--merge`, and with `--all-fields` each further smaps key
//! the kernel printed, in its order), and their layout: per process a header line
//! `PID: command line (user)` (as `pmap` prints `1234:   /usr/bin/prog`), one row per
//! mapping in address order, and a totals row. Every byte column is in KiB, the unit of
//! `smaps` and of `pmap -x`, so the totals compare with pmap's `total kB` line digit for
//! digit.

use std::borrow::Cow;
use std::collections::HashSet;

use super::{ByteUnit, Cell, ColumnSpec, ESSENTIAL, Elide, Line, Role, Section, Sheet, UnitRule};
use crate::model::{FieldKeys, FieldValue, field};
use crate::parse::mapping_kind;
use crate::show::{ShowReport, ShowRow, ShownProcess, byte_keys, no_map_reason};
use crate::text::escape::display;
use crate::text::thousands;

/// Widest command line in a header line; CSV and JSON carry it whole.
const COMMAND_WIDTH: usize = 240;
/// The narrowest a terminal shortens a path to (from the middle) before leaving columns out.
const PATH_MIN_WIDTH: usize = 20;

/// A show column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShowColumn {
    Pid,
    Address,
    Perms,
    Offset,
    Device,
    Inode,
    /// Mappings folded into the row (`--merge` only).
    Mappings,
    Size,
    Rss,
    Pss,
    Uss,
    Dirty,
    Swap,
    SwapPss,
    /// The smaps key of this index in [`ShowView::keys`] (`--all-fields`).
    Field(usize),
    Kind,
    Path,
}

/// The columns of one `pmaps show` run, shared by every format: the fixed columns, the
/// mapping count with `--merge`, and with `--all-fields` each further smaps key the kernel
/// printed, in its order.
#[derive(Debug, Clone)]
pub struct ShowView {
    pub columns: Vec<ShowColumn>,
    pub keys: FieldKeys,
    /// Per key: whether its values are `kB` amounts.
    key_is_bytes: Vec<bool>,
    /// Per key: its CSV/JSON name (the key lowercased).
    key_names: Vec<String>,
    /// Keys that got no column: their name is one of pmaps' own columns (a `Uss:` or
    /// `Dirty:` no kernel prints) or an earlier key's (`Foo` and `foo`).
    pub clashing: Vec<String>,
}

/// The columns before the amounts (the mapping count follows them with `--merge`).
const HEAD: [ShowColumn; 6] = [
    ShowColumn::Pid,
    ShowColumn::Address,
    ShowColumn::Perms,
    ShowColumn::Offset,
    ShowColumn::Device,
    ShowColumn::Inode,
];

/// pmaps' own amounts.
const AMOUNTS: [ShowColumn; 7] = [
    ShowColumn::Size,
    ShowColumn::Rss,
    ShowColumn::Pss,
    ShowColumn::Uss,
    ShowColumn::Dirty,
    ShowColumn::Swap,
    ShowColumn::SwapPss,
];

/// The last columns, after the kernel's keys.
const TAIL: [ShowColumn; 2] = [ShowColumn::Kind, ShowColumn::Path];

/// The base column a kernel key duplicates (not repeated under `--all-fields`).
fn base_column_of(key: &str) -> Option<ShowColumn> {
    Some(match key {
        "Size" => ShowColumn::Size,
        "Rss" => ShowColumn::Rss,
        "Pss" => ShowColumn::Pss,
        "Swap" => ShowColumn::Swap,
        "SwapPss" => ShowColumn::SwapPss,
        _ => return None,
    })
}

impl ShowView {
    /// The view for these processes (their rows decide which keys are amounts of bytes).
    pub fn new(merge: bool, keys: FieldKeys, processes: &[ShownProcess]) -> ShowView {
        let mut columns = HEAD.to_vec();
        if merge {
            columns.push(ShowColumn::Mappings);
        }
        columns.extend(AMOUNTS);
        let key_is_bytes = byte_keys(processes.iter().flat_map(|p| &p.rows), &keys);
        let key_names: Vec<String> = keys.names.iter().map(|k| k.to_ascii_lowercase()).collect();
        let mut view = ShowView {
            columns,
            keys,
            key_is_bytes,
            key_names,
            clashing: Vec::new(),
        };
        // The kernel's keys live beside pmaps' own columns, never over them: every name a
        // fixed column takes (with `_bytes` or `_hex`) is reserved, and so is each key's.
        let mut taken: HashSet<String> = HashSet::new();
        // (The mapping count's name is reserved with `--merge` or not: totals carry it.)
        let fixed = HEAD.iter().chain(&[ShowColumn::Mappings]).chain(&AMOUNTS);
        for &c in fixed.chain(&TAIL) {
            for n in [view.name(c).to_string(), view.csv_name(c)] {
                taken.insert(format!("{n}_hex"));
                taken.insert(n);
            }
        }
        for (i, key) in view.keys.names.iter().enumerate() {
            if base_column_of(key).is_some() {
                continue;
            }
            let c = ShowColumn::Field(i);
            let names = [view.name(c).to_string(), view.csv_name(c)];
            let hex = names.iter().map(|n| format!("{n}_hex"));
            let all: Vec<String> = names.iter().cloned().chain(hex).collect();
            if all.iter().any(|n| taken.contains(n)) {
                view.clashing.push(key.clone());
                continue;
            }
            taken.extend(all);
            view.columns.push(c);
        }
        view.columns.extend(TAIL);
        view
    }

    /// What `--all-fields` left out, for one line on stderr: fields past the key cap, keys
    /// that are not kernel names or repeated in a record, and keys whose names clash.
    pub fn left_out_note(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.keys.left_out > 0 {
            parts.push(format!(
                "{} smaps {} left out (past {} distinct keys, a key repeated in its record, \
                 or a key that is not a kernel name)",
                thousands(self.keys.left_out),
                if self.keys.left_out == 1 {
                    "field"
                } else {
                    "fields"
                },
                FieldKeys::MAX_KEYS
            ));
        }
        if !self.clashing.is_empty() {
            let shown: Vec<String> = self
                .clashing
                .iter()
                .take(8)
                .map(|k| display(k.as_bytes()).into_owned())
                .collect();
            let more = self.clashing.len() - shown.len();
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            parts.push(format!(
                "smaps keys {}{more} left out (named like one of pmaps' own columns or an \
                 earlier key)",
                shown.join(", ")
            ));
        }
        (!parts.is_empty()).then(|| format!("--all-fields: {}", parts.join("; ")))
    }

    /// The stable name: JSON keys (with `_bytes` on byte columns, as in CSV).
    pub fn name(&self, c: ShowColumn) -> &str {
        match c {
            ShowColumn::Pid => "pid",
            ShowColumn::Address => "address",
            ShowColumn::Perms => "perms",
            ShowColumn::Offset => "offset",
            ShowColumn::Device => "device",
            ShowColumn::Inode => "inode",
            ShowColumn::Mappings => "mappings",
            ShowColumn::Size => "size",
            ShowColumn::Rss => "rss",
            ShowColumn::Pss => "pss",
            ShowColumn::Uss => "uss",
            ShowColumn::Dirty => "dirty",
            ShowColumn::Swap => "swap",
            ShowColumn::SwapPss => "swap_pss",
            ShowColumn::Field(i) => self.key_names.get(i).map_or("?", |s| s.as_str()),
            ShowColumn::Kind => "kind",
            ShowColumn::Path => "path",
        }
    }

    /// The CSV header (and JSON key): the name, with `_bytes` on byte columns.
    pub fn csv_name(&self, c: ShowColumn) -> String {
        if self.is_bytes(c) {
            format!("{}_bytes", self.name(c))
        } else {
            self.name(c).to_string()
        }
    }

    /// The table header (without the unit).
    pub fn header(&self, c: ShowColumn) -> &str {
        match c {
            ShowColumn::Pid => "PID",
            ShowColumn::Address => "Address",
            ShowColumn::Perms => "Perms",
            ShowColumn::Offset => "Offset",
            ShowColumn::Device => "Device",
            ShowColumn::Inode => "Inode",
            ShowColumn::Mappings => "Maps",
            ShowColumn::Size => "Size",
            ShowColumn::Rss => "RSS",
            ShowColumn::Pss => "PSS",
            ShowColumn::Uss => "USS",
            ShowColumn::Dirty => "Dirty",
            ShowColumn::Swap => "Swap",
            ShowColumn::SwapPss => "SwapPSS",
            // As the kernel spells it, like `pmap -XX`.
            ShowColumn::Field(i) => self.keys.names.get(i).map_or("?", |s| s.as_str()),
            ShowColumn::Kind => "Kind",
            ShowColumn::Path => "Mapping",
        }
    }

    pub fn is_bytes(&self, c: ShowColumn) -> bool {
        match c {
            ShowColumn::Size
            | ShowColumn::Rss
            | ShowColumn::Pss
            | ShowColumn::Uss
            | ShowColumn::Dirty
            | ShowColumn::Swap
            | ShowColumn::SwapPss => true,
            ShowColumn::Field(i) => self.key_is_bytes.get(i).copied().unwrap_or(false),
            _ => false,
        }
    }

    /// Columns aligned left in the table.
    pub fn is_text(&self, c: ShowColumn) -> bool {
        match c {
            ShowColumn::Address
            | ShowColumn::Perms
            | ShowColumn::Offset
            | ShowColumn::Device
            | ShowColumn::Kind
            | ShowColumn::Path => true,
            ShowColumn::Field(_) => !self.is_bytes(c),
            _ => false,
        }
    }

    /// The cell of column `c` in `row` of process `p`.
    pub fn cell<'a>(&self, c: ShowColumn, p: &'a ShownProcess, row: &'a ShowRow) -> Cell<'a> {
        let m = &row.map;
        let k = &m.counters;
        let bytes = |bit: u16, v: u64| Cell::Bytes(k.is_known(bit).then_some(v));
        use field as f;
        if row.total
            && matches!(
                c,
                ShowColumn::Address
                    | ShowColumn::Perms
                    | ShowColumn::Offset
                    | ShowColumn::Device
                    | ShowColumn::Inode
                    | ShowColumn::Kind
                    | ShowColumn::Path
            )
        {
            return Cell::Empty;
        }
        match c {
            ShowColumn::Pid => Cell::Id(u64::from(p.info.pid)),
            ShowColumn::Address => Cell::Code(Cow::Owned(format!("{:08x}-{:08x}", m.start, m.end))),
            ShowColumn::Perms => Cell::Code(String::from_utf8_lossy(&m.perms)),
            ShowColumn::Offset => Cell::Hex(m.offset),
            ShowColumn::Device => Cell::Code(Cow::Owned(format!(
                "{:02x}:{:02x}",
                m.dev_major, m.dev_minor
            ))),
            ShowColumn::Inode => Cell::Id(m.inode),
            ShowColumn::Mappings => Cell::Count(row.mappings),
            ShowColumn::Size => bytes(f::SIZE, k.size),
            ShowColumn::Rss => bytes(f::RSS, k.rss),
            ShowColumn::Pss => bytes(f::PSS, k.pss),
            ShowColumn::Uss => bytes(f::PRIVATE_CLEAN | f::PRIVATE_DIRTY, k.uss()),
            ShowColumn::Dirty => bytes(f::SHARED_DIRTY | f::PRIVATE_DIRTY, k.dirty()),
            ShowColumn::Swap => bytes(f::SWAP, k.swap),
            ShowColumn::SwapPss => bytes(f::SWAP_PSS, k.swap_pss),
            ShowColumn::Field(i) => match row.value(i) {
                Some(FieldValue::Bytes(n)) => Cell::Bytes(Some(*n)),
                Some(FieldValue::Number(n)) => Cell::Count(*n),
                Some(FieldValue::Text(t)) => Cell::Text(t),
                _ if self.is_bytes(c) => Cell::Bytes(None),
                _ => Cell::Empty,
            },
            ShowColumn::Kind => {
                Cell::Code(Cow::Borrowed(mapping_kind(&m.path, m.hugetlb).as_str()))
            }
            ShowColumn::Path => Cell::Text(&m.path),
        }
    }
}

impl ShowView {
    /// The view of a finished `show`.
    pub fn of(report: &ShowReport) -> ShowView {
        ShowView::new(report.merge, report.keys.clone(), &report.processes)
    }

    /// The column's definition for every format.
    pub fn spec(&self, c: ShowColumn) -> ColumnSpec {
        let mut spec = ColumnSpec::new(self.name(c).to_string(), self.header(c).to_string());
        if self.is_bytes(c) {
            spec = spec.bytes();
        }
        if self.is_text(c) {
            spec = spec.text();
        }
        // On a terminal too narrow for every column, the least telling go first: the
        // kernel's further keys, offset, device, inode, swap; address, perms and path stay.
        let priority = match c {
            ShowColumn::Pid | ShowColumn::Address | ShowColumn::Path => ESSENTIAL,
            ShowColumn::Field(_) => 10,
            ShowColumn::Offset => 20,
            ShowColumn::Device => 30,
            ShowColumn::Inode => 35,
            ShowColumn::SwapPss => 40,
            ShowColumn::Swap => 50,
            ShowColumn::Kind => 60,
            ShowColumn::Dirty => 70,
            ShowColumn::Uss => 80,
            ShowColumn::Mappings => 90,
            ShowColumn::Size => 100,
            ShowColumn::Pss => 110,
            ShowColumn::Rss => 120,
            ShowColumn::Perms => 130,
        };
        let spec = spec.priority(priority);
        match c {
            // The header line names the process: no PID column in the table.
            ShowColumn::Pid => spec.not_in_table(),
            ShowColumn::Path => spec
                .empty_as("[anon]")
                .elide(Elide::Middle, PATH_MIN_WIDTH, None),
            // A narrow terminal shows where a mapping starts, as `pmap` does.
            ShowColumn::Address => spec.elide(Elide::Range, 16, None),
            _ => spec,
        }
    }

    /// The processes laid out: for the table one section per process shown, for CSV every
    /// mapping of every process read, `pid` first on every row.
    pub fn sheet<'a>(&self, report: &'a ShowReport) -> Sheet<'a> {
        let mut sections = Vec::new();
        for p in report.processes.iter().filter(|p| p.is_shown()) {
            let mut lines: Vec<Line<'a>> = p
                .rows
                .iter()
                .map(|r| Line {
                    role: Role::Data { blank: 0 },
                    cells: self.columns.iter().map(|&c| self.cell(c, p, r)).collect(),
                })
                .collect();
            let note = no_map_reason(&p.outcome).map(|reason| format!("  ({reason})"));
            if note.is_none() {
                let mut total: Vec<Cell<'a>> = self
                    .columns
                    .iter()
                    .map(|&c| self.cell(c, p, &p.totals))
                    .collect();
                if let Some(first) = self.columns.iter().position(|c| *c != ShowColumn::Pid) {
                    total[first] = Cell::Code(Cow::Borrowed("TOTAL"));
                }
                if let Some(i) = self.columns.iter().position(|c| *c == ShowColumn::Path) {
                    let n = p.totals.mappings;
                    let noun = if n == 1 { "mapping" } else { "mappings" };
                    total[i] = Cell::Code(Cow::Owned(format!("{} {noun}", thousands(n))));
                }
                lines.push(Line {
                    role: Role::TableOnly,
                    cells: total,
                });
            }
            sections.push(Section {
                title: Some(header_line(p)),
                note,
                lines,
            });
        }
        Sheet {
            columns: self.columns.iter().map(|&c| self.spec(c)).collect(),
            sections,
            unit: UnitRule::Fixed(ByteUnit::Kib),
            footer: Vec::new(),
            rows: None,
        }
    }
}

/// `1234: /usr/bin/prog --flag (alice)`.
pub fn header_line(p: &ShownProcess) -> String {
    let command = display(&p.command()).into_owned();
    let command = if command.chars().count() > COMMAND_WIDTH {
        let head: String = command.chars().take(COMMAND_WIDTH - 3).collect();
        format!("{head}...")
    } else {
        command
    };
    format!(
        "{}: {} ({})",
        p.info.pid,
        command,
        display(p.user.as_bytes())
    )
}
