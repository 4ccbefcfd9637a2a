//! The table's layout on a pipe and on a terminal, and text escaped in the table and CSV.

use super::expected::*;
use super::tree::*;
use crate::support::*;

#[test]
fn a_table_on_a_pipe_shows_every_row() {
    let fake = FakeProc::new();
    let mut maps = Vec::new();
    let names: Vec<&'static [u8]> = (0..120)
        .map(|i| &*Box::leak(format!("/srv/f{i:03}").into_bytes().into_boxed_slice()))
        .collect();
    for (i, name) in names.iter().enumerate() {
        maps.push(private(
            0x7f00_0000_0000 + (i as u64) * 0x10_0000,
            name,
            4,
            4,
            false,
        ));
    }
    fake.process(10).smaps(&smaps_text(&maps)).write();
    let out = run(&fake, &["-s", "path"]);
    let text = expect_exit(&out, 0);
    let lines: Vec<&str> = text.lines().collect();
    // header, rule, 120 rows, TOTAL, coverage.
    assert_eq!(lines.len(), 124, "{text}");
    for (i, line) in lines[2..122].iter().enumerate() {
        assert!(line.starts_with(&format!("/srv/f{i:03} ")), "{line}");
    }
    assert!(!text.contains("more rows"), "{text}");
}

#[test]
fn a_table_on_a_terminal_shows_what_fits_and_says_how_many_more() {
    let fake = FakeProc::new();
    let names: Vec<&'static [u8]> = (0..60)
        .map(|i| &*Box::leak(format!("/srv/f{i:03}").into_bytes().into_boxed_slice()))
        .collect();
    let maps: Vec<Map> = names
        .iter()
        .enumerate()
        .map(|(i, name)| private(0x7f00_0000_0000 + (i as u64) * 0x10_0000, name, 4, 4, false))
        .collect();
    fake.process(10).smaps(&smaps_text(&maps)).write();
    // `script` (util-linux) runs pmaps on a pseudo-terminal of 15 rows.
    let cmd = format!(
        "stty rows 15 cols 120; exec {} --proc-root {} -s path",
        pmaps_bin().display(),
        fake.root().display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("cannot run script(1)");
    let text = String::from_utf8(out.stdout)
        .expect("UTF-8")
        .replace("\r\n", "\n");
    assert_eq!(out.status.code(), Some(0), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.len() <= 15,
        "more lines than the terminal has:\n{text}"
    );
    let rows: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with("/srv/"))
        .copied()
        .collect();
    let more = format!("... {} more rows (-n 0 shows all)", 60 - rows.len());
    assert!(rows.len() >= 5, "{text}");
    assert!(lines.contains(&more.as_str()), "no {more:?} in:\n{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("TOTAL ") && l.contains(" 60 ")),
        "{text}"
    );
    // -n N is what the user asked for, on a terminal too.
    let cmd = format!("{cmd} -n 0");
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("cannot run script(1)");
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    assert_eq!(
        text.lines().filter(|l| l.starts_with("/srv/")).count(),
        60,
        "{text}"
    );
}

#[test]
fn text_is_escaped_in_the_table_and_csv() {
    let fake = FakeProc::new();
    let nasty: &'static [u8] = b"/tmp/\x1b[31mred\t\xff\\012x";
    let m = [
        private(0x7f00_0000_0000, nasty, 4, 4, false),
        private(0x7f10_0000_0000, b"[anon:=cmd|' /C calc'!A0]", 8, 8, true),
    ];
    fake.process(10)
        .comm(b"=x\x07")
        .cmdline(b"+sum\0")
        .smaps(&smaps_text(&m))
        .smaps_rollup(&rollup_text(&m, 0, true))
        .write();
    let out = run(&fake, &["-f", "csv"]);
    assert_eq!(
        expect_exit(&out, 0),
        csv(
            FILE_HEADER,
            &[
                &file_row(
                    "[anon:=cmd|' /C calc'!A0]",
                    "other",
                    NO_OBJECT,
                    [1, 1],
                    [8, 8, 8, 8, 0, 0],
                    Some(0)
                ),
                &file_row(
                    "/tmp/\\x1b[31mred\\x09\\xff\\012x",
                    "file",
                    // `tree::private` gives a file at `start` the inode 2000 + start % 997.
                    ("fe:00", 2095),
                    [1, 1],
                    [4, 4, 4, 4, 0, 0],
                    Some(0)
                ),
            ]
        )
    );
    let out = run(&fake, &["-f", "csv", "-g", "command"]);
    let text = expect_exit(&out, 0);
    assert_eq!(
        text.lines().nth(1).map(|l| l.split(',').next()),
        Some(Some("'=x\\x07"))
    );
    let out = run(&fake, &["-f", "csv", "-g", "process"]);
    let text = expect_exit(&out, 0);
    assert!(
        text.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("10,1010,root,'+sum,")),
        "{text}"
    );
    let out = run(&fake, &[]);
    let text = expect_exit(&out, 0);
    assert!(
        text.contains("/tmp/\\x1b[31mred\\x09\\xff\\012x "),
        "{text}"
    );
    assert!(!text.bytes().any(|b| b < 0x20 && b != b'\n'), "{text:?}");
}
