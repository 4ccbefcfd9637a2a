//! The plan on fake trees, where every file and every count is known.

use std::ffi::OsStr;

use serde_json::Value;

use crate::support::*;

/// One mapping of a fake process: address, perms, inode, path, its smaps amounts, and
/// whether its `VmFlags` say hugetlb (`ht`).
pub(super) struct M {
    start: u64,
    perms: &'static str,
    inode: u64,
    path: &'static [u8],
    kb: SmapsKb,
    ht: bool,
}

impl M {
    /// The same mapping in huge pages of hugetlbfs: `ht` in its `VmFlags` (which `maps`
    /// does not show).
    pub(super) fn hugetlb(self) -> M {
        M { ht: true, ..self }
    }
}

pub(super) fn m(
    start: u64,
    perms: &'static str,
    inode: u64,
    path: &'static [u8],
    kb: SmapsKb,
) -> M {
    M {
        start,
        perms,
        inode,
        path,
        kb,
        ht: false,
    }
}

pub(super) fn header(x: &M) -> Vec<u8> {
    let dev = if x.inode == 0 { "00:00" } else { "fe:01" };
    let end = x.start + x.kb.size * 1024;
    map_header(x.start, end, x.perms, 0, dev, x.inode, x.path)
}

pub(super) fn maps_of(list: &[M]) -> Vec<u8> {
    list.iter().flat_map(header).collect()
}

pub(super) fn smaps_of(list: &[M]) -> Vec<u8> {
    list.iter()
        .flat_map(|x| {
            let record = full_smaps_record(header(x), x.kb);
            if !x.ht {
                return record;
            }
            // The record ends in `VmFlags: … \n`: `ht` goes before the trailing space.
            let end = record.len() - b" \n".len();
            [&record[..end], b" ht \n"].concat()
        })
        .collect()
}

const SSL_OLD: &[u8] = b"/usr/lib/libssl.so.3 (deleted)";
const SSL: &[u8] = b"/usr/lib/libssl.so.3";
const LIBC: &[u8] = b"/usr/lib/libc.so.6";
const DB_OLD: &[u8] = b"/var/tmp/old.db (deleted)";
const MEMFD: &[u8] = b"/memfd:pool (deleted)";
const SYSV: &[u8] = b"/SYSV00001234 (deleted)";
const SSL1_OLD: &[u8] = b"/opt/lib/libssl.so.1 (deleted)";

pub(super) fn libc(start: u64) -> M {
    m(start, "r-xp", 20, LIBC, SmapsKb::private_clean(400))
}

pub(super) fn heap(start: u64, kb: u64) -> M {
    m(start, "rw-p", 0, b"[heap]", SmapsKb::private_dirty(kb, kb))
}

/// The processes of the tree, each with the same mappings in `maps` and `smaps` (except
/// where named):
/// - 10 `svc-old` maps a deleted libssl; 11 `svc-new` the live one;
/// - 12 `pool` a memfd and a SysV segment (" (deleted)" in name only);
/// - 13 `data` a deleted data file; 14 `plain` neither;
/// - 15 `no-maps` has no `maps` file, 16 `fifo-maps` a FIFO there (both map a deleted
///   libssl.so.1: `maps` cannot tell, so `smaps` is read);
/// - 18 `unmapped`: its `maps` shows a deleted libssl that its later `smaps` no longer has
///   (unmapped between the two reads: `smaps` decides, the process adds nothing);
/// - 2 a kernel thread, 500 a zombie.
fn tree() -> FakeProc {
    let fake = FakeProc::new();
    let proc = |pid: u32, comm: &[u8], uid: u32, list: &[M]| {
        fake.process(pid)
            .comm(comm)
            .uid(uid)
            .cmdline(&[comm, b"\0"].concat())
            .maps(&maps_of(list))
            .smaps(&smaps_of(list))
    };
    let base = 0x5555_0000_0000;
    proc(
        10,
        b"svc-old",
        0,
        &[
            m(base, "r-xp", 31, SSL_OLD, SmapsKb::private_clean(600)),
            m(
                base + 0x10_0000,
                "rw-p",
                31,
                SSL_OLD,
                SmapsKb::private_dirty(24, 16),
            ),
            libc(base + 0x20_0000),
            heap(base + 0x30_0000, 132),
        ],
    )
    .write();
    proc(
        11,
        b"svc-new",
        65534,
        &[
            m(base, "r-xp", 32, SSL, SmapsKb::private_clean(600)),
            libc(base + 0x20_0000),
            heap(base + 0x30_0000, 64),
        ],
    )
    .write();
    proc(
        12,
        b"pool",
        0,
        &[
            m(base, "rw-s", 7, MEMFD, SmapsKb::private_dirty(256, 128)),
            m(
                base + 0x10_0000,
                "rw-s",
                0,
                SYSV,
                SmapsKb::private_dirty(512, 512),
            ),
            libc(base + 0x20_0000),
        ],
    )
    .write();
    proc(
        13,
        b"data",
        65534,
        &[
            m(base, "r--s", 40, DB_OLD, SmapsKb::private_clean(2048)),
            libc(base + 0x20_0000),
        ],
    )
    .write();
    proc(
        14,
        b"plain",
        0,
        &[libc(base + 0x20_0000), heap(base + 0x30_0000, 8)],
    )
    .write();
    let ssl1 = [
        m(base, "r-xp", 33, SSL1_OLD, SmapsKb::private_clean(300)),
        libc(base + 0x20_0000),
    ];
    for (pid, comm) in [(15, &b"no-maps"[..]), (16, b"fifo-maps")] {
        let dir = fake.process(pid).comm(comm).smaps(&smaps_of(&ssl1)).write();
        if pid == 16 {
            mkfifo(&dir.join("maps"));
        }
    }
    let before = [
        m(base, "r-xp", 31, SSL_OLD, SmapsKb::private_clean(600)),
        libc(base + 0x20_0000),
    ];
    fake.process(18)
        .comm(b"unmapped")
        .maps(&maps_of(&before))
        .smaps(&smaps_of(&before[1..]))
        .write();
    no_memory(&fake);
    fake
}

/// Processes without memory of their own: 2, a kernel thread, and 500, a zombie.
pub(super) fn no_memory(fake: &FakeProc) {
    fake.process(2)
        .comm(b"kthreadd")
        .ppid(0)
        .flags(PF_KTHREAD)
        .write();
    fake.process(500).comm(b"zed").state(b'Z').write();
}

fn pmaps_json(fake: &FakeProc, args: &[&str]) -> Value {
    let mut cmd = pmaps_on(fake.root());
    cmd.args(args).args(["-f", "json"]);
    let out = output(cmd);
    assert_exit(&out, 0);
    parse_json(&out)
}

/// The document without what changes from run to run (time and duration).
pub(super) fn settled(mut doc: Value) -> Value {
    let meta = doc["meta"].as_object_mut().expect("meta");
    meta.remove("time_utc");
    meta.remove("duration_seconds");
    doc
}

const QUESTIONS: [&[&str]; 5] = [
    &["-k", "deleted"],
    &["-m", "libssl"],
    &["-k", "deleted,memfd", "-m", r"\.so|pool"],
    &["-k", "shm"],
    &["-m", "^/nothing"],
];

const GROUPS: [&str; 6] = ["file", "process", "user", "kind", "file,process", "command"];

#[test]
fn a_prefiltered_report_is_the_report_read_in_full() {
    let fake = tree();
    for q in QUESTIONS {
        for g in GROUPS {
            let args: Vec<&str> = [q, &["-g", g]].concat();
            let planned = settled(pmaps_json(&fake, &args));
            let full = settled(pmaps_json(
                &fake,
                &[&args[..], &["--no-prefilter"]].concat(),
            ));
            assert_eq!(planned, full, "pmaps {args:?}");
        }
    }
}

/// The rows of `-g file` with a filter are the rows of the unfiltered report that match it.
#[test]
fn a_filtered_file_report_is_the_full_reports_matching_rows() {
    let fake = tree();
    let all = pmaps_json(&fake, &["-g", "file"]);
    let rows = |doc: &Value| doc["rows"].as_array().expect("rows").clone();
    let matching = |keep: &dyn Fn(&Value) -> bool| -> Vec<Value> {
        rows(&all).into_iter().filter(|r| keep(r)).collect()
    };
    let deleted = matching(&|r| r["kind"] == "deleted");
    let paths: Vec<&str> = deleted
        .iter()
        .map(|r| r["path"].as_str().expect("path"))
        .collect();
    assert_eq!(
        paths,
        [
            "/var/tmp/old.db (deleted)",
            "/usr/lib/libssl.so.3 (deleted)",
            "/opt/lib/libssl.so.1 (deleted)"
        ]
    );
    assert_eq!(rows(&pmaps_json(&fake, &["-k", "deleted"])), deleted);
    let ssl = matching(&|r| r["path"].as_str().is_some_and(|p| p.contains("libssl")));
    assert_eq!(ssl.len(), 3);
    assert_eq!(rows(&pmaps_json(&fake, &["-m", "libssl"])), ssl);
}

fn explain(fake: &FakeProc, args: &[&str]) -> String {
    let mut cmd = pmaps_on(fake.root());
    cmd.args(args).args(["-f", "csv", "--explain"]);
    let out = output(cmd);
    assert_exit(&out, 0);
    stderr(&out)
}

#[test]
fn explain_says_which_files_are_read_and_what_maps_ruled_out() {
    let fake = tree();
    // Read: 10, 11, 12, 13, 14, 15, 16, 18. Ruled out by maps: 11, 12, 14. The others have
    // a candidate (10, 13, 18) or a maps that cannot tell (15 missing, 16 a FIFO).
    assert_eq!(
        explain(&fake, &["-k", "deleted"]),
        "pmaps: plan: stat   every process: identity (start time), state, kernel thread; read \
         again after each map file to find a read cut short by an exit or exec\n\
         pmaps: plan: maps   every process kept: which processes have a mapping that passes \
         --kind deleted: no page walk, stops at the first such mapping\n\
         pmaps: plan: smaps  only processes with a matching mapping: the figures of the \
         mappings that pass --kind deleted; its record of each mapping decides (page walk)\n\
         pmaps: plan: maps ruled out 3 of the 8 processes read: 5 read in full from smaps\n"
    );
    // The process filters come first; the plan says why each small file is read.
    let text = explain(&fake, &["-m", "libssl", "-u", "root", "-g", "process"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "pmaps: plan: the process filters decide on the small files, before any map file \
             is read",
            "pmaps: plan: stat     every process: identity (start time), state, kernel thread; \
             read again after each map file to find a read cut short by an exit or exec",
            "pmaps: plan: status   every process: the effective uid for --user, the user \
             column of -g process",
            "pmaps: plan: cmdline  every process: the command column of -g process",
            "pmaps: plan: maps     every process kept: which processes have a mapping that \
             passes --map 'libssl': no page walk, stops at the first such mapping",
            "pmaps: plan: smaps    only processes with a matching mapping: the figures of the \
             mappings that pass --map 'libssl'; its record of each mapping decides (page walk)",
            // Root's: 10, 12, 14, 15, 16, 18 (11 and 13 are nobody's); 12 and 14 ruled out.
            "pmaps: plan: maps ruled out 2 of the 6 processes read: 4 read in full from smaps",
        ]
    );
    // Read in full: no maps pass, and no result line.
    let text = explain(&fake, &["-k", "deleted", "--no-prefilter"]);
    assert!(!text.contains("plan: maps"), "{text}");
    assert!(
        text.contains("pmaps: plan: smaps  every process kept: the figures of the mappings that pass --kind deleted; every process's smaps (--no-prefilter"),
        "{text}"
    );
    // --vsz: maps alone (of the processes that have one).
    let text = explain(&fake, &["--vsz", "-g", "kind", "-p", "10,11,12,13,14"]);
    let files: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("pmaps: plan: "))
        .map(|l| l.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(files, ["only", "stat", "maps"], "{text}");
    assert!(
        text.starts_with("pmaps: plan: only the 5 PIDs given with --pid are opened\n"),
        "{text}"
    );
}

#[test]
fn json_meta_carries_the_plan_only_when_asked() {
    let fake = tree();
    let plain = pmaps_json(&fake, &["-k", "deleted"]);
    assert!(plain["meta"].get("plan").is_none(), "{}", plain["meta"]);
    let mut cmd = pmaps_on(fake.root());
    cmd.args(["-k", "deleted", "-f", "json", "--explain"]);
    let out = output(cmd);
    assert_exit(&out, 0);
    let doc = parse_json(&out);
    let plan = &doc["meta"]["plan"];
    assert_eq!(plan["maps_pass"], "prefilter");
    assert_eq!(plan["ruled_out_by_maps"], 3);
    let steps: Vec<(&str, &str)> = plan["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["file"].as_str().expect("file"),
                s["scope"].as_str().expect("scope"),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [("stat", "listed"), ("maps", "kept"), ("smaps", "matching")]
    );
    // The rest of the document is the one without --explain.
    let mut without = settled(doc.clone());
    without["meta"]
        .as_object_mut()
        .expect("meta")
        .remove("plan");
    assert_eq!(without, settled(plain));
}

/// A process ruled out by its `maps` never has its `smaps` opened: a malformed one is then
/// no error. Read in full, the same tree is a partial report.
#[test]
fn a_process_ruled_out_by_maps_is_not_read_further() {
    let fake = FakeProc::new();
    let list = [libc(0x5555_0000_0000), heap(0x5555_0030_0000, 8)];
    let mut broken = smaps_of(&list);
    broken.extend_from_slice(b"Rss:        not-a-number kB\n");
    fake.process(20)
        .comm(b"broken")
        .maps(&maps_of(&list))
        .smaps(&broken)
        .write();
    let out = output({
        let mut c = pmaps_on(fake.root());
        c.args(["-k", "deleted", "-f", "json"]);
        c
    });
    assert_exit(&out, 0);
    assert_eq!(only_outcome(&parse_json(&out)), "read");
    let out = output({
        let mut c = pmaps_on(fake.root());
        c.args(["-k", "deleted", "-f", "json", "--no-prefilter"]);
        c
    });
    assert_exit(&out, 3);
    assert_eq!(only_outcome(&parse_json(&out)), "error");
}

/// `maps` decides only what is read; a mapping created after the `maps` read is missed, as
/// one created after the scan would be (here: `maps` shows none, the later `smaps` has one).
/// Read in full, it is found.
#[test]
fn a_mapping_created_between_the_two_reads_is_missed_like_one_created_after_the_scan() {
    let fake = FakeProc::new();
    let later = [
        libc(0x5555_0000_0000),
        m(
            0x5555_0010_0000,
            "r-xp",
            31,
            SSL_OLD,
            SmapsKb::private_clean(600),
        ),
    ];
    fake.process(21)
        .comm(b"late")
        .maps(&maps_of(&later[..1]))
        .smaps(&smaps_of(&later))
        .write();
    let planned = pmaps_json(&fake, &["-k", "deleted"]);
    assert_eq!(planned["rows"].as_array().map(Vec::len), Some(0));
    assert_eq!(only_outcome(&planned), "read");
    let full = pmaps_json(&fake, &["-k", "deleted", "--no-prefilter"]);
    assert_eq!(full["rows"].as_array().map(Vec::len), Some(1));
}

/// With the `Maps` column asked for, a per-process report still reads the rollup for its
/// totals, and counts each process's mappings in its `maps`: the counts of the same report
/// from smaps. (Sorted by mappings, it reads smaps.)
#[test]
fn the_maps_column_counts_them_in_maps_beside_the_rollup() {
    let fake = FakeProc::new();
    for (pid, n) in [(30u32, 3u64), (31, 5), (32, 1)] {
        let list: Vec<M> = (0..n)
            .map(|i| heap(0x5555_0000_0000 + i * 0x10_0000, 4 * (i + 1)))
            .collect();
        let rss: u64 = list.iter().map(|x| x.kb.rss).sum();
        let rollup = smaps_record(
            map_header(
                0x5555_0000_0000,
                0x7fff_0000_0000,
                "---p",
                0,
                "00:00",
                0,
                b"[rollup]",
            ),
            &[
                ("Rss", rss),
                ("Pss", rss),
                ("Private_Dirty", rss),
                ("Swap", 0),
                ("SwapPss", 0),
            ],
        );
        fake.process(pid)
            .comm(format!("p{pid}").as_bytes())
            .maps(&maps_of(&list))
            .smaps(&smaps_of(&list))
            .smaps_rollup(&rollup)
            .write();
    }
    let columns = ["--columns", "pid,mappings,rss"];
    let counted = pmaps_json(&fake, &[&["-g", "process"], &columns[..]].concat());
    assert_eq!(counted["meta"]["source"], "smaps_rollup");
    assert_eq!(counted["meta"]["coverage"]["mappings"], 9);
    let by_pid = |doc: &Value| -> Vec<(u64, u64, u64)> {
        doc["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| {
                (
                    r["pid"].as_u64().expect("pid"),
                    r["mappings"].as_u64().expect("a known count"),
                    r["rss_bytes"].as_u64().expect("rss"),
                )
            })
            .collect()
    };
    assert_eq!(
        by_pid(&counted),
        [(31, 5, 60 * 1024), (30, 3, 24 * 1024), (32, 1, 4 * 1024)]
    );
    let from_smaps = pmaps_json(
        &fake,
        &[&["-g", "process", "--source", "smaps"], &columns[..]].concat(),
    );
    assert_eq!(from_smaps["meta"]["source"], "smaps");
    assert_eq!(by_pid(&from_smaps), by_pid(&counted));
    let sorted = pmaps_json(
        &fake,
        &[&["-g", "process", "-s", "mappings"], &columns[..]].concat(),
    );
    assert_eq!(sorted["meta"]["source"], "smaps_rollup");
    assert_eq!(
        by_pid(&sorted),
        [(31, 5, 60 * 1024), (30, 3, 24 * 1024), (32, 1, 4 * 1024)]
    );
    // Not asked for: the rollup alone, no count.
    let plain = pmaps_json(&fake, &["-g", "process"]);
    assert_eq!(plain["meta"]["coverage"]["mappings"], Value::Null);
    assert_eq!(plain["rows"][0]["mappings"], Value::Null);
    let mut cmd = pmaps_on(fake.root());
    cmd.args(["-g", "process"]).args(columns);
    let table = expect_exit(&output(cmd), 0);
    assert!(
        table.contains("3 processes: 3 read; 9 mappings from maps, totals from smaps_rollup; "),
        "{table}"
    );
}

#[test]
fn the_new_switches_belong_to_the_report_not_to_show() {
    for flag in ["--explain", "--no-prefilter"] {
        let out = run_pmaps([OsStr::new(flag), OsStr::new("show"), OsStr::new("1")]);
        assert_exit(&out, 2);
        assert!(stderr(&out).contains(flag), "{}", stderr(&out));
    }
}
