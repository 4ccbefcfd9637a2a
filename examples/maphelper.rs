//! A live helper process for the integration tests and benchmarks of `pmaps`.
//!
//! It sets up known memory mappings, prints exactly one line `ready <pid>\n` on stdout, flushes,
//! and then sleeps until it is killed. The arguments are actions executed in order:
//!
//! * `--comm NAME`             prctl(PR_SET_NAME) (the kernel keeps the first 15 bytes; any bytes).
//! * `--map-shared PATH`       MAP_SHARED PROT_READ of the whole file, every page read.
//! * `--map-private PATH`      MAP_PRIVATE PROT_READ|PROT_WRITE, one byte of every page written
//!   (every page becomes a private dirty copy-on-write copy).
//! * `--map-private-ro PATH`   MAP_PRIVATE PROT_READ, every page read (stays file-backed).
//! * `--anon BYTES`            anonymous private RW mapping, every page written.
//! * `--anon-name NAME`        names the most recent anonymous private mapping (`--anon` or
//!   `--many-maps`) with PR_SET_VMA_ANON_NAME; EINVAL (kernel without CONFIG_ANON_VMA_NAME, or a
//!   name the kernel refuses) is reported on stderr and ignored.
//! * `--shared-anon BYTES`     MAP_SHARED|MAP_ANONYMOUS RW, every page written
//!   (shows as `/dev/zero (deleted)`).
//! * `--sysv BYTES`            shmget(IPC_PRIVATE) + shmat + every page written + IPC_RMID.
//! * `--memfd NAME:BYTES`      memfd_create(NAME) + ftruncate + MAP_SHARED RW, every page written
//!   (the last `:` separates NAME from BYTES).
//! * `--delete PATH`           unlink PATH (after a `--map-*` of it, the mapping shows ` (deleted)`).
//! * `--many-maps N`           N one-page anonymous mappings the kernel cannot merge (alternating
//!   PROT_READ|PROT_WRITE and PROT_READ pages of one region; RW pages written).
//! * `--nondumpable`           prctl(PR_SET_DUMPABLE, 0): even the same user may no longer read
//!   its maps (only CAP_SYS_PTRACE can).
//! * `--chdir PATH`            chdir(PATH); later relative PATHs start there (repeat it to reach
//!   a directory whose absolute path is longer than PATH_MAX).
//! * `--hugetlb BYTES`         MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB RW (shows as
//!   `/anon_hugepage (deleted)`), every page written; BYTES rounded up to whole huge pages
//!   (`Hugepagesize:` of /proc/meminfo). Needs free huge pages (`vm.nr_hugepages`).
//! * `--sysv-hugetlb BYTES`    like `--sysv`, with SHM_HUGETLB (a SysV segment in huge pages).
//! * `--clone-vm`              clone(CLONE_VM) a child process (not a thread: its own PID) that
//!   shares this address space and sleeps; after `ready`, prints `clone <pid>` for each.
//! * `--fork`                  fork() a child that sleeps: its own copy of this address space,
//!   laid out alike; after `ready`, prints `fork <pid>` for each.
//! * `--exit-main-thread`      (after every other action) start a thread, then end the main
//!   thread alone (as `pthread_exit` in `main` does); the process lives on in that thread,
//!   which prints ready once the main thread is a zombie.
//! * `--wait-stdin`            after printing ready, read stdin until EOF, then exit 0.
//! * `--exec-after-ms MS ARGS…` (last; takes the rest of argv) print ready, sleep MS ms, then
//!   execv `/proc/self/exe` with ARGS.
//!
//! Memory that changes over time (for `pmaps watch`). Each reserves one anonymous private RW
//! mapping (`MAP_NORESERVE`, so the kernel never merges it with a neighbour: it keeps its
//! address range), touches nothing before ready, and from ready on acts on a fixed schedule
//! (the k-th step at ready + k × MS, so a late wake-up catches up and the average rate is
//! exact), on a thread of its own, started before ready so that the mappings (its stack) are
//! the same before and after ready:
//!
//! * `--grow-anon STEP:MS:MAX` a leak: every MS ms, writes the next STEP bytes of a MAX-byte
//!   mapping, until all of it is written.
//! * `--sawtooth STEP:MS:TEETH` allocate and free: every MS ms writes the next STEP bytes of a
//!   STEP × TEETH mapping; on the step after the last, frees it all (`MADV_DONTNEED`) and
//!   starts again.
//! * `--step-after MS:BYTES` one step: MS ms after ready, writes all BYTES at once, then
//!   nothing.
//!
//! BYTES is a decimal number with an optional binary suffix `K`, `M` or `G`; it is rounded up to
//! whole pages. A failing syscall prints `maphelper: <action>: <error>` on stderr and exits 1,
//! before ready is printed. The helper asks for SIGKILL when its parent thread dies.
//!
//! The mapping and page-touching code is `examples/shared/maps.rs`, shared with the
//! benchmark's workload processes (`examples/bench/child.rs`).

#[path = "shared/maps.rs"]
mod maps;

use std::ffi::{CString, OsStr, OsString};
use std::fmt::Display;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::process::exit;
use std::ptr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use maps::{Region, SysError, Touch};

const PR_SET_VMA: libc::c_int = 0x5356_4d41;
const PR_SET_VMA_ANON_NAME: libc::c_ulong = 0;

/// Prints `maphelper: <action>: <error>` on stderr and exits 1.
fn fail(action: &str, err: impl Display) -> ! {
    eprintln!("maphelper: {action}: {err}");
    exit(1)
}

fn os_fail(action: &str) -> ! {
    fail(action, io::Error::last_os_error())
}

/// Reports a failed call of a step of `action` as `<action>: <call>: <error>`.
fn sys_fail(action: &str, e: SysError) -> ! {
    fail(&format!("{action}: {}", e.call), e.err)
}

fn round_up_pages(bytes: usize, page: usize) -> usize {
    bytes.div_ceil(page).max(1) * page
}

fn parse_bytes(action: &str, s: &OsStr) -> usize {
    let s = s
        .to_str()
        .unwrap_or_else(|| fail(action, "size is not UTF-8"));
    let (digits, mult) = match s.as_bytes().last() {
        Some(b'k' | b'K') => (&s[..s.len() - 1], 1usize << 10),
        Some(b'm' | b'M') => (&s[..s.len() - 1], 1 << 20),
        Some(b'g' | b'G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let n: usize = digits
        .parse()
        .unwrap_or_else(|e| fail(action, format!("bad size {s:?}: {e}")));
    n.checked_mul(mult)
        .unwrap_or_else(|| fail(action, format!("size {s:?} overflows")))
}

fn cstring(action: &str, bytes: &[u8]) -> CString {
    CString::new(bytes).unwrap_or_else(|_| fail(action, "argument contains a NUL byte"))
}

fn open_path(action: &str, path: &OsStr, write: bool) -> File {
    std::fs::OpenOptions::new()
        .read(true)
        .write(write)
        .open(path)
        .unwrap_or_else(|e| fail(action, format!("{}: {e}", path.to_string_lossy())))
}

/// Memory that changes on a schedule after ready (see the module documentation).
#[derive(Clone, Copy)]
enum Timed {
    Grow {
        base: Region,
        step: usize,
        ms: u64,
        max: usize,
    },
    Saw {
        base: Region,
        step: usize,
        ms: u64,
        teeth: usize,
    },
    Step {
        base: Region,
        ms: u64,
        len: usize,
    },
}

// SAFETY: the regions are mappings this program never unmaps; only the timed thread
// touches them after ready.
unsafe impl Send for Timed {}

/// `A:B[:C]` as numbers (B a number of milliseconds for every form; sizes take suffixes).
fn parse_spec(action: &str, spec: &OsStr, parts: usize) -> Vec<usize> {
    let fields: Vec<&[u8]> = spec.as_bytes().split(|&c| c == b':').collect();
    if fields.len() != parts {
        fail(action, format!("expected {parts} fields separated by ':'"));
    }
    fields
        .iter()
        .map(|f| parse_bytes(action, OsStr::from_bytes(f)))
        .collect()
}

impl Timed {
    /// Runs the schedule for ever.
    fn run(self, page: usize) -> ! {
        let start = std::time::Instant::now();
        let mut k: u64 = 0;
        loop {
            k += 1;
            let ms = match self {
                Timed::Grow { ms, .. } | Timed::Saw { ms, .. } | Timed::Step { ms, .. } => ms,
            };
            let due = start + Duration::from_millis(ms.saturating_mul(k));
            let now = std::time::Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            match self {
                Timed::Grow {
                    base, step, max, ..
                } => {
                    let from = (k as usize - 1).saturating_mul(step);
                    if from < max {
                        base.sub(from, step.min(max - from))
                            .touch(page, Touch::Bump);
                    }
                }
                Timed::Saw {
                    base, step, teeth, ..
                } => {
                    let i = (k as usize - 1) % (teeth + 1);
                    if i < teeth {
                        base.sub(i * step, step).touch(page, Touch::Bump);
                    } else {
                        // SAFETY: frees our own mapping's pages; they read as zero afterwards.
                        if unsafe {
                            libc::madvise(base.base().cast(), step * teeth, libc::MADV_DONTNEED)
                        } != 0
                        {
                            os_fail("--sawtooth: madvise");
                        }
                    }
                }
                Timed::Step { base, len, .. } => {
                    if k == 1 {
                        base.sub(0, len).touch(page, Touch::Bump);
                    }
                }
            }
        }
    }
}

/// An untouched anonymous private RW mapping that the kernel will not merge.
fn reserve(action: &str, len: usize) -> Region {
    Region::map(
        len,
        maps::RW,
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
        -1,
    )
    .unwrap_or_else(|e| fail(action, e))
}

struct State {
    page: usize,
    /// Memory that changes after ready.
    timed: Vec<Timed>,
    /// The most recent anonymous private mapping, for `--anon-name`.
    last_anon: Option<Region>,
    wait_stdin: bool,
    /// The `--clone-vm` and `--fork` children: (`clone` or `fork`, PID).
    clones: Vec<(&'static str, libc::pid_t)>,
    exit_main_thread: bool,
}

impl State {
    fn comm(&mut self, name: &OsStr) {
        let c = cstring("--comm", name.as_bytes());
        // SAFETY: PR_SET_NAME reads a NUL-terminated string (at most 16 bytes).
        if unsafe { libc::prctl(libc::PR_SET_NAME, c.as_ptr() as libc::c_ulong, 0, 0, 0) } != 0 {
            os_fail("--comm");
        }
    }

    fn map_file(&mut self, action: &str, path: &OsStr) {
        let (file, prot, flags) = match action {
            "--map-shared" => (
                open_path(action, path, false),
                libc::PROT_READ,
                libc::MAP_SHARED,
            ),
            "--map-private" => {
                let f = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(path)
                    .unwrap_or_else(|_| open_path(action, path, false));
                (f, maps::RW, libc::MAP_PRIVATE)
            }
            _ => (
                open_path(action, path, false),
                libc::PROT_READ,
                libc::MAP_PRIVATE,
            ),
        };
        let region = Region::map_file(&file, prot, flags).unwrap_or_else(|e| fail(action, e));
        let how = if prot & libc::PROT_WRITE != 0 {
            Touch::Bump
        } else {
            Touch::Read
        };
        region.touch(self.page, how);
        // The file is closed here; the mapping keeps it referenced.
    }

    fn anon(&mut self, bytes: &OsStr) {
        let len = round_up_pages(parse_bytes("--anon", bytes), self.page);
        let region = Region::anon(len).unwrap_or_else(|e| fail("--anon", e));
        region.touch(self.page, Touch::Bump);
        self.last_anon = Some(region);
    }

    fn anon_name(&mut self, name: &OsStr) {
        let Some(region) = self.last_anon else {
            fail("--anon-name", "no anonymous mapping before it");
        };
        let c = cstring("--anon-name", name.as_bytes());
        // SAFETY: PR_SET_VMA_ANON_NAME reads a NUL-terminated string; the range is our mapping.
        let r = unsafe {
            libc::prctl(
                PR_SET_VMA,
                PR_SET_VMA_ANON_NAME,
                region.base() as libc::c_ulong,
                region.len() as libc::c_ulong,
                c.as_ptr() as libc::c_ulong,
            )
        };
        if r != 0 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EINVAL) {
                eprintln!(
                    "maphelper: --anon-name: {err} (kernel without CONFIG_ANON_VMA_NAME, or a \
                     refused name); continuing without a name"
                );
            } else {
                fail("--anon-name", err);
            }
        }
    }

    fn shared_anon(&mut self, bytes: &OsStr) {
        let len = round_up_pages(parse_bytes("--shared-anon", bytes), self.page);
        let region = Region::map(len, maps::RW, libc::MAP_SHARED | libc::MAP_ANONYMOUS, -1)
            .unwrap_or_else(|e| fail("--shared-anon", e));
        region.touch(self.page, Touch::Bump);
    }

    /// `--sysv` (`huge`: `--sysv-hugetlb`, a segment in huge pages).
    fn sysv(&mut self, action: &str, bytes: &OsStr, huge: bool) {
        let (unit, flags) = if huge {
            (huge_page_size(action), libc::SHM_HUGETLB)
        } else {
            (self.page, 0)
        };
        let len = round_up_pages(parse_bytes(action, bytes), unit);
        let region = maps::sysv_segment(len, flags).unwrap_or_else(|e| sys_fail(action, e));
        region.touch(self.page, Touch::Bump);
    }

    fn memfd(&mut self, spec: &OsStr) {
        let b = spec.as_bytes();
        let Some(colon) = b.iter().rposition(|&c| c == b':') else {
            fail("--memfd", "expected NAME:BYTES");
        };
        let name = cstring("--memfd", &b[..colon]);
        let len = round_up_pages(
            parse_bytes("--memfd", OsStr::from_bytes(&b[colon + 1..])),
            self.page,
        );
        if libc::off_t::try_from(len).is_err() {
            fail("--memfd", "too large");
        }
        let region = maps::memfd(&name, len).unwrap_or_else(|e| sys_fail("--memfd", e));
        region.touch(self.page, Touch::Bump);
    }

    fn hugetlb(&mut self, bytes: &OsStr) {
        let len = round_up_pages(parse_bytes("--hugetlb", bytes), huge_page_size("--hugetlb"));
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_HUGETLB;
        let region = Region::map(len, maps::RW, flags, -1).unwrap_or_else(|e| fail("--hugetlb", e));
        region.touch(self.page, Touch::Bump);
    }

    fn clone_vm(&mut self) {
        const STACK: usize = 64 * 1024;
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK;
        let stack = Region::map(STACK, maps::RW, flags, -1)
            .unwrap_or_else(|e| fail("--clone-vm: stack", e));
        // SAFETY: the child runs `sleep_forever` on its own stack (the top of a mapping this
        // program never unmaps); it makes raw syscalls only, touching no Rust state.
        let pid = unsafe {
            libc::clone(
                sleep_forever,
                stack.base().add(STACK).cast(),
                libc::CLONE_VM | libc::SIGCHLD,
                ptr::null_mut(),
            )
        };
        if pid < 0 {
            os_fail("--clone-vm: clone");
        }
        // Ready only once the child runs: its first steps fault in pages of the shared
        // address space (its stack), which must not change after ready.
        let mut waited = 0;
        while CLONE_STARTED.load(Ordering::SeqCst) == 0 {
            std::thread::sleep(Duration::from_millis(1));
            waited += 1;
            if waited > 10_000 {
                fail("--clone-vm", "the child did not start");
            }
        }
        CLONE_STARTED.store(0, Ordering::SeqCst);
        self.clones.push(("clone", pid));
    }

    fn fork(&mut self) {
        // SAFETY: this program is single-threaded here; the child only makes raw syscalls.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            os_fail("--fork");
        }
        if pid == 0 {
            sleep_forever(ptr::null_mut());
            exit(0);
        }
        self.clones.push(("fork", pid));
    }

    fn delete(&mut self, path: &OsStr) {
        std::fs::remove_file(path)
            .unwrap_or_else(|e| fail("--delete", format!("{}: {e}", path.to_string_lossy())));
    }

    fn many_maps(&mut self, n: &OsStr) {
        let n: usize = n
            .to_str()
            .and_then(|s| s.parse().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| fail("--many-maps", format!("bad count {n:?}")));
        let len = n
            .checked_mul(self.page)
            .unwrap_or_else(|| fail("--many-maps", "count too large"));
        let region = Region::anon(len).unwrap_or_else(|e| fail("--many-maps: mmap", e));
        // Page i is RW when i is even (and written), read-only when odd: no two neighbours
        // can merge.
        region
            .split_pages(self.page, 1, Touch::Bump)
            .unwrap_or_else(|e| sys_fail("--many-maps", e));
        self.last_anon = Some(region);
    }
}

/// Set by a `--clone-vm` child once it runs (it shares this memory).
static CLONE_STARTED: AtomicU32 = AtomicU32::new(0);

/// The body of a `--clone-vm` or `--fork` child. A clone shares the parent's memory and thread
/// pointer, so it makes raw syscalls only (no libc state, no errno it could clobber): SIGKILL
/// when the parent dies, then sleep until killed.
extern "C" fn sleep_forever(_: *mut libc::c_void) -> libc::c_int {
    // An atomic store touches no thread-local state: a clone may make it.
    CLONE_STARTED.store(1, Ordering::SeqCst);
    // SAFETY: raw syscalls with integer and null arguments.
    unsafe {
        libc::syscall(
            libc::SYS_prctl,
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        );
        loop {
            // ppoll on no descriptors with no timeout: blocks until a signal.
            libc::syscall(
                libc::SYS_ppoll,
                ptr::null_mut::<libc::pollfd>(),
                0 as libc::c_ulong,
                ptr::null::<libc::timespec>(),
                ptr::null::<libc::sigset_t>(),
                0 as libc::c_ulong,
            );
        }
    }
}

/// `Hugepagesize:` of /proc/meminfo, in bytes.
fn huge_page_size(action: &str) -> usize {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_else(|e| fail(action, e));
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("Hugepagesize:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or_else(|| fail(action, "no Hugepagesize in /proc/meminfo"))
}

/// `--exit-main-thread`: the main thread ends alone; a thread it starts prints ready once the
/// kernel shows the main thread as a zombie, then sleeps until the process is killed.
fn exit_main_thread(clones: Vec<(&'static str, libc::pid_t)>) -> ! {
    let leader = std::process::id();
    let spawned = std::thread::Builder::new().spawn(move || {
        let stat = format!("/proc/self/task/{leader}/stat");
        let zombie = || {
            std::fs::read(&stat).is_ok_and(|s| {
                let close = s.iter().rposition(|&b| b == b')').unwrap_or(0);
                s.get(close + 2) == Some(&b'Z')
            })
        };
        let mut waited = 0;
        while !zombie() {
            std::thread::sleep(Duration::from_millis(5));
            waited += 5;
            if waited > 10_000 {
                fail(
                    "--exit-main-thread",
                    "the main thread did not become a zombie",
                );
            }
        }
        print_ready();
        print_clones(&clones);
        loop {
            // SAFETY: pause only waits for a signal.
            unsafe { libc::pause() };
        }
    });
    if let Err(e) = spawned {
        fail("--exit-main-thread: thread", e);
    }
    // SAFETY: SYS_exit ends the calling thread only (exit_group would end the process); no
    // Rust frame is unwound (pthread_exit would unwind main's frames), nothing runs after it.
    unsafe { libc::syscall(libc::SYS_exit, 0 as libc::c_long) };
    unreachable!("SYS_exit returned")
}

fn print_clones(clones: &[(&str, libc::pid_t)]) {
    let mut out = io::stdout().lock();
    for (what, pid) in clones {
        if let Err(e) = writeln!(out, "{what} {pid}").and_then(|()| out.flush()) {
            fail("stdout", e);
        }
    }
}

fn print_ready() {
    let pid = std::process::id();
    let mut out = io::stdout().lock();
    if let Err(e) = writeln!(out, "ready {pid}").and_then(|()| out.flush()) {
        fail("stdout", e);
    }
}

fn main() {
    // SAFETY: plain prctl.
    if unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        )
    } != 0
    {
        os_fail("prctl(PR_SET_PDEATHSIG)");
    }

    let mut st = State {
        page: maps::page_size().unwrap_or_else(|e| fail("sysconf(_SC_PAGESIZE)", e)),
        timed: Vec::new(),
        last_anon: None,
        wait_stdin: false,
        clones: Vec::new(),
        exit_main_thread: false,
    };
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_else(|| OsString::from("maphelper"));

    while let Some(flag) = args.next() {
        let flag_str = flag.to_string_lossy().into_owned();
        let flag_str = flag_str.as_str();
        if flag_str == "--wait-stdin" {
            st.wait_stdin = true;
            continue;
        }
        if flag_str == "--clone-vm" {
            st.clone_vm();
            continue;
        }
        if flag_str == "--fork" {
            st.fork();
            continue;
        }
        if flag_str == "--exit-main-thread" {
            st.exit_main_thread = true;
            continue;
        }
        if flag_str == "--nondumpable" {
            // SAFETY: plain prctl.
            if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
                os_fail("--nondumpable");
            }
            continue;
        }
        if flag_str == "--exec-after-ms" {
            let ms = args
                .next()
                .and_then(|s| s.to_str().and_then(|s| s.parse::<u64>().ok()))
                .unwrap_or_else(|| fail("--exec-after-ms", "expected a number of milliseconds"));
            let rest: Vec<OsString> = args.collect();
            exec_after(ms, argv0, rest);
        }
        const WITH_VALUE: &[&str] = &[
            "--comm",
            "--map-shared",
            "--map-private",
            "--map-private-ro",
            "--anon",
            "--anon-name",
            "--shared-anon",
            "--sysv",
            "--memfd",
            "--delete",
            "--many-maps",
            "--chdir",
            "--grow-anon",
            "--sawtooth",
            "--step-after",
            "--hugetlb",
            "--sysv-hugetlb",
        ];
        if !WITH_VALUE.contains(&flag_str) {
            fail(flag_str, "unknown flag");
        }
        let Some(value) = args.next() else {
            fail(flag_str, "missing argument");
        };
        match flag_str {
            "--comm" => st.comm(&value),
            "--map-shared" | "--map-private" | "--map-private-ro" => st.map_file(flag_str, &value),
            "--anon" => st.anon(&value),
            "--anon-name" => st.anon_name(&value),
            "--shared-anon" => st.shared_anon(&value),
            "--sysv" => st.sysv(flag_str, &value, false),
            "--memfd" => st.memfd(&value),
            "--delete" => st.delete(&value),
            "--many-maps" => st.many_maps(&value),
            "--grow-anon" => {
                let v = parse_spec(flag_str, &value, 3);
                let (step, max) = (round_up_pages(v[0], st.page), round_up_pages(v[2], st.page));
                let base = reserve(flag_str, max);
                st.timed.push(Timed::Grow {
                    base,
                    step,
                    ms: v[1] as u64,
                    max,
                });
            }
            "--sawtooth" => {
                let v = parse_spec(flag_str, &value, 3);
                let step = round_up_pages(v[0], st.page);
                let teeth = v[2].max(1);
                let len = step
                    .checked_mul(teeth)
                    .unwrap_or_else(|| fail(flag_str, "too large"));
                let base = reserve(flag_str, len);
                st.timed.push(Timed::Saw {
                    base,
                    step,
                    ms: v[1] as u64,
                    teeth,
                });
            }
            "--step-after" => {
                let v = parse_spec(flag_str, &value, 2);
                let len = round_up_pages(v[1], st.page);
                let base = reserve(flag_str, len);
                st.timed.push(Timed::Step {
                    base,
                    ms: v[0] as u64,
                    len,
                });
            }
            "--hugetlb" => st.hugetlb(&value),
            "--sysv-hugetlb" => st.sysv(flag_str, &value, true),
            "--chdir" => std::env::set_current_dir(&value)
                .unwrap_or_else(|e| fail("--chdir", format!("{}: {e}", value.to_string_lossy()))),
            _ => fail(flag_str, "unknown flag"),
        }
    }

    if st.exit_main_thread {
        exit_main_thread(std::mem::take(&mut st.clones));
    }
    // The timed threads start before ready (their stacks, and whatever their start maps, are
    // there when ready is printed, so the mappings do not change after it) and wait for it.
    let page = st.page;
    let timed = std::mem::take(&mut st.timed);
    let n = timed.len();
    let go = std::sync::Arc::new(std::sync::Barrier::new(n + 1));
    let (parked, all_parked) = std::sync::mpsc::channel();
    for t in timed {
        let (go, parked) = (go.clone(), parked.clone());
        std::thread::spawn(move || {
            let _ = parked.send(());
            go.wait();
            t.run(page)
        });
    }
    for _ in 0..n {
        if all_parked.recv().is_err() {
            fail("timed thread", "ended before ready");
        }
    }
    print_ready();
    print_clones(&st.clones);
    go.wait();
    if st.wait_stdin {
        let mut buf = [0u8; 4096];
        let mut stdin = io::stdin().lock();
        loop {
            match stdin.read(&mut buf) {
                Ok(0) => exit(0),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    eprintln!("maphelper: stdin: {e}");
                    exit(1)
                }
            }
        }
    }
    loop {
        // SAFETY: pause only waits for a signal.
        unsafe { libc::pause() };
    }
}

fn exec_after(ms: u64, argv0: OsString, rest: Vec<OsString>) -> ! {
    let mut argv: Vec<CString> = Vec::with_capacity(rest.len() + 1);
    argv.push(cstring("--exec-after-ms", &argv0.into_vec()));
    for a in rest {
        argv.push(cstring("--exec-after-ms", &a.into_vec()));
    }
    let mut ptrs: Vec<*const libc::c_char> = argv.iter().map(|c| c.as_ptr()).collect();
    ptrs.push(ptr::null());
    print_ready();
    std::thread::sleep(Duration::from_millis(ms));
    let exe = c"/proc/self/exe";
    // SAFETY: exe and every argv entry are NUL-terminated and outlive the call; ptrs ends in NULL.
    unsafe { libc::execv(exe.as_ptr(), ptrs.as_ptr()) };
    fail("--exec-after-ms: execv", io::Error::last_os_error())
}
