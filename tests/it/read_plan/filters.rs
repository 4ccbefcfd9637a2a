//! Every filter, every grouping, every source: the prefiltered report is the report read in
//! full (`--no-prefilter`), byte for byte. The tree holds mappings whose kind only `smaps`
//! tells (its `VmFlags` say hugetlb, or say that `/anon_hugepage (deleted)` is not), processes
//! in systemd units and containers, a process without `maps` and one whose `maps` is a FIFO;
//! it is read live (`--proc-root`), from a `pmaps capture` of it and from a smemcap-style
//! archive of it (`--from`), where `maps` is only what the archive's `smaps` implies.

use std::process::Output;

use serde_json::Value;

use super::fake::{M, heap, libc, m, maps_of, no_memory, settled, smaps_of};
use crate::support::*;

const DOCKER: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904a6b9f6f2ab3b8c5f1d4e2a61";
const CRI: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const NGINX_UNIT: &str = "0::/system.slice/nginx.service\n";
const SESSION: &str = "0::/user.slice/user-1000.slice/session-3.scope\n";

const BASE: u64 = 0x5555_0000_0000;

fn at(i: u64) -> u64 {
    BASE + i * 0x10_0000
}

/// One process of the tree: PID, comm, uid, cgroup file, mappings.
struct P {
    pid: u32,
    comm: &'static [u8],
    uid: u32,
    cgroup: String,
    maps: Vec<M>,
}

/// A library (or a file) of `kb` kB at slot `i`, mapped read-only.
fn lib(i: u64, inode: u64, path: &'static [u8], kb: u64) -> M {
    m(at(i), "r-xp", inode, path, SmapsKb::private_clean(kb))
}

/// 2 MiB of shared memory at slot `i` (in huge pages once `.hugetlb()`).
fn shared(i: u64, inode: u64, path: &'static [u8]) -> M {
    m(
        at(i),
        "rw-s",
        inode,
        path,
        SmapsKb::private_dirty(2048, 2048),
    )
}

const SSL_OLD: &[u8] = b"/usr/lib/libssl.so.3 (deleted)";
const SYSV: &[u8] = b"/SYSV00000000 (deleted)";

/// The processes (every one of them also maps libc):
/// - 10, 11 `nginx` (uid 33, nginx.service): a deleted libssl / the live one;
/// - 12 `postgres` (uid 999, a Docker container): a SysV segment in huge pages and an
///   ordinary one (the same name), a file of a hugetlbfs mount (hugetlb: smaps says so);
/// - 13 `redis` (uid 999, a Kubernetes pod): a memfd in huge pages (hugetlb, not memfd);
/// - 14 `odd` (root, a login session): `/anon_hugepage (deleted)` whose smaps says it is not
///   hugetlb: a deleted file of that name, which the path alone would call hugetlb;
/// - 15 `bash` (uid 1000, the session): heap and stack only;
/// - 16 `no-maps` (root, nginx.service): a deleted library in smaps, no `maps` at all;
/// - 17 `fifo-maps` (root): a deleted library, `maps` a FIFO;
/// - 2 a kernel thread, 500 a zombie.
fn processes() -> Vec<P> {
    let docker = format!("0::/system.slice/docker-{DOCKER}.scope\n");
    let pod = format!(
        "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0b6e5bd4_5f7a_4b1e_9d3c_2a1f0e9d8c7b.slice/cri-containerd-{CRI}.scope\n"
    );
    let p = |pid, comm, uid, cgroup: &str, maps| P {
        pid,
        comm,
        uid,
        cgroup: cgroup.to_string(),
        maps,
    };
    let stack = m(
        at(4),
        "rw-p",
        0,
        b"[stack]",
        SmapsKb::private_dirty(132, 20),
    );
    vec![
        p(
            10,
            b"nginx",
            33,
            NGINX_UNIT,
            vec![lib(0, 31, SSL_OLD, 600), libc(at(2)), heap(at(3), 132)],
        ),
        p(
            11,
            b"nginx",
            33,
            NGINX_UNIT,
            vec![
                lib(0, 32, b"/usr/lib/libssl.so.3", 600),
                libc(at(2)),
                heap(at(3), 64),
            ],
        ),
        p(
            12,
            b"postgres",
            999,
            &docker,
            vec![
                shared(0, 4002, SYSV).hugetlb(),
                m(at(8), "rw-s", 4003, SYSV, SmapsKb::private_dirty(512, 256)),
                shared(16, 4006, b"/dev/hugepages/pg").hugetlb(),
                libc(at(24)),
            ],
        ),
        p(
            13,
            b"redis",
            999,
            &pod,
            vec![
                shared(0, 4004, b"/memfd:pool (deleted)").hugetlb(),
                libc(at(8)),
            ],
        ),
        p(
            14,
            b"odd",
            0,
            SESSION,
            vec![lib(0, 4001, b"/anon_hugepage (deleted)", 64), libc(at(2))],
        ),
        p(
            15,
            b"bash",
            1000,
            SESSION,
            vec![libc(at(2)), heap(at(3), 8), stack],
        ),
    ]
}

/// A library deleted since it was mapped, for 16 and 17.
fn old_ssl1() -> Vec<M> {
    vec![
        lib(0, 33, b"/opt/lib/libssl.so.1 (deleted)", 300),
        libc(at(2)),
    ]
}

fn tree() -> FakeProc {
    let fake = FakeProc::new();
    for p in processes() {
        fake.process(p.pid)
            .comm(p.comm)
            .uid(p.uid)
            .cmdline(&[p.comm, b"\0--serve\0"].concat())
            .file("cgroup", p.cgroup.as_bytes())
            .maps(&maps_of(&p.maps))
            .smaps(&smaps_of(&p.maps))
            .write();
    }
    fake.process(16)
        .comm(b"no-maps")
        .file("cgroup", NGINX_UNIT.as_bytes())
        .smaps(&smaps_of(&old_ssl1()))
        .write();
    let dir = fake
        .process(17)
        .comm(b"fifo-maps")
        .smaps(&smaps_of(&old_ssl1()))
        .write();
    mkfifo(&dir.join("maps"));
    no_memory(&fake);
    fake
}

/// The mapping filters (the prefilter's questions), each kind among them.
const QUESTIONS: [&[&str]; 12] = [
    &["-k", "deleted"],
    &["-k", "hugetlb"],
    &["-k", "shm"],
    &["-k", "memfd"],
    &["-k", "file"],
    &["-k", "heap,stack"],
    &["-k", "anon,vdso,other"],
    &["-k", "deleted,memfd", "-m", r"\.so|pool"],
    &["-k", "shm,hugetlb"],
    &["-m", "libssl"],
    &["-m", "^/dev/hugepages"],
    &["-m", "^/nothing"],
];

/// The groupings that keep each mapping's path or kind, and those of per-process totals.
const PER_MAPPING: [&str; 6] = [
    "kind",
    "file",
    "file,process",
    "process,file",
    "file,container",
    "container,file",
];
const PER_PROCESS: [&str; 6] = ["process", "user", "command", "cgroup", "unit", "container"];

/// Where the processes are read from: `--proc-root DIR` or `--from ARCHIVE`.
fn run(source: &[&str], args: &[&str]) -> Output {
    let mut all: Vec<&str> = source.to_vec();
    all.extend_from_slice(args);
    run_pmaps(all)
}

/// Runs `args` with and without the prefilter: both exit alike, and their standard outputs
/// are equal byte for byte (`settle` removes what a run's clock writes in it).
fn same_both_ways(source: &[&str], args: &[&str], settle: fn(&Output) -> Vec<u8>) -> Vec<u8> {
    let planned = run(source, args);
    let full = run(source, &[args, &["--no-prefilter"]].concat());
    assert_eq!(
        planned.status.code(),
        full.status.code(),
        "pmaps {args:?}: {}",
        stderr(&planned)
    );
    assert!(
        matches!(planned.status.code(), Some(0 | 3)),
        "pmaps {args:?}: {}",
        stderr(&planned)
    );
    let (a, b) = (settle(&planned), settle(&full));
    assert!(
        a == b,
        "pmaps {source:?} {args:?}:\n{}\n--no-prefilter:\n{}",
        String::from_utf8_lossy(&a),
        String::from_utf8_lossy(&b)
    );
    a
}

fn raw(o: &Output) -> Vec<u8> {
    o.stdout.clone()
}

/// The JSON document without its time and duration.
fn json_settled(o: &Output) -> Vec<u8> {
    serde_json::to_vec_pretty(&settled(parse_json(o))).expect("JSON")
}

/// The Prometheus file without the scan's start time and duration.
fn prom_settled(o: &Output) -> Vec<u8> {
    let text = String::from_utf8(o.stdout.clone()).expect("UTF-8");
    text.lines()
        .filter(|l| {
            !l.starts_with("pmaps_scan_duration_seconds ")
                && !l.starts_with("pmaps_last_success_timestamp_seconds ")
        })
        .flat_map(|l| [l, "\n"])
        .collect::<String>()
        .into_bytes()
}

fn root_of(fake: &FakeProc) -> String {
    fake.root().to_str().expect("UTF-8 root").to_string()
}

#[test]
fn every_kind_and_path_filter_in_every_grouping_reads_the_same_report() {
    let fake = tree();
    let root = root_of(&fake);
    let source = ["--proc-root", root.as_str()];
    for q in QUESTIONS {
        for g in PER_MAPPING.into_iter().chain(PER_PROCESS) {
            let args = [q, &["-g", g, "-f", "csv"]].concat();
            same_both_ways(&source, &args, raw);
        }
        let args = [q, &["-g", "file", "-f", "json"]].concat();
        same_both_ways(&source, &args, json_settled);
        let args = [q, &["-f", "prometheus", "--prom-min", "0"]].concat();
        same_both_ways(&source, &args, prom_settled);
    }
}

/// The process filters decide before any map file is read; with a mapping filter after them,
/// the report is still the one read in full, and the process filters still filter.
#[test]
fn every_process_filter_with_a_mapping_filter_reads_the_same_report() {
    let fake = tree();
    let root = root_of(&fake);
    let source = ["--proc-root", root.as_str()];
    let container = &DOCKER[..12];
    let filters: [&[&str]; 8] = [
        &[],
        &["-u", "33"],
        &["-u", "0,999"],
        &["-c", "nginx|odd"],
        &["-p", "10,12,14,16"],
        &["--cgroup", "system\\.slice"],
        &["--unit", "nginx.service"],
        &["--container", container],
    ];
    let mut kept = Vec::new();
    for f in filters {
        for q in [
            &["-k", "deleted"][..],
            &["-k", "hugetlb"],
            &["-m", "libssl|pool"],
        ] {
            for g in ["process", "file,process", "unit", "container"] {
                let args = [f, q, &["-g", g, "-f", "json"]].concat();
                let doc = same_both_ways(&source, &args, json_settled);
                if g == "process" {
                    let doc: Value = serde_json::from_slice(&doc).expect("JSON");
                    kept.push((f, q[1], row_pids(&doc)));
                }
            }
        }
    }
    // Not vacuous: the filters keep what they should.
    let pids = |f: &[&str], q: &str| -> Vec<u64> {
        kept.iter()
            .find(|k| k.0 == f && k.1 == q)
            .map(|k| {
                let mut p = k.2.clone();
                p.sort_unstable();
                p
            })
            .expect("run")
    };
    assert_eq!(pids(&[], "deleted"), [10, 14, 16, 17]);
    assert_eq!(pids(&[], "hugetlb"), [12, 13]);
    assert_eq!(pids(&["-u", "33"], "deleted"), [10]);
    assert_eq!(pids(&["--unit", "nginx.service"], "deleted"), [10, 16]);
    assert_eq!(pids(&["--container", container], "hugetlb"), [12]);
    assert_eq!(pids(&["-p", "10,12,14,16"], "libssl|pool"), [10, 16]);
    assert_eq!(pids(&["-c", "nginx|odd"], "deleted"), [10, 14]);
}

/// A mapping whose kind only its smaps record tells is never ruled out by its `maps` line:
/// here each of these processes matches through such a mapping alone, and a prefilter that
/// took the kind from the path would have skipped it.
#[test]
fn a_kind_the_vmflags_decide_is_never_ruled_out_by_maps() {
    let fake = tree();
    let root = root_of(&fake);
    let source = ["--proc-root", root.as_str()];
    let rows = |args: &[&str]| -> Vec<(String, String, u64)> {
        let doc = same_both_ways(
            &source,
            &[args, &["-g", "file,process", "-f", "json"]].concat(),
            json_settled,
        );
        let doc: Value = serde_json::from_slice(&doc).expect("JSON");
        let mut out = Vec::new();
        for r in doc["rows"].as_array().expect("rows") {
            for p in r["by_process"].as_array().expect("by_process") {
                out.push((
                    r["path"].as_str().expect("path").to_string(),
                    r["kind"].as_str().expect("kind").to_string(),
                    p["pid"].as_u64().expect("pid"),
                ));
            }
        }
        out.sort();
        out
    };
    let row = |path: &str, kind: &str, pid| (path.to_string(), kind.to_string(), pid);
    // By its path a memfd, a file and a SysV segment; by its VmFlags hugetlb.
    assert_eq!(
        rows(&["-k", "hugetlb"]),
        [
            row("/SYSV00000000 (deleted)", "hugetlb", 12),
            row("/dev/hugepages/pg", "hugetlb", 12),
            row("/memfd:pool (deleted)", "hugetlb", 13),
        ]
    );
    // By its path hugetlb; by its VmFlags an ordinary mapping: a deleted file.
    let deleted = rows(&["-k", "deleted"]);
    assert!(
        deleted.contains(&row("/anon_hugepage (deleted)", "deleted", 14)),
        "{deleted:?}"
    );
    // The memfd in huge pages is no memfd, the segment in huge pages no shm.
    assert_eq!(rows(&["-k", "memfd"]), []);
    assert_eq!(
        rows(&["-k", "shm"]),
        [row("/SYSV00000000 (deleted)", "shm", 12)]
    );
    // What --explain says: 14 was read in full (its smaps decided), and with hugetlb asked
    // for, no maps pass at all.
    let explain = |args: &[&str]| {
        let out = run(&source, &[args, &["-f", "csv", "--explain"]].concat());
        assert_exit(&out, 0);
        stderr(&out)
    };
    let said = explain(&["-k", "deleted"]);
    assert!(
        said.ends_with(
            "pmaps: plan: maps ruled out 4 of the 8 processes read: 4 read in full from smaps\n"
        ),
        "{said}"
    );
    let said = explain(&["-k", "hugetlb"]);
    assert!(!said.contains("plan: maps"), "{said}");
    assert!(said.contains("a kind only smaps tells"), "{said}");
}

/// `pmaps capture` of the tree, then every question from the archive: there, `maps` is the
/// headers of the captured `smaps`, and the prefilter goes through the archive like any read.
#[test]
fn from_a_capture_the_prefiltered_report_is_the_report_read_in_full() {
    let fake = tree();
    let root = root_of(&fake);
    let dir = open_tempdir();
    let archive = dir.path().join("tree.tar.zst");
    let archive = archive.to_str().expect("UTF-8 path");
    let out = run_pmaps(["--proc-root", &root, "capture", "-o", archive]);
    assert_exit(&out, 0);
    let from = ["--from", archive];
    for q in QUESTIONS {
        for g in ["file", "process,file", "container", "unit"] {
            let args = [q, &["-g", g, "-f", "csv"]].concat();
            let captured = same_both_ways(&from, &args, raw);
            // And the same as read live.
            let live = output({
                let mut c = pmaps_on(fake.root());
                c.args(&args);
                c
            });
            assert_eq!(captured, live.stdout, "pmaps {args:?}");
        }
        let args = [q, &["-g", "process", "-f", "json"]].concat();
        same_both_ways(&from, &args, json_settled);
    }
    let said = stderr(&run(&from, &["-k", "deleted", "-f", "csv", "--explain"]));
    assert!(
        said.ends_with(
            "pmaps: plan: maps ruled out 4 of the 8 processes read: 4 read in full from smaps\n"
        ),
        "{said}"
    );
}

/// A smemcap archive keeps `smaps`, `stat` and `cmdline` per process and no `maps`: the
/// `maps` the prefilter reads is the headers of its `smaps`. A process smemcap stored with
/// an empty `smaps` (it could not read it) has no `maps` either: its `smaps` is read, and
/// is the error it would be read in full.
#[test]
fn from_a_smemcap_archive_the_prefiltered_report_is_the_report_read_in_full() {
    let fake = tree();
    let mut tar = Vec::new();
    let file = |tar: &mut Vec<u8>, pid: u32, name: &str| {
        let path = fake.root().join(pid.to_string()).join(name);
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        smemcap_file(tar, &format!("{pid}/{name}"), &data, 0, b'0');
    };
    for pid in [10u32, 11, 12, 13, 14, 15, 16, 18] {
        tar.extend_from_slice(&smemcap_header(&pid.to_string(), 0o40555, 0, 0, 0, 0, 5));
        if pid == 18 {
            // The stat of a process with memory, and an smaps smemcap could not read.
            let stat = std::fs::read(fake.root().join("10/stat")).expect("stat");
            let stat = String::from_utf8(stat)
                .expect("UTF-8")
                .replacen("10 ", "18 ", 1);
            smemcap_file(&mut tar, "18/stat", stat.as_bytes(), 0, b'0');
            smemcap_file(&mut tar, "18/cmdline", b"unread\0", 0, b'0');
            smemcap_file(&mut tar, "18/smaps", b"", 0, b'0');
            continue;
        }
        for name in ["smaps", "cmdline", "stat"] {
            file(&mut tar, pid, name);
        }
    }
    let dir = open_tempdir();
    let path = dir.path().join("smemcap.tar");
    std::fs::write(&path, &tar).expect("write");
    let from = ["--from", path.to_str().expect("UTF-8 path")];
    for q in QUESTIONS {
        for g in ["file", "command"] {
            let args = [q, &["-g", g, "-f", "json"]].concat();
            let doc = same_both_ways(&from, &args, json_settled);
            let doc: Value = serde_json::from_slice(&doc).expect("JSON");
            // 18 is an error both ways: smemcap could not read its smaps.
            assert_eq!(doc["meta"]["coverage"]["outcomes"]["error"], 1, "{args:?}");
        }
    }
}

/// A capture of the rollup has no `maps`: the `Maps` column asked for stays unknown there
/// (no `maps` pass), as it is without one; read live, it is counted in `maps`.
#[test]
fn a_capture_without_maps_gets_no_maps_pass() {
    let fake = FakeProc::new();
    let list = [libc(at(2)), heap(at(3), 8)];
    let rollup = smaps_record(
        map_header(at(2), at(4), "---p", 0, "00:00", 0, b"[rollup]"),
        &[
            ("Rss", 408),
            ("Pss", 408),
            ("Private_Dirty", 8),
            ("Swap", 0),
        ],
    );
    fake.process(30)
        .comm(b"p30")
        .maps(&maps_of(&list))
        .smaps(&smaps_of(&list))
        .smaps_rollup(&rollup)
        .write();
    let dir = open_tempdir();
    let archive = dir.path().join("rollup.tar.zst");
    let archive = archive.to_str().expect("UTF-8 path");
    let root = root_of(&fake);
    let out = run_pmaps([
        "--proc-root",
        &root,
        "capture",
        "--source",
        "smaps_rollup",
        "-o",
        archive,
    ]);
    assert_exit(&out, 0);
    let args = [
        "-g",
        "process",
        "--columns",
        "pid,mappings,rss",
        "-f",
        "json",
        "--explain",
    ];
    let mappings = |source: &[&str]| {
        let out = run(source, &args);
        assert_exit(&out, 0);
        let doc = parse_json(&out);
        assert_eq!(doc["meta"]["source"], "smaps_rollup");
        (
            doc["rows"][0]["mappings"].clone(),
            doc["meta"]["plan"]["maps_pass"].clone(),
        )
    };
    assert_eq!(
        mappings(&["--proc-root", &root]),
        (Value::from(2), Value::from("count"))
    );
    assert_eq!(
        mappings(&["--from", archive]),
        (Value::Null, Value::from("none"))
    );
    // Sorting by the count it lacks is refused rather than an order that means nothing.
    let out = run(&["--from", archive], &["-g", "process", "-s", "mappings"]);
    assert_exit(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("pmaps: --sort mappings: ")
            && err.ends_with("holds smaps_rollup without maps, which do not count mappings\n"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

/// A process whose main thread has exited is read through a live thread: its `maps` is the
/// thread's too (`task/TID/maps`; the main thread's own is empty). Live and from a capture.
#[test]
fn a_process_read_through_a_thread_is_prefiltered_through_it() {
    let fake = FakeProc::new();
    let list = [
        m(
            at(0),
            "r-xp",
            31,
            b"/usr/lib/libssl.so.3 (deleted)",
            SmapsKb::private_clean(600),
        ),
        libc(at(2)),
    ];
    let thread_stat = fake
        .process(41)
        .comm(b"leaderless")
        .start_time(700)
        .stat_bytes();
    fake.process(40)
        .comm(b"leaderless")
        .start_time(700)
        .state(b'Z')
        .maps(b"")
        .smaps(b"")
        .file("task/40/comm", b"leaderless\n")
        .file("task/41/stat", &thread_stat)
        .file("task/41/cmdline", b"/srv/leaderless\0")
        .file("task/41/maps", &maps_of(&list))
        .file("task/41/smaps", &smaps_of(&list))
        .write();
    let root = root_of(&fake);
    let dir = open_tempdir();
    let archive = dir.path().join("leaderless.tar.zst");
    let archive = archive.to_str().expect("UTF-8 path");
    assert_exit(
        &run_pmaps(["--proc-root", &root, "capture", "-o", archive]),
        0,
    );
    for source in [["--proc-root", root.as_str()], ["--from", archive]] {
        let args = ["-k", "deleted", "-g", "process", "-f", "json"];
        let doc = same_both_ways(&source, &args, json_settled);
        let doc: Value = serde_json::from_slice(&doc).expect("JSON");
        let rows = doc["rows"].as_array().expect("rows");
        assert_eq!(rows.len(), 1, "{source:?}: {doc}");
        assert_eq!(rows[0]["pid"], 40);
        assert_eq!(rows[0]["rss_bytes"], 600 * 1024);
    }
}
