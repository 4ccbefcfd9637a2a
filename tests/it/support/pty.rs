//! Running a command in a pseudo-terminal of a set size, as a user at a terminal would see
//! it: its standard output is the terminal (so it fits that size), its standard error a
//! pipe kept apart for the tests or the same terminal, its standard input /dev/null.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::process::{Command, ExitStatus, Stdio};

use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use rustix::termios::{Winsize, tcsetwinsize};

/// What a command printed on a terminal.
#[derive(Debug)]
pub struct Screen {
    /// Standard output as the terminal got it, its `\r\n` line ends turned into `\n`.
    pub text: String,
    pub stderr: String,
    pub status: ExitStatus,
}

impl Screen {
    pub fn lines(&self) -> Vec<&str> {
        self.text.lines().collect()
    }

    /// The exit code, which must not be a signal.
    pub fn code(&self) -> i32 {
        self.status
            .code()
            .unwrap_or_else(|| panic!("killed by a signal: {:?}", self.status))
    }
}

/// Runs `cmd` with its standard output on a new terminal of `rows` lines and `cols`
/// columns, and collects what it printed. `COLUMNS` and `LINES` are removed from its
/// environment unless the caller set them on `cmd`.
pub fn run_on_terminal(cmd: Command, rows: u16, cols: u16) -> Screen {
    terminal_run(cmd, rows, cols, false)
}

/// [`run_on_terminal`] with standard error on the terminal too (`Screen::stderr` is then
/// empty: the messages are in `text`, where a user sees them).
pub fn run_all_on_terminal(cmd: Command, rows: u16, cols: u16) -> Screen {
    terminal_run(cmd, rows, cols, true)
}

fn terminal_run(mut cmd: Command, rows: u16, cols: u16, stderr_too: bool) -> Screen {
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
        .expect("cannot open a pseudo-terminal");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let name = ptsname(&master, Vec::new()).expect("ptsname");
    let name = std::ffi::OsStr::from_bytes(name.as_bytes());
    let slave: File = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(name)
        .unwrap_or_else(|e| panic!("cannot open {name:?}: {e}"));
    let size = Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    tcsetwinsize(&slave, size).expect("cannot set the terminal's size");
    for var in ["COLUMNS", "LINES"] {
        if !cmd.get_envs().any(|(k, _)| k == var) {
            cmd.env_remove(var);
        }
    }
    let stderr = if stderr_too {
        Stdio::from(slave.try_clone().expect("dup"))
    } else {
        Stdio::piped()
    };
    cmd.stdin(Stdio::null())
        .stdout(slave.try_clone().expect("dup"))
        .stderr(stderr);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    // Only the child may hold the terminal now: the last close ends the reads below.
    drop(cmd);
    drop(slave);
    let mut master = File::from(master);
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match master.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                // EIO: every holder of the terminal closed it.
                Err(e) if e.raw_os_error() == Some(libc::EIO) => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => panic!("reading the terminal: {e}"),
            }
        }
        out
    });
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let status = child.wait().expect("wait");
    let out = reader.join().expect("terminal reader");
    Screen {
        text: String::from_utf8_lossy(&out).replace("\r\n", "\n"),
        stderr,
        status,
    }
}
