//! The report's columns: their stable names (CSV headers, JSON keys, `--sort` and
//! `--columns` values), table headers, which group-by has which, and how a row yields each
//! cell. Percentage columns are shares of RAM or swap ([`Basis`], from meminfo).

use std::borrow::Cow;

use super::{Cell, ColumnSpec, Elide};
use crate::model::{Basis, GroupBy, Percent, Row, RowKey};
use crate::parse::kind_of;

/// A report column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Path,
    Kind,
    Pid,
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
    /// Shares of RAM (`MemTotal`).
    RssPct,
    PssPct,
    UssPct,
    SharedPct,
    /// Shares of swap (`SwapTotal`).
    SwapPct,
    SwapPssPct,
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
    pub const ALL: [Column; 20] = [
        Column::Path,
        Column::Kind,
        Column::Pid,
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
        Column::RssPct,
        Column::PssPct,
        Column::UssPct,
        Column::SharedPct,
        Column::SwapPct,
        Column::SwapPssPct,
    ];

    /// The stable name: JSON keys and `--sort` values.
    pub fn name(self) -> &'static str {
        match self {
            Column::Path => "path",
            Column::Kind => "kind",
            Column::Pid => "pid",
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
            Column::RssPct => "rss_pct",
            Column::PssPct => "pss_pct",
            Column::UssPct => "uss_pct",
            Column::SharedPct => "shared_pct",
            Column::SwapPct => "swap_pct",
            Column::SwapPssPct => "swap_pss_pct",
        }
    }

    /// For a percentage column, the byte column it is a share of, and whether the whole is
    /// swap (else RAM).
    pub fn percent_of(self) -> Option<(Column, bool)> {
        match self {
            Column::RssPct => Some((Column::Rss, false)),
            Column::PssPct => Some((Column::Pss, false)),
            Column::UssPct => Some((Column::Uss, false)),
            Column::SharedPct => Some((Column::Shared, false)),
            Column::SwapPct => Some((Column::Swap, true)),
            Column::SwapPssPct => Some((Column::SwapPss, true)),
            _ => None,
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
            Column::Pid => "PID",
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
            Column::RssPct => "RSS%",
            Column::PssPct => "PSS%",
            Column::UssPct => "USS%",
            Column::SharedPct => "Shared%",
            Column::SwapPct => "Swap%",
            Column::SwapPssPct => "SwapPSS%",
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
            Column::Path | Column::Kind | Column::User | Column::Command
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
            GroupBy::File => &[Column::Path, Column::Kind, Column::Processes],
            GroupBy::Process => &[Column::Pid, Column::User, Column::Command],
            GroupBy::User => &[Column::User, Column::Processes],
            GroupBy::Command => &[Column::Command, Column::Processes],
            GroupBy::Kind => &[Column::Kind, Column::Processes],
            GroupBy::FileProcess => &[
                Column::Path,
                Column::Kind,
                Column::Pid,
                Column::User,
                Column::Command,
                Column::Processes,
            ],
        };
        keys.iter().chain(METRICS.iter()).copied().collect()
    }

    /// Every column a view can show (`--columns`): its own, then the percentages.
    pub fn available(group_by: GroupBy) -> Vec<Column> {
        let mut all = Column::for_view(group_by);
        all.extend(Column::ALL.iter().filter(|c| c.percent_of().is_some()));
        all
    }

    /// The cell of this column in `row`, percentages of `basis`.
    pub fn cell_in<'r>(self, row: &'r Row, basis: &Basis) -> Cell<'r> {
        match self.percent_of() {
            Some((of, swap)) => {
                let whole = if swap { basis.swap } else { basis.ram };
                match of.cell(row) {
                    Cell::Bytes(Some(v)) => Cell::Percent(Percent::of(v, whole)),
                    _ => Cell::Percent(None),
                }
            }
            None => self.cell(row),
        }
    }

    /// The cell of this column in `row`; a percentage is unknown here (it needs a
    /// [`Basis`]: see [`Column::cell_in`]).
    pub fn cell(self, row: &Row) -> Cell<'_> {
        let c = &row.counters;
        let bytes = |bit: u16, v: u64| Cell::Bytes(c.is_known(bit).then_some(v));
        use crate::model::field as f;
        match self {
            Column::Path => match &row.key {
                RowKey::File(p) | RowKey::FileProcess { path: p, .. } => Cell::Text(p),
                _ => Cell::Empty,
            },
            Column::Kind => match &row.key {
                RowKey::File(p) | RowKey::FileProcess { path: p, .. } => {
                    Cell::Code(Cow::Borrowed(kind_of(p).as_str()))
                }
                RowKey::Kind(k) => Cell::Code(Cow::Borrowed(k.as_str())),
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
            _ => Cell::Percent(None),
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
            _ => spec,
        }
    }
}

/// Widest command line shown when the table is not on a terminal.
const COMMAND_WIDTH: usize = 80;
