//! The terminal a table is shown on: its size (`COLUMNS`/`LINES` or the terminal's own), the
//! lines left for the table when messages follow it on the same screen, and the unit rule of
//! `--units` (a unit per cell by default; `show` KiB, the summary a unit beside each value).

use std::io::IsTerminal;

use crate::cli::UnitsArg;
use crate::render;
use crate::view::{ByteUnit, Terminal, UnitRule};

/// The table's unit rule of `--units`, or `default` without it.
pub fn units_of(arg: Option<UnitsArg>, default: UnitRule) -> UnitRule {
    match arg {
        None => default,
        Some(UnitsArg::Auto) => UnitRule::PerCell,
        Some(UnitsArg::Kib) => UnitRule::Fixed(ByteUnit::Kib),
        Some(UnitsArg::Mib) => UnitRule::Fixed(ByteUnit::Mib),
        Some(UnitsArg::Gib) => UnitRule::Fixed(ByteUnit::Gib),
    }
}

/// The narrowest terminal a table is fitted to.
const MIN_COLS: usize = 20;
/// The most `COLUMNS` and `LINES` are taken to say (a terminal's own size fits in 16 bits).
const MAX_SIZE: usize = u16::MAX as usize;

/// The terminal standard output is, when it is one: its width from `COLUMNS` (as `ls` and
/// `ps` honour it) or else the terminal's, its height from `LINES` or else the terminal's
/// (24 when neither says). `None` when stdout is not a terminal or its width is unknown: the
/// table is then not fitted.
pub fn terminal_size() -> Option<Terminal> {
    let stdout = std::io::stdout();
    if !stdout.is_terminal() {
        return None;
    }
    let ws = rustix::termios::tcgetwinsize(&stdout).ok();
    let env = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .map(|n| n.min(MAX_SIZE))
    };
    let size = |n: Option<u16>| n.map(usize::from).filter(|&n| n > 0);
    let cols = env("COLUMNS").or_else(|| size(ws.map(|w| w.ws_col)))?;
    let rows = env("LINES")
        .or_else(|| size(ws.map(|w| w.ws_row)))
        .unwrap_or(24);
    Some(Terminal {
        rows,
        cols: cols.max(MIN_COLS),
    })
}

/// The terminal left for the table when `said` follows it on the same screen (stderr a
/// terminal too): the lines the messages take are not the table's.
pub fn below_table(mut term: Terminal, said: &[String]) -> Terminal {
    if std::io::stderr().is_terminal() {
        let lines: usize = said
            .iter()
            .map(|l| render::table::screen_lines(&format!("pmaps: {l}"), term.cols))
            .sum();
        term.rows = term.rows.saturating_sub(lines);
    }
    term
}
