//! Running the `pmaps` binary under test and checking how it exited.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::helpers::{nobody_exe, setpriv_nobody};

/// The `pmaps` binary under test.
pub fn pmaps_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pmaps"))
}

/// `pmaps` with stdin from /dev/null, ready for arguments.
pub fn pmaps_cmd() -> Command {
    let mut c = Command::new(pmaps_bin());
    c.stdin(Stdio::null());
    c
}

/// `pmaps --proc-root ROOT` with stdin from /dev/null, ready for more arguments.
pub fn pmaps_on(root: &Path) -> Command {
    let mut c = pmaps_cmd();
    c.arg("--proc-root").arg(root);
    c
}

/// Runs `cmd` and collects its output.
pub fn output(mut cmd: Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Runs `pmaps` with `args` and collects its output.
pub fn run_pmaps<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = pmaps_cmd();
    cmd.args(args);
    output(cmd)
}

/// Runs `pmaps` with `args` as nobody:nogroup (through `setpriv`; needs root) and collects
/// its output.
pub fn run_pmaps_as_nobody<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let exe = nobody_exe(&pmaps_bin());
    let mut cmd = setpriv_nobody(&exe.path);
    cmd.args(args).stdin(Stdio::null());
    output(cmd)
}

/// Bytes as text, invalid UTF-8 replaced (for messages and loose comparisons).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The exit code of a run, which must not have died from a signal.
pub fn code(out: &Output) -> i32 {
    out.status
        .code()
        .unwrap_or_else(|| panic!("pmaps died from a signal: {:?}", out.status))
}

/// Asserts that a run exited with `code`, showing its stdout and stderr otherwise.
pub fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// stdout of a run, which must be UTF-8.
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is not UTF-8")
}

/// stderr of a run, invalid UTF-8 replaced.
pub fn stderr(o: &Output) -> String {
    text(&o.stderr)
}

/// The stdout of a run expected to exit with `code`.
pub fn expect_exit(o: &Output, code: i32) -> String {
    assert_exit(o, code);
    stdout(o)
}

/// Runs pmaps and checks its exit status, showing its arguments and output on failure.
pub fn pmaps_ok<I, S>(args: I, code: i32) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let out = run_pmaps(&args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "pmaps {args:?}\nstdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// Runs pmaps and expects a complete report: exit 0 and nothing on stderr.
pub fn run_clean<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let out = pmaps_ok(&args, 0);
    assert!(
        out.stderr.is_empty(),
        "pmaps {args:?} wrote on stderr: {}",
        text(&out.stderr)
    );
    out
}

/// `-p` argument: the PIDs joined with commas.
pub fn pid_list<I>(pids: I) -> String
where
    I: IntoIterator<Item = u32>,
{
    pids.into_iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(",")
}
