//! The system-wide report: the command line becomes a question ([`Query`]) and a view
//! ([`ViewOptions`]); the scan answers it; the view orders and cuts the rows; the format
//! prints them; the coverage decides the exit status.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::summary::memory_of;
use super::terminal::{below_table, terminal_size, units_of};
use crate::cli::{Cli, FormatArg, GroupArg, SourceArg};
use crate::exit;
use crate::model::{Basis, Filters, GroupBy, PlanOptions, Query, Report, Source, SourceChoice};
use crate::output::{self, eprint_line};
use crate::plan::ReadPlan;
use crate::render::{self, Format};
use crate::scan::{self, Progress};
use crate::schema::plan::PlanDoc;
use crate::schema::report::{FiltersDoc, ReportDoc};
use crate::source::{self, ProcSource};
use crate::view::chart::chart_metric;
use crate::view::coverage::{coverage_line, missing_pids, partial_summary};
use crate::view::plan::{plan_lines, result_line};
use crate::view::prometheus::{Bounds, Exposition};
use crate::view::report::{Column, ReportView, ViewOptions};
use crate::view::{Terminal, UnitRule};

/// Everything one report run needs.
#[derive(Debug, Clone)]
pub struct ReportRun {
    pub query: Query,
    pub view: ViewOptions,
    pub format: Format,
    pub output: Option<std::path::PathBuf>,
    /// `--explain`: the read plan, said on stderr (and put in the JSON meta).
    pub explain: Option<ReadPlan>,
    /// The series `-f prometheus` keeps per family.
    pub bounds: Bounds,
    /// `--allow-partial`: a partial report exits 0, quietly.
    pub allow_partial: bool,
    /// The unit of the table's byte columns (`--units`; a unit per cell by default).
    pub units: UnitRule,
}

/// The format of the command line's `--format`.
pub fn format_of(arg: FormatArg) -> Format {
    match arg {
        FormatArg::Table => Format::Table,
        FormatArg::Csv => Format::Csv,
        FormatArg::Json => Format::Json,
        FormatArg::Svg => Format::Svg,
        FormatArg::Prometheus => Format::Prometheus,
    }
}

/// The bounds of `-f prometheus`, or a usage error: the exposition has every family of one
/// smaps scan, so the options that pick a grouping, an order, a cut or a cheaper file do not
/// apply to it, and its own options apply to nothing else.
fn prometheus_bounds(cli: &Cli) -> Result<Bounds, String> {
    if cli.format != FormatArg::Prometheus {
        if cli.prom_top.is_some() || cli.prom_min.is_some() || cli.prom_processes {
            return Err("--prom-top, --prom-min and --prom-processes go with -f prometheus".into());
        }
        return Ok(Bounds::default());
    }
    let conflicts: Vec<&str> = [
        (cli.group_by != GroupArg::File, "--group-by"),
        (cli.sort.is_some_and(|s| s != Column::Pss), "--sort"),
        (cli.reverse, "--reverse"),
        (cli.top.is_some(), "--top"),
        (cli.vsz, "--vsz"),
        (
            matches!(cli.source, SourceArg::Rollup | SourceArg::Maps),
            "--source rollup/maps",
        ),
    ]
    .into_iter()
    .filter_map(|(given, flag)| given.then_some(flag))
    .collect();
    if !conflicts.is_empty() {
        return Err(format!(
            "-f prometheus writes every family (file, kind, user, command, unit, container, \
             process) from one smaps scan, ranked by PSS + SwapPSS: {} does not apply (--prom-top and --prom-min \
             choose the series)",
            conflicts.join(", ")
        ));
    }
    let defaults = Bounds::default();
    Ok(Bounds {
        top: match cli.prom_top {
            Some(0) => usize::MAX,
            Some(n) => n,
            None => defaults.top,
        },
        min_bytes: cli.prom_min.unwrap_or(defaults.min_bytes),
        processes: cli.prom_processes,
    })
}

pub fn group_of(arg: GroupArg) -> GroupBy {
    match arg {
        GroupArg::File => GroupBy::File,
        GroupArg::Process => GroupBy::Process,
        GroupArg::User => GroupBy::User,
        GroupArg::Command => GroupBy::Command,
        GroupArg::Kind => GroupBy::Kind,
        GroupArg::FileProcess => GroupBy::FileProcess,
        GroupArg::ProcessFile => GroupBy::ProcessFile,
        GroupArg::Cgroup => GroupBy::Cgroup,
        GroupArg::Unit => GroupBy::Unit,
        GroupArg::Container => GroupBy::Container,
        GroupArg::FileContainer => GroupBy::FileContainer,
        GroupArg::ContainerFile => GroupBy::ContainerFile,
    }
}

/// The filters of the command line (`--user` names looked up through `src`), or a usage
/// error.
pub fn filters_of(cli: &Cli, src: &dyn ProcSource) -> Result<Filters, String> {
    let mut uids = Vec::new();
    for u in &cli.users {
        uids.push(
            src.lookup_uid(u)
                .ok_or_else(|| format!("unknown user: {u}"))?,
        );
    }
    Ok(Filters {
        pids: cli.pids.clone(),
        uids,
        command: cli.command.clone(),
        map: cli.map.clone(),
        kinds: cli.kinds.clone(),
        cgroup: cli.cgroup.clone(),
        units: cli.units.iter().map(|u| u.as_bytes().to_vec()).collect(),
        container: cli.container.as_ref().map(|c| c.as_bytes().to_vec()),
    })
}

/// The run the command line asks for, or a usage error.
pub fn run_of(cli: &Cli, src: &dyn ProcSource) -> Result<ReportRun, String> {
    let bounds = prometheus_bounds(cli)?;
    // The Prometheus view derives every family from the file rows and their processes.
    let group_by = if cli.format == FormatArg::Prometheus {
        GroupBy::FileProcess
    } else {
        group_of(cli.group_by)
    };
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
        filters: filters_of(cli, src)?,
        plan: PlanOptions {
            prefilter: !cli.no_prefilter,
            count_in_maps: cli.columns.contains(&Column::Mappings)
                || cli.sort == Some(Column::Mappings),
        },
        // The unit and container families of the exposition.
        cgroups: cli.format == FormatArg::Prometheus,
    };
    // A capture holds one map file: a question it can answer from smaps too reads that.
    let mut query = query;
    let wanted = query.effective_source();
    if !src.offers(wanted) {
        if query.source == SourceChoice::Auto && src.offers(Source::Smaps) {
            query.source = SourceChoice::Fixed(Source::Smaps);
        } else {
            let kept = [Source::Smaps, Source::Rollup, Source::Maps]
                .into_iter()
                .find(|f| src.offers(*f))
                .map_or("no map file", Source::file_name);
            return Err(format!(
                "{} holds {kept} per process: it cannot answer a question that reads {} \
                 (with smaps_rollup: --group-by process, user or command only)",
                src.describe(),
                wanted.file_name()
            ));
        }
    }
    // Sorting by the mapping count needs `maps` beside the rollup (or `smaps` instead).
    if cli.sort == Some(Column::Mappings)
        && query.effective_source() == Source::Rollup
        && !src.offers(Source::Maps)
    {
        if query.source == SourceChoice::Auto && src.offers(Source::Smaps) {
            query.source = SourceChoice::Fixed(Source::Smaps);
        } else {
            return Err(format!(
                "--sort mappings: {} holds smaps_rollup without maps, which do not count \
                 mappings",
                src.describe()
            ));
        }
    }
    if query.effective_source() == Source::Rollup
        && (group_by.needs_mappings() || query.filters.filters_mappings())
    {
        return Err(
            "--source rollup has per-process totals only: use it with --group-by \
                    process, user or command and without --map/--kind"
                .into(),
        );
    }
    let sort = sort_of(cli.sort, query.effective_source())?;
    let available = Column::available(group_by);
    let unknown = |flag: &str, c: Column| {
        let names: Vec<&str> = available.iter().map(|c| c.name()).collect();
        format!(
            "{flag} {}: no such column when grouping by {}; one of: {}",
            c.name(),
            group_by.as_str(),
            names.join(", ")
        )
    };
    if !available.contains(&sort) {
        return Err(unknown("--sort", sort));
    }
    if let Some(&c) = cli.columns.iter().find(|c| !available.contains(c)) {
        return Err(unknown("--columns", c));
    }
    for (i, c) in cli.columns.iter().enumerate() {
        if cli.columns[..i].contains(c) {
            return Err(format!("--columns {}: given twice", c.name()));
        }
    }
    let explain = cli.explain.then(|| ReadPlan::of(&query, src));
    Ok(ReportRun {
        query,
        view: ViewOptions {
            sort,
            reverse: cli.reverse,
            // `-n 0` is every row, on a terminal too (where no -n means what fits).
            top: cli.top.map(|n| if n == 0 { usize::MAX } else { n }),
            columns: (!cli.columns.is_empty()).then(|| cli.columns.clone()),
            // Read from meminfo by the run, when a percentage column asks for it.
            basis: Basis::default(),
        },
        format: format_of(cli.format),
        output: cli.output.clone(),
        explain,
        bounds,
        allow_partial: cli.allow_partial,
        units: units_of(cli.byte_units, UnitRule::PerCell),
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
    // A percentage is filled as the bytes it is a share of.
    let resident = matches!(
        col.percent_of().map_or(col, |(of, _)| of),
        Column::Rss | Column::Pss | Column::Uss | Column::Shared | Column::Swap | Column::SwapPss
    );
    match source {
        Source::Maps if resident => Err(format!(
            "--sort {}: maps files give virtual sizes only (--vsz, --source maps); sort by \
             size or mappings",
            col.name()
        )),
        _ => Ok(col),
    }
}

/// Runs the scan with a progress line on stderr when it is a terminal and the scan is slow.
pub fn scan_with_progress(src: &dyn ProcSource, query: &Query) -> anyhow::Result<Report> {
    if !std::io::stderr().is_terminal() {
        return scan::scan(src, query, None);
    }
    let progress = Progress::default();
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        // No thread to spare (`ulimit -u`, a low `ulimit -v`): the scan runs without the
        // progress line rather than failing.
        let _ = std::thread::Builder::new().spawn_scoped(s, || {
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
    let view = || ReportView::new(report, &run.view);
    match run.format {
        Format::Table => {
            let screen = term.is_some() && run.view.top.is_none();
            let mut sheet = view().sheet(screen, Some(coverage_line(report)));
            sheet.unit = run.units;
            Ok(render::table::render(&sheet, term).into_bytes())
        }
        Format::Csv => render::csv::render(&view().sheet(false, None)),
        Format::Json => {
            let mut doc = ReportDoc::of(&view());
            doc.meta.filters = FiltersDoc::of(&run.query.filters);
            if let Some(plan) = &run.explain {
                doc.meta.plan = Some(PlanDoc::of(&run.query, plan, &report.coverage));
            }
            render::json::render(&doc.to_json()?)
        }
        Format::Svg => {
            let chart = view().chart(chart_metric(run.view.sort), coverage_line(report));
            Ok(render::svg::render(&chart))
        }
        Format::Prometheus => Ok(render::prometheus::render(&Exposition::of(
            report,
            &run.bounds,
        ))),
    }
}

/// What percentage columns are of, from the source's meminfo; unknown (with a note on
/// stderr) when it cannot be read.
fn basis_of(src: &dyn ProcSource) -> Basis {
    match memory_of(src) {
        Ok(m) => Basis::of(&m),
        Err(e) => {
            eprint_line(&format!("percentages unknown: {e:#}"));
            Basis::default()
        }
    }
}

/// `--at` reads a snapshot: the options of a scan mean nothing to it.
fn at_options(cli: &Cli) -> Result<(), String> {
    if cli.at.is_none() {
        return Ok(());
    }
    let scan_only = [
        (cli.source != SourceArg::Auto, "--source"),
        (cli.vsz, "--vsz"),
        (cli.threads.is_some(), "--threads"),
        (cli.cgroup_root.is_some(), "--cgroup-root"),
    ];
    match scan_only.iter().find(|(given, _)| *given) {
        Some((_, flag)) => Err(format!(
            "{flag} applies to a scan; --at reports a recorded snapshot (read from smaps)"
        )),
        None => Ok(()),
    }
}

/// Runs the report and returns the exit status.
pub fn run(cli: &Cli) -> u8 {
    let src = match super::source_or_exit(cli) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let src = src.as_ref();
    let mut run = match at_options(cli).and_then(|()| run_of(cli, src)) {
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
    let percent = |c: &Column| c.percent_of().is_some();
    if run.view.columns.iter().flatten().any(percent) {
        run.view.basis = match cli.at {
            Some(_) => {
                eprint_line("percentages unknown: a snapshot of the history holds no meminfo");
                Basis::default()
            }
            None => basis_of(src),
        };
    }
    if let Some(plan) = &run.explain {
        plan_lines(&run.query, plan)
            .iter()
            .for_each(|l| eprint_line(l));
    }
    let report = match &cli.at {
        Some(at) => super::record::db_of(cli)
            .map_err(anyhow::Error::msg)
            .and_then(|db| crate::history::report_at(&db, at, &run.query)),
        None => scan_with_progress(src, &run.query),
    };
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprint_line(&format!("error: {e:#}"));
            return exit::FATAL;
        }
    };
    if let Some(line) = run.explain.and_then(|plan| result_line(&plan, &report)) {
        eprint_line(&line);
    }
    let verdict = Verdict::of(&report, src, run.format, run.allow_partial);
    // The messages go on the same screen as a table: it leaves them their lines.
    let term = if out.is_stdout() {
        terminal_size().map(|t| below_table(t, &verdict.said))
    } else {
        None
    };
    let rendered = render(&report, &run, term);
    if let Some(code) = out.deliver(rendered) {
        return code;
    }
    verdict.say()
}

/// What is said on stderr after the output, and the exit status.
pub struct Verdict {
    /// The lines for stderr.
    pub said: Vec<String>,
    pub code: u8,
}

impl Verdict {
    /// The coverage line where the output does not carry it, why the report is partial
    /// (unless `allow_partial`), the `--pid` values that are no process; the status says the
    /// worst of them (a missing PID is an error of the question, which `--allow-partial`
    /// does not excuse).
    pub fn of(report: &Report, src: &dyn ProcSource, format: Format, allow_partial: bool) -> Self {
        let partial =
            partial_summary(report, source::reader_privilege(src)).filter(|_| !allow_partial);
        let missing = missing_pids(report);
        let mut said = Vec::new();
        // The table carries its coverage line; for the machine formats it goes to stderr,
        // where a cron job sees it only when there is something to say.
        if format != Format::Table && (partial.is_some() || std::io::stderr().is_terminal()) {
            said.push(coverage_line(report));
        }
        let code = if missing.is_some() {
            exit::NO_PROCESS
        } else if partial.is_some() {
            exit::PARTIAL
        } else {
            exit::OK
        };
        said.extend(partial);
        said.extend(missing);
        Verdict { said, code }
    }

    /// Says the lines on stderr and returns the exit status.
    pub fn say(self) -> u8 {
        for line in &self.said {
            eprint_line(line);
        }
        self.code
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::ProcRoot;
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
    fn columns_are_the_views_own_each_once() {
        assert!(run_for(&["--columns", "path,pss_pct"]).is_ok());
        assert!(run_for(&["-g", "user", "--columns", "path"]).is_err());
        assert!(run_for(&["--columns", "pss,pss_bytes"]).is_err());
        assert!(run_for(&["-g", "process", "--sort", "swap_pss_pct"]).is_ok());
    }

    #[test]
    fn auto_source_is_the_cheapest_that_answers() {
        let src = |args: &[&str]| run_for(args).map(|r| r.query.effective_source());
        assert_eq!(src(&[]), Ok(Source::Smaps));
        assert_eq!(src(&["-g", "process"]), Ok(Source::Rollup));
        assert_eq!(src(&["-g", "user", "-m", "libc"]), Ok(Source::Smaps));
        assert_eq!(src(&["-g", "process", "--vsz"]), Ok(Source::Maps));
        assert_eq!(src(&["-g", "file,process"]), Ok(Source::Smaps));
        // The rollup cannot count mappings: sorting by them counts them in maps beside it.
        let run = run_for(&["-g", "user", "-s", "mappings"]).expect("a usable run");
        assert_eq!(run.query.effective_source(), Source::Rollup);
        assert!(run.query.plan.count_in_maps);
    }

    #[test]
    fn the_sort_column_is_one_the_source_fills() {
        let sort = |args: &[&str]| run_for(args).map(|r| r.view.sort);
        assert_eq!(sort(&[]), Ok(Column::Pss));
        assert_eq!(sort(&["-g", "process", "--vsz"]), Ok(Column::Size));
        assert_eq!(sort(&["--source", "maps"]), Ok(Column::Size));
        assert_eq!(sort(&["--vsz", "-s", "mappings"]), Ok(Column::Mappings));
        assert_eq!(sort(&["--vsz", "-s", "path"]), Ok(Column::Path));
        for bad in ["pss", "rss", "uss", "shared", "swap", "swap_pss", "pss_pct"] {
            let err = sort(&["--vsz", "-s", bad]).expect_err(bad);
            assert!(err.contains("virtual sizes only"), "{err}");
        }
        // The rollup's mapping count comes from `maps` beside it.
        assert_eq!(
            sort(&["-g", "process", "--source", "rollup", "-s", "mappings"]),
            Ok(Column::Mappings)
        );
        // The cgroup's own counters are read whatever the map file.
        assert_eq!(
            sort(&["-g", "cgroup", "--vsz", "-s", "charge"]),
            Ok(Column::Charge)
        );
    }
}
