//! Running `pmaps` under limits, for the tests of bounded cost: a deadline (`timeout`, so a
//! hang fails the test instead of stalling the suite), an address-space cap (`prlimit --as`,
//! so a buffer that grows with hostile input aborts the run instead of passing unnoticed), a
//! process cap (`prlimit --nproc`), an unprivileged uid, and a pseudo-terminal (`script`).

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::helpers::nobody_exe;
use super::run::{output, pmaps_bin};

/// The limits of one run. `Limits::new(secs)` sets only the deadline.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// Killed (SIGKILL, after SIGTERM) when it runs longer.
    pub seconds: u64,
    /// `RLIMIT_AS` in bytes (`ulimit -v`).
    pub address_space: Option<u64>,
    /// `RLIMIT_NPROC` (`ulimit -u`): counts every process and thread of the real uid, so it
    /// binds only with `uid` set (root's own processes are exempt).
    pub nproc: Option<u64>,
    /// Runs as this uid and gid (through `setpriv`), with no supplementary groups.
    pub uid: Option<u32>,
    /// Runs on a pseudo-terminal (`script`): standard input, output and error are a tty.
    pub tty: bool,
}

impl Limits {
    pub fn new(seconds: u64) -> Limits {
        Limits {
            seconds,
            ..Limits::default()
        }
    }
}

/// What a limited run did: its output, and how long it took.
pub struct Limited {
    pub out: Output,
    pub took: Duration,
}

impl Limited {
    /// The exit code; fails the test when the run was killed at the deadline, died of a
    /// signal (an allocation abort under the address-space cap is SIGABRT) or panicked.
    pub fn code(&self) -> i32 {
        let out = &self.out;
        let shown = || {
            format!(
                "status {:?} after {:.1} s\nstdout:\n{}\nstderr:\n{}",
                out.status,
                self.took.as_secs_f64(),
                tail(&out.stdout),
                tail(&out.stderr)
            )
        };
        let code = out
            .status
            .code()
            .unwrap_or_else(|| panic!("died of a signal: {}", shown()));
        // `timeout` exits 124 (137 once it had to SIGKILL); a shell reports a signal death as
        // 128 + the signal; 101 is a Rust panic.
        assert!(
            !matches!(code, 124 | 137 | 101) && code < 128,
            "not a clean exit: {}",
            shown()
        );
        code
    }
}

fn tail(bytes: &[u8]) -> String {
    let from = bytes.len().saturating_sub(2000);
    String::from_utf8_lossy(&bytes[from..]).into_owned()
}

/// Runs `pmaps args` under `limits` and collects its output.
pub fn run_limited<I, S>(limits: &Limits, args: I) -> Limited
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    // The copy nobody may run has to outlive the run.
    let exe = limits.uid.map(|_| nobody_exe(&pmaps_bin()));
    let mut argv: Vec<OsString> = vec![
        "timeout".into(),
        "-k".into(),
        "5".into(),
        limits.seconds.to_string().into(),
        "prlimit".into(),
    ];
    if let Some(bytes) = limits.address_space {
        argv.push(format!("--as={bytes}").into());
    }
    if let Some(n) = limits.nproc {
        argv.push(format!("--nproc={n}").into());
    }
    argv.push("--".into());
    if let Some(uid) = limits.uid {
        argv.extend(
            [
                "setpriv".to_string(),
                format!("--reuid={uid}"),
                format!("--regid={uid}"),
                "--clear-groups".into(),
                "--".into(),
            ]
            .map(OsString::from),
        );
    }
    match &exe {
        Some(e) => argv.push(e.path.clone().into_os_string()),
        None => argv.push(pmaps_bin().into_os_string()),
    }
    argv.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
    let mut cmd = if limits.tty {
        // `script -qec CMD /dev/null`: CMD on a new pseudo-terminal, its status passed on.
        let line: Vec<String> = argv.iter().map(|a| shell_quote(a)).collect();
        let mut c = Command::new("script");
        c.arg("-qec").arg(line.join(" ")).arg("/dev/null");
        c
    } else {
        let mut c = Command::new(&argv[0]);
        c.args(&argv[1..]);
        c
    };
    cmd.stdin(Stdio::null());
    let started = Instant::now();
    let out = output(cmd);
    Limited {
        out,
        took: started.elapsed(),
    }
}

/// `'…'` with every `'` spelled `'\''`.
fn shell_quote(arg: &OsStr) -> String {
    let text = String::from_utf8_lossy(arg.as_bytes());
    format!("'{}'", text.replace('\'', r"'\''"))
}
