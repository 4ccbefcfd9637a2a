//! `pmaps record`: open the history first (a file that is not a pmaps history, or of a newer
//! schema, fails before the scan), scan every process, append the snapshot and apply the
//! retention. Quiet on success, for cron; one line on failure.

use clap::ArgMatches;
use clap::parser::ValueSource;

use crate::cli::{self, Cli, RecordArgs};
use crate::exit;
use crate::history::{self, Retention, Store};
use crate::output::eprint_line;
use crate::scan;
use crate::source;
use crate::view::coverage::partial_summary;

/// The history database the command line names, or the default one.
pub fn db_of(cli: &Cli) -> Result<std::path::PathBuf, String> {
    cli.db
        .clone()
        .or_else(history::default_path)
        .ok_or_else(|| {
            "no history database: give --db FILE (neither XDG_STATE_HOME nor HOME is set)".into()
        })
}

/// Refuses the report's options and the output options, which mean nothing to a command
/// of the history that prints nothing or lists snapshots.
pub fn refuse_report_options(matches: &ArgMatches, command: &str, allowed: &[&str]) -> Option<u8> {
    let given: Vec<&str> = cli::report_options_given(matches)
        .into_iter()
        .filter(|o| !allowed.contains(o))
        .collect();
    if given.is_empty() {
        return None;
    }
    eprint_line(&format!(
        "{} applies to the report, not to `pmaps {command}`",
        given.join(", ")
    ));
    Some(exit::USAGE)
}

/// Runs `pmaps record` and returns the exit status.
pub fn run(cli: &Cli, matches: &ArgMatches, args: &RecordArgs) -> u8 {
    if let Some(code) = refuse_report_options(matches, "record", &["--cgroup-root"]) {
        return code;
    }
    let sub = matches.subcommand_matches("record");
    for (id, flag) in [("format", "--format"), ("output", "--output")] {
        let given = |m: &ArgMatches| m.value_source(id) == Some(ValueSource::CommandLine);
        if given(matches) || sub.is_some_and(given) {
            eprint_line(&format!(
                "{flag} does not apply to `pmaps record`, which prints nothing (`pmaps --at \
                 @latest` reports the snapshot)"
            ));
            return exit::USAGE;
        }
    }
    let db = match db_of(cli) {
        Ok(p) => p,
        Err(msg) => {
            eprint_line(&msg);
            return exit::USAGE;
        }
    };
    let mut store = match Store::open_write(&db) {
        Ok(s) => s,
        Err(e) => {
            eprint_line(&format!("error: {e:#}"));
            return exit::FATAL;
        }
    };
    let src = match super::source_or_exit(cli) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let recording = match scan::scan_everything(&*src, args.threads.map(usize::from), None) {
        Ok(r) => r,
        Err(e) => {
            eprint_line(&format!("error: {e:#}"));
            return exit::FATAL;
        }
    };
    let retention = Retention {
        keep: args.keep.0,
        max_size: args.max_size,
    };
    if let Err(e) = history::record(&mut store, &recording, &retention) {
        eprint_line(&format!("error: {e:#}"));
        return exit::FATAL;
    }
    match partial_summary(&recording.report, source::reader_privilege(&*src)) {
        Some(line) => {
            eprint_line(&format!("recorded a {line}"));
            exit::PARTIAL
        }
        None => exit::OK,
    }
}
