//! Measuring one child process, and the machine around it. [`run_measured`] times a command
//! from spawn to exit, then reads `/proc/PID/io` (rchar, while the child is a zombie) and the
//! `wait4` rusage of exactly that child (user, system, peak RSS). `/proc/stat` gives the CPU use
//! of the whole machine during a run (for the `others %` column), the background use, and
//! [`wait_for_quiet`] before each run. Also the median used for every column.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::archive::ArchiveSizes;
use crate::pids;

#[derive(Clone, Default)]
pub struct Sample {
    pub wall: Duration,
    pub user: Duration,
    pub sys: Duration,
    pub maxrss_kib: u64,
    pub rchar: Option<u64>,
    pub codes: BTreeSet<i32>,
    pub stdout: String,
    /// Non-idle CPU time of the whole machine during the run (all processes).
    pub machine_busy: Option<Duration>,
    /// What a capture wrote (read after the run, untimed).
    pub archive: Option<ArchiveSizes>,
}

impl Sample {
    /// CPU used by other processes during the run, % of all CPUs.
    pub fn others_pct(&self) -> f64 {
        let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        self.machine_busy.map_or(f64::NAN, |b| {
            let own = (self.user + self.sys).as_secs_f64();
            100.0 * (b.as_secs_f64() - own).max(0.0) / (self.wall.as_secs_f64() * ncpu)
        })
    }
}

fn tv(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
}

fn read_rchar(pid: i32) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("rchar:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Runs a command to completion: wall time from spawn to exit, then rchar (read while the
/// child is a zombie) and rusage of exactly that child (wait4). With `capture`, its stdout.
pub fn run_measured(cmd: &mut Command, capture: bool) -> Result<Sample> {
    cmd.stdin(Stdio::null());
    if capture {
        cmd.stdout(Stdio::piped());
    }
    let j0 = cpu_jiffies();
    let start = Instant::now();
    let mut child = cmd.spawn().with_context(|| format!("starting {cmd:?}"))?;
    let pid = child.id() as i32;
    let slot = pids::register(pid)?;
    let mut out = Vec::new();
    if let Some(mut so) = child.stdout.take() {
        let _ = so.read_to_end(&mut out);
    }
    loop {
        // SAFETY: zeroed siginfo_t is valid plain data; WNOWAIT leaves the zombie in place.
        let r = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if r == 0 {
            break;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            pids::kill(pid);
            pids::unregister(slot);
            pids::reap(pid);
            bail!("waitid({pid}): {e}");
        }
        if pids::interrupted() {
            pids::kill(pid);
        }
    }
    let wall = start.elapsed();
    let machine_busy = busy_between(j0, cpu_jiffies());
    let rchar = read_rchar(pid);
    pids::unregister(slot);
    let (status, ru) = pids::reap(pid);
    drop(child);
    pids::check_interrupted()?;
    Ok(Sample {
        wall,
        user: tv(ru.ru_utime),
        sys: tv(ru.ru_stime),
        maxrss_kib: ru.ru_maxrss.max(0) as u64,
        rchar,
        codes: BTreeSet::from([pids::exit_code(status)]),
        stdout: String::from_utf8_lossy(&out).into_owned(),
        machine_busy,
        archive: None,
    })
}

/// (idle, total) jiffies of all CPUs from /proc/stat.
pub fn cpu_jiffies() -> Option<(u64, u64)> {
    let stat = fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user)
    let total = fields.iter().take(8).sum();
    let idle = fields.get(3)? + fields.get(4).unwrap_or(&0);
    Some((idle, total))
}

/// Non-idle CPU time of the machine between two `cpu_jiffies` readings.
pub fn busy_between(a: Option<(u64, u64)>, b: Option<(u64, u64)>) -> Option<Duration> {
    let ((i0, t0), (i1, t1)) = (a?, b?);
    // SAFETY: sysconf has no memory effects.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    let busy = (t1.saturating_sub(t0)).saturating_sub(i1.saturating_sub(i0));
    Some(Duration::from_micros(busy * 1_000_000 / hz))
}

/// Fraction of CPU time idle over `window`.
fn idle_fraction(window: Duration) -> f64 {
    let a = cpu_jiffies();
    std::thread::sleep(window);
    match (a, cpu_jiffies()) {
        (Some((i0, t0)), Some((i1, t1))) if t1 > t0 => (i1 - i0) as f64 / (t1 - t0) as f64,
        _ => 1.0,
    }
}

/// CPU use of the machine while nothing of ours runs (kernel threads such as kdamond can take
/// a share that grows with the workload): the most idle of several short windows, as %.
pub fn background_busy_pct() -> f64 {
    let idle = (0..6)
        .map(|_| idle_fraction(Duration::from_millis(500)))
        .fold(0.0, f64::max);
    100.0 * (1.0 - idle)
}

/// Waits until the CPUs are about as idle as the background allows (`quiet_idle`), at most
/// `max`; returns whether they were.
pub fn wait_for_quiet(max: Duration, quiet_idle: f64) -> Result<bool> {
    let start = Instant::now();
    let mut said = false;
    loop {
        pids::check_interrupted()?;
        let idle = idle_fraction(Duration::from_millis(500));
        if idle >= quiet_idle || start.elapsed() >= max {
            if said {
                eprintln!(
                    "bench: waited {:.0} s; CPU idle {:.0} %",
                    start.elapsed().as_secs_f64(),
                    idle * 100.0
                );
            }
            return Ok(idle >= quiet_idle);
        }
        if !said {
            eprintln!(
                "bench: other work is using the CPUs (idle {:.0} %); waiting up to {} s",
                idle * 100.0,
                max.as_secs()
            );
            said = true;
        }
    }
}

/// The median of the finite values (NaN when there are none).
pub fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}
