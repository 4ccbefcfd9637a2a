//! The system-wide report: the command line becomes a question ([`Query`]) and a view
//! ([`ViewOptions`]); the scan answers it; the view orders and cuts the rows; the format
//! prints them; the coverage decides the exit status.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::cli::{Cli, FormatArg, GroupArg, SourceArg, UnitsArg};
use crate::exit;
use crate::model::{Filters, GroupBy, Query, Report, Source, SourceChoice};
use crate::output::{self, eprint_line};
use crate::render::{self, Format};
use crate::scan::{self, Progress};
use crate::schema::report::ReportDoc;
use crate::source::{self, ProcRoot, ProcSource};
use crate::view::coverage::{coverage_line, missing_pids, partial_summary};
use crate::view::report::{Column, ReportView, ViewOptions};
use crate::view::{ByteUnit, Terminal, UnitRule};

/// Everything one report run needs.
#[derive(Debug, Clone)]
pub struct ReportRun {
    pub query: Query,
    pub view: ViewOptions,
    pub format: Format,
    pub output: Option<std::path::PathBuf>,
    /// `--allow-partial`: a partial report exits 0, quietly.
    pub allow_partial: bool,
    /// The unit of the table's byte columns (`--units`; a unit per cell by default).
    pub units: UnitRule,
}

/// The table's unit rule of `--units`, or `default` without it.
pub fn units_of(arg: Option<UnitsArg>, default: UnitRule) -> UnitRule {
    match arg {
        None => default,
        Some(UnitsArg::Auto) => UnitRule::PerCell,
        Some(UnitsArg::Kib) => UnitRule::Fixed(ByteUnit::Kib),
        Some(UnitsArg::Mib) => UnitRule::Fixed(ByteUnit::Mib),
        Some(UnitsArg::Gib) => UnitRule::Fixed(ByteUnit::Gib),
    }
}

/// The format of the command line's `--format`.
pub fn format_of(arg: FormatArg) -> Format {
    match arg {
        FormatArg::Table => Format::Table,
        FormatArg::Csv => Format::Csv,
        FormatArg::Json => Format::Json,
    }
}

fn group_of(arg: GroupArg) -> GroupBy {
    match arg {
        GroupArg::File => GroupBy::File,
        GroupArg::Process => GroupBy::Process,
        GroupArg::User => GroupBy::User,
        GroupArg::Command => GroupBy::Command,
        GroupArg::Kind => GroupBy::Kind,
        GroupArg::FileProcess => GroupBy::FileProcess,
        GroupArg::ProcessFile => GroupBy::ProcessFile,
    }
}

/// The run the command line asks for, or a usage error.
pub fn run_of(cli: &Cli, src: &dyn ProcSource) -> Result<ReportRun, String> {
    let group_by = group_of(cli.group_by);
    let mut uids = Vec::new();
    for u in &cli.users {
        uids.push(
            src.lookup_uid(u)
                .ok_or_else(|| format!("unknown user: {u}"))?,
        );
    }
    let source = match (cli.source, cli.vsz) {
        (SourceArg::Auto, true) => SourceChoice::Fixed(Source::Maps),
        (SourceArg::Auto, false) => SourceChoice::Auto,
        (SourceArg::Smaps, _) => SourceChoice::Fixed(Source::Smaps),
        (SourceArg::Rollup, _) => SourceChoice::Fixed(Source::Rollup),
        (SourceArg::Maps, _) => SourceChoice::Fixed(Source::Maps),
    };
    let query = Query {
        proc_root: cli.proc_root.clone(),
        threads: cli.threads.map(usize::from),
        source,
        group_by,
        filters: Filters {
            pids: cli.pids.clone(),
            uids,
            command: cli.command.clone(),
            map: cli.map.clone(),
            kinds: cli.kinds.clone(),
        },
        count_mappings: cli.sort == Some(Column::Mappings),
    };
    let sort = sort_of(cli.sort, query.effective_source())?;
    if query.effective_source() == Source::Rollup
        && (group_by.needs_mappings() || query.filters.filters_mappings())
    {
        return Err(
            "--source rollup has per-process totals only: use it with --group-by \
                    process, user or command and without --map/--kind"
                .into(),
        );
    }
    if !Column::for_view(group_by).contains(&sort) {
        return Err(format!(
            "--sort {}: no such column when grouping by {}",
            sort.name(),
            group_by.as_str()
        ));
    }
    Ok(ReportRun {
        query,
        view: ViewOptions {
            sort,
            reverse: cli.reverse,
            // `-n 0` is every row, on a terminal too (where no -n means what fits).
            top: cli.top.map(|n| if n == 0 { usize::MAX } else { n }),
        },
        format: format_of(cli.format),
        output: cli.output.clone(),
        allow_partial: cli.allow_partial,
        units: units_of(cli.units, UnitRule::PerCell),
    })
}

/// The column to sort by: the one asked for when `source` can fill it, else a usage error;
/// by default PSS, or the virtual size when only that is read (`--vsz`).
fn sort_of(asked: Option<Column>, source: Source) -> Result<Column, String> {
    let Some(col) = asked else {
        return Ok(if source == Source::Maps {
            Column::Size
        } else {
            Column::Pss
        });
    };
    let resident = col.is_bytes() && col != Column::Size;
    match source {
        Source::Maps if resident => Err(format!(
            "--sort {}: maps files give virtual sizes only (--vsz, --source maps); sort by \
             size or mappings",
            col.name()
        )),
        Source::Rollup if col == Column::Mappings => Err(
            "--sort mappings: smaps_rollup does not count mappings; use --source smaps (or \
             auto, which picks it)"
                .into(),
        ),
        _ => Ok(col),
    }
}

/// The narrowest terminal a table is fitted to.
const MIN_COLS: usize = 20;
/// The most `COLUMNS` and `LINES` are taken to say (a terminal's own size fits in 16 bits).
const MAX_SIZE: usize = u16::MAX as usize;

/// The terminal standard output is, when it is one: its width from `COLUMNS` (as `ls` and
/// `ps` honour it) or else the terminal's, its height from `LINES` or else the terminal's
/// (24 when neither says). `None` when stdout is not a terminal or its width is unknown: the
/// table is then not fitted.
pub fn terminal_size() -> Option<Terminal> {
    let stdout = std::io::stdout();
    if !stdout.is_terminal() {
        return None;
    }
    let ws = rustix::termios::tcgetwinsize(&stdout).ok();
    let env = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .map(|n| n.min(MAX_SIZE))
    };
    let size = |n: Option<u16>| n.map(usize::from).filter(|&n| n > 0);
    let cols = env("COLUMNS").or_else(|| size(ws.map(|w| w.ws_col)))?;
    let rows = env("LINES")
        .or_else(|| size(ws.map(|w| w.ws_row)))
        .unwrap_or(24);
    Some(Terminal {
        rows,
        cols: cols.max(MIN_COLS),
    })
}

/// Runs the scan with a progress line on stderr when it is a terminal and the scan is slow.
fn scan_with_progress(src: &dyn ProcSource, query: &Query) -> anyhow::Result<Report> {
    if !std::io::stderr().is_terminal() {
        return scan::scan(src, query, None);
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
        let result = scan::scan(src, query, Some(&progress));
        done.store(true, Ordering::Relaxed);
        result
    })
}

/// Renders `report` as `run` asks. `term`: the terminal a table is fitted to (its width;
/// its height too when `-n` does not say how many rows).
pub fn render(report: &Report, run: &ReportRun, term: Option<Terminal>) -> anyhow::Result<Vec<u8>> {
    let view = ReportView::new(report, &run.view);
    match run.format {
        Format::Table => {
            let screen = term.is_some() && run.view.top.is_none();
            let mut sheet = view.sheet(screen, Some(coverage_line(report)));
            sheet.unit = run.units;
            Ok(render::table::render(&sheet, term).into_bytes())
        }
        Format::Csv => render::csv::render(&view.sheet(false, None)),
        Format::Json => render::json::render(&ReportDoc::of(&view)),
    }
}

/// Runs the report and returns the exit status.
pub fn run(cli: &Cli) -> u8 {
    let src = ProcRoot::new(&cli.proc_root);
    let run = match run_of(cli, &src) {
        Ok(r) => r,
        Err(msg) => {
            eprint_line(&msg);
            return exit::USAGE;
        }
    };
    // Before the scan: an unwritable destination fails now, not after the whole scan.
    let out = match output::Output::prepare(run.output.as_deref()) {
        Ok(out) => out,
        Err(code) => return code,
    };
    let report = match scan_with_progress(&src, &run.query) {
        Ok(r) => r,
        Err(e) => {
            eprint_line(&format!("error: {e:#}"));
            return exit::FATAL;
        }
    };
    // With --allow-partial a partial report is accepted: the output still counts who was
    // not read, but nothing is said on stderr (a cron job mails nothing).
    let partial = partial_summary(&report, source::privilege()).filter(|_| !run.allow_partial);
    // A PID asked for that is no process is an error of the question, which
    // --allow-partial does not excuse.
    let missing = missing_pids(&report);
    let mut said = Vec::new();
    // The table carries its coverage line; for the machine formats it goes to stderr, where
    // a cron job sees it only when there is something to say.
    if run.format != Format::Table && (partial.is_some() || std::io::stderr().is_terminal()) {
        said.push(coverage_line(&report));
    }
    said.extend(partial.iter().cloned());
    said.extend(missing.iter().cloned());
    let term = if out.is_stdout() {
        terminal_size().map(|t| below_table(t, &said))
    } else {
        None
    };
    let rendered = render(&report, &run, term);
    if let Some(code) = out.deliver(rendered) {
        return code;
    }
    for line in &said {
        eprint_line(line);
    }
    if missing.is_some() {
        exit::NO_PROCESS
    } else if partial.is_some() {
        exit::PARTIAL
    } else {
        exit::OK
    }
}

/// The terminal left for the table when `said` follows it on the same screen (stderr a
/// terminal too): the lines the messages take are not the table's.
fn below_table(mut term: Terminal, said: &[String]) -> Terminal {
    if std::io::stderr().is_terminal() {
        let lines: usize = said
            .iter()
            .map(|l| render::table::screen_lines(&format!("pmaps: {l}"), term.cols))
            .sum();
        term.rows = term.rows.saturating_sub(lines);
    }
    term
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn run_for(args: &[&str]) -> Result<ReportRun, String> {
        let mut all = vec!["pmaps"];
        all.extend_from_slice(args);
        run_of(&Cli::parse_from(all), &ProcRoot::new("/proc".as_ref()))
    }

    #[test]
    fn rollup_cannot_answer_per_file_questions() {
        assert!(run_for(&["--source", "rollup"]).is_err());
        assert!(run_for(&["--source", "rollup", "-g", "process"]).is_ok());
    }

    #[test]
    fn auto_source_is_the_cheapest_that_answers() {
        let src = |args: &[&str]| run_for(args).map(|r| r.query.effective_source());
        assert_eq!(src(&[]), Ok(Source::Smaps));
        assert_eq!(src(&["-g", "process"]), Ok(Source::Rollup));
        assert_eq!(src(&["-g", "user", "-m", "libc"]), Ok(Source::Smaps));
        assert_eq!(src(&["-g", "process", "--vsz"]), Ok(Source::Maps));
        assert_eq!(src(&["-g", "file,process"]), Ok(Source::Smaps));
        // The rollup cannot count mappings: sorting by them reads smaps.
        assert_eq!(src(&["-g", "process", "-s", "mappings"]), Ok(Source::Smaps));
        assert_eq!(src(&["-g", "user", "-s", "mappings"]), Ok(Source::Smaps));
    }

    #[test]
    fn the_sort_column_is_one_the_source_fills() {
        let sort = |args: &[&str]| run_for(args).map(|r| r.view.sort);
        assert_eq!(sort(&[]), Ok(Column::Pss));
        assert_eq!(sort(&["-g", "process", "--vsz"]), Ok(Column::Size));
        assert_eq!(sort(&["--source", "maps"]), Ok(Column::Size));
        assert_eq!(sort(&["--vsz", "-s", "mappings"]), Ok(Column::Mappings));
        assert_eq!(sort(&["--vsz", "-s", "path"]), Ok(Column::Path));
        for bad in ["pss", "rss", "uss", "shared", "swap", "swap_pss"] {
            let err = sort(&["--vsz", "-s", bad]).expect_err(bad);
            assert!(err.contains("virtual sizes only"), "{err}");
        }
        let err = sort(&["-g", "process", "--source", "rollup", "-s", "mappings"]);
        assert!(err.expect_err("rollup").contains("does not count mappings"));
    }
}
