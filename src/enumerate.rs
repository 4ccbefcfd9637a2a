//! Lists the processes under a proc root: every numeric entry, in ascending order, minus
//! pmaps itself. Holds no file descriptor once it returns.

use std::fs;
use std::io;
use std::path::Path;

/// The PIDs under `root`, sorted, and pmaps' own PID as that root shows it (through its
/// `self` link, so it is right inside a PID namespace; `None` for a root without one, such
/// as a fake tree, or when the link does not name a process).
pub fn list_pids(root: &Path) -> io::Result<(Vec<u32>, Option<u32>)> {
    let mut pids = Vec::new();
    for entry in fs::read_dir(root)? {
        let entry = entry?;
        let name = entry.file_name();
        if let Some(pid) = parse_pid(name.as_encoded_bytes()) {
            pids.push(pid);
        }
    }
    pids.sort_unstable();
    let own = fs::read_link(root.join("self"))
        .ok()
        .and_then(|target| parse_pid(target.as_os_str().as_encoded_bytes()));
    Ok((pids, own))
}

/// A PID directory name: decimal digits only, no sign, no leading zero, fits a u32 and is
/// not 0.
pub fn parse_pid(name: &[u8]) -> Option<u32> {
    if name.is_empty() || name.len() > 10 || name[0] == b'0' {
        return None;
    }
    if !name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(name).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_decimal_names_are_pids() {
        assert_eq!(parse_pid(b"1"), Some(1));
        assert_eq!(parse_pid(b"4194304"), Some(4194304));
        for bad in [
            &b""[..],
            b"0",
            b"01",
            b"-1",
            b"+1",
            b"self",
            b"1a",
            b"99999999999",
        ] {
            assert_eq!(parse_pid(bad), None, "{bad:?}");
        }
    }
}
