//! Hostile proc roots and hostile arguments cost bounded time and memory (issue 9, points
//! 14, 15 and 17). Each run has a deadline and an address-space cap: a buffer that grows
//! with the input aborts the run (an allocation failure is SIGABRT), a superlinear step
//! misses the deadline, and either fails the test. The caps are generous (the runs take well
//! under a second and a few MiB on the development machine), so only a real regression
//! trips them.

use super::eight_kb;
use crate::support::*;

/// The address-space cap of these runs: pmaps' own needs (its binary, libraries, thread
/// stacks) with room to spare, far below what the hostile inputs would cost unbounded.
const ADDRESS_SPACE: u64 = 512 << 20;
/// The deadline of these runs.
const SECONDS: u64 = 60;

fn bounded() -> Limits {
    Limits {
        address_space: Some(ADDRESS_SPACE),
        ..Limits::new(SECONDS)
    }
}

/// The problems of a JSON report, as (pid, detail).
fn problems(doc: &serde_json::Value) -> Vec<(u64, String)> {
    doc["meta"]["coverage"]["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| {
            assert_eq!(p["outcome"], "error", "{p}");
            (
                p["pid"].as_u64().expect("pid"),
                p["detail"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn an_endless_smaps_line_is_that_process_error_in_bounded_memory() {
    let fake = FakeProc::new();
    fake.process(10)
        .smaps(&eight_kb(b""))
        .smaps_rollup(&eight_kb(b""))
        .maps(&map_header(0x1000, 0x3000, "rw-p", 0, "00:00", 0, b""))
        .write();
    // 2 MB without a newline.
    fake.process(11)
        .smaps(&vec![b'7'; 2 << 20])
        .smaps_rollup(&vec![b'7'; 2 << 20])
        .maps(&vec![b'7'; 2 << 20])
        .write();
    // smaps, smaps_rollup and maps leading to a 4 GiB file of zeros (sparse: it costs no
    // disk), as `pagemap` planted in their place would.
    let huge_dir = tempfile::tempdir().expect("tempdir");
    let huge = huge_dir.path().join("huge");
    std::fs::File::create(&huge)
        .and_then(|f| f.set_len(4 << 30))
        .expect("sparse file");
    let dir = fake.process(12).write();
    for name in ["smaps", "smaps_rollup", "maps"] {
        std::os::unix::fs::symlink(&huge, dir.join(name)).expect("symlink");
    }
    let root = fake.root().display().to_string();
    for view in [&["-g", "file"][..], &["-g", "process"], &["--vsz"]] {
        let mut args = vec!["--proc-root", root.as_str(), "-f", "json"];
        args.extend_from_slice(view);
        let run = run_limited(&bounded(), &args);
        assert_eq!(run.code(), 3, "{view:?}");
        let doc = parse_json(&run.out);
        assert_eq!(outcomes(&doc)["read"], 1, "{view:?}");
        let found = problems(&doc);
        assert_eq!(
            found.iter().map(|p| p.0).collect::<Vec<_>>(),
            [11, 12],
            "{view:?}"
        );
        for (pid, detail) in found {
            assert!(
                detail.contains("a line longer than 1048576 bytes"),
                "{view:?} {pid}: {detail}"
            );
        }
    }
}

#[test]
fn huge_names_are_cut_in_the_table_and_whole_in_json() {
    // Thirty processes, each mapping a file whose name is just under the line cap (1 MiB):
    // 30 MB of names. The table shows each cut around `...`; JSON and CSV keep them whole.
    let fake = FakeProc::new();
    let name = |pid: u32| {
        let mut n = format!("/srv/{pid}/").into_bytes();
        n.resize(1_000_000 - 7, b'n');
        n.extend_from_slice(b"/end.so");
        n
    };
    for pid in 100..130 {
        let smaps = smaps_record(
            map_header(
                0x1000,
                0x3000,
                "r--p",
                0,
                "fe:00",
                u64::from(pid),
                &name(pid),
            ),
            &[("Size", 8), ("Rss", 8), ("Pss", 8), ("Private_Clean", 8)],
        );
        fake.process(pid).smaps(&smaps).write();
    }
    let root = fake.root().display().to_string();
    let table = run_limited(&bounded(), ["--proc-root", &root]);
    assert_eq!(table.code(), 0);
    let text = stdout(&table.out);
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("/srv/")).collect();
    assert_eq!(rows.len(), 30, "one line per file");
    for row in rows {
        let shown = row.split("  ").next().expect("path cell");
        assert_eq!(shown.chars().count(), 8192, "cut to the table's width");
        assert!(
            shown.contains("n...n") && shown.ends_with("/end.so"),
            "{row:.80}"
        );
    }
    let json = run_limited(&bounded(), ["--proc-root", &root, "-f", "json"]);
    assert_eq!(json.code(), 0);
    let doc = parse_json(&json.out);
    let mut paths: Vec<Vec<u8>> = doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| exact(r, "path"))
        .collect();
    paths.sort();
    assert_eq!(paths, (100..130).map(name).collect::<Vec<_>>());
    let csv = run_limited(&bounded(), ["--proc-root", &root, "-f", "csv"]);
    assert_eq!(csv.code(), 0);
    let records = csv_records(&csv.out.stdout);
    assert!(records.iter().all(|r| r["path"].len() == 1_000_000));
}

#[test]
fn a_regex_with_thousands_of_groups_is_refused_or_quick() {
    let fake = FakeProc::new();
    let mut long = b"/".to_vec();
    long.resize(1_000_000, b'a');
    fake.process(10)
        .smaps(&smaps_record(
            map_header(0x1000, 0x3000, "r--p", 0, "fe:00", 9, &long),
            &[("Size", 8), ("Rss", 8), ("Pss", 8), ("Private_Clean", 8)],
        ))
        .write();
    let root = fake.root().display().to_string();
    // Thousands of groups, a pattern that compiles to more than the size limit, a pattern
    // longer than the length limit: a usage error, at once. (Messages are not printed on
    // failure: they hold the pattern.)
    let over_size = "(a{1000}){1000}".to_string();
    let over_length = "(a)".repeat(20_000);
    for (pattern, why) in [
        (over_size.as_str(), "size limit"),
        (&over_length, "longer than 4096 bytes"),
    ] {
        for flag in ["-m", "-c"] {
            let run = run_limited(&bounded(), ["--proc-root", &root, flag, pattern]);
            assert_eq!(run.code(), 2, "{flag} {why}");
            assert!(run.out.stdout.is_empty());
            assert!(
                stderr(&run.out).contains(why),
                "{flag}: not a `{why}` error"
            );
        }
    }
    // A thousand groups compile, and matching a 1 MB path with them is quick.
    let pattern = "(a)".repeat(1000);
    let run = run_limited(
        &bounded(),
        ["--proc-root", &root, "-m", &pattern, "-f", "json"],
    );
    assert_eq!(run.code(), 0);
    let doc = parse_json(&run.out);
    assert_eq!(doc["rows"].as_array().expect("rows").len(), 1);
}
