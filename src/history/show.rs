//! `pmaps --at SNAPSHOT show --merge PID|NAME…`: a process's map as a live `show --merge`
//! showed it when the snapshot was recorded, rebuilt from the snapshot's runs
//! ([`super::runs`]).
//!
//! Targets resolve against the snapshot's processes the way a live `show` resolves them
//! against /proc: a PID is the process the snapshot read under that PID (or the problem it
//! recorded for it), a NAME matches a substring of the command name or command line. A
//! process that shared another's address space was recorded with that process and is named
//! so. Processes are shown in the order of the targets, a name's matches by ascending PID,
//! each once.

use std::time::Instant;

use anyhow::Context;

use super::snapshots::{Loaded, StoredProcess};
use super::{Reference, Store, runs};
use crate::model::{FieldKeys, Outcome, ProcInfo};
use crate::show::{ShowConfig, ShowReport, ShownProcess, Target, name_matches, totals};
use crate::source;

/// The `show --merge` that `cfg` asks, from the snapshot `reference` names in the history
/// at `db` (read-only).
pub fn show_at(
    db: &std::path::Path,
    reference: &str,
    cfg: &ShowConfig,
) -> anyhow::Result<ShowReport> {
    let started = Instant::now();
    let reference = Reference::parse(reference)?;
    let store = Store::open_read(db)?;
    let snapshot = store.resolve(&reference)?;
    let loaded = store.load_processes(&snapshot)?;
    let picked = pick(&loaded, &cfg.targets);
    let states: Vec<i64> = picked
        .processes
        .iter()
        .filter_map(|p| match p {
            Picked::Stored(s) => Some(s.state),
            Picked::Problem(..) => None,
        })
        .collect();
    let runs = if states.is_empty() || store.schema_version()? < 2 {
        Default::default()
    } else {
        runs::load(&store.conn, &states).with_context(|| format!("cannot read {}", db.display()))?
    };
    let keys = FieldKeys::default();
    let where_ = format!("snapshot {}", snapshot.id);
    let processes = picked
        .processes
        .into_iter()
        .map(|p| match p {
            Picked::Stored(s) => {
                // Identical processes (a pool of forked workers) may share one state.
                let (outcome, rows) = match runs.get(&s.state).cloned().flatten() {
                    Some(rows) => (Outcome::Read, rows),
                    None => (
                        Outcome::Error {
                            path: where_.clone(),
                            message: format!(
                                "recorded by pmaps {}, which kept each process's memory per \
                                 file but not its mappings; `pmaps --at @{} -g process,file \
                                 -p {}` lists its files",
                                snapshot.pmaps_version, snapshot.id, s.desc.pid
                            ),
                        },
                        Vec::new(),
                    ),
                };
                let totals = totals(&rows, &keys);
                ShownProcess {
                    user: s.desc.user.clone(),
                    info: s.info(),
                    outcome,
                    rows,
                    totals,
                }
            }
            Picked::Problem(info, outcome) => ShownProcess {
                user: String::new(),
                info: *info,
                outcome,
                rows: Vec::new(),
                totals: totals(&[], &keys),
            },
        })
        .collect();
    Ok(ShowReport {
        keys,
        processes,
        unmatched: picked.unmatched,
        given_pids: picked.given_pids,
        merge: true,
        all_fields: false,
        proc_root: String::from_utf8_lossy(&snapshot.proc_root).into_owned(),
        time: snapshot.time,
        duration: started.elapsed(),
        host: snapshot.host.clone(),
        kernel: snapshot.kernel.clone(),
        privilege: source::privilege(),
        capture: None,
    })
}

/// A process a target picked: read by the snapshot, or a problem it recorded.
enum Picked<'l> {
    Stored(&'l StoredProcess),
    Problem(Box<ProcInfo>, Outcome),
}

/// What the targets picked, in their order, each process once.
struct Picks<'l> {
    processes: Vec<Picked<'l>>,
    given_pids: Vec<u32>,
    unmatched: Vec<Target>,
}

/// Resolves the targets against the snapshot's processes and problems.
fn pick<'l>(loaded: &'l Loaded, targets: &[Target]) -> Picks<'l> {
    let mut out = Picks {
        processes: Vec::new(),
        given_pids: Vec::new(),
        unmatched: Vec::new(),
    };
    let mut seen: Vec<u32> = Vec::new();
    let snapshot = loaded.snapshot.id;
    for t in targets {
        match t {
            Target::Pid(pid) => {
                out.given_pids.push(*pid);
                if seen.contains(pid) {
                    continue;
                }
                if let Some(s) = loaded.processes.iter().find(|p| p.desc.pid == *pid) {
                    out.processes.push(Picked::Stored(s));
                } else if let Some(p) = loaded.problems.iter().find(|p| p.pid == *pid) {
                    out.processes
                        .push(problem(p.pid, &p.comm, p.outcome.clone()));
                } else if let Some(s) = loaded.shared.iter().find(|s| s.pid == *pid) {
                    let outcome = Outcome::Error {
                        path: format!("snapshot {snapshot}"),
                        message: format!(
                            "it shared the address space of PID {} and was recorded with it: \
                             `pmaps --at @{snapshot} show --merge {}` shows that map",
                            s.with, s.with
                        ),
                    };
                    out.processes.push(problem(*pid, b"", outcome));
                } else {
                    out.unmatched.push(t.clone());
                    continue;
                }
                seen.push(*pid);
            }
            Target::Name(name) => {
                let mut found: Vec<(u32, Picked<'l>)> = Vec::new();
                for s in &loaded.processes {
                    if name_matches(name, &s.info()) {
                        found.push((s.desc.pid, Picked::Stored(s)));
                    }
                }
                // A process not read is known by its command name only.
                for p in &loaded.problems {
                    let info = ProcInfo {
                        comm: p.comm.clone(),
                        ..ProcInfo::default()
                    };
                    if name_matches(name, &info) {
                        found.push((p.pid, problem(p.pid, &p.comm, p.outcome.clone())));
                    }
                }
                found.sort_by_key(|(pid, _)| *pid);
                let any = !found.is_empty();
                for (pid, picked) in found {
                    if !seen.contains(&pid) {
                        seen.push(pid);
                        out.processes.push(picked);
                    }
                }
                if !any {
                    out.unmatched.push(t.clone());
                }
            }
        }
    }
    out
}

/// A process the snapshot did not read.
fn problem<'l>(pid: u32, comm: &[u8], outcome: Outcome) -> Picked<'l> {
    Picked::Problem(
        Box::new(ProcInfo {
            pid,
            comm: comm.to_vec(),
            ..ProcInfo::default()
        }),
        outcome,
    )
}
