//! `pmaps diff`: rows of two saved reports (or a saved report and a scan made now) matched by
//! identity. A report against itself, a reused PID, a live helper's exact growth,
//! thresholds, hostile names in every format, a process denied on one side, and reports
//! that cannot be compared; capture archives as sides ([`capture`]); the group-bys of
//! services and containers and the two-level views ([`groups`]).

mod capture;
mod groups;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

const LIB: &[u8] = b"/usr/lib/libcommon.so.1";
/// A name a hostile user could give a file: not UTF-8, a formula, an escape sequence, and a
/// newline as the kernel shows it.
const HOSTILE: &[u8] = b"/tmp/caf\xe9 =SUM(A1)\x1b[2J\\012.db";
/// A command line to match: a formula, a byte that is not UTF-8, a tab.
const HOSTILE_CMD: &[u8] = b"=HYPERLINK(\"http://x\")\xff\tserve";

fn lib(start: u64) -> FakeMap {
    FakeMap::shared(start, LIB, 11, 300, 100)
}

/// Process 100, alpha, with `heap_kb` of its heap resident (in 68 KiB more of address space).
fn alpha(fake: &FakeProc, heap_kb: u64) {
    let maps = [
        lib(0x7f00_0000_0000),
        FakeMap::private(0x5600_0000_0000, b"[heap]", heap_kb + 68, heap_kb),
        FakeMap::private(0x7f10_0000_0000, b"", 1024, 1024),
    ];
    let p = fake
        .process(100)
        .comm(b"alpha")
        .cmdline(b"alpha\0--serve\0");
    with_maps(p, &maps).write();
}

/// Process 300, with a hostile command line, and `hostile_kb` of the hostile file.
fn gamma(fake: &FakeProc, hostile_kb: Option<u64>) {
    let mut maps = vec![FakeMap::private(0x7f30_0000_0000, b"", 256, 256)];
    maps.extend(hostile_kb.map(|kb| FakeMap::file(0x7f50_0000_0000, HOSTILE, 77, kb)));
    let p = fake.process(300).comm(b"gam\xffma").cmdline(HOSTILE_CMD);
    with_maps(p, &maps).write();
}

/// Before: 100 alpha (heap 64 KiB), 200 beta (maps the hostile file), 300 with a hostile
/// command line.
fn before() -> FakeProc {
    let fake = FakeProc::new();
    alpha(&fake, 64);
    let beta = [
        lib(0x7f00_0000_0000),
        FakeMap::file(0x7f20_0000_0000, HOSTILE, 77, 40),
    ];
    with_maps(fake.process(200).comm(b"beta").cmdline(b"beta\0"), &beta).write();
    gamma(&fake, None);
    fake
}

/// After: alpha's heap grew by 128 KiB; beta exited and its PID now belongs to delta
/// (another start time); 300 maps the hostile file too, now 80 KiB of it; 400 is new.
fn after() -> FakeProc {
    let fake = FakeProc::new();
    alpha(&fake, 192);
    let delta = [
        lib(0x7f00_0000_0000),
        FakeMap::private(0x7f40_0000_0000, b"", 512, 512),
    ];
    let reused = fake.process(200).comm(b"delta").cmdline(b"delta\0");
    with_maps(reused.start_time(9999), &delta).write();
    gamma(&fake, Some(80));
    let eps = [FakeMap::private(0x7f60_0000_0000, b"", 128, 128)];
    with_maps(
        fake.process(400).comm(b"epsilon").cmdline(b"epsilon\0"),
        &eps,
    )
    .write();
    fake
}

/// Saves a JSON report of `fake` made with `args` as `dir/name`.
fn save(fake: &FakeProc, args: &[&str], dir: &Path, name: &str) -> PathBuf {
    let mut cmd = pmaps_on(fake.root());
    cmd.args(args).args(["-f", "json"]);
    let out = output(cmd);
    assert_exit(&out, 0);
    let path = dir.join(name);
    std::fs::write(&path, &out.stdout).expect("write the report");
    path
}

/// `pmaps diff` with `args`, expecting `code`.
fn diff<I, S>(args: I, code: i32) -> std::process::Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut all: Vec<std::ffi::OsString> = vec!["diff".into()];
    all.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
    pmaps_ok(all, code)
}

/// `pmaps diff OLD NEW -f FORMAT`, expecting `code`.
fn diff_as(format: &str, old: &Path, new: &Path, code: i32) -> std::process::Output {
    let f = OsStr::new(format);
    diff(
        [old.as_os_str(), new.as_os_str(), OsStr::new("-f"), f],
        code,
    )
}

/// The JSON row with `key` = `value` (a number).
fn row_with<'a>(doc: &'a Value, key: &str, value: u64, start_time: Option<u64>) -> &'a Value {
    doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r[key] == value && start_time.is_none_or(|s| r["start_time"] == s))
        .unwrap_or_else(|| panic!("no row with {key} {value} in {doc:#}"))
}

#[test]
fn a_report_read_back_and_diffed_against_itself_shows_no_change() {
    let fake = before();
    let dir = open_tempdir();
    for group in ["file", "process", "user", "command", "kind"] {
        let saved = save(&fake, &["-g", group], dir.path(), &format!("{group}.json"));
        let report: Value =
            serde_json::from_slice(&std::fs::read(&saved).expect("read")).expect("json");
        let rows = report["rows"].as_array().expect("rows").len();
        assert!(rows > 0, "{group}");
        let out = diff_as("json", &saved, &saved, 0);
        let doc = parse_json(&out);
        assert_eq!(doc["meta"]["view"], "diff");
        assert_eq!(doc["meta"]["group_by"], group);
        assert_eq!(
            doc["meta"]["counts"]["same"], rows as u64,
            "{group}: {doc:#}"
        );
        assert_eq!(doc["meta"]["counts"]["notable"], 0, "{group}");
        assert_eq!(
            doc["rows"],
            Value::Array(vec![]),
            "{group}: unchanged rows are hidden"
        );
        assert_eq!(doc["totals"]["pss_bytes"]["change"], 0, "{group}");
        // --all lists them, each `same`, with old = new and a change of 0.
        let all = parse_json(&diff(
            [saved.as_os_str(), saved.as_os_str()]
                .into_iter()
                .chain(["--all", "-f", "json"].map(OsStr::new)),
            0,
        ));
        let listed = all["rows"].as_array().expect("rows");
        assert_eq!(listed.len(), rows, "{group}");
        for r in listed {
            assert_eq!(r["status"], "same");
            assert_eq!(r["pss_bytes"]["old"], r["pss_bytes"]["new"]);
            assert_eq!(r["pss_bytes"]["change"], 0);
        }
        // The table says so; the CSV is its header alone.
        let table = stdout(&diff([saved.as_os_str(), saved.as_os_str()], 0));
        assert!(
            table.contains(&format!(
                "0 changed, 0 new, 0 gone; {rows} same (--all shows them)"
            )),
            "{table}"
        );
        let csv = stdout(&diff_as("csv", &saved, &saved, 0));
        assert_eq!(csv.lines().count(), 1, "{csv}");
        assert!(csv.starts_with("status,"), "{csv}");
        // With one argument: a scan made now the same way finds nothing changed either.
        let mut now = pmaps_on(fake.root());
        now.args(["diff"]).arg(&saved);
        assert_exit(&output(now), 0);
    }
}

#[test]
fn a_reused_pid_is_gone_and_new_and_growth_is_exact() {
    let dir = open_tempdir();
    let old = save(&before(), &["-g", "process"], dir.path(), "old.json");
    let new = save(&after(), &["-g", "process"], dir.path(), "new.json");
    let doc = parse_json(&diff_as("json", &old, &new, 5));
    let c = &doc["meta"]["counts"];
    assert_eq!(
        (c["changed"].as_u64(), c["new"].as_u64(), c["gone"].as_u64()),
        (Some(2), Some(2), Some(1))
    );
    // PID 200: the process that exited is gone, the one that got its PID is new.
    let gone = row_with(&doc, "pid", 200, Some(1200));
    assert_eq!(gone["status"], "gone");
    assert_eq!(gone["command"], "beta");
    assert_eq!(gone["pss_bytes"]["old"], k(140));
    assert_eq!(gone["pss_bytes"]["new"], Value::Null);
    assert_eq!(gone["pss_bytes"]["change"], -(k(140) as i64));
    let reused = row_with(&doc, "pid", 200, Some(9999));
    assert_eq!(reused["status"], "new");
    assert_eq!(reused["command"], "delta");
    assert_eq!(reused["pss_bytes"]["change"], k(612));
    assert_eq!(reused["pss_bytes"]["change_pct"], Value::Null);
    // The heap grew by exactly 128 KiB.
    let alpha = row_with(&doc, "pid", 100, None);
    assert_eq!(alpha["status"], "changed");
    assert_eq!(alpha["pss_bytes"]["change"], k(128));
    assert_eq!(alpha["uss_bytes"]["change"], k(128));
    assert_eq!(alpha["rss_bytes"]["change"], k(128));
    assert_eq!(alpha["pss_bytes"]["old"], k(1188));
    assert_eq!(alpha["pss_bytes"]["new"], k(1316));
    let pct = alpha["pss_bytes"]["change_pct"].as_f64().expect("percent");
    assert!((pct - 128.0 * 100.0 / 1188.0).abs() < 1e-9, "{pct}");
    assert_eq!(row_with(&doc, "pid", 400, None)["status"], "new");
    assert_eq!(
        row_with(&doc, "pid", 300, None)["pss_bytes"]["change"],
        k(80)
    );
    // Largest absolute change first; equal changes in key order.
    let order: Vec<(u64, u64)> = doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["pid"].as_u64().expect("pid"),
                r["start_time"].as_u64().expect("start"),
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            (200, 9999),
            (200, 1200),
            (100, 1100),
            (400, 1400),
            (300, 1300)
        ]
    );
    let totals = &doc["totals"]["pss_bytes"];
    assert_eq!(totals["change"], k(612 - 140 + 128 + 128 + 80));

    // By file: the object and path, over every process.
    let old = save(&before(), &[], dir.path(), "old-file.json");
    let new = save(&after(), &[], dir.path(), "new-file.json");
    let doc = parse_json(&diff_as("json", &old, &new, 5));
    let by_path = |p: &[u8]| -> &Value {
        doc["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| exact(r, "path") == p)
            .unwrap_or_else(|| panic!("no row {} in {doc:#}", String::from_utf8_lossy(p)))
    };
    assert_eq!(by_path(b"[heap]")["pss_bytes"]["change"], k(128));
    assert_eq!(by_path(b"")["pss_bytes"]["change"], k(512 + 128));
    assert_eq!(by_path(b"")["processes"]["change"], 2);
    let hostile = by_path(HOSTILE);
    assert_eq!(hostile["status"], "changed");
    assert_eq!(
        (hostile["device"].as_str(), hostile["inode"].as_u64()),
        (Some("fe:00"), Some(77))
    );
    assert_eq!(hostile["pss_bytes"]["change"], k(40));
    // The shared library did not change: not listed.
    assert!(
        !doc["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .any(|r| exact(r, "path") == LIB)
    );
}

#[test]
fn hostile_names_survive_a_diff_in_every_format() {
    let dir = open_tempdir();
    for (group, name_col, name) in [
        ("process", "command", HOSTILE_CMD),
        ("file", "path", HOSTILE),
    ] {
        let old = save(&before(), &["-g", group], dir.path(), "old.json");
        let new = save(&after(), &["-g", group], dir.path(), "new.json");
        // JSON: the exact bytes, through the `_hex` companion.
        let doc = parse_json(&diff_as("json", &old, &new, 5));
        let rows = doc["rows"].as_array().expect("rows");
        assert!(
            rows.iter().any(|r| exact(r, name_col) == name),
            "{group}: {doc:#}"
        );
        // CSV: escaped, never a formula, one record per row.
        let csv = diff_as("csv", &old, &new, 5);
        let records = csv_records(&csv.stdout);
        assert_eq!(records.len(), rows.len(), "{group}");
        let shown: Vec<&String> = records.iter().map(|r| &r[name_col]).collect();
        let expected = match group {
            "process" => "'=HYPERLINK(\"http://x\")\\xff\\x09serve",
            _ => "/tmp/caf\\xe9 =SUM(A1)\\x1b[2J\\012.db",
        };
        assert!(shown.iter().any(|s| *s == expected), "{group}: {shown:?}");
        // The table: escaped, no control byte but newlines.
        let table = diff_as("table", &old, &new, 5);
        assert!(
            table.stdout.iter().all(|&b| b == b'\n' || b >= 0x20),
            "{group}: raw control bytes in the table:\n{}",
            text(&table.stdout)
        );
        assert!(text(&table.stdout).contains("\\xff") || text(&table.stdout).contains("\\xe9"));
    }
}

#[test]
fn thresholds_on_a_live_helpers_growth_and_its_exact_bytes() {
    let libs = PrivateLibs::new();
    // 8 MiB written at once 3 s after ready, and nothing else (its libraries are its own).
    let helper = libs.spawn(["--step-after", "3000:8M"]);
    std::thread::sleep(Duration::from_millis(300));
    let pid = helper.pid.to_string();
    let dir = open_tempdir();
    let report = |name: &str| {
        let out = pmaps_ok(["-g", "process", "-p", &pid, "-f", "json"], 0);
        let path = dir.path().join(name);
        std::fs::write(&path, &out.stdout).expect("write");
        path
    };
    let uss_kb = || {
        read_smaps(helper.pid)
            .iter()
            .map(|r| r.kb("Private_Clean").unwrap_or(0) + r.kb("Private_Dirty").unwrap_or(0))
            .sum::<u64>()
    };
    let uss_before = uss_kb();
    let old = report("before.json");
    assert_eq!(uss_kb(), uss_before, "the helper changed before its step");
    let deadline = Instant::now() + Duration::from_secs(30);
    while uss_kb() < uss_before + 8 * 1024 {
        assert!(Instant::now() < deadline, "the helper never stepped");
        std::thread::sleep(Duration::from_millis(50));
    }
    let uss_after = uss_kb();
    let new = report("after.json");
    assert_eq!(
        uss_after - uss_before,
        8 * 1024,
        "the oracle sees the step alone"
    );
    let doc = parse_json(&diff_as("json", &old, &new, 5));
    let rows = doc["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{doc:#}");
    let r = &rows[0];
    assert_eq!(r["pid"], helper.pid);
    assert_eq!(r["status"], "changed");
    for m in ["uss_bytes", "pss_bytes", "rss_bytes"] {
        assert_eq!(r[m]["change"], 8 << 20, "{m}");
    }
    assert_eq!(r["uss_bytes"]["new"].as_u64(), Some(uss_after * 1024));
    // The filters the old report was made with are recorded, and a diff against now uses them.
    assert_eq!(
        parse_json(&output({
            let mut c = pmaps_cmd();
            c.arg("-g")
                .arg("process")
                .arg("-p")
                .arg(&pid)
                .arg("-f")
                .arg("json");
            c
        }))["meta"]["filters"],
        serde_json::json!({"pids": [helper.pid]})
    );
    let now = parse_json(&diff(
        [old.as_os_str(), OsStr::new("-f"), OsStr::new("json")],
        5,
    ));
    assert_eq!(now["meta"]["new"]["name"], "now");
    assert_eq!(now["rows"].as_array().expect("rows").len(), 1, "{now:#}");
    assert_eq!(now["rows"][0]["uss_bytes"]["change"], 8 << 20);
    // --min-change: 8 MiB passes 8M and 5 %, not 9M nor 10000 %.
    let with = |min: &str, code| {
        diff(
            [
                old.as_os_str(),
                new.as_os_str(),
                OsStr::new("--min-change"),
                OsStr::new(min),
            ],
            code,
        )
    };
    with("8M", 5);
    with("5%", 5);
    let quiet = with("9M", 0);
    assert!(
        stdout(&quiet).contains("1 below --min-change 9,437,184 bytes of pss"),
        "{}",
        stdout(&quiet)
    );
    with("10000%", 0);
    // The table: signed human units.
    let table = stdout(&diff(
        [
            old.as_os_str(),
            new.as_os_str(),
            OsStr::new("-s"),
            OsStr::new("uss"),
        ],
        5,
    ));
    assert!(table.contains("+8.0"), "{table}");
    helper.kill();
}

#[test]
fn a_process_denied_in_one_report_is_unread_not_new_memory() {
    let dir = open_tempdir();
    let old_tree = after();
    set_mode(&old_tree.root().join("300").join("smaps_rollup"), 0o000);
    let out = run_pmaps_as_nobody([
        OsStr::new("--proc-root"),
        old_tree.root().as_os_str(),
        OsStr::new("-g"),
        OsStr::new("process"),
        OsStr::new("-f"),
        OsStr::new("json"),
    ]);
    assert_exit(&out, 3);
    let old = dir.path().join("old.json");
    std::fs::write(&old, &out.stdout).expect("write");
    let new = save(&after(), &["-g", "process"], dir.path(), "new.json");
    let doc = parse_json(&diff_as("json", &old, &new, 0));
    let r = row_with(&doc, "pid", 300, None);
    assert_eq!(r["status"], "unread");
    assert_eq!(r["pss_bytes"]["change"], Value::Null);
    assert_eq!(doc["meta"]["counts"]["unread"], 1);
    assert_eq!(doc["meta"]["counts"]["new"], 0);
    assert_eq!(doc["meta"]["old"]["coverage"]["outcomes"]["denied"], 1);
    let table = stdout(&diff([old.as_os_str(), new.as_os_str()], 0));
    assert!(
        table.contains("1 unread (read in one report only: not counted as new or gone)"),
        "{table}"
    );
    assert!(table.contains(" 1 denied (partial)"), "{table}");
}

#[test]
fn reports_that_cannot_be_compared_are_refused_with_a_reason() {
    let dir = open_tempdir();
    let fake = before();
    let by_file = save(&fake, &[], dir.path(), "file.json");
    let by_process = save(&fake, &["-g", "process"], dir.path(), "process.json");
    let err = stderr(&diff([&by_file, &by_process], 2));
    assert!(
        err.contains("is grouped by file and") && err.contains("by process"),
        "{err}"
    );
    // Another host: refused, unless forced.
    let other = before();
    std::fs::create_dir_all(other.root().join("sys/kernel")).expect("mkdir");
    std::fs::write(other.root().join("sys/kernel/hostname"), "elsewhere\n").expect("write");
    let elsewhere = save(&other, &[], dir.path(), "elsewhere.json");
    let err = stderr(&diff([&by_file, &elsewhere], 2));
    assert!(
        err.contains("of host unknown") && err.contains("of host elsewhere"),
        "{err}"
    );
    diff(
        [
            by_file.as_os_str(),
            elsewhere.as_os_str(),
            OsStr::new("--force"),
        ],
        0,
    );
    // A report cut by -n would make rows look gone.
    let cut = save(&fake, &["-n", "1"], dir.path(), "cut.json");
    let err = stderr(&diff([&cut, &by_file], 2));
    assert!(err.contains("lists 1 of its"), "{err}");
    // Not a report.
    let show = {
        let out = output({
            let mut c = pmaps_on(fake.root());
            c.args(["show", "100", "-f", "json"]);
            c
        });
        let p = dir.path().join("show.json");
        std::fs::write(&p, &out.stdout).expect("write");
        p
    };
    assert!(
        stderr(&diff([&show, &by_file], 1)).contains("is a `pmaps show` document, not a report")
    );
    let future = dir.path().join("future.json");
    let text_of = std::fs::read_to_string(&by_file).expect("read");
    std::fs::write(
        &future,
        text_of.replacen("\"schema_version\": 1", "\"schema_version\": 99", 1),
    )
    .expect("write");
    assert!(stderr(&diff([&future, &by_file], 1)).contains("schema version 99"));
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, b"\xff\xfe not json").expect("write");
    assert!(stderr(&diff([&junk, &by_file], 1)).contains("not a pmaps JSON document"));
    assert!(stderr(&diff([&dir.path().join("missing.json"), &by_file], 1)).contains("cannot read"));
    // A report saved with --columns lacks columns a diff needs.
    let chosen = save(&fake, &["--columns", "path,pss"], dir.path(), "chosen.json");
    let err = stderr(&diff([&chosen, &by_file], 1));
    assert!(err.contains("saved with --columns"), "{err}");
    // Report options mean nothing to diff, nor its pictures.
    let out = run_pmaps(["-g", "process", "diff", by_file.to_str().expect("utf-8")]);
    assert_exit(&out, 2);
    for format in ["svg", "prometheus"] {
        let out = run_pmaps(["diff", by_file.to_str().expect("utf-8"), "-f", format]);
        assert_exit(&out, 2);
        assert!(
            stderr(&out).contains("takes table, csv or json"),
            "{format}"
        );
    }
}
