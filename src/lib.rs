//! pmaps: where did the memory go? A system-wide report of every process's memory maps,
//! grouped by mapped file, process, user, command or mapping kind.
//!
//! # The pipeline
//! `enumerate` lists the PIDs of a proc root → `read` reads each process (in parallel, one
//! [`read::Reader`] per worker, the only stage that touches the proc root) → `parse` turns
//! bytes into counters (pure functions) → `aggregate` folds mappings into rows → `render`
//! prints a table, CSV or JSON over one column definition per view (`columns`).
//!
//! # Outcomes
//! Every PID gets exactly one [`model::Outcome`]: read, vanished, zombie, kernel thread,
//! denied, incomplete or error. Their counts are part of every report; denied, incomplete
//! and error make it partial.
//!
//! # Exit codes
//! See [`exit`].

pub mod aggregate;
pub mod cli;
pub mod columns;
pub mod config;
pub mod enumerate;
pub mod model;
pub mod output;
pub mod parse;
pub mod read;
pub mod render;
pub mod show;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use rayon::prelude::*;

use crate::aggregate::{Acc, Coverage, Detail, Rows, Scratch};
use crate::config::{Config, GroupBy};
use crate::model::{ProcInfo, Source};
use crate::read::{Needs, ReadResult, Reader};

/// Exit statuses, as documented in the README and `--help`.
pub mod exit {
    /// The report is complete (vanished, zombie and kernel-thread outcomes are expected).
    pub const OK: u8 = 0;
    /// A fatal error: the proc root could not be listed, the output could not be written.
    pub const FATAL: u8 = 1;
    /// Usage error (bad option or value).
    pub const USAGE: u8 = 2;
    /// The report is partial: some process was denied, incomplete or failed.
    pub const PARTIAL: u8 = 3;
    /// `pmaps show`: no process matched.
    pub const NO_MATCH: u8 = 4;
}

/// Facts about the run, for the JSON `meta` object and the footers.
#[derive(Debug, Clone)]
pub struct Meta {
    pub host: Option<String>,
    pub kernel: Option<String>,
    pub time: SystemTime,
    pub source: Source,
    pub group_by: GroupBy,
    pub proc_root: PathBuf,
    pub threads: usize,
    pub duration: Duration,
}

/// A finished report: rows, totals, coverage and facts about the run.
#[derive(Debug, Clone)]
pub struct Report {
    pub meta: Meta,
    pub rows: Rows,
    pub coverage: Coverage,
}

/// Progress of a running scan, for a progress line on a terminal.
#[derive(Debug, Default)]
pub struct Progress {
    pub done: AtomicUsize,
    pub total: AtomicUsize,
}

fn read_trimmed(path: &Path) -> Option<String> {
    let s = read::read_root_file(path, 4096).ok()?;
    let s = String::from_utf8_lossy(&s);
    Some(s.trim_end_matches('\n').to_string())
}

/// One worker's state: its reader, the scratch of the process being read, its accumulator.
struct Worker {
    reader: Reader,
    scratch: Scratch,
    acc: Acc,
}

/// Scans the proc root and builds the report. Fails only when the proc root itself cannot
/// be listed or the worker pool cannot start; per-process failures are outcomes.
pub fn scan(cfg: &Config, progress: Option<&Progress>) -> anyhow::Result<Report> {
    let started = Instant::now();
    let time = SystemTime::now();
    let root = &cfg.proc_root;
    let (mut pids, own) = enumerate::list_pids(root)
        .with_context(|| format!("cannot list processes in {}", root.display()))?;
    pids.retain(|p| Some(*p) != own);
    let mut filtered_by_pid = 0u64;
    if !cfg.filters.pids.is_empty() {
        let before = pids.len();
        pids.retain(|p| cfg.filters.pids.contains(p));
        filtered_by_pid = (before - pids.len()) as u64;
    }
    if let Some(p) = progress {
        p.total.store(pids.len(), Ordering::Relaxed);
    }
    let source = cfg.effective_source();
    let detail = Detail::for_group(cfg.group_by);
    let threads = cfg
        .threads
        .unwrap_or_else(rayon::current_num_threads)
        .min(read::max_workers())
        .max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start worker threads")?;
    let want = |info: &ProcInfo| wanted(cfg, info);
    let needs = Needs {
        uid: !cfg.filters.uids.is_empty()
            || matches!(
                cfg.group_by,
                GroupBy::Process | GroupBy::User | GroupBy::FileProcess
            ),
        cmdline: cfg.filters.command.is_some()
            || matches!(cfg.group_by, GroupBy::Process | GroupBy::FileProcess),
    };
    let acc = pool.install(|| {
        pids.par_iter()
            .with_min_len(4)
            .fold(
                || Worker {
                    reader: Reader::new(root, source).with_needs(needs),
                    scratch: Scratch::new(detail, &cfg.filters),
                    acc: Acc::new(cfg),
                },
                |mut w, &pid| {
                    w.scratch.clear();
                    let scratch = &mut w.scratch;
                    let result = w
                        .reader
                        .read_process(pid, &want, &mut |h, c| scratch.add(h, c));
                    match result {
                        ReadResult::Filtered(_) => w.acc.add_filtered(),
                        ReadResult::Done(info, outcome) => w.acc.add(info, outcome, &w.scratch),
                    }
                    if let Some(p) = progress {
                        p.done.fetch_add(1, Ordering::Relaxed);
                    }
                    w
                },
            )
            .map(|w| w.acc)
            .reduce(|| Acc::new(cfg), Acc::merge)
    });
    let (rows, mut coverage) = aggregate::finish(acc, cfg);
    coverage.filtered += filtered_by_pid;
    coverage.self_pid = own;
    coverage.hidden = enumerate::hidden_processes(root);
    coverage.problems.sort_by_key(|p| p.pid);
    Ok(Report {
        meta: Meta {
            host: read_trimmed(&root.join("sys/kernel/hostname")),
            kernel: read_trimmed(&root.join("sys/kernel/osrelease")),
            time,
            source,
            group_by: cfg.group_by,
            proc_root: root.clone(),
            threads,
            duration: started.elapsed(),
        },
        rows,
        coverage,
    })
}

/// The per-process filters (`--user`, `--command`), applied before the maps are read.
fn wanted(cfg: &Config, info: &ProcInfo) -> bool {
    let f = &cfg.filters;
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
