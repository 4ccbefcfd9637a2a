//! The JSON documents of the fake tree, parsed into typed structs: meta, coverage, rows,
//! totals, lossless names, and pmaps' own process left out.

use super::expected::*;
use super::tree::*;
use crate::support::*;

#[test]
fn json_rows_meta_and_lossless_names() {
    let fake = tree();
    let out = run(&fake, &["-p", GOOD, "-f", "json"]);
    let text = expect_exit(&out, 0);
    let doc: FileDoc = serde_json::from_str(&text).expect("JSON does not fit the schema");
    assert_eq!(doc.schema_version, 1);
    let m = &doc.meta;
    assert_eq!(m.pmaps_version, env!("CARGO_PKG_VERSION"));
    assert_eq!(m.source, "smaps");
    assert_eq!(m.group_by, "file");
    assert_eq!(m.proc_root, fake.root().to_str().expect("utf-8 temp dir"));
    // The fake tree has no sys/kernel: host and kernel are unknown, not made up.
    assert_eq!((m.host.as_deref(), m.kernel.as_deref()), (None, None));
    assert_eq!(
        m.time_utc.len(),
        "2026-11-24T17:50:13Z".len(),
        "{}",
        m.time_utc
    );
    assert!(m.time_utc.ends_with('Z') && m.time_utc.as_bytes()[10] == b'T');
    assert!(m.threads >= 1);
    assert!(m.duration_seconds >= 0.0);
    assert_eq!(m.rows_total, 11);
    let c = &m.coverage;
    assert_eq!(c.outcomes, GOOD_OUTCOMES);
    assert_eq!(c.processes, 7);
    assert_eq!(c.mappings, Some(21));
    // 700 and 900 left out by -p; 800 is pmaps itself, not counted as filtered.
    assert_eq!(c.filtered, 2);
    assert!(c.complete);
    assert_eq!(c.hidden, None);
    assert_eq!(c.self_pid, Some(800));
    assert_eq!(c.problems, []);

    let want = file_json_rows();
    assert_eq!(doc.rows, want);
    let hex = doc.rows[6].path_hex.as_deref().expect("path_hex");
    assert_eq!(unhex(hex), NON_UTF8, "path_hex gives the exact bytes back");
    assert_eq!(
        doc.totals,
        FileRow {
            path: String::new(),
            path_hex: None,
            kind: None,
            // The totals are no one object.
            device: None,
            inode: None,
            processes: 4,
            mappings: Some(21),
            size_bytes: Some(k(9248)),
            rss_bytes: Some(k(4232)),
            pss_bytes: Some(k(2992)),
            uss_bytes: Some(k(2120)),
            shared_bytes: Some(k(2112)),
            swap_bytes: Some(k(8)),
            swap_pss_bytes: None,
        }
    );
    // Unknown is an explicit null, not a missing key.
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["rows"][8]["swap_pss_bytes"], serde_json::Value::Null);
    assert!(
        v["rows"][8]
            .as_object()
            .expect("row object")
            .contains_key("swap_pss_bytes")
    );
}

#[test]
fn json_process_view_from_the_rollup() {
    let fake = tree();
    let out = run(&fake, &["-p", "100,400", "-g", "process", "-f", "json"]);
    let doc: ProcessDoc = serde_json::from_str(&expect_exit(&out, 0)).expect("JSON schema");
    assert_eq!(doc.schema_version, 1);
    assert_eq!(doc.meta.source, "smaps_rollup");
    assert_eq!(doc.meta.group_by, "process");
    assert_eq!(doc.meta.coverage.mappings, None);
    let row = |i: usize| {
        let p = &PROCS[i];
        let (kb, swap_pss) = FROM_ROLLUP[i];
        ProcessRow {
            pid: Some(p.pid),
            start_time: Some(p.start_time),
            user: Some(p.user.into()),
            command: Some(p.command.into()),
            command_hex: None,
            processes: None,
            mappings: None,
            size_bytes: Some(k(kb[0])),
            rss_bytes: Some(k(kb[1])),
            pss_bytes: Some(k(kb[2])),
            uss_bytes: Some(k(kb[3])),
            shared_bytes: Some(k(kb[4])),
            swap_bytes: Some(k(kb[5])),
            swap_pss_bytes: swap_pss.map(k),
        }
    };
    // Processes 100 and 400, in PROCS order.
    assert_eq!(doc.rows, [row(0), row(3)]);
    // The process view has no `processes` column, so neither do its totals; they are no one
    // process (no PID, no start time).
    assert_eq!(doc.totals.processes, None);
    assert_eq!((doc.totals.pid, doc.totals.start_time), (None, None));
    assert_eq!(doc.totals.pss_bytes, Some(k(1501)));
    assert_eq!(doc.totals.swap_pss_bytes, None);
}

#[test]
fn self_is_excluded_even_when_asked_for() {
    let fake = tree();
    let out = run(&fake, &["-p", "800", "-f", "csv"]);
    assert_eq!(expect_exit(&out, 0), csv(FILE_HEADER, &[]));
    let out = run(&fake, &["-p", "800,400", "-f", "json"]);
    let doc: FileDoc = serde_json::from_str(&expect_exit(&out, 0)).expect("json");
    assert_eq!(doc.meta.coverage.self_pid, Some(800));
    assert_eq!(doc.meta.coverage.processes, 1);
    assert_eq!(doc.rows.len(), 1);
    assert_eq!(doc.rows[0].path, "/usr/lib/libold.so");
}
