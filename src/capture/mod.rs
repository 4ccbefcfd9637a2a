//! `pmaps capture`: every process of a proc source, read as a report reads it, streamed into
//! one archive.
//!
//! Workers (rayon, one [`Reader`] each) read the processes in parallel through a
//! [`Recorder`], which keeps what each read got; each process's record goes through a bounded
//! channel to the one thread that writes the archive ([`writer`]), so memory holds at most a
//! few processes' files at once, whatever their number. The reads are the report's own
//! (same caps, same outcomes, same truncation check): a process that exits or execs while
//! read is recorded as the report would find it, with the second `stat` that told.
//!
//! The archive: the system files (`meminfo`, `version`, `sys/kernel/hostname`,
//! `sys/kernel/osrelease`), per process `PID/stat`, `PID/status`, `PID/cmdline`, `PID/comm`
//! and the map file (`PID/smaps`, or `smaps_rollup` / `maps`; under `PID/task/TID/` for a
//! process whose main thread had exited, read through a live thread) and `PID/cgroup`; per
//! cgroup of the processes (each one's own and its unit's) the counter files a report reads
//! for it (`cgroup/N/memory.current`, `memory.stat`, v1 `memory.usage_in_bytes`,
//! `memory.kmem.usage_in_bytes`), read once every process is, as a report's scan reads them
//! once it has read every process; `passwd` (the names of the uids seen, as the captured
//! host names them), and last `manifest.json` (see [`crate::source::archive::manifest`]).

pub mod writer;

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use rayon::prelude::*;

use crate::model::{Cgroup, Coverage, Outcome, OutcomeKind, Problem, ProcInfo, Source};
use crate::parse;
use crate::read::{ReadResult, Reader};
use crate::scan;
use crate::source::archive::manifest::{
    self, CgroupRecord, MANIFEST, Manifest, PASSWD, ProcessRecord, ReadRecord, SYSTEM_FILES,
};
use crate::source::{self, PidLog, ProcSource, Recorder, Stage};
use crate::text::utc_timestamp;
use writer::ArchiveWriter;

/// What one capture is asked.
#[derive(Debug, Clone, Copy)]
pub struct CaptureOptions {
    /// The map file kept per process.
    pub file: Source,
    /// Worker threads; `None`: one per CPU.
    pub threads: Option<usize>,
    /// zstd's compression level.
    pub level: i32,
}

/// What a capture did.
#[derive(Debug, Clone)]
pub struct CaptureSummary {
    /// Who was captured and who was not, as a report made from the archive will count them.
    pub coverage: Coverage,
    /// Bytes of the files kept, and of the archive written.
    pub raw_bytes: u64,
    pub archive_bytes: u64,
    pub seconds: f64,
}

/// One process, read: what its reads got and how it ended.
struct Captured {
    info: ProcInfo,
    outcome: Outcome,
    log: PidLog,
    mappings: u64,
}

/// Captures every process of `src` into `out`.
pub fn capture(
    src: &dyn ProcSource,
    opts: &CaptureOptions,
    out: &mut dyn Write,
) -> anyhow::Result<CaptureSummary> {
    let started = Instant::now();
    let start = SystemTime::now();
    let (mut pids, own) = src
        .list_pids()
        .with_context(|| format!("cannot list processes in {}", src.describe()))?;
    pids.retain(|p| Some(*p) != own);
    let write_err = "cannot write the archive";
    let mut w = ArchiveWriter::new(out, opts.level, unix_secs(start)).context(write_err)?;
    for rel in SYSTEM_FILES {
        if let Ok(bytes) = src.read_file(rel, source::SMALL_CAP) {
            w.add(rel, &bytes, 0).context(write_err)?;
        }
    }
    let threads = scan::worker_threads(opts.threads);
    let (tx, rx) = sync_channel::<Captured>(threads * 2);
    let recorder = Recorder::new(src);
    let stop = AtomicBool::new(false);
    let written = std::thread::scope(|s| {
        let recorder = &recorder;
        let stop = &stop;
        let pids = &pids;
        let producer = s.spawn(move || read_all(recorder, pids, opts.file, threads, stop, tx));
        let written = write_all(&mut w, rx);
        if written.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        // A worker that panicked has lost its processes: the archive would lack them.
        let joined = producer.join();
        written.and_then(|r| match joined {
            Ok(()) => Ok(r),
            Err(_) => Err(anyhow::anyhow!("a capture worker failed")),
        })
    })
    .context(write_err)?;
    let (mut records, uids, cgroups, coverage) = written;
    records.sort_by_key(|r| r.pid);
    let cgroups = write_cgroups(&mut w, &recorder, &cgroups).context(write_err)?;
    let mut passwd = String::new();
    for uid in uids {
        if let Some(name) = src.user_name(uid) {
            passwd.push_str(&format!("{name}:x:{uid}::::\n"));
        }
    }
    w.add(PASSWD, passwd.as_bytes(), 0).context(write_err)?;
    let end = SystemTime::now();
    let m = Manifest {
        format: manifest::FORMAT.into(),
        version: manifest::VERSION,
        pmaps_version: env!("CARGO_PKG_VERSION").into(),
        host: source::read_trimmed(src, "sys/kernel/hostname"),
        kernel: source::read_trimmed(src, "sys/kernel/osrelease"),
        page_size: Some(rustix::param::page_size() as u64),
        boot_time: src
            .read_file("stat", 1 << 20)
            .ok()
            .and_then(|s| boot_time(&s)),
        start_utc: utc_timestamp(start),
        end_utc: utc_timestamp(end),
        start_unix_ms: unix_ms(start),
        end_unix_ms: unix_ms(end),
        proc_root: src.describe(),
        map_file: opts.file,
        self_pid: own,
        hidden: src.hidden_processes(),
        processes: records,
        cgroups,
    };
    let json = serde_json::to_vec(&m).context("cannot write the manifest")?;
    w.add(MANIFEST, &json, 0).context(write_err)?;
    let raw_bytes = w.raw_bytes;
    let (_, archive_bytes) = w.finish().context(write_err)?;
    let mut coverage = coverage;
    coverage.self_pid = own;
    coverage.hidden = m.hidden;
    Ok(CaptureSummary {
        coverage,
        raw_bytes,
        archive_bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Reads every PID on `threads` workers and sends each one's record to the writer. Stops
/// early when the writer has failed.
fn read_all(
    recorder: &Recorder<'_>,
    pids: &[u32],
    file: Source,
    threads: usize,
    stop: &AtomicBool,
    tx: SyncSender<Captured>,
) {
    let step = |reader: &mut Reader<'_>, tx: &SyncSender<Captured>, pid: u32| {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let mut mappings = 0u64;
        let result = reader.read_process(pid, &|_| true, &mut |_, _| mappings += 1);
        let log = recorder.take(pid);
        let (info, outcome) = match result {
            ReadResult::Done(info, outcome) => (info, outcome),
            // Every process is wanted.
            ReadResult::Filtered(info) => (info, Outcome::Read),
        };
        let c = Captured {
            info,
            outcome,
            log,
            mappings,
        };
        if tx.send(c).is_err() {
            stop.store(true, Ordering::Relaxed);
        }
    };
    let new_reader = || Reader::new(recorder, file);
    match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool.install(|| {
            pids.par_iter().for_each_init(
                || (new_reader(), tx.clone()),
                |(reader, tx), &pid| step(reader, tx, pid),
            );
        }),
        // No thread could be started: read every process on this one.
        Err(_) => {
            let mut reader = new_reader();
            for &pid in pids {
                step(&mut reader, &tx, pid);
            }
        }
    }
}

type Written = (
    Vec<ProcessRecord>,
    BTreeSet<u32>,
    BTreeSet<Cgroup>,
    Coverage,
);

/// Writes each process's files as it arrives; returns the manifest's records, the uids seen,
/// the cgroups whose counters a report may read (each process's own and its unit's) and the
/// coverage.
fn write_all<W: Write>(
    w: &mut ArchiveWriter<W>,
    rx: Receiver<Captured>,
) -> anyhow::Result<Written> {
    let mut records = Vec::new();
    let mut uids = BTreeSet::new();
    let mut cgroups = BTreeSet::new();
    let mut coverage = Coverage::default();
    for c in rx {
        let pid = c.info.pid;
        uids.extend(c.log.owner);
        uids.extend(c.info.uid);
        if let Some(cg) = &c.info.cgroup {
            cgroups.extend(parse::kept_cgroups(cg));
        }
        let kind = c.outcome.kind();
        coverage.counts[kind as usize] += 1;
        if kind == OutcomeKind::Read {
            coverage.mappings += c.mappings;
        }
        let mut reads = Vec::new();
        let mut seen: Vec<(&str, usize)> = Vec::new();
        for r in &c.log.reads {
            let n = match seen.iter_mut().find(|(name, _)| *name == r.name) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    seen.push((&r.name, 1));
                    1
                }
            };
            // A read found complete was checked by a second `stat` (a thread's, when read
            // through one) that found the same process: replaying the first answers that
            // check the same way.
            let is_stat = r.name == "stat" || r.name.ends_with("/stat");
            if n > 1 && kind == OutcomeKind::Read && is_stat {
                continue;
            }
            let opened = !r.failure.as_ref().is_some_and(|f| f.at == Stage::Open);
            let entry = opened.then(|| match n {
                1 => r.name.clone(),
                n => format!("{}.{n}", r.name),
            });
            if let Some(e) = &entry {
                if !manifest::is_entry_name(e) {
                    continue;
                }
                w.add(&format!("{pid}/{e}"), &r.data, c.log.owner.unwrap_or(0))?;
            }
            reads.push(ReadRecord {
                file: r.name.clone(),
                entry,
                failure: r.failure.clone(),
            });
        }
        let (path, detail) = match &c.outcome {
            Outcome::Denied { path, errno } => (
                Some(path.clone()),
                Some(std::io::Error::from_raw_os_error(*errno).to_string()),
            ),
            Outcome::Error { path, message } => (Some(path.clone()), Some(message.clone())),
            _ => (None, None),
        };
        if kind.is_partial() {
            coverage.problems.push(Problem {
                pid,
                comm: c.info.comm.clone(),
                outcome: c.outcome.clone(),
            });
        }
        records.push(ProcessRecord {
            pid,
            outcome: kind,
            path,
            detail,
            owner: c.log.owner,
            dir_failure: c.log.dir_failure,
            reads,
            threads: c.log.threads,
        });
    }
    coverage.problems.sort_by_key(|p| p.pid);
    Ok((records, uids, cgroups, coverage))
}

/// Reads the counters of each of `cgroups` as a report does ([`scan::charge_of`], through
/// the recorder) and writes what each read got under `cgroup/N/`; returns the manifest's
/// records, in the same order.
fn write_cgroups<W: Write>(
    w: &mut ArchiveWriter<W>,
    recorder: &Recorder<'_>,
    cgroups: &BTreeSet<Cgroup>,
) -> std::io::Result<Vec<CgroupRecord>> {
    let mut records = Vec::with_capacity(cgroups.len());
    for (i, cg) in cgroups.iter().enumerate() {
        // What is kept is what the reads got; the counters are for the report to parse.
        let _ = scan::charge_of(recorder, cg);
        let mut reads = Vec::new();
        for (_, r) in recorder.take_cgroup_reads() {
            if !manifest::is_plain_name(&r.name) {
                continue;
            }
            let entry = r.failure.is_none().then(|| r.name.clone());
            if let Some(e) = &entry {
                w.add(&manifest::cgroup_entry(i, e), &r.data, 0)?;
            }
            reads.push(ReadRecord {
                file: r.name,
                entry,
                failure: r.failure,
            });
        }
        records.push(CgroupRecord::new(cg, reads));
    }
    Ok(records)
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `btime` of `/proc/stat`: when the host booted, in seconds since the epoch.
fn boot_time(stat: &[u8]) -> Option<u64> {
    stat.split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(b"btime "))
        .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_time_is_btime_of_proc_stat() {
        let stat = b"cpu  1 2 3\nintr 5\nctxt 9\nbtime 1795542613\nprocesses 7\n";
        assert_eq!(boot_time(stat), Some(1_795_542_613));
        assert_eq!(boot_time(b"cpu 1\n"), None);
    }
}

#[cfg(test)]
mod replay_tests;
