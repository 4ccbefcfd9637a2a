//! `--at` rebuilds the report of any question from a snapshot: the same CSV the scan gave.

use super::*;
use crate::report_fake::tree::tree;

#[test]
fn at_latest_gives_the_csv_the_scan_gave_for_every_group_by_and_filter() {
    let fake = tree();
    let db = Db::new();
    // The tree has a malformed smaps (pid 900): the scan and the record are partial.
    record(fake.root(), &db.path(), 3);
    let questions: &[&[&str]] = &[
        &["-g", "file"],
        &["-g", "process"],
        &["-g", "user"],
        &["-g", "command"],
        &["-g", "kind"],
        &["-g", "file,process"],
        &["-g", "process,file"],
        &["-g", "cgroup"],
        &["-g", "unit"],
        &["-g", "container"],
        &["-g", "file,container"],
        &["-g", "container,file"],
        &["-g", "file", "-u", "nobody"],
        &["-g", "process", "-c", "bash"],
        &["-g", "file", "-m", "lib"],
        &["-g", "kind", "-k", "heap,anon"],
        &["-g", "process", "-p", "100,300", "-s", "uss"],
    ];
    for q in questions {
        // A record reads every smaps: so does the scan (with a mapping filter, the read plan
        // would leave out the smaps of a process whose maps rules it out, such as 900's
        // malformed one, which the snapshot knows only as an error).
        let mut live: Vec<&str> = vec!["-f", "csv", "--source", "smaps", "--no-prefilter"];
        live.extend_from_slice(q);
        let scan = pmaps_db(fake.root(), &db.path(), &live);
        let mut at: Vec<&str> = vec!["-f", "csv", "--at", "@latest"];
        at.extend_from_slice(q);
        let stored = pmaps_db(fake.root(), &db.path(), &at);
        // The processes a snapshot could not read are kept whatever the filters (it does
        // not know their user or command line): with -u/-c the scan may be complete where
        // the snapshot says partial.
        if !q.contains(&"-u") && !q.contains(&"-c") {
            assert_eq!(code(&scan), code(&stored), "{q:?}: {}", stderr(&stored));
        }
        assert!(!scan.stdout.is_empty(), "{q:?}");
        assert_eq!(stdout(&stored), stdout(&scan), "{q:?}");
    }
}

#[test]
fn at_json_carries_the_snapshot_time_and_the_recorded_coverage() {
    let fake = tree();
    let db = Db::new();
    record(fake.root(), &db.path(), 3);
    let hist = pmaps_db(fake.root(), &db.path(), &["history", "-f", "json"]);
    assert_exit(&hist, 0);
    let h: serde_json::Value = serde_json::from_slice(&hist.stdout).unwrap();
    let time = h["snapshots"][0]["time_utc"].as_str().unwrap().to_string();
    let out = pmaps_db(fake.root(), &db.path(), &["--at", "@1", "-f", "json"]);
    assert_exit(&out, 3);
    let typed: FileDoc = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(typed.meta.time_utc, time);
    assert_eq!(typed.meta.source, "smaps");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let live = pmaps_db(fake.root(), &db.path(), &["-f", "json"]);
    let now: serde_json::Value = serde_json::from_slice(&live.stdout).unwrap();
    assert_eq!(doc["meta"]["coverage"], now["meta"]["coverage"]);
    assert_eq!(doc["rows"], now["rows"]);
    assert_eq!(doc["totals"], now["totals"]);
}

#[test]
fn references_name_snapshots_and_a_missing_one_is_an_error() {
    let fake = tree();
    let db = Db::new();
    record(fake.root(), &db.path(), 3);
    record(fake.root(), &db.path(), 3);
    for (r, ok) in [
        ("@latest", true),
        ("@-1", true),
        ("@2", true),
        ("@-2", false),
        ("@9", false),
        ("2000-01-01", false),
    ] {
        let out = pmaps_db(fake.root(), &db.path(), &["--at", r, "-f", "csv"]);
        if ok {
            assert_exit(&out, 3);
        } else {
            assert_exit(&out, 1);
            assert!(
                stderr(&out).contains("no such snapshot"),
                "{r}: {}",
                stderr(&out)
            );
        }
    }
    let out = pmaps_db(
        fake.root(),
        &db.path(),
        &["--at", "@latest", "--source", "rollup"],
    );
    assert_exit(&out, 2);
}

#[test]
fn diff_of_two_snapshots_of_an_unchanged_tree_shows_no_change() {
    let fake = tree();
    let db = Db::new();
    record(fake.root(), &db.path(), 3);
    record(fake.root(), &db.path(), 3);
    let out = pmaps_db(fake.root(), &db.path(), &["diff", "@-1", "@latest"]);
    assert_exit(&out, 0);
}

#[test]
fn at_keeps_memory_in_huge_pages_apart() {
    // Huge pages of every sort beside an ordinary SysV segment with the same path: only the
    // kernel's `ht` flag, recorded as the file's kind, tells them apart.
    let fake = crate::trust::kinds::huge_tree();
    let db = Db::new();
    record(fake.root(), &db.path(), 0);
    for g in ["kind", "file", "process,file"] {
        let scan = pmaps_db(
            fake.root(),
            &db.path(),
            &["-f", "csv", "--source", "smaps", "-g", g],
        );
        let stored = pmaps_db(
            fake.root(),
            &db.path(),
            &["-f", "csv", "--at", "@latest", "-g", g],
        );
        assert_exit(&stored, 0);
        assert_eq!(stdout(&stored), stdout(&scan), "-g {g}");
        assert!(
            stdout(&stored).contains("hugetlb"),
            "-g {g}: {}",
            stdout(&stored)
        );
    }
    // A snapshot keeps no meminfo: it says so.
    let out = pmaps_db(
        fake.root(),
        &db.path(),
        &["--at", "@latest", "--columns", "path,pss_pct", "-f", "csv"],
    );
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("a snapshot of the history holds no meminfo"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn record_from_a_capture_is_the_captured_moment() {
    let fake = tree();
    let db = Db::new();
    let dir = open_tempdir();
    let archive = dir.path().join("tree.tar.zst");
    let out = output({
        let mut c = pmaps_on(fake.root());
        c.args(["capture", "-o"]).arg(&archive);
        c
    });
    assert_exit(&out, 3);
    let out = output({
        let mut c = pmaps_cmd();
        c.arg("--db")
            .arg(db.path())
            .arg("--from")
            .arg(&archive)
            .arg("record");
        c
    });
    // The capture holds the malformed smaps of the tree: partial, as a record of the tree.
    assert_exit(&out, 3);
    let from_capture = pmaps_db(
        fake.root(),
        &db.path(),
        &["-f", "csv", "--at", "@latest", "-g", "process"],
    );
    let scan = pmaps_db(
        fake.root(),
        &db.path(),
        &["-f", "csv", "--source", "smaps", "-g", "process"],
    );
    assert_eq!(stdout(&from_capture), stdout(&scan));
    let hist = pmaps_db(fake.root(), &db.path(), &["history", "-f", "json"]);
    let h: serde_json::Value = serde_json::from_slice(&hist.stdout).unwrap();
    let cap = output({
        let mut c = pmaps_cmd();
        c.arg("--from")
            .arg(&archive)
            .args(["-f", "json", "-g", "process"]);
        c
    });
    let c: serde_json::Value = serde_json::from_slice(&cap.stdout).unwrap();
    assert_eq!(
        h["snapshots"][0]["time_utc"], c["meta"]["time_utc"],
        "the capture's time"
    );
    // Nor watch, history or trend read a capture.
    for cmd in ["watch", "history", "trend"] {
        let out = output({
            let mut c = pmaps_cmd();
            c.arg("--db")
                .arg(db.path())
                .arg("--from")
                .arg(&archive)
                .arg(cmd);
            c
        });
        assert_exit(&out, 2);
        assert!(
            stderr(&out).contains("--from does not apply"),
            "{cmd}: {}",
            stderr(&out)
        );
    }
}
