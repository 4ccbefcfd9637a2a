//! `pmaps --at SNAPSHOT show --merge`: a process's map rebuilt from a snapshot is the one a
//! live `show --merge` gave at that moment (same CSV, same JSON rows), on a fake tree, on
//! huge pages, and on frozen live helpers mapping hostile names; what a snapshot cannot
//! rebuild is refused with the reason; a history of schema 1 is read as it is and migrated
//! by the next record.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use super::*;
use crate::report_fake::tree::tree;

/// `pmaps show --merge ARGS…` over the fake tree at `root`, live or `--at @latest`.
fn show(root: &Path, db: &Path, at: bool, args: &[&str]) -> Output {
    let mut all: Vec<&str> = Vec::new();
    if at {
        all.extend(["--at", "@latest"]);
    }
    all.extend(["show", "--merge"]);
    all.extend_from_slice(args);
    pmaps_db(root, db, &all)
}

#[test]
fn show_merge_at_a_snapshot_is_the_live_show_merge_of_that_moment() {
    let fake = tree();
    let db = Db::new();
    record(fake.root(), &db.path(), 3);
    for targets in [
        &["100"][..],
        &["200", "-f", "csv"],
        &["300", "400", "-f", "csv"],
        &["beta", "alpha", "-f", "csv"],
        &["--units", "MiB", "100", "200", "300", "400"],
    ] {
        let live = show(fake.root(), &db.path(), false, targets);
        let stored = show(fake.root(), &db.path(), true, targets);
        assert_exit(&live, 0);
        assert_exit(&stored, 0);
        assert!(!live.stdout.is_empty(), "{targets:?}");
        assert_eq!(stdout(&stored), stdout(&live), "{targets:?}");
    }
    // JSON: the same processes, rows and totals; the time is the snapshot's.
    let live = parse_json(&show(
        fake.root(),
        &db.path(),
        false,
        &["-f", "json", "100", "300"],
    ));
    let stored = parse_json(&show(
        fake.root(),
        &db.path(),
        true,
        &["-f", "json", "100", "300"],
    ));
    assert_eq!(stored["processes"], live["processes"]);
    let hist = parse_json(&pmaps_db(
        fake.root(),
        &db.path(),
        &["history", "-f", "json"],
    ));
    assert_eq!(
        stored["meta"]["time_utc"], hist["snapshots"][0]["time_utc"],
        "{stored}"
    );
}

#[test]
fn a_process_the_snapshot_did_not_read_is_named_with_its_recorded_reason() {
    let fake = tree();
    let db = Db::new();
    record(fake.root(), &db.path(), 3);
    // 900's smaps is malformed: the record kept its error, which show says again.
    let live = show(fake.root(), &db.path(), false, &["900", "100", "-f", "csv"]);
    let stored = show(fake.root(), &db.path(), true, &["900", "100", "-f", "csv"]);
    assert_exit(&live, 3);
    assert_exit(&stored, 3);
    assert_eq!(stdout(&stored), stdout(&live));
    let said = stderr(&stored);
    assert!(said.contains("900 (broken): cannot read"), "{said}");
    assert_eq!(said, stderr(&live));
    // By name, a process not read is found by its command name.
    let by_name = show(fake.root(), &db.path(), true, &["broken"]);
    assert_exit(&by_name, 3);
    // A PID the snapshot does not know, and a name that matches nothing.
    let none = show(fake.root(), &db.path(), true, &["4242", "nosuch"]);
    assert_exit(&none, 4);
    assert!(
        stderr(&none).contains("no process 4242 in the snapshot"),
        "{}",
        stderr(&none)
    );
    // A kernel thread is counted by a snapshot, not listed: said so.
    let kthread = show(fake.root(), &db.path(), true, &["2"]);
    assert_exit(&kthread, 4);
    assert!(
        stderr(&kthread).contains("kernel threads and zombies are only counted"),
        "{}",
        stderr(&kthread)
    );
    let some = show(fake.root(), &db.path(), true, &["4242", "100"]);
    assert_exit(&some, 3);
}

#[test]
fn what_a_snapshot_cannot_rebuild_is_refused_with_the_reason() {
    let fake = tree();
    let db = Db::new();
    record(fake.root(), &db.path(), 3);
    for (args, why) in [
        (&["--at", "@latest", "show", "100"][..], "add --merge"),
        (&["--at", "@latest", "100"], "add --merge"),
        (
            &["--at", "@latest", "show", "--merge", "--all-fields", "100"],
            "--all-fields cannot be rebuilt",
        ),
        (
            &["--at", "@latest", "-g", "file", "show", "--merge", "100"],
            "--group-by applies to the report",
        ),
    ] {
        let out = pmaps_db(fake.root(), &db.path(), args);
        assert_exit(&out, 2);
        assert!(stderr(&out).contains(why), "{args:?}: {}", stderr(&out));
    }
    let out = pmaps_db(
        fake.root(),
        &db.path(),
        &["--at", "@9", "show", "--merge", "100"],
    );
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("no such snapshot"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn memory_in_huge_pages_keeps_its_kind_in_a_rebuilt_show() {
    let fake = crate::trust::kinds::huge_tree();
    let db = Db::new();
    record(fake.root(), &db.path(), 0);
    let live = show(fake.root(), &db.path(), false, &["-f", "csv", "10"]);
    let stored = show(fake.root(), &db.path(), true, &["-f", "csv", "10"]);
    assert_exit(&stored, 0);
    assert_eq!(stdout(&stored), stdout(&live));
    assert!(stdout(&stored).contains(",hugetlb,"), "{}", stdout(&stored));
}

#[test]
fn a_schema_1_history_is_read_as_it_is_and_migrated_by_the_next_record() {
    let fake = tree();
    let db = Db::new();
    record(fake.root(), &db.path(), 3);
    // Back to schema 1: no runs.
    {
        let conn = rusqlite::Connection::open(db.path()).unwrap();
        conn.execute_batch(
            "DROP VIEW process_run; DROP TABLE run; ALTER TABLE state DROP COLUMN runs;
             PRAGMA user_version = 1;
             -- A state's hash under schema 1 covered no runs: no later state has it.
             UPDATE state SET hash = randomblob(16);",
        )
        .unwrap();
    }
    let hist = pmaps_db(fake.root(), &db.path(), &["history", "-f", "csv"]);
    assert_exit(&hist, 0);
    let csv = pmaps_db(
        fake.root(),
        &db.path(),
        &["--at", "@1", "-g", "process", "-f", "csv"],
    );
    assert_exit(&csv, 3);
    let old = show(fake.root(), &db.path(), true, &["100"]);
    assert_exit(&old, 3);
    assert!(
        stderr(&old).contains("not its mappings"),
        "{}",
        stderr(&old)
    );
    record(fake.root(), &db.path(), 3);
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 2);
    // The first snapshot's states were those of the second: the second stored its own
    // states with runs, the first keeps its own without.
    let new = show(fake.root(), &db.path(), true, &["-f", "csv", "100"]);
    assert_exit(&new, 0);
    let live = show(fake.root(), &db.path(), false, &["-f", "csv", "100"]);
    assert_eq!(stdout(&new), stdout(&live));
    let first = pmaps_db(
        fake.root(),
        &db.path(),
        &["--at", "@1", "show", "--merge", "100"],
    );
    assert_exit(&first, 3);
}

#[test]
fn frozen_helpers_mapping_hostile_names_show_as_they_were_recorded() {
    let libs = PrivateLibs::new();
    let data = open_tempdir();
    let newline = synced_file(data.path(), "new\nline", 64 << 10);
    let deleted = synced_file(data.path(), "x (deleted)", 32 << 10);
    let mut raw = data.path().as_os_str().as_bytes().to_vec();
    raw.extend_from_slice(b"/bad-\xff");
    let bad = std::path::PathBuf::from(OsStr::from_bytes(&raw));
    std::fs::write(&bad, vec![7u8; 16 << 10]).expect("write");
    let a = libs.spawn([
        OsStr::new("--comm"),
        OsStr::new("histshow-a"),
        OsStr::new("--anon"),
        OsStr::new("2M"),
        OsStr::new("--map-private"),
        newline.as_os_str(),
        OsStr::new("--map-private"),
        bad.as_os_str(),
        OsStr::new("--map-private"),
        deleted.as_os_str(),
        OsStr::new("--many-maps"),
        OsStr::new("20"),
    ]);
    let b = libs.spawn(["--comm", "histshow-b", "--memfd", "hs:1M", "--sysv", "256K"]);
    for h in [&a, &b] {
        freeze(h.pid);
    }
    let pids = [a.pid.to_string(), b.pid.to_string()];
    let live = |format: &str| {
        run_pmaps(
            ["show", "--merge", "-f", format]
                .into_iter()
                .chain(pids.iter().map(String::as_str)),
        )
    };
    let csv_before = live("csv");
    let json_before = live("json");
    assert_exit(&csv_before, 0);
    let db = Db::new();
    let rec = output({
        let mut c = pmaps_cmd();
        c.arg("--db").arg(db.path()).arg("record");
        c
    });
    assert!(
        matches!(rec.status.code(), Some(0 | 3)),
        "record: {}",
        stderr(&rec)
    );
    assert_eq!(
        live("csv").stdout,
        csv_before.stdout,
        "the helpers' maps moved during the test"
    );
    let at = |format: &str| {
        let mut c = pmaps_cmd();
        c.arg("--db")
            .arg(db.path())
            .args(["--at", "@latest", "show", "--merge", "-f", format])
            .args(&pids);
        output(c)
    };
    let csv = at("csv");
    assert_exit(&csv, 0);
    assert_eq!(stdout(&csv), stdout(&csv_before));
    assert!(stdout(&csv).contains("/new\\012line"), "{}", stdout(&csv));
    let doc = parse_json(&at("json"));
    assert_eq!(doc["processes"], parse_json(&json_before)["processes"]);
    // By name, from the recorded command names.
    let mut c = pmaps_cmd();
    c.arg("--db").arg(db.path()).args([
        "--at",
        "@latest",
        "show",
        "--merge",
        "-f",
        "csv",
        "histshow-b",
    ]);
    let by_name = output(c);
    assert_exit(&by_name, 0);
    let live_b = run_pmaps(["show", "--merge", "-f", "csv", &pids[1]]);
    assert_eq!(stdout(&by_name), stdout(&live_b));
}

#[test]
fn identical_processes_share_one_state_and_each_shows_its_map() {
    // Two forked workers with the same map and the same counters: one stored state.
    let fake = FakeProc::new();
    let mut smaps = Vec::new();
    for m in 0..3u64 {
        let start = 0x7f00_0000_0000 + m * 0x10_0000;
        let header = format!("{start:x}-{:x} rw-p 00000000 00:00 0 ", start + 64 * 1024);
        smaps.extend(full_smaps_record(header, SmapsKb::private_dirty(64, 32)));
    }
    for pid in [1000, 1001] {
        fake.process(pid).comm(b"worker").smaps(&smaps).write();
    }
    let db = Db::new();
    record(fake.root(), &db.path(), 0);
    assert_eq!(count(&db.path(), "state"), 1);
    let args = ["-f", "csv", "1000", "1001"];
    let live = show(fake.root(), &db.path(), false, &args);
    let stored = show(fake.root(), &db.path(), true, &args);
    assert_exit(&stored, 0);
    assert_eq!(stdout(&stored), stdout(&live));
    assert_eq!(stdout(&stored).lines().count(), 1 + 2 * 3);
}
