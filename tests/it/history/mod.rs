//! `pmaps record`, `pmaps history`, `pmaps trend` and `--at`, on a real database file in a
//! temporary directory (always given with `--db`).
//!
//! - [`at`]: a snapshot answers every question as the scan did at that moment (same CSV),
//!   and `diff @REF` compares snapshots.
//! - [`show`]: `--at SNAPSHOT show --merge` is the live `show --merge` of that moment.
//! - [`store`]: unchanged processes cost no new state; retention removes old snapshots and
//!   the file shrinks; the sqlite3 shell reads the documented views.
//! - [`safety`]: cron safety: kill -9 mid-record, concurrent records, a corrupt or foreign
//!   file, a newer schema, a read-only file, a full disk.
//! - [`trend`]: a leaking process among stable ones is the one suspect.

mod at;
mod safety;
mod show;
mod store;
mod trend;

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::*;

/// A temporary directory holding the history file.
pub struct Db {
    pub dir: tempfile::TempDir,
}

impl Db {
    pub fn new() -> Db {
        Db {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("history.sqlite")
    }
}

/// `pmaps --db DB ARGS…` over the fake tree at `root`.
pub fn pmaps_db(root: &Path, db: &Path, args: &[&str]) -> Output {
    let mut cmd = pmaps_on(root);
    cmd.arg("--db").arg(db).args(args);
    output(cmd)
}

/// `pmaps record` over `root` into `db`, expected to exit with `code` and print nothing on
/// stdout.
pub fn record(root: &Path, db: &Path, code: i32) {
    let out = pmaps_db(root, db, &["record"]);
    assert_exit(&out, code);
    assert!(out.stdout.is_empty(), "record printed {:?}", stdout(&out));
}

/// The number of rows of a table of the history.
pub fn count(db: &Path, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).expect("open the history");
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .expect("count")
}
