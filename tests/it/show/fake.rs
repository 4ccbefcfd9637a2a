//! `pmaps show` on fake proc trees: which processes a name matches (and which it never
//! does), and the totals and `--merge` table on known values.

use std::ffi::OsStr;
use std::process::Output;

use super::PAGE;
use crate::support::*;

/// One small smaps record for a fake process.
fn one_record(rss_kb: u64) -> Vec<u8> {
    full_smaps_record(
        map_header(0x1000, 0x1000 + 16 * PAGE, "rw-p", 0, "00:00", 0, b""),
        SmapsKb::private_dirty(64, rss_kb),
    )
}

/// A fake tree for the name rules: pmaps itself (50), a wrapper running it (51), three
/// processes the name `web` matches in different ways (60 by both, 61 by its command line
/// only, 62 by its comm only), a kernel thread (63) and a zombie (65) named like them, and
/// another process (64).
fn name_tree() -> FakeProc {
    let fake = FakeProc::new();
    fake.self_pid(50);
    let procs: [(u32, &[u8], &[u8]); 6] = [
        (50, b"pmaps", b"pmaps\0show\0web\0"),
        (51, b"sudo", b"sudo\0pmaps\0show\0web\0"),
        (60, b"webd", b"/usr/sbin/webd\0-f\0"),
        (61, b"python3", b"python3\0/srv/web/app.py\0"),
        (62, b"web-cache", b""),
        (64, b"other", b"other\0--quiet\0"),
    ];
    for (pid, comm, cmdline) in procs {
        fake.process(pid)
            .comm(comm)
            .cmdline(cmdline)
            .smaps(&one_record(u64::from(pid)))
            .write();
    }
    fake.process(63)
        .comm(b"webkthread")
        .flags(PF_KTHREAD)
        .write();
    fake.process(65).comm(b"webzombie").state(b'Z').write();
    fake
}

fn shown_pids(out: &Output) -> Vec<String> {
    let mut pids: Vec<String> = Vec::new();
    for r in csv_records(&out.stdout) {
        if pids.last() != Some(&r["pid"]) {
            pids.push(r["pid"].clone());
        }
    }
    pids
}

#[test]
fn names_match_comm_or_command_line_but_not_pmaps_its_wrappers_or_processes_without_memory() {
    let fake = name_tree();
    let root = fake.root().as_os_str();
    let show = |args: &[&str], code: i32| {
        let mut all: Vec<&OsStr> = vec![OsStr::new("show"), OsStr::new("--proc-root"), root];
        all.extend(args.iter().map(OsStr::new));
        all.extend([OsStr::new("-f"), OsStr::new("csv")]);
        pmaps_ok(all, code)
    };
    assert_eq!(shown_pids(&show(&["web"], 0)), ["60", "61", "62"]);
    assert_eq!(shown_pids(&show(&["srv/web/app"], 0)), ["61"]);
    // Targets in order, each process once.
    assert_eq!(
        shown_pids(&show(&["64", "web", "61"], 0)),
        ["64", "60", "61", "62"]
    );
    // A PID is taken as given, even a kernel thread (shown with no mappings).
    let kthread = show(&["63"], 0);
    assert!(shown_pids(&kthread).is_empty());
    assert_eq!(
        text(&kthread.stderr),
        "pmaps: 63 (webkthread): kernel thread, no user memory map\n"
    );
    let table = pmaps_ok(
        [
            OsStr::new("show"),
            OsStr::new("--proc-root"),
            root,
            OsStr::new("63"),
        ],
        0,
    );
    assert_eq!(
        text(&table.stdout),
        "63: [webkthread] (root)\n  (kernel thread, no user memory map)\n"
    );
    let zombie = show(&["65"], 0);
    assert!(shown_pids(&zombie).is_empty());
    assert_eq!(
        text(&zombie.stderr),
        "pmaps: 65 (webzombie): zombie, no memory left to show\n"
    );
    let none = show(&["WEB"], 4);
    assert_eq!(
        text(&none.stderr),
        "pmaps: no process matches 'WEB' (neither its command name nor its command line)\n"
    );
    let missing = show(&["999"], 4);
    assert_eq!(text(&missing.stderr), "pmaps: no process 999\n");
    let some = show(&["web", "999"], 3);
    assert_eq!(shown_pids(&some), ["60", "61", "62"]);
    assert_eq!(text(&some.stderr), "pmaps: no process 999\n");
    // Usage errors.
    let usage = |args: &[&str]| {
        let mut all = vec!["show"];
        all.extend_from_slice(args);
        let out = pmaps_ok(all, 2);
        text(&out.stderr)
    };
    assert!(usage(&[]).contains("required"));
    assert!(usage(&[""]).contains("empty name"));
    assert!(usage(&["0"]).contains("not a valid PID"));
    let report_flag = pmaps_ok(["-g", "user", "show", "1"], 2);
    assert!(text(&report_flag.stderr).contains("--group-by applies to the report"));
}

/// A fake process with three mappings of known values (Swap and SwapPss included).
fn totals_tree() -> FakeProc {
    let fake = FakeProc::new();
    let lib = b"/usr/lib/lib x.so";
    let mut smaps = Vec::new();
    smaps.extend(full_smaps_record(
        map_header(
            0x7f00_0000_0000,
            0x7f00_0000_4000,
            "r--p",
            0,
            "fe:01",
            77,
            lib,
        ),
        SmapsKb {
            size: 16,
            rss: 12,
            pss: 5,
            shared_clean: 8,
            private_clean: 4,
            ..SmapsKb::default()
        },
    ));
    smaps.extend(full_smaps_record(
        map_header(
            0x7f00_0000_4000,
            0x7f00_0000_9000,
            "r-xp",
            0x4000,
            "fe:01",
            77,
            lib,
        ),
        SmapsKb {
            size: 20,
            rss: 20,
            pss: 9,
            shared_clean: 16,
            shared_dirty: 2,
            private_clean: 2,
            ..SmapsKb::default()
        },
    ));
    smaps.extend(full_smaps_record(
        map_header(
            0x7f00_0001_0000,
            0x7f00_0002_0000,
            "rw-p",
            0,
            "00:00",
            0,
            b"",
        ),
        SmapsKb {
            size: 64,
            rss: 24,
            pss: 24,
            private_dirty: 24,
            swap: 12,
            swap_pss: 6,
            ..SmapsKb::default()
        },
    ));
    fake.process(70)
        .comm(b"fixture")
        .cmdline(b"/opt/fixture\0--x\0")
        .smaps(&smaps)
        .write();
    fake
}

#[test]
fn totals_and_merge_on_known_values() {
    let fake = totals_tree();
    let root = fake.root().as_os_str();
    let json = parse_json(&pmaps_ok(
        [
            OsStr::new("show"),
            OsStr::new("--proc-root"),
            root,
            OsStr::new("70"),
            OsStr::new("-f"),
            OsStr::new("json"),
        ],
        0,
    ));
    let p = &json["processes"][0];
    assert_eq!(p["pid"], 70);
    assert_eq!(p["command"], "/opt/fixture --x");
    assert_eq!(p["outcome"], "read");
    let t = &p["totals"];
    let kbs: Vec<u64> = [
        "size_bytes",
        "rss_bytes",
        "pss_bytes",
        "uss_bytes",
        "dirty_bytes",
        "swap_bytes",
        "swap_pss_bytes",
    ]
    .iter()
    .map(|k| kb(&t[*k]))
    .collect();
    // uss = private clean + private dirty; dirty = shared dirty + private dirty.
    assert_eq!(kbs, [100, 56, 38, 30, 26, 12, 6]);
    assert_eq!(t["mappings"], 3);
    let m = &p["mappings"][1];
    assert_eq!(m["address"], "7f0000004000-7f0000009000");
    assert_eq!(m["perms"], "r-xp");
    assert_eq!(m["offset"], 0x4000);
    assert_eq!(m["device"], "fe:01");
    assert_eq!(m["inode"], 77);
    assert_eq!(m["path"], "/usr/lib/lib x.so");
    assert_eq!(m["kind"], "file");

    let table = text(
        &pmaps_ok(
            [
                OsStr::new("show"),
                OsStr::new("--proc-root"),
                root,
                OsStr::new("70"),
                OsStr::new("--merge"),
            ],
            0,
        )
        .stdout,
    );
    let expected = "\
70: /opt/fixture --x (root)
Address                    Perms  Offset    Device  Inode  Maps  Size KiB  RSS KiB  PSS KiB  USS KiB  Dirty KiB  Swap KiB  SwapPSS KiB  Kind  Mapping
-------------------------- ------ --------- ------- ------ ----- --------- -------- -------- -------- ---------- --------- ------------ ----- ------------------
7f0000000000-7f0000009000  r-*p   00000000  fe:01      77     2        36       32       14        6          2         0            0  file  /usr/lib/lib x.so
7f0000010000-7f0000020000  rw-p   00000000  00:00       0     1        64       24       24       24         24        12            6  anon  [anon]
TOTAL                                                         3       100       56       38       30         26        12            6        3 mappings
";
    assert_eq!(table, expected);
}
