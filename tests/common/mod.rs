//! Shared support for the integration tests: the binaries, live helper processes
//! (`examples/maphelper.rs`), fake `/proc` trees for `pmaps --proc-root`, and builders that
//! print smaps/maps text in the kernel's exact layout.
//!
//! Used as `mod common;` from several test files; not every file uses every item.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::OnceLock;

/// PF_KTHREAD, the `flags` bit (field 9 of `stat`) of a kernel thread.
pub const PF_KTHREAD: u64 = 0x0020_0000;
/// PF_RANDOMIZE, set on ordinary user processes (the real `flags` of `cat` is 4194304).
pub const PF_RANDOMIZE: u64 = 0x0040_0000;

/// The `pmaps` binary under test.
pub fn pmaps_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pmaps"))
}

/// `<dir of the pmaps binary>/examples/maphelper`, built once per test process with
/// `cargo build --example maphelper` (same profile and target directory) when it is missing
/// or older than `examples/maphelper.rs` (e.g. under `cargo test --test NAME`, which does not
/// build examples).
pub fn maphelper_bin() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let pmaps = pmaps_bin();
        let profile_dir = pmaps
            .parent()
            .expect("CARGO_BIN_EXE_pmaps has no parent directory");
        let helper = profile_dir.join("examples").join("maphelper");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/maphelper.rs");
        let stale = match (std::fs::metadata(&helper), std::fs::metadata(&source)) {
            (Ok(bin), Ok(src)) => match (bin.modified(), src.modified()) {
                (Ok(b), Ok(s)) => b < s,
                _ => false,
            },
            (Err(_), _) => true,
            (Ok(_), Err(_)) => false,
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

/// Runs `pmaps` with `args` and collects its output.
pub fn run_pmaps<I, S>(args: I) -> std::process::Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new(pmaps_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", pmaps_bin().display()))
}

/// SIGKILL to `pid` (errors such as ESRCH are ignored).
pub fn kill_pid(pid: u32) {
    let pid = libc::pid_t::try_from(pid).expect("pid does not fit pid_t");
    assert!(pid > 0, "refusing to kill pid {pid}");
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(pid, libc::SIGKILL) };
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

    /// Like [`Helper::spawn`], but the helper runs as nobody:nogroup (through `setpriv`).
    /// Files it maps must be readable by nobody (tempfile creates 0600 files in 0700 dirs).
    pub fn spawn_as_nobody<I, S>(args: I) -> Helper
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = setpriv_nobody(&maphelper_bin());
        cmd.args(args);
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

    /// Closes the helper's stdin (a `--wait-stdin` helper then exits 0).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Closes stdin and waits for the helper to exit by itself (for `--wait-stdin`).
    pub fn wait_exit(mut self) -> ExitStatus {
        self.close_stdin();
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

/// A fake `/proc` tree in a temporary directory, for `pmaps --proc-root DIR`.
pub struct FakeProc {
    pub dir: tempfile::TempDir,
}

impl Default for FakeProc {
    fn default() -> Self {
        FakeProc::new()
    }
}

impl FakeProc {
    /// An empty tree (mode 0755, so a helper running as nobody can read it).
    pub fn new() -> FakeProc {
        let dir = tempfile::Builder::new()
            .prefix("fakeproc")
            .tempdir()
            .expect("cannot create a temporary directory");
        set_mode(dir.path(), 0o755);
        FakeProc { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// `<root>/self` -> `"<pid>"` (a relative symlink, as in the real /proc).
    pub fn self_pid(&self, pid: u32) {
        let link = self.root().join("self");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(pid.to_string(), &link)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", link.display()));
    }

    /// A builder for `<root>/<pid>/`; nothing is written until [`FakeProcess::write`].
    pub fn process(&self, pid: u32) -> FakeProcess<'_> {
        FakeProcess {
            root: self.root(),
            pid,
            comm: format!("fake{pid}").into_bytes(),
            state: b'S',
            ppid: 1,
            flags: PF_RANDOMIZE,
            uid: 0,
            start_time: 1000 + u64::from(pid),
            vsize: None,
            cmdline: None,
            stat: true,
            status: true,
            files: Vec::new(),
        }
    }
}

/// One fake process. Defaults: comm `fake<pid>`, state `S`, ppid 1, flags PF_RANDOMIZE, uid 0,
/// start_time 1000+pid, vsize 8 MiB (0 for kernel threads and zombies, which have no mm),
/// empty cmdline; `stat` and `status` are generated, other files exist only when set.
pub struct FakeProcess<'a> {
    root: &'a Path,
    pid: u32,
    comm: Vec<u8>,
    state: u8,
    ppid: u32,
    flags: u64,
    uid: u32,
    start_time: u64,
    vsize: Option<u64>,
    cmdline: Option<Vec<u8>>,
    stat: bool,
    status: bool,
    files: Vec<(String, Vec<u8>)>,
}

impl FakeProcess<'_> {
    /// Raw comm bytes (may contain spaces, `)`, newlines and non-UTF-8), written as-is in
    /// `stat` and `comm`, escaped like the kernel in `status`.
    pub fn comm(mut self, comm: &[u8]) -> Self {
        self.comm = comm.to_vec();
        self
    }
    /// `b'S'` by default; `b'Z'` for a zombie.
    pub fn state(mut self, state: u8) -> Self {
        self.state = state;
        self
    }
    pub fn ppid(mut self, ppid: u32) -> Self {
        self.ppid = ppid;
        self
    }
    /// `stat` field 9; [`PF_KTHREAD`] makes a kernel thread.
    pub fn flags(mut self, flags: u64) -> Self {
        self.flags = flags;
        self
    }
    /// Written in `status`; when the tests run as root, the files are also chowned to it.
    pub fn uid(mut self, uid: u32) -> Self {
        self.uid = uid;
        self
    }
    /// `stat` field 22, in clock ticks since boot.
    pub fn start_time(mut self, ticks: u64) -> Self {
        self.start_time = ticks;
        self
    }
    /// `stat` field 23 in bytes (and `VmSize:` in `status`).
    pub fn vsize(mut self, bytes: u64) -> Self {
        self.vsize = Some(bytes);
        self
    }
    /// Raw `cmdline` bytes (NUL-separated), written as-is.
    pub fn cmdline(mut self, bytes: &[u8]) -> Self {
        self.cmdline = Some(bytes.to_vec());
        self
    }
    pub fn smaps(self, bytes: &[u8]) -> Self {
        self.file("smaps", bytes)
    }
    pub fn smaps_rollup(self, bytes: &[u8]) -> Self {
        self.file("smaps_rollup", bytes)
    }
    pub fn maps(self, bytes: &[u8]) -> Self {
        self.file("maps", bytes)
    }
    /// Any other file under `<root>/<pid>/` (`name` may contain `/`; parents are created).
    /// Setting `stat`, `status` or `cmdline` here replaces the generated one.
    pub fn file(mut self, name: &str, bytes: &[u8]) -> Self {
        match name {
            "stat" => self.stat = false,
            "status" => self.status = false,
            _ => {}
        }
        self.files.retain(|(n, _)| n != name);
        self.files.push((name.to_string(), bytes.to_vec()));
        self
    }
    /// Do not create `stat`.
    pub fn no_stat(mut self) -> Self {
        self.stat = false;
        self
    }
    /// Do not create `status`.
    pub fn no_status(mut self) -> Self {
        self.status = false;
        self
    }

    fn is_kthread(&self) -> bool {
        self.flags & PF_KTHREAD != 0
    }

    /// Whether the kernel would have an mm for it (not a kernel thread, not a zombie).
    fn has_mm(&self) -> bool {
        !self.is_kthread() && self.state != b'Z' && self.state != b'X'
    }

    /// Kernel threads have pgrp and session 0; a fake user process leads its own.
    fn pgrp_session(&self) -> (u32, u32) {
        if self.is_kthread() {
            (0, 0)
        } else {
            (self.pid, self.pid)
        }
    }

    fn vsize_bytes(&self) -> u64 {
        self.vsize
            .unwrap_or(if self.has_mm() { 8 << 20 } else { 0 })
    }

    /// The 52-field `stat` line, in the kernel's layout.
    pub fn stat_bytes(&self) -> Vec<u8> {
        let pid = self.pid;
        let vsize = self.vsize_bytes();
        let mm = self.has_mm();
        let rss_pages = if mm { vsize / 4096 / 4 } else { 0 };
        // startcode endcode startstack / start_data end_data start_brk arg_start arg_end
        // env_start env_end: plausible addresses when there is an mm, 0 otherwise.
        let a = |v: u64| if mm { v } else { 0 };
        let (pgrp, session) = self.pgrp_session();
        let mut out = format!("{pid} (").into_bytes();
        out.extend_from_slice(&self.comm);
        out.extend_from_slice(b") ");
        out.push(self.state);
        let fields: [String; 49] = [
            self.ppid.to_string(),              // 4 ppid
            pgrp.to_string(),                   // 5 pgrp
            session.to_string(),                // 6 session
            "0".into(),                         // 7 tty_nr
            "-1".into(),                        // 8 tpgid
            self.flags.to_string(),             // 9 flags
            "0".into(),                         // 10 minflt
            "0".into(),                         // 11 cminflt
            "0".into(),                         // 12 majflt
            "0".into(),                         // 13 cmajflt
            "0".into(),                         // 14 utime
            "0".into(),                         // 15 stime
            "0".into(),                         // 16 cutime
            "0".into(),                         // 17 cstime
            "20".into(),                        // 18 priority
            "0".into(),                         // 19 nice
            "1".into(),                         // 20 num_threads
            "0".into(),                         // 21 itrealvalue
            self.start_time.to_string(),        // 22 starttime
            vsize.to_string(),                  // 23 vsize
            rss_pages.to_string(),              // 24 rss
            u64::MAX.to_string(),               // 25 rsslim
            a(94_118_448_889_856).to_string(),  // 26 startcode
            a(94_118_448_909_737).to_string(),  // 27 endcode
            a(140_727_464_301_184).to_string(), // 28 startstack
            "0".into(),                         // 29 kstkesp
            "0".into(),                         // 30 kstkeip
            "0".into(),                         // 31 signal
            "0".into(),                         // 32 blocked
            "0".into(),                         // 33 sigignore
            "0".into(),                         // 34 sigcatch
            "0".into(),                         // 35 wchan
            "0".into(),                         // 36 nswap
            "0".into(),                         // 37 cnswap
            "17".into(),                        // 38 exit_signal
            "0".into(),                         // 39 processor
            "0".into(),                         // 40 rt_priority
            "0".into(),                         // 41 policy
            "0".into(),                         // 42 delayacct_blkio_ticks
            "0".into(),                         // 43 guest_time
            "0".into(),                         // 44 cguest_time
            a(94_118_448_925_744).to_string(),  // 45 start_data
            a(94_118_448_927_360).to_string(),  // 46 end_data
            a(94_118_461_972_480).to_string(),  // 47 start_brk
            a(140_727_464_303_132).to_string(), // 48 arg_start
            a(140_727_464_303_152).to_string(), // 49 arg_end
            a(140_727_464_303_152).to_string(), // 50 env_start
            a(140_727_464_304_619).to_string(), // 51 env_end
            "0".into(),                         // 52 exit_code
        ];
        for f in fields {
            out.push(b' ');
            out.extend_from_slice(f.as_bytes());
        }
        out.push(b'\n');
        out
    }

    /// The generated `status` (first lines of the real layout: tab after the colon).
    pub fn status_bytes(&self) -> Vec<u8> {
        let pid = self.pid;
        let uid = self.uid;
        let mut out = b"Name:\t".to_vec();
        // The kernel escapes only '\n' and '\\' in Name:.
        for &c in &self.comm {
            match c {
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\\' => out.extend_from_slice(b"\\\\"),
                c => out.push(c),
            }
        }
        let state_name = match self.state {
            b'R' => "R (running)",
            b'S' => "S (sleeping)",
            b'D' => "D (disk sleep)",
            b'T' => "T (stopped)",
            b't' => "t (tracing stop)",
            b'X' => "X (dead)",
            b'Z' => "Z (zombie)",
            b'P' => "P (parked)",
            b'I' => "I (idle)",
            _ => "S (sleeping)",
        };
        let kthread = u8::from(self.is_kthread());
        let ppid = self.ppid;
        let (pgrp, session) = self.pgrp_session();
        out.extend_from_slice(
            format!(
                "\nUmask:\t0022\nState:\t{state_name}\nTgid:\t{pid}\nNgid:\t0\nPid:\t{pid}\n\
                 PPid:\t{ppid}\nTracerPid:\t0\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t0\t0\t0\t0\n\
                 FDSize:\t64\nGroups:\t \nNStgid:\t{pid}\nNSpid:\t{pid}\nNSpgid:\t{pgrp}\n\
                 NSsid:\t{session}\nKthread:\t{kthread}\n"
            )
            .as_bytes(),
        );
        if self.has_mm() {
            let vm_kb = self.vsize_bytes() / 1024;
            let rss_kb = vm_kb / 4;
            for (k, v) in [
                ("VmPeak", vm_kb),
                ("VmSize", vm_kb),
                ("VmLck", 0),
                ("VmPin", 0),
                ("VmHWM", rss_kb),
                ("VmRSS", rss_kb),
                ("RssAnon", 0),
                ("RssFile", rss_kb),
                ("RssShmem", 0),
                ("VmData", 0),
                ("VmStk", 132),
                ("VmExe", 0),
                ("VmLib", 0),
                ("VmPTE", 0),
                ("VmSwap", 0),
            ] {
                out.extend_from_slice(format!("{k}:\t{v:>8} kB\n").as_bytes());
            }
        }
        out.extend_from_slice(b"Threads:\t1\n");
        out
    }

    /// Writes `<root>/<pid>/` (and returns its path).
    pub fn write(self) -> PathBuf {
        let dir = self.root.join(self.pid.to_string());
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        set_mode(&dir, 0o755);
        let put = |name: &str, bytes: &[u8]| {
            let p = dir.join(name);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)
                    .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
            }
            std::fs::write(&p, bytes)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", p.display()));
        };
        if self.stat {
            put("stat", &self.stat_bytes());
        }
        if self.status {
            put("status", &self.status_bytes());
        }
        let mut comm = self.comm.clone();
        comm.push(b'\n');
        if !self.files.iter().any(|(n, _)| n == "comm") {
            put("comm", &comm);
        }
        if !self.files.iter().any(|(n, _)| n == "cmdline") {
            put("cmdline", self.cmdline.as_deref().unwrap_or(b""));
        }
        for (name, bytes) in &self.files {
            put(name, bytes);
        }
        // The real /proc/<pid> belongs to the process's uid: mirror it when we are root.
        // SAFETY: geteuid has no preconditions.
        if self.uid != 0 && unsafe { libc::geteuid() } == 0 {
            chown_tree(&dir, self.uid);
        }
        dir
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", path.display()));
}

fn chown_tree(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), None)
        .unwrap_or_else(|e| panic!("cannot chown {}: {e}", path.display()));
    if path.is_dir() && !path.is_symlink() {
        let entries = std::fs::read_dir(path)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", path.display()));
        for entry in entries {
            let entry = entry.unwrap_or_else(|e| panic!("cannot list {}: {e}", path.display()));
            chown_tree(&entry.path(), uid);
        }
    }
}

/// One smaps record: `header` (a newline is added when it lacks one) and one line per key in
/// the kernel layout `{key:}` left-aligned in 16 columns, the value right-aligned in 8, ` kB`.
/// `THPeligible` and `ProtectionKey` have no ` kB` unit, as the kernel prints them.
pub fn smaps_record(header: impl AsRef<[u8]>, kb: &[(&str, u64)]) -> Vec<u8> {
    let mut out = header.as_ref().to_vec();
    if out.last() != Some(&b'\n') {
        out.push(b'\n');
    }
    for &(key, v) in kb {
        out.extend_from_slice(smaps_line(key, v).as_bytes());
    }
    out
}

fn smaps_line(key: &str, v: u64) -> String {
    let k = format!("{key}:");
    match key {
        "THPeligible" | "ProtectionKey" => format!("{k:<16}{v:>8}\n"),
        _ => format!("{k:<16}{v:>8} kB\n"),
    }
}

/// A complete smaps record with every key a 6.x kernel prints, in its order.
///
/// Derived values: KernelPageSize/MMUPageSize 4, Pss_Dirty = min(pss, shared_dirty +
/// private_dirty), Referenced = rss, Anonymous = private_dirty for private (`p`) mappings and 0
/// for shared ones, everything else 0; `VmFlags:` follows the header's permissions
/// (`rd wr ex sh` + `mr mw me` + `ms` when shared, with the kernel's trailing space).
#[allow(clippy::too_many_arguments)]
pub fn full_smaps_record(
    header: impl AsRef<[u8]>,
    size_kb: u64,
    rss_kb: u64,
    pss_kb: u64,
    shared_clean_kb: u64,
    shared_dirty_kb: u64,
    private_clean_kb: u64,
    private_dirty_kb: u64,
    swap_kb: u64,
    swap_pss_kb: u64,
) -> Vec<u8> {
    let header = header.as_ref();
    let perms: &[u8] = header
        .split(|&c| c == b' ')
        .nth(1)
        .filter(|p| p.len() == 4)
        .unwrap_or(b"rw-p");
    let shared = perms[3] == b's';
    let mut out = smaps_record(
        header,
        &[
            ("Size", size_kb),
            ("KernelPageSize", 4),
            ("MMUPageSize", 4),
            ("Rss", rss_kb),
            ("Pss", pss_kb),
            ("Pss_Dirty", pss_kb.min(shared_dirty_kb + private_dirty_kb)),
            ("Shared_Clean", shared_clean_kb),
            ("Shared_Dirty", shared_dirty_kb),
            ("Private_Clean", private_clean_kb),
            ("Private_Dirty", private_dirty_kb),
            ("Referenced", rss_kb),
            ("Anonymous", if shared { 0 } else { private_dirty_kb }),
            ("KSM", 0),
            ("LazyFree", 0),
            ("AnonHugePages", 0),
            ("ShmemPmdMapped", 0),
            ("FilePmdMapped", 0),
            ("Shared_Hugetlb", 0),
            ("Private_Hugetlb", 0),
            ("Swap", swap_kb),
            ("SwapPss", swap_pss_kb),
            ("Locked", 0),
            ("THPeligible", 0),
        ],
    );
    let mut flags = String::from("VmFlags:");
    for (i, name) in ["rd", "wr", "ex"].iter().enumerate() {
        if perms[i] != b'-' {
            flags.push(' ');
            flags.push_str(name);
        }
    }
    if shared {
        flags.push_str(" sh");
    }
    flags.push_str(" mr mw me");
    if shared {
        flags.push_str(" ms");
    }
    flags.push_str(" \n");
    out.extend_from_slice(flags.as_bytes());
    out
}

/// One `maps` line (also the header of an smaps record), byte-exact with the kernel's
/// `show_map_vma()`: `%08lx-%08lx %s %08llx %s %lu ` and, when there is a path, spaces up to
/// column 72 plus one more space before it (so the path starts at column 73; a longer prefix
/// gets no padding but still the extra space). Without a path the line ends in `<inode> \n`
/// (a trailing space). `dev` is `MM:mm` in hex (`fe:00`); `path` is written as-is (the kernel
/// shows a newline in a file name as `\012`). The result ends with `\n`.
pub fn map_header(
    start: u64,
    end: u64,
    perms: &str,
    offset: u64,
    dev: &str,
    inode: u64,
    path: &[u8],
) -> Vec<u8> {
    let mut out = format!("{start:08x}-{end:08x} {perms} {offset:08x} {dev} {inode} ").into_bytes();
    if !path.is_empty() {
        const WIDTH: usize = 25 + 8 * 6 - 1; // 25 + sizeof(void *) * 6 - 1
        if out.len() < WIDTH {
            out.resize(WIDTH, b' ');
        }
        out.push(b' ');
        out.extend_from_slice(path);
    }
    out.push(b'\n');
    out
}

/// `path` as an `OsStr` of raw bytes (convenience for non-UTF-8 arguments).
pub fn os(bytes: &[u8]) -> &OsStr {
    OsStr::from_bytes(bytes)
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

/// Runs `pmaps` with `args` as nobody:nogroup (through `setpriv`; needs root) and collects
/// its output.
pub fn run_pmaps_as_nobody<I, S>(args: I) -> std::process::Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let exe = nobody_exe(&pmaps_bin());
    setpriv_nobody(&exe.path)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} as nobody: {e}", exe.path.display()))
}

/// [`Helper::spawn_as_nobody`], with the helper binary made reachable for nobody first.
pub fn spawn_helper_as_nobody<I, S>(args: I) -> Helper
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

/// Writes `len` bytes to `dir/name`, fsyncs it (freshly written page cache is *dirty* and would
/// show as `*_Dirty` in smaps until writeback) and makes it mode 0644, so a helper running as
/// nobody can map it (the directory must be searchable too: tempdirs are 0700).
pub fn synced_file(dir: &Path, name: &str, len: usize) -> PathBuf {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    let pattern: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    f.write_all(&pattern)
        .and_then(|()| f.sync_all())
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    f.set_permissions(std::fs::Permissions::from_mode(0o644))
        .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", path.display()));
    path
}

/// The sum of `key` (in kB) over the records of the live `/proc/<pid>/smaps` whose path column
/// is exactly `path` (e.g. `b"/tmp/x (deleted)"`, `b"[heap]"`, `b""` for anonymous); `None`
/// when no record matches.
pub fn smaps_kb(pid: u32, path: &[u8], key: &str) -> Option<u64> {
    let text = std::fs::read(format!("/proc/{pid}/smaps"))
        .unwrap_or_else(|e| panic!("cannot read /proc/{pid}/smaps: {e}"));
    let prefix = format!("{key}:");
    let mut in_match = false;
    let mut total = None;
    for line in text.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
        if let Some(p) = maps_line_path(line) {
            in_match = p == path;
        } else if in_match && line.starts_with(prefix.as_bytes()) {
            let v: u64 = String::from_utf8_lossy(&line[prefix.len()..])
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .unwrap_or_else(|e| {
                    panic!("bad smaps line {:?}: {e}", String::from_utf8_lossy(line))
                });
            *total.get_or_insert(0) += v;
        }
    }
    total
}

/// The path column of a maps/smaps header line (`Some(b"")` for anonymous mappings), or
/// `None` when `line` is not a header (a `Key: value` line).
pub fn maps_line_path(line: &[u8]) -> Option<&[u8]> {
    let first = line.split(|&c| c == b' ').next()?;
    if !first.contains(&b'-') || first.contains(&b':') {
        return None;
    }
    let mut rest = line;
    for _ in 0..5 {
        let sp = rest.iter().position(|&c| c == b' ')?;
        rest = &rest[sp + 1..];
    }
    let start = rest.iter().position(|&c| c != b' ').unwrap_or(rest.len());
    Some(&rest[start..])
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
        PrivateLibs {
            dir,
            loader,
            helper: copy,
        }
    }

    /// Starts the copied maphelper through the copied loader and libraries, and checks that
    /// it maps no shared library from elsewhere.
    pub fn spawn<I, S>(&self, args: I) -> Helper
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(&self.loader);
        cmd.arg("--library-path")
            .arg(self.dir.path())
            .arg(&self.helper)
            .args(args);
        let helper = Helper::start(cmd);
        let maps = std::fs::read(format!("/proc/{}/maps", helper.pid)).expect("read maps");
        for line in maps.split(|&c| c == b'\n') {
            let text = String::from_utf8_lossy(line);
            if text.contains(".so") {
                assert!(
                    text.contains(&*self.dir.path().to_string_lossy()),
                    "helper {} maps a shared library that is not a private copy: {text}",
                    helper.pid
                );
            }
        }
        helper
    }
}

/// Each CSV record as a map from the header names to the fields (read with the csv crate).
pub fn csv_records(text: &[u8]) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut r = csv::Reader::from_reader(text);
    let header = r.headers().expect("CSV header").clone();
    r.records()
        .map(|rec| {
            let rec = rec.expect("CSV record");
            header
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// A file of `bytes` bytes (a non-zero pattern, synced) at `dir/name`, mode 0644.
pub fn data_file(dir: &Path, name: &str, bytes: usize) -> PathBuf {
    let path = dir.join(name);
    let data: Vec<u8> = (0..bytes).map(|i| (i % 251) as u8 | 1).collect();
    std::fs::write(&path, data).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    std::fs::File::open(&path)
        .and_then(|f| f.sync_all())
        .unwrap_or_else(|e| panic!("sync {}: {e}", path.display()));
    set_mode(&path, 0o644);
    path
}

/// A temporary directory that nobody can enter (mode 0755).
pub fn open_tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("cannot create a temporary directory");
    set_mode(dir.path(), 0o755);
    dir
}

/// JSON `meta.coverage.outcomes` of a report: one count per documented outcome, nothing else.
#[derive(Debug, serde::Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Outcomes {
    pub read: u64,
    pub vanished: u64,
    pub zombie: u64,
    pub kernel_thread: u64,
    pub denied: u64,
    pub incomplete: u64,
    pub error: u64,
}

/// One entry of JSON `meta.coverage.problems`.
#[derive(Debug, serde::Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProblemJson {
    pub pid: u32,
    pub comm: String,
    pub outcome: String,
    pub path: Option<String>,
    pub detail: Option<String>,
}
