//! `pmaps summary`'s view: where the RAM and the swap are, one line per part, each with its
//! bytes and its share, then a check of the scan against meminfo.
//!
//! The RAM lines add up to `MemTotal`: user space is the scan's PSS (split by the rollup into
//! anonymous, file-backed and shmem/tmpfs); what meminfo counts as user space beyond it
//! (`AnonPages + Mapped` − PSS: processes not read, pmaps itself, rounding) is its own line;
//! the page cache not mapped is `Buffers + Cached − Mapped`; the kernel is slab, page tables,
//! kernel stacks, vmalloc and per-CPU memory; then hugetlb pools, free memory, and the rest
//! that no counter itemises. The swap lines add up to `SwapTotal`. The check compares the
//! scan with meminfo and lists what can make them differ, each measured: processes not read,
//! pmaps itself, the rounding of PSS to whole kB, and how much meminfo moved while the scan
//! ran (or that it could not be measured: a capture holds one meminfo).
//!
//! Without meminfo (a capture that lacks it) every line made of it is unknown; the scan's
//! own lines stay.

use std::borrow::Cow;

use super::{Cell, ColumnSpec, Elide, Line, Role, Sheet, UnitRule};
use crate::model::{Basis, Drift, Percent, Report, Source, SystemMemory, Unseen, field};
use crate::text::plural;

/// Which whole a line is a share of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Ram,
    Swap,
    /// The check: shares of RAM, apart from the partition.
    Check,
}

/// One line of the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryLine {
    /// The stable name (CSV and JSON): `user_space.anon`.
    pub item: &'static str,
    /// What the table says (indented by `depth`).
    pub label: String,
    pub depth: usize,
    /// `None`: the kernel did not print what it needs.
    pub bytes: Option<u64>,
    pub pct: Option<Percent>,
    pub part: Part,
}

/// The scan's user space against meminfo's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    /// Σ PSS over the processes read.
    pub scan_pss: Option<u64>,
    /// `AnonPages + Mapped`.
    pub meminfo_user: Option<u64>,
    /// meminfo's figure minus the scan's (negative: the scan counted more).
    pub difference: Option<i128>,
    pub processes_read: u64,
    pub unseen: Unseen,
    /// The most the truncation of PSS to whole kB can lose: under 1 KiB per process read
    /// from the rollup, per mapping read from smaps.
    pub rounding_max: u64,
}

/// The summary as a reader is shown it.
#[derive(Debug, Clone)]
pub struct SummaryView<'a> {
    pub report: &'a Report,
    /// `None`: no meminfo (a capture without it).
    pub memory: Option<SystemMemory>,
    pub basis: Basis,
    pub lines: Vec<SummaryLine>,
    pub check: Check,
}

/// Adds up the parts that are known.
fn known_sum(parts: &[Option<u64>]) -> u64 {
    parts
        .iter()
        .flatten()
        .fold(0u64, |a, &b| a.saturating_add(b))
}

impl<'a> SummaryView<'a> {
    pub fn new(
        report: &'a Report,
        memory: Option<SystemMemory>,
        unseen: Unseen,
    ) -> SummaryView<'a> {
        let m = memory.as_ref();
        let basis = m.map_or_else(Basis::default, Basis::of);
        // A meminfo figure: unknown without meminfo.
        let of = |f: fn(&SystemMemory) -> u64| m.map(f);
        let of_known = |f: fn(&SystemMemory) -> Option<u64>| m.and_then(f);
        let t = &report.totals.counters;
        let known = |bit: u16, v: u64| t.is_known(bit).then_some(v);
        let pss = known(field::PSS, t.pss);
        let meminfo_user = m.and_then(|m| m.anon_pages.map(|a| a.saturating_add(m.mapped)));
        let unread = meminfo_user
            .zip(pss)
            .map(|(mi, scan)| mi.saturating_sub(scan));
        let page_cache = of(|m| (m.buffers.saturating_add(m.cached)).saturating_sub(m.mapped));
        let kernel = of(|m| {
            known_sum(&[
                Some(m.slab),
                m.page_tables,
                m.kernel_stack,
                Some(m.vmalloc_used),
                m.percpu,
            ])
        });
        let other = m.map(|m| {
            let itemised = known_sum(&[pss, unread, page_cache, kernel, m.hugetlb, Some(m.free)]);
            m.total.saturating_sub(itemised)
        });
        let swap_pss = known(field::SWAP_PSS, t.swap_pss);
        let swap_used = of(|m| m.swap_total.saturating_sub(m.swap_free));
        let processes_read = report.totals.processes;
        let read = plural(processes_read, "process", "processes");
        let mut lines = Vec::new();
        let mut line = |part: Part, item, label: String, depth, bytes: Option<u64>| {
            let whole = if part == Part::Swap {
                basis.swap
            } else {
                basis.ram
            };
            lines.push(SummaryLine {
                item,
                label,
                depth,
                bytes,
                pct: bytes.and_then(|b| Percent::of(b, whole)),
                part,
            });
        };
        use Part::{Ram, Swap};
        line(Ram, "ram", "RAM (MemTotal)".into(), 0, of(|m| m.total));
        line(
            Ram,
            "user_space",
            format!("user space: PSS of {read}"),
            1,
            pss,
        );
        line(
            Ram,
            "user_space.anon",
            "anonymous".into(),
            2,
            known(field::PSS_ANON, t.pss_anon),
        );
        line(
            Ram,
            "user_space.file",
            "file-backed".into(),
            2,
            known(field::PSS_FILE, t.pss_file),
        );
        line(
            Ram,
            "user_space.shmem",
            "shmem/tmpfs".into(),
            2,
            known(field::PSS_SHMEM, t.pss_shmem),
        );
        line(
            Ram,
            "user_space.unread",
            "user space the scan did not see".into(),
            1,
            unread,
        );
        line(
            Ram,
            "page_cache",
            "page cache, not mapped".into(),
            1,
            page_cache,
        );
        line(Ram, "kernel", "kernel".into(), 1, kernel);
        let kernel_lines = [
            (
                "kernel.slab_reclaimable",
                "slab, reclaimable",
                of_known(|m| m.slab_reclaimable),
            ),
            (
                "kernel.slab_unreclaimable",
                "slab, unreclaimable",
                of_known(|m| m.slab_unreclaimable),
            ),
            (
                "kernel.page_tables",
                "page tables",
                of_known(|m| m.page_tables),
            ),
            (
                "kernel.stacks",
                "kernel stacks",
                of_known(|m| m.kernel_stack),
            ),
            ("kernel.vmalloc", "vmalloc", of(|m| m.vmalloc_used)),
            ("kernel.percpu", "per-CPU", of_known(|m| m.percpu)),
        ];
        for (item, label, bytes) in kernel_lines {
            line(Ram, item, label.into(), 2, bytes);
        }
        line(
            Ram,
            "hugetlb",
            "hugetlb pools".into(),
            1,
            of_known(|m| m.hugetlb),
        );
        line(Ram, "free", "free".into(), 1, of(|m| m.free));
        line(Ram, "other", "other, not itemised".into(), 1, other);
        line(
            Swap,
            "swap",
            "swap (SwapTotal)".into(),
            0,
            of(|m| m.swap_total),
        );
        line(
            Swap,
            "swap.processes",
            format!("used: SwapPss of {read}"),
            1,
            swap_pss,
        );
        line(
            Swap,
            "swap.other",
            "used otherwise (shmem, unread, swap cache)".into(),
            1,
            swap_pss.zip(swap_used).map(|(p, u)| u.saturating_sub(p)),
        );
        line(Swap, "swap.free", "free".into(), 1, of(|m| m.swap_free));
        let check = Check {
            scan_pss: pss,
            meminfo_user,
            difference: meminfo_user
                .zip(pss)
                .map(|(mi, scan)| i128::from(mi) - i128::from(scan)),
            processes_read,
            unseen,
            rounding_max: match report.meta.source {
                Source::Rollup => processes_read.saturating_mul(1024),
                // Each mapping's PSS is truncated apart.
                Source::Smaps => report.coverage.mappings.saturating_mul(1024),
                Source::Maps => 0,
            },
        };
        let mut line = |item, label: String, depth, bytes: Option<u64>| {
            lines.push(SummaryLine {
                item,
                label,
                depth,
                bytes,
                pct: bytes.and_then(|b| Percent::of(b, basis.ram)),
                part: Part::Check,
            });
        };
        line(
            "check.scan",
            format!("check: the scan's PSS ({read})"),
            0,
            pss,
        );
        line(
            "check.meminfo",
            "against meminfo: AnonPages + Mapped".into(),
            0,
            meminfo_user,
        );
        match check.difference {
            Some(d) if d < 0 => line(
                "check.scan_over_meminfo",
                "the scan counted more".into(),
                1,
                u64::try_from(-d).ok(),
            ),
            d => line(
                "check.meminfo_over_scan",
                "meminfo counts more".into(),
                1,
                d.and_then(|d| u64::try_from(d).ok()),
            ),
        }
        let not_read = plural(unseen.processes, "process", "processes");
        let unknown = match unseen.rss_unknown {
            0 => String::new(),
            n => format!(", {n} of them unknown"),
        };
        line(
            "check.unread_rss",
            format!("{not_read} not read: RSS{unknown}"),
            2,
            Some(unseen.rss),
        );
        line(
            "check.self_rss",
            "pmaps itself, left out: RSS".into(),
            2,
            unseen.self_rss,
        );
        line(
            "check.rounding_max",
            "PSS rounding, at most".into(),
            2,
            Some(check.rounding_max),
        );
        let (item, label) = match unseen.drift {
            Drift::Snapshot => (
                "check.meminfo_snapshot",
                "one meminfo snapshot: drift unknown",
            ),
            Drift::Moved(d) if d < 0 => {
                ("check.meminfo_shrank", "user space shrank during the scan")
            }
            _ => ("check.meminfo_grew", "user space grew during the scan"),
        };
        line(
            item,
            label.into(),
            2,
            unseen.drift.bytes().map(i64::unsigned_abs),
        );
        SummaryView {
            report,
            memory,
            basis,
            lines,
            check,
        }
    }

    /// The lines laid out for the table and CSV; `footer` ends the table.
    pub fn sheet(&self, footer: Option<String>) -> Sheet<'_> {
        let columns = vec![
            ColumnSpec::new("what", "What")
                .text()
                .elide(Elide::KeepStart, 12, None)
                .table_only(),
            ColumnSpec::new("item", "Item").not_in_table(),
            ColumnSpec::new("size", "Size").bytes(),
            ColumnSpec::new("pct", "%"),
        ];
        let mut lines = Vec::new();
        let mut part = Part::Ram;
        for l in &self.lines {
            if l.part != part {
                // A blank line between the parts, in the table only.
                lines.push(Line {
                    role: Role::TableOnly,
                    cells: vec![Cell::Empty; columns.len()],
                });
                part = l.part;
            }
            let label = format!("{}{}", "  ".repeat(l.depth), l.label);
            lines.push(Line {
                role: Role::Data { blank: 0 },
                cells: vec![
                    Cell::Code(Cow::Owned(label)),
                    Cell::Code(Cow::Borrowed(l.item)),
                    Cell::Bytes(l.bytes),
                    Cell::Percent(l.pct),
                ],
            });
        }
        Sheet::one_section(columns, lines, UnitRule::PerValue, footer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Counters, Coverage, GroupBy, Meta, Row, RowKey};

    const MIB: u64 = 1 << 20;

    fn report(c: Counters, processes: u64) -> Report {
        Report {
            meta: Meta {
                host: None,
                kernel: None,
                time: std::time::SystemTime::UNIX_EPOCH,
                source: Source::Rollup,
                group_by: GroupBy::Command,
                proc_root: "/proc".into(),
                threads: 1,
                duration: std::time::Duration::ZERO,
                capture: None,
            },
            rows: Vec::new(),
            totals: Row {
                key: RowKey::Total,
                processes,
                mappings: None,
                counters: c,
                children: Vec::new(),
            },
            coverage: Coverage::default(),
            charges: Default::default(),
        }
    }

    fn memory() -> SystemMemory {
        SystemMemory {
            total: 1000 * MIB,
            free: 300 * MIB,
            buffers: 10 * MIB,
            cached: 250 * MIB,
            anon_pages: Some(200 * MIB),
            mapped: 100 * MIB,
            slab: 50 * MIB,
            slab_reclaimable: Some(40 * MIB),
            slab_unreclaimable: Some(10 * MIB),
            kernel_stack: Some(5 * MIB),
            page_tables: Some(10 * MIB),
            vmalloc_used: 15 * MIB,
            percpu: Some(MIB),
            hugetlb: Some(64 * MIB),
            swap_total: 100 * MIB,
            swap_free: 90 * MIB,
            ..SystemMemory::default()
        }
    }

    fn bytes(v: &SummaryView<'_>, item: &str) -> Option<u64> {
        v.lines
            .iter()
            .find(|l| l.item == item)
            .and_then(|l| l.bytes)
    }

    #[test]
    fn the_ram_lines_add_up_to_memtotal() {
        let c = Counters {
            pss: 290 * MIB,
            pss_anon: 195 * MIB,
            pss_file: 90 * MIB,
            pss_shmem: 5 * MIB,
            swap_pss: 6 * MIB,
            ..Counters::default()
        };
        let r = report(c, 7);
        let v = SummaryView::new(&r, Some(memory()), Unseen::default());
        assert_eq!(bytes(&v, "user_space"), Some(290 * MIB));
        // AnonPages + Mapped = 300 MiB: 10 MiB the scan did not see.
        assert_eq!(bytes(&v, "user_space.unread"), Some(10 * MIB));
        // Buffers + Cached − Mapped.
        assert_eq!(bytes(&v, "page_cache"), Some(160 * MIB));
        assert_eq!(bytes(&v, "kernel"), Some(81 * MIB));
        let top: u64 = v
            .lines
            .iter()
            .filter(|l| l.part == Part::Ram && l.depth == 1)
            .filter_map(|l| l.bytes)
            .sum();
        assert_eq!(top, 1000 * MIB);
        assert_eq!(
            bytes(&v, "other"),
            Some(1000 * MIB - 290 * MIB - 10 * MIB - 160 * MIB - 81 * MIB - 64 * MIB - 300 * MIB)
        );
        let pct = |item: &str| v.lines.iter().find(|l| l.item == item).and_then(|l| l.pct);
        assert_eq!(pct("ram").map(Percent::hundredths), Some(10_000));
        assert_eq!(pct("user_space").map(Percent::hundredths), Some(2900));
        // Swap lines are shares of swap.
        assert_eq!(pct("swap.processes").map(Percent::hundredths), Some(600));
        assert_eq!(bytes(&v, "swap.other"), Some(4 * MIB));
        assert_eq!(v.check.difference, Some(i128::from(10 * MIB)));
        assert_eq!(v.check.rounding_max, 7 * 1024);
    }

    #[test]
    fn unknown_stays_unknown_and_no_swap_has_no_percentages() {
        let c = Counters {
            pss: 290 * MIB,
            known: field::ALL & !field::PSS_SPLIT,
            ..Counters::default()
        };
        let r = report(c, 7);
        let m = SystemMemory {
            swap_total: 0,
            swap_free: 0,
            anon_pages: None,
            ..memory()
        };
        let v = SummaryView::new(&r, Some(m), Unseen::default());
        assert_eq!(bytes(&v, "user_space.anon"), None);
        assert_eq!(bytes(&v, "user_space.unread"), None);
        assert_eq!(v.check.difference, None);
        let swap = v.lines.iter().find(|l| l.item == "swap").unwrap();
        assert_eq!((swap.bytes, swap.pct), (Some(0), None));
    }

    #[test]
    fn a_capture_without_meminfo_keeps_the_scans_lines_only() {
        let c = Counters {
            pss: 290 * MIB,
            pss_anon: 290 * MIB,
            pss_file: 0,
            pss_shmem: 0,
            swap_pss: 6 * MIB,
            ..Counters::default()
        };
        let r = report(c, 7);
        let unseen = Unseen {
            drift: Drift::Snapshot,
            ..Unseen::default()
        };
        let v = SummaryView::new(&r, None, unseen);
        for item in ["user_space", "user_space.anon", "check.scan"] {
            assert_eq!(bytes(&v, item), Some(290 * MIB), "{item}");
        }
        assert_eq!(bytes(&v, "swap.processes"), Some(6 * MIB));
        let meminfo_made = [
            "ram",
            "user_space.unread",
            "page_cache",
            "kernel",
            "kernel.vmalloc",
            "hugetlb",
            "free",
            "other",
            "swap",
            "swap.other",
            "swap.free",
            "check.meminfo",
            "check.meminfo_over_scan",
            "check.meminfo_snapshot",
        ];
        for item in meminfo_made {
            let l = v.lines.iter().find(|l| l.item == item);
            assert_eq!(l.map(|l| (l.bytes, l.pct)), Some((None, None)), "{item}");
        }
        // No whole to take shares of.
        assert!(v.lines.iter().all(|l| l.pct.is_none()));
        assert_eq!(v.basis, Basis::default());
    }

    #[test]
    fn smaps_round_each_mapping_and_a_capture_has_no_drift() {
        let mut r = report(Counters::default(), 3);
        r.meta.source = Source::Smaps;
        r.coverage.mappings = 120;
        let unseen = Unseen {
            drift: Drift::Snapshot,
            ..Unseen::default()
        };
        let v = SummaryView::new(&r, Some(memory()), unseen);
        assert_eq!(v.check.rounding_max, 120 * 1024);
        let items: Vec<&str> = v.lines.iter().map(|l| l.item).collect();
        assert!(items.contains(&"check.meminfo_snapshot"), "{items:?}");
        assert!(!items.contains(&"check.meminfo_grew"), "{items:?}");
        let moved = |d| {
            let unseen = Unseen {
                drift: Drift::Moved(d),
                ..Unseen::default()
            };
            let v = SummaryView::new(&r, Some(memory()), unseen);
            let l = v.lines.last().cloned().expect("a drift line");
            (l.item, l.bytes)
        };
        assert_eq!(moved(-4096), ("check.meminfo_shrank", Some(4096)));
        assert_eq!(moved(8192), ("check.meminfo_grew", Some(8192)));
    }
}
