//! Capture archives: made with `pmaps capture`, and taken apart and put back together for
//! tests that damage or age one (the entries of a `tar.zst` as (name, bytes), packed again).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Output;

use super::run::run_pmaps;

/// `pmaps capture -o <dir>/<name>` with `global` options before the subcommand; the
/// archive's path.
pub fn capture_to(dir: &Path, name: &str, global: &[&str]) -> (PathBuf, Output) {
    let path = dir.join(name);
    let mut args: Vec<&str> = global.to_vec();
    args.extend(["capture", "-o", path.to_str().expect("utf-8 path")]);
    let out = run_pmaps(&args);
    (path, out)
}

/// Every entry of a capture archive (tar in zstd), as (name, data), in order.
pub fn archive_entries(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
    let tar = zstd::stream::decode_all(archive).expect("zstd");
    let mut ar = tar::Archive::new(&tar[..]);
    ar.entries()
        .expect("entries")
        .map(|e| {
            let mut e = e.expect("entry");
            let mut data = Vec::new();
            e.read_to_end(&mut data).expect("read");
            (e.path().expect("path").display().to_string(), data)
        })
        .collect()
}

/// `entries` as a tar in zstd, with the end-of-archive blocks when `end`.
pub fn pack_archive(entries: &[(String, Vec<u8>)], end: bool) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o444);
        h.set_cksum();
        b.append_data(&mut h, name, &data[..]).expect("append");
    }
    let mut tar = b.into_inner().expect("tar");
    if !end {
        tar.truncate(tar.len() - 1024);
    }
    zstd::stream::encode_all(&tar[..], 1).expect("zstd")
}
