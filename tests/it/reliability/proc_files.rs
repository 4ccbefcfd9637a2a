//! Proc files that block or fail: each such process gets its outcome after a bounded wait,
//! and the rest of the report is produced.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::*;

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
            SmapsKb::private_clean(8),
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

/// `show` reads the proc root's system files (hostname, kernel release) through the same
/// FIFO-safe reader as the report: a FIFO planted at `sys/kernel/hostname` of a fake root is
/// "no host name", never a read that waits forever.
#[test]
fn show_does_not_hang_on_a_fifo_at_the_host_name() {
    let fake = FakeProc::new();
    fake.process(10)
        .smaps(&full_smaps_record(
            map_header(0x1000, 0x3000, "r--p", 0, "fe:00", 5, b"/usr/lib/good.so"),
            SmapsKb::private_clean(8),
        ))
        .write();
    std::fs::create_dir_all(fake.root().join("sys/kernel")).expect("mkdir");
    mkfifo(&fake.root().join("sys/kernel/hostname"));
    mkfifo(&fake.root().join("sys/kernel/osrelease"));
    for format in ["table", "json"] {
        let out = Command::new("timeout")
            .arg("20")
            .arg(pmaps_bin())
            .arg("--proc-root")
            .arg(fake.root())
            .args(["show", "10", "-f", format])
            .stdin(Stdio::null())
            .output()
            .expect("run timeout");
        assert_ne!(code(&out), 124, "pmaps show hung: {}", text(&out.stderr));
        assert_eq!(code(&out), 0, "{}", text(&out.stderr));
        if format == "json" {
            let doc = parse_json(&out);
            assert_eq!(doc["meta"]["host"], Value::Null);
            assert_eq!(doc["meta"]["kernel"], Value::Null);
            assert_eq!(
                doc["processes"][0]["mappings"][0]["path"],
                "/usr/lib/good.so"
            );
        }
    }
}
