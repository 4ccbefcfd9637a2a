//! The history's costs: `pmaps record` is timed as a contender beside the per-file scan (the
//! `record` row, into a history that already holds one snapshot of the machine, as cron's
//! does: its ratio to the scan is the cost of storing), and `--record-snapshots K` records K
//! snapshots in a row of the idle workload into a fresh database, timing the first (where
//! everything is new) apart from the others, and extrapolates its growth to a week of
//! 10-minute snapshots:
//! `week = size after 1 + 1,007 × (size after K − size after 1) ÷ (K − 1)`, sizes of the file
//! as `stat` gives them (the data and the free pages SQLite keeps).

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Result, bail};

/// Snapshots of a week of 10-minute records.
pub const WEEK: f64 = 7.0 * 24.0 * 6.0;

/// The database growth measured over consecutive records, and their wall times.
pub struct Growth {
    pub snapshots: usize,
    pub first_bytes: u64,
    pub last_bytes: u64,
    /// The first record's wall time (into an empty history: everything it stores is new).
    pub first_ms: f64,
    /// The median wall time of the later records.
    pub later_ms: f64,
}

impl Growth {
    pub fn per_snapshot(&self) -> f64 {
        (self.last_bytes.saturating_sub(self.first_bytes)) as f64
            / (self.snapshots.max(2) - 1) as f64
    }
    pub fn week_bytes(&self) -> f64 {
        self.first_bytes as f64 + (WEEK - 1.0) * self.per_snapshot()
    }
}

/// `pmaps record` into `db`, every snapshot kept.
pub fn record_command(pmaps: &Path, db: &Path, threads: usize) -> Command {
    let mut cmd = Command::new(pmaps);
    cmd.arg("--db")
        .arg(db)
        .args(["record", "--keep", "all", "--threads"])
        .arg(threads.to_string())
        .stdout(Stdio::null());
    cmd
}

/// Runs one `pmaps record` into `db` (exit 0, or 3 for a partial scan).
pub fn record_once(pmaps: &Path, db: &Path, threads: usize) -> Result<()> {
    let status = record_command(pmaps, db, threads)
        .stderr(Stdio::null())
        .status()?;
    if !matches!(status.code(), Some(0 | 3)) {
        bail!("pmaps record failed: {status}");
    }
    Ok(())
}

/// Records `k` snapshots in a row into a fresh database under `dir`.
pub fn growth(pmaps: &Path, dir: &Path, threads: usize, k: usize) -> Result<Growth> {
    let db = dir.join("growth.sqlite");
    let _ = std::fs::remove_file(&db);
    let mut first = 0;
    let mut walls = Vec::with_capacity(k);
    for i in 0..k {
        let started = std::time::Instant::now();
        record_once(pmaps, &db, threads)?;
        walls.push(started.elapsed().as_secs_f64() * 1000.0);
        if i == 0 {
            first = std::fs::metadata(&db)?.len();
        }
        eprintln!("bench: history snapshot {}/{k}", i + 1);
    }
    let mut later = walls.split_off(1.min(walls.len()));
    later.sort_by(f64::total_cmp);
    Ok(Growth {
        snapshots: k,
        first_bytes: first,
        last_bytes: std::fs::metadata(&db)?.len(),
        first_ms: walls.first().copied().unwrap_or(0.0),
        later_ms: later.get(later.len() / 2).copied().unwrap_or(0.0),
    })
}
