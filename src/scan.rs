//! The scan: lists the processes of a proc source, reads them in parallel (one [`Reader`] and
//! one accumulator per rayon worker) and folds them into a [`Report`].
//!
//! Fails only when the source itself cannot be listed; every per-process failure is an
//! outcome. When no worker thread can be started (`ulimit -u`, a low `ulimit -v`), the scan
//! runs on the calling thread instead of failing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Instant, SystemTime};

use anyhow::Context;
use rayon::prelude::*;

use crate::aggregate::{self, Acc, Detail, Grand, Scratch};
use crate::model::{GroupBy, Meta, Outcome, ProcInfo, Query, Report, Row};
use crate::read::{Needs, ReadResult, Reader};
use crate::source::{self, ProcSource};

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
    scan_rows(src, query, progress, false).map(|(report, _)| report)
}

/// [`scan`], and one row per process whatever the group-by (from the same reads: `pmaps
/// watch` follows every file and every process at the cost of one report).
pub fn scan_with_processes(
    src: &dyn ProcSource,
    query: &Query,
) -> anyhow::Result<(Report, Vec<Row>)> {
    scan_rows(src, query, None, true)
}

fn scan_rows(
    src: &dyn ProcSource,
    query: &Query,
    progress: Option<&Progress>,
    with_processes: bool,
) -> anyhow::Result<(Report, Vec<Row>)> {
    let started = Instant::now();
    let time = SystemTime::now();
    let (mut pids, own) = src
        .list_pids()
        .with_context(|| format!("cannot list processes in {}", src.describe()))?;
    pids.retain(|p| Some(*p) != own);
    let mut filtered_by_pid = 0u64;
    if !query.filters.pids.is_empty() {
        let before = pids.len();
        pids.retain(|p| query.filters.pids.contains(p));
        filtered_by_pid = (before - pids.len()) as u64;
    }
    if let Some(p) = progress {
        p.total.store(pids.len(), Ordering::Relaxed);
    }
    let file = query.effective_source();
    let detail = Detail::for_group(query.group_by);
    let needs = Needs {
        uid: !query.filters.uids.is_empty()
            || matches!(
                query.group_by,
                GroupBy::Process | GroupBy::User | GroupBy::FileProcess
            ),
        cmdline: query.filters.command.is_some()
            || matches!(query.group_by, GroupBy::Process | GroupBy::FileProcess),
    };
    let want = |info: &ProcInfo| wanted(query, info);
    let grand = Grand::default();
    let new_worker = || Worker {
        reader: Reader::new(src, file).with_needs(needs),
        scratch: Scratch::new(detail, &query.filters),
        acc: Acc::new(query, &grand),
    };
    let step = for_each_worker(|mut w: Worker<'_>, pid: u32| {
        w.scratch.clear();
        let scratch = &mut w.scratch;
        let result = w
            .reader
            .read_process(pid, &want, &mut |h, c| scratch.add(h, c));
        match result {
            ReadResult::Filtered(_) => w.acc.add_filtered(),
            ReadResult::Done(info, outcome) => {
                let outcome = match outcome {
                    Outcome::Read if !w.acc.admit(&w.scratch) => Outcome::Error {
                        path: src.pid_path(pid, file.file_name()),
                        message: "impossible values: its memory sums past 2^64 bytes".into(),
                    },
                    other => other,
                };
                w.acc.add(info, outcome, &w.scratch)
            }
        }
        if let Some(p) = progress {
            p.done.fetch_add(1, Ordering::Relaxed);
        }
        w
    });
    let threads = query
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .min(source::max_workers())
        .max(1);
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
    let (rows, processes, totals, mut coverage) =
        aggregate::finish_rows(acc, query, src, with_processes);
    coverage.filtered += filtered_by_pid;
    coverage.self_pid = own;
    coverage.hidden = src.hidden_processes();
    coverage.problems.sort_by_key(|p| p.pid);
    let report = Report {
        meta: Meta {
            host: source::read_trimmed(src, "sys/kernel/hostname"),
            kernel: source::read_trimmed(src, "sys/kernel/osrelease"),
            time,
            source: file,
            group_by: query.group_by,
            proc_root: src.describe().into(),
            threads,
            duration: started.elapsed(),
        },
        rows,
        totals,
        coverage,
    };
    Ok((report, processes))
}

/// Names the closure's type: one step of any worker, whatever its lifetime.
fn for_each_worker<F>(f: F) -> F
where
    F: for<'a> Fn(Worker<'a>, u32) -> Worker<'a>,
{
    f
}

/// The per-process filters (`--user`, `--command`), applied before the maps are read.
fn wanted(query: &Query, info: &ProcInfo) -> bool {
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
    true
}
