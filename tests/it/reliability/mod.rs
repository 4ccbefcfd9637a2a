//! Reliability under races, missing permissions, namespaces and resource limits: what pmaps
//! reports when processes die, exec or hide while it reads them, when it runs as an
//! unprivileged user or in a user namespace, and when it meets a very large process, a low
//! file-descriptor limit or a proc tree whose files block or fail.
//!
//! Every test filters to the processes it starts (`-p`) or reads a fake proc root: a full
//! scan here is always partial (PID 1 is unreadable even for root), and nothing may depend on
//! what else runs on the machine. The one full-scan test (the churn soak) only checks
//! invariants that hold on any machine.

mod permissions;
mod pid_reuse;
mod proc_files;
mod races;
mod scale;

use crate::support::{PF_KTHREAD, stat_fields};

/// A live kernel thread's PID (the smallest: kthreadd, 2, on a normal system).
fn kernel_thread_pid() -> u32 {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("list /proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // fields[0] is field 3 (state): flags (field 9) is fields[6].
        let flags: u64 = stat_fields(&stat)
            .and_then(|fields| fields.get(6).copied())
            .and_then(|f| std::str::from_utf8(f).ok())
            .and_then(|f| f.parse().ok())
            .unwrap_or(0);
        if flags & PF_KTHREAD != 0 {
            found.push(pid);
        }
    }
    found.into_iter().min().expect(
        "no kernel thread is visible in /proc (a PID namespace?): these tests need the host's",
    )
}
