//! Shared support for the integration tests: the binaries under test, live helper processes
//! (`examples/maphelper.rs`), fake `/proc` trees for `pmaps --proc-root`, the one independent
//! reading of the kernel's smaps/maps text, capture archives (read back, taken apart and
//! packed again, or laid out as smem's `smemcap` writes them), procps `pmap` as a peer, a
//! pseudo-terminal of a set size, and expected-output helpers.
//!
//! Test modules `use crate::support::*;` and get every item below but [`internals`], the
//! library paths a few tests use, which they name explicitly.

pub mod archive;
pub mod bounded;
pub mod expected;
pub mod fake_maps;
pub mod fake_proc;
pub mod files;
pub mod helpers;
pub mod internals;
pub mod json;
pub mod oracle;
pub mod peer;
pub mod pty;
pub mod run;

pub use archive::*;
pub use bounded::*;
pub use expected::*;
pub use fake_maps::*;
pub use fake_proc::*;
pub use files::*;
pub use helpers::*;
pub use json::*;
pub use oracle::*;
pub use peer::*;
pub use pty::*;
pub use run::*;
