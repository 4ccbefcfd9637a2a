//! Names in the table, cut to what a screen can show: a path, a command line or a user name
//! too long for its column keeps its start, its end or both around `...`. The cost is bounded
//! by the width shown, not by the name (a hostile proc root can hand out a 100 MB one): only
//! the ends that can be shown are ever escaped. CSV and JSON carry names whole.

use crate::text::escape::display;
use crate::view::Elide;

/// The most characters a name takes in a table that is not fitted to a terminal: twice
/// PATH_MAX, beyond any path the kernel prints (a 5,044-byte one was seen). A longer name is
/// cut in the middle.
pub const NAME_MAX_CHARS: usize = 8192;

/// `raw` escaped for the table in at most `max` characters, cut as `elide` says (in the
/// middle when it says nothing); with no `max`, in at most [`NAME_MAX_CHARS`], cut in the
/// middle.
pub fn cut(raw: &[u8], max: Option<usize>, elide: Option<Elide>) -> String {
    match max {
        Some(max) => elided(raw, max, Keep::of(elide)),
        None => elided(raw, NAME_MAX_CHARS, Keep::Both),
    }
}

/// Which part of a name too long for its column is kept around the `...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    Start,
    Both,
}

impl Keep {
    fn of(elide: Option<Elide>) -> Keep {
        match elide {
            Some(Elide::KeepStart | Elide::Range) => Keep::Start,
            Some(Elide::Middle) | None => Keep::Both,
        }
    }

    /// How many characters of the start and of the end `max` characters keep around `...`.
    fn split(self, max: usize) -> (usize, usize) {
        let room = max - 3;
        match self {
            Keep::Start => (room, 0),
            Keep::Both => (room - room / 2, room / 2),
        }
    }
}

/// `s` in at most `max` characters (at least 8 are always shown whole).
fn shorten(s: &str, max: usize, keep: Keep) -> String {
    let n = s.chars().count();
    if n <= max || max < 8 {
        return s.to_string();
    }
    let (head, tail) = keep.split(max);
    let mut out: String = s.chars().take(head).collect();
    out.push_str("...");
    out.extend(s.chars().skip(n - tail));
    out
}

/// `raw` escaped for display in at most `max` characters. Only the first and the last
/// `4 × max` bytes are ever escaped (every byte shows as at least a quarter of a character),
/// so the cost is bounded by `max`, not by the length of the name.
fn elided(raw: &[u8], max: usize, keep: Keep) -> String {
    let window = max.saturating_mul(4);
    if raw.len() <= window.saturating_mul(2) || max < 8 {
        return shorten(&display(raw), max, keep);
    }
    let head = display(&raw[..window]);
    let tail = display(&raw[raw.len() - window..]);
    let (h, t) = keep.split(max);
    let mut out: String = head.chars().take(h).collect();
    out.push_str("...");
    let tail_chars = tail.chars().count();
    out.extend(tail.chars().skip(tail_chars.saturating_sub(t)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_cut_around_an_ellipsis_in_bounded_time() {
        assert_eq!(shorten("abcdefghijkl", 9, Keep::Both), "abc...jkl");
        assert_eq!(shorten("abcdefghijkl", 9, Keep::Start), "abcdef...");
        assert_eq!(shorten("abc", 9, Keep::Both), "abc");
        // A name far longer than the window: only its ends are escaped, the cut is the
        // same as escaping it whole and cutting that.
        let mut raw = b"/start\xff\x1b".to_vec();
        raw.extend(std::iter::repeat_n(b'm', 10 * NAME_MAX_CHARS));
        raw.extend_from_slice(b"\x07\xfe/end");
        for keep in [Keep::Start, Keep::Both] {
            let cut = elided(&raw, 100, keep);
            assert_eq!(cut, shorten(&display(&raw), 100, keep), "{keep:?}");
            assert_eq!(cut.chars().count(), 100);
        }
        assert_eq!(
            cut(&raw, None, Some(Elide::Middle)).chars().count(),
            NAME_MAX_CHARS
        );
    }
}
