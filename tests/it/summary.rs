//! The whole machine at a glance (issue 15): `pmaps summary` over fake and live proc roots,
//! percentage columns and `--columns`, the `-f svg` treemap (rendered by `rsvg-convert` and
//! measured), and `pmaps generate` (man pages rendered by `man`, completions checked against
//! the command definition).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::*;
use clap::CommandFactory;
use serde_json::Value;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

// ---------------------------------------------------------------------------------------
// Support: a fake machine.

/// `/proc/meminfo` of a 4 GiB machine with 1 GiB of swap, in the kernel's layout (values in
/// kB): 2 GiB free, 64 MiB buffers, 1 GiB cached, 512 MiB AnonPages, 256 MiB Mapped, slab
/// 96 + 32 MiB, 8 MiB kernel stacks, 16 MiB page tables, 24 MiB vmalloc, 2 MiB per-CPU,
/// 64 MiB hugetlb, 256 MiB of swap used.
const MEMINFO: &str = "\
MemTotal:        4194304 kB
MemFree:         2097152 kB
MemAvailable:    3145728 kB
Buffers:           65536 kB
Cached:          1048576 kB
SwapCached:            0 kB
Active:           700000 kB
Inactive:         900000 kB
Active(anon):      10000 kB
Inactive(anon):   514288 kB
Active(file):     690000 kB
Inactive(file):   385712 kB
Unevictable:           0 kB
Mlocked:               0 kB
SwapTotal:       1048576 kB
SwapFree:         786432 kB
Zswap:                 0 kB
Zswapped:              0 kB
Dirty:                 0 kB
Writeback:             0 kB
AnonPages:        524288 kB
Mapped:           262144 kB
Shmem:             32768 kB
KReclaimable:      98304 kB
Slab:             131072 kB
SReclaimable:      98304 kB
SUnreclaim:        32768 kB
KernelStack:        8192 kB
PageTables:        16384 kB
SecPageTables:         0 kB
NFS_Unstable:          0 kB
Bounce:                0 kB
WritebackTmp:          0 kB
CommitLimit:     3145728 kB
Committed_AS:    1000000 kB
VmallocTotal:   34359738367 kB
VmallocUsed:       24576 kB
VmallocChunk:          0 kB
Percpu:             2048 kB
HardwareCorrupted:     0 kB
AnonHugePages:         0 kB
ShmemHugePages:        0 kB
ShmemPmdMapped:        0 kB
FileHugePages:         0 kB
FilePmdMapped:         0 kB
HugePages_Total:      32
HugePages_Free:       32
HugePages_Rsvd:        0
HugePages_Surp:        0
Hugepagesize:       2048 kB
Hugetlb:           65536 kB
DirectMap4k:      100000 kB
DirectMap2M:     4094304 kB
";

/// An `smaps_rollup` (Linux 6.x layout) with PSS split into anonymous, file and shmem.
fn rollup(anon_kb: u64, file_kb: u64, shmem_kb: u64, swap_pss_kb: u64) -> Vec<u8> {
    let pss = anon_kb + file_kb + shmem_kb;
    let header = map_header(
        0x5600_0000_0000,
        0x7ffc_0000_0000,
        "---p",
        0,
        "00:00",
        0,
        b"[rollup]",
    );
    smaps_record(
        header,
        &[
            ("Rss", pss + 1000),
            ("Pss", pss),
            ("Pss_Dirty", anon_kb),
            ("Pss_Anon", anon_kb),
            ("Pss_File", file_kb),
            ("Pss_Shmem", shmem_kb),
            ("Shared_Clean", 1000),
            ("Shared_Dirty", 0),
            ("Private_Clean", file_kb),
            ("Private_Dirty", anon_kb + shmem_kb),
            ("Referenced", pss),
            ("Anonymous", anon_kb),
            ("KSM", 0),
            ("LazyFree", 0),
            ("AnonHugePages", 0),
            ("ShmemPmdMapped", 0),
            ("FilePmdMapped", 0),
            ("Shared_Hugetlb", 0),
            ("Private_Hugetlb", 0),
            ("Swap", swap_pss_kb),
            ("SwapPss", swap_pss_kb),
            ("Locked", 0),
        ],
    )
}

/// The fake machine: `web` (300 MiB anon, 90 file, 10 shmem; 128 MiB swapped) and `db`
/// (200 / 140 / 10; 64 MiB swapped) read; PID 102 whose rollup is malformed (an error,
/// VmRSS 2 MiB by its status); a kernel thread; pmaps itself as PID 999 (VmRSS 1 MiB).
fn fake_machine(meminfo: Option<&str>) -> FakeProc {
    let fp = FakeProc::new();
    if let Some(text) = meminfo {
        std::fs::write(fp.root().join("meminfo"), text).expect("write meminfo");
    }
    std::fs::create_dir_all(fp.root().join("sys/kernel")).expect("sys/kernel");
    std::fs::write(fp.root().join("sys/kernel/hostname"), "fakehost\n").expect("hostname");
    fp.process(100)
        .comm(b"web")
        .cmdline(b"web\0--port\08080\0")
        .smaps_rollup(&rollup(300 * 1024, 90 * 1024, 10 * 1024, 128 * 1024))
        .write();
    fp.process(101)
        .comm(b"db")
        .uid(65534)
        .smaps_rollup(&rollup(200 * 1024, 140 * 1024, 10 * 1024, 64 * 1024))
        .write();
    fp.process(102)
        .comm(b"broken")
        .smaps_rollup(b"Pss: 12 kB\n")
        .write();
    fp.process(2).comm(b"kthreadd").flags(PF_KTHREAD).write();
    fp.process(999).comm(b"pmaps").vsize(4 * MIB).write();
    fp.self_pid(999);
    fp
}

fn root_arg(fp: &FakeProc) -> String {
    fp.root().display().to_string()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("output is UTF-8")
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs pmaps and asserts its exit status.
fn run_expect<I, S>(code: i32, args: I) -> std::process::Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().into()).collect();
    let out = run_pmaps(&args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(code), "pmaps {args:?}: {err}");
    out
}

/// Runs pmaps on a fake tree (`--proc-root`) and asserts its exit status.
fn run_on(fp: &FakeProc, code: i32, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--proc-root", fp.root().to_str().expect("UTF-8 temp path")];
    all.extend_from_slice(args);
    run_expect(code, all)
}

/// Asserts that pmaps said `needle` on stderr.
fn assert_said(out: &std::process::Output, needle: &str) {
    let err = stderr(out);
    assert!(err.contains(needle), "{needle:?} not in stderr: {err}");
}

/// A figure of this machine's `/proc/meminfo`, in kB.
fn meminfo_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .expect("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in /proc/meminfo"))
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(out)))
}

/// The summary lines one level under `ram`: a partition of `MemTotal`.
const RAM_PARTS: [&str; 7] = [
    "user_space",
    "user_space.unread",
    "page_cache",
    "kernel",
    "hugetlb",
    "free",
    "other",
];

/// `{item: (size_bytes, pct)}` of a summary document.
fn summary_rows(doc: &Value) -> BTreeMap<String, (Option<u64>, Option<f64>)> {
    doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["item"].as_str().expect("item").to_string(),
                (r["size_bytes"].as_u64(), r["pct"].as_f64()),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// pmaps summary

/// The table of the fake machine, every figure worked out by hand from the inputs above:
/// user space 750 MiB of 4096 (18.3 %); AnonPages + Mapped = 768 MiB, so 18 MiB unseen;
/// page cache 64 + 1024 − 256 = 832 MiB; kernel 128 + 16 + 8 + 24 + 2 = 178 MiB; hugetlb 64;
/// free 2048; the rest 4096 − 3890 = 206 MiB. Swap: 192 MiB SwapPss of 256 used.
const FAKE_SUMMARY: &str = "\
What                                                 Size      %
--------------------------------------------- ------------ ------
RAM (MemTotal)                                4,096.0 MiB  100.0
  user space: PSS of 2 processes                750.0 MiB   18.3
    anonymous                                   500.0 MiB   12.2
    file-backed                                 230.0 MiB    5.6
    shmem/tmpfs                                  20.0 MiB    0.5
  user space the scan did not see                18.0 MiB    0.4
  page cache, not mapped                        832.0 MiB   20.3
  kernel                                        178.0 MiB    4.3
    slab, reclaimable                            96.0 MiB    2.3
    slab, unreclaimable                          32.0 MiB    0.8
    page tables                                  16.0 MiB    0.4
    kernel stacks                               8,192 KiB    0.2
    vmalloc                                      24.0 MiB    0.6
    per-CPU                                     2,048 KiB   <0.1
  hugetlb pools                                  64.0 MiB    1.6
  free                                        2,048.0 MiB   50.0
  other, not itemised                           206.0 MiB    5.0

swap (SwapTotal)                              1,024.0 MiB  100.0
  used: SwapPss of 2 processes                  192.0 MiB   18.8
  used otherwise (shmem, unread, swap cache)     64.0 MiB    6.3
  free                                          768.0 MiB   75.0

check: the scan's PSS (2 processes)             750.0 MiB   18.3
against meminfo: AnonPages + Mapped             768.0 MiB   18.8
  meminfo counts more                            18.0 MiB    0.4
    1 process not read: RSS                     2,048 KiB   <0.1
    pmaps itself, left out: RSS                 1,024 KiB   <0.1
    PSS rounding, at most                           2 KiB   <0.1
    user space grew during the scan                     0      0
";

#[test]
fn summary_of_a_fake_machine_is_exact_and_adds_up_to_memtotal() {
    let fp = fake_machine(Some(MEMINFO));
    let out = run_pmaps(["--proc-root", &root_arg(&fp), "summary"]);
    // PID 102 is an error: the summary is partial.
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let text = stdout(&out);
    let (table, coverage) = text.rsplit_once('\n').map_or((&text[..], ""), |_| {
        let body = text.trim_end_matches('\n');
        body.rsplit_once('\n').expect("a coverage line")
    });
    assert_eq!(format!("{table}\n"), FAKE_SUMMARY, "\n{text}");
    assert!(
        coverage.starts_with(
            "4 processes: 2 read, 1 kernel thread, 1 error; totals from smaps_rollup; "
        ),
        "{coverage}"
    );
    assert_said(&out, "partial report: 1 process error");
}

#[test]
fn units_put_every_summary_value_in_one_unit() {
    let fp = fake_machine(Some(MEMINFO));
    let text = stdout(&run_on(&fp, 3, &["summary", "--units", "MiB"]));
    let line = |what: &str| -> Vec<String> {
        let l = text
            .lines()
            .find(|l| l.trim_start().starts_with(what))
            .unwrap_or_else(|| panic!("no {what:?} in\n{text}"));
        l[l.find(what).unwrap() + what.len()..]
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    // The unit is in the header, not beside each value.
    assert_eq!(line("What"), ["Size", "MiB", "%"]);
    assert_eq!(line("RAM (MemTotal)"), ["4,096.0", "100.0"]);
    assert_eq!(line("kernel stacks"), ["8.0", "0.2"]);
    assert_eq!(line("per-CPU"), ["2.0", "<0.1"]);
    assert_eq!(line("PSS rounding, at most"), ["<0.1", "<0.1"]);
    // A unit per value, like the report's default.
    let text = stdout(&run_on(&fp, 3, &["summary", "--units", "auto"]));
    let kernel = text
        .lines()
        .find(|l| l.trim_start().starts_with("kernel "))
        .unwrap_or_else(|| panic!("no kernel line in\n{text}"));
    assert_eq!(
        kernel.split_whitespace().collect::<Vec<_>>(),
        ["kernel", "178M", "4.3"]
    );
    // A capture is an archive, whatever the unit.
    let out = run_pmaps(["capture", "--units", "MiB", "-o", "/dev/null"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_said(&out, "--units applies to reports, not to `pmaps capture`");
}

#[test]
fn summary_csv_and_json_carry_raw_bytes_and_the_check() {
    let fp = fake_machine(Some(MEMINFO));
    let csv = run_on(&fp, 3, &["summary", "-f", "csv"]);
    let text = stdout(&csv);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("item,size_bytes,pct"));
    let expect_csv = [
        ("ram", 4096 * MIB, "100.00"),
        ("user_space", 750 * MIB, "18.31"),
        ("user_space.anon", 500 * MIB, "12.21"),
        ("user_space.file", 230 * MIB, "5.62"),
        ("user_space.shmem", 20 * MIB, "0.49"),
        ("user_space.unread", 18 * MIB, "0.44"),
        ("page_cache", 832 * MIB, "20.31"),
        ("kernel", 178 * MIB, "4.35"),
        ("kernel.slab_reclaimable", 96 * MIB, "2.34"),
        ("kernel.slab_unreclaimable", 32 * MIB, "0.78"),
        ("kernel.page_tables", 16 * MIB, "0.39"),
        ("kernel.stacks", 8 * MIB, "0.20"),
        ("kernel.vmalloc", 24 * MIB, "0.59"),
        ("kernel.percpu", 2 * MIB, "0.05"),
        ("hugetlb", 64 * MIB, "1.56"),
        ("free", 2048 * MIB, "50.00"),
        ("other", 206 * MIB, "5.03"),
        ("swap", 1024 * MIB, "100.00"),
        ("swap.processes", 192 * MIB, "18.75"),
        ("swap.other", 64 * MIB, "6.25"),
        ("swap.free", 768 * MIB, "75.00"),
        ("check.scan", 750 * MIB, "18.31"),
        ("check.meminfo", 768 * MIB, "18.75"),
        ("check.meminfo_over_scan", 18 * MIB, "0.44"),
        ("check.unread_rss", 2 * MIB, "0.05"),
        ("check.self_rss", MIB, "0.02"),
        ("check.rounding_max", 2 * KIB, "0.00"),
        ("check.meminfo_grew", 0, "0.00"),
    ];
    let rows: Vec<&str> = lines.collect();
    let want: Vec<String> = expect_csv
        .iter()
        .map(|(i, b, p)| format!("{i},{b},{p}"))
        .collect();
    assert_eq!(rows, want);

    let json = run_on(&fp, 3, &["summary", "-f", "json"]);
    let doc = json_of(&json);
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["meta"]["view"], "summary");
    assert_eq!(doc["meta"]["host"], "fakehost");
    assert_eq!(doc["meta"]["coverage"]["outcomes"]["error"], 1);
    assert_eq!(doc["meta"]["coverage"]["complete"], false);
    assert_eq!(doc["percent_of"]["ram_bytes"], 4096 * MIB);
    assert_eq!(doc["percent_of"]["swap_bytes"], 1024 * MIB);
    let rows = summary_rows(&doc);
    for (item, bytes, pct) in &expect_csv[..21] {
        let (b, p) = rows[*item];
        assert_eq!(b, Some(*bytes), "{item}");
        assert_eq!(p, Some(pct.parse::<f64>().unwrap()), "{item}");
    }
    // The RAM lines one level down add up to MemTotal, the swap lines to SwapTotal.
    let ram: u64 = RAM_PARTS.iter().map(|i| rows[*i].0.unwrap()).sum();
    assert_eq!(ram, 4096 * MIB);
    let check = &doc["check"];
    assert_eq!(check["scan_pss_bytes"], 750 * MIB);
    assert_eq!(check["meminfo_user_bytes"], 768 * MIB);
    assert_eq!(check["difference_bytes"], 18 * MIB);
    assert_eq!(check["processes_read"], 2);
    assert_eq!(check["unread_processes"], 1);
    assert_eq!(check["unread_rss_bytes"], 2 * MIB);
    assert_eq!(check["unread_rss_unknown"], 0);
    assert_eq!(check["self_rss_bytes"], MIB);
    assert_eq!(check["rounding_max_bytes"], 2 * KIB);
    // The fake machine stands still: meminfo read after the scan is the same.
    assert_eq!(check["meminfo_drift_bytes"], 0);
    assert_eq!(doc["meminfo"]["total"], 4096 * MIB);
    assert_eq!(doc["meminfo"]["percpu"], 2 * MIB);
    assert_eq!(doc["meminfo"]["hugetlb"], 64 * MIB);
}

#[test]
fn summary_without_swap_or_split_says_unknown_not_zero() {
    // No swap at all, and a kernel older than 5.3 (no Pss_Anon/File/Shmem in the rollup).
    let meminfo = MEMINFO
        .replace("SwapTotal:       1048576 kB", "SwapTotal:             0 kB")
        .replace("SwapFree:         786432 kB", "SwapFree:              0 kB");
    let fp = FakeProc::new();
    std::fs::write(fp.root().join("meminfo"), &meminfo).unwrap();
    let old = smaps_record(
        map_header(0x1000, 0x2000, "---p", 0, "00:00", 0, b"[rollup]"),
        &[
            ("Rss", 2048),
            ("Pss", 1024),
            ("Private_Dirty", 1024),
            ("Swap", 0),
        ],
    );
    fp.process(300).smaps_rollup(&old).write();
    let out = run_on(&fp, 0, &["summary", "-f", "json"]);
    let rows = summary_rows(&json_of(&out));
    assert_eq!(rows["user_space"].0, Some(MIB));
    assert_eq!(rows["user_space.anon"], (None, None));
    assert_eq!(rows["swap"], (Some(0), None));
    assert_eq!(rows["swap.processes"], (None, None));
    let table = run_pmaps(["--proc-root", &root_arg(&fp), "summary"]);
    let text = stdout(&table);
    let line = |label: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no {label} in\n{text}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(line("anonymous"), ["anonymous", "-", "-"]);
    assert_eq!(line("swap (SwapTotal)"), ["swap", "(SwapTotal)", "0", "-"]);
}

#[test]
fn summary_without_a_readable_meminfo_fails_in_one_line() {
    let missing = fake_machine(None);
    let out = run_pmaps(["--proc-root", &root_arg(&missing), "summary"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(out.stdout, b"");
    let err = stderr(&out);
    assert!(
        err.starts_with("pmaps: error: cannot read ") && err.contains("meminfo"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    // Garbage, a hostile line (a key the crate would slice inside a UTF-8 character, a value
    // that overflows) and a FIFO: errors, never a panic or a hang.
    for bad in [
        &b"\xff\xfe garbage\n"[..],
        "\u{e9}: 5\nMemTotal: 99999999999999999999 kB\n".as_bytes(),
        b"MemTotal: 5 PB\n",
    ] {
        let fp = fake_machine(None);
        std::fs::write(fp.root().join("meminfo"), bad).unwrap();
        let out = run_pmaps(["--proc-root", &root_arg(&fp), "summary"]);
        assert_eq!(out.status.code(), Some(1), "{bad:?}: {}", stderr(&out));
        assert_said(&out, "meminfo");
    }
    let fifo = fake_machine(None);
    let path = fifo.root().join("meminfo");
    let made = Command::new("mkfifo").arg(&path).status().expect("mkfifo");
    assert!(made.success());
    let out = Command::new("timeout")
        .args([
            "20",
            pmaps_bin().to_str().unwrap(),
            "--proc-root",
            &root_arg(&fifo),
            "summary",
        ])
        .output()
        .expect("run pmaps");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn summary_takes_no_report_option_and_has_no_picture() {
    let fp = fake_machine(Some(MEMINFO));
    for args in [
        &["-g", "process", "summary"][..],
        &["--columns", "pss", "summary"],
        &["summary", "-f", "svg"],
    ] {
        let mut all = vec!["--proc-root", fp.root().to_str().unwrap()];
        all.extend_from_slice(args);
        let out = run_pmaps(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_said(&out, "not to `pmaps summary`");
    }
}

/// A live run: the lines add up to the machine's MemTotal and SwapTotal, the split adds up to
/// the user space PSS within the rollup's rounding, a helper's 32 MiB of anonymous memory is
/// in it, and the processes not read are the coverage's.
#[test]
fn summary_of_this_machine_adds_up() {
    let helper = Helper::spawn(["--anon", "32M"]);
    let out = run_pmaps(["summary", "-f", "json"]);
    assert!(matches!(out.status.code(), Some(0 | 3)), "{}", stderr(&out));
    let doc = json_of(&out);
    let rows = summary_rows(&doc);
    let b = |item: &str| rows[item].0.unwrap_or_else(|| panic!("{item} unknown"));
    assert_eq!(b("ram"), meminfo_kb("MemTotal") * KIB);
    assert_eq!(b("swap"), meminfo_kb("SwapTotal") * KIB);
    let sum: u64 = RAM_PARTS.iter().map(|i| b(i)).sum();
    // Equal unless the kernel's counters overlap (then `other` is 0 and the sum is above).
    assert!(
        sum == b("ram") || (b("other") == 0 && sum > b("ram")),
        "{rows:?}"
    );
    let swap: u64 = ["swap.processes", "swap.other", "swap.free"]
        .iter()
        .map(|i| b(i))
        .sum();
    assert!(swap == b("swap") || b("swap.other") == 0, "{rows:?}");
    // Each process's rollup truncates Pss, Pss_Anon, Pss_File and Pss_Shmem apart.
    let split = b("user_space.anon") + b("user_space.file") + b("user_space.shmem");
    let read = doc["check"]["processes_read"].as_u64().unwrap();
    assert!(
        split <= b("user_space") && b("user_space") - split <= 3 * KIB * read,
        "{rows:?}"
    );
    assert!(
        b("user_space.anon") >= 32 * MIB,
        "the helper's 32 MiB: {rows:?}"
    );
    let outcomes = &doc["meta"]["coverage"]["outcomes"];
    let unread = ["denied", "incomplete", "error"]
        .iter()
        .map(|k| outcomes[k].as_u64().unwrap())
        .sum::<u64>();
    assert_eq!(doc["check"]["unread_processes"].as_u64(), Some(unread));
    let complete = doc["meta"]["coverage"]["complete"].as_bool().unwrap();
    assert_eq!(out.status.code() == Some(0), complete);
    assert!(unread == 0 || !complete);
    assert!(doc["check"]["self_rss_bytes"].as_u64().unwrap() > 0);
    drop(helper);
}

// ---------------------------------------------------------------------------------------
// Percentages and --columns

#[test]
fn columns_choose_and_order_the_view_in_every_format() {
    let fp = fake_machine(Some(MEMINFO));
    let base = ["--proc-root", fp.root().to_str().unwrap(), "-g", "process"];
    let cols = ["--columns", "pss_pct,pid,pss,swap_pss_pct"];
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(&cols);
        args.extend_from_slice(extra);
        let out = run_pmaps(&args);
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        out
    };
    // web: 400 MiB of 4096 = 9.77 %, SwapPss 128 of 1024 = 12.5 %; db: 350 MiB, 64 MiB.
    assert_eq!(
        stdout(&run(&["-f", "csv"])),
        "pss_pct,pid,pss_bytes,swap_pss_pct\r\n\
         9.77,100,419430400,12.50\r\n\
         8.54,101,367001600,6.25\r\n"
    );
    let table = stdout(&run(&["-f", "table"]));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["PSS%", "PID", "PSS", "SwapPSS%"]
    );
    // Each byte cell in its own unit (400 MiB, 350 MiB).
    assert_eq!(
        lines[2].split_whitespace().collect::<Vec<_>>(),
        ["9.8", "100", "400M", "12.5"]
    );
    assert_eq!(
        lines[3].split_whitespace().collect::<Vec<_>>(),
        ["8.5", "101", "350M", "6.3"]
    );
    // The totals row is labelled in the first column it leaves empty (PID here).
    assert_eq!(
        lines[4].split_whitespace().collect::<Vec<_>>(),
        ["18.3", "TOTAL", "750M", "18.8"]
    );
    // With one unit for the table, it is in the header and percentages are unchanged.
    let table = stdout(&run(&["--units", "MiB"]));
    let words = |l: &str| l.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let lines: Vec<Vec<String>> = table.lines().map(words).collect();
    assert_eq!(lines[0], ["PSS%", "PID", "PSS", "MiB", "SwapPSS%"]);
    assert_eq!(lines[2], ["9.8", "100", "400.0", "12.5"]);
    assert_eq!(lines[3], ["8.5", "101", "350.0", "6.3"]);
    assert_eq!(lines[4], ["18.3", "TOTAL", "750.0", "18.8"]);
    let doc = json_of(&run(&["-f", "json"]));
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        keys(&doc["rows"][0]),
        ["pss_pct", "pid", "pss_bytes", "swap_pss_pct"]
    );
    assert_eq!(
        keys(&doc["totals"]),
        ["pss_pct", "pss_bytes", "swap_pss_pct"]
    );
    assert_eq!(doc["rows"][0]["pss_pct"], 9.77);
    assert_eq!(doc["rows"][1]["swap_pss_pct"], 6.25);
    assert_eq!(doc["meta"]["percent_of"]["ram_bytes"], 4096 * MIB);
    assert_eq!(doc["meta"]["percent_of"]["swap_bytes"], 1024 * MIB);
}

#[test]
fn default_views_keep_their_columns_and_have_no_percent_meta() {
    let fp = fake_machine(Some(MEMINFO));
    let out = run_pmaps([
        "--proc-root",
        fp.root().to_str().unwrap(),
        "-g",
        "user",
        "-f",
        "json",
    ]);
    let doc = json_of(&out);
    let keys: Vec<String> = doc["rows"][0]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        keys,
        [
            "user",
            "processes",
            "mappings",
            "size_bytes",
            "rss_bytes",
            "pss_bytes",
            "uss_bytes",
            "shared_bytes",
            "swap_bytes",
            "swap_pss_bytes"
        ]
    );
    assert!(doc["meta"].get("percent_of").is_none());
}

#[test]
fn unknown_columns_are_usage_errors_that_list_the_valid_ones() {
    let fp = fake_machine(Some(MEMINFO));
    let root = fp.root().to_str().unwrap();
    let out = run_pmaps(["--proc-root", root, "--columns", "pss,nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert_said(&out, "rss_pct, pss_pct, uss_pct");
    // A column of another group-by: the error lists this view's columns.
    let out = run_pmaps(["--proc-root", root, "-g", "user", "--columns", "user,path"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("--columns path: no such column when grouping by user; one of: user, processes, mappings"),
        "{err}"
    );
    assert!(!err.contains("kind,"), "{err}");
}

#[test]
fn percentages_without_meminfo_are_unknown_with_a_note() {
    let fp = fake_machine(None);
    let out = run_pmaps([
        "--proc-root",
        fp.root().to_str().unwrap(),
        "-g",
        "process",
        "--columns",
        "pid,pss_pct",
        "-f",
        "csv",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(stdout(&out), "pid,pss_pct\r\n100,\r\n101,\r\n");
    assert_said(&out, "percentages unknown: cannot read");
}

#[test]
fn file_process_columns_reordered_keep_processes_under_their_file() {
    let fp = FakeProc::new();
    std::fs::write(fp.root().join("meminfo"), MEMINFO).unwrap();
    let lib = map_header(
        0x7f00_0000_0000,
        0x7f00_0040_0000,
        "r--s",
        0,
        "fe:00",
        42,
        b"/lib/x.so",
    );
    for pid in [10, 11] {
        fp.process(pid)
            .smaps(&full_smaps_record(
                &lib,
                SmapsKb {
                    size: 4096,
                    rss: 4096,
                    pss: 2048,
                    shared_clean: 4096,
                    shared_dirty: 0,
                    private_clean: 0,
                    private_dirty: 0,
                    swap: 0,
                    swap_pss: 0,
                },
            ))
            .write();
    }
    let out = run_on(
        &fp,
        0,
        &["-g", "file,process", "--columns", "path,pid,pss,pss_pct"],
    );
    let text = stdout(&out);
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    // 4 MiB of 4 GiB is 0.1 %; each process's 2 MiB (0.05 %) shows as `<0.1`.
    assert_eq!(rows[0], ["Mapping", "PID", "PSS", "PSS%"]);
    assert_eq!(rows[2], ["/lib/x.so", "4.0M", "0.1"]);
    assert_eq!(rows[3], ["10", "2.0M", "<0.1"]);
    assert_eq!(rows[4], ["11", "2.0M", "<0.1"]);
    assert_eq!(rows[5], ["TOTAL", "4.0M", "0.1"]);
    // In KiB, the unit of the whole table, named in its header.
    let out = run_on(
        &fp,
        0,
        &[
            "-g",
            "file,process",
            "--columns",
            "path,pid,pss,pss_pct",
            "--units",
            "KiB",
        ],
    );
    let text = stdout(&out);
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["Mapping", "PID", "PSS", "KiB", "PSS%"]);
    assert_eq!(rows[2], ["/lib/x.so", "4,096", "0.1"]);
    assert_eq!(rows[3], ["10", "2,048", "<0.1"]);
    assert_eq!(rows[4], ["11", "2,048", "<0.1"]);
    assert_eq!(rows[5], ["TOTAL", "4,096", "0.1"]);
}

/// Live, exact: a helper's PSS share is its PSS over this machine's MemTotal.
#[test]
fn a_live_processs_pss_pct_is_its_pss_over_memtotal() {
    let helper = Helper::spawn(["--anon", "16M"]);
    let pid = helper.pid.to_string();
    let out = run_expect(
        0,
        [
            "-g",
            "process",
            "-p",
            &pid,
            "--columns",
            "pid,pss,pss_pct",
            "-f",
            "csv",
        ],
    );
    let rows = csv_records(&out.stdout);
    let total_kb = meminfo_kb("MemTotal");
    let pss: u64 = rows[0]["pss_bytes"].parse().unwrap();
    assert!(pss >= 16 * MIB, "{rows:?}");
    let total = u128::from(total_kb * KIB);
    let hundredths = (u128::from(pss) * 10_000 + total / 2) / total;
    assert_eq!(
        rows[0]["pss_pct"],
        format!("{}.{:02}", hundredths / 100, hundredths % 100)
    );
}

// ---------------------------------------------------------------------------------------
// -f svg

/// A fake process mapping files of these PSS sizes (kB), in one smaps.
fn fake_files(fp: &FakeProc, pid: u32, files: &[(&[u8], u64)]) {
    let mut smaps = Vec::new();
    for (i, (path, pss_kb)) in files.iter().enumerate() {
        let start = 0x7f00_0000_0000 + (i as u64) * 0x1000_0000;
        let h = map_header(
            start,
            start + pss_kb * 1024,
            "rw-p",
            0,
            "fe:00",
            100 + i as u64,
            path,
        );
        smaps.extend(full_smaps_record(
            &h,
            SmapsKb {
                size: *pss_kb,
                rss: *pss_kb,
                pss: *pss_kb,
                shared_clean: 0,
                shared_dirty: 0,
                private_clean: 0,
                private_dirty: *pss_kb,
                swap: 0,
                swap_pss: 0,
            },
        ));
    }
    fp.process(pid).smaps(&smaps).write();
}

/// One `<rect>` of a treemap box: x, y, width, height, fill and its bytes.
#[derive(Debug, Clone)]
struct SvgBox {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    fill: String,
    bytes: u64,
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

fn svg_boxes(svg: &str) -> Vec<SvgBox> {
    svg.split("<rect")
        .skip(1)
        .filter_map(|t| {
            let tag = &t[..t.find("/>")?];
            let n = |k| attr(tag, k).and_then(|v| v.parse::<f64>().ok());
            Some(SvgBox {
                x: n("x")?,
                y: n("y")?,
                w: n("width")?,
                h: n("height")?,
                fill: attr(tag, "fill")?.to_string(),
                bytes: attr(tag, "data-bytes")?.parse().ok()?,
            })
        })
        .collect()
}

/// Renders `svg` to PNG with librsvg: (width, height, RGB pixels).
fn rasterise(svg: &[u8], dir: &Path) -> (u32, u32, Vec<u8>) {
    let input = dir.join("map.svg");
    let output = dir.join("map.png");
    std::fs::write(&input, svg).unwrap();
    let r = Command::new("rsvg-convert")
        .arg("-o")
        .arg(&output)
        .arg(&input)
        .stdin(Stdio::null())
        .output()
        .expect("rsvg-convert (librsvg2-bin) must be installed: .ci/run installs it");
    assert!(
        r.status.success(),
        "rsvg-convert: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    let file = std::io::BufReader::new(std::fs::File::open(&output).unwrap());
    let mut reader = png::Decoder::new(file).read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).expect("a frame");
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    buf.truncate(info.buffer_size());
    // As RGB triples, whatever the encoder chose (an opaque picture may come without alpha).
    let rgb = match info.color_type {
        png::ColorType::Rgba => buf
            .chunks_exact(4)
            .flat_map(|p| {
                assert_eq!(p[3], 255, "opaque");
                [p[0], p[1], p[2]]
            })
            .collect(),
        png::ColorType::Rgb => buf,
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    (info.width, info.height, rgb)
}

fn hex_rgb(fill: &str) -> [u8; 3] {
    let v = u32::from_str_radix(fill.trim_start_matches('#'), 16).unwrap();
    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
}

fn hostile_files() -> Vec<(&'static [u8], u64)> {
    vec![
        (b"/usr/lib/libbig.so", 40_960),
        (b"[heap]", 20_480),
        (b"", 10_240),
        (b"/tmp/<script>alert(1)</script>.so", 8_192),
        (b"/tmp/a&b \"q\" 'x'.so", 6_144),
        (b"/tmp/esc\x1b[31mred.so", 4_096),
        (b"/tmp/\xff\xfe-not-utf8.so", 3_072),
        ("/tmp/nonchar-\u{FFFE}.so".as_bytes(), 2_048),
        ("/tmp/\u{202E}os.evil".as_bytes(), 1_536),
        (b"/tmp/gone.so (deleted)", 1_024),
        (b"/usr/lib/libsmall.so", 768),
        (b"/usr/lib/libtiny.so", 512),
    ]
}

#[test]
fn svg_treemap_areas_are_proportional_to_pss_and_the_picture_shows_them() {
    let fp = FakeProc::new();
    std::fs::create_dir_all(fp.root().join("sys/kernel")).unwrap();
    std::fs::write(fp.root().join("sys/kernel/hostname"), "fakehost\n").unwrap();
    let files = hostile_files();
    fake_files(&fp, 500, &files);
    let out = run_on(&fp, 0, &["-f", "svg"]);
    let svg = stdout(&out);
    assert!(
        svg.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "),
        "{svg}"
    );
    let boxes = svg_boxes(&svg);
    assert_eq!(
        boxes.len(),
        files.len(),
        "every file is big enough for a box"
    );
    let total: u64 = files.iter().map(|(_, kb)| kb * KIB).sum();
    assert_eq!(boxes.iter().map(|b| b.bytes).sum::<u64>(), total);
    let mut sizes: Vec<u64> = boxes.iter().map(|b| b.bytes).collect();
    let mut want: Vec<u64> = files.iter().map(|(_, kb)| kb * KIB).collect();
    sizes.sort_unstable();
    want.sort_unstable();
    assert_eq!(sizes, want);
    let area: f64 = boxes.iter().map(|b| b.w * b.h).sum();
    for b in &boxes {
        let share_area = b.w * b.h / area;
        let share_bytes = b.bytes as f64 / total as f64;
        assert!(
            (share_area / share_bytes - 1.0).abs() < 0.01,
            "{b:?}: area share {share_area} vs PSS share {share_bytes}"
        );
    }
    // 99,072 kB in all.
    assert!(svg.contains("PSS by file: 96.8 MiB in all"), "{svg}");
    assert!(svg.contains("fakehost, "), "title names the host");
    assert!(
        svg.contains("1 process: 1 read; 12 mappings from smaps"),
        "title has the coverage"
    );

    // Hostile names are harmless: escaped text in tooltips and labels, nothing active.
    for forbidden in [
        "<script",
        "href",
        "javascript",
        "@import",
        "url(",
        "<foreignObject",
        "<image",
    ] {
        assert!(!svg.contains(forbidden), "{forbidden} in the SVG");
    }
    assert!(
        !svg.chars().any(|c| c.is_control() && c != '\n'),
        "no control character"
    );
    assert!(!svg.contains('\u{FFFE}') && !svg.contains('\u{202E}'));
    for shown in [
        "<title>/tmp/&lt;script&gt;alert(1)&lt;/script&gt;.so\n",
        "<title>/tmp/a&amp;b &quot;q&quot; &#39;x&#39;.so\n",
        "<title>/tmp/esc\\x1b[31mred.so\n",
        "<title>/tmp/\\xff\\xfe-not-utf8.so\n",
        "<title>/tmp/nonchar-\\u{fffe}.so\n",
        "<title>/tmp/\\u{202e}os.evil\n",
        "<title>/usr/lib/libbig.so\n42 MiB",
    ] {
        let shown = shown.replace("42 MiB", "41,943,040 bytes, 40.0 MiB, 41.3 %");
        assert!(svg.contains(&shown), "{shown:?} not in the SVG");
    }
    // The legend: the kinds present, by colour.
    for kind in ["file", "heap", "anon", "deleted"] {
        assert!(
            svg.contains(&format!(">{kind}</text>")),
            "legend lacks {kind}"
        );
    }

    // The real renderer draws it: not blank, and each colour covers about its boxes' area
    // (box borders and label text take a little).
    let dir = open_tempdir();
    let (w, h, px) = rasterise(svg.as_bytes(), dir.path());
    assert_eq!((w, h), (1200, 800));
    let mut counts: BTreeMap<[u8; 3], u64> = BTreeMap::new();
    for p in px.chunks_exact(3) {
        *counts.entry([p[0], p[1], p[2]]).or_default() += 1;
    }
    let white = counts.get(&[255, 255, 255]).copied().unwrap_or(0);
    assert!(
        white < u64::from(w * h) / 5,
        "mostly boxes, not blank: {white} white pixels"
    );
    let mut by_fill: BTreeMap<String, f64> = BTreeMap::new();
    for b in &boxes {
        *by_fill.entry(b.fill.clone()).or_default() += b.w * b.h;
    }
    assert!(by_fill.len() >= 4, "kinds have their colours: {by_fill:?}");
    for (fill, expected) in &by_fill {
        let drawn = counts.get(&hex_rgb(fill)).copied().unwrap_or(0) as f64;
        let ratio = drawn / expected;
        assert!(
            (0.85..=1.01).contains(&ratio),
            "{fill}: {drawn} pixels for {expected} px² of boxes"
        );
    }
    // The largest box's centre is its colour.
    let big = boxes.iter().max_by_key(|b| b.bytes).unwrap();
    let (cx, cy) = (
        (big.x + big.w * 0.5) as usize,
        (big.y + big.h * 0.75) as usize,
    );
    let at = &px[(cy * w as usize + cx) * 3..][..3];
    assert_eq!(at, hex_rgb(&big.fill));
}

#[test]
fn svg_folds_the_long_tail_into_other() {
    let fp = FakeProc::new();
    let files = hostile_files();
    fake_files(&fp, 500, &files);
    let out = run_on(&fp, 0, &["-f", "svg", "-n", "3"]);
    let svg = stdout(&out);
    let boxes = svg_boxes(&svg);
    assert_eq!(boxes.len(), 4, "3 rows and the rest");
    let rest: u64 = files[3..].iter().map(|(_, kb)| kb * KIB).sum();
    assert_eq!(
        boxes.iter().map(|b| b.bytes).filter(|&b| b == rest).count(),
        1
    );
    assert!(svg.contains("<title>other (9 rows)\n"), "{svg}");
    assert!(svg.contains(">other: 9 smaller rows</text>"));
    // Many small rows fold too without -n: a thousand 4 KiB files next to a big one.
    let many = FakeProc::new();
    let names: Vec<Vec<u8>> = (0..1000)
        .map(|i| format!("/lib/f{i}.so").into_bytes())
        .collect();
    let mut list: Vec<(&[u8], u64)> = names.iter().map(|n| (n.as_slice(), 4)).collect();
    list.push((b"/lib/big.so", 100_000));
    fake_files(&many, 600, &list);
    let out = run_pmaps(["--proc-root", many.root().to_str().unwrap(), "-f", "svg"]);
    let boxes = svg_boxes(&stdout(&out));
    assert_eq!(boxes.len(), 2, "the big file and the other 1,000");
    assert_eq!(boxes[1].bytes, 4000 * KIB);
}

#[test]
fn svg_by_process_and_by_user_render() {
    let fp = fake_machine(Some(MEMINFO));
    let dir = open_tempdir();
    for (group, boxes, legend) in [("process", 2, Some("user:")), ("user", 2, None)] {
        let out = run_on(&fp, 3, &["-g", group, "-f", "svg"]);
        let svg = stdout(&out);
        assert_eq!(svg_boxes(&svg).len(), boxes, "{group}");
        assert!(
            svg.contains(&format!("PSS by {group}: 750.0 MiB in all")),
            "{svg}"
        );
        if let Some(l) = legend {
            assert!(svg.contains(&format!(">{l}</text>")), "{svg}");
            assert!(
                svg.contains("<title>web --port 8080\n"),
                "exact command in the tooltip"
            );
        }
        let (_, _, px) = rasterise(svg.as_bytes(), dir.path());
        assert!(px.chunks_exact(3).any(|p| p != [255, 255, 255]));
    }
    // `show` and the summary have no picture.
    let out = run_pmaps([
        "--proc-root",
        fp.root().to_str().unwrap(),
        "show",
        "100",
        "-f",
        "svg",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

// ---------------------------------------------------------------------------------------
// pmaps generate

/// Every long option of a command, and the visible subcommands.
fn longs(cmd: &clap::Command) -> Vec<String> {
    cmd.get_arguments()
        .filter_map(|a| a.get_long())
        .map(|l| l.to_string())
        .collect()
}

fn visible_subcommands() -> Vec<clap::Command> {
    pmaps::cli::Cli::command()
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .cloned()
        .collect()
}

/// `man -l` renders the page; the text is returned with hyphens made plain.
fn render_man(roff: &[u8], dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, roff).unwrap();
    let out = Command::new("man")
        .args(["-l", "-P", "cat"])
        .arg(&path)
        .env("MANWIDTH", "1000")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .expect("man (man-db) must be installed: .ci/run installs it");
    assert!(
        out.status.success(),
        "man -l {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).replace(['\u{2010}', '\u{2212}'], "-")
}

#[test]
fn man_pages_render_and_name_every_command_and_option() {
    let dir = open_tempdir();
    let main = run_expect(0, ["generate", "man"]);
    assert!(main.stdout.starts_with(b".ie \\n(.g .ds Aq \\(aq") || main.stdout.starts_with(b".TH"));
    let text = render_man(&main.stdout, dir.path(), "pmaps.1");
    assert!(
        text.contains("NAME") && text.contains("pmaps - Where did the memory go?"),
        "{text}"
    );
    for long in longs(&pmaps::cli::Cli::command()) {
        assert!(
            text.contains(&format!("--{long}")),
            "pmaps(1) lacks --{long}"
        );
    }
    for sub in visible_subcommands() {
        let name = sub.get_name();
        assert!(
            text.contains(&format!("pmaps-{name}(1)")),
            "pmaps(1) lacks {name}"
        );
        let page = run_pmaps(["generate", "man", name]);
        assert_eq!(page.status.code(), Some(0));
        let text = render_man(&page.stdout, dir.path(), &format!("pmaps-{name}.1"));
        assert!(text.contains(&format!("pmaps-{name} - ")), "{text}");
        for long in longs(&sub) {
            assert!(
                text.contains(&format!("--{long}")),
                "pmaps-{name}(1) lacks --{long}"
            );
        }
    }
    assert!(
        !text.contains("generate"),
        "the hidden command stays out of the page"
    );
    let bad = run_pmaps(["generate", "man", "nope"]);
    assert_eq!(bad.status.code(), Some(2));
    assert_said(&bad, "one of: show, capture, summary");
    // --output writes the page to a file.
    let file = dir.path().join("out.1");
    let out = run_pmaps(["generate", "man", "-o", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(std::fs::read(&file).unwrap(), main.stdout);
}

#[test]
fn completions_cover_every_command_and_option_of_every_shell() {
    let mut names: Vec<String> = longs(&pmaps::cli::Cli::command());
    for sub in visible_subcommands() {
        names.push(sub.get_name().to_string());
        names.extend(longs(&sub));
    }
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run_pmaps(["generate", "completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        for name in &names {
            assert!(
                script.contains(name.as_str()),
                "{shell} completion lacks {name}"
            );
        }
    }
    // bash parses its script.
    let dir = open_tempdir();
    let path = dir.path().join("pmaps.bash");
    std::fs::write(&path, run_pmaps(["generate", "completions", "bash"]).stdout).unwrap();
    let check = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // Sourced, it completes subcommands and options.
    let probe = format!(
        "source {}; COMP_WORDS=(pmaps su); COMP_CWORD=1; _pmaps pmaps su pmaps; \
         printf '%s\\n' \"${{COMPREPLY[@]}}\"; COMP_WORDS=(pmaps --col); COMP_CWORD=1; \
         _pmaps pmaps --col pmaps; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        path.display()
    );
    let out = Command::new("bash").args(["-c", &probe]).output().unwrap();
    let words = String::from_utf8_lossy(&out.stdout);
    assert!(words.lines().any(|w| w == "summary"), "{words}");
    assert!(words.lines().any(|w| w == "--columns"), "{words}");
}

#[test]
fn generate_is_hidden_from_the_help() {
    let out = run_pmaps(["--help"]);
    let help = stdout(&out);
    assert!(help.contains("summary") && help.contains("show"), "{help}");
    assert!(!help.contains("generate"), "{help}");
}
