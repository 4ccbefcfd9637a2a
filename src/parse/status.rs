//! `/proc/PID/status`: the effective uid, the thread group, `VmSize:`, `VmRSS:`, `Kthread:`
//! and the effective capability set.

use super::smaps::{FieldRef, parse_field};
use super::{dec, hex};

/// What pmaps needs from `/proc/PID/status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// Effective uid (the second value of `Uid:`), as `ps` shows it.
    pub euid: Option<u32>,
    /// `Tgid:`: the process a thread belongs to (its own PID for a process).
    pub tgid: Option<u32>,
    /// `VmSize:` in bytes; absent for kernel threads and zombies.
    pub vm_size: Option<u64>,
    /// `VmRSS:` in bytes: readable even when the process's maps are not.
    pub vm_rss: Option<u64>,
    /// `Kthread:` (Linux 6.x); absent on older kernels.
    pub kthread: Option<bool>,
}

/// Parses `/proc/PID/status`. Unknown or malformed lines are skipped: a missing value stays
/// unknown.
pub fn parse_status(buf: &[u8]) -> Status {
    let mut st = Status::default();
    for line in buf.split(|&b| b == b'\n') {
        let Some((key, value)) = parse_field(line) else {
            continue;
        };
        match (key, value) {
            (b"Uid", FieldRef::Text(t)) => {
                st.euid = t
                    .split(|b| b.is_ascii_whitespace())
                    .filter(|f| !f.is_empty())
                    .nth(1)
                    .and_then(dec)
                    .and_then(|v| u32::try_from(v).ok());
            }
            (b"Tgid", FieldRef::Number(n)) => st.tgid = u32::try_from(n).ok(),
            (b"VmSize", FieldRef::Bytes(n)) => st.vm_size = Some(n),
            (b"VmRSS", FieldRef::Bytes(n)) => st.vm_rss = Some(n),
            (b"Kthread", FieldRef::Number(n)) => st.kthread = Some(n != 0),
            _ => {}
        }
    }
    st
}

/// The effective capability set (`CapEff:`, hex) from `/proc/PID/status`.
pub fn status_cap_eff(status: &[u8]) -> Option<u64> {
    let line = status
        .split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(b"CapEff:"))?;
    let value = line.trim_ascii();
    hex(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_uid_is_effective() {
        let st = parse_status(
            b"Name:\tx\nTgid:\t41\nPid:\t42\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\nVmSize:\t    3892 kB\nVmRSS:\t    1024 kB\nKthread:\t0\n",
        );
        assert_eq!(st.euid, Some(0));
        assert_eq!(st.tgid, Some(41));
        assert_eq!(st.vm_size, Some(3892 * 1024));
        assert_eq!(st.vm_rss, Some(1024 * 1024));
        assert_eq!(st.kthread, Some(false));
        assert_eq!(parse_status(b"Name:\tkworker\n"), Status::default());
    }
}
