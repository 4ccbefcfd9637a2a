//! Writing the rendered report: to stdout, where a closed pipe ends the run quietly, or to
//! `--output FILE`, replaced atomically (a temp file in the same directory, synced, then
//! renamed over the target: readers see the old report or the new one, never a mix; a
//! symlink planted at the path is replaced, not followed; on failure the old file stays and
//! the temp file is removed).

use std::fs::Permissions;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

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

/// Writes a rendered document to `path` (atomically) or to stdout, and returns the exit
/// status when the run must end here: `OK` for a reader that closed the pipe (nothing more to
/// say to anyone), `FATAL` after one line on stderr for a failed write. `None`: written.
pub fn deliver(rendered: anyhow::Result<Vec<u8>>, path: Option<&Path>) -> Option<u8> {
    let written = rendered.and_then(|bytes| match path {
        Some(path) => write_atomic(path, &bytes),
        None => write_stdout(&bytes),
    });
    exit_of(written)
}

/// The exit status a write ends the run with: none when written, `OK` for a closed pipe,
/// `FATAL` after one line on stderr.
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

/// Writes all of `bytes` to stdout and flushes.
pub fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .context("cannot write to standard output")
}

/// Replaces `path` with `bytes`, atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_atomic_with(path, 0o644, |w| {
        w.write_all(bytes)
            .with_context(|| format!("cannot write {}", path.display()))
    })
}

/// Writes what `write` streams to stdout (buffered, flushed at the end) or to `path`
/// (atomically, with `mode`), and returns the exit status when the run must end here, as
/// [`deliver`] does. Errors of `write` are shown as they are (they say what failed).
pub fn deliver_streamed(
    path: Option<&Path>,
    mode: u32,
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> Option<u8> {
    let written = match path {
        Some(path) => write_atomic_with(path, mode, write),
        None => {
            let mut out = io::BufWriter::with_capacity(256 * 1024, io::stdout().lock());
            write(&mut out).and_then(|()| out.flush().context("cannot write to standard output"))
        }
    };
    exit_of(written)
}

/// Replaces `path` with what `write` streams, atomically, with permissions `mode`. On any
/// error the old file stays and the temporary one is removed.
pub fn write_atomic_with(
    path: &Path,
    mode: u32,
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let fail = || format!("cannot write {}", path.display());
    let tmp = tempfile::Builder::new()
        .prefix(".pmaps-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(fail)?;
    let mut buffered = io::BufWriter::with_capacity(256 * 1024, tmp.as_file());
    write(&mut buffered)?;
    buffered.flush().with_context(fail)?;
    drop(buffered);
    tmp.as_file().sync_all().with_context(fail)?;
    tmp.as_file()
        .set_permissions(Permissions::from_mode(mode))
        .with_context(fail)?;
    // rename(2) replaces whatever is at `path` (a symlink included) without following it.
    tmp.persist(path).map_err(|e| e.error).with_context(fail)?;
    // The rename itself is durable only once the directory is synced.
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(fail)?;
    Ok(())
}
