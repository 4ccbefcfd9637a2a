//! Peer check: pmaps' per-process totals against procps `pmap -X` for the same live helper.
//!
//! The helper runs through private copies of the loader and its libraries
//! ([`PrivateLibs`]): it shares no page with pmaps or `pmap`, whose own mappings of libc would
//! otherwise lower its PSS by a different amount in each tool's run.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use common::*;

const PMAP: &str = "/usr/bin/pmap";

/// `pmap -X`'s totals line, by header name, in kB. The totals are right-aligned under the
/// header names, so each number is found where its column's name ends.
fn pmap_totals(pid: u32) -> BTreeMap<String, u64> {
    let out = Command::new(PMAP)
        .arg("-X")
        .arg(pid.to_string())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {PMAP}: {e}"));
    assert!(out.status.success(), "{PMAP} -X {pid}: {:?}", out.status);
    let text = String::from_utf8(out.stdout).expect("pmap output is not UTF-8");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    // line 0: `PID:   command`; line 1: the header; last: the totals, ending in `KB`.
    let header = lines.get(1).expect("pmap printed no header");
    let totals = lines.last().expect("pmap printed no totals");
    assert!(
        totals.trim_end().ends_with("KB"),
        "not a totals line: {totals:?}"
    );
    let ends = |line: &str| -> Vec<(usize, String)> {
        let mut out = Vec::new();
        let mut start = None;
        for (i, c) in line.char_indices().chain([(line.len(), ' ')]) {
            match (c == ' ', start) {
                (false, None) => start = Some(i),
                (true, Some(s)) => {
                    out.push((i, line[s..i].to_string()));
                    start = None;
                }
                _ => {}
            }
        }
        out
    };
    let values: BTreeMap<usize, String> = ends(totals).into_iter().collect();
    let mut by_name = BTreeMap::new();
    for (end, name) in ends(header) {
        if let Some(v) = values.get(&end).and_then(|v| v.parse().ok()) {
            by_name.insert(name, v);
        }
    }
    for col in ["Size", "Rss", "Pss"] {
        assert!(
            by_name.contains_key(col),
            "no {col} total in:\n{header}\n{totals}"
        );
    }
    by_name
}

fn pmaps_process_row(pid: u32, source: &str) -> BTreeMap<String, String> {
    let out = run_pmaps([
        "-g",
        "process",
        "--source",
        source,
        "-p",
        &pid.to_string(),
        "-f",
        "csv",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut rows = csv_records(&out.stdout);
    assert_eq!(rows.len(), 1, "{rows:?}");
    rows.remove(0)
}

fn bytes(row: &BTreeMap<String, String>, col: &str) -> u64 {
    row[col]
        .parse()
        .unwrap_or_else(|e| panic!("{col} in {row:?}: {e}"))
}

#[test]
fn smaps_totals_equal_pmap_and_the_rollup_is_within_rounding() {
    assert!(
        Path::new(PMAP).exists(),
        "{PMAP} (procps) is needed for the peer check"
    );
    let libs = PrivateLibs::new();
    let dir = open_tempdir();
    let big = data_file(dir.path(), "big", 300 * 1024);
    let small: Vec<_> = (0..3)
        .map(|i| data_file(dir.path(), &format!("page{i}"), 4096))
        .collect();
    let mut args: Vec<OsString> = vec![
        "--map-shared".into(),
        big.clone().into(),
        "--map-private".into(),
        big.into(),
        "--anon".into(),
        "3M".into(),
    ];
    for f in &small {
        args.push("--map-shared".into());
        args.push(f.into());
    }
    // Three helpers share the one-page files (PSS 4096/3 bytes each: fractional kB).
    let helpers: Vec<Helper> = (0..3).map(|_| libs.spawn(&args)).collect();
    let pid = helpers[0].pid;

    let pmap = pmap_totals(pid);
    let smaps = pmaps_process_row(pid, "smaps");
    assert_eq!(bytes(&smaps, "size_bytes"), pmap["Size"] * 1024, "VSZ");
    assert_eq!(bytes(&smaps, "rss_bytes"), pmap["Rss"] * 1024, "RSS");
    assert_eq!(bytes(&smaps, "pss_bytes"), pmap["Pss"] * 1024, "PSS");
    if let Some(swap) = pmap.get("Swap") {
        assert_eq!(bytes(&smaps, "swap_bytes"), swap * 1024, "Swap");
    }

    let rollup = pmaps_process_row(pid, "rollup");
    assert_eq!(
        bytes(&rollup, "rss_bytes"),
        pmap["Rss"] * 1024,
        "RSS (rollup)"
    );
    // pmap sums smaps' per-mapping PSS, each truncated to kB; the rollup truncates once:
    // 0 <= rollup - pmap < mappings kB (and here at least the 1 kB the small files lose).
    let mappings = bytes(&smaps, "mappings");
    let diff = bytes(&rollup, "pss_bytes") as i64 - (pmap["Pss"] * 1024) as i64;
    assert!(
        (1024..mappings as i64 * 1024).contains(&diff),
        "rollup PSS - pmap PSS = {diff} bytes, {mappings} mappings"
    );
    drop(helpers);
}
