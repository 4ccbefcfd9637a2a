//! The file → process breakdown (`-g file,process`) and the `--kind deleted` recipe on live
//! helpers: each process's share of a file, the processes still mapping a deleted file, and
//! `-n` capping the processes listed under each file.

use std::ffi::OsStr;

use super::PAGE;
use crate::support::*;

#[test]
fn a_file_shared_by_two_helpers_shows_each_with_half_its_pss() {
    let dir = open_tempdir();
    let file = synced_file(dir.path(), "shared-64-pages.bin", 64 * PAGE as usize);
    let a = Helper::spawn([OsStr::new("--map-shared"), file.as_os_str()]);
    let b = Helper::spawn([OsStr::new("--map-shared"), file.as_os_str()]);
    let pids = pid_list([a.pid, b.pid]);
    let out = pmaps_ok(["-g", "file,process", "-p", &pids, "-f", "csv"], 0);
    let path = file.display().to_string();
    let rows: Vec<_> = csv_records(&out.stdout)
        .into_iter()
        .filter(|r| r["path"] == path)
        .collect();
    let mut seen: Vec<(String, String, String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["pid"].clone(),
                r["kind"].clone(),
                r["rss_bytes"].clone(),
                r["pss_bytes"].clone(),
                r["uss_bytes"].clone(),
            )
        })
        .collect();
    seen.sort();
    let size = (64 * PAGE).to_string();
    let half = (32 * PAGE).to_string();
    let mut want = vec![
        (
            a.pid.to_string(),
            "file".into(),
            size.clone(),
            half.clone(),
            "0".into(),
        ),
        (
            b.pid.to_string(),
            "file".into(),
            size.clone(),
            half.clone(),
            "0".into(),
        ),
    ];
    want.sort();
    assert_eq!(seen, want);

    // JSON: the file's row totals both, with one entry per process under it.
    let json = parse_json(&pmaps_ok(
        ["-g", "file,process", "-p", &pids, "-f", "json"],
        0,
    ));
    let row = json["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["path"] == path.as_str())
        .expect("the shared file's row");
    assert_eq!(row["processes"], 2);
    assert_eq!(row["pss_bytes"], 64 * PAGE);
    assert_eq!(row["rss_bytes"], 128 * PAGE);
    let children = row["by_process"].as_array().expect("by_process");
    assert_eq!(children.len(), 2);
    for c in children {
        assert_eq!(c["pss_bytes"], 32 * PAGE);
    }
}

#[test]
fn a_deleted_file_still_mapped_shows_under_kind_deleted() {
    let dir = open_tempdir();
    let file = synced_file(dir.path(), "old-lib.so", 16 * PAGE as usize);
    let keep = synced_file(dir.path(), "kept.bin", 4 * PAGE as usize);
    let stale = Helper::spawn([
        OsStr::new("--map-shared"),
        file.as_os_str(),
        OsStr::new("--map-shared"),
        keep.as_os_str(),
        OsStr::new("--delete"),
        file.as_os_str(),
    ]);
    let fresh = Helper::spawn([OsStr::new("--map-shared"), keep.as_os_str()]);
    let pids = pid_list([stale.pid, fresh.pid]);
    let deleted = format!("{} (deleted)", file.display());

    let by_file = csv_records(&pmaps_ok(["--kind", "deleted", "-p", &pids, "-f", "csv"], 0).stdout);
    let files: Vec<(&str, &str, &str)> = by_file
        .iter()
        .map(|r| {
            (
                r["path"].as_str(),
                r["kind"].as_str(),
                r["processes"].as_str(),
            )
        })
        .collect();
    assert_eq!(files, [(deleted.as_str(), "deleted", "1")]);

    let breakdown = csv_records(
        &pmaps_ok(
            [
                "--kind",
                "deleted",
                "-g",
                "file,process",
                "-p",
                &pids,
                "-f",
                "csv",
            ],
            0,
        )
        .stdout,
    );
    let rows: Vec<(&str, &str, &str, &str)> = breakdown
        .iter()
        .map(|r| {
            (
                r["path"].as_str(),
                r["kind"].as_str(),
                r["pid"].as_str(),
                r["rss_bytes"].as_str(),
            )
        })
        .collect();
    let rss = (16 * PAGE).to_string();
    let pid = stale.pid.to_string();
    assert_eq!(
        rows,
        [(deleted.as_str(), "deleted", pid.as_str(), rss.as_str())]
    );

    // The services to restart: only the process that still maps the deleted file.
    let procs = csv_records(
        &pmaps_ok(
            [
                "--kind", "deleted", "-g", "process", "-p", &pids, "-f", "csv",
            ],
            0,
        )
        .stdout,
    );
    let listed: Vec<&str> = procs.iter().map(|r| r["pid"].as_str()).collect();
    assert_eq!(listed, [pid.as_str()]);
}

#[test]
fn top_n_caps_the_processes_listed_under_each_file_too() {
    let dir = open_tempdir();
    let file = synced_file(dir.path(), "big-shared.bin", 1024 * PAGE as usize);
    let helpers: Vec<Helper> = (0..3)
        .map(|_| Helper::spawn([OsStr::new("--map-shared"), file.as_os_str()]))
        .collect();
    let mut pids: Vec<u32> = helpers.iter().map(|h| h.pid).collect();
    pids.sort();
    let list = pid_list(pids.iter().copied());
    let path = file.display().to_string();

    let csv = csv_records(
        &pmaps_ok(
            ["-g", "file,process", "-p", &list, "-n", "2", "-f", "csv"],
            0,
        )
        .stdout,
    );
    // The shared file is the largest by PSS; equal shares list by PID.
    assert_eq!(csv[0]["path"], path);
    let listed: Vec<&str> = csv
        .iter()
        .filter(|r| r["path"] == path)
        .map(|r| r["pid"].as_str())
        .collect();
    let first_two: Vec<String> = pids[..2].iter().map(u32::to_string).collect();
    assert_eq!(listed, first_two);

    let json = parse_json(&pmaps_ok(
        ["-g", "file,process", "-p", &list, "-n", "1", "-f", "json"],
        0,
    ));
    let rows = json["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["path"], path.as_str());
    assert_eq!(
        rows[0]["processes"], 3,
        "the file still counts every process"
    );
    assert_eq!(rows[0]["by_process"].as_array().map(Vec::len), Some(1));

    let table = text(&pmaps_ok(["-g", "file,process", "-p", &list, "-n", "1"], 0).stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[2].starts_with(&path), "{table}");
    assert!(
        lines[3].contains(&format!(" {} ", pids[0])),
        "first process, its PID as a plain number: {table}"
    );
    assert_eq!(lines[4].trim(), "... 2 more processes", "{table}");
    assert!(lines[5].starts_with("TOTAL"), "{table}");
}
