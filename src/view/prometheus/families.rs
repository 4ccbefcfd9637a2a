//! The families of the Prometheus view: their names, labels and measures, how each is
//! derived from the file rows and their per-process children (a unit's charge from the
//! report's counters of unit cgroups), and how a family is ranked and cut (the top rows
//! kept, the rest summed into one row).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use super::{Bounds, CMDLINE_LABEL_BYTES, LabelValue, OTHER};
use crate::model::{Cgroup, Container, Counters, GroupBy, MapKind, Report, Row, RowKey};
use crate::parse;
use crate::view::report::{Column, sort_rows};

/// A family of series over the report's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Family {
    File,
    Kind,
    User,
    Command,
    Process,
    Unit,
    Container,
}

impl Family {
    pub(super) fn name(self) -> &'static str {
        match self {
            Family::File => "file",
            Family::Kind => "kind",
            Family::User => "user",
            Family::Command => "command",
            Family::Process => "process",
            Family::Unit => "unit",
            Family::Container => "container",
        }
    }

    pub(super) fn noun(self) -> &'static str {
        match self {
            Family::File => "mapped file (path, kind, device, inode)",
            Family::Kind => "mapping kind",
            Family::User => "user (effective uid)",
            Family::Command => "command name (comm)",
            Family::Process => "process",
            Family::Unit => {
                "systemd unit (the service or scope its cgroup path ends in; unit and cgroup \
                 empty for the processes in none)"
            }
            Family::Container => {
                "container (runtime, ID and Kubernetes pod UID; empty for the host's processes)"
            }
        }
    }

    /// The measures of the family: processes (but for the process family), mappings, bytes,
    /// and for units and containers their cgroup's own charge (as their views show it).
    pub(super) fn metrics(self) -> Vec<Column> {
        let counts: &[Column] = match self {
            Family::Process => &[Column::Mappings],
            _ => &[Column::Processes, Column::Mappings],
        };
        let view = match self {
            Family::Unit => GroupBy::Unit,
            Family::Container => GroupBy::Container,
            _ => GroupBy::File,
        };
        let bytes = Column::for_view(view).into_iter().filter(|c| c.is_bytes());
        counts.iter().copied().chain(bytes).collect()
    }

    pub(super) fn label_names(self) -> &'static [&'static str] {
        match self {
            Family::File => &["path", "kind", "device", "inode"],
            Family::Kind => &["kind"],
            Family::User => &["user", "uid"],
            Family::Command => &["command"],
            Family::Process => &["pid", "start_time", "user", "command", "cmdline"],
            Family::Unit => &["unit", "cgroup"],
            Family::Container => &["runtime", "container", "pod"],
        }
    }

    pub(super) fn labels(self, row: &Row) -> Vec<(&'static str, LabelValue)> {
        let code = |s: &str| LabelValue::Code(s.to_string());
        match &row.key {
            // Two files with one path (another mount namespace, a replaced file) are two
            // series: the object tells them apart.
            RowKey::File {
                path: p,
                object,
                kind,
            } => vec![
                ("path", LabelValue::Raw(p.clone())),
                ("kind", code(kind.as_str())),
                ("device", code(&object.device())),
                ("inode", code(&object.inode.to_string())),
            ],
            RowKey::Kind(k) => vec![("kind", code(k.as_str()))],
            RowKey::User { uid, name } => vec![
                ("user", LabelValue::Raw(name.as_bytes().to_vec())),
                ("uid", code(&uid.map_or(String::new(), |u| u.to_string()))),
            ],
            RowKey::Command(c) => vec![("command", LabelValue::Raw(c.clone()))],
            RowKey::Process(p) => vec![
                ("pid", code(&p.pid.to_string())),
                ("start_time", code(&p.start_time.to_string())),
                ("user", LabelValue::Raw(p.user.as_bytes().to_vec())),
                ("command", LabelValue::Raw(p.comm.clone())),
                (
                    "cmdline",
                    LabelValue::Raw(cap_bytes(&p.command, CMDLINE_LABEL_BYTES).to_vec()),
                ),
            ],
            // Two units of one name (`init.scope` of the host and of a user's manager) are
            // two series: the cgroup tells them apart.
            RowKey::Unit { cgroup, .. } => {
                let unit = cgroup.as_ref().and_then(|c| parse::unit_of(&c.path));
                vec![
                    (
                        "unit",
                        unit.map_or(code(""), |u| LabelValue::Raw(u.to_vec())),
                    ),
                    (
                        "cgroup",
                        cgroup
                            .as_ref()
                            .map_or(code(""), |c| LabelValue::Raw(c.path.clone())),
                    ),
                ]
            }
            RowKey::Container {
                container: Some(c), ..
            } => vec![
                ("runtime", code(c.runtime.as_str())),
                ("container", LabelValue::Raw(c.id.clone())),
                ("pod", c.pod.clone().map_or(code(""), LabelValue::Raw)),
            ],
            RowKey::Container {
                container: None, ..
            } => self.label_names().iter().map(|&n| (n, code(""))).collect(),
            // The folded series.
            _ => self
                .label_names()
                .iter()
                .map(|&n| (n, code(OTHER)))
                .collect(),
        }
    }

    pub(super) fn help(self, col: Column) -> String {
        let what = match col {
            Column::Processes => match self {
                Family::File => "Processes mapping each",
                Family::Kind => "Processes with mappings of each",
                _ => "Processes of each",
            },
            Column::Mappings => "Mappings of each",
            Column::Size => "Virtual size (VSZ) of the mappings of each",
            Column::Rss => "Resident set size (RSS) of each",
            Column::Pss => {
                "Proportional set size (PSS: each resident page divided by the processes \
                 mapping it) of each"
            }
            Column::Uss => "Unique set size (USS: Private_Clean + Private_Dirty) of each",
            Column::Shared => "Shared memory (Shared_Clean + Shared_Dirty) of each",
            Column::Swap => "Swapped-out memory of each",
            Column::Charge => {
                "The own charge (memory.current; v1 memory.usage_in_bytes: page cache and kernel \
                 memory included) of the cgroup of each"
            }
            Column::ChargeAnon => "Anonymous memory charged to the cgroup of each",
            Column::ChargeFile => {
                "Page cache (mapped or not, shmem and tmpfs included) charged to the cgroup of each"
            }
            Column::ChargeShmem => "Shared memory and tmpfs charged to the cgroup of each",
            Column::ChargeKernel => "Kernel memory charged to the cgroup of each",
            _ => "Proportional swap (SwapPss) of each",
        };
        let unit = if col.is_bytes() { ", in bytes" } else { "" };
        let rest = match self {
            Family::Kind => String::new(),
            _ if col.is_charge() => format!(
                " Absent where the counter is unknown; the {OTHER} series has none (the charges \
                 of separate cgroups are not summed)."
            ),
            _ => format!(
                " The series labelled {OTHER} sums the rows beyond --prom-top or under --prom-min."
            ),
        };
        format!("{what} {}{unit}.{rest}", self.noun())
    }
}

/// The longest prefix of `b` of at most `max` bytes that does not cut a UTF-8 character.
fn cap_bytes(b: &[u8], max: usize) -> &[u8] {
    if b.len() <= max {
        return b;
    }
    let head = &b[..max];
    match std::str::from_utf8(head) {
        Err(e) if e.error_len().is_none() => &head[..e.valid_up_to()],
        _ => head,
    }
}

/// What a row weighs when the rows of a family are ranked: its share of RAM and of swap.
fn weight(row: &Row) -> u64 {
    row.counters.pss.saturating_add(row.counters.swap_pss)
}

/// Adds `src`'s counters and mappings into `dst` (a mapping count unknown on either side
/// makes the sum unknown).
pub(super) fn absorb(dst: &mut Row, src: &Row) {
    dst.counters += &src.counters;
    dst.mappings = dst.mappings.zip(src.mappings).map(|(a, b)| a + b);
}

pub(super) fn empty_row(key: RowKey) -> Row {
    Row {
        key,
        processes: 0,
        mappings: Some(0),
        counters: Counters::default(),
        children: Vec::new(),
    }
}

/// The rows of every family, derived from the file rows and their per-process children.
pub(super) struct Derived<'r> {
    pub(super) files: Vec<&'r Row>,
    pub(super) kinds: Vec<Row>,
    pub(super) processes: Vec<Row>,
    pub(super) users: Vec<Row>,
    pub(super) commands: Vec<Row>,
    pub(super) units: Vec<Row>,
    pub(super) containers: Vec<Row>,
}

impl<'r> Derived<'r> {
    pub(super) fn of(report: &'r Report) -> Derived<'r> {
        let files: Vec<&Row> = report
            .rows
            .iter()
            .filter(|r| matches!(r.key, RowKey::File { .. }))
            .collect();
        let mut kinds: BTreeMap<MapKind, (Row, BTreeSet<u32>)> = BTreeMap::new();
        let mut procs: BTreeMap<u32, Row> = BTreeMap::new();
        for f in &files {
            let RowKey::File { kind, .. } = f.key else {
                continue;
            };
            let (row, pids) = kinds
                .entry(kind)
                .or_insert_with(|| (empty_row(RowKey::Kind(kind)), BTreeSet::new()));
            absorb(row, f);
            for child in &f.children {
                let RowKey::FileProcess { proc, .. } = &child.key else {
                    continue;
                };
                pids.insert(proc.pid);
                let p = procs.entry(proc.pid).or_insert_with(|| Row {
                    processes: 1,
                    ..empty_row(RowKey::Process(proc.clone()))
                });
                absorb(p, child);
            }
        }
        let mut users: BTreeMap<(Option<u32>, String), Row> = BTreeMap::new();
        let mut commands: BTreeMap<Vec<u8>, Row> = BTreeMap::new();
        let mut units: BTreeMap<Option<Cgroup>, Row> = BTreeMap::new();
        let mut containers: BTreeMap<Option<Container>, Row> = BTreeMap::new();
        for p in procs.values() {
            let RowKey::Process(d) = &p.key else { continue };
            let unit = d.cgroup.as_ref().and_then(parse::unit_cgroup);
            let found = d.cgroup.as_ref().and_then(parse::container_cgroup);
            let (container, container_cgroup) =
                found.map_or((None, None), |(c, g)| (Some(c), Some(g)));
            let groups = [
                users.entry((d.uid, d.user.clone())).or_insert_with(|| {
                    empty_row(RowKey::User {
                        uid: d.uid,
                        name: d.user.clone(),
                    })
                }),
                commands
                    .entry(d.comm.clone())
                    .or_insert_with(|| empty_row(RowKey::Command(d.comm.clone()))),
                units.entry(unit.clone()).or_insert_with(|| {
                    let charge = unit.as_ref().and_then(|u| report.charges.get(u));
                    empty_row(RowKey::Unit {
                        charge: charge.copied().unwrap_or_default(),
                        cgroup: unit,
                    })
                }),
                containers.entry(container.clone()).or_insert_with(|| {
                    let charge = container_cgroup
                        .as_ref()
                        .and_then(|g| report.charges.get(g));
                    empty_row(RowKey::Container {
                        container,
                        charge: charge.copied().unwrap_or_default(),
                        cgroup: container_cgroup,
                    })
                }),
            ];
            for g in groups {
                g.processes += 1;
                absorb(g, p);
            }
        }
        Derived {
            files,
            kinds: kinds
                .into_values()
                .map(|(mut row, pids)| {
                    row.processes = pids.len() as u64;
                    row
                })
                .collect(),
            processes: procs.into_values().collect(),
            users: users.into_values().collect(),
            commands: commands.into_values().collect(),
            units: units.into_values().collect(),
            containers: containers.into_values().collect(),
        }
    }
}

/// A family's series: the rows kept, in rank order, and the fold of the rest.
pub(super) struct Cut<'r> {
    pub(super) kept: Vec<&'r Row>,
    pub(super) other: Option<Row>,
    pub(super) rows: usize,
    pub(super) folded: usize,
}

/// Ranks `rows` (largest PSS + SwapPSS first, ties in the report's order of keys) and, when
/// `fold`, keeps the first `top` that weigh at least `min_bytes`, summing the rest into one
/// row. `distinct`: the processes of a set of folded rows (rows of one family may share
/// processes: a process maps many files).
pub(super) fn cut<'r>(
    mut rows: Vec<&'r Row>,
    bounds: &Bounds,
    fold: bool,
    distinct: impl Fn(&[&Row]) -> u64,
) -> Cut<'r> {
    sort_rows(&mut rows, Column::Pss, false);
    rows.sort_by_key(|r| Reverse(weight(r)));
    let total = rows.len();
    if !fold {
        return Cut {
            kept: rows,
            other: None,
            rows: total,
            folded: 0,
        };
    }
    let keep = rows
        .iter()
        .take(bounds.top)
        .take_while(|r| weight(r) >= bounds.min_bytes)
        .count();
    let rest = rows.split_off(keep);
    let other = (!rest.is_empty()).then(|| {
        let mut row = empty_row(RowKey::Total);
        for r in &rest {
            absorb(&mut row, r);
        }
        row.processes = distinct(&rest);
        row
    });
    Cut {
        kept: rows,
        other,
        rows: total,
        folded: rest.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ProcDesc;

    #[test]
    fn process_labels_identify_the_process_and_cap_the_command_line() {
        let p = ProcDesc {
            pid: 42,
            start_time: 142,
            uid: Some(7),
            user: "u7".into(),
            comm: b"long".to_vec(),
            command: "é".repeat(200).into_bytes(),
            cgroup: None,
        };
        let row = Row {
            processes: 1,
            ..empty_row(RowKey::Process(p.into()))
        };
        let labels = Family::Process.labels(&row);
        let names: Vec<&str> = labels.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["pid", "start_time", "user", "command", "cmdline"]);
        assert_eq!(labels[0].1, LabelValue::Code("42".into()));
        assert_eq!(labels[1].1, LabelValue::Code("142".into()));
        let LabelValue::Raw(cmdline) = &labels[4].1 else {
            panic!("cmdline is raw")
        };
        // 128 two-byte characters fit in 256 bytes; none is cut in half.
        assert_eq!(cmdline.len(), 256);
        assert!(std::str::from_utf8(cmdline).is_ok());
        assert_eq!(cap_bytes("aé".as_bytes(), 2), b"a");
        assert_eq!(cap_bytes(b"a\xff\xff", 2), b"a\xff");
    }
}
