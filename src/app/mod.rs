//! The run of each command, one file per command: the only place where the stages meet
//! (cli → source → scan → view → render → output), and where results become exit statuses
//! ([`crate::exit`]).

pub mod report;
pub mod show;

use crate::cli::{self, ShowArgs, Subcommand};
use crate::exit;

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
