//! The performance targets and their verdicts: the block after each size's table (pmaps
//! against the floor, its own CPU, the peers, peak RSS, the `--many-maps` RSS growth, the
//! capture against the report and its archive against the smaps text), and the
//! linearity block after a list of sizes (ns per mapping of the per-file report across sizes).

use std::fmt::Write as _;

use crate::contenders::Kind;
use crate::report::{Row, find_row, floor_of, fmt_int};
use crate::run::SizeResult;

pub struct Target {
    text: String,
    value: String,
    met: Option<bool>,
}

/// The targets for one size; `t` is the "all threads" count, `rss_delta` the `--many-maps`
/// growth of pmaps' peak RSS.
pub fn targets(rows: &[Row], t: usize, rss_delta: Option<f64>) -> Vec<Target> {
    let mut v = Vec::new();
    let mut add = |text: &str, value: Option<(f64, String)>, ok: &dyn Fn(f64) -> bool| {
        let (met, value) = match value {
            Some((x, s)) if x.is_finite() => (Some(ok(x)), s),
            _ => (None, "not measured".into()),
        };
        v.push(Target {
            text: text.into(),
            value,
            met,
        });
    };
    let file = find_row(rows, Kind::PmapsFile, t);
    let proc_ = find_row(rows, Kind::PmapsProc, t);
    let ratio = |r: Option<&Row>| r.map(|r| (r.vs_floor, format!("{:.2}×", r.vs_floor)));
    // The best any reader of the same files could do: peer ÷ the parallel floor.
    let peer = |k: Kind| {
        let bound = floor_of(k)
            .and_then(|f| find_row(rows, f, t))
            .map_or(f64::NAN, |f| f.wall_ms);
        find_row(rows, k, 1).map(|r| {
            (
                r.peer_ratio,
                format!(
                    "{:.1}× faster (floor: {:.1}×)",
                    r.peer_ratio,
                    r.wall_ms / bound
                ),
            )
        })
    };
    add(
        &format!("per-file report wall ≤ 1.10 × parallel smaps floor ({t} thr)"),
        ratio(file),
        &|x| x <= 1.10,
    );
    for (question, kind, all) in [
        ("-k deleted", Kind::PmapsDeleted, Kind::PmapsDeletedAll),
        ("-m <1 % lib>", Kind::PmapsRare, Kind::PmapsRareAll),
    ] {
        add(
            &format!("pmaps {question} wall ≤ 1.3 × floor (all maps + matching smaps, {t} thr)"),
            ratio(find_row(rows, kind, t)),
            &|x| x <= 1.3,
        );
        add(
            &format!("pmaps {question} ≥ 4× faster than read in full (--no-prefilter)"),
            find_row(rows, all, t).map(|r| (r.peer_ratio, format!("{:.1}× faster", r.peer_ratio))),
            &|x| x >= 4.0,
        );
    }
    add(
        "per-file report user CPU ≤ 20 % of system CPU",
        file.map(|r| {
            let x = r.user_ms / r.sys_ms;
            (x, format!("{:.1} %", 100.0 * x))
        }),
        &|x| x <= 0.20,
    );
    add(
        &format!("per-process report wall ≤ 1.0 × parallel rollup floor ({t} thr)"),
        ratio(proc_),
        &|x| x <= 1.0,
    );
    add(
        "≥ 10× faster than smem -m (vs per-file report)",
        peer(Kind::Smem),
        &|x| x >= 10.0,
    );
    add(
        "≥ 10× faster than the pmap -x loop (vs per-file report)",
        peer(Kind::PmapLoop),
        &|x| x >= 10.0,
    );
    add(
        "≥ 3× faster than ps_mem (vs per-process report)",
        peer(Kind::PsMem),
        &|x| x >= 3.0,
    );
    let watch = find_row(rows, Kind::Watch, t);
    add(
        "one watch sample (every process and file) ≤ 1.10 × the per-file report",
        watch.zip(file).map(|(w, f)| {
            let x = w.wall_ms / f.wall_ms;
            (x, format!("{x:.2}×"))
        }),
        &|x| x <= 1.10,
    );
    let max_rss = rows
        .iter()
        .filter(|r| matches!(r.kind, Kind::PmapsFile | Kind::PmapsProc))
        .map(|r| r.rss_mib)
        .fold(f64::NAN, f64::max);
    add(
        "peak RSS ≤ 32 MiB for the whole scan (max over pmaps rows)",
        Some((max_rss, format!("{max_rss:.1} MiB"))),
        &|x| x <= 32.0,
    );
    add(
        "pmaps -f prometheus peak RSS ≤ 32 MiB (every family from one scan)",
        find_row(rows, Kind::PmapsProm, t).map(|r| (r.rss_mib, format!("{:.1} MiB", r.rss_mib))),
        &|x| x <= 32.0,
    );
    add(
        "the max-maps process adds ≤ 8 MiB peak RSS (--many-maps)",
        rss_delta.map(|d| (d, format!("{d:+.1} MiB"))),
        &|x| x <= 8.0,
    );
    let capture = find_row(rows, Kind::PmapsCapture, t);
    // CPU (user + system) too: the steadier of the two when other work shares the machine.
    let cpu = |r: &Row| r.user_ms + r.sys_ms;
    add(
        &format!("capture -o FILE wall ≤ 1.3 × per-file report ({t} thr, same runs)"),
        capture.map(|r| {
            let cpu_ratio = file.map_or(f64::NAN, |f| cpu(r) / cpu(f));
            (
                r.peer_ratio,
                format!("{:.2}× (CPU {cpu_ratio:.2}×)", r.peer_ratio),
            )
        }),
        &|x| x <= 1.3,
    );
    add(
        "capture archive ≤ 5 % of the raw smaps text it holds",
        capture.map(|r| {
            let pct = 100.0 * r.archive_mb / r.archive_smaps_mb;
            (
                pct,
                format!(
                    "{pct:.2} % ({:.1} of {:.0} MB)",
                    r.archive_mb, r.archive_smaps_mb
                ),
            )
        }),
        &|x| x <= 5.0,
    );
    // Peers of the deleted-library question: compared, with no stated target.
    for (kind, name) in [
        (Kind::Needrestart, "needrestart -b"),
        (Kind::LsofDel, "lsof -nP +c0 | grep DEL"),
    ] {
        let floor = find_row(rows, Kind::FloorDeleted, t).map_or(f64::NAN, |f| f.wall_ms);
        let value = find_row(rows, kind, 1).map_or("not measured".into(), |r| {
            format!(
                "{:.1}× faster (floor: {:.1}×)",
                r.peer_ratio,
                r.wall_ms / floor
            )
        });
        v.push(Target {
            text: format!("pmaps -k deleted vs {name} (no target)"),
            value,
            met: None,
        });
    }
    v
}

fn verdict(met: bool) -> &'static str {
    if met { "MET" } else { "MISSED" }
}

/// One line per target: the text left-aligned, the value right-aligned, the verdict.
pub fn print_targets(out: &mut String, list: &[Target]) {
    let width =
        |f: fn(&Target) -> &str| list.iter().map(|t| f(t).chars().count()).max().unwrap_or(0);
    let (w, wv) = (width(|t| &t.text), width(|t| &t.value));
    for t in list {
        let _ = writeln!(
            out,
            "  {}{}  {}{}  {}",
            t.text,
            " ".repeat(w - t.text.chars().count()),
            " ".repeat(wv - t.value.chars().count()),
            t.value,
            t.met.map_or("-", verdict)
        );
    }
}

/// After a list of sizes: the per-file report's ns per mapping at each size, and the spread.
pub fn linearity(results: &[SizeResult], threads: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nlinearity: pmaps per-file report at {threads} threads, ns per mapping \
         (target: within 15 % across sizes)"
    );
    let mut walls = Vec::new();
    let mut cpus = Vec::new();
    for r in results {
        if let Some(row) = find_row(&r.rows, Kind::PmapsFile, threads) {
            let _ = writeln!(
                out,
                "  N = {:>6}: {} mappings, {:.0} ns/mapping wall, {:.0} ns/mapping cpu",
                r.n,
                fmt_int(row.mappings),
                row.ns_per_map,
                row.cpu_ns_per_map
            );
            walls.push(row.ns_per_map);
            cpus.push(row.cpu_ns_per_map);
        }
    }
    let spread = |v: &[f64]| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (hi - lo) / lo * 100.0
    };
    if walls.len() > 1 {
        let (w, c) = (spread(&walls), spread(&cpus));
        let _ = writeln!(
            out,
            "  spread: wall {w:.1} % {}, cpu {c:.1} % {} (cpu is the reliable one when \
             other work shares the machine: see others %)",
            verdict(w <= 15.0),
            verdict(c <= 15.0)
        );
    } else {
        let _ = writeln!(out, "  not measured (pmaps not timed)");
    }
    out
}
