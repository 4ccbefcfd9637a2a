//! What a reader is told of coverage: the line that says who was read and who was not, and
//! the one that says why a report is partial.

use crate::model::{Outcome, OutcomeKind, Report, Source};
use crate::text::{plural, thousands};

/// The coverage line: who was read and who was not, and what the scan cost.
/// `1,072 processes: 1,031 read, 38 kernel threads, 2 denied, 1 vanished; 268,138 mappings
/// from smaps; 0.31 s`.
pub fn coverage_line(report: &Report) -> String {
    let c = &report.coverage;
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
        parts.join(", "),
        read_from,
        report.meta.source.file_name(),
    );
    if c.filtered > 0 {
        line.push_str(&format!("; {} filtered out", thousands(c.filtered)));
    }
    if let Some(h) = &c.hidden {
        line.push_str(&format!("; {h}"));
    }
    line.push_str(&format!("; {:.2} s", report.meta.duration.as_secs_f64()));
    line
}

/// One line saying why a report is partial, or `None` when it is complete.
pub fn partial_summary(report: &Report) -> Option<String> {
    let c = &report.coverage;
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
    let mut line = format!("partial report: {}", parts.join(", "));
    if c.count(OutcomeKind::Denied) > 0 {
        line.push_str(
            " (no permission to read their maps: run as root, or see README, Permissions)",
        );
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
