//! A stored snapshot answers a question again (`--at`): its processes pass the same
//! per-process filters as a scan's, their stored shares of files pass the same per-mapping
//! filters, and the same fold ([`crate::aggregate`]) groups them, so the rows are the rows
//! the scan would have given for that question at that moment.
//!
//! The figures are those of `smaps` (what a record reads): a per-process view shows each
//! process's mapping count and the sum of its mappings' sizes, as `--source smaps` does.
//! The coverage is the recorded one; with `--pid` the processes outside the list that were
//! not read (vanished, kernel threads…) are not known by PID and still count.

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;

use super::snapshots::Loaded;
use crate::aggregate::{self, Acc, Detail, Grand, Scratch};
use crate::model::{
    Cgroup, MapHeader, MapKind, Meta, Outcome, OutcomeKind, Query, Report, Source, SourceChoice,
};
use crate::scan;
use crate::source::{PidDir, ProcSource};

/// The report `query` would have had from the snapshot's scan.
pub fn rebuild(loaded: &Loaded, query: &Query) -> Report {
    let query = Query {
        source: SourceChoice::Fixed(Source::Smaps),
        ..query.clone()
    };
    let grand = Grand::default();
    let mut acc = Acc::new(&query, &grand);
    let mut scratch = Scratch::new(Detail::for_group(query.group_by), &query.filters);
    let mut by_pid = 0;
    for p in &loaded.processes {
        let d = &p.desc;
        if !query.filters.pids.is_empty() && !query.filters.pids.contains(&d.pid) {
            by_pid += 1;
            continue;
        }
        let info = p.info();
        if !scan::wanted(&query, &info) {
            acc.add_filtered();
            continue;
        }
        scratch.clear();
        for s in loaded.shares.get(&p.state).into_iter().flatten() {
            let header = MapHeader {
                start: 0,
                end: 0,
                perms: *b"----",
                offset: 0,
                dev_major: s.object.dev_major,
                dev_minor: s.object.dev_minor,
                inode: s.object.inode,
                path: &s.path,
                // The kind recorded says what the path cannot: memory in huge pages.
                hugetlb: Some(s.kind == MapKind::Hugetlb),
            };
            scratch.add_many(&header, &s.counters, s.mappings);
        }
        // The stored values were admitted by the scan; the check keeps the fold's promise
        // (no sum wraps) whatever the file holds.
        let outcome = if acc.admit(&scratch) {
            Outcome::Read
        } else {
            Outcome::Error {
                path: format!("snapshot {}", loaded.snapshot.id),
                message: "impossible values in the history".into(),
            }
        };
        acc.add(info, outcome, &scratch);
    }
    let names = Names::of(loaded);
    let (mut rows, totals, scanned) = aggregate::finish(acc, &query, &names);
    let stored = |c: &Cgroup| loaded.charges.get(c).copied();
    scan::reconcile(&mut rows, stored);
    let charges = if query.cgroups {
        scan::unit_charges(&rows, stored)
    } else {
        Default::default()
    };
    let mut coverage = loaded.coverage();
    let read = OutcomeKind::Read as usize;
    coverage.counts[read] = scanned.counts[read];
    coverage.counts[OutcomeKind::Error as usize] += scanned.count(OutcomeKind::Error);
    coverage.problems.extend(scanned.problems);
    if !query.filters.pids.is_empty() {
        // Only the listed PIDs count: the processes not read are known by PID only when
        // they are problems; the others (vanished, zombies, kernel threads) count as left
        // out.
        coverage
            .problems
            .retain(|p| query.filters.pids.contains(&p.pid));
        for kind in OutcomeKind::ALL {
            if kind == OutcomeKind::Read {
                continue;
            }
            let i = kind as usize;
            let kept = coverage
                .problems
                .iter()
                .filter(|p| p.outcome.kind() == kind)
                .count() as u64;
            by_pid += coverage.counts[i].saturating_sub(kept);
            coverage.counts[i] = kept;
        }
    }
    coverage.mappings = scanned.mappings;
    coverage.filtered = scanned.filtered + by_pid;
    let s = &loaded.snapshot;
    Report {
        meta: Meta {
            host: s.host.clone(),
            kernel: s.kernel.clone(),
            time: s.time,
            source: Source::Smaps,
            group_by: query.group_by,
            proc_root: std::path::PathBuf::from(std::ffi::OsStr::from_bytes(&s.proc_root)),
            threads: s.threads,
            duration: s.duration,
            capture: None,
        },
        rows,
        totals,
        coverage,
        charges,
    }
}

/// The user names a snapshot recorded, as a source of names for the fold (it has no
/// processes to read).
struct Names(HashMap<u32, String>);

impl Names {
    fn of(loaded: &Loaded) -> Names {
        Names(
            loaded
                .processes
                .iter()
                .filter_map(|p| Some((p.desc.uid?, p.desc.user.clone())))
                .collect(),
        )
    }
}

fn unsupported<T>() -> std::io::Result<T> {
    Err(std::io::ErrorKind::Unsupported.into())
}

impl ProcSource for Names {
    fn describe(&self) -> String {
        "a history snapshot".into()
    }
    fn list_pids(&self) -> std::io::Result<(Vec<u32>, Option<u32>)> {
        unsupported()
    }
    fn open_pid(&self, _pid: u32) -> std::io::Result<Box<dyn PidDir + '_>> {
        unsupported()
    }
    fn read_file(&self, _rel: &str, _cap: usize) -> std::io::Result<Vec<u8>> {
        unsupported()
    }
    fn hidden_processes(&self) -> Option<String> {
        None
    }
    fn user_name(&self, uid: u32) -> Option<String> {
        self.0.get(&uid).cloned()
    }
    fn lookup_uid(&self, name: &str) -> Option<u32> {
        self.0.iter().find(|(_, n)| *n == name).map(|(u, _)| *u)
    }
    fn pid_path(&self, pid: u32, file: &str) -> String {
        format!("{pid}/{file}")
    }
    fn cgroup_file(&self, _cgroup: &Cgroup, _name: &str, _cap: usize) -> std::io::Result<Vec<u8>> {
        unsupported()
    }
}
