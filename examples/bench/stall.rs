//! The stall measurement: how long a large process waits while pmaps reads it. Every `smaps`
//! read holds the process's mmap lock while the kernel walks its page tables; `maps` walks
//! none.
//!
//! A faulter (this executable in its hidden `faulter` mode) maps `--stall-mib` MiB of
//! anonymous memory and makes it resident, then, until it is killed, drops one page
//! (`MADV_DONTNEED`) and writes it again, timing each such page fault; every 256th turn it
//! also maps and unmaps 64 KiB, as malloc does, which needs the mmap lock for writing. The
//! times go into two histograms. The bench resets them, runs one contender, and reads the
//! percentiles back: with no scan (the baseline window), during the full per-file report, and
//! during `pmaps -k deleted`. pmaps runs with one thread here, so that on a 2-core machine the
//! faulter keeps a CPU of its own and what is measured is the lock, not the scheduler.
//!
//! A blocked faulter takes no samples while it waits, so a stall is one slow sample among
//! hundreds of thousands: the p99 shows how often, the max and the time spent in turns slower
//! than 1 ms show how long.

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::contenders::{self, Contender, Env, Kind};
use crate::maps::{self, Region, Touch};
use crate::measure::median;
use crate::pids;

/// Log-linear buckets: 16 ns wide below 1,024 ns, then 16 per power of two.
const BUCKETS: usize = 64 + 40 * 16;

/// A latency histogram that one thread fills and another reads and resets.
struct Hist {
    counts: [AtomicU64; BUCKETS],
    max: AtomicU64,
    /// The sum of the latencies above 1 ms.
    slow_ns: AtomicU64,
}

impl Hist {
    const fn new() -> Hist {
        Hist {
            counts: [const { AtomicU64::new(0) }; BUCKETS],
            max: AtomicU64::new(0),
            slow_ns: AtomicU64::new(0),
        }
    }

    fn bucket(ns: u64) -> usize {
        if ns < 1024 {
            return (ns >> 4) as usize;
        }
        let e = 63 - u64::from(ns.leading_zeros());
        let sub = (ns >> (e - 4)) & 15;
        (64 + (e - 10) * 16 + sub).min(BUCKETS as u64 - 1) as usize
    }

    /// The largest latency a bucket holds.
    fn upper(b: usize) -> u64 {
        if b < 64 {
            return (b as u64 + 1) * 16 - 1;
        }
        let e = (b as u64 - 64) / 16 + 10;
        let sub = (b as u64 - 64) % 16;
        ((16 + sub + 1) << (e - 4)) - 1
    }

    fn record(&self, d: Duration) {
        let ns = d.as_nanos().min(u128::from(u64::MAX)) as u64;
        self.counts[Hist::bucket(ns)].fetch_add(1, Ordering::Relaxed);
        self.max.fetch_max(ns, Ordering::Relaxed);
        if ns > 1_000_000 {
            self.slow_ns.fetch_add(ns, Ordering::Relaxed);
        }
    }

    fn reset(&self) {
        for c in &self.counts {
            c.store(0, Ordering::Relaxed);
        }
        self.max.store(0, Ordering::Relaxed);
        self.slow_ns.store(0, Ordering::Relaxed);
    }

    /// `count p50 p99 p999 max slow` (ns; the percentiles are bucket upper bounds).
    fn summary(&self) -> String {
        let counts: Vec<u64> = self
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        let pct = |p: f64| {
            let want = (total as f64 * p).ceil() as u64;
            let mut seen = 0;
            for (b, n) in counts.iter().enumerate() {
                seen += n;
                if seen >= want.max(1) {
                    return Hist::upper(b);
                }
            }
            0
        };
        format!(
            "{total} {} {} {} {} {}",
            pct(0.50),
            pct(0.99),
            pct(0.999),
            self.max.load(Ordering::Relaxed),
            self.slow_ns.load(Ordering::Relaxed)
        )
    }
}

static FAULTS: Hist = Hist::new();
static MMAPS: Hist = Hist::new();

/// The hidden `faulter` mode: returns the exit code on failure; exits when stdin closes.
pub fn faulter(mib: usize) -> i32 {
    // SAFETY: prctl with integer arguments.
    unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    let page = match maps::page_size() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("bench faulter: {e}");
            return 1;
        }
    };
    let region = match Region::anon(mib * 1024 * 1024) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bench faulter: mmap of {mib} MiB: {e}");
            return 1;
        }
    };
    region.touch(page, Touch::Write);
    // Commands on stdin, answered by a thread of their own; this thread faults. The region
    // stays with the thread that mapped it.
    std::thread::spawn(|| {
        let mut out = io::stdout().lock();
        if writeln!(out, "ready").and_then(|()| out.flush()).is_err() {
            std::process::exit(1);
        }
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            let reply = match line.trim() {
                "reset" => {
                    FAULTS.reset();
                    MMAPS.reset();
                    "ok".to_string()
                }
                "report" => format!("{} {}", FAULTS.summary(), MMAPS.summary()),
                other => format!("unknown command {other:?}"),
            };
            if writeln!(out, "{reply}").and_then(|()| out.flush()).is_err() {
                break;
            }
        }
        std::process::exit(0);
    });
    fault_loop(&region, page)
}

/// Drops and faults in one page after the other, for ever.
fn fault_loop(region: &Region, page: usize) -> ! {
    let pages = region.len() / page;
    let mut i = 0usize;
    loop {
        let p = region.sub((i % pages) * page, page);
        // SAFETY: a page of our own mapping, which no Rust reference points into; its
        // content is only ever accessed through volatile writes.
        unsafe { libc::madvise(p.base().cast(), page, libc::MADV_DONTNEED) };
        let t0 = Instant::now();
        p.touch(page, Touch::Write);
        FAULTS.record(t0.elapsed());
        if i.is_multiple_of(256) {
            let t0 = Instant::now();
            if let Ok(r) = Region::anon(64 * 1024) {
                // SAFETY: unmaps the region just mapped, which nothing refers to.
                unsafe { libc::munmap(r.base().cast(), r.len()) };
            }
            MMAPS.record(t0.elapsed());
        }
        i = i.wrapping_add(1);
    }
}

/// A running faulter, killed (by PID) and reaped on drop.
struct Faulter {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    pid: i32,
    slot: usize,
}

impl Faulter {
    fn start(exe: &Path, mib: usize) -> Result<Faulter> {
        let mut child = Command::new(exe)
            .args(["faulter", &mib.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the faulter")?;
        let pid = child.id() as i32;
        let slot = pids::register(pid)?;
        let stdin = child.stdin.take().context("faulter stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("faulter stdout")?);
        let mut f = Faulter {
            child,
            stdin,
            stdout,
            pid,
            slot,
        };
        if f.line()? != "ready" {
            bail!("the faulter (PID {pid}) did not start");
        }
        Ok(f)
    }

    fn line(&mut self) -> Result<String> {
        let mut line = String::new();
        self.stdout.read_line(&mut line).context("faulter")?;
        pids::check_interrupted()?;
        Ok(line.trim().to_string())
    }

    fn ask(&mut self, command: &str) -> Result<String> {
        writeln!(self.stdin, "{command}").context("faulter")?;
        self.line()
    }
}

impl Drop for Faulter {
    fn drop(&mut self) {
        pids::kill(self.pid);
        pids::unregister(self.slot);
        pids::reap(self.pid);
        let _ = self.child.try_wait();
    }
}

/// What one window measured (ns, but `faults` and `mmaps`).
#[derive(Clone, Copy, Default)]
struct Window {
    wall_ms: f64,
    faults: f64,
    p50: f64,
    p99: f64,
    p999: f64,
    max: f64,
    slow: f64,
    mmap_p99: f64,
    mmap_max: f64,
}

impl Window {
    fn parse(wall: Duration, report: &str) -> Result<Window> {
        let v: Vec<f64> = report
            .split_whitespace()
            .map(|w| w.parse::<f64>())
            .collect::<Result<_, _>>()
            .with_context(|| format!("faulter report {report:?}"))?;
        if v.len() != 12 {
            bail!("faulter report {report:?}");
        }
        Ok(Window {
            wall_ms: wall.as_secs_f64() * 1e3,
            faults: v[0],
            p50: v[1],
            p99: v[2],
            p999: v[3],
            max: v[4],
            slow: v[5],
            mmap_p99: v[8],
            mmap_max: v[10],
        })
    }
}

/// The stall block: a faulter of `mib` MiB beside the workload, `runs` rounds of (no scan,
/// full report, `-k deleted`), medians.
pub fn measure(env: &Env, pmaps: &Path, mib: usize, runs: usize) -> Result<String> {
    eprintln!("bench: stall: starting a {mib} MiB faulter");
    let mut f = Faulter::start(&env.exe, mib)?;
    let contender = |kind| Contender {
        kind,
        threads: 1,
        program: pmaps.to_path_buf(),
    };
    let modes: [(&str, Option<Contender>); 3] = [
        ("no scan (1 s)", None),
        ("pmaps per-file report", Some(contender(Kind::PmapsFile))),
        ("pmaps -k deleted", Some(contender(Kind::PmapsDeleted))),
    ];
    let mut windows: Vec<Vec<Window>> = vec![Vec::new(); modes.len()];
    for run in 0..runs {
        for (i, (_, c)) in modes.iter().enumerate() {
            f.ask("reset")?;
            let wall = match c {
                None => {
                    std::thread::sleep(Duration::from_secs(1));
                    Duration::from_secs(1)
                }
                Some(c) => contenders::run(c, env)?.wall,
            };
            windows[i].push(Window::parse(wall, &f.ask("report")?)?);
        }
        eprintln!("bench: stall run {}/{runs} done", run + 1);
    }
    drop(f);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nstall: a {mib} MiB process drops and faults in one page after another (and maps and \
         unmaps 64 KiB every 256th turn) while pmaps (1 thread) scans every process; medians \
         of {runs} runs; µs"
    );
    let _ = writeln!(
        out,
        "  {:<24} {:>8} {:>9} {:>8} {:>8} {:>8} {:>9} {:>12} {:>10} {:>10}",
        "during",
        "wall ms",
        "faults",
        "p50",
        "p99",
        "p99.9",
        "max",
        "in >1ms ms",
        "mmap p99",
        "mmap max"
    );
    for ((name, _), w) in modes.iter().zip(&windows) {
        let m = |f: fn(&Window) -> f64| median(w.iter().map(f));
        let _ = writeln!(
            out,
            "  {:<24} {:>8.0} {:>9.0} {:>8.1} {:>8.1} {:>8.1} {:>9.0} {:>12.1} {:>10.1} {:>10.0}",
            name,
            m(|w| w.wall_ms),
            m(|w| w.faults),
            m(|w| w.p50) / 1e3,
            m(|w| w.p99) / 1e3,
            m(|w| w.p999) / 1e3,
            m(|w| w.max) / 1e3,
            m(|w| w.slow) / 1e6,
            m(|w| w.mmap_p99) / 1e3,
            m(|w| w.mmap_max) / 1e3,
        );
    }
    Ok(out)
}
