//! Where a report's data came from when it was not read live: a capture archive, of which
//! host, when, and in which layout (`pmaps capture`, or smem's `smemcap`).

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::Source;

/// The layout of a capture archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureFormat {
    /// Written by `pmaps capture`: a manifest, every PID's outcome, user names.
    Pmaps,
    /// Written by smem's `smemcap`: `PID/smaps`, `PID/cmdline`, `PID/stat`, `meminfo`,
    /// `version`, nothing else (no host, no time, no status, no user names).
    Smemcap,
}

/// Facts about the capture a report was made from (unknown ones are `None`).
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureInfo {
    /// The archive, as it was given to `--from`.
    pub file: String,
    pub format: CaptureFormat,
    /// The pmaps that wrote it.
    pub pmaps_version: Option<String>,
    /// The captured host's name and kernel release.
    pub host: Option<String>,
    pub kernel: Option<String>,
    /// When the capture began and ended.
    pub start: Option<SystemTime>,
    pub end: Option<SystemTime>,
    /// The proc root it read (`/proc`).
    pub proc_root: Option<String>,
    /// The map file it kept per process.
    pub map_file: Source,
}
