//! Exit statuses, as documented in the README and `--help`: written down in one place.

/// The report is complete (vanished, zombie and kernel-thread outcomes are expected).
pub const OK: u8 = 0;
/// A fatal error: the proc root could not be listed, the output could not be written.
pub const FATAL: u8 = 1;
/// Usage error (bad option or value).
pub const USAGE: u8 = 2;
/// The report is partial: some process was denied, incomplete or failed.
pub const PARTIAL: u8 = 3;
/// `pmaps show`: no process matched.
pub const NO_MATCH: u8 = 4;
/// The report: a PID given with `--pid` is no process (the same status as `show`'s "no
/// process matched": a process asked for does not exist).
pub const NO_PROCESS: u8 = 4;
