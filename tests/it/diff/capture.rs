//! `pmaps diff` with capture archives on either side: a capture of helpers stopped with
//! SIGSTOP against the JSON report saved at that moment is no change, whichever side each
//! is on and with `--from` as the new side; a capture made after one helper grew shows that
//! growth exactly, against the saved report and against the first capture (grouped by `-g`,
//! filtered by `-p`).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::diff;
use crate::support::*;

/// `pmaps capture -o <dir>/<name>` of the whole machine (partial when some process there
/// cannot be read, which changes nothing for the helpers).
fn capture(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let out = run_pmaps(["capture", "-o", path.to_str().expect("utf-8 path")]);
    assert!(
        matches!(out.status.code(), Some(0 | 3)),
        "capture: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

/// The USS of `pid` in kB, as the oracle reads it.
fn uss_kb(pid: u32) -> u64 {
    read_smaps(pid)
        .iter()
        .map(|r| r.kb("Private_Clean").unwrap_or(0) + r.kb("Private_Dirty").unwrap_or(0))
        .sum()
}

/// The RSS, PSS and USS of `pid` in bytes, as the oracle reads them.
fn oracle(pid: u32) -> [i64; 3] {
    let sum = |key: &str| {
        read_smaps(pid)
            .iter()
            .map(|r| r.kb(key).unwrap_or(0))
            .sum::<u64>()
    };
    [sum("Rss"), sum("Pss"), uss_kb(pid)].map(|kb| kb as i64 * 1024)
}

fn json_diff(args: &[&OsStr], code: i32) -> Value {
    let mut all = args.to_vec();
    all.extend([OsStr::new("-f"), OsStr::new("json"), OsStr::new("--all")]);
    parse_json(&diff(all, code))
}

fn counts(doc: &Value) -> [u64; 4] {
    let c = &doc["meta"]["counts"];
    ["same", "changed", "new", "gone"].map(|k| c[k].as_u64().expect(k))
}

fn row_of(doc: &Value, pid: u32) -> &Value {
    doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["pid"] == pid)
        .unwrap_or_else(|| panic!("no row of {pid} in {doc:#}"))
}

#[test]
fn a_capture_against_the_saved_report_of_its_moment_and_of_a_later_one() {
    // Each its own copies of its libraries: when a wakes and touches a library page, no page
    // of b stops being private to b.
    let (libs_a, libs_b) = (PrivateLibs::new(), PrivateLibs::new());
    // a: 4 MiB more, once, 3 s after it is ready (it is stopped long before); b: steady.
    let a = libs_a.spawn([
        "--comm",
        "dcap-a",
        "--anon",
        "2M",
        "--step-after",
        "3000:4M",
    ]);
    let b = libs_b.spawn(["--comm", "dcap-b", "--anon", "1M"]);
    freeze(a.pid);
    freeze(b.pid);
    let before_uss = uss_kb(a.pid);
    let pids = format!("{},{}", a.pid, b.pid);
    let dir = open_tempdir();
    let save = |name: &str, args: &[&str]| {
        let path = dir.path().join(name);
        let mut all = vec![
            "-p",
            &pids,
            "-f",
            "json",
            "-o",
            path.to_str().expect("utf-8"),
        ];
        all.extend_from_slice(args);
        assert_exit(&run_pmaps(all), 0);
        path
    };
    let by_process = save("process.json", &["-g", "process", "--source", "smaps"]);
    let by_file = save("file.json", &[]);
    let then = capture(dir.path(), "then.tar.zst");
    assert_eq!(uss_kb(a.pid), before_uss, "a helper moved while stopped");

    // The same moment: no change, with the capture on either side, or as --from.
    for saved in [&by_process, &by_file] {
        let rows = parse_json(&output({
            let mut c = pmaps_cmd();
            c.arg("diff")
                .arg(saved)
                .arg(saved)
                .args(["-f", "json", "--all"]);
            c
        }))["rows"]
            .as_array()
            .expect("rows")
            .len() as u64;
        for sides in [[saved, &then], [&then, saved]] {
            let doc = json_diff(&[sides[0].as_os_str(), sides[1].as_os_str()], 0);
            assert_eq!(counts(&doc), [rows, 0, 0, 0], "{sides:?}: {doc:#}");
        }
    }
    let doc = parse_json(&pmaps_ok(
        [
            OsStr::new("--from"),
            then.as_os_str(),
            OsStr::new("diff"),
            by_process.as_os_str(),
            OsStr::new("-f"),
            OsStr::new("json"),
        ],
        0,
    ));
    let new = &doc["meta"]["new"];
    assert_eq!(new["name"], then.to_str().expect("utf-8"));
    assert_eq!(new["capture"]["file"], then.to_str().expect("utf-8"));
    assert_eq!(new["capture"]["map_file"], "smaps");
    assert_eq!(new["filters"]["pids"], serde_json::json!([a.pid, b.pid]));
    assert_eq!(counts(&doc), [2, 0, 0, 0]);
    assert!(doc["meta"]["old"].get("capture").is_none());

    // Later: a steps (4 MiB, and whatever its waking thread touches), b does not move.
    let then_a = oracle(a.pid);
    thaw(a.pid);
    let deadline = Instant::now() + Duration::from_secs(30);
    while uss_kb(a.pid) < before_uss + 4 * 1024 {
        assert!(Instant::now() < deadline, "the helper never stepped");
        std::thread::sleep(Duration::from_millis(50));
    }
    freeze(a.pid);
    let grew = {
        let now = oracle(a.pid);
        [0, 1, 2].map(|i| now[i] - then_a[i])
    };
    let later = capture(dir.path(), "later.tar.zst");
    let doc = json_diff(&[by_process.as_os_str(), later.as_os_str()], 5);
    assert_eq!(counts(&doc), [1, 1, 0, 0], "{doc:#}");
    let r = row_of(&doc, a.pid);
    assert_eq!(r["status"], "changed");
    for (m, grew) in ["rss_bytes", "pss_bytes", "uss_bytes"].iter().zip(grew) {
        assert_eq!(r[m]["change"], grew, "{m}");
    }
    assert_eq!(row_of(&doc, b.pid)["status"], "same");
    // Two captures: grouped by -g and filtered by the report's filters (given before the
    // command), exactly the helpers' rows.
    let two = parse_json(&pmaps_ok(
        [
            OsStr::new("-p"),
            OsStr::new(&pids),
            OsStr::new("diff"),
            then.as_os_str(),
            later.as_os_str(),
            OsStr::new("-g"),
            OsStr::new("process"),
            OsStr::new("--all"),
            OsStr::new("-f"),
            OsStr::new("json"),
        ],
        5,
    ));
    assert_eq!(two["meta"]["group_by"], "process");
    assert_eq!(counts(&two), [1, 1, 0, 0], "{two:#}");
    assert_eq!(row_of(&two, a.pid)["uss_bytes"]["change"], grew[2]);
    assert_eq!(row_of(&two, b.pid)["status"], "same");
    assert!(two["meta"]["old"]["capture"]["file"].is_string());
    assert_eq!(
        two["meta"]["new"]["filters"]["pids"],
        serde_json::json!([a.pid, b.pid])
    );

    // What does not go together is refused with the reason.
    let err = stderr(&diff(
        [
            by_process.as_os_str(),
            later.as_os_str(),
            OsStr::new("-g"),
            OsStr::new("user"),
        ],
        2,
    ));
    assert!(err.contains("-g user does not apply"), "{err}");
    let err = stderr(&pmaps_ok(
        [
            OsStr::new("--from"),
            later.as_os_str(),
            OsStr::new("diff"),
            by_process.as_os_str(),
            then.as_os_str(),
        ],
        2,
    ));
    assert!(err.contains("--from names the new side"), "{err}");
    let err = stderr(&pmaps_ok(
        [
            OsStr::new("-p"),
            OsStr::new(&pids),
            OsStr::new("diff"),
            by_process.as_os_str(),
            later.as_os_str(),
        ],
        2,
    ));
    assert!(err.contains("--pid does not apply"), "{err}");
    a.kill();
    b.kill();
}

#[test]
fn a_capture_that_kept_the_rollup_cannot_answer_a_per_file_report() {
    let dir = open_tempdir();
    let fake = super::before();
    let saved = super::save(&fake, &[], dir.path(), "file.json");
    let rollup = dir.path().join("rollup.tar.zst");
    let out = output({
        let mut c = pmaps_on(fake.root());
        c.args(["capture", "--source", "smaps_rollup", "-o"])
            .arg(&rollup);
        c
    });
    assert_exit(&out, 0);
    let err = stderr(&diff([&saved, &rollup], 2));
    assert!(
        err.contains("holds smaps_rollup per process")
            && err.contains("cannot be compared with a report read from smaps"),
        "{err}"
    );
    // A per-process report compares: the rollup answers it.
    let by_process = super::save(&fake, &["-g", "process"], dir.path(), "process.json");
    let doc = json_diff(&[by_process.as_os_str(), rollup.as_os_str()], 0);
    assert_eq!(counts(&doc)[1..], [0, 0, 0]);
    // Not an archive, not a report: the message of a report.
    let junk = dir.path().join("junk");
    std::fs::write(&junk, vec![0u8; 600]).expect("write");
    let err = stderr(&diff([&junk, &saved], 1));
    assert!(err.contains("not a pmaps JSON document"), "{err}");
    // A truncated archive: refused as an archive.
    let cut = dir.path().join("cut.tar.zst");
    let bytes = std::fs::read(&rollup).expect("read");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let err = stderr(&diff([&saved, &cut], 1));
    assert!(err.contains("cannot read capture"), "{err}");
}
