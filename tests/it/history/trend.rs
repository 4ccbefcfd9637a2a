//! `pmaps trend` over snapshots of a fake tree whose one process leaks: it is the one
//! suspect (with its command, its user and its heap), a stable, a sawtooth and a restarted
//! process are not, and the restart is marked.

use super::*;

fn heap(kb: u64) -> Vec<u8> {
    mapped(kb, "[heap]")
}

fn mapped(kb: u64, path: &str) -> Vec<u8> {
    let mut s = Vec::new();
    s.extend(full_smaps_record(
        "55550000-55560000 r-xp 00000000 08:01 77 /usr/bin/app",
        SmapsKb::private_clean(64),
    ));
    s.extend(full_smaps_record(
        format!(
            "56000000-{:x} rw-p 00000000 00:00 0 {path}",
            0x5600_0000 + kb * 1024
        ),
        SmapsKb::private_dirty(kb, kb),
    ));
    s
}

#[test]
fn the_leaking_process_is_the_one_suspect() {
    let fake = FakeProc::new();
    let db = Db::new();
    for i in 0..12u64 {
        fake.process(10)
            .comm(b"leaky")
            .cmdline(b"leaky\0")
            .uid(65534)
            .smaps(&heap(10_240 + 2048 * i))
            .write();
        fake.process(20)
            .comm(b"stable")
            .cmdline(b"stable\0")
            .smaps(&heap(10_240))
            .write();
        let saw = if i % 2 == 0 { 10_240 } else { 30_720 };
        fake.process(30)
            .comm(b"saw")
            .cmdline(b"saw\0")
            .smaps(&mapped(saw, ""))
            .write();
        // A service restarted half way: a new PID and start time, the same size.
        let (pid, start) = if i < 6 { (40, 100) } else { (41, 5000) };
        let _ = std::fs::remove_dir_all(fake.root().join("40"));
        fake.process(pid)
            .comm(b"svc")
            .cmdline(b"svc\0")
            .start_time(start)
            .smaps(&heap(10_240))
            .write();
        record(fake.root(), &db.path(), 0);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = pmaps_db(fake.root(), &db.path(), &["trend", "-f", "json", "--all"]);
    assert_exit(&out, 5);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let suspects = doc["suspects"].as_array().unwrap();
    let keys: Vec<(String, String)> = suspects
        .iter()
        .map(|s| {
            let name = ["comm", "user", "path"]
                .iter()
                .find_map(|k| s[*k].as_str())
                .unwrap_or("")
                .to_string();
            (s["series"].as_str().unwrap().to_string(), name)
        })
        .collect();
    let mut keys_sorted = keys.clone();
    keys_sorted.sort();
    assert_eq!(
        keys_sorted,
        [
            ("command".to_string(), "leaky".to_string()),
            ("file".to_string(), "[heap]".to_string()),
            ("process".to_string(), "leaky".to_string()),
            ("user".to_string(), "nobody".to_string()),
        ],
        "{keys:?}"
    );
    let process = suspects.iter().find(|s| s["series"] == "process").unwrap();
    assert_eq!(process["pid"], 10);
    assert_eq!(process["growth_bytes"], 11 * 2048 * 1024);
    assert_eq!(process["verdict"], "growing");
    let series = doc["series"].as_array().unwrap();
    let svc = series
        .iter()
        .find(|s| s["series"] == "command" && s["comm"] == "svc")
        .unwrap();
    assert_eq!(svc["restarts_utc"].as_array().unwrap().len(), 1);
    assert_ne!(svc["verdict"], "growing");

    let csv = pmaps_db(
        fake.root(),
        &db.path(),
        &["trend", "-f", "csv", "--by", "process"],
    );
    assert_exit(&csv, 5);
    // Long format: a header and one row per snapshot of the one suspect.
    assert_eq!(stdout(&csv).lines().count(), 1 + 12, "{}", stdout(&csv));
    let wide = pmaps_db(
        fake.root(),
        &db.path(),
        &["trend", "-f", "csv", "--wide", "--by", "process"],
    );
    let text = stdout(&wide);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0].split(',').count(), 8 + 12, "{}", lines[0]);
}
