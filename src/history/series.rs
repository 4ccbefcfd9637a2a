//! The series `pmaps trend` judges, read from the snapshots of a history: per process
//! identity (PID, start time), per command name (every process of it summed: a restarted
//! service stays one series, its restarts marked), per user, and per mapped object.
//!
//! Each snapshot's processes are read with their state's totals; per-file values come from
//! the states' usage rows, summed once per distinct state (a thousand identical workers cost
//! one state).

use std::collections::{HashMap, HashSet};

use anyhow::Context;

use super::snapshots::Snapshot;
use super::{Store, counter_list, counters_at};
use crate::analyze::Metric;
use crate::model::{Counters, Object};

/// What a series follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum By {
    Process,
    Command,
    User,
    File,
}

impl By {
    pub const ALL: [By; 4] = [By::Process, By::Command, By::User, By::File];
    pub fn as_str(self) -> &'static str {
        match self {
            By::Process => "process",
            By::Command => "command",
            By::User => "user",
            By::File => "file",
        }
    }
}

/// The identity of a series.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Process { pid: u32, start_time: u64 },
    Command(Vec<u8>),
    User { uid: Option<u32>, name: Vec<u8> },
    File { object: Object, path: Vec<u8> },
}

impl Key {
    pub fn by(&self) -> By {
        match self {
            Key::Process { .. } => By::Process,
            Key::Command(_) => By::Command,
            Key::User { .. } => By::User,
            Key::File { .. } => By::File,
        }
    }
}

/// One series: its key, what names it, and its values (snapshot index, bytes), in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendSeries {
    pub key: Key,
    /// A process's command name and command line, and its user.
    pub comm: Vec<u8>,
    pub command: Vec<u8>,
    pub user: Vec<u8>,
    pub values: Vec<(usize, u64)>,
    /// For a command: the snapshots (indexes) where a process of it appeared that the
    /// previous snapshot with the command did not have (a restart, or one more process).
    pub restarts: Vec<usize>,
}

/// The process identities (PID, start time) of a command in one snapshot.
type Identities = HashSet<(u32, u64)>;

struct Proc {
    pid: u32,
    start_time: u64,
    uid: Option<u32>,
    user: Vec<u8>,
    comm: Vec<u8>,
    command: Vec<u8>,
}

/// The series of `snapshots` (oldest first, all from `store`), for the kinds in `by`:
/// processes, commands and users follow `proc_metric`, files `file_metric`.
pub fn load(
    store: &Store,
    snapshots: &[Snapshot],
    by: &[By],
    proc_metric: Metric,
    file_metric: Metric,
) -> anyhow::Result<Vec<TrendSeries>> {
    store
        .conn
        .execute_batch("BEGIN")
        .with_context(|| format!("cannot read {}", store.path.display()))?;
    let result = load_rows(store, snapshots, by, proc_metric, file_metric);
    let _ = store.conn.execute_batch("COMMIT");
    result.with_context(|| format!("cannot read {}", store.path.display()))
}

fn load_rows(
    store: &Store,
    snapshots: &[Snapshot],
    by: &[By],
    proc_metric: Metric,
    file_metric: Metric,
) -> rusqlite::Result<Vec<TrendSeries>> {
    let conn = &store.conn;
    let index: HashMap<i64, usize> = snapshots
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id, i))
        .collect();
    let ids = snapshots
        .iter()
        .map(|s| s.id.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let in_range = format!("SELECT state_id FROM snapshot_process WHERE snapshot_id IN ({ids})");
    // (snapshot index, process id, state id)
    let mut members: Vec<(usize, i64, i64)> = Vec::new();
    let mut stmt = conn.prepare(&format!(
        "SELECT snapshot_id, process_id, state_id FROM snapshot_process \
         WHERE snapshot_id IN ({ids})"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        if let Some(&i) = index.get(&r.get::<_, i64>(0)?) {
            members.push((i, r.get(1)?, r.get(2)?));
        }
    }
    members.sort_unstable();
    let mut procs: HashMap<i64, Proc> = HashMap::new();
    let mut stmt = conn.prepare(&format!(
        "SELECT id, pid, start_time, uid, user, comm, command FROM process WHERE id IN \
         (SELECT process_id FROM snapshot_process WHERE snapshot_id IN ({ids}))"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        procs.insert(
            r.get(0)?,
            Proc {
                pid: r.get(1)?,
                start_time: r.get::<_, i64>(2)? as u64,
                uid: r.get(3)?,
                user: r.get(4)?,
                comm: r.get(5)?,
                command: r.get(6)?,
            },
        );
    }
    let mut totals: HashMap<i64, Counters> = HashMap::new();
    let mut stmt = conn.prepare(&format!(
        "SELECT id, {} FROM state WHERE id IN ({in_range})",
        counter_list("state")
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        totals.insert(r.get(0)?, counters_at(r, 1)?);
    }

    let mut series: HashMap<Key, TrendSeries> = HashMap::new();
    let mut push = |key: Key, p: &Proc, i: usize, v: u64| {
        let s = series.entry(key.clone()).or_insert_with(|| TrendSeries {
            key,
            comm: p.comm.clone(),
            command: p.command.clone(),
            user: p.user.clone(),
            values: Vec::new(),
            restarts: Vec::new(),
        });
        match s.values.last_mut() {
            Some((j, sum)) if *j == i => *sum = sum.saturating_add(v),
            _ => s.values.push((i, v)),
        }
    };
    let wants = |b: By| by.contains(&b);
    // Who each command had in its previous snapshot, to mark restarts.
    let mut seen: HashMap<Vec<u8>, (usize, Identities)> = HashMap::new();
    let mut now: HashMap<Vec<u8>, Identities> = HashMap::new();
    let mut restarts: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
    let mut flush = |now: &mut HashMap<Vec<u8>, Identities>, i: usize| {
        for (comm, ids) in now.drain() {
            if let Some((_, before)) = seen.get(&comm)
                && ids.iter().any(|id| !before.contains(id))
            {
                restarts.entry(comm.clone()).or_default().push(i);
            }
            seen.insert(comm, (i, ids));
        }
    };
    let mut current = None;
    for &(i, process_id, state_id) in &members {
        if current != Some(i) {
            if let Some(prev) = current {
                flush(&mut now, prev);
            }
            current = Some(i);
        }
        let (Some(p), Some(c)) = (procs.get(&process_id), totals.get(&state_id)) else {
            continue;
        };
        let Some(v) = proc_metric.of(c) else {
            continue;
        };
        if wants(By::Process) {
            let key = Key::Process {
                pid: p.pid,
                start_time: p.start_time,
            };
            push(key, p, i, v);
        }
        if wants(By::Command) {
            push(Key::Command(p.comm.clone()), p, i, v);
            now.entry(p.comm.clone())
                .or_default()
                .insert((p.pid, p.start_time));
        }
        if wants(By::User) {
            let key = Key::User {
                uid: p.uid,
                name: p.user.clone(),
            };
            push(key, p, i, v);
        }
    }
    if let Some(prev) = current {
        flush(&mut now, prev);
    }
    if wants(By::File) {
        file_series(conn, &members, &in_range, file_metric, &mut series)?;
    }
    let mut out: Vec<TrendSeries> = series.into_values().collect();
    for s in &mut out {
        if let Key::Command(c) = &s.key {
            s.restarts = restarts.remove(c).unwrap_or_default();
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

/// The per-file series: each state's usage rows, times how many processes of a snapshot
/// were in that state.
fn file_series(
    conn: &rusqlite::Connection,
    members: &[(usize, i64, i64)],
    in_range: &str,
    metric: Metric,
    series: &mut HashMap<Key, TrendSeries>,
) -> rusqlite::Result<()> {
    let mut files: HashMap<i64, (Object, Vec<u8>)> = HashMap::new();
    let mut stmt = conn.prepare(&format!(
        "SELECT id, dev_major, dev_minor, inode, path FROM file WHERE id IN \
         (SELECT u.file_id FROM state s JOIN json_each(s.usages) j \
          JOIN usage u ON u.id = j.value WHERE s.id IN ({in_range}))"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let object = Object {
            dev_major: r.get(1)?,
            dev_minor: r.get(2)?,
            inode: r.get::<_, i64>(3)? as u64,
        };
        files.insert(r.get(0)?, (object, r.get(4)?));
    }
    // state → [(file id, value)]
    let mut shares: HashMap<i64, Vec<(i64, u64)>> = HashMap::new();
    let mut stmt = conn.prepare(&format!(
        "SELECT s.id, u.file_id, {} FROM state s JOIN json_each(s.usages) j \
         JOIN usage u ON u.id = j.value WHERE s.id IN ({in_range})",
        counter_list("u")
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        if let Some(v) = metric.of(&counters_at(r, 2)?) {
            shares.entry(r.get(0)?).or_default().push((r.get(1)?, v));
        }
    }
    // Per snapshot: how many processes were in each state.
    let mut per_snapshot: Vec<(usize, HashMap<i64, u64>)> = Vec::new();
    for &(i, _, state) in members {
        if per_snapshot.last().is_none_or(|(j, _)| *j != i) {
            per_snapshot.push((i, HashMap::new()));
        }
        if let Some((_, m)) = per_snapshot.last_mut() {
            *m.entry(state).or_default() += 1;
        }
    }
    for (i, states) in per_snapshot {
        let mut sums: HashMap<i64, u64> = HashMap::new();
        for (state, n) in states {
            for &(file, v) in shares.get(&state).into_iter().flatten() {
                let s = sums.entry(file).or_default();
                *s = s.saturating_add(v.saturating_mul(n));
            }
        }
        for (file, v) in sums {
            let Some((object, path)) = files.get(&file) else {
                continue;
            };
            let key = Key::File {
                object: *object,
                path: path.clone(),
            };
            let s = series.entry(key.clone()).or_insert_with(|| TrendSeries {
                key,
                comm: Vec::new(),
                command: Vec::new(),
                user: Vec::new(),
                values: Vec::new(),
                restarts: Vec::new(),
            });
            s.values.push((i, v));
        }
    }
    Ok(())
}
