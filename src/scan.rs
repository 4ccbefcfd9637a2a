//! The scan: lists the processes of a proc source, reads them in parallel (one [`Reader`] and
//! one accumulator per rayon worker) and folds them into a [`Report`].
//!
//! Fails only when the source itself cannot be listed; every per-process failure is an
//! outcome. When no worker thread can be started (`ulimit -u`, a low `ulimit -v`), the scan
//! runs on the calling thread instead of failing.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Instant, SystemTime};

use anyhow::Context;
use rayon::prelude::*;

use crate::address_space::{Sharing, Verdict};
use crate::aggregate::{self, Acc, Detail, Grand, Runs, Scratch};
use crate::model::{
    Cgroup, Charge, Coverage, Filters, GroupBy, Hierarchy, Meta, Outcome, ProcInfo, Query, Report,
    Row, RowKey, Source, SourceChoice,
};
use crate::parse;
use crate::plan::{MapsPass, ReadPlan};
use crate::read::{FirstPass, Needs, ReadResult, Reader};
use crate::source::{self, ProcSource, outcome_of, read_small};

/// Progress of a running scan, for a progress line on a terminal.
#[derive(Debug, Default)]
pub struct Progress {
    pub done: AtomicUsize,
    pub total: AtomicUsize,
}

/// One worker's state: its reader, the scratch of the process being read, its accumulator.
struct Worker<'s> {
    reader: Reader<'s>,
    scratch: Scratch,
    acc: Acc<'s>,
}

/// Scans `src` for `query` and builds the report.
pub fn scan(
    src: &dyn ProcSource,
    query: &Query,
    progress: Option<&Progress>,
) -> anyhow::Result<Report> {
    let plan = ReadPlan::of(query, src);
    let detail = Detail::for_group(query.group_by);
    let ((rows, totals, coverage), facts) = fold(src, query, plan, detail, progress, |acc| {
        aggregate::finish(acc, query, src)
    })?;
    Ok(facts.report(src, query, rows, totals, coverage))
}

/// [`scan`] grouped as `query` asks, and one row per process whatever the group-by (from the
/// same reads: `pmaps watch` follows every file and every process at the cost of one report;
/// the plan reads no more than the report needs, so a file grouping reads no command line).
pub fn scan_with_processes(
    src: &dyn ProcSource,
    query: &Query,
) -> anyhow::Result<(Report, Vec<Row>)> {
    let plan = ReadPlan::of(query, src);
    let detail = Detail::for_group(query.group_by);
    let ((rows, processes, totals, coverage), facts) =
        fold(src, query, plan, detail, None, |acc| {
            aggregate::finish_rows(acc, query, src, true)
        })?;
    Ok((facts.report(src, query, rows, totals, coverage), processes))
}

/// Everything one scan read, before it is grouped for a question: what `pmaps record` keeps.
#[derive(Debug, Clone)]
pub struct Recording {
    /// Grouped by `file,process`: each mapped object's row, with one child row per process
    /// mapping it (its share of the object).
    pub report: Report,
    /// One row per process read (uid, command line and cgroup included), even one with no
    /// mapping.
    pub processes: Vec<Row>,
    /// The own counters of every cgroup a process is in, and of every unit's cgroup.
    pub charges: BTreeMap<Cgroup, Charge>,
    /// Each process's mappings as `pmaps show --merge` folds them.
    pub runs: Runs,
}

/// Scans every process of `src` from `smaps`, with every fact a report may be grouped by.
pub fn scan_everything(
    src: &dyn ProcSource,
    threads: Option<usize>,
    progress: Option<&Progress>,
) -> anyhow::Result<Recording> {
    let query = Query {
        proc_root: src.describe().into(),
        threads,
        source: SourceChoice::Fixed(Source::Smaps),
        group_by: GroupBy::FileProcess,
        filters: Filters::default(),
        plan: Default::default(),
        cgroups: false,
    };
    // The plan of a file,process report, reading every small file besides: no mapping filter,
    // so no `maps` pass.
    let plan = ReadPlan {
        needs: Needs::ALL,
        ..ReadPlan::of(&query, src)
    };
    let (((rows, processes, totals, coverage), runs), facts) =
        fold(src, &query, plan, Detail::Runs, progress, |mut acc| {
            let runs = acc.take_runs();
            (aggregate::finish_rows(acc, &query, src, true), runs)
        })?;
    let cgroups = process_cgroups(&processes).flat_map(parse::kept_cgroups);
    let charges = charges_of(cgroups, |c| Some(charge_of(src, c)));
    Ok(Recording {
        report: facts.report(src, &query, rows, totals, coverage),
        processes,
        charges,
        runs,
    })
}

/// Facts of a fold that the report's meta and coverage need.
struct Facts {
    started: Instant,
    time: SystemTime,
    own: Option<u32>,
    filtered_by_pid: u64,
    missing: Vec<u32>,
    hidden: Option<String>,
    threads: usize,
    plan: ReadPlan,
}

impl Facts {
    /// The report of the fold's rows: cgroup and unit rows reconciled with their cgroup's own
    /// counters, and the units' counters when the query asks for every process's cgroup.
    fn report(
        self,
        src: &dyn ProcSource,
        query: &Query,
        mut rows: Vec<Row>,
        totals: Row,
        mut coverage: Coverage,
    ) -> Report {
        let charge = |c: &Cgroup| Some(charge_of(src, c));
        reconcile(&mut rows, charge);
        let charges = if query.cgroups {
            unit_charges(&rows, charge)
        } else {
            BTreeMap::new()
        };
        coverage.filtered += self.filtered_by_pid;
        coverage.mappings_from_maps = self.plan.maps_pass == MapsPass::Count;
        coverage.missing = self.missing;
        coverage.self_pid = self.own;
        coverage.hidden = self.hidden;
        coverage.problems.sort_by_key(|p| p.pid);
        let capture = src.capture();
        Report {
            meta: Meta {
                host: source::read_trimmed(src, "sys/kernel/hostname"),
                kernel: source::read_trimmed(src, "sys/kernel/osrelease"),
                time: capture.as_ref().and_then(|c| c.start).unwrap_or(self.time),
                source: query.effective_source(),
                group_by: query.group_by,
                proc_root: src.describe().into(),
                threads: self.threads,
                duration: self.started.elapsed(),
                capture,
            },
            rows,
            totals,
            coverage,
            charges,
        }
    }
}

/// Reads every process of `src` that `query` wants, as `plan` says, in parallel, keeping
/// what `detail` asks of each, and hands the merged accumulator to `finish`.
fn fold<T>(
    src: &dyn ProcSource,
    query: &Query,
    plan: ReadPlan,
    detail: Detail,
    progress: Option<&Progress>,
    finish: impl for<'g> FnOnce(Acc<'g>) -> T,
) -> anyhow::Result<(T, Facts)> {
    let started = Instant::now();
    let time = SystemTime::now();
    let (mut pids, own) = src
        .list_pids()
        .with_context(|| format!("cannot list processes in {}", src.describe()))?;
    pids.retain(|p| Some(*p) != own);
    let mut filtered_by_pid = 0u64;
    let mut missing = Vec::new();
    let hidden = src.hidden_processes();
    if !query.filters.pids.is_empty() {
        let (asked, gone) = resolve_pids(src, &query.filters.pids);
        // Where the proc mount hides processes, one not found may be hidden: the coverage
        // says so, and the report is partial, instead of "no process".
        if hidden.is_none() {
            missing = gone;
        }
        let listed = pids
            .iter()
            .filter(|p| asked.binary_search(p).is_ok())
            .count();
        filtered_by_pid = (pids.len() - listed) as u64;
        pids = asked;
        pids.retain(|p| Some(*p) != own);
    }
    if let Some(p) = progress {
        p.total.store(pids.len(), Ordering::Relaxed);
    }
    let file = plan.source;
    let want = |info: &ProcInfo| wanted(query, info);
    let may_match = |path: &[u8]| ReadPlan::may_match(&query.filters, path);
    let first = match plan.maps_pass {
        MapsPass::None => FirstPass::None,
        MapsPass::Prefilter => FirstPass::Prefilter(&may_match),
        MapsPass::Count => FirstPass::Count,
    };
    let grand = Grand::default();
    let sharing = Sharing::new(src);
    let new_worker = || Worker {
        reader: Reader::new(src, file)
            .with_needs(plan.needs)
            .with_rollup_fallback(query.source == SourceChoice::Auto)
            .with_first_pass(first),
        scratch: Scratch::new(detail, &query.filters),
        acc: Acc::new(query, &grand),
    };
    let step = for_each_worker(|mut w: Worker<'_>, pid: u32| {
        w.scratch.clear();
        let scratch = &mut w.scratch;
        let result = w
            .reader
            .read_process(pid, &want, &mut |h, c| scratch.add(h, c));
        let verdict = w.reader.take_verdict();
        if verdict.ruled_out {
            w.acc.coverage.ruled_out_by_maps += 1;
        }
        if let Some(n) = verdict.mappings {
            w.scratch.set_mappings(n);
        }
        match result {
            ReadResult::Filtered(_) => w.acc.add_filtered(),
            ReadResult::Done(info, outcome) => {
                let outcome = match outcome {
                    Outcome::Read if !w.acc.admit(&w.scratch) => Outcome::Error {
                        path: src.pid_path(pid, file.file_name()),
                        message: "impossible values: its memory, alone or with the rest of the report, sums past 2^64 bytes".into(),
                    },
                    other => other,
                };
                match outcome {
                    Outcome::Read => match sharing.check(&info) {
                        Verdict::Own => w.acc.add(info, outcome, &w.scratch),
                        Verdict::SharedWith(_) => w.acc.add_sharer(&info),
                        Verdict::Unknown => {
                            w.acc.coverage.shared_unknown += 1;
                            w.acc.add(info, outcome, &w.scratch)
                        }
                    },
                    _ => w.acc.add(info, outcome, &w.scratch),
                }
            }
        }
        if let Some(p) = progress {
            p.done.fetch_add(1, Ordering::Relaxed);
        }
        w
    });
    let threads = worker_threads(query.threads);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
    let (acc, threads) = match pool {
        Ok(pool) => {
            let acc = pool.install(|| {
                pids.par_iter()
                    .with_min_len(4)
                    .fold(new_worker, |w, &pid| step(w, pid))
                    .map(|w| w.acc)
                    .reduce(|| Acc::new(query, &grand), Acc::merge)
            });
            (acc, threads)
        }
        // No thread could be started: read every process on this one.
        Err(_) => (
            pids.iter().fold(new_worker(), |w, &pid| step(w, pid)).acc,
            1,
        ),
    };
    let mut acc = acc;
    let settled = sharing.settle();
    for (pid, to) in settled.renames {
        acc.count_as(pid, to);
    }
    acc.coverage.shared = settled.shared;
    let facts = Facts {
        started,
        time,
        own,
        filtered_by_pid,
        missing,
        hidden,
        threads,
        plan,
    };
    Ok((finish(acc), facts))
}

/// The processes `--pid` names, ascending and each once, and the PIDs that are no process.
/// A thread's ID stands for its process (the `Tgid:` of its `status`), as `/proc` answers
/// for a TID that it does not list.
fn resolve_pids(src: &dyn ProcSource, asked: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    let mut buf = Vec::new();
    for &pid in asked {
        let dir = match src.open_pid(pid) {
            Ok(d) => d,
            Err(e) if outcome_of(&e, String::new()) == Outcome::Vanished => {
                missing.push(pid);
                continue;
            }
            // Anything else is the read's to report, as for any listed process.
            Err(_) => {
                found.push(pid);
                continue;
            }
        };
        let tgid = read_small(dir.as_ref(), "status", &mut buf, source::SMALL_CAP)
            .ok()
            .and_then(|()| parse::parse_status(&buf).tgid)
            .filter(|&t| t != 0);
        found.push(tgid.unwrap_or(pid));
    }
    found.sort_unstable();
    found.dedup();
    missing.sort_unstable();
    missing.dedup();
    (found, missing)
}

/// Fills cgroup and unit rows with the cgroup's own counters, as `charge` gives them (read
/// through the source by a scan, stored by a record).
pub fn reconcile(rows: &mut [Row], charge: impl Fn(&Cgroup) -> Option<Charge>) {
    for row in rows {
        if let RowKey::Cgroup {
            cgroup: Some(cgroup),
            charge: c,
        }
        | RowKey::Unit {
            cgroup: Some(cgroup),
            charge: c,
        }
        | RowKey::Container {
            cgroup: Some(cgroup),
            charge: c,
            ..
        } = &mut row.key
            && let Some(found) = charge(cgroup)
        {
            *c = found;
        }
    }
}

/// The own counters of the unit and container cgroups of every process of `rows` (and of
/// their parts), as `charge` gives them.
pub fn unit_charges(
    rows: &[Row],
    charge: impl Fn(&Cgroup) -> Option<Charge>,
) -> BTreeMap<Cgroup, Charge> {
    charges_of(
        process_cgroups(rows).flat_map(|c| parse::charged_cgroups(c).into_iter().flatten()),
        charge,
    )
}

/// The cgroup of every process of `rows` and of their parts (a process may come more than
/// once).
fn process_cgroups(rows: &[Row]) -> impl Iterator<Item = &Cgroup> {
    rows.iter()
        .flat_map(|r| std::iter::once(r).chain(&r.children))
        .filter_map(|row| match &row.key {
            RowKey::Process(p) | RowKey::FileProcess { proc: p, .. } => p.cgroup.as_ref(),
            _ => None,
        })
}

/// The counters of each of `cgroups` that `charge` knows, each asked once.
fn charges_of(
    cgroups: impl IntoIterator<Item = Cgroup>,
    charge: impl Fn(&Cgroup) -> Option<Charge>,
) -> BTreeMap<Cgroup, Charge> {
    let mut charges = BTreeMap::new();
    for cgroup in cgroups {
        if !charges.contains_key(&cgroup)
            && let Some(c) = charge(&cgroup)
        {
            charges.insert(cgroup, c);
        }
    }
    charges
}

/// A cgroup's own counters, read through the source: v2 `memory.current` and `memory.stat`;
/// v1 `memory.usage_in_bytes`, `memory.kmem.usage_in_bytes` and `memory.stat`. What cannot
/// be read is unknown.
pub fn charge_of(src: &dyn ProcSource, cgroup: &Cgroup) -> Charge {
    let file = |name: &str| src.cgroup_file(cgroup, name, source::SMALL_CAP).ok();
    let (current, kmem) = match cgroup.hierarchy {
        Hierarchy::V2 => (file("memory.current"), None),
        Hierarchy::V1Memory => (
            file("memory.usage_in_bytes"),
            file("memory.kmem.usage_in_bytes"),
        ),
    };
    let stat = file("memory.stat");
    parse::parse_charge(
        cgroup.hierarchy,
        current.as_deref(),
        stat.as_deref(),
        kmem.as_deref(),
    )
}

/// Names the closure's type: one step of any worker, whatever its lifetime.
fn for_each_worker<F>(f: F) -> F
where
    F: for<'a> Fn(Worker<'a>, u32) -> Worker<'a>,
{
    f
}

/// The workers a scan runs: as asked, else one per CPU; never more than the descriptor and
/// address-space limits allow ([`source::max_workers`]), never none.
pub fn worker_threads(asked: Option<usize>) -> usize {
    asked
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .min(source::max_workers())
        .max(1)
}

/// The per-process filters (`--user`, `--command`), applied before the maps are read.
pub fn wanted(query: &Query, info: &ProcInfo) -> bool {
    let f = &query.filters;
    if !f.uids.is_empty() && !info.uid.is_some_and(|u| f.uids.contains(&u)) {
        return false;
    }
    if let Some(re) = &f.command
        && !re.is_match(&info.comm)
        && !re.is_match(&info.cmdline)
    {
        return false;
    }
    if f.filters_cgroups() {
        let path = info.cgroup.as_ref().map_or(&b""[..], |c| &c.path);
        if let Some(re) = &f.cgroup
            && !re.is_match(path)
        {
            return false;
        }
        if !f.units.is_empty()
            && !parse::unit_of(path).is_some_and(|u| f.units.iter().any(|n| n == u))
        {
            return false;
        }
        if let Some(prefix) = &f.container
            && !parse::container_of(path).is_some_and(|c| c.id.starts_with(prefix))
        {
            return false;
        }
    }
    true
}
