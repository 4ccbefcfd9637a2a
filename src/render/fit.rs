//! Fitting a table to a terminal: the width of text as a terminal shows it, shortening a
//! text (keeping its start, or both ends), choosing the columns that fit a width (the least
//! important left out first, shortened texts before that), and how many whole rows fit a
//! height, counted in screen lines (a line wider than the screen takes several).

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::view::{ColumnSpec, ESSENTIAL, Elide};

/// Spaces between two columns.
pub const GAP: usize = 2;

/// Texts are not shortened below this (`...` and two characters).
const MIN_ELIDE: usize = 5;

/// Columns on screen a text takes.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// Screen lines a line of `w` columns takes on a screen `cols` wide.
pub fn height(w: usize, cols: usize) -> usize {
    w.div_ceil(cols.max(1)).max(1)
}

/// The longest prefix of `s` that fits `max` columns.
fn head(s: &str, max: usize) -> &str {
    let mut w = 0;
    for (i, c) in s.char_indices() {
        w += c.width().unwrap_or(0);
        if w > max {
            return &s[..i];
        }
    }
    s
}

/// The longest suffix of `s` that fits `max` columns.
fn tail(s: &str, max: usize) -> &str {
    let mut w = 0;
    for (i, c) in s.char_indices().rev() {
        w += c.width().unwrap_or(0);
        if w > max {
            return &s[i + c.len_utf8()..];
        }
    }
    s
}

/// `s` shortened to at most `max` columns with `...`: keeping its start, or (a path) both
/// ends, the whole file name when it leaves room for some of the directory.
pub fn shorten(s: &str, max: usize, how: Elide) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if how == Elide::Range {
        return s.split_once('-').map_or(s, |(start, _)| start).to_string();
    }
    if max < MIN_ELIDE {
        return s.to_string();
    }
    let room = max - 3;
    match how {
        Elide::Range => unreachable!("handled above"),
        Elide::KeepStart => format!("{}...", head(s, room)),
        Elide::Middle => {
            let base = s.rfind('/').map_or(s, |i| &s[i..]);
            let end = if width(base) + 4 <= room {
                width(base)
            } else {
                room * 2 / 3
            };
            format!("{}...{}", head(s, room - end), tail(s, end))
        }
    }
}

/// Which columns a table shows on a screen `cols` wide, and how wide each shortened column
/// may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnFit {
    /// Column indices shown, in order.
    pub shown: Vec<usize>,
    /// Per column index: the widest its texts may be (`None`: whole).
    pub max: Vec<Option<usize>>,
}

/// Fits columns of `natural` widths (the widest cell or header of each; indices of
/// `candidates`) into `cols`: while they do not fit with the shortenable columns sharing two
/// fifths of the width (none below its minimum), the column of lowest priority (the
/// rightmost of equals) is left out; then the shortenable columns share what the others
/// leave, none below its minimum.
pub fn fit_columns(
    specs: &[ColumnSpec],
    natural: &[usize],
    candidates: &[usize],
    cols: usize,
) -> ColumnFit {
    let mut shown = candidates.to_vec();
    let total = |shown: &[usize]| {
        let (elided, fixed) = split(specs, shown);
        let wanted: usize = share(specs, natural, &elided, cols * 2 / 5)
            .iter()
            .map(|(_, w)| w)
            .sum();
        fixed.iter().map(|&c| natural[c]).sum::<usize>()
            + wanted
            + GAP * shown.len().saturating_sub(1)
    };
    while total(&shown) > cols {
        let drop = shown
            .iter()
            .enumerate()
            .filter(|(_, c)| specs[**c].priority != ESSENTIAL)
            .min_by_key(|(i, c)| (specs[**c].priority, std::cmp::Reverse(*i)))
            .map(|(i, _)| i);
        match drop {
            Some(i) => {
                shown.remove(i);
            }
            None => break,
        }
    }
    let (elided, fixed) = split(specs, &shown);
    let used =
        fixed.iter().map(|&c| natural[c]).sum::<usize>() + GAP * shown.len().saturating_sub(1);
    let mut max = vec![None; specs.len()];
    for (c, w) in share(specs, natural, &elided, cols.saturating_sub(used)) {
        if w < natural[c] {
            max[c] = Some(w);
        }
    }
    ColumnFit { shown, max }
}

/// The shortenable columns of `shown`, and the others.
fn split(specs: &[ColumnSpec], shown: &[usize]) -> (Vec<usize>, Vec<usize>) {
    shown.iter().partition(|&&c| specs[c].elide.is_some())
}

/// `room` shared by shortenable columns: the narrow ones take what they need, the rest
/// equal parts, none below its minimum (nor above its natural width).
fn share(
    specs: &[ColumnSpec],
    natural: &[usize],
    elided: &[usize],
    mut room: usize,
) -> Vec<(usize, usize)> {
    let mut order = elided.to_vec();
    order.sort_by_key(|&c| natural[c]);
    let n = order.len();
    order
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let floor = natural[c].min(specs[c].min_width);
            let w = match specs[c].elide {
                // A range is whole or its start: nothing between is worth the room.
                Some(Elide::Range) if room / (n - i) < natural[c] => floor,
                _ => natural[c].min(room / (n - i)).max(floor),
            };
            room = room.saturating_sub(w);
            (c, w)
        })
        .collect()
}

/// How many whole rows (of `row_heights` screen lines each) fit `budget` screen lines,
/// keeping `reserve` more for a line that says how many were left out; at least one.
pub fn rows_that_fit(row_heights: &[usize], budget: usize, reserve: usize) -> usize {
    if row_heights.iter().sum::<usize>() <= budget {
        return row_heights.len();
    }
    let budget = budget.saturating_sub(reserve);
    let mut used = 0;
    let mut n = 0;
    for &h in row_heights {
        if n > 0 && used + h > budget {
            break;
        }
        used += h;
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_shortened_from_the_middle_keeping_the_file_name() {
        let p = "/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/lib/\
                 librustc_driver-6108105cd7e839cf.so";
        let s = shorten(p, 48, Elide::Middle);
        assert_eq!(s, "/root/.ru.../librustc_driver-6108105cd7e839cf.so");
        // A file name too long to keep whole: two thirds of the room for the end.
        let s = shorten(p, 40, Elide::Middle);
        assert_eq!(s, "/root/.rustup...iver-6108105cd7e839cf.so");
        assert_eq!(width(&s), 40);
        assert_eq!(shorten("/bin/sh", 28, Elide::Middle), "/bin/sh");
        let cmd = "python3 /srv/app/worker.py --queue=mail";
        assert_eq!(shorten(cmd, 20, Elide::KeepStart), "python3 /srv/app/...");
        // An address range keeps its start, however narrow.
        let range = "7f5f97e00000-7f5f98200000";
        assert_eq!(shorten(range, 24, Elide::Range), "7f5f97e00000");
        assert_eq!(shorten(range, 5, Elide::Range), "7f5f97e00000");
        assert_eq!(shorten(range, 25, Elide::Range), range);
        // Wide characters count twice.
        assert_eq!(width("/tmp/数据"), 9);
        let s = shorten("/tmp/数据数据数据数据数据/x", 12, Elide::Middle);
        assert!(width(&s) <= 12, "{s}");
    }

    fn spec(priority: u8, elide: Option<usize>) -> ColumnSpec {
        let s = ColumnSpec::new("c", "C").priority(priority);
        match elide {
            Some(min) => s.elide(Elide::Middle, min, None),
            None => s,
        }
    }

    #[test]
    fn the_least_important_columns_go_first_and_texts_share_the_rest() {
        // path (essential, shortenable), then numbers of priorities 10, 50, 30, 99.
        let specs = [
            spec(ESSENTIAL, Some(20)),
            spec(10, None),
            spec(50, None),
            spec(30, None),
            spec(99, None),
        ];
        let natural = [60, 5, 5, 5, 5];
        let all = [0, 1, 2, 3, 4];
        let fit = fit_columns(&specs, &natural, &all, 200);
        assert_eq!(fit.shown, all);
        assert_eq!(fit.max, vec![None; 5]);
        // 60 + 4 * 5 + 8 = 88 columns: on 80, the path is shortened first (to 52).
        let fit = fit_columns(&specs, &natural, &all, 80);
        assert_eq!(fit.shown, all);
        assert_eq!(fit.max[0], Some(52));
        // On 40: the path wants 20 (its minimum, above 2 / 5 of 40); 20 + 20 + 8 > 40, so
        // the columns of priority 10 and 30 go.
        let fit = fit_columns(&specs, &natural, &all, 40);
        assert_eq!(fit.shown, [0, 2, 4]);
        assert_eq!(fit.max[0], Some(26));
        // Two shortenable columns share the room, the narrower taking only what it needs.
        let two = [
            spec(ESSENTIAL, Some(8)),
            spec(ESSENTIAL, Some(8)),
            spec(50, None),
        ];
        let fit = fit_columns(&two, &[100, 12, 5], &[0, 1, 2], 60);
        assert_eq!(fit.shown, [0, 1, 2]);
        assert_eq!((fit.max[0], fit.max[1]), (Some(39), None));
        let fit = fit_columns(&two, &[100, 100, 5], &[0, 1, 2], 60);
        assert_eq!((fit.max[0], fit.max[1]), (Some(25), Some(26)));
        // Essential columns stay even when nothing fits.
        let fit = fit_columns(&specs, &natural, &all, 10);
        assert_eq!(fit.shown, [0]);
        assert_eq!(fit.max[0], Some(20));
    }

    #[test]
    fn whole_rows_fit_the_screen() {
        assert_eq!(rows_that_fit(&[1, 1, 1], 3, 1), 3);
        assert_eq!(rows_that_fit(&[1, 1, 1, 1], 3, 1), 2);
        assert_eq!(rows_that_fit(&[3, 3, 3], 7, 1), 2);
        assert_eq!(rows_that_fit(&[9], 2, 1), 1);
        assert_eq!(rows_that_fit(&[], 2, 1), 0);
        assert_eq!(height(80, 80), 1);
        assert_eq!(height(81, 80), 2);
        assert_eq!(height(0, 80), 1);
    }
}
