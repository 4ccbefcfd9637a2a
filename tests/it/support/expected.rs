//! Expected-output helpers: CSV headers and text, and masks for what changes run to run.

use std::collections::BTreeMap;

pub const KB: u64 = 1024;

/// The CSV header of the file view: the mapped object is its path, device and inode.
pub const FILE_HEADER: &str = "path,kind,device,inode,processes,mappings,size_bytes,rss_bytes,pss_bytes,uss_bytes,shared_bytes,swap_bytes,swap_pss_bytes";
/// The CSV header of the process view: a process is its PID and start time.
pub const PROCESS_HEADER: &str = "pid,start_time,user,command,mappings,size_bytes,rss_bytes,pss_bytes,uss_bytes,shared_bytes,swap_bytes,swap_pss_bytes";
/// The CSV header of the file,process view: one (file, process) pair per row.
pub const FILE_PROCESS_HEADER: &str = "path,kind,device,inode,pid,start_time,user,command,processes,mappings,size_bytes,rss_bytes,pss_bytes,uss_bytes,shared_bytes,swap_bytes,swap_pss_bytes";

/// The device and inode `maps` prints for anonymous memory and pseudo-mappings
/// (`[heap]`, `[stack]`, `[vdso]`): `00:00` and 0.
pub const NO_OBJECT: (&str, u64) = ("00:00", 0);

/// kB (as the kernel prints them) in bytes (as the reports show them): `k(1024)` = `1048576`.
pub fn k(kb: u64) -> u64 {
    kb * KB
}

/// CSV text from a header and rows of fields (each field already in CSV form),
/// CRLF-terminated.
pub fn csv(header: &str, rows: &[&str]) -> String {
    let mut s = format!("{header}\r\n");
    for r in rows {
        s.push_str(r);
        s.push_str("\r\n");
    }
    s
}

/// Each CSV record as a map from the header names to the fields (read with the csv crate).
pub fn csv_records(text: &[u8]) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_reader(text);
    let header = r.headers().expect("CSV header").clone();
    r.records()
        .map(|rec| {
            let rec = rec.expect("CSV record");
            header
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// A numeric field of a CSV record.
pub fn num(row: &BTreeMap<String, String>, col: &str) -> u64 {
    let v = row
        .get(col)
        .unwrap_or_else(|| panic!("no column {col} in {row:?}"));
    v.parse()
        .unwrap_or_else(|e| panic!("{col} = {v:?} is not a number ({e}) in {row:?}"))
}

/// The table with the last `; 0.00 s` of its coverage line, which varies from run to run,
/// replaced by `; <t> s`.
pub fn without_duration(s: &str) -> String {
    let mut out = String::new();
    for line in s.split_inclusive('\n') {
        match line.rfind("; ") {
            Some(i) if line.trim_end().ends_with(" s") && line[i + 2..].trim_end().len() < 12 => {
                out.push_str(&line[..i]);
                out.push_str("; <t> s\n");
            }
            _ => out.push_str(line),
        }
    }
    out
}

/// Blanks the values that change from run to run (the time and the duration), leaving every
/// other byte: the table's `; 0.01 s` at the end of its coverage line (see
/// [`without_duration`]), JSON's `time_utc` and `duration_seconds` lines. CSV has neither and
/// is left whole.
pub fn mask_run_facts(format: &str, out: &[u8]) -> String {
    let s = String::from_utf8(out.to_vec()).expect("UTF-8 output");
    match format {
        "table" => without_duration(&s),
        "json" => s
            .split_inclusive('\n')
            .map(|line| {
                let key = line.trim_start();
                if key.starts_with("\"time_utc\":") {
                    "<time_utc>\n"
                } else if key.starts_with("\"duration_seconds\":") {
                    "<duration>\n"
                } else {
                    line
                }
            })
            .collect(),
        _ => s,
    }
}
