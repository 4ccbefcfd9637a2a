//! `pmaps summary`: `/proc/meminfo` read through the proc source (before the scan, and again
//! after it to see how much the machine moved meanwhile), every process's rollup scanned for
//! user space, what the scan could not see measured apart (the `VmRSS` of the processes not
//! read, pmaps' own), all laid out by the summary view in the chosen format.

use anyhow::Context;
use clap::ArgMatches;

use super::report::{Verdict, format_of, scan_with_progress};
use super::terminal::units_of;
use crate::cli::{self, Cli};
use crate::exit;
use crate::model::{GroupBy, Query, Report, Source, SourceChoice, SystemMemory, Unseen};
use crate::output::{self, eprint_line};
use crate::parse::{parse_meminfo, parse_status};
use crate::render::{self, Format};
use crate::schema::summary::SummaryDoc;
use crate::source::{ProcRoot, ProcSource, SMALL_CAP, read_small};
use crate::view::UnitRule;
use crate::view::coverage::coverage_line;
use crate::view::summary::SummaryView;

/// The machine's memory, from the source's `meminfo`.
pub fn memory_of(src: &dyn ProcSource) -> anyhow::Result<SystemMemory> {
    let text = src
        .read_file("meminfo", SMALL_CAP)
        .with_context(|| format!("cannot read {}/meminfo", src.describe()))?;
    parse_meminfo(&text).with_context(|| format!("{}/meminfo", src.describe()))
}

/// A process's `VmRSS`, from its `status` (readable when its maps are not).
fn rss_of(src: &dyn ProcSource, pid: u32) -> Option<u64> {
    let dir = src.open_pid(pid).ok()?;
    let mut buf = Vec::new();
    read_small(dir.as_ref(), "status", &mut buf, SMALL_CAP).ok()?;
    parse_status(&buf).vm_rss
}

/// What the scan could not see: the processes not read, and pmaps itself.
fn unseen_of(src: &dyn ProcSource, report: &Report) -> Unseen {
    let mut unseen = Unseen::default();
    for p in &report.coverage.problems {
        unseen.processes += 1;
        match rss_of(src, p.pid) {
            Some(rss) => unseen.rss = unseen.rss.saturating_add(rss),
            None => unseen.rss_unknown += 1,
        }
    }
    unseen.self_rss = report.coverage.self_pid.and_then(|pid| rss_of(src, pid));
    unseen
}

/// Renders a finished summary in `format`: a table in `units`.
pub fn render(view: &SummaryView<'_>, format: Format, units: UnitRule) -> anyhow::Result<Vec<u8>> {
    match format {
        Format::Table => {
            let mut sheet = view.sheet(Some(coverage_line(view.report)));
            sheet.unit = units;
            Ok(render::table::render(&sheet, None).into_bytes())
        }
        Format::Csv => render::csv::render(&view.sheet(None)),
        Format::Json => render::json::render(&SummaryDoc::of(view)),
        Format::Svg | Format::Prometheus => {
            anyhow::bail!("the summary is a table, CSV or JSON")
        }
    }
}

/// Runs `pmaps summary` and returns the exit status.
pub fn run(cli: &Cli, matches: &ArgMatches) -> u8 {
    let report_only = cli::report_options_given(matches);
    let format = format_of(cli.format);
    if !report_only.is_empty() || format == Format::Svg {
        let what = match report_only.is_empty() {
            true => "--format svg".to_string(),
            false => report_only.join(", "),
        };
        eprint_line(&format!(
            "{what} applies to the report, not to `pmaps summary` (which takes --format \
             table|csv|json, --units, --output and --proc-root)"
        ));
        return exit::USAGE;
    }
    let src = ProcRoot::new(&cli.proc_root);
    let memory = match memory_of(&src) {
        Ok(m) => m,
        Err(e) => {
            eprint_line(&format!("error: {e:#}"));
            return exit::FATAL;
        }
    };
    // Per-process totals from the rollup (the only file with the PSS split by backing);
    // grouped by command, which needs no file beyond `stat` per process.
    let query = Query {
        proc_root: cli.proc_root.clone(),
        source: SourceChoice::Fixed(Source::Rollup),
        group_by: GroupBy::Command,
        ..Query::default()
    };
    let report = match scan_with_progress(&src, &query) {
        Ok(r) => r,
        Err(e) => {
            eprint_line(&format!("error: {e:#}"));
            return exit::FATAL;
        }
    };
    let mut unseen = unseen_of(&src, &report);
    // meminfo again, after the scan: how much user space moved while it ran.
    let user = |m: &SystemMemory| m.anon_pages.map(|a| i128::from(a) + i128::from(m.mapped));
    let after = memory_of(&src).ok();
    unseen.drift = after
        .as_ref()
        .and_then(user)
        .zip(user(&memory))
        .and_then(|(after, before)| i64::try_from(after - before).ok());
    let view = SummaryView::new(&report, memory, unseen);
    // Each value with its own unit beside it, unless --units fixes one.
    let units = units_of(cli.byte_units, UnitRule::PerValue);
    if let Some(code) = output::deliver(render(&view, format, units), cli.output.as_deref()) {
        return code;
    }
    Verdict::of(&report, &src, format, false).say()
}
