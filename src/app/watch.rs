//! `pmaps watch [PID|NAME…]`: resolve the targets, sample every `--interval` until the count,
//! a signal or the last target's exit, write each sample as it comes (a live table on a
//! terminal, JSON Lines or CSV rows otherwise), then the suspects; exit 5 when there are
//! suspects.
//!
//! Standard output gets each record as soon as it is made. With `--output FILE`, the records
//! are spooled to an unnamed temporary file (memory stays bounded) and the destination is
//! written once at the end, atomically, like a report.

use std::fs::File;
use std::io::{IsTerminal, Read, Seek, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::ArgMatches;

use super::terminal::{terminal_size, units_of};
use crate::analyze::trend::{Thresholds, Verdict};
use crate::cli::{self, Cli, WatchArgs};
use crate::exit;
use crate::output::{self, Output, eprint_line, is_broken_pipe};
use crate::render::{self, Format};
use crate::schema::SCHEMA_VERSION;
use crate::schema::trend::ThresholdsDoc;
use crate::schema::watch::{
    EndedDoc, RecordDoc, SampleDoc, SeriesDoc, StartDoc, SummaryDoc, SuspectDoc, ValueDoc,
};
use crate::show::Target;
use crate::source::{self, ProcRoot, ProcSource};
use crate::text::escape::display;
use crate::text::utc_timestamp;
use crate::view::UnitRule;
use crate::view::coverage::partial_reasons;
use crate::view::watch::{live_sheet, sample_rows, span_line, summary_rows, summary_sheet};
use crate::watch::{EndReason, Ended, Metrics, Sample, Sampler, SeriesId, Start, Tracker};

/// Rows of the growers' table when not fitted to a terminal.
const DEFAULT_TOP: usize = 20;
/// How often a wait between samples looks for a stop.
const TICK: Duration = Duration::from_millis(50);

/// Why a watch ended, as the summary says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoppedBy {
    Count,
    Signal,
    TargetsGone,
    /// Standard output was closed: nobody is listening.
    Closed,
}

impl StoppedBy {
    fn as_str(self) -> &'static str {
        match self {
            StoppedBy::Count => "count",
            StoppedBy::Signal => "signal",
            StoppedBy::TargetsGone => "targets_gone",
            StoppedBy::Closed => "closed_output",
        }
    }
}

/// Where the records go: standard output as they come, or a spool for `--output`.
struct Sink {
    spool: Option<(File, Output)>,
}

impl Sink {
    fn new(out: Output) -> Result<Sink, String> {
        if out.is_stdout() {
            return Ok(Sink { spool: None });
        }
        let spool = tempfile::tempfile().map_err(|e| format!("cannot spool the records: {e}"))?;
        Ok(Sink {
            spool: Some((spool, out)),
        })
    }

    /// Writes one record. `Ok(false)`: standard output was closed.
    fn write(&mut self, bytes: &[u8]) -> Result<bool, String> {
        match &mut self.spool {
            Some((f, _)) => f
                .write_all(bytes)
                .map(|()| true)
                .map_err(|e| format!("cannot spool the records: {e}")),
            None => match output::write_stdout(bytes) {
                Ok(()) => Ok(true),
                Err(e) if is_broken_pipe(&e) => Ok(false),
                Err(e) => Err(format!("error: {e:#}")),
            },
        }
    }

    /// Writes the spooled records to `--output`; the exit status when that failed.
    fn finish(self) -> Option<u8> {
        let (mut f, out) = self.spool?;
        let mut bytes = Vec::new();
        let read = f
            .rewind()
            .and_then(|()| f.read_to_end(&mut bytes))
            .map_err(anyhow::Error::from);
        out.deliver(read.map(|_| bytes))
    }
}

/// The thresholds of the command line.
fn thresholds_of(args: &WatchArgs) -> Thresholds {
    let mut th = Thresholds::default();
    if let Some(r) = args.min_rate {
        th.min_rate = r as f64;
    }
    th
}

/// Runs `pmaps watch` and returns the exit status.
pub fn run(cli: &Cli, matches: &ArgMatches, args: &WatchArgs) -> u8 {
    let report_only = cli::report_options_given(matches);
    if !report_only.is_empty() {
        eprint_line(&format!(
            "{} applies to the report, not to `pmaps watch` (which takes --interval, --count, \
             --metric, --min-rate, -n, --format, --output and --proc-root)",
            report_only.join(", ")
        ));
        return exit::USAGE;
    }
    let targets = match args
        .targets
        .iter()
        .map(Target::parse)
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(t) => t,
        Err(msg) => {
            eprint_line(&msg);
            return exit::USAGE;
        }
    };
    if cli.from.is_some() {
        eprint_line(
            "--from does not apply to `pmaps watch`, which samples live processes over time (a \
             capture is one moment: `pmaps diff` compares two)",
        );
        return exit::USAGE;
    }
    let format = match super::tabular_format(cli, "watch") {
        Ok(f) => f,
        Err(code) => return code,
    };
    let out = match Output::prepare(cli.output.as_deref()) {
        Ok(out) => out,
        Err(code) => return code,
    };
    let live = format == Format::Table && out.is_stdout() && std::io::stdout().is_terminal();
    let stop = output::stop_on_signals();
    let src = ProcRoot::new(&cli.proc_root);
    let metrics = Metrics::of(args.metric);
    let (sampler, start) = if targets.is_empty() {
        let s = Sampler::everything(&src, metrics, cli.proc_root.clone());
        (s, Start::default())
    } else {
        match Sampler::targets(&src, metrics, &targets) {
            Ok(r) => r,
            Err(e) => {
                eprint_line(&format!("error: {e:#}"));
                return exit::FATAL;
            }
        }
    };
    for line in start.unmatched.iter().chain(&start.failed) {
        eprint_line(line);
    }
    if !targets.is_empty() && sampler.target_states().is_empty() {
        return if start.failed.is_empty() {
            exit::NO_MATCH
        } else {
            exit::PARTIAL
        };
    }
    let sink = match Sink::new(out) {
        Ok(s) => s,
        Err(msg) => {
            eprint_line(&msg);
            return exit::FATAL;
        }
    };
    let mut w = Watch {
        args,
        format,
        units: units_of(cli.byte_units, UnitRule::PerCell),
        live,
        src: &src,
        sampler,
        tracker: Tracker::new(metrics, thresholds_of(args)),
        sink,
        stop,
        partial: !start.unmatched.is_empty() || !start.failed.is_empty(),
        origin: Instant::now(),
    };
    match w.run() {
        Ok(code) => code,
        Err(msg) => {
            eprint_line(&msg);
            exit::FATAL
        }
    }
}

/// One watch under way.
struct Watch<'a> {
    args: &'a WatchArgs,
    format: Format,
    /// The unit of the tables' byte columns (`--units`).
    units: UnitRule,
    /// A live table on a terminal.
    live: bool,
    src: &'a dyn ProcSource,
    sampler: Sampler<'a>,
    tracker: Tracker,
    sink: Sink,
    stop: &'static AtomicBool,
    /// Some target could not be watched, or could no longer be read.
    partial: bool,
    origin: Instant,
}

impl Watch<'_> {
    fn run(&mut self) -> Result<u8, String> {
        if self.format == Format::Json {
            let start = self.start_record();
            if !self.emit(&line(&start)?)? {
                return Ok(exit::OK);
            }
        }
        let interval = self.args.interval;
        let mut taken = 0u64;
        let stopped_by = loop {
            let sample = self
                .sampler
                .sample(self.origin)
                .map_err(|e| format!("error: {e:#}"))?;
            taken += 1;
            let ended = self.tracker.record(&sample);
            if taken == 1 {
                self.say_partial_coverage();
            }
            self.say_ended(&ended);
            if !self.emit_sample(&sample, &ended)? {
                break StoppedBy::Closed;
            }
            if self.args.count.is_some_and(|c| taken >= c) {
                break StoppedBy::Count;
            }
            if self.sampler.all_gone() {
                eprint_line("every target has ended: the watch ends");
                break StoppedBy::TargetsGone;
            }
            if !self.wait(self.origin + interval.mul_f64(taken as f64)) {
                break StoppedBy::Signal;
            }
        };
        if stopped_by == StoppedBy::Closed {
            return Ok(exit::OK);
        }
        let suspects = self.summary(stopped_by)?;
        if let Some(code) = std::mem::replace(&mut self.sink, Sink { spool: None }).finish() {
            return Ok(code);
        }
        Ok(if suspects > 0 {
            exit::CHANGED
        } else if self.partial {
            exit::PARTIAL
        } else {
            exit::OK
        })
    }

    /// Sleeps until `until`; `false` when a signal asked to stop.
    fn wait(&self, until: Instant) -> bool {
        loop {
            if self.stop.load(Ordering::SeqCst) {
                return false;
            }
            let now = Instant::now();
            if now >= until {
                return true;
            }
            std::thread::sleep((until - now).min(TICK));
        }
    }

    /// Writes one record; `false` when standard output was closed.
    fn emit(&mut self, bytes: &[u8]) -> Result<bool, String> {
        self.sink.write(bytes)
    }

    fn start_record(&self) -> RecordDoc {
        let targets = self
            .sampler
            .target_states()
            .iter()
            .map(|t| {
                let label = crate::watch::Label {
                    pid: Some(t.pid),
                    start_time: Some(t.start_time),
                    comm: t.comm.clone(),
                    command: t.command.clone(),
                    ..Default::default()
                };
                let id = SeriesId::Process {
                    pid: t.pid,
                    start_time: t.start_time,
                };
                SeriesDoc::of(&id, &label, self.tracker.metrics.process)
            })
            .collect();
        RecordDoc::Start(StartDoc {
            schema_version: SCHEMA_VERSION,
            pmaps_version: env!("CARGO_PKG_VERSION").to_string(),
            host: source::read_trimmed(self.src, "sys/kernel/hostname"),
            kernel: source::read_trimmed(self.src, "sys/kernel/osrelease"),
            proc_root: self.src.describe(),
            time_utc: utc_timestamp(std::time::SystemTime::now()),
            interval_seconds: self.args.interval.as_secs_f64(),
            count: self.args.count,
            metric_processes: self.tracker.metrics.process.name().to_string(),
            metric_files: self.tracker.metrics.file.name().to_string(),
            thresholds: ThresholdsDoc::of(&self.tracker.thresholds),
            targets,
        })
    }

    /// Once, after the first whole-machine sample: who could not be read.
    fn say_partial_coverage(&self) {
        let Some(coverage) = &self.sampler.coverage else {
            return;
        };
        if coverage.is_complete() {
            return;
        }
        if let Some(why) = partial_reasons(coverage, source::reader_privilege(self.src)) {
            eprint_line(&format!(
                "partial report: {why}; their memory is not watched"
            ));
        }
    }

    /// Says on stderr which targets ended, and why (one that can no longer be read makes
    /// the watch partial).
    fn say_ended(&mut self, ended: &[Ended]) {
        for e in ended {
            let SeriesId::Process { pid, .. } = e.id else {
                continue;
            };
            if self.sampler.target_states().is_empty() {
                continue;
            }
            let who = format!("PID {pid} ({})", display(&e.label.comm));
            let why = match &e.reason {
                EndReason::Exited => "exited".to_string(),
                EndReason::PidReused => "is now another process (its PID was reused)".into(),
                EndReason::Unmapped => "is gone".into(),
                EndReason::Unreadable(why) => {
                    self.partial = true;
                    format!("can no longer be read: {why}")
                }
            };
            eprint_line(&format!(
                "{who} {why}; its series end after {} samples",
                e.samples
            ));
        }
    }

    /// Writes one sample the way the format wants it; `false` when stdout was closed.
    fn emit_sample(&mut self, sample: &Sample, ended: &[Ended]) -> Result<bool, String> {
        let time = utc_timestamp(sample.time);
        let metrics = self.tracker.metrics;
        let bytes = match self.format {
            Format::Json => {
                let doc = RecordDoc::Sample(SampleDoc {
                    sample: sample.number,
                    time_utc: time,
                    elapsed_seconds: sample.elapsed,
                    values: sample
                        .observations
                        .iter()
                        .map(|o| ValueDoc {
                            series: SeriesDoc::of(&o.id, &o.label, metrics.for_id(&o.id)),
                            value_bytes: o.value,
                        })
                        .collect(),
                    ended: ended.iter().map(EndedDoc::of).collect(),
                });
                line(&doc)?
            }
            Format::Csv => {
                let sheet = sample_rows(sample, &time, |id| metrics.for_id(id), ended);
                render::csv::render_rows(&sheet, sample.number == 1)
                    .map_err(|e| format!("error: {e:#}"))?
            }
            Format::Table if self.live => self.live_frame(sample),
            Format::Table => return Ok(true),
            Format::Svg | Format::Prometheus => {
                return super::not_tabular("watch").map_err(|e| format!("error: {e:#}"));
            }
        };
        self.emit(&bytes)
    }

    /// The live table, redrawn in place.
    fn live_frame(&self, sample: &Sample) -> Vec<u8> {
        let term = terminal_size();
        let n = self
            .args
            .top
            .filter(|n| *n > 0)
            .unwrap_or_else(|| term.map_or(DEFAULT_TOP, |t| t.rows.saturating_sub(8).max(3)));
        let shown = self.tracker.growers(n);
        let windows = self.tracker.thresholds.windows;
        let fits: Vec<_> = shown.iter().map(|t| t.series.fit(windows)).collect();
        let title = format!(
            "pmaps watch: {}; {} series; the growers first (Ctrl-C ends and names the suspects)",
            span_line(
                sample.number,
                sample.elapsed,
                self.args.interval.as_secs_f64()
            ),
            self.tracker.live().count(),
        );
        let mut sheet = live_sheet(&shown, &fits, title, Vec::new());
        sheet.unit = self.units;
        let mut frame = b"\x1b[H\x1b[2J".to_vec();
        frame.extend_from_slice(render::table::render(&sheet, term).as_bytes());
        frame
    }

    /// Writes the summary; returns the number of suspects.
    fn summary(&mut self, stopped_by: StoppedBy) -> Result<usize, String> {
        let judged = self.tracker.judge();
        let suspects = judged
            .iter()
            .filter(|j| j.verdict == Verdict::Growing)
            .count();
        let top = self.args.top.filter(|n| *n > 0).unwrap_or(DEFAULT_TOP);
        let elapsed = self.origin.elapsed().as_secs_f64();
        let now = utc_timestamp(std::time::SystemTime::now());
        let th = self.tracker.thresholds;
        let bytes = match self.format {
            Format::Json => line(&RecordDoc::Summary(SummaryDoc {
                samples: self.tracker.samples,
                time_utc: now,
                duration_seconds: elapsed,
                stopped_by: stopped_by.as_str().to_string(),
                thresholds: ThresholdsDoc::of(&th),
                suspects: judged
                    .iter()
                    .filter(|j| j.verdict == Verdict::Growing)
                    .map(SuspectDoc::of)
                    .collect(),
                growers: judged
                    .iter()
                    .filter(|j| j.verdict != Verdict::Growing && j.fit.growth() > 0)
                    .take(top)
                    .map(SuspectDoc::of)
                    .collect(),
            }))?,
            Format::Csv => render::csv::render_rows(
                &summary_rows(&judged, &now, top),
                self.tracker.samples == 0,
            )
            .map_err(|e| format!("error: {e:#}"))?,
            Format::Table => {
                let heading = format!(
                    "pmaps watch: {}; stopped by {}",
                    span_line(
                        self.tracker.samples,
                        elapsed,
                        self.args.interval.as_secs_f64()
                    ),
                    stopped_by.as_str().replace('_', " ")
                );
                let mut sheet = summary_sheet(&judged, top, heading, &th);
                sheet.unit = self.units;
                let mut out = if self.live {
                    b"\n".to_vec()
                } else {
                    Vec::new()
                };
                out.extend_from_slice(render::table::render(&sheet, None).as_bytes());
                out
            }
            Format::Svg | Format::Prometheus => {
                return super::not_tabular("watch").map_err(|e| format!("error: {e:#}"));
            }
        };
        self.emit(&bytes)?;
        Ok(suspects)
    }
}

/// One JSON Lines record.
fn line(doc: &RecordDoc) -> Result<Vec<u8>, String> {
    let mut out = serde_json::to_vec(doc).map_err(|e| format!("error: {e}"))?;
    out.push(b'\n');
    Ok(out)
}
