//! The command line: clap types only (the commands, their options and value parsers, the
//! help text). Turning them into a question and running it is the app's.

use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, ValueEnum};
use regex::bytes::Regex;

use crate::analyze::Metric;
use crate::analyze::diff::MinChange;
use crate::model::MapKind;
use crate::view::report::Column;

const EXIT_CODES: &str = "\
Exit status:
  0  complete report (vanished processes, zombies and kernel threads are expected)
  1  fatal error (proc root unreadable, output not written)
  2  usage error
  3  partial report (some process denied, incomplete or in error; see the coverage line)
  4  pmaps show, pmaps watch: no process matched
  5  pmaps diff: some row changed beyond the thresholds; pmaps watch: suspects found";

/// Where did the memory go? Reads every process's memory maps under /proc in parallel and
/// reports VSZ, RSS, PSS, USS and swap grouped by mapped file, process, user, command or
/// mapping kind.
#[derive(Debug, Parser)]
#[command(
    name = "pmaps",
    version,
    after_help = EXIT_CODES,
    max_term_width = 100
)]
pub struct Cli {
    /// What each row stands for.
    #[arg(
        short = 'g',
        long,
        value_enum,
        default_value = "file",
        help_heading = "Report"
    )]
    pub group_by: GroupArg,

    /// Sort by this column (largest first; text columns A to Z): pss, rss, uss, size, swap,
    /// swap_pss, shared, mappings, processes, path, kind, pid, user, command.
    #[arg(short = 's', long, default_value = "pss", value_parser = parse_column, help_heading = "Report")]
    pub sort: Column,

    /// Reverse the sort order.
    #[arg(long, help_heading = "Report")]
    pub reverse: bool,

    /// Show only the first N rows (0: all); with --group-by file,process, the first N files
    /// and the first N processes under each. Without it, a table on a terminal shows what
    /// fits the screen (5 processes per file); other output has every row.
    #[arg(short = 'n', long, value_name = "N", help_heading = "Report")]
    pub top: Option<usize>,

    /// Only these PIDs (comma-separated or repeated).
    #[arg(
        short = 'p',
        long = "pid",
        value_name = "PID",
        value_delimiter = ',',
        help_heading = "Filters"
    )]
    pub pids: Vec<u32>,

    /// Only processes of these users (name or uid; comma-separated or repeated).
    #[arg(
        short = 'u',
        long = "user",
        value_name = "USER",
        value_delimiter = ',',
        help_heading = "Filters"
    )]
    pub users: Vec<String>,

    /// Only processes whose command name or command line matches REGEX.
    #[arg(short = 'c', long = "command", value_name = "REGEX", value_parser = parse_regex, help_heading = "Filters")]
    pub command: Option<Regex>,

    /// Only mappings whose path matches REGEX.
    #[arg(short = 'm', long = "map", value_name = "REGEX", value_parser = parse_regex, help_heading = "Filters")]
    pub map: Option<Regex>,

    /// Only mappings of these kinds: file, deleted, heap, stack, anon, shm, memfd, vdso,
    /// other (comma-separated or repeated).
    #[arg(short = 'k', long = "kind", value_name = "KIND", value_delimiter = ',', value_parser = parse_kind, help_heading = "Filters")]
    pub kinds: Vec<MapKind>,

    /// Output format.
    #[arg(
        short = 'f',
        long,
        value_enum,
        default_value = "table",
        global = true,
        help_heading = "Output"
    )]
    pub format: FormatArg,

    /// Write the report to FILE instead of standard output (`-`): a regular file is replaced
    /// atomically, a device node or FIFO is written in place.
    #[arg(
        short = 'o',
        long,
        value_name = "FILE",
        global = true,
        help_heading = "Output"
    )]
    pub output: Option<PathBuf>,

    /// Which file to read per process. auto: smaps_rollup for per-process totals, smaps for
    /// a per-mapping breakdown, maps with --vsz.
    #[arg(long, value_enum, default_value = "auto", help_heading = "Scan")]
    pub source: SourceArg,

    /// Only virtual sizes are wanted: read the cheap `maps` files (RSS, PSS, USS and swap
    /// are then unknown).
    #[arg(long, conflicts_with = "source", help_heading = "Scan")]
    pub vsz: bool,

    /// Worker threads (default: one per CPU).
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..), help_heading = "Scan")]
    pub threads: Option<u16>,

    /// Read this directory instead of /proc (any tree laid out like /proc).
    #[arg(
        long,
        value_name = "DIR",
        default_value = "/proc",
        global = true,
        help_heading = "Scan"
    )]
    pub proc_root: PathBuf,

    #[command(subcommand)]
    pub subcommand: Option<Subcommand>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Subcommand {
    /// One process's memory map, mapping by mapping, like pmap: found by PID or by name.
    ///
    /// A TARGET of digits is a PID; any other TARGET is a name matched as a substring of each
    /// process's command name or command line (like `pgrep -f`, but a fixed string); every
    /// matching process is shown, under a header line `PID: command line (user)`. Byte columns
    /// are in KiB, so the totals compare with `pmap -x` / `pmap -X`.
    #[command(after_help = SHOW_EXIT_CODES)]
    Show(ShowArgs),

    /// What changed between two saved JSON reports, or between a saved report and now.
    ///
    /// OLD and NEW are JSON reports of pmaps (`pmaps -f json -o FILE`, every row: no -n).
    /// With OLD alone, a scan is made now with the group-by, source and filters OLD was made
    /// with. Rows are matched by identity: a process is (PID, start time), so a reused PID
    /// is one row gone and one new; a file is (device, inode, path); users, commands and
    /// kinds by name. Each row is new, gone, changed, same (hidden unless --all), or unread
    /// (a process the other report could not read: not new memory).
    #[command(after_help = DIFF_EXIT_CODES)]
    Diff(DiffArgs),

    /// Samples memory over time and names what grows steadily (leak suspects).
    ///
    /// With PID|NAME targets (matched like `pmaps show`): each target's mappings, matched
    /// sample to sample by address range, path and inode (a mapping that grows, moves or
    /// splits keeps its series), and each target's total. Without targets: every process
    /// and every mapped file. On a terminal, a live view redrawn in place; otherwise one
    /// record per sample (JSON Lines with -f json, CSV long format with -f csv), then the
    /// suspects. Stops after --count samples, on Ctrl-C or SIGTERM (the suspects are still
    /// given; a second signal ends pmaps at once), or when every target has exited.
    #[command(after_help = WATCH_EXIT_CODES)]
    Watch(WatchArgs),
}

const DIFF_EXIT_CODES: &str = "\
Exit status:
  0  no row changed beyond the thresholds
  1  fatal error (a report unreadable or of another schema version, the scan failed, output
     not written)
  2  usage error, or reports that cannot be compared (other group-by; other host without
     --force)
  5  some row changed beyond the thresholds";

const WATCH_EXIT_CODES: &str = "\
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
    /// The older report (a JSON file; `-` is standard input).
    #[arg(value_name = "OLD")]
    pub old: PathBuf,

    /// The newer report; without it, a scan made now.
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

const SHOW_EXIT_CODES: &str = "\
Exit status:
  0  every target matched and every matching process was shown
  1  fatal error (proc root unreadable, output not written)
  2  usage error
  3  partial: a target matched nothing, or a process was denied, changed while read or failed
     (each is named on standard error, with the reason)
  4  no process matched any target";

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// Fold each run of consecutive mappings of the same file into one row (a library's 4-5
    /// segments become one): address first start to last end, differing permission letters
    /// shown as `*`, counters summed. Anonymous mappings are never folded.
    #[arg(long)]
    pub merge: bool,

    /// Add a column for every smaps field the running kernel prints, in its order (like
    /// `pmap -XX`).
    #[arg(long)]
    pub all_fields: bool,

    /// PIDs and names.
    #[arg(value_name = "PID|NAME", required = true)]
    pub targets: Vec<std::ffi::OsString>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GroupArg {
    /// One row per mapped file or pseudo-mapping ([heap], [anon], SysV shm, memfd…).
    File,
    /// One row per process.
    Process,
    /// One row per user.
    User,
    /// One row per command name.
    Command,
    /// One row per mapping kind.
    Kind,
    /// Each file's row, then one row per process mapping it (librank's view).
    #[value(name = "file,process")]
    FileProcess,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Aligned columns in human units, with totals and a coverage line.
    Table,
    /// RFC 4180 CSV with integer bytes, for spreadsheets.
    Csv,
    /// One JSON document with integer bytes and a meta object.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceArg {
    /// The cheapest file that answers the question.
    Auto,
    /// /proc/PID/smaps: one record per mapping.
    Smaps,
    /// /proc/PID/smaps_rollup: per-process totals only.
    Rollup,
    /// /proc/PID/maps: virtual sizes only.
    Maps,
}

fn parse_column(s: &str) -> Result<Column, String> {
    Column::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Column::ALL.iter().map(|c| c.name()).collect();
        format!("unknown column; one of: {}", names.join(", "))
    })
}

/// The most a filter regex may compile to: a pattern that needs more (thousands of groups,
/// nested counted repetitions) is refused instead of costing seconds and gigabytes per
/// process.
const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// The longest filter pattern accepted.
const REGEX_LEN_LIMIT: usize = 4096;

pub fn parse_regex(s: &str) -> Result<Regex, String> {
    if s.len() > REGEX_LEN_LIMIT {
        return Err(format!("longer than {REGEX_LEN_LIMIT} bytes"));
    }
    regex::bytes::RegexBuilder::new(s)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .nest_limit(64)
        .build()
        .map_err(|e| e.to_string())
}

fn parse_kind(s: &str) -> Result<MapKind, String> {
    MapKind::parse(s).ok_or_else(|| {
        let names: Vec<&str> = MapKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown kind; one of: {}", names.join(", "))
    })
}

fn parse_metric(s: &str) -> Result<Metric, String> {
    Metric::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
        format!("unknown metric; one of: {}", names.join(", "))
    })
}

fn parse_byte_metric(s: &str) -> Result<Metric, String> {
    match Metric::parse(s) {
        Some(m) if m.is_bytes() => Ok(m),
        _ => {
            let names: Vec<&str> = Metric::bytes().iter().map(|m| m.name()).collect();
            Err(format!("unknown metric; one of: {}", names.join(", ")))
        }
    }
}

/// Bytes: digits with an optional binary suffix `K`, `M`, `G`, `T` (`KiB`… and `KB`… read
/// the same).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (digits, shift) = match t.as_bytes().last() {
        Some(b'k' | b'K') => (&t[..t.len() - 1], 10),
        Some(b'm' | b'M') => (&t[..t.len() - 1], 20),
        Some(b'g' | b'G') => (&t[..t.len() - 1], 30),
        Some(b't' | b'T') => (&t[..t.len() - 1], 40),
        _ => (t, 0),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?}: expected bytes such as 4096, 512K, 10M or 1G"))?;
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("{s:?}: too large"))
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

/// The report's own options: they mean nothing to a subcommand.
pub const REPORT_OPTIONS: [(&str, &str); 12] = [
    ("group_by", "--group-by"),
    ("sort", "--sort"),
    ("reverse", "--reverse"),
    ("top", "--top"),
    ("pids", "--pid"),
    ("users", "--user"),
    ("command", "--command"),
    ("map", "--map"),
    ("kinds", "--kind"),
    ("source", "--source"),
    ("vsz", "--vsz"),
    ("threads", "--threads"),
];

/// Parses the command line: the typed options and the matches (which tell an option given
/// on the command line from its default).
pub fn parse() -> Result<(Cli, ArgMatches), clap::Error> {
    let matches = Cli::command().try_get_matches()?;
    let cli = Cli::from_arg_matches(&matches)?;
    Ok((cli, matches))
}

/// The report options given on the command line (even at their default value).
pub fn report_options_given(matches: &ArgMatches) -> Vec<&'static str> {
    REPORT_OPTIONS
        .iter()
        .filter(|(id, _)| matches.value_source(id) == Some(ValueSource::CommandLine))
        .map(|(_, flag)| *flag)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_regex_that_would_compile_to_gigabytes_is_a_usage_error() {
        let groups = "(a)".repeat(20_000);
        assert!(parse_regex(&groups).is_err());
        let huge = "a{1000}{1000}";
        assert!(parse_regex(huge).is_err());
        assert!(parse_regex(r"libc\.so").is_ok());
    }

    #[test]
    fn sizes_thresholds_and_intervals() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("512K"), Ok(512 << 10));
        assert_eq!(parse_size("10MiB"), Ok(10 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert!(parse_size("1.5M").is_err());
        assert!(parse_size("99999999999T").is_err());
        assert!(parse_size("").is_err());
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
