//! `pmaps summary --from FILE`: the whole-machine summary made from a capture.
//!
//! - From a capture of helpers stopped with SIGSTOP, the scan's part of the summary (user
//!   space and its split, SwapPss, the check's scan figures, the coverage) equals the live
//!   summary's of the same moment, exactly when the capture kept `smaps_rollup`; from a
//!   capture of `smaps` it is the sum of every mapping's PSS (an independent reading of the
//!   same files), at most 1 KiB per mapping under the rollup's, with the split unknown. The
//!   lines made of meminfo are the archive's `meminfo`, figure for figure, and the check says
//!   it is one snapshot instead of a drift. The JSON `meta.capture` says which host and when.
//! - A smem `smemcap` tarball gives what it holds; what it lacks (host, time, `status`, so
//!   the RSS of a process it could not read) is unknown.
//! - A capture without meminfo, or with a garbled one, gives the scan's lines with the rest
//!   unknown, says why on stderr, and never panics.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use crate::support::*;
use serde_json::Value;

const KIB: u64 = 1024;

/// `{item: size_bytes}` of a summary document.
fn rows(doc: &Value) -> BTreeMap<String, Option<u64>> {
    doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            let item = r["item"].as_str().expect("item").to_string();
            (item, r["size_bytes"].as_u64())
        })
        .collect()
}

/// The `Key: N kB` figures of a meminfo text, in bytes.
fn meminfo_bytes(text: &[u8]) -> BTreeMap<String, u64> {
    String::from_utf8_lossy(text)
        .lines()
        .filter_map(|l| {
            let (key, rest) = l.split_once(':')?;
            let kb: u64 = rest.split_whitespace().next()?.parse().ok()?;
            Some((key.to_string(), kb * KIB))
        })
        .collect()
}

/// The parts of a summary that come from the scan of the processes, not from meminfo.
fn scan_parts(doc: &Value) -> Value {
    let r = rows(doc);
    let c = &doc["check"];
    serde_json::json!({
        "user_space": r["user_space"],
        "anon": r["user_space.anon"],
        "file": r["user_space.file"],
        "shmem": r["user_space.shmem"],
        "swap_pss": r["swap.processes"],
        "scan_pss": c["scan_pss_bytes"],
        "processes_read": c["processes_read"],
        "unread_processes": c["unread_processes"],
        "unread_rss_bytes": c["unread_rss_bytes"],
        "unread_rss_unknown": c["unread_rss_unknown"],
        "rounding_max_bytes": c["rounding_max_bytes"],
        "coverage": doc["meta"]["coverage"],
    })
}

/// Asserts that every line made of meminfo is the figure of `meminfo` (the archive's file).
fn assert_lines_are_of(doc: &Value, meminfo: &[u8]) {
    let m = meminfo_bytes(meminfo);
    let r = rows(doc);
    let k = |key: &str| m[key];
    assert_eq!(r["ram"], Some(k("MemTotal")));
    assert_eq!(r["free"], Some(k("MemFree")));
    assert_eq!(
        r["page_cache"],
        Some(k("Buffers") + k("Cached") - k("Mapped"))
    );
    assert_eq!(r["kernel.vmalloc"], Some(k("VmallocUsed")));
    assert_eq!(r["kernel.slab_reclaimable"], Some(k("SReclaimable")));
    assert_eq!(r["swap"], Some(k("SwapTotal")));
    assert_eq!(r["swap.free"], Some(k("SwapFree")));
    assert_eq!(doc["percent_of"]["ram_bytes"], k("MemTotal"));
    assert_eq!(doc["meminfo"]["total"], k("MemTotal"));
    assert_eq!(doc["meminfo"]["anon_pages"], k("AnonPages"));
    assert_eq!(doc["meminfo"]["mapped"], k("Mapped"));
    assert_eq!(
        doc["check"]["meminfo_user_bytes"],
        k("AnonPages") + k("Mapped")
    );
    // One meminfo in a capture: a snapshot, no drift invented.
    assert_eq!(doc["check"]["meminfo_drift_bytes"], Value::Null);
    assert_eq!(doc["check"]["meminfo_single_snapshot"], true);
}

/// A proc root that shows only `pids` (links to their `/proc` directories), and this
/// machine's `meminfo` and `sys/` (links too): a live summary of it and a capture of it see
/// the same processes.
fn window(pids: &[u32]) -> tempfile::TempDir {
    let dir = open_tempdir();
    let link = |target: String, name: &str| {
        std::os::unix::fs::symlink(&target, dir.path().join(name))
            .unwrap_or_else(|e| panic!("link {name} -> {target}: {e}"));
    };
    for pid in pids {
        link(format!("/proc/{pid}"), &pid.to_string());
    }
    for name in ["meminfo", "version", "sys"] {
        link(format!("/proc/{name}"), name);
    }
    dir
}

fn summary(args: &[&str]) -> Output {
    let mut all = args.to_vec();
    all.extend(["summary", "-f", "json"]);
    run_pmaps(&all)
}

#[test]
fn summary_from_a_capture_of_frozen_helpers_is_the_live_one_of_that_moment() {
    let libs = PrivateLibs::new();
    let data = open_tempdir();
    let shared = synced_file(data.path(), "shared", 256 << 10);
    let shared = shared.to_str().expect("utf-8");
    let a = libs.spawn([
        "--comm",
        "sum-a",
        "--anon",
        "3M",
        "--map-shared",
        shared,
        "--memfd",
        "sum:1M",
    ]);
    let b = libs.spawn([
        "--comm",
        "sum-b",
        "--map-shared",
        shared,
        "--shared-anon",
        "512K",
        "--many-maps",
        "30",
    ]);
    for h in [&a, &b] {
        freeze(h.pid);
    }
    let root = window(&[a.pid, b.pid]);
    let root = root.path().to_str().expect("utf-8");
    let live = summary(&["--proc-root", root]);
    assert_eq!(live.status.code(), Some(0), "{}", stderr(&live));
    let live = parse_json(&live);
    assert!(
        live["meta"].get("capture").is_none(),
        "live: no capture key"
    );

    let dir = open_tempdir();
    let capture = |name: &str, source: &str| {
        let path = dir.path().join(name);
        let out = run_pmaps([
            "--proc-root",
            root,
            "capture",
            "--source",
            source,
            "-o",
            path.to_str().expect("utf-8"),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        path
    };
    let rollup = capture("rollup.tar.zst", "smaps_rollup");
    let smaps = capture("smaps.tar.zst", "smaps");
    // Nothing moved meanwhile: the live summary after the captures is the one before.
    let again = parse_json(&summary(&["--proc-root", root]));
    assert_eq!(
        scan_parts(&live),
        scan_parts(&again),
        "the helpers' numbers moved during the test"
    );

    // A capture of the rollup: the very same scan.
    let from = rollup.to_str().expect("utf-8");
    let out = summary(&["--from", from]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = parse_json(&out);
    assert_eq!(scan_parts(&doc), scan_parts(&live));
    let r = rows(&doc);
    for item in ["user_space.anon", "user_space.file", "user_space.shmem"] {
        assert!(r[item].is_some_and(|b| b > 0), "{item}: {r:?}");
    }
    let meminfo = archive_entry(&rollup, "meminfo").expect("meminfo in the archive");
    assert_lines_are_of(&doc, &meminfo);
    let cap = &doc["meta"]["capture"];
    assert_eq!(cap["file"], from);
    assert_eq!(cap["format"], "pmaps");
    assert_eq!(cap["map_file"], "smaps_rollup");
    assert_eq!(cap["host"], live["meta"]["host"]);
    assert!(cap["host"].is_string(), "{cap}");
    assert_eq!(doc["meta"]["time_utc"], cap["start_utc"]);
    // The table says it: one snapshot, no drift.
    let table = run_pmaps(["--from", from, "summary"]);
    let text = stdout(&table);
    assert!(
        text.contains("one meminfo snapshot: drift unknown"),
        "{text}"
    );
    assert!(!text.contains("during the scan"), "{text}");

    // A capture of smaps: every mapping's PSS summed, the split unknown.
    let from = smaps.to_str().expect("utf-8");
    let out = summary(&["--from", from]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("holds smaps per process, not smaps_rollup"),
        "{}",
        stderr(&out)
    );
    let doc = parse_json(&out);
    let records: Vec<SmapsRecord> = [a.pid, b.pid].iter().flat_map(|&p| read_smaps(p)).collect();
    let sum = |key: &str| -> u64 { records.iter().map(|r| r.kb(key).unwrap_or(0) * KIB).sum() };
    let mappings = records.len() as u64;
    let r = rows(&doc);
    assert_eq!(r["user_space"], Some(sum("Pss")));
    assert_eq!(r["swap.processes"], Some(sum("SwapPss")));
    let live_pss = rows(&live)["user_space"].expect("live PSS");
    assert!(
        sum("Pss") <= live_pss && live_pss - sum("Pss") < mappings * KIB,
        "smaps {} against the rollup's {live_pss}, {mappings} mappings",
        sum("Pss")
    );
    for item in ["user_space.anon", "user_space.file", "user_space.shmem"] {
        assert_eq!(r[item], None, "{item}: smaps has no split");
    }
    assert_eq!(doc["check"]["rounding_max_bytes"], mappings * KIB);
    assert_eq!(doc["meta"]["coverage"]["mappings"], mappings);
    assert_eq!(doc["check"]["processes_read"], 2);
    let meminfo = archive_entry(&smaps, "meminfo").expect("meminfo in the archive");
    assert_lines_are_of(&doc, &meminfo);
    assert_eq!(doc["meta"]["capture"]["map_file"], "smaps");
}

/// The files of a fake tree's process laid into a smemcap tarball (`PID/` directory header,
/// then `smaps`, `cmdline`, `stat`, as smemcap writes them).
fn smemcap_process(tar: &mut Vec<u8>, fake: &FakeProc, pid: u32) {
    tar.extend_from_slice(&smemcap_header(&pid.to_string(), 0o40555, 0, 0, 0, 0, 5));
    for name in ["smaps", "cmdline", "stat"] {
        let path = fake.root().join(format!("{pid}/{name}"));
        let data = std::fs::read(&path).unwrap_or_default();
        smemcap_file(tar, &format!("{pid}/{name}"), &data, 0, b'0');
    }
}

#[test]
fn summary_from_a_smemcap_archive_gives_what_it_holds() {
    let fake = FakeProc::new();
    let lib = map_header(
        0x7f00_0000,
        0x7f10_0000,
        "r-xp",
        0,
        "fe:00",
        42,
        b"/lib/x.so",
    );
    let heap = map_header(0x5600_0000, 0x5610_0000, "rw-p", 0, "00:00", 0, b"[heap]");
    let mut web = full_smaps_record(&lib, SmapsKb::private_clean(400));
    web.extend(full_smaps_record(&heap, SmapsKb::private_dirty(1024, 700)));
    fake.process(100).comm(b"web").smaps(&web).write();
    let db = full_smaps_record(&heap, SmapsKb::private_dirty(2048, 2000));
    fake.process(101).comm(b"db").smaps(&db).write();
    // smemcap could not read this one: an empty smaps for a process with memory.
    fake.process(102).comm(b"locked").write();
    fake.process(2).comm(b"kthreadd").flags(PF_KTHREAD).write();

    let meminfo = std::fs::read("/proc/meminfo").expect("/proc/meminfo");
    let mut tar = Vec::new();
    smemcap_file(&mut tar, "meminfo", &meminfo, 0, b'0');
    let version = b"Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) #1 SMP\n";
    smemcap_file(&mut tar, "version", version, 0, b'0');
    for pid in [2, 100, 101, 102] {
        smemcap_process(&mut tar, &fake, pid);
    }
    let dir = open_tempdir();
    let path = dir.path().join("smemcap.tar");
    std::fs::write(&path, &tar).expect("write");
    let from = path.to_str().expect("utf-8");

    let out = summary(&["--from", from]);
    // The process it could not read makes the summary partial, as live.
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let doc = parse_json(&out);
    let r = rows(&doc);
    assert_eq!(r["user_space"], Some((400 + 700 + 2000) * KIB));
    assert_eq!(r["user_space.anon"], None, "no rollup, no split");
    let c = &doc["check"];
    assert_eq!(c["processes_read"], 2);
    assert_eq!(c["rounding_max_bytes"], 3 * KIB, "3 mappings read");
    // smemcap keeps no status: the RSS of the process not read is unknown, as is pmaps'.
    assert_eq!(c["unread_processes"], 1);
    assert_eq!(c["unread_rss_unknown"], 1);
    assert_eq!(c["unread_rss_bytes"], 0);
    assert_eq!(c["self_rss_bytes"], Value::Null);
    assert_lines_are_of(&doc, &meminfo);
    let cap = &doc["meta"]["capture"];
    assert_eq!(cap["format"], "smemcap");
    assert_eq!(cap["host"], Value::Null);
    assert_eq!(cap["start_utc"], Value::Null);
    assert_eq!(cap["kernel"], "6.1.0-18-amd64");
    assert_eq!(doc["meta"]["host"], Value::Null);
    let outcomes = &doc["meta"]["coverage"]["outcomes"];
    assert_eq!(outcomes["kernel_thread"], 1);
    assert_eq!(outcomes["error"], 1);
    let table = run_pmaps(["--from", from, "summary"]);
    let text = stdout(&table);
    assert!(
        text.contains("1 process not read: RSS, 1 of them unknown"),
        "{text}"
    );
}

/// Captures the fake tree `fake` into `dir/name`; the archive's path.
fn capture_fake(fake: &FakeProc, dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    let root = fake.root().to_str().expect("utf-8");
    let path = path.to_str().expect("utf-8").to_string();
    let out = run_pmaps(["--proc-root", root, "capture", "-o", &path]);
    assert!(matches!(out.status.code(), Some(0 | 3)), "{}", stderr(&out));
    path
}

#[test]
fn summary_from_a_capture_without_meminfo_says_unknown_and_never_panics() {
    let heap = map_header(0x5600_0000, 0x5610_0000, "rw-p", 0, "00:00", 0, b"[heap]");
    let tree = |meminfo: Option<&[u8]>| {
        let fake = FakeProc::new();
        let smaps = full_smaps_record(&heap, SmapsKb::private_dirty(1024, 600));
        fake.process(300).comm(b"app").smaps(&smaps).write();
        // A malformed smaps: an error, its RSS (2 MiB, by the fake status) still known.
        fake.process(301)
            .comm(b"bad")
            .smaps(b"Pss: 12 kB\n")
            .write();
        if let Some(m) = meminfo {
            std::fs::write(fake.root().join("meminfo"), m).expect("meminfo");
        }
        fake
    };
    let dir = open_tempdir();
    let none = tree(None);
    let garbled = tree(Some(b"\xff\xfe garbage\nMemTotal: 5 PB\n"));
    for (fake, name, says) in [
        (&none, "none.tar.zst", "cannot read"),
        (&garbled, "garbled.tar.zst", "meminfo"),
    ] {
        let from = capture_fake(fake, dir.path(), name);
        let out = summary(&["--from", &from]);
        assert_eq!(out.status.code(), Some(3), "{name}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(says) && err.contains("the lines made of meminfo are unknown"),
            "{name}: {err}"
        );
        let doc = parse_json(&out);
        let r = rows(&doc);
        assert_eq!(r["user_space"], Some(600 * KIB), "{name}");
        for item in ["ram", "page_cache", "kernel", "free", "other", "swap"] {
            assert_eq!(r[item], None, "{name}: {item}");
        }
        assert_eq!(doc["meminfo"], Value::Null, "{name}");
        assert_eq!(doc["percent_of"]["ram_bytes"], Value::Null, "{name}");
        let c = &doc["check"];
        assert_eq!(c["meminfo_user_bytes"], Value::Null, "{name}");
        assert_eq!(c["meminfo_drift_bytes"], Value::Null, "{name}");
        assert_eq!(c["unread_processes"], 1, "{name}");
        assert!(
            c["unread_rss_bytes"].as_u64().is_some_and(|b| b > 0),
            "{name}"
        );
        // Every format says unknown the way it always does.
        let table = run_pmaps(["--from", &from, "summary"]);
        assert_eq!(table.status.code(), Some(3), "{name}: {}", stderr(&table));
        let text = stdout(&table);
        let line = text
            .lines()
            .find(|l| l.starts_with("RAM (MemTotal)"))
            .map(|l| l.split_whitespace().collect::<Vec<_>>());
        assert_eq!(line, Some(vec!["RAM", "(MemTotal)", "-", "-"]), "{name}");
        let csv = run_pmaps(["--from", &from, "summary", "-f", "csv"]);
        assert_eq!(csv.status.code(), Some(3), "{name}: {}", stderr(&csv));
        let csv = stdout(&csv);
        assert!(
            csv.lines().any(|l| l.trim_end() == "ram,,"),
            "{name}: {csv}"
        );
    }
    // Live, a proc root without meminfo is still an error.
    let out = run_pmaps([
        "--proc-root",
        none.root().to_str().expect("utf-8"),
        "summary",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}
