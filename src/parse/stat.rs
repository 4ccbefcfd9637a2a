//! `/proc/PID/stat`: comm (cut at the last `)`), state, parent, flags, start time, virtual size and
//! the address-space fields that tell whether a read was cut short by an exit or exec.

use super::{ParseError, dec};

/// What pmaps needs from `/proc/PID/stat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat<'a> {
    pub pid: u32,
    /// Raw comm: between the first `(` and the **last** `)` (comm may contain `)`).
    pub comm: &'a [u8],
    pub state: u8,
    /// The parent's PID (0 for the init of a PID namespace and for kthreadd).
    pub ppid: u32,
    pub flags: u64,
    pub start_time: u64,
    /// Virtual size in bytes (0 when the process has no mm).
    pub vsize: u64,
    /// Fields that describe the process's current address space (startcode … env_end).
    /// They change on exec and read 0 once the mm is gone, so comparing them before and
    /// after an smaps read detects a read that an exit or exec cut short.
    pub mm_fingerprint: [u64; 10],
}

/// PF_KTHREAD in the `flags` field of stat.
pub const PF_KTHREAD: u64 = 0x0020_0000;

impl Stat<'_> {
    pub fn is_kernel_thread(&self) -> bool {
        self.flags & PF_KTHREAD != 0
    }
}

/// Parses `/proc/PID/stat`.
pub fn parse_stat(buf: &[u8]) -> Result<Stat<'_>, ParseError> {
    let bad = || ParseError::new("malformed stat", buf);
    let open = buf.iter().position(|&b| b == b'(').ok_or_else(bad)?;
    let close = buf.iter().rposition(|&b| b == b')').ok_or_else(bad)?;
    if close < open {
        return Err(bad());
    }
    let pid = dec(buf[..open].trim_ascii()).ok_or_else(bad)?;
    let comm = &buf[open + 1..close];
    // Fields after the comm, numbered as in proc(5): 3 = state.
    let mut fields = buf[close + 1..]
        .split(|&b| b == b' ' || b == b'\n')
        .filter(|f| !f.is_empty());
    let mut nth = [0u64; 53];
    let state = fields
        .next()
        .and_then(|s| s.first().copied())
        .ok_or_else(bad)?;
    let mut n = 3;
    for f in fields {
        n += 1;
        if n >= nth.len() {
            break;
        }
        // Signed fields (priority, nice…) may be negative; pmaps uses none of them.
        nth[n] = dec(f).unwrap_or(0);
    }
    // Fields up to vsize (23) are printed by every kernel since 2.6.
    if n < 23 {
        return Err(bad());
    }
    let pick = |i: usize| nth[i];
    Ok(Stat {
        pid: u32::try_from(pid).map_err(|_| bad())?,
        comm,
        state,
        ppid: u32::try_from(pick(4)).unwrap_or(0),
        flags: pick(9),
        start_time: pick(22),
        vsize: pick(23),
        mm_fingerprint: [
            pick(26),
            pick(27),
            pick(28),
            pick(45),
            pick(46),
            pick(47),
            pick(48),
            pick(49),
            pick(50),
            pick(51),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_comm_is_cut_at_the_last_paren() {
        let s = parse_stat(b"42 (a) b (c)) S 1 42 42 0 -1 4194560 9 0 0 0 0 0 0 0 20 0 1 0 777 3133440 407 18446744073709551615 1 2 3 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 4 5 6 7 8 9 10 0\n")
            .expect("valid");
        assert_eq!(s.pid, 42);
        assert_eq!(s.comm, b"a) b (c)");
        assert_eq!(s.state, b'S');
        assert_eq!(s.ppid, 1);
        assert_eq!(s.start_time, 777);
        assert_eq!(s.vsize, 3133440);
        assert!(!s.is_kernel_thread());
        assert_eq!(s.mm_fingerprint, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        let k = parse_stat(b"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 24 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n")
            .expect("valid");
        assert!(k.is_kernel_thread());
        assert!(parse_stat(b"12 (short) S 1 2").is_err());
        assert!(parse_stat(b"garbage").is_err());
    }
}
