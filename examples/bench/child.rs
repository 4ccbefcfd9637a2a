//! One workload process (the hidden `child` mode): the realistic maps it builds, and its
//! [`Role`]. Every child dlopens system libraries, maps the bench's own "libraries" the way
//! ld.so maps a library, maps the large shared file and a private copy-on-write file, touches
//! anonymous memory and thread-stack-like regions, has a SysV segment (1 in 4) and a memfd
//! (1 in 3); 1 in 100 maps a library deleted afterwards, another 1 in 100 a library no one
//! else maps; some roles add thousands of small mappings. Then it
//! writes `ready` on stdout and sleeps until the bench kills it (or, with PR_SET_PDEATHSIG,
//! until the bench dies). The mapping primitives are `examples/shared/maps.rs`, shared with
//! `examples/maphelper.rs`.

use std::ffi::CString;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;
use std::str::FromStr;

use anyhow::{Context, Result};

use crate::maps::{self, Region, Touch};

/// How many of the bench's own "shared libraries" every child maps (`libbench{i}.so`).
pub const OWN_LIBS: usize = 8;
/// System libraries every child dlopens (those that exist); their dependencies come along.
pub const SYSTEM_LIBS: &[&str] = &[
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

/// The library mapped by 1 in 100 processes (those with `idx % 100 == RARE_AT`).
pub const RARE_LIB: &str = "libbench-rare.so";
pub const RARE_AT: usize = 33;
/// 1 in 100 processes (`idx % 100 == DELETED_AT`) map a copy of a library, then delete it.
pub const DELETED_AT: usize = 66;

/// What a child adds to the common maps.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    /// Nothing.
    Normal,
    /// Small mappings up to just under vm.max_map_count (`--many-maps`).
    Max,
    /// About this many extra small mappings.
    Many(usize),
}

impl Role {
    /// The role of workload process `idx`: 1 in 100 has thousands of small mappings.
    pub fn for_index(idx: usize) -> Role {
        if idx % 100 == 99 {
            Role::Many(2500 + (idx / 100 % 3) * 500)
        } else {
            Role::Normal
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Normal => f.write_str("normal"),
            Role::Max => f.write_str("max"),
            Role::Many(n) => write!(f, "many:{n}"),
        }
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Role, String> {
        match s {
            "normal" => Ok(Role::Normal),
            "max" => Ok(Role::Max),
            _ => match s.strip_prefix("many:").map(str::parse) {
                Some(Ok(n)) => Ok(Role::Many(n)),
                _ => Err(format!("unknown child role {s:?}")),
            },
        }
    }
}

/// The hidden `child` mode; returns the exit code (it only returns on failure).
pub fn main(role: Role, idx: usize, dir: &Path, parent: i32) -> i32 {
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
    if parent != unsafe { libc::getppid() } {
        return 1; // the bench already died
    }
    if let Err(e) = setup(role, idx, dir) {
        eprintln!("bench child {idx} ({role}): {e:#}");
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

fn open(path: &Path) -> Result<File> {
    File::open(path).with_context(|| format!("opening {}", path.display()))
}

fn map_file(path: &Path, prot: libc::c_int, flags: libc::c_int) -> Result<Region> {
    Region::map_file(&open(path)?, prot, flags)
        .with_context(|| format!("mapping {}", path.display()))
}

/// Maps a file the way ld.so maps a shared library: r-- headers, r-x text, r-- rodata/relro,
/// rw- data (private, written), then an anonymous bss; five VMAs that cannot merge.
fn map_like_library(path: &Path, page: usize) -> Result<()> {
    use std::os::fd::AsRawFd;
    let file = open(path)?;
    let size = file
        .metadata()
        .with_context(|| format!("stat {}", path.display()))?
        .len() as usize;
    let unit = size / 8 / page * page;
    let bss = 4 * page;
    let reservation = Region::map(
        size + bss,
        libc::PROT_NONE,
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
        -1,
    )
    .context("mmap of the library reservation")?;
    let segments = [
        (0, unit, libc::PROT_READ),
        (unit, 5 * unit, libc::PROT_READ | libc::PROT_EXEC),
        (5 * unit, 7 * unit, libc::PROT_READ),
        (7 * unit, size, maps::RW),
    ];
    for (start, end, prot) in segments {
        let seg = reservation
            .map_over(
                start,
                end - start,
                prot,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                start,
            )
            .with_context(|| format!("mapping a segment of {}", path.display()))?;
        if prot & libc::PROT_EXEC != 0 {
            seg.touch(page, Touch::Read);
        } else if prot & libc::PROT_WRITE != 0 {
            seg.touch(page, Touch::Write);
        } else {
            seg.sub(0, page.min(seg.len())).touch(page, Touch::Read);
        }
    }
    reservation
        .map_over(
            size,
            bss,
            maps::RW,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
        .context("mmap of the bss")?
        .touch(page, Touch::Write);
    Ok(())
}

/// About `extra` more VMAs: one region split page by page, every `touch_every`-th writable
/// page written. Stops quietly at ENOMEM (vm.max_map_count).
fn many_small_mappings(extra: usize, touch_every: usize, page: usize) -> Result<()> {
    let k = extra.saturating_sub(1) / 2;
    if k == 0 {
        return Ok(());
    }
    let region = Region::map(
        (2 * k + 1) * page,
        maps::RW,
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
        -1,
    )
    .context("mmap of the small mappings")?;
    match region.split_pages(page, touch_every, Touch::Write) {
        Err(e) if e.err.kind() != io::ErrorKind::OutOfMemory => Err(e.into()),
        _ => Ok(()),
    }
}

fn setup(role: Role, idx: usize, dir: &Path) -> Result<()> {
    let page = maps::page_size().context("sysconf(_SC_PAGESIZE)")?;

    // System libraries, with their dependencies, as a real program would have them.
    for lib in SYSTEM_LIBS {
        let name = CString::new(*lib).context("library name")?;
        // SAFETY: valid C string; the handle is deliberately leaked (stays mapped).
        unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    }

    // Libraries of our own, mapped like ld.so does.
    for i in 0..OWN_LIBS {
        map_like_library(&dir.join(format!("libbench{i}.so")), page)?;
    }

    // The large file shared by all, read-touched.
    map_file(&dir.join("big.dat"), libc::PROT_READ, libc::MAP_SHARED)?.touch(page, Touch::Read);

    // A private copy-on-write file map, half of its pages written.
    let cow = map_file(&dir.join("cow.dat"), maps::RW, libc::MAP_PRIVATE)?;
    cow.touch(page, Touch::Read);
    cow.touch(2 * page, Touch::Write);

    // Anonymous memory ("heap"), 1-4 MiB varied per child, touched.
    let anon_len = (1024 + (idx * 397) % 3072) * 1024;
    Region::anon(anon_len)
        .context("mmap of the heap")?
        .touch(page, Touch::Write);

    // Thread-stack-like regions: a guard page and 64 KiB, the top page touched.
    let stacks = 15 + idx % 21;
    for _ in 0..stacks {
        let len = 64 * 1024 + page;
        let stack = Region::anon(len).context("mmap of a stack")?;
        stack
            .sub(0, page)
            .protect(libc::PROT_NONE)
            .context("mprotect guard page")?;
        stack.sub(len - page, page).touch(page, Touch::Write);
    }

    // A SysV shared segment in 1 of 4 children (removed at once: it lives while attached).
    if idx.is_multiple_of(4) {
        maps::sysv_segment(512 * 1024, 0)?.touch(page, Touch::Write);
    }

    // A memfd in 1 of 3 children.
    if idx.is_multiple_of(3) {
        maps::memfd(c"pmaps-bench-memfd", 256 * 1024)
            .context("memfd")?
            .touch(page, Touch::Write);
    }

    // 1 in 100: a library that was deleted after it was mapped (an upgrade replaced it: what
    // `pmaps -k deleted` finds); another 1 in 100: a library no other process maps (what
    // `pmaps -m` looks for).
    match idx % 100 {
        DELETED_AT => {
            let path = dir.join(format!("libbench-old-{idx}.so"));
            fs::copy(dir.join("libbench0.so"), &path)
                .with_context(|| format!("writing {}", path.display()))?;
            map_like_library(&path, page)?;
            fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
        RARE_AT => map_like_library(&dir.join(RARE_LIB), page)?,
        _ => {}
    }

    match role {
        Role::Normal => {}
        Role::Max => {
            let limit = crate::floor::max_map_count()? as usize;
            let have = crate::floor::count_lines("/proc/self/maps")? as usize;
            // Stay just under the limit (a few VMAs of headroom for the runtime).
            many_small_mappings(limit.saturating_sub(have + 5), 8, page)?;
        }
        Role::Many(n) => many_small_mappings(n, 1, page)?,
    }
    Ok(())
}
