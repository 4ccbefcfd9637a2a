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
