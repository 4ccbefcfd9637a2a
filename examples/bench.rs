//! Benchmark: pmaps against the raw-read floor and the tools users would otherwise pick.
//!
//! ```text
//! cargo run --release --example bench -- [--procs N[,N...]] [--runs R] [--csv FILE] [--many-maps]
//! ```
//!
//! The bench starts its own workload: N idle processes (copies of this executable in a hidden
//! `--child` mode) with varied, realistic maps: shared libraries of its own (8 files mapped the
//! way ld.so maps a library) plus system ones (dlopen), a large file mapped shared by all and
//! touched, a private copy-on-write file map, touched anonymous memory, thread-stack-like
//! regions with guard pages, a SysV shared segment (some), a memfd (some), a mapped-then-deleted
//! file, and 1 in 100 processes with thousands of small mappings. It waits until every child
//! has written `ready`, and kills exactly the PIDs it started (SIGKILL + reap) on a normal end,
//! on an error, on a panic (Drop guard) and on SIGINT/SIGTERM/SIGHUP (the handler kills the
//! registered PIDs). Children also have `PR_SET_PDEATHSIG = SIGKILL`.
//!
//! Then it times, in alternating runs (every contender once per run, rotating order):
//! - pmaps per-file report (smaps) and per-process report (smaps_rollup), 1 and all threads;
//! - the floor: reading every process's smaps / smaps_rollup to EOF with no parsing (a hidden
//!   `--floor` mode of this executable), serially and with as many threads as pmaps uses;
//! - peers when installed: `smem -m`, `ps_mem`, `pmap -x` for every PID in batches of 255.
//!
//! Every contender is a child process measured the same way: fork+exec, wall clock until it
//! exits, then `/proc/PID/io` (rchar, read while it is a zombie) and `wait4` rusage (user,
//! system, peak RSS). The table shows the median wall time and the median of each other column
//! taken separately. The floor readers do not count mappings (that would be parsing); an
//! untimed census before each run counts the mappings and bytes every contender scans, for the
//! mappings and ns/mapping columns. The machine is usually shared: before each run the bench
//! waits (up to `--max-wait`) for idle CPUs, measures a contender again when other processes
//! used 20 % of the CPUs more than the background during its run, and shows that share as
//! `others %`.
//! `--hold` only starts the workload and waits for Ctrl-C, for profiling by hand.
//!
//! `--many-maps` adds pmaps' peak RSS with and without one extra process that has just under
//! `vm.max_map_count` mappings. A list of sizes (`--procs 200,1000`) repeats everything per N
//! and reports how ns per mapping changes (cost linear in mappings).
//!
//! Peers: `apt-get install smem`, `pip install ps_mem`; `pmap` comes with procps.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

const USAGE: &str = "\
usage: bench [--procs N[,N...]] [--runs R] [--csv FILE] [--many-maps]
             [--threads T] [--big-mib M] [--pmaps PATH] [--skip-pmaps] [--no-peers]
             [--max-wait SECS] [--hold]

  --procs N[,N...]  workload size(s); a list repeats the benchmark per size and reports
                    ns per mapping for each (default 1000)
  --runs R          alternating runs per size; medians are reported (default 5)
  --csv FILE        also write the table rows as CSV
  --many-maps       also measure pmaps' peak RSS with and without one process that has
                    just under vm.max_map_count mappings
  --threads T       the \"all threads\" count (default: available CPUs, what pmaps uses)
  --big-mib M       size of the file every child maps shared and touches (default 64)
  --pmaps PATH      pmaps binary to time (default: build target/release/pmaps)
  --skip-pmaps      time only the floor and the peers
  --no-peers        do not time smem, ps_mem and pmap
  --max-wait SECS   before each run, wait up to SECS (default 60) for the CPUs to be
                    idle, and measure a contender again (up to 3 times) when other
                    processes used 20 % of the CPUs more than the background (measured
                    with the workload idle) during its run; 0 disables both
  --hold            start the workload (first --procs size), then wait for Ctrl-C;
                    for profiling by hand
";

/// A sample during which other processes used this many % of the CPUs more than the
/// background (measured with the workload idle) is measured again.
const RETRY_MARGIN_PCT: f64 = 20.0;
const MAX_RETRIES: usize = 3;
/// pmap refuses more PIDs than this in one invocation.
const PMAP_BATCH: usize = 255;
/// How many of the bench's own "shared libraries" every child maps.
const OWN_LIBS: usize = 8;
/// System libraries every child dlopens (those that exist); their dependencies come along.
const SYSTEM_LIBS: &[&str] = &[
    "libz.so.1",
    "libm.so.6",
    "libstdc++.so.6",
    "libcrypto.so.3",
    "libssl.so.3",
    "libexpat.so.1",
    "liblzma.so.5",
    "libzstd.so.1",
    "libbz2.so.1.0",
    "libsqlite3.so.0",
    "libxml2.so.2",
    "libuuid.so.1",
    "libselinux.so.1",
    "libgmp.so.10",
    "libffi.so.8",
    "libglib-2.0.so.0",
];

// ---------------------------------------------------------------------------------------------
// Errors

enum BenchError {
    Interrupted,
    Failed(String),
}

type Res<T> = Result<T, BenchError>;

impl From<String> for BenchError {
    fn from(s: String) -> Self {
        BenchError::Failed(s)
    }
}

trait Context<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Res<T>;
}

impl<T, E: std::fmt::Display> Context<T> for Result<T, E> {
    fn ctx(self, what: impl FnOnce() -> String) -> Res<T> {
        self.map_err(|e| BenchError::Failed(format!("{}: {e}", what())))
    }
}

fn fail<T>(msg: impl Into<String>) -> Res<T> {
    Err(BenchError::Failed(msg.into()))
}

fn last_os_error() -> io::Error {
    io::Error::last_os_error()
}

// ---------------------------------------------------------------------------------------------
// PIDs we started, killed by the signal handler; and the interrupt flag.

const MAX_PIDS: usize = 1 << 15;
static PIDS: [AtomicI32; MAX_PIDS] = [const { AtomicI32::new(0) }; MAX_PIDS];
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn register_pid(pid: i32) -> Res<usize> {
    for (slot, cell) in PIDS.iter().enumerate() {
        if cell
            .compare_exchange(0, pid, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            if INTERRUPTED.load(Ordering::SeqCst) {
                // The handler may have run before the PID was visible to it.
                kill_pid(pid);
            }
            return Ok(slot);
        }
    }
    kill_pid(pid);
    fail(format!("more than {MAX_PIDS} child processes"))
}

/// Forget a PID before it is reaped (while it cannot be reused), so the handler never kills a
/// recycled PID.
fn unregister_pid(slot: usize) {
    PIDS[slot].store(0, Ordering::SeqCst);
}

fn kill_pid(pid: i32) {
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
        let pid = cell.load(Ordering::SeqCst);
        if pid > 0 {
            // SAFETY: as in kill_pid.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

fn install_signal_handlers() -> Res<()> {
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
            return fail(format!("sigaction({sig}): {}", last_os_error()));
        }
    }
    Ok(())
}

fn check_interrupted() -> Res<()> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        Err(BenchError::Interrupted)
    } else {
        Ok(())
    }
}

/// Reap a child we killed or that exited; retries on EINTR.
fn reap(pid: i32) -> (i32, libc::rusage) {
    let mut status = 0;
    // SAFETY: zeroed rusage is valid plain data.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: valid pointers to locals.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid || last_os_error().kind() != io::ErrorKind::Interrupted {
            return (status, ru);
        }
    }
}

fn exit_code(status: i32) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        -1
    }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

fn page_size() -> usize {
    // SAFETY: sysconf has no memory effects.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 { p as usize } else { 4096 }
}

fn list_pids() -> Res<Vec<i32>> {
    let mut pids = Vec::new();
    for entry in fs::read_dir("/proc").ctx(|| "reading /proc".into())? {
        let entry = entry.ctx(|| "reading /proc".into())?;
        if let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        {
            pids.push(pid);
        }
    }
    Ok(pids)
}

fn count_lines(path: &str) -> Res<u64> {
    let data = fs::read(path).ctx(|| format!("reading {path}"))?;
    Ok(data.iter().filter(|&&b| b == b'\n').count() as u64)
}

fn read_trimmed(path: &str) -> String {
    fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into())
}

fn max_map_count() -> Res<u64> {
    let s = fs::read_to_string("/proc/sys/vm/max_map_count")
        .ctx(|| "reading /proc/sys/vm/max_map_count".into())?;
    s.trim()
        .parse()
        .ctx(|| format!("parsing vm.max_map_count {:?}", s.trim()))
}

fn utc_now() -> String {
    pmaps::text::utc_timestamp(SystemTime::now())
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| {
            let c = match CString::new(p.as_os_str().as_encoded_bytes()) {
                Ok(c) => c,
                Err(_) => return false,
            };
            // SAFETY: valid NUL-terminated path.
            p.is_file() && unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0
        })
}

/// (idle, total) jiffies of all CPUs from /proc/stat.
fn cpu_jiffies() -> Option<(u64, u64)> {
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
fn busy_between(a: Option<(u64, u64)>, b: Option<(u64, u64)>) -> Option<Duration> {
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
fn background_busy_pct() -> f64 {
    let idle = (0..6)
        .map(|_| idle_fraction(Duration::from_millis(500)))
        .fold(0.0, f64::max);
    100.0 * (1.0 - idle)
}

/// Wait until the CPUs are about as idle as the background allows (`quiet_idle`), at most
/// `max`; returns whether they were.
fn wait_for_quiet(max: Duration, quiet_idle: f64) -> Res<bool> {
    let start = Instant::now();
    let mut said = false;
    loop {
        check_interrupted()?;
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

fn median_f64(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
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

// ---------------------------------------------------------------------------------------------
// Hidden mode 1: a workload child.

fn mmap(
    addr: *mut u8,
    len: usize,
    prot: libc::c_int,
    flags: libc::c_int,
    fd: libc::c_int,
    off: usize,
) -> Res<*mut u8> {
    // SAFETY: mmap either returns a fresh mapping or MAP_FAILED; with MAP_FIXED the callers
    // only pass ranges inside a reservation they own.
    let p = unsafe { libc::mmap(addr.cast(), len, prot, flags, fd, off as libc::off_t) };
    if p == libc::MAP_FAILED {
        fail(format!("mmap of {len} bytes: {}", last_os_error()))
    } else {
        Ok(p.cast())
    }
}

fn mprotect(addr: *mut u8, len: usize, prot: libc::c_int) -> io::Result<()> {
    // SAFETY: callers pass page-aligned ranges inside mappings they created.
    if unsafe { libc::mprotect(addr.cast(), len, prot) } == 0 {
        Ok(())
    } else {
        Err(last_os_error())
    }
}

/// Read one byte per page.
fn read_touch(p: *const u8, len: usize) {
    let mut acc = 0u8;
    for off in (0..len).step_by(page_size()) {
        // SAFETY: p..p+len is a readable mapping created by the caller.
        acc ^= unsafe { std::ptr::read_volatile(p.add(off)) };
    }
    std::hint::black_box(acc);
}

/// Write one byte every `step` bytes.
fn write_touch(p: *mut u8, len: usize, step: usize) {
    for off in (0..len).step_by(step) {
        // SAFETY: p..p+len is a writable mapping created by the caller.
        unsafe { std::ptr::write_volatile(p.add(off), (off >> 12) as u8 | 1) };
    }
}

fn open_fd(path: &Path, write: bool) -> Res<File> {
    fs::OpenOptions::new()
        .read(true)
        .write(write)
        .open(path)
        .ctx(|| format!("opening {}", path.display()))
}

/// Map a file the way ld.so maps a shared library: r-- headers, r-x text, r-- rodata/relro,
/// rw- data (private, written), then an anonymous bss; five VMAs that cannot merge.
fn map_like_library(path: &Path) -> Res<()> {
    use std::os::fd::AsRawFd;
    let file = open_fd(path, false)?;
    let size = file
        .metadata()
        .ctx(|| format!("stat {}", path.display()))?
        .len() as usize;
    let page = page_size();
    let unit = size / 8 / page * page;
    let bss = 4 * page;
    let base = mmap(
        std::ptr::null_mut(),
        size + bss,
        libc::PROT_NONE,
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
        -1,
        0,
    )?;
    let segments = [
        (0, unit, libc::PROT_READ),
        (unit, 5 * unit, libc::PROT_READ | libc::PROT_EXEC),
        (5 * unit, 7 * unit, libc::PROT_READ),
        (7 * unit, size, libc::PROT_READ | libc::PROT_WRITE),
    ];
    let fd = file.as_raw_fd();
    for (start, end, prot) in segments {
        // SAFETY (pointer arithmetic): inside the reservation.
        let at = unsafe { base.add(start) };
        mmap(
            at,
            end - start,
            prot,
            libc::MAP_PRIVATE | libc::MAP_FIXED,
            fd,
            start,
        )?;
        if prot & libc::PROT_EXEC != 0 {
            read_touch(at, end - start);
        } else if prot & libc::PROT_WRITE != 0 {
            write_touch(at, end - start, page);
        } else {
            read_touch(at, page);
        }
    }
    // SAFETY: inside the reservation.
    let bss_at = unsafe { base.add(size) };
    mmap(
        bss_at,
        bss,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
        -1,
        0,
    )?;
    write_touch(bss_at, bss, page);
    Ok(())
}

fn map_file(path: &Path, prot: libc::c_int, flags: libc::c_int) -> Res<(*mut u8, usize)> {
    use std::os::fd::AsRawFd;
    let file = open_fd(
        path,
        prot & libc::PROT_WRITE != 0 && flags & libc::MAP_SHARED != 0,
    )?;
    let len = file
        .metadata()
        .ctx(|| format!("stat {}", path.display()))?
        .len() as usize;
    let p = mmap(std::ptr::null_mut(), len, prot, flags, file.as_raw_fd(), 0)?;
    Ok((p, len))
}

/// One region split into `extra` VMAs (approximately) by mprotecting every other page
/// read-only; writable pages are written every `touch_every`-th time. Stops quietly at
/// ENOMEM (vm.max_map_count).
fn many_small_mappings(extra: usize, touch_every: usize) -> Res<()> {
    let page = page_size();
    let k = extra.saturating_sub(1) / 2;
    if k == 0 {
        return Ok(());
    }
    let pages = 2 * k + 1;
    let base = mmap(
        std::ptr::null_mut(),
        pages * page,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
        -1,
        0,
    )?;
    for i in 0..k {
        // SAFETY: inside the region.
        let at = unsafe { base.add((2 * i + 1) * page) };
        match mprotect(at, page, libc::PROT_READ) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOMEM) => break,
            Err(e) => return fail(format!("mprotect: {e}")),
        }
    }
    for i in (0..=k).step_by(touch_every.max(1)) {
        // SAFETY: even pages are writable and inside the region.
        write_touch(unsafe { base.add(2 * i * page) }, 1, 1);
    }
    Ok(())
}

fn child_setup(role: &str, idx: usize, dir: &Path) -> Res<()> {
    let page = page_size();

    // System libraries, with their dependencies, as a real program would have them.
    for lib in SYSTEM_LIBS {
        let name = CString::new(*lib).ctx(|| "library name".into())?;
        // SAFETY: valid C string; the handle is deliberately leaked (stays mapped).
        unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    }

    // Libraries of our own, mapped like ld.so does.
    for i in 0..OWN_LIBS {
        map_like_library(&dir.join(format!("libbench{i}.so")))?;
    }

    // The large file shared by all, read-touched.
    let (big, big_len) = map_file(&dir.join("big.dat"), libc::PROT_READ, libc::MAP_SHARED)?;
    read_touch(big, big_len);

    // A private copy-on-write file map, half of its pages written.
    let (cow, cow_len) = map_file(
        &dir.join("cow.dat"),
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_PRIVATE,
    )?;
    read_touch(cow, cow_len);
    write_touch(cow, cow_len, 2 * page);

    // Anonymous memory ("heap"), 1-4 MiB varied per child, touched.
    let anon_len = (1024 + (idx * 397) % 3072) * 1024;
    let anon = mmap(
        std::ptr::null_mut(),
        anon_len,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
        -1,
        0,
    )?;
    write_touch(anon, anon_len, page);

    // Thread-stack-like regions: a guard page and 64 KiB, the top page touched.
    let stacks = 15 + idx % 21;
    for _ in 0..stacks {
        let len = 64 * 1024 + page;
        let s = mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )?;
        mprotect(s, page, libc::PROT_NONE).ctx(|| "mprotect guard page".into())?;
        // SAFETY: inside the mapping.
        write_touch(unsafe { s.add(len - page) }, page, page);
    }

    // A SysV shared segment in 1 of 4 children (removed at once: it lives while attached).
    if idx.is_multiple_of(4) {
        let len = 512 * 1024;
        // SAFETY: plain syscalls; shmat's result is checked before use.
        unsafe {
            let id = libc::shmget(libc::IPC_PRIVATE, len, libc::IPC_CREAT | 0o600);
            if id < 0 {
                return fail(format!("shmget: {}", last_os_error()));
            }
            let p = libc::shmat(id, std::ptr::null(), 0);
            let err = last_os_error();
            libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut());
            if p as isize == -1 {
                return fail(format!("shmat: {err}"));
            }
            write_touch(p.cast(), len, page);
        }
    }

    // A memfd in 1 of 3 children.
    if idx.is_multiple_of(3) {
        let len = 256 * 1024;
        let name = CString::new("pmaps-bench-memfd").ctx(|| "memfd name".into())?;
        // SAFETY: valid C string; the fd is closed after mapping.
        let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return fail(format!("memfd_create: {}", last_os_error()));
        }
        // SAFETY: fd is ours.
        if unsafe { libc::ftruncate(fd, len as libc::off_t) } != 0 {
            return fail(format!("ftruncate memfd: {}", last_os_error()));
        }
        let p = mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd,
            0,
        )?;
        write_touch(p, len, page);
        // SAFETY: fd is ours; the mapping keeps the memfd alive.
        unsafe { libc::close(fd) };
    }

    // A mapped-then-deleted file.
    {
        let path = dir.join(format!("deleted-{idx}.dat"));
        fs::write(&path, vec![0x5au8; 64 * 1024]).ctx(|| format!("writing {}", path.display()))?;
        let (p, len) = map_file(&path, libc::PROT_READ, libc::MAP_SHARED)?;
        read_touch(p, len);
        fs::remove_file(&path).ctx(|| format!("removing {}", path.display()))?;
    }

    match role {
        "normal" => {}
        "max" => {
            let limit = max_map_count()? as usize;
            let have = count_lines("/proc/self/maps")? as usize;
            // Stay just under the limit (a few VMAs of headroom for the runtime).
            many_small_mappings(limit.saturating_sub(have + 5), 8)?;
        }
        other => match other.strip_prefix("many:").map(str::parse::<usize>) {
            Some(Ok(n)) => many_small_mappings(n, 1)?,
            _ => return fail(format!("unknown child role {other:?}")),
        },
    }
    Ok(())
}

fn child_main(args: &[String]) -> i32 {
    let [role, idx, dir, parent] = args else {
        eprintln!("bench --child: expected ROLE IDX DIR PARENT_PID");
        return 2;
    };
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
    // SAFETY: getppid has no memory effects.
    if parent.parse::<i32>().ok() != Some(unsafe { libc::getppid() }) {
        return 1; // the bench already died
    }
    let idx: usize = idx.parse().unwrap_or(0);
    if let Err(BenchError::Failed(e)) = child_setup(role, idx, Path::new(dir)) {
        eprintln!("bench child {idx} ({role}): {e}");
        return 1;
    }
    let mut out = io::stdout().lock();
    if out
        .write_all(b"ready\n")
        .and_then(|()| out.flush())
        .is_err()
    {
        return 1;
    }
    loop {
        // SAFETY: pause has no memory effects.
        unsafe { libc::pause() };
    }
}

// ---------------------------------------------------------------------------------------------
// Hidden mode 2: the floor, reading every process's smaps / smaps_rollup with no parsing.

#[derive(Default)]
struct ReadTotals {
    files: u64,
    errors: u64,
    bytes: u64,
    mappings: u64,
    per_pid: Vec<(i32, u64)>,
}

impl ReadTotals {
    fn merge(&mut self, other: ReadTotals) {
        self.files += other.files;
        self.errors += other.errors;
        self.bytes += other.bytes;
        self.mappings += other.mappings;
        self.per_pid.extend(other.per_pid);
    }
}

/// Read `/proc/PID/<file>` to EOF for every PID, into one reused 64 KiB buffer per thread.
/// With `count`, also count mappings (lines starting with a lowercase hex digit); the timed
/// floor runs do not count.
fn read_proc_files(pids: &[i32], file: &str, threads: usize, count: bool) -> ReadTotals {
    let next = AtomicUsize::new(0);
    let work = || {
        let mut buf = vec![0u8; 64 * 1024];
        let mut path = String::with_capacity(40);
        let mut t = ReadTotals::default();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(&pid) = pids.get(i) else { break };
            path.clear();
            let _ = write!(path, "/proc/{pid}/{file}");
            let Ok(mut f) = File::open(&path) else {
                t.errors += 1;
                continue;
            };
            let (mut maps, mut at_line_start, mut ok) = (0u64, true, true);
            loop {
                match f.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        t.bytes += n as u64;
                        if count {
                            for &b in &buf[..n] {
                                if at_line_start && matches!(b, b'0'..=b'9' | b'a'..=b'f') {
                                    maps += 1;
                                }
                                at_line_start = b == b'\n';
                            }
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        ok = false;
                        break;
                    }
                }
            }
            if ok {
                t.files += 1;
            } else {
                t.errors += 1;
            }
            t.mappings += maps;
            if count {
                t.per_pid.push((pid, maps));
            }
        }
        t
    };
    if threads <= 1 {
        return work();
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
        let mut total = ReadTotals::default();
        for h in handles {
            if let Ok(t) = h.join() {
                total.merge(t);
            }
        }
        total
    })
}

fn floor_main(args: &[String]) -> i32 {
    let (mut file, mut threads, mut count) = (None, 1usize, false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "smaps" => file = Some("smaps"),
            "rollup" => file = Some("smaps_rollup"),
            "--threads" => threads = it.next().and_then(|t| t.parse().ok()).unwrap_or(1),
            "--count" => count = true,
            _ => {
                eprintln!("bench --floor: unexpected argument {a:?}");
                return 2;
            }
        }
    }
    let Some(file) = file else {
        eprintln!("bench --floor: expected smaps or rollup");
        return 2;
    };
    let pids = match list_pids() {
        Ok(p) => p,
        Err(BenchError::Failed(e)) => {
            eprintln!("bench --floor: {e}");
            return 1;
        }
        Err(BenchError::Interrupted) => return 130,
    };
    let t = read_proc_files(&pids, file, threads, count);
    println!(
        "files={} errors={} bytes={} mappings={}",
        t.files, t.errors, t.bytes, t.mappings
    );
    0
}

// ---------------------------------------------------------------------------------------------
// The workload

/// The bench's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn create() -> Res<TempDir> {
        let path = PathBuf::from(format!("/tmp/pmaps-bench-{}", std::process::id()));
        if path.exists() {
            fs::remove_dir_all(&path).ctx(|| format!("removing stale {}", path.display()))?;
        }
        fs::create_dir(&path).ctx(|| format!("creating {}", path.display()))?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn write_pattern_file(path: &Path, len: usize, seed: u8) -> Res<()> {
    let chunk: Vec<u8> = (0..1024 * 1024usize)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) | 1)
        .collect();
    let mut f = File::create(path).ctx(|| format!("creating {}", path.display()))?;
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len());
        f.write_all(&chunk[..n])
            .ctx(|| format!("writing {}", path.display()))?;
        left -= n;
    }
    Ok(())
}

fn write_shared_files(dir: &Path, big_mib: usize) -> Res<()> {
    const LIB_KIB: [usize; OWN_LIBS] = [256, 384, 512, 768, 1024, 1280, 1536, 2048];
    for (i, kib) in LIB_KIB.iter().enumerate() {
        write_pattern_file(&dir.join(format!("libbench{i}.so")), kib * 1024, i as u8)?;
    }
    write_pattern_file(&dir.join("big.dat"), big_mib * 1024 * 1024, 0x40)?;
    write_pattern_file(&dir.join("cow.dat"), 1024 * 1024, 0x80)?;
    Ok(())
}

struct Kid {
    pid: i32,
    slot: usize,
}

/// The processes we started; killed (by PID) and reaped on drop.
struct Workload {
    kids: Vec<Kid>,
}

impl Workload {
    fn start(exe: &Path, dir: &Path, roles: &[(usize, String)]) -> Res<Workload> {
        let mut wl = Workload { kids: Vec::new() };
        let mut pipes = Vec::with_capacity(roles.len());
        let parent = std::process::id().to_string();
        for (idx, role) in roles {
            check_interrupted()?;
            let mut child: Child = Command::new(exe)
                .arg("--child")
                .arg(role)
                .arg(idx.to_string())
                .arg(dir)
                .arg(&parent)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .ctx(|| format!("starting workload child {idx}"))?;
            let pid = child.id() as i32;
            let slot = register_pid(pid)?;
            wl.kids.push(Kid { pid, slot });
            let out = child
                .stdout
                .take()
                .ok_or_else(|| BenchError::Failed("child stdout missing".into()))?;
            pipes.push((*idx, role.clone(), pid, out));
        }
        for (idx, role, pid, out) in pipes {
            let mut line = String::new();
            let got = BufReader::new(out).read_line(&mut line);
            check_interrupted()?;
            match got {
                Ok(_) if line == "ready\n" => {}
                Ok(_) => {
                    return fail(format!(
                        "workload child {idx} ({role}, PID {pid}) ended before it was ready"
                    ));
                }
                Err(e) => return fail(format!("workload child {idx} (PID {pid}): {e}")),
            }
        }
        Ok(wl)
    }

    fn pids(&self) -> impl Iterator<Item = i32> + '_ {
        self.kids.iter().map(|k| k.pid)
    }

    fn stop(&mut self) {
        for k in &self.kids {
            kill_pid(k.pid);
        }
        for k in self.kids.drain(..) {
            unregister_pid(k.slot);
            reap(k.pid);
        }
    }
}

impl Drop for Workload {
    fn drop(&mut self) {
        self.stop();
    }
}

fn role_for(idx: usize) -> String {
    if idx % 100 == 99 {
        // 1 in 100: thousands of small mappings.
        format!("many:{}", 2500 + (idx / 100 % 3) * 500)
    } else {
        "normal".into()
    }
}

// ---------------------------------------------------------------------------------------------
// Measuring one contender

#[derive(Clone, Default)]
struct Sample {
    wall: Duration,
    user: Duration,
    sys: Duration,
    maxrss_kib: u64,
    rchar: Option<u64>,
    codes: BTreeSet<i32>,
    stdout: String,
    /// Non-idle CPU time of the whole machine during the run (all processes).
    machine_busy: Option<Duration>,
}

impl Sample {
    /// CPU used by other processes during the run, % of all CPUs.
    fn others_pct(&self) -> f64 {
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

/// Run a command to completion: wall time from spawn to exit, then rchar (read while the
/// child is a zombie) and rusage of exactly that child (wait4).
fn run_measured(cmd: &mut Command, capture: bool) -> Res<Sample> {
    cmd.stdin(Stdio::null());
    if capture {
        cmd.stdout(Stdio::piped());
    }
    let j0 = cpu_jiffies();
    let start = Instant::now();
    let mut child = cmd.spawn().ctx(|| format!("starting {cmd:?}"))?;
    let pid = child.id() as i32;
    let slot = register_pid(pid)?;
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
        let e = last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            kill_pid(pid);
            unregister_pid(slot);
            reap(pid);
            return fail(format!("waitid({pid}): {e}"));
        }
        if INTERRUPTED.load(Ordering::SeqCst) {
            kill_pid(pid);
        }
    }
    let wall = start.elapsed();
    let machine_busy = busy_between(j0, cpu_jiffies());
    let rchar = read_rchar(pid);
    unregister_pid(slot);
    let (status, ru) = reap(pid);
    drop(child);
    check_interrupted()?;
    Ok(Sample {
        wall,
        user: tv(ru.ru_utime),
        sys: tv(ru.ru_stime),
        maxrss_kib: ru.ru_maxrss.max(0) as u64,
        rchar,
        codes: BTreeSet::from([exit_code(status)]),
        stdout: String::from_utf8_lossy(&out).into_owned(),
        machine_busy,
    })
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    PmapsFile,
    PmapsProc,
    FloorSmaps,
    FloorRollup,
    Smem,
    PsMem,
    PmapLoop,
    ManyWithout,
    ManyWith,
}

struct Contender {
    kind: Kind,
    threads: usize,
    program: PathBuf,
}

impl Contender {
    fn name(&self) -> String {
        match self.kind {
            Kind::PmapsFile => "pmaps per-file (smaps)".into(),
            Kind::PmapsProc => "pmaps per-process (rollup)".into(),
            Kind::FloorSmaps => "floor: read smaps".into(),
            Kind::FloorRollup => "floor: read smaps_rollup".into(),
            Kind::Smem => "smem -m".into(),
            Kind::PsMem => "ps_mem".into(),
            Kind::PmapLoop => format!("pmap -x, batches of {PMAP_BATCH}"),
            Kind::ManyWithout => "pmaps per-file, workload only".into(),
            Kind::ManyWith => "pmaps per-file, + max-maps process".into(),
        }
    }
}

/// What every part of a benchmark run needs.
struct Env {
    exe: PathBuf,
    /// The bench's temporary directory: workload files and contenders' stderr.
    dir: PathBuf,
    /// The "all threads" count: what pmaps uses by default.
    threads: usize,
    pmaps: Option<PathBuf>,
    peers: Peers,
}

fn stderr_file(env: &Env, name: &str) -> Res<File> {
    let path = env.dir.join(format!("stderr-{name}.txt"));
    File::create(&path).ctx(|| format!("creating {}", path.display()))
}

fn stderr_tail(env: &Env, name: &str) -> String {
    let path = env.dir.join(format!("stderr-{name}.txt"));
    let s = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}

fn run_contender(c: &Contender, env: &Env) -> Res<Sample> {
    match c.kind {
        Kind::PmapsFile | Kind::PmapsProc | Kind::ManyWithout | Kind::ManyWith => {
            let (group, source) = if c.kind == Kind::PmapsProc {
                ("process", "rollup")
            } else {
                ("file", "smaps")
            };
            let mut cmd = Command::new(&c.program);
            cmd.args(["--group-by", group, "--source", source, "--format", "csv"])
                .arg("--threads")
                .arg(c.threads.to_string())
                .stdout(Stdio::null())
                .stderr(stderr_file(env, "pmaps")?);
            let s = run_measured(&mut cmd, false)?;
            if s.codes.iter().any(|&code| code != 0 && code != 3) {
                return fail(format!(
                    "{cmd:?} failed with exit code {:?}; its stderr ends:\n{}",
                    s.codes,
                    stderr_tail(env, "pmaps")
                ));
            }
            Ok(s)
        }
        Kind::FloorSmaps | Kind::FloorRollup => {
            let which = if c.kind == Kind::FloorSmaps {
                "smaps"
            } else {
                "rollup"
            };
            let mut cmd = Command::new(&env.exe);
            cmd.args(["--floor", which, "--threads"])
                .arg(c.threads.to_string())
                .stderr(Stdio::inherit());
            let mut s = run_measured(&mut cmd, true)?;
            if s.codes.iter().any(|&code| code != 0) {
                return fail(format!("floor reader failed: exit codes {:?}", s.codes));
            }
            if s.rchar.is_none() {
                // /proc/PID/io unavailable: use the reader's own count.
                s.rchar = s
                    .stdout
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("bytes="))
                    .and_then(|b| b.parse().ok());
            }
            Ok(s)
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
            cmd.stdout(Stdio::null()).stderr(stderr_file(env, name)?);
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
    }
}

// ---------------------------------------------------------------------------------------------
// Results

struct Row {
    n: usize,
    name: String,
    kind: Kind,
    threads: usize,
    runs: usize,
    wall_ms: f64,
    user_ms: f64,
    sys_ms: f64,
    rss_mib: f64,
    mappings: f64,
    mb_read: f64,
    ns_per_map: f64,
    cpu_ns_per_map: f64,
    vs_floor: f64,
    peer_ratio: f64,
    /// CPU used by everything else during the runs, % of the machine (median).
    others_pct: f64,
    note: String,
}

fn summarize(n: usize, c: &Contender, samples: &[Sample], mappings: f64, extra_note: &str) -> Row {
    let ms = |f: &dyn Fn(&Sample) -> Duration| {
        median_f64(
            &samples
                .iter()
                .map(|s| f(s).as_secs_f64() * 1e3)
                .collect::<Vec<_>>(),
        )
    };
    let wall_ms = ms(&|s| s.wall);
    let user_ms = ms(&|s| s.user);
    let sys_ms = ms(&|s| s.sys);
    let rss_mib = median_f64(
        &samples
            .iter()
            .map(|s| s.maxrss_kib as f64 / 1024.0)
            .collect::<Vec<_>>(),
    );
    let mb_read = median_f64(
        &samples
            .iter()
            .map(|s| s.rchar.map_or(f64::NAN, |b| b as f64 / 1e6))
            .collect::<Vec<_>>(),
    );
    let others_pct = median_f64(&samples.iter().map(Sample::others_pct).collect::<Vec<_>>());
    let codes: BTreeSet<i32> = samples
        .iter()
        .flat_map(|s| s.codes.iter().copied())
        .collect();
    let mut note = String::new();
    if codes.iter().any(|&c| c != 0) {
        let list: Vec<String> = codes.iter().map(i32::to_string).collect();
        note = format!("exit {}", list.join("/"));
    }
    if !extra_note.is_empty() {
        if !note.is_empty() {
            note.push_str("; ");
        }
        note.push_str(extra_note);
    }
    Row {
        n,
        name: c.name(),
        kind: c.kind,
        threads: c.threads,
        runs: samples.len(),
        wall_ms,
        user_ms,
        sys_ms,
        rss_mib,
        mappings,
        mb_read,
        ns_per_map: wall_ms * 1e6 / mappings,
        cpu_ns_per_map: (user_ms + sys_ms) * 1e6 / mappings,
        vs_floor: f64::NAN,
        peer_ratio: f64::NAN,
        others_pct,
        note,
    }
}

fn find_row(rows: &[Row], kind: Kind, threads: usize) -> Option<&Row> {
    rows.iter().find(|r| r.kind == kind && r.threads == threads)
}

/// Fill "÷ floor" (the floor reading the same files with the same thread count) and
/// "peer ÷ pmaps" (vs the matching pmaps report at all threads).
fn fill_ratios(rows: &mut [Row], all_threads: usize) {
    let wall = |rows: &[Row], kind, t| find_row(rows, kind, t).map_or(f64::NAN, |r| r.wall_ms);
    for i in 0..rows.len() {
        let (kind, t) = (rows[i].kind, rows[i].threads);
        let floor = match kind {
            Kind::PmapsFile | Kind::Smem | Kind::PmapLoop => wall(rows, Kind::FloorSmaps, t),
            Kind::PmapsProc | Kind::PsMem => wall(rows, Kind::FloorRollup, t),
            Kind::ManyWithout | Kind::ManyWith => f64::NAN,
            Kind::FloorSmaps | Kind::FloorRollup => f64::NAN,
        };
        let pmaps = match kind {
            Kind::Smem | Kind::PmapLoop => wall(rows, Kind::PmapsFile, all_threads),
            Kind::PsMem => wall(rows, Kind::PmapsProc, all_threads),
            _ => f64::NAN,
        };
        rows[i].vs_floor = rows[i].wall_ms / floor;
        rows[i].peer_ratio = rows[i].wall_ms / pmaps;
    }
}

fn fmt_num(v: f64, decimals: usize) -> String {
    if v.is_finite() {
        format!("{v:.decimals$}")
    } else {
        "-".into()
    }
}

fn fmt_int(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let s = format!("{:.0}", v);
    let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    format!("{sign}{out}")
}

const HEADERS: [&str; 14] = [
    "contender",
    "thr",
    "wall ms",
    "user ms",
    "sys ms",
    "peak RSS MiB",
    "mappings",
    "MB read",
    "ns/map",
    "cpu ns/map",
    "÷ floor",
    "peer ÷ pmaps",
    "others %",
    "note",
];

fn row_cells(r: &Row) -> Vec<String> {
    vec![
        r.name.clone(),
        r.threads.to_string(),
        fmt_num(r.wall_ms, 1),
        fmt_num(r.user_ms, 1),
        fmt_num(r.sys_ms, 1),
        fmt_num(r.rss_mib, 1),
        fmt_int(r.mappings),
        fmt_num(r.mb_read, 1),
        fmt_num(r.ns_per_map, 0),
        fmt_num(r.cpu_ns_per_map, 0),
        fmt_num(r.vs_floor, 2),
        fmt_num(r.peer_ratio, 1),
        fmt_num(r.others_pct, 0),
        r.note.clone(),
    ]
}

fn print_table(out: &mut String, rows: &[Row]) {
    let cells: Vec<Vec<String>> = rows.iter().map(row_cells).collect();
    let mut widths: Vec<usize> = HEADERS.iter().map(|h| h.chars().count()).collect();
    for r in &cells {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |out: &mut String, row: &[String]| {
        let mut s = String::new();
        for (i, (c, w)) in row.iter().zip(&widths).enumerate() {
            let pad = w - c.chars().count();
            if i == 0 || i == row.len() - 1 {
                s.push_str(c);
                s.push_str(&" ".repeat(pad));
            } else {
                s.push_str(&" ".repeat(pad));
                s.push_str(c);
            }
            s.push_str("  ");
        }
        let _ = writeln!(out, "{}", s.trim_end());
    };
    let header: Vec<String> = HEADERS.iter().map(|h| h.to_string()).collect();
    line(out, &header);
    let total: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
    let _ = writeln!(out, "{}", "-".repeat(total));
    for r in &cells {
        line(out, r);
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn write_csv(path: &Path, rows: &[&Row]) -> Res<()> {
    let mut s = String::from(
        "procs,contender,threads,runs,wall_ms_median,user_ms,sys_ms,peak_rss_mib,mappings,\
         mb_read,ns_per_mapping,cpu_ns_per_mapping,ratio_vs_floor,peer_over_pmaps,others_cpu_pct,note\n",
    );
    let num = |v: f64, d: usize| {
        if v.is_finite() {
            format!("{v:.d$}")
        } else {
            String::new()
        }
    };
    for r in rows {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.n,
            csv_field(&r.name),
            r.threads,
            r.runs,
            num(r.wall_ms, 2),
            num(r.user_ms, 2),
            num(r.sys_ms, 2),
            num(r.rss_mib, 2),
            num(r.mappings, 0),
            num(r.mb_read, 3),
            num(r.ns_per_map, 1),
            num(r.cpu_ns_per_map, 1),
            num(r.vs_floor, 3),
            num(r.peer_ratio, 3),
            num(r.others_pct, 1),
            csv_field(&r.note),
        );
    }
    fs::write(path, s).ctx(|| format!("writing {}", path.display()))
}

struct Target {
    text: String,
    value: String,
    met: Option<bool>,
}

fn targets(rows: &[Row], t: usize, rss_delta: Option<f64>) -> Vec<Target> {
    let mut v = Vec::new();
    let mut add = |text: &str, value: Option<(f64, String)>, ok: &dyn Fn(f64) -> bool| {
        let (met, value) = match value {
            Some((x, s)) if x.is_finite() => (Some(ok(x)), s),
            _ => (None, "not measured".into()),
        };
        v.push(Target {
            text: text.into(),
            value,
            met,
        });
    };
    let file = find_row(rows, Kind::PmapsFile, t);
    let proc_ = find_row(rows, Kind::PmapsProc, t);
    let ratio = |r: Option<&Row>| r.map(|r| (r.vs_floor, format!("{:.2}×", r.vs_floor)));
    // The best any reader of the same files could do: peer ÷ the parallel floor.
    let peer = |k: Kind| {
        let floor = if k == Kind::PsMem {
            Kind::FloorRollup
        } else {
            Kind::FloorSmaps
        };
        let bound = find_row(rows, floor, t).map_or(f64::NAN, |f| f.wall_ms);
        find_row(rows, k, 1).map(|r| {
            (
                r.peer_ratio,
                format!(
                    "{:.1}× faster (floor: {:.1}×)",
                    r.peer_ratio,
                    r.wall_ms / bound
                ),
            )
        })
    };
    add(
        &format!("per-file report wall ≤ 1.10 × parallel smaps floor ({t} thr)"),
        ratio(file),
        &|x| x <= 1.10,
    );
    add(
        "per-file report user CPU ≤ 20 % of system CPU",
        file.map(|r| {
            let x = r.user_ms / r.sys_ms;
            (x, format!("{:.1} %", 100.0 * x))
        }),
        &|x| x <= 0.20,
    );
    add(
        &format!("per-process report wall ≤ 1.0 × parallel rollup floor ({t} thr)"),
        ratio(proc_),
        &|x| x <= 1.0,
    );
    add(
        "≥ 10× faster than smem -m (vs per-file report)",
        peer(Kind::Smem),
        &|x| x >= 10.0,
    );
    add(
        "≥ 10× faster than the pmap -x loop (vs per-file report)",
        peer(Kind::PmapLoop),
        &|x| x >= 10.0,
    );
    add(
        "≥ 3× faster than ps_mem (vs per-process report)",
        peer(Kind::PsMem),
        &|x| x >= 3.0,
    );
    let max_rss = rows
        .iter()
        .filter(|r| matches!(r.kind, Kind::PmapsFile | Kind::PmapsProc))
        .map(|r| r.rss_mib)
        .fold(f64::NAN, f64::max);
    add(
        "peak RSS ≤ 32 MiB for the whole scan (max over pmaps rows)",
        Some((max_rss, format!("{max_rss:.1} MiB"))),
        &|x| x <= 32.0,
    );
    add(
        "the max-maps process adds ≤ 8 MiB peak RSS (--many-maps)",
        rss_delta.map(|d| (d, format!("{d:+.1} MiB"))),
        &|x| x <= 8.0,
    );
    v
}

fn print_targets(out: &mut String, list: &[Target]) {
    let w = list
        .iter()
        .map(|t| t.text.chars().count())
        .max()
        .unwrap_or(0);
    let wv = list
        .iter()
        .map(|t| t.value.chars().count())
        .max()
        .unwrap_or(0);
    for t in list {
        let verdict = match t.met {
            Some(true) => "MET",
            Some(false) => "MISSED",
            None => "-",
        };
        let _ = writeln!(
            out,
            "  {}{}  {}{}  {verdict}",
            t.text,
            " ".repeat(w - t.text.chars().count()),
            " ".repeat(wv - t.value.chars().count()),
            t.value
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The benchmark

struct Opts {
    procs: Vec<usize>,
    runs: usize,
    csv: Option<PathBuf>,
    many_maps: bool,
    threads: Option<usize>,
    big_mib: usize,
    pmaps: Option<PathBuf>,
    skip_pmaps: bool,
    no_peers: bool,
    hold: bool,
    max_wait: u64,
}

fn parse_opts(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        procs: vec![1000],
        runs: 5,
        csv: None,
        many_maps: false,
        threads: None,
        big_mib: 64,
        pmaps: None,
        skip_pmaps: false,
        no_peers: false,
        hold: false,
        max_wait: 60,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        let num = |v: String| -> Result<usize, String> {
            v.parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("{flag}: expected a positive number, got {v:?}"))
        };
        match flag {
            "--procs" => {
                o.procs = value()?
                    .split(',')
                    .map(|s| num(s.trim().to_string()))
                    .collect::<Result<_, _>>()?;
            }
            "--runs" => o.runs = num(value()?)?,
            "--csv" => o.csv = Some(PathBuf::from(value()?)),
            "--many-maps" => o.many_maps = true,
            "--threads" => o.threads = Some(num(value()?)?),
            "--big-mib" => o.big_mib = num(value()?)?,
            "--pmaps" => o.pmaps = Some(PathBuf::from(value()?)),
            "--skip-pmaps" => o.skip_pmaps = true,
            "--no-peers" => o.no_peers = true,
            "--hold" => o.hold = true,
            "--max-wait" => {
                o.max_wait = value()?
                    .parse()
                    .map_err(|_| format!("{flag}: expected seconds"))?
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if o.procs.iter().any(|&n| n + 16 > MAX_PIDS) {
        return Err(format!("--procs: at most {} processes", MAX_PIDS - 16));
    }
    Ok(o)
}

fn locate_pmaps(opts: &Opts) -> Res<PathBuf> {
    if let Some(p) = &opts.pmaps {
        if !p.is_file() {
            return fail(format!("--pmaps {}: no such file", p.display()));
        }
        return Ok(p.clone());
    }
    let exe = std::env::current_exe().ctx(|| "locating the bench executable".into())?;
    // target/<profile>/examples/bench -> target/<profile>/pmaps
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| BenchError::Failed(format!("unexpected location {}", exe.display())))?;
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
        Ok(s) => return fail(format!("building pmaps failed ({s}); try --skip-pmaps")),
        Err(e) => return fail(format!("running {cargo:?}: {e}")),
    }
    if !bin.is_file() {
        return fail(format!("{} not found after building", bin.display()));
    }
    Ok(bin)
}

struct Peers {
    smem: Option<PathBuf>,
    ps_mem: Option<PathBuf>,
    pmap: Option<PathBuf>,
    notes: Vec<String>,
}

fn detect_peers(no_peers: bool) -> Peers {
    let mut p = Peers {
        smem: None,
        ps_mem: None,
        pmap: None,
        notes: Vec::new(),
    };
    if no_peers {
        p.notes.push("peers not timed (--no-peers)".into());
        return p;
    }
    p.smem = find_in_path("smem");
    p.pmap = find_in_path("pmap");
    p.ps_mem = find_in_path("ps_mem");
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
    ] {
        if found.is_none() {
            p.notes
                .push(format!("{name}: not installed, row skipped ({how})"));
        }
    }
    p
}

struct Census {
    mappings: u64,
    smaps_bytes: u64,
    rollup_bytes: u64,
    procs: u64,
    unreadable: u64,
    workload_maps: Vec<u64>,
    /// Processes we did not start: how many have mappings, and the largest (PID, mappings).
    others_with_maps: u64,
    others_biggest: (i32, u64),
    others_biggest_comm: String,
}

/// Untimed: count what the contenders scan (every PID in /proc).
fn census(wl: &Workload, threads: usize) -> Res<Census> {
    let pids = list_pids()?;
    let s = read_proc_files(&pids, "smaps", threads, true);
    let r = read_proc_files(&pids, "smaps_rollup", threads, false);
    let mine: BTreeSet<i32> = wl.pids().collect();
    let workload_maps = s
        .per_pid
        .iter()
        .filter(|(pid, _)| mine.contains(pid))
        .map(|&(_, m)| m)
        .collect();
    let others = s
        .per_pid
        .iter()
        .filter(|(pid, m)| *m > 0 && !mine.contains(pid));
    let others_with_maps = others.clone().count() as u64;
    let others_biggest = others.max_by_key(|(_, m)| *m).copied().unwrap_or((0, 0));
    let others_biggest_comm = read_trimmed(&format!("/proc/{}/comm", others_biggest.0));
    Ok(Census {
        mappings: s.mappings,
        smaps_bytes: s.bytes,
        rollup_bytes: r.bytes,
        procs: s.files,
        unreadable: s.errors,
        workload_maps,
        others_with_maps,
        others_biggest,
        others_biggest_comm,
    })
}

struct SizeResult {
    n: usize,
    rows: Vec<Row>,
}

fn run_size(n: usize, opts: &Opts, env: &Env, out: &mut String) -> Res<SizeResult> {
    let (dir, threads, pmaps, peers) = (&env.dir, env.threads, env.pmaps.as_deref(), &env.peers);
    eprintln!("bench: starting {n} workload processes");
    let t0 = Instant::now();
    let roles: Vec<(usize, String)> = (0..n).map(|i| (i, role_for(i))).collect();
    let mut wl = Workload::start(&env.exe, dir, &roles)?;
    let startup = t0.elapsed();
    eprintln!("bench: workload ready in {:.1} s", startup.as_secs_f64());
    if opts.hold {
        eprintln!(
            "bench: --hold: workload of {n} processes is up (PIDs {}..); Ctrl-C (SIGINT) ends it",
            wl.pids().next().unwrap_or(0)
        );
        while !INTERRUPTED.load(Ordering::SeqCst) {
            // SAFETY: pause has no memory effects; the handler sets INTERRUPTED.
            unsafe { libc::pause() };
        }
        return Err(BenchError::Interrupted);
    }

    let mut contenders = Vec::new();
    let thread_counts: Vec<usize> = if threads > 1 {
        vec![1, threads]
    } else {
        vec![1]
    };
    for &t in &thread_counts {
        if let Some(p) = pmaps {
            for kind in [Kind::PmapsFile, Kind::PmapsProc] {
                contenders.push(Contender {
                    kind,
                    threads: t,
                    program: p.to_path_buf(),
                });
            }
        }
        for kind in [Kind::FloorSmaps, Kind::FloorRollup] {
            contenders.push(Contender {
                kind,
                threads: t,
                program: env.exe.clone(),
            });
        }
    }
    for (kind, prog) in [
        (Kind::Smem, &peers.smem),
        (Kind::PsMem, &peers.ps_mem),
        (Kind::PmapLoop, &peers.pmap),
    ] {
        if let Some(p) = prog {
            contenders.push(Contender {
                kind,
                threads: 1,
                program: p.clone(),
            });
        }
    }

    // Let the start-up settle (dirty pages, deferred kernel work), then one untimed round of
    // the fast contenders to warm caches (binaries, Python modules).
    // SAFETY: sync has no memory effects.
    unsafe { libc::sync() };
    std::thread::sleep(Duration::from_secs(2));
    let background = background_busy_pct();
    let quiet_idle = (1.0 - background / 100.0 - 0.10).min(0.90);
    for c in &contenders {
        check_interrupted()?;
        if !matches!(c.kind, Kind::Smem | Kind::PmapLoop) {
            run_contender(c, env)?;
        }
    }

    let load_before = read_trimmed("/proc/loadavg");
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); contenders.len()];
    let mut censuses = Vec::new();
    let (mut busy_runs, mut retried) = (0, 0);
    for run in 0..opts.runs {
        check_interrupted()?;
        censuses.push(census(&wl, threads)?);
        if opts.max_wait > 0 && !wait_for_quiet(Duration::from_secs(opts.max_wait), quiet_idle)? {
            busy_runs += 1;
        }
        let start = Instant::now();
        for k in 0..contenders.len() {
            let i = (k + run) % contenders.len();
            let mut sample = run_contender(&contenders[i], env)?;
            // Other work took a large share of the CPUs: wait, then measure again (at most
            // MAX_RETRIES times; the last sample counts).
            let mut tries = 0;
            while opts.max_wait > 0
                && sample.others_pct() > background + RETRY_MARGIN_PCT
                && tries < MAX_RETRIES
            {
                tries += 1;
                retried += 1;
                wait_for_quiet(Duration::from_secs(opts.max_wait.min(20)), quiet_idle)?;
                sample = run_contender(&contenders[i], env)?;
            }
            samples[i].push(sample);
        }
        eprintln!(
            "bench: N={n} run {}/{} done in {:.1} s",
            run + 1,
            opts.runs,
            start.elapsed().as_secs_f64()
        );
    }

    let load_after = read_trimmed("/proc/loadavg");
    let med = |f: &dyn Fn(&Census) -> u64| {
        median_f64(&censuses.iter().map(|c| f(c) as f64).collect::<Vec<_>>())
    };
    let mappings = med(&|c| c.mappings);
    let smaps_bytes = med(&|c| c.smaps_bytes);
    let rollup_bytes = med(&|c| c.rollup_bytes);
    let procs = med(&|c| c.procs);
    let unreadable = med(&|c| c.unreadable);
    let wmaps = censuses
        .last()
        .map(|c| c.workload_maps.clone())
        .unwrap_or_default();
    let wsum: u64 = wmaps.iter().sum();
    let (others, (big_pid, big_maps), big_comm) = censuses.last().map_or_else(
        || (0, (0, 0), String::new()),
        |c| {
            (
                c.others_with_maps,
                c.others_biggest,
                c.others_biggest_comm.clone(),
            )
        },
    );

    let mut rows: Vec<Row> = contenders
        .iter()
        .zip(&samples)
        .map(|(c, s)| summarize(n, c, s, mappings, ""))
        .collect();

    // --many-maps: pmaps' peak RSS with and without one process near vm.max_map_count.
    let mut rss_delta = None;
    let mut many_note = String::new();
    if let (true, Some(p)) = (opts.many_maps, pmaps) {
        let plain = Contender {
            kind: Kind::ManyWithout,
            threads,
            program: p.to_path_buf(),
        };
        let with = Contender {
            kind: Kind::ManyWith,
            threads,
            program: p.to_path_buf(),
        };
        let (mut s_without, mut s_with, mut big_maps) = (Vec::new(), Vec::new(), Vec::new());
        for run in 0..opts.runs {
            check_interrupted()?;
            if run % 2 == 0 {
                s_without.push(run_contender(&plain, env)?);
            }
            let mut big = Workload::start(&env.exe, dir, &[(n, "max".to_string())])?;
            if let Some(pid) = big.pids().next() {
                big_maps.push(count_lines(&format!("/proc/{pid}/maps"))? as f64);
            }
            s_with.push(run_contender(&with, env)?);
            big.stop();
            if run % 2 == 1 {
                s_without.push(run_contender(&plain, env)?);
            }
            eprintln!("bench: N={n} many-maps run {}/{} done", run + 1, opts.runs);
        }
        let big = median_f64(&big_maps);
        let r0 = summarize(n, &plain, &s_without, mappings, "");
        let mut r1 = summarize(
            n,
            &with,
            &s_with,
            mappings + big,
            &format!("{} maps in it", fmt_int(big)),
        );
        r1.name = format!("pmaps per-file, + {}-map process", fmt_int(big));
        let d = r1.rss_mib - r0.rss_mib;
        rss_delta = Some(d);
        many_note = format!(
            "max-maps process: {} mappings (vm.max_map_count {}); pmaps peak RSS {:.1} → {:.1} MiB ({:+.1} MiB)",
            fmt_int(big),
            max_map_count().map_or("?".into(), |m| m.to_string()),
            r0.rss_mib,
            r1.rss_mib,
            d
        );
        rows.push(r0);
        rows.push(r1);
    }
    wl.stop();
    fill_ratios(&mut rows, threads);

    let _ = writeln!(
        out,
        "\n== N = {n}: {} processes started in {:.1} s ==",
        wmaps.len(),
        startup.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "workload mappings: {} in total, per process min {} / avg {:.0} / max {} \
         ({} with thousands of small mappings)",
        fmt_int(wsum as f64),
        wmaps.iter().min().copied().unwrap_or(0),
        wsum as f64 / wmaps.len().max(1) as f64,
        fmt_int(wmaps.iter().max().copied().unwrap_or(0) as f64),
        roles.iter().filter(|(_, r)| r.starts_with("many:")).count()
    );
    let _ = writeln!(
        out,
        "scanned (every PID in /proc, median of {} censuses): {} processes readable (kernel threads included), {} not; \
         {} mappings; smaps {:.1} MB; smaps_rollup {:.2} MB",
        censuses.len(),
        fmt_int(procs),
        fmt_int(unreadable),
        fmt_int(mappings),
        smaps_bytes / 1e6,
        rollup_bytes / 1e6
    );
    let _ = writeln!(
        out,
        "other processes with mappings: {others}, {} mappings; the largest: PID {big_pid} \
         ({}) with {} mappings",
        fmt_int(mappings - wsum as f64),
        big_comm,
        fmt_int(big_maps as f64)
    );
    let _ = writeln!(
        out,
        "{} alternating runs (rotating order); wall = median; user, sys, RSS and MB read = \
         median of each separately\n",
        opts.runs
    );
    print_table(out, &rows);
    // A single-threaded reader that only makes syscalls has wall ≈ CPU on an idle machine.
    if let Some(f) = find_row(&rows, Kind::FloorSmaps, 1) {
        let busy = f.wall_ms / (f.user_ms + f.sys_ms);
        let _ = writeln!(
            out,
            "\nmachine load: background CPU use with the workload idle {background:.0} % of all \
             CPUs (kernel threads, e.g. kdamond); serial smaps floor wall ÷ CPU = {busy:.2} \
             (1.00 when nothing else runs); loadavg before runs {}, after {}{}",
            load_before
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
            load_after
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
            if busy_runs > 0 || retried > 0 {
                format!(
                    "\nWARNING: other work used the CPUs: {busy_runs} of {} runs started busy \
                     (after waiting --max-wait {} s), {retried} sample(s) measured again \
                     (others > background + {RETRY_MARGIN_PCT} %); see the others % column",
                    opts.runs, opts.max_wait
                )
            } else if busy > 1.10 {
                "\nWARNING: other work competed for the CPUs during these runs; the times are \
                 inflated and the ratios noisy"
                    .to_string()
            } else {
                String::new()
            }
        );
    }
    if !many_note.is_empty() {
        let _ = writeln!(out, "\n{many_note}");
    }
    let _ = writeln!(
        out,
        "\ntargets (stated for N = 1000 on 2 cores; this is N = {n}):"
    );
    print_targets(out, &targets(&rows, threads, rss_delta));
    Ok(SizeResult { n, rows })
}

fn bench_main(opts: Opts) -> Res<()> {
    install_signal_handlers()?;
    let exe = std::env::current_exe().ctx(|| "locating the bench executable".into())?;
    let threads = opts.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let pmaps = if opts.skip_pmaps || opts.hold {
        None
    } else {
        Some(locate_pmaps(&opts)?)
    };
    let peers = detect_peers(opts.no_peers);
    let dir = TempDir::create()?;
    eprintln!("bench: writing workload files in {}", dir.0.display());
    write_shared_files(&dir.0, opts.big_mib)?;
    let env = Env {
        exe,
        dir: dir.0.clone(),
        threads,
        pmaps,
        peers,
    };

    let mut header = String::new();
    let _ = writeln!(header, "pmaps benchmark, {}", utc_now());
    let _ = writeln!(
        header,
        "machine: nproc {}, kernel {}, vm.max_map_count {}, pmaps threads {threads}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        read_trimmed("/proc/sys/kernel/osrelease"),
        read_trimmed("/proc/sys/vm/max_map_count"),
    );
    match &env.pmaps {
        Some(p) => {
            let _ = writeln!(header, "pmaps: {}", p.display());
        }
        None => {
            let _ = writeln!(header, "pmaps: not timed (--skip-pmaps)");
        }
    }
    let _ = writeln!(
        header,
        "workload per process: {OWN_LIBS} own libraries (256 KiB-2 MiB, mapped like ld.so), \
         {} system libraries via dlopen (+ deps), {} MiB file shared by all (touched), \
         1 MiB private COW file (half written), 1-4 MiB anonymous (touched), 15-35 \
         stack-like regions with guard pages, SysV segment (1 in 4), memfd (1 in 3), \
         a mapped-then-deleted file; 1 in 100 with 2,500-3,500 extra small mappings",
        SYSTEM_LIBS.len(),
        opts.big_mib
    );
    for note in &env.peers.notes {
        let _ = writeln!(header, "note: {note}");
    }
    let _ = writeln!(
        header,
        "columns: ÷ floor = wall ÷ the raw-read floor of the same files with the same threads; \
         peer ÷ pmaps = peer wall ÷ pmaps' matching report at {threads} threads \
         (smem -m and pmap vs per-file, ps_mem vs per-process); ns/map = wall ÷ mappings; \
         cpu ns/map = (user + sys) ÷ mappings; others % = CPU used by \
         other processes during the run, % of all CPUs (noise indicator)"
    );
    print!("{header}");
    let _ = io::stdout().flush();

    let mut results = Vec::new();
    for &n in &opts.procs {
        check_interrupted()?;
        let mut out = String::new();
        let r = run_size(n, &opts, &env, &mut out)?;
        print!("{out}");
        let _ = io::stdout().flush();
        results.push(r);
        if let Some(csv) = &opts.csv {
            let all: Vec<&Row> = results.iter().flat_map(|r| &r.rows).collect();
            write_csv(csv, &all)?;
        }
    }

    if results.len() > 1 {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\nlinearity: pmaps per-file report at {threads} threads, ns per mapping \
             (target: within 15 % across sizes)"
        );
        let mut walls = Vec::new();
        let mut cpus = Vec::new();
        for r in &results {
            if let Some(row) = find_row(&r.rows, Kind::PmapsFile, threads) {
                let _ = writeln!(
                    out,
                    "  N = {:>6}: {} mappings, {:.0} ns/mapping wall, {:.0} ns/mapping cpu",
                    r.n,
                    fmt_int(row.mappings),
                    row.ns_per_map,
                    row.cpu_ns_per_map
                );
                walls.push(row.ns_per_map);
                cpus.push(row.cpu_ns_per_map);
            }
        }
        let spread = |v: &[f64]| {
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (hi - lo) / lo * 100.0
        };
        if walls.len() > 1 {
            let (w, c) = (spread(&walls), spread(&cpus));
            let _ = writeln!(
                out,
                "  spread: wall {w:.1} % {}, cpu {c:.1} % {} (cpu is the reliable one when \
                 other work shares the machine: see others %)",
                if w <= 15.0 { "MET" } else { "MISSED" },
                if c <= 15.0 { "MET" } else { "MISSED" }
            );
        } else {
            let _ = writeln!(out, "  not measured (pmaps not timed)");
        }
        print!("{out}");
    }
    if let Some(csv) = &opts.csv {
        eprintln!("bench: wrote {}", csv.display());
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let code = match args.get(1).map(String::as_str) {
        Some("--child") => child_main(&args[2..]),
        Some("--floor") => floor_main(&args[2..]),
        _ => match parse_opts(&args[1..]) {
            Err(msg) if msg.is_empty() => {
                print!("{USAGE}");
                0
            }
            Err(msg) => {
                eprintln!("bench: {msg}\n{USAGE}");
                2
            }
            Ok(opts) => match bench_main(opts) {
                Ok(()) => 0,
                Err(_) if INTERRUPTED.load(Ordering::SeqCst) => {
                    eprintln!("bench: interrupted; the processes it started are killed");
                    130
                }
                Err(BenchError::Interrupted) => 130,
                Err(BenchError::Failed(msg)) => {
                    eprintln!("bench: {msg}");
                    1
                }
            },
        },
    };
    std::process::exit(code);
}
