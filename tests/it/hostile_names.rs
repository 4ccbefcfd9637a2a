//! Hostile names: mapped files and process names chosen by another local user. Helpers map
//! files named with spaces, a newline, a literal `\012`, tab, CR, terminal escape sequences,
//! U+202E, C1 controls, DEL, bytes that are not UTF-8, `x (deleted)` (a live file), `[heap]`,
//! spreadsheet formula starters (`=`, `+`, `-`, `@`) and a path longer than PATH_MAX, and each
//! sets its own comm to one of those names.
//!
//! Expected: every distinct name (as the kernel prints it) is its own row, and two files the
//! kernel prints alike are two rows told apart by inode; the table never emits raw control
//! bytes or bidirectional overrides; CSV parses, is valid UTF-8 and no cell starts like a
//! formula; JSON is valid and gives the exact bytes back; no panic, exit 0.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use serde_json::Value;

use crate::support::internals::{display, formula_safe};
use crate::support::*;

/// File names, each also used (cut to 15 bytes by the kernel) as a helper's comm.
const NAMES: &[&[u8]] = &[
    b"with spaces  in  name",
    b"new\nline",
    b"lit\\012eral",
    b"tab\there",
    b"cr\rhere",
    b"esc\x1b[31mred\x1b[0m\x1b]0;title\x07",
    "rlo\u{202E}gnp.exe".as_bytes(),
    b"bad-\xff",
    b"bad-\xfe\xfd",
    // The ASCII text that `bad-\xff` is displayed as: a different name, its own row.
    b"bad-\\xff",
    b"x (deleted)",
    b"[heap]",
    b"=cmd|'-C calc'!A0",
    b"+1+1",
    b"-2+3",
    b"@SUM(1+1)",
    b"c1-\xc2\x85-\xc2\x9b-ctl",
    b"del\x7fchar",
];

/// The comm of the helper that maps every file: an OSC sequence that would retitle a terminal.
const MAIN_COMM: &[u8] = b"x\x1b]0;pwned\x07";
/// A comm of 8 two-byte characters: the kernel keeps 15 bytes, cutting the last in half.
const CUT_COMM: &[u8] = "ééééééééé".as_bytes();

struct Scene {
    dir: tempfile::TempDir,
    helpers: Vec<Helper>,
    /// The path of the long file (longer than PATH_MAX).
    deep: Vec<u8>,
}

impl Scene {
    fn pids(&self) -> String {
        pid_list(self.helpers.iter().map(|h| h.pid))
    }

    fn prefix(&self) -> Vec<u8> {
        let mut p = self.dir.path().as_os_str().as_bytes().to_vec();
        p.push(b'/');
        p
    }

    /// Paths under the scene's directory in the helpers' maps, as the kernel prints them,
    /// with the number of processes mapping each.
    fn kernel_paths(&self) -> BTreeMap<Vec<u8>, u64> {
        let prefix = self.prefix();
        let mut out: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
        for h in &self.helpers {
            let mine: BTreeSet<Vec<u8>> = maps_paths(h.pid)
                .into_iter()
                .filter(|p| p.starts_with(&prefix))
                .collect();
            for p in mine {
                *out.entry(p).or_default() += 1;
            }
        }
        out
    }

    fn comms(&self) -> BTreeSet<Vec<u8>> {
        self.helpers
            .iter()
            .map(|h| {
                let mut c = std::fs::read(format!("/proc/{}/comm", h.pid)).expect("comm");
                assert_eq!(c.pop(), Some(b'\n'));
                c
            })
            .collect()
    }
}

fn scene() -> Scene {
    let dir = tempfile::Builder::new()
        .prefix("hostile")
        .tempdir()
        .expect("tempdir");
    for (i, name) in NAMES.iter().enumerate() {
        let path = dir.path().join(OsStr::from_bytes(name));
        std::fs::write(&path, vec![i as u8; 8192]).expect("create hostile file");
    }
    let deep = make_deep_file(dir.path());
    let mut helpers = Vec::new();
    // One helper maps every file, the long one last (reached by relative chdirs).
    let mut args: Vec<Vec<u8>> = vec![b"--comm".to_vec(), MAIN_COMM.to_vec()];
    for name in NAMES {
        let path = dir.path().join(OsStr::from_bytes(name));
        args.push(b"--map-shared".to_vec());
        args.push(path.as_os_str().as_bytes().to_vec());
    }
    args.extend(deep.map_args());
    helpers.push(Helper::spawn(args.iter().map(|a| os(a))));
    // One helper per name: that name as its comm, and that file mapped.
    for name in NAMES {
        let path = dir.path().join(OsStr::from_bytes(name));
        helpers.push(Helper::spawn([
            os(b"--comm"),
            os(name),
            os(b"--map-private-ro"),
            path.as_os_str(),
        ]));
    }
    helpers.push(Helper::spawn([
        os(b"--comm"),
        os(CUT_COMM),
        os(b"--anon"),
        os(b"4K"),
    ]));
    Scene {
        dir,
        helpers,
        deep: deep.path,
    }
}

#[test]
fn json_gives_every_name_back_exactly_in_its_own_row() {
    let s = scene();
    let pids = s.pids();
    let kernel = s.kernel_paths();
    // Every hostile file and the long one, each mapped by the main helper and its own.
    assert_eq!(kernel.len(), NAMES.len() + 1, "{kernel:?}");
    assert_eq!(kernel.get(&s.deep), Some(&1));

    let doc = parse_json(&run_clean(["-p", &pids, "-g", "file", "-f", "json"]));
    let prefix = s.prefix();
    let mut rows: Vec<(Vec<u8>, u64)> = Vec::new();
    for row in doc["rows"].as_array().expect("rows") {
        let path = exact(row, "path");
        if path.starts_with(&prefix) {
            rows.push((path, row["processes"].as_u64().expect("processes")));
        }
    }
    let got: BTreeMap<Vec<u8>, u64> = rows.iter().cloned().collect();
    assert_eq!(got.len(), rows.len(), "two rows for one name");
    assert_eq!(got, kernel);
    // A real file named `[heap]` is a file, not the heap.
    let heap_file = [prefix.as_slice(), b"[heap]"].concat();
    let row = doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| exact(r, "path") == heap_file)
        .expect("the [heap] file's row");
    assert_eq!(row["kind"], "file");

    // Process names: every comm exactly, in the command view.
    let doc = parse_json(&run_clean(["-p", &pids, "-g", "command", "-f", "json"]));
    let got: BTreeSet<Vec<u8>> = doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| exact(r, "command"))
        .collect();
    assert_eq!(got, s.comms());
    assert!(got.contains(&CUT_COMM[..15]));

    // Command lines exactly (NUL separators shown as spaces), in the process view.
    let doc = parse_json(&run_clean(["-p", &pids, "-g", "process", "-f", "json"]));
    for row in doc["rows"].as_array().expect("rows") {
        let pid = row["pid"].as_u64().expect("pid");
        let raw = std::fs::read(format!("/proc/{pid}/cmdline")).expect("cmdline");
        let end = raw.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        let expected: Vec<u8> = raw[..end]
            .iter()
            .map(|&b| if b == 0 { b' ' } else { b })
            .collect();
        assert_eq!(exact(row, "command"), expected, "pid {pid}");
    }
}

/// Characters a terminal would act on or that reorder text: C0 (other than the newline
/// ending each line), DEL, C1, bidirectional controls.
fn assert_no_raw_controls(what: &str, bytes: &[u8]) {
    let s = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{what}: not UTF-8: {e}"));
    for (i, c) in s.char_indices() {
        let bidi = matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}');
        let control = c.is_control() && c != '\n';
        assert!(
            !control && !bidi,
            "{what}: raw {c:?} at byte {i}: {:?}",
            &s[i.saturating_sub(60)..(i + 20).min(s.len())]
        );
    }
}

#[test]
fn table_never_emits_raw_control_bytes_and_keeps_one_line_per_row() {
    let s = scene();
    let pids = s.pids();
    for view in ["file", "process", "command", "user", "kind", "file,process"] {
        let table = run_clean(["-p", &pids, "-g", view]).stdout;
        assert_no_raw_controls(&format!("-g {view}"), &table);
        // Rows from the JSON of the same view: one table line each, plus the header, its
        // rule, the TOTAL line and the coverage line.
        let doc = parse_json(&run_clean(["-p", &pids, "-g", view, "-f", "json"]));
        let rows = doc["rows"].as_array().expect("rows");
        let children: usize = rows
            .iter()
            .map(|r| r["by_process"].as_array().map_or(0, Vec::len))
            .sum();
        let lines = table
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .count();
        assert_eq!(lines, rows.len() + children + 4, "-g {view}");
    }
    // Each name shows escaped, on exactly as many lines as there are names shown that way.
    let table = String::from_utf8(run_clean(["-p", &pids, "-g", "file"]).stdout).expect("UTF-8");
    let mut shown: BTreeMap<String, usize> = BTreeMap::new();
    for path in s.kernel_paths().keys() {
        *shown.entry(display(path).into_owned()).or_default() += 1;
    }
    for (text, n) in shown {
        let lines = table.lines().filter(|l| l.contains(&text)).count();
        assert_eq!(lines, n, "{text}");
    }
}

#[test]
fn csv_is_valid_utf8_quoted_and_formula_safe() {
    let s = scene();
    let pids = s.pids();
    for view in ["file", "process", "command", "user", "kind", "file,process"] {
        let out = run_clean(["-p", &pids, "-g", view, "-f", "csv"]).stdout;
        let text = std::str::from_utf8(&out).unwrap_or_else(|e| panic!("-g {view}: {e}"));
        let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        let width = reader.headers().expect("header").len();
        let mut records = Vec::new();
        for rec in reader.records() {
            let rec = rec.unwrap_or_else(|e| panic!("-g {view}: {e}"));
            assert_eq!(rec.len(), width, "-g {view}");
            for cell in rec.iter() {
                assert!(
                    !matches!(cell.as_bytes().first(), Some(b'=' | b'+' | b'-' | b'@')),
                    "-g {view}: formula cell {cell:?}"
                );
                assert_no_raw_controls(&format!("-g {view} cell"), cell.as_bytes());
            }
            records.push(rec);
        }
        let doc = parse_json(&run_clean(["-p", &pids, "-g", view, "-f", "json"]));
        let rows = doc["rows"].as_array().expect("rows");
        let expected = if view == "file,process" {
            rows.iter()
                .map(|r| r["by_process"].as_array().map_or(0, Vec::len))
                .sum()
        } else {
            rows.len()
        };
        assert_eq!(records.len(), expected, "-g {view}");
        if view == "file" {
            let cells: BTreeSet<String> = records.iter().map(|r| r[0].to_string()).collect();
            for path in s.kernel_paths().keys() {
                let want = formula_safe(display(path)).into_owned();
                assert!(cells.contains(&want), "no CSV row {want:?}");
            }
        }
        if view == "command" {
            let cells: BTreeSet<String> = records.iter().map(|r| r[0].to_string()).collect();
            for comm in s.comms() {
                let want = formula_safe(display(&comm)).into_owned();
                assert!(cells.contains(&want), "no CSV row {want:?}");
            }
            assert!(cells.contains("'=cmd|'-C calc'!"), "{cells:?}");
            assert!(cells.contains("'-2+3"), "{cells:?}");
        }
    }
}

/// The kernel prints a newline in a file name as the four bytes `\012` and does not escape
/// a backslash, so a file named `amb<newline>x` and one named `amb\012x` reach pmaps as the
/// same path bytes. They are still two files: two rows, told apart by their inodes (the
/// table then shows the Device and Inode columns), each with its own processes and amounts.
/// Different bytes, however alike they look once escaped, stay apart too (`bad-\xff` above).
#[test]
fn names_the_kernel_prints_alike_are_two_rows_told_apart_by_inode() {
    const PAGE: u64 = 4096;
    let dir = open_tempdir();
    let a = dir.path().join(OsStr::from_bytes(b"amb\nx"));
    let b = dir.path().join(OsStr::from_bytes(b"amb\\012x"));
    // One page and three pages, so each row's amounts say which file it is.
    std::fs::write(&a, vec![1u8; PAGE as usize]).expect("write");
    std::fs::write(&b, vec![2u8; 3 * PAGE as usize]).expect("write");
    // The first helper maps both files, the second only `b`.
    let both = Helper::spawn([
        OsStr::new("--map-shared"),
        a.as_os_str(),
        OsStr::new("--map-shared"),
        b.as_os_str(),
    ]);
    let only_b = Helper::spawn([OsStr::new("--map-shared"), b.as_os_str()]);
    let pids = pid_list([both.pid, only_b.pid]);
    let printed = [dir.path().as_os_str().as_bytes(), b"/amb\\012x"].concat();
    let obj_a = file_object(&a);
    let obj_b = file_object(&b);
    assert_ne!(obj_a, obj_b);
    // The kernel prints them alike, and gives each its own device and inode.
    assert_eq!(
        maps_objects(both.pid, &printed),
        [obj_a.clone(), obj_b.clone()].into()
    );
    assert_eq!(maps_objects(only_b.pid, &printed), [obj_b.clone()].into());

    let doc = parse_json(&run_clean(["-p", &pids, "-g", "file", "-f", "json"]));
    let rows: Vec<&Value> = doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| exact(r, "path").starts_with(dir.path().as_os_str().as_bytes()))
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    // Each row's object and its [processes, mappings, size, RSS, PSS].
    let mut got: Vec<((String, u64), [u64; 5])> = rows
        .iter()
        .map(|r| {
            assert_eq!(exact(r, "path"), printed, "{r}");
            assert_eq!(r["kind"], "file", "{r}");
            let n = |k: &str| r[k].as_u64().unwrap_or_else(|| panic!("no {k} in {r}"));
            let device = r["device"].as_str().expect("device").to_string();
            (
                (device, n("inode")),
                [
                    "processes",
                    "mappings",
                    "size_bytes",
                    "rss_bytes",
                    "pss_bytes",
                ]
                .map(n),
            )
        })
        .collect();
    got.sort();
    let mut want = vec![
        // `a`: one process, one page, all of its PSS.
        (obj_a.clone(), [1, 1, PAGE, PAGE, PAGE]),
        // `b`: two processes, three pages each, shared: the PSS of three pages.
        (obj_b.clone(), [2, 2, 6 * PAGE, 6 * PAGE, 3 * PAGE]),
    ];
    want.sort();
    assert_eq!(got, want);

    // The table shows which is which: the Device and Inode columns, on rows with one path.
    let re = format!(
        "^{}/",
        regex::escape(dir.path().to_str().expect("UTF-8 temp dir"))
    );
    let table = stdout(&run_clean(["-p", &pids, "-m", &re]));
    let lines: Vec<&str> = table.lines().collect();
    let header: Vec<&str> = lines[0].split_whitespace().take(6).collect();
    assert_eq!(
        header,
        ["Mapping", "Kind", "Device", "Inode", "Procs", "Maps"],
        "{table}"
    );
    let shown = display(&printed).into_owned();
    let mut cells: Vec<Vec<&str>> = lines[2..4]
        .iter()
        .map(|l| l.split_whitespace().take(6).collect())
        .collect();
    cells.sort();
    let (ia, ib) = (obj_a.1.to_string(), obj_b.1.to_string());
    let mut want = vec![
        vec![
            shown.as_str(),
            "file",
            obj_a.0.as_str(),
            ia.as_str(),
            "1",
            "1",
        ],
        vec![
            shown.as_str(),
            "file",
            obj_b.0.as_str(),
            ib.as_str(),
            "2",
            "2",
        ],
    ];
    want.sort();
    assert_eq!(cells, want, "{table}");
    assert!(lines[4].starts_with("TOTAL "), "{table}");
    // Where no two rows share a path (`b` alone), the table has no such columns.
    let table = stdout(&run_clean(["-p", &only_b.pid.to_string(), "-m", &re]));
    let header: Vec<&str> = table
        .lines()
        .next()
        .expect("header")
        .split_whitespace()
        .collect();
    assert_eq!(&header[..3], ["Mapping", "Kind", "Procs"], "{table}");
    assert!(
        !header.contains(&"Device") && !header.contains(&"Inode"),
        "{table}"
    );
}
