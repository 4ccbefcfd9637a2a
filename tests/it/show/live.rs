//! `pmaps show` on live helpers: every row is the kernel's maps line, the totals are procps
//! `pmap`'s, `--merge`, lookup by name, denied and unmatched targets, exact non-UTF-8 paths
//! and `-o`.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::Path;

use super::PAGE;
use crate::support::*;

fn csv_maps_line(row: &BTreeMap<String, String>) -> MapsLine {
    MapsLine {
        address: row["address"].clone(),
        perms: row["perms"].clone(),
        offset: row["offset"].clone(),
        device: row["device"].clone(),
        inode: row["inode"].clone(),
        path: row["path"].clone(),
    }
}

/// The numbers of the table's `TOTAL` row (commas removed), and its mapping count.
fn table_totals(table: &str) -> (Vec<u64>, u64) {
    let line = table
        .lines()
        .find(|l| l.starts_with("TOTAL"))
        .unwrap_or_else(|| panic!("no TOTAL row in:\n{table}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words.last(), Some(&"mappings"), "{line}");
    let num = |w: &str| w.replace(',', "").parse::<u64>().expect("number");
    let count = num(words[words.len() - 2]);
    let values = words[1..words.len() - 2].iter().map(|w| num(w)).collect();
    (values, count)
}

#[test]
fn every_row_is_the_maps_line_and_the_totals_are_pmaps() {
    let libs = PrivateLibs::new();
    let dir = open_tempdir();
    let shared = synced_file(dir.path(), "shared data.bin", 40 * PAGE as usize);
    let private = synced_file(dir.path(), "private.bin", 24 * PAGE as usize);
    let gone = synced_file(dir.path(), "gone.bin", 8 * PAGE as usize);
    let helper = libs.spawn([
        OsStr::new("--map-shared"),
        shared.as_os_str(),
        OsStr::new("--map-private"),
        private.as_os_str(),
        OsStr::new("--map-shared"),
        gone.as_os_str(),
        OsStr::new("--delete"),
        gone.as_os_str(),
        OsStr::new("--anon"),
        OsStr::new("1M"),
        OsStr::new("--memfd"),
        OsStr::new("pool:64K"),
        OsStr::new("--sysv"),
        OsStr::new("32K"),
        OsStr::new("--shared-anon"),
        OsStr::new("16K"),
    ]);
    let pid = helper.pid.to_string();

    let before = proc_maps(helper.pid);
    let csv = pmaps_ok(["show", &pid, "-f", "csv"], 0);
    assert_eq!(proc_maps(helper.pid), before, "the helper's maps moved");
    let rows = csv_records(&csv.stdout);
    let shown: Vec<MapsLine> = rows.iter().map(csv_maps_line).collect();
    assert_eq!(
        shown, before,
        "pmaps show rows differ from /proc/{pid}/maps"
    );
    assert!(rows.iter().all(|r| r["pid"] == pid));
    let kind_of = |path: &str| {
        rows.iter()
            .find(|r| r["path"] == path)
            .map(|r| r["kind"].clone())
            .unwrap_or_else(|| panic!("no row for {path}"))
    };
    assert_eq!(kind_of(&format!("{} (deleted)", gone.display())), "deleted");
    assert_eq!(kind_of(&shared.display().to_string()), "file");
    assert_eq!(kind_of("/memfd:pool (deleted)"), "memfd");
    assert_eq!(kind_of("/dev/zero (deleted)"), "other");
    assert_eq!(kind_of("[heap]"), "heap");
    assert_eq!(kind_of(""), "anon");

    // Totals: the table's TOTAL row and the JSON totals against pmap -x and pmap -X.
    let [kbytes, rss, dirty] = pmap_x_totals(helper.pid);
    let big_x = pmap_big_x_totals(helper.pid);
    let table = text(&pmaps_ok(["show", &pid], 0).stdout);
    let (t, count) = table_totals(&table);
    // Size RSS PSS USS Dirty Swap SwapPSS, in KiB.
    assert_eq!(count, before.len() as u64);
    assert_eq!((t[0], t[1], t[4]), (kbytes, rss, dirty), "table vs pmap -x");
    assert_eq!(
        (t[2], t[5], t[6]),
        (big_x["Pss"], big_x["Swap"], big_x["SwapPss"]),
        "table vs pmap -X"
    );
    let json = parse_json(&pmaps_ok(["show", &pid, "-f", "json"], 0));
    let totals = &json["processes"][0]["totals"];
    assert_eq!(
        [
            kb(&totals["size_bytes"]),
            kb(&totals["rss_bytes"]),
            kb(&totals["dirty_bytes"])
        ],
        [kbytes, rss, dirty]
    );
    assert_eq!(
        [
            kb(&totals["pss_bytes"]),
            kb(&totals["swap_bytes"]),
            kb(&totals["swap_pss_bytes"])
        ],
        [big_x["Pss"], big_x["Swap"], big_x["SwapPss"]]
    );
    assert_eq!(totals["mappings"], before.len());

    // --all-fields: one column per smaps key; its totals are pmap -X's, key by key.
    let all = pmaps_ok(["show", &pid, "-f", "csv", "--all-fields"], 0);
    let all_rows = csv_records(&all.stdout);
    assert_eq!(all_rows.len(), before.len());
    for (key, total) in &big_x {
        if key == "THPeligible" || key == "ProtectionKey" {
            continue; // not amounts: pmap sums them, pmaps does not
        }
        let col = match key.as_str() {
            "SwapPss" => "swap_pss_bytes".to_string(),
            k => format!("{}_bytes", k.to_ascii_lowercase()),
        };
        let sum: u64 = all_rows
            .iter()
            .map(|r| {
                r.get(&col)
                    .unwrap_or_else(|| panic!("no column {col}"))
                    .parse::<u64>()
                    .expect("bytes")
            })
            .sum();
        assert_eq!(
            sum / 1024,
            *total,
            "{key}: pmaps {sum} bytes vs pmap -X {total} kB"
        );
    }
}

#[test]
fn merge_folds_a_files_segments_into_one_row_with_the_same_totals() {
    let libs = PrivateLibs::new();
    let helper = libs.spawn(["--anon", "256K"]);
    let pid = helper.pid.to_string();
    let plain = csv_records(&pmaps_ok(["show", &pid, "-f", "csv"], 0).stdout);
    let merged = csv_records(&pmaps_ok(["show", &pid, "-f", "csv", "--merge"], 0).stdout);
    // The private libc copy has 4-5 segments in a row: one row now.
    let libc = format!("{}/libc.so.6", libs.dir.path().display());
    let segments = plain.iter().filter(|r| r["path"] == libc).count();
    assert!(segments >= 3, "libc has {segments} segments");
    let libc_rows: Vec<_> = merged.iter().filter(|r| r["path"] == libc).collect();
    assert_eq!(libc_rows.len(), 1);
    assert_eq!(libc_rows[0]["mappings"], segments.to_string());
    let first = plain.iter().find(|r| r["path"] == libc).expect("libc");
    let last = plain
        .iter()
        .rev()
        .find(|r| r["path"] == libc)
        .expect("libc");
    let start = first["address"].split('-').next().expect("start");
    let end = last["address"].split('-').nth(1).expect("end");
    assert_eq!(libc_rows[0]["address"], format!("{start}-{end}"));
    for w in merged.windows(2) {
        assert!(
            w[0]["path"].is_empty() || w[0]["path"] != w[1]["path"],
            "unfolded run: {w:?}"
        );
    }
    for col in [
        "size_bytes",
        "rss_bytes",
        "pss_bytes",
        "uss_bytes",
        "dirty_bytes",
    ] {
        let sum = |rows: &[BTreeMap<String, String>]| -> u64 {
            rows.iter().map(|r| r[col].parse::<u64>().expect(col)).sum()
        };
        assert_eq!(sum(&plain), sum(&merged), "{col}");
    }
    let count: u64 = merged
        .iter()
        .map(|r| r["mappings"].parse::<u64>().expect("mappings"))
        .sum();
    assert_eq!(count, plain.len() as u64);
}

#[test]
fn a_helper_is_found_by_its_command_name() {
    let name = format!("pmzshow{}", std::process::id() % 100_000);
    let helper = Helper::spawn(["--comm", &name, "--anon", "64K"]);
    let other = Helper::spawn(["--anon", "64K"]);
    let out = pmaps_ok(["show", &name, "-f", "csv"], 0);
    let rows = csv_records(&out.stdout);
    assert!(!rows.is_empty());
    for r in &rows {
        assert_eq!(r["pid"], helper.pid.to_string(), "{r:?}");
    }
    assert_eq!(rows.len(), proc_maps(helper.pid).len());
    // The table names the process in its header line.
    let table = text(&pmaps_ok(["show", &name], 0).stdout);
    let first = table.lines().next().expect("header line");
    assert!(
        first.starts_with(&format!("{}: ", helper.pid)) && first.ends_with(" (root)"),
        "{first}"
    );
    assert!(
        first.contains(&format!("--comm {name} --anon 64K")),
        "{first}"
    );
    drop(other);
}

#[test]
fn a_name_that_matches_nothing_exits_4_and_says_so() {
    let name = format!("no-such-process-{}", std::process::id());
    let out = pmaps_ok(["show", &name], 4);
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert_eq!(
        text(&out.stderr),
        format!(
            "pmaps: no process matches '{name}' (neither its command name nor its command \
             line)\n"
        )
    );
}

#[test]
fn a_denied_process_is_named_with_the_reason_and_exits_3() {
    let root_helper = Helper::spawn(["--anon", "64K"]);
    let own = Helper::spawn_as_nobody(["--anon", "64K"]);
    let out = run_pmaps_as_nobody([
        "show".to_string(),
        own.pid.to_string(),
        root_helper.pid.to_string(),
        "-f".into(),
        "csv".into(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let rows = csv_records(&out.stdout);
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r["pid"] == own.pid.to_string()));
    assert_eq!(
        text(&out.stderr),
        format!(
            "pmaps: {} (maphelper): permission denied reading /proc/{}/smaps (run as root)\n\
             pmaps: partial: 1 of 2 matched processes not shown\n",
            root_helper.pid, root_helper.pid
        )
    );
}

#[test]
fn json_keeps_a_non_utf8_path_exactly() {
    let dir = open_tempdir();
    let name: &[u8] = b"caf\xe9 \x1b[31m.bin";
    let path = dir.path().join(os(name));
    std::fs::write(&path, vec![7u8; PAGE as usize]).expect("write");
    let helper = Helper::spawn([OsStr::new("--map-shared"), path.as_os_str()]);
    let pid = helper.pid.to_string();
    let json = parse_json(&pmaps_ok(["show", &pid, "-f", "json"], 0));
    let raw = path.as_os_str().as_encoded_bytes();
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let maps = json["processes"][0]["mappings"]
        .as_array()
        .expect("mappings");
    let row = maps
        .iter()
        .find(|m| m["path_hex"] == hex.as_str())
        .expect("the mapping with its exact bytes in path_hex");
    let shown = format!("{}/caf\\xe9 \\x1b[31m.bin", dir.path().display());
    assert_eq!(row["path"], shown.as_str());
    // Neither the table nor the CSV carries the raw ESC byte.
    let table = pmaps_ok(["show", &pid], 0).stdout;
    assert!(!table.contains(&0x1b));
    assert!(text(&table).contains(&shown));
    let csv = pmaps_ok(["show", &pid, "-f", "csv"], 0).stdout;
    assert!(!csv.contains(&0x1b));
}

#[test]
fn output_goes_to_a_file_with_o() {
    let helper = Helper::spawn(["--anon", "64K"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("map.csv");
    let pid = helper.pid.to_string();
    let out = pmaps_ok(
        [
            OsStr::new("show"),
            OsStr::new(&pid),
            OsStr::new("-f"),
            OsStr::new("csv"),
            OsStr::new("-o"),
            target.as_os_str(),
        ],
        0,
    );
    assert!(out.stdout.is_empty());
    let written = std::fs::read(&target).expect("output file");
    let rows = csv_records(&written);
    assert_eq!(rows.len(), proc_maps(helper.pid).len());
    assert!(Path::new(&target).is_file());
}
