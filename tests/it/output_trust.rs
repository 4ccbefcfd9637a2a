//! Where `--output` writes and what it leaves: device nodes, FIFOs and `/dev/stdout` are
//! written in place, never replaced; symlinks are followed only when the kernel's
//! `protected_symlinks` rule would follow them; a report keeps the mode and owner of the one
//! it replaces and a new one honours the umask; a write-only directory is no failure; SIGINT
//! and SIGTERM leave no temporary file (with `O_TMPFILE` and without); a closed standard
//! output is an error; an unwritable destination fails before the scan; a failed rename
//! leaves no temporary file.
//!
//! On small fake proc trees ([`FakeProc::apps`]). Runs as root; unprivileged cases drop to
//! `nobody` with `setpriv`, device nodes are made with `mknod` in temporary directories, and
//! `/dev/stdout` is exercised in a private mount namespace with its own `/dev`.

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

const NOBODY: u32 = 65534;
const NOGROUP: u32 = 65534;

// ---------------------------------------------------------------------------------------
// Helpers

fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))
        .unwrap_or_else(|e| panic!("cannot chown {}: {e}", path.display()));
}

/// A temporary directory with `mode` (tempfile makes 0700 ones).
fn tempdir(mode: u32) -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix("pmaps-trust")
        .tempdir()
        .expect("tempdir");
    set_mode(d.path(), mode);
    d
}

/// `pmaps --proc-root ROOT ARGS…` (stdin closed).
fn pmaps(root: &Path, args: &[&OsStr]) -> Command {
    let mut c = pmaps_on(root);
    c.args(args);
    c
}

/// The same, as nobody:nogroup without supplementary groups.
fn pmaps_as_nobody(root: &Path, args: &[&OsStr]) -> Command {
    let mut c = setpriv_nobody(&pmaps_bin());
    c.arg("--proc-root")
        .arg(root)
        .args(args)
        .stdin(Stdio::null());
    c
}

/// `os("x")`, to mix `&str` and `&Path` arguments.
fn os<S: AsRef<OsStr> + ?Sized>(s: &S) -> &OsStr {
    s.as_ref()
}

/// The CSV report of `root` on standard output (the reference to compare with).
fn reference_csv(root: &Path) -> Vec<u8> {
    let out = output(pmaps(root, &[os("-f"), os("csv")]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.starts_with(b"path,kind,device,inode,processes,"));
    out.stdout
}

fn assert_ok_and_quiet(out: &Output, what: &str) {
    assert_eq!(out.status.code(), Some(0), "{what}: {}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{what}: {}", text(&out.stderr));
}

/// One line on stderr starting `pmaps: error: ` and containing each of `parts`, exit 1.
fn assert_one_error(out: &Output, parts: &[&str], what: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{what}: {err}");
    assert_eq!(err.lines().count(), 1, "{what}: {err}");
    assert!(err.starts_with("pmaps: error: "), "{what}: {err}");
    for p in parts {
        assert!(err.contains(p), "{what}: {err:?} lacks {p:?}");
    }
}

fn mknod(path: &Path, kind: &str, major: u32, minor: u32) {
    let out = Command::new("mknod")
        .arg(path)
        .arg(kind)
        .arg(major.to_string())
        .arg(minor.to_string())
        .output()
        .expect("run mknod");
    assert!(out.status.success(), "mknod: {}", text(&out.stderr));
}

fn assert_char_device(path: &Path, major: u32, minor: u32) {
    let m = std::fs::symlink_metadata(path).expect("lstat");
    assert!(
        m.file_type().is_char_device(),
        "{} is no longer a device node: {:?}",
        path.display(),
        m.file_type()
    );
    let rdev = m.rdev();
    assert_eq!(
        (libc::major(rdev), libc::minor(rdev)),
        (major, minor),
        "{}",
        path.display()
    );
}

fn kill(pid: u32, sig: i32) {
    let pid = libc::pid_t::try_from(pid).expect("pid");
    assert!(pid > 0);
    // SAFETY: kill has no memory-safety preconditions; the PID is our own unreaped child.
    unsafe { libc::kill(pid, sig) };
}

/// Whether `status` is death by `sig` (or the shell convention 128 + sig).
fn died_of(status: ExitStatus, sig: i32) -> bool {
    status.signal() == Some(sig) || status.code() == Some(128 + sig)
}

/// Makes `cmd` start with SIGINT and SIGTERM at their default action (a test run from a
/// background shell inherits SIGINT ignored) and, with `deny_tmpfile`, under a seccomp
/// filter that fails `open`/`openat` with `O_TMPFILE` (EOPNOTSUPP, as on a file system
/// without it) and `openat2` (ENOSYS).
fn child_setup(cmd: &mut Command, deny_tmpfile: bool) {
    let filter = tmpfile_filter();
    // SAFETY: the closure runs between fork and exec and calls only async-signal-safe
    // functions (signal, prctl) on data prepared before the fork.
    unsafe {
        cmd.pre_exec(move || {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
            if deny_tmpfile {
                let prog = libc::sock_fprog {
                    len: filter.len() as u16,
                    filter: filter.as_ptr() as *mut libc::sock_filter,
                };
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                    || libc::prctl(
                        libc::PR_SET_SECCOMP,
                        libc::SECCOMP_MODE_FILTER,
                        &prog as *const libc::sock_fprog,
                    ) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// The seccomp program of [`child_setup`].
fn tmpfile_filter() -> Vec<libc::sock_filter> {
    const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ_K: u16 = 0x05 | 0x10;
    const JSET_K: u16 = 0x05 | 0x40;
    const RET_K: u16 = 0x06;
    #[cfg(target_arch = "x86_64")]
    const ARCH: u32 = 0xC000_003E;
    #[cfg(target_arch = "aarch64")]
    const ARCH: u32 = 0xC000_00B7;
    // seccomp_data: nr at 0, arch at 4, args[i] at 16 + 8 i (low half first: little endian).
    let tmpfile_bit = (libc::O_TMPFILE & !libc::O_DIRECTORY) as u32;
    let ld = |k: u32| libc::sock_filter {
        code: LD_W_ABS,
        jt: 0,
        jf: 0,
        k,
    };
    let jump = |code: u16, k: u32, jt: u8, jf: u8| libc::sock_filter { code, jt, jf, k };
    let ret = |k: u32| libc::sock_filter {
        code: RET_K,
        jt: 0,
        jf: 0,
        k,
    };
    let errno = |e: i32| libc::SECCOMP_RET_ERRNO | e as u32;
    #[cfg(target_arch = "x86_64")]
    let open_nr = libc::SYS_open as u32;
    #[cfg(not(target_arch = "x86_64"))]
    let open_nr = u32::MAX;
    vec![
        ld(4),
        jump(JEQ_K, ARCH, 1, 0),
        ret(libc::SECCOMP_RET_ALLOW),
        ld(0),
        jump(JEQ_K, libc::SYS_openat2 as u32, 0, 1),
        ret(errno(libc::ENOSYS)),
        jump(JEQ_K, libc::SYS_openat as u32, 0, 2),
        ld(16 + 8 * 2),
        jump(JSET_K, tmpfile_bit, 3, 4),
        jump(JEQ_K, open_nr, 0, 3),
        ld(16 + 8),
        jump(JSET_K, tmpfile_bit, 0, 1),
        ret(errno(libc::EOPNOTSUPP)),
        ret(libc::SECCOMP_RET_ALLOW),
    ]
}

// ---------------------------------------------------------------------------------------
// 1. Device nodes, FIFOs, standard output, symlinks

/// `-o` a device node (made with mknod in a temporary directory): written in place, never
/// replaced by a regular file, directly or through a symlink; a full device is one error
/// line and exit 1, the node intact.
#[test]
fn a_device_node_is_written_in_place_never_replaced() {
    let tree = FakeProc::apps(3, 5);
    let dir = tempdir(0o755);
    let null = dir.path().join("null");
    let full = dir.path().join("full");
    mknod(&null, "c", 1, 3);
    mknod(&full, "c", 1, 7);
    let link = dir.path().join("link-to-null");
    std::os::unix::fs::symlink("null", &link).expect("symlink");

    for target in [&null, &link] {
        for format in ["table", "csv", "json"] {
            let out = output(pmaps(
                tree.root(),
                &[os("-f"), os(format), os("-o"), target.as_os_str()],
            ));
            assert_ok_and_quiet(&out, &format!("-o {} -f {format}", target.display()));
            assert!(out.stdout.is_empty());
        }
    }
    assert_char_device(&null, 1, 3);
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("lstat")
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_link(&link).expect("readlink"),
        Path::new("null")
    );

    let out = output(pmaps(tree.root(), &[os("-o"), full.as_os_str()]));
    assert_one_error(
        &out,
        &["cannot write", "No space left on device"],
        "-o full",
    );
    assert_char_device(&full, 1, 7);
    assert_eq!(
        leftovers(dir.path(), &["null", "full", "link-to-null"]),
        Vec::<String>::new()
    );
}

/// `-o FIFO` with a reader: the reader gets the whole report, the FIFO stays a FIFO.
#[test]
fn a_fifo_is_written_in_place() {
    let tree = FakeProc::apps(3, 5);
    let expected = reference_csv(tree.root());
    let dir = tempdir(0o755);
    let fifo = dir.path().join("report.fifo");
    let out = Command::new("mkfifo").arg(&fifo).output().expect("mkfifo");
    assert!(out.status.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut got = Vec::new();
            std::fs::File::open(&fifo)
                .expect("open fifo")
                .read_to_end(&mut got)
                .expect("read fifo");
            got
        })
    };
    let mut cmd = pmaps(
        tree.root(),
        &[os("-f"), os("csv"), os("-o"), fifo.as_os_str()],
    );
    let out = run_with_timeout(&mut cmd, Duration::from_secs(60));
    // Checked first: a FIFO replaced by a file would leave the reader waiting for ever.
    assert!(
        std::fs::symlink_metadata(&fifo)
            .expect("lstat")
            .file_type()
            .is_fifo(),
        "the FIFO was replaced"
    );
    assert_ok_and_quiet(&out, "-o fifo");
    assert_eq!(reader.join().expect("reader"), expected);
    assert_eq!(
        leftovers(dir.path(), &["report.fifo"]),
        Vec::<String>::new()
    );
}

fn run_with_timeout(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > limit {
            kill(child.id(), libc::SIGKILL);
            let out = child.wait_with_output().expect("output");
            panic!("{cmd:?} hung: {}", text(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `-o -` and `-o /dev/stdout` are standard output: the same bytes as no `-o`, no file named
/// `-`; `-o /dev/stdout >> log` appends to the log (never replaces or truncates it) and
/// `/dev/stdout` stays a symlink (checked in a private mount namespace with its own /dev).
#[test]
fn dash_and_dev_stdout_are_standard_output() {
    let tree = FakeProc::apps(3, 5);
    let expected = reference_csv(tree.root());
    let cwd = tempdir(0o755);
    for target in ["-", "/dev/stdout"] {
        let mut cmd = pmaps(tree.root(), &[os("-f"), os("csv"), os("-o"), os(target)]);
        cmd.current_dir(cwd.path());
        let out = output(cmd);
        assert_ok_and_quiet(&out, target);
        assert_eq!(text(&out.stdout), text(&expected), "-o {target}");
    }
    assert_eq!(leftovers(cwd.path(), &[]), Vec::<String>::new());

    let script = r#"
        mount -t tmpfs -o mode=755 tmpfs /dev || exit 90
        ln -s /proc/self/fd/1 /dev/stdout
        printf 'first line\n' > "$1/log"
        "$2" --proc-root "$3" -f csv -o /dev/stdout >> "$1/log"
        echo "exit=$?"
        if [ -L /dev/stdout ]; then echo "link=$(readlink /dev/stdout)"; else echo "replaced"; fi
        ls -A /dev | sed 's/^/dev=/'
    "#;
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
        .arg(cwd.path())
        .arg(pmaps_bin())
        .arg(tree.root())
        .stdin(Stdio::null());
    let out = output(cmd);
    assert_eq!(
        text(&out.stdout),
        "exit=0\nlink=/proc/self/fd/1\ndev=stdout\n",
        "{}",
        text(&out.stderr)
    );
    let mut want = b"first line\n".to_vec();
    want.extend_from_slice(&expected);
    assert_eq!(
        text(&std::fs::read(cwd.path().join("log")).expect("read log")),
        text(&want)
    );
}

/// A symlink that may be followed (in a directory that is not sticky, or in a sticky one when
/// the link belongs to the directory's owner) pointing to a regular file: the file it points
/// to is replaced (a new inode, atomically, its mode kept), the link stays.
#[test]
fn a_followable_symlink_to_a_file_replaces_the_file_not_the_link() {
    let tree = FakeProc::apps(3, 5);
    let expected = reference_csv(tree.root());
    let base = tempdir(0o755);
    let real_dir = base.path().join("real");
    std::fs::create_dir(&real_dir).expect("mkdir");
    set_mode(&real_dir, 0o755);
    let real = real_dir.join("report.csv");

    let plain = base.path().join("links");
    std::fs::create_dir(&plain).expect("mkdir");
    set_mode(&plain, 0o755);
    // A sticky world-writable directory owned by nobody, with nobody's link: followed by
    // root (the link's owner is the directory's owner).
    let sticky = base.path().join("sticky");
    std::fs::create_dir(&sticky).expect("mkdir");
    set_mode(&sticky, 0o1777);
    chown(&sticky, NOBODY, NOGROUP);

    let cases = [
        (
            plain.join("report.csv"),
            PathBuf::from("../real/report.csv"),
        ),
        (sticky.join("report.csv"), real.clone()),
    ];
    for (link, points_to) in &cases {
        std::fs::write(&real, b"old report\n").expect("write");
        set_mode(&real, 0o640);
        std::os::unix::fs::symlink(points_to, link).expect("symlink");
        if link.starts_with(&sticky) {
            chown(link, NOBODY, NOGROUP);
        }
        let before = std::fs::metadata(&real).expect("stat");
        let out = output(pmaps(
            tree.root(),
            &[os("-f"), os("csv"), os("-o"), link.as_os_str()],
        ));
        assert_ok_and_quiet(&out, &link.display().to_string());
        let m = std::fs::symlink_metadata(link).expect("lstat link");
        assert!(
            m.file_type().is_symlink(),
            "{}: the link was replaced",
            link.display()
        );
        assert_eq!(&std::fs::read_link(link).expect("readlink"), points_to);
        assert_eq!(std::fs::read(&real).expect("read"), expected);
        let after = std::fs::metadata(&real).expect("stat");
        assert_ne!(
            after.ino(),
            before.ino(),
            "replaced, not rewritten in place"
        );
        assert_eq!(after.mode() & 0o7777, 0o640);
        assert_eq!(leftovers(&real_dir, &["report.csv"]), Vec::<String>::new());
        std::fs::remove_file(link).expect("rm link");
    }
}

/// What another user plants in a sticky world-writable directory (a FIFO, a world-readable
/// file of theirs) is replaced by root's own new file: never written into (the FIFO would
/// hang the run and hand the report to its reader), its owner and mode never taken over.
#[test]
fn a_fifo_or_file_planted_in_a_sticky_directory_is_replaced() {
    let tree = FakeProc::apps(3, 5);
    let expected = reference_csv(tree.root());
    let base = tempdir(0o755);
    let sticky = base.path().join("shared-tmp");
    std::fs::create_dir(&sticky).expect("mkdir");
    set_mode(&sticky, 0o1777);
    let fifo = sticky.join("report.csv");
    let file = sticky.join("other.csv");
    let mk = |args: &[&OsStr]| {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
            .args(args);
        let out = output(c);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    };
    mk(&[os("mkfifo"), fifo.as_os_str()]);
    mk(&[
        os("sh"),
        os("-c"),
        os("umask 0; echo mine > \"$0\""),
        file.as_os_str(),
    ]);
    assert_eq!(
        std::fs::metadata(&file).expect("stat").mode() & 0o777,
        0o666
    );
    for target in [&fifo, &file] {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "umask 022; exec \"$@\"", "sh"])
            .arg(pmaps_bin())
            .arg("--proc-root")
            .arg(tree.root())
            .args(["-f", "csv", "-o"])
            .arg(target)
            .stdin(Stdio::null());
        let out = run_with_timeout(&mut cmd, Duration::from_secs(60));
        assert_ok_and_quiet(&out, &target.display().to_string());
        let m = std::fs::symlink_metadata(target).expect("lstat");
        assert!(m.file_type().is_file());
        assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (0, 0, 0o644));
        assert_eq!(std::fs::read(target).expect("read"), expected);
    }
    assert_eq!(
        leftovers(&sticky, &["report.csv", "other.csv"]),
        Vec::<String>::new()
    );
}

// ---------------------------------------------------------------------------------------
// 2. Mode and owner

/// A new report gets 0666 & ~umask.
#[test]
fn a_new_report_gets_0666_less_the_umask() {
    let tree = FakeProc::apps(2, 3);
    let dir = tempdir(0o755);
    for (umask, mode) in [
        ("077", 0o600),
        ("002", 0o664),
        ("022", 0o644),
        ("027", 0o640),
    ] {
        let target = dir.path().join(format!("report-{umask}.csv"));
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "umask \"$0\"; exec \"$@\"", umask])
            .arg(pmaps_bin())
            .arg("--proc-root")
            .arg(tree.root())
            .args(["-f", "csv", "-o"])
            .arg(&target)
            .stdin(Stdio::null());
        let out = output(cmd);
        assert_ok_and_quiet(&out, umask);
        let m = std::fs::metadata(&target).expect("stat");
        assert_eq!(m.mode() & 0o7777, mode, "umask {umask}");
        assert_eq!(m.uid(), 0);
    }
}

/// A replaced report keeps its permission bits and, when pmaps runs as root, its owner and
/// group; as an ordinary user it keeps its permission bits.
#[test]
fn a_replaced_report_keeps_its_mode_and_owner() {
    let tree = FakeProc::apps(2, 3);
    let expected = reference_csv(tree.root());
    let dir = tempdir(0o755);
    for (mode, uid, gid) in [
        (0o640, NOBODY, NOGROUP),
        (0o600, 0, 0),
        (0o750, NOBODY, 0),
        (0o604, 0, NOGROUP),
    ] {
        let target = dir.path().join("report.csv");
        std::fs::write(&target, b"old\n").expect("write");
        chown(&target, uid, gid);
        set_mode(&target, mode);
        let before = std::fs::metadata(&target).expect("stat").ino();
        let out = output(pmaps(
            tree.root(),
            &[os("-f"), os("csv"), os("-o"), target.as_os_str()],
        ));
        assert_ok_and_quiet(&out, &format!("{mode:o}"));
        let m = std::fs::metadata(&target).expect("stat");
        assert_eq!((m.mode() & 0o7777, m.uid(), m.gid()), (mode, uid, gid));
        assert_ne!(m.ino(), before);
        assert_eq!(std::fs::read(&target).expect("read"), expected);
        assert_eq!(leftovers(dir.path(), &["report.csv"]), Vec::<String>::new());
    }

    // As nobody, in nobody's own directory.
    let own = tempdir(0o755);
    chown(own.path(), NOBODY, NOGROUP);
    let target = own.path().join("report.csv");
    std::fs::write(&target, b"old\n").expect("write");
    chown(&target, NOBODY, NOGROUP);
    set_mode(&target, 0o604);
    let out = output(pmaps_as_nobody(
        tree.root(),
        &[os("-f"), os("csv"), os("-o"), target.as_os_str()],
    ));
    assert_ok_and_quiet(&out, "as nobody");
    let m = std::fs::metadata(&target).expect("stat");
    assert_eq!(
        (m.mode() & 0o7777, m.uid(), m.gid()),
        (0o604, NOBODY, NOGROUP)
    );
    assert_eq!(std::fs::read(&target).expect("read"), expected);
}

// ---------------------------------------------------------------------------------------
// 3. A directory the caller can write but not read

/// A write-only directory (mode 0300, nobody's): the report is written, exit 0, nothing on
/// stderr (the directory cannot be opened to sync it, which is no failure to write), also
/// when a report is already there; no temporary file is left.
#[test]
fn a_write_only_directory_is_no_failure() {
    let tree = FakeProc::apps(2, 3);
    let expected = reference_csv(tree.root());
    let base = tempdir(0o755);
    let dir = base.path().join("drop");
    std::fs::create_dir(&dir).expect("mkdir");
    chown(&dir, NOBODY, NOGROUP);
    set_mode(&dir, 0o300);
    let target = dir.join("report.csv");
    for round in 0..2 {
        for deny_tmpfile in [false, true] {
            let mut cmd = pmaps_as_nobody(
                tree.root(),
                &[os("-f"), os("csv"), os("-o"), target.as_os_str()],
            );
            child_setup(&mut cmd, deny_tmpfile);
            let out = output(cmd);
            assert_ok_and_quiet(
                &out,
                &format!("round {round}, O_TMPFILE denied: {deny_tmpfile}"),
            );
            assert_eq!(std::fs::read(&target).expect("read"), expected);
            let m = std::fs::metadata(&target).expect("stat");
            assert_eq!(m.uid(), NOBODY);
            assert_eq!(leftovers(&dir, &["report.csv"]), Vec::<String>::new());
        }
    }
}

// ---------------------------------------------------------------------------------------
// 4. Signals

/// A temporary file of pmaps `pid` writing into `dir` that already holds data: a named
/// `.pmaps-*` entry in `dir`, or an unnamed `O_TMPFILE` (`/proc/PID/fd/N` shows
/// `DIR/#INODE (deleted)`). With `any_size`, also an empty one.
fn temp_being_written(dir: &Path, pid: u32, any_size: bool) -> bool {
    let big = |p: &Path| any_size || std::fs::metadata(p).is_ok_and(|m| m.len() > 0);
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(".pmaps-") && big(&e.path()) {
                return true;
            }
        }
    }
    let prefix = format!("{}/#", dir.display());
    if let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for fd in fds.flatten() {
            if let Ok(to) = std::fs::read_link(fd.path())
                && to.to_string_lossy().starts_with(&prefix)
                && big(&fd.path())
            {
                return true;
            }
        }
    }
    false
}

enum Moment {
    /// While the report is being written (its temporary file holds data).
    Write,
    /// While the processes are read (after the destination was opened).
    Scan,
}

/// Runs pmaps on `tree` into `dir/report.json`, stops it at `moment` with SIGSTOP (checking
/// that its temporary file is there), sends `sig` and SIGCONT, and returns its exit status;
/// `None` when the moment was missed (pmaps finished first).
fn interrupt(
    tree: &FakeProc,
    dir: &Path,
    sig: i32,
    moment: &Moment,
    deny_tmpfile: bool,
) -> Option<ExitStatus> {
    let target = dir.join("report.json");
    let mut cmd = pmaps(
        tree.root(),
        &[
            os("-g"),
            os("file,process"),
            os("-f"),
            os("json"),
            os("-o"),
            target.as_os_str(),
        ],
    );
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    child_setup(&mut cmd, deny_tmpfile);
    let mut child: Child = cmd.spawn().expect("spawn pmaps");
    let pid = child.id();
    let start = Instant::now();
    let caught = loop {
        if child.try_wait().expect("try_wait").is_some() {
            break false;
        }
        let seen = match moment {
            Moment::Write => temp_being_written(dir, pid, false),
            Moment::Scan => temp_being_written(dir, pid, true),
        };
        if seen {
            kill(pid, libc::SIGSTOP);
            // Still there once stopped: the signal lands while the temporary file exists.
            if temp_being_written(dir, pid, matches!(moment, Moment::Scan)) {
                break true;
            }
            kill(pid, libc::SIGCONT);
        }
        if start.elapsed() > Duration::from_secs(120) {
            kill(pid, libc::SIGKILL);
            let _ = child.wait();
            panic!("pmaps did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_micros(200));
    };
    if !caught {
        let _ = child.wait();
        return None;
    }
    kill(pid, sig);
    kill(pid, libc::SIGCONT);
    Some(child.wait().expect("wait"))
}

fn signal_leaves_no_temp_file(moment: Moment, deny_tmpfile: bool) {
    let tree = FakeProc::apps(40, 300);
    let dir = tempdir(0o755);
    let target = dir.path().join("report.json");
    let old = b"{\"old\": true}\n";
    let mut hits = 0;
    for attempt in 0..40 {
        let sig = if attempt % 2 == 0 {
            libc::SIGTERM
        } else {
            libc::SIGINT
        };
        std::fs::write(&target, old).expect("write old report");
        let Some(status) = interrupt(&tree, dir.path(), sig, &moment, deny_tmpfile) else {
            continue;
        };
        hits += 1;
        assert!(
            died_of(status, sig),
            "attempt {attempt}: signal {sig}: {status:?}"
        );
        assert_eq!(
            leftovers(dir.path(), &["report.json"]),
            Vec::<String>::new(),
            "attempt {attempt}: signal {sig}"
        );
        // The old report, or (when the rename won the race with the signal) the whole new one.
        let bytes = std::fs::read(&target).expect("read target");
        if bytes != old {
            let doc: serde_json::Value =
                serde_json::from_slice(&bytes).expect("target is neither old nor new");
            assert!(doc["rows"].is_array());
        }
        if hits >= 4 {
            break;
        }
    }
    eprintln!("signal sent {hits} times at the chosen moment");
    assert!(hits >= 2, "the moment was caught only {hits} times");
}

/// SIGTERM / SIGINT while the report is written (O_TMPFILE where the file system has it):
/// no temporary file is left, pmaps dies of the signal, the target is old or new.
#[test]
fn a_signal_while_writing_leaves_no_temp_file() {
    signal_leaves_no_temp_file(Moment::Write, false);
}

/// The same where O_TMPFILE is unsupported (denied by a seccomp filter): the named
/// `.pmaps-*.tmp` is removed before pmaps dies.
#[test]
fn without_o_tmpfile_a_signal_removes_the_named_temp_file() {
    signal_leaves_no_temp_file(Moment::Write, true);
}

/// SIGTERM / SIGINT during the scan, after the destination was opened: nothing left.
#[test]
fn a_signal_during_the_scan_leaves_nothing() {
    signal_leaves_no_temp_file(Moment::Scan, false);
}

// ---------------------------------------------------------------------------------------
// 5. A closed standard output

/// `pmaps >&-` (and `pmaps show >&-`, `-o - >&-`): one line on stderr, exit 1. With
/// `-o FILE` a closed stdout does not matter.
#[test]
fn a_closed_stdout_is_an_error() {
    let tree = FakeProc::apps(2, 3);
    let dir = tempdir(0o755);
    let file = dir.path().join("report.csv");
    let cases: [(&[&str], Option<u8>); 4] = [
        (&["-f", "csv"], None),
        (&["-f", "csv", "-o", "-"], None),
        (&["show", "100"], None),
        (&["-f", "csv", "-o", "FILE"], Some(0)),
    ];
    for (args, want) in cases {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "exec \"$@\" >&-", "sh"])
            .arg(pmaps_bin())
            .arg("--proc-root")
            .arg(tree.root());
        for a in args {
            if *a == "FILE" {
                cmd.arg(&file);
            } else {
                cmd.arg(a);
            }
        }
        cmd.stdin(Stdio::null());
        let out = output(cmd);
        match want {
            None => assert_one_error(&out, &["standard output is closed"], &format!("{args:?}")),
            Some(code) => {
                assert_eq!(
                    out.status.code(),
                    Some(i32::from(code)),
                    "{}",
                    text(&out.stderr)
                );
                assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
                assert!(
                    std::fs::read(&file)
                        .expect("read")
                        .starts_with(b"path,kind,")
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// 6. Failing before the scan

/// An unwritable destination fails before the scan: with a proc root that does not exist
/// either, the one error line is about the output (not "cannot list processes"), for the
/// report and for `pmaps show`; a read-only directory as nobody is "Permission denied".
#[test]
fn an_unwritable_output_fails_before_the_scan() {
    let missing_root = Path::new("/nonexistent-pmaps-proc-root");
    let missing_dir = Path::new("/nonexistent-pmaps-dir/report.csv");
    for args in [
        vec![os("-o"), missing_dir.as_os_str()],
        vec![os("-g"), os("process"), os("-o"), missing_dir.as_os_str()],
        vec![os("show"), os("1"), os("-o"), missing_dir.as_os_str()],
    ] {
        let out = output(pmaps(missing_root, &args));
        assert_one_error(
            &out,
            &[
                "cannot write /nonexistent-pmaps-dir/report.csv",
                "No such file or directory",
            ],
            &format!("{args:?}"),
        );
    }

    let tree = FakeProc::apps(2, 3);
    let ro = tempdir(0o555);
    let target = ro.path().join("report.csv");
    for deny_tmpfile in [false, true] {
        let mut cmd = pmaps_as_nobody(tree.root(), &[os("-o"), target.as_os_str()]);
        child_setup(&mut cmd, deny_tmpfile);
        let out = output(cmd);
        assert_one_error(
            &out,
            &["cannot write", "Permission denied"],
            "read-only dir",
        );
        assert_eq!(leftovers(ro.path(), &[]), Vec::<String>::new());
    }
}

// ---------------------------------------------------------------------------------------
// A rename that cannot happen

/// As nobody, into a sticky directory where the target is root's: the rename is refused
/// (EPERM); one error line, exit 1, root's file intact, no temporary file left (with
/// O_TMPFILE and with a named temporary file).
#[test]
fn a_refused_rename_leaves_no_temp_file() {
    let tree = FakeProc::apps(2, 3);
    let base = tempdir(0o755);
    let sticky = base.path().join("shared-tmp");
    std::fs::create_dir(&sticky).expect("mkdir");
    set_mode(&sticky, 0o1777);
    let target = sticky.join("report.csv");
    std::fs::write(&target, b"root's report\n").expect("write");
    set_mode(&target, 0o666);
    for deny_tmpfile in [false, true] {
        let mut cmd = pmaps_as_nobody(
            tree.root(),
            &[os("-f"), os("csv"), os("-o"), target.as_os_str()],
        );
        child_setup(&mut cmd, deny_tmpfile);
        let out = output(cmd);
        assert_one_error(
            &out,
            &["cannot write", "report.csv", "Operation not permitted"],
            &format!("O_TMPFILE denied: {deny_tmpfile}"),
        );
        assert_eq!(std::fs::read(&target).expect("read"), b"root's report\n");
        assert_eq!(leftovers(&sticky, &["report.csv"]), Vec::<String>::new());
    }
}

/// The seccomp filter really takes O_TMPFILE away (so the fallback tests test the fallback):
/// pmaps under it, stopped during the scan, holds no unnamed temporary file.
#[test]
fn the_seccomp_filter_denies_o_tmpfile() {
    let tree = FakeProc::apps(40, 300);
    let dir = tempdir(0o755);
    let target = dir.path().join("report.json");
    for deny_tmpfile in [false, true] {
        let mut cmd = pmaps(
            tree.root(),
            &[
                os("-g"),
                os("file,process"),
                os("-f"),
                os("json"),
                os("-o"),
                target.as_os_str(),
            ],
        );
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        child_setup(&mut cmd, deny_tmpfile);
        let mut child = cmd.spawn().expect("spawn");
        let mut seen = false;
        while child.try_wait().expect("try_wait").is_none() {
            let prefix = format!("{}/#", dir.path().display());
            if let Ok(fds) = std::fs::read_dir(format!("/proc/{}/fd", child.id())) {
                for fd in fds.flatten() {
                    if std::fs::read_link(fd.path())
                        .is_ok_and(|to| to.to_string_lossy().starts_with(&prefix))
                    {
                        seen = true;
                    }
                }
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        assert_eq!(child.wait().expect("wait").code(), Some(0));
        assert_eq!(seen, !deny_tmpfile, "O_TMPFILE denied: {deny_tmpfile}");
        assert_eq!(
            leftovers(dir.path(), &["report.json"]),
            Vec::<String>::new()
        );
    }
}
