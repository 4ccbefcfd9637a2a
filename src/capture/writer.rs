//! The archive as it is written: tar entries in one zstd stream, streamed to the output as
//! they come (nothing is held but the entry being written), with the end-of-archive blocks
//! and the zstd frame closed by [`ArchiveWriter::finish`]. Entries are read-only regular
//! files owned by the uid given (a process's files by the process's owner, so tools that
//! take the owner from the tar header, like smem, see it).

use std::io::{self, Write};

/// Counts the bytes that reach the output.
pub struct Counting<W> {
    inner: W,
    pub written: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A tar + zstd archive being written to `W`.
pub struct ArchiveWriter<W: Write> {
    tar: tar::Builder<zstd::stream::write::Encoder<'static, Counting<W>>>,
    mtime: u64,
    /// Bytes of entries written (before compression).
    pub raw_bytes: u64,
}

impl<W: Write> ArchiveWriter<W> {
    /// `level`: zstd's; `mtime`: every entry's time, in seconds since the epoch.
    pub fn new(out: W, level: i32, mtime: u64) -> io::Result<ArchiveWriter<W>> {
        let counting = Counting {
            inner: out,
            written: 0,
        };
        let encoder = zstd::stream::write::Encoder::new(counting, level)?;
        Ok(ArchiveWriter {
            tar: tar::Builder::new(encoder),
            mtime,
            raw_bytes: 0,
        })
    }

    /// Adds one entry (`name` is a relative path of plain components).
    pub fn add(&mut self, name: &str, data: &[u8], uid: u32) -> io::Result<()> {
        let mut h = tar::Header::new_gnu();
        h.set_path(name)?;
        h.set_size(data.len() as u64);
        h.set_mode(0o444);
        h.set_uid(u64::from(uid));
        h.set_gid(0);
        h.set_mtime(self.mtime);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        self.tar.append(&h, data)?;
        self.raw_bytes += data.len() as u64;
        Ok(())
    }

    /// Ends the tar archive and the zstd frame, flushes, and returns the output and the
    /// bytes written to it.
    pub fn finish(self) -> io::Result<(W, u64)> {
        let encoder = self.tar.into_inner()?;
        let mut counting = encoder.finish()?;
        counting.flush()?;
        Ok((counting.inner, counting.written))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn entries_round_trip_through_tar_and_zstd() {
        let mut w = ArchiveWriter::new(Vec::new(), 1, 1_795_542_613).expect("writer");
        w.add(
            "7/smaps",
            b"00400000-00401000 r-xp 00000000 fe:00 1 /bin/x\n",
            1000,
        )
        .expect("add");
        w.add("meminfo", b"MemTotal: 1 kB\n", 0).expect("add");
        let (bytes, written) = w.finish().expect("finish");
        assert_eq!(written, bytes.len() as u64);
        let tar = zstd::stream::decode_all(&bytes[..]).expect("zstd");
        let mut ar = tar::Archive::new(&tar[..]);
        let mut seen = Vec::new();
        for e in ar.entries().expect("entries") {
            let mut e = e.expect("entry");
            let mut data = String::new();
            e.read_to_string(&mut data).expect("read");
            let h = e.header();
            seen.push((
                e.path().expect("path").display().to_string(),
                h.uid().expect("uid"),
                h.mode().expect("mode"),
                data,
            ));
        }
        assert_eq!(seen[0].0, "7/smaps");
        assert_eq!(seen[0].1, 1000);
        assert_eq!(seen[0].2, 0o444);
        assert!(seen[0].3.ends_with("/bin/x\n"));
        assert_eq!(seen[1].0, "meminfo");
    }
}
