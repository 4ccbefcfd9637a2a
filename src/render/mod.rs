//! Renders a [`Report`] as a table (people), CSV (spreadsheets) or JSON (programs), each over
//! the same column definition ([`crate::columns`]). Renderers produce bytes in memory; the
//! caller writes them once, so a closed pipe or a full disk is handled in one place.
//!
//! Machine formats carry raw integers (bytes) and stable column names; human units, column
//! alignment and truncation live in the table renderer alone.

pub mod csv;
pub mod escape;
pub mod json;
pub mod show;
pub mod table;

use std::time::{SystemTime, UNIX_EPOCH};

use crate::Report;
use crate::config::Format;
use crate::model::{Outcome, OutcomeKind};

/// The terminal the table is shown on, when stdout is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terminal {
    pub rows: usize,
    pub cols: usize,
}

/// Renders the report in `format`. `terminal` limits a table to what fits the screen.
pub fn render(
    report: &Report,
    format: Format,
    terminal: Option<Terminal>,
) -> anyhow::Result<Vec<u8>> {
    match format {
        Format::Table => Ok(table::render(report, terminal).into_bytes()),
        Format::Csv => csv::render(report),
        Format::Json => json::render(report),
    }
}

/// `1,234` for 1234.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

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
    let read_from = if report.meta.source == crate::model::Source::Rollup {
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

/// `2026-11-24T17:50:13Z`.
pub fn utc_timestamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(268_138), "268,138");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn timestamps() {
        assert_eq!(utc_timestamp(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_542_613);
        assert_eq!(utc_timestamp(t), "2026-11-24T17:50:13Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(utc_timestamp(leap), "2000-02-29T00:00:00Z");
    }
}
