//! What is timed, and how each is run: pmaps' per-file and per-process reports, `pmaps
//! capture -o FILE` (then, untimed, the archive's size against the raw smaps text in it),
//! pmaps' filtered questions (`-k deleted`, `-m <a library 1 % of processes map>`, each also
//! read in full with `--no-prefilter`), `pmaps record` and one `pmaps watch` sample, the floor
//! readers (this executable in its hidden `floor` mode), and the peers that are installed
//! (`smem -m`, `ps_mem`, `pmap -x` over every PID in batches; for the deleted-library question
//! `needrestart -b` and `lsof -nP +c0 | grep DEL`). Also finding them: building pmaps (or
//! `--pmaps`), and looking up the peers on PATH.

use std::ffi::CString;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;

use crate::archive;
use crate::child::RARE_LIB;
use crate::cli::FloorFile;
use crate::floor::list_pids;
use crate::measure::{Sample, busy_between, cpu_jiffies, run_measured};

/// pmap refuses more PIDs than this in one invocation.
pub const PMAP_BATCH: usize = 255;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    PmapsFile,
    PmapsProc,
    /// `pmaps capture -o FILE`: every process's smaps into an archive.
    PmapsCapture,
    FloorSmaps,
    FloorRollup,
    Smem,
    PsMem,
    PmapLoop,
    /// `pmaps record` into a database of the bench's directory (every snapshot kept).
    Record,
    /// `pmaps watch --count 1`: one sample of every process and every file.
    Watch,
    /// `pmaps -f prometheus`: every family derived from one file,process scan.
    PmapsProm,
    /// `--many-maps`: pmaps per-file with the workload only …
    ManyWithout,
    /// … and with one more process that has just under vm.max_map_count mappings.
    ManyWith,
    /// `pmaps -k deleted`: maps first, smaps where a deleted file is mapped …
    PmapsDeleted,
    /// … and the same read in full (`--no-prefilter`: every smaps, the cost before the plan).
    PmapsDeletedAll,
    /// `pmaps -m <the rare library>`, and read in full.
    PmapsRare,
    PmapsRareAll,
    /// The floors of those questions: every maps, then the matching processes' smaps; and
    /// every maps alone.
    FloorDeleted,
    FloorRare,
    FloorMaps,
    /// Peers for "which processes map a deleted library": `needrestart -b`, and
    /// checkrestart's method `lsof -nP +c0 | grep DEL`.
    Needrestart,
    LsofDel,
}

impl Kind {
    /// pmaps' arguments for a pmaps contender (`None` for the others).
    fn pmaps_args(self) -> Option<Vec<String>> {
        let rare = format!("{}$", regex_escape(RARE_LIB));
        let args: Vec<&str> = match self {
            Kind::PmapsProc => vec!["--group-by", "process", "--source", "rollup"],
            Kind::PmapsFile | Kind::ManyWithout | Kind::ManyWith => {
                vec!["--group-by", "file", "--source", "smaps"]
            }
            Kind::PmapsDeleted => vec!["--kind", "deleted"],
            Kind::PmapsDeletedAll => vec!["--kind", "deleted", "--no-prefilter"],
            Kind::PmapsRare => vec!["--map", &rare],
            Kind::PmapsRareAll => vec!["--map", &rare, "--no-prefilter"],
            Kind::PmapsProm => vec!["--format", "prometheus"],
            _ => return None,
        };
        Some(args.into_iter().map(String::from).collect())
    }

    /// The floor mode of a floor contender.
    fn floor_file(self) -> Option<FloorFile> {
        Some(match self {
            Kind::FloorSmaps => FloorFile::Smaps,
            Kind::FloorRollup => FloorFile::Rollup,
            Kind::FloorMaps => FloorFile::Maps,
            Kind::FloorDeleted => FloorFile::MapsDeleted,
            Kind::FloorRare => FloorFile::MapsRare,
            _ => return None,
        })
    }
}

/// `s` with the regex metacharacters it may hold (`.`) escaped.
fn regex_escape(s: &str) -> String {
    s.replace('.', "\\.")
}

pub struct Contender {
    pub kind: Kind,
    pub threads: usize,
    pub program: PathBuf,
}

impl Contender {
    pub fn name(&self) -> String {
        match self.kind {
            Kind::PmapsFile => "pmaps per-file (smaps)".into(),
            Kind::PmapsProc => "pmaps per-process (rollup)".into(),
            Kind::Record => "pmaps record (history)".into(),
            Kind::Watch => "pmaps watch, one sample".into(),
            Kind::PmapsProm => "pmaps -f prometheus".into(),
            Kind::PmapsCapture => "pmaps capture -o FILE".into(),
            Kind::FloorSmaps => "floor: read smaps".into(),
            Kind::FloorRollup => "floor: read smaps_rollup".into(),
            Kind::Smem => "smem -m".into(),
            Kind::PsMem => "ps_mem".into(),
            Kind::PmapLoop => format!("pmap -x, batches of {PMAP_BATCH}"),
            Kind::ManyWithout => "pmaps per-file, workload only".into(),
            Kind::ManyWith => "pmaps per-file, + max-maps process".into(),
            Kind::PmapsDeleted => "pmaps -k deleted".into(),
            Kind::PmapsDeletedAll => "pmaps -k deleted --no-prefilter".into(),
            Kind::PmapsRare => format!("pmaps -m {RARE_LIB}"),
            Kind::PmapsRareAll => format!("pmaps -m {RARE_LIB} --no-prefilter"),
            Kind::FloorDeleted => "floor: maps + smaps of deleted-lib procs".into(),
            Kind::FloorRare => "floor: maps + smaps of rare-lib procs".into(),
            Kind::FloorMaps => "floor: read maps".into(),
            Kind::Needrestart => "needrestart -b".into(),
            Kind::LsofDel => "lsof -nP +c0 | grep DEL".into(),
        }
    }
}

/// What every part of a benchmark run needs.
pub struct Env {
    /// This executable (workload children and floor readers).
    pub exe: PathBuf,
    /// The bench's temporary directory: workload files and contenders' stderr.
    pub dir: PathBuf,
    /// The "all threads" count: what pmaps uses by default.
    pub threads: usize,
    pub pmaps: Option<PathBuf>,
    pub peers: Peers,
}

impl Env {
    /// The contenders of one run, in their first order: pmaps (reports and capture) and the
    /// floor at 1 and all threads, the filtered questions and their floors at all threads,
    /// then the peers.
    pub fn contenders(&self) -> Vec<Contender> {
        let mut list = Vec::new();
        let thread_counts = if self.threads > 1 {
            vec![1, self.threads]
        } else {
            vec![1]
        };
        for t in thread_counts {
            if let Some(p) = &self.pmaps {
                for kind in [Kind::PmapsFile, Kind::PmapsProc, Kind::PmapsCapture] {
                    list.push(Contender {
                        kind,
                        threads: t,
                        program: p.clone(),
                    });
                }
            }
            if let Some(p) = &self.pmaps
                && t == self.threads
            {
                for kind in [Kind::Record, Kind::Watch, Kind::PmapsProm] {
                    list.push(Contender {
                        kind,
                        threads: t,
                        program: p.clone(),
                    });
                }
            }
            for kind in [Kind::FloorSmaps, Kind::FloorRollup] {
                list.push(Contender {
                    kind,
                    threads: t,
                    program: self.exe.clone(),
                });
            }
        }
        // The filtered questions, at all threads only.
        if let Some(p) = &self.pmaps {
            for kind in [
                Kind::PmapsDeleted,
                Kind::PmapsDeletedAll,
                Kind::PmapsRare,
                Kind::PmapsRareAll,
            ] {
                list.push(Contender {
                    kind,
                    threads: self.threads,
                    program: p.clone(),
                });
            }
        }
        for kind in [Kind::FloorMaps, Kind::FloorDeleted, Kind::FloorRare] {
            list.push(Contender {
                kind,
                threads: self.threads,
                program: self.exe.clone(),
            });
        }
        for (kind, prog) in [
            (Kind::Smem, &self.peers.smem),
            (Kind::PsMem, &self.peers.ps_mem),
            (Kind::PmapLoop, &self.peers.pmap),
            (Kind::Needrestart, &self.peers.needrestart),
            (Kind::LsofDel, &self.peers.lsof),
        ] {
            if let Some(p) = prog {
                list.push(Contender {
                    kind,
                    threads: 1,
                    program: p.clone(),
                });
            }
        }
        list
    }

    fn stderr_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("stderr-{name}.txt"))
    }

    fn stderr_file(&self, name: &str) -> Result<File> {
        let path = self.stderr_path(name);
        File::create(&path).with_context(|| format!("creating {}", path.display()))
    }

    /// Fails unless every run of `cmd` exited 0 or 3 (a partial scan), with the end of its
    /// stderr (kept under `name`).
    fn check_codes(&self, cmd: &Command, s: &Sample, name: &str) -> Result<()> {
        if s.codes.iter().any(|&code| code != 0 && code != 3) {
            bail!(
                "{cmd:?} failed with exit code {:?}; its stderr ends:\n{}",
                s.codes,
                self.stderr_tail(name)
            );
        }
        Ok(())
    }

    fn stderr_tail(&self, name: &str) -> String {
        let s = fs::read_to_string(self.stderr_path(name)).unwrap_or_default();
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }
}

/// Runs one contender once, measured.
pub fn run(c: &Contender, env: &Env) -> Result<Sample> {
    if let Some(args) = c.kind.pmaps_args() {
        let mut cmd = Command::new(&c.program);
        if !args.iter().any(|a| a == "--format") {
            cmd.args(["--format", "csv"]);
        }
        cmd.args(args)
            .arg("--threads")
            .arg(c.threads.to_string())
            .stdout(Stdio::null())
            .stderr(env.stderr_file("pmaps")?);
        let s = run_measured(&mut cmd, false)?;
        env.check_codes(&cmd, &s, "pmaps")?;
        return Ok(s);
    }
    if let Some(file) = c.kind.floor_file() {
        let file = file.to_possible_value().context("floor file")?;
        let mut cmd = Command::new(&env.exe);
        cmd.args(["floor", file.get_name(), "--threads"])
            .arg(c.threads.to_string())
            .stderr(Stdio::inherit());
        let mut s = run_measured(&mut cmd, true)?;
        if s.codes.iter().any(|&code| code != 0) {
            bail!("floor reader failed: exit codes {:?}", s.codes);
        }
        if s.rchar.is_none() {
            // /proc/PID/io unavailable: use the reader's own count.
            s.rchar = s
                .stdout
                .split_whitespace()
                .find_map(|w| w.strip_prefix("bytes="))
                .and_then(|b| b.parse().ok());
        }
        return Ok(s);
    }
    match c.kind {
        Kind::Record | Kind::Watch => {
            let (mut cmd, name) = if c.kind == Kind::Record {
                let db = env.dir.join("record.sqlite");
                if !db.exists() {
                    // Timed as cron runs it: into a history that already holds the machine
                    // (the first record into an empty one is timed by `--record-snapshots`).
                    crate::history::record_once(&c.program, &db, c.threads)?;
                }
                let cmd = crate::history::record_command(&c.program, &db, c.threads);
                (cmd, "record")
            } else {
                // Its scan runs one worker per CPU, as the report's "all threads" does.
                let mut cmd = Command::new(&c.program);
                cmd.args(["watch", "--count", "1", "--format", "csv"])
                    .stdout(Stdio::null());
                (cmd, "watch")
            };
            cmd.stderr(env.stderr_file(name)?);
            let s = run_measured(&mut cmd, false)?;
            // watch: 0, no suspect (one sample has none); record: 3 is a partial scan.
            env.check_codes(&cmd, &s, name)?;
            Ok(s)
        }
        Kind::PmapsCapture => {
            // What a user runs: the archive to a file (replaced atomically), here in the
            // bench's temporary directory.
            let path = env.dir.join("capture.tar.zst");
            let mut cmd = Command::new(&c.program);
            cmd.args(["capture", "-o"])
                .arg(&path)
                .arg("-j")
                .arg(c.threads.to_string())
                .stdout(Stdio::null())
                .stderr(env.stderr_file("capture")?);
            let mut s = run_measured(&mut cmd, false)?;
            env.check_codes(&cmd, &s, "capture")?;
            s.archive = Some(archive::sizes(&path)?);
            Ok(s)
        }
        Kind::Needrestart => {
            let mut cmd = Command::new(&c.program);
            cmd.arg("-b")
                .stdout(Stdio::null())
                .stderr(env.stderr_file("needrestart")?);
            run_measured(&mut cmd, false)
        }
        Kind::LsofDel => {
            // checkrestart's method; the rusage of `sh` includes lsof's and grep's.
            let mut cmd = Command::new("sh");
            cmd.arg("-c")
                .arg(format!("'{}' -nP +c0 | grep DEL", c.program.display()))
                .stdout(Stdio::null())
                .stderr(env.stderr_file("lsof")?);
            run_measured(&mut cmd, false)
        }
        Kind::Smem | Kind::PsMem => {
            let name = if c.kind == Kind::Smem {
                "smem"
            } else {
                "ps_mem"
            };
            let mut cmd = Command::new(&c.program);
            if c.kind == Kind::Smem {
                cmd.arg("-m");
            }
            cmd.stdout(Stdio::null()).stderr(env.stderr_file(name)?);
            run_measured(&mut cmd, false)
        }
        Kind::PmapLoop => {
            let pids = list_pids()?;
            let j0 = cpu_jiffies();
            let start = Instant::now();
            let mut total = Sample::default();
            for batch in pids.chunks(PMAP_BATCH) {
                let mut cmd = Command::new(&c.program);
                cmd.arg("-x")
                    .args(batch.iter().map(|p| p.to_string()))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
                let s = run_measured(&mut cmd, false)?;
                total.user += s.user;
                total.sys += s.sys;
                total.maxrss_kib = total.maxrss_kib.max(s.maxrss_kib);
                total.rchar = match (total.rchar, s.rchar) {
                    (Some(a), Some(b)) => Some(a + b),
                    (None, b) if total.codes.is_empty() => b,
                    _ => None,
                };
                total.codes.extend(s.codes);
            }
            total.wall = start.elapsed();
            total.machine_busy = busy_between(j0, cpu_jiffies());
            Ok(total)
        }
        // pmaps and the floors were run above.
        _ => bail!("{} has no runner", c.name()),
    }
}

/// The pmaps binary to time: `--pmaps PATH`, or `target/release/pmaps` next to this
/// executable's profile directory, built first with cargo.
pub fn locate_pmaps(given: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = given {
        if !p.is_file() {
            bail!("--pmaps {}: no such file", p.display());
        }
        return Ok(p.to_path_buf());
    }
    let exe = std::env::current_exe().context("locating the bench executable")?;
    // target/<profile>/examples/bench -> target/<profile>/pmaps
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .with_context(|| format!("unexpected location {}", exe.display()))?;
    let target_dir = profile_dir.parent().unwrap_or(profile_dir);
    let bin = target_dir.join("release").join("pmaps");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("bench: cargo build --release --bin pmaps");
    let status = Command::new(&cargo)
        .args(["build", "--release", "--bin", "pmaps"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", target_dir)
        .stdin(Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) if bin.is_file() => {
            eprintln!("bench: WARNING: building pmaps failed ({s}); timing the existing binary")
        }
        Ok(s) => bail!("building pmaps failed ({s}); try --skip-pmaps"),
        Err(e) => bail!("running {cargo:?}: {e}"),
    }
    if !bin.is_file() {
        bail!("{} not found after building", bin.display());
    }
    Ok(bin)
}

/// The peers found, and notes for the report header (what is missing, what is timed).
pub struct Peers {
    pub smem: Option<PathBuf>,
    pub ps_mem: Option<PathBuf>,
    pub pmap: Option<PathBuf>,
    pub needrestart: Option<PathBuf>,
    pub lsof: Option<PathBuf>,
    pub notes: Vec<String>,
}

impl Peers {
    pub fn detect(no_peers: bool) -> Peers {
        let mut p = Peers {
            smem: None,
            ps_mem: None,
            pmap: None,
            needrestart: None,
            lsof: None,
            notes: Vec::new(),
        };
        if no_peers {
            p.notes.push("peers not timed (--no-peers)".into());
            return p;
        }
        p.smem = find_in_path("smem");
        p.pmap = find_in_path("pmap");
        p.ps_mem = find_in_path("ps_mem");
        p.needrestart = find_in_path("needrestart");
        p.lsof = find_in_path("lsof");
        // A pyenv shim adds a bash wrapper and `pyenv exec` to every run: time the real script.
        if let Some(shim) = p
            .ps_mem
            .clone()
            .filter(|s| s.to_string_lossy().contains("/shims/"))
        {
            let real = Command::new("pyenv")
                .args(["which", "ps_mem"])
                .stderr(Stdio::null())
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
                .filter(|p| p.is_file());
            if let Some(real) = real {
                p.notes.push(format!(
                    "ps_mem: timing {} (not the pyenv shim {})",
                    real.display(),
                    shim.display()
                ));
                p.ps_mem = Some(real);
            }
        }
        for (name, found, how) in [
            ("smem", &p.smem, "apt-get install smem"),
            ("ps_mem", &p.ps_mem, "pip install ps_mem"),
            ("pmap", &p.pmap, "procps"),
            ("needrestart", &p.needrestart, "apt-get install needrestart"),
            ("lsof", &p.lsof, "apt-get install lsof"),
        ] {
            if found.is_none() {
                p.notes
                    .push(format!("{name}: not installed, row skipped ({how})"));
            }
        }
        p
    }
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| {
            let Ok(c) = CString::new(p.as_os_str().as_encoded_bytes()) else {
                return false;
            };
            // SAFETY: valid NUL-terminated path.
            p.is_file() && unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0
        })
}
