//! The fake proc tree of the report tests (see the table in `report_fake`), the smaps, maps
//! and rollup text of its mappings, and runs of pmaps over it.

use std::ffi::OsString;
use std::process::Output;

use crate::support::*;

/// One mapping of the fake tree: the header fields and the smaps values (kB).
#[derive(Clone, Copy)]
pub struct Map {
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
pub const NON_UTF8: &[u8] = b"/opt/caf\xe9/lib.so";
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

pub fn private(start: u64, path: &'static [u8], size: u64, rss: u64, dirty: bool) -> Map {
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
pub fn maps_300() -> Vec<Map> {
    vec![
        lib_text(0x7f00_0000_0000),
        private(0x7f00_0010_0000, NON_UTF8, 32, 32, false),
        lib_data(0x7f00_0011_0000),
        private(0x7f10_0000_0000, b"", 512, 256, true),
        private(0x7ffc_0000_0000, b"[stack]", 132, 12, true),
    ]
}

pub fn maps_400() -> Vec<Map> {
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

pub fn smaps_text(maps: &[Map]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in maps {
        out.extend(full_smaps_record(
            header(m),
            SmapsKb {
                size: m.size,
                rss: m.rss,
                pss: m.pss,
                shared_clean: m.shared_clean,
                shared_dirty: m.shared_dirty,
                private_clean: m.private_clean,
                private_dirty: m.private_dirty,
                swap: m.swap,
                swap_pss: m.swap_pss,
            },
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
pub fn rollup_text(maps: &[Map], extra_pss: u64, with_swap_pss: bool) -> Vec<u8> {
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

pub fn tree() -> FakeProc {
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
        // Root-owned files of mode 000 stop nobody, not root.
        set_mode(&dir.join(f), 0o000);
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
pub const GOOD: &str = "2,100,200,300,400,500,600";

fn args(fake: &FakeProc, extra: &[&str]) -> Vec<OsString> {
    let mut a: Vec<OsString> = vec!["--proc-root".into(), fake.root().into()];
    a.extend(extra.iter().map(OsString::from));
    a
}

pub fn run(fake: &FakeProc, extra: &[&str]) -> Output {
    run_pmaps(args(fake, extra))
}

/// Runs pmaps as nobody, for whom the mode-000 files of pid 700 fail with EACCES, as another
/// user's `/proc/PID/smaps` does. (Root reads a mode-000 file, so the denial is simulated
/// with file permissions; the EACCES and the path to it through pmaps are real.)
pub fn run_denied(fake: &FakeProc, extra: &[&str]) -> Output {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        run_pmaps_as_nobody(args(fake, extra))
    } else {
        run(fake, extra)
    }
}
