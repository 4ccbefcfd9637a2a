//! Live: the test makes a memory cgroup (in the v1 memory controller's hierarchy on a v1 or
//! hybrid host, in the unified one on a v2 host), starts a helper with known memory in it,
//! and checks the cgroup's row and its reconciled counters. It kills the helper by its PID
//! and removes the cgroup.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::*;

/// This process's memory cgroup: (its directory, its path as /proc/PID/cgroup prints it).
fn own_memory_cgroup() -> (PathBuf, String) {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").expect("read /proc/self/cgroup");
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("read mountinfo");
    let v1 = cgroup.lines().find_map(|l| {
        let mut f = l.splitn(3, ':');
        let (_, ctl, path) = (f.next()?, f.next()?, f.next()?);
        ctl.split(',')
            .any(|c| c == "memory")
            .then(|| path.to_string())
    });
    let (path, fstype) = match v1 {
        Some(p) => (p, "cgroup"),
        None => (
            cgroup
                .lines()
                .find_map(|l| l.strip_prefix("0::"))
                .expect("no cgroup of this process")
                .to_string(),
            "cgroup2",
        ),
    };
    let mount = mountinfo
        .lines()
        .find(|l| {
            let after = l.split(" - ").nth(1).unwrap_or("");
            let mut f = after.split(' ');
            f.next() == Some(fstype)
                && (fstype == "cgroup2"
                    || f.nth(1)
                        .is_some_and(|o| o.split(',').any(|x| x == "memory")))
        })
        .expect("the memory hierarchy is not mounted");
    let mount_point = mount.split(' ').nth(4).expect("mount point");
    (
        Path::new(mount_point).join(path.trim_start_matches('/')),
        path,
    )
}

/// A memory cgroup made for one test, removed when dropped (after its processes are gone).
pub(super) struct TestCgroup {
    pub(super) dir: PathBuf,
    /// As `/proc/PID/cgroup` names it.
    pub(super) path: String,
}

impl TestCgroup {
    /// `pmaps-test-<our PID>-<tag>` under this process's memory cgroup.
    pub(super) fn new(tag: &str) -> TestCgroup {
        let (parent, parent_path) = own_memory_cgroup();
        let name = format!("pmaps-test-{}-{tag}", std::process::id());
        let dir = parent.join(&name);
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        let path = format!("{}/{name}", parent_path.trim_end_matches('/'));
        TestCgroup { dir, path }
    }

    /// Makes `cmd`'s child join the cgroup between fork and exec, so that every page it
    /// touches afterwards is charged there.
    pub(super) fn join_on_exec(&self, cmd: &mut Command) {
        let procs =
            CString::new(self.dir.join("cgroup.procs").as_os_str().as_bytes()).expect("path");
        // SAFETY (why unsafe): the closure only makes two system calls on memory prepared
        // before the fork (no allocation).
        unsafe {
            cmd.pre_exec(move || {
                let fd = rustix::fs::open(
                    procs.as_c_str(),
                    rustix::fs::OFlags::WRONLY,
                    rustix::fs::Mode::empty(),
                )?;
                rustix::io::write(&fd, b"0")?;
                Ok(())
            });
        }
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        for _ in 0..100 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

#[test]
fn a_helper_in_its_own_memory_cgroup_is_one_row_reconciled_with_the_charge() {
    let cg = TestCgroup::new("row");
    // Its own copies of its libraries: no other process maps their pages, so its USS does
    // not move when others start or exit (a page of a shared libc stops being private).
    let libs = PrivateLibs::new();
    let helper = libs.spawn_with(["--comm", "cg-helper", "--anon", "16M"], |cmd| {
        cg.join_on_exec(cmd)
    });
    let pid = helper.pid.to_string();
    let out = run_pmaps(["-g", "cgroup", "-p", &pid, "-f", "json"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let rows = doc["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{doc}");
    let row = &rows[0];
    assert_eq!(row["cgroup"], cg.path.as_str());
    assert_eq!(row["processes"], 1);
    // The row holds the helper's own memory (USS from its rollup: its private pages), and
    // its anonymous
    // memory is charged to the cgroup: the charge holds at least the 16 MiB it wrote.
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).expect("rollup");
    let kb = |key: &str| -> u64 {
        rollup
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{key} in {rollup}"))
    };
    let uss_kb = kb("Private_Clean:") + kb("Private_Dirty:");
    assert_eq!(row["uss_bytes"].as_u64(), Some(uss_kb * 1024));
    assert!(row["pss_bytes"].as_u64().expect("pss") >= 16 << 20);
    let charge = row["charge_bytes"].as_u64().expect("charge read");
    let anon = row["charge_anon_bytes"].as_u64().expect("anon charge read");
    assert!(
        anon >= 16 << 20,
        "anon charge {anon} below the 16 MiB written"
    );
    assert!(
        anon <= (16 << 20) + (4 << 20),
        "anon charge {anon} far above 16 MiB"
    );
    assert!(charge >= anon, "charge {charge} < anon {anon}");
    // The unit view finds no systemd unit in a test cgroup.
    let out = run_pmaps(["-g", "unit", "-p", &pid, "-f", "json"]);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["rows"][0]["unit"], "-");
    kill_pid(helper.pid);
    drop(helper);
}
