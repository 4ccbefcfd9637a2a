//! The `pmaps` binary: all the work is in the library; see `pmaps::app`.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(pmaps::app::main())
}
