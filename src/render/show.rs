//! Renders `pmaps show` ([`ShowReport`]) as a table, CSV or JSON, every format over the one
//! column definition of [`ShowView`].
//!
//! - Table: per process a header line `PID: command line (user)` (as `pmap` prints
//!   `1234:   /usr/bin/prog`), one row per mapping in address order, and a totals row. Every
//!   byte column is in KiB, the unit of `smaps` and of `pmap -x`, so the totals compare with
//!   pmap's `total kB` line digit for digit. Names are escaped, never sent raw.
//! - CSV: one header row, then one row per mapping of every process read, `pid` first on every
//!   row; integer bytes in `_bytes` columns; no totals or comment lines. Address, perms,
//!   offset, device, inode and path are exactly as `/proc/PID/maps` prints them (paths
//!   escaped as in every pmaps output, and made formula-safe).
//! - JSON: `{"meta", "processes": [{pid, comm, command, user, uid, outcome, message, totals,
//!   mappings: [...]}], "unmatched"}` with integer bytes (`null`: unknown), the offset as a
//!   number, and names that are not UTF-8 given exactly in a `<name>_hex` companion.

use comfy_table::{CellAlignment, ContentLineStyle, LineStyle, Table, TableStyle};
use serde_json::{Map, Value, json};

use super::escape::{display, formula_safe, hex};
use super::table::{Unit, format_bytes};
use super::{thousands, utc_timestamp};
use crate::config::Format;
use crate::show::{
    ShowCell, ShowColumn, ShowReport, ShowRow, ShownProcess, no_map_reason, outcome_message,
};

/// The table's one unit: KiB, as the kernel counts and as `pmap -x` prints.
const KIB: Unit = Unit {
    divisor: 1024,
    name: "KiB",
    decimals: 0,
};
/// Widest command line in a header line; CSV and JSON carry it whole.
const COMMAND_WIDTH: usize = 240;

/// Renders the report in `format`.
pub fn render(report: &ShowReport, format: Format) -> anyhow::Result<Vec<u8>> {
    match format {
        Format::Table => Ok(table(report).into_bytes()),
        Format::Csv => csv(report),
        Format::Json => json(report),
    }
}

fn style() -> TableStyle {
    TableStyle::new()
        .header_separator(LineStyle::none().fill('-').junction(' '))
        .header_lines(ContentLineStyle::none().junction(' '))
        .content_lines(ContentLineStyle::none().junction(' '))
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let head: String = s.chars().take(max - 3).collect();
    format!("{head}...")
}

/// `1234: /usr/bin/prog --flag (alice)`.
pub fn header_line(p: &ShownProcess) -> String {
    format!(
        "{}: {} ({})",
        p.info.pid,
        shorten(&display(&p.command()), COMMAND_WIDTH),
        display(p.user.as_bytes())
    )
}

fn table_cell(report: &ShowReport, c: ShowColumn, p: &ShownProcess, r: &ShowRow) -> String {
    match report.view.cell(c, p, r) {
        ShowCell::Empty => String::new(),
        ShowCell::Text(t) if c == ShowColumn::Path && t.is_empty() => "[anon]".into(),
        ShowCell::Text(t) => display(t).into_owned(),
        ShowCell::Code(s) => s.into_owned(),
        ShowCell::Hex(n) => format!("{n:08x}"),
        ShowCell::Count(n) if c == ShowColumn::Inode => n.to_string(),
        ShowCell::Count(n) => thousands(n),
        ShowCell::Bytes(v) => format_bytes(v, KIB),
    }
}

fn table(report: &ShowReport) -> String {
    let view = &report.view;
    // The header line names the process: no PID column.
    let cols: Vec<ShowColumn> = view
        .columns
        .iter()
        .copied()
        .filter(|c| *c != ShowColumn::Pid)
        .collect();
    let mut out = String::new();
    for p in report.processes.iter().filter(|p| p.is_shown()) {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&header_line(p));
        out.push('\n');
        if let Some(reason) = no_map_reason(&p.outcome) {
            // A kernel thread or zombie: nothing to list, and the reason why.
            out.push_str(&format!("  ({reason})\n"));
            continue;
        }
        let mut t = Table::new();
        t.load_style(style());
        t.set_header(cols.iter().map(|&c| {
            if view.is_bytes(c) {
                format!("{} {}", view.header(c), KIB.name)
            } else {
                view.header(c).to_string()
            }
        }));
        for r in &p.rows {
            t.add_row(
                cols.iter()
                    .map(|&c| table_cell(report, c, p, r))
                    .collect::<Vec<_>>(),
            );
        }
        let mut total: Vec<String> = cols
            .iter()
            .map(|&c| table_cell(report, c, p, &p.totals))
            .collect();
        total[0] = "TOTAL".into();
        if let Some(i) = cols.iter().position(|c| *c == ShowColumn::Path) {
            let n = p.totals.mappings;
            total[i] = format!(
                "{} {}",
                thousands(n),
                if n == 1 { "mapping" } else { "mappings" }
            );
        }
        t.add_row(total);
        for (i, &c) in cols.iter().enumerate() {
            if let Some(col) = t.column_mut(i) {
                col.set_padding((0, 1));
                if !view.is_text(c) {
                    col.set_cell_alignment(CellAlignment::Right);
                }
            }
        }
        for l in t.lines() {
            out.push_str(l.trim_end());
            out.push('\n');
        }
    }
    out
}

fn csv_cell(report: &ShowReport, c: ShowColumn, p: &ShownProcess, r: &ShowRow) -> String {
    match report.view.cell(c, p, r) {
        ShowCell::Empty | ShowCell::Bytes(None) => String::new(),
        ShowCell::Text(t) => formula_safe(display(t)).into_owned(),
        // pmaps' own notation (`---p` included) is data, not something a process wrote.
        ShowCell::Code(s) => s.into_owned(),
        ShowCell::Hex(n) => format!("{n:08x}"),
        ShowCell::Count(n) | ShowCell::Bytes(Some(n)) => n.to_string(),
    }
}

fn csv(report: &ShowReport) -> anyhow::Result<Vec<u8>> {
    let view = &report.view;
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(view.columns.iter().map(|&c| view.csv_name(c)))?;
    for p in &report.processes {
        for r in &p.rows {
            w.write_record(view.columns.iter().map(|&c| csv_cell(report, c, p, r)))?;
        }
    }
    w.into_inner()
        .map_err(|e| anyhow::anyhow!("csv: {}", e.error()))
}

/// A name as JSON: its string when it is UTF-8; otherwise escaped, plus `<key>_hex` exactly.
fn put_text(obj: &mut Map<String, Value>, key: &str, t: &[u8]) {
    match std::str::from_utf8(t) {
        Ok(s) => {
            obj.insert(key.into(), Value::from(s));
        }
        Err(_) => {
            obj.insert(key.into(), Value::from(display(t).into_owned()));
            obj.insert(format!("{key}_hex"), Value::from(hex(t)));
        }
    }
}

fn json_row(report: &ShowReport, p: &ShownProcess, r: &ShowRow) -> Value {
    let view = &report.view;
    let mut obj = Map::new();
    for &c in &view.columns {
        if c == ShowColumn::Pid {
            // The process object carries it.
            continue;
        }
        let key = view.csv_name(c);
        match view.cell(c, p, r) {
            // A totals object has no address, path…: leave those out.
            ShowCell::Empty if r.total => {}
            ShowCell::Empty => {
                obj.insert(key, Value::Null);
            }
            ShowCell::Text(t) => put_text(&mut obj, &key, t),
            ShowCell::Code(s) => {
                obj.insert(key, Value::from(s.into_owned()));
            }
            ShowCell::Hex(n) | ShowCell::Count(n) => {
                obj.insert(key, Value::from(n));
            }
            ShowCell::Bytes(v) => {
                obj.insert(key, v.map_or(Value::Null, Value::from));
            }
        }
    }
    if r.total {
        obj.insert("mappings".into(), Value::from(r.mappings));
    }
    Value::Object(obj)
}

fn json(report: &ShowReport) -> anyhow::Result<Vec<u8>> {
    let processes: Vec<Value> = report
        .processes
        .iter()
        .map(|p| {
            let mut obj = Map::new();
            obj.insert("pid".into(), Value::from(p.info.pid));
            put_text(&mut obj, "comm", &p.info.comm);
            put_text(&mut obj, "command", &p.command());
            obj.insert("user".into(), Value::from(p.user.clone()));
            obj.insert("uid".into(), p.info.uid.map_or(Value::Null, Value::from));
            obj.insert("outcome".into(), Value::from(p.outcome.kind().as_str()));
            let given = report.given_pids.contains(&p.info.pid);
            obj.insert(
                "message".into(),
                outcome_message(p, given).map_or(Value::Null, Value::from),
            );
            let shown = p.outcome == crate::model::Outcome::Read;
            obj.insert(
                "totals".into(),
                if shown {
                    json_row(report, p, &p.totals)
                } else {
                    Value::Null
                },
            );
            obj.insert(
                "mappings".into(),
                Value::Array(p.rows.iter().map(|r| json_row(report, p, r)).collect()),
            );
            Value::Object(obj)
        })
        .collect();
    let unmatched: Vec<Value> = report
        .unmatched
        .iter()
        .map(|t| Value::from(t.describe()))
        .collect();
    let doc = json!({
        "meta": {
            "pmaps_version": env!("CARGO_PKG_VERSION"),
            "view": "show",
            "host": report.host,
            "kernel": report.kernel,
            "time_utc": utc_timestamp(report.time),
            "source": "smaps",
            "merge": report.merge,
            "all_fields": report.all_fields,
            "proc_root": report.proc_root.display().to_string(),
            "duration_seconds": report.duration.as_secs_f64(),
        },
        "processes": processes,
        "unmatched": unmatched,
    });
    let mut out = serde_json::to_vec_pretty(&doc)?;
    out.push(b'\n');
    Ok(out)
}
