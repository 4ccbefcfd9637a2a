//! Pure byte parsers, one file per `/proc` file format: `maps` (and each `smaps` record's
//! header), `smaps`/`smaps_rollup`, `stat`, `status`, `cmdline`, `mountinfo`, `uid_map`,
//! `meminfo`.
//!
//! Nothing here touches the file system: every parser takes bytes the proc source read. The
//! smaps parser is the hot path of a full scan (hundreds of thousands of records), so it
//! matches known keys into fixed fields, borrows from the caller's buffer and allocates
//! nothing per line.
//!
//! Paths stay raw bytes: everything after the inode field and its padding, verbatim up to the
//! newline. The kernel escapes a newline in a name as the four bytes `\012`; spaces, tabs,
//! CR and non-UTF-8 bytes come through as they are.

pub mod cgroup;
pub mod cmdline;
pub mod maps;
pub mod meminfo;
pub mod mountinfo;
pub mod smaps;
pub mod stat;
pub mod status;
pub mod uid_map;

pub use cgroup::{
    charged_cgroups, container_cgroup, container_of, kept_cgroups, parse_cgroup, parse_charge,
    unit_cgroup, unit_of,
};
pub use cmdline::cmdline_display;
pub use maps::{
    is_header_line, kind_of, map_line_path, mapping_kind, maps_counters, parse_map_header,
};
pub use meminfo::parse_meminfo;
pub use mountinfo::{CgroupMount, CgroupMounts, HidePid, ProcMount, cgroup_mounts, proc_mount};
pub use smaps::{FieldRef, Record, SmapsParser, apply_field, parse_field};
pub use stat::{PF_KTHREAD, Stat, parse_stat};
pub use status::{Status, parse_status, status_cap_eff};
pub use uid_map::is_initial_id_map;

/// A malformed line or file. The read stage turns it into that process's `error` outcome.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub message: String,
}

impl ParseError {
    fn new(what: &str, line: &[u8]) -> ParseError {
        let shown: Vec<u8> = line.iter().take(120).copied().collect();
        ParseError {
            message: format!("{what}: {:?}", String::from_utf8_lossy(&shown)),
        }
    }
}

fn hex(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 16 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in bytes {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return None,
        };
        v = (v << 4) | u64::from(d);
    }
    Some(v)
}

fn dec(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &b in bytes {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(v)
}

/// Splits off the next field ending at a single space; returns (field, rest after the space).
fn field_sp(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = s.iter().position(|&b| b == b' ')?;
    Some((&s[..i], &s[i + 1..]))
}
