//! Files the tests make: data files for helpers to map, directories nobody can enter, FIFOs,
//! a file whose path is longer than PATH_MAX.

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

/// The names in `dir` other than `keep`, sorted (what a run left behind).
pub fn leftovers(dir: &Path, keep: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !keep.contains(&n.as_str()))
        .collect();
    names.sort();
    names
}

/// `path` as an `OsStr` of raw bytes (convenience for non-UTF-8 arguments).
pub fn os(bytes: &[u8]) -> &std::ffi::OsStr {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::OsStr::from_bytes(bytes)
}

/// A file whose path is longer than PATH_MAX (made by [`make_deep_file`]).
pub struct DeepFile {
    /// The whole path.
    pub path: Vec<u8>,
    /// The directory it was made in.
    base: Vec<u8>,
    /// The directories under the base, in order, down to the file's.
    components: Vec<Vec<u8>>,
}

impl DeepFile {
    /// The maphelper arguments that map it shared: `--chdir` to the base, then down six
    /// components at a time (each step shorter than PATH_MAX), then `--map-shared deep-file`.
    pub fn map_args(&self) -> Vec<Vec<u8>> {
        let mut args = vec![b"--chdir".to_vec(), self.base.clone()];
        for chunk in self.components.chunks(6) {
            args.push(b"--chdir".to_vec());
            args.push(chunk.join(&b'/'));
        }
        args.push(b"--map-shared".to_vec());
        args.push(b"deep-file".to_vec());
        args
    }
}

/// Creates `<base>/deep/<component>/.../deep-file` (8 KiB) through directory fds: the path
/// is longer than PATH_MAX, so no single path-based call can reach it.
pub fn make_deep_file(base: &Path) -> DeepFile {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    let cstr = |b: &[u8]| std::ffi::CString::new(b).expect("no NUL");
    let open_dir = |at: libc::c_int, name: &[u8]| -> OwnedFd {
        let c = cstr(name);
        // SAFETY: valid NUL-terminated name; mkdirat/openat have no other preconditions.
        unsafe {
            libc::mkdirat(at, c.as_ptr(), 0o755);
            let fd = libc::openat(at, c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY);
            assert!(fd >= 0, "openat: {}", std::io::Error::last_os_error());
            OwnedFd::from_raw_fd(fd)
        }
    };
    let base = base.as_os_str().as_bytes().to_vec();
    let base_c = cstr(&base);
    // SAFETY: valid path.
    let base_fd = unsafe { libc::open(base_c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY) };
    assert!(base_fd >= 0);
    // SAFETY: fresh fd, owned here.
    let mut dir = unsafe { OwnedFd::from_raw_fd(base_fd) };
    let mut components = vec![b"deep".to_vec()];
    for i in 0..18 {
        components.push(format!("{i:02}{}", "d".repeat(238)).into_bytes());
    }
    let mut path = base.clone();
    for c in &components {
        dir = open_dir(dir.as_raw_fd(), c);
        path.push(b'/');
        path.extend_from_slice(c);
    }
    let name = cstr(b"deep-file");
    // SAFETY: valid name; the fd is closed right after writing.
    unsafe {
        let fd = libc::openat(
            dir.as_raw_fd(),
            name.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
            0o644,
        );
        assert!(fd >= 0);
        let data = vec![7u8; 8192];
        assert_eq!(libc::write(fd, data.as_ptr().cast(), data.len()), 8192);
        libc::close(fd);
    }
    path.extend_from_slice(b"/deep-file");
    assert!(path.len() > 4096, "deep path is only {} bytes", path.len());
    DeepFile {
        path,
        base,
        components,
    }
}
