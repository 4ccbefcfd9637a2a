//! Files the tests make: data files for helpers to map, directories nobody can enter, FIFOs.

use std::path::{Path, PathBuf};

/// Sets the mode of `path` (root-owned files of mode 000 stop nobody, not root).
pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", path.display()));
}

/// A temporary directory that nobody can enter (mode 0755; tempdirs are 0700).
pub fn open_tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("cannot create a temporary directory");
    set_mode(dir.path(), 0o755);
    dir
}

/// Writes `len` bytes (a non-zero pattern) to `dir/name`, fsyncs it (freshly written page
/// cache is *dirty* and would show as `*_Dirty` in smaps until writeback) and makes it mode
/// 0644, so a helper running as nobody can map it (the directory must be searchable too:
/// see [`open_tempdir`]).
pub fn synced_file(dir: &Path, name: &str, len: usize) -> PathBuf {
    use std::io::Write;
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    let pattern: Vec<u8> = (0..len).map(|i| (i % 251) as u8 | 1).collect();
    f.write_all(&pattern)
        .and_then(|()| f.sync_all())
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    set_mode(&path, 0o644);
    path
}

/// The object a file is, as `/proc/PID/maps` prints it: the device `MM:mm` (major and
/// minor in lowercase hex, at least two digits each, as the kernel's `show_map_vma()`) and
/// the inode, from `stat`.
pub fn file_object(path: &Path) -> (String, u64) {
    use std::os::unix::fs::MetadataExt;
    let m =
        std::fs::metadata(path).unwrap_or_else(|e| panic!("cannot stat {}: {e}", path.display()));
    let dev = m.dev();
    (
        format!("{:02x}:{:02x}", libc::major(dev), libc::minor(dev)),
        m.ino(),
    )
}

/// A FIFO at `path` (mode 0644): opening it for reading blocks until a writer comes.
pub fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("no NUL");
    // SAFETY: `c` is a valid NUL-terminated path.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o644) };
    assert_eq!(
        rc,
        0,
        "mkfifo {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
}

/// `path` as an `OsStr` of raw bytes (convenience for non-UTF-8 arguments).
pub fn os(bytes: &[u8]) -> &std::ffi::OsStr {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::OsStr::from_bytes(bytes)
}
