//! A picture for people: a view's [`Chart`] drawn as a squarified treemap in SVG, written by
//! hand. Each box is a `<rect>` whose area is its share of the whole (its exact byte count in
//! `data-bytes`), labelled with its name, human size and percentage when they fit, and with
//! the exact name in a `<title>` tooltip; a title with host, time and coverage above, a
//! legend of colours below.
//!
//! Names come from other users' processes and files: every text is shown escaped
//! (`text::escape::display`: no control or bidirectional characters, no bytes that are not
//! UTF-8) and then XML-escaped, and characters XML cannot hold (U+FFFE, U+FFFF) are written as
//! `\u{fffe}`. No script, no external font, image or link: only the generic `sans-serif`.

use std::fmt::Write;

use super::squarify::{Rect, squarify};
use super::units::with_unit;
use crate::text::escape::display;
use crate::view::chart::Chart;

const WIDTH: f64 = 1200.0;
const HEIGHT: f64 = 800.0;
const MARGIN: f64 = 10.0;
/// Title (20 px) and two lines of facts above the boxes.
const TOP: f64 = 78.0;
/// One line of legend below them.
const BOTTOM: f64 = 34.0;
const FONT: f64 = 12.0;
/// A generous average advance of a sans-serif character, in ems: a label is shown only
/// when it surely fits.
const CHAR_EM: f64 = 0.62;

/// Fills for the legend's colours (light, so that dark labels read on them); the folded
/// rest is grey.
const PALETTE: [&str; 12] = [
    "#8dd3c7", "#fdb462", "#fb8072", "#80b1d3", "#bebada", "#b3de69", "#fccde5", "#ffffb3",
    "#bc80bd", "#ccebc5", "#ffed6f", "#d9d9d9",
];
const OTHER_FILL: &str = "#cccccc";
const NO_CLASS_FILL: &str = "#a6cee3";

/// Text as XML character data or an attribute value (characters XML 1.0 cannot hold are
/// written `\u{fffe}`).
pub fn xml(shown: &str) -> String {
    let mut out = String::with_capacity(shown.len());
    for c in shown.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\u{FFFE}' | '\u{FFFF}' => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Raw bytes as XML text: escaped for display first, then for XML.
pub fn xml_text(raw: &[u8]) -> String {
    xml(&display(raw))
}

/// Raw bytes cut to `max` characters (see [`fit`]), then escaped as XML text.
fn xml_fit(raw: &[u8], max: usize) -> Option<String> {
    fit(&display(raw), max).map(|s| xml(&s))
}

/// `text` cut (from the end, with `…`) to at most `max` characters; `None` when not even a
/// few characters fit.
fn fit(text: &str, max: usize) -> Option<String> {
    let n = text.chars().count();
    if n <= max {
        return Some(text.to_string());
    }
    (max >= 4).then(|| {
        let mut s: String = text.chars().take(max - 1).collect();
        s.push('…');
        s
    })
}

fn percent(part: u64, whole: u64) -> String {
    let tenths = (u128::from(part) * 1000 + u128::from(whole) / 2) / u128::from(whole.max(1));
    format!("{}.{} %", tenths / 10, tenths % 10)
}

fn fill_of(chart: &Chart<'_>, class: Option<usize>) -> &'static str {
    match class {
        None => OTHER_FILL,
        Some(_) if chart.legend_title.is_none() => NO_CLASS_FILL,
        Some(i) => PALETTE[chart.legend.get(i).map_or(0, |e| e.colour) % PALETTE.len()],
    }
}

/// Writes an escaped line of text at (x, y).
fn text(out: &mut String, x: f64, y: f64, attrs: &str, content: &str) {
    let _ = writeln!(
        out,
        r#"<text x="{x:.1}" y="{y:.1}"{attrs}>{content}</text>"#
    );
}

/// The SVG document of `chart`.
pub fn render(chart: &Chart<'_>) -> Vec<u8> {
    let mut out = String::new();
    let _ = writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="{FONT}">"#
    );
    let title = xml_text(chart.title.as_bytes());
    let _ = writeln!(out, "<title>pmaps: {title}</title>");
    let _ = writeln!(
        out,
        r##"<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>"##
    );
    let headline = format!(
        "{title}: {} in all",
        xml_text(with_unit(chart.total).as_bytes())
    );
    text(
        &mut out,
        MARGIN,
        26.0,
        r#" font-size="20" font-weight="bold""#,
        &headline,
    );
    for (i, fact) in chart.facts.iter().enumerate() {
        let line = xml_fit(fact.as_bytes(), 180).unwrap_or_default();
        text(&mut out, MARGIN, 46.0 + 16.0 * i as f64, "", &line);
    }
    let space = Rect {
        x: MARGIN,
        y: TOP,
        w: WIDTH - 2.0 * MARGIN,
        h: HEIGHT - TOP - BOTTOM,
    };
    let values: Vec<u64> = chart.boxes.iter().map(|b| b.bytes).collect();
    let rects = squarify(&values, space);
    let _ = writeln!(out, r##"<g stroke="#ffffff" stroke-width="1">"##);
    for (b, r) in chart.boxes.iter().zip(&rects) {
        let name = xml_text(&b.name);
        let size = with_unit(b.bytes);
        let share = percent(b.bytes, chart.total);
        let _ = writeln!(out, "<g>");
        let _ = writeln!(
            out,
            "<title>{name}\n{} bytes, {size}, {share}</title>",
            crate::text::thousands(b.bytes)
        );
        let _ = writeln!(
            out,
            r#"<rect x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}" fill="{}" data-bytes="{}"/>"#,
            r.x,
            r.y,
            r.w,
            r.h,
            fill_of(chart, b.class),
            b.bytes
        );
        // Labels only where they fit: one line of name, then size and share.
        let chars = ((r.w - 8.0) / (FONT * CHAR_EM)).floor().max(0.0) as usize;
        if r.h >= FONT + 8.0
            && let Some(label) = xml_fit(&b.label, chars)
        {
            text(
                &mut out,
                r.x + 4.0,
                r.y + 4.0 + FONT,
                r##" stroke="none" fill="#1a1a1a""##,
                &label,
            );
            if r.h >= 2.0 * FONT + 12.0
                && let Some(figures) = xml_fit(format!("{size}, {share}").as_bytes(), chars)
            {
                text(
                    &mut out,
                    r.x + 4.0,
                    r.y + 8.0 + 2.0 * FONT,
                    r##" stroke="none" fill="#333333""##,
                    &figures,
                );
            }
        }
        let _ = writeln!(out, "</g>");
    }
    let _ = writeln!(out, "</g>");
    legend(&mut out, chart);
    let _ = writeln!(out, "</svg>");
    out.into_bytes()
}

/// One line under the boxes: a swatch and a name per colour, then the folded rest.
fn legend(out: &mut String, chart: &Chart<'_>) {
    let y = HEIGHT - BOTTOM + 10.0;
    let mut x = MARGIN;
    let _ = writeln!(out, r#"<g class="legend">"#);
    if let Some(what) = chart.legend_title {
        text(out, x, y + 11.0, "", &format!("{what}:"));
        x += (what.len() as f64 + 2.0) * FONT * CHAR_EM;
    }
    let mut entries: Vec<(String, &str)> = Vec::new();
    if chart.legend_title.is_some() {
        for (i, e) in chart.legend.iter().enumerate() {
            entries.push((xml_text(&e.name), fill_of(chart, Some(i))));
        }
    }
    if chart.boxes.iter().any(|b| b.class.is_none()) {
        let rest = format!("other: {} smaller rows", chart.folded);
        entries.push((rest, OTHER_FILL));
    }
    for (name, fill) in entries {
        let width = 18.0 + (name.chars().count() as f64 + 2.0) * FONT * CHAR_EM;
        if x + width > WIDTH - MARGIN {
            let _ = writeln!(out, r#"<text x="{x:.1}" y="{:.1}">…</text>"#, y + 11.0);
            break;
        }
        let _ = writeln!(
            out,
            r#"<rect x="{x:.1}" y="{y:.1}" width="12" height="12" fill="{fill}"/>"#
        );
        text(out, x + 16.0, y + 11.0, "", &name);
        x += width;
    }
    let _ = writeln!(out, "</g>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_is_escaped_for_xml() {
        assert_eq!(xml_text(b"<script>&\"'"), "&lt;script&gt;&amp;&quot;&#39;");
        assert_eq!(xml_text(b"a\x1b[31mb\xff"), "a\\x1b[31mb\\xff");
        assert_eq!(xml_text("x\u{FFFE}y".as_bytes()), "x\\u{fffe}y");
        assert_eq!(xml_text("\u{202E}".as_bytes()), "\\u{202e}");
    }

    #[test]
    fn labels_are_cut_to_fit() {
        assert_eq!(fit("libc.so.6", 20).as_deref(), Some("libc.so.6"));
        assert_eq!(fit("libc.so.6", 6).as_deref(), Some("libc.…"));
        assert_eq!(fit("libc.so.6", 3), None);
        // Cut before escaping: an entity is never cut in half.
        assert_eq!(
            xml_fit(b"a&&&&&&&&", 5).as_deref(),
            Some("a&amp;&amp;&amp;…")
        );
        assert_eq!(percent(1, 3), "33.3 %");
        assert_eq!(percent(0, 0), "0.0 %");
    }
}
