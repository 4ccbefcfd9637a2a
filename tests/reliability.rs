//! Reliability under races, missing permissions, namespaces and resource limits: what pmaps
//! reports when processes die, exec or hide while it reads them, when it runs as an
//! unprivileged user or in a user namespace, and when it meets a very large process, a low
//! file-descriptor limit or a proc tree whose files block or fail.
//!
//! Every test filters to the processes it starts (`-p`) or reads a fake proc root: a full
//! scan here is always partial (PID 1 is unreadable even for root), and nothing may depend on
//! what else runs on the machine. The one full-scan test (the churn soak) only checks
//! invariants that hold on any machine.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// Every outcome name pmaps documents.
const OUTCOMES: [&str; 7] = [
    "read",
    "vanished",
    "zombie",
    "kernel_thread",
    "denied",
    "incomplete",
    "error",
];

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn code(out: &Output) -> i32 {
    out.status
        .code()
        .unwrap_or_else(|| panic!("pmaps died from a signal: {:?}", out.status))
}

fn parse_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "pmaps did not print valid JSON ({e}); exit {:?}; stderr:\n{}\nstdout:\n{}",
            out.status,
            text(&out.stderr),
            text(&out.stdout)
        )
    })
}

/// `meta.coverage.outcomes` as a map, checked against the documented names and the total.
fn outcomes(doc: &Value) -> BTreeMap<String, u64> {
    let cov = &doc["meta"]["coverage"];
    let map = cov["outcomes"]
        .as_object()
        .unwrap_or_else(|| panic!("no meta.coverage.outcomes in {doc}"));
    let mut out = BTreeMap::new();
    for (k, v) in map {
        assert!(OUTCOMES.contains(&k.as_str()), "undocumented outcome {k}");
        let n = v
            .as_u64()
            .unwrap_or_else(|| panic!("outcome {k} is not a count: {v}"));
        out.insert(k.clone(), n);
    }
    let sum: u64 = out.values().sum();
    assert_eq!(
        Some(sum),
        cov["processes"].as_u64(),
        "outcome counts do not add up to `processes` in {cov}"
    );
    out
}

/// The one non-zero outcome of a single-process report.
fn only_outcome(doc: &Value) -> String {
    let nonzero: Vec<(String, u64)> = outcomes(doc).into_iter().filter(|(_, n)| *n > 0).collect();
    assert_eq!(
        nonzero.len(),
        1,
        "expected exactly one process with one outcome: {nonzero:?}"
    );
    assert_eq!(nonzero[0].1, 1, "expected exactly one process: {nonzero:?}");
    nonzero[0].0.clone()
}

fn pid_list(pids: &[u32]) -> String {
    pids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Lines of `/proc/<pid>/maps` as the kernel prints them: the number of mappings, the
/// `[vsyscall]` gate area included (smaps lists it too).
fn maps_lines(pid: u32) -> usize {
    let maps = std::fs::read(format!("/proc/{pid}/maps"))
        .unwrap_or_else(|e| panic!("cannot read /proc/{pid}/maps: {e}"));
    maps.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count()
}

fn proc_cmdline(pid: u32) -> Vec<u8> {
    std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default()
}

/// A live kernel thread's PID (the smallest: kthreadd, 2, on a normal system).
fn kernel_thread_pid() -> u32 {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("list /proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(close) = stat.iter().rposition(|&b| b == b')') else {
            continue;
        };
        let fields: Vec<&[u8]> = stat[close + 2..].split(|&b| b == b' ').collect();
        // fields[0] is field 3 (state): flags (field 9) is fields[6].
        let flags: u64 = fields
            .get(6)
            .and_then(|f| std::str::from_utf8(f).ok())
            .and_then(|f| f.parse().ok())
            .unwrap_or(0);
        if flags & PF_KTHREAD != 0 {
            found.push(pid);
        }
    }
    found.into_iter().min().expect(
        "no kernel thread is visible in /proc (a PID namespace?): these tests need the host's",
    )
}

/// Runs pmaps with `args` and returns its output and its peak RSS in KiB, from the
/// `ru_maxrss` that wait4(2) reports.
///
/// Not as a direct child: a child started with vfork (or fork) inherits the parent's peak
/// RSS in `ru_maxrss` at exec, and this test process is large. A small `sh` forks pmaps in
/// the background and exits; pmaps is then adopted by this process (a child subreaper) and
/// reaped here with wait4.
fn run_with_max_rss(args: &[&str]) -> (Output, u64) {
    // SAFETY: plain prctl on this process.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(
        rc,
        0,
        "PR_SET_CHILD_SUBREAPER: {}",
        std::io::Error::last_os_error()
    );
    let out_file = tempfile::NamedTempFile::new().expect("tempfile");
    let err_file = tempfile::NamedTempFile::new().expect("tempfile");
    let launcher = Command::new("sh")
        .args([
            "-c",
            r#"out=$1 err=$2; shift 2; "$@" >"$out" 2>"$err" </dev/null & echo $!"#,
            "sh",
        ])
        .arg(out_file.path())
        .arg(err_file.path())
        .arg(pmaps_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run sh");
    assert!(launcher.status.success(), "{}", text(&launcher.stderr));
    let pid: libc::pid_t = text(&launcher.stdout).trim().parse().expect("pmaps pid");
    let mut status = 0;
    // SAFETY: rusage is plain old data; wait4 fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers to locals; `pid` is pmaps, adopted by this process.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid, "wait4: {}", std::io::Error::last_os_error());
    let output = Output {
        status: std::os::unix::process::ExitStatusExt::from_raw(status),
        stdout: std::fs::read(out_file.path()).expect("read stdout"),
        stderr: std::fs::read(err_file.path()).expect("read stderr"),
    };
    (output, u64::try_from(usage.ru_maxrss).unwrap_or(0))
}

/// Raises this test process's own soft RLIMIT_NOFILE (it holds three pipes per helper).
fn raise_own_fd_limit(want: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid pointer to a local.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    if lim.rlim_cur < want {
        lim.rlim_cur = want.min(lim.rlim_max);
        // SAFETY: valid pointer to a local.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    }
}

fn pmaps_cmd() -> Command {
    let mut c = Command::new(pmaps_bin());
    c.stdin(Stdio::null());
    c
}

// ---------------------------------------------------------------------------------------
// Races
// ---------------------------------------------------------------------------------------

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
    assert_eq!(full.mappings, maps_lines(probe.pid) as u64);
    probe.kill();

    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    for i in 0..iterations {
        let helper = Helper::spawn(["--many-maps", "20000"]);
        let pid = helper.pid;
        let expected = maps_lines(pid) as u64;
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
        let count = maps_lines(pid) as u64;
        let after = proc_cmdline(pid);
        let is_old = |c: &[u8]| c.windows(15).any(|w| w == b"--exec-after-ms");
        let old_count = (before == after && is_old(&after)).then_some(count);
        let r = read_one(pid, "smaps");
        // Wait for the new image to be ready, then kill it.
        let second = helper.next_line();
        assert_eq!(second, Some(format!("ready {pid}")));
        let new_count = maps_lines(pid) as u64;
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
        state = stat
            .iter()
            .rposition(|&b| b == b')')
            .and_then(|i| stat.get(i + 2).copied())
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

/// PID reuse. pmaps opens `/proc/PID` as a directory fd first and reads every file through it:
/// once that process is gone, the fd answers ESRCH even if the PID now belongs to another
/// process, so one process's name can never be paired with another's maps. A PID reused
/// between the listing and the read is simply read as the new process, name and maps alike.
///
/// To reuse a PID on demand, the check runs inside a new PID namespace (`unshare -pf
/// --mount-proc`), where `ns_last_pid` decides the next PID: this test re-runs this test
/// binary there, with [`pid_reuse_inside_a_pid_namespace`].
#[test]
fn pid_reuse_never_pairs_one_name_with_another_memory() {
    maphelper_bin();
    let exe = std::env::current_exe().expect("current_exe");
    let out = Command::new("unshare")
        .args(["-pf", "--mount-proc", "--"])
        .arg(&exe)
        .args([
            "--exact",
            "pid_reuse_inside_a_pid_namespace",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PMAPS_TEST_IN_PID_NS", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run unshare");
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed") && stdout.contains("PID-REUSE-OK"),
        "the check inside the PID namespace failed ({:?}):\n{stdout}\n{stderr}",
        out.status
    );
}

/// Run by [`pid_reuse_never_pairs_one_name_with_another_memory`] inside a new PID namespace.
#[test]
#[ignore = "run inside a PID namespace by pid_reuse_never_pairs_one_name_with_another_memory"]
fn pid_reuse_inside_a_pid_namespace() {
    use pmaps::model::{Outcome, Source};
    use pmaps::read::{ReadResult, Reader};
    use std::cell::RefCell;

    assert_eq!(
        std::env::var("PMAPS_TEST_IN_PID_NS").as_deref(),
        Ok("1"),
        "run only inside the PID namespace"
    );
    assert_eq!(std::process::id(), 1, "not the init of a new PID namespace");
    let dir = tempfile::tempdir().expect("tempdir");
    let old_file = dir.path().join("old-memory");
    let new_file = dir.path().join("new-memory");
    std::fs::write(&old_file, vec![1u8; 8192]).expect("write");
    std::fs::write(&new_file, vec![2u8; 8192]).expect("write");
    let old = Helper::spawn([
        "--comm".as_ref(),
        "old-name".as_ref(),
        "--map-shared".as_ref(),
        old_file.as_os_str(),
    ]);
    let pid = old.pid;
    let old = RefCell::new(Some(old));
    let new: RefCell<Option<Helper>> = RefCell::new(None);
    // Between the facts (stat, status, cmdline) and the maps: the old process dies and a new
    // one takes its PID.
    let replace = |_: &pmaps::model::ProcInfo| {
        if let Some(h) = old.borrow_mut().take() {
            h.kill();
            std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string())
                .expect("write ns_last_pid");
            let h = Helper::spawn([
                "--comm".as_ref(),
                "new-name".as_ref(),
                "--map-shared".as_ref(),
                new_file.as_os_str(),
            ]);
            assert_eq!(h.pid, pid, "the PID was not reused");
            *new.borrow_mut() = Some(h);
        }
        true
    };
    let proc_root = pmaps::source::ProcRoot::new(Path::new("/proc"));
    let mut reader = Reader::new(&proc_root, Source::Smaps);
    let mut paths: Vec<Vec<u8>> = Vec::new();
    let result = reader.read_process(pid, &replace, &mut |h, _| paths.push(h.path.to_vec()));
    match result {
        ReadResult::Done(info, outcome) => {
            assert_eq!(info.comm, b"old-name");
            assert_eq!(
                outcome,
                Outcome::Vanished,
                "read through the old process's fd"
            );
        }
        ReadResult::Filtered(_) => panic!("filtered"),
    }
    assert!(
        paths.is_empty(),
        "the new process's maps were streamed under the old name: {} mappings",
        paths.len()
    );
    // Listed as the old process, read after the reuse: the new process, name and maps.
    let mut paths: Vec<Vec<u8>> = Vec::new();
    let result = reader.read_process(pid, &|_| true, &mut |h, _| paths.push(h.path.to_vec()));
    match result {
        ReadResult::Done(info, outcome) => {
            assert_eq!(info.comm, b"new-name");
            assert_eq!(outcome, Outcome::Read);
        }
        ReadResult::Filtered(_) => panic!("filtered"),
    }
    let new_bytes = new_file.as_os_str().as_encoded_bytes();
    let old_bytes = old_file.as_os_str().as_encoded_bytes();
    assert!(
        paths.iter().any(|p| p == new_bytes),
        "new file not among the maps"
    );
    assert!(
        !paths.iter().any(|p| p == old_bytes),
        "old file among the new maps"
    );
    drop(new.borrow_mut().take());
    println!("PID-REUSE-OK");
}

/// The same property on a fake tree, where a directory can be swapped at will: the directory
/// of PID 7 is replaced (renamed away, a new one put in its place) after its facts were read
/// and before its maps; the report pairs the old name with the old maps, never the new.
#[test]
fn a_replaced_pid_directory_is_read_whole_from_the_one_opened() {
    use pmaps::model::{Outcome, Source};
    use pmaps::read::{ReadResult, Reader};

    let fake = FakeProc::new();
    let old_smaps = full_smaps_record(
        map_header(0x1000, 0x3000, "r--p", 0, "fe:00", 11, b"/old/lib.so"),
        8,
        8,
        8,
        0,
        0,
        8,
        0,
        0,
        0,
    );
    let new_smaps = full_smaps_record(
        map_header(0x1000, 0x5000, "r--p", 0, "fe:00", 12, b"/new/lib.so"),
        16,
        16,
        16,
        0,
        0,
        16,
        0,
        0,
        0,
    );
    fake.process(7).comm(b"old-name").smaps(&old_smaps).write();
    let staging = FakeProc::new();
    staging
        .process(7)
        .comm(b"new-name")
        .start_time(99_999)
        .smaps(&new_smaps)
        .write();
    let swap = |_: &pmaps::model::ProcInfo| {
        let live = fake.root().join("7");
        std::fs::rename(&live, fake.root().join("7.gone")).expect("rename away");
        std::fs::rename(staging.root().join("7"), &live).expect("rename in");
        true
    };
    let proc_root = pmaps::source::ProcRoot::new(fake.root());
    let mut reader = Reader::new(&proc_root, Source::Smaps);
    let mut paths = Vec::new();
    let result = reader.read_process(7, &swap, &mut |h, _| paths.push(h.path.to_vec()));
    let ReadResult::Done(info, outcome) = result else {
        panic!("filtered");
    };
    assert_eq!(info.comm, b"old-name");
    assert_eq!(outcome, Outcome::Read);
    assert_eq!(paths, vec![b"/old/lib.so".to_vec()]);
}

// ---------------------------------------------------------------------------------------
// Permissions and namespaces
// ---------------------------------------------------------------------------------------

/// As nobody: root's processes are `denied` (counted, one line on stderr, exit 3), the
/// user's own non-dumpable process is `denied`, its ordinary process is read and kernel
/// threads stay `kernel_thread`.
#[test]
fn as_nobody_other_users_and_nondumpable_processes_are_denied() {
    let root_a = Helper::spawn(["--anon", "64K"]);
    let root_b = Helper::spawn(["--anon", "64K"]);
    let mine = Helper::spawn_as_nobody(["--anon", "64K"]);
    let nondumpable = Helper::spawn_as_nobody(["--nondumpable", "--anon", "64K"]);
    let kthread = kernel_thread_pid();
    let pids = pid_list(&[root_a.pid, root_b.pid, mine.pid, nondumpable.pid, kthread]);

    let run = |format: &str| {
        let out = setpriv_nobody(&pmaps_bin())
            .args(["-p", &pids, "-g", "process", "-f", format])
            .stdin(Stdio::null())
            .output()
            .expect("run pmaps as nobody");
        assert_eq!(code(&out), 3, "{}", text(&out.stderr));
        out
    };
    let out = run("json");
    // Machine formats: the coverage line and the one summary line, never a line per process.
    let err = text(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(lines[0].starts_with("pmaps: 5 processes: 1 read, 1 kernel thread, 3 denied;"));
    assert!(lines[1].starts_with("pmaps: partial report: 3 processes denied"));
    let doc = parse_json(&out);
    let o = outcomes(&doc);
    assert_eq!(o["read"], 1, "{o:?}");
    assert_eq!(o["denied"], 3, "{o:?}");
    assert_eq!(o["kernel_thread"], 1, "{o:?}");
    assert_eq!(doc["meta"]["coverage"]["complete"], Value::Bool(false));
    let denied: BTreeSet<u64> = doc["meta"]["coverage"]["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter(|p| p["outcome"] == "denied")
        .filter_map(|p| p["pid"].as_u64())
        .collect();
    let expected: BTreeSet<u64> = [root_a.pid, root_b.pid, nondumpable.pid]
        .into_iter()
        .map(u64::from)
        .collect();
    assert_eq!(denied, expected);
    let rows = doc["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["pid"].as_u64(), Some(u64::from(mine.pid)));
    assert_eq!(rows[0]["user"], "nobody");

    // The table carries its coverage line; stderr has one line for all denied processes.
    let out = run("table");
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("pmaps: partial report: 3 processes denied"),
        "{err}"
    );
    let table = text(&out.stdout);
    let coverage = table.lines().last().unwrap_or("");
    assert!(
        coverage.starts_with("5 processes: 1 read, 1 kernel thread, 3 denied;"),
        "{coverage}"
    );
}

/// Mounts a private proc instance with `options` on a fresh directory inside a new mount
/// namespace and runs pmaps there (as nobody when `as_nobody`) with `args`.
fn pmaps_on_private_proc(options: &str, as_nobody: bool, args: &[&str]) -> Output {
    let dir = tempfile::Builder::new()
        .prefix("procmnt")
        .tempdir()
        .expect("tempdir");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let script = if as_nobody {
        r#"mount -t proc -o "$1" proc "$2" || exit 90
           shift 2
           exec setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@""#
    } else {
        r#"mount -t proc -o "$1" proc "$2" || exit 90
           shift 2
           exec "$@""#
    };
    let out = Command::new("unshare")
        .args([
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
            options,
        ])
        .arg(dir.path())
        .arg(pmaps_bin())
        .arg("--proc-root")
        .arg(dir.path())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run unshare");
    assert_ne!(code(&out), 90, "mount failed: {}", text(&out.stderr));
    out
}

/// On a proc mounted with hidepid=1 (noaccess), other users' processes are listed but
/// unreadable: pmaps, as nobody, counts them `denied`, never as a complete small system.
#[test]
fn hidepid_noaccess_other_users_are_denied() {
    let root_helper = Helper::spawn(["--anon", "64K"]);
    let mine = Helper::spawn_as_nobody(["--anon", "64K"]);
    let pids = pid_list(&[root_helper.pid, mine.pid]);
    for opt in ["hidepid=1", "hidepid=noaccess"] {
        let out = pmaps_on_private_proc(opt, true, &["-p", &pids, "-g", "process", "-f", "json"]);
        assert_eq!(code(&out), 3, "{opt}: {}", text(&out.stderr));
        let doc = parse_json(&out);
        let o = outcomes(&doc);
        assert_eq!((o["read"], o["denied"]), (1, 1), "{opt}: {o:?}");
        assert_eq!(doc["meta"]["coverage"]["complete"], Value::Bool(false));
        assert!(
            text(&out.stderr).contains("1 process denied"),
            "{}",
            text(&out.stderr)
        );
    }
}

/// On a proc mounted with hidepid=2 (invisible) or 4 (ptraceable), other users' processes
/// are not even listed: pmaps, as nobody, says so (coverage `hidden`, a partial report, exit
/// 3) instead of presenting the one process it sees as a complete system.
#[test]
fn hidepid_invisible_as_nobody_says_processes_are_hidden() {
    let root_helper = Helper::spawn(["--anon", "64K"]);
    let mine = Helper::spawn_as_nobody(["--anon", "64K"]);
    let pids = pid_list(&[root_helper.pid, mine.pid]);
    for (opt, name) in [
        ("hidepid=2", "invisible"),
        ("hidepid=invisible", "invisible"),
        ("hidepid=4", "ptraceable"),
    ] {
        let out = pmaps_on_private_proc(opt, true, &["-p", &pids, "-g", "process", "-f", "json"]);
        let err = text(&out.stderr);
        assert_eq!(code(&out), 3, "{opt}: {err}");
        let doc = parse_json(&out);
        let o = outcomes(&doc);
        assert_eq!(o["read"], 1, "{opt}: {o:?}");
        assert_eq!(doc["meta"]["coverage"]["processes"], 1, "{opt}");
        assert_eq!(doc["meta"]["coverage"]["complete"], Value::Bool(false));
        let hidden = doc["meta"]["coverage"]["hidden"]
            .as_str()
            .unwrap_or_else(|| panic!("{opt}: no coverage.hidden"));
        assert!(
            hidden.starts_with(&format!("hidepid={name}")),
            "{opt}: {hidden}"
        );
        assert!(
            err.lines()
                .any(|l| l.starts_with("pmaps: partial report: ") && l.contains("hidepid=")),
            "{opt}: {err}"
        );
        // The table says it too, in its coverage line.
        let out = pmaps_on_private_proc(opt, true, &["-p", &pids, "-g", "process"]);
        assert_eq!(code(&out), 3);
        let table = text(&out.stdout);
        let coverage = table.lines().last().unwrap_or("");
        assert!(coverage.contains("hidepid="), "{opt}: {coverage}");
    }
}

/// Members of the mount's `gid=` group see every process through hidepid: nothing is hidden
/// (other users' processes are listed, and denied as usual), so no `hidden` note.
#[test]
fn hidepid_invisible_with_the_mounts_gid_hides_nothing() {
    let root_helper = Helper::spawn(["--anon", "64K"]);
    let mine = Helper::spawn_as_nobody(["--anon", "64K"]);
    let pids = pid_list(&[root_helper.pid, mine.pid]);
    // SAFETY: getgrnam returns a pointer into static storage or null; read at once.
    let nogroup = unsafe {
        let g = libc::getgrnam(c"nogroup".as_ptr());
        assert!(!g.is_null(), "no group named nogroup");
        (*g).gr_gid
    };
    let opt = format!("hidepid=invisible,gid={nogroup}");
    let out = pmaps_on_private_proc(&opt, true, &["-p", &pids, "-g", "process", "-f", "json"]);
    assert_eq!(code(&out), 3, "{}", text(&out.stderr));
    let doc = parse_json(&out);
    let o = outcomes(&doc);
    assert_eq!((o["read"], o["denied"]), (1, 1), "{o:?}");
    assert_eq!(doc["meta"]["coverage"]["hidden"], Value::Null);
}

/// Root (with CAP_SYS_PTRACE, in the initial user namespace) sees every process through a
/// hidepid mount: no false alarm for a root cron job on a hardened machine.
#[test]
fn hidepid_invisible_as_root_is_complete() {
    let root_helper = Helper::spawn(["--anon", "64K"]);
    let other = Helper::spawn_as_nobody(["--anon", "64K"]);
    let pids = pid_list(&[root_helper.pid, other.pid]);
    let out = pmaps_on_private_proc(
        "hidepid=invisible",
        false,
        &["-p", &pids, "-g", "process", "-f", "json"],
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let doc = parse_json(&out);
    assert_eq!(outcomes(&doc)["read"], 2);
    assert_eq!(doc["meta"]["coverage"]["hidden"], Value::Null);
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

/// Inside a user namespace (`unshare -Ur`), "root" cannot read the host root's processes:
/// they are `denied` and the report is partial, while a process of the namespace is read.
#[test]
fn user_namespace_root_is_not_all_seeing() {
    let host = Helper::spawn(["--anon", "64K"]);
    let script = r#"sleep 1000 & inner=$!
        "$0" -p "$1,$inner" -g process -f json
        rc=$?
        kill $inner
        exit $rc"#;
    let out = Command::new("unshare")
        .args(["-Ur", "sh", "-c", script])
        .arg(pmaps_bin())
        .arg(host.pid.to_string())
        .stdin(Stdio::null())
        .output()
        .expect("run unshare -Ur");
    let err = text(&out.stderr);
    assert_eq!(code(&out), 3, "{err}");
    let doc = parse_json(&out);
    let o = outcomes(&doc);
    assert_eq!((o["read"], o["denied"]), (1, 1), "{o:?}");
    let problems = doc["meta"]["coverage"]["problems"]
        .as_array()
        .expect("problems");
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0]["pid"].as_u64(), Some(u64::from(host.pid)));
    assert!(err.contains("partial report: 1 process denied"), "{err}");
}

// ---------------------------------------------------------------------------------------
// Scale and resources
// ---------------------------------------------------------------------------------------

/// One process at vm.max_map_count (65,530 mappings): every mapping is counted, and pmaps
/// streams its 47 MB smaps through a bounded buffer: its peak RSS stays under 32 MiB, less
/// than the smaps file itself.
#[test]
fn a_process_at_max_map_count_is_read_exactly_in_bounded_memory() {
    maphelper_bin();
    let max: usize = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(65_530);
    let target = max.min(65_530);
    let base = Helper::spawn(["--anon", "4K"]);
    let base_count = maps_lines(base.pid);
    base.kill();
    // `--many-maps N` adds N mappings to the helper's own; a few spare for merges.
    let n = target - base_count - 4;
    let helper = Helper::spawn(["--many-maps".to_string(), n.to_string()]);
    let expected = maps_lines(helper.pid) as u64;
    assert!(expected as usize > target - 10, "only {expected} mappings");
    let smaps_size = std::fs::read(format!("/proc/{}/smaps", helper.pid))
        .expect("read smaps")
        .len();

    for args in [
        &["-g", "process", "--source", "smaps"][..],
        &["-g", "file"],
        &["-g", "kind"],
        &["-g", "process", "--vsz"],
    ] {
        let pid = helper.pid.to_string();
        let (out, max_rss_kib) =
            run_with_max_rss(&[&["-p", &pid, "-f", "json"][..], args].concat());
        assert_eq!(code(&out), 0, "{args:?}: {}", text(&out.stderr));
        let doc = parse_json(&out);
        assert_eq!(only_outcome(&doc), "read");
        assert_eq!(
            doc["meta"]["coverage"]["mappings"].as_u64(),
            Some(expected),
            "{args:?}"
        );
        assert_eq!(
            doc["totals"]["mappings"].as_u64(),
            Some(expected),
            "{args:?}"
        );
        assert!(
            max_rss_kib < 32 * 1024,
            "{args:?}: pmaps peaked at {max_rss_kib} KiB reading a {smaps_size}-byte smaps"
        );
    }
}

/// With `ulimit -n 64` and 300 processes, every process is read, even when asked for more
/// worker threads than the descriptor limit allows. (Without the cap on workers, `-j 200`
/// failed about 50 of them with EMFILE.)
#[test]
fn fd_limit_64_with_300_processes_reads_every_one() {
    maphelper_bin();
    raise_own_fd_limit(4096);
    // 1,000 mappings each: reads long enough that many workers hold descriptors at once.
    let helpers: Vec<Helper> = (0..300)
        .map(|_| Helper::spawn(["--many-maps", "1000"]))
        .collect();
    let pids: Vec<u32> = helpers.iter().map(|h| h.pid).collect();
    let list = pid_list(&pids);
    for extra in [
        &["-g", "process"][..],
        &["-g", "process", "-j", "200"],
        &["-g", "file", "-j", "64"],
    ] {
        let mut cmd = pmaps_cmd();
        cmd.args(["-p", &list, "-f", "json"]).args(extra);
        // SAFETY: setrlimit is async-signal-safe; it runs in the child before exec.
        unsafe {
            cmd.pre_exec(|| {
                let lim = libc::rlimit {
                    rlim_cur: 64,
                    rlim_max: 64,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let out = cmd.output().expect("run pmaps");
        let err = text(&out.stderr);
        assert_eq!(code(&out), 0, "{extra:?}: {err}");
        let doc = parse_json(&out);
        assert_eq!(outcomes(&doc)["read"], 300, "{extra:?}: {err}");
        if extra == ["-g", "process"] {
            let got: BTreeSet<u64> = doc["rows"]
                .as_array()
                .expect("rows")
                .iter()
                .filter_map(|r| r["pid"].as_u64())
                .collect();
            let want: BTreeSet<u64> = pids.iter().map(|&p| u64::from(p)).collect();
            assert_eq!(got, want);
        }
    }
    drop(helpers);
}

/// A fake proc root whose files block (FIFOs) or fail (EIO): each such process gets its
/// outcome after a bounded wait and the rest of the report is produced. `timeout 20` turns a
/// hang into a failure instead of a stuck CI run.
///
/// What is simulated: a FIFO in place of each file pmaps opens (`stat`, `status`, `cmdline`,
/// `smaps`, `maps`, `smaps_rollup`, and the meta files `sys/kernel/hostname`,
/// `self/mountinfo`); a real EIO from read(2), by making `smaps` a symlink to
/// `/proc/self/mem` (a regular procfs file whose read at offset 0, an unmapped address,
/// fails with EIO); and a directory in place of `smaps`.
#[test]
fn blocking_and_failing_proc_files_get_an_outcome_without_hanging() {
    let fake = FakeProc::new();
    let smaps = |path: &[u8]| {
        full_smaps_record(
            map_header(0x1000, 0x3000, "r--p", 0, "fe:00", 5, path),
            8,
            8,
            8,
            0,
            0,
            8,
            0,
            0,
            0,
        )
    };
    let maps = map_header(0x1000, 0x3000, "r--p", 0, "fe:00", 5, b"/usr/lib/good.so");
    let rollup = smaps_record(
        map_header(0x1000, 0x3000, "---p", 0, "00:00", 0, b"[rollup]"),
        &[("Rss", 8), ("Pss", 8), ("Private_Clean", 8)],
    );
    // 10: healthy.
    fake.process(10)
        .smaps(&smaps(b"/usr/lib/good.so"))
        .maps(&maps)
        .smaps_rollup(&rollup)
        .write();
    // 11-16: a FIFO in place of one file each.
    let fifo_files = ["stat", "status", "cmdline", "smaps", "maps", "smaps_rollup"];
    for (i, name) in fifo_files.iter().enumerate() {
        let pid = 11 + i as u32;
        let dir = fake
            .process(pid)
            .smaps(&smaps(b"/usr/lib/good.so"))
            .maps(&maps)
            .smaps_rollup(&rollup)
            .write();
        let p = dir.join(name);
        let _ = std::fs::remove_file(&p);
        mkfifo(&p);
    }
    // 20: EIO from read(2).
    let dir = fake.process(20).maps(&maps).smaps_rollup(&rollup).write();
    std::os::unix::fs::symlink("/proc/self/mem", dir.join("smaps")).expect("symlink");
    // 21: a directory named smaps.
    let dir = fake.process(21).maps(&maps).smaps_rollup(&rollup).write();
    std::fs::create_dir(dir.join("smaps")).expect("mkdir");
    // Meta files pmaps reads besides the processes.
    std::fs::create_dir_all(fake.root().join("sys/kernel")).expect("mkdir");
    mkfifo(&fake.root().join("sys/kernel/hostname"));
    mkfifo(&fake.root().join("sys/kernel/osrelease"));
    std::fs::create_dir_all(fake.root().join("self")).expect("mkdir");
    mkfifo(&fake.root().join("self/mountinfo"));
    mkfifo(&fake.root().join("self/status"));

    for source in ["smaps", "maps", "rollup"] {
        // Views that need every per-process file (stat, status, cmdline) besides the maps.
        let group = if source == "rollup" {
            "process"
        } else {
            "file,process"
        };
        let out = Command::new("timeout")
            .arg("20")
            .arg(pmaps_bin())
            .arg("--proc-root")
            .arg(fake.root())
            .args(["--source", source, "-g", group, "-f", "json"])
            .stdin(Stdio::null())
            .output()
            .expect("run timeout");
        let err = text(&out.stderr);
        assert_ne!(code(&out), 124, "pmaps --source {source} hung: {err}");
        assert_eq!(code(&out), 3, "--source {source}: {err}");
        let doc = parse_json(&out);
        let o = outcomes(&doc);
        let problems: BTreeMap<u64, (String, String)> = doc["meta"]["coverage"]["problems"]
            .as_array()
            .expect("problems")
            .iter()
            .map(|p| {
                (
                    p["pid"].as_u64().unwrap_or(0),
                    (
                        p["outcome"].as_str().unwrap_or("").to_string(),
                        p["detail"].as_str().unwrap_or("").to_string(),
                    ),
                )
            })
            .collect();
        // Every process whose file for this source (or stat/status/cmdline) blocks or fails.
        let file = match source {
            "smaps" => "smaps",
            "maps" => "maps",
            _ => "smaps_rollup",
        };
        let mut failing: BTreeSet<u64> = [11, 12, 13].into_iter().collect();
        failing.insert(11 + fifo_files.iter().position(|f| *f == file).unwrap_or(0) as u64);
        if source == "smaps" {
            failing.extend([20, 21]);
        }
        let got: BTreeSet<u64> = problems.keys().copied().collect();
        assert_eq!(got, failing, "--source {source}: {problems:?}");
        for (pid, (outcome, _)) in &problems {
            assert_eq!(outcome, "error", "--source {source}: pid {pid}");
        }
        if source == "smaps" {
            assert!(
                problems[&20].1.contains("os error 5"),
                "{:?}",
                problems[&20]
            );
        }
        assert_eq!(
            o["read"],
            doc["meta"]["coverage"]["processes"].as_u64().unwrap_or(0) - failing.len() as u64,
            "--source {source}: {o:?}"
        );
        if source != "rollup" {
            let rows: Vec<&str> = doc["rows"]
                .as_array()
                .expect("rows")
                .iter()
                .filter_map(|r| r["path"].as_str())
                .collect();
            assert_eq!(rows, ["/usr/lib/good.so"], "--source {source}");
        }
        assert_eq!(doc["meta"]["host"], Value::Null);
    }
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("no NUL");
    // SAFETY: `c` is a valid NUL-terminated path.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o644) };
    assert_eq!(
        rc,
        0,
        "mkfifo {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
}
