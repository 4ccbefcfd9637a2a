//! Reports over live helper processes (`examples/maphelper.rs`) with memory of known size.
//! Every report is filtered to the helpers' PIDs, so nothing else on the machine matters.

use std::collections::BTreeMap;

use crate::support::*;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// Runs pmaps, expects exit 0 and an empty stderr, returns the CSV records.
fn csv_report(args: &[&str]) -> Vec<BTreeMap<String, String>> {
    csv_records(&run_clean(args).stdout)
}

#[test]
fn two_helpers_sharing_a_file_split_its_pss() {
    const SIZE: usize = 256 * 1024;
    let dir = open_tempdir();
    let path = synced_file(dir.path(), "shared.bin", SIZE);
    let a = Helper::spawn([std::ffi::OsStr::new("--map-shared"), path.as_os_str()]);
    let b = Helper::spawn([std::ffi::OsStr::new("--map-shared"), path.as_os_str()]);
    let path_str = path.to_str().expect("temp path is UTF-8");
    let re = format!("^{}$", regex::escape(path_str));
    let pids = pid_list([a.pid, b.pid]);
    let out = run_pmaps(["-g", "file", "-p", &pids, "-f", "csv", "-m", &re]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The file's identity: the device and inode both helpers' maps print for it, which are
    // the file's own (stat).
    let (device, inode) = file_object(&path);
    for pid in [a.pid, b.pid] {
        assert_eq!(
            maps_objects(pid, path_str.as_bytes()),
            [(device.clone(), inode)].into(),
            "pid {pid}"
        );
    }
    // Every page is resident in both (each helper read every page of its MAP_SHARED
    // mapping), each page is mapped twice: RSS counts it twice, PSS once, USS not at all.
    let size = SIZE as u64;
    assert_eq!(
        String::from_utf8(out.stdout).expect("UTF-8"),
        format!(
            "{FILE_HEADER}\r\n{path_str},file,{device},{inode},2,2,{},{},{size},0,{},0,0\r\n",
            2 * size,
            2 * size,
            2 * size
        )
    );
    // The same file through the per-process breakdown.
    let rows = csv_report(&["-g", "file,process", "-p", &pids, "-f", "csv", "-m", &re]);
    for r in &rows {
        assert_eq!(
            (r["path"].as_str(), r["device"].as_str(), num(r, "inode")),
            (path_str, device.as_str(), inode),
            "{r:?}"
        );
    }
    let got: Vec<(u64, u64, u64, u64, u64)> = rows
        .iter()
        .map(|r| {
            (
                num(r, "pid"),
                num(r, "start_time"),
                num(r, "rss_bytes"),
                num(r, "pss_bytes"),
                num(r, "uss_bytes"),
            )
        })
        .collect();
    let (lo, hi) = (a.pid.min(b.pid), a.pid.max(b.pid));
    assert_eq!(
        got,
        [
            (u64::from(lo), stat_start_time(lo), size, size / 2, 0),
            (u64::from(hi), stat_start_time(hi), size, size / 2, 0)
        ]
    );
}

#[test]
fn private_anonymous_memory_is_unique_to_its_process() {
    const ANON: u64 = 8 * MIB;
    let h = Helper::spawn(["--anon", "8388608"]);
    let pid = h.pid.to_string();
    // The helper's other anonymous memory (libc and loader bookkeeping, TLS) is a few tens
    // of KiB: the 8 MiB mapping is exact, what surrounds it is bounded generously.
    let slack = MIB;
    for source in ["rollup", "smaps"] {
        let rows = csv_report(&["-g", "process", "-p", &pid, "-f", "csv", "--source", source]);
        assert_eq!(rows.len(), 1, "{rows:?}");
        let uss = num(&rows[0], "uss_bytes");
        assert!(
            (ANON..ANON + slack + 4 * MIB).contains(&uss),
            "--source {source}: uss {uss} (the binary and libc add their private pages)"
        );
        assert_eq!(num(&rows[0], "pid"), u64::from(h.pid));
        assert_eq!(num(&rows[0], "start_time"), stat_start_time(h.pid));
    }
    let rows = csv_report(&["-g", "file", "-p", &pid, "-k", "anon", "-f", "csv"]);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    assert_eq!((r["path"].as_str(), r["kind"].as_str()), ("", "anon"));
    // Anonymous memory is no file: device 00:00, inode 0.
    assert_eq!(
        (r["device"].as_str(), num(r, "inode")),
        (NO_OBJECT.0, NO_OBJECT.1)
    );
    assert_eq!(num(r, "processes"), 1);
    let uss = num(r, "uss_bytes");
    assert!((ANON..ANON + slack).contains(&uss), "anon uss {uss}");
    // Nothing of it is shared with anyone: RSS, PSS and USS are the same pages.
    assert_eq!(num(r, "rss_bytes"), uss);
    assert_eq!(num(r, "pss_bytes"), uss);
    assert_eq!(num(r, "shared_bytes"), 0);
}

#[test]
fn rollup_and_smaps_agree_up_to_per_mapping_truncation() {
    let libs = PrivateLibs::new();
    let dir = open_tempdir();
    // Three one-page files mapped by three helpers: each page's PSS is 4096/3 bytes, which
    // smaps shows as 1 kB per mapping (1.33 truncated) while the rollup truncates once.
    let files: Vec<_> = (0..3)
        .map(|i| synced_file(dir.path(), &format!("page{i}"), 4096))
        .collect();
    let mut args: Vec<std::ffi::OsString> = Vec::new();
    for f in &files {
        args.push("--map-shared".into());
        args.push(f.into());
    }
    args.extend(["--anon".into(), "1M".into()]);
    let helpers: Vec<Helper> = (0..3).map(|_| libs.spawn(&args)).collect();
    let pid = helpers[0].pid.to_string();

    let smaps = csv_report(&[
        "-g", "process", "-p", &pid, "-f", "csv", "--source", "smaps",
    ]);
    let rollup = csv_report(&[
        "-g", "process", "-p", &pid, "-f", "csv", "--source", "rollup",
    ]);
    assert_eq!((smaps.len(), rollup.len()), (1, 1));
    let (s, r) = (&smaps[0], &rollup[0]);
    let mappings = num(s, "mappings");
    assert!(mappings > 10, "{s:?}");
    assert_eq!(r["mappings"], "", "the rollup does not count mappings");
    // RSS, USS and shared are whole pages in both.
    for col in ["rss_bytes", "uss_bytes", "shared_bytes", "swap_bytes"] {
        assert_eq!(num(r, col), num(s, col), "{col}");
    }
    // smaps truncates each mapping's PSS to kB; the rollup sums first and truncates once:
    // rollup - Σ smaps is in [0, mappings kB). The three files alone lose 3 × 1/3 kB in
    // smaps, so here the rollup is at least 1 kB above.
    let diff = num(r, "pss_bytes") as i64 - num(s, "pss_bytes") as i64;
    assert!(
        (KIB as i64..(mappings * KIB) as i64).contains(&diff),
        "rollup pss - smaps pss = {diff} with {mappings} mappings\nsmaps: {s:?}\nrollup: {r:?}"
    );
    // The three files' rows: 1 kB of PSS each in smaps.
    let rows = csv_report(&["-g", "file", "-p", &pid, "-f", "csv", "-m", "/page[0-2]$"]);
    let pss: Vec<u64> = rows.iter().map(|r| num(r, "pss_bytes")).collect();
    assert_eq!(pss, [KIB; 3], "{rows:?}");
    drop(helpers);
}

/// A `-p` PID whose process has exited (reaped) is no process: it is not reported, the
/// report is not partial (exit 3), but the question named a process that does not exist,
/// which is said on stderr and exits 4.
#[test]
fn a_helper_that_exits_is_not_reported_and_not_partial() {
    let h = Helper::spawn(["--anon", "64K"]);
    let pid = h.pid;
    h.kill();
    let out = run_pmaps(["-p", &pid.to_string(), "-f", "csv"]);
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(String::from_utf8_lossy(&out.stdout), csv(FILE_HEADER, &[]));
    assert!(
        stderr(&out).contains(&format!("pmaps: no process {pid}\n")),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("partial"), "{}", stderr(&out));
}

#[test]
fn the_kernels_own_names_get_their_kinds() {
    let dir = open_tempdir();
    let doomed = synced_file(dir.path(), "doomed.bin", 48 * 1024);
    let h = Helper::spawn([
        std::ffi::OsStr::new("--sysv"),
        "64K".as_ref(),
        "--memfd".as_ref(),
        "cache:128K".as_ref(),
        "--shared-anon".as_ref(),
        "32K".as_ref(),
        "--map-shared".as_ref(),
        doomed.as_os_str(),
        "--delete".as_ref(),
        doomed.as_os_str(),
    ]);
    let pid = h.pid.to_string();
    let rows = csv_report(&["-g", "file", "-p", &pid, "-f", "csv"]);
    let find = |kind: &str| -> Vec<(String, u64, u64)> {
        rows.iter()
            .filter(|r| r["kind"] == kind)
            .map(|r| (r["path"].clone(), num(r, "size_bytes"), num(r, "rss_bytes")))
            .collect()
    };
    let shm = find("shm");
    assert_eq!(shm.len(), 1, "{rows:?}");
    assert!(
        shm[0].0.starts_with("/SYSV") && shm[0].0.ends_with(" (deleted)"),
        "{shm:?}"
    );
    assert_eq!((shm[0].1, shm[0].2), (64 * KIB, 64 * KIB));
    assert_eq!(
        find("memfd"),
        [("/memfd:cache (deleted)".to_string(), 128 * KIB, 128 * KIB)]
    );
    let deleted = format!("{} (deleted)", doomed.display());
    assert_eq!(find("deleted"), [(deleted, 48 * KIB, 48 * KIB)]);
    assert!(
        find("other").contains(&("/dev/zero (deleted)".to_string(), 32 * KIB, 32 * KIB)),
        "{rows:?}"
    );
    for kind in ["heap", "stack", "vdso", "file", "anon"] {
        assert!(!find(kind).is_empty(), "no {kind} row in {rows:?}");
    }
}
