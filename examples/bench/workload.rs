//! The workload, from the bench's side: the files every workload process maps (in a temporary
//! directory, removed at the end), and starting and killing the processes. [`Workload::start`]
//! runs copies of this executable in the hidden `child` mode (`child.rs`), registers every PID
//! with `pids.rs` at once (so Ctrl-C kills it), and waits until each has written `ready`;
//! stopping (explicit, or on drop: errors and panics too) kills exactly those PIDs and reaps
//! them.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use tempfile::TempDir;

use crate::child::{OWN_LIBS, RARE_LIB, Role};
use crate::pids;

/// Creates the bench's temporary directory with the files every workload process maps: its
/// own "libraries" `libbench{i}.so`, the rare one, `big.dat` (`big_mib` MiB, shared by all)
/// and `cow.dat`.
pub fn create_files(big_mib: usize) -> Result<TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("pmaps-bench-")
        .tempdir()
        .context("creating the temporary directory")?;
    eprintln!("bench: writing workload files in {}", dir.path().display());
    const LIB_KIB: [usize; OWN_LIBS] = [256, 384, 512, 768, 1024, 1280, 1536, 2048];
    for (i, kib) in LIB_KIB.iter().enumerate() {
        write_pattern_file(
            &dir.path().join(format!("libbench{i}.so")),
            kib * 1024,
            i as u8,
        )?;
    }
    write_pattern_file(&dir.path().join(RARE_LIB), 512 * 1024, 0x20)?;
    write_pattern_file(&dir.path().join("big.dat"), big_mib * 1024 * 1024, 0x40)?;
    write_pattern_file(&dir.path().join("cow.dat"), 1024 * 1024, 0x80)?;
    Ok(dir)
}

/// `len` bytes of a non-zero pattern that depends on `seed`.
fn write_pattern_file(path: &Path, len: usize, seed: u8) -> Result<()> {
    let chunk: Vec<u8> = (0..1024 * 1024usize)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) | 1)
        .collect();
    let mut f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len());
        f.write_all(&chunk[..n])
            .with_context(|| format!("writing {}", path.display()))?;
        left -= n;
    }
    Ok(())
}

struct Kid {
    pid: i32,
    slot: usize,
}

/// The processes we started; killed (by PID) and reaped on drop.
pub struct Workload {
    kids: Vec<Kid>,
}

impl Workload {
    /// Starts one child of this executable (`exe`) per (index, role), with the files in
    /// `dir`, and waits until every one is ready.
    pub fn start(exe: &Path, dir: &Path, roles: &[(usize, Role)]) -> Result<Workload> {
        let mut wl = Workload { kids: Vec::new() };
        let mut pipes = Vec::with_capacity(roles.len());
        let parent = std::process::id().to_string();
        for &(idx, role) in roles {
            pids::check_interrupted()?;
            let mut child = Command::new(exe)
                .arg("child")
                .arg(role.to_string())
                .arg(idx.to_string())
                .arg(dir)
                .arg(&parent)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .with_context(|| format!("starting workload child {idx}"))?;
            let pid = child.id() as i32;
            let slot = pids::register(pid)?;
            wl.kids.push(Kid { pid, slot });
            let out = child.stdout.take().context("child stdout missing")?;
            pipes.push((idx, role, pid, out));
        }
        for (idx, role, pid, out) in pipes {
            let mut line = String::new();
            let got = BufReader::new(out).read_line(&mut line);
            pids::check_interrupted()?;
            match got {
                Ok(_) if line == "ready\n" => {}
                Ok(_) => {
                    bail!("workload child {idx} ({role}, PID {pid}) ended before it was ready")
                }
                Err(e) => bail!("workload child {idx} (PID {pid}): {e}"),
            }
        }
        Ok(wl)
    }

    pub fn pids(&self) -> impl Iterator<Item = i32> + '_ {
        self.kids.iter().map(|k| k.pid)
    }

    /// Kills every process we started, then reaps them.
    pub fn stop(&mut self) {
        for k in &self.kids {
            pids::kill(k.pid);
        }
        for k in self.kids.drain(..) {
            pids::unregister(k.slot);
            pids::reap(k.pid);
        }
    }
}

impl Drop for Workload {
    fn drop(&mut self) {
        self.stop();
    }
}
