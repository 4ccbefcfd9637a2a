//! Issue 9, "Trust": what outside testers broke, each with the regression test that fails
//! without its fix (the output points 1-6 are `output_trust`'s).
//!
//! - `accounting`: a process whose main thread exited, processes sharing one address space.
//! - `kinds`: hugetlb memory is its own kind, never a deleted file.
//! - `proc_root`: a live process without `smaps` is an error; a root that is not a proc is
//!   fatal.
//! - `limits`: hostile proc roots and arguments cost bounded time and memory (an endless
//!   smaps line, a huge name in the table, a regex with thousands of groups).
//! - `all_fields`: `show --all-fields` keys are capped and never take pmaps' own columns.
//! - `threads`: no thread to spare is a report from one thread, never a panic.

mod accounting;
mod all_fields;
mod kinds;
mod limits;
mod proc_root;
mod threads;
