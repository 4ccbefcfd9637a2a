//! The processes the bench started, and how they end. Every child (workload process or timed
//! contender) is registered here by PID between spawn and reap; the SIGINT/SIGTERM/SIGHUP
//! handler kills exactly the registered PIDs (async-signal-safe: atomics and kill(2) only) and
//! sets the interrupt flag, which the main flow polls through [`check_interrupted`] and turns
//! into the [`Interrupted`] error. A PID is forgotten before it is reaped, while it cannot yet
//! be reused, so the handler never kills a recycled PID. Also: reaping with rusage, and exit
//! statuses as shell-style codes.

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use anyhow::{Result, bail};

/// How many children can be registered at once.
pub const MAX_PIDS: usize = 1 << 15;
static PIDS: [AtomicI32; MAX_PIDS] = [const { AtomicI32::new(0) }; MAX_PIDS];
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The error of a run ended by SIGINT, SIGTERM or SIGHUP.
#[derive(Debug)]
pub struct Interrupted;

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

pub fn check_interrupted() -> Result<()> {
    if interrupted() {
        Err(Interrupted.into())
    } else {
        Ok(())
    }
}

/// Registers a PID we just started; returns its slot for [`unregister`].
pub fn register(pid: i32) -> Result<usize> {
    for (slot, cell) in PIDS.iter().enumerate() {
        if cell
            .compare_exchange(0, pid, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            if interrupted() {
                // The handler may have run before the PID was visible to it.
                kill(pid);
            }
            return Ok(slot);
        }
    }
    kill(pid);
    bail!("more than {MAX_PIDS} child processes")
}

/// Forgets a PID before it is reaped (while it cannot be reused).
pub fn unregister(slot: usize) {
    PIDS[slot].store(0, Ordering::SeqCst);
}

pub fn kill(pid: i32) {
    if pid > 0 {
        // SAFETY: kill(2) with a positive PID we started; no memory is involved.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

extern "C" fn on_signal(_sig: libc::c_int) {
    // Async-signal-safe: atomics and kill(2) only.
    INTERRUPTED.store(true, Ordering::SeqCst);
    for cell in PIDS.iter() {
        kill(cell.load(Ordering::SeqCst));
    }
}

pub fn install_signal_handlers() -> Result<()> {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: a zeroed sigaction is valid; the handler only touches atomics and kill(2).
        // No SA_RESTART: blocking waits return EINTR so the main loop sees the flag. A second
        // signal gets the default action (SA_RESETHAND); children die by PDEATHSIG then.
        let rc = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            sa.sa_flags = libc::SA_RESETHAND;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut())
        };
        if rc != 0 {
            bail!("sigaction({sig}): {}", io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Sleeps until SIGINT, SIGTERM or SIGHUP (`--hold`); returns the [`Interrupted`] error.
pub fn wait_for_signal() -> anyhow::Error {
    while !interrupted() {
        // SAFETY: pause has no memory effects; the handler sets INTERRUPTED.
        unsafe { libc::pause() };
    }
    Interrupted.into()
}

/// Reaps a child we killed or that exited (retrying on EINTR): its wait status and rusage.
pub fn reap(pid: i32) -> (i32, libc::rusage) {
    let mut status = 0;
    // SAFETY: zeroed rusage is valid plain data.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: valid pointers to locals.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return (status, ru);
        }
    }
}

/// A wait status as a shell would show it: the exit code, or 128 + the signal.
pub fn exit_code(status: i32) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        -1
    }
}
