//! `pmaps record`'s write: one scan becomes one snapshot, in one transaction (a record
//! killed half way leaves every earlier snapshot and no half one), then the retention
//! removes what is too old or too much.
//!
//! Rows are found again by the hash of their content (see the module [`super`]): a process
//! whose memory is as in the previous snapshot is looked up in memory and costs one
//! `snapshot_process` row; one seen in an older snapshot costs one index lookup more; only a
//! new state stores its usage rows.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use xxhash_rust::xxh3::Xxh3;

use super::{COUNTER_COLUMNS, Store, counter_values, runs};
use crate::model::{Counters, MapKind, Object, Outcome, OutcomeKind, ProcDesc, Row, RowKey};
use crate::scan::Recording;

/// What the retention keeps, applied at each record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Snapshots older than this are removed (`None`: kept for ever).
    pub keep: Option<Duration>,
    /// The oldest snapshots are removed until the data fits this many bytes.
    pub max_size: Option<u64>,
}

/// Test hook, for tests only: the milliseconds a record sleeps inside its transaction (after
/// half its processes are written), so that a test can kill it there or race it.
pub const PAUSE_HOOK: &str = "PMAPS_TEST_RECORD_PAUSE_MS";

/// A 128-bit content hash, built field by field (lengths included, so no two different
/// contents feed the same bytes).
pub(super) struct Digest(Xxh3);

impl Digest {
    pub(super) fn new(tag: u8) -> Digest {
        let mut h = Xxh3::new();
        h.update(&[tag]);
        Digest(h)
    }
    pub(super) fn int(mut self, v: u64) -> Self {
        self.0.update(&v.to_le_bytes());
        self
    }
    pub(super) fn opt(self, v: Option<u64>) -> Self {
        match v {
            Some(v) => self.int(1).int(v),
            None => self.int(0),
        }
    }
    pub(super) fn bytes(mut self, b: &[u8]) -> Self {
        self = self.int(b.len() as u64);
        self.0.update(b);
        self
    }
    pub(super) fn counters(self, c: &Counters) -> Self {
        counter_values(c)
            .into_iter()
            .fold(self, |h, v| h.int(v as u64))
    }
    pub(super) fn finish(self) -> [u8; 16] {
        self.0.digest128().to_le_bytes()
    }
}

/// One process's share of one file, about to be stored.
struct Share<'a> {
    path: &'a [u8],
    object: Object,
    kind: MapKind,
    mappings: u64,
    counters: Counters,
    file_hash: [u8; 16],
    hash: [u8; 16],
}

/// The hashes of the previous snapshot's rows, to find an unchanged process without a query.
#[derive(Default)]
struct Previous {
    processes: HashMap<[u8; 16], i64>,
    states: HashMap<[u8; 16], i64>,
    /// Each process's state, by (PID, start time).
    state_of: HashMap<(u32, u64), i64>,
}

fn process_hash(d: &ProcDesc) -> [u8; 16] {
    let cgroup = d.cgroup.as_ref();
    Digest::new(b'p')
        .int(u64::from(d.pid))
        .int(d.start_time)
        .opt(d.uid.map(u64::from))
        .bytes(d.user.as_bytes())
        .bytes(&d.comm)
        .bytes(&d.command)
        .opt(cgroup.map(|c| c.hierarchy as u64))
        .bytes(cgroup.map_or(&[][..], |c| &c.path))
        .finish()
}

/// The hash of a mapped object's row.
pub(super) fn file_hash(object: &Object, path: &[u8], kind: MapKind) -> [u8; 16] {
    Digest::new(b'f')
        .int(u64::from(object.dev_major))
        .int(u64::from(object.dev_minor))
        .int(object.inode)
        .bytes(path)
        .bytes(kind.as_str().as_bytes())
        .finish()
}

fn hierarchy_name(h: crate::model::Hierarchy) -> &'static str {
    match h {
        crate::model::Hierarchy::V2 => "v2",
        crate::model::Hierarchy::V1Memory => "v1",
    }
}

/// Nanoseconds since the Unix epoch.
pub fn unix_ns(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Appends `rec` to the history as one snapshot, then applies `retention`. Returns the new
/// snapshot's id.
pub fn record(store: &mut Store, rec: &Recording, retention: &Retention) -> anyhow::Result<i64> {
    let shown = store.path.display().to_string();
    let tx = store
        .conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .with_context(|| format!("cannot lock {shown}"))?;
    let id = write_snapshot(&tx, rec).with_context(|| format!("cannot record into {shown}"))?;
    let removed = apply_retention(&tx, id, retention)
        .with_context(|| format!("cannot apply the retention to {shown}"))?;
    tx.commit()
        .with_context(|| format!("cannot record into {shown}"))?;
    if removed > 0 {
        // Gives the freed pages back to the file system (one page per step); a failure here
        // loses nothing.
        let _ = vacuum(&store.conn);
    }
    Ok(id)
}

fn vacuum(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare("PRAGMA incremental_vacuum")?;
    let mut rows = stmt.query([])?;
    while rows.next()?.is_some() {}
    Ok(())
}

fn write_snapshot(tx: &Transaction<'_>, rec: &Recording) -> anyhow::Result<i64> {
    let report = &rec.report;
    let cov = &report.coverage;
    let meta = &report.meta;
    let counts = OutcomeKind::ALL.map(|k| cov.count(k) as i64);
    let totals = counter_values(&report.totals.counters);
    let cols = COUNTER_COLUMNS.join(", ");
    let marks = vec!["?"; 13].join(", ");
    tx.execute(
        &format!(
            "INSERT INTO snapshot (time_ns, host, kernel, pmaps_version, source, proc_root, \
             threads, duration_ns, read, vanished, zombie, kernel_thread, denied, incomplete, \
             error, mappings, self_pid, hidden, shared_unknown, {cols}) VALUES (?, ?, ?, ?, ?, \
             ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {marks})"
        ),
        rusqlite::params_from_iter(
            [
                rusqlite::types::Value::from(unix_ns(meta.time)),
                meta.host.clone().into(),
                meta.kernel.clone().into(),
                env!("CARGO_PKG_VERSION").to_string().into(),
                meta.source.file_name().to_string().into(),
                meta.proc_root
                    .as_os_str()
                    .as_encoded_bytes()
                    .to_vec()
                    .into(),
                (meta.threads as i64).into(),
                (i64::try_from(meta.duration.as_nanos()).unwrap_or(i64::MAX)).into(),
            ]
            .into_iter()
            .chain(counts.map(rusqlite::types::Value::from))
            .chain([
                (cov.mappings as i64).into(),
                cov.self_pid.map(i64::from).into(),
                cov.hidden.clone().into(),
                (cov.shared_unknown as i64).into(),
            ])
            .chain(totals.map(rusqlite::types::Value::from)),
        ),
    )?;
    let id = tx.last_insert_rowid();
    for p in &cov.problems {
        let (path, errno, message) = match &p.outcome {
            Outcome::Denied { path, errno } => (Some(path.clone()), Some(*errno), None),
            Outcome::Error { path, message } => (Some(path.clone()), None, Some(message.clone())),
            _ => (None, None, None),
        };
        tx.execute(
            "INSERT INTO problem (snapshot_id, pid, comm, outcome, path, errno, message) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
            params![
                id,
                p.pid,
                p.comm,
                p.outcome.kind().as_str(),
                path,
                errno,
                message
            ],
        )?;
    }
    for s in &cov.shared {
        tx.execute(
            "INSERT OR IGNORE INTO shared_space (snapshot_id, pid, counted_with) VALUES (?, ?, ?)",
            params![id, s.pid, s.with],
        )?;
    }
    for (cgroup, c) in &rec.charges {
        let v = |x: Option<u64>| x.map(|x| x as i64);
        tx.execute(
            "INSERT OR IGNORE INTO charge (snapshot_id, hierarchy, path, current, anon, file, \
             shmem, kernel) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                id,
                hierarchy_name(cgroup.hierarchy),
                cgroup.path,
                v(c.current),
                v(c.anon),
                v(c.file),
                v(c.shmem),
                v(c.kernel)
            ],
        )?;
    }
    write_processes(tx, id, rec)?;
    Ok(id)
}

/// The previous snapshot's process and state hashes.
fn previous(tx: &Transaction<'_>, id: i64) -> rusqlite::Result<Previous> {
    let mut prev = Previous::default();
    let last: Option<i64> = tx
        .query_row("SELECT max(id) FROM snapshot WHERE id < ?", [id], |r| {
            r.get(0)
        })
        .optional()?
        .flatten();
    let Some(last) = last else {
        return Ok(prev);
    };
    let mut stmt = tx.prepare(
        "SELECT p.hash, p.id, s.hash, s.id, p.pid, p.start_time FROM snapshot_process sp \
         JOIN process p ON p.id = sp.process_id JOIN state s ON s.id = sp.state_id \
         WHERE sp.snapshot_id = ?",
    )?;
    let mut rows = stmt.query([last])?;
    while let Some(r) = rows.next()? {
        let key = |i: usize| -> rusqlite::Result<[u8; 16]> {
            let b: Vec<u8> = r.get(i)?;
            Ok(b.try_into().unwrap_or([0; 16]))
        };
        prev.processes.insert(key(0)?, r.get(1)?);
        prev.states.insert(key(2)?, r.get(3)?);
        prev.state_of
            .insert((r.get(4)?, r.get::<_, i64>(5)? as u64), r.get(3)?);
    }
    Ok(prev)
}

/// Finds a row by its hash, or inserts it with `insert` and returns its id.
pub(super) fn find_or_insert(
    tx: &Transaction<'_>,
    table: &str,
    hash: &[u8; 16],
    insert: impl FnOnce() -> rusqlite::Result<usize>,
) -> rusqlite::Result<(i64, bool)> {
    let found: Option<i64> = tx
        .prepare_cached(&format!("SELECT id FROM {table} WHERE hash = ?"))?
        .query_row([&hash[..]], |r| r.get(0))
        .optional()?;
    match found {
        Some(id) => Ok((id, false)),
        None => {
            insert()?;
            Ok((tx.last_insert_rowid(), true))
        }
    }
}

fn write_processes(tx: &Transaction<'_>, id: i64, rec: &Recording) -> rusqlite::Result<()> {
    let prev = previous(tx, id)?;
    // Each process's shares of files, from the `file,process` rows.
    let mut shares: HashMap<(u32, u64), Vec<Share<'_>>> = HashMap::new();
    for file in &rec.report.rows {
        let RowKey::File { path, object, kind } = &file.key else {
            continue;
        };
        let file_hash = file_hash(object, path, *kind);
        for child in &file.children {
            let RowKey::FileProcess { proc, .. } = &child.key else {
                continue;
            };
            let mappings = child.mappings.unwrap_or(0);
            shares
                .entry((proc.pid, proc.start_time))
                .or_default()
                .push(Share {
                    path,
                    object: *object,
                    kind: *kind,
                    mappings,
                    counters: child.counters,
                    file_hash,
                    hash: Digest::new(b'u')
                        .bytes(&file_hash)
                        .int(mappings)
                        .counters(&child.counters)
                        .finish(),
                });
        }
    }
    let pause = std::env::var(PAUSE_HOOK)
        .ok()
        .and_then(|v| v.parse::<u64>().ok());
    let half = rec.processes.len() / 2;
    let mut files: HashMap<[u8; 16], i64> = HashMap::new();
    for (i, row) in rec.processes.iter().enumerate() {
        if i == half
            && let Some(ms) = pause
        {
            eprintln!("pmaps: test hook: pausing {ms} ms inside the record transaction");
            std::thread::sleep(Duration::from_millis(ms));
        }
        let RowKey::Process(d) = &row.key else {
            continue;
        };
        let mut mine = shares.remove(&(d.pid, d.start_time)).unwrap_or_default();
        mine.sort_by_key(|s| s.hash);
        let earlier = prev.state_of.get(&(d.pid, d.start_time)).copied();
        let runs = runs::of(rec.runs.get(&(d.pid, d.start_time)), earlier);
        let process_id = write_process(tx, &prev, d)?;
        let state_id = write_state(tx, &prev, &mut files, row, &mine, &runs)?;
        tx.prepare_cached(
            "INSERT OR IGNORE INTO snapshot_process (snapshot_id, process_id, state_id) \
             VALUES (?, ?, ?)",
        )?
        .execute([id, process_id, state_id])?;
    }
    Ok(())
}

fn write_process(tx: &Transaction<'_>, prev: &Previous, d: &ProcDesc) -> rusqlite::Result<i64> {
    let hash = process_hash(d);
    if let Some(&id) = prev.processes.get(&hash) {
        return Ok(id);
    }
    let cgroup = d.cgroup.as_ref();
    find_or_insert(tx, "process", &hash, || {
        tx.prepare_cached(
            "INSERT INTO process (pid, start_time, uid, user, comm, command, cgroup, hierarchy, \
             hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )?
        .execute(params![
            d.pid,
            d.start_time as i64,
            d.uid,
            d.user.as_bytes(),
            d.comm,
            d.command,
            cgroup.map(|c| &c.path),
            cgroup.map(|c| hierarchy_name(c.hierarchy)),
            &hash[..]
        ])
    })
    .map(|(id, _)| id)
}

fn write_state(
    tx: &Transaction<'_>,
    prev: &Previous,
    files: &mut HashMap<[u8; 16], i64>,
    row: &Row,
    shares: &[Share<'_>],
    runs: &runs::Runs,
) -> rusqlite::Result<i64> {
    let mappings = row.mappings.unwrap_or(0);
    let hash = shares.iter().fold(
        Digest::new(b's').int(mappings).counters(&row.counters),
        |h, s| h.bytes(&s.hash),
    );
    let hash = runs
        .list
        .iter()
        .fold(hash.int(runs.list.len() as u64), |h, r| h.bytes(&r.hash))
        .finish();
    if let Some(&id) = prev.states.get(&hash) {
        return Ok(id);
    }
    if let Some(id) = tx
        .prepare_cached("SELECT id FROM state WHERE hash = ?")?
        .query_row([&hash[..]], |r| r.get::<_, i64>(0))
        .optional()?
    {
        return Ok(id);
    }
    let cols = COUNTER_COLUMNS.join(", ");
    let marks = vec!["?"; 13].join(", ");
    let mut usages = Vec::with_capacity(shares.len());
    let columns: Vec<&str> = ["file_id", "mappings"]
        .into_iter()
        .chain(COUNTER_COLUMNS)
        .chain(["hash"])
        .collect();
    let mut add_usage = tx.prepare_cached(&add_ref_sql("usage", &columns))?;
    for s in shares {
        let file_id = file_id(tx, files, &s.file_hash, &s.object, s.path, s.kind)?;
        let usage_id = add_usage.query_row(
            rusqlite::params_from_iter(
                [
                    rusqlite::types::Value::from(file_id),
                    (s.mappings as i64).into(),
                ]
                .into_iter()
                .chain(counter_values(&s.counters).map(Into::into))
                .chain([s.hash.to_vec().into()]),
            ),
            |r| r.get::<_, i64>(0),
        )?;
        usages.push(usage_id.to_string());
    }
    let list = format!("[{}]", usages.join(","));
    let runs = runs::write(tx, files, runs)?;
    tx.prepare_cached(&format!(
        "INSERT INTO state (mappings, {cols}, usages, runs, hash) VALUES (?, {marks}, ?, ?, ?)"
    ))?
    .execute(rusqlite::params_from_iter(
        std::iter::once(rusqlite::types::Value::from(mappings as i64))
            .chain(counter_values(&row.counters).map(Into::into))
            .chain([list.into(), runs.into(), hash.to_vec().into()]),
    ))?;
    Ok(tx.last_insert_rowid())
}

/// The statement that counts one more reference to a row of `table` found again by its
/// `hash` (one of `columns`): it stores the row with `refs` 1 when it is new, else adds 1 to
/// its `refs`, and returns its id; one statement either way.
pub(super) fn add_ref_sql(table: &str, columns: &[&str]) -> String {
    let marks = vec!["?"; columns.len()].join(", ");
    format!(
        "INSERT INTO {table} ({}, refs) VALUES ({marks}, 1) \
         ON CONFLICT(hash) DO UPDATE SET refs = refs + 1 RETURNING id",
        columns.join(", ")
    )
}

/// The id of a mapped object's row, stored now if it is new (`files`: those of this record).
pub(super) fn file_id(
    tx: &Transaction<'_>,
    files: &mut HashMap<[u8; 16], i64>,
    hash: &[u8; 16],
    object: &Object,
    path: &[u8],
    kind: MapKind,
) -> rusqlite::Result<i64> {
    if let Some(&f) = files.get(hash) {
        return Ok(f);
    }
    let (f, _) = find_or_insert(tx, "file", hash, || {
        tx.prepare_cached(
            "INSERT INTO file (dev_major, dev_minor, inode, path, kind, hash) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )?
        .execute(params![
            object.dev_major,
            object.dev_minor,
            object.inode as i64,
            path,
            kind.as_str(),
            &hash[..]
        ])
    })?;
    files.insert(*hash, f);
    Ok(f)
}

/// Removes the snapshots the retention does not keep (never `newest`), and every row only
/// they used. Returns how many snapshots were removed.
fn apply_retention(tx: &Transaction<'_>, newest: i64, r: &Retention) -> rusqlite::Result<u64> {
    let mut removed = 0;
    if let Some(keep) = r.keep {
        let newest_ns: i64 =
            tx.query_row("SELECT time_ns FROM snapshot WHERE id = ?", [newest], |r| {
                r.get(0)
            })?;
        let cutoff = newest_ns.saturating_sub(i64::try_from(keep.as_nanos()).unwrap_or(i64::MAX));
        removed += remove(
            tx,
            "SELECT id FROM snapshot WHERE time_ns < ? AND id <> ?",
            params![cutoff, newest],
        )?;
    }
    if let Some(max) = r.max_size {
        for _ in 0..32 {
            let used = used_bytes(tx)?;
            let count: i64 = tx.query_row("SELECT count(*) FROM snapshot", [], |r| r.get(0))?;
            if used <= max || count <= 1 {
                break;
            }
            // The share of the data over the limit, in snapshots, oldest first.
            let over = (count as f64 * (1.0 - max as f64 / used as f64)).ceil() as i64;
            removed += remove(
                tx,
                "SELECT id FROM snapshot WHERE id <> ? ORDER BY time_ns, id LIMIT ?",
                params![newest, over.clamp(1, count - 1)],
            )?;
        }
    }
    Ok(removed)
}

/// Bytes of the file that hold data (free pages excluded).
fn used_bytes(tx: &Transaction<'_>) -> rusqlite::Result<u64> {
    let p = |name: &str| tx.pragma_query_value(None, name, |r| r.get::<_, i64>(0));
    let used = (p("page_count")? - p("freelist_count")?).max(0) * p("page_size")?;
    Ok(used as u64)
}

/// Removes the snapshots `select` names, and the rows no remaining snapshot uses.
fn remove(
    tx: &Transaction<'_>,
    select: &str,
    args: impl rusqlite::Params,
) -> rusqlite::Result<u64> {
    tx.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS gone_snapshot (id INTEGER PRIMARY KEY);
         CREATE TEMP TABLE IF NOT EXISTS gone_state (id INTEGER PRIMARY KEY);
         CREATE TEMP TABLE IF NOT EXISTS gone_usage (id INTEGER PRIMARY KEY);
         CREATE TEMP TABLE IF NOT EXISTS gone_run (id INTEGER PRIMARY KEY);
         CREATE TEMP TABLE IF NOT EXISTS gone_file (id INTEGER PRIMARY KEY);
         CREATE TEMP TABLE IF NOT EXISTS gone_process (id INTEGER PRIMARY KEY);
         CREATE TEMP TABLE IF NOT EXISTS gone_ref (id INTEGER PRIMARY KEY, n INTEGER);
         DELETE FROM gone_snapshot; DELETE FROM gone_state; DELETE FROM gone_usage;
         DELETE FROM gone_run;
         DELETE FROM gone_file; DELETE FROM gone_process;",
    )?;
    let n = tx.execute(&format!("INSERT INTO gone_snapshot {select}"), args)? as u64;
    if n == 0 {
        return Ok(0);
    }
    tx.execute_batch(
        "INSERT OR IGNORE INTO gone_state SELECT state_id FROM snapshot_process
             WHERE snapshot_id IN gone_snapshot;
         INSERT OR IGNORE INTO gone_process SELECT process_id FROM snapshot_process
             WHERE snapshot_id IN gone_snapshot;
         DELETE FROM snapshot_process WHERE snapshot_id IN gone_snapshot;
         DELETE FROM problem WHERE snapshot_id IN gone_snapshot;
         DELETE FROM shared_space WHERE snapshot_id IN gone_snapshot;
         DELETE FROM charge WHERE snapshot_id IN gone_snapshot;
         DELETE FROM snapshot WHERE id IN gone_snapshot;
         DELETE FROM gone_state WHERE EXISTS
             (SELECT 1 FROM snapshot_process sp WHERE sp.state_id = gone_state.id);
         ",
    )?;
    // A usage row or a run that no state left lists goes.
    for (table, list) in [("usage", "usages"), ("run", "runs")] {
        tx.execute_batch(&format!(
            "DELETE FROM gone_ref;
             INSERT INTO gone_ref SELECT j.value, count(*) FROM gone_state g
                 JOIN state s ON s.id = g.id, json_each(s.{list}) j GROUP BY j.value;
             UPDATE {table} SET refs = refs - (SELECT n FROM gone_ref WHERE gone_ref.id = {table}.id)
                 WHERE id IN (SELECT id FROM gone_ref);
             INSERT OR IGNORE INTO gone_{table} SELECT id FROM {table}
                 WHERE id IN (SELECT id FROM gone_ref) AND refs <= 0;"
        ))?;
    }
    tx.execute_batch(
        "DELETE FROM state WHERE id IN gone_state;
         -- A state that lists a run of a file also lists a usage row of that file (both
         -- come from the same mappings): a file no usage row left names, no run names either.
         INSERT OR IGNORE INTO gone_file SELECT file_id FROM usage WHERE id IN gone_usage;
         DELETE FROM usage WHERE id IN gone_usage;
         DELETE FROM run WHERE id IN gone_run;
         DELETE FROM gone_file WHERE EXISTS (SELECT 1 FROM usage u WHERE u.file_id = gone_file.id);
         DELETE FROM file WHERE id IN gone_file;
         DELETE FROM gone_process WHERE EXISTS
             (SELECT 1 FROM snapshot_process sp WHERE sp.process_id = gone_process.id);
         DELETE FROM process WHERE id IN gone_process;",
    )?;
    Ok(n)
}
