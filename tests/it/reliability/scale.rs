//! Scale and resources: a process at vm.max_map_count read exactly in bounded memory, and
//! 300 processes read under a file-descriptor limit of 64.

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::process::{Command, Output, Stdio};

use crate::support::*;

/// Runs pmaps with `args` and returns its output and its peak RSS in KiB, from the
/// `ru_maxrss` that wait4(2) reports.
///
/// Not as a direct child: a child started with vfork (or fork) inherits the parent's peak
/// RSS in `ru_maxrss` at exec, and this test process is large. A small `sh` forks pmaps in
/// the background and exits; pmaps is then adopted by this process (a child subreaper) and
/// reaped here with wait4.
fn run_with_max_rss(args: &[&str]) -> (Output, u64) {
    // SAFETY: plain prctl on this process.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(
        rc,
        0,
        "PR_SET_CHILD_SUBREAPER: {}",
        std::io::Error::last_os_error()
    );
    let out_file = tempfile::NamedTempFile::new().expect("tempfile");
    let err_file = tempfile::NamedTempFile::new().expect("tempfile");
    let launcher = Command::new("sh")
        .args([
            "-c",
            r#"out=$1 err=$2; shift 2; "$@" >"$out" 2>"$err" </dev/null & echo $!"#,
            "sh",
        ])
        .arg(out_file.path())
        .arg(err_file.path())
        .arg(pmaps_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run sh");
    assert!(launcher.status.success(), "{}", text(&launcher.stderr));
    let pid: libc::pid_t = text(&launcher.stdout).trim().parse().expect("pmaps pid");
    let mut status = 0;
    // SAFETY: rusage is plain old data; wait4 fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers to locals; `pid` is pmaps, adopted by this process.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid, "wait4: {}", std::io::Error::last_os_error());
    // Every test shares this process now: stop adopting orphans once pmaps is reaped, so the
    // other tests' orphaned grandchildren go to init as usual.
    // SAFETY: plain prctl on this process.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) };
    let output = Output {
        status: std::os::unix::process::ExitStatusExt::from_raw(status),
        stdout: std::fs::read(out_file.path()).expect("read stdout"),
        stderr: std::fs::read(err_file.path()).expect("read stderr"),
    };
    (output, u64::try_from(usage.ru_maxrss).unwrap_or(0))
}

/// One process at vm.max_map_count (65,530 mappings): every mapping is counted, and pmaps
/// streams its 47 MB smaps through a bounded buffer: its peak RSS stays under 32 MiB, less
/// than the smaps file itself.
#[test]
fn a_process_at_max_map_count_is_read_exactly_in_bounded_memory() {
    maphelper_bin();
    let max: usize = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(65_530);
    let target = max.min(65_530);
    let base = Helper::spawn(["--anon", "4K"]);
    let base_count = maps_count(base.pid);
    base.kill();
    // `--many-maps N` adds N mappings to the helper's own; a few spare for merges.
    let n = target - base_count - 4;
    let helper = Helper::spawn(["--many-maps".to_string(), n.to_string()]);
    let expected = maps_count(helper.pid) as u64;
    assert!(expected as usize > target - 10, "only {expected} mappings");
    let smaps_size = std::fs::read(format!("/proc/{}/smaps", helper.pid))
        .expect("read smaps")
        .len();

    for args in [
        &["-g", "process", "--source", "smaps"][..],
        &["-g", "file"],
        &["-g", "kind"],
        &["-g", "process", "--vsz"],
    ] {
        let pid = helper.pid.to_string();
        let (out, max_rss_kib) =
            run_with_max_rss(&[&["-p", &pid, "-f", "json"][..], args].concat());
        assert_eq!(code(&out), 0, "{args:?}: {}", text(&out.stderr));
        let doc = parse_json(&out);
        assert_eq!(only_outcome(&doc), "read");
        assert_eq!(
            doc["meta"]["coverage"]["mappings"].as_u64(),
            Some(expected),
            "{args:?}"
        );
        assert_eq!(
            doc["totals"]["mappings"].as_u64(),
            Some(expected),
            "{args:?}"
        );
        assert!(
            max_rss_kib < 32 * 1024,
            "{args:?}: pmaps peaked at {max_rss_kib} KiB reading a {smaps_size}-byte smaps"
        );
    }
}

/// With `ulimit -n 64` and 300 processes, every process is read, even when asked for more
/// worker threads than the descriptor limit allows. (Without the cap on workers, `-j 200`
/// failed about 50 of them with EMFILE.)
#[test]
fn fd_limit_64_with_300_processes_reads_every_one() {
    maphelper_bin();
    raise_own_fd_limit(4096);
    // 1,000 mappings each: reads long enough that many workers hold descriptors at once.
    let helpers: Vec<Helper> = (0..300)
        .map(|_| Helper::spawn(["--many-maps", "1000"]))
        .collect();
    let pids: Vec<u32> = helpers.iter().map(|h| h.pid).collect();
    let list = pid_list(pids.iter().copied());
    for extra in [
        &["-g", "process"][..],
        &["-g", "process", "-j", "200"],
        &["-g", "file", "-j", "64"],
    ] {
        let mut cmd = pmaps_cmd();
        cmd.args(["-p", &list, "-f", "json"]).args(extra);
        // SAFETY: setrlimit is async-signal-safe; it runs in the child before exec.
        unsafe {
            cmd.pre_exec(|| {
                let lim = libc::rlimit {
                    rlim_cur: 64,
                    rlim_max: 64,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let out = cmd.output().expect("run pmaps");
        let err = text(&out.stderr);
        assert_eq!(code(&out), 0, "{extra:?}: {err}");
        let doc = parse_json(&out);
        assert_eq!(outcomes(&doc)["read"], 300, "{extra:?}: {err}");
        if extra == ["-g", "process"] {
            let got: BTreeSet<u64> = doc["rows"]
                .as_array()
                .expect("rows")
                .iter()
                .filter_map(|r| r["pid"].as_u64())
                .collect();
            let want: BTreeSet<u64> = pids.iter().map(|&p| u64::from(p)).collect();
            assert_eq!(got, want);
        }
    }
    drop(helpers);
}
