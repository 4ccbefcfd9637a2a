//! The terminal and the habits of pmap users (issue 10): PIDs that are no process or are
//! threads, sort columns the source cannot fill, advice that names what is missing, cron
//! runs that accept a partial report, bare PIDs and `-g process,file`, a unit per cell, and
//! tables that fit the terminal they are shown on (run in a pseudo-terminal of a set size).
//!
//! The fake trees here are small: processes with anonymous mappings of known sizes, built
//! by [`anon_process`], so every figure is known in advance.

mod ancestors;
mod cron;
mod messages;
mod pids;
mod sorting;

use crate::support::*;

/// `kb` kB, all resident and private dirty, as one mapping of the kernel's layout.
fn anon_record(start_kb: u64, kb: u64, path: &[u8]) -> Vec<u8> {
    let start = start_kb * 1024;
    let header = map_header(start, start + kb * 1024, "rw-p", 0, "00:00", 0, path);
    full_smaps_record(header, SmapsKb::private_dirty(kb, kb))
}

/// A fake process `pid` named `comm` with one anonymous mapping per entry of `anon_kb`
/// (each fully resident): its `smaps`, `maps` and `smaps_rollup` agree. Not yet written.
pub fn anon_process<'a>(
    fake: &'a FakeProc,
    pid: u32,
    comm: &str,
    anon_kb: &[u64],
) -> FakeProcess<'a> {
    let mut smaps = Vec::new();
    let mut maps = Vec::new();
    let mut start = 0x10_0000;
    for &kb in anon_kb {
        smaps.extend(anon_record(start, kb, b""));
        maps.extend(map_header(
            start * 1024,
            (start + kb) * 1024,
            "rw-p",
            0,
            "00:00",
            0,
            b"",
        ));
        start += kb + 4;
    }
    let total: u64 = anon_kb.iter().sum();
    let rollup = smaps_record(
        map_header(0x1000, 0x7fff_f000, "---p", 0, "00:00", 0, b"[rollup]"),
        &[
            ("Rss", total),
            ("Pss", total),
            ("Pss_Dirty", total),
            ("Shared_Clean", 0),
            ("Shared_Dirty", 0),
            ("Private_Clean", 0),
            ("Private_Dirty", total),
            ("Swap", 0),
            ("SwapPss", 0),
        ],
    );
    fake.process(pid)
        .comm(comm.as_bytes())
        .cmdline(format!("{comm}\0--flag\0").as_bytes())
        .vsize(total * 1024)
        .smaps(&smaps)
        .maps(&maps)
        .smaps_rollup(&rollup)
}

/// The lines of a run's stderr.
fn err_lines(out: &std::process::Output) -> Vec<String> {
    stderr(out).lines().map(str::to_string).collect()
}
