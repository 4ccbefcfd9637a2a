//! The grouped views of the fake tree: per process (from smaps and from the rollup), per
//! user, command and kind, and the file → process breakdown in CSV, table and JSON.

use super::expected::*;
use super::tree::*;
use crate::support::*;

#[test]
fn process_view_from_smaps_and_from_the_rollup() {
    let fake = tree();
    let out = run(
        &fake,
        &[
            "-p", GOOD, "-g", "process", "--source", "smaps", "-f", "csv",
        ],
    );
    assert_eq!(expect_exit(&out, 0), process_csv(true));
    // auto = the rollup for per-process totals: no mapping count, VSZ from stat's vsize,
    // PSS as the rollup has it (1 kB above the smaps sum for 100 and 300).
    for source in ["auto", "rollup"] {
        let out = run(
            &fake,
            &["-p", GOOD, "-g", "process", "--source", source, "-f", "csv"],
        );
        assert_eq!(
            expect_exit(&out, 0),
            process_csv(false),
            "--source {source}"
        );
    }
}

#[test]
fn process_table_from_the_rollup() {
    let fake = tree();
    let out = run(&fake, &["-p", GOOD, "-g", "process"]);
    let text = expect_exit(&out, 0);
    // (The first line starts with spaces: it cannot follow a `\` line continuation.)
    let want =
        "  PID  User    Command           Maps   VSZ   RSS   PSS   USS  Shared  Swap  SwapPSS
------ ------- ----------------- ----- ----- ----- ----- ----- ------- ----- --------
  100  root    alpha --serve        -  4.3M  1.9M  1.4M  1.1M    876K    8K       8K
  200  nobody  /usr/bin/beta -x     -  2.9M  1.5M  1.0M  696K    876K     0        0
  300  root    -bash                -  1.7M  660K  421K  300K    360K     0        0
  400  root    [@old]               -   96K   20K   20K   20K       0     0        -
TOTAL                               -  9.0M  4.1M  2.9M  2.1M    2.1M    8K        -
";
    let want = format!("{want}{}", good_coverage("totals from smaps_rollup"));
    assert_eq!(without_duration(&text), want, "got:\n{text}");
}

#[test]
fn user_command_and_kind_views() {
    let fake = tree();
    let out = run(&fake, &["-p", GOOD, "-g", "user", "-f", "csv"]);
    // root owns 100, 300 and 400: their rollup amounts added up, and 400's unknown SwapPss
    // makes the sum unknown; nobody owns 200 alone.
    let root: [u64; 6] =
        std::array::from_fn(|i| FROM_ROLLUP[0].0[i] + FROM_ROLLUP[2].0[i] + FROM_ROLLUP[3].0[i]);
    assert_eq!(
        expect_exit(&out, 0),
        csv(
            &group_header("user"),
            &[
                &format!("root,3,{}", amounts_csv(None, (root, None))),
                &format!("nobody,1,{}", amounts_csv(None, FROM_ROLLUP[1])),
            ]
        )
    );
    // Per command name (comm); `@old` would run as a formula in a spreadsheet.
    let out = run(
        &fake,
        &[
            "-p", GOOD, "-g", "command", "-f", "csv", "--source", "smaps",
        ],
    );
    let rows: Vec<String> = PROCS
        .iter()
        .zip(FROM_SMAPS)
        .map(|(p, (maps, amounts))| {
            format!("{},1,{}", p.comm_csv, amounts_csv(Some(maps), amounts))
        })
        .collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    assert_eq!(expect_exit(&out, 0), csv(&group_header("command"), &rows));
    let out = run(&fake, &["-p", GOOD, "-g", "kind", "-f", "csv"]);
    // Every kind but `file` is one file of the file view, under the kind's name.
    let one_file = |path: &str| {
        let s = spec_of(path);
        format!("{},{}", s.kind, s.counts_and_amounts_csv())
    };
    assert_eq!(
        expect_exit(&out, 0),
        csv(
            &group_header("kind"),
            &[
                &one_file(""),
                &one_file("/memfd:cache (deleted)"),
                &one_file("/SYSV0000abcd (deleted)"),
                &format!(
                    "file,4,9,{},{},{},{},{},0,",
                    k(3412),
                    k(1148),
                    k(428),
                    k(68),
                    k(1080)
                ),
                &one_file("[heap]"),
                &one_file("/var/tmp/old.log (deleted)"),
                &one_file("[stack]"),
                &one_file("[vdso]"),
            ]
        )
    );
    let out = run(
        &fake,
        &["-p", GOOD, "-g", "kind", "-f", "csv", "-s", "kind"],
    );
    let text = expect_exit(&out, 0);
    let kinds: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap_or(""))
        .collect();
    assert_eq!(
        kinds,
        [
            "anon", "deleted", "file", "heap", "memfd", "shm", "stack", "vdso"
        ]
    );
}

#[test]
fn file_process_view() {
    let fake = tree();
    let out = run(
        &fake,
        &[
            "-p",
            GOOD,
            "-g",
            "file,process",
            "-m",
            "libshared|SYSV",
            "-f",
            "csv",
        ],
    );
    // path,kind,device,inode of a file, then pid,start_time,user,command of the process at
    // `i` in PROCS.
    let pair = |path: &str, i: usize| format!("{},{}", spec_of(path).key_csv(), PROCS[i].key_csv());
    // Every process maps SysV once (1 MiB, half of its pages resident, shared with the
    // other), libshared twice (text and data).
    let sysv = |i: usize| {
        format!(
            "{},,1,{},{},{},0,{},0,0",
            pair("/SYSV0000abcd (deleted)", i),
            k(1024),
            k(512),
            k(256),
            k(512)
        )
    };
    let lib = |i: usize| {
        format!(
            "{},,2,{},{},{},0,{},0,0",
            pair("/usr/lib/libshared.so.1", i),
            k(1088),
            k(360),
            k(120),
            k(360)
        )
    };
    assert_eq!(
        expect_exit(&out, 0),
        csv(
            FILE_PROCESS_HEADER,
            &[&sysv(0), &sysv(1), &lib(0), &lib(1), &lib(2)]
        )
    );
    let out = run(
        &fake,
        &["-p", GOOD, "-g", "file,process", "-m", "libshared|SYSV"],
    );
    let text = expect_exit(&out, 0);
    let want = "\
Mapping                  Kind  PID  User    Command           Procs  Maps   VSZ   RSS   PSS  USS  Shared  Swap  SwapPSS
------------------------ ----- ---- ------- ----------------- ------ ----- ----- ----- ----- ---- ------- ----- --------
/SYSV0000abcd (deleted)  shm                                      2     2  2.0M  1.0M  512K    0    1.0M     0        0
                               100  root    alpha --serve               1  1.0M  512K  256K    0    512K     0        0
                               200  nobody  /usr/bin/beta -x            1  1.0M  512K  256K    0    512K     0        0
/usr/lib/libshared.so.1  file                                     3     6  3.2M  1.1M  360K    0    1.1M     0        0
                               100  root    alpha --serve               2  1.1M  360K  120K    0    360K     0        0
                               200  nobody  /usr/bin/beta -x            2  1.1M  360K  120K    0    360K     0        0
                               300  root    -bash                       2  1.1M  360K  120K    0    360K     0        0
TOTAL                                                             3     8  5.2M  2.1M  872K    0    2.1M     0        0
";
    let want = format!("{want}{}", good_coverage("8 mappings from smaps"));
    assert_eq!(without_duration(&text), want, "got:\n{text}");
}

#[test]
fn json_file_process_view_nests_the_processes() {
    let fake = tree();
    let out = run(
        &fake,
        &["-p", GOOD, "-g", "file,process", "-m", "SYSV", "-f", "json"],
    );
    let v: serde_json::Value = serde_json::from_str(&expect_exit(&out, 0)).expect("json");
    assert_eq!(v["meta"]["group_by"], "file,process");
    let rows = v["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1);
    let sysv = spec_of("/SYSV0000abcd (deleted)");
    assert_eq!(rows[0]["path"], sysv.path);
    assert_eq!(rows[0]["device"], sysv.object.0);
    assert_eq!(rows[0]["inode"], sysv.object.1);
    assert_eq!(rows[0]["processes"], 2);
    assert_eq!(rows[0]["pss_bytes"], k(512));
    // The file's row is no one process.
    let row = rows[0].as_object().expect("row object");
    assert!(
        !row.contains_key("pid") && !row.contains_key("start_time"),
        "{row:?}"
    );
    let children = rows[0]["by_process"].as_array().expect("by_process");
    // Each process under the file: the file's object, the process's PID and start time.
    let got: Vec<(&str, u64, u64, u64, &str, &str, u64)> = children
        .iter()
        .map(|c| {
            (
                c["device"].as_str().expect("device"),
                c["inode"].as_u64().expect("inode"),
                c["pid"].as_u64().expect("pid"),
                c["start_time"].as_u64().expect("start_time"),
                c["user"].as_str().expect("user"),
                c["command"].as_str().expect("command"),
                c["pss_bytes"].as_u64().expect("pss"),
            )
        })
        .collect();
    let (device, inode) = sysv.object;
    let child = |i: usize| {
        let p = &PROCS[i];
        (
            device,
            inode,
            u64::from(p.pid),
            p.start_time,
            p.user,
            p.command,
            k(256),
        )
    };
    assert_eq!(got, [child(0), child(1)]);
}
