//! `pmaps show` (one process's map, found by PID or name), the file → process breakdown
//! (`--group-by file,process`) and the `--kind deleted` recipe, against live helpers,
//! `/proc/PID/maps`, procps `pmap`, and fake proc trees.

mod common;

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use serde_json::Value;

const PMAP: &str = "/usr/bin/pmap";
const PAGE: u64 = 4096;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs pmaps and checks its exit status, showing stderr on failure.
fn pmaps_ok<I, S>(args: I, code: i32) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let out = run_pmaps(&args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "pmaps {args:?}\nstdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// A maphelper that shares no file page with any other process: it runs through private
/// copies of the loader, its libraries and its own executable, so its PSS is the same
/// whoever reads it and whenever (see [`PrivateLibs`]).
struct LoneHelper {
    libs: PrivateLibs,
    exe: PathBuf,
}

impl LoneHelper {
    fn new() -> LoneHelper {
        let libs = PrivateLibs::new();
        let exe = libs.dir.path().join("maphelper");
        std::fs::copy(maphelper_bin(), &exe).expect("copy maphelper");
        LoneHelper { libs, exe }
    }

    fn spawn<I, S>(&self, args: I) -> Helper
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(&self.libs.loader);
        cmd.arg("--library-path")
            .arg(self.libs.dir.path())
            .arg(&self.exe)
            .args(args);
        let helper = Helper::start(cmd);
        let maps = std::fs::read(format!("/proc/{}/maps", helper.pid)).expect("read maps");
        let private = self.libs.dir.path().as_os_str().as_encoded_bytes();
        for line in maps.split(|&c| c == b'\n') {
            let path = maps_line_path(line).unwrap_or(b"");
            assert!(
                !path.starts_with(b"/usr") && !path.starts_with(b"/lib"),
                "helper maps a system file: {}",
                text(line)
            );
            if path.ends_with(b".so.6") || path.ends_with(b"maphelper") {
                assert!(path.starts_with(private), "not private: {}", text(line));
            }
        }
        helper
    }
}

/// One line of `/proc/PID/maps`, split into the columns `pmaps show` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MapsLine {
    address: String,
    perms: String,
    offset: String,
    device: String,
    inode: String,
    path: String,
}

fn proc_maps(pid: u32) -> Vec<MapsLine> {
    let raw = std::fs::read(format!("/proc/{pid}/maps")).expect("read maps");
    raw.split(|&c| c == b'\n')
        .filter(|l| !l.is_empty())
        .map(|line| {
            let fields: Vec<&[u8]> = line.splitn(6, |&c| c == b' ').collect();
            assert!(fields.len() >= 5, "short maps line {}", text(line));
            MapsLine {
                address: text(fields[0]),
                perms: text(fields[1]),
                offset: text(fields[2]),
                device: text(fields[3]),
                inode: text(fields[4]),
                path: text(maps_line_path(line).expect("maps line")),
            }
        })
        .collect()
}

fn csv_maps_line(row: &BTreeMap<String, String>) -> MapsLine {
    MapsLine {
        address: row["address"].clone(),
        perms: row["perms"].clone(),
        offset: row["offset"].clone(),
        device: row["device"].clone(),
        inode: row["inode"].clone(),
        path: row["path"].clone(),
    }
}

/// `pmap -x PID`'s last line `total kB  KBYTES RSS DIRTY`.
fn pmap_x_totals(pid: u32) -> [u64; 3] {
    let out = Command::new(PMAP)
        .args(["-x", &pid.to_string()])
        .output()
        .expect("run pmap -x");
    assert!(out.status.success(), "pmap -x {pid}: {:?}", out.status);
    let stdout = text(&out.stdout);
    let last = stdout.lines().last().expect("pmap -x printed nothing");
    let fields: Vec<&str> = last.split_whitespace().collect();
    assert_eq!(&fields[..2], ["total", "kB"], "not a totals line: {last:?}");
    let n = |i: usize| fields[i].parse::<u64>().expect("pmap -x total");
    [n(2), n(3), n(4)]
}

/// `pmap -X PID`'s totals (the last line, ending in `KB`) by column name, in kB. The totals
/// line has one number for each header column from `Size` up to `Mapping`.
fn pmap_big_x_totals(pid: u32) -> BTreeMap<String, u64> {
    let out = Command::new(PMAP)
        .args(["-X", &pid.to_string()])
        .output()
        .expect("run pmap -X");
    assert!(out.status.success(), "pmap -X {pid}: {:?}", out.status);
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    let header: Vec<&str> = lines[1].split_whitespace().collect();
    let size = header
        .iter()
        .position(|h| *h == "Size")
        .expect("Size column");
    let mapping = header
        .iter()
        .position(|h| *h == "Mapping")
        .expect("Mapping");
    let totals: Vec<&str> = lines.last().expect("totals").split_whitespace().collect();
    assert_eq!(totals.last(), Some(&"KB"), "not a totals line: {totals:?}");
    let values = &totals[..totals.len() - 1];
    assert_eq!(values.len(), mapping - size, "{header:?} / {values:?}");
    header[size..mapping]
        .iter()
        .zip(values)
        .map(|(h, v)| (h.to_string(), v.parse().expect("pmap -X total")))
        .collect()
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).expect("pmaps printed invalid JSON")
}

fn kb(v: &Value) -> u64 {
    let b = v.as_u64().unwrap_or_else(|| panic!("not an integer: {v}"));
    assert_eq!(b % 1024, 0, "{b} is not whole kB");
    b / 1024
}

/// The numbers of the table's `TOTAL` row (commas removed), and its mapping count.
fn table_totals(table: &str) -> (Vec<u64>, u64) {
    let line = table
        .lines()
        .find(|l| l.starts_with("TOTAL"))
        .unwrap_or_else(|| panic!("no TOTAL row in:\n{table}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words.last(), Some(&"mappings"), "{line}");
    let num = |w: &str| w.replace(',', "").parse::<u64>().expect("number");
    let count = num(words[words.len() - 2]);
    let values = words[1..words.len() - 2].iter().map(|w| num(w)).collect();
    (values, count)
}

#[test]
fn every_row_is_the_maps_line_and_the_totals_are_pmaps() {
    let lone = LoneHelper::new();
    let dir = open_tempdir();
    let shared = synced_file(dir.path(), "shared data.bin", 40 * PAGE as usize);
    let private = synced_file(dir.path(), "private.bin", 24 * PAGE as usize);
    let gone = synced_file(dir.path(), "gone.bin", 8 * PAGE as usize);
    let helper = lone.spawn([
        OsStr::new("--map-shared"),
        shared.as_os_str(),
        OsStr::new("--map-private"),
        private.as_os_str(),
        OsStr::new("--map-shared"),
        gone.as_os_str(),
        OsStr::new("--delete"),
        gone.as_os_str(),
        OsStr::new("--anon"),
        OsStr::new("1M"),
        OsStr::new("--memfd"),
        OsStr::new("pool:64K"),
        OsStr::new("--sysv"),
        OsStr::new("32K"),
        OsStr::new("--shared-anon"),
        OsStr::new("16K"),
    ]);
    let pid = helper.pid.to_string();

    let before = proc_maps(helper.pid);
    let csv = pmaps_ok(["show", &pid, "-f", "csv"], 0);
    assert_eq!(proc_maps(helper.pid), before, "the helper's maps moved");
    let rows = csv_records(&csv.stdout);
    let shown: Vec<MapsLine> = rows.iter().map(csv_maps_line).collect();
    assert_eq!(
        shown, before,
        "pmaps show rows differ from /proc/{pid}/maps"
    );
    assert!(rows.iter().all(|r| r["pid"] == pid));
    let kind_of = |path: &str| {
        rows.iter()
            .find(|r| r["path"] == path)
            .map(|r| r["kind"].clone())
            .unwrap_or_else(|| panic!("no row for {path}"))
    };
    assert_eq!(kind_of(&format!("{} (deleted)", gone.display())), "deleted");
    assert_eq!(kind_of(&shared.display().to_string()), "file");
    assert_eq!(kind_of("/memfd:pool (deleted)"), "memfd");
    assert_eq!(kind_of("/dev/zero (deleted)"), "other");
    assert_eq!(kind_of("[heap]"), "heap");
    assert_eq!(kind_of(""), "anon");

    // Totals: the table's TOTAL row and the JSON totals against pmap -x and pmap -X.
    let [kbytes, rss, dirty] = pmap_x_totals(helper.pid);
    let big_x = pmap_big_x_totals(helper.pid);
    let table = text(&pmaps_ok(["show", &pid], 0).stdout);
    let (t, count) = table_totals(&table);
    // Size RSS PSS USS Dirty Swap SwapPSS, in KiB.
    assert_eq!(count, before.len() as u64);
    assert_eq!((t[0], t[1], t[4]), (kbytes, rss, dirty), "table vs pmap -x");
    assert_eq!(
        (t[2], t[5], t[6]),
        (big_x["Pss"], big_x["Swap"], big_x["SwapPss"]),
        "table vs pmap -X"
    );
    let json = json_of(&pmaps_ok(["show", &pid, "-f", "json"], 0));
    let totals = &json["processes"][0]["totals"];
    assert_eq!(
        [
            kb(&totals["size_bytes"]),
            kb(&totals["rss_bytes"]),
            kb(&totals["dirty_bytes"])
        ],
        [kbytes, rss, dirty]
    );
    assert_eq!(
        [
            kb(&totals["pss_bytes"]),
            kb(&totals["swap_bytes"]),
            kb(&totals["swap_pss_bytes"])
        ],
        [big_x["Pss"], big_x["Swap"], big_x["SwapPss"]]
    );
    assert_eq!(totals["mappings"], before.len());

    // --all-fields: one column per smaps key; its totals are pmap -X's, key by key.
    let all = pmaps_ok(["show", &pid, "-f", "csv", "--all-fields"], 0);
    let all_rows = csv_records(&all.stdout);
    assert_eq!(all_rows.len(), before.len());
    for (key, total) in &big_x {
        if key == "THPeligible" || key == "ProtectionKey" {
            continue; // not amounts: pmap sums them, pmaps does not
        }
        let col = match key.as_str() {
            "SwapPss" => "swap_pss_bytes".to_string(),
            k => format!("{}_bytes", k.to_ascii_lowercase()),
        };
        let sum: u64 = all_rows
            .iter()
            .map(|r| {
                r.get(&col)
                    .unwrap_or_else(|| panic!("no column {col}"))
                    .parse::<u64>()
                    .expect("bytes")
            })
            .sum();
        assert_eq!(
            sum / 1024,
            *total,
            "{key}: pmaps {sum} bytes vs pmap -X {total} kB"
        );
    }
}

#[test]
fn merge_folds_a_files_segments_into_one_row_with_the_same_totals() {
    let lone = LoneHelper::new();
    let helper = lone.spawn(["--anon", "256K"]);
    let pid = helper.pid.to_string();
    let plain = csv_records(&pmaps_ok(["show", &pid, "-f", "csv"], 0).stdout);
    let merged = csv_records(&pmaps_ok(["show", &pid, "-f", "csv", "--merge"], 0).stdout);
    // The private libc copy has 4-5 segments in a row: one row now.
    let libc = format!("{}/libc.so.6", lone.libs.dir.path().display());
    let segments = plain.iter().filter(|r| r["path"] == libc).count();
    assert!(segments >= 3, "libc has {segments} segments");
    let libc_rows: Vec<_> = merged.iter().filter(|r| r["path"] == libc).collect();
    assert_eq!(libc_rows.len(), 1);
    assert_eq!(libc_rows[0]["mappings"], segments.to_string());
    let first = plain.iter().find(|r| r["path"] == libc).expect("libc");
    let last = plain
        .iter()
        .rev()
        .find(|r| r["path"] == libc)
        .expect("libc");
    let start = first["address"].split('-').next().expect("start");
    let end = last["address"].split('-').nth(1).expect("end");
    assert_eq!(libc_rows[0]["address"], format!("{start}-{end}"));
    for w in merged.windows(2) {
        assert!(
            w[0]["path"].is_empty() || w[0]["path"] != w[1]["path"],
            "unfolded run: {w:?}"
        );
    }
    for col in [
        "size_bytes",
        "rss_bytes",
        "pss_bytes",
        "uss_bytes",
        "dirty_bytes",
    ] {
        let sum = |rows: &[BTreeMap<String, String>]| -> u64 {
            rows.iter().map(|r| r[col].parse::<u64>().expect(col)).sum()
        };
        assert_eq!(sum(&plain), sum(&merged), "{col}");
    }
    let count: u64 = merged
        .iter()
        .map(|r| r["mappings"].parse::<u64>().expect("mappings"))
        .sum();
    assert_eq!(count, plain.len() as u64);
}

#[test]
fn a_helper_is_found_by_its_command_name() {
    let name = format!("pmzshow{}", std::process::id() % 100_000);
    let helper = Helper::spawn(["--comm", &name, "--anon", "64K"]);
    let other = Helper::spawn(["--anon", "64K"]);
    let out = pmaps_ok(["show", &name, "-f", "csv"], 0);
    let rows = csv_records(&out.stdout);
    assert!(!rows.is_empty());
    for r in &rows {
        assert_eq!(r["pid"], helper.pid.to_string(), "{r:?}");
    }
    assert_eq!(rows.len(), proc_maps(helper.pid).len());
    // The table names the process in its header line.
    let table = text(&pmaps_ok(["show", &name], 0).stdout);
    let first = table.lines().next().expect("header line");
    assert!(
        first.starts_with(&format!("{}: ", helper.pid)) && first.ends_with(" (root)"),
        "{first}"
    );
    assert!(
        first.contains(&format!("--comm {name} --anon 64K")),
        "{first}"
    );
    drop(other);
}

#[test]
fn a_name_that_matches_nothing_exits_4_and_says_so() {
    let name = format!("no-such-process-{}", std::process::id());
    let out = pmaps_ok(["show", &name], 4);
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert_eq!(
        text(&out.stderr),
        format!(
            "pmaps: no process matches '{name}' (neither its command name nor its command \
             line)\n"
        )
    );
}

#[test]
fn a_denied_process_is_named_with_the_reason_and_exits_3() {
    let root_helper = Helper::spawn(["--anon", "64K"]);
    let own = spawn_helper_as_nobody(["--anon", "64K"]);
    let out = run_pmaps_as_nobody([
        "show".to_string(),
        own.pid.to_string(),
        root_helper.pid.to_string(),
        "-f".into(),
        "csv".into(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let rows = csv_records(&out.stdout);
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r["pid"] == own.pid.to_string()));
    assert_eq!(
        text(&out.stderr),
        format!(
            "pmaps: {} (maphelper): permission denied reading /proc/{}/smaps (run as root)\n\
             pmaps: partial: 1 of 2 matched processes not shown\n",
            root_helper.pid, root_helper.pid
        )
    );
}

/// One small smaps record for a fake process.
fn one_record(rss_kb: u64) -> Vec<u8> {
    full_smaps_record(
        map_header(0x1000, 0x1000 + 16 * PAGE, "rw-p", 0, "00:00", 0, b""),
        64,
        rss_kb,
        rss_kb,
        0,
        0,
        0,
        rss_kb,
        0,
        0,
    )
}

/// A fake tree for the name rules: pmaps itself (50), a wrapper running it (51), three
/// processes the name `web` matches in different ways (60 by both, 61 by its command line
/// only, 62 by its comm only), a kernel thread (63) and a zombie (65) named like them, and
/// another process (64).
fn name_tree() -> FakeProc {
    let fake = FakeProc::new();
    fake.self_pid(50);
    let procs: [(u32, &[u8], &[u8]); 6] = [
        (50, b"pmaps", b"pmaps\0show\0web\0"),
        (51, b"sudo", b"sudo\0pmaps\0show\0web\0"),
        (60, b"webd", b"/usr/sbin/webd\0-f\0"),
        (61, b"python3", b"python3\0/srv/web/app.py\0"),
        (62, b"web-cache", b""),
        (64, b"other", b"other\0--quiet\0"),
    ];
    for (pid, comm, cmdline) in procs {
        fake.process(pid)
            .comm(comm)
            .cmdline(cmdline)
            .smaps(&one_record(u64::from(pid)))
            .write();
    }
    fake.process(63)
        .comm(b"webkthread")
        .flags(PF_KTHREAD)
        .write();
    fake.process(65).comm(b"webzombie").state(b'Z').write();
    fake
}

fn shown_pids(out: &Output) -> Vec<String> {
    let mut pids: Vec<String> = Vec::new();
    for r in csv_records(&out.stdout) {
        if pids.last() != Some(&r["pid"]) {
            pids.push(r["pid"].clone());
        }
    }
    pids
}

#[test]
fn names_match_comm_or_command_line_but_not_pmaps_its_wrappers_or_processes_without_memory() {
    let fake = name_tree();
    let root = fake.root().as_os_str();
    let show = |args: &[&str], code: i32| {
        let mut all: Vec<&OsStr> = vec![OsStr::new("show"), OsStr::new("--proc-root"), root];
        all.extend(args.iter().map(OsStr::new));
        all.extend([OsStr::new("-f"), OsStr::new("csv")]);
        pmaps_ok(all, code)
    };
    assert_eq!(shown_pids(&show(&["web"], 0)), ["60", "61", "62"]);
    assert_eq!(shown_pids(&show(&["srv/web/app"], 0)), ["61"]);
    // Targets in order, each process once.
    assert_eq!(
        shown_pids(&show(&["64", "web", "61"], 0)),
        ["64", "60", "61", "62"]
    );
    // A PID is taken as given, even a kernel thread (shown with no mappings).
    let kthread = show(&["63"], 0);
    assert!(shown_pids(&kthread).is_empty());
    assert_eq!(
        text(&kthread.stderr),
        "pmaps: 63 (webkthread): kernel thread, no user memory map\n"
    );
    let table = pmaps_ok(
        [
            OsStr::new("show"),
            OsStr::new("--proc-root"),
            root,
            OsStr::new("63"),
        ],
        0,
    );
    assert_eq!(
        text(&table.stdout),
        "63: [webkthread] (root)\n  (kernel thread, no user memory map)\n"
    );
    let zombie = show(&["65"], 0);
    assert!(shown_pids(&zombie).is_empty());
    assert_eq!(
        text(&zombie.stderr),
        "pmaps: 65 (webzombie): zombie, no memory left to show\n"
    );
    let none = show(&["WEB"], 4);
    assert_eq!(
        text(&none.stderr),
        "pmaps: no process matches 'WEB' (neither its command name nor its command line)\n"
    );
    let missing = show(&["999"], 4);
    assert_eq!(text(&missing.stderr), "pmaps: no process 999\n");
    let some = show(&["web", "999"], 3);
    assert_eq!(shown_pids(&some), ["60", "61", "62"]);
    assert_eq!(text(&some.stderr), "pmaps: no process 999\n");
    // Usage errors.
    let usage = |args: &[&str]| {
        let mut all = vec!["show"];
        all.extend_from_slice(args);
        let out = pmaps_ok(all, 2);
        text(&out.stderr)
    };
    assert!(usage(&[]).contains("required"));
    assert!(usage(&[""]).contains("empty name"));
    assert!(usage(&["0"]).contains("not a valid PID"));
    let report_flag = pmaps_ok(["-g", "user", "show", "1"], 2);
    assert!(text(&report_flag.stderr).contains("--group-by applies to the report"));
}

/// A fake process with three mappings of known values (Swap and SwapPss included).
fn totals_tree() -> FakeProc {
    let fake = FakeProc::new();
    let lib = b"/usr/lib/lib x.so";
    let mut smaps = Vec::new();
    smaps.extend(full_smaps_record(
        map_header(
            0x7f00_0000_0000,
            0x7f00_0000_4000,
            "r--p",
            0,
            "fe:01",
            77,
            lib,
        ),
        16,
        12,
        5,
        8,
        0,
        4,
        0,
        0,
        0,
    ));
    smaps.extend(full_smaps_record(
        map_header(
            0x7f00_0000_4000,
            0x7f00_0000_9000,
            "r-xp",
            0x4000,
            "fe:01",
            77,
            lib,
        ),
        20,
        20,
        9,
        16,
        2,
        2,
        0,
        0,
        0,
    ));
    smaps.extend(full_smaps_record(
        map_header(
            0x7f00_0001_0000,
            0x7f00_0002_0000,
            "rw-p",
            0,
            "00:00",
            0,
            b"",
        ),
        64,
        24,
        24,
        0,
        0,
        0,
        24,
        12,
        6,
    ));
    fake.process(70)
        .comm(b"fixture")
        .cmdline(b"/opt/fixture\0--x\0")
        .smaps(&smaps)
        .write();
    fake
}

#[test]
fn totals_and_merge_on_known_values() {
    let fake = totals_tree();
    let root = fake.root().as_os_str();
    let json = json_of(&pmaps_ok(
        [
            OsStr::new("show"),
            OsStr::new("--proc-root"),
            root,
            OsStr::new("70"),
            OsStr::new("-f"),
            OsStr::new("json"),
        ],
        0,
    ));
    let p = &json["processes"][0];
    assert_eq!(p["pid"], 70);
    assert_eq!(p["command"], "/opt/fixture --x");
    assert_eq!(p["outcome"], "read");
    let t = &p["totals"];
    let kbs: Vec<u64> = [
        "size_bytes",
        "rss_bytes",
        "pss_bytes",
        "uss_bytes",
        "dirty_bytes",
        "swap_bytes",
        "swap_pss_bytes",
    ]
    .iter()
    .map(|k| kb(&t[*k]))
    .collect();
    // uss = private clean + private dirty; dirty = shared dirty + private dirty.
    assert_eq!(kbs, [100, 56, 38, 30, 26, 12, 6]);
    assert_eq!(t["mappings"], 3);
    let m = &p["mappings"][1];
    assert_eq!(m["address"], "7f0000004000-7f0000009000");
    assert_eq!(m["perms"], "r-xp");
    assert_eq!(m["offset"], 0x4000);
    assert_eq!(m["device"], "fe:01");
    assert_eq!(m["inode"], 77);
    assert_eq!(m["path"], "/usr/lib/lib x.so");
    assert_eq!(m["kind"], "file");

    let table = text(
        &pmaps_ok(
            [
                OsStr::new("show"),
                OsStr::new("--proc-root"),
                root,
                OsStr::new("70"),
                OsStr::new("--merge"),
            ],
            0,
        )
        .stdout,
    );
    let expected = "\
70: /opt/fixture --x (root)
Address                    Perms  Offset    Device  Inode  Maps  Size KiB  RSS KiB  PSS KiB  USS KiB  Dirty KiB  Swap KiB  SwapPSS KiB  Kind  Mapping
-------------------------- ------ --------- ------- ------ ----- --------- -------- -------- -------- ---------- --------- ------------ ----- ------------------
7f0000000000-7f0000009000  r-*p   00000000  fe:01      77     2        36       32       14        6          2         0            0  file  /usr/lib/lib x.so
7f0000010000-7f0000020000  rw-p   00000000  00:00       0     1        64       24       24       24         24        12            6  anon  [anon]
TOTAL                                                         3       100       56       38       30         26        12            6        3 mappings
";
    assert_eq!(table, expected);
}

#[test]
fn a_file_shared_by_two_helpers_shows_each_with_half_its_pss() {
    let dir = open_tempdir();
    let file = synced_file(dir.path(), "shared-64-pages.bin", 64 * PAGE as usize);
    let a = Helper::spawn([OsStr::new("--map-shared"), file.as_os_str()]);
    let b = Helper::spawn([OsStr::new("--map-shared"), file.as_os_str()]);
    let pids = format!("{},{}", a.pid, b.pid);
    let out = pmaps_ok(["-g", "file,process", "-p", &pids, "-f", "csv"], 0);
    let path = file.display().to_string();
    let rows: Vec<_> = csv_records(&out.stdout)
        .into_iter()
        .filter(|r| r["path"] == path)
        .collect();
    let mut seen: Vec<(String, String, String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["pid"].clone(),
                r["kind"].clone(),
                r["rss_bytes"].clone(),
                r["pss_bytes"].clone(),
                r["uss_bytes"].clone(),
            )
        })
        .collect();
    seen.sort();
    let size = (64 * PAGE).to_string();
    let half = (32 * PAGE).to_string();
    let mut want = vec![
        (
            a.pid.to_string(),
            "file".into(),
            size.clone(),
            half.clone(),
            "0".into(),
        ),
        (
            b.pid.to_string(),
            "file".into(),
            size.clone(),
            half.clone(),
            "0".into(),
        ),
    ];
    want.sort();
    assert_eq!(seen, want);

    // JSON: the file's row totals both, with one entry per process under it.
    let json = json_of(&pmaps_ok(
        ["-g", "file,process", "-p", &pids, "-f", "json"],
        0,
    ));
    let row = json["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["path"] == path.as_str())
        .expect("the shared file's row");
    assert_eq!(row["processes"], 2);
    assert_eq!(row["pss_bytes"], 64 * PAGE);
    assert_eq!(row["rss_bytes"], 128 * PAGE);
    let children = row["by_process"].as_array().expect("by_process");
    assert_eq!(children.len(), 2);
    for c in children {
        assert_eq!(c["pss_bytes"], 32 * PAGE);
    }
}

#[test]
fn a_deleted_file_still_mapped_shows_under_kind_deleted() {
    let dir = open_tempdir();
    let file = synced_file(dir.path(), "old-lib.so", 16 * PAGE as usize);
    let keep = synced_file(dir.path(), "kept.bin", 4 * PAGE as usize);
    let stale = Helper::spawn([
        OsStr::new("--map-shared"),
        file.as_os_str(),
        OsStr::new("--map-shared"),
        keep.as_os_str(),
        OsStr::new("--delete"),
        file.as_os_str(),
    ]);
    let fresh = Helper::spawn([OsStr::new("--map-shared"), keep.as_os_str()]);
    let pids = format!("{},{}", stale.pid, fresh.pid);
    let deleted = format!("{} (deleted)", file.display());

    let by_file = csv_records(&pmaps_ok(["--kind", "deleted", "-p", &pids, "-f", "csv"], 0).stdout);
    let files: Vec<(&str, &str, &str)> = by_file
        .iter()
        .map(|r| {
            (
                r["path"].as_str(),
                r["kind"].as_str(),
                r["processes"].as_str(),
            )
        })
        .collect();
    assert_eq!(files, [(deleted.as_str(), "deleted", "1")]);

    let breakdown = csv_records(
        &pmaps_ok(
            [
                "--kind",
                "deleted",
                "-g",
                "file,process",
                "-p",
                &pids,
                "-f",
                "csv",
            ],
            0,
        )
        .stdout,
    );
    let rows: Vec<(&str, &str, &str, &str)> = breakdown
        .iter()
        .map(|r| {
            (
                r["path"].as_str(),
                r["kind"].as_str(),
                r["pid"].as_str(),
                r["rss_bytes"].as_str(),
            )
        })
        .collect();
    let rss = (16 * PAGE).to_string();
    let pid = stale.pid.to_string();
    assert_eq!(
        rows,
        [(deleted.as_str(), "deleted", pid.as_str(), rss.as_str())]
    );

    // The services to restart: only the process that still maps the deleted file.
    let procs = csv_records(
        &pmaps_ok(
            [
                "--kind", "deleted", "-g", "process", "-p", &pids, "-f", "csv",
            ],
            0,
        )
        .stdout,
    );
    let listed: Vec<&str> = procs.iter().map(|r| r["pid"].as_str()).collect();
    assert_eq!(listed, [pid.as_str()]);
}

#[test]
fn json_keeps_a_non_utf8_path_exactly() {
    let dir = open_tempdir();
    let name: &[u8] = b"caf\xe9 \x1b[31m.bin";
    let path = dir.path().join(os(name));
    std::fs::write(&path, vec![7u8; PAGE as usize]).expect("write");
    let helper = Helper::spawn([OsStr::new("--map-shared"), path.as_os_str()]);
    let pid = helper.pid.to_string();
    let json = json_of(&pmaps_ok(["show", &pid, "-f", "json"], 0));
    let raw = path.as_os_str().as_encoded_bytes();
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let maps = json["processes"][0]["mappings"]
        .as_array()
        .expect("mappings");
    let row = maps
        .iter()
        .find(|m| m["path_hex"] == hex.as_str())
        .expect("the mapping with its exact bytes in path_hex");
    let shown = format!("{}/caf\\xe9 \\x1b[31m.bin", dir.path().display());
    assert_eq!(row["path"], shown.as_str());
    // Neither the table nor the CSV carries the raw ESC byte.
    let table = pmaps_ok(["show", &pid], 0).stdout;
    assert!(!table.contains(&0x1b));
    assert!(text(&table).contains(&shown));
    let csv = pmaps_ok(["show", &pid, "-f", "csv"], 0).stdout;
    assert!(!csv.contains(&0x1b));
}

#[test]
fn output_goes_to_a_file_with_o() {
    let helper = Helper::spawn(["--anon", "64K"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("map.csv");
    let pid = helper.pid.to_string();
    let out = pmaps_ok(
        [
            OsStr::new("show"),
            OsStr::new(&pid),
            OsStr::new("-f"),
            OsStr::new("csv"),
            OsStr::new("-o"),
            target.as_os_str(),
        ],
        0,
    );
    assert!(out.stdout.is_empty());
    let written = std::fs::read(&target).expect("output file");
    let rows = csv_records(&written);
    assert_eq!(rows.len(), proc_maps(helper.pid).len());
    assert!(Path::new(&target).is_file());
}

#[test]
fn top_n_caps_the_processes_listed_under_each_file_too() {
    let dir = open_tempdir();
    let file = synced_file(dir.path(), "big-shared.bin", 1024 * PAGE as usize);
    let helpers: Vec<Helper> = (0..3)
        .map(|_| Helper::spawn([OsStr::new("--map-shared"), file.as_os_str()]))
        .collect();
    let mut pids: Vec<u32> = helpers.iter().map(|h| h.pid).collect();
    pids.sort();
    let list = pids
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let path = file.display().to_string();

    let csv = csv_records(
        &pmaps_ok(
            ["-g", "file,process", "-p", &list, "-n", "2", "-f", "csv"],
            0,
        )
        .stdout,
    );
    // The shared file is the largest by PSS; equal shares list by PID.
    assert_eq!(csv[0]["path"], path);
    let listed: Vec<&str> = csv
        .iter()
        .filter(|r| r["path"] == path)
        .map(|r| r["pid"].as_str())
        .collect();
    let first_two: Vec<String> = pids[..2].iter().map(u32::to_string).collect();
    assert_eq!(listed, first_two);

    let json = json_of(&pmaps_ok(
        ["-g", "file,process", "-p", &list, "-n", "1", "-f", "json"],
        0,
    ));
    let rows = json["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["path"], path.as_str());
    assert_eq!(
        rows[0]["processes"], 3,
        "the file still counts every process"
    );
    assert_eq!(rows[0]["by_process"].as_array().map(Vec::len), Some(1));

    let table = text(&pmaps_ok(["-g", "file,process", "-p", &list, "-n", "1"], 0).stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[2].starts_with(&path), "{table}");
    assert!(
        lines[3].contains(&format!(" {} ", pids[0])),
        "first process, its PID as a plain number: {table}"
    );
    assert_eq!(lines[4].trim(), "... 2 more processes", "{table}");
    assert!(lines[5].starts_with("TOTAL"), "{table}");
}
