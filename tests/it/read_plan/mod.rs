//! The read plan (`src/plan.rs`): with a mapping filter, `maps` first and `smaps` only for
//! processes with a mapping that may match; the mapping count from `maps` beside the rollup;
//! `--explain`; and `pmaps show` reading its targets in parallel.
//!
//! What the plan must never change is the answer: the filtered report equals the same report
//! read in full (`--no-prefilter`), and equals the full report's matching rows, on fake trees
//! (`fake.rs`), byte for byte with every filter, grouping and source, kinds only `VmFlags`
//! tell included (`filters.rs`), and on live helpers (`live.rs`). What it changes is what is
//! read: a process ruled out by its `maps` never has its `smaps` opened (a malformed one is
//! then no error), and `--explain` says so, with the counts.

mod fake;
mod filters;
mod live;
mod show;
