//! One process's mappings matched sample to sample, so that each keeps one series while it
//! grows, moves or splits.
//!
//! A mapping of the new sample continues the series of the previous one that
//! 1. had exactly its range, path and mapped object (device, inode); else
//! 2. had the same path and object and an overlapping range (it grew, shrank or was split:
//!    every part continues the series, and the series' value is the sum of its parts); else
//! 3. had the same non-empty path and object and got no mapping by 1 or 2 (it moved:
//!    `mremap`), the lowest such first.
//!
//! Any other mapping starts a new series; a series that no mapping continues has ended
//! (unmapped, or merged into a neighbour's). Anonymous mappings (no path) are followed by
//! their range alone.

use std::collections::HashMap;

use crate::model::Object;

/// A mapping as the matcher sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapRef<'a> {
    pub start: u64,
    pub end: u64,
    pub path: &'a [u8],
    pub object: Object,
}

/// One series' mappings in the last sample.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Followed {
    id: u64,
    path: Vec<u8>,
    object: Object,
    /// Ranges, ascending.
    ranges: Vec<(u64, u64)>,
}

/// The series of one process's mappings.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    followed: Vec<Followed>,
    next_id: u64,
}

/// What [`Matcher::assign`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The series of each mapping, in the order given.
    pub ids: Vec<u64>,
    /// Series that no mapping continues.
    pub ended: Vec<u64>,
}

impl Matcher {
    pub fn new() -> Matcher {
        Matcher::default()
    }

    /// Matches this sample's mappings (in address order) to the series of the last one.
    pub fn assign(&mut self, maps: &[MapRef<'_>]) -> Assignment {
        let mut exact: HashMap<(u64, u64, &[u8], Object), usize> = HashMap::new();
        // Per path and object: (start, end, index of the series) of its ranges.
        type Ranges = Vec<(u64, u64, usize)>;
        let mut groups: HashMap<(&[u8], Object), Ranges> = HashMap::new();
        for (i, f) in self.followed.iter().enumerate() {
            for &(s, e) in &f.ranges {
                exact.insert((s, e, f.path.as_slice(), f.object), i);
                groups
                    .entry((f.path.as_slice(), f.object))
                    .or_default()
                    .push((s, e, i));
            }
        }
        for ranges in groups.values_mut() {
            ranges.sort_unstable();
        }
        let mut owner: Vec<Option<usize>> = vec![None; maps.len()];
        let mut taken = vec![false; self.followed.len()];
        for (m, slot) in maps.iter().zip(owner.iter_mut()) {
            let found = exact
                .get(&(m.start, m.end, m.path, m.object))
                .copied()
                .or_else(|| {
                    let ranges = groups.get(&(m.path, m.object))?;
                    // The first range that ends after this one starts; it overlaps when it
                    // also starts before this one ends (ranges of one sample are disjoint).
                    let at = ranges.partition_point(|r| r.1 <= m.start);
                    ranges.get(at).filter(|r| r.0 < m.end).map(|r| r.2)
                });
            if let Some(i) = found {
                *slot = Some(i);
                taken[i] = true;
            }
        }
        // Moved: a named mapping nobody continued takes the first free series of its file.
        for (m, slot) in maps.iter().zip(owner.iter_mut()) {
            if slot.is_some() || m.path.is_empty() {
                continue;
            }
            let free = self
                .followed
                .iter()
                .enumerate()
                .find(|(i, f)| !taken[*i] && f.path == m.path && f.object == m.object);
            if let Some((i, _)) = free {
                *slot = Some(i);
                taken[i] = true;
            }
        }
        let mut next: Vec<Followed> = Vec::new();
        let mut index_of: HashMap<u64, usize> = HashMap::new();
        let mut ids = Vec::with_capacity(maps.len());
        for (m, slot) in maps.iter().zip(&owner) {
            let id = match slot {
                Some(i) => self.followed[*i].id,
                None => {
                    self.next_id += 1;
                    self.next_id
                }
            };
            ids.push(id);
            match index_of.get(&id) {
                Some(&k) => next[k].ranges.push((m.start, m.end)),
                None => {
                    index_of.insert(id, next.len());
                    next.push(Followed {
                        id,
                        path: m.path.to_vec(),
                        object: m.object,
                        ranges: vec![(m.start, m.end)],
                    });
                }
            }
        }
        let ended = self
            .followed
            .iter()
            .zip(&taken)
            .filter(|(_, t)| !**t)
            .map(|(f, _)| f.id)
            .collect();
        for f in &mut next {
            f.ranges.sort_unstable();
        }
        self.followed = next;
        Assignment { ids, ended }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(inode: u64) -> Object {
        Object {
            dev_major: 254,
            dev_minor: 0,
            inode,
        }
    }

    fn m(start: u64, end: u64, path: &'static [u8], inode: u64) -> MapRef<'static> {
        MapRef {
            start,
            end,
            path,
            object: obj(inode),
        }
    }

    #[test]
    fn unchanged_mappings_keep_their_series() {
        let mut mt = Matcher::new();
        let maps = [
            m(0x1000, 0x2000, b"/lib/a.so", 5),
            m(0x3000, 0x5000, b"", 0),
        ];
        let first = mt.assign(&maps);
        assert_eq!(first.ids, [1, 2]);
        let again = mt.assign(&maps);
        assert_eq!(again.ids, [1, 2]);
        assert!(again.ended.is_empty());
    }

    #[test]
    fn a_heap_that_grows_and_an_anon_region_that_grows_down_keep_their_series() {
        let mut mt = Matcher::new();
        mt.assign(&[m(0x1000, 0x2000, b"[heap]", 0), m(0x8000, 0x9000, b"", 0)]);
        // brk moved the heap's end; an adjacent mmap merged into the anonymous region.
        let a = mt.assign(&[m(0x1000, 0x4000, b"[heap]", 0), m(0x7000, 0x9000, b"", 0)]);
        assert_eq!(a.ids, [1, 2]);
        assert!(a.ended.is_empty());
    }

    #[test]
    fn a_split_mapping_is_one_series_and_a_new_one_starts_its_own() {
        let mut mt = Matcher::new();
        mt.assign(&[m(0x10000, 0x20000, b"", 0)]);
        // mprotect split it in three; a new region appeared far away.
        let a = mt.assign(&[
            m(0x10000, 0x14000, b"", 0),
            m(0x14000, 0x15000, b"", 0),
            m(0x15000, 0x20000, b"", 0),
            m(0x90000, 0x91000, b"", 0),
        ]);
        assert_eq!(a.ids, [1, 1, 1, 2]);
        // Each part still continues it the sample after.
        let b = mt.assign(&[
            m(0x10000, 0x14000, b"", 0),
            m(0x14000, 0x15000, b"", 0),
            m(0x15000, 0x20000, b"", 0),
        ]);
        assert_eq!(b.ids, [1, 1, 1]);
        assert_eq!(b.ended, [2]);
    }

    #[test]
    fn a_moved_file_mapping_keeps_its_series_an_anonymous_one_does_not() {
        let mut mt = Matcher::new();
        mt.assign(&[m(0x1000, 0x2000, b"/data/x", 9), m(0x5000, 0x6000, b"", 0)]);
        let a = mt.assign(&[
            m(0x70000, 0x71000, b"/data/x", 9),
            m(0x80000, 0x81000, b"", 0),
        ]);
        assert_eq!(a.ids, [1, 3]);
        assert_eq!(a.ended, [2]);
    }

    #[test]
    fn a_replaced_file_under_the_same_path_is_a_new_series() {
        let mut mt = Matcher::new();
        mt.assign(&[m(0x1000, 0x2000, b"/lib/a.so", 5)]);
        let a = mt.assign(&[m(0x1000, 0x2000, b"/lib/a.so", 6)]);
        assert_eq!(a.ids, [2]);
        assert_eq!(a.ended, [1]);
    }

    #[test]
    fn thousands_of_mappings_match_quickly_and_exactly() {
        let mut mt = Matcher::new();
        let maps: Vec<MapRef<'_>> = (0..20_000u64)
            .map(|i| m(i * 0x2000, i * 0x2000 + 0x1000, b"", 0))
            .collect();
        let first = mt.assign(&maps);
        let again = mt.assign(&maps);
        assert_eq!(first.ids, again.ids);
        assert_eq!(again.ids.len(), 20_000);
    }
}
