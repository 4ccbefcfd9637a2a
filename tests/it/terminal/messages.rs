//! Messages: plurals that agree ("1 more row"), and advice about denied processes that
//! names what is missing instead of telling root to run as root.

use std::process::{Command, Stdio};

use super::{anon_process, err_lines};
use crate::support::*;

#[test]
fn one_more_row_is_singular() {
    let fake = FakeProc::new();
    anon_process(&fake, 101, "web", &[400]).write();
    anon_process(&fake, 202, "db", &[800]).write();
    let mut cmd = pmaps_on(fake.root());
    cmd.args(["-g", "process", "-n", "1"]);
    let table = expect_exit(&output(cmd), 0);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[lines.len() - 2],
        "... 1 more row (-n 0 shows all)",
        "{table}"
    );
}

/// `pmaps ARGS` as root with no capability at all (`setpriv --bounding-set -all`): root
/// without CAP_SYS_PTRACE, as in a container that drops it.
fn run_as_capless_root(args: &[String]) -> std::process::Output {
    let mut cmd = Command::new("setpriv");
    cmd.args(["--bounding-set", "-all", "--inh-caps", "-all", "--"])
        .arg(pmaps_bin())
        .args(args)
        .stdin(Stdio::null());
    output(cmd)
}

#[test]
fn root_without_cap_sys_ptrace_is_told_that_capability() {
    let other = Helper::spawn_as_nobody(["--anon", "64K"]);
    let pid = other.pid.to_string();
    let out = run_as_capless_root(&["-p".into(), pid.clone(), "-g".into(), "process".into()]);
    assert_exit(&out, 3);
    let why = "pmaps lacks CAP_SYS_PTRACE (a container that drops it?): grant it that capability";
    assert_eq!(
        err_lines(&out),
        [format!(
            "pmaps: partial report: 1 process denied (no permission to read their maps: {why}; \
             see README, Permissions)"
        )]
    );
    let out = run_as_capless_root(&["show".into(), pid.clone()]);
    assert_exit(&out, 3);
    assert_eq!(
        err_lines(&out)[0],
        format!("pmaps: {pid} (maphelper): permission denied reading /proc/{pid}/smaps ({why})")
    );
}

#[test]
fn root_of_a_user_namespace_is_told_so() {
    let host = Helper::spawn(["--anon", "64K"]);
    let out = Command::new("unshare")
        .args(["-Ur", "--"])
        .arg(pmaps_bin())
        .args(["-p", &host.pid.to_string(), "-g", "process"])
        .stdin(Stdio::null())
        .output()
        .expect("run unshare -Ur");
    assert_exit(&out, 3);
    assert_eq!(
        err_lines(&out),
        [
            "pmaps: partial report: 1 process denied (no permission to read their maps: pmaps \
          runs in a user namespace (a container?): its capabilities do not reach processes \
          outside it; see README, Permissions)"
        ]
    );
}
