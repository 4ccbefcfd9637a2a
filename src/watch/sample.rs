//! Taking one sample: with targets, each target's mappings read through the same reader as
//! `pmaps show` (so the same outcomes and truncation check apply); without, one per-file
//! `smaps` scan of every process, which gives each process's total from the same reads.
//! Nothing else is read: a sample costs what one report costs.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use super::mappings::{MapRef, Matcher};
use super::{Label, Metrics, Observation, Sample, SeriesId};
use crate::analyze::Metric;
use crate::model::{
    Counters, Coverage, GroupBy, Mapping, Object, Outcome, OutcomeKind, Query, RowKey, Source,
    SourceChoice,
};
use crate::read::{ProcessMaps, Reader};
use crate::scan;
use crate::show::{Target, resolve};
use crate::source::ProcSource;
use crate::text::escape::display;

use super::EndReason;

/// A target process being watched.
#[derive(Debug, Clone)]
pub struct TargetState {
    pub pid: u32,
    pub start_time: u64,
    pub comm: Vec<u8>,
    pub command: Vec<u8>,
    /// Still watched (not exited, not reused, still readable).
    pub live: bool,
    matcher: Matcher,
}

/// What resolving the targets found.
#[derive(Debug, Clone, Default)]
pub struct Start {
    /// One line for each target that matched nothing.
    pub unmatched: Vec<String>,
    /// One line for each process matched but not watchable (denied, no memory map).
    pub failed: Vec<String>,
}

/// Takes the samples of one watch.
pub struct Sampler<'s> {
    src: &'s dyn ProcSource,
    metrics: Metrics,
    /// `None`: every process and every file.
    targets: Option<Vec<TargetState>>,
    reader: Reader<'s>,
    query: Query,
    taken: u64,
    /// The coverage of the last whole-machine scan.
    pub coverage: Option<Coverage>,
}

/// A process's command line for messages: `1234 (leaker)`.
fn who(pid: u32, comm: &[u8]) -> String {
    format!("PID {pid} ({})", display(comm))
}

/// Reads a process's mappings, once more when an exec or exit cut the read short.
fn read_twice(reader: &mut Reader<'_>, pid: u32) -> ProcessMaps {
    let read = reader.read_mappings(pid, None);
    if read.outcome == Outcome::Incomplete {
        return reader.read_mappings(pid, None);
    }
    read
}

impl<'s> Sampler<'s> {
    /// A sampler of every process and every file.
    pub fn everything(src: &'s dyn ProcSource, metrics: Metrics, proc_root: PathBuf) -> Self {
        Sampler {
            src,
            metrics,
            targets: None,
            reader: Reader::new(src, Source::Smaps),
            query: Query {
                proc_root,
                threads: None,
                source: SourceChoice::Fixed(Source::Smaps),
                group_by: GroupBy::File,
                filters: Default::default(),
                plan: Default::default(),
                cgroups: false,
            },
            taken: 0,
            coverage: None,
        }
    }

    /// A sampler of the processes `targets` name (resolved now, once), and what the
    /// resolution found. Fails only when the proc root cannot be listed.
    pub fn targets(
        src: &'s dyn ProcSource,
        metrics: Metrics,
        targets: &[Target],
    ) -> anyhow::Result<(Self, Start)> {
        let resolved = resolve(src, targets)?;
        let mut start = Start {
            unmatched: resolved.unmatched.iter().map(unmatched_line).collect(),
            failed: Vec::new(),
        };
        let mut sampler = Sampler::everything(src, metrics, PathBuf::from(src.describe()));
        let mut states = Vec::new();
        for &pid in &resolved.pids {
            let read = read_twice(&mut sampler.reader, pid);
            let name = who(pid, &read.info.comm);
            match &read.outcome {
                Outcome::Read => states.push(TargetState {
                    pid,
                    start_time: read.info.start_time,
                    comm: read.info.comm.clone(),
                    command: read.info.display_command().into_owned(),
                    live: true,
                    matcher: Matcher::new(),
                }),
                Outcome::Vanished if resolved.given_pids.contains(&pid) => {
                    start.unmatched.push(format!("no process {pid}"));
                }
                other => start.failed.push(format!("{name}: {}", not_watched(other))),
            }
        }
        sampler.targets = Some(states);
        Ok((sampler, start))
    }

    /// The targets (none when every process is watched).
    pub fn target_states(&self) -> &[TargetState] {
        self.targets.as_deref().unwrap_or_default()
    }

    /// Whether targets were given and none is left to watch.
    pub fn all_gone(&self) -> bool {
        self.targets
            .as_ref()
            .is_some_and(|t| t.iter().all(|t| !t.live))
    }

    /// Takes the next sample. `origin`: the start of the watch. Fails only when the proc
    /// root can no longer be listed.
    pub fn sample(&mut self, origin: Instant) -> anyhow::Result<Sample> {
        let time = SystemTime::now();
        let before = origin.elapsed();
        self.taken += 1;
        let mut sample = Sample {
            number: self.taken,
            time,
            elapsed: 0.0,
            observations: Vec::new(),
            ended: Vec::new(),
            skipped: Vec::new(),
        };
        match self.targets.take() {
            Some(mut targets) => {
                for t in targets.iter_mut().filter(|t| t.live) {
                    self.sample_target(t, &mut sample);
                }
                self.targets = Some(targets);
            }
            None => self.sample_everything(&mut sample)?,
        }
        let after = origin.elapsed();
        sample.elapsed = (before + after).as_secs_f64() / 2.0;
        Ok(sample)
    }

    fn sample_target(&mut self, t: &mut TargetState, sample: &mut Sample) {
        let read = read_twice(&mut self.reader, t.pid);
        let reason = match &read.outcome {
            Outcome::Read if read.info.start_time != t.start_time => Some(EndReason::PidReused),
            Outcome::Read => None,
            Outcome::Incomplete => {
                sample.skipped.push(t.pid);
                return;
            }
            Outcome::Vanished | Outcome::Zombie | Outcome::KernelThread => Some(EndReason::Exited),
            other => Some(EndReason::Unreadable(not_watched(other))),
        };
        if let Some(reason) = reason {
            t.live = false;
            sample.ended.push((t.pid, t.start_time, reason));
            return;
        }
        let metric = self.metrics.process;
        observe_mappings(t, &read.mappings, metric, sample);
    }

    fn sample_everything(&mut self, sample: &mut Sample) -> anyhow::Result<()> {
        let (report, processes) = scan::scan_with_processes(self.src, &self.query)?;
        for row in &report.rows {
            let RowKey::File { path, object, .. } = &row.key else {
                continue;
            };
            if let Some(v) = self.metrics.file.of(&row.counters) {
                sample.observations.push(Observation {
                    id: SeriesId::File {
                        object: *object,
                        path: path.clone(),
                    },
                    label: Label {
                        path: path.clone(),
                        object: Some(*object),
                        ..Label::default()
                    },
                    value: v,
                });
            }
        }
        for row in &processes {
            let RowKey::Process(p) = &row.key else {
                continue;
            };
            if let Some(v) = self.metrics.process.of(&row.counters) {
                sample.observations.push(Observation {
                    id: SeriesId::Process {
                        pid: p.pid,
                        start_time: p.start_time,
                    },
                    // The command line is not read (a per-file scan has no use for it).
                    label: Label {
                        pid: Some(p.pid),
                        start_time: Some(p.start_time),
                        comm: p.comm.clone(),
                        ..Label::default()
                    },
                    value: v,
                });
            }
        }
        // A process whose read an exec cut short is back next time.
        sample.skipped = report
            .coverage
            .problems
            .iter()
            .filter(|p| p.outcome.kind() == OutcomeKind::Incomplete)
            .map(|p| p.pid)
            .collect();
        self.coverage = Some(report.coverage);
        Ok(())
    }
}

/// The observations of one target: its total and each of its mapping series.
fn observe_mappings(t: &mut TargetState, maps: &[Mapping], metric: Metric, sample: &mut Sample) {
    let refs: Vec<MapRef<'_>> = maps
        .iter()
        .map(|m| MapRef {
            start: m.start,
            end: m.end,
            path: &m.path,
            object: Object {
                dev_major: m.dev_major,
                dev_minor: m.dev_minor,
                inode: m.inode,
            },
        })
        .collect();
    let assigned = t.matcher.assign(&refs);
    let mut total = Counters::default();
    // Per series, in the order first met: value (unknown when any part is), label.
    let mut series: Vec<(u64, Option<u64>, Label)> = Vec::new();
    let mut index: HashMap<u64, usize> = HashMap::new();
    for (m, id) in maps.iter().zip(assigned.ids) {
        total += &m.counters;
        let v = metric.of(&m.counters);
        match index.get(&id) {
            Some(&k) => {
                let s = &mut series[k];
                s.1 = s.1.zip(v).map(|(a, b)| a.saturating_add(b));
                if let Some(r) = &mut s.2.range {
                    r.0 = r.0.min(m.start);
                    r.1 = r.1.max(m.end);
                }
            }
            None => {
                index.insert(id, series.len());
                series.push((
                    id,
                    v,
                    Label {
                        pid: Some(t.pid),
                        start_time: Some(t.start_time),
                        comm: t.comm.clone(),
                        path: m.path.clone(),
                        object: Some(Object {
                            dev_major: m.dev_major,
                            dev_minor: m.dev_minor,
                            inode: m.inode,
                        }),
                        range: Some((m.start, m.end)),
                        ..Label::default()
                    },
                ));
            }
        }
    }
    if let Some(v) = metric.of(&total) {
        sample.observations.push(Observation {
            id: SeriesId::Process {
                pid: t.pid,
                start_time: t.start_time,
            },
            label: Label {
                pid: Some(t.pid),
                start_time: Some(t.start_time),
                comm: t.comm.clone(),
                command: t.command.clone(),
                ..Label::default()
            },
            value: v,
        });
    }
    for (id, v, label) in series {
        if let Some(v) = v {
            sample.observations.push(Observation {
                id: SeriesId::Mapping {
                    pid: t.pid,
                    start_time: t.start_time,
                    id,
                },
                label,
                value: v,
            });
        }
    }
}

/// Why a process matched cannot be watched.
fn not_watched(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Denied { path, .. } => format!("permission denied reading {path}"),
        Outcome::Error { path, message } => format!("cannot read {path}: {message}"),
        Outcome::KernelThread => "a kernel thread has no memory map to watch".into(),
        Outcome::Zombie => "a zombie has no memory left to watch".into(),
        Outcome::Vanished => "exited before it could be watched".into(),
        Outcome::Incomplete => "its map kept changing while it was read".into(),
        Outcome::Read => "read".into(),
    }
}

fn unmatched_line(t: &Target) -> String {
    match t {
        Target::Pid(p) => format!("no process {p}"),
        Target::Name(_) => format!(
            "no process matches {} (neither its command name nor its command line)",
            t.describe()
        ),
    }
}
