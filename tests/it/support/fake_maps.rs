//! Fake processes given as a list of mappings: their `smaps`, `maps` and a matching
//! `smaps_rollup`, written together so that every view of one process agrees (for tests
//! that read one process through several files, or compare reports made from them).

use super::fake_proc::{FakeProcess, SmapsKb, full_smaps_record, map_header, smaps_record};

/// One mapping of a fake process: header fields and smaps values in kB.
#[derive(Debug, Clone)]
pub struct FakeMap {
    pub start: u64,
    pub perms: &'static str,
    /// `00:00` for anonymous and pseudo mappings, `fe:00` otherwise.
    pub inode: u64,
    pub path: Vec<u8>,
    pub kb: SmapsKb,
}

impl FakeMap {
    /// `rss_kb` of private dirty pages in `size_kb` of anonymous memory (or `[heap]`…).
    pub fn private(start: u64, path: &[u8], size_kb: u64, rss_kb: u64) -> FakeMap {
        FakeMap {
            start,
            perms: "rw-p",
            inode: 0,
            path: path.to_vec(),
            kb: SmapsKb::private_dirty(size_kb, rss_kb),
        }
    }

    /// `kb` of clean pages of file `path` (inode `inode`) that only this process maps.
    pub fn file(start: u64, path: &[u8], inode: u64, kb: u64) -> FakeMap {
        FakeMap {
            start,
            perms: "r--p",
            inode,
            path: path.to_vec(),
            kb: SmapsKb::private_clean(kb),
        }
    }

    /// `rss_kb` of a file shared with others: PSS `pss_kb`, every page shared clean.
    pub fn shared(start: u64, path: &[u8], inode: u64, rss_kb: u64, pss_kb: u64) -> FakeMap {
        FakeMap {
            start,
            perms: "r-xp",
            inode,
            path: path.to_vec(),
            kb: SmapsKb {
                size: rss_kb,
                rss: rss_kb,
                pss: pss_kb,
                shared_clean: rss_kb,
                ..SmapsKb::default()
            },
        }
    }

    fn header(&self) -> Vec<u8> {
        let dev = if self.inode == 0 { "00:00" } else { "fe:00" };
        let end = self.start + self.kb.size * 1024;
        map_header(self.start, end, self.perms, 0, dev, self.inode, &self.path)
    }
}

/// `smaps` of `maps`, every key a 6.x kernel prints.
pub fn fake_smaps(maps: &[FakeMap]) -> Vec<u8> {
    maps.iter()
        .flat_map(|m| full_smaps_record(m.header(), m.kb))
        .collect()
}

/// `smaps_rollup` of `maps`: the sums, no `Size:`.
pub fn fake_rollup(maps: &[FakeMap]) -> Vec<u8> {
    let sum = |f: fn(&SmapsKb) -> u64| maps.iter().map(|m| f(&m.kb)).sum::<u64>();
    let first = maps.first().map_or(0x1000, |m| m.start);
    let mut out = format!("{first:08x}-7ffffffff000 ---p 00000000 00:00 0").into_bytes();
    out.resize(73, b' ');
    out.extend_from_slice(b"[rollup]\n");
    let kv = [
        ("Rss", sum(|k| k.rss)),
        ("Pss", sum(|k| k.pss)),
        ("Shared_Clean", sum(|k| k.shared_clean)),
        ("Shared_Dirty", sum(|k| k.shared_dirty)),
        ("Private_Clean", sum(|k| k.private_clean)),
        ("Private_Dirty", sum(|k| k.private_dirty)),
        ("Referenced", sum(|k| k.rss)),
        ("Anonymous", sum(|k| k.private_dirty)),
        ("Swap", sum(|k| k.swap)),
        ("SwapPss", sum(|k| k.swap_pss)),
        ("Locked", 0),
    ];
    out.extend(smaps_record(b"", &kv).into_iter().skip(1));
    out
}

/// The process with `maps` as its `smaps`, `maps` and `smaps_rollup`, and a `vsize` that
/// is their total size.
pub fn with_maps<'a>(p: FakeProcess<'a>, maps: &[FakeMap]) -> FakeProcess<'a> {
    let text: Vec<u8> = maps.iter().flat_map(FakeMap::header).collect();
    let vsize = maps.iter().map(|m| m.kb.size * 1024).sum();
    p.vsize(vsize)
        .smaps(&fake_smaps(maps))
        .maps(&text)
        .smaps_rollup(&fake_rollup(maps))
}
