//! `/proc/PID/cmdline`: NUL-separated arguments, turned into one line for display and
//! matching.

/// `cmdline` for display: NUL separators become spaces, trailing NULs go.
pub fn cmdline_display(buf: &[u8]) -> Vec<u8> {
    let end = buf.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    buf[..end]
        .iter()
        .map(|&b| if b == 0 { b' ' } else { b })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_separators() {
        assert_eq!(cmdline_display(b"/bin/sh\0-c\0a b\0\0"), b"/bin/sh -c a b");
        assert_eq!(cmdline_display(b""), b"");
    }
}
