//! The terminal and the habits of pmap users (issue 10): PIDs that are no process or are
//! threads, sort columns the source cannot fill, advice that names what is missing, cron
//! runs that accept a partial report, bare PIDs and `-g process,file`, a unit per cell, and
//! tables that fit the terminal they are shown on (run in a pseudo-terminal of a set size).
//!
//! The fake trees here are small: processes with anonymous mappings of known sizes, built
//! by [`anon_process`], so every figure is known in advance.

mod ancestors;
mod cron;
mod escaping;
mod messages;
mod pids;
mod pmap_habits;
mod sorting;
mod units;
mod width;

use crate::support::*;

/// A fake process `pid` named `comm` with one anonymous mapping per entry of `anon_kb`
/// (each fully resident): its `smaps`, `maps` and `smaps_rollup` agree. Not yet written.
pub fn anon_process<'a>(
    fake: &'a FakeProc,
    pid: u32,
    comm: &str,
    anon_kb: &[u64],
) -> FakeProcess<'a> {
    let maps: Vec<(&[u8], u64)> = anon_kb.iter().map(|&kb| (&b""[..], kb)).collect();
    mapping_process(fake, pid, comm, &maps)
}

/// A fake process `pid` named `comm` with one mapping per `(path, kB)`: an empty path is
/// anonymous memory (private dirty), any other a file (clean, private to it, its inode
/// numbered by its place in the list). Every page is resident. Not yet written.
pub fn mapping_process<'a>(
    fake: &'a FakeProc,
    pid: u32,
    comm: &str,
    maps: &[(&[u8], u64)],
) -> FakeProcess<'a> {
    let mut smaps = Vec::new();
    let mut lines = Vec::new();
    let mut start = 0x10_0000u64;
    for (i, &(path, kb)) in maps.iter().enumerate() {
        let (begin, end) = (start * 1024, (start + kb) * 1024);
        let (perms, dev, inode, counts) = if path.is_empty() {
            ("rw-p", "00:00", 0, SmapsKb::private_dirty(kb, kb))
        } else {
            ("r--p", "fe:00", 1000 + i as u64, SmapsKb::private_clean(kb))
        };
        let header = map_header(begin, end, perms, 0, dev, inode, path);
        smaps.extend(full_smaps_record(&header, counts));
        lines.extend(header);
        start += kb + 4;
    }
    let total: u64 = maps.iter().map(|(_, kb)| kb).sum();
    let anon: u64 = maps
        .iter()
        .filter(|(p, _)| p.is_empty())
        .map(|(_, kb)| kb)
        .sum();
    let rollup = smaps_record(
        map_header(0x1000, 0x7fff_f000, "---p", 0, "00:00", 0, b"[rollup]"),
        &[
            ("Rss", total),
            ("Pss", total),
            ("Pss_Dirty", anon),
            ("Shared_Clean", 0),
            ("Shared_Dirty", 0),
            ("Private_Clean", total - anon),
            ("Private_Dirty", anon),
            ("Swap", 0),
            ("SwapPss", 0),
        ],
    );
    fake.process(pid)
        .comm(comm.as_bytes())
        .cmdline(format!("{comm}\0--flag\0").as_bytes())
        .vsize(total * 1024)
        .smaps(&smaps)
        .maps(&lines)
        .smaps_rollup(&rollup)
}

/// `pmaps --proc-root FAKE ARGS`, run to its end.
fn run_on(fake: &FakeProc, args: &[&str]) -> std::process::Output {
    let mut cmd = pmaps_on(fake.root());
    cmd.args(args);
    output(cmd)
}

/// The lines of a run's stderr.
fn err_lines(out: &std::process::Output) -> Vec<String> {
    stderr(out).lines().map(str::to_string).collect()
}
