//! Atomic replacement of a regular file: an unnamed `O_TMPFILE` (or a named temporary file
//! where that is unsupported) in the target's directory, given the mode and owner the report
//! must keep, synced, linked in and renamed; the signal cleanup that removes a visible
//! temporary file on SIGINT, SIGTERM and SIGHUP.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Seek, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};

use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags};
use rustix::io::Errno;

use super::resolve::trusted;

// Atomic replacement

/// A regular file (or a name not yet taken) to replace atomically.
#[derive(Debug)]
pub(super) struct Replace {
    /// The target's directory (`O_PATH`: also a directory the caller cannot read).
    dir: Arc<OwnedFd>,
    /// The target's name in it.
    name: OsString,
    /// The unnamed temporary file; `None` where `O_TMPFILE` is unsupported.
    tmp: Option<File>,
    /// The permission bits of a new file here (`0666 & ~umask`, or the default ACL's).
    new_mode: u32,
}

/// A temporary file that has a name, to remove if the run is interrupted.
struct Pending {
    dir: Arc<OwnedFd>,
    name: OsString,
}

/// The one visible temporary file, if any. Locked around every step that creates, renames or
/// removes one, so that a signal's cleanup never races a rename.
static PENDING: Mutex<Option<Pending>> = Mutex::new(None);

fn pending() -> MutexGuard<'static, Option<Pending>> {
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Mode, owner and group for the new file.
struct Attrs {
    mode: u32,
    owner: Option<(u32, u32)>,
}

impl Replace {
    /// Creates the unnamed temporary file (or, without `O_TMPFILE`, checks that a named one
    /// can be created), which is the proof that the report can be written here.
    pub(super) fn new(dir: OwnedFd, name: OsString) -> io::Result<Replace> {
        install_signal_cleanup();
        let dir = Arc::new(dir);
        let tmp = rustix::fs::openat(
            &*dir,
            ".",
            OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o666),
        );
        match tmp {
            Ok(fd) => {
                let new_mode = rustix::fs::fstat(&fd)?.st_mode & 0o7777;
                Ok(Replace {
                    dir,
                    name,
                    tmp: Some(File::from(fd)),
                    new_mode,
                })
            }
            // No O_TMPFILE here (EISDIR: a kernel that predates it).
            Err(Errno::OPNOTSUPP | Errno::ISDIR | Errno::INVAL) => {
                // Created and removed under the lock: a signal's cleanup waits for both.
                let _guard = pending();
                let (fd, tmp_name) = create_named(&dir, 0o666)?;
                let mode = rustix::fs::fstat(&fd).map(|st| st.st_mode & 0o7777);
                let _ = rustix::fs::unlinkat(&*dir, &tmp_name, AtFlags::empty());
                Ok(Replace {
                    dir,
                    name,
                    tmp: None,
                    new_mode: mode?,
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Writes what `write` streams (buffered) and puts it in place of the target. A new file
    /// gets at most the permission bits `max_mode` (a capture archive: 0600); a replaced one
    /// keeps its own.
    pub(super) fn replace_with(
        &self,
        max_mode: u32,
        write: &mut dyn FnMut(&mut dyn Write) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut attrs = self.attrs();
        if attrs.owner.is_none() {
            attrs.mode &= max_mode;
        }
        if let Some(tmp) = &self.tmp {
            let mut buffered = io::BufWriter::with_capacity(256 * 1024, tmp);
            write(&mut buffered)?;
            buffered.flush()?;
            drop(buffered);
            tmp.sync_all()?;
            apply(tmp, &attrs)?;
            if !self.link_and_rename(tmp)? {
                // Written once already: the named file is a copy of the unnamed one.
                let mut from = tmp;
                from.seek(io::SeekFrom::Start(0))?;
                self.write_named(&mut |w| Ok(io::copy(&mut from, w).map(|_| ())?), &attrs)?;
            }
        } else {
            self.write_named(write, &attrs)?;
        }
        // The rename is durable once the directory is synced. The report is in place already:
        // a directory that cannot be opened for reading (mode 0300) is not a failure to write.
        if let Ok(d) = rustix::fs::openat(
            &*self.dir,
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            let _ = rustix::fs::fsync(&d);
        }
        // A signal that came while the report was put in place: the report stays, and
        // pmaps dies of the signal as it was told to.
        die_if_signalled(&mut pending());
        Ok(())
    }

    /// What the new file gets: the permission bits, owner and group of the regular file it
    /// replaces (when trusted), else those of a new file.
    fn attrs(&self) -> Attrs {
        let old = rustix::fs::statat(&*self.dir, &self.name, AtFlags::SYMLINK_NOFOLLOW);
        let dir = rustix::fs::fstat(&*self.dir);
        match (old, dir) {
            (Ok(old), Ok(dir))
                if FileType::from_raw_mode(old.st_mode) == FileType::RegularFile
                    && trusted(&old, &dir) =>
            {
                Attrs {
                    mode: old.st_mode & 0o7777,
                    owner: Some((old.st_uid, old.st_gid)),
                }
            }
            _ => Attrs {
                mode: self.new_mode,
                owner: None,
            },
        }
    }

    /// Links the unnamed file in under a temporary name and renames it over the target.
    /// `Ok(false)`: it cannot be linked here (write a named temporary file instead).
    fn link_and_rename(&self, tmp: &File) -> io::Result<bool> {
        let mut guard = pending();
        die_if_signalled(&mut guard);
        let mut tmp_name = None;
        for _ in 0..100 {
            let name = temp_name();
            // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH on older kernels; /proc/self/fd/N works
            // for anyone (where /proc is mounted).
            let linked = rustix::fs::linkat(tmp, "", &*self.dir, &name, AtFlags::EMPTY_PATH)
                .or_else(|e| match e {
                    Errno::EXIST => Err(e),
                    _ => rustix::fs::linkat(
                        CWD,
                        format!("/proc/self/fd/{}", tmp.as_raw_fd()),
                        &*self.dir,
                        &name,
                        AtFlags::SYMLINK_FOLLOW,
                    ),
                });
            match linked {
                Ok(()) => {
                    tmp_name = Some(name);
                    break;
                }
                Err(Errno::EXIST) => continue,
                Err(_) => return Ok(false),
            }
        }
        let Some(tmp_name) = tmp_name else {
            return Err(Errno::EXIST.into());
        };
        *guard = Some(Pending {
            dir: Arc::clone(&self.dir),
            name: tmp_name.clone(),
        });
        let renamed = self.rename(&tmp_name);
        *guard = None;
        renamed.map(|()| true)
    }

    /// The fallback: a named temporary file, written, synced and renamed over the target.
    fn write_named(
        &self,
        write: &mut dyn FnMut(&mut dyn Write) -> anyhow::Result<()>,
        attrs: &Attrs,
    ) -> anyhow::Result<()> {
        let (file, tmp_name) = {
            let mut guard = pending();
            let (fd, tmp_name) = create_named(&self.dir, 0o600)?;
            *guard = Some(Pending {
                dir: Arc::clone(&self.dir),
                name: tmp_name.clone(),
            });
            (File::from(fd), tmp_name)
        };
        let written = (|| -> anyhow::Result<()> {
            let mut buffered = io::BufWriter::with_capacity(256 * 1024, &file);
            write(&mut buffered)?;
            buffered.flush()?;
            drop(buffered);
            file.sync_all()?;
            apply(&file, attrs)?;
            Ok(())
        })();
        let mut guard = pending();
        die_if_signalled(&mut guard);
        let result = match written {
            Ok(()) => self.rename(&tmp_name).map_err(anyhow::Error::from),
            Err(e) => {
                let _ = rustix::fs::unlinkat(&*self.dir, &tmp_name, AtFlags::empty());
                Err(e)
            }
        };
        *guard = None;
        result
    }

    /// Renames the temporary file over the target, or removes it.
    fn rename(&self, tmp_name: &OsStr) -> io::Result<()> {
        // rename(2) replaces whatever is at the name (a symlink included) without following it.
        rustix::fs::renameat(&*self.dir, tmp_name, &*self.dir, &self.name).map_err(|e| {
            let _ = rustix::fs::unlinkat(&*self.dir, tmp_name, AtFlags::empty());
            io::Error::from(e)
        })
    }
}

/// Gives the temporary file its owner (root only; others try to keep the group) and mode.
fn apply(file: &File, attrs: &Attrs) -> io::Result<()> {
    if let Some((uid, gid)) = attrs.owner {
        let euid = rustix::process::geteuid();
        // Ownership is best effort (a file system may not have it); the mode is not.
        if euid.is_root() {
            let _ = rustix::fs::fchown(
                file,
                Some(rustix::fs::Uid::from_raw(uid)),
                Some(rustix::fs::Gid::from_raw(gid)),
            );
        } else if gid != rustix::process::getegid().as_raw() {
            let _ = rustix::fs::fchown(file, None, Some(rustix::fs::Gid::from_raw(gid)));
        }
    }
    // After the chown, which clears the set-user-ID and set-group-ID bits.
    rustix::fs::fchmod(file, Mode::from_raw_mode(attrs.mode))?;
    Ok(())
}

/// A new `.pmaps-*.tmp` in `dir`, created exclusively (never through a planted name).
fn create_named(dir: &OwnedFd, mode: u32) -> io::Result<(OwnedFd, OsString)> {
    for _ in 0..100 {
        let name = temp_name();
        match rustix::fs::openat(
            dir,
            &name,
            OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(mode),
        ) {
            Ok(fd) => return Ok((fd, name)),
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Errno::EXIST.into())
}

/// `.pmaps-<random>.tmp`: hidden, and never taken for a report (not `.prom`, not `.json`).
fn temp_name() -> OsString {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    OsString::from(format!(".pmaps-{:016x}.tmp", h.finish()))
}

// ---------------------------------------------------------------------------------------
// Signals

const CLEANUP_SIGNALS: [i32; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// The cleanup signal that has arrived (0: none), stored by the signal handler itself: the
/// writer sees it at once, also when the cleanup thread has not run yet (a loaded machine
/// may not schedule it before the writer has put the report in place and exited 0).
static ARRIVED: AtomicUsize = AtomicUsize::new(0);

/// With the lock held (no cleanup can run meanwhile): when a cleanup signal has arrived,
/// removes the visible temporary file, if any, and dies of the signal.
fn die_if_signalled(guard: &mut MutexGuard<'static, Option<Pending>>) {
    let sig = ARRIVED.load(Ordering::SeqCst);
    if sig == 0 {
        return;
    }
    if let Some(p) = guard.take() {
        let _ = rustix::fs::unlinkat(&*p.dir, &p.name, AtFlags::empty());
    }
    let sig = i32::try_from(sig).unwrap_or(libc::SIGTERM);
    let _ = signal_hook::low_level::emulate_default_handler(sig);
    std::process::exit(128 + sig);
}

/// From the first file to replace on: SIGINT, SIGTERM and SIGHUP remove the visible temporary
/// file (if any), then pmaps dies of the signal as it would have. Signals that pmaps was
/// started with ignored (`nohup`) stay ignored.
fn install_signal_cleanup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let signals: Vec<i32> = CLEANUP_SIGNALS
            .into_iter()
            .filter(|&s| !ignored(s))
            .collect();
        if signals.is_empty() {
            return;
        }
        for &sig in &signals {
            let _ = signal_hook::flag::register_usize(sig, &ARRIVED, sig as usize);
        }
        let Ok(mut signals) = signal_hook::iterator::Signals::new(&signals) else {
            return;
        };
        let _ = std::thread::Builder::new()
            .name("pmaps-signals".into())
            .spawn(move || {
                if let Some(sig) = signals.forever().next() {
                    // Held until the process is gone: no rename or new file after this.
                    let mut guard = pending();
                    if let Some(p) = guard.take() {
                        let _ = rustix::fs::unlinkat(&*p.dir, &p.name, AtFlags::empty());
                    }
                    let _ = signal_hook::low_level::emulate_default_handler(sig);
                    std::process::exit(128 + sig);
                }
            });
    });
}

/// Whether `sig` is ignored (SIG_IGN inherited from the parent).
fn ignored(sig: i32) -> bool {
    // SAFETY: an all-zero sigaction is a valid value of this plain C struct.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: with a null new action, sigaction only writes the current one into `old`.
    // (rustix has no safe sigaction.)
    let rc = unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) };
    rc == 0 && old.sa_sigaction == libc::SIG_IGN
}
