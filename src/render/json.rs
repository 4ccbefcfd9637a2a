//! JSON for programs: one document, `{"meta": {...}, "totals": {...}, "rows": [...]}`, with
//! integer bytes, `null` for unknown values, and names kept losslessly: a name that is
//! valid UTF-8 is its string; one that is not is shown escaped in the string and given
//! exactly in a companion `<column>_hex` field. The schema is in the README.

use serde_json::{Map, Value, json};

use super::escape::{display, hex};
use super::utc_timestamp;
use crate::Report;
use crate::aggregate::Row;
use crate::columns::{Cell, Column};
use crate::model::OutcomeKind;

fn row_object(cols: &[Column], row: &Row) -> Value {
    let mut obj = Map::new();
    for &c in cols {
        match c.cell(row) {
            Cell::Empty => {}
            Cell::Text(t) => match std::str::from_utf8(t) {
                Ok(s) => {
                    obj.insert(c.name().into(), Value::from(s));
                }
                Err(_) => {
                    obj.insert(c.name().into(), Value::from(display(t).into_owned()));
                    obj.insert(format!("{}_hex", c.name()), Value::from(hex(t)));
                }
            },
            Cell::Count(n) => {
                obj.insert(c.name().into(), Value::from(n));
            }
            Cell::Unknown => {
                obj.insert(c.name().into(), Value::Null);
            }
            Cell::Bytes(v) => {
                obj.insert(c.csv_name(), v.map_or(Value::Null, Value::from));
            }
        }
    }
    if !row.children.is_empty() {
        let children = row.children.iter().map(|r| row_object(cols, r)).collect();
        obj.insert("by_process".into(), Value::Array(children));
    }
    Value::Object(obj)
}

/// The JSON document, pretty-printed, ending with a newline.
pub fn render(report: &Report) -> anyhow::Result<Vec<u8>> {
    let m = &report.meta;
    let c = &report.coverage;
    let cols = Column::for_view(m.group_by);
    let mut counts = Map::new();
    for k in OutcomeKind::ALL {
        counts.insert(k.as_str().into(), Value::from(c.count(k)));
    }
    let problems: Vec<Value> = c
        .problems
        .iter()
        .map(|p| {
            let (path, detail) = match &p.outcome {
                crate::model::Outcome::Denied { path, errno } => (
                    Some(path.clone()),
                    Value::from(std::io::Error::from_raw_os_error(*errno).to_string()),
                ),
                crate::model::Outcome::Error { path, message } => {
                    (Some(path.clone()), Value::from(message.clone()))
                }
                _ => (None, Value::Null),
            };
            json!({
                "pid": p.pid,
                "comm": display(&p.comm),
                "outcome": p.outcome.kind().as_str(),
                "path": path,
                "detail": detail,
            })
        })
        .collect();
    let doc = json!({
        "meta": {
            "pmaps_version": env!("CARGO_PKG_VERSION"),
            "host": m.host,
            "kernel": m.kernel,
            "time_utc": utc_timestamp(m.time),
            "source": m.source.file_name(),
            "group_by": m.group_by.as_str(),
            "proc_root": m.proc_root.display().to_string(),
            "threads": m.threads,
            "duration_seconds": m.duration.as_secs_f64(),
            "coverage": {
                "processes": c.processes(),
                "outcomes": counts,
                "mappings": (m.source != crate::model::Source::Rollup).then_some(c.mappings),
                "filtered": c.filtered,
                "complete": c.is_complete(),
                "hidden": c.hidden,
                "self_pid": c.self_pid,
                "problems": problems,
            },
            "rows_total": report.rows.total_rows,
        },
        "totals": row_object(&cols, &report.rows.totals),
        "rows": report.rows.rows.iter().map(|r| row_object(&cols, r)).collect::<Vec<_>>(),
    });
    let mut out = serde_json::to_vec_pretty(&doc)?;
    out.push(b'\n');
    Ok(out)
}
