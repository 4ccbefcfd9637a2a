//! What a proc root says about itself (issue 9, points 11 and 13): a live process whose
//! `smaps` is missing is an error, not gone; a directory that is not a proc is fatal, not an
//! empty complete report.

use super::{eight_kb, report_json};
use crate::support::*;

#[test]
fn a_live_process_without_smaps_is_an_error_not_vanished() {
    // A kernel without smaps_rollup (before 4.14) or without page monitoring answers ENOENT
    // for a process that is still there: `stat` reads fine before and after.
    let fake = FakeProc::new();
    fake.process(10)
        .smaps(&eight_kb(b""))
        .smaps_rollup(&eight_kb(b""))
        .write();
    fake.process(11).comm(b"no-smaps").write();
    let root = fake.root().display().to_string();
    // (view, the file found missing): `--source auto` reads smaps where there is no rollup.
    let cases: [(&[&str], &str); 3] = [
        (&["-g", "file"], "smaps"),
        (&["-g", "process"], "smaps"),
        (&["-g", "process", "--source", "rollup"], "smaps_rollup"),
    ];
    for (view, file) in cases {
        let mut args = vec!["--proc-root", root.as_str(), "-f", "json"];
        args.extend_from_slice(view);
        let out = pmaps_ok(&args, 3);
        let doc = parse_json(&out);
        let o = outcomes(&doc);
        assert_eq!(
            (o["read"], o["error"], o["vanished"]),
            (1, 1, 0),
            "{view:?}"
        );
        let problem = &doc["meta"]["coverage"]["problems"][0];
        assert_eq!(problem["pid"], 11);
        assert_eq!(problem["outcome"], "error");
        assert_eq!(problem["path"], format!("{root}/11/{file}"), "{view:?}");
        let detail = problem["detail"].as_str().expect("detail");
        assert!(detail.contains("still there"), "{detail}");
        assert!(
            stderr(&out).contains("partial report: 1 process error"),
            "{}",
            stderr(&out)
        );
    }
    // A process whose directory is gone (no `stat` either) is still just vanished.
    fake.process(12).no_stat().write();
    let doc = parse_json(&pmaps_ok(["--proc-root", &root, "-f", "json"], 3));
    assert_eq!(outcomes(&doc)["vanished"], 1);
}

#[test]
fn without_smaps_rollup_the_automatic_source_reads_smaps() {
    // A kernel before 4.14: smaps and no smaps_rollup. `-g process` still reads every
    // process (the same totals); asking for the rollup by name is an error.
    let fake = FakeProc::new();
    for pid in [10, 11] {
        fake.process(pid).smaps(&eight_kb(b"")).write();
    }
    let root = fake.root().display().to_string();
    let doc = report_json(&root, &["-g", "process"]);
    assert_eq!(outcomes(&doc)["read"], 2);
    assert_eq!(kb(&doc["totals"]["rss_bytes"]), 16);
    assert_eq!(kb(&doc["totals"]["size_bytes"]), 16);
    let out = pmaps_ok(
        [
            "--proc-root",
            &root,
            "-g",
            "process",
            "--source",
            "rollup",
            "-f",
            "json",
        ],
        3,
    );
    assert_eq!(outcomes(&parse_json(&out))["error"], 2);
}

#[test]
fn a_directory_that_is_not_a_proc_is_a_fatal_error() {
    let empty = tempfile::tempdir().expect("tempdir");
    let mut roots = vec![empty.path().to_path_buf()];
    // /tmp, unless something there looks like a proc (a numeric entry or `self`).
    let tmp_is_not_proc = std::fs::read_dir("/tmp").is_ok_and(|entries| {
        !entries.flatten().any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name == "self" || (!name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()))
        })
    });
    if tmp_is_not_proc {
        roots.push("/tmp".into());
    } else {
        eprintln!("/tmp has a numeric entry or `self`: checking the empty directory only");
    }
    for root in &roots {
        let root = root.display().to_string();
        for args in [
            vec![],
            vec!["-g", "process"],
            vec!["show", "somename"],
            vec!["show", "1"],
            vec!["1"],
        ] {
            let mut all = vec!["--proc-root", root.as_str()];
            all.extend(args.iter().copied());
            let out = pmaps_ok(&all, 1);
            assert!(out.stdout.is_empty(), "{all:?}: {}", text(&out.stdout));
            let err = stderr(&out);
            assert!(
                err.contains(&format!("cannot list processes in {root}"))
                    && err.contains("not a proc file system"),
                "{all:?}: {err}"
            );
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }
    // An empty tree that has `self` is a proc with nothing else to read: a complete report.
    let fake = FakeProc::new();
    fake.self_pid(4242);
    let out = run_clean([
        "--proc-root",
        &fake.root().display().to_string(),
        "-f",
        "json",
    ]);
    assert_eq!(parse_json(&out)["meta"]["coverage"]["processes"], 0);
}
