//! The data model shared by every stage: counters in bytes, mapping kinds, per-process
//! outcomes and the coverage of a scan.
//!
//! Values are raw integers (bytes). A key the kernel did not print is "unknown", which is not
//! the same as 0: [`Counters::known`] records which fields were present. Human units and
//! escaping belong to the renderers alone.

use std::ops::AddAssign;

use serde::Serialize;

/// One bit per field of [`Counters`], recording which keys the source actually printed.
pub mod field {
    pub const SIZE: u16 = 1 << 0;
    pub const RSS: u16 = 1 << 1;
    pub const PSS: u16 = 1 << 2;
    pub const SHARED_CLEAN: u16 = 1 << 3;
    pub const SHARED_DIRTY: u16 = 1 << 4;
    pub const PRIVATE_CLEAN: u16 = 1 << 5;
    pub const PRIVATE_DIRTY: u16 = 1 << 6;
    pub const SWAP: u16 = 1 << 7;
    pub const SWAP_PSS: u16 = 1 << 8;
    pub const REFERENCED: u16 = 1 << 9;
    pub const ANONYMOUS: u16 = 1 << 10;
    pub const LOCKED: u16 = 1 << 11;
    pub const ALL: u16 = (1 << 12) - 1;
}

/// Memory counters of one mapping, one process or one group, in bytes.
///
/// `known` has a [`field`] bit set for each value the kernel printed. Adding two counters
/// keeps a bit only when both sides knew it, so a sum over a set where one member lacked a
/// key (an older kernel without `SwapPss:`, a rollup without `Size:`) is reported unknown
/// instead of silently low. The empty sum, `Counters::default()`, knows every field (it is
/// the identity of addition); a parsed record starts from [`Counters::unknown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    pub size: u64,
    pub rss: u64,
    pub pss: u64,
    pub shared_clean: u64,
    pub shared_dirty: u64,
    pub private_clean: u64,
    pub private_dirty: u64,
    pub swap: u64,
    pub swap_pss: u64,
    pub referenced: u64,
    pub anonymous: u64,
    pub locked: u64,
    pub known: u16,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            known: field::ALL,
            ..Counters::unknown()
        }
    }
}

impl Counters {
    /// All zero and nothing known: where a parser starts a record.
    pub const fn unknown() -> Counters {
        Counters {
            size: 0,
            rss: 0,
            pss: 0,
            shared_clean: 0,
            shared_dirty: 0,
            private_clean: 0,
            private_dirty: 0,
            swap: 0,
            swap_pss: 0,
            referenced: 0,
            anonymous: 0,
            locked: 0,
            known: 0,
        }
    }
    /// Unique set size: pages mapped by this process alone (Private_Clean + Private_Dirty).
    pub fn uss(&self) -> u64 {
        self.private_clean + self.private_dirty
    }
    /// Shared_Clean + Shared_Dirty.
    pub fn shared(&self) -> u64 {
        self.shared_clean + self.shared_dirty
    }
    /// Shared_Dirty + Private_Dirty (pmap's `Dirty` column).
    pub fn dirty(&self) -> u64 {
        self.shared_dirty + self.private_dirty
    }
    pub fn is_known(&self, bits: u16) -> bool {
        self.known & bits == bits
    }
    /// Adds `other` into `self`, intersecting what is known (see the type's docs).
    pub fn absorb(&mut self, other: &Counters) {
        self.known &= other.known;
        self.size += other.size;
        self.rss += other.rss;
        self.pss += other.pss;
        self.shared_clean += other.shared_clean;
        self.shared_dirty += other.shared_dirty;
        self.private_clean += other.private_clean;
        self.private_dirty += other.private_dirty;
        self.swap += other.swap;
        self.swap_pss += other.swap_pss;
        self.referenced += other.referenced;
        self.anonymous += other.anonymous;
        self.locked += other.locked;
    }
}

impl AddAssign<&Counters> for Counters {
    fn add_assign(&mut self, rhs: &Counters) {
        self.absorb(rhs);
    }
}

/// What a mapping is, decided from its path field alone (never by `stat()`ing the path).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MapKind {
    /// A regular file on disk.
    File,
    /// A file that was unlinked while mapped (` (deleted)` suffix).
    Deleted,
    /// `[heap]`.
    Heap,
    /// `[stack]` (and old kernels' `[stack:TID]`).
    Stack,
    /// Anonymous memory: empty path.
    Anon,
    /// SysV shared memory (`/SYSV%08x (deleted)`).
    Shm,
    /// memfd (`/memfd:NAME (deleted)`).
    Memfd,
    /// `[vdso]`, `[vvar]`, `[vvar_vclock]`, `[vsyscall]`.
    Vdso,
    /// Any other pseudo name: `[anon:NAME]`, `[anon_shmem:NAME]`, `anon_inode:…`,
    /// `/dev/zero (deleted)`, unknown bracketed names.
    Other,
}

impl MapKind {
    pub const ALL: [MapKind; 9] = [
        MapKind::File,
        MapKind::Deleted,
        MapKind::Heap,
        MapKind::Stack,
        MapKind::Anon,
        MapKind::Shm,
        MapKind::Memfd,
        MapKind::Vdso,
        MapKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MapKind::File => "file",
            MapKind::Deleted => "deleted",
            MapKind::Heap => "heap",
            MapKind::Stack => "stack",
            MapKind::Anon => "anon",
            MapKind::Shm => "shm",
            MapKind::Memfd => "memfd",
            MapKind::Vdso => "vdso",
            MapKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<MapKind> {
        MapKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The header line of one mapping, as `/proc/PID/maps` prints it. Borrowed from the read
/// buffer: the path is the raw bytes after the inode field, untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapHeader<'a> {
    pub start: u64,
    pub end: u64,
    /// `rwxp` / `rwxs` as printed.
    pub perms: [u8; 4],
    pub offset: u64,
    pub dev_major: u32,
    pub dev_minor: u32,
    pub inode: u64,
    pub path: &'a [u8],
}

/// Which `/proc/PID/*` file the mapping data came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// `smaps`: one record per mapping with residency.
    Smaps,
    /// `smaps_rollup`: the process's totals in one record (no `Size:`).
    Rollup,
    /// `maps`: address ranges only, no residency.
    Maps,
}

impl Source {
    pub fn file_name(self) -> &'static str {
        match self {
            Source::Smaps => "smaps",
            Source::Rollup => "smaps_rollup",
            Source::Maps => "maps",
        }
    }
}

/// What happened when one PID was read. Every PID listed gets exactly one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Fully read.
    Read,
    /// Gone (ENOENT/ESRCH) before or during the read, and no longer there.
    Vanished,
    /// A zombie: it has no memory left to report.
    Zombie,
    /// A kernel thread: no user memory.
    KernelThread,
    /// EACCES or EPERM.
    Denied { path: String, errno: i32 },
    /// The map read ended early because the process exited or exec'd meanwhile: the kernel
    /// gives a short file with no error, so this is found by checking the process after.
    Incomplete,
    /// Anything else: an unexpected errno, a malformed file.
    Error { path: String, message: String },
}

impl Outcome {
    pub fn kind(&self) -> OutcomeKind {
        match self {
            Outcome::Read => OutcomeKind::Read,
            Outcome::Vanished => OutcomeKind::Vanished,
            Outcome::Zombie => OutcomeKind::Zombie,
            Outcome::KernelThread => OutcomeKind::KernelThread,
            Outcome::Denied { .. } => OutcomeKind::Denied,
            Outcome::Incomplete => OutcomeKind::Incomplete,
            Outcome::Error { .. } => OutcomeKind::Error,
        }
    }
}

/// The outcome without its details, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Read,
    Vanished,
    Zombie,
    KernelThread,
    Denied,
    Incomplete,
    Error,
}

impl OutcomeKind {
    pub const ALL: [OutcomeKind; 7] = [
        OutcomeKind::Read,
        OutcomeKind::Vanished,
        OutcomeKind::Zombie,
        OutcomeKind::KernelThread,
        OutcomeKind::Denied,
        OutcomeKind::Incomplete,
        OutcomeKind::Error,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Read => "read",
            OutcomeKind::Vanished => "vanished",
            OutcomeKind::Zombie => "zombie",
            OutcomeKind::KernelThread => "kernel_thread",
            OutcomeKind::Denied => "denied",
            OutcomeKind::Incomplete => "incomplete",
            OutcomeKind::Error => "error",
        }
    }
    /// Outcomes that make a report partial. Vanished, zombie and kernel-thread outcomes are
    /// expected on any live system and do not.
    pub fn is_partial(self) -> bool {
        matches!(
            self,
            OutcomeKind::Denied | OutcomeKind::Incomplete | OutcomeKind::Error
        )
    }
}

/// Facts about one process, read from `stat`, `status` and `cmdline`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcInfo {
    pub pid: u32,
    /// `comm` as the kernel gives it (up to 15 bytes, raw).
    pub comm: Vec<u8>,
    /// The command line, NUL separators turned into spaces; empty for kernel threads and
    /// zombies.
    pub cmdline: Vec<u8>,
    /// Effective uid, when `status` could be read.
    pub uid: Option<u32>,
    /// Start time in clock ticks since boot (with the PID, the identity of a process).
    pub start_time: u64,
    pub kernel_thread: bool,
    /// The state letter of `stat` (`R`, `S`, `D`, `Z`…); 0 when `stat` was not read.
    pub state: u8,
}

/// The value of one smaps `Key: value` line, owned (`pmaps show --all-fields`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    /// `N kB`, in bytes.
    Bytes(u64),
    /// A number without a unit (`THPeligible:`, `ProtectionKey:`).
    Number(u64),
    /// Anything else, raw (`VmFlags: rd wr mr mw me ac`), without the padding.
    Text(Vec<u8>),
}

/// The smaps keys seen so far, in the order the kernel first printed them. A mapping's
/// fields refer to a key by its index here, so 65,530 mappings do not each own 25 key names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldKeys {
    pub names: Vec<String>,
}

impl FieldKeys {
    /// The index of `key`, added at the end when it is new.
    pub fn intern(&mut self, key: &[u8], hint: usize) -> usize {
        // Every record prints its keys in the same order: the hint (the field's position in
        // its record) is almost always right.
        if self.names.get(hint).is_some_and(|n| n.as_bytes() == key) {
            return hint;
        }
        if let Some(i) = self.names.iter().position(|n| n.as_bytes() == key) {
            return i;
        }
        self.names.push(String::from_utf8_lossy(key).into_owned());
        self.names.len() - 1
    }
}

/// One mapping of one process with its header owned (`pmaps show`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub start: u64,
    pub end: u64,
    pub perms: [u8; 4],
    pub offset: u64,
    pub dev_major: u32,
    pub dev_minor: u32,
    pub inode: u64,
    /// Raw, as the kernel printed it (` (deleted)` included).
    pub path: Vec<u8>,
    pub counters: Counters,
    /// Every `Key: value` line of the record, in the kernel's order, as (index in the
    /// [`FieldKeys`] of the read, value). Empty unless every field was asked for.
    pub fields: Vec<(usize, FieldValue)>,
}

impl Mapping {
    pub fn new(h: &MapHeader<'_>, counters: &Counters) -> Mapping {
        Mapping {
            start: h.start,
            end: h.end,
            perms: h.perms,
            offset: h.offset,
            dev_major: h.dev_major,
            dev_minor: h.dev_minor,
            inode: h.inode,
            path: h.path.to_vec(),
            counters: *counters,
            fields: Vec::new(),
        }
    }
}
