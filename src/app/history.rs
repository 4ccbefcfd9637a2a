//! `pmaps history`: the snapshots of the history database, in any format.

use std::path::PathBuf;

use clap::ArgMatches;

use super::record::{db_of, refuse_report_options};
use super::terminal::table_bytes;
use crate::cli::{Cli, HistoryArgs};
use crate::exit;
use crate::history::{Reference, Store};
use crate::output::{self, Output, eprint_line};
use crate::render::{self, Format};
use crate::schema::history::HistoryDoc;
use crate::view::history::sheet;

/// The Unix nanoseconds of a `--since`/`--until` time.
pub fn time_of(r: Option<&Reference>) -> Option<i64> {
    match r {
        Some(Reference::At(t)) => Some(*t),
        _ => None,
    }
}

/// What a command that reads the history starts with: the report's options and `--from`
/// refused, the format, the database path, the output opened; or the exit status.
pub fn start(
    cli: &Cli,
    matches: &ArgMatches,
    command: &str,
) -> Result<(PathBuf, Output, Format), u8> {
    if let Some(code) = refuse_report_options(matches, command, &[]) {
        return Err(code);
    }
    if cli.from.is_some() {
        eprint_line(&format!(
            "--from does not apply to `pmaps {command}`, which reads the history (`pmaps \
             record --from FILE` records a capture)"
        ));
        return Err(exit::USAGE);
    }
    let format = super::tabular_format(cli, command)?;
    let db = db_of(cli).map_err(|msg| {
        eprint_line(&msg);
        exit::USAGE
    })?;
    let out = output::Output::prepare(cli.output.as_deref())?;
    Ok((db, out, format))
}

/// Runs `pmaps history` and returns the exit status.
pub fn run(cli: &Cli, matches: &ArgMatches, args: &HistoryArgs) -> u8 {
    let (db, out, format) = match start(cli, matches, "history") {
        Ok(x) => x,
        Err(code) => return code,
    };
    let snapshots = match Store::open_read(&db)
        .and_then(|s| s.snapshots(time_of(args.since.as_ref()), time_of(args.until.as_ref())))
    {
        Ok(s) => s,
        Err(e) => {
            eprint_line(&format!("error: {e:#}"));
            return exit::FATAL;
        }
    };
    let top = args.top.map(|n| if n == 0 { usize::MAX } else { n });
    let rendered = match format {
        Format::Table => Ok(table_bytes(cli, &out, sheet(&snapshots, top))),
        Format::Csv => render::csv::render(&sheet(&snapshots, top)),
        Format::Json => {
            let skip = top.map_or(0, |n| snapshots.len().saturating_sub(n));
            render::json::render(&HistoryDoc::of(&snapshots[skip..], &db))
        }
        Format::Svg | Format::Prometheus => super::not_tabular("history"),
    };
    out.deliver(rendered).unwrap_or(exit::OK)
}
