//! PID reuse: one process's name is never paired with another process's memory, on the live
//! system (inside a PID namespace, where a PID can be reused on demand) and on a fake tree
//! whose PID directory is swapped mid-read.
//!
//! Both drive the library's reader directly, to act between its steps.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::internals::{Outcome, ProcInfo, ProcRoot, ReadResult, Reader, Source};
use crate::support::*;

/// PID reuse. pmaps opens `/proc/PID` as a directory fd first and reads every file through it:
/// once that process is gone, the fd answers ESRCH even if the PID now belongs to another
/// process, so one process's name can never be paired with another's maps. A PID reused
/// between the listing and the read is simply read as the new process, name and maps alike.
///
/// To reuse a PID on demand, the check runs inside a new PID namespace (`unshare -pf
/// --mount-proc`), where `ns_last_pid` decides the next PID: this test re-runs this test
/// binary there, with [`pid_reuse_inside_a_pid_namespace`].
#[test]
fn pid_reuse_never_pairs_one_name_with_another_memory() {
    maphelper_bin();
    let exe = std::env::current_exe().expect("current_exe");
    let out = Command::new("unshare")
        .args(["-pf", "--mount-proc", "--"])
        .arg(&exe)
        .args([
            "--exact",
            &inner_test_name(),
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PMAPS_TEST_IN_PID_NS", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run unshare");
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed") && stdout.contains("PID-REUSE-OK"),
        "the check inside the PID namespace failed ({:?}):\n{stdout}\n{stderr}",
        out.status
    );
}

/// The full name of [`pid_reuse_inside_a_pid_namespace`] in this test binary: its module path
/// without the crate's name.
fn inner_test_name() -> String {
    let module = module_path!();
    let module = module
        .split_once("::")
        .map_or(module, |(_crate, rest)| rest);
    format!("{module}::pid_reuse_inside_a_pid_namespace")
}

/// Run by [`pid_reuse_never_pairs_one_name_with_another_memory`] inside a new PID namespace.
#[test]
#[ignore = "run inside a PID namespace by pid_reuse_never_pairs_one_name_with_another_memory"]
fn pid_reuse_inside_a_pid_namespace() {
    use std::cell::RefCell;

    assert_eq!(
        std::env::var("PMAPS_TEST_IN_PID_NS").as_deref(),
        Ok("1"),
        "run only inside the PID namespace"
    );
    assert_eq!(std::process::id(), 1, "not the init of a new PID namespace");
    let dir = tempfile::tempdir().expect("tempdir");
    let old_file = dir.path().join("old-memory");
    let new_file = dir.path().join("new-memory");
    std::fs::write(&old_file, vec![1u8; 8192]).expect("write");
    std::fs::write(&new_file, vec![2u8; 8192]).expect("write");
    let old = Helper::spawn([
        "--comm".as_ref(),
        "old-name".as_ref(),
        "--map-shared".as_ref(),
        old_file.as_os_str(),
    ]);
    let pid = old.pid;
    let old = RefCell::new(Some(old));
    let new: RefCell<Option<Helper>> = RefCell::new(None);
    // Between the facts (stat, status, cmdline) and the maps: the old process dies and a new
    // one takes its PID.
    let replace = |_: &ProcInfo| {
        if let Some(h) = old.borrow_mut().take() {
            h.kill();
            std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string())
                .expect("write ns_last_pid");
            let h = Helper::spawn([
                "--comm".as_ref(),
                "new-name".as_ref(),
                "--map-shared".as_ref(),
                new_file.as_os_str(),
            ]);
            assert_eq!(h.pid, pid, "the PID was not reused");
            *new.borrow_mut() = Some(h);
        }
        true
    };
    let proc_root = ProcRoot::new(Path::new("/proc"));
    let mut reader = Reader::new(&proc_root, Source::Smaps);
    let mut paths: Vec<Vec<u8>> = Vec::new();
    let result = reader.read_process(pid, &replace, &mut |h, _| paths.push(h.path.to_vec()));
    match result {
        ReadResult::Done(info, outcome) => {
            assert_eq!(info.comm, b"old-name");
            assert_eq!(
                outcome,
                Outcome::Vanished,
                "read through the old process's fd"
            );
        }
        ReadResult::Filtered(_) => panic!("filtered"),
    }
    assert!(
        paths.is_empty(),
        "the new process's maps were streamed under the old name: {} mappings",
        paths.len()
    );
    // Listed as the old process, read after the reuse: the new process, name and maps.
    let mut paths: Vec<Vec<u8>> = Vec::new();
    let result = reader.read_process(pid, &|_| true, &mut |h, _| paths.push(h.path.to_vec()));
    match result {
        ReadResult::Done(info, outcome) => {
            assert_eq!(info.comm, b"new-name");
            assert_eq!(outcome, Outcome::Read);
        }
        ReadResult::Filtered(_) => panic!("filtered"),
    }
    let new_bytes = new_file.as_os_str().as_encoded_bytes();
    let old_bytes = old_file.as_os_str().as_encoded_bytes();
    assert!(
        paths.iter().any(|p| p == new_bytes),
        "new file not among the maps"
    );
    assert!(
        !paths.iter().any(|p| p == old_bytes),
        "old file among the new maps"
    );
    drop(new.borrow_mut().take());
    println!("PID-REUSE-OK");
}

/// The same property on a fake tree, where a directory can be swapped at will: the directory
/// of PID 7 is replaced (renamed away, a new one put in its place) after its facts were read
/// and before its maps; the report pairs the old name with the old maps, never the new.
#[test]
fn a_replaced_pid_directory_is_read_whole_from_the_one_opened() {
    let fake = FakeProc::new();
    let old_smaps = full_smaps_record(
        map_header(0x1000, 0x3000, "r--p", 0, "fe:00", 11, b"/old/lib.so"),
        SmapsKb::private_clean(8),
    );
    let new_smaps = full_smaps_record(
        map_header(0x1000, 0x5000, "r--p", 0, "fe:00", 12, b"/new/lib.so"),
        SmapsKb::private_clean(16),
    );
    fake.process(7).comm(b"old-name").smaps(&old_smaps).write();
    let staging = FakeProc::new();
    staging
        .process(7)
        .comm(b"new-name")
        .start_time(99_999)
        .smaps(&new_smaps)
        .write();
    let swap = |_: &ProcInfo| {
        let live = fake.root().join("7");
        std::fs::rename(&live, fake.root().join("7.gone")).expect("rename away");
        std::fs::rename(staging.root().join("7"), &live).expect("rename in");
        true
    };
    let proc_root = ProcRoot::new(fake.root());
    let mut reader = Reader::new(&proc_root, Source::Smaps);
    let mut paths = Vec::new();
    let result = reader.read_process(7, &swap, &mut |h, _| paths.push(h.path.to_vec()));
    let ReadResult::Done(info, outcome) = result else {
        panic!("filtered");
    };
    assert_eq!(info.comm, b"old-name");
    assert_eq!(outcome, Outcome::Read);
    assert_eq!(paths, vec![b"/old/lib.so".to_vec()]);
}
