//! `pmaps generate man [COMMAND]` and `pmaps generate completions SHELL`: the man pages
//! (clap_mangen) and completion scripts (clap_complete), made from the same command
//! definition as `--help`, so they cannot drift from it. Hidden from the main help.

use clap::CommandFactory;

use crate::cli::{Cli, GenerateArg};
use crate::exit;
use crate::output::{self, eprint_line};

/// The command definition as the man pages show it: built, so that each subcommand is named
/// `pmaps-show` and so on, without the implicit `help` subcommand.
fn command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// The visible subcommands' names.
pub fn subcommands() -> Vec<String> {
    command()
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_string())
        .collect()
}

/// The roff of pmaps(1), or of pmaps-COMMAND(1).
pub fn man_page(sub: Option<&str>) -> Result<Vec<u8>, String> {
    let cmd = command();
    let page = match sub {
        None => cmd,
        Some(name) => cmd
            .get_subcommands()
            .find(|s| s.get_name() == name && !s.is_hide_set())
            .cloned()
            .ok_or_else(|| format!("no command {name:?}; one of: {}", subcommands().join(", ")))?,
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut out)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// The completion script of `shell`.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "pmaps", &mut out);
    out
}

/// Runs `pmaps generate` and returns the exit status.
pub fn run(cli: &Cli, what: &GenerateArg) -> u8 {
    let bytes = match what {
        GenerateArg::Man { command } => match man_page(command.as_deref()) {
            Ok(b) => b,
            Err(msg) => {
                eprint_line(&msg);
                return exit::USAGE;
            }
        },
        GenerateArg::Completions { shell } => completions(*shell),
    };
    output::deliver(Ok(bytes), cli.output.as_deref()).unwrap_or(exit::OK)
}
