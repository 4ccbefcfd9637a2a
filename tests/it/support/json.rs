//! The report's JSON: typed documents (every field, unknown ones refused) and helpers for
//! reading a parsed `serde_json::Value`.

use std::collections::BTreeMap;
use std::process::Output;

use serde::Deserialize;
use serde_json::Value;

use super::run::text;

/// The JSON document of a file view.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDoc {
    pub schema_version: u32,
    pub meta: Meta,
    pub totals: FileRow,
    pub rows: Vec<FileRow>,
}

/// The JSON document of a process view.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessDoc {
    pub schema_version: u32,
    pub meta: Meta,
    pub totals: ProcessRow,
    pub rows: Vec<ProcessRow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub pmaps_version: String,
    pub host: Option<String>,
    pub kernel: Option<String>,
    pub time_utc: String,
    pub source: String,
    pub group_by: String,
    pub proc_root: String,
    pub threads: u64,
    pub duration_seconds: f64,
    pub coverage: CoverageJson,
    pub rows_total: u64,
    /// The filters of the run (absent without any; `pmaps diff` reads them).
    #[serde(default, rename = "filters")]
    pub _filters: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoverageJson {
    pub processes: u64,
    pub outcomes: Outcomes,
    pub mappings: Option<u64>,
    pub filtered: u64,
    pub complete: bool,
    pub hidden: Option<String>,
    pub self_pid: Option<u32>,
    pub problems: Vec<ProblemJson>,
}

/// JSON `meta.coverage.outcomes` of a report: one count per documented outcome, nothing else.
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Outcomes {
    pub read: u64,
    pub vanished: u64,
    pub zombie: u64,
    pub kernel_thread: u64,
    pub denied: u64,
    pub incomplete: u64,
    pub error: u64,
}

/// One entry of JSON `meta.coverage.problems`.
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProblemJson {
    pub pid: u32,
    pub comm: String,
    pub outcome: String,
    pub path: Option<String>,
    pub detail: Option<String>,
}

/// A row (or the totals) of a file view.
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FileRow {
    #[serde(default)]
    pub path: String,
    pub path_hex: Option<String>,
    pub kind: Option<String>,
    /// The mapped object's device (`fe:00`) and inode; absent from the totals.
    pub device: Option<String>,
    pub inode: Option<u64>,
    pub processes: u64,
    pub mappings: Option<u64>,
    pub size_bytes: Option<u64>,
    pub rss_bytes: Option<u64>,
    pub pss_bytes: Option<u64>,
    pub uss_bytes: Option<u64>,
    pub shared_bytes: Option<u64>,
    pub swap_bytes: Option<u64>,
    pub swap_pss_bytes: Option<u64>,
}

/// A row (or the totals) of a process view.
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProcessRow {
    pub pid: Option<u32>,
    /// The process's start time (clock ticks since boot); absent from the totals.
    pub start_time: Option<u64>,
    pub user: Option<String>,
    pub command: Option<String>,
    pub command_hex: Option<String>,
    pub processes: Option<u64>,
    pub mappings: Option<u64>,
    pub size_bytes: Option<u64>,
    pub rss_bytes: Option<u64>,
    pub pss_bytes: Option<u64>,
    pub uss_bytes: Option<u64>,
    pub shared_bytes: Option<u64>,
    pub swap_bytes: Option<u64>,
    pub swap_pss_bytes: Option<u64>,
}

/// Every outcome name pmaps documents.
pub const OUTCOMES: [&str; 7] = [
    "read",
    "vanished",
    "zombie",
    "kernel_thread",
    "denied",
    "incomplete",
    "error",
];

/// The JSON document pmaps printed on stdout.
pub fn parse_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "pmaps did not print valid JSON ({e}); exit {:?}; stderr:\n{}\nstdout:\n{}",
            out.status,
            text(&out.stderr),
            text(&out.stdout)
        )
    })
}

/// `meta.coverage.outcomes` as a map, checked against the documented names and the total.
pub fn outcomes(doc: &Value) -> BTreeMap<String, u64> {
    let cov = &doc["meta"]["coverage"];
    let map = cov["outcomes"]
        .as_object()
        .unwrap_or_else(|| panic!("no meta.coverage.outcomes in {doc}"));
    let mut out = BTreeMap::new();
    for (k, v) in map {
        assert!(OUTCOMES.contains(&k.as_str()), "undocumented outcome {k}");
        let n = v
            .as_u64()
            .unwrap_or_else(|| panic!("outcome {k} is not a count: {v}"));
        out.insert(k.clone(), n);
    }
    let sum: u64 = out.values().sum();
    assert_eq!(
        Some(sum),
        cov["processes"].as_u64(),
        "outcome counts do not add up to `processes` in {cov}"
    );
    out
}

/// The one non-zero outcome of a single-process report.
pub fn only_outcome(doc: &Value) -> String {
    let nonzero: Vec<(String, u64)> = outcomes(doc).into_iter().filter(|(_, n)| *n > 0).collect();
    assert_eq!(
        nonzero.len(),
        1,
        "expected exactly one process with one outcome: {nonzero:?}"
    );
    assert_eq!(nonzero[0].1, 1, "expected exactly one process: {nonzero:?}");
    nonzero[0].0.clone()
}

/// The bytes a `*_hex` field spells.
pub fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd-length hex {s:?}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The exact bytes of a text column of a JSON row: `<col>_hex` when present, else the string.
pub fn exact(row: &Value, col: &str) -> Vec<u8> {
    match row.get(format!("{col}_hex")) {
        Some(h) => unhex(h.as_str().expect("hex string")),
        None => row[col]
            .as_str()
            .unwrap_or_else(|| panic!("no {col} in {row}"))
            .as_bytes()
            .to_vec(),
    }
}

/// A JSON byte count that must be whole kB, in kB.
pub fn kb(v: &Value) -> u64 {
    let b = v.as_u64().unwrap_or_else(|| panic!("not an integer: {v}"));
    assert_eq!(b % 1024, 0, "{b} is not whole kB");
    b / 1024
}

/// The PIDs of the rows of a per-process report, in their order.
pub fn row_pids(doc: &Value) -> Vec<u64> {
    doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["pid"].as_u64().expect("pid"))
        .collect()
}

/// What must be equal between a live report and one from a capture: rows, totals and the
/// coverage (without what depends on the rest of the machine: processes filtered out by
/// `-p`, pmaps' own PID).
pub fn comparable(doc: &Value) -> Value {
    let mut coverage = doc["meta"]["coverage"].clone();
    let c = coverage.as_object_mut().expect("coverage object");
    c.remove("filtered");
    c.remove("self_pid");
    serde_json::json!({
        "rows": doc["rows"],
        "totals": doc["totals"],
        "coverage": coverage,
        "source": doc["meta"]["source"],
        "group_by": doc["meta"]["group_by"],
    })
}
