//! pmaps: where did the memory go? A system-wide report of every process's memory maps,
//! grouped by mapped file, process, user, command or mapping kind, and `pmaps show`, one
//! process's map like `pmap`.
//!
//! # The pipeline
//! Data flows one way: `cli` (clap types) → `app` (the run of each command, the only place
//! where stages meet) → `source` (the one way bytes come in: a proc root) → `read` (one
//! process, by one worker: outcomes and the truncation check) → `parse` (pure byte parsers)
//! → `scan`/`aggregate` (parallel fold into rows; `address_space` counts an address space
//! that several processes share once) → `model` (data only) → `view` (columns,
//! order and cut of the rows) → `render` (table, CSV, JSON over any view; `schema` types the
//! JSON) → `output` (stdout, atomic file, closed pipe). `text` (numbers, timestamps,
//! escaping) and `exit` (the exit statuses) are leaves every stage may use.
//!
//! `plan` chooses, from the question, which files the scan reads per process and why
//! (`--explain` prints it): the cheapest that answer.
//!
//! `capture` (`pmaps capture`) runs the same `read` stage over a recording source and
//! streams what each process's reads got into an archive; `--from` reads such an archive (or
//! smem's `smemcap` tar) back as another proc source (`source::archive`), so every command
//! that reads processes works on it unchanged.
//!
//! Over time: `analyze` (pure) matches two reports' rows by identity (`pmaps diff`) and
//! holds the trend statistic that says what grows steadily; `watch` samples processes
//! through `scan` and `read` and feeds that statistic (`pmaps watch`); `history` keeps
//! snapshots in an embedded SQLite store (`pmaps record`, `history`, `trend`, `--at`).
//!
//! # Outcomes
//! Every PID gets exactly one [`model::Outcome`]: read, vanished, zombie, kernel thread,
//! denied, incomplete or error. Their counts are part of every report; denied, incomplete
//! and error make it partial.

pub mod address_space;
pub mod aggregate;
pub mod analyze;
pub mod app;
pub mod capture;
pub mod cli;
pub mod exit;
pub mod history;
pub mod model;
pub mod output;
pub mod parse;
pub mod plan;
pub mod read;
pub mod render;
pub mod scan;
pub mod schema;
pub mod show;
pub mod source;
pub mod text;
pub mod view;
pub mod watch;
