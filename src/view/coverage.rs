//! What a reader is told of coverage: the line that says who was read and who was not, and
//! the one that says why a report is partial.

use crate::model::{Coverage, Outcome, OutcomeKind, Privilege, Report, Source};
use crate::text::{plural, thousands};

/// The coverage line: who was read and who was not, and what the scan cost.
/// `1,072 processes: 1,031 read, 38 kernel threads, 2 denied, 1 vanished; 268,138 mappings
/// from smaps; 0.31 s`.
pub fn coverage_line(report: &Report) -> String {
    let c = &report.coverage;
    let read_from = if report.meta.source == Source::Rollup && c.mappings_from_maps {
        format!(
            "{} from maps, totals",
            plural(c.mappings, "mapping", "mappings")
        )
    } else if report.meta.source == Source::Rollup {
        "totals".to_string()
    } else {
        plural(c.mappings, "mapping", "mappings")
    };
    let mut line = format!(
        "{}: {}; {} from {}",
        plural(c.processes(), "process", "processes"),
        outcome_counts(c),
        read_from,
        report.meta.source.file_name(),
    );
    if c.filtered > 0 {
        line.push_str(&format!("; {} filtered out", thousands(c.filtered)));
    }
    if !c.shared.is_empty() {
        let n = c.shared.len() as u64;
        let verb = if n == 1 { "shares" } else { "share" };
        line.push_str(&format!(
            "; {} {verb} another's address space (counted once, with the lowest PID)",
            plural(n, "process", "processes")
        ));
    }
    if c.shared_unknown > 0 {
        line.push_str(&format!(
            "; {} may share an address space (cannot tell: each counted)",
            plural(c.shared_unknown, "process", "processes")
        ));
    }
    if let Some(h) = &c.hidden {
        line.push_str(&format!("; {h}"));
    }
    if let Some(m) = missing_pids(report) {
        line.push_str(&format!("; {m}"));
    }
    line.push_str(&format!("; {:.2} s", report.meta.duration.as_secs_f64()));
    line
}

/// PIDs listed at most in [`missing_pids`]; the rest are counted.
const MISSING_SHOWN: usize = 20;

/// `no process 999999`, `no processes 7, 8, 9`: the `--pid` values that are no process, or
/// `None` when every one was found.
pub fn missing_pids(report: &Report) -> Option<String> {
    let missing = &report.coverage.missing;
    let (first, rest) = missing.split_first()?;
    if rest.is_empty() {
        return Some(format!("no process {first}"));
    }
    let mut list: Vec<String> = missing
        .iter()
        .take(MISSING_SHOWN)
        .map(u32::to_string)
        .collect();
    if missing.len() > MISSING_SHOWN {
        list.push(format!("... ({} in all)", thousands(missing.len() as u64)));
    }
    Some(format!("no processes {}", list.join(", ")))
}

/// One line saying why a report is partial, or `None` when it is complete. `privilege`: who
/// pmaps ran as (the advice about denied processes names what is missing).
pub fn partial_summary(report: &Report, privilege: Privilege) -> Option<String> {
    partial_reasons(&report.coverage, privilege).map(|why| format!("partial report: {why}"))
}

/// The outcomes counted: `1,031 read, 38 kernel threads, 2 denied, 1 vanished` (read always,
/// the others when there are any).
pub fn outcome_counts(c: &Coverage) -> String {
    let mut parts = Vec::new();
    for kind in OutcomeKind::ALL {
        let n = c.count(kind);
        if n == 0 && kind != OutcomeKind::Read {
            continue;
        }
        parts.push(match kind {
            OutcomeKind::KernelThread => plural(n, "kernel thread", "kernel threads"),
            OutcomeKind::Zombie => plural(n, "zombie", "zombies"),
            other => format!("{} {}", thousands(n), other.as_str()),
        });
    }
    parts.join(", ")
}

/// Why a scan or capture is partial (`2 processes denied (…); first error: …`), or `None`
/// when it is complete. `privilege`: who pmaps ran as.
pub fn partial_reasons(c: &Coverage, privilege: Privilege) -> Option<String> {
    if c.is_complete() {
        return None;
    }
    let mut parts = Vec::new();
    for kind in [
        OutcomeKind::Denied,
        OutcomeKind::Incomplete,
        OutcomeKind::Error,
    ] {
        let n = c.count(kind);
        if n > 0 {
            parts.push(format!(
                "{} {}",
                plural(n, "process", "processes"),
                kind.as_str()
            ));
        }
    }
    if let Some(h) = &c.hidden {
        parts.push(h.clone());
    }
    let mut line = parts.join(", ");
    let first_denied = c.problems.iter().find_map(|p| match &p.outcome {
        Outcome::Denied { errno, .. } => Some(*errno),
        _ => None,
    });
    if let Some(errno) = first_denied {
        let why = privilege.denied_reason(errno);
        let see = if why == "run as root" {
            ", or see"
        } else {
            "; see"
        };
        line.push_str(&format!(
            " (no permission to read their maps: {why}{see} README, Permissions)"
        ));
    }
    let first_error = c.problems.iter().find_map(|p| match &p.outcome {
        Outcome::Error { path, message } => Some((path, message)),
        _ => None,
    });
    if let Some((path, message)) = first_error {
        line.push_str(&format!("; first error: {path}: {message}"));
    }
    Some(line)
}
