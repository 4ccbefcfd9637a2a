//! The machine's memory as `/proc/meminfo` tells it (the figures pmaps uses, in bytes), what
//! a scan could not see ([`Unseen`]), what percentages are of ([`Basis`]), and a percentage
//! in fixed precision ([`Percent`]).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The figures of `/proc/meminfo` that pmaps uses, in bytes. A key the kernel did not print
/// (an older kernel, a kernel built without the feature) is `None`: unknown, not zero. The
/// summary's JSON carries it as it is (`"meminfo": {"total": …}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SystemMemory {
    /// `MemTotal`: usable RAM (physical RAM less what firmware and the kernel image took).
    pub total: u64,
    /// `MemFree`.
    pub free: u64,
    /// `MemAvailable` (Linux 3.14+).
    pub available: Option<u64>,
    /// `Buffers`: block-device page cache.
    pub buffers: u64,
    /// `Cached`: file page cache, shmem and tmpfs included, swap cache not.
    pub cached: u64,
    /// `SwapCached`.
    pub swap_cached: u64,
    /// `AnonPages`: anonymous pages mapped into page tables.
    pub anon_pages: Option<u64>,
    /// `Mapped`: file pages (shmem included) mapped into page tables.
    pub mapped: u64,
    /// `Shmem`: shared memory and tmpfs, mapped or not.
    pub shmem: Option<u64>,
    /// `SReclaimable` / `SUnreclaim`: the slab allocator's caches.
    pub slab_reclaimable: Option<u64>,
    pub slab_unreclaimable: Option<u64>,
    /// `Slab`: both slab figures together.
    pub slab: u64,
    /// `KernelStack`.
    pub kernel_stack: Option<u64>,
    /// `PageTables` (and `SecPageTables`, Linux 6.0+, the secondary MMU's, added in).
    pub page_tables: Option<u64>,
    /// `VmallocUsed`.
    pub vmalloc_used: u64,
    /// `Percpu` (Linux 4.7+).
    pub percpu: Option<u64>,
    /// `Hugetlb` (Linux 4.16+): every hugetlb page of every size, in use or free; on older
    /// kernels `HugePages_Total × Hugepagesize`.
    pub hugetlb: Option<u64>,
    /// `SwapTotal`, `SwapFree`.
    pub swap_total: u64,
    pub swap_free: u64,
}

/// What a scan could not see, measured apart from it: the resident memory of the processes
/// whose maps were not read (denied, incomplete, in error), by their `status` (readable when
/// their maps are not), pmaps' own, which the scan leaves out, and how much the machine
/// moved while it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Unseen {
    /// Processes with memory whose maps were not read.
    pub processes: u64,
    /// The sum of their `VmRSS` (RSS counts shared pages in full: at least their PSS).
    pub rss: u64,
    /// Those of them whose `status` could not be read either (gone since, or hidden).
    pub rss_unknown: u64,
    /// pmaps' own `VmRSS`.
    pub self_rss: Option<u64>,
    /// How much meminfo's user space moved while the scan ran.
    pub drift: Drift,
}

/// How much meminfo's user space (`AnonPages + Mapped`) moved while the scan ran (the scan
/// is not a snapshot; processes start, grow and exit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Drift {
    /// meminfo read after the scan, minus before it.
    Moved(i64),
    /// Not known: meminfo could not be read again, or lacks `AnonPages`.
    #[default]
    Unknown,
    /// A capture holds one meminfo, read as it began: nothing to compare it with, so how
    /// much the machine moved while the capture read its processes is not known.
    Snapshot,
}

impl Drift {
    /// The bytes moved, when measured.
    pub fn bytes(self) -> Option<i64> {
        match self {
            Drift::Moved(d) => Some(d),
            Drift::Unknown | Drift::Snapshot => None,
        }
    }
}

/// What percentages are of: the machine's RAM (`MemTotal`) for memory columns, its swap
/// (`SwapTotal`) for swap columns. `None`: unknown (meminfo unread), or no swap at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Basis {
    pub ram: Option<u64>,
    pub swap: Option<u64>,
}

impl Basis {
    pub fn of(memory: &SystemMemory) -> Basis {
        Basis {
            ram: Some(memory.total).filter(|&n| n > 0),
            swap: Some(memory.swap_total).filter(|&n| n > 0),
        }
    }
}

/// A share of a whole, kept exact (`part` of `whole`) until it is shown: every format rounds
/// it to its own precision (the table to one decimal, with `<0.1` for a share too small to
/// show but not zero; CSV and JSON to two decimals, JSON as a number: `12.34`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Percent {
    pub part: u64,
    pub whole: u64,
}

impl Percent {
    /// `part` as a share of `whole`; `None` when the whole is unknown or zero.
    pub fn of(part: u64, whole: Option<u64>) -> Option<Percent> {
        let whole = whole.filter(|&w| w > 0)?;
        Some(Percent { part, whole })
    }

    /// The share in `10^-decimals` percent, rounded to the nearest.
    pub fn scaled(self, decimals: u32) -> u128 {
        let whole = u128::from(self.whole.max(1));
        (u128::from(self.part) * 100 * 10u128.pow(decimals) + whole / 2) / whole
    }

    /// The share in hundredths of a percent (`1234` for 12.34 %).
    pub fn hundredths(self) -> u64 {
        u64::try_from(self.scaled(2)).unwrap_or(u64::MAX)
    }

    /// The share rounded to hundredths, as a number (`12.34`).
    pub fn as_f64(self) -> f64 {
        self.hundredths() as f64 / 100.0
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_f64())
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Percent, D::Error> {
        let v = f64::deserialize(d)?;
        if !v.is_finite() || v < 0.0 {
            return Err(serde::de::Error::custom("a percentage is a number >= 0"));
        }
        // As written: hundredths of a percent. `as` saturates, so an absurd value cannot wrap.
        Ok(Percent {
            part: (v * 100.0).round() as u64,
            whole: 10_000,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_is_exact_until_rounded_to_hundredths() {
        let h = |part, whole| Percent::of(part, Some(whole)).map(Percent::hundredths);
        assert_eq!(h(1, 3), Some(3333));
        assert_eq!(h(2, 3), Some(6667));
        assert_eq!(h(5, 5), Some(10_000));
        assert_eq!(h(u64::MAX, 1).map(|p| p > 0), Some(true));
        // A tiny share is not zero, whatever the hundredths say.
        let tiny = Percent::of(736, Some(25_276_059_648 / 1024)).unwrap();
        assert_eq!((tiny.hundredths(), tiny.part > 0), (0, true));
        assert_eq!(Percent::of(1, Some(0)), None);
        assert_eq!(Percent::of(1, None), None);
    }

    #[test]
    fn percent_is_a_plain_json_number_and_reads_back() {
        let p = |part| Percent {
            part,
            whole: 10_000,
        };
        let json = serde_json::to_string(&[p(1234), p(10_000), p(5)]).unwrap();
        assert_eq!(json, "[12.34,100.0,0.05]");
        let back: Vec<Percent> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, [p(1234), p(10_000), p(5)]);
        assert!(serde_json::from_str::<Percent>("-1").is_err());
    }
}
