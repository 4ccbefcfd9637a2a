//! pmaps run as `nobody` (through setpriv; the tests run as root): other users' processes are
//! `denied`, the report is partial (exit 3), and nobody's own process is read fully.

use std::ffi::OsStr;

use crate::support::*;

#[test]
fn other_users_processes_are_denied_and_own_ones_read() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test switches to nobody with setpriv: run it as root (as CI does)"
    );
    const SIZE: u64 = 128 * 1024;
    let dir = open_tempdir();
    let path = synced_file(dir.path(), "both.bin", SIZE as usize);
    let map = [OsStr::new("--map-shared"), path.as_os_str()];
    let root_helper = Helper::spawn(
        [OsStr::new("--comm"), OsStr::new("rootsecret")]
            .iter()
            .chain(&map),
    );
    let nobody_helper = Helper::spawn_as_nobody(map);
    let pids = pid_list([root_helper.pid, nobody_helper.pid]);

    let out = run_pmaps_as_nobody(["-p", &pids, "-f", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stderr:\n{stderr}");
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.contains("partial report"))
            .count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("pmaps: partial report: 1 process denied")),
        "{stderr}"
    );
    let doc: FileDoc = serde_json::from_slice(&out.stdout).expect("JSON report");
    let c = &doc.meta.coverage;
    assert_eq!(
        c.outcomes,
        Outcomes {
            read: 1,
            vanished: 0,
            zombie: 0,
            kernel_thread: 0,
            denied: 1,
            incomplete: 0,
            error: 0
        }
    );
    assert_eq!(c.processes, 2);
    assert!(!c.complete);
    assert_eq!(
        c.problems,
        [ProblemJson {
            pid: root_helper.pid,
            comm: "rootsecret".into(),
            outcome: "denied".into(),
            path: Some(format!("/proc/{}/smaps", root_helper.pid)),
            detail: Some("Permission denied (os error 13)".into()),
        }]
    );
    // nobody's helper, read fully: the file (mapped by both helpers, so half of it is its
    // PSS; its device and inode as the helper's maps print them, the file's own), and the
    // totals are that one process.
    let (device, inode) = file_object(&path);
    let path_str = path.to_str().expect("UTF-8 temp path");
    assert_eq!(
        maps_objects(nobody_helper.pid, path_str.as_bytes()),
        [(device.clone(), inode)].into()
    );
    let file = doc
        .rows
        .iter()
        .find(|r| Some(r.path.as_str()) == path.to_str())
        .unwrap_or_else(|| panic!("no row for {} in {:?}", path.display(), doc.rows));
    assert_eq!(
        *file,
        FileRow {
            path: path.to_str().expect("UTF-8 temp path").to_string(),
            path_hex: None,
            kind: Some("file".into()),
            device: Some(device),
            inode: Some(inode),
            processes: 1,
            mappings: Some(1),
            size_bytes: Some(SIZE),
            rss_bytes: Some(SIZE),
            pss_bytes: Some(SIZE / 2),
            uss_bytes: Some(0),
            shared_bytes: Some(SIZE),
            swap_bytes: Some(0),
            swap_pss_bytes: Some(0),
        }
    );
    assert_eq!(doc.totals.processes, 1);
    assert!(doc.rows.iter().all(|r| r.processes == 1), "{:?}", doc.rows);

    // The table: the footer says who was denied; stderr has the one partial line.
    let out = run_pmaps_as_nobody(["-p", &pids]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stderr:\n{stderr}");
    let footer = stdout.lines().last().unwrap_or("");
    assert!(
        footer.starts_with("2 processes: 1 read, 1 denied; "),
        "{stdout}"
    );
    assert_eq!(
        stderr,
        "pmaps: partial report: 1 process denied (no permission to read their maps: run as \
         root, or see README, Permissions)\n"
    );
}

#[test]
fn nobody_alone_gets_a_complete_report() {
    let dir = open_tempdir();
    let path = synced_file(dir.path(), "mine.bin", 64 * 1024);
    let helper = Helper::spawn_as_nobody([OsStr::new("--map-shared"), path.as_os_str()]);
    let re = format!("^{}$", regex::escape(path.to_str().expect("UTF-8 path")));
    let out = run_pmaps_as_nobody(["-p", &helper.pid.to_string(), "-f", "csv", "-m", &re]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = csv_records(&out.stdout);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["rss_bytes"], (64 * 1024).to_string());
    assert_eq!(rows[0]["uss_bytes"], (64 * 1024).to_string());
}
