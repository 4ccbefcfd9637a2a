//! `pmaps show` reads several targets in parallel: the output is in the order of the
//! targets, and with `--all-fields` the smaps keys of all of them form one set of columns in
//! the order the kernel first printed them, as when they were read one after the other.

use std::collections::BTreeMap;

use crate::support::*;

/// 40 prints a short, old-kernel set of keys; 41 every key of a 6.x kernel; 42 like 41.
fn tree() -> FakeProc {
    let fake = FakeProc::new();
    let header = |i: u64, path: &[u8]| {
        map_header(
            0x7f00_0000_0000 + i * 0x10_0000,
            0x7f00_0000_0000 + i * 0x10_0000 + 0x4000,
            "rw-p",
            0,
            "00:00",
            0,
            path,
        )
    };
    let mut old = Vec::new();
    for i in 0..3 {
        old.extend(smaps_record(
            header(i, b""),
            &[
                ("Size", 16),
                ("Rss", 8 + i),
                ("Pss", 8 + i),
                ("Private_Dirty", 8 + i),
                ("Locked", 0),
            ],
        ));
        old.extend_from_slice(b"VmFlags: rd wr mr mw me ac \n");
    }
    fake.process(40).comm(b"old-kernel").smaps(&old).write();
    for pid in [41u32, 42] {
        let smaps: Vec<u8> = (0..u64::from(pid) - 39)
            .flat_map(|i| full_smaps_record(header(i, b"[heap]"), SmapsKb::private_dirty(16, 4)))
            .collect();
        fake.process(pid).comm(b"new-kernel").smaps(&smaps).write();
    }
    fake
}

fn show(fake: &FakeProc, args: &[&str]) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let mut cmd = pmaps_on(fake.root());
    cmd.arg("show").args(args).args(["-f", "csv"]);
    let out = output(cmd);
    let text = expect_exit(&out, 0);
    let header = text
        .lines()
        .next()
        .expect("a header")
        .split(',')
        .map(str::to_string)
        .collect();
    (header, csv_records(text.as_bytes()))
}

#[test]
fn several_targets_are_shown_in_their_order_with_one_set_of_columns() {
    let fake = tree();
    let (fixed, _) = show(&fake, &["40"]);
    let extras = |pid: &str| -> Vec<String> {
        let (all, _) = show(&fake, &[pid, "--all-fields"]);
        all.into_iter().filter(|c| !fixed.contains(c)).collect()
    };
    let (old, new) = (extras("40"), extras("41"));
    assert!(old.len() < new.len(), "{old:?} / {new:?}");
    let at = fixed
        .iter()
        .position(|c| c == "kind")
        .expect("a kind column");
    for (targets, first, second) in [
        (["40", "41", "42"], &old, &new),
        (["41", "40", "42"], &new, &old),
    ] {
        let mut args = targets.to_vec();
        args.push("--all-fields");
        let (header, rows) = show(&fake, &args);
        let mut want: Vec<String> = fixed[..at].to_vec();
        want.extend(first.iter().cloned());
        want.extend(second.iter().filter(|c| !first.contains(c)).cloned());
        want.extend(fixed[at..].iter().cloned());
        assert_eq!(header, want, "show {targets:?}");
        // The processes in the order given, each with all its rows.
        let pids: Vec<&str> = rows.iter().map(|r| r["pid"].as_str()).collect();
        let mut expected = Vec::new();
        for t in targets {
            let n = match t {
                "40" => 3,
                "41" => 2,
                _ => 3,
            };
            expected.extend(std::iter::repeat_n(t, n));
        }
        assert_eq!(pids, expected, "show {targets:?}");
        // Each row is the row of its process shown alone, and empty in the others' columns.
        for t in targets {
            let (_, alone) = show(&fake, &[t, "--all-fields"]);
            let mine: Vec<&BTreeMap<String, String>> =
                rows.iter().filter(|r| r["pid"] == t).collect();
            assert_eq!(mine.len(), alone.len());
            for (got, want) in mine.iter().zip(&alone) {
                for (col, v) in got.iter() {
                    assert_eq!(
                        v.as_str(),
                        want.get(col).map_or("", String::as_str),
                        "show {targets:?}, pid {t}, column {col}"
                    );
                }
            }
        }
    }
}

/// Read in parallel, each process interns its smaps keys in a table of its own, capped like
/// the shared one. A hostile process whose own 64 keys are all new ones would lose the
/// fields of a key the shared table already knows (printed only in its later records): such
/// a process is read again with the shared table, and keeps them, as when read one after
/// the other.
#[test]
fn a_process_past_the_key_cap_keeps_the_keys_the_others_printed() {
    let fake = tree();
    let header = |i: u64| {
        let start = 0x10_0000 + i * 0x2000;
        map_header(start, start + 0x2000, "rw-p", 0, "00:00", 0, b"")
    };
    let mut hostile = Vec::new();
    for i in 0..80u64 {
        let mut fields = vec![("Size", 8), ("Rss", 4), ("Pss", 4), ("Private_Dirty", 4)];
        let own = format!("Own{i:03}");
        if i < 70 {
            fields.push((&own, i));
        } else {
            // A key 41 printed, and that no one else prints before the cap.
            fields.push(("Referenced", 4));
        }
        hostile.extend(smaps_record(header(i), &fields));
    }
    fake.process(43).comm(b"hostile").smaps(&hostile).write();
    let (header, rows) = show(&fake, &["41", "43", "--all-fields"]);
    let referenced: Vec<&str> = rows
        .iter()
        .filter(|r| r["pid"] == "43")
        .map(|r| r["referenced_bytes"].as_str())
        .collect();
    let mut want = vec![""; 70];
    want.extend(["4096"; 10]);
    assert_eq!(referenced, want);
    // Of the hostile keys, those that fit under the cap after 41's 24 keys and 43's own.
    let own: Vec<&String> = header.iter().filter(|c| c.starts_with("own")).collect();
    assert_eq!(own.first().map(|c| c.as_str()), Some("own000_bytes"));
    assert_eq!(own.len(), 64 - 24, "{header:?}");
}
