//! The benchmark of one workload size: start the workload, let it settle, warm up, then
//! `--runs` alternating runs (an untimed census, a wait for idle CPUs, every contender once in
//! rotating order, measured again when other work took a large share of the CPUs), with
//! `--many-maps` the peak-RSS comparison with one more process near vm.max_map_count, and the
//! stall measurement (`stall.rs`, unless `--stall-mib 0`). It
//! returns the rows and what the report says about the run (`report.rs` prints it).

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::child::Role;
use crate::cli::Cli;
use crate::contenders::{self, Contender, Env, Kind};
use crate::floor::{self, Census};
use crate::measure::{Sample, background_busy_pct, median, wait_for_quiet};
use crate::pids::{self, check_interrupted};
use crate::report::{Row, fill_ratios, fmt_int, summarize};
use crate::stall;
use crate::workload::Workload;

/// A sample during which other processes used this many % of the CPUs more than the
/// background (measured with the workload idle) is measured again.
pub const RETRY_MARGIN_PCT: f64 = 20.0;
const MAX_RETRIES: usize = 3;

/// Everything measured for one workload size.
pub struct SizeResult {
    pub n: usize,
    pub startup: Duration,
    /// Workload processes with thousands of small mappings.
    pub many_role_procs: usize,
    /// One per run, taken before it.
    pub censuses: Vec<Census>,
    pub rows: Vec<Row>,
    /// CPU use with the workload idle, % of all CPUs.
    pub background: f64,
    pub load_before: String,
    pub load_after: String,
    /// Runs that started busy after waiting, and samples measured again.
    pub busy_runs: usize,
    pub retried: usize,
    pub many_maps: Option<ManyMaps>,
    /// `--record-snapshots`: the history database's growth.
    pub growth: Option<crate::history::Growth>,
    /// The stall block (`stall.rs`), printed as is.
    pub stall: Option<String>,
}

/// The `--many-maps` result: pmaps' peak RSS without and with the max-maps process.
pub struct ManyMaps {
    pub big_maps: f64,
    pub rss_without: f64,
    pub rss_with: f64,
}

impl ManyMaps {
    pub fn rss_delta(&self) -> f64 {
        self.rss_with - self.rss_without
    }
}

pub fn run_size(n: usize, opts: &Cli, env: &Env) -> Result<SizeResult> {
    eprintln!("bench: starting {n} workload processes");
    let t0 = Instant::now();
    let roles: Vec<(usize, Role)> = (0..n).map(|i| (i, Role::for_index(i))).collect();
    let mut wl = Workload::start(&env.exe, &env.dir, &roles)?;
    let startup = t0.elapsed();
    eprintln!("bench: workload ready in {:.1} s", startup.as_secs_f64());
    if opts.hold {
        eprintln!(
            "bench: --hold: workload of {n} processes is up (PIDs {}..); Ctrl-C (SIGINT) ends it",
            wl.pids().next().unwrap_or(0)
        );
        return Err(pids::wait_for_signal());
    }
    let contenders = env.contenders();

    // Let the start-up settle (dirty pages, deferred kernel work), then one untimed round of
    // the fast contenders to warm caches (binaries, Python modules).
    // SAFETY: sync has no memory effects.
    unsafe { libc::sync() };
    std::thread::sleep(Duration::from_secs(2));
    let background = background_busy_pct();
    let quiet_idle = (1.0 - background / 100.0 - 0.10).min(0.90);
    for c in &contenders {
        check_interrupted()?;
        if !matches!(
            c.kind,
            Kind::Smem | Kind::PmapLoop | Kind::Needrestart | Kind::LsofDel
        ) {
            contenders::run(c, env)?;
        }
    }

    let load_before = floor::read_trimmed("/proc/loadavg");
    let mine: BTreeSet<i32> = wl.pids().collect();
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); contenders.len()];
    let mut censuses = Vec::new();
    let (mut busy_runs, mut retried) = (0, 0);
    for run in 0..opts.runs {
        check_interrupted()?;
        censuses.push(floor::census(&mine, env.threads)?);
        if opts.max_wait > 0 && !wait_for_quiet(Duration::from_secs(opts.max_wait), quiet_idle)? {
            busy_runs += 1;
        }
        let start = Instant::now();
        for k in 0..contenders.len() {
            let i = (k + run) % contenders.len();
            let mut sample = contenders::run(&contenders[i], env)?;
            // Other work took a large share of the CPUs: wait, then measure again (at most
            // MAX_RETRIES times; the last sample counts).
            let mut tries = 0;
            while opts.max_wait > 0
                && sample.others_pct() > background + RETRY_MARGIN_PCT
                && tries < MAX_RETRIES
            {
                tries += 1;
                retried += 1;
                wait_for_quiet(Duration::from_secs(opts.max_wait.min(20)), quiet_idle)?;
                sample = contenders::run(&contenders[i], env)?;
            }
            samples[i].push(sample);
        }
        eprintln!(
            "bench: N={n} run {}/{} done in {:.1} s",
            run + 1,
            opts.runs,
            start.elapsed().as_secs_f64()
        );
    }
    let load_after = floor::read_trimmed("/proc/loadavg");

    let mappings = median(censuses.iter().map(|c| c.mappings as f64));
    let mut rows: Vec<Row> = contenders
        .iter()
        .zip(&samples)
        .map(|(c, s)| summarize(n, c, s, mappings, ""))
        .collect();
    let many_maps = match &env.pmaps {
        Some(p) if opts.many_maps => Some(many_maps(n, opts.runs, p, env, mappings, &mut rows)?),
        _ => None,
    };
    let growth = match &env.pmaps {
        Some(p) if opts.record_snapshots > 0 => Some(crate::history::growth(
            p,
            &env.dir,
            env.threads,
            opts.record_snapshots,
        )?),
        _ => None,
    };
    let stall = match &env.pmaps {
        Some(p) if opts.stall_mib > 0 => Some(stall::measure(env, p, opts.stall_mib, opts.runs)?),
        _ => None,
    };
    wl.stop();
    fill_ratios(&mut rows, env.threads);

    Ok(SizeResult {
        n,
        startup,
        many_role_procs: roles
            .iter()
            .filter(|(_, r)| matches!(r, Role::Many(_)))
            .count(),
        censuses,
        rows,
        background,
        load_before,
        load_after,
        busy_runs,
        retried,
        many_maps,
        growth,
        stall,
    })
}

/// `--many-maps`: pmaps' peak RSS with and without one process near vm.max_map_count,
/// alternating; adds the two rows.
fn many_maps(
    n: usize,
    runs: usize,
    pmaps: &Path,
    env: &Env,
    mappings: f64,
    rows: &mut Vec<Row>,
) -> Result<ManyMaps> {
    let contender = |kind| Contender {
        kind,
        threads: env.threads,
        program: pmaps.to_path_buf(),
    };
    let (plain, with) = (contender(Kind::ManyWithout), contender(Kind::ManyWith));
    let (mut s_without, mut s_with, mut big_maps) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs {
        check_interrupted()?;
        if run % 2 == 0 {
            s_without.push(contenders::run(&plain, env)?);
        }
        let mut big = Workload::start(&env.exe, &env.dir, &[(n, Role::Max)])?;
        if let Some(pid) = big.pids().next() {
            big_maps.push(floor::count_lines(&format!("/proc/{pid}/maps"))? as f64);
        }
        s_with.push(contenders::run(&with, env)?);
        big.stop();
        if run % 2 == 1 {
            s_without.push(contenders::run(&plain, env)?);
        }
        eprintln!("bench: N={n} many-maps run {}/{} done", run + 1, runs);
    }
    let big = median(big_maps);
    let r0 = summarize(n, &plain, &s_without, mappings, "");
    let mut r1 = summarize(
        n,
        &with,
        &s_with,
        mappings + big,
        &format!("{} maps in it", fmt_int(big)),
    );
    r1.name = format!("pmaps per-file, + {}-map process", fmt_int(big));
    let result = ManyMaps {
        big_maps: big,
        rss_without: r0.rss_mib,
        rss_with: r1.rss_mib,
    };
    rows.push(r0);
    rows.push(r1);
    Ok(result)
}
