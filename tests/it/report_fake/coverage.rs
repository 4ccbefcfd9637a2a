//! Coverage of the fake tree: denied, malformed and odd processes make a partial report
//! (exit 3) without failing the run, and usage errors exit 2.

use super::expected::*;
use super::tree::*;
use crate::support::*;

#[test]
fn denied_and_malformed_processes_make_a_partial_report() {
    let fake = tree();
    let out = run_denied(&fake, &[]);
    let text = expect_exit(&out, 3);
    // The table ends in this coverage line; CSV and JSON send it to stderr.
    let coverage = "9 processes: 4 read, 1 vanished, 1 zombie, 1 kernel thread, 1 denied, 1 \
                    error; 21 mappings from smaps; <t> s\n";
    let want = format!("{FILE_TABLE}{coverage}");
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
        format!("pmaps: {coverage}")
    );
    assert!(lines[1].starts_with("pmaps: partial report: "), "{err}");

    let out = run_denied(&fake, &["-f", "json"]);
    let doc: FileDoc = serde_json::from_str(&expect_exit(&out, 3)).expect("JSON schema");
    let c = &doc.meta.coverage;
    assert_eq!(
        c.outcomes,
        Outcomes {
            denied: 1,
            error: 1,
            ..GOOD_OUTCOMES
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

/// The message of a process whose values would carry a sum past 2^64 bytes.
const IMPOSSIBLE: &str =
    "impossible values: its memory, alone or with the rest of the report, sums past 2^64 bytes";

/// One anonymous mapping of `kb` kB, every page resident and private dirty.
fn crafted_anon(start: u64, kb: u64) -> Vec<u8> {
    let header = map_header(start, start + 0x1000, "rw-p", 0, "00:00", 0, b"");
    full_smaps_record(header, SmapsKb::private_dirty(kb, kb))
}

/// The file-view CSV row of process 400's one file (`maps_400`) read from a full smaps
/// (which has `SwapPss:`, 0).
fn old_lib_row() -> String {
    let s = spec_of("/usr/lib/libold.so");
    file_row(
        s.csv_path,
        s.kind,
        s.object,
        [1, 1],
        [100, 20, 20, 20, 0, 0],
        Some(0),
    )
}

#[test]
fn a_process_whose_own_sums_pass_2_64_is_an_error_not_a_wrapped_total() {
    // (2^54 - 1) kB is 2^64 - 1024 bytes: each mapping fits in 64 bits, the two together do
    // not (wrapped, their sum would be 2^64 - 2048 bytes, less than either of them).
    const HUGE_KB: u64 = (1 << 54) - 1;
    let fake = FakeProc::new();
    let crafted = [
        crafted_anon(0x7f00_0000_0000, HUGE_KB),
        crafted_anon(0x7f10_0000_0000, HUGE_KB),
    ]
    .concat();
    fake.process(10).comm(b"crafted").smaps(&crafted).write();
    fake.process(20)
        .comm(b"good")
        .smaps(&smaps_text(&maps_400()))
        .write();
    let root = fake.root().display().to_string();

    // The crafted process is in no row: the report is process 20's, partial.
    let out = run(&fake, &["-f", "csv"]);
    assert_eq!(expect_exit(&out, 3), csv(FILE_HEADER, &[&old_lib_row()]));
    assert_eq!(
        stderr(&out).lines().last(),
        Some(
            format!(
                "pmaps: partial report: 1 process error; first error: {root}/10/smaps: {IMPOSSIBLE}"
            )
            .as_str()
        ),
        "{}",
        stderr(&out)
    );

    let out = run(&fake, &["-f", "json"]);
    let doc: FileDoc = serde_json::from_str(&expect_exit(&out, 3)).expect("JSON schema");
    let c = &doc.meta.coverage;
    assert_eq!(
        c.outcomes,
        Outcomes {
            read: 1,
            vanished: 0,
            zombie: 0,
            kernel_thread: 0,
            denied: 0,
            incomplete: 0,
            error: 1
        }
    );
    assert!(!c.complete);
    assert_eq!(c.mappings, Some(1));
    assert_eq!(
        c.problems,
        [ProblemJson {
            pid: 10,
            comm: "crafted".into(),
            outcome: "error".into(),
            path: Some(format!("{root}/10/smaps")),
            detail: Some(IMPOSSIBLE.into()),
        }]
    );
    assert_eq!(doc.rows.len(), 1);
    assert_eq!(
        doc.totals,
        FileRow {
            path: String::new(),
            path_hex: None,
            kind: None,
            device: None,
            inode: None,
            processes: 1,
            mappings: Some(1),
            size_bytes: Some(k(100)),
            rss_bytes: Some(k(20)),
            pss_bytes: Some(k(20)),
            uss_bytes: Some(k(20)),
            shared_bytes: Some(0),
            swap_bytes: Some(0),
            swap_pss_bytes: Some(0),
        }
    );

    // Per process too: 20 alone.
    let out = run(&fake, &["-g", "process", "--source", "smaps", "-f", "json"]);
    let doc: ProcessDoc = serde_json::from_str(&expect_exit(&out, 3)).expect("JSON schema");
    let pids: Vec<Option<u32>> = doc.rows.iter().map(|r| r.pid).collect();
    assert_eq!(pids, [Some(20)]);
    assert_eq!(doc.totals.rss_bytes, Some(k(20)));
}

#[test]
fn processes_whose_sum_would_pass_2_64_are_errors_and_no_total_wraps() {
    // 2^52 kB is 2^62 bytes: three such processes fit in a 64-bit total, a fourth would
    // carry it to 2^64. Five of them and one ordinary process: whatever the order the
    // workers take them in, three are read and two are errors, and every total is the
    // exact sum of what was read.
    const QUARTER_KB: u64 = 1 << 52;
    const QUARTER: u64 = 1 << 62;
    let fake = FakeProc::new();
    for pid in 11..=15 {
        fake.process(pid)
            .comm(b"crafted")
            .smaps(&crafted_anon(0x7f00_0000_0000, QUARTER_KB))
            .write();
    }
    fake.process(20)
        .comm(b"good")
        .smaps(&smaps_text(&maps_400()))
        .write();
    let root = fake.root().display().to_string();
    let anon = FileRow {
        path: String::new(),
        path_hex: None,
        kind: Some("anon".into()),
        device: Some(NO_OBJECT.0.into()),
        inode: Some(NO_OBJECT.1),
        processes: 3,
        mappings: Some(3),
        size_bytes: Some(3 * QUARTER),
        rss_bytes: Some(3 * QUARTER),
        pss_bytes: Some(3 * QUARTER),
        uss_bytes: Some(3 * QUARTER),
        shared_bytes: Some(0),
        swap_bytes: Some(0),
        swap_pss_bytes: Some(0),
    };
    for threads in ["1", "2", "4"] {
        let out = run(&fake, &["-f", "json", "-j", threads]);
        let doc: FileDoc = serde_json::from_str(&expect_exit(&out, 3)).expect("JSON schema");
        let c = &doc.meta.coverage;
        assert_eq!(
            c.outcomes,
            Outcomes {
                read: 4,
                vanished: 0,
                zombie: 0,
                kernel_thread: 0,
                denied: 0,
                incomplete: 0,
                error: 2
            },
            "-j {threads}"
        );
        assert_eq!(c.problems.len(), 2, "-j {threads}: {:?}", c.problems);
        for p in &c.problems {
            assert!((11..=15).contains(&p.pid), "-j {threads}: {p:?}");
            assert_eq!(
                (p.outcome.as_str(), p.path.clone(), p.detail.as_deref()),
                (
                    "error",
                    Some(format!("{root}/{}/smaps", p.pid)),
                    Some(IMPOSSIBLE)
                ),
                "-j {threads}"
            );
        }
        assert_eq!(doc.rows[0], anon, "-j {threads}");
        assert_eq!(doc.rows.len(), 2, "-j {threads}");
        assert_eq!(doc.rows[1].path, "/usr/lib/libold.so", "-j {threads}");
        // The totals: exact sums, so never below a row.
        let t = &doc.totals;
        assert_eq!((t.processes, t.mappings), (4, Some(4)), "-j {threads}");
        assert_eq!(t.size_bytes, Some(3 * QUARTER + k(100)), "-j {threads}");
        assert_eq!(t.rss_bytes, Some(3 * QUARTER + k(20)), "-j {threads}");
        assert_eq!(t.pss_bytes, Some(3 * QUARTER + k(20)), "-j {threads}");
        assert_eq!(t.uss_bytes, Some(3 * QUARTER + k(20)), "-j {threads}");
        for r in &doc.rows {
            for (row, total) in [
                (r.size_bytes, t.size_bytes),
                (r.rss_bytes, t.rss_bytes),
                (r.pss_bytes, t.pss_bytes),
                (r.uss_bytes, t.uss_bytes),
            ] {
                assert!(row <= total, "-j {threads}: a row above the totals: {r:?}");
            }
        }

        // Per process: the three read, 20, and totals that are their sum.
        let out = run(
            &fake,
            &[
                "-g", "process", "--source", "smaps", "-f", "json", "-j", threads,
            ],
        );
        let doc: ProcessDoc = serde_json::from_str(&expect_exit(&out, 3)).expect("JSON schema");
        let huge: Vec<u32> = doc
            .rows
            .iter()
            .filter(|r| r.rss_bytes == Some(QUARTER))
            .filter_map(|r| r.pid)
            .collect();
        assert_eq!(huge.len(), 3, "-j {threads}: {:?}", doc.rows);
        assert_eq!(doc.rows.len(), 4, "-j {threads}: {:?}", doc.rows);
        assert_eq!(
            doc.totals.rss_bytes,
            Some(3 * QUARTER + k(20)),
            "-j {threads}"
        );
        // Each crafted process is read or an error, never both, never neither.
        let errors: Vec<u32> = doc.meta.coverage.problems.iter().map(|p| p.pid).collect();
        let mut all: Vec<u32> = huge.iter().chain(&errors).copied().collect();
        all.sort_unstable();
        assert_eq!(all, [11, 12, 13, 14, 15], "-j {threads}");
    }
}

#[test]
fn a_value_past_2_64_bytes_is_an_error_not_saturated() {
    // 2^54 kB is 2^64 bytes: no kernel prints it. (It once saturated to 2^64 - 1 bytes, a
    // process read in full with 16 EiB resident.)
    let fake = FakeProc::new();
    let header = map_header(
        0x7f00_0000_0000,
        0x7f00_0000_1000,
        "rw-p",
        0,
        "00:00",
        0,
        b"",
    );
    let crafted = full_smaps_record(header, SmapsKb::private_dirty(4, 1 << 54));
    fake.process(10).comm(b"crafted").smaps(&crafted).write();
    fake.process(20)
        .comm(b"good")
        .smaps(&smaps_text(&maps_400()))
        .write();
    let root = fake.root().display().to_string();
    let out = run(&fake, &["-f", "csv"]);
    assert_eq!(expect_exit(&out, 3), csv(FILE_HEADER, &[&old_lib_row()]));
    let out = run(&fake, &["-f", "json"]);
    let doc: FileDoc = serde_json::from_str(&expect_exit(&out, 3)).expect("JSON schema");
    assert_eq!(
        doc.meta.coverage.problems,
        [ProblemJson {
            pid: 10,
            comm: "crafted".into(),
            outcome: "error".into(),
            path: Some(format!("{root}/10/smaps")),
            detail: Some("malformed smaps value: \"Rss:            18014398509481984 kB\"".into()),
        }]
    );
    assert_eq!(doc.totals.rss_bytes, Some(k(20)));
}
