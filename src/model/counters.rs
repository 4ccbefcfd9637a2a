//! Memory counters in bytes, and which of them the kernel actually printed.
//!
//! Values are raw integers (bytes). A key the kernel did not print is "unknown", which is not
//! the same as 0: [`Counters::known`] records which fields were present.

use std::ops::AddAssign;

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
    /// `Pss_Anon:`, `Pss_File:`, `Pss_Shmem:`: printed in `smaps_rollup` only (Linux 5.3+).
    pub const PSS_ANON: u16 = 1 << 12;
    pub const PSS_FILE: u16 = 1 << 13;
    pub const PSS_SHMEM: u16 = 1 << 14;
    /// The PSS split by backing, which only the rollup has.
    pub const PSS_SPLIT: u16 = PSS_ANON | PSS_FILE | PSS_SHMEM;
    pub const ALL: u16 = (1 << 15) - 1;
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
    /// PSS of anonymous, file-backed and shmem/tmpfs pages (the rollup's split of `pss`).
    pub pss_anon: u64,
    pub pss_file: u64,
    pub pss_shmem: u64,
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
            pss_anon: 0,
            pss_file: 0,
            pss_shmem: 0,
            known: 0,
        }
    }
    /// Unique set size: pages mapped by this process alone (Private_Clean + Private_Dirty).
    pub fn uss(&self) -> u64 {
        self.private_clean.saturating_add(self.private_dirty)
    }
    /// Shared_Clean + Shared_Dirty.
    pub fn shared(&self) -> u64 {
        self.shared_clean.saturating_add(self.shared_dirty)
    }
    /// Shared_Dirty + Private_Dirty (pmap's `Dirty` column).
    pub fn dirty(&self) -> u64 {
        self.shared_dirty.saturating_add(self.private_dirty)
    }
    pub fn is_known(&self, bits: u16) -> bool {
        self.known & bits == bits
    }
    /// Adds `other` into `self`, intersecting what is known (see the type's docs).
    pub fn absorb(&mut self, other: &Counters) {
        // Saturating: a crafted value in a fake tree must not wrap a total below one of its
        // parts, nor panic. Where it matters (the scan), `checked_absorb` comes first.
        let sum = self.zip(other, u64::saturating_add);
        *self = sum;
    }

    /// Adds `other` into `self` unless a value would pass 2^64 (an impossible amount of
    /// memory, so a file that is not what it claims): then `self` is left as it was and the
    /// result is `false`.
    pub fn checked_absorb(&mut self, other: &Counters) -> bool {
        let overflows = self
            .values()
            .iter()
            .zip(other.values())
            .any(|(a, b)| a.checked_add(b).is_none());
        if !overflows {
            self.absorb(other);
        }
        !overflows
    }

    /// The values in declaration order (`size` … `pss_shmem`), `known` apart.
    pub fn values(&self) -> [u64; 15] {
        [
            self.size,
            self.rss,
            self.pss,
            self.shared_clean,
            self.shared_dirty,
            self.private_clean,
            self.private_dirty,
            self.swap,
            self.swap_pss,
            self.referenced,
            self.anonymous,
            self.locked,
            self.pss_anon,
            self.pss_file,
            self.pss_shmem,
        ]
    }

    /// The counters of [`Counters::values`] and `known`.
    pub fn from_values(v: [u64; 15], known: u16) -> Counters {
        let [
            size,
            rss,
            pss,
            shared_clean,
            shared_dirty,
            private_clean,
            private_dirty,
            swap,
            swap_pss,
            referenced,
            anonymous,
            locked,
            pss_anon,
            pss_file,
            pss_shmem,
        ] = v;
        Counters {
            size,
            rss,
            pss,
            shared_clean,
            shared_dirty,
            private_clean,
            private_dirty,
            swap,
            swap_pss,
            referenced,
            anonymous,
            locked,
            pss_anon,
            pss_file,
            pss_shmem,
            known,
        }
    }

    fn zip(&self, other: &Counters, f: impl Fn(u64, u64) -> u64) -> Counters {
        let (a, b) = (self.values(), other.values());
        Counters::from_values(
            std::array::from_fn(|i| f(a[i], b[i])),
            self.known & other.known,
        )
    }
}

impl AddAssign<&Counters> for Counters {
    fn add_assign(&mut self, rhs: &Counters) {
        self.absorb(rhs);
    }
}
