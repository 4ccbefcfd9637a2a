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

mod replace;
mod resolve;

use replace::Replace;
use resolve::resolve;

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;

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
        self.write_with(0o7777, &mut |w| Ok(w.write_all(bytes)?))
    }

    /// Writes what `write` streams (buffered), for a document too large to hold (a capture
    /// archive). A new file gets at most the permission bits `max_mode`.
    pub fn write_with(
        self,
        max_mode: u32,
        write: &mut dyn FnMut(&mut dyn Write) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let fail = || match &self.path {
            Some(p) => format!("cannot write {}", p.display()),
            None => "cannot write to standard output".to_string(),
        };
        let stream = |w: &mut dyn Write,
                      write: &mut dyn FnMut(&mut dyn Write) -> anyhow::Result<()>|
         -> anyhow::Result<()> {
            let mut buffered = io::BufWriter::with_capacity(256 * 1024, w);
            write(&mut buffered)?;
            Ok(buffered.flush()?)
        };
        match &self.to {
            To::Stdout => {
                stream(&mut io::stdout().lock(), write).context("cannot write to standard output")
            }
            To::Stderr => stream(&mut io::stderr().lock(), write).with_context(fail),
            To::InPlace(file) => {
                let mut file = file;
                stream(&mut file, write).with_context(fail)
            }
            To::Replace(r) => r.replace_with(max_mode, write).with_context(fail),
        }
    }

    /// [`Output::write_with`], and the exit status when the run must end here (as
    /// [`Output::deliver`]).
    pub fn deliver_with(
        self,
        max_mode: u32,
        write: &mut dyn FnMut(&mut dyn Write) -> anyhow::Result<()>,
    ) -> Option<u8> {
        exit_of(self.write_with(max_mode, write))
    }

    /// Writes a rendered document and returns the exit status when the run must end here:
    /// `OK` for a reader that closed the pipe (nothing more to say to anyone), `FATAL` after
    /// one line on stderr for a failed render or write. `None`: written.
    pub fn deliver(self, rendered: anyhow::Result<Vec<u8>>) -> Option<u8> {
        exit_of(rendered.and_then(|bytes| self.write(&bytes)))
    }
}

/// The exit status a write ends the run with: none when written, `OK` for a reader that
/// closed the pipe, `FATAL` after one line on stderr.
fn exit_of(written: anyhow::Result<()>) -> Option<u8> {
    match written {
        Ok(()) => None,
        Err(e) if is_broken_pipe(&e) => Some(crate::exit::OK),
        Err(e) => {
            eprint_line(&format!("error: {e:#}"));
            Some(crate::exit::FATAL)
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
