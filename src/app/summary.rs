//! `pmaps summary`: `/proc/meminfo` read through the proc source (before the scan, and again
//! after it to see how much the machine moved meanwhile), every process's rollup scanned for
//! user space, what the scan could not see measured apart (the `VmRSS` of the processes not
//! read, pmaps' own), all laid out by the summary view in the chosen format.
//!
//! The source is the one every command reads ([`super::open_source`]): with `--from`, a
//! capture. Its meminfo is the one it holds (one snapshot: no drift is measured; none at all
//! leaves the lines made of it unknown), and the per-process totals come from the map file
//! it kept: the rollup, or else each process's smaps summed (the same figures, but PSS
//! truncated per mapping and no split by backing, which only the rollup has), or else maps
//! (no PSS at all).

use anyhow::Context;
use clap::ArgMatches;

use super::report::{Verdict, format_of, scan_with_progress};
use super::terminal::units_of;
use crate::cli::{self, Cli};
use crate::exit;
use crate::model::{Drift, GroupBy, Query, Report, Source, SourceChoice, SystemMemory, Unseen};
use crate::output::{self, eprint_line};
use crate::parse::{parse_meminfo, parse_status};
use crate::render::{self, Format};
use crate::schema::summary::SummaryDoc;
use crate::source::{ProcSource, SMALL_CAP, read_small};
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

/// The map file the per-process totals come from: the rollup where the source has it (live,
/// always), else the smaps of a capture, else its maps.
fn totals_file(src: &dyn ProcSource) -> Source {
    [Source::Rollup, Source::Smaps, Source::Maps]
        .into_iter()
        .find(|f| src.offers(*f))
        .unwrap_or(Source::Rollup)
}

/// The machine's memory for the summary: a live source without a readable meminfo is an
/// error (`Err`, the message); a capture without one gives the lines it can (`None`, said on
/// stderr).
fn memory_for(src: &dyn ProcSource) -> Result<Option<SystemMemory>, String> {
    match memory_of(src) {
        Ok(m) => Ok(Some(m)),
        Err(e) if src.capture().is_some() => {
            eprint_line(&format!(
                "{e:#}: the lines made of meminfo are unknown (user space is the scan's)"
            ));
            Ok(None)
        }
        Err(e) => Err(format!("error: {e:#}")),
    }
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
             table|csv|json, --units, --output, and --proc-root or --from)"
        ));
        return exit::USAGE;
    }
    let src = match super::source_or_exit(cli) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let src = src.as_ref();
    let memory = match memory_for(src) {
        Ok(m) => m,
        Err(msg) => {
            eprint_line(&msg);
            return exit::FATAL;
        }
    };
    // Per-process totals from the rollup (the only file with the PSS split by backing)
    // where the source has it; grouped by command, which needs no file beyond `stat` per
    // process.
    let file = totals_file(src);
    if file != Source::Rollup {
        eprint_line(&format!(
            "{} holds {} per process, not smaps_rollup: no PSS split by backing{}",
            src.describe(),
            file.file_name(),
            match file {
                Source::Smaps => ", and PSS is the sum of each mapping's (truncated to kB apart)",
                _ => ", and no PSS at all",
            }
        ));
    }
    let query = Query {
        proc_root: cli.proc_root.clone(),
        source: SourceChoice::Fixed(file),
        group_by: GroupBy::Command,
        ..Query::default()
    };
    let report = match scan_with_progress(src, &query) {
        Ok(r) => r,
        Err(e) => {
            eprint_line(&format!("error: {e:#}"));
            return exit::FATAL;
        }
    };
    let mut unseen = unseen_of(src, &report);
    unseen.drift = match (&memory, src.capture()) {
        // One meminfo, read as the capture began: nothing to compare it with.
        (Some(_), Some(_)) => Drift::Snapshot,
        (None, _) => Drift::Unknown,
        // meminfo again, after the scan: how much user space moved while it ran.
        (Some(before), None) => {
            let user =
                |m: &SystemMemory| m.anon_pages.map(|a| i128::from(a) + i128::from(m.mapped));
            memory_of(src)
                .ok()
                .as_ref()
                .and_then(user)
                .zip(user(before))
                .and_then(|(after, before)| i64::try_from(after - before).ok())
                .map_or(Drift::Unknown, Drift::Moved)
        }
    };
    let view = SummaryView::new(&report, memory, unseen);
    // Each value with its own unit beside it, unless --units fixes one.
    let units = units_of(cli.byte_units, UnitRule::PerValue);
    if let Some(code) = output::deliver(render(&view, format, units), cli.output.as_deref()) {
        return code;
    }
    Verdict::of(&report, src, format, false).say()
}

#[cfg(test)]
mod tests {
    use std::process::{Command, Stdio};

    use super::*;
    use crate::model::{Counters, Filters, OutcomeKind, field};
    use crate::source::ProcRoot;

    /// The totals of the live process `pid` read from `file`, and the mappings read.
    fn totals(pid: u32, file: Source) -> (Counters, u64) {
        let query = Query {
            source: SourceChoice::Fixed(file),
            group_by: GroupBy::Process,
            filters: Filters {
                pids: vec![pid],
                ..Filters::default()
            },
            ..Query::default()
        };
        let report =
            crate::scan::scan(&ProcRoot::new("/proc".as_ref()), &query, None).expect("scan /proc");
        assert_eq!(report.coverage.count(OutcomeKind::Read), 1, "PID {pid}");
        (report.totals.counters, report.coverage.mappings)
    }

    /// What a summary from a capture of smaps rests on: a process's smaps, summed, give the
    /// figures of its smaps_rollup, but for PSS, truncated to kB per mapping instead of once
    /// (so at most 1 KiB per mapping lower), and for the split by backing, which smaps lacks.
    #[test]
    fn a_processs_smaps_summed_give_its_rollups_figures() {
        // A real process, which does not touch its memory while it sleeps.
        let mut child = Command::new("sleep")
            .arg("600")
            .stdin(Stdio::null())
            .spawn()
            .expect("start sleep");
        let pid = child.id();
        // Other processes starting and exiting move its shared pages between two reads:
        // compare when the rollup read before smaps equals the one read after.
        let mut still = None;
        for _ in 0..50 {
            let (before, _) = totals(pid, Source::Rollup);
            let (sum, mappings) = totals(pid, Source::Smaps);
            let (after, _) = totals(pid, Source::Rollup);
            if before == after {
                still = Some((before, sum, mappings));
                break;
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        let (rollup, sum, mappings) = still.expect("the process kept still between two reads");
        let exact = |c: &Counters| {
            [
                c.rss,
                c.shared_clean,
                c.shared_dirty,
                c.private_clean,
                c.private_dirty,
                c.swap,
                c.referenced,
                c.anonymous,
                c.locked,
            ]
        };
        assert_eq!(exact(&sum), exact(&rollup));
        assert!(
            rollup.rss > 0 && mappings > 10,
            "{rollup:?}, {mappings} mappings"
        );
        for (name, r, s) in [
            ("Pss", rollup.pss, sum.pss),
            ("SwapPss", rollup.swap_pss, sum.swap_pss),
        ] {
            assert!(
                s <= r && r - s < mappings * 1024,
                "{name}: rollup {r}, smaps summed {s}, {mappings} mappings"
            );
        }
        assert!(rollup.pss > 0);
        for bit in [field::PSS_ANON, field::PSS_FILE, field::PSS_SHMEM] {
            assert!(!sum.is_known(bit), "smaps has no split of PSS by backing");
        }
    }
}
