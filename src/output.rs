//! Writing the rendered report: to standard output, where a closed pipe ends the run quietly,
//! or to `--output FILE`.
//!
//! The destination is opened by [`Output::open`] *before* the scan (an unwritable place fails
//! in a moment, not after the whole scan), then [`Output::deliver`] writes the report:
//!
//! - `-`, `/dev/stdout` (and `/dev/fd/1`, `/proc/self/fd/1`): standard output. A standard
//!   output that was closed when pmaps started (`pmaps >&-`) is an error, not a report
//!   silently written to the `/dev/null` that the Rust runtime puts there.
//!   `/dev/stderr` (`/dev/fd/2`, `/proc/self/fd/2`): standard error.
//! - A path that names a device node, a FIFO, a socket or a directory (after following the
//!   symlinks that may be followed, below): opened and written in place, never replaced.
//! - A path that names a regular file or nothing: the file is replaced atomically. The report
//!   goes into an unnamed `O_TMPFILE` in the target's directory (nothing visible while it is
//!   written, even if pmaps is killed), synced, given its mode and owner, linked in as
//!   `.pmaps-*.tmp` and renamed over the target; where `O_TMPFILE` is unsupported, a named
//!   `.pmaps-*.tmp` is used. SIGINT, SIGTERM and SIGHUP remove a visible temporary file before
//!   pmaps dies of the signal; a failed rename removes it too. Readers see the old report or
//!   the new one, never a mix.
//! - Symlinks: one that may be followed (the kernel's `protected_symlinks` rule: outside a
//!   sticky world-writable directory, or owned by the caller or by the directory's owner) is
//!   followed, and what it points to is written (a regular file is replaced in its own
//!   directory; the link stays). Any other entry in a sticky world-writable directory that
//!   belongs to neither the caller nor the directory's owner (a planted symlink, FIFO or file)
//!   is replaced by a new file, never followed, written into or copied from.
//! - Mode and owner: a new file gets `0666 & ~umask` (or what the directory's default ACL
//!   gives); a replaced file keeps its permission bits and, when pmaps runs as root, its owner
//!   and group (otherwise its group when the caller may set it).
//! - The directory is synced after the rename when it can be opened for reading; when it
//!   cannot (a write-only directory), the report is written all the same.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};

use anyhow::Context;
use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags};
use rustix::io::Errno;

/// Whether an error (anywhere in its chain) is a closed pipe.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// One line on stderr, prefixed with `pmaps: ` (a closed stderr is ignored).
pub fn eprint_line(line: &str) {
    let _ = writeln!(io::stderr().lock(), "pmaps: {line}");
}

/// Writes a rendered document to `path` or to stdout (see [`Output`]) and returns the exit
/// status when the run must end here: `OK` for a reader that closed the pipe (nothing more to
/// say to anyone), `FATAL` after one line on stderr for a failed write. `None`: written.
///
/// Opens the destination only now; a run should rather [`Output::prepare`] it before its
/// scan and [`Output::deliver`] to it afterwards.
pub fn deliver(rendered: anyhow::Result<Vec<u8>>, path: Option<&Path>) -> Option<u8> {
    match Output::prepare(path) {
        Ok(out) => out.deliver(rendered),
        Err(code) => Some(code),
    }
}

/// Writes all of `bytes` to stdout and flushes.
pub fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    if stdio_was_closed(1) {
        anyhow::bail!("standard output is closed: the report has nowhere to go");
    }
    let mut out = io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .context("cannot write to standard output")
}

// ---------------------------------------------------------------------------------------
// Standard streams closed at startup

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);

/// Runs from `.init_array`, before the Rust runtime replaces a closed fd 0, 1 or 2 with
/// `/dev/null` (which would make `pmaps >&-` a silent success).
extern "C" fn note_closed_stdio(_argc: i32, _argv: *const *const u8, _envp: *const *const u8) {
    for (fd, flag) in [(1, &STDOUT_CLOSED), (2, &STDERR_CLOSED)] {
        // SAFETY: fcntl(F_GETFD) only reads the descriptor's flags; a closed descriptor is an
        // EBADF result, not undefined behaviour. (rustix needs a BorrowedFd, which may not be
        // made from a descriptor that is possibly closed.)
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            flag.store(true, Ordering::Relaxed);
        }
    }
}

#[used]
// SAFETY: `.init_array` holds `extern "C"` functions that the C runtime calls once at startup
// with (argc, argv, envp), which is this function's signature (the same way std captures its
// arguments); it touches only two atomics.
#[unsafe(link_section = ".init_array")]
static NOTE_CLOSED_STDIO: extern "C" fn(i32, *const *const u8, *const *const u8) =
    note_closed_stdio;

/// Whether standard output (1) or standard error (2) was closed when pmaps started.
fn stdio_was_closed(fd: i32) -> bool {
    // Keeps the `.init_array` entry referenced, so it is linked into every binary that asks.
    std::hint::black_box(&NOTE_CLOSED_STDIO);
    match fd {
        1 => STDOUT_CLOSED.load(Ordering::Relaxed),
        2 => STDERR_CLOSED.load(Ordering::Relaxed),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------
// The destination

/// Where the report goes, opened before the scan (see the module documentation).
#[derive(Debug)]
pub struct Output {
    /// The path as given, for messages (`None`: standard output).
    path: Option<PathBuf>,
    to: To,
}

#[derive(Debug)]
enum To {
    Stdout,
    Stderr,
    /// A device node, FIFO or the like, written where it is.
    InPlace(File),
    /// A regular file (or none yet), replaced atomically.
    Replace(Replace),
}

impl Output {
    /// Opens the destination: standard output for `None` and `-`, else `path` (see the module
    /// documentation). Fails when the report could not be written there.
    pub fn open(path: Option<&Path>) -> anyhow::Result<Output> {
        let Some(path) = path else {
            return Output::stdio(None, 1);
        };
        if let Some(fd) = stdio_alias(path) {
            return Output::stdio(Some(path), fd);
        }
        let to = resolve(path).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(Output {
            path: Some(path.to_path_buf()),
            to,
        })
    }

    /// [`Output::open`], or the exit status after one line on stderr.
    pub fn prepare(path: Option<&Path>) -> Result<Output, u8> {
        Output::open(path).map_err(|e| {
            eprint_line(&format!("error: {e:#}"));
            crate::exit::FATAL
        })
    }

    fn stdio(path: Option<&Path>, fd: i32) -> anyhow::Result<Output> {
        let name = if fd == 1 {
            "standard output"
        } else {
            "standard error"
        };
        if stdio_was_closed(fd) {
            anyhow::bail!("{name} is closed: the report has nowhere to go");
        }
        Ok(Output {
            path: path.map(Path::to_path_buf),
            to: if fd == 1 { To::Stdout } else { To::Stderr },
        })
    }

    /// Whether the report goes to standard output (where a terminal may be).
    pub fn is_stdout(&self) -> bool {
        matches!(self.to, To::Stdout)
    }

    /// Writes the report.
    pub fn write(self, bytes: &[u8]) -> anyhow::Result<()> {
        let fail = || match &self.path {
            Some(p) => format!("cannot write {}", p.display()),
            None => "cannot write to standard output".to_string(),
        };
        match &self.to {
            To::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(bytes)
                    .and_then(|()| out.flush())
                    .context("cannot write to standard output")
            }
            To::Stderr => {
                let mut out = io::stderr().lock();
                out.write_all(bytes)
                    .and_then(|()| out.flush())
                    .with_context(fail)
            }
            To::InPlace(file) => {
                let mut file = file;
                file.write_all(bytes).with_context(fail)
            }
            To::Replace(r) => r.replace(bytes).with_context(fail),
        }
    }

    /// Writes a rendered document and returns the exit status when the run must end here:
    /// `OK` for a reader that closed the pipe (nothing more to say to anyone), `FATAL` after
    /// one line on stderr for a failed render or write. `None`: written.
    pub fn deliver(self, rendered: anyhow::Result<Vec<u8>>) -> Option<u8> {
        match rendered.and_then(|bytes| self.write(&bytes)) {
            Ok(()) => None,
            Err(e) if is_broken_pipe(&e) => Some(crate::exit::OK),
            Err(e) => {
                eprint_line(&format!("error: {e:#}"));
                Some(crate::exit::FATAL)
            }
        }
    }
}

/// The standard stream a path names by convention (as shells treat them): 1 or 2.
fn stdio_alias(path: &Path) -> Option<i32> {
    match path.as_os_str().as_bytes() {
        b"-" | b"/dev/stdout" | b"/dev/fd/1" | b"/proc/self/fd/1" => Some(1),
        b"/dev/stderr" | b"/dev/fd/2" | b"/proc/self/fd/2" => Some(2),
        _ => None,
    }
}

/// Symlinks followed at most (the kernel's own limit).
const MAX_LINKS: usize = 40;

/// Where `path` leads: a file to replace or something to open in place.
fn resolve(path: &Path) -> io::Result<To> {
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
fn trusted(entry: &rustix::fs::Stat, dir: &rustix::fs::Stat) -> bool {
    let sticky_world_writable = 0o1002;
    dir.st_mode & sticky_world_writable != sticky_world_writable
        || entry.st_uid == rustix::process::geteuid().as_raw()
        || entry.st_uid == dir.st_uid
}

fn on_procfs(dir: &OwnedFd) -> bool {
    rustix::fs::fstatfs(dir).is_ok_and(|s| s.f_type == rustix::fs::PROC_SUPER_MAGIC)
}

// ---------------------------------------------------------------------------------------
// Atomic replacement

/// A regular file (or a name not yet taken) to replace atomically.
#[derive(Debug)]
struct Replace {
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
    fn new(dir: OwnedFd, name: OsString) -> io::Result<Replace> {
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

    /// Writes `bytes` and puts them in place of the target.
    fn replace(&self, bytes: &[u8]) -> io::Result<()> {
        let attrs = self.attrs();
        let mut linked = false;
        if let Some(tmp) = &self.tmp {
            let mut file = tmp;
            file.write_all(bytes)?;
            file.sync_all()?;
            apply(tmp, &attrs)?;
            linked = self.link_and_rename(tmp)?;
        }
        if !linked {
            self.write_named(bytes, &attrs)?;
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
    fn write_named(&self, bytes: &[u8], attrs: &Attrs) -> io::Result<()> {
        let (file, tmp_name) = {
            let mut guard = pending();
            let (fd, tmp_name) = create_named(&self.dir, 0o600)?;
            *guard = Some(Pending {
                dir: Arc::clone(&self.dir),
                name: tmp_name.clone(),
            });
            (File::from(fd), tmp_name)
        };
        let mut f = &file;
        let written = f
            .write_all(bytes)
            .and_then(|()| file.sync_all())
            .and_then(|()| apply(&file, attrs));
        let mut guard = pending();
        let result = match written {
            Ok(()) => self.rename(&tmp_name),
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
