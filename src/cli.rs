//! The command line: clap types only (the commands, their options and value parsers, the
//! help text). Turning them into a question and running it is the app's.

use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, ValueEnum};
use regex::bytes::Regex;

use crate::model::MapKind;
use crate::view::report::Column;

const EXIT_CODES: &str = "\
Exit status:
  0  complete report (vanished processes, zombies and kernel threads are expected)
  1  fatal error (proc root unreadable, output not written)
  2  usage error
  3  partial report (some process denied, incomplete or in error; see the coverage line)
  4  pmaps show: no process matched";

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

    /// Only processes whose cgroup path matches REGEX (the memory controller's path on a
    /// v1/hybrid host).
    #[arg(long = "cgroup", value_name = "REGEX", value_parser = parse_regex, help_heading = "Filters")]
    pub cgroup: Option<Regex>,

    /// Only processes in these systemd units (nginx.service, session-3.scope; comma-separated
    /// or repeated).
    #[arg(
        long = "unit",
        value_name = "NAME",
        value_delimiter = ',',
        help_heading = "Filters"
    )]
    pub units: Vec<String>,

    /// Only processes in a container whose ID (an LXC container's name) starts with PREFIX.
    #[arg(long = "container", value_name = "ID-PREFIX", help_heading = "Filters")]
    pub container: Option<String>,

    /// The root of the cgroup file system whose counters are read for cgroup and unit rows
    /// (default: found in the mount table; the v1 memory controller's mount on a v1/hybrid
    /// host).
    #[arg(long, value_name = "DIR", help_heading = "Scan")]
    pub cgroup_root: Option<PathBuf>,

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

    /// With --map/--kind, read every process's smaps instead of reading `maps` first and
    /// smaps only where a mapping matches (the cost of a full read; for comparison).
    #[arg(long, help_heading = "Scan")]
    pub no_prefilter: bool,

    /// Say on stderr which files are read per process and why, then what was read (with
    /// --format json, also as `meta.plan`).
    #[arg(long, help_heading = "Scan")]
    pub explain: bool,

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
    /// One row per cgroup, with the cgroup's own memory counters.
    Cgroup,
    /// One row per systemd unit (service or scope), with its cgroup's own counters.
    Unit,
    /// One row per container (Docker, containerd/CRI, CRI-O, podman, LXC), `-` the host.
    Container,
    /// Each file's row, then one row per container mapping it.
    #[value(name = "file,container")]
    FileContainer,
    /// Each container's row, then one row per file it maps.
    #[value(name = "container,file")]
    ContainerFile,
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

fn parse_regex(s: &str) -> Result<Regex, String> {
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

/// The report's own options: they mean nothing to a subcommand.
pub const REPORT_OPTIONS: [(&str, &str); 18] = [
    ("cgroup", "--cgroup"),
    ("units", "--unit"),
    ("container", "--container"),
    ("cgroup_root", "--cgroup-root"),
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
    ("no_prefilter", "--no-prefilter"),
    ("explain", "--explain"),
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
}
