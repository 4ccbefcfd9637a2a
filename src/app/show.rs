//! `pmaps show PID|NAME…`: resolve the targets, read each match in full, print them through
//! the same renderers as the report, and say on stderr what could not be shown.

use clap::ArgMatches;

use super::report::format_of;
use super::terminal::{terminal_size, units_of};
use crate::cli::{self, Cli, ShowArgs};
use crate::exit;
use crate::model::Source;
use crate::output::{self, eprint_line};
use crate::render::{self, Format};
use crate::schema::show::ShowDoc;
use crate::show::{ShowConfig, ShowReport, Tally, Target, collect, outcome_message};
use crate::view::show::ShowView;
use crate::view::{ByteUnit, Terminal, UnitRule};

/// The configuration of `pmaps show`, or a usage error.
pub fn config_of(matches: &ArgMatches, args: &ShowArgs) -> Result<ShowConfig, String> {
    let mut report_only = cli::report_options_given(matches);
    if report_only.contains(&"--at") {
        if !args.merge {
            return Err(
                "--at: a snapshot of the history keeps each process's mappings as --merge \
                 folds them (a run of one file's consecutive mappings is one row), not one by \
                 one: add --merge (`pmaps --at SNAPSHOT show --merge PID|NAME`)"
                    .into(),
            );
        }
        if args.all_fields {
            return Err(
                "--at: a snapshot of the history keeps pmaps' own counters, not every smaps \
                 field, so --all-fields cannot be rebuilt from it"
                    .into(),
            );
        }
        report_only.retain(|f| *f != "--at");
    }
    if !report_only.is_empty() {
        return Err(format!(
            "{} applies to the report, not to `pmaps show` (which takes --merge, \
             --all-fields, --units, --format, --output, --proc-root, --from, and --at with \
             --db)",
            report_only.join(", ")
        ));
    }
    let targets = args
        .targets
        .iter()
        .map(Target::parse)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ShowConfig {
        targets,
        merge: args.merge,
        all_fields: args.all_fields,
    })
}

/// Renders a finished `show` in `format`: a table in `units`, fitted to `term`'s width.
pub fn render(
    report: &ShowReport,
    format: Format,
    units: UnitRule,
    term: Option<Terminal>,
) -> anyhow::Result<Vec<u8>> {
    let view = ShowView::of(report);
    match format {
        Format::Table => {
            let mut sheet = view.sheet(report);
            sheet.unit = units;
            Ok(render::table::render(&sheet, term).into_bytes())
        }
        Format::Csv => render::csv::render(&view.sheet(report)),
        Format::Json => render::json::render(&ShowDoc::of(report, &view)),
        Format::Svg => anyhow::bail!("`pmaps show` has no picture"),
        Format::Prometheus => Err(anyhow::anyhow!(
            "-f prometheus is a format of the report, not of `pmaps show`"
        )),
    }
}

/// Runs `pmaps show` and returns the exit status.
pub fn run(cli: &Cli, matches: &ArgMatches, args: &ShowArgs) -> u8 {
    let cfg = match config_of(matches, args) {
        Ok(c) => c,
        Err(msg) => {
            eprint_line(&msg);
            return exit::USAGE;
        }
    };
    // Before reading: an unwritable destination fails now.
    let out = match output::Output::prepare(cli.output.as_deref()) {
        Ok(out) => out,
        Err(code) => return code,
    };
    let format = format_of(cli.format);
    if matches!(format, Format::Svg | Format::Prometheus) {
        eprint_line(
            "`pmaps show` takes table, csv or json: svg and prometheus are formats of the report",
        );
        return exit::USAGE;
    }
    let report = match &cli.at {
        Some(at) => super::record::db_of(cli)
            .map_err(anyhow::Error::msg)
            .and_then(|db| crate::history::show_at(&db, at, &cfg)),
        None => {
            let src = match super::source_or_exit(cli) {
                Ok(s) => s,
                Err(code) => return code,
            };
            if !src.offers(Source::Smaps) {
                eprint_line(&format!(
                    "{}: `pmaps show` needs smaps, and this capture kept another map file",
                    src.describe()
                ));
                return exit::USAGE;
            }
            collect(src.as_ref(), &cfg)
        }
    };
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprint_line(&format!("error: {e:#}"));
            return exit::FATAL;
        }
    };
    let tally = Tally::of(&report);
    let nothing = tally.shown == 0 && tally.failed == 0;
    // With no process at all there is nothing to render; say so and stop.
    if !nothing {
        let term = if out.is_stdout() {
            terminal_size()
        } else {
            None
        };
        // KiB by default, the unit of smaps and of `pmap -x`.
        let units = units_of(cli.byte_units, UnitRule::Fixed(ByteUnit::Kib));
        let rendered = render(&report, format, units, term);
        if let Some(code) = out.deliver(rendered) {
            return code;
        }
    }
    if let Some(note) = ShowView::of(&report).left_out_note() {
        eprint_line(&note);
    }
    for t in &report.unmatched {
        match t {
            Target::Name(_) => eprint_line(&format!(
                "no process matches {} (neither its command name nor its command line)",
                t.describe()
            )),
            Target::Pid(p) if cli.at.is_some() => eprint_line(&format!(
                "no process {p} in the snapshot (it lists the processes it read and those it \
                 could not; kernel threads and zombies are only counted)"
            )),
            Target::Pid(p) => eprint_line(&format!("no process {p}")),
        }
    }
    for p in &report.processes {
        let given = report.given_pids.contains(&p.info.pid);
        if let Some(msg) = outcome_message(p, given, report.privilege) {
            eprint_line(&msg);
        }
    }
    let code = tally.exit_code();
    if code == exit::PARTIAL && tally.failed > 0 {
        eprint_line(&format!(
            "partial: {} of {} matched processes not shown",
            tally.failed,
            tally.failed + tally.shown
        ));
    }
    code
}
