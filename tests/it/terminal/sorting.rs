//! Sorting by a column the source cannot fill: `--sort mappings` counts the lines of `maps`
//! beside the rollup (which does not count mappings), `--vsz` sorts by size by default, and a
//! column `maps` cannot fill is a usage error instead of an order that silently means nothing.

use serde_json::Value;

use super::{anon_process, err_lines, run_on};
use crate::support::*;

/// 101: one small mapping; 202: five mappings, 500 kB; 303: one large one.
fn tree() -> FakeProc {
    let fake = FakeProc::new();
    anon_process(&fake, 101, "few", &[50]).write();
    anon_process(&fake, 202, "many", &[100, 100, 100, 100, 100]).write();
    anon_process(&fake, 303, "big", &[2000]).write();
    fake
}

fn run(fake: &FakeProc, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["-g", "process", "-f", "json"];
    args.extend_from_slice(extra);
    run_on(fake, &args)
}

fn column(doc: &Value, key: &str) -> Vec<Value> {
    doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r[key].clone())
        .collect()
}

#[test]
fn sorting_by_mappings_counts_them_in_maps_beside_the_rollup() {
    let fake = tree();
    for source in [&[][..], &["--source", "rollup"]] {
        let mut args = vec!["-s", "mappings", "--explain"];
        args.extend_from_slice(source);
        let out = run(&fake, &args);
        assert_exit(&out, 0);
        let doc = parse_json(&out);
        assert_eq!(doc["meta"]["source"], "smaps_rollup");
        assert_eq!(doc["meta"]["plan"]["maps_pass"], "count");
        assert_eq!(column(&doc, "pid"), [202, 101, 303]);
        assert_eq!(column(&doc, "mappings"), [5, 1, 1]);
        assert_eq!(column(&doc, "pss_bytes"), [k(500), k(50), k(2000)]);
    }
    // smaps counts them as well: the same order.
    let doc = parse_json(&run(&fake, &["-s", "mappings", "--source", "smaps"]));
    assert_eq!(column(&doc, "pid"), [202, 101, 303]);
    assert_eq!(column(&doc, "mappings"), [5, 1, 1]);
    // Without it, the rollup alone is read: cheaper, and the mapping count unknown.
    let doc = parse_json(&run(&fake, &[]));
    assert_eq!(doc["meta"]["source"], "smaps_rollup");
    assert_eq!(column(&doc, "pid"), [303, 202, 101]);
    assert_eq!(
        column(&doc, "mappings"),
        [Value::Null, Value::Null, Value::Null]
    );
}

#[test]
fn vsz_sorts_by_size() {
    let fake = tree();
    let out = run(&fake, &["--vsz"]);
    assert_exit(&out, 0);
    let doc = parse_json(&out);
    assert_eq!(doc["meta"]["source"], "maps");
    assert_eq!(column(&doc, "pid"), [303, 202, 101]);
    assert_eq!(column(&doc, "size_bytes"), [k(2000), k(500), k(50)]);
    assert_eq!(
        column(&doc, "pss_bytes"),
        [Value::Null, Value::Null, Value::Null]
    );
    // Maps count mappings too.
    let doc = parse_json(&run(&fake, &["--vsz", "-s", "mappings"]));
    assert_eq!(column(&doc, "pid"), [202, 101, 303]);
}

#[test]
fn a_column_the_chosen_source_cannot_fill_is_a_usage_error() {
    let fake = tree();
    for sort in ["pss", "rss", "uss", "shared", "swap", "swap_pss"] {
        let out = run(&fake, &["--vsz", "-s", sort]);
        assert_exit(&out, 2);
        assert_eq!(
            err_lines(&out),
            [format!(
                "pmaps: --sort {sort}: maps files give virtual sizes only (--vsz, --source \
                 maps); sort by size or mappings"
            )]
        );
        assert!(out.stdout.is_empty());
    }
}
