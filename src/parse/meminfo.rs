//! `/proc/meminfo`, through the `procfs` crate's parser (`procfs::Meminfo`, which reads from
//! any reader), into [`SystemMemory`]; the two keys that crate does not know (`Percpu`,
//! `SecPageTables`) are matched here, exactly.
//!
//! The crate's parser trusts its input (it slices the key at a byte offset and multiplies
//! without checking), so only lines in the kernel's own shape reach it: an ASCII key, a
//! colon, spaces, at most 15 digits, an optional ` kB`. Anything else is dropped first: a
//! hostile or broken file is an error, never a panic.

use procfs::{FromRead, Meminfo};

use super::ParseError;
use super::smaps::{FieldRef, parse_field};
use crate::model::SystemMemory;

/// The longest value kept: 15 digits of kB stay far below `u64::MAX` once in bytes.
const MAX_DIGITS: usize = 15;

/// Whether `line` is `Key:   123 kB` or `Key:   123` (keys: letters, digits, `_`, `(`, `)`).
fn kernel_shaped(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    let key = &line[..colon];
    if key.is_empty()
        || !key
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'(' | b')'))
    {
        return false;
    }
    let rest = &line[colon + 1..];
    let lead = rest.iter().take_while(|&&b| b == b' ').count();
    let value = &rest[lead..];
    let digits = value.iter().take_while(|b| b.is_ascii_digit()).count();
    lead > 0 && (1..=MAX_DIGITS).contains(&digits) && matches!(&value[digits..], b"" | b" kB")
}

/// Parses meminfo text into the figures pmaps uses.
pub fn parse_meminfo(text: &[u8]) -> Result<SystemMemory, ParseError> {
    let mut clean = Vec::with_capacity(text.len());
    let (mut percpu, mut sec_page_tables) = (None, None);
    for line in text.split(|&b| b == b'\n').filter(|l| kernel_shaped(l)) {
        clean.extend_from_slice(line);
        clean.push(b'\n');
        match parse_field(line) {
            Some((b"Percpu", FieldRef::Bytes(n))) => percpu = Some(n),
            Some((b"SecPageTables", FieldRef::Bytes(n))) => sec_page_tables = Some(n),
            _ => {}
        }
    }
    let m = Meminfo::from_read(clean.as_slice()).map_err(|e| ParseError {
        message: format!("meminfo: {e}"),
    })?;
    let hugetlb = m.hugetlb.or_else(|| {
        m.hugepages_total
            .zip(m.hugepagesize)
            .map(|(n, size)| n.saturating_mul(size))
    });
    Ok(SystemMemory {
        total: m.mem_total,
        free: m.mem_free,
        available: m.mem_available,
        buffers: m.buffers,
        cached: m.cached,
        swap_cached: m.swap_cached,
        anon_pages: m.anon_pages,
        mapped: m.mapped,
        shmem: m.shmem,
        slab_reclaimable: m.s_reclaimable,
        slab_unreclaimable: m.s_unreclaim,
        slab: m.slab,
        kernel_stack: m.kernel_stack,
        page_tables: m
            .page_tables
            .map(|p| p.saturating_add(sec_page_tables.unwrap_or(0))),
        vmalloc_used: m.vmalloc_used,
        percpu,
        hugetlb,
        swap_total: m.swap_total,
        swap_free: m.swap_free,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The meminfo of a 6.18 kernel, as printed (values made up, layout exact).
    const MEMINFO: &[u8] = b"\
MemTotal:        8000000 kB
MemFree:         5000000 kB
MemAvailable:    7000000 kB
Buffers:           20000 kB
Cached:          1500000 kB
SwapCached:          100 kB
Active:           900000 kB
Inactive:         800000 kB
Active(anon):       1000 kB
Inactive(anon):   400000 kB
Active(file):     899000 kB
Inactive(file):   400000 kB
Unevictable:           0 kB
Mlocked:               0 kB
SwapTotal:       2000000 kB
SwapFree:        1900000 kB
Zswap:                 0 kB
Zswapped:              0 kB
Dirty:               100 kB
Writeback:             0 kB
AnonPages:        400000 kB
Mapped:           200000 kB
Shmem:             30000 kB
KReclaimable:     150000 kB
Slab:             200000 kB
SReclaimable:     150000 kB
SUnreclaim:        50000 kB
KernelStack:        3000 kB
PageTables:        10000 kB
SecPageTables:         8 kB
NFS_Unstable:          0 kB
Bounce:                0 kB
WritebackTmp:          0 kB
CommitLimit:     6000000 kB
Committed_AS:     600000 kB
VmallocTotal:   34359738367 kB
VmallocUsed:       15000 kB
VmallocChunk:          0 kB
Percpu:              700 kB
HugePages_Total:       2
HugePages_Free:        2
HugePages_Rsvd:        0
HugePages_Surp:        0
Hugepagesize:       2048 kB
Hugetlb:            4096 kB
DirectMap4k:       30720 kB
";

    #[test]
    fn kernel_meminfo_in_bytes_with_the_keys_procfs_lacks() {
        let m = parse_meminfo(MEMINFO).expect("valid meminfo");
        assert_eq!(m.total, 8_000_000 * 1024);
        assert_eq!(m.anon_pages, Some(400_000 * 1024));
        assert_eq!(m.mapped, 200_000 * 1024);
        assert_eq!(m.slab_unreclaimable, Some(50_000 * 1024));
        // SecPageTables is added to PageTables.
        assert_eq!(m.page_tables, Some(10_008 * 1024));
        assert_eq!(m.percpu, Some(700 * 1024));
        assert_eq!(m.hugetlb, Some(4096 * 1024));
        assert_eq!(
            (m.swap_total, m.swap_free),
            (2_000_000 * 1024, 1_900_000 * 1024)
        );
    }

    #[test]
    fn without_hugetlb_the_pool_is_pages_times_size_and_missing_keys_are_unknown() {
        let text: Vec<u8> = MEMINFO
            .split(|&b| b == b'\n')
            .filter(|l| !l.starts_with(b"Hugetlb:") && !l.starts_with(b"Percpu:"))
            .flat_map(|l| l.iter().copied().chain([b'\n']))
            .collect();
        let m = parse_meminfo(&text).expect("valid meminfo");
        assert_eq!(m.hugetlb, Some(2 * 2048 * 1024));
        assert_eq!(m.percpu, None);
    }

    #[test]
    fn hostile_meminfo_is_an_error_never_a_panic() {
        for bad in [
            &b""[..],
            b"\xff\xfe\n",
            b"MemTotal: 99999999999999999999999 kB\n",
            b"\xc3\xa9: 5\nMemTotal:\n",
            b"MemTotal: 5 PB\n",
            b"MemTotal 5 kB\n",
        ] {
            assert!(parse_meminfo(bad).is_err(), "{bad:?}");
        }
        // A stray odd line among good ones is dropped, not fatal.
        let mut odd = MEMINFO.to_vec();
        odd.extend_from_slice("Str\u{e9}nge: 1 kB\nHuge: 18446744073709551615 kB\n".as_bytes());
        assert!(parse_meminfo(&odd).is_ok());
    }
}
