//! Live helper processes (`examples/maphelper.rs`) with known mappings, started as root or as
//! nobody, and always killed by PID.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::SystemTime;

use super::files::set_mode;
use super::oracle::maps_paths;
use super::run::pmaps_bin;

/// `<dir of the pmaps binary>/examples/maphelper`, built once per test process with
/// `cargo build --example maphelper` (same profile and target directory) when it is missing
/// or older than its sources (e.g. under `cargo test --test it`, which does not build
/// examples).
pub fn maphelper_bin() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let pmaps = pmaps_bin();
        let profile_dir = pmaps
            .parent()
            .expect("CARGO_BIN_EXE_pmaps has no parent directory");
        let helper = profile_dir.join("examples").join("maphelper");
        let stale = match std::fs::metadata(&helper).and_then(|m| m.modified()) {
            Ok(built) => maphelper_sources_modified().is_some_and(|src| built < src),
            Err(_) => true,
        };
        if stale {
            build_maphelper(profile_dir);
        }
        assert!(
            helper.is_file(),
            "maphelper binary not found at {} even after building it",
            helper.display()
        );
        helper
    })
    .clone()
}

/// The newest modification time among maphelper's sources: `examples/maphelper.rs` and any
/// module it may include from `examples/shared/*.rs` (none is fine). `None` when none can be
/// read (then the binary that exists is used as it is).
fn maphelper_sources_modified() -> Option<SystemTime> {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut sources = vec![examples.join("maphelper.rs")];
    if let Ok(entries) = std::fs::read_dir(examples.join("shared")) {
        sources.extend(
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "rs")),
        );
    }
    sources
        .iter()
        .filter_map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .max()
}

fn build_maphelper(profile_dir: &Path) {
    let dir_name = profile_dir
        .file_name()
        .and_then(OsStr::to_str)
        .expect("profile directory of the pmaps binary has no UTF-8 name");
    // target/debug is the `dev` profile; every other profile directory is named after it.
    let profile = if dir_name == "debug" { "dev" } else { dir_name };
    let mut target_dir = profile_dir
        .parent()
        .expect("profile directory has no parent")
        .to_path_buf();
    let mut cmd = Command::new(env!("CARGO"));
    cmd.arg("build")
        .arg("--example")
        .arg("maphelper")
        .arg("--profile")
        .arg(profile)
        .arg("--manifest-path")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"));
    // Cross builds live in <target-dir>/<triple>/<profile>: pass the triple on.
    if let (Some(triple), Some(parent)) = (target_dir.file_name(), target_dir.parent())
        && triple.to_string_lossy().contains('-')
        && parent.join("CACHEDIR.TAG").exists()
    {
        cmd.arg("--target").arg(triple);
        target_dir = parent.to_path_buf();
    }
    cmd.arg("--target-dir").arg(&target_dir);
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {:?} to build maphelper: {e}", env!("CARGO")));
    assert!(
        out.status.success(),
        "`cargo build --example maphelper --profile {profile}` failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `Command` running `cmd` as nobody:nogroup with no supplementary groups (via `setpriv`,
/// which execs, so the child's PID is the command's own).
pub fn setpriv_nobody(cmd: &Path) -> Command {
    let mut c = Command::new("setpriv");
    c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
        .arg(cmd);
    c
}

/// An executable that `nobody` can run: the original path when every directory above it is
/// searchable by others and the file is executable by others (`/tmp/…`, `/work/…`), else a
/// copy in a mode-0755 temporary directory (e.g. for a target directory under a 0700 `/root`).
pub struct NobodyExe {
    pub path: PathBuf,
    _copy: Option<tempfile::TempDir>,
}

fn others_can(path: &Path, bit: u32) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & bit != 0)
}

/// See [`NobodyExe`].
pub fn nobody_exe(bin: &Path) -> NobodyExe {
    let reachable = others_can(bin, 0o001)
        && bin
            .ancestors()
            .skip(1)
            .filter(|d| !d.as_os_str().is_empty())
            .all(|d| others_can(d, 0o001));
    if reachable {
        return NobodyExe {
            path: bin.to_path_buf(),
            _copy: None,
        };
    }
    let dir = tempfile::Builder::new()
        .prefix("nobody-exe")
        .tempdir_in("/tmp")
        .expect("cannot create a temporary directory in /tmp");
    set_mode(dir.path(), 0o755);
    let name = bin.file_name().expect("executable path has no file name");
    let path = dir.path().join(name);
    std::fs::copy(bin, &path)
        .unwrap_or_else(|e| panic!("cannot copy {} to {}: {e}", bin.display(), path.display()));
    set_mode(&path, 0o755);
    NobodyExe {
        path,
        _copy: Some(dir),
    }
}

/// SIGKILL to `pid` (errors such as ESRCH are ignored).
pub fn kill_pid(pid: u32) {
    let pid = libc::pid_t::try_from(pid).expect("pid does not fit pid_t");
    assert!(pid > 0, "refusing to kill pid {pid}");
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(pid, libc::SIGKILL) };
}

/// Stops `pid` with SIGSTOP and waits until its state reads `T`: nothing it does moves its
/// numbers until [`thaw`].
pub fn freeze(pid: u32) {
    // SAFETY: kill has no memory-safety preconditions; the pid is a live child of ours.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGSTOP) }, 0);
    for _ in 0..500 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|r| r.trim().chars().next());
        if state == Some('T') {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("helper {pid} did not stop");
}

/// Lets a process stopped by [`freeze`] run again.
pub fn thaw(pid: u32) {
    // SAFETY: kill has no memory-safety preconditions; the pid is a live child of ours.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGCONT) }, 0);
}

/// Waits until `path`'s pages are on disk: a copy just written has dirty pages that
/// writeback cleans whenever it comes, which would move the Dirty fields of every process
/// mapping it between two reads (a helper stopped with SIGSTOP included).
fn written_back(path: &Path) {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .unwrap_or_else(|e| panic!("cannot sync {}: {e}", path.display()));
}

/// A running `maphelper` process (see `examples/maphelper.rs` for the flags).
///
/// Dropping it SIGKILLs it by PID and reaps it. Note: the helper asks for SIGKILL when its
/// parent *thread* exits (PR_SET_PDEATHSIG), so keep it on the thread that spawned it.
#[derive(Debug)]
pub struct Helper {
    pub pid: u32,
    child: Child,
    stdout: BufReader<ChildStdout>,
    stdin: Option<ChildStdin>,
    stderr: Option<ChildStderr>,
    reaped: bool,
}

impl Helper {
    /// Starts maphelper with `args` and waits for its `ready <pid>` line.
    pub fn spawn<I, S>(args: I) -> Helper
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(maphelper_bin());
        cmd.args(args);
        Helper::start(cmd)
    }

    /// Like [`Helper::spawn`], but the helper runs as nobody:nogroup (through `setpriv`), with
    /// the helper binary made reachable for nobody first (see [`NobodyExe`]). Files it maps
    /// must be readable by nobody (tempfile creates 0600 files in 0700 dirs).
    pub fn spawn_as_nobody<I, S>(args: I) -> Helper
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let exe = nobody_exe(&maphelper_bin());
        let mut cmd = setpriv_nobody(&exe.path);
        cmd.args(args);
        // setpriv execs the helper: once it printed ready, the copy may go.
        Helper::start(cmd)
    }

    /// Starts an arbitrary command that behaves like maphelper (prints `ready <pid>`).
    pub fn start(mut cmd: Command) -> Helper {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start helper {cmd:?}: {e}"));
        let stdout = child.stdout.take().expect("helper stdout was not piped");
        let mut helper = Helper {
            pid: child.id(),
            stdin: child.stdin.take(),
            stderr: child.stderr.take(),
            stdout: BufReader::new(stdout),
            child,
            reaped: false,
        };
        let line = helper.next_line();
        let expected = format!("ready {}", helper.pid);
        if line.as_deref() != Some(expected.as_str()) {
            // Failed before ready: the helper exits 1 after printing its error.
            let status = helper.child.wait();
            helper.reaped = true;
            let mut err = String::new();
            if let Some(mut e) = helper.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!(
                "helper {cmd:?} did not print {expected:?} (got {line:?}); status {status:?}; \
                 stderr:\n{err}"
            );
        }
        helper
    }

    /// The next line the helper prints on stdout, without the newline (`None` at EOF).
    /// After `--exec-after-ms`, the re-executed image prints a second `ready <pid>`.
    pub fn next_line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => {
                if line.ends_with('\n') {
                    line.pop();
                }
                Some(line)
            }
        }
    }

    /// Closes stdin and waits for the helper to exit by itself (for `--wait-stdin`).
    pub fn wait_exit(mut self) -> ExitStatus {
        self.stdin = None;
        let status = self.child.wait().expect("waiting for the helper failed");
        self.reaped = true;
        status
    }

    /// Kills the helper by PID and reaps it; afterwards `/proc/<pid>` is gone.
    pub fn kill(mut self) {
        self.kill_and_reap();
    }

    fn kill_and_reap(&mut self) {
        if !self.reaped {
            // Not reaped yet, so the PID cannot have been reused.
            kill_pid(self.pid);
            let _ = self.child.wait();
            self.reaped = true;
        }
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        self.kill_and_reap();
    }
}

/// Raises this test process's own soft RLIMIT_NOFILE (a test that starts hundreds of
/// helpers holds three pipes per helper).
pub fn raise_own_fd_limit(want: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid pointer to a local.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    if lim.rlim_cur < want {
        lim.rlim_cur = want.min(lim.rlim_max);
        // SAFETY: valid pointer to a local.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    }
}

/// Private copies of `maphelper`, its dynamic loader and its shared libraries, for helpers
/// whose PSS must not move while the test runs.
///
/// A helper linked against the system's libc shares those pages with every process that maps
/// them, pmaps and `pmap` included: each observer's own mappings lower the helper's PSS, by a
/// different amount for each observer (it depends on which library pages each one faulted
/// in), and processes starting elsewhere on the machine move it too. A helper started through
/// copies of ld.so and its libraries shares no file page with anyone but the other helpers
/// started from the same copies, so its PSS is the same whoever reads it and whenever. (The
/// binary is copied too: helpers of tests running in parallel map the original.)
pub struct PrivateLibs {
    pub dir: tempfile::TempDir,
    /// The copied dynamic loader.
    pub loader: PathBuf,
    /// The copied maphelper (helpers of other tests running meanwhile map the original).
    pub helper: PathBuf,
}

impl Default for PrivateLibs {
    fn default() -> Self {
        PrivateLibs::new()
    }
}

impl PrivateLibs {
    /// Copies what `ldd <maphelper>` lists (each library under its soname) into a temp dir.
    pub fn new() -> PrivateLibs {
        let helper = maphelper_bin();
        let out = Command::new("ldd")
            .arg(&helper)
            .output()
            .unwrap_or_else(|e| panic!("cannot run ldd: {e}"));
        assert!(out.status.success(), "ldd {} failed", helper.display());
        let dir = tempfile::Builder::new()
            .prefix("private-libs")
            .tempdir()
            .expect("cannot create a temporary directory");
        set_mode(dir.path(), 0o755);
        let mut loader = None;
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let line = line.trim();
            // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)` or
            // `/lib64/ld-linux-x86-64.so.2 (0x…)`; the vDSO has no file.
            let (soname, path) = match line.split_once(" => ") {
                Some((soname, rest)) => (soname, rest.split(" (").next().unwrap_or("")),
                None => {
                    let path = line.split(" (").next().unwrap_or("");
                    (path.rsplit('/').next().unwrap_or(""), path)
                }
            };
            if !path.starts_with('/') {
                continue;
            }
            let copy = dir.path().join(soname);
            std::fs::copy(path, &copy)
                .unwrap_or_else(|e| panic!("cannot copy {path} to {}: {e}", copy.display()));
            set_mode(&copy, 0o755);
            written_back(&copy);
            if soname.starts_with("ld-") {
                loader = Some(copy);
            }
        }
        let loader = loader.expect("ldd names no dynamic loader (a static maphelper?)");
        let copy = dir.path().join("maphelper");
        std::fs::copy(&helper, &copy).unwrap_or_else(|e| {
            panic!(
                "cannot copy {} to {}: {e}",
                helper.display(),
                copy.display()
            )
        });
        set_mode(&copy, 0o755);
        written_back(&copy);
        PrivateLibs {
            dir,
            loader,
            helper: copy,
        }
    }

    /// Starts the copied maphelper through the copied loader and libraries, and checks that
    /// it maps no system file (nothing under `/usr` or `/lib`) and that its shared libraries
    /// and its executable are the private copies.
    pub fn spawn<I, S>(&self, args: I) -> Helper
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.spawn_with(args, |_| {})
    }

    /// [`PrivateLibs::spawn`], with `setup` applied to the command first (a `pre_exec`).
    pub fn spawn_with<I, S>(&self, args: I, setup: impl FnOnce(&mut Command)) -> Helper
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(&self.loader);
        cmd.arg("--library-path")
            .arg(self.dir.path())
            .arg(&self.helper)
            .args(args);
        setup(&mut cmd);
        let helper = Helper::start(cmd);
        let private = self.dir.path().as_os_str().as_encoded_bytes();
        for path in maps_paths(helper.pid) {
            let shown = String::from_utf8_lossy(&path);
            assert!(
                !path.starts_with(b"/usr") && !path.starts_with(b"/lib"),
                "helper {} maps a system file: {shown}",
                helper.pid
            );
            let is_so = path.windows(3).any(|w| w == b".so");
            if is_so || path.ends_with(b"maphelper") {
                assert!(
                    path.starts_with(private),
                    "helper {} maps a shared library or executable that is not a private \
                     copy: {shown}",
                    helper.pid
                );
            }
        }
        helper
    }
}
