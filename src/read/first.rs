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
//! malformed, absent from a fake tree or from a capture that kept no `smaps` for the process)
//! rules nothing out: the answering file is read and says what happened. A mapping created
//! between the two reads is missed exactly as one created after the scan would be. A process
//! read through a live thread (its main thread has exited) has that thread's `maps` read.

use super::stream::{StreamError, stream_lines_while};
use super::{OnField, Reader, StatFacts, parse_error};
use crate::model::{Counters, MapHeader, Outcome, ProcInfo};
use crate::parse;
use crate::source::{PidDir, outcome_of};

/// Whether a mapping, by the path `maps` shows for it, may pass the mapping filters once its
/// `smaps` record is read.
pub type MayMatch<'s> = &'s (dyn Fn(&[u8]) -> bool + Sync);

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
                match self.pass_maps(dir, info, facts, &mut |path| !may_match(path)) {
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

    /// Streams `maps` while `go_on` says so for each mapping's path. A pass read to the end
    /// is checked like any map file: cut short by an exit or exec, it is that outcome.
    fn pass_maps(
        &mut self,
        dir: &dyn PidDir,
        info: &ProcInfo,
        facts: &StatFacts,
        go_on: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<Pass, Outcome> {
        let (src, pid) = (self.src, info.pid);
        // `task/TID/maps` when the process is read through a live thread.
        let name = facts.file("maps");
        let path = || src.pid_path(pid, &name);
        let mut file = match dir.open(&name) {
            Ok(f) => f,
            Err(e) => return Err(self.missing_map_file(dir, facts, &e, path())),
        };
        let mut lines = 0u64;
        let streamed = stream_lines_while(&mut file, &mut self.buf, |line| {
            let path = parse::map_line_path(line)?;
            lines += 1;
            Ok(go_on(path))
        });
        drop(file);
        match streamed {
            Ok(true) => {}
            Ok(false) => return Ok(Pass::Stopped),
            Err(StreamError::Io(e)) => return Err(outcome_of(&e, path())),
            Err(StreamError::Parse(e)) => return Err(parse_error(e, path())),
        }
        match self.check_after(dir, facts, lines > 0) {
            Outcome::Read => Ok(Pass::Complete(lines)),
            other => Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::io::{self, Read};
    use std::sync::Mutex;

    use super::*;
    use crate::model::{Cgroup, Source};
    use crate::read::{Needs, ReadResult};
    use crate::source::ProcSource;

    /// One process (PID 7) whose files answer in turn: each open of a file gives its next
    /// version (the last one again when there is no next); every open is recorded.
    struct Scripted {
        files: Mutex<HashMap<&'static str, Vec<Vec<u8>>>>,
        opened: Mutex<Vec<&'static str>>,
    }

    impl Scripted {
        fn new(files: &[(&'static str, Vec<Vec<u8>>)]) -> Scripted {
            Scripted {
                files: Mutex::new(files.iter().cloned().collect()),
                opened: Mutex::new(Vec::new()),
            }
        }
        fn opened(&self, name: &str) -> usize {
            let opened = self.opened.lock().expect("lock");
            opened.iter().filter(|n| **n == name).count()
        }
    }

    impl ProcSource for Scripted {
        fn describe(&self) -> String {
            "scripted".into()
        }
        fn list_pids(&self) -> io::Result<(Vec<u32>, Option<u32>)> {
            Ok((vec![7], None))
        }
        fn open_pid(&self, _pid: u32) -> io::Result<Box<dyn PidDir + '_>> {
            Ok(Box::new(self))
        }
        fn read_file(&self, _rel: &str, _cap: usize) -> io::Result<Vec<u8>> {
            Err(io::ErrorKind::NotFound.into())
        }
        fn hidden_processes(&self) -> Option<String> {
            None
        }
        fn user_name(&self, _uid: u32) -> Option<String> {
            None
        }
        fn lookup_uid(&self, _name: &str) -> Option<u32> {
            None
        }
        fn pid_path(&self, pid: u32, file: &str) -> String {
            format!("/scripted/{pid}/{file}")
        }
        fn cgroup_file(&self, _: &Cgroup, _: &str, _: usize) -> io::Result<Vec<u8>> {
            Err(io::ErrorKind::NotFound.into())
        }
    }

    impl PidDir for &Scripted {
        fn owner(&self) -> Option<u32> {
            Some(0)
        }
        fn open(&self, name: &str) -> io::Result<Box<dyn Read + '_>> {
            let mut files = self.files.lock().expect("lock");
            let versions = files.get_mut(name).ok_or(io::ErrorKind::NotFound)?;
            let name = ["stat", "maps", "smaps", "smaps_rollup"]
                .into_iter()
                .find(|n| *n == name)
                .unwrap_or("other");
            self.opened.lock().expect("lock").push(name);
            let text = if versions.len() > 1 {
                versions.remove(0)
            } else {
                versions[0].clone()
            };
            Ok(Box::new(io::Cursor::new(text)))
        }
    }

    /// A `stat` line whose address-space fields all read `addr` (an exec changes them).
    fn stat(addr: u64) -> Vec<u8> {
        let mut fields = vec![0u64; 53];
        fields[22] = 500;
        for i in [26, 27, 28, 45, 46, 47, 48, 49, 50, 51] {
            fields[i] = addr;
        }
        let rest: Vec<String> = fields[4..].iter().map(u64::to_string).collect();
        format!("7 (x) S {}\n", rest.join(" ")).into_bytes()
    }

    const LIBC: &[u8] = b"7f0000000000-7f0000001000 r-xp 00000000 fe:01 20 /usr/lib/libc.so.6\n";
    const OLD: &[u8] =
        b"7f0000100000-7f0000101000 r-xp 00000000 fe:01 31 /usr/lib/libssl.so.3 (deleted)\n";

    fn smaps_of(headers: &[&[u8]]) -> Vec<u8> {
        headers
            .iter()
            .flat_map(|h| [*h, b"Size: 4 kB\nRss: 4 kB\nPss: 4 kB\n"].concat())
            .collect()
    }

    fn deleted(path: &[u8]) -> bool {
        parse::kind_of(path) == crate::model::MapKind::Deleted
    }

    /// Reads PID 7 of `src` with `first`; (outcome, mappings streamed, verdict).
    fn read(src: &Scripted, first: FirstPass<'_>) -> (Outcome, usize, MapsVerdict) {
        let needs = Needs {
            uid: false,
            cmdline: false,
            cgroup: false,
        };
        let mut reader = Reader::new(src, Source::Smaps)
            .with_needs(needs)
            .with_first_pass(first);
        let mut seen = 0;
        let outcome = match reader.read_process(7, &|_| true, &mut |_, _| seen += 1) {
            ReadResult::Done(_, o) => o,
            ReadResult::Filtered(_) => panic!("nothing is filtered"),
        };
        (outcome, seen, reader.take_verdict())
    }

    #[test]
    fn a_whole_maps_without_a_candidate_rules_the_process_out_unread() {
        let src = Scripted::new(&[
            ("stat", vec![stat(0x5555)]),
            ("maps", vec![LIBC.to_vec()]),
            ("smaps", vec![smaps_of(&[LIBC])]),
        ]);
        let (outcome, seen, verdict) = read(&src, FirstPass::Prefilter(&deleted));
        assert_eq!((outcome, seen), (Outcome::Read, 0));
        assert!(verdict.ruled_out);
        assert_eq!(src.opened("smaps"), 0);
    }

    #[test]
    fn a_candidate_stops_the_pass_and_smaps_decides() {
        // The line after the candidate is not even parsed.
        let maps = [OLD, b"not a maps line\n"].concat();
        let src = Scripted::new(&[
            ("stat", vec![stat(0x5555)]),
            ("maps", vec![maps]),
            ("smaps", vec![smaps_of(&[LIBC, OLD])]),
        ]);
        let (outcome, seen, verdict) = read(&src, FirstPass::Prefilter(&deleted));
        assert_eq!((outcome, seen), (Outcome::Read, 2));
        assert!(!verdict.ruled_out);
        assert_eq!(src.opened("smaps"), 1);
    }

    /// An exec during the `maps` read leaves a short, valid file with no candidate: it rules
    /// nothing out. `smaps` is read and the truncation check makes the process incomplete.
    #[test]
    fn a_maps_cut_short_by_an_exec_rules_nothing_out() {
        let src = Scripted::new(&[
            ("stat", vec![stat(0x5555), stat(0x6666)]),
            ("maps", vec![LIBC.to_vec()]),
            ("smaps", vec![smaps_of(&[LIBC, OLD])]),
        ]);
        let (outcome, _, verdict) = read(&src, FirstPass::Prefilter(&deleted));
        assert_eq!(outcome, Outcome::Incomplete);
        assert!(!verdict.ruled_out);
        assert_eq!(src.opened("smaps"), 1);
    }

    #[test]
    fn a_maps_that_cannot_be_read_leaves_the_decision_to_smaps() {
        for maps in [None, Some(b"garbage\n".to_vec())] {
            let mut files = vec![
                ("stat", vec![stat(0x5555)]),
                ("smaps", vec![smaps_of(&[LIBC, OLD])]),
            ];
            if let Some(m) = maps {
                files.push(("maps", vec![m]));
            }
            let src = Scripted::new(&files);
            let (outcome, seen, verdict) = read(&src, FirstPass::Prefilter(&deleted));
            assert_eq!((outcome, seen), (Outcome::Read, 2));
            assert!(!verdict.ruled_out);
        }
    }

    #[test]
    fn the_count_pass_counts_every_line_of_maps() {
        let src = Scripted::new(&[
            ("stat", vec![stat(0x5555)]),
            ("maps", vec![[LIBC, OLD, LIBC].concat()]),
            ("smaps", vec![smaps_of(&[LIBC])]),
        ]);
        let (outcome, _, verdict) = read(&src, FirstPass::Count);
        assert_eq!(outcome, Outcome::Read);
        assert_eq!(verdict.mappings, Some(3));
    }
}
