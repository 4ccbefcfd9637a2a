//! Reading an archive once, with every cap: its entries' bytes go to one unlinked temporary
//! file (the spool) and their places into an index; nothing from the archive ever names a
//! file on disk. A pmaps capture is tar in zstd; a smemcap archive is plain tar.
//!
//! Refused, each with a message that says why: compression other than zstd; an entry whose
//! name is absolute, holds `..` or an empty component, or is not UTF-8; a link, device or
//! FIFO entry (except smemcap's mislabelled files, below); tar extension headers (pax, GNU
//! long names, sparse files: neither writer uses them); an entry larger than
//! [`Limits::entry`]; more than [`Limits::entries`] entries or [`Limits::total`] bytes; a
//! stream that expands more than [`Limits::ratio`] times past [`Limits::ratio_floor`] (a
//! decompression bomb); the same name twice; an archive that ends inside an entry, or
//! inside a zstd frame; bytes after the end-of-archive blocks.
//!
//! smemcap writes pre-POSIX (v7) headers whose type byte is `'4'` (it formats `'0'` with
//! `%d`): in a header without the ustar magic, type `4` is read as a regular file. It also
//! writes no end-of-archive blocks, so a smemcap archive cut exactly at an entry's end
//! cannot be told from a whole one; a pmaps capture must end with them.

use std::cell::Cell;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::rc::Rc;

use anyhow::{Context, bail};

/// The caps on reading an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest entry (one process's smaps).
    pub entry: u64,
    /// The most bytes the archive may expand to.
    pub total: u64,
    /// The most entries.
    pub entries: usize,
    /// The largest expansion of the compressed stream…
    pub ratio: u64,
    /// …once this many bytes came out of it.
    pub ratio_floor: u64,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        entry: crate::source::record::ENTRY_CAP,
        total: 16 << 30,
        entries: 2_000_000,
        // smaps text compresses ~15-60x with zstd; a stream of zeros 5,000x and more.
        ratio: 1000,
        ratio_floor: 64 << 20,
    };
}

/// Where an entry's bytes are in the spool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub offset: u64,
    pub len: u64,
}

/// The archive's entries: their bytes in `spool`, their places by name.
#[derive(Debug)]
pub struct Index {
    pub spool: File,
    pub entries: HashMap<String, Span>,
    /// Entry names that stand for a directory (smemcap writes one per PID).
    pub dirs: Vec<String>,
    /// Whether it ended with the end-of-archive blocks.
    pub end_marker: bool,
    /// The tar header uid of each entry (smemcap's only trace of a process's owner).
    pub uids: HashMap<String, u64>,
}

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Which compression the first bytes announce, when it is one pmaps cannot read.
fn foreign_compression(head: &[u8]) -> Option<(&'static str, &'static str)> {
    if head.starts_with(&[0x1f, 0x8b]) {
        Some(("gzip", "gunzip"))
    } else if head.starts_with(b"BZh") {
        Some(("bzip2", "bunzip2"))
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some(("xz", "unxz"))
    } else {
        None
    }
}

/// Counts the bytes read through it (the compressed side).
struct Counted<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counted<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, n: usize) {
        self.count.set(self.count.get() + n as u64);
        self.inner.consume(n);
    }
}

/// The expanded stream, held to the total and ratio caps. The first cap it hits is kept, so
/// that the message says it whatever the tar reader makes of the error.
struct Guarded<R> {
    inner: R,
    limits: Limits,
    out: Rc<Cell<u64>>,
    compressed: Option<Rc<Cell<u64>>>,
    tripped: Rc<Cell<Option<&'static str>>>,
}

impl<R: Read> Read for Guarded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(why) = self.tripped.get() {
            return Err(io::Error::other(why));
        }
        let n = self.inner.read(buf)?;
        let out = self.out.get() + n as u64;
        self.out.set(out);
        let why = if out > self.limits.total {
            Some("it expands to more than the total a capture may hold")
        } else if let Some(c) = &self.compressed
            && out > self.limits.ratio_floor
            && out / c.get().max(1) > self.limits.ratio
        {
            Some("it expands far more than any capture does (a decompression bomb)")
        } else {
            None
        };
        if let Some(why) = why {
            self.tripped.set(Some(why));
            return Err(io::Error::other(why));
        }
        Ok(n)
    }
}

/// Reads the whole archive from `input` into a spool and an index, within `limits`.
pub fn read_archive(input: impl Read, limits: &Limits) -> anyhow::Result<Index> {
    let mut input = BufReader::with_capacity(64 * 1024, input);
    let head = input.fill_buf().context("cannot read it")?.to_vec();
    if let Some((name, tool)) = foreign_compression(&head) {
        bail!("it is {name}-compressed: pmaps reads tar and tar.zst; `{tool}` it first");
    }
    let compressed = Rc::new(Cell::new(0));
    let tripped = Rc::new(Cell::new(None));
    let expanded = Rc::new(Cell::new(0));
    let stream: Box<dyn Read> = if head.starts_with(&ZSTD_MAGIC) {
        let counted = Counted {
            inner: input,
            count: compressed.clone(),
        };
        let decoder = zstd::stream::read::Decoder::with_buffer(counted)
            .context("cannot start the zstd decoder")?;
        Box::new(Guarded {
            inner: decoder,
            limits: *limits,
            out: expanded.clone(),
            compressed: Some(compressed),
            tripped: tripped.clone(),
        })
    } else {
        Box::new(Guarded {
            inner: input,
            limits: *limits,
            out: expanded.clone(),
            compressed: None,
            tripped: tripped.clone(),
        })
    };
    let explain = |e: anyhow::Error| match tripped.get() {
        Some(why) => anyhow::anyhow!("refused: {why}"),
        None => e,
    };
    index_tar(stream, &expanded, limits).map_err(explain)
}

/// What smemcap writes as a regular file: type `4` in a header without the ustar magic.
fn is_smemcap_file(header: &tar::Header) -> bool {
    header.entry_type() == tar::EntryType::Block
        && header.as_ustar().is_none()
        && header.as_gnu().is_none()
}

/// An entry's name as the index keeps it: relative, `./` dropped, no `..`, no empty
/// component, UTF-8.
pub fn clean_name(raw: &[u8]) -> Result<String, String> {
    let shown = || crate::text::escape::display(raw).into_owned();
    let name = std::str::from_utf8(raw).map_err(|_| format!("{}: not UTF-8", shown()))?;
    if name.starts_with('/') {
        return Err(format!("{name}: an absolute path"));
    }
    let name = name.trim_start_matches("./").trim_end_matches('/');
    if name.is_empty() {
        return Err(format!("{:?}: an empty name", shown()));
    }
    for part in name.split('/') {
        match part {
            ".." => return Err(format!("{name}: a path that climbs out (`..`)")),
            "" | "." => return Err(format!("{name}: an empty or `.` component")),
            _ => {}
        }
    }
    if name.bytes().any(|b| b == 0 || b.is_ascii_control()) {
        return Err(format!("{}: control characters in a name", shown()));
    }
    Ok(name.to_string())
}

/// `expanded`: the bytes read so far from `stream`.
fn index_tar(stream: impl Read, expanded: &Cell<u64>, limits: &Limits) -> anyhow::Result<Index> {
    let spool_file = tempfile::tempfile().context("cannot create the temporary spool file")?;
    let mut spool = BufWriter::with_capacity(256 * 1024, &spool_file);
    let mut archive = tar::Archive::new(stream);
    let mut entries = HashMap::new();
    let mut dirs = Vec::new();
    let mut uids = HashMap::new();
    let mut offset = 0u64;
    let mut count = 0usize;
    // Where the last entry's data ends (with its padding): an archive whose stream ends
    // there has no end-of-archive blocks.
    let mut data_end = 0u64;
    let iter = archive.entries().context("not a tar archive")?.raw(true);
    for entry in iter {
        let mut entry =
            entry.map_err(|e| anyhow::anyhow!("truncated or not a tar archive: {e}"))?;
        count += 1;
        if count > limits.entries {
            bail!("refused: more than {} entries", limits.entries);
        }
        let header = entry.header().clone();
        let raw_name = entry.path_bytes().into_owned();
        let name = clean_name(&raw_name).map_err(|e| anyhow::anyhow!("refused entry {e}"))?;
        let size = entry.size();
        let kind = header.entry_type();
        let file_like = kind.is_file() || kind == tar::EntryType::Continuous;
        if kind.is_dir() {
            dirs.push(name.clone());
        } else if !(file_like || is_smemcap_file(&header)) {
            let what = match kind {
                tar::EntryType::Symlink | tar::EntryType::Link => "a link",
                tar::EntryType::Char | tar::EntryType::Block => "a device",
                tar::EntryType::Fifo => "a FIFO",
                tar::EntryType::XHeader
                | tar::EntryType::XGlobalHeader
                | tar::EntryType::GNULongName
                | tar::EntryType::GNULongLink
                | tar::EntryType::GNUSparse => "a tar extension header (pax, long name, sparse)",
                _ => "of an unknown type",
            };
            bail!("refused entry {name}: {what}; a capture holds regular files only");
        }
        if size > limits.entry {
            bail!(
                "refused entry {name}: {size} bytes, more than the {} a capture entry may hold",
                limits.entry
            );
        }
        data_end = entry.raw_file_position() + size.div_ceil(512) * 512;
        if kind.is_dir() {
            continue;
        }
        if entries.contains_key(&name) {
            bail!("refused: entry {name} appears twice");
        }
        let copied = io::copy(&mut (&mut entry).take(size), &mut spool)
            .map_err(|e| anyhow::anyhow!("truncated or corrupt archive: entry {name}: {e}"))?;
        if copied != size {
            bail!("truncated archive: entry {name} ends after {copied} of its {size} bytes");
        }
        if let Ok(uid) = header.uid() {
            uids.insert(name.clone(), uid);
        }
        entries.insert(name, Span { offset, len: size });
        offset += size;
    }
    spool
        .flush()
        .context("cannot write the temporary spool file")?;
    drop(spool);
    // The tar reader stops at the first zero block, or where the stream ends: a zero block
    // was read when it read on past the last entry's data.
    let end_marker = expanded.get() >= data_end + 512;
    let mut rest = archive.into_inner();
    // What follows must be zeros (the rest of the end-of-archive record), and reading it to the end
    // lets the zstd decoder check that its frame is whole.
    let mut tail = [0u8; 64 * 1024];
    let mut after = 0u64;
    loop {
        let n = match rest.read(&mut tail) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => bail!("truncated or corrupt archive: {e}"),
        };
        if tail[..n].iter().any(|&b| b != 0) {
            bail!("refused: data after the end of the tar archive");
        }
        after += n as u64;
        if after > 1 << 20 {
            bail!("refused: more than 1 MiB of padding after the end of the tar archive");
        }
    }
    Ok(Index {
        spool: spool_file,
        entries,
        dirs,
        end_marker,
        uids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar archive of `(name, data, type)` entries, names written raw into the header (so
    /// hostile names are possible), with the end-of-archive blocks when `end`.
    pub(crate) fn raw_tar(entries: &[(&[u8], &[u8], tar::EntryType)], end: bool) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, data, kind) in entries {
            let mut h = tar::Header::new_gnu();
            h.as_mut_bytes()[..name.len()].copy_from_slice(name);
            h.set_size(data.len() as u64);
            h.set_mode(0o444);
            h.set_entry_type(*kind);
            h.set_cksum();
            out.extend_from_slice(h.as_bytes());
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        if end {
            out.extend_from_slice(&[0; 1024]);
        }
        out
    }

    fn file(
        name: &'static str,
        data: &'static [u8],
    ) -> (&'static [u8], &'static [u8], tar::EntryType) {
        (name.as_bytes(), data, tar::EntryType::Regular)
    }

    fn read(bytes: &[u8], limits: &Limits) -> Result<Index, String> {
        read_archive(bytes, limits).map_err(|e| format!("{e:#}"))
    }

    fn zstd(bytes: &[u8]) -> Vec<u8> {
        zstd::stream::encode_all(bytes, 1).expect("zstd")
    }

    fn spooled(index: &Index, name: &str) -> Vec<u8> {
        let span = index.entries[name];
        let mut buf = vec![0; span.len as usize];
        std::os::unix::fs::FileExt::read_exact_at(&index.spool, &mut buf, span.offset)
            .expect("read spool");
        buf
    }

    #[test]
    fn entries_are_spooled_and_indexed_from_tar_and_tar_zst() {
        let tar = raw_tar(
            &[
                file("meminfo", b"MemTotal: 1 kB\n"),
                (b"./7", b"", tar::EntryType::Directory),
                file("./7/smaps", b"smaps text"),
            ],
            true,
        );
        for bytes in [tar.clone(), zstd(&tar)] {
            let index = read(&bytes, &Limits::DEFAULT).expect("read");
            assert_eq!(spooled(&index, "7/smaps"), b"smaps text");
            assert_eq!(spooled(&index, "meminfo"), b"MemTotal: 1 kB\n");
            assert_eq!(index.dirs, ["7"]);
            assert!(index.end_marker);
        }
        let unended = raw_tar(&[file("7/stat", b"x")], false);
        assert!(!read(&unended, &Limits::DEFAULT).expect("read").end_marker);
    }

    #[test]
    fn names_that_climb_out_or_are_absolute_are_refused() {
        for bad in [
            &b"../x"[..],
            b"/etc/passwd",
            b"7/../../x",
            b"7//smaps",
            b"a/./b",
            b"x\xff",
        ] {
            let tar = raw_tar(&[(bad, b"data", tar::EntryType::Regular)], true);
            let err = read(&tar, &Limits::DEFAULT).expect_err("hostile name accepted");
            assert!(err.contains("refused entry"), "{err}");
        }
        assert_eq!(clean_name(b"./7/smaps").as_deref(), Ok("7/smaps"));
        assert_eq!(clean_name(b"7/").as_deref(), Ok("7"));
    }

    #[test]
    fn links_devices_fifos_and_extensions_are_refused() {
        for kind in [
            tar::EntryType::Symlink,
            tar::EntryType::Link,
            tar::EntryType::Char,
            tar::EntryType::Fifo,
            tar::EntryType::XHeader,
            tar::EntryType::GNULongName,
        ] {
            let tar = raw_tar(&[(b"7/smaps", b"", kind)], true);
            let err = read(&tar, &Limits::DEFAULT).expect_err("accepted");
            assert!(err.contains("regular files only"), "{kind:?}: {err}");
        }
        // A gnu header with type 4 is a device; a v7 one (smemcap's) is a file.
        let gnu = raw_tar(&[(b"7/smaps", b"x", tar::EntryType::Block)], true);
        assert!(read(&gnu, &Limits::DEFAULT).is_err());
        let mut h = tar::Header::new_old();
        h.as_mut_bytes()[..7].copy_from_slice(b"7/smaps");
        h.set_size(1);
        h.set_entry_type(tar::EntryType::Block);
        h.set_cksum();
        let mut v7 = h.as_bytes().to_vec();
        v7.push(b'x');
        v7.resize(1024, 0);
        let index = read(&v7, &Limits::DEFAULT).expect("smemcap's file");
        assert_eq!(spooled(&index, "7/smaps"), b"x");
    }

    #[test]
    fn duplicates_truncation_and_trailing_data_are_refused() {
        let dup = raw_tar(&[file("7/smaps", b"a"), file("./7/smaps", b"b")], true);
        assert!(
            read(&dup, &Limits::DEFAULT)
                .expect_err("dup")
                .contains("twice")
        );
        let whole = raw_tar(&[file("7/smaps", &[b'x'; 2000])], true);
        let cut = &whole[..1200];
        let err = read(cut, &Limits::DEFAULT).expect_err("cut");
        assert!(err.contains("truncated"), "{err}");
        let z = zstd(&whole);
        let err = read(&z[..z.len() - 5], &Limits::DEFAULT).expect_err("cut zstd");
        assert!(
            err.contains("truncated") || err.contains("corrupt"),
            "{err}"
        );
        let mut trailing = whole.clone();
        trailing.extend_from_slice(b"more");
        let err = read(&trailing, &Limits::DEFAULT).expect_err("trailing");
        assert!(err.contains("after the end"), "{err}");
    }

    #[test]
    fn caps_on_entry_size_count_total_and_expansion() {
        let small = Limits {
            entry: 100,
            total: 1 << 20,
            entries: 3,
            ratio: 50,
            ratio_floor: 64 << 10,
        };
        let big = raw_tar(&[file("7/smaps", &[b'x'; 101])], true);
        let err = read(&big, &small).expect_err("entry cap");
        assert!(err.contains("more than the 100"), "{err}");
        let many = raw_tar(
            &[
                file("1/a", b""),
                file("2/a", b""),
                file("3/a", b""),
                file("4/a", b""),
            ],
            true,
        );
        assert!(
            read(&many, &small)
                .expect_err("count")
                .contains("more than 3 entries")
        );
        // A header that claims more than the cap is refused before its data is read.
        let mut claim = raw_tar(&[file("7/smaps", b"")], false);
        let mut h = tar::Header::from_byte_slice(&claim[..512]).clone();
        h.set_size(1 << 40);
        h.set_cksum();
        claim[..512].copy_from_slice(h.as_bytes());
        assert!(
            read(&claim, &Limits::DEFAULT)
                .expect_err("claim")
                .contains("more than the")
        );
        // Zeros expand thousands of times: a bomb, stopped once past the floor.
        let zeros = vec![0u8; 4 << 20];
        let mut bomb = raw_tar(&[file("7/smaps", b"")], false);
        let mut h = tar::Header::from_byte_slice(&bomb[..512]).clone();
        h.set_size(zeros.len() as u64);
        h.set_cksum();
        bomb[..512].copy_from_slice(h.as_bytes());
        bomb.extend_from_slice(&zeros);
        let lax = Limits {
            entry: 1 << 30,
            total: 1 << 30,
            ..small
        };
        let err = read(&zstd(&bomb), &lax).expect_err("bomb");
        assert!(err.contains("decompression bomb"), "{err}");
        let tight = Limits {
            total: 1 << 20,
            ratio: u64::MAX,
            ..lax
        };
        let err = read(&bomb, &tight).expect_err("total");
        assert!(err.contains("more than the total"), "{err}");
    }

    #[test]
    fn other_compressions_are_named() {
        for (head, name) in [(&[0x1f, 0x8b, 8][..], "gzip"), (b"BZh9", "bzip2")] {
            let err = read(head, &Limits::DEFAULT).expect_err("compressed");
            assert!(err.contains(name), "{err}");
        }
        let err = read(&[7u8; 600], &Limits::DEFAULT).expect_err("noise");
        assert!(err.contains("not a tar archive"), "{err}");
    }
}
