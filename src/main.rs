//! The `pmaps` binary: all the work is in the library; see `pmaps::cli`.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(pmaps::cli::main())
}
