//! Reports over a fake proc tree (`--proc-root`), compared whole: the table text, the CSV text
//! and the JSON document parsed into typed structs.
//!
//! The tree (every size in kB, as the kernel prints them; the reports show bytes):
//!
//! | pid | comm | uid | what |
//! |---|---|---|---|
//! | 100 | alpha | root | libshared (2 segments), [heap], anonymous (with 8 kB swapped), SysV shm, [stack], [vdso] |
//! | 200 | beta | nobody | libshared, SysV shm (shared with 100), memfd, a path with `,` and `"`, a deleted file, [heap], [vdso] |
//! | 300 | bash | root | libshared, a non-UTF-8 path, anonymous, [stack]; command line `-bash` |
//! | 400 | @old | root | one file, from a kernel without `SwapPss:` (unknown, not 0) |
//! | 500 | zed | root | zombie (state Z) |
//! | 2 | kthreadd | root | kernel thread (PF_KTHREAD) |
//! | 600 | | | a PID directory without `stat`: ENOENT, vanished |
//! | 700 | locked | root | `smaps` mode 000: denied when pmaps runs as nobody (see [`run_denied`]) |
//! | 800 | pmaps | root | the `self` link points here: excluded |
//! | 900 | broken | root | a malformed `smaps` value: error |
//!
//! Each process also has `maps` (the same headers) and, for 100-400, an `smaps_rollup` whose
//! PSS is the unrounded sum (1 kB above the per-mapping sum for 100 and 300, as the kernel's
//! per-mapping truncation makes it) and a stat `vsize` different from the sum of `Size:`, so
//! the tests can tell which file each number came from.

mod common;

use std::ffi::OsString;
use std::path::Path;
use std::process::Output;

use common::*;
use serde::Deserialize;

const KB: u64 = 1024;

/// One mapping of the fake tree: the header fields and the smaps values (kB).
#[derive(Clone, Copy)]
struct Map {
    start: u64,
    size: u64,
    perms: &'static str,
    inode: u64,
    path: &'static [u8],
    rss: u64,
    pss: u64,
    shared_clean: u64,
    shared_dirty: u64,
    private_clean: u64,
    private_dirty: u64,
    swap: u64,
    swap_pss: u64,
}

const ZERO: Map = Map {
    start: 0,
    size: 0,
    perms: "r--p",
    inode: 0,
    path: b"",
    rss: 0,
    pss: 0,
    shared_clean: 0,
    shared_dirty: 0,
    private_clean: 0,
    private_dirty: 0,
    swap: 0,
    swap_pss: 0,
};

const LIB: &[u8] = b"/usr/lib/libshared.so.1";
const SYSV: &[u8] = b"/SYSV0000abcd (deleted)";
const MEMFD: &[u8] = b"/memfd:cache (deleted)";
const QUOTED: &[u8] = b"/tmp/data,\"quoted\".db";
const DELETED: &[u8] = b"/var/tmp/old.log (deleted)";
const NON_UTF8: &[u8] = b"/opt/caf\xe9/lib.so";
const OLD: &[u8] = b"/usr/lib/libold.so";

fn lib_text(start: u64) -> Map {
    Map {
        start,
        size: 1024,
        perms: "r-xp",
        inode: 1001,
        path: LIB,
        rss: 300,
        pss: 100,
        shared_clean: 300,
        ..ZERO
    }
}

fn lib_data(start: u64) -> Map {
    Map {
        start,
        size: 64,
        perms: "r--p",
        inode: 1001,
        path: LIB,
        rss: 60,
        pss: 20,
        shared_clean: 60,
        ..ZERO
    }
}

fn vdso(start: u64) -> Map {
    Map {
        start,
        size: 8,
        perms: "r-xp",
        path: b"[vdso]",
        rss: 4,
        shared_clean: 4,
        ..ZERO
    }
}

fn sysv(start: u64) -> Map {
    Map {
        start,
        size: 1024,
        perms: "rw-s",
        inode: 43981,
        path: SYSV,
        rss: 512,
        pss: 256,
        shared_dirty: 512,
        ..ZERO
    }
}

fn private(start: u64, path: &'static [u8], size: u64, rss: u64, dirty: bool) -> Map {
    Map {
        start,
        size,
        perms: if dirty { "rw-p" } else { "r--p" },
        inode: if path.starts_with(b"/") {
            2000 + start % 997
        } else {
            0
        },
        path,
        rss,
        pss: rss,
        private_clean: if dirty { 0 } else { rss },
        private_dirty: if dirty { rss } else { 0 },
        ..ZERO
    }
}

fn maps_100() -> Vec<Map> {
    vec![
        lib_text(0x7f00_0000_0000),
        lib_data(0x7f00_0010_0000),
        private(0x5600_0000_0000, b"[heap]", 132, 64, true),
        Map {
            swap: 8,
            swap_pss: 8,
            ..private(0x7f10_0000_0000, b"", 2048, 1024, true)
        },
        sysv(0x7f20_0000_0000),
        private(0x7ffc_0000_0000, b"[stack]", 132, 16, true),
        vdso(0x7ffd_0000_0000),
    ]
}

fn maps_200() -> Vec<Map> {
    vec![
        lib_text(0x7f00_0000_0000),
        lib_data(0x7f00_0010_0000),
        sysv(0x7f20_0000_0000),
        Map {
            perms: "rw-s",
            inode: 77,
            ..private(0x7f30_0000_0000, MEMFD, 512, 512, true)
        },
        private(0x7f40_0000_0000, QUOTED, 16, 16, false),
        private(0x7f50_0000_0000, DELETED, 40, 40, false),
        private(0x5600_0000_0000, b"[heap]", 264, 128, true),
        vdso(0x7ffd_0000_0000),
    ]
}

/// (Its two library segments are not adjacent: still one file and one process.)
fn maps_300() -> Vec<Map> {
    vec![
        lib_text(0x7f00_0000_0000),
        private(0x7f00_0010_0000, NON_UTF8, 32, 32, false),
        lib_data(0x7f00_0011_0000),
        private(0x7f10_0000_0000, b"", 512, 256, true),
        private(0x7ffc_0000_0000, b"[stack]", 132, 12, true),
    ]
}

fn maps_400() -> Vec<Map> {
    vec![private(0x7f70_0000_0000, OLD, 100, 20, false)]
}

fn header(m: &Map) -> Vec<u8> {
    let dev = if m.inode == 0 { "00:00" } else { "fe:00" };
    map_header(
        m.start,
        m.start + m.size * KB,
        m.perms,
        0,
        dev,
        m.inode,
        m.path,
    )
}

fn smaps_text(maps: &[Map]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in maps {
        out.extend(full_smaps_record(
            header(m),
            m.size,
            m.rss,
            m.pss,
            m.shared_clean,
            m.shared_dirty,
            m.private_clean,
            m.private_dirty,
            m.swap,
            m.swap_pss,
        ));
    }
    out
}

/// smaps of a kernel older than 4.3: no `SwapPss:` line.
fn smaps_text_without_swap_pss(maps: &[Map]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in maps {
        out.extend(smaps_record(
            header(m),
            &[
                ("Size", m.size),
                ("Rss", m.rss),
                ("Pss", m.pss),
                ("Shared_Clean", m.shared_clean),
                ("Shared_Dirty", m.shared_dirty),
                ("Private_Clean", m.private_clean),
                ("Private_Dirty", m.private_dirty),
                ("Referenced", m.rss),
                ("Anonymous", 0),
                ("Swap", m.swap),
                ("Locked", 0),
            ],
        ));
        out.extend_from_slice(b"VmFlags: rd mr mw me \n");
    }
    out
}

fn maps_text(maps: &[Map]) -> Vec<u8> {
    maps.iter().flat_map(header).collect()
}

/// The rollup the kernel would print for `maps`: sums, PSS `extra_pss` kB above the sum of
/// the truncated per-mapping values, the rollup-only `Pss_*` keys (with values that would
/// show if they were mistaken for `Pss:`), no `Size:`.
fn rollup_text(maps: &[Map], extra_pss: u64, with_swap_pss: bool) -> Vec<u8> {
    let sum = |f: fn(&Map) -> u64| maps.iter().map(f).sum::<u64>();
    let first = maps.first().map_or(0, |m| m.start);
    let mut out = format!("{first:08x}-7ffffffff000 ---p 00000000 00:00 0").into_bytes();
    out.resize(73, b' ');
    out.extend_from_slice(b"[rollup]\n");
    let mut kv = vec![
        ("Rss", sum(|m| m.rss)),
        ("Pss", sum(|m| m.pss) + extra_pss),
        ("Pss_Dirty", 99_999),
        ("Pss_Anon", 77_777),
        ("Pss_File", 88_888),
        ("Pss_Shmem", 66_666),
        ("Shared_Clean", sum(|m| m.shared_clean)),
        ("Shared_Dirty", sum(|m| m.shared_dirty)),
        ("Private_Clean", sum(|m| m.private_clean)),
        ("Private_Dirty", sum(|m| m.private_dirty)),
        ("Referenced", sum(|m| m.rss)),
        ("Anonymous", 0),
        ("Swap", sum(|m| m.swap)),
    ];
    if with_swap_pss {
        kv.push(("SwapPss", sum(|m| m.swap_pss)));
    }
    kv.push(("Locked", 0));
    out.extend(smaps_record(b"", &kv).into_iter().skip(1));
    out
}

/// Sets a file's mode (root-owned files of mode 000 stop nobody, not root).
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

fn tree() -> FakeProc {
    let fake = FakeProc::new();
    let user = |pid: u32,
                comm: &[u8],
                uid: u32,
                cmdline: &[u8],
                maps: Vec<Map>,
                vsize_kb: u64,
                extra_pss: u64| {
        let p = fake
            .process(pid)
            .comm(comm)
            .uid(uid)
            .cmdline(cmdline)
            .vsize(vsize_kb * KB)
            .maps(&maps_text(&maps));
        let p = if pid == 400 {
            p.smaps(&smaps_text_without_swap_pss(&maps))
                .smaps_rollup(&rollup_text(&maps, extra_pss, false))
        } else {
            p.smaps(&smaps_text(&maps))
                .smaps_rollup(&rollup_text(&maps, extra_pss, true))
        };
        p.write();
    };
    user(100, b"alpha", 0, b"alpha\0--serve\0", maps_100(), 4424, 1);
    user(
        200,
        b"beta",
        65534,
        b"/usr/bin/beta\0-x\0",
        maps_200(),
        2944,
        0,
    );
    user(300, b"bash", 0, b"-bash\0", maps_300(), 1760, 1);
    user(400, b"@old", 0, b"", maps_400(), 96, 0);

    fake.process(500).comm(b"zed").state(b'Z').write();
    fake.process(2)
        .comm(b"kthreadd")
        .ppid(0)
        .flags(PF_KTHREAD | 0x8040)
        .write();
    fake.process(600).no_stat().write();
    let locked = maps_400();
    let dir = fake
        .process(700)
        .comm(b"locked")
        .smaps(&smaps_text(&locked))
        .smaps_rollup(&rollup_text(&locked, 0, true))
        .maps(&maps_text(&locked))
        .write();
    for f in ["smaps", "smaps_rollup", "maps"] {
        chmod(&dir.join(f), 0o000);
    }
    let own = [private(
        0x5500_0000_0000,
        b"/usr/bin/pmaps",
        400,
        400,
        false,
    )];
    fake.process(800)
        .comm(b"pmaps")
        .smaps(&smaps_text(&own))
        .smaps_rollup(&rollup_text(&own, 0, true))
        .maps(&maps_text(&own))
        .write();
    fake.self_pid(800);
    let mut broken = smaps_text(&maps_400());
    broken.extend_from_slice(&header(&private(0x7f80_0000_0000, b"", 8, 8, true)));
    broken.extend_from_slice(b"Size:                  8 kB\nRss:                abc kB\n");
    fake.process(900)
        .comm(b"broken")
        .smaps(&broken)
        .smaps_rollup(&rollup_text(&maps_400(), 0, true))
        .maps(&maps_text(&maps_400()))
        .write();
    fake
}

/// Every process whose read is expected to succeed or end in an expected outcome.
const GOOD: &str = "2,100,200,300,400,500,600";

fn args(fake: &FakeProc, extra: &[&str]) -> Vec<OsString> {
    let mut a: Vec<OsString> = vec!["--proc-root".into(), fake.root().into()];
    a.extend(extra.iter().map(OsString::from));
    a
}

fn run(fake: &FakeProc, extra: &[&str]) -> Output {
    run_pmaps(args(fake, extra))
}

/// Runs pmaps as nobody, for whom the mode-000 files of pid 700 fail with EACCES, as another
/// user's `/proc/PID/smaps` does. (Root reads a mode-000 file, so the denial is simulated
/// with file permissions; the EACCES and the path to it through pmaps are real.)
fn run_denied(fake: &FakeProc, extra: &[&str]) -> Output {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        run_pmaps_as_nobody(args(fake, extra))
    } else {
        run(fake, extra)
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is not UTF-8")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The output of a run expected to exit with `code`.
fn expect_exit(o: &Output, code: i32) -> String {
    assert_eq!(
        o.status.code(),
        Some(code),
        "exit status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        stderr(o)
    );
    stdout(o)
}

/// CSV data lines from rows of fields (each field already in CSV form), CRLF-terminated.
fn csv(header: &str, rows: &[&str]) -> String {
    let mut s = format!("{header}\r\n");
    for r in rows {
        s.push_str(r);
        s.push_str("\r\n");
    }
    s
}

/// `kB` values of a CSV row turned into bytes: `k(1024)` = `1048576`.
fn k(kb: u64) -> u64 {
    kb * KB
}

/// The last `; 0.00 s` of a coverage line, which varies from run to run.
fn without_duration(s: &str) -> String {
    let mut out = String::new();
    for line in s.split_inclusive('\n') {
        match line.rfind("; ") {
            Some(i) if line.trim_end().ends_with(" s") && line[i + 2..].trim_end().len() < 12 => {
                out.push_str(&line[..i]);
                out.push_str("; <t> s\n");
            }
            _ => out.push_str(line),
        }
    }
    out
}

const FILE_HEADER: &str = "path,kind,processes,mappings,size_bytes,rss_bytes,pss_bytes,uss_bytes,shared_bytes,swap_bytes,swap_pss_bytes";
const PROCESS_HEADER: &str = "pid,user,command,mappings,size_bytes,rss_bytes,pss_bytes,uss_bytes,shared_bytes,swap_bytes,swap_pss_bytes";

/// One file-view CSV row: path and kind as they appear in CSV, then numbers in kB.
#[allow(clippy::too_many_arguments)]
fn file_row(
    path: &str,
    kind: &str,
    procs: u64,
    maps: u64,
    size: u64,
    rss: u64,
    pss: u64,
    uss: u64,
    shared: u64,
    swap: u64,
    swap_pss: Option<u64>,
) -> String {
    let swap_pss = swap_pss.map_or(String::new(), |v| k(v).to_string());
    format!(
        "{path},{kind},{procs},{maps},{},{},{},{},{},{},{swap_pss}",
        k(size),
        k(rss),
        k(pss),
        k(uss),
        k(shared),
        k(swap)
    )
}

/// The file view of processes 100-400, by PSS: the spec every file-view test starts from.
fn file_rows() -> Vec<(&'static str, String)> {
    vec![
        (
            "",
            file_row("", "anon", 2, 2, 2560, 1280, 1280, 1280, 0, 8, Some(8)),
        ),
        (
            "/SYSV0000abcd (deleted)",
            file_row(
                "/SYSV0000abcd (deleted)",
                "shm",
                2,
                2,
                2048,
                1024,
                512,
                0,
                1024,
                0,
                Some(0),
            ),
        ),
        (
            "/memfd:cache (deleted)",
            file_row(
                "/memfd:cache (deleted)",
                "memfd",
                1,
                1,
                512,
                512,
                512,
                512,
                0,
                0,
                Some(0),
            ),
        ),
        (
            "/usr/lib/libshared.so.1",
            file_row(
                "/usr/lib/libshared.so.1",
                "file",
                3,
                6,
                3264,
                1080,
                360,
                0,
                1080,
                0,
                Some(0),
            ),
        ),
        (
            "[heap]",
            file_row("[heap]", "heap", 2, 2, 396, 192, 192, 192, 0, 0, Some(0)),
        ),
        (
            "/var/tmp/old.log (deleted)",
            file_row(
                "/var/tmp/old.log (deleted)",
                "deleted",
                1,
                1,
                40,
                40,
                40,
                40,
                0,
                0,
                Some(0),
            ),
        ),
        (
            "/opt/caf\\xe9/lib.so",
            file_row(
                "/opt/caf\\xe9/lib.so",
                "file",
                1,
                1,
                32,
                32,
                32,
                32,
                0,
                0,
                Some(0),
            ),
        ),
        (
            "[stack]",
            file_row("[stack]", "stack", 2, 2, 264, 28, 28, 28, 0, 0, Some(0)),
        ),
        (
            "/usr/lib/libold.so",
            file_row(
                "/usr/lib/libold.so",
                "file",
                1,
                1,
                100,
                20,
                20,
                20,
                0,
                0,
                None,
            ),
        ),
        (
            "/tmp/data,\"quoted\".db",
            file_row(
                "\"/tmp/data,\"\"quoted\"\".db\"",
                "file",
                1,
                1,
                16,
                16,
                16,
                16,
                0,
                0,
                Some(0),
            ),
        ),
        (
            "[vdso]",
            file_row("[vdso]", "vdso", 2, 2, 16, 8, 0, 0, 8, 0, Some(0)),
        ),
    ]
}

fn file_csv(order: &[&str]) -> String {
    let all = file_rows();
    let rows: Vec<String> = order
        .iter()
        .map(|want| {
            all.iter()
                .find(|(p, _)| p == want)
                .unwrap_or_else(|| panic!("no expected row for {want:?}"))
                .1
                .clone()
        })
        .collect();
    let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    csv(FILE_HEADER, &refs)
}

fn all_file_paths() -> Vec<&'static str> {
    file_rows().into_iter().map(|(p, _)| p).collect()
}

#[test]
fn file_view_csv_is_exact_and_complete() {
    let fake = tree();
    let out = run(&fake, &["-p", GOOD, "-f", "csv"]);
    let text = expect_exit(&out, 0);
    assert_eq!(text, file_csv(&all_file_paths()));
    // A complete report sends nothing to a non-terminal stderr.
    assert_eq!(stderr(&out), "");
    // The same bytes whatever the number of workers.
    for threads in ["1", "3"] {
        let out = run(&fake, &["-p", GOOD, "-f", "csv", "-j", threads]);
        assert_eq!(expect_exit(&out, 0), text, "-j {threads}");
    }
}

#[test]
fn file_view_table_is_exact_with_totals_and_coverage_footer() {
    let fake = tree();
    let out = run(&fake, &["-p", GOOD]);
    let text = expect_exit(&out, 0);
    let want = "\
Mapping                     Kind     Procs  Maps  VSZ KiB  RSS KiB  PSS KiB  USS KiB  Shared KiB  Swap KiB  SwapPSS KiB
--------------------------- -------- ------ ----- -------- -------- -------- -------- ----------- --------- ------------
[anon]                      anon         2     2    2,560    1,280    1,280    1,280           0         8            8
/SYSV0000abcd (deleted)     shm          2     2    2,048    1,024      512        0       1,024         0            0
/memfd:cache (deleted)      memfd        1     1      512      512      512      512           0         0            0
/usr/lib/libshared.so.1     file         3     6    3,264    1,080      360        0       1,080         0            0
[heap]                      heap         2     2      396      192      192      192           0         0            0
/var/tmp/old.log (deleted)  deleted      1     1       40       40       40       40           0         0            0
/opt/caf\\xe9/lib.so         file         1     1       32       32       32       32           0         0            0
[stack]                     stack        2     2      264       28       28       28           0         0            0
/usr/lib/libold.so          file         1     1      100       20       20       20           0         0            -
/tmp/data,\"quoted\".db       file         1     1       16       16       16       16           0         0            0
[vdso]                      vdso         2     2       16        8        0        0           8         0            0
TOTAL                                    4    21    9,248    4,232    2,992    2,120       2,112         8            -
7 processes: 4 read, 1 vanished, 1 zombie, 1 kernel thread; 21 mappings from smaps; 2 filtered out; <t> s
";
    assert_eq!(without_duration(&text), want, "got:\n{text}");
}

#[test]
fn sort_reverse_and_top() {
    let fake = tree();
    // By RSS, largest first (ties by path).
    let out = run(&fake, &["-p", GOOD, "-f", "csv", "-s", "rss"]);
    assert_eq!(
        expect_exit(&out, 0),
        file_csv(&[
            "",
            "/usr/lib/libshared.so.1",
            "/SYSV0000abcd (deleted)",
            "/memfd:cache (deleted)",
            "[heap]",
            "/var/tmp/old.log (deleted)",
            "/opt/caf\\xe9/lib.so",
            "[stack]",
            "/usr/lib/libold.so",
            "/tmp/data,\"quoted\".db",
            "[vdso]",
        ])
    );
    // Reversed: smallest first, the ties too.
    let out = run(
        &fake,
        &["-p", GOOD, "-f", "csv", "-s", "rss", "--reverse", "-n", "4"],
    );
    assert_eq!(
        expect_exit(&out, 0),
        file_csv(&[
            "[vdso]",
            "/tmp/data,\"quoted\".db",
            "/usr/lib/libold.so",
            "[stack]"
        ])
    );
    // Text columns sort A to Z (bytes order); the CSV name of a column is accepted too.
    let out = run(
        &fake,
        &["-p", GOOD, "-f", "csv", "--sort", "path", "-n", "5"],
    );
    assert_eq!(
        expect_exit(&out, 0),
        file_csv(&[
            "",
            "/SYSV0000abcd (deleted)",
            "/memfd:cache (deleted)",
            "/opt/caf\\xe9/lib.so",
            "/tmp/data,\"quoted\".db",
        ])
    );
    let out = run(
        &fake,
        &["-p", GOOD, "-f", "csv", "-s", "size_bytes", "-n", "2"],
    );
    assert_eq!(
        expect_exit(&out, 0),
        file_csv(&["/usr/lib/libshared.so.1", ""])
    );
    // -n 0 means every row.
    let out = run(&fake, &["-p", GOOD, "-f", "csv", "-n", "0"]);
    assert_eq!(expect_exit(&out, 0), file_csv(&all_file_paths()));
}

#[test]
fn top_in_the_table_keeps_the_totals_of_everything() {
    let fake = tree();
    let out = run(&fake, &["-p", GOOD, "-n", "2"]);
    let text = expect_exit(&out, 0);
    let want = "\
Mapping                  Kind  Procs  Maps  VSZ KiB  RSS KiB  PSS KiB  USS KiB  Shared KiB  Swap KiB  SwapPSS KiB
------------------------ ----- ------ ----- -------- -------- -------- -------- ----------- --------- ------------
[anon]                   anon      2     2    2,560    1,280    1,280    1,280           0         8            8
/SYSV0000abcd (deleted)  shm       2     2    2,048    1,024      512        0       1,024         0            0
TOTAL                              4    21    9,248    4,232    2,992    2,120       2,112         8            -
... 9 more rows (-n 0 shows all)
7 processes: 4 read, 1 vanished, 1 zombie, 1 kernel thread; 21 mappings from smaps; 2 filtered out; <t> s
";
    assert_eq!(without_duration(&text), want, "got:\n{text}");
}

#[test]
fn filters_by_pid_user_command_map_and_kind() {
    let fake = tree();
    // -p: only 300's mappings.
    let out = run(&fake, &["-p", "300", "-f", "csv"]);
    assert_eq!(
        expect_exit(&out, 0),
        csv(
            FILE_HEADER,
            &[
                &file_row("", "anon", 1, 1, 512, 256, 256, 256, 0, 0, Some(0)),
                &file_row(
                    "/usr/lib/libshared.so.1",
                    "file",
                    1,
                    2,
                    1088,
                    360,
                    120,
                    0,
                    360,
                    0,
                    Some(0)
                ),
                &file_row(
                    "/opt/caf\\xe9/lib.so",
                    "file",
                    1,
                    1,
                    32,
                    32,
                    32,
                    32,
                    0,
                    0,
                    Some(0)
                ),
                &file_row("[stack]", "stack", 1, 1, 132, 12, 12, 12, 0, 0, Some(0)),
            ]
        )
    );
    // -u by name and by number: nobody owns 200 only.
    for user in ["nobody", "65534"] {
        let out = run(&fake, &["-p", GOOD, "-u", user, "-f", "csv", "-n", "3"]);
        assert_eq!(
            expect_exit(&out, 0),
            csv(
                FILE_HEADER,
                &[
                    &file_row(
                        "/memfd:cache (deleted)",
                        "memfd",
                        1,
                        1,
                        512,
                        512,
                        512,
                        512,
                        0,
                        0,
                        Some(0)
                    ),
                    &file_row(
                        "/SYSV0000abcd (deleted)",
                        "shm",
                        1,
                        1,
                        1024,
                        512,
                        256,
                        0,
                        512,
                        0,
                        Some(0)
                    ),
                    &file_row("[heap]", "heap", 1, 1, 264, 128, 128, 128, 0, 0, Some(0)),
                ]
            ),
            "-u {user}"
        );
    }
    // -c matches the command name or the command line: `^-bash` only the line of 300,
    // `^bash` only its comm, `serve` only the line of 100.
    for (re, pids) in [("^-bash", "300"), ("^bash$", "300"), ("serve", "100")] {
        let a = run(&fake, &["-p", GOOD, "-c", re, "-g", "process", "-f", "csv"]);
        let b = run(&fake, &["-p", pids, "-g", "process", "-f", "csv"]);
        assert_eq!(expect_exit(&a, 0), expect_exit(&b, 0), "-c {re}");
        assert_eq!(stdout(&a).lines().count(), 2, "-c {re}: {}", stdout(&a));
    }
    // -m on the path (raw bytes), -k on the kind; the totals cover what passed.
    let out = run(&fake, &["-p", GOOD, "-m", "^/usr/lib/", "-f", "csv"]);
    assert_eq!(
        expect_exit(&out, 0),
        file_csv(&["/usr/lib/libshared.so.1", "/usr/lib/libold.so"])
    );
    let out = run(&fake, &["-p", GOOD, "-m", "(?-u)caf\\xe9", "-f", "csv"]);
    assert_eq!(expect_exit(&out, 0), file_csv(&["/opt/caf\\xe9/lib.so"]));
    let out = run(
        &fake,
        &["-p", GOOD, "-k", "heap,stack", "-k", "vdso", "-f", "csv"],
    );
    assert_eq!(
        expect_exit(&out, 0),
        file_csv(&["[heap]", "[stack]", "[vdso]"])
    );
    let out = run(&fake, &["-p", GOOD, "-k", "shm,memfd,deleted", "-f", "csv"]);
    assert_eq!(
        expect_exit(&out, 0),
        file_csv(&[
            "/SYSV0000abcd (deleted)",
            "/memfd:cache (deleted)",
            "/var/tmp/old.log (deleted)"
        ])
    );
    let out = run(
        &fake,
        &["-p", GOOD, "-k", "heap", "-g", "process", "-f", "csv"],
    );
    assert_eq!(
        expect_exit(&out, 0),
        csv(
            PROCESS_HEADER,
            &[
                &format!(
                    "200,nobody,/usr/bin/beta -x,1,{},{},{},{},0,0,0",
                    k(264),
                    k(128),
                    k(128),
                    k(128)
                ),
                &format!(
                    "100,root,alpha --serve,1,{},{},{},{},0,0,0",
                    k(132),
                    k(64),
                    k(64),
                    k(64)
                ),
            ]
        )
    );
}

#[test]
fn filtered_totals_and_coverage_in_the_table() {
    let fake = tree();
    let out = run(&fake, &["-p", GOOD, "-k", "heap"]);
    let text = expect_exit(&out, 0);
    let want = "\
Mapping  Kind  Procs  Maps  VSZ KiB  RSS KiB  PSS KiB  USS KiB  Shared KiB  Swap KiB  SwapPSS KiB
-------- ----- ------ ----- -------- -------- -------- -------- ----------- --------- ------------
[heap]   heap      2     2      396      192      192      192           0         0            0
TOTAL              2     2      396      192      192      192           0         0            0
7 processes: 4 read, 1 vanished, 1 zombie, 1 kernel thread; 2 mappings from smaps; 2 filtered out; <t> s
";
    assert_eq!(without_duration(&text), want, "got:\n{text}");
}

#[test]
fn process_view_from_smaps_and_from_the_rollup() {
    let fake = tree();
    let out = run(
        &fake,
        &[
            "-p", GOOD, "-g", "process", "--source", "smaps", "-f", "csv",
        ],
    );
    assert_eq!(
        expect_exit(&out, 0),
        csv(
            PROCESS_HEADER,
            &[
                &format!(
                    "100,root,alpha --serve,7,{},{},{},{},{},{},{}",
                    k(4432),
                    k(1980),
                    k(1480),
                    k(1104),
                    k(876),
                    k(8),
                    k(8)
                ),
                &format!(
                    "200,nobody,/usr/bin/beta -x,8,{},{},{},{},{},0,0",
                    k(2952),
                    k(1572),
                    k(1072),
                    k(696),
                    k(876)
                ),
                &format!(
                    "300,root,'-bash,5,{},{},{},{},{},0,0",
                    k(1764),
                    k(660),
                    k(420),
                    k(300),
                    k(360)
                ),
                &format!(
                    "400,root,[@old],1,{},{},{},{},0,0,",
                    k(100),
                    k(20),
                    k(20),
                    k(20)
                ),
            ]
        )
    );
    // auto = the rollup for per-process totals: no mapping count, VSZ from stat's vsize,
    // PSS as the rollup has it (1 kB above the smaps sum for 100 and 300).
    for source in ["auto", "rollup"] {
        let out = run(
            &fake,
            &["-p", GOOD, "-g", "process", "--source", source, "-f", "csv"],
        );
        assert_eq!(
            expect_exit(&out, 0),
            csv(
                PROCESS_HEADER,
                &[
                    &format!(
                        "100,root,alpha --serve,,{},{},{},{},{},{},{}",
                        k(4424),
                        k(1980),
                        k(1481),
                        k(1104),
                        k(876),
                        k(8),
                        k(8)
                    ),
                    &format!(
                        "200,nobody,/usr/bin/beta -x,,{},{},{},{},{},0,0",
                        k(2944),
                        k(1572),
                        k(1072),
                        k(696),
                        k(876)
                    ),
                    &format!(
                        "300,root,'-bash,,{},{},{},{},{},0,0",
                        k(1760),
                        k(660),
                        k(421),
                        k(300),
                        k(360)
                    ),
                    &format!(
                        "400,root,[@old],,{},{},{},{},0,0,",
                        k(96),
                        k(20),
                        k(20),
                        k(20)
                    ),
                ]
            ),
            "--source {source}"
        );
    }
}

#[test]
fn process_table_from_the_rollup() {
    let fake = tree();
    let out = run(&fake, &["-p", GOOD, "-g", "process"]);
    let text = expect_exit(&out, 0);
    // (The first line starts with spaces: it cannot follow a `\` line continuation.)
    let want = "  PID  User    Command           Maps  VSZ KiB  RSS KiB  PSS KiB  USS KiB  Shared KiB  Swap KiB  SwapPSS KiB
------ ------- ----------------- ----- -------- -------- -------- -------- ----------- --------- ------------
  100  root    alpha --serve        -    4,424    1,980    1,481    1,104         876         8            8
  200  nobody  /usr/bin/beta -x     -    2,944    1,572    1,072      696         876         0            0
  300  root    -bash                -    1,760      660      421      300         360         0            0
  400  root    [@old]               -       96       20       20       20           0         0            -
TOTAL                               -    9,224    4,232    2,994    2,120       2,112         8            -
7 processes: 4 read, 1 vanished, 1 zombie, 1 kernel thread; totals from smaps_rollup; 2 filtered out; <t> s
";
    assert_eq!(without_duration(&text), want, "got:\n{text}");
}

#[test]
fn user_command_and_kind_views() {
    let fake = tree();
    let out = run(&fake, &["-p", GOOD, "-g", "user", "-f", "csv"]);
    assert_eq!(
        expect_exit(&out, 0),
        csv(
            "user,processes,mappings,size_bytes,rss_bytes,pss_bytes,uss_bytes,shared_bytes,swap_bytes,swap_pss_bytes",
            &[
                &format!(
                    "root,3,,{},{},{},{},{},{},",
                    k(4424 + 1760 + 96),
                    k(1980 + 660 + 20),
                    k(1481 + 421 + 20),
                    k(1104 + 300 + 20),
                    k(876 + 360),
                    k(8)
                ),
                &format!(
                    "nobody,1,,{},{},{},{},{},0,0",
                    k(2944),
                    k(1572),
                    k(1072),
                    k(696),
                    k(876)
                ),
            ]
        )
    );
    // Per command name (comm); `@old` would run as a formula in a spreadsheet.
    let out = run(
        &fake,
        &[
            "-p", GOOD, "-g", "command", "-f", "csv", "--source", "smaps",
        ],
    );
    assert_eq!(
        expect_exit(&out, 0),
        csv(
            "command,processes,mappings,size_bytes,rss_bytes,pss_bytes,uss_bytes,shared_bytes,swap_bytes,swap_pss_bytes",
            &[
                &format!(
                    "alpha,1,7,{},{},{},{},{},{},{}",
                    k(4432),
                    k(1980),
                    k(1480),
                    k(1104),
                    k(876),
                    k(8),
                    k(8)
                ),
                &format!(
                    "beta,1,8,{},{},{},{},{},0,0",
                    k(2952),
                    k(1572),
                    k(1072),
                    k(696),
                    k(876)
                ),
                &format!(
                    "bash,1,5,{},{},{},{},{},0,0",
                    k(1764),
                    k(660),
                    k(420),
                    k(300),
                    k(360)
                ),
                &format!("'@old,1,1,{},{},{},{},0,0,", k(100), k(20), k(20), k(20)),
            ]
        )
    );
    let out = run(&fake, &["-p", GOOD, "-g", "kind", "-f", "csv"]);
    let kind_header = "kind,processes,mappings,size_bytes,rss_bytes,pss_bytes,uss_bytes,shared_bytes,swap_bytes,swap_pss_bytes";
    assert_eq!(
        expect_exit(&out, 0),
        csv(
            kind_header,
            &[
                &format!(
                    "anon,2,2,{},{},{},{},0,{},{}",
                    k(2560),
                    k(1280),
                    k(1280),
                    k(1280),
                    k(8),
                    k(8)
                ),
                &format!(
                    "memfd,1,1,{},{},{},{},0,0,0",
                    k(512),
                    k(512),
                    k(512),
                    k(512)
                ),
                &format!(
                    "shm,2,2,{},{},{},0,{},0,0",
                    k(2048),
                    k(1024),
                    k(512),
                    k(1024)
                ),
                &format!(
                    "file,4,9,{},{},{},{},{},0,",
                    k(3412),
                    k(1148),
                    k(428),
                    k(68),
                    k(1080)
                ),
                &format!("heap,2,2,{},{},{},{},0,0,0", k(396), k(192), k(192), k(192)),
                &format!("deleted,1,1,{},{},{},{},0,0,0", k(40), k(40), k(40), k(40)),
                &format!("stack,2,2,{},{},{},{},0,0,0", k(264), k(28), k(28), k(28)),
                &format!("vdso,2,2,{},{},0,0,{},0,0", k(16), k(8), k(8)),
            ]
        )
    );
    let out = run(
        &fake,
        &["-p", GOOD, "-g", "kind", "-f", "csv", "-s", "kind"],
    );
    let text = expect_exit(&out, 0);
    let kinds: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap_or(""))
        .collect();
    assert_eq!(
        kinds,
        [
            "anon", "deleted", "file", "heap", "memfd", "shm", "stack", "vdso"
        ]
    );
}

#[test]
fn file_process_view() {
    let fake = tree();
    let out = run(
        &fake,
        &[
            "-p",
            GOOD,
            "-g",
            "file,process",
            "-m",
            "libshared|SYSV",
            "-f",
            "csv",
        ],
    );
    let row = |path: &str,
               kind: &str,
               pid: &str,
               maps: u64,
               size: u64,
               rss: u64,
               pss: u64,
               shared: u64| {
        format!(
            "{path},{kind},{pid},,{maps},{},{},{},0,{},0,0",
            k(size),
            k(rss),
            k(pss),
            k(shared)
        )
    };
    assert_eq!(
        expect_exit(&out, 0),
        csv(
            "path,kind,pid,user,command,processes,mappings,size_bytes,rss_bytes,pss_bytes,uss_bytes,shared_bytes,swap_bytes,swap_pss_bytes",
            &[
                &row(
                    "/SYSV0000abcd (deleted),shm",
                    "100,root",
                    "alpha --serve",
                    1,
                    1024,
                    512,
                    256,
                    512
                ),
                &row(
                    "/SYSV0000abcd (deleted),shm",
                    "200,nobody",
                    "/usr/bin/beta -x",
                    1,
                    1024,
                    512,
                    256,
                    512
                ),
                &row(
                    "/usr/lib/libshared.so.1,file",
                    "100,root",
                    "alpha --serve",
                    2,
                    1088,
                    360,
                    120,
                    360
                ),
                &row(
                    "/usr/lib/libshared.so.1,file",
                    "200,nobody",
                    "/usr/bin/beta -x",
                    2,
                    1088,
                    360,
                    120,
                    360
                ),
                &row(
                    "/usr/lib/libshared.so.1,file",
                    "300,root",
                    "'-bash",
                    2,
                    1088,
                    360,
                    120,
                    360
                ),
            ]
        )
    );
    let out = run(
        &fake,
        &["-p", GOOD, "-g", "file,process", "-m", "libshared|SYSV"],
    );
    let text = expect_exit(&out, 0);
    let want = "\
Mapping                  Kind  PID  User    Command           Procs  Maps  VSZ KiB  RSS KiB  PSS KiB  USS KiB  Shared KiB  Swap KiB  SwapPSS KiB
------------------------ ----- ---- ------- ----------------- ------ ----- -------- -------- -------- -------- ----------- --------- ------------
/SYSV0000abcd (deleted)  shm                                      2     2    2,048    1,024      512        0       1,024         0            0
                               100  root    alpha --serve               1    1,024      512      256        0         512         0            0
                               200  nobody  /usr/bin/beta -x            1    1,024      512      256        0         512         0            0
/usr/lib/libshared.so.1  file                                     3     6    3,264    1,080      360        0       1,080         0            0
                               100  root    alpha --serve               2    1,088      360      120        0         360         0            0
                               200  nobody  /usr/bin/beta -x            2    1,088      360      120        0         360         0            0
                               300  root    -bash                       2    1,088      360      120        0         360         0            0
TOTAL                                                             3     8    5,312    2,104      872        0       2,104         0            0
7 processes: 4 read, 1 vanished, 1 zombie, 1 kernel thread; 8 mappings from smaps; 2 filtered out; <t> s
";
    assert_eq!(without_duration(&text), want, "got:\n{text}");
}

#[test]
fn maps_source_and_vsz_give_virtual_sizes_only() {
    let fake = tree();
    let want = csv(
        PROCESS_HEADER,
        &[
            &format!("100,root,alpha --serve,7,{},,,,,,", k(4432)),
            &format!("200,nobody,/usr/bin/beta -x,8,{},,,,,,", k(2952)),
            &format!("300,root,'-bash,5,{},,,,,,", k(1764)),
            &format!("400,root,[@old],1,{},,,,,,", k(100)),
        ],
    );
    for extra in [&["--vsz"][..], &["--source", "maps"]] {
        let mut a = vec!["-p", GOOD, "-g", "process", "-f", "csv", "-s", "size"];
        a.extend_from_slice(extra);
        let out = run(&fake, &a);
        assert_eq!(expect_exit(&out, 0), want, "{extra:?}");
    }
    let out = run(&fake, &["-p", "100", "--vsz", "-s", "size"]);
    let text = expect_exit(&out, 0);
    let want = "\
Mapping                  Kind   Procs  Maps  VSZ KiB  RSS KiB  PSS KiB  USS KiB  Shared KiB  Swap KiB  SwapPSS KiB
------------------------ ------ ------ ----- -------- -------- -------- -------- ----------- --------- ------------
[anon]                   anon       1     1    2,048        -        -        -           -         -            -
/usr/lib/libshared.so.1  file       1     2    1,088        -        -        -           -         -            -
/SYSV0000abcd (deleted)  shm        1     1    1,024        -        -        -           -         -            -
[heap]                   heap       1     1      132        -        -        -           -         -            -
[stack]                  stack      1     1      132        -        -        -           -         -            -
[vdso]                   vdso       1     1        8        -        -        -           -         -            -
TOTAL                               1     7    4,432        -        -        -           -         -            -
1 process: 1 read; 7 mappings from maps; 8 filtered out; <t> s
";
    assert_eq!(without_duration(&text), want, "got:\n{text}");
}

#[test]
fn self_is_excluded_even_when_asked_for() {
    let fake = tree();
    let out = run(&fake, &["-p", "800", "-f", "csv"]);
    assert_eq!(expect_exit(&out, 0), csv(FILE_HEADER, &[]));
    let out = run(&fake, &["-p", "800,400", "-f", "json"]);
    let doc: FileDoc = serde_json::from_str(&expect_exit(&out, 0)).expect("json");
    assert_eq!(doc.meta.coverage.self_pid, Some(800));
    assert_eq!(doc.meta.coverage.processes, 1);
    assert_eq!(doc.rows.len(), 1);
    assert_eq!(doc.rows[0].path, "/usr/lib/libold.so");
}

#[test]
fn csv_reads_back_into_the_same_rows() {
    let fake = tree();
    let out = run(&fake, &["-p", GOOD, "-f", "csv"]);
    let text = expect_exit(&out, 0);
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = r
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(header.join(","), FILE_HEADER);
    let records: Vec<Vec<String>> = r
        .records()
        .map(|rec| rec.expect("record").iter().map(str::to_string).collect())
        .collect();
    let want: Vec<Vec<String>> = vec![
        vec![
            "", "anon", "2", "2", "2621440", "1310720", "1310720", "1310720", "0", "8192", "8192",
        ],
        vec![
            "/SYSV0000abcd (deleted)",
            "shm",
            "2",
            "2",
            "2097152",
            "1048576",
            "524288",
            "0",
            "1048576",
            "0",
            "0",
        ],
        vec![
            "/memfd:cache (deleted)",
            "memfd",
            "1",
            "1",
            "524288",
            "524288",
            "524288",
            "524288",
            "0",
            "0",
            "0",
        ],
        vec![
            "/usr/lib/libshared.so.1",
            "file",
            "3",
            "6",
            "3342336",
            "1105920",
            "368640",
            "0",
            "1105920",
            "0",
            "0",
        ],
        vec![
            "[heap]", "heap", "2", "2", "405504", "196608", "196608", "196608", "0", "0", "0",
        ],
        vec![
            "/var/tmp/old.log (deleted)",
            "deleted",
            "1",
            "1",
            "40960",
            "40960",
            "40960",
            "40960",
            "0",
            "0",
            "0",
        ],
        vec![
            "/opt/caf\\xe9/lib.so",
            "file",
            "1",
            "1",
            "32768",
            "32768",
            "32768",
            "32768",
            "0",
            "0",
            "0",
        ],
        vec![
            "[stack]", "stack", "2", "2", "270336", "28672", "28672", "28672", "0", "0", "0",
        ],
        vec![
            "/usr/lib/libold.so",
            "file",
            "1",
            "1",
            "102400",
            "20480",
            "20480",
            "20480",
            "0",
            "0",
            "",
        ],
        vec![
            "/tmp/data,\"quoted\".db",
            "file",
            "1",
            "1",
            "16384",
            "16384",
            "16384",
            "16384",
            "0",
            "0",
            "0",
        ],
        vec![
            "[vdso]", "vdso", "2", "2", "16384", "8192", "0", "0", "8192", "0", "0",
        ],
    ]
    .into_iter()
    .map(|r| r.into_iter().map(str::to_string).collect())
    .collect();
    assert_eq!(records, want);
}

/// The JSON document of a file view.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    schema_version: u32,
    meta: Meta,
    totals: FileRow,
    rows: Vec<FileRow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Meta {
    pmaps_version: String,
    host: Option<String>,
    kernel: Option<String>,
    time_utc: String,
    source: String,
    group_by: String,
    proc_root: String,
    threads: u64,
    duration_seconds: f64,
    coverage: CoverageJson,
    rows_total: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CoverageJson {
    processes: u64,
    outcomes: Outcomes,
    mappings: Option<u64>,
    filtered: u64,
    complete: bool,
    hidden: Option<String>,
    self_pid: Option<u32>,
    problems: Vec<ProblemJson>,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct FileRow {
    #[serde(default)]
    path: String,
    path_hex: Option<String>,
    kind: Option<String>,
    processes: u64,
    mappings: Option<u64>,
    size_bytes: Option<u64>,
    rss_bytes: Option<u64>,
    pss_bytes: Option<u64>,
    uss_bytes: Option<u64>,
    shared_bytes: Option<u64>,
    swap_bytes: Option<u64>,
    swap_pss_bytes: Option<u64>,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct ProcessRow {
    pid: Option<u32>,
    user: Option<String>,
    command: Option<String>,
    command_hex: Option<String>,
    processes: Option<u64>,
    mappings: Option<u64>,
    size_bytes: Option<u64>,
    rss_bytes: Option<u64>,
    pss_bytes: Option<u64>,
    uss_bytes: Option<u64>,
    shared_bytes: Option<u64>,
    swap_bytes: Option<u64>,
    swap_pss_bytes: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProcessDoc {
    schema_version: u32,
    meta: Meta,
    totals: ProcessRow,
    rows: Vec<ProcessRow>,
}

#[allow(clippy::too_many_arguments)]
fn json_file_row(
    path: &str,
    path_hex: Option<&str>,
    kind: &str,
    processes: u64,
    mappings: u64,
    kb: [u64; 6],
    swap_pss: Option<u64>,
) -> FileRow {
    FileRow {
        path: path.into(),
        path_hex: path_hex.map(str::to_string),
        kind: Some(kind.into()),
        processes,
        mappings: Some(mappings),
        size_bytes: Some(k(kb[0])),
        rss_bytes: Some(k(kb[1])),
        pss_bytes: Some(k(kb[2])),
        uss_bytes: Some(k(kb[3])),
        shared_bytes: Some(k(kb[4])),
        swap_bytes: Some(k(kb[5])),
        swap_pss_bytes: swap_pss.map(k),
    }
}

#[test]
fn json_rows_meta_and_lossless_names() {
    let fake = tree();
    let out = run(&fake, &["-p", GOOD, "-f", "json"]);
    let text = expect_exit(&out, 0);
    let doc: FileDoc = serde_json::from_str(&text).expect("JSON does not fit the schema");
    assert_eq!(doc.schema_version, 1);
    let m = &doc.meta;
    assert_eq!(m.pmaps_version, env!("CARGO_PKG_VERSION"));
    assert_eq!(m.source, "smaps");
    assert_eq!(m.group_by, "file");
    assert_eq!(m.proc_root, fake.root().to_str().expect("utf-8 temp dir"));
    // The fake tree has no sys/kernel: host and kernel are unknown, not made up.
    assert_eq!((m.host.as_deref(), m.kernel.as_deref()), (None, None));
    assert_eq!(
        m.time_utc.len(),
        "2026-11-24T17:50:13Z".len(),
        "{}",
        m.time_utc
    );
    assert!(m.time_utc.ends_with('Z') && m.time_utc.as_bytes()[10] == b'T');
    assert!(m.threads >= 1);
    assert!(m.duration_seconds >= 0.0);
    assert_eq!(m.rows_total, 11);
    let c = &m.coverage;
    assert_eq!(
        c.outcomes,
        Outcomes {
            read: 4,
            vanished: 1,
            zombie: 1,
            kernel_thread: 1,
            denied: 0,
            incomplete: 0,
            error: 0
        }
    );
    assert_eq!(c.processes, 7);
    assert_eq!(c.mappings, Some(21));
    // 700 and 900 left out by -p; 800 is pmaps itself, not counted as filtered.
    assert_eq!(c.filtered, 2);
    assert!(c.complete);
    assert_eq!(c.hidden, None);
    assert_eq!(c.self_pid, Some(800));
    assert_eq!(c.problems, []);

    let want = vec![
        json_file_row(
            "",
            None,
            "anon",
            2,
            2,
            [2560, 1280, 1280, 1280, 0, 8],
            Some(8),
        ),
        json_file_row(
            "/SYSV0000abcd (deleted)",
            None,
            "shm",
            2,
            2,
            [2048, 1024, 512, 0, 1024, 0],
            Some(0),
        ),
        json_file_row(
            "/memfd:cache (deleted)",
            None,
            "memfd",
            1,
            1,
            [512, 512, 512, 512, 0, 0],
            Some(0),
        ),
        json_file_row(
            "/usr/lib/libshared.so.1",
            None,
            "file",
            3,
            6,
            [3264, 1080, 360, 0, 1080, 0],
            Some(0),
        ),
        json_file_row(
            "[heap]",
            None,
            "heap",
            2,
            2,
            [396, 192, 192, 192, 0, 0],
            Some(0),
        ),
        json_file_row(
            "/var/tmp/old.log (deleted)",
            None,
            "deleted",
            1,
            1,
            [40, 40, 40, 40, 0, 0],
            Some(0),
        ),
        json_file_row(
            "/opt/caf\\xe9/lib.so",
            Some("2f6f70742f636166e92f6c69622e736f"),
            "file",
            1,
            1,
            [32, 32, 32, 32, 0, 0],
            Some(0),
        ),
        json_file_row(
            "[stack]",
            None,
            "stack",
            2,
            2,
            [264, 28, 28, 28, 0, 0],
            Some(0),
        ),
        json_file_row(
            "/usr/lib/libold.so",
            None,
            "file",
            1,
            1,
            [100, 20, 20, 20, 0, 0],
            None,
        ),
        json_file_row(
            "/tmp/data,\"quoted\".db",
            None,
            "file",
            1,
            1,
            [16, 16, 16, 16, 0, 0],
            Some(0),
        ),
        json_file_row("[vdso]", None, "vdso", 2, 2, [16, 8, 0, 0, 8, 0], Some(0)),
    ];
    assert_eq!(doc.rows, want);
    let hex = doc.rows[6].path_hex.as_deref().expect("path_hex");
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    assert_eq!(bytes, NON_UTF8, "path_hex gives the exact bytes back");
    assert_eq!(
        doc.totals,
        FileRow {
            path: String::new(),
            path_hex: None,
            kind: None,
            processes: 4,
            mappings: Some(21),
            size_bytes: Some(k(9248)),
            rss_bytes: Some(k(4232)),
            pss_bytes: Some(k(2992)),
            uss_bytes: Some(k(2120)),
            shared_bytes: Some(k(2112)),
            swap_bytes: Some(k(8)),
            swap_pss_bytes: None,
        }
    );
    // Unknown is an explicit null, not a missing key.
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["rows"][8]["swap_pss_bytes"], serde_json::Value::Null);
    assert!(
        v["rows"][8]
            .as_object()
            .expect("row object")
            .contains_key("swap_pss_bytes")
    );
}

#[test]
fn json_process_view_from_the_rollup() {
    let fake = tree();
    let out = run(&fake, &["-p", "100,400", "-g", "process", "-f", "json"]);
    let doc: ProcessDoc = serde_json::from_str(&expect_exit(&out, 0)).expect("JSON schema");
    assert_eq!(doc.schema_version, 1);
    assert_eq!(doc.meta.source, "smaps_rollup");
    assert_eq!(doc.meta.group_by, "process");
    assert_eq!(doc.meta.coverage.mappings, None);
    let row =
        |pid: u32, user: &str, command: &str, kb: [u64; 7], swap_pss: Option<u64>| ProcessRow {
            pid: Some(pid),
            user: Some(user.into()),
            command: Some(command.into()),
            command_hex: None,
            processes: None,
            mappings: None,
            size_bytes: Some(k(kb[0])),
            rss_bytes: Some(k(kb[1])),
            pss_bytes: Some(k(kb[2])),
            uss_bytes: Some(k(kb[3])),
            shared_bytes: Some(k(kb[4])),
            swap_bytes: Some(k(kb[5])),
            swap_pss_bytes: swap_pss.map(k),
        };
    assert_eq!(
        doc.rows,
        [
            row(
                100,
                "root",
                "alpha --serve",
                [4424, 1980, 1481, 1104, 876, 8, 0],
                Some(8)
            ),
            row(400, "root", "[@old]", [96, 20, 20, 20, 0, 0, 0], None),
        ]
    );
    // The process view has no `processes` column, so neither do its totals.
    assert_eq!(doc.totals.processes, None);
    assert_eq!(doc.totals.pss_bytes, Some(k(1501)));
    assert_eq!(doc.totals.swap_pss_bytes, None);
}

#[test]
fn denied_and_malformed_processes_make_a_partial_report() {
    let fake = tree();
    let out = run_denied(&fake, &[]);
    let text = expect_exit(&out, 3);
    let want = "\
Mapping                     Kind     Procs  Maps  VSZ KiB  RSS KiB  PSS KiB  USS KiB  Shared KiB  Swap KiB  SwapPSS KiB
--------------------------- -------- ------ ----- -------- -------- -------- -------- ----------- --------- ------------
[anon]                      anon         2     2    2,560    1,280    1,280    1,280           0         8            8
/SYSV0000abcd (deleted)     shm          2     2    2,048    1,024      512        0       1,024         0            0
/memfd:cache (deleted)      memfd        1     1      512      512      512      512           0         0            0
/usr/lib/libshared.so.1     file         3     6    3,264    1,080      360        0       1,080         0            0
[heap]                      heap         2     2      396      192      192      192           0         0            0
/var/tmp/old.log (deleted)  deleted      1     1       40       40       40       40           0         0            0
/opt/caf\\xe9/lib.so         file         1     1       32       32       32       32           0         0            0
[stack]                     stack        2     2      264       28       28       28           0         0            0
/usr/lib/libold.so          file         1     1      100       20       20       20           0         0            -
/tmp/data,\"quoted\".db       file         1     1       16       16       16       16           0         0            0
[vdso]                      vdso         2     2       16        8        0        0           8         0            0
TOTAL                                    4    21    9,248    4,232    2,992    2,120       2,112         8            -
9 processes: 4 read, 1 vanished, 1 zombie, 1 kernel thread, 1 denied, 1 error; 21 mappings from smaps; <t> s
";
    assert_eq!(without_duration(&text), want, "got:\n{text}");
    let err = stderr(&out);
    let root = fake.root().display().to_string();
    assert_eq!(
        err,
        format!(
            "pmaps: partial report: 1 process denied, 1 process error (no permission to read \
             their maps: run as root, or see README, Permissions); first error: \
             {root}/900/smaps: malformed smaps value: \"Rss:                abc kB\"\n"
        )
    );

    // The same in CSV: the rows are all there, the coverage goes to stderr.
    let out = run_denied(&fake, &["-f", "csv"]);
    assert_eq!(expect_exit(&out, 3), file_csv(&all_file_paths()));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert_eq!(
        without_duration(&format!("{}\n", lines[0])),
        "pmaps: 9 processes: 4 read, 1 vanished, 1 zombie, 1 kernel thread, 1 denied, 1 error; \
         21 mappings from smaps; <t> s\n"
    );
    assert!(lines[1].starts_with("pmaps: partial report: "), "{err}");

    let out = run_denied(&fake, &["-f", "json"]);
    let doc: FileDoc = serde_json::from_str(&expect_exit(&out, 3)).expect("JSON schema");
    let c = &doc.meta.coverage;
    assert_eq!(
        c.outcomes,
        Outcomes {
            read: 4,
            vanished: 1,
            zombie: 1,
            kernel_thread: 1,
            denied: 1,
            incomplete: 0,
            error: 1
        }
    );
    assert!(!c.complete);
    assert_eq!(c.filtered, 0);
    assert_eq!(
        c.problems,
        [
            ProblemJson {
                pid: 700,
                comm: "locked".into(),
                outcome: "denied".into(),
                path: Some(format!("{root}/700/smaps")),
                detail: Some("Permission denied (os error 13)".into()),
            },
            ProblemJson {
                pid: 900,
                comm: "broken".into(),
                outcome: "error".into(),
                path: Some(format!("{root}/900/smaps")),
                detail: Some("malformed smaps value: \"Rss:                abc kB\"".into()),
            },
        ]
    );
    assert_eq!(doc.rows.len(), 11);
}

#[test]
fn a_malformed_process_alone_is_an_error_not_a_failed_run() {
    let fake = tree();
    let out = run(&fake, &["-p", "900,400", "-f", "csv"]);
    assert_eq!(expect_exit(&out, 3), file_csv(&["/usr/lib/libold.so"]));
}

#[test]
fn usage_errors_exit_2() {
    let fake = tree();
    for bad in [
        &["--sort", "nope"][..],
        &["--source", "rollup", "-g", "file"],
        &["--source", "rollup"],
        &["--source", "rollup", "-g", "process", "-m", "lib"],
        &["-g", "process", "-s", "path"],
        &["-g", "nope"],
        &["-k", "nope"],
        &["-m", "("],
        &["-f", "xml"],
        &["-j", "0"],
        &["-u", "no-such-user-here"],
        &["--no-such-option"],
        &["--vsz", "--source", "smaps"],
    ] {
        let out = run(&fake, bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{bad:?}");
        assert!(!stderr(&out).is_empty(), "{bad:?}");
    }
    let out = run_pmaps(["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("3  partial report"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_table_on_a_pipe_shows_every_row() {
    let fake = FakeProc::new();
    let mut maps = Vec::new();
    let names: Vec<&'static [u8]> = (0..120)
        .map(|i| &*Box::leak(format!("/srv/f{i:03}").into_bytes().into_boxed_slice()))
        .collect();
    for (i, name) in names.iter().enumerate() {
        maps.push(private(
            0x7f00_0000_0000 + (i as u64) * 0x10_0000,
            name,
            4,
            4,
            false,
        ));
    }
    fake.process(10).smaps(&smaps_text(&maps)).write();
    let out = run(&fake, &["-s", "path"]);
    let text = expect_exit(&out, 0);
    let lines: Vec<&str> = text.lines().collect();
    // header, rule, 120 rows, TOTAL, coverage.
    assert_eq!(lines.len(), 124, "{text}");
    for (i, line) in lines[2..122].iter().enumerate() {
        assert!(line.starts_with(&format!("/srv/f{i:03} ")), "{line}");
    }
    assert!(!text.contains("more rows"), "{text}");
}

#[test]
fn text_is_escaped_in_the_table_and_csv() {
    let fake = FakeProc::new();
    let nasty: &'static [u8] = b"/tmp/\x1b[31mred\t\xff\\012x";
    let m = [
        private(0x7f00_0000_0000, nasty, 4, 4, false),
        private(0x7f10_0000_0000, b"[anon:=cmd|' /C calc'!A0]", 8, 8, true),
    ];
    fake.process(10)
        .comm(b"=x\x07")
        .cmdline(b"+sum\0")
        .smaps(&smaps_text(&m))
        .smaps_rollup(&rollup_text(&m, 0, true))
        .write();
    let out = run(&fake, &["-f", "csv"]);
    assert_eq!(
        expect_exit(&out, 0),
        csv(
            FILE_HEADER,
            &[
                &file_row(
                    "[anon:=cmd|' /C calc'!A0]",
                    "other",
                    1,
                    1,
                    8,
                    8,
                    8,
                    8,
                    0,
                    0,
                    Some(0)
                ),
                &file_row(
                    "/tmp/\\x1b[31mred\\x09\\xff\\012x",
                    "file",
                    1,
                    1,
                    4,
                    4,
                    4,
                    4,
                    0,
                    0,
                    Some(0)
                ),
            ]
        )
    );
    let out = run(&fake, &["-f", "csv", "-g", "command"]);
    let text = expect_exit(&out, 0);
    assert_eq!(
        text.lines().nth(1).map(|l| l.split(',').next()),
        Some(Some("'=x\\x07"))
    );
    let out = run(&fake, &["-f", "csv", "-g", "process"]);
    let text = expect_exit(&out, 0);
    assert!(
        text.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("10,root,'+sum,")),
        "{text}"
    );
    let out = run(&fake, &[]);
    let text = expect_exit(&out, 0);
    assert!(
        text.contains("/tmp/\\x1b[31mred\\x09\\xff\\012x "),
        "{text}"
    );
    assert!(!text.bytes().any(|b| b < 0x20 && b != b'\n'), "{text:?}");
}

#[test]
fn odd_files_in_a_tree_are_errors_of_their_process_only() {
    let fake = FakeProc::new();
    let good = maps_400();
    fake.process(10)
        .comm(b"good")
        .smaps(&smaps_text(&good))
        .write();
    // A FIFO where smaps should be: opened without blocking, refused as not a regular file.
    let dir = fake.process(11).comm(b"fifo").write();
    let fifo = std::ffi::CString::new(dir.join("smaps").into_os_string().into_encoded_bytes())
        .expect("path without NUL");
    // SAFETY: `fifo` is a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0, "mkfifo");
    // A directory where smaps should be.
    fake.process(12).comm(b"dir").file("smaps/x", b"").write();
    // stat without the closing parenthesis, and one cut after the state.
    fake.process(13)
        .file("stat", b"13 (garbage S 1 13 13")
        .write();
    fake.process(14).file("stat", b"14 (short) S 1\n").write();
    // Binary garbage, and a key line before any mapping.
    fake.process(15)
        .comm(b"binary")
        .smaps(b"\x00\x01\x02\xff\xfe garbage\n\n\n")
        .write();
    fake.process(16)
        .comm(b"keyfirst")
        .smaps(b"Rss:                   4 kB\n")
        .write();
    // An empty smaps of a live-looking process: read, no mappings.
    fake.process(17).comm(b"empty").smaps(b"").write();
    // A PID entry that is a file, not a directory.
    std::fs::write(fake.root().join("18"), b"").expect("write");

    let out = run(&fake, &["-f", "json"]);
    let text = expect_exit(&out, 3);
    let doc: FileDoc = serde_json::from_str(&text).expect("JSON schema");
    let c = &doc.meta.coverage;
    assert_eq!(
        c.outcomes,
        Outcomes {
            read: 2,
            vanished: 0,
            zombie: 0,
            kernel_thread: 0,
            denied: 0,
            incomplete: 0,
            error: 7
        },
        "{:#?}",
        c.problems
    );
    let failed: Vec<u32> = c.problems.iter().map(|p| p.pid).collect();
    assert_eq!(failed, [11, 12, 13, 14, 15, 16, 18]);
    assert!(c.problems.iter().all(|p| p.outcome == "error"));
    assert_eq!(doc.rows.len(), 1);
    assert_eq!(doc.rows[0].path, "/usr/lib/libold.so");
    assert_eq!(doc.rows[0].rss_bytes, Some(k(20)));
}

#[test]
fn json_file_process_view_nests_the_processes() {
    let fake = tree();
    let out = run(
        &fake,
        &["-p", GOOD, "-g", "file,process", "-m", "SYSV", "-f", "json"],
    );
    let v: serde_json::Value = serde_json::from_str(&expect_exit(&out, 0)).expect("json");
    assert_eq!(v["meta"]["group_by"], "file,process");
    let rows = v["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["path"], "/SYSV0000abcd (deleted)");
    assert_eq!(rows[0]["processes"], 2);
    assert_eq!(rows[0]["pss_bytes"], k(512));
    let children = rows[0]["by_process"].as_array().expect("by_process");
    let got: Vec<(u64, &str, &str, u64)> = children
        .iter()
        .map(|c| {
            (
                c["pid"].as_u64().expect("pid"),
                c["user"].as_str().expect("user"),
                c["command"].as_str().expect("command"),
                c["pss_bytes"].as_u64().expect("pss"),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (100, "root", "alpha --serve", k(256)),
            (200, "nobody", "/usr/bin/beta -x", k(256))
        ]
    );
}

#[test]
fn a_table_on_a_terminal_shows_what_fits_and_says_how_many_more() {
    let fake = FakeProc::new();
    let names: Vec<&'static [u8]> = (0..60)
        .map(|i| &*Box::leak(format!("/srv/f{i:03}").into_bytes().into_boxed_slice()))
        .collect();
    let maps: Vec<Map> = names
        .iter()
        .enumerate()
        .map(|(i, name)| private(0x7f00_0000_0000 + (i as u64) * 0x10_0000, name, 4, 4, false))
        .collect();
    fake.process(10).smaps(&smaps_text(&maps)).write();
    // `script` (util-linux) runs pmaps on a pseudo-terminal of 15 rows.
    let cmd = format!(
        "stty rows 15 cols 120; exec {} --proc-root {} -s path",
        pmaps_bin().display(),
        fake.root().display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("cannot run script(1)");
    let text = String::from_utf8(out.stdout)
        .expect("UTF-8")
        .replace("\r\n", "\n");
    assert_eq!(out.status.code(), Some(0), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.len() <= 15,
        "more lines than the terminal has:\n{text}"
    );
    let rows: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with("/srv/"))
        .copied()
        .collect();
    let more = format!("... {} more rows (-n 0 shows all)", 60 - rows.len());
    assert!(rows.len() >= 5, "{text}");
    assert!(lines.contains(&more.as_str()), "no {more:?} in:\n{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("TOTAL ") && l.contains(" 60 ")),
        "{text}"
    );
    // -n N is what the user asked for, on a terminal too.
    let cmd = format!("{cmd} -n 0");
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("cannot run script(1)");
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    assert_eq!(
        text.lines().filter(|l| l.starts_with("/srv/")).count(),
        60,
        "{text}"
    );
}

#[test]
fn an_empty_rollup_is_an_error_not_a_process_with_no_memory() {
    let fake = FakeProc::new();
    fake.process(500).comm(b"empty").smaps_rollup(b"").write();
    fake.process(501)
        .comm(b"full")
        .smaps_rollup(&rollup_text(&maps_300(), 0, true))
        .write();
    let out = run(
        &fake,
        &["-g", "process", "--source", "rollup", "-f", "json"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let outcomes = &doc["meta"]["coverage"]["outcomes"];
    assert_eq!(outcomes["read"], 1);
    assert_eq!(outcomes["error"], 1);
    let problems = doc["meta"]["coverage"]["problems"]
        .as_array()
        .expect("problems");
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0]["pid"], 500);
    assert_eq!(problems[0]["detail"], "empty smaps_rollup");
    let pids: Vec<&serde_json::Value> = doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| &r["pid"])
        .collect();
    assert_eq!(pids, [&serde_json::Value::from(501)]);
}
