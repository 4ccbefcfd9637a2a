//! The plan on live helpers: the filtered report equals the full report's matching rows,
//! `--explain` counts what `maps` ruled out, and the mapping counts from `maps` are the
//! kernel's.

use std::ffi::OsStr;

use serde_json::Value;

use crate::support::*;

const PAGE: usize = 4096;

/// Three helpers: `old` maps a library that was then deleted, `live` maps another one, and
/// `anon` maps neither. Their files are in `dir`, mapped by no one else.
struct Helpers {
    dir: tempfile::TempDir,
    old: Helper,
    live: Helper,
    anon: Helper,
}

impl Helpers {
    fn start() -> Helpers {
        let dir = open_tempdir();
        let old = synced_file(dir.path(), "libplan-old.so", 32 * PAGE);
        let lib = synced_file(dir.path(), "libplan-live.so", 16 * PAGE);
        let arg = OsStr::new;
        let old_helper = Helper::spawn([
            arg("--map-private-ro"),
            old.as_os_str(),
            arg("--delete"),
            old.as_os_str(),
            arg("--anon"),
            arg("256K"),
        ]);
        let live = Helper::spawn([
            arg("--map-shared"),
            lib.as_os_str(),
            arg("--anon"),
            arg("128K"),
        ]);
        let anon = Helper::spawn(["--anon", "64K"]);
        Helpers {
            dir,
            old: old_helper,
            live,
            anon,
        }
    }

    fn pids(&self) -> String {
        pid_list([self.old.pid, self.live.pid, self.anon.pid])
    }

    fn dir(&self) -> String {
        self.dir
            .path()
            .to_str()
            .expect("UTF-8 temp dir")
            .to_string()
    }
}

fn json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-f", "json"]);
    parse_json(&run_clean(&all))
}

/// The rows of `doc` whose path is one of the helpers' own files (only they map them, so
/// their figures do not move while the test runs).
fn own_rows(doc: &Value, dir: &str) -> Vec<Value> {
    doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.starts_with(dir)))
        .cloned()
        .collect()
}

#[test]
fn the_filtered_report_is_the_full_reports_matching_rows() {
    let h = Helpers::start();
    let (pids, dir) = (h.pids(), h.dir());
    let full = own_rows(&json(&["-p", &pids]), &dir);
    assert_eq!(full.len(), 2, "{full:?}");
    let deleted: Vec<Value> = full
        .iter()
        .filter(|r| r["kind"] == "deleted")
        .cloned()
        .collect();
    assert_eq!(deleted.len(), 1);
    assert_eq!(
        own_rows(&json(&["-p", &pids, "-k", "deleted"]), &dir),
        deleted
    );
    assert_eq!(own_rows(&json(&["-p", &pids, "-m", "libplan"]), &dir), full);
    // The deleted library's process, with the kernel's own figure for that mapping.
    let path = format!("{dir}/libplan-old.so (deleted)");
    let procs = json(&[
        "-p", &pids, "-k", "deleted", "-m", "libplan", "-g", "process",
    ]);
    let rows = procs["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["pid"], h.old.pid);
    let rss = smaps_kb(h.old.pid, path.as_bytes(), "Rss").expect("the mapping") * 1024;
    assert_eq!(rss, 32 * PAGE as u64);
    assert_eq!(rows[0]["rss_bytes"], rss);
    // Read in full, the same.
    let again = json(&[
        "-p",
        &pids,
        "-k",
        "deleted",
        "-m",
        "libplan",
        "-g",
        "process",
        "--no-prefilter",
    ]);
    assert_eq!(again["rows"], procs["rows"]);
}

#[test]
fn explain_counts_the_processes_maps_ruled_out() {
    let h = Helpers::start();
    let pids = h.pids();
    let said = |args: &[&str]| {
        let out = pmaps_ok([&["-p", &pids, "-f", "csv", "--explain"], args].concat(), 0);
        stderr(&out).lines().last().unwrap_or_default().to_string()
    };
    assert_eq!(
        said(&["-k", "deleted", "-m", "libplan"]),
        "pmaps: plan: maps ruled out 2 of the 3 processes read: 1 read in full from smaps"
    );
    assert_eq!(
        said(&["-m", "libplan"]),
        "pmaps: plan: maps ruled out 1 of the 3 processes read: 2 read in full from smaps"
    );
}

#[test]
fn mapping_counts_from_maps_are_the_kernels() {
    let h = Helpers::start();
    let pids = h.pids();
    let doc = json(&[
        "-p",
        &pids,
        "-g",
        "process",
        "--columns",
        "pid,mappings,pss",
    ]);
    assert_eq!(doc["meta"]["source"], "smaps_rollup");
    let mut total = 0;
    for r in doc["rows"].as_array().expect("rows") {
        let pid = r["pid"].as_u64().expect("pid") as u32;
        let n = maps_count(pid) as u64;
        assert_eq!(r["mappings"], n, "pid {pid}");
        total += n;
    }
    assert_eq!(doc["meta"]["coverage"]["mappings"], total);
}
