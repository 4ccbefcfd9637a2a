//! Cron safety: a record killed mid-transaction, two records at once, files that are not a
//! pmaps history, a newer schema, a read-only file, a full disk.

use std::io::BufRead;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use super::*;
use crate::report_fake::tree::tree;

/// The test-only hook of `pmaps record`: milliseconds it sleeps inside its transaction.
const PAUSE: &str = "PMAPS_TEST_RECORD_PAUSE_MS";

/// Starts `pmaps record` with the test hook set to `ms`, and waits until it is paused
/// inside its transaction.
fn start_paused(root: &Path, db: &Path, ms: u64) -> std::process::Child {
    let mut cmd = pmaps_on(root);
    cmd.arg("--db").arg(db).arg("record");
    cmd.env(PAUSE, ms.to_string())
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.contains("test hook"), "{line}");
    child
}

#[test]
fn a_record_killed_inside_its_transaction_leaves_every_earlier_snapshot_and_no_half_one() {
    let fake = tree();
    let db = Db::new();
    record(fake.root(), &db.path(), 3);
    let mut child = start_paused(fake.root(), &db.path(), 60_000);
    kill_pid(child.id());
    let status = child.wait().unwrap();
    assert!(!status.success());
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    drop(conn);
    assert_eq!(count(&db.path(), "snapshot"), 1);
    let per_snapshot = count(&db.path(), "snapshot_process");
    record(fake.root(), &db.path(), 3);
    assert_eq!(count(&db.path(), "snapshot"), 2);
    assert_eq!(count(&db.path(), "snapshot_process"), 2 * per_snapshot);
}

#[test]
fn two_records_at_once_both_land() {
    let fake = tree();
    let db = Db::new();
    record(fake.root(), &db.path(), 3);
    let mut slow = start_paused(fake.root(), &db.path(), 1500);
    // The slow one holds the write lock now: this one waits for it, then lands.
    let out = pmaps_db(fake.root(), &db.path(), &["record"]);
    assert_exit(&out, 3);
    assert!(!stderr(&out).contains("locked"), "{}", stderr(&out));
    assert_eq!(slow.wait().unwrap().code(), Some(3));
    assert_eq!(count(&db.path(), "snapshot"), 3);
}

#[test]
fn a_file_that_is_not_a_pmaps_history_is_refused_and_left_as_it_is() {
    let fake = tree();
    let db = Db::new();
    let text = b"PID  RSS\n1  1234\n".repeat(300);
    std::fs::write(db.path(), &text).unwrap();
    for args in [
        &["record"][..],
        &["history"],
        &["trend"],
        &["--at", "@latest"],
    ] {
        let out = pmaps_db(fake.root(), &db.path(), args);
        assert_exit(&out, 1);
        assert!(
            stderr(&out).contains("not a pmaps history"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    }
    assert_eq!(std::fs::read(db.path()).unwrap(), text);
    let other = db.dir.path().join("other.sqlite");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE notes(t TEXT); INSERT INTO notes VALUES ('mine');")
        .unwrap();
    let before = std::fs::read(&other).unwrap();
    let out = pmaps_db(fake.root(), &other, &["record"]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("SQLite database but not a pmaps history"));
    assert_eq!(std::fs::read(&other).unwrap(), before);
}

#[test]
fn a_schema_newer_than_the_binary_is_a_clear_error_never_a_rewrite() {
    let fake = tree();
    let db = Db::new();
    record(fake.root(), &db.path(), 3);
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    conn.execute_batch(&format!("PRAGMA user_version = {}", v + 1))
        .unwrap();
    drop(conn);
    let before = std::fs::read(db.path()).unwrap();
    for args in [
        &["record"][..],
        &["history"],
        &["trend"],
        &["--at", "@latest"],
    ] {
        let out = pmaps_db(fake.root(), &db.path(), args);
        assert_exit(&out, 1);
        assert!(
            stderr(&out).contains("newer than this pmaps knows"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(std::fs::read(db.path()).unwrap(), before);
}

#[test]
fn a_read_only_history_is_read_by_history_trend_and_at() {
    let fake = tree();
    let db = Db::new();
    record(fake.root(), &db.path(), 3);
    record(fake.root(), &db.path(), 3);
    std::fs::set_permissions(db.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(db.path(), std::fs::Permissions::from_mode(0o444)).unwrap();
    let before = std::fs::read(db.path()).unwrap();
    let run = |args: &[&str]| {
        let mut a: Vec<std::ffi::OsString> = vec![
            "--proc-root".into(),
            fake.root().into(),
            "--db".into(),
            db.path().into(),
        ];
        a.extend(args.iter().map(Into::into));
        // As nobody, who cannot write the file nor its directory.
        run_pmaps_as_nobody(a)
    };
    let out = run(&["history", "-f", "csv"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out).lines().count(), 3, "{}", stdout(&out));
    assert_exit(&run(&["trend", "--all"]), 0);
    let out = run(&["--at", "@latest", "-g", "user", "-f", "csv"]);
    assert_exit(&out, 3);
    assert!(stdout(&out).contains("nobody"), "{}", stdout(&out));
    let out = run(&["record"]);
    assert_exit(&out, 1);
    assert_eq!(std::fs::read(db.path()).unwrap(), before);
}

#[test]
fn a_full_disk_is_one_line_and_a_non_zero_exit_with_the_database_intact() {
    // A 512 KiB tmpfs: the first records fit, a large one does not.
    let mnt = tempfile::tempdir().unwrap();
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=512k", "tmpfs"])
        .arg(mnt.path())
        .status();
    if !status.is_ok_and(|s| s.success()) {
        panic!("cannot mount a tmpfs (the tests run as root)");
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let _guard = Unmount(mnt.path());
    let db = mnt.path().join("history.sqlite");
    let small = tree();
    record(small.root(), &db, 3);
    let big = FakeProc::new();
    for pid in 1000..1400u32 {
        let mut smaps = Vec::new();
        for m in 0..40u64 {
            let start = 0x7f00_0000_0000 + m * 0x100_0000;
            let path = format!("/opt/app/lib{pid}-{m}.so");
            let header = format!(
                "{start:x}-{:x} r-xp 00000000 08:01 {} {path}",
                start + 4096,
                pid * 100 + m as u32
            );
            smaps.extend(full_smaps_record(header, SmapsKb::private_clean(4)));
        }
        big.process(pid).comm(b"big").smaps(&smaps).write();
    }
    let out = pmaps_db(big.root(), &db, &["record"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("full"), "{err}");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    drop(conn);
    assert_eq!(count(&db, "snapshot"), 1);
    let out = pmaps_db(small.root(), &db, &["--at", "@latest", "-f", "csv"]);
    assert_exit(&out, 3);
}

#[test]
fn readers_read_while_a_record_is_writing() {
    let fake = tree();
    let db = Db::new();
    record(fake.root(), &db.path(), 3);
    let mut writing = start_paused(fake.root(), &db.path(), 3000);
    // The record holds the write lock inside its transaction: readers see the snapshot
    // before it, at once.
    let started = std::time::Instant::now();
    let out = pmaps_db(fake.root(), &db.path(), &["history", "-f", "csv"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out).lines().count(), 2, "{}", stdout(&out));
    let out = pmaps_db(fake.root(), &db.path(), &["--at", "@latest", "-f", "csv"]);
    assert_exit(&out, 3);
    assert!(started.elapsed() < std::time::Duration::from_millis(2500));
    assert_eq!(writing.wait().unwrap().code(), Some(3));
    assert_eq!(count(&db.path(), "snapshot"), 2);
}
