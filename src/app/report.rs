//! The system-wide report: the command line becomes a question ([`Query`]) and a view
//! ([`ViewOptions`]); the scan answers it; the view orders and cuts the rows; the format
//! prints them; the coverage decides the exit status.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::cli::{Cli, FormatArg, GroupArg, SourceArg};
use crate::exit;
use crate::model::{Filters, GroupBy, PlanOptions, Query, Report, Source, SourceChoice};
use crate::output::{self, eprint_line};
use crate::render::{self, Format};
use crate::scan::{self, Progress};
use crate::schema::plan::PlanDoc;
use crate::schema::report::ReportDoc;
use crate::source::{ProcRoot, ProcSource};
use crate::view::Terminal;
use crate::view::coverage::{coverage_line, partial_summary};
use crate::view::plan::{plan_lines, result_line};
use crate::view::report::{Column, ReportView, ViewOptions};

/// Everything one report run needs.
#[derive(Debug, Clone)]
pub struct ReportRun {
    pub query: Query,
    pub view: ViewOptions,
    pub format: Format,
    pub output: Option<std::path::PathBuf>,
    /// `--explain`: the read plan on stderr (and in the JSON meta).
    pub explain: bool,
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
        GroupArg::Cgroup => GroupBy::Cgroup,
        GroupArg::Unit => GroupBy::Unit,
        GroupArg::Container => GroupBy::Container,
        GroupArg::FileContainer => GroupBy::FileContainer,
        GroupArg::ContainerFile => GroupBy::ContainerFile,
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
            cgroup: cli.cgroup.clone(),
            units: cli.units.iter().map(|u| u.as_bytes().to_vec()).collect(),
            container: cli.container.as_ref().map(|c| c.as_bytes().to_vec()),
        },
        plan: PlanOptions {
            prefilter: !cli.no_prefilter,
            count_mappings: cli.sort == Column::Mappings,
        },
    };
    if query.effective_source() == Source::Rollup
        && (group_by.needs_mappings() || query.filters.filters_mappings())
    {
        return Err(
            "--source rollup has per-process totals only: use it with --group-by \
                    process, user or command and without --map/--kind"
                .into(),
        );
    }
    if !Column::for_view(group_by).contains(&cli.sort) {
        return Err(format!(
            "--sort {}: no such column when grouping by {}",
            cli.sort.name(),
            group_by.as_str()
        ));
    }
    Ok(ReportRun {
        query,
        view: ViewOptions {
            sort: cli.sort,
            reverse: cli.reverse,
            // `-n 0` is every row, on a terminal too (where no -n means what fits).
            top: cli.top.map(|n| if n == 0 { usize::MAX } else { n }),
        },
        format: format_of(cli.format),
        output: cli.output.clone(),
        explain: cli.explain,
    })
}

/// The size of the terminal on standard output, when it is one.
pub fn terminal_size() -> Option<Terminal> {
    let ws = rustix::termios::tcgetwinsize(std::io::stdout()).ok()?;
    (ws.ws_row > 0).then(|| Terminal {
        rows: usize::from(ws.ws_row),
        cols: usize::from(ws.ws_col.max(40)),
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

/// Renders `report` as `run` asks. `term`: the terminal a table is fitted to.
pub fn render(report: &Report, run: &ReportRun, term: Option<Terminal>) -> anyhow::Result<Vec<u8>> {
    let view = ReportView::new(report, &run.view);
    match run.format {
        Format::Table => {
            let sheet = view.sheet(term, Some(coverage_line(report)));
            Ok(render::table::render(&sheet, term).into_bytes())
        }
        Format::Csv => render::csv::render(&view.sheet(None, None)),
        Format::Json => {
            let mut doc = ReportDoc::of(&view);
            if run.explain {
                doc.meta.plan = Some(PlanDoc::of(&run.query, &report.coverage));
            }
            render::json::render(&doc)
        }
    }
}

/// Runs the report and returns the exit status.
pub fn run(cli: &Cli) -> u8 {
    let src = ProcRoot::new(&cli.proc_root).with_cgroup_root(cli.cgroup_root.as_deref());
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
    if run.explain {
        plan_lines(&run.query).iter().for_each(|l| eprint_line(l));
    }
    let report = match scan_with_progress(&src, &run.query) {
        Ok(r) => r,
        Err(e) => {
            eprint_line(&format!("error: {e:#}"));
            return exit::FATAL;
        }
    };
    if run.explain
        && let Some(line) = result_line(&run.query, &report)
    {
        eprint_line(&line);
    }
    let to_terminal = out.is_stdout() && std::io::stdout().is_terminal();
    let fit = if to_terminal && run.view.top.is_none() {
        terminal_size()
    } else {
        None
    };
    let rendered = render(&report, &run, fit);
    if let Some(code) = out.deliver(rendered) {
        return code;
    }
    let partial = partial_summary(&report);
    // The table carries its coverage line; for the machine formats it goes to stderr, where
    // a cron job sees it only when there is something to say.
    if run.format != Format::Table && (partial.is_some() || std::io::stderr().is_terminal()) {
        eprint_line(&coverage_line(&report));
    }
    match partial {
        Some(line) => {
            eprint_line(&line);
            exit::PARTIAL
        }
        None => exit::OK,
    }
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
    }
}
