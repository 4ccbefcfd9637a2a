//! Capture archives: made with `pmaps capture`, read back with the `tar` and `zstd` crates,
//! taken apart and put back together for tests that damage or age one (the entries of a
//! `tar.zst` as (name, bytes), packed again), and smem's `smemcap` layout written byte for
//! byte as smemcap writes it (for archives the tests build).

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

/// The data of the entry `name` of the capture archive at `path`, if it has one.
pub fn archive_entry(path: &std::path::Path, name: &str) -> Option<Vec<u8>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    archive_entries(&bytes)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, data)| data)
}

/// A header exactly as smemcap's `writeheader()` writes it: a pre-POSIX header, every
/// number with `%0No` (the size's 12 digits run into the mtime field, whose sprintf
/// overwrites the NUL), the type given as the character `'0'` but formatted with `%1d`, so
/// the type byte reads `4` and `8` spills into the link name.
pub fn smemcap_header(
    path: &str,
    mode: u32,
    uid: u32,
    gid: u32,
    size: usize,
    mtime: u64,
    ty: u8,
) -> [u8; 512] {
    fn put(h: &mut [u8; 512], at: usize, s: String) {
        let b = s.as_bytes();
        h[at..at + b.len()].copy_from_slice(b);
        h[at + b.len()] = 0;
    }
    let mut h = [0u8; 512];
    put(&mut h, 0, path.to_string());
    put(&mut h, 100, format!("{mode:08o}"));
    put(&mut h, 108, format!("{uid:08o}"));
    put(&mut h, 116, format!("{gid:08o}"));
    put(&mut h, 124, format!("{size:012o}"));
    put(&mut h, 136, format!("{mtime:08o}"));
    put(&mut h, 148, format!("        {ty}"));
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    put(&mut h, 148, format!("{sum:06o}"));
    h
}

/// smemcap's `archivefile()`: the header, then the data padded to 512 (no end blocks).
pub fn smemcap_file(out: &mut Vec<u8>, path: &str, data: &[u8], uid: u32, ty: u8) {
    out.extend_from_slice(&smemcap_header(
        path,
        0o100444,
        uid,
        uid,
        data.len(),
        1_795_542_613,
        ty,
    ));
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}
