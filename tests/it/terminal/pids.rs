//! `-p PID`: a PID that is no process is said on stderr and exits 4 (the others are still
//! reported); a thread's ID means its process, as `pmaps show TID` does.

use std::sync::mpsc;

use super::{anon_process, err_lines};
use crate::support::*;

fn tree() -> FakeProc {
    let fake = FakeProc::new();
    anon_process(&fake, 101, "web", &[400]).write();
    anon_process(&fake, 202, "db", &[800]).write();
    fake
}

#[test]
fn a_pid_that_is_no_process_is_said_and_exits_4() {
    let fake = tree();
    let run = |extra: &[&str]| {
        let mut cmd = pmaps_on(fake.root());
        cmd.args(["-g", "process"]).args(extra);
        output(cmd)
    };

    let out = run(&["-p", "999", "-f", "json"]);
    assert_exit(&out, 4);
    assert_eq!(err_lines(&out), ["pmaps: no process 999"]);
    let doc = parse_json(&out);
    assert_eq!(row_pids(&doc), Vec::<u64>::new());
    assert_eq!(
        doc["meta"]["coverage"]["missing_pids"],
        serde_json::json!([999])
    );

    // The processes that exist are reported all the same; the missing ones are named once.
    let out = run(&["-p", "999,101,998", "-f", "json"]);
    assert_exit(&out, 4);
    assert_eq!(err_lines(&out), ["pmaps: no processes 998, 999"]);
    let doc = parse_json(&out);
    assert_eq!(row_pids(&doc), [101]);
    assert_eq!(doc["meta"]["coverage"]["filtered"], 1);
    assert_eq!(doc["meta"]["coverage"]["complete"], true);

    // The table's coverage line says it too; --allow-partial does not excuse it.
    let out = run(&["-p", "101,999", "--allow-partial"]);
    let table = expect_exit(&out, 4);
    let coverage = table.lines().last().expect("coverage line");
    assert!(
        coverage.starts_with(
            "1 process: 1 read; totals from smaps_rollup; 1 filtered out; no process 999; "
        ),
        "{table}"
    );
    assert_eq!(err_lines(&out), ["pmaps: no process 999"]);

    // Every PID found: no such key, exit 0.
    let out = run(&["-p", "101", "-f", "json"]);
    assert_exit(&out, 0);
    assert!(
        parse_json(&out)["meta"]["coverage"]
            .get("missing_pids")
            .is_none()
    );
}

#[test]
fn a_thread_id_in_a_fake_tree_means_its_process() {
    let fake = tree();
    // 203 is a thread of 202: its status names its thread group.
    fake.process(203)
        .comm(b"db")
        .file(
            "status",
            b"Name:\tdb\nTgid:\t202\nPid:\t203\nPPid:\t1\nUid:\t0\t0\t0\t0\n",
        )
        .write();
    let mut cmd = pmaps_on(fake.root());
    cmd.args(["-g", "process", "-f", "json", "-p", "203"]);
    let out = output(cmd);
    assert_exit(&out, 0);
    let doc = parse_json(&out);
    assert_eq!(row_pids(&doc), [202]);
    assert_eq!(doc["rows"][0]["pss_bytes"], k(800));
}

/// A live thread: one this test starts in its own process.
#[test]
fn a_live_thread_id_means_its_process() {
    let (tid_tx, tid_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        tid_tx.send(tid).expect("send tid");
        let _ = done_rx.recv();
    });
    let tid = tid_rx.recv().expect("thread id");
    let pid = std::process::id();
    assert_ne!(
        u32::try_from(tid).ok(),
        Some(pid),
        "a thread, not the main one"
    );
    let out = run_pmaps(["-g", "process", "-f", "json", "-p", &tid.to_string()]);
    drop(done_tx);
    thread.join().expect("thread");
    assert_exit(&out, 0);
    assert_eq!(row_pids(&parse_json(&out)), [u64::from(pid)]);
}
