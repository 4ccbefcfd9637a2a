//! The command line: clap types only (the commands, their options and value parsers, the
//! help text). Turning them into a question and running it is the app's.

use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, ValueEnum};
use regex::bytes::Regex;

mod capture;
mod generate;
mod history;
mod over_time;
mod show;

pub use capture::{CaptureArgs, CaptureSourceArg};
pub use generate::GenerateArg;
pub use history::{HistoryArgs, Keep, RecordArgs, SeriesKind, TrendArgs};
pub use over_time::{DiffArgs, WatchArgs};
pub use show::ShowArgs;

use crate::model::MapKind;
use crate::view::report::Column;

const EXIT_CODES: &str = "\
Exit status:
  0  complete report (vanished processes, zombies and kernel threads are expected)
  1  fatal error (proc root unreadable or not a proc, capture unreadable or refused, output
     not written)
  2  usage error
  3  partial report (some process denied, incomplete or in error; see the coverage line);
     0 with --allow-partial
  4  a process asked for does not exist: a --pid that is no process (named on stderr; the
     others are reported), or for pmaps show and pmaps watch, no process matched
  5  pmaps diff: some row changed beyond the thresholds; pmaps watch and pmaps trend:
     suspects found";

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
    /// swap_pss, shared, mappings, processes, path, kind, pid, user, command. Default: pss,
    /// or size with --vsz (the only figure maps files give). `mappings` makes the auto
    /// source read smaps (the rollup does not count them).
    #[arg(short = 's', long, value_name = "COLUMN", value_parser = parse_column, help_heading = "Report")]
    pub sort: Option<Column>,

    /// Reverse the sort order.
    #[arg(long, help_heading = "Report")]
    pub reverse: bool,

    /// Choose and order the columns, in every format (comma-separated): any column of the
    /// group-by (see --sort) and the percentages rss_pct, pss_pct, uss_pct, shared_pct (of
    /// RAM), swap_pct, swap_pss_pct (of swap). A table fitted to a terminal keeps the columns
    /// chosen here (it shortens their texts; it leaves out only columns not asked for).
    #[arg(long, value_name = "COLUMN", value_delimiter = ',', value_parser = parse_column, help_heading = "Report")]
    pub columns: Vec<Column>,

    /// Show only the first N rows (0: all); with --group-by file,process (process,file), the
    /// first N files and the first N processes under each (processes, files). Without it, a
    /// table on a terminal shows the rows that fit the screen (5 processes per file); other
    /// output has every row. A table on a terminal always fits its width (COLUMNS).
    #[arg(short = 'n', long, value_name = "N", help_heading = "Report")]
    pub top: Option<usize>,

    /// Only these PIDs (comma-separated or repeated). A thread's ID means its process; a PID
    /// that is no process is named on stderr and makes the exit status 4.
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

    /// Only mappings of these kinds: file, deleted, heap, stack, anon, shm, memfd, hugetlb,
    /// vdso, other (comma-separated or repeated).
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
    /// and kept by `pmaps capture` (default: found in the mount table; the v1 memory
    /// controller's mount on a v1/hybrid host).
    #[arg(long, value_name = "DIR", global = true, help_heading = "Scan")]
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

    /// The unit of a table's byte columns: auto (each cell its own, 4K, 1.5M, 16G, like
    /// `du -h`; the report's default), KiB, MiB or GiB (every cell; `pmaps show` uses KiB by
    /// default, like pmap; `pmaps summary` writes each value's unit beside it). CSV and JSON
    /// always carry bytes.
    #[arg(
        long = "units",
        value_enum,
        value_name = "UNIT",
        ignore_case = true,
        global = true,
        help_heading = "Output"
    )]
    pub byte_units: Option<UnitsArg>,

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

    /// With -f prometheus: the series kept per family (file, user, command, unit, container,
    /// process), largest PSS + SwapPSS first; the rest is summed into one `(other)` series (0:
    /// no limit) [default: 25].
    #[arg(long, value_name = "N", help_heading = "Prometheus (-f prometheus)")]
    pub prom_top: Option<usize>,

    /// With -f prometheus: rows with less PSS + SwapPSS than SIZE are summed into `(other)`
    /// (bytes, or with a binary K, M or G suffix; 0: no minimum) [default: 1M].
    #[arg(long, value_name = "SIZE", value_parser = parse_size, help_heading = "Prometheus (-f prometheus)")]
    pub prom_min: Option<u64>,

    /// With -f prometheus: add the per-process family (labels pid, start_time, user,
    /// command, cmdline), cut like the others.
    #[arg(long, help_heading = "Prometheus (-f prometheus)")]
    pub prom_processes: bool,

    /// Which file to read per process. auto: smaps_rollup for per-process totals (smaps where
    /// the kernel has no smaps_rollup), smaps for a per-mapping breakdown, maps with --vsz.
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

    /// A partial report (some process denied, incomplete or in error) exits 0 with nothing
    /// on stderr, for cron jobs where a known process is always unreadable; the output still
    /// counts every process that was not read (coverage line, JSON `coverage`).
    #[arg(long, help_heading = "Report")]
    pub allow_partial: bool,

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

    /// PIDs to show mapping by mapping, as `pmap PID...` does: `pmaps 1234` is `pmaps show
    /// 1234` (names, --merge and --all-fields need `pmaps show`).
    #[arg(value_name = "PID", value_parser = parse_bare_pid)]
    pub show_pids: Vec<std::ffi::OsString>,
    /// Read processes from a capture (`pmaps capture`, or smem's `smemcap` tar) instead of a
    /// proc root (and the cgroups' counters it kept instead of a cgroupfs); `-` reads it from
    /// standard input.
    #[arg(
        long,
        value_name = "FILE",
        global = true,
        conflicts_with_all = ["proc_root", "cgroup_root"],
        help_heading = "Scan"
    )]
    pub from: Option<PathBuf>,

    /// Report (or `show --merge`) from a snapshot of the history instead of scanning:
    /// @latest, @-N (N before the latest), @ID, a UTC time (2026-11-28T03:00: the last
    /// snapshot at or before it) or a duration ago (2h). Grouping, sorting and filters apply
    /// as to a scan.
    #[arg(
        long,
        value_name = "SNAPSHOT",
        conflicts_with_all = ["from", "explain"],
        help_heading = "History"
    )]
    pub at: Option<String>,

    /// The history database (default: /var/lib/pmaps/history.sqlite for root,
    /// $XDG_STATE_HOME/pmaps/history.sqlite or ~/.local/state/pmaps/history.sqlite
    /// otherwise).
    #[arg(long, value_name = "FILE", global = true, help_heading = "History")]
    pub db: Option<PathBuf>,

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
    /// are in KiB, so the totals compare with `pmap -x` / `pmap -X`. `pmaps --at SNAPSHOT show
    /// --merge TARGET…` shows the map a recorded snapshot of the history kept (it keeps the
    /// rows of --merge).
    #[command(after_help = show::SHOW_EXIT_CODES)]
    Show(ShowArgs),

    /// Take every process's memory maps to one archive (tar + zstd), to report on later,
    /// anywhere, with `pmaps --from FILE`.
    ///
    /// Reads each process as a report does (same outcomes, same truncation check), in
    /// parallel, and streams what it read into the archive: memory stays bounded for any
    /// number of processes. Each process's cgroup is kept, and the counters of its cgroup
    /// and of its systemd unit's (from the cgroupfs, or --cgroup-root DIR before `capture`),
    /// so -g cgroup, unit and container work from the archive too. The archive goes to -o
    /// FILE (replaced atomically) or to standard output (`ssh host pmaps capture >
    /// host.tar.zst`), never to a terminal.
    #[command(after_help = capture::CAPTURE_EXIT_CODES)]
    Capture(CaptureArgs),

    /// The whole machine at a glance: where the RAM and swap are, from /proc/meminfo and a
    /// scan of every process (user space by PSS, page cache, kernel, hugetlb, free).
    ///
    /// User space is the PSS of every process read, split into anonymous, file-backed and
    /// shmem/tmpfs as the kernel's smaps_rollup gives it; the rest comes from meminfo. A check
    /// line compares the scan with meminfo's own AnonPages + Mapped and says what it could
    /// not see. With --from, the captured host's: its meminfo (one snapshot), and user space
    /// from the map file the capture kept (from smaps: no split, PSS summed per mapping).
    #[command(after_help = SUMMARY_EXIT_CODES)]
    Summary,

    /// What changed between two reports, captures or snapshots, or between one and now.
    ///
    /// OLD and NEW are each a JSON report of pmaps (`pmaps -f json -o FILE`, every row: no
    /// -n), a capture archive (`pmaps capture`) or a snapshot of the history (@latest, @-1,
    /// @ID, a time). With OLD alone, the new side is a scan made now, or the capture given
    /// with --from. A side that is not a saved report is made with the group-by, source and
    /// filters of the saved report on the other side (with -g, by file without it, when
    /// neither is). Rows are matched by identity: a process is (PID, start time), so a
    /// reused PID is one row gone and one new; a file is (device, inode, path); users,
    /// commands, kinds, cgroups and units by name, containers by runtime and ID; a report
    /// of two levels (file,process…) by its first level's rows. Each row is new, gone,
    /// changed, same (hidden unless --all), or unread (a process the other side could not
    /// read: not new memory).
    #[command(after_help = over_time::DIFF_EXIT_CODES)]
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
    #[command(after_help = over_time::WATCH_EXIT_CODES)]
    Watch(WatchArgs),

    /// Scans every process and appends the scan to the history database as one snapshot
    /// (for cron or a systemd timer: quiet on success).
    ///
    /// One snapshot is one transaction: a record killed half way leaves the database as it
    /// was. Two records at once both land (one waits for the other). Each record then
    /// removes the snapshots --keep and --max-size do not keep.
    #[command(after_help = history::RECORD_EXIT_CODES)]
    Record(RecordArgs),

    /// Lists the snapshots of the history: id, time, processes read, coverage, total PSS.
    #[command(after_help = history::READ_EXIT_CODES)]
    History(HistoryArgs),

    /// What grew steadily across the snapshots of the history: per process, per command
    /// (restarts included, and marked), per user and per file, judged by the same
    /// statistic as `pmaps watch`.
    #[command(after_help = history::TREND_EXIT_CODES)]
    Trend(TrendArgs),

    /// Write the man page or shell completions to standard output (or --output).
    #[command(hide = true)]
    Generate {
        #[command(subcommand)]
        what: GenerateArg,
    },
}

const SUMMARY_EXIT_CODES: &str = "\
Exit status:
  0  complete: every process that has memory was read
  1  fatal error (meminfo or the proc root unreadable, or not a proc; the capture of --from
     unreadable or refused; output not written)
  2  usage error
  3  partial: some process was denied, incomplete or in error (see the check line)";

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
    /// Each process's row, then one row per file it maps.
    #[value(name = "process,file")]
    ProcessFile,
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
    /// A treemap picture (SVG) of the report's rows, box areas proportional to the sort
    /// column (PSS by default).
    Svg,
    /// Prometheus text exposition for node_exporter's textfile collector: every family (file,
    /// kind, user, command, systemd unit with its cgroup's charge, container; process with
    /// --prom-processes) from one smaps scan, a bounded number of series, and health metrics.
    Prometheus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UnitsArg {
    /// Each cell in its own unit (K, M, G, T: KiB, MiB, GiB, TiB).
    Auto,
    #[value(name = "KiB")]
    Kib,
    #[value(name = "MiB")]
    Mib,
    #[value(name = "GiB")]
    Gib,
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

/// A bare argument: a PID (decimal digits), or a usage error that points at `pmaps show`.
fn parse_bare_pid(s: &str) -> Result<std::ffi::OsString, String> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.into())
    } else {
        Err(format!(
            "not a PID (a process is shown by name with `pmaps show {s}`)"
        ))
    }
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

/// Bytes: digits with an optional binary suffix `K`, `M`, `G`, `T` (`KiB`… and `KB`… read
/// the same).
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
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

fn parse_kind(s: &str) -> Result<MapKind, String> {
    MapKind::parse(s).ok_or_else(|| {
        let names: Vec<&str> = MapKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown kind; one of: {}", names.join(", "))
    })
}

/// The report's own options: they mean nothing to a subcommand.
pub const REPORT_OPTIONS: [(&str, &str); 24] = [
    ("at", "--at"),
    ("cgroup", "--cgroup"),
    ("units", "--unit"),
    ("container", "--container"),
    ("cgroup_root", "--cgroup-root"),
    ("group_by", "--group-by"),
    ("sort", "--sort"),
    ("columns", "--columns"),
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
    ("allow_partial", "--allow-partial"),
    ("prom_top", "--prom-top"),
    ("prom_min", "--prom-min"),
    ("prom_processes", "--prom-processes"),
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

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("512K"), Ok(512 << 10));
        assert_eq!(parse_size("1m"), Ok(1 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("10MiB"), Ok(10 << 20));
        assert_eq!(parse_size("0"), Ok(0));
        assert!(parse_size("1.5M").is_err());
        assert!(parse_size("M").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
        assert!(parse_size("17179869184G").is_err());
        assert!(parse_size("99999999999T").is_err());
    }
}
