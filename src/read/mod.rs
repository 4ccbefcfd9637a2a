//! Per-process reading: what one worker does for each PID, through the proc source.
//!
//! A [`Reader`] belongs to one worker and reuses its buffers for every process it reads. For
//! each PID it opens the PID's directory through the [`ProcSource`] (one handle, so a PID
//! reused meanwhile answers ESRCH instead of another process's data), reads `stat`, `status`
//! and `cmdline`, then streams the map file through a bounded buffer into the parser, and
//! drops everything before it returns: no fd and no whole-file buffer outlives the process
//! it belongs to.
//!
//! Every failure becomes an [`Outcome`] through [`outcome_of`]. A `smaps` or `maps` read that
//! an exit or exec cut short looks like a short, valid file with no error; it is found by
//! reading `stat` again afterwards and comparing the process's identity and address-space
//! fields ([`Stat::mm_fingerprint`]).

mod first;
mod full;
mod leader;
mod stream;

use std::borrow::Cow;

pub use first::{FirstPass, MapsVerdict};
pub use full::ProcessMaps;

use crate::model::{Counters, MapHeader, Outcome, ProcInfo, Source, field};
use crate::parse::{self, ParseError, SmapsParser, Stat};
use crate::source::{CMDLINE_CAP, PidDir, ProcSource, SMALL_CAP, outcome_of, read_small};
use stream::{StreamError, stream_lines};

/// How one PID's read ended.
#[derive(Debug)]
pub enum ReadResult {
    /// The process did not pass the caller's filter; its maps were not read.
    Filtered(ProcInfo),
    /// The process was considered: its facts and its outcome.
    Done(ProcInfo, Outcome),
}

/// What the read needs from the first `stat`: of the process, or of the live thread its
/// memory is read through when its main thread has exited (see [`leader`]).
struct StatFacts {
    state: u8,
    vsize: u64,
    fingerprint: [u64; 10],
    /// The start time in this `stat` (a thread's own when read through a thread).
    start_time: u64,
    /// The live thread read through, when the main thread has exited.
    thread: Option<u32>,
}

impl StatFacts {
    fn of(s: &Stat<'_>, thread: Option<u32>) -> StatFacts {
        StatFacts {
            state: s.state,
            vsize: s.vsize,
            fingerprint: s.mm_fingerprint,
            start_time: s.start_time,
            thread,
        }
    }

    /// The name of the process's file `name` in its directory: `task/TID/name` when read
    /// through a thread.
    fn file<'n>(&self, name: &'n str) -> Cow<'n, str> {
        match self.thread {
            None => Cow::Borrowed(name),
            Some(tid) => Cow::Owned(format!("task/{tid}/{name}")),
        }
    }
}

/// Which per-process facts a report needs beyond `stat`. Each is one more file to open per
/// process; a per-file report needs neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// The effective uid, from `status` (the directory's owner is only a fallback: it is
    /// root for a non-dumpable process).
    pub uid: bool,
    /// The command line, from `cmdline`.
    pub cmdline: bool,
    /// The cgroup, from `cgroup`.
    pub cgroup: bool,
}

impl Needs {
    pub const ALL: Needs = Needs {
        uid: true,
        cmdline: true,
        cgroup: true,
    };
}

/// Receives each raw `Key: value` line of an smaps record (see
/// [`Reader::read_process_with`]).
pub type OnField<'a> = Option<&'a mut dyn FnMut(&[u8])>;

/// A reader for one worker: buffers reused across processes.
pub struct Reader<'s> {
    src: &'s dyn ProcSource,
    file: Source,
    /// Read `smaps` where `smaps_rollup` does not exist (see [`Reader::with_rollup_fallback`]).
    rollup_fallback: bool,
    needs: Needs,
    buf: Vec<u8>,
    small: Vec<u8>,
    parser: SmapsParser,
    /// The read plan's first pass over `maps`, and what it found for the last process.
    first: FirstPass<'s>,
    verdict: MapsVerdict,
}

fn parse_error(e: ParseError, path: String) -> Outcome {
    Outcome::Error {
        path,
        message: e.message,
    }
}

impl<'s> Reader<'s> {
    /// A reader of `src` that reads the `file` of each process (`smaps`, `smaps_rollup` or
    /// `maps`).
    pub fn new(src: &'s dyn ProcSource, file: Source) -> Reader<'s> {
        Reader {
            src,
            file,
            rollup_fallback: false,
            needs: Needs::ALL,
            buf: Vec::new(),
            small: Vec::new(),
            parser: SmapsParser::new(),
            first: FirstPass::None,
            verdict: MapsVerdict::default(),
        }
    }

    /// Reads only the facts `needs` asks for (all by default).
    pub fn with_needs(mut self, needs: Needs) -> Reader<'s> {
        self.needs = needs;
        self
    }

    /// Reads `smaps` for a live process that has no `smaps_rollup` (a kernel before 4.14):
    /// the file that answers when the cheapest one does not exist (`--source auto`).
    pub fn with_rollup_fallback(mut self, fallback: bool) -> Reader<'s> {
        self.rollup_fallback = fallback;
        self
    }

    fn pid_path(&self, pid: u32, file: &str) -> String {
        self.src.pid_path(pid, file)
    }

    /// Reads one process. `want` sees the process's facts before its maps are read (a
    /// filter); `on_map` is called for each mapping as it is parsed. The caller must not
    /// trust what `on_map` received unless the result is `Done(_, Outcome::Read)`: a read
    /// found incomplete afterwards has already streamed its first mappings.
    pub fn read_process(
        &mut self,
        pid: u32,
        want: &dyn Fn(&ProcInfo) -> bool,
        on_map: &mut dyn FnMut(&MapHeader<'_>, &Counters),
    ) -> ReadResult {
        self.read_process_with(pid, want, on_map, None)
    }

    /// [`Reader::read_process`], and with `on_field`, every `Key: value` line of an smaps
    /// record is also passed on raw, before the record itself reaches `on_map`.
    pub fn read_process_with(
        &mut self,
        pid: u32,
        want: &dyn Fn(&ProcInfo) -> bool,
        on_map: &mut dyn FnMut(&MapHeader<'_>, &Counters),
        on_field: OnField<'_>,
    ) -> ReadResult {
        let mut info = ProcInfo {
            pid,
            ..ProcInfo::default()
        };
        let src = self.src;
        let dir = match src.open_pid(pid) {
            Ok(d) => d,
            Err(e) => return ReadResult::Done(info, outcome_of(&e, self.pid_path(pid, ""))),
        };
        let dir = dir.as_ref();
        // The directory's owner is the fallback uid when `status` cannot be read.
        let dir_uid = dir.owner();
        info.uid = dir_uid;

        let mut facts = match self.read_stat(dir, pid, &mut info) {
            Ok(s) => s,
            Err(outcome) => return ReadResult::Done(info, outcome),
        };
        if !info.kernel_thread
            && is_dead(facts.state)
            && let Some(thread) = self.live_thread(dir, pid)
        {
            // The main thread has exited, the process lives on in its other threads.
            info.state = thread.state;
            info.thread = thread.thread;
            info.mm_fingerprint = thread.fingerprint;
            facts = thread;
        }
        if !info.kernel_thread && self.needs.uid {
            match read_small(dir, "status", &mut self.small, SMALL_CAP) {
                Ok(()) => {
                    let st = parse::parse_status(&self.small);
                    info.uid = st.euid.or(dir_uid);
                    if st.kthread == Some(true) {
                        info.kernel_thread = true;
                    }
                }
                Err(e) => {
                    let outcome = outcome_of(&e, self.pid_path(pid, "status"));
                    return ReadResult::Done(info, outcome);
                }
            }
        }
        if !info.kernel_thread && self.needs.cmdline {
            let cmdline = facts.file("cmdline");
            if let Err(e) = read_small(dir, &cmdline, &mut self.small, CMDLINE_CAP) {
                let outcome = outcome_of(&e, self.pid_path(pid, &cmdline));
                return ReadResult::Done(info, outcome);
            }
            info.cmdline = parse::cmdline_display(&self.small);
        }
        if !info.kernel_thread && self.needs.cgroup {
            // A kernel without cgroups has no such file: the cgroup is then unknown. A
            // process that is gone is found by the map read that follows.
            info.cgroup = read_small(dir, "cgroup", &mut self.small, SMALL_CAP)
                .ok()
                .and_then(|()| parse::parse_cgroup(&self.small));
        }
        if !want(&info) {
            return ReadResult::Filtered(info);
        }
        if info.kernel_thread {
            return ReadResult::Done(info, Outcome::KernelThread);
        }
        if is_dead(facts.state) {
            return ReadResult::Done(info, Outcome::Zombie);
        }
        let outcome = self.read_planned(dir, &info, &facts, on_map, on_field);
        ReadResult::Done(info, outcome)
    }

    /// Reads and parses `stat`, filling comm, start time and the kernel-thread flag.
    /// Returns what the rest of the read needs from it.
    fn read_stat(
        &mut self,
        dir: &dyn PidDir,
        pid: u32,
        info: &mut ProcInfo,
    ) -> Result<StatFacts, Outcome> {
        if let Err(e) = read_small(dir, "stat", &mut self.small, SMALL_CAP) {
            return Err(outcome_of(&e, self.pid_path(pid, "stat")));
        }
        let stat = parse::parse_stat(&self.small)
            .map_err(|e| parse_error(e, self.pid_path(pid, "stat")))?;
        info.comm = stat.comm.to_vec();
        info.start_time = stat.start_time;
        info.kernel_thread = stat.is_kernel_thread();
        info.state = stat.state;
        info.ppid = stat.ppid;
        info.mm_fingerprint = stat.mm_fingerprint;
        Ok(StatFacts::of(&stat, None))
    }

    fn read_maps(
        &mut self,
        dir: &dyn PidDir,
        info: &ProcInfo,
        facts: &StatFacts,
        on_map: &mut dyn FnMut(&MapHeader<'_>, &Counters),
        mut on_field: OnField<'_>,
    ) -> Outcome {
        let mut source = self.file;
        let name = facts.file(source.file_name());
        let mut path = self.pid_path(info.pid, &name);
        let mut file = match dir.open(&name) {
            Ok(f) => f,
            Err(e) => {
                let outcome = self.missing_map_file(dir, facts, &e, path);
                let no_rollup = source == Source::Rollup
                    && e.raw_os_error() == Some(libc::ENOENT)
                    && matches!(outcome, Outcome::Error { .. });
                if !(no_rollup && self.rollup_fallback) {
                    return outcome;
                }
                source = Source::Smaps;
                let name = facts.file(source.file_name());
                path = self.pid_path(info.pid, &name);
                match dir.open(&name) {
                    Ok(f) => f,
                    Err(e) => return self.missing_map_file(dir, facts, &e, path),
                }
            }
        };
        self.parser.reset();
        let parser = &mut self.parser;
        let mut maps_lines = 0u64;
        let vsize = facts.vsize;
        let mut emit = |r: parse::Record<'_>| {
            if source == Source::Rollup && !r.counters.is_known(field::SIZE) {
                // The rollup has no `Size:`; the virtual size is stat's vsize.
                let with_size = Counters {
                    size: vsize,
                    known: r.counters.known | field::SIZE,
                    ..*r.counters
                };
                on_map(&r.header, &with_size);
            } else {
                on_map(&r.header, r.counters);
            }
        };
        let streamed = stream_lines(&mut file, &mut self.buf, |line| match source {
            Source::Maps => {
                let header = parse::parse_map_header(line)?;
                let counters = parse::maps_counters(&header);
                maps_lines += 1;
                emit(parse::Record {
                    header,
                    counters: &counters,
                });
                Ok(())
            }
            Source::Smaps | Source::Rollup => {
                parser.line(line, &mut emit)?;
                if let Some(f) = on_field.as_mut()
                    && !parse::is_header_line(line)
                {
                    f(line);
                }
                Ok(())
            }
        });
        drop(file);
        match streamed {
            Ok(()) => {}
            Err(StreamError::Io(e)) => return outcome_of(&e, path),
            Err(StreamError::Parse(e)) => return parse_error(e, path),
        }
        self.parser.finish(&mut emit);
        let records = self.parser.records() + maps_lines;
        if source == Source::Rollup {
            // smaps_rollup is produced in one piece: never cut short. Empty, it means the
            // process lost its memory meanwhile, or the file is not a real rollup.
            if records > 0 {
                return Outcome::Read;
            }
            return match self.check_after(dir, facts, false) {
                Outcome::Read => Outcome::Error {
                    path,
                    message: "empty smaps_rollup".into(),
                },
                other => other,
            };
        }
        self.check_after(dir, facts, records > 0)
    }

    /// The map file could not be opened. ENOENT or ESRCH usually mean the process is gone,
    /// but a kernel without `smaps_rollup` (before 4.14) or without page monitoring
    /// (`CONFIG_PROC_PAGE_MONITOR`, no `smaps` at all) answers ENOENT for a live process: if
    /// it is still there, that is an error, not a vanished process.
    fn missing_map_file(
        &mut self,
        dir: &dyn PidDir,
        facts: &StatFacts,
        err: &std::io::Error,
        path: String,
    ) -> Outcome {
        let outcome = outcome_of(err, path.clone());
        if outcome != Outcome::Vanished {
            return outcome;
        }
        let still_there = read_small(dir, &facts.file("stat"), &mut self.small, SMALL_CAP).is_ok()
            && parse::parse_stat(&self.small)
                .is_ok_and(|s| s.start_time == facts.start_time && has_memory(&s));
        if !still_there {
            return outcome;
        }
        Outcome::Error {
            path,
            message: format!("{err}, yet the process is still there (a kernel without this file?)"),
        }
    }

    /// After a short read with no error: is the process still the one we started reading,
    /// with the same address space?
    fn check_after(&mut self, dir: &dyn PidDir, facts: &StatFacts, got_some: bool) -> Outcome {
        let cut = if got_some {
            Outcome::Incomplete
        } else {
            Outcome::Vanished
        };
        if read_small(dir, &facts.file("stat"), &mut self.small, SMALL_CAP).is_err() {
            return cut;
        }
        match parse::parse_stat(&self.small) {
            Ok(s) if same_process(&s, facts.start_time, facts.fingerprint) => Outcome::Read,
            // Still alive with memory, but not the memory the read began on: an exec before
            // the first byte cut the read to nothing. Not gone: incomplete.
            Ok(s) if s.start_time == facts.start_time && has_memory(&s) => Outcome::Incomplete,
            _ => cut,
        }
    }
}

/// A zombie or dead task (`Z`, `X`, `x`): no memory of its own.
fn is_dead(state: u8) -> bool {
    matches!(state, b'Z' | b'X' | b'x')
}

/// Whether the process after the read is the one before it, with its address space. A
/// process that is exiting has dropped its mm before it becomes a zombie: its fingerprint
/// reads all zero, and its smaps reads empty or short with no error. If that was already so
/// before the read, "unchanged" would wrongly accept the empty read as complete.
fn same_process(s: &Stat<'_>, start_time: u64, fingerprint: [u64; 10]) -> bool {
    s.start_time == start_time && has_memory(s) && s.mm_fingerprint == fingerprint
}

/// Whether the process has a settled address space: not a zombie, not exiting, and not in
/// the middle of `execve`. Exec installs the new mm first and sets `env_end` (stat field 51,
/// the last of the fingerprint) last, once the arguments are in place; until then the maps
/// are an image still being built and the command line reads empty. (Field 51 exists since
/// Linux 3.5.)
fn has_memory(s: &Stat<'_>) -> bool {
    !is_dead(s.state) && s.mm_fingerprint[9] != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `stat` line whose address-space fields (26-28, 45-51) all read `addr`.
    fn stat_line(state: char, start_time: u64, addr: u64) -> Vec<u8> {
        let mut fields = vec![0u64; 53];
        fields[22] = start_time;
        for i in [26, 27, 28, 45, 46, 47, 48, 49, 50, 51] {
            fields[i] = addr;
        }
        let rest: Vec<String> = fields[4..].iter().map(u64::to_string).collect();
        format!("7 (x) {state} {}\n", rest.join(" ")).into_bytes()
    }

    #[test]
    fn an_exiting_process_without_an_address_space_is_never_read_in_full() {
        let start = 500;
        let alive = stat_line('S', 500, 0x5555_0000);
        let alive = parse::parse_stat(&alive).expect("stat");
        assert!(same_process(&alive, start, alive.mm_fingerprint));
        // Exiting: the mm is gone before the task becomes a zombie. Its smaps reads empty,
        // and its fingerprint is zero before and after: unchanged, yet not read in full.
        let exiting = stat_line('R', 500, 0);
        let exiting = parse::parse_stat(&exiting).expect("stat");
        assert!(!same_process(&exiting, start, exiting.mm_fingerprint));
        let zombie = stat_line('Z', 500, 0x5555_0000);
        let zombie = parse::parse_stat(&zombie).expect("stat");
        assert!(!same_process(&zombie, start, zombie.mm_fingerprint));
        let other = stat_line('S', 501, 0x5555_0000);
        let other = parse::parse_stat(&other).expect("stat");
        assert!(!same_process(&other, start, alive.mm_fingerprint));
        let execd = stat_line('S', 500, 0x6666_0000);
        let execd = parse::parse_stat(&execd).expect("stat");
        assert!(!same_process(&execd, start, alive.mm_fingerprint));
        // Mid-exec: the new mm is in place but its arguments are not (env_end still 0), and
        // stays so across a quick read: unchanged, yet not a settled image.
        let mut mid_exec = stat_line('R', 500, 0x7777_0000);
        let at = mid_exec.len() - 1;
        let line = String::from_utf8(mid_exec[..at].to_vec()).expect("ascii");
        let mut fields: Vec<&str> = line.split(' ').collect();
        let env_end = fields.len() - 2; // field 51 (the last is 52, exit_code)
        fields[env_end] = "0";
        mid_exec = format!("{}\n", fields.join(" ")).into_bytes();
        let mid_exec = parse::parse_stat(&mid_exec).expect("stat");
        assert_eq!(mid_exec.mm_fingerprint[9], 0);
        assert!(!same_process(&mid_exec, start, mid_exec.mm_fingerprint));
    }
}
