//! Races: processes that die, exec or turn zombie while pmaps reads them, under a churn of
//! short-lived helpers; kernel threads and zombies are classified as such.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::kernel_thread_pid;
use crate::support::*;

/// While a background thread keeps starting and killing short-lived helpers with hundreds of
/// mappings each, scans in every format and view (a round of full scans, then a round that
/// reads only the churning helpers) never panic, exit 0 (complete) or 3 (partial: PID 1 is
/// unreadable here), and every JSON outcome is a documented one, the counts adding up to
/// `processes`. Bounded by iteration count, not time.
#[test]
fn churn_soak_never_panics_and_outcomes_add_up() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    maphelper_bin();
    let stop = Arc::new(AtomicBool::new(false));
    let churn = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut started = 0u32;
            let mut live: Vec<Helper> = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let maps = 200 + (started % 5) * 100;
                live.push(Helper::spawn([
                    "--many-maps".to_string(),
                    maps.to_string(),
                    "--comm".to_string(),
                    format!("churn{started}"),
                ]));
                started += 1;
                // Keep 4 alive; kill the oldest (by PID, reaped) as each new one starts.
                if live.len() > 4 {
                    live.remove(0).kill();
                }
                std::thread::sleep(Duration::from_millis(u64::from(started % 7)));
            }
            for h in live {
                h.kill();
            }
            started
        })
    };
    let views = ["file", "process", "user", "command", "kind", "file,process"];
    let formats = ["table", "csv", "json"];
    let mut runs = 0;
    let mut raced: BTreeMap<String, u64> = BTreeMap::new();
    for round in 0..3 {
        for view in views {
            for format in formats {
                let mut args = vec!["-g", view, "-f", format];
                if round > 0 {
                    // Only the churning helpers are read (every PID is still listed and its
                    // stat read): how long a round takes no longer depends on what else
                    // runs here.
                    args.extend(["-c", "^churn"]);
                    if view == "process" {
                        // The per-process view also from full smaps, not only the rollup.
                        args.extend(["--source", "smaps"]);
                    }
                }
                let out = run_pmaps(&args);
                runs += 1;
                let c = code(&out);
                let err = text(&out.stderr);
                assert!(!err.contains("panicked"), "pmaps {args:?} panicked:\n{err}");
                assert!(
                    c == 0 || c == 3,
                    "pmaps {args:?} exited {c}; stderr:\n{err}"
                );
                match format {
                    "json" => {
                        let doc = parse_json(&out);
                        let o = outcomes(&doc);
                        if round == 0 {
                            // At least this test process is always there to read.
                            assert!(o["read"] > 0, "{o:?}");
                        }
                        for k in ["vanished", "incomplete", "zombie"] {
                            *raced.entry(k.to_string()).or_default() += o[k];
                        }
                        assert_eq!(
                            doc["meta"]["coverage"]["complete"].as_bool(),
                            Some(c == 0),
                            "exit status and `complete` disagree"
                        );
                    }
                    "csv" => {
                        let mut r = csv::Reader::from_reader(out.stdout.as_slice());
                        let width = r.headers().expect("CSV header").len();
                        for rec in r.records() {
                            let rec = rec.expect("CSV record parses");
                            assert_eq!(rec.len(), width);
                        }
                    }
                    _ => {
                        let t = text(&out.stdout);
                        let last = t.lines().last().unwrap_or("");
                        assert!(last.contains(" processes: "), "no coverage line: {last:?}");
                    }
                }
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let started = churn.join().expect("churn thread panicked");
    eprintln!("{runs} runs while {started} helpers came and went; JSON outcomes: {raced:?}");
    assert_eq!(runs, 54);
    assert!(
        started > 4,
        "the churn thread started only {started} helpers"
    );
}

/// How a read of one helper ended, from `-g process --source smaps -f json`.
struct OneRead {
    outcome: String,
    exit: i32,
    /// Mappings counted (only meaningful for `read`).
    mappings: u64,
    /// The command line the row shows (only for `read`).
    command: String,
}

fn read_one(pid: u32, source: &str) -> OneRead {
    let out = run_pmaps([
        "-p",
        &pid.to_string(),
        "-g",
        "process",
        "--source",
        source,
        "-f",
        "json",
    ]);
    let err = text(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    let doc = parse_json(&out);
    let outcome = only_outcome(&doc);
    let row = doc["rows"].get(0);
    OneRead {
        exit: code(&out),
        mappings: row.and_then(|r| r["mappings"].as_u64()).unwrap_or(0),
        command: row
            .and_then(|r| r["command"].as_str())
            .unwrap_or_default()
            .to_string(),
        outcome,
    }
}

/// The expected exit status for a single-process report with this outcome.
fn exit_for(outcome: &str) -> i32 {
    match outcome {
        "denied" | "incomplete" | "error" => 3,
        _ => 0,
    }
}

fn proc_cmdline(pid: u32) -> Vec<u8> {
    std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default()
}

/// A helper with 20,000 mappings is killed at moments spread over the time pmaps needs to
/// read it. The kernel then ends the smaps (or maps) read early with no error (a short,
/// valid-looking file); pmaps must never report that as `read`: a `read` has every mapping
/// (the count the kernel's maps showed just before), otherwise the outcome is `incomplete`,
/// `vanished` or `zombie` (killed before pmaps opened it, not yet reaped).
///
/// This found a bug: a process killed just before pmaps read its `stat` had already dropped
/// its memory; its smaps read empty and its address-space fields read zero before and after,
/// so "unchanged" passed it as a complete read of 0 mappings.
#[test]
fn process_killed_mid_read_is_never_a_short_read() {
    for source in ["smaps", "maps"] {
        killed_mid_read(source, 24);
    }
}

fn killed_mid_read(source: &str, iterations: u32) {
    maphelper_bin();
    // How long a full read takes here, to spread the kills over it.
    let probe = Helper::spawn(["--many-maps", "20000"]);
    let t0 = Instant::now();
    let full = read_one(probe.pid, source);
    let full_time = t0.elapsed();
    assert_eq!(full.outcome, "read");
    assert_eq!(full.mappings, maps_count(probe.pid) as u64);
    probe.kill();

    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    for i in 0..iterations {
        let helper = Helper::spawn(["--many-maps", "20000"]);
        let pid = helper.pid;
        let expected = maps_count(pid) as u64;
        let delay = full_time.mul_f64(f64::from(i) / f64::from(iterations) * 1.3);
        let mut child = Command::new(pmaps_bin())
            .args(["-p", &pid.to_string(), "-g", "process", "--source", source])
            .args(["-f", "json"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start pmaps");
        std::thread::sleep(delay);
        let unreaped = if i % 2 == 0 {
            // Killed and reaped at once: the PID disappears (ESRCH).
            helper.kill();
            None
        } else {
            // Killed but left unreaped until pmaps is done: a zombie meanwhile.
            kill_pid(pid);
            Some(helper)
        };
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        child
            .stdout
            .take()
            .expect("piped")
            .read_to_end(&mut stdout)
            .expect("read pmaps stdout");
        child
            .stderr
            .take()
            .expect("piped")
            .read_to_end(&mut stderr)
            .expect("read pmaps stderr");
        let status = child.wait().expect("wait pmaps");
        let out = Output {
            status,
            stdout,
            stderr,
        };
        let doc = parse_json(&out);
        let outcome = only_outcome(&doc);
        assert!(
            ["read", "incomplete", "vanished", "zombie"].contains(&outcome.as_str()),
            "{source} iteration {i}: outcome {outcome}"
        );
        if outcome == "read" {
            let got = doc["meta"]["coverage"]["mappings"].as_u64();
            assert_eq!(
                got,
                Some(expected),
                "{source} iteration {i} (kill after {delay:?}): a short read reported as read"
            );
        }
        assert_eq!(code(&out), exit_for(&outcome), "{source} iteration {i}");
        *seen.entry(outcome).or_default() += 1;
        drop(unreaped);
    }
    eprintln!("{source}: outcomes over {iterations} kills: {seen:?}");
    assert!(
        seen.get("incomplete").copied().unwrap_or(0) > 0,
        "{source}: no kill landed during a read ({seen:?}): the test did not exercise the race"
    );
}

/// Same with exec: the helper (20,000 mappings) re-executes itself with a small argument list
/// at moments spread over the read. A `read` whose row shows the old command line has every
/// old mapping; one showing the new command line read the new image (the outcome is taken
/// after the command line, so a read that started before the exec and continued after it is
/// `incomplete`). The process never leaves, so it is never `vanished`: that once happened
/// when the exec came between opening smaps and its first byte (an empty read).
#[test]
fn process_exec_mid_read_is_never_a_short_read() {
    maphelper_bin();
    let probe = Helper::spawn(["--many-maps", "20000"]);
    let t0 = Instant::now();
    let full = read_one(probe.pid, "smaps");
    let full_time = t0.elapsed();
    assert_eq!(full.outcome, "read");
    probe.kill();

    const ITERATIONS: u32 = 40;
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    for i in 0..ITERATIONS {
        let delay = full_time.mul_f64(f64::from(i) / 30.0);
        let ms = delay.as_millis().to_string();
        let mut helper = Helper::spawn([
            "--many-maps",
            "20000",
            "--exec-after-ms",
            &ms,
            "--comm",
            "after-exec",
            "--many-maps",
            "10",
        ]);
        let pid = helper.pid;
        // The old image's mapping count, when it can be taken before the exec.
        let before = proc_cmdline(pid);
        let count = maps_count(pid) as u64;
        let after = proc_cmdline(pid);
        let is_old = |c: &[u8]| c.windows(15).any(|w| w == b"--exec-after-ms");
        let old_count = (before == after && is_old(&after)).then_some(count);
        let r = read_one(pid, "smaps");
        // Wait for the new image to be ready, then kill it.
        let second = helper.next_line();
        assert_eq!(second, Some(format!("ready {pid}")));
        let new_count = maps_count(pid) as u64;
        drop(helper);
        assert!(
            ["read", "incomplete"].contains(&r.outcome.as_str()),
            "iteration {i}: outcome {}",
            r.outcome
        );
        assert_eq!(r.exit, exit_for(&r.outcome), "iteration {i}");
        let key = if r.outcome == "read" {
            if r.command.contains("--exec-after-ms") {
                let expected = old_count.unwrap_or_else(|| {
                    panic!("iteration {i}: the old image read after the exec was seen")
                });
                assert_eq!(
                    r.mappings, expected,
                    "iteration {i}: the old image read short but reported as read"
                );
                "read-old"
            } else {
                assert!(
                    r.command.ends_with("--comm after-exec --many-maps 10"),
                    "iteration {i}: unexpected command {:?}",
                    r.command
                );
                assert!(
                    r.mappings > 0 && r.mappings <= new_count + 16,
                    "iteration {i}: {} mappings for the new image (it has {new_count})",
                    r.mappings
                );
                "read-new"
            }
        } else {
            "incomplete"
        };
        *seen.entry(key.to_string()).or_default() += 1;
    }
    eprintln!("outcomes over {ITERATIONS} execs: {seen:?}");
    assert!(
        seen.contains_key("incomplete"),
        "no exec landed during a read ({seen:?}): the test did not exercise the race"
    );
}

/// A child that exited and was not reaped is a zombie (no memory to report, not an error),
/// and the report stays complete; a kernel thread is `kernel_thread`.
#[test]
fn zombies_and_kernel_threads_are_classified_as_such() {
    // A child of this process that exits at once: a zombie until it is waited for below.
    let mut child = Command::new("true")
        .stdin(Stdio::null())
        .spawn()
        .expect("start true");
    let zombie = child.id();
    let mut state = 0u8;
    for _ in 0..1000 {
        let stat = std::fs::read(format!("/proc/{zombie}/stat")).unwrap_or_default();
        state = stat_fields(&stat)
            .and_then(|fields| fields.first().and_then(|f| f.first().copied()))
            .unwrap_or(0);
        if state == b'Z' {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let kthread = kernel_thread_pid();
    let result = std::panic::catch_unwind(|| {
        assert_eq!(state, b'Z', "pid {zombie} never became a zombie");
        for (pid, expected) in [(zombie, "zombie"), (kthread, "kernel_thread")] {
            for view in [
                &["-g", "file"][..],
                &["-g", "process"],
                &["-g", "process", "--vsz"],
            ] {
                let out = run_pmaps([&["-p", &pid.to_string(), "-f", "json"][..], view].concat());
                let doc = parse_json(&out);
                assert_eq!(only_outcome(&doc), expected, "pid {pid} {view:?}");
                assert_eq!(code(&out), 0, "{}", text(&out.stderr));
                assert_eq!(doc["rows"].as_array().map(Vec::len), Some(0));
                assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
            }
        }
    });
    let _ = child.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
