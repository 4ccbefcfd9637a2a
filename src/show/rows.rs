//! The rows of `pmaps show`: one per mapping, `--merge` folding each run of one file into
//! one row, and a process's totals.

use std::borrow::Cow;

use crate::model::{
    Counters, FieldKeys, FieldValue, MapHeader, Mapping, Object, Outcome, ProcInfo,
};

/// One row of the view: a mapping, a run of folded mappings, or a process's totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowRow {
    /// The first mapping of the row (its header; for `--merge`, `end` and `perms` cover the
    /// whole run). Zero for a totals row.
    pub map: Mapping,
    /// Whether this is a totals row (no address, perms, device…).
    pub total: bool,
    /// Mappings in the row: 1, more with `--merge`, all of them in a totals row.
    pub mappings: u64,
    /// With `--all-fields`: (index of the key in the run's [`FieldKeys`], value), sorted by
    /// key, for the keys the kernel printed for this mapping and that can be summed or
    /// folded. Sparse, so that a hostile smaps with another key in every record costs what
    /// its fields cost, not mappings × keys.
    pub values: Vec<(usize, FieldValue)>,
}

/// Keys whose value is not an amount of memory but a property (a page size): folding or
/// totalling keeps them only when every mapping agrees.
fn additive(key: &str) -> bool {
    !key.ends_with("PageSize")
}

impl ShowRow {
    /// The row of one mapping; of a key printed twice in its record, the first value counts.
    pub fn from_mapping(mut m: Mapping) -> ShowRow {
        let mut values = std::mem::take(&mut m.fields);
        values.sort_by_key(|(k, _)| *k);
        values.dedup_by_key(|(k, _)| *k);
        ShowRow {
            map: m,
            total: false,
            mappings: 1,
            values,
        }
    }

    /// Whether a mapping of `path` and `object` continues this row's file (see the module
    /// docs for the rule): anonymous mappings (no path) never do.
    fn continues(&self, path: &[u8], object: Object) -> bool {
        !self.total
            && !path.is_empty()
            && self.map.path == path
            && Object::of_mapping(&self.map) == object
    }

    /// Extends this row's run to a next segment ending at `end` with `perms`: a
    /// permission letter that differs becomes `*`.
    fn extend_run(&mut self, end: u64, perms: [u8; 4]) {
        self.map.end = end;
        for (a, b) in self.map.perms.iter_mut().zip(perms) {
            if *a != b {
                *a = b'*';
            }
        }
    }

    /// Adds `other` into this row. `fold`: the same file continued (perms and properties
    /// are kept where they agree); otherwise a total (properties are dropped).
    fn absorb(&mut self, other: &ShowRow, keys: &FieldKeys, fold: bool) {
        if fold {
            self.extend_run(other.map.end, other.map.perms);
        }
        self.map.counters += &other.map.counters;
        self.mappings += other.mappings;
        // Only keys both sides have survive, combined.
        self.values.retain_mut(|(i, mine)| {
            let Some(theirs) = other.value(*i) else {
                return false;
            };
            let is_additive = keys.names.get(*i).is_some_and(|k| additive(k));
            match (&*mine, theirs) {
                (FieldValue::Bytes(a), FieldValue::Bytes(b)) if is_additive => {
                    // Saturating: a hostile smaps may print values near 2^64.
                    *mine = FieldValue::Bytes(a.saturating_add(*b));
                    true
                }
                (a, b) => fold && a == b,
            }
        });
    }

    /// The value of key `i`, when the row has it.
    pub fn value(&self, i: usize) -> Option<&FieldValue> {
        self.values
            .binary_search_by_key(&i, |(k, _)| *k)
            .ok()
            .map(|at| &self.values[at].1)
    }
}

/// Per key of `keys`, whether any of `rows` has an amount of bytes for it.
pub fn byte_keys<'r>(rows: impl IntoIterator<Item = &'r ShowRow>, keys: &FieldKeys) -> Vec<bool> {
    let mut bytes = vec![false; keys.names.len()];
    for r in rows {
        for (i, v) in &r.values {
            if let (Some(slot), FieldValue::Bytes(_)) = (bytes.get_mut(*i), v) {
                *slot = true;
            }
        }
    }
    bytes
}

/// `--merge`: folds each run of consecutive mappings of the same file into one row.
pub fn merge_rows(rows: Vec<ShowRow>, keys: &FieldKeys) -> Vec<ShowRow> {
    let mut out: Vec<ShowRow> = Vec::with_capacity(rows.len());
    for r in rows {
        match out.last_mut() {
            Some(last) if last.continues(&r.map.path, Object::of_mapping(&r.map)) => {
                last.absorb(&r, keys, true)
            }
            _ => out.push(r),
        }
    }
    out
}

/// Folds the next mapping of a process (header and counters, no further fields) into
/// `rows` as `--merge` does: into the last row when it continues that row's file, else as
/// a new row. What `pmaps record` keeps, so that `pmaps --at … show --merge` shows the
/// rows a live `show --merge` would have.
pub fn fold_mapping(rows: &mut Vec<ShowRow>, h: &MapHeader<'_>, c: &Counters) {
    if let Some(last) = rows.last_mut()
        && last.continues(h.path, Object::of(h))
    {
        last.extend_run(h.end, h.perms);
        last.map.counters += c;
        last.mappings += 1;
        return;
    }
    rows.push(ShowRow::from_mapping(Mapping::new(h, c)));
}

/// The totals row of `rows`.
pub fn totals(rows: &[ShowRow], keys: &FieldKeys) -> ShowRow {
    let any_values = rows.iter().any(|r| !r.values.is_empty());
    let is_bytes = if any_values {
        byte_keys(rows, keys)
    } else {
        Vec::new()
    };
    let mut t = ShowRow {
        map: Mapping::new(
            &crate::model::MapHeader {
                start: 0,
                end: 0,
                perms: *b"----",
                offset: 0,
                dev_major: 0,
                dev_minor: 0,
                inode: 0,
                path: b"",
                hugetlb: None,
            },
            &Counters::default(),
        ),
        total: true,
        mappings: 0,
        // Start from zero for every amount: the identity of the sum.
        values: is_bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b)
            .map(|(i, _)| (i, FieldValue::Bytes(0)))
            .collect(),
    };
    for r in rows {
        t.absorb(r, keys, false);
    }
    t
}

/// One process as the view shows it.
#[derive(Debug, Clone)]
pub struct ShownProcess {
    pub info: ProcInfo,
    /// User name (or uid digits, or `?`).
    pub user: String,
    pub outcome: Outcome,
    pub rows: Vec<ShowRow>,
    pub totals: ShowRow,
}

impl ShownProcess {
    /// The command line, or `[comm]` when it is empty (kernel threads, zombies).
    pub fn command(&self) -> Cow<'_, [u8]> {
        if self.info.cmdline.is_empty() {
            Cow::Owned([b"[".as_slice(), &self.info.comm, b"]"].concat())
        } else {
            Cow::Borrowed(&self.info.cmdline)
        }
    }

    /// Whether the view has its map to show (possibly empty: kernel thread, zombie).
    pub fn is_shown(&self) -> bool {
        matches!(
            self.outcome,
            Outcome::Read | Outcome::KernelThread | Outcome::Zombie
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::field;

    fn row(start: u64, end: u64, perms: &[u8; 4], path: &[u8], inode: u64, rss_kb: u64) -> ShowRow {
        let h = MapHeader {
            start,
            end,
            perms: *perms,
            offset: start - 0x1000,
            dev_major: 0xfe,
            dev_minor: 0,
            inode,
            path,
            hugetlb: None,
        };
        let c = Counters {
            size: end - start,
            rss: rss_kb * 1024,
            pss: rss_kb * 512,
            private_dirty: rss_kb * 1024,
            ..Counters::default()
        };
        ShowRow::from_mapping(Mapping::new(&h, &c))
    }

    #[test]
    fn folding_mapping_by_mapping_gives_the_rows_of_merge() {
        // What a record keeps, one mapping at a time, is what `--merge` shows.
        let lib = b"/usr/lib/libc.so.6";
        type Map<'a> = (u64, u64, &'a [u8; 4], &'a [u8], u64);
        let maps: [Map<'_>; 8] = [
            (0x1000, 0x2000, b"r--p", lib, 7),
            (0x2000, 0x5000, b"r-xp", lib, 7),
            (0x5000, 0x6000, b"rw-p", lib, 7),
            (0x6000, 0x7000, b"rw-p", b"", 0),
            (0x7000, 0x8000, b"rw-p", b"", 0),
            (0x8000, 0x9000, b"r--p", lib, 8),
            (0x9000, 0xa000, b"r--p", b"[heap]", 0),
            (0xa000, 0xb000, b"rw-p", b"[heap]", 0),
        ];
        let rows: Vec<ShowRow> = maps
            .iter()
            .map(|&(s, e, p, path, inode)| row(s, e, p, path, inode, 4))
            .collect();
        let mut folded = Vec::new();
        for r in &rows {
            let m = &r.map;
            let h = MapHeader {
                start: m.start,
                end: m.end,
                perms: m.perms,
                offset: m.offset,
                dev_major: m.dev_major,
                dev_minor: m.dev_minor,
                inode: m.inode,
                path: &m.path,
                hugetlb: m.hugetlb,
            };
            fold_mapping(&mut folded, &h, &m.counters);
        }
        let merged = merge_rows(rows, &FieldKeys::default());
        assert_eq!(folded, merged);
        assert_eq!(folded.len(), 5);
        assert_eq!(folded[4].mappings, 2, "a pseudo-path with a name folds");
    }

    /// (start, end, perms, offset, mappings, rss in kB)
    type Summary<'a> = (u64, u64, &'a [u8], u64, u64, u64);

    #[test]
    fn merge_folds_runs_of_the_same_file_only() {
        let lib = b"/usr/lib/libc.so.6";
        let rows = vec![
            row(0x1000, 0x2000, b"r--p", lib, 7, 4),
            row(0x2000, 0x5000, b"r-xp", lib, 7, 8),
            row(0x5000, 0x6000, b"rw-p", lib, 7, 4),
            // Anonymous mappings are never folded, even when adjacent.
            row(0x6000, 0x7000, b"rw-p", b"", 0, 4),
            row(0x7000, 0x8000, b"rw-p", b"", 0, 4),
            // Same path, other inode (the file was replaced): another file.
            row(0x8000, 0x9000, b"r--p", lib, 8, 0),
            // Same file again after another: a new row.
            row(0x9000, 0xa000, b"r--p", b"/bin/x", 9, 0),
            row(0xa000, 0xb000, b"r--p", lib, 7, 0),
        ];
        let merged = merge_rows(rows, &FieldKeys::default());
        let summary: Vec<Summary<'_>> = merged
            .iter()
            .map(|r| {
                (
                    r.map.start,
                    r.map.end,
                    &r.map.perms[..],
                    r.map.offset,
                    r.mappings,
                    r.map.counters.rss / 1024,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (0x1000, 0x6000, &b"r**p"[..], 0, 3, 16),
                (0x6000, 0x7000, &b"rw-p"[..], 0x5000, 1, 4),
                (0x7000, 0x8000, &b"rw-p"[..], 0x6000, 1, 4),
                (0x8000, 0x9000, &b"r--p"[..], 0x7000, 1, 0),
                (0x9000, 0xa000, &b"r--p"[..], 0x8000, 1, 0),
                (0xa000, 0xb000, &b"r--p"[..], 0x9000, 1, 0),
            ]
        );
        assert_eq!(merged[0].map.counters.size, 0x5000);
        assert_eq!(merged[0].map.counters.pss, 8 * 1024);
        assert_eq!(merged[0].map.counters.dirty(), 16 * 1024);
    }

    #[test]
    fn folding_and_totals_sum_amounts_but_not_properties() {
        let mut keys = FieldKeys::default();
        let size = keys.intern(b"KernelPageSize", 0).expect("kept");
        let rss = keys.intern(b"Rss", 1).expect("kept");
        let thp = keys.intern(b"THPeligible", 2).expect("kept");
        let flags = keys.intern(b"VmFlags", 3).expect("kept");
        let with = |r: ShowRow, vals: [FieldValue; 4]| ShowRow {
            values: vals.into_iter().enumerate().collect(),
            ..r
        };
        let lib = b"/lib/x.so";
        let a = with(
            row(0x1000, 0x2000, b"r--p", lib, 1, 4),
            [
                FieldValue::Bytes(4096),
                FieldValue::Bytes(4096),
                FieldValue::Number(0),
                FieldValue::Text(b"rd mr".to_vec()),
            ],
        );
        let b = with(
            row(0x2000, 0x3000, b"r-xp", lib, 1, 4),
            [
                FieldValue::Bytes(4096),
                FieldValue::Bytes(8192),
                FieldValue::Number(0),
                FieldValue::Text(b"rd ex mr".to_vec()),
            ],
        );
        let merged = merge_rows(vec![a.clone(), b.clone()], &keys);
        assert_eq!(merged.len(), 1);
        let v = |i| merged[0].value(i).cloned();
        assert_eq!(
            v(size),
            Some(FieldValue::Bytes(4096)),
            "a page size is not summed"
        );
        assert_eq!(v(rss), Some(FieldValue::Bytes(12288)));
        assert_eq!(
            v(thp),
            Some(FieldValue::Number(0)),
            "equal properties are kept"
        );
        assert_eq!(v(flags), None, "differing properties are dropped");
        let t = totals(&[a, b], &keys);
        assert_eq!(t.mappings, 2);
        assert_eq!(t.value(size), None);
        assert_eq!(t.value(rss), Some(&FieldValue::Bytes(12288)));
        assert_eq!(t.value(thp), None);
        assert_eq!(t.map.counters.rss, 8 * 1024);
        assert!(t.map.counters.is_known(field::ALL));
    }
}
