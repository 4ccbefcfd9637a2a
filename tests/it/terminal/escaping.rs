//! What each format does to a name with control characters, invisible characters and bytes
//! that are not UTF-8, as the README's "Output formats" says: the table and CSV show them
//! escaped (`\x1b`, `\u{202e}`, `\xff`; CSV then guards formulas), JSON gives them exactly.

use super::{mapping_process, run_on as run};
use crate::support::*;

/// A UTF-8 name with ESC, a tab, U+202E and `é`; and one with a byte that is not UTF-8.
const UTF8: &[u8] = b"/tmp/a\x1b[31m\tb\xe2\x80\xaec\xc3\xa9";
const NOT_UTF8: &[u8] = b"=/tmp/x\xffy";

fn tree() -> FakeProc {
    let fake = FakeProc::new();
    mapping_process(&fake, 101, "app", &[(UTF8, 100), (NOT_UTF8, 50)]).write();
    fake
}

#[test]
fn each_format_says_a_name_its_own_way() {
    let fake = tree();
    let escaped = r"/tmp/a\x1b[31m\x09b\u{202e}cé";
    // The table: escaped, never raw.
    let table = expect_exit(&run(&fake, &[]), 0);
    assert!(table.contains(&format!("\n{escaped}  ")), "{table}");
    assert!(table.contains("\n=/tmp/x\\xffy  "), "{table}");
    assert!(!table.bytes().any(|b| b == 0x1b || b == b'\t'));

    // CSV: escaped the same way, and a cell a spreadsheet would run as a formula gets `'`.
    let out = run(&fake, &["-f", "csv"]);
    let rows = csv_records(&out.stdout);
    let paths: Vec<&str> = rows.iter().map(|r| r["path"].as_str()).collect();
    assert_eq!(paths, [escaped, r"'=/tmp/x\xffy"]);

    // JSON: the exact name, its control characters as JSON escapes; a name that is not
    // UTF-8 escaped as in the table, and exactly in `path_hex`.
    let out = run(&fake, &["-f", "json"]);
    let text = stdout(&out);
    let want = "\"path\": \"/tmp/a\\u001b[31m\\tb\u{202e}c\u{e9}\"";
    assert!(text.contains(want), "{text}");
    let doc = parse_json(&out);
    let rows = doc["rows"].as_array().expect("rows");
    assert_eq!(rows[0]["path"].as_str().map(str::as_bytes), Some(UTF8));
    assert!(rows[0].get("path_hex").is_none());
    assert_eq!(rows[1]["path"], r"=/tmp/x\xffy");
    assert_eq!(rows[1]["path_hex"], "3d2f746d702f78ff79");
}
