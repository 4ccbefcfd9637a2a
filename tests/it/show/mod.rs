//! `pmaps show` (one process's map, found by PID or name), the file → process breakdown
//! (`--group-by file,process`) and the `--kind deleted` recipe, against live helpers,
//! `/proc/PID/maps`, procps `pmap`, and fake proc trees.

mod breakdown;
mod fake;
mod live;

const PAGE: u64 = 4096;
