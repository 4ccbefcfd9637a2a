//! `/proc/PID/smaps` and `smaps_rollup`: a streaming record parser that matches the keys
//! pmaps keeps exactly (`Pss:` is not `Pss_Dirty:`) into fixed counters, and the raw
//! `Key: value` split that `show --all-fields` uses for every other key.

use super::maps::{is_header_line, parse_map_header};
use super::{ParseError, dec};
use crate::model::{Counters, MapHeader, field};

/// The value of one `Key: value` line of smaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRef<'a> {
    /// `N kB`, in bytes.
    Bytes(u64),
    /// A number without a unit (`THPeligible:`, `ProtectionKey:`).
    Number(u64),
    /// Anything else (`VmFlags: rd wr mr mw me ac`), trimmed of the padding.
    Text(&'a [u8]),
}

/// Splits a `Key: value` line into its key and value. `None` when it has no colon.
pub fn parse_field(line: &[u8]) -> Option<(&[u8], FieldRef<'_>)> {
    let colon = line.iter().position(|&b| b == b':')?;
    let key = &line[..colon];
    let raw = &line[colon + 1..];
    let lead = raw.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
    let value = &raw[lead..];
    let digits = value.iter().take_while(|b| b.is_ascii_digit()).count();
    let parsed = match (&value[digits..], dec(&value[..digits])) {
        (b" kB", Some(n)) => FieldRef::Bytes(n.saturating_mul(1024)),
        (b"", Some(n)) => FieldRef::Number(n),
        _ => {
            let trail = value.iter().rev().take_while(|&&b| b == b' ').count();
            FieldRef::Text(&value[..value.len() - trail])
        }
    };
    Some((key, parsed))
}

/// Applies one `Key: N kB` line to `c`. Keys are matched exactly (`Pss` is not `Pss_Dirty`);
/// keys pmaps does not keep and keys of future kernels are ignored. A kept key whose value is
/// not `N kB` is malformed.
#[inline]
pub fn apply_field(c: &mut Counters, line: &[u8]) -> Result<(), ParseError> {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return Err(ParseError::new("malformed smaps line", line));
    };
    let (slot, bit) = match &line[..colon] {
        b"Size" => (&mut c.size, field::SIZE),
        b"Rss" => (&mut c.rss, field::RSS),
        b"Pss" => (&mut c.pss, field::PSS),
        b"Shared_Clean" => (&mut c.shared_clean, field::SHARED_CLEAN),
        b"Shared_Dirty" => (&mut c.shared_dirty, field::SHARED_DIRTY),
        b"Private_Clean" => (&mut c.private_clean, field::PRIVATE_CLEAN),
        b"Private_Dirty" => (&mut c.private_dirty, field::PRIVATE_DIRTY),
        b"Swap" => (&mut c.swap, field::SWAP),
        b"SwapPss" => (&mut c.swap_pss, field::SWAP_PSS),
        b"Referenced" => (&mut c.referenced, field::REFERENCED),
        b"Anonymous" => (&mut c.anonymous, field::ANONYMOUS),
        b"Locked" => (&mut c.locked, field::LOCKED),
        b"Pss_Anon" => (&mut c.pss_anon, field::PSS_ANON),
        b"Pss_File" => (&mut c.pss_file, field::PSS_FILE),
        b"Pss_Shmem" => (&mut c.pss_shmem, field::PSS_SHMEM),
        _ => return Ok(()),
    };
    let v = &line[colon + 1..];
    let lead = v.iter().take_while(|&&b| b == b' ').count();
    let v = &v[lead..];
    let digits = v.iter().take_while(|b| b.is_ascii_digit()).count();
    match (dec(&v[..digits]), &v[digits..]) {
        // More kB than 2^64 bytes is no value a kernel prints: malformed, not saturated.
        (Some(n), b" kB") if n <= u64::MAX / 1024 => {
            *slot = n * 1024;
            c.known |= bit;
            Ok(())
        }
        _ => Err(ParseError::new("malformed smaps value", line)),
    }
}

/// One complete smaps record: its header (path borrowed from the parser) and counters.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub header: MapHeader<'a>,
    pub counters: &'a Counters,
}

/// A streaming parser for `smaps` and `smaps_rollup`: feed it lines (without their `\n`) in
/// order; it calls back with each complete record. It owns one path buffer reused across
/// records, so the caller's line buffer may be refilled between calls.
#[derive(Debug, Default)]
pub struct SmapsParser {
    open: bool,
    start: u64,
    end: u64,
    perms: [u8; 4],
    offset: u64,
    dev: (u32, u32),
    inode: u64,
    path: Vec<u8>,
    counters: Counters,
    hugetlb: Option<bool>,
    records: u64,
}

impl SmapsParser {
    pub fn new() -> SmapsParser {
        SmapsParser::default()
    }

    /// Forgets any state, keeping the path buffer's capacity.
    pub fn reset(&mut self) {
        self.open = false;
        self.path.clear();
        self.records = 0;
    }

    /// Number of records completed so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Feeds one line. A header line completes the previous record (passed to `emit`).
    #[inline]
    pub fn line(
        &mut self,
        line: &[u8],
        emit: &mut impl FnMut(Record<'_>),
    ) -> Result<(), ParseError> {
        if is_header_line(line) {
            self.finish(emit);
            let h = parse_map_header(line)?;
            self.open = true;
            self.start = h.start;
            self.end = h.end;
            self.perms = h.perms;
            self.offset = h.offset;
            self.dev = (h.dev_major, h.dev_minor);
            self.inode = h.inode;
            self.path.clear();
            self.path.extend_from_slice(h.path);
            self.counters = Counters::unknown();
            self.hugetlb = None;
            Ok(())
        } else if !self.open {
            Err(ParseError::new("smaps field before any mapping", line))
        } else {
            if let Some(flags) = line.strip_prefix(b"VmFlags:") {
                // VM_HUGETLB: the one certain sign of hugetlbfs memory (since Linux 3.8).
                self.hugetlb = Some(flags.split(|&b| b == b' ').any(|f| f == b"ht"));
            } else if self.hugetlb.is_none()
                && line.starts_with(b"KernelPageSize:")
                && let Some((_, FieldRef::Bytes(size))) = parse_field(line)
                && size >= 2 << 20
            {
                // Before VmFlags existed: a page of 2 MiB or more is a huge page.
                self.hugetlb = Some(true);
            }
            apply_field(&mut self.counters, line)
        }
    }

    /// Completes the last record (at end of file).
    pub fn finish(&mut self, emit: &mut impl FnMut(Record<'_>)) {
        if !self.open {
            return;
        }
        self.open = false;
        self.records += 1;
        emit(Record {
            header: MapHeader {
                start: self.start,
                end: self.end,
                perms: self.perms,
                offset: self.offset,
                dev_major: self.dev.0,
                dev_minor: self.dev.1,
                inode: self.inode,
                path: &self.path,
                hugetlb: self.hugetlb,
            },
            counters: &self.counters,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const SMAPS: &[u8] = b"\
56027b33a000-56027b33c000 r--p 00000000 fe:00 247282                     /usr/bin/head
Size:                  8 kB
KernelPageSize:        4 kB
MMUPageSize:           4 kB
Rss:                   8 kB
Pss:                   6 kB
Pss_Dirty:             3 kB
Shared_Clean:          1 kB
Shared_Dirty:          2 kB
Private_Clean:         4 kB
Private_Dirty:         5 kB
Referenced:            8 kB
Anonymous:             0 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:       64 kB
Private_Hugetlb:     128 kB
Swap:                  7 kB
SwapPss:               9 kB
Locked:                0 kB
THPeligible:           0
ProtectionKey:         0
VmFlags: rd mr mw me 
7ffd5b1d5000-7ffd5b1f6000 rw-p 00000000 00:00 0                          [stack]
Size:                132 kB
Rss:                  12 kB
Pss:                  12 kB
Private_Dirty:        12 kB
";

    fn records(text: &[u8]) -> Result<Vec<(Vec<u8>, Counters)>, ParseError> {
        let mut p = SmapsParser::new();
        let mut out = Vec::new();
        let mut emit = |r: Record<'_>| out.push((r.header.path.to_vec(), *r.counters));
        for line in text.split(|&b| b == b'\n') {
            if !line.is_empty() {
                p.line(line, &mut emit)?;
            }
        }
        p.finish(&mut emit);
        Ok(out)
    }
    #[test]
    fn smaps_keys_are_matched_exactly_and_converted_to_bytes() {
        let recs = records(SMAPS).expect("valid smaps");
        assert_eq!(recs.len(), 2);
        let (path, c) = &recs[0];
        assert_eq!(path, b"/usr/bin/head");
        assert_eq!(c.size, 8 * 1024);
        assert_eq!(c.rss, 8 * 1024);
        // Pss_Dirty (3 kB) must not overwrite Pss (6 kB).
        assert_eq!(c.pss, 6 * 1024);
        assert_eq!(c.shared(), 3 * 1024);
        // Private_Hugetlb (128 kB) is not Private_Clean or Private_Dirty.
        assert_eq!(c.uss(), 9 * 1024);
        assert_eq!(c.swap, 7 * 1024);
        assert_eq!(c.swap_pss, 9 * 1024);
        // Every key of a mapping's record; the PSS split is the rollup's alone.
        assert!(c.is_known(field::ALL & !field::PSS_SPLIT));
        assert!(!c.is_known(field::PSS_ANON));
    }

    #[test]
    fn missing_keys_stay_unknown() {
        let recs = records(SMAPS).expect("valid smaps");
        let (path, c) = &recs[1];
        assert_eq!(path, b"[stack]");
        assert_eq!(c.uss(), 12 * 1024);
        assert!(!c.is_known(field::SWAP_PSS));
        assert!(c.is_known(field::SIZE | field::RSS | field::PSS));
        let mut total = Counters::default();
        total += &recs[0].1;
        total += &recs[1].1;
        assert!(!total.is_known(field::SWAP_PSS));
        assert!(total.is_known(field::RSS));
        assert_eq!(total.rss, 20 * 1024);
    }

    #[test]
    fn rollup_has_no_size() {
        let text =
            b"56495b1fc000-7ffc5a1ba000 ---p 00000000 00:00 0                          [rollup]
Rss:                1728 kB
Pss:                 737 kB
Pss_Dirty:           112 kB
Pss_Anon:            112 kB
Pss_File:            625 kB
Pss_Shmem:             0 kB
Private_Dirty:       112 kB
";
        let recs = records(text).expect("valid rollup");
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].0, b"[rollup]");
        assert_eq!(recs[0].1.pss, 737 * 1024);
        assert!(!recs[0].1.is_known(field::SIZE));
        // Pss_Anon / Pss_File / Pss_Shmem are matched exactly, not taken for `Pss:`.
        let c = &recs[0].1;
        assert!(c.is_known(field::PSS_SPLIT));
        assert_eq!(
            (c.pss_anon, c.pss_file, c.pss_shmem),
            (112 * 1024, 625 * 1024, 0)
        );
    }

    #[test]
    fn malformed_value_and_orphan_field_are_errors() {
        assert!(records(b"00400000-00401000 r--p 00000000 00:00 0 \nRss: 12 MB\n").is_err());
        assert!(records(b"00400000-00401000 r--p 00000000 00:00 0 \nPss: x kB\n").is_err());
        assert!(records(b"Rss: 4 kB\n").is_err());
        assert!(records(b"0040zz00-00401000 r--p 00000000 00:00 0 \n").is_err());
        // Unknown keys of future kernels are ignored, even with odd values.
        let ok = records(b"00400000-00401000 r--p 00000000 00:00 0 \nFutureKey: ?? zB\n");
        assert_eq!(ok.map(|r| r.len()), Ok(1));
    }

    #[test]
    fn hugetlb_comes_from_vmflags_or_the_kernel_page_size() {
        let huge = |text: &[u8]| {
            let mut p = SmapsParser::new();
            let mut out = Vec::new();
            let mut emit = |r: Record<'_>| out.push(r.header.hugetlb);
            for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                p.line(line, &mut emit).expect("valid");
            }
            p.finish(&mut emit);
            out
        };
        let head = b"7f0000000000-7f0000200000 rw-s 00000000 00:10 4 /anon_hugepage (deleted)\n";
        let with = |rest: &[u8]| [head.as_slice(), rest].concat();
        assert_eq!(
            huge(&with(
                b"KernelPageSize: 2048 kB\nVmFlags: rd wr sh mr mw me ms de ht sd \n"
            )),
            [Some(true)]
        );
        assert_eq!(
            huge(&with(b"KernelPageSize: 4 kB\nVmFlags: rd wr sh \n")),
            [Some(false)]
        );
        // `ht` is a whole flag, not any flag containing the letters.
        assert_eq!(huge(&with(b"VmFlags: rd wr hti \n")), [Some(false)]);
        assert_eq!(huge(&with(b"KernelPageSize: 2048 kB\n")), [Some(true)]);
        assert_eq!(huge(&with(b"KernelPageSize: 4 kB\nRss: 4 kB\n")), [None]);
        // Each record starts unknown again.
        assert_eq!(
            huge(&[with(b"VmFlags: ht \n"), with(b"Rss: 0 kB\n")].concat()),
            [Some(true), None]
        );
    }

    #[test]
    fn field_values() {
        assert_eq!(
            parse_field(b"Rss:     12 kB"),
            Some((b"Rss".as_slice(), FieldRef::Bytes(12288)))
        );
        assert_eq!(
            parse_field(b"THPeligible:    1"),
            Some((b"THPeligible".as_slice(), FieldRef::Number(1)))
        );
        assert_eq!(
            parse_field(b"VmFlags: rd mr mw me "),
            Some((b"VmFlags".as_slice(), FieldRef::Text(b"rd mr mw me")))
        );
    }
}
