//! The first pass of a planned read: `maps` before the file that answers. The kernel walks
//! no page to print `maps` (about a fifth of the cost of `smaps`), and its lines are the very
//! header lines of the `smaps` records, so it tells which processes can match a mapping
//! filter at all, and how many mappings a process has when only its rollup is read. Which
//! pass a question gets is the read plan's choice (`crate::plan`); this file only does it.
//!
//! `smaps` stays the truth. The prefilter only decides what is read: a process whose `maps`
//! shows a candidate mapping is read exactly as without the pass (its outcome, its figures,
//! its truncation check all come from `smaps`), and a process is ruled out only by a `maps`
//! read that went through to the end and that the truncation check accepts (the process was
//! neither exiting nor exec'ing meanwhile). Any trouble with `maps` (denied, gone, cut short,
//! malformed, absent from a fake tree) rules nothing out: the answering file is read and says
//! what happened. A mapping created between the two reads is missed exactly as one created
//! after the scan would be.

use super::stream::{StreamError, stream_lines_while};
use super::{OnField, Reader, StatFacts, parse_error};
use crate::model::{Counters, MapHeader, Outcome, ProcInfo};
use crate::parse;
use crate::source::{PidDir, outcome_of};

/// Whether a mapping, as `maps` shows it, may pass the mapping filters once its `smaps`
/// record is read.
pub type MayMatch<'s> = &'s (dyn Fn(&MapHeader<'_>) -> bool + Sync);

/// What the reader reads before the file that answers (the read plan's choice).
#[derive(Clone, Copy, Default)]
pub enum FirstPass<'s> {
    /// Nothing: the answering file is read directly.
    #[default]
    None,
    /// `maps`, stopping at the first mapping that may match; a process with none is not read
    /// further.
    Prefilter(MayMatch<'s>),
    /// `maps` in full, for the mapping count (the rollup has one record per process).
    Count,
}

/// What the first pass found for the last process read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MapsVerdict {
    /// Its whole `maps` was read and no mapping could match: its answering file was not read.
    pub ruled_out: bool,
    /// Its mapping count, from `maps` (with [`FirstPass::Count`]).
    pub mappings: Option<u64>,
}

/// How a pass over `maps` ended.
enum Pass {
    /// Read to the end, and the process is the one the read began on: this many mappings.
    Complete(u64),
    /// Stopped at a mapping that may match.
    Stopped,
}

impl<'s> Reader<'s> {
    /// Reads `maps` first as `first` says (see the module documentation).
    pub fn with_first_pass(mut self, first: FirstPass<'s>) -> Reader<'s> {
        self.first = first;
        self
    }

    /// What the first pass found for the process read last; taking it resets it.
    pub fn take_verdict(&mut self) -> MapsVerdict {
        std::mem::take(&mut self.verdict)
    }

    /// The map-file stage of a read: the first pass when there is one, then the answering
    /// file (`read_maps`) unless the first pass ruled the process out.
    pub(super) fn read_planned(
        &mut self,
        dir: &dyn PidDir,
        info: &ProcInfo,
        facts: &StatFacts,
        on_map: &mut dyn FnMut(&MapHeader<'_>, &Counters),
        on_field: OnField<'_>,
    ) -> Outcome {
        self.verdict = MapsVerdict::default();
        match self.first {
            FirstPass::None => self.read_maps(dir, info, facts, on_map, on_field),
            FirstPass::Prefilter(may_match) => {
                match self.pass_maps(dir, info, facts, &mut |h| !may_match(h)) {
                    Ok(Pass::Complete(_)) => {
                        self.verdict.ruled_out = true;
                        Outcome::Read
                    }
                    // A candidate, or `maps` could not tell: the answering file decides.
                    Ok(Pass::Stopped) | Err(_) => {
                        self.read_maps(dir, info, facts, on_map, on_field)
                    }
                }
            }
            FirstPass::Count => match self.pass_maps(dir, info, facts, &mut |_| true) {
                Ok(Pass::Complete(n)) => {
                    self.verdict.mappings = Some(n);
                    self.read_maps(dir, info, facts, on_map, on_field)
                }
                // Counting never stops early.
                Ok(Pass::Stopped) => self.read_maps(dir, info, facts, on_map, on_field),
                Err(outcome) => outcome,
            },
        }
    }

    /// Streams `maps` while `go_on` says so for each mapping. A pass read to the end is
    /// checked like any map file: cut short by an exit or exec, it is that outcome.
    fn pass_maps(
        &mut self,
        dir: &dyn PidDir,
        info: &ProcInfo,
        facts: &StatFacts,
        go_on: &mut dyn FnMut(&MapHeader<'_>) -> bool,
    ) -> Result<Pass, Outcome> {
        let (src, pid) = (self.src, info.pid);
        let path = || src.pid_path(pid, "maps");
        let mut file = dir.open("maps").map_err(|e| outcome_of(&e, path()))?;
        let mut lines = 0u64;
        let streamed = stream_lines_while(&mut file, &mut self.buf, |line| {
            let header = parse::parse_map_header(line)?;
            lines += 1;
            Ok(go_on(&header))
        });
        drop(file);
        match streamed {
            Ok(true) => {}
            Ok(false) => return Ok(Pass::Stopped),
            Err(StreamError::Io(e)) => return Err(outcome_of(&e, path())),
            Err(StreamError::Parse(e)) => return Err(parse_error(e, path())),
        }
        match self.check_after(dir, info, facts.fingerprint, lines > 0) {
            Outcome::Read => Ok(Pass::Complete(lines)),
            other => Err(other),
        }
    }
}
