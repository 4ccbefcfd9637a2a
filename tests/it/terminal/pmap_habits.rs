//! pmap habits: `pmaps PID...` shows those PIDs as `pmaps show` does, and `-g process,file`
//! lists each process and then the files it maps (the turn-around of `-g file,process`).

use serde_json::Value;

use super::{mapping_process, run_on as run};
use crate::support::*;

const LIB_A: &[u8] = b"/usr/lib/liba.so.1";
const LIB_B: &[u8] = b"/usr/lib/libb.so.1";
const SHARED: &[u8] = b"/usr/lib/libshared.so.2";

/// 101 maps liba (200 kB), the shared library (64 kB) and 1,000 kB of anonymous memory;
/// 202 maps libb (300 kB), the shared library and 2,000 kB.
fn tree() -> FakeProc {
    let fake = FakeProc::new();
    mapping_process(
        &fake,
        101,
        "alpha",
        &[(LIB_A, 200), (SHARED, 64), (b"", 1000)],
    )
    .write();
    mapping_process(
        &fake,
        202,
        "beta",
        &[(LIB_B, 300), (SHARED, 64), (b"", 2000)],
    )
    .write();
    fake
}

#[test]
fn bare_pids_are_shown_as_pmaps_show_shows_them() {
    let fake = tree();
    for format in ["table", "csv"] {
        let bare = run(&fake, &["-f", format, "202", "101"]);
        let show = run(&fake, &["-f", format, "show", "202", "101"]);
        assert_exit(&bare, 0);
        assert_eq!(stdout(&bare), stdout(&show), "{format}");
        assert!(stdout(&bare).starts_with(if format == "csv" { "pid," } else { "202: beta" }));
    }
    // A PID that is no process: as `pmaps show` says it.
    let bare = run(&fake, &["101", "999"]);
    let show = run(&fake, &["show", "101", "999"]);
    assert_exit(&bare, 3);
    assert_eq!(stderr(&bare), stderr(&show));
    assert_eq!(stderr(&bare), "pmaps: no process 999\n");
    // JSON's meta says when it ran: compare the processes.
    let bare = parse_json(&run(&fake, &["-f", "json", "101"]));
    let show = parse_json(&run(&fake, &["-f", "json", "show", "101"]));
    assert_eq!(bare["processes"], show["processes"]);
}

#[test]
fn a_bare_name_or_a_report_option_is_a_usage_error() {
    let fake = tree();
    let out = run(&fake, &["alpha"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("not a PID (a process is shown by name with `pmaps show alpha`)"),
        "{}",
        stderr(&out)
    );
    let out = run(&fake, &["-g", "user", "101"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).starts_with("pmaps: --group-by applies to the report"),
        "{}",
        stderr(&out)
    );
}

fn strs(v: &Value, key: &str) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|r| r[key].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn process_file_lists_each_process_then_its_files() {
    let fake = tree();
    let out = run(&fake, &["-g", "process,file", "-f", "json"]);
    assert_exit(&out, 0);
    let doc = parse_json(&out);
    assert_eq!(doc["meta"]["group_by"], "process,file");
    assert_eq!(doc["meta"]["source"], "smaps");
    let rows = doc["rows"].as_array().expect("rows");
    let pids: Vec<u64> = rows
        .iter()
        .map(|r| r["pid"].as_u64().expect("pid"))
        .collect();
    assert_eq!(pids, [202, 101]);
    // A process's row is its totals; its files follow, by PSS.
    assert_eq!(rows[0]["pss_bytes"], k(300 + 64 + 2000));
    assert_eq!(rows[0]["command"], "beta --flag");
    assert!(rows[0].get("path").is_none());
    let files = &rows[0]["by_file"];
    assert_eq!(
        strs(files, "path"),
        ["", "/usr/lib/libb.so.1", "/usr/lib/libshared.so.2"]
    );
    assert_eq!(strs(files, "kind"), ["anon", "file", "file"]);
    let pss: Vec<u64> = files
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["pss_bytes"].as_u64().expect("pss"))
        .collect();
    assert_eq!(pss, [k(2000), k(300), k(64)]);
    assert!(
        files
            .as_array()
            .expect("files")
            .iter()
            .all(|f| f["pid"] == 202)
    );
    assert_eq!(strs(&rows[1]["by_file"], "path")[1], "/usr/lib/liba.so.1");
    assert_eq!(
        doc["totals"]["pss_bytes"],
        k(200 + 64 + 1000 + 300 + 64 + 2000)
    );

    // CSV: one row per (process, file), every column filled.
    let out = run(&fake, &["-g", "process,file", "-f", "csv"]);
    let text = expect_exit(&out, 0);
    assert!(
        text.starts_with(
            "pid,start_time,user,command,path,kind,device,inode,mappings,size_bytes,rss_bytes,\
             pss_bytes,uss_bytes,shared_bytes,swap_bytes,swap_pss_bytes\r\n"
        ),
        "{text}"
    );
    let rows = csv_records(&out.stdout);
    assert_eq!(rows.len(), 6);
    assert_eq!(rows[1]["pid"], "202");
    assert_eq!(rows[1]["path"], "/usr/lib/libb.so.1");
    assert_eq!(num(&rows[1], "pss_bytes"), k(300));
}

#[test]
fn process_file_as_a_table_and_cut_by_top() {
    let fake = tree();
    let out = run(
        &fake,
        &["-g", "process,file", "-n", "2", "-s", "pid", "--reverse"],
    );
    let want = [
        "  PID  User  Command       Mapping             Kind  Maps    VSZ    RSS    PSS    USS  \
         Shared  Swap  SwapPSS",
        "------ ----- ------------- ------------------- ----- ----- ------ ------ ------ ------ \
         ------- ----- --------",
        "  101  root  alpha --flag                               3   1.2M   1.2M   1.2M   1.2M  \
         \x20    0     0        0",
        "                           [anon]              anon     1  1000K  1000K  1000K  1000K  \
         \x20    0     0        0",
        "                           /usr/lib/liba.so.1  file     1   200K   200K   200K   200K  \
         \x20    0     0        0",
        "                           ... 1 more file",
        "  202  root  beta --flag                                3   2.3M   2.3M   2.3M   2.3M  \
         \x20    0     0        0",
        "                           [anon]              anon     1   2.0M   2.0M   2.0M   2.0M  \
         \x20    0     0        0",
        "                           /usr/lib/libb.so.1  file     1   300K   300K   300K   300K  \
         \x20    0     0        0",
        "                           ... 1 more file",
        "TOTAL                                                   6   3.5M   3.5M   3.5M   3.5M  \
         \x20    0     0        0",
        "2 processes: 2 read; 6 mappings from smaps; <t> s",
    ];
    assert_eq!(
        without_duration(&expect_exit(&out, 0)),
        format!("{}\n", want.join("\n"))
    );
}
