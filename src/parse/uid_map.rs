//! `/proc/PID/uid_map`: whether a process lives in the initial user namespace.

use super::dec;

/// Whether a `uid_map` is the initial user namespace's (`0 0 4294967295`, one line).
pub fn is_initial_id_map(map: &[u8]) -> bool {
    let lines: Vec<&[u8]> = map
        .split(|&b| b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .collect();
    let [line] = lines[..] else {
        return false;
    };
    let nums: Vec<Option<u64>> = line
        .split(|b| b.is_ascii_whitespace())
        .filter(|f| !f.is_empty())
        .map(dec)
        .collect();
    nums == [Some(0), Some(0), Some(4_294_967_295)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::status_cap_eff;

    #[test]
    fn capabilities_and_user_namespaces() {
        let status = b"Name:\tcat\nCapInh:\t0000000000000000\nCapEff:\t000001fffeffffff\n";
        assert_eq!(status_cap_eff(status), Some(0x1ff_feff_ffff));
        assert_eq!(status_cap_eff(b"Name:\tcat\n"), None);
        assert!(is_initial_id_map(b"         0          0 4294967295\n"));
        assert!(!is_initial_id_map(b"         0          0          1\n"));
        assert!(!is_initial_id_map(b"         0     100000      65536\n"));
        assert!(!is_initial_id_map(
            b"         0          0 4294967295\n         0          0 4294967295\n"
        ));
        assert!(!is_initial_id_map(b""));
    }
}
