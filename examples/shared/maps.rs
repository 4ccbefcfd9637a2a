//! Memory mappings for the helper processes of the examples: `examples/maphelper.rs` (the
//! integration tests' helper) and the benchmark's workload children (`examples/bench/child.rs`)
//! both include this file with `#[path = "shared/maps.rs"]` (a directory without `main.rs` is
//! not an example target of its own). It owns the mmap and mprotect wrappers, touching the
//! pages of a mapping so that they become resident, and the kinds of mappings both helpers build:
//! a mapped file, a SysV shared segment, a memfd, and a region split into one mapping per page.
//! A helper never unmaps anything (it lives until it is killed), so a [`Region`] stays valid for
//! the rest of the process. Failures come back as `io::Error`s or as a [`SysError`] naming the
//! failing call; each helper reports them its own way.

// Each including example uses its own subset of this file.
#![allow(dead_code)]

use std::ffi::CStr;
use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::ptr;

/// `PROT_READ | PROT_WRITE`.
pub const RW: libc::c_int = libc::PROT_READ | libc::PROT_WRITE;

/// A failed system call: which call (`shmat`, `ftruncate`, …) and its error.
#[derive(Debug)]
pub struct SysError {
    pub call: &'static str,
    pub err: io::Error,
}

impl SysError {
    fn last(call: &'static str) -> SysError {
        SysError {
            call,
            err: io::Error::last_os_error(),
        }
    }
}

impl fmt::Display for SysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.call, self.err)
    }
}

impl std::error::Error for SysError {}

pub fn page_size() -> io::Result<usize> {
    // SAFETY: sysconf has no memory-safety preconditions.
    let ps = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if ps <= 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ps as usize)
    }
}

/// How [`Region::touch`] makes a page resident.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Touch {
    /// Read one byte.
    Read,
    /// Store a non-zero byte without reading first: on a fresh anonymous page the first access
    /// is a write fault (the benchmark's workload, which then looks like a program's heap).
    Write,
    /// Read one byte and store it plus one (the tests' helper: every page a read, then a
    /// write fault).
    Bump,
}

/// A mapping this process made and never unmaps: `len` bytes from `base`.
#[derive(Clone, Copy)]
pub struct Region {
    base: *mut u8,
    len: usize,
}

impl Region {
    /// mmap at an address the kernel chooses (`flags` must not contain `MAP_FIXED`), offset 0.
    pub fn map(
        len: usize,
        prot: libc::c_int,
        flags: libc::c_int,
        fd: libc::c_int,
    ) -> io::Result<Region> {
        assert_eq!(flags & libc::MAP_FIXED, 0, "Region::map chooses no address");
        // SAFETY: a fresh mapping at an address the kernel chooses cannot alias Rust memory.
        let p = unsafe { libc::mmap(ptr::null_mut(), len, prot, flags, fd, 0) };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Region {
            base: p.cast(),
            len,
        })
    }

    /// Anonymous private read-write memory.
    pub fn anon(len: usize) -> io::Result<Region> {
        Region::map(len, RW, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1)
    }

    /// The whole of `file` (the caller's descriptor may be closed afterwards: the mapping keeps
    /// the file referenced). An empty file is an error: 0 bytes cannot be mapped.
    pub fn map_file(file: &File, prot: libc::c_int, flags: libc::c_int) -> io::Result<Region> {
        let len = file.metadata()?.len();
        if len == 0 {
            return Err(io::Error::other("file is empty (cannot map 0 bytes)"));
        }
        let len = usize::try_from(len).map_err(|_| io::Error::other("file too large"))?;
        Region::map(len, prot, flags, file.as_raw_fd())
    }

    /// Maps `len` bytes of `fd` from `file_off` (or anonymous memory, `fd` -1) over
    /// `[off, off + len)` of this region (`MAP_FIXED` is added to `flags`).
    pub fn map_over(
        &self,
        off: usize,
        len: usize,
        prot: libc::c_int,
        flags: libc::c_int,
        fd: libc::c_int,
        file_off: usize,
    ) -> io::Result<Region> {
        let at = self.sub(off, len);
        let file_off = libc::off_t::try_from(file_off).map_err(io::Error::other)?;
        // SAFETY: MAP_FIXED only replaces pages of this region, which no Rust reference points
        // into (regions are only accessed through volatile reads and writes).
        let p = unsafe {
            libc::mmap(
                at.base.cast(),
                len,
                prot,
                flags | libc::MAP_FIXED,
                fd,
                file_off,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(at)
    }

    pub fn base(&self) -> *mut u8 {
        self.base
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// `[off, off + len)` of this region.
    pub fn sub(&self, off: usize, len: usize) -> Region {
        assert!(
            off.checked_add(len).is_some_and(|end| end <= self.len),
            "sub-region out of bounds"
        );
        // SAFETY: in bounds of this mapping (checked above).
        Region {
            base: unsafe { self.base.add(off) },
            len,
        }
    }

    /// mprotect the whole region.
    pub fn protect(&self, prot: libc::c_int) -> io::Result<()> {
        // SAFETY: changes the protection of pages of our own mapping, which no Rust reference
        // points into.
        if unsafe { libc::mprotect(self.base.cast(), self.len, prot) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Accesses one byte every `step` bytes, from the first, as `how` says. The caller knows
    /// the pages are readable (and writable for `Write` and `Bump`).
    pub fn touch(&self, step: usize, how: Touch) {
        let mut acc = 0u8;
        for off in (0..self.len).step_by(step.max(1)) {
            // SAFETY: inside this live mapping, which is never unmapped; only volatile
            // accesses touch it.
            unsafe {
                let p = self.base.add(off);
                match how {
                    Touch::Read => acc ^= ptr::read_volatile(p),
                    Touch::Write => ptr::write_volatile(p, (off >> 12) as u8 | 1),
                    Touch::Bump => ptr::write_volatile(p, ptr::read_volatile(p).wrapping_add(1)),
                }
            }
        }
        std::hint::black_box(acc);
    }

    /// Splits this page-aligned region into one mapping per page: every odd page becomes
    /// read-only, so no two neighbours can merge. The even pages stay writable; every
    /// `touch_every`-th of them is touched with `how`. Stops at the first mprotect that fails
    /// (ENOMEM once vm.max_map_count is reached); the pages before it are done.
    pub fn split_pages(&self, page: usize, touch_every: usize, how: Touch) -> Result<(), SysError> {
        for i in 0..self.len / page {
            let p = self.sub(i * page, page);
            if i % 2 == 1 {
                if let Err(err) = p.protect(libc::PROT_READ) {
                    return Err(SysError {
                        call: "mprotect",
                        err: io::Error::new(
                            err.kind(),
                            format!("{err} after {i} pages (vm.max_map_count too low?)"),
                        ),
                    });
                }
            } else if (i / 2).is_multiple_of(touch_every.max(1)) {
                p.touch(page, how);
            }
        }
        Ok(())
    }
}

/// A SysV shared segment of `len` bytes: shmget(IPC_PRIVATE) with `flags` added
/// (`SHM_HUGETLB`: in huge pages), shmat, then IPC_RMID at once (the segment lives on while
/// it is attached, and nothing is left behind when the process dies).
pub fn sysv_segment(len: usize, flags: libc::c_int) -> Result<Region, SysError> {
    // SAFETY: plain syscalls; the attached segment is never detached.
    unsafe {
        let id = libc::shmget(libc::IPC_PRIVATE, len, libc::IPC_CREAT | flags | 0o600);
        if id < 0 {
            return Err(SysError::last("shmget"));
        }
        let base = libc::shmat(id, ptr::null(), 0);
        if base as isize == -1 {
            let e = SysError::last("shmat");
            libc::shmctl(id, libc::IPC_RMID, ptr::null_mut());
            return Err(e);
        }
        if libc::shmctl(id, libc::IPC_RMID, ptr::null_mut()) != 0 {
            return Err(SysError::last("shmctl(IPC_RMID)"));
        }
        Ok(Region {
            base: base.cast(),
            len,
        })
    }
}

/// memfd_create(`name`) of `len` bytes, mapped shared read-write (the descriptor is closed;
/// the mapping keeps the memfd alive).
pub fn memfd(name: &CStr, len: usize) -> Result<Region, SysError> {
    let size = libc::off_t::try_from(len).map_err(|e| SysError {
        call: "ftruncate",
        err: io::Error::other(e),
    })?;
    // SAFETY: plain syscalls on a descriptor we own; name is NUL-terminated.
    unsafe {
        let fd = libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC);
        if fd < 0 {
            return Err(SysError::last("memfd_create"));
        }
        let mapped = if libc::ftruncate(fd, size) != 0 {
            Err(SysError::last("ftruncate"))
        } else {
            Region::map(len, RW, libc::MAP_SHARED, fd).map_err(|err| SysError { call: "mmap", err })
        };
        libc::close(fd);
        mapped
    }
}
