//! `pmaps diff OLD [NEW]`: read two saved reports (or one, and scan now the way it was
//! made), refuse what cannot be compared, match the rows by identity, print the view in the
//! chosen format, and exit 0 (no change beyond the thresholds) or 5 (changed).

use std::io::{IsTerminal, Read};
use std::path::Path;

use clap::ArgMatches;

use super::report::{format_of, scan_with_progress, terminal_size};
use crate::analyze::diff::{Comparison, compare, diff};
use crate::cli::{self, Cli, DiffArgs};
use crate::exit;
use crate::history::Reference;
use crate::model::{Filters, GroupBy, Query, SourceChoice};
use crate::output::{self, eprint_line};
use crate::render::{self, Format};
use crate::schema::diff::{DiffDoc, SideDoc, entries_of, side_of, totals_of, unread_of};
use crate::schema::read_doc;
use crate::schema::report::{FiltersDoc, ReportDoc};
use crate::source::ProcRoot;
use crate::view::diff::{DiffOptions, DiffView};
use crate::view::report::{ReportView, ViewOptions};

/// The largest saved report read (a report of 100,000 rows is about 60 MB).
const DOC_CAP: u64 = 1 << 30;

/// Why a diff stops early: the exit status and the one line that says why.
struct Stop(u8, String);

/// Reads a saved report: a file, or standard input for `-`.
///
/// This is where an argument becomes a report; other kinds of saved state (capture
/// archives, history snapshots) are to be recognised here.
pub fn report_of(arg: &Path) -> Result<ReportDoc, String> {
    let shown = arg.display();
    let mut bytes = Vec::new();
    let read = if arg.as_os_str() == "-" {
        std::io::stdin()
            .lock()
            .take(DOC_CAP + 1)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(arg).and_then(|f| f.take(DOC_CAP + 1).read_to_end(&mut bytes))
    };
    read.map_err(|e| format!("cannot read {shown}: {e}"))?;
    if bytes.len() as u64 > DOC_CAP {
        return Err(format!(
            "{shown}: larger than {DOC_CAP} bytes: not a pmaps report"
        ));
    }
    read_doc::<ReportDoc>(&bytes).map_err(|e| match what_else(&bytes) {
        Some(other) => format!("{shown} is {other}, not a report"),
        None => format!("{shown}: {e:#}"),
    })
}

/// What a pmaps document that is not a report is, for the message.
fn what_else(bytes: &[u8]) -> Option<&'static str> {
    #[derive(serde::Deserialize)]
    struct Probe {
        meta: Option<ProbeMeta>,
    }
    #[derive(serde::Deserialize)]
    struct ProbeMeta {
        view: Option<String>,
    }
    let probe: Probe = serde_json::from_slice(bytes).ok()?;
    match probe.meta?.view?.as_str() {
        "show" => Some("a `pmaps show` document"),
        "diff" => Some("a `pmaps diff` document"),
        _ => None,
    }
}

/// The filters a saved report records, compiled again.
fn filters_of(doc: &Option<FiltersDoc>) -> Result<Filters, String> {
    let Some(f) = doc else {
        return Ok(Filters::default());
    };
    let regex = |r: &Option<String>| -> Result<_, String> {
        r.as_deref()
            .map(|s| cli::parse_regex(s).map_err(|e| format!("its filter {s:?}: {e}")))
            .transpose()
    };
    Ok(Filters {
        pids: f.pids.clone(),
        uids: f.uids.clone(),
        command: regex(&f.command)?,
        map: regex(&f.map)?,
        kinds: f.kinds.clone(),
        ..Filters::default()
    })
}

/// A snapshot of the history (`@latest`, `@-1`, `@ID`, a time), as a report made the way
/// `like` was (its group-by and filters; by file without it).
fn snapshot_like(cli: &Cli, reference: &Path, like: Option<&ReportDoc>) -> Result<ReportDoc, Stop> {
    let fatal = |e: String| Stop(exit::FATAL, e);
    let db = super::record::db_of(cli).map_err(|e| Stop(exit::USAGE, e))?;
    let filters = match like {
        Some(doc) => filters_of(&doc.meta.filters).map_err(fatal)?,
        None => Filters::default(),
    };
    let query = Query {
        proc_root: cli.proc_root.clone(),
        threads: None,
        source: SourceChoice::Fixed(crate::model::Source::Smaps),
        group_by: like.map_or(GroupBy::File, |d| d.meta.group_by),
        filters,
    };
    let text = reference.to_string_lossy();
    let report = crate::history::report_at(&db, &text, &query)
        .map_err(|e| fatal(format!("error: {e:#}")))?;
    let view = ReportView::new(&report, &ViewOptions::default());
    let mut doc = ReportDoc::of(&view);
    doc.meta.filters = FiltersDoc::of(&query.filters);
    Ok(doc)
}

/// A scan made now, the way `old` was made: its group-by, source and filters.
fn scan_like(cli: &Cli, old: &ReportDoc) -> Result<ReportDoc, Stop> {
    let src = ProcRoot::new(&cli.proc_root);
    let filters = filters_of(&old.meta.filters)
        .map_err(|e| Stop(exit::FATAL, format!("cannot scan like the old report: {e}")))?;
    let query = Query {
        proc_root: cli.proc_root.clone(),
        threads: None,
        source: SourceChoice::Fixed(old.meta.source),
        group_by: old.meta.group_by,
        filters,
    };
    let report =
        scan_with_progress(&src, &query).map_err(|e| Stop(exit::FATAL, format!("error: {e:#}")))?;
    let view = ReportView::new(&report, &ViewOptions::default());
    let mut doc = ReportDoc::of(&view);
    doc.meta.filters = FiltersDoc::of(&query.filters);
    Ok(doc)
}

/// Refuses what cannot be compared; warns of what compares with care.
fn check(old: (&str, &ReportDoc), new: (&str, &ReportDoc), force: bool) -> Result<(), Stop> {
    let refuse = |msg: String| Err(Stop(exit::USAGE, msg));
    for (name, doc) in [old, new] {
        if doc.rows.len() != doc.meta.rows_total {
            return refuse(format!(
                "{name} lists {} of its {} rows (it was saved with -n): a missing row would \
                 read as gone or new; save reports for diff without -n",
                doc.rows.len(),
                doc.meta.rows_total
            ));
        }
    }
    let (o, n) = (&old.1.meta, &new.1.meta);
    if o.group_by != n.group_by {
        return refuse(format!(
            "{} is grouped by {} and {} by {}: only reports of one group-by compare",
            old.0,
            o.group_by.as_str(),
            new.0,
            n.group_by.as_str()
        ));
    }
    if o.host != n.host && !force {
        let host = |h: &Option<String>| h.clone().unwrap_or_else(|| "unknown".into());
        return refuse(format!(
            "{} is of host {} and {} of host {}: --force compares them anyway",
            old.0,
            host(&o.host),
            new.0,
            host(&n.host)
        ));
    }
    if o.filters != n.filters {
        eprint_line(&format!(
            "warning: {} and {} were made with different filters: rows may be new or gone \
             only because of them",
            old.0, new.0
        ));
    }
    if o.source != n.source {
        eprint_line(&format!(
            "note: {} was read from {} and {} from {}: PSS is rounded differently",
            old.0,
            o.source.file_name(),
            new.0,
            n.source.file_name()
        ));
    }
    Ok(())
}

/// Matches the rows of two reports.
fn comparison(old: (&str, &ReportDoc), new: (&str, &ReportDoc)) -> Result<Comparison, Stop> {
    let rows = |(name, doc): (&str, &ReportDoc)| {
        entries_of(doc).map_err(|e| Stop(exit::FATAL, format!("{name}: {e}")))
    };
    let (old_rows, new_rows) = (rows(old)?, rows(new)?);
    let unread = unread_of(old.1, new.1);
    let totals = compare(
        crate::analyze::diff::Key::Total,
        totals_of(old.1),
        totals_of(new.1),
    );
    Ok(Comparison {
        group_by: match old.1.meta.group_by {
            GroupBy::FileProcess => GroupBy::File,
            g => g,
        },
        old: side_of(old.0, old.1),
        new: side_of(new.0, new.1),
        rows: diff(old_rows, new_rows, &unread),
        totals,
    })
}

/// Runs `pmaps diff` and returns the exit status.
pub fn run(cli: &Cli, matches: &ArgMatches, args: &DiffArgs) -> u8 {
    match run_diff(cli, matches, args) {
        Ok(code) => code,
        Err(Stop(code, msg)) => {
            // An output that cannot be opened has said so already.
            if !msg.is_empty() {
                eprint_line(&msg);
            }
            code
        }
    }
}

fn run_diff(cli: &Cli, matches: &ArgMatches, args: &DiffArgs) -> Result<u8, Stop> {
    let report_only = cli::report_options_given(matches);
    if !report_only.is_empty() {
        return Err(Stop(
            exit::USAGE,
            format!(
                "{} applies to the report, not to `pmaps diff` (a one-argument diff scans with \
                 the options the old report was made with)",
                report_only.join(", ")
            ),
        ));
    }
    let out = output::Output::prepare(cli.output.as_deref()).map_err(|c| Stop(c, String::new()))?;
    let old_name = args.old.display().to_string();
    let snapshot = |p: &Path| p.to_str().is_some_and(Reference::looks_like).then_some(());
    // A snapshot of the history is rebuilt the way the file on the other side was made
    // (its group-by and filters), or grouped by file.
    let (old, new) = match (&args.old, &args.new) {
        (o, Some(n)) if snapshot(o).is_some() && snapshot(n).is_none() => {
            let new = report_of(n).map_err(|e| Stop(exit::FATAL, e))?;
            (snapshot_like(cli, o, Some(&new))?, Some(new))
        }
        (o, n) => {
            let old = match snapshot(o) {
                Some(_) => snapshot_like(cli, o, None)?,
                None => report_of(o).map_err(|e| Stop(exit::FATAL, e))?,
            };
            let new = match n {
                Some(n) if snapshot(n).is_some() => Some(snapshot_like(cli, n, Some(&old))?),
                Some(n) => Some(report_of(n).map_err(|e| Stop(exit::FATAL, e))?),
                None => None,
            };
            (old, new)
        }
    };
    let (new_name, new) = match (&args.new, new) {
        (Some(p), Some(new)) => (p.display().to_string(), new),
        _ => ("now".to_string(), scan_like(cli, &old)?),
    };
    let (o, n) = ((old_name.as_str(), &old), (new_name.as_str(), &new));
    check(o, n, args.force)?;
    let cmp = comparison(o, n)?;
    let view = DiffView::new(
        &cmp,
        DiffOptions {
            sort: args.sort,
            all: args.all,
            min_change: args.min_change,
            top: args.top,
        },
    );
    let format = format_of(cli.format);
    let rendered = match format {
        Format::Table => {
            let term = (out.is_stdout() && std::io::stdout().is_terminal())
                .then(terminal_size)
                .flatten();
            Ok(render::table::render(&view.sheet(true), term).into_bytes())
        }
        Format::Csv => render::csv::render(&view.sheet(false)),
        Format::Json => render::json::render(&DiffDoc::of(
            &view,
            SideDoc::of(&old_name, &old),
            SideDoc::of(&new_name, &new),
        )),
    };
    if let Some(code) = out.deliver(rendered) {
        return Ok(code);
    }
    Ok(if view.counts().notable > 0 {
        exit::CHANGED
    } else {
        exit::OK
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MapKind;

    #[test]
    fn recorded_filters_compile_again() {
        let doc = Some(FiltersDoc {
            pids: vec![7],
            uids: vec![0],
            command: Some("^nginx".into()),
            map: Some(r"libc\.so".into()),
            kinds: vec![MapKind::Heap],
        });
        let f = filters_of(&doc).expect("filters");
        assert_eq!(f.pids, [7]);
        assert!(f.command.is_some_and(|r| r.is_match(b"nginx: worker")));
        assert!(f.map.is_some_and(|r| r.is_match(b"/usr/lib/libc.so.6")));
        let bad = Some(FiltersDoc {
            command: Some("(".into()),
            ..FiltersDoc::default()
        });
        assert!(filters_of(&bad).is_err());
        assert!(filters_of(&None).is_ok_and(|f| f.pids.is_empty()));
    }
}
