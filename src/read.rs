//! Per-process I/O: the only stage that touches the proc root.
//!
//! A [`Reader`] belongs to one worker and reuses its buffers for every process it reads. For
//! each PID it takes a directory fd (so a PID reused meanwhile answers ESRCH instead of
//! another process's data), reads `stat`, `status` and `cmdline`, then streams the map file
//! through a bounded buffer into the parser, and closes everything before it returns: no fd
//! and no whole-file buffer outlives the process it belongs to.
//!
//! Every failure becomes an [`Outcome`] through [`classify`], the one place that maps errno
//! values to outcomes. A `smaps` or `maps` read that an exit or exec cut short looks like a
//! short, valid file with no error; it is found by reading `stat` again afterwards and
//! comparing the process's identity and address-space fields ([`Stat::mm_fingerprint`]).

use std::cell::Cell;
use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::model::{
    Counters, FieldKeys, FieldValue, MapHeader, Mapping, Outcome, ProcInfo, Source, field,
};
use crate::parse::{self, ParseError, SmapsParser, Stat};

/// Size of the streaming buffer for map files. A line longer than this (a 5,000-byte path)
/// grows it; a 47 MB smaps still passes through it 64 KiB at a time.
const CHUNK: usize = 64 * 1024;
/// `cmdline` is kept for display and matching only; longer ones are cut here.
const CMDLINE_CAP: usize = 64 * 1024;
/// `stat` and `status` are a few hundred bytes to a few KiB; anything larger is not procfs.
const SMALL_CAP: usize = 256 * 1024;

/// How one PID's read ended.
#[derive(Debug)]
pub enum ReadResult {
    /// The process did not pass the caller's filter; its maps were not read.
    Filtered(ProcInfo),
    /// The process was considered: its facts and its outcome.
    Done(ProcInfo, Outcome),
}

/// What the read needs from the first `stat`.
struct StatFacts {
    state: u8,
    vsize: u64,
    fingerprint: [u64; 10],
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
}

impl Needs {
    pub const ALL: Needs = Needs {
        uid: true,
        cmdline: true,
    };
}

/// Receives each raw `Key: value` line of an smaps record (see
/// [`Reader::read_process_with`]).
pub type OnField<'a> = Option<&'a mut dyn FnMut(&[u8])>;

/// A reader for one worker: buffers reused across processes.
pub struct Reader {
    root: PathBuf,
    source: Source,
    needs: Needs,
    buf: Vec<u8>,
    small: Vec<u8>,
    parser: SmapsParser,
}

/// The outcome for an I/O error on `path`. ENOENT and ESRCH mean the process is gone (the
/// caller checks first that it is not a zombie or kernel thread, which answer ESRCH while
/// still there); EACCES and EPERM mean permission; anything else is an error with its errno.
pub fn classify(err: &io::Error, path: &Path) -> Outcome {
    match err.raw_os_error() {
        Some(libc::ENOENT | libc::ESRCH) => Outcome::Vanished,
        Some(e @ (libc::EACCES | libc::EPERM)) => Outcome::Denied {
            path: path.display().to_string(),
            errno: e,
        },
        _ => Outcome::Error {
            path: path.display().to_string(),
            message: err.to_string(),
        },
    }
}

fn parse_error(e: ParseError, path: &Path) -> Outcome {
    Outcome::Error {
        path: path.display().to_string(),
        message: e.message,
    }
}

fn cstring(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// `open(2)` with `O_CLOEXEC`, as an owned fd.
fn open_raw(dir: Option<&OwnedFd>, path: &[u8], flags: libc::c_int) -> io::Result<OwnedFd> {
    let c = cstring(path)?;
    // SAFETY: `c` is a valid NUL-terminated string; the fd returned is owned by us alone.
    let fd = unsafe {
        match dir {
            Some(d) => libc::openat(d.as_raw_fd(), c.as_ptr(), flags | libc::O_CLOEXEC),
            None => libc::open(c.as_ptr(), flags | libc::O_CLOEXEC),
        }
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens a file of a PID directory for reading. `O_NONBLOCK` and the regular-file check make
/// a FIFO or device planted in a fake tree an error instead of a read that never ends.
fn open_in(dir: &OwnedFd, name: &str) -> io::Result<File> {
    let fd = open_raw(
        Some(dir),
        name.as_bytes(),
        libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY,
    )?;
    let file = File::from(fd);
    if !file.metadata()?.file_type().is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    Ok(file)
}

/// The owner of an open file (for a PID directory: the process's effective uid, or root when
/// it is not dumpable).
fn owner(fd: &OwnedFd) -> Option<u32> {
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is open and `st` is a valid stat buffer.
    let rc = unsafe { libc::fstat(fd.as_raw_fd(), &mut st) };
    (rc == 0).then_some(st.st_uid)
}

/// Reads a whole small file into `buf` (cleared first), up to `cap` bytes.
fn read_small(dir: &OwnedFd, name: &str, buf: &mut Vec<u8>, cap: usize) -> io::Result<()> {
    buf.clear();
    let file = open_in(dir, name)?;
    file.take(cap as u64).read_to_end(buf)?;
    Ok(())
}

/// Reads up to `cap` bytes of a file of the proc root that belongs to no PID
/// (`sys/kernel/hostname`, `self/mountinfo`), with the guard of [`open_in`]: a FIFO or
/// device planted in a fake tree is an error, not a read that never ends.
pub fn read_root_file(path: &Path, cap: usize) -> io::Result<Vec<u8>> {
    let fd = open_raw(
        None,
        path.as_os_str().as_bytes(),
        libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY,
    )?;
    let file = File::from(fd);
    if !file.metadata()?.file_type().is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    let mut buf = Vec::new();
    file.take(cap as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Descriptors one worker holds at once: the PID directory and one file in it (plus one
/// spare).
const FDS_PER_WORKER: u64 = 3;
/// Descriptors kept for everything else: stdio, the output file and its temporary, the
/// proc root's listing, the thread pool.
const FDS_RESERVED: u64 = 16;

/// How many workers the descriptor limit (`ulimit -n`) allows, so that a cron job with a
/// low limit still reads every process instead of failing some with EMFILE.
pub fn max_workers() -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return usize::MAX;
    }
    let budget = lim.rlim_cur.saturating_sub(FDS_RESERVED) / FDS_PER_WORKER;
    usize::try_from(budget.max(1)).unwrap_or(usize::MAX)
}

impl Reader {
    pub fn new(root: &Path, source: Source) -> Reader {
        Reader {
            root: root.to_path_buf(),
            source,
            needs: Needs::ALL,
            buf: Vec::new(),
            small: Vec::new(),
            parser: SmapsParser::new(),
        }
    }

    /// Reads only the facts `needs` asks for (all by default).
    pub fn with_needs(mut self, needs: Needs) -> Reader {
        self.needs = needs;
        self
    }

    fn pid_path(&self, pid: u32, file: &str) -> PathBuf {
        let mut p = self.root.join(pid.to_string());
        if !file.is_empty() {
            p.push(file);
        }
        p
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
        let dir_path = self.pid_path(pid, "");
        let dir = match open_raw(
            None,
            dir_path.as_os_str().as_bytes(),
            libc::O_RDONLY | libc::O_DIRECTORY,
        ) {
            Ok(d) => d,
            Err(e) => return ReadResult::Done(info, classify(&e, &dir_path)),
        };
        // The directory's owner is the fallback uid when `status` cannot be read.
        let dir_uid = owner(&dir);
        info.uid = dir_uid;

        let facts = match self.read_stat(&dir, pid, &mut info) {
            Ok(s) => s,
            Err(outcome) => return ReadResult::Done(info, outcome),
        };
        if !info.kernel_thread && self.needs.uid {
            match read_small(&dir, "status", &mut self.small, SMALL_CAP) {
                Ok(()) => {
                    let st = parse::parse_status(&self.small);
                    info.uid = st.euid.or(dir_uid);
                    if st.kthread == Some(true) {
                        info.kernel_thread = true;
                    }
                }
                Err(e) => {
                    let outcome = classify(&e, &self.pid_path(pid, "status"));
                    return ReadResult::Done(info, outcome);
                }
            }
        }
        if !info.kernel_thread && self.needs.cmdline {
            if let Err(e) = read_small(&dir, "cmdline", &mut self.small, CMDLINE_CAP) {
                let outcome = classify(&e, &self.pid_path(pid, "cmdline"));
                return ReadResult::Done(info, outcome);
            }
            info.cmdline = parse::cmdline_display(&self.small);
        }
        if !want(&info) {
            return ReadResult::Filtered(info);
        }
        if info.kernel_thread {
            return ReadResult::Done(info, Outcome::KernelThread);
        }
        if matches!(facts.state, b'Z' | b'X' | b'x') {
            return ReadResult::Done(info, Outcome::Zombie);
        }
        let outcome = self.read_maps(&dir, &info, &facts, on_map, on_field);
        ReadResult::Done(info, outcome)
    }

    /// Reads and parses `stat`, filling comm, start time and the kernel-thread flag.
    /// Returns what the rest of the read needs from it.
    fn read_stat(
        &mut self,
        dir: &OwnedFd,
        pid: u32,
        info: &mut ProcInfo,
    ) -> Result<StatFacts, Outcome> {
        if let Err(e) = read_small(dir, "stat", &mut self.small, SMALL_CAP) {
            return Err(classify(&e, &self.pid_path(pid, "stat")));
        }
        let stat = parse::parse_stat(&self.small)
            .map_err(|e| parse_error(e, &self.pid_path(pid, "stat")))?;
        info.comm = stat.comm.to_vec();
        info.start_time = stat.start_time;
        info.kernel_thread = stat.is_kernel_thread();
        info.state = stat.state;
        Ok(StatFacts {
            state: stat.state,
            vsize: stat.vsize,
            fingerprint: stat.mm_fingerprint,
        })
    }

    fn read_maps(
        &mut self,
        dir: &OwnedFd,
        info: &ProcInfo,
        facts: &StatFacts,
        on_map: &mut dyn FnMut(&MapHeader<'_>, &Counters),
        mut on_field: OnField<'_>,
    ) -> Outcome {
        let name = self.source.file_name();
        let path = self.pid_path(info.pid, name);
        let mut file = match open_in(dir, name) {
            Ok(f) => f,
            Err(e) => return classify(&e, &path),
        };
        self.parser.reset();
        let source = self.source;
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
            Err(StreamError::Io(e)) => return classify(&e, &path),
            Err(StreamError::Parse(e)) => return parse_error(e, &path),
        }
        self.parser.finish(&mut emit);
        let records = self.parser.records() + maps_lines;
        if source == Source::Rollup {
            // smaps_rollup is produced in one piece: never cut short. Empty, it means the
            // process lost its memory meanwhile, or the file is not a real rollup.
            if records > 0 {
                return Outcome::Read;
            }
            return match self.check_after(dir, info, facts.fingerprint, false) {
                Outcome::Read => Outcome::Error {
                    path: path.display().to_string(),
                    message: "empty smaps_rollup".into(),
                },
                other => other,
            };
        }
        self.check_after(dir, info, facts.fingerprint, records > 0)
    }

    /// After a short read with no error: is the process still the one we started reading,
    /// with the same address space?
    fn check_after(
        &mut self,
        dir: &OwnedFd,
        info: &ProcInfo,
        fingerprint: [u64; 10],
        got_some: bool,
    ) -> Outcome {
        let cut = if got_some {
            Outcome::Incomplete
        } else {
            Outcome::Vanished
        };
        if read_small(dir, "stat", &mut self.small, SMALL_CAP).is_err() {
            return cut;
        }
        match parse::parse_stat(&self.small) {
            Ok(s) if same_process(&s, info, fingerprint) => Outcome::Read,
            // Still alive with memory, but not the memory the read began on: an exec before
            // the first byte cut the read to nothing. Not gone: incomplete.
            Ok(s) if s.start_time == info.start_time && has_memory(&s) => Outcome::Incomplete,
            _ => cut,
        }
    }
}

/// One process read in full, for `pmaps show`.
#[derive(Debug)]
pub struct ProcessMaps {
    pub info: ProcInfo,
    pub outcome: Outcome,
    /// Every mapping, in the kernel's (address) order. Empty unless the outcome is `Read`:
    /// a read found incomplete afterwards is not shown in part.
    pub mappings: Vec<Mapping>,
}

impl Reader {
    /// Reads one process's map file in full (`pmaps show`), through the same open, stat,
    /// outcome and truncation checks as [`Reader::read_process`]. With `keys`, each mapping
    /// also keeps every `Key: value` line the kernel printed, in order, its key interned in
    /// `keys` (like `pmap -XX`).
    pub fn read_mappings(&mut self, pid: u32, keys: Option<&mut FieldKeys>) -> ProcessMaps {
        let mut mappings = Vec::new();
        let mut fields = Vec::new();
        // The parser completes a record when the next header (or the end) arrives, so the
        // fields of a mapping are those passed on since the previous mapping was.
        let seen = Cell::new(0usize);
        let record_start = Cell::new(0usize);
        let mut ends = Vec::new();
        let mut on_map = |h: &MapHeader<'_>, c: &Counters| {
            mappings.push(Mapping::new(h, c));
            ends.push(seen.get());
            record_start.set(seen.get());
        };
        let result = match keys {
            None => self.read_process(pid, &|_| true, &mut on_map),
            Some(keys) => {
                let mut on_field = |line: &[u8]| {
                    // The parser has already rejected a line without a colon.
                    if let Some((key, value)) = parse::parse_field(line) {
                        let hint = seen.get() - record_start.get();
                        let value = match value {
                            parse::FieldValue::Bytes(n) => FieldValue::Bytes(n),
                            parse::FieldValue::Number(n) => FieldValue::Number(n),
                            parse::FieldValue::Text(t) => FieldValue::Text(t.to_vec()),
                        };
                        fields.push((keys.intern(key, hint), value));
                        seen.set(seen.get() + 1);
                    }
                };
                self.read_process_with(pid, &|_| true, &mut on_map, Some(&mut on_field))
            }
        };
        let (info, outcome) = match result {
            ReadResult::Done(info, outcome) => (info, outcome),
            // The filter above takes every process.
            ReadResult::Filtered(info) => (info, Outcome::Read),
        };
        if outcome != Outcome::Read {
            mappings.clear();
        } else if !fields.is_empty() {
            let mut rest = fields.into_iter();
            let mut from = 0;
            for (m, end) in mappings.iter_mut().zip(ends) {
                m.fields = rest.by_ref().take(end - from).collect();
                from = end;
            }
        }
        ProcessMaps {
            info,
            outcome,
            mappings,
        }
    }
}

/// Whether the process after the read is the one before it, with its address space. A
/// process that is exiting has dropped its mm before it becomes a zombie: its fingerprint
/// reads all zero, and its smaps reads empty or short with no error. If that was already so
/// before the read, "unchanged" would wrongly accept the empty read as complete.
fn same_process(s: &Stat<'_>, info: &ProcInfo, fingerprint: [u64; 10]) -> bool {
    s.start_time == info.start_time && has_memory(s) && s.mm_fingerprint == fingerprint
}

/// Whether the process has a settled address space: not a zombie, not exiting, and not in
/// the middle of `execve`. Exec installs the new mm first and sets `env_end` (stat field 51,
/// the last of the fingerprint) last, once the arguments are in place; until then the maps
/// are an image still being built and the command line reads empty. (Field 51 exists since
/// Linux 3.5.)
fn has_memory(s: &Stat<'_>) -> bool {
    !matches!(s.state, b'Z' | b'X' | b'x') && s.mm_fingerprint[9] != 0
}

enum StreamError {
    Io(io::Error),
    Parse(ParseError),
}

impl From<ParseError> for StreamError {
    fn from(e: ParseError) -> Self {
        StreamError::Parse(e)
    }
}

/// Streams `file` line by line (without the `\n`) through `buf`, which keeps its capacity
/// between calls. Only a line longer than the buffer makes it grow.
fn stream_lines(
    file: &mut File,
    buf: &mut Vec<u8>,
    mut on_line: impl FnMut(&[u8]) -> Result<(), ParseError>,
) -> Result<(), StreamError> {
    if buf.len() < CHUNK {
        buf.resize(CHUNK, 0);
    }
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            // One line fills the whole buffer: make room for the rest of it.
            let len = buf.len();
            buf.resize(len * 2, 0);
        }
        let n = match file.read(&mut buf[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(StreamError::Io(e)),
        };
        if n == 0 {
            if filled > 0 {
                on_line(&buf[..filled])?;
            }
            return Ok(());
        }
        let end = filled + n;
        let mut start = 0;
        // Search only the new bytes: the carried-over part has no newline.
        let mut from = filled;
        while let Some(i) = memchr::memchr(b'\n', &buf[from..end]) {
            let nl = from + i;
            on_line(&buf[start..nl])?;
            start = nl + 1;
            from = start;
        }
        buf.copy_within(start..end, 0);
        filled = end - start;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn lines_of(content: &[u8]) -> Vec<Vec<u8>> {
        let mut tmp = tempfile::tempfile().expect("tempfile");
        tmp.write_all(content).expect("write");
        let mut f = tmp;
        std::io::Seek::rewind(&mut f).expect("rewind");
        let mut buf = Vec::new();
        let mut out = Vec::new();
        let r = stream_lines(&mut f, &mut buf, |l| {
            out.push(l.to_vec());
            Ok(())
        });
        assert!(r.is_ok());
        out
    }

    #[test]
    fn lines_across_chunk_boundaries_and_longer_than_the_buffer() {
        let long = vec![b'x'; CHUNK * 3 + 17];
        let mut content = Vec::new();
        for i in 0..20_000 {
            content.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        content.extend_from_slice(&long);
        content.push(b'\n');
        content.extend_from_slice(b"no newline at end");
        let lines = lines_of(&content);
        assert_eq!(lines.len(), 20_002);
        assert_eq!(lines[19_999], b"line 19999");
        assert_eq!(lines[20_000], long);
        assert_eq!(lines[20_001], b"no newline at end");
    }

    #[test]
    fn errno_classification() {
        let p = Path::new("/proc/7/smaps");
        let o = |e| classify(&io::Error::from_raw_os_error(e), p);
        assert_eq!(o(libc::ENOENT), Outcome::Vanished);
        assert_eq!(o(libc::ESRCH), Outcome::Vanished);
        assert!(matches!(o(libc::EACCES), Outcome::Denied { errno, .. } if errno == libc::EACCES));
        assert!(matches!(o(libc::EPERM), Outcome::Denied { .. }));
        assert!(matches!(o(libc::EIO), Outcome::Error { .. }));
    }

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
        let info = ProcInfo {
            pid: 7,
            start_time: 500,
            ..ProcInfo::default()
        };
        let alive = stat_line('S', 500, 0x5555_0000);
        let alive = parse::parse_stat(&alive).expect("stat");
        assert!(same_process(&alive, &info, alive.mm_fingerprint));
        // Exiting: the mm is gone before the task becomes a zombie. Its smaps reads empty,
        // and its fingerprint is zero before and after: unchanged, yet not read in full.
        let exiting = stat_line('R', 500, 0);
        let exiting = parse::parse_stat(&exiting).expect("stat");
        assert!(!same_process(&exiting, &info, exiting.mm_fingerprint));
        let zombie = stat_line('Z', 500, 0x5555_0000);
        let zombie = parse::parse_stat(&zombie).expect("stat");
        assert!(!same_process(&zombie, &info, zombie.mm_fingerprint));
        let other = stat_line('S', 501, 0x5555_0000);
        let other = parse::parse_stat(&other).expect("stat");
        assert!(!same_process(&other, &info, alive.mm_fingerprint));
        let execd = stat_line('S', 500, 0x6666_0000);
        let execd = parse::parse_stat(&execd).expect("stat");
        assert!(!same_process(&execd, &info, alive.mm_fingerprint));
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
        assert!(!same_process(&mid_exec, &info, mid_exec.mm_fingerprint));
    }
}
