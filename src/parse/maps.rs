//! `/proc/PID/maps` lines (also the header line of each `smaps` record) and the kind of a
//! mapping, decided from its path field alone (never by `stat()`ing the path).

use super::{ParseError, dec, field_sp, hex};
use crate::model::{Counters, MapHeader, MapKind, field};

/// True when a line of `smaps` starts a new mapping (its address range) rather than being a
/// `Key: value` line. Addresses are printed in lowercase hex; keys start with a capital.
#[inline]
pub fn is_header_line(line: &[u8]) -> bool {
    matches!(line.first(), Some(b'0'..=b'9' | b'a'..=b'f'))
}

/// Parses one line of `maps` (also the header of each `smaps` record), without its newline.
///
/// `start-end perms offset major:minor inode`, then padding spaces, then the path verbatim.
/// A path never starts with a space (it is absolute, bracketed or `anon_inode:`), so all the
/// spaces after the inode are padding; nothing at the end is trimmed.
pub fn parse_map_header(line: &[u8]) -> Result<MapHeader<'_>, ParseError> {
    let bad = || ParseError::new("malformed mapping line", line);
    let (range, rest) = field_sp(line).ok_or_else(bad)?;
    let dash = range.iter().position(|&b| b == b'-').ok_or_else(bad)?;
    let start = hex(&range[..dash]).ok_or_else(bad)?;
    let end = hex(&range[dash + 1..]).ok_or_else(bad)?;
    let (perms, rest) = field_sp(rest).ok_or_else(bad)?;
    let perms: [u8; 4] = perms.try_into().map_err(|_| bad())?;
    let (offset, rest) = field_sp(rest).ok_or_else(bad)?;
    let offset = hex(offset).ok_or_else(bad)?;
    let (dev, rest) = field_sp(rest).ok_or_else(bad)?;
    let colon = dev.iter().position(|&b| b == b':').ok_or_else(bad)?;
    let dev_major = hex(&dev[..colon]).ok_or_else(bad)?;
    let dev_minor = hex(&dev[colon + 1..]).ok_or_else(bad)?;
    // The inode is the last fixed field: it ends at a space, or at the end of a line whose
    // trailing space was lost (fake trees, hand-edited captures).
    let (inode, rest) = match rest.iter().position(|&b| b == b' ') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &rest[rest.len()..]),
    };
    let inode = dec(inode).ok_or_else(bad)?;
    let pad = rest.iter().take_while(|&&b| b == b' ').count();
    if end < start || dev_major > u64::from(u32::MAX) || dev_minor > u64::from(u32::MAX) {
        return Err(bad());
    }
    Ok(MapHeader {
        start,
        end,
        perms,
        offset,
        dev_major: dev_major as u32,
        dev_minor: dev_minor as u32,
        inode,
        path: &rest[pad..],
        hugetlb: None,
    })
}

/// The path field of a `maps` line, without parsing the fields before it: what a question
/// that looks only at paths (and the kinds a path allows) needs, at a fraction of the
/// cost of [`parse_map_header`]. The line must still have the shape of a maps line (an
/// address range and the four fields after it); its path is the same as
/// [`parse_map_header`] gives.
pub fn map_line_path(line: &[u8]) -> Result<&[u8], ParseError> {
    let bad = || ParseError::new("malformed mapping line", line);
    // The spaces after the range, perms, offset, device and inode; the last may be missing
    // (a line whose trailing space was lost, like `parse_map_header` accepts).
    let mut spaces = memchr::memchr_iter(b' ', line);
    let range_end = spaces.next().ok_or_else(bad)?;
    if !line[..range_end].contains(&b'-') {
        return Err(bad());
    }
    spaces.nth(1).ok_or_else(bad)?;
    let dev_end = spaces.next().ok_or_else(bad)?;
    let rest = match spaces.next() {
        Some(i) => &line[i + 1..],
        None if dev_end + 1 < line.len() => &line[line.len()..],
        None => return Err(bad()),
    };
    let pad = rest.iter().take_while(|&&b| b == b' ').count();
    Ok(&rest[pad..])
}

/// The kind of a mapping, from its path field and, when smaps said, whether it is hugetlb
/// (`ht` in `VmFlags:`): hugetlb memory is hugetlb whatever its name (a SysV segment or a
/// memfd in huge pages), and a mapping smaps calls ordinary is never hugetlb (a file really
/// named `/anon_hugepage` that was deleted).
pub fn mapping_kind(path: &[u8], hugetlb: Option<bool>) -> MapKind {
    match (hugetlb, kind_of(path)) {
        (Some(true), _) => MapKind::Hugetlb,
        (Some(false), MapKind::Hugetlb) => MapKind::Deleted,
        (_, kind) => kind,
    }
}

/// The kind of a mapping, from its path field alone (what `maps` tells): anonymous huge
/// pages are named `/anon_hugepage (deleted)`; a SysV segment or memfd in huge pages cannot
/// be told from an ordinary one by name.
pub fn kind_of(path: &[u8]) -> MapKind {
    const DELETED: &[u8] = b" (deleted)";
    match path {
        [] => MapKind::Anon,
        b"[heap]" => MapKind::Heap,
        b"[stack]" => MapKind::Stack,
        b"[vdso]" | b"[vvar]" | b"[vvar_vclock]" | b"[vsyscall]" => MapKind::Vdso,
        [b'[', ..] if path.starts_with(b"[stack:") => MapKind::Stack,
        [b'/', ..] => {
            let deleted = path.ends_with(DELETED);
            if deleted && path.starts_with(b"/memfd:") {
                MapKind::Memfd
            } else if deleted && is_sysv(&path[..path.len() - DELETED.len()]) {
                MapKind::Shm
            } else if path == b"/anon_hugepage (deleted)" {
                // MAP_HUGETLB memory: the kernel names it after its hugetlbfs file.
                MapKind::Hugetlb
            } else if path == b"/dev/zero (deleted)" {
                // Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS) is backed by /dev/zero.
                MapKind::Other
            } else if deleted {
                MapKind::Deleted
            } else {
                MapKind::File
            }
        }
        _ => MapKind::Other,
    }
}

/// `/SYSV` followed by the 8-hex-digit key, as the kernel names SysV segments.
fn is_sysv(name: &[u8]) -> bool {
    name.len() == 13 && name.starts_with(b"/SYSV") && name[5..].iter().all(u8::is_ascii_hexdigit)
}

/// Counters for one line of `maps`: only the virtual size is known.
pub fn maps_counters(h: &MapHeader<'_>) -> Counters {
    Counters {
        size: h.end - h.start,
        known: field::SIZE,
        ..Counters::unknown()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_and_verbatim_paths() {
        let h = parse_map_header(
            b"7f1c2a000000-7f1c2a021000 rw-s 0001a000 08:1f 1234567                    /tmp/a b\tc\\012d (deleted)",
        )
        .expect("valid");
        assert_eq!(h.start, 0x7f1c2a000000);
        assert_eq!(h.end, 0x7f1c2a021000);
        assert_eq!(&h.perms, b"rw-s");
        assert_eq!(h.offset, 0x1a000);
        assert_eq!((h.dev_major, h.dev_minor), (8, 0x1f));
        assert_eq!(h.inode, 1234567);
        assert_eq!(h.path, b"/tmp/a b\tc\\012d (deleted)");
        // Anonymous: the line ends after the inode's space.
        let a =
            parse_map_header(b"7f1c2a000000-7f1c2a021000 rw-p 00000000 00:00 0 ").expect("valid");
        assert_eq!(a.path, b"");
        // Trailing spaces and CR in a name are kept; non-UTF-8 bytes pass through.
        let t = parse_map_header(b"1000-2000 r--p 00000000 00:00 5 /x\xff\xfe \r  ").expect("ok");
        assert_eq!(t.path, b"/x\xff\xfe \r  ");
        let long = [
            b"1000-2000 r--p 00000000 00:00 5 /".as_slice(),
            &[b'a'; 5000],
        ]
        .concat();
        assert_eq!(parse_map_header(&long).expect("long").path.len(), 5001);
    }

    #[test]
    fn the_path_alone_is_the_path_of_the_whole_header() {
        let long = [
            b"1000-2000 r--p 00000000 00:00 5 /".as_slice(),
            &[b'a'; 5000],
        ]
        .concat();
        let lines: [&[u8]; 6] = [
            b"7f1c2a000000-7f1c2a021000 rw-s 0001a000 08:1f 1234567                    /tmp/a b\tc\\012d (deleted)",
            b"7f1c2a000000-7f1c2a021000 rw-p 00000000 00:00 0 ",
            b"7f1c2a000000-7f1c2a021000 rw-p 00000000 00:00 0",
            b"1000-2000 r--p 00000000 00:00 5 /x\xff\xfe \r  ",
            b"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]",
            &long,
        ];
        for line in lines {
            let whole = parse_map_header(line).expect("a maps line");
            assert_eq!(map_line_path(line).expect("a maps line"), whole.path);
        }
        for bad in [&b"Size:    4 kB"[..], b"", b"1000-2000 r--p 0"] {
            assert!(map_line_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn kinds_come_from_the_name_alone() {
        let cases: &[(&[u8], MapKind)] = &[
            (b"", MapKind::Anon),
            (b"[heap]", MapKind::Heap),
            (b"[stack]", MapKind::Stack),
            (b"[vdso]", MapKind::Vdso),
            (b"[vvar]", MapKind::Vdso),
            (b"[vvar_vclock]", MapKind::Vdso),
            (b"[vsyscall]", MapKind::Vdso),
            (b"[anon:my pool = 1]", MapKind::Other),
            (b"[anon_shmem:x]", MapKind::Other),
            (b"[future]", MapKind::Other),
            (b"anon_inode:[perf_event]", MapKind::Other),
            (b"/dev/zero (deleted)", MapKind::Other),
            (b"/SYSV0000abcd (deleted)", MapKind::Shm),
            (b"/SYSV", MapKind::File),
            (b"/SYSV0000abcd", MapKind::File),
            (b"/memfd:pool (deleted)", MapKind::Memfd),
            (b"/usr/lib/libc.so.6", MapKind::File),
            (b"/usr/lib/libc.so.6 (deleted)", MapKind::Deleted),
            (b"/srv/[heap]", MapKind::File),
            (b"/tmp/x (deleted) (deleted)", MapKind::Deleted),
            (b"/anon_hugepage (deleted)", MapKind::Hugetlb),
            (b"/anon_hugepage", MapKind::File),
        ];
        for (path, kind) in cases {
            assert_eq!(kind_of(path), *kind, "{:?}", String::from_utf8_lossy(path));
        }
    }

    #[test]
    fn hugetlb_is_what_smaps_says_whatever_the_name() {
        let huge = |path: &[u8], ht| mapping_kind(path, ht);
        assert_eq!(
            huge(b"/SYSV00000000 (deleted)", Some(true)),
            MapKind::Hugetlb
        );
        assert_eq!(huge(b"/SYSV00000000 (deleted)", Some(false)), MapKind::Shm);
        assert_eq!(huge(b"/SYSV00000000 (deleted)", None), MapKind::Shm);
        assert_eq!(huge(b"/memfd:db (deleted)", Some(true)), MapKind::Hugetlb);
        assert_eq!(huge(b"/dev/hugepages/pool", Some(true)), MapKind::Hugetlb);
        assert_eq!(huge(b"/anon_hugepage (deleted)", None), MapKind::Hugetlb);
        assert_eq!(
            huge(b"/anon_hugepage (deleted)", Some(true)),
            MapKind::Hugetlb
        );
        // smaps says it is ordinary memory: a deleted file of that name.
        assert_eq!(
            huge(b"/anon_hugepage (deleted)", Some(false)),
            MapKind::Deleted
        );
        assert_eq!(huge(b"/usr/lib/x.so", Some(false)), MapKind::File);
    }
}
