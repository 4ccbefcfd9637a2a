//! Cron: `--allow-partial` makes a partial report exit 0 with nothing on stderr, while the
//! output still counts every process that was not read.

use std::ffi::OsStr;

use super::anon_process;
use crate::support::*;

/// 101 is read; 202's smaps is a directory, so it is an error (as an unreadable PID 1 is,
/// on every run).
fn tree() -> FakeProc {
    let fake = FakeProc::new();
    anon_process(&fake, 101, "web", &[400]).write();
    fake.process(202).file("smaps/not-a-file", b"").write();
    fake
}

#[test]
fn allow_partial_exits_0_quietly_and_still_counts_the_unread() {
    let fake = tree();
    for format in ["table", "csv", "json"] {
        let mut cmd = pmaps_on(fake.root());
        cmd.args(["-f", format]);
        let without = output(cmd);
        assert_exit(&without, 3);
        assert!(!without.stderr.is_empty());

        let mut cmd = pmaps_on(fake.root());
        cmd.args(["-f", format, "--allow-partial"]);
        let with = output(cmd);
        assert_exit(&with, 0);
        assert!(with.stderr.is_empty(), "{format}: {}", stderr(&with));
        // The same output, which still counts the process in error.
        assert_eq!(comparable(&with), comparable(&without), "{format}");
        match format {
            "table" => assert!(stdout(&with).contains("2 processes: 1 read, 1 error;")),
            "json" => {
                let doc = parse_json(&with);
                assert_eq!(doc["meta"]["coverage"]["outcomes"]["error"], 1);
                assert_eq!(doc["meta"]["coverage"]["complete"], false);
            }
            _ => assert_eq!(csv_records(&with.stdout).len(), 1),
        }
    }
}

/// A run's output without what changes from run to run (the time and duration).
fn comparable(out: &std::process::Output) -> String {
    let text = stdout(out);
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(mut doc) => {
            doc["meta"]["time_utc"] = serde_json::Value::Null;
            doc["meta"]["duration_seconds"] = serde_json::Value::Null;
            doc.to_string()
        }
        Err(_) => without_duration(&text),
    }
}

/// The case: a process even the cron job's user cannot read, every time.
#[test]
fn allow_partial_with_a_live_denied_process() {
    let root_helper = Helper::spawn(["--anon", "64K"]);
    let own = Helper::spawn_as_nobody(["--anon", "64K"]);
    let pids = format!("{},{}", root_helper.pid, own.pid);
    let args = [
        "-p",
        &pids,
        "-g",
        "process",
        "-f",
        "json",
        "--allow-partial",
    ];
    let out = run_pmaps_as_nobody(args.iter().map(OsStr::new));
    assert_exit(&out, 0);
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    let doc = parse_json(&out);
    let outcomes = &doc["meta"]["coverage"]["outcomes"];
    assert_eq!(
        (outcomes["read"].as_u64(), outcomes["denied"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        doc["meta"]["coverage"]["problems"][0]["pid"],
        root_helper.pid
    );
}
