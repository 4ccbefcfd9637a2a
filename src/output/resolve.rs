//! Where an `--output` path leads: standard streams by their conventional names, symlinks
//! followed one at a time under the kernel's `protected_symlinks` rule, and what is opened in
//! place (devices, FIFOs) rather than replaced.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags};
use rustix::io::Errno;

use super::To;
use super::replace::Replace;

/// Symlinks followed at most (the kernel's own limit).
const MAX_LINKS: usize = 40;

/// Where `path` leads: a file to replace or something to open in place.
pub(super) fn resolve(path: &Path) -> io::Result<To> {
    let mut cur = path.to_path_buf();
    for _ in 0..=MAX_LINKS {
        let name = match cur.file_name() {
            Some(n) if !cur.as_os_str().as_bytes().ends_with(b"/") => n.to_os_string(),
            // `/`, `..`, `dir/`: a directory (or an error) for the kernel to name.
            _ => return open_in_place(CWD, &cur, OFlags::empty()).map(To::InPlace),
        };
        let dir_path = match cur.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let dir = rustix::fs::open(
            &dir_path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let entry = match rustix::fs::statat(&dir, &name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::NOENT) => return Replace::new(dir, name).map(To::Replace),
            Err(e) => return Err(e.into()),
        };
        if !trusted(&entry, &rustix::fs::fstat(&dir)?) {
            return Replace::new(dir, name).map(To::Replace);
        }
        match FileType::from_raw_mode(entry.st_mode) {
            FileType::RegularFile => return Replace::new(dir, name).map(To::Replace),
            FileType::Symlink => {
                if on_procfs(&dir) {
                    // A "magic" link (/proc/PID/fd/N): only the kernel can follow it.
                    return open_in_place(CWD, &cur, OFlags::TRUNC).map(To::InPlace);
                }
                let target = rustix::fs::readlinkat(&dir, &name, Vec::new())?;
                let target = Path::new(OsStr::from_bytes(target.as_bytes()));
                cur = dir_path.join(target);
            }
            _ => return open_in_place(&dir, &name, OFlags::NOFOLLOW).map(To::InPlace),
        }
    }
    Err(Errno::LOOP.into())
}

/// Opens a device node, FIFO or the like for writing, where it is.
fn open_in_place<Fd: AsFd, P: rustix::path::Arg>(
    dir: Fd,
    name: P,
    extra: OFlags,
) -> io::Result<File> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::WRONLY | OFlags::NOCTTY | OFlags::CLOEXEC | extra,
        Mode::empty(),
    )?;
    Ok(File::from(fd))
}

/// The kernel's `protected_symlinks` rule, applied to every kind of entry: in a sticky
/// world-writable directory (like /tmp), only entries owned by the caller or by the
/// directory's owner are trusted (followed, written into, their mode and owner kept).
pub(super) fn trusted(entry: &rustix::fs::Stat, dir: &rustix::fs::Stat) -> bool {
    let sticky_world_writable = 0o1002;
    dir.st_mode & sticky_world_writable != sticky_world_writable
        || entry.st_uid == rustix::process::geteuid().as_raw()
        || entry.st_uid == dir.st_uid
}

fn on_procfs(dir: &OwnedFd) -> bool {
    rustix::fs::fstatfs(dir).is_ok_and(|s| s.f_type == rustix::fs::PROC_SUPER_MAGIC)
}

// ---------------------------------------------------------------------------------------
