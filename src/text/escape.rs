//! Escaping raw bytes for display. Names come from other users' processes and files: they
//! may hold control characters, terminal escape sequences, bidirectional overrides and bytes
//! that are not UTF-8. Text renderers show those escaped, never raw.

use std::borrow::Cow;
use std::fmt::Write;

/// Characters that change how text around them is displayed without being visible
/// themselves: bidirectional controls, zero-width characters, the BOM.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}'
        | '\u{FEFF}')
}

/// Valid UTF-8 text stays as it is, except control characters (C0, DEL, C1) and invisible
/// format characters, shown as `\xNN` / `\u{NNNN}`; bytes that are not UTF-8 are shown as
/// `\xNN`. The result is always valid UTF-8 and free of control characters.
pub fn display(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(bytes)
        && !s.chars().any(|c| c.is_control() || is_invisible_format(c))
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() && (c as u32) < 0x80 {
                let _ = write!(out, "\\x{:02x}", c as u32);
            } else if c.is_control() || is_invisible_format(c) {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    Cow::Owned(out)
}

/// Lowercase hex of raw bytes (JSON's lossless companion of a name that is not UTF-8).
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The bytes of [`hex`]'s text; `None` when it is not that (odd length, not hex digits).
pub fn unhex(h: &str) -> Option<Vec<u8>> {
    if !h.len().is_multiple_of(2) {
        return None;
    }
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A raw name as JSON: its exact string when it is UTF-8; otherwise the escaped text and the
/// exact bytes in hex.
pub fn name_fields(bytes: &[u8]) -> (String, Option<String>) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), None),
        Err(_) => (display(bytes).into_owned(), Some(hex(bytes))),
    }
}

/// The exact bytes of a name given as (text, hex): the hex when there is one.
pub fn name_bytes(text: &str, hex_text: Option<&str>) -> Option<Vec<u8>> {
    match hex_text {
        None => Some(text.as_bytes().to_vec()),
        Some(h) => unhex(h),
    }
}

/// A text cell a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or
/// CR) gets a leading `'`, as OWASP recommends for CSV injection.
pub fn formula_safe(s: Cow<'_, str>) -> Cow<'_, str> {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{s}")),
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_escapes_and_invalid_bytes_are_shown_escaped() {
        assert_eq!(display(b"/usr/lib/libc.so.6"), "/usr/lib/libc.so.6");
        assert_eq!(display(b"a\tb\rc\x1b[31m"), "a\\x09b\\x0dc\\x1b[31m");
        assert_eq!(display("x\u{202E}y".as_bytes()), "x\\u{202e}y");
        assert_eq!(display(b"caf\xc3\xa9 \xff\xfe"), "caf\u{e9} \\xff\\xfe");
        assert_eq!(display("\u{85}".as_bytes()), "\\u{0085}");
        // The kernel's own escape of a newline stays as the kernel wrote it.
        assert_eq!(display(b"/tmp/a\\012b"), "/tmp/a\\012b");
    }

    #[test]
    fn formulas_are_neutralised() {
        for s in ["=1+1", "+x", "-bash", "@SUM(A1)"] {
            assert_eq!(formula_safe(Cow::Borrowed(s)), format!("'{s}"));
        }
        assert_eq!(formula_safe(Cow::Borrowed("/bin/sh")), "/bin/sh");
    }

    #[test]
    fn hex_is_lossless() {
        assert_eq!(hex(b"\x00\xff/a"), "00ff2f61");
    }
}
