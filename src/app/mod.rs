//! The run of each command, one file per command: the only place where the stages meet
//! (cli → source → scan → view → render → output), and where results become exit statuses
//! ([`crate::exit`]).

pub mod capture;
pub mod diff;
pub mod generate;
pub mod history;
pub mod record;
pub mod report;
pub mod show;
pub mod summary;
pub mod terminal;
pub mod trend;
pub mod watch;

use crate::cli::{self, Cli, ShowArgs, Subcommand};
use crate::exit;
use crate::render::Format;
use crate::source::{ArchiveSource, ProcRoot, ProcSource};

/// The source every command that reads processes reads: the capture of `--from`, or the
/// proc root. An archive that cannot be read, or is refused, is an error that says why.
pub fn open_source(cli: &Cli) -> anyhow::Result<Box<dyn ProcSource>> {
    Ok(match &cli.from {
        Some(path) => Box::new(ArchiveSource::open(path)?),
        None => {
            Box::new(ProcRoot::new(&cli.proc_root).with_cgroup_root(cli.cgroup_root.as_deref()))
        }
    })
}

/// [`open_source`], or the exit status after one line saying why it failed.
pub fn source_or_exit(cli: &Cli) -> Result<Box<dyn ProcSource>, u8> {
    open_source(cli).map_err(|e| {
        crate::output::eprint_line(&format!("error: {e:#}"));
        exit::FATAL
    })
}

/// What a command whose output is a table, CSV or JSON says of the report's own formats.
const NOT_TABULAR: &str = "takes table, csv or json: svg and prometheus are formats of the report";

/// The format of `--format` for `pmaps command`, whose output is a table, CSV or JSON; or
/// the usage error, said on stderr.
pub fn tabular_format(cli: &Cli, command: &str) -> Result<Format, u8> {
    let format = report::format_of(cli.format);
    if matches!(format, Format::Svg | Format::Prometheus) {
        crate::output::eprint_line(&format!("`pmaps {command}` {NOT_TABULAR}"));
        return Err(exit::USAGE);
    }
    Ok(format)
}

/// The error of rendering a tabular command's output as svg or prometheus (refused before by
/// [`tabular_format`]).
pub fn not_tabular<T>(command: &str) -> anyhow::Result<T> {
    Err(anyhow::anyhow!("`pmaps {command}` {NOT_TABULAR}"))
}

/// Parses the command line, runs the command and returns the exit status.
pub fn main() -> u8 {
    let (cli, matches) = match cli::parse() {
        Ok(parsed) => parsed,
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
    match &cli.subcommand {
        Some(Subcommand::Show(args)) => show::run(&cli, &matches, args),
        Some(Subcommand::Capture(args)) => capture::run(&cli, &matches, args),
        Some(Subcommand::Summary) => summary::run(&cli, &matches),
        Some(Subcommand::Diff(args)) => diff::run(&cli, &matches, args),
        Some(Subcommand::Watch(args)) => watch::run(&cli, &matches, args),
        Some(Subcommand::Record(args)) => record::run(&cli, &matches, args),
        Some(Subcommand::History(args)) => history::run(&cli, &matches, args),
        Some(Subcommand::Trend(args)) => trend::run(&cli, &matches, args),
        Some(Subcommand::Generate { what }) => generate::run(&cli, what),
        // `pmaps 1234`, as `pmap 1234`: those PIDs, shown.
        None if !cli.show_pids.is_empty() => {
            let args = ShowArgs {
                merge: false,
                all_fields: false,
                targets: cli.show_pids.clone(),
            };
            show::run(&cli, &matches, &args)
        }
        None => report::run(&cli),
    }
}
