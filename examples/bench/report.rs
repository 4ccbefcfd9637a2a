//! The output: the header (machine, workload, column meanings), one block per workload size
//! (the workload and what was scanned, the table of contenders, machine load, the
//! `--many-maps` line, the targets from `targets.rs`), and the `--csv` file. A [`Row`] is one
//! contender's medians over the runs, with its ratios to the floor and to pmaps.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};

use crate::archive::ArchiveSizes;
use crate::child::{OWN_LIBS, RARE_LIB, SYSTEM_LIBS};
use crate::cli::Cli;
use crate::contenders::{Contender, Env, Kind};
use crate::floor::read_trimmed;
use crate::measure::{Sample, median};
use crate::run::{RETRY_MARGIN_PCT, SizeResult};
use crate::targets;

use self::Show::{Dec, Thousands};

pub struct Row {
    pub n: usize,
    pub name: String,
    pub kind: Kind,
    pub threads: usize,
    pub runs: usize,
    pub wall_ms: f64,
    pub user_ms: f64,
    pub sys_ms: f64,
    pub rss_mib: f64,
    pub mappings: f64,
    pub mb_read: f64,
    pub ns_per_map: f64,
    pub cpu_ns_per_map: f64,
    pub vs_floor: f64,
    pub peer_ratio: f64,
    /// CPU used by everything else during the runs, % of the machine (median).
    pub others_pct: f64,
    /// A capture's archive and the raw smaps text in it, MB (medians; NaN for the others).
    pub archive_mb: f64,
    pub archive_smaps_mb: f64,
    pub note: String,
}

/// One row from a contender's samples: the median of each column separately.
pub fn summarize(
    n: usize,
    c: &Contender,
    samples: &[Sample],
    mappings: f64,
    extra_note: &str,
) -> Row {
    let ms = |f: fn(&Sample) -> Duration| median(samples.iter().map(|s| f(s).as_secs_f64() * 1e3));
    let (wall_ms, user_ms, sys_ms) = (ms(|s| s.wall), ms(|s| s.user), ms(|s| s.sys));
    let codes: BTreeSet<i32> = samples
        .iter()
        .flat_map(|s| s.codes.iter().copied())
        .collect();
    let mut notes = Vec::new();
    if codes.iter().any(|&c| c != 0) {
        let list: Vec<String> = codes.iter().map(i32::to_string).collect();
        notes.push(format!("exit {}", list.join("/")));
    }
    let archive = |f: fn(&ArchiveSizes) -> u64| {
        median(
            samples
                .iter()
                .filter_map(|s| s.archive.as_ref())
                .map(|a| f(a) as f64 / 1e6),
        )
    };
    let (archive_mb, archive_smaps_mb) = (archive(|a| a.archive_bytes), archive(|a| a.smaps_bytes));
    if archive_mb.is_finite() {
        notes.push(format!(
            "archive {archive_mb:.1} MB = {:.2} % of its {archive_smaps_mb:.0} MB of smaps",
            100.0 * archive_mb / archive_smaps_mb
        ));
    }
    if !extra_note.is_empty() {
        notes.push(extra_note.to_string());
    }
    Row {
        n,
        name: c.name(),
        kind: c.kind,
        threads: c.threads,
        runs: samples.len(),
        wall_ms,
        user_ms,
        sys_ms,
        rss_mib: median(samples.iter().map(|s| s.maxrss_kib as f64 / 1024.0)),
        mappings,
        mb_read: median(
            samples
                .iter()
                .map(|s| s.rchar.map_or(f64::NAN, |b| b as f64 / 1e6)),
        ),
        ns_per_map: wall_ms * 1e6 / mappings,
        cpu_ns_per_map: (user_ms + sys_ms) * 1e6 / mappings,
        vs_floor: f64::NAN,
        peer_ratio: f64::NAN,
        others_pct: median(samples.iter().map(Sample::others_pct)),
        archive_mb,
        archive_smaps_mb,
        note: notes.join("; "),
    }
}

pub fn find_row(rows: &[Row], kind: Kind, threads: usize) -> Option<&Row> {
    rows.iter().find(|r| r.kind == kind && r.threads == threads)
}

/// The floor that reads the same files as `kind` (what "÷ floor" divides by).
pub fn floor_of(kind: Kind) -> Option<Kind> {
    match kind {
        Kind::PmapsFile
        | Kind::PmapsCapture
        | Kind::PmapsProm
        | Kind::Record
        | Kind::Watch
        | Kind::Smem
        | Kind::PmapLoop => Some(Kind::FloorSmaps),
        Kind::PmapsProc | Kind::PsMem => Some(Kind::FloorRollup),
        Kind::PmapsDeleted | Kind::PmapsDeletedAll | Kind::Needrestart | Kind::LsofDel => {
            Some(Kind::FloorDeleted)
        }
        Kind::PmapsRare | Kind::PmapsRareAll => Some(Kind::FloorRare),
        Kind::ManyWithout
        | Kind::ManyWith
        | Kind::FloorSmaps
        | Kind::FloorRollup
        | Kind::FloorMaps
        | Kind::FloorDeleted
        | Kind::FloorRare => None,
    }
}

/// Fills "÷ floor" (the floor reading the same files with the same thread count) and
/// "peer ÷ pmaps" (vs the matching pmaps report at all threads; a capture vs the per-file
/// report at its own thread count).
pub fn fill_ratios(rows: &mut [Row], all_threads: usize) {
    let wall = |rows: &[Row], kind, t| find_row(rows, kind, t).map_or(f64::NAN, |r| r.wall_ms);
    for i in 0..rows.len() {
        let (kind, t) = (rows[i].kind, rows[i].threads);
        let floor = floor_of(kind).map_or(f64::NAN, |f| wall(rows, f, t));
        let pmaps = match kind {
            Kind::Smem | Kind::PmapLoop => wall(rows, Kind::PmapsFile, all_threads),
            Kind::PsMem => wall(rows, Kind::PmapsProc, all_threads),
            Kind::Needrestart | Kind::LsofDel | Kind::PmapsDeletedAll => {
                wall(rows, Kind::PmapsDeleted, all_threads)
            }
            Kind::PmapsRareAll => wall(rows, Kind::PmapsRare, all_threads),
            Kind::PmapsCapture => wall(rows, Kind::PmapsFile, t),
            _ => f64::NAN,
        };
        rows[i].vs_floor = rows[i].wall_ms / floor;
        rows[i].peer_ratio = rows[i].wall_ms / pmaps;
    }
}

/// `v` rounded, with thousands separators (`255,297`), `-` when not finite.
pub fn fmt_int(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let s = format!("{v:.0}");
    let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    format!("{sign}{out}")
}

/// How the table shows a number.
#[derive(Clone, Copy)]
enum Show {
    /// With this many decimals.
    Dec(usize),
    /// Rounded, with thousands separators.
    Thousands,
}

type NumberColumn = (&'static str, Show, &'static str, usize, fn(&Row) -> f64);

/// The numeric columns, between the contender (first) and the note (last): the table's header
/// (empty: only in the CSV file) and format, the CSV header and decimals, the value. The CSV
/// file starts with one more, `procs`.
const NUMBERS: [NumberColumn; 15] = [
    ("thr", Dec(0), "threads", 0, |r| r.threads as f64),
    ("", Dec(0), "runs", 0, |r| r.runs as f64),
    ("wall ms", Dec(1), "wall_ms_median", 2, |r| r.wall_ms),
    ("user ms", Dec(1), "user_ms", 2, |r| r.user_ms),
    ("sys ms", Dec(1), "sys_ms", 2, |r| r.sys_ms),
    ("peak RSS MiB", Dec(1), "peak_rss_mib", 2, |r| r.rss_mib),
    ("mappings", Thousands, "mappings", 0, |r| r.mappings),
    ("MB read", Dec(1), "mb_read", 3, |r| r.mb_read),
    ("ns/map", Dec(0), "ns_per_mapping", 1, |r| r.ns_per_map),
    ("cpu ns/map", Dec(0), "cpu_ns_per_mapping", 1, |r| {
        r.cpu_ns_per_map
    }),
    ("÷ floor", Dec(2), "ratio_vs_floor", 3, |r| r.vs_floor),
    ("peer ÷ pmaps", Dec(1), "peer_over_pmaps", 3, |r| {
        r.peer_ratio
    }),
    ("others %", Dec(0), "others_cpu_pct", 1, |r| r.others_pct),
    ("", Dec(1), "archive_mb", 3, |r| r.archive_mb),
    ("", Dec(1), "archive_smaps_mb", 3, |r| r.archive_smaps_mb),
];

/// `x` as `show` says, `missing` when it is not finite.
fn number(x: f64, show: Show, missing: &str) -> String {
    match show {
        _ if !x.is_finite() => missing.to_string(),
        Dec(d) => format!("{x:.d$}"),
        Thousands => fmt_int(x),
    }
}

/// The table: first and last column left-aligned, the numbers right-aligned.
fn print_table(out: &mut String, rows: &[Row]) {
    let numbers = || NUMBERS.iter().filter(|c| !c.0.is_empty());
    let mut header = vec!["contender".to_string()];
    header.extend(numbers().map(|c| c.0.to_string()));
    header.push("note".into());
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut line = vec![r.name.clone()];
            line.extend(numbers().map(|c| number((c.4)(r), c.1, "-")));
            line.push(r.note.clone());
            line
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &cells {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |out: &mut String, row: &[String]| {
        let mut s = String::new();
        for (i, (c, w)) in row.iter().zip(&widths).enumerate() {
            let pad = " ".repeat(w - c.chars().count());
            if i == 0 || i == row.len() - 1 {
                let _ = write!(s, "{c}{pad}  ");
            } else {
                let _ = write!(s, "{pad}{c}  ");
            }
        }
        let _ = writeln!(out, "{}", s.trim_end());
    };
    line(out, &header);
    let total: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
    let _ = writeln!(out, "{}", "-".repeat(total));
    for r in &cells {
        line(out, r);
    }
}

/// Writes every row so far as CSV (rewritten after each size).
pub fn write_csv(path: &Path, rows: &[&Row]) -> Result<()> {
    let write = || -> Result<()> {
        let mut w = csv::Writer::from_path(path)?;
        let mut header = vec!["procs", "contender"];
        header.extend(NUMBERS.iter().map(|c| c.2));
        header.push("note");
        w.write_record(header)?;
        for r in rows {
            let mut record = vec![r.n.to_string(), r.name.clone()];
            record.extend(NUMBERS.iter().map(|c| number((c.4)(r), Dec(c.3), "")));
            record.push(r.note.clone());
            w.write_record(record)?;
        }
        w.flush()?;
        Ok(())
    };
    write().with_context(|| format!("writing {}", path.display()))
}

/// The lines before the first size: when, the machine, what is timed, the workload, notes
/// and what the columns mean.
pub fn header(opts: &Cli, env: &Env) -> String {
    let threads = env.threads;
    let mut h = String::new();
    let now = pmaps::text::utc_timestamp(SystemTime::now());
    let _ = writeln!(h, "pmaps benchmark, {now}");
    let _ = writeln!(
        h,
        "machine: nproc {}, kernel {}, vm.max_map_count {}, pmaps threads {threads}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        read_trimmed("/proc/sys/kernel/osrelease"),
        read_trimmed("/proc/sys/vm/max_map_count"),
    );
    match &env.pmaps {
        Some(p) => writeln!(h, "pmaps: {}", p.display()),
        None => writeln!(h, "pmaps: not timed (--skip-pmaps)"),
    }
    .ok();
    let _ = writeln!(
        h,
        "workload per process: {OWN_LIBS} own libraries (256 KiB-2 MiB, mapped like ld.so), \
         {} system libraries via dlopen (+ deps), {} MiB file shared by all (touched), \
         1 MiB private COW file (half written), 1-4 MiB anonymous (touched), 15-35 \
         stack-like regions with guard pages, SysV segment (1 in 4), memfd (1 in 3); \
         1 in 100 with a library deleted after it was mapped, 1 in 100 with {RARE_LIB} \
         (mapped by no other); 1 in 100 with 2,500-3,500 extra small mappings",
        SYSTEM_LIBS.len(),
        opts.big_mib
    );
    for note in &env.peers.notes {
        let _ = writeln!(h, "note: {note}");
    }
    let _ = writeln!(
        h,
        "columns: ÷ floor = wall ÷ the raw-read floor of the same files with the same threads; \
         peer ÷ pmaps = peer wall ÷ pmaps' matching report at {threads} threads \
         (smem -m and pmap vs per-file, ps_mem vs per-process, needrestart, lsof and \
         --no-prefilter vs the filtered question; capture vs per-file at the capture's \
         threads); ns/map = wall ÷ mappings (all mappings, for every row); \
         cpu ns/map = (user + sys) ÷ mappings; others % = CPU used by \
         other processes during the run, % of all CPUs (noise indicator)"
    );
    h
}

/// The first three fields of a /proc/loadavg line.
fn loadavg3(line: &str) -> String {
    line.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The block of one workload size.
pub fn size_block(r: &SizeResult, opts: &Cli, threads: usize) -> String {
    let n = r.n;
    let mut out = String::new();
    let med = |f: fn(&crate::floor::Census) -> u64| median(r.censuses.iter().map(|c| f(c) as f64));
    let mappings = med(|c| c.mappings);
    let last = r.censuses.last();
    let wmaps = last.map(|c| c.workload_maps.clone()).unwrap_or_default();
    let wsum: u64 = wmaps.iter().sum();
    let (others, (big_pid, big_maps), big_comm) = last.map_or((0, (0, 0), ""), |c| {
        (
            c.others_with_maps,
            c.others_biggest,
            c.others_biggest_comm.as_str(),
        )
    });
    let _ = writeln!(
        out,
        "\n== N = {n}: {} processes started in {:.1} s ==",
        wmaps.len(),
        r.startup.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "workload mappings: {} in total, per process min {} / avg {:.0} / max {} \
         ({} with thousands of small mappings)",
        fmt_int(wsum as f64),
        wmaps.iter().min().copied().unwrap_or(0),
        wsum as f64 / wmaps.len().max(1) as f64,
        fmt_int(wmaps.iter().max().copied().unwrap_or(0) as f64),
        r.many_role_procs
    );
    let _ = writeln!(
        out,
        "scanned (every PID in /proc, median of {} censuses): {} processes readable (kernel threads included), {} not; \
         {} mappings; smaps {:.1} MB; smaps_rollup {:.2} MB",
        r.censuses.len(),
        fmt_int(med(|c| c.procs)),
        fmt_int(med(|c| c.unreadable)),
        fmt_int(mappings),
        med(|c| c.smaps_bytes) / 1e6,
        med(|c| c.rollup_bytes) / 1e6
    );
    let _ = writeln!(
        out,
        "filtered questions: a deleted file is mapped by {} processes, {RARE_LIB} by {} \
         (what the two-step floors read smaps of); maps {:.1} MB",
        fmt_int(med(|c| c.deleted_procs)),
        fmt_int(med(|c| c.rare_procs)),
        med(|c| c.maps_bytes) / 1e6
    );
    let _ = writeln!(
        out,
        "other processes with mappings: {others}, {} mappings; the largest: PID {big_pid} \
         ({big_comm}) with {} mappings",
        fmt_int(mappings - wsum as f64),
        fmt_int(big_maps as f64)
    );
    let _ = writeln!(
        out,
        "{} alternating runs (rotating order); wall = median; user, sys, RSS and MB read = \
         median of each separately\n",
        opts.runs
    );
    print_table(&mut out, &r.rows);
    // A single-threaded reader that only makes syscalls has wall ≈ CPU on an idle machine.
    if let Some(f) = find_row(&r.rows, Kind::FloorSmaps, 1) {
        let busy = f.wall_ms / (f.user_ms + f.sys_ms);
        let warning = if r.busy_runs > 0 || r.retried > 0 {
            format!(
                "\nWARNING: other work used the CPUs: {} of {} runs started busy \
                 (after waiting --max-wait {} s), {} sample(s) measured again \
                 (others > background + {RETRY_MARGIN_PCT} %); see the others % column",
                r.busy_runs, opts.runs, opts.max_wait, r.retried
            )
        } else if busy > 1.10 {
            "\nWARNING: other work competed for the CPUs during these runs; the times are \
             inflated and the ratios noisy"
                .to_string()
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "\nmachine load: background CPU use with the workload idle {:.0} % of all \
             CPUs (kernel threads, e.g. kdamond); serial smaps floor wall ÷ CPU = {busy:.2} \
             (1.00 when nothing else runs); loadavg before runs {}, after {}{warning}",
            r.background,
            loadavg3(&r.load_before),
            loadavg3(&r.load_after),
        );
    }
    if let Some(m) = &r.many_maps {
        let _ = writeln!(
            out,
            "\nmax-maps process: {} mappings (vm.max_map_count {}); pmaps peak RSS {:.1} → {:.1} MiB ({:+.1} MiB)",
            fmt_int(m.big_maps),
            crate::floor::max_map_count().map_or("?".into(), |m| m.to_string()),
            m.rss_without,
            m.rss_with,
            m.rss_delta()
        );
    }
    if let Some(g) = &r.growth {
        let mib = |b: f64| b / 1048576.0;
        let scan = r
            .rows
            .iter()
            .find(|row| row.kind == Kind::PmapsFile && row.threads == threads);
        let record = r.rows.iter().find(|row| row.kind == Kind::Record);
        let scan_ms = scan.map_or(0.0, |s| s.wall_ms);
        let of_scan = |ms: f64| {
            if scan_ms > 0.0 {
                format!("{:.2}×", ms / scan_ms)
            } else {
                "?".into()
            }
        };
        let ratio = record.map_or("?".into(), |rec| of_scan(rec.wall_ms));
        let _ = writeln!(
            out,
            "\nhistory: pmaps record takes {ratio} the per-file scan's wall time (target ≤ 1.3×; \
             into a history holding a snapshot of the machine); {} snapshots in a row into an \
             empty history: the first took {:.0} ms ({}: every row new), the later ones a median \
             of {:.0} ms ({}); {:.2} MiB after the first, {:.2} MiB after the last, {:.1} KiB \
             per snapshot → a week of 10-minute snapshots ({}) ≈ {:.1} MiB (target < 200 MiB)",
            g.snapshots,
            g.first_ms,
            of_scan(g.first_ms),
            g.later_ms,
            of_scan(g.later_ms),
            mib(g.first_bytes as f64),
            mib(g.last_bytes as f64),
            g.per_snapshot() / 1024.0,
            crate::history::WEEK,
            mib(g.week_bytes()),
        );
    }
    if let Some(stall) = &r.stall {
        out.push_str(stall);
    }
    let _ = writeln!(
        out,
        "\ntargets (stated for N = 1000 on 2 cores; this is N = {n}):"
    );
    let list = targets::targets(
        &r.rows,
        threads,
        r.many_maps.as_ref().map(|m| m.rss_delta()),
    );
    targets::print_targets(&mut out, &list);
    out
}
