//! Captures keep the cgroups: a report made `--from` an archive — every cgroup grouping, the
//! cgroup filters, the reconciled counters, the Prometheus unit and container families —
//! equals the one made on the captured host: on the fake tree with its fake cgroupfs (and a
//! unit whose name is not UTF-8), and live on helpers stopped with SIGSTOP in a memory cgroup
//! the test makes. An archive made before captures kept the counters reads with them
//! unknown (`-`), one without the processes' cgroup files with every process in no unit and
//! no container.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Output;

use serde_json::Value;

use super::fake::{cgroupfs, counters, tree};
use super::live::TestCgroup;
use crate::support::*;

/// A unit whose name is not UTF-8: in the archive its path is a key, never a file name.
const WEIRD: &[u8] = b"/system.slice/we\xffird.service";

/// The questions asked of the host and of its capture.
fn questions(container_prefix: &str, cgroup_re: &str) -> Vec<Vec<String>> {
    let q = |a: &[&str]| a.iter().map(|s| s.to_string()).collect();
    vec![
        q(&["-g", "cgroup"]),
        q(&["-g", "unit"]),
        q(&["-g", "container"]),
        q(&["-g", "file,container"]),
        q(&["-g", "container,file"]),
        q(&["-g", "unit", "--unit", "nginx.service,session-3.scope"]),
        q(&["-g", "cgroup", "--cgroup", cgroup_re]),
        q(&["-g", "process", "--container", container_prefix]),
    ]
}

fn json_of(out: &Output, what: &str) -> Value {
    assert_eq!(code(out), 0, "{what}: {}", stderr(out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{what}: not JSON: {e}"))
}

/// The fake tree of `super::fake`, one more process in [`WEIRD`], and the counters of
/// `super::fake::counters` and of that unit.
fn fake_host() -> (FakeProc, tempfile::TempDir) {
    let (fake, _) = tree();
    let header = map_header(0x1000, 0x1000 + 40 * 1024, "rw-p", 0, "00:00", 0, b"");
    fake.process(60)
        .comm(b"weird")
        .cmdline(b"weird")
        .smaps(&full_smaps_record(header, SmapsKb::private_dirty(40, 40)))
        .file("cgroup", &[b"0::", WEIRD, b"\n"].concat())
        .write();
    let fs = counters();
    let weird = fs.path().join(OsStr::from_bytes(&WEIRD[1..]));
    std::fs::create_dir_all(&weird).expect("mkdir");
    std::fs::write(weird.join("memory.current"), "81920\n").expect("write");
    cgroupfs(
        fs.path(),
        "/system.slice/docker-unused.scope",
        &[("memory.current", "1\n")],
    );
    (fake, fs)
}

/// The sample lines of the unit and container families of an exposition.
fn service_series(out: &Output) -> Vec<String> {
    assert_eq!(code(out), 0, "{}", stderr(out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("pmaps_unit_") || l.starts_with("pmaps_container_"))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_capture_of_a_fake_host_answers_every_cgroup_question_as_the_host_did() {
    let (fake, fs) = fake_host();
    let root = fake.root().to_str().expect("utf-8");
    let cgroups = fs.path().to_str().expect("utf-8");
    let host = ["--proc-root", root, "--cgroup-root", cgroups];
    let work = open_tempdir();
    let (archive, out) = capture_to(work.path(), "fake.tar.zst", &host);
    assert_eq!(code(&out), 0, "capture: {}", stderr(&out));
    let from = ["--from", archive.to_str().expect("utf-8")];

    for q in questions("4b825dc642cb", "kubepods|lxc") {
        let q: Vec<&str> = q.iter().map(String::as_str).collect();
        let tail = [&q[..], &["-f", "json", "-n", "0"]].concat();
        let live = json_of(
            &run_pmaps([&host[..], &tail, &["--source", "smaps"]].concat()),
            &format!("live {q:?}"),
        );
        let replay = json_of(
            &run_pmaps([&from[..], &tail].concat()),
            &format!("from {q:?}"),
        );
        assert_eq!(comparable(&live), comparable(&replay), "{q:?}");
        assert!(
            !live["rows"].as_array().expect("rows").is_empty(),
            "{q:?}: no row"
        );
    }
    // The counters came from the archive: nginx.service's are all known, the unit of the
    // name that is not UTF-8 has its own, and a unit without a directory has none.
    let units = json_of(
        &run_pmaps([&from[..], &["-g", "unit", "-f", "json"]].concat()),
        "units",
    );
    let unit = |name: &[u8]| {
        units["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| match r.get("unit_hex") {
                Some(h) => h.as_str() == Some(&hex(name)),
                None => r["unit"].as_str().map(str::as_bytes) == Some(name),
            })
            .unwrap_or_else(|| panic!("no unit {}", name.escape_ascii()))
            .clone()
    };
    assert_eq!(unit(b"nginx.service")["charge_kernel_bytes"], 1_048_576);
    assert_eq!(unit(b"we\xffird.service")["charge_bytes"], 81_920);
    assert_eq!(unit(b"pipewire.service")["charge_bytes"], Value::Null);
    // The Prometheus families too.
    let prom = ["-f", "prometheus", "--prom-top", "0", "--prom-min", "0"];
    let live = service_series(&run_pmaps([&host[..], &prom].concat()));
    let replay = service_series(&run_pmaps([&from[..], &prom].concat()));
    assert_eq!(live, replay);
    assert!(
        live.iter()
            .any(|l| l.starts_with("pmaps_unit_charge_bytes{unit=\"nginx.service\"")),
        "{live:?}"
    );
    // In the archive: each process's own cgroup and its unit's (the counters of a cgroup no
    // process is in were not read), the odd path exactly, the files as read.
    let entries = archive_entries(&std::fs::read(&archive).expect("read"));
    let manifest: Value =
        serde_json::from_slice(&entries.last().expect("manifest").1).expect("manifest JSON");
    let kept = manifest["cgroups"].as_array().expect("cgroups");
    let paths: Vec<&str> = kept.iter().filter_map(|c| c["path"].as_str()).collect();
    assert!(
        !paths.iter().any(|p| p.contains("docker-unused")),
        "{paths:?}"
    );
    let weird = kept
        .iter()
        .position(|c| c["path_hex"].as_str() == Some(&hex(WEIRD)))
        .expect("the odd cgroup, in hex");
    let file = |name: &str| {
        entries
            .iter()
            .find(|(n, _)| *n == format!("cgroup/{weird}/{name}"))
            .map(|(_, d)| d.clone())
    };
    assert_eq!(file("memory.current").as_deref(), Some(&b"81920\n"[..]));
    assert_eq!(file("memory.stat"), None);
    let stat_read = kept[weird]["reads"]
        .as_array()
        .expect("reads")
        .iter()
        .find(|r| r["file"] == "memory.stat")
        .expect("memory.stat was tried")
        .clone();
    assert_eq!(stat_read["failure"]["errno"], libc::ENOENT);
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// `entries` with the manifest edited by `edit` and the entries `drop` rejects left out.
fn aged(
    entries: &[(String, Vec<u8>)],
    edit: impl Fn(&mut Value),
    drop: impl Fn(&str) -> bool,
) -> Vec<u8> {
    let mut kept: Vec<(String, Vec<u8>)> =
        entries.iter().filter(|(n, _)| !drop(n)).cloned().collect();
    let manifest = kept.last_mut().expect("manifest last");
    assert_eq!(manifest.0, "manifest.json");
    let mut m: Value = serde_json::from_slice(&manifest.1).expect("manifest JSON");
    edit(&mut m);
    manifest.1 = serde_json::to_vec(&m).expect("JSON");
    pack_archive(&kept, true)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path.to_str().expect("utf-8").to_string()
}

#[test]
fn an_archive_without_cgroup_counters_or_cgroup_files_reads_with_them_unknown() {
    let (fake, fs) = fake_host();
    let root = fake.root().to_str().expect("utf-8");
    let cgroups = fs.path().to_str().expect("utf-8");
    let work = open_tempdir();
    let (archive, out) = capture_to(
        work.path(),
        "new.tar.zst",
        &["--proc-root", root, "--cgroup-root", cgroups],
    );
    assert_eq!(code(&out), 0, "capture: {}", stderr(&out));
    let entries = archive_entries(&std::fs::read(&archive).expect("read"));

    // As captures were made before they kept counters: PID/cgroup, no cgroup/ entries.
    let old = aged(
        &entries,
        |m| {
            m.as_object_mut().expect("object").remove("cgroups");
        },
        |n| n.starts_with("cgroup/"),
    );
    let old = write(work.path(), "old.tar.zst", &old);
    let units = |from: &str, format: &str| {
        let out = run_pmaps(["--from", from, "-g", "unit", "-f", format, "-n", "0"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        out
    };
    let new = json_of(&units(archive.to_str().expect("utf-8"), "json"), "new");
    let doc = json_of(&units(&old, "json"), "old");
    let rows = doc["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), new["rows"].as_array().expect("rows").len());
    for (r, n) in rows.iter().zip(new["rows"].as_array().expect("rows")) {
        assert_eq!(r["unit"], n["unit"]);
        assert_eq!(r["pss_bytes"], n["pss_bytes"]);
        for c in [
            "charge",
            "charge_anon",
            "charge_file",
            "charge_shmem",
            "charge_kernel",
        ] {
            assert_eq!(r[format!("{c}_bytes")], Value::Null, "{}: {c}", r["unit"]);
        }
    }
    let table = String::from_utf8(units(&old, "table").stdout).expect("UTF-8");
    let nginx = table
        .lines()
        .find(|l| l.starts_with("nginx.service"))
        .unwrap_or_else(|| panic!("{table}"));
    let words: Vec<&str> = nginx.split_whitespace().collect();
    assert_eq!(
        words[words.len() - 5..],
        ["-", "-", "-", "-", "-"],
        "{table}"
    );

    // Without the processes' cgroup files either: every process in no unit, on the host.
    let older = aged(
        &entries,
        |m| {
            m.as_object_mut().expect("object").remove("cgroups");
            for p in m["processes"].as_array_mut().expect("processes") {
                if let Some(reads) = p["reads"].as_array_mut() {
                    reads.retain(|r| r["file"] != "cgroup");
                }
            }
        },
        |n| n.starts_with("cgroup/") || n.ends_with("/cgroup"),
    );
    let older = write(work.path(), "older.tar.zst", &older);
    let doc = json_of(&units(&older, "json"), "older");
    let rows = doc["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{doc}");
    assert_eq!(rows[0]["unit"], "-");
    assert_eq!(rows[0]["processes"], doc["totals"]["processes"]);
    let out = run_pmaps(["--from", &older, "-g", "container", "-f", "json"]);
    let doc = json_of(&out, "older containers");
    assert_eq!(doc["rows"].as_array().map(Vec::len), Some(1), "{doc}");
    assert_eq!(doc["rows"][0]["container"], "-");
}

/// The cgroup's own counters (the columns of a cgroup or unit row).
const CHARGES: [&str; 5] = [
    "charge_bytes",
    "charge_anon_bytes",
    "charge_file_bytes",
    "charge_shmem_bytes",
    "charge_kernel_bytes",
];

/// What must be equal between a live report and one from a capture, less the cgroups' own
/// counters; and those counters, row by row.
fn split_charges(doc: &Value) -> (Value, Vec<Vec<Option<u64>>>) {
    let mut doc = comparable(doc);
    let mut charges = Vec::new();
    for row in doc["rows"].as_array_mut().expect("rows") {
        let row = row.as_object_mut().expect("row");
        charges.push(
            CHARGES
                .iter()
                .map(|c| row.remove(*c).and_then(|v| v.as_u64()))
                .collect(),
        );
    }
    (doc, charges)
}

/// Helpers stopped with SIGSTOP charge nothing more to their cgroup, but the kernel settles
/// its counters lazily: `memory.current` (v1 `memory.usage_in_bytes`) holds pages
/// pre-charged to per-CPU caches, given back when another cgroup needs the cache, and the
/// parts from `memory.stat` may lag until the next periodic flush. Each only moves one way
/// meanwhile, so what the capture read lies between the live readings before and after it;
/// everything else is equal.
#[test]
fn a_capture_of_frozen_helpers_in_a_cgroup_equals_the_live_report() {
    let cg = TestCgroup::new("capture");
    let libs = PrivateLibs::new();
    let a = libs.spawn_with(["--comm", "cgcap-a", "--anon", "6M"], |c| {
        cg.join_on_exec(c)
    });
    let b = libs.spawn_with(
        ["--comm", "cgcap-b", "--anon", "2M", "--shared-anon", "1M"],
        |c| cg.join_on_exec(c),
    );
    for h in [&a, &b] {
        freeze(h.pid);
    }
    let pids = format!("{},{}", a.pid, b.pid);
    let name = cg.path.rsplit('/').next().expect("name").to_string();
    let cgroup_re = format!("/{}$", regex::escape(&name));
    let asked: Vec<Vec<String>> = questions("", &cgroup_re)
        .into_iter()
        // Every process is on the host here: no container prefix matches.
        .filter(|q| !q.contains(&"--container".to_string()))
        .chain([vec![
            "-g".into(),
            "process".into(),
            "--cgroup".into(),
            cgroup_re.clone(),
        ]])
        .collect();
    let report = |from: Option<&str>, q: &[String]| {
        let mut args: Vec<&str> = Vec::new();
        if let Some(f) = from {
            args.extend(["--from", f]);
        }
        args.extend(q.iter().map(String::as_str));
        args.extend(["-p", &pids, "-f", "json", "-n", "0", "--source", "smaps"]);
        split_charges(&json_of(&run_pmaps(&args), &format!("{from:?} {q:?}")))
    };
    let before: Vec<_> = asked.iter().map(|q| report(None, q)).collect();

    let work = open_tempdir();
    let (archive, out) = capture_to(work.path(), "host.tar.zst", &[]);
    assert!(matches!(code(&out), 0 | 3), "capture: {}", stderr(&out));
    let from = archive.to_str().expect("utf-8");
    for (q, (first, first_charges)) in asked.iter().zip(&before) {
        let (after, after_charges) = report(None, q);
        assert_eq!(
            first, &after,
            "the helpers' numbers moved during the test ({q:?})"
        );
        let (replay, charges) = report(Some(from), q);
        assert_eq!(first, &replay, "{q:?}");
        for (row, got) in charges.iter().enumerate() {
            for (c, v) in got.iter().enumerate() {
                let (x, y) = (first_charges[row][c], after_charges[row][c]);
                let known = x.zip(y).map(|(x, y)| (x.min(y), x.max(y)));
                match (v, known) {
                    (None, None) => {}
                    (Some(v), Some((lo, hi))) => assert!(
                        (lo..=hi).contains(v),
                        "{q:?} row {row} {}: {v} not within {lo}..={hi}",
                        CHARGES[c]
                    ),
                    _ => panic!("{q:?} row {row} {}: {v:?} vs {x:?}, {y:?}", CHARGES[c]),
                }
            }
        }
    }
    // The cgroup's row holds both helpers and its own charge (their anonymous memory at
    // least).
    let (doc, charges) = &before[0];
    let rows = doc["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{doc}");
    assert_eq!(rows[0]["cgroup"], cg.path.as_str());
    assert_eq!(rows[0]["processes"], 2);
    let anon = charges[0][1].expect("anon charge");
    assert!(
        anon >= 8 << 20,
        "anon charge {anon} below the 8 MiB written"
    );
    drop((a, b));
}
