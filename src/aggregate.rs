//! Folds what the read stage streams into the rows of a report.
//!
//! Each worker keeps a per-process [`Scratch`] (the mappings of the process being read, merged
//! by path) and its own [`Acc`]. Only when a process's outcome is `read` does its scratch
//! enter the accumulator, so a read found incomplete afterwards leaves no trace in the
//! figures. Accumulators of different workers are merged at the end; a process is read by
//! exactly one worker, so per-file process counts simply add.

use std::collections::HashMap;

use regex::bytes::Regex;

use crate::columns::{Cell, Column};
use crate::config::{Config, Filters, GroupBy};
use crate::model::{Counters, MapHeader, MapKind, Outcome, OutcomeKind, ProcInfo, Source};
use crate::parse::classify;

/// What the rows of the report need from each mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Per-process totals only.
    Totals,
    /// Totals per mapping kind.
    Kinds,
    /// Totals per path.
    Files,
}

impl Detail {
    pub fn for_group(group_by: GroupBy) -> Detail {
        match group_by {
            GroupBy::File | GroupBy::FileProcess => Detail::Files,
            GroupBy::Kind => Detail::Kinds,
            GroupBy::Process | GroupBy::User | GroupBy::Command => Detail::Totals,
        }
    }
}

/// One distinct path of the process being read.
#[derive(Debug, Clone)]
struct Entry {
    path: std::ops::Range<usize>,
    counters: Counters,
    mappings: u64,
}

/// The mappings of the process being read, reused from process to process.
#[derive(Debug)]
pub struct Scratch {
    detail: Detail,
    map_filter: Option<Regex>,
    kinds_filter: Vec<MapKind>,
    arena: Vec<u8>,
    entries: Vec<Entry>,
    kinds: [(Counters, u64); 9],
    totals: Counters,
    mappings: u64,
}

impl Scratch {
    pub fn new(detail: Detail, filters: &Filters) -> Scratch {
        Scratch {
            detail,
            map_filter: filters.map.clone(),
            kinds_filter: filters.kinds.clone(),
            arena: Vec::new(),
            entries: Vec::new(),
            kinds: [(Counters::default(), 0); 9],
            totals: Counters::default(),
            mappings: 0,
        }
    }

    pub fn clear(&mut self) {
        self.arena.clear();
        self.entries.clear();
        self.kinds = [(Counters::default(), 0); 9];
        self.totals = Counters::default();
        self.mappings = 0;
    }

    /// Takes one mapping, if it passes the per-mapping filters.
    #[inline]
    pub fn add(&mut self, h: &MapHeader<'_>, c: &Counters) {
        let needs_kind = self.detail == Detail::Kinds || !self.kinds_filter.is_empty();
        let kind = if needs_kind {
            classify(h.path)
        } else {
            MapKind::Anon
        };
        if !self.kinds_filter.is_empty() && !self.kinds_filter.contains(&kind) {
            return;
        }
        if let Some(re) = &self.map_filter
            && !re.is_match(h.path)
        {
            return;
        }
        self.totals += c;
        self.mappings += 1;
        match self.detail {
            Detail::Totals => {}
            Detail::Kinds => {
                let slot = &mut self.kinds[kind as usize];
                slot.0 += c;
                slot.1 += 1;
            }
            Detail::Files => {
                // Mappings of one file are usually adjacent (a library's 4-5 segments).
                if let Some(last) = self.entries.last_mut()
                    && &self.arena[last.path.clone()] == h.path
                {
                    last.counters += c;
                    last.mappings += 1;
                    return;
                }
                let start = self.arena.len();
                self.arena.extend_from_slice(h.path);
                self.entries.push(Entry {
                    path: start..self.arena.len(),
                    counters: *c,
                    mappings: 1,
                });
            }
        }
    }
}

/// A process that was read, as rows show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcDesc {
    pub pid: u32,
    pub uid: Option<u32>,
    /// User name, or the uid in digits when it has no name, or `?` when unknown.
    pub user: String,
    /// `comm`, raw.
    pub comm: Vec<u8>,
    /// The command line, or `[comm]` when it is empty (kernel threads, some daemons).
    pub command: Vec<u8>,
}

/// A process that did not read fully, for the coverage details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub pid: u32,
    pub comm: Vec<u8>,
    pub outcome: Outcome,
}

/// Who was read and who was not: part of every report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    counts: [u64; 7],
    /// Mappings read (of processes whose outcome is `read`).
    pub mappings: u64,
    /// Processes left out by `--pid/--user/--command` (not part of the counts).
    pub filtered: u64,
    /// pmaps' own PID, left out of the scan.
    pub self_pid: Option<u32>,
    /// Details of denied, incomplete and failed processes.
    pub problems: Vec<Problem>,
    /// Processes the proc mount hides (hidepid), when that can be told.
    pub hidden: Option<String>,
}

impl Coverage {
    pub fn count(&self, kind: OutcomeKind) -> u64 {
        self.counts[kind as usize]
    }
    /// Processes considered (every outcome).
    pub fn processes(&self) -> u64 {
        self.counts.iter().sum()
    }
    /// Whether the report covers every process it set out to read.
    pub fn is_complete(&self) -> bool {
        self.hidden.is_none()
            && OutcomeKind::ALL
                .iter()
                .all(|k| !k.is_partial() || self.count(*k) == 0)
    }
    fn record(&mut self, info: &ProcInfo, outcome: Outcome) {
        self.counts[outcome.kind() as usize] += 1;
        if outcome.kind().is_partial() {
            self.problems.push(Problem {
                pid: info.pid,
                comm: info.comm.clone(),
                outcome,
            });
        }
    }
    fn merge(&mut self, other: Coverage) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
        self.mappings += other.mappings;
        self.filtered += other.filtered;
        self.problems.extend(other.problems);
    }
}

#[derive(Debug, Clone)]
struct FileAcc {
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

/// One worker's share of the report.
#[derive(Debug)]
pub struct Acc {
    group_by: GroupBy,
    mapping_filter: bool,
    pub coverage: Coverage,
    files: HashMap<Box<[u8]>, FileAcc>,
    kinds: [(Counters, u64, u64); 9],
    procs: Vec<ProcAcc>,
}

impl Acc {
    pub fn new(cfg: &Config) -> Acc {
        Acc {
            group_by: cfg.group_by,
            mapping_filter: cfg.filters.filters_mappings(),
            coverage: Coverage::default(),
            files: HashMap::new(),
            kinds: [(Counters::default(), 0, 0); 9],
            procs: Vec::new(),
        }
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
        let per_process = self.group_by == GroupBy::FileProcess;
        for e in &s.entries {
            let path = &s.arena[e.path.clone()];
            let f = match self.files.get_mut(path) {
                Some(f) => f,
                None => self.files.entry(path.into()).or_insert(FileAcc {
                    counters: Counters::default(),
                    mappings: 0,
                    processes: 0,
                    last_pid: 0,
                    per_process: Vec::new(),
                }),
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
        if self.mapping_filter && s.mappings == 0 {
            return;
        }
        self.procs.push(ProcAcc {
            info,
            counters: s.totals,
            mappings: s.mappings,
        });
    }

    /// Merges another worker's accumulator into this one.
    pub fn merge(mut self, other: Acc) -> Acc {
        self.coverage.merge(other.coverage);
        for (path, f) in other.files {
            match self.files.get_mut(&path) {
                Some(mine) => {
                    mine.counters += &f.counters;
                    mine.mappings += f.mappings;
                    mine.processes += f.processes;
                    mine.per_process.extend(f.per_process);
                }
                None => {
                    self.files.insert(path, f);
                }
            }
        }
        for (a, b) in self.kinds.iter_mut().zip(other.kinds) {
            a.0 += &b.0;
            a.1 += b.1;
            a.2 += b.2;
        }
        self.procs.extend(other.procs);
        self
    }
}

/// What a row stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowKey {
    /// A mapped file or pseudo-mapping, by its exact path bytes (empty: anonymous).
    File(Vec<u8>),
    Process(ProcDesc),
    User {
        uid: Option<u32>,
        name: String,
    },
    /// A command name (comm).
    Command(Vec<u8>),
    Kind(MapKind),
    /// One process's share of one file (`--group-by file,process`).
    FileProcess {
        path: Vec<u8>,
        proc: ProcDesc,
    },
    /// The totals of the whole report.
    Total,
}

/// One row of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub key: RowKey,
    /// Distinct processes that contribute.
    pub processes: u64,
    /// Mappings; unknown when read from `smaps_rollup`, which has one record per process.
    pub mappings: Option<u64>,
    pub counters: Counters,
    /// With `--group-by file,process`: the processes mapping this file.
    pub children: Vec<Row>,
}

/// The aggregated, sorted rows and totals.
#[derive(Debug, Clone)]
pub struct Rows {
    pub rows: Vec<Row>,
    /// How many rows there were before `--top` cut them.
    pub total_rows: usize,
    pub totals: Row,
}

/// uid → user name, through the system's user database, once per uid.
#[derive(Debug, Default)]
pub struct UserNames(HashMap<u32, String>);

impl UserNames {
    pub fn name(&mut self, uid: Option<u32>) -> String {
        let Some(uid) = uid else {
            return "?".to_string();
        };
        self.0
            .entry(uid)
            .or_insert_with(|| lookup_user(uid).unwrap_or_else(|| uid.to_string()))
            .clone()
    }
}

fn lookup_user(uid: u32) -> Option<String> {
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    loop {
        // SAFETY: every pointer is valid for the call; `buf` outlives the use of `pwd`.
        let rc =
            unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        // SAFETY: getpwuid_r succeeded, so pw_name points to a NUL-terminated string in buf.
        let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
        return Some(name.to_string_lossy().into_owned());
    }
}

/// The uid of a user given by name or number.
pub fn lookup_uid(user: &str) -> Option<u32> {
    if let Ok(n) = user.parse::<u32>() {
        return Some(n);
    }
    let c = std::ffi::CString::new(user).ok()?;
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call.
    let rc = unsafe {
        libc::getpwnam_r(
            c.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    (rc == 0 && !result.is_null()).then_some(pwd.pw_uid)
}

fn desc(info: &ProcInfo, users: &mut UserNames) -> ProcDesc {
    let command = if info.cmdline.is_empty() {
        [b"[".as_slice(), &info.comm, b"]"].concat()
    } else {
        info.cmdline.clone()
    };
    ProcDesc {
        pid: info.pid,
        uid: info.uid,
        user: users.name(info.uid),
        comm: info.comm.clone(),
        command,
    }
}

/// Turns the merged accumulator into sorted rows and totals.
pub fn finish(acc: Acc, cfg: &Config) -> (Rows, Coverage) {
    let mut users = UserNames::default();
    // The rollup is one record per process: it says nothing of how many mappings there are.
    let counted = cfg.effective_source() != Source::Rollup;
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
    let descs: HashMap<u32, ProcDesc> = acc
        .procs
        .iter()
        .map(|p| (p.info.pid, desc(&p.info, &mut users)))
        .collect();
    let mut rows: Vec<Row> = match cfg.group_by {
        GroupBy::File | GroupBy::FileProcess => acc
            .files
            .into_iter()
            .map(|(path, f)| {
                let children = f
                    .per_process
                    .into_iter()
                    .map(|(pid, counters, mappings)| Row {
                        key: RowKey::FileProcess {
                            path: path.to_vec(),
                            proc: descs.get(&pid).cloned().unwrap_or_else(|| ProcDesc {
                                pid,
                                uid: None,
                                user: "?".into(),
                                comm: Vec::new(),
                                command: Vec::new(),
                            }),
                        },
                        processes: 1,
                        mappings: known(mappings),
                        counters,
                        children: Vec::new(),
                    })
                    .collect();
                Row {
                    key: RowKey::File(path.into_vec()),
                    processes: f.processes,
                    mappings: known(f.mappings),
                    counters: f.counters,
                    children,
                }
            })
            .collect(),
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
            .map(|p| Row {
                key: RowKey::Process(descs[&p.info.pid].clone()),
                processes: 1,
                mappings: known(p.mappings),
                counters: p.counters,
                children: Vec::new(),
            })
            .collect(),
        GroupBy::User | GroupBy::Command => {
            let mut groups: HashMap<RowKey, Row> = HashMap::new();
            for p in &acc.procs {
                let key = if cfg.group_by == GroupBy::User {
                    RowKey::User {
                        uid: p.info.uid,
                        name: users.name(p.info.uid),
                    }
                } else {
                    RowKey::Command(p.info.comm.clone())
                };
                let row = groups.entry(key.clone()).or_insert_with(|| Row {
                    key,
                    processes: 0,
                    mappings: known(0),
                    counters: Counters::default(),
                    children: Vec::new(),
                });
                row.processes += 1;
                row.mappings = row.mappings.map(|m| m + p.mappings);
                row.counters += &p.counters;
            }
            groups.into_values().collect()
        }
    };
    sort_rows(&mut rows, cfg.sort, cfg.reverse);
    for r in &mut rows {
        sort_rows(&mut r.children, cfg.sort, cfg.reverse);
    }
    let total_rows = rows.len();
    if let Some(n) = cfg.top {
        rows.truncate(n);
        // With --group-by file,process, N also caps the processes listed under each file
        // (the file's `processes` still counts them all).
        for r in &mut rows {
            r.children.truncate(n);
        }
    }
    (
        Rows {
            rows,
            total_rows,
            totals,
        },
        acc.coverage,
    )
}

impl std::hash::Hash for RowKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            RowKey::User { uid, name } => (0u8, uid, name).hash(state),
            RowKey::Command(c) => (1u8, c).hash(state),
            RowKey::File(p) => (2u8, p).hash(state),
            RowKey::Kind(k) => (3u8, k).hash(state),
            RowKey::Process(p) => (4u8, p.pid).hash(state),
            RowKey::FileProcess { path, proc } => (5u8, path, proc.pid).hash(state),
            RowKey::Total => 6u8.hash(state),
        }
    }
}

/// A total order on cells: unknown bytes sort below every known value.
fn cell_key(c: &Cell<'_>) -> (u8, u64, Vec<u8>) {
    match c {
        Cell::Empty | Cell::Unknown => (0, 0, Vec::new()),
        Cell::Bytes(None) => (1, 0, Vec::new()),
        Cell::Bytes(Some(v)) | Cell::Count(v) => (2, *v, Vec::new()),
        Cell::Text(t) => (2, 0, t.to_vec()),
    }
}

/// Sorts by `col` (numbers largest first, text A→Z; `reverse` flips), then by the row's key
/// columns so that the order is the same on every run.
pub fn sort_rows(rows: &mut [Row], col: Column, reverse: bool) {
    let tie = [
        Column::Path,
        Column::Pid,
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
