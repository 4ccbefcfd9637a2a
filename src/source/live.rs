//! The live proc source: a proc mount, or any directory laid out like one (`--proc-root`,
//! the tests' fake trees).
//!
//! Files are opened with `O_NONBLOCK` and checked to be regular files, so a FIFO or device
//! planted in a fake tree is an error instead of a read that never ends. A PID's directory
//! is opened once and its files opened relative to it, so a PID reused meanwhile answers
//! ESRCH instead of lending its memory to the old name. Nothing is held open once a process
//! is read.

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
    /// `--cgroup-root`: the directory the cgroup paths of processes are relative to.
    cgroup_root: Option<PathBuf>,
    /// The cgroup hierarchies of the mount table, found when first asked for.
    cgroup_mounts: OnceLock<CgroupMounts>,
}

impl ProcRoot {
    pub fn new(root: &Path) -> ProcRoot {
        ProcRoot {
            root: root.to_path_buf(),
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
        let own = fs::read_link(self.root.join("self"))
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
