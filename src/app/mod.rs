//! The run of each command, one file per command: the only place where the stages meet
//! (cli → source → scan → view → render → output), and where results become exit statuses
//! ([`crate::exit`]).

pub mod capture;
pub mod generate;
pub mod report;
pub mod show;
pub mod summary;
pub mod terminal;

use crate::cli::{self, Cli, ShowArgs, Subcommand};
use crate::exit;
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
