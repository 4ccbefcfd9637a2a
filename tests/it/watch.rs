//! `pmaps watch`: live helpers that leak, stay stable, saw-tooth and step once (the leaker
//! alone is a suspect, its growing mapping named, its rate measured), every format, a
//! target that exits, a PID reused under a target, Ctrl-C, and every process and file of a
//! fake tree.

use std::ffi::{CString, OsStr};
use std::io::{BufRead, BufReader};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::*;

/// The leaker's rate: 256 KiB every 100 ms, in bytes per hour.
const LEAK_PER_HOUR: f64 = 256.0 * 1024.0 * 10.0 * 3600.0;
/// The leaker's region.
const LEAK_REGION: u64 = 256 << 20;

/// A streaming watch's arguments: every 0.1 s in JSON Lines, bounded by `--count 600` (a
/// minute), should what is to end it (an exit, a signal) not.
const STREAMING: [&str; 7] = ["watch", "--interval", "0.1", "--count", "600", "-f", "json"];

/// Every line of JSON Lines output, parsed.
fn json_lines(bytes: &[u8]) -> Vec<Value> {
    text(bytes)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The address range of `pid`'s mapping of exactly `size` bytes, from its maps.
fn region_of(pid: u32, size: u64) -> (u64, u64) {
    let ranges: Vec<(u64, u64)> = proc_maps(pid)
        .iter()
        .map(|m| parse_range(&m.address))
        .collect();
    let found: Vec<&(u64, u64)> = ranges.iter().filter(|(s, e)| e - s == size).collect();
    assert_eq!(
        found.len(),
        1,
        "one mapping of {size} bytes in {pid}: {ranges:x?}"
    );
    *found[0]
}

/// `7f00-7f10` as numbers.
fn parse_range(s: &str) -> (u64, u64) {
    let (a, b) = s
        .split_once('-')
        .unwrap_or_else(|| panic!("not a range: {s}"));
    let n = |x: &str| u64::from_str_radix(x, 16).unwrap_or_else(|_| panic!("not hex: {x}"));
    (n(a), n(b))
}

/// The suspects of a summary record.
fn suspects(summary: &Value) -> &Vec<Value> {
    assert_eq!(summary["record"], "summary", "{summary}");
    summary["suspects"].as_array().expect("suspects")
}

/// `pmaps watch …` started with its stdout piped, read line by line.
struct Running {
    child: Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Running {
    fn start(mut cmd: std::process::Command) -> Running {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        // A background shell starts its jobs with SIGINT ignored, and pmaps keeps a signal it
        // was started with ignored: give it the default, as a terminal's Ctrl-C finds it.
        // SAFETY: signal() is async-signal-safe, and the closure touches nothing else.
        unsafe {
            cmd.pre_exec(|| {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                Ok(())
            });
        }
        let mut child = cmd.spawn().expect("start pmaps watch");
        let stdout = child.stdout.take().expect("stdout");
        Running {
            child,
            lines: BufReader::new(stdout).lines(),
        }
    }

    /// The next record (panics at the end of the stream).
    fn next(&mut self) -> Value {
        let line = self
            .lines
            .next()
            .expect("pmaps watch ended early")
            .expect("read a line");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// Reads records until the `n`-th sample.
    fn until_sample(&mut self, n: u64) -> Value {
        loop {
            let r = self.next();
            if r["record"] == "sample" && r["sample"] == n {
                return r;
            }
        }
    }

    /// The rest of the records, and the exit status and stderr.
    fn finish(mut self) -> (Vec<Value>, i32, String) {
        let rest: Vec<Value> = self
            .lines
            .by_ref()
            .map(|l| serde_json::from_str(&l.expect("read")).expect("JSON"))
            .collect();
        let out = self.child.wait_with_output().expect("wait for pmaps");
        (rest, code(&out), text(&out.stderr))
    }

    /// Waits until pmaps handles signals (its `pmaps-signals` thread runs).
    fn wait_for_signal_handling(&self) {
        let tasks = format!("/proc/{}/task", self.child.id());
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let named = std::fs::read_dir(&tasks)
                .into_iter()
                .flatten()
                .flatten()
                .any(|t| {
                    std::fs::read(t.path().join("comm")).is_ok_and(|c| c == b"pmaps-signals\n")
                });
            if named {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "pmaps never handled signals"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&self, sig: i32) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid");
        // SAFETY: kill has no memory-safety preconditions; the child is not reaped yet.
        unsafe { libc::kill(pid, sig) };
    }
}

#[test]
fn the_leaker_alone_is_a_suspect_its_mapping_named_and_its_rate_measured() {
    let leaker = Helper::spawn(["--grow-anon", "256K:100:256M"]);
    let stable = Helper::spawn(Vec::<&str>::new());
    // 512 KiB every 100 ms for 4 steps, then freed: a 500 ms tooth.
    let saw = Helper::spawn(["--sawtooth", "512K:100:4"]);
    // 16 MiB at once, 1.5 s after ready.
    let step = Helper::spawn(["--step-after", "1500:16M"]);
    let region = region_of(leaker.pid, LEAK_REGION);
    let pids: Vec<String> = [&leaker, &stable, &saw, &step]
        .iter()
        .map(|h| h.pid.to_string())
        .collect();
    let mut args = vec!["watch", "--interval", "0.2", "--count", "20", "-f", "json"];
    args.extend(pids.iter().map(String::as_str));
    let out = pmaps_ok(&args, 5);
    let records = json_lines(&out.stdout);
    assert_eq!(records.len(), 22, "start, 20 samples, summary");
    assert_eq!(records[0]["record"], "start");
    assert_eq!(records[0]["targets"].as_array().expect("targets").len(), 4);
    assert!(records[1..21].iter().all(|r| r["record"] == "sample"));
    let summary = &records[21];
    assert_eq!(summary["stopped_by"], "count");
    assert_eq!(summary["samples"], 20);
    let found = suspects(summary);
    assert!(!found.is_empty());
    for s in found {
        assert_eq!(
            s["pid"], leaker.pid,
            "a suspect that is not the leaker: {s:#}"
        );
        assert_eq!(s["verdict"], "growing");
    }
    // Its process total, and the growing mapping, named by its address range.
    assert!(found.iter().any(|s| s["series"] == "process"));
    let mapping = found
        .iter()
        .find(|s| s["series"] == "mapping")
        .expect("the leaking mapping is a suspect");
    let address = mapping["address"].as_str().expect("address");
    assert_eq!(parse_range(address), region, "{mapping:#}");
    assert_eq!(mapping["kind"], "anon");
    assert_eq!(mapping["metric"], "uss");
    let slope = mapping["slope_bytes_per_hour"].as_f64().expect("slope");
    assert!(
        (slope - LEAK_PER_HOUR).abs() <= 0.2 * LEAK_PER_HOUR,
        "slope {slope} B/h, true rate {LEAK_PER_HOUR} B/h"
    );
    assert!(
        mapping["r_squared"].as_f64().expect("r2") > 0.9,
        "{mapping:#}"
    );
    // Mostly up: on a busy machine the helper's thread may not run between two samples.
    assert!(
        mapping["increasing_fraction"].as_f64().expect("up") >= 0.7,
        "{mapping:#}"
    );
    assert_eq!(mapping["samples"], 20);
    let first = mapping["first_bytes"].as_u64().expect("first");
    let last = mapping["last_bytes"].as_u64().expect("last");
    assert_eq!(
        mapping["growth_bytes"].as_i64(),
        Some(last as i64 - first as i64)
    );
    // Every sample names the same series for it, with the value of that moment.
    let values: Vec<u64> = records[1..21]
        .iter()
        .map(|r| {
            r["values"]
                .as_array()
                .expect("values")
                .iter()
                .find(|v| v["address"] == address)
                .and_then(|v| v["value_bytes"].as_u64())
                .expect("the region in every sample")
        })
        .collect();
    assert_eq!((values[0], values[19]), (first, last));
    // The step and the sawtooth moved, and are not suspects.
    for h in [&saw, &step] {
        assert!(found.iter().all(|s| s["pid"] != h.pid));
    }
}

#[test]
fn csv_long_format_one_row_per_series_per_sample_then_the_suspects() {
    let leaker = Helper::spawn(["--grow-anon", "256K:100:256M"]);
    let region = region_of(leaker.pid, LEAK_REGION);
    let pid = leaker.pid.to_string();
    let out = pmaps_ok(
        [
            "watch",
            "--interval",
            "0.1",
            "--count",
            "12",
            "-f",
            "csv",
            &pid,
        ],
        5,
    );
    let body = text(&out.stdout);
    assert!(body.starts_with(
        "record,time_utc,elapsed_seconds,series,metric,pid,start_time,command,address,path,\
         kind,device,inode,value_bytes,samples,first_bytes,growth_bytes,slope_bytes_per_hour,\
         r_squared,increasing_fraction,verdict,note\r\n"
    ));
    let rows = csv_records(&out.stdout);
    let samples: Vec<_> = rows.iter().filter(|r| r["record"] == "sample").collect();
    // One row per mapping and one for the total, in each of the 12 samples.
    let per_sample = proc_maps(leaker.pid).len() + 1;
    let mut by_time: std::collections::BTreeMap<&String, usize> = Default::default();
    for r in &samples {
        *by_time.entry(&r["elapsed_seconds"]).or_default() += 1;
    }
    assert_eq!(by_time.len(), 12);
    assert!(by_time.values().all(|n| *n == per_sample), "{by_time:?}");
    assert!(
        samples
            .iter()
            .all(|r| r["pid"] == pid && r["time_utc"].ends_with('Z'))
    );
    // The summary rows come last, under the same header.
    let first_summary = rows
        .iter()
        .position(|r| r["record"] != "sample")
        .expect("summary");
    assert!(
        rows[first_summary..]
            .iter()
            .all(|r| r["record"] == "suspect" || r["record"] == "grower")
    );
    let leak = rows
        .iter()
        .find(|r| r["record"] == "suspect" && r["series"] == "mapping")
        .expect("the leaking mapping");
    assert_eq!(parse_range(&leak["address"]), region);
    let slope: f64 = leak["slope_bytes_per_hour"].parse().expect("slope");
    assert!(
        (slope - LEAK_PER_HOUR).abs() <= 0.2 * LEAK_PER_HOUR,
        "{slope}"
    );
    assert_eq!(leak["verdict"], "growing");
    // Not on a terminal, the table is the summary alone.
    let table = stdout(&pmaps_ok(
        ["watch", "--interval", "0.1", "--count", "12", &pid],
        5,
    ));
    assert!(
        table.starts_with("pmaps watch: 12 samples over "),
        "{table}"
    );
    assert!(table.contains("Suspects (2):"), "{table}");
    assert!(table.contains("(process total)"), "{table}");
    assert!(table.contains(" MiB/s "), "a rate in MiB/s: {table}");
}

#[test]
fn a_target_that_exits_ends_its_series_and_the_watch_cleanly() {
    let helper = Helper::spawn(["--wait-stdin"]);
    let pid = helper.pid;
    let mut cmd = pmaps_cmd();
    cmd.args(STREAMING).arg(pid.to_string());
    let mut run = Running::start(cmd);
    assert_eq!(run.next()["record"], "start");
    run.until_sample(3);
    assert!(helper.wait_exit().success());
    let (rest, code, err) = run.finish();
    assert_eq!(code, 0, "{err}");
    let summary = rest.last().expect("a summary");
    assert_eq!(summary["stopped_by"], "targets_gone");
    assert_eq!(summary["suspects"], Value::Array(vec![]));
    let ended: Vec<&Value> = rest
        .iter()
        .filter(|r| r["record"] == "sample")
        .flat_map(|r| r["ended"].as_array().expect("ended").iter())
        .collect();
    let process = ended
        .iter()
        .find(|e| e["series"] == "process")
        .expect("the process's series ended");
    assert_eq!(process["pid"], pid);
    assert_eq!(process["reason"], "exited");
    assert!(process["samples"].as_u64().expect("samples") >= 3);
    assert!(
        ended
            .iter()
            .all(|e| e["pid"] == pid && e["reason"] == "exited")
    );
    assert!(
        err.contains(&format!(
            "pmaps: PID {pid} (maphelper) exited; its series end after"
        )),
        "{err}"
    );
    assert!(
        err.contains("every target has ended: the watch ends"),
        "{err}"
    );
}

#[test]
fn a_signal_ends_the_watch_with_its_suspects_and_output_in_place() {
    let leaker = Helper::spawn(["--grow-anon", "256K:100:256M"]);
    let pid = leaker.pid.to_string();
    // On standard output: Ctrl-C after 12 samples gives the summary, with the leaker.
    let mut cmd = pmaps_cmd();
    cmd.args(STREAMING).arg(&pid);
    let mut run = Running::start(cmd);
    run.until_sample(12);
    run.signal(libc::SIGINT);
    let (rest, code, err) = run.finish();
    assert_eq!(code, 5, "{err}");
    let summary = rest.last().expect("summary");
    assert_eq!(summary["stopped_by"], "signal");
    assert!(suspects(summary).iter().any(|s| s["series"] == "mapping"));

    // With --output: spooled, then the file is written whole at the end, and no temporary
    // file is left behind.
    let dir = open_tempdir();
    let dest = dir.path().join("watch.jsonl");
    let mut cmd = pmaps_cmd();
    cmd.args(STREAMING).arg("-o").arg(&dest).arg(&pid);
    let run = Running::start(cmd);
    run.wait_for_signal_handling();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!dest.exists(), "the destination is written at the end only");
    run.signal(libc::SIGTERM);
    let (rest, code, err) = run.finish();
    assert!(rest.is_empty());
    let records = json_lines(&std::fs::read(&dest).expect("the output was written"));
    assert_eq!(records[0]["record"], "start");
    let summary = records.last().expect("summary");
    assert_eq!(summary["stopped_by"], "signal");
    let samples = records.iter().filter(|r| r["record"] == "sample").count();
    assert_eq!(summary["samples"], samples as u64);
    let expected = if suspects(summary).is_empty() { 0 } else { 5 };
    assert_eq!(code, expected, "{err}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left, [OsStr::new("watch.jsonl")]);
}

/// Swaps two directories atomically (`renameat2(RENAME_EXCHANGE)`).
fn exchange(a: &Path, b: &Path) {
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).expect("no NUL");
    let (a, b) = (c(a), c(b));
    // SAFETY: both are NUL-terminated paths that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    assert_eq!(rc, 0, "renameat2: {}", std::io::Error::last_os_error());
}

#[test]
fn a_pid_reused_under_a_target_ends_its_series_and_says_so() {
    let maps = [FakeMap::private(0x7f00_0000_0000, b"[heap]", 132, 64)];
    let tree = FakeProc::new();
    with_maps(tree.process(100).comm(b"first"), &maps).write();
    let other = FakeProc::new();
    with_maps(
        other.process(100).comm(b"second").start_time(777_777),
        &maps,
    )
    .write();
    let mut cmd = pmaps_on(tree.root());
    cmd.args(STREAMING).arg("100");
    let mut run = Running::start(cmd);
    let first = run.until_sample(2);
    assert_eq!(first["values"][0]["start_time"], 1100);
    exchange(&tree.root().join("100"), &other.root().join("100"));
    let (rest, code, err) = run.finish();
    assert_eq!(code, 0, "{err}");
    let ended: Vec<&Value> = rest
        .iter()
        .filter(|r| r["record"] == "sample")
        .flat_map(|r| r["ended"].as_array().expect("ended").iter())
        .collect();
    assert!(!ended.is_empty());
    assert!(
        ended
            .iter()
            .all(|e| e["reason"] == "pid_reused" && e["start_time"] == 1100)
    );
    // The new process's memory never entered a series.
    assert!(
        rest.iter()
            .filter(|r| r["record"] == "sample")
            .flat_map(|r| r["values"].as_array().expect("values").iter())
            .all(|v| v["start_time"] == 1100)
    );
    assert!(
        err.contains("PID 100 (first) is now another process (its PID was reused)"),
        "{err}"
    );
    assert_eq!(rest.last().expect("summary")["stopped_by"], "targets_gone");
}

#[test]
fn without_targets_every_process_and_every_file_has_its_series() {
    const LIB: &[u8] = b"/usr/lib/libwatch.so";
    const ODD: &[u8] = b"/srv/\xff\xfe data\x1b[31m.bin";
    let fake = FakeProc::new();
    with_maps(
        fake.process(100).comm(b"one"),
        &[
            FakeMap::shared(0x7f00_0000_0000, LIB, 5, 300, 150),
            FakeMap::private(0x7f10_0000_0000, b"", 512, 256),
        ],
    )
    .write();
    with_maps(
        fake.process(200).comm(b"two"),
        &[
            FakeMap::shared(0x7f00_0000_0000, LIB, 5, 300, 150),
            FakeMap::file(0x7f20_0000_0000, ODD, 9, 40),
        ],
    )
    .write();
    let mut cmd = pmaps_on(fake.root());
    cmd.args(["watch", "--interval", "0.1", "--count", "3", "-f", "json"]);
    let out = output(cmd);
    assert_exit(&out, 0);
    let records = json_lines(&out.stdout);
    assert_eq!(records.len(), 5);
    assert_eq!(records[0]["targets"], Value::Array(vec![]));
    assert_eq!(records[0]["metric_processes"], "uss");
    assert_eq!(records[0]["metric_files"], "pss");
    for sample in &records[1..4] {
        let values = sample["values"].as_array().expect("values");
        let get = |series: &str, f: &dyn Fn(&Value) -> bool| -> u64 {
            let found: Vec<&Value> = values
                .iter()
                .filter(|v| v["series"] == series && f(v))
                .collect();
            assert_eq!(found.len(), 1, "{series}: {sample:#}");
            found[0]["value_bytes"].as_u64().expect("value")
        };
        assert_eq!(values.len(), 5, "2 processes and 3 files: {sample:#}");
        assert_eq!(get("process", &|v| v["pid"] == 100), k(256));
        assert_eq!(get("process", &|v| v["pid"] == 200), k(40));
        assert_eq!(get("file", &|v| exact(v, "path") == LIB), k(300));
        assert_eq!(get("file", &|v| exact(v, "path") == b""), k(256));
        assert_eq!(get("file", &|v| exact(v, "path") == ODD), k(40));
        let odd = values
            .iter()
            .find(|v| v.get("path_hex").is_some())
            .expect("hex");
        assert_eq!(
            (odd["device"].as_str(), odd["inode"].as_u64()),
            (Some("fe:00"), Some(9))
        );
    }
    let summary = &records[4];
    assert_eq!(summary["suspects"], Value::Array(vec![]));
    assert_eq!(summary["growers"], Value::Array(vec![]));
    // The table's summary, and its escaped names.
    let mut cmd = pmaps_on(fake.root());
    cmd.args(["watch", "--interval", "0.1", "--count", "2"]);
    let table = stdout(&output(cmd));
    assert!(
        table.contains("No suspect:\nnothing grew steadily"),
        "{table}"
    );
}

#[test]
fn usage_errors_and_targets_that_cannot_be_watched() {
    let fake = FakeProc::new();
    with_maps(
        fake.process(100).comm(b"one"),
        &[FakeMap::private(0x7f10_0000_0000, b"", 512, 256)],
    )
    .write();
    let run = |args: &[&str]| {
        let mut cmd = pmaps_on(fake.root());
        cmd.args(args);
        output(cmd)
    };
    for bad in [
        &["watch", "--interval", "0"][..],
        &["watch", "--interval", "0.01"],
        &["watch", "--count", "0"],
        &["watch", "--metric", "mappings"],
        &["-g", "process", "watch"],
        &["watch", ""],
    ] {
        assert_exit(&run(bad), 2);
    }
    let out = run(&["watch", "4242", "--count", "1"]);
    assert_exit(&out, 4);
    assert!(stderr(&out).contains("no process 4242"), "{}", stderr(&out));
    let out = run(&["watch", "nosuchname", "--count", "1"]);
    assert_exit(&out, 4);
    // One target found and one not: watched, and partial.
    let out = run(&["watch", "100", "4242", "--count", "2", "--interval", "0.1"]);
    assert_exit(&out, 3);
    // A live process nobody may read.
    let helper = Helper::spawn(Vec::<&str>::new());
    let out = run_pmaps_as_nobody(["watch", "--count", "1", &helper.pid.to_string()]);
    assert_exit(&out, 3);
    assert!(
        stderr(&out).contains("permission denied"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn on_a_terminal_a_live_view_is_redrawn_each_sample_then_the_summary() {
    let leaker = Helper::spawn(["--grow-anon", "256K:100:256M"]);
    let mut cmd = pmaps_cmd();
    cmd.args(["watch", "--interval", "0.2", "--count", "12"])
        .arg(leaker.pid.to_string());
    let screen = run_on_terminal(cmd, 40, 200);
    assert_eq!(screen.code(), 5, "{}{}", screen.text, screen.stderr);
    // One frame per sample, each drawn over the last (home, clear), in the units of the
    // report, the growers first with their sparkline.
    let frames: Vec<&str> = screen.text.split("\x1b[H\x1b[2J").skip(1).collect();
    assert_eq!(frames.len(), 12, "{}", screen.text);
    let last = frames[11];
    assert!(last.starts_with("pmaps watch: 12 samples"), "{last}");
    assert!(last.contains("(process total)"), "{last}");
    assert!(
        last.chars().any(|c| ('▁'..='█').contains(&c)),
        "no sparkline: {last}"
    );
    // After the last frame: the suspects, the leaker's mapping among them.
    let summary = &last[last.find("Suspects").expect("the summary")..];
    assert!(summary.contains("growing"), "{summary}");
    assert!(summary.contains(&leaker.pid.to_string()), "{summary}");
    leaker.kill();
}
