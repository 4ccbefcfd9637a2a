//! The proc source: the one way every byte of process and system data comes in.
//!
//! A [`ProcSource`] lists PIDs, opens a PID's directory (one handle per process, so a PID
//! reused meanwhile answers "no such process" instead of another process's data), opens the
//! files in it with a bounded, FIFO-safe, regular-file-only read, reads the proc root's
//! system files (hostname, kernel release, mountinfo) and names users. [`ProcRoot`] reads a
//! live proc mount or any directory laid out like one (the tests' fake trees);
//! [`ArchiveSource`] reads a capture archive (`pmaps capture`, smem's `smemcap`) and answers
//! every read as the captured host did; [`Recorder`] wraps a source and keeps every byte and
//! error each process's reads got, for `pmaps capture`. No other module touches the file
//! system for input.
//!
//! Every failure to read a PID's file becomes an [`Outcome`] through [`outcome_of`], the one
//! place that maps errno values to outcomes.

pub mod archive;
mod live;
mod record;
mod users;

use std::cmp::Ordering;
use std::io::{self, Read};

pub use archive::ArchiveSource;
pub use live::{ProcRoot, max_workers, parse_pid, privilege};
pub use record::{FileRead, IoFailure, PidLog, Recorder, Stage};
pub use users::UserNames;

use crate::model::{CaptureInfo, Cgroup, Outcome, Privilege, Source};

/// `stat`, `status` and system files are a few hundred bytes to a few KiB; anything larger
/// is not procfs.
pub const SMALL_CAP: usize = 256 * 1024;
/// `cmdline` is kept for display and matching only; longer ones are cut here.
pub const CMDLINE_CAP: usize = 64 * 1024;
/// `mountinfo` of a host with thousands of mounts.
pub const MOUNTINFO_CAP: usize = 4 << 20;

/// Where process and system data come from.
pub trait ProcSource: Send + Sync {
    /// How messages and the JSON meta name the source (the proc root's path).
    fn describe(&self) -> String;
    /// The PIDs, ascending, and pmaps' own PID as this source shows it (`None` when the
    /// source has no `self`, or it does not name a process).
    fn list_pids(&self) -> io::Result<(Vec<u32>, Option<u32>)>;
    /// Opens the directory of one process.
    fn open_pid(&self, pid: u32) -> io::Result<Box<dyn PidDir + '_>>;
    /// Up to `cap` bytes of a file of the source that belongs to no PID
    /// (`sys/kernel/hostname`, `self/mountinfo`, `meminfo`), with the same FIFO-safe,
    /// regular-file-only guard as a PID's files.
    fn read_file(&self, rel: &str, cap: usize) -> io::Result<Vec<u8>>;
    /// What the source hides (a proc mount's `hidepid=`), as a note for the coverage line;
    /// `None` when it shows every process.
    fn hidden_processes(&self) -> Option<String>;
    /// The name of a user, `None` when the user database has none.
    fn user_name(&self, uid: u32) -> Option<String>;
    /// The uid of a user name.
    fn lookup_uid(&self, name: &str) -> Option<u32>;
    /// How messages name a PID's file (`/proc/7/smaps`).
    fn pid_path(&self, pid: u32, file: &str) -> String;
    /// Compares the address spaces of two processes read from this source: `Equal` when
    /// they share one (`clone(CLONE_VM)` without `CLONE_THREAD`, a vfork child before its
    /// exec), else an order that holds for the whole run. `None` when the source has no
    /// kernel to ask (a directory that is not a proc mount); an error when it cannot tell
    /// (no permission, no `kcmp`, a proc mount of another PID namespace).
    fn compare_address_spaces(&self, a: u32, b: u32) -> Option<io::Result<Ordering>> {
        let _ = (a, b);
        None
    }
    /// Up to `cap` bytes of a file of a cgroup's directory (`memory.current`), in the
    /// hierarchy the cgroup belongs to. A source without cgroup files says so.
    fn cgroup_file(&self, cgroup: &Cgroup, name: &str, cap: usize) -> io::Result<Vec<u8>> {
        let _ = (cgroup, name, cap);
        Err(io::ErrorKind::Unsupported.into())
    }
    /// Whether each process's `file` can be read here: a proc root has them all, a capture
    /// the one it kept (and `maps`, from the headers of `smaps`).
    fn offers(&self, file: Source) -> bool {
        let _ = file;
        true
    }
    /// The capture the data comes from; `None` for a live source.
    fn capture(&self) -> Option<CaptureInfo> {
        None
    }
}

/// One process's directory, open.
pub trait PidDir {
    /// The directory's owner: the process's effective uid, or root when it is not dumpable.
    fn owner(&self) -> Option<u32>;
    /// Opens a file of the directory for reading: a regular file, never a FIFO or device
    /// (which would block or never end). `name` may lead into `task/TID/`.
    fn open(&self, name: &str) -> io::Result<Box<dyn Read + '_>>;
    /// The IDs of the process's threads (the entries of `task/`), at most `cap` of them, in
    /// the order the directory lists them. A source without threads lists none.
    fn threads(&self, cap: usize) -> io::Result<Vec<u32>> {
        let _ = cap;
        Ok(Vec::new())
    }
}

/// Reads a whole small file of `dir` into `buf` (cleared first), up to `cap` bytes.
pub fn read_small(dir: &dyn PidDir, name: &str, buf: &mut Vec<u8>, cap: usize) -> io::Result<()> {
    buf.clear();
    let file = dir.open(name)?;
    file.take(cap as u64).read_to_end(buf)?;
    Ok(())
}

/// A system file of `source`, without its trailing newlines, as text (lossy).
pub fn read_trimmed(source: &dyn ProcSource, rel: &str) -> Option<String> {
    let s = source.read_file(rel, 4096).ok()?;
    let s = String::from_utf8_lossy(&s);
    Some(s.trim_end_matches('\n').to_string())
}

/// Who read `source`'s processes, for the advice about denied ones: pmaps itself for a live
/// source; for a capture, unknown (the advice is then the one for an unprivileged reader, as
/// the capture is what would be run again).
pub fn reader_privilege(source: &dyn ProcSource) -> Privilege {
    match source.capture() {
        Some(_) => Privilege::default(),
        None => privilege(),
    }
}

/// The outcome for an I/O error on `path`. ENOENT and ESRCH mean the process is gone (the
/// caller checks first that it is not a zombie or kernel thread, which answer ESRCH while
/// still there); EACCES and EPERM mean permission; anything else is an error with its errno.
pub fn outcome_of(err: &io::Error, path: String) -> Outcome {
    match err.raw_os_error() {
        Some(libc::ENOENT | libc::ESRCH) => Outcome::Vanished,
        Some(e @ (libc::EACCES | libc::EPERM)) => Outcome::Denied { path, errno: e },
        _ => Outcome::Error {
            path,
            message: err.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_classification() {
        let o = |e| outcome_of(&io::Error::from_raw_os_error(e), "/proc/7/smaps".into());
        assert_eq!(o(libc::ENOENT), Outcome::Vanished);
        assert_eq!(o(libc::ESRCH), Outcome::Vanished);
        assert!(matches!(o(libc::EACCES), Outcome::Denied { errno, .. } if errno == libc::EACCES));
        assert!(matches!(o(libc::EPERM), Outcome::Denied { .. }));
        assert!(matches!(o(libc::EIO), Outcome::Error { .. }));
    }
}
