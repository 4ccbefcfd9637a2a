//! Tables fit the terminal they are shown on (a pseudo-terminal of a set size, or
//! `COLUMNS`/`LINES`): paths are shortened from the middle, command lines from the end, the
//! least important columns are left out, and a report keeps the whole rows that fit the
//! screen, counted in lines. Off a terminal nothing is cut.

use std::process::Command;

use super::mapping_process;
use crate::support::*;

/// A directory name long enough to need shortening anywhere.
const DEEP: &str = "/opt/vendor/application-suite-enterprise-edition/release-2026.11/lib64";

/// 30 processes; each maps its own library under [`DEEP`] and anonymous memory; all of
/// them map the shared library.
fn tree() -> FakeProc {
    let fake = FakeProc::new();
    for i in 0..30u32 {
        let own = format!("{DEEP}/libworker-plugin-number-{i:02}.so.1.2.3");
        let shared = format!("{DEEP}/libshared-runtime.so.9");
        mapping_process(
            &fake,
            100 + i,
            &format!("worker{i:02}"),
            &[
                (own.as_bytes(), 100 + u64::from(i) * 8),
                (shared.as_bytes(), 64),
                (b"", 1000 + u64::from(i) * 100),
            ],
        )
        .write();
    }
    fake
}

fn pmaps(fake: &FakeProc, args: &[&str]) -> Command {
    let mut cmd = pmaps_on(fake.root());
    cmd.args(args);
    cmd
}

/// Screen lines the text takes on a terminal `cols` wide (one more per wrap).
fn screen_lines(text: &str, cols: usize) -> usize {
    text.lines()
        .map(|l| l.chars().count().div_ceil(cols).max(1))
        .sum()
}

/// Asserts that every line of `text` fits `cols` columns.
fn assert_fits_width(text: &str, cols: usize) {
    for line in text.lines() {
        assert!(
            line.chars().count() <= cols,
            "wider than {cols}: {line:?}\n{text}"
        );
    }
}

/// The lines of the report's rows (between the header rule and TOTAL).
fn body(text: &str) -> Vec<&str> {
    text.lines()
        .skip(2)
        .take_while(|l| !l.starts_with("TOTAL"))
        .collect()
}

#[test]
fn the_file_report_fits_80_columns_and_24_lines() {
    let fake = tree();
    let screen = run_on_terminal(pmaps(&fake, &[]), 24, 80);
    assert_eq!(screen.code(), 0, "{}", screen.stderr);
    assert!(screen.stderr.is_empty(), "{}", screen.stderr);
    // Paths keep their start and their file name; the mapping count, SwapPSS and VSZ are
    // left out (the least telling for files); 24 lines with the prompt.
    let mut want = String::from(
        "Mapping                             Kind  Procs   RSS   PSS   USS  Shared  Swap\n\
         ----------------------------------- ----- ------ ----- ----- ----- ------- -----\n\
         [anon]                              anon     30   72M   72M   72M       0     0\n\
         /opt/ven.../libshared-runtime.so.9  file     30  1.9M  1.9M  1.9M       0     0\n",
    );
    for i in (14..30).rev() {
        let kb = 100 + i * 8;
        want.push_str(&format!(
            "/opt/vendor...n-number-{i:02}.so.1.2.3  file      1  {kb}K  {kb}K  {kb}K       0     0\n"
        ));
    }
    want.push_str(
        "TOTAL                                        30   80M   80M   80M       0     0\n\
         ... 14 more rows (-n 0 shows all)\n\
         30 processes: 30 read; 90 mappings from smaps; <t> s\n",
    );
    assert_eq!(
        without_duration(&screen.text),
        want,
        "got:\n{}",
        screen.text
    );
    assert_eq!(screen_lines(&screen.text, 80) + 1, 24);
}

#[test]
fn every_view_fits_the_screen_counted_in_lines() {
    let fake = tree();
    for (rows, cols) in [(24u16, 80u16), (30, 120), (16, 60), (40, 100)] {
        for view in [
            "file",
            "process",
            "user",
            "command",
            "kind",
            "file,process",
            "process,file",
        ] {
            let screen = run_on_terminal(pmaps(&fake, &["-g", view]), rows, cols);
            assert_eq!(screen.code(), 0, "{}", screen.stderr);
            let text = &screen.text;
            assert_fits_width(text, usize::from(cols));
            let used = screen_lines(text, usize::from(cols)) + 1;
            let rows = usize::from(rows);
            assert!(used <= rows, "-g {view} on {rows}x{cols}:\n{text}");
            // Cut rows leave no room for one more: one line (a row of a flat view), or up to
            // seven (a file, five processes and "... N more").
            let slack = if view.contains(',') { 7 } else { 1 };
            if text.contains(" more rows (-n 0 shows all)") {
                assert!(used + slack > rows, "-g {view} on {rows}x{cols}:\n{text}");
            }
        }
    }
}

#[test]
fn a_long_coverage_line_counts_as_the_lines_it_wraps_to() {
    let fake = tree();
    // On 40 columns the coverage line (52 characters) takes two lines.
    let screen = run_on_terminal(pmaps(&fake, &["-g", "process"]), 20, 40);
    let text = &screen.text;
    let coverage = text.lines().last().expect("coverage line");
    assert!(coverage.chars().count() > 40, "{text}");
    assert_eq!(screen_lines(text, 40) + 1, 20, "{text}");
    assert_eq!(body(text).len(), 13, "{text}");
}

#[test]
fn messages_on_the_same_terminal_are_counted_too() {
    let fake = tree();
    // A process whose smaps is a directory: an error, so a partial report with a line on
    // stderr (two screen lines on 80 columns).
    fake.process(900).file("smaps/not-a-file", b"").write();
    let screen = run_all_on_terminal(pmaps(&fake, &[]), 24, 80);
    let text = &screen.text;
    let last = text.lines().last().expect("a line");
    assert!(
        last.starts_with("pmaps: partial report: 1 process error"),
        "{text}"
    );
    assert!(last.chars().count() > 80, "{text}");
    assert_eq!(screen_lines(text, 80) + 1, 24, "{text}");
}

#[test]
fn a_terminal_narrower_than_the_essential_columns_wraps_and_still_fits_the_height() {
    let fake = tree();
    // PID, command and PSS need more than 20 columns: each line takes two.
    let screen = run_on_terminal(pmaps(&fake, &["-g", "process"]), 24, 20);
    let text = &screen.text;
    let table: Vec<&str> = text.lines().take_while(|l| !l.starts_with("...")).collect();
    assert!(
        table.iter().all(|l| (21..=40).contains(&l.chars().count())),
        "{text}"
    );
    assert_eq!(screen_lines(text, 20) + 1, 24, "{text}");
    assert!(text.contains(" more rows (-n 0 shows all)"), "{text}");
}

#[test]
fn columns_and_lines_override_the_terminal_size() {
    let fake = tree();
    let mut cmd = pmaps(&fake, &[]);
    cmd.env("COLUMNS", "60").env("LINES", "15");
    let screen = run_on_terminal(cmd, 50, 200);
    assert_fits_width(&screen.text, 60);
    assert_eq!(screen_lines(&screen.text, 60) + 1, 15, "{}", screen.text);
}

#[test]
fn absurd_sizes_are_no_crash() {
    let fake = tree();
    for (cols, lines) in [
        ("18446744073709551615", "18446744073709551615"),
        ("0", "0"),
        ("x", "-3"),
        ("1", "1"),
    ] {
        let mut cmd = pmaps(&fake, &["-g", "file,process"]);
        cmd.env("COLUMNS", cols).env("LINES", lines);
        let screen = run_on_terminal(cmd, 24, 80);
        assert_eq!(
            screen.code(),
            0,
            "COLUMNS={cols} LINES={lines}: {}",
            screen.stderr
        );
        assert!(screen.text.starts_with("Mapping "), "{}", screen.text);
    }
}

#[test]
fn top_n_on_a_terminal_fits_the_width_not_the_height() {
    let fake = tree();
    let screen = run_on_terminal(pmaps(&fake, &["-n", "25"]), 10, 80);
    assert_fits_width(&screen.text, 80);
    assert_eq!(body(&screen.text).len(), 25, "{}", screen.text);
    assert!(screen.text.contains("\n... 7 more rows (-n 0 shows all)\n"));
}

#[test]
fn off_a_terminal_nothing_is_cut() {
    let fake = tree();
    let mut cmd = pmaps(&fake, &[]);
    cmd.env("COLUMNS", "60").env("LINES", "15");
    let text = expect_exit(&output(cmd), 0);
    let header = text.lines().next().expect("header");
    let columns: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(
        columns,
        [
            "Mapping", "Kind", "Procs", "Maps", "VSZ", "RSS", "PSS", "USS", "Shared", "Swap",
            "SwapPSS"
        ]
    );
    assert_eq!(body(&text).len(), 32);
    assert!(text.contains(&format!("{DEEP}/libworker-plugin-number-07.so.1.2.3 ")));
    assert!(!text.contains("..."));
}

#[test]
fn show_fits_80_columns_like_pmap() {
    let fake = tree();
    let screen = run_on_terminal(pmaps(&fake, &["show", "105"]), 24, 80);
    assert_eq!(screen.code(), 0, "{}", screen.stderr);
    assert_eq!(
        screen.text,
        "105: worker05 --flag (root)\n\
         Address            Perms  Size KiB  RSS KiB  PSS KiB  Mapping\n\
         ------------------ ------ --------- -------- -------- --------------------------\n\
         40000000-40023000  r--p        140      140      140  /opt/ven...er-05.so.1.2.3\n\
         40024000-40034000  r--p         64       64       64  /opt/ven...d-runtime.so.9\n\
         40035000-401ac000  rw-p      1,500    1,500    1,500  [anon]\n\
         TOTAL                        1,704    1,704    1,704  3 mappings\n"
    );
    // Wide enough, every column is there.
    let screen = run_on_terminal(pmaps(&fake, &["show", "105"]), 24, 200);
    let header = screen.lines()[1];
    for name in [
        "Offset", "Device", "Inode", "USS", "Dirty", "SwapPSS", "Kind",
    ] {
        assert!(header.contains(name), "{}", screen.text);
    }
}

#[test]
fn columns_chosen_with_columns_are_kept_on_a_narrow_terminal() {
    let fake = tree();
    let header = |args: &[&str]| {
        let screen = run_on_terminal(pmaps(&fake, args), 24, 60);
        assert_eq!(screen.code(), 0, "{}", screen.stderr);
        assert_fits_width(&screen.text, 60);
        let words: Vec<String> = screen.lines()[0]
            .split_whitespace()
            .map(str::to_string)
            .collect();
        words
    };
    // By default 60 columns leave out the least telling: the mapping count, VSZ, SwapPSS.
    let default = header(&["-n", "3"]);
    for gone in ["Maps", "VSZ", "SwapPSS"] {
        assert!(!default.iter().any(|w| w == gone), "{default:?}");
    }
    // Chosen, they stay, in the order given; the path is shortened instead.
    let chosen = header(&["-n", "3", "--columns", "path,mappings,size,swap_pss,pss"]);
    assert_eq!(chosen, ["Mapping", "Maps", "VSZ", "SwapPSS", "PSS"]);
    let screen = run_on_terminal(
        pmaps(
            &fake,
            &["-n", "3", "--columns", "path,mappings,size,swap_pss,pss"],
        ),
        24,
        60,
    );
    assert!(screen.text.contains("..."), "{}", screen.text);
}
