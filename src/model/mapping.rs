//! Mappings: their kinds, their header line (borrowed while streaming, owned for `show`),
//! the raw smaps fields `show --all-fields` keeps, and which `/proc/PID/*` file they came from.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::Counters;

/// What a mapping is, decided from its path field alone (never by `stat()`ing the path).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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
    /// Huge pages of hugetlbfs (VmFlags `ht`): `MAP_HUGETLB` memory
    /// (`/anon_hugepage (deleted)`), SysV segments made with `SHM_HUGETLB`, memfds made with
    /// `MFD_HUGETLB`, files on a hugetlbfs mount. Shared memory of its own kind, never a
    /// deleted file. Its resident pages are in `Shared_Hugetlb`/`Private_Hugetlb`, not in RSS.
    Hugetlb,
    /// `[vdso]`, `[vvar]`, `[vvar_vclock]`, `[vsyscall]`.
    Vdso,
    /// Any other pseudo name: `[anon:NAME]`, `[anon_shmem:NAME]`, `anon_inode:…`,
    /// `/dev/zero (deleted)`, unknown bracketed names.
    Other,
}

impl MapKind {
    pub const ALL: [MapKind; 10] = [
        MapKind::File,
        MapKind::Deleted,
        MapKind::Heap,
        MapKind::Stack,
        MapKind::Anon,
        MapKind::Shm,
        MapKind::Memfd,
        MapKind::Hugetlb,
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
            MapKind::Hugetlb => "hugetlb",
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
    /// Whether the mapping is of hugetlbfs, as smaps says (`ht` in `VmFlags:`); `None` when
    /// the source does not say (`maps`, or an smaps record without the line).
    pub hugetlb: Option<bool>,
}

/// The object a mapping maps: its device and inode, as `maps` prints them. Two mappings of
/// one file share it whatever path each process sees (another mount namespace, a
/// container's root); two different files with one path do not. Anonymous and pseudo
/// mappings have device 00:00 and inode 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Object {
    pub dev_major: u32,
    pub dev_minor: u32,
    pub inode: u64,
}

impl Object {
    pub fn of(h: &MapHeader<'_>) -> Object {
        Object {
            dev_major: h.dev_major,
            dev_minor: h.dev_minor,
            inode: h.inode,
        }
    }

    /// The object of a mapping read whole.
    pub fn of_mapping(m: &Mapping) -> Object {
        Object {
            dev_major: m.dev_major,
            dev_minor: m.dev_minor,
            inode: m.inode,
        }
    }

    /// The device in maps notation (`fe:00`).
    pub fn device(&self) -> String {
        format!("{:02x}:{:02x}", self.dev_major, self.dev_minor)
    }

    /// Parses maps notation (`fe:00`, `103:02`).
    pub fn parse_device(s: &str) -> Option<(u32, u32)> {
        let (major, minor) = s.split_once(':')?;
        Some((
            u32::from_str_radix(major, 16).ok()?,
            u32::from_str_radix(minor, 16).ok()?,
        ))
    }
}

/// Which `/proc/PID/*` file the mapping data came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// `smaps`: one record per mapping with residency.
    Smaps,
    /// `smaps_rollup`: the process's totals in one record (no `Size:`).
    #[serde(rename = "smaps_rollup")]
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
///
/// Bounded: a key is kept only when it looks like a kernel key (a letter, then letters,
/// digits or `_`, at most [`FieldKeys::MAX_KEY_LEN`] bytes) and fewer than
/// [`FieldKeys::MAX_KEYS`] keys are known; any other field is counted in `left_out`, not
/// kept. (A kernel prints about 25 keys; a hostile proc root can print another one in every
/// record.)
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldKeys {
    pub names: Vec<String>,
    /// Fields not kept: of keys past the cap, keys that are not kernel-style names, a key
    /// repeated in its record.
    pub left_out: u64,
    /// Each name's index in `names`.
    index: HashMap<Vec<u8>, usize>,
}

impl FieldKeys {
    /// The most distinct keys kept: a kernel prints about 25, so room for new ones to come;
    /// a hostile smaps with another key in every record then costs what a real process at
    /// `vm.max_map_count` costs (mappings × keys cells), not four times more.
    pub const MAX_KEYS: usize = 64;
    /// The longest key kept.
    pub const MAX_KEY_LEN: usize = 64;

    /// The index of `key`, added at the end when it is new; `None` (and counted in
    /// `left_out`) when it is not kept.
    pub fn intern(&mut self, key: &[u8], hint: usize) -> Option<usize> {
        // Every record prints its keys in the same order: the hint (the field's position in
        // its record) is almost always right.
        if self.names.get(hint).is_some_and(|n| n.as_bytes() == key) {
            return Some(hint);
        }
        if let Some(&i) = self.index.get(key) {
            return Some(i);
        }
        if self.names.len() >= Self::MAX_KEYS || !is_kernel_key(key) {
            self.left_out += 1;
            return None;
        }
        self.names.push(String::from_utf8_lossy(key).into_owned());
        self.index.insert(key.to_vec(), self.names.len() - 1);
        Some(self.names.len() - 1)
    }
}

/// `Pss_Dirty`, `THPeligible`, `VmFlags`: a letter, then letters, digits and `_`.
fn is_kernel_key(key: &[u8]) -> bool {
    key.len() <= FieldKeys::MAX_KEY_LEN
        && key.first().is_some_and(u8::is_ascii_alphabetic)
        && key.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
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
    /// See [`MapHeader::hugetlb`].
    pub hugetlb: Option<bool>,
    pub counters: Counters,
    /// Every `Key: value` line of the record that was kept, in the kernel's order, as (index
    /// in the [`FieldKeys`] of the read, value); a key printed twice in one record is kept
    /// once. Empty unless every field was asked for.
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
            hugetlb: h.hugetlb,
            counters: *counters,
            fields: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_keys_are_kernel_names_and_bounded() {
        let mut keys = FieldKeys::default();
        assert_eq!(keys.intern(b"Pss_Dirty", 0), Some(0));
        assert_eq!(keys.intern(b"THPeligible", 5), Some(1));
        assert_eq!(keys.intern(b"Pss_Dirty", 1), Some(0));
        for bad in [&b""[..], b"1x", b"a b", b"x,y", b"\xff", &[b'k'; 65]] {
            assert_eq!(keys.intern(bad, 0), None, "{bad:?}");
        }
        assert_eq!(keys.left_out, 6);
        for i in 2..FieldKeys::MAX_KEYS {
            assert_eq!(keys.intern(format!("K{i}").as_bytes(), i), Some(i));
        }
        assert_eq!(keys.intern(b"OneTooMany", 0), None);
        assert_eq!(keys.names.len(), FieldKeys::MAX_KEYS);
        assert_eq!(keys.left_out, 7);
        // Known keys are still found once the cap is reached.
        assert_eq!(keys.intern(b"K9", 0), Some(9));
    }
}
