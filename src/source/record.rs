//! The recording source, for `pmaps capture`: a [`ProcSource`] that wraps another one and
//! keeps, per PID, everything its reads got — each file opened, in order, with the bytes the
//! reader took from it and the error that ended it, the directory's owner, the threads it
//! listed (a process whose main thread has exited is read through a live thread), and the
//! error that kept the directory from opening. The reader (`read::Reader`) runs unchanged on top of it,
//! so a capture makes exactly the reads, outcomes and truncation checks of a report, and an
//! archive that answers each open with what was recorded replays them. The reads of cgroup
//! files (a cgroup's counters, read as the scan reads them) are kept too, by cgroup.
//!
//! Only what the reader actually took is kept (its caps apply), and no file more than
//! [`ENTRY_CAP`] bytes: past it the read fails with an error, which the reader turns into the
//! process's outcome like any other read error.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::Mutex;

use super::{PidDir, ProcSource};
use crate::model::Cgroup;

/// The most one file of one process may hold in a capture (a 65,530-mapping smaps is ~75
/// MB). The archive reader refuses larger entries.
pub const ENTRY_CAP: u64 = 512 << 20;

/// Where a read failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Open,
    Read,
}

/// An I/O error as it was met: its errno when it had one (replayed as that errno, so the
/// same outcome follows), else its message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IoFailure {
    pub at: Stage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno: Option<i32>,
    pub message: String,
}

impl IoFailure {
    pub fn of(err: &io::Error, at: Stage) -> IoFailure {
        IoFailure {
            at,
            errno: err.raw_os_error(),
            message: err.to_string(),
        }
    }

    /// The error again.
    pub fn to_error(&self) -> io::Error {
        match self.errno {
            Some(e) => io::Error::from_raw_os_error(e),
            None => io::Error::other(self.message.clone()),
        }
    }
}

/// One open of one file of a process, and what reading it gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileRead {
    pub name: String,
    /// The bytes the reader took (nothing when the open failed).
    pub data: Vec<u8>,
    pub failure: Option<IoFailure>,
}

/// What one process's reads got.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PidLog {
    /// The directory's owner (`None` when it did not open).
    pub owner: Option<u32>,
    /// Why the directory did not open.
    pub dir_failure: Option<IoFailure>,
    /// Every open, in order.
    pub reads: Vec<FileRead>,
    /// The thread IDs the directory listed, when the reader asked (a process whose main
    /// thread has exited is read through a live thread).
    pub threads: Vec<u32>,
}

/// A source that records what each process's reads got (see the module doc).
pub struct Recorder<'a> {
    inner: &'a dyn ProcSource,
    done: Mutex<HashMap<u32, PidLog>>,
    cgroup_reads: Mutex<Vec<(Cgroup, FileRead)>>,
}

impl<'a> Recorder<'a> {
    pub fn new(inner: &'a dyn ProcSource) -> Recorder<'a> {
        Recorder {
            inner,
            done: Mutex::new(HashMap::new()),
            cgroup_reads: Mutex::new(Vec::new()),
        }
    }

    /// Takes what the reads of cgroup files got, in the order they were made.
    pub fn take_cgroup_reads(&self) -> Vec<(Cgroup, FileRead)> {
        let mut reads = self.cgroup_reads.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut *reads)
    }

    /// Takes what was recorded for `pid` (once its directory handle is dropped).
    pub fn take(&self, pid: u32) -> PidLog {
        self.lock().remove(&pid).unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u32, PidLog>> {
        // A worker that panicked while holding the lock left a map that is still whole.
        self.done.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn finish(&self, pid: u32, log: PidLog) {
        let mut done = self.lock();
        let entry = done.entry(pid).or_default();
        if entry.owner.is_none() {
            entry.owner = log.owner;
        }
        if entry.dir_failure.is_none() {
            entry.dir_failure = log.dir_failure;
        }
        entry.reads.extend(log.reads);
        entry.threads.extend(log.threads);
    }
}

/// One process's directory, recording.
struct RecordingPid<'r> {
    rec: &'r Recorder<'r>,
    pid: u32,
    inner: Box<dyn PidDir + 'r>,
    log: RefCell<PidLog>,
}

impl PidDir for RecordingPid<'_> {
    fn owner(&self) -> Option<u32> {
        self.log.borrow().owner
    }

    fn open(&self, name: &str) -> io::Result<Box<dyn Read + '_>> {
        let opened = self.inner.open(name);
        let mut log = self.log.borrow_mut();
        let index = log.reads.len();
        match opened {
            Err(e) => {
                log.reads.push(FileRead {
                    name: name.to_string(),
                    data: Vec::new(),
                    failure: Some(IoFailure::of(&e, Stage::Open)),
                });
                Err(e)
            }
            Ok(file) => {
                log.reads.push(FileRead {
                    name: name.to_string(),
                    ..FileRead::default()
                });
                Ok(Box::new(Tee {
                    inner: file,
                    log: &self.log,
                    index,
                }))
            }
        }
    }

    fn threads(&self, cap: usize) -> io::Result<Vec<u32>> {
        let tids = self.inner.threads(cap)?;
        self.log.borrow_mut().threads.clone_from(&tids);
        Ok(tids)
    }
}

impl Drop for RecordingPid<'_> {
    fn drop(&mut self) {
        self.rec
            .finish(self.pid, std::mem::take(self.log.get_mut()));
    }
}

/// A file being read: every byte the reader gets is kept too.
struct Tee<'d> {
    inner: Box<dyn Read + 'd>,
    log: &'d RefCell<PidLog>,
    index: usize,
}

impl Read for Tee<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let got = self.inner.read(buf);
        let mut log = self.log.borrow_mut();
        let Some(file) = log.reads.get_mut(self.index) else {
            return got;
        };
        match got {
            Ok(n) => {
                if file.data.len() as u64 + n as u64 > ENTRY_CAP {
                    let e = io::Error::other(format!(
                        "larger than {ENTRY_CAP} bytes, the most a capture keeps of one file"
                    ));
                    file.data = Vec::new();
                    file.failure = Some(IoFailure::of(&e, Stage::Read));
                    return Err(e);
                }
                file.data.extend_from_slice(&buf[..n]);
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                file.failure = Some(IoFailure::of(&e, Stage::Read));
                Err(e)
            }
        }
    }
}

impl ProcSource for Recorder<'_> {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn list_pids(&self) -> io::Result<(Vec<u32>, Option<u32>)> {
        self.inner.list_pids()
    }

    /// Opens the directory, and keeps its `comm` too (the reader takes the name from `stat`;
    /// the archive has it for other tools).
    fn open_pid(&self, pid: u32) -> io::Result<Box<dyn PidDir + '_>> {
        let inner = match self.inner.open_pid(pid) {
            Ok(d) => d,
            Err(e) => {
                let log = PidLog {
                    dir_failure: Some(IoFailure::of(&e, Stage::Open)),
                    ..PidLog::default()
                };
                self.finish(pid, log);
                return Err(e);
            }
        };
        let dir = RecordingPid {
            rec: self,
            pid,
            log: RefCell::new(PidLog {
                owner: inner.owner(),
                ..PidLog::default()
            }),
            inner,
        };
        let mut comm = Vec::new();
        if let Ok(f) = dir.open("comm") {
            // What a failed read of it kept is recorded; it decides nothing.
            let _ = f.take(64).read_to_end(&mut comm);
        }
        Ok(Box::new(dir))
    }

    fn read_file(&self, rel: &str, cap: usize) -> io::Result<Vec<u8>> {
        self.inner.read_file(rel, cap)
    }

    fn hidden_processes(&self) -> Option<String> {
        self.inner.hidden_processes()
    }

    fn user_name(&self, uid: u32) -> Option<String> {
        self.inner.user_name(uid)
    }

    fn lookup_uid(&self, name: &str) -> Option<u32> {
        self.inner.lookup_uid(name)
    }

    fn pid_path(&self, pid: u32, file: &str) -> String {
        self.inner.pid_path(pid, file)
    }

    fn compare_address_spaces(&self, a: u32, b: u32) -> Option<io::Result<Ordering>> {
        self.inner.compare_address_spaces(a, b)
    }

    /// Reads it whole (within `cap`) and keeps the bytes, or the error (as an open's: nothing
    /// was read).
    fn cgroup_file(&self, cgroup: &Cgroup, name: &str, cap: usize) -> io::Result<Vec<u8>> {
        let got = self.inner.cgroup_file(cgroup, name, cap);
        let read = FileRead {
            name: name.to_string(),
            data: got.as_ref().map_or_else(|_| Vec::new(), Clone::clone),
            failure: got.as_ref().err().map(|e| IoFailure::of(e, Stage::Open)),
        };
        let mut reads = self.cgroup_reads.lock().unwrap_or_else(|e| e.into_inner());
        reads.push((cgroup.clone(), read));
        got
    }
}
