//! Permissions and namespaces: pmaps as nobody, on proc mounted with hidepid, and as the root
//! of a user namespace: what it cannot read is counted `denied` or said to be hidden, never
//! presented as a complete report.

use std::collections::BTreeSet;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use super::kernel_thread_pid;
use crate::support::*;

/// As nobody: root's processes are `denied` (counted, one line on stderr, exit 3), the
/// user's own non-dumpable process is `denied`, its ordinary process is read and kernel
/// threads stay `kernel_thread`.
#[test]
fn as_nobody_other_users_and_nondumpable_processes_are_denied() {
    let root_a = Helper::spawn(["--anon", "64K"]);
    let root_b = Helper::spawn(["--anon", "64K"]);
    let mine = Helper::spawn_as_nobody(["--anon", "64K"]);
    let nondumpable = Helper::spawn_as_nobody(["--nondumpable", "--anon", "64K"]);
    let kthread = kernel_thread_pid();
    let pids = pid_list([root_a.pid, root_b.pid, mine.pid, nondumpable.pid, kthread]);

    let run = |format: &str| {
        let out = run_pmaps_as_nobody(["-p", &pids, "-g", "process", "-f", format]);
        assert_eq!(code(&out), 3, "{}", text(&out.stderr));
        out
    };
    let out = run("json");
    // Machine formats: the coverage line and the one summary line, never a line per process.
    let err = text(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(lines[0].starts_with("pmaps: 5 processes: 1 read, 1 kernel thread, 3 denied;"));
    assert!(lines[1].starts_with("pmaps: partial report: 3 processes denied"));
    let doc = parse_json(&out);
    let o = outcomes(&doc);
    assert_eq!(o["read"], 1, "{o:?}");
    assert_eq!(o["denied"], 3, "{o:?}");
    assert_eq!(o["kernel_thread"], 1, "{o:?}");
    assert_eq!(doc["meta"]["coverage"]["complete"], Value::Bool(false));
    let denied: BTreeSet<u64> = doc["meta"]["coverage"]["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter(|p| p["outcome"] == "denied")
        .filter_map(|p| p["pid"].as_u64())
        .collect();
    let expected: BTreeSet<u64> = [root_a.pid, root_b.pid, nondumpable.pid]
        .into_iter()
        .map(u64::from)
        .collect();
    assert_eq!(denied, expected);
    let rows = doc["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["pid"].as_u64(), Some(u64::from(mine.pid)));
    assert_eq!(rows[0]["user"], "nobody");

    // The table carries its coverage line; stderr has one line for all denied processes.
    let out = run("table");
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("pmaps: partial report: 3 processes denied"),
        "{err}"
    );
    let table = text(&out.stdout);
    let coverage = table.lines().last().unwrap_or("");
    assert!(
        coverage.starts_with("5 processes: 1 read, 1 kernel thread, 3 denied;"),
        "{coverage}"
    );
}

/// Mounts a private proc instance with `options` on a fresh directory inside a new mount
/// namespace and runs pmaps there (as nobody when `as_nobody`) with `args`.
fn pmaps_on_private_proc(options: &str, as_nobody: bool, args: &[&str]) -> Output {
    let dir = tempfile::Builder::new()
        .prefix("procmnt")
        .tempdir()
        .expect("tempdir");
    set_mode(dir.path(), 0o755);
    let script = if as_nobody {
        r#"mount -t proc -o "$1" proc "$2" || exit 90
           shift 2
           exec setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@""#
    } else {
        r#"mount -t proc -o "$1" proc "$2" || exit 90
           shift 2
           exec "$@""#
    };
    let out = Command::new("unshare")
        .args([
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
            options,
        ])
        .arg(dir.path())
        .arg(pmaps_bin())
        .arg("--proc-root")
        .arg(dir.path())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run unshare");
    assert_ne!(code(&out), 90, "mount failed: {}", text(&out.stderr));
    out
}

/// On a proc mounted with hidepid=1 (noaccess), other users' processes are listed but
/// unreadable: pmaps, as nobody, counts them `denied`, never as a complete small system.
#[test]
fn hidepid_noaccess_other_users_are_denied() {
    let root_helper = Helper::spawn(["--anon", "64K"]);
    let mine = Helper::spawn_as_nobody(["--anon", "64K"]);
    let pids = pid_list([root_helper.pid, mine.pid]);
    for opt in ["hidepid=1", "hidepid=noaccess"] {
        let out = pmaps_on_private_proc(opt, true, &["-p", &pids, "-g", "process", "-f", "json"]);
        assert_eq!(code(&out), 3, "{opt}: {}", text(&out.stderr));
        let doc = parse_json(&out);
        let o = outcomes(&doc);
        assert_eq!((o["read"], o["denied"]), (1, 1), "{opt}: {o:?}");
        assert_eq!(doc["meta"]["coverage"]["complete"], Value::Bool(false));
        assert!(
            text(&out.stderr).contains("1 process denied"),
            "{}",
            text(&out.stderr)
        );
    }
}

/// On a proc mounted with hidepid=2 (invisible) or 4 (ptraceable), other users' processes
/// are not even listed: pmaps, as nobody, says so (coverage `hidden`, a partial report, exit
/// 3) instead of presenting the one process it sees as a complete system.
#[test]
fn hidepid_invisible_as_nobody_says_processes_are_hidden() {
    let root_helper = Helper::spawn(["--anon", "64K"]);
    let mine = Helper::spawn_as_nobody(["--anon", "64K"]);
    let pids = pid_list([root_helper.pid, mine.pid]);
    for (opt, name) in [
        ("hidepid=2", "invisible"),
        ("hidepid=invisible", "invisible"),
        ("hidepid=4", "ptraceable"),
    ] {
        let out = pmaps_on_private_proc(opt, true, &["-p", &pids, "-g", "process", "-f", "json"]);
        let err = text(&out.stderr);
        assert_eq!(code(&out), 3, "{opt}: {err}");
        let doc = parse_json(&out);
        let o = outcomes(&doc);
        assert_eq!(o["read"], 1, "{opt}: {o:?}");
        assert_eq!(doc["meta"]["coverage"]["processes"], 1, "{opt}");
        assert_eq!(doc["meta"]["coverage"]["complete"], Value::Bool(false));
        let hidden = doc["meta"]["coverage"]["hidden"]
            .as_str()
            .unwrap_or_else(|| panic!("{opt}: no coverage.hidden"));
        assert!(
            hidden.starts_with(&format!("hidepid={name}")),
            "{opt}: {hidden}"
        );
        assert!(
            err.lines()
                .any(|l| l.starts_with("pmaps: partial report: ") && l.contains("hidepid=")),
            "{opt}: {err}"
        );
        // The table says it too, in its coverage line.
        let out = pmaps_on_private_proc(opt, true, &["-p", &pids, "-g", "process"]);
        assert_eq!(code(&out), 3);
        let table = text(&out.stdout);
        let coverage = table.lines().last().unwrap_or("");
        assert!(coverage.contains("hidepid="), "{opt}: {coverage}");
    }
}

/// Members of the mount's `gid=` group see every process through hidepid: nothing is hidden
/// (other users' processes are listed, and denied as usual), so no `hidden` note.
#[test]
fn hidepid_invisible_with_the_mounts_gid_hides_nothing() {
    let root_helper = Helper::spawn(["--anon", "64K"]);
    let mine = Helper::spawn_as_nobody(["--anon", "64K"]);
    let pids = pid_list([root_helper.pid, mine.pid]);
    // SAFETY: getgrnam returns a pointer into static storage or null; read at once.
    let nogroup = unsafe {
        let g = libc::getgrnam(c"nogroup".as_ptr());
        assert!(!g.is_null(), "no group named nogroup");
        (*g).gr_gid
    };
    let opt = format!("hidepid=invisible,gid={nogroup}");
    let out = pmaps_on_private_proc(&opt, true, &["-p", &pids, "-g", "process", "-f", "json"]);
    assert_eq!(code(&out), 3, "{}", text(&out.stderr));
    let doc = parse_json(&out);
    let o = outcomes(&doc);
    assert_eq!((o["read"], o["denied"]), (1, 1), "{o:?}");
    assert_eq!(doc["meta"]["coverage"]["hidden"], Value::Null);
}

/// Root (with CAP_SYS_PTRACE, in the initial user namespace) sees every process through a
/// hidepid mount: no false alarm for a root cron job on a hardened machine.
#[test]
fn hidepid_invisible_as_root_is_complete() {
    let root_helper = Helper::spawn(["--anon", "64K"]);
    let other = Helper::spawn_as_nobody(["--anon", "64K"]);
    let pids = pid_list([root_helper.pid, other.pid]);
    let out = pmaps_on_private_proc(
        "hidepid=invisible",
        false,
        &["-p", &pids, "-g", "process", "-f", "json"],
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let doc = parse_json(&out);
    assert_eq!(outcomes(&doc)["read"], 2);
    assert_eq!(doc["meta"]["coverage"]["hidden"], Value::Null);
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

/// Inside a user namespace (`unshare -Ur`), "root" cannot read the host root's processes:
/// they are `denied` and the report is partial, while a process of the namespace is read.
#[test]
fn user_namespace_root_is_not_all_seeing() {
    let host = Helper::spawn(["--anon", "64K"]);
    let script = r#"sleep 1000 & inner=$!
        "$0" -p "$1,$inner" -g process -f json
        rc=$?
        kill $inner
        exit $rc"#;
    let out = Command::new("unshare")
        .args(["-Ur", "sh", "-c", script])
        .arg(pmaps_bin())
        .arg(host.pid.to_string())
        .stdin(Stdio::null())
        .output()
        .expect("run unshare -Ur");
    let err = text(&out.stderr);
    assert_eq!(code(&out), 3, "{err}");
    let doc = parse_json(&out);
    let o = outcomes(&doc);
    assert_eq!((o["read"], o["denied"]), (1, 1), "{o:?}");
    let problems = doc["meta"]["coverage"]["problems"]
        .as_array()
        .expect("problems");
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0]["pid"].as_u64(), Some(u64::from(host.pid)));
    assert!(err.contains("partial report: 1 process denied"), "{err}");
}
