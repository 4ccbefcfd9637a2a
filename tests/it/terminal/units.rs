//! A unit per cell by default (`16G` beside `4K`, as `du -h` prints), `--units KiB|MiB|GiB`
//! to fix one for every cell; `show` keeps KiB (pmap's unit) unless told otherwise; CSV and
//! JSON carry bytes whatever the unit.

use super::anon_process;
use crate::support::*;

/// 101 maps 16 GiB, 202 maps 4 KiB (both resident).
fn tree() -> FakeProc {
    let fake = FakeProc::new();
    anon_process(&fake, 101, "big", &[16 << 20]).write();
    anon_process(&fake, 202, "small", &[4]).write();
    fake
}

fn table(fake: &FakeProc, args: &[&str]) -> String {
    let mut cmd = pmaps_on(fake.root());
    cmd.args(args);
    without_duration(&expect_exit(&output(cmd), 0))
}

#[test]
fn each_cell_has_its_own_unit_by_default() {
    let fake = tree();
    assert_eq!(
        table(&fake, &["-g", "process"]),
        "  PID  User  Command       Maps  VSZ  RSS  PSS  USS  Shared  Swap  SwapPSS\n\
         ------ ----- ------------- ----- ---- ---- ---- ---- ------- ----- --------\n\
         \x20 101  root  big --flag       -  16G  16G  16G  16G       0     0        0\n\
         \x20 202  root  small --flag     -   4K   4K   4K   4K       0     0        0\n\
         TOTAL                         -  16G  16G  16G  16G       0     0        0\n\
         2 processes: 2 read; totals from smaps_rollup; <t> s\n"
    );
}

#[test]
fn units_fixes_one_unit_for_every_cell() {
    let fake = tree();
    let want = [
        "  PID  User  Command       Maps   VSZ MiB   RSS MiB   PSS MiB   USS MiB  Shared MiB  \
         Swap MiB  SwapPSS MiB",
        "------ ----- ------------- ----- --------- --------- --------- --------- ----------- \
         --------- ------------",
        "  101  root  big --flag       -  16,384.0  16,384.0  16,384.0  16,384.0           0  \
         \x20      0            0",
        "  202  root  small --flag     -      <0.1      <0.1      <0.1      <0.1           0  \
         \x20      0            0",
        "TOTAL                         -  16,384.0  16,384.0  16,384.0  16,384.0           0  \
         \x20      0            0",
        "2 processes: 2 read; totals from smaps_rollup; <t> s",
    ];
    assert_eq!(
        table(&fake, &["-g", "process", "--units", "MiB"]),
        format!("{}\n", want.join("\n"))
    );
    let pss_of = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["-g", "process"];
        all.extend_from_slice(args);
        table(&fake, &all)
            .lines()
            .skip(2)
            .take(2)
            .map(|l| l.split_whitespace().nth(6).expect("PSS").to_string())
            .collect()
    };
    assert_eq!(pss_of(&["--units", "kib"]), ["16,777,216", "4"]);
    assert_eq!(pss_of(&["--units", "GiB"]), ["16.0", "<0.1"]);
    assert_eq!(pss_of(&["--units", "auto"]), ["16G", "4K"]);
    let out = run_pmaps(["--units", "TB"]);
    assert_exit(&out, 2);
}

#[test]
fn show_keeps_kib_unless_told_otherwise() {
    let fake = tree();
    let kib = table(&fake, &["show", "202"]);
    assert!(
        kib.lines()
            .nth(1)
            .expect("header")
            .contains("Size KiB  RSS KiB"),
        "{kib}"
    );
    assert!(
        kib.contains("\nTOTAL                                                     4        4 ")
    );
    let auto = table(&fake, &["show", "--units", "auto", "202"]);
    assert_eq!(
        auto,
        "202: small --flag (root)\n\
         Address            Perms  Offset    Device  Inode  Size  RSS  PSS  USS  Dirty  Swap  \
         SwapPSS  Kind  Mapping\n\
         ------------------ ------ --------- ------- ------ ----- ---- ---- ---- ------ ----- \
         -------- ----- ----------\n\
         40000000-40001000  rw-p   00000000  00:00       0    4K   4K   4K   4K     4K     0  \
         \x20     0  anon  [anon]\n\
         TOTAL                                                4K   4K   4K   4K     4K     0  \
         \x20     0        1 mapping\n"
    );
}

#[test]
fn machine_formats_carry_bytes_whatever_the_unit() {
    let fake = tree();
    for units in ["auto", "KiB", "GiB"] {
        let mut cmd = pmaps_on(fake.root());
        cmd.args(["-g", "process", "-f", "csv", "--units", units]);
        let rows = csv_records(&output(cmd).stdout);
        assert_eq!(num(&rows[0], "pss_bytes"), 16 << 30);
        assert_eq!(num(&rows[1], "pss_bytes"), 4096);
    }
}
