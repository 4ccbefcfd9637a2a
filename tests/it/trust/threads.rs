//! No thread to spare (issue 9, point 18): under `ulimit -u 1` or a low `ulimit -v`, thread
//! creation fails; pmaps then reads every process on its one thread and reports, never
//! panics (exit 101) or hangs.

use super::eight_kb;
use crate::support::*;

/// A uid no other process uses, so that `ulimit -u 1` counts pmaps alone (RLIMIT_NPROC
/// counts every process of the real uid, and root's are exempt from it).
const LONE_UID: u32 = 61_234;

fn fake_tree() -> FakeProc {
    let fake = FakeProc::new();
    let smaps = eight_kb(b"");
    for pid in 10..40 {
        fake.process(pid).smaps(&smaps).smaps_rollup(&smaps).write();
    }
    fake
}

/// The report of a run that had to do without threads: every process read, by one thread.
fn assert_one_thread_read_all(out: &[u8]) {
    let doc: serde_json::Value =
        serde_json::from_slice(out).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(out)));
    assert_eq!(doc["meta"]["threads"], 1, "{}", doc["meta"]);
    assert_eq!(outcomes(&doc)["read"], 30);
    assert_eq!(doc["rows"].as_array().expect("rows").len(), 1);
    assert_eq!(kb(&doc["totals"]["rss_bytes"]), 30 * 8);
}

/// `ulimit -u 1` as [`LONE_UID`], on a pseudo-terminal or not.
fn one_process(tty: bool) -> Limits {
    Limits {
        nproc: Some(1),
        uid: Some(LONE_UID),
        tty,
        ..Limits::new(60)
    }
}

#[test]
fn ulimit_u_1_reads_on_one_thread() {
    let fake = fake_tree();
    let root = fake.root().display().to_string();
    let limits = one_process(false);
    for view in ["file", "process"] {
        let run = run_limited(
            &limits,
            ["--proc-root", &root, "-g", view, "-j", "4", "-f", "json"],
        );
        assert_eq!(run.code(), 0, "-g {view}: {}", stderr(&run.out));
        if view == "file" {
            assert_one_thread_read_all(&run.out.stdout);
        }
    }
}

#[test]
fn ulimit_u_1_on_a_terminal_has_no_progress_thread_and_no_panic() {
    // On a terminal, pmaps starts a thread for its progress line: none can be started.
    let fake = fake_tree();
    let root = fake.root().display().to_string();
    let run = run_limited(&one_process(true), ["--proc-root", &root, "-g", "process"]);
    assert_eq!(run.code(), 0, "{}", text(&run.out.stdout));
    let shown = text(&run.out.stdout);
    assert!(
        shown.contains("30 processes: 30 read; totals from smaps_rollup"),
        "{shown}"
    );
    assert!(!shown.contains("panicked"), "{shown}");
}

#[test]
fn a_low_ulimit_v_leaves_no_room_for_thread_stacks_and_reads_on_one_thread() {
    // 200 workers need 400 MiB of stacks; 100 MiB is room for pmaps alone.
    let fake = fake_tree();
    let root = fake.root().display().to_string();
    let limits = Limits {
        address_space: Some(100 << 20),
        ..Limits::new(60)
    };
    let run = run_limited(&limits, ["--proc-root", &root, "-j", "200", "-f", "json"]);
    assert_eq!(run.code(), 0, "{}", stderr(&run.out));
    assert_one_thread_read_all(&run.out.stdout);
}
