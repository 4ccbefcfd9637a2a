//! Folds what the read stage streams into the rows of a report.
//!
//! Each worker keeps a per-process [`Scratch`] (the mappings of the process being read, merged
//! by path) and its own [`Acc`]. Only when a process's outcome is `read` does its scratch
//! enter the accumulator, so a read found incomplete afterwards leaves no trace in the
//! figures. Accumulators of different workers are merged at the end; a process is read by
//! exactly one worker, so per-file process counts simply add. The rows come out in no
//! particular order: sorting and `--top` belong to the view.

use std::collections::HashMap;
use std::sync::Arc;

use crate::model::{
    Charge, Container, Counters, Coverage, GroupBy, MapKind, Object, Outcome, ProcDesc, ProcInfo,
    Query, Row, RowKey,
};
use crate::parse;
use crate::plan::ReadPlan;
use crate::source::{ProcSource, UserNames};

mod packed;
mod scratch;

pub use packed::PackedRuns;
use scratch::KINDS;
pub use scratch::{Detail, Scratch};

#[derive(Debug, Clone)]
struct FileAcc {
    kind: MapKind,
    counters: Counters,
    mappings: u64,
    processes: u64,
    last_pid: u32,
    /// With `--group-by file,process`: (pid, counters, mappings) per process.
    per_process: Vec<(u32, Counters, u64)>,
}

#[derive(Debug, Clone)]
struct ProcAcc {
    info: ProcInfo,
    counters: Counters,
    mappings: u64,
}

/// The sum of every process read so far, shared by the workers: a process whose values
/// would carry it past 2^64 is in error, so no row, total or merge of workers can wrap.
pub type Grand = std::sync::Mutex<Counters>;

/// One worker's share of the report.
#[derive(Debug)]
pub struct Acc<'g> {
    group_by: GroupBy,
    mapping_filter: bool,
    grand: &'g Grand,
    pub coverage: Coverage,
    /// Per path, each object mapped under it (almost always one).
    files: HashMap<Box<[u8]>, Vec<(Object, FileAcc)>>,
    kinds: [(Counters, u64, u64); KINDS],
    procs: Vec<ProcAcc>,
    /// With [`Detail::Runs`]: each process's rows as `show --merge` folds them, by
    /// (PID, start time).
    runs: Vec<((u32, u64), PackedRuns)>,
}

/// Each process's rows as `show --merge` folds them, by (PID, start time).
pub type Runs = HashMap<(u32, u64), PackedRuns>;

impl<'g> Acc<'g> {
    pub fn new(query: &Query, grand: &'g Grand) -> Acc<'g> {
        Acc {
            group_by: query.group_by,
            mapping_filter: query.filters.filters_mappings(),
            grand,
            coverage: Coverage::default(),
            files: HashMap::new(),
            kinds: [(Counters::default(), 0, 0); KINDS],
            procs: Vec::new(),
            runs: Vec::new(),
        }
    }

    /// Takes the processes' rows of `show --merge` kept with [`Detail::Runs`].
    pub fn take_runs(&mut self) -> Runs {
        std::mem::take(&mut self.runs).into_iter().collect()
    }

    /// A process that the filters left out.
    pub fn add_filtered(&mut self) {
        self.coverage.filtered += 1;
    }

    /// A process's outcome and, when it was read, its mappings.
    pub fn add(&mut self, info: ProcInfo, outcome: Outcome, s: &Scratch) {
        if outcome != Outcome::Read {
            self.coverage.record(&info, outcome);
            return;
        }
        self.coverage.record(&info, Outcome::Read);
        self.coverage.mappings += s.mappings;
        let pid = info.pid;
        let per_process = self.group_by.is_pair();
        for e in &s.entries {
            let path = &s.arena[e.path.clone()];
            let objects = match self.files.get_mut(path) {
                Some(o) => o,
                None => self.files.entry(path.into()).or_default(),
            };
            let f = match objects.iter().position(|(o, _)| *o == e.object) {
                Some(i) => &mut objects[i].1,
                None => {
                    let f = FileAcc {
                        kind: e.kind,
                        counters: Counters::default(),
                        mappings: 0,
                        processes: 0,
                        last_pid: 0,
                        per_process: Vec::new(),
                    };
                    objects.push((e.object, f));
                    &mut objects.last_mut().expect("just pushed").1
                }
            };
            f.counters += &e.counters;
            f.mappings += e.mappings;
            if f.last_pid != pid || f.processes == 0 {
                f.processes += 1;
                f.last_pid = pid;
                if per_process {
                    f.per_process.push((pid, Counters::default(), 0));
                }
            }
            if let Some(last) = f.per_process.last_mut() {
                last.1 += &e.counters;
                last.2 += e.mappings;
            }
        }
        for (slot, (c, n)) in self.kinds.iter_mut().zip(&s.kinds) {
            if *n > 0 {
                slot.0 += c;
                slot.1 += n;
                slot.2 += 1;
            }
        }
        if s.detail == Detail::Runs {
            self.runs
                .push(((info.pid, info.start_time), PackedRuns::pack(&s.runs)));
        }
        if self.mapping_filter && s.mappings == 0 {
            return;
        }
        self.procs.push(ProcAcc {
            info,
            counters: s.totals,
            mappings: s.mappings,
        });
    }

    /// A process read in full whose address space is counted with another process's
    /// (see [`crate::address_space`]): counted `read`, adds nothing to the rows.
    pub fn add_sharer(&mut self, info: &ProcInfo) {
        self.coverage.record(info, Outcome::Read);
    }

    /// Counts what was read of process `pid` as process `to` (the lowest PID of those
    /// sharing one address space).
    pub fn count_as(&mut self, pid: u32, to: ProcInfo) {
        for objects in self.files.values_mut() {
            for (_, f) in objects.iter_mut() {
                for p in f.per_process.iter_mut().filter(|p| p.0 == pid) {
                    p.0 = to.pid;
                }
            }
        }
        if let Some(r) = self.runs.iter_mut().find(|r| r.0.0 == pid) {
            r.0 = (to.pid, to.start_time);
        }
        if let Some(p) = self.procs.iter_mut().find(|p| p.info.pid == pid) {
            p.info = to;
        }
    }

    /// Whether a process read in full has possible values: its own sums stayed under 2^64,
    /// and so does the grand total with it (which then counts it). A process that fails is
    /// an error, and its mappings stay out of every row.
    pub fn admit(&self, s: &Scratch) -> bool {
        if s.overflow {
            return false;
        }
        let totals = &s.totals;
        // A poisoned lock only means another worker panicked; the sum it guards is whole.
        let mut grand = self.grand.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = *grand;
        let fits = next.checked_absorb(totals)
            && next.private_clean.checked_add(next.private_dirty).is_some()
            && next.shared_clean.checked_add(next.shared_dirty).is_some()
            && next.shared_dirty.checked_add(next.private_dirty).is_some();
        if fits {
            *grand = next;
        }
        fits
    }

    /// Merges another worker's accumulator into this one.
    pub fn merge(mut self, other: Acc<'g>) -> Acc<'g> {
        self.coverage.merge(other.coverage);
        for (path, theirs) in other.files {
            let mine = self.files.entry(path).or_default();
            for (object, f) in theirs {
                match mine.iter_mut().find(|(o, _)| *o == object) {
                    Some((_, m)) => {
                        m.counters += &f.counters;
                        m.mappings += f.mappings;
                        m.processes += f.processes;
                        m.per_process.extend(f.per_process);
                    }
                    None => mine.push((object, f)),
                }
            }
        }
        for (a, b) in self.kinds.iter_mut().zip(other.kinds) {
            a.0 += &b.0;
            a.1 += b.1;
            a.2 += b.2;
        }
        self.procs.extend(other.procs);
        self.runs.extend(other.runs);
        self
    }
}

/// The row of one process read.
fn proc_row(
    p: &ProcAcc,
    descs: &HashMap<u32, Arc<ProcDesc>>,
    known: impl Fn(u64) -> Option<u64>,
) -> Row {
    Row {
        key: RowKey::Process(descs[&p.info.pid].clone()),
        processes: 1,
        mappings: known(p.mappings),
        counters: p.counters,
        children: Vec::new(),
    }
}

/// The key of the container row a process belongs to: its container and the container's own
/// cgroup (none for the host), the cgroup's counters to be filled in.
fn container_row_key(d: Option<&ProcDesc>) -> RowKey {
    let found = d
        .and_then(|d| d.cgroup.as_ref())
        .and_then(parse::container_cgroup);
    let (container, cgroup) = found.map_or((None, None), |(c, g)| (Some(c), Some(g)));
    RowKey::Container {
        container,
        cgroup,
        charge: Charge::default(),
    }
}

/// The PID of a process's row (or of a process's share of a file).
fn pid_of(row: &Row) -> u32 {
    match &row.key {
        RowKey::Process(d) | RowKey::FileProcess { proc: d, .. } => d.pid,
        _ => 0,
    }
}

/// Folds rows into one row per key: processes, mappings and counters add.
fn group(rows: Vec<Row>, key_of: impl Fn(&Row) -> RowKey) -> Vec<Row> {
    let mut groups: HashMap<RowKey, Row> = HashMap::new();
    for r in rows {
        let key = key_of(&r);
        let g = groups.entry(key.clone()).or_insert_with(|| Row {
            key,
            processes: 0,
            mappings: r.mappings.map(|_| 0),
            counters: Counters::default(),
            children: Vec::new(),
        });
        g.processes += r.processes;
        g.mappings = g.mappings.zip(r.mappings).map(|(a, b)| a + b);
        g.counters += &r.counters;
    }
    groups.into_values().collect()
}

/// Turns the merged accumulator into sorted rows and totals.
pub fn finish(acc: Acc<'_>, query: &Query, source: &dyn ProcSource) -> (Vec<Row>, Row, Coverage) {
    let (rows, _, totals, coverage) = finish_rows(acc, query, source, false);
    (rows, totals, coverage)
}

/// [`finish`], and with `with_processes` one row per process whatever the group-by:
/// `pmaps watch` follows every file and every process from one scan.
pub fn finish_rows(
    acc: Acc<'_>,
    query: &Query,
    source: &dyn ProcSource,
    with_processes: bool,
) -> (Vec<Row>, Vec<Row>, Row, Coverage) {
    let mut users = UserNames::default();
    // The rollup is one record per process: it says nothing of how many mappings there are,
    // unless the plan counts them in `maps`.
    let counted = ReadPlan::of(query, source).counts_mappings();
    let known = |n: u64| counted.then_some(n);
    let mut totals = Row {
        key: RowKey::Total,
        processes: acc.procs.len() as u64,
        mappings: known(acc.procs.iter().map(|p| p.mappings).sum()),
        counters: Counters::default(),
        children: Vec::new(),
    };
    for p in &acc.procs {
        totals.counters += &p.counters;
    }
    // One description per process, shared by its row and its share of every file.
    let descs: HashMap<u32, Arc<ProcDesc>> = acc
        .procs
        .iter()
        .map(|p| {
            (
                p.info.pid,
                Arc::new(ProcDesc::of(&p.info, users.name(source, p.info.uid))),
            )
        })
        .collect();
    let file_rows = |files: HashMap<Box<[u8]>, Vec<(Object, FileAcc)>>| -> Vec<Row> {
        files
            .into_iter()
            .flat_map(|(path, objects)| objects.into_iter().map(move |(o, f)| (path.clone(), o, f)))
            .map(|(path, object, f)| {
                let shared: Arc<[u8]> = Arc::from(&path[..]);
                let children = f
                    .per_process
                    .into_iter()
                    .map(|(pid, counters, mappings)| Row {
                        key: RowKey::FileProcess {
                            path: shared.clone(),
                            object,
                            kind: f.kind,
                            proc: descs.get(&pid).cloned().unwrap_or_else(|| {
                                Arc::new(ProcDesc {
                                    pid,
                                    start_time: 0,
                                    uid: None,
                                    user: "?".into(),
                                    comm: Vec::new(),
                                    command: Vec::new(),
                                    cgroup: None,
                                })
                            }),
                        },
                        processes: 1,
                        mappings: known(mappings),
                        counters,
                        children: Vec::new(),
                    })
                    .collect();
                Row {
                    key: RowKey::File {
                        path: path.into_vec(),
                        object,
                        kind: f.kind,
                    },
                    processes: f.processes,
                    mappings: known(f.mappings),
                    counters: f.counters,
                    children,
                }
            })
            .collect()
    };
    let container_of = |pid: u32| {
        descs
            .get(&pid)
            .and_then(|d| d.cgroup.as_ref())
            .and_then(|c| parse::container_of(&c.path))
    };
    let container_key = |pid: u32| container_row_key(descs.get(&pid).map(|d| &**d));
    let rows: Vec<Row> = match query.group_by {
        GroupBy::File | GroupBy::FileProcess => file_rows(acc.files),
        // Each process's own row (as `-g process` gives it), its (file, process) rows under it.
        GroupBy::ProcessFile => {
            let mut files: HashMap<u32, Vec<Row>> = HashMap::new();
            for child in file_rows(acc.files).into_iter().flat_map(|f| f.children) {
                files.entry(pid_of(&child)).or_default().push(child);
            }
            acc.procs
                .iter()
                .map(|p| Row {
                    children: files.remove(&p.info.pid).unwrap_or_default(),
                    ..proc_row(p, &descs, known)
                })
                .collect()
        }
        GroupBy::FileContainer => file_rows(acc.files)
            .into_iter()
            .map(|mut file| {
                let RowKey::File { path, object, kind } = &file.key else {
                    return file;
                };
                let children = std::mem::take(&mut file.children);
                file.children = group(children, |child| {
                    let pid = match &child.key {
                        RowKey::FileProcess { proc, .. } => proc.pid,
                        _ => 0,
                    };
                    RowKey::FileContainer {
                        path: path.clone(),
                        object: *object,
                        kind: *kind,
                        container: container_of(pid),
                    }
                });
                file
            })
            .collect(),
        GroupBy::ContainerFile => {
            let by_container = group(
                acc.procs
                    .iter()
                    .map(|p| proc_row(p, &descs, known))
                    .collect(),
                |row| container_key(pid_of(row)),
            );
            let mut files: HashMap<Option<Container>, Vec<Row>> = HashMap::new();
            for file in file_rows(acc.files) {
                let RowKey::File { path, object, kind } = &file.key else {
                    continue;
                };
                for child in file.children {
                    let container = container_of(pid_of(&child));
                    files.entry(container.clone()).or_default().push(Row {
                        key: RowKey::ContainerFile {
                            container,
                            path: path.clone(),
                            object: *object,
                            kind: *kind,
                        },
                        ..child
                    });
                }
            }
            by_container
                .into_iter()
                .map(|mut row| {
                    if let RowKey::Container { container: c, .. } = &row.key {
                        row.children =
                            group(files.remove(c).unwrap_or_default(), |r| r.key.clone());
                    }
                    row
                })
                .collect()
        }
        GroupBy::Kind => MapKind::ALL
            .into_iter()
            .zip(acc.kinds)
            .filter(|(_, (_, n, _))| *n > 0)
            .map(|(kind, (counters, mappings, processes))| Row {
                key: RowKey::Kind(kind),
                processes,
                mappings: known(mappings),
                counters,
                children: Vec::new(),
            })
            .collect(),
        GroupBy::Process => acc
            .procs
            .iter()
            .map(|p| proc_row(p, &descs, known))
            .collect(),
        GroupBy::User | GroupBy::Command | GroupBy::Cgroup | GroupBy::Unit | GroupBy::Container => {
            let proc_rows = acc
                .procs
                .iter()
                .map(|p| proc_row(p, &descs, known))
                .collect();
            group(proc_rows, |row| {
                let RowKey::Process(d) = &row.key else {
                    return RowKey::Total;
                };
                match query.group_by {
                    GroupBy::User => RowKey::User {
                        uid: d.uid,
                        name: d.user.clone(),
                    },
                    GroupBy::Command => RowKey::Command(d.comm.clone()),
                    GroupBy::Cgroup => RowKey::Cgroup {
                        cgroup: d.cgroup.clone(),
                        charge: Charge::default(),
                    },
                    GroupBy::Unit => RowKey::Unit {
                        cgroup: d.cgroup.as_ref().and_then(parse::unit_cgroup),
                        charge: Charge::default(),
                    },
                    _ => container_row_key(Some(d)),
                }
            })
        }
    };
    let processes = match with_processes {
        true => acc
            .procs
            .iter()
            .map(|p| proc_row(p, &descs, known))
            .collect(),
        false => Vec::new(),
    };
    (rows, processes, totals, acc.coverage)
}
