//! Checks of the test support itself (`support/`, `examples/maphelper.rs`), independent of
//! what the pmaps binary does: the fake files are byte-exact with the kernel's, the oracle
//! reads the live files right, and the helper does what its flags say.

use std::ffi::OsStr;
use std::path::Path;

use crate::support::*;

/// The path column of a maps line.
fn path_of(line: &[u8]) -> &[u8] {
    maps_line_path(line).expect("not a maps line")
}

fn one_mib_file(dir: &Path) -> std::path::PathBuf {
    synced_file(dir, "one-mib", 1 << 20)
}

#[test]
fn helper_maps_shared_file_and_dies_by_pid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = one_mib_file(dir.path());
    let helper = Helper::spawn([OsStr::new("--map-shared"), path.as_os_str()]);
    let pid = helper.pid;

    let file = path.as_os_str().as_encoded_bytes();
    assert_eq!(smaps_kb(pid, file, "Rss"), Some(1024));
    assert_eq!(smaps_kb(pid, file, "Size"), Some(1024));
    // Only mapper of synced (clean) page cache: private clean.
    assert_eq!(smaps_kb(pid, file, "Private_Clean"), Some(1024));
    let comm = std::fs::read(format!("/proc/{pid}/comm")).expect("read comm");
    assert_eq!(comm, b"maphelper\n");

    helper.kill();
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "helper {pid} still exists after kill"
    );
}

#[test]
fn fake_stat_parses_at_last_paren() {
    let fake = FakeProc::new();
    let comm: &[u8] = b"a) b (c\xff)";
    fake.process(4242).comm(comm).cmdline(b"x\0y\0").write();
    fake.process(2)
        .comm(b"kthreadd")
        .flags(PF_KTHREAD | 0x8040)
        .ppid(0)
        .write();
    fake.process(77).state(b'Z').write();
    fake.self_pid(4242);

    for (pid, want_comm, want_state) in [(4242u32, comm, b'S'), (2, b"kthreadd" as &[u8], b'S')] {
        let stat = std::fs::read(fake.root().join(format!("{pid}/stat"))).expect("read stat");
        assert_eq!(stat.last(), Some(&b'\n'));
        let open = stat.iter().position(|&c| c == b'(').expect("(");
        let close = stat.iter().rposition(|&c| c == b')').expect(")");
        assert_eq!(&stat[..open], format!("{pid} ").as_bytes());
        assert_eq!(&stat[open + 1..close], want_comm);
        let rest = std::str::from_utf8(&stat[close + 2..stat.len() - 1]).expect("ascii fields");
        let fields: Vec<&str> = rest.split(' ').collect();
        assert_eq!(fields.len() + 2, 52, "{rest}");
        // The oracle's reading of the same line.
        let oracle = stat_fields(&stat).expect("stat fields");
        assert_eq!(
            oracle,
            fields.iter().map(|f| f.as_bytes()).collect::<Vec<_>>()
        );
        assert_eq!(fields[0].as_bytes(), [want_state]);
        assert_eq!(fields[22 - 3], (1000 + pid).to_string(), "starttime");
        let flags: u64 = fields[9 - 3].parse().expect("flags");
        assert_eq!(flags & PF_KTHREAD != 0, pid == 2);
        let vsize: u64 = fields[23 - 3].parse().expect("vsize");
        assert_eq!(vsize == 0, pid == 2);
    }
    let kstat = std::fs::read_to_string(fake.root().join("2/stat")).expect("read");
    assert!(kstat.starts_with("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 1002 0 0 18446744073709551615 0 0 0 "), "{kstat}");

    let status = std::fs::read(fake.root().join("4242/status")).expect("read status");
    assert!(status.starts_with(b"Name:\ta) b (c\xff)\nUmask:\t0022\nState:\tS (sleeping)\n"));
    let status = String::from_utf8_lossy(&status);
    assert!(status.contains("\nUid:\t0\t0\t0\t0\n"));
    assert!(status.contains("\nVmSize:\t    8192 kB\n"), "{status}");
    assert!(status.contains("\nKthread:\t0\n"));
    let kstatus = std::fs::read_to_string(fake.root().join("2/status")).expect("read");
    assert!(kstatus.contains("\nKthread:\t1\n") && !kstatus.contains("VmSize"));
    let zstatus = std::fs::read_to_string(fake.root().join("77/status")).expect("read");
    assert!(zstatus.contains("\nState:\tZ (zombie)\n") && !zstatus.contains("VmSize"));

    assert_eq!(
        std::fs::read(fake.root().join("4242/cmdline")).expect("cmdline"),
        b"x\0y\0"
    );
    assert!(!fake.root().join("4242/smaps").exists());
    assert_eq!(
        std::fs::read_link(fake.root().join("self")).expect("self link"),
        Path::new("4242")
    );
}

/// Parses a real maps line and regenerates it through `map_header`.
fn regenerate(line: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(line);
    let mut it = text.split(' ');
    let range = it.next().expect("range");
    let perms = it.next().expect("perms");
    let offset = it.next().expect("offset");
    let dev = it.next().expect("dev");
    let inode = it.next().expect("inode");
    let (start, end) = range.split_once('-').expect("range has -");
    let hex = |s: &str| u64::from_str_radix(s, 16).expect("hex");
    map_header(
        hex(start),
        hex(end),
        perms,
        hex(offset),
        dev,
        inode.parse().expect("inode"),
        path_of(line),
    )
}

#[test]
fn map_header_matches_real_maps_byte_for_byte() {
    let maps = std::fs::read("/proc/self/maps").expect("read /proc/self/maps");
    let mut saw_anon = false;
    let mut saw_path = false;
    for line in maps.split_inclusive(|&c| c == b'\n') {
        let body = &line[..line.len() - 1];
        saw_anon |= path_of(body).is_empty();
        saw_path |= !path_of(body).is_empty();
        assert_eq!(
            String::from_utf8_lossy(&regenerate(body)),
            String::from_utf8_lossy(line)
        );
    }
    assert!(
        saw_anon && saw_path,
        "expected both anonymous and named mappings"
    );
    // Anonymous lines end with "<inode> " (trailing space).
    assert_eq!(
        map_header(0x1000, 0x2000, "rw-p", 0, "00:00", 0, b""),
        b"00001000-00002000 rw-p 00000000 00:00 0 \n"
    );
}

#[test]
fn smaps_record_matches_real_smaps_byte_for_byte() {
    let smaps = std::fs::read("/proc/self/smaps").expect("read /proc/self/smaps");
    let records = parse_smaps(&smaps);
    assert!(!records.is_empty());
    for record in records.iter().take(5) {
        let kv: Vec<(&str, u64)> = record
            .fields
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        let mut got = smaps_record(&record.header, &kv);
        if let Some(flags) = &record.vm_flags {
            got.extend_from_slice(flags);
            got.push(b'\n');
        }
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&record.raw)
        );
        let keys: Vec<&str> = kv.iter().map(|(k, _)| *k).collect();
        // full_smaps_record prints the same keys in the same order (this kernel has no
        // ProtectionKey line).
        let kb = SmapsKb {
            size: 1,
            rss: 2,
            pss: 3,
            shared_clean: 4,
            shared_dirty: 5,
            private_clean: 6,
            private_dirty: 7,
            swap: 8,
            swap_pss: 9,
        };
        let full = parse_smaps(&full_smaps_record(&record.header, kb));
        let full_keys: Vec<&str> = full[0].fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(full_keys, keys);
        assert!(full[0].vm_flags.is_some(), "no VmFlags line");
    }
    // The oracle's sum over records, on text of known values.
    let header =
        |start: u64, path: &[u8]| map_header(start, start + 0x2000, "r--p", 0, "fe:00", 7, path);
    let mut text = full_smaps_record(header(0x1000, b"/x"), SmapsKb::private_clean(8));
    text.extend(full_smaps_record(
        header(0x4000, b"/y"),
        SmapsKb::private_clean(4),
    ));
    text.extend(full_smaps_record(
        header(0x8000, b"/x"),
        SmapsKb::private_clean(2),
    ));
    let records = parse_smaps(&text);
    let rss_of_x: u64 = records
        .iter()
        .filter(|r| r.path == b"/x")
        .filter_map(|r| r.kb("Rss"))
        .sum();
    assert_eq!(rss_of_x, 10);
    assert_eq!(records[1].kb("THPeligible"), Some(0));
    assert_eq!(
        records.iter().map(|r| r.raw.len()).sum::<usize>(),
        text.len()
    );
}

#[test]
fn many_maps_yields_separate_mappings() {
    let helper = Helper::spawn(["--many-maps", "1000"]);
    let n = maps_count(helper.pid);
    assert!(n >= 1000, "only {n} mappings");
}

#[test]
fn helper_variants_nobody_stdin_exec() {
    // As nobody: the same PID (setpriv execs) with uid 65534.
    let nobody = Helper::spawn_as_nobody(["--comm", "nob", "--anon", "64K"]);
    let status = std::fs::read_to_string(format!("/proc/{}/status", nobody.pid)).expect("status");
    assert!(
        status.contains("\nUid:\t65534\t65534\t65534\t65534\n"),
        "{status}"
    );
    assert!(status.starts_with("Name:\tnob\n"));
    drop(nobody);

    // --wait-stdin: exits 0 once stdin is closed.
    let waiting = Helper::spawn(["--wait-stdin", "--comm", "waiter"]);
    assert!(waiting.wait_exit().success());

    // --exec-after-ms: prints ready twice (before and after the exec), same PID, new comm.
    let mut execing = Helper::spawn(["--exec-after-ms", "50", "--comm", "after-exec"]);
    let again = execing.next_line();
    assert_eq!(again, Some(format!("ready {}", execing.pid)));
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", execing.pid)).expect("comm");
    assert_eq!(comm, "after-exec\n");

    // Deleted file and non-UTF-8 comm.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = one_mib_file(dir.path());
    let h = Helper::spawn([
        os(b"--comm"),
        os(b"na\xffme"),
        os(b"--map-private"),
        path.as_os_str(),
        os(b"--delete"),
        path.as_os_str(),
        os(b"--memfd"),
        os(b"mfd:8192"),
    ]);
    let comm = std::fs::read(format!("/proc/{}/comm", h.pid)).expect("comm");
    assert_eq!(comm, b"na\xffme\n");
    let paths = maps_paths(h.pid);
    let mut deleted = path.as_os_str().as_encoded_bytes().to_vec();
    deleted.extend_from_slice(b" (deleted)");
    assert!(paths.contains(&deleted));
    assert!(paths.contains(&b"/memfd:mfd (deleted)".to_vec()));
}

#[test]
fn helper_failure_is_reported() {
    let r = std::panic::catch_unwind(|| Helper::spawn(["--map-shared", "/nonexistent/file"]));
    let err = r.expect_err("spawn must panic");
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        msg.contains("maphelper: --map-shared: /nonexistent/file"),
        "{msg}"
    );
}
