//! `pmaps history`: one row per snapshot (id, time, processes read, coverage, totals),
//! oldest first; with `-n`, the newest N.

use std::borrow::Cow;

use super::{Cell, ColumnSpec, Line, Role, Sheet, UnitRule};
use crate::history::Snapshot;
use crate::model::{Coverage, OutcomeKind};
use crate::text::utc_timestamp;

/// The columns, in order.
pub fn columns() -> Vec<ColumnSpec> {
    vec![
        ColumnSpec::new("id", "ID"),
        ColumnSpec::new("time", "TIME (UTC)").text(),
        ColumnSpec::new("processes", "PROCS"),
        ColumnSpec::new("coverage", "COVERAGE").text(),
        ColumnSpec::new("pss", "PSS").bytes(),
        ColumnSpec::new("uss", "USS").bytes(),
        ColumnSpec::new("rss", "RSS").bytes(),
        ColumnSpec::new("swap", "SWAP").bytes(),
        ColumnSpec::new("host", "HOST").text(),
    ]
}

/// The coverage of a snapshot in a word or a few: `complete`, or `partial: 2 denied`.
pub fn coverage_word(s: &Snapshot) -> String {
    if s.is_complete() {
        return "complete".into();
    }
    let mut parts: Vec<String> = [
        OutcomeKind::Denied,
        OutcomeKind::Incomplete,
        OutcomeKind::Error,
    ]
    .into_iter()
    .filter(|k| s.count(*k) > 0)
    .map(|k| format!("{} {}", s.count(k), k.as_str()))
    .collect();
    if s.hidden.is_some() {
        parts.push("hidden processes".into());
    }
    format!("partial: {}", parts.join(", "))
}

/// A snapshot's coverage, as the report model has it (without the problems' details).
pub fn coverage_of(s: &Snapshot) -> Coverage {
    Coverage {
        counts: s.counts,
        mappings: s.mappings,
        self_pid: s.self_pid,
        hidden: s.hidden.clone(),
        ..Coverage::default()
    }
}

/// The snapshots laid out; `top`: only the newest N.
pub fn sheet(snapshots: &[Snapshot], top: Option<usize>) -> Sheet<'_> {
    let skip = top.map_or(0, |n| snapshots.len().saturating_sub(n));
    let lines = snapshots[skip..]
        .iter()
        .map(|s| {
            let t = &s.totals;
            let known = |bit: u16, v: u64| Cell::Bytes(t.is_known(bit).then_some(v));
            use crate::model::field;
            Line {
                role: Role::Data { blank: 0 },
                cells: vec![
                    Cell::Id(s.id as u64),
                    Cell::Code(Cow::Owned(utc_timestamp(s.time))),
                    Cell::Count(s.count(OutcomeKind::Read)),
                    Cell::Code(Cow::Owned(coverage_word(s))),
                    known(field::PSS, t.pss),
                    known(field::PRIVATE_CLEAN | field::PRIVATE_DIRTY, t.uss()),
                    known(field::RSS, t.rss),
                    known(field::SWAP, t.swap),
                    Cell::Text(s.host.as_deref().unwrap_or("").as_bytes()),
                ],
            }
        })
        .collect();
    let mut footer = Vec::new();
    if skip > 0 {
        footer.push(format!(
            "… {skip} older snapshots not shown (-n 0 shows all)"
        ));
    }
    if snapshots.is_empty() {
        footer.push("(no snapshot in this range)".into());
    }
    Sheet {
        footer,
        ..Sheet::one_section(columns(), lines, UnitRule::PerCell, None)
    }
}
