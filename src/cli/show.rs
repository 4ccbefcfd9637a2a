//! The command line of `pmaps show` (clap types only).

pub(super) const SHOW_EXIT_CODES: &str = "\
Exit status:
  0  every target matched and every matching process was shown
  1  fatal error (proc root unreadable or not a proc, output not written)
  2  usage error
  3  partial: a target matched nothing, or a process was denied, changed while read or failed
     (each is named on standard error, with the reason)
  4  no process matched any target";

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// Fold each run of consecutive mappings of the same file into one row (a library's 4-5
    /// segments become one): address first start to last end, differing permission letters
    /// shown as `*`, counters summed. Anonymous mappings are never folded.
    #[arg(long)]
    pub merge: bool,

    /// Add a column for every smaps field the running kernel prints, in its order (like
    /// `pmap -XX`).
    #[arg(long)]
    pub all_fields: bool,

    /// PIDs and names.
    #[arg(value_name = "PID|NAME", required = true)]
    pub targets: Vec<std::ffi::OsString>,
}
