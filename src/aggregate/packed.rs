//! One process's rows of `show --merge`, packed while a record's scan runs: every number a
//! LEB128 varint, an address as its distance from the previous row's end, the path inline.
//! A run costs 30-60 bytes this way instead of the 300 or so of a [`ShowRow`], so that a
//! record of a whole machine holds its runs in a few MiB until they are written.

use crate::model::{Counters, Mapping};
use crate::show::ShowRow;

/// One process's rows of `show --merge` (header and counters; no further smaps fields).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackedRuns(Box<[u8]>);

impl PackedRuns {
    /// Packs `rows` (in address order, as [`crate::show::fold_mapping`] builds them).
    pub fn pack(rows: &[ShowRow]) -> PackedRuns {
        let mut out = Vec::with_capacity(rows.len() * 48);
        let mut prev_end = 0u64;
        for r in rows {
            let m = &r.map;
            put(&mut out, m.start.wrapping_sub(prev_end));
            put(&mut out, m.end.wrapping_sub(m.start));
            prev_end = m.end;
            out.extend_from_slice(&m.perms);
            put(&mut out, m.offset);
            put(&mut out, u64::from(m.dev_major));
            put(&mut out, u64::from(m.dev_minor));
            put(&mut out, m.inode);
            out.push(match m.hugetlb {
                None => 0,
                Some(false) => 1,
                Some(true) => 2,
            });
            put(&mut out, m.path.len() as u64);
            out.extend_from_slice(&m.path);
            put(&mut out, r.mappings);
            for v in m.counters.values() {
                put(&mut out, v);
            }
            put(&mut out, u64::from(m.counters.known));
        }
        PackedRuns(out.into_boxed_slice())
    }

    /// The rows packed, in their order.
    pub fn unpack(&self) -> Vec<ShowRow> {
        let mut rows = Vec::new();
        let mut b: &[u8] = &self.0;
        let mut prev_end = 0u64;
        // What `pack` wrote is whole: a short row cannot happen, and would end the list.
        while !b.is_empty() {
            match next(&mut b, &mut prev_end) {
                Some(row) => rows.push(row),
                None => break,
            }
        }
        rows
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Appends `v` as a LEB128 varint.
fn put(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Takes a LEB128 varint (at most 10 bytes) off the front of `b`.
fn get(b: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = b.split_first()?;
        *b = rest;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Takes `n` bytes off the front of `b`.
fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if b.len() < n {
        return None;
    }
    let (head, tail) = b.split_at(n);
    *b = tail;
    Some(head)
}

/// The next row of `b`.
fn next(b: &mut &[u8], prev_end: &mut u64) -> Option<ShowRow> {
    let start = prev_end.wrapping_add(get(b)?);
    let end = start.wrapping_add(get(b)?);
    *prev_end = end;
    let perms: [u8; 4] = take(b, 4)?.try_into().ok()?;
    let offset = get(b)?;
    let dev_major = u32::try_from(get(b)?).ok()?;
    let dev_minor = u32::try_from(get(b)?).ok()?;
    let inode = get(b)?;
    let hugetlb = match take(b, 1)?[0] {
        0 => None,
        1 => Some(false),
        _ => Some(true),
    };
    let len = usize::try_from(get(b)?).ok()?;
    let path = take(b, len)?.to_vec();
    let mappings = get(b)?;
    let mut values = [0u64; 15];
    for v in &mut values {
        *v = get(b)?;
    }
    let known = u16::try_from(get(b)?).ok()?;
    Some(ShowRow {
        map: Mapping {
            start,
            end,
            perms,
            offset,
            dev_major,
            dev_minor,
            inode,
            path,
            hugetlb,
            counters: Counters::from_values(values, known),
            fields: Vec::new(),
        },
        total: false,
        mappings,
        values: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MapHeader;
    use crate::show::fold_mapping;

    #[test]
    fn rows_come_back_exactly_and_small() {
        let mut rows = Vec::new();
        type Map<'a> = (u64, u64, &'a [u8], u64, Option<bool>);
        let maps: [Map<'_>; 5] = [
            (0x5555_0000_0000, 0x5555_0000_4000, b"/usr/bin/x", 12, None),
            (0x5555_0000_4000, 0x5555_0000_9000, b"/usr/bin/x", 12, None),
            (0x7f00_0000_0000, 0x7f00_0020_0000, b"", 0, Some(false)),
            (
                0x7f00_0040_0000,
                0x7f00_0060_0000,
                b"/a\nb \xff (deleted)",
                9,
                Some(true),
            ),
            // The vsyscall page: an address past 2^63, after every other.
            (
                0xffff_ffff_ff60_0000,
                0xffff_ffff_ff60_1000,
                b"[vsyscall]",
                0,
                None,
            ),
        ];
        for (i, &(start, end, path, inode, hugetlb)) in maps.iter().enumerate() {
            let h = MapHeader {
                start,
                end,
                perms: if i == 1 { *b"r-xp" } else { *b"rw-s" },
                offset: u64::MAX - i as u64,
                dev_major: 0x103,
                dev_minor: u32::MAX,
                inode,
                path,
                hugetlb,
            };
            let c = Counters {
                size: end - start,
                rss: 4096 * i as u64,
                pss: u64::MAX,
                swap_pss: 1,
                pss_shmem: 7,
                known: 0x5a5,
                ..Counters::default()
            };
            fold_mapping(&mut rows, &h, &c);
        }
        assert_eq!(rows.len(), 4);
        let packed = PackedRuns::pack(&rows);
        assert_eq!(packed.unpack(), rows);
        assert!(packed.len() < rows.len() * 100, "{} bytes", packed.len());
        assert!(PackedRuns::pack(&[]).unpack().is_empty());
    }
}
