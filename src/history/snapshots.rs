//! The snapshots of a history: their list, references to one of them (`@latest`, `@-1`,
//! `@ID`, a UTC time, a duration ago), and one snapshot loaded whole for a rebuild.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use rusqlite::{OptionalExtension, params};

use super::{Store, counter_list, counters_at};
use crate::model::{
    Cgroup, Charge, Counters, Coverage, Hierarchy, MapKind, Object, Outcome, OutcomeKind, Problem,
    ProcDesc, ProcInfo, SharedSpace,
};

/// Which snapshot a command means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    /// `@latest` (0), `@-1` (1: the one before), …
    Latest(u64),
    /// `@ID`.
    Id(i64),
    /// The last snapshot taken at or before this time (Unix nanoseconds): a UTC time
    /// (`2026-11-28T03:00`), or a duration ago (`2h`, `7d`).
    At(i64),
}

impl Reference {
    pub fn parse(s: &str) -> anyhow::Result<Reference> {
        if let Some(rest) = s.strip_prefix('@') {
            if rest == "latest" {
                return Ok(Reference::Latest(0));
            }
            if let Some(n) = rest.strip_prefix('-').and_then(|n| n.parse().ok()) {
                return Ok(Reference::Latest(n));
            }
            if let Ok(id) = rest.parse::<i64>() {
                return Ok(Reference::Id(id));
            }
        } else if let Some(t) = parse_time(s) {
            return Ok(Reference::At(t));
        } else if let Some(d) = parse_duration(s) {
            let now = super::record::unix_ns(SystemTime::now());
            return Ok(Reference::At(now.saturating_sub(nanos(d))));
        }
        bail!(
            "{s:?} is not a snapshot reference: @latest, @-N, @ID, a UTC time \
             (2026-11-28T03:00) or a duration ago (2h, 7d)"
        )
    }

    /// Whether an argument is meant as a snapshot reference rather than a file name.
    pub fn looks_like(s: &str) -> bool {
        s.starts_with('@') || parse_time(s).is_some()
    }
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// A duration: a number and a unit, `s`, `m`, `h`, `d` or `w` (`90s`, `12h`, `7d`).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let unit = s.chars().last()?;
    let n: u64 = s[..s.len() - unit.len_utf8()].parse().ok()?;
    let secs = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(n.checked_mul(secs)?))
}

/// A UTC time, `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM` or `YYYY-MM-DDTHH:MM:SS` (a space for the
/// `T` and a final `Z` allowed), as Unix nanoseconds.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z').unwrap_or(s);
    let (date, time) = match s.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let num = |x: &str, len: usize| -> Option<i64> {
        (x.len() == len && x.bytes().all(|b| b.is_ascii_digit()))
            .then(|| x.parse().ok())
            .flatten()
    };
    let mut d = date.split('-');
    let (y, m, day) = (num(d.next()?, 4)?, num(d.next()?, 2)?, num(d.next()?, 2)?);
    if d.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let (mut hh, mut mm, mut ss) = (0, 0, 0);
    if let Some(t) = time {
        let mut p = t.split(':');
        hh = num(p.next()?, 2)?;
        mm = num(p.next()?, 2)?;
        if let Some(x) = p.next() {
            ss = num(x, 2)?;
        }
        if p.next().is_some() || hh > 23 || mm > 59 || ss > 60 {
            return None;
        }
    }
    // Howard Hinnant's days-from-civil algorithm.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    secs.checked_mul(1_000_000_000)
}

/// One snapshot's facts (a row of `pmaps history`).
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub id: i64,
    pub time: SystemTime,
    pub host: Option<String>,
    pub kernel: Option<String>,
    pub pmaps_version: String,
    pub proc_root: Vec<u8>,
    pub threads: usize,
    pub duration: Duration,
    /// Processes per outcome, indexed by [`OutcomeKind`].
    pub counts: [u64; 7],
    pub mappings: u64,
    pub self_pid: Option<u32>,
    pub hidden: Option<String>,
    /// Processes that may share an address space, when the scan could not tell.
    pub shared_unknown: u64,
    /// The totals of every process read.
    pub totals: Counters,
}

impl Snapshot {
    pub fn count(&self, k: OutcomeKind) -> u64 {
        self.counts[k as usize]
    }
    /// Whether it covered every process it set out to read.
    pub fn is_complete(&self) -> bool {
        self.hidden.is_none()
            && OutcomeKind::ALL
                .iter()
                .all(|k| !k.is_partial() || self.count(*k) == 0)
    }
}

const SNAPSHOT_COLUMNS: &str = "id, time_ns, host, kernel, pmaps_version, proc_root, threads, \
     duration_ns, read, vanished, zombie, kernel_thread, denied, incomplete, error, mappings, \
     self_pid, hidden, shared_unknown";

fn snapshot_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<Snapshot> {
    let ns = |i: usize| r.get::<_, i64>(i).map(|n| n.max(0) as u64);
    let mut counts = [0u64; 7];
    for (i, c) in counts.iter_mut().enumerate() {
        *c = ns(8 + i)?;
    }
    Ok(Snapshot {
        id: r.get(0)?,
        time: UNIX_EPOCH + Duration::from_nanos(ns(1)?),
        host: r.get(2)?,
        kernel: r.get(3)?,
        pmaps_version: r.get(4)?,
        proc_root: r.get(5)?,
        threads: ns(6)? as usize,
        duration: Duration::from_nanos(ns(7)?),
        counts,
        mappings: ns(15)?,
        self_pid: r.get(16)?,
        hidden: r.get(17)?,
        shared_unknown: ns(18)?,
        totals: counters_at(r, 19)?,
    })
}

/// A process of a loaded snapshot.
#[derive(Debug, Clone)]
pub struct StoredProcess {
    pub desc: ProcDesc,
    pub state: i64,
    pub mappings: u64,
    pub counters: Counters,
}

impl StoredProcess {
    /// The facts a snapshot keeps of the process, as a scan has them (a command line that
    /// is `[comm]` was an empty one).
    pub fn info(&self) -> ProcInfo {
        let d = &self.desc;
        let command_is_comm = d.command == [b"[".as_slice(), &d.comm, b"]"].concat();
        ProcInfo {
            pid: d.pid,
            comm: d.comm.clone(),
            cmdline: if command_is_comm {
                Vec::new()
            } else {
                d.command.clone()
            },
            uid: d.uid,
            start_time: d.start_time,
            cgroup: d.cgroup.clone(),
            // Sharers of an address space were counted once when recorded: no fingerprint.
            ..ProcInfo::default()
        }
    }
}

/// One process's share of one file, as stored.
#[derive(Debug, Clone)]
pub struct StoredShare {
    pub path: Vec<u8>,
    pub object: Object,
    /// The kind of its mappings when they were read (which the path alone cannot tell of
    /// memory in huge pages).
    pub kind: MapKind,
    pub mappings: u64,
    pub counters: Counters,
}

/// A snapshot read whole: enough to rebuild the report of any question.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub snapshot: Snapshot,
    pub processes: Vec<StoredProcess>,
    /// Each state's shares of files (none with [`Store::load_processes`]).
    pub shares: HashMap<i64, Vec<StoredShare>>,
    pub problems: Vec<Problem>,
    /// Processes counted with another that shares their address space.
    pub shared: Vec<SharedSpace>,
    pub charges: HashMap<Cgroup, Charge>,
}

impl Loaded {
    /// The coverage the snapshot's scan had.
    pub fn coverage(&self) -> Coverage {
        Coverage {
            counts: self.snapshot.counts,
            mappings: self.snapshot.mappings,
            filtered: 0,
            self_pid: self.snapshot.self_pid,
            problems: self.problems.clone(),
            hidden: self.snapshot.hidden.clone(),
            shared: self.shared.clone(),
            shared_unknown: self.snapshot.shared_unknown,
            // Which PIDs a question names is the question's, not the snapshot's.
            missing: Vec::new(),
            // A record reads every smaps.
            ruled_out_by_maps: 0,
            mappings_from_maps: false,
        }
    }
}

pub fn hierarchy_of(s: &str) -> Hierarchy {
    if s == "v1" {
        Hierarchy::V1Memory
    } else {
        Hierarchy::V2
    }
}

impl Store {
    fn snapshot_query(
        &self,
        filter: &str,
        args: impl rusqlite::Params,
    ) -> anyhow::Result<Vec<Snapshot>> {
        let sql = format!(
            "SELECT {SNAPSHOT_COLUMNS}, {} FROM snapshot {filter}",
            counter_list("snapshot")
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(args, snapshot_of)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The snapshots taken from `since` to `until` (Unix nanoseconds, inclusive), oldest
    /// first.
    pub fn snapshots(
        &self,
        since: Option<i64>,
        until: Option<i64>,
    ) -> anyhow::Result<Vec<Snapshot>> {
        self.snapshot_query(
            "WHERE time_ns >= ? AND time_ns <= ? ORDER BY time_ns, id",
            params![since.unwrap_or(i64::MIN), until.unwrap_or(i64::MAX)],
        )
        .with_context(|| format!("cannot read {}", self.path.display()))
    }

    /// The snapshot a reference names.
    pub fn resolve(&self, r: &Reference) -> anyhow::Result<Snapshot> {
        let found = match *r {
            Reference::Latest(n) => self.snapshot_query(
                "ORDER BY time_ns DESC, id DESC LIMIT 1 OFFSET ?",
                [i64::try_from(n).unwrap_or(i64::MAX)],
            ),
            Reference::Id(id) => self.snapshot_query("WHERE id = ?", [id]),
            Reference::At(t) => self.snapshot_query(
                "WHERE time_ns <= ? ORDER BY time_ns DESC, id DESC LIMIT 1",
                [t],
            ),
        }
        .with_context(|| format!("cannot read {}", self.path.display()))?;
        match found.into_iter().next() {
            Some(s) => Ok(s),
            None => bail!(
                "{}: no such snapshot ({}; `pmaps history` lists them)",
                self.path.display(),
                match r {
                    Reference::Latest(0) => "the history is empty".to_string(),
                    Reference::Latest(n) => format!("fewer than {} snapshots", n + 1),
                    Reference::Id(id) => format!("no snapshot {id}"),
                    Reference::At(t) => format!(
                        "none at or before {}",
                        crate::text::utc_timestamp(UNIX_EPOCH + Duration::from_nanos(*t as u64))
                    ),
                }
            ),
        }
    }

    /// Reads a snapshot whole.
    pub fn load(&self, s: &Snapshot) -> anyhow::Result<Loaded> {
        self.load_inner(s, true)
            .with_context(|| format!("cannot read {}", self.path.display()))
    }

    /// Reads a snapshot but its processes' shares of files (`Loaded::shares` is empty):
    /// what `show` needs to find its processes.
    pub fn load_processes(&self, s: &Snapshot) -> anyhow::Result<Loaded> {
        self.load_inner(s, false)
            .with_context(|| format!("cannot read {}", self.path.display()))
    }

    fn load_inner(&self, s: &Snapshot, with_shares: bool) -> rusqlite::Result<Loaded> {
        // One read transaction: a record committing meanwhile is not half seen.
        self.conn.execute_batch("BEGIN")?;
        let result = self.load_rows(s, with_shares);
        let _ = self.conn.execute_batch("COMMIT");
        result
    }

    /// Each state's shares of files, for the states of snapshot `s`.
    fn shares_of(&self, s: &Snapshot) -> rusqlite::Result<HashMap<i64, Vec<StoredShare>>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT s.id, f.dev_major, f.dev_minor, f.inode, f.path, f.kind, u.mappings, {} \
             FROM state s JOIN json_each(s.usages) j JOIN usage u ON u.id = j.value \
             JOIN file f ON f.id = u.file_id WHERE s.id IN \
             (SELECT state_id FROM snapshot_process WHERE snapshot_id = ?)",
            counter_list("u")
        ))?;
        let mut shares: HashMap<i64, Vec<StoredShare>> = HashMap::new();
        let mut rows = stmt.query([s.id])?;
        while let Some(r) = rows.next()? {
            shares.entry(r.get(0)?).or_default().push(StoredShare {
                object: Object {
                    dev_major: r.get(1)?,
                    dev_minor: r.get(2)?,
                    inode: r.get::<_, i64>(3)? as u64,
                },
                path: r.get(4)?,
                kind: MapKind::parse(&r.get::<_, String>(5)?).unwrap_or(MapKind::Other),
                mappings: r.get::<_, i64>(6)? as u64,
                counters: counters_at(r, 7)?,
            });
        }
        Ok(shares)
    }

    fn load_rows(&self, s: &Snapshot, with_shares: bool) -> rusqlite::Result<Loaded> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT p.pid, p.start_time, p.uid, p.user, p.comm, p.command, p.cgroup, \
             p.hierarchy, sp.state_id, st.mappings, {} FROM snapshot_process sp \
             JOIN process p ON p.id = sp.process_id JOIN state st ON st.id = sp.state_id \
             WHERE sp.snapshot_id = ? ORDER BY p.pid, p.start_time",
            counter_list("st")
        ))?;
        let processes = stmt
            .query_map([s.id], |r| {
                let cgroup: Option<Vec<u8>> = r.get(6)?;
                let hierarchy: Option<String> = r.get(7)?;
                Ok(StoredProcess {
                    desc: ProcDesc {
                        pid: r.get(0)?,
                        start_time: r.get::<_, i64>(1)? as u64,
                        uid: r.get(2)?,
                        user: String::from_utf8_lossy(&r.get::<_, Vec<u8>>(3)?).into_owned(),
                        comm: r.get(4)?,
                        command: r.get(5)?,
                        cgroup: cgroup.map(|path| Cgroup {
                            path,
                            hierarchy: hierarchy_of(hierarchy.as_deref().unwrap_or("v2")),
                        }),
                    },
                    state: r.get(8)?,
                    mappings: r.get::<_, i64>(9)? as u64,
                    counters: counters_at(r, 10)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let shares = if with_shares {
            self.shares_of(s)?
        } else {
            HashMap::new()
        };
        let mut stmt = self.conn.prepare(
            "SELECT pid, comm, outcome, path, errno, message FROM problem \
             WHERE snapshot_id = ? ORDER BY pid",
        )?;
        let problems = stmt
            .query_map([s.id], |r| {
                let path: Option<String> = r.get(3)?;
                let outcome = match r.get::<_, String>(2)?.as_str() {
                    "denied" => Outcome::Denied {
                        path: path.unwrap_or_default(),
                        errno: r.get::<_, Option<i32>>(4)?.unwrap_or(0),
                    },
                    "incomplete" => Outcome::Incomplete,
                    _ => Outcome::Error {
                        path: path.unwrap_or_default(),
                        message: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                    },
                };
                Ok(Problem {
                    pid: r.get(0)?,
                    comm: r.get(1)?,
                    outcome,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut stmt = self.conn.prepare(
            "SELECT pid, counted_with FROM shared_space WHERE snapshot_id = ? ORDER BY pid",
        )?;
        let shared = stmt
            .query_map([s.id], |r| {
                Ok(SharedSpace {
                    pid: r.get(0)?,
                    with: r.get(1)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut stmt = self.conn.prepare(
            "SELECT hierarchy, path, current, anon, file, shmem, kernel FROM charge \
             WHERE snapshot_id = ?",
        )?;
        let charges = stmt
            .query_map([s.id], |r| {
                let v = |i: usize| r.get::<_, Option<i64>>(i).map(|x| x.map(|x| x as u64));
                Ok((
                    Cgroup {
                        hierarchy: hierarchy_of(&r.get::<_, String>(0)?),
                        path: r.get(1)?,
                    },
                    Charge {
                        current: v(2)?,
                        anon: v(3)?,
                        file: v(4)?,
                        shmem: v(5)?,
                        kernel: v(6)?,
                    },
                ))
            })?
            .collect::<rusqlite::Result<HashMap<_, _>>>()?;
        Ok(Loaded {
            snapshot: s.clone(),
            processes,
            shares,
            problems,
            shared,
            charges,
        })
    }

    /// The id of the newest snapshot, if any (a cheap check for tests and messages).
    pub fn latest_id(&self) -> anyhow::Result<Option<i64>> {
        Ok(self
            .conn
            .query_row("SELECT max(id) FROM snapshot", [], |r| r.get(0))
            .optional()?
            .flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        assert_eq!(Reference::parse("@latest").unwrap(), Reference::Latest(0));
        assert_eq!(Reference::parse("@-2").unwrap(), Reference::Latest(2));
        assert_eq!(Reference::parse("@17").unwrap(), Reference::Id(17));
        let t = 1_795_834_800 * 1_000_000_000; // 2026-11-28T03:00:00Z
        assert_eq!(
            Reference::parse("2026-11-28T03:00").unwrap(),
            Reference::At(t)
        );
        assert_eq!(
            Reference::parse("2026-11-28 03:00:00Z").unwrap(),
            Reference::At(t)
        );
        assert!(Reference::parse("@x").is_err());
        assert!(Reference::parse("2026-13-01").is_err());
        assert!(Reference::parse("yesterday").is_err());
        assert!(matches!(Reference::parse("2h").unwrap(), Reference::At(_)));
    }

    #[test]
    fn times_agree_with_the_timestamp_printer() {
        for secs in [0u64, 951_782_400, 1_795_834_800, 4_102_444_799] {
            let shown = crate::text::utc_timestamp(UNIX_EPOCH + Duration::from_secs(secs));
            assert_eq!(
                parse_time(&shown),
                Some(secs as i64 * 1_000_000_000),
                "{shown}"
            );
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("2w"), Some(Duration::from_secs(14 * 86_400)));
        assert_eq!(parse_duration("7"), None);
        assert_eq!(parse_duration("d"), None);
    }
}
