//! Benchmark: pmaps against the raw-read floor and the tools users would otherwise pick.
//!
//! ```text
//! cargo run --release --example bench -- [--procs N[,N...]] [--runs R] [--csv FILE] [--many-maps]
//! ```
//!
//! The bench starts its own workload: N idle processes (copies of this executable in a hidden
//! `child` mode) with varied, realistic maps: shared libraries of its own (8 files mapped the
//! way ld.so maps a library) plus system ones (dlopen), a large file mapped shared by all and
//! touched, a private copy-on-write file map, touched anonymous memory, thread-stack-like
//! regions with guard pages, a SysV shared segment (some), a memfd (some), a mapped-then-deleted
//! file, and 1 in 100 processes with thousands of small mappings. It waits until every child
//! has written `ready`, and kills exactly the PIDs it started (SIGKILL + reap) on a normal end,
//! on an error, on a panic (Drop guard) and on SIGINT/SIGTERM/SIGHUP (the handler kills the
//! registered PIDs). Children also have `PR_SET_PDEATHSIG = SIGKILL`.
//!
//! Then it times, in alternating runs (every contender once per run, rotating order):
//! - pmaps per-file report (smaps) and per-process report (smaps_rollup), 1 and all threads;
//! - `pmaps capture -o FILE` at 1 and all threads, against the per-file report of the same
//!   run; the archive's size is read back (untimed) against the raw smaps text it holds;
//! - the floor: reading every process's smaps / smaps_rollup to EOF with no parsing (a hidden
//!   `floor` mode of this executable), serially and with as many threads as pmaps uses;
//! - peers when installed: `smem -m`, `ps_mem`, `pmap -x` for every PID in batches of 255.
//!
//! Every contender is a child process measured the same way: fork+exec, wall clock until it
//! exits, then `/proc/PID/io` (rchar, read while it is a zombie) and `wait4` rusage (user,
//! system, peak RSS). The table shows the median wall time and the median of each other column
//! taken separately. The floor readers do not count mappings (that would be parsing); an
//! untimed census before each run counts the mappings and bytes every contender scans, for the
//! mappings and ns/mapping columns. The machine is usually shared: before each run the bench
//! waits (up to `--max-wait`) for idle CPUs, measures a contender again when other processes
//! used 20 % of the CPUs more than the background during its run, and shows that share as
//! `others %`.
//! `--hold` only starts the workload and waits for Ctrl-C, for profiling by hand.
//!
//! `--many-maps` adds pmaps' peak RSS with and without one extra process that has just under
//! `vm.max_map_count` mappings. A list of sizes (`--procs 200,1000`) repeats everything per N
//! and reports how ns per mapping changes (cost linear in mappings).
//!
//! Peers: `apt-get install smem`, `pip install ps_mem`; `pmap` comes with procps.
//!
//! This file owns the flow from the command line to the output; the modules: `cli` (options),
//! `pids` (what was started, signals), `workload` and `child` (the workload, from either side),
//! `floor` (reading /proc without pmaps), `measure` (timing one child, machine load),
//! `archive` (what a capture holds),
//! `contenders` (what is timed), `run` (one size), `report` and `targets` (the output). The
//! mapping code is `examples/shared/maps.rs`, shared with `examples/maphelper.rs`.

mod archive;
mod child;
mod cli;
mod contenders;
mod floor;
mod history;
#[path = "../shared/maps.rs"]
mod maps;
mod measure;
mod pids;
mod report;
mod run;
mod stall;
mod targets;
mod workload;

use std::io::{self, Write};

use anyhow::{Context, Result};
use clap::Parser;

use crate::cli::{Cli, Mode};
use crate::contenders::{Env, Peers};
use crate::pids::Interrupted;

fn main() {
    let cli = Cli::parse();
    let code = match cli.mode {
        Some(Mode::Child {
            role,
            idx,
            ref dir,
            parent,
        }) => child::main(role, idx, dir, parent),
        Some(Mode::Faulter { mib }) => stall::faulter(mib),
        Some(Mode::Floor {
            file,
            threads,
            count,
        }) => match floor::main(file, threads, count) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("bench floor: {e:#}");
                1
            }
        },
        None => match bench(&cli) {
            Ok(()) => 0,
            Err(_) if pids::interrupted() => {
                eprintln!("bench: interrupted; the processes it started are killed");
                130
            }
            Err(e) if e.is::<Interrupted>() => 130,
            Err(e) => {
                eprintln!("bench: {e:#}");
                1
            }
        },
    };
    std::process::exit(code);
}

fn bench(opts: &Cli) -> Result<()> {
    pids::install_signal_handlers()?;
    let exe = std::env::current_exe().context("locating the bench executable")?;
    let threads = opts.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let pmaps = if opts.skip_pmaps || opts.hold {
        None
    } else {
        Some(contenders::locate_pmaps(opts.pmaps.as_deref())?)
    };
    let peers = Peers::detect(opts.no_peers);
    let dir = workload::create_files(opts.big_mib)?;
    let env = Env {
        exe,
        dir: dir.path().to_path_buf(),
        threads,
        pmaps,
        peers,
    };
    print_flush(&report::header(opts, &env));

    let mut results = Vec::new();
    for &n in &opts.procs {
        pids::check_interrupted()?;
        let r = run::run_size(n, opts, &env)?;
        print_flush(&report::size_block(&r, opts, threads));
        results.push(r);
        if let Some(csv) = &opts.csv {
            let all: Vec<&report::Row> = results.iter().flat_map(|r| &r.rows).collect();
            report::write_csv(csv, &all)?;
        }
    }
    if results.len() > 1 {
        print_flush(&targets::linearity(&results, threads));
    }
    if let Some(csv) = &opts.csv {
        eprintln!("bench: wrote {}", csv.display());
    }
    Ok(())
}

fn print_flush(s: &str) {
    print!("{s}");
    let _ = io::stdout().flush();
}
