//! `pmaps capture` and `--from FILE`, run as the real binary.
//!
//! - A report (every group-by, JSON and CSV) and `pmaps show` made from a capture equal, row
//!   for row, the ones made live at the moment of the capture: on helpers stopped with
//!   SIGSTOP and started through private copies of their libraries, so no number can move
//!   in between (checked: the live report after the capture equals the one before).
//! - A fake proc tree with hostile names, a zombie, a kernel thread, a malformed smaps and a
//!   denied process replays with the same rows and the same coverage, problems included.
//! - An archive laid out byte for byte as smem's `smemcap` writes it (pre-POSIX headers
//!   with its garbage type byte, no end blocks, an empty smaps for a process it could not
//!   read) is read: same numbers, unknown what it lacks.
//! - Hostile archives are refused with a message that says why, and write nothing; so are
//!   hostile cgroup records (names that climb, missing or oversized counter files, a path
//!   that is not hex, a cgroup twice). The cgroups of a capture: `cgroups::capture`.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::*;
use serde_json::Value;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            stderr(o)
        )
    })
}

/// One smaps record of a library mapping at `path` (1 MiB, 800 KiB resident, PSS 400 KiB).
fn lib_smaps(path: &[u8]) -> Vec<u8> {
    let header = map_header(0x7f00_0000, 0x7f10_0000, "r-xp", 0, "fe:00", 42, path);
    full_smaps_record(
        &header,
        SmapsKb {
            size: 1024,
            rss: 800,
            pss: 400,
            shared_clean: 800,
            shared_dirty: 0,
            private_clean: 0,
            private_dirty: 0,
            swap: 0,
            swap_pss: 0,
        },
    )
}

const GROUPS: [&str; 6] = ["file", "process", "user", "command", "kind", "file,process"];

#[test]
fn a_report_and_show_from_a_capture_equal_the_live_ones_on_frozen_helpers() {
    let libs = PrivateLibs::new();
    let data = open_tempdir();
    let shared = synced_file(data.path(), "shared data", 256 << 10);
    let doomed = synced_file(data.path(), "doomed\nfile", 64 << 10);
    let shared = shared.to_str().expect("utf-8");
    let doomed = doomed.to_str().expect("utf-8");
    let a = libs.spawn([
        "--comm",
        "frozencap-a",
        "--anon",
        "3M",
        "--map-shared",
        shared,
        "--memfd",
        "cap:1M",
    ]);
    let b = libs.spawn([
        "--comm",
        "frozencap-b",
        "--map-shared",
        shared,
        "--map-private",
        doomed,
        "--delete",
        doomed,
        "--sysv",
        "512K",
        "--many-maps",
        "40",
    ]);
    let c = libs.spawn(["--comm", "cap-c", "--shared-anon", "2M", "--anon", "700K"]);
    for h in [&a, &b, &c] {
        freeze(h.pid);
    }
    let pids = format!("{},{},{}", a.pid, b.pid, c.pid);
    let live = |g: &str, format: &str| {
        run_pmaps([
            "-f", format, "-g", g, "-p", &pids, "--source", "smaps", "-n", "0",
        ])
    };
    let before: Vec<Output> = GROUPS.iter().map(|g| live(g, "json")).collect();
    let csv_before = live("file", "csv");
    let show_args = |from: Option<&Path>| {
        let mut args: Vec<String> = Vec::new();
        if let Some(f) = from {
            args.extend(["--from".into(), f.display().to_string()]);
        }
        args.extend(["show", "-f", "json", "--all-fields"].map(String::from));
        args.extend([a.pid, b.pid, c.pid].map(|p| p.to_string()));
        args
    };
    let show_before = run_pmaps(show_args(None));

    let dir = open_tempdir();
    let (archive, out) = capture_to(dir.path(), "host.tar.zst", &[]);
    assert!(
        matches!(out.status.code(), Some(0 | 3)),
        "capture: {}",
        stderr(&out)
    );
    let mode = std::fs::metadata(&archive)
        .expect("archive")
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "an archive holds what only root may read"
    );

    // Nothing moved meanwhile: the live report after the capture is the one before.
    for (g, first) in GROUPS.iter().zip(&before) {
        assert_eq!(
            comparable(&json(first)),
            comparable(&json(&live(g, "json"))),
            "the helpers' numbers moved during the test (-g {g})"
        );
    }
    let from = archive.to_str().expect("utf-8");
    for (g, live_doc) in GROUPS.iter().zip(&before) {
        // No --source: the capture kept smaps, and answers every question from it.
        let replay = run_pmaps([
            "--from", from, "-f", "json", "-g", g, "-p", &pids, "-n", "0",
        ]);
        assert_eq!(replay.status.code(), Some(0), "-g {g}: {}", stderr(&replay));
        let live_doc = json(live_doc);
        let doc = json(&replay);
        assert_eq!(comparable(&live_doc), comparable(&doc), "-g {g}");
        assert!(doc["meta"]["coverage"]["outcomes"]["read"] == 3, "-g {g}");
        let cap = &doc["meta"]["capture"];
        assert_eq!(cap["format"], "pmaps");
        assert_eq!(cap["file"], from);
        assert_eq!(cap["host"], live_doc["meta"]["host"]);
        assert_eq!(cap["kernel"], live_doc["meta"]["kernel"]);
        assert_eq!(cap["map_file"], "smaps");
        assert_eq!(doc["meta"]["time_utc"], cap["start_utc"]);
        assert!(
            live_doc["meta"].get("capture").is_none(),
            "live: no capture key"
        );
    }
    let csv = run_pmaps(["--from", from, "-f", "csv", "-p", &pids, "-n", "0"]);
    assert_eq!(csv.stdout, csv_before.stdout, "CSV");
    let show = run_pmaps(show_args(Some(&archive)));
    assert_eq!(show.status.code(), Some(0), "{}", stderr(&show));
    assert_eq!(
        json(&show)["processes"],
        json(&show_before)["processes"],
        "show --all-fields"
    );
    // By name too, from the archive's command lines.
    let by_name = run_pmaps(["--from", from, "show", "-f", "json", "frozencap-b"]);
    let procs = json(&by_name)["processes"].clone();
    assert_eq!(procs.as_array().map(Vec::len), Some(1), "{procs}");
    assert_eq!(procs[0]["pid"], b.pid);
}

#[test]
fn a_fake_tree_replays_hostile_names_and_every_outcome() {
    let fake = FakeProc::new();
    let mut smaps = lib_smaps(b"/usr/lib/libc.so.6");
    let weird = map_header(
        0x7f20_0000,
        0x7f21_0000,
        "rw-s",
        0,
        "fe:00",
        43,
        b"/tmp/a\\012b \xff\xfe (deleted)",
    );
    let long = [b"/srv/".as_slice(), &[b'x'; 5000]].concat();
    let long = map_header(0x7f30_0000, 0x7f31_0000, "r--p", 0, "fe:00", 44, &long);
    smaps.extend(full_smaps_record(
        &weird,
        SmapsKb {
            size: 64,
            rss: 64,
            pss: 32,
            shared_clean: 0,
            shared_dirty: 64,
            private_clean: 0,
            private_dirty: 0,
            swap: 0,
            swap_pss: 0,
        },
    ));
    smaps.extend(full_smaps_record(
        &long,
        SmapsKb {
            size: 64,
            rss: 12,
            pss: 12,
            shared_clean: 0,
            shared_dirty: 0,
            private_clean: 12,
            private_dirty: 0,
            swap: 4,
            swap_pss: 4,
        },
    ));
    fake.process(100)
        .comm(b"svc \xff)")
        .uid(65534)
        .cmdline(b"/usr/bin/svc\0--name=\xff\0")
        .smaps(&smaps)
        .write();
    fake.process(101).smaps(&smaps).write();
    fake.process(102).comm(b"zed").state(b'Z').write();
    fake.process(103)
        .comm(b"kworker/0:1")
        .flags(PF_KTHREAD)
        .write();
    fake.process(104).smaps(b"this is not smaps\n").write();
    let dir = open_tempdir();
    let root = fake.root().to_str().expect("utf-8");
    let (archive, out) = capture_to(dir.path(), "fake.tar.zst", &["--proc-root", root]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "an error makes it partial: {}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("partial capture"), "{}", stderr(&out));
    let from = archive.to_str().expect("utf-8");
    for g in GROUPS {
        let live = run_pmaps([
            "--proc-root",
            root,
            "-f",
            "json",
            "-g",
            g,
            "--source",
            "smaps",
        ]);
        let replay = run_pmaps(["--from", from, "-f", "json", "-g", g]);
        assert_eq!(live.status.code(), Some(3));
        assert_eq!(replay.status.code(), Some(3), "{}", stderr(&replay));
        let (live, replay) = (json(&live), json(&replay));
        assert_eq!(comparable(&live), comparable(&replay), "-g {g}");
        assert_eq!(
            live["meta"]["coverage"]["problems"],
            replay["meta"]["coverage"]["problems"]
        );
    }
    let users = json(&run_pmaps(["--from", from, "-f", "json", "-g", "user"]));
    let names: Vec<&str> = users["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["user"].as_str())
        .collect();
    assert!(
        names.contains(&"nobody"),
        "the captured host's names: {names:?}"
    );
    let by_user = run_pmaps([
        "--from", from, "-f", "json", "-g", "process", "-u", "nobody",
    ]);
    assert_eq!(
        json(&by_user)["rows"][0]["pid"],
        100,
        "{}",
        stderr(&by_user)
    );
    // The archive can be read from a pipe too.
    let mut child = Command::new(pmaps_bin())
        .args(["--from", "-", "-f", "csv", "-g", "kind"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let bytes = std::fs::read(&archive).expect("archive");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&bytes)
        .expect("feed");
    let piped = child.wait_with_output().expect("wait");
    let file = run_pmaps(["--from", from, "-f", "csv", "-g", "kind"]);
    assert_eq!(piped.stdout, file.stdout, "{}", stderr(&piped));
}

#[test]
fn a_denied_process_is_recorded_and_replayed_as_denied() {
    let fake = FakeProc::new();
    let smaps = lib_smaps(b"/usr/lib/x.so");
    fake.process(200).uid(65534).smaps(&smaps).write();
    let secret = fake.process(201).smaps(&smaps).write();
    std::fs::set_permissions(secret.join("smaps"), std::fs::Permissions::from_mode(0o600))
        .expect("chmod");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let archive = dir.path().join("nobody.tar.zst");
    let root = fake.root().to_str().expect("utf-8");
    let out = run_pmaps_as_nobody([
        "--proc-root",
        root,
        "capture",
        "-o",
        archive.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 process denied"),
        "{}",
        stderr(&out)
    );
    // Replayed by root, the archive still says what nobody could read.
    let replay = run_pmaps(["--from", archive.to_str().expect("utf-8"), "-f", "json"]);
    assert_eq!(replay.status.code(), Some(3));
    let doc = json(&replay);
    let problems = &doc["meta"]["coverage"]["problems"];
    assert_eq!(problems[0]["pid"], 201);
    assert_eq!(problems[0]["outcome"], "denied");
    assert_eq!(problems[0]["path"], format!("{root}/201/smaps"));
    assert_eq!(doc["meta"]["coverage"]["outcomes"]["read"], 1);
}

#[test]
fn a_capture_of_the_rollup_answers_per_process_questions_only() {
    let fake = FakeProc::new();
    let rollup = smaps_record(
        map_header(0x1000, 0x2000, "---p", 0, "00:00", 0, b"[rollup]"),
        &[
            ("Rss", 800),
            ("Pss", 400),
            ("Private_Dirty", 300),
            ("Swap", 0),
        ],
    );
    fake.process(300).smaps_rollup(&rollup).write();
    let dir = open_tempdir();
    let root = fake.root().to_str().expect("utf-8");
    let path = dir.path().join("r.tar.zst");
    let out = run_pmaps([
        "--proc-root",
        root,
        "capture",
        "--source",
        "smaps_rollup",
        "-o",
        path.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let from = path.to_str().expect("utf-8");
    let live = run_pmaps(["--proc-root", root, "-f", "json", "-g", "process"]);
    let replay = run_pmaps(["--from", from, "-f", "json", "-g", "process"]);
    assert_eq!(comparable(&json(&live)), comparable(&json(&replay)));
    let per_file = run_pmaps(["--from", from]);
    assert_eq!(per_file.status.code(), Some(2));
    assert!(
        stderr(&per_file).contains("holds smaps_rollup per process"),
        "{}",
        stderr(&per_file)
    );
    let show = run_pmaps(["--from", from, "show", "300"]);
    assert_eq!(show.status.code(), Some(2), "{}", stderr(&show));
}

#[test]
fn capture_usage_errors() {
    let dir = open_tempdir();
    let x = dir.path().join("x.tar.zst");
    let x = x.to_str().expect("utf-8");
    for (args, says) in [
        (vec!["-g", "process", "capture", "-o", x], "--group-by"),
        (vec!["capture", "-o", x, "-f", "json"], "--format"),
        (vec!["--from", x, "capture", "-o", x], "reads a proc root"),
    ] {
        let out = run_pmaps(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    let both = run_pmaps(["--from", x, "--proc-root", "/proc"]);
    assert_eq!(both.status.code(), Some(2), "{}", stderr(&both));
    let missing = run_pmaps(["--from", "/nonexistent/capture.tar.zst"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("cannot open /nonexistent/capture.tar.zst"));
}

// ---- smemcap -------------------------------------------------------------------------

#[test]
fn a_smemcap_archive_is_read_with_what_it_lacks_unknown() {
    let libs = PrivateLibs::new();
    let data = open_tempdir();
    let shared = synced_file(data.path(), "lib", 128 << 10);
    let shared = shared.to_str().expect("utf-8");
    let a = libs.spawn(["--comm", "smc-a", "--anon", "1M", "--map-shared", shared]);
    let b = libs.spawn([
        "--comm",
        "smc-b",
        "--map-shared",
        shared,
        "--memfd",
        "m:300K",
    ]);
    let unread = libs.spawn(["--comm", "smc-unread", "--anon", "200K"]);
    for h in [&a, &b, &unread] {
        freeze(h.pid);
    }
    let pids = format!("{},{}", a.pid, b.pid);
    let live = |g: &str| run_pmaps(["-f", "json", "-g", g, "-p", &pids, "--source", "smaps"]);
    let live_file = json(&live("file"));
    let live_proc = json(&live("process"));

    let mut tar = Vec::new();
    let read = |p: String| std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"));
    smemcap_file(&mut tar, "meminfo", &read("/proc/meminfo".into()), 0, b'0');
    smemcap_file(&mut tar, "version", &read("/proc/version".into()), 0, b'0');
    for pid in [a.pid, b.pid, unread.pid] {
        // A directory's type is passed as the number 5, which `%1d` prints right.
        tar.extend_from_slice(&smemcap_header(&pid.to_string(), 0o40555, 0, 0, 0, 0, 5));
        let smaps = if pid == unread.pid {
            Vec::new() // open() failed: size 0, the rest of the header garbage
        } else {
            read(format!("/proc/{pid}/smaps"))
        };
        smemcap_file(&mut tar, &format!("{pid}/smaps"), &smaps, 0, b'0');
        smemcap_file(
            &mut tar,
            &format!("{pid}/cmdline"),
            &read(format!("/proc/{pid}/cmdline")),
            0,
            b'0',
        );
        smemcap_file(
            &mut tar,
            &format!("{pid}/stat"),
            &read(format!("/proc/{pid}/stat")),
            0,
            b'0',
        );
    }
    // The type byte of a file header is `4` (from "48"), as smemcap writes it.
    assert_eq!(tar[156], b'4');
    let dir = open_tempdir();
    let path = dir.path().join("smemcap.tar");
    std::fs::write(&path, &tar).expect("write");
    let from = path.to_str().expect("utf-8");

    let replay = |g: &str| run_pmaps(["--from", from, "-f", "json", "-g", g, "-p", &pids]);
    let file = replay("file");
    assert_eq!(file.status.code(), Some(0), "{}", stderr(&file));
    let file = json(&file);
    assert_eq!(comparable(&file)["rows"], comparable(&live_file)["rows"]);
    assert_eq!(
        comparable(&file)["totals"],
        comparable(&live_file)["totals"]
    );
    let cap = &file["meta"]["capture"];
    assert_eq!(cap["format"], "smemcap");
    assert_eq!(cap["host"], Value::Null, "smemcap keeps no host name");
    assert_eq!(cap["start_utc"], Value::Null, "nor a time");
    assert_eq!(
        cap["kernel"], live_file["meta"]["kernel"],
        "the release, from `version`"
    );
    // Per process: the same numbers; the user is the uid the header recorded, unnamed.
    let mut procs = json(&replay("process"));
    let mut live_procs = live_proc.clone();
    for doc in [&mut procs, &mut live_procs] {
        for r in doc["rows"].as_array_mut().expect("rows") {
            let user = r.as_object_mut().expect("row").remove("user");
            assert!(user.is_some());
        }
    }
    assert_eq!(procs["rows"], live_procs["rows"]);
    let users = json(&replay("user"));
    assert_eq!(
        users["rows"][0]["user"], "0",
        "uid 0, no passwd in a smemcap archive"
    );
    // The process smemcap could not read is an error, not a process without memory.
    let all = run_pmaps(["--from", from, "-f", "json", "-g", "process"]);
    assert_eq!(all.status.code(), Some(3), "{}", stderr(&all));
    let problems = &json(&all)["meta"]["coverage"]["problems"];
    assert_eq!(problems[0]["pid"], unread.pid);
    assert_eq!(problems[0]["outcome"], "error");
    assert!(
        problems[0]["detail"]
            .as_str()
            .unwrap_or("")
            .contains("smemcap stored an empty smaps"),
        "{problems}"
    );
}

// ---- hostile archives ----------------------------------------------------------------

/// A tar of `(name, data, type)` entries, names written raw into the headers.
fn raw_tar(entries: &[(&[u8], &[u8], tar::EntryType)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data, kind) in entries {
        let mut h = tar::Header::new_gnu();
        h.as_mut_bytes()[..name.len()].copy_from_slice(name);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(*kind);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0; 1024]);
    out
}

fn zst(bytes: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(bytes, 1).expect("zstd")
}

fn refused(dir: &Path, name: &str, bytes: &[u8], says: &str) {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    let out = Command::new(pmaps_bin())
        .args(["--from", path.to_str().expect("utf-8"), "-f", "json"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run pmaps");
    assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
    assert!(out.stdout.is_empty(), "{name}: printed a report");
    let err = stderr(&out);
    assert!(err.contains("cannot read capture"), "{name}: {err}");
    assert!(err.contains(says), "{name}: expected {says:?} in: {err}");
    assert_eq!(err.lines().count(), 1, "{name}: one line: {err}");
}

#[test]
fn hostile_archives_are_refused_clearly_and_write_nothing() {
    let work = open_tempdir();
    let dir = work.path().join("in");
    std::fs::create_dir(&dir).expect("mkdir");
    let escape = work.path().join("escaped");
    let tag = format!("pmaps-escape-{}", std::process::id());
    let abs = format!("/tmp/{tag}");
    let climb = format!("../escaped/{tag}");
    let file = tar::EntryType::Regular;

    refused(
        &dir,
        "dotdot.tar",
        &raw_tar(&[(climb.as_bytes(), b"x", file)]),
        "climbs out",
    );
    refused(
        &dir,
        "abs.tar.zst",
        &zst(&raw_tar(&[(abs.as_bytes(), b"x", file)])),
        "absolute",
    );
    refused(
        &dir,
        "link.tar",
        &raw_tar(&[(b"1/smaps", b"", tar::EntryType::Symlink)]),
        "regular files only",
    );
    refused(
        &dir,
        "dup.tar",
        &raw_tar(&[(b"1/smaps", b"a", file), (b"./1/smaps", b"b", file)]),
        "appears twice",
    );
    // A header that claims a terabyte is refused before a byte of it is read.
    let mut huge = raw_tar(&[(b"1/smaps", b"", file)]);
    let mut h = tar::Header::from_byte_slice(&huge[..512]).clone();
    h.set_size(1 << 40);
    h.set_cksum();
    huge[..512].copy_from_slice(h.as_bytes());
    refused(&dir, "huge.tar.zst", &zst(&huge), "more than the");
    // 400 MiB of zeros in ~13 KB: stopped at 64 MiB, long before the disk fills.
    let mut bomb = Vec::new();
    {
        let mut enc = zstd::stream::write::Encoder::new(&mut bomb, 3).expect("encoder");
        let mut h = tar::Header::new_gnu();
        h.set_path("1/smaps").expect("path");
        h.set_size(400 << 20);
        h.set_mode(0o444);
        h.set_cksum();
        enc.write_all(h.as_bytes()).expect("header");
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..400 {
            enc.write_all(&zeros).expect("zeros");
        }
        enc.finish().expect("finish");
    }
    assert!(bomb.len() < 1 << 20, "the bomb is small: {}", bomb.len());
    refused(&dir, "bomb.tar.zst", &bomb, "decompression bomb");
    refused(
        &dir,
        "gzip.tar.gz",
        &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0],
        "gunzip",
    );
    refused(&dir, "noise", &[0x55; 4096], "not a tar archive");

    // Real captures, damaged.
    let fake = FakeProc::new();
    let smaps = lib_smaps(b"/usr/lib/x.so").repeat(200);
    for pid in 1..=20 {
        fake.process(pid).smaps(&smaps).write();
    }
    let root = fake.root().to_str().expect("utf-8");
    let (good, out) = capture_to(work.path(), "good.tar.zst", &["--proc-root", root]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let good = std::fs::read(good).expect("read");
    refused(&dir, "cut.tar.zst", &good[..good.len() / 2], "truncated");
    let entries = archive_entries(&good);
    let mut future = entries.clone();
    let manifest = future.last_mut().expect("manifest last");
    assert_eq!(manifest.0, "manifest.json");
    let text = String::from_utf8(manifest.1.clone()).expect("utf-8");
    manifest.1 = text
        .replacen("\"version\":1", "\"version\":99", 1)
        .into_bytes();
    refused(
        &dir,
        "v99.tar.zst",
        &pack_archive(&future, true),
        "manifest version 99",
    );
    refused(
        &dir,
        "no-end.tar.zst",
        &pack_archive(&entries, false),
        "end-of-archive",
    );
    let without_smaps: Vec<_> = entries
        .iter()
        .filter(|(n, _)| n != "7/smaps")
        .cloned()
        .collect();
    refused(
        &dir,
        "lacking.tar.zst",
        &pack_archive(&without_smaps, true),
        "which the archive lacks",
    );
    // The intact one reads.
    let ok = run_pmaps(["--from", &format!("{}/good.tar.zst", work.path().display())]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));

    assert!(!Path::new(&abs).exists(), "{abs} was written");
    assert!(!escape.exists(), "{} was written", escape.display());
    let left: Vec<_> = std::fs::read_dir(&dir).expect("ls").collect();
    assert_eq!(left.len(), 12, "only the archives the test wrote are there");
}

#[test]
fn hostile_cgroup_records_are_refused_clearly() {
    let work = open_tempdir();
    let dir = work.path().join("in");
    std::fs::create_dir(&dir).expect("mkdir");
    let fake = FakeProc::new();
    fake.process(7)
        .smaps(&lib_smaps(b"/usr/lib/x.so"))
        .file("cgroup", b"0::/system.slice/x.service\n")
        .write();
    let cgroupfs = open_tempdir();
    let unit = cgroupfs.path().join("system.slice/x.service");
    std::fs::create_dir_all(&unit).expect("mkdir");
    std::fs::write(unit.join("memory.current"), "4096\n").expect("write");
    let root = fake.root().to_str().expect("utf-8");
    let cg = cgroupfs.path().to_str().expect("utf-8");
    let (good, out) = capture_to(
        work.path(),
        "good.tar.zst",
        &["--proc-root", root, "--cgroup-root", cg],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let entries = archive_entries(&std::fs::read(&good).expect("read"));
    let current = "cgroup/0/memory.current";
    assert!(entries.iter().any(|(n, _)| n == current), "{entries:?}");
    // `edit` changes the manifest; `entry` replaces (or, with `None`, drops) memory.current.
    let damaged = |edit: &dyn Fn(&mut Value), entry: Option<Vec<u8>>| {
        let mut e: Vec<(String, Vec<u8>)> = entries
            .iter()
            .filter(|(n, _)| n != current || entry.is_some())
            .map(|(n, d)| match (n == current, &entry) {
                (true, Some(data)) => (n.clone(), data.clone()),
                _ => (n.clone(), d.clone()),
            })
            .collect();
        let manifest = e.last_mut().expect("manifest");
        let mut m: Value = serde_json::from_slice(&manifest.1).expect("JSON");
        edit(&mut m);
        manifest.1 = serde_json::to_vec(&m).expect("JSON");
        pack_archive(&e, true)
    };
    let read0 = |m: &mut Value, key: &str, v: Value| {
        m["cgroups"][0]["reads"][0][key] = v;
    };
    let keep = Some(b"4096\n".to_vec());
    refused(
        &dir,
        "climb.tar.zst",
        &damaged(
            &|m| read0(m, "entry", "../../../etc/passwd".into()),
            keep.clone(),
        ),
        "names a file \"../../../etc/passwd\" of cgroup /system.slice/x.service",
    );
    refused(
        &dir,
        "file.tar.zst",
        &damaged(&|m| read0(m, "file", "a/b".into()), keep.clone()),
        "names a file \"a/b\"",
    );
    refused(
        &dir,
        "lacking.tar.zst",
        &damaged(&|_| {}, None),
        "names cgroup/0/memory.current, which the archive lacks",
    );
    refused(
        &dir,
        "big.tar.zst",
        &damaged(&|_| {}, Some(vec![b'9'; (256 << 10) + 1])),
        "more than a cgroup file has",
    );
    refused(
        &dir,
        "hex.tar.zst",
        &damaged(&|m| m["cgroups"][0]["path_hex"] = "zz".into(), keep.clone()),
        "is not hex",
    );
    let twice = |m: &mut Value| {
        let mut again = m["cgroups"][0].clone();
        again["reads"] = Value::Array(Vec::new());
        m["cgroups"].as_array_mut().expect("cgroups").push(again);
    };
    refused(
        &dir,
        "twice.tar.zst",
        &damaged(&twice, keep.clone()),
        "lists cgroup /system.slice/x.service twice",
    );
    // The intact one reads, with the counter it kept.
    let ok = run_pmaps([
        "--from",
        good.to_str().expect("utf-8"),
        "-g",
        "unit",
        "-f",
        "csv",
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(
        String::from_utf8_lossy(&ok.stdout).contains(",4096,,,,\r\n"),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
}
