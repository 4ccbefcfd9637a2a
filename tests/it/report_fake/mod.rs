//! Reports over a fake proc tree (`--proc-root`), compared whole: the table text, the CSV text
//! and the JSON document parsed into typed structs.
//!
//! The tree (every size in kB, as the kernel prints them; the reports show bytes):
//!
//! | pid | comm | uid | what |
//! |---|---|---|---|
//! | 100 | alpha | root | libshared (2 segments), [heap], anonymous (with 8 kB swapped), SysV shm, [stack], [vdso] |
//! | 200 | beta | nobody | libshared, SysV shm (shared with 100), memfd, a path with `,` and `"`, a deleted file, [heap], [vdso] |
//! | 300 | bash | root | libshared, a non-UTF-8 path, anonymous, [stack]; command line `-bash` |
//! | 400 | @old | root | one file, from a kernel without `SwapPss:` (unknown, not 0) |
//! | 500 | zed | root | zombie (state Z) |
//! | 2 | kthreadd | root | kernel thread (PF_KTHREAD) |
//! | 600 | | | a PID directory without `stat`: ENOENT, vanished |
//! | 700 | locked | root | `smaps` mode 000: denied when pmaps runs as nobody (see [`tree::run_denied`]) |
//! | 800 | pmaps | root | the `self` link points here: excluded |
//! | 900 | broken | root | a malformed `smaps` value: error |
//!
//! Each process also has `maps` (the same headers) and, for 100-400, an `smaps_rollup` whose
//! PSS is the unrounded sum (1 kB above the per-mapping sum for 100 and 300, as the kernel's
//! per-mapping truncation makes it) and a stat `vsize` different from the sum of `Size:`, so
//! the tests can tell which file each number came from.
//!
//! [`tree`] builds it, [`expected`] holds what the reports of it must be (each expected row
//! and table written once), and the tests are split by view and concern. [`identity`] has a
//! tree of its own: files of one path that are different objects (containers' libc).

mod coverage;
mod expected;
mod file_view;
mod grouped_views;
mod identity;
mod json;
mod layout;
mod round_trip;
mod tree;
