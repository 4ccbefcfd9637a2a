//! What a `pmaps capture` archive holds, read back after the timed run: its size on disk and
//! the bytes of raw smaps text in it (every `PID/smaps` and `PID/task/TID/smaps` entry), so
//! the archive is compared with exactly the text it was made of.

use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result};

/// The sizes of one archive.
#[derive(Clone, Copy, Debug, Default)]
pub struct ArchiveSizes {
    /// The archive file.
    pub archive_bytes: u64,
    /// The smaps text it holds, uncompressed.
    pub smaps_bytes: u64,
}

/// Reads the archive at `path` (tar in one zstd stream) and sums its smaps entries.
pub fn sizes(path: &Path) -> Result<ArchiveSizes> {
    let read = || -> Result<ArchiveSizes> {
        let file = File::open(path)?;
        let archive_bytes = file.metadata()?.len();
        let mut tar = tar::Archive::new(zstd::stream::read::Decoder::new(file)?);
        let mut smaps_bytes = 0;
        for entry in tar.entries()? {
            let entry = entry?;
            let is_smaps = entry.path()?.file_name().is_some_and(|n| n == "smaps");
            if is_smaps {
                smaps_bytes += entry.header().size()?;
            }
        }
        Ok(ArchiveSizes {
            archive_bytes,
            smaps_bytes,
        })
    };
    read().with_context(|| format!("reading the archive {}", path.display()))
}
