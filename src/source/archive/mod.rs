//! A capture archive as a proc source (`--from FILE`): every process read from it gets the
//! outcome its read got on the captured host, because each open of a process's file is
//! answered with what that open got then — the bytes the reader took, and the error that
//! ended it (a second read of `stat`, the reader's truncation check, gets the second `stat`
//! recorded, so a read that was cut short then is found incomplete again). User names are
//! the captured host's (its `passwd` entry), host and kernel are its own.
//!
//! The archive is read once, within the caps of [`index::Limits`], into an unlinked spool
//! file and an index ([`index`]); the manifest ([`manifest`]) says what each PID's reads got,
//! and what the reads of each cgroup's counter files got (served by
//! [`ProcSource::cgroup_file`]; a cgroup path is only ever a key, never a file name, and a
//! cgroup file past [`super::SMALL_CAP`] is refused). An archive without them (made before
//! captures kept cgroups, or by smemcap) has every cgroup counter unknown.
//! A capture of `smaps` also answers for `maps` (the headers of its records, which are the
//! `maps` lines); nothing else is made up.
//!
//! smem's `smemcap` archives (plain tar: `PID/smaps`, `PID/cmdline`, `PID/stat`, `meminfo`,
//! `version`) are read too. What they lack is unknown: no host, no capture time, no user
//! names (the uid is the one the tar header of `PID/stat` recorded, which is the process's
//! effective uid, or root for a process that is not dumpable), no `status` (read as empty).
//! smemcap stores an empty `smaps` for a process it could not read: such a process, when its
//! `stat` shows it had memory, is an error, not a process with no memory.

pub mod index;
pub mod manifest;

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};

use self::index::{Index, Limits, Span};
use self::manifest::{MANIFEST, Manifest, PASSWD, ProcessRecord, ReadRecord, Versioned};
use super::{IoFailure, PidDir, ProcSource, SMALL_CAP, Stage, parse_pid};
use crate::model::{CaptureFormat, CaptureInfo, Cgroup, Source};
use crate::parse;

/// The largest manifest read (a capture of 100,000 processes has ~30 MB).
const MANIFEST_CAP: u64 = 256 << 20;

/// A capture archive, read.
#[derive(Debug)]
pub struct ArchiveSource {
    name: String,
    index: Index,
    format: CaptureFormat,
    manifest: Manifest,
    by_pid: HashMap<u32, usize>,
    by_cgroup: HashMap<Cgroup, usize>,
    users: HashMap<u32, String>,
}

impl ArchiveSource {
    /// Opens the archive at `path` (`-`: standard input) with the default caps.
    pub fn open(path: &Path) -> anyhow::Result<ArchiveSource> {
        if path == Path::new("-") {
            return ArchiveSource::from_reader(io::stdin().lock(), "-", &Limits::DEFAULT);
        }
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let name = path.display().to_string();
        ArchiveSource::from_reader(file, &name, &Limits::DEFAULT)
            .with_context(|| format!("cannot read capture {name}"))
    }

    /// Reads an archive from `input`; `name` is how messages and the JSON meta name it.
    pub fn from_reader(
        input: impl Read,
        name: &str,
        limits: &Limits,
    ) -> anyhow::Result<ArchiveSource> {
        let index = index::read_archive(input, limits)?;
        let (format, manifest) = if index.entries.contains_key(MANIFEST) {
            (CaptureFormat::Pmaps, read_manifest(&index)?)
        } else {
            (CaptureFormat::Smemcap, smemcap_manifest(&index)?)
        };
        let mut by_pid = HashMap::new();
        for (i, p) in manifest.processes.iter().enumerate() {
            if by_pid.insert(p.pid, i).is_some() {
                bail!("refused: the manifest lists PID {} twice", p.pid);
            }
        }
        let mut by_cgroup = HashMap::new();
        for (i, c) in manifest.cgroups.iter().enumerate() {
            let cgroup = c.cgroup().ok_or_else(|| {
                anyhow::anyhow!("refused: the path_hex of cgroup {i} of the manifest is not hex")
            })?;
            if by_cgroup.insert(cgroup, i).is_some() {
                bail!("refused: the manifest lists cgroup {} twice", c.path);
            }
        }
        let mut src = ArchiveSource {
            name: name.to_string(),
            index,
            format,
            manifest,
            by_pid,
            by_cgroup,
            users: HashMap::new(),
        };
        if let Some(span) = src.index.entries.get(PASSWD).copied() {
            let passwd = src.span_bytes(span, usize::MAX)?;
            src.users = parse_passwd(&passwd);
        }
        Ok(src)
    }

    fn span_bytes(&self, span: Span, cap: usize) -> io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        SpanReader::new(&self.index.spool, span, None)
            .take(cap as u64)
            .read_to_end(&mut buf)?;
        Ok(buf)
    }

    fn pid_entry(&self, pid: u32, entry: &str) -> Option<Span> {
        self.index.entries.get(&format!("{pid}/{entry}")).copied()
    }
}

/// Reads and checks the manifest of a pmaps capture.
fn read_manifest(index: &Index) -> anyhow::Result<Manifest> {
    let span = index.entries[MANIFEST];
    if span.len > MANIFEST_CAP {
        bail!("refused: a manifest of {} bytes", span.len);
    }
    let mut bytes = Vec::new();
    SpanReader::new(&index.spool, span, None)
        .read_to_end(&mut bytes)
        .context("cannot read the manifest")?;
    let v: Versioned = serde_json::from_slice(&bytes)
        .map_err(|e| anyhow::anyhow!("refused: {MANIFEST} is not a pmaps capture manifest: {e}"))?;
    if v.format != manifest::FORMAT {
        bail!(
            "refused: {MANIFEST} is of format {:?}, not {}",
            v.format,
            manifest::FORMAT
        );
    }
    if v.version != manifest::VERSION {
        bail!(
            "refused: capture manifest version {} (this pmaps reads version {}; a newer pmaps \
             wrote it?)",
            v.version,
            manifest::VERSION
        );
    }
    let m: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| anyhow::anyhow!("refused: a malformed {MANIFEST}: {e}"))?;
    if !index.end_marker {
        bail!("truncated archive: it ends without tar's end-of-archive blocks");
    }
    for p in &m.processes {
        for r in &p.reads {
            let names = std::iter::once(&r.file).chain(r.entry.as_ref());
            if let Some(bad) = names.into_iter().find(|n| !manifest::is_entry_name(n)) {
                bail!(
                    "refused: the manifest names a file {bad:?} of PID {}",
                    p.pid
                );
            }
            if let Some(e) = &r.entry
                && !index.entries.contains_key(&format!("{}/{e}", p.pid))
            {
                bail!(
                    "refused: the manifest names {}/{e}, which the archive lacks",
                    p.pid
                );
            }
        }
    }
    for (i, c) in m.cgroups.iter().enumerate() {
        for r in &c.reads {
            let names = std::iter::once(&r.file).chain(r.entry.as_ref());
            if let Some(bad) = names.into_iter().find(|n| !manifest::is_plain_name(n)) {
                bail!(
                    "refused: the manifest names a file {bad:?} of cgroup {}",
                    c.path
                );
            }
            let Some(e) = &r.entry else { continue };
            let entry = manifest::cgroup_entry(i, e);
            match index.entries.get(&entry) {
                None => bail!("refused: the manifest names {entry}, which the archive lacks"),
                Some(span) if span.len > SMALL_CAP as u64 => bail!(
                    "refused entry {entry}: {} bytes, more than a cgroup file has",
                    span.len
                ),
                Some(_) => {}
            }
        }
    }
    Ok(m)
}

/// The files smemcap keeps per process.
const SMEMCAP_FILES: [&str; 3] = ["stat", "cmdline", "smaps"];

/// What a smemcap archive says, in the shape of a manifest: its PIDs, and for each the files
/// it holds. Host, times and outcomes are unknown.
fn smemcap_manifest(index: &Index) -> anyhow::Result<Manifest> {
    let mut pids: Vec<u32> = index
        .entries
        .keys()
        .chain(&index.dirs)
        .filter_map(|name| parse_pid(name.split('/').next().unwrap_or("").as_bytes()))
        .collect();
    pids.sort_unstable();
    pids.dedup();
    if pids.is_empty() && !index.entries.contains_key("meminfo") {
        bail!(
            "not a capture: no {MANIFEST} (pmaps capture) and neither PID directories nor \
             meminfo (smemcap)"
        );
    }
    let processes = pids
        .into_iter()
        .map(|pid| {
            let stat = format!("{pid}/stat");
            ProcessRecord {
                pid,
                // Not known, and not used: the read replays whatever the files say.
                outcome: crate::model::OutcomeKind::Read,
                path: None,
                detail: None,
                owner: index.uids.get(&stat).and_then(|&u| u32::try_from(u).ok()),
                dir_failure: None,
                reads: SMEMCAP_FILES
                    .iter()
                    .filter(|f| index.entries.contains_key(&format!("{pid}/{f}")))
                    .map(|f| ReadRecord {
                        file: f.to_string(),
                        entry: Some(f.to_string()),
                        failure: None,
                    })
                    .collect(),
                threads: Vec::new(),
            }
        })
        .collect();
    Ok(Manifest {
        format: "smemcap".into(),
        version: 0,
        pmaps_version: String::new(),
        host: None,
        kernel: None,
        page_size: None,
        boot_time: None,
        start_utc: String::new(),
        end_utc: String::new(),
        start_unix_ms: 0,
        end_unix_ms: 0,
        proc_root: "/proc".into(),
        map_file: Source::Smaps,
        self_pid: None,
        hidden: None,
        processes,
        cgroups: Vec::new(),
    })
}

/// `name:x:uid:…` lines: uid → name (the first name of a uid wins).
fn parse_passwd(bytes: &[u8]) -> HashMap<u32, String> {
    let mut users = HashMap::new();
    for line in bytes.split(|&b| b == b'\n') {
        let mut fields = line.split(|&b| b == b':');
        let (Some(name), Some(_), Some(uid)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        let Some(uid) = std::str::from_utf8(uid).ok().and_then(|u| u.parse().ok()) else {
            continue;
        };
        if !name.is_empty() {
            users
                .entry(uid)
                .or_insert_with(|| String::from_utf8_lossy(name).into_owned());
        }
    }
    users
}

/// The kernel release in `/proc/version` (`Linux version 6.1.0-18-amd64 (…`).
fn release_of_version(version: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(version);
    let mut words = text.split_whitespace();
    (words.next()? == "Linux" && words.next()? == "version").then_some(())?;
    words.next().map(str::to_string)
}

fn enoent() -> io::Error {
    io::Error::from_raw_os_error(libc::ENOENT)
}

fn time_of(ms: u64) -> Option<SystemTime> {
    (ms > 0).then(|| UNIX_EPOCH + Duration::from_millis(ms))
}

/// An entry's bytes, read from the spool, then the error the captured read ended with.
struct SpanReader<'f> {
    file: &'f File,
    pos: u64,
    end: u64,
    then: Option<io::Error>,
}

impl<'f> SpanReader<'f> {
    fn new(file: &'f File, span: Span, then: Option<io::Error>) -> SpanReader<'f> {
        SpanReader {
            file,
            pos: span.offset,
            end: span.offset + span.len,
            then,
        }
    }
}

impl Read for SpanReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end - self.pos;
        if left == 0 {
            return match self.then.take() {
                Some(e) => Err(e),
                None => Ok(0),
            };
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the capture's spool file ended early",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// The `maps` a capture of `smaps` implies: only the header line of each record.
struct HeaderLines<R> {
    inner: R,
    line: Vec<u8>,
    at: usize,
}

/// The longest line passed on whole; a longer one (not procfs) is passed on in pieces.
const MAX_LINE: u64 = 1 << 20;

impl<R: BufRead> Read for HeaderLines<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.line.len() {
            self.line.clear();
            self.at = 0;
            let n = (&mut self.inner)
                .take(MAX_LINE)
                .read_until(b'\n', &mut self.line)?;
            if n == 0 {
                return Ok(0);
            }
            if !parse::is_header_line(&self.line) {
                self.line.clear();
            }
        }
        let n = buf.len().min(self.line.len() - self.at);
        buf[..n].copy_from_slice(&self.line[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// One process of the archive, as its reads went.
struct ArchivePid<'a> {
    src: &'a ArchiveSource,
    rec: &'a ProcessRecord,
    /// How many times each file was opened so far (the n-th open gets the n-th read).
    opens: RefCell<HashMap<String, usize>>,
}

impl ArchivePid<'_> {
    /// The n-th recorded read of `name` (the last one again past it).
    fn nth_read(&self, name: &str) -> Option<&ReadRecord> {
        let mut opens = self.opens.borrow_mut();
        let n = opens.entry(name.to_string()).or_insert(0);
        let reads: Vec<&ReadRecord> = self.rec.reads.iter().filter(|r| r.file == name).collect();
        let r = reads.get(*n).or(reads.last()).copied();
        *n += 1;
        r
    }

    fn replay(&self, r: &ReadRecord) -> io::Result<Box<dyn Read + '_>> {
        let then = r.failure.as_ref().map(IoFailure::to_error);
        if r.failure.as_ref().is_some_and(|f| f.at == Stage::Open) {
            return Err(then.unwrap_or_else(enoent));
        }
        let entry = r.entry.as_deref().unwrap_or(&r.file);
        let span = self.src.pid_entry(self.rec.pid, entry).ok_or_else(enoent)?;
        if self.src.format == CaptureFormat::Smemcap && r.file == "smaps" && span.len == 0 {
            self.smemcap_unread_smaps()?;
        }
        Ok(Box::new(SpanReader::new(&self.src.index.spool, span, then)))
    }

    /// smemcap writes an empty smaps when it could not read one: an error when `stat` shows
    /// a process with memory.
    fn smemcap_unread_smaps(&self) -> io::Result<()> {
        let Some(span) = self.src.pid_entry(self.rec.pid, "stat") else {
            return Ok(());
        };
        let stat = self.src.span_bytes(span, super::SMALL_CAP)?;
        match parse::parse_stat(&stat) {
            Ok(s) if s.vsize > 0 && !s.is_kernel_thread() && !matches!(s.state, b'Z' | b'X') => {
                Err(io::Error::other(
                    "smemcap stored an empty smaps for a process with memory (it could not \
                     read it)",
                ))
            }
            _ => Ok(()),
        }
    }
}

impl PidDir for ArchivePid<'_> {
    fn owner(&self) -> Option<u32> {
        self.rec.owner
    }

    /// The threads the captured read listed (it lists them only when the main thread had
    /// exited): the read goes on through the same thread's recorded files.
    fn threads(&self, cap: usize) -> io::Result<Vec<u32>> {
        Ok(self.rec.threads.iter().copied().take(cap).collect())
    }

    fn open(&self, name: &str) -> io::Result<Box<dyn Read + '_>> {
        if let Some(r) = self.nth_read(name) {
            return self.replay(r);
        }
        // `maps`, or `task/TID/maps` of a process read through a thread.
        let maps_in = name
            .strip_suffix(Source::Maps.file_name())
            .filter(|dir| dir.is_empty() || dir.ends_with('/'));
        if let Some(dir) = maps_in
            && self.src.manifest.map_file == Source::Smaps
        {
            let smaps = format!("{dir}{}", Source::Smaps.file_name());
            let smaps = self.rec.reads.iter().find(|r| r.file == smaps);
            let inner = self.replay(smaps.ok_or_else(enoent)?)?;
            return Ok(Box::new(HeaderLines {
                inner: BufReader::with_capacity(64 * 1024, inner),
                line: Vec::new(),
                at: 0,
            }));
        }
        if name == "status" && self.src.format == CaptureFormat::Smemcap {
            return Ok(Box::new(io::empty()));
        }
        Err(enoent())
    }
}

impl ProcSource for ArchiveSource {
    fn describe(&self) -> String {
        self.name.clone()
    }

    fn list_pids(&self) -> io::Result<(Vec<u32>, Option<u32>)> {
        let mut pids: Vec<u32> = self.manifest.processes.iter().map(|p| p.pid).collect();
        pids.sort_unstable();
        Ok((pids, self.manifest.self_pid))
    }

    fn open_pid(&self, pid: u32) -> io::Result<Box<dyn PidDir + '_>> {
        let rec = &self.manifest.processes[*self.by_pid.get(&pid).ok_or_else(enoent)?];
        if let Some(f) = &rec.dir_failure {
            return Err(f.to_error());
        }
        Ok(Box::new(ArchivePid {
            src: self,
            rec,
            opens: RefCell::new(HashMap::new()),
        }))
    }

    fn read_file(&self, rel: &str, cap: usize) -> io::Result<Vec<u8>> {
        if let Some(span) = self.index.entries.get(rel) {
            return self.span_bytes(*span, cap);
        }
        if rel == "sys/kernel/osrelease"
            && self.format == CaptureFormat::Smemcap
            && let Some(span) = self.index.entries.get("version")
        {
            let version = self.span_bytes(*span, cap)?;
            return release_of_version(&version)
                .map(String::into_bytes)
                .ok_or_else(enoent);
        }
        Err(enoent())
    }

    fn hidden_processes(&self) -> Option<String> {
        self.manifest.hidden.clone()
    }

    fn user_name(&self, uid: u32) -> Option<String> {
        self.users.get(&uid).cloned()
    }

    fn lookup_uid(&self, name: &str) -> Option<u32> {
        if let Ok(n) = name.parse::<u32>() {
            return Some(n);
        }
        self.users
            .iter()
            .filter(|(_, n)| n.as_str() == name)
            .map(|(uid, _)| *uid)
            .min()
    }

    fn pid_path(&self, pid: u32, file: &str) -> String {
        let mut p = PathBuf::from(&self.manifest.proc_root);
        p.push(pid.to_string());
        if !file.is_empty() {
            p.push(file);
        }
        p.display().to_string()
    }

    /// What the capture's read of the file got; a file it did not read is absent.
    fn cgroup_file(&self, cgroup: &Cgroup, name: &str, cap: usize) -> io::Result<Vec<u8>> {
        let i = *self.by_cgroup.get(cgroup).ok_or_else(enoent)?;
        let rec = &self.manifest.cgroups[i];
        let read = rec
            .reads
            .iter()
            .find(|r| r.file == name)
            .ok_or_else(enoent)?;
        if let Some(f) = &read.failure {
            return Err(f.to_error());
        }
        let entry = read.entry.as_deref().ok_or_else(enoent)?;
        let span = self.index.entries.get(&manifest::cgroup_entry(i, entry));
        self.span_bytes(*span.ok_or_else(enoent)?, cap)
    }

    fn offers(&self, file: Source) -> bool {
        let kept = self.manifest.map_file;
        file == kept || (file == Source::Maps && kept == Source::Smaps)
    }

    fn capture(&self) -> Option<CaptureInfo> {
        let m = &self.manifest;
        let text = |t: &Option<String>| t.clone().filter(|s| !s.is_empty());
        Some(CaptureInfo {
            file: self.name.clone(),
            format: self.format,
            pmaps_version: Some(m.pmaps_version.clone()).filter(|v| !v.is_empty()),
            host: text(&m.host),
            kernel: text(&m.kernel).or_else(|| {
                super::read_trimmed(self, "sys/kernel/osrelease").filter(|s| !s.is_empty())
            }),
            start: time_of(m.start_unix_ms),
            end: time_of(m.end_unix_ms),
            proc_root: Some(m.proc_root.clone()),
            map_file: m.map_file,
        })
    }
}
