//! The file view (`-g file`, the default) of the fake tree: exact CSV and table, sorting,
//! `-n`, the filters and the totals they leave, CSV read back, and `--vsz`/`--source maps`.

use super::expected::*;
use super::tree::*;
use crate::support::*;

#[test]
fn file_view_csv_is_exact_and_complete() {
    let fake = tree();
    let out = run(&fake, &["-p", GOOD, "-f", "csv"]);
    let text = expect_exit(&out, 0);
    assert_eq!(text, file_csv(&all_file_paths()));
    // A complete report sends nothing to a non-terminal stderr.
    assert_eq!(stderr(&out), "");
    // The same bytes whatever the number of workers.
    for threads in ["1", "3"] {
        let out = run(&fake, &["-p", GOOD, "-f", "csv", "-j", threads]);
        assert_eq!(expect_exit(&out, 0), text, "-j {threads}");
    }
}

#[test]
fn file_view_table_is_exact_with_totals_and_coverage_footer() {
    let fake = tree();
    let out = run(&fake, &["-p", GOOD]);
    let text = expect_exit(&out, 0);
    let want = format!("{FILE_TABLE}{}", good_coverage("21 mappings from smaps"));
    assert_eq!(without_duration(&text), want, "got:\n{text}");
}

#[test]
fn sort_reverse_and_top() {
    let fake = tree();
    // By RSS, largest first (ties by path).
    let out = run(&fake, &["-p", GOOD, "-f", "csv", "-s", "rss"]);
    assert_eq!(
        expect_exit(&out, 0),
        file_csv(&[
            "",
            "/usr/lib/libshared.so.1",
            "/SYSV0000abcd (deleted)",
            "/memfd:cache (deleted)",
            "[heap]",
            "/var/tmp/old.log (deleted)",
            "/opt/caf\\xe9/lib.so",
            "[stack]",
            "/usr/lib/libold.so",
            "/tmp/data,\"quoted\".db",
            "[vdso]",
        ])
    );
    // Reversed: smallest first, the ties too.
    let out = run(
        &fake,
        &["-p", GOOD, "-f", "csv", "-s", "rss", "--reverse", "-n", "4"],
    );
    assert_eq!(
        expect_exit(&out, 0),
        file_csv(&[
            "[vdso]",
            "/tmp/data,\"quoted\".db",
            "/usr/lib/libold.so",
            "[stack]"
        ])
    );
    // Text columns sort A to Z (bytes order); the CSV name of a column is accepted too.
    let out = run(
        &fake,
        &["-p", GOOD, "-f", "csv", "--sort", "path", "-n", "5"],
    );
    assert_eq!(
        expect_exit(&out, 0),
        file_csv(&[
            "",
            "/SYSV0000abcd (deleted)",
            "/memfd:cache (deleted)",
            "/opt/caf\\xe9/lib.so",
            "/tmp/data,\"quoted\".db",
        ])
    );
    let out = run(
        &fake,
        &["-p", GOOD, "-f", "csv", "-s", "size_bytes", "-n", "2"],
    );
    assert_eq!(
        expect_exit(&out, 0),
        file_csv(&["/usr/lib/libshared.so.1", ""])
    );
    // -n 0 means every row.
    let out = run(&fake, &["-p", GOOD, "-f", "csv", "-n", "0"]);
    assert_eq!(expect_exit(&out, 0), file_csv(&all_file_paths()));
}

#[test]
fn top_in_the_table_keeps_the_totals_of_everything() {
    let fake = tree();
    let out = run(&fake, &["-p", GOOD, "-n", "2"]);
    let text = expect_exit(&out, 0);
    let want = "\
Mapping                  Kind  Procs  Maps   VSZ   RSS   PSS   USS  Shared  Swap  SwapPSS
------------------------ ----- ------ ----- ----- ----- ----- ----- ------- ----- --------
[anon]                   anon      2     2  2.5M  1.2M  1.2M  1.2M       0    8K       8K
/SYSV0000abcd (deleted)  shm       2     2  2.0M  1.0M  512K     0    1.0M     0        0
TOTAL                              4    21  9.0M  4.1M  2.9M  2.1M    2.1M    8K        -
... 9 more rows (-n 0 shows all)
";
    let want = format!("{want}{}", good_coverage("21 mappings from smaps"));
    assert_eq!(without_duration(&text), want, "got:\n{text}");
}

#[test]
fn filters_by_pid_user_command_map_and_kind() {
    let fake = tree();
    // -p: only 300's mappings.
    let out = run(&fake, &["-p", "300", "-f", "csv"]);
    assert_eq!(
        expect_exit(&out, 0),
        csv(
            FILE_HEADER,
            &[
                &file_row(
                    "",
                    "anon",
                    NO_OBJECT,
                    [1, 1],
                    [512, 256, 256, 256, 0, 0],
                    Some(0)
                ),
                &file_row(
                    "/usr/lib/libshared.so.1",
                    "file",
                    spec_of("/usr/lib/libshared.so.1").object,
                    [1, 2],
                    [1088, 360, 120, 0, 360, 0],
                    Some(0)
                ),
                &file_row(
                    "/opt/caf\\xe9/lib.so",
                    "file",
                    spec_of("/opt/caf\\xe9/lib.so").object,
                    [1, 1],
                    [32, 32, 32, 32, 0, 0],
                    Some(0)
                ),
                &file_row(
                    "[stack]",
                    "stack",
                    NO_OBJECT,
                    [1, 1],
                    [132, 12, 12, 12, 0, 0],
                    Some(0)
                ),
            ]
        )
    );
    // -u by name and by number: nobody owns 200 only.
    for user in ["nobody", "65534"] {
        let out = run(&fake, &["-p", GOOD, "-u", user, "-f", "csv", "-n", "3"]);
        assert_eq!(
            expect_exit(&out, 0),
            csv(
                FILE_HEADER,
                &[
                    &file_row(
                        "/memfd:cache (deleted)",
                        "memfd",
                        spec_of("/memfd:cache (deleted)").object,
                        [1, 1],
                        [512, 512, 512, 512, 0, 0],
                        Some(0)
                    ),
                    &file_row(
                        "/SYSV0000abcd (deleted)",
                        "shm",
                        spec_of("/SYSV0000abcd (deleted)").object,
                        [1, 1],
                        [1024, 512, 256, 0, 512, 0],
                        Some(0)
                    ),
                    &file_row(
                        "[heap]",
                        "heap",
                        NO_OBJECT,
                        [1, 1],
                        [264, 128, 128, 128, 0, 0],
                        Some(0)
                    ),
                ]
            ),
            "-u {user}"
        );
    }
    // -c matches the command name or the command line: `^-bash` only the line of 300,
    // `^bash` only its comm, `serve` only the line of 100.
    for (re, pids) in [("^-bash", "300"), ("^bash$", "300"), ("serve", "100")] {
        let a = run(&fake, &["-p", GOOD, "-c", re, "-g", "process", "-f", "csv"]);
        let b = run(&fake, &["-p", pids, "-g", "process", "-f", "csv"]);
        assert_eq!(expect_exit(&a, 0), expect_exit(&b, 0), "-c {re}");
        assert_eq!(stdout(&a).lines().count(), 2, "-c {re}: {}", stdout(&a));
    }
    // -m on the path (raw bytes), -k on the kind; the totals cover what passed.
    let out = run(&fake, &["-p", GOOD, "-m", "^/usr/lib/", "-f", "csv"]);
    assert_eq!(
        expect_exit(&out, 0),
        file_csv(&["/usr/lib/libshared.so.1", "/usr/lib/libold.so"])
    );
    let out = run(&fake, &["-p", GOOD, "-m", "(?-u)caf\\xe9", "-f", "csv"]);
    assert_eq!(expect_exit(&out, 0), file_csv(&["/opt/caf\\xe9/lib.so"]));
    let out = run(
        &fake,
        &["-p", GOOD, "-k", "heap,stack", "-k", "vdso", "-f", "csv"],
    );
    assert_eq!(
        expect_exit(&out, 0),
        file_csv(&["[heap]", "[stack]", "[vdso]"])
    );
    let out = run(&fake, &["-p", GOOD, "-k", "shm,memfd,deleted", "-f", "csv"]);
    assert_eq!(
        expect_exit(&out, 0),
        file_csv(&[
            "/SYSV0000abcd (deleted)",
            "/memfd:cache (deleted)",
            "/var/tmp/old.log (deleted)"
        ])
    );
    let out = run(
        &fake,
        &["-p", GOOD, "-k", "heap", "-g", "process", "-f", "csv"],
    );
    assert_eq!(
        expect_exit(&out, 0),
        csv(
            PROCESS_HEADER,
            &[
                &format!(
                    "{},1,{},{},{},{},0,0,0",
                    PROCS[1].key_csv(),
                    k(264),
                    k(128),
                    k(128),
                    k(128)
                ),
                &format!(
                    "{},1,{},{},{},{},0,0,0",
                    PROCS[0].key_csv(),
                    k(132),
                    k(64),
                    k(64),
                    k(64)
                ),
            ]
        )
    );
}

#[test]
fn filtered_totals_and_coverage_in_the_table() {
    let fake = tree();
    let out = run(&fake, &["-p", GOOD, "-k", "heap"]);
    let text = expect_exit(&out, 0);
    let want = "\
Mapping  Kind  Procs  Maps   VSZ   RSS   PSS   USS  Shared  Swap  SwapPSS
-------- ----- ------ ----- ----- ----- ----- ----- ------- ----- --------
[heap]   heap      2     2  396K  192K  192K  192K       0     0        0
TOTAL              2     2  396K  192K  192K  192K       0     0        0
";
    let want = format!("{want}{}", good_coverage("2 mappings from smaps"));
    assert_eq!(without_duration(&text), want, "got:\n{text}");
}

#[test]
fn csv_reads_back_into_the_same_rows() {
    let fake = tree();
    let out = run(&fake, &["-p", GOOD, "-f", "csv"]);
    let text = expect_exit(&out, 0);
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = r
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(header.join(","), FILE_HEADER);
    let records: Vec<Vec<String>> = r
        .records()
        .map(|rec| rec.expect("record").iter().map(str::to_string).collect())
        .collect();
    let want = file_records();
    assert_eq!(records, want);
}

#[test]
fn maps_source_and_vsz_give_virtual_sizes_only() {
    let fake = tree();
    let rows: Vec<String> = PROCS
        .iter()
        .zip(FROM_SMAPS)
        .map(|(p, (maps, (kb, _)))| format!("{},{maps},{},,,,,,", p.key_csv(), k(kb[0])))
        .collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let want = csv(PROCESS_HEADER, &rows);
    for extra in [&["--vsz"][..], &["--source", "maps"]] {
        let mut a = vec!["-p", GOOD, "-g", "process", "-f", "csv", "-s", "size"];
        a.extend_from_slice(extra);
        let out = run(&fake, &a);
        assert_eq!(expect_exit(&out, 0), want, "{extra:?}");
    }
    let out = run(&fake, &["-p", "100", "--vsz", "-s", "size"]);
    let text = expect_exit(&out, 0);
    let want = "\
Mapping                  Kind   Procs  Maps   VSZ  RSS  PSS  USS  Shared  Swap  SwapPSS
------------------------ ------ ------ ----- ----- ---- ---- ---- ------- ----- --------
[anon]                   anon       1     1  2.0M    -    -    -       -     -        -
/usr/lib/libshared.so.1  file       1     2  1.1M    -    -    -       -     -        -
/SYSV0000abcd (deleted)  shm        1     1  1.0M    -    -    -       -     -        -
[heap]                   heap       1     1  132K    -    -    -       -     -        -
[stack]                  stack      1     1  132K    -    -    -       -     -        -
[vdso]                   vdso       1     1    8K    -    -    -       -     -        -
TOTAL                               1     7  4.3M    -    -    -       -     -        -
1 process: 1 read; 7 mappings from maps; 8 filtered out; <t> s
";
    assert_eq!(without_duration(&text), want, "got:\n{text}");
}
