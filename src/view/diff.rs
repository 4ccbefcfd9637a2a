//! The view of `pmaps diff`: which rows are listed (those that changed beyond the
//! thresholds, and unread processes; every row with `--all`), their order (the absolute
//! change of the sorted metric, largest first, then the key), their cut (`--top`), and their
//! columns: the status, the report's key columns, and per metric the old and new values, the
//! signed change and the change in percent.
//!
//! CSV carries every metric; the table shows the sorted metric's four columns and the
//! change of the other main metrics (RSS, PSS, USS, Swap), in signed human units.

use std::borrow::Cow;

use super::report::Column;
use super::{Cell, ColumnSpec, Line, Role, Sheet, UnitRule};
use crate::analyze::Metric;
use crate::analyze::diff::{Comparison, Key, MinChange, RowDiff, Side, Status, compared_by};
use crate::model::{GroupBy, Object, OutcomeKind};
use crate::parse::kind_of;
use crate::text::{plural, thousands};

/// How the rows are chosen, ordered and cut.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiffOptions {
    pub sort: Metric,
    /// Unchanged rows too.
    pub all: bool,
    pub min_change: Option<MinChange>,
    /// Rows to show; `None`: all.
    pub top: Option<usize>,
}

/// A column of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffColumn {
    Status,
    /// One of the report's key columns.
    Key(Column),
    Old(Metric),
    New(Metric),
    Change(Metric),
    Pct(Metric),
}

/// The main metrics, whose change the table shows besides the sorted one.
const TABLE_CHANGES: [Metric; 4] = [Metric::Rss, Metric::Pss, Metric::Uss, Metric::Swap];

/// Rows per status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub new: usize,
    pub gone: usize,
    pub changed: usize,
    pub same: usize,
    pub unread: usize,
    /// Rows that changed beyond the thresholds.
    pub notable: usize,
}

/// A comparison as a reader is shown it.
#[derive(Debug, Clone)]
pub struct DiffView<'a> {
    pub cmp: &'a Comparison,
    pub opts: DiffOptions,
    /// The rows listed, in order, cut by `--top`.
    pub rows: Vec<&'a RowDiff>,
    /// Rows listed before `--top` cut them.
    pub total_rows: usize,
}

impl<'a> DiffView<'a> {
    pub fn new(cmp: &'a Comparison, opts: DiffOptions) -> DiffView<'a> {
        let mut rows: Vec<&RowDiff> = cmp
            .rows
            .iter()
            .filter(|r| {
                opts.all
                    || r.status == Status::Unread
                    || r.notable_within(opts.sort, opts.min_change)
            })
            .collect();
        // Stable: rows of one size of change stay in key order.
        rows.sort_by_key(|r| std::cmp::Reverse(r.change(opts.sort).map(i128::unsigned_abs)));
        let total_rows = rows.len();
        rows.truncate(opts.top.filter(|n| *n > 0).unwrap_or(usize::MAX));
        DiffView {
            cmp,
            opts,
            rows,
            total_rows,
        }
    }

    /// The rows listed under `r` (a report of two levels): those that changed beyond the
    /// thresholds, and unread processes (every one with `--all`), by the absolute change of
    /// the sorted metric.
    pub fn children_of<'r>(&self, r: &'r RowDiff) -> impl Iterator<Item = &'r RowDiff> {
        let opts = self.opts;
        let mut listed: Vec<&RowDiff> = r
            .children
            .iter()
            .filter(|c| {
                opts.all || c.status == Status::Unread || c.notable(opts.sort, opts.min_change)
            })
            .collect();
        listed.sort_by_key(|c| std::cmp::Reverse(c.change(opts.sort).map(i128::unsigned_abs)));
        listed.into_iter()
    }

    /// Rows per status, over every row compared (the first level's, in a report of two).
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for r in &self.cmp.rows {
            match r.status {
                Status::New => c.new += 1,
                Status::Gone => c.gone += 1,
                Status::Changed => c.changed += 1,
                Status::Same => c.same += 1,
                Status::Unread => c.unread += 1,
            }
            if r.notable_within(self.opts.sort, self.opts.min_change) {
                c.notable += 1;
            }
        }
        c
    }

    /// Whether the report's view has a `processes` column (every group-by but `process` and
    /// `process,file`).
    pub fn has_processes(&self) -> bool {
        compared_by(self.cmp.group_by) != GroupBy::Process
    }

    /// The key columns of both levels of a report of two.
    fn key_columns(&self) -> Vec<Column> {
        Column::for_view(self.cmp.group_by)
            .into_iter()
            .filter(|c| {
                matches!(
                    c,
                    Column::Path
                        | Column::Kind
                        | Column::Device
                        | Column::Inode
                        | Column::Pid
                        | Column::StartTime
                        | Column::User
                        | Column::Command
                        | Column::Cgroup
                        | Column::Unit
                        | Column::Runtime
                        | Column::Container
                        | Column::Pod
                )
            })
            .collect()
    }

    /// The columns: for the table, the sorted metric in full and the main changes; for CSV,
    /// every metric in the report's order.
    pub fn columns(&self, table: bool) -> Vec<DiffColumn> {
        let mut cols = vec![DiffColumn::Status];
        cols.extend(self.key_columns().into_iter().map(DiffColumn::Key));
        let full = |m| {
            [
                DiffColumn::Old(m),
                DiffColumn::New(m),
                DiffColumn::Change(m),
                DiffColumn::Pct(m),
            ]
        };
        if table {
            cols.extend(full(self.opts.sort));
            cols.extend(
                TABLE_CHANGES
                    .into_iter()
                    .filter(|m| *m != self.opts.sort)
                    .map(DiffColumn::Change),
            );
        } else {
            for m in Metric::ALL {
                if m != Metric::Processes || self.has_processes() {
                    cols.extend(full(m));
                }
            }
        }
        cols
    }

    fn spec(&self, c: DiffColumn) -> ColumnSpec {
        let metric_spec = |m: Metric, suffix: &str, header: String| {
            let spec = ColumnSpec::new(format!("{}{suffix}", m.name()), header);
            if m.is_bytes() { spec.bytes() } else { spec }
        };
        match c {
            DiffColumn::Status => ColumnSpec::new("status", "Status").text(),
            DiffColumn::Key(k) => k.spec(),
            DiffColumn::Old(m) => metric_spec(m, "_old", format!("{} old", m.header())),
            DiffColumn::New(m) => metric_spec(m, "_new", format!("{} new", m.header())),
            DiffColumn::Change(m) => metric_spec(m, "_change", format!("\u{394}{}", m.header())),
            DiffColumn::Pct(m) => ColumnSpec::new(
                format!("{}_change_pct", m.name()),
                format!("\u{394}{} %", m.header()),
            ),
        }
    }

    /// The cell of `c` in `r`.
    pub fn cell<'r>(&self, c: DiffColumn, r: &'r RowDiff) -> Cell<'r> {
        match c {
            DiffColumn::Status => match r.key {
                Key::Total => Cell::Empty,
                _ => Cell::Code(Cow::Borrowed(r.status.as_str())),
            },
            DiffColumn::Key(k) => key_cell(k, r),
            DiffColumn::Old(m) => value_cell(m, r.old.is_some(), r.old_value(m)),
            DiffColumn::New(m) => value_cell(m, r.new.is_some(), r.new_value(m)),
            DiffColumn::Change(m) => Cell::Signed(r.change(m)),
            DiffColumn::Pct(m) => Cell::Relative(
                r.change_pct(m)
                    .map(|p| (p * 100.0).round().clamp(i64::MIN as f64, i64::MAX as f64) as i64),
            ),
        }
    }

    /// The rows laid out for the table (`table`) or CSV: the listed rows, then (table only)
    /// the totals, the counts and both coverages.
    pub fn sheet(&self, table: bool) -> Sheet<'a> {
        let cols = self.columns(table);
        let mut columns: Vec<ColumnSpec> = cols.iter().map(|c| self.spec(*c)).collect();
        // Two rows with one path are two different files (a library replaced): the table
        // then shows which is which.
        if self.shares_a_path() {
            for (spec, c) in columns.iter_mut().zip(&cols) {
                if matches!(c, DiffColumn::Key(Column::Device | Column::Inode)) {
                    spec.in_table = true;
                }
            }
        }
        let cells = |r: &'a RowDiff| cols.iter().map(|c| self.cell(*c, r)).collect();
        let mut lines: Vec<Line<'a>> = Vec::new();
        for r in &self.rows {
            lines.push(Line {
                role: Role::Data { blank: 0 },
                cells: cells(r),
            });
            for child in self.children_of(r) {
                // CSV repeats the row above's key on each row under it; the table does not.
                let mut cells: Vec<Cell<'a>> = cells(child);
                for (cell, c) in cells.iter_mut().zip(&cols) {
                    if let (DiffColumn::Key(k), Cell::Empty, false) = (c, &cell, table) {
                        *cell = key_cell(*k, r);
                    }
                }
                lines.push(Line {
                    role: Role::Data { blank: 0 },
                    cells,
                });
            }
        }
        let mut footer = Vec::new();
        if table {
            let mut total: Vec<Cell<'a>> = cells(&self.cmp.totals);
            if let Some(i) = cols.iter().position(|c| matches!(c, DiffColumn::Key(_))) {
                total[i] = Cell::Code(Cow::Borrowed("TOTAL"));
            }
            lines.push(Line {
                role: Role::TableOnly,
                cells: total,
            });
            if self.rows.len() < self.total_rows {
                footer.push(format!(
                    "... {} more rows (-n 0 shows all)",
                    thousands((self.total_rows - self.rows.len()) as u64)
                ));
            }
            footer.push(self.counts_line());
            footer.push(side_line("old", &self.cmp.old));
            footer.push(side_line("new", &self.cmp.new));
        }
        Sheet {
            footer,
            ..Sheet::one_section(columns, lines, UnitRule::PerCell, None)
        }
    }

    /// `2 changed, 1 new, 1 gone; 40 same (--all shows them)`.
    pub fn counts_line(&self) -> String {
        let c = self.counts();
        let mut parts = vec![
            format!("{} changed", thousands(c.changed as u64)),
            format!("{} new", thousands(c.new as u64)),
            format!("{} gone", thousands(c.gone as u64)),
        ];
        if c.unread > 0 {
            parts.push(format!(
                "{} unread (read in one report only: not counted as new or gone)",
                thousands(c.unread as u64)
            ));
        }
        let mut line = parts.join(", ");
        if let Some(min) = self.opts.min_change {
            let below = c.changed + c.new + c.gone - c.notable;
            let min = match min {
                MinChange::Bytes(b) => format!("{} bytes", thousands(b)),
                MinChange::Percent(p) => format!("{p}%"),
            };
            line.push_str(&format!(
                "; {} below --min-change {min} of {}",
                thousands(below as u64),
                self.opts.sort.name()
            ));
        }
        let same = if self.opts.all {
            format!("{} same", thousands(c.same as u64))
        } else {
            format!("{} same (--all shows them)", thousands(c.same as u64))
        };
        format!("{line}; {same}")
    }

    /// Whether two listed rows name the same path (different objects).
    fn shares_a_path(&self) -> bool {
        super::repeats(self.rows.iter().filter_map(|r| match &r.key {
            Key::File { path, .. } => Some(path.as_slice()),
            _ => None,
        }))
    }
}

fn value_cell(m: Metric, present: bool, v: Option<u64>) -> Cell<'static> {
    match (present, m.is_bytes()) {
        (false, _) => Cell::Empty,
        (true, true) => Cell::Bytes(v),
        (true, false) => v.map_or(Cell::Unknown, Cell::Count),
    }
}

fn key_cell(c: Column, r: &RowDiff) -> Cell<'_> {
    match (&r.key, c) {
        (Key::File { path, .. }, Column::Path) => Cell::Text(path),
        (Key::File { path, .. }, Column::Kind) => Cell::Code(Cow::Borrowed(
            r.labels.kind.unwrap_or_else(|| kind_of(path)).as_str(),
        )),
        (Key::Kind(k), Column::Kind) => Cell::Code(Cow::Borrowed(k.as_str())),
        (Key::File { device, inode, .. }, Column::Device) => Cell::Code(Cow::Owned(
            Object {
                dev_major: device.0,
                dev_minor: device.1,
                inode: *inode,
            }
            .device(),
        )),
        (Key::File { inode, .. }, Column::Inode) => Cell::Id(*inode),
        (Key::Process { pid, .. }, Column::Pid) => Cell::Id(u64::from(*pid)),
        (Key::Process { start_time, .. }, Column::StartTime) => Cell::Id(*start_time),
        (Key::Process { .. }, Column::User) => {
            r.labels.user.as_deref().map_or(Cell::Empty, Cell::Text)
        }
        (Key::Process { .. }, Column::Command) => {
            r.labels.command.as_deref().map_or(Cell::Empty, Cell::Text)
        }
        (Key::User(u), Column::User) => Cell::Text(u),
        (Key::Command(cmd), Column::Command) => Cell::Text(cmd),
        (Key::Cgroup(c), Column::Cgroup) => Cell::Text(c),
        (Key::Unit(u), Column::Unit) => Cell::Text(u),
        (Key::Unit(_), Column::Cgroup) => {
            r.labels.cgroup.as_deref().map_or(Cell::Empty, Cell::Text)
        }
        (Key::Container { runtime, .. }, Column::Runtime) => Cell::Text(runtime),
        (Key::Container { id, .. }, Column::Container) => Cell::Text(id),
        (Key::Container { .. }, Column::Pod) => {
            r.labels.pod.as_deref().map_or(Cell::Empty, Cell::Text)
        }
        _ => Cell::Empty,
    }
}

/// `old a.json (2026-11-28T10:00:00Z, host web1): 67 processes: 8 read, 1 denied`.
pub fn side_line(role: &str, s: &Side) -> String {
    let mut parts = Vec::new();
    for kind in OutcomeKind::ALL {
        let n = s.count(kind);
        if n > 0 || kind == OutcomeKind::Read {
            parts.push(match kind {
                OutcomeKind::KernelThread => plural(n, "kernel thread", "kernel threads"),
                OutcomeKind::Zombie => plural(n, "zombie", "zombies"),
                other => format!("{} {}", thousands(n), other.as_str()),
            });
        }
    }
    let total: u64 = s.outcomes.iter().sum();
    let host = s
        .host
        .as_deref()
        .map(|h| format!(", host {h}"))
        .unwrap_or_default();
    let partial = if s.complete { "" } else { " (partial)" };
    format!(
        "{role} {} ({}{host}): {}: {}{partial}",
        s.name,
        s.time_utc,
        plural(total, "process", "processes"),
        parts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::diff::{Entry, Labels, Unread, diff};

    fn side(name: &str) -> Side {
        Side {
            name: name.into(),
            time_utc: "2026-11-28T10:00:00Z".into(),
            host: None,
            outcomes: [2, 0, 0, 0, 0, 0, 0],
            complete: true,
        }
    }

    fn entry(pid: u32, pss: u64) -> Entry {
        let mut values = [Some(0); 9];
        values[Metric::Pss as usize] = Some(pss);
        Entry {
            key: Key::Process { pid, start_time: 5 },
            labels: Labels {
                user: Some(b"root".to_vec()),
                command: Some(b"x".to_vec()),
                ..Labels::default()
            },
            values,
            children: Vec::new(),
        }
    }

    fn cmp(old: Vec<Entry>, new: Vec<Entry>) -> Comparison {
        let totals =
            crate::analyze::diff::compare(Key::Total, entry(0, 0), entry(0, 0), &Unread::default());
        Comparison {
            group_by: GroupBy::Process,
            old: side("a.json"),
            new: side("now"),
            rows: diff(old, new, &Unread::default()),
            totals,
        }
    }

    #[test]
    fn rows_by_absolute_change_unchanged_hidden_and_a_signed_table() {
        let c = cmp(
            vec![entry(1, 4096), entry(2, 1 << 20), entry(3, 8192)],
            vec![
                entry(1, 4096),
                entry(2, 4096),
                entry(3, 16384),
                entry(4, 8192),
            ],
        );
        let opts = DiffOptions {
            sort: Metric::Pss,
            all: false,
            min_change: None,
            top: None,
        };
        let view = DiffView::new(&c, opts);
        let pids: Vec<Key> = view.rows.iter().map(|r| r.key.clone()).collect();
        let k = |pid| Key::Process { pid, start_time: 5 };
        // -1020 KiB, then +8 KiB twice (key order); PID 1 did not change.
        assert_eq!(pids, [k(2), k(3), k(4)]);
        let counts = view.counts();
        assert_eq!(
            (counts.changed, counts.new, counts.same, counts.notable),
            (2, 1, 1, 3)
        );
        let table = crate::render::table::render(&view.sheet(true), None);
        assert!(table.contains("-1020K"), "{table}");
        assert!(table.contains("+8K"), "{table}");
        assert!(table.contains("-99.6%"), "{table}");
        assert!(
            table.contains("2 changed, 1 new, 0 gone; 1 same (--all shows them)"),
            "{table}"
        );
        let all = DiffView::new(&c, DiffOptions { all: true, ..opts });
        assert_eq!(all.rows.len(), 4);
        let csv = crate::render::csv::render(&view.sheet(false)).expect("csv");
        let csv = String::from_utf8(csv).expect("utf-8");
        let header = csv.lines().next().expect("header");
        assert!(
            header.starts_with("status,pid,start_time,user,command,mappings_old,"),
            "{header}"
        );
        assert!(header.contains(",pss_old_bytes,pss_new_bytes,pss_change_bytes,pss_change_pct,"));
        assert!(csv.contains("changed,2,5,root,x,"), "{csv}");
        assert!(csv.contains(",1048576,4096,-1044480,-99.61,"), "{csv}");
    }
}
