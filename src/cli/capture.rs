//! The command line of `pmaps capture` (clap types only; `--from`, which reads a capture,
//! is an option of the main command line).

use clap::ValueEnum;

pub(super) const CAPTURE_EXIT_CODES: &str = "\
Exit status:
  0  every process was captured (vanished processes, zombies and kernel threads are expected)
  1  fatal error (proc root unreadable or not a proc, archive not written)
  2  usage error
  3  partial: the archive was written, but some process was denied, incomplete or in error
     (each is recorded in the archive, and a report from it is partial too)";

#[derive(Debug, clap::Args)]
pub struct CaptureArgs {
    /// Which map file to keep per process: smaps (every report and `show` can be made from
    /// the archive), smaps_rollup (per-process totals only) or maps (virtual sizes only).
    #[arg(long, value_enum, default_value = "smaps")]
    pub source: CaptureSourceArg,

    /// Worker threads (default: one per CPU).
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,

    /// zstd compression level (negative: faster, larger).
    #[arg(long, value_name = "N", default_value = "1", allow_negative_numbers = true, value_parser = clap::value_parser!(i32).range(-7..=19))]
    pub level: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CaptureSourceArg {
    /// /proc/PID/smaps: one record per mapping.
    Smaps,
    /// /proc/PID/smaps_rollup: per-process totals only.
    #[value(name = "smaps_rollup", alias = "rollup")]
    Rollup,
    /// /proc/PID/maps: virtual sizes only.
    Maps,
}
