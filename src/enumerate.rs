//! Lists the processes under a proc root: every numeric entry, in ascending order, minus
//! pmaps itself, and tells when the proc mount hides some of them (`hidepid=`). Holds no file
//! descriptor once it returns.

use std::fs;
use std::io;
use std::path::Path;

use crate::parse::{self, HidePid};
use crate::read;

/// The PIDs under `root`, sorted, and pmaps' own PID as that root shows it (through its
/// `self` link, so it is right inside a PID namespace; `None` for a root without one, such
/// as a fake tree, or when the link does not name a process).
pub fn list_pids(root: &Path) -> io::Result<(Vec<u32>, Option<u32>)> {
    let mut pids = Vec::new();
    for entry in fs::read_dir(root)? {
        let entry = entry?;
        let name = entry.file_name();
        if let Some(pid) = parse_pid(name.as_encoded_bytes()) {
            pids.push(pid);
        }
    }
    pids.sort_unstable();
    let own = fs::read_link(root.join("self"))
        .ok()
        .and_then(|target| parse_pid(target.as_os_str().as_encoded_bytes()));
    Ok((pids, own))
}

/// What the proc mount at `root` hides from this process, as a note for the coverage line,
/// or `None` when it shows every process (or is not a proc mount, as a fake tree).
///
/// With `hidepid=invisible` or `ptraceable`, the processes pmaps may not ptrace are not even
/// listed: without this note, a scan by an ordinary user would present the few processes it
/// sees as a complete system. Root with CAP_SYS_PTRACE in the initial user namespace, and
/// members of the mount's `gid=` group, see everything. (`hidepid=noaccess` lists every
/// process: the ones pmaps may not read are counted `denied`.)
pub fn hidden_processes(root: &Path) -> Option<String> {
    let canonical = fs::canonicalize(root).ok()?;
    let mountinfo = read_self_file(root, "mountinfo")?;
    let mount = parse::proc_mount(&mountinfo, canonical.as_os_str().as_encoded_bytes())?;
    let note = match mount.hidepid {
        HidePid::Off | HidePid::NoAccess => return None,
        HidePid::Invisible => "other users' processes are hidden",
        HidePid::Ptraceable => "processes pmaps may not ptrace are hidden",
    };
    if sees_every_process(root, mount.gid) {
        return None;
    }
    Some(format!("hidepid={}: {note}", mount.hidepid.as_str()))
}

/// `<root>/self/<name>`, or `/proc/self/<name>` when the root has no such file.
fn read_self_file(root: &Path, name: &str) -> Option<Vec<u8>> {
    const CAP: usize = 4 << 20;
    read::read_root_file(&root.join("self").join(name), CAP)
        .or_else(|_| read::read_root_file(&Path::new("/proc/self").join(name), CAP))
        .ok()
}

/// Whether hidepid hides nothing from this process: it is in the mount's `gid=` group, or it
/// holds CAP_SYS_PTRACE in the initial user namespace (root in a user namespace does not:
/// its capabilities do not reach the host's processes).
fn sees_every_process(root: &Path, gid: Option<u32>) -> bool {
    if let Some(gid) = gid
        && in_group(gid)
    {
        return true;
    }
    const CAP_SYS_PTRACE: u32 = 19;
    let has_ptrace = read_self_file(root, "status")
        .and_then(|s| parse::status_cap_eff(&s))
        .is_some_and(|caps| caps & (1 << CAP_SYS_PTRACE) != 0);
    has_ptrace && read_self_file(root, "uid_map").is_some_and(|m| parse::is_initial_id_map(&m))
}

fn in_group(gid: u32) -> bool {
    // SAFETY: getegid has no preconditions.
    if unsafe { libc::getegid() } == gid {
        return true;
    }
    // SAFETY: with a size of 0, getgroups only returns the number of groups.
    let count = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    let Ok(len) = usize::try_from(count) else {
        return false;
    };
    let mut groups = vec![0 as libc::gid_t; len];
    // SAFETY: `groups` has room for the `count` entries we say it has.
    let n = unsafe { libc::getgroups(count, groups.as_mut_ptr()) };
    usize::try_from(n).is_ok_and(|n| groups[..n.min(len)].contains(&gid))
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
