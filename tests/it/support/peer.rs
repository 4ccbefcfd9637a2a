//! procps `pmap` as a peer: its totals for a live process, to hold pmaps' numbers against.

use std::collections::BTreeMap;
use std::process::Command;

pub const PMAP: &str = "/usr/bin/pmap";

fn run_pmap(flag: &str, pid: u32) -> String {
    let out = Command::new(PMAP)
        .arg(flag)
        .arg(pid.to_string())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {PMAP} (procps): {e}"));
    assert!(
        out.status.success(),
        "{PMAP} {flag} {pid}: {:?}",
        out.status
    );
    String::from_utf8(out.stdout).expect("pmap output is not UTF-8")
}

/// `pmap -x PID`'s last line `total kB  KBYTES RSS DIRTY`.
pub fn pmap_x_totals(pid: u32) -> [u64; 3] {
    let stdout = run_pmap("-x", pid);
    let last = stdout.lines().last().expect("pmap -x printed nothing");
    let fields: Vec<&str> = last.split_whitespace().collect();
    assert_eq!(&fields[..2], ["total", "kB"], "not a totals line: {last:?}");
    let n = |i: usize| fields[i].parse::<u64>().expect("pmap -x total");
    [n(2), n(3), n(4)]
}

/// `pmap -X PID`'s totals line, by header name, in kB: one number for each header column
/// from `Size` up to `Mapping`, each right-aligned under its column's name (both are
/// checked: the count, and that each number ends where its name ends).
pub fn pmap_big_x_totals(pid: u32) -> BTreeMap<String, u64> {
    let text = run_pmap("-X", pid);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    // line 0: `PID:   command`; line 1: the header; last: the totals, ending in `KB`.
    let header = *lines.get(1).expect("pmap printed no header");
    let totals = *lines.last().expect("pmap printed no totals");
    let names = words_with_ends(header);
    let size = names
        .iter()
        .position(|(_, h)| h == "Size")
        .expect("Size column");
    let mapping = names
        .iter()
        .position(|(_, h)| h == "Mapping")
        .expect("Mapping column");
    let values = words_with_ends(totals);
    assert_eq!(
        values.last().map(|(_, v)| v.as_str()),
        Some("KB"),
        "not a totals line: {totals:?}"
    );
    let values = &values[..values.len() - 1];
    assert_eq!(
        values.len(),
        mapping - size,
        "{header:?} / {totals:?}: one total per column from Size to Mapping"
    );
    let mut by_name = BTreeMap::new();
    for ((name_end, name), (value_end, value)) in names[size..mapping].iter().zip(values) {
        assert_eq!(
            name_end, value_end,
            "the {name} total {value} is not under its name:\n{header}\n{totals}"
        );
        let v = value
            .parse()
            .unwrap_or_else(|e| panic!("pmap -X total {name} = {value:?}: {e}"));
        by_name.insert(name.clone(), v);
    }
    for col in ["Size", "Rss", "Pss"] {
        assert!(
            by_name.contains_key(col),
            "no {col} total in:\n{header}\n{totals}"
        );
    }
    by_name
}

/// The words of `line`, each with the byte offset where it ends.
fn words_with_ends(line: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices().chain([(line.len(), ' ')]) {
        match (c == ' ', start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                out.push((i, line[s..i].to_string()));
                start = None;
            }
            _ => {}
        }
    }
    out
}
