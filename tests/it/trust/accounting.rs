//! Accounting (issue 9, points 7 and 8): memory that lives on after the main thread exited
//! is read (and replayed so from a capture), and memory that two processes share as one
//! address space is counted once.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{eight_kb, report_json};
use crate::support::*;

/// The thread IDs of `pid` other than its main thread.
fn other_threads(pid: u32) -> Vec<u32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("list task/")
        .map(|e| {
            e.expect("entry")
                .file_name()
                .to_string_lossy()
                .parse()
                .expect("tid")
        })
        .filter(|&t| t != pid)
        .collect()
}

/// The state letter of a `stat` line.
fn state(stat: &[u8]) -> u8 {
    stat_fields(stat).expect("stat")[0][0]
}

#[test]
fn a_process_whose_main_thread_exited_is_read_through_a_live_thread() {
    let h = Helper::spawn([
        "--comm",
        "trust-leader",
        "--anon",
        "16M",
        "--exit-main-thread",
    ]);
    let pid = h.pid.to_string();
    // What the kernel shows: the main thread a zombie with an empty smaps, the memory alive
    // in the other thread.
    let leader = std::fs::read(format!("/proc/{pid}/stat")).expect("stat");
    assert_eq!(state(&leader), b'Z');
    assert!(
        std::fs::read(format!("/proc/{pid}/smaps"))
            .expect("smaps")
            .is_empty()
    );
    let threads = other_threads(h.pid);
    assert_eq!(threads.len(), 1, "{threads:?}");
    let oracle = parse_smaps(
        &std::fs::read(format!("/proc/{pid}/task/{}/smaps", threads[0])).expect("smaps"),
    );
    let sixteen = oracle
        .iter()
        .filter(|r| r.kb("Size") == Some(16384) && r.kb("Rss") == Some(16384))
        .count();
    assert_eq!(sixteen, 1, "the 16 MiB written");

    // The report reads it (not a zombie with nothing) and is complete.
    let doc = parse_json(&run_clean(["-p", &pid, "-g", "process", "-f", "json"]));
    assert_eq!(only_outcome(&doc), "read");
    assert_eq!(doc["meta"]["coverage"]["complete"], true);
    let rows = doc["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["pid"], h.pid);
    let rss: u64 = oracle.iter().filter_map(|r| r.kb("Rss")).sum();
    assert_eq!(kb(&rows[0]["rss_bytes"]), rss);

    // `show` finds it by name, and every mapping is the thread's smaps, address for address.
    let doc = parse_json(&pmaps_ok(["show", "trust-leader", "-f", "json"], 0));
    let procs = doc["processes"].as_array().expect("processes");
    assert_eq!(procs.len(), 1, "{doc}");
    assert_eq!(procs[0]["pid"], h.pid);
    assert_eq!(procs[0]["outcome"], "read");
    let shown: Vec<(String, u64, u64)> = procs[0]["mappings"]
        .as_array()
        .expect("mappings")
        .iter()
        .map(|m| {
            (
                m["address"].as_str().expect("address").to_string(),
                kb(&m["size_bytes"]),
                kb(&m["rss_bytes"]),
            )
        })
        .collect();
    let expected: Vec<(String, u64, u64)> = oracle
        .iter()
        .map(|r| {
            let range = String::from_utf8_lossy(&r.header)
                .split(' ')
                .next()
                .expect("range")
                .to_string();
            (
                range,
                r.kb("Size").expect("Size"),
                r.kb("Rss").expect("Rss"),
            )
        })
        .collect();
    assert_eq!(shown, expected);
}

#[test]
fn a_capture_replays_a_process_whose_main_thread_exited() {
    // A fake tree laid out as the kernel shows such a process: the main thread a zombie
    // with an empty smaps, thread 21 alive with the memory.
    let fake = FakeProc::new();
    let db = b"/srv/leaderless.db";
    let thread_stat = fake
        .process(21)
        .comm(b"leaderless")
        .start_time(700)
        .stat_bytes();
    fake.process(20)
        .comm(b"leaderless")
        .start_time(700)
        .state(b'Z')
        .smaps(b"")
        .file("task/20/comm", b"leaderless\n")
        .file("task/21/stat", &thread_stat)
        .file("task/21/cmdline", b"/srv/leaderless\0")
        .file("task/21/smaps", &eight_kb(db))
        .file(
            "task/21/maps",
            &map_header(0x1000, 0x3000, "rw-p", 0, "00:00", 0, db),
        )
        .write();
    let root = fake.root().to_str().expect("utf-8 path");
    let dir = open_tempdir();
    let archive = dir.path().join("leaderless.tar.zst");
    let archive = archive.to_str().expect("utf-8 path");
    let captured = run_pmaps(["--proc-root", root, "capture", "-o", archive]);
    assert_eq!(
        captured.status.code(),
        Some(0),
        "{}",
        text(&captured.stderr)
    );
    for args in [
        &["-g", "file"][..],
        &["-g", "file,process"],
        &["-g", "file", "--vsz"],
    ] {
        let live = report_json(root, args);
        assert_eq!(only_outcome(&live), "read", "{args:?}");
        let mut all = vec!["--from", archive, "-f", "json"];
        all.extend_from_slice(args);
        let replayed = parse_json(&run_clean(&all));
        for key in ["rows", "totals"] {
            assert_eq!(replayed[key], live[key], "{key} of {args:?}");
        }
        assert_eq!(outcomes(&replayed), outcomes(&live), "{args:?}");
        assert_eq!(kb(&replayed["totals"]["size_bytes"]), 8, "{args:?}");
    }
}

/// The JSON rows of a report as (pid, rss in kB).
fn pids_and_rss(doc: &Value) -> Vec<(u64, u64)> {
    doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| (r["pid"].as_u64().expect("pid"), kb(&r["rss_bytes"])))
        .collect()
}

#[test]
fn processes_sharing_one_address_space_are_counted_once_with_the_lowest_pid() {
    let (h, guard) = with_child(&["--anon", "16M"], "clone");
    let clone = guard.0;
    let (low, high) = (h.pid.min(clone), h.pid.max(clone));
    let pids = pid_list([h.pid, clone]);
    // The oracle: one address space, read once.
    let oracle = read_smaps(h.pid);
    let rss: u64 = oracle.iter().filter_map(|r| r.kb("Rss")).sum();
    let anon: u64 = oracle
        .iter()
        .filter(|r| r.path.is_empty())
        .filter_map(|r| r.kb("Rss"))
        .sum();
    assert!(anon >= 16384, "the 16 MiB written: {anon} kB");

    for source in ["rollup", "smaps"] {
        let doc = parse_json(&run_clean([
            "-p", &pids, "-g", "process", "--source", source, "-f", "json",
        ]));
        assert_eq!(outcomes(&doc)["read"], 2, "both are read");
        assert_eq!(
            pids_and_rss(&doc),
            [(u64::from(low), rss)],
            "--source {source}"
        );
        assert_eq!(kb(&doc["totals"]["rss_bytes"]), rss);
        let cov = &doc["meta"]["coverage"];
        assert_eq!(
            cov["shared_address_space"],
            serde_json::json!([{"pid": high, "counted_with": low}])
        );
        assert_eq!(cov["complete"], true);
    }
    // Per file: the anonymous memory is one process's, counted once.
    let doc = parse_json(&run_clean(["-p", &pids, "-f", "json"]));
    let rows = doc["rows"].as_array().expect("rows");
    let anon_row = rows
        .iter()
        .find(|r| r["path"] == "")
        .unwrap_or_else(|| panic!("no anonymous row in {doc}"));
    assert_eq!(anon_row["processes"], 1);
    assert_eq!(kb(&anon_row["rss_bytes"]), anon);
    // The table says so on its coverage line.
    let table = stdout(&run_clean(["-p", &pids, "-g", "process"]));
    assert!(
        table.contains(
            "1 process shares another's address space (counted once, with the lowest PID)"
        ),
        "{table}"
    );
}

/// SIGKILL to a PID when dropped (a `--clone-vm` child, which the helper reaps).
struct KillOnDrop(u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        kill_pid(self.0);
    }
}

/// A maphelper that is PID 1 of a new PID namespace with its own proc mount
/// (`unshare --pid --fork --mount-proc`), killed by its host PID (which ends the namespace).
struct NamespaceHelper {
    unshare: Child,
    /// The helper's PID as the host sees it, once found.
    host_pid: Option<u32>,
}

impl NamespaceHelper {
    fn spawn(args: &[&str]) -> NamespaceHelper {
        let unshare = Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc"])
            .arg(maphelper_bin())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run unshare");
        // From here on a failed start is cleaned up too: killing unshare kills the helper
        // (its parent-death signal) and with it the namespace.
        let mut ns = NamespaceHelper {
            unshare,
            host_pid: None,
        };
        let mut out = BufReader::new(ns.unshare.stdout.take().expect("stdout"));
        let mut line = String::new();
        out.read_line(&mut line).expect("read ready");
        assert_eq!(
            line.trim(),
            "ready 1",
            "the helper is PID 1 of its namespace"
        );
        // The helper is the child of unshare.
        let parent = ns.unshare.id().to_string();
        let deadline = Instant::now() + Duration::from_secs(10);
        while ns.host_pid.is_none() {
            ns.host_pid = std::fs::read_dir("/proc")
                .expect("list /proc")
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
                .find(|p| {
                    std::fs::read(format!("/proc/{p}/stat")).is_ok_and(|s| {
                        // Field 4, the parent's PID (`stat_fields` starts at field 3).
                        stat_fields(&s).is_some_and(|f| f[1] == parent.as_bytes())
                    })
                });
            assert!(Instant::now() < deadline, "no child of unshare {parent}");
            std::thread::sleep(Duration::from_millis(20));
        }
        ns
    }

    /// Its namespace's proc mount, as the host reaches it.
    fn proc_root(&self) -> String {
        format!("/proc/{}/root/proc", self.host_pid.expect("started"))
    }
}

impl Drop for NamespaceHelper {
    fn drop(&mut self) {
        if let Some(pid) = self.host_pid {
            kill_pid(pid);
        }
        kill_pid(self.unshare.id());
        let _ = self.unshare.wait();
    }
}

#[test]
fn a_proc_of_another_pid_namespace_cannot_tell_and_says_so() {
    // PIDs 1 and 2 of their namespace share one address space; pmaps, outside it, cannot
    // ask the kernel about them (its PIDs are not theirs).
    let ns = NamespaceHelper::spawn(&["--anon", "1M", "--clone-vm"]);
    let root = ns.proc_root();
    let doc = report_json(&root, &["-g", "process"]);
    assert_eq!(outcomes(&doc)["read"], 2);
    let cov = &doc["meta"]["coverage"];
    // The first of the two read has nobody to compare with; the second is the doubt.
    assert_eq!(cov["shared_address_space_unknown"], 1, "{cov}");
    assert!(cov.get("shared_address_space").is_none(), "{cov}");
    assert_eq!(doc["rows"].as_array().expect("rows").len(), 2);
    let table = stdout(&run_clean(["--proc-root", &root, "-g", "process"]));
    assert!(
        table.contains("1 process may share an address space (cannot tell: each counted)"),
        "{table}"
    );
}

/// A helper started with `args` and `--clone-vm` or `--fork` (`what`: `clone` or `fork`),
/// and its child, SIGKILLed by PID when dropped.
fn with_child(args: &[&str], what: &str) -> (Helper, KillOnDrop) {
    let flag = format!("--{}", if what == "clone" { "clone-vm" } else { what });
    let mut h = Helper::spawn(args.iter().copied().chain([flag.as_str()]));
    let line = h.next_line().expect("child line");
    let child = line
        .strip_prefix(what)
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("expected `{what} <pid>`, got {line:?}"));
    (h, KillOnDrop(child))
}

/// Fields 26-28 and 45-51 of `stat`: what pmaps compares before it asks the kernel.
fn layout(pid: u32) -> Vec<Vec<u8>> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).expect("stat");
    let f = stat_fields(&stat).expect("stat");
    [26, 27, 28, 45, 46, 47, 48, 49, 50, 51]
        .iter()
        .map(|&n| f[n - 3].to_vec())
        .collect()
}

#[test]
fn forked_processes_laid_out_alike_are_each_their_own() {
    // Forked without exec: the same code, stack, heap and argument addresses, but two address
    // spaces. The kernel is asked, says so, and both are counted.
    let (h, guard) = with_child(&["--anon", "1M"], "fork");
    let child = guard.0;
    assert_eq!(layout(h.pid), layout(child), "laid out alike");
    let pids = pid_list([h.pid, child]);
    let doc = parse_json(&run_clean(["-p", &pids, "-g", "process", "-f", "json"]));
    assert_eq!(doc["rows"].as_array().expect("rows").len(), 2);
    assert!(
        doc["meta"]["coverage"]
            .get("shared_address_space")
            .is_none()
    );

    // A fake tree (no kernel behind it) whose processes all have the same fields is never
    // said to share: there is nobody to ask.
    let fake = FakeProc::new();
    for pid in [10, 11, 12] {
        fake.process(pid)
            .smaps_rollup(&eight_kb(b"[rollup]"))
            .write();
    }
    let doc = report_json(&fake.root().display().to_string(), &["-g", "process"]);
    assert_eq!(doc["rows"].as_array().expect("rows").len(), 3);
    let cov = &doc["meta"]["coverage"];
    assert!(cov.get("shared_address_space").is_none(), "{cov}");
    assert!(cov.get("shared_address_space_unknown").is_none(), "{cov}");
}
