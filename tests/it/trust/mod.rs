//! Issue 9, "Trust": what outside testers broke, each with the regression test that fails
//! without its fix (the output points 1-6 are `output_trust`'s).
//!
//! - `accounting`: a process whose main thread exited, processes sharing one address space.
//! - `kinds`: hugetlb memory is its own kind, never a deleted file.
//! - `proc_root`: a live process without `smaps` is an error; a root that is not a proc is
//!   fatal.
//! - `limits`: hostile proc roots and arguments cost bounded time and memory (an endless
//!   smaps line, a huge name in the table, a regex with thousands of groups).
//! - `all_fields`: `show --all-fields` keys are capped and never take pmaps' own columns.
//! - `threads`: no thread to spare is a report from one thread, never a panic.

mod accounting;
mod all_fields;
mod kinds;
mod limits;
mod proc_root;
mod threads;

use serde_json::Value;

use crate::support::*;

/// One smaps record: 8 kB of private dirty memory named `path` (empty: anonymous).
pub fn eight_kb(path: &[u8]) -> Vec<u8> {
    smaps_record(
        map_header(0x1000, 0x3000, "rw-p", 0, "00:00", 0, path),
        &[("Size", 8), ("Rss", 8), ("Pss", 8), ("Private_Dirty", 8)],
    )
}

/// The JSON report of `pmaps --proc-root ROOT ARGS -f json`, which must be complete.
pub fn report_json(root: &str, args: &[&str]) -> Value {
    let mut all = vec!["--proc-root", root, "-f", "json"];
    all.extend_from_slice(args);
    parse_json(&run_clean(&all))
}

/// The row of a `-g kind` JSON report for `kind`.
pub fn kind_row<'d>(doc: &'d Value, kind: &str) -> &'d Value {
    doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} row in {doc}"))
}
