//! The command line of the history: `pmaps record`, `pmaps history` and `pmaps trend` (clap
//! types only; `--db` and `--at` are options of the main command line).

use std::time::Duration;

use crate::analyze::Metric;
use crate::history::snapshots::{Reference, parse_duration};

pub(super) const RECORD_EXIT_CODES: &str = "\
Exit status:
  0  recorded (quiet: nothing is printed)
  1  not recorded: the database is not a pmaps history, is of a newer schema, cannot be
     written (disk full, read-only), or the proc root cannot be listed; the database is as
     it was
  2  usage error
  3  recorded, but the scan was partial (some process denied, incomplete or in error)";

pub(super) const READ_EXIT_CODES: &str = "\
Exit status:
  0  done
  1  fatal error (no history at the path, not a pmaps history, a newer schema, output not
     written)
  2  usage error";

pub(super) const TREND_EXIT_CODES: &str = "\
Exit status:
  0  no series grows steadily
  1  fatal error (no history at the path, not a pmaps history, a newer schema, output not
     written)
  2  usage error
  5  suspects were found";

/// `pmaps record`.
#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// Remove snapshots older than this at each record: a duration (`90m`, `12h`, `30d`,
    /// `8w`) or `all` to keep every snapshot.
    #[arg(long, value_name = "DURATION|all", default_value = "30d", value_parser = parse_keep)]
    pub keep: Keep,

    /// Then remove the oldest snapshots until the stored data fits this size (`200M`, `1G`);
    /// the newest snapshot is always kept.
    #[arg(long, value_name = "BYTES", value_parser = super::parse_size)]
    pub max_size: Option<u64>,

    /// Worker threads of the scan (default: one per CPU).
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

/// `--keep`: a duration, or every snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keep(pub Option<Duration>);

fn parse_keep(s: &str) -> Result<Keep, String> {
    if s == "all" {
        return Ok(Keep(None));
    }
    parse_duration(s)
        .map(|d| Keep(Some(d)))
        .ok_or_else(|| format!("{s:?}: expected a duration such as 30d, 12h or 90m, or all"))
}

/// A point in time on the command line: a UTC time, or a duration ago.
fn parse_when(s: &str) -> Result<Reference, String> {
    match Reference::parse(s) {
        Ok(r @ Reference::At(_)) => Ok(r),
        _ => Err(format!(
            "{s:?}: expected a UTC time (2026-11-28T03:00) or a duration ago (7d, 12h)"
        )),
    }
}

/// `pmaps history`.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// Only snapshots taken since this time: a UTC time (`2026-11-28T03:00`) or a duration
    /// ago (`7d`).
    #[arg(long, value_name = "TIME|DURATION", value_parser = parse_when)]
    pub since: Option<Reference>,

    /// Only snapshots taken until this time.
    #[arg(long, value_name = "TIME|DURATION", value_parser = parse_when)]
    pub until: Option<Reference>,

    /// Show only the newest N snapshots (0: all).
    #[arg(short = 'n', long, value_name = "N")]
    pub top: Option<usize>,
}

/// What a trend series follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum SeriesKind {
    /// One process: (PID, start time).
    Process,
    /// Every process of one command name, restarts included.
    Command,
    /// Every process of one user.
    User,
    /// One mapped object (device, inode, path), over every process mapping it.
    File,
}

/// `pmaps trend`.
#[derive(Debug, clap::Args)]
pub struct TrendArgs {
    /// The first snapshot: a UTC time (`2026-11-28T03:00`) or a duration ago (`7d`).
    #[arg(long, value_name = "TIME|DURATION", default_value = "7d", value_parser = parse_when)]
    pub since: Reference,

    /// The last snapshot (default: the newest).
    #[arg(long, value_name = "TIME|DURATION", value_parser = parse_when)]
    pub until: Option<Reference>,

    /// Which series (comma-separated or repeated; default: all four).
    #[arg(long = "by", value_enum, value_delimiter = ',')]
    pub by: Vec<SeriesKind>,

    /// The metric followed: size, rss, pss, uss, shared, swap, swap_pss (default: uss for
    /// processes, commands and users, pss for files).
    #[arg(long, value_parser = super::over_time::parse_byte_metric)]
    pub metric: Option<Metric>,

    /// The least growth rate that makes a suspect, per hour (default 1M: 1 MiB per hour).
    #[arg(long, value_name = "BYTES", value_parser = super::parse_size)]
    pub min_rate: Option<u64>,

    /// Every series, not only the suspects (table and JSON `series`; CSV has every series).
    #[arg(long)]
    pub all: bool,

    /// CSV: one row per series and one column per snapshot time (default: long format, one
    /// row per series and snapshot).
    #[arg(long)]
    pub wide: bool,

    /// Show only the first N series of the table (0: all).
    #[arg(short = 'n', long, value_name = "N")]
    pub top: Option<usize>,
}
