//! The command line (clap derive): the benchmark's options with their defaults, and the
//! hidden modes the bench runs itself in: `child` (one workload process, `child.rs`), `floor`
//! (the raw-read floor reader, `floor.rs`) and `faulter` (the stall measurement, `stall.rs`).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::child::Role;
use crate::pids::MAX_PIDS;

/// Benchmark: pmaps against the raw-read floor and the tools users would otherwise pick.
#[derive(Parser)]
#[command(name = "bench", args_conflicts_with_subcommands = true)]
#[command(disable_help_subcommand = true, subcommand_value_name = "MODE")]
pub struct Cli {
    /// Workload size(s); a list repeats the benchmark per size and reports ns per mapping
    /// for each
    #[arg(long, value_name = "N[,N...]", value_delimiter = ',', default_value = "1000",
          value_parser = procs)]
    pub procs: Vec<usize>,

    /// Alternating runs per size; medians are reported
    #[arg(long, value_name = "R", default_value_t = 5, value_parser = positive)]
    pub runs: usize,

    /// Also write the table rows as CSV
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,

    /// Also measure pmaps' peak RSS with and without one process that has just under
    /// vm.max_map_count mappings
    #[arg(long)]
    pub many_maps: bool,

    /// After the runs, record K snapshots in a row into a fresh history database and
    /// extrapolate its growth to a week of 10-minute snapshots (0: skip)
    #[arg(long, value_name = "K", default_value_t = 20)]
    pub record_snapshots: usize,

    /// The "all threads" count [default: available CPUs, what pmaps uses]
    #[arg(long, value_name = "T", value_parser = positive)]
    pub threads: Option<usize>,

    /// Size of the file every child maps shared and touches
    #[arg(long, value_name = "M", default_value_t = 64, value_parser = positive)]
    pub big_mib: usize,

    /// pmaps binary to time [default: build target/release/pmaps]
    #[arg(long, value_name = "PATH")]
    pub pmaps: Option<PathBuf>,

    /// Time only the floor and the peers
    #[arg(long)]
    pub skip_pmaps: bool,

    /// Do not time smem, ps_mem and pmap
    #[arg(long)]
    pub no_peers: bool,

    /// Before each run, wait up to SECS for the CPUs to be idle, and measure a contender again
    /// (up to 3 times) when other processes used 20 % of the CPUs more than the background
    /// (measured with the workload idle) during its run; 0 disables both
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub max_wait: u64,

    /// The stall measurement: a process of M MiB faulting pages while pmaps scans (full
    /// report and -k deleted); 0 skips it
    #[arg(long, value_name = "M", default_value_t = 2048)]
    pub stall_mib: usize,

    /// Start the workload (first --procs size), then wait for Ctrl-C; for profiling by hand
    #[arg(long)]
    pub hold: bool,

    #[command(subcommand)]
    pub mode: Option<Mode>,
}

/// The bench executable run by the bench itself.
#[derive(Subcommand)]
pub enum Mode {
    /// One workload process: builds its mappings, says `ready`, sleeps until killed.
    #[command(hide = true)]
    Child {
        role: Role,
        idx: usize,
        dir: PathBuf,
        /// The bench's PID: the child gives up if its parent is already another process.
        parent: i32,
    },
    /// A process of `mib` MiB that times its page faults (the stall measurement).
    #[command(hide = true)]
    Faulter { mib: usize },
    /// Reads every process's smaps or smaps_rollup to EOF with no parsing.
    #[command(hide = true)]
    Floor {
        file: FloorFile,
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Also count mappings (the untimed census; the timed runs do not count).
        #[arg(long)]
        count: bool,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FloorFile {
    Smaps,
    Rollup,
    Maps,
    /// Every `maps`, then `smaps` of the processes that map a deleted file.
    MapsDeleted,
    /// Every `maps`, then `smaps` of the processes that map the rare library.
    MapsRare,
}

impl FloorFile {
    /// The file under `/proc/PID/` (the first one read, for the two-step floors).
    pub fn name(self) -> &'static str {
        match self {
            FloorFile::Smaps => "smaps",
            FloorFile::Rollup => "smaps_rollup",
            FloorFile::Maps | FloorFile::MapsDeleted | FloorFile::MapsRare => "maps",
        }
    }
}

fn positive(s: &str) -> Result<usize, String> {
    s.trim()
        .parse::<usize>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("expected a positive number, got {s:?}"))
}

/// One `--procs` size: positive, and with room in the PID registry for the contenders.
fn procs(s: &str) -> Result<usize, String> {
    let n = positive(s)?;
    if n + 16 > MAX_PIDS {
        return Err(format!("at most {} processes", MAX_PIDS - 16));
    }
    Ok(n)
}
