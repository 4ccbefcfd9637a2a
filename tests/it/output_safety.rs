//! Output safety: `--output` is all or nothing (full disk, SIGKILL mid-write, a symlink
//! planted by another user), a closed pipe or a full device ends the run cleanly, and a
//! cron-like run (empty environment, no terminal) prints the same data as an interactive
//! one, with nothing on stderr and no escape sequences.
//!
//! Reports come from fake proc roots, so they are complete and the same on every run.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::Value;

use crate::support::*;

/// `--output` on a full filesystem (a 64 KiB tmpfs in a private mount namespace): one clear
/// line on stderr, exit 1, the previous report intact, no temporary file left behind.
#[test]
fn output_on_a_full_filesystem_keeps_the_previous_report() {
    let fake = FakeProc::apps(20, 50);
    let mnt = tempfile::tempdir().expect("tempdir");
    let script = r#"
        mount -t tmpfs -o size=64k tmpfs "$1" || exit 90
        printf 'previous report\n' > "$1/report.json"
        dd if=/dev/zero of="$1/filler" bs=4096 2>/dev/null
        "$2" --proc-root "$3" -g file,process -f json -o "$1/report.json"
        echo "exit=$?"
        echo "report=$(cat "$1/report.json")"
        ls -A "$1" | sed 's/^/file=/'
    "#;
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
        .arg(mnt.path())
        .arg(pmaps_bin())
        .arg(fake.root())
        .stdin(Stdio::null());
    let out = output(cmd);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "exit=1",
            "report=previous report",
            "file=filler",
            "file=report.json"
        ],
        "stderr: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("pmaps: error: cannot write ")
            && stderr.contains("report.json")
            && stderr.contains("No space left on device"),
        "{stderr}"
    );
}

/// pmaps killed with SIGKILL at moments spread over its run while it writes a large report
/// with `--output`: the target is always the old report or the whole new one, never a mix
/// or a truncated file. (A temporary `.pmaps-*.tmp` may be left beside it: SIGKILL leaves no
/// chance to remove it, and its hidden name never replaces the target.)
#[test]
fn output_killed_mid_write_is_old_or_new_never_a_mix() {
    let fake = FakeProc::apps(40, 200);
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("report.json");
    let old = b"{\"old\": true}\n";
    let run = |target: &Path| {
        let mut c = pmaps_on(fake.root());
        c.args(["-g", "file,process", "-f", "json", "-o"])
            .arg(target);
        c
    };
    // A reference run: how long it takes, and what the new report holds.
    let t0 = Instant::now();
    let reference = output(run(&target));
    let full_time = t0.elapsed();
    assert_eq!(
        reference.status.code(),
        Some(0),
        "{}",
        text(&reference.stderr)
    );
    let new: Value = serde_json::from_slice(&std::fs::read(&target).expect("read")).expect("JSON");
    let rows = new["rows"].clone();
    assert!(std::fs::metadata(&target).expect("stat").len() > 1 << 20);

    let mut old_seen = 0;
    let mut new_seen = 0;
    const ITERATIONS: u32 = 30;
    for i in 0..ITERATIONS {
        std::fs::write(&target, old).expect("write old report");
        let mut child = run(&target)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pmaps");
        std::thread::sleep(full_time.mul_f64(f64::from(i) / f64::from(ITERATIONS) * 1.2));
        kill_pid(child.id());
        let _ = child.wait();
        let bytes = std::fs::read(&target).expect("read target");
        if bytes == old {
            old_seen += 1;
        } else {
            let doc: Value = serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("iteration {i}: target is neither old nor new: {e}"));
            assert_eq!(doc["rows"], rows, "iteration {i}");
            new_seen += 1;
        }
    }
    eprintln!("after {ITERATIONS} kills: {old_seen} old, {new_seen} new");
    assert!(old_seen > 0, "every kill came after the rename");
}

/// Another user plants a symlink at the output path in a sticky world-writable directory
/// (like /tmp), pointing at a file of root's: pmaps replaces the link with its report and
/// the link's target is untouched.
#[test]
fn a_symlink_planted_at_the_output_path_is_replaced_not_followed() {
    let fake = FakeProc::apps(2, 3);
    let base = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let sticky = base.path().join("shared-tmp");
    std::fs::create_dir(&sticky).expect("mkdir");
    std::fs::set_permissions(&sticky, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    let victim_dir = base.path().join("etc");
    std::fs::create_dir(&victim_dir).expect("mkdir");
    let victim = victim_dir.join("shadow");
    std::fs::write(&victim, b"root:secret:0:0\n").expect("write victim");
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let before = std::fs::metadata(&victim).expect("stat");

    let link = sticky.join("report.csv");
    let out = setpriv_nobody(Path::new("ln"))
        .arg("-s")
        .arg(&victim)
        .arg(&link)
        .output()
        .expect("run ln as nobody");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let meta = std::fs::symlink_metadata(&link).expect("lstat link");
    assert!(meta.file_type().is_symlink());
    assert_eq!(meta.uid(), 65534);

    let mut cmd = pmaps_on(fake.root());
    cmd.args(["-f", "csv", "-o"]).arg(&link);
    let out = output(cmd);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));

    assert_eq!(
        std::fs::read(&victim).expect("read victim"),
        b"root:secret:0:0\n"
    );
    let after = std::fs::metadata(&victim).expect("stat");
    assert_eq!(
        (
            after.ino(),
            after.mode(),
            after.uid(),
            after.mtime(),
            after.mtime_nsec()
        ),
        (
            before.ino(),
            before.mode(),
            before.uid(),
            before.mtime(),
            before.mtime_nsec()
        )
    );
    let meta = std::fs::symlink_metadata(&link).expect("lstat report");
    assert!(meta.file_type().is_file(), "the link is still there");
    assert_eq!(meta.uid(), 0);
    let report = std::fs::read(&link).expect("read report");
    assert!(
        report.starts_with(format!("{FILE_HEADER}\r\n").as_bytes()),
        "{}",
        text(&report)
    );
    assert_eq!(leftovers(&sticky, &["report.csv"]), Vec::<String>::new());
}

/// `pmaps | head -1` in every format: the reader goes away after one line of a report much
/// larger than the pipe buffer; pmaps stops quietly, exit 0, nothing on stderr.
#[test]
fn a_closed_pipe_ends_the_run_quietly() {
    let fake = FakeProc::apps(40, 200);
    for format in ["table", "csv", "json"] {
        let mut child = pmaps_on(fake.root())
            .args(["-g", "file,process", "-f", format])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start pmaps");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut first)
            .expect("read first line");
        // The reader is dropped here: the pipe's read end is closed.
        let mut err = String::new();
        child
            .stderr
            .take()
            .expect("piped")
            .read_to_string(&mut err)
            .expect("read stderr");
        let status = child.wait().expect("wait");
        assert!(!first.is_empty(), "-f {format}: no first line");
        assert_eq!(status.code(), Some(0), "-f {format}: {err}");
        assert_eq!(err, "", "-f {format}");
    }
    // The same through a shell pipeline, as people type it.
    for format in ["table", "csv", "json"] {
        let script = r#""$0" --proc-root "$1" -g file,process -f "$2" 2>"$3" | head -n 1 >/dev/null
            echo "${PIPESTATUS[0]}""#;
        let err_file = tempfile::NamedTempFile::new().expect("tempfile");
        let out = Command::new("bash")
            .args(["-c", script])
            .arg(pmaps_bin())
            .arg(fake.root())
            .arg(format)
            .arg(err_file.path())
            .stdin(Stdio::null())
            .output()
            .expect("run bash");
        assert_eq!(text(&out.stdout), "0\n", "-f {format}");
        assert_eq!(
            std::fs::read(err_file.path()).expect("read"),
            b"",
            "-f {format}"
        );
    }
}

/// `pmaps > /dev/full`: one line on stderr, exit 1.
#[test]
fn a_full_stdout_is_one_line_and_a_failure() {
    let fake = FakeProc::apps(3, 5);
    for format in ["table", "csv", "json"] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("open /dev/full");
        let mut cmd = pmaps_on(fake.root());
        cmd.args(["-f", format]).stdout(full);
        let out = output(cmd);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "-f {format}: {err}");
        assert_eq!(err.lines().count(), 1, "-f {format}: {err}");
        assert!(
            err.starts_with("pmaps: error: ") && err.contains("No space left on device"),
            "-f {format}: {err}"
        );
    }
}

/// A cron-like run (`env -i PATH=/usr/bin:/bin`, no terminal, `LC_ALL=C` or no locale at
/// all) prints byte for byte the data of a run from this environment, nothing on stderr when
/// the report is complete, and no escape sequence anywhere. Only the time and the duration of
/// the run differ, and they are blanked before comparing (see [`mask_run_facts`]).
#[test]
fn a_cron_like_run_prints_the_same_bytes_and_nothing_else() {
    let fake = FakeProc::apps(6, 10);
    // A name with an escape sequence: shown escaped in both runs alike.
    fake.process(900)
        .comm(b"evil\x1b[2J")
        .smaps(&full_smaps_record(
            map_header(
                0x1000,
                0x2000,
                "r--p",
                0,
                "fe:00",
                9,
                b"/tmp/\x1b]0;owned\x07.so",
            ),
            SmapsKb::private_clean(4),
        ))
        .write();
    let env_bin = PathBuf::from("/usr/bin/env");
    for view in ["file", "process", "command", "file,process"] {
        for format in ["table", "csv", "json"] {
            let args = ["-g", view, "-f", format];
            let mut normal = pmaps_on(fake.root());
            normal.args(args).env_remove("RAYON_NUM_THREADS");
            let normal = output(normal);
            assert_eq!(normal.status.code(), Some(0), "{}", text(&normal.stderr));
            for locale in [Some("C"), None] {
                let mut cron = Command::new(&env_bin);
                cron.args(["-i", "PATH=/usr/bin:/bin"]);
                if let Some(l) = locale {
                    cron.arg(format!("LC_ALL={l}"));
                }
                cron.arg(pmaps_bin())
                    .arg("--proc-root")
                    .arg(fake.root())
                    .args(args)
                    .stdin(Stdio::null());
                let cron = output(cron);
                let what = format!("-g {view} -f {format} LC_ALL={locale:?}");
                assert_eq!(
                    cron.status.code(),
                    Some(0),
                    "{what}: {}",
                    text(&cron.stderr)
                );
                assert!(cron.stderr.is_empty(), "{what}: {}", text(&cron.stderr));
                assert!(
                    !cron.stdout.contains(&0x1b),
                    "{what}: escape sequence in output"
                );
                assert_eq!(
                    mask_run_facts(format, &cron.stdout),
                    mask_run_facts(format, &normal.stdout),
                    "{what}"
                );
                if format == "csv" {
                    assert_eq!(cron.stdout, normal.stdout, "{what}");
                }
            }
        }
    }
}
