//! The run of each command, one file per command: the only place where the stages meet
//! (cli → source → scan → view → render → output), and where results become exit statuses
//! ([`crate::exit`]).

pub mod generate;
pub mod report;
pub mod show;
pub mod summary;

use crate::cli::{self, Subcommand};
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
        Some(Subcommand::Summary) => summary::run(&cli, &matches),
        Some(Subcommand::Generate { what }) => generate::run(&cli, what),
        None => report::run(&cli),
    }
}
