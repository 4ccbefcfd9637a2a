//! The command line of `pmaps generate` (hidden from `--help`): what it writes.

/// What `pmaps generate` writes.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum GenerateArg {
    /// The man page in roff: pmaps(1), or with a COMMAND, pmaps-COMMAND(1).
    Man {
        /// A command: show, capture, summary, diff, watch, record, history or trend.
        #[arg(value_name = "COMMAND")]
        command: Option<String>,
    },
    /// The completion script of a shell.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}
