//! The one column definition of each view: names (stable, for CSV, JSON and `--sort`),
//! table headers, and how a row yields each cell. Sorting and every renderer go through it,
//! so a column cannot mean one thing in the table and another in the CSV.

use crate::aggregate::{Row, RowKey};
use crate::config::GroupBy;
use crate::parse::classify;

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
}

/// One cell's value, before any rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell<'a> {
    /// Not applicable to this row.
    Empty,
    /// Raw bytes (paths, commands): escaped by each renderer in its own way.
    Text(&'a [u8]),
    /// A count.
    Count(u64),
    /// A count the source cannot give (mappings, read from `smaps_rollup`).
    Unknown,
    /// Bytes; `None` when the kernel did not print the key (unknown, not zero).
    Bytes(Option<u64>),
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
    pub const ALL: [Column; 14] = [
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

    /// The cell of this column in `row`.
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
                    Cell::Text(classify(p).as_str().as_bytes())
                }
                RowKey::Kind(k) => Cell::Text(k.as_str().as_bytes()),
                _ => Cell::Empty,
            },
            Column::Pid => match &row.key {
                RowKey::Process(p) | RowKey::FileProcess { proc: p, .. } => {
                    Cell::Count(u64::from(p.pid))
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
