//! The command line of the commands over time: `pmaps diff` and `pmaps watch` (clap types
//! and their value parsers only).

use std::path::PathBuf;

use super::{GroupArg, parse_size};
use crate::analyze::Metric;
use crate::analyze::diff::MinChange;

pub(super) const DIFF_EXIT_CODES: &str = "\
Exit status:
  0  no row changed beyond the thresholds
  1  fatal error (a report or capture unreadable or refused, a report of another schema
     version, the scan failed, output not written)
  2  usage error, or reports that cannot be compared (other group-by; other host without
     --force)
  5  some row changed beyond the thresholds";

pub(super) const WATCH_EXIT_CODES: &str = "\
Exit status:
  0  watched to the end; no suspect
  1  fatal error (proc root unreadable, output not written)
  2  usage error
  3  a target could not be watched: it matched nothing (while others matched), was denied,
     or could no longer be read
  4  no process matched any target
  5  suspects were found (whatever else happened)";

/// `pmaps diff`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The older side: a saved JSON report or a capture archive (`-`: standard input), or a
    /// snapshot of the history (@latest, @-N, @ID, a time).
    #[arg(value_name = "OLD")]
    pub old: PathBuf,

    /// The newer side, as OLD; without it, a scan made now (or the capture of --from).
    #[arg(value_name = "NEW")]
    pub new: Option<PathBuf>,

    /// Sort by the absolute change of this metric (largest first): size, rss, pss, uss,
    /// shared, swap, swap_pss, mappings, processes. `--min-change` applies to it too.
    #[arg(short = 's', long, default_value = "pss", value_parser = parse_metric)]
    pub sort: Metric,

    /// Show unchanged rows too.
    #[arg(long)]
    pub all: bool,

    /// Count a row as changed only when the sorted metric moved by at least this much:
    /// bytes (`4096`, `512K`, `10M`, `1G`) or a percentage of the old value (`5%`).
    #[arg(long, value_name = "BYTES|PERCENT", value_parser = parse_min_change)]
    pub min_change: Option<MinChange>,

    /// Compare reports of different hosts.
    #[arg(long)]
    pub force: bool,

    /// Group the sides by this when neither is a saved report (captures, snapshots, now;
    /// default: file). A saved report's group-by is that of the side rebuilt against it.
    #[arg(short = 'g', long, value_enum)]
    pub group_by: Option<GroupArg>,

    /// Show only the first N rows (0: all).
    #[arg(short = 'n', long, value_name = "N")]
    pub top: Option<usize>,
}

/// `pmaps watch`.
#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// Seconds between samples (decimals allowed; at least 0.05).
    #[arg(short = 'i', long, value_name = "SECONDS", default_value = "5", value_parser = parse_interval)]
    pub interval: std::time::Duration,

    /// Stop after N samples (default: until Ctrl-C, SIGTERM, or every target gone).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// The metric followed: size, rss, pss, uss, shared, swap, swap_pss (default: uss for
    /// processes and mappings, pss for files; RSS moves with page cache and sharing).
    #[arg(long, value_parser = parse_byte_metric)]
    pub metric: Option<Metric>,

    /// The least growth rate that makes a suspect, per hour (default 1M: 1 MiB per hour).
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub min_rate: Option<u64>,

    /// Rows of the live view and of the growers' table (default: what fits a terminal, 20
    /// otherwise).
    #[arg(short = 'n', long, value_name = "N")]
    pub top: Option<usize>,

    /// PIDs and names; none: every process and every mapped file.
    #[arg(value_name = "PID|NAME")]
    pub targets: Vec<std::ffi::OsString>,
}

fn parse_metric(s: &str) -> Result<Metric, String> {
    Metric::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
        format!("unknown metric; one of: {}", names.join(", "))
    })
}

pub(super) fn parse_byte_metric(s: &str) -> Result<Metric, String> {
    match Metric::parse(s) {
        Some(m) if m.is_bytes() => Ok(m),
        _ => {
            let names: Vec<&str> = Metric::bytes().iter().map(|m| m.name()).collect();
            Err(format!("unknown metric; one of: {}", names.join(", ")))
        }
    }
}

fn parse_min_change(s: &str) -> Result<MinChange, String> {
    match s.trim().strip_suffix('%') {
        Some(p) => match p.trim().parse::<f64>() {
            Ok(p) if p.is_finite() && p >= 0.0 => Ok(MinChange::Percent(p)),
            _ => Err(format!("{s:?}: expected a percentage such as 5%")),
        },
        None => parse_size(s).map(MinChange::Bytes),
    }
}

/// The longest interval accepted: a day.
const MAX_INTERVAL: f64 = 86_400.0;

fn parse_interval(s: &str) -> Result<std::time::Duration, String> {
    match s.trim().parse::<f64>() {
        Ok(secs) if (0.05..=MAX_INTERVAL).contains(&secs) => {
            Ok(std::time::Duration::from_secs_f64(secs))
        }
        _ => Err(format!(
            "{s:?}: expected seconds from 0.05 to {MAX_INTERVAL}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_intervals_and_metrics() {
        assert_eq!(parse_min_change("5%"), Ok(MinChange::Percent(5.0)));
        assert_eq!(parse_min_change("1M"), Ok(MinChange::Bytes(1 << 20)));
        assert!(parse_min_change("-5%").is_err());
        assert!(parse_min_change("NaN%").is_err());
        assert_eq!(
            parse_interval("0.2"),
            Ok(std::time::Duration::from_millis(200))
        );
        assert!(parse_interval("0").is_err());
        assert!(parse_interval("inf").is_err());
        assert!(parse_interval("1e9").is_err());
        assert_eq!(parse_byte_metric("uss"), Ok(Metric::Uss));
        assert!(parse_byte_metric("mappings").is_err());
    }
}
