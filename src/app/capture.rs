//! `pmaps capture`: checks the command line, streams the archive to `--output` (atomically,
//! mode 0600: it holds other users' memory maps and command lines, which only root could
//! read) or to standard output (never a terminal), and says on stderr what was captured.

use std::io::IsTerminal;

use clap::ArgMatches;
use clap::parser::ValueSource;

use crate::capture::{CaptureOptions, CaptureSummary, capture};
use crate::cli::{self, CaptureArgs, CaptureSourceArg, Cli};
use crate::exit;
use crate::model::Source;
use crate::output::{self, eprint_line};
use crate::source::{self, ProcRoot};
use crate::text::plural;
use crate::view::coverage::{outcome_counts, partial_reasons};

/// The archive's permissions.
const ARCHIVE_MODE: u32 = 0o600;

/// The options of a capture, or a usage error.
pub fn options_of(
    cli: &Cli,
    matches: &ArgMatches,
    args: &CaptureArgs,
) -> Result<CaptureOptions, String> {
    // The cgroups' counters are captured from the same cgroupfs a report reads.
    let mut wrong: Vec<&str> = cli::report_options_given(matches)
        .into_iter()
        .filter(|&f| f != "--cgroup-root")
        .collect();
    let given = |m: &ArgMatches, id: &str| m.value_source(id) == Some(ValueSource::CommandLine);
    let sub = matches.subcommand_matches("capture");
    for (id, flag) in [("format", "--format"), ("byte_units", "--units")] {
        if given(matches, id) || sub.is_some_and(|m| given(m, id)) {
            wrong.push(flag);
        }
    }
    if !wrong.is_empty() {
        return Err(format!(
            "{} applies to reports, not to `pmaps capture` (which takes --source, --threads, \
             --level, --output, --proc-root and --cgroup-root)",
            wrong.join(", ")
        ));
    }
    if cli.from.is_some() {
        return Err("`pmaps capture` reads a proc root (--proc-root), not a capture".into());
    }
    if cli.output.is_none() && std::io::stdout().is_terminal() {
        return Err(
            "`pmaps capture` writes a binary archive: give -o FILE, or redirect standard output"
                .into(),
        );
    }
    Ok(CaptureOptions {
        file: match args.source {
            CaptureSourceArg::Smaps => Source::Smaps,
            CaptureSourceArg::Rollup => Source::Rollup,
            CaptureSourceArg::Maps => Source::Maps,
        },
        threads: args.threads.map(usize::from),
        level: args.level,
    })
}

/// What was captured, in one line.
fn summary_line(s: &CaptureSummary, into: &str) -> String {
    let c = &s.coverage;
    let mb = |b: u64| format!("{:.1} MB", b as f64 / 1e6);
    format!(
        "captured {}: {}; {} into {} ({} of files, {}); {:.2} s",
        plural(c.processes(), "process", "processes"),
        outcome_counts(c),
        plural(c.mappings, "mapping", "mappings"),
        into,
        mb(s.raw_bytes),
        mb(s.archive_bytes),
        s.seconds
    )
}

/// Runs `pmaps capture` and returns the exit status.
pub fn run(cli: &Cli, matches: &ArgMatches, args: &CaptureArgs) -> u8 {
    let opts = match options_of(cli, matches, args) {
        Ok(o) => o,
        Err(msg) => {
            eprint_line(&msg);
            return exit::USAGE;
        }
    };
    // Before the capture: an unwritable destination fails now.
    let out = match output::Output::prepare(cli.output.as_deref()) {
        Ok(out) => out,
        Err(code) => return code,
    };
    let src = ProcRoot::new(&cli.proc_root).with_cgroup_root(cli.cgroup_root.as_deref());
    let mut summary = None;
    let delivered = out.deliver_with(ARCHIVE_MODE, &mut |w| {
        summary = Some(capture(&src, &opts, w)?);
        Ok(())
    });
    if let Some(code) = delivered {
        return code;
    }
    let Some(summary) = summary else {
        return exit::FATAL;
    };
    let into = cli
        .output
        .as_ref()
        .map_or("standard output".to_string(), |p| p.display().to_string());
    let partial = partial_reasons(&summary.coverage, source::privilege());
    if partial.is_some() || std::io::stderr().is_terminal() {
        eprint_line(&summary_line(&summary, &into));
    }
    match partial {
        Some(why) => {
            eprint_line(&format!(
                "partial capture: {why} (recorded in the archive; a report from it is partial \
                 too)"
            ));
            exit::PARTIAL
        }
        None => exit::OK,
    }
}
