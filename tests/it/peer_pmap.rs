//! Peer check: pmaps' per-process totals against procps `pmap -X` for the same live helper.
//!
//! The helper runs through private copies of the loader and its libraries
//! ([`PrivateLibs`]): it shares no page with pmaps or `pmap`, whose own mappings of libc would
//! otherwise lower its PSS by a different amount in each tool's run.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;

use crate::support::*;

fn pmaps_process_row(pid: u32, source: &str) -> BTreeMap<String, String> {
    let pid = pid.to_string();
    let out = pmaps_ok(
        ["-g", "process", "--source", source, "-p", &pid, "-f", "csv"],
        0,
    );
    let mut rows = csv_records(&out.stdout);
    assert_eq!(rows.len(), 1, "{rows:?}");
    rows.remove(0)
}

#[test]
fn smaps_totals_equal_pmap_and_the_rollup_is_within_rounding() {
    assert!(
        Path::new(PMAP).exists(),
        "{PMAP} (procps) is needed for the peer check"
    );
    let libs = PrivateLibs::new();
    let dir = open_tempdir();
    let big = synced_file(dir.path(), "big", 300 * 1024);
    let small: Vec<_> = (0..3)
        .map(|i| synced_file(dir.path(), &format!("page{i}"), 4096))
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

    let pmap = pmap_big_x_totals(pid);
    let smaps = pmaps_process_row(pid, "smaps");
    assert_eq!(num(&smaps, "size_bytes"), pmap["Size"] * 1024, "VSZ");
    assert_eq!(num(&smaps, "rss_bytes"), pmap["Rss"] * 1024, "RSS");
    assert_eq!(num(&smaps, "pss_bytes"), pmap["Pss"] * 1024, "PSS");
    if let Some(swap) = pmap.get("Swap") {
        assert_eq!(num(&smaps, "swap_bytes"), swap * 1024, "Swap");
    }

    let rollup = pmaps_process_row(pid, "rollup");
    assert_eq!(
        num(&rollup, "rss_bytes"),
        pmap["Rss"] * 1024,
        "RSS (rollup)"
    );
    // pmap sums smaps' per-mapping PSS, each truncated to kB; the rollup truncates once:
    // 0 <= rollup - pmap < mappings kB (and here at least the 1 kB the small files lose).
    let mappings = num(&smaps, "mappings");
    let diff = num(&rollup, "pss_bytes") as i64 - (pmap["Pss"] * 1024) as i64;
    assert!(
        (1024..mappings as i64 * 1024).contains(&diff),
        "rollup PSS - pmap PSS = {diff} bytes, {mappings} mappings"
    );
    drop(helpers);
}
