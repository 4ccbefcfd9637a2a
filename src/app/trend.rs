//! `pmaps trend`: read the series of the history's snapshots in a time range, judge each
//! with the trend statistic shared with `pmaps watch`, print the suspects (or every series)
//! in the chosen format, and exit 5 when there are suspects.

use clap::ArgMatches;

use super::history::time_of;
use super::terminal::table_bytes;
use crate::analyze::Metric;
use crate::analyze::trend::Thresholds;
use crate::cli::{Cli, SeriesKind, TrendArgs};
use crate::exit;
use crate::history::Store;
use crate::history::series::{self, By};
use crate::output::eprint_line;
use crate::render::{self, Format};
use crate::schema::history::{TrendDoc, TrendMeta, TrendSeriesDoc};
use crate::schema::trend::ThresholdsDoc;
use crate::text::utc_timestamp;
use crate::view::trend::{self as view, is_suspect};

fn by_of(k: SeriesKind) -> By {
    match k {
        SeriesKind::Process => By::Process,
        SeriesKind::Command => By::Command,
        SeriesKind::User => By::User,
        SeriesKind::File => By::File,
    }
}

/// Runs `pmaps trend` and returns the exit status.
pub fn run(cli: &Cli, matches: &ArgMatches, args: &TrendArgs) -> u8 {
    let (db, out, format) = match super::history::start(cli, matches, "trend") {
        Ok(x) => x,
        Err(code) => return code,
    };
    let by: Vec<By> = if args.by.is_empty() {
        By::ALL.to_vec()
    } else {
        args.by.iter().map(|k| by_of(*k)).collect()
    };
    let proc_metric = args.metric.unwrap_or(Metric::Uss);
    let file_metric = args.metric.unwrap_or(Metric::Pss);
    let loaded = Store::open_read(&db).and_then(|store| {
        let snapshots =
            store.snapshots(time_of(Some(&args.since)), time_of(args.until.as_ref()))?;
        let series = series::load(&store, &snapshots, &by, proc_metric, file_metric)?;
        Ok((snapshots, series))
    });
    let (snapshots, all_series) = match loaded {
        Ok(x) => x,
        Err(e) => {
            eprint_line(&format!("error: {e:#}"));
            return exit::FATAL;
        }
    };
    let mut th = Thresholds::default();
    if let Some(rate) = args.min_rate {
        th.min_rate = rate as f64;
    }
    let times = view::times(&snapshots);
    let judged = view::judge(&all_series, &times, &th);
    let suspects = judged.iter().filter(|j| is_suspect(j)).count();
    let shown: Vec<_> = judged
        .iter()
        .filter(|j| args.all || is_suspect(j))
        .cloned()
        .collect();
    let metric_of = |s: &series::TrendSeries| {
        if s.key.by() == By::File {
            file_metric
        } else {
            proc_metric
        }
    };
    let metric_names = format!(
        "{} for processes, commands and users; {} for files; {} snapshots",
        proc_metric.name(),
        file_metric.name(),
        snapshots.len()
    );
    let top = args.top.map(|n| if n == 0 { usize::MAX } else { n });
    let rendered = match format {
        Format::Table => Ok(table_bytes(
            cli,
            &out,
            view::table(&shown, &metric_names, top),
        )),
        Format::Csv => {
            let series: Vec<_> = shown.iter().map(|j| j.series).collect();
            if args.wide {
                render::csv::render(&view::wide(&series, &snapshots))
            } else {
                render::csv::render(&view::long(&series, &snapshots, |s| metric_of(s).name()))
            }
        }
        Format::Json => {
            let doc = |j: &view::Judged<'_>| TrendSeriesDoc::of(j, metric_of(j.series), &snapshots);
            render::json::render(&TrendDoc {
                schema_version: crate::schema::SCHEMA_VERSION,
                meta: TrendMeta {
                    view: "trend".into(),
                    pmaps_version: env!("CARGO_PKG_VERSION").into(),
                    db: db.display().to_string(),
                    snapshots: snapshots.len(),
                    first_utc: snapshots.first().map(|s| utc_timestamp(s.time)),
                    last_utc: snapshots.last().map(|s| utc_timestamp(s.time)),
                    metric_processes: proc_metric.name().into(),
                    metric_files: file_metric.name().into(),
                    thresholds: ThresholdsDoc::of(&th),
                },
                suspects: judged.iter().filter(|j| is_suspect(j)).map(doc).collect(),
                series: if args.all {
                    judged.iter().map(doc).collect()
                } else {
                    Vec::new()
                },
            })
        }
        Format::Svg | Format::Prometheus => super::not_tabular("trend"),
    };
    if let Some(code) = out.deliver(rendered) {
        return code;
    }
    if suspects > 0 {
        exit::CHANGED
    } else {
        exit::OK
    }
}
