//! Reading `/proc` without pmaps: the floor (the hidden `floor` mode, a contender that reads
//! every process's smaps, smaps_rollup or maps to EOF with no parsing, serially or with
//! threads; or, for a filtered question, every maps and then the smaps of the processes that
//! match: [`read_maps_then_smaps`]), the untimed [`census`] before each run that counts what
//! every contender scans, and the small `/proc` readers the rest of the bench uses.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, Read};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};

use pmaps::model::MapKind;

use crate::child::RARE_LIB;
use crate::cli::FloorFile;

/// Every PID in `/proc`.
pub fn list_pids() -> Result<Vec<i32>> {
    let mut pids = Vec::new();
    for entry in fs::read_dir("/proc").context("reading /proc")? {
        let entry = entry.context("reading /proc")?;
        if let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        {
            pids.push(pid);
        }
    }
    Ok(pids)
}

pub fn count_lines(path: &str) -> Result<u64> {
    let data = fs::read(path).with_context(|| format!("reading {path}"))?;
    Ok(data.iter().filter(|&&b| b == b'\n').count() as u64)
}

/// The file's content without surrounding white space, `?` when it cannot be read.
pub fn read_trimmed(path: &str) -> String {
    fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into())
}

pub fn max_map_count() -> Result<u64> {
    let s = fs::read_to_string("/proc/sys/vm/max_map_count")
        .context("reading /proc/sys/vm/max_map_count")?;
    s.trim()
        .parse()
        .with_context(|| format!("parsing vm.max_map_count {:?}", s.trim()))
}

#[derive(Default)]
pub struct ReadTotals {
    pub files: u64,
    pub errors: u64,
    pub bytes: u64,
    pub mappings: u64,
    pub per_pid: Vec<(i32, u64)>,
}

impl ReadTotals {
    fn merge(&mut self, other: ReadTotals) {
        self.files += other.files;
        self.errors += other.errors;
        self.bytes += other.bytes;
        self.mappings += other.mappings;
        self.per_pid.extend(other.per_pid);
    }
}

/// One reader thread's buffers: a 64 KiB read buffer, a whole `maps`, a path.
#[derive(Default)]
struct Scratch {
    buf: Vec<u8>,
    maps: Vec<u8>,
    path: String,
}

/// Runs `per_pid` for every PID on `threads` threads (or this one), each thread with its own
/// buffers and totals, and merges the totals.
fn for_each_pid(
    pids: &[i32],
    threads: usize,
    per_pid: impl Fn(i32, &mut Scratch, &mut ReadTotals) + Sync,
) -> ReadTotals {
    let next = AtomicUsize::new(0);
    let work = || {
        let mut scratch = Scratch {
            buf: vec![0u8; 64 * 1024],
            ..Scratch::default()
        };
        let mut t = ReadTotals::default();
        while let Some(&pid) = pids.get(next.fetch_add(1, Ordering::Relaxed)) {
            per_pid(pid, &mut scratch, &mut t);
        }
        t
    };
    if threads <= 1 {
        return work();
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
        let mut total = ReadTotals::default();
        for h in handles {
            if let Ok(t) = h.join() {
                total.merge(t);
            }
        }
        total
    })
}

/// Reads `path` to EOF through `buf`; the bytes read, and with `count` the mappings (lines
/// starting with a lowercase hex digit). `None` when it cannot be read.
fn read_to_eof(path: &str, buf: &mut [u8], count: bool) -> Option<(u64, u64)> {
    let mut f = File::open(path).ok()?;
    let (mut bytes, mut maps, mut at_line_start) = (0u64, 0u64, true);
    loop {
        match f.read(buf) {
            Ok(0) => return Some((bytes, maps)),
            Ok(n) => {
                bytes += n as u64;
                if count {
                    for &b in &buf[..n] {
                        if at_line_start && matches!(b, b'0'..=b'9' | b'a'..=b'f') {
                            maps += 1;
                        }
                        at_line_start = b == b'\n';
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

/// Reads `/proc/PID/<file>` to EOF for every PID, into one reused 64 KiB buffer per thread.
/// With `count`, also counts mappings (lines starting with a lowercase hex digit); the timed
/// floor runs do not count.
pub fn read_proc_files(pids: &[i32], file: &str, threads: usize, count: bool) -> ReadTotals {
    for_each_pid(pids, threads, |pid, s, t| {
        s.path.clear();
        let _ = write!(s.path, "/proc/{pid}/{file}");
        match read_to_eof(&s.path, &mut s.buf, count) {
            Some((bytes, maps)) => {
                t.files += 1;
                t.bytes += bytes;
                t.mappings += maps;
                if count {
                    t.per_pid.push((pid, maps));
                }
            }
            None => t.errors += 1,
        }
    })
}

/// Which processes a two-step floor reads `smaps` of, decided from the whole of `maps`.
#[derive(Clone, Copy)]
pub enum Wanted {
    /// A file deleted while mapped (pmaps' kind `deleted`: not memfd, SysV or /dev/zero).
    Deleted,
    /// The rare library.
    Rare,
}

impl Wanted {
    pub fn matches(self, maps: &[u8]) -> bool {
        match self {
            Wanted::Rare => memchr::memmem::find(maps, RARE_LIB.as_bytes()).is_some(),
            Wanted::Deleted => memchr::memmem::find_iter(maps, b" (deleted)\n").any(|end| {
                let start = memchr::memrchr(b'\n', &maps[..end]).map_or(0, |i| i + 1);
                let line = &maps[start..end + b" (deleted)".len()];
                pmaps::parse::parse_map_header(line)
                    .is_ok_and(|h| pmaps::parse::kind_of(h.path) == MapKind::Deleted)
            }),
        }
    }
}

/// The floor of a filtered question: every process's `maps` read whole, then the `smaps` of
/// those that `wanted` matches, to EOF. `files` counts the smaps read.
pub fn read_maps_then_smaps(pids: &[i32], wanted: Wanted, threads: usize) -> ReadTotals {
    for_each_pid(pids, threads, |pid, s, t| {
        s.path.clear();
        let _ = write!(s.path, "/proc/{pid}/maps");
        s.maps.clear();
        let read = File::open(&s.path).and_then(|mut f| f.read_to_end(&mut s.maps));
        let Ok(n) = read else {
            t.errors += 1;
            return;
        };
        t.bytes += n as u64;
        if !wanted.matches(&s.maps) {
            return;
        }
        s.path.clear();
        let _ = write!(s.path, "/proc/{pid}/smaps");
        match read_to_eof(&s.path, &mut s.buf, false) {
            Some((bytes, _)) => {
                t.files += 1;
                t.bytes += bytes;
            }
            None => t.errors += 1,
        }
    })
}

/// The hidden `floor` mode: reads, then prints `files= errors= bytes= mappings=`.
pub fn main(file: FloorFile, threads: usize, count: bool) -> Result<()> {
    let pids = list_pids()?;
    let t = match file {
        FloorFile::MapsDeleted => read_maps_then_smaps(&pids, Wanted::Deleted, threads),
        FloorFile::MapsRare => read_maps_then_smaps(&pids, Wanted::Rare, threads),
        _ => read_proc_files(&pids, file.name(), threads, count),
    };
    println!(
        "files={} errors={} bytes={} mappings={}",
        t.files, t.errors, t.bytes, t.mappings
    );
    Ok(())
}

pub struct Census {
    pub mappings: u64,
    /// Processes whose maps has a deleted file / the rare library; what the two-step
    /// floors read of smaps.
    pub deleted_procs: u64,
    pub rare_procs: u64,
    pub maps_bytes: u64,
    pub smaps_bytes: u64,
    pub rollup_bytes: u64,
    pub procs: u64,
    pub unreadable: u64,
    pub workload_maps: Vec<u64>,
    /// Processes we did not start: how many have mappings, and the largest (PID, mappings).
    pub others_with_maps: u64,
    pub others_biggest: (i32, u64),
    pub others_biggest_comm: String,
}

/// Untimed: counts what the contenders scan (every PID in /proc); `mine` are the workload's.
pub fn census(mine: &BTreeSet<i32>, threads: usize) -> Result<Census> {
    let pids = list_pids()?;
    let s = read_proc_files(&pids, "smaps", threads, true);
    let r = read_proc_files(&pids, "smaps_rollup", threads, false);
    let m = read_proc_files(&pids, "maps", threads, false);
    let deleted = read_maps_then_smaps(&pids, Wanted::Deleted, threads);
    let rare = read_maps_then_smaps(&pids, Wanted::Rare, threads);
    let workload_maps = s
        .per_pid
        .iter()
        .filter(|(pid, _)| mine.contains(pid))
        .map(|&(_, m)| m)
        .collect();
    let others = s
        .per_pid
        .iter()
        .filter(|(pid, m)| *m > 0 && !mine.contains(pid));
    let others_with_maps = others.clone().count() as u64;
    let others_biggest = others.max_by_key(|(_, m)| *m).copied().unwrap_or((0, 0));
    let others_biggest_comm = read_trimmed(&format!("/proc/{}/comm", others_biggest.0));
    Ok(Census {
        mappings: s.mappings,
        deleted_procs: deleted.files,
        rare_procs: rare.files,
        maps_bytes: m.bytes,
        smaps_bytes: s.bytes,
        rollup_bytes: r.bytes,
        procs: s.files,
        unreadable: s.errors,
        workload_maps,
        others_with_maps,
        others_biggest,
        others_biggest_comm,
    })
}
