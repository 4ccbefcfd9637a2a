//! The command line: clap types, their conversion to a plain [`Config`], and the run that
//! maps every result to an exit status ([`crate::exit`]).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::{Parser, ValueEnum};
use regex::bytes::Regex;

use crate::columns::Column;
use crate::config::{Config, Filters, Format, GroupBy, SourceChoice};
use crate::model::{MapKind, Source};
use crate::output::{self, eprint_line};
use crate::render::{self, Terminal};
use crate::{Progress, exit};

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

impl ShowArgs {
    /// The plain configuration of `pmaps show`, or a usage error.
    pub fn to_config(&self, cli: &Cli) -> Result<crate::show::ShowConfig, String> {
        let report_only = cli.report_options_used();
        if !report_only.is_empty() {
            return Err(format!(
                "{} applies to the report, not to `pmaps show` (which takes --merge, \
                 --all-fields, --format, --output and --proc-root)",
                report_only.join(", ")
            ));
        }
        let targets = self
            .targets
            .iter()
            .map(crate::show::Target::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(crate::show::ShowConfig {
            proc_root: cli.proc_root.clone(),
            targets,
            merge: self.merge,
            all_fields: self.all_fields,
            format: match cli.format {
                FormatArg::Table => Format::Table,
                FormatArg::Csv => Format::Csv,
                FormatArg::Json => Format::Json,
            },
            output: cli.output.clone(),
        })
    }
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

fn parse_regex(s: &str) -> Result<Regex, String> {
    Regex::new(s).map_err(|e| e.to_string())
}

fn parse_kind(s: &str) -> Result<MapKind, String> {
    MapKind::parse(s).ok_or_else(|| {
        let names: Vec<&str> = MapKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown kind; one of: {}", names.join(", "))
    })
}

impl Cli {
    /// The report's own options that were set (they mean nothing to a subcommand; options
    /// given with their default value cannot be told apart and are let through).
    fn report_options_used(&self) -> Vec<&'static str> {
        let set = [
            (self.group_by != GroupArg::File, "--group-by"),
            (self.sort != Column::Pss, "--sort"),
            (self.reverse, "--reverse"),
            (self.top.is_some(), "--top"),
            (!self.pids.is_empty(), "--pid"),
            (!self.users.is_empty(), "--user"),
            (self.command.is_some(), "--command"),
            (self.map.is_some(), "--map"),
            (!self.kinds.is_empty(), "--kind"),
            (self.source != SourceArg::Auto, "--source"),
            (self.vsz, "--vsz"),
            (self.threads.is_some(), "--threads"),
        ];
        set.iter().filter(|(on, _)| *on).map(|(_, n)| *n).collect()
    }

    /// The plain configuration, or a usage error.
    pub fn to_config(&self) -> Result<Config, String> {
        let group_by = match self.group_by {
            GroupArg::File => GroupBy::File,
            GroupArg::Process => GroupBy::Process,
            GroupArg::User => GroupBy::User,
            GroupArg::Command => GroupBy::Command,
            GroupArg::Kind => GroupBy::Kind,
            GroupArg::FileProcess => GroupBy::FileProcess,
        };
        let mut uids = Vec::new();
        for u in &self.users {
            uids.push(crate::aggregate::lookup_uid(u).ok_or_else(|| format!("unknown user: {u}"))?);
        }
        let source = match (self.source, self.vsz) {
            (SourceArg::Auto, true) => SourceChoice::Fixed(Source::Maps),
            (SourceArg::Auto, false) => SourceChoice::Auto,
            (SourceArg::Smaps, _) => SourceChoice::Fixed(Source::Smaps),
            (SourceArg::Rollup, _) => SourceChoice::Fixed(Source::Rollup),
            (SourceArg::Maps, _) => SourceChoice::Fixed(Source::Maps),
        };
        let cfg = Config {
            proc_root: self.proc_root.clone(),
            threads: self.threads.map(usize::from),
            source,
            group_by,
            sort: self.sort,
            reverse: self.reverse,
            // `-n 0` is every row, on a terminal too (where no -n means what fits).
            top: self.top.map(|n| if n == 0 { usize::MAX } else { n }),
            filters: Filters {
                pids: self.pids.clone(),
                uids,
                command: self.command.clone(),
                map: self.map.clone(),
                kinds: self.kinds.clone(),
            },
            format: match self.format {
                FormatArg::Table => Format::Table,
                FormatArg::Csv => Format::Csv,
                FormatArg::Json => Format::Json,
            },
            output: self.output.clone(),
        };
        if cfg.effective_source() == Source::Rollup
            && (group_by.needs_mappings() || cfg.filters.filters_mappings())
        {
            return Err(
                "--source rollup has per-process totals only: use it with --group-by \
                        process, user or command and without --map/--kind"
                    .into(),
            );
        }
        if !Column::for_view(group_by).contains(&cfg.sort) {
            return Err(format!(
                "--sort {}: no such column when grouping by {}",
                cfg.sort.name(),
                group_by.as_str()
            ));
        }
        Ok(cfg)
    }
}

fn terminal_size() -> Option<Terminal> {
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes a winsize into the struct we pass.
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_row > 0).then(|| Terminal {
        rows: usize::from(ws.ws_row),
        cols: usize::from(ws.ws_col.max(40)),
    })
}

/// Runs the scan with a progress line on stderr when it is a terminal and the scan is slow.
fn scan_with_progress(cfg: &Config) -> anyhow::Result<crate::Report> {
    if !std::io::stderr().is_terminal() {
        return crate::scan(cfg, None);
    }
    let progress = Progress::default();
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut shown = false;
            let mut waited = Duration::ZERO;
            let tick = Duration::from_millis(100);
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(tick);
                waited += tick;
                if waited >= Duration::from_secs(1) && waited.as_millis().is_multiple_of(250) {
                    let n = progress.done.load(Ordering::Relaxed);
                    let total = progress.total.load(Ordering::Relaxed);
                    let _ = write!(std::io::stderr(), "\rpmaps: read {n}/{total} processes");
                    shown = true;
                }
            }
            if shown {
                let _ = write!(std::io::stderr(), "\r\x1b[K");
            }
        });
        let result = crate::scan(cfg, Some(&progress));
        done.store(true, Ordering::Relaxed);
        result
    })
}

/// Runs the report and returns the exit status.
pub fn run_report(cfg: &Config) -> u8 {
    // Before the scan: an unwritable destination fails now, not after the whole scan.
    let out = match output::Output::prepare(cfg.output.as_deref()) {
        Ok(out) => out,
        Err(code) => return code,
    };
    let report = match scan_with_progress(cfg) {
        Ok(r) => r,
        Err(e) => {
            eprint_line(&format!("error: {e:#}"));
            return exit::FATAL;
        }
    };
    let to_terminal = out.is_stdout() && std::io::stdout().is_terminal();
    let fit = if to_terminal && cfg.top.is_none() {
        terminal_size()
    } else {
        None
    };
    let rendered = render::render(&report, cfg.format, fit);
    if let Some(code) = out.deliver(rendered) {
        return code;
    }
    let partial = render::partial_summary(&report);
    // The table carries its coverage line; for the machine formats it goes to stderr, where
    // a cron job sees it only when there is something to say.
    if cfg.format != Format::Table && (partial.is_some() || std::io::stderr().is_terminal()) {
        eprint_line(&render::coverage_line(&report));
    }
    match partial {
        Some(line) => {
            eprint_line(&line);
            exit::PARTIAL
        }
        None => exit::OK,
    }
}

/// Parses the command line and runs it.
pub fn main() -> u8 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return code;
        }
    };
    if let Some(Subcommand::Show(args)) = &cli.subcommand {
        return match args.to_config(&cli) {
            Ok(cfg) => crate::show::run(&cfg),
            Err(msg) => {
                eprint_line(&msg);
                exit::USAGE
            }
        };
    }
    match cli.to_config() {
        Ok(cfg) => run_report(&cfg),
        Err(msg) => {
            eprint_line(&msg);
            exit::USAGE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn rollup_cannot_answer_per_file_questions() {
        let cli = Cli::parse_from(["pmaps", "--source", "rollup"]);
        assert!(cli.to_config().is_err());
        let cli = Cli::parse_from(["pmaps", "--source", "rollup", "-g", "process"]);
        assert!(cli.to_config().is_ok());
    }

    #[test]
    fn auto_source_is_the_cheapest_that_answers() {
        let src = |args: &[&str]| {
            let mut all = vec!["pmaps"];
            all.extend_from_slice(args);
            Cli::parse_from(all)
                .to_config()
                .map(|c| c.effective_source())
        };
        assert_eq!(src(&[]), Ok(Source::Smaps));
        assert_eq!(src(&["-g", "process"]), Ok(Source::Rollup));
        assert_eq!(src(&["-g", "user", "-m", "libc"]), Ok(Source::Smaps));
        assert_eq!(src(&["-g", "process", "--vsz"]), Ok(Source::Maps));
        assert_eq!(src(&["-g", "file,process"]), Ok(Source::Smaps));
    }
}
