//! `pmaps watch`: memory sampled over time, one series per thing followed, and the trend
//! statistic ([`crate::analyze::trend`]) over each series to name what grows steadily.
//!
//! # What is followed
//! - With targets (PIDs and names, resolved once at the start like `pmaps show`): each
//!   target process's total and each of its mappings, matched sample to sample by
//!   [`mappings::Matcher`]. A target that exits, or whose PID now belongs to another process
//!   (another start time), ends its series; the watch ends when no target is left.
//! - Without targets: every process (by PID and start time, named by its command name: the
//!   command line is not read) and every mapped file (by device, inode and path), from one
//!   per-file `smaps` scan per sample, whose reads also give each process's total.
//!
//! The metric is USS for processes and mappings and PSS for files unless one is chosen.
//!
//! # Bounded memory
//! Each series keeps a [`Series`] (at most 65 points: about 1 KiB) and its label. Live
//! series are as many as the processes and mappings there are; of the series that ended,
//! only those that could still be suspects (enough samples, grown) are kept, at most
//! [`MAX_ENDED`] (those that grew most), so a machine that starts and ends processes all day
//! does not grow the watch.

pub mod mappings;
mod sample;

pub use sample::{Sampler, Start, TargetState};

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use crate::analyze::Metric;
use crate::analyze::trend::{Fit, Point, Series, Thresholds, Verdict};
use crate::model::Object;

/// The most ended series kept for the summary.
pub const MAX_ENDED: usize = 256;

/// What a series follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SeriesKind {
    /// A process's total.
    Process,
    /// One mapping (or the parts of one split mapping) of a target.
    Mapping,
    /// A mapped file, over every process.
    File,
}

impl SeriesKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SeriesKind::Process => "process",
            SeriesKind::Mapping => "mapping",
            SeriesKind::File => "file",
        }
    }
}

/// A series' identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SeriesId {
    Process { pid: u32, start_time: u64 },
    Mapping { pid: u32, start_time: u64, id: u64 },
    File { object: Object, path: Vec<u8> },
}

/// How a series is named (the latest sample's names and range).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Label {
    pub pid: Option<u32>,
    pub start_time: Option<u64>,
    /// The process's command name (process and mapping series).
    pub comm: Vec<u8>,
    /// The process's command line (process series).
    pub command: Vec<u8>,
    /// The mapping's or file's path, raw (empty: anonymous).
    pub path: Vec<u8>,
    pub object: Option<Object>,
    /// A mapping's address range: its lowest start and highest end.
    pub range: Option<(u64, u64)>,
}

/// One value of one series in a sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub id: SeriesId,
    pub label: Label,
    pub value: u64,
}

/// Why a series ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndReason {
    /// The process exited.
    Exited,
    /// The PID now belongs to another process (another start time).
    PidReused,
    /// The mapping or file is no longer mapped.
    Unmapped,
    /// The process can no longer be read (with the reason).
    Unreadable(String),
}

impl EndReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            EndReason::Exited => "exited",
            EndReason::PidReused => "pid_reused",
            EndReason::Unmapped => "unmapped",
            EndReason::Unreadable(_) => "unreadable",
        }
    }
}

/// One sample: every value read, and what ended.
#[derive(Debug, Clone)]
pub struct Sample {
    /// 1 for the first.
    pub number: u64,
    pub time: SystemTime,
    /// Seconds since the watch began, at the middle of the sample's reading.
    pub elapsed: f64,
    pub observations: Vec<Observation>,
    /// Processes (PID, start time) whose series all end, with why. Other series not
    /// observed end as [`EndReason::Exited`] (processes) or [`EndReason::Unmapped`].
    pub ended: Vec<(u32, u64, EndReason)>,
    /// Processes that could not be read this time but may be next time (a read cut short
    /// by an exec): their series get no point and do not end.
    pub skipped: Vec<u32>,
}

/// One series followed.
#[derive(Debug, Clone)]
pub struct Tracked {
    pub id: SeriesId,
    pub label: Label,
    pub metric: Metric,
    pub series: Series,
    pub ended: Option<EndReason>,
}

impl Tracked {
    pub fn kind(&self) -> SeriesKind {
        match self.id {
            SeriesId::Process { .. } => SeriesKind::Process,
            SeriesId::Mapping { .. } => SeriesKind::Mapping,
            SeriesId::File { .. } => SeriesKind::File,
        }
    }

    /// Latest minus first value.
    pub fn growth(&self) -> i128 {
        match (self.series.first(), self.series.latest()) {
            (Some(a), Some(b)) => i128::from(b.v) - i128::from(a.v),
            _ => 0,
        }
    }

    fn pid(&self) -> Option<(u32, u64)> {
        match self.id {
            SeriesId::Process { pid, start_time }
            | SeriesId::Mapping {
                pid, start_time, ..
            } => Some((pid, start_time)),
            SeriesId::File { .. } => None,
        }
    }
}

/// A series ended in this sample.
#[derive(Debug, Clone)]
pub struct Ended {
    pub id: SeriesId,
    pub label: Label,
    pub metric: Metric,
    pub reason: EndReason,
    pub samples: u64,
}

/// The metrics followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metrics {
    /// Processes and mappings.
    pub process: Metric,
    pub file: Metric,
}

impl Metrics {
    /// `chosen` for everything, or USS for processes and mappings and PSS for files.
    pub fn of(chosen: Option<Metric>) -> Metrics {
        Metrics {
            process: chosen.unwrap_or(Metric::Uss),
            file: chosen.unwrap_or(Metric::Pss),
        }
    }

    pub fn for_id(&self, id: &SeriesId) -> Metric {
        match id {
            SeriesId::File { .. } => self.file,
            _ => self.process,
        }
    }
}

/// Every series followed, live and ended.
#[derive(Debug, Clone)]
pub struct Tracker {
    pub metrics: Metrics,
    pub thresholds: Thresholds,
    live: HashMap<SeriesId, Tracked>,
    ended: Vec<Tracked>,
    pub samples: u64,
}

/// A series and its verdict.
#[derive(Debug, Clone)]
pub struct Judged<'a> {
    pub tracked: &'a Tracked,
    pub fit: Fit,
    pub verdict: Verdict,
}

impl Tracker {
    pub fn new(metrics: Metrics, thresholds: Thresholds) -> Tracker {
        Tracker {
            metrics,
            thresholds,
            live: HashMap::new(),
            ended: Vec::new(),
            samples: 0,
        }
    }

    /// Takes one sample; returns the series that ended with it.
    pub fn record(&mut self, sample: &Sample) -> Vec<Ended> {
        self.samples += 1;
        let mut seen: HashSet<&SeriesId> = HashSet::with_capacity(sample.observations.len());
        for o in &sample.observations {
            let point = Point {
                t: sample.elapsed,
                v: o.value,
            };
            seen.insert(&o.id);
            let metric = self.metrics.for_id(&o.id);
            let t = self.live.entry(o.id.clone()).or_insert_with(|| Tracked {
                id: o.id.clone(),
                label: Label::default(),
                metric,
                series: Series::new(),
                ended: None,
            });
            if t.label != o.label {
                t.label = o.label.clone();
            }
            t.series.push(point);
        }
        let reasons: HashMap<(u32, u64), &EndReason> = sample
            .ended
            .iter()
            .map(|(pid, start_time, r)| ((*pid, *start_time), r))
            .collect();
        let gone: Vec<SeriesId> = self
            .live
            .iter()
            .filter(|(id, t)| {
                !seen.contains(id)
                    && !t
                        .pid()
                        .is_some_and(|(pid, _)| sample.skipped.contains(&pid))
            })
            .map(|(id, _)| id.clone())
            .collect();
        let mut out = Vec::with_capacity(gone.len());
        for id in gone {
            let Some(mut t) = self.live.remove(&id) else {
                continue;
            };
            let reason = match (t.pid().and_then(|p| reasons.get(&p)), t.kind()) {
                (Some(r), _) => (*r).clone(),
                (None, SeriesKind::Process) => EndReason::Exited,
                (None, _) => EndReason::Unmapped,
            };
            out.push(Ended {
                id: id.clone(),
                label: t.label.clone(),
                metric: t.metric,
                reason: reason.clone(),
                samples: t.series.samples(),
            });
            t.ended = Some(reason);
            self.keep_ended(t);
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    /// Keeps an ended series for the summary when it could be a suspect, within
    /// [`MAX_ENDED`].
    fn keep_ended(&mut self, t: Tracked) {
        if t.series.samples() < self.thresholds.min_samples || t.growth() <= 0 {
            return;
        }
        self.ended.push(t);
        if self.ended.len() > MAX_ENDED
            && let Some((i, _)) = self
                .ended
                .iter()
                .enumerate()
                .min_by_key(|(_, t)| t.growth())
        {
            self.ended.swap_remove(i);
        }
    }

    /// Live series.
    pub fn live(&self) -> impl Iterator<Item = &Tracked> {
        self.live.values()
    }

    /// Series counted, live and kept after they ended.
    pub fn len(&self) -> usize {
        self.live.len() + self.ended.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The live series that grew most, at most `n`, largest growth first.
    pub fn growers(&self, n: usize) -> Vec<&Tracked> {
        let mut all: Vec<&Tracked> = self.live.values().filter(|t| t.growth() > 0).collect();
        all.sort_by(|a, b| b.growth().cmp(&a.growth()).then_with(|| a.id.cmp(&b.id)));
        all.truncate(n);
        all
    }

    /// Every series that moved, judged: suspects first (steepest first), then the others by
    /// growth. A series that never changed is no suspect and is left out.
    pub fn judge(&self) -> Vec<Judged<'_>> {
        let th = &self.thresholds;
        let mut out: Vec<Judged<'_>> = self
            .live
            .values()
            .chain(&self.ended)
            .filter(|t| !t.series.is_constant())
            .filter_map(|t| {
                let fit = t.series.fit(th.windows)?;
                let verdict = fit.verdict(th);
                Some(Judged {
                    tracked: t,
                    fit,
                    verdict,
                })
            })
            .collect();
        out.sort_by(|a, b| {
            let suspect = |j: &Judged<'_>| j.verdict != Verdict::Growing;
            suspect(a)
                .cmp(&suspect(b))
                .then_with(|| match a.verdict {
                    Verdict::Growing => b.fit.slope.total_cmp(&a.fit.slope),
                    _ => b.fit.growth().cmp(&a.fit.growth()),
                })
                .then_with(|| a.tracked.id.cmp(&b.tracked.id))
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: u64, obs: Vec<(u32, u64)>) -> Sample {
        Sample {
            number: n,
            time: SystemTime::UNIX_EPOCH,
            elapsed: n as f64,
            observations: obs
                .into_iter()
                .map(|(pid, value)| Observation {
                    id: SeriesId::Process { pid, start_time: 1 },
                    label: Label {
                        pid: Some(pid),
                        ..Label::default()
                    },
                    value,
                })
                .collect(),
            ended: Vec::new(),
            skipped: Vec::new(),
        }
    }

    #[test]
    fn the_leaker_alone_is_a_suspect_and_an_exit_ends_its_series() {
        let mut t = Tracker::new(Metrics::of(None), Thresholds::default());
        for n in 0..20u64 {
            let leak = (10 << 20) + n * (1 << 20);
            let saw = (10 << 20) + (n % 4) * (1 << 20);
            t.record(&sample(n, vec![(1, leak), (2, 5 << 20), (3, saw)]));
        }
        let judged = t.judge();
        let suspects: Vec<u32> = judged
            .iter()
            .filter(|j| j.verdict == Verdict::Growing)
            .filter_map(|j| j.tracked.label.pid)
            .collect();
        assert_eq!(suspects, [1]);
        // PID 2 never moved: not judged at all.
        assert_eq!(judged.len(), 2);
        // PID 1 exits: its series ends, and stays for the summary.
        let ended = t.record(&sample(20, vec![(2, 5 << 20), (3, 10 << 20)]));
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].reason, EndReason::Exited);
        assert_eq!(ended[0].samples, 20);
        assert!(t.judge().iter().any(|j| j.tracked.label.pid == Some(1)));
        // A skipped process keeps its series without a point.
        let mut s = sample(21, vec![(3, 10 << 20)]);
        s.skipped = vec![2];
        assert!(t.record(&s).is_empty());
        assert_eq!(t.live().count(), 2);
    }

    #[test]
    fn ended_series_are_bounded() {
        let mut t = Tracker::new(Metrics::of(None), Thresholds::default());
        // Ten thousand short-lived growing processes, each seen for 12 samples.
        for batch in 0..(10_000 / 100) {
            for n in 0..12u64 {
                let obs = (0..100).map(|i| (batch * 100 + i, n * 4096)).collect();
                t.record(&sample(n, obs));
            }
        }
        t.record(&sample(99, Vec::new()));
        assert!(t.len() <= MAX_ENDED, "{}", t.len());
    }
}
