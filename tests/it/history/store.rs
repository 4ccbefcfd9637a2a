//! What a record stores: unchanged processes cost no new state; retention removes old
//! snapshots and gives the space back; the sqlite3 shell reads the documented views.

use super::*;
use crate::report_fake::tree::tree;

#[test]
fn an_unchanged_tree_adds_one_row_per_process_and_no_state() {
    let fake = tree();
    let db = Db::new();
    record(fake.root(), &db.path(), 3);
    let (states, usages, runs, files) = (
        count(&db.path(), "state"),
        count(&db.path(), "usage"),
        count(&db.path(), "run"),
        count(&db.path(), "file"),
    );
    assert!(runs > usages, "anonymous mappings are runs of their own");
    let per_snapshot = count(&db.path(), "snapshot_process");
    assert!(per_snapshot >= 4, "{per_snapshot}");
    record(fake.root(), &db.path(), 3);
    assert_eq!(count(&db.path(), "snapshot"), 2);
    assert_eq!(count(&db.path(), "state"), states);
    assert_eq!(count(&db.path(), "usage"), usages);
    assert_eq!(count(&db.path(), "run"), runs);
    assert_eq!(count(&db.path(), "file"), files);
    assert_eq!(count(&db.path(), "snapshot_process"), 2 * per_snapshot);
}

#[test]
fn a_process_whose_heap_grew_stores_one_new_run_and_keeps_the_others() {
    let fake = FakeProc::new();
    let db = Db::new();
    // 20 anonymous mappings; the last one (the "heap") has `heap` kB resident.
    let write = |heap: u64| {
        let mut smaps = Vec::new();
        for m in 0..20u64 {
            let start = 0x7f00_0000_0000 + m * 0x100_0000;
            let header = format!("{start:x}-{:x} rw-p 00000000 00:00 0 ", start + 4096 * 1024);
            let rss = if m == 19 { heap } else { 64 };
            smaps.extend(full_smaps_record(header, SmapsKb::private_dirty(4096, rss)));
        }
        fake.process(1000).comm(b"grower").smaps(&smaps).write();
    };
    write(100);
    record(fake.root(), &db.path(), 0);
    let runs = count(&db.path(), "run");
    assert_eq!(runs, 20);
    write(900);
    record(fake.root(), &db.path(), 0);
    assert_eq!(count(&db.path(), "state"), 2);
    assert_eq!(
        count(&db.path(), "run"),
        runs + 1,
        "only the grown run is new"
    );
    assert_eq!(count(&db.path(), "run WHERE refs = 2"), 19);
    for at in ["@1", "@2"] {
        let out = pmaps_db(
            fake.root(),
            &db.path(),
            &["--at", at, "show", "--merge", "-f", "csv", "1000"],
        );
        assert_exit(&out, 0);
        let last = stdout(&out).lines().last().unwrap_or_default().to_string();
        let rss = if at == "@1" { 100 } else { 900 } * 1024;
        assert!(last.contains(&format!(",{rss},")), "{at}: {last}");
    }
}

/// A tree of `n` processes, each with a private anonymous mapping of `kb` kB (distinct per
/// process, so each is a state of its own).
fn many(fake: &FakeProc, n: u32, kb: u64) {
    for pid in 1000..1000 + n {
        let size = kb + u64::from(pid);
        let mut smaps = Vec::new();
        for m in 0..20u64 {
            let start = 0x7f00_0000_0000 + m * 0x100_0000;
            let header = format!("{start:x}-{:x} rw-p 00000000 00:00 0 ", start + size * 1024);
            smaps.extend(full_smaps_record(
                header,
                SmapsKb::private_dirty(size, size),
            ));
        }
        fake.process(pid).comm(b"worker").smaps(&smaps).write();
    }
}

#[test]
fn retention_removes_old_snapshots_and_the_file_shrinks() {
    let fake = FakeProc::new();
    let db = Db::new();
    for round in 0..4 {
        many(&fake, 200, 100 * (round + 1));
        record(fake.root(), &db.path(), 0);
    }
    let before = std::fs::metadata(db.path()).unwrap().len();
    assert_eq!(count(&db.path(), "snapshot"), 4);
    let out = pmaps_db(fake.root(), &db.path(), &["record", "--keep", "0s"]);
    assert_exit(&out, 0);
    assert_eq!(count(&db.path(), "snapshot"), 1);
    // Only the newest snapshot's 200 states remain, and the freed pages went back.
    assert_eq!(count(&db.path(), "state"), 200);
    let after = std::fs::metadata(db.path()).unwrap().len();
    assert!(after * 4 < before * 3, "{before} -> {after}");
    // What remains is whole: every usage row is listed by a state, and the snapshot still
    // answers as the scan does.
    assert_eq!(count(&db.path(), "usage WHERE refs <= 0"), 0);
    assert_eq!(count(&db.path(), "run WHERE refs <= 0"), 0);
    assert_eq!(
        count(&db.path(), "run"),
        count(
            &db.path(),
            "(SELECT DISTINCT j.value FROM state s, json_each(s.runs) j)"
        ),
        "every run left is listed by a state left"
    );
    let shown = pmaps_db(
        fake.root(),
        &db.path(),
        &["--at", "@latest", "show", "--merge", "-f", "csv", "1000"],
    );
    let live = pmaps_db(
        fake.root(),
        &db.path(),
        &["show", "--merge", "-f", "csv", "1000"],
    );
    assert_exit(&shown, 0);
    assert_eq!(stdout(&shown), stdout(&live));
    let scan = pmaps_db(fake.root(), &db.path(), &["-f", "csv"]);
    let at = pmaps_db(fake.root(), &db.path(), &["--at", "@latest", "-f", "csv"]);
    assert_exit(&at, 0);
    assert_eq!(stdout(&at), stdout(&scan));
    // --max-size: the oldest go until the data fits, the newest stays.
    many(&fake, 200, 7000);
    record(fake.root(), &db.path(), 0);
    let out = pmaps_db(
        fake.root(),
        &db.path(),
        &["record", "--keep", "all", "--max-size", "1K"],
    );
    assert_exit(&out, 0);
    assert_eq!(count(&db.path(), "snapshot"), 1);
}

#[test]
fn the_sqlite3_shell_reads_the_documented_views() {
    let Ok(sqlite3) = which("sqlite3") else {
        eprintln!("skipped: no sqlite3 client (.ci/run installs it)");
        return;
    };
    let fake = tree();
    let db = Db::new();
    record(fake.root(), &db.path(), 3);
    let mut cmd = std::process::Command::new(sqlite3);
    cmd.arg("-readonly").arg(db.path()).arg(
        "SELECT pid, sum(pss) FROM process_file WHERE snapshot_id = 1 GROUP BY pid ORDER BY pid; \
         SELECT pid, pss, uss FROM process_total ORDER BY pid; \
         SELECT pid, sum(uss), sum(mappings) FROM process_run GROUP BY pid ORDER BY pid; \
         SELECT address || '-' || end_address, perms FROM process_run WHERE pid = 100 \
         ORDER BY position;",
    );
    let out = output(cmd);
    assert_exit(&out, 0);
    let json = pmaps_db(
        fake.root(),
        &db.path(),
        &["--at", "@1", "-g", "process", "-f", "json"],
    );
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let mut expected = String::new();
    let mut rows: Vec<&serde_json::Value> = doc["rows"].as_array().unwrap().iter().collect();
    rows.sort_by_key(|r| r["pid"].as_u64());
    for r in &rows {
        expected.push_str(&format!("{}|{}\n", r["pid"], r["pss_bytes"]));
    }
    for r in &rows {
        expected.push_str(&format!(
            "{}|{}|{}\n",
            r["pid"], r["pss_bytes"], r["uss_bytes"]
        ));
    }
    for r in &rows {
        expected.push_str(&format!(
            "{}|{}|{}\n",
            r["pid"], r["uss_bytes"], r["mappings"]
        ));
    }
    // The runs of 100 in address order, as `show --merge` lists them.
    let show = pmaps_db(
        fake.root(),
        &db.path(),
        &["--at", "@1", "show", "--merge", "-f", "csv", "100"],
    );
    for line in stdout(&show).lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        expected.push_str(&format!("{}|{}\n", cells[1], cells[2]));
    }
    assert_eq!(stdout(&out), expected);
}

fn which(name: &str) -> Result<PathBuf, ()> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or(())
}
