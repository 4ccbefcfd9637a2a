//! Hugetlb memory is its own kind (issue 9, point 9): a database in huge pages is not a
//! "deleted file" and never lands in the list of services to restart.

use std::collections::BTreeMap;

use serde_json::Value;

use super::kind_row;
use crate::support::*;

/// An smaps record with `VmFlags:` (and the kernel page size in kB).
fn record(
    start: u64,
    perms: &str,
    dev: &str,
    inode: u64,
    path: &[u8],
    page_kb: u64,
    flags: &str,
) -> Vec<u8> {
    let mut r = smaps_record(
        map_header(start, start + 0x20_0000, perms, 0, dev, inode, path),
        &[
            ("Size", 2048),
            ("KernelPageSize", page_kb),
            ("MMUPageSize", page_kb),
            ("Rss", 0),
            ("Pss", 0),
            ("Private_Hugetlb", 2048),
        ],
    );
    r.extend_from_slice(format!("VmFlags: {flags} \n").as_bytes());
    r
}

/// (path, kind) of every row of a per-file JSON report.
fn kinds(doc: &Value) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in doc["rows"].as_array().expect("rows") {
        let path = r["path"].as_str().expect("path").to_string();
        out.entry(path)
            .or_default()
            .push(r["kind"].as_str().expect("kind").to_string());
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

/// A fake process with huge pages of every sort beside an ordinary SysV segment (with the
/// same path as the one in huge pages) and a replaced library.
fn huge_tree() -> FakeProc {
    let fake = FakeProc::new();
    let mut smaps = Vec::new();
    let mut maps = Vec::new();
    /// One mapping of the fake process.
    struct Row {
        path: &'static [u8],
        perms: &'static str,
        page_kb: u64,
        dev: &'static str,
        inode: u64,
        flags: &'static str,
    }
    let row = |path, perms, page_kb, dev, inode, flags| Row {
        path,
        perms,
        page_kb,
        dev,
        inode,
        flags,
    };
    let rows = [
        // MAP_HUGETLB memory, named after its hugetlbfs file.
        row(
            b"/anon_hugepage (deleted)",
            "rw-p",
            2048,
            "00:11",
            4001,
            "rd wr mr mw me de ht",
        ),
        // A SysV segment in huge pages, and an ordinary one.
        row(
            b"/SYSV00000000 (deleted)",
            "rw-s",
            2048,
            "00:11",
            4002,
            "rd wr sh mr mw me ms de ht",
        ),
        row(
            b"/SYSV00000000 (deleted)",
            "rw-s",
            4,
            "00:01",
            4003,
            "rd wr sh mr mw me ms",
        ),
        // A memfd in huge pages, and a library replaced on disk.
        row(
            b"/memfd:pool (deleted)",
            "rw-s",
            2048,
            "00:11",
            4004,
            "rd wr sh mr mw me ms ht",
        ),
        row(
            b"/usr/lib/libold.so (deleted)",
            "r--p",
            4,
            "fe:00",
            4005,
            "rd mr mw me",
        ),
    ];
    for (i, r) in rows.iter().enumerate() {
        let start = 0x7f00_0000_0000 + (i as u64) * 0x100_0000;
        smaps.extend(record(
            start, r.perms, r.dev, r.inode, r.path, r.page_kb, r.flags,
        ));
        maps.extend(map_header(
            start,
            start + 0x20_0000,
            r.perms,
            0,
            r.dev,
            r.inode,
            r.path,
        ));
    }
    fake.process(10).smaps(&smaps).maps(&maps).write();
    fake
}

#[test]
fn hugetlb_is_its_own_kind_from_smaps_flags_and_maps_names() {
    let fake = huge_tree();
    let root = fake.root().display().to_string();
    let on = |extra: &[&str]| {
        let mut args = vec!["--proc-root", root.as_str(), "-f", "json"];
        args.extend_from_slice(extra);
        parse_json(&run_clean(&args))
    };
    let per_file = kinds(&on(&[]));
    let expect = |pairs: &[(&str, &[&str])]| -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(p, k)| (p.to_string(), k.iter().map(|s| s.to_string()).collect()))
            .collect()
    };
    assert_eq!(
        per_file,
        expect(&[
            ("/anon_hugepage (deleted)", &["hugetlb"]),
            ("/SYSV00000000 (deleted)", &["hugetlb", "shm"]),
            ("/memfd:pool (deleted)", &["hugetlb"]),
            ("/usr/lib/libold.so (deleted)", &["deleted"]),
        ])
    );
    // The services-to-restart list has the library alone.
    assert_eq!(
        kinds(&on(&["--kind", "deleted"])),
        expect(&[("/usr/lib/libold.so (deleted)", &["deleted"])])
    );
    let by_kind = on(&["-g", "kind"]);
    let hugetlb = kind_row(&by_kind, "hugetlb");
    assert_eq!(hugetlb["mappings"], 3);
    assert_eq!(kb(&hugetlb["size_bytes"]), 3 * 2048);
    // `maps` has no flags: the anonymous huge pages are told by their name; the SysV segment
    // and the memfd cannot be told from ordinary ones.
    assert_eq!(
        kinds(&on(&["--vsz"])),
        expect(&[
            ("/anon_hugepage (deleted)", &["hugetlb"]),
            ("/SYSV00000000 (deleted)", &["shm", "shm"]),
            ("/memfd:pool (deleted)", &["memfd"]),
            ("/usr/lib/libold.so (deleted)", &["deleted"]),
        ])
    );
    // `show` says the same.
    let doc = parse_json(&run_clean([
        "--proc-root",
        &root,
        "show",
        "10",
        "-f",
        "json",
    ]));
    let shown: Vec<&str> = doc["processes"][0]["mappings"]
        .as_array()
        .expect("mappings")
        .iter()
        .map(|m| m["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(shown, ["hugetlb", "hugetlb", "shm", "hugetlb", "deleted"]);
}

#[test]
fn every_view_and_format_shows_the_kind_a_file_row_was_read_with() {
    // The two SysV segments share a path: only what smaps said of each tells them apart,
    // so every view must show the kind stored in the row, never one found again from the
    // path.
    let fake = huge_tree();
    let root = fake.root().display().to_string();
    let run = |args: &[&str]| {
        let mut all = vec!["--proc-root", root.as_str()];
        all.extend_from_slice(args);
        run_clean(&all).stdout
    };
    let sysv = |inode: &str| match inode {
        "4002" => "hugetlb",
        "4003" => "shm",
        other => panic!("no SysV segment with inode {other}"),
    };
    for view in ["file", "file,process", "file,container", "container,file"] {
        let rows = csv_records(&run(&["-g", view, "-f", "csv"]));
        let mut seen = 0;
        for r in rows
            .iter()
            .filter(|r| r["path"] == "/SYSV00000000 (deleted)")
        {
            assert_eq!(r["kind"], sysv(&r["inode"]), "-g {view}: {r:?}");
            seen += 1;
        }
        // One line per segment (in the pair views, per segment and process or container).
        assert_eq!(seen, 2, "-g {view}: {rows:?}");
        let memfd = rows.iter().find(|r| r["path"] == "/memfd:pool (deleted)");
        assert_eq!(
            memfd.map(|r| r["kind"].as_str()),
            Some("hugetlb"),
            "-g {view}"
        );
    }
    let prom = text(&run(&["-f", "prometheus", "--prom-min", "0"]));
    for labels in [
        r#"{path="/SYSV00000000 (deleted)",kind="hugetlb",device="00:11",inode="4002"}"#,
        r#"{path="/SYSV00000000 (deleted)",kind="shm",device="00:01",inode="4003"}"#,
        r#"{path="/memfd:pool (deleted)",kind="hugetlb",device="00:11",inode="4004"}"#,
    ] {
        assert!(
            prom.contains(&format!("pmaps_file_size_bytes{labels} 2097152")),
            "{labels} in {prom}"
        );
    }
    assert!(
        prom.lines()
            .any(|l| l == r#"pmaps_kind_mappings{kind="hugetlb"} 3"#),
        "{prom}"
    );
    // The treemap (sized by VSZ: huge pages are not in RSS or PSS) colours boxes by the
    // stored kind: the memfd in huge pages is no `memfd` box.
    let svg = text(&run(&["-f", "svg", "--sort", "size"]));
    for kind in ["hugetlb", "shm", "deleted"] {
        assert!(svg.contains(&format!(">{kind}</text>")), "{kind} in {svg}");
    }
    assert!(!svg.contains(">memfd</text>"), "{svg}");
}

/// Sets `vm.nr_hugepages` for the life of the value, and puts the old value back.
struct HugePages {
    old: String,
}

const NR_HUGEPAGES: &str = "/proc/sys/vm/nr_hugepages";

impl HugePages {
    /// At least `n` huge pages free, or why not.
    fn reserve(n: u64) -> Result<HugePages, String> {
        let old =
            std::fs::read_to_string(NR_HUGEPAGES).map_err(|e| format!("{NR_HUGEPAGES}: {e}"))?;
        let total: u64 = old
            .trim()
            .parse()
            .map_err(|e| format!("{NR_HUGEPAGES}: {e}"))?;
        let guard = HugePages { old };
        std::fs::write(NR_HUGEPAGES, format!("{}\n", total + n))
            .map_err(|e| format!("cannot write {NR_HUGEPAGES}: {e}"))?;
        let free = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find_map(|l| l.strip_prefix("HugePages_Free:"))
                    .and_then(|v| v.trim().parse::<u64>().ok())
            })
            .unwrap_or(0);
        if free < n {
            return Err(format!(
                "only {free} huge pages free after asking for {n} more"
            ));
        }
        Ok(guard)
    }
}

impl Drop for HugePages {
    fn drop(&mut self) {
        let _ = std::fs::write(NR_HUGEPAGES, &self.old);
    }
}

#[test]
fn live_huge_pages_are_hugetlb_and_never_deleted() {
    // Two huge pages: one MAP_HUGETLB mapping, one SysV segment in huge pages.
    let _pages = match HugePages::reserve(2) {
        Ok(p) => p,
        Err(why) => {
            eprintln!("skipped: no huge pages to use ({why})");
            return;
        }
    };
    let h = Helper::spawn(["--hugetlb", "1", "--sysv-hugetlb", "1", "--sysv", "64K"]);
    let pid = h.pid.to_string();
    let oracle = read_smaps(h.pid);
    let huge: Vec<&SmapsRecord> = oracle
        .iter()
        .filter(|r| {
            r.vm_flags
                .as_ref()
                .is_some_and(|f| f.split(|&b| b == b' ').any(|w| w == b"ht"))
        })
        .collect();
    assert_eq!(huge.len(), 2, "the kernel's `ht` mappings");
    let doc = parse_json(&run_clean(["-p", &pid, "-f", "json"]));
    let per_file = kinds(&doc);
    assert_eq!(per_file["/anon_hugepage (deleted)"], ["hugetlb"]);
    assert_eq!(per_file["/SYSV00000000 (deleted)"], ["hugetlb", "shm"]);
    assert!(
        !per_file.values().flatten().any(|k| k == "deleted"),
        "{per_file:?}"
    );
    let deleted = parse_json(&run_clean(["-p", &pid, "--kind", "deleted", "-f", "json"]));
    assert_eq!(
        deleted["rows"].as_array().expect("rows").len(),
        0,
        "{deleted}"
    );
    // Their size is the huge pages', exactly.
    let by_kind = parse_json(&run_clean(["-p", &pid, "-g", "kind", "-f", "json"]));
    let row = kind_row(&by_kind, "hugetlb");
    let size: u64 = huge.iter().filter_map(|r| r.kb("Size")).sum();
    assert_eq!(kb(&row["size_bytes"]), size);
    assert_eq!(row["mappings"], 2);
}
