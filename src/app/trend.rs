//! `pmaps trend`: the series of the history's snapshots, judged by the trend statistic.

use clap::ArgMatches;

use crate::cli::{Cli, TrendArgs};

/// Runs `pmaps trend` and returns the exit status.
pub fn run(_cli: &Cli, _matches: &ArgMatches, _args: &TrendArgs) -> u8 {
    crate::exit::USAGE
}
