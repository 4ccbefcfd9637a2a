//! `pmaps diff OLD [NEW]`: compare two states of the memory. Each side is a saved JSON
//! report, a capture archive (`pmaps capture`, or smem's `smemcap` tar) or a snapshot of the
//! history; without NEW, the new side is a scan made now (or the capture `--from` names). A
//! side that is not a saved report is rebuilt the way the saved report on the other side was
//! made (its group-by, source and filters), or grouped by `-g` (by file without it) and
//! filtered by the report's filters when neither side is one. Then refuse what cannot be
//! compared, match the rows by identity, print the view in the chosen format, and exit 0 (no
//! change beyond the thresholds) or 5 (changed).

use std::io::{Cursor, Read};
use std::path::Path;

use clap::ArgMatches;

use super::report::scan_with_progress;
use super::terminal::table_bytes;
use crate::analyze::diff::{Comparison, compare, diff};
use crate::cli::{self, Cli, DiffArgs};
use crate::exit;
use crate::history::Reference;
use crate::model::{Filters, GroupBy, Query, Source, SourceChoice};
use crate::output::{self, eprint_line};
use crate::render::{self, Format};
use crate::schema::diff::{DiffDoc, SideDoc, entries_of, side_of, totals_of, unread_of};
use crate::schema::read_doc;
use crate::schema::report::{FiltersDoc, ReportDoc};
use crate::source::archive::index::{HEAD_LEN, Limits, looks_like_archive};
use crate::source::{ArchiveSource, ProcRoot, ProcSource};
use crate::view::diff::{DiffOptions, DiffView};
use crate::view::report::{ReportView, ViewOptions};

/// The largest saved report read (a report of 100,000 rows is about 60 MB).
const DOC_CAP: u64 = 1 << 30;

/// Why a diff stops early: the exit status and the one line that says why.
struct Stop(u8, String);

impl Stop {
    fn fatal(msg: String) -> Stop {
        Stop(exit::FATAL, msg)
    }
    fn usage(msg: String) -> Stop {
        Stop(exit::USAGE, msg)
    }
}

/// One side of a comparison, as the command line names it.
enum Operand {
    /// A saved JSON report.
    Report(Box<ReportDoc>),
    /// A capture archive, read.
    Capture(Box<ArchiveSource>),
    /// A snapshot of the history (`@latest`, `@-1`, `@ID`, a time).
    Snapshot(String),
    /// A scan made now.
    Now,
}

/// Reads what `arg` names: a snapshot reference, or a file (`-`: standard input) that is a
/// capture archive or a saved JSON report, told apart by its first bytes.
fn operand_of(arg: &Path) -> Result<Operand, String> {
    if let Some(r) = arg.to_str().filter(|s| Reference::looks_like(s)) {
        return Ok(Operand::Snapshot(r.to_string()));
    }
    let shown = arg.display();
    let mut input: Box<dyn Read> = if arg.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(arg).map_err(|e| format!("cannot read {shown}: {e}"))?)
    };
    let mut head = Vec::with_capacity(HEAD_LEN);
    (&mut input)
        .take(HEAD_LEN as u64)
        .read_to_end(&mut head)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    let whole = Cursor::new(head).chain(input);
    if looks_like_archive(whole.get_ref().0.get_ref()) {
        let name = shown.to_string();
        return ArchiveSource::from_reader(whole, &name, &Limits::DEFAULT)
            .map(|src| Operand::Capture(Box::new(src)))
            .map_err(|e| format!("cannot read capture {name}: {e:#}"));
    }
    let mut bytes = Vec::new();
    whole
        .take(DOC_CAP + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if bytes.len() as u64 > DOC_CAP {
        return Err(format!(
            "{shown}: larger than {DOC_CAP} bytes: not a pmaps report"
        ));
    }
    let doc = read_doc::<ReportDoc>(&bytes).map_err(|e| match what_else(&bytes) {
        Some(other) => format!("{shown} is {other}"),
        None => format!("{shown}: {e:#}"),
    })?;
    if doc.meta.columns.is_some() {
        return Err(format!("{shown} is {}", COLUMNS_CHOSEN));
    }
    Ok(Operand::Report(Box::new(doc)))
}

/// What a report saved with `--columns` is, for the message.
const COLUMNS_CHOSEN: &str = "a report saved with --columns: a diff needs every column of its \
                              view (save it without --columns)";

/// What a pmaps document that is not a whole report is, for the message.
fn what_else(bytes: &[u8]) -> Option<&'static str> {
    #[derive(serde::Deserialize)]
    struct Probe {
        meta: Option<ProbeMeta>,
    }
    #[derive(serde::Deserialize)]
    struct ProbeMeta {
        view: Option<String>,
        columns: Option<Vec<String>>,
    }
    let meta = serde_json::from_slice::<Probe>(bytes).ok()?.meta?;
    if meta.columns.is_some() {
        return Some(COLUMNS_CHOSEN);
    }
    match meta.view?.as_str() {
        "show" => Some("a `pmaps show` document, not a report"),
        "diff" => Some("a `pmaps diff` document, not a report"),
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
        cgroup: regex(&f.cgroup)?,
        units: f.units.iter().map(|u| u.as_bytes().to_vec()).collect(),
        container: f.container.as_ref().map(|c| c.as_bytes().to_vec()),
    })
}

/// How a side that is not a saved report is made into one.
struct Shape {
    group_by: GroupBy,
    source: Source,
    filters: Filters,
}

impl Shape {
    /// The way `doc` was made.
    fn of(name: &str, doc: &ReportDoc) -> Result<Shape, Stop> {
        let filters = filters_of(&doc.meta.filters)
            .map_err(|e| Stop::fatal(format!("cannot rebuild a side like {name}: {e}")))?;
        Ok(Shape {
            group_by: doc.meta.group_by,
            source: doc.meta.source,
            filters,
        })
    }
}

/// Makes a report of `src` shaped like `shape`: the map file it asks for, or smaps when the
/// source (a capture) kept smaps and not that one.
fn scan_shaped(cli: &Cli, src: &dyn ProcSource, shape: &Shape) -> Result<ReportDoc, Stop> {
    let mut source = shape.source;
    if !src.offers(source) {
        if !src.offers(Source::Smaps) {
            let kept = [Source::Rollup, Source::Maps]
                .into_iter()
                .find(|f| src.offers(*f))
                .map_or("no map file", Source::file_name);
            return Err(Stop::usage(format!(
                "{} holds {kept} per process: it cannot be compared with a report read from {}",
                src.describe(),
                source.file_name()
            )));
        }
        source = Source::Smaps;
    }
    let query = Query {
        proc_root: cli.proc_root.clone(),
        threads: None,
        source: SourceChoice::Fixed(source),
        group_by: shape.group_by,
        filters: shape.filters.clone(),
        plan: Default::default(),
        cgroups: false,
    };
    let report =
        scan_with_progress(src, &query).map_err(|e| Stop::fatal(format!("error: {e:#}")))?;
    Ok(doc_of(&report, &query))
}

fn doc_of(report: &crate::model::Report, query: &Query) -> ReportDoc {
    let view = ReportView::new(report, &ViewOptions::default());
    let mut doc = ReportDoc::of(&view);
    doc.meta.filters = FiltersDoc::of(&query.filters);
    doc
}

/// A side as a report: a saved one as it is, the others made the way `shape` says.
fn report_of(cli: &Cli, operand: Operand, shape: &Shape) -> Result<ReportDoc, Stop> {
    match operand {
        Operand::Report(doc) => Ok(*doc),
        Operand::Capture(src) => scan_shaped(cli, src.as_ref(), shape),
        Operand::Now => {
            let src = ProcRoot::new(&cli.proc_root).with_cgroup_root(cli.cgroup_root.as_deref());
            scan_shaped(cli, &src, shape)
        }
        Operand::Snapshot(reference) => {
            let db = super::record::db_of(cli).map_err(Stop::usage)?;
            // A snapshot holds what smaps gave: it answers for any map file.
            let query = Query {
                proc_root: cli.proc_root.clone(),
                threads: None,
                source: SourceChoice::Fixed(Source::Smaps),
                group_by: shape.group_by,
                filters: shape.filters.clone(),
                plan: Default::default(),
                cgroups: false,
            };
            let report = crate::history::report_at(&db, &reference, &query)
                .map_err(|e| Stop::fatal(format!("error: {e:#}")))?;
            Ok(doc_of(&report, &query))
        }
    }
}

/// Refuses what cannot be compared; warns of what compares with care.
fn check(old: (&str, &ReportDoc), new: (&str, &ReportDoc), force: bool) -> Result<(), Stop> {
    for (name, doc) in [old, new] {
        if doc.rows.len() != doc.meta.rows_total {
            return Err(Stop::usage(format!(
                "{name} lists {} of its {} rows (it was saved with -n): a missing row would \
                 read as gone or new; save reports for diff without -n",
                doc.rows.len(),
                doc.meta.rows_total
            )));
        }
    }
    let (o, n) = (&old.1.meta, &new.1.meta);
    if o.group_by != n.group_by {
        return Err(Stop::usage(format!(
            "{} is grouped by {} and {} by {}: only reports of one group-by compare",
            old.0,
            o.group_by.as_str(),
            new.0,
            n.group_by.as_str()
        )));
    }
    if o.host != n.host && !force {
        let host = |h: &Option<String>| h.clone().unwrap_or_else(|| "unknown".into());
        return Err(Stop::usage(format!(
            "{} is of host {} and {} of host {}: --force compares them anyway",
            old.0,
            host(&o.host),
            new.0,
            host(&n.host)
        )));
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
        entries_of(doc).map_err(|e| Stop::fatal(format!("{name}: {e}")))
    };
    let (old_rows, new_rows) = (rows(old)?, rows(new)?);
    let unread = unread_of(old.1, new.1);
    let totals = compare(
        crate::analyze::diff::Key::Total,
        totals_of(old.1),
        totals_of(new.1),
        &unread,
    );
    Ok(Comparison {
        group_by: old.1.meta.group_by,
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

/// The two sides, named and read: OLD, and NEW or `--from` or now.
fn operands(cli: &Cli, args: &DiffArgs) -> Result<[(String, Operand); 2], Stop> {
    let named = |p: &Path| -> Result<(String, Operand), Stop> {
        Ok((p.display().to_string(), operand_of(p).map_err(Stop::fatal)?))
    };
    let old = named(&args.old)?;
    let new = match (&args.new, &cli.from) {
        (Some(_), Some(_)) => {
            return Err(Stop::usage(
                "--from names the new side of a diff: give OLD alone with it (or both sides \
                 as arguments)"
                    .into(),
            ));
        }
        (Some(n), None) => named(n)?,
        (None, Some(from)) => named(from)?,
        (None, None) => ("now".to_string(), Operand::Now),
    };
    let stdin = |p: &Option<std::path::PathBuf>| p.as_deref() == Some(Path::new("-"));
    if args.old.as_os_str() == "-" && (stdin(&args.new) || stdin(&cli.from)) {
        return Err(Stop::usage(
            "standard input (-) can be one side only".into(),
        ));
    }
    Ok([old, new])
}

/// The report's filters, which a diff takes when neither side is a saved report.
const FILTERS: [&str; 8] = [
    "--pid",
    "--user",
    "--command",
    "--map",
    "--kind",
    "--cgroup",
    "--unit",
    "--container",
];

/// The shape of the sides to rebuild: the first saved report's, else `-g`'s and the filters
/// of the command line (`filters`: those given).
fn shape_of(
    cli: &Cli,
    args: &DiffArgs,
    sides: &[(String, Operand); 2],
    filters: &[&str],
) -> Result<Shape, Stop> {
    let asked = args.group_by.map(super::report::group_of);
    let saved = sides.iter().find_map(|(name, o)| match o {
        Operand::Report(doc) => Some((name, doc)),
        _ => None,
    });
    match saved {
        Some((name, doc)) => {
            if let Some(g) = asked.filter(|g| *g != doc.meta.group_by) {
                return Err(Stop::usage(format!(
                    "-g {} does not apply: {name} is a saved report grouped by {} (-g groups \
                     sides that are captures, snapshots or now, when neither is a saved report)",
                    g.as_str(),
                    doc.meta.group_by.as_str()
                )));
            }
            if !filters.is_empty() {
                return Err(Stop::usage(format!(
                    "{} does not apply: {name} is a saved report, made with its own filters \
                     (filters apply to sides that are captures, snapshots or now, when neither \
                     is a saved report)",
                    filters.join(", ")
                )));
            }
            Shape::of(name, doc)
        }
        None => {
            // `--user` names are looked up as the first capture's host names them.
            let live = ProcRoot::new(&cli.proc_root);
            let names: &dyn ProcSource = sides
                .iter()
                .find_map(|(_, o)| match o {
                    Operand::Capture(src) => Some(src.as_ref() as &dyn ProcSource),
                    _ => None,
                })
                .unwrap_or(&live);
            Ok(Shape {
                group_by: asked.unwrap_or(GroupBy::File),
                // What a snapshot holds, and what a capture keeps by default.
                source: Source::Smaps,
                filters: super::report::filters_of(cli, names).map_err(Stop::usage)?,
            })
        }
    }
}

fn run_diff(cli: &Cli, matches: &ArgMatches, args: &DiffArgs) -> Result<u8, Stop> {
    // --cgroup-root says where the scan now reads; the filters may shape rebuilt sides.
    let (filters, report_only): (Vec<&str>, Vec<&str>) = cli::report_options_given(matches)
        .into_iter()
        .filter(|o| *o != "--cgroup-root")
        .partition(|o| FILTERS.contains(o));
    if !report_only.is_empty() {
        return Err(Stop::usage(format!(
            "{} applies to the report, not to `pmaps diff` (a side rebuilt from a capture, a \
             snapshot or a scan now is made the way the saved report on the other side was, \
             or grouped by `pmaps diff -g` and filtered by the report's filters)",
            report_only.join(", ")
        )));
    }
    let format = super::tabular_format(cli, "diff").map_err(|c| Stop(c, String::new()))?;
    let out = output::Output::prepare(cli.output.as_deref()).map_err(|c| Stop(c, String::new()))?;
    let sides = operands(cli, args)?;
    let shape = shape_of(cli, args, &sides, &filters)?;
    let [(old_name, old), (new_name, new)] = sides;
    let old = report_of(cli, old, &shape)?;
    let new = report_of(cli, new, &shape)?;
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
    let rendered = match format {
        Format::Table => Ok(table_bytes(cli, &out, view.sheet(true))),
        Format::Csv => render::csv::render(&view.sheet(false)),
        Format::Json => render::json::render(&DiffDoc::of(
            &view,
            SideDoc::of(&old_name, &old),
            SideDoc::of(&new_name, &new),
        )),
        Format::Svg | Format::Prometheus => super::not_tabular("diff"),
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
            cgroup: Some("^/system.slice/".into()),
            units: vec!["nginx.service".into()],
            container: Some("3f2a".into()),
        });
        let f = filters_of(&doc).expect("filters");
        assert_eq!(f.pids, [7]);
        assert!(f.command.is_some_and(|r| r.is_match(b"nginx: worker")));
        assert!(f.map.is_some_and(|r| r.is_match(b"/usr/lib/libc.so.6")));
        assert!(
            f.cgroup
                .is_some_and(|r| r.is_match(b"/system.slice/nginx.service"))
        );
        assert_eq!(f.units, [b"nginx.service".to_vec()]);
        assert_eq!(f.container.as_deref(), Some(&b"3f2a"[..]));
        let bad = Some(FiltersDoc {
            command: Some("(".into()),
            ..FiltersDoc::default()
        });
        assert!(filters_of(&bad).is_err());
        assert!(filters_of(&None).is_ok_and(|f| f.pids.is_empty()));
    }
}
