//! The live proc source: a proc mount, or any directory laid out like one (`--proc-root`,
//! the tests' fake trees).
//!
//! Files are opened with `O_NONBLOCK` and checked to be regular files, so a FIFO or device
//! planted in a fake tree is an error instead of a read that never ends. A PID's directory
//! is opened once and its files opened relative to it, so a PID reused meanwhile answers
//! ESRCH instead of lending its memory to the old name. Nothing is held open once a process
//! is read.

use std::cmp::Ordering;
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rustix::fs::{CWD, FileType, Mode, OFlags};

use super::{MOUNTINFO_CAP, PidDir, ProcSource};
use crate::model::{Cgroup, Hierarchy, Privilege};
use crate::parse::{self, CgroupMounts, HidePid};

/// CAP_SYS_PTRACE, the capability that reading another user's maps needs.
const CAP_SYS_PTRACE: u32 = 19;

/// A directory laid out like `/proc`.
#[derive(Debug, Clone)]
pub struct ProcRoot {
    root: PathBuf,
    /// What the root is, looked at once (see [`RootKind`]).
    kind: OnceLock<RootKind>,
    /// `--cgroup-root`: the directory the cgroup paths of processes are relative to.
    cgroup_root: Option<PathBuf>,
    /// The cgroup hierarchies of the mount table, found when first asked for.
    cgroup_mounts: OnceLock<CgroupMounts>,
}

/// What a proc root is, for questions only the kernel can answer about its PIDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RootKind {
    /// The proc mount of pmaps' own PID namespace: its PIDs are pmaps' PIDs.
    Own,
    /// A proc mount of another PID namespace: its PIDs mean other processes to pmaps.
    Foreign,
    /// Not a proc mount (a copy, a test tree): no kernel behind it.
    NotProc,
}

impl ProcRoot {
    pub fn new(root: &Path) -> ProcRoot {
        ProcRoot {
            root: root.to_path_buf(),
            kind: OnceLock::new(),
            cgroup_root: None,
            cgroup_mounts: OnceLock::new(),
        }
    }

    /// Reads cgroup counters under `dir` instead of the hierarchies of the mount table.
    pub fn with_cgroup_root(mut self, dir: Option<&Path>) -> ProcRoot {
        self.cgroup_root = dir.map(Path::to_path_buf);
        self
    }

    /// The directory of `cgroup`: under `--cgroup-root`, or under the mount point of its
    /// hierarchy (less the cgroup path the mount shows at its root). A path with `.` or `..`
    /// components is refused: it is not one the kernel prints.
    fn cgroup_dir(&self, cgroup: &Cgroup) -> io::Result<PathBuf> {
        let mut path = cgroup.path.as_slice();
        let base = match &self.cgroup_root {
            Some(dir) => dir.clone(),
            None => {
                let mounts = self.cgroup_mounts.get_or_init(|| {
                    self.read_self_file("mountinfo")
                        .map(|m| parse::cgroup_mounts(&m))
                        .unwrap_or_default()
                });
                let mount = match cgroup.hierarchy {
                    Hierarchy::V2 => &mounts.v2,
                    Hierarchy::V1Memory => &mounts.v1_memory,
                };
                let mount = mount
                    .as_ref()
                    .ok_or_else(|| io::Error::other("no such cgroup hierarchy is mounted"))?;
                if mount.root != b"/" {
                    path = path.strip_prefix(mount.root.as_slice()).unwrap_or(path);
                }
                PathBuf::from(OsStr::from_bytes(&mount.mount_point))
            }
        };
        let mut dir = base;
        for part in path.split(|&b| b == b'/').filter(|p| !p.is_empty()) {
            if part == b"." || part == b".." {
                return Err(io::Error::other("not a cgroup path"));
            }
            dir.push(OsStr::from_bytes(part));
        }
        Ok(dir)
    }

    fn kind(&self) -> RootKind {
        *self.kind.get_or_init(|| {
            let is_proc = rustix::fs::statfs(&self.root)
                .is_ok_and(|st| st.f_type == rustix::fs::PROC_SUPER_MAGIC);
            if !is_proc {
                return RootKind::NotProc;
            }
            // `self` names pmaps' own PID only in the proc of its PID namespace; elsewhere
            // it names another number or nothing.
            let own = fs::read_link(self.root.join("self"))
                .ok()
                .and_then(|t| parse_pid(t.as_os_str().as_encoded_bytes()));
            if own == Some(rustix::process::getpid().as_raw_nonzero().get() as u32) {
                RootKind::Own
            } else {
                RootKind::Foreign
            }
        })
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    /// `<root>/self/<name>`, or `/proc/self/<name>` when the root has no such file.
    fn read_self_file(&self, name: &str) -> Option<Vec<u8>> {
        self.read_file(&format!("self/{name}"), MOUNTINFO_CAP)
            .or_else(|_| read_regular(&Path::new("/proc/self").join(name), MOUNTINFO_CAP))
            .ok()
    }

    /// Whether hidepid hides nothing from this process: it is in the mount's `gid=` group,
    /// or it holds CAP_SYS_PTRACE in the initial user namespace (root in a user namespace
    /// does not: its capabilities do not reach the host's processes).
    fn sees_every_process(&self, gid: Option<u32>) -> bool {
        if let Some(gid) = gid
            && in_group(gid)
        {
            return true;
        }
        let has_ptrace = self
            .read_self_file("status")
            .and_then(|s| parse::status_cap_eff(&s))
            .is_some_and(|caps| caps & (1 << CAP_SYS_PTRACE) != 0);
        has_ptrace
            && self
                .read_self_file("uid_map")
                .is_some_and(|m| parse::is_initial_id_map(&m))
    }
}

/// Opens `path` (relative to `dir`) for reading, non-blocking, and only if it is a regular
/// file.
fn open_regular(dir: Option<&OwnedFd>, path: &Path) -> io::Result<File> {
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let fd = match dir {
        Some(d) => rustix::fs::openat(d, path, flags, Mode::empty())?,
        None => rustix::fs::openat(CWD, path, flags, Mode::empty())?,
    };
    if FileType::from_raw_mode(rustix::fs::fstat(&fd)?.st_mode) != FileType::RegularFile {
        return Err(io::Error::other("not a regular file"));
    }
    Ok(File::from(fd))
}

fn read_regular(path: &Path, cap: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    open_regular(None, path)?
        .take(cap as u64)
        .read_to_end(&mut buf)?;
    Ok(buf)
}

/// One process's directory of a [`ProcRoot`].
struct LivePid {
    dir: OwnedFd,
}

impl PidDir for LivePid {
    fn owner(&self) -> Option<u32> {
        rustix::fs::fstat(&self.dir).ok().map(|st| st.st_uid)
    }

    fn open(&self, name: &str) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(open_regular(Some(&self.dir), Path::new(name))?))
    }

    fn threads(&self, cap: usize) -> io::Result<Vec<u32>> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let task = rustix::fs::openat(&self.dir, "task", flags, Mode::empty())?;
        let mut tids = Vec::new();
        for entry in rustix::fs::Dir::read_from(&task)? {
            if tids.len() >= cap {
                break;
            }
            if let Some(tid) = parse_pid(entry?.file_name().to_bytes()) {
                tids.push(tid);
            }
        }
        Ok(tids)
    }
}

impl ProcSource for ProcRoot {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn list_pids(&self) -> io::Result<(Vec<u32>, Option<u32>)> {
        let mut pids = Vec::new();
        for entry in fs::read_dir(&self.root)? {
            let entry = entry?;
            if let Some(pid) = parse_pid(entry.file_name().as_encoded_bytes()) {
                pids.push(pid);
            }
        }
        pids.sort_unstable();
        let self_link = fs::read_link(self.root.join("self"));
        if pids.is_empty() && fs::symlink_metadata(self.root.join("self")).is_err() {
            // An empty directory, `/tmp`, a mistyped path: reading it would give an empty
            // report that calls itself complete.
            return Err(io::Error::other(
                "not a proc file system: no process directories and no `self` in it",
            ));
        }
        let own = self_link
            .ok()
            .and_then(|target| parse_pid(target.as_os_str().as_encoded_bytes()));
        Ok((pids, own))
    }

    fn open_pid(&self, pid: u32) -> io::Result<Box<dyn PidDir + '_>> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let dir = rustix::fs::openat(CWD, self.root.join(pid.to_string()), flags, Mode::empty())?;
        Ok(Box::new(LivePid { dir }))
    }

    fn read_file(&self, rel: &str, cap: usize) -> io::Result<Vec<u8>> {
        read_regular(&self.root.join(rel), cap)
    }

    /// With `hidepid=invisible` or `ptraceable`, the processes pmaps may not ptrace are not
    /// even listed: without this note, a scan by an ordinary user would present the few
    /// processes it sees as a complete system. Root with CAP_SYS_PTRACE in the initial user
    /// namespace, and members of the mount's `gid=` group, see everything.
    /// (`hidepid=noaccess` lists every process: the ones pmaps may not read are `denied`.)
    fn hidden_processes(&self) -> Option<String> {
        let canonical = fs::canonicalize(&self.root).ok()?;
        let mountinfo = self.read_self_file("mountinfo")?;
        let mount = parse::proc_mount(&mountinfo, canonical.as_os_str().as_encoded_bytes())?;
        let note = match mount.hidepid {
            HidePid::Off | HidePid::NoAccess => return None,
            HidePid::Invisible => "other users' processes are hidden",
            HidePid::Ptraceable => "processes pmaps may not ptrace are hidden",
        };
        if self.sees_every_process(mount.gid) {
            return None;
        }
        Some(format!("hidepid={}: {note}", mount.hidepid.as_str()))
    }

    fn user_name(&self, uid: u32) -> Option<String> {
        super::users::system_user_name(uid)
    }

    fn lookup_uid(&self, name: &str) -> Option<u32> {
        super::users::system_uid(name)
    }

    fn cgroup_file(&self, cgroup: &Cgroup, name: &str, cap: usize) -> io::Result<Vec<u8>> {
        read_regular(&self.cgroup_dir(cgroup)?.join(name), cap)
    }

    fn pid_path(&self, pid: u32, file: &str) -> String {
        let mut p = self.root.join(pid.to_string());
        if !file.is_empty() {
            p.push(file);
        }
        p.display().to_string()
    }

    fn compare_address_spaces(&self, a: u32, b: u32) -> Option<io::Result<Ordering>> {
        match self.kind() {
            RootKind::NotProc => None,
            RootKind::Foreign => Some(Err(io::Error::other(
                "the proc root is of another PID namespace",
            ))),
            RootKind::Own => Some(kcmp_vm(a, b)),
        }
    }
}

/// `kcmp(a, b, KCMP_VM)`: whether two processes share one `mm`, else their order. Needs
/// permission to ptrace both (PTRACE_MODE_READ): what reading their `smaps` needs anyway.
fn kcmp_vm(a: u32, b: u32) -> io::Result<Ordering> {
    const KCMP_VM: libc::c_long = 1;
    let pid =
        |p: u32| libc::pid_t::try_from(p).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH));
    let (a, b) = (pid(a)?, pid(b)?);
    // SAFETY: kcmp takes two PIDs, a type and two unused integers, all by value; it reads
    // or writes no memory of this process. (Neither rustix nor libc wraps it.)
    let r = unsafe {
        libc::syscall(
            libc::SYS_kcmp,
            a,
            b,
            KCMP_VM,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    match r {
        0 => Ok(Ordering::Equal),
        1 => Ok(Ordering::Less),
        2 => Ok(Ordering::Greater),
        -1 => Err(io::Error::last_os_error()),
        _ => Err(io::Error::other("kcmp gave no order")),
    }
}

/// Who pmaps itself runs as (its own `/proc/self`, whatever the proc root): for the advice
/// about denied processes.
pub fn privilege() -> Privilege {
    let own = |name: &str| read_regular(&Path::new("/proc/self").join(name), MOUNTINFO_CAP).ok();
    Privilege {
        root: rustix::process::geteuid().is_root(),
        ptrace: own("status")
            .and_then(|s| parse::status_cap_eff(&s))
            .is_some_and(|caps| caps & (1 << CAP_SYS_PTRACE) != 0),
        initial_namespace: own("uid_map").is_some_and(|m| parse::is_initial_id_map(&m)),
    }
}

fn in_group(gid: u32) -> bool {
    rustix::process::getegid().as_raw() == gid
        || rustix::process::getgroups().is_ok_and(|groups| groups.iter().any(|g| g.as_raw() == gid))
}

/// A PID directory name: decimal digits only, no sign, no leading zero, fits a u32 and is
/// not 0.
pub fn parse_pid(name: &[u8]) -> Option<u32> {
    if name.is_empty() || name.len() > 10 || name[0] == b'0' {
        return None;
    }
    if !name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(name).ok()?.parse().ok()
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
    let lim = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    let Some(current) = lim.current else {
        return usize::MAX;
    };
    let budget = current.saturating_sub(FDS_RESERVED) / FDS_PER_WORKER;
    usize::try_from(budget.max(1)).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_decimal_names_are_pids() {
        assert_eq!(parse_pid(b"1"), Some(1));
        assert_eq!(parse_pid(b"4194304"), Some(4194304));
        for bad in [
            &b""[..],
            b"0",
            b"01",
            b"-1",
            b"+1",
            b"self",
            b"1a",
            b"99999999999",
        ] {
            assert_eq!(parse_pid(bad), None, "{bad:?}");
        }
    }
}
