//! What changed between two reports: rows matched by identity, never by position or by PID
//! alone.
//!
//! - A process is (PID, start time): a PID reused by another process is one row `gone` and
//!   one row `new`, never a change.
//! - A file is its mapped object and its path (device, inode, path bytes).
//! - User, command, kind, cgroup and unit rows are matched by name (exact bytes); a
//!   container by its runtime and ID.
//! - A report of two levels (`file,process`, `process,file`, `file,container`,
//!   `container,file`) is matched by its first level's rows, and under each matched row by
//!   its second level's (a file's processes, a process's files).
//!
//! Each matched row is `changed` when any metric differs, `same` otherwise; a row on one
//! side only is `new` or `gone`, unless it is a process whose PID the other report could not
//! read (denied, incomplete or in error there): then it is `unread`, which is no change in
//! memory, only in what was seen.

use std::collections::HashMap;

use super::Metric;
use crate::model::{GroupBy, MapKind, OutcomeKind};

/// What a row stands for, as two reports are matched.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// A mapped object: device (major, minor), inode and the exact path bytes.
    File {
        device: (u32, u32),
        inode: u64,
        path: Vec<u8>,
    },
    /// A process: PID and start time (clock ticks since boot).
    Process {
        pid: u32,
        start_time: u64,
    },
    /// A user, by name.
    User(Vec<u8>),
    /// A command name.
    Command(Vec<u8>),
    Kind(MapKind),
    /// A cgroup, by its path (`-`: processes whose cgroup was not read).
    Cgroup(Vec<u8>),
    /// A systemd unit, by name.
    Unit(Vec<u8>),
    /// A container: its runtime and ID (`-` and `-` for the host's processes).
    Container {
        runtime: Vec<u8>,
        id: Vec<u8>,
    },
    /// The totals of the report.
    Total,
}

/// What a row shows besides its key: a process's user and command line, a file's kind, a
/// unit's cgroup, a container's pod.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels {
    pub user: Option<Vec<u8>>,
    pub command: Option<Vec<u8>>,
    pub kind: Option<MapKind>,
    pub cgroup: Option<Vec<u8>>,
    pub pod: Option<Vec<u8>>,
}

/// The group-by of a report's first level of rows (its rows, for a report of one level).
pub fn compared_by(g: GroupBy) -> GroupBy {
    match g {
        GroupBy::FileProcess | GroupBy::FileContainer => GroupBy::File,
        GroupBy::ProcessFile => GroupBy::Process,
        GroupBy::ContainerFile => GroupBy::Container,
        g => g,
    }
}

/// The group-by of a report's second level of rows, under each first-level row.
pub fn nested_by(g: GroupBy) -> Option<GroupBy> {
    match g {
        GroupBy::FileProcess => Some(GroupBy::Process),
        GroupBy::FileContainer => Some(GroupBy::Container),
        GroupBy::ProcessFile | GroupBy::ContainerFile => Some(GroupBy::File),
        _ => None,
    }
}

/// One value per [`Metric`] (indexed by it); `None`: unknown.
pub type Values = [Option<u64>; 9];

/// One row of one report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: Key,
    pub labels: Labels,
    pub values: Values,
    /// The rows under it, in a report of two levels.
    pub children: Vec<Entry>,
}

/// How a row compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Only in the new report.
    New,
    /// Only in the old report.
    Gone,
    /// In both, some metric differs.
    Changed,
    /// In both, every metric equal.
    Same,
    /// A process in one report whose PID the other could not read.
    Unread,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::New,
        Status::Gone,
        Status::Changed,
        Status::Same,
        Status::Unread,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Gone => "gone",
            Status::Changed => "changed",
            Status::Same => "same",
            Status::Unread => "unread",
        }
    }
}

/// The smallest change that counts (`--min-change`), on the sorted metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MinChange {
    Bytes(u64),
    /// Percent of the old value (a row that was 0 or absent passes any percentage).
    Percent(f64),
}

/// One row of the comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowDiff {
    pub key: Key,
    /// The new report's labels when it has the row, else the old one's.
    pub labels: Labels,
    pub status: Status,
    pub old: Option<Values>,
    pub new: Option<Values>,
    /// The rows under it (a report of two levels), matched the same way, ordered by key.
    pub children: Vec<RowDiff>,
}

impl RowDiff {
    /// The old value of `m` (`None`: absent or unknown).
    pub fn old_value(&self, m: Metric) -> Option<u64> {
        self.old.and_then(|v| v[m as usize])
    }

    /// The new value of `m`.
    pub fn new_value(&self, m: Metric) -> Option<u64> {
        self.new.and_then(|v| v[m as usize])
    }

    /// New minus old: the whole value for a row that is new, minus it for one that is
    /// gone; `None` when a side is unknown, or the row is unread.
    pub fn change(&self, m: Metric) -> Option<i128> {
        let (old, new) = (self.old_value(m), self.new_value(m));
        match self.status {
            Status::Unread => None,
            Status::New => new.map(i128::from),
            Status::Gone => old.map(|o| -i128::from(o)),
            Status::Changed | Status::Same => Some(i128::from(new?) - i128::from(old?)),
        }
    }

    /// The change in percent of the old value; `None` when the old value is 0 or absent
    /// (growth from nothing has no percentage).
    pub fn change_pct(&self, m: Metric) -> Option<f64> {
        let old = self.old_value(m).filter(|o| *o > 0)?;
        Some(self.change(m)? as f64 * 100.0 / old as f64)
    }

    /// Whether the row, or a row under it, changed beyond `min` on `metric`.
    pub fn notable_within(&self, metric: Metric, min: Option<MinChange>) -> bool {
        self.notable(metric, min) || self.children.iter().any(|c| c.notable(metric, min))
    }

    /// Whether the row changed beyond `min` on `metric` (any change at all when `min` is
    /// `None`). `same` and `unread` rows never do.
    pub fn notable(&self, metric: Metric, min: Option<MinChange>) -> bool {
        if matches!(self.status, Status::Same | Status::Unread) {
            return false;
        }
        let Some(min) = min else {
            return true;
        };
        let Some(change) = self.change(metric).filter(|c| *c != 0) else {
            return false;
        };
        match min {
            MinChange::Bytes(b) => change.unsigned_abs() >= u128::from(b),
            MinChange::Percent(p) => self.change_pct(metric).is_none_or(|x| x.abs() >= p),
        }
    }
}

/// PIDs that a report could not read (its denied, incomplete and failed processes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unread {
    pub old: Vec<u32>,
    pub new: Vec<u32>,
}

/// What a comparison says of one of its reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    /// How messages name it: the file as given, or `now`.
    pub name: String,
    pub time_utc: String,
    pub host: Option<String>,
    /// Processes per outcome, indexed by [`OutcomeKind`].
    pub outcomes: [u64; 7],
    pub complete: bool,
}

impl Side {
    pub fn count(&self, kind: OutcomeKind) -> u64 {
        self.outcomes[kind as usize]
    }
}

/// Two reports compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub group_by: GroupBy,
    pub old: Side,
    pub new: Side,
    /// Every row, ordered by key (the view orders and cuts them).
    pub rows: Vec<RowDiff>,
    pub totals: RowDiff,
}

/// Adds `b` into `a`: a sum is unknown when either side is.
fn add_values(a: &mut Values, b: &Values) {
    for (x, y) in a.iter_mut().zip(b) {
        *x = match (*x, *y) {
            (Some(x), Some(y)) => Some(x.saturating_add(y)),
            _ => None,
        };
    }
}

/// One side's rows by key. Two rows with one key (only a hand-made document has them) are
/// added together.
fn by_key(entries: Vec<Entry>) -> HashMap<Key, Entry> {
    let mut map: HashMap<Key, Entry> = HashMap::with_capacity(entries.len());
    for e in entries {
        match map.get_mut(&e.key) {
            Some(seen) => {
                add_values(&mut seen.values, &e.values);
                seen.children.extend(e.children);
            }
            None => {
                map.insert(e.key.clone(), e);
            }
        }
    }
    map
}

/// Compares two rows known to be the same thing, and the rows under them: `same` when
/// every value is equal and every row under it is the same.
pub fn compare(key: Key, old: Entry, new: Entry, unread: &Unread) -> RowDiff {
    let children = diff(old.children, new.children, unread);
    let status = if old.values == new.values && children.iter().all(|c| c.status == Status::Same) {
        Status::Same
    } else {
        Status::Changed
    };
    RowDiff {
        key,
        labels: new.labels,
        status,
        old: Some(old.values),
        new: Some(new.values),
        children,
    }
}

/// Matches the rows of two reports by key. The result is ordered by key.
pub fn diff(old: Vec<Entry>, new: Vec<Entry>, unread: &Unread) -> Vec<RowDiff> {
    let mut old = by_key(old);
    let new = by_key(new);
    // A row on one side only: `new` or `gone`, or `unread` for a process whose PID the other
    // side could not read.
    let alone = |key: Key, e: Entry, in_new: bool| {
        let (other_unread, status) = match in_new {
            true => (&unread.old, Status::New),
            false => (&unread.new, Status::Gone),
        };
        let is_unread = matches!(&key, Key::Process { pid, .. } if other_unread.contains(pid));
        let children = match in_new {
            true => diff(Vec::new(), e.children, unread),
            false => diff(e.children, Vec::new(), unread),
        };
        RowDiff {
            key,
            labels: e.labels,
            status: if is_unread { Status::Unread } else { status },
            old: (!in_new).then_some(e.values),
            new: in_new.then_some(e.values),
            children,
        }
    };
    let mut rows = Vec::with_capacity(old.len().max(new.len()));
    for (key, n) in new {
        rows.push(match old.remove(&key) {
            Some(o) => compare(key, o, n, unread),
            None => alone(key, n, true),
        });
    }
    rows.extend(old.into_iter().map(|(key, o)| alone(key, o, false)));
    rows.sort_by(|a, b| a.key.cmp(&b.key));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pss: u64) -> Values {
        let mut v = [Some(0); 9];
        v[Metric::Pss as usize] = Some(pss);
        v[Metric::Processes as usize] = None;
        v
    }

    fn proc_entry(pid: u32, start_time: u64, pss: u64) -> Entry {
        Entry {
            key: Key::Process { pid, start_time },
            labels: Labels {
                user: Some(b"root".to_vec()),
                command: Some(format!("cmd{pid}").into_bytes()),
                ..Labels::default()
            },
            values: values(pss),
            children: Vec::new(),
        }
    }

    fn status_of(rows: &[RowDiff], key: &Key) -> Vec<Status> {
        rows.iter()
            .filter(|r| &r.key == key)
            .map(|r| r.status)
            .collect()
    }

    #[test]
    fn a_reused_pid_is_gone_and_new_never_changed() {
        let old = vec![proc_entry(7, 100, 4096), proc_entry(8, 100, 8192)];
        let new = vec![proc_entry(7, 555, 4096), proc_entry(8, 100, 12288)];
        let rows = diff(old, new, &Unread::default());
        assert_eq!(rows.len(), 3);
        let k = |pid, start_time| Key::Process { pid, start_time };
        assert_eq!(status_of(&rows, &k(7, 100)), [Status::Gone]);
        assert_eq!(status_of(&rows, &k(7, 555)), [Status::New]);
        assert_eq!(status_of(&rows, &k(8, 100)), [Status::Changed]);
        let changed = rows.iter().find(|r| r.key == k(8, 100)).expect("row");
        assert_eq!(changed.change(Metric::Pss), Some(4096));
        assert_eq!(changed.change_pct(Metric::Pss), Some(50.0));
        let gone = rows.iter().find(|r| r.key == k(7, 100)).expect("row");
        assert_eq!(gone.change(Metric::Pss), Some(-4096));
        assert_eq!(gone.change_pct(Metric::Pss), Some(-100.0));
        let new = rows.iter().find(|r| r.key == k(7, 555)).expect("row");
        assert_eq!(new.change(Metric::Pss), Some(4096));
        assert_eq!(new.change_pct(Metric::Pss), None);
        // Unknown is not zero: no change can be given.
        assert_eq!(changed.change(Metric::Processes), None);
    }

    #[test]
    fn a_report_against_itself_is_all_same() {
        let rows: Vec<Entry> = (1..50).map(|p| proc_entry(p, 1, u64::from(p))).collect();
        let out = diff(rows.clone(), rows, &Unread::default());
        assert_eq!(out.len(), 49);
        assert!(out.iter().all(|r| r.status == Status::Same));
        assert!(out.iter().all(|r| !r.notable(Metric::Pss, None)));
    }

    #[test]
    fn files_are_objects_not_paths() {
        let file = |inode, pss| Entry {
            key: Key::File {
                device: (254, 0),
                inode,
                path: b"/usr/lib/libc.so.6".to_vec(),
            },
            labels: Labels::default(),
            values: values(pss),
            children: Vec::new(),
        };
        // The library was replaced: same path, another inode.
        let rows = diff(
            vec![file(10, 4096)],
            vec![file(11, 4096)],
            &Unread::default(),
        );
        let statuses: Vec<Status> = rows.iter().map(|r| r.status).collect();
        assert_eq!(statuses, [Status::Gone, Status::New]);
    }

    #[test]
    fn a_process_denied_on_one_side_is_unread_not_new_memory() {
        let old = vec![proc_entry(1, 1, 100)];
        let new = vec![proc_entry(1, 1, 100), proc_entry(9, 3, 1 << 20)];
        let unread = Unread {
            old: vec![9],
            new: vec![],
        };
        let rows = diff(old.clone(), new.clone(), &unread);
        let nine = rows
            .iter()
            .find(|r| r.labels.command.as_deref() == Some(b"cmd9"));
        let nine = nine.expect("row");
        assert_eq!(nine.status, Status::Unread);
        assert_eq!(nine.change(Metric::Pss), None);
        assert!(!nine.notable(Metric::Pss, None));
        // The other way round: read before, denied now.
        let unread = Unread {
            old: vec![],
            new: vec![9],
        };
        let rows = diff(new, old, &unread);
        assert!(rows.iter().any(|r| r.status == Status::Unread));
        assert!(!rows.iter().any(|r| r.status == Status::Gone));
    }

    #[test]
    fn thresholds_in_bytes_and_percent() {
        let rows = diff(
            vec![proc_entry(1, 1, 1000), proc_entry(2, 1, 0)],
            vec![proc_entry(1, 1, 1100), proc_entry(2, 1, 50)],
            &Unread::default(),
        );
        let one = &rows[0];
        let two = &rows[1];
        assert!(one.notable(Metric::Pss, None));
        assert!(one.notable(Metric::Pss, Some(MinChange::Bytes(100))));
        assert!(!one.notable(Metric::Pss, Some(MinChange::Bytes(101))));
        assert!(one.notable(Metric::Pss, Some(MinChange::Percent(10.0))));
        assert!(!one.notable(Metric::Pss, Some(MinChange::Percent(10.5))));
        // From 0, any percentage passes; in bytes it is the bytes that count.
        assert!(two.notable(Metric::Pss, Some(MinChange::Percent(1000.0))));
        assert!(!two.notable(Metric::Pss, Some(MinChange::Bytes(51))));
        // A change in another metric only passes no threshold on this one.
        assert!(!one.notable(Metric::Rss, Some(MinChange::Bytes(1))));
    }

    #[test]
    fn duplicate_keys_in_a_hand_made_document_add_up() {
        let rows = diff(
            vec![proc_entry(1, 1, 10), proc_entry(1, 1, 20)],
            vec![proc_entry(1, 1, 30)],
            &Unread::default(),
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].status, Status::Same);
        let huge = diff(
            vec![proc_entry(1, 1, u64::MAX), proc_entry(1, 1, u64::MAX)],
            vec![proc_entry(1, 1, 0)],
            &Unread::default(),
        );
        assert_eq!(huge[0].change(Metric::Pss), Some(-i128::from(u64::MAX)));
    }

    #[test]
    fn the_rows_under_a_file_are_matched_too() {
        let lib = |children: Vec<Entry>| Entry {
            key: Key::File {
                device: (254, 0),
                inode: 10,
                path: b"/usr/lib/libc.so.6".to_vec(),
            },
            labels: Labels::default(),
            values: values(
                children
                    .iter()
                    .filter_map(|c| c.values[Metric::Pss as usize])
                    .sum(),
            ),
            children,
        };
        // One process's share moved to another: the file's PSS is unchanged.
        let old = lib(vec![proc_entry(1, 1, 3000), proc_entry(2, 1, 1000)]);
        let new = lib(vec![proc_entry(1, 1, 2000), proc_entry(2, 1, 2000)]);
        let rows = diff(vec![old.clone()], vec![new], &Unread::default());
        let file = &rows[0];
        assert_eq!(file.status, Status::Changed);
        assert_eq!(file.change(Metric::Pss), Some(0));
        let changes: Vec<Option<i128>> = file
            .children
            .iter()
            .map(|c| c.change(Metric::Pss))
            .collect();
        assert_eq!(changes, [Some(-1000), Some(1000)]);
        assert!(file.notable_within(Metric::Pss, Some(MinChange::Bytes(1000))));
        assert!(!file.notable(Metric::Pss, Some(MinChange::Bytes(1000))));
        // A file that is gone takes its processes with it; one that is the same is same.
        let rows = diff(vec![old.clone()], Vec::new(), &Unread::default());
        assert!(rows[0].children.iter().all(|c| c.status == Status::Gone));
        let rows = diff(vec![old.clone()], vec![old], &Unread::default());
        assert_eq!(rows[0].status, Status::Same);
    }
}
